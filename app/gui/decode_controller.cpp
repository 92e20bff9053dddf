// SPDX-License-Identifier: MIT
#include "gui/decode_controller.h"

#include "bin_distance_plot.h"
#include "data/libero_reader.h"
#include "draft_tree_view.h"
#include "frame_view.h"
#include "gui/decode_controls.h"
#include "gui/decoder_worker.h"
#include "latency_plot.h"
#include "message_bar.h"
#include "sweep_plot.h"
#include "token_run_strip.h"

#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QImage>
#include <QLabel>
#include <QProgressBar>
#include <QTimer>
#include <QToolButton>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace specvla::app {

namespace {

std::optional<widgets::Action7> action7(const std::vector<double>& action) {
    if (action.size() != 7) return std::nullopt;
    widgets::Action7 a{};
    std::copy(action.begin(), action.end(), a.begin());
    return a;
}

bool allPresent(const std::vector<std::optional<decode::ActionTrace>>& traces) {
    return std::all_of(traces.begin(), traces.end(), [](const auto& t) { return t.has_value(); });
}

std::vector<decode::ActionTrace> present(const std::vector<std::optional<decode::ActionTrace>>& traces) {
    std::vector<decode::ActionTrace> result;
    for (const auto& t : traces)
        if (t) result.push_back(*t);
    return result;
}

} // namespace

DecodeController::DecodeController(const DecodeViews& views, QObject* parent)
    : QObject(parent), m_views(views), m_thread(std::make_unique<DecoderThread>()) {
    if (m_views.controls) m_settings = m_views.controls->settings();

    m_redrawTimer = new QTimer(this);
    m_redrawTimer->setSingleShot(true);
    m_redrawTimer->setInterval(kRedrawMs);
    connect(m_redrawTimer, &QTimer::timeout, this, &DecodeController::redraw);

    m_frameWatcher = new QFutureWatcher<std::shared_ptr<data::Episode>>(this);
    connect(m_frameWatcher, &QFutureWatcherBase::finished, this, &DecodeController::onFrameRead);

    DecoderWorker* w = m_thread->worker();
    connect(w, &DecoderWorker::modelLoaded, this, &DecodeController::onModelLoaded);
    connect(w, &DecoderWorker::episodeLoaded, this, &DecodeController::onEpisodeLoaded);
    connect(w, &DecoderWorker::stepDecoded, this, &DecodeController::onStepDecoded);
    connect(w, &DecoderWorker::episodeProgress, this, &DecodeController::onProgress);
    connect(w, &DecoderWorker::sweepRow, this, &DecodeController::onSweepRow);
    connect(w, &DecoderWorker::finished, this, &DecodeController::onFinished);
    connect(w, &DecoderWorker::failed, this, &DecodeController::onFailed);

    if (auto* c = m_views.controls) {
        connect(c, &DecodeControls::settingsChanged, this, &DecodeController::setSettings);
        connect(c, &DecodeControls::runtimeChanged, this, &DecodeController::reloadModel);
        connect(c, &DecodeControls::runRequested, this, &DecodeController::runEpisode);
        connect(c, &DecodeControls::sweepRequested, this, [this] { startSweep(); });
        connect(c, &DecodeControls::cancelRequested, this, &DecodeController::cancel);
    }
    if (m_views.timeline)
        connect(m_views.timeline, &widgets::Timeline::currentStepChanged, this,
                &DecodeController::setCurrentStep);
    if (m_views.strip)
        connect(m_views.strip, &widgets::TokenRunStrip::stepClicked, this, &DecodeController::setCurrentStep);
    if (m_views.cancel) {
        connect(m_views.cancel, &QToolButton::clicked, this, &DecodeController::cancel);
        m_views.cancel->hide();
    }
    if (m_views.progress) m_views.progress->hide();

    auto addAction = [this](const QString& text, const QKeySequence& keys, auto slot) {
        auto* action = new QAction(text, this);
        action->setShortcut(keys);
        connect(action, &QAction::triggered, this, slot);
        m_playbackActions << action;
    };
    addAction(tr("Previous Step"), QKeySequence(Qt::Key_Left), [this] { setCurrentStep(m_currentStep - 1); });
    addAction(tr("Next Step"), QKeySequence(Qt::Key_Right), [this] { setCurrentStep(m_currentStep + 1); });
    addAction(tr("Play / Pause"), QKeySequence(Qt::Key_Space), [this] {
        if (m_views.timeline) m_views.timeline->togglePlay();
    });
}

