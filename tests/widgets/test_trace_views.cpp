// SPDX-License-Identifier: MIT
// Qt Test suite for the trace views: the draft tree view (layout, hit-testing, round selection, zoom, pan,
// verdict colours in both themes) and the token-run strip (token-to-round model, clicks, cursor, long
// episodes). Set SPECVLA_VIEWS_DIR to save screenshots of both widgets there.
#include "draft_tree_view.h"
#include "theme.h"
#include "token_run_strip.h"

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QPainter>
#include <QSet>
#include <QSignalSpy>
#include <QTest>
#include <QWheelEvent>

#include <cmath>

using namespace specvla;
using namespace specvla::widgets;
using decode::Verdict;

namespace {

constexpr int kTokenBase = 31744; // token = base + bin (only has to be consistent inside the tests)

decode::TreeNode node(int bin, int parent, int depth, int distance, Verdict verdict, int targetBin = -1) {
    decode::TreeNode n;
    n.token = bin >= 0 ? kTokenBase + bin : 13;
    n.bin = bin;
    n.parent = parent;
    n.depth = depth;
    n.dim = depth;
    n.binDistance = distance;
    n.verdict = verdict;
    n.draftLogProb = -0.25f * static_cast<float>(depth + 1);
    n.score = -0.5f * static_cast<float>(depth);
    n.targetBin = targetBin;
    n.targetToken = targetBin >= 0 ? kTokenBase + targetBin : -1;
    return n;
}

// Relaxed decode of one action in two rounds: round 0 accepts an exact and a relaxed draft (nodes 1, 4) and
// its bonus, round 1 the same; token k's committing rounds: prefill, 0, 0, 0(bonus), 1, 1, 1(bonus).
decode::ActionTrace relaxedTrace() {
    decode::ActionTrace t;
    decode::RoundTrace r0;
    r0.index = 0;
    r0.committedBefore = 0;
    r0.nodes = {
        node(120, -1, 0, -1, Verdict::Root, 130),    // 0
        node(130, 0, 1, 0, Verdict::Exact, 140),     // 1
        node(135, 0, 1, 5, Verdict::Relaxed, 141),   // 2
        node(160, 0, 1, 30, Verdict::Rejected, 150), // 3
        node(143, 1, 2, 3, Verdict::Relaxed, 150),   // 4
        node(90, 1, 2, 50, Verdict::Rejected),       // 5
        node(70, 3, 2, -1, Verdict::NotReached),     // 6
        node(170, 4, 3, 20, Verdict::Rejected),      // 7
        node(200, 2, 2, 59, Verdict::Rejected),      // 8
        node(-1, 6, 3, -1, Verdict::NotReached),     // 9: not an action token
    };
    r0.acceptedPath = {0, 1, 4};
    r0.acceptedDrafts = 2;
    r0.exactAccepted = 1;
    r0.relaxedAccepted = 1;
    r0.bonusToken = kTokenBase + 150;
    r0.bonusCommitted = true;
    decode::RoundTrace r1;
    r1.index = 1;
    r1.committedBefore = 3;
    r1.nodes = {node(150, -1, 0, -1, Verdict::Root, 151), node(151, 0, 1, 0, Verdict::Exact, 152),
                node(149, 1, 2, 3, Verdict::Relaxed, 155), node(10, 0, 1, 141, Verdict::Rejected)};
    r1.acceptedPath = {0, 1, 2};
    r1.acceptedDrafts = 2;
    r1.exactAccepted = 1;
    r1.relaxedAccepted = 1;
    r1.bonusToken = kTokenBase + 155;
    r1.bonusCommitted = true;
    t.rounds = {r0, r1};
    for (int b : {120, 130, 143, 150, 151, 149, 155}) {
        t.tokens.push_back(kTokenBase + b);
        t.bins.push_back(b);
    }
    t.targetPasses = 3;
    return t;
}

// Strict decode of the same action in four rounds: accepted drafts 1, 1, 0, 0, each with its bonus.
decode::ActionTrace strictTrace() {
    decode::ActionTrace t = relaxedTrace();
    t.settings.mode = decode::DecodeMode::Strict;
    t.rounds.clear();
    const int accepted[] = {1, 1, 0, 0};
    int committed = 0;
    for (int i = 0; i < 4; ++i) {
        decode::RoundTrace r;
        r.index = i;
        r.committedBefore = committed;
        r.nodes = {node(100, -1, 0, -1, Verdict::Root, 101), node(101, 0, 1, 0, Verdict::Exact, 102),
                   node(120, 0, 1, 19, Verdict::Rejected)};
        if (accepted[i] == 0) r.nodes[1].verdict = Verdict::Rejected;
        r.acceptedPath = accepted[i] ? std::vector<int>{0, 1} : std::vector<int>{0};
        r.acceptedDrafts = accepted[i];
        r.exactAccepted = accepted[i];
        r.bonusToken = kTokenBase + 102;
        r.bonusCommitted = true;
        committed += accepted[i] + 1;
        t.rounds.push_back(r);
    }
    return t;
}

decode::ActionTrace arTrace() {
    decode::ActionTrace t = relaxedTrace();
    t.settings.mode = decode::DecodeMode::Ar;
    t.rounds.clear();
    return t;
}

// A wider tree for the screenshot: three children per node, three levels, the first child on the path.
decode::ActionTrace bigTrace() {
    decode::ActionTrace t = relaxedTrace();
    decode::RoundTrace& r = t.rounds[0];
    r.nodes = {node(120, -1, 0, -1, Verdict::Root, 128)};
    r.acceptedPath = {0};
    std::vector<int> frontier = {0};
    for (int depth = 1; depth <= 3; ++depth) {
        std::vector<int> next;
        for (int parent : frontier) {
            const decode::TreeNode& p = r.nodes[static_cast<std::size_t>(parent)];
            const bool parentOk =
                p.verdict == Verdict::Root || p.verdict == Verdict::Exact || p.verdict == Verdict::Relaxed;
            for (int c = 0; c < 3; ++c) {
                const int distance = c == 0 ? 0 : (c == 1 ? 4 + depth : 25 + 7 * c);
                Verdict v = !parentOk
                                ? Verdict::NotReached
                                : (distance == 0 ? Verdict::Exact
                                                 : (distance <= 9 ? Verdict::Relaxed : Verdict::Rejected));
                if (depth == 3 && c == 0 && parentOk) v = Verdict::Rejected;
                r.nodes.push_back(node(p.targetBin + distance, parent, depth, parentOk ? distance : -1, v,
                                       p.targetBin + depth * 3));
                next.push_back(static_cast<int>(r.nodes.size()) - 1);
            }
        }
        frontier = next;
    }
    r.acceptedPath = {0, 1, 5};
    r.acceptedDrafts = 2;
    r.exactAccepted = 1;
    r.relaxedAccepted = 1;
    return t;
}

bool similar(QColor a, QColor b, int tolerance = 4) {
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

int distinctColours(const QImage& image) {
    QSet<QRgb> seen;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            seen.insert(image.pixel(x, y));
    return seen.size();
}

void sendWheel(QWidget* w, QPoint pos, int delta, Qt::KeyboardModifiers mods = Qt::NoModifier) {
    QWheelEvent e(pos, w->mapToGlobal(pos), QPoint(), QPoint(0, delta), Qt::NoButton, mods, Qt::NoScrollPhase,
                  false);
    QApplication::sendEvent(w, &e);
}

void sendMouse(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent e(type, pos, w->mapToGlobal(pos), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &e);
}

} // namespace

class TestTraceViews : public QObject {
    Q_OBJECT

private slots:
    void treeLaysOutEveryNodeWithoutOverlap();
    void treeMarksAcceptedPath();
    void treeHitTestsNodeCentres();
    void treeRoundSelectionEmitsAndClamps();
    void treeZoomAndPan();
    void treeNodeColoursFollowVerdict_data();
    void treeNodeColoursFollowVerdict();
    void treeShowsPlaceholderForAr();
    void treeHoverReportsNode();
    void stripMapsTokensToRounds();
    void stripClickEmitsStep();
    void stripCursorFollowsSetCurrentStep();
    void stripRendersLongEpisodes();
    void saveScreenshots();
};

void TestTraceViews::treeLaysOutEveryNodeWithoutOverlap() {
    DraftTreeView view;
    view.resize(800, 500);
    view.setTrace(relaxedTrace());
    const auto& nodes = view.trace().rounds[0].nodes;
    const auto& layout = view.layout();
    QCOMPARE(layout.size(), static_cast<int>(nodes.size()));
    for (int i = 0; i < layout.size(); ++i) {
        QVERIFY(layout[i].isValid());
        QVERIFY(view.nodeRect(i).isValid());
        if (i > 0)
            QVERIFY2(layout[i].left() > layout[nodes[i].parent].right(), qPrintable(QString::number(i)));
        for (int j = i + 1; j < layout.size(); ++j)
            QVERIFY2(!layout[i].intersects(layout[j]),
                     qPrintable(QStringLiteral("%1 overlaps %2").arg(i).arg(j)));
    }
    view.setRound(1);
    QCOMPARE(view.layout().size(), 4);
    // A larger tree stays overlap-free.
    view.setTrace(bigTrace());
    view.setRound(0);
    const auto& big = view.layout();
    QCOMPARE(big.size(), 40);
    for (int i = 0; i < big.size(); ++i)
        for (int j = i + 1; j < big.size(); ++j)
            QVERIFY(!big[i].intersects(big[j]));
}

void TestTraceViews::treeMarksAcceptedPath() {
    DraftTreeView view;
    view.setTrace(relaxedTrace());
    for (int i = 0; i < 10; ++i)
        QCOMPARE(view.onAcceptedPath(i), i == 0 || i == 1 || i == 4);
    view.setRound(1);
    QVERIFY(view.onAcceptedPath(2));
    QVERIFY(!view.onAcceptedPath(3));
}

void TestTraceViews::treeHitTestsNodeCentres() {
    DraftTreeView view;
    view.resize(800, 500);
    view.setTrace(relaxedTrace());
    for (int i = 0; i < view.layout().size(); ++i)
        QCOMPARE(view.nodeAt(view.nodeRect(i).center().toPoint()), i);
    QCOMPARE(view.nodeAt(QPoint(2, 2)), -1); // header
    const QRectF r1 = view.nodeRect(1);
    QCOMPARE(view.nodeAt(QPoint(static_cast<int>(r1.right()) + 8, static_cast<int>(r1.center().y()))), -1);
}

void TestTraceViews::treeRoundSelectionEmitsAndClamps() {
    DraftTreeView view;
    view.resize(600, 400);
    QSignalSpy spy(&view, &DraftTreeView::roundChanged);
    view.setTrace(relaxedTrace());
    QCOMPARE(view.roundCount(), 2);
    QCOMPARE(view.round(), 0);
    view.setRound(1);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toInt(), 1);
    view.setRound(7); // clamps to the last round, which it already shows
    QCOMPARE(view.round(), 1);
    QCOMPARE(spy.count(), 1);
    view.setRound(-3);
    QCOMPARE(view.round(), 0);
    QCOMPARE(spy.count(), 2);
    QTest::keyClick(&view, Qt::Key_Right, Qt::ShiftModifier);
    QCOMPARE(view.round(), 1);
    QTest::keyClick(&view, Qt::Key_Left, Qt::ShiftModifier);
    QCOMPARE(view.round(), 0);
    QCOMPARE(spy.count(), 4);
    // A new trace with fewer rounds pulls the round back in range.
    view.setRound(1);
    decode::ActionTrace one = relaxedTrace();
    one.rounds.resize(1);
    view.setTrace(one);
    QCOMPARE(view.round(), 0);
    QCOMPARE(spy.last().at(0).toInt(), 0);
}

