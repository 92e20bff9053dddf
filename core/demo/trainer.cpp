// SPDX-License-Identifier: MIT
#include "demo/trainer.h"

#include "common/error.h"
#include "decode/spec_decoder.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "model/draft_head.h"
#include "model/tensor_specs.h"
#include "model/vla_model.h"
#include "model/weights.h"
#include "text/tokenizer.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace fs = std::filesystem;

namespace specvla::demo {

// The trained tensors by Hugging Face name, in training order of creation.
struct WeightSet {
    std::map<std::string, at::Tensor> tensors;
};

namespace {

// Serves the tensors of a WeightSet: the model holds the very same tensors, so optimiser steps (in place)
// are what the model computes with.
class SetWeights : public model::WeightSource {
public:
    explicit SetWeights(WeightSet& set) : m_set(set) {}
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override {
        m_requested.insert(name);
        const auto it = m_set.tensors.find(name);
        if (it == m_set.tensors.end()) throw Error("demo trainer: no tensor " + name);
        if (it->second.sizes().vec() != shape)
            throw Error("demo trainer: " + name + " has shape " +
                        model::shapeString(it->second.sizes().vec()) + ", expected " +
                        model::shapeString(shape));
        return it->second;
    }
    std::string describe() const override { return "demo trainer weights"; }

private:
    WeightSet& m_set;
};

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

// One optimiser step on loss: zero the gradients, back-propagate, clip them to clipNorm, step.
void applyStep(torch::optim::AdamW& opt, const at::Tensor& loss, const std::vector<at::Tensor>& params,
               double clipNorm) {
    opt.zero_grad();
    loss.backward();
    clipGradNorm(params, clipNorm);
    opt.step();
}

void stopTraining(const std::vector<at::Tensor>& params) {
    for (const auto& t : params)
        t.requires_grad_(false);
}

void setLr(torch::optim::AdamW& opt, double lr) {
    for (auto& group : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

// A right-padded batch: [BOS, P patch slots, prompt[1:], extra tokens..., pad...]. Right padding never
// changes a causal forward at the real positions, so one position list serves the whole batch.
struct Batch {
    at::Tensor pixels;             // [B, 6, S, S]
    at::Tensor ids;                // [B, n] int64 (patch slots and padding hold the pad id)
    std::vector<int> promptLength; // L_b = 1 + P + (T_b - 1): BOS + patches + prompt[1:]
    int length = 0;                // n
};

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

// Fixed 2-D sine-cosine position embeddings of a square patch grid, [1, patches, width] (as MAE initialises
// ViTs): the first half of the width encodes the row, the second the column, each as sin and cos of the
// position at width / 4 geometric frequencies.
at::Tensor sincosTable(std::int64_t patches, std::int64_t width) {
    const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(patches))));
    if (side * side != patches || width % 4 != 0)
        throw Error("demo trainer: sine-cosine positions need a square grid and a width divisible by 4");
    const std::int64_t quarter = width / 4;
    at::Tensor table = at::zeros({1, patches, width});
    auto acc = table.accessor<float, 3>();
    for (std::int64_t p = 0; p < patches; ++p)
        for (std::int64_t k = 0; k < quarter; ++k) {
            const double omega = std::pow(10000.0, -static_cast<double>(k) / static_cast<double>(quarter));
            const double row = static_cast<double>(p / side) * omega,
                         col = static_cast<double>(p % side) * omega;
            acc[0][p][k] = static_cast<float>(std::sin(row));
            acc[0][p][quarter + k] = static_cast<float>(std::cos(row));
            acc[0][p][2 * quarter + k] = static_cast<float>(std::sin(col));
            acc[0][p][3 * quarter + k] = static_cast<float>(std::cos(col));
        }
    return table;
}

bool isVisionTensor(const std::string& name) {
    return name.rfind("vision_backbone.", 0) == 0 || name.rfind("projector.", 0) == 0;
}

// The scene features by thing for the vision read-out: the gripper (6 features), each block colour (4) and
// the plate and the bowl (3 each), each group padded to kGroupWidth.
constexpr int kSceneGroups = 1 + 6 + 2;
constexpr int kGroupWidth = 6;
struct GroupSpan {
    int first, count;
};
constexpr std::array<GroupSpan, kSceneGroups> kGroupSpans{
    {{0, 6}, {6, 4}, {10, 4}, {14, 4}, {18, 4}, {22, 4}, {26, 4}, {30, 3}, {33, 3}}};
static_assert(6 + 6 * 4 + 2 * 3 == kSceneFeatures, "scene feature groups");

std::array<float, kSceneGroups * kGroupWidth> sceneGroups(const StateFeatures& f) {
    std::array<float, kSceneGroups * kGroupWidth> out{};
    for (int g = 0; g < kSceneGroups; ++g)
        for (int k = 0; k < kGroupSpans[static_cast<std::size_t>(g)].count; ++k)
            out[static_cast<std::size_t>(g * kGroupWidth + k)] = f[static_cast<std::size_t>(
                kSceneFeatureOffset + kGroupSpans[static_cast<std::size_t>(g)].first + k)];
    return out;
}

// Where each scene group's thing appears in the model's grid x grid patches, as a distribution over the
// patches (a Gaussian of half a patch around its projection, row-major like the patch sequence), and whether
// it is on the table and in view, and where it is in units of patches. The positions come back from the state
// features (x, y in units of 0.3 m, heights as (z - 0.15) / 0.15): the gripper's fingertips, each block's
// centre, each receptacle's middle.
void attentionTargets(const StateFeatures& f, int grid, float* target, float* present, float* position) {
    const float* s = f.data() + kSceneFeatureOffset;
    std::array<std::array<double, 3>, kSceneGroups> where{};
    where[0] = {s[0] * 0.3, s[1] * 0.3, s[2] * 0.15 + 0.15 + 0.03};
    present[0] = 1;
    for (int c = 0; c < 6; ++c) {
        const float* b = s + 6 + 4 * c;
        present[1 + c] = b[0] > 0 ? 1.0f : 0.0f;
        where[static_cast<std::size_t>(1 + c)] = {b[1] * 0.3, b[2] * 0.3,
                                                  b[3] * 0.15 + 0.15 + kBlockSize / 2};
    }
    for (int k = 0; k < 2; ++k) {
        const float* r = s + 30 + 3 * k;
        present[7 + k] = r[0] > 0 ? 1.0f : 0.0f;
        where[static_cast<std::size_t>(7 + k)] = {r[1] * 0.3, r[2] * 0.3, 0.0};
    }
    const double sigma = 0.5 / grid;
    for (int g = 0; g < kSceneGroups; ++g) {
        const auto& w = where[static_cast<std::size_t>(g)];
        const auto uv = policyInputPosition(projectToFrame(w[0], w[1], w[2]));
        position[2 * g] = static_cast<float>(uv[0] * grid); // in patches
        position[2 * g + 1] = static_cast<float>(uv[1] * grid);
        float* t = target + static_cast<std::ptrdiff_t>(g) * grid * grid;
        double sum = 0;
        for (int i = 0; i < grid; ++i)
            for (int j = 0; j < grid; ++j) {
                const double du = (j + 0.5) / grid - uv[0], dv = (i + 0.5) / grid - uv[1];
                const double v = std::exp(-(du * du + dv * dv) / (2 * sigma * sigma));
                t[i * grid + j] = static_cast<float>(v);
                sum += v;
            }
        if (sum < 1e-6) present[g] = 0; // out of view
        for (int p = 0; p < grid * grid; ++p)
            t[p] = sum < 1e-6 ? 0.0f : static_cast<float>(t[p] / sum);
    }
}

at::Tensor sceneGroupMask() {
    at::Tensor mask = at::zeros({kSceneGroups, kGroupWidth});
    for (int g = 0; g < kSceneGroups; ++g)
        mask[g].narrow(0, 0, kGroupSpans[static_cast<std::size_t>(g)].count).fill_(1.0);
    return mask;
}

// Input embeddings of a batch: token embeddings with the projected patches in the patch slots.
// patchesOut, when given, receives the projected patches [B, P, D].
// frozenPatches: the samples' patch embeddings computed beforehand (b.pixels is then unused).
at::Tensor embedBatch(const model::VlaModel& m, const Batch& b, at::Tensor* patchesOut = nullptr,
                      const at::Tensor& frozenPatches = {}) {
    const int P = m.config().numPatches();
    const at::Tensor tok = m.llm().embed(b.ids);
    const at::Tensor patches =
        frozenPatches.defined() ? frozenPatches : m.vision().forward(b.pixels.to(m.dtype()));
    if (patchesOut) *patchesOut = patches;
    return at::cat({tok.narrow(1, 0, 1), patches, tok.narrow(1, 1 + P, b.length - 1 - P)}, 1);
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
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

} // namespace

std::vector<std::string> weightNames(const WeightSet& set) {
    std::vector<std::string> out;
    for (const auto& [name, t] : set.tensors)
        out.push_back(name);
    return out;
}

std::vector<float> weightValues(const WeightSet& set, const std::string& name) {
    const auto it = set.tensors.find(name);
    if (it == set.tensors.end()) throw Error("demo trainer: no tensor " + name);
    const at::Tensor t = it->second.detach().to(at::kFloat).contiguous();
    return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
}

DemoModelSpec DemoModelSpec::laptop() {
    return {};
}

DemoModelSpec DemoModelSpec::tiny() {
    DemoModelSpec s;
    s.imageSize = 56;
    s.dinoHidden = 32;
    s.dinoLayers = 2;
    s.dinoRegisters = 2;
    s.siglipHidden = 32;
    s.siglipLayers = 2;
    s.textHidden = 64;
    s.textLayers = 2;
    s.textHeads = 4;
    s.textKvHeads = 2;
    s.textIntermediate = 128;
    s.tokenizerVocab = 400;
    return s;
}

model::VlaConfig demoVlaConfig(const DemoModelSpec& spec, int tokenizerVocab) {
    model::VlaConfig c;
    c.timmModelIds = {"demo_dinov2_tiny", "demo_siglip_tiny"};
    c.featurizer.imageSize = spec.imageSize;
    c.featurizer.patchSize = spec.patchSize;
    c.featurizer.hiddenSize = spec.dinoHidden;
    c.featurizer.numLayers = spec.dinoLayers;
    c.featurizer.numHeads = spec.dinoHeads;
    c.featurizer.mlpSize = 4 * spec.dinoHidden;
    c.featurizer.numRegisters = spec.dinoRegisters;
    c.featurizer.featureLayer = std::max(0, spec.dinoLayers - 2);
    c.fusedFeaturizer = model::VitConfig::siglipSo400m();
    c.fusedFeaturizer.imageSize = spec.imageSize;
    c.fusedFeaturizer.patchSize = spec.patchSize;
    c.fusedFeaturizer.hiddenSize = spec.siglipHidden;
    c.fusedFeaturizer.numLayers = spec.siglipLayers;
    c.fusedFeaturizer.numHeads = spec.siglipHeads;
    c.fusedFeaturizer.mlpSize = 4 * spec.siglipHidden;
    c.fusedFeaturizer.featureLayer = std::max(0, spec.siglipLayers - 2);
    c.text.vocabSize = tokenizerVocab + 64;
    c.text.hiddenSize = spec.textHidden;
    c.text.intermediateSize = spec.textIntermediate;
    c.text.numLayers = spec.textLayers;
    c.text.numHeads = spec.textHeads;
    c.text.numKvHeads = spec.textKvHeads;
    c.text.maxPositions = 512;
    c.padTokenId = tokenizerVocab;
    return c;
}

model::DraftConfig demoDraftConfig(const model::VlaConfig& target) {
    return model::DraftConfig::forTarget(target.text);
}

TrainedTarget trainTarget(const model::VlaConfig& config, const std::string& tokenizerPath,
                          const DemoDataset& data, const TargetTrainOptions& o, const TrainProgress& progress,
                          const TrainProgress& visionProgress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    TrainedTarget out;
    out.config = config;
    out.config.normStats = {{kDemoStatsKey, {{"action", data.actionStats}}}};
    out.tokenizerPath = tokenizerPath;
    out.actionStats = data.actionStats;
    const auto specs = model::vlaTensorSpecs(out.config);
    out.weights = initWeights(specs, o.seed, o.initStd);
    if (o.sincosPositions)
        for (const char* tower : {"vision_backbone.featurizer.", "vision_backbone.fused_featurizer."}) {
            const auto it = out.weights->tensors.find(std::string(tower) + "pos_embed");
            if (it != out.weights->tensors.end())
                it->second.copy_(sincosTable(it->second.size(1), it->second.size(2)));
        }
    const auto m = buildTarget(out);
    std::set<std::string> used;
    for (const auto& s : specs)
        if (s.used) used.insert(s.name);
    const bool aux = o.auxWeight > 0 && !data.states.empty();
    const bool lmAttention = o.lmAttentionWeight > 0;
    if (lmAttention) {
        if (data.states.empty())
            throw Error("demo trainer: the language model's attention loss needs states");
        const int P = out.config.numPatches();
        const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
        if (side * side != P)
            throw Error("demo trainer: the language model's attention loss needs a square patch grid, not " +
                        std::to_string(P) + " patches");
        if (out.config.text.numHeads < 3)
            throw Error("demo trainer: the language model's attention loss needs at least 3 heads");
        const int layers = out.config.text.numLayers;
        out.lmAttentionLayer =
            o.lmAttentionLayer >= 0 ? o.lmAttentionLayer : std::min(layers - 1, std::max(1, layers / 4));
        if (out.lmAttentionLayer >= layers)
            throw Error("demo trainer: attention loss layer " + std::to_string(out.lmAttentionLayer) +
                        " of a " + std::to_string(layers) + "-layer language model");
    }
    if ((aux || o.visionSteps > 0) && data.states.size() != data.samples.size())
        throw Error("demo trainer: " + std::to_string(data.states.size()) + " state features for " +
                    std::to_string(data.samples.size()) + " samples" +
                    (o.visionSteps > 0 ? " (vision pretraining needs every sample's)" : ""));
    const std::int64_t flat = static_cast<std::int64_t>(out.config.numPatches()) * out.config.text.hiddenSize;
    const auto n = static_cast<int>(data.samples.size());
    // The last samples (the last episodes' frames) are kept out of the vision pretraining batches, and with
    // bcCheck out of behaviour cloning, to check what was learnt.
    const int checkFrames = n >= 20 ? std::min(n / 20, 256) : 0;

    if (o.visionSteps > 0) {
        // The vision tower and projector, with a linear read-out of the scene features (never saved).
        std::vector<at::Tensor> vparams;
        for (auto& [name, t] : out.weights->tensors)
            if (used.count(name) && isVisionTensor(name)) vparams.push_back(t.requires_grad_(true));
        // The read-out attends over the patches as the language model does: one learnt query per thing
        // (the gripper, each block colour, the plate, the bowl) pools the patches by content, and a linear
        // map of the pooled features gives that thing's features. Where a thing is must therefore be in the
        // features of the patches that show it, not in which patch slot they fill: attention values carry
        // no position, so that is what the language model can retrieve.
        const std::int64_t width = out.config.text.hiddenSize;
        const double scale = 1.0 / std::sqrt(static_cast<double>(width));
        const at::Tensor queries = (at::randn({kSceneGroups, width}) * scale).requires_grad_(true);
        const at::Tensor readW = (at::randn({kSceneGroups, width, kGroupWidth}) * scale).requires_grad_(true);
        const at::Tensor readB = at::zeros({kSceneGroups, kGroupWidth}).requires_grad_(true);
        const at::Tensor mask = sceneGroupMask();
        vparams.push_back(queries);
        vparams.push_back(readW);
        vparams.push_back(readB);
        auto wantedOf = [&data](const std::vector<int>& idx) {
            std::vector<float> wanted;
            for (int i : idx) {
                const auto g = sceneGroups(data.states[static_cast<std::size_t>(i)]);
                wanted.insert(wanted.end(), g.begin(), g.end());
            }
            return at::tensor(wanted).view(
                {static_cast<std::int64_t>(idx.size()), kSceneGroups, kGroupWidth});
        };
        const int P = out.config.numPatches();
        const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
        if (o.visionAttentionWeight > 0 && grid * grid != P)
            throw Error("demo trainer: the attention targets need a square patch grid, not " +
                        std::to_string(P) + " patches");
        at::Tensor logAttention, lastFeatures; // [B, P, G] and [B, P, D] of the last read-out
        auto readOut = [&](const std::vector<int>& idx) {
            const at::Tensor f = m->vision()
                                     .forward(pixelsOfSamples(*m, data, idx).to(m->dtype()))
                                     .to(at::kFloat); // [B, P, D]
            lastFeatures = f;
            logAttention = at::log_softmax(at::matmul(f, queries.t()) * scale, 1);       // [B, P, G]
            const at::Tensor pooled = at::matmul(logAttention.exp().transpose(1, 2), f); // [B, G, D]
            return at::matmul(pooled.unsqueeze(2), readW).squeeze(2) + readB;            // [B, G, W]
        };
        // Per thing, a linear map from each patch's features to where the thing is (in patches), so that the
        // patches around a thing say where exactly it is: what the language model's attention can average.
        const at::Tensor placeW = (at::randn({kSceneGroups, width, 2}) * scale).requires_grad_(true);
        const at::Tensor placeB = at::full({kSceneGroups, 2}, grid / 2.0).requires_grad_(true);
        if (o.visionAttentionWeight > 0) {
            vparams.push_back(placeW);
            vparams.push_back(placeB);
        }
        torch::optim::AdamW vopt(
            vparams, torch::optim::AdamWOptions(o.visionLr).betas({0.9, 0.95}).weight_decay(o.weightDecay));
        // The attention loss: cross entropy of each present thing's attention against its target, plus the
        // squared error of the place each patch gives the thing, weighted by the same target.
        auto attentionLoss = [&](const std::vector<int>& idx) {
            const auto b = static_cast<std::int64_t>(idx.size());
            std::vector<float> target(static_cast<std::size_t>(b * kSceneGroups * P)),
                present(static_cast<std::size_t>(b * kSceneGroups)),
                position(static_cast<std::size_t>(b * kSceneGroups * 2));
            for (std::int64_t k = 0; k < b; ++k)
                attentionTargets(data.states[static_cast<std::size_t>(idx[static_cast<std::size_t>(k)])],
                                 grid, target.data() + k * kSceneGroups * P,
                                 present.data() + k * kSceneGroups, position.data() + k * kSceneGroups * 2);
            const at::Tensor t = at::tensor(target).view({b, kSceneGroups, P});
            const at::Tensor on = at::tensor(present).view({b, kSceneGroups});
            const at::Tensor ce = -(t * logAttention.transpose(1, 2)).sum(2); // [B, G]
            const at::Tensor place = at::einsum("bpd,gdk->bgpk", {lastFeatures, placeW}) +
                                     placeB.view({1, kSceneGroups, 1, 2}); // [B, G, P, 2]
            const at::Tensor wanted = at::tensor(position).view({b, kSceneGroups, 1, 2});
            const at::Tensor miss = ((place - wanted).pow(2).sum(3) * t).sum(2); // [B, G]
            return ((ce + miss) * on).sum() / at::clamp_min(on.sum(), 1.0);
        };
        std::mt19937_64 vrng(o.seed + 17);
        for (int step = 0; step < o.visionSteps; ++step) {
            setLr(vopt, learningRate(o.visionLr, step, o.warmupSteps, o.visionSteps));
            const auto idx = drawBatch(vrng, n - checkFrames, o.visionBatch);
            const at::Tensor y = wantedOf(idx);
            at::Tensor loss =
                ((readOut(idx) - y).pow(2) * mask).sum() / (mask.sum() * static_cast<double>(idx.size()));
            if (o.visionAttentionWeight > 0) loss = loss + o.visionAttentionWeight * attentionLoss(idx);
            applyStep(vopt, loss, vparams, o.clipNorm);
            out.visionLosses.push_back(loss.item<double>());
            if (visionProgress) visionProgress(step, out.visionLosses.back());
        }
        stopTraining(vparams);
        if (checkFrames > 0) {
            const at::NoGradGuard noGrad;
            std::vector<double> gripper, blocks;
            for (int first = n - checkFrames; first < n; first += o.visionBatch) {
                std::vector<int> idx;
                for (int i = first; i < std::min(n, first + o.visionBatch); ++i)
                    idx.push_back(i);
                const at::Tensor wanted = wantedOf(idx), predicted = readOut(idx).contiguous();
                const auto y = wanted.accessor<float, 3>();
                const auto pred = predicted.accessor<float, 3>();
                // Features are positions / 0.3 m: x and y are the first two of the gripper's group and the
                // second and third of a block colour's group (whose first says whether it is on the table).
                for (std::int64_t k = 0; k < y.size(0); ++k) {
                    auto planar = [&](std::int64_t g, std::int64_t at) {
                        const double dx = pred[k][g][at] - y[k][g][at],
                                     dy = pred[k][g][at + 1] - y[k][g][at + 1];
                        return 30.0 * std::hypot(dx, dy); // centimetres
                    };
                    gripper.push_back(planar(0, 0));
                    for (std::int64_t g = 1; g <= 6; ++g)
                        if (y[k][g][0] > 0) blocks.push_back(planar(g, 1));
                }
            }
            out.visionCheckFrames = checkFrames;
            out.visionGripperErrorCm = median(gripper);
            out.visionBlockErrorCm = median(blocks);
        }
    }
    // Frozen vision: every sample's patch embeddings once, [N, P, D].
    at::Tensor frozen;
    if (o.freezeVision) {
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> parts;
        for (int first = 0; first < n; first += 64) {
            std::vector<int> idx;
            for (int i = first; i < std::min(n, first + 64); ++i)
                idx.push_back(i);
            parts.push_back(m->vision().forward(pixelsOfSamples(*m, data, idx).to(m->dtype())));
        }
        frozen = at::cat(parts, 0);
    }
    out.visionSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        if (used.count(name) && !(o.freezeVision && isVisionTensor(name)))
            params.push_back(t.requires_grad_(true));
    // The auxiliary read-outs (trained, never saved); with a frozen tower only the language model's.
    at::Tensor auxPatchW, auxPatchB, auxLlmW, auxLlmB;
    if (aux) {
        if (!o.freezeVision) {
            auxPatchW = (at::randn({flat, kStateFeatures}) / std::sqrt(static_cast<double>(flat)))
                            .requires_grad_(true);
            auxPatchB = at::zeros({kStateFeatures}).requires_grad_(true);
            params.push_back(auxPatchW);
            params.push_back(auxPatchB);
        }
        auxLlmW = (at::randn({out.config.text.hiddenSize, kStateFeatures}) /
                   std::sqrt(static_cast<double>(out.config.text.hiddenSize)))
                      .requires_grad_(true);
        auxLlmB = at::zeros({kStateFeatures}).requires_grad_(true);
        params.push_back(auxLlmW);
        params.push_back(auxLlmB);
    }
    torch::optim::AdamW opt(params,
                            torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weightDecay));

