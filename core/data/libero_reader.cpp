// SPDX-License-Identifier: MIT
#include "data/libero_reader.h"

#include "data/hdf5_util.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <new>
#include <optional>

namespace specvla::data {

// ---- LiberoFile ------------------------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;
using h5::dimsString;
using h5::typeName;

constexpr hsize_t kMaxImageSide = 1 << 15;

// "demo_12" -> "12"; empty when the name is not demo_N.
std::string demoNumber(const std::string& name) {
    if (name.rfind("demo_", 0) != 0 || name.size() == 5) return {};
    const std::string digits = name.substr(5);
    if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
        return {};
    return digits;
}

// Numeric order without overflow: compare the digit strings without leading zeros by length, then text.
bool demoLess(const std::string& a, const std::string& b) {
    auto strip = [](std::string d) {
        const auto nz = d.find_first_not_of('0');
        return nz == std::string::npos ? std::string("0") : d.substr(nz);
    };
    const std::string da = strip(demoNumber(a)), db = strip(demoNumber(b));
    if (da.size() != db.size()) return da.size() < db.size();
    if (da != db) return da < db;
    return a < b;
}

enum class Kind { Missing, Group, Dataset, Other };

Kind childKind(const H5::Group& parent, const std::string& name) {
    if (!parent.nameExists(name)) return Kind::Missing;
    switch (parent.childObjType(name)) {
    case H5O_TYPE_GROUP:
        return Kind::Group;
    case H5O_TYPE_DATASET:
        return Kind::Dataset;
    default:
        return Kind::Other;
    }
}

const char* kindName(Kind kind) {
    switch (kind) {
    case Kind::Group:
        return "a group";
    case Kind::Dataset:
        return "a dataset";
    case Kind::Other:
        return "a named datatype";
    case Kind::Missing:
        break;
    }
    return "nothing";
}

std::string listNames(const std::vector<std::string>& names, std::size_t max = 12) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < max; ++i)
        out += (i ? ", " : "") + names[i];
    if (names.size() > max) out += ", ... (" + std::to_string(names.size()) + " in all)";
    return out;
}

std::string trimNuls(std::string s) {
    while (!s.empty() && (s.back() == '\0' || s.back() == ' '))
        s.pop_back();
    return s;
}

// The datasets of one demo, checked against each other.
struct DemoParts {
    std::string group; // "data/demo_3"
    H5::DataSet images, actions;
    std::optional<H5::DataSet> rewards, dones;
    hsize_t steps = 0, height = 0, width = 0;
};

} // namespace

struct LiberoFile::Impl {
    std::string path;
    H5::H5File file;
    LiberoLayout layout = LiberoLayout::Regenerated;
    std::string instruction, problemName, domainName;
    InstructionSource instructionSource = InstructionSource::FileName;
    std::vector<std::string> demos;
    hsize_t fileSize = 0;

    std::string fail(const std::string& object, const std::string& what) const {
        return path + ": " + object + ": " + what;
    }
    void checkIndex(int demoIndex) const;
    DemoParts inspect(int demoIndex) const;
    void readProblemInfo();
};

