// SPDX-License-Identifier: MIT
#pragma once

// EAGLE-2 dynamic draft tree bookkeeping, torch-free: the decoder runs the draft and reports each expanded
// node's top-k children; the builder keeps candidates, frontiers and the final reranked tree.
#include "decode/settings.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace specvla::decode {

using TokenLogProb = std::pair<int, float>; // token id, draft log-prob

struct DraftTree {
    std::vector<int> tokens;             // [0] is the root
    std::vector<int> parent;             // -1 for the root; parent < child
    std::vector<int> depth;              // root 0
    std::vector<float> logProb;          // draft log-prob of the node given its parent (0 for the root)
    std::vector<float> score;            // cumulative log-prob (0 for the root)
    std::vector<std::vector<int>> paths; // one per leaf: node indices root -> leaf, in leaf-index order
    std::vector<std::uint8_t> mask;      // size x size, row-major: mask[i * size + j] = j is i or an ancestor

    int size() const { return static_cast<int>(tokens.size()); }
    bool attends(int i, int j) const { return mask[static_cast<std::size_t>(i) * size() + j] != 0; }
};

// One candidate per recorded child: index = order of recording.
struct Candidate {
    int token = -1;
    int parent = -1; // candidate index, -1 when the parent is the root
    int depth = 1;
    float logProb = 0;
    float score = 0;
};

class DraftTreeBuilder {
public:
    DraftTreeBuilder(const TreeShape& shape, int rootToken);

    // Level 1: the root's top-k children (as many as given, at most topK are kept, best first).
    void addRootChildren(const std::vector<TokenLogProb>& children);
    // Candidates to feed to the draft next (the current frontier), best first; at most topK.
    const std::vector<int>& frontier() const { return m_frontier; }
    // After the draft ran on frontier(): each frontier node's top-k children, in frontier order. Records all
    // children (cumulative score = parent score + log-prob) and makes the global top-k by score the next
    // frontier.
    void expand(const std::vector<std::vector<TokenLogProb>>& childrenPerFrontierNode);
    // Expansion steps done so far (the reference does `depth` of them).
    int expansions() const { return m_expansions; }
    bool done() const { return m_expansions >= m_shape.depth; }
    // Whether expanding the frontier can still change finalize()'s tree. A descendant of a frontier node
    // scores at most what the best frontier node scores (log-probs are <= 0), and it ranks below every
    // recorded candidate of equal or higher score (it is deeper and recorded later). So once totalTokens - 1
    // recorded candidates score at least the best frontier node's score, no descendant can make the tree, and
    // the remaining draft passes would be wasted: the decoder stops there, with the same tree as after all
    // `depth` expansions. False for an empty frontier.
    bool frontierCanEnterTree() const;

    const std::vector<Candidate>& candidates() const { return m_candidates; }
    // Ancestors of a candidate (nearest first), as candidate indices.
    std::vector<int> ancestors(int candidate) const;

    // Rerank: the best totalTokens - 1 candidates by score (ties: lower depth, then earlier recorded), closed
    // under ancestors, ordered by (depth, recording order) so that parents precede children; then mask and
    // root-to-leaf paths.
    DraftTree finalize() const;

private:
    TreeShape m_shape;
    int m_root;
    std::vector<Candidate> m_candidates;
    std::vector<int> m_frontier;
    int m_expansions = 0;
    bool m_rootAdded = false;
};

} // namespace specvla::decode
