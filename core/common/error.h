// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace specvla {

// The one exception type of the engine. The message names the file, tensor or field and what was expected,
// so callers (CLI, worker thread) can show it as is.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace specvla
