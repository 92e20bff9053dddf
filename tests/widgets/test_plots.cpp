// SPDX-License-Identifier: MIT
// Qt Test suite for the plot widgets (bin distance, latency, margin sweep) and plot export. Offscreen.
#include "bin_distance_plot.h"
#include "latency_plot.h"
#include "plot_export.h"
#include "sweep_plot.h"
#include "theme.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>

#include <cmath>

using namespace specvla;
using namespace specvla::widgets;

namespace {

decode::BinDistanceHistogram sampleHistogram() {
    decode::BinDistanceHistogram h;
    h.acceptedPerDim.assign(7, std::vector<int>(6, 0));
    h.rejectedPerDim.assign(7, std::vector<int>(6, 0));
    for (int d = 0; d < 7; ++d) {
        for (int k = 0; k < 6; ++k) {
            h.acceptedPerDim[d][k] = k <= 2 ? (d + 1) * (10 - 3 * k) : 0;
            h.rejectedPerDim[d][k] = k >= 2 ? d + k : 0;
        }
    }
    h.accepted.assign(6, 0);
    h.rejected.assign(6, 0);
    for (int d = 0; d < 7; ++d)
        for (int k = 0; k < 6; ++k) {
            h.accepted[k] += h.acceptedPerDim[d][k];
            h.rejected[k] += h.rejectedPerDim[d][k];
        }
    return h;
}

std::vector<decode::StageTimes> sampleStages(int steps) {
    std::vector<decode::StageTimes> v;
    for (int i = 0; i < steps; ++i) {
        decode::StageTimes t;
        t.vision = i == 0 ? 30.0 : 2.0; // later steps hit the frame cache
        t.prefill = i == 0 ? 20.0 : 1.0;
        t.draft = 5.0 + 0.5 * (i % 3);
        t.verify = 12.0 + i % 4;
        t.other = 1.5;
        v.push_back(t);
    }
    return v;
}

std::vector<double> sampleAr(int steps) {
    std::vector<double> v;
    for (int i = 0; i < steps; ++i)
        v.push_back(40.0 + (i % 5));
    return v;
}

QVector<double> barValues(QCPBars* bars) {
    QVector<double> out;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
        out << it->value;
    return out;
}

QVector<double> barKeys(QCPBars* bars) {
    QVector<double> out;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
        out << it->key;
    return out;
}

QVector<double> toDoubles(const std::vector<int>& v) {
    QVector<double> out;
    for (int x : v)
        out << x;
    return out;
}

double barValueAt(QCPBars* bars, double key) {
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
        if (it->key == key) return it->value;
    return 0;
}

QVector<QPointF> graphPoints(QCPGraph* graph) {
    QVector<QPointF> out;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        out << QPointF(it->key, it->value);
    return out;
}

int distinctColours(const QImage& image) {
    QSet<QRgb> seen;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            seen.insert(image.pixel(x, y));
    return seen.size();
}

// The sample plots, kept for the PNG gallery in /tmp/plots (SPECVLA_PLOT_GALLERY) and the export tests.
void fillSweep(SweepPlot& plot) {
    std::vector<int> margins;
    std::vector<double> tau, speed, dev;
    for (int r = 0; r <= 16; r += 2) {
        margins.push_back(r);
        tau.push_back(1.4 + 2.2 * (1.0 - std::exp(-0.25 * r)));
        speed.push_back(1.1 + 1.3 * (1.0 - std::exp(-0.2 * r)));
        dev.push_back(0.004 * r + 0.0002 * r * r);
    }
    plot.setRows(margins, tau, speed, dev);
    plot.setCurrentMargin(6);
}

} // namespace

class TestPlots : public QObject {
    Q_OBJECT

private slots:
    void binDistanceAllDimensions();
    void binDistancePerDimension();
    void binDistanceMarginLine();
    void latencyStacksSumToTotals();
    void latencyCursorMoves();
    void sweepHoldsPointsAndMarker();
    void exportPng();
    void exportPngHighDpi();
    void exportPdf();
    void exportSvg();
    void exportFailsWithoutPartialFile();
    void exportRejectsUnknownFormat();
    void exportUsesLightThemeAndRestores();
    void themeSwitchChangesAxisColours();
    void gallery();
};

