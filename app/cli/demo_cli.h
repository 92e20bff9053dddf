// SPDX-License-Identifier: MIT
// What the demo subcommands share (cmd_demo.cpp, cmd_demo_train.cpp, cmd_demo_eval.cpp): the expert options,
// how demo episodes are written, and the training progress printer.
#pragma once

#include "cli/args.h"
#include "data/libero_writer.h"
#include "demo/expert.h"
#include "demo/trainer.h"
#include "demo/world.h"

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace specvla::cli::democli {

// The demonstrating expert of demo train, distil, probe and eval --explain: --expert, --expert-gain,
// --expert-max-change, --expert-quantum, --perturb and --gripper-flip (UsageError naming a bad one).
demo::ExpertOptions expertFromArgs(const Args& args);
// The integer option --name (def when absent); UsageError naming it below min (0: "must not be negative",
// otherwise "must be positive" for 1 and "must be at least min" above).
int intOption(const Args& args, const char* name, int def, int min);

const char* expertStyle(const demo::ExpertOptions& expert);
nlohmann::json expertJson(const demo::ExpertOptions& expert);

// How demo episodes are written: LIBERO's raw layout (one instruction per file, as LIBERO keeps one task per
// file), gzip-compressed.
data::LiberoWriteOptions demoWriteOptions(demo::TaskKind task);

// Training progress of demo train and demo distil: each phase prints the mean loss over every `every` steps
// (and at its last step) with the seconds since the command started.
class LossPrinter {
public:
    LossPrinter(int every, std::function<double()> elapsed) : m_every(every), m_elapsed(std::move(elapsed)) {}
    // Starts a fresh window for the phase `what` of `total` steps.
    demo::TrainProgress phase(const char* what, int total);

private:
    int m_every;
    std::function<double()> m_elapsed;
    double m_window = 0;
    int m_count = 0;
};

int runTrain(const std::vector<std::string>& argv);
int runDistil(const std::vector<std::string>& argv);
int runProbe(const std::vector<std::string>& argv);
int runEval(std::vector<std::string> argv);

} // namespace specvla::cli::democli