    const int eos = m->tokenizer().eosId();
    const int nTargets = o.predictEos ? 8 : 7;
    // Cross entropy against soft targets: the motion tokens' labels spread over neighbouring bins.
    const decode::ActionTokenizer& actions = m->actionTokenizer();
    auto softActionLoss = [&](const at::Tensor& logits, const std::vector<std::int64_t>& targets,
                              int perSample) {
        const std::int64_t vocab = logits.size(1);
        const at::Tensor ids = at::tensor(targets);
        const at::Tensor tokens = at::arange(vocab, at::kFloat).view({1, -1});
        const at::Tensor isAction =
            (tokens >= actions.firstActionToken()) & (tokens <= actions.lastActionToken());
        // Adjacent bins are adjacent token ids, so the Gaussian over ids is the Gaussian over bins.
        at::Tensor soft =
            at::exp(-(tokens - ids.view({-1, 1}).to(at::kFloat)).pow(2) / (2 * o.binSigma * o.binSigma));
        soft = at::where(isAction, soft, at::zeros_like(soft));
        soft = soft / at::clamp_min(soft.sum(1, true), 1e-12);
        const at::Tensor motion = (at::arange(static_cast<std::int64_t>(targets.size())) % perSample < 6) &
                                  (ids >= actions.firstActionToken()) & (ids <= actions.lastActionToken());
        const at::Tensor target =
            at::where(motion.view({-1, 1}), soft, at::one_hot(ids, vocab).to(at::kFloat));
        return -(target * at::log_softmax(logits.to(at::kFloat), 1)).sum(1).mean();
    };
    // A teacher-forced forward of the given samples over [prompt, their labels but the last]: labels
    // receives each sample's action tokens (and EOS with predictEos); rows and cols index the positions that
    // predict them in the output (sample-major).
    struct Forward {
        model::LlamaOutput out;
        model::AttentionCapture attention; // layer lmAttentionLayer, with the attention loss
        Batch batch;
        at::Tensor patches; // the projected patches, with the auxiliary loss
        std::vector<std::vector<int>> labels;
        std::vector<std::int64_t> rows, cols, targets;
    };
    auto teacherForced = [&](const std::vector<int>& idx) {
        Forward f;
        std::vector<std::vector<int>> extra;
        for (int i : idx) {
            const auto& tok = data.samples[static_cast<std::size_t>(i)].tokens;
            std::vector<int> l(tok.begin(), tok.end());
            if (o.predictEos) l.push_back(eos);
            f.labels.push_back(l);
            l.pop_back(); // the last label is never an input
            extra.push_back(l);
        }
        f.batch = makeBatch(*m, data, idx, extra);
        if (!frozen.defined()) f.batch.pixels = pixelsOfSamples(*m, data, idx);
        const at::Tensor x = embedBatch(
            *m, f.batch, aux ? &f.patches : nullptr,
            frozen.defined()
                ? frozen.index_select(0, at::tensor(std::vector<std::int64_t>(idx.begin(), idx.end())))
                : at::Tensor());
        f.attention.layer = lmAttention ? out.lmAttentionLayer : -1;
        f.out = m->llm().forward(x, at::arange(f.batch.length, at::kLong), nullptr, {}, true,
                                 lmAttention ? &f.attention : nullptr);
        for (std::size_t k = 0; k < idx.size(); ++k)
            for (int j = 0; j < nTargets; ++j) {
                f.rows.push_back(static_cast<std::int64_t>(k));
                f.cols.push_back(f.batch.promptLength[k] - 1 + j);
                f.targets.push_back(f.labels[k][static_cast<std::size_t>(j)]);
            }
        return f;
    };
    // The auxiliary read-out of the language model's last prompt position, [B, kStateFeatures].
    auto auxReadOut = [&](const Forward& f) {
        std::vector<std::int64_t> lastRows, lastCols;
        for (std::size_t k = 0; k < f.labels.size(); ++k) {
            lastRows.push_back(static_cast<std::int64_t>(k));
            lastCols.push_back(f.batch.promptLength[k] - 1);
        }
        const at::Tensor last =
            f.out.hidden.index({at::tensor(lastRows), at::tensor(lastCols)}).to(at::kFloat);
        return at::addmm(auxLlmB, last, auxLlmW);
    };
    // The attention loss: heads 0, 1, 2 of the supervised layer at each sample's last prompt position against
    // the named block's, the goal thing's and the gripper's patch targets.
    auto lmAttentionLoss = [&](const Forward& f, const std::vector<int>& idx) {
        const int P = out.config.numPatches();
        const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
        const auto b = static_cast<std::int64_t>(idx.size());
        std::vector<float> all(static_cast<std::size_t>(kSceneGroups * P)), present(kSceneGroups),
            position(2 * kSceneGroups);
        std::vector<float> target(static_cast<std::size_t>(b * 3 * P)), on(static_cast<std::size_t>(b * 3));
        std::vector<std::int64_t> lastCols;
        for (std::int64_t k = 0; k < b; ++k) {
            const auto i = static_cast<std::size_t>(idx[static_cast<std::size_t>(k)]);
            attentionTargets(data.states[i], grid, all.data(), present.data(), position.data());
            const InstructionThings things = instructionThings(
                data.episodes[static_cast<std::size_t>(data.samples[i].episode)].instruction);
            const int goal = things.referenceBlock >= 0 ? 1 + things.referenceBlock
                             : things.receptacle >= 0   ? 7 + things.receptacle
                                                        : 1 + things.block;
            const std::array<int, 3> groups{1 + things.block, goal, 0};
            for (int h = 0; h < 3; ++h) {
                const auto g = static_cast<std::size_t>(groups[static_cast<std::size_t>(h)]);
                std::copy(all.begin() + static_cast<std::ptrdiff_t>(g * P),
                          all.begin() + static_cast<std::ptrdiff_t>((g + 1) * P),
                          target.begin() + static_cast<std::ptrdiff_t>((k * 3 + h) * P));
                on[static_cast<std::size_t>(k * 3 + h)] = present[g];
            }
            lastCols.push_back(f.batch.promptLength[static_cast<std::size_t>(k)] - 1);
        }
        using at::indexing::Slice;
        const at::Tensor rows = f.attention.probs.index({at::arange(b), Slice(), at::tensor(lastCols)});
        const at::Tensor p = rows.narrow(1, 0, 3).narrow(2, 1, P); // [B, 3, P]: the patch slots
        const at::Tensor t = at::tensor(target).view({b, 3, P});
        const at::Tensor w = at::tensor(on).view({b, 3});
        const at::Tensor ce = -(t * at::log(p + 1e-8)).sum(2); // [B, 3]
        return (ce * w).sum() / at::clamp_min(w.sum(), 1.0);
    };
    const int trainable = o.bcCheck ? n - checkFrames : n;
    std::mt19937_64 rng(o.seed);
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        const auto idx = drawBatch(rng, trainable, o.batchSize);
        const Forward fwd = teacherForced(idx);
        const std::vector<std::int64_t>& targets = fwd.targets;
        const at::Tensor logits = fwd.out.logits.index({at::tensor(fwd.rows), at::tensor(fwd.cols)});
        const at::Tensor ce = o.binSigma > 0 ? softActionLoss(logits, targets, nTargets)
                                             : at::cross_entropy_loss(logits, at::tensor(targets));
        at::Tensor loss = ce;
        if (aux) {
            std::vector<float> wanted;
            for (int i : idx) {
                const StateFeatures& f = data.states[static_cast<std::size_t>(i)];
                wanted.insert(wanted.end(), f.begin(), f.end());
            }
            const at::Tensor y =
                at::tensor(wanted).view({static_cast<std::int64_t>(idx.size()), kStateFeatures});
            at::Tensor auxLoss = at::mse_loss(auxReadOut(fwd), y);
            if (auxPatchW.defined())
                auxLoss =
                    auxLoss +
                    at::mse_loss(at::addmm(auxPatchB, fwd.patches.to(at::kFloat).flatten(1), auxPatchW), y);
            loss = ce + o.auxWeight * auxLoss;
            out.auxLosses.push_back(auxLoss.item<double>());
        }
        if (lmAttention) {
            const at::Tensor attentionLoss = lmAttentionLoss(fwd, idx);
            loss = loss + o.lmAttentionWeight * attentionLoss;
            out.lmAttentionLosses.push_back(attentionLoss.item<double>());
        }
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(ce.item<double>());
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);

    // The policy on samples [first, first + count), teacher-forced.
    auto check = [&](int first, int count) {
        PolicyCheck c;
        if (count <= 0) return c;
        const at::NoGradGuard noGrad;
        int matches = 0;
        std::array<int, 3> agree{}, counted{};
        double distance = 0;
        std::vector<double> gripper, block, goal;
        for (int from = first; from < first + count; from += 32) {
            std::vector<int> idx;
            for (int i = from; i < std::min(first + count, from + 32); ++i)
                idx.push_back(i);
            const Forward f = teacherForced(idx);
            const at::Tensor greedy =
                f.out.logits.index({at::tensor(f.rows), at::tensor(f.cols)}).argmax(1).contiguous();
            const auto g = greedy.accessor<std::int64_t, 1>();
            for (std::size_t k = 0; k < idx.size(); ++k)
                for (int j = 0; j < 7; ++j) {
                    const auto p = static_cast<int>(g[static_cast<std::int64_t>(k) * nTargets + j]);
                    const int l = f.labels[k][static_cast<std::size_t>(j)];
                    matches += p == l;
                    if (j < 6)
                        distance += actions.isActionToken(p)
                                        ? std::abs(actions.binOfToken(p) - actions.binOfToken(l))
                                        : actions.nBins() - 1;
                    if (j < 3) {
                        const double want = actions.decode(l);
                        if (std::abs(want) < 0.1) continue;
                        ++counted[static_cast<std::size_t>(j)];
                        const double got = actions.isActionToken(p) ? actions.decode(p) : 0.0;
                        agree[static_cast<std::size_t>(j)] += got * want > 0;
                    }
                }
            if (aux) {
                const at::Tensor predicted = auxReadOut(f).contiguous();
                const auto a = predicted.accessor<float, 2>();
                for (std::size_t k = 0; k < idx.size(); ++k) {
                    const StateFeatures& y = data.states[static_cast<std::size_t>(idx[k])];
                    const auto r = static_cast<std::int64_t>(k);
                    // Positions are scaled by 1 / 0.3 m: gripper x, y at 0; block x, y at 5; goal x, y at 8.
                    auto planar = [&](int at) {
                        return 30.0 * std::hypot(a[r][at] - y[static_cast<std::size_t>(at)],
                                                 a[r][at + 1] - y[static_cast<std::size_t>(at + 1)]);
                    };
                    gripper.push_back(planar(0));
                    block.push_back(planar(5));
                    goal.push_back(planar(8));
                }
            }
        }
        c.frames = count;
        c.tokenMatch = matches / (7.0 * count);
        c.meanBinDistance = distance / (6.0 * count);
        for (std::size_t j = 0; j < 3; ++j)
            c.signAgreement[j] = counted[j] > 0 ? static_cast<double>(agree[j]) / counted[j] : 0.0;
        if (aux) {
            c.gripperErrorCm = median(gripper);
            c.blockErrorCm = median(block);
            c.goalErrorCm = median(goal);
        }
        return c;
    };
    if (o.bcCheck && checkFrames > 0) {
        out.bcUnseen = check(n - checkFrames, checkFrames);
        out.bcSeen = check(std::max(0, n - 2 * checkFrames), std::min(checkFrames, n - checkFrames));
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

TrainedDraft trainDraft(const TrainedTarget& target, const DemoDataset& data,
                        const model::DraftConfig& config, const DraftTrainOptions& o,
                        const TrainProgress& progress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    const auto m = buildTarget(target);
    TrainedDraft out;
    out.config = config;
    out.vocabSize = target.config.text.vocabSize;

    // The samples the draft learns on: all, or maxSamples evenly spread.
    std::vector<int> chosen;
    const auto total = static_cast<std::int64_t>(data.samples.size());
    const std::int64_t keep = o.maxSamples > 0 ? std::min<std::int64_t>(o.maxSamples, total) : total;
    for (std::int64_t k = 0; k < keep; ++k)
        chosen.push_back(static_cast<int>(k * total / keep));
    // The target's own greedy action tokens for those samples (prompt-only contexts, no ground truth).
    std::vector<std::vector<int>> greedy(data.samples.size());
    std::size_t matches = 0;
    // Through the inference path (KV cache, one token at a time), so the contexts are exactly the ones the
    // draft sees when decoding.
    for (const int c : chosen) {
        const auto i = static_cast<std::size_t>(c);
        const DemoSample& s = data.samples[i];
        const data::Episode& e = data.episodes[static_cast<std::size_t>(s.episode)];
        decode::FrameContext ctx = decode::prepareFrame(*m, nullptr, data.inputs[i], e.instruction);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        greedy[i] = decode::decodeFrame(*m, nullptr, ctx, ar).tokens;
        if (greedy[i].size() != 7) throw Error("demo trainer: the target did not decode 7 tokens");
        for (std::size_t j = 0; j < 7; ++j)
            matches += greedy[i][j] == s.tokens[j];
    }
    out.greedyMatch = static_cast<double>(matches) / (7.0 * static_cast<double>(chosen.size()));

    const auto specs = model::draftTensorSpecs(config, out.vocabSize, /*withEmbedding=*/false);
    out.weights = initWeights(specs, o.seed, o.initStd);
    SetWeights w(*out.weights);
    const auto draft = model::DraftHead::create(config, w, *m);
    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        params.push_back(t.requires_grad_(true));
    // embed_tokens as the reference ships it (ignored at run time: the target's is shared).
    out.weights->tensors["embed_tokens.weight"] = m->llm().embedWeight().detach().clone();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0));

    const at::Tensor lmHead = m->llm().lmHeadWeight().detach();
    std::mt19937_64 rng(o.seed);
    const int kPositions = 6;
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        std::vector<int> idx = drawBatch(rng, static_cast<int>(chosen.size()), o.batchSize);
        for (int& i : idx)
            i = chosen[static_cast<std::size_t>(i)];
        std::vector<std::vector<int>> extra;
        for (int i : idx)
            extra.push_back(greedy[static_cast<std::size_t>(i)]);
        Batch b = makeBatch(*m, data, idx, extra);
        b.pixels = pixelsOfSamples(*m, data, idx);
        at::Tensor x, h;
        {
            at::NoGradGuard noGrad;
            x = embedBatch(*m, b);
            h = m->llm().forward(x, at::arange(b.length, at::kLong), nullptr, {}, false).hidden;
        }
        const std::int64_t n = b.length - 1;
        const at::Tensor tokenIn = x.narrow(1, 1, n);
        at::Tensor hiddenIn = h.narrow(1, 0, n);
        const at::Tensor hiddenTarget = h.narrow(1, 1, n);
        if (o.noise > 0)
            hiddenIn = hiddenIn + (at::rand(hiddenIn.sizes(), hiddenIn.options()) - 0.5) * o.noise * 512.0 /
                                      static_cast<double>(b.length);
        const at::Tensor hHat = draft->forward(tokenIn, hiddenIn, at::arange(n, at::kLong), nullptr, {});
        std::vector<std::int64_t> rows, cols;
        for (std::size_t k = 0; k < idx.size(); ++k)
            for (int j = 0; j < kPositions; ++j) {
                rows.push_back(static_cast<std::int64_t>(k));
                cols.push_back(b.promptLength[k] - 1 + j);
            }
        const at::Tensor r = at::tensor(rows), c = at::tensor(cols);
        const at::Tensor pred = hHat.index({r, c}), tgt = hiddenTarget.index({r, c});
        const at::Tensor vloss = at::smooth_l1_loss(pred, tgt);
        const at::Tensor tgtP = at::softmax(at::matmul(tgt, lmHead.t()), -1);
        const at::Tensor predLogits = at::matmul(pred, lmHead.t());
        const at::Tensor ploss = -(tgtP * at::log_softmax(predLogits, -1)).sum(-1).mean();
        const at::Tensor loss = o.valueWeight * vloss + o.probWeight * ploss;
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(loss.item<double>());
        out.draftTop1 = (predLogits.argmax(-1) == tgtP.argmax(-1)).to(at::kFloat).mean().item<double>();
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void saveDemoModel(const std::string& dir, const TrainedTarget& t, const SaveOptions& o) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    writeSet(w, model::vlaTensorSpecs(t.config), *t.weights, o.bf16);
    if (o.maxShardBytes > 0)
        w.writeSharded(dir, o.maxShardBytes);
    else
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), t.config.toJson().dump(2));
    fs::copy_file(t.tokenizerPath, fs::path(dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
    const nlohmann::json stats = {{kDemoStatsKey, {{"action", t.actionStats}}}};
    io::writeFileAtomically((fs::path(dir) / "dataset_statistics.json").string(), stats.dump(2));
}

void saveDraft(const std::string& dir, const TrainedDraft& d, const SaveOptions& o) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    writeSet(w, model::draftTensorSpecs(d.config, d.vocabSize, /*withEmbedding=*/true), *d.weights, o.bf16);
    if (o.maxShardBytes > 0)
        w.writeSharded(dir, o.maxShardBytes);
    else
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), d.config.toJson().dump(2));
}

} // namespace specvla::demo
