// SPDX-License-Identifier: MIT
#include "theme.h"

#include "qcustomplot_include.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>
#include <QStyleHints>

#include <algorithm>
#include <cmath>

namespace specvla::widgets {

QString themeKey(Theme theme) {
    switch (theme) {
    case Theme::Light:
        return QStringLiteral("light");
    case Theme::Dark:
        return QStringLiteral("dark");
    case Theme::System:
        break;
    }
    return QStringLiteral("system");
}

std::optional<Theme> themeFromKey(const QString& key) {
    const QString k = key.trimmed().toLower();
    if (k == QLatin1String("system")) return Theme::System;
    if (k == QLatin1String("light")) return Theme::Light;
    if (k == QLatin1String("dark")) return Theme::Dark;
    return std::nullopt;
}

QString themeDisplayName(Theme theme) {
    switch (theme) {
    case Theme::Light:
        return QObject::tr("Light");
    case Theme::Dark:
        return QObject::tr("Dark");
    case Theme::System:
        break;
    }
    return QObject::tr("System");
}

bool isDark(const QPalette& palette) {
    // Compare window and text rather than testing the window alone: a mid-grey window with black text is a
    // light theme, the same window with white text a dark one.
    return relativeLuminance(palette.color(QPalette::Window)) <
           relativeLuminance(palette.color(QPalette::WindowText));
}

QVector<std::pair<QString, QColor>> PlotColors::dataColors() const {
    return {
        {QStringLiteral("foreground"), foreground},     {QStringLiteral("exact"), exact},
        {QStringLiteral("relaxed"), relaxed},           {QStringLiteral("rejected"), rejected},
        {QStringLiteral("notReached"), notReached},     {QStringLiteral("acceptedPath"), acceptedPath},
        {QStringLiteral("arBaseline"), arBaseline},     {QStringLiteral("stageVision"), stageVision},
        {QStringLiteral("stagePrefill"), stagePrefill}, {QStringLiteral("stageDraft"), stageDraft},
        {QStringLiteral("stageVerify"), stageVerify},   {QStringLiteral("stageOther"), stageOther},
    };
}

QVector<QColor> PlotColors::verdictColors() const {
    return {exact, relaxed, rejected, notReached};
}

QVector<QColor> PlotColors::stageColors() const {
    return {stageVision, stagePrefill, stageDraft, stageVerify, stageOther};
}

// Both tables keep every data colour at >= 4.5:1 against their background (tested at >= 3:1, the WCAG
// threshold for graphics), and use the traffic-light order exact/relaxed/rejected = green/amber/red.
PlotColors lightPlotColors() {
    PlotColors c;
    c.dark = false;
    c.background = QColor(0xff, 0xff, 0xff);
    c.foreground = QColor(0x1f, 0x23, 0x28);
    c.grid = QColor(0xd0, 0xd7, 0xde);
    c.subGrid = QColor(0xea, 0xee, 0xf2);
    c.exact = QColor(0x1a, 0x7f, 0x37);
    c.relaxed = QColor(0x9a, 0x67, 0x00);
    c.rejected = QColor(0xcf, 0x22, 0x2e);
    c.notReached = QColor(0x6e, 0x77, 0x81);
    c.acceptedPath = QColor(0x05, 0x50, 0xae);
    c.arBaseline = QColor(0x66, 0x39, 0xba);
    c.stageVision = QColor(0x09, 0x69, 0xda);
    c.stagePrefill = QColor(0xbf, 0x39, 0x89);
    c.stageDraft = QColor(0xbc, 0x4c, 0x00);
    c.stageVerify = QColor(0x1b, 0x7c, 0x83);
    c.stageOther = QColor(0x57, 0x60, 0x6a);
    return c;
}

PlotColors darkPlotColors() {
    PlotColors c;
    c.dark = true;
    c.background = QColor(0x1e, 0x1e, 0x1e);
    c.foreground = QColor(0xe6, 0xed, 0xf3);
    c.grid = QColor(0x3d, 0x44, 0x4d);
    c.subGrid = QColor(0x2c, 0x31, 0x37);
    c.exact = QColor(0x3f, 0xb9, 0x50);
    c.relaxed = QColor(0xd2, 0x99, 0x22);
    c.rejected = QColor(0xf8, 0x51, 0x49);
    c.notReached = QColor(0x8b, 0x94, 0x9e);
    c.acceptedPath = QColor(0x58, 0xa6, 0xff);
    c.arBaseline = QColor(0xbc, 0x8c, 0xff);
    c.stageVision = QColor(0x79, 0xc0, 0xff);
    c.stagePrefill = QColor(0xf7, 0x78, 0xba);
    c.stageDraft = QColor(0xff, 0xa6, 0x57);
    c.stageVerify = QColor(0x56, 0xd4, 0xdd);
    c.stageOther = QColor(0xb1, 0xba, 0xc4);
    return c;
}

PlotColors plotColors(const QPalette& palette) {
    PlotColors c = isDark(palette) ? darkPlotColors() : lightPlotColors();
    const QColor base = palette.color(QPalette::Base);
    const auto data = c.dataColors();
    const bool readable = std::all_of(data.begin(), data.end(), [&](const std::pair<QString, QColor>& entry) {
        return contrastRatio(entry.second, base) >= 3.0;
    });
    if (readable) c.background = base;
    return c;
}

void applyPlotTheme(QCustomPlot* plot, const PlotColors& colors) {
    if (!plot) return;
    plot->setBackground(QBrush(colors.background));

    const QPen axisPen(colors.foreground, 1);
    QPen gridPen(colors.grid, 1, Qt::DotLine);
    QPen subGridPen(colors.subGrid, 1, Qt::DotLine);
    QPen zeroPen(colors.grid, 1, Qt::SolidLine);
    for (QCPAxisRect* rect : plot->axisRects()) {
        rect->setBackground(QBrush(colors.background));
        for (QCPAxis* axis : rect->axes()) {
            axis->setBasePen(axisPen);
            axis->setTickPen(axisPen);
            axis->setSubTickPen(axisPen);
            axis->setTickLabelColor(colors.foreground);
            axis->setLabelColor(colors.foreground);
            axis->grid()->setPen(gridPen);
            axis->grid()->setSubGridPen(subGridPen);
            axis->grid()->setZeroLinePen(zeroPen);
        }
    }
    // Recursive: covers titles in the plot layout and legends in the axis rects' inset layouts.
    for (QCPLayoutElement* element : plot->plotLayout()->elements(true)) {
        if (auto* text = qobject_cast<QCPTextElement*>(element)) text->setTextColor(colors.foreground);
        if (auto* legend = qobject_cast<QCPLegend*>(element)) {
            legend->setBrush(QBrush(colors.background));
            legend->setBorderPen(QPen(colors.grid));
            legend->setTextColor(colors.foreground);
        }
    }
    plot->replot(QCustomPlot::rpQueuedReplot);
}

double relativeLuminance(const QColor& color) {
    const QColor rgb = color.toRgb();
    auto channel = [](double c) { return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(rgb.redF()) + 0.7152 * channel(rgb.greenF()) + 0.0722 * channel(rgb.blueF());
}

double contrastRatio(const QColor& a, const QColor& b) {
    const double la = relativeLuminance(a);
    const double lb = relativeLuminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

QPalette darkPalette() {
    const QColor window(0x2b, 0x2b, 0x2b);
    const QColor base(0x1e, 0x1e, 0x1e);
    const QColor button(0x35, 0x35, 0x35);
    const QColor text(0xe6, 0xe6, 0xe6);
    const QColor disabledText(0x80, 0x80, 0x80);
    const QColor highlight(0x2f, 0x6f, 0xd0);

    QPalette p;
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x26, 0x26));
    p.setColor(QPalette::ToolTipBase, QColor(0x3a, 0x3a, 0x3a));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xff, 0x6b, 0x6b));
    p.setColor(QPalette::Link, QColor(0x6c, 0xb6, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xb3, 0x92, 0xf0));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    // Fusion draws frames and bevels from these.
    p.setColor(QPalette::Light, QColor(0x4a, 0x4a, 0x4a));
    p.setColor(QPalette::Midlight, QColor(0x3e, 0x3e, 0x3e));
    p.setColor(QPalette::Mid, QColor(0x24, 0x24, 0x24));
    p.setColor(QPalette::Dark, QColor(0x1a, 0x1a, 0x1a));
    p.setColor(QPalette::Shadow, QColor(0x0c, 0x0c, 0x0c));

    p.setColor(QPalette::Disabled, QPalette::WindowText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::Text, disabledText);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::Base, window);
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0x50, 0x50, 0x50));
    p.setColor(QPalette::Disabled, QPalette::HighlightedText, disabledText);
    return p;
}

