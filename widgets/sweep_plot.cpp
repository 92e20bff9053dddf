// SPDX-License-Identifier: MIT
#include "sweep_plot.h"

#include <QEvent>

#include <algorithm>
#include <limits>

namespace specvla::widgets {

SweepPlot::SweepPlot(QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(240, 180);
    plotLayout()->insertRow(0);
    m_title = new QCPTextElement(this, QStringLiteral("Margin sweep"),
                                 QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    plotLayout()->addElement(0, 0, m_title);

    xAxis->setLabel(QStringLiteral("margin r (bins)"));
    yAxis->setLabel(QStringLiteral("acceptance length (tokens/pass), speedup (\u00d7)"));
    yAxis2->setVisible(true);
    yAxis2->setLabel(QStringLiteral("mean |action \u2212 AR| (normalised)"));
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(ticker);

    m_acceptance = addGraph(xAxis, yAxis);
    m_acceptance->setName(QStringLiteral("acceptance length"));
    m_speedup = addGraph(xAxis, yAxis);
    m_speedup->setName(QStringLiteral("speedup vs AR"));
    m_deviation = addGraph(xAxis, yAxis2);
    m_deviation->setName(QStringLiteral("deviation from AR (right axis)"));
    const QCPScatterStyle::ScatterShape shapes[3] = {QCPScatterStyle::ssDisc, QCPScatterStyle::ssSquare,
                                                     QCPScatterStyle::ssTriangle};
    QCPGraph* graphs[3] = {m_acceptance, m_speedup, m_deviation};
    for (int i = 0; i < 3; ++i) {
        graphs[i]->setLineStyle(QCPGraph::lsLine);
        graphs[i]->setScatterStyle(QCPScatterStyle(shapes[i], 6));
        auto* tracer = new QCPItemTracer(this);
        tracer->setInterpolating(false);
        tracer->setStyle(QCPItemTracer::tsCircle);
        tracer->setSize(11);
        tracer->setSelectable(false);
        tracer->setVisible(false);
        m_tracers[i] = tracer;
    }

    m_marginLine = new QCPItemStraightLine(this);
    m_marginLine->setClipToAxisRect(true);
    m_marginLine->setSelectable(false);
    m_marginLine->setVisible(false);

    placeLegendBelow(this);

    applyColors(plotColors(palette()));
    setRows({}, {}, {}, {});
}

QCPItemTracer* SweepPlot::tracer(int curve) const {
    return curve >= 0 && curve < 3 ? m_tracers[curve] : nullptr;
}

void SweepPlot::setRows(const std::vector<int>& margins, const std::vector<double>& acceptanceLength,
                        const std::vector<double>& speedup, const std::vector<double>& deviation) {
    const std::size_t n = std::min({margins.size(), acceptanceLength.size(), speedup.size()});
    const std::size_t nDev = std::min(n, deviation.size());
    m_rows = static_cast<int>(n);
    QVector<double> keys, acc, spd, devKeys, dev;
    double left = 0, right = 0;
    int lo = std::numeric_limits<int>::max(), hi = std::numeric_limits<int>::min();
    for (std::size_t i = 0; i < n; ++i) {
        keys << margins[i];
        acc << acceptanceLength[i];
        spd << speedup[i];
        left = std::max({left, acceptanceLength[i], speedup[i]});
        lo = std::min(lo, margins[i]);
        hi = std::max(hi, margins[i]);
        if (i < nDev) {
            devKeys << margins[i];
            dev << deviation[i];
            right = std::max(right, deviation[i]);
        }
    }
    m_acceptance->setData(keys, acc); // sorts by margin
    m_speedup->setData(keys, spd);
    m_deviation->setData(devKeys, dev);

    if (n == 0) lo = 0, hi = 1;
    if (m_currentMargin >= 0) lo = std::min(lo, m_currentMargin), hi = std::max(hi, m_currentMargin);
    xAxis->setRange(lo - 0.5, std::max(hi, lo + 1) + 0.5);
    yAxis->setRange(0, left > 0 ? left * 1.12 : 1.0);
    yAxis2->setRange(0, right > 0 ? right * 1.12 : 1.0);
    updateMarks();
    replot(rpQueuedReplot);
}

void SweepPlot::setCurrentMargin(int margin) {
    m_currentMargin = margin < 0 ? -1 : margin;
    if (m_currentMargin >= 0) {
        const QCPRange range = xAxis->range();
        if (m_currentMargin < range.lower || m_currentMargin > range.upper)
            xAxis->setRange(std::min(range.lower, m_currentMargin - 0.5),
                            std::max(range.upper, m_currentMargin + 0.5));
    }
    updateMarks();
    replot(rpQueuedReplot);
}

void SweepPlot::updateMarks() {
    const bool visible = m_currentMargin >= 0;
    m_marginLine->setVisible(visible);
    m_marginLine->point1->setCoords(m_currentMargin, 0);
    m_marginLine->point2->setCoords(m_currentMargin, 1);
    QCPGraph* graphs[3] = {m_acceptance, m_speedup, m_deviation};
    for (int i = 0; i < 3; ++i) {
        // A marker only where the sweep has a row at exactly this margin.
        const auto data = graphs[i]->data();
        const auto it = data->findBegin(m_currentMargin, false);
        const bool hasRow = visible && it != data->constEnd() && it->key == m_currentMargin;
        m_tracers[i]->setVisible(hasRow);
        if (!hasRow) continue;
        // Attached only while it has data to follow (an empty graph makes QCPItemTracer complain).
        m_tracers[i]->setGraph(graphs[i]);
        m_tracers[i]->setGraphKey(m_currentMargin);
        m_tracers[i]->updatePosition();
    }
}

void SweepPlot::applyColors(const PlotColors& colors) {
    applyPlotTheme(this, colors);
    const QColor curveColors[3] = {colors.acceptedPath, colors.exact, colors.rejected};
    QCPGraph* graphs[3] = {m_acceptance, m_speedup, m_deviation};
    for (int i = 0; i < 3; ++i) {
        graphs[i]->setPen(QPen(curveColors[i], 2));
        QCPScatterStyle scatter = graphs[i]->scatterStyle();
        scatter.setPen(QPen(curveColors[i], 1.5));
        scatter.setBrush(colors.background);
        graphs[i]->setScatterStyle(scatter);
        m_tracers[i]->setPen(QPen(curveColors[i], 2));
        m_tracers[i]->setBrush(Qt::NoBrush);
    }
    m_deviation->setPen(QPen(colors.rejected, 2, Qt::DashLine));
    m_marginLine->setPen(QPen(colors.relaxed, 2, Qt::DashLine));
    replot(rpQueuedReplot);
}

void SweepPlot::changeEvent(QEvent* event) {
    QCustomPlot::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyColors(plotColors(palette()));
}

} // namespace specvla::widgets