void TestPlots::binDistanceAllDimensions() {
    BinDistancePlot plot;
    const auto h = sampleHistogram();
    plot.setHistogram(h);
    QCOMPARE(plot.dimension(), BinDistancePlot::kAllDimensions);
    QCOMPARE(barValues(plot.acceptedBars()), toDoubles(h.accepted));
    QCOMPARE(barValues(plot.rejectedBars()), toDoubles(h.rejected));
    QCOMPARE(barKeys(plot.acceptedBars()), (QVector<double>{0, 1, 2, 3, 4, 5}));
    QVERIFY(plot.titleElement()->text().contains(QStringLiteral("all dimensions")));
    QCOMPARE(plot.acceptedBars()->name(), QStringLiteral("accepted"));
    QCOMPARE(plot.rejectedBars()->name(), QStringLiteral("rejected"));
    QVERIFY(plot.legend->visible());
    QVERIFY(!plot.xAxis->label().isEmpty());
    QVERIFY(!plot.yAxis->label().isEmpty());
}

void TestPlots::binDistancePerDimension() {
    BinDistancePlot plot;
    const auto h = sampleHistogram();
    plot.setHistogram(h);
    plot.setDimension(3);
    QCOMPARE(plot.dimension(), 3);
    QCOMPARE(barValues(plot.acceptedBars()), toDoubles(h.acceptedPerDim[3]));
    QCOMPARE(barValues(plot.rejectedBars()), toDoubles(h.rejectedPerDim[3]));
    QVERIFY(plot.titleElement()->text().contains(QStringLiteral("dimension 3")));
    plot.setDimension(7); // out of range: ignored
    QCOMPARE(plot.dimension(), 3);
    plot.setDimension(-1);
    QCOMPARE(barValues(plot.acceptedBars()), toDoubles(h.accepted));
    // A histogram without per-dimension data shows nothing for a dimension rather than crashing.
    decode::BinDistanceHistogram overallOnly;
    overallOnly.accepted = {3, 1};
    overallOnly.rejected = {0, 2};
    plot.setHistogram(overallOnly);
    plot.setDimension(2);
    QVERIFY(plot.acceptedBars()->data()->isEmpty());
}

void TestPlots::binDistanceMarginLine() {
    BinDistancePlot plot;
    plot.setHistogram(sampleHistogram());
    plot.setMargin(2);
    QVERIFY(plot.marginLine()->visible());
    QCOMPARE(plot.marginLine()->point1->coords().x(), 2.5);
    QCOMPARE(plot.marginLine()->point2->coords().x(), 2.5);
    plot.setMargin(9); // beyond the data: the axis still shows the line
    QCOMPARE(plot.marginLine()->point1->coords().x(), 9.5);
    QVERIFY(plot.xAxis->range().contains(9.5));
    plot.setMargin(-1);
    QVERIFY(!plot.marginLine()->visible());
}

void TestPlots::latencyStacksSumToTotals() {
    LatencyPlot plot;
    const auto stages = sampleStages(12);
    const auto ar = sampleAr(12);
    plot.setSteps(stages, ar);
    QCOMPARE(plot.stepCount(), 12);
    // Stacked from vision (bottom) to other (top).
    for (int s = 1; s < LatencyPlot::kStages; ++s)
        QCOMPARE(plot.stageBars(s)->barBelow(), plot.stageBars(s - 1));
    QVERIFY(!plot.stageBars(0)->barBelow());
    for (int i = 0; i < 12; ++i) {
        double sum = 0;
        for (int s = 0; s < LatencyPlot::kStages; ++s)
            sum += barValueAt(plot.stageBars(s), i);
        QVERIFY2(std::abs(sum - stages[i].total()) < 1e-9, qPrintable(QString::number(i)));
    }
    QCOMPARE(barValueAt(plot.stageBars(0), 0), 30.0);
    QCOMPARE(barValueAt(plot.stageBars(3), 1), 13.0);
    const auto points = graphPoints(plot.arGraph());
    QCOMPARE(points.size(), 12);
    for (int i = 0; i < 12; ++i)
        QCOMPARE(points[i], QPointF(i, ar[i]));
    QCOMPARE(plot.stageBars(2)->name(), QStringLiteral("draft"));
    QCOMPARE(plot.arGraph()->name(), QStringLiteral("AR total"));
    QVERIFY(plot.yAxis->range().upper >= 52.0);
    // No AR reference: the line is empty, the bars stay.
    plot.setSteps(stages, {});
    QVERIFY(plot.arGraph()->data()->isEmpty());
    QCOMPARE(plot.stageBars(4)->data()->size(), 12);
}

