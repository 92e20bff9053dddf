// SPDX-License-Identifier: MIT
#pragma once

// The project's single definition of the decode metrics. Every plot, CSV, report and CLI command reads these
// functions; nothing else recomputes them. Plain C++17 (no torch, no Qt), so the UI can include it.
//
// Definitions
// -----------
// Acceptance length tau of one action: the tokens the target produced after the prefill, divided by the
// target passes that produced them. The prefill pass and its token (action token 1, the first tree root) are
// not counted. Produced = tokens.size() - 1 (each verify round yields its accepted draft tokens plus the
// bonus token when the bonus is committed; the bonus is included). Verify passes = rounds.size() for a
// speculative trace, targetPasses - 1 for an AR trace (a trace without rounds). AR therefore gives
// exactly 1.0 and a speculative decode that accepts nothing also gives 1.0. An action with no verify pass has
// tau = 0. Over several actions the run's acceptance length is the ratio of sums (total produced / total
// verify passes); the mean of the per-action values is reported beside it.
//
// Passes per action: the mean of targetPasses, prefill included (AR: 7 for 7 tokens).
//
// Per-position acceptance at draft depth d (d = 1..maxDepth, index 0 = depth 1): a round *tests* depth d when
// its accepted run reached depth d - 1, its tree offered a depth-d candidate whose parent passed (a node at
// depth d whose parent's verdict is root / exact / relaxed) and the cap still allowed a token there
// (committedBefore + d <= maxTokens - 1). The rate is the fraction of testing rounds whose accepted run
// reached depth d, i.e. the conditional acceptance P(accept d | accepted d - 1). Rounds cut by the 7-token
// cap do not count at the depths the cap forbade. Per-dimension acceptance (action dimension k = 0..6): the
// same events bucketed by the dimension the depth-d token fills, k = committedBefore + d. Equivalently:
// accepted draft tokens filling k / (those + rounds whose accepted run stopped right before k because the
// candidates for k were rejected). Dimension 0 is always the prefill's token, so its rate stays 0 with 0
// tests. Acceptance rate: all accepted draft tokens / all tested depths (the per-position counts pooled).
//
// Exact vs relaxed: accepted draft tokens whose verdict was Exact (equal to the target's greedy token) or
// Relaxed (different, within the margin), from RoundTrace::exactAccepted / relaxedAccepted.
//
// Accepted-run histogram: rounds counted by acceptedDrafts (index 0..maxTokens - 1).
//
// Bin-distance histograms: nodes with binDistance >= 0 counted by binDistance; "accepted" = the draft nodes
// on the accepted path (root excluded), "rejected" = nodes whose verdict is Rejected. Overall and per action
// dimension (TreeNode::dim, 0..6). All vectors share one length: the largest distance seen + 1.
//
// Deviation from AR (paired actions: the same frame decoded by AR, index i with index i): per action the mean
// over dimensions of |normalized_mode - normalized_ar| and of |bin_mode - bin_ar|, averaged over actions; and
// the share of actions whose tokens equal AR's exactly. Deviation from the recorded action: per action the
// mean over dimensions of |action - recorded| (un-normalised), averaged over actions.
//
// Latency: per action StageTimes::total() in ms; median and p90 (linear interpolation between order
// statistics, numpy.percentile's default), and the median of each stage separately.
//
// Speedup: AR median ms per action / the mode's median ms per action, both measured in the same run.
#include "decode/trace.h"

#include <vector>

