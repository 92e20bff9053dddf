// SPDX-License-Identifier: MIT
// Torch-free EAGLE-2 draft tree builder: worked trees, ties, the ancestor guard, the default shape, random
// invariants, the early stop, and children chosen by bin coverage (reference/specvla-openvla.md sections 1.2,
// 1.3, 3.2). Expected trees are worked out by hand in the comments next to them.
#include "common/error.h"
#include "decode/action_tokenizer.h"
#include "decode/child_selection.h"
#include "decode/draft_tree.h"
#include "decode/settings.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

using namespace specvla;
using namespace specvla::decode;

namespace {

using Ints = std::vector<int>;
using Paths = std::vector<std::vector<int>>;

bool near(float a, float b) {
    return std::abs(a - b) < 1e-5f;
}

bool nearAll(const std::vector<float>& got, const std::vector<float>& want) {
    if (got.size() != want.size()) return false;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (!near(got[i], want[i])) return false;
    return true;
}

// Mask from rows written as strings of 0/1.
std::vector<std::uint8_t> maskOf(const std::vector<const char*>& rows) {
    std::vector<std::uint8_t> m;
    for (const char* r : rows)
        for (const char* c = r; *c; ++c)
            m.push_back(*c == '1');
    return m;
}

// Structural invariants every finalized tree must satisfy.
void checkInvariants(const DraftTree& t) {
    const int n = t.size();
    QVERIFY(n >= 1);
    QCOMPARE(t.parent.size(), std::size_t(n));
    QCOMPARE(t.depth.size(), std::size_t(n));
    QCOMPARE(t.logProb.size(), std::size_t(n));
    QCOMPARE(t.score.size(), std::size_t(n));
    QCOMPARE(t.mask.size(), std::size_t(n) * n);
    QCOMPARE(t.parent[0], -1);
    QCOMPARE(t.depth[0], 0);
    std::vector<char> hasChild(n, 0);
    for (int i = 1; i < n; ++i) {
        QVERIFY(t.parent[i] >= 0 && t.parent[i] < i); // parents precede children
        QCOMPARE(t.depth[i], t.depth[t.parent[i]] + 1);
        QVERIFY(near(t.score[i], t.score[t.parent[i]] + t.logProb[i]));
        hasChild[t.parent[i]] = 1;
    }
    for (int i = 0; i < n; ++i) {
        std::set<int> anc;
        for (int v = i; v >= 0; v = t.parent[v])
            anc.insert(v);
        for (int j = 0; j < n; ++j)
            QCOMPARE(t.attends(i, j), anc.count(j) == 1);
        QVERIFY(t.attends(i, 0));
    }
    std::set<int> covered;
    int previousLeaf = -1;
    for (const auto& p : t.paths) {
        QVERIFY(!p.empty());
        QCOMPARE(p.front(), 0);
        QVERIFY(!hasChild[p.back()]);
        QVERIFY(p.back() > previousLeaf); // increasing leaf index
        previousLeaf = p.back();
        for (std::size_t k = 1; k < p.size(); ++k)
            QCOMPARE(t.parent[p[k]], p[k - 1]);
        covered.insert(p.begin(), p.end());
    }
    int leaves = 0;
    for (int i = 0; i < n; ++i)
        leaves += !hasChild[i];
    QCOMPARE(int(t.paths.size()), leaves);
    QCOMPARE(int(covered.size()), n);
}

} // namespace

class TestDraftTree : public QObject {
    Q_OBJECT

