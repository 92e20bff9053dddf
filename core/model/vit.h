// SPDX-License-Identifier: MIT
#pragma once

// A timm VisionTransformer featurizer as OpenVLA uses it: the output of one intermediate block
// (get_intermediate_layers, norm=False), prefix tokens dropped. Functional: the weights are plain tensors, so
// they can be zero-copy views of a mapped checkpoint. Torch side: include from .cpp files only.
#include "model/config.h"
#include "model/weights.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace specvla::model {

class VitFeaturizer {
public:
    // Fetches exactly the tensors inference reads, under prefix (e.g. "vision_backbone.featurizer."): the
    // prefix tokens, pos_embed, patch_embed and blocks 0..cfg.featureLayer. Throws Error naming the config
    // field that is inconsistent, or (from the source) the tensor that is missing or has the wrong shape.
    static VitFeaturizer load(WeightSource& weights, const std::string& prefix, const VitConfig& cfg);

    // pixels [B, 3, imageSize, imageSize], any floating dtype, any device (moved to the weights' device and
    // dtype) -> [B, numPatches, hiddenSize] in the weights' dtype: the output of block featureLayer for the
    // patch tokens, without the final norm.
    at::Tensor forward(const at::Tensor& pixels) const;

    const VitConfig& config() const { return m_cfg; }
    const std::string& prefix() const { return m_prefix; }
    c10::ScalarType dtype() const;
    c10::Device device() const;

private:
    struct Block {
        at::Tensor norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias, ls1;
        at::Tensor norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, ls2;
    };

    at::Tensor attention(const Block& block, const at::Tensor& x) const;
    at::Tensor mlp(const Block& block, const at::Tensor& x) const;

    VitConfig m_cfg;
    std::string m_prefix;
    at::Tensor m_clsToken;       // [1, 1, D] or undefined
    at::Tensor m_regToken;       // [1, R, D] or undefined
    at::Tensor m_posEmbed;       // [1, numPatches, D]
    at::Tensor m_patchWeight;    // [D, 3, p, p]
    at::Tensor m_patchBias;      // [D]
    std::vector<Block> m_blocks; // 0..featureLayer
};

// Every tensor of the real checkpoint for this featurizer, in timm module order: all numLayers blocks, the
// final norm and, with withAttnPool, SigLIP's MAP head. used=false for blocks after featureLayer, the final
// norm and attn_pool.
std::vector<TensorSpec> vitTensorSpecs(const std::string& prefix, const VitConfig& cfg, bool withAttnPool);

// Throws Error naming the field (and `what`, e.g. the prefix) when cfg cannot describe a featurizer.
void validateVitConfig(const VitConfig& cfg, const std::string& what);

} // namespace specvla::model
