// SPDX-License-Identifier: MIT
// Qt Test suite for the frame view (frame geometry, arrow geometry, overlay pixels, placeholder, palette
// change) and the step timeline (clamping, keys, playback, the empty state). Set SPECVLA_VIEWS_DIR to save a
// screenshot of both widgets there (frame_view.png).
#include "frame_view.h"
#include "theme.h"

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>
#include <QVBoxLayout>

#include <cmath>
#include <cstdlib>

using namespace specvla::widgets;

namespace {

// A synthetic RGB888 "scene": a sky-to-floor gradient with a table and a block, so screenshots look like a
// frame.
QImage sceneImage(int w, int h) {
    QImage img(w, h, QImage::Format_RGB888);
    QPainter p(&img);
    QLinearGradient g(0, 0, 0, h);
    g.setColorAt(0, QColor(0x9c, 0xb4, 0xc8));
    g.setColorAt(1, QColor(0x5a, 0x4a, 0x3c));
    p.fillRect(img.rect(), g);
    p.fillRect(QRect(w / 8, h * 5 / 8, w * 3 / 4, h / 10), QColor(0x8a, 0x6a, 0x48));
    p.fillRect(QRect(w / 2 - w / 16, h * 5 / 8 - h / 8, w / 8, h / 8), QColor(0xc0, 0x30, 0x30));
    return img;
}

QImage flatImage(int w, int h, QColor c) {
    QImage img(w, h, QImage::Format_RGB888);
    img.fill(c);
    return img;
}

Action7 action(double dx, double dy, double dz = 0, double gripper = -1) {
    return {dx, dy, dz, 0, 0, 0, gripper};
}

QImage grabImage(QWidget& w) {
    QImage img = w.grab().toImage().convertToFormat(QImage::Format_RGB32);
    if (img.size() != w.size()) img = img.scaled(w.size(), Qt::IgnoreAspectRatio, Qt::FastTransformation);
    return img;
}

int colorDistance(QColor a, QColor b) {
    return std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) + std::abs(a.blue() - b.blue());
}

// Pixels within radius of p whose colour is within tolerance of c.
int countNear(const QImage& img, QPointF p, int radius, QColor c, int tolerance = 40) {
    int n = 0;
    for (int y = int(p.y()) - radius; y <= int(p.y()) + radius; ++y)
        for (int x = int(p.x()) - radius; x <= int(p.x()) + radius; ++x)
            if (img.rect().contains(x, y) && colorDistance(img.pixelColor(x, y), c) <= tolerance) ++n;
    return n;
}

} // namespace

class TestFrameView : public QObject {
    Q_OBJECT
private slots:
    void imageRectKeepsAspectAndIsCentred();
    void arrowTipGeometry();
    void drawsSpeculativeArrow();
    void placeholderWithoutImage();
    void recoloursOnPaletteChange();
    void timelineClampsAndEmitsOnce();
    void timelineKeys();
    void timelinePlaysToTheEnd();
    void timelineEmptyIsDisabled();
    void screenshot();
};

void TestFrameView::imageRectKeepsAspectAndIsCentred() {
    FrameView view;
    view.resize(400, 300);
    view.setImage(flatImage(320, 160, Qt::gray)); // 2:1
    const QRectF r = view.imageRect();
    QVERIFY(r.width() > 0 && r.height() > 0);
    QCOMPARE(r.width() / r.height(), 2.0);
    QVERIFY(std::abs(r.center().x() - 200) < 0.5);
    QVERIFY(std::abs(r.center().y() - 150) < 0.5);
    QVERIFY(QRectF(view.rect()).contains(r));
    QVERIFY(r.width() > 380); // width-bound: fills the width

    view.setImage(flatImage(100, 200, Qt::gray)); // 1:2, height-bound
    const QRectF t = view.imageRect();
    QCOMPARE(t.height() / t.width(), 2.0);
    QVERIFY(std::abs(t.center().x() - 200) < 0.5);
    QVERIFY(std::abs(t.center().y() - 150) < 0.5);
    QVERIFY(t.height() > 280);
}

void TestFrameView::arrowTipGeometry() {
    FrameView view;
    view.resize(400, 400);
    view.setImage(flatImage(224, 224, Qt::gray));
    view.setActionScale(0.5);
    const QPointF c = view.imageRect().center();

    const QPointF zero = view.arrowTip(action(0, 0));
    QVERIFY(std::abs(zero.x() - c.x()) < 1e-6 && std::abs(zero.y() - c.y()) < 1e-6);

    const QPointF right = view.arrowTip(action(0.5, 0));
    QVERIFY(right.x() > c.x() + 50);
    QVERIFY(std::abs(right.y() - c.y()) < 1e-6);
    const QPointF half = view.arrowTip(action(0.25, 0));
    QVERIFY(std::abs((half.x() - c.x()) * 2 - (right.x() - c.x())) < 1e-6); // linear in dx

    const QPointF up = view.arrowTip(action(0, 0.5)); // +dy points up
    QVERIFY(up.y() < c.y() - 50);

    const QPointF huge = view.arrowTip(action(1000, 0)); // clipped, stays inside the frame
    QVERIFY(view.imageRect().contains(huge));

    // Flipped: the frame and its arrows turn 180 degrees together, so the tip mirrors through the centre.
    view.setFlipped(true);
    const QPointF flipped = view.arrowTip(action(0.5, 0));
    QVERIFY(flipped.x() < c.x() - 50);
    QVERIFY(std::abs(flipped.x() - (2 * c.x() - right.x())) < 1e-6);
    QVERIFY(std::abs(view.arrowTip(action(0, 0)).x() - c.x()) < 1e-6);
}

