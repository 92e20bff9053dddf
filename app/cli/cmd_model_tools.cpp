// SPDX-License-Identifier: MIT
// Commands that make and measure checkpoints: make-geometry and bench-load.
#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "decode/spec_decoder.h"
#include "io/inspect.h"
#include "io/safetensors_writer.h"
#include "model/geometry.h"
#include "model/vla_model.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace specvla::cli {

std::string makeGeometryUsage() {
    return "usage: specvla make-geometry --out DIR [--dtype bf16|fp32] [--shard-gb N] [--draft-only]\n"
           "                             [--no-tokenizer]\n"
           "\n"
           "Writes a checkpoint folder with the full OpenVLA-7B geometry (every tensor of the Hugging Face\n"
           "layout, real header and index, shards of at most N GB, default 7) whose data are file-system "
           "holes:\n"
           "about 15 GB of apparent size and almost no disk. `specvla inspect DIR` and the loader read only\n"
           "headers; `specvla bench-load --model DIR --action` times one AR action on the real sizes "
           "(weights\n"
           "read as zeros).\n"
           "  --draft-only     write the Spec-VLA draft head of that geometry instead\n"
           "  --no-tokenizer   skip the small self-trained tokenizer.model (prompts then need --synthetic)\n";
}

std::string benchLoadUsage() {
    return "usage: specvla bench-load --model DIR [--dtype bf16|fp32] [--device cpu|cuda] [--action] "
           "[--unnorm-key K] [--json "
           "OUT]\n"
           "\n"
           "Loads a model and reports resident memory (VmRSS, split into file-backed and anonymous pages) "
           "before\n"
           "and after the load, and after one AR action on a synthetic image with --action; plus load and "
           "action\n"
           "times. A checkpoint whose dtype matches is mapped, not copied: anonymous memory stays small.\n";
}

namespace {

struct Memory {
    double rssMiB = 0, fileMiB = 0, anonMiB = 0;
};

Memory readMemory() {
    std::ifstream in("/proc/self/status");
    Memory m;
    std::string key;
    double kb;
    while (in >> key) {
        if (key == "VmRSS:" && in >> kb)
            m.rssMiB = kb / 1024.0;
        else if (key == "RssFile:" && in >> kb)
            m.fileMiB = kb / 1024.0;
        else if (key == "RssAnon:" && in >> kb)
            m.anonMiB = kb / 1024.0;
    }
    return m;
}

nlohmann::json toJson(const Memory& m) {
    return {{"rss_mib", m.rssMiB}, {"rss_file_mib", m.fileMiB}, {"rss_anon_mib", m.anonMiB}};
}

} // namespace

