// SPDX-License-Identifier: MIT
#pragma once

// The acceptance rule of Spec-VLA (relaxed) and EAGLE (strict) over a verified draft tree, torch-free.
#include "decode/action_tokenizer.h"
#include "decode/draft_tree.h"
#include "decode/settings.h"
#include "decode/trace.h"

#include <vector>

namespace specvla::decode {

struct Acceptance {
    std::vector<Verdict> verdicts; // per node
    std::vector<int>
        binDistance; // per node: |bin(token) - bin(target greedy at parent)|, -1 if not both bins
    std::vector<int> acceptedPath; // node indices, root first
    int acceptedDrafts = 0;
    int exactAccepted = 0, relaxedAccepted = 0;
    int bonusToken = -1; // targetGreedy at the last accepted node
    bool capped = false; // the cap cut the accepted run
};

// Does draft token `draft` pass against the target's greedy token `target` for action dimension dim?
// Strict/AR: equality. Relaxed: equality, or |draft - target| <= marginFor(dim) where, with
// relaxOnlyActionTokens, both ids must be action tokens (ids differ exactly as bins do).
bool tokenAccepted(int draft, int target, int dim, const DecodeSettings& s, const ActionTokenizer& actions);

// targetGreedy[i]: the target's argmax after node i (from the verification pass). committedBefore: action
// tokens committed before the root; node i fills dimension committedBefore + depth[i]. At most
// maxTokens - committedBefore - 1 draft tokens are accepted. Verdicts: root, then per node exact / relaxed /
// rejected where all ancestors passed, not_reached below a rejection. The winner is the path with the longest
// accepted prefix, ties broken by s.pathChoice. FewestRelaxed compares the capped prefixes; ReferenceOrder
// takes, as the reference does, the first path with the longest uncapped prefix and then truncates it to the
// cap. capped: some path passed more drafts than the cap allows. Throws Error on inconsistent input.
Acceptance acceptTree(const DraftTree& tree, const std::vector<int>& targetGreedy, int committedBefore,
                      const DecodeSettings& s, const ActionTokenizer& actions);

} // namespace specvla::decode
