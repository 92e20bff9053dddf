// SPDX-License-Identifier: MIT
// Torch-free speculative decoding logic: settings names and the acceptance rule (reference/specvla-openvla.md
// sections 1.3, 3.3; the draft tree builder: test_draft_tree). Expected verdicts are worked out by hand in
// the comments next to them.
#include "common/error.h"
#include "decode/acceptance.h"
#include "decode/action_tokenizer.h"
#include "decode/draft_tree.h"
#include "decode/settings.h"
#include "decode/trace.h"

#include <QtTest>

#include <algorithm>

using namespace specvla;
using namespace specvla::decode;

namespace {

using Ints = std::vector<int>;
using Paths = std::vector<std::vector<int>>;

// A tree written by hand (tokens, parents, scores); depth, mask and leaf paths are derived.
DraftTree makeTree(const Ints& tokens, const Ints& parents, std::vector<float> scores = {}) {
    DraftTree t;
    const int n = static_cast<int>(tokens.size());
    t.tokens = tokens;
    t.parent = parents;
    if (scores.empty()) scores.assign(n, 0.0f);
    t.score = scores;
    t.logProb.assign(n, 0.0f);
    t.depth.assign(n, 0);
    for (int i = 1; i < n; ++i)
        t.depth[i] = t.depth[parents[i]] + 1;
    t.mask.assign(static_cast<std::size_t>(n) * n, 0);
    for (int i = 0; i < n; ++i)
        for (int v = i; v >= 0; v = parents[v])
            t.mask[static_cast<std::size_t>(i) * n + v] = 1;
    std::vector<char> hasChild(n, 0);
    for (int i = 1; i < n; ++i)
        hasChild[parents[i]] = 1;
    for (int leaf = 0; leaf < n; ++leaf) {
        if (hasChild[leaf]) continue;
        std::vector<int> p;
        for (int v = leaf; v >= 0; v = parents[v])
            p.push_back(v);
        std::reverse(p.begin(), p.end());
        t.paths.push_back(p);
    }
    return t;
}

DecodeSettings relaxed(int margin, PathChoice choice = PathChoice::FewestRelaxed) {
    DecodeSettings s;
    s.mode = DecodeMode::Relaxed;
    s.margin = margin;
    s.pathChoice = choice;
    return s;
}

DecodeSettings strict() {
    DecodeSettings s;
    s.mode = DecodeMode::Strict;
    return s;
}

} // namespace

class TestSpecLogic : public QObject {
    Q_OBJECT

    const ActionTokenizer m_actions{32000, 256}; // action tokens 31744..31999

private Q_SLOTS:
    // ---- names -------------------------------------------------------------------------------------------
    void names() {
        QCOMPARE(QString(modeName(DecodeMode::Ar)), QString("ar"));
        QCOMPARE(QString(modeName(DecodeMode::Strict)), QString("strict"));
        QCOMPARE(QString(modeName(DecodeMode::Relaxed)), QString("relaxed"));
        for (DecodeMode m : {DecodeMode::Ar, DecodeMode::Strict, DecodeMode::Relaxed})
            QVERIFY(parseMode(modeName(m)) == m);
        QVERIFY(parseMode("Relaxed") == DecodeMode::Relaxed);
        QVERIFY(!parseMode("greedy"));
        QVERIFY(!parseMode(""));
        QCOMPARE(QString(pathChoiceName(PathChoice::FewestRelaxed)), QString("fewest_relaxed"));
        QCOMPARE(QString(pathChoiceName(PathChoice::ReferenceOrder)), QString("reference_order"));
        QVERIFY(parsePathChoice("reference_order") == PathChoice::ReferenceOrder);
        QVERIFY(parsePathChoice("fewest_relaxed") == PathChoice::FewestRelaxed);
        QVERIFY(!parsePathChoice("best"));
        QCOMPARE(QString(verdictName(Verdict::Root)), QString("root"));
        QCOMPARE(QString(verdictName(Verdict::Exact)), QString("exact"));
        QCOMPARE(QString(verdictName(Verdict::Relaxed)), QString("relaxed"));
        QCOMPARE(QString(verdictName(Verdict::Rejected)), QString("rejected"));
        QCOMPARE(QString(verdictName(Verdict::NotReached)), QString("not_reached"));
    }

