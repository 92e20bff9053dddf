// SPDX-License-Identifier: MIT
#pragma once

#include "io/safetensors.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace specvla::io {

struct CheckpointEntry {
    TensorInfo info;
    std::size_t shard = 0; // index into Checkpoint::shardPaths()
};

// A safetensors checkpoint: one file, or the Hugging Face sharded layout described by
// model.safetensors.index.json ({"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}).
class Checkpoint {
public:
    // DIR_OR_FILE: a directory holding model.safetensors.index.json or model.safetensors (or exactly one
    // .safetensors file), an index .json file, or a .safetensors file. Throws Error naming the file, shard or
    // tensor: index pointing to a missing shard, or to a tensor its shard does not hold, and every error of
    // SafetensorsFile::open.
    static Checkpoint open(const std::string& dirOrFile);

    const std::string& source() const { return m_source; }       // what was opened
    const std::string& indexPath() const { return m_indexPath; } // empty for a single file
    const std::vector<std::string>& shardPaths() const { return m_shardPaths; }
    const SafetensorsFile& shard(std::size_t i) const { return m_shards.at(i); }
    std::size_t shardCount() const { return m_shards.size(); }

    const std::vector<CheckpointEntry>& tensors() const { return m_entries; } // sorted by name
    const CheckpointEntry* find(const std::string& name) const;
    const CheckpointEntry& at(const std::string& name) const; // throws Error naming the checkpoint and tensor

    std::uint64_t totalBytes() const;
    std::optional<std::uint64_t> declaredTotalSize() const { return m_declaredTotal; }

    // Tensors present in a shard but absent from the index, a total_size that disagrees, gaps in a shard.
    const std::vector<std::string>& warnings() const { return m_warnings; }

private:
    std::string m_source;
    std::string m_indexPath;
    std::vector<std::string> m_shardPaths;
    std::vector<SafetensorsFile> m_shards;
    std::vector<CheckpointEntry> m_entries;
    std::optional<std::uint64_t> m_declaredTotal;
    std::vector<std::string> m_warnings;
};

} // namespace specvla::io
