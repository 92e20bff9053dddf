// SPDX-License-Identifier: MIT
// Qt Test suite for the workbench window and its checkpoint inspector, driven through the real MainWindow
// on tiny checkpoints written in the Hugging Face safetensors layouts (single file and sharded).
#include "gui/checkpoint_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/main_window.h"
#include "gui/recent_files.h"
#include "gui/relocate_dialog.h"
#include "gui/tensor_table_model.h"
#include "io/safetensors_writer.h"
#include "message_bar.h"
#include "support/test_support.h"
#include "support/tiny_model.h"
#include "theme.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QHash>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <array>
#include <cstdint>
#include <vector>

using specvla::app::CheckpointDock;
using specvla::app::MainWindow;
using specvla::app::TensorTableModel;
using specvla::io::DType;

namespace {

constexpr int kWaitMs = 20000;

// Four tensors with the key names of a Llama decoder, in three dtypes; 48 + 48 + 8 + 12 bytes.
specvla::io::SafetensorsWriter tinyCheckpoint() {
    specvla::io::SafetensorsWriter writer;
    std::vector<float> embed(12);
    for (int i = 0; i < 12; ++i)
        embed[i] = 0.5f * i;
    std::vector<float> head(12, 1.0f);
    std::array<std::uint16_t, 4> q{0x3f80, 0x4000, 0x4040, 0x4080}; // bf16 1, 2, 3, 4
    std::array<std::uint16_t, 6> up{0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600};
    writer.add("model.embed_tokens.weight", DType::F32, {4, 3}, embed.data(), embed.size() * sizeof(float));
    writer.add("lm_head.weight", DType::F32, {4, 3}, head.data(), head.size() * sizeof(float));
    writer.add("model.layers.0.self_attn.q_proj.weight", DType::BF16, {2, 2}, q.data(), sizeof(q));
    writer.add("model.layers.1.mlp.up_proj.weight", DType::F16, {2, 3}, up.data(), sizeof(up));
    return writer;
}

QString writeFile(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return {};
    file.write(bytes);
    return path;
}

QString cell(const CheckpointDock* dock, int row, int column) {
    return dock->proxyModel()->index(row, column).data(Qt::DisplayRole).toString();
}

// Drops URLs onto the window as a drag-and-drop would; returns whether the enter event was accepted.
bool dropUrls(MainWindow& window, const QList<QUrl>& urls) {
    QMimeData mime;
    mime.setUrls(urls);
    QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enter);
    QDropEvent drop(QPointF(20, 20), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &drop);
    return enter.isAccepted();
}

QAction* themeAction(MainWindow& window, const QString& key) {
    for (QAction* action : window.findChildren<QAction*>())
        if (action->isCheckable() && action->data().toString() == key) return action;
    return nullptr;
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();

    void formatsBytes();
    void tableModelRoles();
    void opensSingleFile();
    void opensShardedDirectory();
    void opensShardIndexJson();
    void corruptFileReportsErrorAndWindowStaysUsable();
    void headerPastEndFails();
    void everyCorruptFileFailsCleanly();
    void missingPathFails();
    void newestRequestWins();
    void recentListIsDeduplicatedAndPruned();
    void recentMenuOpensAndClears();
    void recentDecodeInputs();
    void dropOfSessionOpensIt();
    void dropOfUnsupportedFileExplains();
    void dropOfCheckpointOpensIt();
    void filterNarrowsTable();
    void sortsByRawBytes();
    void themeIsPersisted();
    void layoutIsSavedAndRestored();
    void shortcutsAreListed();

private:
    QString singleFile();
    QString shardedDir();
    bool waitLoaded(MainWindow& window, const QString& path, int expectedRows);

    QTemporaryDir m_dir;
    QTemporaryDir m_settingsDir;
    QString m_single;
    QString m_sharded;
};

void TestMainWindow::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY(m_settingsDir.isValid());
    // Never read or write the user's own settings.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("SpecVLA"));
    QCoreApplication::setApplicationName(QStringLiteral("SpecVLA Workbench Test"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QVERIFY(QSettings().fileName().startsWith(m_settingsDir.path()));
}

void TestMainWindow::init() {
    QSettings().clear();
}

void TestMainWindow::cleanupTestCase() {
    if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance()))
        specvla::widgets::applyApplicationPalette(*app, specvla::widgets::Theme::Light);
}

