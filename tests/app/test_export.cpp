// SPDX-License-Identifier: MIT
// Exports: any widget to PNG, SVG and PDF (valid, non-blank, titled, at the asked size, in the light theme,
// atomically), and the workbench's ExportController on tiny real-layout fixtures: every view and the
// dashboard in all three formats, traces and sweep rows as CSV and JSON whose numbers equal the controller's,
// the menu actions, and the errors when there is nothing to export.
#include "bin_distance_plot.h"
#include "decode/metrics.h"
#include "decode/trace_io.h"
#include "draft_tree_view.h"
#include "frame_view.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/decoder_worker.h"
#include "gui/export_controller.h"
#include "gui/main_window.h"
#include "latency_plot.h"
#include "support/gui_fixtures.h"
#include "support/tiny_model.h"
#include "sweep_plot.h"
#include "theme.h"
#include "token_run_strip.h"
#include "widget_export.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QMenu>
#include <QPainter>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QVBoxLayout>
#include <QtTest>

#include <tuple>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

using specvla::app::DecodeController;
using specvla::app::ExportController;
using specvla::app::MainWindow;
namespace decode = specvla::decode;
namespace widgets = specvla::widgets;
using nlohmann::json;

namespace {

constexpr int kSteps = 3;
constexpr int kWaitMs = 60000;
const QColor kMarkRed(220, 20, 20);
const QColor kMarkBlue(20, 40, 200);

// Paints its window colour, a red block at the top left, a blue disc at the bottom right and a line of text,
// and records the size it was painted at.
class PaintedWidget : public QWidget {
public:
    QSize paintedSize;
    QSize sizeHint() const override { return {300, 200}; }

protected:
    void paintEvent(QPaintEvent*) override {
        paintedSize = size();
        QPainter p(this);
        p.fillRect(rect(), palette().color(QPalette::Window));
        p.fillRect(QRect(0, 0, width() / 3, height() / 3), kMarkRed);
        p.setBrush(kMarkBlue);
        p.setPen(Qt::NoPen);
        p.drawEllipse(QRect(width() * 2 / 3, height() * 2 / 3, width() / 4, height() / 4));
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(rect(), Qt::AlignCenter, QStringLiteral("painted content"));
    }
};

bool near(const QColor& a, const QColor& b, int tolerance = 40) {
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

struct ImageStats {
    int colours = 0;           // distinct colours among sampled pixels
    double nonBackground = 0;  // share of sampled pixels that differ from the most frequent colour
    QMap<QRgb, int> histogram; // sampled colour counts
};

ImageStats stats(const QImage& source) {
    const QImage image = source.convertToFormat(QImage::Format_RGB32);
    ImageStats s;
    int total = 0;
    const int step = std::max(1, std::min(image.width(), image.height()) / 200);
    for (int y = 0; y < image.height(); y += step)
        for (int x = 0; x < image.width(); x += step) {
            ++s.histogram[image.pixel(x, y)];
            ++total;
        }
    int top = 0;
    for (int count : std::as_const(s.histogram))
        top = std::max(top, count);
    s.colours = s.histogram.size();
    s.nonBackground = total > 0 ? 1.0 - static_cast<double>(top) / total : 0;
    return s;
}

bool contains(const QImage& image, const QColor& colour, int tolerance = 40) {
    const ImageStats s = stats(image);
    for (auto it = s.histogram.constBegin(); it != s.histogram.constEnd(); ++it)
        if (near(QColor(it.key()), colour, tolerance)) return true;
    return false;
}

// Non-blank: several colours and a real share of pixels off the background.
bool nonBlank(const QImage& image, double minShare = 0.01) {
    const ImageStats s = stats(image);
    return !image.isNull() && s.colours >= 4 && s.nonBackground >= minShare;
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// pdftoppm (poppler-utils) renders the first page; a missing tool fails the test.
QImage rasterizePdf(const QString& pdf, QString* why) {
    const QString tool = QStandardPaths::findExecutable(QStringLiteral("pdftoppm"));
    if (tool.isEmpty()) {
        *why = QStringLiteral("pdftoppm is not installed (poppler-utils)");
        return QImage();
    }
    const QString prefix = pdf + QStringLiteral(".page");
    QProcess process;
    process.start(tool, {QStringLiteral("-png"), QStringLiteral("-r"), QStringLiteral("50"),
                         QStringLiteral("-singlefile"), pdf, prefix});
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        *why =
            QStringLiteral("pdftoppm failed: %1").arg(QString::fromLocal8Bit(process.readAllStandardError()));
        return QImage();
    }
    QImage image(prefix + QStringLiteral(".png"));
    if (image.isNull()) *why = QStringLiteral("pdftoppm wrote no readable PNG");
    return image;
}

QImage rasterizeSvg(const QString& svg, QString* why, QSize size = QSize()) {
    QSvgRenderer renderer(svg);
    if (!renderer.isValid()) {
        *why = QStringLiteral("QSvgRenderer rejects %1").arg(svg);
        return QImage();
    }
    if (!size.isValid()) size = renderer.defaultSize();
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    renderer.render(&p);
    p.end();
    return image;
}

// Checks a PNG, SVG or PDF export: valid, non-blank, and (SVG, PDF) the title is in it.
void verifyExportFile(const QString& path, const QSize& pixels, const QString& title) {
    const QString suffix = QFileInfo(path).suffix();
    QVERIFY2(QFileInfo(path).size() > 0, qPrintable(path));
    QString why;
    if (suffix == QLatin1String("png")) {
        const QImage image(path);
        QVERIFY2(!image.isNull(), qPrintable(path));
        QCOMPARE(image.size(), pixels);
        QVERIFY2(nonBlank(image), qPrintable(path));
    } else if (suffix == QLatin1String("svg")) {
        const QByteArray bytes = readAll(path);
        QVERIFY(bytes.startsWith("<?xml"));
        QVERIFY2(bytes.contains(title.toHtmlEscaped().toUtf8()) || bytes.contains(title.toUtf8()),
                 qPrintable(path));
        const QImage image = rasterizeSvg(path, &why, pixels / 2);
        QVERIFY2(!image.isNull(), qPrintable(why));
        QVERIFY2(nonBlank(image), qPrintable(path));
    } else {
        const QByteArray bytes = readAll(path);
        QVERIFY(bytes.startsWith("%PDF-"));
        QVERIFY2(bytes.trimmed().endsWith("%%EOF"), qPrintable(path));
        const QImage page = rasterizePdf(path, &why);
        QVERIFY2(!page.isNull(), qPrintable(why));
        QVERIFY2(nonBlank(page), qPrintable(path));
    }
}

bool allDecoded(const DecodeController* c) {
    for (int i = 0; i < c->numSteps(); ++i)
        if (!c->trace(i) || !c->arTrace(i)) return false;
    return c->numSteps() > 0;
}

std::vector<std::vector<std::string>> parseCsv(const QByteArray& bytes) {
    // The files' fields contain no quotes or commas except lists, which are space separated.
    std::vector<std::vector<std::string>> rows;
    for (const QByteArray& line : bytes.split('\n')) {
        if (line.isEmpty()) continue;
        std::vector<std::string> fields;
        for (const QByteArray& field : line.split(','))
            fields.push_back(field.toStdString());
        rows.push_back(fields);
    }
    return rows;
}

std::string joined(const std::vector<int>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i)
        out += (i ? " " : "") + std::to_string(values[i]);
    return out;
}

std::vector<decode::ActionTrace> tracesOf(const DecodeController* c, bool ar) {
    std::vector<decode::ActionTrace> traces;
    for (int i = 0; i < c->numSteps(); ++i)
        traces.push_back(ar ? *c->arTrace(i) : *c->trace(i));
    return traces;
}

} // namespace

