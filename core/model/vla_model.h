// SPDX-License-Identifier: MIT
#pragma once

// The OpenVLA composite: fused vision backbone + projector + Llama decoder, with its tokenizer, prompt style
// and action statistics. Torch side: include from .cpp files only (the UI sees decode traces instead).
#include "decode/action_tokenizer.h"
#include "model/config.h"
#include "model/llama.h"
#include "model/vision_tower.h"
#include "text/prompt.h"
#include "text/tokenizer.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace specvla::model {

struct LoadOptions {
    c10::Device device = c10::Device(c10::DeviceType::CPU);
    c10::ScalarType dtype = c10::ScalarType::BFloat16;
    std::string unnormKey; // dataset statistics key; empty: the only one, if there is exactly one
    // false: a missing tokenizer.model (or SentencePiece plug-in) is tolerated; prompts must then be given as
    // token ids (synthetic benchmarks, the engine-only build).
    bool requireTokenizer = true;
};

struct LoadReport {
    std::string dir;
    std::size_t tensorsLoaded = 0;
    std::uint64_t mappedBytes = 0; // served as zero-copy views of the mapped checkpoint
    std::uint64_t copiedBytes = 0; // converted to another dtype or moved to the device
    std::uint64_t checkpointBytes = 0;
    std::vector<std::string>
        unusedKeys; // in the checkpoint, never read (expected: unused ViT tail, attn_pool)
    double seconds = 0;
};

class VlaModel {
public:
    // dir holds config.json, model.safetensors(.index.json) and shards, tokenizer.model and optionally
    // dataset_statistics.json (which extends config.json's norm_stats, as OpenVLA's eval does). Every tensor
    // is checked by name and shape before use; the first mismatch is named. Throws Error.
    static std::shared_ptr<VlaModel> load(const std::string& dir, const LoadOptions& options = {},
                                          LoadReport* report = nullptr);
    // For trainers and tests: a model from any weight source.
    static std::shared_ptr<VlaModel> create(const VlaConfig& config, WeightSource& weights,
                                            text::Tokenizer tokenizer,
                                            text::PromptStyle style = text::PromptStyle::OpenVlaV1);

    const VlaConfig& config() const { return m_config; }
    const VisionTower& vision() const { return m_vision; }
    const LlamaModel& llm() const { return m_llm; }
    const text::Tokenizer& tokenizer() const { return m_tokenizer; }
    const decode::ActionTokenizer& actionTokenizer() const { return m_actions; }
    text::PromptStyle promptStyle() const { return m_style; }
    c10::Device device() const { return m_llm.device(); }
    c10::ScalarType dtype() const { return m_llm.dtype(); }
    const std::string& directory() const { return m_dir; }

    // The statistics for key (or the load-time key, or the only one); Error listing the available keys.
    decode::NormStats normStats(const std::string& key = "") const;
    std::vector<std::string> normStatsKeys() const;

    // [BOS] + prompt + the lone-space token (29871 for Llama-2), as OpenVLA's predict_action builds it.
    std::vector<int> promptIds(const std::string& instruction) const;
    // pixels [1, 6, H, W] normalised for the two backbones -> projected patches [1, P, D].
    at::Tensor encodeImage(const at::Tensor& pixels) const;
    // [emb(BOS), patches, emb(prompt[1:])]: [1, 1 + P + T - 1, D]. The layout of OpenVLA's prefill.
    at::Tensor multimodalEmbeds(const at::Tensor& patches, const std::vector<int>& promptIds) const;
    // Normalisation constants of the two backbones, for vision::pixelValues.
    const VitConfig& featurizerConfig() const { return m_config.featurizer; }
    const VitConfig& fusedFeaturizerConfig() const { return m_config.fusedFeaturizer; }

private:
    VlaConfig m_config;
    VisionTower m_vision;
    LlamaModel m_llm;
    text::Tokenizer m_tokenizer;
    decode::ActionTokenizer m_actions;
    text::PromptStyle m_style = text::PromptStyle::OpenVlaV1;
    nlohmann::json m_stats = nlohmann::json::object();
    std::string m_unnormKey;
    std::string m_dir;
    std::shared_ptr<const io::Checkpoint> m_checkpoint; // keeps the mapping of zero-copy weights alive
};

// Device and dtype from CLI-style names: "cpu" / "cuda" / "cuda:1", "bf16" / "fp32". Throws Error with the
// reason when CUDA is not compiled in or no device is present.
c10::Device parseDevice(const std::string& name);
c10::ScalarType parseDtype(const std::string& name);
// Waits for the device's queued work (CUDA) so that wall-clock timings are honest.
void synchronize(const c10::Device& device);

} // namespace specvla::model
