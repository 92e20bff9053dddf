// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace specvla::cli {

// Each command gets the arguments after its name and returns the process exit code.
struct Command {
    const char* name;
    const char* summary;
    std::string (*usage)();
    int (*run)(const std::vector<std::string>& args);
};

int runInspect(const std::vector<std::string>& args);
int runRun(const std::vector<std::string>& args);
int runMakeGeometry(const std::vector<std::string>& args);
int runBenchLoad(const std::vector<std::string>& args);
int runSweep(const std::vector<std::string>& args);
int runBench(const std::vector<std::string>& args);
int runGpuTest(const std::vector<std::string>& args);
int runDemo(const std::vector<std::string>& args);
int runReport(const std::vector<std::string>& args);

std::string inspectUsage();
std::string runUsage();
std::string makeGeometryUsage();
std::string benchLoadUsage();
std::string sweepUsage();
std::string benchUsage();
std::string gpuTestUsage();
std::string demoUsage();
std::string reportUsage();

} // namespace specvla::cli
