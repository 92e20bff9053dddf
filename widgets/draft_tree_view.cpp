// SPDX-License-Identifier: MIT
#include "draft_tree_view.h"

#include <QEvent>
#include <QFontMetrics>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QSpinBox>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <functional>

namespace specvla::widgets {

namespace {

// Scene geometry at scale 1: one column per depth, one row slot per leaf.
constexpr double kNodeW = 78;
constexpr double kNodeH = 26;
constexpr double kColumn = 112;
constexpr double kRow = 34;
constexpr int kHeaderH = 30;
constexpr double kMinScale = 0.2;
constexpr double kMaxScale = 4.0;
constexpr double kMinFitScale = 0.35; // below this labels are unreadable: fit the top-left part and let pan

const char* verdictLabel(decode::Verdict v) {
    switch (v) {
    case decode::Verdict::Root:
        return "root";
    case decode::Verdict::Exact:
        return "exact";
    case decode::Verdict::Relaxed:
        return "relaxed";
    case decode::Verdict::Rejected:
        return "rejected";
    case decode::Verdict::NotReached:
        return "not reached";
    }
    return "?";
}

QString tokenText(int token, int bin) {
    if (token < 0) return QStringLiteral("–");
    if (bin >= 0) return QStringLiteral("%1 (bin %2)").arg(token).arg(bin);
    return QString::number(token);
}

QColor textOn(const QColor& fill) {
    return relativeLuminance(fill) > 0.35 ? QColor(Qt::black) : QColor(Qt::white);
}

} // namespace

DraftTreeView::DraftTreeView(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAutoFillBackground(false);
    m_spin = new QSpinBox(this);
    m_spin->setPrefix(tr("round "));
    m_spin->setToolTip(tr("Verify round (Shift+Left / Shift+Right)"));
    m_spin->setFocusPolicy(Qt::ClickFocus);
    connect(m_spin, qOverload<int>(&QSpinBox::valueChanged), this, [this](int v) { setRound(v - 1); });
    updateSpin();
}

void DraftTreeView::setTrace(const decode::ActionTrace& trace) {
    m_trace = trace;
    const int old = m_round;
    m_round = std::clamp(m_round, 0, std::max(0, roundCount() - 1));
    if (m_round >= roundCount()) m_round = 0;
    m_hovered = -1;
    relayout();
    m_autoFit = true;
    fitToView();
    updateSpin();
    if (old != m_round) Q_EMIT roundChanged(m_round);
}

void DraftTreeView::clear() {
    setTrace(decode::ActionTrace{});
}

const decode::RoundTrace* DraftTreeView::currentRound() const {
    if (m_round < 0 || m_round >= roundCount()) return nullptr;
    return &m_trace.rounds[static_cast<std::size_t>(m_round)];
}

void DraftTreeView::setRound(int round) {
    const int clamped = std::clamp(round, 0, std::max(0, roundCount() - 1));
    if (clamped == m_round) {
        updateSpin(); // the spin box may show an out-of-range request
        return;
    }
    m_round = clamped;
    m_hovered = -1;
    relayout();
    m_autoFit = true;
    fitToView();
    updateSpin();
    Q_EMIT roundChanged(m_round);
}

void DraftTreeView::updateSpin() {
    const QSignalBlocker block(m_spin);
    const int n = roundCount();
    m_spin->setVisible(n > 0);
    m_spin->setRange(1, std::max(1, n));
    m_spin->setSuffix(QStringLiteral(" / %1").arg(n));
    m_spin->setValue(m_round + 1);
    const QSize s = m_spin->sizeHint();
    m_spin->setGeometry(width() - s.width() - 4, (kHeaderH - s.height()) / 2, s.width(), s.height());
}

void DraftTreeView::relayout() {
    m_layout.clear();
    m_bounds = QRectF();
    const decode::RoundTrace* r = currentRound();
    if (!r || r->nodes.empty()) return;
    const int n = static_cast<int>(r->nodes.size());
    // Children in node order; a node whose parent is missing or does not precede it hangs from the root.
    std::vector<std::vector<int>> children(static_cast<std::size_t>(n));
    for (int i = 1; i < n; ++i) {
        int p = r->nodes[static_cast<std::size_t>(i)].parent;
        if (p < 0 || p >= i) p = 0;
        children[static_cast<std::size_t>(p)].push_back(i);
    }
    // Leaves take consecutive row slots and a parent sits midway between its first and last child, so
    // subtrees occupy disjoint row ranges and no two nodes of one column overlap.
    std::vector<double> slot(static_cast<std::size_t>(n), 0.0);
    std::vector<int> depth(static_cast<std::size_t>(n), 0);
    int nextLeaf = 0;
    std::function<void(int, int)> place = [&](int node, int d) {
        depth[static_cast<std::size_t>(node)] = d;
        const auto& kids = children[static_cast<std::size_t>(node)];
        if (kids.empty()) {
            slot[static_cast<std::size_t>(node)] = nextLeaf++;
            return;
        }
        for (int c : kids)
            place(c, d + 1);
        slot[static_cast<std::size_t>(node)] = 0.5 * (slot[static_cast<std::size_t>(kids.front())] +
                                                      slot[static_cast<std::size_t>(kids.back())]);
    };
    place(0, 0);
    m_layout.resize(n);
    for (int i = 0; i < n; ++i) {
        const QRectF rect(depth[static_cast<std::size_t>(i)] * kColumn,
                          slot[static_cast<std::size_t>(i)] * kRow, kNodeW, kNodeH);
        m_layout[i] = rect;
        m_bounds = m_bounds.isNull() ? rect : m_bounds.united(rect);
    }
}

bool DraftTreeView::onAcceptedPath(int node) const {
    const decode::RoundTrace* r = currentRound();
    return r && std::find(r->acceptedPath.begin(), r->acceptedPath.end(), node) != r->acceptedPath.end();
}

QRect DraftTreeView::viewport() const {
    return QRect(0, kHeaderH, width(), std::max(0, height() - kHeaderH));
}

QPointF DraftTreeView::toWidget(const QPointF& scene) const {
    return m_pan + scene * m_scale;
}
QPointF DraftTreeView::toScene(const QPointF& widget) const {
    return (widget - m_pan) / m_scale;
}

QRectF DraftTreeView::nodeRect(int node) const {
    if (node < 0 || node >= m_layout.size()) return {};
    const QRectF& s = m_layout[node];
    return QRectF(toWidget(s.topLeft()), s.size() * m_scale);
}

int DraftTreeView::nodeAt(const QPoint& pos) const {
    if (!viewport().contains(pos)) return -1;
    const QPointF s = toScene(pos);
    for (int i = 0; i < m_layout.size(); ++i)
        if (m_layout[i].contains(s)) return i;
    return -1;
}

void DraftTreeView::setZoom(double scale) {
    const double s = std::clamp(scale, kMinScale, kMaxScale);
    const QPointF centre = QRectF(viewport()).center();
    const QPointF scene = toScene(centre);
    m_scale = s;
    m_pan = centre - scene * m_scale;
    m_autoFit = false;
    update();
}

void DraftTreeView::fitToView() {
    if (m_layout.isEmpty()) {
        update();
        return;
    }
    const QRectF area = QRectF(viewport()).adjusted(12, 10, -12, -34); // room for the legend
    const double fit = std::min(area.width() / m_bounds.width(), area.height() / m_bounds.height());
    m_scale = std::clamp(std::min(1.0, fit), kMinFitScale, kMaxScale);
    const QSizeF size = m_bounds.size() * m_scale;
    // Centre what fits; when the tree is larger, start at its root (left) and centre rows around the path.
    const double x = size.width() <= area.width() ? area.center().x() - size.width() / 2 : area.left();
    double y = size.height() <= area.height() ? area.center().y() - size.height() / 2 : area.top();
    if (size.height() > area.height()) {
        const QRectF root = m_layout[0];
        y = area.center().y() - (root.center().y() - m_bounds.top()) * m_scale;
        y = std::clamp(y, area.bottom() - size.height(), area.top());
    }
    m_pan = QPointF(x, y) - m_bounds.topLeft() * m_scale;
    update();
}

QColor DraftTreeView::verdictColor(decode::Verdict verdict, const PlotColors& colors) {
    switch (verdict) {
    case decode::Verdict::Root:
        return colors.acceptedPath;
    case decode::Verdict::Exact:
        return colors.exact;
    case decode::Verdict::Relaxed:
        return colors.relaxed;
    case decode::Verdict::Rejected:
        return colors.rejected;
    case decode::Verdict::NotReached:
        return colors.notReached;
    }
    return colors.notReached;
}

QString DraftTreeView::nodeLabel(const decode::TreeNode& node) {
    QString s = node.bin >= 0 ? QStringLiteral("b%1").arg(node.bin) : QStringLiteral("t%1").arg(node.token);
    if (node.binDistance >= 0) s += QStringLiteral(" Δ%1").arg(node.binDistance);
    return s;
}

QString DraftTreeView::nodeDetail(int node) const {
    const decode::RoundTrace* r = currentRound();
    if (!r || node < 0 || node >= static_cast<int>(r->nodes.size())) return {};
    const decode::TreeNode& n = r->nodes[static_cast<std::size_t>(node)];
    QStringList lines;
    lines << tr("Node %1 · depth %2 · action dim %3").arg(node).arg(n.depth).arg(n.dim);
    lines << tr("Draft token: %1").arg(tokenText(n.token, n.bin));
    if (n.parent >= 0 && n.parent < static_cast<int>(r->nodes.size())) {
        const decode::TreeNode& p = r->nodes[static_cast<std::size_t>(n.parent)];
        lines << tr("Target token: %1").arg(tokenText(p.targetToken, p.targetBin));
    }
    if (n.binDistance >= 0) lines << tr("Bin distance: %1").arg(n.binDistance);
    const decode::DecodeSettings& st = m_trace.settings;
    if (st.mode == decode::DecodeMode::Relaxed && st.children == decode::ChildChoice::BinCoverage &&
        n.bin >= 0 && st.marginFor(n.dim) > 0)
        // Chosen by bin coverage: the value is the log of the draft mass this child newly covers.
        lines << tr("Draft mass covered (log): %1 · score: %2")
                     .arg(n.draftLogProb, 0, 'f', 3)
                     .arg(n.score, 0, 'f', 3);
    else
        lines << tr("Draft log-prob: %1 · score: %2").arg(n.draftLogProb, 0, 'f', 3).arg(n.score, 0, 'f', 3);
    lines << tr("Target next: %1").arg(tokenText(n.targetToken, n.targetBin));
    QString verdict = QString::fromLatin1(verdictLabel(n.verdict));
    if (onAcceptedPath(node)) verdict += tr(" · accepted path");
    lines << tr("Verdict: %1").arg(verdict);
    return lines.join(QLatin1Char('\n'));
}

void DraftTreeView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const PlotColors colors = plotColors(palette());
    p.fillRect(rect(), colors.background);

