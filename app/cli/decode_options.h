// SPDX-License-Identifier: MIT
#pragma once

// Command-line options shared by run, sweep and bench: model loading, decode settings, inputs.
#include "cli/args.h"
#include "decode/settings.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace specvla::model {
class VlaModel;
class DraftHead;
} // namespace specvla::model

namespace specvla::cli {

extern const char* const kModelOptionsHelp;
extern const char* const kDecodeOptionsHelp;

std::set<std::string> modelValueOptions(); // model, draft, device, dtype, unnorm-key
// mode, margin, margins, top-k, depth, total-tokens, path-choice, children
std::set<std::string> decodeValueOptions();
std::set<std::string> decodeFlags();       // relax-all-tokens, reference-positions
std::set<std::string> inputValueOptions(); // image, episode, demo-index, steps, instruction
std::set<std::string> inputFlags();        // libero-preprocess, no-libero-preprocess, flip, jpeg, center-crop

struct LoadedModels {
    std::shared_ptr<model::VlaModel> target;
    std::shared_ptr<model::DraftHead> draft; // null without --draft
    std::string device, dtype;
};
// needDraft: the command will decode speculatively. Logs the load to stderr.
LoadedModels loadModels(const Args& args, bool needDraft, bool requireTokenizer = true,
                        const char* defaultDtype = "bf16");

// perDimMargins false: --margins means something else to the command (sweep's margin range).
decode::DecodeSettings decodeSettings(const Args& args, bool perDimMargins = true);
int parseInt(const std::string& option, const std::string& value);
double parseDouble(const std::string& option, const std::string& value);

} // namespace specvla::cli