void TestTraceViews::treeZoomAndPan() {
    DraftTreeView view;
    view.resize(800, 500);
    view.setTrace(relaxedTrace());
    view.setZoom(1.0);
    const double w1 = view.nodeRect(2).width();
    view.zoomIn();
    QVERIFY(view.zoom() > 1.0);
    QVERIFY(view.nodeRect(2).width() > w1);
    QTest::keyClick(&view, Qt::Key_Minus, Qt::ControlModifier);
    QTest::keyClick(&view, Qt::Key_Minus, Qt::ControlModifier);
    QVERIFY(view.zoom() < 1.0);
    // The wheel zooms about the pointer: the node under it stays under it.
    view.setZoom(1.0);
    const QPoint at = view.nodeRect(4).center().toPoint();
    sendWheel(&view, at, 240);
    QVERIFY(view.zoom() > 1.2);
    QCOMPARE(view.nodeAt(at), 4);
    view.setZoom(100);
    QCOMPARE(view.zoom(), 4.0);
    // Drag pans by the pointer's movement.
    view.setZoom(1.0);
    const QRectF before = view.nodeRect(0);
    const QPoint start(700, 450);
    sendMouse(&view, QEvent::MouseButtonPress, start, Qt::LeftButton, Qt::LeftButton);
    sendMouse(&view, QEvent::MouseMove, start + QPoint(-30, -20), Qt::NoButton, Qt::LeftButton);
    sendMouse(&view, QEvent::MouseButtonRelease, start + QPoint(-30, -20), Qt::LeftButton, Qt::NoButton);
    QCOMPARE(view.nodeRect(0).topLeft(), before.topLeft() + QPointF(-30, -20));
}

