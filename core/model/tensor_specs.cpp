// SPDX-License-Identifier: MIT
#include "model/tensor_specs.h"

#include "model/llama.h"
#include "model/vision_tower.h"

namespace specvla::model {

std::vector<TensorSpec> vlaTensorSpecs(const VlaConfig& config) {
    std::vector<TensorSpec> specs = visionTensorSpecs(config);
    for (auto& s : LlamaModel::specs(config.text))
        specs.push_back(std::move(s));
    return specs;
}

std::vector<TensorSpec> draftTensorSpecs(const DraftConfig& c, int vocabSize, bool withEmbedding) {
    std::vector<TensorSpec> s;
    s.push_back({"fc.weight", {c.hiddenSize, 2 * c.hiddenSize}});
    s.push_back({"fc.bias", {c.hiddenSize}});
    const LlamaConfig l = c.asLlama(vocabSize);
    for (int i = 0; i < c.numLayers; ++i)
        for (auto& t :
             llamaLayerSpecs("layers." + std::to_string(i) + ".", l, /*inputNorm=*/i > 0, c.qkvBias))
            s.push_back(std::move(t));
    if (withEmbedding) s.push_back({"embed_tokens.weight", {vocabSize, c.hiddenSize}, false});
    return s;
}

} // namespace specvla::model
