// SPDX-License-Identifier: MIT
#include "gui/recent_files.h"

#include <QAction>
#include <QDir>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>

namespace specvla::app {

namespace {

// "&N  name  —  folder" for entry i (mnemonics 1..9; '&' in names escaped).
QString recentMenuLabel(int i, const QString& path) {
    const QFileInfo info(path);
    QString name = info.fileName();
    name.replace(QLatin1Char('&'), QLatin1String("&&"));
    QString dir = QDir::toNativeSeparators(info.absolutePath());
    dir.replace(QLatin1Char('&'), QLatin1String("&&"));
    return i < 9 ? QStringLiteral("&%1  %2  —  %3").arg(i + 1).arg(name, dir)
                 : QStringLiteral("%1  %2  —  %3").arg(i + 1).arg(name, dir);
}

} // namespace

RecentFiles::RecentFiles(const QString& settingsKey, const QString& emptyText, int maxEntries,
                         QObject* parent)
    : QObject(parent), m_key(settingsKey), m_emptyText(emptyText), m_max(maxEntries) {
    m_clearAction = new QAction(tr("&Clear"), this);
    connect(m_clearAction, &QAction::triggered, this, &RecentFiles::clear);
}

QString RecentFiles::normalizedPath(const QString& path) {
    return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

QStringList RecentFiles::pruned(const QStringList& paths, int maxEntries) {
    QStringList result;
    for (const QString& path : paths) {
        if (path.isEmpty()) continue;
        const QString p = normalizedPath(path);
        if (result.contains(p) || !QFileInfo::exists(p)) continue;
        result << p;
        if (result.size() >= maxEntries) break;
    }
    return result;
}

QStringList RecentFiles::paths() const {
    return pruned(QSettings().value(m_key).toStringList(), m_max);
}

void RecentFiles::add(const QString& path) {
    if (path.isEmpty()) return;
    QStringList list = QSettings().value(m_key).toStringList();
    list.prepend(normalizedPath(path));
    store(pruned(list, m_max));
}

void RecentFiles::clear() {
    store({});
}

void RecentFiles::store(const QStringList& paths) {
    QSettings().setValue(m_key, paths);
    rebuildMenu();
    Q_EMIT changed();
}

void RecentFiles::attachMenu(QMenu* menu) {
    m_menu = menu;
    m_menu->setToolTipsVisible(true);
    connect(m_menu, &QMenu::aboutToShow, this, &RecentFiles::rebuildMenu);
    rebuildMenu();
}

void RecentFiles::trigger(const QString& path) {
    if (!QFileInfo::exists(path)) {
        store(paths()); // prunes it
        Q_EMIT missing(path);
        return;
    }
    add(path); // to the top
    Q_EMIT openRequested(path);
}

void RecentFiles::rebuildMenu() {
    if (!m_menu) return;
    m_menu->clear();
    const QStringList recent = paths();
    for (int i = 0; i < recent.size(); ++i) {
        const QString& path = recent.at(i);
        QAction* action = m_menu->addAction(recentMenuLabel(i, path));
        action->setToolTip(QDir::toNativeSeparators(path));
        action->setData(path);
        // Queued: opening rebuilds this menu, which must not delete the action while it is emitting.
        connect(
            action, &QAction::triggered, this, [this, path] { trigger(path); }, Qt::QueuedConnection);
    }
    if (recent.isEmpty()) m_menu->addAction(m_emptyText)->setEnabled(false);
    m_menu->addSeparator();
    m_menu->addAction(m_clearAction);
    m_clearAction->setEnabled(!recent.isEmpty());
}

} // namespace specvla::app