// The thread's owner cancels and waits (bounded) before the views it reports to go away.
DecodeController::~DecodeController() = default;

DecoderWorker* DecodeController::worker() const {
    return m_thread->worker();
}

const decode::ActionTrace* DecodeController::trace(int step) const {
    if (step < 0 || step >= static_cast<int>(m_traces.size()) || !m_traces[step]) return nullptr;
    return &*m_traces[step];
}

const decode::ActionTrace* DecodeController::arTrace(int step) const {
    if (step < 0 || step >= static_cast<int>(m_arTraces.size()) || !m_arTraces[step]) return nullptr;
    return &*m_arTraces[step];
}

void DecodeController::openModel(const QString& modelDir) {
    m_modelDir = modelDir;
    reloadModel();
}

void DecodeController::openModel(const QString& modelDir, const QString& draftDir) {
    m_modelDir = modelDir;
    m_draftDir = draftDir;
    reloadModel();
}

void DecodeController::openDraft(const QString& draftDir) {
    m_draftDir = draftDir;
    if (m_modelDir.isEmpty()) {
        setBusy(false, tr("Draft head %1 set; open a model to decode").arg(QFileInfo(draftDir).fileName()));
        return;
    }
    reloadModel();
}

void DecodeController::reloadModel() {
    if (m_modelDir.isEmpty() || !m_views.controls) return;
    m_thread->worker()->cancel();
    m_modelReady = false;
    m_loading = true;
    Q_EMIT modelReadyChanged(false);
    const DecodeControls* c = m_views.controls;
    m_device = c->device();
    m_thread->worker()->loadModel(m_modelDir, m_draftDir, m_device, c->dtype(), c->unnormKey());
    setBusy(true, tr("Loading %1…").arg(QDir::toNativeSeparators(m_modelDir)));
}

void DecodeController::openEpisode(const QString& path) {
    m_episodePath = path;
    m_thread->worker()->cancel();
    m_thread->worker()->setEpisode(path, 0);
    setBusy(true, tr("Opening %1…").arg(QFileInfo(path).fileName()));
}

void DecodeController::readFrames(const QString& path) {
    // The images for the frame view are read off the UI thread (HDF5 only; no libtorch), once the worker has
    // read the same file: two readers of one file at once gain nothing.
    const std::string file = path.toStdString();
    m_frameError.clear();
    m_frameWatcher->setFuture(QtConcurrent::run([this, file]() -> std::shared_ptr<data::Episode> {
        try {
            return std::make_shared<data::Episode>(data::LiberoFile::open(file).readDemo(0));
        } catch (const std::exception& e) {
            m_frameError = QString::fromStdString(e.what()); // read in onFrameRead, after the future ends
            return nullptr;
        }
    }));
}

void DecodeController::onFrameRead() {
    m_frames = m_frameWatcher->result();
    if (m_frames)
        setCurrentStep(m_currentStep);
    else if (m_views.messages && !m_frameError.isEmpty())
        m_views.messages->showError(tr("Cannot show the episode's frames: %1").arg(m_frameError));
}

void DecodeController::onModelLoaded(const QString& modelDir, bool hasDraft) {
    m_loading = false;
    m_modelReady = true;
    m_hasDraft = hasDraft;
    setBusy(false, hasDraft ? tr("Loaded %1 with a draft head").arg(QFileInfo(modelDir).fileName())
                            : tr("Loaded %1 (no draft head: AR only)").arg(QFileInfo(modelDir).fileName()));
    if (m_views.messages) m_views.messages->dismiss();
    Q_EMIT modelReadyChanged(true);
    std::fill(m_traces.begin(), m_traces.end(), std::nullopt);
    std::fill(m_arTraces.begin(), m_arTraces.end(), std::nullopt);
    std::fill(m_frameCost.begin(), m_frameCost.end(), std::nullopt); // the frames are prepared anew
    clearSweep();                                                    // measured with another model
    requestCurrentAndEpisode();
}

