// SPDX-License-Identifier: MIT
#include "demo/trainer_internal.h"

#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/sim.h"
#include "io/tensor_view.h"
#include "text/tokenizer.h"
#include "vision/preprocess.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace specvla::demo::detail {

namespace {

// Scales the gradients so that their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
void clipGradNorm(const std::vector<at::Tensor>& params, double maxNorm) {
    at::NoGradGuard noGrad;
    double total = 0;
    for (const auto& p : params)
        if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
    const double norm = std::sqrt(total);
    if (norm > maxNorm)
        for (const auto& p : params)
            if (p.grad().defined()) p.mutable_grad().mul_(maxNorm / (norm + 1e-6));
}

} // namespace

std::shared_ptr<WeightSet> initWeights(const std::vector<model::TensorSpec>& specs, std::uint64_t seed,
                                       double std) {
    auto set = std::make_shared<WeightSet>();
    model::RandomWeights random(seed, std);
    for (const auto& s : specs)
        set->tensors[s.name] = random.get(s.name, s.shape).to(at::kFloat).clone();
    return set;
}

double learningRate(double base, int step, int warmup, int total) {
    if (step < warmup) return base * (step + 1) / static_cast<double>(warmup);
    const double t = total > warmup ? (step - warmup) / static_cast<double>(total - warmup) : 1.0;
    return base * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, t))));
}

// One optimiser step on loss: zero the gradients, back-propagate, clip them to clipNorm, step.
void applyStep(torch::optim::AdamW& opt, const at::Tensor& loss, const std::vector<at::Tensor>& params,
               double clipNorm) {
    opt.zero_grad();
    loss.backward();
    clipGradNorm(params, clipNorm);
    opt.step();
}

Bf16Compute::Bf16Compute(bool on) : m_on(on) {
    if (!m_on) return;
    m_wasEnabled = at::autocast::is_cpu_enabled();
    m_wasType = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
}

Bf16Compute::~Bf16Compute() {
    if (!m_on) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(m_wasEnabled);
    at::autocast::set_autocast_cpu_dtype(m_wasType);
}

void stopTraining(const std::vector<at::Tensor>& params) {
    for (const auto& t : params)
        t.requires_grad_(false);
}

