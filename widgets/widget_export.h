// SPDX-License-Identifier: MIT
#pragma once

// Export of any widget (custom-painted views, QCustomPlot plots, whole windows) to PNG, PDF or SVG, chosen
// by the file extension, with a title band above the widget's content, at a set pixel size and resolution.
// Files are written atomically through QSaveFile: a failed export leaves no partial file and keeps an
// existing file untouched.
//
// How a widget is drawn:
// - The figure is laid out in device-independent pixels: width * 96 / dpi by height * 96 / dpi, the title
//   band at the top, the widget below it. A higher dpi gives the same figure at a finer grain.
// - A QCustomPlot (also one nested anywhere in the widget) is painted through QCustomPlot::toPainter, so
//   it stays vector art in PDF and SVG and sharp in PNG, with its own title, axis labels and legend.
// - A TokenRunStrip is drawn whole (every step, no scrolling, no cursor), as its render() does for exports.
// - Any other widget is resized to the content area for the export and painted with QWidget::render; its
//   size is restored afterwards. Windows (and keepSize) keep their size and are scaled to fit instead, so a
//   visible window never changes geometry under the user.
// - lightTheme swaps in the light palette for the export (plots re-theme on QEvent::PaletteChange) and puts
//   back the widget's own palette afterwards.
//
// PNG: width x height pixels, physical resolution dpi stored in the file. PDF: one page of width / dpi by
// height / dpi inches. SVG: a view box of width x height, a physical size of width / dpi by height / dpi
// inches.
#include <QImage>
#include <QRect>
#include <QString>

class QWidget;

namespace specvla::widgets {

struct WidgetExportOptions {
    int width = 1200; // pixels at dpi, 1..20000
    int height = 800;
    double dpi = 96; // 24..2400
    QString title;   // the band above the content; none when empty
    bool lightTheme = true;
    // Paint the widget at its current size, scaled to fit the content area, instead of laying it out at the
    // export size. Always so for windows.
    bool keepSize = false;
    // With keepSize (or a window): the part of the widget to draw, in widget coordinates; empty = all.
    QRect sourceRect;
};

// Formats by extension (case-insensitive): "png", "pdf", "svg".
bool isSupportedExportFormat(const QString& path);
// "PNG image (*.png);;PDF document (*.pdf);;SVG image (*.svg)", for file dialogs.
QString exportFileFilter();

// The figure as a width x height image (device pixel ratio 1, dots per metre from dpi). A null image on a
// null widget, a bad size or dpi, or when the image cannot be allocated.
QImage renderWidgetImage(QWidget* widget, const WidgetExportOptions& options);

// Returns false with a message in *error (when given) on a null widget, an unsupported extension, a bad
// size or dpi, or an I/O failure.
bool exportWidget(QWidget* widget, const QString& path, const WidgetExportOptions& options,
                  QString* error = nullptr);

} // namespace specvla::widgets
