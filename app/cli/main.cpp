// SPDX-License-Identifier: MIT
// specvla: the headless command line of SpecVLA Workbench, on the same engine as the GUI.
#include "cli/args.h"
#include "cli/commands.h"
#include "common/log.h"
#include "common/runtime.h"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

using specvla::cli::Command;

const Command kCommands[] = {
    {"inspect", "list and validate the tensors of a safetensors checkpoint", specvla::cli::inspectUsage,
     specvla::cli::runInspect},
#if !SPECVLA_ENGINE_ONLY // these read images and LIBERO episodes
    {"run", "predict actions for an image or a LIBERO episode (AR, strict or relaxed)",
     specvla::cli::runUsage, specvla::cli::runRun},
    {"sweep", "acceptance length, speedup and deviation against the margin", specvla::cli::sweepUsage,
     specvla::cli::runSweep},
    {"demo", "train the demo world's tiny target and draft head", specvla::cli::demoUsage,
     specvla::cli::runDemo},
#endif
#ifdef SPECVLA_WITH_REPORT // the one command with Qt: figures and PDF, rendered offscreen
    {"report", "write a session's report (HTML, PDF, figures, data) without a display",
     specvla::cli::reportUsage, specvla::cli::runReport},
#endif
    {"bench", "time AR, strict and relaxed decoding in one run", specvla::cli::benchUsage,
     specvla::cli::runBench},
    {"make-geometry", "write a sparse checkpoint of the full OpenVLA-7B geometry",
     specvla::cli::makeGeometryUsage, specvla::cli::runMakeGeometry},
    {"bench-load", "measure load time and resident memory of a model (and one action)",
     specvla::cli::benchLoadUsage, specvla::cli::runBenchLoad},
    {"gpu-test", "check the engine on a device (CUDA or CPU) with in-memory models",
     specvla::cli::gpuTestUsage, specvla::cli::runGpuTest},
};

void printHelp(std::ostream& os) {
    os << "usage: specvla [--help] [--version] [--threads N] COMMAND [ARGS]\n\n"
          "SpecVLA Workbench command line: speculative decoding with relaxed acceptance for OpenVLA "
          "policies.\n\n"
          "commands:\n";
    for (const auto& c : kCommands)
        os << "  " << c.name << std::string(15 - std::strlen(c.name), ' ') << c.summary << "\n";
    os << "\noptions:\n"
          "  --help        show this help (or `specvla COMMAND --help` for a command)\n"
          "  --version     show the versions of specvla and libtorch\n"
          "  --threads N   libtorch threads (default: all cores available to the process)\n";
}

} // namespace

int main(int argc, char** argv) {
    specvla::setLogSink([](specvla::LogLevel level, const std::string& message) {
        if (level != specvla::LogLevel::Debug)
            std::cerr << "specvla: " << specvla::logLevelName(level) << ": " << message << "\n";
    });
    std::vector<std::string> args(argv + 1, argv + argc);
    int threads = 0;
    // Global options come before the command name.
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            printHelp(std::cout);
            return 0;
        }
        if (a == "--version") {
            std::cout << "specvla " << specvla::specvlaVersion() << " (libtorch " << specvla::torchVersion()
                      << ", CUDA " << (specvla::cudaCompiledIn() ? "compiled in" : "not compiled in")
                      << ")\n";
            return 0;
        }
        if (a == "--threads" && i + 1 < args.size()) {
            try {
                threads = std::stoi(args[++i]);
            } catch (...) {
                std::cerr << "specvla: --threads needs a number\n";
                return 2;
            }
            continue;
        }
        break;
    }
    if (i >= args.size()) {
        printHelp(std::cerr);
        return 2;
    }
    const std::string name = args[i];
    const std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
    for (const auto& c : kCommands) {
        if (name != c.name) continue;
        for (const auto& a : rest)
            if (a == "--help" || a == "-h") {
                std::cout << c.usage();
                return 0;
            }
        specvla::initTorchThreads(threads);
        try {
            return c.run(rest);
        } catch (const specvla::cli::UsageError& e) {
            std::cerr << "specvla " << c.name << ": " << e.what() << "\n\n" << c.usage();
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "specvla " << c.name << ": error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "specvla: unknown command '" << name << "'\n\n";
    printHelp(std::cerr);
    return 2;
}
