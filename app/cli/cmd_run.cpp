// SPDX-License-Identifier: MIT
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "cli/inputs.h"
#include "decode/action_tokenizer.h"
#include "decode/metrics.h"
#include "decode/spec_decoder.h"
#include "decode/trace_io.h"
#include "io/safetensors_writer.h"
#include "model/vla_model.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace specvla::cli {

std::string runUsage() {
    return std::string(
               "usage: specvla run --model DIR [--draft DIR] (--image PNG --instruction TEXT | --episode "
               "FILE\n"
               "                   [--demo-index N] [--steps A:B]) [--mode ar|strict|relaxed] [--margin R]\n"
               "                   [--json OUT] [--csv PREFIX] [options]\n"
               "\n"
               "Predicts 7-D actions and prints, per step, the 7 action token ids, their bins, the "
               "un-normalised action\n"
               "and, for speculative modes, the accepted run of every verify round.\n\n") +
           kModelOptionsHelp + kDecodeOptionsHelp + kInputOptionsHelp +
           "  --json OUT           every step's full trace (tree nodes, verdicts, timings) and the run's "
           "metrics\n"
           "  --csv PREFIX         PREFIX-actions.csv, PREFIX-rounds.csv, PREFIX-nodes.csv\n";
}

namespace {

void printStep(int step, const decode::ActionTrace& t, const data::Action* recorded) {
    std::printf("step %4d  tokens", step);
    for (int x : t.tokens)
        std::printf(" %d", x);
    std::printf("  bins");
    for (int b : t.bins)
        std::printf(" %d", b);
    std::printf("\n           action");
    for (double a : t.action)
        std::printf(" %+.4f", a);
    if (recorded) {
        std::printf("\n         recorded");
        for (double a : *recorded)
            std::printf(" %+.4f", a);
    }
    if (!t.rounds.empty()) {
        std::printf("\n           rounds");
        for (const auto& r : t.rounds)
            std::printf(" %d%s", r.acceptedDrafts, r.bonusCommitted ? "+1" : "");
        std::printf("  (accepted drafts + bonus; %d target passes)", t.targetPasses);
    }
    std::printf("\n           %.1f ms (vision %.1f, prefill %.1f, draft %.1f, verify %.1f, other %.1f)\n",
                t.ms.total(), t.ms.vision, t.ms.prefill, t.ms.draft, t.ms.verify, t.ms.other);
}

} // namespace

int runRun(const std::vector<std::string>& argv) {
    auto values = modelValueOptions();
    for (const auto& s : {decodeValueOptions(), inputValueOptions(), std::set<std::string>{"json", "csv"}})
        values.insert(s.begin(), s.end());
    auto flags = decodeFlags();
    for (const auto& f : inputFlags())
        flags.insert(f);
    const Args args(argv, values, flags);
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("model")) throw UsageError("--model DIR is required");
    const decode::DecodeSettings settings = decodeSettings(args);
    const bool speculative = settings.mode != decode::DecodeMode::Ar;
    if (speculative && !args.has("draft"))
        throw UsageError(std::string("--mode ") + decode::modeName(settings.mode) + " needs --draft DIR");
    // Inputs first: a bad episode should not cost a model load.
    const Inputs in = readInputs(args).front();
    const LoadedModels m = loadModels(args, speculative);
    std::printf("instruction: %s\nmode: %s", in.instruction.c_str(), decode::modeName(settings.mode));
    if (settings.mode == decode::DecodeMode::Relaxed) std::printf(" (margin %d)", settings.marginFor(1));
    std::printf("\n");

    std::vector<decode::ActionTrace> traces;
    std::vector<std::vector<double>> recorded;
    nlohmann::json steps = nlohmann::json::array();
    for (std::size_t i = 0; i < in.frames.size(); ++i) {
        decode::FrameContext frame =
            decode::prepareFrame(*m.target, m.draft.get(), in.frames[i], in.instruction, settings.tree);
        decode::ActionTrace t = decode::decodeFrame(*m.target, m.draft.get(), frame, settings);
        const int step = in.firstStep + static_cast<int>(i);
        printStep(step, t, in.isEpisode ? &in.recorded[i] : nullptr);
        nlohmann::json j = {{"step", step}, {"trace", decode::toJson(t)}};
        if (in.isEpisode) {
            std::vector<double> env = t.action; // LIBERO's convention: gripper -1 open, +1 close
            decode::liberoGripperPostprocess(env);
            j["env_action"] = env;
            j["recorded_action"] = in.recorded[i];
            recorded.emplace_back(in.recorded[i].begin(), in.recorded[i].end());
            // compare like with like: the recorded actions use the environment's gripper convention
            t.action = env;
        }
        steps.push_back(std::move(j));
        traces.push_back(std::move(t));
    }
    const decode::RunMetrics metrics = decode::aggregate(traces, nullptr, in.isEpisode ? &recorded : nullptr);
    std::printf(
        "%zu steps: acceptance length %.2f, %.2f target passes per action, median %.1f ms per action\n",
        traces.size(), metrics.acceptanceLength, metrics.passesPerAction, metrics.latency.medianMs);

    if (auto out = args.value("json")) {
        const nlohmann::json doc = {{"model", *args.value("model")},
                                    {"draft", args.value("draft").value_or("")},
                                    {"device", m.device},
                                    {"dtype", m.dtype},
                                    {"instruction", in.instruction},
                                    {"input", in.description},
                                    {"unnorm_key", m.target->normStats().key},
                                    {"preprocess",
                                     {{"flip180", in.preprocess.flip180},
                                      {"jpeg_round_trip", in.preprocess.jpegRoundTrip},
                                      {"center_crop", in.preprocess.centerCrop}}},
                                    {"settings", decode::toJson(settings)},
                                    {"steps", steps},
                                    {"metrics", decode::toJson(metrics)}};
        io::writeFileAtomically(*out, doc.dump(2) + "\n");
    }
    if (auto prefix = args.value("csv")) {
        io::writeFileAtomically(*prefix + "-actions.csv", decode::actionsCsv(traces, in.firstStep));
        io::writeFileAtomically(*prefix + "-rounds.csv", decode::roundsCsv(traces, in.firstStep));
        io::writeFileAtomically(*prefix + "-nodes.csv", decode::nodesCsv(traces, in.firstStep));
    }
    return 0;
}

} // namespace specvla::cli
