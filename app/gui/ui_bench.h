// SPDX-License-Identifier: MIT
#pragma once

// The workbench's UI benchmark (specvla-workbench --bench-ui). Once the model, draft and episode are open and
// the first whole-episode decode (with the AR baseline) is done, it measures through the real window:
//   (a) slider -> views: from setting the margin slider to DecodeController::currentStepViewsUpdated with a
//       trace of the new margin (every current-step view has it then), over sliderSamples margin changes;
//   (b) event-loop stalls while a whole-episode re-decode runs in the background: the gaps between the
//       timeouts of a precise timer of timerMs (max and p99);
//   (c) the wall time of that re-decode at a new margin, from the slider change until every step's trace
//       of the new margin has arrived.
// Results are values here; printing and files are the caller's (no logging from the library).
#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>

#include <vector>

class QTimer;

namespace specvla::app {

class DecodeController;

struct UiBenchOptions {
    int sliderSamples = 24;
    int timerMs = 5;
    int timeoutMs = 15 * 60 * 1000; // the whole run, loading included
};

struct UiBenchResult {
    bool ok = false;
    QString error;
    int steps = 0;
    std::vector<double> sliderMs;
    double sliderMedianMs = 0, sliderP90Ms = 0;
    std::vector<double> gapsMs;
    double stallMaxMs = 0, stallP99Ms = 0;
    double redecodeMs = 0;
    int redecodeMargin = 0;
};

class UiBench : public QObject {
    Q_OBJECT
public:
    UiBench(DecodeController* decode, UiBenchOptions options = {}, QObject* parent = nullptr);

    // Starts waiting for the first whole-episode decode; finished() follows (also on failure or timeout).
    void start();
    const UiBenchResult& result() const { return m_result; }
    QJsonObject toJson() const;
    QStringList reportLines() const; // "bench-ui slider->views: median 12.3 ms, p90 20.1 ms (n=24)", ...

    // Nearest-rank percentile (p in 0..100) of values; 0 for none.
    static double percentile(std::vector<double> values, double p);

Q_SIGNALS:
    void finished(bool ok);

private:
    enum class Phase { Idle, WaitFirst, Slider, WaitSettled, Redecode, Done };
    bool settled() const; // every step decoded at the current settings, the AR baseline too, nothing queued
    bool allAtMargin(int margin) const;
    void poll();
    void nextSliderSample();
    void onViewsUpdated(int step);
    void startRedecode();
    void onTick();
    void finish(const QString& error = {});
    int nextMargin(int from) const;

    DecodeController* m_decode;
    UiBenchOptions m_options;
    UiBenchResult m_result;
    Phase m_phase = Phase::Idle;
    QTimer* m_poll = nullptr;
    QTimer* m_tick = nullptr;
    QElapsedTimer m_clock, m_lastTick;
    int m_target = -1;
};

} // namespace specvla::app
