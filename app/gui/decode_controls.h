// SPDX-License-Identifier: MIT
#pragma once

// The decode settings dock: margin slider (0..32) with a spin box, mode, tree shape, device, dtype and the
// statistics key, plus Run / Sweep / Cancel. It only edits values and emits them; DecodeController acts.
#include "decode/settings.h"
#include "gui/decoder_worker.h" // the metatype declarations of DecodeSettings

#include <QDockWidget>
#include <QString>

class QComboBox;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace specvla::app {

class DecodeControls : public QDockWidget {
    Q_OBJECT
public:
    static constexpr int kMaxMargin = 32;

    explicit DecodeControls(QWidget* parent = nullptr);

    decode::DecodeSettings settings() const;
    QString device() const;    // "cpu" / "cuda"
    QString dtype() const;     // "fp32" / "bf16"
    QString unnormKey() const; // empty: the model's only key
    void setUnnormKey(const QString& key);
    void setDtype(const QString& dtype);
    void setMargin(int margin); // emits settingsChanged when it changes

    QSlider* marginSlider() const { return m_marginSlider; }
    QSpinBox* marginSpin() const { return m_marginSpin; }
    QComboBox* modeCombo() const { return m_mode; }
    QComboBox* deviceCombo() const { return m_device; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* sweepButton() const { return m_sweep; }
    QPushButton* cancelButton() const { return m_cancel; }

Q_SIGNALS:
    void settingsChanged(const specvla::decode::DecodeSettings& settings);
    void runtimeChanged(); // device, dtype or statistics key: the model must be reloaded
    void runRequested();
    void sweepRequested();
    void cancelRequested();

private:
    void emitSettings();

    QSlider* m_marginSlider = nullptr;
    QSpinBox* m_marginSpin = nullptr;
    QComboBox* m_mode = nullptr;
    QSpinBox* m_topK = nullptr;
    QSpinBox* m_depth = nullptr;
    QSpinBox* m_totalTokens = nullptr;
    QComboBox* m_device = nullptr;
    QComboBox* m_dtype = nullptr;
    QLineEdit* m_unnormKey = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_sweep = nullptr;
    QPushButton* m_cancel = nullptr;
};

} // namespace specvla::app
