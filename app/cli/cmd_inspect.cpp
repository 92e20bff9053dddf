// SPDX-License-Identifier: MIT
#include "cli/args.h"
#include "cli/commands.h"
#include "io/inspect.h"
#include "io/safetensors_writer.h"

#include <cstdio>
#include <iostream>

namespace specvla::cli {

std::string inspectUsage() {
    return "usage: specvla inspect DIR_OR_FILE [--json] [--out FILE] [--verify-data]\n"
           "\n"
           "Lists every tensor of a safetensors checkpoint (name, dtype, shape, bytes, shard) with totals, "
           "and\n"
           "validates the files: header length, header JSON, dtypes, data offsets (range and overlap), byte "
           "counts\n"
           "against shape and dtype, and for sharded checkpoints the index (missing shards, missing "
           "tensors).\n"
           "Only headers are read, so a 15 GB checkpoint is checked in milliseconds.\n"
           "\n"
           "  DIR_OR_FILE     a checkpoint folder (model.safetensors.index.json or model.safetensors), an "
           "index\n"
           "                  .json file, or a .safetensors file\n"
           "  --json          print the report as JSON instead of a table\n"
           "  --out FILE      also write the JSON report to FILE (atomically)\n"
           "  --verify-data   read all tensor data and count NaN / infinite values (reads the whole "
           "checkpoint)\n"
           "\n"
           "Exit status: 0 when the checkpoint is valid, 1 when it is not (the error names file, tensor and "
           "problem).\n";
}

int runInspect(const std::vector<std::string>& argv) {
    const Args args(argv, {"out"}, {"json", "verify-data"});
    if (args.positionals().size() != 1) throw UsageError("inspect takes exactly one DIR_OR_FILE");
    io::InspectOptions options;
    options.verifyData = args.has("verify-data");
    const nlohmann::json report = io::inspectCheckpoint(args.positionals().front(), options);
    if (args.has("json"))
        std::cout << report.dump(2) << "\n";
    else
        std::cout << io::formatInspectReport(report);
    if (auto out = args.value("out")) io::writeFileAtomically(*out, report.dump(2) + "\n");
    const bool valid = report.value("valid", false);
    if (!valid)
        std::cerr << "specvla inspect: " << report.value("error", std::string("invalid checkpoint")) << "\n";
    return valid ? 0 : 1;
}

} // namespace specvla::cli