namespace specvla::decode {

// Metrics of one action.
struct ActionMetrics {
    int produced = 0;     // tokens.size() - 1: tokens produced after the prefill's token
    int verifyPasses = 0; // rounds.size(), or targetPasses - 1 for AR (a trace without rounds)
    int targetPasses = 0; // prefill included
    int draftPasses = 0;  // prefill included
    int rounds = 0;
    int acceptedDrafts = 0;      // draft tokens accepted over all rounds
    int exact = 0;               // accepted draft tokens with verdict Exact
    int relaxed = 0;             // accepted draft tokens with verdict Relaxed
    double acceptanceLength = 0; // produced / verifyPasses; 0 when there is no verify pass
    double totalMs = 0;          // ms.total()
};

ActionMetrics actionMetrics(const ActionTrace& trace);

// Counts of nodes by bin distance (index = distance).
struct BinDistanceHistogram {
    std::vector<int> accepted;                    // draft nodes on the accepted path
    std::vector<int> rejected;                    // nodes with verdict Rejected
    std::vector<std::vector<int>> acceptedPerDim; // [7][distance]
    std::vector<std::vector<int>> rejectedPerDim; // [7][distance]
};

// Per-action latency in ms: median, p90 and mean of the total, and the median of each stage.
struct LatencySummary {
    double medianMs = 0; // of StageTimes::total()
    double p90Ms = 0;
    double meanMs = 0;
    StageTimes medianStages; // each stage's own median (they need not sum to medianMs)
};

struct RunMetrics {
    int actions = 0;
    int rounds = 0;
    long long produced = 0;     // sum of ActionMetrics::produced
    long long verifyPasses = 0; // sum of ActionMetrics::verifyPasses
    long long acceptedDrafts = 0;
    long long exact = 0;
    long long relaxed = 0;

    double acceptanceLength = 0;     // produced / verifyPasses (ratio of sums); 0 without passes
    double meanAcceptanceLength = 0; // mean of the per-action values
    double passesPerAction = 0;      // mean targetPasses
    double draftPassesPerAction = 0; // mean draftPasses
    double exactPerAction = 0;
    double relaxedPerAction = 0;
    double acceptanceRate = 0; // accepted draft tokens / tested depths (see the header comment)

    // index 0 = depth 1; length = the deepest tree node seen
    std::vector<double> perPositionAcceptance; // rate; 0 where nothing was tested
    std::vector<int> perPositionTested;
    std::vector<int> perPositionAccepted;
    // action dimensions 0..6 (always 7 entries)
    std::vector<double> perDimAcceptance;
    std::vector<int> perDimTested;
    std::vector<int> perDimAccepted;

    std::vector<int> acceptedRunHistogram; // rounds by acceptedDrafts; at least maxTokens entries (0..6)
    BinDistanceHistogram binDistance;
    LatencySummary latency;

    bool hasArReference = false;
    double meanAbsDevFromAr = 0; // normalised units ([-1, 1] scale)
    double meanBinDevFromAr = 0; // bins
    double exactMatchWithAr = 0; // share of actions in [0, 1]
    bool hasRecorded = false;
    double meanAbsDevFromRecorded = 0; // un-normalised action units
};

// traces: the actions of one mode. arReference: the same frames decoded by AR, paired by index.
// recordedActions: the recorded (ground-truth) action of each frame, paired by index. Throws Error when a
// reference's size differs from traces.size() or a paired action's dimension count differs.
RunMetrics aggregate(const std::vector<ActionTrace>& traces,
                     const std::vector<ActionTrace>* arReference = nullptr,
                     const std::vector<std::vector<double>>* recordedActions = nullptr);

// Deviation of one action from its AR counterpart (for per-step plots). Throws Error on a size mismatch.
struct ActionDeviation {
    double meanAbsNormalized = 0;
    double meanAbsBin = 0;
    bool tokensEqual = false;
};
ActionDeviation actionDeviation(const ActionTrace& mode, const ActionTrace& ar);
// Mean of |a[i] - b[i]|; 0 for empty vectors. Throws Error when the sizes differ.
double meanAbsDifference(const std::vector<double>& a, const std::vector<double>& b);

// AR median ms per action / other's median ms per action. Throws Error when either has no actions or a
// non-positive median.
double speedup(const RunMetrics& ar, const RunMetrics& other);

// Median (the mean of the two middle values for an even count). Throws Error on an empty list.
double median(std::vector<double> values);
// p in [0, 100], linear interpolation between order statistics (numpy.percentile's default): rank
// p / 100 * (n - 1). Throws Error on an empty list or p outside [0, 100].
double percentile(std::vector<double> values, double p);

} // namespace specvla::decode