QString TestMainWindow::singleFile() {
    if (m_single.isEmpty()) {
        m_single = m_dir.filePath(QStringLiteral("model.safetensors"));
        tinyCheckpoint().writeFile(m_single.toStdString());
    }
    return m_single;
}

QString TestMainWindow::shardedDir() {
    if (m_sharded.isEmpty()) {
        m_sharded = m_dir.filePath(QStringLiteral("sharded"));
        QDir().mkpath(m_sharded);
        const auto shards = tinyCheckpoint().writeSharded(m_sharded.toStdString(), 50);
        if (shards.size() < 2) qWarning("expected several shards, got %d", int(shards.size()));
    }
    return m_sharded;
}

bool TestMainWindow::waitLoaded(MainWindow& window, const QString& path, int expectedRows) {
    // Returns false (with the reason logged) instead of failing inside the helper, so callers can QVERIFY
    // it and stop at the first problem.
    QSignalSpy loaded(window.checkpointDock(), &CheckpointDock::loaded);
    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    window.openCheckpoint(path);
    if (!QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, kWaitMs)) {
        qWarning("timed out opening %s", qPrintable(path));
        return false;
    }
    if (!failed.isEmpty()) {
        qWarning("failed: %s", qPrintable(failed.first().first().toString()));
        return false;
    }
    const int rows = window.checkpointDock()->model()->rowCount();
    if (loaded.count() != 1 || loaded.first().at(0).toString() != path ||
        loaded.first().at(1).toInt() != expectedRows || rows != expectedRows) {
        qWarning("unexpected load of %s: %d rows", qPrintable(path), rows);
        return false;
    }
    return true;
}

void TestMainWindow::formatsBytes() {
    QCOMPARE(TensorTableModel::shardLabel(QStringLiteral("model-00001-of-00003.safetensors")),
             QStringLiteral("model-00001-of-00003"));
    QCOMPARE(TensorTableModel::shardLabel(QStringLiteral(".safetensors")), QStringLiteral(".safetensors"));
    QCOMPARE(TensorTableModel::formatBytes(0), QStringLiteral("0 B"));
    QCOMPARE(TensorTableModel::formatBytes(1023), QStringLiteral("1023 B"));
    QCOMPARE(TensorTableModel::formatBytes(1536), QStringLiteral("1.50 KiB"));
    QCOMPARE(TensorTableModel::formatBytes(45ull << 20), QStringLiteral("45.0 MiB"));
    QCOMPARE(TensorTableModel::formatBytes(15ull << 30), QStringLiteral("15.0 GiB"));
    QCOMPARE(TensorTableModel::formatBytes(300ull << 30), QStringLiteral("300 GiB"));
}