namespace {

// A required dataset below `parent`: present and a dataset (its type and shape are checked by the caller).
H5::DataSet requireDataSet(const std::string& file, const H5::Group& parent, const std::string& parentPath,
                           const std::string& name) {
    const std::string object = parentPath + "/" + name;
    const Kind kind = childKind(parent, name);
    if (kind == Kind::Missing) throw Error(file + ": " + object + ": missing");
    if (kind != Kind::Dataset)
        throw Error(file + ": " + object + ": expected a dataset, found " + kindName(kind));
    return parent.openDataSet(name);
}

std::optional<H5::DataSet> optionalDataSet(const std::string& file, const H5::Group& parent,
                                           const std::string& parentPath, const std::string& name) {
    if (childKind(parent, name) == Kind::Missing) return std::nullopt;
    return requireDataSet(file, parent, parentPath, name);
}

// HDF5 1.10 trusts a dataset's layout message: a recorded size, address or chunk shape that disagrees with
// the dataset's shape makes H5Dread copy past its buffers (found by flipping bytes of good files). So check
// what the file records against the shape before any read.
void checkStorage(const std::string& file, const std::string& object, const H5::DataSet& dataset,
                  hsize_t fileSize) {
    const auto corrupt = [&](const std::string& what) { return Error(file + ": " + object + ": " + what); };
    const H5::DataSpace space = dataset.getSpace();
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(rank), maxDims(rank);
    space.getSimpleExtentDims(dims.data(), maxDims.data());
    const hsize_t typeSize = dataset.getDataType().getSize();
    const H5::DSetCreatPropList create = dataset.getCreatePlist();
    const H5D_layout_t layout = create.getLayout();

    if (layout == H5D_CHUNKED) {
        std::vector<hsize_t> chunk(rank);
        if (create.getChunk(rank, chunk.data()) != rank)
            throw corrupt("its chunk rank differs from its rank " + std::to_string(rank) +
                          "; the file is corrupt");
        hsize_t chunkBytes = typeSize;
        for (int i = 0; i < rank; ++i) {
            if (chunk[i] == 0 || (maxDims[i] != H5S_UNLIMITED && chunk[i] > maxDims[i]))
                throw corrupt("chunk shape " + h5::dimsString(chunk) + " does not fit the dataset shape " +
                              h5::dimsString(dims) + "; the file is corrupt");
            chunkBytes *= chunk[i];
            if (chunkBytes >= (hsize_t(1) << 32)) // HDF5's own limit on a chunk
                throw corrupt("chunk shape " + h5::dimsString(chunk) + " exceeds 4 GiB; the file is corrupt");
        }
        return;
    }
    if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) return;
    const hsize_t expected = static_cast<hsize_t>(space.getSimpleExtentNpoints()) * typeSize;
    const hsize_t stored = dataset.getStorageSize();
    if (stored == 0) return; // never written: reads give the fill value
    if (stored != expected)
        throw corrupt("the file records " + std::to_string(stored) +
                      " bytes of storage for a shape that needs " + std::to_string(expected) +
                      "; it is corrupt");
    if (layout == H5D_CONTIGUOUS) {
        const haddr_t offset = dataset.getOffset();
        if (offset == HADDR_UNDEF || offset > fileSize || fileSize - offset < expected)
            throw corrupt("its data lies past the end of the file (" + std::to_string(fileSize) +
                          " bytes); the file is truncated or corrupt");
    }
}

} // namespace

void LiberoFile::Impl::checkIndex(int demoIndex) const {
    if (demoIndex < 0 || demoIndex >= static_cast<int>(demos.size()))
        throw Error(path + ": data: demo index " + std::to_string(demoIndex) +
                    " out of range; the file has " + std::to_string(demos.size()) + " demos (index 0.." +
                    std::to_string(demos.size() - 1) + ": " + listNames(demos) + ")");
}

