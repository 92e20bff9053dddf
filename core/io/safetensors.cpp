// SPDX-License-Identifier: MIT
#include "io/safetensors.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace specvla::io {

MappedFile::MappedFile(const std::string& path) : m_path(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(path + ": cannot stat: " + std::strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": is a directory, expected a file");
    }
    m_size = static_cast<std::uint64_t>(st.st_size);
    if (m_size > 0) {
        // MAP_PRIVATE + PROT_READ: pages are read lazily, so opening a large (or sparse) file costs nothing.
        void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int e = errno;
            ::close(fd);
            throw Error(path + ": cannot map into memory: " + std::strerror(e));
        }
        m_data = static_cast<const std::byte*>(p);
    }
    ::close(fd); // the mapping keeps the file referenced
}

MappedFile::~MappedFile() {
    if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
}

std::int64_t TensorInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

std::string TensorInfo::shapeString() const {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < shape.size(); ++i)
        os << (i ? ", " : "") << shape[i];
    os << ']';
    return os.str();
}

namespace {

std::uint64_t readLe64(const std::byte* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | static_cast<std::uint8_t>(p[i]);
    return v;
}

bool isNonNegativeInteger(const nlohmann::json& j) {
    return j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0);
}

TensorInfo parseEntry(const std::string& file, const std::string& name, const nlohmann::json& e,
                      std::uint64_t dataSize) {
    const std::string where = file + ": tensor '" + name + "': ";
    if (!e.is_object()) throw Error(where + "header entry is not an object");
    TensorInfo t;
    t.name = name;

    auto it = e.find("dtype");
    if (it == e.end() || !it->is_string()) throw Error(where + "missing string field 'dtype'");
    const auto dtype = parseDType(it->get<std::string>());
    if (!dtype)
        throw Error(where + "unknown dtype '" + it->get<std::string>() + "' (known: " + knownDTypeNames() +
                    ")");
    t.dtype = *dtype;

    it = e.find("shape");
    if (it == e.end() || !it->is_array()) throw Error(where + "missing array field 'shape'");
    for (const auto& d : *it) {
        if (!isNonNegativeInteger(d))
            throw Error(where + "shape " + it->dump() + " holds a non-integer or negative size");
        t.shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
    }

    it = e.find("data_offsets");
    if (it == e.end() || !it->is_array() || it->size() != 2 || !isNonNegativeInteger((*it)[0]) ||
        !isNonNegativeInteger((*it)[1]))
        throw Error(where + "field 'data_offsets' must be two non-negative integers [begin, end]");
    t.begin = (*it)[0].get<std::uint64_t>();
    t.end = (*it)[1].get<std::uint64_t>();
    const std::string range = "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + ")";
    if (t.end < t.begin) throw Error(where + "data offsets " + range + " end before they begin");
    if (t.end > dataSize)
        throw Error(where + "data offsets " + range + " run past the end of the data section (" +
                    std::to_string(dataSize) + " bytes); the file may be truncated");

    // Expected byte count with overflow checks: a lying header must not wrap around.
    unsigned __int128 need = dtypeSize(t.dtype);
    for (auto d : t.shape) {
        need *= static_cast<std::uint64_t>(d);
        if (need > std::numeric_limits<std::uint64_t>::max())
            throw Error(where + "shape " + t.shapeString() + " is too large");
    }
    if (need != t.byteSize())
        throw Error(where + std::to_string(t.byteSize()) + " bytes at data offsets " + range +
                    ", but shape " + t.shapeString() + " of " + dtypeName(t.dtype) + " needs " +
                    std::to_string(static_cast<std::uint64_t>(need)));
    return t;
}

} // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    SafetensorsFile f;
    f.m_map = std::make_shared<const MappedFile>(path);
    const std::uint64_t size = f.m_map->size();
    if (size < 8)
        throw Error(path + ": truncated file: " + std::to_string(size) +
                    " bytes, but a safetensors file starts with an 8-byte header length");
    const std::uint64_t n = readLe64(f.m_map->data());
    if (n > kMaxHeaderBytes)
        throw Error(path + ": header length " + std::to_string(n) + " exceeds the format's limit of " +
                    std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file, or corrupt)");
    if (n > size - 8)
        throw Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" +
                    std::to_string(size) + " bytes); the file is truncated or not a safetensors file");
    f.m_headerSize = n;

    const char* hb = reinterpret_cast<const char*>(f.m_map->data() + 8);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(hb, hb + n);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": invalid header JSON: " + e.what());
    }
    if (!header.is_object()) throw Error(path + ": invalid header JSON: expected an object of tensors");

    const std::uint64_t dataSize = size - 8 - n;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object()) throw Error(path + ": '__metadata__' must be an object of strings");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string())
                    throw Error(path + ": '__metadata__' entry '" + m.key() + "' is not a string");
                f.m_metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        f.m_tensors.push_back(parseEntry(path, it.key(), *it, dataSize));
    }

    std::stable_sort(f.m_tensors.begin(), f.m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    // Overlap and gap checks over the non-empty tensors in offset order.
    const TensorInfo* prev = nullptr;
    std::uint64_t covered = 0;
    for (const auto& t : f.m_tensors) {
        if (t.byteSize() == 0) continue;
        if (prev && t.begin < prev->end)
            throw Error(path + ": tensors '" + prev->name + "' [" + std::to_string(prev->begin) + ", " +
                        std::to_string(prev->end) + ") and '" + t.name + "' [" + std::to_string(t.begin) +
                        ", " + std::to_string(t.end) + ") overlap");
        if (t.begin > covered)
            f.m_warnings.push_back(path + ": " + std::to_string(t.begin - covered) +
                                   " unused bytes before tensor '" + t.name + "'");
        covered = t.end;
        prev = &t;
    }
    if (covered < dataSize)
        f.m_warnings.push_back(path + ": " + std::to_string(dataSize - covered) +
                               " trailing bytes after the last tensor");

    for (std::size_t i = 0; i < f.m_tensors.size(); ++i)
        f.m_byName[f.m_tensors[i].name] = i;
    return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = m_byName.find(name);
    return it == m_byName.end() ? nullptr : &m_tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
    if (const auto* t = find(name)) return *t;
    throw Error(path() + ": no tensor named '" + name + "'");
}

std::uint64_t SafetensorsFile::dataBytes() const {
    std::uint64_t s = 0;
    for (const auto& t : m_tensors)
        s += t.byteSize();
    return s;
}

} // namespace specvla::io
