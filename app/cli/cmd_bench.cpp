// SPDX-License-Identifier: MIT
// specvla bench: AR, strict and relaxed decoding timed in one run.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "common/runtime.h"
#include "decode/metrics.h"
#include "decode/spec_decoder.h"
#include "decode/trace_io.h"
#include "io/safetensors_writer.h"
#include "model/vla_model.h"
#if !SPECVLA_ENGINE_ONLY
#include "cli/inputs.h"
#endif

#include <nlohmann/json.hpp>

#include <cstdio>
#include <random>

namespace specvla::cli {

std::string benchUsage() {
    std::string u =
        std::string(
            "usage: specvla bench --model DIR --draft DIR (--synthetic N | --image PNG --instruction TEXT |\n"
            "                     --episode FILE [--steps A:B]) [--repeats N] [--warmup N] [--margin R]\n"
            "                     [--json OUT] [options]\n"
            "\n"
            "Times one action per frame in AR, strict and relaxed mode, in one run, interleaving the modes "
            "per\n"
            "frame. Every timed action starts from the image (vision, prefill and decoding all count). "
            "Reports\n"
            "median and p90 ms per action and per stage, acceptance length, target passes per action, and "
            "speedups\n"
            "against AR measured in the same run. Stage times use CUDA events on CUDA and a synchronised "
            "steady\n"
            "clock elsewhere.\n"
            "  --repeats N          timed repetitions per frame and mode (default 3)\n"
            "  --warmup N           untimed actions per mode first (default 1)\n"
            "  --synthetic N        N random images with random prompt token ids (no tokenizer or codecs "
            "needed;\n"
            "                       the only input of the engine-only build)\n"
            "  --ceiling            also time a fourth mode, `ceiling`: the same tree with every drafted "
            "token\n"
            "                       accepted (relaxed over any token id with an unbounded margin), the "
            "fastest\n"
            "                       any draft could make speculative decoding with this tree on this "
            "machine;\n"
            "                       its actions are not the policy's\n\n") +
        kModelOptionsHelp + kDecodeOptionsHelp;
#if !SPECVLA_ENGINE_ONLY
    u += kInputOptionsHelp;
#endif
    return u;
}

namespace {

// The frames of a benchmark: images with a prompt given as text or as token ids.
struct BenchFrames {
    std::vector<vision::RgbImage> images;
    std::string instruction;
    std::vector<std::vector<int>> promptIds; // synthetic prompts, one per frame
    std::string description;
};

BenchFrames syntheticFrames(const model::VlaModel& m, int n) {
    BenchFrames b;
    std::mt19937 rng(2024);
    const int size = m.featurizerConfig().imageSize;
    const int base = m.actionTokenizer().firstActionToken();
    for (int i = 0; i < n; ++i) {
        vision::RgbImage img = vision::RgbImage::blank(size, size);
        for (auto& p : img.pixels)
            p = static_cast<std::uint8_t>(rng() % 256);
        b.images.push_back(std::move(img));
        // [BOS] + 20 text-like ids + the space token: the length of a typical OpenVLA instruction prompt
        std::vector<int> ids = {1};
        for (int k = 0; k < 20; ++k)
            ids.push_back(3 + static_cast<int>(rng() % static_cast<unsigned>(base - 3)));
        ids.push_back(29871 < base ? 29871 : base - 1);
        b.promptIds.push_back(std::move(ids));
    }
    b.description = std::to_string(n) + " synthetic frames";
    return b;
}

} // namespace

int runBench(const std::vector<std::string>& argv) {
    auto values = modelValueOptions();
    for (const auto& s : decodeValueOptions())
        values.insert(s);
    for (const char* v : {"json", "repeats", "warmup", "synthetic"})
        values.insert(v);
    auto flags = decodeFlags();
    flags.insert("ceiling");
#if !SPECVLA_ENGINE_ONLY
    for (const auto& s : inputValueOptions())
        values.insert(s);
    for (const auto& f : inputFlags())
        flags.insert(f);
#endif
    const Args args(argv, values, flags);
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("draft"))
        throw UsageError("bench needs --draft DIR (it compares AR with speculative decoding)");
    const int repeats = args.value("repeats") ? parseInt("repeats", *args.value("repeats")) : 3;
    const int warmup = args.value("warmup") ? parseInt("warmup", *args.value("warmup")) : 1;
    if (repeats < 1 || warmup < 0) throw UsageError("--repeats must be >= 1 and --warmup >= 0");
    decode::DecodeSettings relaxedSettings = decodeSettings(args);
    relaxedSettings.mode = decode::DecodeMode::Relaxed;
    decode::DecodeSettings strictSettings = relaxedSettings, arSettings = relaxedSettings;
    strictSettings.mode = decode::DecodeMode::Strict;
    arSettings.mode = decode::DecodeMode::Ar;
    // Every draft accepted: any token id is within this margin of any other. Children by bin coverage then
    // make the tree as deep as its shape allows (the first child of a node covers all of its mass), so the
    // ceiling is the tree shape's, whatever the draft believes.
    decode::DecodeSettings ceilingSettings = relaxedSettings;
    ceilingSettings.margin = 1 << 20;
    ceilingSettings.marginPerDim.reset();
    ceilingSettings.relaxOnlyActionTokens = false;
    ceilingSettings.children = decode::ChildChoice::BinCoverage;
    const bool ceiling = args.has("ceiling");
    const int synthetic = args.value("synthetic") ? parseInt("synthetic", *args.value("synthetic")) : 0;
    if (synthetic < 0) throw UsageError("--synthetic N needs N >= 1");
    BenchFrames in;
#if !SPECVLA_ENGINE_ONLY
    if (synthetic == 0) {
        const Inputs read = readInputs(args).front();
        in.images = read.frames;
        in.instruction = read.instruction;
        in.description = read.description;
    }
#else
    if (synthetic == 0) throw UsageError("this engine-only build benchmarks --synthetic N frames only");
#endif
    const LoadedModels m = loadModels(args, true, /*requireTokenizer=*/synthetic == 0);
    if (synthetic > 0) in = syntheticFrames(*m.target, synthetic);
    const std::size_t frameCount = in.images.size();