QPalette lightPalette() {
    if (QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion"))) {
        const QPalette p = fusion->standardPalette();
        delete fusion;
        return p;
    }
    return QPalette(QColor(0xef, 0xef, 0xef));
}

void applyApplicationPalette(QApplication& app, Theme theme) {
    // The platform's palette, captured once before this function first overrides it.
    static std::optional<QPalette> systemPalette;

    if (!QApplication::style() ||
        QApplication::style()->name().compare(QLatin1String("fusion"), Qt::CaseInsensitive) != 0) {
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    }
    if (!systemPalette) systemPalette = QApplication::palette();

    QPalette palette;
    switch (theme) {
    case Theme::Light:
        palette = lightPalette();
        break;
    case Theme::Dark:
        palette = darkPalette();
        break;
    case Theme::System:
        palette = *systemPalette;
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
        if (QGuiApplication::styleHints()->colorScheme() == Qt::ColorScheme::Dark && !isDark(palette))
            palette = darkPalette();
#endif
        break;
    }
    app.setPalette(palette);
}

void placeLegendBelow(QCustomPlot* plot) {
    auto* row = new QCPLayoutGrid;
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
    row->setMargins(QMargins(5, 0, 5, 5));
    plot->axisRect()->insetLayout()->take(plot->legend);
    row->addElement(0, 0, plot->legend);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setVisible(true);
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

} // namespace specvla::widgets
