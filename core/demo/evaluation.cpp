// SPDX-License-Identifier: MIT
#include "demo/evaluation.h"

#include "common/error.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/dataset.h"
#include "demo/expert.h"
#include "demo/sim.h"
#include "demo/trainer.h"
#include "model/vla_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace specvla::demo {

namespace {

// The middle element (the upper one of an even count); NaN for none.
double medianOf(std::vector<double> v) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

} // namespace

WorldState heldOutLayout(int k) {
    if (k < 0) throw Error("demo: held-out layout index must not be negative");
    const TaskKind kind = allTaskKinds()[static_cast<std::size_t>(k % kNumTaskKinds)];
    return sampleLayout(kind, kHeldOutSeedBase + static_cast<std::uint64_t>(k));
}

const ModeResult* arModeOf(const EvalResult& result) {
    const ModeResult* ar = nullptr;
    for (const auto& mode : result.modes)
        if (mode.mode == decode::DecodeMode::Ar) ar = &mode;
    return ar;
}

const ModeResult* firstRelaxedFall(const EvalResult& result, double points) {
    const ModeResult* ar = arModeOf(result);
    if (!ar) return nullptr;
    // Rates are ratios of small counts: compare with a tolerance so that a fall of exactly `points` stays in.
    for (const auto& mode : result.modes)
        if (mode.mode == decode::DecodeMode::Relaxed &&
            mode.successRate < ar->successRate - points / 100 - 1e-9)
            return &mode;
    return nullptr;
}

RateInterval successInterval(int successes, int episodes) {
    if (episodes < 0 || successes < 0 || successes > episodes)
        throw Error("success interval: " + std::to_string(successes) + " successes in " +
                    std::to_string(episodes) + " episodes");
    if (episodes == 0) return {};
    constexpr double z = 1.96;
    const double n = episodes;
    const double p = successes / n;
    const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    const double half = z / (1 + z * z / n) * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
    // The bounds are exact at the ends; rounding must not push them past the observed rate there.
    return {successes == 0 ? 0.0 : std::max(0.0, centre - half),
            successes == episodes ? 1.0 : std::min(1.0, centre + half)};
}

PairedOutcomes compareOutcomes(const ModeResult& first, const ModeResult& second) {
    if (first.outcomes.size() != second.outcomes.size())
        throw Error("comparing " + first.label + " with " + second.label + ": " +
                    std::to_string(first.outcomes.size()) + " against " +
                    std::to_string(second.outcomes.size()) + " layouts");
    PairedOutcomes r;
    for (std::size_t i = 0; i < first.outcomes.size(); ++i) {
        const EpisodeOutcome& a = first.outcomes[i];
        const EpisodeOutcome& b = second.outcomes[i];
        if (a.layout != b.layout)
            throw Error("comparing " + first.label + " with " + second.label + ": layout " +
                        std::to_string(a.layout) + " against layout " + std::to_string(b.layout) +
                        " at position " + std::to_string(i));
        if (a.success && b.success)
            ++r.both;
        else if (a.success)
            ++r.onlyFirst;
        else if (b.success)
            ++r.onlySecond;
        else
            ++r.neither;
    }
    // Exact binomial test on the discordant layouts: 2 P(X <= min) with X ~ Bin(n, 1/2), capped at 1. Terms
    // are summed in logs so that hundreds of layouts do not overflow.
    const int n = r.onlyFirst + r.onlySecond;
    const int k = std::min(r.onlyFirst, r.onlySecond);
    double tail = 0;
    for (int i = 0; i <= k; ++i)
        tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) -
                         n * std::log(2.0));
    r.pValue = std::min(1.0, 2 * tail);
    return r;
}

std::vector<int> parseMarginRange(const std::string& text) {
    if (text.empty() || text.back() == ':')
        throw Error("margin range '" + text + "': expected A, A:B or A:B:S");
    std::vector<int> parts;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, ':')) {
        std::size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(part, &used);
        } catch (const std::logic_error&) {
            used = 0;
        }
        if (part.empty() || used != part.size() || v < 0)
            throw Error("margin range '" + text + "': '" + part + "' is not a non-negative integer");
        parts.push_back(v);
    }
    if (parts.empty() || parts.size() > 3)
        throw Error("margin range '" + text + "': expected A, A:B or A:B:S");
    const int a = parts[0], b = parts.size() > 1 ? parts[1] : parts[0], s = parts.size() > 2 ? parts[2] : 1;
    if (b < a) throw Error("margin range '" + text + "': the end is below the start");
    if (b > 255) throw Error("margin range '" + text + "': margins above 255 bins mean nothing (256 bins)");
    if (s < 1) throw Error("margin range '" + text + "': the step must be positive");
    std::vector<int> out;
    for (int m = a; m <= b; m += s)
        out.push_back(m);
    return out;
}