void TestFrameView::drawsSpeculativeArrow() {
    FrameView view;
    view.setPalette(lightPalette());
    view.resize(400, 400);
    view.setImage(flatImage(200, 200, QColor(128, 128, 128)));
    view.setActionScale(1.0);
    const Action7 spec = action(0.8, 0.3, 0.4, 1);
    view.setActions(spec, std::nullopt, std::nullopt);
    const QImage img = grabImage(view);
    const PlotColors colors = plotColors(view.palette());
    const QPointF tip = view.arrowTip(spec);
    QVERIFY2(countNear(img, tip, 6, colors.acceptedPath) >= 5, "no speculative-coloured pixels at the tip");
    // Nothing drawn in the AR colour when there is no AR action; the frame's far corner is still the image.
    const QRectF r = view.imageRect();
    QCOMPARE(countNear(img, r.center(), 60, colors.arBaseline, 20), 0);
    const QPointF corner = r.bottomRight() - QPointF(4, 4);
    QVERIFY(colorDistance(img.pixelColor(corner.toPoint()), QColor(128, 128, 128)) < 12);

    // All three: the AR and recorded arrows show up in their own colours.
    const Action7 ar = action(-0.8, 0.0);
    const Action7 rec = action(0.0, -0.8);
    view.setActions(spec, ar, rec);
    const QImage all = grabImage(view);
    QVERIFY(countNear(all, view.arrowTip(ar), 6, colors.arBaseline) >= 5);
    QVERIFY(countNear(all, view.arrowTip(rec), 6, colors.relaxed) >= 5);
}

void TestFrameView::placeholderWithoutImage() {
    FrameView view;
    view.setPalette(lightPalette());
    view.resize(300, 300);
    QVERIFY(view.image().isNull());
    QVERIFY(!view.imageRect().isEmpty());
    const QImage img = grabImage(view);
    const PlotColors colors = plotColors(view.palette());
    // The placeholder text is drawn in the foreground colour around the centre.
    QVERIFY(countNear(img, view.imageRect().center(), 30, colors.foreground, 60) > 10);

    // With an image the centre is the image.
    view.setImage(flatImage(50, 50, QColor(0, 200, 0)));
    const QImage shown = grabImage(view);
    QCOMPARE(countNear(shown, view.imageRect().center(), 30, colors.foreground, 60), 0);
    view.setImage(QImage());
    QVERIFY(countNear(grabImage(view), view.imageRect().center(), 30, colors.foreground, 60) > 10);
}

void TestFrameView::recoloursOnPaletteChange() {
    FrameView view;
    view.resize(300, 200);
    view.setImage(flatImage(100, 100, QColor(128, 128, 128)));
    const Action7 spec = action(0.7, 0);
    view.setActions(spec, std::nullopt, std::nullopt);
    view.setPalette(lightPalette());
    const QImage light = grabImage(view);
    QVERIFY(countNear(light, view.arrowTip(spec), 6, lightPlotColors().acceptedPath) >= 5);
    QVERIFY(colorDistance(light.pixelColor(1, 1), plotColors(lightPalette()).background) < 6);

    view.setPalette(darkPalette());
    const QImage dark = grabImage(view);
    QVERIFY(countNear(dark, view.arrowTip(spec), 6, darkPlotColors().acceptedPath) >= 5);
    QVERIFY(colorDistance(dark.pixelColor(1, 1), plotColors(darkPalette()).background) < 6);
}

void TestFrameView::timelineClampsAndEmitsOnce() {
    Timeline t;
    t.setStepCount(10);
    QCOMPARE(t.stepCount(), 10);
    QCOMPARE(t.currentStep(), 0);
    QSignalSpy spy(&t, &Timeline::currentStepChanged);

    t.setCurrentStep(20);
    QCOMPARE(t.currentStep(), 9);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toInt(), 9);

    t.setCurrentStep(9); // no change, no signal
    t.setCurrentStep(100);
    QCOMPARE(spy.count(), 1);

    t.setCurrentStep(-5);
    QCOMPARE(t.currentStep(), 0);
    QCOMPARE(spy.count(), 2);

    t.setCurrentStep(4);
    QCOMPARE(spy.count(), 3);
    t.setStepCount(3); // shrinking clamps the cursor, once
    QCOMPARE(t.currentStep(), 2);
    QCOMPARE(spy.count(), 4);
    QCOMPARE(spy.last().at(0).toInt(), 2);
}

