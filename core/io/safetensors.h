// SPDX-License-Identifier: MIT
#pragma once

#include "io/dtype.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace specvla::io {

// A read-only memory mapping of a whole file; shared by every tensor view taken from it.
class MappedFile {
public:
    explicit MappedFile(const std::string& path); // throws Error naming the file
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return m_path; }
    const std::byte* data() const { return m_data; }
    std::uint64_t size() const { return m_size; }

private:
    std::string m_path;
    const std::byte* m_data = nullptr;
    std::uint64_t m_size = 0;
};

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0; // offsets relative to the start of the data section
    std::uint64_t end = 0;

    std::uint64_t byteSize() const { return end - begin; }
    std::int64_t numel() const;
    std::string shapeString() const; // "[4096, 11008]"
};

// A parsed and validated .safetensors file. Opening reads only the header: tensor data stays on disk until a
// view touches it, so a 15 GB shard (or a sparse file with holes) opens in milliseconds.
class SafetensorsFile {
public:
    static constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20; // the format's own limit

    // Throws Error naming the file and the problem: truncated file, header length past the end, invalid
    // header JSON, unknown dtype, offsets out of range or overlapping, byte count that disagrees with shape
    // and dtype.
    static SafetensorsFile open(const std::string& path);

    const std::string& path() const { return m_map->path(); }
    const std::vector<TensorInfo>& tensors() const { return m_tensors; } // sorted by data offset
    const TensorInfo* find(const std::string& name) const;
    const TensorInfo& at(const std::string& name) const; // throws Error naming the file and the tensor
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }

    std::uint64_t fileSize() const { return m_map->size(); }
    std::uint64_t headerSize() const { return m_headerSize; }
    std::uint64_t dataOffset() const { return 8 + m_headerSize; }
    std::uint64_t dataBytes() const; // sum of tensor byte sizes

    const std::byte* data(const TensorInfo& t) const { return m_map->data() + dataOffset() + t.begin; }
    const std::shared_ptr<const MappedFile>& mapping() const { return m_map; }

    // Oddities that do not stop loading: unused gaps between tensors, trailing bytes after the last one.
    const std::vector<std::string>& warnings() const { return m_warnings; }

private:
    std::shared_ptr<const MappedFile> m_map;
    std::uint64_t m_headerSize = 0;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, std::size_t> m_byName;
    std::map<std::string, std::string> m_metadata;
    std::vector<std::string> m_warnings;
};

} // namespace specvla::io