EvalResult evaluateClosedLoop(const model::VlaModel& target, const model::DraftHead* draft,
                              const EvalOptions& o, const EvalProgress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    if (o.episodes < 0 || o.firstEpisode < 0) throw Error("demo eval: episode counts must not be negative");
    if (o.maxSteps <= 0) throw Error("demo eval: maxSteps must be positive");
    std::vector<decode::DecodeSettings> settings;
    std::vector<std::string> labels;
    auto add = [&](decode::DecodeMode mode, int margin) {
        decode::DecodeSettings s = o.base;
        s.mode = mode;
        s.margin = margin;
        s.marginPerDim.reset();
        if (mode != decode::DecodeMode::Ar && !draft)
            throw Error(std::string("demo eval: ") + decode::modeName(mode) + " decoding needs a draft head");
        settings.push_back(s);
        labels.push_back(mode == decode::DecodeMode::Relaxed ? "relaxed r=" + std::to_string(margin)
                                                             : decode::modeName(mode));
    };
    if (o.ar) add(decode::DecodeMode::Ar, 0);
    if (o.strict) add(decode::DecodeMode::Strict, 0);
    for (int m : o.margins) {
        if (m < 0) throw Error("demo eval: margins must not be negative");
        add(decode::DecodeMode::Relaxed, m);
    }

    EvalResult result;
    result.modes.resize(settings.size());
    std::vector<std::vector<decode::ActionTrace>> traces(settings.size());
    for (std::size_t i = 0; i < settings.size(); ++i) {
        result.modes[i].mode = settings[i].mode;
        result.modes[i].margin = settings[i].mode == decode::DecodeMode::Relaxed ? settings[i].margin : 0;
        result.modes[i].label = labels[i];
    }
    const int imageSize = target.featurizerConfig().imageSize;
    for (int e = 0; e < o.episodes; ++e) {
        const int k = o.firstEpisode + e;
        const WorldState start = heldOutLayout(k);
        const std::string instr = instruction(start);
        // Frame contexts of this layout by pixels: every mode starts from the same frame, and modes that
        // agree keep seeing the same frames.
        std::unordered_map<std::string, std::unique_ptr<decode::FrameContext>> contexts;
        for (std::size_t i = 0; i < settings.size(); ++i) {
            int stepIndex = 0;
            auto policy = [&](const vision::RgbImage& frame, const WorldState& state) {
                std::string key(frame.pixels.begin(), frame.pixels.end());
                auto it = contexts.find(key);
                if (it == contexts.end() && contexts.size() >= 256) contexts.clear(); // bounded memory
                if (it == contexts.end())
                    it = contexts
                             .emplace(std::move(key),
                                      std::make_unique<decode::FrameContext>(decode::prepareFrame(
                                          target, draft, policyInput(frame), instr, o.base.tree)))
                             .first;
                decode::ActionTrace trace = decode::decodeFrame(target, draft, *it->second, settings[i]);
                const data::Action out = simulatorAction(trace.action);
                traces[i].push_back(std::move(trace));
                if (o.step) o.step(labels[i], k, stepIndex, state, out);
                ++stepIndex;
                return out;
            };
            const RolloutResult r = runEpisode(start, policy, imageSize, o.maxSteps);
            EpisodeOutcome outcome{k, start.task, r.success, r.episode.numSteps};
            outcome.closestCm = 100 * r.closestToTarget;
            outcome.grasped = r.graspedTarget;
            outcome.goalCm = std::numeric_limits<double>::quiet_NaN();
            if (start.task != TaskKind::PickUp) {
                const WorldState& f = r.finalState;
                const auto goal = taskGoal(f);
                const Block& b = f.blocks.at(static_cast<std::size_t>(f.target));
                outcome.goalCm = 100 * std::hypot(b.x - goal[0], b.y - goal[1]);
            }
            ModeResult& m = result.modes[i];
            m.outcomes.push_back(outcome);
            ++m.episodes;
            m.successes += r.success ? 1 : 0;
            if (progress) progress(m, outcome);
            if (o.rollout) o.rollout(m.label, outcome, r);
        }
    }
    for (std::size_t i = 0; i < settings.size(); ++i) {
        ModeResult& m = result.modes[i];
        m.successRate = m.episodes > 0 ? static_cast<double>(m.successes) / m.episodes : 0.0;
        std::vector<double> closest, goal;
        for (const EpisodeOutcome& e : m.outcomes) {
            m.grasped += e.grasped ? 1 : 0;
            closest.push_back(e.closestCm);
            if (!std::isnan(e.goalCm)) goal.push_back(e.goalCm);
        }
        m.medianClosestCm = medianOf(closest);
        m.medianGoalCm = medianOf(goal);
        if (!traces[i].empty()) m.metrics = decode::aggregate(traces[i]);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace specvla::demo