    const ActionTokenizer m_actions{32000, 256}; // action tokens 31744..31999

private Q_SLOTS:
    // ---- draft tree builder -----------------------------------------------------------------------------
    void treeTopK2Depth2() {
        // Root R. Root children given unsorted; top-2 kept best first:
        //   c0 A logp -0.2 score -0.2, c1 B logp -1.8 score -1.8 (C at -3.0 dropped); frontier [c0, c1]
        // expand 1 (depth 2):
        //   c2 A1 (parent c0) -0.1 -> -0.3   c3 A2 (c0) -2.0 -> -2.2
        //   c4 B1 (parent c1) -0.3 -> -2.1   c5 B2 (c1) -0.9 -> -2.7    frontier [c2, c4]
        // expand 2 (depth 3):
        //   c6 A1a (c2) -0.5 -> -0.8   c7 A1b (c2) -1.0 -> -1.3
        //   c8 B1a (c4) -0.05 -> -2.15 c9 B1b (c4) -4.0 -> -6.1     frontier [c6, c7]
        // finalize, 5 drafts: ranking c0 -0.2, c2 -0.3, c6 -0.8, c7 -1.3, c1 -1.8 | c4 -2.1 ...
        // ordered by (depth, recording): c0 c1 | c2 | c6 c7 -> nodes 1..5
        //   tokens  R  A  B  A1 A1a A1b      parents -1 0 0 1 3 3      depths 0 1 1 2 3 3
        //   leaves 2, 4, 5 -> paths [0,2] [0,1,3,4] [0,1,3,5]
        const int R = 31872, A = 31870, B = 31880, C = 31890, A1 = 31869, A2 = 31860, B1 = 31881, B2 = 31885,
                  A1a = 31868, A1b = 31867, B1a = 31882, B1b = 31883;
        DraftTreeBuilder b(TreeShape{2, 2, 6}, R);
        b.addRootChildren({{B, -1.8f}, {C, -3.0f}, {A, -0.2f}});
        QCOMPARE(b.frontier(), (Ints{0, 1}));
        QCOMPARE(b.candidates()[0].token, A);
        QCOMPARE(b.candidates()[1].token, B);
        QVERIFY(!b.done());
        b.expand({{{A1, -0.1f}, {A2, -2.0f}}, {{B1, -0.3f}, {B2, -0.9f}}});
        QCOMPARE(b.frontier(), (Ints{2, 4}));
        QCOMPARE(b.expansions(), 1);
        b.expand({{{A1a, -0.5f}, {A1b, -1.0f}}, {{B1a, -0.05f}, {B1b, -4.0f}}});
        QCOMPARE(b.frontier(), (Ints{6, 7}));
        QVERIFY(b.done());
        QCOMPARE(int(b.candidates().size()), 10);
        QVERIFY(near(b.candidates()[8].score, -2.15f));
        QCOMPARE(b.candidates()[8].parent, 4);
        QCOMPARE(b.candidates()[8].depth, 3);
        QCOMPARE(b.ancestors(7), (Ints{2, 0}));
        QCOMPARE(b.ancestors(0), Ints{});

        const DraftTree t = b.finalize();
        QCOMPARE(t.tokens, (Ints{R, A, B, A1, A1a, A1b}));
        QCOMPARE(t.parent, (Ints{-1, 0, 0, 1, 3, 3}));
        QCOMPARE(t.depth, (Ints{0, 1, 1, 2, 3, 3}));
        QVERIFY(nearAll(t.logProb, {0.0f, -0.2f, -1.8f, -0.1f, -0.5f, -1.0f}));
        QVERIFY(nearAll(t.score, {0.0f, -0.2f, -1.8f, -0.3f, -0.8f, -1.3f}));
        QCOMPARE(t.mask, maskOf({"100000", "110000", "101000", "110100", "110110", "110101"}));
        QCOMPARE(t.paths, (Paths{{0, 2}, {0, 1, 3, 4}, {0, 1, 3, 5}}));
        checkInvariants(t);
    }

