// SPDX-License-Identifier: MIT
#pragma once

// What one decode did, round by round: plain C++17 values that the UI, exports, reports and the CLI read.
// No torch, no Qt.
#include "decode/settings.h"

#include <cstdint>
#include <string>
#include <vector>

namespace specvla::decode {

enum class Verdict : std::uint8_t {
    Root,       // the round's root: the previous round's bonus (or the prefill's token), known correct
    Exact,      // draft token equals the target's greedy token at the parent
    Relaxed,    // differs, but its bin lies within the margin of the target's bin
    Rejected,   // fails the rule (its ancestors all passed)
    NotReached, // an ancestor was rejected
};
const char* verdictName(Verdict v); // "root", "exact", "relaxed", "rejected", "not_reached"

// Milliseconds per stage, synchronised with the device.
struct StageTimes {
    double vision = 0;  // vision backbones + projector
    double prefill = 0; // target prefill + draft prefill
    double draft = 0;   // tree expansion and draft updates
    double verify = 0;  // target verification passes (AR: the single-token decode steps)
    double other = 0;   // preprocessing, acceptance, cache compaction, bookkeeping
    double total() const { return vision + prefill + draft + verify + other; }
    StageTimes& operator+=(const StageTimes& o) {
        vision += o.vision, prefill += o.prefill, draft += o.draft, verify += o.verify, other += o.other;
        return *this;
    }
};

struct TreeNode {
    int token = -1;
    int bin = -1;           // action bin of token, -1 outside the action range
    int parent = -1;        // node index, -1 for the root
    int depth = 0;          // root 0
    int dim = 0;            // action dimension this token would fill (0..6)
    float draftLogProb = 0; // log-prob of token under the draft at its parent
    float score = 0;        // cumulative draft log-prob from the root (the tree's ranking score)
    int targetToken = -1;   // the target's greedy token after this node (predicts this node's children)
    int targetBin = -1;
    int binDistance = -1; // |bin - parent's targetBin| when both are action bins, else -1
    Verdict verdict = Verdict::NotReached;
};

struct RoundTrace {
    int index = 0;                 // 0-based round of this action
    int committedBefore = 0;       // action tokens committed before this round's root
    std::vector<TreeNode> nodes;   // [0] is the root; parents precede children
    std::vector<int> acceptedPath; // node indices from the root to the last accepted node
    int acceptedDrafts = 0;        // draft tokens accepted (acceptedPath.size() - 1)
    int exactAccepted = 0;
    int relaxedAccepted = 0;
    int bonusToken = -1;         // the target's greedy token after the last accepted node
    bool bonusCommitted = false; // false when the 7-token cap was reached without it
    bool capped = false;         // acceptance was cut by the 7-token cap
    StageTimes ms;
};

struct ActionTrace {
    DecodeSettings settings;
    std::vector<RoundTrace> rounds; // empty in AR mode
    std::vector<int> tokens;        // the committed action tokens (7)
    std::vector<int> bins;
    std::vector<double> normalized; // bin centres
    std::vector<double> action;     // un-normalised
    int targetPasses = 0;           // prefill included
    int draftPasses = 0;            // draft forwards, prefill included
    bool fromCache = false;         // the frame context (vision, prefills) came from the cache
    StageTimes ms;                  // whole action
};

} // namespace specvla::decode
