// SPDX-License-Identifier: MIT
#include "model/llama.h"

#include "common/error.h"
#include "model/linear.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace specvla::model {

std::vector<TensorSpec> llamaLayerSpecs(const std::string& p, const LlamaConfig& c, bool inputNorm,
                                        bool qkvBias) {
    const std::int64_t d = c.hiddenSize, kv = static_cast<std::int64_t>(c.numKvHeads) * c.headDim(),
                       m = c.intermediateSize;
    std::vector<TensorSpec> s;
    if (inputNorm) s.push_back({p + "input_layernorm.weight", {d}});
    s.push_back({p + "self_attn.q_proj.weight", {d, d}});
    s.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    s.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    if (qkvBias) {
        s.push_back({p + "self_attn.q_proj.bias", {d}});
        s.push_back({p + "self_attn.k_proj.bias", {kv}});
        s.push_back({p + "self_attn.v_proj.bias", {kv}});
    }
    s.push_back({p + "self_attn.o_proj.weight", {d, d}});
    s.push_back({p + "post_attention_layernorm.weight", {d}});
    s.push_back({p + "mlp.gate_proj.weight", {m, d}});
    s.push_back({p + "mlp.up_proj.weight", {m, d}});
    s.push_back({p + "mlp.down_proj.weight", {d, m}});
    return s;
}

LlamaLayer LlamaLayer::load(WeightSource& w, const std::string& p, const LlamaConfig& c, bool inputNorm,
                            bool qkvBias) {
    LlamaLayer l;
    for (const auto& spec : llamaLayerSpecs(p, c, inputNorm, qkvBias)) {
        const std::string key = spec.name.substr(p.size());
        at::Tensor t = w.get(spec.name, spec.shape);
        if (key == "input_layernorm.weight")
            l.inputNorm = t;
        else if (key == "self_attn.q_proj.weight")
            l.q = t;
        else if (key == "self_attn.k_proj.weight")
            l.k = t;
        else if (key == "self_attn.v_proj.weight")
            l.v = t;
        else if (key == "self_attn.q_proj.bias")
            l.qBias = t;
        else if (key == "self_attn.k_proj.bias")
            l.kBias = t;
        else if (key == "self_attn.v_proj.bias")
            l.vBias = t;
        else if (key == "self_attn.o_proj.weight")
            l.o = t;
        else if (key == "post_attention_layernorm.weight")
            l.postNorm = t;
        else if (key == "mlp.gate_proj.weight")
            l.gate = t;
        else if (key == "mlp.up_proj.weight")
            l.up = t;
        else if (key == "mlp.down_proj.weight")
            l.down = t;
    }
    return l;
}

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    // As Hugging Face Llama: statistics in float32, then back to the activation dtype before the weight.
    const at::Tensor xf = x.to(at::kFloat);
    const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps);
    return weight * normed.to(x.scalar_type());
}

Rope ropeTables(const at::Tensor& positions, int headDim, double theta) {
    const auto f = at::TensorOptions().dtype(at::kFloat).device(positions.device());
    const at::Tensor invFreq =
        1.0 / at::pow(theta, at::arange(0, headDim, 2, f) / static_cast<double>(headDim));
    const at::Tensor freqs = at::outer(positions.to(at::kFloat), invFreq); // [n, headDim / 2]
    const at::Tensor emb = at::cat({freqs, freqs}, -1);
    return {emb.cos(), emb.sin()};
}