    void treeTopK3Depth3() {
        // Scores are multiples of 0.25, exact in float.
        // level 1: c0 X1 -0.5, c1 X2 -1.0, c2 X3 -2.0 (X4 at -3.0 dropped); frontier [0, 1, 2]
        // expand 1: X1 -> c3 -1.0, c4 -2.0, c5 -3.5; X2 -> c6 -1.5, c7 -3.0, c8 -3.5;
        //           X3 -> c9 -2.5, c10 -3.0, c11 -6.0; frontier [3, 6, 4]
        // expand 2: c3 -> c12 -1.5, c13 -2.0, c14 -3.0; c6 -> c15 -2.0, c16 -4.5, c17 -5.0;
        //           c4 -> c18 -2.5, c19 -3.0, c20 -3.5; frontier [12, 13, 15]
        //           (c13 and c15 tie at -2.0: the earlier recorded goes first)
        // expand 3: c12 -> c21 -2.0, c22 -3.5, c23 -4.0; c13 -> c24 -2.5, c25 -3.0, c26 -3.5;
        //           c15 -> c27 -2.25, c28 -3.0, c29 -4.0; frontier [21, 27, 24]
        // 3 + 3*9 = 30 candidates. finalize 7 drafts; ranking:
        //   c0 -0.5 | c1 -1.0, c3 -1.0 | c6 -1.5, c12 -1.5 | c2, c4 | c13, c15, c21 (all -2.0)
        //   The cut falls inside the -2.0 tie: lower depth (always also earlier recorded) wins.
        // ordered: c0 c1 c2 | c3 c4 c6 | c12 -> nodes 1..7, parents 0 0 0 | 1 1 2 | 4
        // leaves 3, 5, 6, 7 -> paths [0,3] [0,1,5] [0,2,6] [0,1,4,7]
        const int R = 31800;
        auto tok = [](int c) { return 31000 + c; }; // candidate c carries token 31000 + c
        DraftTreeBuilder b(TreeShape{3, 3, 8}, R);
        b.addRootChildren({{tok(0), -0.5f}, {tok(1), -1.0f}, {tok(99), -3.0f}, {tok(2), -2.0f}});
        QCOMPARE(b.frontier(), (Ints{0, 1, 2}));
        b.expand({{{tok(3), -0.5f}, {tok(4), -1.5f}, {tok(5), -3.0f}},
                  {{tok(6), -0.5f}, {tok(7), -2.0f}, {tok(8), -2.5f}},
                  {{tok(9), -0.5f}, {tok(10), -1.0f}, {tok(11), -4.0f}}});
        QCOMPARE(b.frontier(), (Ints{3, 6, 4}));
        b.expand({{{tok(12), -0.5f}, {tok(13), -1.0f}, {tok(14), -2.0f}},
                  {{tok(15), -0.5f}, {tok(16), -3.0f}, {tok(17), -3.5f}},
                  {{tok(18), -0.5f}, {tok(19), -1.0f}, {tok(20), -1.5f}}});
        QCOMPARE(b.frontier(), (Ints{12, 13, 15}));
        b.expand({{{tok(21), -0.5f}, {tok(22), -2.0f}, {tok(23), -2.5f}},
                  {{tok(24), -0.5f}, {tok(25), -1.0f}, {tok(26), -1.5f}},
                  {{tok(27), -0.25f}, {tok(28), -1.0f}, {tok(29), -2.0f}}});
        QCOMPARE(b.frontier(), (Ints{21, 27, 24}));
        QVERIFY(b.done());
        QCOMPARE(int(b.candidates().size()), 30);
        for (int c = 0; c < 30; ++c)
            QCOMPARE(b.candidates()[c].token, tok(c));
        QCOMPARE(b.ancestors(27), (Ints{15, 6, 1}));

        const DraftTree t = b.finalize();
        QCOMPARE(t.tokens, (Ints{R, tok(0), tok(1), tok(2), tok(3), tok(4), tok(6), tok(12)}));
        QCOMPARE(t.parent, (Ints{-1, 0, 0, 0, 1, 1, 2, 4}));
        QCOMPARE(t.depth, (Ints{0, 1, 1, 1, 2, 2, 2, 3}));
        QCOMPARE(t.score, (std::vector<float>{0.0f, -0.5f, -1.0f, -2.0f, -1.0f, -2.0f, -1.5f, -1.5f}));
        QCOMPARE(t.logProb, (std::vector<float>{0.0f, -0.5f, -1.0f, -2.0f, -0.5f, -1.5f, -0.5f, -0.5f}));
        QCOMPARE(t.paths, (Paths{{0, 3}, {0, 1, 5}, {0, 2, 6}, {0, 1, 4, 7}}));
        QCOMPARE(t.mask, maskOf({"10000000", "11000000", "10100000", "10010000", "11001000", "11000100",
                                 "10100010", "11001001"}));
        checkInvariants(t);

        // A larger budget than there are candidates keeps them all.
        DraftTreeBuilder all(TreeShape{3, 1, 100}, R);
        all.addRootChildren({{tok(0), -0.5f}, {tok(1), -1.0f}});
        all.expand({{{tok(2), -0.5f}}, {{tok(3), -0.5f}, {tok(4), -0.7f}}});
        const DraftTree small = all.finalize();
        QCOMPARE(small.size(), 6);
        QCOMPARE(small.paths, (Paths{{0, 1, 3}, {0, 2, 4}, {0, 2, 5}}));
        checkInvariants(small);
    }