void setLr(torch::optim::AdamW& opt, double lr) {
    for (auto& group : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

// The token rows of a batch; its pixels are the caller's (pixelsOfSamples, or none over frozen patches).
Batch makeBatch(const model::VlaModel& m, const DemoDataset& data, const std::vector<int>& indices,
                const std::vector<std::vector<int>>& extra) {
    const auto& cfg = m.config();
    const int P = cfg.numPatches();
    Batch b;
    std::vector<std::vector<int>> rows;
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const DemoSample& s = data.samples[static_cast<std::size_t>(indices[k])];
        const data::Episode& e = data.episodes[static_cast<std::size_t>(s.episode)];
        const std::vector<int> prompt = m.promptIds(e.instruction);
        std::vector<int> row{prompt[0]};
        row.insert(row.end(), static_cast<std::size_t>(P), cfg.padTokenId);
        row.insert(row.end(), prompt.begin() + 1, prompt.end());
        b.promptLength.push_back(static_cast<int>(row.size()));
        row.insert(row.end(), extra[k].begin(), extra[k].end());
        b.length = std::max(b.length, static_cast<int>(row.size()));
        rows.push_back(std::move(row));
    }
    std::vector<std::int64_t> flat;
    for (auto& row : rows) {
        row.resize(static_cast<std::size_t>(b.length), cfg.padTokenId);
        flat.insert(flat.end(), row.begin(), row.end());
    }
    b.ids = at::tensor(flat, at::kLong).view({static_cast<std::int64_t>(rows.size()), b.length});
    return b;
}

// The processor's pixel tensors of the given samples' policy inputs, [B, 6, S, S].
at::Tensor pixelsOfSamples(const model::VlaModel& m, const DemoDataset& data,
                           const std::vector<int>& indices) {
    const auto& a = m.config().featurizer;
    const auto& f = m.config().fusedFeaturizer;
    std::vector<at::Tensor> out;
    out.reserve(indices.size());
    for (int i : indices)
        out.push_back(vision::pixelValues(data.inputs[static_cast<std::size_t>(i)], a.mean, a.std, f.mean,
                                          f.std, a.imageSize));
    return at::cat(out, 0);
}

// Input embeddings of a batch: token embeddings with the projected patches in the patch slots.
// patchesOut, when given, receives the projected patches [B, P, D].
// frozenPatches: the samples' patch embeddings computed beforehand (b.pixels is then unused).
at::Tensor embedBatch(const model::VlaModel& m, const Batch& b, at::Tensor* patchesOut,
                      const at::Tensor& frozenPatches) {
    const int P = m.config().numPatches();
    const at::Tensor tok = m.llm().embed(b.ids);
    const at::Tensor patches =
        frozenPatches.defined() ? frozenPatches : m.vision().forward(b.pixels.to(m.dtype()));
    if (patchesOut) *patchesOut = patches;
    return at::cat({tok.narrow(1, 0, 1), patches, tok.narrow(1, 1 + P, b.length - 1 - P)}, 1);
}

std::vector<int> drawBatch(std::mt19937_64& rng, int size, int batch) {
    std::vector<int> out;
    for (int i = 0; i < batch; ++i)
        out.push_back(static_cast<int>(rng() % static_cast<std::uint64_t>(size)));
    return out;
}

std::shared_ptr<model::VlaModel> buildTarget(const TrainedTarget& t) {
    SetWeights w(*t.weights);
    return model::VlaModel::create(t.config, w, text::Tokenizer::load(t.tokenizerPath));
}

void writeSet(io::SafetensorsWriter& w, const std::vector<model::TensorSpec>& specs, const WeightSet& set,
              bool bf16) {
    w.setMetadata("format", "pt");
    for (const auto& s : specs) {
        const auto it = set.tensors.find(s.name);
        if (it == set.tensors.end()) throw Error("demo trainer: nothing trained for " + s.name);
        io::addTensor(w, s.name, it->second.detach().to(bf16 ? at::kBFloat16 : at::kFloat).contiguous());
    }
}

ReadoutDrive driveOnReadout(const model::VlaModel& m, const at::Tensor& readW, const at::Tensor& readB,
                            int auxLayer, const ExpertOptions& expertOptions, int layouts) {
    ReadoutDrive out;
    const auto r0 = std::chrono::steady_clock::now();
    const at::NoGradGuard noGrad;
    const auto& fa = m.featurizerConfig();
    const auto& fb = m.fusedFeaturizerConfig();
    for (int k = 0; k < layouts; ++k) {
        const WorldState start = heldOutLayout(k);
        const std::vector<int> prompt = m.promptIds(instruction(start));
        Expert expert(kHeldOutSeedBase + static_cast<std::uint64_t>(k), expertOptions);
        const Policy policy = [&](const vision::RgbImage& frame, const WorldState& state) {
            const at::Tensor pixels =
                vision::pixelValues(policyInput(frame), fa.mean, fa.std, fb.mean, fb.std, fa.imageSize);
            const at::Tensor embeds = m.multimodalEmbeds(m.encodeImage(pixels), prompt);
            const auto length = embeds.size(1);
            model::AttentionCapture capture;
            capture.hiddenLayer = auxLayer;
            const model::LlamaOutput y = m.llm().forward(embeds, at::arange(length, at::kLong), nullptr, {},
                                                         false, auxLayer >= 0 ? &capture : nullptr);
            const at::Tensor& source = capture.hidden.defined() ? capture.hidden : y.hidden;
            const at::Tensor f =
                at::addmm(readB, source[0][length - 1].to(at::kFloat).unsqueeze(0), readW).contiguous();
            return expert.act(stateFromFeatures(state, f.data_ptr<float>()));
        };
        const RolloutResult r = runEpisode(start, policy, fa.imageSize);
        ++out.layouts;
        out.successes += r.success ? 1 : 0;
        out.grasped += r.graspedTarget ? 1 : 0;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    return out;
}

// State positions are in units of 0.3 m: the gripper's at 0, the named block's at 5, the goal's at 8.
std::array<float, 4> relativeOffsets(const StateFeatures& y) {
    auto offset = [&y](std::size_t at, std::size_t axis) {
        return static_cast<float>(std::tanh(0.3 * (y[at + axis] - y[axis]) / kRelativeScale));
    };
    return {offset(5, 0), offset(5, 1), offset(8, 0), offset(8, 1)};
}
double relativeOffsetCm(double v) {
    return 100.0 * kRelativeScale * std::atanh(std::clamp(v, -0.999, 0.999));
}

} // namespace specvla::demo::detail
