// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>

namespace specvla {

enum class LogLevel { Debug, Info, Warning, Error };

// A small logging hook: the library never prints; the CLI and the GUI install a sink.
using LogSink = std::function<void(LogLevel, const std::string&)>;

void setLogSink(LogSink sink);
void log(LogLevel level, const std::string& message);
const char* logLevelName(LogLevel level);

} // namespace specvla
