// SPDX-License-Identifier: MIT
#pragma once

#include "theme.h"

#include <QList>
#include <QMainWindow>
#include <QPair>
#include <QPointer>
#include <QStringList>
#include <QUrl>

#include <atomic>
#include <memory>
#include <optional>

class QAction;
class QFutureWatcherBase;
class QActionGroup;
class QDialog;
class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QStackedWidget;
class QToolButton;

namespace specvla::widgets {
class MessageBar;
}

namespace specvla::app {

class Autosave;
class BookmarksDock;
class CheckpointDock;
class DecodeController;
class ExportController;
class RecentFiles;
class SessionController;

// The workbench window: menus, docks, the central view area with its message bar, and the status bar. It
// stays thin: each dock does its own work and the window only routes files, messages and settings.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Bump when docks are added or renamed, so an old saved layout is ignored rather than half applied.
    static constexpr int kStateVersion = 3;
    static constexpr int kMaxRecent = 10;

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a checkpoint in the Checkpoint dock (in the background); errors go to the message bar.
    void openCheckpoint(const QString& path);
    // Handles dropped or otherwise handed-over URLs: the first checkpoint among them is opened; anything else
    // is explained in the message bar. Returns true when a checkpoint was opened.
    bool openUrls(const QList<QUrl>& urls);
    // A .safetensors file, a .json file or a directory (the kinds Checkpoint::open accepts).
    static bool isCheckpointPath(const QString& path);

    // Decoding inputs (the File menu's dialogs, drops and the command line end here).
    void openModel(const QString& dir);
    void openDraft(const QString& dir);
    void openEpisode(const QString& path);
    // A folder whose config.json says "model_type": "openvla".
    static bool isModelFolder(const QString& path);
    static bool isEpisodePath(const QString& path); // a .hdf5 / .h5 file

    // Reads a session file (app/session) and opens what it names; stepOverride replaces its step. Errors and
    // missing inputs go to the message bar. Returns false when the file itself could not be read.
    bool openSession(const QString& path, std::optional<int> stepOverride = std::nullopt);
    bool saveSession(const QString& path);

    // Most recent first, without duplicates or paths that no longer exist, at most kMaxRecent.
    QStringList recentCheckpoints() const;
    // Models, draft heads, episodes and sessions opened successfully, the same way (File ▸ Open Recent …).
    RecentFiles* recentModels() const { return m_recentModels; }
    RecentFiles* recentDrafts() const { return m_recentDrafts; }
    RecentFiles* recentEpisodes() const { return m_recentEpisodes; }
    RecentFiles* recentSessions() const { return m_recentSessions; }
    SessionController* sessionController() const { return m_session; }
    BookmarksDock* bookmarksDock() const { return m_bookmarksDock; }
    ExportController* exportController() const { return m_export; }
    Autosave* autosave() const { return m_autosave; }
    QMenu* editMenu() const { return m_editMenu; }
    // Saves to the session's file, or asks for one when it has none (File ▸ Save Session, Ctrl+S).
    bool saveSessionOrAsk();
    // Writes the session report (HTML, PDF, figures, data) of the current session into dir, decoding in the
    // background; progress in the status bar. Returns false when nothing is open or a report is running.
    bool exportReport(const QString& dir);
    // Offers to restore sessions autosaved by instances that did not exit (a crash); interactive.
    // Returns true when a session was restored.
    bool offerRecovery();
    // Interactive (the default): closing or replacing a modified session asks Save / Discard / Cancel.
    // Unattended runs (benchmarks, screenshots) never ask; a modified session is autosaved on close instead.
    void setInteractive(bool interactive) { m_interactive = interactive; }
    bool isInteractive() const { return m_interactive; }
    // Before a modified session is closed or replaced: true to go on (saved, discarded, or nothing to save),
    // false when the user cancelled.
    bool maybeSave();
    // Applies user preferences (theme, export size, default margin, autosave); persist stores them.
    void applyPreferences(bool persist);
    void clearRecentCheckpoints();

