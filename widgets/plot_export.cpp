// SPDX-License-Identifier: MIT
#include "plot_export.h"

#include "qcustomplot_include.h"
#include "widget_export.h"

namespace specvla::widgets {

bool isSupportedPlotFormat(const QString& path) {
    return isSupportedExportFormat(path);
}

bool exportPlot(QCustomPlot* plot, const QString& path, const PlotExportOptions& options, QString* error) {
    // One export path for every view (widget_export.h). A plot draws its own title, so it gets no title band.
    WidgetExportOptions o;
    o.width = options.width;
    o.height = options.height;
    o.dpi = options.dpi;
    o.lightTheme = options.lightTheme;
    return exportWidget(plot, path, o, error);
}

bool exportPlot(QCustomPlot* plot, const QString& path, int width, int height, double dpi, QString* error) {
    PlotExportOptions options;
    options.width = width;
    options.height = height;
    options.dpi = dpi;
    return exportPlot(plot, path, options, error);
}

} // namespace specvla::widgets
