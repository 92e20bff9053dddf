// SPDX-License-Identifier: MIT
#include "decode/metrics.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

namespace specvla::decode {
namespace {

constexpr int kDims = 7;

bool passed(Verdict v) {
    return v == Verdict::Root || v == Verdict::Exact || v == Verdict::Relaxed;
}

// Did the round offer a depth-d candidate whose parent passed (so that the rule was applied at depth d)?
bool offersCandidateAt(const RoundTrace& round, int d) {
    const auto& nodes = round.nodes;
    for (const TreeNode& n : nodes) {
        if (n.depth != d) continue;
        if (n.parent < 0 || n.parent >= static_cast<int>(nodes.size())) continue;
        const TreeNode& p = nodes[static_cast<std::size_t>(n.parent)];
        if (p.parent < 0 || passed(p.verdict)) return true;
    }
    return false;
}

void bump(std::vector<int>& v, int index) {
    if (index < 0) return;
    if (static_cast<std::size_t>(index) >= v.size()) v.resize(static_cast<std::size_t>(index) + 1, 0);
    ++v[static_cast<std::size_t>(index)];
}

void padTo(std::vector<int>& v, std::size_t n) {
    if (v.size() < n) v.resize(n, 0);
}

double ratio(double num, double den) {
    return den > 0 ? num / den : 0.0;
}

double mean(const std::vector<double>& v) {
    if (v.empty()) return 0;
    double s = 0;
    for (double x : v)
        s += x;
    return s / static_cast<double>(v.size());
}

std::vector<double> toDoubles(const std::vector<int>& v) {
    return std::vector<double>(v.begin(), v.end());
}

} // namespace

ActionMetrics actionMetrics(const ActionTrace& trace) {
    ActionMetrics m;
    m.produced = trace.tokens.empty() ? 0 : static_cast<int>(trace.tokens.size()) - 1;
    m.targetPasses = trace.targetPasses;
    m.draftPasses = trace.draftPasses;
    m.rounds = static_cast<int>(trace.rounds.size());
    m.verifyPasses = trace.rounds.empty() ? std::max(0, trace.targetPasses - 1) : m.rounds;
    for (const RoundTrace& r : trace.rounds) {
        m.acceptedDrafts += r.acceptedDrafts;
        m.exact += r.exactAccepted;
        m.relaxed += r.relaxedAccepted;
    }
    m.acceptanceLength = ratio(m.produced, m.verifyPasses);
    m.totalMs = trace.ms.total();
    return m;
}

double meanAbsDifference(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size())
        throw Error("metrics: cannot compare vectors of " + std::to_string(a.size()) + " and " +
                    std::to_string(b.size()) + " values");
    if (a.empty()) return 0;
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += std::abs(a[i] - b[i]);
    return s / static_cast<double>(a.size());
}

ActionDeviation actionDeviation(const ActionTrace& mode, const ActionTrace& ar) {
    if (mode.normalized.size() != ar.normalized.size())
        throw Error("metrics: the action has " + std::to_string(mode.normalized.size()) +
                    " normalized values, its AR reference " + std::to_string(ar.normalized.size()));
    if (mode.bins.size() != ar.bins.size())
        throw Error("metrics: the action has " + std::to_string(mode.bins.size()) +
                    " bins, its AR reference " + std::to_string(ar.bins.size()));
    ActionDeviation d;
    d.meanAbsNormalized = meanAbsDifference(mode.normalized, ar.normalized);
    d.meanAbsBin = meanAbsDifference(toDoubles(mode.bins), toDoubles(ar.bins));
    d.tokensEqual = mode.tokens == ar.tokens;
    return d;
}

