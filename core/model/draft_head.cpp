// SPDX-License-Identifier: MIT
#include "model/draft_head.h"

#include "common/error.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "model/linear.h"
#include "model/tensor_specs.h"
#include "model/vla_model.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

namespace fs = std::filesystem;

namespace specvla::model {
namespace {

// Weights from an in-memory state dict (the .bin path), with the same checks as CheckpointWeights.
class DictWeights : public WeightSource {
public:
    DictWeights(std::string source, std::map<std::string, at::Tensor> tensors, c10::ScalarType dtype,
                c10::Device device)
        : m_source(std::move(source)), m_tensors(std::move(tensors)), m_dtype(dtype), m_device(device) {}
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override {
        m_requested.insert(name);
        auto it = m_tensors.find(name);
        if (it == m_tensors.end())
            throw Error(m_source + ": missing tensor '" + name + "' (expected shape " + shapeString(shape) +
                        ")");
        if (it->second.sizes().vec() != shape)
            throw Error(m_source + ": tensor '" + name + "' has shape " +
                        shapeString(it->second.sizes().vec()) + ", expected " + shapeString(shape));
        if (!at::isFloatingType(it->second.scalar_type()))
            throw Error(m_source + ": tensor '" + name + "' has dtype " +
                        c10::toString(it->second.scalar_type()) + ", expected a floating-point dtype");
        return it->second.to(m_device, m_dtype);
    }
    std::string describe() const override { return m_source; }
    std::vector<std::string> unused() const {
        std::vector<std::string> u;
        for (const auto& [k, v] : m_tensors)
            if (!m_requested.count(k)) u.push_back(k);
        return u;
    }

private:
    std::string m_source;
    std::map<std::string, at::Tensor> m_tensors;
    c10::ScalarType m_dtype;
    c10::Device m_device;
};

} // namespace

std::vector<std::pair<std::string, at::Tensor>> readTorchStateDict(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue value;
    try {
        value = torch::jit::pickle_load(bytes);
    } catch (const std::exception& e) {
        std::string what = e.what();
        if (auto nl = what.find('\n'); nl != std::string::npos) what = what.substr(0, nl);
        throw Error(path + ": not a readable torch.save state dict: " + what);
    }
    if (!value.isGenericDict()) throw Error(path + ": expected a dict of tensors, found " + value.tagKind());
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& kv : value.toGenericDict()) {
        if (!kv.key().isString()) throw Error(path + ": state dict key is not a string");
        if (!kv.value().isTensor())
            throw Error(path + ": entry '" + kv.key().toStringRef() + "' is a " + kv.value().tagKind() +
                        ", not a tensor");
        out.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
    }
    return out;
}

void writeTorchStateDict(const std::string& path,
                         const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [k, v] : tensors)
        dict.insert(k, v.contiguous());
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    io::writeFileAtomically(path, std::string(bytes.begin(), bytes.end()));
}

std::shared_ptr<DraftHead> DraftHead::create(const DraftConfig& config, WeightSource& w,
                                             const VlaModel& target) {
    if (config.hiddenSize != target.config().text.hiddenSize)
        throw Error(w.describe() + ": draft hidden_size " + std::to_string(config.hiddenSize) +
                    " differs from the target's " + std::to_string(target.config().text.hiddenSize));
    auto d = std::make_shared<DraftHead>();
    d->m_config = config;
    d->m_llama = config.asLlama(target.config().text.vocabSize);
    d->m_fcWeight = w.get("fc.weight", {config.hiddenSize, 2 * config.hiddenSize});
    d->m_fcBias = w.get("fc.bias", {config.hiddenSize});
    for (int i = 0; i < config.numLayers; ++i)
        d->m_layers.push_back(LlamaLayer::load(w, "layers." + std::to_string(i) + ".", d->m_llama,
                                               /*inputNorm=*/i > 0, config.qkvBias));
    d->m_embed = target.llm().embedWeight();
    d->m_lmHead = target.llm().lmHeadWeight();
    return d;
}

std::shared_ptr<DraftHead> DraftHead::load(const std::string& dir, const VlaModel& target) {
    if (!fs::is_directory(dir)) throw Error(dir + ": not a draft head folder");
    const DraftConfig config = DraftConfig::fromFile((fs::path(dir) / "config.json").string());
    const fs::path st = fs::path(dir) / "model.safetensors", bin = fs::path(dir) / "pytorch_model.bin";
    std::shared_ptr<DraftHead> d;
    if (fs::exists(st) || fs::exists(fs::path(dir) / "model.safetensors.index.json")) {
        auto ckpt = std::make_shared<const io::Checkpoint>(io::Checkpoint::open(dir));
        CheckpointWeights w(ckpt, target.dtype(), target.device());
        d = create(config, w, target);
        d->m_unused = w.unusedKeys();
    } else if (fs::exists(bin)) {
        std::map<std::string, at::Tensor> tensors;
        for (auto& [k, v] : readTorchStateDict(bin.string()))
            tensors[k] = v;
        DictWeights w(bin.string(), std::move(tensors), target.dtype(), target.device());
        d = create(config, w, target);
        d->m_unused = w.unused();
    } else {
        throw Error(dir + ": no model.safetensors or pytorch_model.bin");
    }
    d->m_dir = dir;
    return d;
}

at::Tensor DraftHead::forward(const at::Tensor& tokenEmbeds, const at::Tensor& targetHidden,
                              const at::Tensor& positions, KvCache* cache, const AttentionMask& mask,
                              bool lastOnly) const {
    const auto dt = m_fcWeight.scalar_type();
    const at::Tensor x =
        model::linear(at::cat({tokenEmbeds.to(dt), targetHidden.to(dt)}, -1), m_fcWeight, m_fcBias);
    return runLayers(m_layers, m_llama, x, positions, cache, mask, nullptr, lastOnly ? 1 : 0);
}

at::Tensor DraftHead::logits(const at::Tensor& draftHidden) const {
    return model::linear(draftHidden, m_lmHead).to(at::kFloat);
}

at::Tensor DraftHead::embed(const at::Tensor& ids) const {
    return at::embedding(m_embed, ids.to(m_embed.device(), at::kLong));
}

KvCache DraftHead::makeCache(int capacity) const {
    return KvCache(m_config.numLayers, m_config.numKvHeads, m_llama.headDim(), capacity,
                   m_fcWeight.scalar_type(), m_fcWeight.device());
}

} // namespace specvla::model
