// SPDX-License-Identifier: MIT
#include "model/vla_model.h"

#include "common/error.h"
#include "common/json_file.h"
#include "common/runtime.h"
#include "io/checkpoint.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace specvla::model {
std::shared_ptr<VlaModel> VlaModel::create(const VlaConfig& config, WeightSource& weights,
                                           text::Tokenizer tokenizer, text::PromptStyle style) {
    auto m = std::make_shared<VlaModel>();
    m->m_config = config;
    m->m_vision = VisionTower::load(weights, config);
    m->m_llm = LlamaModel::load(weights, config.text);
    m->m_tokenizer = std::move(tokenizer);
    m->m_actions = decode::ActionTokenizer(config.actionVocabBase(), config.nActionBins);
    m->m_style = style;
    m->m_stats = config.normStats;
    return m;
}

std::shared_ptr<VlaModel> VlaModel::load(const std::string& dir, const LoadOptions& options,
                                         LoadReport* report) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!fs::is_directory(dir)) throw Error(dir + ": not a model folder");
    if (options.device.is_cuda() && !cudaAvailable())
        throw Error("device " + options.device.str() + " requested, but " +
                    (cudaCompiledIn() ? "no CUDA device is available" : "this build has no CUDA support"));
    const VlaConfig config = VlaConfig::fromFile((fs::path(dir) / "config.json").string());
    auto checkpoint = std::make_shared<const io::Checkpoint>(io::Checkpoint::open(dir));
    const std::string tokPath = (fs::path(dir) / "tokenizer.model").string();
    text::Tokenizer tokenizer;
    if (!fs::exists(tokPath)) {
        if (options.requireTokenizer) throw Error(dir + ": missing tokenizer.model");
    } else {
        try {
            tokenizer = text::Tokenizer::load(tokPath);
        } catch (const Error&) {
            if (options.requireTokenizer) throw;
        }
    }

    CheckpointWeights weights(checkpoint, options.dtype, options.device);
    auto m = create(config, weights, tokenizer, text::promptStyleForModel(fs::path(dir).filename().string()));
    m->m_dir = dir;
    m->m_checkpoint = checkpoint;
    const auto statsPath = fs::path(dir) / "dataset_statistics.json";
    if (fs::exists(statsPath)) {
        const nlohmann::json stats = readJsonFile(statsPath.string());
        if (!stats.is_object()) throw Error(statsPath.string() + ": expected an object keyed by dataset");
        for (auto it = stats.begin(); it != stats.end(); ++it)
            m->m_stats[it.key()] = *it;
    }
    m->m_unnormKey = options.unnormKey;
    if (!options.unnormKey.empty()) m->normStats(); // fail now, listing the keys, if it does not exist

    if (report) {
        report->dir = dir;
        report->tensorsLoaded = weights.requested().size();
        report->mappedBytes = weights.mappedBytes();
        report->copiedBytes = weights.copiedBytes();
        report->checkpointBytes = checkpoint->totalBytes();
        report->unusedKeys = weights.unusedKeys();
        report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return m;
}

decode::NormStats VlaModel::normStats(const std::string& key) const {
    const std::string source = m_dir.empty() ? std::string("model statistics") : m_dir + " (norm_stats)";
    return decode::NormStats::fromJson(m_stats, key.empty() ? m_unnormKey : key, source);
}

std::vector<std::string> VlaModel::normStatsKeys() const {
    std::vector<std::string> keys;
    for (auto it = m_stats.begin(); it != m_stats.end(); ++it)
        keys.push_back(it.key());
    return keys;
}

std::vector<int> VlaModel::promptIds(const std::string& instruction) const {
    if (!m_tokenizer.isLoaded())
        throw Error((m_dir.empty() ? std::string("model") : m_dir) +
                    ": no tokenizer loaded; prompts need tokenizer.model");
    return text::buildPromptIds(m_tokenizer, instruction, m_style);
}

at::Tensor VlaModel::encodeImage(const at::Tensor& pixels) const {
    return m_vision.forward(pixels.to(device(), dtype()));
}

at::Tensor VlaModel::multimodalEmbeds(const at::Tensor& patches, const std::vector<int>& promptIds) const {
    if (promptIds.empty()) throw Error("empty prompt: it must start with BOS");
    std::vector<std::int64_t> ids(promptIds.begin(), promptIds.end());
    const at::Tensor idt = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
    const at::Tensor emb = m_llm.embed(idt); // [1, T, D]
    return at::cat({emb.narrow(1, 0, 1), patches.to(emb.scalar_type()), emb.narrow(1, 1, emb.size(1) - 1)},
                   1);
}

c10::Device parseDevice(const std::string& name) {
    if (name == "cpu") return c10::Device(c10::DeviceType::CPU);
    if (name.rfind("cuda", 0) == 0) {
        if (!cudaCompiledIn())
            throw Error("--device " + name +
                        ": this build has no CUDA support (Debian's libtorch is CPU-only; build "
                        "against a CUDA libtorch with -DSPECVLA_CUDA=ON)");
        if (!cudaAvailable()) throw Error("--device " + name + ": no CUDA device or driver is available");
        try {
            return c10::Device(name);
        } catch (const std::exception&) {
            throw Error("--device " + name + ": not a device name (cpu, cuda, cuda:N)");
        }
    }
    throw Error("--device " + name + ": expected cpu or cuda[:N]");
}

c10::ScalarType parseDtype(const std::string& name) {
    if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
    if (name == "fp32" || name == "float32") return at::kFloat;
    throw Error("--dtype " + name + ": expected bf16 or fp32 (fp16 matmul is not implemented on CPU)");
}

void synchronize(const c10::Device& device) {
#if SPECVLA_WITH_CUDA
    if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
#else
    (void)device;
#endif
}

} // namespace specvla::model
