// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "decode/metrics.h"
#include "decode/trace_io.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using namespace specvla;
using namespace specvla::decode;
using nlohmann::json;

namespace {

bool near(double a, double b, double tol = 1e-12) {
    return std::abs(a - b) <= tol;
}

// dim, bins and tokens are filled by makeRound from committedBefore + depth.
TreeNode node(int parent, int depth, Verdict v, int binDistance) {
    TreeNode n;
    n.parent = parent;
    n.depth = depth;
    n.verdict = v;
    n.binDistance = binDistance;
    n.draftLogProb = -0.1f * static_cast<float>(depth);
    n.score = -0.3f * static_cast<float>(depth);
    return n;
}

TreeNode root() {
    return node(-1, 0, Verdict::Root, -1);
}

RoundTrace makeRound(int index, int committedBefore, std::vector<TreeNode> nodes, std::vector<int> path,
                     int exact, int relaxed, bool bonusCommitted, bool capped) {
    RoundTrace r;
    r.index = index;
    r.committedBefore = committedBefore;
    for (auto& n : nodes) { // dim as acceptTree fills it; bins and tokens follow from it
        n.dim = committedBefore + n.depth;
        n.bin = 100 + n.dim;
        n.token = 32000 - 1 - n.bin;
        n.targetBin = n.bin + 1;
        n.targetToken = 32000 - 1 - n.targetBin;
    }
    r.nodes = std::move(nodes);
    r.acceptedPath = std::move(path);
    r.acceptedDrafts = static_cast<int>(r.acceptedPath.size()) - 1;
    r.exactAccepted = exact;
    r.relaxedAccepted = relaxed;
    r.bonusToken = 31900 + index;
    r.bonusCommitted = bonusCommitted;
    r.capped = capped;
    r.ms.draft = 1.5;
    r.ms.verify = 10.0 / 3.0;
    r.ms.other = 0.25;
    return r;
}

void fillAction(ActionTrace& t, std::vector<int> bins, std::vector<double> normalized,
                std::vector<double> action) {
    t.bins = std::move(bins);
    t.tokens.clear();
    for (int b : t.bins)
        t.tokens.push_back(32000 - 1 - b);
    t.normalized = std::move(normalized);
    t.action = std::move(action);
}

StageTimes stages(double vision, double prefill, double draft, double verify, double other) {
    StageTimes s;
    s.vision = vision, s.prefill = prefill, s.draft = draft, s.verify = verify, s.other = other;
    return s;
}

// AR: prefill + 6 single-token decode steps, no rounds. tau = (7 - 1) / (7 - 1) = 1.
ActionTrace arTrace(std::vector<int> bins, std::vector<double> normalized, double totalMs) {
    ActionTrace t;
    t.settings.mode = DecodeMode::Ar;
    fillAction(t, std::move(bins), std::move(normalized), std::vector<double>(7, 0.0));
    t.targetPasses = 7;
    t.ms = stages(0, 0, 0, totalMs, 0);
    return t;
}

// S1 (relaxed, margin 9): three rounds accepting 1, 0, 3 drafts; the last is cut by the 7-token cap.
//  round 0, committedBefore 0: root(dim 0); n1 d1 exact bd0 (accepted); n2 d1 rejected bd12; n3 d2 (under n1)
//           rejected bd10; n4 d2 (under n2) not_reached bd3. Commits root + n1 + bonus -> 3 tokens.
//  round 1, committedBefore 2: n1, n2 d1 rejected bd15, bd20; n3 d2 not_reached. Commits root + bonus -> 4.
//  round 2, committedBefore 3: n1 d1 exact bd0, n2 d2 relaxed bd4, n3 d3 relaxed bd9 (all accepted), n4 d4
//           exact but beyond the cap (limit 7 - 3 - 1 = 3 drafts), n5 d1 rejected bd11. Commits root + 3 ->
//           7, bonus not committed, capped.
// tokens 7, target passes 1 + 3 = 4; tau = 6 / 3 = 2.
ActionTrace specTrace1() {
    ActionTrace t;
    t.settings.mode = DecodeMode::Relaxed;
    t.settings.margin = 9;
    t.rounds.push_back(makeRound(0, 0,
                                 {root(), node(0, 1, Verdict::Exact, 0), node(0, 1, Verdict::Rejected, 12),
                                  node(1, 2, Verdict::Rejected, 10), node(2, 2, Verdict::NotReached, 3)},
                                 {0, 1}, 1, 0, true, false));
    t.rounds.push_back(makeRound(1, 2,
                                 {root(), node(0, 1, Verdict::Rejected, 15),
                                  node(0, 1, Verdict::Rejected, 20), node(1, 2, Verdict::NotReached, -1)},
                                 {0}, 0, 0, true, false));
    t.rounds.push_back(makeRound(2, 3,
                                 {root(), node(0, 1, Verdict::Exact, 0), node(1, 2, Verdict::Relaxed, 4),
                                  node(2, 3, Verdict::Relaxed, 9), node(3, 4, Verdict::Exact, 0),
                                  node(0, 1, Verdict::Rejected, 11)},
                                 {0, 1, 2, 3}, 1, 2, false, true));
    fillAction(t, {100, 101, 102, 103, 104, 105, 106}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7},
               {0, 0, 0, 0, 0, 0, 1});
    t.targetPasses = 4;
    t.draftPasses = 5;
    t.ms = stages(10, 20, 5, 30, 5); // 70 ms
    return t;
}

