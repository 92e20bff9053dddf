// SPDX-License-Identifier: MIT
#include "demo/trainer.h"

#include "common/error.h"
#include "decode/spec_decoder.h"
#include "demo/expert.h"
#include "demo/world.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "model/draft_head.h"
#include "model/tensor_specs.h"
#include "model/vla_model.h"
#include "model/weights.h"
#include "text/tokenizer.h"
#include "text/tokenizer_training.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace fs = std::filesystem;

namespace specvla::demo {

// The trained tensors by Hugging Face name, in training order of creation.
struct WeightSet {
    std::map<std::string, at::Tensor> tensors;
};

namespace {

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

std::shared_ptr<WeightSet> initWeights(const std::vector<model::TensorSpec>& specs, std::uint64_t seed,
                                       double std) {
    auto set = std::make_shared<WeightSet>();
    model::RandomWeights random(seed, std);
    for (const auto& s : specs)
        set->tensors[s.name] = random.get(s.name, s.shape).to(at::kFloat).clone();
    return set;
}

double learningRate(double base, int step, int warmup, int total) {
    if (step < warmup) return base * (step + 1) / static_cast<double>(warmup);
    const double t = total > warmup ? (step - warmup) / static_cast<double>(total - warmup) : 1.0;
    return base * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, t))));
}

// Scales the gradients so that their global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_).
void clipGradNorm(const std::vector<at::Tensor>& params, double maxNorm) {
    at::NoGradGuard noGrad;
    double total = 0;
    for (const auto& p : params)
        if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
    const double norm = std::sqrt(total);
    if (norm > maxNorm)
        for (const auto& p : params)
            if (p.grad().defined()) p.mutable_grad().mul_(maxNorm / (norm + 1e-6));
}

// One optimiser step on loss: zero the gradients, back-propagate, clip them to clipNorm, step.
void applyStep(torch::optim::AdamW& opt, const at::Tensor& loss, const std::vector<at::Tensor>& params,
               double clipNorm) {
    opt.zero_grad();
    loss.backward();
    clipGradNorm(params, clipNorm);
    opt.step();
}

void stopTraining(const std::vector<at::Tensor>& params) {
    for (const auto& t : params)
        t.requires_grad_(false);
}

void setLr(torch::optim::AdamW& opt, double lr) {
    for (auto& group : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

vision::RgbImage frameOf(const data::Episode& e, int t) {
    vision::RgbImage img = vision::RgbImage::blank(e.imageWidth, e.imageHeight);
    const std::uint8_t* p = e.image(t);
    if (!p) throw Error("demo trainer: episode step out of range");
    std::copy(p, p + e.imageBytes(), img.pixels.begin());
    return img;
}

// A right-padded batch: [BOS, P patch slots, prompt[1:], extra tokens..., pad...]. Right padding never
// changes a causal forward at the real positions, so one position list serves the whole batch.
struct Batch {
    at::Tensor pixels;             // [B, 6, S, S]
    at::Tensor ids;                // [B, n] int64 (patch slots and padding hold the pad id)
    std::vector<int> promptLength; // L_b = 1 + P + (T_b - 1): BOS + patches + prompt[1:]
    int length = 0;                // n
};

// The processor's pixel tensors of every sample's policy input, computed once per training run.
std::vector<at::Tensor> pixelCache(const model::VlaModel& m, const DemoDataset& data) {
    const auto& a = m.config().featurizer;
    const auto& f = m.config().fusedFeaturizer;
    std::vector<at::Tensor> out;
    out.reserve(data.inputs.size());
    for (const auto& img : data.inputs)
        out.push_back(vision::pixelValues(img, a.mean, a.std, f.mean, f.std, a.imageSize));
    return out;
}

Batch makeBatch(const model::VlaModel& m, const DemoDataset& data, const std::vector<at::Tensor>& pixelsOf,
                const std::vector<int>& indices, const std::vector<std::vector<int>>& extra) {
    const auto& cfg = m.config();
    const int P = cfg.numPatches();
    Batch b;
    std::vector<at::Tensor> pixels;
    std::vector<std::vector<int>> rows;
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const DemoSample& s = data.samples[static_cast<std::size_t>(indices[k])];
        const data::Episode& e = data.episodes[static_cast<std::size_t>(s.episode)];
        if (!pixelsOf.empty()) pixels.push_back(pixelsOf[static_cast<std::size_t>(indices[k])]);
        const std::vector<int> prompt = m.promptIds(e.instruction);
        std::vector<int> row{prompt[0]};
        row.insert(row.end(), static_cast<std::size_t>(P), cfg.padTokenId);
        row.insert(row.end(), prompt.begin() + 1, prompt.end());
        b.promptLength.push_back(static_cast<int>(row.size()));
        row.insert(row.end(), extra[k].begin(), extra[k].end());
        b.length = std::max(b.length, static_cast<int>(row.size()));
        rows.push_back(std::move(row));
    }
    std::vector<std::int64_t> flat;
    for (auto& row : rows) {
        row.resize(static_cast<std::size_t>(b.length), cfg.padTokenId);
        flat.insert(flat.end(), row.begin(), row.end());
    }
    b.ids = at::tensor(flat, at::kLong).view({static_cast<std::int64_t>(rows.size()), b.length});
    if (!pixels.empty()) b.pixels = at::cat(pixels, 0);
    return b;
}

// The processor's pixel tensors of the given samples, [B, 6, S, S] (for runs that cache no pixels).
at::Tensor pixelsOfSamples(const model::VlaModel& m, const DemoDataset& data,
                           const std::vector<int>& indices) {
    const auto& a = m.config().featurizer;
    const auto& f = m.config().fusedFeaturizer;
    std::vector<at::Tensor> out;
    out.reserve(indices.size());
    for (int i : indices)
        out.push_back(vision::pixelValues(data.inputs[static_cast<std::size_t>(i)], a.mean, a.std, f.mean,
                                          f.std, a.imageSize));
    return at::cat(out, 0);
}

// Fixed 2-D sine-cosine position embeddings of a square patch grid, [1, patches, width] (as MAE initialises
// ViTs): the first half of the width encodes the row, the second the column, each as sin and cos of the
// position at width / 4 geometric frequencies.
at::Tensor sincosTable(std::int64_t patches, std::int64_t width) {
    const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(patches))));
    if (side * side != patches || width % 4 != 0)
        throw Error("demo trainer: sine-cosine positions need a square grid and a width divisible by 4");
    const std::int64_t quarter = width / 4;
    at::Tensor table = at::zeros({1, patches, width});
    auto acc = table.accessor<float, 3>();
    for (std::int64_t p = 0; p < patches; ++p)
        for (std::int64_t k = 0; k < quarter; ++k) {
            const double omega = std::pow(10000.0, -static_cast<double>(k) / static_cast<double>(quarter));
            const double row = static_cast<double>(p / side) * omega,
                         col = static_cast<double>(p % side) * omega;
            acc[0][p][k] = static_cast<float>(std::sin(row));
            acc[0][p][quarter + k] = static_cast<float>(std::cos(row));
            acc[0][p][2 * quarter + k] = static_cast<float>(std::sin(col));
            acc[0][p][3 * quarter + k] = static_cast<float>(std::cos(col));
        }
    return table;
}

