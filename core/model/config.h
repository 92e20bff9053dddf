// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <vector>

namespace specvla::model {

// One ViT featurizer of the fused vision backbone (timm VisionTransformer semantics, pre-norm blocks).
struct VitConfig {
    int imageSize = 224;
    int patchSize = 14;
    int hiddenSize = 1024;
    int numLayers = 24;
    int numHeads = 16;
    int mlpSize = 4096;
    int numRegisters = 4; // DINOv2 "reg4"
    bool classToken = true;
    bool layerScale = true;   // blocks.N.ls{1,2}.scale_factor
    int featureLayer = 22;    // 0-based block whose output is the feature (second to last by default)
    std::string act = "gelu"; // "gelu" (exact erf) or "gelu_tanh"
    double layerNormEps = 1e-6;
    std::array<double, 3> mean{0.485, 0.456, 0.406};
    std::array<double, 3> std{0.229, 0.224, 0.225};

    int gridSize() const { return imageSize / patchSize; }
    int numPatches() const { return gridSize() * gridSize(); }
    int numPrefixTokens() const { return (classToken ? 1 : 0) + numRegisters; }
    int headDim() const { return hiddenSize / numHeads; }

    static VitConfig dinov2Large();  // vit_large_patch14_reg4_dinov2.lvd142m at 224 px
    static VitConfig siglipSo400m(); // vit_so400m_patch14_siglip_224
};

// The Llama decoder (standard Hugging Face LlamaConfig keys in text_config).
struct LlamaConfig {
    int vocabSize = 32064;
    int hiddenSize = 4096;
    int intermediateSize = 11008;
    int numLayers = 32;
    int numHeads = 32;
    int numKvHeads = 32;
    double rmsNormEps = 1e-6; // transformers 4.40 LlamaConfig default; OpenVLA's config does not set it
    double ropeTheta = 10000.0;
    int maxPositions = 2048;

    int headDim() const { return hiddenSize / numHeads; }
    nlohmann::json toJson() const;
    // Absent keys fall back to the defaults above; source names the file for errors.
    static LlamaConfig fromJson(const nlohmann::json& textConfig, const std::string& source);
};

// A Hugging Face OpenVLA config.json, plus the optional explicit vision sizes of docs/model-config.md.
struct VlaConfig {
    std::string source; // the file it came from, for messages
    std::string modelType = "openvla";
    std::string visionBackboneId = "dinosiglip-vit-so-224px";
    std::string llmBackboneId = "llama2-7b-pure";
    std::vector<std::string> timmModelIds{"vit_large_patch14_reg4_dinov2.lvd142m",
                                          "vit_so400m_patch14_siglip_224"};
    bool useFusedVisionBackbone = true;
    VitConfig featurizer = VitConfig::dinov2Large();
    VitConfig fusedFeaturizer = VitConfig::siglipSo400m();
    LlamaConfig text;
    int padTokenId = 32000;
    int padToMultipleOf = 64;
    int nActionBins = 256;
    nlohmann::json normStats = nlohmann::json::object();

    int visionDim() const {
        return featurizer.hiddenSize + (useFusedVisionBackbone ? fusedFeaturizer.hiddenSize : 0);
    }
    int projectorHidden() const { return 4 * visionDim(); } // "fused-gelu-mlp"
    int numPatches() const { return featurizer.numPatches(); }
    // Action tokens are counted down from here: text vocab size minus the padding rows (32000 for OpenVLA).
    int actionVocabBase() const { return text.vocabSize - padToMultipleOf; }

    nlohmann::json toJson() const;
    static VlaConfig fromJson(const nlohmann::json& config, const std::string& source);
    static VlaConfig fromFile(const std::string& path);

    static VlaConfig openvla7b();
};

// The draft head of EAGLE / Spec-VLA: fc(2d -> d) + one Llama decoder layer without input norm.
struct DraftConfig {
    int hiddenSize = 4096;
    int intermediateSize = 11008;
    int numHeads = 32;
    int numKvHeads = 32;
    int numLayers = 1;
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    bool qkvBias = false;

    LlamaConfig asLlama(int vocabSize) const;
    // One decoder layer of the target's geometry (the EAGLE / Spec-VLA layout).
    static DraftConfig forTarget(const LlamaConfig& target);
    nlohmann::json toJson() const;
    static DraftConfig fromJson(const nlohmann::json& config, const std::string& source);
    static DraftConfig fromFile(const std::string& path);
};

} // namespace specvla::model
