// SPDX-License-Identifier: MIT
#include "decode/draft_tree.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace specvla::decode {

namespace {

// Best first; stable so that equal log-probs keep the order the draft reported them in.
std::vector<TokenLogProb> bestFirst(const std::vector<TokenLogProb>& children, int keep, const char* what) {
    for (const TokenLogProb& c : children) {
        if (c.first < 0)
            throw Error(std::string("draft tree: ") + what + " has a negative token id " +
                        std::to_string(c.first));
        if (std::isnan(c.second))
            throw Error(std::string("draft tree: ") + what + " has a NaN log-prob for token " +
                        std::to_string(c.first));
    }
    std::vector<TokenLogProb> sorted = children;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const TokenLogProb& a, const TokenLogProb& b) { return a.second > b.second; });
    if (static_cast<int>(sorted.size()) > keep) sorted.resize(keep);
    return sorted;
}

} // namespace

DraftTreeBuilder::DraftTreeBuilder(const TreeShape& shape, int rootToken)
    : m_shape(shape), m_root(rootToken) {
    if (shape.topK < 1)
        throw Error("draft tree: top-k must be at least 1 (got " + std::to_string(shape.topK) + ")");
    if (shape.depth < 0)
        throw Error("draft tree: depth must not be negative (got " + std::to_string(shape.depth) + ")");
    if (shape.totalTokens < 1)
        throw Error("draft tree: total tokens must be at least 1, the root (got " +
                    std::to_string(shape.totalTokens) + ")");
    if (rootToken < 0) throw Error("draft tree: negative root token id " + std::to_string(rootToken));
}

void DraftTreeBuilder::addRootChildren(const std::vector<TokenLogProb>& children) {
    if (m_rootAdded) throw Error("draft tree: the root's children were already added");
    const std::vector<TokenLogProb> kept = bestFirst(children, m_shape.topK, "the root's children");
    m_rootAdded = true;
    for (const TokenLogProb& c : kept) {
        m_frontier.push_back(static_cast<int>(m_candidates.size()));
        m_candidates.push_back(Candidate{c.first, -1, 1, c.second, c.second});
    }
}

void DraftTreeBuilder::expand(const std::vector<std::vector<TokenLogProb>>& childrenPerFrontierNode) {
    if (!m_rootAdded) throw Error("draft tree: expand() before addRootChildren()");
    if (done())
        throw Error("draft tree: all " + std::to_string(m_shape.depth) + " expansion steps are done already");
    if (childrenPerFrontierNode.size() != m_frontier.size())
        throw Error("draft tree: expand() got children for " +
                    std::to_string(childrenPerFrontierNode.size()) + " nodes, the frontier has " +
                    std::to_string(m_frontier.size()));

    const int firstNew = static_cast<int>(m_candidates.size());
    for (std::size_t f = 0; f < m_frontier.size(); ++f) {
        const Candidate parent = m_candidates[m_frontier[f]];
        for (const TokenLogProb& c :
             bestFirst(childrenPerFrontierNode[f], m_shape.topK, "a frontier node's children"))
            m_candidates.push_back(
                Candidate{c.first, m_frontier[f], parent.depth + 1, c.second, parent.score + c.second});
    }

    // The global top-k of this step's children by cumulative score; ties keep recording order.
    std::vector<int> fresh(m_candidates.size() - firstNew);
    std::iota(fresh.begin(), fresh.end(), firstNew);
    std::stable_sort(fresh.begin(), fresh.end(),
                     [&](int a, int b) { return m_candidates[a].score > m_candidates[b].score; });
    if (static_cast<int>(fresh.size()) > m_shape.topK) fresh.resize(m_shape.topK);
    m_frontier = fresh;
    ++m_expansions;
}

bool DraftTreeBuilder::frontierCanEnterTree() const {
    if (m_frontier.empty()) return false;
    float best = m_candidates[m_frontier.front()].score;
    for (int f : m_frontier)
        best = std::max(best, m_candidates[f].score);
    int atLeast = 0;
    for (const Candidate& c : m_candidates)
        atLeast += c.score >= best ? 1 : 0;
    return atLeast < m_shape.totalTokens - 1;
}