void TestMainWindow::tableModelRoles() {
    TensorTableModel model;
    specvla::app::TensorRow row;
    row.name = QStringLiteral("lm_head.weight");
    row.dtype = QStringLiteral("BF16");
    row.shape = QStringLiteral("[32000, 4096]");
    row.numel = 32000ll * 4096;
    row.bytes = 32000ull * 4096 * 2; // exactly 250 MiB
    row.shard = 2;
    row.shardName = QStringLiteral("model-00003-of-00003.safetensors");
    row.shardPath = QStringLiteral("/ckpt/model-00003-of-00003.safetensors");
    model.setTensors({row});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.columnCount(), int(TensorTableModel::ColumnCount));
    QCOMPARE(model.headerData(TensorTableModel::BytesColumn, Qt::Horizontal).toString(),
             QStringLiteral("Bytes"));
    const auto at = [&](int column, int role) { return model.index(0, column).data(role); };
    QCOMPARE(at(TensorTableModel::BytesColumn, Qt::DisplayRole).toString(), QStringLiteral("250 MiB"));
    QCOMPARE(at(TensorTableModel::BytesColumn, Qt::UserRole).toULongLong(), row.bytes);
    QCOMPARE(at(TensorTableModel::ShapeColumn, Qt::UserRole).toLongLong(), row.numel);
    QCOMPARE(at(TensorTableModel::ShardColumn, Qt::DisplayRole).toString(),
             QStringLiteral("model-00003-of-00003"));
    QCOMPARE(at(TensorTableModel::ShardColumn, Qt::ToolTipRole).toString(), row.shardPath);
    QCOMPARE(at(TensorTableModel::ShardColumn, Qt::UserRole).toInt(), 2);
    QVERIFY(!model.index(1, 0).data().isValid());
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void TestMainWindow::opensSingleFile() {
    MainWindow window;
    window.show();
    const QString path = singleFile();
    QSignalSpy started(window.checkpointDock(), &CheckpointDock::loadingStarted);
    QVERIFY(waitLoaded(window, path, 4));
    QCOMPARE(started.count(), 1);
    QVERIFY(!window.busyIndicator()->isVisible());

    CheckpointDock* dock = window.checkpointDock();
    // Sorted by name: lm_head first.
    QCOMPARE(cell(dock, 0, TensorTableModel::NameColumn), QStringLiteral("lm_head.weight"));
    QCOMPARE(cell(dock, 0, TensorTableModel::DTypeColumn), QStringLiteral("F32"));
    QCOMPARE(cell(dock, 0, TensorTableModel::ShapeColumn), QStringLiteral("[4, 3]"));
    QCOMPARE(cell(dock, 0, TensorTableModel::BytesColumn), QStringLiteral("48 B"));
    QCOMPARE(cell(dock, 0, TensorTableModel::ShardColumn), QStringLiteral("model"));
    const QString shardTip =
        dock->proxyModel()->index(0, TensorTableModel::ShardColumn).data(Qt::ToolTipRole).toString();
    QCOMPARE(QFileInfo(shardTip).canonicalFilePath(), QFileInfo(path).canonicalFilePath());
    QCOMPARE(cell(dock, 2, TensorTableModel::NameColumn),
             QStringLiteral("model.layers.0.self_attn.q_proj.weight"));
    QCOMPARE(cell(dock, 2, TensorTableModel::DTypeColumn), QStringLiteral("BF16"));

    QCOMPARE(dock->summary().totalBytes, quint64(48 + 48 + 8 + 12));
    QCOMPARE(dock->summary().shardPaths.size(), 1);
    const QString summary = dock->summaryLabel()->text();
    QVERIFY2(summary.contains(QStringLiteral("4 tensors")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("1 shard")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("0 warnings")), qPrintable(summary));
    QVERIFY(!window.messageBar()->isVisible());
    QVERIFY(window.statusLabel()->text().contains(QStringLiteral("model.safetensors")));
}

void TestMainWindow::opensShardedDirectory() {
    MainWindow window;
    window.show();
    const QString dir = shardedDir();
    QVERIFY(waitLoaded(window, dir, 4));
    CheckpointDock* dock = window.checkpointDock();
    const int shards = dock->summary().shardPaths.size();
    QVERIFY2(shards >= 2, qPrintable(QString::number(shards)));
    QVERIFY(!dock->summary().indexPath.isEmpty());
    QVERIFY(dock->summaryLabel()->text().contains(QStringLiteral("%1 shards").arg(shards)));

    QSet<QString> shardNames;
    for (int row = 0; row < 4; ++row) {
        const QString shard = cell(dock, row, TensorTableModel::ShardColumn);
        QVERIFY2(QRegularExpression(QStringLiteral("^model-0000\\d-of-0000\\d$")).match(shard).hasMatch(),
                 qPrintable(shard));
        shardNames.insert(shard);
    }
    QCOMPARE(shardNames.size(), shards);
    QCOMPARE(cell(dock, 0, TensorTableModel::NameColumn), QStringLiteral("lm_head.weight"));
}

void TestMainWindow::opensShardIndexJson() {
    MainWindow window;
    const QString index = QDir(shardedDir()).filePath(QStringLiteral("model.safetensors.index.json"));
    QVERIFY(QFileInfo::exists(index));
    QVERIFY(MainWindow::isCheckpointPath(index));
    QVERIFY(waitLoaded(window, index, 4));
}

void TestMainWindow::corruptFileReportsErrorAndWindowStaysUsable() {
    MainWindow window;
    window.show();
    const QString broken = writeFile(m_dir.filePath(QStringLiteral("broken.safetensors")),
                                     QByteArray("\x13\x37\xca\xfe\x01", 5));
    QVERIFY(!broken.isEmpty());

    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    QSignalSpy loaded(window.checkpointDock(), &CheckpointDock::loaded);
    window.openCheckpoint(broken);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWaitMs);
    QCOMPARE(loaded.count(), 0);
    QVERIFY(failed.first().first().toString().contains(QStringLiteral("broken.safetensors")));
    QVERIFY(window.messageBar()->isVisible());
    QCOMPARE(window.messageBar()->level(), specvla::widgets::MessageBar::Level::Error);
    QVERIFY2(window.messageBar()->text().contains(QStringLiteral("broken.safetensors")),
             qPrintable(window.messageBar()->text()));
    QVERIFY(!window.busyIndicator()->isVisible());
    QVERIFY(window.recentCheckpoints().isEmpty()); // failures are not remembered

    // Still usable: the next good file opens and the stale error goes away.
    QVERIFY(waitLoaded(window, singleFile(), 4));
    QVERIFY(!window.messageBar()->isVisible());
}

