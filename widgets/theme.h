// SPDX-License-Identifier: MIT
#pragma once

#include <QColor>
#include <QPalette>
#include <QString>
#include <QVector>

#include <optional>
#include <utility>

class QApplication;
class QCustomPlot;

namespace specvla::widgets {

// The application theme the user picks; System follows the platform (and its colour scheme on Qt >= 6.5).
enum class Theme { System, Light, Dark };

QString themeKey(Theme theme);                         // "system", "light", "dark" (stable, for settings)
std::optional<Theme> themeFromKey(const QString& key); // nullopt for anything else
QString themeDisplayName(Theme theme);                 // "System", "Light", "Dark"

// True when the palette draws light text on a dark window.
bool isDark(const QPalette& palette);

// Colours of every plot and verdict mark, one set per theme, so that plots read well in both and exported
// figures can use the light set whatever the UI theme is.
struct PlotColors {
    bool dark = false;
    QColor background;
    QColor foreground; // axes, tick labels, titles, legend text
    QColor grid;
    QColor subGrid;

    // Draft-token verdicts (draft tree nodes, token-run strip).
    QColor exact;
    QColor relaxed;
    QColor rejected;
    QColor notReached;
    QColor acceptedPath;
    QColor arBaseline; // the autoregressive reference in comparisons

    // Latency stages.
    QColor stageVision;
    QColor stagePrefill;
    QColor stageDraft;
    QColor stageVerify;
    QColor stageOther;

    // Everything drawn on the background (not grid or background), named, for legends and contrast tests.
    QVector<std::pair<QString, QColor>> dataColors() const;
    QVector<QColor> verdictColors() const; // exact, relaxed, rejected, not reached
    QVector<QColor> stageColors() const;   // vision, prefill, draft, verify, other
};

PlotColors lightPlotColors();
PlotColors darkPlotColors();
// The set matching the palette: the light or dark table, with the palette's own base colour as background
// when every data colour keeps at least 3:1 contrast against it.
PlotColors plotColors(const QPalette& palette);

// Axes, ticks, labels, grids, legend and text elements of every axis rect; queues a replot.
void applyPlotTheme(QCustomPlot* plot, const PlotColors& colors);
// Moves the plot's legend into a row of its own below the axis rect (one line, columns first), so it never
// hides data.
void placeLegendBelow(QCustomPlot* plot);

// WCAG 2 relative luminance (0 black .. 1 white) and contrast ratio (1 .. 21).
double relativeLuminance(const QColor& color);
double contrastRatio(const QColor& a, const QColor& b);

// A dark palette for the Fusion style.
QPalette darkPalette();
QPalette lightPalette();
// Switches the application to the Fusion style and the theme's palette. System uses the platform's palette
// (dark when the platform reports a dark colour scheme, Qt >= 6.5).
void applyApplicationPalette(QApplication& app, Theme theme);

} // namespace specvla::widgets
