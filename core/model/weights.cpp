// SPDX-License-Identifier: MIT
#include "model/weights.h"

#include "common/error.h"
#include "io/tensor_view.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

namespace specvla::model {

std::string shapeString(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

CheckpointWeights::CheckpointWeights(std::shared_ptr<const io::Checkpoint> checkpoint, c10::ScalarType dtype,
                                     c10::Device device, std::string prefix)
    : m_checkpoint(std::move(checkpoint)), m_dtype(dtype), m_device(device), m_prefix(std::move(prefix)) {}

std::string CheckpointWeights::describe() const {
    return m_checkpoint->indexPath().empty() ? m_checkpoint->source() : m_checkpoint->indexPath();
}

at::Tensor CheckpointWeights::get(const std::string& name, const std::vector<std::int64_t>& shape) {
    const std::string full = m_prefix + name;
    m_requested.insert(full);
    const io::CheckpointEntry* e = m_checkpoint->find(full);
    if (!e)
        throw Error(describe() + ": missing tensor '" + full + "' (expected shape " + shapeString(shape) +
                    ")");
    const std::string shard = std::filesystem::path(m_checkpoint->shardPaths()[e->shard]).filename().string();
    if (e->info.shape != shape)
        throw Error(describe() + ": tensor '" + full + "' in " + shard + " has shape " +
                    e->info.shapeString() + ", expected " + shapeString(shape));
    switch (e->info.dtype) {
    case io::DType::F32:
    case io::DType::BF16:
    case io::DType::F16:
    case io::DType::F64:
        break;
    default:
        throw Error(describe() + ": tensor '" + full + "' in " + shard + " has dtype " +
                    io::dtypeName(e->info.dtype) + ", expected a floating-point dtype (F32, BF16, F16, F64)");
    }
    at::Tensor t = io::tensorView(m_checkpoint->shard(e->shard), e->info);
    if (t.scalar_type() == m_dtype && m_device.is_cpu() &&
        io::isZeroCopy(m_checkpoint->shard(e->shard), e->info)) {
        m_mappedBytes += e->info.byteSize();
        return t;
    }
    at::Tensor converted = t.to(m_device, m_dtype, /*non_blocking=*/false, /*copy=*/true);
    m_copiedBytes += static_cast<std::uint64_t>(converted.nbytes());
    return converted;
}

std::vector<std::string> CheckpointWeights::unusedKeys() const {
    std::vector<std::string> unused;
    for (const auto& e : m_checkpoint->tensors())
        if (e.info.name.compare(0, m_prefix.size(), m_prefix) == 0 && !m_requested.count(e.info.name))
            unused.push_back(e.info.name);
    return unused;
}

RandomWeights::RandomWeights(std::uint64_t seed, double std, c10::ScalarType dtype)
    : m_seed(seed), m_std(std), m_dtype(dtype) {}

std::string RandomWeights::describe() const {
    return "random weights (seed " + std::to_string(m_seed) + ")";
}

at::Tensor RandomWeights::get(const std::string& name, const std::vector<std::int64_t>& shape) {
    m_requested.insert(name);
    // FNV-1a of the name: every tensor gets its own stream, independent of the order of requests.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : name)
        h = (h ^ ch) * 1099511628211ull;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(m_seed ^ h);
    at::Tensor t = at::normal(0.0, m_std, shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool isNormWeight = name.find("norm") != std::string::npos && name.size() > 7 &&
                              name.compare(name.size() - 7, 7, ".weight") == 0;
    const bool isScale = name.find("scale_factor") != std::string::npos;
    if (isNormWeight || isScale) t.add_(1.0);
    return t.to(m_dtype);
}

} // namespace specvla::model
