// SPDX-License-Identifier: MIT
#include "io/checkpoint.h"

#include "common/error.h"
#include "common/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace specvla::io {
namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Resolves a directory to the file that describes its checkpoint.
std::string resolveDirectory(const fs::path& dir) {
    for (const char* name : {"model.safetensors.index.json", "model.safetensors"})
        if (fs::is_regular_file(dir / name)) return (dir / name).string();
    std::vector<std::string> indexes, files;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const std::string n = e.path().filename().string();
        if (endsWith(n, ".safetensors.index.json"))
            indexes.push_back(e.path().string());
        else if (endsWith(n, ".safetensors"))
            files.push_back(e.path().string());
    }
    if (indexes.size() == 1) return indexes.front();
    if (indexes.empty() && files.size() == 1) return files.front();
    if (indexes.size() > 1 || files.size() > 1)
        throw Error(dir.string() + ": several checkpoints in one folder; name the index or the file to open");
    throw Error(dir.string() + ": no model.safetensors.index.json or .safetensors file in this folder");
}

} // namespace

Checkpoint Checkpoint::open(const std::string& dirOrFile) {
    Checkpoint c;
    c.m_source = dirOrFile;
    std::error_code ec;
    if (!fs::exists(dirOrFile, ec)) throw Error(dirOrFile + ": no such file or folder");
    std::string file = fs::is_directory(dirOrFile, ec) ? resolveDirectory(dirOrFile) : dirOrFile;

    if (!endsWith(file, ".json")) {
        c.m_shardPaths.push_back(file);
        c.m_shards.push_back(SafetensorsFile::open(file));
        for (const auto& t : c.m_shards.front().tensors())
            c.m_entries.push_back({t, 0});
        for (const auto& w : c.m_shards.front().warnings())
            c.m_warnings.push_back(w);
    } else {
        c.m_indexPath = file;
        const nlohmann::json index = readJsonFile(file);
        if (!index.is_object()) throw Error(file + ": expected a JSON object with 'weight_map'");
        auto wm = index.find("weight_map");
        if (wm == index.end() || !wm->is_object())
            throw Error(file + ": missing object field 'weight_map' (tensor name -> shard file)");
        if (auto md = index.find("metadata"); md != index.end() && md->is_object()) {
            auto ts = md->find("total_size");
            if (ts != md->end() && ts->is_number() && ts->get<double>() >= 0)
                c.m_declaredTotal = ts->get<std::uint64_t>();
        }

        // Shards in name order; each tensor is resolved by name in the shard the index names.
        std::map<std::string, std::vector<std::string>> byShard;
        for (auto it = wm->begin(); it != wm->end(); ++it) {
            if (!it->is_string())
                throw Error(file + ": weight_map entry '" + it.key() + "' is not a file name");
            byShard[it->get<std::string>()].push_back(it.key());
        }
        const fs::path base = fs::path(file).parent_path();
        for (const auto& [shardName, names] : byShard) {
            const fs::path shardPath = base / shardName;
            if (!fs::is_regular_file(shardPath, ec)) {
                std::string others =
                    names.size() > 1 ? " and " + std::to_string(names.size() - 1) + " other tensors" : "";
                throw Error(file + ": shard '" + shardName + "' (holding tensor '" + names.front() + "'" +
                            others + ") does not exist at " + shardPath.string());
            }
            const std::size_t shardIndex = c.m_shards.size();
            c.m_shardPaths.push_back(shardPath.string());
            c.m_shards.push_back(SafetensorsFile::open(shardPath.string()));
            const SafetensorsFile& shard = c.m_shards.back();
            std::set<std::string> listed(names.begin(), names.end());
            for (const auto& name : names) {
                const TensorInfo* t = shard.find(name);
                if (!t)
                    throw Error(file + ": tensor '" + name + "' is mapped to shard '" + shardName +
                                "', which does not contain it");
                c.m_entries.push_back({*t, shardIndex});
            }
            for (const auto& t : shard.tensors())
                if (!listed.count(t.name))
                    c.m_warnings.push_back(shardPath.string() + ": holds tensor '" + t.name +
                                           "' that the index does not list (ignored)");
            for (const auto& w : shard.warnings())
                c.m_warnings.push_back(w);
        }
        // Shard files of the same series ("-of-0000N.safetensors") that the index never names.
        std::set<std::string> seriesSuffixes;
        for (const auto& [shardName, names] : byShard)
            if (auto pos = shardName.rfind("-of-"); pos != std::string::npos)
                seriesSuffixes.insert(shardName.substr(pos));
        for (const auto& e : fs::directory_iterator(base.empty() ? fs::path(".") : base, ec)) {
            const std::string n = e.path().filename().string();
            const auto pos = n.rfind("-of-");
            if (pos != std::string::npos && seriesSuffixes.count(n.substr(pos)) && !byShard.count(n))
                c.m_warnings.push_back(e.path().string() +
                                       ": shard file that the index does not reference (ignored)");
        }
        if (c.m_declaredTotal && *c.m_declaredTotal != c.totalBytes())
            c.m_warnings.push_back(file + ": metadata.total_size is " + std::to_string(*c.m_declaredTotal) +
                                   " but the indexed tensors hold " + std::to_string(c.totalBytes()) +
                                   " bytes");
    }
    std::sort(c.m_entries.begin(), c.m_entries.end(),
              [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.info.name < b.info.name; });
    return c;
}

const CheckpointEntry* Checkpoint::find(const std::string& name) const {
    auto it =
        std::lower_bound(m_entries.begin(), m_entries.end(), name,
                         [](const CheckpointEntry& e, const std::string& n) { return e.info.name < n; });
    return (it != m_entries.end() && it->info.name == name) ? &*it : nullptr;
}

const CheckpointEntry& Checkpoint::at(const std::string& name) const {
    if (const auto* e = find(name)) return *e;
    throw Error((m_indexPath.empty() ? m_source : m_indexPath) + ": missing tensor '" + name + "'");
}

std::uint64_t Checkpoint::totalBytes() const {
    std::uint64_t s = 0;
    for (const auto& e : m_entries)
        s += e.info.byteSize();
    return s;
}

} // namespace specvla::io
