// SPDX-License-Identifier: MIT
// MainWindow's session document: the Bookmarks dock, Edit ▸ Undo / Redo, File ▸ Save Session, the modified
// mark in the title, autosave and crash recovery, user preferences, the Export menu and the session report.
// The work is SessionController's, Autosave's, ExportController's and the report library's.
#include "engine/engine.h"
#include "gui/autosave.h"
#include "gui/bookmarks_dock.h"
#include "gui/checkpoint_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/export_controller.h"
#include "gui/main_window.h"
#include "gui/preferences.h"
#include "gui/recent_files.h"
#include "gui/relocate_dialog.h"
#include "gui/session_controller.h"
#include "message_bar.h"
#include "report/report_data.h"
#include "report/report_writer.h"

#include <QAction>
#include <QApplication>
#include <QDateTime>
#include <QDesktopServices>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QToolButton>
#include <QUndoStack>
#include <QUrl>
#include <QtConcurrent/QtConcurrentRun>

#include <atomic>
#include <memory>

namespace specvla::app {

void MainWindow::createDocument() {
    m_bookmarksDock = new BookmarksDock(m_session, m_decode, this);
    addDockWidget(Qt::RightDockWidgetArea, m_bookmarksDock);
    tabifyDockWidget(m_checkpointDock, m_bookmarksDock);
    if (m_decodeDocks.size() > 1) m_decodeDocks.at(1)->raise(); // the draft tree stays the tab in front
    m_decodeDocks.append(m_bookmarksDock);                      // View menu toggle
    addAction(m_bookmarksDock->addAction());                    // Ctrl+B anywhere in the window

    m_session->setRelocator(
        [this](const QString& sessionPath, const QList<SessionInput>& missing) -> std::optional<QStringList> {
            QList<MissingInput> rows;
            for (const SessionInput& in : missing)
                rows.append({in.kind, in.path, in.isFolder});
            RelocateDialog dialog(sessionPath, rows, this);
            if (dialog.exec() != QDialog::Accepted || !dialog.allResolved()) return std::nullopt;
            QStringList out;
            for (int i = 0; i < dialog.rowCount(); ++i)
                out << dialog.replacement(i);
            return out;
        });

    m_export = new ExportController(m_decode, this, this, this);
    connect(m_export, &ExportController::exported, this, [this](const QString& path) {
        m_messageBar->showInfo(tr("Exported %1").arg(QDir::toNativeSeparators(path)));
    });
    connect(m_export, &ExportController::exportFailed, m_messageBar, &widgets::MessageBar::showError);

    m_autosave = new Autosave(Autosave::defaultDir(), this);
    m_autosave->setSnapshotProvider([this]() -> std::optional<session::Session> {
        if (!m_session->canSave()) return std::nullopt;
        return m_session->current();
    });
    connect(m_autosave, &Autosave::failed, this, [this](const QString& message) {
        m_messageBar->showWarning(tr("Autosave failed: %1").arg(message));
    });
    connect(m_session, &SessionController::modifiedChanged, this, [this](bool modified) {
        if (modified) m_autosave->markDirty();
        updateWindowTitle();
    });
    connect(m_session->undoStack(), &QUndoStack::indexChanged, m_autosave, &Autosave::markDirty);
    auto onFile = [this](const QString& path) {
        m_autosave->setOriginalPath(path);
        updateWindowTitle();
    };
    connect(m_session, &SessionController::opened, this, onFile);
    connect(m_session, &SessionController::saved, this, [this, onFile](const QString& path) {
        onFile(path);
        m_autosave->discard(); // the saved file is newer than any autosave
    });
    applyPreferences(false);
    updateWindowTitle();
}

void MainWindow::addDocumentMenus(QMenu* file) {
    auto* save = new QAction(tr("&Save Session"), this);
    save->setShortcut(QKeySequence::Save);
    save->setStatusTip(tr("Save the session to its file (asks for one the first time)"));
    connect(save, &QAction::triggered, this, &MainWindow::saveSessionOrAsk);
    // Before "Save Session As…", which addSessionMenus put in the File menu.
    QAction* before = nullptr;
    for (QAction* a : file->actions())
        if (a->shortcut() == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S)) before = a;
    file->insertAction(before, save);

    file->addSeparator();
    QMenu* exportMenu = file->addMenu(tr("&Export"));
    exportMenu->setObjectName(QStringLiteral("ExportMenu"));
    m_export->populateMenu(exportMenu);
    exportMenu->addSeparator();
    auto* report = exportMenu->addAction(tr("Session &Report…"));
    report->setObjectName(QStringLiteral("ExportReportAction"));
    report->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    report->setStatusTip(
        tr("Decode the episode in AR, strict and relaxed mode and write an HTML and PDF report"));
    connect(report, &QAction::triggered, this, &MainWindow::showExportReportDialog);