    // Header: round summary.
    const decode::RoundTrace* r = currentRound();
    p.setPen(colors.foreground);
    const QRect header(8, 0, width() - 16 - (m_spin->isVisible() ? m_spin->width() + 8 : 0), kHeaderH);
    QString title;
    if (r) {
        title = tr("Round %1/%2: %3 accepted (%4 exact, %5 relaxed)")
                    .arg(m_round + 1)
                    .arg(roundCount())
                    .arg(r->acceptedDrafts)
                    .arg(r->exactAccepted)
                    .arg(r->relaxedAccepted);
        if (r->bonusToken >= 0)
            title += r->bonusCommitted ? tr(" + bonus %1").arg(r->bonusToken) : tr(", bonus dropped (cap)");
    }
    p.drawText(header, Qt::AlignVCenter | Qt::AlignLeft,
               p.fontMetrics().elidedText(title, Qt::ElideRight, header.width()));

    const QRect vp = viewport();
    if (!r || m_layout.isEmpty()) {
        p.setPen(colors.foreground);
        const QString text = m_trace.tokens.empty() && m_trace.rounds.empty()
                                 ? tr("No trace")
                                 : tr("Autoregressive decode: no draft tree");
        p.drawText(vp, Qt::AlignCenter, text);
        return;
    }

