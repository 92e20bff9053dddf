// SPDX-License-Identifier: MIT
#include "demo/probe.h"

#include "common/error.h"
#include "demo/dataset.h"
#include "demo/evaluation.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn.h>
#include <torch/optim.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>

namespace specvla::demo {

namespace {

constexpr int kBins = 256;
constexpr int kInputs = kStateFeatures + kNumTaskKinds;

int taskIndex(TaskKind kind) {
    const auto& all = allTaskKinds();
    return static_cast<int>(std::find(all.begin(), all.end(), kind) - all.begin());
}

// The state features followed by the task kind, one-hot (the instruction tells the target as much).
void probeInput(const WorldState& w, float* out) {
    const StateFeatures f = stateFeatures(w);
    std::copy(f.begin(), f.end(), out);
    for (int k = 0; k < kNumTaskKinds; ++k)
        out[kStateFeatures + k] = k == taskIndex(w.task) ? 1.0f : 0.0f;
}

int binOf(double a) {
    return std::clamp(static_cast<int>(std::floor((a + 1) / 2 * kBins)), 0, kBins - 1);
}

double binCentre(std::int64_t bin) {
    return (static_cast<double>(bin) + 0.5) / kBins * 2 - 1;
}

void check(bool ok, const char* field, const std::string& why) {
    if (!ok) throw Error(std::string("demo probe: ") + field + " " + why);
}

} // namespace

WorldState perceivedState(const WorldState& seen, double sigmaMetres, std::mt19937_64& rng) {
    WorldState w = seen;
    if (sigmaMetres <= 0) return w;
    std::normal_distribution<double> gauss(0.0, 1.0);
    auto jitter = [&](double& v) { v += sigmaMetres * gauss(rng); };
    jitter(w.gripper.x);
    jitter(w.gripper.y);
    for (std::size_t i = 0; i < w.blocks.size(); ++i) {
        Block& b = w.blocks[i];
        // Every block draws its offset, held or not, so each thing's offset is the same draw whatever is held
        // (what fixed noise relies on).
        jitter(b.x);
        jitter(b.y);
        if (static_cast<int>(i) == w.held) {
            b.x = w.gripper.x;
            b.y = w.gripper.y;
        }
    }
    for (Receptacle& r : w.receptacles) {
        jitter(r.x);
        jitter(r.y);
    }
    return w;
}

ProbeResult runProbe(const ProbeOptions& o, const ProbeProgress& progress, const ProbeEpisodeReport& report) {
    check(o.episodes >= 1, "episodes", "must be at least 1");
    check(o.steps >= 1, "steps", "must be at least 1");
    check(o.batch >= 1, "batch", "must be at least 1");
    check(o.hidden >= 1, "hidden", "must be at least 1");
    check(o.lr > 0, "lr", "must be positive");
    check(std::isfinite(o.binSigma) && o.binSigma >= 0, "binSigma", "must be finite and not negative");
    check(!o.noiseCm.empty(), "noiseCm", "needs at least one level");
    for (double n : o.noiseCm)
        check(std::isfinite(n) && n >= 0, "noiseCm", "levels must be finite and not negative");
    check(o.evalEpisodes >= 1, "evalEpisodes", "must be at least 1");
    check(o.maxSteps >= 1, "maxSteps", "must be at least 1");
    check(o.daggerRounds >= 0, "daggerRounds", "must not be negative");
    check(o.daggerRounds == 0 || o.daggerEpisodes >= 1, "daggerEpisodes", "must be at least 1");
    check(o.firstSeed + static_cast<std::uint64_t>(o.episodes) +
                  static_cast<std::uint64_t>(o.daggerRounds) * static_cast<std::uint64_t>(o.daggerEpisodes) <
              kHeldOutSeedBase,
          "episodes", "and the DAgger layouts would reach the held-out layouts");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    torch::manual_seed(o.seed);

    // Demonstrations: the world states and the expert's actions (frames are not needed, so tiny renders).
    constexpr int kImage = 16;
    std::vector<float> inputs;
    std::vector<std::int64_t> labels;
    auto addSample = [&](const WorldState& w, const data::Action& label) {
        inputs.resize(inputs.size() + kInputs);
        probeInput(w, inputs.data() + inputs.size() - kInputs);
        for (double a : label)
            labels.push_back(binOf(a));
    };
    ProbeResult out;
    for (int e = 0; e < (o.expertDrives ? 0 : o.episodes); ++e) {
        const TaskKind kind = allTaskKinds()[static_cast<std::size_t>(e % kNumTaskKinds)];
        std::vector<WorldState> states;
        const data::Episode ep =
            rollout(kind, o.firstSeed + static_cast<std::uint64_t>(e), kImage, o.expert, o.maxSteps, &states);
        for (int t = 0; t < ep.numSteps; ++t) {
            addSample(states[static_cast<std::size_t>(t)], ep.actions[static_cast<std::size_t>(t)]);
        }
    }
    at::Tensor x, y;
    auto takeSamples = [&] {
        out.samples = static_cast<int>(labels.size() / 7);
        x = at::from_blob(inputs.data(), {out.samples, kInputs}, at::kFloat).clone();
        y = at::from_blob(labels.data(), {out.samples, 7}, at::kLong).clone();
    };
    if (!o.expertDrives) takeSamples();

    torch::nn::Sequential net(torch::nn::Linear(kInputs, o.hidden), torch::nn::GELU(),
                              torch::nn::Linear(o.hidden, o.hidden), torch::nn::GELU(),
                              torch::nn::Linear(o.hidden, o.hidden), torch::nn::GELU(),
                              torch::nn::Linear(o.hidden, 7 * kBins));
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(o.lr));
    std::mt19937_64 rng(o.seed);
    // The soft target rows for each bin (one-hot when binSigma is 0); the gripper (dimension 6) stays
    // one-hot.
    at::Tensor soft = at::eye(kBins);
    if (o.binSigma > 0) {
        const at::Tensor b = at::arange(kBins, at::kFloat);
        soft = at::exp(-(b.view({-1, 1}) - b.view({1, -1})).pow(2) / (2 * o.binSigma * o.binSigma));
        soft = soft / soft.sum(1, true);
    }
    const at::Tensor gripperDim = (at::arange(7) == 6).repeat({o.batch}); // [batch * 7]
    auto train = [&] {
        for (int step = 0; step < o.steps; ++step) {
            std::vector<std::int64_t> idx(static_cast<std::size_t>(o.batch));
            for (auto& i : idx)
                i = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(out.samples));
            const at::Tensor pick = at::tensor(idx);
            const at::Tensor logits = net->forward(x.index_select(0, pick)).view({-1, kBins});
            const at::Tensor bins = y.index_select(0, pick).view({-1});
            const at::Tensor target =
                at::where(gripperDim.view({-1, 1}), at::one_hot(bins, kBins).to(at::kFloat),
                          soft.index_select(0, bins));
            const at::Tensor loss = -(target * at::log_softmax(logits, 1)).sum(1).mean();
            opt.zero_grad();
            loss.backward();
            opt.step();
            out.losses.push_back(loss.item<double>());
            if (progress) progress(static_cast<int>(out.losses.size()) - 1, out.losses.back());
        }
    };
    // The learned action for a world state: greedy bins, the gripper by sign.
    auto act = [&](const WorldState& w) {
        const at::NoGradGuard noGrad;
        std::array<float, kInputs> in{};
        probeInput(w, in.data());
        const at::Tensor best =
            net->forward(at::from_blob(in.data(), {1, kInputs}, at::kFloat)).view({7, kBins}).argmax(1);
        data::Action a{};
        for (std::int64_t d = 0; d < 7; ++d)
            a[static_cast<std::size_t>(d)] = binCentre(best[d].item<std::int64_t>());
        a[6] = a[6] > 0 ? 1.0 : -1.0;
        return a;
    };
    if (!o.expertDrives) train();
    // DAgger: the policy drives fresh training layouts, the expert labels every state it visits, and the
    // policy trains on everything gathered so far.
    ExpertOptions relabel = o.expert;
    relabel.perturbation = 0;
    relabel.gripperFlip = 0;
    for (int round = 0; round < (o.expertDrives ? 0 : o.daggerRounds); ++round) {
        for (int e = 0; e < o.daggerEpisodes; ++e) {
            const std::uint64_t seed = o.firstSeed + static_cast<std::uint64_t>(o.episodes) +
                                       static_cast<std::uint64_t>(round * o.daggerEpisodes + e);
            const TaskKind kind = allTaskKinds()[static_cast<std::size_t>(e % kNumTaskKinds)];
            Expert expert(seed ^ 0x5DEECE66DA3B9F21ull, relabel);
            runEpisode(
                sampleLayout(kind, seed),
                [&](const vision::RgbImage&, const WorldState& w) {
                    addSample(w, expert.act(w));
                    return act(w);
                },
                kImage, o.maxSteps);
        }
        takeSamples();
        train();
    }

    // Closed loop on the held-out layouts, at each noise level.
    const at::NoGradGuard noGrad;
    net->eval();
    for (std::size_t level = 0; level < o.noiseCm.size(); ++level) {
        ProbeLevel l;
        l.noiseCm = o.noiseCm[level];
        std::mt19937_64 noiseRng(o.seed * 7919 + level);
        const double sigma = l.noiseCm / 100.0;
        for (int k = 0; k < o.evalEpisodes; ++k) {
            const WorldState start = heldOutLayout(k);
            // Fixed noise: every frame of the episode starts from the same generator state, so draws the same
            // offsets.
            const std::mt19937_64 episodeRng(o.fixedNoise ? noiseRng() : 0);
            Expert expert(static_cast<std::uint64_t>(k) ^ 0x5DEECE66DA3B9F21ull, relabel);
            const auto policy = [&](const vision::RgbImage&, const WorldState& seen) {
                std::mt19937_64 fixedRng = episodeRng;
                const WorldState w = perceivedState(seen, sigma, o.fixedNoise ? fixedRng : noiseRng);
                return o.expertDrives ? expert.act(w) : act(w);
            };
            const RolloutResult r = runEpisode(start, policy, kImage, o.maxSteps);
            const auto t = static_cast<std::size_t>(taskIndex(start.task));
            ++l.episodes;
            ++l.episodesPerTask[t];
            if (r.success) {
                ++l.successes;
                ++l.successesPerTask[t];
            }
            if (report) report(l.noiseCm, k, r);
        }
        out.levels.push_back(l);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

} // namespace specvla::demo
