// SPDX-License-Identifier: MIT
#pragma once

#include "model/config.h"
#include "model/kv_cache.h"
#include "model/weights.h"

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

namespace specvla::model {

// One Llama decoder layer (pre-norm attention with RoPE and grouped heads, SwiGLU MLP), as plain tensors so
// the weights can be views of a mapped checkpoint. The draft head reuses it without the input norm.
struct LlamaLayer {
    at::Tensor inputNorm; // undefined: no input norm (EAGLE draft layer 0)
    at::Tensor q, k, v, o;
    at::Tensor qBias, kBias, vBias; // undefined unless qkv_bias
    at::Tensor postNorm;
    at::Tensor gate, up, down;

    // prefix like "language_model.model.layers.3."
    static LlamaLayer load(WeightSource& w, const std::string& prefix, const LlamaConfig& c, bool inputNorm,
                           bool qkvBias = false);
};

std::vector<TensorSpec> llamaLayerSpecs(const std::string& prefix, const LlamaConfig& c, bool inputNorm,
                                        bool qkvBias = false);

// Rotary tables for positions: cos and sin of shape [n, headDim] in float32.
struct Rope {
    at::Tensor cos, sin;
};
Rope ropeTables(const at::Tensor& positions, int headDim, double theta);

// How the new tokens of a forward pass may attend. Undefined: causal within the new block, everything
// before it visible. A [n, n] bool tensor: the block's own mask (true = may attend; the tree mask), the
// cached prefix fully visible. A [n, past + n] bool tensor: the full mask.
using AttentionMask = at::Tensor;

// For training: the attention probabilities of one layer, [B, heads, n, past + n] float32 (softmax over the
// keys), kept in the autograd graph so a loss on them trains the layers that produced them.
struct AttentionCapture {
    int layer = -1; // -1: no attention probabilities
    at::Tensor probs;
    int hiddenLayer = -1; // -1: none; else the residual stream after that layer, [B, n, D], in the graph
    at::Tensor hidden;
};

// Runs a stack of layers on x [B, n, D] at positions [n] (int64). With a cache (B must be 1) the new keys and
// values are written at [cache.length(), + n) and the cache advances by n. capture, when given, receives
// the attention probabilities of its layer. outputs > 0: only the last `outputs` positions' outputs are
// computed and returned ([B, outputs, D]; the cache still receives every position's keys and values, so later
// passes see the same prefix); the last layer's attention and MLP then skip the other positions. It cannot be
// combined with a capture. 0: every position's.
at::Tensor runLayers(const std::vector<LlamaLayer>& layers, const LlamaConfig& c, at::Tensor x,
                     const at::Tensor& positions, KvCache* cache, const AttentionMask& mask,
                     AttentionCapture* capture = nullptr, std::int64_t outputs = 0);

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps);

struct LlamaOutput {
    at::Tensor logits; // [B, n, vocab] (float32) when requested
    at::Tensor hidden; // [B, n, D] after the final RMSNorm
};

// The language model of OpenVLA: embed_tokens, layers, final norm, lm_head.
class LlamaModel {
public:
    static LlamaModel load(WeightSource& w, const LlamaConfig& c,
                           const std::string& prefix = "language_model.");
    static std::vector<TensorSpec> specs(const LlamaConfig& c, const std::string& prefix = "language_model.");

    const LlamaConfig& config() const { return m_config; }
    at::Tensor embed(const at::Tensor& ids) const; // [B, n] int64 -> [B, n, D]
    // inputEmbeds [B, n, D] at positions [n]; logits for all positions, or for the last one only. lastOnly:
    // hidden and logits of the last position only ([B, 1, ...]), skipping the other positions' work in the
    // last layer (a prefill whose other states nobody reads; the cache still gets every position).
    LlamaOutput forward(const at::Tensor& inputEmbeds, const at::Tensor& positions, KvCache* cache,
                        const AttentionMask& mask = {}, bool logitsForAll = true,
                        AttentionCapture* capture = nullptr, bool lastOnly = false) const;
    at::Tensor logits(const at::Tensor& hidden) const; // float32
    KvCache makeCache(int capacity) const;

    const at::Tensor& embedWeight() const { return m_embed; }
    const at::Tensor& lmHeadWeight() const { return m_lmHead; }
    c10::ScalarType dtype() const { return m_embed.scalar_type(); }
    c10::Device device() const { return m_embed.device(); }

private:
    LlamaConfig m_config;
    at::Tensor m_embed, m_norm, m_lmHead;
    std::vector<LlamaLayer> m_layers;
};

} // namespace specvla::model
