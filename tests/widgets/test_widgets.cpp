// SPDX-License-Identifier: MIT
// Qt Test suite for the reusable widgets: theme colours, plot theming, the message bar, and headless
// QCustomPlot rendering.
#include "message_bar.h"
#include "qcustomplot_include.h"
#include "theme.h"

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QSet>
#include <QSignalSpy>
#include <QStyle>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

using namespace specvla::widgets;

namespace {

// A plot with a titled, labelled axis rect, a legend and two graphs: everything applyPlotTheme touches.
void fillPlot(QCustomPlot& plot, const PlotColors& colors) {
    plot.plotLayout()->insertRow(0);
    plot.plotLayout()->addElement(0, 0, new QCPTextElement(&plot, QStringLiteral("Acceptance length")));
    plot.xAxis->setLabel(QStringLiteral("margin r"));
    plot.yAxis->setLabel(QStringLiteral("tokens / pass"));
    QVector<double> x, exact, relaxed;
    for (int i = 0; i <= 20; ++i) {
        x << i;
        exact << 1.0 + 0.05 * i;
        relaxed << 1.0 + 2.0 * (1.0 - std::exp(-0.2 * i));
    }
    QCPGraph* a = plot.addGraph();
    a->setData(x, exact);
    a->setName(QStringLiteral("exact"));
    a->setPen(QPen(colors.exact, 2));
    QCPGraph* b = plot.addGraph();
    b->setData(x, relaxed);
    b->setName(QStringLiteral("relaxed"));
    b->setPen(QPen(colors.relaxed, 2));
    plot.legend->setVisible(true);
    plot.rescaleAxes();
    applyPlotTheme(&plot, colors);
}

int distinctColours(const QImage& image) {
    QSet<QRgb> seen;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            seen.insert(image.pixel(x, y));
    return seen.size();
}

bool similar(QColor a, QColor b, int tolerance = 3) {
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

} // namespace

class TestWidgets : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void contrastRatioFollowsWcag();
    void isDarkReadsThePalette();
    void dataColoursContrastWithBackground_data();
    void dataColoursContrastWithBackground();
    void verdictAndStageColoursAreDistinct_data();
    void verdictAndStageColoursAreDistinct();
    void plotColorsFollowPalette();
    void themeKeysRoundTrip();
    void applyApplicationPaletteSwitchesTheme();
    void applyPlotThemeSetsAxisColours();
    void messageBarIsHiddenByDefault();
    void messageBarShowsLevelsAndText();
    void messageBarCloseEmitsClosed();
    void messageBarTextIsPlainAndSelectable();
    void plotRendersInBothThemes_data();
    void plotRendersInBothThemes();
};

void TestWidgets::contrastRatioFollowsWcag() {
    QCOMPARE(contrastRatio(Qt::black, Qt::white), 21.0);
    QCOMPARE(contrastRatio(Qt::white, Qt::black), 21.0);
    QCOMPARE(contrastRatio(QColor(0x77, 0x77, 0x77), QColor(0x77, 0x77, 0x77)), 1.0);
    // #777777 on white is the textbook 4.48:1 that narrowly fails AA for body text.
    QVERIFY(std::abs(contrastRatio(QColor(0x77, 0x77, 0x77), Qt::white) - 4.48) < 0.01);
    QCOMPARE(relativeLuminance(Qt::black), 0.0);
    QCOMPARE(relativeLuminance(Qt::white), 1.0);
}

void TestWidgets::isDarkReadsThePalette() {
    QVERIFY(isDark(darkPalette()));
    QVERIFY(!isDark(lightPalette()));
    QPalette greyWithWhiteText(QColor(0x60, 0x60, 0x60));
    greyWithWhiteText.setColor(QPalette::WindowText, Qt::white);
    QVERIFY(isDark(greyWithWhiteText));
    greyWithWhiteText.setColor(QPalette::WindowText, Qt::black);
    QVERIFY(!isDark(greyWithWhiteText));
}

void TestWidgets::dataColoursContrastWithBackground_data() {
    QTest::addColumn<bool>("dark");
    QTest::newRow("light") << false;
    QTest::newRow("dark") << true;
}