namespace {

at::Tensor rotateHalf(const at::Tensor& x) {
    const auto half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor applyRope(const at::Tensor& x, const Rope& r) {
    // x [B, H, n, d]; tables [n, d] broadcast over batch and heads.
    const at::Tensor xf = x.to(at::kFloat);
    return (xf * r.cos + rotateHalf(xf) * r.sin).to(x.scalar_type());
}

// Additive float mask [n, past + n]: 0 where attention is allowed, -inf elsewhere.
at::Tensor additiveMask(const AttentionMask& mask, int64_t past, int64_t n, const at::Device& device) {
    const auto bopts = at::TensorOptions().dtype(at::kBool).device(device);
    at::Tensor allowed;
    if (!mask.defined()) {
        allowed = at::ones({n, n}, bopts).tril();
    } else {
        allowed = mask.to(device, at::kBool);
    }
    if (allowed.dim() != 2 || allowed.size(0) != n || (allowed.size(1) != n && allowed.size(1) != past + n))
        throw Error("attention mask of shape " + shapeString(allowed.sizes().vec()) + " does not fit " +
                    std::to_string(n) + " new tokens after " + std::to_string(past));
    if (allowed.size(1) == n && past > 0) allowed = at::cat({at::ones({n, past}, bopts), allowed}, 1);
    at::Tensor add = at::zeros({n, past + n}, at::TensorOptions().dtype(at::kFloat).device(device));
    return add.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

// Self-attention of the new positions [from, n) of x over the cached prefix and all n new positions: every
// position's keys and values enter the cache, only the queried positions' outputs are computed.
at::Tensor attention(const LlamaLayer& l, const LlamaConfig& c, const at::Tensor& x, const Rope& rope,
                     KvCache* cache, int layerIndex, const at::Tensor& addMask, at::Tensor* probsOut,
                     std::int64_t from) {
    const auto B = x.size(0), n = x.size(1), m = n - from;
    const int H = c.numHeads, KV = c.numKvHeads, hd = c.headDim();
    const at::Tensor xq = from > 0 ? x.narrow(1, from, m) : x;
    at::Tensor q = model::linear(xq, l.q, l.qBias).view({B, m, H, hd}).transpose(1, 2);
    at::Tensor k = model::linear(x, l.k, l.kBias).view({B, n, KV, hd}).transpose(1, 2);
    at::Tensor v = model::linear(x, l.v, l.vBias).view({B, n, KV, hd}).transpose(1, 2);
    q = applyRope(q, from > 0 ? Rope{rope.cos.narrow(0, from, m), rope.sin.narrow(0, from, m)} : rope);
    k = applyRope(k, rope);
    if (cache) {
        const int past = cache->length();
        cache->keys(layerIndex).narrow(2, past, n).copy_(k);
        cache->values(layerIndex).narrow(2, past, n).copy_(v);
        k = cache->keys(layerIndex).narrow(2, 0, past + n);
        v = cache->values(layerIndex).narrow(2, 0, past + n);
    }
    if (KV != H) {
        k = k.repeat_interleave(H / KV, 1);
        v = v.repeat_interleave(H / KV, 1);
    }
    // Scores and softmax in float32 (as Hugging Face upcasts the softmax), values in the model dtype.
    at::Tensor scores =
        at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(-1, -2)) / std::sqrt(double(hd));
    scores = scores + (from > 0 ? addMask.narrow(0, from, m) : addMask);
    const at::Tensor p32 = at::softmax(scores, -1);
    if (probsOut) *probsOut = p32;
    const at::Tensor probs = p32.to(v.scalar_type());
    const at::Tensor out = at::matmul(probs, v).transpose(1, 2).reshape({B, m, H * hd});
    return model::linear(out, l.o);
}

} // namespace

at::Tensor runLayers(const std::vector<LlamaLayer>& layers, const LlamaConfig& c, at::Tensor x,
                     const at::Tensor& positions, KvCache* cache, const AttentionMask& mask,
                     AttentionCapture* capture, std::int64_t outputs) {
    const auto n = x.size(1);
    const int nLayers = static_cast<int>(layers.size());
    if (outputs < 0 || outputs > n)
        throw Error("outputs for " + std::to_string(outputs) + " of " + std::to_string(n) + " positions");
    if (outputs > 0 && capture) throw Error("an attention or hidden-state capture needs every position");
    if (capture && (capture->layer < -1 || capture->layer >= nLayers || capture->hiddenLayer < -1 ||
                    capture->hiddenLayer >= nLayers || (capture->layer < 0 && capture->hiddenLayer < 0)))
        throw Error("capture of layer " + std::to_string(std::max(capture->layer, capture->hiddenLayer)) +
                    " in a stack of " + std::to_string(layers.size()));
    if (positions.dim() != 1 || positions.size(0) != n)
        throw Error("positions must be a vector of " + std::to_string(n) + " entries");
    if (cache) {
        if (x.size(0) != 1) throw Error("a KV cache serves batch size 1 only");
        cache->reserveAppend(static_cast<int>(n));
    }
    const int past = cache ? cache->length() : 0;
    const Rope rope = ropeTables(positions.to(x.device()), c.headDim(), c.ropeTheta);
    const at::Tensor addMask = additiveMask(mask, past, n, x.device());
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LlamaLayer& l = layers[i];
        const at::Tensor h = l.inputNorm.defined() ? rmsNorm(x, l.inputNorm, c.rmsNormEps) : x;
        const bool captured = capture && capture->layer == static_cast<int>(i);
        // The last layer's outputs feed nothing but the result: only the requested last positions need them
        // (every position's keys and values still enter the cache).
        const std::int64_t from = i + 1 == layers.size() && outputs > 0 ? n - outputs : 0;
        const at::Tensor attended = attention(l, c, h, rope, cache, static_cast<int>(i), addMask,
                                              captured ? &capture->probs : nullptr, from);
        x = (from > 0 ? x.narrow(1, from, n - from) : x) + attended;
        const at::Tensor m = rmsNorm(x, l.postNorm, c.rmsNormEps);
        x = x + model::linear(at::silu(model::linear(m, l.gate)) * model::linear(m, l.up), l.down);
        if (capture && capture->hiddenLayer == static_cast<int>(i)) capture->hidden = x;
    }
    if (cache) cache->advance(static_cast<int>(n));
    return x;
}