    p.save();
    p.setClipRect(vp);
    p.translate(m_pan);
    p.scale(m_scale, m_scale);
    const int n = static_cast<int>(m_layout.size());
    // Edges first, accepted ones on top.
    for (int pass = 0; pass < 2; ++pass) {
        for (int i = 1; i < n; ++i) {
            int parent = r->nodes[static_cast<std::size_t>(i)].parent;
            if (parent < 0 || parent >= i) parent = 0;
            const bool accepted = onAcceptedPath(i) && onAcceptedPath(parent);
            if (accepted != (pass == 1)) continue;
            const QPointF a(m_layout[parent].right(), m_layout[parent].center().y());
            const QPointF b(m_layout[i].left(), m_layout[i].center().y());
            QPainterPath path(a);
            const double mid = (a.x() + b.x()) / 2;
            path.cubicTo(QPointF(mid, a.y()), QPointF(mid, b.y()), b);
            QColor edge = accepted ? colors.acceptedPath : colors.notReached;
            if (!accepted) edge.setAlphaF(0.7);
            p.setPen(QPen(edge, accepted ? 3.5 : 1.2));
            p.setBrush(Qt::NoBrush);
            p.drawPath(path);
        }
    }
    QFont normal = font();
    QFont bold = font();
    bold.setBold(true);
    for (int i = 0; i < n; ++i) {
        const decode::TreeNode& node = r->nodes[static_cast<std::size_t>(i)];
        const QColor fill = verdictColor(node.verdict, colors);
        const bool accepted = onAcceptedPath(i);
        QPen border(fill.darker(140), 1.0);
        if (accepted) border = QPen(colors.acceptedPath, 3.0);
        if (i == m_hovered) border = QPen(colors.foreground, accepted ? 3.0 : 2.0);
        p.setPen(border);
        p.setBrush(fill);
        const QRectF rect = m_layout[i].adjusted(border.widthF() / 2, border.widthF() / 2,
                                                 -border.widthF() / 2, -border.widthF() / 2);
        p.drawRoundedRect(rect, 5, 5);
        p.setFont(accepted ? bold : normal);
        p.setPen(textOn(fill));
        p.drawText(m_layout[i], Qt::AlignCenter, nodeLabel(node));
    }
    p.restore();
    p.setFont(font());
    drawLegend(p, colors);
}