    m_editMenu = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = m_session->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = m_session->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence::Redo});
    m_editMenu->addAction(undo);
    m_editMenu->addAction(redo);
    m_editMenu->addSeparator();
    m_editMenu->addAction(m_bookmarksDock->addAction());
    m_editMenu->addAction(m_bookmarksDock->removeAction());
    m_editMenu->addSeparator();
    auto* prefs = m_editMenu->addAction(tr("&Preferences…"));
    prefs->setMenuRole(QAction::PreferencesRole);
    prefs->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    connect(prefs, &QAction::triggered, this, &MainWindow::showPreferences);
}

void MainWindow::updateWindowTitle() {
    const QString path = m_session ? m_session->sessionPath() : QString();
    const QString name = path.isEmpty() ? tr("Untitled session") : QFileInfo(path).fileName();
    setWindowTitle(tr("%1[*] — SpecVLA Workbench").arg(name));
    setWindowModified(m_session && m_session->isModified());
}

bool MainWindow::maybeSave() {
    m_discardConfirmed = false;
    if (!m_session->isModified()) return true;
    if (!m_interactive) {
        m_autosave->saveNow(); // nobody to ask: keep the work recoverable
        return true;
    }
    const QString name = m_session->sessionPath().isEmpty() ? tr("The session")
                                                            : QFileInfo(m_session->sessionPath()).fileName();
    QMessageBox box(QMessageBox::Warning, tr("Unsaved Changes"),
                    tr("%1 has unsaved changes (settings, bookmarks or notes). Save them?").arg(name),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setTextFormat(Qt::PlainText);
    box.setDefaultButton(QMessageBox::Save);
    box.exec();
    const QAbstractButton* clicked = box.clickedButton();
    if (clicked == box.button(QMessageBox::Save)) return saveSessionOrAsk();
    if (clicked == box.button(QMessageBox::Discard)) {
        m_discardConfirmed = true;
        return true;
    }
    return false; // Cancel, Escape or the box closed
}

void MainWindow::stopReport() {
    if (!m_reportWatcher) return;
    if (m_reportCancel) *m_reportCancel = true;
    m_reportWatcher->waitForFinished(); // bounded: the decoder checks the flag between rounds
}

bool MainWindow::saveSessionOrAsk() {
    if (m_session->sessionPath().isEmpty()) {
        showSaveSessionDialog();
        return !m_session->isModified();
    }
    return saveSession(m_session->sessionPath());
}

void MainWindow::applyPreferences(bool persist) {
    const Preferences prefs = Preferences::load();
    if (persist) prefs.save();
    m_export->setExportSize({prefs.exportWidth, prefs.exportHeight, prefs.exportDpi});
    m_autosave->setEnabled(prefs.autosaveEnabled);
    m_autosave->setInterval(prefs.autosaveSeconds);
    // The default margin is where a fresh window starts; an open session keeps its own.
    if (!persist && m_session->sessionPath().isEmpty()) {
        decode::DecodeSettings settings = m_decode->settings();
        settings.margin = prefs.defaultMargin;
        m_session->applySettings(settings);
    }
}

void MainWindow::showPreferences() {
    PreferencesDialog dialog(Preferences::load(), this);
    if (dialog.exec() != QDialog::Accepted) return;
    const Preferences prefs = dialog.preferences();
    prefs.save();
    if (prefs.theme != m_theme) setTheme(prefs.theme);
    applyPreferences(true);
}

bool MainWindow::offerRecovery() {
    const QList<Autosave::Recoverable> found = Autosave::findRecoverable(Autosave::defaultDir());
    if (found.isEmpty()) return false;
    const Autosave::Recoverable& newest = found.front();
    const QString of = newest.originalPath.isEmpty() ? tr("an unsaved session")
                                                     : QDir::toNativeSeparators(newest.originalPath);
    QMessageBox box(QMessageBox::Question, tr("Recover Session"),
                    tr("SpecVLA Workbench did not exit cleanly. An autosave of %1 from %2 was found.")
                        .arg(of, QLocale().toString(newest.savedAt, QLocale::ShortFormat)),
                    QMessageBox::NoButton, this);
    box.setTextFormat(Qt::PlainText); // the path comes from a file on disk
    QPushButton* restore = box.addButton(tr("Restore"), QMessageBox::AcceptRole);
    box.addButton(tr("Discard"), QMessageBox::DestructiveRole);
    QPushButton* later = box.addButton(tr("Not Now"), QMessageBox::RejectRole);
    box.setDefaultButton(restore);
    box.exec();
    if (box.clickedButton() == static_cast<QAbstractButton*>(later)) return false;
    bool restored = false;
    if (box.clickedButton() == static_cast<QAbstractButton*>(restore)) {
        if (!m_session->open(newest.autosavePath)) return false; // the message bar says why; the file stays
        restored = true;
        m_session->setSessionPath(newest.originalPath);
        m_session->markModified(); // the recovered state is not in any file yet
        m_autosave->setOriginalPath(newest.originalPath);
        // The recent list got the autosave (gone once discarded below, so pruned); it should name the
        // original.
        if (!newest.originalPath.isEmpty() && QFileInfo::exists(newest.originalPath))
            m_recentSessions->add(newest.originalPath);
        m_messageBar->showInfo(tr("Recovered the session autosaved at %1. Save it to keep it.")
                                   .arg(QLocale().toString(newest.savedAt, QLocale::ShortFormat)));
        updateWindowTitle();
    }
    // The offered autosave goes, with older ones of the same session file (superseded by it); autosaves of
    // other sessions stay for the next start.
    for (const Autosave::Recoverable& r : found)
        if (r.autosavePath == newest.autosavePath ||
            (!newest.originalPath.isEmpty() && r.originalPath == newest.originalPath))
            Autosave::discardRecoverable(r);
    return restored;
}

void MainWindow::showExportReportDialog() {
    QSettings settings;
    const QString start = settings.value(QStringLiteral("paths/lastReportDir"), QDir::homePath()).toString();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Write the Session Report into"), start);
    if (dir.isEmpty()) return;
    settings.setValue(QStringLiteral("paths/lastReportDir"), dir);
    // A new folder per report: the report's fixed file names never overwrite an earlier report or other
    // files.
    const QString stem = m_session->sessionPath().isEmpty()
                             ? QStringLiteral("session")
                             : QFileInfo(m_session->sessionPath()).fileName().section(QLatin1Char('.'), 0, 0);
    const QString name =
        QStringLiteral("%1-report-%2")
            .arg(stem, QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")));
    exportReport(QDir(dir).filePath(name));
}

bool MainWindow::exportReport(const QString& dir) {
    if (m_reportRunning) {
        m_messageBar->showWarning(tr("A report is already being written."));
        return false;
    }
    if (!m_session->canSave()) {
        m_messageBar->showWarning(tr("Nothing to report yet: open a model and an episode first."));
        return false;
    }
    const session::Session s = m_session->current();
    const std::string sessionPath = m_session->sessionPath().toStdString();
    ReportOptions options;
    if (const DecodeControls* c = m_decode->views().controls) {
        options.device = c->device().toStdString();
        options.dtype = c->dtype().toStdString();
    }
    const Preferences prefs = Preferences::load();
    ReportWriteOptions writeOptions;
    writeOptions.dpi = prefs.exportDpi;

    m_reportRunning = true;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_reportCancel = cancel;
    auto cancelConnection = std::make_shared<QMetaObject::Connection>(
        connect(m_cancelButton, &QToolButton::clicked, this, [cancel] { *cancel = true; }));
    m_statusLabel->setText(tr("Writing the session report…"));
    QPointer<MainWindow> self(this);
    auto* watcher = new QFutureWatcher<std::shared_ptr<ReportData>>(this);
    m_reportWatcher = watcher;
    auto error = std::make_shared<QString>();
    connect(watcher, &QFutureWatcherBase::finished, this,
            [this, watcher, error, dir, writeOptions, cancelConnection] {
                QObject::disconnect(*cancelConnection);
                m_reportRunning = false;
                m_reportWatcher = nullptr;
                m_reportCancel.reset();
                m_progress->reset();
                const std::shared_ptr<ReportData> data = watcher->result();
                watcher->deleteLater();
                if (!data) {
                    m_statusLabel->setText(tr("Report not written"));
                    m_messageBar->showError(tr("Cannot write the session report: %1").arg(*error));
                    return;
                }
                ReportFiles files;
                QString writeError;
                if (!writeReport(*data, dir, writeOptions, &files, &writeError)) {
                    m_statusLabel->setText(tr("Report not written"));
                    m_messageBar->showError(tr("Cannot write the session report: %1").arg(writeError));
                    return;
                }
                m_statusLabel->setText(tr("Report written"));
                m_messageBar->showInfo(
                    tr("Session report written: %1 and %2")
                        .arg(QDir::toNativeSeparators(files.html), QDir::toNativeSeparators(files.pdf)));
                Q_EMIT reportWritten(files.html);
            });
    watcher->setFuture(
        QtConcurrent::run([s, sessionPath, options, cancel, error, self]() -> std::shared_ptr<ReportData> {
            try {
                auto progress = [self](int done, int total, const std::string& what) {
                    // Posted to the application object, not the window, which may be gone when this runs (the
                    // QPointer tells).
                    QMetaObject::invokeMethod(
                        qApp,
                        [self, done, total, what] {
                            if (!self) return;
                            self->m_progress->setRange(0, total);
                            self->m_progress->setValue(done);
                            self->m_statusLabel->setText(tr("Report: %1").arg(QString::fromStdString(what)));
                        },
                        Qt::QueuedConnection);
                };
                return std::make_shared<ReportData>(
                    collectReport(s, sessionPath, options, progress, cancel.get()));
            } catch (const Cancelled&) {
                *error = tr("cancelled");
            } catch (const std::exception& e) {
                *error = QString::fromStdString(e.what());
            }
            return nullptr;
        }));
    return true;
}

} // namespace specvla::app
