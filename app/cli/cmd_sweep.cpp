// SPDX-License-Identifier: MIT
// specvla sweep: metrics against the margin over LIBERO episodes.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "cli/inputs.h"
#include "common/runtime.h"
#include "decode/metrics.h"
#include "decode/spec_decoder.h"
#include "decode/trace_io.h"
#include "io/safetensors_writer.h"
#include "model/vla_model.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace specvla::cli {

std::string sweepUsage() {
    return std::string("usage: specvla sweep --model DIR --draft DIR --episode FILE [MORE_EPISODES...] "
                       "[--steps A:B]\n"
                       "                     [--margins A:B | --margins r1,r2,...] [--csv OUT] [--json OUT] "
                       "[options]\n"
                       "\n"
                       "Decodes every frame with AR, strict and relaxed speculative decoding at each margin, "
                       "and writes one row\n"
                       "per margin: acceptance length, target passes per action, speedup over AR, deviation "
                       "from AR and from the\n"
                       "recorded action, exact and relaxed acceptances. Each frame's vision and prefill run "
                       "once: every margin\n"
                       "re-decodes the cached frame, and each mode's latency adds the frame's vision and "
                       "prefill time once.\n"
                       "  --margins A:B        inclusive margin range (default 0:16), or a comma-separated "
                       "list\n\n") +
           kModelOptionsHelp + kDecodeOptionsHelp + kInputOptionsHelp;
}

namespace {

std::vector<int> parseMarginList(const std::string& s) {
    std::vector<int> out;
    if (const auto colon = s.find(':'); colon != std::string::npos) {
        const int a = parseInt("margins", s.substr(0, colon)), b = parseInt("margins", s.substr(colon + 1));
        if (a < 0 || b < a) throw UsageError("--margins A:B needs 0 <= A <= B");
        for (int m = a; m <= b; ++m)
            out.push_back(m);
        return out;
    }
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ',')) {
        const int m = parseInt("margins", part);
        if (m < 0) throw UsageError("margins must not be negative");
        out.push_back(m);
    }
    if (out.empty()) throw UsageError("--margins needs at least one margin");
    return out;
}

Args parseArgs(const std::vector<std::string>& argv, std::set<std::string> extraValues) {
    auto values = modelValueOptions();
    for (const auto& s : {decodeValueOptions(), inputValueOptions(), extraValues})
        values.insert(s.begin(), s.end());
    auto flags = decodeFlags();
    for (const auto& f : inputFlags())
        flags.insert(f);
    return Args(argv, values, flags);
}

// Adds the frame's one-off vision and prefill time to a decode from the cached frame.
decode::ActionTrace withPrepare(decode::ActionTrace t, const decode::FrameContext& f) {
    t.ms.vision = f.prepareMs.vision;
    t.ms.prefill = f.prepareMs.prefill;
    return t;
}

nlohmann::json modeJson(const decode::RunMetrics& m) {
    return decode::toJson(m);
}

} // namespace

