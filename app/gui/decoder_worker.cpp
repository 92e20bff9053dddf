// SPDX-License-Identifier: MIT
#include "gui/decoder_worker.h"

#include "common/error.h"
#include "common/log.h"
#include "data/libero_reader.h"

#include <QDeadlineTimer>
#include <QThread>

#include <exception>
#include <utility>

namespace specvla::app {

void registerDecoderMetaTypes() {
    qRegisterMetaType<decode::ActionTrace>("specvla::decode::ActionTrace");
    qRegisterMetaType<decode::RunMetrics>("specvla::decode::RunMetrics");
    qRegisterMetaType<decode::DecodeSettings>("specvla::decode::DecodeSettings");
    qRegisterMetaType<QVector<int>>("QVector<int>");
}

DecoderWorker::DecoderWorker(QObject* parent) : QObject(parent) {
    registerDecoderMetaTypes();
}

DecoderWorker::~DecoderWorker() = default;

void DecoderWorker::loadModel(const QString& modelDir, const QString& draftDir, const QString& device,
                              const QString& dtype, const QString& unnormKey) {
    Request r;
    r.kind = Kind::Load;
    r.a = modelDir, r.b = draftDir, r.c = device, r.d = dtype, r.e = unnormKey;
    enqueue(std::move(r));
}

void DecoderWorker::setEpisode(const QString& path, int demoIndex, bool libero) {
    Request r;
    r.kind = Kind::Episode;
    r.a = path;
    r.number = demoIndex;
    r.flag = libero;
    enqueue(std::move(r));
}

void DecoderWorker::decodeStep(int step, const decode::DecodeSettings& settings) {
    Request r;
    r.kind = Kind::Step;
    r.number = step;
    r.settings = settings;
    enqueue(std::move(r));
}

void DecoderWorker::runEpisode(const decode::DecodeSettings& settings) {
    Request r;
    r.kind = Kind::Run;
    r.settings = settings;
    enqueue(std::move(r));
}

void DecoderWorker::sweep(const QVector<int>& margins, const decode::DecodeSettings& settings) {
    Request r;
    r.kind = Kind::Sweep;
    r.margins = margins;
    r.settings = settings;
    enqueue(std::move(r));
}

void DecoderWorker::cancel() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_cancel = true;
    // Loads and episode changes are state the user asked for; only decode work is dropped.
    for (auto it = m_pending.begin(); it != m_pending.end();) {
        if (it->kind == Kind::Step || it->kind == Kind::Run || it->kind == Kind::Sweep)
            it = m_pending.erase(it);
        else
            ++it;
    }
}

int DecoderWorker::pendingRequests() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return static_cast<int>(m_pending.size());
}

int DecoderWorker::numSteps() const {
    return m_episode ? m_episode->numSteps : 0;
}
bool DecoderWorker::hasDraft() const {
    return m_engine && m_engine->hasDraft();
}
FrameCacheStats DecoderWorker::cacheStats() const {
    return m_engine ? m_engine->cacheStats() : FrameCacheStats{};
}

void DecoderWorker::enqueue(Request request) {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        // The latest request of a kind wins: the older pending one goes, the new one queues behind the
        // requests made before it (so a step decode never overtakes the episode it was asked for). A run of
        // the AR baseline and a run of speculative settings are different jobs: neither replaces the other.
        const auto sameJob = [&request](const Request& pending) {
            if (pending.kind != request.kind) return false;
            if (pending.kind != Kind::Run) return true;
            return (pending.settings.mode == decode::DecodeMode::Ar) ==
                   (request.settings.mode == decode::DecodeMode::Ar);
        };
        for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
            if (sameJob(*it)) {
                m_pending.erase(it);
                break;
            }
        }
        m_pending.push_back(std::move(request));
    }
    // One wake-up per request; wake-ups that find the queue empty (superseded requests) do nothing.
    QMetaObject::invokeMethod(
        this, [this] { processNext(); }, Qt::QueuedConnection);
}

void DecoderWorker::processNext() {
    Request r;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_pending.empty()) return;
        r = std::move(m_pending.front());
        m_pending.pop_front();
        // Under the lock: a cancel() from now on is seen by this job, an earlier one already dropped it.
        m_cancel = false;
    }
    run(r);
}

