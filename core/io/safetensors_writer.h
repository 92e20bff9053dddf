// SPDX-License-Identifier: MIT
#pragma once

#include "io/dtype.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace specvla::io {

// Builds safetensors files: a single file or the sharded Hugging Face layout with its index. Files are
// written atomically (temporary file, fsync, rename), so a failed write never leaves a half file behind.
class SafetensorsWriter {
public:
    void setMetadata(const std::string& key, const std::string& value) { m_metadata[key] = value; }

    // Copies bytes; throws Error when bytes disagree with shape and dtype or the name is taken.
    void add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const void* data,
             std::size_t bytes);
    // A tensor whose data is left as a file-system hole (reads as zeros): geometry-only checkpoints of full
    // size cost no disk and no write time.
    void addSparse(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape);

    std::size_t size() const { return m_entries.size(); }
    std::uint64_t dataBytes() const;

    void writeFile(const std::string& path) const;
    // Writes {base}-0000k-of-0000n.safetensors shards of at most maxShardBytes of data each (a larger tensor
    // gets a shard of its own) and {base}.safetensors.index.json. Returns the shard file names.
    std::vector<std::string> writeSharded(const std::string& dir, std::uint64_t maxShardBytes,
                                          const std::string& base = "model") const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<std::int64_t> shape;
        std::vector<std::uint8_t> bytes; // empty for sparse entries
        std::uint64_t byteSize = 0;
        bool sparse = false;
    };
    void writeEntries(const std::string& path, const std::vector<const Entry*>& entries) const;

    std::vector<Entry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

// Atomic text write used for index and JSON files: temporary file in the same folder, fsync, rename.
void writeFileAtomically(const std::string& path, const std::string& contents);

} // namespace specvla::io
