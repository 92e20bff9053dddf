// SPDX-License-Identifier: MIT
#pragma once

// The one decoder worker (DESIGN.md, Threading). DecoderWorker lives on its own QThread and owns the Engine,
// so libtorch only runs there. Requests are thread-safe and coalesced: a pending request of a kind is
// replaced by a newer one of that kind (the latest wins; a run of the AR baseline and a run of speculative
// settings count as two kinds), and requests run in the order they were last made. cancel() stops the running
// job between verify rounds and between steps, and drops pending decodes, runs and sweeps. Results travel as
// value snapshots over queued signals; every exception becomes failed().
#include "decode/metrics.h"
#include "decode/settings.h"
#include "decode/trace.h"
#include "engine/engine.h"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QVector>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>

class QThread;

namespace specvla::app {

class DecoderWorker : public QObject {
    Q_OBJECT
public:
    explicit DecoderWorker(QObject* parent = nullptr);
    ~DecoderWorker() override;

    // Requests. Thread-safe: call them directly from the UI thread (or invoke them queued); the work runs
    // on the worker's thread. Each emits finished(kind) or failed(message) when it has run; a superseded
    // request emits nothing.
public Q_SLOTS:
    void loadModel(const QString& modelDir, const QString& draftDir, const QString& device,
                   const QString& dtype, const QString& unnormKey);
    // Reads demo demoIndex of a LIBERO file; libero: OpenVLA's LIBERO image path, else the plain one.
    void setEpisode(const QString& path, int demoIndex, bool libero = true);
    void decodeStep(int step, const specvla::decode::DecodeSettings& settings);
    void runEpisode(const specvla::decode::DecodeSettings& settings);
    // Per margin (relaxed mode, settings otherwise as given), every step; then one sweepRow.
    void sweep(const QVector<int>& margins, const specvla::decode::DecodeSettings& settings);
    // Thread-safe, never blocks on the running job.
    void cancel();

public:
    // Worker-thread state, for tests and status displays (read them on the worker's thread or when idle).
    int numSteps() const;
    bool hasDraft() const;
    FrameCacheStats cacheStats() const;
    int pendingRequests() const; // thread-safe

Q_SIGNALS:
    void modelLoaded(const QString& modelDir, bool hasDraft);
    void episodeLoaded(const QString& path, int numSteps, const QString& instruction);
    void stepDecoded(int step, const specvla::decode::ActionTrace& trace);
    void episodeProgress(int done, int total);
    void sweepRow(int margin, const specvla::decode::RunMetrics& metrics);
    // what: "load", "episode", "step", "run" or "sweep"
    void finished(const QString& what);
    // The error's message as is (it names the file or field); "cancelled" after cancel().
    void failed(const QString& message);

private:
    enum class Kind { Load, Episode, Step, Run, Sweep };
    struct Request {
        Kind kind = Kind::Step;
        QString a, b, c, d, e; // load: model, draft, device, dtype, key; episode: path
        int number = 0;        // episode: demo index; step: step
        bool flag = true;      // episode: LIBERO preprocessing
        decode::DecodeSettings settings;
        QVector<int> margins;
    };
    void enqueue(Request request);
    void processNext(); // on the worker thread
    void run(const Request& request);
    void runLoad(const Request& r);
    void runEpisodeFile(const Request& r);
    void runAll(const Request& r);
    void runSweep(const Request& r);
    void checkCancel() const;
    Engine& engine() const; // throws Error without a model

    mutable std::mutex m_mutex;
    std::deque<Request> m_pending; // guarded by m_mutex
    std::atomic<bool> m_cancel{false};
    std::unique_ptr<Engine> m_engine;         // worker thread only
    std::shared_ptr<data::Episode> m_episode; // worker thread only; re-applied after a new load
    ImagePreprocess m_preprocess = ImagePreprocess::Libero;
};

// RAII owner of the worker's thread. The destructor cancels, quits the event loop and waits a bounded time;
// it never calls QThread::terminate(): a thread that does not stop in time is logged and left (leaked).
class DecoderThread {
public:
    explicit DecoderThread(int stopTimeoutMs = 5000);
    ~DecoderThread();
    DecoderThread(const DecoderThread&) = delete;
    DecoderThread& operator=(const DecoderThread&) = delete;

    DecoderWorker* worker() const { return m_worker; }
    QThread* thread() const { return m_thread; }
    // Cancels, quits and waits up to the timeout; true when the thread finished (the worker is then
    // deleted). Idempotent; the destructor calls it.
    bool stop();

private:
    QThread* m_thread = nullptr;
    DecoderWorker* m_worker = nullptr;
    int m_stopTimeoutMs = 5000;
    bool m_stopped = false;
};

// Registers the value types used in the worker's queued signals (idempotent; DecoderThread calls it).
void registerDecoderMetaTypes();

} // namespace specvla::app

Q_DECLARE_METATYPE(specvla::decode::ActionTrace)
Q_DECLARE_METATYPE(specvla::decode::RunMetrics)
Q_DECLARE_METATYPE(specvla::decode::DecodeSettings)