    void marginForModes() {
        DecodeSettings s = relaxed(9);
        QCOMPARE(s.marginFor(3), 9);
        s.marginPerDim = std::array<int, 7>{1, 2, 3, 4, 5, 6, 7};
        QCOMPARE(s.marginFor(0), 1);
        QCOMPARE(s.marginFor(6), 7);
        s.mode = DecodeMode::Strict;
        QCOMPARE(s.marginFor(6), 0);
        s.mode = DecodeMode::Ar;
        QCOMPARE(s.marginFor(0), 0);
    }

    // ---- acceptance ------------------------------------------------------------------------------------
    void tokenRule() {
        const ActionTokenizer& a = m_actions;
        QVERIFY(tokenAccepted(31872, 31872, 0, strict(), a));
        QVERIFY(!tokenAccepted(31873, 31872, 0, strict(), a));
        DecodeSettings ar = relaxed(9);
        ar.mode = DecodeMode::Ar;
        QVERIFY(!tokenAccepted(31873, 31872, 0, ar, a));
        QVERIFY(tokenAccepted(31881, 31872, 0, relaxed(9), a));
        QVERIFY(tokenAccepted(31863, 31872, 0, relaxed(9), a));
        QVERIFY(!tokenAccepted(31882, 31872, 0, relaxed(9), a));
        QVERIFY(!tokenAccepted(31862, 31872, 0, relaxed(9), a));
        QVERIFY(tokenAccepted(2, 2, 0, relaxed(9), a)); // equality passes outside the action range too
        QVERIFY(!tokenAccepted(5, 2, 0, relaxed(9), a));
        DecodeSettings anyToken = relaxed(9);
        anyToken.relaxOnlyActionTokens = false;
        QVERIFY(tokenAccepted(5, 2, 0, anyToken, a));
        // edge of the action range: 31740 is a text token 4 ids from the first action token
        QVERIFY(!tokenAccepted(31740, 31744, 0, relaxed(9), a));
        QVERIFY(tokenAccepted(31740, 31744, 0, anyToken, a));
        QVERIFY(!tokenAccepted(-1, 31744, 0, anyToken, a)); // padding
    }

    void strictVersusRelaxed() {
        // root R; n1 31870 (p0), n2 31871 (p0), n3 31850 (p1), n4 31852 (p2).
        // targetGreedy: after root 31871, after n1 31850, after n2 31852, after n3 31000, after n4 31001.
        // strict: n1 rejected (off by 1), n2 exact, n3 not reached, n4 exact -> path [0,2,4], bonus 31001.
        const DraftTree t = makeTree({31872, 31870, 31871, 31850, 31852}, {-1, 0, 0, 1, 2});
        QCOMPARE(t.paths, (Paths{{0, 1, 3}, {0, 2, 4}}));
        const Ints greedy{31871, 31850, 31852, 31000, 31001};
        Acceptance s = acceptTree(t, greedy, 0, strict(), m_actions);
        QVERIFY(s.verdicts == (std::vector<Verdict>{Verdict::Root, Verdict::Rejected, Verdict::Exact,
                                                    Verdict::NotReached, Verdict::Exact}));
        QCOMPARE(s.binDistance, (Ints{-1, 1, 0, 0, 0}));
        QCOMPARE(s.acceptedPath, (Ints{0, 2, 4}));
        QCOMPARE(s.acceptedDrafts, 2);
        QCOMPARE(s.exactAccepted, 2);
        QCOMPARE(s.relaxedAccepted, 0);
        QCOMPARE(s.bonusToken, 31001);
        QVERIFY(!s.capped);

        // relaxed, margin 1: n1 relaxed, n3 exact -> both paths accept 2 drafts.
        // FewestRelaxed: [0,2,4] (no relaxed); ReferenceOrder: the first path in leaf order, [0,1,3].
        Acceptance r = acceptTree(t, greedy, 0, relaxed(1), m_actions);
        QVERIFY(r.verdicts == (std::vector<Verdict>{Verdict::Root, Verdict::Relaxed, Verdict::Exact,
                                                    Verdict::Exact, Verdict::Exact}));
        QCOMPARE(r.acceptedPath, (Ints{0, 2, 4}));
        QCOMPARE(r.exactAccepted, 2);
        QCOMPARE(r.relaxedAccepted, 0);
        QCOMPARE(r.bonusToken, 31001);
        r = acceptTree(t, greedy, 0, relaxed(1, PathChoice::ReferenceOrder), m_actions);
        QCOMPARE(r.acceptedPath, (Ints{0, 1, 3}));
        QCOMPARE(r.exactAccepted, 1);
        QCOMPARE(r.relaxedAccepted, 1);
        QCOMPARE(r.bonusToken, 31000);
        // with the paths listed the other way round, reference order follows the list, fewest relaxed does
        // not
        DraftTree swapped = t;
        std::swap(swapped.paths[0], swapped.paths[1]);
        QCOMPARE(
            acceptTree(swapped, greedy, 0, relaxed(1, PathChoice::ReferenceOrder), m_actions).acceptedPath,
            (Ints{0, 2, 4}));
        QCOMPARE(acceptTree(swapped, greedy, 0, relaxed(1), m_actions).acceptedPath, (Ints{0, 2, 4}));
    }

