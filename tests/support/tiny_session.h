// SPDX-License-Identifier: MIT
#pragma once

// A session naming the tiny fixtures (tiny_model.h, writeTinyFixtures) with their statistics key; the caller
// sets the decode settings, cursor and bookmarks its test needs. Header-only: for suites that link
// specvla_session.
#include "session/session_file.h"

#include <QString>

namespace specvla::testing {

inline session::Session tinySession(const QString& model, const QString& draft, const QString& episode) {
    session::Session s;
    s.model = model.toStdString();
    s.draft = draft.toStdString();
    s.episodes = episode.toStdString();
    s.unnormKey = "tiny_dataset";
    return s;
}

} // namespace specvla::testing