int runMakeGeometry(const std::vector<std::string>& argv) {
    const Args args(argv, {"out", "dtype", "shard-gb"}, {"draft-only", "no-tokenizer"});
    const auto out = args.value("out");
    if (!out) throw UsageError("--out DIR is required");
    const std::string dt = args.value("dtype").value_or("bf16");
    if (dt != "bf16" && dt != "fp32") throw UsageError("--dtype expects bf16 or fp32");
    const io::DType dtype = dt == "bf16" ? io::DType::BF16 : io::DType::F32;
    double shardGb = 7;
    if (auto s = args.value("shard-gb")) {
        try {
            shardGb = std::stod(*s);
        } catch (const std::logic_error&) {
            throw UsageError("--shard-gb expects a number");
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    const model::VlaConfig target = model::VlaConfig::openvla7b();
    std::uint64_t bytes = 0;
    if (args.has("draft-only")) {
        bytes = model::writeDraftGeometry(*out, model::DraftConfig{}, target.text.vocabSize, dtype);
    } else {
        // The tokenizer needs the SentencePiece plug-in, which the engine-only build does not have.
        const bool tokenizer = !args.has("no-tokenizer") && !SPECVLA_ENGINE_ONLY;
        bytes = model::writeGeometryCheckpoint(*out, target, dtype, static_cast<std::uint64_t>(shardGb * 1e9),
                                               tokenizer);
        if (!tokenizer) std::printf("no tokenizer.model written: benchmark it with --synthetic prompts\n");
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: OpenVLA-7B %s geometry, %s of tensor data as holes, in %.2f s\n", out->c_str(),
                args.has("draft-only") ? "draft head" : "model", io::humanBytes(bytes).c_str(), s);
    return 0;
}

int runBenchLoad(const std::vector<std::string>& argv) {
    const Args args(argv, {"model", "dtype", "device", "json", "unnorm-key"}, {"action"});
    const auto dir = args.value("model");
    if (!dir) throw UsageError("--model DIR is required");
    model::LoadOptions lo;
    lo.dtype = model::parseDtype(args.value("dtype").value_or("bf16"));
    lo.device = model::parseDevice(args.value("device").value_or("cpu"));
    lo.requireTokenizer = false; // a geometry checkpoint of the engine-only build has none
    lo.unnormKey = args.value("unnorm-key").value_or("");

    const Memory before = readMemory();
    model::LoadReport report;
    const auto m = model::VlaModel::load(*dir, lo, &report);
    const Memory afterLoad = readMemory();
    nlohmann::json j = {{"model", *dir},
                        {"dtype", args.value("dtype").value_or("bf16")},
                        {"checkpoint_mib", report.checkpointBytes / 1048576.0},
                        {"mapped_mib", report.mappedBytes / 1048576.0},
                        {"copied_mib", report.copiedBytes / 1048576.0},
                        {"tensors_loaded", report.tensorsLoaded},
                        {"unused_keys", report.unusedKeys.size()},
                        {"load_seconds", report.seconds},
                        {"memory_before", toJson(before)},
                        {"memory_after_load", toJson(afterLoad)}};
    std::printf("checkpoint %.1f MiB: %.1f MiB mapped, %.1f MiB converted; load %.2f s\n",
                report.checkpointBytes / 1048576.0, report.mappedBytes / 1048576.0,
                report.copiedBytes / 1048576.0, report.seconds);
    std::printf("RSS before load %.1f MiB, after load %.1f MiB (file %.1f, anon %.1f)\n", before.rssMiB,
                afterLoad.rssMiB, afterLoad.fileMiB, afterLoad.anonMiB);
    if (args.has("action")) {
        const int size = m->featurizerConfig().imageSize;
        vision::RgbImage img = vision::RgbImage::blank(size, size);
        for (std::size_t i = 0; i < img.pixels.size(); ++i)
            img.pixels[i] = static_cast<std::uint8_t>(i * 37 % 251);
        // [BOS] + a 20-token instruction + the space token, the length of a typical OpenVLA prompt
        std::vector<int> prompt = {1};
        const int base = m->actionTokenizer().firstActionToken();
        for (int i = 0; i < 20; ++i)
            prompt.push_back(3 + (300 + 97 * i) % (base - 3));
        prompt.push_back(29871 < base ? 29871 : base - 1);
        decode::FrameContext frame = m->tokenizer().isLoaded()
                                         ? decode::prepareFrame(*m, nullptr, img, "put the bowl on the plate")
                                         : decode::prepareFrame(*m, nullptr, img, prompt);
        decode::DecodeSettings s;
        s.mode = decode::DecodeMode::Ar;
        const auto r = decode::decodeFrame(*m, nullptr, frame, s);
        const Memory afterAction = readMemory();
        j["memory_after_action"] = toJson(afterAction);
        j["action_ms"] = {{"total", r.ms.total()},
                          {"vision", r.ms.vision},
                          {"prefill", r.ms.prefill},
                          {"decode", r.ms.verify + r.ms.other}};
        j["action_tokens"] = r.tokens;
        std::printf("one AR action: %.1f ms (vision %.1f, prefill %.1f, 6 decode steps %.1f)\n", r.ms.total(),
                    r.ms.vision, r.ms.prefill, r.ms.verify + r.ms.other);
        std::printf("RSS after action %.1f MiB (file %.1f, anon %.1f); anonymous memory added since before "
                    "the load: %.1f MiB\n",
                    afterAction.rssMiB, afterAction.fileMiB, afterAction.anonMiB,
                    afterAction.anonMiB - before.anonMiB);
    }
    if (auto out = args.value("json")) io::writeFileAtomically(*out, j.dump(2) + "\n");
    return 0;
}

} // namespace specvla::cli
