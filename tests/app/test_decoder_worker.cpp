// SPDX-License-Identifier: MIT
// The decoder worker's signal contract on tiny checkpoints: loading and errors, per-step decoding from the
// frame cache, latest-wins coalescing, episode runs, cancellation and bounded shutdown.
#include "decode/spec_decoder.h"
#include "gui/decoder_worker.h"
#include "support/tiny_model.h"

#include <QElapsedTimer>
#include <QSemaphore>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using specvla::app::DecoderThread;
using specvla::app::DecoderWorker;
namespace decode = specvla::decode;

namespace {

constexpr int kSteps = 4;
constexpr int kWaitMs = 60000;

// Receives the worker's signals on the test thread through queued connections, so the test reads them
// without racing the worker (a QSignalSpy records in the emitting thread).
class Recorder : public QObject {
    Q_OBJECT
public:
    explicit Recorder(DecoderWorker* w) {
        connect(w, &DecoderWorker::stepDecoded, this, [this](int step, const decode::ActionTrace& t) {
            steps.append({step, t});
        });
        connect(w, &DecoderWorker::episodeProgress, this, [this](int done, int total) {
            progress.append({done, total});
        });
        connect(w, &DecoderWorker::sweepRow, this, [this](int margin, const decode::RunMetrics& m) {
            rows.append({margin, m});
        });
        connect(w, &DecoderWorker::finished, this, [this](const QString& s) { finished.append(s); });
        connect(w, &DecoderWorker::failed, this, [this](const QString& s) { failed.append(s); });
    }
    void clear() { steps.clear(), progress.clear(), rows.clear(), finished.clear(), failed.clear(); }
    QVector<QPair<int, decode::ActionTrace>> steps;
    QVector<QPair<int, int>> progress;
    QVector<QPair<int, decode::RunMetrics>> rows;
    QStringList finished, failed;
};

decode::DecodeSettings relaxed(int margin) {
    decode::DecodeSettings s;
    s.mode = decode::DecodeMode::Relaxed;
    s.margin = margin;
    return s;
}

QVector<int> manyMargins(int n) {
    QVector<int> m;
    for (int i = 0; i < n; ++i)
        m.append(i % 33);
    return m;
}

} // namespace

