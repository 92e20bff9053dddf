// SPDX-License-Identifier: MIT
// The demo trainer on the tiny geometry: action statistics and tokens by hand, a short training run that
// lowers the target's and the draft's losses, deterministic losses per seed, and saved folders that load and
// decode.
#include "common/error.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/trainer.h"
#include "demo/trainer_internal.h" // WeightSet, to compare the tensors of a target read back
#include "model/draft_head.h"
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
#include <set>
#include <utility>

using namespace specvla;
using testing::mean;
using testing::quickTraining;

class TestTrainer : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_tokenizer;
    model::VlaConfig m_config;
    demo::DemoDataset m_data;

    // Training with `variant` instead of `base` changes the loss from the first step (the same
    // initialisation and batches see other targets), still lowers it, and is deterministic.
    void checkVariantTrains(const demo::TargetTrainOptions& base, const demo::TargetTrainOptions& variant) {
        const auto plain = demo::trainTarget(m_config, m_tokenizer, m_data, base);
        const auto changed = demo::trainTarget(m_config, m_tokenizer, m_data, variant);
        const auto again = demo::trainTarget(m_config, m_tokenizer, m_data, variant);
        QCOMPARE(changed.losses, again.losses);
        QVERIFY(std::abs(changed.losses.front() - plain.losses.front()) > 1e-6);
        const double first = mean(changed.losses, 0, 5), last = mean(changed.losses, 25, 5);
        QVERIFY2(last < 0.9 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        auto setup = testing::tinyTrainerSetup(m_dir);
        m_tokenizer = std::move(setup.tokenizer);
        m_config = setup.config;
        m_data = std::move(setup.data);
        const int vocab = text::Tokenizer::load(m_tokenizer).vocabSize();
        QCOMPARE(m_config.actionVocabBase(), vocab);
        QCOMPARE(m_data.episodes.size(), std::size_t(3));
        QVERIFY(m_data.samples.size() > 30);
        qInfo("tokenizer %d pieces, %zu samples", vocab, m_data.samples.size());
    }

    void gripperConvention() {
        QCOMPARE(demo::toOpenVlaGripper(-1.0), 1.0); // LIBERO open -> OpenVLA open
        QCOMPARE(demo::toOpenVlaGripper(1.0), 0.0);  // LIBERO close -> OpenVLA closed
        for (double g : {-1.0, 1.0}) {
            std::vector<double> a(7, 0.0);
            a[6] = demo::toOpenVlaGripper(g);
            decode::liberoGripperPostprocess(a);
            QCOMPARE(a[6], g);
        }
    }

    void statisticsAndTokensByHand() {
        // dim 0 takes 0.00, 0.01, ..., 1.00: numpy.quantile gives q01 = 0.01, q99 = 0.99; dims 1..5 constant
        // zero; gripper open for the first 51, closed after.
        std::vector<data::Action> actions;
        for (int i = 0; i <= 100; ++i) {
            data::Action a{};
            a[0] = i / 100.0;
            a[6] = i <= 50 ? -1.0 : 1.0;
            actions.push_back(demo::toOpenVlaAction(a));
        }
        const auto stats = demo::actionStatistics(actions);
        QVERIFY(std::abs(stats["q01"][0].get<double>() - 0.01) < 1e-12);
        QVERIFY(std::abs(stats["q99"][0].get<double>() - 0.99) < 1e-12);
        QVERIFY(std::abs(stats["mean"][0].get<double>() - 0.5) < 1e-12);
        QCOMPARE(stats["max"][0].get<double>(), 1.0);
        QCOMPARE(stats["q01"][6].get<double>(), 0.0);
        QCOMPARE(stats["q99"][6].get<double>(), 1.0);
        QVERIFY(std::abs(stats["mean"][6].get<double>() - 51.0 / 101.0) < 1e-12);
        QCOMPARE(stats["mask"].size(), std::size_t(7));
        QCOMPARE(stats["mask"][5].get<bool>(), true);
        QCOMPARE(stats["mask"][6].get<bool>(), false);

        const auto ns = demo::normStatsFromStatistics(stats, demo::kDemoStatsKey);
        const decode::ActionTokenizer tok(1000);
        // dim 0 = 0.5 normalises to 0 (the middle): digitize(0, linspace(-1, 1, 256)) = 128 -> id 872.
        // dim 0 = 1.0 clips to 1: bin 256 -> id 744; the unmasked open gripper 1.0 also 744, closed 0.0 ->
        // 872.
        data::Action a{};
        a[0] = 0.5;
        a[6] = 1.0;
        auto ids = demo::actionTokenIds(a, ns, tok);
        QCOMPARE(ids[0], 872);
        QCOMPARE(ids[6], 744);
        a[0] = 1.0;
        a[6] = 0.0;
        ids = demo::actionTokenIds(a, ns, tok);
        QCOMPARE(ids[0], 744);
        QCOMPARE(ids[6], 872);
        // A constant-zero dimension sits at q01 and normalises to -1: bin 1 -> id 999.
        QCOMPARE(ids[1], 999);
    }

    void datasetTokensAreActionTokens() {
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        for (const auto& s : m_data.samples)
            for (int id : s.tokens)
                QVERIFY(tok.isActionToken(id));
        QCOMPARE(m_data.stats.key, std::string(demo::kDemoStatsKey));
        QCOMPARE(m_data.stats.dims(), std::size_t(7));
    }

    // --keyframes: besides the frame stride, every m-th episode keeps the frames on either side of each
    // change of the gripper label, each once, with its own tokens and state.
    void keyframesKeepGripperChanges() {
        const auto spec = demo::DemoModelSpec::tiny();
        std::vector<std::vector<demo::StateFeatures>> states;
        const auto episodes = demo::expertEpisodes(4, 7, spec.imageSize, {}, &states);
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        const int stride = 5, every = 2;
        const demo::DemoDataset plain = demo::buildDataset(episodes, tok, states, stride);
        const demo::DemoDataset keyed = demo::buildDataset(episodes, tok, states, stride, every);
        QCOMPARE(plain.keyframeSamples, 0);
        // By hand: the frames of each change in episodes 0 and 2, less those the stride keeps anyway.
        std::set<std::pair<int, int>> expected;
        int changes = 0, extra = 0;
        for (std::size_t e = 0; e < episodes.size(); ++e) {
            const auto& a = episodes[e].actions;
            for (int t = 0; t < episodes[e].numSteps; ++t)
                if ((t + static_cast<int>(e) % stride) % stride == 0)
                    expected.insert({static_cast<int>(e), t});
            if (e % every != 0) continue;
            for (std::size_t t = 0; t + 1 < a.size(); ++t)
                if ((a[t][6] > 0) != (a[t + 1][6] > 0)) {
                    ++changes;
                    for (std::size_t u : {t, t + 1})
                        extra += expected.insert({static_cast<int>(e), static_cast<int>(u)}).second ? 1 : 0;
                }
        }
        QVERIFY2(changes >= 2, "the expert grasps and lets go in the kept episodes");
        QCOMPARE(keyed.keyframeSamples, extra);
        QCOMPARE(keyed.samples.size(), expected.size());
        QCOMPARE(keyed.samples.size(), plain.samples.size() + static_cast<std::size_t>(extra));
        QCOMPARE(keyed.states.size(), keyed.samples.size());
        QCOMPARE(keyed.inputs.size(), keyed.samples.size());
        std::set<std::pair<int, int>> seen;
        for (std::size_t i = 0; i < keyed.samples.size(); ++i) {
            const demo::DemoSample& x = keyed.samples[i];
            QVERIFY(seen.insert({x.episode, x.step}).second); // no frame twice
            const auto& ep = episodes[static_cast<std::size_t>(x.episode)];
            const auto& action = ep.actions[static_cast<std::size_t>(x.step)];
            QCOMPARE(x.tokens, demo::actionTokenIds(demo::toOpenVlaAction(action), keyed.stats, tok));
            QCOMPARE(keyed.states[i],
                     states[static_cast<std::size_t>(x.episode)][static_cast<std::size_t>(x.step)]);
        }
        QCOMPARE(seen, expected);
        // The statistics still cover every step, so the tokens mean the same.
        QCOMPARE(keyed.actionStats, plain.actionStats);
        QVERIFY(testing::errorOf([&] {
                    demo::buildDataset(episodes, tok, states, 1, -1);
                }).find("key frame") != std::string::npos);
    }

    void daggerAddsExpertLabelledPolicyFrames() {
        // Two rounds of three rollouts (at most 5 steps, every second frame kept) during 20 steps over
        // frozen patch embeddings: the rounds run before steps 6 and 13, append their frames after the
        // demonstrations, and training goes on over all of them.
        demo::DemoDataset data = m_data;
        const std::size_t before = data.samples.size(), episodes = data.episodes.size();
        demo::TargetTrainOptions o = quickTraining(20);
        o.freezeVision = true;
        o.daggerRounds = 2;
        o.daggerLayouts = 3;
        o.daggerMaxSteps = 5;
        o.daggerStride = 2;
        o.daggerSeed = 4000;
        o.daggerExpert.noise = 0; // labels a function of the state alone
        int reported = 0;
        o.daggerProgress = [&](const demo::DaggerRound&) { ++reported; };
        const auto t = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(reported, 2);
        QCOMPARE(t.dagger.size(), std::size_t(2));
        QCOMPARE(t.dagger[0].step, 6);
        QCOMPARE(t.dagger[1].step, 13);
        int added = 0;
        for (const auto& r : t.dagger) {
            QCOMPARE(r.layouts, 3);
            QVERIFY(r.samples >= 3 && r.samples <= 9); // 1 to 3 frames per rollout of 1 to 5 steps
            QVERIFY(r.successes >= 0 && r.successes <= 3);
            added += r.samples;
        }
        QCOMPARE(data.samples.size(), before + static_cast<std::size_t>(added));
        QCOMPARE(data.inputs.size(), data.samples.size());
        QCOMPARE(data.episodes.size(), episodes + 6);
        QCOMPARE(t.losses.size(), std::size_t(20));
        for (double l : t.losses)
            QVERIFY(std::isfinite(l));
        // Each rollout starts on its layout: the first kept frame is the layout's first frame, labelled by
        // the expert, and its episode carries the layout's instruction.
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        std::size_t at = before;
        for (int round = 0; round < 2; ++round)
            for (int k = 0; k < 3; ++k) {
                const auto start = demo::sampleLayout(demo::allTaskKinds()[static_cast<std::size_t>(k)],
                                                      4000 + static_cast<std::uint64_t>(round * 3 + k));
                QVERIFY(at < data.samples.size());
                const demo::DemoSample& s = data.samples[at];
                QCOMPARE(s.step, 0);
                QCOMPARE(data.episodes[static_cast<std::size_t>(s.episode)].instruction,
                         demo::instruction(start));
                QVERIFY(data.inputs[at].pixels ==
                        demo::policyInput(demo::render(start, m_config.featurizer.imageSize)).pixels);
                demo::Expert expert(99, o.daggerExpert);
                QVERIFY(s.tokens ==
                        demo::actionTokenIds(demo::toOpenVlaAction(expert.act(start)), data.stats, tok));
                // The rollout's other kept frames follow at steps 2, 4.
                std::size_t next = at + 1;
                while (next < data.samples.size() && data.samples[next].episode == s.episode) {
                    QCOMPARE(data.samples[next].step, 2 * static_cast<int>(next - at));
                    ++next;
                }
                at = next;
            }
        QCOMPARE(at, data.samples.size());

        // Bad settings are named errors.
        demo::DemoDataset again = m_data;
        o.daggerLayouts = 0;
        QVERIFY_THROWS_EXCEPTION(Error, demo::trainTarget(m_config, m_tokenizer, again, o));
        o.daggerLayouts = 3;
        o.daggerSeed = demo::kHeldOutSeedBase - 2;
        QVERIFY_THROWS_EXCEPTION(Error, demo::trainTarget(m_config, m_tokenizer, again, o));
        QCOMPARE(again.samples.size(), m_data.samples.size());
    }

    void daggerHandoverBeginsWithTheExpertsGrasp() {
        // Every rollout of one round is begun by the expert: the policy's first kept frame comes 0 to
        // kHandoverMaxDelay steps after the step where the expert, driving alone, first holds the named
        // block.
        demo::DemoDataset data = m_data;
        const std::size_t before = data.samples.size();
        demo::TargetTrainOptions o = quickTraining(4);
        o.freezeVision = true;
        o.daggerRounds = 1;
        o.daggerLayouts = 3;
        o.daggerMaxSteps = 40;
        o.daggerStride = 3;
        o.daggerSeed = 4106; // its pick-up layout would be finished before the drawn delay ends
        o.daggerExpert.noise = 0;
        o.daggerHandover = 1;
        const auto t = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(t.dagger.size(), std::size_t(1));
        QCOMPARE(t.dagger[0].handedOver, 3);
        std::size_t at = before;
        for (int k = 0; k < 3; ++k) {
            const std::uint64_t seed = 4106 + static_cast<std::uint64_t>(k);
            const auto start = demo::sampleLayout(demo::allTaskKinds()[static_cast<std::size_t>(k)], seed);
            demo::Expert alone(seed ^ 0xA0761D6478BD642Full, o.daggerExpert);
            int grasp = -1; // the step of the expert's first grasp
            const auto expertRun = demo::runEpisode(
                start,
                [&](const vision::RgbImage&, const demo::WorldState& s) {
                    if (grasp < 0 && s.held == s.target) grasp = s.step;
                    return alone.act(s);
                },
                m_config.featurizer.imageSize, o.daggerMaxSteps);
            QVERIFY2(grasp > 0, "the expert grasps within the rollout");
            // The policy takes over at the drawn delay after the grasp, or earlier at the expert's first
            // "open" or at the step whose action would finish the task (the pick-up's lift).
            const int delay = demo::daggerHandoverDelay(seed);
            QVERIFY(delay >= 0 && delay <= demo::TargetTrainOptions::kHandoverMaxDelay);
            int handover = grasp + delay;
            for (int i = grasp; i < grasp + delay && i < expertRun.episode.numSteps; ++i)
                if (expertRun.episode.actions[static_cast<std::size_t>(i)][6] <= 0 ||
                    (expertRun.success && i == expertRun.episode.numSteps - 1)) {
                    handover = i;
                    break;
                }
            // The pick-up's lift would finish it 3 steps after the grasp, before the drawn delay ends.
            if (k == 2) QVERIFY(handover == grasp + 3 && delay > 3);
            QVERIFY(at < data.samples.size());
            const demo::DemoSample& first = data.samples[at];
            QVERIFY2(first.step == handover,
                     qPrintable(QStringLiteral("layout %1: grasp at %2, delay %3, first kept frame at %4")
                                    .arg(k)
                                    .arg(grasp)
                                    .arg(delay)
                                    .arg(first.step)));
            std::size_t next = at + 1;
            while (next < data.samples.size() && data.samples[next].episode == first.episode) {
                QCOMPARE(data.samples[next].step, first.step + 3 * static_cast<int>(next - at));
                ++next;
            }
            at = next;
        }
        QCOMPARE(at, data.samples.size());
        QCOMPARE(t.dagger[0].samples, static_cast<int>(data.samples.size() - before));

        // Half the layouts, spread evenly: the second of three. A share outside [0, 1] is a named error.
        demo::DemoDataset half = m_data;
        o.daggerHandover = 0.5;
        QCOMPARE(demo::trainTarget(m_config, m_tokenizer, half, o).dagger[0].handedOver, 1);
        o.daggerHandover = 1.5;
        QVERIFY(testing::errorOf([&] {
                    demo::trainTarget(m_config, m_tokenizer, half, o);
                }).find("handover") != std::string::npos);
    }

    void trainingIsDeterministic() {
        demo::TargetTrainOptions o;
        o.steps = 3;
        o.batchSize = 4;
        o.seed = 5;
        const auto a = demo::trainTarget(m_config, m_tokenizer, m_data, o);
        const auto b = demo::trainTarget(m_config, m_tokenizer, m_data, o);
        QCOMPARE(a.losses.size(), std::size_t(3));
        QCOMPARE(a.losses, b.losses);
        o.seed = 6;
        const auto c = demo::trainTarget(m_config, m_tokenizer, m_data, o);
        QVERIFY(c.losses != a.losses);
    }

    // 30 steps of 4 samples at a high learning rate: long enough to see a loss fall.
    static demo::TargetTrainOptions shortRun() {
        demo::TargetTrainOptions o;
        o.steps = 30;
        o.batchSize = 4;
        o.seed = 5;
        o.lr = 3e-3;
        return o;
    }

    void softBinLabels() {
        // Soft labels for the motion tokens change the loss from the first step (the same initialisation
        // and batches see other targets), still lower it, and stay deterministic.
        demo::TargetTrainOptions soft = shortRun();
        soft.binSigma = 3;
        checkVariantTrains(shortRun(), soft);
    }

    void bf16ComputeScope() {
        // Inside the scope a product of F32 tensors comes out BF16; nested scopes keep it on until the
        // outermost ends; afterwards F32 again, with autocast off as before.
        const at::Tensor x = at::randn({3, 8}), w = at::randn({5, 8});
        QVERIFY(!at::autocast::is_cpu_enabled());
        {
            demo::detail::Bf16Compute outer(true);
            QCOMPARE(at::linear(x, w).scalar_type(), at::kBFloat16);
            {
                demo::detail::Bf16Compute inner(true);
                demo::detail::Bf16Compute off(false); // off leaves the state alone
                QCOMPARE(at::linear(x, w).scalar_type(), at::kBFloat16);
            }
            QCOMPARE(at::linear(x, w).scalar_type(), at::kBFloat16);
        }
        QVERIFY(!at::autocast::is_cpu_enabled());
        QCOMPARE(at::linear(x, w).scalar_type(), at::kFloat);
        {
            demo::detail::Bf16Compute off(false);
            QCOMPARE(at::linear(x, w).scalar_type(), at::kFloat);
        }
    }

    void logitAdjustment() {
        // The label prior added to the motion logits changes the loss from the first step, still lowers it,
        // stays deterministic, and a negative weight is refused.
        demo::TargetTrainOptions o = shortRun();
        o.binSigma = 3;
        demo::TargetTrainOptions adjusted = o;
        adjusted.logitAdjust = 1;
        checkVariantTrains(o, adjusted);
        o.logitAdjust = -1;
        QVERIFY_THROWS_EXCEPTION(Error, demo::trainTarget(m_config, m_tokenizer, m_data, o));
    }

    void inputTokenNoise() {
        // Swapping fed-back action tokens for other samples' changes the loss from the first step (the labels
        // and batches are the same), still lowers it and stays deterministic; a probability outside [0, 1] is
        // refused.
        demo::TargetTrainOptions noisy = shortRun();
        noisy.tokenNoise = 0.5;
        checkVariantTrains(shortRun(), noisy);
        noisy.tokenNoise = 1.5;
        QVERIFY_THROWS_EXCEPTION(Error, demo::trainTarget(m_config, m_tokenizer, m_data, noisy));
    }

    void releaseFramesWeighMore() {
        // Release frames (holding the named block, gripper label open) are counted from the states; weighting
        // their gripper token changes training only where there are such frames, stays deterministic, and a
        // weight that is not positive, or one without states, is refused.
        const auto spec = demo::DemoModelSpec::tiny();
        std::vector<std::vector<demo::StateFeatures>> states;
        auto episodes = demo::expertEpisodes(3, 7, spec.imageSize, {}, &states);
        const decode::ActionTokenizer tok(m_config.actionVocabBase());
        demo::DemoDataset data = demo::buildDataset(std::move(episodes), tok, states);
        int holding = 0, release = 0;
        for (std::size_t i = 0; i < data.samples.size(); ++i) {
            const bool held = data.states[i][4] > 0;
            const bool open = tok.decode(data.samples[i].tokens[6]) > 0.5; // OpenVLA: 1 open
            holding += held ? 1 : 0;
            release += held && open ? 1 : 0;
        }
        QVERIFY2(release > 0 && holding > release, qPrintable(QString("%1 of %2").arg(release).arg(holding)));

        demo::TargetTrainOptions o = quickTraining(30);
        const auto plain = demo::trainTarget(m_config, m_tokenizer, data, o);
        QCOMPARE(plain.holdingSamples, holding);
        QCOMPARE(plain.releaseSamples, release);
        demo::TargetTrainOptions weighted = o;
        weighted.releaseWeight = 8;
        const auto a = demo::trainTarget(m_config, m_tokenizer, data, weighted);
        const auto b = demo::trainTarget(m_config, m_tokenizer, data, weighted);
        QCOMPARE(a.losses, b.losses);
        QCOMPARE(a.releaseSamples, release);
        QVERIFY(a.losses != plain.losses);
        QVERIFY(mean(a.losses, 25, 5) < 0.9 * mean(a.losses, 0, 5));

        // Nothing held, nothing released: the weight changes nothing.
        demo::DemoDataset empty = data;
        for (demo::StateFeatures& f : empty.states)
            f[4] = -1;
        const auto none = demo::trainTarget(m_config, m_tokenizer, empty, weighted);
        QCOMPARE(none.releaseSamples, 0);
        QCOMPARE(none.losses.size(), plain.losses.size());
        for (std::size_t i = 0; i < none.losses.size(); ++i)
            QVERIFY(std::abs(none.losses[i] - plain.losses[i]) < 1e-4 * plain.losses[i]);

        for (double w : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), 8.0}) {
            weighted.releaseWeight = w;
            // A weight of 8 is refused only without states (m_data has none).
            const std::string e =
                testing::trainingError(m_config, m_tokenizer, w == 8.0 ? m_data : data, weighted);
            QVERIFY2(e.find("release weight") != std::string::npos, e.c_str());
        }
    }

    void shortRunLowersLossesAndSavesLoadableCheckpoints() {
        demo::TargetTrainOptions o;
        o.steps = 100;
        o.batchSize = 8;
        o.warmupSteps = 5;
        o.lr = 2e-3;
        int calls = 0;
        const auto target =
            demo::trainTarget(m_config, m_tokenizer, m_data, o, [&](int, double) { ++calls; });
        QCOMPARE(calls, 100);
        const double first = mean(target.losses, 0, 10), last = mean(target.losses, 90, 10);
        qInfo("target loss %.3f -> %.3f in %.1f s", first, last, target.seconds);
        QVERIFY2(last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));

        demo::DraftTrainOptions d;
        d.steps = 30;
        d.batchSize = 8;
        d.warmupSteps = 5;
        const auto draft = demo::trainDraft(target, m_data, demo::demoDraftConfig(target.config), d);
        const double dFirst = mean(draft.losses, 0, 5), dLast = mean(draft.losses, 25, 5);
        qInfo("draft loss %.3f -> %.3f in %.1f s; greedy = expert %.2f", dFirst, dLast, draft.seconds,
              draft.greedyMatch);
        QVERIFY2(dLast < dFirst, qPrintable(QString("%1 -> %2").arg(dFirst).arg(dLast)));

        const std::string modelDir = m_dir.filePath("model").toStdString();
        const std::string draftDir = m_dir.filePath("draft").toStdString();
        demo::SaveOptions so;
        so.maxShardBytes = 200000; // sharded, with the index
        demo::saveDemoModel(modelDir, target, so);
        demo::saveDraft(draftDir, draft);
        QVERIFY(std::filesystem::exists(modelDir + "/model.safetensors.index.json"));
        QVERIFY(std::filesystem::exists(modelDir + "/tokenizer.model"));
        QVERIFY(std::filesystem::exists(modelDir + "/dataset_statistics.json"));
        QVERIFY(std::filesystem::exists(draftDir + "/model.safetensors"));

        // The saved target reads back as trained weights (for distilling another draft from it): every
        // tensor equal, the tokenizer and the action statistics with it; a missing folder or shard is named.
        const demo::TrainedTarget back = demo::loadTrainedTarget(modelDir);
        QCOMPARE(back.weights->tensors.size(), target.weights->tensors.size());
        for (const auto& [name, t] : target.weights->tensors)
            QVERIFY2(at::equal(back.weights->tensors.at(name), t.to(at::kFloat)), name.c_str());
        QCOMPARE(back.actionStats, target.actionStats);
        QVERIFY(std::filesystem::exists(back.tokenizerPath));
        QVERIFY(testing::errorOf([&] { demo::loadTrainedTarget(modelDir + "-none"); }).find("-none") !=
                std::string::npos);
        {
            const std::string broken = m_dir.filePath("broken-model").toStdString();
            std::filesystem::copy(modelDir, broken);
            for (const auto& f : std::filesystem::directory_iterator(broken))
                if (f.path().filename().string().rfind("model-00001", 0) == 0)
                    std::filesystem::remove(f.path());
            const std::string e = testing::errorOf([&] { demo::loadTrainedTarget(broken); });
            QVERIFY2(e.find("model-00001") != std::string::npos, e.c_str());
        }

        model::LoadOptions lo;
        lo.dtype = at::kFloat;
        model::LoadReport report;
        const auto m = model::VlaModel::load(modelDir, lo, &report);
        const auto h = model::DraftHead::load(draftDir, *m);
        QCOMPARE(m->normStats().key, std::string(demo::kDemoStatsKey));
        QCOMPARE(m->normStats().q99, m_data.stats.q99);
        QVERIFY(!report.unusedKeys.empty());  // the unused ViT tail and attn_pool are stored too
        QVERIFY(h->unusedKeys().size() == 1); // embed_tokens.weight, as the reference ships it

        const auto& e = m_data.episodes[0];
        vision::RgbImage frame = vision::RgbImage::blank(e.imageWidth, e.imageHeight);
        std::copy(e.image(0), e.image(0) + e.imageBytes(), frame.pixels.begin());
        decode::FrameContext ctx = decode::prepareFrame(*m, h.get(), frame, e.instruction);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        const auto a = decode::decodeFrame(*m, h.get(), ctx, ar);
        QCOMPARE(a.tokens.size(), std::size_t(7));
        QCOMPARE(a.action.size(), std::size_t(7));
        decode::DecodeSettings strict;
        strict.mode = decode::DecodeMode::Relaxed;
        strict.margin = 0;
        QCOMPARE(decode::decodeFrame(*m, h.get(), ctx, strict).tokens, a.tokens);
        decode::DecodeSettings relaxed; // default margin
        const auto r = decode::decodeFrame(*m, h.get(), ctx, relaxed);
        QCOMPARE(r.tokens.size(), std::size_t(7));
        QVERIFY(r.targetPasses <= 8);

        // Training and serving see the same thing: for samples of every episode, the teacher-forced forward
        // the trainer learns from (its batch rows, pixels and positions) over the tokens greedy decoding
        // chose gives those tokens back as its argmax at every action position.
        for (std::size_t e = 0; e < m_data.episodes.size(); ++e) {
            int sample = -1;
            for (std::size_t i = 0; i < m_data.samples.size() && sample < 0; ++i)
                if (m_data.samples[i].episode == static_cast<int>(e) && m_data.samples[i].step > 0)
                    sample = static_cast<int>(i);
            QVERIFY(sample >= 0);
            const auto& ep = m_data.episodes[e];
            decode::FrameContext c = decode::prepareFrame(
                *m, nullptr, m_data.inputs[static_cast<std::size_t>(sample)], ep.instruction);
            const auto greedy = decode::decodeFrame(*m, nullptr, c, ar).tokens;
            demo::detail::Batch b = demo::detail::makeBatch(
                *m, m_data, {sample}, {std::vector<int>(greedy.begin(), greedy.end() - 1)});
            b.pixels = demo::detail::pixelsOfSamples(*m, m_data, {sample});
            at::Tensor logits;
            {
                c10::InferenceMode guard;
                logits = m->llm()
                             .forward(demo::detail::embedBatch(*m, b), at::arange(b.length, at::kLong),
                                      nullptr, {}, true)
                             .logits;
            }
            for (int j = 0; j < 7; ++j)
                QCOMPARE(logits[0][b.promptLength[0] - 1 + j].argmax().item<int>(),
                         greedy[static_cast<std::size_t>(j)]);
        }

        // Closed-loop evaluation on held-out layouts: AR, strict and relaxed r=0 take the same actions (the
        // lossless invariant), so they take the same steps with the same outcome; AR's tau is 1 with 7
        // passes.
        demo::EvalOptions eo;
        eo.episodes = 2;
        eo.maxSteps = 5;
        eo.margins = {0, 8};
        int reports = 0;
        const auto ev = demo::evaluateClosedLoop(
            *m, h.get(), eo, [&](const demo::ModeResult&, const demo::EpisodeOutcome&) { ++reports; });
        QCOMPARE(ev.modes.size(), std::size_t(4));
        QCOMPARE(reports, 8);
        QCOMPARE(ev.modes[0].label, std::string("ar"));
        QCOMPARE(ev.modes[1].label, std::string("strict"));
        QCOMPARE(ev.modes[3].label, std::string("relaxed r=8"));
        for (const auto& mode : ev.modes) {
            QCOMPARE(mode.episodes, 2);
            int steps = 0;
            for (const auto& o : mode.outcomes)
                steps += o.steps;
            QCOMPARE(mode.metrics.actions, steps);
        }
        for (std::size_t i : {1u, 2u})
            for (std::size_t k = 0; k < 2; ++k) {
                QCOMPARE(ev.modes[i].outcomes[k].steps, ev.modes[0].outcomes[k].steps);
                QCOMPARE(ev.modes[i].outcomes[k].success, ev.modes[0].outcomes[k].success);
                QCOMPARE(ev.modes[i].outcomes[k].closestCm, ev.modes[0].outcomes[k].closestCm);
                QCOMPARE(ev.modes[i].outcomes[k].goalCm, ev.modes[0].outcomes[k].goalCm);
            }
        // How close each run came: no further than where the gripper started, a goal distance for put in and
        // push to front, medians over the two layouts (the upper of the two).
        for (const auto& mode : ev.modes) {
            std::vector<double> closest;
            for (std::size_t k = 0; k < 2; ++k) {
                const auto& o = mode.outcomes[k];
                const demo::WorldState w = demo::heldOutLayout(static_cast<int>(k));
                const auto& b = w.blocks[static_cast<std::size_t>(w.target)];
                QVERIFY(o.closestCm >= 0);
                QVERIFY(o.closestCm <= 100 * std::hypot(w.gripper.x - b.x, w.gripper.y - b.y) + 1e-9);
                QVERIFY(std::isfinite(o.goalCm) && o.goalCm >= 0);
                closest.push_back(o.closestCm);
            }
            QCOMPARE(mode.medianClosestCm, std::max(closest[0], closest[1]));
            QVERIFY(mode.grasped >= 0 && mode.grasped <= mode.episodes);
        }
        QCOMPARE(ev.modes[0].outcomes[1].task, demo::heldOutLayout(1).task);
        QCOMPARE(ev.modes[0].metrics.acceptanceLength, 1.0);
        QCOMPARE(ev.modes[0].metrics.passesPerAction, 7.0);
        QVERIFY(ev.modes[1].metrics.acceptanceLength >= 1.0);
        QCOMPARE(ev.modes[1].metrics.relaxedPerAction, 0.0);

        QVERIFY_THROWS_EXCEPTION(Error, demo::evaluateClosedLoop(*m, nullptr, eo));
    }

    void relaxedFallBelowAr() {
        // A fall of exactly 5 points (one layout of 20) stays within the bound; the first mode past it is
        // named, in the result's order; without AR there is nothing to fall below.
        auto mode = [](decode::DecodeMode m, int margin, int successes) {
            demo::ModeResult r;
            r.mode = m;
            r.margin = margin;
            r.episodes = 20;
            r.successes = successes;
            r.successRate = static_cast<double>(successes) / 20;
            return r;
        };
        demo::EvalResult r;
        r.modes = {mode(decode::DecodeMode::Ar, 0, 11), mode(decode::DecodeMode::Strict, 0, 5),
                   mode(decode::DecodeMode::Relaxed, 2, 10), mode(decode::DecodeMode::Relaxed, 4, 12)};
        QVERIFY(demo::firstRelaxedFall(r) == nullptr); // strict's fall is not relaxation's
        QCOMPARE(demo::arModeOf(r), &r.modes[0]);
        r.modes.push_back(mode(decode::DecodeMode::Relaxed, 6, 9));
        r.modes.push_back(mode(decode::DecodeMode::Relaxed, 8, 8));
        QVERIFY(demo::firstRelaxedFall(r) != nullptr);
        QCOMPARE(demo::firstRelaxedFall(r)->margin, 6);
        QCOMPARE(demo::firstRelaxedFall(r, 10)->margin, 8);
        r.modes.erase(r.modes.begin());
        QVERIFY(demo::firstRelaxedFall(r) == nullptr);
        QVERIFY(demo::arModeOf(r) == nullptr);
    }

    void successIntervalsAndPairs() {
        // Wilson 95% intervals: inside [0, 1], not empty at the ends, around the rate in between.
        auto near = [](double a, double b) { return std::abs(a - b) < 1e-6; };
        const demo::RateInterval none = demo::successInterval(0, 20);
        QCOMPARE(none.low, 0.0);
        QVERIFY2(near(none.high, 0.1611301), std::to_string(none.high).c_str());
        const demo::RateInterval half = demo::successInterval(10, 20);
        QVERIFY(near(half.low, 0.2992949) && near(half.high, 0.7007051));
        const demo::RateInterval some = demo::successInterval(29, 60);
        QVERIFY(near(some.low, 0.3617484) && near(some.high, 0.6069241));
        const demo::RateInterval all = demo::successInterval(20, 20);
        QVERIFY(near(all.low, 0.8388699));
        QCOMPARE(all.high, 1.0);
        QCOMPARE(demo::successInterval(0, 0).high, 1.0);
        for (auto [k, n] : {std::pair{-1, 20}, std::pair{21, 20}, std::pair{0, -1}}) {
            const std::string e = testing::errorOf([&] { demo::successInterval(k, n); });
            QVERIFY2(e.find("success interval") != std::string::npos, e.c_str());
        }

        // Layout by layout: the counts of agreement and the exact McNemar p-value of the disagreements.
        auto mode = [](const char* label, const std::vector<bool>& wins, int firstLayout = 0) {
            demo::ModeResult r;
            r.label = label;
            for (std::size_t i = 0; i < wins.size(); ++i) {
                demo::EpisodeOutcome o;
                o.layout = firstLayout + static_cast<int>(i);
                o.success = wins[i];
                r.outcomes.push_back(o);
            }
            return r;
        };
        const auto ar = mode("ar", {true, true, true, true, true, true, false, false, true});
        const auto relaxed =
            mode("relaxed r=9", {true, false, false, false, false, false, false, true, true});
        const demo::PairedOutcomes c = demo::compareOutcomes(ar, relaxed);
        QCOMPARE(c.both, 2);
        QCOMPARE(c.onlyFirst, 5);
        QCOMPARE(c.onlySecond, 1);
        QCOMPARE(c.neither, 1);
        QVERIFY2(near(c.pValue, 0.21875), std::to_string(c.pValue).c_str()); // 2 (1 + 6) / 64
        const demo::PairedOutcomes back = demo::compareOutcomes(relaxed, ar);
        QCOMPARE(back.onlyFirst, 1);
        QCOMPARE(back.onlySecond, 5);
        QVERIFY(near(back.pValue, c.pValue));
        QCOMPARE(demo::compareOutcomes(ar, ar).pValue, 1.0);
        QVERIFY(near(demo::compareOutcomes(mode("a", std::vector<bool>(5, true)),
                                           mode("b", std::vector<bool>(5, false)))
                         .pValue,
                     0.0625));
        // Hundreds of layouts do not overflow: 400 against 360 discordant gives p = 0.157.
        std::vector<bool> many(760, false), other(760, true);
        for (std::size_t i = 0; i < 400; ++i) {
            many[i] = true;
            other[i] = false;
        }
        QVERIFY(std::abs(demo::compareOutcomes(mode("a", many), mode("b", other)).pValue - 0.1571172) < 1e-5);
        const std::string shorter = testing::errorOf([&] { demo::compareOutcomes(ar, mode("s", {true})); });
        QVERIFY2(shorter.find("9 against 1 layouts") != std::string::npos, shorter.c_str());
        const std::string shifted = testing::errorOf(
            [&] { demo::compareOutcomes(ar, mode("later", std::vector<bool>(9, true), 20)); });
        QVERIFY2(shifted.find("layout 0 against layout 20") != std::string::npos, shifted.c_str());
    }

    void marginRanges() {
        QCOMPARE(demo::parseMarginRange("0:4"), (std::vector<int>{0, 1, 2, 3, 4}));
        QCOMPARE(demo::parseMarginRange("0:16:8"), (std::vector<int>{0, 8, 16}));
        QCOMPARE(demo::parseMarginRange("9"), (std::vector<int>{9}));
        for (const char* bad : {"", "a:3", "4:2", "0:4:0", "-1:3", "1:2:3:4", "3:"}) {
            const std::string e = testing::errorOf([&] { demo::parseMarginRange(bad); });
            QVERIFY2(e.find("margin range") != std::string::npos, bad);
        }
    }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "test_trainer.moc"