    void marginBoundary() {
        // Four children of the root against target 31872: +9, -9, +10, -10 ids.
        const DraftTree t = makeTree({31872, 31881, 31863, 31882, 31862}, {-1, 0, 0, 0, 0});
        const Ints greedy{31872, 7, 8, 9, 10};
        const Acceptance a = acceptTree(t, greedy, 0, relaxed(9), m_actions);
        QVERIFY(a.verdicts == (std::vector<Verdict>{Verdict::Root, Verdict::Relaxed, Verdict::Relaxed,
                                                    Verdict::Rejected, Verdict::Rejected}));
        QCOMPARE(a.binDistance, (Ints{-1, 9, 9, 10, 10}));
        QCOMPARE(a.acceptedDrafts, 1);
        QCOMPARE(a.acceptedPath, (Ints{0, 1})); // equal relaxed counts and scores: lower node index
        QCOMPARE(a.bonusToken, 7);
        const Acceptance b = acceptTree(t, greedy, 0, relaxed(10), m_actions);
        QVERIFY(b.verdicts[3] == Verdict::Relaxed && b.verdicts[4] == Verdict::Relaxed);
        const Acceptance c = acceptTree(t, greedy, 0, relaxed(0), m_actions);
        QCOMPARE(c.acceptedDrafts, 0);
        QCOMPARE(c.acceptedPath, (Ints{0}));
        QCOMPARE(c.bonusToken, 31872);
    }

    void perDimensionMargins() {
        // committedBefore 0: depth 1 fills dim 1, depth 2 fills dim 2.
        // root; n1 31870 exact (p0); n2 31860 (p1) 4 off its target 31864; n3 31868 (p0) 2 off the root's
        // target.
        const DraftTree t = makeTree({31872, 31870, 31860, 31868}, {-1, 0, 1, 0});
        const Ints greedy{31870, 31864, 500, 501};
        // scalar 5: [0,1,2] passes both (exact, relaxed)
        Acceptance a = acceptTree(t, greedy, 0, relaxed(5), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        QCOMPARE(a.exactAccepted, 1);
        QCOMPARE(a.relaxedAccepted, 1);
        QCOMPARE(a.bonusToken, 500);

        DecodeSettings s = relaxed(5);
        s.marginPerDim = std::array<int, 7>{5, 0, 5, 5, 5, 5, 5}; // dim 1 exact only
        a = acceptTree(t, greedy, 0, s, m_actions);
        QVERIFY(a.verdicts[3] == Verdict::Rejected);
        QVERIFY(a.verdicts[2] == Verdict::Relaxed);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));

