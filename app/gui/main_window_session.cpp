// SPDX-License-Identifier: MIT
// MainWindow's sessions and the recent model / draft / episode / session lists: File ▸ Open Session…,
// Save Session As… and the Open Recent submenus. The work is SessionController's and RecentFiles'.
#include "gui/decode_controller.h"
#include "gui/main_window.h"
#include "gui/recent_files.h"
#include "gui/session_controller.h"
#include "message_bar.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>

namespace specvla::app {

void MainWindow::createSessionAndRecent() {
    m_session = new SessionController(m_decode, m_messageBar, this);
    m_recentModels =
        new RecentFiles(QStringLiteral("recent/models"), tr("No recent models"), kMaxRecent, this);
    m_recentDrafts =
        new RecentFiles(QStringLiteral("recent/drafts"), tr("No recent draft heads"), kMaxRecent, this);
    m_recentEpisodes =
        new RecentFiles(QStringLiteral("recent/episodes"), tr("No recent episodes"), kMaxRecent, this);
    m_recentSessions =
        new RecentFiles(QStringLiteral("recent/sessions"), tr("No recent sessions"), kMaxRecent, this);

    // Only what opened successfully is remembered (dialogs, drops, the command line and sessions alike).
    connect(m_decode, &DecodeController::modelReadyChanged, this, [this](bool ready) {
        if (!ready) return;
        m_recentModels->add(m_decode->modelDir());
        if (m_decode->hasDraft()) m_recentDrafts->add(m_decode->draftDir());
    });
    connect(m_decode, &DecodeController::episodeReady, this,
            [this](int) { m_recentEpisodes->add(m_decode->episodePath()); });
    connect(m_session, &SessionController::opened, m_recentSessions, &RecentFiles::add);
    connect(m_session, &SessionController::saved, m_recentSessions, &RecentFiles::add);

    connect(m_recentModels, &RecentFiles::openRequested, this, &MainWindow::openModel);
    connect(m_recentDrafts, &RecentFiles::openRequested, this, &MainWindow::openDraft);
    connect(m_recentEpisodes, &RecentFiles::openRequested, this, &MainWindow::openEpisode);
    connect(m_recentSessions, &RecentFiles::openRequested, this,
            [this](const QString& p) { openSession(p); });
    createDocument(); // main_window_document.cpp
    for (RecentFiles* list : {m_recentModels, m_recentDrafts, m_recentEpisodes, m_recentSessions}) {
        connect(list, &RecentFiles::missing, this, [this](const QString& p) {
            m_messageBar->showError(
                tr("Cannot open %1: it no longer exists. It was removed from the recent list.")
                    .arg(QDir::toNativeSeparators(p)));
        });
    }
}

void MainWindow::addSessionMenus(QMenu* file) {
    auto* recentModels = file->addMenu(tr("Open Recent &Model"));
    recentModels->setObjectName(QStringLiteral("RecentModelsMenu"));
    m_recentModels->attachMenu(recentModels);
    auto* recentDrafts = file->addMenu(tr("Open Recent Dra&ft"));
    recentDrafts->setObjectName(QStringLiteral("RecentDraftsMenu"));
    m_recentDrafts->attachMenu(recentDrafts);
    auto* recentEpisodes = file->addMenu(tr("Open Recent E&pisode"));
    recentEpisodes->setObjectName(QStringLiteral("RecentEpisodesMenu"));
    m_recentEpisodes->attachMenu(recentEpisodes);

    file->addSeparator();
    auto* openSession = file->addAction(tr("Open &Session…"));
    openSession->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O));
    openSession->setStatusTip(tr("Open a SpecVLA session: model, draft head, episode, settings and step"));
    connect(openSession, &QAction::triggered, this, &MainWindow::showOpenSessionDialog);
    auto* saveSession = file->addAction(tr("Save Session &As…"));
    saveSession->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    connect(saveSession, &QAction::triggered, this, &MainWindow::showSaveSessionDialog);
    auto* recentSessions = file->addMenu(tr("Open Recent Sess&ion"));
    recentSessions->setObjectName(QStringLiteral("RecentSessionsMenu"));
    m_recentSessions->attachMenu(recentSessions);
}

bool MainWindow::openSession(const QString& path, std::optional<int> stepOverride) {
    if (!maybeSave()) return false; // the user cancelled to keep the current session
    return m_session->open(path, stepOverride);
}

bool MainWindow::saveSession(const QString& path) {
    return m_session->save(path);
}

void MainWindow::showOpenSessionDialog() {
    const QString path = askForPath(tr("Open Session"), QStringLiteral("paths/lastSessionDir"),
                                    tr("SpecVLA sessions (*.specvla.json *.json);;All files (*)"));
    if (!path.isEmpty()) openSession(path);
}

void MainWindow::showSaveSessionDialog() {
    QSettings settings;
    const QString dir = settings.value(QStringLiteral("paths/lastSessionDir"), QDir::homePath()).toString();
    QString path = QFileDialog::getSaveFileName(this, tr("Save Session"), dir,
                                                tr("SpecVLA sessions (*.specvla.json);;All files (*)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) path += QLatin1String(".specvla.json");
    settings.setValue(QStringLiteral("paths/lastSessionDir"), QFileInfo(path).absolutePath());
    saveSession(path);
}

} // namespace specvla::app
