// SPDX-License-Identifier: MIT
#include "demo/trainer.h"

#include "decode/metrics.h"
#include "decode/spec_decoder.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/sim.h"
#include "demo/trainer_internal.h"
#include "io/checkpoint.h"
#include "io/tensor_view.h"
#include "model/weights.h"
#include "text/tokenizer.h"
#include "vision/preprocess.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

namespace fs = std::filesystem;

namespace specvla::demo {

using namespace detail;

namespace {

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

// The projected patch embeddings of samples [first, first + count), [count, P, D], in chunks of 64, without
// gradients.
at::Tensor patchEmbeddings(const model::VlaModel& m, const DemoDataset& data, int first, int count) {
    const at::NoGradGuard noGrad;
    std::vector<at::Tensor> parts;
    for (int from = first; from < first + count; from += 64) {
        std::vector<int> idx;
        for (int i = from; i < std::min(first + count, from + 64); ++i)
            idx.push_back(i);
        parts.push_back(m.vision().forward(pixelsOfSamples(m, data, idx).to(m.dtype())));
    }
    return at::cat(parts, 0);
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

int daggerHandoverDelay(std::uint64_t layoutSeed) {
    Rng rng(layoutSeed ^ 0x5851F42D4C957F2Dull);
    return rng.below(TargetTrainOptions::kHandoverMaxDelay + 1);
}

TrainedTarget trainTarget(const model::VlaConfig& config, const std::string& tokenizerPath, DemoDataset& data,
                          const TargetTrainOptions& o, const TrainProgress& progress,
                          const TrainProgress& visionProgress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    if (o.daggerRounds > 0) {
        if (o.daggerLayouts < 1 || o.daggerMaxSteps < 1 || o.daggerStride < 1)
            throw Error(
                "demo trainer: DAgger needs at least one layout, one step and a stride of at least 1");
        if (o.daggerSeed +
                static_cast<std::uint64_t>(o.daggerRounds) * static_cast<std::uint64_t>(o.daggerLayouts) >
            kHeldOutSeedBase)
            throw Error("demo trainer: DAgger layouts would reach the held-out seeds");
        if (!(o.daggerHandover >= 0 && o.daggerHandover <= 1))
            throw Error("demo trainer: the DAgger handover share must be within [0, 1]");
    }
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
    const bool lmAttention = o.lmAttentionWeight > 0;
    if (lmAttention) {
        if (data.states.empty())
            throw Error("demo trainer: the language model's attention loss needs states");
        const int P = out.config.numPatches();
        const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
        if (side * side != P)
            throw Error("demo trainer: the language model's attention loss needs a square patch grid, not " +
                        std::to_string(P) + " patches");
        if (out.config.text.numHeads < 3)
            throw Error("demo trainer: the language model's attention loss needs at least 3 heads");
        const int layers = out.config.text.numLayers;
        out.lmAttentionLayer =
            o.lmAttentionLayer >= 0 ? o.lmAttentionLayer : std::min(layers - 1, std::max(1, layers / 4));
        if (out.lmAttentionLayer >= layers)
            throw Error("demo trainer: attention loss layer " + std::to_string(out.lmAttentionLayer) +
                        " of a " + std::to_string(layers) + "-layer language model");
    }
    if (o.auxLayer < -1 || o.auxLayer >= out.config.text.numLayers)
        throw Error("demo trainer: read-out layer " + std::to_string(o.auxLayer) + " of a " +
                    std::to_string(out.config.text.numLayers) + "-layer language model");
    if (o.auxPositions < 1 || o.auxPositions > 7)
        throw Error("demo trainer: read-out positions " + std::to_string(o.auxPositions) +
                    " (the last prompt position and up to six action positions: 1 to 7)");
    if ((aux || o.visionSteps > 0) && data.states.size() != data.samples.size())
        throw Error("demo trainer: " + std::to_string(data.states.size()) + " state features for " +
                    std::to_string(data.samples.size()) + " samples" +
                    (o.visionSteps > 0 ? " (vision pretraining needs every sample's)" : ""));
    const std::int64_t flat = static_cast<std::int64_t>(out.config.numPatches()) * out.config.text.hiddenSize;
    const auto n = static_cast<int>(data.samples.size());
    // The last samples (the last episodes' frames) are kept out of the vision pretraining batches, and with
    // bcCheck out of behaviour cloning, to check what was learnt.
    const int checkFrames = n >= 20 ? std::min(n / 20, 256) : 0;

    if (o.visionSteps > 0) pretrainVision(*m, out, used, data, o, checkFrames, visionProgress);
    // Frozen vision: every sample's patch embeddings once, [N, P, D].
    at::Tensor frozen;
    if (o.freezeVision) frozen = patchEmbeddings(*m, data, 0, n);
    out.visionSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        if (used.count(name) && !(o.freezeVision && isVisionTensor(name)))
            params.push_back(t.requires_grad_(true));
    // The auxiliary read-outs (trained, never saved); with a frozen tower only the language model's.
    at::Tensor auxPatchW, auxPatchB, auxLlmW, auxLlmB, auxRelW, auxRelB;
    if (o.auxRelativeWeight != 0 && !(aux && o.auxRelativeWeight > 0 && std::isfinite(o.auxRelativeWeight)))
        throw Error("demo trainer: the relative read-out's weight must be a positive number, with the "
                    "auxiliary loss and the simulator's states");
    if (aux && o.auxRelativeWeight > 0) {
        auxRelW = (at::randn({out.config.text.hiddenSize, 4}) /
                   std::sqrt(static_cast<double>(out.config.text.hiddenSize)))
                      .requires_grad_(true);
        auxRelB = at::zeros({4}).requires_grad_(true);
        params.push_back(auxRelW);
        params.push_back(auxRelB);
    }
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
    // Cross entropy against soft targets: the motion tokens' labels spread over neighbouring bins.
    const decode::ActionTokenizer& actions = m->actionTokenizer();
    auto softActionLoss = [&](const at::Tensor& logits, const std::vector<std::int64_t>& targets,
                              int perSample) {
        const std::int64_t vocab = logits.size(1);
        const at::Tensor ids = at::tensor(targets);
        const at::Tensor tokens = at::arange(vocab, at::kFloat).view({1, -1});
        const at::Tensor isAction =
            (tokens >= actions.firstActionToken()) & (tokens <= actions.lastActionToken());
        // Adjacent bins are adjacent token ids, so the Gaussian over ids is the Gaussian over bins.
        at::Tensor soft =
            at::exp(-(tokens - ids.view({-1, 1}).to(at::kFloat)).pow(2) / (2 * o.binSigma * o.binSigma));
        soft = at::where(isAction, soft, at::zeros_like(soft));
        soft = soft / at::clamp_min(soft.sum(1, true), 1e-12);
        const at::Tensor motion = (at::arange(static_cast<std::int64_t>(targets.size())) % perSample < 6) &
                                  (ids >= actions.firstActionToken()) & (ids <= actions.lastActionToken());
        const at::Tensor target =
            at::where(motion.view({-1, 1}), soft, at::one_hot(ids, vocab).to(at::kFloat));
        return -(target * at::log_softmax(logits.to(at::kFloat), 1)).sum(1); // per row
    };
    // A teacher-forced forward of the given samples over [prompt, their labels but the last]: labels
    // receives each sample's action tokens (and EOS with predictEos); rows and cols index the positions that
    // predict them in the output (sample-major).
    struct Forward {
        model::LlamaOutput out;
        model::AttentionCapture attention; // layer lmAttentionLayer, with the attention loss
        Batch batch;
        at::Tensor patches; // the projected patches, with the auxiliary loss
        std::vector<std::vector<int>> labels;
        std::vector<std::int64_t> rows, cols, targets;
    };
    // noise: draws for the input-token noise (o.tokenNoise), null for the true tokens.
    auto teacherForced = [&](const std::vector<int>& idx, Rng* noise = nullptr) {
        Forward f;
        std::vector<std::vector<int>> extra;
        for (int i : idx) {
            const auto& tok = data.samples[static_cast<std::size_t>(i)].tokens;
            std::vector<int> l(tok.begin(), tok.end());
            if (o.predictEos) l.push_back(eos);
            f.labels.push_back(l);
            l.pop_back(); // the last label is never an input
            if (noise)
                for (std::size_t j = 0; j < l.size() && j < tok.size(); ++j)
                    if (noise->uniform() < o.tokenNoise)
                        l[j] = data.samples[static_cast<std::size_t>(
                                                noise->below(static_cast<int>(data.samples.size())))]
                                   .tokens[j];
            extra.push_back(l);
        }
        f.batch = makeBatch(*m, data, idx, extra);
        if (!frozen.defined()) f.batch.pixels = pixelsOfSamples(*m, data, idx);
        const at::Tensor x = embedBatch(
            *m, f.batch, aux ? &f.patches : nullptr,
            frozen.defined()
                ? frozen.index_select(0, at::tensor(std::vector<std::int64_t>(idx.begin(), idx.end())))
                : at::Tensor());
        f.attention.layer = lmAttention ? out.lmAttentionLayer : -1;
        f.attention.hiddenLayer = aux ? o.auxLayer : -1;
        const bool capture = f.attention.layer >= 0 || f.attention.hiddenLayer >= 0;
        f.out = m->llm().forward(x, at::arange(f.batch.length, at::kLong), nullptr, {}, true,
                                 capture ? &f.attention : nullptr);
        for (std::size_t k = 0; k < idx.size(); ++k)
            for (int j = 0; j < nTargets; ++j) {
                f.rows.push_back(static_cast<std::int64_t>(k));
                f.cols.push_back(f.batch.promptLength[k] - 1 + j);
                f.targets.push_back(f.labels[k][static_cast<std::size_t>(j)]);
            }
        return f;
    };
    // The language model's states the read-outs read: the last prompt position and the positions - 1 after
    // it, [B * positions, D] (sample-major). The check reads the last prompt position alone, training
    // o.auxPositions.
    auto readOutStates = [&](const Forward& f, int positions) {
        std::vector<std::int64_t> rowsAt, colsAt;
        for (std::size_t k = 0; k < f.labels.size(); ++k)
            for (int p = 0; p < positions; ++p) {
                rowsAt.push_back(static_cast<std::int64_t>(k));
                colsAt.push_back(f.batch.promptLength[k] - 1 + p);
            }
        const at::Tensor& source = f.attention.hidden.defined() ? f.attention.hidden : f.out.hidden;
        return source.index({at::tensor(rowsAt), at::tensor(colsAt)}).to(at::kFloat);
    };
    // The auxiliary read-out, [B, kStateFeatures], and the relative one, [B, 4] (auxRelativeWeight).
    auto auxReadOut = [&](const at::Tensor& last) { return at::addmm(auxLlmB, last, auxLlmW); };
    auto relativeReadOut = [&](const at::Tensor& last) { return at::addmm(auxRelB, last, auxRelW); };
    // The attention loss: heads 0, 1, 2 of the supervised layer at each sample's last prompt position against
    // the named block's, the goal thing's and the gripper's patch targets.
    auto lmAttentionLoss = [&](const Forward& f, const std::vector<int>& idx) {
        const int P = out.config.numPatches();
        const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(P))));
        const auto b = static_cast<std::int64_t>(idx.size());
        std::vector<float> all(static_cast<std::size_t>(kSceneGroups * P)), present(kSceneGroups),
            position(2 * kSceneGroups);
        std::vector<float> target(static_cast<std::size_t>(b * 3 * P)), on(static_cast<std::size_t>(b * 3));
        std::vector<std::int64_t> lastCols;
        for (std::int64_t k = 0; k < b; ++k) {
            const auto i = static_cast<std::size_t>(idx[static_cast<std::size_t>(k)]);
            attentionTargets(data.states[i], grid, all.data(), present.data(), position.data());
            const InstructionThings things = instructionThings(
                data.episodes[static_cast<std::size_t>(data.samples[i].episode)].instruction);
            const int goal = things.referenceBlock >= 0 ? 1 + things.referenceBlock
                             : things.receptacle >= 0   ? 7 + things.receptacle
                                                        : 1 + things.block;
            const std::array<int, 3> groups{1 + things.block, goal, 0};
            for (int h = 0; h < 3; ++h) {
                const auto g = static_cast<std::size_t>(groups[static_cast<std::size_t>(h)]);
                std::copy(all.begin() + static_cast<std::ptrdiff_t>(g * P),
                          all.begin() + static_cast<std::ptrdiff_t>((g + 1) * P),
                          target.begin() + static_cast<std::ptrdiff_t>((k * 3 + h) * P));
                on[static_cast<std::size_t>(k * 3 + h)] = present[g];
            }
            lastCols.push_back(f.batch.promptLength[static_cast<std::size_t>(k)] - 1);
        }
        using at::indexing::Slice;
        const at::Tensor rows = f.attention.probs.index({at::arange(b), Slice(), at::tensor(lastCols)});
        const at::Tensor p = rows.narrow(1, 0, 3).narrow(2, 1, P); // [B, 3, P]: the patch slots
        const at::Tensor t = at::tensor(target).view({b, 3, P});
        const at::Tensor w = at::tensor(on).view({b, 3});
        const at::Tensor ce = -(t * at::log(p + 1e-8)).sum(2); // [B, 3]
        return (ce * w).sum() / at::clamp_min(w.sum(), 1.0);
    };
    // DAgger: the policy so far drives the gripper on training layouts; the expert labels what it sees.
    auto daggerRound = [&](int round, int step) {
        const auto r0 = std::chrono::steady_clock::now();
        const at::NoGradGuard noGrad;
        DaggerRound info;
        info.step = step;
        const int first = static_cast<int>(data.samples.size());
        const int imageSize = out.config.featurizer.imageSize;
        for (int k = 0; k < o.daggerLayouts; ++k) {
            const std::uint64_t seed =
                o.daggerSeed +
                static_cast<std::uint64_t>(round) * static_cast<std::uint64_t>(o.daggerLayouts) +
                static_cast<std::uint64_t>(k);
            const WorldState start =
                sampleLayout(allTaskKinds()[static_cast<std::size_t>(k % kNumTaskKinds)], seed);
            data::Episode ep;
            ep.instruction = instruction(start);
            ep.imageWidth = ep.imageHeight = imageSize;
            const int episode = static_cast<int>(data.episodes.size());
            data.episodes.push_back(ep);
            Expert expert(seed ^ 0xA0761D6478BD642Full, o.daggerExpert);
            // Spread the handed-over layouts evenly: layout k is one when its share crosses a whole number.
            const bool handover = std::floor(static_cast<double>(k + 1) * o.daggerHandover) >
                                  std::floor(static_cast<double>(k) * o.daggerHandover);
            const int delay = handover ? daggerHandoverDelay(seed) : 0;
            bool policyDrives = !handover;
            int heldFor = 0;
            info.handedOver += handover ? 1 : 0;
            int t = 0;
            const Policy policy = [&](const vision::RgbImage& frame, const WorldState& state) {
                const data::Action label = expert.act(state);
                if (!policyDrives && (heldFor > 0 || state.held == state.target)) {
                    // Counted from the expert's grasp; at the latest where it would let go (label "open") or
                    // where its action would finish the task (a pick-up lifts the block clear), so the policy
                    // always has the last step and every success counted is the policy's.
                    WorldState next = state;
                    demo::step(next, label);
                    policyDrives = heldFor++ >= delay || label[6] <= 0 || success(next);
                }
                if (!policyDrives) return label; // the expert drives; its frames are demonstrations
                vision::RgbImage input = policyInput(frame);
                decode::FrameContext ctx = decode::prepareFrame(*m, nullptr, input, ep.instruction);
                if (t++ % o.daggerStride == 0) {
                    data.samples.push_back(
                        {episode, state.step, actionTokenIds(toOpenVlaAction(label), data.stats, actions)});
                    if (!data.states.empty()) data.states.push_back(stateFeatures(state));
                    data.inputs.push_back(std::move(input));
                }
                decode::DecodeSettings ar;
                ar.mode = decode::DecodeMode::Ar;
                return simulatorAction(decode::decodeFrame(*m, nullptr, ctx, ar).action);
            };
            info.successes += runEpisode(start, policy, imageSize, o.daggerMaxSteps).success ? 1 : 0;
            ++info.layouts;
        }
        const int added = static_cast<int>(data.samples.size()) - first;
        info.samples = added;
        if (frozen.defined() && added > 0)
            frozen = at::cat({frozen, patchEmbeddings(*m, data, first, added)}, 0);
        info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
        out.dagger.push_back(info);
        if (o.daggerProgress) o.daggerProgress(info);
    };
    const int trainable = o.bcCheck ? n - checkFrames : n;
    // With logit adjustment: the log frequency of each bin among the trainable samples' labels, per motion
    // dimension (one count added to every bin), as rows [nTargets, vocab] in the order the loss sees them;
    // zero for the gripper, EOS and every non-action token.
    at::Tensor labelPrior;
    if (o.logitAdjust < 0) throw Error("demo: logit adjustment must not be negative");
    if (!(o.tokenNoise >= 0 && o.tokenNoise <= 1))
        throw Error("demo: input-token noise must be within [0, 1]");
    if (o.logitAdjust > 0) {
        const std::int64_t vocab = config.text.vocabSize;
        labelPrior = at::zeros({nTargets, vocab}, at::kFloat);
        const std::int64_t first = actions.firstActionToken(), bins = actions.nBins();
        for (int j = 0; j < 6; ++j) {
            std::vector<double> counts(static_cast<std::size_t>(bins), 1.0);
            for (int i = 0; i < trainable; ++i) {
                const int id = data.samples[static_cast<std::size_t>(i)].tokens[static_cast<std::size_t>(j)];
                if (actions.isActionToken(id)) counts[static_cast<std::size_t>(id - first)] += 1;
            }
            double total = 0;
            for (double c : counts)
                total += c;
            auto row = labelPrior[j];
            for (std::int64_t b = 0; b < bins; ++b)
                row[first + b] = std::log(counts[static_cast<std::size_t>(b)] / total);
        }
    }
    // Release frames (TargetTrainOptions::releaseWeight): the state holds the named block, the gripper label
    // says open (OpenVLA's gripper: 1 open, 0 closed).
    if (!(o.releaseWeight > 0 && std::isfinite(o.releaseWeight)))
        throw Error("demo: the release weight must be a positive number");
    const bool withStates = data.states.size() == data.samples.size();
    if (o.releaseWeight != 1 && !withStates)
        throw Error("demo trainer: the release weight needs the simulator's state of every sample");
    auto holds = [&](int i) { return withStates && data.states[static_cast<std::size_t>(i)][4] > 0; };
    auto isRelease = [&](int i) {
        const int g = data.samples[static_cast<std::size_t>(i)].tokens[6];
        return holds(i) && actions.isActionToken(g) && actions.decode(g) > 0.5;
    };
    if (withStates) {
        out.holdingSamples = out.releaseSamples = 0;
        for (int i = 0; i < trainable; ++i) {
            out.holdingSamples += holds(i) ? 1 : 0;
            out.releaseSamples += isRelease(i) ? 1 : 0;
        }
    }
    std::mt19937_64 rng(o.seed);
    Rng tokenNoise(o.seed ^ 0x6A09E667F3BCC909ull); // its own stream: batches stay as they are
    int rounds = 0;
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        if (rounds < o.daggerRounds && step == static_cast<int>(static_cast<std::int64_t>(o.steps) *
                                                                (rounds + 1) / (o.daggerRounds + 1)))
            daggerRound(rounds++, step);
        // The original samples the policy trains on, then every DAgger sample (past the ones kept out).
        const int added = static_cast<int>(data.samples.size()) - n;
        auto idx = drawBatch(rng, trainable + added, o.batchSize);
        for (int& i : idx)
            if (i >= trainable) i += n - trainable;
        // The forward and the losses, in BF16 with bf16Compute; the optimiser step in F32.
        at::Tensor loss, ce;
        {
            Bf16Compute lowPrecision(o.bf16Compute);
            const Forward fwd = teacherForced(idx, o.tokenNoise > 0 ? &tokenNoise : nullptr);
            const std::vector<std::int64_t>& targets = fwd.targets;
            at::Tensor logits = fwd.out.logits.index({at::tensor(fwd.rows), at::tensor(fwd.cols)});
            if (labelPrior.defined())
                logits = logits.to(at::kFloat) +
                         labelPrior.repeat({static_cast<std::int64_t>(idx.size()), 1}) * o.logitAdjust;
            const at::Tensor perRow =
                o.binSigma > 0 ? softActionLoss(logits, targets, nTargets)
                               : at::cross_entropy_loss(logits, at::tensor(targets), {}, at::Reduction::None);
            // Release frames weigh releaseWeight on their gripper token.
            if (o.releaseWeight == 1) {
                ce = perRow.mean();
            } else {
                std::vector<float> w(targets.size(), 1.0f);
                for (std::size_t k = 0; k < idx.size(); ++k)
                    if (isRelease(idx[k]))
                        w[k * static_cast<std::size_t>(nTargets) + 6] = static_cast<float>(o.releaseWeight);
                const at::Tensor weights = at::tensor(w);
                ce = (perRow * weights).sum() / weights.sum();
            }
            loss = ce;
            if (aux) {
                std::vector<float> wanted;
                for (int i : idx) {
                    const StateFeatures& f = data.states[static_cast<std::size_t>(i)];
                    wanted.insert(wanted.end(), f.begin(), f.end());
                }
                const at::Tensor y =
                    at::tensor(wanted).view({static_cast<std::int64_t>(idx.size()), kStateFeatures});
                const at::Tensor states = readOutStates(fwd, o.auxPositions);
                at::Tensor auxLoss =
                    at::mse_loss(auxReadOut(states).to(at::kFloat), y.repeat_interleave(o.auxPositions, 0));
                if (auxPatchW.defined())
                    auxLoss =
                        auxLoss +
                        at::mse_loss(at::addmm(auxPatchB, fwd.patches.to(at::kFloat).flatten(1), auxPatchW)
                                         .to(at::kFloat),
                                     y);
                loss = ce + o.auxWeight * auxLoss;
                out.auxLosses.push_back(auxLoss.item<double>());
                if (auxRelW.defined()) {
                    std::vector<float> rel;
                    for (int i : idx) {
                        const auto r = relativeOffsets(data.states[static_cast<std::size_t>(i)]);
                        rel.insert(rel.end(), r.begin(), r.end());
                    }
                    const at::Tensor relLoss =
                        at::mse_loss(relativeReadOut(states).to(at::kFloat),
                                     at::tensor(rel)
                                         .view({static_cast<std::int64_t>(idx.size()), 4})
                                         .repeat_interleave(o.auxPositions, 0));
                    loss = loss + o.auxRelativeWeight * relLoss;
                    out.auxRelativeLosses.push_back(relLoss.item<double>());
                }
            }
            if (lmAttention) {
                const at::Tensor attentionLoss = lmAttentionLoss(fwd, idx);
                loss = loss + o.lmAttentionWeight * attentionLoss;
                out.lmAttentionLosses.push_back(attentionLoss.item<double>());
            }
        }
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(ce.item<double>());
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);

    // The policy on samples [first, first + count), teacher-forced.
    auto check = [&](int first, int count) {
        PolicyCheck c;
        if (count <= 0) return c;
        const at::NoGradGuard noGrad;
        int matches = 0;
        std::array<int, 3> agree{}, counted{};
        double distance = 0;
        std::vector<double> gripper, block, goal, height, goalReceptacle, goalReference;
        std::vector<double> nearBlockOffset, nearGoalOffset, nearBlockRelative, nearGoalRelative;
        int heldWrong = 0;
        for (int from = first; from < first + count; from += 32) {
            std::vector<int> idx;
            for (int i = from; i < std::min(first + count, from + 32); ++i)
                idx.push_back(i);
            const Forward f = teacherForced(idx);
            const at::Tensor greedy =
                f.out.logits.index({at::tensor(f.rows), at::tensor(f.cols)}).argmax(1).contiguous();
            const auto g = greedy.accessor<std::int64_t, 1>();
            for (std::size_t k = 0; k < idx.size(); ++k)
                for (int j = 0; j < 7; ++j) {
                    const auto p = static_cast<int>(g[static_cast<std::int64_t>(k) * nTargets + j]);
                    const int l = f.labels[k][static_cast<std::size_t>(j)];
                    matches += p == l;
                    if (j < 6)
                        distance += actions.isActionToken(p)
                                        ? std::abs(actions.binOfToken(p) - actions.binOfToken(l))
                                        : actions.nBins() - 1;
                    if (j < 3) {
                        const double want = actions.decode(l);
                        if (std::abs(want) < 0.1) continue;
                        ++counted[static_cast<std::size_t>(j)];
                        const double got = actions.isActionToken(p) ? actions.decode(p) : 0.0;
                        agree[static_cast<std::size_t>(j)] += got * want > 0;
                    }
                }
            if (aux) {
                const at::Tensor last = readOutStates(f, 1);
                const at::Tensor predicted = auxReadOut(last).contiguous();
                const auto a = predicted.accessor<float, 2>();
                const at::Tensor relPredicted =
                    auxRelW.defined() ? relativeReadOut(last).contiguous() : at::zeros({last.size(0), 4});
                const auto rp = relPredicted.accessor<float, 2>();
                for (std::size_t k = 0; k < idx.size(); ++k) {
                    const StateFeatures& y = data.states[static_cast<std::size_t>(idx[k])];
                    const auto r = static_cast<std::int64_t>(k);
                    // Positions are scaled by 1 / 0.3 m: gripper x, y at 0; block x, y at 5; goal x, y at 8.
                    auto planar = [&](int at) {
                        return 30.0 * std::hypot(a[r][at] - y[static_cast<std::size_t>(at)],
                                                 a[r][at + 1] - y[static_cast<std::size_t>(at + 1)]);
                    };
                    gripper.push_back(planar(0));
                    block.push_back(planar(5));
                    goal.push_back(planar(8));
                    const InstructionThings things = instructionThings(
                        data.episodes[static_cast<std::size_t>(
                                          data.samples[static_cast<std::size_t>(idx[k])].episode)]
                            .instruction);
                    if (things.receptacle >= 0) goalReceptacle.push_back(goal.back());
                    if (things.referenceBlock >= 0) goalReference.push_back(goal.back());
                    // Near the block (not held) or, holding it, near a goal apart from it: the error of its
                    // offset from the fingertips as the two read-outs give it (cm).
                    const bool holding = y[4] > 0;
                    const bool hasGoal = things.receptacle >= 0 || things.referenceBlock >= 0;
                    // The thing's position at state index `at`, its relative read-out's x and y at q.
                    auto nearOffset = [&](int at, int q, std::vector<double>& offsets,
                                          std::vector<double>& relatives) {
                        const auto u = static_cast<std::size_t>(at);
                        const double tx = 30.0 * (y[u] - y[0]), ty = 30.0 * (y[u + 1] - y[1]);
                        if (!(std::hypot(tx, ty) < 10)) return;
                        const double ox = 30.0 * (a[r][at] - a[r][0]), oy = 30.0 * (a[r][at + 1] - a[r][1]);
                        offsets.push_back(std::hypot(ox - tx, oy - ty));
                        if (!auxRelW.defined()) return;
                        const double rx = relativeOffsetCm(rp[r][q]), ry = relativeOffsetCm(rp[r][q + 1]);
                        relatives.push_back(std::hypot(rx - tx, ry - ty));
                    };
                    if (!holding) nearOffset(5, 0, nearBlockOffset, nearBlockRelative);
                    if (holding && hasGoal) nearOffset(8, 2, nearGoalOffset, nearGoalRelative);
                    // Height is (z - 0.15 m) / 0.15 m at 2; holding the named block is +1 or -1 at 4.
                    height.push_back(15.0 * std::abs(a[r][2] - y[2]));
                    heldWrong += (a[r][4] > 0) != (y[4] > 0);
                }
            }
        }
        c.frames = count;
        c.tokenMatch = matches / (7.0 * count);
        c.meanBinDistance = distance / (6.0 * count);
        for (std::size_t j = 0; j < 3; ++j)
            c.signAgreement[j] = counted[j] > 0 ? static_cast<double>(agree[j]) / counted[j] : 0.0;
        if (aux) {
            c.gripperErrorCm = median(gripper);
            c.blockErrorCm = median(block);
            c.goalErrorCm = median(goal);
            if (std::none_of(goal.begin(), goal.end(), [](double e) { return std::isnan(e); })) {
                c.goalErrorP90Cm = decode::percentile(goal, 90);
                c.goalOff10Cm = static_cast<double>(std::count_if(goal.begin(), goal.end(),
                                                                  [](double e) { return e > 10; })) /
                                static_cast<double>(goal.size());
            } else {
                c.goalErrorP90Cm = c.goalOff10Cm = std::numeric_limits<double>::quiet_NaN();
            }
            if (!goalReceptacle.empty()) c.goalErrorReceptacleCm = median(goalReceptacle);
            if (!goalReference.empty()) c.goalErrorReferenceCm = median(goalReference);
            c.heightErrorCm = median(height);
            c.heldWrong = static_cast<double>(heldWrong) / count;
            c.nearBlockFrames = static_cast<int>(nearBlockOffset.size());
            c.nearGoalFrames = static_cast<int>(nearGoalOffset.size());
            auto medianOrNone = [](const std::vector<double>& v) { return v.empty() ? -1.0 : median(v); };
            c.nearBlockOffsetErrorCm = medianOrNone(nearBlockOffset);
            c.nearGoalOffsetErrorCm = medianOrNone(nearGoalOffset);
            c.nearBlockRelativeErrorCm = medianOrNone(nearBlockRelative);
            c.nearGoalRelativeErrorCm = medianOrNone(nearGoalRelative);
        }
        return c;
    };
    if (o.bcCheck && checkFrames > 0) {
        out.bcUnseen = check(n - checkFrames, checkFrames);
        out.bcSeen = check(std::max(0, n - 2 * checkFrames), std::min(checkFrames, n - checkFrames));
    }
    if (aux && o.readoutDrive > 0)
        out.readoutDrive = driveOnReadout(*m, auxLlmW, auxLlmB, o.auxLayer, o.daggerExpert, o.readoutDrive);
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

TrainedTarget loadTrainedTarget(const std::string& dir) {
    if (!fs::is_directory(dir)) throw Error(dir + ": not a model folder");
    TrainedTarget t;
    t.config = model::VlaConfig::fromFile((fs::path(dir) / "config.json").string());
    t.tokenizerPath = (fs::path(dir) / "tokenizer.model").string();
    if (!fs::exists(t.tokenizerPath)) throw Error(dir + ": missing tokenizer.model");
    const auto key = t.config.normStats.find(kDemoStatsKey);
    if (key != t.config.normStats.end() && key->contains("action")) t.actionStats = (*key)["action"];
    auto checkpoint = std::make_shared<const io::Checkpoint>(io::Checkpoint::open(dir));
    model::CheckpointWeights source(checkpoint, at::kFloat, at::kCPU);
    t.weights = std::make_shared<WeightSet>();
    // Owned float32 copies (the checkpoint's views are read-only maps of the file).
    for (const auto& spec : model::vlaTensorSpecs(t.config))
        t.weights->tensors[spec.name] = source.get(spec.name, spec.shape).to(at::kFloat).clone();
    return t;
}

} // namespace specvla::demo