    specvla::widgets::Theme theme() const { return m_theme; }
    // Applies the theme to the application; persist stores it as the user's preference.
    void setTheme(specvla::widgets::Theme theme, bool persist = true);

    // (action, shortcut) for every action with a shortcut, in menu order, as Help ▸ Keyboard Shortcuts lists.
    QList<QPair<QString, QString>> shortcutList() const;

    CheckpointDock* checkpointDock() const { return m_checkpointDock; }
    DecodeController* decodeController() const { return m_decode; }
    specvla::widgets::MessageBar* messageBar() const { return m_messageBar; }
    QProgressBar* busyIndicator() const { return m_busy; }
    QLabel* statusLabel() const { return m_statusLabel; }
    QMenu* recentMenu() const { return m_recentMenu; }

public Q_SLOTS:
    void showOpenCheckpointDialog();
    void showOpenFolderDialog();
    void showOpenModelDialog();
    void showOpenDraftDialog();
    void showOpenEpisodeDialog();
    void showOpenSessionDialog();
    void showSaveSessionDialog();
    void showPreferences();
    void showExportReportDialog();
    void showShortcuts();
    void showAbout();

Q_SIGNALS:
    void reportWritten(const QString& htmlPath);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void createMenus();
    QWidget* createCentralArea();
    void createStatusBar();
    void readSettings();
    void writeSettings();

    void onLoadingStarted(const QString& path);
    void onLoaded(const QString& path, int tensorCount);
    void onFailed(const QString& message);
    void setBusy(bool busy, const QString& message);

    void updatePlaceholder();

    void createDecodeViews();
    void createSessionAndRecent(); // main_window_session.cpp
    void addSessionMenus(QMenu* file);
    void createDocument(); // main_window_document.cpp: bookmarks, undo, autosave, export, preferences
    void addDocumentMenus(QMenu* file);
    void updateWindowTitle();
    QString askForPath(const QString& title, const QString& key, const QString& filter);

    CheckpointDock* m_checkpointDock = nullptr;
    DecodeController* m_decode = nullptr;
    SessionController* m_session = nullptr;
    RecentFiles* m_recentCheckpoints = nullptr;
    RecentFiles* m_recentModels = nullptr;
    RecentFiles* m_recentDrafts = nullptr;
    RecentFiles* m_recentEpisodes = nullptr;
    RecentFiles* m_recentSessions = nullptr;
    BookmarksDock* m_bookmarksDock = nullptr;
    ExportController* m_export = nullptr;
    Autosave* m_autosave = nullptr;
    QMenu* m_editMenu = nullptr;
    bool m_reportRunning = false;
    bool m_interactive = true;
    bool m_discardConfirmed = false; // the user chose Discard for the modified session being closed
    std::shared_ptr<std::atomic<bool>> m_reportCancel;
    QFutureWatcherBase* m_reportWatcher = nullptr;
    void stopReport(); // cancels a running report and waits for its worker (the window is going away)
    QList<QDockWidget*> m_decodeDocks;
    QStackedWidget* m_centralStack = nullptr;
    QToolButton* m_cancelButton = nullptr;
    QProgressBar* m_progress = nullptr;
    QAction* m_openModelAction = nullptr;
    QAction* m_openDraftAction = nullptr;
    QAction* m_openEpisodeAction = nullptr;
    specvla::widgets::MessageBar* m_messageBar = nullptr;
    QLabel* m_placeholderRecent = nullptr;
    QLabel* m_statusLabel = nullptr;
    QProgressBar* m_busy = nullptr;

    QAction* m_openAction = nullptr;
    QAction* m_openFolderAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_fullScreenAction = nullptr;
    QAction* m_shortcutsAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QActionGroup* m_themeGroup = nullptr;
    QMenu* m_recentMenu = nullptr;
    QPointer<QDialog> m_shortcutsDialog;
    QString m_loadingPath; // the checkpoint being opened, for status messages

    specvla::widgets::Theme m_theme = specvla::widgets::Theme::System;
};

} // namespace specvla::app