void TestWidgets::dataColoursContrastWithBackground() {
    QFETCH(bool, dark);
    const PlotColors colors = dark ? darkPlotColors() : lightPlotColors();
    QCOMPARE(colors.dark, dark);
    QCOMPARE(colors.dataColors().size(), 12);
    for (const auto& [name, color] : colors.dataColors()) {
        const double ratio = contrastRatio(color, colors.background);
        if (ratio < 3.0)
            QFAIL(qPrintable(QStringLiteral("%1 %2 has contrast %3 against %4")
                                 .arg(name, color.name())
                                 .arg(ratio)
                                 .arg(colors.background.name())));
    }
    QVERIFY(contrastRatio(colors.foreground, colors.background) >= 7.0); // tick labels are text
    // The grid stays subtle but visible.
    QVERIFY(contrastRatio(colors.grid, colors.background) > 1.2);
    QVERIFY(contrastRatio(colors.grid, colors.background) < 3.0);
}

void TestWidgets::verdictAndStageColoursAreDistinct_data() {
    dataColoursContrastWithBackground_data();
}

void TestWidgets::verdictAndStageColoursAreDistinct() {
    QFETCH(bool, dark);
    const PlotColors colors = dark ? darkPlotColors() : lightPlotColors();
    for (const QVector<QColor>& group : {colors.verdictColors(), colors.stageColors()}) {
        for (int i = 0; i < group.size(); ++i) {
            for (int j = i + 1; j < group.size(); ++j) {
                // Not merely different numbers: far enough apart in RGB to tell apart at a glance.
                const QColor a = group.at(i), b = group.at(j);
                const int distance = std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) +
                                     std::abs(a.blue() - b.blue());
                if (distance < 60)
                    QFAIL(qPrintable(QStringLiteral("%1 and %2 too close").arg(a.name(), b.name())));
            }
        }
    }
    QVERIFY(colors.acceptedPath != colors.exact);
    QVERIFY(colors.acceptedPath != colors.rejected);
}

void TestWidgets::plotColorsFollowPalette() {
    const PlotColors dark = plotColors(darkPalette());
    QVERIFY(dark.dark);
    QCOMPARE(dark.background, darkPalette().color(QPalette::Base));
    const PlotColors light = plotColors(lightPalette());
    QVERIFY(!light.dark);
    QCOMPARE(light.background, lightPalette().color(QPalette::Base));

    // A base colour the data colours cannot stand on falls back to the table's background.
    QPalette odd = lightPalette();
    odd.setColor(QPalette::Base, QColor(0x90, 0x90, 0x90));
    const PlotColors fallback = plotColors(odd);
    QCOMPARE(fallback.background, lightPlotColors().background);
}

void TestWidgets::themeKeysRoundTrip() {
    for (Theme theme : {Theme::System, Theme::Light, Theme::Dark}) {
        QCOMPARE(themeFromKey(themeKey(theme)), std::optional<Theme>(theme));
        QVERIFY(!themeDisplayName(theme).isEmpty());
    }
    QCOMPARE(themeFromKey(QStringLiteral(" Dark ")), std::optional<Theme>(Theme::Dark));
    QVERIFY(!themeFromKey(QStringLiteral("solarized")).has_value());
}

void TestWidgets::applyApplicationPaletteSwitchesTheme() {
    auto* app = qobject_cast<QApplication*>(QCoreApplication::instance());
    QVERIFY(app);
    const bool systemDark = isDark(QApplication::palette());

    applyApplicationPalette(*app, Theme::Dark);
    QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));
    QVERIFY(isDark(QApplication::palette()));
    QWidget widget;
    widget.show();
    QVERIFY(isDark(widget.palette())); // new widgets pick it up

    applyApplicationPalette(*app, Theme::Light);
    QVERIFY(!isDark(QApplication::palette()));
    QTRY_VERIFY(!isDark(widget.palette())); // existing ones follow

    applyApplicationPalette(*app, Theme::System);
    QCOMPARE(isDark(QApplication::palette()), systemDark);
}

void TestWidgets::applyPlotThemeSetsAxisColours() {
    QCustomPlot plot;
    const QColor before = plot.xAxis->tickLabelColor();
    const PlotColors dark = darkPlotColors();
    fillPlot(plot, dark);
    QVERIFY(plot.xAxis->tickLabelColor() != before);
    for (QCPAxis* axis : plot.axisRect()->axes()) {
        QCOMPARE(axis->basePen().color(), dark.foreground);
        QCOMPARE(axis->tickPen().color(), dark.foreground);
        QCOMPARE(axis->tickLabelColor(), dark.foreground);
        QCOMPARE(axis->labelColor(), dark.foreground);
        QCOMPARE(axis->grid()->pen().color(), dark.grid);
    }
    QCOMPARE(plot.axisRect()->backgroundBrush().color(), dark.background);
    QCOMPARE(plot.legend->textColor(), dark.foreground);
    QCOMPARE(plot.legend->brush().color(), dark.background);
    auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->element(0, 0));
    QVERIFY(title);
    QCOMPARE(title->textColor(), dark.foreground);

    const PlotColors light = lightPlotColors();
    applyPlotTheme(&plot, light);
    QCOMPARE(plot.yAxis->tickLabelColor(), light.foreground);
    QCOMPARE(plot.legend->textColor(), light.foreground);
    applyPlotTheme(nullptr, light); // tolerated
}

