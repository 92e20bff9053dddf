// SPDX-License-Identifier: MIT
#pragma once

// Decode settings: plain C++17, shared by the engine, the UI and session files.
#include <array>
#include <optional>
#include <string>

namespace specvla::decode {

enum class DecodeMode { Ar, Strict, Relaxed };

// Which path wins when several accept equally many draft tokens.
enum class PathChoice {
    FewestRelaxed,  // default: fewer relaxed (inexact) acceptances, then higher cumulative draft log-prob,
                    // then the lower node index
    ReferenceOrder, // the first path in leaf order, as the reference code's argmax over retrieve_indices
};

// How a draft tree node's children are chosen (see decode/child_selection.h).
enum class ChildChoice {
    BinCoverage, // default: in relaxed mode, action children by the draft mass each newly covers within the
                 // margin; plain top-k in strict mode and at margin 0
    TopK,        // the k most likely tokens, as EAGLE-2 and the reference code
};

struct TreeShape {
    int topK = 8;         // children per expanded node and frontier width (the reference's top_k)
    int depth = 4;        // expansion steps; draft tokens reach depth + 1 below the root
    int totalTokens = 50; // tree size including the root

    bool operator==(const TreeShape& o) const {
        return topK == o.topK && depth == o.depth && totalTokens == o.totalTokens;
    }
    bool operator!=(const TreeShape& o) const { return !(*this == o); }
};

struct DecodeSettings {
    DecodeMode mode = DecodeMode::Relaxed;
    int margin = 9; // bins; the released Spec-VLA script's accept_threshold
    // One margin per action dimension (position 0..6 of the action); when set it replaces `margin`.
    std::optional<std::array<int, 7>> marginPerDim;
    // Relax only when both the draft token and the target's greedy token are action tokens (recommended);
    // false applies |id difference| <= margin to any token, as the reference code does.
    bool relaxOnlyActionTokens = true;
    TreeShape tree;
    PathChoice pathChoice = PathChoice::FewestRelaxed;
    ChildChoice children = ChildChoice::BinCoverage;
    // Reproduce the reference's draft position ids for tree nodes (text length instead of the multimodal
    // length; reference section 1.8.1). Off: tree nodes sit at draft_kv_len + depth - 1.
    bool referencePositionQuirk = false;
    int maxTokens = 7;

    // The margin in bins that applies to action dimension dim; 0 in strict and AR mode.
    int marginFor(int dim) const {
        if (mode != DecodeMode::Relaxed) return 0;
        if (marginPerDim && dim >= 0 && dim < 7) return (*marginPerDim)[dim];
        return margin;
    }

    // Every field equal (the undo stack and session files compare settings this way).
    bool operator==(const DecodeSettings& o) const {
        return mode == o.mode && margin == o.margin && marginPerDim == o.marginPerDim &&
               relaxOnlyActionTokens == o.relaxOnlyActionTokens && tree == o.tree &&
               pathChoice == o.pathChoice && children == o.children &&
               referencePositionQuirk == o.referencePositionQuirk && maxTokens == o.maxTokens;
    }
    bool operator!=(const DecodeSettings& o) const { return !(*this == o); }
};

const char* modeName(DecodeMode mode);                        // "ar", "strict", "relaxed"
std::optional<DecodeMode> parseMode(const std::string& name); // case-insensitive; nullopt when unknown
const char* pathChoiceName(PathChoice choice);                // "fewest_relaxed", "reference_order"
std::optional<PathChoice> parsePathChoice(const std::string& name);
const char* childChoiceName(ChildChoice choice); // "bin_coverage", "top_k"
std::optional<ChildChoice> parseChildChoice(const std::string& name);

} // namespace specvla::decode
