// SPDX-License-Identifier: MIT
#pragma once

// Opens the tiny fixtures (tiny_model.h, writeTinyFixtures) in a workbench window through its own methods, as
// the File menu would, on the CPU in fp32 with the fixtures' statistics key. Header-only: for GUI suites that
// link specvla_app.
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/main_window.h"
#include "support/tiny_model.h"

#include <QComboBox>
#include <QSettings>
#include <QStandardPaths>
#include <QString>

namespace specvla::testing {

// The tiny fixtures' paths, as the GUI suites keep them.
struct GuiFixtures {
    QString model, draft, episode;
};

// A GUI suite's set-up: the user's settings and autosaves are never touched (QSettings in settingsDir,
// QStandardPaths in test mode), and the tiny fixtures are written under dir.
inline GuiFixtures prepareGuiSuite(const QString& dir, const QString& settingsDir, int steps) {
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir);
    const TinyFixtures f = writeTinyFixtures(dir.toStdString(), steps);
    return {QString::fromStdString(f.model), QString::fromStdString(f.draft),
            QString::fromStdString(f.episode)};
}

inline void openTinyFixtures(app::MainWindow& window, const QString& model, const QString& draft,
                             const QString& episode) {
    app::DecodeControls* controls = window.decodeController()->views().controls;
    controls->setUnnormKey(QStringLiteral("tiny_dataset"));
    controls->setDtype(QStringLiteral("fp32"));
    controls->deviceCombo()->setCurrentIndex(0); // cpu
    window.openDraft(draft);
    window.openModel(model);
    window.openEpisode(episode);
}

// True when every step of the open episode has a trace for the current settings.
inline bool allDecoded(const app::DecodeController* c) {
    for (int i = 0; i < c->numSteps(); ++i)
        if (!c->trace(i)) return false;
    return c->numSteps() > 0;
}

} // namespace specvla::testing
