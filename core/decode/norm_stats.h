// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace specvla::decode {

// Action statistics of one dataset (norm_stats[key]["action"] in config.json or dataset_statistics.json).
struct NormStats {
    std::string key;
    std::vector<double> q01, q99;
    std::vector<bool> mask; // true: un-normalise this dimension with q01/q99 (BOUNDS_Q99)

    std::size_t dims() const { return q01.size(); }

    // statistics: the whole {key: {"action": {...}}} object; source names the file for errors. When key is
    // empty and there is exactly one dataset it is taken; otherwise the error lists the available keys.
    static NormStats fromJson(const nlohmann::json& statistics, const std::string& key,
                              const std::string& source);
    static NormStats fromFile(const std::string& path, const std::string& key);
};

} // namespace specvla::decode