void DecodeController::clearSweep() {
    m_sweepDoneMargins.clear();
    m_sweepRows.clear();
    updateSweepPlot();
}

void DecodeController::onEpisodeLoaded(const QString& path, int numSteps, const QString& instruction) {
    m_numSteps = numSteps;
    m_traces.assign(static_cast<std::size_t>(numSteps), std::nullopt);
    m_arTraces.assign(static_cast<std::size_t>(numSteps), std::nullopt);
    m_frameCost.assign(static_cast<std::size_t>(numSteps), std::nullopt);
    m_currentStep = 0;
    clearSweep(); // measured on another episode
    if (m_views.strip) m_views.strip->clear();
    if (m_views.tree) m_views.tree->clear();
    if (m_views.timeline) {
        m_views.timeline->setStepCount(numSteps);
        m_views.timeline->setCurrentStep(0);
    }
    setBusy(false, tr("%1: %2 steps — %3").arg(QFileInfo(path).fileName()).arg(numSteps).arg(instruction));
    readFrames(path);
    Q_EMIT episodeReady(numSteps);
    requestCurrentAndEpisode();
}

bool DecodeController::canDecode() const {
    return m_modelReady && m_numSteps > 0;
}

bool DecodeController::matchesSettings(const decode::ActionTrace& t) const {
    const decode::DecodeSettings& s = m_settings;
    if (t.settings.mode != s.mode) return false;
    if (s.mode == decode::DecodeMode::Ar) return true;
    if (s.mode == decode::DecodeMode::Relaxed &&
        (t.settings.margin != s.margin || t.settings.marginPerDim != s.marginPerDim))
        return false;
    return t.settings.tree == s.tree;
}

void DecodeController::setSettings(const decode::DecodeSettings& settings) {
    m_settings = settings;
    std::fill(m_traces.begin(), m_traces.end(), std::nullopt);
    // The sweep's margins and rows stay (they were measured at other margins); only the marker moves.
    if (m_views.sweep) m_views.sweep->setCurrentMargin(settings.margin);
    if (m_views.binDistance) m_views.binDistance->setMargin(settings.marginFor(0));
    // Latest wins: drop the running episode work, decode the current step at once, then the episode.
    m_thread->worker()->cancel();
    requestCurrentAndEpisode();
}

void DecodeController::requestCurrentAndEpisode() {
    m_arRunRequested = false;
    m_currentRunRequested = false;
    if (!canDecode()) return;
    m_thread->worker()->decodeStep(m_currentStep, m_settings);
    continueBackground();
}

void DecodeController::continueBackground() {
    if (!canDecode()) return;
    decode::DecodeSettings ar = m_settings;
    ar.mode = decode::DecodeMode::Ar;
    // Speculative steps first (they are what the user is looking at), then the AR baseline, asked for only
    // once the current settings' episode is complete: a finished() of a superseded run may arrive while the
    // current run is still queued, and must not start the baseline ahead of it.
    const bool currentComplete = allPresent(m_traces);
    if (!currentComplete && !m_currentRunRequested) {
        m_currentRunRequested = true;
        m_thread->worker()->runEpisode(m_settings);
        setBusy(true,
                tr("Decoding the episode (%1)…").arg(QString::fromLatin1(decode::modeName(m_settings.mode))));
    } else if (currentComplete && !allPresent(m_arTraces) && !m_arRunRequested &&
               m_settings.mode != decode::DecodeMode::Ar) {
        m_arRunRequested = true;
        m_thread->worker()->runEpisode(ar);
        setBusy(true, tr("Decoding the AR baseline…"));
    }
}

void DecodeController::runEpisode() {
    if (!canDecode()) {
        if (m_views.messages) m_views.messages->showWarning(tr("Open a model and an episode first."));
        return;
    }
    std::fill(m_traces.begin(), m_traces.end(), std::nullopt);
    requestCurrentAndEpisode();
}

