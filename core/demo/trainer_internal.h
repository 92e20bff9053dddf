// SPDX-License-Identifier: MIT
#pragma once

// What the demo trainer's target (trainer.cpp, vision_pretraining.cpp) and draft (draft_trainer.cpp) training
// share: the trained tensors, the model view of them, minibatches of the demo dataset and the optimiser step.
// Includes libtorch: only those files and trainer_common.cpp include it (and tests that compare tensors).
#include "common/error.h"
#include "demo/dataset.h"
#include "demo/trainer.h"
#include "io/safetensors_writer.h"
#include "model/tensor_specs.h"
#include "model/vla_model.h"
#include "model/weights.h"

#include <ATen/ATen.h>
#include <torch/optim.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace specvla::demo {

// The trained tensors by Hugging Face name, in training order of creation.
struct WeightSet {
    std::map<std::string, at::Tensor> tensors;
};

namespace detail {

// Serves the tensors of a WeightSet: the model holds the very same tensors, so optimiser steps (in place)
// are what the model computes with.
class SetWeights : public model::WeightSource {
public:
    explicit SetWeights(WeightSet& set) : m_set(set) {}
    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override {
        m_requested.insert(name);
        const auto it = m_set.tensors.find(name);
        if (it == m_set.tensors.end()) throw Error("demo trainer: no tensor " + name);
        if (it->second.sizes().vec() != shape)
            throw Error("demo trainer: " + name + " has shape " +
                        model::shapeString(it->second.sizes().vec()) + ", expected " +
                        model::shapeString(shape));
        return it->second;
    }
    std::string describe() const override { return "demo trainer weights"; }

private:
    WeightSet& m_set;
};

// A right-padded batch: [BOS, P patch slots, prompt[1:], extra tokens..., pad...]. Right padding never
// changes a causal forward at the real positions, so one position list serves the whole batch.
struct Batch {
    at::Tensor pixels;             // [B, 6, S, S]
    at::Tensor ids;                // [B, n] int64 (patch slots and padding hold the pad id)
    std::vector<int> promptLength; // L_b = 1 + P + (T_b - 1): BOS + patches + prompt[1:]
    int length = 0;                // n
};

// Every tensor of specs drawn from model::RandomWeights(seed, std), as float32.
std::shared_ptr<WeightSet> initWeights(const std::vector<model::TensorSpec>& specs, std::uint64_t seed,
                                       double std);
// Linear warm-up over `warmup` steps, then cosine decay to base / 10 at `total`.
double learningRate(double base, int step, int warmup, int total);
// One optimiser step on loss: zero the gradients, back-propagate, clip their global norm to clipNorm, step.
void applyStep(torch::optim::AdamW& opt, const at::Tensor& loss, const std::vector<at::Tensor>& params,
               double clipNorm);
void stopTraining(const std::vector<at::Tensor>& params); // requires_grad off
void setLr(torch::optim::AdamW& opt, double lr);

// While it lives (and `on`), matrix products and the other ops CPU autocast lists run in BF16 on the CPU; the
// weights, their gradients and the optimiser stay F32. Leaving the outermost scope drops autocast's cache of
// BF16 weight copies, which the optimiser step would leave stale. Wrap each step's forward and loss in one,
// the optimiser step outside it.
class Bf16Compute {
public:
    explicit Bf16Compute(bool on);
    ~Bf16Compute();
    Bf16Compute(const Bf16Compute&) = delete;
    Bf16Compute& operator=(const Bf16Compute&) = delete;

private:
    bool m_on, m_wasEnabled = false;
    at::ScalarType m_wasType = at::kBFloat16;
};

// The token rows of a batch; its pixels are the caller's (pixelsOfSamples, or none over frozen patches).
Batch makeBatch(const model::VlaModel& m, const DemoDataset& data, const std::vector<int>& indices,
                const std::vector<std::vector<int>>& extra);
// The processor's pixel tensors of the given samples' policy inputs, [B, 6, S, S].
at::Tensor pixelsOfSamples(const model::VlaModel& m, const DemoDataset& data,
                           const std::vector<int>& indices);
// Input embeddings of a batch: token embeddings with the projected patches in the patch slots.
// patchesOut, when given, receives the projected patches [B, P, D].
// frozenPatches: the samples' patch embeddings computed beforehand (b.pixels is then unused).
at::Tensor embedBatch(const model::VlaModel& m, const Batch& b, at::Tensor* patchesOut = nullptr,
                      const at::Tensor& frozenPatches = {});
// `batch` sample indices below size, drawn with replacement.
std::vector<int> drawBatch(std::mt19937_64& rng, int size, int batch);
// A model computing with the target's very tensors.
std::shared_ptr<model::VlaModel> buildTarget(const TrainedTarget& t);
// Adds the tensors of specs from set to w (BF16 or F32); throws Error for one that was not trained.
void writeSet(io::SafetensorsWriter& w, const std::vector<model::TensorSpec>& specs, const WeightSet& set,
              bool bf16);

// The scene features by thing for the vision read-out and the attention targets: the gripper, each block
// colour, the plate and the bowl.
constexpr int kSceneGroups = 1 + 6 + 2;
// Where each scene group's thing appears in the model's grid x grid patches, as a distribution over the
// patches (target, [kSceneGroups, grid * grid]), whether it is on the table and in view (present,
// [kSceneGroups]) and where it is in units of patches (position, [kSceneGroups, 2]).
void attentionTargets(const StateFeatures& f, int grid, float* target, float* present, float* position);
// The tensors of the vision tower and its projector.
bool isVisionTensor(const std::string& name);
// The middle element (the upper one of an even count); 0 for none.
double median(std::vector<double> v);
// TargetTrainOptions::visionSteps: trains the vision tower and projector of `out` (those of its tensors in
// `used`), with read-outs of the scene that are never saved, on samples [0, n - checkFrames), and measures
// the read-out's errors on the last checkFrames samples (TrainedTarget::vision*).
void pretrainVision(const model::VlaModel& m, TrainedTarget& out, const std::set<std::string>& used,
                    const DemoDataset& data, const TargetTrainOptions& o, int checkFrames,
                    const TrainProgress& visionProgress);

// The relative read-out's targets (TargetTrainOptions::auxRelativeWeight): the named block's offset from the
// gripper in x and y, then the goal's, each as tanh(offset / kRelativeScale); and an offset in centimetres
// back from one of them (clamped to 0.999, about 19 cm).
constexpr double kRelativeScale = 0.05;
std::array<float, 4> relativeOffsets(const StateFeatures& y);
double relativeOffsetCm(double v);

// TargetTrainOptions::readoutDrive: an expert of `expert`'s options drives held-out layouts 0 .. layouts - 1
// on the state read-out (last prompt position of layer auxLayer, or of the final norm when -1, times readW
// plus readB) of each frame.
ReadoutDrive driveOnReadout(const model::VlaModel& m, const at::Tensor& readW, const at::Tensor& readB,
                            int auxLayer, const ExpertOptions& expert, int layouts);

} // namespace detail
} // namespace specvla::demo
