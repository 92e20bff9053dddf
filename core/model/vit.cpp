// SPDX-License-Identifier: MIT
#include "model/vit.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

namespace specvla::model {

namespace {

std::string blockName(const std::string& prefix, int index, const std::string& rest) {
    return prefix + "blocks." + std::to_string(index) + "." + rest;
}

void requirePositive(int value, const char* field, const std::string& what) {
    if (value <= 0)
        throw Error(what + ": VitConfig." + field + " must be positive, got " + std::to_string(value));
}

bool isFloating(c10::ScalarType t) {
    return t == at::kFloat || t == at::kDouble || t == at::kBFloat16 || t == at::kHalf;
}

// libtorch 1.13's CPU LayerNorm kernel is several times slower in bf16 than in float32 (measured, one thread,
// [261, 1024]: 3.0 ms against 0.4 ms including both conversions); float32 statistics are what the GPU kernels
// use internally anyway.
at::Tensor layerNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps) {
    const auto dim = x.size(-1);
    if (x.is_cpu() && x.scalar_type() == at::kBFloat16)
        return at::layer_norm(x.to(at::kFloat), {dim}, weight.to(at::kFloat), bias.to(at::kFloat), eps)
            .to(at::kBFloat16);
    return at::layer_norm(x, {dim}, weight, bias, eps);
}

} // namespace

void validateVitConfig(const VitConfig& cfg, const std::string& what) {
    requirePositive(cfg.imageSize, "imageSize", what);
    requirePositive(cfg.patchSize, "patchSize", what);
    requirePositive(cfg.hiddenSize, "hiddenSize", what);
    requirePositive(cfg.numLayers, "numLayers", what);
    requirePositive(cfg.numHeads, "numHeads", what);
    requirePositive(cfg.mlpSize, "mlpSize", what);
    if (cfg.imageSize % cfg.patchSize != 0)
        throw Error(what + ": VitConfig.imageSize " + std::to_string(cfg.imageSize) +
                    " is not a multiple of patchSize " + std::to_string(cfg.patchSize));
    if (cfg.hiddenSize % cfg.numHeads != 0)
        throw Error(what + ": VitConfig.hiddenSize " + std::to_string(cfg.hiddenSize) +
                    " is not a multiple of numHeads " + std::to_string(cfg.numHeads));
    if (cfg.numRegisters < 0)
        throw Error(what + ": VitConfig.numRegisters must not be negative, got " +
                    std::to_string(cfg.numRegisters));
    if (cfg.featureLayer < 0 || cfg.featureLayer >= cfg.numLayers)
        throw Error(what + ": VitConfig.featureLayer " + std::to_string(cfg.featureLayer) +
                    " is outside the blocks 0.." + std::to_string(cfg.numLayers - 1));
    if (cfg.act != "gelu" && cfg.act != "gelu_tanh")
        throw Error(what + ": VitConfig.act must be \"gelu\" or \"gelu_tanh\", got \"" + cfg.act + "\"");
    if (!(cfg.layerNormEps > 0.0)) throw Error(what + ": VitConfig.layerNormEps must be positive");
}

