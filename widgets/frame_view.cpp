// SPDX-License-Identifier: MIT
#include "frame_view.h"

#include "theme.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPainter>
#include <QPainterPath>
#include <QPushButton>
#include <QSlider>
#include <QTimer>

#include <algorithm>
#include <cmath>

namespace specvla::widgets {

namespace {

constexpr double kMargin = 4; // around the frame
constexpr double kArrowFraction =
    0.4;                          // a full arrow (|d| = unitsPerArrow) spans this share of the short side
constexpr double kMaxArrow = 1.2; // arrows longer than this many full arrows are clipped to it (stays inside)
constexpr double kHeadLen = 10;
constexpr double kBarW = 7;
constexpr double kGlyphSize = 22;

struct Source {
    const std::optional<Action7>* action;
    QColor color;
    QString name;
};

QColor halo(const QColor& c) {
    return relativeLuminance(c) > 0.35 ? QColor(0, 0, 0, 170) : QColor(255, 255, 255, 190);
}

void drawArrow(QPainter& p, QPointF from, QPointF to, const QColor& color) {
    const QPointF d = to - from;
    const double len = std::hypot(d.x(), d.y());
    QPainterPath head;
    if (len > 0.5) {
        const QPointF u = d / len;
        const QPointF n(-u.y(), u.x());
        const double h = std::min(kHeadLen, len * 0.6);
        head.moveTo(to);
        head.lineTo(to - u * h + n * h * 0.45);
        head.lineTo(to - u * h - n * h * 0.45);
        head.closeSubpath();
    }
    for (int pass = 0; pass < 2; ++pass) {
        const QColor c = pass == 0 ? halo(color) : color;
        p.setPen(QPen(c, pass == 0 ? 5.0 : 2.5, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
        p.setBrush(c);
        if (len > 0.5) {
            p.drawLine(from, to - (to - from) / len * std::min(kHeadLen * 0.5, len * 0.3));
            p.drawPath(head);
        } else {
            p.drawEllipse(from, 3.0, 3.0); // a zero translation is a dot at the centre
        }
    }
}

// Two jaws: far apart when open (gripper < 0), touching when closed.
void drawGripper(QPainter& p, QPointF centre, double gripper, const QColor& color) {
    const bool closed = gripper > 0;
    const double s = kGlyphSize;
    const double gap = closed ? 2.0 : s * 0.55;
    for (int pass = 0; pass < 2; ++pass) {
        p.setPen(QPen(pass == 0 ? halo(color) : color, pass == 0 ? 5.0 : 2.5, Qt::SolidLine, Qt::FlatCap));
        const double top = centre.y() - s / 2;
        const double bottom = centre.y() + s / 2;
        // palm
        p.drawLine(QPointF(centre.x() - s / 2, top), QPointF(centre.x() + s / 2, top));
        p.drawLine(QPointF(centre.x(), top - 5), QPointF(centre.x(), top));
        // jaws
        const double xl = centre.x() - gap / 2 - 1.5;
        const double xr = centre.x() + gap / 2 + 1.5;
        p.drawLine(QPointF(centre.x() - s / 2, top), QPointF(xl, top + s * 0.3));
        p.drawLine(QPointF(xl, top + s * 0.3), QPointF(xl, bottom));
        p.drawLine(QPointF(centre.x() + s / 2, top), QPointF(xr, top + s * 0.3));
        p.drawLine(QPointF(xr, top + s * 0.3), QPointF(xr, bottom));
    }
}

} // namespace

// ---------------------------------------------------------------------------------------------------------
// FrameView

FrameView::FrameView(QWidget* parent) : QWidget(parent) {
    setMinimumSize(160, 160);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void FrameView::setImage(const QImage& frame) {
    m_image = frame;
    update();
}

void FrameView::setActions(const std::optional<Action7>& speculative, const std::optional<Action7>& ar,
                           const std::optional<Action7>& recorded) {
    m_spec = speculative;
    m_ar = ar;
    m_recorded = recorded;
    update();
}

void FrameView::setActionScale(double unitsPerArrow) {
    if (!(unitsPerArrow > 0) || !std::isfinite(unitsPerArrow)) return;
    m_scale = unitsPerArrow;
    update();
}

void FrameView::setFlipped(bool rotate180) {
    if (m_flipped == rotate180) return;
    m_flipped = rotate180;
    update();
}

QRectF FrameView::imageRect() const {
    const QRectF area = QRectF(rect()).adjusted(kMargin, kMargin, -kMargin, -kMargin);
    if (area.width() <= 0 || area.height() <= 0) return {};
    // Without an image the overlay still has a square frame to live in.
    const QSizeF src = m_image.isNull() ? QSizeF(1, 1) : QSizeF(m_image.size());
    const QSizeF fitted = src.scaled(area.size(), Qt::KeepAspectRatio);
    QRectF r(QPointF(0, 0), fitted);
    r.moveCenter(area.center());
    return r;
}

// +dx points right and +dy up in the frame as recorded; with setFlipped(true) the frame and the arrows are
// rotated 180 degrees together (the tip is mirrored through the centre), so arrows stay attached to the
// scene.
QPointF FrameView::arrowTip(const Action7& action) const {
    const QRectF r = imageRect();
    const QPointF c = r.center();
    const double full = kArrowFraction * std::min(r.width(), r.height());
    double ux = action[0] / m_scale;
    double uy = action[1] / m_scale;
    const double mag = std::hypot(ux, uy);
    if (!std::isfinite(mag)) return c;
    if (mag > kMaxArrow) {
        ux *= kMaxArrow / mag;
        uy *= kMaxArrow / mag;
    }
    QPointF offset(ux * full, -uy * full);
    if (m_flipped) offset = -offset;
    return c + offset;
}

void FrameView::changeEvent(QEvent* event) {
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::StyleChange) update();
    QWidget::changeEvent(event);
}

void FrameView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const PlotColors colors = plotColors(palette());
    p.fillRect(rect(), colors.background);

    const QRectF r = imageRect();
    if (r.isEmpty()) return;

    if (m_image.isNull()) {
        p.setPen(QPen(colors.grid, 1, Qt::DashLine));
        p.setBrush(Qt::NoBrush);
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5));
        p.setPen(colors.foreground);
        p.drawText(r, Qt::AlignCenter | Qt::TextWordWrap, tr("No frame"));
    } else {
        p.save();
        p.setRenderHint(QPainter::SmoothPixmapTransform);
        if (m_flipped) {
            p.translate(r.center());
            p.rotate(180);
            p.translate(-r.center());
        }
        p.drawImage(r, m_image);
        p.restore();
    }