void TestPlots::latencyCursorMoves() {
    LatencyPlot plot;
    plot.setSteps(sampleStages(8), sampleAr(8));
    QVERIFY(!plot.cursor()->visible());
    plot.setCurrentStep(3);
    QVERIFY(plot.cursor()->visible());
    QCOMPARE(plot.cursor()->point1->coords().x(), 3.0);
    QCOMPARE(plot.currentStep(), 3);
    plot.setCurrentStep(6);
    QCOMPARE(plot.cursor()->point1->coords().x(), 6.0);
    QCOMPARE(plot.cursor()->point2->coords().x(), 6.0);
    plot.setCurrentStep(-1);
    QVERIFY(!plot.cursor()->visible());
}

void TestPlots::sweepHoldsPointsAndMarker() {
    SweepPlot plot;
    // Unsorted on purpose: the graphs sort by margin.
    plot.setRows({4, 0, 2}, {2.5, 1.2, 2.0}, {1.6, 1.05, 1.4}, {0.03, 0.0, 0.01});
    QCOMPARE(plot.rowCount(), 3);
    QCOMPARE(graphPoints(plot.acceptanceGraph()), (QVector<QPointF>{{0, 1.2}, {2, 2.0}, {4, 2.5}}));
    QCOMPARE(graphPoints(plot.speedupGraph()), (QVector<QPointF>{{0, 1.05}, {2, 1.4}, {4, 1.6}}));
    QCOMPARE(graphPoints(plot.deviationGraph()), (QVector<QPointF>{{0, 0.0}, {2, 0.01}, {4, 0.03}}));
    QCOMPARE(plot.deviationGraph()->valueAxis(), plot.yAxis2);
    QCOMPARE(plot.acceptanceGraph()->valueAxis(), plot.yAxis);
    QVERIFY(plot.yAxis2->visible());
    QVERIFY(!plot.yAxis2->label().isEmpty());

    QVERIFY(!plot.marginLine()->visible());
    plot.setCurrentMargin(2);
    QVERIFY(plot.marginLine()->visible());
    QCOMPARE(plot.marginLine()->point1->coords().x(), 2.0);
    QCOMPARE(plot.marginLine()->point2->coords().x(), 2.0);
    for (int c = 0; c < 3; ++c) {
        QVERIFY(plot.tracer(c)->visible());
        QCOMPARE(plot.tracer(c)->position->key(), 2.0);
    }
    QCOMPARE(plot.tracer(0)->position->value(), 2.0);
    QCOMPARE(plot.tracer(2)->position->value(), 0.01);
    // A margin that was not swept: the line moves, no curve marker.
    plot.setCurrentMargin(3);
    QCOMPARE(plot.marginLine()->point1->coords().x(), 3.0);
    QVERIFY(!plot.tracer(0)->visible());
    plot.setCurrentMargin(10);
    QVERIFY(plot.xAxis->range().contains(10));
}

void TestPlots::exportPng() {
    QTemporaryDir dir;
    SweepPlot plot;
    fillSweep(plot);
    const QString path = dir.filePath(QStringLiteral("sweep.png"));
    QString error;
    QVERIFY2(exportPlot(&plot, path, 640, 400, 96, &error), qPrintable(error));
    QImage image(path);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), QSize(640, 400));
    QVERIFY(distinctColours(image) > 20);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("sweep.png")});
}

void TestPlots::exportPngHighDpi() {
    QTemporaryDir dir;
    LatencyPlot plot;
    plot.setSteps(sampleStages(10), sampleAr(10));
    const QString path = dir.filePath(QStringLiteral("latency.PNG"));
    QString error;
    QVERIFY2(exportPlot(&plot, path, 1200, 800, 192, &error), qPrintable(error));
    QImage image(path);
    QCOMPARE(image.size(), QSize(1200, 800));
    QVERIFY(distinctColours(image) > 20);
    QVERIFY(std::abs(image.dotsPerMeterX() - 192 / 0.0254) < 2);
    // The bottom-right corner is painted too (the layout covers the whole image).
    QVERIFY(image.pixelColor(1199, 799).alpha() == 255);
}

