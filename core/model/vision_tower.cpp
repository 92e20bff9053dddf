// SPDX-License-Identifier: MIT
#include "model/vision_tower.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <sstream>

namespace specvla::model {

namespace {

const char* const kFeaturizerPrefix = "vision_backbone.featurizer.";
const char* const kFusedPrefix = "vision_backbone.fused_featurizer.";

std::atomic<std::int64_t> g_totalFeatureCalls{0};

std::string sizesOf(const at::Tensor& t) {
    if (!t.defined()) return "undefined";
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

} // namespace

VisionTower VisionTower::load(WeightSource& weights, const VlaConfig& cfg) {
    VisionTower tower;
    tower.m_featurizer = VitFeaturizer::load(weights, kFeaturizerPrefix, cfg.featurizer);
    if (cfg.useFusedVisionBackbone) {
        const auto& a = cfg.featurizer;
        const auto& b = cfg.fusedFeaturizer;
        // One pixel tensor feeds both, and their patch features are concatenated token by token.
        if (a.imageSize != b.imageSize || a.numPatches() != b.numPatches())
            throw Error(cfg.source + ": the fused featurizer (image " + std::to_string(b.imageSize) + ", " +
                        std::to_string(b.numPatches()) + " patches) must match the featurizer (image " +
                        std::to_string(a.imageSize) + ", " + std::to_string(a.numPatches()) + " patches)");
        tower.m_fused = VitFeaturizer::load(weights, kFusedPrefix, cfg.fusedFeaturizer);
    }

    const std::int64_t v = cfg.visionDim();
    const std::int64_t h = cfg.projectorHidden();
    const std::int64_t t = cfg.text.hiddenSize;
    tower.m_fc1Weight = weights.get("projector.fc1.weight", {h, v});
    tower.m_fc1Bias = weights.get("projector.fc1.bias", {h});
    tower.m_fc2Weight = weights.get("projector.fc2.weight", {t, h});
    tower.m_fc2Bias = weights.get("projector.fc2.bias", {t});
    tower.m_fc3Weight = weights.get("projector.fc3.weight", {t, t});
    tower.m_fc3Bias = weights.get("projector.fc3.bias", {t});
    return tower;
}

c10::ScalarType VisionTower::dtype() const {
    return m_fc1Weight.defined() ? m_fc1Weight.scalar_type() : m_featurizer.dtype();
}

c10::Device VisionTower::device() const {
    return m_fc1Weight.defined() ? m_fc1Weight.device() : m_featurizer.device();
}

std::int64_t VisionTower::totalFeatureCalls() {
    return g_totalFeatureCalls.load();
}

at::Tensor VisionTower::features(const at::Tensor& pixels) const {
    const int channels = inputChannels();
    if (!pixels.defined() || pixels.dim() != 4 || pixels.size(1) != channels)
        throw Error("vision tower: pixels must be [B, " + std::to_string(channels) + ", H, W], got " +
                    sizesOf(pixels));
    m_calls->fetch_add(1);
    g_totalFeatureCalls.fetch_add(1);
    if (!m_fused) return m_featurizer.forward(pixels);
    // Channels 0..2 were normalised for DINOv2, 3..5 for SigLIP (OpenVLA's processor stacks them that way).
    const auto a = m_featurizer.forward(pixels.narrow(1, 0, 3));
    const auto b = m_fused->forward(pixels.narrow(1, 3, 3));
    return at::cat({a, b.to(a.scalar_type())}, -1);
}

at::Tensor VisionTower::project(const at::Tensor& features) const {
    const auto in = m_fc1Weight.size(1);
    if (!features.defined() || features.dim() != 3 || features.size(2) != in)
        throw Error("projector: features must be [B, N, " + std::to_string(in) + "], got " +
                    sizesOf(features));
    auto x = features.to(device(), dtype());
    x = at::gelu(at::linear(x, m_fc1Weight, m_fc1Bias));
    x = at::gelu(at::linear(x, m_fc2Weight, m_fc2Bias));
    return at::linear(x, m_fc3Weight, m_fc3Bias);
}

at::Tensor VisionTower::forward(const at::Tensor& pixels) const {
    return project(features(pixels));
}

std::vector<TensorSpec> visionTensorSpecs(const VlaConfig& cfg) {
    auto specs = vitTensorSpecs(kFeaturizerPrefix, cfg.featurizer, false);
    if (cfg.useFusedVisionBackbone) {
        auto fused = vitTensorSpecs(kFusedPrefix, cfg.fusedFeaturizer, true);
        specs.insert(specs.end(), fused.begin(), fused.end());
    }
    const std::int64_t v = cfg.visionDim();
    const std::int64_t h = cfg.projectorHidden();
    const std::int64_t t = cfg.text.hiddenSize;
    specs.push_back({"projector.fc1.weight", {h, v}, true});
    specs.push_back({"projector.fc1.bias", {h}, true});
    specs.push_back({"projector.fc2.weight", {t, h}, true});
    specs.push_back({"projector.fc2.bias", {t}, true});
    specs.push_back({"projector.fc3.weight", {t, t}, true});
    specs.push_back({"projector.fc3.bias", {t}, true});
    return specs;
}

} // namespace specvla::model
