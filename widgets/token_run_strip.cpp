// SPDX-License-Identifier: MIT
#include "token_run_strip.h"

#include <QEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace specvla::widgets {

namespace {

constexpr int kHeaderH = 22;    // legend
constexpr double kGutter = 40;  // step numbers
constexpr double kSummary = 66; // "N rounds"
constexpr double kMinRowH = 4;  // below this the widget scrolls instead of shrinking
constexpr double kMaxRowH = 22;
constexpr double kRunGap = 3; // space between runs

QColor blend(const QColor& a, const QColor& b, double t) {
    return QColor::fromRgbF(static_cast<float>(a.redF() * (1 - t) + b.redF() * t),
                            static_cast<float>(a.greenF() * (1 - t) + b.greenF() * t),
                            static_cast<float>(a.blueF() * (1 - t) + b.blueF() * t));
}

const TokenRunStrip::StepRow& emptyRow() {
    static const TokenRunStrip::StepRow row;
    return row;
}

} // namespace

TokenRunStrip::StepRow TokenRunStrip::rowFromTrace(const decode::ActionTrace& trace) {
    StepRow row;
    row.present = true;
    const int n = std::max(static_cast<int>(trace.tokens.size()), trace.settings.maxTokens);
    row.cells.resize(static_cast<std::size_t>(std::max(0, n)));
    for (std::size_t k = 0; k < row.cells.size(); ++k) {
        if (k < trace.tokens.size()) row.cells[k].token = trace.tokens[k];
        if (k < trace.bins.size()) row.cells[k].bin = trace.bins[k];
    }
    if (trace.rounds.empty()) {
        // AR: the prefill yields token 0, then one decode step per token.
        row.autoregressive = true;
        for (std::size_t k = 0; k < trace.tokens.size() && k < row.cells.size(); ++k) {
            row.cells[k].kind = k == 0 ? CellKind::Prefill : CellKind::Autoregressive;
            row.cells[k].round = static_cast<int>(k) - 1;
        }
        row.verifyRounds = std::max(0, static_cast<int>(trace.tokens.size()) - 1);
        return row;
    }
    // Round r's root (token committedBefore) is the previous round's bonus or, for the first, the prefill's
    // token; r commits its accepted drafts after it and then its bonus (next round's root).
    if (!row.cells.empty()) {
        row.cells[0].kind = CellKind::Prefill;
        row.cells[0].round = -1;
    }
    const int size = static_cast<int>(row.cells.size());
    for (const decode::RoundTrace& r : trace.rounds) {
        const int base = r.committedBefore;
        for (int j = 1; j < static_cast<int>(r.acceptedPath.size()); ++j) {
            const int k = base + j;
            if (k < 0 || k >= size) continue;
            const int node = r.acceptedPath[static_cast<std::size_t>(j)];
            const bool relaxed = node >= 0 && node < static_cast<int>(r.nodes.size()) &&
                                 r.nodes[static_cast<std::size_t>(node)].verdict == decode::Verdict::Relaxed;
            row.cells[static_cast<std::size_t>(k)].kind = relaxed ? CellKind::Relaxed : CellKind::Exact;
            row.cells[static_cast<std::size_t>(k)].round = r.index;
        }
        const int bonus = base + static_cast<int>(std::max<std::size_t>(r.acceptedPath.size(), 1));
        if (r.bonusCommitted && bonus >= 0 && bonus < size) {
            row.cells[static_cast<std::size_t>(bonus)].kind = CellKind::Bonus;
            row.cells[static_cast<std::size_t>(bonus)].round = r.index;
            if (row.cells[static_cast<std::size_t>(bonus)].token < 0)
                row.cells[static_cast<std::size_t>(bonus)].token = r.bonusToken;
        }
    }
    row.verifyRounds = static_cast<int>(trace.rounds.size());
    return row;
}

TokenRunStrip::TokenRunStrip(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
}

void TokenRunStrip::setTraces(const std::vector<decode::ActionTrace>& traces) {
    m_rows.clear();
    m_rows.reserve(traces.size());
    for (const auto& t : traces)
        m_rows.push_back(rowFromTrace(t));
    m_current = std::min(m_current, stepCount() - 1);
    clampScroll();
    update();
}

void TokenRunStrip::setStepTrace(int step, const decode::ActionTrace& trace) {
    if (step < 0) return;
    if (step >= stepCount()) m_rows.resize(static_cast<std::size_t>(step) + 1);
    m_rows[static_cast<std::size_t>(step)] = rowFromTrace(trace);
    clampScroll();
    update();
}

