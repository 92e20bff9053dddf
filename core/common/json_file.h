// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace specvla {

// Reads and parses a JSON file; throws Error "<path>: cannot open" or "<path>: invalid JSON: <parser
// message>".
nlohmann::json readJsonFile(const std::string& path);

} // namespace specvla
