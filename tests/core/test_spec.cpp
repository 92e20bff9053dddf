// SPDX-License-Identifier: MIT
// The speculative decoder on tiny random models in the real layout: lossless at margin 0, verification and
// draft states equal to recomputation without caches, cached frames re-decoded without vision or prefill
// work.
#include "common/error.h"
#include "decode/child_selection.h"
#include "decode/spec_decoder.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "support/tiny_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <QTemporaryDir>
#include <QtTest>

#include <random>

using namespace specvla;

namespace {

struct Fixture {
    std::shared_ptr<model::VlaModel> target;
    std::shared_ptr<model::DraftHead> draft;
};

vision::RgbImage randomImage(int size, std::mt19937& rng) {
    vision::RgbImage img = vision::RgbImage::blank(size, size);
    std::uniform_int_distribution<int> d(0, 255);
    for (auto& p : img.pixels)
        p = static_cast<std::uint8_t>(d(rng));
    return img;
}

std::string randomInstruction(std::mt19937& rng) {
    const auto all = testing::tinyInstructions();
    return all[std::uniform_int_distribution<std::size_t>(0, all.size() - 1)(rng)];
}

decode::DecodeSettings settings(decode::DecodeMode mode, int margin, decode::TreeShape tree = {}) {
    decode::DecodeSettings s;
    s.mode = mode;
    s.margin = margin;
    s.tree = tree;
    return s;
}

} // namespace