void TokenRunStrip::clear() {
    m_rows.clear();
    m_current = -1;
    m_firstRow = 0;
    update();
}

const TokenRunStrip::StepRow& TokenRunStrip::row(int step) const {
    if (step < 0 || step >= stepCount()) return emptyRow();
    return m_rows[static_cast<std::size_t>(step)];
}

int TokenRunStrip::roundOfToken(int step, int k) const {
    const StepRow& r = row(step);
    if (k < 0 || k >= static_cast<int>(r.cells.size())) return -2;
    return r.cells[static_cast<std::size_t>(k)].round;
}

TokenRunStrip::CellKind TokenRunStrip::kindOfToken(int step, int k) const {
    const StepRow& r = row(step);
    if (k < 0 || k >= static_cast<int>(r.cells.size())) return CellKind::Empty;
    return r.cells[static_cast<std::size_t>(k)].kind;
}

int TokenRunStrip::verifyRounds(int step) const {
    return row(step).verifyRounds;
}

int TokenRunStrip::columns() const {
    int c = 7;
    for (const auto& r : m_rows)
        c = std::max(c, static_cast<int>(r.cells.size()));
    return c;
}

TokenRunStrip::Geometry TokenRunStrip::geometry(const QRect& area, bool fitAll) const {
    Geometry g;
    g.rows = QRectF(area).adjusted(0, kHeaderH, 0, 0);
    g.columns = columns();
    g.gutter = kGutter;
    g.cellW = std::clamp((g.rows.width() - kGutter - kSummary) / g.columns, 8.0, 44.0);
    const int steps = std::max(1, stepCount());
    if (fitAll) {
        g.rowH = g.rows.height() / steps;
        g.first = 0;
    } else {
        g.rowH = std::clamp(g.rows.height() / steps, kMinRowH, kMaxRowH);
        g.first = m_firstRow;
    }
    return g;
}

double TokenRunStrip::rowHeight() const {
    return geometry(rect(), false).rowH;
}

int TokenRunStrip::visibleRows() const {
    const Geometry g = geometry(rect(), false);
    return std::max(1, static_cast<int>(std::floor(g.rows.height() / g.rowH)));
}

void TokenRunStrip::clampScroll() {
    m_firstRow = std::clamp(m_firstRow, 0, std::max(0, stepCount() - visibleRows()));
}

QRectF TokenRunStrip::cellRect(int step, int k) const {
    const Geometry g = geometry(rect(), false);
    if (step < g.first || step >= stepCount() || k < 0 || k >= g.columns) return {};
    const QRectF r(g.rows.left() + g.gutter + k * g.cellW, g.rows.top() + (step - g.first) * g.rowH, g.cellW,
                   g.rowH);
    if (r.top() >= g.rows.bottom()) return {};
    return r;
}

int TokenRunStrip::stepAt(const QPoint& pos) const {
    const Geometry g = geometry(rect(), false);
    if (!g.rows.contains(pos)) return -1;
    const int step = g.first + static_cast<int>(std::floor((pos.y() - g.rows.top()) / g.rowH));
    return step >= 0 && step < stepCount() ? step : -1;
}

std::pair<int, int> TokenRunStrip::cellAt(const QPoint& pos) const {
    const int step = stepAt(pos);
    if (step < 0) return {-1, -1};
    const Geometry g = geometry(rect(), false);
    const double x = pos.x() - g.rows.left() - g.gutter;
    const int k = static_cast<int>(std::floor(x / g.cellW));
    if (x < 0 || k >= static_cast<int>(row(step).cells.size())) return {-1, -1};
    return {step, k};
}

QString TokenRunStrip::cellDetail(int step, int k) const {
    const StepRow& r = row(step);
    if (k < 0 || k >= static_cast<int>(r.cells.size())) return {};
    const Cell& c = r.cells[static_cast<std::size_t>(k)];
    QStringList lines;
    lines << tr("Step %1 · token %2 (action dim %2)").arg(step).arg(k);
    if (c.token >= 0)
        lines << (c.bin >= 0 ? tr("Token %1 · bin %2").arg(c.token).arg(c.bin) : tr("Token %1").arg(c.token));
    switch (c.kind) {
    case CellKind::Prefill:
        lines << tr("Committed by the prefill");
        break;
    case CellKind::Exact:
        lines << tr("Round %1 · exact draft accepted").arg(c.round + 1);
        break;
    case CellKind::Relaxed:
        lines << tr("Round %1 · relaxed draft accepted").arg(c.round + 1);
        break;
    case CellKind::Bonus:
        lines << tr("Round %1 · bonus (target's token)").arg(c.round + 1);
        break;
    case CellKind::Autoregressive:
        lines << tr("Autoregressive decode step %1").arg(c.round + 1);
        break;
    case CellKind::Empty:
        lines << tr("Not committed");
        break;
    }
    lines << (r.autoregressive ? tr("AR: %1 decode steps").arg(r.verifyRounds)
                               : tr("%1 verify rounds this step").arg(r.verifyRounds));
    return lines.join(QLatin1Char('\n'));
}