void TestFrameView::timelineKeys() {
    Timeline t;
    t.setStepCount(10);
    t.show();
    QVERIFY(QTest::qWaitForWindowExposed(&t));
    QSignalSpy spy(&t, &Timeline::currentStepChanged);

    QTest::keyClick(&t, Qt::Key_Right);
    QCOMPARE(t.currentStep(), 1);
    QTest::keyClick(&t, Qt::Key_Right);
    QCOMPARE(t.currentStep(), 2);
    QTest::keyClick(&t, Qt::Key_Left);
    QCOMPARE(t.currentStep(), 1);
    QTest::keyClick(&t, Qt::Key_End);
    QCOMPARE(t.currentStep(), 9);
    QTest::keyClick(&t, Qt::Key_Right); // at the end: nothing
    QCOMPARE(t.currentStep(), 9);
    QTest::keyClick(&t, Qt::Key_Home);
    QCOMPARE(t.currentStep(), 0);
    QTest::keyClick(&t, Qt::Key_Left); // at the start: nothing
    QCOMPARE(t.currentStep(), 0);
    QCOMPARE(spy.count(), 5);

    QSignalSpy playing(&t, &Timeline::playingChanged);
    t.setPlayInterval(10000);
    QTest::keyClick(&t, Qt::Key_Space);
    QVERIFY(t.isPlaying());
    QTest::keyClick(&t, Qt::Key_Space);
    QVERIFY(!t.isPlaying());
    QCOMPARE(playing.count(), 2);
}

void TestFrameView::timelinePlaysToTheEnd() {
    Timeline t;
    t.setStepCount(5);
    t.setPlayInterval(10);
    QSignalSpy spy(&t, &Timeline::currentStepChanged);
    QSignalSpy playing(&t, &Timeline::playingChanged);
    t.play();
    QVERIFY(t.isPlaying());
    QTest::qWait(25);
    QVERIFY(t.currentStep() >= 1); // it advances over time
    QTRY_VERIFY_WITH_TIMEOUT(!t.isPlaying(), 3000);
    QCOMPARE(t.currentStep(), 4);
    QCOMPARE(spy.count(), 4); // once per step
    QTest::qWait(50);
    QCOMPARE(t.currentStep(), 4); // stopped at the end
    QCOMPARE(spy.count(), 4);
    QCOMPARE(playing.count(), 2);
    QCOMPARE(playing.at(0).at(0).toBool(), true);
    QCOMPARE(playing.at(1).at(0).toBool(), false);

    // Playing again from the end starts over.
    t.play();
    QCOMPARE(t.currentStep(), 0);
    t.pause();
    QVERIFY(!t.isPlaying());
}

void TestFrameView::timelineEmptyIsDisabled() {
    Timeline t;
    t.setStepCount(6);
    t.setCurrentStep(3);
    QVERIFY(t.isEnabled());
    QSignalSpy spy(&t, &Timeline::currentStepChanged);
    t.setStepCount(0);
    QVERIFY(!t.isEnabled());
    QCOMPARE(t.stepCount(), 0);
    QCOMPARE(t.currentStep(), 0);
    QCOMPARE(spy.count(), 1);
    t.play();
    QVERIFY(!t.isPlaying());
    t.stepForward();
    QCOMPARE(t.currentStep(), 0);
    t.setStepCount(4);
    QVERIFY(t.isEnabled());
}

void TestFrameView::screenshot() {
    QWidget host;
    host.setPalette(lightPalette());
    auto* layout = new QVBoxLayout(&host);
    auto* view = new FrameView(&host);
    auto* timeline = new Timeline(&host);
    layout->addWidget(view, 1);
    layout->addWidget(timeline);
    host.resize(480, 460);
    view->setImage(sceneImage(256, 256));
    view->setActionScale(0.01);
    view->setActions(action(0.007, 0.004, 0.005, -1), action(0.005, 0.006, -0.003, 1),
                     action(0.008, 0.002, 0.002, -1));
    timeline->setStepCount(120);
    timeline->setCurrentStep(41);
    host.show();
    QVERIFY(QTest::qWaitForWindowExposed(&host));
    const QImage img = grabImage(host);
    QVERIFY(!img.isNull());
    const QString dir = qEnvironmentVariable("SPECVLA_VIEWS_DIR");
    if (!dir.isEmpty()) {
        QDir().mkpath(dir);
        QVERIFY(img.save(QDir(dir).filePath(QStringLiteral("frame_view.png"))));
        host.setPalette(darkPalette());
        QVERIFY(grabImage(host).save(QDir(dir).filePath(QStringLiteral("frame_view_dark.png"))));
    }
}

QTEST_MAIN(TestFrameView)
#include "test_frame_view.moc"
