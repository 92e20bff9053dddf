// SPDX-License-Identifier: MIT
#pragma once

// The open session as a document (DESIGN.md, Sessions): opens and saves session files (app/session) through
// the DecodeController, owns the bookmarks and notes, and keeps the undo stack of settings and bookmark edits
// (one slider drag is one undo step). The stack's clean state is the document's saved state.
//
// A session naming files that no longer exist asks the relocator (by default the window's RelocateDialog) for
// new paths and opens with them; when it is cancelled nothing is opened, the missing paths are named in the
// message bar and the window stays as it was.
#include "session/session_file.h"

#include <QMetaObject>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

class QUndoStack;

namespace specvla::widgets {
class MessageBar;
}

namespace specvla::app {

class DecodeController;

// One input of a session that is missing on disk.
struct SessionInput {
    QString kind; // "Model", "Draft head", "Episodes"
    QString path;
    bool isFolder = false;
};

class SessionController : public QObject {
    Q_OBJECT
public:
    // Gets the missing inputs of sessionPath; returns one replacement path per input, or nullopt (cancel).
    using Relocator = std::function<std::optional<QStringList>(const QString& sessionPath,
                                                               const QList<SessionInput>& missing)>;

    SessionController(DecodeController* decode, widgets::MessageBar* messages, QObject* parent = nullptr);

    // Reads path and applies it; stepOverride replaces the session's step (the command line's --step).
    // Returns false when the file cannot be read (the error is in the message bar) or relocation was
    // cancelled; the window then keeps what it had.
    bool open(const QString& path, std::optional<int> stepOverride = std::nullopt);
    // Writes the current model, draft, episode, statistics key, settings, view, bookmarks and notes; false
    // (and a message) when nothing is open or the file cannot be written. The stack becomes clean.
    bool save(const QString& path);
    // The session the window shows now (paths absolute).
    session::Session current() const;
    bool canSave() const; // a model and an episode are open

    QString sessionPath() const { return m_path; }
    // Used by crash recovery: the file a recovered session belongs to (Save writes there).
    void setSessionPath(const QString& path) { m_path = path; }
    // The paths of the last opened session that did not exist (before relocation).
    QStringList missingPaths() const { return m_missing; }
    void setRelocator(Relocator relocator) { m_relocator = std::move(relocator); }

    // Bookmarks: sorted by step, one per step. The setters push undo commands.
    const std::vector<session::Bookmark>& bookmarks() const { return m_bookmarks; }
    void setBookmark(int step, const QString& note);
    void removeBookmark(int step);
    // Session notes (free text; edits mark the session modified but are not on the undo stack: the editor
    // has its own undo).
    QString notes() const { return m_notes; }
    void setNotes(const QString& notes);

    // Puts settings into the controls (and so the decoder) without an undo step: sessions, preferences.
    void applySettings(const decode::DecodeSettings& settings);

    QUndoStack* undoStack() const { return m_undo; }
    bool isModified() const;
    // Forgets the edit history and marks the current state saved (a session was opened or saved).
    void markSaved();
    // Marks the session modified without an undo step (e.g. a recovered autosave).
    void markModified();

Q_SIGNALS:
    void opened(const QString& path);
    void saved(const QString& path);
    void bookmarksChanged();
    void notesChanged(const QString& notes);
    void modifiedChanged(bool modified);

private:
    void onSettingsEdited(const decode::DecodeSettings& settings);
    void applyBookmark(int step, const std::optional<session::Bookmark>& bookmark);
    void updateModified();
    bool relocate(session::Session& s, const QString& path);

    DecodeController* m_decode;
    widgets::MessageBar* m_messages;
    QUndoStack* m_undo;
    Relocator m_relocator;
    QString m_path;
    QStringList m_missing;
    QMetaObject::Connection m_pendingStep;
    std::optional<std::pair<int, int>> m_pendingView; // (step, round) of an opening session, until shown
    bool m_pendingStepApplied = false;                // the episode is ready and the step set
    decode::DecodeSettings m_lastSettings;            // what the controls showed before the latest edit
    bool m_applying = false; // settings set by undo/redo or a session, not by the user
    int m_dragId = 0;        // nonzero while the margin slider is held
    int m_dragCounter = 0;
    std::vector<session::Bookmark> m_bookmarks;
    QString m_notes;
    bool m_notesModified = false; // notes edited, inputs relocated or recovered: not on the undo stack
    bool m_lastModified = false;
};

} // namespace specvla::app
