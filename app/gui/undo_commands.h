// SPDX-License-Identifier: MIT
#pragma once

// Undoable edits of a session (DESIGN.md, Sessions; workbench-ux.md, Undo): decode settings and bookmarks.
// Commands store values, never results: undoing a margin change re-applies the old settings and the views
// re-decode from the frame cache. Consecutive settings changes of one slider drag merge into one command.
#include "decode/settings.h"
#include "session/session_file.h"

#include <QUndoCommand>

#include <functional>
#include <optional>

namespace specvla::app {

class SettingsCommand : public QUndoCommand {
public:
    static constexpr int kId = 0x5e77;
    // apply: puts settings into the controls (and so into the decoder). dragId: nonzero while a slider drag
    // is in progress; commands of the same drag merge. The first redo() (QUndoStack::push) does nothing,
    // because the edit that created the command has already been applied.
    SettingsCommand(const decode::DecodeSettings& before, const decode::DecodeSettings& after, int dragId,
                    std::function<void(const decode::DecodeSettings&)> apply);

    void undo() override;
    void redo() override;
    int id() const override { return kId; }
    bool mergeWith(const QUndoCommand* other) override;

    const decode::DecodeSettings& before() const { return m_before; }
    const decode::DecodeSettings& after() const { return m_after; }
    // A short description, e.g. "Margin 4 → 9" or "Mode strict → relaxed".
    static QString describe(const decode::DecodeSettings& before, const decode::DecodeSettings& after);

private:
    decode::DecodeSettings m_before, m_after;
    int m_dragId;
    std::function<void(const decode::DecodeSettings&)> m_apply;
    bool m_pushed = false;
};

// Adds, edits or removes the bookmark at one step: before/after are the bookmark there (nullopt: none).
class BookmarkCommand : public QUndoCommand {
public:
    using Setter = std::function<void(int step, const std::optional<session::Bookmark>& bookmark)>;
    BookmarkCommand(int step, std::optional<session::Bookmark> before, std::optional<session::Bookmark> after,
                    Setter set);

    void undo() override { m_set(m_step, m_before); }
    void redo() override { m_set(m_step, m_after); }

private:
    int m_step;
    std::optional<session::Bookmark> m_before, m_after;
    Setter m_set;
};

} // namespace specvla::app