DemoParts LiberoFile::Impl::inspect(int demoIndex) const {
    checkIndex(demoIndex);
    DemoParts parts;
    parts.group = "data/" + demos[demoIndex];
    std::string at = parts.group;
    try {
        const H5::Group demo = file.openGroup(parts.group);
        const Kind obsKind = childKind(demo, "obs");
        if (obsKind == Kind::Missing) throw Error(fail(parts.group + "/obs", "missing"));
        if (obsKind != Kind::Group)
            throw Error(
                fail(parts.group + "/obs", std::string("expected a group, found ") + kindName(obsKind)));
        at = parts.group + "/obs";
        const H5::Group obs = demo.openGroup("obs");

        at = parts.group + "/obs/agentview_rgb";
        parts.images = requireDataSet(path, obs, parts.group + "/obs", "agentview_rgb");
        const H5::DataType imageType = parts.images.getDataType();
        if (imageType.getClass() != H5T_INTEGER || imageType.getSize() != 1 ||
            H5Tget_sign(imageType.getId()) != H5T_SGN_NONE)
            throw Error(fail(at, "expected uint8 pixels, found " + typeName(imageType)));
        const auto imageDims = h5::dimsOf(parts.images);
        if (imageDims.size() != 4 || imageDims[3] != 3)
            throw Error(fail(at, "expected shape [T, H, W, 3] (RGB frames), found " + dimsString(imageDims)));
        if (imageDims[1] == 0 || imageDims[2] == 0 || imageDims[1] > kMaxImageSide ||
            imageDims[2] > kMaxImageSide)
            throw Error(fail(at, "image size " + std::to_string(imageDims[1]) + "x" +
                                     std::to_string(imageDims[2]) + " is not plausible (expected 1.." +
                                     std::to_string(kMaxImageSide) + ")"));
        if (imageDims[0] > static_cast<hsize_t>(INT_MAX))
            throw Error(fail(at, "step count " + std::to_string(imageDims[0]) + " is not plausible"));
        checkStorage(path, at, parts.images, fileSize);
        parts.steps = imageDims[0];
        parts.height = imageDims[1];
        parts.width = imageDims[2];

        at = parts.group + "/actions";
        parts.actions = requireDataSet(path, demo, parts.group, "actions");
        const H5::DataType actionType = parts.actions.getDataType();
        if (actionType.getClass() != H5T_FLOAT || (actionType.getSize() != 4 && actionType.getSize() != 8))
            throw Error(fail(at, "expected float32 or float64 actions, found " + typeName(actionType)));
        const auto actionDims = h5::dimsOf(parts.actions);
        if (actionDims.size() != 2 || actionDims[1] != 7)
            throw Error(fail(at, "expected shape [T, 7], found " + dimsString(actionDims)));
        if (actionDims[0] != parts.steps)
            throw Error(fail(parts.group, "actions have " + std::to_string(actionDims[0]) +
                                              " steps but obs/agentview_rgb has " +
                                              std::to_string(parts.steps) + "; expected the same T"));
        checkStorage(path, at, parts.actions, fileSize);

        for (const char* name : {"rewards", "dones"}) {
            at = parts.group + "/" + name;
            auto dataset = optionalDataSet(path, demo, parts.group, name);
            if (!dataset) continue;
            const H5::DataType type = dataset->getDataType();
            const std::size_t size = type.getSize();
            if (!(type.getClass() == H5T_INTEGER && (size == 1 || size == 2 || size == 4 || size == 8)) &&
                !(type.getClass() == H5T_FLOAT && (size == 4 || size == 8)))
                throw Error(fail(at, "expected integer flags, found " + typeName(type)));
            const auto dims = h5::dimsOf(*dataset);
            if (dims.size() != 1 || dims[0] != parts.steps)
                throw Error(fail(at, "expected shape [" + std::to_string(parts.steps) +
                                         "] (one per step), found " + dimsString(dims)));
            checkStorage(path, at, *dataset, fileSize);
            (std::string(name) == "rewards" ? parts.rewards : parts.dones) = std::move(dataset);
        }
    } catch (const H5::Exception& e) {
        throw h5::toError(path, at, "cannot read the file's structure here; it is corrupt", e);
    }
    return parts;
}