void DecoderWorker::run(const Request& r) {
    static const char* const names[] = {"load", "episode", "step", "run", "sweep"};
    try {
        switch (r.kind) {
        case Kind::Load:
            runLoad(r);
            break;
        case Kind::Episode:
            runEpisodeFile(r);
            break;
        case Kind::Step: {
            decode::ActionTrace t = engine().decodeStep(r.number, r.settings, &m_cancel);
            Q_EMIT stepDecoded(r.number, t);
            break;
        }
        case Kind::Run:
            runAll(r);
            break;
        case Kind::Sweep:
            runSweep(r);
            break;
        }
        Q_EMIT finished(QString::fromLatin1(names[static_cast<int>(r.kind)]));
    } catch (const Cancelled&) {
        Q_EMIT failed(QStringLiteral("cancelled"));
    } catch (const std::exception& e) { // specvla::Error included
        Q_EMIT failed(QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(QStringLiteral("unknown error"));
    }
}

void DecoderWorker::runLoad(const Request& r) {
    m_engine.reset(); // free the old model first: two large models need not fit at once
    auto e = Engine::load(r.a.toStdString(), r.b.toStdString(), r.c.toStdString(), r.d.toStdString(),
                          r.e.toStdString());
    if (m_episode) e->setEpisode(*m_episode, m_preprocess);
    m_engine = std::move(e);
    Q_EMIT modelLoaded(r.a, m_engine->hasDraft());
}

void DecoderWorker::runEpisodeFile(const Request& r) {
    const data::LiberoFile file = data::LiberoFile::open(r.a.toStdString());
    if (r.number < 0 || r.number >= file.numDemos())
        throw Error(r.a.toStdString() + ": demo index " + std::to_string(r.number) + " is out of range (" +
                    std::to_string(file.numDemos()) + " demos)");
    auto episode = std::make_shared<data::Episode>(file.readDemo(r.number));
    if (episode->instruction.empty()) episode->instruction = file.instruction();
    const ImagePreprocess pre = r.flag ? ImagePreprocess::Libero : ImagePreprocess::Plain;
    if (m_engine) m_engine->setEpisode(*episode, pre);
    m_episode = std::move(episode);
    m_preprocess = pre;
    Q_EMIT episodeLoaded(r.a, m_episode->numSteps, QString::fromStdString(m_episode->instruction));
}

void DecoderWorker::runAll(const Request& r) {
    Engine& e = engine();
    const int n = e.numSteps();
    if (n == 0) throw Error("no episode is open");
    for (int step = 0; step < n; ++step) {
        checkCancel();
        decode::ActionTrace t = e.decodeStep(step, r.settings, &m_cancel);
        Q_EMIT stepDecoded(step, t);
        Q_EMIT episodeProgress(step + 1, n);
    }
}

void DecoderWorker::runSweep(const Request& r) {
    Engine& e = engine();
    const int n = e.numSteps();
    if (n == 0) throw Error("no episode is open");
    if (r.margins.isEmpty()) throw Error("a margin sweep needs at least one margin");
    if (!e.hasDraft()) throw Error("a margin sweep needs a draft head");
    const int total = n * (static_cast<int>(r.margins.size()) + 1);
    int done = 0;
    // The AR reference and the recorded actions, paired by step, for the deviation metrics.
    decode::DecodeSettings ar = r.settings;
    ar.mode = decode::DecodeMode::Ar;
    std::vector<decode::ActionTrace> arTraces;
    std::vector<std::vector<double>> recorded;
    for (int step = 0; step < n; ++step) {
        checkCancel();
        arTraces.push_back(e.decodeStep(step, ar, &m_cancel));
        recorded.push_back(e.recordedAction(step));
        Q_EMIT episodeProgress(++done, total);
    }
    for (int margin : r.margins) {
        decode::DecodeSettings s = r.settings;
        s.mode = decode::DecodeMode::Relaxed;
        s.margin = margin;
        s.marginPerDim.reset();
        std::vector<decode::ActionTrace> traces;
        for (int step = 0; step < n; ++step) {
            checkCancel();
            traces.push_back(e.decodeStep(step, s, &m_cancel));
            Q_EMIT episodeProgress(++done, total);
        }
        Q_EMIT sweepRow(margin, decode::aggregate(traces, &arTraces, &recorded));
    }
}

void DecoderWorker::checkCancel() const {
    if (m_cancel.load()) throw Cancelled();
}

Engine& DecoderWorker::engine() const {
    if (!m_engine) throw Error("no model is loaded");
    return *m_engine;
}

DecoderThread::DecoderThread(int stopTimeoutMs) : m_stopTimeoutMs(stopTimeoutMs) {
    registerDecoderMetaTypes();
    m_thread = new QThread;
    m_thread->setObjectName(QStringLiteral("specvla-decoder"));
    m_worker = new DecoderWorker;
    m_worker->moveToThread(m_thread);
    // The worker (and the engine's tensors) are freed on the worker's thread as it finishes.
    QObject::connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread->start();
}

DecoderThread::~DecoderThread() {
    stop();
}

bool DecoderThread::stop() {
    if (m_stopped) return m_thread == nullptr;
    m_stopped = true;
    m_worker->cancel();
    m_thread->quit();
    if (!m_thread->wait(QDeadlineTimer(m_stopTimeoutMs))) {
        // Never terminate(): a thread killed mid-forward can leave allocators and locks in any state. Leave
        // it running; it quits at its next cancellation check and is leaked with its worker.
        const std::string msg = "decoder thread did not stop within " + std::to_string(m_stopTimeoutMs) +
                                " ms; leaving it to finish on its own";
        log(LogLevel::Warning, msg);
        qWarning("%s", msg.c_str());
        m_worker = nullptr;
        return false;
    }
    m_worker = nullptr; // deleted on its thread by deleteLater at finish
    delete m_thread;
    m_thread = nullptr;
    return true;
}

} // namespace specvla::app