void TestTraceViews::treeNodeColoursFollowVerdict_data() {
    QTest::addColumn<bool>("dark");
    QTest::newRow("light") << false;
    QTest::newRow("dark") << true;
}

void TestTraceViews::treeNodeColoursFollowVerdict() {
    QFETCH(bool, dark);
    DraftTreeView view;
    view.resize(800, 500);
    view.setPalette(dark ? darkPalette() : lightPalette());
    view.setTrace(relaxedTrace());
    view.setZoom(1.0);
    const PlotColors colors = plotColors(view.palette());
    QCOMPARE(colors.dark, dark);
    const QImage image = view.grab().toImage();
    QCOMPARE(image.size(), QSize(800, 500));
    QVERIFY(distinctColours(image) > 8);
    const auto& nodes = view.trace().rounds[0].nodes;
    QSet<QRgb> verdictsSeen;
    for (int i = 0; i < view.layout().size(); ++i) {
        const QRectF r = view.nodeRect(i);
        QVERIFY(QRectF(image.rect()).contains(r));
        // Left of the label, inside the (possibly bold) border.
        const QPoint probe(static_cast<int>(r.left()) + 6, static_cast<int>(r.center().y()));
        const QColor expected =
            DraftTreeView::verdictColor(nodes[static_cast<std::size_t>(i)].verdict, colors);
        QVERIFY2(similar(image.pixelColor(probe), expected),
                 qPrintable(QStringLiteral("node %1: %2 vs %3")
                                .arg(i)
                                .arg(image.pixelColor(probe).name(), expected.name())));
        verdictsSeen.insert(expected.rgb());
    }
    QCOMPARE(verdictsSeen.size(), 5); // root, exact, relaxed, rejected, not reached
    // The accepted path's bold border is drawn in the path colour just inside the node's edge.
    const QRectF a = view.nodeRect(4);
    QVERIFY(similar(image.pixelColor(QPoint(static_cast<int>(a.center().x()), static_cast<int>(a.top()) + 1)),
                    colors.acceptedPath, 12));
}

