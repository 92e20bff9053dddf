// SPDX-License-Identifier: MIT
#include "decode/acceptance.h"

#include "common/error.h"

#include <cstdlib>
#include <string>

namespace specvla::decode {

bool tokenAccepted(int draft, int target, int dim, const DecodeSettings& s, const ActionTokenizer& actions) {
    if (draft < 0 || target < 0) return false; // padding never passes
    if (draft == target) return true;
    if (s.mode != DecodeMode::Relaxed) return false;
    if (s.relaxOnlyActionTokens && !(actions.isActionToken(draft) && actions.isActionToken(target)))
        return false;
    // Inside the action range token ids differ exactly as bins do (reference section 1.2).
    return std::abs(draft - target) <= s.marginFor(dim);
}

namespace {

void checkTree(const DraftTree& tree, const std::vector<int>& targetGreedy) {
    const std::size_t n = tree.tokens.size();
    if (n == 0) throw Error("acceptance: the draft tree is empty (it needs at least the root)");
    if (targetGreedy.size() != n)
        throw Error("acceptance: " + std::to_string(targetGreedy.size()) +
                    " target greedy tokens for a tree of " + std::to_string(n) + " nodes");
    if (tree.parent.size() != n || tree.depth.size() != n || tree.score.size() != n)
        throw Error(
            "acceptance: the draft tree's parent, depth and score arrays must have one entry per node (" +
            std::to_string(n) + ")");
    for (std::size_t i = 1; i < n; ++i)
        if (tree.parent[i] < 0 || tree.parent[i] >= static_cast<int>(i))
            throw Error("acceptance: node " + std::to_string(i) + " has parent " +
                        std::to_string(tree.parent[i]) + "; parents must precede their children");
    for (std::size_t p = 0; p < tree.paths.size(); ++p) {
        const std::vector<int>& path = tree.paths[p];
        bool ok = !path.empty() && path[0] == 0;
        for (std::size_t k = 1; ok && k < path.size(); ++k)
            ok = path[k] > 0 && path[k] < static_cast<int>(n) && tree.parent[path[k]] == path[k - 1];
        if (!ok)
            throw Error("acceptance: path " + std::to_string(p) + " is not a root-to-node chain of the tree");
    }
}

} // namespace

Acceptance acceptTree(const DraftTree& tree, const std::vector<int>& targetGreedy, int committedBefore,
                      const DecodeSettings& s, const ActionTokenizer& actions) {
    checkTree(tree, targetGreedy);
    if (committedBefore < 0 || committedBefore >= s.maxTokens)
        throw Error("acceptance: " + std::to_string(committedBefore) +
                    " tokens committed before the root, expected 0.." + std::to_string(s.maxTokens - 1));
    const int n = tree.size();
    const int cap = s.maxTokens - committedBefore - 1;

    Acceptance a;
    a.verdicts.assign(n, Verdict::NotReached);
    a.binDistance.assign(n, -1);
    a.verdicts[0] = Verdict::Root;
    std::vector<char> passes(n, 0); // the node and all its ancestors passed
    passes[0] = 1;
    for (int i = 1; i < n; ++i) {
        const int draft = tree.tokens[i];
        const int target = targetGreedy[tree.parent[i]];
        if (actions.isActionToken(draft) && actions.isActionToken(target))
            a.binDistance[i] = std::abs(actions.binOfToken(draft) - actions.binOfToken(target));
        if (!passes[tree.parent[i]]) continue; // stays NotReached
        if (tokenAccepted(draft, target, committedBefore + tree.depth[i], s, actions)) {
            passes[i] = 1;
            a.verdicts[i] = draft == target ? Verdict::Exact : Verdict::Relaxed;
        } else {
            a.verdicts[i] = Verdict::Rejected;
        }
    }

    // Per path: the leading run of passing drafts, uncapped and capped.
    struct Run {
        int path = -1;
        int full = 0;
        int kept = 0;
        int relaxed = 0;
        int last = 0;
    };
    std::vector<Run> runs;
    int maxFull = 0;
    for (std::size_t p = 0; p < tree.paths.size(); ++p) {
        const std::vector<int>& path = tree.paths[p];
        Run r;
        r.path = static_cast<int>(p);
        while (r.full + 1 < static_cast<int>(path.size()) && passes[path[r.full + 1]])
            ++r.full;
        r.kept = std::min(r.full, cap);
        r.last = path[r.kept];
        for (int k = 1; k <= r.kept; ++k)
            r.relaxed += a.verdicts[path[k]] == Verdict::Relaxed;
        maxFull = std::max(maxFull, r.full);
        runs.push_back(r);
    }

    const Run* best = nullptr;
    if (s.pathChoice == PathChoice::ReferenceOrder) {
        // As the reference: argmax over the uncapped lengths (first maximum), then the cap truncates.
        for (const Run& r : runs)
            if (r.full == maxFull && r.full > 0) {
                best = &r;
                break;
            }
    } else {
        for (const Run& r : runs) {
            if (r.kept == 0) continue;
            if (!best) {
                best = &r;
                continue;
            }
            if (r.kept != best->kept) {
                if (r.kept > best->kept) best = &r;
            } else if (r.relaxed != best->relaxed) {
                if (r.relaxed < best->relaxed) best = &r;
            } else if (tree.score[r.last] != tree.score[best->last]) {
                if (tree.score[r.last] > tree.score[best->last]) best = &r;
            } else if (r.last < best->last) {
                best = &r;
            }
        }
    }

    if (best) {
        const std::vector<int>& path = tree.paths[best->path];
        a.acceptedPath.assign(path.begin(), path.begin() + best->kept + 1);
    } else {
        a.acceptedPath = {0};
    }
    a.acceptedDrafts = static_cast<int>(a.acceptedPath.size()) - 1;
    for (std::size_t k = 1; k < a.acceptedPath.size(); ++k)
        (a.verdicts[a.acceptedPath[k]] == Verdict::Exact ? a.exactAccepted : a.relaxedAccepted)++;
    a.bonusToken = targetGreedy[a.acceptedPath.back()];
    a.capped = maxFull > cap;
    return a;
}

} // namespace specvla::decode
