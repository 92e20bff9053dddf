// SPDX-License-Identifier: MIT
#pragma once

// OpenVLA's fused vision backbone (DINOv2 + SigLIP featurizers, features concatenated per patch) and the
// "fused-gelu-mlp" projector into the language model's embedding space. Torch side: include from .cpp files
// only.
#include "model/config.h"
#include "model/vit.h"
#include "model/weights.h"

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace specvla::model {

class VisionTower {
public:
    // Featurizer under "vision_backbone.featurizer.", the fused one under "vision_backbone.fused_featurizer."
    // (when cfg.useFusedVisionBackbone) and "projector.fc{1,2,3}.{weight,bias}".
    static VisionTower load(WeightSource& weights, const VlaConfig& cfg);

    // pixels [B, 6, H, W] (fused: channels 0..2 for the featurizer, 3..5 for the fused featurizer, each
    // normalised with its own mean/std) or [B, 3, H, W] (not fused) -> [B, numPatches, visionDim].
    at::Tensor features(const at::Tensor& pixels) const;
    // [B, N, visionDim] -> [B, N, text.hiddenSize]: fc1, GELU, fc2, GELU, fc3 (exact GELU).
    at::Tensor project(const at::Tensor& features) const;
    // project(features(pixels)).
    at::Tensor forward(const at::Tensor& pixels) const;

    const VitFeaturizer& featurizer() const { return m_featurizer; }
    const VitFeaturizer* fusedFeaturizer() const { return m_fused ? &*m_fused : nullptr; }
    int inputChannels() const { return m_fused ? 6 : 3; }
    c10::ScalarType dtype() const;
    c10::Device device() const;

    // How many times features() ran: on this tower and its copies, and in the whole process. Tests use them
    // to show that cached work did no vision forward.
    std::int64_t featureCalls() const { return m_calls->load(); }
    static std::int64_t totalFeatureCalls();

private:
    VitFeaturizer m_featurizer;
    std::optional<VitFeaturizer> m_fused;
    at::Tensor m_fc1Weight, m_fc1Bias, m_fc2Weight, m_fc2Bias, m_fc3Weight, m_fc3Bias;
    std::shared_ptr<std::atomic<std::int64_t>> m_calls = std::make_shared<std::atomic<std::int64_t>>(0);
};

// Every vision and projector tensor of the real checkpoint: both featurizers (the fused one with its
// attn_pool head) and the projector, with used=false where inference never reads the tensor.
std::vector<TensorSpec> visionTensorSpecs(const VlaConfig& cfg);

} // namespace specvla::model
