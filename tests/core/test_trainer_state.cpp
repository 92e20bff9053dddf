// SPDX-License-Identifier: MIT
// The demo trainer's state read-outs on the tiny geometry: the simulator's state features, the auxiliary
// read-out loss and what it measures (the policy check, the expert driving on the read-out), the language
// model's attention loss, the perfect-perception probe, and the vision pretraining with a frozen tower.
#include "common/error.h"
#include "decode/action_tokenizer.h"
#include "demo/expert.h"
#include "demo/probe.h"
#include "demo/trainer.h"
#include "demo/trainer_internal.h" // WeightSet, to compare the tensors of a target read back
#include "model/tensor_specs.h"
#include "model/vla_model.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "trainer_fixture.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

using namespace specvla;
using testing::mean;
using testing::quickTraining;

class TestTrainerState : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_tokenizer;
    model::VlaConfig m_config;
    demo::DemoDataset m_data;

    // `count` expert episodes of the tiny geometry from seed `seed`, with the simulator's state of every
    // step.
    demo::DemoDataset statefulData(int count, int seed) const {
        std::vector<std::vector<demo::StateFeatures>> states;
        auto episodes = demo::expertEpisodes(count, seed, demo::DemoModelSpec::tiny().imageSize, {}, &states);
        return demo::buildDataset(std::move(episodes), decode::ActionTokenizer(m_config.actionVocabBase()),
                                  states);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        auto setup = testing::tinyTrainerSetup(m_dir);
        m_tokenizer = std::move(setup.tokenizer);
        m_config = setup.config;
        m_data = std::move(setup.data);
    }

    void stateFeaturesFollowTheWorld() {
        // One feature vector per recorded frame, describing the state that frame shows.
        std::vector<demo::WorldState> states;
        const data::Episode ep =
            demo::rollout(demo::TaskKind::PickUp, 11, 32, {}, demo::kMaxEpisodeSteps, &states);
        QVERIFY(ep.success());
        QCOMPARE(static_cast<int>(states.size()), ep.numSteps);
        QCOMPARE(states.front().step, 0);
        QCOMPARE(states.back().step, ep.numSteps - 1);
        bool heldSeen = false;
        for (const demo::WorldState& w : states) {
            const demo::StateFeatures f = demo::stateFeatures(w);
            for (float v : f)
                QVERIFY(std::isfinite(v) && std::abs(v) <= 4.0f);
            QCOMPARE(f[0], static_cast<float>(w.gripper.x / 0.3));
            QCOMPARE(f[3], static_cast<float>(2 * w.gripper.opening - 1));
            QCOMPARE(f[4], w.held == w.target ? 1.0f : -1.0f);
            heldSeen |= f[4] > 0;
            QVERIFY(std::abs(f[10]) <= 1.0f + 1e-6f); // the yaw error modulo a quarter turn
        }
        QVERIFY(heldSeen); // the pick-up grasps the block before it succeeds

        // Read back from its own features, every task's world is the same to the expert: gripper, named
        // block, holding and goal, so the same action; a gripper read 5 cm further right is where the read
        // says.
        for (demo::TaskKind kind : demo::allTaskKinds()) {
            std::vector<demo::WorldState> run;
            demo::rollout(kind, 21, 32, {}, demo::kMaxEpisodeSteps, &run);
            for (std::size_t t = 0; t < run.size(); t += 3) {
                const demo::WorldState& w = run[t];
                demo::StateFeatures f = demo::stateFeatures(w);
                const demo::WorldState back = demo::stateFromFeatures(w, f.data());
                const auto& b0 = w.blocks[static_cast<std::size_t>(w.target)];
                const auto& b1 = back.blocks[static_cast<std::size_t>(w.target)];
                QVERIFY(std::abs(back.gripper.x - w.gripper.x) < 1e-6 &&
                        std::abs(back.gripper.z - w.gripper.z) < 1e-6);
                QVERIFY(std::abs(b1.x - b0.x) < 1e-6 && std::abs(b1.y - b0.y) < 1e-6);
                QCOMPARE(back.held == back.target, w.held == w.target);
                const auto g0 = demo::taskGoal(w), g1 = demo::taskGoal(back);
                QVERIFY(std::abs(g1[0] - g0[0]) < 1e-6 && std::abs(g1[1] - g0[1]) < 1e-6);
                demo::ExpertOptions drop;
                drop.drop = true;
                drop.noise = 0;
                const data::Action a0 = demo::Expert(1, drop).act(w), a1 = demo::Expert(1, drop).act(back);
                for (std::size_t i = 0; i < 7; ++i)
                    QVERIFY2(
                        std::abs(a0[i] - a1[i]) < 1e-3,
                        qPrintable(QString("%1 step %2 dim %3").arg(demo::taskKindName(kind)).arg(t).arg(i)));
                f[0] += static_cast<float>(0.05 / 0.3);
                QVERIFY(std::abs(demo::stateFromFeatures(w, f.data()).gripper.x - (w.gripper.x + 0.05)) <
                        1e-6);
            }
        }
        QCOMPARE(demo::stateFeatures(states.front())[4], -1.0f);

        // The scene features, whatever the instruction: the gripper, every colour's block, the receptacles.
        const int o = demo::kSceneFeatureOffset;
        for (const demo::WorldState& w : {states.front(), states.back()}) {
            const demo::StateFeatures f = demo::stateFeatures(w);
            QCOMPARE(f[o + 0], static_cast<float>(w.gripper.x / 0.3));
            QCOMPARE(f[o + 2], static_cast<float>((w.gripper.z - 0.15) / 0.15));
            QCOMPARE(f[o + 4], static_cast<float>(std::cos(4 * w.gripper.yaw)));
            int present = 0;
            for (int c = 0; c < 6; ++c) {
                const float* slot = f.data() + o + 6 + 4 * c;
                const auto it = std::find_if(w.blocks.begin(), w.blocks.end(),
                                             [&](const demo::Block& b) { return b.color == c; });
                if (it == w.blocks.end()) {
                    QCOMPARE(slot[0], -1.0f);
                    QCOMPARE(slot[1], 0.0f);
                    continue;
                }
                ++present;
                QCOMPARE(slot[0], 1.0f);
                QCOMPARE(slot[1], static_cast<float>(it->x / 0.3));
                QCOMPARE(slot[2], static_cast<float>(it->y / 0.3));
                QCOMPARE(slot[3], static_cast<float>((it->z - 0.15) / 0.15));
            }
            QCOMPARE(present, static_cast<int>(w.blocks.size())); // one block per colour
        }
        // The held block rises with the gripper: its z feature is higher at the end than at the start.
        const int target = states.back().target,
                  color = states.back().blocks[static_cast<std::size_t>(target)].color;
        QVERIFY(demo::stateFeatures(states.back())[o + 6 + 4 * color + 3] >
                demo::stateFeatures(states.front())[o + 6 + 4 * color + 3]);
        // A layout with both receptacles names each where it is.
        for (std::uint64_t seed = 0; seed < 40; ++seed) {
            const demo::WorldState w = demo::sampleLayout(demo::TaskKind::PutIn, seed);
            const demo::StateFeatures f = demo::stateFeatures(w);
            for (int k = 0; k < 2; ++k) {
                const auto kind = k == 0 ? demo::ReceptacleKind::Plate : demo::ReceptacleKind::Bowl;
                const float* slot = f.data() + o + 6 + 24 + 3 * k;
                const auto it = std::find_if(w.receptacles.begin(), w.receptacles.end(),
                                             [&](const demo::Receptacle& r) { return r.kind == kind; });
                QCOMPARE(slot[0], it == w.receptacles.end() ? -1.0f : 1.0f);
                if (it != w.receptacles.end()) QCOMPARE(slot[2], static_cast<float>(it->y / 0.3));
            }
        }

        // The goal features name the task's goal: the receptacle's centre for put in.
        const demo::WorldState put = demo::sampleLayout(demo::TaskKind::PutIn, 3);
        const auto& r = put.receptacles[static_cast<std::size_t>(put.receptacle)];
        QCOMPARE(demo::stateFeatures(put)[8], static_cast<float>(r.x / 0.3));
        QCOMPARE(demo::stateFeatures(put)[9], static_cast<float>(r.y / 0.3));
        demo::WorldState broken = put;
        broken.receptacle = 7;
        QVERIFY(testing::errorOf([&] { demo::stateFeatures(broken); }).find("receptacle") !=
                std::string::npos);
    }

    void auxiliaryLossLowersAndIsNotSaved() {
        const auto spec = demo::DemoModelSpec::tiny();
        std::vector<std::vector<demo::StateFeatures>> states;
        auto episodes = demo::expertEpisodes(3, 7, spec.imageSize, {}, &states);
        QCOMPARE(states.size(), episodes.size());
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        // States that do not match the episodes are refused with the counts.
        auto wrong = states;
        wrong[1].pop_back();
        const std::string e = testing::errorOf([&] { demo::buildDataset(episodes, tok, wrong); });
        QVERIFY2(e.find("episode 1") != std::string::npos && e.find("states") != std::string::npos,
                 e.c_str());

        // A frame stride keeps every k-th step of each episode (offset per episode) with its state, and the
        // statistics of all steps.
        const demo::DemoDataset thin = demo::buildDataset(episodes, tok, states, 3);
        QCOMPARE(thin.states.size(), thin.samples.size());
        QCOMPARE(thin.inputs.size(), thin.samples.size());
        std::size_t expected = 0;
        for (std::size_t e = 0; e < episodes.size(); ++e)
            for (int t = 0; t < episodes[e].numSteps; ++t)
                expected += (t + static_cast<int>(e % 3)) % 3 == 0 ? 1 : 0;
        QCOMPARE(thin.samples.size(), expected);
        for (const demo::DemoSample& x : thin.samples) {
            QCOMPARE((x.step + x.episode % 3) % 3, 0);
            QCOMPARE(thin.states[static_cast<std::size_t>(&x - thin.samples.data())],
                     states[static_cast<std::size_t>(x.episode)][static_cast<std::size_t>(x.step)]);
        }
        QCOMPARE(thin.actionStats, m_data.actionStats);
        QVERIFY(testing::errorOf([&] { demo::buildDataset(episodes, tok, states, 0); }).find("stride") !=
                std::string::npos);

        demo::DemoDataset data = demo::buildDataset(std::move(episodes), tok, states);
        QCOMPARE(data.states.size(), data.samples.size());
        // The same demonstrations as without states: the same tokens.
        QCOMPARE(data.samples.size(), m_data.samples.size());
        for (std::size_t i = 0; i < data.samples.size(); ++i)
            QCOMPARE(data.samples[i].tokens, m_data.samples[i].tokens);

        demo::TargetTrainOptions o = quickTraining(80);
        o.auxWeight = 1.0;
        const auto withAux = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(withAux.auxLosses.size(), std::size_t(80));
        QCOMPARE(withAux.losses.size(), std::size_t(80));
        const double first = mean(withAux.auxLosses, 0, 10), last = mean(withAux.auxLosses, 70, 10);
        qInfo("auxiliary loss %.3f -> %.3f", first, last);
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));

        // Read-outs at the action positions too: the first step's read-out loss averages over other states
        // (the behaviour-cloning loss is the same there: the same forward), the loss still falls, training
        // then takes another course, and it stays deterministic. 0 or 8 positions are refused.
        {
            demo::TargetTrainOptions p = o;
            p.auxPositions = 3;
            const auto spread = demo::trainTarget(m_config, m_tokenizer, data, p);
            const auto again = demo::trainTarget(m_config, m_tokenizer, data, p);
            QCOMPARE(spread.auxLosses, again.auxLosses);
            QCOMPARE(spread.losses, again.losses);
            QCOMPARE(spread.losses.front(), withAux.losses.front());
            QVERIFY(std::abs(spread.auxLosses.front() - withAux.auxLosses.front()) > 1e-6);
            QVERIFY(spread.losses.back() != withAux.losses.back());
            const double f = mean(spread.auxLosses, 0, 10), l = mean(spread.auxLosses, 70, 10);
            QVERIFY2(l < 0.7 * f, qPrintable(QString("%1 -> %2").arg(f).arg(l)));
            for (int bad : {0, 8}) {
                p.auxPositions = bad;
                QVERIFY(testing::errorOf([&] {
                            demo::trainTarget(m_config, m_tokenizer, data, p);
                        }).find("read-out positions") != std::string::npos);
            }
        }

        // Without the check nothing is measured.
        QCOMPARE(withAux.bcUnseen.frames, 0);
        QCOMPARE(withAux.bcSeen.frames, 0);
        QCOMPARE(withAux.readoutDrive.layouts, 0);

        // The expert driving held-out layouts on the read-out: every layout counted, in range, deterministic.
        {
            demo::TargetTrainOptions d = o;
            d.steps = 20;
            d.readoutDrive = 2;
            const auto a = demo::trainTarget(m_config, m_tokenizer, data, d);
            const auto b = demo::trainTarget(m_config, m_tokenizer, data, d);
            QCOMPARE(a.readoutDrive.layouts, 2);
            QVERIFY(a.readoutDrive.successes >= 0 && a.readoutDrive.successes <= 2);
            QVERIFY(a.readoutDrive.grasped >= a.readoutDrive.successes && a.readoutDrive.grasped <= 2);
            QVERIFY(a.readoutDrive.seconds > 0);
            QCOMPARE(b.readoutDrive.successes, a.readoutDrive.successes);
            QCOMPARE(b.readoutDrive.grasped, a.readoutDrive.grasped);
        }

        // The policy check keeps the last twentieth of the samples out of behaviour cloning: with their
        // states poisoned (NaN) every training loss stays finite, while training on them does not.
        {
            demo::DemoDataset poisoned = data;
            const std::size_t n = poisoned.samples.size(), kept = n / 20;
            QVERIFY(kept >= 2);
            for (std::size_t i = n - kept; i < n; ++i)
                poisoned.states[i].fill(std::numeric_limits<float>::quiet_NaN());
            demo::TargetTrainOptions c = o;
            c.steps = 40;
            c.bcCheck = true;
            const auto checked = demo::trainTarget(m_config, m_tokenizer, poisoned, c);
            for (double l : checked.auxLosses)
                QVERIFY(std::isfinite(l));
            c.bcCheck = false;
            bool nan = false;
            for (double l : demo::trainTarget(m_config, m_tokenizer, poisoned, c).auxLosses)
                nan = nan || !std::isfinite(l);
            QVERIFY(nan);

            // Measured on the kept frames and on as many trained ones, in range; the read-out's errors are
            // there with the auxiliary loss (NaN where the states are poisoned, finite where they are not).
            QCOMPARE(checked.bcUnseen.frames, static_cast<int>(kept));
            QCOMPARE(checked.bcSeen.frames, static_cast<int>(kept));
            for (const demo::PolicyCheck* p : {&checked.bcUnseen, &checked.bcSeen}) {
                QVERIFY(p->tokenMatch >= 0 && p->tokenMatch <= 1);
                QVERIFY(p->meanBinDistance >= 0 && p->meanBinDistance <= 255);
                for (double a : p->signAgreement)
                    QVERIFY(a >= 0 && a <= 1);
            }
            QVERIFY(std::isnan(checked.bcUnseen.blockErrorCm));
            QVERIFY(checked.bcSeen.gripperErrorCm >= 0 && checked.bcSeen.blockErrorCm >= 0 &&
                    checked.bcSeen.goalErrorCm >= 0);
            // On clean states the kept frames' read-out errors are measured too.
            c.bcCheck = true;
            c.steps = 80;
            const auto clean = demo::trainTarget(m_config, m_tokenizer, data, c);
            qInfo("policy check: tokens %.2f (trained) %.2f (kept out); named block %.1f / %.1f cm",
                  clean.bcSeen.tokenMatch, clean.bcUnseen.tokenMatch, clean.bcSeen.blockErrorCm,
                  clean.bcUnseen.blockErrorCm);
            QVERIFY(std::isfinite(clean.bcUnseen.blockErrorCm) && clean.bcUnseen.blockErrorCm >= 0);
            for (const demo::PolicyCheck* p : {&clean.bcUnseen, &clean.bcSeen}) {
                QVERIFY(std::isfinite(p->heightErrorCm) && p->heightErrorCm >= 0 && p->heightErrorCm < 100);
                QVERIFY(p->heldWrong >= 0 && p->heldWrong <= 1);
                // The goal read-out's tail: the 90th percentile above the median, a fraction, and per
                // definition of the goal only where such frames are (these episodes name no reference block).
                QVERIFY(p->goalErrorP90Cm >= p->goalErrorCm);
                QVERIFY(p->goalOff10Cm >= 0 && p->goalOff10Cm <= 1);
                QCOMPARE(p->goalErrorReceptacleCm, -1.0); // the checked frames are the pick-up episode's
                QCOMPARE(p->goalErrorReferenceCm, -1.0);
            }
            QVERIFY(std::isnan(checked.bcUnseen.goalErrorP90Cm));
            {
                // With the put-in episode last, the kept frames' goal is a receptacle's.
                std::vector<std::vector<demo::StateFeatures>> s2;
                auto e2 = demo::expertEpisodes(3, 7, spec.imageSize, {}, &s2);
                std::reverse(e2.begin(), e2.end());
                std::reverse(s2.begin(), s2.end());
                demo::DemoDataset putInLast = demo::buildDataset(std::move(e2), tok, s2);
                demo::TargetTrainOptions r = c;
                r.steps = 3;
                const auto checkedPutIn = demo::trainTarget(m_config, m_tokenizer, putInLast, r);
                QVERIFY(checkedPutIn.bcUnseen.goalErrorReceptacleCm >= 0);
                QCOMPARE(checkedPutIn.bcUnseen.goalErrorReferenceCm, -1.0);
            }
            // Without the auxiliary loss there is no read-out to measure.
            c.auxWeight = 0;
            c.steps = 3;
            const auto plain = demo::trainTarget(m_config, m_tokenizer, data, c);
            QCOMPARE(plain.bcUnseen.gripperErrorCm, -1.0);
            QCOMPARE(plain.bcUnseen.heightErrorCm, -1.0);
            QCOMPARE(plain.bcUnseen.heldWrong, -1.0);
            QCOMPARE(plain.bcUnseen.goalErrorP90Cm, -1.0);
        }

        o.steps = 3;
        o.auxWeight = 0;
        QVERIFY(demo::trainTarget(m_config, m_tokenizer, data, o).auxLosses.empty());
        o.auxWeight = 1;
        QVERIFY(demo::trainTarget(m_config, m_tokenizer, m_data, o).auxLosses.empty()); // no states: none

        // The read-outs are not part of the checkpoint: the same tensors as the plain layout.
        const std::string dir = m_dir.filePath("aux-model").toStdString();
        demo::saveDemoModel(dir, withAux, {});
        model::LoadOptions lo;
        lo.dtype = at::kFloat;
        model::LoadReport report;
        model::VlaModel::load(dir, lo, &report);
        for (const std::string& k : report.unusedKeys)
            QVERIFY2(k.find("aux") == std::string::npos, k.c_str());
        QCOMPARE(report.tensorsLoaded + report.unusedKeys.size(),
                 model::vlaTensorSpecs(withAux.config).size());
    }

    // --aux-relative: a second read-out of the same state gives the named block's and the goal's offsets
    // from the gripper, steepest near them; it trains, is measured near the goal, and is never saved.
    void relativeReadOutLowersAndIsMeasured() {
        // The targets by hand: gripper at (3, -6) cm, named block at (6, -6) cm, goal at (-9, 0) cm.
        demo::StateFeatures f{};
        f[0] = 0.03f / 0.3f, f[1] = -0.06f / 0.3f, f[5] = 0.06f / 0.3f, f[6] = -0.06f / 0.3f;
        f[8] = -0.09f / 0.3f, f[9] = 0.0f;
        const auto r = demo::detail::relativeOffsets(f);
        QVERIFY(std::abs(r[0] - std::tanh(0.6)) < 1e-5 && std::abs(r[1]) < 1e-6);
        QVERIFY(std::abs(r[2] - std::tanh(-2.4)) < 1e-5 && std::abs(r[3] - std::tanh(1.2)) < 1e-5);
        QVERIFY(std::abs(demo::detail::relativeOffsetCm(r[0]) - 3.0) < 1e-3);
        QVERIFY(std::abs(demo::detail::relativeOffsetCm(r[3]) - 6.0) < 1e-3);
        QVERIFY(demo::detail::relativeOffsetCm(1.0) < 20); // clamped, finite

        // The put-in episode last, so the kept-out frames hold the block near the bowl.
        const auto spec = demo::DemoModelSpec::tiny();
        std::vector<std::vector<demo::StateFeatures>> states;
        auto episodes = demo::expertEpisodes(3, 7, spec.imageSize, {}, &states);
        std::reverse(episodes.begin(), episodes.end());
        std::reverse(states.begin(), states.end());
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        demo::DemoDataset data = demo::buildDataset(std::move(episodes), tok, states);

        demo::TargetTrainOptions o = quickTraining(80);
        o.auxWeight = 1.0;
        o.bcCheck = true;
        const auto plain = demo::trainTarget(m_config, m_tokenizer, data, o);
        QVERIFY(plain.auxRelativeLosses.empty());
        o.auxRelativeWeight = 1.0;
        const auto rel = demo::trainTarget(m_config, m_tokenizer, data, o);
        const auto again = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(rel.auxRelativeLosses.size(), std::size_t(80));
        QCOMPARE(again.auxRelativeLosses, rel.auxRelativeLosses);
        QCOMPARE(again.losses, rel.losses);
        QVERIFY(std::abs(rel.losses[1] - plain.losses[1]) > 1e-9); // it shapes the shared state
        const double first = mean(rel.auxRelativeLosses, 0, 10), last = mean(rel.auxRelativeLosses, 70, 10);
        qInfo("relative read-out loss %.3f -> %.3f", first, last);
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));

        // Measured near the goal on the kept-out frames, by both read-outs; only the offset without it.
        QVERIFY(rel.bcUnseen.nearGoalFrames > 0);
        QCOMPARE(plain.bcUnseen.nearGoalFrames, rel.bcUnseen.nearGoalFrames);
        QVERIFY(rel.bcUnseen.nearGoalOffsetErrorCm >= 0 && rel.bcUnseen.nearGoalOffsetErrorCm < 100);
        QVERIFY(rel.bcUnseen.nearGoalRelativeErrorCm >= 0 && rel.bcUnseen.nearGoalRelativeErrorCm < 40);
        QVERIFY(plain.bcUnseen.nearGoalOffsetErrorCm >= 0);
        QCOMPARE(plain.bcUnseen.nearGoalRelativeErrorCm, -1.0);
        // Frames that hold the block are not near-block frames.
        QCOMPARE(rel.bcUnseen.nearBlockFrames == 0, rel.bcUnseen.nearBlockOffsetErrorCm == -1.0);

        // Not part of the checkpoint: the same tensors as without it.
        QCOMPARE(demo::weightNames(*rel.weights), demo::weightNames(*plain.weights));

        // Refused without the auxiliary loss or its states, and for a weight that is not a positive number.
        o.steps = 2;
        for (double w : {-1.0, std::numeric_limits<double>::quiet_NaN()}) {
            o.auxRelativeWeight = w;
            QVERIFY(testing::trainingError(m_config, m_tokenizer, data, o).find("relative") !=
                    std::string::npos);
        }
        o.auxRelativeWeight = 1.0;
        o.auxWeight = 0;
        QVERIFY(testing::trainingError(m_config, m_tokenizer, data, o).find("relative") != std::string::npos);
        o.auxWeight = 1.0;
        QVERIFY(testing::trainingError(m_config, m_tokenizer, m_data, o).find("relative") !=
                std::string::npos);
    }

    void languageModelAttentionLossLowers() {
        demo::DemoDataset data = statefulData(3, 7);

        demo::TargetTrainOptions o = quickTraining(60);
        o.lmAttentionWeight = 1.0;
        const auto t = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(t.lmAttentionLosses.size(), std::size_t(60));
        QCOMPARE(t.lmAttentionLayer, 1); // a quarter of 2 layers, but at least layer 1
        const double first = mean(t.lmAttentionLosses, 0, 10), last = mean(t.lmAttentionLosses, 50, 10);
        qInfo("language-model attention loss %.3f -> %.3f", first, last);
        QVERIFY2(last < 0.8 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
        // The attention is supervised, not the checkpoint's layout: the same tensors as without it.
        demo::TargetTrainOptions without = o;
        without.steps = 1;
        without.lmAttentionWeight = 0;
        QCOMPARE(demo::weightNames(*t.weights),
                 demo::weightNames(*demo::trainTarget(m_config, m_tokenizer, data, without).weights));

        // Without the weight nothing is recorded; without states, or with a layer outside the language
        // model, it is an error naming the problem.
        o.steps = 2;
        o.lmAttentionWeight = 0;
        const auto plain = demo::trainTarget(m_config, m_tokenizer, data, o);
        QVERIFY(plain.lmAttentionLosses.empty());
        QCOMPARE(plain.lmAttentionLayer, -1);
        o.lmAttentionWeight = 1;
        QVERIFY(testing::trainingError(m_config, m_tokenizer, m_data, o).find("states") != std::string::npos);
        o.lmAttentionLayer = 5;
        QVERIFY(testing::trainingError(m_config, m_tokenizer, data, o).find("layer 5") != std::string::npos);
    }

    void probeLearnsAndIsDeterministic() {
        // The perfect-perception probe: its loss falls, it reports every level and task, the same options
        // give the same outcome, and bad options are refused naming the field.
        demo::ProbeOptions o;
        o.episodes = 20;
        o.steps = 80;
        o.batch = 64;
        o.hidden = 64;
        o.lr = 3e-3;
        o.evalEpisodes = 5;
        o.noiseCm = {0, 5};
        o.expert.funnel = true;
        o.expert.gain = 0.5;
        o.expert.maxChange = 2;
        o.expert.perturbation = 0.3;
        int reported = 0, episodes = 0;
        const auto a = demo::runProbe(
            o, [&](int, double) { ++reported; },
            [&](double, int, const demo::RolloutResult&) { ++episodes; });
        QCOMPARE(reported, 80);
        QCOMPARE(episodes, 10);
        QVERIFY(a.samples > 20 * 10);
        const double first = mean(a.losses, 0, 10), last = mean(a.losses, 70, 10);
        qInfo("probe loss %.3f -> %.3f", first, last);
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
        QCOMPARE(a.levels.size(), std::size_t(2));
        for (const auto& l : a.levels) {
            QCOMPARE(l.episodes, 5);
            int perTask = 0;
            for (int n : l.episodesPerTask) {
                QCOMPARE(n, 1);
                perTask += n;
            }
            QCOMPARE(perTask, 5);
        }
        const auto b = demo::runProbe(o);
        QVERIFY(a.losses == b.losses);
        for (std::size_t i = 0; i < a.levels.size(); ++i)
            QCOMPARE(a.levels[i].successes, b.levels[i].successes);
        // DAgger: the policy's own rollouts on fresh layouts, labelled by the expert, join the samples, and
        // training continues on them.
        o.daggerRounds = 1;
        o.daggerEpisodes = 5;
        const auto dagger = demo::runProbe(o);
        QCOMPARE(dagger.losses.size(), std::size_t(160));
        QVERIFY(dagger.samples > a.samples + 5 * 5);
        QVERIFY(std::equal(a.losses.begin(), a.losses.end(), dagger.losses.begin())); // same first round
        o.daggerEpisodes = 0;
        QVERIFY(testing::errorOf([&] { demo::runProbe(o); }).find("daggerEpisodes") != std::string::npos);
        o.daggerRounds = 0;
        o.noiseCm = {};
        QVERIFY(testing::errorOf([&] { demo::runProbe(o); }).find("noiseCm") != std::string::npos);
        o.noiseCm = {-1};
        QVERIFY(testing::errorOf([&] { demo::runProbe(o); }).find("noiseCm") != std::string::npos);
        o.noiseCm = {0};
        o.steps = 0;
        QVERIFY(testing::errorOf([&] { demo::runProbe(o); }).find("steps") != std::string::npos);
    }

    void probeExpertDrivesOnAFixedMisreading() {
        // --expert-drives: the expert itself drives on the misread state, with no clone trained. Read
        // exactly, it solves every layout; a misreading drawn once per episode (--fixed-noise) costs it more
        // than one of the same size drawn anew every frame, which averages out as the gripper moves.
        demo::ProbeOptions o;
        o.expertDrives = true;
        o.expert.drop = true;
        o.expert.gain = 0.5;
        o.expert.maxChange = 2;
        o.evalEpisodes = 20;
        o.noiseCm = {0, 3};
        int episodes = 0;
        const auto perFrame =
            demo::runProbe(o, {}, [&](double, int, const demo::RolloutResult&) { ++episodes; });
        QCOMPARE(episodes, 40);
        QVERIFY(perFrame.losses.empty());
        QCOMPARE(perFrame.samples, 0);
        QCOMPARE(perFrame.levels.at(0).successes, 20);
        o.fixedNoise = true;
        const auto fixed = demo::runProbe(o);
        const auto again = demo::runProbe(o);
        QCOMPARE(fixed.levels.at(0).successes, 20);
        qInfo("the expert at 3 cm: %d / 20 with noise per frame, %d / 20 with a fixed misreading",
              perFrame.levels.at(1).successes, fixed.levels.at(1).successes);
        QVERIFY(fixed.levels.at(1).successes < perFrame.levels.at(1).successes);
        QCOMPARE(again.levels.at(1).successes, fixed.levels.at(1).successes);
    }

    void bf16ComputeTrains() {
        // The vision pretraining, behaviour cloning with the state read-outs, and the draft's distillation
        // with their products in BF16: other losses from the first step, still falling, deterministic per
        // seed; the weights stay F32 and autocast is off afterwards.
        demo::DemoDataset data = statefulData(3, 7);
        demo::TargetTrainOptions o = quickTraining(40);
        o.visionSteps = 30;
        o.visionBatch = 8;
        o.visionLr = 2e-3;
        o.auxWeight = 1;
        o.auxPositions = 2;
        o.auxRelativeWeight = 1;
        demo::TargetTrainOptions low = o;
        low.bf16Compute = true;
        const auto plain = demo::trainTarget(m_config, m_tokenizer, data, o);
        const auto target = demo::trainTarget(m_config, m_tokenizer, data, low);
        const auto again = demo::trainTarget(m_config, m_tokenizer, data, low);
        QVERIFY(!at::autocast::is_cpu_enabled());
        QCOMPARE(target.losses, again.losses);
        QCOMPARE(target.visionLosses, again.visionLosses);
        QVERIFY(std::abs(target.visionLosses.front() - plain.visionLosses.front()) > 1e-7);
        QVERIFY(std::abs(target.losses.front() - plain.losses.front()) > 1e-7);
        for (const std::vector<double>* l :
             {&target.losses, &target.visionLosses, &target.auxRelativeLosses}) {
            const double first = mean(*l, 0, 5), last = mean(*l, l->size() - 5, 5);
            QVERIFY2(last < 0.9 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
        }
        for (const auto& [name, t] : target.weights->tensors)
            QVERIFY2(t.scalar_type() == at::kFloat, name.c_str());

        demo::DraftTrainOptions d;
        d.steps = 12;
        d.batchSize = 4;
        d.warmupSteps = 2;
        demo::DraftTrainOptions dLow = d;
        dLow.bf16Compute = true;
        const auto config = demo::demoDraftConfig(target.config);
        const auto draftPlain = demo::trainDraft(target, data, config, d);
        const auto draft = demo::trainDraft(target, data, config, dLow);
        const auto draftAgain = demo::trainDraft(target, data, config, dLow);
        QVERIFY(!at::autocast::is_cpu_enabled());
        QCOMPARE(draft.losses, draftAgain.losses);
        QVERIFY(std::abs(draft.losses.front() - draftPlain.losses.front()) > 1e-7);
        QVERIFY2(mean(draft.losses, 9, 3) < mean(draft.losses, 0, 3),
                 qPrintable(QString("%1 -> %2").arg(mean(draft.losses, 0, 3)).arg(mean(draft.losses, 9, 3))));
        for (const auto& [name, t] : draft.weights->tensors)
            QVERIFY2(t.scalar_type() == at::kFloat, name.c_str());
    }

    void visionPretrainingAndFrozenTower() {
        demo::DemoDataset data = statefulData(4, 21);

        // Pretraining reads the scene off the pixels: its loss falls, and it reports every step.
        demo::TargetTrainOptions o;
        o.steps = 0;
        o.visionSteps = 60;
        o.visionBatch = 8;
        o.warmupSteps = 5;
        o.lr = 2e-3;
        o.visionLr = 2e-3;
        int reported = 0;
        const auto pre =
            demo::trainTarget(m_config, m_tokenizer, data, o, {}, [&](int, double) { ++reported; });
        QCOMPARE(reported, 60);
        QCOMPARE(pre.visionLosses.size(), std::size_t(60));
        const double first = mean(pre.visionLosses, 0, 8), last = mean(pre.visionLosses, 52, 8);
        qInfo("vision read-out loss %.3f -> %.3f", first, last);
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
        // The read-out is checked on the last twentieth of the samples, kept out of its batches.
        QCOMPARE(pre.visionCheckFrames, static_cast<int>(data.samples.size() / 20));
        QVERIFY(pre.visionGripperErrorCm > 0 && pre.visionGripperErrorCm < 100);
        QVERIFY(pre.visionBlockErrorCm > 0 && pre.visionBlockErrorCm < 100);
        QVERIFY(pre.visionGripperHeightErrorCm > 0 && pre.visionGripperHeightErrorCm < 100);
        QVERIFY(pre.visionOpeningError >= 0 && pre.visionOpeningError <= 1);
        // With the attention targets the combined loss falls too, from the cross entropy of near-uniform
        // attention (about log P) upwards; the result differs from pretraining without them.
        {
            demo::TargetTrainOptions a = o;
            a.visionAttentionWeight = 0.5;
            const auto attended = demo::trainTarget(m_config, m_tokenizer, data, a);
            const double from = mean(attended.visionLosses, 0, 8), to = mean(attended.visionLosses, 52, 8);
            qInfo("vision loss with attention targets %.3f -> %.3f", from, to);
            QVERIFY(from > first + 0.5 * 0.5 * std::log(double(m_config.numPatches())));
            QVERIFY2(to < 0.8 * from, qPrintable(QString("%1 -> %2").arg(from).arg(to)));
            QVERIFY(demo::weightValues(*attended.weights, "projector.fc1.weight") !=
                    demo::weightValues(*pre.weights, "projector.fc1.weight"));
        }
        // It changed the vision tower and left the language model as initialised.
        o.visionSteps = 0;
        const auto plain = demo::trainTarget(m_config, m_tokenizer, data, o);
        auto values = [](const demo::TrainedTarget& t, const std::string& name) {
            return demo::weightValues(*t.weights, name);
        };
        QVERIFY(values(pre, "projector.fc1.weight") != values(plain, "projector.fc1.weight"));
        QVERIFY(values(pre, "language_model.lm_head.weight") ==
                values(plain, "language_model.lm_head.weight"));

        // Frozen vision: behaviour cloning (with the language model's auxiliary read-out) lowers the loss and
        // changes the language model only.
        o.visionSteps = 20;
        o.steps = 60;
        o.freezeVision = true;
        o.auxWeight = 1.0;
        const auto frozen = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(frozen.losses.size(), std::size_t(60));
        QVERIFY(mean(frozen.losses, 52, 8) < 0.8 * mean(frozen.losses, 0, 8));
        QCOMPARE(frozen.auxLosses.size(), std::size_t(60));
        o.steps = 0;
        o.auxWeight = 0;
        o.freezeVision = false;
        const auto pretrainedOnly =
            demo::trainTarget(m_config, m_tokenizer, data, o); // same seed, same 20 steps
        int visionTensors = 0;
        for (const std::string& name : demo::weightNames(*frozen.weights)) {
            const bool vision = name.rfind("vision_backbone.", 0) == 0 || name.rfind("projector.", 0) == 0;
            visionTensors += vision ? 1 : 0;
            if (vision) QVERIFY2(values(frozen, name) == values(pretrainedOnly, name), name.c_str());
        }
        QVERIFY(visionTensors > 10);
        QVERIFY(values(frozen, "language_model.lm_head.weight") !=
                values(pretrainedOnly, "language_model.lm_head.weight"));
        QVERIFY(testing::errorOf([&] { values(frozen, "no.such.tensor"); }).find("no.such.tensor") !=
                std::string::npos);
        // The saved checkpoint is the plain layout.
        const std::string dir = m_dir.filePath("frozen-model").toStdString();
        demo::saveDemoModel(dir, frozen, {});
        model::LoadOptions lo;
        lo.dtype = at::kFloat;
        model::LoadReport report;
        QVERIFY(model::VlaModel::load(dir, lo, &report) != nullptr);
        QCOMPARE(report.tensorsLoaded + report.unusedKeys.size(),
                 model::vlaTensorSpecs(frozen.config).size());

        // Sine-cosine position embeddings: patch 0 (row 0, column 0) is sin 0 = 0 then cos 0 = 1 in each
        // half; patch 1 (column 1) differs from it in the column half only.
        o.steps = 0;
        o.visionSteps = 0;
        o.sincosPositions = true;
        const auto sincos = demo::trainTarget(m_config, m_tokenizer, data, o);
        for (const char* tower :
             {"vision_backbone.featurizer.pos_embed", "vision_backbone.fused_featurizer.pos_embed"}) {
            const std::vector<float> pos = values(sincos, tower);
            const auto width = static_cast<std::size_t>(std::string(tower).find("fused") == std::string::npos
                                                            ? m_config.featurizer.hiddenSize
                                                            : m_config.fusedFeaturizer.hiddenSize);
            const std::size_t q = width / 4;
            QCOMPARE(pos.size(), width * static_cast<std::size_t>(m_config.featurizer.numPatches()));
            for (std::size_t k = 0; k < q; ++k) {
                QCOMPARE(pos[k], 0.0f);
                QCOMPARE(pos[q + k], 1.0f);
                QCOMPARE(pos[width + k], pos[k]);         // same row
                QCOMPARE(pos[width + q + k], pos[q + k]); // same row
            }
            QVERIFY(std::abs(pos[width + 2 * q] - std::sin(1.0f)) < 1e-6f); // column 1, lowest frequency
            for (float v : pos)
                QVERIFY(std::abs(v) <= 1.0f);
        }
        o.sincosPositions = false;

        // Pretraining needs the scene of every sample.
        o.visionSteps = 5;
        QVERIFY(testing::errorOf([&] {
                    demo::trainTarget(m_config, m_tokenizer, m_data, o);
                }).find("vision") != std::string::npos);

        // The draft on a subset of the samples: trains, and its greedy match is over that subset.
        demo::DraftTrainOptions d;
        d.steps = 10;
        d.batchSize = 4;
        d.maxSamples = 9;
        const auto draft = demo::trainDraft(frozen, data, demo::demoDraftConfig(frozen.config), d);
        QCOMPARE(draft.losses.size(), std::size_t(10));
        const double perToken = draft.greedyMatch * 7 * 9;
        QVERIFY(std::abs(perToken - std::round(perToken)) < 1e-6); // a count out of 63 tokens
    }
};

QTEST_GUILESS_MAIN(TestTrainerState)
#include "test_trainer_state.moc"
