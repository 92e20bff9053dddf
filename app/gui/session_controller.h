// SPDX-License-Identifier: MIT
#pragma once

// Opens and saves workbench session files (app/session) through the DecodeController: the controls take the
// session's settings and statistics key, the model, draft head and episode are opened, and the step is
// applied once the episode is ready. A session naming a file that no longer exists opens none of its inputs
// and names the missing path in the message bar; the window stays usable.
#include "session/session_file.h"

#include <QMetaObject>
#include <QObject>
#include <QString>

#include <optional>

namespace specvla::widgets {
class MessageBar;
}

namespace specvla::app {

class DecodeController;

class SessionController : public QObject {
    Q_OBJECT
public:
    SessionController(DecodeController* decode, widgets::MessageBar* messages, QObject* parent = nullptr);

    // Reads path and applies it; stepOverride replaces the session's step (the command line's --step).
    // Returns false when the file cannot be read (the error is in the message bar); a session with a missing
    // input returns true and shows which path is missing.
    bool open(const QString& path, std::optional<int> stepOverride = std::nullopt);
    // Writes the current model, draft, episode, statistics key, settings and step; false (and a message)
    // when nothing is open or the file cannot be written.
    bool save(const QString& path);
    // The session the window shows now (paths absolute).
    session::Session current() const;

    QString sessionPath() const { return m_path; }
    // The paths of the last opened session that did not exist.
    QStringList missingPaths() const { return m_missing; }

Q_SIGNALS:
    void opened(const QString& path);
    void saved(const QString& path);

private:
    DecodeController* m_decode;
    widgets::MessageBar* m_messages;
    QString m_path;
    QStringList m_missing;
    QMetaObject::Connection m_pendingStep;
};

} // namespace specvla::app