    void treeTies() {
        // All log-probs equal: every choice falls back to recording order.
        // level 1: T1, T2 kept (T3 is the third of three equal ones).
        // expand: c2..c5 all -2.0, frontier [2, 3].
        // 3 drafts: c0, c1 (-1.0), then c2 (first of the -2.0 ones), child of c0 -> node 3 with parent 1.
        DraftTreeBuilder b(TreeShape{2, 1, 4}, 10);
        b.addRootChildren({{11, -1.0f}, {12, -1.0f}, {13, -1.0f}});
        QCOMPARE(b.frontier(), (Ints{0, 1}));
        QCOMPARE(b.candidates()[1].token, 12);
        b.expand({{{21, -1.0f}, {22, -1.0f}}, {{23, -1.0f}, {24, -1.0f}}});
        QCOMPARE(b.frontier(), (Ints{2, 3}));
        const DraftTree t = b.finalize();
        QCOMPARE(t.tokens, (Ints{10, 11, 12, 21}));
        QCOMPARE(t.parent, (Ints{-1, 0, 0, 1}));
        QCOMPARE(t.paths, (Paths{{0, 2}, {0, 1, 3}}));
        checkInvariants(t);

        // Children tied inside one list keep the order given, and the list is cut to top-k.
        DraftTreeBuilder c(TreeShape{2, 1, 10}, 10);
        c.addRootChildren({{11, -0.5f}});
        c.expand({{{31, -2.0f}, {32, -1.0f}, {33, -1.0f}}});
        QCOMPARE(int(c.candidates().size()), 3);
        QCOMPARE(c.candidates()[1].token, 32);
        QCOMPARE(c.candidates()[2].token, 33);
    }

    void treeAncestorGuard() {
        // A positive log-prob (not a log-softmax, but guarded): c4 (+1.0) outranks its parent c1 (-3.0).
        // level 1: c0 Q -0.5, c1 P -3.0; expand: Q -> c2 -5.5, c3 -6.5; P -> c4 +1.0, c5 -9.0.
        // 2 drafts: top-2 = {c4, c0}; c4's parent c1 is pulled in, then the worst chosen leaf (c0) is
        // dropped.
        DraftTreeBuilder b(TreeShape{2, 1, 3}, 5);
        b.addRootChildren({{100, -3.0f}, {200, -0.5f}});
        b.expand({{{201, -5.0f}, {202, -6.0f}}, {{101, 4.0f}, {102, -6.0f}}});
        const DraftTree t = b.finalize();
        QCOMPARE(t.tokens, (Ints{5, 100, 101}));
        QCOMPARE(t.parent, (Ints{-1, 0, 1}));
        QCOMPARE(t.paths, (Paths{{0, 1, 2}}));
        checkInvariants(t);
    }