    const std::array<Source, 3> sources{{{&m_spec, colors.acceptedPath, tr("speculative")},
                                         {&m_ar, colors.arBaseline, tr("AR")},
                                         {&m_recorded, colors.relaxed, tr("recorded")}}};
    const bool any =
        std::any_of(sources.begin(), sources.end(), [](const Source& s) { return s.action->has_value(); });
    if (!any) return;

    p.save();
    p.setClipRect(r.adjusted(-1, -1, 1, 1));

    // dz: one bar per source at the frame's right edge, up from the mid line for +dz.
    const double barHalf = kArrowFraction * r.height();
    double barX = r.right() - 8 - kBarW;
    p.setPen(QPen(halo(colors.foreground), 1));
    p.drawLine(QPointF(barX - 2 * (kBarW + 3) - 3, r.center().y()), QPointF(r.right() - 4, r.center().y()));
    for (int i = static_cast<int>(sources.size()) - 1; i >= 0; --i) {
        const Source& s = sources[static_cast<std::size_t>(i)];
        if (s.action->has_value()) {
            const double dz = std::clamp((**s.action)[2] / m_scale, -1.0, 1.0);
            const double h = dz * barHalf;
            QRectF bar(QPointF(barX, r.center().y() - std::max(h, 0.0)),
                       QSizeF(kBarW, std::max(std::abs(h), 1.0)));
            p.setPen(QPen(halo(s.color), 1));
            p.setBrush(s.color);
            p.drawRect(bar);
        }
        barX -= kBarW + 3;
    }

    // Gripper glyphs along the bottom-left.
    double gx = r.left() + 8 + kGlyphSize / 2;
    const double gy = r.bottom() - 8 - kGlyphSize / 2;
    for (const Source& s : sources) {
        if (!s.action->has_value()) continue;
        drawGripper(p, QPointF(gx, gy), (**s.action)[6], s.color);
        gx += kGlyphSize + 10;
    }

    // Arrows last, the speculative one on top.
    const QPointF c = r.center();
    for (int i = static_cast<int>(sources.size()) - 1; i >= 0; --i) {
        const Source& s = sources[static_cast<std::size_t>(i)];
        if (s.action->has_value()) drawArrow(p, c, arrowTip(**s.action), s.color);
    }
    p.restore();

