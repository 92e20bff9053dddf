// SPDX-License-Identifier: MIT
#pragma once

// The Bookmarks dock: the session's step bookmarks with their notes (editable in place, undoable), a jump to
// a bookmark's step on double-click, and the session's free-text notes. Bookmarks and notes are saved in the
// session and carried into the session report.
#include <QDockWidget>

class QAction;
class QPlainTextEdit;
class QTableWidget;

namespace specvla::app {

class DecodeController;
class SessionController;

class BookmarksDock : public QDockWidget {
    Q_OBJECT
public:
    BookmarksDock(SessionController* session, DecodeController* decode, QWidget* parent = nullptr);

    QTableWidget* table() const { return m_table; }
    QPlainTextEdit* notesEdit() const { return m_notes; }
    QAction* addAction() const { return m_add; }       // bookmark the current step (Ctrl+B)
    QAction* removeAction() const { return m_remove; } // remove the selected bookmark

    // Bookmarks the current step and starts editing its note.
    void addAtCurrentStep();
    void removeSelected();

private:
    void rebuild();
    void onItemChanged(int row, int column);

    SessionController* m_session;
    DecodeController* m_decode;
    QTableWidget* m_table = nullptr;
    QPlainTextEdit* m_notes = nullptr;
    QAction* m_add = nullptr;
    QAction* m_remove = nullptr;
    bool m_rebuilding = false;
};

} // namespace specvla::app
