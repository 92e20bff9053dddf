// SPDX-License-Identifier: MIT
#include "data/libero_writer.h"

#include "data/hdf5_util.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include <fcntl.h>
#include <unistd.h>

namespace specvla::data {
namespace {

namespace fs = std::filesystem;

bool isDemoName(const std::string& name) {
    if (name.rfind("demo_", 0) != 0 || name.size() == 5) return false;
    for (std::size_t i = 5; i < name.size(); ++i)
        if (name[i] < '0' || name[i] > '9') return false;
    return true;
}

// Keep the episodes' own names when they are all distinct demo_N names (a subset copied from a file keeps
// its numbering); otherwise number them by position.
std::vector<std::string> groupNames(const std::vector<Episode>& demos) {
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const auto& ep : demos) {
        if (!isDemoName(ep.demoName) || !seen.insert(ep.demoName).second) {
            names.clear();
            break;
        }
        names.push_back(ep.demoName);
    }
    if (names.empty())
        for (std::size_t i = 0; i < demos.size(); ++i)
            names.push_back("demo_" + std::to_string(i));
    return names;
}

// A unique name beside the destination, so the final rename stays within one file system.
std::string temporaryPathFor(const std::string& path) {
    static std::atomic<unsigned> counter{0};
    const fs::path target(path);
    const std::string name = "." + target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                             std::to_string(counter.fetch_add(1));
    return (target.parent_path() / name).string();
}

void writeInt64Attribute(const H5::H5Object& object, const char* name, std::int64_t value) {
    // h5py stores Python ints as 64-bit little-endian integers; do the same.
    H5::Attribute attr = object.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
    attr.write(H5::PredType::NATIVE_INT64, &value);
}

void writeStringAttribute(const H5::H5Object& object, const char* name, const std::string& value) {
    // Variable-length UTF-8, as h5py writes a Python str.
    H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    type.setCset(H5T_CSET_UTF8);
    H5::Attribute attr = object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
    attr.write(type, value);
}

void writeDataSet(const H5::Group& parent, const char* name, const H5::PredType& fileType,
                  const H5::PredType& memoryType, const std::vector<hsize_t>& dims,
                  const std::vector<hsize_t>& chunk, bool compress, const void* data) {
    H5::DSetCreatPropList create;
    if (compress) {
        create.setChunk(static_cast<int>(chunk.size()), chunk.data());
        create.setDeflate(4);
    }
    const H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
    H5::DataSet dataset = parent.createDataSet(name, fileType, space, create);
    dataset.write(data, memoryType);
}

void writeContents(const std::string& temporary, const std::vector<Episode>& demos,
                   const std::vector<std::string>& names, const LiberoWriteOptions& options,
                   const std::string& instruction, std::string& at) {
    H5::FileAccPropList access;
    access.setFcloseDegree(H5F_CLOSE_STRONG); // closing the file closes everything: nothing keeps it open
    H5::H5File file(temporary, H5F_ACC_EXCL, H5::FileCreatPropList::DEFAULT, access);

    at = "data";
    H5::Group data = file.createGroup("data");
    if (options.layout == LiberoLayout::Raw) {
        const nlohmann::json info = {{"problem_name", options.problemName},
                                     {"domain_name", options.domainName},
                                     {"language_instruction", instruction}};
        std::int64_t total = 0;
        for (const auto& ep : demos)
            total += ep.numSteps;
        writeStringAttribute(data, "problem_info", info.dump());
        writeStringAttribute(data, "env_name", options.problemName);
        writeInt64Attribute(data, "num_demos", static_cast<std::int64_t>(demos.size()));
        writeInt64Attribute(data, "total", total);
    }

    for (std::size_t i = 0; i < demos.size(); ++i) {
        const Episode& ep = demos[i];
        const std::string group = "data/" + names[i];
        const hsize_t steps = static_cast<hsize_t>(ep.numSteps);
        const hsize_t height = static_cast<hsize_t>(ep.imageHeight),
                      width = static_cast<hsize_t>(ep.imageWidth);
        at = group;
        H5::Group demo = data.createGroup(names[i]);
        if (options.layout == LiberoLayout::Raw) writeInt64Attribute(demo, "num_samples", ep.numSteps);

        at = group + "/actions";
        writeDataSet(demo, "actions", H5::PredType::IEEE_F64LE, H5::PredType::NATIVE_DOUBLE, {steps, 7},
                     {steps, 7}, options.compress, ep.actions.data());
        if (!ep.rewards.empty()) {
            at = group + "/rewards";
            writeDataSet(demo, "rewards", H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8, {steps},
                         {steps}, options.compress, ep.rewards.data());
        }
        if (!ep.dones.empty()) {
            at = group + "/dones";
            writeDataSet(demo, "dones", H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8, {steps}, {steps},
                         options.compress, ep.dones.data());
        }
        at = group + "/obs";
        H5::Group obs = demo.createGroup("obs");
        at = group + "/obs/agentview_rgb";
        // One chunk per step: a step-range read then decompresses only the frames it needs.
        writeDataSet(obs, "agentview_rgb", H5::PredType::STD_U8LE, H5::PredType::NATIVE_UINT8,
                     {steps, height, width, 3}, {1, height, width, 3}, options.compress, ep.images.data());
    }
    at = "";
    file.close();
}

// Pushes the bytes to disk before the rename, so a crash cannot leave a renamed but empty file.
bool syncFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

} // namespace