class TestExport : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QTemporaryDir m_settingsDir;
    QString m_model, m_draft, m_episode;

    QString path(const QString& name) const { return m_dir.filePath(name); }

    void loadFixtures(MainWindow& window) {
        specvla::testing::openTinyFixtures(window, m_model, m_draft, m_episode);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        const auto f = specvla::testing::prepareGuiSuite(m_dir.path(), m_settingsDir.path(), kSteps);
        std::tie(m_model, m_draft, m_episode) = std::tie(f.model, f.draft, f.episode);
    }

    void formats() {
        QVERIFY(widgets::isSupportedExportFormat(QStringLiteral("a/b.PNG")));
        QVERIFY(widgets::isSupportedExportFormat(QStringLiteral("b.pdf")));
        QVERIFY(widgets::isSupportedExportFormat(QStringLiteral("b.svg")));
        QVERIFY(!widgets::isSupportedExportFormat(QStringLiteral("b.jpg")));
        QVERIFY(!widgets::isSupportedExportFormat(QStringLiteral("png")));
    }

    // A custom-painted widget in a dark palette exports in the light theme, laid out at the export size,
    // with its title, and comes back with its own size and palette.
    void paintedWidgetAllFormats() {
        QWidget window;
        auto* layout = new QVBoxLayout(&window);
        auto* widget = new PaintedWidget;
        layout->addWidget(widget);
        widget->setPalette(widgets::darkPalette());
        window.resize(320, 220);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QSize ownSize = widget->size();

        widgets::WidgetExportOptions o;
        o.width = 720;
        o.height = 480;
        o.dpi = 144; // layout 480 x 320 device-independent pixels
        o.title = QStringLiteral("Painted widget export");

        const QString png = path(QStringLiteral("painted.png"));
        QString error;
        QVERIFY2(widgets::exportWidget(widget, png, o, &error), qPrintable(error));
        verifyExportFile(png, QSize(720, 480), o.title);
        // Laid out at the content area: the full layout width, the height less the title band.
        QCOMPARE(widget->paintedSize.width(), 480);
        QVERIFY(widget->paintedSize.height() < 320 && widget->paintedSize.height() > 240);
        QCOMPARE(widget->size(), ownSize);
        QCOMPARE(widget->palette().color(QPalette::Window), widgets::darkPalette().color(QPalette::Window));

        QImage image(png);
        QCOMPARE(image.dotsPerMeterX(), static_cast<int>(std::lround(144 / 0.0254)));
        // The red block sits at the top left of the content (below the band), the disc at the bottom right.
        const int band = 480 - widget->paintedSize.height() * 3 / 2;
        QVERIFY(band > 10);
        const int contentHeight = 480 - band;
        QVERIFY(near(image.pixelColor(30, band + 30), kMarkRed));
        QVERIFY(
            near(image.pixelColor(720 * 2 / 3 + 720 / 8, band + contentHeight * 2 / 3 + contentHeight / 8),
                 kMarkBlue));
        // Light theme: the band and the widget's window colour are light although the widget is dark.
        QVERIFY(widgets::relativeLuminance(image.pixelColor(700, 5)) > 0.8);
        QVERIFY(widgets::relativeLuminance(image.pixelColor(400, band + 40)) > 0.5);
        // The title band carries dark text on the light band.
        bool darkText = false;
        for (int x = 0; x < 360 && !darkText; ++x)
            for (int y = 0; y < band && !darkText; ++y)
                darkText = widgets::relativeLuminance(image.pixelColor(x, y)) < 0.1;
        QVERIFY(darkText);

        // Without the light theme the widget's own dark palette shows.
        o.lightTheme = false;
        const QImage dark = widgets::renderWidgetImage(widget, o);
        QCOMPARE(dark.size(), QSize(720, 480));
        QVERIFY(widgets::relativeLuminance(dark.pixelColor(400, band + 40)) < 0.1);
        o.lightTheme = true;

        const QString svg = path(QStringLiteral("painted.svg"));
        QVERIFY2(widgets::exportWidget(widget, svg, o, &error), qPrintable(error));
        verifyExportFile(svg, QSize(720, 480), o.title);
        QVERIFY(readAll(svg).contains("painted content"));
        QSvgRenderer renderer(svg);
        QCOMPARE(renderer.viewBox(), QRect(0, 0, 720, 480));
        QString why;
        const QImage svgImage = rasterizeSvg(svg, &why, QSize(720, 480));
        QVERIFY(contains(svgImage, kMarkRed, 10));
        QVERIFY(contains(svgImage, kMarkBlue, 10));

        const QString pdf = path(QStringLiteral("painted.pdf"));
        QVERIFY2(widgets::exportWidget(widget, pdf, o, &error), qPrintable(error));
        verifyExportFile(pdf, QSize(720, 480), o.title);
        const QImage page = rasterizePdf(pdf, &why);
        // 720 px at 144 dpi = 5 inches = 250 px at 50 dpi.
        QVERIFY2(std::abs(page.width() - 250) <= 2 && std::abs(page.height() - 167) <= 2,
                 qPrintable(QStringLiteral("%1 x %2").arg(page.width()).arg(page.height())));
        QVERIFY(contains(page, kMarkRed, 30));
        QVERIFY(contains(page, kMarkBlue, 30));
        QCOMPARE(widget->size(), ownSize);

        // A window keeps its geometry: drawn at its own size, scaled to fit.
        const QSize windowSize = window.size();
        const QImage whole = widgets::renderWidgetImage(&window, o);
        QCOMPARE(whole.size(), QSize(720, 480));
        QVERIFY(nonBlank(whole));
        QCOMPARE(window.size(), windowSize);
        QCOMPARE(widget->paintedSize, ownSize);
        QVERIFY(contains(whole, kMarkRed, 10));
    }

    // Unsupported formats, bad sizes and unwritable paths fail with a message; an existing file survives.
    void failuresKeepExistingFiles() {
        PaintedWidget widget;
        widget.resize(200, 100);
        widgets::WidgetExportOptions o;
        o.width = 200;
        o.height = 100;

        const QString existing = path(QStringLiteral("keep.bmp"));
        {
            QFile f(existing);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("original");
        }
        QString error;
        QVERIFY(!widgets::exportWidget(&widget, existing, o, &error));
        QVERIFY2(error.contains(QStringLiteral("unsupported")), qPrintable(error));
        QCOMPARE(readAll(existing), QByteArray("original"));

        const QString existingPng = path(QStringLiteral("keep.png"));
        {
            QFile f(existingPng);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("original png");
        }
        const QStringList before = QDir(m_dir.path()).entryList(QDir::Files);
        o.dpi = 5;
        error.clear();
        QVERIFY(!widgets::exportWidget(&widget, existingPng, o, &error));
        QVERIFY2(error.contains(QStringLiteral("dpi")), qPrintable(error));
        o.dpi = 96;
        o.width = 0;
        error.clear();
        QVERIFY(!widgets::exportWidget(&widget, existingPng, o, &error));
        QVERIFY2(error.contains(QStringLiteral("size")), qPrintable(error));
        o.width = 200;
        error.clear();
        QVERIFY(!widgets::exportWidget(nullptr, existingPng, o, &error));
        QVERIFY(!error.isEmpty());
        QCOMPARE(readAll(existingPng), QByteArray("original png"));

        // A folder that cannot exist (its parent is a file): fails, writes nothing anywhere.
        const QString unwritable = existing + QStringLiteral("/sub/out.png");
        error.clear();
        QVERIFY(!widgets::exportWidget(&widget, unwritable, o, &error));
        QVERIFY(error.contains(unwritable));
        QVERIFY(!QFileInfo::exists(unwritable));
        QCOMPARE(QDir(m_dir.path()).entryList(QDir::Files), before); // no temporary files left behind

        // A successful export replaces the existing file.
        QVERIFY2(widgets::exportWidget(&widget, existingPng, o, &error), qPrintable(error));
        QCOMPARE(QImage(existingPng).size(), QSize(200, 100));
    }

    // The plots keep their titles, axis labels and legends in vector exports.
    void plotsKeepTitleAxesAndLegend() {
        widgets::SweepPlot sweep;
        sweep.setRows({0, 4, 8}, {1.5, 2.0, 2.4}, {1.1, 1.3, 1.4}, {0.0, 0.01, 0.03});
        widgets::LatencyPlot latency;
        decode::StageTimes t;
        t.vision = 3, t.prefill = 4, t.draft = 2, t.verify = 5, t.other = 1;
        latency.setSteps({t, t}, {20.0, 22.0});
        widgets::BinDistancePlot bins;
        decode::BinDistanceHistogram h;
        h.accepted = {5, 3, 1};
        h.rejected = {0, 2, 6};
        bins.setHistogram(h);
        bins.setMargin(1);

        struct Case {
            QWidget* plot;
            QString name;
            QStringList texts;
        };
        const QList<Case> cases = {
            {&sweep,
             QStringLiteral("sweep"),
             {QStringLiteral("Margin sweep"), QStringLiteral("margin r (bins)"),
              QStringLiteral("acceptance length"), QStringLiteral("speedup vs AR"),
              QStringLiteral("deviation from AR")}},
            {&latency,
             QStringLiteral("latency"),
             {QStringLiteral("Latency per step"), QStringLiteral("ms per action"), QStringLiteral("step"),
              QStringLiteral("verify"), QStringLiteral("AR total")}},
            {&bins,
             QStringLiteral("bins"),
             {QStringLiteral("Bin distance to the target"), QStringLiteral("draft tokens"),
              QStringLiteral("accepted"), QStringLiteral("rejected"), QStringLiteral("margin r = 1")}},
        };
        widgets::WidgetExportOptions o;
        o.width = 900;
        o.height = 600;
        o.dpi = 150;
        o.title = QStringLiteral("Plot export title");
        for (const Case& c : cases) {
            const QString svg = path(c.name + QStringLiteral(".svg"));
            QString error;
            QVERIFY2(widgets::exportWidget(c.plot, svg, o, &error), qPrintable(error));
            verifyExportFile(svg, QSize(900, 600), o.title);
            const QByteArray bytes = readAll(svg);
            for (const QString& text : c.texts)
                QVERIFY2(bytes.contains(text.toUtf8()), qPrintable(c.name + QStringLiteral(": ") + text));
            const QString png = path(c.name + QStringLiteral(".png"));
            QVERIFY2(widgets::exportWidget(c.plot, png, o, &error), qPrintable(error));
            verifyExportFile(png, QSize(900, 600), o.title);
        }
        // The sweep's curves are drawn in the light colours.
        const QImage sweepImage(path(QStringLiteral("sweep.png")));
        QVERIFY(contains(sweepImage, widgets::lightPlotColors().acceptedPath, 20));
        const QImage latencyImage(path(QStringLiteral("latency.png")));
        QVERIFY(contains(latencyImage, widgets::lightPlotColors().stageVerify, 20));
    }

    // Nothing decoded: traces and sweep exports fail clearly and write nothing.
    void nothingToExport() {
        MainWindow window;
        ExportController exporter(window.decodeController(), &window);
        QSignalSpy failed(&exporter, &ExportController::exportFailed);
        QSignalSpy exported(&exporter, &ExportController::exported);
        const QString csv = path(QStringLiteral("empty_traces.csv"));
        QString error;
        QVERIFY(!exporter.exportTraces(csv, &error));
        QVERIFY2(error.contains(QStringLiteral("nothing is decoded")), qPrintable(error));
        QVERIFY(!QFileInfo::exists(csv));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.last().at(0).toString(), error);
        QVERIFY(!exporter.exportSweep(path(QStringLiteral("empty_sweep.json")), &error));
        QVERIFY2(error.contains(QStringLiteral("no margin sweep")), qPrintable(error));
        QVERIFY(!exporter.exportTraces(path(QStringLiteral("traces.xlsx")), &error));
        QVERIFY2(error.contains(QStringLiteral("unsupported")), qPrintable(error));
        QCOMPARE(exported.count(), 0);
        QMenu menu;
        exporter.populateMenu(&menu);
        QVERIFY(!exporter.tracesAction()->isEnabled());
        QVERIFY(!exporter.sweepAction()->isEnabled());
        QVERIFY(exporter.dashboardAction()->isEnabled());
    }

    void workbenchExports() {
        MainWindow window;
        window.resize(1280, 860);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        DecodeController* c = window.decodeController();
        loadFixtures(window);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(c->views().latency->stepCount(), kSteps, kWaitMs);
        for (int i = 0; i < kSteps; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(c->views().strip->row(i).present, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(c->views().tree->roundCount() > 0, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!c->views().frame->image().isNull(), kWaitMs);

        ExportController exporter(c, &window);
        exporter.setExportSize({800, 520, 120});
        QCOMPARE(exporter.exportSize().dpi, 120.0);
        QSignalSpy exported(&exporter, &ExportController::exported);
        QSignalSpy failed(&exporter, &ExportController::exportFailed);

        // Every view in every format.
        const QStringList formats = {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")};
        for (ExportController::View view : ExportController::views()) {
            QVERIFY(exporter.viewWidget(view));
            const QString title = exporter.viewTitle(view);
            QVERIFY(title.startsWith(ExportController::viewName(view)));
            for (const QString& format : formats) {
                const QString file = path(exporter.defaultFileName(view) + QLatin1Char('.') + format);
                QString error;
                QVERIFY2(exporter.exportView(view, file, &error), qPrintable(error));
                verifyExportFile(file, QSize(800, 520), ExportController::viewName(view));
                if (QTest::currentTestFailed()) QFAIL(qPrintable(QStringLiteral("view export ") + file));
                QCOMPARE(exported.last().at(0).toString(), file);
            }
        }
        QCOMPARE(failed.count(), 0);
        QVERIFY(exporter.viewTitle(ExportController::View::Tree).contains(QStringLiteral("round 1 / ")));
        QVERIFY(exporter.viewTitle(ExportController::View::Frame).contains(QStringLiteral("step 1 / 3")));
        QVERIFY(
            exporter.defaultFileName(ExportController::View::Tree).startsWith(QStringLiteral("draft_tree")));

        // The views' PNGs show their data: verdict cells in the strip, stage bars in the latency plot.
        const widgets::PlotColors light = widgets::lightPlotColors();
        QVERIFY(contains(QImage(path(QStringLiteral("token_runs.png"))), light.notReached, 12)); // prefill
        QVERIFY(contains(QImage(path(QStringLiteral("latency.png"))), light.stageVerify, 12));
        // The frame view shows the episode frame: more colours than a blank view would have.
        QVERIFY(
            stats(QImage(path(exporter.defaultFileName(ExportController::View::Frame) + ".png"))).colours >
            20);

        // The dashboard, in all three formats; the window keeps its geometry.
        const QSize windowSize = window.size();
        for (const QString& format : formats) {
            const QString file = path(QStringLiteral("dashboard.") + format);
            QString error;
            QVERIFY2(exporter.exportDashboard(file, &error), qPrintable(error));
            verifyExportFile(file, QSize(800, 520), QStringLiteral("SpecVLA Workbench"));
            if (QTest::currentTestFailed()) QFAIL(qPrintable(QStringLiteral("dashboard export ") + file));
        }
        QCOMPARE(window.size(), windowSize);
        // The docks and the central area, not the menu bar.
        const QByteArray dashboardSvg = readAll(path(QStringLiteral("dashboard.svg")));
        QVERIFY(dashboardSvg.contains("Latency per step"));
        QVERIFY(dashboardSvg.contains("Token Runs"));
        QVERIFY(!dashboardSvg.contains(">Playback<") && !dashboardSvg.contains(">Help<"));
        // It holds the views: the verdict, stage and prefill colours of several views in one image.
        const QImage dashboard(path(QStringLiteral("dashboard.png")));
        QVERIFY(stats(dashboard).colours > 40);
        QVERIFY(contains(dashboard, light.stageVerify, 12));
        QVERIFY(contains(dashboard, light.notReached, 12));

        // A dark UI theme still exports light figures, and the plots get their dark colours back afterwards.
        const QPalette appPalette = QApplication::palette();
        window.setTheme(widgets::Theme::Dark, false);
        auto* latency = c->views().latency;
        QVERIFY(!latency->testAttribute(Qt::WA_SetPalette)); // the exports gave its palette back
        QTRY_COMPARE(latency->xAxis->labelColor(), widgets::darkPlotColors().foreground);
        const QString darkUi = path(QStringLiteral("latency_dark_ui.png"));
        QVERIFY(exporter.exportView(ExportController::View::Latency, darkUi));
        const QImage fromDark(darkUi);
        QVERIFY(widgets::relativeLuminance(fromDark.pixelColor(fromDark.width() - 3, 3)) > 0.8);
        QVERIFY(widgets::relativeLuminance(fromDark.pixelColor(fromDark.width() - 3, fromDark.height() - 3)) >
                0.8);
        QCOMPARE(latency->xAxis->labelColor(), widgets::darkPlotColors().foreground);
        QApplication::setPalette(appPalette);

        verifyTraces(exporter, c);
        verifySweep(exporter, c);
        verifyMenu(exporter, c);
    }

private:
    void verifyTraces(ExportController& exporter, DecodeController* c) {
        const std::vector<decode::ActionTrace> traces = tracesOf(c, false);
        const std::vector<decode::ActionTrace> arTraces = tracesOf(c, true);

        // JSON: the settings, every step's trace (round-tripping), and the aggregates of both.
        const QString jsonPath = path(QStringLiteral("traces.json"));
        QString error;
        QVERIFY2(exporter.exportTraces(jsonPath, &error), qPrintable(error));
        const json j = json::parse(readAll(jsonPath).toStdString());
        QCOMPARE(j.at("format").get<std::string>(), std::string("specvla-traces"));
        QCOMPARE(j.at("num_steps").get<int>(), kSteps);
        QCOMPARE(decode::settingsFromJson(j.at("settings")).margin, c->settings().margin);
        QCOMPARE(j.at("steps").size(), static_cast<std::size_t>(kSteps));
        for (int i = 0; i < kSteps; ++i) {
            const json& s = j.at("steps").at(i);
            QCOMPARE(s.at("step").get<int>(), i);
            const decode::ActionTrace t = decode::actionTraceFromJson(s.at("trace"));
            QCOMPARE(t.tokens, c->trace(i)->tokens);
            QCOMPARE(t.rounds.size(), c->trace(i)->rounds.size());
            QCOMPARE(t.action, c->trace(i)->action);
            QCOMPARE(decode::actionTraceFromJson(s.at("ar_trace")).tokens, c->arTrace(i)->tokens);
        }
        const decode::RunMetrics metrics = decode::aggregate(traces, &arTraces);
        const decode::RunMetrics arMetrics = decode::aggregate(arTraces);
        QCOMPARE(j.at("metrics").at("acceptance_length").get<double>(), metrics.acceptanceLength);
        QCOMPARE(j.at("metrics").at("passes_per_action").get<double>(), metrics.passesPerAction);
        QCOMPARE(j.at("metrics").at("produced").get<long long>(), metrics.produced);
        QCOMPARE(j.at("metrics").at("deviation_from_ar").at("exact_match_share").get<double>(),
                 metrics.exactMatchWithAr);
        QCOMPARE(j.at("ar_metrics").at("acceptance_length").get<double>(), 1.0); // AR: one token per pass
        QCOMPARE(j.at("speedup").get<double>(), decode::speedup(arMetrics, metrics));
        QVERIFY(metrics.acceptanceLength >= 1.0);

        // An unwritable place fails with a message and a signal.
        QSignalSpy failed(&exporter, &ExportController::exportFailed);
        const QString blocked = jsonPath + QStringLiteral("/sub/traces.json"); // below a file
        QVERIFY(!exporter.exportTraces(blocked, &error));
        QVERIFY2(error.contains(blocked), qPrintable(error));
        QCOMPARE(failed.count(), 1);
        QVERIFY(!QFileInfo::exists(blocked));

        // CSV: one row per action, the current settings' steps then the AR baseline.
        const QString csvPath = path(QStringLiteral("traces.csv"));
        QVERIFY2(exporter.exportTraces(csvPath, &error), qPrintable(error));
        const auto rows = parseCsv(readAll(csvPath));
        QCOMPARE(rows.size(), static_cast<std::size_t>(1 + 2 * kSteps));
        const std::string header = decode::actionsCsv({}).substr(0, decode::actionsCsv({}).size() - 1);
        std::string readHeader;
        for (std::size_t f = 0; f < rows[0].size(); ++f)
            readHeader += (f ? "," : "") + rows[0][f];
        QCOMPARE(readHeader, header);
        std::map<std::string, int> column;
        for (std::size_t f = 0; f < rows[0].size(); ++f)
            column[rows[0][f]] = static_cast<int>(f);
        for (int i = 0; i < 2 * kSteps; ++i) {
            const auto& row = rows[static_cast<std::size_t>(1 + i)];
            const bool ar = i >= kSteps;
            const int step = i % kSteps;
            const decode::ActionTrace& t = ar ? *c->arTrace(step) : *c->trace(step);
            QCOMPARE(row.at(column["step"]), std::to_string(step));
            QCOMPARE(row.at(column["mode"]), std::string(ar ? "ar" : decode::modeName(c->settings().mode)));
            QCOMPARE(row.at(column["tokens"]), joined(t.tokens));
            QCOMPARE(std::stod(row.at(column["acceptance_length"])),
                     decode::actionMetrics(t).acceptanceLength);
            QCOMPARE(std::stoi(row.at(column["target_passes"])), t.targetPasses);
        }
    }

    void verifySweep(ExportController& exporter, DecodeController* c) {
        QString error;
        QVERIFY(!exporter.exportSweep(path(QStringLiteral("sweep_early.csv")), &error));
        QVERIFY2(error.contains(QStringLiteral("no margin sweep")), qPrintable(error));

        QTRY_VERIFY_WITH_TIMEOUT(c->worker()->pendingRequests() == 0, kWaitMs);
        c->startSweep({0, 4});
        QTRY_COMPARE_WITH_TIMEOUT(c->sweepRows().size(), static_cast<std::size_t>(2), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(c->worker()->pendingRequests() == 0, kWaitMs);

        const QString csvPath = path(QStringLiteral("sweep.csv"));
        QVERIFY2(exporter.exportSweep(csvPath, &error), qPrintable(error));
        const auto rows = parseCsv(readAll(csvPath));
        QCOMPARE(rows.size(), static_cast<std::size_t>(3));
        QCOMPARE(rows[0].at(0), std::string("margin"));
        QCOMPARE(rows[0].at(1), std::string("acceptance_length"));
        QCOMPARE(rows[0].at(4), std::string("speedup_vs_ar"));
        const decode::RunMetrics ar = decode::aggregate(tracesOf(c, true));
        for (std::size_t i = 0; i < 2; ++i) {
            const decode::RunMetrics& m = c->sweepRows()[i];
            QCOMPARE(std::stoi(rows[i + 1].at(0)), c->sweepMargins()[i]);
            QCOMPARE(rows[i + 1].at(1), decode::formatNumber(m.acceptanceLength));
            QCOMPARE(rows[i + 1].at(3), decode::formatNumber(m.passesPerAction));
            QCOMPARE(rows[i + 1].at(4), decode::formatNumber(decode::speedup(ar, m)));
        }
        std::vector<int> margins{std::stoi(rows[1].at(0)), std::stoi(rows[2].at(0))};
        std::sort(margins.begin(), margins.end());
        QCOMPARE(margins, (std::vector<int>{0, 4}));

        const QString jsonPath = path(QStringLiteral("sweep.json"));
        QVERIFY2(exporter.exportSweep(jsonPath, &error), qPrintable(error));
        const json j = json::parse(readAll(jsonPath).toStdString());
        QCOMPARE(j.at("rows").size(), static_cast<std::size_t>(2));
        for (std::size_t i = 0; i < 2; ++i) {
            const json& row = j.at("rows").at(i);
            const decode::RunMetrics& m = c->sweepRows()[i];
            QCOMPARE(row.at("margin").get<int>(), c->sweepMargins()[i]);
            QCOMPARE(row.at("acceptance_length").get<double>(), m.acceptanceLength);
            QCOMPARE(row.at("speedup_vs_ar").get<double>(), decode::speedup(ar, m));
            QCOMPARE(row.at("metrics").at("actions").get<int>(), kSteps);
            // Margin 0 is lossless: the speculative actions equal AR's.
            if (c->sweepMargins()[i] == 0) QCOMPARE(row.at("exact_match_with_ar").get<double>(), 1.0);
        }
        QVERIFY(!j.at("ar_metrics").is_null());
    }

    void verifyMenu(ExportController& exporter, DecodeController*) {
        QMenu menu;
        exporter.populateMenu(&menu);
        QMenu* viewMenu = nullptr;
        for (QAction* a : menu.actions())
            if (a->menu()) viewMenu = a->menu();
        QVERIFY(viewMenu);
        QVERIFY(viewMenu->title().remove(QLatin1Char('&')).startsWith(QStringLiteral("Export View")));
        QCOMPARE(viewMenu->actions().size(), ExportController::views().size());
        QCOMPARE(exporter.dashboardAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
        QVERIFY(menu.actions().contains(exporter.tracesAction()));
        QVERIFY(menu.actions().contains(exporter.sweepAction()));
        QVERIFY(exporter.tracesAction()->isEnabled());
        QVERIFY(exporter.sweepAction()->isEnabled());

        // The actions ask for a path (prompted with the last folder), export there and remember the folder.
        QTemporaryDir target;
        QVERIFY(target.isValid());
        QStringList suggestions;
        QString answer;
        exporter.setPathPrompt([&](const QString&, const QString& suggested, const QString&) {
            suggestions << suggested;
            return answer;
        });
        QSignalSpy exported(&exporter, &ExportController::exported);
        answer = target.filePath(QStringLiteral("fig.svg"));
        exporter.dashboardAction()->trigger();
        QCOMPARE(exported.count(), 1);
        verifyExportFile(answer, QSize(800, 520), QStringLiteral("SpecVLA Workbench"));
        QCOMPARE(QSettings().value(ExportController::lastDirKey()).toString(), target.path());
        QVERIFY(suggestions.last().endsWith(QStringLiteral("dashboard.png")));

        answer = target.filePath(QStringLiteral("traces_from_menu")); // no extension: CSV
        exporter.tracesAction()->trigger();
        QCOMPARE(exported.count(), 2);
        QCOMPARE(exported.last().at(0).toString(), answer + QStringLiteral(".csv"));
        QVERIFY(readAll(answer + QStringLiteral(".csv")).startsWith("step,mode,"));

        // The next prompt starts in the remembered folder; cancelling exports nothing.
        answer.clear();
        viewMenu->actions().at(1)->trigger(); // the draft tree
        QCOMPARE(QFileInfo(suggestions.last()).absolutePath(), target.path());
        QVERIFY(QFileInfo(suggestions.last()).fileName().startsWith(QStringLiteral("draft_tree")));
        QCOMPARE(exported.count(), 2);

        answer = target.filePath(QStringLiteral("sweep_from_menu.json"));
        exporter.sweepAction()->trigger();
        QCOMPARE(exported.count(), 3);
        QCOMPARE(json::parse(readAll(answer).toStdString()).at("rows").size(), static_cast<std::size_t>(2));
    }
};

QTEST_MAIN(TestExport)
#include "test_export.moc"
