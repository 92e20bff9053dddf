// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace specvla::io {

struct InspectOptions {
    bool verifyData = false; // read every byte and count non-finite floating-point values per tensor
};

// Opens and validates a checkpoint and describes it: every tensor (name, dtype, shape, bytes, shard), the
// shards, totals by dtype, warnings. Never throws: an invalid checkpoint gives {"valid": false, "error":
// ...}.
nlohmann::json inspectCheckpoint(const std::string& dirOrFile, const InspectOptions& options = {});

// The human-readable table of an inspect report.
std::string formatInspectReport(const nlohmann::json& report);

std::string humanBytes(std::uint64_t bytes); // "1.50 GiB"

} // namespace specvla::io