    void treeDefaultShape() {
        // top-k 8, depth 4, 50 tokens: 8 + 4 * 64 = 264 candidates, 49 drafts, depth reaches 5.
        // The first child of every node is nearly certain, so the deepest chain scores high.
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> jitter(0.0f, 0.05f);
        auto children = [&](int base) {
            std::vector<TokenLogProb> out;
            for (int j = 0; j < 8; ++j)
                out.push_back({base + j, -(0.01f + 1.0f * j + jitter(rng))});
            return out;
        };
        const TreeShape shape; // defaults
        QCOMPARE(shape.topK, 8);
        DraftTreeBuilder b(shape, 31872);
        b.addRootChildren(children(31744));
        while (!b.done()) {
            std::vector<std::vector<TokenLogProb>> per;
            for (std::size_t f = 0; f < b.frontier().size(); ++f)
                per.push_back(children(31744 + 8 * int(f)));
            b.expand(per);
        }
        QCOMPARE(b.expansions(), 4);
        QCOMPARE(int(b.candidates().size()), 264);
        const DraftTree t = b.finalize();
        QCOMPARE(t.size(), 50);
        QCOMPARE(*std::max_element(t.depth.begin(), t.depth.end()), 5);
        checkInvariants(t);
    }

    void treeRandomInvariants() {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> logp(-6.0f, 0.0f);
        for (int trial = 0; trial < 40; ++trial) {
            const TreeShape shape{1 + int(rng() % 5), int(rng() % 5), 1 + int(rng() % 40)};
            DraftTreeBuilder b(shape, 1);
            std::vector<TokenLogProb> root;
            for (int j = 0; j < shape.topK + 1; ++j)
                root.push_back({100 + j, logp(rng)});
            b.addRootChildren(root);
            while (!b.done()) {
                std::vector<std::vector<TokenLogProb>> per(b.frontier().size());
                for (auto& list : per)
                    for (int j = 0; j < shape.topK; ++j)
                        list.push_back({int(rng() % 1000), logp(rng)});
                b.expand(per);
            }
            const int k = shape.topK;
            QCOMPARE(int(b.candidates().size()), k + shape.depth * k * k);
            const DraftTree t = b.finalize();
            QCOMPARE(t.size(), std::min(shape.totalTokens, 1 + k + shape.depth * k * k));
            checkInvariants(t);
            // With log-probs <= 0 the chosen drafts are exactly the best-scoring ones.
            if (t.size() > 1 && t.size() - 1 < int(b.candidates().size())) {
                const float worstChosen = *std::min_element(t.score.begin() + 1, t.score.end());
                int better = 0;
                for (const Candidate& c : b.candidates())
                    better += c.score > worstChosen;
                QVERIFY(better <= t.size() - 1);
            }
        }
    }