QColor TokenRunStrip::kindColor(CellKind kind, const PlotColors& colors) {
    switch (kind) {
    case CellKind::Prefill:
        return colors.notReached;
    case CellKind::Exact:
        return colors.exact;
    case CellKind::Relaxed:
        return colors.relaxed;
    case CellKind::Bonus:
        return colors.acceptedPath;
    case CellKind::Autoregressive:
        return colors.arBaseline;
    case CellKind::Empty:
        return colors.background;
    }
    return colors.background;
}

void TokenRunStrip::render(QPainter* painter, const QRect& target) const {
    render(painter, target, lightPlotColors());
}

void TokenRunStrip::render(QPainter* painter, const QRect& target, const PlotColors& colors) const {
    painter->save();
    paintStrip(*painter, target, colors, true, false);
    painter->restore();
}

void TokenRunStrip::paintEvent(QPaintEvent*) {
    QPainter p(this);
    paintStrip(p, rect(), plotColors(palette()), false, true);
}

void TokenRunStrip::paintStrip(QPainter& p, const QRect& area, const PlotColors& colors, bool fitAll,
                               bool cursor) const {
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(area, colors.background);
    const Geometry g = geometry(area, fitAll);
    QFont font = p.font();

    // Legend.
    const QVector<std::pair<QString, QColor>> legend = {
        {tr("prefill"), colors.notReached}, {tr("exact"), colors.exact},   {tr("relaxed"), colors.relaxed},
        {tr("bonus"), colors.acceptedPath}, {tr("AR"), colors.arBaseline},
    };
    QFont small = font;
    small.setPixelSize(11);
    p.setFont(small);
    const QFontMetrics fm(small);
    double x = area.left() + 6;
    const double cy = area.top() + kHeaderH / 2.0;
    for (const auto& item : legend) {
        p.setPen(Qt::NoPen);
        p.setBrush(item.second);
        p.drawRoundedRect(QRectF(x, cy - 5, 10, 10), 2, 2);
        x += 14;
        p.setPen(colors.foreground);
        p.drawText(QPointF(x, cy + fm.ascent() / 2.0 - 1), item.first);
        x += fm.horizontalAdvance(item.first) + 10;
    }
    p.drawText(QPointF(x, cy + fm.ascent() / 2.0 - 1), tr("· runs = verify rounds"));

    if (m_rows.empty()) {
        p.drawText(g.rows, Qt::AlignCenter, tr("No steps decoded"));
        return;
    }
    const bool text = g.rowH >= 12 && g.cellW >= 14;
    QFont cellFont = font;
    cellFont.setPixelSize(std::max(6, static_cast<int>(std::min(g.rowH - 5, 11.0))));
    const int last = std::min(stepCount(), g.first + static_cast<int>(std::ceil(g.rows.height() / g.rowH)));
    const double pad = g.rowH >= 8 ? 1.5 : (g.rowH >= 3 ? 0.5 : 0);
    p.save();
    p.setClipRect(g.rows);
    for (int s = g.first; s < last; ++s) {
        const double y = g.rows.top() + (s - g.first) * g.rowH;
        const QRectF rowRect(g.rows.left(), y, g.rows.width(), g.rowH);
        if (cursor && s == m_current) {
            QColor h = palette().color(QPalette::Highlight);
            h.setAlphaF(0.3);
            p.fillRect(rowRect, h);
            p.fillRect(QRectF(rowRect.left(), y, 4, g.rowH), palette().color(QPalette::Highlight));
        }
        const StepRow& r = m_rows[static_cast<std::size_t>(s)];
        p.setFont(cellFont);
        if (text || (s % 10 == 0 && g.rowH >= 2)) {
            p.setPen(colors.foreground);
            if (g.rowH >= 8)
                p.drawText(QRectF(rowRect.left(), y, g.gutter - 6, g.rowH), Qt::AlignRight | Qt::AlignVCenter,
                           QString::number(s));
        }
        if (!r.present) continue;
        for (int k = 0; k < static_cast<int>(r.cells.size()); ++k) {
            const Cell& c = r.cells[static_cast<std::size_t>(k)];
            if (c.kind == CellKind::Empty) continue;
            const bool runStart = k == 0 || r.cells[static_cast<std::size_t>(k - 1)].round != c.round;
            QRectF cell(g.rows.left() + g.gutter + k * g.cellW, y, g.cellW, g.rowH);
            cell.adjust(runStart && k > 0 ? kRunGap : 0.5, pad, -0.5, -pad);
            QColor fill = kindColor(c.kind, colors);
            if (c.round >= 0 && c.round % 2 == 1)
                fill = blend(fill, colors.background, 0.4); // alternate runs
            p.setPen(Qt::NoPen);
            p.setBrush(fill);
            p.drawRect(cell);
            if (c.kind == CellKind::Bonus && g.rowH >= 6) {
                // A notch marks the bonus, whatever the shading.
                p.setBrush(colors.foreground);
                const double t = std::min(cell.height(), cell.width()) * 0.35;
                p.drawPolygon(QPolygonF(
                    {cell.topRight(), cell.topRight() - QPointF(t, 0), cell.topRight() + QPointF(0, t)}));
            }
            if (text) {
                p.setPen(relativeLuminance(fill) > 0.35 ? QColor(Qt::black) : QColor(Qt::white));
                const QString label = c.kind == CellKind::Prefill ? QStringLiteral("P")
                                      : c.kind == CellKind::Bonus ? QStringLiteral("+%1").arg(c.round + 1)
                                                                  : QString::number(c.round + 1);
                p.drawText(cell, Qt::AlignCenter, label);
            }
        }
        if (g.rowH >= 8) {
            p.setPen(colors.foreground);
            const QString summary =
                r.autoregressive
                    ? tr("AR %1").arg(r.verifyRounds)
                    : (r.verifyRounds == 1 ? tr("1 round") : tr("%1 rounds").arg(r.verifyRounds));
            p.drawText(QRectF(g.rows.left() + g.gutter + g.columns * g.cellW + 6, y, kSummary, g.rowH),
                       Qt::AlignLeft | Qt::AlignVCenter, summary);
        }
    }
    p.restore();
    p.setFont(font);
}