RunMetrics aggregate(const std::vector<ActionTrace>& traces, const std::vector<ActionTrace>* arReference,
                     const std::vector<std::vector<double>>* recordedActions) {
    if (arReference && arReference->size() != traces.size())
        throw Error("metrics: the AR reference has " + std::to_string(arReference->size()) +
                    " actions, expected " + std::to_string(traces.size()));
    if (recordedActions && recordedActions->size() != traces.size())
        throw Error("metrics: " + std::to_string(recordedActions->size()) +
                    " recorded actions given, expected " + std::to_string(traces.size()));

    RunMetrics m;
    m.actions = static_cast<int>(traces.size());
    m.perDimTested.assign(kDims, 0);
    m.perDimAccepted.assign(kDims, 0);
    m.binDistance.acceptedPerDim.assign(kDims, {});
    m.binDistance.rejectedPerDim.assign(kDims, {});

    std::vector<double> perActionTau, totals, vision, prefill, draft, verify, other;
    long long targetPasses = 0, draftPasses = 0;
    std::size_t maxDepth = 0;
    int maxTokens = 0;

    for (const ActionTrace& t : traces) {
        const ActionMetrics a = actionMetrics(t);
        m.rounds += a.rounds;
        m.produced += a.produced;
        m.verifyPasses += a.verifyPasses;
        m.acceptedDrafts += a.acceptedDrafts;
        m.exact += a.exact;
        m.relaxed += a.relaxed;
        targetPasses += a.targetPasses;
        draftPasses += a.draftPasses;
        perActionTau.push_back(a.acceptanceLength);
        totals.push_back(t.ms.total());
        vision.push_back(t.ms.vision);
        prefill.push_back(t.ms.prefill);
        draft.push_back(t.ms.draft);
        verify.push_back(t.ms.verify);
        other.push_back(t.ms.other);
        maxTokens = std::max(maxTokens, t.settings.maxTokens);

        for (const RoundTrace& r : t.rounds) {
            bump(m.acceptedRunHistogram, r.acceptedDrafts);
            for (const TreeNode& n : r.nodes)
                maxDepth = std::max(maxDepth, static_cast<std::size_t>(std::max(0, n.depth)));

            // Per-position / per-dimension: depths 1..acceptedDrafts passed; depth acceptedDrafts + 1 failed
            // when it was tested (a candidate with a passing parent existed and the cap allowed a token
            // there).
            const int limit = t.settings.maxTokens - r.committedBefore - 1;
            for (int d = 1; d <= r.acceptedDrafts + 1; ++d) {
                const bool accepted = d <= r.acceptedDrafts;
                if (!accepted && (d > limit || !offersCandidateAt(r, d))) break;
                bump(m.perPositionTested, d - 1);
                if (accepted) bump(m.perPositionAccepted, d - 1);
                const int dim = r.committedBefore + d;
                if (dim >= 0 && dim < kDims) {
                    ++m.perDimTested[static_cast<std::size_t>(dim)];
                    if (accepted) ++m.perDimAccepted[static_cast<std::size_t>(dim)];
                }
            }

            // Bin distances: accepted draft nodes (the path without its root) and rejected nodes.
            auto record = [&](const TreeNode& n, std::vector<int>& all,
                              std::vector<std::vector<int>>& perDim) {
                if (n.binDistance < 0) return;
                bump(all, n.binDistance);
                if (n.dim >= 0 && n.dim < kDims) bump(perDim[static_cast<std::size_t>(n.dim)], n.binDistance);
            };
            for (std::size_t i = 1; i < r.acceptedPath.size(); ++i) {
                const int idx = r.acceptedPath[i];
                if (idx < 0 || idx >= static_cast<int>(r.nodes.size())) continue;
                record(r.nodes[static_cast<std::size_t>(idx)], m.binDistance.accepted,
                       m.binDistance.acceptedPerDim);
            }
            for (const TreeNode& n : r.nodes)
                if (n.verdict == Verdict::Rejected)
                    record(n, m.binDistance.rejected, m.binDistance.rejectedPerDim);
        }
    }

    // Shapes: per-position up to the deepest node, the run histogram at least 0..maxTokens-1, every
    // bin-distance vector as long as the longest.
    padTo(m.perPositionTested, maxDepth);
    padTo(m.perPositionAccepted, maxDepth);
    padTo(m.perPositionTested, m.perPositionAccepted.size());
    padTo(m.perPositionAccepted, m.perPositionTested.size());
    padTo(m.acceptedRunHistogram, static_cast<std::size_t>(std::max(maxTokens, kDims)));
    std::size_t distances = std::max(m.binDistance.accepted.size(), m.binDistance.rejected.size());
    for (int k = 0; k < kDims; ++k) {
        distances = std::max(distances, m.binDistance.acceptedPerDim[static_cast<std::size_t>(k)].size());
        distances = std::max(distances, m.binDistance.rejectedPerDim[static_cast<std::size_t>(k)].size());
    }
    padTo(m.binDistance.accepted, distances);
    padTo(m.binDistance.rejected, distances);
    for (int k = 0; k < kDims; ++k) {
        padTo(m.binDistance.acceptedPerDim[static_cast<std::size_t>(k)], distances);
        padTo(m.binDistance.rejectedPerDim[static_cast<std::size_t>(k)], distances);
    }

    for (std::size_t d = 0; d < m.perPositionTested.size(); ++d)
        m.perPositionAcceptance.push_back(ratio(m.perPositionAccepted[d], m.perPositionTested[d]));
    for (int k = 0; k < kDims; ++k)
        m.perDimAcceptance.push_back(ratio(m.perDimAccepted[static_cast<std::size_t>(k)],
                                           m.perDimTested[static_cast<std::size_t>(k)]));
    long long tested = 0, testedAccepted = 0;
    for (std::size_t d = 0; d < m.perPositionTested.size(); ++d) {
        tested += m.perPositionTested[d];
        testedAccepted += m.perPositionAccepted[d];
    }
    m.acceptanceRate = ratio(static_cast<double>(testedAccepted), static_cast<double>(tested));

    m.acceptanceLength = ratio(static_cast<double>(m.produced), static_cast<double>(m.verifyPasses));
    m.meanAcceptanceLength = mean(perActionTau);
    if (m.actions > 0) {
        const double n = m.actions;
        m.passesPerAction = static_cast<double>(targetPasses) / n;
        m.draftPassesPerAction = static_cast<double>(draftPasses) / n;
        m.exactPerAction = static_cast<double>(m.exact) / n;
        m.relaxedPerAction = static_cast<double>(m.relaxed) / n;
        m.latency.medianMs = median(totals);
        m.latency.p90Ms = percentile(totals, 90);
        m.latency.meanMs = mean(totals);
        m.latency.medianStages.vision = median(vision);
        m.latency.medianStages.prefill = median(prefill);
        m.latency.medianStages.draft = median(draft);
        m.latency.medianStages.verify = median(verify);
        m.latency.medianStages.other = median(other);
    }

    if (arReference) {
        m.hasArReference = true;
        std::vector<double> dev, binDev;
        int equal = 0;
        for (std::size_t i = 0; i < traces.size(); ++i) {
            ActionDeviation d;
            try {
                d = actionDeviation(traces[i], (*arReference)[i]);
            } catch (const Error& e) {
                throw Error("action " + std::to_string(i) + ": " + e.what());
            }
            dev.push_back(d.meanAbsNormalized);
            binDev.push_back(d.meanAbsBin);
            equal += d.tokensEqual ? 1 : 0;
        }
        m.meanAbsDevFromAr = mean(dev);
        m.meanBinDevFromAr = mean(binDev);
        m.exactMatchWithAr = ratio(equal, static_cast<double>(traces.size()));
    }
    if (recordedActions) {
        m.hasRecorded = true;
        std::vector<double> dev;
        for (std::size_t i = 0; i < traces.size(); ++i) {
            const auto& rec = (*recordedActions)[i];
            if (rec.size() != traces[i].action.size())
                throw Error("metrics: action " + std::to_string(i) + " has " +
                            std::to_string(traces[i].action.size()) + " dimensions, the recorded action " +
                            std::to_string(rec.size()));
            dev.push_back(meanAbsDifference(traces[i].action, rec));
        }
        m.meanAbsDevFromRecorded = mean(dev);
    }
    return m;
}

double speedup(const RunMetrics& ar, const RunMetrics& other) {
    if (ar.actions <= 0 || other.actions <= 0)
        throw Error("speedup: needs AR and mode timings (AR " + std::to_string(ar.actions) +
                    " actions, mode " + std::to_string(other.actions) + ")");
    if (!(ar.latency.medianMs > 0) || !(other.latency.medianMs > 0))
        throw Error("speedup: median latencies must be positive (AR " + std::to_string(ar.latency.medianMs) +
                    " ms, mode " + std::to_string(other.latency.medianMs) + " ms)");
    return ar.latency.medianMs / other.latency.medianMs;
}

double median(std::vector<double> values) {
    if (values.empty()) throw Error("median of an empty list");
    return percentile(std::move(values), 50);
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) throw Error("percentile of an empty list");
    if (!(p >= 0 && p <= 100)) throw Error("percentile: p = " + std::to_string(p) + " is outside [0, 100]");
    std::sort(values.begin(), values.end());
    const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    const double frac = rank - static_cast<double>(lo);
    return values[lo] + frac * (values[hi] - values[lo]);
}

} // namespace specvla::decode