    void treeEarlyStopIsExact() {
        // Stopping the expansion once frontierCanEnterTree() says no deeper draft can make the tree gives the
        // same tree as all `depth` expansions, with fewer draft passes when the drafts are unsure.
        std::mt19937 rng(7);
        int saved = 0, stopped = 0;
        for (int trial = 0; trial < 300; ++trial) {
            const TreeShape shape{1 + int(rng() % 8), 1 + int(rng() % 5), 2 + int(rng() % 49)};
            // Sharp or flat draft distributions: a confident chain rarely stops early, a flat draft often.
            const float spread = trial % 2 ? 0.5f : 8.0f;
            std::uniform_real_distribution<float> logp(-spread, 0.0f);
            std::vector<TokenLogProb> root;
            for (int j = 0; j < shape.topK; ++j)
                root.push_back({100 + j, j == 0 ? -0.01f : logp(rng)});
            std::vector<std::vector<std::vector<TokenLogProb>>>
                levels; // children per step, per frontier node
            DraftTreeBuilder full(shape, 1), early(shape, 1);
            full.addRootChildren(root);
            early.addRootChildren(root);
            while (!full.done()) {
                std::vector<std::vector<TokenLogProb>> per(full.frontier().size());
                for (auto& list : per)
                    for (int j = 0; j < shape.topK; ++j)
                        list.push_back({int(rng() % 1000), logp(rng)});
                if (!early.done() && early.frontierCanEnterTree() && early.expansions() == full.expansions())
                    early.expand(per);
                full.expand(per);
            }
            const int skipped = full.expansions() - early.expansions();
            saved += skipped;
            stopped += skipped > 0 ? 1 : 0;
            QVERIFY(!early.frontierCanEnterTree() || early.done());
            const DraftTree a = full.finalize(), b = early.finalize();
            QCOMPARE(b.tokens, a.tokens);
            QCOMPARE(b.parent, a.parent);
            QCOMPARE(b.score, a.score);
            QCOMPARE(b.paths, a.paths);
            QCOMPARE(b.mask, a.mask);
        }
        qInfo("early stop in %d of 300 trees, %d expansions saved", stopped, saved);
        QVERIFY(stopped > 20); // it does stop, and the trees above stayed the same

        // By hand: top-2, depth 3, 4 tokens. The root's children score -0.1 and -0.2; their children -0.3 and
        // -0.4 (from the first) and -3, -4 (from the second) make the frontier {-0.3, -0.4}, and three
        // recorded candidates (-0.1, -0.2, -0.3) score at least -0.3: the tree is full, nothing deeper fits.
        DraftTreeBuilder h(TreeShape{2, 3, 4}, 9);
        h.addRootChildren({{1, -0.1f}, {2, -0.2f}});
        QVERIFY(h.frontierCanEnterTree());
        h.expand({{{3, -0.2f}, {4, -0.3f}}, {{5, -2.8f}, {6, -3.8f}}});
        QVERIFY(!h.frontierCanEnterTree());
        QCOMPARE(h.finalize().tokens, (std::vector<int>{9, 1, 2, 3}));
        DraftTreeBuilder sure(TreeShape{2, 3, 6}, 9);
        sure.addRootChildren({{1, -0.01f}, {2, -5.0f}});
        sure.expand({{{3, -0.01f}, {4, -5.0f}}, {{5, -5.0f}, {6, -6.0f}}});
        QVERIFY(sure.frontierCanEnterTree()); // a confident chain keeps going
    }

    // ---- children by bin coverage
    // -------------------------------------------------------------------------- Normalised log-probs over
    // the 256 action bins from unnormalised weights, plus the rest of the mass on the non-action tokens
    // given.
    static std::vector<float> logOf(const std::vector<double>& w, double rest = 0) {
        double z = rest;
        for (double x : w)
            z += x;
        std::vector<float> out;
        for (double x : w)
            out.push_back(x > 0 ? float(std::log(x / z)) : -std::numeric_limits<float>::infinity());
        return out;
    }

    static std::vector<float> lp0() { return std::vector<float>(256, float(std::log(1.0 / 256))); }