// S2 (strict): rounds accepting 2, 1, 1 drafts.
//  round 0, committedBefore 0: n1 d1 exact, n2 d2 exact (a leaf: depth 3 is never tested). root + 2 + bonus
//  -> 4. round 1, committedBefore 3: n1 d1 exact, n2 d2 rejected bd2. root + 1 + bonus -> 6. round 2,
//  committedBefore 5: n1 d1 exact, n2 d2 exact (dim 7, beyond the action, bd -1). Limit 7 - 5 - 1 = 1:
//           root + 1 -> 7, capped, bonus not committed.
// tokens 7, target passes 4; tau = 6 / 3 = 2.
ActionTrace specTrace2() {
    ActionTrace t;
    t.settings.mode = DecodeMode::Strict;
    t.rounds.push_back(makeRound(0, 0, {root(), node(0, 1, Verdict::Exact, 0), node(1, 2, Verdict::Exact, 0)},
                                 {0, 1, 2}, 2, 0, true, false));
    t.rounds.push_back(makeRound(1, 3,
                                 {root(), node(0, 1, Verdict::Exact, 0), node(1, 2, Verdict::Rejected, 2)},
                                 {0, 1}, 1, 0, true, false));
    t.rounds.push_back(makeRound(2, 5,
                                 {root(), node(0, 1, Verdict::Exact, 0), node(1, 2, Verdict::Exact, -1)},
                                 {0, 1}, 1, 0, false, true));
    fillAction(t, {50, 50, 50, 50, 50, 50, 50}, std::vector<double>(7, 0.0), std::vector<double>(7, 0.0));
    t.targetPasses = 4;
    t.draftPasses = 4;
    t.ms = stages(10, 20, 6, 24, 2); // 62 ms
    return t;
}

bool sameStages(const StageTimes& a, const StageTimes& b) {
    return a.vision == b.vision && a.prefill == b.prefill && a.draft == b.draft && a.verify == b.verify &&
           a.other == b.other;
}

bool sameSettings(const DecodeSettings& a, const DecodeSettings& b) {
    return a.mode == b.mode && a.margin == b.margin && a.marginPerDim == b.marginPerDim &&
           a.relaxOnlyActionTokens == b.relaxOnlyActionTokens && a.tree.topK == b.tree.topK &&
           a.tree.depth == b.tree.depth && a.tree.totalTokens == b.tree.totalTokens &&
           a.pathChoice == b.pathChoice && a.children == b.children &&
           a.referencePositionQuirk == b.referencePositionQuirk && a.maxTokens == b.maxTokens;
}

