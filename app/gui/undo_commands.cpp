// SPDX-License-Identifier: MIT
#include "gui/undo_commands.h"

#include <QCoreApplication>
#include <QStringList>

namespace specvla::app {

namespace {

QString marginsText(const decode::DecodeSettings& s) {
    if (!s.marginPerDim) return QString::number(s.margin);
    QStringList cells;
    for (int m : *s.marginPerDim)
        cells << QString::number(m);
    return QStringLiteral("[%1]").arg(cells.join(QLatin1Char(',')));
}

} // namespace

SettingsCommand::SettingsCommand(const decode::DecodeSettings& before, const decode::DecodeSettings& after,
                                 int dragId, std::function<void(const decode::DecodeSettings&)> apply)
    : m_before(before), m_after(after), m_dragId(dragId), m_apply(std::move(apply)) {
    setText(describe(before, after));
}

void SettingsCommand::undo() {
    m_apply(m_before);
}

void SettingsCommand::redo() {
    if (!m_pushed) {
        m_pushed = true; // QUndoStack::push: the edit is already on screen
        return;
    }
    m_apply(m_after);
}

bool SettingsCommand::mergeWith(const QUndoCommand* other) {
    const auto* o = dynamic_cast<const SettingsCommand*>(other);
    if (!o || m_dragId == 0 || o->m_dragId != m_dragId) return false;
    m_after = o->m_after;
    setText(describe(m_before, m_after));
    setObsolete(m_before == m_after); // a drag that ends where it began leaves no step
    return true;
}

QString SettingsCommand::describe(const decode::DecodeSettings& b, const decode::DecodeSettings& a) {
    QStringList parts;
    if (b.mode != a.mode)
        parts << QCoreApplication::translate("SettingsCommand", "mode %1 → %2")
                     .arg(QLatin1String(decode::modeName(b.mode)), QLatin1String(decode::modeName(a.mode)));
    if (b.margin != a.margin || b.marginPerDim != a.marginPerDim)
        parts << QCoreApplication::translate("SettingsCommand", "margin %1 → %2")
                     .arg(marginsText(b), marginsText(a));
    if (b.tree != a.tree)
        parts << QCoreApplication::translate("SettingsCommand", "tree %1/%2/%3 → %4/%5/%6")
                     .arg(b.tree.topK)
                     .arg(b.tree.depth)
                     .arg(b.tree.totalTokens)
                     .arg(a.tree.topK)
                     .arg(a.tree.depth)
                     .arg(a.tree.totalTokens);
    if (parts.isEmpty()) return QCoreApplication::translate("SettingsCommand", "Change decode settings");
    QString text = parts.join(QStringLiteral(", "));
    text[0] = text[0].toUpper();
    return text;
}

BookmarkCommand::BookmarkCommand(int step, std::optional<session::Bookmark> before,
                                 std::optional<session::Bookmark> after, Setter set)
    : m_step(step), m_before(std::move(before)), m_after(std::move(after)), m_set(std::move(set)) {
    if (!m_before)
        setText(QCoreApplication::translate("BookmarkCommand", "Add bookmark at step %1").arg(step));
    else if (!m_after)
        setText(QCoreApplication::translate("BookmarkCommand", "Remove bookmark at step %1").arg(step));
    else
        setText(QCoreApplication::translate("BookmarkCommand", "Edit note at step %1").arg(step));
}

} // namespace specvla::app