void TestPlots::exportPdf() {
    QTemporaryDir dir;
    BinDistancePlot plot;
    plot.setHistogram(sampleHistogram());
    plot.setMargin(2);
    const QString path = dir.filePath(QStringLiteral("bins.pdf"));
    QString error;
    QVERIFY2(exportPlot(&plot, path, 800, 500, 96, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray data = file.readAll();
    QVERIFY(data.startsWith("%PDF"));
    QVERIFY2(data.size() > 2000, qPrintable(QString::number(data.size())));
    // The page is 800 x 500 px at 96 dpi = 600 x 375 pt.
    const QRegularExpression box(QStringLiteral("/MediaBox \\[0 0 ([0-9.]+) ([0-9.]+)\\]"));
    const auto match = box.match(QString::fromLatin1(data));
    QVERIFY(match.hasMatch());
    QVERIFY(std::abs(match.captured(1).toDouble() - 600) < 0.5);
    QVERIFY(std::abs(match.captured(2).toDouble() - 375) < 0.5);
}

void TestPlots::exportSvg() {
    QTemporaryDir dir;
    SweepPlot plot;
    fillSweep(plot);
    const QString path = dir.filePath(QStringLiteral("sweep.svg"));
    QString error;
    QVERIFY2(exportPlot(&plot, path, 900, 560, 96, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray data = file.readAll();
    // Well-formed XML whose root is <svg>.
    QXmlStreamReader xml(data);
    QString rootName, width, viewBox;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && rootName.isEmpty()) {
            rootName = xml.name().toString();
            width = xml.attributes().value(QStringLiteral("width")).toString();
            viewBox = xml.attributes().value(QStringLiteral("viewBox")).toString();
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QCOMPARE(rootName, QStringLiteral("svg"));
    QCOMPARE(width, QStringLiteral("238.125mm")); // 900 px at 96 dpi = 9.375 in
    QCOMPARE(viewBox, QStringLiteral("0 0 900 560"));
    const QString text = QString::fromUtf8(data);
    QVERIFY(text.contains(QStringLiteral("margin r (bins)")));   // x axis title
    QVERIFY(text.contains(QStringLiteral("acceptance length"))); // legend entry
    QVERIFY(text.contains(QStringLiteral("Margin sweep")));      // plot title
}

void TestPlots::exportFailsWithoutPartialFile() {
    QTemporaryDir dir;
    // The parent of the target is a regular file, so nothing can be created there (also as root).
    const QString blocker = dir.filePath(QStringLiteral("not_a_dir"));
    {
        QFile f(blocker);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("x");
    }
    BinDistancePlot plot;
    plot.setHistogram(sampleHistogram());
    for (const char* name : {"plot.png", "plot.pdf", "plot.svg"}) {
        const QString path = blocker + QLatin1Char('/') + QLatin1String(name);
        QString error;
        QVERIFY(!exportPlot(&plot, path, 400, 300, 96, &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(error.contains(path));
        QVERIFY(!QFileInfo::exists(path));
    }
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList{QStringLiteral("not_a_dir")});

    // An existing file is left untouched by a failed export (bad size).
    const QString existing = dir.filePath(QStringLiteral("keep.png"));
    {
        QFile f(existing);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("old");
    }
    QString error;
    QVERIFY(!exportPlot(&plot, existing, 0, 300, 96, &error));
    QFile f(existing);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("old"));
    QVERIFY(!exportPlot(nullptr, dir.filePath(QStringLiteral("x.png")), 400, 300, 96, &error));
}

void TestPlots::exportRejectsUnknownFormat() {
    QTemporaryDir dir;
    LatencyPlot plot;
    QString error;
    const QString path = dir.filePath(QStringLiteral("plot.bmp"));
    QVERIFY(!exportPlot(&plot, path, 400, 300, 96, &error));
    QVERIFY(error.contains(QStringLiteral("unsupported")));
    QVERIFY(!QFileInfo::exists(path));
    QVERIFY(isSupportedPlotFormat(QStringLiteral("a/b.SVG")));
    QVERIFY(!isSupportedPlotFormat(QStringLiteral("a/b")));
}

void TestPlots::exportUsesLightThemeAndRestores() {
    QTemporaryDir dir;
    SweepPlot plot;
    fillSweep(plot);
    plot.setPalette(darkPalette());
    const QColor darkAxis = plot.xAxis->basePen().color();
    QCOMPARE(darkAxis, darkPlotColors().foreground);
    const QString path = dir.filePath(QStringLiteral("light.png"));
    QVERIFY(exportPlot(&plot, path, 400, 300, 96));
    const QImage image(path);
    QCOMPARE(image.pixelColor(2, 2), lightPlotColors().background); // exported light
    QCOMPARE(plot.xAxis->basePen().color(), darkAxis);              // the UI keeps its theme

    PlotExportOptions options;
    options.width = 400;
    options.height = 300;
    options.lightTheme = false;
    QVERIFY(exportPlot(&plot, path, options));
    const QImage dark(path);
    QVERIFY(dark.pixelColor(2, 2).lightness() < 80);

    // A plot that inherits its palette keeps inheriting it after a light export.
    BinDistancePlot inherited;
    QVERIFY(!inherited.testAttribute(Qt::WA_SetPalette));
    QVERIFY(exportPlot(&inherited, path, 400, 300));
    QVERIFY(!inherited.testAttribute(Qt::WA_SetPalette));
}

void TestPlots::themeSwitchChangesAxisColours() {
    BinDistancePlot bins;
    LatencyPlot latency;
    SweepPlot sweep;
    QList<QCustomPlot*> plots{&bins, &latency, &sweep};
    for (QCustomPlot* plot : plots) {
        plot->setPalette(lightPalette());
        const QColor light = plot->xAxis->basePen().color();
        const QColor lightLabel = plot->yAxis->labelColor();
        plot->setPalette(darkPalette());
        QVERIFY(plot->xAxis->basePen().color() != light);
        QVERIFY(plot->yAxis->labelColor() != lightLabel);
        QCOMPARE(plot->xAxis->tickLabelColor(), darkPlotColors().foreground);
    }
    QCOMPARE(bins.rejectedBars()->pen().color(), darkPlotColors().rejected);
    QCOMPARE(latency.stageBars(0)->brush().color(), darkPlotColors().stageVision);
    QCOMPARE(latency.arGraph()->pen().color(), darkPlotColors().arBaseline);
    QCOMPARE(sweep.acceptanceGraph()->pen().color(), darkPlotColors().acceptedPath);
}

// Writes one PNG of each plot with sample data (kept when SPECVLA_PLOT_GALLERY names a folder).
void TestPlots::gallery() {
    // SPECVLA_PLOT_GALLERY keeps the files for a look; otherwise they go to a temporary folder.
    QTemporaryDir tmp;
    const QString env = qEnvironmentVariable("SPECVLA_PLOT_GALLERY");
    const QString out = env.isEmpty() ? tmp.path() : env;
    QVERIFY(QDir().mkpath(out));
    BinDistancePlot bins;
    bins.setHistogram(sampleHistogram());
    bins.setMargin(2);
    LatencyPlot latency;
    latency.setSteps(sampleStages(20), sampleAr(20));
    latency.setCurrentStep(7);
    SweepPlot sweep;
    fillSweep(sweep);
    QVERIFY(exportPlot(&bins, out + QStringLiteral("/bin_distance.png"), 800, 500));
    bins.setDimension(6);
    QVERIFY(exportPlot(&bins, out + QStringLiteral("/bin_distance_dim6.png"), 800, 500));
    QVERIFY(exportPlot(&latency, out + QStringLiteral("/latency.png"), 900, 500));
    QVERIFY(exportPlot(&sweep, out + QStringLiteral("/sweep.png"), 800, 500));
    QVERIFY(exportPlot(&sweep, out + QStringLiteral("/sweep.svg"), 800, 500));
    PlotExportOptions dark;
    dark.width = 900;
    dark.height = 500;
    dark.lightTheme = false;
    latency.setPalette(darkPalette());
    QVERIFY(exportPlot(&latency, out + QStringLiteral("/latency_dark.png"), dark));
    for (const char* name :
         {"bin_distance.png", "bin_distance_dim6.png", "latency.png", "sweep.png", "latency_dark.png"})
        QVERIFY2(!QImage(out + QLatin1Char('/') + QLatin1String(name)).isNull(), name);
}

QTEST_MAIN(TestPlots)
#include "test_plots.moc"