bool isVisionTensor(const std::string& name) {
    return name.rfind("vision_backbone.", 0) == 0 || name.rfind("projector.", 0) == 0;
}

// The scene features by thing for the vision read-out: the gripper (6 features), each block colour (4) and
// the plate and the bowl (3 each), each group padded to kGroupWidth.
constexpr int kSceneGroups = 1 + 6 + 2;
constexpr int kGroupWidth = 6;
struct GroupSpan {
    int first, count;
};
constexpr std::array<GroupSpan, kSceneGroups> kGroupSpans{
    {{0, 6}, {6, 4}, {10, 4}, {14, 4}, {18, 4}, {22, 4}, {26, 4}, {30, 3}, {33, 3}}};
static_assert(6 + 6 * 4 + 2 * 3 == kSceneFeatures, "scene feature groups");

std::array<float, kSceneGroups * kGroupWidth> sceneGroups(const StateFeatures& f) {
    std::array<float, kSceneGroups * kGroupWidth> out{};
    for (int g = 0; g < kSceneGroups; ++g)
        for (int k = 0; k < kGroupSpans[static_cast<std::size_t>(g)].count; ++k)
            out[static_cast<std::size_t>(g * kGroupWidth + k)] = f[static_cast<std::size_t>(
                kSceneFeatureOffset + kGroupSpans[static_cast<std::size_t>(g)].first + k)];
    return out;
}

at::Tensor sceneGroupMask() {
    at::Tensor mask = at::zeros({kSceneGroups, kGroupWidth});
    for (int g = 0; g < kSceneGroups; ++g)
        mask[g].narrow(0, 0, kGroupSpans[static_cast<std::size_t>(g)].count).fill_(1.0);
    return mask;
}

// Input embeddings of a batch: token embeddings with the projected patches in the patch slots.
// patchesOut, when given, receives the projected patches [B, P, D].
// frozenPatches: the samples' patch embeddings computed beforehand (b.pixels is then unused).
at::Tensor embedBatch(const model::VlaModel& m, const Batch& b, at::Tensor* patchesOut = nullptr,
                      const at::Tensor& frozenPatches = {}) {
    const int P = m.config().numPatches();
    const at::Tensor tok = m.llm().embed(b.ids);
    const at::Tensor patches =
        frozenPatches.defined() ? frozenPatches : m.vision().forward(b.pixels.to(m.dtype()));
    if (patchesOut) *patchesOut = patches;
    return at::cat({tok.narrow(1, 0, 1), patches, tok.narrow(1, 1 + P, b.length - 1 - P)}, 1);
}

std::vector<int> drawBatch(std::mt19937_64& rng, int size, int batch) {
    std::vector<int> out;
    for (int i = 0; i < batch; ++i)
        out.push_back(static_cast<int>(rng() % static_cast<std::uint64_t>(size)));
    return out;
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::shared_ptr<model::VlaModel> buildTarget(const TrainedTarget& t) {
    SetWeights w(*t.weights);
    return model::VlaModel::create(t.config, w, text::Tokenizer::load(t.tokenizerPath));
}

void writeSet(io::SafetensorsWriter& w, const std::vector<model::TensorSpec>& specs, const WeightSet& set,
              bool bf16) {
    w.setMetadata("format", "pt");
    for (const auto& s : specs) {
        const auto it = set.tensors.find(s.name);
        if (it == set.tensors.end()) throw Error("demo trainer: nothing trained for " + s.name);
        io::addTensor(w, s.name, it->second.detach().to(bf16 ? at::kBFloat16 : at::kFloat).contiguous());
    }
}

} // namespace