void DecodeController::startSweep(const QVector<int>& margins) {
    if (!canDecode()) {
        if (m_views.messages) m_views.messages->showWarning(tr("Open a model and an episode first."));
        return;
    }
    m_sweepMargins = margins;
    if (m_sweepMargins.isEmpty())
        for (int m = 0; m <= DecodeControls::kMaxMargin; m += 4)
            m_sweepMargins << m;
    m_sweepDoneMargins.clear();
    m_sweepRows.clear();
    m_sweeping = true;
    m_thread->worker()->sweep(m_sweepMargins, m_settings);
    setBusy(true, tr("Sweeping %1 margins…").arg(m_sweepMargins.size()));
}

void DecodeController::cancel() {
    m_thread->worker()->cancel();
    if (m_views.timeline) m_views.timeline->pause();
}

void DecodeController::setCurrentStep(int step) {
    if (m_numSteps <= 0) return;
    step = std::clamp(step, 0, m_numSteps - 1);
    m_currentStep = step;
    if (m_views.timeline && m_views.timeline->currentStep() != step) m_views.timeline->setCurrentStep(step);
    if (m_views.strip) m_views.strip->setCurrentStep(step);
    if (m_views.latency) m_views.latency->setCurrentStep(step);
    if (m_views.frame) {
        if (m_frames && step < m_frames->numSteps) {
            const QImage image(m_frames->image(step), m_frames->imageWidth, m_frames->imageHeight,
                               m_frames->imageWidth * 3, QImage::Format_RGB888);
            m_views.frame->setImage(image.copy());
        }
    }
    if (trace(step)) {
        redrawCurrentStep();
    } else if (canDecode()) {
        m_thread->worker()->decodeStep(step, m_settings); // latest wins while scrubbing or playing
    }
}

void DecodeController::onStepDecoded(int step, const decode::ActionTrace& t) {
    if (step < 0 || step >= m_numSteps) return;
    if (!t.fromCache)
        m_frameCost[static_cast<std::size_t>(step)] = decode::StageTimes{t.ms.vision, t.ms.prefill};
    bool used = false;
    if (t.settings.mode == decode::DecodeMode::Ar) {
        m_arTraces[step] = t;
        used = true;
    }
    if (matchesSettings(t)) {
        m_traces[step] = t;
        used = true;
        if (step == m_currentStep) m_currentDirty = true;
    }
    if (!used) return; // a result of superseded settings
    m_dirtySteps.insert(step);
    scheduleRedraw();
}

void DecodeController::scheduleRedraw() {
    if (!m_redrawTimer->isActive()) m_redrawTimer->start();
}

void DecodeController::redraw() {
    if (m_views.strip)
        for (int step : std::as_const(m_dirtySteps))
            if (const decode::ActionTrace* t = trace(step)) m_views.strip->setStepTrace(step, *t);
    m_dirtySteps.clear();

    // A decode that reused its frame's vision and prefill is charged the frame's cost, so the bars and the AR
    // line always include them (otherwise the AR baseline, decoded after the speculative run on the same
    // frames, would look faster by the whole vision and prefill time).
    auto withFrameCost = [this](int step, const decode::ActionTrace& t) {
        decode::StageTimes ms = t.ms;
        const std::optional<decode::StageTimes>& cost = m_frameCost[static_cast<std::size_t>(step)];
        if (t.fromCache && cost) {
            ms.vision = cost->vision;
            ms.prefill = cost->prefill;
        }
        return ms;
    };
    std::vector<decode::StageTimes> stages(static_cast<std::size_t>(m_numSteps));
    std::vector<double> arTotals;
    for (int i = 0; i < m_numSteps; ++i)
        if (const decode::ActionTrace* t = trace(i)) stages[i] = withFrameCost(i, *t);
    if (m_settings.mode != decode::DecodeMode::Ar) {
        arTotals.assign(static_cast<std::size_t>(m_numSteps), 0.0);
        for (int i = 0; i < m_numSteps; ++i)
            if (const decode::ActionTrace* t = arTrace(i)) arTotals[i] = withFrameCost(i, *t).total();
    }
    if (m_views.latency) {
        m_views.latency->setSteps(stages, arTotals);
        m_views.latency->setCurrentStep(m_currentStep);
    }
    if (m_views.binDistance) {
        try {
            m_views.binDistance->setHistogram(decode::aggregate(present(m_traces)).binDistance);
            m_views.binDistance->setMargin(m_settings.marginFor(0));
        } catch (const std::exception& e) {
            if (m_views.messages) m_views.messages->showWarning(QString::fromStdString(e.what()));
        }
    }
    if (m_currentDirty) redrawCurrentStep();
}

