// SPDX-License-Identifier: MIT
#include "gui/main_window.h"

#include "common/runtime.h"
#include "gui/autosave.h"
#include "gui/checkpoint_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_docks.h"
#include "gui/recent_files.h"
#include "gui/session_controller.h"
#include "message_bar.h"
#include "session/session_file.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyleHints>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace specvla::app {

using specvla::widgets::MessageBar;
using specvla::widgets::Theme;

namespace {

const char* const kRecentKey = "recent/checkpoints";
const char* const kThemeKey = "ui/theme";
const char* const kLastDirKey = "paths/lastCheckpointDir";
const char* const kGeometryKey = "mainWindow/geometry";
const char* const kStateKey = "mainWindow/state";
const char* const kStateVersionKey = "mainWindow/stateVersion";

QString plainActionText(const QAction* action) {
    QString text = action->text();
    text.remove(QLatin1Char('&'));
    if (text.endsWith(QChar(0x2026))) text.chop(1);
    return text.trimmed();
}

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("MainWindow"));
    setWindowTitle(tr("SpecVLA Workbench"));
    setAcceptDrops(true);
    setDockOptions(AnimatedDocks | AllowTabbedDocks | AllowNestedDocks);

    m_checkpointDock = new CheckpointDock(this);
    addDockWidget(Qt::RightDockWidgetArea, m_checkpointDock);
    connect(m_checkpointDock, &CheckpointDock::loadingStarted, this, &MainWindow::onLoadingStarted);
    connect(m_checkpointDock, &CheckpointDock::loaded, this, &MainWindow::onLoaded);
    connect(m_checkpointDock, &CheckpointDock::failed, this, &MainWindow::onFailed);

    setCentralWidget(createCentralArea());
    createStatusBar();
    createDecodeViews();
    createActions();
    createMenus();

    resize(1200, 760); // leaves room for panels and a taskbar on a 1280x800 screen
    if (const QScreen* s = screen(); s && QGuiApplication::platformName() != QLatin1String("offscreen")) {
        const QSize available = s->availableGeometry().size();
        if (width() > available.width() || height() > available.height())
            resize(size().boundedTo(available * 0.95));
    }
    resizeDocks({m_checkpointDock}, {460}, Qt::Horizontal);
    readSettings();

#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    // Follow the desktop switching between light and dark while the System theme is chosen.
    connect(QGuiApplication::styleHints(), &QStyleHints::colorSchemeChanged, this, [this] {
        if (m_theme == Theme::System) setTheme(Theme::System, false);
    });
#endif
}

MainWindow::~MainWindow() {
    stopReport();
    // A clean exit with nothing unsaved (or unsaved work the user chose to discard): the autosave is not
    // needed for recovery. Unsaved work keeps its autosave, as after a crash.
    if (m_autosave && (!m_session->isModified() || m_discardConfirmed)) m_autosave->discard();
}