void TestTraceViews::treeShowsPlaceholderForAr() {
    DraftTreeView view;
    view.resize(400, 300);
    view.setTrace(arTrace());
    QCOMPARE(view.roundCount(), 0);
    QVERIFY(view.layout().isEmpty());
    QVERIFY(view.currentRound() == nullptr);
    QCOMPARE(view.nodeAt(QPoint(200, 150)), -1);
    view.setRound(3);
    QCOMPARE(view.round(), 0);
    const QImage image = view.grab().toImage();
    QVERIFY(distinctColours(image) > 2); // background plus the placeholder text
}

void TestTraceViews::treeHoverReportsNode() {
    DraftTreeView view;
    view.resize(800, 500);
    view.setTrace(relaxedTrace());
    QSignalSpy spy(&view, &DraftTreeView::nodeHovered);
    const QPoint at = view.nodeRect(2).center().toPoint();
    sendMouse(&view, QEvent::MouseMove, at, Qt::NoButton, Qt::NoButton);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(1).toInt(), 2);
    const QString detail = view.nodeDetail(2);
    QVERIFY(detail.contains(QStringLiteral("bin 135")));
    QVERIFY(detail.contains(QStringLiteral("bin 130"))); // the target at the parent
    QVERIFY(detail.contains(QStringLiteral("Bin distance: 5")));
    QVERIFY(detail.contains(QStringLiteral("relaxed")));
    // A relaxed trace with bin-coverage children reports the covered mass; a top-k one the log-prob.
    QVERIFY2(detail.contains(QStringLiteral("Draft mass covered (log)")), qPrintable(detail));
    decode::ActionTrace topK = relaxedTrace();
    topK.settings.children = decode::ChildChoice::TopK;
    DraftTreeView other;
    other.setTrace(topK);
    QVERIFY(other.nodeDetail(2).contains(QStringLiteral("Draft log-prob")));
    QCOMPARE(DraftTreeView::nodeLabel(view.trace().rounds[0].nodes[2]), QStringLiteral("b135 Δ5"));
    QCOMPARE(DraftTreeView::nodeLabel(view.trace().rounds[0].nodes[9]), QStringLiteral("t13"));
    sendMouse(&view, QEvent::MouseMove, QPoint(2, 200), Qt::NoButton, Qt::NoButton);
    QCOMPARE(spy.last().at(1).toInt(), -1);
}