class TestDecoderWorker : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_model, m_draft, m_episode;
    std::unique_ptr<DecoderThread> m_thread;
    std::unique_ptr<Recorder> m_rec;

    // Loads the model, draft and episode on thread t and waits until both ran.
    static bool loadAll(DecoderThread& t, Recorder& rec, const QString& model, const QString& draft,
                        const QString& episode) {
        t.worker()->loadModel(model, draft, "cpu", "fp32", "tiny_dataset");
        t.worker()->setEpisode(episode, 0);
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < kWaitMs && !rec.finished.contains("episode") && rec.failed.isEmpty())
            QTest::qWait(10);
        return rec.finished.contains("load") && rec.finished.contains("episode") && rec.failed.isEmpty();
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = m_dir.filePath("model");
        m_draft = m_dir.filePath("draft");
        const auto config = specvla::testing::writeTinyModel(m_model.toStdString());
        specvla::testing::writeTinyDraft(m_draft.toStdString(), config);
        m_episode = m_dir.filePath("put_the_red_block_on_the_plate_demo.hdf5");
        specvla::testing::writeSyntheticEpisode(m_episode.toStdString(), "put the red block on the plate",
                                                kSteps);
        m_thread = std::make_unique<DecoderThread>();
        m_rec = std::make_unique<Recorder>(m_thread->worker());
    }

    void cleanupTestCase() {
        m_rec.reset();
        m_thread.reset();
    }

    void badModelDirFailsAndWorkerStaysUsable() {
        m_rec->clear();
        const QString bad = m_dir.filePath("no-such-model");
        m_thread->worker()->loadModel(bad, "", "cpu", "fp32", "tiny_dataset");
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->failed.size(), 1, kWaitMs);
        QVERIFY2(m_rec->failed.front().contains(bad), qPrintable(m_rec->failed.front()));
        QVERIFY(m_rec->finished.isEmpty());
        // a decode without a model is an error too, not a crash
        m_thread->worker()->decodeStep(0, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->failed.size(), 2, kWaitMs);
        QVERIFY2(m_rec->failed.back().contains("no model"), qPrintable(m_rec->failed.back()));

        m_rec->clear();
        QVERIFY(loadAll(*m_thread, *m_rec, m_model, m_draft, m_episode));
        QCOMPARE(m_thread->worker()->pendingRequests(), 0);
    }

    void decodeStepEmitsTrace() {
        m_rec->clear();
        m_thread->worker()->decodeStep(1, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 1, kWaitMs);
        QCOMPARE(m_rec->finished.front(), QString("step"));
        QVERIFY(m_rec->failed.isEmpty());
        QCOMPARE(m_rec->steps.size(), 1);
        QCOMPARE(m_rec->steps[0].first, 1);
        const decode::ActionTrace& t = m_rec->steps[0].second;
        QCOMPARE(t.tokens.size(), std::size_t(7));
        QCOMPARE(t.action.size(), std::size_t(7));
        QVERIFY(!t.rounds.empty());
        QCOMPARE(t.settings.margin, 9);
        // out of range: an error naming the step, and the worker carries on
        m_thread->worker()->decodeStep(kSteps + 3, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->failed.size(), 1, kWaitMs);
        QVERIFY2(m_rec->failed.front().contains("out of range"), qPrintable(m_rec->failed.front()));
    }

    void firstDecodeWarmsUpUntimed() {
        // A fresh engine's first decode runs one untimed decode of the frame outside the cache, then the
        // timed one that prepares and caches the frame; later steps prepare only their own frame.
        DecoderThread thread;
        Recorder rec(thread.worker());
        QVERIFY(loadAll(thread, rec, m_model, m_draft, m_episode));
        rec.clear();
        const decode::WorkCounters start = decode::workCounters();
        thread.worker()->decodeStep(1, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 1, kWaitMs);
        const decode::WorkCounters first = decode::workCounters();
        thread.worker()->decodeStep(3, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(rec.finished.size(), 2, kWaitMs);
        const decode::WorkCounters second = decode::workCounters();
        QVERIFY(rec.failed.isEmpty());
        QCOMPARE(first.targetPrefills - start.targetPrefills, std::int64_t{2});
        QCOMPARE(first.draftPrefills - start.draftPrefills, std::int64_t{2});
        QCOMPARE(second.targetPrefills - first.targetPrefills, std::int64_t{1});
        QCOMPARE(second.draftPrefills - first.draftPrefills, std::int64_t{1});
        QCOMPARE(rec.steps.size(), 2);
        QVERIFY(!rec.steps[0].second.fromCache); // the timed decode prepared the frame: its latency counts it
        QVERIFY(rec.steps[0].second.ms.vision > 0 && rec.steps[0].second.ms.prefill > 0);
        const auto stats = thread.worker()->cacheStats(); // the warm-up's frame is not cached
        QCOMPARE(stats.misses, std::int64_t{2});
        QCOMPARE(stats.entries, 2);
    }

    void redecodeAtNewMarginUsesCache() {
        m_rec->clear();
        m_thread->worker()->decodeStep(2, relaxed(0));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 1, kWaitMs);
        const decode::WorkCounters before = decode::workCounters();
        m_thread->worker()->decodeStep(2, relaxed(20));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 2, kWaitMs);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        m_thread->worker()->decodeStep(2, ar);
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 3, kWaitMs);
        const decode::WorkCounters after = decode::workCounters();
        QVERIFY(m_rec->failed.isEmpty());
        QCOMPARE(after.visionForwards, before.visionForwards);
        QCOMPARE(after.targetPrefills, before.targetPrefills);
        QCOMPARE(after.draftPrefills, before.draftPrefills);
        QVERIFY(after.targetPasses > before.targetPasses); // it did decode
        QCOMPARE(m_rec->steps.size(), 3);
        QVERIFY(!m_rec->steps[0].second.fromCache); // step 2 decoded here first
        QVERIFY(m_rec->steps[1].second.fromCache);
        QVERIFY(m_rec->steps[2].second.fromCache);
        QCOMPARE(m_rec->steps[1].second.settings.margin, 20);
        QCOMPARE(m_rec->steps[2].second.tokens.size(), std::size_t(7));
        const auto stats = m_thread->worker()->cacheStats(); // worker idle: safe to read
        QVERIFY(stats.hits >= 2);
        QVERIFY(stats.entries >= 1);
        QVERIFY(stats.bytes > 0 && stats.bytes <= stats.budgetBytes);
    }

    void latestStepRequestWins() {
        m_rec->clear();
        constexpr int kRequests = 20;
        int last = 0;
        for (int i = 0; i < kRequests; ++i) {
            last = (i * 3) % kSteps;
            m_thread->worker()->decodeStep(last, relaxed(i % 10));
        }
        QTRY_VERIFY_WITH_TIMEOUT(m_thread->worker()->pendingRequests() == 0 && !m_rec->steps.isEmpty() &&
                                     m_rec->steps.back().second.settings.margin == (kRequests - 1) % 10,
                                 kWaitMs);
        QTest::qWait(200); // nothing else may arrive
        QCOMPARE(m_rec->steps.back().first, last);
        QCOMPARE(m_rec->steps.back().second.settings.margin, (kRequests - 1) % 10);
        QVERIFY2(m_rec->steps.size() < kRequests, qPrintable(QString::number(m_rec->steps.size())));
        QCOMPARE(m_rec->finished.size(), m_rec->steps.size());
        QVERIFY(m_rec->failed.isEmpty());
    }

    void runEpisodeEmitsEveryStep() {
        m_rec->clear();
        m_thread->worker()->runEpisode(relaxed(5));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 1, kWaitMs);
        QCOMPARE(m_rec->finished.front(), QString("run"));
        QVERIFY(m_rec->failed.isEmpty());
        QCOMPARE(m_rec->steps.size(), kSteps);
        for (int i = 0; i < kSteps; ++i) {
            QCOMPARE(m_rec->steps[i].first, i);
            QCOMPARE(m_rec->steps[i].second.tokens.size(), std::size_t(7));
        }
        QCOMPARE(m_rec->progress.size(), kSteps);
        QCOMPARE(m_rec->progress.back(), qMakePair(kSteps, kSteps));
    }

    // Requests made while the worker is busy coalesce per kind, but a run of the AR baseline and a run of
    // speculative settings are two jobs: the baseline asked for after the speculative run does not drop it.
    void arBaselineRunDoesNotReplaceSpeculativeRun() {
        m_rec->clear();
        QSemaphore gate;
        // Holds the worker's thread, so every request below is pending when it looks at its queue.
        QMetaObject::invokeMethod(
            m_thread->worker(), [&gate] { gate.acquire(); }, Qt::QueuedConnection);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        m_thread->worker()->runEpisode(relaxed(3));
        m_thread->worker()->runEpisode(relaxed(5)); // replaces the run at margin 3
        m_thread->worker()->runEpisode(ar);         // queues behind it
        QCOMPARE(m_thread->worker()->pendingRequests(), 2);
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 2, kWaitMs);
        QTest::qWait(100); // nothing else may arrive
        QCOMPARE(m_rec->finished, QStringList({"run", "run"}));
        QVERIFY(m_rec->failed.isEmpty());
        QCOMPARE(m_rec->steps.size(), 2 * kSteps);
        for (int i = 0; i < kSteps; ++i) {
            QCOMPARE(m_rec->steps[i].second.settings.mode, decode::DecodeMode::Relaxed);
            QCOMPARE(m_rec->steps[i].second.settings.margin, 5);
            QCOMPARE(m_rec->steps[kSteps + i].second.settings.mode, decode::DecodeMode::Ar);
        }
    }

    void sweepEmitsRows() {
        m_rec->clear();
        m_thread->worker()->sweep({0, 4, 16}, relaxed(9));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 1, kWaitMs);
        QCOMPARE(m_rec->finished.front(), QString("sweep"));
        QCOMPARE(m_rec->rows.size(), 3);
        QCOMPARE(m_rec->rows[1].first, 4);
        QCOMPARE(m_rec->rows[1].second.actions, kSteps);
        QVERIFY(m_rec->rows[1].second.hasArReference);
        QVERIFY(m_rec->rows[1].second.acceptanceLength >= 1.0);
        QCOMPARE(m_rec->progress.back(), qMakePair(4 * kSteps, 4 * kSteps));
    }

    void cancelStopsSweep() {
        m_rec->clear();
        const QVector<int> margins = manyMargins(400);
        m_thread->worker()->sweep(margins, relaxed(9));
        QTRY_VERIFY_WITH_TIMEOUT(!m_rec->rows.isEmpty(), kWaitMs);
        m_thread->worker()->cancel();
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->failed.size(), 1, kWaitMs);
        QCOMPARE(m_rec->failed.front(), QString("cancelled"));
        QVERIFY(m_rec->finished.isEmpty());
        QVERIFY2(m_rec->rows.size() < margins.size() / 2, qPrintable(QString::number(m_rec->rows.size())));
        // a cancel does not stick to the next request
        m_rec->clear();
        m_thread->worker()->decodeStep(0, relaxed(3));
        QTRY_COMPARE_WITH_TIMEOUT(m_rec->finished.size(), 1, kWaitMs);
        QCOMPARE(m_rec->steps.size(), 1);
    }

    void destroyDuringSweepIsBounded() {
        auto thread = std::make_unique<DecoderThread>();
        QPointer<DecoderWorker> worker = thread->worker();
        Recorder rec(thread->worker());
        QVERIFY(loadAll(*thread, rec, m_model, m_draft, m_episode));
        thread->worker()->sweep(manyMargins(400), relaxed(9));
        QTRY_VERIFY_WITH_TIMEOUT(!rec.progress.isEmpty(), kWaitMs);
        QThread* qthread = thread->thread();
        QVERIFY(qthread->isRunning());
        QElapsedTimer timer;
        timer.start();
        QVERIFY(thread->stop()); // what the destructor does, with its result
        thread.reset();
        const qint64 ms = timer.elapsed();
        QVERIFY2(ms < 10000, qPrintable(QString::number(ms)));
        QVERIFY(worker.isNull()); // deleted on its own thread as it finished
        // the sweep unwound through its cancellation check (a terminated thread would not report)
        QTRY_COMPARE_WITH_TIMEOUT(rec.failed.size(), 1, 5000);
        QCOMPARE(rec.failed.front(), QString("cancelled"));
        QVERIFY(rec.rows.size() < 400);
    }
};

QTEST_MAIN(TestDecoderWorker)
#include "test_decoder_worker.moc"