    void coverageSkipsNeighbours() {
        // A sharp mode of neighbouring bins 200..204 and a broad second mode around bin 30 (the draft unsure
        // whether to move one way or the other). Top-2 takes bins 202 and 201; under a margin of 9 the second
        // covers nothing 202 does not, so coverage takes the other mode instead.
        std::vector<double> w(256, 0.0);
        for (int b = 200; b <= 204; ++b)
            w[b] = b == 202 ? 0.2 : 0.1;
        for (int b = 22; b <= 38; ++b)
            w[b] = 0.35 / 17;
        const std::vector<float> lp = logOf(w, 0.05);
        const std::vector<TokenLogProb> others{{2, float(std::log(0.05))}}; // EOS
        const std::vector<TokenLogProb> c = binCoverageChildren(lp, others, m_actions, 9, 2);
        QCOMPARE(c.size(), std::size_t(2));
        QCOMPARE(m_actions.binOfToken(c[0].first), 202);
        QVERIFY(std::abs(std::exp(c[0].second) - 0.6) < 1e-5); // all of 200..204
        const int second = m_actions.binOfToken(c[1].first);
        QVERIFY2(second >= 22 && second <= 38, qPrintable(QString::number(second)));
        // A window of 19 bins centred on 29, 30 or 31 holds the whole 17-bin mode (mass 0.35); the tie goes
        // to the lowest.
        QCOMPARE(second, 29);
        QVERIFY(std::abs(std::exp(c[1].second) - 0.35) < 1e-5);
        // Plain top-k on the same draft: the two best single bins.
        const std::vector<TokenLogProb> top = binCoverageChildren(lp, others, m_actions, 0, 2);
        QCOMPARE(m_actions.binOfToken(top[0].first), 202);
        QCOMPARE(top[0].second, lp[202]); // margin 0 keeps the exact log-probs
        QVERIFY(m_actions.binOfToken(top[1].first) >= 200 && m_actions.binOfToken(top[1].first) <= 204);
        // A third pick takes the EOS (0.05) over any uncovered action mass (none is left).
        const std::vector<TokenLogProb> three = binCoverageChildren(lp, others, m_actions, 9, 3);
        QCOMPARE(three.size(), std::size_t(3));
        QCOMPARE(three[2].first, 2);
        QCOMPARE(three[2].second, others[0].second);
    }

    void coverageKeepsTheDraftsToken() {
        // A draft sure of bin 0 (0.5) with a tail over bins 10..18 (0.05 each). The window holding the most
        // mass is centred on bin 9 (bins 0..18), but the child is the draft's own token, bin 0, covering bins
        // 0..9; the tail is left to the next child, the tail's most likely bin nearest its window's centre.
        std::vector<double> w(256, 0.0);
        w[0] = 0.5;
        for (int b = 10; b <= 18; ++b)
            w[b] = 0.05 + 0.001 * (b == 14);
        const std::vector<float> lp = logOf(w);
        const std::vector<TokenLogProb> c = binCoverageChildren(lp, {}, m_actions, 9, 2);
        QCOMPARE(c.size(), std::size_t(2));
        QCOMPARE(m_actions.binOfToken(c[0].first), 0);
        QVERIFY(std::abs(std::exp(c[0].second) - w[0] / 0.951) < 1e-5);
        QCOMPARE(m_actions.binOfToken(c[1].first), 14);
        QVERIFY(std::abs(std::exp(c[1].second) - 0.451 / 0.951) < 1e-5);
    }