void TestTraceViews::stripMapsTokensToRounds() {
    TokenRunStrip strip;
    strip.setTraces({relaxedTrace(), strictTrace(), arTrace()});
    QCOMPARE(strip.stepCount(), 3);
    using K = TokenRunStrip::CellKind;
    const int relaxedRounds[] = {-1, 0, 0, 0, 1, 1, 1};
    const K relaxedKinds[] = {K::Prefill, K::Exact, K::Relaxed, K::Bonus, K::Exact, K::Relaxed, K::Bonus};
    const int strictRounds[] = {-1, 0, 0, 1, 1, 2, 3};
    const K strictKinds[] = {K::Prefill, K::Exact, K::Bonus, K::Exact, K::Bonus, K::Bonus, K::Bonus};
    for (int k = 0; k < 7; ++k) {
        QCOMPARE(strip.roundOfToken(0, k), relaxedRounds[k]);
        QCOMPARE(strip.kindOfToken(0, k), relaxedKinds[k]);
        QCOMPARE(strip.roundOfToken(1, k), strictRounds[k]);
        QCOMPARE(strip.kindOfToken(1, k), strictKinds[k]);
        QCOMPARE(strip.roundOfToken(2, k), k - 1);
        QCOMPARE(strip.kindOfToken(2, k), k == 0 ? K::Prefill : K::Autoregressive);
    }
    QCOMPARE(strip.verifyRounds(0), 2);
    QCOMPARE(strip.verifyRounds(1), 4);
    QCOMPARE(strip.verifyRounds(2), 6);
    QCOMPARE(strip.roundOfToken(0, 7), -2);
    QCOMPARE(strip.roundOfToken(9, 0), -2);
    // A capped last round: its bonus is not committed.
    decode::ActionTrace capped = relaxedTrace();
    capped.rounds[1].bonusCommitted = false;
    capped.rounds[1].capped = true;
    strip.setStepTrace(4, capped);
    QCOMPARE(strip.stepCount(), 5);
    QVERIFY(!strip.row(3).present);
    QCOMPARE(strip.kindOfToken(4, 6), K::Empty);
    QCOMPARE(strip.roundOfToken(4, 6), -2);
    QCOMPARE(strip.roundOfToken(4, 5), 1);
}

void TestTraceViews::stripClickEmitsStep() {
    TokenRunStrip strip;
    strip.resize(420, 300);
    strip.setTraces(std::vector<decode::ActionTrace>(5, relaxedTrace()));
    QSignalSpy spy(&strip, &TokenRunStrip::stepClicked);
    const QRectF cell = strip.cellRect(3, 2);
    QVERIFY(cell.isValid());
    QCOMPARE(strip.cellAt(cell.center().toPoint()), std::make_pair(3, 2));
    QTest::mouseClick(&strip, Qt::LeftButton, Qt::NoModifier, cell.center().toPoint());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toInt(), 3);
    QCOMPARE(strip.currentStep(), 3);
    QTest::mouseClick(&strip, Qt::LeftButton, Qt::NoModifier, QPoint(5, 5)); // the legend: no step
    QCOMPARE(spy.count(), 1);
}

void TestTraceViews::stripCursorFollowsSetCurrentStep() {
    TokenRunStrip strip;
    strip.resize(420, 300);
    strip.setPalette(lightPalette());
    strip.setTraces(std::vector<decode::ActionTrace>(6, strictTrace()));
    strip.setCurrentStep(2);
    QCOMPARE(strip.currentStep(), 2);
    const QColor highlight = strip.palette().color(QPalette::Highlight);
    auto markerAt = [&](int step) {
        const QImage image = strip.grab().toImage();
        const int y = static_cast<int>(strip.cellRect(step, 0).center().y());
        return similar(image.pixelColor(1, y), highlight, 6);
    };
    QVERIFY(markerAt(2));
    QVERIFY(!markerAt(4));
    strip.setCurrentStep(40); // clamps
    QCOMPARE(strip.currentStep(), 5);
    QVERIFY(markerAt(5));
    QVERIFY(!markerAt(2));
}