void TestMainWindow::headerPastEndFails() {
    MainWindow window;
    window.show();
    QByteArray bytes(8, '\0');
    const quint64 headerLength = 1000000; // far past the 10-byte file
    for (int i = 0; i < 8; ++i)
        bytes[i] = char((headerLength >> (8 * i)) & 0xff);
    bytes += "{}";
    const QString path = writeFile(m_dir.filePath(QStringLiteral("toolong.safetensors")), bytes);

    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    window.openCheckpoint(path);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWaitMs);
    QVERIFY(window.messageBar()->isVisible());
    QVERIFY(window.messageBar()->text().contains(QStringLiteral("toolong.safetensors")));
    QCOMPARE(window.checkpointDock()->model()->rowCount(), 0);
}

void TestMainWindow::everyCorruptFileFailsCleanly() {
    // One window through every malformed file the readers know: each one is reported with the file's name
    // and core's reason, nothing is thrown into Qt, and a good file still opens at the end.
    MainWindow window;
    window.show();
    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    int expectedFailures = 0;
    for (const auto& c : specvla::testing::corruptSafetensorsCases()) {
        const QString name = QString::fromStdString(c.name) + QStringLiteral(".safetensors");
        const QString path = m_dir.filePath(name);
        specvla::testing::writeBytes(path.toStdString(), c.bytes);
        window.openCheckpoint(path);
        ++expectedFailures;
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), expectedFailures, kWaitMs);
        const QString text = window.messageBar()->text();
        QVERIFY2(window.messageBar()->isVisible(), qPrintable(name));
        QVERIFY2(text.contains(name), qPrintable(text));
        QVERIFY2(text.contains(QString::fromStdString(c.expected)), qPrintable(text));
    }
    QVERIFY(waitLoaded(window, singleFile(), 4));
}

void TestMainWindow::missingPathFails() {
    MainWindow window;
    window.show();
    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    window.openCheckpoint(m_dir.filePath(QStringLiteral("nowhere.safetensors")));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWaitMs);
    QVERIFY(window.messageBar()->text().contains(QStringLiteral("nowhere.safetensors")));

    // A previously opened checkpoint stays on screen after a failed open.
    QVERIFY(waitLoaded(window, singleFile(), 4));
    window.openCheckpoint(m_dir.filePath(QStringLiteral("nowhere.safetensors")));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, kWaitMs);
    QCOMPARE(window.checkpointDock()->model()->rowCount(), 4);
}

void TestMainWindow::newestRequestWins() {
    MainWindow window;
    const QString broken =
        writeFile(m_dir.filePath(QStringLiteral("superseded.safetensors")), QByteArray("junk!"));
    QSignalSpy failed(window.checkpointDock(), &CheckpointDock::failed);
    QSignalSpy loaded(window.checkpointDock(), &CheckpointDock::loaded);
    window.openCheckpoint(broken);
    window.openCheckpoint(singleFile());
    QVERIFY(window.checkpointDock()->isLoading());
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);
    QTest::qWait(100); // give the superseded result time to arrive, were it not dropped
    QCOMPARE(failed.count(), 0);
    QCOMPARE(loaded.first().first().toString(), singleFile());
    QVERIFY(!window.checkpointDock()->isLoading());
}