void LiberoFile::Impl::readProblemInfo() {
    const std::string object = "data attribute problem_info";
    std::string text;
    try {
        const H5::Attribute attr = file.openGroup("data").openAttribute("problem_info");
        const H5::DataType type = attr.getDataType();
        if (type.getClass() != H5T_STRING)
            throw Error(path + ": " + object + ": expected a JSON string, found " + typeName(type));
        if (attr.getSpace().getSimpleExtentNpoints() != 1)
            throw Error(path + ": " + object + ": expected a single string, found " +
                        std::to_string(attr.getSpace().getSimpleExtentNpoints()) + " elements");
        const auto read = h5::readStringInChild(attr, 10000);
        using Status = h5::IsolatedRead::Status;
        switch (read.status) {
        case Status::Unavailable:
            attr.read(attr.getStrType(), text);
            break;
        case Status::Ok:
            text = read.text;
            break;
        case Status::Failed:
            throw Error(path + ": " + object + ": cannot read it; the file is corrupt (HDF5: " + read.text +
                        ")");
        case Status::Crashed:
            throw Error(path + ": " + object + ": HDF5 crashed reading this string (signal " + read.text +
                        " in a child process); the file is corrupt");
        case Status::TimedOut:
            throw Error(path + ": " + object +
                        ": reading this string did not finish in 10 s; the file is corrupt");
        case Status::TooLarge:
            throw Error(path + ": " + object + ": longer than " +
                        std::to_string(h5::kMaxIsolatedBytes >> 20) + " MiB; the file is corrupt");
        }
    } catch (const H5::Exception& e) {
        throw h5::toError(path, object, "cannot read it", e);
    }
    text = trimNuls(text);

    nlohmann::json info;
    try {
        info = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": " + object + ": not valid JSON (" + e.what() + ")");
    }
    if (!info.is_object())
        throw Error(path + ": " + object + ": expected a JSON object with language_instruction");
    const auto it = info.find("language_instruction");
    if (it == info.end()) throw Error(path + ": " + object + ": lacks language_instruction");
    if (it->is_string()) {
        instruction = it->get<std::string>();
    } else if (it->is_array() &&
               std::all_of(it->begin(), it->end(), [](const auto& w) { return w.is_string(); })) {
        for (const auto& word : *it)
            instruction += (instruction.empty() ? "" : " ") + word.get<std::string>();
    } else {
        throw Error(path + ": " + object + ": language_instruction is not a string");
    }
    if (const auto p = info.find("problem_name"); p != info.end() && p->is_string())
        problemName = p->get<std::string>();
    if (const auto d = info.find("domain_name"); d != info.end() && d->is_string())
        domainName = d->get<std::string>();
    instructionSource = InstructionSource::ProblemInfo;
    if (instruction.empty()) { // present but blank: the file name is the better guess
        instruction = instructionFromFileName(path);
        instructionSource = InstructionSource::FileName;
    }
}

