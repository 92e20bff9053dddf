// SPDX-License-Identifier: MIT
// specvla gpu-test: the engine's correctness checks on a device, with no files and no Qt, so that a CUDA
// build of the engine alone can check itself (scripts/gpu-check). Runs on the CPU too.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "common/runtime.h"
#include "decode/metrics.h"
#include "decode/spec_decoder.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace specvla::cli {

std::string gpuTestUsage() {
    return "usage: specvla gpu-test [--device cuda|cpu] [--dtype fp32|bf16] [--frames N]\n"
           "\n"
           "Builds small random OpenVLA-architecture models and a draft head in memory and checks on the "
           "device:\n"
           "  1. prefill logits agree with the same model on the CPU in fp32;\n"
           "  2. incremental decoding with the KV cache equals a full recompute;\n"
           "  3. strict and margin-0 relaxed speculative decoding return exactly the AR tokens (several "
           "tree\n"
           "     shapes, correct and reference draft positions);\n"
           "  4. with a huge margin (long accepted runs) every accepted node's target token equals a\n"
           "     recomputation without cache.\n"
           "Prints one line per check and exits 1 when any fails.\n";
}

namespace {

model::VlaConfig smallConfig(int kvHeads) {
    model::VlaConfig c;
    c.timmModelIds = {"small_a", "small_b"};
    for (model::VitConfig* v : {&c.featurizer, &c.fusedFeaturizer}) {
        v->imageSize = 56;
        v->patchSize = 14;
        v->numHeads = 4;
        v->numLayers = 3;
        v->featureLayer = 1;
    }
    c.featurizer.hiddenSize = 64;
    c.featurizer.mlpSize = 128;
    c.fusedFeaturizer.hiddenSize = 48;
    c.fusedFeaturizer.mlpSize = 96;
    c.fusedFeaturizer.numRegisters = 0;
    c.fusedFeaturizer.classToken = false;
    c.fusedFeaturizer.layerScale = false;
    c.text.vocabSize = 1064;
    c.text.hiddenSize = 128;
    c.text.intermediateSize = 256;
    c.text.numLayers = 3;
    c.text.numHeads = 8;
    c.text.numKvHeads = kvHeads;
    c.padTokenId = 1000;
    c.normStats = {
        {"synthetic",
         {{"action", {{"q01", std::vector<double>(7, -1.0)}, {"q99", std::vector<double>(7, 1.0)}}}}}};
    return c;
}

// Random weights placed on the device in the dtype.
class DeviceWeights : public model::WeightSource {
public:
    DeviceWeights(std::uint64_t seed, double std, c10::Device d, c10::ScalarType t)
        : m_random(seed, std), m_device(d), m_dtype(t) {}
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override {
        m_requested.insert(name);
        return m_random.get(name, shape).to(m_device, m_dtype);
    }
    std::string describe() const override { return m_random.describe(); }

private:
    model::RandomWeights m_random;
    c10::Device m_device;
    c10::ScalarType m_dtype;
};

struct Models {
    std::shared_ptr<model::VlaModel> target;
    std::shared_ptr<model::DraftHead> draft;
};

Models makeModels(std::uint64_t seed, int kvHeads, c10::Device d, c10::ScalarType t) {
    const model::VlaConfig c = smallConfig(kvHeads);
    DeviceWeights w(seed, 0.06, d, t);
    Models m;
    m.target = model::VlaModel::create(c, w, text::Tokenizer());
    const model::DraftConfig dc = model::DraftConfig::forTarget(c.text);
    DeviceWeights dw(seed + 1000, 0.06, d, t);
    m.draft = model::DraftHead::create(dc, dw, *m.target);
    return m;
}

vision::RgbImage randomImage(int size, std::mt19937& rng) {
    vision::RgbImage img = vision::RgbImage::blank(size, size);
    for (auto& p : img.pixels)
        p = static_cast<std::uint8_t>(rng() % 256);
    return img;
}

std::vector<int> randomPrompt(std::mt19937& rng) {
    std::vector<int> ids = {1};
    for (int i = 0; i < 12; ++i)
        ids.push_back(3 + static_cast<int>(rng() % 700));
    ids.push_back(29871 % 1000);
    return ids;
}

decode::DecodeSettings settings(decode::DecodeMode mode, int margin, decode::TreeShape tree) {
    decode::DecodeSettings s;
    s.mode = mode;
    s.margin = margin;
    s.tree = tree;
    return s;
}

bool report(bool ok, const std::string& what) {
    std::printf("%s  %s\n", ok ? "PASS" : "FAIL", what.c_str());
    return ok;
}

} // namespace