QWidget* MainWindow::createCentralArea() {
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(8);

    m_messageBar = new MessageBar(central);
    layout->addWidget(m_messageBar);

    // A placeholder until the frame, draft-tree and plot views arrive: it says what can be opened and how.
    auto* page = new QWidget(central);
    page->setObjectName(QStringLiteral("WelcomePage"));
    // A centred column of bounded width: word-wrapped labels get their full height only inside a plain
    // layout, not when added with an alignment.
    auto* column = new QWidget(page);
    column->setMaximumWidth(560);
    auto* pageRow = new QHBoxLayout(page);
    pageRow->addStretch(1);
    pageRow->addWidget(column, 4);
    pageRow->addStretch(1);
    auto* pageLayout = new QVBoxLayout(column);
    pageLayout->setContentsMargins(0, 0, 0, 0);
    pageLayout->addStretch(2);

    auto* title = new QLabel(tr("SpecVLA Workbench"), column);
    QFont titleFont = title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.8);
    titleFont.setBold(true);
    title->setFont(titleFont);
    title->setAlignment(Qt::AlignCenter);
    pageLayout->addWidget(title);

    auto* text = new QLabel(column);
    text->setWordWrap(true);
    text->setAlignment(Qt::AlignCenter);
    text->setTextFormat(Qt::RichText);
    text->setText(tr("<p>Speculative decoding of OpenVLA robot policies, with relaxed acceptance.</p>"
                     "<p>Start by checking a checkpoint: open a <b>.safetensors</b> file, a sharded "
                     "model's <b>.safetensors.index.json</b>, or a folder holding either. Only the headers "
                     "are read, so even a 15&nbsp;GB model opens at once, and the <i>Checkpoint</i> panel "
                     "lists every tensor with its dtype, shape, size and shard.</p>"
                     "<p>You can also drop a file or folder onto this window.</p>"));
    pageLayout->addWidget(text);

    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    auto* openFile = new QPushButton(tr("Open Checkpoint…"), column);
    auto* openFolder = new QPushButton(tr("Open Folder…"), column);
    connect(openFile, &QPushButton::clicked, this, &MainWindow::showOpenCheckpointDialog);
    connect(openFolder, &QPushButton::clicked, this, &MainWindow::showOpenFolderDialog);
    buttons->addWidget(openFile);
    buttons->addWidget(openFolder);
    buttons->addStretch();
    pageLayout->addLayout(buttons);

    m_placeholderRecent = new QLabel(column);
    m_placeholderRecent->setObjectName(QStringLiteral("WelcomeRecent"));
    m_placeholderRecent->setAlignment(Qt::AlignCenter);
    m_placeholderRecent->setTextFormat(Qt::RichText);
    m_placeholderRecent->setWordWrap(true);
    connect(m_placeholderRecent, &QLabel::linkActivated, this, [this](const QString& link) {
        const QStringList recent = recentCheckpoints();
        const int i = link.toInt();
        if (i >= 0 && i < recent.size()) m_recentCheckpoints->trigger(recent.at(i));
    });
    pageLayout->addWidget(m_placeholderRecent);
    pageLayout->addStretch(3);

    // The welcome page until an episode opens, then the frame view with its timeline.
    m_centralStack = new QStackedWidget(central);
    m_centralStack->addWidget(page);
    layout->addWidget(m_centralStack, 1);
    return central;
}

void MainWindow::createActions() {
    m_openAction = new QAction(tr("&Open Checkpoint…"), this);
    m_openAction->setShortcut(QKeySequence::Open);
    m_openAction->setStatusTip(tr("Open a .safetensors file or a sharded checkpoint's index .json"));
    connect(m_openAction, &QAction::triggered, this, &MainWindow::showOpenCheckpointDialog);

    m_openFolderAction = new QAction(tr("Open Checkpoint &Folder…"), this);
    m_openFolderAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    m_openFolderAction->setStatusTip(tr("Open a folder holding a checkpoint"));
    connect(m_openFolderAction, &QAction::triggered, this, &MainWindow::showOpenFolderDialog);

    m_openModelAction = new QAction(tr("Open &Model…"), this);
    m_openModelAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    m_openModelAction->setStatusTip(tr("Open an OpenVLA model folder for decoding"));
    connect(m_openModelAction, &QAction::triggered, this, &MainWindow::showOpenModelDialog);
    m_openDraftAction = new QAction(tr("Open &Draft Head…"), this);
    m_openDraftAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    connect(m_openDraftAction, &QAction::triggered, this, &MainWindow::showOpenDraftDialog);
    m_openEpisodeAction = new QAction(tr("Open &Episode…"), this);
    m_openEpisodeAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_openEpisodeAction->setStatusTip(tr("Open a LIBERO .hdf5 episode"));
    connect(m_openEpisodeAction, &QAction::triggered, this, &MainWindow::showOpenEpisodeDialog);

    m_recentCheckpoints =
        new RecentFiles(QString::fromLatin1(kRecentKey), tr("No recent checkpoints"), kMaxRecent, this);
    m_recentCheckpoints->clearAction()->setText(tr("&Clear Recent"));
    connect(m_recentCheckpoints, &RecentFiles::openRequested, this, &MainWindow::openCheckpoint);
    connect(m_recentCheckpoints, &RecentFiles::changed, this, &MainWindow::updatePlaceholder);
    connect(m_recentCheckpoints, &RecentFiles::missing, this, [this](const QString& path) {
        m_messageBar->showError(
            tr("Cannot open %1: it no longer exists.").arg(QDir::toNativeSeparators(path)));
    });

    m_quitAction = new QAction(tr("&Quit"), this);
    m_quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_fullScreenAction = new QAction(tr("&Full Screen"), this);
    m_fullScreenAction->setShortcut(QKeySequence(Qt::Key_F11));
    m_fullScreenAction->setCheckable(true);
    connect(m_fullScreenAction, &QAction::toggled, this, [this](bool on) {
        setWindowState(on ? windowState() | Qt::WindowFullScreen : windowState() & ~Qt::WindowFullScreen);
    });

    m_themeGroup = new QActionGroup(this);
    m_themeGroup->setExclusive(true);
    for (Theme theme : {Theme::System, Theme::Light, Theme::Dark}) {
        QAction* action = m_themeGroup->addAction(specvla::widgets::themeDisplayName(theme));
        action->setCheckable(true);
        action->setData(specvla::widgets::themeKey(theme));
        connect(action, &QAction::triggered, this, [this, theme] { setTheme(theme); });
    }

    m_shortcutsAction = new QAction(tr("&Keyboard Shortcuts…"), this);
    m_shortcutsAction->setShortcut(QKeySequence(Qt::Key_F1));
    connect(m_shortcutsAction, &QAction::triggered, this, &MainWindow::showShortcuts);

    m_aboutAction = new QAction(tr("&About SpecVLA Workbench"), this);
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_openAction);
    file->addAction(m_openFolderAction);
    file->addSeparator();
    file->addAction(m_openModelAction);
    file->addAction(m_openDraftAction);
    file->addAction(m_openEpisodeAction);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentCheckpoints->attachMenu(m_recentMenu);
    addSessionMenus(file);  // main_window_session.cpp
    addDocumentMenus(file); // main_window_document.cpp: Save, Export, and the Edit menu
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    QAction* dockToggle = m_checkpointDock->toggleViewAction();
    dockToggle->setText(tr("&Checkpoint Panel"));
    view->addAction(dockToggle);
    view->addAction(m_checkpointDock->focusFilterAction());
    for (QDockWidget* d : std::as_const(m_decodeDocks))
        view->addAction(d->toggleViewAction());
    view->addSeparator();
    QMenu* themeMenu = view->addMenu(tr("&Theme"));
    themeMenu->addActions(m_themeGroup->actions());
    view->addSeparator();
    view->addAction(m_fullScreenAction);

    QMenu* playback = menuBar()->addMenu(tr("&Playback"));
    playback->addActions(m_decode->playbackActions());
    addActions(m_decode->playbackActions()); // window-wide shortcuts

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_shortcutsAction);
    help->addSeparator();
    help->addAction(m_aboutAction);
}