void TestMainWindow::recentListIsDeduplicatedAndPruned() {
    MainWindow window;
    const QString a = QDir::cleanPath(singleFile());
    const QString b = QDir::cleanPath(shardedDir());
    QVERIFY(waitLoaded(window, a, 4));
    QVERIFY(waitLoaded(window, b, 4));
    QVERIFY(waitLoaded(window, b + QLatin1Char('/'), 4)); // same folder, other spelling
    QVERIFY(waitLoaded(window, a, 4));
    QCOMPARE(window.recentCheckpoints(), QStringList({a, b}));
    QCOMPARE(QSettings().value(QStringLiteral("recent/checkpoints")).toStringList(), QStringList({a, b}));

    // Paths that vanished are dropped; the list is capped at kMaxRecent, most recent first.
    QStringList stored{m_dir.filePath(QStringLiteral("gone.safetensors"))};
    QStringList expected;
    for (int i = 0; i < 12; ++i) {
        const QString path = m_dir.filePath(QStringLiteral("r%1.safetensors").arg(i));
        writeFile(path, "x");
        stored << path << path;
        if (expected.size() < MainWindow::kMaxRecent) expected << path;
    }
    QSettings().setValue(QStringLiteral("recent/checkpoints"), stored);
    QCOMPARE(window.recentCheckpoints(), expected);

    // Opening one more puts it first and keeps the cap.
    QVERIFY(waitLoaded(window, a, 4));
    const QStringList now = window.recentCheckpoints();
    QCOMPARE(now.size(), MainWindow::kMaxRecent);
    QCOMPARE(now.first(), a);
    QCOMPARE(now.mid(1), expected.mid(0, MainWindow::kMaxRecent - 1));
}

void TestMainWindow::recentMenuOpensAndClears() {
    MainWindow window;
    QVERIFY(waitLoaded(window, singleFile(), 4));
    QMenu* menu = window.recentMenu();
    QVERIFY(menu);
    QAction* entry = nullptr;
    for (QAction* action : menu->actions())
        if (action->data().toString() == QDir::cleanPath(singleFile())) entry = action;
    QVERIFY(entry);
    QVERIFY(entry->text().contains(QStringLiteral("model.safetensors")));

    QSignalSpy loaded(window.checkpointDock(), &CheckpointDock::loaded);
    entry->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);

    // The welcome page links to it as well.
    auto* welcome = window.findChild<QLabel*>(QStringLiteral("WelcomeRecent"));
    QVERIFY(welcome);
    QVERIFY(welcome->text().contains(QStringLiteral("model.safetensors")));

    window.clearRecentCheckpoints();
    QVERIFY(window.recentCheckpoints().isEmpty());
    QVERIFY(QSettings().value(QStringLiteral("recent/checkpoints")).toStringList().isEmpty());
    for (QAction* action : menu->actions())
        QVERIFY(action->data().toString().isEmpty());
    QVERIFY(welcome->text().isEmpty());
}