int runSweep(const std::vector<std::string>& argv) {
    const Args args = parseArgs(argv, {"json", "csv"});
    const std::vector<int> margins = parseMarginList(args.value("margins").value_or("0:16"));
    if (!args.has("draft")) throw UsageError("sweep needs --draft DIR");
    decode::DecodeSettings base = decodeSettings(args, /*perDimMargins=*/false);
    const auto inputs = readInputs(args, args.positionals());
    const LoadedModels m = loadModels(args, true);

    std::vector<decode::ActionTrace> ar, strict;
    std::vector<std::vector<decode::ActionTrace>> relaxed(margins.size());
    std::vector<std::vector<double>> recorded;
    bool allRecorded = true;
    std::size_t frames = 0;
    for (const auto& in : inputs) {
        allRecorded = allRecorded && in.isEpisode;
        for (std::size_t i = 0; i < in.frames.size(); ++i, ++frames) {
            decode::FrameContext f =
                decode::prepareFrame(*m.target, m.draft.get(), in.frames[i], in.instruction, base.tree);
            decode::DecodeSettings s = base;
            s.mode = decode::DecodeMode::Ar;
            ar.push_back(withPrepare(decode::decodeFrame(*m.target, m.draft.get(), f, s), f));
            s.mode = decode::DecodeMode::Strict;
            strict.push_back(withPrepare(decode::decodeFrame(*m.target, m.draft.get(), f, s), f));
            s.mode = decode::DecodeMode::Relaxed;
            s.marginPerDim.reset();
            for (std::size_t k = 0; k < margins.size(); ++k) {
                s.margin = margins[k];
                relaxed[k].push_back(withPrepare(decode::decodeFrame(*m.target, m.draft.get(), f, s), f));
            }
            if (in.isEpisode) {
                std::vector<double> a(in.recorded[i].begin(), in.recorded[i].end());
                recorded.push_back(a);
            }
            std::fprintf(stderr, "\rframe %zu decoded", frames + 1);
        }
    }
    std::fprintf(stderr, "\n");
    // The recorded actions follow LIBERO's gripper convention; compare the environment action.
    auto envActions = [&](std::vector<decode::ActionTrace> traces) {
        for (auto& t : traces)
            decode::liberoGripperPostprocess(t.action);
        return traces;
    };
    const auto* rec = allRecorded ? &recorded : nullptr;
    const decode::RunMetrics arM = decode::aggregate(allRecorded ? envActions(ar) : ar, nullptr, rec);
    const decode::RunMetrics strictM = decode::aggregate(allRecorded ? envActions(strict) : strict, &ar, rec);

    std::string csv =
        "margin,acceptance_length,passes_per_action,speedup,mean_abs_dev_from_ar,mean_bin_dev_from_ar,"
        "exact_match_with_ar,mean_abs_dev_from_recorded,exact_per_action,relaxed_per_action,median_ms\n";
    nlohmann::json rows = nlohmann::json::array();
    std::printf("%6s %8s %8s %8s %10s %10s %8s\n", "margin", "accept", "passes", "speedup", "dev_ar",
                "bins_ar", "same_ar");
    for (std::size_t k = 0; k < margins.size(); ++k) {
        const decode::RunMetrics r =
            decode::aggregate(allRecorded ? envActions(relaxed[k]) : relaxed[k], &ar, rec);
        const double sp = decode::speedup(arM, r);
        std::printf("%6d %8.3f %8.3f %8.3f %10.4f %10.3f %8.3f\n", margins[k], r.acceptanceLength,
                    r.passesPerAction, sp, r.meanAbsDevFromAr, r.meanBinDevFromAr, r.exactMatchWithAr);
        csv += std::to_string(margins[k]) + "," + decode::formatNumber(r.acceptanceLength) + "," +
               decode::formatNumber(r.passesPerAction) + "," + decode::formatNumber(sp) + "," +
               decode::formatNumber(r.meanAbsDevFromAr) + "," + decode::formatNumber(r.meanBinDevFromAr) +
               "," + decode::formatNumber(r.exactMatchWithAr) + "," +
               (r.hasRecorded ? decode::formatNumber(r.meanAbsDevFromRecorded) : std::string()) + "," +
               decode::formatNumber(r.exactPerAction) + "," + decode::formatNumber(r.relaxedPerAction) + "," +
               decode::formatNumber(r.latency.medianMs) + "\n";
        nlohmann::json row = modeJson(r);
        row["margin"] = margins[k];
        row["speedup"] = sp;
        rows.push_back(std::move(row));
    }
    std::printf("strict: acceptance length %.3f, %.3f passes per action, speedup %.3f\n",
                strictM.acceptanceLength, strictM.passesPerAction, decode::speedup(arM, strictM));
    if (auto out = args.value("csv")) io::writeFileAtomically(*out, csv);
    if (auto out = args.value("json")) {
        nlohmann::json doc = {{"model", *args.value("model")},
                              {"draft", *args.value("draft")},
                              {"frames", frames},
                              {"settings", decode::toJson(base)},
                              {"ar", modeJson(arM)},
                              {"strict", modeJson(strictM)},
                              {"strict_speedup", decode::speedup(arM, strictM)},
                              {"relaxed", rows}};
        io::writeFileAtomically(*out, doc.dump(2) + "\n");
    }
    return 0;
}

} // namespace specvla::cli
