// SPDX-License-Identifier: MIT
#include "plot_export.h"

#include "qcustomplot_include.h"
#include "theme.h"

#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include <cmath>

namespace specvla::widgets {

namespace {

constexpr double kBaseDpi = 96.0;

QString plotTitle(QCustomPlot* plot) {
    for (QCPLayoutElement* element : plot->plotLayout()->elements(true))
        if (auto* text = qobject_cast<QCPTextElement*>(element))
            if (!text->text().isEmpty()) return text->text();
    return QString();
}

// Sets the light palette on the plot for the export and restores the previous one afterwards.
class LightThemeScope {
public:
    LightThemeScope(QCustomPlot* plot, bool enable) : m_plot(plot), m_enabled(enable) {
        if (!m_enabled) return;
        m_hadOwnPalette = plot->testAttribute(Qt::WA_SetPalette);
        m_previous = plot->palette();
        plot->setPalette(lightPalette()); // plots re-theme on QEvent::PaletteChange
    }
    ~LightThemeScope() {
        if (!m_enabled) return;
        m_plot->setPalette(m_hadOwnPalette ? m_previous : QPalette());
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
    LightThemeScope(const LightThemeScope&) = delete;
    LightThemeScope& operator=(const LightThemeScope&) = delete;

private:
    QCustomPlot* m_plot;
    bool m_enabled;
    bool m_hadOwnPalette = false;
    QPalette m_previous;
};

// Lays the plot out at logical size and paints it scaled onto an active painter.
void paintPlot(QCustomPlot* plot, QCPPainter& painter, int logicalWidth, int logicalHeight, double scale,
               bool vector) {
    if (vector) painter.setMode(QCPPainter::pmVectorized);
    if (scale > 1.0) painter.setMode(QCPPainter::pmNonCosmetic);
    painter.scale(scale, scale);
    plot->toPainter(&painter, logicalWidth, logicalHeight);
}

bool writePng(QCustomPlot* plot, QSaveFile& file, const PlotExportOptions& o, int lw, int lh, double scale,
              QString* message) {
    QImage image(o.width, o.height, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white); // toPainter fills the plot background over it
    {
        QCPPainter painter;
        if (!painter.begin(&image)) {
            *message = QStringLiteral("cannot paint the image");
            return false;
        }
        painter.setRenderHint(QPainter::Antialiasing);
        paintPlot(plot, painter, lw, lh, scale, false);
        painter.end();
    }
    // The resolution is recorded after painting: set before, fonts (in points) would be sized for it on top
    // of the painter's dpi / 96 scale, and text would come out too large.
    const int dotsPerMeter = static_cast<int>(std::lround(o.dpi / 0.0254));
    image.setDotsPerMeterX(dotsPerMeter);
    image.setDotsPerMeterY(dotsPerMeter);
    if (!image.save(&file, "PNG")) {
        *message = QStringLiteral("cannot encode PNG: %1").arg(file.errorString());
        return false;
    }
    return true;
}

bool writePdf(QCustomPlot* plot, QSaveFile& file, const PlotExportOptions& o, int lw, int lh,
              double /*scale: the window mapping scales*/, QString* message) {
    QPdfWriter writer(&file);
    // Vector output: the layout's 96 dpi keeps fonts the size they have in the laid-out plot (the page size in
    // points below gives the physical size).
    writer.setResolution(96);
    writer.setCreator(QStringLiteral("SpecVLA Workbench"));
    writer.setTitle(plotTitle(plot));
    const QSizeF points(o.width * 72.0 / o.dpi, o.height * 72.0 / o.dpi);
    writer.setPageLayout(QPageLayout(QPageSize(points, QPageSize::Point, QString(), QPageSize::ExactMatch),
                                     QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
    QCPPainter painter;
    if (!painter.begin(&writer)) {
        *message = QStringLiteral("cannot start the PDF writer");
        return false;
    }
    // Map the logical layout onto the whole page, whatever the writer's device resolution.
    painter.setWindow(QRect(0, 0, lw, lh));
    painter.setViewport(QRect(0, 0, writer.width(), writer.height()));
    paintPlot(plot, painter, lw, lh, 1.0, true);
    if (!painter.end()) {
        *message = QStringLiteral("cannot finish the PDF");
        return false;
    }
    return true;
}

bool writeSvg(QCustomPlot* plot, QSaveFile& file, const PlotExportOptions& o, int lw, int lh, double scale,
              QString* message) {
    QSvgGenerator generator;
    generator.setOutputDevice(&file);
    // Physical size width / dpi inches at the generator's 96 dpi, so that fonts keep their laid-out size
    // (the painter already scales the layout by dpi / 96 into the view box).
    generator.setSize(QSize(static_cast<int>(std::lround(o.width * 96.0 / o.dpi)),
                            static_cast<int>(std::lround(o.height * 96.0 / o.dpi))));
    generator.setViewBox(QRect(0, 0, o.width, o.height));
    generator.setResolution(96);
    generator.setTitle(plotTitle(plot));
    generator.setDescription(QStringLiteral("SpecVLA Workbench plot"));
    QCPPainter painter;
    if (!painter.begin(&generator)) {
        *message = QStringLiteral("cannot start the SVG generator");
        return false;
    }
    paintPlot(plot, painter, lw, lh, scale, true);
    if (!painter.end()) {
        *message = QStringLiteral("cannot finish the SVG");
        return false;
    }
    return true;
}

} // namespace

bool isSupportedPlotFormat(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == QLatin1String("png") || suffix == QLatin1String("pdf") || suffix == QLatin1String("svg");
}

bool exportPlot(QCustomPlot* plot, const QString& path, const PlotExportOptions& options, QString* error) {
    QString message;
    auto fail = [&](const QString& text) {
        if (error) *error = QStringLiteral("Cannot export the plot to %1: %2").arg(path, text);
        return false;
    };
    if (!plot) return fail(QStringLiteral("no plot"));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (!isSupportedPlotFormat(path))
        return fail(QStringLiteral("unsupported format \"%1\" (use .png, .pdf or .svg)").arg(suffix));
    if (options.width <= 0 || options.height <= 0 || options.width > 20000 || options.height > 20000)
        return fail(
            QStringLiteral("size %1 x %2 is outside 1..20000 pixels").arg(options.width).arg(options.height));
    if (!(options.dpi >= 24 && options.dpi <= 2400))
        return fail(QStringLiteral("resolution %1 dpi is outside 24..2400").arg(options.dpi));

    const double scale = options.dpi / kBaseDpi;
    const int lw = std::max(1, static_cast<int>(std::ceil(options.width / scale)));
    const int lh = std::max(1, static_cast<int>(std::ceil(options.height / scale)));

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(file.errorString());

    bool ok = false;
    {
        LightThemeScope theme(plot, options.lightTheme);
        if (suffix == QLatin1String("png"))
            ok = writePng(plot, file, options, lw, lh, scale, &message);
        else if (suffix == QLatin1String("pdf"))
            ok = writePdf(plot, file, options, lw, lh, scale, &message);
        else
            ok = writeSvg(plot, file, options, lw, lh, scale, &message);
    }
    if (!ok) {
        file.cancelWriting();
        return fail(message);
    }
    if (!file.commit()) return fail(file.errorString());
    return true;
}

bool exportPlot(QCustomPlot* plot, const QString& path, int width, int height, double dpi, QString* error) {
    PlotExportOptions options;
    options.width = width;
    options.height = height;
    options.dpi = dpi;
    return exportPlot(plot, path, options, error);
}

} // namespace specvla::widgets