void TestWidgets::messageBarIsHiddenByDefault() {
    QWidget window;
    auto* layout = new QVBoxLayout(&window);
    auto* bar = new MessageBar(&window);
    layout->addWidget(bar);
    window.show();
    QVERIFY(!bar->isVisible());
    QVERIFY(bar->text().isEmpty());
}

void TestWidgets::messageBarShowsLevelsAndText() {
    QWidget window;
    auto* layout = new QVBoxLayout(&window);
    auto* bar = new MessageBar(&window);
    layout->addWidget(bar);
    window.show();

    bar->showError(QStringLiteral("Cannot open broken.safetensors: header length past the end"));
    QVERIFY(bar->isVisible());
    QCOMPARE(bar->level(), MessageBar::Level::Error);
    QCOMPARE(bar->text(), QStringLiteral("Cannot open broken.safetensors: header length past the end"));

    bar->showWarning(QStringLiteral("two warnings"));
    QCOMPARE(bar->level(), MessageBar::Level::Warning);
    QCOMPARE(bar->text(), QStringLiteral("two warnings"));

    bar->showInfo(QStringLiteral("note"));
    QCOMPARE(bar->level(), MessageBar::Level::Info);
    QVERIFY(bar->isVisible());

    // It renders in both themes without a style sheet.
    for (const QPalette& palette : {lightPalette(), darkPalette()}) {
        bar->setPalette(palette);
        const QImage image = bar->grab().toImage();
        QVERIFY(!image.isNull());
        QVERIFY(distinctColours(image) > 3);
    }
}

void TestWidgets::messageBarCloseEmitsClosed() {
    QWidget window;
    auto* layout = new QVBoxLayout(&window);
    auto* bar = new MessageBar(&window);
    layout->addWidget(bar);
    window.show();
    QSignalSpy closed(bar, &MessageBar::closed);

    bar->showError(QStringLiteral("boom"));
    QVERIFY(bar->closeButton()->isVisible());
    QTest::mouseClick(bar->closeButton(), Qt::LeftButton);
    QCOMPARE(closed.count(), 1);
    QVERIFY(!bar->isVisible());

    bar->dismiss(); // already hidden: no second signal
    QCOMPARE(closed.count(), 1);

    bar->showInfo(QStringLiteral("again"));
    QVERIFY(bar->isVisible());
    bar->dismiss();
    QCOMPARE(closed.count(), 2);
}

void TestWidgets::messageBarTextIsPlainAndSelectable() {
    MessageBar bar;
    bar.showError(QStringLiteral("<b>not bold</b> a&b.safetensors"));
    auto* label = bar.findChild<QLabel*>(QStringLiteral("MessageBarText"));
    QVERIFY(label);
    QCOMPARE(label->textFormat(), Qt::PlainText);
    QVERIFY(label->textInteractionFlags() & Qt::TextSelectableByMouse);
    QCOMPARE(bar.text(), QStringLiteral("<b>not bold</b> a&b.safetensors"));
}

void TestWidgets::plotRendersInBothThemes_data() {
    dataColoursContrastWithBackground_data();
}

void TestWidgets::plotRendersInBothThemes() {
    QFETCH(bool, dark);
    const PlotColors colors = dark ? darkPlotColors() : lightPlotColors();
    QCustomPlot plot;
    fillPlot(plot, colors);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString file = dir.filePath(QStringLiteral("plot.png"));
    QVERIFY(plot.savePng(file, 480, 300));
    const QImage image(file);
    QCOMPARE(image.size(), QSize(480, 300));
    QVERIFY(distinctColours(image) > 10);
    // The corner is background; somewhere a curve pixel carries the exact colour.
    QVERIFY(similar(image.pixelColor(1, 1), colors.background));
    bool curveFound = false;
    for (int y = 0; y < image.height() && !curveFound; ++y)
        for (int x = 0; x < image.width() && !curveFound; ++x)
            curveFound = similar(image.pixelColor(x, y), colors.exact, 8);
    QVERIFY(curveFound);

    const QPixmap pixmap = plot.toPixmap(320, 200);
    QCOMPARE(pixmap.size(), QSize(320, 200));
    QVERIFY(distinctColours(pixmap.toImage()) > 10);
}

QTEST_MAIN(TestWidgets)
#include "test_widgets.moc"