int runGpuTest(const std::vector<std::string>& argv) {
    const Args args(argv, {"device", "dtype", "frames"}, {});
    const std::string deviceName = args.value("device").value_or(cudaAvailable() ? "cuda" : "cpu");
    const c10::Device device = model::parseDevice(deviceName);
    const c10::ScalarType dtype = model::parseDtype(args.value("dtype").value_or("fp32"));
    const int frames = args.value("frames") ? parseInt("frames", *args.value("frames")) : 4;
    const bool fp32 = dtype == at::kFloat;
    std::printf("gpu-test on %s (%s), libtorch %s, %d CPU threads\n", device.str().c_str(),
                fp32 ? "fp32" : "bf16", torchVersion().c_str(), torchThreads());
    bool all = true;
    std::mt19937 rng(1234);

    for (int variant = 0; variant < 2; ++variant) {
        const int kvHeads = variant == 0 ? 8 : 2;
        const std::string tag = variant == 0 ? "full heads" : "grouped heads";
        const Models dev = makeModels(77 + variant, kvHeads, device, dtype);
        const Models cpu = makeModels(77 + variant, kvHeads, at::kCPU, at::kFloat);
        c10::InferenceMode guard;

        // 1. device against the CPU fp32 reference
        const auto img = randomImage(56, rng);
        const auto prompt = randomPrompt(rng);
        decode::FrameContext fd = decode::prepareFrame(*dev.target, dev.draft.get(), img, prompt);
        decode::FrameContext fc = decode::prepareFrame(*cpu.target, cpu.draft.get(), img, prompt);
        {
            const auto& a = cpu.target->featurizerConfig();
            const auto& b = cpu.target->fusedFeaturizerConfig();
            const at::Tensor pixels = vision::pixelValues(img, a.mean, a.std, b.mean, b.std, a.imageSize);
            auto embeds = [&](const model::VlaModel& m) {
                return m.multimodalEmbeds(m.encodeImage(pixels), prompt);
            };
            const at::Tensor ed = embeds(*dev.target), ec = embeds(*cpu.target);
            const auto L = ec.size(1);
            const at::Tensor ld =
                dev.target->llm()
                    .forward(ed, at::arange(L, at::TensorOptions().dtype(at::kLong).device(device)), nullptr)
                    .logits.cpu();
            const at::Tensor lc = cpu.target->llm().forward(ec, at::arange(L, at::kLong), nullptr).logits;
            const double diff = (ld - lc).abs().max().item<double>(), scale = lc.abs().max().item<double>();
            const double tol = fp32 ? 1e-3 : 5e-2;
            all &= report(diff <= tol * std::max(1.0, scale),
                          tag + ": prefill logits on " + device.str() + " vs CPU fp32: max diff " +
                              std::to_string(diff) + " (scale " + std::to_string(scale) + ", tolerance " +
                              std::to_string(tol) + " x scale)");
        }
        // 2. KV cache against full recompute, on the device
        {
            const auto& llm = dev.target->llm();
            const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
            at::manual_seed(5);
            const at::Tensor ids = at::randint(3, 900, {1, 20}, at::kLong).to(device);
            const at::Tensor emb = llm.embed(ids);
            const at::Tensor full = llm.forward(emb, at::arange(20, opts), nullptr).logits;
            auto cache = llm.makeCache(32);
            at::Tensor inc = llm.forward(emb.narrow(1, 0, 14), at::arange(14, opts), &cache).logits;
            for (int i = 14; i < 20; ++i)
                inc = at::cat({inc, llm.forward(emb.narrow(1, i, 1), at::full({1}, i, opts), &cache).logits},
                              1);
            const double diff = (inc - full).abs().max().item<double>();
            const double tol = fp32 ? 1e-3 : 0.25;
            all &= report(diff <= tol,
                          tag + ": KV-cached decoding vs full recompute: max diff " + std::to_string(diff));
        }
        // 3. lossless at margin 0
        {
            int mismatches = 0, decodes = 0, accepted = 0;
            const decode::TreeShape shapes[] = {{8, 4, 50}, {2, 3, 8}, {4, 5, 24}};
            for (int k = 0; k < frames; ++k) {
                decode::FrameContext f = decode::prepareFrame(
                    *dev.target, dev.draft.get(), randomImage(56, rng), randomPrompt(rng), {8, 5, 50});
                const auto ar = decode::decodeFrame(*dev.target, dev.draft.get(), f,
                                                    settings(decode::DecodeMode::Ar, 0, {}));
                for (const auto& shape : shapes)
                    for (auto mode : {decode::DecodeMode::Strict, decode::DecodeMode::Relaxed}) {
                        auto s = settings(mode, 0, shape);
                        s.referencePositionQuirk = (k % 2) == 1;
                        const auto t = decode::decodeFrame(*dev.target, dev.draft.get(), f, s);
                        mismatches += t.tokens != ar.tokens;
                        ++decodes;
                        for (const auto& r : t.rounds)
                            accepted += r.acceptedDrafts;
                    }
            }
            all &= report(mismatches == 0,
                          tag + ": margin 0 returns the AR tokens: " + std::to_string(decodes - mismatches) +
                              "/" + std::to_string(decodes) + " decodes (" + std::to_string(accepted) +
                              " draft tokens accepted)");
        }
        // 4. long accepted runs against recomputation
        {
            int checked = 0, wrong = 0, longest = 0;
            for (int k = 0; k < frames; ++k) {
                const auto image = randomImage(56, rng);
                const auto p = randomPrompt(rng);
                decode::FrameContext f =
                    decode::prepareFrame(*dev.target, dev.draft.get(), image, p, {2, 5, 12});
                auto s = settings(decode::DecodeMode::Relaxed, 1 << 20,
                                  k % 2 ? decode::TreeShape{1, 2, 3} : decode::TreeShape{1, 5, 7});
                s.relaxOnlyActionTokens = false;
                const auto t = decode::decodeFrame(*dev.target, dev.draft.get(), f, s);
                const auto& a = dev.target->featurizerConfig();
                const auto& b = dev.target->fusedFeaturizerConfig();
                const at::Tensor prompt =
                    dev.target->multimodalEmbeds(dev.target->encodeImage(vision::pixelValues(
                                                     image, a.mean, a.std, b.mean, b.std, a.imageSize)),
                                                 p);
                for (const auto& r : t.rounds) {
                    longest = std::max(longest, r.acceptedDrafts);
                    for (std::size_t j = 0; j < r.acceptedPath.size(); ++j) {
                        std::vector<std::int64_t> ids(t.tokens.begin(),
                                                      t.tokens.begin() + r.committedBefore + j + 1);
                        const at::Tensor seq = at::cat(
                            {prompt, dev.target->llm().embed(at::tensor(ids).to(device).unsqueeze(0))}, 1);
                        const auto out = dev.target->llm().forward(
                            seq, at::arange(seq.size(1), at::TensorOptions().dtype(at::kLong).device(device)),
                            nullptr);
                        wrong += static_cast<int>(out.logits[0][-1].argmax().item<std::int64_t>()) !=
                                 r.nodes[r.acceptedPath[j]].targetToken;
                        ++checked;
                    }
                }
            }
            all &= report(wrong == 0 && longest >= 2,
                          tag + ": accepted nodes' target tokens equal recomputation: " +
                              std::to_string(checked - wrong) + "/" + std::to_string(checked) +
                              " (longest accepted run " + std::to_string(longest) + ")");
        }
    }
    std::printf("%s\n", all ? "all checks passed" : "SOME CHECKS FAILED");
    return all ? 0 : 1;
}

} // namespace specvla::cli
