// SPDX-License-Identifier: MIT
#include "decode/norm_stats.h"

#include "common/error.h"
#include "common/json_file.h"

#include <nlohmann/json.hpp>

namespace specvla::decode {
namespace {

std::vector<double> numbers(const nlohmann::json& action, const char* field, const std::string& where) {
    auto it = action.find(field);
    if (it == action.end() || !it->is_array()) throw Error(where + ": missing array field '" + field + "'");
    std::vector<double> v;
    for (const auto& x : *it) {
        if (!x.is_number()) throw Error(where + ": field '" + field + "' holds a non-number");
        v.push_back(x.get<double>());
    }
    return v;
}

} // namespace

NormStats NormStats::fromJson(const nlohmann::json& statistics, const std::string& key,
                              const std::string& source) {
    if (!statistics.is_object() || statistics.empty())
        throw Error(source + ": expected an object of dataset statistics keyed by dataset name");
    std::string available;
    for (auto it = statistics.begin(); it != statistics.end(); ++it)
        available += (available.empty() ? "" : ", ") + it.key();

    std::string chosen = key;
    if (chosen.empty()) {
        if (statistics.size() != 1)
            throw Error(
                source +
                ": several datasets, choose one with an un-normalisation key; available keys: " + available);
        chosen = statistics.begin().key();
    } else if (!statistics.contains(chosen)) {
        // OpenVLA's LIBERO eval falls back from "libero_goal" to "libero_goal_no_noops".
        if (statistics.contains(chosen + "_no_noops"))
            chosen += "_no_noops";
        else
            throw Error(source + ": no statistics for key '" + key + "'; available keys: " + available);
    }
    const std::string where = source + ": " + chosen + ".action";
    const auto& entry = statistics.at(chosen);
    auto action = entry.find("action");
    if (!entry.is_object() || action == entry.end() || !action->is_object())
        throw Error(source + ": dataset '" + chosen + "' has no 'action' statistics");

    NormStats s;
    s.key = chosen;
    s.q01 = numbers(*action, "q01", where);
    s.q99 = numbers(*action, "q99", where);
    if (s.q01.size() != s.q99.size())
        throw Error(where + ": q01 has " + std::to_string(s.q01.size()) + " entries but q99 has " +
                    std::to_string(s.q99.size()));
    auto mask = action->find("mask");
    if (mask == action->end()) {
        s.mask.assign(s.q01.size(), true); // OpenVLA's default when no mask is stored
    } else {
        if (!mask->is_array() || mask->size() != s.q01.size())
            throw Error(where + ": field 'mask' must be " + std::to_string(s.q01.size()) + " booleans");
        for (const auto& m : *mask) {
            if (!m.is_boolean() && !m.is_number()) throw Error(where + ": field 'mask' holds a non-boolean");
            s.mask.push_back(m.is_boolean() ? m.get<bool>() : m.get<double>() != 0.0);
        }
    }
    return s;
}

NormStats NormStats::fromFile(const std::string& path, const std::string& key) {
    return fromJson(readJsonFile(path), key, path);
}

} // namespace specvla::decode
