// SPDX-License-Identifier: MIT
#pragma once

// Which children a draft tree node gets, torch-free. Plain top-k (EAGLE-2, the reference) takes the k most
// likely tokens. Under relaxed acceptance that wastes the tree on neighbours: a draft action token passes
// when the target's greedy bin lies within the margin of it, so bins 200 and 201 cover almost the same
// targets, while a second mode of the draft's distribution (a move the other way) is left out. Bin coverage
// picks the children greedily by the draft probability that the target's bin falls within the margin of each
// and is not covered by an earlier pick.
#include "decode/action_tokenizer.h"
#include "decode/draft_tree.h"

#include <vector>

namespace specvla::decode {

// actionLogProbs: the draft's log-probs of the action tokens, indexed by bin (tokenizer.nBins() entries).
// others: the best non-action tokens with their log-probs, best first (at least k of them where the
// vocabulary has them). Returns up to k children, best first. Each pick finds the window of 2 * margin + 1
// bins that holds the most probability no earlier child covers (or a non-action token, when its own
// probability is larger) and proposes the draft's most likely uncovered bin in that window. An action child's
// log-prob is the log of the mass it newly covers (the uncovered bins within `margin` of it); a non-action
// child keeps its own log-prob. Masses equal up to rounding tie (the higher point probability, then the lower
// bin); non-action tokens are taken in the given order. A pick that would cover nothing new is never made.
// With margin 0 this is plain top-k over the vocabulary.
std::vector<TokenLogProb> binCoverageChildren(const std::vector<float>& actionLogProbs,
                                              const std::vector<TokenLogProb>& others,
                                              const ActionTokenizer& tokenizer, int margin, int k);

} // namespace specvla::decode