// Models, draft heads and episodes: remembered once they opened (here through the window's methods and a
// drop, the paths the dialogs and the command line take too), listed in their File submenus, capped, pruned
// of vanished paths, reopened from the menu, and cleared.
void TestMainWindow::recentDecodeInputs() {
    using specvla::app::DecodeController;
    using specvla::app::RecentFiles;
    const QString model = m_dir.filePath(QStringLiteral("recent_model"));
    const QString draft = m_dir.filePath(QStringLiteral("recent_draft"));
    const QString episode = m_dir.filePath(QStringLiteral("recent_episode.hdf5"));
    const auto config = specvla::testing::writeTinyModel(model.toStdString());
    specvla::testing::writeTinyDraft(draft.toStdString(), config);
    specvla::testing::writeSyntheticEpisode(episode.toStdString(),
                                            specvla::testing::tinyInstructions().front(), 2);

    MainWindow window;
    window.show();
    DecodeController* c = window.decodeController();
    c->views().controls->setUnnormKey(QStringLiteral("tiny_dataset"));
    c->views().controls->setDtype(QStringLiteral("fp32"));
    QVERIFY(c->views().controls->setDevice(QStringLiteral("cpu")));
    QVERIFY(window.recentModels()->paths().isEmpty());

    window.openDraft(draft + QLatin1Char('/')); // another spelling of the same folder
    window.openModel(model);
    QTRY_VERIFY_WITH_TIMEOUT(c->modelReady(), kWaitMs);
    QCOMPARE(window.recentModels()->paths(), QStringList({QDir::cleanPath(model)}));
    QCOMPARE(window.recentDrafts()->paths(), QStringList({QDir::cleanPath(draft)}));
    QCOMPARE(QSettings().value(QStringLiteral("recent/models")).toStringList(),
             QStringList({QDir::cleanPath(model)}));
    QVERIFY(dropUrls(window, {QUrl::fromLocalFile(episode)}));
    QTRY_COMPARE_WITH_TIMEOUT(window.recentEpisodes()->paths(), QStringList({QDir::cleanPath(episode)}),
                              kWaitMs);

    // The File menu's submenus list them, with a Clear entry.
    auto* modelsMenu = window.findChild<QMenu*>(QStringLiteral("RecentModelsMenu"));
    auto* draftsMenu = window.findChild<QMenu*>(QStringLiteral("RecentDraftsMenu"));
    auto* episodesMenu = window.findChild<QMenu*>(QStringLiteral("RecentEpisodesMenu"));
    QVERIFY(modelsMenu && draftsMenu && episodesMenu);
    auto entry = [](QMenu* menu, const QString& path) -> QAction* {
        for (QAction* a : menu->actions())
            if (a->data().toString() == QDir::cleanPath(path)) return a;
        return nullptr;
    };
    QVERIFY(entry(modelsMenu, model));
    QVERIFY(entry(draftsMenu, draft));
    QVERIFY(entry(episodesMenu, episode));
    QVERIFY(modelsMenu->actions().contains(window.recentModels()->clearAction()));
    QVERIFY(window.recentModels()->clearAction()->isEnabled());

    // Capped at kMaxRecent, deduplicated, vanished paths dropped.
    QStringList stored{m_dir.filePath(QStringLiteral("gone.hdf5"))};
    QStringList expected;
    for (int i = 0; i < 12; ++i) {
        const QString path = m_dir.filePath(QStringLiteral("e%1.hdf5").arg(i));
        writeFile(path, "x");
        stored << path << path;
        if (expected.size() < MainWindow::kMaxRecent) expected << path;
    }
    QSettings().setValue(QStringLiteral("recent/episodes"), stored);
    QCOMPARE(window.recentEpisodes()->paths(), expected);
    window.recentEpisodes()->add(episode);
    QCOMPARE(window.recentEpisodes()->paths().size(), MainWindow::kMaxRecent);
    QCOMPARE(window.recentEpisodes()->paths().first(), QDir::cleanPath(episode));

    // Choosing an entry whose file vanished explains it and prunes it.
    QAction* stale = entry(episodesMenu, expected.first());
    QVERIFY(stale);
    QVERIFY(QFile::remove(expected.first()));
    stale->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(window.messageBar()->isVisible(), kWaitMs);
    QVERIFY(window.messageBar()->text().contains(QDir::toNativeSeparators(expected.first())));
    QVERIFY(!window.recentEpisodes()->paths().contains(expected.first()));

    // Choosing a live entry opens it.
    QSignalSpy ready(c, &DecodeController::modelReadyChanged);
    entry(modelsMenu, model)->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(ready.count() >= 2 && ready.last().at(0).toBool(), kWaitMs);

    // Clear empties the list, the settings and the menu.
    window.recentModels()->clearAction()->trigger();
    QVERIFY(window.recentModels()->paths().isEmpty());
    QVERIFY(QSettings().value(QStringLiteral("recent/models")).toStringList().isEmpty());
    QVERIFY(!entry(modelsMenu, model));
    QVERIFY(!window.recentModels()->clearAction()->isEnabled());
    QCOMPARE(window.recentDrafts()->paths().size(), 1); // the other lists are untouched
}

// A dropped session file is opened as a session (not taken for a checkpoint's .json); this one names a
// model that is gone, which the message bar says.
void TestMainWindow::dropOfSessionOpensIt() {
    MainWindow window;
    window.show();
    const QString file = writeFile(m_dir.filePath(QStringLiteral("drop.specvla.json")),
                                   R"({"format": "specvla-session", "version": 1, "model": "gone_model",
                                       "draft": null, "episodes": "gone.hdf5", "unnorm_key": null,
                                       "settings": {"mode": "relaxed", "margin": 3, "margins_per_dim": null,
                                                    "top_k": 8, "depth": 4, "total_tokens": 50},
                                       "view": {"step": 0}})");
    QVERIFY(!file.isEmpty());
    // The session's inputs are gone, so the relocation dialog comes up; cancelling it opens nothing.
    int dialogRows = -1;
    QTimer::singleShot(0, &window, [&dialogRows] {
        auto* dialog = qobject_cast<specvla::app::RelocateDialog*>(QApplication::activeModalWidget());
        if (!dialog) return;
        dialogRows = dialog->rowCount();
        dialog->reject();
    });
    QVERIFY(dropUrls(window, {QUrl::fromLocalFile(file)}));
    QCOMPARE(dialogRows, 2); // the model folder and the episode file
    QVERIFY(window.messageBar()->isVisible());
    QVERIFY2(window.messageBar()->text().contains(
                 QDir::toNativeSeparators(m_dir.filePath(QStringLiteral("gone_model")))),
             qPrintable(window.messageBar()->text()));
    QVERIFY(!window.checkpointDock()->isLoading());
}