std::vector<int> DraftTreeBuilder::ancestors(int candidate) const {
    if (candidate < 0 || candidate >= static_cast<int>(m_candidates.size()))
        throw Error("draft tree: no candidate " + std::to_string(candidate) + " (there are " +
                    std::to_string(m_candidates.size()) + ")");
    std::vector<int> out;
    for (int p = m_candidates[candidate].parent; p >= 0; p = m_candidates[p].parent)
        out.push_back(p);
    return out;
}

DraftTree DraftTreeBuilder::finalize() const {
    const int count = static_cast<int>(m_candidates.size());
    const int want = std::min(m_shape.totalTokens - 1, count);

    // Rank: score descending, then lower depth, then earlier recorded.
    std::vector<int> order(count);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const Candidate& x = m_candidates[a];
        const Candidate& y = m_candidates[b];
        if (x.score != y.score) return x.score > y.score;
        if (x.depth != y.depth) return x.depth < y.depth;
        return a < b;
    });
    std::vector<int> rank(count);
    for (int r = 0; r < count; ++r)
        rank[order[r]] = r;

    std::vector<char> chosen(count, 0);
    for (int r = 0; r < want; ++r)
        chosen[order[r]] = 1;
    // With log-probs <= 0 a child never outscores its parent and the top set is closed under ancestors. Guard
    // anyway: pull in missing ancestors, then drop the worst-ranked chosen leaves until the size fits again.
    int size = want;
    for (int c = 0; c < count; ++c) {
        if (!chosen[c]) continue;
        for (int p = m_candidates[c].parent; p >= 0 && !chosen[p]; p = m_candidates[p].parent) {
            chosen[p] = 1;
            ++size;
        }
    }
    while (size > want) {
        std::vector<char> isParent(count, 0);
        for (int c = 0; c < count; ++c)
            if (chosen[c] && m_candidates[c].parent >= 0) isParent[m_candidates[c].parent] = 1;
        int worst = -1;
        for (int c = 0; c < count; ++c)
            if (chosen[c] && !isParent[c] && (worst < 0 || rank[c] > rank[worst])) worst = c;
        if (worst < 0) break; // unreachable: a non-empty forest has a leaf
        chosen[worst] = 0;
        --size;
    }

    std::vector<int> picked;
    for (int c = 0; c < count; ++c)
        if (chosen[c]) picked.push_back(c);
    std::stable_sort(picked.begin(), picked.end(),
                     [&](int a, int b) { return m_candidates[a].depth < m_candidates[b].depth; });

    const int n = static_cast<int>(picked.size()) + 1;
    std::vector<int> nodeOf(count, -1);
    DraftTree t;
    t.tokens.reserve(n);
    t.tokens.push_back(m_root);
    t.parent.push_back(-1);
    t.depth.push_back(0);
    t.logProb.push_back(0.0f);
    t.score.push_back(0.0f);
    for (int i = 1; i < n; ++i) {
        const Candidate& c = m_candidates[picked[i - 1]];
        nodeOf[picked[i - 1]] = i;
        t.tokens.push_back(c.token);
        t.parent.push_back(c.parent < 0 ? 0 : nodeOf[c.parent]);
        t.depth.push_back(c.depth);
        t.logProb.push_back(c.logProb);
        t.score.push_back(c.score);
    }

    t.mask.assign(static_cast<std::size_t>(n) * n, 0);
    for (int i = 0; i < n; ++i) {
        std::uint8_t* row = &t.mask[static_cast<std::size_t>(i) * n];
        if (i > 0) std::copy_n(&t.mask[static_cast<std::size_t>(t.parent[i]) * n], n, row);
        row[0] = 1;
        row[i] = 1;
    }

    std::vector<char> hasChild(n, 0);
    for (int i = 1; i < n; ++i)
        hasChild[t.parent[i]] = 1;
    for (int leaf = 0; leaf < n; ++leaf) {
        if (hasChild[leaf]) continue;
        std::vector<int> path;
        for (int v = leaf; v >= 0; v = t.parent[v])
            path.push_back(v);
        std::reverse(path.begin(), path.end());
        t.paths.push_back(std::move(path));
    }
    return t;
}

} // namespace specvla::decode