bool sameTrace(const ActionTrace& a, const ActionTrace& b) {
    if (!sameSettings(a.settings, b.settings) || a.rounds.size() != b.rounds.size()) return false;
    for (std::size_t i = 0; i < a.rounds.size(); ++i) {
        const RoundTrace &x = a.rounds[i], &y = b.rounds[i];
        if (x.index != y.index || x.committedBefore != y.committedBefore ||
            x.acceptedPath != y.acceptedPath || x.acceptedDrafts != y.acceptedDrafts ||
            x.exactAccepted != y.exactAccepted || x.relaxedAccepted != y.relaxedAccepted ||
            x.bonusToken != y.bonusToken || x.bonusCommitted != y.bonusCommitted || x.capped != y.capped ||
            !sameStages(x.ms, y.ms) || x.nodes.size() != y.nodes.size())
            return false;
        for (std::size_t k = 0; k < x.nodes.size(); ++k) {
            const TreeNode &n = x.nodes[k], &m = y.nodes[k];
            if (n.token != m.token || n.bin != m.bin || n.parent != m.parent || n.depth != m.depth ||
                n.dim != m.dim || n.draftLogProb != m.draftLogProb || n.score != m.score ||
                n.targetToken != m.targetToken || n.targetBin != m.targetBin ||
                n.binDistance != m.binDistance || n.verdict != m.verdict)
                return false;
        }
    }
    return a.tokens == b.tokens && a.bins == b.bins && a.normalized == b.normalized && a.action == b.action &&
           a.targetPasses == b.targetPasses && a.draftPasses == b.draftPasses && a.fromCache == b.fromCache &&
           sameStages(a.ms, b.ms);
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

int commas(const std::string& s) {
    return static_cast<int>(std::count(s.begin(), s.end(), ','));
}

template <typename F>
QString errorOf(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestMetrics : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void arActionIsOnePerPass() {
        const ActionTrace ar = arTrace({1, 2, 3, 4, 5, 6, 7}, std::vector<double>(7, 0.0), 100);
        const ActionMetrics m = actionMetrics(ar);
        QCOMPARE(m.produced, 6);     // 7 tokens minus the prefill's
        QCOMPARE(m.verifyPasses, 6); // 7 target passes minus the prefill
        QCOMPARE(m.targetPasses, 7);
        QCOMPARE(m.acceptanceLength, 1.0);
        QCOMPARE(m.rounds, 0);

        const RunMetrics r = aggregate({ar, ar});
        QCOMPARE(r.actions, 2);
        QCOMPARE(r.acceptanceLength, 1.0);
        QCOMPARE(r.meanAcceptanceLength, 1.0);
        QCOMPARE(r.passesPerAction, 7.0);
        QCOMPARE(r.exact, 0LL);
        QVERIFY(r.perPositionAcceptance.empty());
        QCOMPARE(r.perDimAcceptance, std::vector<double>(7, 0.0));
        QCOMPARE(r.acceptedRunHistogram, std::vector<int>(7, 0));
        QVERIFY(!r.hasArReference && !r.hasRecorded);
    }

    void speculativeAction() {
        const ActionMetrics m = actionMetrics(specTrace1());
        QCOMPARE(m.produced, 6);
        QCOMPARE(m.verifyPasses, 3);
        QCOMPARE(m.targetPasses, 4);
        QCOMPARE(m.acceptanceLength, 2.0); // 6 / 3
        QCOMPARE(m.acceptedDrafts, 4);     // 1 + 0 + 3
        QCOMPARE(m.exact, 2);              // round 0: 1, round 2: 1
        QCOMPARE(m.relaxed, 2);            // round 2
        QCOMPARE(m.totalMs, 70.0);
    }

    void perPositionAndHistograms() {
        const RunMetrics m = aggregate({specTrace1(), specTrace2()});
        // tau: (6 + 6) / (3 + 3) = 2; passes (4 + 4) / 2 = 4.
        QCOMPARE(m.acceptanceLength, 2.0);
        QCOMPARE(m.passesPerAction, 4.0);
        QCOMPARE(m.draftPassesPerAction, 4.5);
        QCOMPARE(m.rounds, 6);
        // exact: S1 2 + S2 (2 + 1 + 1) = 6; relaxed: 2. Per action 3 and 1.
        QCOMPARE(m.exact, 6LL);
        QCOMPARE(m.relaxed, 2LL);
        QCOMPARE(m.exactPerAction, 3.0);
        QCOMPARE(m.relaxedPerAction, 1.0);

        // Tested / accepted per depth (deepest node: depth 4 in S1 round 2):
        //  S1 r0: d1 ok, d2 tested (n3 under accepted n1) failed.  S1 r1: d1 failed.
        //  S1 r2: d1..d3 ok; d4 forbidden by the cap (not tested although n4 is exact).
        //  S2 r0: d1, d2 ok; no depth-3 node: untested.  S2 r1: d1 ok, d2 failed.  S2 r2: d1 ok, d2 > cap.
        //  tested   = [3 + 3, 2 + 2, 1, 0] = [6, 4, 1, 0]
        //  accepted = [2 + 3, 1 + 1, 1, 0] = [5, 2, 1, 0]
        QCOMPARE(m.perPositionTested, (std::vector<int>{6, 4, 1, 0}));
        QCOMPARE(m.perPositionAccepted, (std::vector<int>{5, 2, 1, 0}));
        QCOMPARE(m.perPositionAcceptance.size(), std::size_t(4));
        QVERIFY(near(m.perPositionAcceptance[0], 5.0 / 6.0));
        QCOMPARE(m.perPositionAcceptance[1], 0.5);
        QCOMPARE(m.perPositionAcceptance[2], 1.0);
        QCOMPARE(m.perPositionAcceptance[3], 0.0);
        QVERIFY(near(m.acceptanceRate, 8.0 / 11.0));

        // Per dimension (dim = committedBefore + depth):
        //  S1: r0 dim1 ok, dim2 failed; r1 dim3 failed; r2 dims 4, 5, 6 ok.
        //  S2: r0 dims 1, 2 ok; r1 dim4 ok, dim5 failed; r2 dim6 ok.
        //  tested   = [0, 2, 2, 1, 2, 2, 2], accepted = [0, 2, 1, 0, 2, 1, 2] (sums 11 and 8, as per depth)
        QCOMPARE(m.perDimTested, (std::vector<int>{0, 2, 2, 1, 2, 2, 2}));
        QCOMPARE(m.perDimAccepted, (std::vector<int>{0, 2, 1, 0, 2, 1, 2}));
        QCOMPARE(m.perDimAcceptance, (std::vector<double>{0, 1, 0.5, 0, 1, 0.5, 1}));

        // Runs: S1 1, 0, 3; S2 2, 1, 1 -> [1, 3, 1, 1, 0, 0, 0]
        QCOMPARE(m.acceptedRunHistogram, (std::vector<int>{1, 3, 1, 1, 0, 0, 0}));
    }

    void binDistanceHistogram() {
        const RunMetrics m = aggregate({specTrace1()});
        // accepted path nodes (root excluded): r0 n1 bd0 dim1; r2 n1 bd0 dim4, n2 bd4 dim5, n3 bd9 dim6.
        // rejected: r0 n2 bd12 dim1, n3 bd10 dim2; r1 n1 bd15 dim3, n2 bd20 dim3; r2 n5 bd11 dim4.
        // not counted: r0 n4 (not_reached, bd3), r2 n4 (exact, off the path), roots (bd -1).
        const auto& h = m.binDistance;
        std::vector<int> accepted(21, 0), rejected(21, 0);
        accepted[0] = 2, accepted[4] = 1, accepted[9] = 1;
        rejected[10] = 1, rejected[11] = 1, rejected[12] = 1, rejected[15] = 1, rejected[20] = 1;
        QCOMPARE(h.accepted, accepted);
        QCOMPARE(h.rejected, rejected);
        QCOMPARE(h.acceptedPerDim.size(), std::size_t(7));
        QCOMPARE(h.rejectedPerDim.size(), std::size_t(7));
        for (const auto& v : h.acceptedPerDim)
            QCOMPARE(v.size(), std::size_t(21));
        for (const auto& v : h.rejectedPerDim)
            QCOMPARE(v.size(), std::size_t(21));
        QCOMPARE(h.acceptedPerDim[1][0], 1);
        QCOMPARE(h.acceptedPerDim[4][0], 1);
        QCOMPARE(h.acceptedPerDim[5][4], 1);
        QCOMPARE(h.acceptedPerDim[6][9], 1);
        QCOMPARE(h.rejectedPerDim[1][12], 1);
        QCOMPARE(h.rejectedPerDim[2][10], 1);
        QCOMPARE(h.rejectedPerDim[3][15], 1);
        QCOMPARE(h.rejectedPerDim[3][20], 1);
        QCOMPARE(h.rejectedPerDim[4][11], 1);
        int acceptedSum = 0, rejectedSum = 0;
        for (const auto& v : h.acceptedPerDim)
            for (int c : v)
                acceptedSum += c;
        for (const auto& v : h.rejectedPerDim)
            for (int c : v)
                rejectedSum += c;
        QCOMPARE(acceptedSum, 4);
        QCOMPARE(rejectedSum, 5);
    }

    void ratioOfSumsNotMeanOfRatios() {
        // AR: 6 / 6 = 1; S1: 6 / 3 = 2. Run: 12 / 9 = 4/3; mean of per-action values: 1.5.
        const ActionTrace ar = arTrace({1, 2, 3, 4, 5, 6, 7}, std::vector<double>(7, 0.0), 100);
        const RunMetrics m = aggregate({ar, specTrace1()});
        QVERIFY(near(m.acceptanceLength, 4.0 / 3.0));
        QCOMPARE(m.meanAcceptanceLength, 1.5);
        QCOMPARE(m.passesPerAction, 5.5); // (7 + 4) / 2
    }

    void deviationFromArAndRecorded() {
        const std::vector<ActionTrace> spec{specTrace1(), specTrace2()};
        // AR1 equals S1; AR2 differs from S2 in bins 1 (+2) and 4 (-3) and normalized +0.7 / -0.7 there.
        const std::vector<ActionTrace> ar{
            arTrace({100, 101, 102, 103, 104, 105, 106}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}, 90),
            arTrace({50, 52, 50, 50, 47, 50, 50}, {0, 0.7, 0, 0, -0.7, 0, 0}, 110)};
        // recorded: S1 action (0,0,0,0,0,0,1) vs (0.5,0,...,0,1): 0.5/7; S2 zeros vs
        // (0.7,0,..,0,-0.7): 1.4/7.
        const std::vector<std::vector<double>> recorded{{0.5, 0, 0, 0, 0, 0, 1}, {0.7, 0, 0, 0, 0, 0, -0.7}};
        const RunMetrics m = aggregate(spec, &ar, &recorded);
        QVERIFY(m.hasArReference);
        QVERIFY(m.hasRecorded);
        QVERIFY(near(m.meanAbsDevFromAr, (0.0 + 1.4 / 7.0) / 2.0)); // 0.1
        QVERIFY(near(m.meanBinDevFromAr, (0.0 + 5.0 / 7.0) / 2.0)); // 5/14
        QCOMPARE(m.exactMatchWithAr, 0.5);
        QVERIFY(near(m.meanAbsDevFromRecorded, (0.5 / 7.0 + 1.4 / 7.0) / 2.0));

        const ActionDeviation d = actionDeviation(spec[1], ar[1]);
        QVERIFY(near(d.meanAbsNormalized, 0.2));
        QVERIFY(near(d.meanAbsBin, 5.0 / 7.0));
        QVERIFY(!d.tokensEqual);
        QVERIFY(actionDeviation(spec[0], ar[0]).tokensEqual);

        // size mismatches are errors that say what differs
        const std::vector<ActionTrace> oneAr{ar[0]};
        QVERIFY(errorOf([&] { aggregate(spec, &oneAr); }).contains("AR reference has 1 actions, expected 2"));
        const std::vector<std::vector<double>> oneRecorded{recorded[0]};
        QVERIFY(errorOf([&] { aggregate(spec, nullptr, &oneRecorded); }).contains("1 recorded actions"));
        const std::vector<std::vector<double>> shortRecorded{{0.5, 0}, recorded[1]};
        QVERIFY(
            errorOf([&] { aggregate(spec, nullptr, &shortRecorded); }).contains("action 0 has 7 dimensions"));
        std::vector<ActionTrace> shortAr = ar;
        shortAr[1].normalized.pop_back();
        QVERIFY(errorOf([&] { aggregate(spec, &shortAr); }).contains("action 1"));
    }

    void medianAndPercentile() {
        // numpy: np.median([1,2,3,4,10]) = 3; np.percentile([1,2,3,4,10], 90) = 4 + 0.6 * (10 - 4) = 7.6
        QCOMPARE(median({10, 1, 4, 3, 2}), 3.0);
        QVERIFY(near(percentile({10, 1, 4, 3, 2}, 90), 7.6));
        QCOMPARE(median({4, 1, 3, 2}), 2.5);
        QCOMPARE(percentile({1, 2, 3, 4, 10}, 0), 1.0);
        QCOMPARE(percentile({1, 2, 3, 4, 10}, 100), 10.0);
        QVERIFY(near(percentile({1, 2, 3, 4}, 25), 1.75)); // rank 0.75
        QCOMPARE(percentile({5}, 90), 5.0);
        QVERIFY(!errorOf([] { median({}); }).isEmpty());
        QVERIFY(errorOf([] { percentile({1, 2}, 101); }).contains("outside [0, 100]"));

        // Latency of a run: totals [1, 2, 3, 4, 10] all in the verify stage.
        std::vector<ActionTrace> run;
        for (double ms : {1.0, 2.0, 3.0, 4.0, 10.0})
            run.push_back(arTrace({1, 2, 3, 4, 5, 6, 7}, {}, ms));
        run[4].ms.vision = 8; // totals [1, 2, 3, 4, 18]; vision medians 0
        const RunMetrics m = aggregate(run);
        QCOMPARE(m.latency.medianMs, 3.0);
        QVERIFY(near(m.latency.p90Ms, 4 + 0.6 * 14));
        QVERIFY(near(m.latency.meanMs, 28.0 / 5.0));
        QCOMPARE(m.latency.medianStages.verify, 3.0);
        QCOMPARE(m.latency.medianStages.vision, 0.0);
    }

    void speedupFromMedians() {
        const std::vector<ActionTrace> ar{arTrace({1, 2, 3, 4, 5, 6, 7}, {}, 90),
                                          arTrace({1, 2, 3, 4, 5, 6, 7}, {}, 100),
                                          arTrace({1, 2, 3, 4, 5, 6, 7}, {}, 110)};
        const RunMetrics arRun = aggregate(ar);                             // median 100
        const RunMetrics specRun = aggregate({specTrace1(), specTrace2()}); // median (70 + 62) / 2 = 66
        QCOMPARE(specRun.latency.medianMs, 66.0);
        QVERIFY(near(speedup(arRun, specRun), 100.0 / 66.0));
        QCOMPARE(speedup(arRun, arRun), 1.0);
        QVERIFY(errorOf([&] { speedup(arRun, RunMetrics{}); }).contains("speedup"));
    }

    void emptyRun() {
        const RunMetrics m = aggregate({});
        QCOMPARE(m.actions, 0);
        QCOMPARE(m.acceptanceLength, 0.0);
        QCOMPARE(m.latency.medianMs, 0.0);
        QCOMPARE(m.acceptedRunHistogram.size(), std::size_t(7));
    }

    void traceJsonRoundTrip() {
        ActionTrace t = specTrace1();
        t.settings.marginPerDim = std::array<int, 7>{1, 2, 3, 4, 5, 6, 7};
        t.settings.pathChoice = PathChoice::ReferenceOrder;
        t.settings.relaxOnlyActionTokens = false;
        t.settings.referencePositionQuirk = true;
        t.settings.tree.topK = 5;
        t.fromCache = true;
        t.normalized[0] = 1.0 / 3.0;
        t.action[3] = -2.5e-7;
        t.rounds[2].nodes[2].draftLogProb = -0.123456789f;
        t.ms.other = 0.1 + 0.2;

        const json j = toJson(t);
        QCOMPARE(j["rounds"][0]["nodes"][1]["verdict"].get<std::string>(), std::string("exact"));
        QCOMPARE(j["settings"]["margin_per_dim"].size(), std::size_t(7));
        const ActionTrace back = actionTraceFromJson(json::parse(j.dump()));
        QVERIFY(sameTrace(t, back));
        QVERIFY(!sameTrace(specTrace1(), back)); // the comparison itself can fail
        QVERIFY(toJson(back) == j);

        const ActionTrace ar = arTrace({1, 2, 3, 4, 5, 6, 7}, std::vector<double>(7, 0.5), 3);
        QVERIFY(sameTrace(ar, actionTraceFromJson(json::parse(toJson(ar).dump()))));
    }

    void traceJsonErrorsNameTheField() {
        const json good = toJson(specTrace1());
        auto broken = [&](auto edit) {
            json j = good;
            edit(j);
            return errorOf([&] { actionTraceFromJson(j); });
        };
        QString e = broken([](json& j) { j["rounds"][0]["nodes"][1].erase("verdict"); });
        QVERIFY2(e.contains("'rounds[0].nodes[1].verdict' is missing"), qPrintable(e));
        e = broken([](json& j) { j["rounds"][1]["nodes"][2]["verdict"] = "maybe"; });
        QVERIFY2(e.contains("rounds[1].nodes[2].verdict") && e.contains("unknown verdict 'maybe'"),
                 qPrintable(e));
        e = broken([](json& j) { j["tokens"][2] = "x"; });
        QVERIFY2(e.contains("'tokens[2]' must be an integer"), qPrintable(e));
        e = broken([](json& j) { j.erase("ms"); });
        QVERIFY2(e.contains("'ms' is missing"), qPrintable(e));
        e = broken([](json& j) { j["rounds"][2]["nodes"][3]["parent"] = 5; });
        QVERIFY2(e.contains("rounds[2].nodes[3].parent"), qPrintable(e));
        e = broken([](json& j) { j["rounds"][0]["accepted_path"][1] = 99; });
        QVERIFY2(e.contains("rounds[0].accepted_path[1]"), qPrintable(e));
        e = broken([](json& j) { j["settings"]["margin"] = "9"; });
        QVERIFY2(e.contains("margin"), qPrintable(e));
        e = broken([](json& j) { j["rounds"] = 3; });
        QVERIFY2(e.contains("'rounds' must be an array"), qPrintable(e));
        QVERIFY(errorOf([] { actionTraceFromJson(json::array()); }).contains("must be an object"));
    }

    void settingsJson() {
        // absent keys keep the defaults, except the child choice: files from before it existed were decoded
        // with plain top-k children
        const DecodeSettings defaults;
        DecodeSettings old = defaults;
        old.children = ChildChoice::TopK;
        QVERIFY(sameSettings(settingsFromJson(json::object()), old));
        QVERIFY(settingsFromJson(json{{"children", "bin_coverage"}}).children == ChildChoice::BinCoverage);
        QCOMPARE(toJson(defaults)["children"].get<std::string>(), std::string("bin_coverage"));
        QVERIFY(sameSettings(settingsFromJson(json::parse(toJson(defaults).dump())), defaults));
        DecodeSettings s =
            settingsFromJson(json{{"margin", 3}, {"tree", {{"depth", 6}}}, {"future_key", true}});
        QCOMPARE(s.margin, 3);
        QCOMPARE(s.tree.depth, 6);
        QCOMPARE(s.tree.topK, defaults.tree.topK);
        QCOMPARE(s.tree.totalTokens, defaults.tree.totalTokens);
        QVERIFY(s.mode == defaults.mode);
        QVERIFY(!s.marginPerDim);

        // full round trip of non-default values
        DecodeSettings x;
        x.mode = DecodeMode::Strict;
        x.margin = 4;
        x.marginPerDim = std::array<int, 7>{0, 1, 2, 3, 4, 5, 6};
        x.relaxOnlyActionTokens = false;
        x.tree = TreeShape{3, 2, 11};
        x.pathChoice = PathChoice::ReferenceOrder;
        x.children = ChildChoice::TopK;
        x.referencePositionQuirk = true;
        x.maxTokens = 8;
        QVERIFY(sameSettings(settingsFromJson(json::parse(toJson(x).dump())), x));
        QVERIFY(toJson(defaults)["margin_per_dim"].is_null());

        // bad types and values name the field
        auto err = [](const json& j) { return errorOf([&] { settingsFromJson(j); }); };
        QString e = err(json{{"margin", "9"}});
        QVERIFY2(e.contains("'margin' must be an integer"), qPrintable(e));
        e = err(json{{"tree", {{"top_k", 0}}}});
        QVERIFY2(e.contains("'tree.top_k' must be an integer >= 1"), qPrintable(e));
        e = err(json{{"tree", {{"depth", 2.5}}}});
        QVERIFY2(e.contains("'tree.depth'"), qPrintable(e));
        e = err(json{{"mode", "fast"}});
        QVERIFY2(e.contains("'mode'") && e.contains("unknown mode 'fast'"), qPrintable(e));
        e = err(json{{"margin_per_dim", {1, 2}}});
        QVERIFY2(e.contains("'margin_per_dim' must hold 7 margins"), qPrintable(e));
        e = err(json{{"margin_per_dim", {1, 2, 3, 4, 5, -6, 7}}});
        QVERIFY2(e.contains("'margin_per_dim[5]'"), qPrintable(e));
        e = err(json{{"relax_only_action_tokens", 1}});
        QVERIFY2(e.contains("'relax_only_action_tokens' must be a boolean"), qPrintable(e));
        e = err(json{{"children", "widest"}});
        QVERIFY2(e.contains("'children'") && e.contains("unknown child choice 'widest'"), qPrintable(e));
        e = err(json{{"path_choice", "random"}});
        QVERIFY2(e.contains("'path_choice'"), qPrintable(e));
        QVERIFY(err(json{{"margin", -1}}).contains("'margin' must be an integer >= 0"));
        QVERIFY(err(json::array()).contains("must be an object"));
    }

    void metricsJson() {
        const std::vector<ActionTrace> spec{specTrace1()};
        const std::vector<ActionTrace> ar{specTrace1()};
        json j = toJson(aggregate(spec));
        QCOMPARE(j["acceptance_length"].get<double>(), 2.0);
        QCOMPARE(j["accepted_run_histogram"].size(), std::size_t(7));
        QCOMPARE(j["bin_distance"]["accepted_per_dim"].size(), std::size_t(7));
        QVERIFY(j["latency"].contains("p90_ms"));
        QVERIFY(!j.contains("deviation_from_ar"));
        j = toJson(aggregate(spec, &ar));
        QCOMPARE(j["deviation_from_ar"]["exact_match_share"].get<double>(), 1.0);
        QVERIFY(!j.contains("deviation_from_recorded"));
    }

    void csvQuotingAndNumbers() {
        QCOMPARE(csvField("plain text"), std::string("plain text"));
        QCOMPARE(csvField("a,b"), std::string("\"a,b\""));
        QCOMPARE(csvField("say \"hi\""), std::string("\"say \"\"hi\"\"\""));
        QCOMPARE(csvField("two\nlines"), std::string("\"two\nlines\""));
        QCOMPARE(csvField("cr\r"), std::string("\"cr\r\""));
        QCOMPARE(formatNumber(0.1), std::string("0.1"));
        QCOMPARE(formatNumber(7.0), std::string("7"));
        QCOMPARE(formatNumber(-2.5e-7), std::string("-2.5e-07"));
        QCOMPARE(formatNumber(std::nan("")), std::string("nan"));
        const double third = 1.0 / 3.0;
        QCOMPARE(std::stod(formatNumber(third)), third); // round-trips
    }

    void csvTables() {
        const std::vector<ActionTrace> traces{specTrace1(), specTrace2()};
        // rounds: 3 + 3 rows
        auto r = lines(roundsCsv(traces, 10));
        QCOMPARE(r.size(), std::size_t(7));
        QCOMPARE(r[0], std::string("step,round,committed_before,accepted_drafts,exact,relaxed,bonus_token,"
                                   "bonus_committed,capped,tree_size,ms_draft,ms_verify,ms_other"));
        QCOMPARE(r[1], std::string("10,0,0,1,1,0,31900,1,0,5,1.5,3.3333333333333335,0.25"));
        QCOMPARE(r[3], std::string("10,2,3,3,1,2,31902,0,1,6,1.5,3.3333333333333335,0.25"));
        QVERIFY(r[4].rfind("11,0,", 0) == 0);
        for (const auto& line : r)
            QCOMPARE(commas(line), 12);

        // nodes: S1 5 + 4 + 6, S2 3 + 3 + 3 -> 24 rows
        auto n = lines(nodesCsv(traces));
        QCOMPARE(n.size(), std::size_t(25));
        QCOMPARE(n[0],
                 std::string("step,round,node,token,bin,parent,depth,dim,draft_log_prob,score,target_token,"
                             "target_bin,bin_distance,verdict,on_accepted_path"));
        // S1 round 0 node 1: depth 1, dim 1, bin 101, token 31898, target bin 102, log-prob -0.1, score -0.3
        QCOMPARE(n[2], std::string("0,0,1,31898,101,0,1,1,-0.1,-0.3,31897,102,0,exact,1"));
        QCOMPARE(n[3].substr(n[3].size() - 11), std::string(",rejected,0"));
        for (const auto& line : n)
            QCOMPARE(commas(line), 14);

        // actions: one row each; list columns space separated
        const ActionTrace ar = arTrace({1, 2, 3, 4, 5, 6, 7}, std::vector<double>(7, 0.5), 100);
        auto a = lines(actionsCsv({ar, specTrace1()}, 3));
        QCOMPARE(a.size(), std::size_t(3));
        QCOMPARE(
            a[0],
            std::string("step,mode,tokens,bins,normalized,action,target_passes,draft_passes,rounds,"
                        "acceptance_length,exact,relaxed,from_cache,ms_vision,ms_prefill,ms_draft,ms_verify,"
                        "ms_other,ms_total"));
        QCOMPARE(a[1],
                 std::string("3,ar,31998 31997 31996 31995 31994 31993 31992,1 2 3 4 5 6 7,"
                             "0.5 0.5 0.5 0.5 0.5 0.5 0.5,0 0 0 0 0 0 0,7,0,0,1,0,0,0,0,0,0,100,0,100"));
        QVERIFY(a[2].rfind("4,relaxed,", 0) == 0);
        QVERIFY(a[2].find(",4,5,3,2,2,2,0,10,20,5,30,5,70") != std::string::npos);
        for (const auto& line : a)
            QCOMPARE(commas(line), 18);
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "test_metrics.moc"