void TestMainWindow::dropOfUnsupportedFileExplains() {
    MainWindow window;
    window.show();
    const QString notes = writeFile(m_dir.filePath(QStringLiteral("notes.txt")), "hello");
    QSignalSpy started(window.checkpointDock(), &CheckpointDock::loadingStarted);
    QVERIFY(dropUrls(window, {QUrl::fromLocalFile(notes)}));
    QVERIFY(window.messageBar()->isVisible());
    const QString text = window.messageBar()->text();
    QVERIFY2(text.contains(QStringLiteral("notes.txt")) && text.contains(QStringLiteral("not a checkpoint")),
             qPrintable(text));
    QCOMPARE(started.count(), 0);

    QVERIFY(!window.openUrls({QUrl(QStringLiteral("https://example.org/model.safetensors"))}));
    QVERIFY(window.messageBar()->text().contains(QStringLiteral("only local files")));
    QVERIFY(!window.openUrls({QUrl::fromLocalFile(m_dir.filePath(QStringLiteral("absent.safetensors")))}));
    QVERIFY(window.messageBar()->text().contains(QStringLiteral("no such file")));
    QVERIFY(!window.openUrls({}));
}

void TestMainWindow::dropOfCheckpointOpensIt() {
    MainWindow window;
    window.show();
    const QString notes = writeFile(m_dir.filePath(QStringLiteral("readme.md")), "# hi");
    QSignalSpy loaded(window.checkpointDock(), &CheckpointDock::loaded);
    // The first checkpoint among the dropped items is opened.
    QVERIFY(dropUrls(window, {QUrl::fromLocalFile(notes), QUrl::fromLocalFile(shardedDir())}));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);
    QCOMPARE(loaded.first().at(1).toInt(), 4);
    QVERIFY(!window.messageBar()->isVisible());
}

void TestMainWindow::filterNarrowsTable() {
    MainWindow window;
    QVERIFY(waitLoaded(window, singleFile(), 4));
    CheckpointDock* dock = window.checkpointDock();
    dock->setFilterText(QStringLiteral("layers"));
    QCOMPARE(dock->proxyModel()->rowCount(), 2);
    QVERIFY2(dock->summaryLabel()->text().contains(QStringLiteral("2 of 4 tensors")),
             qPrintable(dock->summaryLabel()->text()));
    QCOMPARE(cell(dock, 0, TensorTableModel::NameColumn),
             QStringLiteral("model.layers.0.self_attn.q_proj.weight"));

    QTest::keyClicks(dock->filterEdit(), QStringLiteral(".1.")); // "layers.1."
    QCOMPARE(dock->filterEdit()->text(), QStringLiteral("layers.1."));
    QCOMPARE(dock->proxyModel()->rowCount(), 1);

    dock->setFilterText(QStringLiteral("LM_HEAD")); // case-insensitive
    QCOMPARE(dock->proxyModel()->rowCount(), 1);
    dock->setFilterText(QStringLiteral("no such tensor"));
    QCOMPARE(dock->proxyModel()->rowCount(), 0);
    dock->setFilterText(QString());
    QCOMPARE(dock->proxyModel()->rowCount(), 4);
    QVERIFY(dock->summaryLabel()->text().contains(QStringLiteral("4 tensors")));
}

void TestMainWindow::sortsByRawBytes() {
    MainWindow window;
    QVERIFY(waitLoaded(window, singleFile(), 4));
    CheckpointDock* dock = window.checkpointDock();
    dock->proxyModel()->sort(TensorTableModel::BytesColumn, Qt::AscendingOrder);
    QCOMPARE(cell(dock, 0, TensorTableModel::BytesColumn), QStringLiteral("8 B"));
    QCOMPARE(cell(dock, 1, TensorTableModel::BytesColumn), QStringLiteral("12 B")); // "12 B" < "8 B" as text
    dock->proxyModel()->sort(TensorTableModel::ShapeColumn, Qt::DescendingOrder);
    QCOMPARE(cell(dock, 0, TensorTableModel::ShapeColumn), QStringLiteral("[4, 3]"));
    QCOMPARE(cell(dock, 3, TensorTableModel::ShapeColumn), QStringLiteral("[2, 2]"));
}

