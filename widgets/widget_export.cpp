// SPDX-License-Identifier: MIT
#include "widget_export.h"

#include "qcustomplot_include.h"
#include "theme.h"
#include "token_run_strip.h"

#include <QFileInfo>
#include <QFontMetricsF>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QPointer>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

#include <algorithm>
#include <cmath>

namespace specvla::widgets {

namespace {

constexpr double kBaseDpi = 96.0; // device-independent pixels per inch
constexpr int kMaxSide = 20000;
constexpr double kMaxPixels = 200e6; // PNG memory bound: 800 MB of ARGB

// The figure in device-independent pixels: a title band on top, the widget's content below.
struct Figure {
    double scale = 1;    // output pixels per layout pixel (dpi / 96)
    QSizeF size;         // width / scale by height / scale
    double band = 0;     // title band height
    QRectF content;      // below the band
    bool vector = false; // PDF / SVG
};

QString validate(QWidget* widget, const WidgetExportOptions& o) {
    if (!widget) return QStringLiteral("no widget");
    if (o.width <= 0 || o.height <= 0 || o.width > kMaxSide || o.height > kMaxSide)
        return QStringLiteral("size %1 x %2 is outside 1..%3 pixels")
            .arg(o.width)
            .arg(o.height)
            .arg(kMaxSide);
    if (!(o.dpi >= 24 && o.dpi <= 2400))
        return QStringLiteral("resolution %1 dpi is outside 24..2400").arg(o.dpi);
    return QString();
}

QFont titleFont(const QWidget* widget) {
    QFont font = widget->font();
    font.setBold(true);
    if (font.pointSizeF() > 0)
        font.setPointSizeF(font.pointSizeF() * 1.3);
    else
        font.setPixelSize(static_cast<int>(std::lround(font.pixelSize() * 1.3)));
    return font;
}

Figure layOut(QWidget* widget, const WidgetExportOptions& o, bool vector) {
    Figure f;
    f.vector = vector;
    f.scale = o.dpi / kBaseDpi;
    f.size = QSizeF(o.width / f.scale, o.height / f.scale);
    if (!o.title.isEmpty()) {
        const QFontMetricsF metrics(titleFont(widget), widget);
        // Never more than a third of the figure, so a tiny export still shows the content.
        f.band = std::min(std::ceil(metrics.height() * 1.9), std::floor(f.size.height() / 3));
    }
    f.content = QRectF(0, f.band, f.size.width(), f.size.height() - f.band);
    return f;
}

// Sets the light palette for the export and puts back the widget's own afterwards; plots re-theme on the
// palette change and replot (queued) for the screen once the export is done, as toPainter leaves their layout
// at the export size.
class ExportScope {
public:
    ExportScope(QWidget* widget, bool light) : m_widget(widget), m_light(light) {
        if (m_light) {
            m_hadOwnPalette = widget->testAttribute(Qt::WA_SetPalette);
            m_previous = widget->palette();
            widget->setPalette(lightPalette());
        }
    }
    ~ExportScope() {
        if (!m_widget) return;
        if (m_light) m_widget->setPalette(m_hadOwnPalette ? m_previous : QPalette());
        if (auto* plot = qobject_cast<QCustomPlot*>(m_widget.data()))
            plot->replot(QCustomPlot::rpQueuedReplot);
        for (QCustomPlot* plot : m_widget->findChildren<QCustomPlot*>())
            plot->replot(QCustomPlot::rpQueuedReplot);
    }
    ExportScope(const ExportScope&) = delete;
    ExportScope& operator=(const ExportScope&) = delete;

private:
    QPointer<QWidget> m_widget;
    bool m_light;
    bool m_hadOwnPalette = false;
    QPalette m_previous;
};

// Lays a widget out at the export size for the export and restores its size afterwards.
class SizeScope {
public:
    SizeScope(QWidget* widget, const QSize& size) : m_widget(widget), m_previous(widget->size()) {
        m_resized = size.isValid() && size != m_previous;
        if (m_resized) widget->resize(size);
    }
    ~SizeScope() {
        if (m_resized && m_widget) m_widget->resize(m_previous);
    }
    SizeScope(const SizeScope&) = delete;
    SizeScope& operator=(const SizeScope&) = delete;

private:
    QPointer<QWidget> m_widget;
    QSize m_previous;
    bool m_resized = false;
};

// Paints widget and its children in widget coordinates (the painter is already mapped), only inside
// `visible`. Plots go through toPainter (vector art, any resolution); subtrees without plots go through
// QWidget::render in one call.
void paintTree(QCPPainter& p, QWidget* widget, const QRect& visible) {
    if (auto* plot = qobject_cast<QCustomPlot*>(widget)) {
        p.save();
        if (visible != plot->rect()) p.setClipRect(visible, Qt::IntersectClip);
        plot->toPainter(&p, plot->width(), plot->height());
        p.restore();
        return;
    }
    // QWidget::render places the source region's top-left at targetOffset: keep widget coordinates.
    const QRegion region(visible);
    if (widget->findChildren<QCustomPlot*>().isEmpty()) {
        widget->render(&p, visible.topLeft(), region, QWidget::DrawWindowBackground | QWidget::DrawChildren);
        return;
    }
    widget->render(&p, visible.topLeft(), region, QWidget::DrawWindowBackground);
    for (QObject* object : widget->children()) { // children are in stacking order, bottom first
        auto* child = qobject_cast<QWidget*>(object);
        if (!child || child->isWindow() || child->isHidden()) continue;
        const QRect inChild = visible.intersected(child->geometry()).translated(-child->pos());
        if (inChild.isEmpty()) continue;
        p.save();
        p.translate(child->pos());
        paintTree(p, child, inChild);
        p.restore();
    }
}

// The widget's content into the rectangle (0, 0, size) of the painter.
void paintContent(QCPPainter& p, QWidget* widget, const QSizeF& size, const WidgetExportOptions& o,
                  const PlotColors& colors) {
    const QSize whole(std::max(1, static_cast<int>(std::floor(size.width()))),
                      std::max(1, static_cast<int>(std::floor(size.height()))));
    if (auto* plot = qobject_cast<QCustomPlot*>(widget)) {
        plot->toPainter(&p, whole.width(), whole.height());
        return;
    }
    if (auto* strip = qobject_cast<TokenRunStrip*>(widget)) {
        p.setFont(strip->font());
        strip->render(&p, QRect(QPoint(0, 0), whole), colors);
        return;
    }
    const bool keep = o.keepSize || widget->isWindow();
    SizeScope sized(widget, keep ? QSize() : whole);
    QRect source = widget->rect();
    if (keep && !o.sourceRect.isEmpty()) source = o.sourceRect.intersected(widget->rect());
    if (source.isEmpty()) return;
    // A widget whose minimum or maximum size overruled the export size is scaled to fit, centred.
    double fit = std::min(size.width() / source.width(), size.height() / source.height());
    if (!keep && std::abs(fit - 1.0) < 0.01) fit = 1.0;
    p.save();
    p.translate((size.width() - source.width() * fit) / 2, (size.height() - source.height() * fit) / 2);
    p.scale(fit, fit);
    p.translate(-source.topLeft());
    paintTree(p, widget, source);
    p.restore();
}

// The whole figure in layout pixels onto an active painter that maps them to the device.
void paintFigure(QCPPainter& p, QWidget* widget, const Figure& f, const WidgetExportOptions& o) {
    // Cosmetic pens would stay one device pixel wide at any dpi; vector devices keep text as text.
    p.setMode(QCPPainter::pmNonCosmetic, true);
    p.setMode(QCPPainter::pmVectorized, f.vector);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    p.setRenderHint(QPainter::SmoothPixmapTransform);

    const PlotColors colors = plotColors(widget->palette());
    p.fillRect(QRectF(QPointF(0, 0), f.size), colors.background);
    if (f.band > 0) {
        const QFont font = titleFont(widget);
        p.setFont(font);
        p.setPen(colors.foreground);
        const QRectF text(12, 0, f.size.width() - 24, f.band);
        p.drawText(text, Qt::AlignLeft | Qt::AlignVCenter,
                   QFontMetricsF(p.font(), p.device()).elidedText(o.title, Qt::ElideRight, text.width()));
        p.setPen(QPen(colors.grid, 1));
        p.drawLine(QPointF(0, f.band - 0.5), QPointF(f.size.width(), f.band - 0.5));
    }
    p.save();
    p.setClipRect(f.content, Qt::IntersectClip);
    p.translate(f.content.topLeft());
    p.setFont(widget->font());
    paintContent(p, widget, f.content.size(), o, colors);
    p.restore();
}

QImage paintImage(QWidget* widget, const WidgetExportOptions& o) {
    if (static_cast<double>(o.width) * o.height > kMaxPixels) return QImage();
    QImage image(o.width, o.height, QImage::Format_ARGB32_Premultiplied);
    if (image.isNull()) return image;
    image.fill(Qt::white);
    const Figure f = layOut(widget, o, false);
    // Painting at a device pixel ratio keeps layout units and lets widgets draw their pixmaps at full grain.
    image.setDevicePixelRatio(f.scale);
    {
        QCPPainter painter;
        if (!painter.begin(&image)) return QImage();
        paintFigure(painter, widget, f, o);
        painter.end();
    }
    image.setDevicePixelRatio(1.0);
    // Set only now: fonts are resolved against the device's dpi while painting.
    const int dotsPerMeter = static_cast<int>(std::lround(o.dpi / 0.0254));
    image.setDotsPerMeterX(dotsPerMeter);
    image.setDotsPerMeterY(dotsPerMeter);
    return image;
}

bool writePng(QWidget* widget, QSaveFile& file, const WidgetExportOptions& o, QString* message) {
    const QImage image = paintImage(widget, o);
    if (image.isNull()) {
        *message = QStringLiteral("cannot allocate a %1 x %2 image").arg(o.width).arg(o.height);
        return false;
    }
    if (!image.save(&file, "PNG")) {
        *message = QStringLiteral("cannot encode PNG: %1").arg(file.errorString());
        return false;
    }
    return true;
}

// Vector devices resolve fonts at 96 dpi (the layout's unit) and carry the physical size in their page or
// size; the painter maps layout pixels onto them.
bool writePdf(QWidget* widget, QSaveFile& file, const WidgetExportOptions& o, QString* message) {
    QPdfWriter writer(&file);
    writer.setResolution(static_cast<int>(kBaseDpi));
    writer.setCreator(QStringLiteral("SpecVLA Workbench"));
    writer.setTitle(o.title);
    const QSizeF points(o.width * 72.0 / o.dpi, o.height * 72.0 / o.dpi);
    writer.setPageLayout(QPageLayout(QPageSize(points, QPageSize::Point, QString(), QPageSize::ExactMatch),
                                     QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
    const Figure f = layOut(widget, o, true);
    QCPPainter painter;
    if (!painter.begin(&writer)) {
        *message = QStringLiteral("cannot start the PDF writer");
        return false;
    }
    painter.setViewport(QRect(0, 0, writer.width(), writer.height()));
    painter.setWindow(QRect(0, 0, o.width, o.height));
    painter.scale(f.scale, f.scale);
    paintFigure(painter, widget, f, o);
    if (!painter.end()) {
        *message = QStringLiteral("cannot finish the PDF");
        return false;
    }
    return true;
}

bool writeSvg(QWidget* widget, QSaveFile& file, const WidgetExportOptions& o, QString* message) {
    QSvgGenerator generator;
    generator.setOutputDevice(&file);
    generator.setResolution(static_cast<int>(kBaseDpi));
    // Physical size width / dpi inches; user units are output pixels.
    generator.setSize(QSize(static_cast<int>(std::lround(o.width * kBaseDpi / o.dpi)),
                            static_cast<int>(std::lround(o.height * kBaseDpi / o.dpi))));
    generator.setViewBox(QRect(0, 0, o.width, o.height));
    generator.setTitle(o.title);
    generator.setDescription(QStringLiteral("SpecVLA Workbench export"));
    const Figure f = layOut(widget, o, true);
    QCPPainter painter;
    if (!painter.begin(&generator)) {
        *message = QStringLiteral("cannot start the SVG generator");
        return false;
    }
    painter.scale(f.scale, f.scale);
    paintFigure(painter, widget, f, o);
    if (!painter.end()) {
        *message = QStringLiteral("cannot finish the SVG");
        return false;
    }
    return true;
}

} // namespace

bool isSupportedExportFormat(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == QLatin1String("png") || suffix == QLatin1String("pdf") || suffix == QLatin1String("svg");
}

QString exportFileFilter() {
    return QStringLiteral("PNG image (*.png);;PDF document (*.pdf);;SVG image (*.svg)");
}

QImage renderWidgetImage(QWidget* widget, const WidgetExportOptions& options) {
    if (!validate(widget, options).isEmpty()) return QImage();
    ExportScope scope(widget, options.lightTheme);
    return paintImage(widget, options);
}

bool exportWidget(QWidget* widget, const QString& path, const WidgetExportOptions& options, QString* error) {
    auto fail = [&](const QString& text) {
        if (error) *error = QStringLiteral("Cannot export to %1: %2").arg(path, text);
        return false;
    };
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (!isSupportedExportFormat(path))
        return fail(QStringLiteral("unsupported format \"%1\" (use .png, .pdf or .svg)").arg(suffix));
    const QString invalid = validate(widget, options);
    if (!invalid.isEmpty()) return fail(invalid);

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(file.errorString());
    QString message;
    bool ok = false;
    {
        ExportScope scope(widget, options.lightTheme);
        if (suffix == QLatin1String("png"))
            ok = writePng(widget, file, options, &message);
        else if (suffix == QLatin1String("pdf"))
            ok = writePdf(widget, file, options, &message);
        else
            ok = writeSvg(widget, file, options, &message);
    }
    if (!ok) {
        file.cancelWriting();
        return fail(message);
    }
    if (!file.commit()) return fail(file.errorString());
    return true;
}

} // namespace specvla::widgets