std::vector<std::string> weightNames(const WeightSet& set) {
    std::vector<std::string> out;
    for (const auto& [name, t] : set.tensors)
        out.push_back(name);
    return out;
}

std::vector<float> weightValues(const WeightSet& set, const std::string& name) {
    const auto it = set.tensors.find(name);
    if (it == set.tensors.end()) throw Error("demo trainer: no tensor " + name);
    const at::Tensor t = it->second.detach().to(at::kFloat).contiguous();
    return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()};
}

DemoModelSpec DemoModelSpec::laptop() {
    return {};
}

DemoModelSpec DemoModelSpec::tiny() {
    DemoModelSpec s;
    s.imageSize = 56;
    s.dinoHidden = 32;
    s.dinoLayers = 2;
    s.dinoRegisters = 2;
    s.siglipHidden = 32;
    s.siglipLayers = 2;
    s.textHidden = 64;
    s.textLayers = 2;
    s.textHeads = 4;
    s.textKvHeads = 2;
    s.textIntermediate = 128;
    s.tokenizerVocab = 400;
    return s;
}

model::VlaConfig demoVlaConfig(const DemoModelSpec& spec, int tokenizerVocab) {
    model::VlaConfig c;
    c.timmModelIds = {"demo_dinov2_tiny", "demo_siglip_tiny"};
    c.featurizer.imageSize = spec.imageSize;
    c.featurizer.patchSize = spec.patchSize;
    c.featurizer.hiddenSize = spec.dinoHidden;
    c.featurizer.numLayers = spec.dinoLayers;
    c.featurizer.numHeads = spec.dinoHeads;
    c.featurizer.mlpSize = 4 * spec.dinoHidden;
    c.featurizer.numRegisters = spec.dinoRegisters;
    c.featurizer.featureLayer = std::max(0, spec.dinoLayers - 2);
    c.fusedFeaturizer = model::VitConfig::siglipSo400m();
    c.fusedFeaturizer.imageSize = spec.imageSize;
    c.fusedFeaturizer.patchSize = spec.patchSize;
    c.fusedFeaturizer.hiddenSize = spec.siglipHidden;
    c.fusedFeaturizer.numLayers = spec.siglipLayers;
    c.fusedFeaturizer.numHeads = spec.siglipHeads;
    c.fusedFeaturizer.mlpSize = 4 * spec.siglipHidden;
    c.fusedFeaturizer.featureLayer = std::max(0, spec.siglipLayers - 2);
    c.text.vocabSize = tokenizerVocab + 64;
    c.text.hiddenSize = spec.textHidden;
    c.text.intermediateSize = spec.textIntermediate;
    c.text.numLayers = spec.textLayers;
    c.text.numHeads = spec.textHeads;
    c.text.numKvHeads = spec.textKvHeads;
    c.text.maxPositions = 512;
    c.padTokenId = tokenizerVocab;
    return c;
}

model::DraftConfig demoDraftConfig(const model::VlaConfig& target) {
    return model::DraftConfig::forTarget(target.text);
}

std::vector<std::string> instructionFamily(int seeds) {
    std::set<std::string> all;
    for (TaskKind kind : allTaskKinds())
        for (int s = 0; s < seeds; ++s)
            all.insert(instruction(sampleLayout(kind, static_cast<std::uint64_t>(s))));
    return {all.begin(), all.end()};
}