void MainWindow::createStatusBar() {
    m_statusLabel = new QLabel(tr("Ready"), this);
    m_statusLabel->setObjectName(QStringLiteral("StatusMessage"));
    m_statusLabel->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_statusLabel, 1);

    m_busy = new QProgressBar(this);
    m_busy->setObjectName(QStringLiteral("BusyIndicator"));
    m_busy->setRange(0, 0); // indeterminate: header reads have no meaningful percentage
    m_busy->setMaximumWidth(140);
    m_busy->setMaximumHeight(14);
    m_busy->setTextVisible(false);
    m_busy->hide();
    statusBar()->addPermanentWidget(m_busy);

    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("DecodeProgress"));
    m_progress->setMaximumWidth(160);
    m_progress->setMaximumHeight(14);
    statusBar()->addPermanentWidget(m_progress);
    m_cancelButton = new QToolButton(this);
    m_cancelButton->setObjectName(QStringLiteral("DecodeCancel"));
    m_cancelButton->setText(tr("Cancel"));
    statusBar()->addPermanentWidget(m_cancelButton);
}

void MainWindow::readSettings() {
    QSettings settings;
    if (!settings.isWritable()) {
        m_messageBar->showWarning(tr("The settings file %1 is not writable: recent files, theme and window "
                                     "layout will not be saved.")
                                      .arg(QDir::toNativeSeparators(settings.fileName())));
    }
    const auto theme = specvla::widgets::themeFromKey(settings.value(kThemeKey).toString());
    setTheme(theme.value_or(Theme::System), false);

    restoreGeometry(settings.value(kGeometryKey).toByteArray());
    if (settings.value(kStateVersionKey).toInt() == kStateVersion)
        restoreState(settings.value(kStateKey).toByteArray(), kStateVersion);
    updatePlaceholder();
}

void MainWindow::writeSettings() {
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState(kStateVersion));
    settings.setValue(kStateVersionKey, kStateVersion);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    writeSettings();
    event->accept();
}

