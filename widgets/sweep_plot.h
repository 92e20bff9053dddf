// SPDX-License-Identifier: MIT
#pragma once

// Margin sweep: acceptance length and speedup (left axis) and action deviation from AR (right axis) against
// the relaxation margin r, with the current margin marked. Input: one row per swept margin, already
// aggregated (RunMetrics::acceptanceLength, decode::speedup, RunMetrics::meanAbsDevFromAr).
#include "qcustomplot_include.h"
#include "theme.h"

#include <vector>

namespace specvla::widgets {

class SweepPlot : public QCustomPlot {
    Q_OBJECT

public:
    explicit SweepPlot(QWidget* parent = nullptr);

    // Parallel vectors, one entry per margin (any order). Only the first min(sizes) rows are used, except
    // that an empty deviation vector leaves the deviation curve empty (no AR reference).
    void setRows(const std::vector<int>& margins, const std::vector<double>& acceptanceLength,
                 const std::vector<double>& speedup, const std::vector<double>& deviation);
    int rowCount() const { return m_rows; }

    // Marks margin r with a vertical line and a marker on each curve at the nearest swept margin; negative
    // hides the marks.
    void setCurrentMargin(int margin);
    int currentMargin() const { return m_currentMargin; }

    void applyColors(const PlotColors& colors);

    // For tests and exports.
    QCPGraph* acceptanceGraph() const { return m_acceptance; }
    QCPGraph* speedupGraph() const { return m_speedup; }
    QCPGraph* deviationGraph() const { return m_deviation; }
    QCPItemStraightLine* marginLine() const { return m_marginLine; }
    QCPItemTracer* tracer(int curve) const; // 0 acceptance, 1 speedup, 2 deviation
    QCPTextElement* titleElement() const { return m_title; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void updateMarks();

    int m_rows = 0;
    int m_currentMargin = -1;
    QCPTextElement* m_title = nullptr;
    QCPGraph* m_acceptance = nullptr;
    QCPGraph* m_speedup = nullptr;
    QCPGraph* m_deviation = nullptr;
    QCPItemStraightLine* m_marginLine = nullptr;
    QCPItemTracer* m_tracers[3] = {nullptr, nullptr, nullptr};
};

} // namespace specvla::widgets