std::vector<std::string> tokenizerCorpus() {
    std::vector<std::string> lines = instructionFamily();
    // Household-robot language beyond the task family, so the tokenizer has a Llama-like spread of word
    // pieces and the 256 action tokens (the last ids) are the rarest pieces, as in OpenVLA, instead of the
    // pieces the instructions use.
    static const char* const kVerbs[] = {
        "pick up", "put",     "place",  "move",      "push",   "pull",    "slide",    "lift",    "lower",
        "rotate",  "turn",    "open",   "close",     "grasp",  "release", "stack",    "unstack", "wipe",
        "pour",    "fold",    "unfold", "insert",    "remove", "hang",    "flip",     "drop",    "carry",
        "arrange", "sort",    "gather", "hand over", "press",  "twist",   "shake",    "scoop",   "sweep",
        "cover",   "uncover", "tilt",   "align",     "nudge",  "swap",    "retrieve", "deliver", "stir"};
    static const char* const kObjects[] = {"mug",
                                           "cup",
                                           "spoon",
                                           "fork",
                                           "knife",
                                           "ketchup bottle",
                                           "butter",
                                           "cream cheese",
                                           "milk carton",
                                           "orange juice",
                                           "tomato sauce",
                                           "alphabet soup",
                                           "salad dressing",
                                           "chocolate pudding",
                                           "basket",
                                           "tray",
                                           "drawer",
                                           "cabinet",
                                           "microwave",
                                           "stove",
                                           "kettle",
                                           "frying pan",
                                           "wine bottle",
                                           "book",
                                           "caddy",
                                           "towel",
                                           "sponge",
                                           "marker",
                                           "eraser",
                                           "stapler",
                                           "scissors",
                                           "banana",
                                           "apple",
                                           "lemon",
                                           "carrot",
                                           "eggplant",
                                           "corn",
                                           "pepper",
                                           "potato",
                                           "sandwich",
                                           "cookie box",
                                           "cereal box",
                                           "can",
                                           "jar",
                                           "lid",
                                           "pot",
                                           "cloth",
                                           "napkin",
                                           "remote control",
                                           "phone",
                                           "headphones",
                                           "toy car",
                                           "rubber duck",
                                           "tennis ball",
                                           "screwdriver",
                                           "hammer",
                                           "wrench",
                                           "tape",
                                           "glue stick",
                                           "pencil case"};
    static const char* const kPlaces[] = {"on the shelf",
                                          "into the drawer",
                                          "next to the sink",
                                          "on top of the cabinet",
                                          "inside the basket",
                                          "behind the mug",
                                          "in front of the stove",
                                          "to the left of the tray",
                                          "to the right of the book",
                                          "onto the plate",
                                          "into the pot",
                                          "under the table",
                                          "near the window",
                                          "beside the microwave",
                                          "on the counter",
                                          "in the corner",
                                          "at the edge of the table",
                                          "between the two cups",
                                          "on the top rack",
                                          "on the bottom rack",
                                          "in the sink",
                                          "onto the cutting board",
                                          "into the box"};
    static const char* const kAdjectives[] = {
        "small",  "large",  "white",       "black", "wooden", "metal",  "plastic", "ceramic",
        "empty",  "full",   "striped",     "shiny", "round",  "square", "tall",    "short",
        "dirty",  "clean",  "soft",        "heavy", "light",  "brown",  "pink",    "grey",
        "silver", "golden", "transparent", "dark",  "bright", "old",    "new"};
    static const char* const kTails[] = {"carefully",
                                         "slowly",
                                         "quickly",
                                         "and then stop",
                                         "without touching anything else",
                                         "while keeping it upright",
                                         "using the left gripper",
                                         "before the timer ends",
                                         "gently",
                                         "and return to the start",
                                         "so that it does not fall",
                                         "until it clicks",
                                         "as far as possible"};
    Rng rng(20240611);
    auto pick = [&](const auto& list) {
        return std::string(list[rng.below(static_cast<int>(std::size(list)))]);
    };
    for (int i = 0; i < 3000; ++i) {
        std::string line =
            pick(kVerbs) + " the " + pick(kAdjectives) + " " + pick(kObjects) + " " + pick(kPlaces);
        if (rng.uniform() < 0.4) line += " " + pick(kTails);
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string trainDemoTokenizer(const std::string& modelPrefix, int vocabSize) {
    return text::trainInstructionTokenizer(modelPrefix, tokenizerCorpus(), vocabSize);
}

StateFeatures stateFeatures(const WorldState& w) {
    constexpr double kPi = 3.14159265358979323846;
    if (w.target < 0 || w.target >= static_cast<int>(w.blocks.size()))
        throw Error("demo: task names no block");
    const Gripper& g = w.gripper;
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    const auto [gx, gy] = taskGoal(w); // the goal in the table plane
    // The yaw error modulo a quarter turn (a cube grasps the same four ways), in [-pi/4, pi/4].
    const double q = kPi / 2;
    double d = std::fmod(b.yaw - g.yaw, q);
    if (d > q / 2) d -= q;
    if (d < -q / 2) d += q;
    const double reach = std::hypot(b.x - g.x, b.y - g.y);
    StateFeatures f{static_cast<float>(g.x / 0.3),
                    static_cast<float>(g.y / 0.3),
                    static_cast<float>((g.z - 0.15) / 0.15),
                    static_cast<float>(2 * g.opening - 1),
                    w.held == w.target ? 1.0f : -1.0f,
                    static_cast<float>(b.x / 0.3),
                    static_cast<float>(b.y / 0.3),
                    static_cast<float>((b.z - 0.15) / 0.15),
                    static_cast<float>(gx / 0.3),
                    static_cast<float>(gy / 0.3),
                    static_cast<float>(d / (q / 2)),
                    static_cast<float>(std::min(reach / 0.15, 3.0) - 1)};
    // The scene, whatever the instruction names.
    float* scene = f.data() + kSceneFeatureOffset;
    scene[0] = static_cast<float>(g.x / 0.3);
    scene[1] = static_cast<float>(g.y / 0.3);
    scene[2] = static_cast<float>((g.z - 0.15) / 0.15);
    scene[3] = static_cast<float>(2 * g.opening - 1);
    scene[4] = static_cast<float>(std::cos(4 * g.yaw));
    scene[5] = static_cast<float>(std::sin(4 * g.yaw));
    constexpr int kColors = 6;
    if (static_cast<int>(colorNames().size()) != kColors)
        throw Error("demo: scene features expect 6 colours");
    for (int c = 0; c < kColors; ++c) {
        float* slot = scene + 6 + 4 * c;
        slot[0] = -1;
        for (const Block& x : w.blocks)
            if (x.color == c) {
                slot[0] = 1;
                slot[1] = static_cast<float>(x.x / 0.3);
                slot[2] = static_cast<float>(x.y / 0.3);
                slot[3] = static_cast<float>((x.z - 0.15) / 0.15);
                break;
            }
    }
    for (int k = 0; k < 2; ++k) {
        float* slot = scene + 6 + 4 * kColors + 3 * k;
        slot[0] = -1;
        const ReceptacleKind kind = k == 0 ? ReceptacleKind::Plate : ReceptacleKind::Bowl;
        for (const Receptacle& r : w.receptacles)
            if (r.kind == kind) {
                slot[0] = 1;
                slot[1] = static_cast<float>(r.x / 0.3);
                slot[2] = static_cast<float>(r.y / 0.3);
                break;
            }
    }
    return f;
}

std::vector<data::Episode> expertEpisodes(int count, std::uint64_t firstSeed, int imageSize,
                                          double perturbation,
                                          std::vector<std::vector<StateFeatures>>* states,
                                          double gripperFlip) {
    std::vector<data::Episode> out;
    ExpertOptions options;
    options.perturbation = perturbation;
    options.gripperFlip = gripperFlip;
    if (states) states->clear();
    constexpr std::uint64_t kRetryStride = 7919; // a different layout for each retry
    for (int e = 0; e < count; ++e) {
        const TaskKind kind = allTaskKinds()[static_cast<std::size_t>(e % kNumTaskKinds)];
        for (std::uint64_t retry = 0;; ++retry) {
            std::vector<WorldState> seen;
            data::Episode ep = rollout(kind, firstSeed + static_cast<std::uint64_t>(e) + retry * kRetryStride,
                                       imageSize, options, kMaxEpisodeSteps, states ? &seen : nullptr);
            if (ep.success() || retry >= 20) {
                out.push_back(std::move(ep));
                if (states) {
                    std::vector<StateFeatures> f;
                    f.reserve(seen.size());
                    for (const WorldState& w : seen)
                        f.push_back(stateFeatures(w));
                    states->push_back(std::move(f));
                }
                break;
            }
        }
    }
    return out;
}

vision::RgbImage storedFrame(const vision::RgbImage& rendered) {
    return vision::rotate180(rendered);
}

vision::RgbImage policyInput(const vision::RgbImage& rendered) {
    return vision::prepareImage(storedFrame(rendered), vision::PreprocessOptions::libero());
}

data::Episode storedEpisode(data::Episode ep) {
    const std::size_t bytes = ep.imageBytes();
    for (int t = 0; t < ep.numSteps; ++t) {
        const vision::RgbImage r = storedFrame(frameOf(ep, t));
        std::copy(r.pixels.begin(), r.pixels.end(),
                  ep.images.begin() + static_cast<std::ptrdiff_t>(t * bytes));
    }
    return ep;
}

double toOpenVlaGripper(double g) {
    return 1.0 - std::clamp(g, 0.0, 1.0);
}

data::Action toOpenVlaAction(const data::Action& a) {
    data::Action out = a;
    out[6] = toOpenVlaGripper(a[6]);
    return out;
}

nlohmann::json actionStatistics(const std::vector<data::Action>& actions) {
    if (actions.empty()) throw Error("demo trainer: no actions to take statistics of");
    nlohmann::json j;
    std::vector<double> mean, stdv, mx, mn, q01, q99;
    const double n = static_cast<double>(actions.size());
    for (int d = 0; d < 7; ++d) {
        std::vector<double> v;
        for (const auto& a : actions)
            v.push_back(a[static_cast<std::size_t>(d)]);
        double m = 0;
        for (double x : v)
            m += x;
        m /= n;
        double var = 0;
        for (double x : v)
            var += (x - m) * (x - m);
        mean.push_back(m);
        stdv.push_back(std::sqrt(var / n));
        mx.push_back(*std::max_element(v.begin(), v.end()));
        mn.push_back(*std::min_element(v.begin(), v.end()));
        q01.push_back(quantile(v, 0.01));
        q99.push_back(quantile(v, 0.99));
    }
    j["mean"] = mean;
    j["std"] = stdv;
    j["max"] = mx;
    j["min"] = mn;
    j["q01"] = q01;
    j["q99"] = q99;
    j["mask"] = std::vector<bool>{true, true, true, true, true, true, false};
    return j;
}

decode::NormStats normStatsFromStatistics(const nlohmann::json& actionStats, const std::string& key) {
    nlohmann::json all = {{key, {{"action", actionStats}}}};
    return decode::NormStats::fromJson(all, key, "demo trainer statistics");
}

std::array<int, 7> actionTokenIds(const data::Action& a, const decode::NormStats& stats,
                                  const decode::ActionTokenizer& tokenizer) {
    const std::vector<double> n = decode::normalize(std::vector<double>(a.begin(), a.end()), stats);
    std::array<int, 7> out{};
    for (std::size_t d = 0; d < 7; ++d)
        out[d] = tokenizer.encode(n[d]);
    return out;
}

DemoDataset buildDataset(std::vector<data::Episode> episodes, const decode::ActionTokenizer& tokenizer,
                         const std::vector<std::vector<StateFeatures>>& states, int frameStride) {
    if (!states.empty()) {
        if (states.size() != episodes.size())
            throw Error("demo trainer: " + std::to_string(states.size()) + " state lists for " +
                        std::to_string(episodes.size()) + " episodes");
        for (std::size_t e = 0; e < episodes.size(); ++e)
            if (static_cast<int>(states[e].size()) != episodes[e].numSteps)
                throw Error("demo trainer: episode " + std::to_string(e) + " has " +
                            std::to_string(episodes[e].numSteps) + " steps but " +
                            std::to_string(states[e].size()) + " states");
    }
    DemoDataset data;
    data.episodes = std::move(episodes);
    std::vector<data::Action> all;
    for (const auto& e : data.episodes)
        for (const auto& a : e.actions)
            all.push_back(toOpenVlaAction(a));
    data.actionStats = actionStatistics(all);
    data.stats = normStatsFromStatistics(data.actionStats, kDemoStatsKey);
    if (frameStride < 1) throw Error("demo trainer: the frame stride must be at least 1");
    for (std::size_t e = 0; e < data.episodes.size(); ++e)
        for (int t = 0; t < data.episodes[e].numSteps; ++t) {
            if ((t + static_cast<int>(e % static_cast<std::size_t>(frameStride))) % frameStride != 0)
                continue;
            data.inputs.push_back(policyInput(frameOf(data.episodes[e], t)));
            if (!states.empty()) data.states.push_back(states[e][static_cast<std::size_t>(t)]);
            data.samples.push_back(
                {static_cast<int>(e), t,
                 actionTokenIds(toOpenVlaAction(data.episodes[e].actions[static_cast<std::size_t>(t)]),
                                data.stats, tokenizer)});
        }
    return data;
}

TrainedTarget trainTarget(const model::VlaConfig& config, const std::string& tokenizerPath,
                          const DemoDataset& data, const TargetTrainOptions& o, const TrainProgress& progress,
                          const TrainProgress& visionProgress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    TrainedTarget out;
    out.config = config;
    out.config.normStats = {{kDemoStatsKey, {{"action", data.actionStats}}}};
    out.tokenizerPath = tokenizerPath;
    out.actionStats = data.actionStats;
    const auto specs = model::vlaTensorSpecs(out.config);
    out.weights = initWeights(specs, o.seed, o.initStd);
    if (o.sincosPositions)
        for (const char* tower : {"vision_backbone.featurizer.", "vision_backbone.fused_featurizer."}) {
            const auto it = out.weights->tensors.find(std::string(tower) + "pos_embed");
            if (it != out.weights->tensors.end())
                it->second.copy_(sincosTable(it->second.size(1), it->second.size(2)));
        }
    const auto m = buildTarget(out);
    std::set<std::string> used;
    for (const auto& s : specs)
        if (s.used) used.insert(s.name);
    const bool aux = o.auxWeight > 0 && !data.states.empty();
    if ((aux || o.visionSteps > 0) && data.states.size() != data.samples.size())
        throw Error("demo trainer: " + std::to_string(data.states.size()) + " state features for " +
                    std::to_string(data.samples.size()) + " samples" +
                    (o.visionSteps > 0 ? " (vision pretraining needs every sample's)" : ""));
    const std::int64_t flat = static_cast<std::int64_t>(out.config.numPatches()) * out.config.text.hiddenSize;
    const auto n = static_cast<int>(data.samples.size());

    if (o.visionSteps > 0) {
        // The vision tower and projector, with a linear read-out of the scene features (never saved).
        std::vector<at::Tensor> vparams;
        for (auto& [name, t] : out.weights->tensors)
            if (used.count(name) && isVisionTensor(name)) vparams.push_back(t.requires_grad_(true));
        // The read-out attends over the patches as the language model does: one learnt query per thing
        // (the gripper, each block colour, the plate, the bowl) pools the patches by content, and a linear
        // map of the pooled features gives that thing's features. Where a thing is must therefore be in the
        // features of the patches that show it, not in which patch slot they fill: attention values carry
        // no position, so that is what the language model can retrieve.
        const std::int64_t width = out.config.text.hiddenSize;
        const double scale = 1.0 / std::sqrt(static_cast<double>(width));
        const at::Tensor queries = (at::randn({kSceneGroups, width}) * scale).requires_grad_(true);
        const at::Tensor readW = (at::randn({kSceneGroups, width, kGroupWidth}) * scale).requires_grad_(true);
        const at::Tensor readB = at::zeros({kSceneGroups, kGroupWidth}).requires_grad_(true);
        const at::Tensor mask = sceneGroupMask();
        vparams.push_back(queries);
        vparams.push_back(readW);
        vparams.push_back(readB);
        torch::optim::AdamW vopt(
            vparams, torch::optim::AdamWOptions(o.visionLr).betas({0.9, 0.95}).weight_decay(o.weightDecay));
        std::mt19937_64 vrng(o.seed + 17);
        for (int step = 0; step < o.visionSteps; ++step) {
            setLr(vopt, learningRate(o.visionLr, step, o.warmupSteps, o.visionSteps));
            const auto idx = drawBatch(vrng, n, o.visionBatch);
            std::vector<float> wanted;
            for (int i : idx) {
                const auto g = sceneGroups(data.states[static_cast<std::size_t>(i)]);
                wanted.insert(wanted.end(), g.begin(), g.end());
            }
            const auto b = static_cast<std::int64_t>(idx.size());
            const at::Tensor y = at::tensor(wanted).view({b, kSceneGroups, kGroupWidth});
            const at::Tensor f = m->vision()
                                     .forward(pixelsOfSamples(*m, data, idx).to(m->dtype()))
                                     .to(at::kFloat);                                          // [B, P, D]
            const at::Tensor attn = at::softmax(at::matmul(f, queries.t()) * scale, 1);        // [B, P, G]
            const at::Tensor pooled = at::matmul(attn.transpose(1, 2), f);                     // [B, G, D]
            const at::Tensor pred = at::matmul(pooled.unsqueeze(2), readW).squeeze(2) + readB; // [B, G, W]
            const at::Tensor loss = ((pred - y).pow(2) * mask).sum() / (mask.sum() * static_cast<double>(b));
            applyStep(vopt, loss, vparams, o.clipNorm);
            out.visionLosses.push_back(loss.item<double>());
            if (visionProgress) visionProgress(step, out.visionLosses.back());
        }
        stopTraining(vparams);
    }
    // Frozen vision: every sample's patch embeddings once, [N, P, D].
    at::Tensor frozen;
    if (o.freezeVision) {
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> parts;
        for (int first = 0; first < n; first += 64) {
            std::vector<int> idx;
            for (int i = first; i < std::min(n, first + 64); ++i)
                idx.push_back(i);
            parts.push_back(m->vision().forward(pixelsOfSamples(*m, data, idx).to(m->dtype())));
        }
        frozen = at::cat(parts, 0);
    }
    out.visionSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::vector<at::Tensor> pixels = o.freezeVision ? std::vector<at::Tensor>{} : pixelCache(*m, data);

    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        if (used.count(name) && !(o.freezeVision && isVisionTensor(name)))
            params.push_back(t.requires_grad_(true));
    // The auxiliary read-outs (trained, never saved); with a frozen tower only the language model's.
    at::Tensor auxPatchW, auxPatchB, auxLlmW, auxLlmB;
    if (aux) {
        if (!o.freezeVision) {
            auxPatchW = (at::randn({flat, kStateFeatures}) / std::sqrt(static_cast<double>(flat)))
                            .requires_grad_(true);
            auxPatchB = at::zeros({kStateFeatures}).requires_grad_(true);
            params.push_back(auxPatchW);
            params.push_back(auxPatchB);
        }
        auxLlmW = (at::randn({out.config.text.hiddenSize, kStateFeatures}) /
                   std::sqrt(static_cast<double>(out.config.text.hiddenSize)))
                      .requires_grad_(true);
        auxLlmB = at::zeros({kStateFeatures}).requires_grad_(true);
        params.push_back(auxLlmW);
        params.push_back(auxLlmB);
    }
    torch::optim::AdamW opt(params,
                            torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weightDecay));

    const int eos = m->tokenizer().eosId();
    const int nTargets = o.predictEos ? 8 : 7;
    std::mt19937_64 rng(o.seed);
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        const auto idx = drawBatch(rng, n, o.batchSize);
        std::vector<std::vector<int>> extra, labels;
        for (int i : idx) {
            const auto& tok = data.samples[static_cast<std::size_t>(i)].tokens;
            std::vector<int> l(tok.begin(), tok.end());
            if (o.predictEos) l.push_back(eos);
            labels.push_back(l);
            l.pop_back(); // the last label is never an input
            extra.push_back(l);
        }
        const Batch b = makeBatch(*m, data, pixels, idx, extra);
        at::Tensor patches;
        const at::Tensor x = embedBatch(
            *m, b, aux ? &patches : nullptr,
            frozen.defined()
                ? frozen.index_select(0, at::tensor(std::vector<std::int64_t>(idx.begin(), idx.end())))
                : at::Tensor());
        const auto fwd = m->llm().forward(x, at::arange(b.length, at::kLong), nullptr, {}, true);
        std::vector<std::int64_t> rows, cols, targets;
        for (std::size_t k = 0; k < idx.size(); ++k)
            for (int j = 0; j < nTargets; ++j) {
                rows.push_back(static_cast<std::int64_t>(k));
                cols.push_back(b.promptLength[k] - 1 + j);
                targets.push_back(labels[k][static_cast<std::size_t>(j)]);
            }
        const at::Tensor logits = fwd.logits.index({at::tensor(rows), at::tensor(cols)});
        const at::Tensor ce = at::cross_entropy_loss(logits, at::tensor(targets));
        at::Tensor loss = ce;
        if (aux) {
            std::vector<float> wanted;
            std::vector<std::int64_t> lastRows, lastCols;
            for (std::size_t k = 0; k < idx.size(); ++k) {
                const StateFeatures& f = data.states[static_cast<std::size_t>(idx[k])];
                wanted.insert(wanted.end(), f.begin(), f.end());
                lastRows.push_back(static_cast<std::int64_t>(k));
                lastCols.push_back(b.promptLength[k] - 1);
            }
            const at::Tensor y =
                at::tensor(wanted).view({static_cast<std::int64_t>(idx.size()), kStateFeatures});
            const at::Tensor last =
                fwd.hidden.index({at::tensor(lastRows), at::tensor(lastCols)}).to(at::kFloat);
            at::Tensor auxLoss = at::mse_loss(at::addmm(auxLlmB, last, auxLlmW), y);
            if (auxPatchW.defined())
                auxLoss = auxLoss +
                          at::mse_loss(at::addmm(auxPatchB, patches.to(at::kFloat).flatten(1), auxPatchW), y);
            loss = ce + o.auxWeight * auxLoss;
            out.auxLosses.push_back(auxLoss.item<double>());
        }
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(ce.item<double>());
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

TrainedDraft trainDraft(const TrainedTarget& target, const DemoDataset& data,
                        const model::DraftConfig& config, const DraftTrainOptions& o,
                        const TrainProgress& progress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    const auto m = buildTarget(target);
    TrainedDraft out;
    out.config = config;
    out.vocabSize = target.config.text.vocabSize;

    // The samples the draft learns on: all, or maxSamples evenly spread.
    std::vector<int> chosen;
    const auto total = static_cast<std::int64_t>(data.samples.size());
    const std::int64_t keep = o.maxSamples > 0 ? std::min<std::int64_t>(o.maxSamples, total) : total;
    for (std::int64_t k = 0; k < keep; ++k)
        chosen.push_back(static_cast<int>(k * total / keep));
    // The target's own greedy action tokens for those samples (prompt-only contexts, no ground truth).
    std::vector<std::vector<int>> greedy(data.samples.size());
    std::size_t matches = 0;
    // Through the inference path (KV cache, one token at a time), so the contexts are exactly the ones the
    // draft sees when decoding.
    for (const int c : chosen) {
        const auto i = static_cast<std::size_t>(c);
        const DemoSample& s = data.samples[i];
        const data::Episode& e = data.episodes[static_cast<std::size_t>(s.episode)];
        decode::FrameContext ctx = decode::prepareFrame(*m, nullptr, data.inputs[i], e.instruction);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        greedy[i] = decode::decodeFrame(*m, nullptr, ctx, ar).tokens;
        if (greedy[i].size() != 7) throw Error("demo trainer: the target did not decode 7 tokens");
        for (std::size_t j = 0; j < 7; ++j)
            matches += greedy[i][j] == s.tokens[j];
    }
    out.greedyMatch = static_cast<double>(matches) / (7.0 * static_cast<double>(chosen.size()));

    const auto specs = model::draftTensorSpecs(config, out.vocabSize, /*withEmbedding=*/false);
    out.weights = initWeights(specs, o.seed, o.initStd);
    SetWeights w(*out.weights);
    const auto draft = model::DraftHead::create(config, w, *m);
    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        params.push_back(t.requires_grad_(true));
    // embed_tokens as the reference ships it (ignored at run time: the target's is shared).
    out.weights->tensors["embed_tokens.weight"] = m->llm().embedWeight().detach().clone();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0));

    const at::Tensor lmHead = m->llm().lmHeadWeight().detach();
    std::mt19937_64 rng(o.seed);
    const int kPositions = 6;
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        std::vector<int> idx = drawBatch(rng, static_cast<int>(chosen.size()), o.batchSize);
        for (int& i : idx)
            i = chosen[static_cast<std::size_t>(i)];
        std::vector<std::vector<int>> extra;
        for (int i : idx)
            extra.push_back(greedy[static_cast<std::size_t>(i)]);
        Batch b = makeBatch(*m, data, {}, idx, extra);
        b.pixels = pixelsOfSamples(*m, data, idx);
        at::Tensor x, h;
        {
            at::NoGradGuard noGrad;
            x = embedBatch(*m, b);
            h = m->llm().forward(x, at::arange(b.length, at::kLong), nullptr, {}, false).hidden;
        }
        const std::int64_t n = b.length - 1;
        const at::Tensor tokenIn = x.narrow(1, 1, n);
        at::Tensor hiddenIn = h.narrow(1, 0, n);
        const at::Tensor hiddenTarget = h.narrow(1, 1, n);
        if (o.noise > 0)
            hiddenIn = hiddenIn + (at::rand(hiddenIn.sizes(), hiddenIn.options()) - 0.5) * o.noise * 512.0 /
                                      static_cast<double>(b.length);
        const at::Tensor hHat = draft->forward(tokenIn, hiddenIn, at::arange(n, at::kLong), nullptr, {});
        std::vector<std::int64_t> rows, cols;
        for (std::size_t k = 0; k < idx.size(); ++k)
            for (int j = 0; j < kPositions; ++j) {
                rows.push_back(static_cast<std::int64_t>(k));
                cols.push_back(b.promptLength[k] - 1 + j);
            }
        const at::Tensor r = at::tensor(rows), c = at::tensor(cols);
        const at::Tensor pred = hHat.index({r, c}), tgt = hiddenTarget.index({r, c});
        const at::Tensor vloss = at::smooth_l1_loss(pred, tgt);
        const at::Tensor tgtP = at::softmax(at::matmul(tgt, lmHead.t()), -1);
        const at::Tensor predLogits = at::matmul(pred, lmHead.t());
        const at::Tensor ploss = -(tgtP * at::log_softmax(predLogits, -1)).sum(-1).mean();
        const at::Tensor loss = o.valueWeight * vloss + o.probWeight * ploss;
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(loss.item<double>());
        out.draftTop1 = (predLogits.argmax(-1) == tgtP.argmax(-1)).to(at::kFloat).mean().item<double>();
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void saveDemoModel(const std::string& dir, const TrainedTarget& t, const SaveOptions& o) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    writeSet(w, model::vlaTensorSpecs(t.config), *t.weights, o.bf16);
    if (o.maxShardBytes > 0)
        w.writeSharded(dir, o.maxShardBytes);
    else
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), t.config.toJson().dump(2));
    fs::copy_file(t.tokenizerPath, fs::path(dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
    const nlohmann::json stats = {{kDemoStatsKey, {{"action", t.actionStats}}}};
    io::writeFileAtomically((fs::path(dir) / "dataset_statistics.json").string(), stats.dump(2));
}

void saveDraft(const std::string& dir, const TrainedDraft& d, const SaveOptions& o) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    writeSet(w, model::draftTensorSpecs(d.config, d.vocabSize, /*withEmbedding=*/true), *d.weights, o.bf16);
    if (o.maxShardBytes > 0)
        w.writeSharded(dir, o.maxShardBytes);
    else
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), d.config.toJson().dump(2));
}

} // namespace specvla::demo