    // Legend, top-left inside the frame.
    const QFontMetrics fm(font());
    double lw = 0;
    int rows = 0;
    for (const Source& s : sources) {
        if (!s.action->has_value()) continue;
        lw = std::max(lw, static_cast<double>(fm.horizontalAdvance(s.name)));
        ++rows;
    }
    const double rowH = fm.height() + 2;
    QRectF box(r.left() + 6, r.top() + 6, lw + 30, rows * rowH + 6);
    QColor boxBg = colors.background;
    boxBg.setAlpha(200);
    p.setPen(QPen(colors.grid, 1));
    p.setBrush(boxBg);
    p.drawRoundedRect(box, 3, 3);
    double y = box.top() + 3;
    for (const Source& s : sources) {
        if (!s.action->has_value()) continue;
        p.setPen(QPen(s.color, 3, Qt::SolidLine, Qt::RoundCap));
        p.drawLine(QPointF(box.left() + 6, y + rowH / 2), QPointF(box.left() + 20, y + rowH / 2));
        p.setPen(colors.foreground);
        p.drawText(QRectF(box.left() + 24, y, lw + 4, rowH), Qt::AlignVCenter | Qt::AlignLeft, s.name);
        y += rowH;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Timeline

Timeline::Timeline(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    m_play = new QPushButton(tr("Play"), this);
    m_play->setFocusPolicy(Qt::NoFocus); // keys go to the timeline itself
    m_play->setCheckable(false);
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setFocusPolicy(Qt::NoFocus);
    m_slider->setRange(0, 0);
    m_label = new QLabel(this);
    m_label->setMinimumWidth(m_label->fontMetrics().horizontalAdvance(QStringLiteral("step 0000 / 0000")));
    m_timer = new QTimer(this);
    m_timer->setInterval(200);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(m_play);
    layout->addWidget(m_slider, 1);
    layout->addWidget(m_label);

    connect(m_play, &QPushButton::clicked, this, &Timeline::togglePlay);
    connect(m_slider, &QSlider::valueChanged, this, &Timeline::setCurrentStep);
    connect(m_timer, &QTimer::timeout, this, [this] {
        if (m_current >= m_steps - 1) {
            pause();
            return;
        }
        setCurrentStep(m_current + 1);
        if (m_current >= m_steps - 1) pause();
    });
    setStepCount(0);
}

bool Timeline::isPlaying() const {
    return m_timer->isActive();
}

void Timeline::setPlayInterval(int ms) {
    m_timer->setInterval(std::max(1, ms));
}

void Timeline::setStepCount(int steps) {
    m_steps = std::max(0, steps);
    setEnabled(m_steps > 0);
    if (m_steps <= 1) pause();
    {
        const QSignalBlocker block(m_slider);
        m_slider->setRange(0, std::max(0, m_steps - 1));
        m_slider->setValue(std::clamp(m_current, 0, std::max(0, m_steps - 1)));
    }
    const int clamped = std::clamp(m_current, 0, std::max(0, m_steps - 1));
    if (clamped != m_current) {
        m_current = clamped;
        emit currentStepChanged(m_current);
    }
    m_label->setText(m_steps > 0 ? tr("step %1 / %2").arg(m_current + 1).arg(m_steps) : tr("no steps"));
}

void Timeline::setCurrentStep(int step) {
    const int clamped = std::clamp(step, 0, std::max(0, m_steps - 1));
    if (clamped == m_current) {
        if (m_slider->value() != m_current) {
            const QSignalBlocker block(m_slider);
            m_slider->setValue(m_current);
        }
        return;
    }
    m_current = clamped;
    {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(m_current);
    }
    m_label->setText(tr("step %1 / %2").arg(m_current + 1).arg(m_steps));
    emit currentStepChanged(m_current);
}

void Timeline::play() {
    if (m_timer->isActive() || m_steps <= 1) return;
    if (m_current >= m_steps - 1) setCurrentStep(0); // playing from the end starts over
    m_timer->start();
    m_play->setText(tr("Pause"));
    emit playingChanged(true);
}

void Timeline::pause() {
    if (!m_timer->isActive()) return;
    m_timer->stop();
    m_play->setText(tr("Play"));
    emit playingChanged(false);
}

void Timeline::togglePlay() {
    if (isPlaying())
        pause();
    else
        play();
}

void Timeline::stepForward() {
    setCurrentStep(m_current + 1);
}

void Timeline::stepBackward() {
    setCurrentStep(m_current - 1);
}

void Timeline::keyPressEvent(QKeyEvent* event) {
    if (m_steps <= 0) {
        QWidget::keyPressEvent(event);
        return;
    }
    switch (event->key()) {
    case Qt::Key_Left:
        pause();
        stepBackward();
        break;
    case Qt::Key_Right:
        pause();
        stepForward();
        break;
    case Qt::Key_Home:
        pause();
        setCurrentStep(0);
        break;
    case Qt::Key_End:
        pause();
        setCurrentStep(m_steps - 1);
        break;
    case Qt::Key_Space:
        togglePlay();
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

} // namespace specvla::widgets