std::vector<TensorSpec> LlamaModel::specs(const LlamaConfig& c, const std::string& prefix) {
    std::vector<TensorSpec> s;
    s.push_back({prefix + "model.embed_tokens.weight", {c.vocabSize, c.hiddenSize}});
    for (int i = 0; i < c.numLayers; ++i)
        for (auto& t : llamaLayerSpecs(prefix + "model.layers." + std::to_string(i) + ".", c, true))
            s.push_back(std::move(t));
    s.push_back({prefix + "model.norm.weight", {c.hiddenSize}});
    s.push_back({prefix + "lm_head.weight", {c.vocabSize, c.hiddenSize}});
    return s;
}

LlamaModel LlamaModel::load(WeightSource& w, const LlamaConfig& c, const std::string& prefix) {
    LlamaModel m;
    m.m_config = c;
    m.m_embed = w.get(prefix + "model.embed_tokens.weight", {c.vocabSize, c.hiddenSize});
    for (int i = 0; i < c.numLayers; ++i)
        m.m_layers.push_back(
            LlamaLayer::load(w, prefix + "model.layers." + std::to_string(i) + ".", c, true));
    m.m_norm = w.get(prefix + "model.norm.weight", {c.hiddenSize});
    m.m_lmHead = w.get(prefix + "lm_head.weight", {c.vocabSize, c.hiddenSize});
    return m;
}

at::Tensor LlamaModel::embed(const at::Tensor& ids) const {
    return at::embedding(m_embed, ids.to(m_embed.device(), at::kLong));
}

at::Tensor LlamaModel::logits(const at::Tensor& hidden) const {
    return model::linear(hidden, m_lmHead).to(at::kFloat);
}

LlamaOutput LlamaModel::forward(const at::Tensor& inputEmbeds, const at::Tensor& positions, KvCache* cache,
                                const AttentionMask& mask, bool logitsForAll, AttentionCapture* capture,
                                bool lastOnly) const {
    at::Tensor x = runLayers(m_layers, m_config, inputEmbeds.to(dtype()), positions, cache, mask, capture,
                             lastOnly ? 1 : 0);
    LlamaOutput out;
    out.hidden = rmsNorm(x, m_norm, m_config.rmsNormEps);
    out.logits = logits(logitsForAll ? out.hidden : out.hidden.narrow(1, out.hidden.size(1) - 1, 1));
    return out;
}

KvCache LlamaModel::makeCache(int capacity) const {
    return KvCache(m_config.numLayers, m_config.numKvHeads, m_config.headDim(), capacity, dtype(), device());
}

} // namespace specvla::model