void DraftTreeView::drawLegend(QPainter& p, const PlotColors& colors) const {
    const QVector<std::pair<QString, QColor>> items = {
        {tr("root"), colors.acceptedPath},      {tr("exact"), colors.exact},
        {tr("relaxed"), colors.relaxed},        {tr("rejected"), colors.rejected},
        {tr("not reached"), colors.notReached},
    };
    const QFontMetrics fm(p.font());
    const int h = fm.height() + 8;
    int width = 8;
    for (const auto& item : items)
        width += 14 + fm.horizontalAdvance(item.first) + 12;
    width += 28 + fm.horizontalAdvance(tr("accepted path")) + 4;
    const QRect box(6, height() - h - 6, width, h);
    QColor bg = colors.background;
    bg.setAlphaF(0.85);
    p.setPen(QPen(colors.grid, 1));
    p.setBrush(bg);
    p.drawRoundedRect(box, 4, 4);
    int x = box.left() + 8;
    const int cy = box.center().y();
    for (const auto& item : items) {
        p.setPen(item.second.darker(140));
        p.setBrush(item.second);
        p.drawRoundedRect(QRect(x, cy - 5, 10, 10), 2, 2);
        x += 14;
        p.setPen(colors.foreground);
        p.drawText(QPoint(x, cy + fm.ascent() / 2 - 1), item.first);
        x += fm.horizontalAdvance(item.first) + 12;
    }
    p.setPen(QPen(colors.acceptedPath, 3.5));
    p.drawLine(x, cy, x + 22, cy);
    x += 28;
    p.setPen(colors.foreground);
    p.drawText(QPoint(x, cy + fm.ascent() / 2 - 1), tr("accepted path"));
}