void DecodeController::redrawCurrentStep() {
    m_currentDirty = false;
    const decode::ActionTrace* t = trace(m_currentStep);
    if (!t) return;
    if (m_views.tree) m_views.tree->setTrace(*t);
    if (m_views.strip) {
        m_views.strip->setStepTrace(m_currentStep, *t);
        m_views.strip->setCurrentStep(m_currentStep);
    }
    if (m_views.frame) {
        std::optional<widgets::Action7> recorded;
        if (m_frames && m_currentStep < static_cast<int>(m_frames->actions.size()))
            recorded = m_frames->actions[static_cast<std::size_t>(m_currentStep)];
        const decode::ActionTrace* ar = arTrace(m_currentStep);
        m_views.frame->setActions(action7(t->action), ar ? action7(ar->action) : std::nullopt, recorded);
    }
    Q_EMIT currentStepViewsUpdated(m_currentStep);
}

void DecodeController::onProgress(int done, int total) {
    if (!m_views.progress) return;
    m_views.progress->setRange(0, std::max(total, 1));
    m_views.progress->setValue(done);
}

void DecodeController::onSweepRow(int margin, const decode::RunMetrics& metrics) {
    m_sweepDoneMargins.push_back(margin);
    m_sweepRows.push_back(metrics);
    if (m_views.progress) {
        m_views.progress->setRange(0, m_sweepMargins.size());
        m_views.progress->setValue(static_cast<int>(m_sweepRows.size()));
    }
    updateSweepPlot();
}

void DecodeController::updateSweepPlot() {
    if (!m_views.sweep) return;
    std::optional<decode::RunMetrics> ar;
    if (m_numSteps > 0 && allPresent(m_arTraces)) ar = decode::aggregate(present(m_arTraces));
    std::vector<double> length, speed, deviation;
    for (const decode::RunMetrics& row : m_sweepRows) {
        length.push_back(row.acceptanceLength);
        speed.push_back(ar ? decode::speedup(*ar, row) : 0.0);
        deviation.push_back(row.hasArReference ? row.meanAbsDevFromAr : 0.0);
    }
    m_views.sweep->setRows(m_sweepDoneMargins, length, speed, deviation);
    m_views.sweep->setCurrentMargin(m_settings.margin);
}

void DecodeController::onFinished(const QString& what) {
    if (what == QLatin1String("sweep")) {
        m_sweeping = false;
        setBusy(false, tr("Sweep done: %1 margins").arg(m_sweepRows.size()));
    } else if (what == QLatin1String("run")) {
        setBusy(false, tr("Episode decoded"));
        continueBackground();
        if (m_sweeping) setBusy(true, tr("Sweeping…"));
    }
}

void DecodeController::onFailed(const QString& message) {
    if (m_loading) {
        m_loading = false;
        m_modelReady = false;
    }
    if (message == QLatin1String("cancelled")) {
        m_sweeping = false;
        // A cancel made by a newer request (a slider move) leaves that request running: stay busy.
        if (m_thread->worker()->pendingRequests() == 0) setBusy(false, tr("Cancelled"));
        return;
    }
    setBusy(false, tr("Failed"));
    if (m_views.messages) m_views.messages->showError(message);
}

void DecodeController::setBusy(bool busy, const QString& message) {
    if (m_views.progress) {
        if (busy) m_views.progress->setRange(0, 0);
        m_views.progress->setVisible(busy);
    }
    if (m_views.cancel) m_views.cancel->setVisible(busy);
    if (m_views.status && !message.isEmpty()) m_views.status->setText(message);
}

} // namespace specvla::app
