// SPDX-License-Identifier: MIT
#pragma once

// Per-step latency: the mode's stage times (vision, prefill, draft, verify, other) as stacked bars, the AR
// total per step beside them as a line, and a cursor at the current step. Input: measured StageTimes and AR
// totals in ms; the plot computes nothing beyond stacking them.
#include "decode/trace.h"
#include "qcustomplot_include.h"
#include "theme.h"

#include <array>
#include <vector>

namespace specvla::widgets {

class LatencyPlot : public QCustomPlot {
    Q_OBJECT

public:
    static constexpr int kStages = 5; // vision, prefill, draft, verify, other (bottom to top)

    explicit LatencyPlot(QWidget* parent = nullptr);

    // mode[i]: stage times of step i; arTotalMs[i]: AR total of step i (may be empty or shorter).
    void setSteps(const std::vector<decode::StageTimes>& mode, const std::vector<double>& arTotalMs);
    int stepCount() const { return m_steps; }

    // Moves the cursor; -1 hides it. Steps are 0-based.
    void setCurrentStep(int step);
    int currentStep() const { return m_currentStep; }

    void applyColors(const PlotColors& colors);

    static QString stageName(int stage); // "vision", "prefill", "draft", "verify", "other"

    // For tests and exports.
    QCPBars* stageBars(int stage) const { return m_stages.at(static_cast<std::size_t>(stage)); }
    QCPGraph* arGraph() const { return m_ar; }
    QCPItemStraightLine* cursor() const { return m_cursor; }
    QCPTextElement* titleElement() const { return m_title; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void updateCursor();

    int m_steps = 0;
    int m_currentStep = -1;
    QCPTextElement* m_title = nullptr;
    std::array<QCPBars*, kStages> m_stages{};
    QCPGraph* m_ar = nullptr;
    QCPItemStraightLine* m_cursor = nullptr;
};

} // namespace specvla::widgets
