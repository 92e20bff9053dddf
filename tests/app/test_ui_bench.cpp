// SPDX-License-Identifier: MIT
// specvla-workbench --bench-ui on tiny checkpoints, offscreen: from model / draft / episode options and from
// a session file, the JSON holds the three measurements (slider -> views, event-loop stalls during a
// re-decode, the re-decode's wall time) with sane values; a session naming a missing file fails clearly.
// No timing thresholds: speed targets belong to benchmark records, not tests.
#include "session/session_file.h"
#include "support/tiny_model.h"
#include "support/tiny_session.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {
constexpr int kSteps = 3;
constexpr int kSamples = 20;
constexpr int kWaitMs = 540000;
} // namespace

class TestUiBench : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_model, m_draft, m_episode;

    static QString workbench() {
        const QString dir = qEnvironmentVariable("SPECVLA_BIN_DIR", QCoreApplication::applicationDirPath());
        return QDir(dir).filePath(QStringLiteral("specvla-workbench"));
    }

    // Runs the workbench with args; returns the exit code, stdout and stderr.
    int run(const QStringList& args, QString* out, QString* err) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"),
                   m_dir.filePath(QStringLiteral("config"))); // no user settings
        p.setProcessEnvironment(env);
        p.start(workbench(), args);
        if (!p.waitForFinished(kWaitMs)) {
            p.kill();
            p.waitForFinished();
            return -1;
        }
        *out = QString::fromUtf8(p.readAllStandardOutput());
        *err = QString::fromUtf8(p.readAllStandardError());
        return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    }

    static QJsonObject readJson(const QString& file) {
        QFile f(file);
        return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
    }

    static void checkJson(const QString& file, int steps) {
        QVERIFY2(QFile::exists(file), qPrintable(file));
        const QJsonObject j = readJson(file);
        QCOMPARE(j.value(QStringLiteral("ok")).toBool(), true);
        QCOMPARE(j.value(QStringLiteral("steps")).toInt(), steps);
        QCOMPARE(j.value(QStringLiteral("device")).toString(), QStringLiteral("cpu"));
        QVERIFY(j.value(QStringLiteral("threads")).toInt() >= 1);

        const QJsonObject slider = j.value(QStringLiteral("slider_to_views_ms")).toObject();
        QCOMPARE(slider.value(QStringLiteral("n")).toInt(), kSamples);
        const QJsonArray samples = slider.value(QStringLiteral("samples")).toArray();
        QCOMPARE(samples.size(), kSamples);
        for (const QJsonValue& v : samples)
            QVERIFY(v.toDouble() > 0.0);
        const double median = slider.value(QStringLiteral("median")).toDouble();
        const double p90 = slider.value(QStringLiteral("p90")).toDouble();
        QVERIFY(median > 0.0);
        QVERIFY(p90 >= median);

        const QJsonObject stall = j.value(QStringLiteral("event_loop_stall_ms")).toObject();
        QCOMPARE(stall.value(QStringLiteral("timer_interval_ms")).toInt(), 5);
        QVERIFY(stall.value(QStringLiteral("ticks")).toInt() >= 1);
        const double max = stall.value(QStringLiteral("max")).toDouble();
        const double p99 = stall.value(QStringLiteral("p99")).toDouble();
        QVERIFY(max > 0.0);
        QVERIFY(p99 > 0.0 && p99 <= max);

        const QJsonObject redecode = j.value(QStringLiteral("episode_redecode")).toObject();
        QVERIFY(redecode.value(QStringLiteral("wall_ms")).toDouble() > 0.0);
        QCOMPARE(redecode.value(QStringLiteral("steps")).toInt(), steps);
        const int margin = redecode.value(QStringLiteral("margin")).toInt();
        QVERIFY(margin >= 0 && margin <= 32);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY(QFileInfo(workbench()).isExecutable());
        const auto f = specvla::testing::writeTinyFixtures(m_dir.path().toStdString(), kSteps);
        m_model = QString::fromStdString(f.model);
        m_draft = QString::fromStdString(f.draft);
        m_episode = QString::fromStdString(f.episode);
    }

    void benchFromOptions() {
        const QString json = m_dir.filePath(QStringLiteral("bench1.json"));
        QString out, err;
        const int rc =
            run({QStringLiteral("--bench-ui"), QStringLiteral("--model"), m_model, QStringLiteral("--draft"),
                 m_draft, QStringLiteral("--episode"), m_episode, QStringLiteral("--unnorm-key"),
                 QStringLiteral("tiny_dataset"), QStringLiteral("--device"), QStringLiteral("cpu"),
                 QStringLiteral("--dtype"), QStringLiteral("fp32"), QStringLiteral("--bench-samples"),
                 QString::number(kSamples), QStringLiteral("--bench-json"), json, QStringLiteral("--threads"),
                 QStringLiteral("1")},
                &out, &err);
        QVERIFY2(rc == 0, qPrintable(QStringLiteral("rc %1\n%2\n%3").arg(rc).arg(out, err)));
        QVERIFY2(out.contains(QStringLiteral("bench-ui slider->views: median ")), qPrintable(out));
        QVERIFY(out.contains(QStringLiteral("(n=%1)").arg(kSamples)));
        QVERIFY(out.contains(QStringLiteral("bench-ui event-loop stall during re-decode: max ")));
        QVERIFY(out.contains(QStringLiteral("bench-ui episode re-decode: ")));
        qInfo().noquote() << out;
        checkJson(json, kSteps);
        QCOMPARE(readJson(json).value(QStringLiteral("threads")).toInt(), 1);
        // A thread count that is not a positive number is a usage error, before anything loads.
        for (const char* bad : {"0", "two"}) {
            const int code =
                run({QStringLiteral("--threads"), QString::fromLatin1(bad), QStringLiteral("--bench-ui"),
                     QStringLiteral("--model"), m_model, QStringLiteral("--episode"), m_episode},
                    &out, &err);
            QCOMPARE(code, 2);
            QVERIFY2(err.contains(QStringLiteral("--threads needs a positive number")), qPrintable(err));
        }
    }

    void benchFromSession() {
        specvla::session::Session s = specvla::testing::tinySession(m_model, m_draft, m_episode);
        s.settings.margin = 4;
        s.step = 1;
        const QString file = m_dir.filePath(QStringLiteral("bench.specvla.json"));
        specvla::session::writeSession(file.toStdString(), s);
        const QString json = m_dir.filePath(QStringLiteral("bench2.json"));
        QString out, err;
        const int rc =
            run({file, QStringLiteral("--bench-ui"), QStringLiteral("--device"), QStringLiteral("cpu"),
                 QStringLiteral("--dtype"), QStringLiteral("fp32"), QStringLiteral("--bench-samples"),
                 QString::number(kSamples), QStringLiteral("--bench-json"), json},
                &out, &err);
        QVERIFY2(rc == 0, qPrintable(QStringLiteral("rc %1\n%2\n%3").arg(rc).arg(out, err)));
        qInfo().noquote() << out;
        checkJson(json, kSteps);

        // A session naming a vanished episode: a clear failure that names it, no hang.
        s.episodes = m_dir.filePath(QStringLiteral("gone.hdf5")).toStdString();
        specvla::session::writeSession(file.toStdString(), s);
        const int bad = run({QStringLiteral("--bench-ui"), QStringLiteral("--session"), file}, &out, &err);
        QCOMPARE(bad, 1);
        QVERIFY2(err.contains(QStringLiteral("gone.hdf5")), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestUiBench)
#include "test_ui_bench.moc"
