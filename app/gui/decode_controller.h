// SPDX-License-Identifier: MIT
#pragma once

// Connects the decoder worker to the decoding views (DESIGN.md, Threading and Views). It owns the worker's
// thread, keeps the traces of the current settings and the AR traces per step, drives the one step cursor,
// and coalesces redraws on a short timer. The UI thread never touches libtorch: it only sends requests and
// receives value snapshots.
#include "data/episode.h"
#include "decode/metrics.h"
#include "decode/settings.h"
#include "decode/trace.h"
#include "gui/decoder_worker.h"

#include <QObject>
#include <QSet>
#include <QString>
#include <QVector>

#include <memory>
#include <optional>
#include <vector>

class QAction;
class QLabel;
class QProgressBar;
class QTimer;
class QToolButton;
template <typename T>
class QFutureWatcher;

namespace specvla::widgets {
class BinDistancePlot;
class DraftTreeView;
class FrameView;
class LatencyPlot;
class MessageBar;
class SweepPlot;
class Timeline;
class TokenRunStrip;
} // namespace specvla::widgets

namespace specvla::app {

class DecodeControls;
class DecoderThread;
class DecoderWorker;

// The widgets the controller drives; the window owns them.
struct DecodeViews {
    widgets::FrameView* frame = nullptr;
    widgets::Timeline* timeline = nullptr;
    widgets::DraftTreeView* tree = nullptr;
    widgets::TokenRunStrip* strip = nullptr;
    widgets::BinDistancePlot* binDistance = nullptr;
    widgets::LatencyPlot* latency = nullptr;
    widgets::SweepPlot* sweep = nullptr;
    DecodeControls* controls = nullptr;
    widgets::MessageBar* messages = nullptr;
    QLabel* status = nullptr;
    QProgressBar* progress = nullptr;
    QToolButton* cancel = nullptr;
};

class DecodeController : public QObject {
    Q_OBJECT
public:
    static constexpr int kRedrawMs = 30;

    DecodeController(const DecodeViews& views, QObject* parent = nullptr);
    ~DecodeController() override;

    // Load (or reload) with the controls' device, dtype and statistics key. An empty draft: AR only.
    void openModel(const QString& modelDir);
    // Model and draft head at once (one load), as a session opens them.
    void openModel(const QString& modelDir, const QString& draftDir);
    void openDraft(const QString& draftDir);
    void openEpisode(const QString& path);
    void reloadModel();

    QString modelDir() const { return m_modelDir; }
    QString draftDir() const { return m_draftDir; }
    QString episodePath() const { return m_episodePath; }
    bool modelReady() const { return m_modelReady; }
    bool hasDraft() const { return m_modelReady && m_hasDraft; }
    // The device the last load asked the worker for ("cpu" / "cuda"), from the controls.
    QString device() const { return m_device; }
    int numSteps() const { return m_numSteps; }
    int currentStep() const { return m_currentStep; }
    const decode::DecodeSettings& settings() const { return m_settings; }
    // The trace of step for the current settings, null until it arrives.
    const decode::ActionTrace* trace(int step) const;
    const decode::ActionTrace* arTrace(int step) const;
    // The finished rows of the last margin sweep, in the order they arrived (margins()[i] ↔ rows()[i]).
    const std::vector<int>& sweepMargins() const { return m_sweepDoneMargins; }
    const std::vector<decode::RunMetrics>& sweepRows() const { return m_sweepRows; }
    QList<QAction*> playbackActions() const { return m_playbackActions; }
    DecoderWorker* worker() const;
    const DecodeViews& views() const { return m_views; }

public Q_SLOTS:
    void setCurrentStep(int step);
    void setSettings(const specvla::decode::DecodeSettings& settings);
    void runEpisode();
    void startSweep(const QVector<int>& margins = {});
    void cancel();

Q_SIGNALS:
    // After a redraw that showed a new trace of the current step (tests and benchmarks wait on it).
    void currentStepViewsUpdated(int step);
    void modelReadyChanged(bool ready);
    void episodeReady(int numSteps);

private:
    void onModelLoaded(const QString& modelDir, bool hasDraft);
    void onEpisodeLoaded(const QString& path, int numSteps, const QString& instruction);
    void onStepDecoded(int step, const decode::ActionTrace& trace);
    void onProgress(int done, int total);
    void onSweepRow(int margin, const decode::RunMetrics& metrics);
    void onFinished(const QString& what);
    void onFailed(const QString& message);
    void onFrameRead();
    void readFrames(const QString& path);

    bool matchesSettings(const decode::ActionTrace& trace) const;
    bool canDecode() const;
    void requestCurrentAndEpisode();
    void continueBackground(); // AR baseline first, then the current settings, when either is incomplete
    void scheduleRedraw();
    void redraw();
    void redrawCurrentStep();
    void updateSweepPlot();
    void clearSweep(); // a sweep describes one model and episode: forgotten when either changes
    void setBusy(bool busy, const QString& message);

    DecodeViews m_views;
    std::unique_ptr<DecoderThread> m_thread;
    QTimer* m_redrawTimer = nullptr;
    QFutureWatcher<std::shared_ptr<data::Episode>>* m_frameWatcher = nullptr;
    QList<QAction*> m_playbackActions;

    QString m_modelDir, m_draftDir, m_episodePath, m_device;
    bool m_modelReady = false;
    bool m_hasDraft = false;
    bool m_sweeping = false;
    bool m_loading = false;
    bool m_arRunRequested = false;      // reset by every user change, so a failing run is not retried
    bool m_currentRunRequested = false; // in a loop
    int m_numSteps = 0;
    int m_currentStep = 0;
    decode::DecodeSettings m_settings;
    std::vector<std::optional<decode::ActionTrace>> m_traces;   // current settings, per step
    std::vector<std::optional<decode::ActionTrace>> m_arTraces; // AR baseline, per step
    // Per step, the vision and prefill cost of the frame, from its first decode: later decodes of the frame
    // (the AR baseline, a new margin) reuse that work and carry none of it, so the latency plot adds it back
    // to compare like with like.
    std::vector<std::optional<decode::StageTimes>> m_frameCost;
    std::shared_ptr<data::Episode> m_frames; // images and recorded actions
    QString m_frameError;                    // written by the reading task, read when it has finished
    QSet<int> m_dirtySteps;
    bool m_currentDirty = false;
    QVector<int> m_sweepMargins;
    std::vector<int> m_sweepDoneMargins;
    std::vector<decode::RunMetrics> m_sweepRows;
};

} // namespace specvla::app
