// SPDX-License-Identifier: MIT
#pragma once

// The episode frame with the predicted actions drawn on it, and the step timeline. Qt only (no torch).
#include <QImage>
#include <QWidget>

#include <array>
#include <optional>

class QPushButton;
class QSlider;
class QLabel;
class QTimer;

namespace specvla::widgets {

using Action7 = std::array<double, 7>; // dx dy dz, droll dpitch dyaw, gripper (-1 open, +1 close)

// Shows one frame scaled to fit (aspect kept) and, over it, the speculative, AR and recorded actions: the
// translation (dx, dy) as arrows from the image centre, dz as a vertical bar, the gripper as an open/closed
// glyph, each in its own colour with a legend. Actions are scaled by setActionScale (units per full arrow).
class FrameView : public QWidget {
    Q_OBJECT
public:
    explicit FrameView(QWidget* parent = nullptr);

    void setImage(const QImage& frame); // RGB888 as recorded; a null image shows a placeholder
    void setActions(const std::optional<Action7>& speculative, const std::optional<Action7>& ar,
                    const std::optional<Action7>& recorded);
    void setActionScale(double unitsPerArrow);
    void setFlipped(bool rotate180); // show the frame as the policy saw it (LIBERO's 180-degree rotation)

    const QImage& image() const { return m_image; }
    // Where an action's arrow ends in widget coordinates (tests, hover).
    QPointF arrowTip(const Action7& action) const;
    QRectF imageRect() const; // the frame's rectangle in widget coordinates

    QSize sizeHint() const override { return {360, 360}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    QImage m_image;
    std::optional<Action7> m_spec, m_ar, m_recorded;
    double m_scale = 1.0;
    bool m_flipped = false;
};

// Step cursor with play/pause and keyboard stepping: Left/Right one step, Home/End, Space play/pause.
class Timeline : public QWidget {
    Q_OBJECT
public:
    explicit Timeline(QWidget* parent = nullptr);

    void setStepCount(int steps);
    int stepCount() const { return m_steps; }
    int currentStep() const { return m_current; }
    bool isPlaying() const;
    void setPlayInterval(int ms);

public Q_SLOTS:
    void setCurrentStep(int step); // clamped; emits currentStepChanged when it changes
    void play();
    void pause();
    void togglePlay();
    void stepForward();
    void stepBackward();

Q_SIGNALS:
    void currentStepChanged(int step);
    void playingChanged(bool playing);

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    int m_steps = 0;
    int m_current = 0;
    QSlider* m_slider = nullptr;
    QPushButton* m_play = nullptr;
    QLabel* m_label = nullptr;
    QTimer* m_timer = nullptr;
};

} // namespace specvla::widgets
