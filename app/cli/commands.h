// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace specvla::cli {

// Each command gets the arguments after its name and returns the process exit code.
struct Command {
    const char* name;
    const char* summary;
    const char* usage;
    int (*run)(const std::vector<std::string>& args);
};

int runInspect(const std::vector<std::string>& args);

extern const char* const kInspectUsage;

} // namespace specvla::cli
