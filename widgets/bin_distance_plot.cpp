// SPDX-License-Identifier: MIT
#include "bin_distance_plot.h"

#include <QEvent>

#include <algorithm>

namespace specvla::widgets {

namespace {

constexpr int kDimensions = 7;

const std::vector<int>& pick(const std::vector<int>& overall, const std::vector<std::vector<int>>& perDim,
                             int dimension) {
    static const std::vector<int> empty;
    if (dimension < 0) return overall;
    if (dimension >= static_cast<int>(perDim.size())) return empty;
    return perDim[static_cast<std::size_t>(dimension)];
}

void setCounts(QCPBars* bars, const std::vector<int>& counts) {
    QVector<double> keys, values;
    keys.reserve(static_cast<int>(counts.size()));
    values.reserve(static_cast<int>(counts.size()));
    for (std::size_t i = 0; i < counts.size(); ++i) {
        keys << static_cast<double>(i);
        values << counts[i];
    }
    bars->setData(keys, values, true);
}

} // namespace

BinDistancePlot::BinDistancePlot(QWidget* parent) : QCustomPlot(parent) {
    setMinimumSize(240, 180);
    plotLayout()->insertRow(0);
    m_title =
        new QCPTextElement(this, QString(), QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    plotLayout()->addElement(0, 0, m_title);

    xAxis->setLabel(QStringLiteral("|draft bin \u2212 target bin|"));
    yAxis->setLabel(QStringLiteral("draft tokens"));
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(ticker);
    xAxis->grid()->setVisible(false);

    m_group = new QCPBarsGroup(this);
    m_group->setSpacingType(QCPBarsGroup::stAbsolute);
    m_group->setSpacing(1);
    m_accepted = new QCPBars(xAxis, yAxis);
    m_accepted->setName(QStringLiteral("accepted"));
    m_accepted->setWidth(0.4);
    m_accepted->setBarsGroup(m_group);
    m_rejected = new QCPBars(xAxis, yAxis);
    m_rejected->setName(QStringLiteral("rejected"));
    m_rejected->setWidth(0.4);
    m_rejected->setBarsGroup(m_group);

    m_marginLine = new QCPItemStraightLine(this);
    m_marginLine->setClipToAxisRect(true);
    m_marginLine->setSelectable(false);
    m_marginLabel = new QCPItemText(this);
    m_marginLabel->setClipToAxisRect(true);
    m_marginLabel->setSelectable(false);
    m_marginLabel->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_marginLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_marginLabel->setPadding(QMargins(4, 2, 4, 2));

    legend->setVisible(true);
    axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

    applyColors(plotColors(palette()));
    rebuild();
}

QString BinDistancePlot::dimensionLabel(int dimension) {
    static const char* const names[kDimensions] = {"x", "y", "z", "roll", "pitch", "yaw", "gripper"};
    if (dimension < 0 || dimension >= kDimensions) return QStringLiteral("all dimensions");
    return QStringLiteral("dimension %1 (%2)").arg(dimension).arg(QLatin1String(names[dimension]));
}

void BinDistancePlot::setHistogram(const decode::BinDistanceHistogram& histogram) {
    m_histogram = histogram;
    rebuild();
}

void BinDistancePlot::setDimension(int dimension) {
    if (dimension < kAllDimensions || dimension >= kDimensions) return;
    m_dimension = dimension;
    rebuild();
}

void BinDistancePlot::setMargin(int margin) {
    m_margin = margin;
    rebuild(); // the x range covers the margin
}

void BinDistancePlot::rebuild() {
    const std::vector<int>& accepted = pick(m_histogram.accepted, m_histogram.acceptedPerDim, m_dimension);
    const std::vector<int>& rejected = pick(m_histogram.rejected, m_histogram.rejectedPerDim, m_dimension);
    setCounts(m_accepted, accepted);
    setCounts(m_rejected, rejected);

    const int bins = static_cast<int>(std::max(accepted.size(), rejected.size()));
    const int lastKey = std::max({bins - 1, m_margin + 1, 1});
    xAxis->setRange(-0.6, lastKey + 0.6);
    int peak = 0;
    for (int v : accepted)
        peak = std::max(peak, v);
    for (int v : rejected)
        peak = std::max(peak, v);
    yAxis->setRange(0, peak > 0 ? peak * 1.15 : 1.0);

    m_title->setText(QStringLiteral("Bin distance to the target, %1").arg(dimensionLabel(m_dimension)));
    updateMarginLine();
    replot(rpQueuedReplot);
}

void BinDistancePlot::updateMarginLine() {
    const bool visible = m_margin >= 0;
    m_marginLine->setVisible(visible);
    m_marginLabel->setVisible(visible);
    const double x = m_margin + 0.5;
    m_marginLine->point1->setCoords(x, 0);
    m_marginLine->point2->setCoords(x, 1);
    m_marginLabel->position->setCoords(x, 0.0);
    m_marginLabel->setText(QStringLiteral("margin r = %1").arg(m_margin));
}

void BinDistancePlot::applyColors(const PlotColors& colors) {
    applyPlotTheme(this, colors);
    QColor acceptedFill = colors.acceptedPath;
    acceptedFill.setAlpha(200);
    m_accepted->setPen(QPen(colors.acceptedPath, 1));
    m_accepted->setBrush(acceptedFill);
    QColor rejectedFill = colors.rejected;
    rejectedFill.setAlpha(200);
    m_rejected->setPen(QPen(colors.rejected, 1));
    m_rejected->setBrush(rejectedFill);
    m_marginLine->setPen(QPen(colors.relaxed, 2, Qt::DashLine));
    m_marginLabel->setColor(colors.relaxed);
    m_marginLabel->setFont(QFont(font().family(), font().pointSize()));
    replot(rpQueuedReplot);
}

void BinDistancePlot::changeEvent(QEvent* event) {
    QCustomPlot::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyColors(plotColors(palette()));
}

} // namespace specvla::widgets