VitFeaturizer VitFeaturizer::load(WeightSource& weights, const std::string& prefix, const VitConfig& cfg) {
    validateVitConfig(cfg, prefix.empty() ? std::string("ViT featurizer") : prefix);
    const std::int64_t d = cfg.hiddenSize;
    const std::int64_t m = cfg.mlpSize;
    const std::int64_t p = cfg.patchSize;

    VitFeaturizer vit;
    vit.m_cfg = cfg;
    vit.m_prefix = prefix;
    if (cfg.classToken) vit.m_clsToken = weights.get(prefix + "cls_token", {1, 1, d});
    if (cfg.numRegisters > 0) vit.m_regToken = weights.get(prefix + "reg_token", {1, cfg.numRegisters, d});
    vit.m_posEmbed = weights.get(prefix + "pos_embed", {1, cfg.numPatches(), d});
    vit.m_patchWeight = weights.get(prefix + "patch_embed.proj.weight", {d, 3, p, p});
    vit.m_patchBias = weights.get(prefix + "patch_embed.proj.bias", {d});

    vit.m_blocks.reserve(static_cast<std::size_t>(cfg.featureLayer + 1));
    for (int i = 0; i <= cfg.featureLayer; ++i) {
        auto get = [&](const std::string& rest, const std::vector<std::int64_t>& shape) {
            return weights.get(blockName(prefix, i, rest), shape);
        };
        Block b;
        b.norm1Weight = get("norm1.weight", {d});
        b.norm1Bias = get("norm1.bias", {d});
        b.qkvWeight = get("attn.qkv.weight", {3 * d, d});
        b.qkvBias = get("attn.qkv.bias", {3 * d});
        b.projWeight = get("attn.proj.weight", {d, d});
        b.projBias = get("attn.proj.bias", {d});
        if (cfg.layerScale) b.ls1 = get("ls1.scale_factor", {d});
        b.norm2Weight = get("norm2.weight", {d});
        b.norm2Bias = get("norm2.bias", {d});
        b.fc1Weight = get("mlp.fc1.weight", {m, d});
        b.fc1Bias = get("mlp.fc1.bias", {m});
        b.fc2Weight = get("mlp.fc2.weight", {d, m});
        b.fc2Bias = get("mlp.fc2.bias", {d});
        if (cfg.layerScale) b.ls2 = get("ls2.scale_factor", {d});
        vit.m_blocks.push_back(std::move(b));
    }

    // Mixed dtypes or devices would fail deep inside an op with a message that names no tensor.
    const auto dtype = vit.m_posEmbed.scalar_type();
    const auto device = vit.m_posEmbed.device();
    if (!isFloating(dtype))
        throw Error(prefix + "pos_embed: expected a floating-point tensor, got " +
                    std::string(c10::toString(dtype)));
    auto check = [&](const at::Tensor& t, const std::string& name) {
        if (t.defined() && (t.scalar_type() != dtype || t.device() != device))
            throw Error(prefix + name + ": dtype/device " + std::string(c10::toString(t.scalar_type())) +
                        "/" + t.device().str() + " differs from pos_embed's " +
                        std::string(c10::toString(dtype)) + "/" + device.str());
    };
    check(vit.m_clsToken, "cls_token");
    check(vit.m_regToken, "reg_token");
    check(vit.m_patchWeight, "patch_embed.proj.weight");
    check(vit.m_patchBias, "patch_embed.proj.bias");
    for (std::size_t i = 0; i < vit.m_blocks.size(); ++i) {
        const auto& b = vit.m_blocks[i];
        const std::string n = "blocks." + std::to_string(i) + ".";
        const std::pair<const at::Tensor*, const char*> tensors[] = {
            {&b.norm1Weight, "norm1.weight"},    {&b.norm1Bias, "norm1.bias"},
            {&b.qkvWeight, "attn.qkv.weight"},   {&b.qkvBias, "attn.qkv.bias"},
            {&b.projWeight, "attn.proj.weight"}, {&b.projBias, "attn.proj.bias"},
            {&b.ls1, "ls1.scale_factor"},        {&b.norm2Weight, "norm2.weight"},
            {&b.norm2Bias, "norm2.bias"},        {&b.fc1Weight, "mlp.fc1.weight"},
            {&b.fc1Bias, "mlp.fc1.bias"},        {&b.fc2Weight, "mlp.fc2.weight"},
            {&b.fc2Bias, "mlp.fc2.bias"},        {&b.ls2, "ls2.scale_factor"}};
        for (const auto& [t, rest] : tensors)
            check(*t, n + rest);
    }
    return vit;
}

c10::ScalarType VitFeaturizer::dtype() const {
    return m_posEmbed.defined() ? m_posEmbed.scalar_type() : at::kFloat;
}

c10::Device VitFeaturizer::device() const {
    return m_posEmbed.defined() ? m_posEmbed.device() : c10::Device(c10::kCPU);
}

at::Tensor VitFeaturizer::attention(const Block& b, const at::Tensor& x) const {
    const auto batch = x.size(0);
    const auto tokens = x.size(1);
    const std::int64_t heads = m_cfg.numHeads;
    const std::int64_t headDim = m_cfg.headDim();

    // qkv rows are [q; k; v], each split into heads of headDim (timm's reshape(B, N, 3, H, hd)).
    auto qkv = at::linear(x, b.qkvWeight, b.qkvBias).view({batch, tokens, 3, heads, headDim});
    qkv = qkv.permute({2, 0, 3, 1, 4}); // [3, B, H, N, hd]
    const auto q = qkv.select(0, 0) * (1.0 / std::sqrt(static_cast<double>(headDim)));
    const auto k = qkv.select(0, 1);
    const auto v = qkv.select(0, 2);

    // Softmax accumulates in float32 even for bf16/fp16 weights: 261 logits per row lose too much otherwise.
    const auto scores = at::matmul(q, k.transpose(-2, -1));
    const auto probs = at::softmax(scores, -1, at::kFloat).to(x.scalar_type());
    const auto out = at::matmul(probs, v).transpose(1, 2).reshape({batch, tokens, heads * headDim});
    return at::linear(out, b.projWeight, b.projBias);
}

at::Tensor VitFeaturizer::mlp(const Block& b, const at::Tensor& x) const {
    const auto hidden =
        at::gelu(at::linear(x, b.fc1Weight, b.fc1Bias), m_cfg.act == "gelu_tanh" ? "tanh" : "none");
    return at::linear(hidden, b.fc2Weight, b.fc2Bias);
}

