// SPDX-License-Identifier: MIT
#pragma once

// Histogram of |draft bin - target bin| for accepted and rejected draft tokens, overall or for one action
// dimension, with the current relaxation margin marked. It shows already-aggregated counts
// (decode::BinDistanceHistogram from decode::aggregate) and computes nothing itself.
#include "decode/metrics.h"
#include "qcustomplot_include.h"
#include "theme.h"

namespace specvla::widgets {

class BinDistancePlot : public QCustomPlot {
    Q_OBJECT

public:
    static constexpr int kAllDimensions = -1;

    explicit BinDistancePlot(QWidget* parent = nullptr);

    void setHistogram(const decode::BinDistanceHistogram& histogram);
    const decode::BinDistanceHistogram& histogram() const { return m_histogram; }

    // -1 = all dimensions, 0..6 = one action dimension; other values are ignored.
    void setDimension(int dimension);
    int dimension() const { return m_dimension; }

    // The relaxation margin r in bins; the dashed line sits at x = r + 0.5, between the last distance the
    // rule accepts (r) and the first it rejects (r + 1). Negative hides the line.
    void setMargin(int margin);
    int margin() const { return m_margin; }

    // Re-colours series and axes (called on palette changes; exports call it with the light set).
    void applyColors(const PlotColors& colors);

    // For tests and exports.
    QCPBars* acceptedBars() const { return m_accepted; }
    QCPBars* rejectedBars() const { return m_rejected; }
    QCPItemStraightLine* marginLine() const { return m_marginLine; }
    QCPTextElement* titleElement() const { return m_title; }

    // "all dimensions" or "dimension 3 (roll)".
    static QString dimensionLabel(int dimension);

protected:
    void changeEvent(QEvent* event) override;

private:
    void rebuild();
    void updateMarginLine();

    decode::BinDistanceHistogram m_histogram;
    int m_dimension = kAllDimensions;
    int m_margin = 0;
    QCPTextElement* m_title = nullptr;
    QCPBars* m_accepted = nullptr;
    QCPBars* m_rejected = nullptr;
    QCPBarsGroup* m_group = nullptr;
    QCPItemStraightLine* m_marginLine = nullptr;
    QCPItemText* m_marginLabel = nullptr;
};

} // namespace specvla::widgets
