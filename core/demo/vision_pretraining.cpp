// SPDX-License-Identifier: MIT
// The demo trainer's vision pretraining (TargetTrainOptions::visionSteps) and the scene targets it and the
// language model's attention loss share.
#include "demo/sim.h"
#include "demo/trainer_internal.h"
#include "demo/world.h"

#include <torch/optim.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

namespace specvla::demo::detail {

namespace {

// The scene features by thing for the vision read-out: the gripper (6 features), each block colour (4) and
// the plate and the bowl (3 each), each group padded to kGroupWidth.
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

at::Tensor sceneGroupMask() {
    at::Tensor mask = at::zeros({kSceneGroups, kGroupWidth});
    for (int g = 0; g < kSceneGroups; ++g)
        mask[g].narrow(0, 0, kGroupSpans[static_cast<std::size_t>(g)].count).fill_(1.0);
    return mask;
}

} // namespace

bool isVisionTensor(const std::string& name) {
    return name.rfind("vision_backbone.", 0) == 0 || name.rfind("projector.", 0) == 0;
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

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

void pretrainVision(const model::VlaModel& m, TrainedTarget& out, const std::set<std::string>& used,
                    const DemoDataset& data, const TargetTrainOptions& o, int checkFrames,
                    const TrainProgress& visionProgress) {
    const auto n = static_cast<int>(data.samples.size());
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
        return at::tensor(wanted).view({static_cast<std::int64_t>(idx.size()), kSceneGroups, kGroupWidth});
    };
    const int P = out.config.numPatches();
    const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
    if (o.visionAttentionWeight > 0 && grid * grid != P)
        throw Error("demo trainer: the attention targets need a square patch grid, not " + std::to_string(P) +
                    " patches");
    at::Tensor logAttention, lastFeatures; // [B, P, G] and [B, P, D] of the last read-out
    auto readOut = [&](const std::vector<int>& idx) {
        const at::Tensor f =
            m.vision().forward(pixelsOfSamples(m, data, idx).to(m.dtype())).to(at::kFloat); // [B, P, D]
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
            attentionTargets(data.states[static_cast<std::size_t>(idx[static_cast<std::size_t>(k)])], grid,
                             target.data() + k * kSceneGroups * P, present.data() + k * kSceneGroups,
                             position.data() + k * kSceneGroups * 2);
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
        at::Tensor loss;
        {
            Bf16Compute lowPrecision(o.bf16Compute);
            loss = ((readOut(idx).to(at::kFloat) - y).pow(2) * mask).sum() /
                   (mask.sum() * static_cast<double>(idx.size()));
            if (o.visionAttentionWeight > 0)
                loss = loss + o.visionAttentionWeight * attentionLoss(idx).to(at::kFloat);
        }
        applyStep(vopt, loss, vparams, o.clipNorm);
        out.visionLosses.push_back(loss.item<double>());
        if (visionProgress) visionProgress(step, out.visionLosses.back());
    }
    stopTraining(vparams);
    if (checkFrames > 0) {
        const at::NoGradGuard noGrad;
        std::vector<double> gripper, blocks, height, opening;
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
                    const double dx = pred[k][g][at] - y[k][g][at], dy = pred[k][g][at + 1] - y[k][g][at + 1];
                    return 30.0 * std::hypot(dx, dy); // centimetres
                };
                gripper.push_back(planar(0, 0));
                // The gripper's height is (z - 0.15 m) / 0.15 m, its opening 2 * opening - 1.
                height.push_back(15.0 * std::abs(pred[k][0][2] - y[k][0][2]));
                opening.push_back(0.5 * std::abs(pred[k][0][3] - y[k][0][3]));
                for (std::int64_t g = 1; g <= 6; ++g)
                    if (y[k][g][0] > 0) blocks.push_back(planar(g, 1));
            }
        }
        out.visionCheckFrames = checkFrames;
        out.visionGripperErrorCm = median(gripper);
        out.visionBlockErrorCm = median(blocks);
        out.visionGripperHeightErrorCm = median(height);
        out.visionOpeningError = median(opening);
    }
}

} // namespace specvla::demo::detail