class TestSpec : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::vector<Fixture> m_models;

    // Target greedy token after the committed sequence, recomputed from scratch (no cache).
    static int recomputeGreedy(const model::VlaModel& m, const at::Tensor& promptEmbeds,
                               const std::vector<int>& tokens) {
        at::Tensor seq = promptEmbeds;
        if (!tokens.empty()) {
            std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
            seq = at::cat({seq, m.llm().embed(at::tensor(ids).unsqueeze(0))}, 1);
        }
        const auto out = m.llm().forward(seq, at::arange(seq.size(1), at::kLong), nullptr);
        return static_cast<int>(out.logits[0][-1].argmax().item<std::int64_t>());
    }

    static at::Tensor promptEmbeds(const model::VlaModel& m, const vision::RgbImage& img,
                                   const std::string& instr) {
        const auto& a = m.featurizerConfig();
        const auto& b = m.fusedFeaturizerConfig();
        return m.multimodalEmbeds(
            m.encodeImage(vision::pixelValues(img, a.mean, a.std, b.mean, b.std, a.imageSize)),
            m.promptIds(instr));
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        std::string error;
        try {
            for (int i = 0; i < 3; ++i) {
                const std::string dir = m_dir.filePath(QString("model%1").arg(i)).toStdString();
                testing::TinyModelOptions o;
                o.seed = 100 + i;
                o.numKvHeads = i == 1 ? 4 : 2; // full heads for one model, grouped for the others
                o.std = 0.05 + 0.05 * i;
                const auto config = testing::writeTinyModel(dir, o);
                testing::writeTinyDraft(dir + "-draft", config, 200 + i);
                model::LoadOptions lo;
                lo.dtype = at::kFloat;
                lo.unnormKey = "tiny_dataset";
                Fixture f;
                f.target = model::VlaModel::load(dir, lo);
                f.draft = model::DraftHead::load(dir + "-draft", *f.target);
                m_models.push_back(f);
            }
        } catch (const std::exception& e) {
            error = e.what();
        }
        QVERIFY2(error.empty(), error.c_str());
    }

    void losslessAtMarginZero() {
        std::mt19937 rng(7);
        const decode::TreeShape shapes[] = {{8, 4, 50}, {2, 2, 6}, {4, 6, 30}, {3, 1, 4}};
        int frames = 0, acceptedDrafts = 0, draftPasses = 0, fullDepthPasses = 0;
        for (const auto& f : m_models) {
            for (int k = 0; k < 6; ++k) {
                const auto img = randomImage(24 + 8 * (k % 3), rng);
                const std::string instr = randomInstruction(rng);
                decode::FrameContext frame =
                    decode::prepareFrame(*f.target, f.draft.get(), img, instr, {4, 6, 50});
                const auto ar =
                    decode::decodeFrame(*f.target, f.draft.get(), frame, settings(decode::DecodeMode::Ar, 0));
                QCOMPARE(ar.tokens.size(), std::size_t(7));
                QCOMPARE(ar.targetPasses, 7);
                for (const auto& shape : shapes) {
                    for (auto mode : {decode::DecodeMode::Strict, decode::DecodeMode::Relaxed}) {
                        auto s = settings(mode, 0, shape);
                        s.referencePositionQuirk = (k % 2) == 1;
                        const auto t = decode::decodeFrame(*f.target, f.draft.get(), frame, s);
                        QCOMPARE(t.tokens, ar.tokens);
                        const int rounds = static_cast<int>(t.rounds.size());
                        QCOMPARE(t.targetPasses, rounds + 1);
                        // The draft's prefill, at most `depth` expansions per round (fewer once no deeper
                        // draft can enter the tree) and at least one, and an update between rounds only: none
                        // after the last (the bonus then completes the action or is not needed).
                        QVERIFY(t.draftPasses <= 1 + rounds * shape.depth + rounds - 1);
                        QVERIFY(t.draftPasses >= 1 + rounds + rounds - 1);
                        fullDepthPasses += 1 + rounds * shape.depth + rounds - 1;
                        draftPasses += t.draftPasses;
                        for (const auto& r : t.rounds)
                            acceptedDrafts += r.acceptedDrafts;
                    }
                }
                ++frames;
            }
        }
        QCOMPARE(frames, 18);
        qInfo("draft tokens accepted over the lossless runs: %d; draft passes %d (%d at full depth)",
              acceptedDrafts, draftPasses, fullDepthPasses);
    }

    void verificationMatchesRecomputationOnLongAcceptedRuns() {
        // A huge margin on every token accepts nearly everything: long accepted paths exercise the tree mask,
        // the positions and the cache compaction of every round. Each accepted node's target greedy token and
        // each bonus must equal a from-scratch recomputation over the committed sequence.
        c10::InferenceMode guard;
        std::mt19937 rng(11);
        int longestRun = 0;
        for (const auto& f : m_models) {
            for (int k = 0; k < 3; ++k) {
                const auto img = randomImage(28, rng);
                const std::string instr = randomInstruction(rng);
                decode::FrameContext frame =
                    decode::prepareFrame(*f.target, f.draft.get(), img, instr, {2, 5, 12});
                // A random draft is nearly uniform, so wide trees stay shallow; chains (top-k 1) and a narrow
                // tree give deep accepted paths, one round or several.
                const decode::TreeShape shape =
                    k == 0 ? decode::TreeShape{1, 5, 7}
                           : (k == 1 ? decode::TreeShape{1, 2, 3} : decode::TreeShape{2, 3, 8});
                auto s = settings(decode::DecodeMode::Relaxed, 100000, shape);
                s.relaxOnlyActionTokens = false;
                const auto t = decode::decodeFrame(*f.target, f.draft.get(), frame, s);
                const at::Tensor prompt = promptEmbeds(*f.target, img, instr);
                for (const auto& r : t.rounds) {
                    longestRun = std::max(longestRun, r.acceptedDrafts);
                    for (std::size_t p = 0; p < r.acceptedPath.size(); ++p) {
                        const std::vector<int> prefix(t.tokens.begin(),
                                                      t.tokens.begin() + r.committedBefore + p + 1);
                        const int expected = recomputeGreedy(*f.target, prompt, prefix);
                        QCOMPARE(r.nodes[r.acceptedPath[p]].targetToken, expected);
                    }
                }
            }
        }
        QVERIFY2(longestRun >= 3, QByteArray::number(longestRun));
    }

    void draftTreeMatchesDraftRecomputation() {
        // Round 0's tree: every node's draft log-prob equals the draft run from scratch over the prefix pairs
        // and the node's ancestors (each fed with its parent's draft output), with positions L + depth - 1.
        // Strict mode takes the top-k children; relaxed mode with bin coverage takes the children that
        // binCoverageChildren picks from the same recomputed distribution, each with the mass it covers.
        c10::InferenceMode guard;
        std::mt19937 rng(5);
        const auto& f = m_models[0];
        const auto img = randomImage(28, rng);
        const std::string instr = randomInstruction(rng);
        const at::Tensor prompt = promptEmbeds(*f.target, img, instr);
        const int L = static_cast<int>(prompt.size(1));
        const auto prefill = f.target->llm().forward(prompt, at::arange(L, at::kLong), nullptr);
        const int t1 = static_cast<int>(prefill.logits[0][-1].argmax().item<std::int64_t>());
        const at::Tensor firstEmb = f.target->llm().embed(at::full({1, 1}, t1, at::kLong));
        const at::Tensor prefixTok = at::cat({prompt.narrow(1, 1, L - 1), firstEmb}, 1);
        const decode::ActionTokenizer& tok = f.target->actionTokenizer();
        int coveredNodes = 0;
        for (const auto mode : {decode::DecodeMode::Strict, decode::DecodeMode::Relaxed}) {
            decode::FrameContext frame = decode::prepareFrame(*f.target, f.draft.get(), img, instr);
            const decode::DecodeSettings s = settings(mode, 12, {3, 3, 16});
            const auto t = decode::decodeFrame(*f.target, f.draft.get(), frame, s);
            const auto& tree = t.rounds.at(0).nodes;
            QCOMPARE(tree[0].token, t1);
            for (std::size_t i = 1; i < tree.size(); ++i) {
                std::vector<int> path;
                for (int a = static_cast<int>(i); a >= 0; a = tree[a].parent)
                    path.insert(path.begin(), a);
                // Feed the prefix, then the ancestors one at a time, each with its parent's draft output as
                // the hidden input; the node's log-prob is read at its parent's output.
                at::Tensor tokens = prefixTok, hid = prefill.hidden;
                at::Tensor out = f.draft->forward(tokens, hid, at::arange(L, at::kLong), nullptr);
                at::Tensor last = out.narrow(1, L - 1, 1);
                for (std::size_t j = 1; j + 1 < path.size(); ++j) {
                    tokens = at::cat(
                        {tokens, f.target->llm().embed(at::full({1, 1}, tree[path[j]].token, at::kLong))}, 1);
                    hid = at::cat({hid, last}, 1);
                    out = f.draft->forward(tokens, hid, at::arange(tokens.size(1), at::kLong), nullptr);
                    last = out.narrow(1, out.size(1) - 1, 1);
                }
                const at::Tensor row = at::log_softmax(f.draft->logits(last)[0][0], -1);
                float expected = row[tree[i].token].item<float>();
                if (mode == decode::DecodeMode::Relaxed) {
                    // The children binCoverageChildren picks from this row under the node's margin.
                    std::vector<float> bins;
                    for (int b = 0; b < tok.nBins(); ++b)
                        bins.push_back(row[tok.tokenOfBin(b)].item<float>());
                    std::vector<decode::TokenLogProb> others;
                    const auto sorted = row.sort(-1, /*descending=*/true);
                    for (std::int64_t j = 0; j < row.size(0) && static_cast<int>(others.size()) < 3; ++j) {
                        const int id = static_cast<int>(std::get<1>(sorted)[j].item<std::int64_t>());
                        if (!tok.isActionToken(id))
                            others.push_back({id, std::get<0>(sorted)[j].item<float>()});
                    }
                    const auto picks =
                        decode::binCoverageChildren(bins, others, tok, s.marginFor(tree[i].dim), 3);
                    const auto it = std::find_if(picks.begin(), picks.end(),
                                                 [&](const auto& p) { return p.first == tree[i].token; });
                    QVERIFY2(it != picks.end(), qPrintable(QString("node %1 is not a coverage pick").arg(i)));
                    coveredNodes += std::abs(it->second - expected) > 1e-3 ? 1 : 0;
                    expected = it->second;
                }
                QVERIFY2(std::abs(expected - tree[i].draftLogProb) < 1e-4,
                         qPrintable(QString("%1 node %2: %3 vs %4")
                                        .arg(decode::modeName(mode))
                                        .arg(i)
                                        .arg(expected)
                                        .arg(tree[i].draftLogProb)));
            }
        }
        QVERIFY(coveredNodes > 0); // relaxed nodes carry covered mass, not their own probability
    }

    void cachedFrameRedecodesWithoutVisionOrPrefill() {
        std::mt19937 rng(3);
        const auto& f = m_models[2];
        decode::FrameContext frame =
            decode::prepareFrame(*f.target, f.draft.get(), randomImage(28, rng), randomInstruction(rng));
        const decode::WorkCounters before = decode::workCounters();
        const auto first =
            decode::decodeFrame(*f.target, f.draft.get(), frame, settings(decode::DecodeMode::Relaxed, 0));
        QVERIFY(!first.fromCache);
        QVERIFY(first.ms.vision > 0);
        std::vector<decode::ActionTrace> traces;
        // the last shape is larger than the one the frame was prepared for: the caches grow, nothing re-runs
        for (int margin : {3, 9, 16, 0})
            for (const decode::TreeShape& shape :
                 {decode::TreeShape{8, 4, 50}, decode::TreeShape{2, 5, 12}, decode::TreeShape{10, 8, 120}})
                traces.push_back(decode::decodeFrame(*f.target, f.draft.get(), frame,
                                                     settings(decode::DecodeMode::Relaxed, margin, shape)));
        traces.push_back(
            decode::decodeFrame(*f.target, f.draft.get(), frame, settings(decode::DecodeMode::Ar, 0)));
        const decode::WorkCounters after = decode::workCounters();
        QCOMPARE(after.visionForwards, before.visionForwards);
        QCOMPARE(after.targetPrefills, before.targetPrefills);
        QCOMPARE(after.draftPrefills, before.draftPrefills);
        QVERIFY(after.targetPasses > before.targetPasses); // verification did run
        for (const auto& t : traces) {
            QVERIFY(t.fromCache);
            QCOMPARE(t.ms.vision, 0.0);
            QCOMPARE(t.ms.prefill, 0.0);
        }
        QCOMPARE(traces[9].tokens, first.tokens);     // margin 0 again: identical result
        QCOMPARE(traces[11].tokens, first.tokens);    // also after the caches grew for the larger tree
        QCOMPARE(traces.back().tokens, first.tokens); // and equal to AR
    }

    void cancellationLeavesTheFrameUsable() {
        std::mt19937 rng(9);
        const auto& f = m_models[1];
        decode::FrameContext frame =
            decode::prepareFrame(*f.target, f.draft.get(), randomImage(28, rng), randomInstruction(rng));
        const auto s = settings(decode::DecodeMode::Strict, 0);
        const auto reference = decode::decodeFrame(*f.target, f.draft.get(), frame, s);
        std::atomic<bool> cancel{true};
        bool cancelled = false;
        try {
            decode::decodeFrame(*f.target, f.draft.get(), frame, s, &cancel);
        } catch (const decode::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
        QCOMPARE(decode::decodeFrame(*f.target, f.draft.get(), frame, s).tokens, reference.tokens);
    }

    void speculativeModesNeedADraft() {
        std::mt19937 rng(1);
        const auto& f = m_models[0];
        decode::FrameContext frame =
            decode::prepareFrame(*f.target, nullptr, randomImage(28, rng), "open the drawer");
        QCOMPARE(
            decode::decodeFrame(*f.target, nullptr, frame, settings(decode::DecodeMode::Ar, 0)).tokens.size(),
            std::size_t(7));
        bool threw = false;
        try {
            decode::decodeFrame(*f.target, nullptr, frame, settings(decode::DecodeMode::Relaxed, 9));
        } catch (const Error& e) {
            threw = std::string(e.what()).find("needs a draft head") != std::string::npos;
        }
        QVERIFY(threw);
    }
};

QTEST_GUILESS_MAIN(TestSpec)
#include "test_spec.moc"