void TokenRunStrip::setCurrentStep(int step) {
    const int s = stepCount() == 0 ? -1 : std::clamp(step, 0, stepCount() - 1);
    if (s == m_current) return;
    m_current = s;
    if (s >= 0) {
        const int visible = visibleRows();
        if (s < m_firstRow)
            m_firstRow = s;
        else if (s >= m_firstRow + visible)
            m_firstRow = s - visible + 1;
        clampScroll();
    }
    update();
}

void TokenRunStrip::wheelEvent(QWheelEvent* event) {
    const int lines = -event->angleDelta().y() / 40;
    if (lines == 0 || visibleRows() >= stepCount()) {
        event->ignore();
        return;
    }
    m_firstRow += lines;
    clampScroll();
    update();
    event->accept();
}

void TokenRunStrip::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        const int step = stepAt(event->pos());
        if (step >= 0) {
            setCurrentStep(step);
            Q_EMIT stepClicked(step);
            event->accept();
            return;
        }
    }
    QWidget::mousePressEvent(event);
}

void TokenRunStrip::mouseMoveEvent(QMouseEvent* event) {
    const auto cell = cellAt(event->pos());
    if (cell != m_hovered) {
        m_hovered = cell;
        Q_EMIT cellHovered(cell.first, cell.second);
    }
    if (cell.first >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), cellDetail(cell.first, cell.second), this,
                           cellRect(cell.first, cell.second).toRect());
    else
        QToolTip::hideText();
}

void TokenRunStrip::leaveEvent(QEvent* event) {
    if (m_hovered.first >= 0) {
        m_hovered = {-1, -1};
        Q_EMIT cellHovered(-1, -1);
    }
    QWidget::leaveEvent(event);
}

void TokenRunStrip::resizeEvent(QResizeEvent*) {
    clampScroll();
}

void TokenRunStrip::changeEvent(QEvent* event) {
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange) update();
    QWidget::changeEvent(event);
}

} // namespace specvla::widgets