LiberoFile::LiberoFile(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
LiberoFile::LiberoFile(LiberoFile&&) noexcept = default;

// Closing the file's handles is HDF5 work too: take the module lock (see h5::libraryMutex).
LiberoFile& LiberoFile::operator=(LiberoFile&& other) noexcept {
    if (this != &other) {
        const std::lock_guard<std::recursive_mutex> lock(h5::libraryMutex());
        m_impl = std::move(other.m_impl);
    }
    return *this;
}

LiberoFile::~LiberoFile() {
    const std::lock_guard<std::recursive_mutex> lock(h5::libraryMutex());
    m_impl.reset();
}

LiberoFile LiberoFile::open(const std::string& path) {
    const h5::Guard guard;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) throw Error(path + ": no such file");
    if (fs::is_directory(status)) throw Error(path + ": is a folder; expected a LIBERO .hdf5 file");

    auto impl = std::make_unique<Impl>();
    impl->path = path;
    std::string at;
    try {
        bool isHdf5 = false;
        try {
            isHdf5 = H5::H5File::isHdf5(path);
        } catch (const H5::Exception& e) {
            throw h5::toError(path, "", "not a readable HDF5 file; it is truncated or corrupt", e);
        }
        if (!isHdf5) throw Error(path + ": not an HDF5 file (no HDF5 signature found)");
        try {
            impl->file.openFile(path, H5F_ACC_RDONLY);
        } catch (const H5::Exception& e) {
            throw h5::toError(path, "", "cannot open as HDF5; the file is truncated or corrupt", e);
        }

        impl->fileSize = impl->file.getFileSize();
        at = "data";
        const Kind dataKind = childKind(impl->file, "data");
        if (dataKind == Kind::Missing)
            throw Error(path + ": data: missing; expected a LIBERO file with group data/demo_N");
        if (dataKind != Kind::Group)
            throw Error(path + ": data: expected a group, found " + kindName(dataKind));
        const H5::Group data = impl->file.openGroup("data");

        std::vector<std::string> others;
        const hsize_t count = data.getNumObjs();
        for (hsize_t i = 0; i < count; ++i) {
            const std::string name = data.getObjnameByIdx(i);
            if (demoNumber(name).empty()) {
                others.push_back(name);
                continue;
            }
            at = "data/" + name;
            const Kind kind = childKind(data, name);
            if (kind != Kind::Group)
                throw Error(path + ": data/" + name + ": expected a demo group, found " + kindName(kind));
            impl->demos.push_back(name);
        }
        if (impl->demos.empty())
            throw Error(path + ": data: no demo_N groups" +
                        (others.empty() ? std::string(" (the group is empty)")
                                        : " (found: " + listNames(others) + ")"));
        std::sort(impl->demos.begin(), impl->demos.end(), demoLess);

        at = "data";
        if (data.attrExists("problem_info")) {
            impl->layout = LiberoLayout::Raw;
            impl->readProblemInfo();
        } else {
            impl->layout = LiberoLayout::Regenerated;
            impl->instruction = instructionFromFileName(path);
            impl->instructionSource = InstructionSource::FileName;
        }
    } catch (const H5::Exception& e) {
        throw h5::toError(path, at, "cannot read the file's structure here; it is corrupt", e);
    }
    return LiberoFile(std::move(impl));
}

const std::string& LiberoFile::path() const {
    return m_impl->path;
}
LiberoLayout LiberoFile::layout() const {
    return m_impl->layout;
}
const std::string& LiberoFile::instruction() const {
    return m_impl->instruction;
}
LiberoFile::InstructionSource LiberoFile::instructionSource() const {
    return m_impl->instructionSource;
}
const std::string& LiberoFile::problemName() const {
    return m_impl->problemName;
}
const std::string& LiberoFile::domainName() const {
    return m_impl->domainName;
}
const std::vector<std::string>& LiberoFile::demoNames() const {
    return m_impl->demos;
}
int LiberoFile::numDemos() const {
    return static_cast<int>(m_impl->demos.size());
}

void LiberoFile::setInstruction(const std::string& instruction) {
    m_impl->instruction = instruction;
    m_impl->instructionSource = InstructionSource::Override;
}

int LiberoFile::demoIndex(const std::string& demoName) const {
    const auto& demos = m_impl->demos;
    const auto it = std::find(demos.begin(), demos.end(), demoName);
    return it == demos.end() ? -1 : static_cast<int>(it - demos.begin());
}

int LiberoFile::numSteps(int demoIndex) const {
    const h5::Guard guard;
    return static_cast<int>(m_impl->inspect(demoIndex).steps);
}

