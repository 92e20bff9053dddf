// SPDX-License-Identifier: MIT
#pragma once

// The EAGLE / Spec-VLA draft head: x = fc([token embedding ‖ target hidden]), one Llama decoder layer without
// input norm, no final norm, the target's lm_head. The embedding and lm_head are the target's (shared).
#include "model/config.h"
#include "model/llama.h"
#include "model/weights.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace specvla::model {

class VlaModel;

class DraftHead {
public:
    // dir holds config.json and model.safetensors, or pytorch_model.bin (a torch.save state dict, read with
    // libtorch's restricted unpickler, which runs no code). The head takes the target's dtype and device.
    static std::shared_ptr<DraftHead> load(const std::string& dir, const VlaModel& target);
    static std::shared_ptr<DraftHead> create(const DraftConfig& config, WeightSource& weights,
                                             const VlaModel& target);

    const DraftConfig& config() const { return m_config; }
    const LlamaConfig& layerConfig() const { return m_llama; }
    // tokenEmbeds and targetHidden [1, n, D] at positions [n] -> draft hidden states [1, n, D], or with
    // lastOnly the last position's [1, 1, D] (the others' keys and values still enter the cache; the layer's
    // attention and MLP skip them, as a prompt pass needs only the last state).
    at::Tensor forward(const at::Tensor& tokenEmbeds, const at::Tensor& targetHidden,
                       const at::Tensor& positions, KvCache* cache, const AttentionMask& mask = {},
                       bool lastOnly = false) const;
    at::Tensor logits(const at::Tensor& draftHidden) const; // through the target's lm_head, float32
    at::Tensor embed(const at::Tensor& ids) const;          // the target's embedding
    KvCache makeCache(int capacity) const;
    const std::string& directory() const { return m_dir; }
    std::vector<std::string> unusedKeys() const { return m_unused; }

private:
    DraftConfig m_config;
    LlamaConfig m_llama;
    at::Tensor m_fcWeight, m_fcBias;
    std::vector<LlamaLayer> m_layers;
    at::Tensor m_embed, m_lmHead; // the target's
    std::string m_dir;
    std::vector<std::string> m_unused;
};

// Reads a torch.save'd state dict (zip format) into name -> tensor, without running code. Throws Error naming
// the file when it is not such a file or holds something other than tensors.
std::vector<std::pair<std::string, at::Tensor>> readTorchStateDict(const std::string& path);
// Writes one (tests and tools): torch.load in Python reads it back.
void writeTorchStateDict(const std::string& path,
                         const std::vector<std::pair<std::string, at::Tensor>>& tensors);

} // namespace specvla::model
