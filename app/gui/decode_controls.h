// SPDX-License-Identifier: MIT
#pragma once

// The decode settings dock: margin slider (0..32) with a spin box, optional per-dimension margins (a 7-cell
// table behind a check box), mode, tree shape, device, dtype and the statistics key, plus Run / Sweep /
// Cancel. It only edits values and emits them; DecodeController acts.
#include "decode/settings.h"
#include "gui/decoder_worker.h" // the metatype declarations of DecodeSettings

#include <QDockWidget>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>

class QCheckBox;
class QComboBox;
class QTableWidget;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace specvla::app {

class DecodeControls : public QDockWidget {
    Q_OBJECT
public:
    static constexpr int kMaxMargin = 32;
    static constexpr int kDims = 7; // x, y, z, roll, pitch, yaw, gripper

    explicit DecodeControls(QWidget* parent = nullptr);

    decode::DecodeSettings settings() const;
    QString device() const;    // "cpu" / "cuda"
    QString dtype() const;     // "fp32" / "bf16"
    QString unnormKey() const; // empty: the model's only key
    void setUnnormKey(const QString& key);
    void setDtype(const QString& dtype);
    void setMargin(int margin); // emits settingsChanged when it changes
    // Enables the per-dimension table with these margins (clamped to 0..kMaxMargin), or disables it with
    // nullopt; emits settingsChanged once when the settings change.
    void setMarginsPerDim(const std::optional<std::array<int, kDims>>& margins);
    std::optional<std::array<int, kDims>> marginsPerDim() const; // nullopt while the table is off
    // Mode, margin, per-dimension margins and tree shape at once (a session); one settingsChanged.
    void applySettings(const decode::DecodeSettings& settings);
    // Selects "cpu" or "cuda" when offered (CUDA only where specvla::cudaAvailable()); false otherwise.
    // Emits runtimeChanged when the choice changes.
    bool setDevice(const QString& device);
    QStringList devices() const; // the offered devices, e.g. {"cpu"} or {"cpu", "cuda"}

    QSlider* marginSlider() const { return m_marginSlider; }
    QSpinBox* marginSpin() const { return m_marginSpin; }
    QComboBox* modeCombo() const { return m_mode; }
    QComboBox* deviceCombo() const { return m_device; }
    QCheckBox* perDimCheck() const { return m_perDimCheck; }
    QTableWidget* perDimTable() const { return m_perDimTable; }
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
    void onPerDimToggled(bool on);
    void onPerDimEdited();

    QSlider* m_marginSlider = nullptr;
    QSpinBox* m_marginSpin = nullptr;
    QCheckBox* m_perDimCheck = nullptr;
    QTableWidget* m_perDimTable = nullptr;
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