void MainWindow::openCheckpoint(const QString& path) {
    m_checkpointDock->openCheckpoint(path);
}

bool MainWindow::isCheckpointPath(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return true;
    const QString name = info.fileName().toLower();
    return info.isFile() &&
           (name.endsWith(QLatin1String(".safetensors")) || name.endsWith(QLatin1String(".json")));
}

bool MainWindow::openUrls(const QList<QUrl>& urls) {
    if (urls.isEmpty()) return false;
    // Decoding inputs first: episodes and OpenVLA model folders; a folder with another config.json is
    // taken for a draft head. Anything else goes to the checkpoint inspector as before.
    bool opened = false;
    for (const QUrl& url : urls) {
        const QString path = url.isLocalFile() ? url.toLocalFile() : QString();
        if (path.isEmpty()) continue;
        if (isEpisodePath(path)) {
            openEpisode(path);
            opened = true;
        } else if (session::isSessionFile(path.toStdString())) {
            openSession(path);
            opened = true;
        } else if (isModelFolder(path)) {
            openModel(path);
            opened = true;
        } else if (QFileInfo(path).isDir() &&
                   QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")))) {
            openDraft(path);
            opened = true;
        }
    }
    if (opened) return true;
    for (const QUrl& url : urls) {
        if (url.isLocalFile() && isCheckpointPath(url.toLocalFile())) {
            openCheckpoint(url.toLocalFile()); // one checkpoint at a time: the first one wins
            return true;
        }
    }
    const QUrl& first = urls.first();
    if (!first.isLocalFile()) {
        m_messageBar->showError(
            tr("Cannot open %1: only local files and folders can be opened.").arg(first.toDisplayString()));
        return false;
    }
    const QString path = QDir::toNativeSeparators(first.toLocalFile());
    if (!QFileInfo::exists(first.toLocalFile())) {
        m_messageBar->showError(tr("Cannot open %1: no such file or folder.").arg(path));
        return false;
    }
    m_messageBar->showError(tr("Cannot open %1: not a checkpoint. Drop a .safetensors file, a "
                               ".safetensors.index.json file, or a folder holding a checkpoint.")
                                .arg(path));
    return false;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    // Accept every local file, not just checkpoints, so an unsupported drop gets an explanation on release.
    const QMimeData* mime = event->mimeData();
    if (mime && mime->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event) {
    if (event->mimeData() && event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (!mime || !mime->hasUrls()) return;
    event->acceptProposedAction();
    openUrls(mime->urls());
}

void MainWindow::showOpenCheckpointDialog() {
    QSettings settings;
    const QString dir = settings.value(kLastDirKey, QDir::homePath()).toString();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open Checkpoint"), dir,
        tr("Checkpoints (*.safetensors *.safetensors.index.json *.json);;All files (*)"));
    if (path.isEmpty()) return;
    settings.setValue(kLastDirKey, QFileInfo(path).absolutePath());
    openCheckpoint(path);
}

void MainWindow::showOpenFolderDialog() {
    QSettings settings;
    const QString dir = settings.value(kLastDirKey, QDir::homePath()).toString();
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open Checkpoint Folder"), dir);
    if (path.isEmpty()) return;
    settings.setValue(kLastDirKey, path);
    openCheckpoint(path);
}

void MainWindow::onLoadingStarted(const QString& path) {
    m_loadingPath = path;
    setBusy(true, tr("Opening %1…").arg(QDir::toNativeSeparators(path)));
}

void MainWindow::onLoaded(const QString& path, int tensorCount) {
    const CheckpointSummary& summary = m_checkpointDock->summary();
    const auto shards = summary.shardPaths.size();
    setBusy(false, tr("Opened %1: %2 tensor%3, %4 in %5 shard%6")
                       .arg(QFileInfo(path).fileName())
                       .arg(tensorCount)
                       .arg(QLatin1String(tensorCount == 1 ? "" : "s"))
                       .arg(TensorTableModel::formatBytes(summary.totalBytes))
                       .arg(shards)
                       .arg(QLatin1String(shards == 1 ? "" : "s")));
    m_recentCheckpoints->add(path);
    if (!summary.warnings.isEmpty()) {
        m_messageBar->showWarning(tr("Opened %1 with %2 warning%3: %4")
                                      .arg(QFileInfo(path).fileName())
                                      .arg(summary.warnings.size())
                                      .arg(QLatin1String(summary.warnings.size() == 1 ? "" : "s"))
                                      .arg(summary.warnings.join(QStringLiteral("; "))));
    } else {
        m_messageBar->dismiss(); // an error about an earlier attempt no longer applies
    }
    m_checkpointDock->show();
    m_checkpointDock->raise();
}

void MainWindow::onFailed(const QString& message) {
    setBusy(false, tr("Failed to open %1").arg(QFileInfo(m_loadingPath).fileName()));
    m_messageBar->showError(message);
}

void MainWindow::setBusy(bool busy, const QString& message) {
    m_busy->setVisible(busy);
    m_statusLabel->setText(message);
}

QStringList MainWindow::recentCheckpoints() const {
    return m_recentCheckpoints->paths();
}

void MainWindow::clearRecentCheckpoints() {
    m_recentCheckpoints->clear();
}

void MainWindow::updatePlaceholder() {
    const QStringList recent = recentCheckpoints();
    if (recent.isEmpty()) {
        m_placeholderRecent->clear();
        return;
    }
    QStringList links;
    for (int i = 0; i < recent.size() && i < 5; ++i) {
        const QFileInfo info(recent.at(i));
        const QString shown = info.dir().dirName() + QLatin1Char('/') + info.fileName();
        links << QStringLiteral("<a href=\"%1\">%2</a>").arg(i).arg(shown.toHtmlEscaped());
    }
    m_placeholderRecent->setText(tr("<p>Recent: %1</p>").arg(links.join(QStringLiteral(" &nbsp;·&nbsp; "))));
}

void MainWindow::setTheme(Theme theme, bool persist) {
    m_theme = theme;
    if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance()))
        specvla::widgets::applyApplicationPalette(*app, theme);
    for (QAction* action : m_themeGroup->actions())
        action->setChecked(action->data().toString() == specvla::widgets::themeKey(theme));
    if (persist) QSettings().setValue(kThemeKey, specvla::widgets::themeKey(theme));
}