        s.marginPerDim = std::array<int, 7>{5, 5, 0, 5, 5, 5, 5}; // dim 2 exact only
        a = acceptTree(t, greedy, 0, s, m_actions);
        QVERIFY(a.verdicts[2] == Verdict::Rejected);
        QVERIFY(a.verdicts[3] == Verdict::Relaxed);
        QCOMPARE(a.acceptedPath, (Ints{0, 1})); // both paths accept 1; [0,1] is exact
        QCOMPARE(a.bonusToken, 31864);

        // Two tokens already committed shift the dimensions: depth 1 -> dim 3, depth 2 -> dim 4.
        s.marginPerDim = std::array<int, 7>{0, 0, 0, 5, 0, 0, 0};
        a = acceptTree(t, greedy, 2, s, m_actions);
        QVERIFY(a.verdicts[3] == Verdict::Relaxed);
        QVERIFY(a.verdicts[2] == Verdict::Rejected);
        // strict mode ignores the per-dimension margins
        DecodeSettings st = s;
        st.mode = DecodeMode::Strict;
        a = acceptTree(t, greedy, 2, st, m_actions);
        QVERIFY(a.verdicts[3] == Verdict::Rejected);
    }

    void actionRangeRestriction() {
        // The target wants EOS (id 2) after the root; the draft proposes id 5, 3 ids away.
        const DraftTree t = makeTree({31872, 5}, {-1, 0});
        const Ints greedy{2, 31999};
        Acceptance a = acceptTree(t, greedy, 0, relaxed(9), m_actions);
        QVERIFY(a.verdicts[1] == Verdict::Rejected);
        QCOMPARE(a.binDistance[1], -1);
        QCOMPARE(a.acceptedDrafts, 0);
        QCOMPARE(a.bonusToken, 2);
        DecodeSettings any = relaxed(9);
        any.relaxOnlyActionTokens = false; // as the reference code
        a = acceptTree(t, greedy, 0, any, m_actions);
        QVERIFY(a.verdicts[1] == Verdict::Relaxed);
        QCOMPARE(a.binDistance[1], -1);
        QCOMPARE(a.acceptedDrafts, 1);
        QCOMPARE(a.relaxedAccepted, 1);
        QCOMPARE(a.bonusToken, 31999);
    }

    void fewestRelaxedTieBreaks() {
        // Two paths of two drafts, each with one relaxed acceptance (margin 3).
        // n1 31870 (p0, exact), n2 31860 (p1, 2 off), n3 31871 (p0, 1 off), n4 31850 (p3, exact).
        const Ints greedy{31870, 31862, 900, 31850, 901};
        DraftTree t = makeTree({31872, 31870, 31860, 31871, 31850}, {-1, 0, 1, 0, 3},
                               {0.0f, -0.1f, -2.0f, -0.5f, -1.0f});
        QCOMPARE(t.paths, (Paths{{0, 1, 2}, {0, 3, 4}}));
        // higher cumulative score of the last accepted node: n4 (-1.0) beats n2 (-2.0)
        Acceptance a = acceptTree(t, greedy, 0, relaxed(3), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 3, 4}));
        QCOMPARE(a.bonusToken, 901);
        // reference order ignores the scores: the first path with the maximum
        a = acceptTree(t, greedy, 0, relaxed(3, PathChoice::ReferenceOrder), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        QCOMPARE(a.bonusToken, 900);
        // equal scores: the lower last-node index (n2)
        t.score = {0.0f, -0.1f, -1.0f, -0.5f, -1.0f};
        a = acceptTree(t, greedy, 0, relaxed(3), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        // reference order with the paths listed the other way round
        std::swap(t.paths[0], t.paths[1]);
        a = acceptTree(t, greedy, 0, relaxed(3, PathChoice::ReferenceOrder), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 3, 4}));
        // a longer path always wins over fewer relaxed: make n4 fail, then [0,1,2] (2 drafts) beats [0,3] (1)
        const Ints greedy2{31870, 31862, 900, 31000, 901};
        a = acceptTree(t, greedy2, 0, relaxed(3), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        QVERIFY(a.verdicts[4] == Verdict::Rejected);
    }

    void tokenCap() {
        // A chain of 5 exact drafts with 4 tokens committed before the root: 7 - 4 - 1 = 2 drafts at most.
        const DraftTree t = makeTree({31800, 31801, 31802, 31803, 31804, 31805}, {-1, 0, 1, 2, 3, 4});
        const Ints greedy{31801, 31802, 31803, 31804, 31805, 2};
        Acceptance a = acceptTree(t, greedy, 4, relaxed(9), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        QCOMPARE(a.acceptedDrafts, 2);
        QCOMPARE(a.exactAccepted, 2);
        QVERIFY(a.capped);
        QCOMPARE(a.bonusToken, 31803);
        for (int i = 1; i < 6; ++i)
            QVERIFY(a.verdicts[i] == Verdict::Exact); // verdicts are not capped
        // uncapped from the start of the action
        a = acceptTree(t, greedy, 0, relaxed(9), m_actions);
        QCOMPARE(a.acceptedDrafts, 5);
        QVERIFY(!a.capped);
        QCOMPARE(a.bonusToken, 2);
        // exactly at the cap is not capped
        a = acceptTree(t, greedy, 1, relaxed(9), m_actions);
        QCOMPARE(a.acceptedDrafts, 5);
        QVERIFY(!a.capped);
        // the root is the 7th token: no draft may be accepted
        a = acceptTree(t, greedy, 6, strict(), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0}));
        QVERIFY(a.capped);
        QCOMPARE(a.bonusToken, 31801);
        // a run shorter than the cap is not capped
        const Ints shortRun{31801, 31802, 1, 1, 1, 1};
        a = acceptTree(t, shortRun, 4, strict(), m_actions);
        QCOMPARE(a.acceptedDrafts, 2);
        QVERIFY(!a.capped);
        QVERIFY(a.verdicts[3] == Verdict::Rejected);
        QVERIFY(a.verdicts[4] == Verdict::NotReached);
        QVERIFY(a.verdicts[5] == Verdict::NotReached);
    }

    void capWithPathChoice() {
        // Path [0,1,2] runs 2 drafts, path [0,3,4,5] runs 3; cap 2 (committedBefore 4).
        // ReferenceOrder: argmax over the uncapped runs (path 2), then truncate -> [0,3,4].
        // FewestRelaxed: both capped to 2 drafts; [0,1,2] has no relaxed one, [0,3,4] has n3 -> [0,1,2].
        const DraftTree t = makeTree({31800, 31801, 31802, 31811, 31812, 31813}, {-1, 0, 1, 0, 3, 4},
                                     {0.0f, -0.1f, -0.2f, -0.3f, -0.6f, -0.9f});
        QCOMPARE(t.paths, (Paths{{0, 1, 2}, {0, 3, 4, 5}}));
        // target after the root is 31801; n3 (31811) passes only relaxed with margin 10
        const Ints greedy{31801, 31802, 7, 31812, 31813, 8};
        DecodeSettings s = relaxed(10, PathChoice::ReferenceOrder);
        Acceptance a = acceptTree(t, greedy, 4, s, m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 3, 4}));
        QVERIFY(a.capped);
        QCOMPARE(a.relaxedAccepted, 1);
        QCOMPARE(a.bonusToken, 31813);
        s.pathChoice = PathChoice::FewestRelaxed;
        a = acceptTree(t, greedy, 4, s, m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 2}));
        QVERIFY(a.capped); // another path was cut by the cap
        QCOMPARE(a.exactAccepted, 2);
        QCOMPARE(a.bonusToken, 7);
    }

    void rootTargetDisagrees() {
        // The target's greedy token after the root differs from every first-level draft: they are rejected
        // (not "not reached"), everything below is not reached, and the bonus is the target's token after the
        // root.
        const DraftTree t = makeTree({31872, 31800, 31801, 31802}, {-1, 0, 0, 1});
        const Ints greedy{31900, 31802, 3, 4};
        const Acceptance a = acceptTree(t, greedy, 0, strict(), m_actions);
        QVERIFY(a.verdicts == (std::vector<Verdict>{Verdict::Root, Verdict::Rejected, Verdict::Rejected,
                                                    Verdict::NotReached}));
        QCOMPARE(a.binDistance, (Ints{-1, 100, 99, 0}));
        QCOMPARE(a.acceptedPath, (Ints{0}));
        QCOMPARE(a.acceptedDrafts, 0);
        QCOMPARE(a.exactAccepted + a.relaxedAccepted, 0);
        QCOMPARE(a.bonusToken, 31900);
        QVERIFY(!a.capped);
        const Acceptance r = acceptTree(t, greedy, 0, relaxed(9, PathChoice::ReferenceOrder), m_actions);
        QCOMPARE(r.acceptedPath, (Ints{0}));
        QCOMPARE(r.bonusToken, 31900);
    }

    void acceptOnBuiltTree() {
        // The builder's tree from treeTopK2Depth2, verified: tokens R A B A1 A1a A1b, paths [0,2] [0,1,3,4]
        // [0,1,3,5].
        DraftTreeBuilder b(TreeShape{2, 2, 6}, 31872);
        b.addRootChildren({{31880, -1.8f}, {31870, -0.2f}});
        b.expand({{{31869, -0.1f}, {31860, -2.0f}}, {{31881, -0.3f}, {31885, -0.9f}}});
        b.expand({{{31868, -0.5f}, {31867, -1.0f}}, {{31882, -0.05f}, {31883, -4.0f}}});
        const DraftTree t = b.finalize();
        // target: after R 31870 (A exact), after A 31869 (A1 exact), after B x, after A1 31866 (A1a 2 off,
        // A1b 1 off)
        const Ints greedy{31870, 31869, 1, 31866, 40, 41};
        Acceptance a = acceptTree(t, greedy, 0, relaxed(2), m_actions);
        // both [0,1,3,4] and [0,1,3,5] accept 3 with one relaxed each; A1a scores -0.8 over A1b -1.3 -> node
        // 4
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 3, 4}));
        QCOMPARE(a.bonusToken, 40);
        QVERIFY(a.verdicts[2] == Verdict::Rejected); // B is 10 off
        QCOMPARE(a.binDistance, (Ints{-1, 0, 10, 0, 2, 1}));
        a = acceptTree(t, greedy, 0, strict(), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0, 1, 3}));
        QCOMPARE(a.bonusToken, 31866);
        QVERIFY(a.verdicts[4] == Verdict::Rejected && a.verdicts[5] == Verdict::Rejected);
    }

    void acceptValidation() {
        const DraftTree t = makeTree({31872, 31871}, {-1, 0});
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(t, {31871}, 0, strict(), m_actions));
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(t, {31871, 1, 2}, 0, strict(), m_actions));
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(t, {31871, 1}, 7, strict(), m_actions));
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(t, {31871, 1}, -1, strict(), m_actions));
        DraftTree bad = t;
        bad.paths = {{0, 5}};
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(bad, {31871, 1}, 0, strict(), m_actions));
        bad = t;
        bad.parent = {-1, 1};
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(bad, {31871, 1}, 0, strict(), m_actions));
        QVERIFY_THROWS_EXCEPTION(Error, acceptTree(DraftTree{}, {}, 0, strict(), m_actions));
        // a root-only tree accepts nothing and returns the target's token
        const DraftTree root = makeTree({31872}, {-1});
        const Acceptance a = acceptTree(root, {31999}, 3, relaxed(9), m_actions);
        QCOMPARE(a.acceptedPath, (Ints{0}));
        QCOMPARE(a.bonusToken, 31999);
    }
};

QTEST_GUILESS_MAIN(TestSpecLogic)
#include "test_spec_logic.moc"
