// SPDX-License-Identifier: MIT
#pragma once

// One verify round's draft tree: nodes by depth (root at the left), coloured by verdict, each labelled with
// its bin (or token id) and its bin distance to the target, the accepted path drawn bold. Zoom with the wheel
// or Ctrl +/-, pan by dragging, Shift+Left/Right (or the spin box) to change round, hover for detail.
#include "decode/trace.h"
#include "theme.h"

#include <QPointF>
#include <QRectF>
#include <QVector>
#include <QWidget>

class QSpinBox;

namespace specvla::widgets {

class DraftTreeView : public QWidget {
    Q_OBJECT

public:
    explicit DraftTreeView(QWidget* parent = nullptr);

    void setTrace(const decode::ActionTrace& trace); // keeps the round when it still exists, else round 0
    void clear();
    const decode::ActionTrace& trace() const { return m_trace; }
    int round() const { return m_round; }
    int roundCount() const { return static_cast<int>(m_trace.rounds.size()); }
    const decode::RoundTrace* currentRound() const; // null for an AR trace or none

    // Layout of the current round in scene units (scale 1, before pan): one rect per node index.
    const QVector<QRectF>& layout() const { return m_layout; }
    QRectF nodeRect(int node) const;     // in widget coordinates; empty when out of range
    int nodeAt(const QPoint& pos) const; // node index under a widget position, -1 for none
    bool onAcceptedPath(int node) const;

    double zoom() const { return m_scale; }
    void setZoom(double scale); // clamped to [0.2, 4]; keeps the view centre fixed
    void zoomIn() { setZoom(m_scale * 1.25); }
    void zoomOut() { setZoom(m_scale / 1.25); }
    void fitToView(); // scale (at most 1) and pan so the tree fits, then auto-fits on resize until zoom/pan
    QPointF pan() const { return m_pan; }

    // The fill of a node of this verdict (the root uses the accepted-path colour).
    static QColor verdictColor(decode::Verdict verdict, const PlotColors& colors);
    static QString nodeLabel(const decode::TreeNode& node);
    QString nodeDetail(int node) const; // multi-line hover text

    QSize sizeHint() const override { return {560, 380}; }
    QSize minimumSizeHint() const override { return {200, 140}; }

public Q_SLOTS:
    void setRound(int round); // clamped to the trace's rounds; emits roundChanged when it changes

Q_SIGNALS:
    void roundChanged(int round);
    void nodeHovered(int round, int node); // node -1 when the pointer leaves the nodes

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void relayout();
    void updateSpin();
    void setHovered(int node);
    QRect viewport() const; // the area under the header
    QPointF toWidget(const QPointF& scene) const;
    QPointF toScene(const QPointF& widget) const;
    void drawLegend(QPainter& p, const PlotColors& colors) const;

    decode::ActionTrace m_trace;
    int m_round = 0;
    QVector<QRectF> m_layout;
    QRectF m_bounds;
    double m_scale = 1.0;
    QPointF m_pan; // widget position of the scene origin
    bool m_autoFit = true;
    bool m_dragging = false;
    QPoint m_dragStart;
    QPointF m_panStart;
    int m_hovered = -1;
    QSpinBox* m_spin = nullptr;
};

} // namespace specvla::widgets
