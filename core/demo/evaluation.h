// SPDX-License-Identifier: MIT
#pragma once

// Closed-loop evaluation of a trained demo policy in the demo world's simulator: each mode (AR, strict,
// relaxed at each margin) drives the gripper on the same held-out layouts, and the run records success and
// the decode metrics of every action it took. Plain structs here; libtorch stays in the .cpp.
#include "decode/metrics.h"
#include "decode/settings.h"
#include "demo/sim.h"
#include "demo/world.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace specvla::model {
class VlaModel;
class DraftHead;
} // namespace specvla::model

namespace specvla::demo {

// Held-out layout k: task allTaskKinds()[k % 5] on seed kHeldOutSeedBase + k. Training layouts use seeds
// below 10^6 (trainer: seed * 100000 + episode + retries), so these never appear in training.
constexpr std::uint64_t kHeldOutSeedBase = 1000000;
WorldState heldOutLayout(int k);

struct EpisodeOutcome;

struct EvalOptions {
    int episodes = 20;
    int firstEpisode = 0; // held-out layouts firstEpisode .. firstEpisode + episodes - 1
    int maxSteps = kMaxEpisodeSteps;
    std::vector<int> margins; // relaxed runs, one per margin
    bool ar = true;
    bool strict = true;
    decode::DecodeSettings base; // tree shape and acceptance options shared by all modes
    // Called with every closed-loop rollout (frames as rendered, upright) after its outcome is recorded,
    // e.g. to save it; mode is the run's label ("ar", "strict", "relaxed r=9").
    std::function<void(const std::string& mode, const EpisodeOutcome&, const RolloutResult&)> rollout;
    // Called at every step of every rollout with the state the policy saw and the action it chose (as the
    // simulator takes it), before the simulator applies it; step 0 starts a rollout.
    std::function<void(const std::string& mode, int layout, int step, const WorldState& state,
                       const data::Action& action)>
        step;
};

struct EpisodeOutcome {
    int layout = 0; // held-out index
    TaskKind task = TaskKind::PutIn;
    bool success = false;
    int steps = 0;
    // Where it went wrong (RolloutResult): the closest the fingertips came to the named block (cm, planar),
    // whether they ever held it, and how far the named block ended from the task's goal (cm, planar; NaN for
    // pick up, whose goal is the block's own place).
    double closestCm = 0;
    bool grasped = false;
    double goalCm = 0;
};

struct ModeResult {
    decode::DecodeMode mode = decode::DecodeMode::Ar;
    int margin = 0;    // relaxed only
    std::string label; // "ar", "strict", "relaxed r=9"
    int episodes = 0;
    int successes = 0;
    double successRate = 0;
    std::vector<EpisodeOutcome> outcomes;
    int grasped = 0;            // episodes whose fingertips held the named block at some point
    double medianClosestCm = 0; // over the outcomes
    double medianGoalCm = 0;    // over the outcomes with a goal (not pick up); NaN when none has one
    decode::RunMetrics metrics; // over every action the closed loop decoded (decode time only)
};

struct EvalResult {
    std::vector<ModeResult> modes; // AR, strict, then the margins in order
    double seconds = 0;
};

// Progress: (mode label, episode index, outcome) after each episode.
using EvalProgress = std::function<void(const ModeResult& mode, const EpisodeOutcome& outcome)>;

// Runs every mode on the held-out layouts. Frames whose pixels repeat across modes (the runs agree until
// their actions first differ) reuse one frame context, so vision and prefill run once per distinct frame;
// the metrics' timings cover decoding only. Deterministic: greedy decoding, seeded layouts. Throws Error for
// a speculative mode without a draft.
EvalResult evaluateClosedLoop(const model::VlaModel& target, const model::DraftHead* draft,
                              const EvalOptions& options, const EvalProgress& progress = {});

// The result's AR mode (the last, should it hold several); null when it has none.
const ModeResult* arModeOf(const EvalResult& result);

// The first relaxed mode (in the result's order) whose success rate falls more than `points` percentage
// points below AR's: a fall of exactly `points` (one layout of 20 at 5) is within the bound. Null when none
// does or the result has no AR mode.
const ModeResult* firstRelaxedFall(const EvalResult& result, double points = 5);

// A 95% Wilson score interval for a success rate of `successes` in `episodes` (z = 1.96): unlike the normal
// approximation it stays inside [0, 1] and is not empty at 0 or all successes. {0, 1} for no episodes;
// throws Error for counts that do not fit.
struct RateInterval {
    double low = 0;
    double high = 1;
};
RateInterval successInterval(int successes, int episodes);

// Two modes on the same layouts, layout by layout: how many both solve, only the first, only the second,
// neither, and the exact two-sided McNemar p-value of the discordant layouts (the chance, if neither mode
// were better, of a split at least this uneven: 1 when they never disagree). Throws Error when the two did
// not run the same layouts in the same order.
struct PairedOutcomes {
    int both = 0;
    int onlyFirst = 0;
    int onlySecond = 0;
    int neither = 0;
    double pValue = 1;
};
PairedOutcomes compareOutcomes(const ModeResult& first, const ModeResult& second);

// Parses "A:B" (every margin from A to B) or "A:B:S" (step S) or a single "A"; throws Error naming the text.
std::vector<int> parseMarginRange(const std::string& text);

} // namespace specvla::demo
