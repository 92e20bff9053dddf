// SPDX-License-Identifier: MIT
#pragma once

// Opens the tiny fixtures (tiny_model.h, writeTinyFixtures) in a workbench window through its own methods, as
// the File menu would, on the CPU in fp32 with the fixtures' statistics key. Header-only: for GUI suites that
// link specvla_app.
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/main_window.h"

#include <QComboBox>
#include <QString>

namespace specvla::testing {

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