QList<QPair<QString, QString>> MainWindow::shortcutList() const {
    QList<QPair<QString, QString>> list;
    QStringList seen;
    const QList<QAction*> actions = findChildren<QAction*>();
    for (const QAction* action : actions) {
        if (action->shortcut().isEmpty()) continue;
        const QString name = plainActionText(action);
        const QString keys = action->shortcut().toString(QKeySequence::NativeText);
        if (seen.contains(name + keys)) continue;
        seen << name + keys;
        list.append({name, keys});
    }
    return list;
}

void MainWindow::showShortcuts() {
    // Non-modal, so the sheet can stay open beside the window while the user tries the keys.
    if (m_shortcutsDialog) {
        m_shortcutsDialog->raise();
        m_shortcutsDialog->activateWindow();
        return;
    }
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Keyboard Shortcuts"));
    auto* layout = new QVBoxLayout(dialog);
    auto* tree = new QTreeWidget(dialog);
    tree->setColumnCount(2);
    tree->setHeaderLabels({tr("Action"), tr("Shortcut")});
    tree->setRootIsDecorated(false);
    tree->setAlternatingRowColors(true);
    for (const auto& [name, keys] : shortcutList())
        tree->addTopLevelItem(new QTreeWidgetItem({name, keys}));
    tree->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    tree->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    layout->addWidget(tree);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->resize(420, 320);
    m_shortcutsDialog = dialog;
    dialog->show();
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About SpecVLA Workbench"),
                       tr("<h3>SpecVLA Workbench %1</h3>"
                          "<p>Speculative decoding with relaxed acceptance for OpenVLA robot policies: draft "
                          "trees, accepted "
                          "runs, bin distances and latency, side by side with autoregressive decoding.</p>"
                          "<table>"
                          "<tr><td>SpecVLA</td><td>%1</td></tr>"
                          "<tr><td>libtorch</td><td>%2</td></tr>"
                          "<tr><td>Qt</td><td>%3 (built with %4)</td></tr>"
                          "<tr><td>CUDA path</td><td>%5</td></tr>"
                          "</table>")
                           .arg(QString::fromLatin1(specvla::specvlaVersion()),
                                QString::fromStdString(specvla::torchVersion()),
                                QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR),
                                specvla::cudaCompiledIn() ? tr("compiled in") : tr("not compiled in")));
}

} // namespace specvla::app
