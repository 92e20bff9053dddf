// SPDX-License-Identifier: MIT
#pragma once

// One QSettings-backed list of recently opened files or folders (models, drafts, episodes, sessions): most
// recent first, one spelling per path, capped, and pruned of paths that no longer exist. It fills a
// File ▸ Open Recent submenu whose entries ask for the path to be opened, plus a "Clear" entry.
#include <QObject>
#include <QString>
#include <QStringList>

class QAction;
class QMenu;

namespace specvla::app {

class RecentFiles : public QObject {
    Q_OBJECT
public:
    // settingsKey: e.g. "recent/models"; emptyText: the disabled entry shown when the list is empty.
    RecentFiles(const QString& settingsKey, const QString& emptyText, int maxEntries,
                QObject* parent = nullptr);

    QString settingsKey() const { return m_key; }
    int maxEntries() const { return m_max; }
    // Most recent first, without duplicates or vanished paths, at most maxEntries.
    QStringList paths() const;
    void add(const QString& path);
    void clear();

    // Opens path as a menu entry does: moves it to the top and emits openRequested, or, when it has vanished,
    // prunes it and emits missing.
    void trigger(const QString& path);

    // Fills menu now and before each time it is shown.
    void attachMenu(QMenu* menu);
    QMenu* menu() const { return m_menu; }
    QAction* clearAction() const { return m_clearAction; }

    // Absolute, cleaned, without a trailing separator.
    static QString normalizedPath(const QString& path);
    static QStringList pruned(const QStringList& paths, int maxEntries);

Q_SIGNALS:
    void openRequested(const QString& path);
    // An entry whose path has vanished was chosen; it has been pruned from the list.
    void missing(const QString& path);
    void changed();

private:
    void store(const QStringList& paths);
    void rebuildMenu();

    QString m_key;
    QString m_emptyText;
    int m_max;
    QMenu* m_menu = nullptr;
    QAction* m_clearAction = nullptr;
};

} // namespace specvla::app