Episode LiberoFile::readDemo(int demoIndex, int firstStep, int lastStep) const {
    static_assert(sizeof(Action) == 7 * sizeof(double),
                  "actions are read straight into std::array<double, 7>");
    const h5::Guard guard;
    const Impl& impl = *m_impl;
    const DemoParts parts = impl.inspect(demoIndex);
    const int steps = static_cast<int>(parts.steps);
    if (steps == 0) throw Error(impl.fail(parts.group, "has no steps"));
    if (lastStep == -1) lastStep = steps - 1;
    if (firstStep < 0 || lastStep < firstStep || lastStep >= steps)
        throw Error(impl.fail(parts.group, "step range [" + std::to_string(firstStep) + ", " +
                                               std::to_string(lastStep) + "] out of range; the demo has " +
                                               std::to_string(steps) + " steps (0.." +
                                               std::to_string(steps - 1) + ")"));
    const hsize_t first = static_cast<hsize_t>(firstStep);
    const hsize_t count = static_cast<hsize_t>(lastStep - firstStep + 1);
    const std::uint64_t imageBytes = count * parts.height * parts.width * 3;
    if (imageBytes > kMaxReadBytes)
        throw Error(impl.fail(parts.group + "/obs/agentview_rgb",
                              "steps " + std::to_string(firstStep) + ".." + std::to_string(lastStep) +
                                  " hold " + std::to_string(imageBytes >> 20) +
                                  " MiB of images, more than the " + std::to_string(kMaxReadBytes >> 20) +
                                  " MiB read limit; read a shorter step range"));

    Episode ep;
    ep.source = impl.path;
    ep.demoName = impl.demos[demoIndex];
    ep.instruction = impl.instruction;
    ep.firstStep = firstStep;
    ep.numSteps = static_cast<int>(count);
    ep.imageHeight = static_cast<int>(parts.height);
    ep.imageWidth = static_cast<int>(parts.width);
    try {
        ep.images.resize(imageBytes);
        ep.actions.resize(count);
    } catch (const std::bad_alloc&) {
        throw Error(
            impl.fail(parts.group, "out of memory reading " + std::to_string(imageBytes >> 20) + " MiB"));
    }

    std::string at = parts.group + "/obs/agentview_rgb";
    try {
        // Hyperslabs: only the requested steps leave the disk (and only their chunks are decompressed).
        H5::DataSpace imageSpace = parts.images.getSpace();
        const hsize_t imageStart[4] = {first, 0, 0, 0};
        const hsize_t imageCount[4] = {count, parts.height, parts.width, 3};
        imageSpace.selectHyperslab(H5S_SELECT_SET, imageCount, imageStart);
        const H5::DataSpace imageMemory(4, imageCount);
        parts.images.read(ep.images.data(), H5::PredType::NATIVE_UINT8, imageMemory, imageSpace);

        at = parts.group + "/actions";
        H5::DataSpace actionSpace = parts.actions.getSpace();
        const hsize_t actionStart[2] = {first, 0};
        const hsize_t actionCount[2] = {count, 7};
        actionSpace.selectHyperslab(H5S_SELECT_SET, actionCount, actionStart);
        const H5::DataSpace actionMemory(2, actionCount);
        parts.actions.read(ep.actions.data(), H5::PredType::NATIVE_DOUBLE, actionMemory, actionSpace);

        const std::pair<const std::optional<H5::DataSet>*, std::vector<std::uint8_t>*> flags[] = {
            {&parts.rewards, &ep.rewards}, {&parts.dones, &ep.dones}};
        for (const auto& [dataset, out] : flags) {
            const std::string name = out == &ep.rewards ? "rewards" : "dones";
            at = parts.group + "/" + name;
            if (!*dataset) {
                ep.notes.push_back(parts.group + " has no " + name + " dataset; success is unknown");
                continue;
            }
            H5::DataSpace space = (*dataset)->getSpace();
            space.selectHyperslab(H5S_SELECT_SET, &count, &first);
            const H5::DataSpace memory(1, &count);
            std::vector<double> values(count);
            (*dataset)->read(values.data(), H5::PredType::NATIVE_DOUBLE, memory, space);
            out->resize(count);
            for (hsize_t i = 0; i < count; ++i) {
                const double v = values[i];
                // Flags: keep small integers as they are, and never turn a positive value into 0.
                (*out)[i] = !(v > 0)   ? 0
                            : v >= 255 ? 255
                                       : static_cast<std::uint8_t>(std::max(1.0, std::round(v)));
            }
        }
    } catch (const H5::Exception& e) {
        throw h5::toError(impl.path, at, "cannot read the data; the file is truncated or corrupt", e);
    }
    return ep;
}

} // namespace specvla::data
