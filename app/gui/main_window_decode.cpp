// SPDX-License-Identifier: MIT
// MainWindow's decoding side: the views' docks, the File menu's model / draft / episode dialogs and what a
// dropped path is. The work itself is DecodeController's.
#include "gui/checkpoint_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_docks.h"
#include "gui/main_window.h"
#include "message_bar.h"

#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProgressBar>
#include <QSettings>
#include <QStackedWidget>
#include <QToolButton>

namespace specvla::app {

void MainWindow::createDecodeViews() {
    DecodeDocks docks = createDecodeDocks(this);
    tabifyDockWidget(m_checkpointDock, docks.docks.at(1)); // beside the draft tree, which stays in front
    m_centralStack->addWidget(docks.framePage);
    m_decodeDocks = docks.docks;
    docks.views.messages = m_messageBar;
    docks.views.status = m_statusLabel;
    docks.views.progress = m_progress;
    docks.views.cancel = m_cancelButton;
    m_decode = new DecodeController(docks.views, this);
    connect(m_decode, &DecodeController::episodeReady, this,
            [this, page = docks.framePage] { m_centralStack->setCurrentWidget(page); });
    createSessionAndRecent();
}

void MainWindow::openModel(const QString& dir) {
    m_decode->openModel(dir);
}

void MainWindow::openDraft(const QString& dir) {
    m_decode->openDraft(dir);
}

void MainWindow::openEpisode(const QString& path) {
    m_decode->openEpisode(path);
}

bool MainWindow::isModelFolder(const QString& path) {
    QFile file(QDir(path).filePath(QStringLiteral("config.json")));
    if (!QFileInfo(path).isDir() || !file.open(QIODevice::ReadOnly)) return false;
    const QJsonObject config = QJsonDocument::fromJson(file.readAll()).object();
    return config.value(QStringLiteral("model_type")).toString() == QLatin1String("openvla");
}

bool MainWindow::isEpisodePath(const QString& path) {
    const QString name = path.toLower();
    return QFileInfo(path).isFile() &&
           (name.endsWith(QLatin1String(".hdf5")) || name.endsWith(QLatin1String(".h5")));
}

QString MainWindow::askForPath(const QString& title, const QString& key, const QString& filter) {
    QSettings settings;
    const QString dir = settings.value(key, QDir::homePath()).toString();
    const QString path = filter.isEmpty() ? QFileDialog::getExistingDirectory(this, title, dir)
                                          : QFileDialog::getOpenFileName(this, title, dir, filter);
    if (!path.isEmpty()) settings.setValue(key, filter.isEmpty() ? path : QFileInfo(path).absolutePath());
    return path;
}

void MainWindow::showOpenModelDialog() {
    const QString path = askForPath(tr("Open Model Folder"), QStringLiteral("paths/lastModelDir"), {});
    if (!path.isEmpty()) openModel(path);
}

void MainWindow::showOpenDraftDialog() {
    const QString path = askForPath(tr("Open Draft Head Folder"), QStringLiteral("paths/lastDraftDir"), {});
    if (!path.isEmpty()) openDraft(path);
}

void MainWindow::showOpenEpisodeDialog() {
    const QString path = askForPath(tr("Open Episode"), QStringLiteral("paths/lastEpisodeDir"),
                                    tr("LIBERO episodes (*.hdf5 *.h5);;All files (*)"));
    if (!path.isEmpty()) openEpisode(path);
}

} // namespace specvla::app
