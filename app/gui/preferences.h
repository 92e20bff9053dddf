// SPDX-License-Identifier: MIT
#pragma once

// User preferences (workbench-ux.md, QSettings): theme, plot export size and DPI, the margin a new decode
// starts with, and autosave. They live in QSettings, apart from sessions, so they follow the user rather than
// a file. The theme keeps the key "ui/theme" that MainWindow has always used; the rest live under
// "preferences/...". Every value read is validated: a value that is not a number (or not a boolean, or not a
// theme name) falls back to its default, and a number out of range is clamped to the nearest bound.
#include "theme.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSettings;
class QSpinBox;

namespace specvla::app {

struct Preferences {
    // Ranges shared by load() and the dialog's spin boxes.
    static constexpr int kMinExportSize = 100;
    static constexpr int kMaxExportSize = 10000;
    static constexpr double kMinExportDpi = 36;
    static constexpr double kMaxExportDpi = 1200;
    static constexpr int kMaxDefaultMargin = 32;
    static constexpr int kMinAutosaveSeconds = 10;
    static constexpr int kMaxAutosaveSeconds = 3600;

    // Settings keys.
    static constexpr const char* kThemeKey = "ui/theme";
    static constexpr const char* kExportWidthKey = "preferences/export_width";
    static constexpr const char* kExportHeightKey = "preferences/export_height";
    static constexpr const char* kExportDpiKey = "preferences/export_dpi";
    static constexpr const char* kDefaultMarginKey = "preferences/default_margin";
    static constexpr const char* kAutosaveEnabledKey = "preferences/autosave_enabled";
    static constexpr const char* kAutosaveSecondsKey = "preferences/autosave_seconds";

    widgets::Theme theme = widgets::Theme::System;
    int exportWidth = 1600; // pixels
    int exportHeight = 1000;
    double exportDpi = 150;
    int defaultMargin = 9; // bins
    bool autosaveEnabled = true;
    int autosaveSeconds = 60;

    // From QSettings() (or the given settings); missing or invalid values take their defaults.
    static Preferences load();
    static Preferences load(const QSettings& settings);
    void save() const;
    void save(QSettings& settings) const;

    // This with every number inside its range (a non-finite DPI becomes the default).
    Preferences clamped() const;

    bool operator==(const Preferences& o) const;
    bool operator!=(const Preferences& o) const { return !(*this == o); }
};

// Edits a Preferences; the caller saves and applies the result when the dialog is accepted.
class PreferencesDialog : public QDialog {
    Q_OBJECT
public:
    explicit PreferencesDialog(const Preferences& preferences, QWidget* parent = nullptr);

    // The values shown now.
    Preferences preferences() const;
    void setPreferences(const Preferences& preferences);
    // What the "Restore Defaults" button does: shows Preferences{} (nothing is saved until the caller does).
    void restoreDefaults();

private:
    void updateEnabled();

    QComboBox* m_theme = nullptr;
    QSpinBox* m_exportWidth = nullptr;
    QSpinBox* m_exportHeight = nullptr;
    QDoubleSpinBox* m_exportDpi = nullptr;
    QSpinBox* m_defaultMargin = nullptr;
    QCheckBox* m_autosave = nullptr;
    QSpinBox* m_autosaveSeconds = nullptr;
};

} // namespace specvla::app
