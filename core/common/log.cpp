// SPDX-License-Identifier: MIT
#include "common/log.h"

#include <mutex>

namespace specvla {
namespace {
std::mutex& sinkMutex() {
    static std::mutex m;
    return m;
}
LogSink& sinkRef() {
    static LogSink s;
    return s;
}
} // namespace

void setLogSink(LogSink sink) {
    std::lock_guard<std::mutex> lock(sinkMutex());
    sinkRef() = std::move(sink);
}

void log(LogLevel level, const std::string& message) {
    std::lock_guard<std::mutex> lock(sinkMutex());
    if (sinkRef()) sinkRef()(level, message);
}

const char* logLevelName(LogLevel level) {
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Error:
        return "error";
    }
    return "?";
}

} // namespace specvla