void TestTraceViews::stripRendersLongEpisodes() {
    TokenRunStrip strip;
    strip.resize(420, 300);
    strip.setPalette(darkPalette());
    std::vector<decode::ActionTrace> traces;
    for (int i = 0; i < 150; ++i)
        traces.push_back(i % 3 == 0 ? strictTrace() : relaxedTrace());
    strip.setTraces(traces);
    QCOMPARE(strip.stepCount(), 150);
    QVERIFY(strip.rowHeight() >= 4);
    QVERIFY(strip.grab().toImage().size() == QSize(420, 300));
    strip.setCurrentStep(140);
    QVERIFY(strip.firstVisibleStep() > 0);
    const QRectF cell = strip.cellRect(140, 1);
    QVERIFY(cell.isValid());
    QVERIFY(QRectF(strip.rect()).contains(cell));
    const QImage image = strip.grab().toImage();
    const PlotColors colors = plotColors(strip.palette());
    QVERIFY(similar(image.pixelColor(cell.center().toPoint()), colors.exact)); // round 0's exact draft
    // Clicking a scrolled row reports its own step.
    QSignalSpy spy(&strip, &TokenRunStrip::stepClicked);
    QTest::mouseClick(&strip, Qt::LeftButton, Qt::NoModifier, strip.cellRect(138, 3).center().toPoint());
    QCOMPARE(spy.last().at(0).toInt(), 138);
    // The export draws every step into the target.
    QImage exported(600, 1200, QImage::Format_ARGB32);
    exported.fill(Qt::transparent);
    QPainter painter(&exported);
    strip.render(&painter, exported.rect());
    painter.end();
    QVERIFY(distinctColours(exported) > 6);
    QCOMPARE(exported.pixelColor(2, 2), lightPlotColors().background);
    QVERIFY(exported.pixelColor(300, 1190).alpha() == 255); // the last rows are drawn too
}

void TestTraceViews::saveScreenshots() {
    // SPECVLA_VIEWS_DIR keeps the screenshots for a look; otherwise they go to a temporary folder.
    QTemporaryDir tmp;
    const QString env = qEnvironmentVariable("SPECVLA_VIEWS_DIR");
    const QString dir = env.isEmpty() ? tmp.path() : env;
    QVERIFY(QDir().mkpath(dir));
    for (bool dark : {false, true}) {
        const QString suffix = dark ? QStringLiteral("_dark") : QStringLiteral("_light");
        DraftTreeView view;
        view.setPalette(dark ? darkPalette() : lightPalette());
        view.resize(720, 560);
        view.setTrace(bigTrace());
        QVERIFY(view.grab().save(dir + QStringLiteral("/draft_tree") + suffix + QStringLiteral(".png")));
        view.setTrace(relaxedTrace());
        QVERIFY(
            view.grab().save(dir + QStringLiteral("/draft_tree_small") + suffix + QStringLiteral(".png")));
        TokenRunStrip strip;
        strip.setPalette(dark ? darkPalette() : lightPalette());
        strip.resize(460, 420);
        std::vector<decode::ActionTrace> traces;
        for (int i = 0; i < 16; ++i)
            traces.push_back(i % 4 == 3 ? arTrace() : (i % 2 ? strictTrace() : relaxedTrace()));
        strip.setTraces(traces);
        strip.setCurrentStep(5);
        QVERIFY(
            strip.grab().save(dir + QStringLiteral("/token_run_strip") + suffix + QStringLiteral(".png")));
        traces.clear();
        for (int i = 0; i < 150; ++i)
            traces.push_back(i % 3 == 0 ? strictTrace() : relaxedTrace());
        strip.setTraces(traces);
        strip.setCurrentStep(60);
        QVERIFY(strip.grab().save(dir + QStringLiteral("/token_run_strip_150") + suffix +
                                  QStringLiteral(".png")));
    }
}

QTEST_MAIN(TestTraceViews)
#include "test_trace_views.moc"