void writeLiberoFile(const std::string& path, const std::vector<Episode>& demos,
                     const LiberoWriteOptions& options) {
    static_assert(sizeof(Action) == 7 * sizeof(double),
                  "actions are written straight from std::array<double, 7>");
    const h5::Guard guard;
    if (path.empty()) throw Error("LIBERO writer: empty output path");
    if (demos.empty())
        throw Error(path + ": no demos to write; a LIBERO file needs at least one data/demo_N");
    for (std::size_t i = 0; i < demos.size(); ++i) {
        const Episode& ep = demos[i];
        std::string problem = ep.numSteps <= 0 ? "has no steps" : ep.consistencyProblem();
        if (!problem.empty())
            throw Error(path + ": demo " + std::to_string(i) +
                        (ep.demoName.empty() ? "" : " (" + ep.demoName + ")") + ": " + problem);
    }
    std::string instruction = options.instruction.empty() ? demos.front().instruction : options.instruction;
    if (options.layout == LiberoLayout::Raw && instruction.empty())
        throw Error(path + ": data attribute problem_info: no instruction to write (set "
                           "LiberoWriteOptions::instruction or the first episode's)");
    if (options.compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
        throw Error(path + ": gzip compression requested but this HDF5 library has no deflate filter");

    const fs::path folder = fs::path(path).parent_path();
    std::error_code ec;
    if (!folder.empty() && !fs::is_directory(folder, ec))
        throw Error(path + ": cannot write: folder " + folder.string() + " does not exist");
    if (fs::is_directory(path, ec)) throw Error(path + ": cannot write: it is a folder");

    const std::vector<std::string> names = groupNames(demos);
    const std::string temporary = temporaryPathFor(path);
    std::string at;
    try {
        writeContents(temporary, demos, names, options, instruction, at);
    } catch (const H5::Exception& e) {
        std::remove(temporary.c_str());
        throw h5::toError(path, at, at.empty() ? "cannot write the file" : "cannot write it", e);
    } catch (...) {
        std::remove(temporary.c_str());
        throw;
    }
    if (!syncFile(temporary)) {
        const std::string reason = std::strerror(errno);
        std::remove(temporary.c_str());
        throw Error(path + ": cannot sync the written data to disk (" + reason + ")");
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        std::remove(temporary.c_str());
        throw Error(path + ": cannot replace it with the written file " + temporary + " (" + reason + ")");
    }
}

} // namespace specvla::data
