// SPDX-License-Identifier: MIT
#include "cli/decode_options.h"

#include "common/error.h"
#include "model/draft_head.h"
#include "model/vla_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace specvla::cli {

const char* const kModelOptionsHelp =
    "  --model DIR          config.json, model.safetensors[.index.json] + shards, tokenizer.model,\n"
    "                       optionally dataset_statistics.json\n"
    "  --draft DIR          EAGLE / Spec-VLA draft head (config.json + model.safetensors or "
    "pytorch_model.bin)\n"
    "  --device cpu|cuda    default cpu;  --dtype bf16|fp32  default bf16\n"
    "  --unnorm-key KEY     dataset statistics key (an error lists the keys when it is ambiguous)\n";

const char* const kDecodeOptionsHelp =
    "  --mode ar|strict|relaxed   decoding mode (default relaxed with a draft, ar without)\n"
    "  --margin R           relaxed acceptance: a draft token passes when its bin is within R bins of the\n"
    "                       target's greedy bin (default 9, the released Spec-VLA script's value)\n"
    "  --margins r1,..,r7   one margin per action dimension instead of --margin\n"
    "  --relax-all-tokens   apply the margin to any token id, as the reference code does (default: only "
    "when\n"
    "                       both tokens are action tokens)\n"
    "  --top-k K --depth D --total-tokens N   draft tree shape (default 8, 4, 50 as the reference)\n"
    "  --path-choice fewest_relaxed|reference_order   tie rule between equally long accepted paths\n"
    "  --children bin_coverage|top_k   a tree node's children: in relaxed mode by the draft mass each\n"
    "                       newly covers within the margin (default), or the k most likely as the reference\n"
    "  --reference-positions   reproduce the reference's draft position ids for tree nodes\n";

std::set<std::string> modelValueOptions() {
    return {"model", "draft", "device", "dtype", "unnorm-key"};
}
std::set<std::string> decodeValueOptions() {
    return {"mode", "margin", "margins", "top-k", "depth", "total-tokens", "path-choice", "children"};
}
std::set<std::string> decodeFlags() {
    return {"relax-all-tokens", "reference-positions"};
}

int parseInt(const std::string& option, const std::string& value) {
    try {
        std::size_t used = 0;
        const int v = std::stoi(value, &used);
        if (used == value.size()) return v;
    } catch (const std::logic_error&) {
    }
    throw UsageError("--" + option + " expects an integer, got '" + value + "'");
}

double parseDouble(const std::string& option, const std::string& value) {
    try {
        std::size_t used = 0;
        const double v = std::stod(value, &used);
        if (used == value.size() && std::isfinite(v)) return v;
    } catch (const std::logic_error&) {
    }
    throw UsageError("--" + option + " expects a number, got '" + value + "'");
}

LoadedModels loadModels(const Args& args, bool needDraft, bool requireTokenizer, const char* defaultDtype) {
    const auto dir = args.value("model");
    if (!dir) throw UsageError("--model DIR is required");
    if (needDraft && !args.has("draft"))
        throw UsageError("speculative modes need --draft DIR (or use --mode ar)");
    model::LoadOptions lo;
    LoadedModels m;
    m.device = args.value("device").value_or("cpu");
    m.dtype = args.value("dtype").value_or(defaultDtype);
    lo.device = model::parseDevice(m.device);
    lo.dtype = model::parseDtype(m.dtype);
    lo.unnormKey = args.value("unnorm-key").value_or("");
    lo.requireTokenizer = requireTokenizer;
    model::LoadReport report;
    m.target = model::VlaModel::load(*dir, lo, &report);
    std::fprintf(stderr, "loaded %s: %zu tensors in %.2f s (%.1f MiB mapped, %.1f MiB converted)\n",
                 dir->c_str(), report.tensorsLoaded, report.seconds, report.mappedBytes / 1048576.0,
                 report.copiedBytes / 1048576.0);
    m.target->normStats(); // an ambiguous statistics key fails here, listing the keys
    if (auto d = args.value("draft")) {
        m.draft = model::DraftHead::load(*d, *m.target);
        std::fprintf(stderr, "loaded draft head %s\n", d->c_str());
    }
    return m;
}

decode::DecodeSettings decodeSettings(const Args& args, bool perDimMargins) {
    decode::DecodeSettings s;
    const std::string mode = args.value("mode").value_or(args.has("draft") ? "relaxed" : "ar");
    const auto parsed = decode::parseMode(mode);
    if (!parsed) throw UsageError("--mode expects ar, strict or relaxed, got '" + mode + "'");
    s.mode = *parsed;
    if (auto v = args.value("margin")) s.margin = parseInt("margin", *v);
    if (auto v = perDimMargins ? args.value("margins") : std::nullopt) {
        std::array<int, 7> m{};
        std::stringstream ss(*v);
        std::string part;
        int i = 0;
        while (std::getline(ss, part, ',')) {
            if (i >= 7) throw UsageError("--margins expects 7 comma-separated integers");
            m[i++] = parseInt("margins", part);
        }
        if (i != 7) throw UsageError("--margins expects 7 comma-separated integers");
        s.marginPerDim = m;
    }
    if (s.margin < 0 ||
        (s.marginPerDim && *std::min_element(s.marginPerDim->begin(), s.marginPerDim->end()) < 0))
        throw UsageError("margins must not be negative");
    if (auto v = args.value("top-k")) s.tree.topK = parseInt("top-k", *v);
    if (auto v = args.value("depth")) s.tree.depth = parseInt("depth", *v);
    if (auto v = args.value("total-tokens")) s.tree.totalTokens = parseInt("total-tokens", *v);
    if (s.tree.topK < 1 || s.tree.depth < 1 || s.tree.totalTokens < 2)
        throw UsageError("tree shape needs --top-k >= 1, --depth >= 1, --total-tokens >= 2");
    s.relaxOnlyActionTokens = !args.has("relax-all-tokens");
    s.referencePositionQuirk = args.has("reference-positions");
    if (auto v = args.value("path-choice")) {
        if (*v == "fewest_relaxed")
            s.pathChoice = decode::PathChoice::FewestRelaxed;
        else if (*v == "reference_order")
            s.pathChoice = decode::PathChoice::ReferenceOrder;
        else
            throw UsageError("--path-choice expects fewest_relaxed or reference_order");
    }
    if (auto v = args.value("children")) {
        const auto choice = decode::parseChildChoice(*v);
        if (!choice) throw UsageError("--children expects bin_coverage or top_k, got '" + *v + "'");
        s.children = *choice;
    }
    return s;
}

} // namespace specvla::cli