    void coverageInvariants() {
        // Random drafts: children are distinct tokens, each action child covers new mass, and the masses
        // never add up to more than one; at margin 0 the children are plain top-k over the vocabulary.
        std::mt19937 rng(11);
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<double> w(256);
            std::exponential_distribution<double> e(1.0);
            const double sharp = trial % 3 == 0 ? 8.0 : 1.0;
            for (double& x : w)
                x = std::pow(e(rng), sharp) * (rng() % 4 == 0 ? 0.0 : 1.0);
            w[rng() % 256] += 1.0;
            const double rest = trial % 2 ? 0.5 : 0.0;
            const std::vector<float> lp = logOf(w, rest);
            double z = rest;
            for (double x : w)
                z += x;
            std::vector<TokenLogProb> others; // the rest of the mass on two text tokens, 2:1
            if (rest > 0)
                others = {{2, float(std::log(rest * 2 / 3 / z))}, {5, float(std::log(rest / 3 / z))}};
            const int k = 1 + int(rng() % 6), margin = int(rng() % 12);
            const std::vector<TokenLogProb> c = binCoverageChildren(lp, others, m_actions, margin, k);
            QVERIFY(!c.empty() && int(c.size()) <= k);
            std::set<int> tokens;
            double mass = 0;
            float last = 1;
            for (const auto& [token, logProb] : c) {
                QVERIFY(tokens.insert(token).second);
                QVERIFY(logProb <= 1e-6f && std::isfinite(logProb));
                QVERIFY(logProb <= last + 1e-6f); // best first
                last = logProb;
                mass += std::exp(double(logProb));
            }
            QVERIFY(mass <= 1 + 1e-5);
            if (margin == 0) {
                std::vector<TokenLogProb> all = others;
                for (int b = 0; b < 256; ++b)
                    if (w[b] > 0) all.push_back({m_actions.tokenOfBin(b), lp[b]});
                std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.second > b.second; });
                for (std::size_t i = 0; i < c.size(); ++i)
                    QCOMPARE(c[i].second, all[i].second);
            }
        }
        try {
            binCoverageChildren(std::vector<float>(255, -1.0f), {}, m_actions, 9, 2);
            QFAIL("a short action row was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("255 action log-probs for 256 bins"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(Error, binCoverageChildren(lp0(), {}, m_actions, -1, 2));
    }

    void childChoiceNames() {
        QCOMPARE(QString(childChoiceName(ChildChoice::BinCoverage)), QString("bin_coverage"));
        QCOMPARE(QString(childChoiceName(ChildChoice::TopK)), QString("top_k"));
        QVERIFY(parseChildChoice("TOP_K") == ChildChoice::TopK);
        QVERIFY(parseChildChoice("bin_coverage") == ChildChoice::BinCoverage);
        QVERIFY(!parseChildChoice("coverage"));
        QVERIFY(DecodeSettings().children == ChildChoice::BinCoverage);
    }

    void treeRootOnly() {
        DraftTreeBuilder b(TreeShape{4, 2, 1}, 9);
        b.addRootChildren({{1, -0.1f}});
        b.expand({{{2, -0.1f}}});
        const DraftTree t = b.finalize();
        QCOMPARE(t.size(), 1);
        QCOMPARE(t.paths, (Paths{{0}}));
        QCOMPARE(t.mask, maskOf({"1"}));

        DraftTreeBuilder none(TreeShape{4, 2, 10}, 9);
        none.addRootChildren({});
        QVERIFY(none.frontier().empty());
        none.expand({});
        QCOMPARE(none.finalize().size(), 1);
    }

    void treeValidation() {
        QVERIFY_THROWS_EXCEPTION(Error, DraftTreeBuilder(TreeShape{-1, 4, 50}, 1));
        QVERIFY_THROWS_EXCEPTION(Error, DraftTreeBuilder(TreeShape{0, 4, 50}, 1));
        QVERIFY_THROWS_EXCEPTION(Error, DraftTreeBuilder(TreeShape{8, -1, 50}, 1));
        QVERIFY_THROWS_EXCEPTION(Error, DraftTreeBuilder(TreeShape{8, 4, 0}, 1));
        QVERIFY_THROWS_EXCEPTION(Error, DraftTreeBuilder(TreeShape{8, 4, 50}, -3));

        DraftTreeBuilder b(TreeShape{2, 1, 10}, 1);
        QVERIFY_THROWS_EXCEPTION(Error, b.expand({}));                     // before the root's children
        QVERIFY_THROWS_EXCEPTION(Error, b.addRootChildren({{-5, -0.1f}})); // negative token id
        QVERIFY_THROWS_EXCEPTION(Error, b.addRootChildren({{5, std::nanf("")}}));
        b.addRootChildren({{5, -0.1f}, {6, -0.2f}});
        QVERIFY_THROWS_EXCEPTION(Error, b.addRootChildren({{7, -0.1f}})); // twice
        QVERIFY_THROWS_EXCEPTION(Error, b.expand({{{8, -0.1f}}}));        // one list for two frontier nodes
        QVERIFY_THROWS_EXCEPTION(Error, b.ancestors(2));
        QVERIFY_THROWS_EXCEPTION(Error, b.ancestors(-1));
        b.expand({{{8, -0.1f}}, {{9, -0.1f}}});
        QVERIFY_THROWS_EXCEPTION(Error, b.expand({{{10, -0.1f}}, {{11, -0.1f}}})); // depth 1 is done
    }
};

QTEST_GUILESS_MAIN(TestDraftTree)

#include "test_draft_tree.moc"
