// SPDX-License-Identifier: MIT
#pragma once

// Where model code gets its tensors: a checkpoint (zero-copy views, shape-checked by name) or a seeded random
// initialisation (tests, trainers). Torch side: include from .cpp files only.
#include "io/checkpoint.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace specvla::model {

// A tensor name and shape of the real checkpoint layout. used=false marks tensors the checkpoint carries but
// inference never reads (DINOv2 block 23, SigLIP block 26 and attn_pool, the final ViT norms).
struct TensorSpec {
    std::string name;
    std::vector<std::int64_t> shape;
    bool used = true;
};

class WeightSource {
public:
    virtual ~WeightSource() = default;
    // The tensor `name` with exactly `shape`, in the source's dtype and device. Throws Error naming the
    // source, the tensor, the expected and the actual shape (or that it is missing).
    virtual at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) = 0;
    virtual std::string describe() const = 0;
    // Every name get() was called with.
    const std::set<std::string>& requested() const { return m_requested; }

protected:
    std::set<std::string> m_requested;
};

// Tensors of a safetensors checkpoint. Where the stored dtype equals `dtype` and the device is the CPU, the
// tensor is a view of the mapped file (no copy); otherwise it is converted once.
class CheckpointWeights : public WeightSource {
public:
    CheckpointWeights(std::shared_ptr<const io::Checkpoint> checkpoint, c10::ScalarType dtype,
                      c10::Device device, std::string prefix = "");
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override;
    std::string describe() const override;
    // Tensors of the checkpoint (under the prefix) that no get() asked for.
    std::vector<std::string> unusedKeys() const;
    std::uint64_t copiedBytes() const { return m_copiedBytes; } // bytes that had to be converted or moved
    std::uint64_t mappedBytes() const { return m_mappedBytes; } // bytes served as zero-copy views

private:
    std::shared_ptr<const io::Checkpoint> m_checkpoint;
    c10::ScalarType m_dtype;
    c10::Device m_device;
    std::string m_prefix;
    std::uint64_t m_copiedBytes = 0, m_mappedBytes = 0;
};

// Seeded random tensors, one independent stream per name: norm weights and LayerScale factors 1 + N(0, std),
// everything else (biases included, so tests see them) N(0, std).
class RandomWeights : public WeightSource {
public:
    explicit RandomWeights(std::uint64_t seed, double std = 0.02,
                           c10::ScalarType dtype = c10::ScalarType::Float);
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override;
    std::string describe() const override;

private:
    std::uint64_t m_seed;
    double m_std;
    c10::ScalarType m_dtype;
};

std::string shapeString(const std::vector<std::int64_t>& shape);

} // namespace specvla::model
