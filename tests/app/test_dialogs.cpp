// SPDX-License-Identifier: MIT
// Preferences (QSettings, validated), the dialog that relocates a session's missing inputs, and session
// autosave with crash recovery (app/gui).
#include "gui/autosave.h"
#include "gui/preferences.h"
#include "gui/relocate_dialog.h"
#include "session/session_file.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <optional>

using specvla::app::Autosave;
using specvla::app::MissingInput;
using specvla::app::Preferences;
using specvla::app::PreferencesDialog;
using specvla::app::RelocateDialog;
using specvla::widgets::Theme;
namespace session = specvla::session;

namespace {

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    f.write(bytes);
}

bool contains(const QList<Autosave::Recoverable>& list, const QString& path) {
    for (const Autosave::Recoverable& r : list)
        if (r.autosavePath == path) return true;
    return false;
}

std::optional<Autosave::Recoverable> find(const QList<Autosave::Recoverable>& list, const QString& path) {
    for (const Autosave::Recoverable& r : list)
        if (r.autosavePath == path) return r;
    return std::nullopt;
}

} // namespace

class TestDialogs : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    int m_dirCount = 0;

    QString path(const QString& rel) const { return m_tmp.filePath(rel); }

    // A fresh, empty folder under the temporary directory.
    QString freshDir(const QString& name) {
        const QString dir = path(QStringLiteral("%1-%2").arg(name).arg(++m_dirCount));
        QDir().mkpath(dir);
        return dir;
    }

    // A session whose inputs exist under root.
    session::Session makeSession(const QString& root) {
        QDir().mkpath(root + QStringLiteral("/models/vla"));
        QDir().mkpath(root + QStringLiteral("/models/draft"));
        QDir().mkpath(root + QStringLiteral("/data"));
        writeFile(root + QStringLiteral("/data/ep.hdf5"), "hdf5");
        session::Session s;
        s.model = (root + QStringLiteral("/models/vla")).toStdString();
        s.draft = (root + QStringLiteral("/models/draft")).toStdString();
        s.episodes = (root + QStringLiteral("/data/ep.hdf5")).toStdString();
        s.unnormKey = "libero_spatial";
        s.settings.mode = specvla::decode::DecodeMode::Relaxed;
        s.settings.margin = 5;
        s.settings.tree.topK = 6;
        s.step = 12;
        s.round = 1;
        s.dimension = 3;
        session::setBookmark(s.bookmarks, {10, "release"});
        session::setBookmark(s.bookmarks, {3, "grasp"});
        s.notes = "autosave test";
        return s;
    }

    static QPushButton* okButton(QDialog& d) {
        auto* box = d.findChild<QDialogButtonBox*>();
        return box ? box->button(QDialogButtonBox::Ok) : nullptr;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("SpecVLA-Test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_dialogs"));
        QStandardPaths::setTestModeEnabled(true);
        // Keep every QSettings of this suite inside the temporary directory.
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, path(QStringLiteral("settings")));
    }

    void init() { QSettings().clear(); }

    // ---- Preferences ----

    void preferencesDefaultsWhenNothingStored() { QCOMPARE(Preferences::load(), Preferences{}); }

    void preferencesRoundTrip() {
        Preferences p;
        p.theme = Theme::Dark;
        p.exportWidth = 2400;
        p.exportHeight = 900;
        p.exportDpi = 300;
        p.defaultMargin = 4;
        p.autosaveEnabled = false;
        p.autosaveSeconds = 120;
        QVERIFY(p != Preferences{});
        p.save();
        QCOMPARE(Preferences::load(), p);

        // The theme keeps MainWindow's key; the rest live under preferences/.
        QSettings settings;
        QCOMPARE(settings.value(QStringLiteral("ui/theme")).toString(), QStringLiteral("dark"));
        QCOMPARE(settings.value(QStringLiteral("preferences/export_width")).toInt(), 2400);
        settings.sync();
        QVERIFY(QFileInfo::exists(settings.fileName()));
        // Read back from the file itself, as a new process would.
        const QSettings fromFile(settings.fileName(), QSettings::IniFormat);
        QCOMPARE(Preferences::load(fromFile), p);
    }

    void preferencesInvalidValues_data() {
        QTest::addColumn<QByteArray>("ini");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<double>("dpi");
        QTest::addColumn<int>("margin");
        QTest::addColumn<bool>("autosave");
        QTest::addColumn<int>("seconds");
        QTest::addColumn<int>("theme");

        QTest::newRow("garbage falls back to defaults")
            << QByteArray("[ui]\ntheme=purple\n[preferences]\nexport_width=abc\nexport_height=12px\n"
                          "export_dpi=nan\ndefault_margin=\nautosave_enabled=maybe\nautosave_seconds=1e3\n")
            << 1600 << 1000 << 150.0 << 9 << true << 60 << int(Theme::System);
        QTest::newRow("too large is clamped")
            << QByteArray("[ui]\ntheme=light\n[preferences]\nexport_width=999999\nexport_height=20000\n"
                          "export_dpi=5000\ndefault_margin=200\nautosave_enabled=false\n"
                          "autosave_seconds=99999999999\n")
            << 10000 << 10000 << 1200.0 << 32 << false << 3600 << int(Theme::Light);
        QTest::newRow("too small is clamped")
            << QByteArray("[ui]\ntheme=dark\n[preferences]\nexport_width=5\nexport_height=-3\n"
                          "export_dpi=1\ndefault_margin=-1\nautosave_enabled=0\nautosave_seconds=1\n")
            << 100 << 100 << 36.0 << 0 << false << 10 << int(Theme::Dark);
        QTest::newRow("infinite dpi, list values")
            << QByteArray("[ui]\ntheme=\"a, b\"\n[preferences]\nexport_width=1, 2\nexport_dpi=inf\n"
                          "autosave_enabled=1\n")
            << 1600 << 1000 << 150.0 << 9 << true << 60 << int(Theme::System);
    }

    void preferencesInvalidValues() {
        QFETCH(QByteArray, ini);
        const QString file = path(QStringLiteral("prefs-%1.ini").arg(++m_dirCount));
        writeFile(file, ini);
        const QSettings settings(file, QSettings::IniFormat);
        const Preferences p = Preferences::load(settings);
        QTEST(p.exportWidth, "width");
        QTEST(p.exportHeight, "height");
        QTEST(p.exportDpi, "dpi");
        QTEST(p.defaultMargin, "margin");
        QTEST(p.autosaveEnabled, "autosave");
        QTEST(p.autosaveSeconds, "seconds");
        QTEST(int(p.theme), "theme");
    }

    void preferencesInvalidValuesInDefaultSettings() {
        QSettings settings;
        settings.setValue(QStringLiteral("preferences/export_width"), QStringLiteral("wide"));
        settings.setValue(QStringLiteral("preferences/export_height"), 50);
        settings.setValue(QStringLiteral("preferences/export_dpi"), 72.5);
        settings.setValue(QStringLiteral("ui/theme"), QStringLiteral("dark"));
        const Preferences p = Preferences::load();
        QCOMPARE(p.exportWidth, 1600);
        QCOMPARE(p.exportHeight, 100);
        QCOMPARE(p.exportDpi, 72.5);
        QCOMPARE(p.theme, Theme::Dark);
    }

    void preferencesClampedAndSavedClamped() {
        Preferences p;
        p.exportWidth = 0;
        p.exportDpi = std::numeric_limits<double>::infinity();
        p.autosaveSeconds = 100000;
        const Preferences c = p.clamped();
        QCOMPARE(c.exportWidth, Preferences::kMinExportSize);
        QCOMPARE(c.exportDpi, 150.0);
        QCOMPARE(c.autosaveSeconds, Preferences::kMaxAutosaveSeconds);
        p.save();
        QCOMPARE(Preferences::load(), c);
    }

    void preferencesDialogShowsAndEdits() {
        Preferences p;
        p.theme = Theme::Light;
        p.exportWidth = 800;
        p.exportHeight = 600;
        p.exportDpi = 96;
        p.defaultMargin = 3;
        p.autosaveEnabled = false;
        p.autosaveSeconds = 30;
        PreferencesDialog dialog(p);
        QCOMPARE(dialog.preferences(), p);

        auto* theme = dialog.findChild<QComboBox*>(QStringLiteral("PrefTheme"));
        auto* width = dialog.findChild<QSpinBox*>(QStringLiteral("PrefExportWidth"));
        auto* height = dialog.findChild<QSpinBox*>(QStringLiteral("PrefExportHeight"));
        auto* dpi = dialog.findChild<QDoubleSpinBox*>(QStringLiteral("PrefExportDpi"));
        auto* margin = dialog.findChild<QSpinBox*>(QStringLiteral("PrefDefaultMargin"));
        auto* autosave = dialog.findChild<QCheckBox*>(QStringLiteral("PrefAutosave"));
        auto* seconds = dialog.findChild<QSpinBox*>(QStringLiteral("PrefAutosaveSeconds"));
        QVERIFY(theme && width && height && dpi && margin && autosave && seconds);
        QCOMPARE(theme->currentText(), QStringLiteral("Light"));
        QCOMPARE(width->value(), 800);
        QCOMPARE(height->value(), 600);
        QCOMPARE(dpi->value(), 96.0);
        QCOMPARE(margin->value(), 3);
        QVERIFY(!autosave->isChecked());
        QVERIFY(!seconds->isEnabled()); // the interval means nothing while autosave is off
        QCOMPARE(margin->maximum(), 32);
        QCOMPARE(width->maximum(), 10000);

        theme->setCurrentIndex(theme->findText(QStringLiteral("Dark")));
        width->setValue(1234);
        height->setValue(20000); // beyond the range: the spin box holds it at the maximum
        dpi->setValue(300);
        margin->setValue(12);
        autosave->click();
        QVERIFY(seconds->isEnabled());
        seconds->setValue(90);
        Preferences edited;
        edited.theme = Theme::Dark;
        edited.exportWidth = 1234;
        edited.exportHeight = 10000;
        edited.exportDpi = 300;
        edited.defaultMargin = 12;
        edited.autosaveEnabled = true;
        edited.autosaveSeconds = 90;
        QCOMPARE(dialog.preferences(), edited);

        auto* box = dialog.findChild<QDialogButtonBox*>();
        QVERIFY(box);
        QPushButton* restore = box->button(QDialogButtonBox::RestoreDefaults);
        QVERIFY(restore);
        restore->click();
        QCOMPARE(dialog.preferences(), Preferences{});
        QCOMPARE(theme->currentText(), QStringLiteral("System"));
    }

    // ---- RelocateDialog ----

    void proposeMove_data() {
        QTest::addColumn<QString>("oldChanged");
        QTest::addColumn<QString>("newChanged");
        QTest::addColumn<QString>("oldOther");
        QTest::addColumn<QString>("expected");
        QTest::newRow("sibling moves with the folder") << "/a/b/model"
                                                       << "/x/b/model"
                                                       << "/a/b/episodes/e.hdf5"
                                                       << "/x/b/episodes/e.hdf5";
        QTest::newRow("deeper move") << "/home/u/exp/models/vla"
                                     << "/data/exp/models/vla"
                                     << "/home/u/exp/data/ep.hdf5"
                                     << "/data/exp/data/ep.hdf5";
        QTest::newRow("folder renamed, content inside") << "/a/old"
                                                        << "/a/new"
                                                        << "/a/old/draft"
                                                        << "/a/new/draft";
        QTest::newRow("renamed folder, sibling outside") << "/a/old"
                                                         << "/a/new"
                                                         << "/a/other/x"
                                                         << "";
        QTest::newRow("outside the moved folder") << "/a/b/model"
                                                  << "/x/b/model"
                                                  << "/c/e.hdf5"
                                                  << "";
        QTest::newRow("nothing moved") << "/a/b/model"
                                       << "/a/b/model"
                                       << "/a/b/e.hdf5"
                                       << "";
        QTest::newRow("moved from the root") << "/b/model"
                                             << "/mnt/b/model"
                                             << "/c/e.hdf5"
                                             << "/mnt/c/e.hdf5";
        QTest::newRow("moved up to the root") << "/a/b/model"
                                              << "/b/model"
                                              << "/a/c/e"
                                              << "/c/e";
        QTest::newRow("trailing separators") << "/a/b/model/"
                                             << "/x/b/model/"
                                             << "/a/b/e"
                                             << "/x/b/e";
        QTest::newRow("prefix is whole components") << "/a/b/model"
                                                    << "/x/b/model"
                                                    << "/ab/e"
                                                    << "";
        QTest::newRow("empty input") << ""
                                     << "/x/b/model"
                                     << "/a/b/e"
                                     << "";
    }

    void proposeMove() {
        QFETCH(QString, oldChanged);
        QFETCH(QString, newChanged);
        QFETCH(QString, oldOther);
        QFETCH(QString, expected);
        QCOMPARE(RelocateDialog::proposeMove(oldChanged, newChanged, oldOther), expected);
    }

    void relocateOkOnlyWhenAllResolved() {
        const QString root = freshDir(QStringLiteral("relocate"));
        QDir().mkpath(root + QStringLiteral("/new/vla"));
        writeFile(root + QStringLiteral("/new/ep.hdf5"), "x");
        const QList<MissingInput> missing = {
            {QStringLiteral("Model"), root + QStringLiteral("/gone/vla"), true},
            {QStringLiteral("Episodes"), root + QStringLiteral("/elsewhere/ep.hdf5"), false}};
        const QString sessionPath = root + QStringLiteral("/my.specvla.json");
        RelocateDialog dialog(sessionPath, missing);

        auto* message = dialog.findChild<QLabel*>(QStringLiteral("RelocateMessage"));
        QVERIFY(message);
        QVERIFY(message->text().contains(QDir::toNativeSeparators(sessionPath)));
        auto* table = dialog.findChild<QTableWidget*>(QStringLiteral("RelocateTable"));
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(0, RelocateDialog::KindColumn)->text(), QStringLiteral("Model"));
        QCOMPARE(table->item(1, RelocateDialog::OldPathColumn)->text(),
                 QDir::toNativeSeparators(missing[1].path));
        QCOMPARE(dialog.findChildren<QToolButton*>().size(), 2); // one Browse… per row

        QPushButton* ok = okButton(dialog);
        QVERIFY(ok);
        QVERIFY(!ok->isEnabled());
        QVERIFY(!dialog.allResolved());

        // A path that does not exist is kept (so the user sees it) but does not resolve.
        dialog.setReplacement(0, root + QStringLiteral("/nowhere/vla"));
        QCOMPARE(dialog.replacement(0), root + QStringLiteral("/nowhere/vla"));
        QVERIFY(!dialog.isResolved(0));
        QVERIFY(!ok->isEnabled());
        // A file where a folder is expected does not resolve either.
        dialog.setReplacement(0, root + QStringLiteral("/new/ep.hdf5"));
        QVERIFY(!dialog.isResolved(0));

        dialog.setReplacement(0, root + QStringLiteral("/new/vla"));
        QVERIFY(dialog.isResolved(0));
        QVERIFY(!ok->isEnabled()); // the episode is still missing (and its move is not the model's)
        QVERIFY(dialog.replacement(1).isEmpty());

        // Typing into the table counts as a replacement.
        table->item(1, RelocateDialog::NewPathColumn)
            ->setText(QDir::toNativeSeparators(root + "/new/ep.hdf5"));
        QCOMPARE(dialog.replacement(1), root + QStringLiteral("/new/ep.hdf5"));
        QVERIFY(dialog.allResolved());
        QVERIFY(ok->isEnabled());

        // Clearing a row disables OK again.
        dialog.setReplacement(1, QString());
        QVERIFY(!ok->isEnabled());
    }

    void relocateProposesMovedSiblings() {
        const QString root = freshDir(QStringLiteral("moved"));
        // The whole project folder moved from old/ to new/, but the draft head did not survive the move.
        QDir().mkpath(root + QStringLiteral("/new/proj/models/vla"));
        QDir().mkpath(root + QStringLiteral("/new/proj/data"));
        writeFile(root + QStringLiteral("/new/proj/data/ep.hdf5"), "x");
        const QList<MissingInput> missing = {
            {QStringLiteral("Model"), root + QStringLiteral("/old/proj/models/vla"), true},
            {QStringLiteral("Draft head"), root + QStringLiteral("/old/proj/models/draft"), true},
            {QStringLiteral("Episodes"), root + QStringLiteral("/old/proj/data/ep.hdf5"), false}};
        RelocateDialog dialog(root + QStringLiteral("/s.json"), missing);

        dialog.setReplacement(0, root + QStringLiteral("/new/proj/models/vla"));
        QCOMPARE(dialog.replacement(2), root + QStringLiteral("/new/proj/data/ep.hdf5")); // exists: proposed
        QVERIFY(dialog.isResolved(2));
        QVERIFY(dialog.replacement(1).isEmpty()); // would not exist: not proposed
        QVERIFY(!dialog.allResolved());

        // Once the draft appears and is chosen, everything resolves; resolved rows are not re-proposed.
        QDir().mkpath(root + QStringLiteral("/draft-copy"));
        dialog.setReplacement(1, root + QStringLiteral("/draft-copy"));
        QCOMPARE(dialog.replacement(0), root + QStringLiteral("/new/proj/models/vla"));
        QVERIFY(dialog.allResolved());
        QVERIFY(okButton(dialog)->isEnabled());
    }

    void relocateProposalNeedsTheRightType() {
        const QString root = freshDir(QStringLiteral("type"));
        QDir().mkpath(root + QStringLiteral("/new/vla"));
        QDir().mkpath(root + QStringLiteral("/new/ep.hdf5")); // a folder where the episode file was
        const QList<MissingInput> missing = {
            {QStringLiteral("Model"), root + QStringLiteral("/old/vla"), true},
            {QStringLiteral("Episodes"), root + QStringLiteral("/old/ep.hdf5"), false}};
        RelocateDialog dialog(root + QStringLiteral("/s.json"), missing);
        dialog.setReplacement(0, root + QStringLiteral("/new/vla"));
        QVERIFY(dialog.replacement(1).isEmpty());
    }

    void relocateFindsAndAppliesToSession() {
        const QString root = freshDir(QStringLiteral("apply"));
        session::Session s = makeSession(root + QStringLiteral("/old"));
        QVERIFY(RelocateDialog::missingInputs(s).isEmpty());
        QVERIFY(QDir(root).rename(QStringLiteral("old"), QStringLiteral("new")));

        const QList<MissingInput> missing = RelocateDialog::missingInputs(s);
        QCOMPARE(missing.size(), 3);
        QCOMPARE(missing[0].path, QString::fromStdString(s.model));
        QVERIFY(missing[0].isFolder);
        QVERIFY(missing[1].isFolder);
        QVERIFY(!missing[2].isFolder);
        QCOMPARE(missing[2].path, QString::fromStdString(s.episodes));

        RelocateDialog dialog(root + QStringLiteral("/s.json"), missing);
        dialog.setReplacement(2, root + QStringLiteral("/new/data/ep.hdf5"));
        QVERIFY(dialog.allResolved()); // the model and draft moved with it
        dialog.applyTo(s);
        QCOMPARE(QString::fromStdString(s.model), root + QStringLiteral("/new/models/vla"));
        QCOMPARE(QString::fromStdString(*s.draft), root + QStringLiteral("/new/models/draft"));
        QCOMPARE(QString::fromStdString(s.episodes), root + QStringLiteral("/new/data/ep.hdf5"));
        QVERIFY(RelocateDialog::missingInputs(s).isEmpty());
    }

    // ---- Autosave ----

    void autosaveDefaultDir() {
        QVERIFY(Autosave::defaultDir().endsWith(QStringLiteral("/autosave")));
        QVERIFY(Autosave::defaultDir().startsWith(
            QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation)));
    }

    void autosaveSaveNowWritesReadableSession() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        Autosave autosave(dir);
        QVERIFY(autosave.isLocked());
        QVERIFY(QFileInfo::exists(autosave.lockPath()));
        QVERIFY(!autosave.saveNow()); // no provider yet
        autosave.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
        autosave.setOriginalPath(path(QStringLiteral("work/my.specvla.json")));
        QSignalSpy saved(&autosave, &Autosave::saved);
        QVERIFY(autosave.saveNow());
        QCOMPARE(saved.size(), 1);
        QVERIFY(QFileInfo(autosave.autosavePath()).absolutePath() == QDir(dir).absolutePath());

        const session::Session back = session::readSession(autosave.autosavePath().toStdString());
        QCOMPARE(back.bookmarks.size(), std::size_t(2));
        QCOMPARE(back.bookmarks[0].note, std::string("grasp"));
        QVERIFY(back == s);

        QFile meta(autosave.metadataPath());
        QVERIFY(meta.open(QIODevice::ReadOnly));
        const QJsonObject obj = QJsonDocument::fromJson(meta.readAll()).object();
        QCOMPARE(obj.value(QStringLiteral("original")).toString(),
                 path(QStringLiteral("work/my.specvla.json")));
        QCOMPARE(obj.value(QStringLiteral("pid")).toInteger(), QCoreApplication::applicationPid());
        QVERIFY(QDateTime::fromString(obj.value(QStringLiteral("saved_at")).toString(), Qt::ISODateWithMs)
                    .isValid());

        // Nothing to save: no file is touched.
        autosave.discard();
        autosave.setSnapshotProvider([] { return std::optional<session::Session>(); });
        QVERIFY(!autosave.saveNow());
        QVERIFY(!QFileInfo::exists(autosave.autosavePath()));
    }

    void autosaveTwoInstancesUseDifferentFiles() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        Autosave a(dir), b(dir);
        QVERIFY(a.autosavePath() != b.autosavePath());
        QVERIFY(a.isLocked() && b.isLocked());
    }

    void autosaveTimerWritesAfterInterval() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        Autosave autosave(dir);
        autosave.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
        autosave.setInterval(5);
        QCOMPARE(autosave.intervalMs(), 5000);
        autosave.setIntervalMs(50);
        QCOMPARE(autosave.intervalMs(), 50);

        QVERIFY(!autosave.isDirty());
        autosave.markDirty();
        QVERIFY(autosave.isDirty());
        QVERIFY(!QFileInfo::exists(autosave.autosavePath())); // not before the interval
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(autosave.autosavePath()), 5000);
        QVERIFY(!autosave.isDirty());
        QVERIFY(session::readSession(autosave.autosavePath().toStdString()) == s);

        // Disabled: a change waits; enabling again writes it.
        autosave.discard();
        autosave.setEnabled(false);
        autosave.markDirty();
        QTest::qWait(200);
        QVERIFY(!QFileInfo::exists(autosave.autosavePath()));
        autosave.setEnabled(true);
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(autosave.autosavePath()), 5000);

        // A change saved explicitly before the timer fires is not written again by the timer.
        autosave.discard();
        autosave.markDirty();
        QVERIFY(autosave.saveNow());
        QFile::remove(autosave.autosavePath());
        QTest::qWait(200);
        QVERIFY(!QFileInfo::exists(autosave.autosavePath()));
    }

    void autosaveLiveInstanceIsNotRecoverable() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        Autosave autosave(dir);
        autosave.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
        QVERIFY(autosave.saveNow());
        QVERIFY(Autosave::findRecoverable(dir).isEmpty());
        // Not even when the lock is older than QLockFile's default stale time would judge by age.
        const QDateTime old = QDateTime::currentDateTime().addSecs(-3600);
        QFile lock(autosave.lockPath());
        QVERIFY(lock.open(QIODevice::ReadWrite));
        QVERIFY(lock.setFileTime(old, QFileDevice::FileModificationTime));
        lock.close();
        QVERIFY(Autosave::findRecoverable(dir).isEmpty());
        // And discardRecoverable leaves a live instance's files alone.
        Autosave::discardRecoverable({autosave.autosavePath(), QString(), QDateTime()});
        QVERIFY(QFileInfo::exists(autosave.autosavePath()));
    }

    void autosaveOrphansAreRecoverableNewestFirst() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        QString first, second;
        {
            Autosave a(dir);
            a.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
            a.setOriginalPath(path(QStringLiteral("first.specvla.json")));
            QVERIFY(a.saveNow());
            first = a.autosavePath();
        } // destroyed without discard(), as by a window that never decided: the files stay
        QTest::qWait(20);
        {
            Autosave b(dir);
            b.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
            QVERIFY(b.saveNow()); // never saved by the user: no original
            second = b.autosavePath();
        }
        QVERIFY(QFileInfo::exists(first));
        const QList<Autosave::Recoverable> found = Autosave::findRecoverable(dir);
        QCOMPARE(found.size(), 2);
        QCOMPARE(found[0].autosavePath, second);
        QVERIFY(found[0].originalPath.isEmpty());
        QCOMPARE(found[1].autosavePath, first);
        QCOMPARE(found[1].originalPath, path(QStringLiteral("first.specvla.json")));
        QVERIFY(found[0].savedAt > found[1].savedAt);
        QVERIFY(session::readSession(found[1].autosavePath.toStdString()) == s);

        Autosave::discardRecoverable(found[1]);
        QVERIFY(!QFileInfo::exists(first));
        const QList<Autosave::Recoverable> left = Autosave::findRecoverable(dir);
        QCOMPARE(left.size(), 1);
        QCOMPARE(left[0].autosavePath, second);
    }

    void autosaveDiscardRemovesFiles() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        QString file;
        {
            Autosave autosave(dir);
            autosave.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
            QVERIFY(autosave.saveNow());
            file = autosave.autosavePath();
            QVERIFY(QFileInfo::exists(autosave.metadataPath()));
            autosave.discard();
            QVERIFY(!QFileInfo::exists(file));
            QVERIFY(!QFileInfo::exists(autosave.metadataPath()));
            QVERIFY(autosave.isLocked()); // the instance goes on and may autosave again
        }
        QVERIFY(Autosave::findRecoverable(dir).isEmpty());
        QVERIFY(QDir(dir).entryList(QDir::Files).isEmpty()); // lock released on destruction
    }

    // A real crash: a child process (this test binary in its --crash-autosave mode, see main() below)
    // autosaves and dies without running any destructor, leaving a stale lock.
    void autosaveCrashedProcessIsRecoverable() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        const QString original = path(QStringLiteral("crashed.specvla.json"));
        const QString snapshot = path(QStringLiteral("snapshot.specvla.json"));
        session::writeSession(snapshot.toStdString(), s);
        QProcess child;
        child.start(QCoreApplication::applicationFilePath(),
                    {QStringLiteral("--crash-autosave"), dir, snapshot, original});
        QVERIFY(child.waitForFinished(60000));
        QCOMPARE(child.exitCode(), 0);
        const QString file = QString::fromUtf8(child.readAllStandardOutput()).trimmed();
        QVERIFY2(QFileInfo::exists(file), qPrintable(file + QString::fromUtf8(child.readAllStandardError())));
        const QString lockFile =
            file.left(file.size() - int(qstrlen(".specvla.json"))) + QStringLiteral(".lock");
        QVERIFY(QFileInfo::exists(lockFile)); // stale: its owner is gone

        const auto found = find(Autosave::findRecoverable(dir), file);
        QVERIFY(found);
        QCOMPARE(found->originalPath, original);
        QVERIFY(session::readSession(file.toStdString()) == session::readSession(snapshot.toStdString()));
        Autosave::discardRecoverable(*found);
        QVERIFY(!QFileInfo::exists(file));
        QVERIFY(QDir(dir).entryList(QDir::Files).isEmpty());
    }

    void autosaveCorruptFilesDoNotBreakRecovery() {
        const QString dir = freshDir(QStringLiteral("autosave"));
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        writeFile(dir + QStringLiteral("/autosave-broken.specvla.json"), "{not json");
        writeFile(dir + QStringLiteral("/autosave-empty.specvla.json"), "");
        writeFile(dir + QStringLiteral("/autosave-other.specvla.json"), R"({"format": "something-else"})");
        writeFile(dir + QStringLiteral("/autosave-binary.specvla.json"), QByteArray("\x00\xff\xfe", 3));
        QString good;
        {
            Autosave a(dir);
            a.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
            a.setOriginalPath(path(QStringLiteral("x.specvla.json")));
            QVERIFY(a.saveNow());
            good = a.autosavePath();
            writeFile(a.metadataPath(), "garbage{");
        }
        QList<Autosave::Recoverable> found;
        found = Autosave::findRecoverable(dir);
        // Unreadable sessions are skipped; a readable one with corrupt metadata is listed without original.
        QCOMPARE(found.size(), 1);
        QCOMPARE(found[0].autosavePath, good);
        QVERIFY(found[0].originalPath.isEmpty());
        QVERIFY(found[0].savedAt.isValid());
        QVERIFY(!contains(found, dir + QStringLiteral("/autosave-broken.specvla.json")));
        QVERIFY(Autosave::findRecoverable(path(QStringLiteral("no-such-folder"))).isEmpty());
    }

    void autosaveUnwritableFolderFails() {
        const QString blocker = path(QStringLiteral("a-file"));
        writeFile(blocker, "x");
        Autosave autosave(blocker + QStringLiteral("/autosave"));
        QVERIFY(!autosave.isLocked());
        const session::Session s = makeSession(freshDir(QStringLiteral("inputs")));
        autosave.setSnapshotProvider([&] { return std::optional<session::Session>(s); });
        QSignalSpy failed(&autosave, &Autosave::failed);
        QVERIFY(!autosave.saveNow());
        QCOMPARE(failed.size(), 1);
        QVERIFY(!autosave.lastError().isEmpty());
    }
};

// The test binary doubles as the crashing process of autosaveCrashedProcessIsRecoverable:
// `test_dialogs --crash-autosave DIR SNAPSHOT ORIGINAL` autosaves SNAPSHOT into DIR, prints the autosave's
// path and exits at once, without destructors (the lock file stays behind as after a crash).
int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "--crash-autosave") == 0) {
        QCoreApplication app(argc, argv);
        const session::Session s = session::readSession(argv[3]);
        auto* autosave = new Autosave(QString::fromLocal8Bit(argv[2])); // never destroyed: a crash
        autosave->setSnapshotProvider([s] { return std::optional<session::Session>(s); });
        autosave->setOriginalPath(QString::fromLocal8Bit(argv[4]));
        if (!autosave->saveNow()) return 1;
        std::printf("%s\n", autosave->autosavePath().toLocal8Bit().constData());
        std::fflush(stdout);
        std::_Exit(0);
    }
    QApplication app(argc, argv);
    app.setAttribute(Qt::AA_Use96Dpi, true);
    TestDialogs tc;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&tc, argc, argv);
}

#include "test_dialogs.moc"