void DraftTreeView::resizeEvent(QResizeEvent*) {
    updateSpin();
    if (m_autoFit) fitToView();
}

void DraftTreeView::wheelEvent(QWheelEvent* event) {
    const double delta = event->angleDelta().y();
    if (delta == 0 || m_layout.isEmpty()) {
        event->ignore();
        return;
    }
    // Zoom about the pointer so that the node under it stays put.
    const QPointF pos = event->position();
    const QPointF scene = toScene(pos);
    m_scale = std::clamp(m_scale * std::pow(1.0015, delta), kMinScale, kMaxScale);
    m_pan = pos - scene * m_scale;
    m_autoFit = false;
    update();
    event->accept();
}

void DraftTreeView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton || event->button() == Qt::MiddleButton) {
        m_dragging = true;
        m_dragStart = event->pos();
        m_panStart = m_pan;
        setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void DraftTreeView::mouseMoveEvent(QMouseEvent* event) {
    if (m_dragging) {
        m_pan = m_panStart + QPointF(event->pos() - m_dragStart);
        m_autoFit = false;
        update();
        return;
    }
    const int node = nodeAt(event->pos());
    setHovered(node);
    if (node >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), nodeDetail(node), this,
                           nodeRect(node).toRect());
    else
        QToolTip::hideText();
}

void DraftTreeView::mouseReleaseEvent(QMouseEvent* event) {
    if (m_dragging) {
        m_dragging = false;
        unsetCursor();
        event->accept();
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

void DraftTreeView::mouseDoubleClickEvent(QMouseEvent*) {
    m_autoFit = true;
    fitToView();
}

void DraftTreeView::keyPressEvent(QKeyEvent* event) {
    const auto mods = event->modifiers() & ~Qt::KeypadModifier;
    if (mods == Qt::ShiftModifier && (event->key() == Qt::Key_Left || event->key() == Qt::Key_Right)) {
        setRound(m_round + (event->key() == Qt::Key_Right ? 1 : -1));
        return;
    }
    if (mods & Qt::ControlModifier) {
        switch (event->key()) {
        case Qt::Key_Plus:
        case Qt::Key_Equal:
            zoomIn();
            return;
        case Qt::Key_Minus:
            zoomOut();
            return;
        case Qt::Key_0:
            m_autoFit = true;
            fitToView();
            return;
        default:
            break;
        }
    }
    QWidget::keyPressEvent(event); // plain arrows belong to the global step cursor
}

void DraftTreeView::leaveEvent(QEvent* event) {
    setHovered(-1);
    QWidget::leaveEvent(event);
}

void DraftTreeView::changeEvent(QEvent* event) {
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange) update();
    QWidget::changeEvent(event);
}

void DraftTreeView::setHovered(int node) {
    if (node == m_hovered) return;
    m_hovered = node;
    update();
    Q_EMIT nodeHovered(m_round, node);
}

} // namespace specvla::widgets
