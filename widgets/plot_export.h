// SPDX-License-Identifier: MIT
#pragma once

// Plot export to PNG, PDF or SVG (chosen by the file extension), with the plot's title and legend, at a set
// size and resolution: a thin layer over widget_export.h, which exports every view. Files are written
// atomically through QSaveFile: a failed export leaves no partial file and keeps an existing file untouched.
#include <QString>

class QCustomPlot;

namespace specvla::widgets {

struct PlotExportOptions {
    // Output size in pixels at `dpi` (PNG: the image's pixel size; PDF/SVG: the page or view box, whose
    // physical size is width / dpi by height / dpi inches). The plot is laid out at width * 96 / dpi by
    // height * 96 / dpi device-independent pixels, so a higher dpi gives the same figure at a finer grain.
    int width = 800;
    int height = 500;
    double dpi = 96;
    // Export with the light plot colours whatever the UI theme (the workbench default). Works for plots that
    // re-theme themselves on QEvent::PaletteChange (every plot in this library); the plot's own palette is
    // restored afterwards.
    bool lightTheme = true;
};

// Formats by extension (case-insensitive): "png", "pdf", "svg".
bool isSupportedPlotFormat(const QString& path);

// Returns false with a message in *error (when given) on a null plot, an unsupported extension, a bad
// size or dpi, or an I/O failure.
bool exportPlot(QCustomPlot* plot, const QString& path, const PlotExportOptions& options,
                QString* error = nullptr);
bool exportPlot(QCustomPlot* plot, const QString& path, int width, int height, double dpi = 96,
                QString* error = nullptr);

} // namespace specvla::widgets