    std::vector<const decode::DecodeSettings*> modes = {&arSettings, &strictSettings, &relaxedSettings};
    if (ceiling) modes.push_back(&ceilingSettings);
    const std::size_t modeCount = modes.size();
    // Each action from the pixels on, as a deployed policy would run it: AR is plain OpenVLA, so it neither
    // loads nor prefills the draft head (the draft's prompt pass is part of the speculative modes' cost).
    auto once = [&](const decode::DecodeSettings& s, std::size_t frame) {
        const model::DraftHead* draft = s.mode == decode::DecodeMode::Ar ? nullptr : m.draft.get();
        decode::FrameContext f;
        if (in.promptIds.empty())
            f = decode::prepareFrame(*m.target, draft, in.images[frame], in.instruction, s.tree);
        else
            f = decode::prepareFrame(*m.target, draft, in.images[frame], in.promptIds[frame], s.tree);
        return decode::decodeFrame(*m.target, draft, f, s);
    };
    for (int w = 0; w < warmup; ++w)
        for (const auto* s : modes)
            once(*s, static_cast<std::size_t>(w) % frameCount);
    std::vector<std::vector<decode::ActionTrace>> traces(modeCount);
    for (std::size_t i = 0; i < frameCount; ++i)
        for (int r = 0; r < repeats; ++r)
            for (std::size_t k = 0; k < modeCount; ++k)
                traces[k].push_back(once(*modes[k], i));
    std::vector<decode::RunMetrics> ms;
    for (std::size_t k = 0; k < modeCount; ++k)
        ms.push_back(decode::aggregate(traces[k], k == 0 ? nullptr : &traces[0]));
    const decode::RunMetrics& arM = ms[0];
    const char* names[] = {"ar", "strict", "relaxed", "ceiling"};
    std::printf("%zu frames x %d repeats on %s (%d threads), dtype %s, margin %d, tree %d/%d/%d\n",
                frameCount, repeats, m.device.c_str(), torchThreads(), m.dtype.c_str(),
                relaxedSettings.margin, relaxedSettings.tree.topK, relaxedSettings.tree.depth,
                relaxedSettings.tree.totalTokens);
    std::printf("%-8s %9s %9s %8s %8s %8s %8s %8s %8s %8s\n", "mode", "p50 ms", "p90 ms", "vision", "prefill",
                "draft", "verify", "accept", "passes", "speedup");
    nlohmann::json doc = {{"model", *args.value("model")},
                          {"draft", *args.value("draft")},
                          {"device", m.device},
                          {"dtype", m.dtype},
                          {"threads", torchThreads()},
                          {"frames", frameCount},
                          {"repeats", repeats},
                          {"warmup", warmup},
                          {"settings", decode::toJson(relaxedSettings)}};
    for (std::size_t k = 0; k < modeCount; ++k) {
        const auto& r = ms[k];
        const double sp = decode::speedup(arM, r);
        std::printf("%-8s %9.2f %9.2f %8.2f %8.2f %8.2f %8.2f %8.3f %8.3f %8.3f\n", names[k],
                    r.latency.medianMs, r.latency.p90Ms, r.latency.medianStages.vision,
                    r.latency.medianStages.prefill, r.latency.medianStages.draft,
                    r.latency.medianStages.verify, r.acceptanceLength, r.passesPerAction, sp);
        nlohmann::json j = decode::toJson(r);
        j["speedup_vs_ar"] = sp;
        doc[names[k]] = j;
    }
    if (auto out = args.value("json")) io::writeFileAtomically(*out, doc.dump(2) + "\n");
    return 0;
}

} // namespace specvla::cli
