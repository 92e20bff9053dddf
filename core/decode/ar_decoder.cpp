// SPDX-License-Identifier: MIT
#include "decode/ar_decoder.h"

#include "common/error.h"
#include "model/vla_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace specvla::decode {
namespace {

class StageClock {
public:
    explicit StageClock(const c10::Device& d) : m_device(d), m_start(now()), m_last(m_start) {}
    double lap() {
        model::synchronize(m_device);
        const auto t = now();
        const double ms = std::chrono::duration<double, std::milli>(t - m_last).count();
        m_last = t;
        return ms;
    }
    double total() const { return std::chrono::duration<double, std::milli>(m_last - m_start).count(); }

private:
    static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
    c10::Device m_device;
    std::chrono::steady_clock::time_point m_start, m_last;
};

} // namespace

ActionResult decodeAr(const model::VlaModel& m, const vision::RgbImage& image, const std::string& instruction,
                      const ArOptions& options) {
    c10::InferenceMode guard;
    const NormStats stats = m.normStats(options.unnormKey); // fail before any work when the key is unknown
    ActionResult r;
    StageClock clock(m.device());
    const auto& a = m.featurizerConfig();
    const auto& b = m.fusedFeaturizerConfig();
    const at::Tensor pixels = vision::pixelValues(image, a.mean, a.std, b.mean, b.std, a.imageSize);
    const std::vector<int> prompt = m.promptIds(instruction);
    r.ms.preprocess = clock.lap();

    const at::Tensor patches = m.encodeImage(pixels);
    r.ms.vision = clock.lap();

    const at::Tensor embeds = m.multimodalEmbeds(patches, prompt);
    const auto L = embeds.size(1);
    model::KvCache cache = m.llm().makeCache(static_cast<int>(L) + options.numTokens + 1);
    const auto longOpts = at::TensorOptions().dtype(at::kLong).device(m.device());
    model::LlamaOutput out = m.llm().forward(embeds, at::arange(L, longOpts), &cache, {}, /*logitsForAll=*/false);
    r.targetPasses = 1;
    int next = static_cast<int>(out.logits[0][-1].argmax().item<std::int64_t>());
    r.ms.prefill = clock.lap();

    for (int i = 0; i < options.numTokens; ++i) {
        r.tokens.push_back(next);
        if (i + 1 == options.numTokens) break; // stop at 7: the 8th token (EOS) is never computed
        const at::Tensor ids = at::full({1, 1}, next, longOpts);
        out = m.llm().forward(m.llm().embed(ids), at::full({1}, L + i, longOpts), &cache, {}, false);
        ++r.targetPasses;
        next = static_cast<int>(out.logits[0][-1].argmax().item<std::int64_t>());
    }
    r.ms.decode = clock.lap();

    const ActionTokenizer& at = m.actionTokenizer();
    for (int id : r.tokens) {
        r.bins.push_back(at.binOfToken(id));
        r.allActionTokens = r.allActionTokens && at.isActionToken(id);
    }
    r.normalized = at.decode(r.tokens);
    r.unnormKey = stats.key;
    r.action = unnormalize(r.normalized, stats);
    if (options.liberoGripper) {
        r.envAction = r.action;
        liberoGripperPostprocess(r.envAction);
    }
    r.ms.total = clock.total();
    return r;
}

} // namespace specvla::decode