void TestMainWindow::themeIsPersisted() {
    {
        MainWindow window;
        QAction* dark = themeAction(window, QStringLiteral("dark"));
        QVERIFY(dark);
        dark->trigger();
        QVERIFY(dark->isChecked());
        QCOMPARE(window.theme(), specvla::widgets::Theme::Dark);
        QVERIFY(specvla::widgets::isDark(QApplication::palette()));
        QCOMPARE(QSettings().value(QStringLiteral("ui/theme")).toString(), QStringLiteral("dark"));
    }
    {
        MainWindow window; // reads the preference back
        QCOMPARE(window.theme(), specvla::widgets::Theme::Dark);
        QVERIFY(themeAction(window, QStringLiteral("dark"))->isChecked());
        window.setTheme(specvla::widgets::Theme::Light, false); // not persisted
        QVERIFY(!specvla::widgets::isDark(QApplication::palette()));
        QCOMPARE(QSettings().value(QStringLiteral("ui/theme")).toString(), QStringLiteral("dark"));
        themeAction(window, QStringLiteral("light"))->trigger();
        QCOMPARE(QSettings().value(QStringLiteral("ui/theme")).toString(), QStringLiteral("light"));
    }
}

void TestMainWindow::layoutIsSavedAndRestored() {
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.checkpointDock()->isVisible());
        window.checkpointDock()->hide();
        window.close();
    }
    QSettings settings;
    QVERIFY(settings.contains(QStringLiteral("mainWindow/geometry")));
    QVERIFY(settings.contains(QStringLiteral("mainWindow/state")));
    QCOMPARE(settings.value(QStringLiteral("mainWindow/stateVersion")).toInt(), MainWindow::kStateVersion);
    {
        MainWindow window;
        window.show();
        QVERIFY(!window.checkpointDock()->isVisible()); // restored
        window.checkpointDock()->toggleViewAction()->trigger();
        QVERIFY(window.checkpointDock()->isVisible());
        window.close();
    }
    // A layout saved by another state version is ignored rather than half applied.
    {
        QSettings s;
        s.setValue(QStringLiteral("mainWindow/stateVersion"), MainWindow::kStateVersion + 100);
    }
    MainWindow window;
    window.show();
    QVERIFY(window.checkpointDock()->isVisible());
    QVERIFY(window.width() <= 1280 && window.height() <= 800);
}

void TestMainWindow::shortcutsAreListed() {
    MainWindow window;
    const auto list = window.shortcutList();
    const auto has = [&](const QString& name, const QKeySequence& keys) {
        for (const auto& entry : list)
            if (entry.first == name && entry.second == keys.toString(QKeySequence::NativeText)) return true;
        return false;
    };
    QVERIFY(has(QStringLiteral("Open Checkpoint"), QKeySequence(Qt::CTRL | Qt::Key_O)));
    QVERIFY(has(QStringLiteral("Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q)));
    QVERIFY(has(QStringLiteral("Keyboard Shortcuts"), QKeySequence(Qt::Key_F1)));
    QVERIFY(has(QStringLiteral("Filter Tensors"), QKeySequence(QKeySequence::Find)));
    QVERIFY(has(QStringLiteral("Save Session"), QKeySequence(QKeySequence::Save)));
    QVERIFY(has(QStringLiteral("Add Bookmark"), QKeySequence(Qt::CTRL | Qt::Key_B)));
    QVERIFY(has(QStringLiteral("Export Dashboard"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E)));
    // No key does two things (Qt would run neither: an ambiguous shortcut).
    QHash<QString, QString> owner;
    for (const auto& entry : list) {
        const QString other = owner.value(entry.second, entry.first);
        QVERIFY2(other == entry.first,
                 qPrintable(QStringLiteral("%1: %2 and %3").arg(entry.second, other, entry.first)));
        owner.insert(entry.second, entry.first);
    }

    window.showShortcuts();
    auto* dialog = window.findChild<QDialog*>();
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    QVERIFY(!dialog->isModal());
    dialog->close();
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
