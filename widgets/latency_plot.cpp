// SPDX-License-Identifier: MIT
#include "latency_plot.h"

#include <QEvent>

#include <algorithm>

namespace specvla::widgets {

namespace {

double stageValue(const decode::StageTimes& t, int stage) {
    switch (stage) {
    case 0:
        return t.vision;
    case 1:
        return t.prefill;
    case 2:
        return t.draft;
    case 3:
        return t.verify;
    default:
        return t.other;
    }
}

} // namespace

LatencyPlot::LatencyPlot(QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(240, 180);
    plotLayout()->insertRow(0);
    m_title = new QCPTextElement(this, QStringLiteral("Latency per step"),
                                 QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    plotLayout()->addElement(0, 0, m_title);

    xAxis->setLabel(QStringLiteral("step"));
    yAxis->setLabel(QStringLiteral("ms per action"));
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(ticker);
    xAxis->grid()->setVisible(false);

    QCPBars* below = nullptr;
    for (int s = 0; s < kStages; ++s) {
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(stageName(s));
        bars->setWidth(0.7);
        bars->setStackingGap(0);
        if (below) bars->moveAbove(below);
        m_stages[static_cast<std::size_t>(s)] = bars;
        below = bars;
    }
    m_ar = addGraph(xAxis, yAxis);
    m_ar->setName(QStringLiteral("AR total"));
    m_ar->setLineStyle(QCPGraph::lsLine);

    m_cursor = new QCPItemStraightLine(this);
    m_cursor->setClipToAxisRect(true);
    m_cursor->setSelectable(false);
    m_cursor->setVisible(false);

    placeLegendBelow(this); // a row of its own below the axis rect: it never hides bars

    applyColors(plotColors(palette()));
    setSteps({}, {});
}

QString LatencyPlot::stageName(int stage) {
    switch (stage) {
    case 0:
        return QStringLiteral("vision");
    case 1:
        return QStringLiteral("prefill");
    case 2:
        return QStringLiteral("draft");
    case 3:
        return QStringLiteral("verify");
    default:
        return QStringLiteral("other");
    }
}

void LatencyPlot::setSteps(const std::vector<decode::StageTimes>& mode,
                           const std::vector<double>& arTotalMs) {
    m_steps = static_cast<int>(std::max(mode.size(), arTotalMs.size()));
    double peak = 0;
    for (int s = 0; s < kStages; ++s) {
        QVector<double> keys, values;
        for (std::size_t i = 0; i < mode.size(); ++i) {
            keys << static_cast<double>(i);
            values << stageValue(mode[i], s);
        }
        m_stages[static_cast<std::size_t>(s)]->setData(keys, values, true);
    }
    for (const auto& t : mode)
        peak = std::max(peak, t.total());
    QVector<double> keys, values;
    for (std::size_t i = 0; i < arTotalMs.size(); ++i) {
        keys << static_cast<double>(i);
        values << arTotalMs[i];
        peak = std::max(peak, arTotalMs[i]);
    }
    m_ar->setData(keys, values, true);
    // Markers on the AR line only while they stay readable.
    QCPScatterStyle scatter = m_ar->scatterStyle();
    scatter.setShape(arTotalMs.size() <= 60 ? QCPScatterStyle::ssDisc : QCPScatterStyle::ssNone);
    scatter.setSize(5);
    m_ar->setScatterStyle(scatter);

    xAxis->setRange(-0.6, std::max(m_steps, 1) - 0.4);
    yAxis->setRange(0, peak > 0 ? peak * 1.1 : 1.0);
    updateCursor();
    replot(rpQueuedReplot);
}

void LatencyPlot::setCurrentStep(int step) {
    m_currentStep = step < 0 ? -1 : step;
    updateCursor();
    replot(rpQueuedReplot);
}

void LatencyPlot::updateCursor() {
    m_cursor->setVisible(m_currentStep >= 0);
    m_cursor->point1->setCoords(m_currentStep, 0);
    m_cursor->point2->setCoords(m_currentStep, 1);
}

void LatencyPlot::applyColors(const PlotColors& colors) {
    applyPlotTheme(this, colors);
    const QVector<QColor> stages = colors.stageColors();
    for (int s = 0; s < kStages; ++s) {
        QCPBars* bars = m_stages[static_cast<std::size_t>(s)];
        bars->setPen(QPen(colors.background, 0.5));
        bars->setBrush(stages.value(s));
    }
    m_ar->setPen(QPen(colors.arBaseline, 2));
    QCPScatterStyle scatter = m_ar->scatterStyle();
    scatter.setPen(QPen(colors.arBaseline));
    scatter.setBrush(colors.arBaseline);
    m_ar->setScatterStyle(scatter);
    m_cursor->setPen(QPen(colors.foreground, 1.5, Qt::DashLine));
    replot(rpQueuedReplot);
}

void LatencyPlot::changeEvent(QEvent* event) {
    QCustomPlot::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyColors(plotColors(palette()));
}

} // namespace specvla::widgets
