// SPDX-License-Identifier: MIT
// Runs the real `specvla` executable on checkpoints written by the tests and on every kind of corrupt file.
#include "support/test_support.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

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
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
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
        for (const auto& n : names) QVERIFY2(r.out.contains(QString::fromStdString(n)), qPrintable(r.out));
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
            QVERIFY2(r.code == 1, qPrintable(QString::fromStdString(c.name) + ": exit " + QString::number(r.code)));
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
        QVERIFY2(r.err.contains("shard 'model-00003-of-00004.safetensors'") && r.err.contains("does not exist"),
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

    void verifyDataFlag() {
        const QString file = path("verify.safetensors");
        specvla::testing::writeTinyCheckpoint(file.toStdString());
        const Run r = runCli({"inspect", "--verify-data", file});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("NON-FINITE"));
    }

public:
    TestCli() { QVERIFY(m_dir.isValid()); }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
