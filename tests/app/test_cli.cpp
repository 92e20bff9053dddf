// SPDX-License-Identifier: MIT
// Runs the real `specvla` executable on checkpoints written by the tests and on every kind of corrupt file.
#include "data/libero_reader.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/world.h"
#include "support/test_support.h"
#include "support/tiny_model.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using specvla::testing::binDir;

namespace {
struct Run {
    int code = -1;
    QString out, err;
};

Run runCli(const QStringList& args) {
    QProcess p;
    p.start(QString::fromStdString(binDir() + "/specvla"), args);
    if (!p.waitForFinished(120000)) return {};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}
} // namespace

class TestCli : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString& n) const { return m_dir.filePath(n); }

private Q_SLOTS:
    void helpAndVersion() {
        const Run h = runCli({"--help"});
        QCOMPARE(h.code, 0);
        QVERIFY(h.out.contains("inspect"));
        const Run v = runCli({"--version"});
        QCOMPARE(v.code, 0);
        QVERIFY2(v.out.startsWith("specvla 0.1.0"), qPrintable(v.out));
        QVERIFY(v.out.contains("libtorch"));
        const Run ih = runCli({"inspect", "--help"});
        QCOMPARE(ih.code, 0);
        QVERIFY(ih.out.contains("DIR_OR_FILE"));
        QCOMPARE(runCli({"frobnicate"}).code, 2);
        QCOMPARE(runCli({}).code, 2);
        const Run noPath = runCli({"inspect"});
        QCOMPARE(noPath.code, 2);
        QVERIFY(noPath.err.contains("exactly one DIR_OR_FILE"));
        QCOMPARE(runCli({"inspect", "x", "--bogus"}).code, 2);
    }

    void inspectSingleFile() {
        const QString file = path("tiny.safetensors");
        const auto names = specvla::testing::writeTinyCheckpoint(file.toStdString());
        const Run r = runCli({"inspect", file});
        QCOMPARE(r.code, 0);
        for (const auto& n : names)
            QVERIFY2(r.out.contains(QString::fromStdString(n)), qPrintable(r.out));
        QVERIFY(r.out.contains("totals: 4 tensors"));
        QVERIFY(r.out.contains("BF16"));
        QVERIFY(r.out.trimmed().endsWith("valid"));
    }

    void inspectShardedAsJson() {
        const QString dir = path("sharded");
        specvla::testing::writeTinyShardedCheckpoint(dir.toStdString());
        const QString out = path("report.json");
        const Run r = runCli({"inspect", dir, "--json", "--out", out});
        QCOMPARE(r.code, 0);
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QVERIFY(j["valid"].get<bool>());
        QCOMPARE(j["format"].get<std::string>(), std::string("sharded"));
        QCOMPARE(j["shards"].size(), std::size_t(4));
        QCOMPARE(j["totals"]["tensors"].get<int>(), 4);
        for (const auto& t : j["tensors"]) {
            QVERIFY(t.contains("dtype") && t.contains("shape") && t.contains("bytes"));
            QVERIFY(t["shard"].get<std::string>().rfind("model-0000", 0) == 0);
        }
        QCOMPARE(nlohmann::json::parse(specvla::testing::readBytes(out.toStdString())), j);
    }

    void inspectRejectsEveryCorruptKind() {
        for (const auto& c : specvla::testing::corruptSafetensorsCases()) {
            const QString file = path(QString::fromStdString("bad_" + c.name + ".safetensors"));
            specvla::testing::writeBytes(file.toStdString(), c.bytes);
            const Run r = runCli({"inspect", file});
            QVERIFY2(r.code == 1,
                     qPrintable(QString::fromStdString(c.name) + ": exit " + QString::number(r.code)));
            QVERIFY2(r.err.contains(file) && r.err.contains(QString::fromStdString(c.expected)),
                     qPrintable(QString::fromStdString(c.name) + ": " + r.err));
            const Run j = runCli({"inspect", "--json", file});
            QCOMPARE(j.code, 1);
            const auto report = nlohmann::json::parse(j.out.toStdString());
            QVERIFY(!report["valid"].get<bool>());
            QVERIFY(report["error"].get<std::string>().find(c.expected) != std::string::npos);
        }
    }

    void inspectRejectsBrokenIndexes() {
        const QString dir = path("missing");
        specvla::testing::writeTinyShardedCheckpoint(dir.toStdString());
        fs::remove(dir.toStdString() + "/model-00003-of-00004.safetensors");
        Run r = runCli({"inspect", dir});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("shard 'model-00003-of-00004.safetensors'") &&
                     r.err.contains("does not exist"),
                 qPrintable(r.err));

        const QString dir2 = path("ghost");
        specvla::testing::writeTinyShardedCheckpoint(dir2.toStdString());
        const std::string idx = dir2.toStdString() + "/model.safetensors.index.json";
        auto index = nlohmann::json::parse(specvla::testing::readBytes(idx));
        index["weight_map"]["language_model.model.embed_tokens.weight"] = "model-00002-of-00004.safetensors";
        specvla::testing::writeBytes(idx, index.dump());
        r = runCli({"inspect", dir2});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("tensor 'language_model.model.embed_tokens.weight' is mapped to shard"),
                 qPrintable(r.err));
        QCOMPARE(runCli({"inspect", path("does-not-exist")}).code, 1);
    }

    void runArOnImageAndEpisode() {
        const QString modelDir = path("tiny-model");
        specvla::testing::writeTinyModel(modelDir.toStdString());
        // a 40x40 PNG through the plain HF preprocessing
        const QString png = path("frame.ppm");
        {
            std::string ppm = "P6\n40 40\n255\n";
            for (int i = 0; i < 40 * 40 * 3; ++i)
                ppm.push_back(static_cast<char>((i * 7) % 256));
            specvla::testing::writeBytes(png.toStdString(), ppm);
        }
        const QString json = path("run.json");
        Run r = runCli({"run", "--model", modelDir, "--image", png, "--instruction",
                        "put the red block on the plate", "--mode", "ar", "--dtype", "fp32", "--unnorm-key",
                        "tiny_dataset", "--json", json});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = nlohmann::json::parse(specvla::testing::readBytes(json.toStdString()));
        QCOMPARE(j["steps"].size(), std::size_t(1));
        QCOMPARE(j["steps"][0]["trace"]["tokens"].size(), std::size_t(7));
        QCOMPARE(j["steps"][0]["trace"]["bins"].size(), std::size_t(7));
        QCOMPARE(j["steps"][0]["trace"]["action"].size(), std::size_t(7));
        QCOMPARE(j["unnorm_key"].get<std::string>(), std::string("tiny_dataset"));
        QVERIFY(!j["preprocess"]["flip180"].get<bool>());

        // an episode in the raw LIBERO layout: instruction from problem_info, LIBERO preprocessing by default
        const QString h5 = path("push_the_blue_cube_to_the_left_demo.hdf5");
        specvla::testing::writeSyntheticEpisode(h5.toStdString(), "push the blue cube to the left", 4);
        r = runCli({"run", "--model", modelDir, "--episode", h5, "--steps", "1:3", "--dtype", "fp32",
                    "--unnorm-key", "tiny_dataset", "--json", json});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("instruction: push the blue cube to the left"));
        j = nlohmann::json::parse(specvla::testing::readBytes(json.toStdString()));
        QCOMPARE(j["steps"].size(), std::size_t(2));
        QCOMPARE(j["steps"][0]["step"].get<int>(), 1);
        QCOMPARE(j["steps"][1]["recorded_action"][0].get<double>(), 0.2);
        QCOMPARE(j["steps"][0]["env_action"].size(), std::size_t(7));
        QVERIFY(j["preprocess"]["flip180"].get<bool>() && j["preprocess"]["center_crop"].get<bool>());
        QVERIFY(j["metrics"].contains("deviation_from_recorded"));

        // errors: an ambiguous statistics key lists the keys; bad step range; an image without instruction
        r = runCli({"run", "--model", modelDir, "--episode", h5, "--dtype", "fp32"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("available keys: tiny_dataset, tiny_dataset_no_noops"), qPrintable(r.err));
        QCOMPARE(runCli({"run", "--model", modelDir, "--episode", h5, "--steps", "9:12"}).code, 2);
        QCOMPARE(runCli({"run", "--model", modelDir, "--image", png}).code, 2);
        r = runCli({"run", "--model", modelDir, "--episode", h5, "--device", "cuda", "--unnorm-key",
                    "tiny_dataset"});
#if !SPECVLA_WITH_CUDA
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("no CUDA support"), qPrintable(r.err));
#endif
    }

    void speculativeRunSweepAndBench() {
        const QString modelDir = path("spec-model"), draftDir = path("spec-draft");
        const auto config = specvla::testing::writeTinyModel(modelDir.toStdString());
        specvla::testing::writeTinyDraft(draftDir.toStdString(), config);
        const QString h5 = path("spec_episode_demo.hdf5");
        specvla::testing::writeSyntheticEpisode(h5.toStdString(), "put the red block on the plate", 3);
        const QStringList common = {"--model", modelDir, "--draft",      draftDir,
                                    "--dtype", "fp32",   "--unnorm-key", "tiny_dataset"};

        // run: relaxed with per-dimension margins, JSON and CSV written
        const QString json = path("spec.json"), csv = path("spec");
        Run r = runCli(QStringList{"run"} + common +
                       QStringList{"--episode", h5, "--mode", "relaxed", "--margins", "0,9,9,9,9,9,9",
                                   "--json", json, "--csv", csv});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("rounds"));
        auto j = nlohmann::json::parse(specvla::testing::readBytes(json.toStdString()));
        QCOMPARE(j["steps"].size(), std::size_t(3));
        QCOMPARE(j["settings"]["mode"].get<std::string>(), std::string("relaxed"));
        QCOMPARE(j["settings"]["margin_per_dim"][1].get<int>(), 9);
        QVERIFY(!j["steps"][0]["trace"]["rounds"].empty());
        QVERIFY(j["metrics"]["acceptance_length"].get<double>() >= 1.0);
        const std::string rounds = specvla::testing::readBytes((csv + "-rounds.csv").toStdString());
        QVERIFY(rounds.rfind("step,round,committed_before", 0) == 0);
        QVERIFY(QFileInfo::exists(csv + "-nodes.csv") && QFileInfo::exists(csv + "-actions.csv"));
        QCOMPARE(j["settings"]["children"].get<std::string>(), std::string("bin_coverage"));
        // plain top-k children on request, recorded in the trace; an unknown choice is a usage error
        r = runCli(QStringList{"run"} + common +
                   QStringList{"--episode", h5, "--children", "top_k", "--json", json});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        j = nlohmann::json::parse(specvla::testing::readBytes(json.toStdString()));
        QCOMPARE(j["settings"]["children"].get<std::string>(), std::string("top_k"));
        r = runCli(QStringList{"run"} + common + QStringList{"--episode", h5, "--children", "widest"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--children expects bin_coverage or top_k"), qPrintable(r.err));
        // speculative modes without a draft are a usage error
        QCOMPARE(runCli({"run", "--model", modelDir, "--episode", h5, "--mode", "strict"}).code, 2);

        // sweep: one row per margin, the margin-0 row equal to AR
        const QString sweepJson = path("sweep.json"), sweepCsv = path("sweep.csv");
        r = runCli(QStringList{"sweep"} + common +
                   QStringList{"--episode", h5, "--margins", "0:3", "--json", sweepJson, "--csv", sweepCsv});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto sw = nlohmann::json::parse(specvla::testing::readBytes(sweepJson.toStdString()));
        QCOMPARE(sw["relaxed"].size(), std::size_t(4));
        QCOMPARE(sw["relaxed"][0]["margin"].get<int>(), 0);
        QCOMPARE(sw["relaxed"][0]["deviation_from_ar"]["exact_match_share"].get<double>(), 1.0); // lossless
        const std::string sweepRows = specvla::testing::readBytes(sweepCsv.toStdString());
        QCOMPARE(std::count(sweepRows.begin(), sweepRows.end(), '\n'), 5l);

        // bench: three modes timed in one run, speedups against AR
        const QString benchJson = path("bench.json");
        r = runCli(QStringList{"bench"} + common +
                   QStringList{"--synthetic", "2", "--repeats", "1", "--warmup", "0", "--json", benchJson});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto b = nlohmann::json::parse(specvla::testing::readBytes(benchJson.toStdString()));
        for (const char* mode : {"ar", "strict", "relaxed"}) {
            QVERIFY(b[mode]["latency"]["median_ms"].get<double>() > 0);
            QVERIFY(b[mode]["speedup_vs_ar"].get<double>() > 0);
        }
        QCOMPARE(b["ar"]["acceptance_length"].get<double>(), 1.0);
        QCOMPARE(b["ar"]["passes_per_action"].get<double>(), 7.0);
        QVERIFY(!b.contains("ceiling"));
        // --ceiling: a fourth mode with every draft accepted. With a chain of five drafts after the prefill's
        // token, one verify pass commits all of them and its bonus: 6 tokens per pass, 2 passes per action.
        r = runCli(QStringList{"bench"} + common +
                   QStringList{"--synthetic", "2", "--repeats", "1", "--warmup", "0", "--top-k", "1",
                               "--depth", "5", "--total-tokens", "6", "--ceiling", "--json", benchJson});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("\nceiling "), qPrintable(r.out));
        const auto c = nlohmann::json::parse(specvla::testing::readBytes(benchJson.toStdString()));
        QCOMPARE(c["ceiling"]["acceptance_length"].get<double>(), 6.0);
        QCOMPARE(c["ceiling"]["passes_per_action"].get<double>(), 2.0);
        QVERIFY(c["ceiling"]["speedup_vs_ar"].get<double>() > 0);
        QVERIFY(c["strict"]["acceptance_length"].get<double>() <= 6.0);
    }

    void gpuTestChecksRunOnTheCpu() {
        const Run r = runCli({"gpu-test", "--device", "cpu", "--frames", "1"});
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        QCOMPARE(r.out.count("PASS"), 8);
    }

    void geometryCheckpointIsReadWithoutItsData() {
        const QString dir = path("geometry");
        Run r = runCli({"make-geometry", "--out", dir});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        r = runCli({"inspect", dir, "--json"});
        QCOMPARE(r.code, 0);
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["shards"].size(), std::size_t(3));
        QCOMPARE(j["totals"]["bytes"].get<std::uint64_t>(), 15082474368ull); // the OpenVLA-7B tensors in bf16
        r = runCli({"bench-load", "--model", dir, "--json", path("load.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto load = nlohmann::json::parse(specvla::testing::readBytes(path("load.json").toStdString()));
        QCOMPARE(load["copied_mib"].get<double>(), 0.0); // bf16 on CPU: every weight is a view of the mapping
    }

    void verifyDataFlag() {
        const QString file = path("verify.safetensors");
        specvla::testing::writeTinyCheckpoint(file.toStdString());
        const Run r = runCli({"inspect", "--verify-data", file});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("NON-FINITE"));
    }

    void demoProbe() {
        // Bad probe options are usage errors naming the option; a tiny probe prints its table and writes
        // its JSON report with every noise level.
        for (const QStringList& bad :
             {QStringList{"--noise-cm", "1,-2"}, QStringList{"--steps", "0"},
              QStringList{"--expert", "zigzag"}, QStringList{"--perturb", "2"}, QStringList{"--batch", "0"},
              QStringList{"--lr", "-1"}, QStringList{"--bin-sigma", "-2"}}) {
            const Run r = runCli(QStringList{"demo", "probe"} + bad);
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(bad.front()), qPrintable(r.err));
        }
        const QString json = path("probe.json");
        QStringList args{"demo", "probe", "--episodes", "10", "--steps", "20", "--hidden", "32"};
        args += QStringList{"--eval", "5", "--noise-cm", "0,3.5", "--expert", "funnel", "--dagger", "1"};
        args += QStringList{"--dagger-episodes", "2", "--batch", "8", "--lr", "0.003", "--failures"};
        args += QStringList{"--json", json};
        const Run r = runCli(args);
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains("probe step"), qPrintable(r.out));
        QVERIFY2(r.out.contains("pick_up"), qPrintable(r.out));
        std::ifstream in(json.toStdString());
        const nlohmann::json report = nlohmann::json::parse(in);
        QCOMPARE(report["levels"].size(), std::size_t(2));
        QCOMPARE(report["levels"][1]["noise_cm"].get<double>(), 3.5);
        QCOMPARE(report["levels"][0]["episodes"].get<int>(), 5);
        QCOMPARE(report["expert"]["style"].get<std::string>(), std::string("funnel"));
        QCOMPARE(report["dagger"]["rounds"].get<int>(), 1);
        QCOMPARE(report["dagger"]["episodes"].get<int>(), 2);
        // --failures prints one line per failed episode, at every level.
        int failed = 0;
        for (const auto& level : report["levels"])
            failed += level["episodes"].get<int>() - level["successes"].get<int>();
        QVERIFY(failed > 0);
        QCOMPARE(static_cast<int>(r.out.count("from its goal")), failed);
    }

    void demoTrainOptions() {
        // Bad training options are usage errors naming the option.
        const QString out = path("demo-train");
        for (const QStringList& bad :
             {QStringList{"--gripper-flip", "1.5"},      QStringList{"--text-hidden", "63"},
              QStringList{"--text-layers", "0"},         QStringList{"--vision-steps", "-1"},
              QStringList{"--expert", "zigzag"},         QStringList{"--expert-gain", "0"},
              QStringList{"--expert-max-change", "3"},   QStringList{"--vision-attention", "-1"},
              QStringList{"--bin-sigma", "-1"},          QStringList{"--lm-attention", "-1"},
              QStringList{"--lm-attention-layer", "-2"}, QStringList{"--dagger", "-1"},
              QStringList{"--dagger-layouts", "0"},      QStringList{"--dagger-stride", "0"},
              QStringList{"--expert-quantum", "2"},      QStringList{"--image-size", "60"},
              QStringList{"--patch-size", "0"},          QStringList{"--logit-adjust", "-1"},
              QStringList{"--vision-lr", "0"},           QStringList{"--token-noise", "1.5"},
              QStringList{"--readout-drive", "-1"},      QStringList{"--dagger-handover", "1.5"},
              QStringList{"--aux-positions", "0"},       QStringList{"--aux-positions", "2"}}) {
            const Run r = runCli(QStringList{"demo", "train", "--out", out, "--tiny"} + bad);
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(bad.front()), qPrintable(r.err));
        }
        // A seconds-long run with the vision pretraining, a frozen tower, gripper flips, the funnel expert
        // and a one-layer language model records them in its report and saves a model of that geometry.
        const Run r = runCli({"demo",
                              "train",
                              "--out",
                              out,
                              "--tiny",
                              "--episodes",
                              "2",
                              "--steps",
                              "3",
                              "--draft-steps",
                              "2",
                              "--draft-samples",
                              "5",
                              "--vision-steps",
                              "4",
                              "--vision-lr",
                              "0.004",
                              "--freeze-vision",
                              "--sincos-positions",
                              "--vision-attention",
                              "0.5",
                              "--gripper-flip",
                              "0.1",
                              "--expert",
                              "funnel",
                              "--expert-gain",
                              "0.5",
                              "--expert-max-change",
                              "2",
                              "--expert-grasp-rise",
                              "--text-layers",
                              "1",
                              "--image-size",
                              "70",
                              "--lm-attention",
                              "0.5",
                              "--aux",
                              "1",
                              "--aux-positions",
                              "2",
                              "--dagger",
                              "1",
                              "--dagger-layouts",
                              "2",
                              "--dagger-steps",
                              "3",
                              "--eval",
                              "0",
                              "--heldout",
                              "1"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains("vision step"), qPrintable(r.out));
        std::ifstream in((out + "/train_report.json").toStdString());
        const nlohmann::json report = nlohmann::json::parse(in);
        QCOMPARE(report["gripper_flip"].get<double>(), 0.1);
        QCOMPARE(report["expert"]["style"].get<std::string>(), std::string("funnel"));
        QCOMPARE(report["expert"]["gain"].get<double>(), 0.5);
        QCOMPARE(report["expert"]["max_change"].get<double>(), 2.0);
        QCOMPARE(report["expert"]["quantum"].get<double>(), 0.0);
        QCOMPARE(report["expert"]["grasp_rise"].get<bool>(), true);
        QCOMPARE(report["target"]["vision_steps"].get<int>(), 4);
        QCOMPARE(report["target"]["vision_lr"].get<double>(), 0.004);
        QCOMPARE(report["target"]["freeze_vision"].get<bool>(), true);
        QCOMPARE(report["target"]["sincos_positions"].get<bool>(), true);
        QCOMPARE(report["target"]["vision_attention"].get<double>(), 0.5);
        QVERIFY(report["target"]["vision_check"].contains("gripper_error_cm"));
        QCOMPARE(report["draft"]["max_samples"].get<int>(), 5);
        QCOMPARE(report["text_geometry"]["layers"].get<int>(), 1);
        // --image-size: the world is rendered at that size for training and the held-out episodes, and the
        // saved model takes it.
        QCOMPARE(report["image"]["size"].get<int>(), 70);
        QCOMPARE(report["image"]["patch"].get<int>(), 14);
        {
            std::ifstream cfg((out + "/model/config.json").toStdString());
            const nlohmann::json config = nlohmann::json::parse(cfg);
            QCOMPARE(config["image_sizes"], nlohmann::json({70, 70}));
        }

        // demo distil: a fresh draft head for the saved target, on freshly rendered demonstrations; it loads
        // beside the target and decodes. Without --model it is a usage error; a missing model is named.
        const QString distilled = out + "/distilled";
        const Run d = runCli({"demo", "distil", "--model", out + "/model", "--out", distilled, "--episodes",
                              "2", "--frame-stride", "2", "--draft-steps", "3", "--draft-samples", "4",
                              "--expert", "funnel"});
        QVERIFY2(d.code == 0, qPrintable(d.err + d.out));
        QVERIFY2(d.out.contains("draft step") && d.out.contains("draft top-1"), qPrintable(d.out));
        QVERIFY(QFileInfo::exists(distilled + "/model.safetensors"));
        QVERIFY(QFileInfo::exists(distilled + "/config.json"));
        const Run decoded =
            runCli({"run", "--model", out + "/model", "--draft", distilled, "--episode",
                    out + "/episodes/" + QDir(out + "/episodes").entryList({"*.hdf5"}).value(0), "--steps",
                    "0:1", "--dtype", "fp32", "--mode", "relaxed"});
        QVERIFY2(decoded.code == 0, qPrintable(decoded.err + decoded.out));
        QCOMPARE(runCli({"demo", "distil", "--out", distilled}).code, 2);
        const Run missing = runCli({"demo", "distil", "--model", out + "/nothing", "--out", distilled});
        QVERIFY(missing.code != 0);
        QVERIFY2(missing.err.contains("nothing"), qPrintable(missing.err));
        QCOMPARE(report["target"]["lm_attention"].get<double>(), 0.5);
        QCOMPARE(report["target"]["aux_positions"].get<int>(), 2);
        QCOMPARE(report["target"]["aux_loss"].size(), std::size_t(3));
        QCOMPARE(report["target"]["lm_attention_layer"].get<int>(), 0); // the only layer
        QCOMPARE(report["target"]["lm_attention_loss"].size(), std::size_t(3));
        // One DAgger round before step 1 of 3: two rollouts of at most 3 steps, every second frame kept.
        QVERIFY2(r.out.contains("dagger before step 1"), qPrintable(r.out));
        const auto& dagger = report["target"]["dagger"];
        QCOMPARE(dagger["rounds"].get<int>(), 1);
        QCOMPARE(dagger["per_round"].size(), std::size_t(1));
        QCOMPARE(dagger["per_round"][0]["step"].get<int>(), 1);
        QCOMPARE(dagger["per_round"][0]["layouts"].get<int>(), 2);
        QCOMPARE(dagger["handover"].get<double>(), 0.0);
        QCOMPARE(dagger["per_round"][0]["handed_over"].get<int>(), 0);
        const int added = dagger["per_round"][0]["samples"].get<int>();
        QVERIFY2(added >= 2 && added <= 4, qPrintable(QString::number(added)));
        std::ifstream config((out + "/model/config.json").toStdString());
        QCOMPARE(nlohmann::json::parse(config)["text_config"]["num_hidden_layers"].get<int>(), 1);

        // The closed loop on that model: how close each episode came, and every rollout saved as a LIBERO
        // file the reader opens (with the steps the episode took) and a contact sheet.
        const QString rollouts = path("rollouts"), evalJson = path("eval.json");
        const Run e =
            runCli({"demo", "eval", "--model", out + "/model", "--draft", out + "/draft", "--json", evalJson,
                    "--episodes", "1", "--max-steps", "6", "--margins", "3", "--save-rollouts", rollouts});
        QVERIFY2(e.code == 0, qPrintable(e.err + e.out));
        QVERIFY2(e.out.contains("closest"), qPrintable(e.out));
        std::ifstream evalIn(evalJson.toStdString());
        const nlohmann::json ev = nlohmann::json::parse(evalIn);
        QCOMPARE(ev["modes"].size(), std::size_t(3));
        QVERIFY2(e.out.contains("95% CI") && e.out.contains("layout by layout against AR"),
                 qPrintable(e.out));
        for (const auto& mode : ev["modes"]) {
            const auto& o = mode["outcomes"][0];
            // One layout: the interval spans most of [0, 1] and holds the rate; every mode but AR is
            // compared with AR layout by layout.
            const double rate = mode["success_rate"].get<double>();
            QVERIFY(mode["success_ci95"]["low"].get<double>() <= rate);
            QVERIFY(mode["success_ci95"]["high"].get<double>() >= rate);
            QVERIFY(mode["success_ci95"]["high"].get<double>() - mode["success_ci95"]["low"].get<double>() >
                    0.7);
            if (mode["mode"] == "ar") {
                QVERIFY(!mode.contains("against_ar"));
            } else {
                const auto& c = mode["against_ar"];
                QCOMPARE(c["both"].get<int>() + c["only_ar"].get<int>() + c["only_this"].get<int>() +
                             c["neither"].get<int>(),
                         1);
                QCOMPARE(c["only_this"].get<int>() + c["both"].get<int>(), o["success"].get<bool>() ? 1 : 0);
                QCOMPARE(c["mcnemar_p"].get<double>(), 1.0); // one layout can never be a significant split
            }
            QVERIFY(o["closest_cm"].get<double>() >= 0);
            QVERIFY(o["goal_cm"].is_number()); // layout 0 is a put-in task
            QCOMPARE(mode["grasped"].get<int>(), o["grasped"].get<bool>() ? 1 : 0);
            const std::string label = mode["label"].get<std::string>() == "relaxed r=3"
                                          ? "relaxed_r3"
                                          : mode["label"].get<std::string>();
            const QString stem = rollouts + "/layout_00_put_in_" + QString::fromStdString(label);
            const auto file = specvla::data::LiberoFile::open((stem + "_demo.hdf5").toStdString());
            QCOMPARE(file.numDemos(), 1);
            QCOMPARE(file.numSteps(0), o["steps"].get<int>());
            QCOMPARE(file.instruction(), specvla::demo::instruction(specvla::demo::heldOutLayout(0)));
            QVERIFY(QFileInfo(stem + "_frames.png").size() > 0);
        }

        // --explain prints every step of every mode beside the expert's label for the same state: by default
        // the shipped recipe's expert (funnel, gain 0.5, no smoothing), unperturbed and noiseless.
        const Run x = runCli({"demo", "eval", "--model", out + "/model", "--draft", out + "/draft", "--json",
                              path("explain.json"), "--episodes", "1", "--max-steps", "4", "--margins", "3",
                              "--explain"});
        QVERIFY2(x.code == 0, qPrintable(x.err + x.out));
        std::ifstream explainIn(path("explain.json").toStdString());
        const nlohmann::json explained = nlohmann::json::parse(explainIn);
        for (const auto& mode : explained["modes"]) {
            const QString label = QString::fromStdString(mode["label"].get<std::string>());
            QCOMPARE(static_cast<int>(x.out.count("    " + label + " layout 0 step ")),
                     mode["outcomes"][0]["steps"].get<int>());
        }
        specvla::demo::ExpertOptions shipped;
        shipped.funnel = true;
        shipped.gain = 0.5;
        shipped.maxChange = 2;
        shipped.noise = 0;
        specvla::demo::Expert expert(1, shipped);
        const specvla::data::Action first = expert.act(specvla::demo::heldOutLayout(0));
        const QString label = QString::asprintf("expert %+.2f %+.2f %+.2f yaw %+.2f %s", first[0], first[1],
                                                first[2], first[5], first[6] > 0 ? "close" : "open");
        QVERIFY2(x.out.contains("ar layout 0 step  0:") && x.out.contains(label), qPrintable(x.out));
        // The expert options only set what --explain compares with.
        for (const QString& option : {QString("--expert=funnel"), QString("--expert-grasp-rise")}) {
            const Run bad = runCli({"demo", "eval", "--model", out + "/model", "--draft", out + "/draft",
                                    "--json", path("explain.json"), option});
            QCOMPARE(bad.code, 2);
            QVERIFY2(bad.err.contains("--explain"), qPrintable(bad.err));
        }
    }

public:
    TestCli() {
        QVERIFY(m_dir.isValid());
        // Keep the fixtures (tiny models, episodes, reports) for inspection or benchmarking by hand.
        if (qEnvironmentVariableIsSet("SPECVLA_KEEP_TEST_FILES")) {
            m_dir.setAutoRemove(false);
            qInfo("test files kept in %s", qPrintable(m_dir.path()));
        }
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
