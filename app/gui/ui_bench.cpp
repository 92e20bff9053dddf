// SPDX-License-Identifier: MIT
#include "gui/ui_bench.h"

#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/decoder_worker.h"

#include "common/runtime.h"

#include <QJsonArray>
#include <QSlider>
#include <QTimer>

#include <algorithm>
#include <cmath>

namespace specvla::app {

namespace {
double ms(const QElapsedTimer& t) {
    return static_cast<double>(t.nsecsElapsed()) / 1e6;
}
double round2(double v) {
    return std::round(v * 100.0) / 100.0;
}
} // namespace

UiBench::UiBench(DecodeController* decode, UiBenchOptions options, QObject* parent)
    : QObject(parent), m_decode(decode), m_options(options) {
    m_poll = new QTimer(this);
    m_poll->setInterval(10);
    connect(m_poll, &QTimer::timeout, this, &UiBench::poll);
    m_tick = new QTimer(this);
    m_tick->setTimerType(Qt::PreciseTimer);
    m_tick->setInterval(std::max(1, m_options.timerMs));
    connect(m_tick, &QTimer::timeout, this, &UiBench::onTick);
    connect(m_decode, &DecodeController::currentStepViewsUpdated, this, &UiBench::onViewsUpdated);
    connect(m_decode->worker(), &DecoderWorker::failed, this, [this](const QString& message) {
        if (m_phase != Phase::Idle && m_phase != Phase::Done && message != QLatin1String("cancelled"))
            finish(message);
    });
}

double UiBench::percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

void UiBench::start() {
    m_result = {};
    m_phase = Phase::WaitFirst;
    // One watchdog for every phase: a benchmark never hangs a headless run.
    QTimer::singleShot(m_options.timeoutMs, this,
                       [this] { finish(tr("timed out after %1 s").arg(m_options.timeoutMs / 1000)); });
    // The slider drives one margin for every dimension: per-dimension margins would hide its effect.
    DecodeControls* c = m_decode->views().controls;
    if (!c) {
        finish(tr("no decoding controls"));
        return;
    }
    c->setMarginsPerDim(std::nullopt);
    // The slider's margin matters in relaxed mode only: measure there.
    decode::DecodeSettings s = c->settings();
    if (s.mode != decode::DecodeMode::Relaxed) {
        s.mode = decode::DecodeMode::Relaxed;
        c->applySettings(s);
    }
    m_poll->start();
}

bool UiBench::settled() const {
    const int n = m_decode->numSteps();
    if (n <= 0 || !m_decode->modelReady() || m_decode->worker()->pendingRequests() != 0) return false;
    const bool needAr = m_decode->settings().mode != decode::DecodeMode::Ar;
    for (int i = 0; i < n; ++i)
        if (!m_decode->trace(i) || (needAr && !m_decode->arTrace(i))) return false;
    return true;
}

bool UiBench::allAtMargin(int margin) const {
    const int n = m_decode->numSteps();
    for (int i = 0; i < n; ++i) {
        const decode::ActionTrace* t = m_decode->trace(i);
        if (!t || t->settings.margin != margin) return false;
    }
    return n > 0;
}

int UiBench::nextMargin(int from) const {
    // Steps of 1..5 bins, wrapping inside the slider's range: always a change, never the same pattern twice
    // in a row.
    const int step = 1 + static_cast<int>(m_result.sliderMs.size() % 5);
    return (from + step) % (DecodeControls::kMaxMargin + 1);
}

void UiBench::poll() {
    if (m_phase == Phase::WaitFirst && settled()) {
        m_poll->stop();
        m_result.steps = m_decode->numSteps();
        m_phase = Phase::Slider;
        nextSliderSample();
    } else if (m_phase == Phase::WaitSettled && settled()) {
        m_poll->stop();
        startRedecode();
    }
}

void UiBench::nextSliderSample() {
    if (m_phase != Phase::Slider) return;
    if (static_cast<int>(m_result.sliderMs.size()) >= m_options.sliderSamples) {
        m_phase = Phase::WaitSettled; // let the last change's episode run finish, then measure (b) and (c)
        m_poll->start();
        return;
    }
    QSlider* slider = m_decode->views().controls->marginSlider();
    m_target = nextMargin(slider->value());
    m_clock.start();
    slider->setValue(m_target);
}

void UiBench::onViewsUpdated(int step) {
    if (m_phase != Phase::Slider || step != m_decode->currentStep()) return;
    const decode::ActionTrace* t = m_decode->trace(step);
    if (!t || t->settings.margin != m_target) return;
    m_result.sliderMs.push_back(ms(m_clock));
    m_target = -1; // a second signal for the same change is not another sample
    // Next change from a fresh event-loop pass, as a user's next slider event would arrive.
    QTimer::singleShot(0, this, &UiBench::nextSliderSample);
}

void UiBench::startRedecode() {
    m_phase = Phase::Redecode;
    QSlider* slider = m_decode->views().controls->marginSlider();
    m_target = nextMargin(slider->value());
    m_result.redecodeMargin = m_target;
    m_result.gapsMs.clear();
    m_tick->start();
    m_lastTick.start();
    m_clock.start();
    slider->setValue(m_target);
}

void UiBench::onTick() {
    if (m_phase != Phase::Redecode) return;
    m_result.gapsMs.push_back(ms(m_lastTick));
    m_lastTick.start();
    if (allAtMargin(m_target)) {
        m_result.redecodeMs = ms(m_clock);
        m_tick->stop();
        finish();
    }
}

void UiBench::finish(const QString& error) {
    if (m_phase == Phase::Done) return;
    m_phase = Phase::Done;
    m_poll->stop();
    m_tick->stop();
    m_result.error = error;
    m_result.ok = error.isEmpty();
    m_result.sliderMedianMs = percentile(m_result.sliderMs, 50);
    m_result.sliderP90Ms = percentile(m_result.sliderMs, 90);
    m_result.stallMaxMs =
        m_result.gapsMs.empty() ? 0.0 : *std::max_element(m_result.gapsMs.begin(), m_result.gapsMs.end());
    m_result.stallP99Ms = percentile(m_result.gapsMs, 99);
    Q_EMIT finished(m_result.ok);
}

QJsonObject UiBench::toJson() const {
    const UiBenchResult& r = m_result;
    QJsonArray samples;
    for (double v : r.sliderMs)
        samples.append(round2(v));
    QJsonObject json{
        {QStringLiteral("bench"), QStringLiteral("ui")},
        {QStringLiteral("ok"), r.ok},
        {QStringLiteral("steps"), r.steps},
        {QStringLiteral("device"), m_decode->device()},
        {QStringLiteral("threads"), specvla::torchThreads()},
        {QStringLiteral("slider_to_views_ms"),
         QJsonObject{{QStringLiteral("n"), static_cast<int>(r.sliderMs.size())},
                     {QStringLiteral("median"), round2(r.sliderMedianMs)},
                     {QStringLiteral("p90"), round2(r.sliderP90Ms)},
                     {QStringLiteral("samples"), samples}}},
        {QStringLiteral("event_loop_stall_ms"),
         QJsonObject{{QStringLiteral("timer_interval_ms"), m_options.timerMs},
                     {QStringLiteral("ticks"), static_cast<int>(r.gapsMs.size())},
                     {QStringLiteral("max"), round2(r.stallMaxMs)},
                     {QStringLiteral("p99"), round2(r.stallP99Ms)}}},
        {QStringLiteral("episode_redecode"), QJsonObject{{QStringLiteral("wall_ms"), round2(r.redecodeMs)},
                                                         {QStringLiteral("steps"), r.steps},
                                                         {QStringLiteral("margin"), r.redecodeMargin}}}};
    if (!r.ok) json.insert(QStringLiteral("error"), r.error);
    return json;
}

QStringList UiBench::reportLines() const {
    const UiBenchResult& r = m_result;
    QStringList lines;
    if (!r.ok) lines << QStringLiteral("bench-ui failed: %1").arg(r.error);
    lines << QStringLiteral("bench-ui slider->views: median %1 ms, p90 %2 ms (n=%3)")
                 .arg(r.sliderMedianMs, 0, 'f', 1)
                 .arg(r.sliderP90Ms, 0, 'f', 1)
                 .arg(r.sliderMs.size());
    lines << QStringLiteral(
                 "bench-ui event-loop stall during re-decode: max %1 ms, p99 %2 ms (%3 ms timer, %4 ticks)")
                 .arg(r.stallMaxMs, 0, 'f', 1)
                 .arg(r.stallP99Ms, 0, 'f', 1)
                 .arg(m_options.timerMs)
                 .arg(r.gapsMs.size());
    lines << QStringLiteral("bench-ui episode re-decode: %1 ms for %2 steps at margin %3 (%4 ms/step)")
                 .arg(r.redecodeMs, 0, 'f', 1)
                 .arg(r.steps)
                 .arg(r.redecodeMargin)
                 .arg(r.steps > 0 ? r.redecodeMs / r.steps : 0.0, 0, 'f', 1);
    return lines;
}

} // namespace specvla::app
