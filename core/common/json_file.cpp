// SPDX-License-Identifier: MIT
#include "common/json_file.h"

#include "common/error.h"

#include <fstream>
#include <sstream>

namespace specvla {

nlohmann::json readJsonFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": invalid JSON: " + e.what());
    }
}

} // namespace specvla