at::Tensor VitFeaturizer::forward(const at::Tensor& pixels) const {
    if (!m_posEmbed.defined()) throw Error("ViT featurizer: forward called before load");
    const std::string what = m_prefix.empty() ? std::string("ViT featurizer") : m_prefix;
    if (!pixels.defined() || pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != m_cfg.imageSize ||
        pixels.size(3) != m_cfg.imageSize) {
        std::ostringstream got;
        if (pixels.defined())
            got << pixels.sizes();
        else
            got << "undefined";
        throw Error(what + ": pixels must be [B, 3, " + std::to_string(m_cfg.imageSize) + ", " +
                    std::to_string(m_cfg.imageSize) + "], got " + got.str());
    }
    if (!isFloating(pixels.scalar_type()))
        throw Error(what + ": pixels must be a floating-point tensor, got " +
                    std::string(c10::toString(pixels.scalar_type())));

    const auto batch = pixels.size(0);
    const std::int64_t d = m_cfg.hiddenSize;
    const auto input = pixels.to(device(), dtype());

    // Patch embedding: [B, D, g, g] -> [B, g*g, D] in row-major patch order (timm flatten(2).transpose(1,
    // 2)).
    auto x = at::conv2d(input, m_patchWeight, m_patchBias, {m_cfg.patchSize, m_cfg.patchSize});
    x = x.flatten(2).transpose(1, 2);
    // no_embed_class: position embeddings belong to the patches only; the prefix tokens are prepended after.
    x = x + m_posEmbed;
    std::vector<at::Tensor> parts;
    if (m_clsToken.defined()) parts.push_back(m_clsToken.expand({batch, 1, d}));
    if (m_regToken.defined()) parts.push_back(m_regToken.expand({batch, m_cfg.numRegisters, d}));
    if (!parts.empty()) {
        parts.push_back(x);
        x = at::cat(parts, 1);
    }

    for (const auto& b : m_blocks) {
        auto a = attention(b, layerNorm(x, b.norm1Weight, b.norm1Bias, m_cfg.layerNormEps));
        x = x + (b.ls1.defined() ? a * b.ls1 : a);
        auto f = mlp(b, layerNorm(x, b.norm2Weight, b.norm2Bias, m_cfg.layerNormEps));
        x = x + (b.ls2.defined() ? f * b.ls2 : f);
    }
    // get_intermediate_layers(norm=False): no final norm, prefix tokens stripped.
    return x.narrow(1, m_cfg.numPrefixTokens(), m_cfg.numPatches()).contiguous();
}

std::vector<TensorSpec> vitTensorSpecs(const std::string& prefix, const VitConfig& cfg, bool withAttnPool) {
    validateVitConfig(cfg, prefix.empty() ? std::string("ViT featurizer") : prefix);
    const std::int64_t d = cfg.hiddenSize;
    const std::int64_t m = cfg.mlpSize;
    const std::int64_t p = cfg.patchSize;
    std::vector<TensorSpec> specs;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape, bool used) {
        specs.push_back(TensorSpec{prefix + name, std::move(shape), used});
    };
    if (cfg.classToken) add("cls_token", {1, 1, d}, true);
    if (cfg.numRegisters > 0) add("reg_token", {1, cfg.numRegisters, d}, true);
    add("pos_embed", {1, cfg.numPatches(), d}, true);
    add("patch_embed.proj.weight", {d, 3, p, p}, true);
    add("patch_embed.proj.bias", {d}, true);
    for (int i = 0; i < cfg.numLayers; ++i) {
        const bool used = i <= cfg.featureLayer;
        const std::string b = "blocks." + std::to_string(i) + ".";
        add(b + "norm1.weight", {d}, used);
        add(b + "norm1.bias", {d}, used);
        add(b + "attn.qkv.weight", {3 * d, d}, used);
        add(b + "attn.qkv.bias", {3 * d}, used);
        add(b + "attn.proj.weight", {d, d}, used);
        add(b + "attn.proj.bias", {d}, used);
        if (cfg.layerScale) add(b + "ls1.scale_factor", {d}, used);
        add(b + "norm2.weight", {d}, used);
        add(b + "norm2.bias", {d}, used);
        add(b + "mlp.fc1.weight", {m, d}, used);
        add(b + "mlp.fc1.bias", {m}, used);
        add(b + "mlp.fc2.weight", {d, m}, used);
        add(b + "mlp.fc2.bias", {d}, used);
        if (cfg.layerScale) add(b + "ls2.scale_factor", {d}, used);
    }
    add("norm.weight", {d}, false);
    add("norm.bias", {d}, false);
    if (withAttnPool) {
        // timm's MAP head (global_pool="map"): one latent query, q / kv / proj linears, LayerNorm and an MLP
        // with the blocks' hidden size.
        add("attn_pool.latent", {1, 1, d}, false);
        add("attn_pool.q.weight", {d, d}, false);
        add("attn_pool.q.bias", {d}, false);
        add("attn_pool.kv.weight", {2 * d, d}, false);
        add("attn_pool.kv.bias", {2 * d}, false);
        add("attn_pool.proj.weight", {d, d}, false);
        add("attn_pool.proj.bias", {d}, false);
        add("attn_pool.norm.weight", {d}, false);
        add("attn_pool.norm.bias", {d}, false);
        add("attn_pool.mlp.fc1.weight", {m, d}, false);
        add("attn_pool.mlp.fc1.bias", {m}, false);
        add("attn_pool.mlp.fc2.weight", {d, m}, false);
        add("attn_pool.mlp.fc2.bias", {d}, false);
    }
    return specs;
}

} // namespace specvla::model
