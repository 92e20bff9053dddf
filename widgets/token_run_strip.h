// SPDX-License-Identifier: MIT
#pragma once

// The token-run strip: one row per episode step, one cell per committed action token, coloured by how it was
// committed (prefill, exact or relaxed draft, bonus) and grouped into runs by the verify round that committed
// it, alternate runs shaded, so "four rounds strict vs two relaxed" reads at a glance. Rows shrink to fit
// long episodes (the wheel scrolls when they reach their minimum height); click a row to move the step
// cursor.
#include "decode/trace.h"
#include "theme.h"

#include <QWidget>

#include <utility>
#include <vector>

namespace specvla::widgets {

class TokenRunStrip : public QWidget {
    Q_OBJECT

public:
    enum class CellKind { Empty, Prefill, Exact, Relaxed, Bonus, Autoregressive };
    struct Cell {
        CellKind kind = CellKind::Empty;
        int round = -2; // committing round; -1 the prefill; for AR the decode step (token k: k - 1); -2 none
        int token = -1;
        int bin = -1;
    };
    struct StepRow {
        bool present = false;
        bool autoregressive = false;
        int verifyRounds = 0; // target verify passes of this step (AR: decode steps after the prefill)
        std::vector<Cell> cells;
    };
    static StepRow rowFromTrace(const decode::ActionTrace& trace);

    explicit TokenRunStrip(QWidget* parent = nullptr);

    void setTraces(const std::vector<decode::ActionTrace>& traces);
    void setStepTrace(int step, const decode::ActionTrace& trace); // grows the strip as needed
    void clear();
    int stepCount() const { return static_cast<int>(m_rows.size()); }
    const StepRow& row(int step) const;

    // The model: which round committed token k of a step (see Cell::round), and how.
    int roundOfToken(int step, int k) const;
    CellKind kindOfToken(int step, int k) const;
    int verifyRounds(int step) const;

    int currentStep() const { return m_current; }
    int firstVisibleStep() const { return m_firstRow; }
    double rowHeight() const;                            // current row height in pixels
    QRectF cellRect(int step, int k) const;              // widget coordinates; empty when not visible
    int stepAt(const QPoint& pos) const;                 // -1 outside the rows
    std::pair<int, int> cellAt(const QPoint& pos) const; // (step, k), (-1, -1) outside the cells
    QString cellDetail(int step, int k) const;

    // Draws every step into target (no scrolling, no cursor), for exports; default colours: the light set.
    void render(QPainter* painter, const QRect& target) const;
    void render(QPainter* painter, const QRect& target, const PlotColors& colors) const;
    using QWidget::render;

    static QColor kindColor(CellKind kind, const PlotColors& colors);

    QSize sizeHint() const override { return {420, 360}; }
    QSize minimumSizeHint() const override { return {220, 80}; }

public Q_SLOTS:
    void setCurrentStep(int step); // clamped; scrolls it into view

Q_SIGNALS:
    void stepClicked(int step);
    void cellHovered(int step, int k); // (-1, -1) when leaving

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Geometry {
        QRectF rows;       // area of the rows
        double gutter = 0; // step label width
        double cellW = 0;
        double rowH = 0;
        int columns = 7;
        int first = 0; // first drawn step
    };
    Geometry geometry(const QRect& area, bool fitAll) const;
    void paintStrip(QPainter& p, const QRect& area, const PlotColors& colors, bool fitAll, bool cursor) const;
    int columns() const;
    int visibleRows() const;
    void clampScroll();

    std::vector<StepRow> m_rows;
    int m_current = -1;
    int m_firstRow = 0;
    std::pair<int, int> m_hovered{-1, -1};
};

} // namespace specvla::widgets
