// SPDX-License-Identifier: MIT
// The session document in a real window on tiny checkpoints: undo and redo restore decode settings and the
// views that show them, one margin-slider drag is one undo step, bookmarks with notes are undoable and mark
// the session modified, a saved session opens again with its settings, view and bookmarks, and a session
// whose files moved is opened through the relocator instead of failing.
#include "bin_distance_plot.h"
#include "draft_tree_view.h"
#include "gui/autosave.h"
#include "gui/bookmarks_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/export_controller.h"
#include "gui/main_window.h"
#include "gui/session_controller.h"
#include "message_bar.h"
#include "session/session_file.h"
#include "support/gui_fixtures.h"
#include "support/tiny_model.h"
#include "support/tiny_session.h"

#include <QAbstractButton>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>
#include <QtTest>

#include <tuple>

#include <nlohmann/json.hpp>

using specvla::app::DecodeController;
using specvla::app::MainWindow;
using specvla::app::SessionController;
namespace decode = specvla::decode;
namespace session = specvla::session;

namespace {
constexpr int kSteps = 4;
constexpr int kWaitMs = 60000;

using specvla::testing::allDecoded;

std::vector<int> tokensOf(const decode::ActionTrace& t) {
    return std::vector<int>(t.tokens.begin(), t.tokens.end());
}
} // namespace

class TestUndo : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QTemporaryDir m_settingsDir;
    QString m_model, m_draft, m_episode;

    // Writes a session naming the fixtures and opens it in window; waits until the episode is decoded.
    void openFixtures(MainWindow& window, const QString& file) {
        session::Session s = specvla::testing::tinySession(m_model, m_draft, m_episode);
        s.settings.mode = decode::DecodeMode::Relaxed;
        s.settings.margin = 9;
        session::writeSession(file.toStdString(), s);
        QVERIFY(window.openSession(file));
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(window.decodeController()), kWaitMs);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        const auto f = specvla::testing::prepareGuiSuite(m_dir.path(), m_settingsDir.path(), kSteps);
        std::tie(m_model, m_draft, m_episode) = std::tie(f.model, f.draft, f.episode);
    }

    void undoRedoRestoresSettingsAndViews() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        const auto& v = c->views();
        SessionController* doc = window.sessionController();
        openFixtures(window, m_dir.filePath(QStringLiteral("undo.specvla.json")));
        QUndoStack* stack = doc->undoStack();
        QCOMPARE(stack->count(), 0); // opening a session is not an edit
        QVERIFY(!doc->isModified());
        QVERIFY(!window.isWindowModified());
        QTRY_COMPARE_WITH_TIMEOUT(v.tree->trace().settings.margin, 9, kWaitMs);
        const std::vector<int> at9 = tokensOf(v.tree->trace());
        const int roundsAt9 = v.tree->roundCount();

        QSignalSpy updated(c, &DecodeController::currentStepViewsUpdated);
        v.controls->marginSlider()->setValue(0); // a click or key press: one step
        v.controls->modeCombo()->setCurrentIndex(
            v.controls->modeCombo()->findData(int(decode::DecodeMode::Strict)));
        QCOMPARE(stack->count(), 2);
        QVERIFY(doc->isModified());
        QVERIFY(window.isWindowModified());
        QCOMPARE(c->settings().mode, decode::DecodeMode::Strict);
        QTRY_COMPARE_WITH_TIMEOUT(v.tree->trace().settings.mode, decode::DecodeMode::Strict, kWaitMs);
        QVERIFY(stack->undoText().contains(QStringLiteral("relaxed → strict")));

        stack->undo(); // the mode
        QCOMPARE(c->settings().mode, decode::DecodeMode::Relaxed);
        QCOMPARE(c->settings().margin, 0);
        QCOMPARE(v.controls->modeCombo()->currentData().toInt(), int(decode::DecodeMode::Relaxed));
        QTRY_COMPARE_WITH_TIMEOUT(v.tree->trace().settings.mode, decode::DecodeMode::Relaxed, kWaitMs);
        QCOMPARE(v.tree->trace().settings.margin, 0);

        stack->undo(); // the margin: the views show the first decode again
        QCOMPARE(c->settings().margin, 9);
        QCOMPARE(v.controls->marginSlider()->value(), 9);
        QCOMPARE(v.controls->marginSpin()->value(), 9);
        QTRY_COMPARE_WITH_TIMEOUT(v.tree->trace().settings.margin, 9, kWaitMs);
        QCOMPARE(tokensOf(v.tree->trace()), at9);
        QCOMPARE(v.tree->roundCount(), roundsAt9);
        QCOMPARE(v.binDistance->margin(), 9);
        QVERIFY(!stack->canUndo());
        QVERIFY(!doc->isModified()); // back at the saved state
        QVERIFY(!window.isWindowModified());
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        for (int i = 0; i < kSteps; ++i)
            QCOMPARE(c->trace(i)->settings.margin, 9);

        stack->redo();
        stack->redo();
        QCOMPARE(c->settings().margin, 0);
        QCOMPARE(c->settings().mode, decode::DecodeMode::Strict);
        QTRY_COMPARE_WITH_TIMEOUT(v.tree->trace().settings.mode, decode::DecodeMode::Strict, kWaitMs);
        QVERIFY(!stack->canRedo());
        // Redo did not push anything new.
        QCOMPARE(stack->count(), 2);

        // A new edit after an undo drops the redo branch.
        stack->undo();
        v.controls->marginSlider()->setValue(3);
        QCOMPARE(stack->count(), 2);
        QVERIFY(!stack->canRedo());
        QCOMPARE(c->settings().margin, 3);
    }

    void oneSliderDragIsOneStep() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        QSlider* slider = c->views().controls->marginSlider();
        openFixtures(window, m_dir.filePath(QStringLiteral("drag.specvla.json")));
        QUndoStack* stack = window.sessionController()->undoStack();
        QCOMPARE(stack->count(), 0);

        slider->setSliderDown(true); // sliderPressed
        for (int m : {10, 12, 15, 20, 17})
            slider->setValue(m);
        slider->setSliderDown(false); // sliderReleased
        QCOMPARE(c->settings().margin, 17);
        QCOMPARE(stack->count(), 1);
        QVERIFY(stack->undoText().contains(QStringLiteral("9 → 17")));

        // A second drag is a second step.
        slider->setSliderDown(true);
        slider->setValue(5);
        slider->setValue(4);
        slider->setSliderDown(false);
        QCOMPARE(stack->count(), 2);

        // A drag that ends where it began leaves no step.
        slider->setSliderDown(true);
        slider->setValue(8);
        slider->setValue(4);
        slider->setSliderDown(false);
        QCOMPARE(stack->count(), 2);

        stack->undo();
        QCOMPARE(c->settings().margin, 17);
        stack->undo();
        QCOMPARE(c->settings().margin, 9);
        QCOMPARE(slider->value(), 9);
        QTRY_COMPARE_WITH_TIMEOUT(c->views().tree->trace().settings.margin, 9, kWaitMs);
    }

    void bookmarksAreUndoableAndSaved() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        SessionController* doc = window.sessionController();
        const QString file = m_dir.filePath(QStringLiteral("marks.specvla.json"));
        openFixtures(window, file);
        QTableWidget* table = window.bookmarksDock()->table();
        QCOMPARE(table->rowCount(), 0);
        // A fresh window shows every dimension's bin distances, and a session saved now reads back.
        QCOMPARE(c->views().binDistance->dimension(), -1);
        QCOMPARE(doc->current().dimension, -1);

        c->setCurrentStep(2);
        window.bookmarksDock()->addAtCurrentStep(); // Ctrl+B
        QCOMPARE(doc->bookmarks().size(), std::size_t(1));
        QCOMPARE(doc->bookmarks()[0].step, 2);
        QCOMPARE(table->rowCount(), 1);
        // Editing the note cell is one undoable edit.
        table->item(0, 1)->setText(QStringLiteral("draft overshoots the gripper"));
        QCOMPARE(QString::fromStdString(doc->bookmarks()[0].note),
                 QStringLiteral("draft overshoots the gripper"));
        doc->setBookmark(0, QStringLiteral("start"));
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("0")); // sorted by step
        QVERIFY(doc->isModified());
        QVERIFY(window.isWindowModified());

        QUndoStack* stack = doc->undoStack();
        const int edits = stack->count();
        QCOMPARE(edits, 3);
        stack->undo(); // the bookmark at 0
        QCOMPARE(doc->bookmarks().size(), std::size_t(1));
        stack->undo(); // the note
        QCOMPARE(doc->bookmarks()[0].note, std::string());
        QCOMPARE(table->item(0, 1)->text(), QString());
        stack->redo();
        stack->redo();
        QCOMPARE(doc->bookmarks().size(), std::size_t(2));

        doc->removeBookmark(0);
        QCOMPARE(doc->bookmarks().size(), std::size_t(1));
        stack->undo();
        QCOMPARE(doc->bookmarks().size(), std::size_t(2));

        // Double-clicking a step goes there.
        Q_EMIT table->cellDoubleClicked(1, 0);
        QCOMPARE(c->currentStep(), 2);

        // Notes: typed in the dock, part of the session; not an undo step, but the session is modified.
        const int before = stack->count();
        window.bookmarksDock()->notesEdit()->setPlainText(QStringLiteral("tiny model, random draft"));
        QCOMPARE(doc->notes(), QStringLiteral("tiny model, random draft"));
        QCOMPARE(stack->count(), before);

        c->views().binDistance->setDimension(3);
        QVERIFY(window.saveSessionOrAsk()); // the opened file: no dialog
        QVERIFY(!doc->isModified());
        QVERIFY(!window.isWindowModified());
        QVERIFY(stack->canUndo()); // saving keeps the history

        const session::Session saved = session::readSession(file.toStdString());
        QCOMPARE(saved.bookmarks.size(), std::size_t(2));
        QCOMPARE(saved.bookmarks[1].note, std::string("draft overshoots the gripper"));
        QCOMPARE(saved.notes, std::string("tiny model, random draft"));
        QCOMPARE(saved.step, 2);
        QCOMPARE(saved.dimension, 3);
        QVERIFY(saved == doc->current());

        // A second window opens it with the same bookmarks, notes, settings, step and view.
        MainWindow other;
        other.show();
        QVERIFY(other.openSession(file));
        QTRY_COMPARE_WITH_TIMEOUT(other.decodeController()->currentStep(), 2, kWaitMs);
        QCOMPARE(other.bookmarksDock()->table()->rowCount(), 2);
        QCOMPARE(other.bookmarksDock()->notesEdit()->toPlainText(),
                 QStringLiteral("tiny model, random draft"));
        QCOMPARE(other.decodeController()->views().binDistance->dimension(), 3);
        QVERIFY(other.sessionController()->current() == saved);
        QVERIFY(!other.sessionController()->isModified());
    }

    void preferencesStartAFreshWindow() {
        // Preferences live in QSettings apart from sessions: a fresh window starts at the default margin
        // (without an undo step) and exports at the preferred size; an opened session keeps its own margin.
        QSettings().setValue(QStringLiteral("preferences/default_margin"), 5);
        QSettings().setValue(QStringLiteral("preferences/export_width"), 900);
        QSettings().setValue(QStringLiteral("preferences/export_dpi"), 200);
        {
            MainWindow window;
            QCOMPARE(window.decodeController()->views().controls->marginSlider()->value(), 5);
            QCOMPARE(window.decodeController()->settings().margin, 5);
            QCOMPARE(window.sessionController()->undoStack()->count(), 0);
            QVERIFY(!window.sessionController()->isModified());
            QCOMPARE(window.exportController()->exportSize().width, 900);
            QCOMPARE(window.exportController()->exportSize().dpi, 200.0);
            openFixtures(window, m_dir.filePath(QStringLiteral("prefs.specvla.json")));
            QCOMPARE(window.decodeController()->settings().margin, 9); // the session's
        }
        QSettings().remove(QStringLiteral("preferences"));
    }

    void reportFromTheWindow() {
        // File ▸ Export ▸ Session Report: decoded in the background, written on the UI thread, with the
        // window's bookmarks and notes; its AR tokens are the window's AR traces.
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        openFixtures(window, m_dir.filePath(QStringLiteral("report.specvla.json")));
        QTRY_VERIFY_WITH_TIMEOUT(c->arTrace(kSteps - 1) != nullptr, kWaitMs);
        window.sessionController()->setBookmark(1, QStringLiteral("look here"));
        QTemporaryDir out;
        QSignalSpy written(&window, &MainWindow::reportWritten);
        QVERIFY(window.exportReport(out.path()));
        QVERIFY(!window.exportReport(out.path())); // one at a time
        QTRY_COMPARE_WITH_TIMEOUT(written.count(), 1, kWaitMs);
        const QString html = written.at(0).at(0).toString();
        QCOMPARE(html, QDir(out.path()).filePath(QStringLiteral("report.html")));
        QVERIFY(QFileInfo(QDir(out.path()).filePath(QStringLiteral("report.pdf"))).size() > 1000);
        QFile jsonFile(QDir(out.path()).filePath(QStringLiteral("report.json")));
        QVERIFY(jsonFile.open(QIODevice::ReadOnly));
        const auto report = nlohmann::json::parse(jsonFile.readAll().toStdString());
        QCOMPARE(report.at("bookmarks").size(), std::size_t(1));
        QCOMPARE(report.at("bookmarks")[0].at("note").get<std::string>(), std::string("look here"));
        const auto& steps = report.at("steps");
        QCOMPARE(steps.size(), std::size_t(kSteps));
        for (int i = 0; i < kSteps; ++i)
            QCOMPARE(steps[std::size_t(i)].at("modes").at("ar").at("tokens").get<std::vector<int>>(),
                     tokensOf(*c->arTrace(i)));
    }

    void crashRecoveryRestoresTheAutosave() {
        // An autosave left behind (its writer gone without discarding it, as in a crash) is offered at the
        // next start; Restore opens it, belonging to the original file, modified, with its unsaved edits.
        const QString original = m_dir.filePath(QStringLiteral("recover.specvla.json"));
        session::Session s = specvla::testing::tinySession(m_model, m_draft, m_episode);
        session::writeSession(original.toStdString(), s);
        s.settings.margin = 4;
        s.bookmarks = {{1, "not saved before the crash"}};
        {
            specvla::app::Autosave crashed(specvla::app::Autosave::defaultDir());
            crashed.setSnapshotProvider([s] { return std::optional<session::Session>(s); });
            crashed.setOriginalPath(original);
            QVERIFY(crashed.saveNow());
        } // destroyed without discard(): the files stay, the lock is free
        QCOMPARE(specvla::app::Autosave::findRecoverable().size(), 1);

        MainWindow window;
        window.show();
        QString question;
        QTimer poll;
        poll.setInterval(20);
        connect(&poll, &QTimer::timeout, &window, [&] {
            auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
            if (!box) return;
            poll.stop();
            question = box->text();
            for (QAbstractButton* b : box->buttons())
                if (b->text() == QLatin1String("Restore")) b->click();
        });
        poll.start();
        QVERIFY(window.offerRecovery());
        QVERIFY2(question.contains(QDir::toNativeSeparators(original)), qPrintable(question));
        SessionController* doc = window.sessionController();
        QCOMPARE(doc->sessionPath(), original);
        QVERIFY(doc->isModified());
        QVERIFY(window.isWindowModified());
        QCOMPARE(doc->bookmarks().size(), std::size_t(1));
        QCOMPARE(window.decodeController()->settings().margin, 4);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(window.decodeController()), kWaitMs);
        QVERIFY(specvla::app::Autosave::findRecoverable().isEmpty()); // taken over
        // Saving writes the recovered state into the original file.
        QVERIFY(window.saveSessionOrAsk());
        QCOMPARE(session::readSession(original.toStdString()).settings.margin, 4);
        QVERIFY(!window.offerRecovery()); // nothing left to offer, no dialog
    }

    void closingAModifiedSessionAsks() {
        // Save / Discard / Cancel before a modified session is closed or replaced; unattended windows never
        // ask and keep the work in an autosave instead.
        const QString file = m_dir.filePath(QStringLiteral("ask.specvla.json"));
        auto answer = [](QMessageBox::StandardButton which, QString* text) {
            auto* poll = new QTimer;
            poll->setInterval(20);
            QObject::connect(poll, &QTimer::timeout, poll, [poll, which, text] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                if (!box) return;
                poll->stop(); // before the click: deleteLater may wait until an outer event loop runs
                *text = box->text();
                box->button(which)->click();
                poll->deleteLater();
            });
            poll->start();
        };
        QString asked;
        {
            MainWindow window;
            window.show();
            openFixtures(window, file);
            QVERIFY(window.close()); // nothing modified: no question
            window.show();
            window.decodeController()->views().controls->marginSlider()->setValue(2);
            QVERIFY(window.sessionController()->isModified());

            answer(QMessageBox::Cancel, &asked);
            QVERIFY(!window.close());
            QVERIFY(window.isVisible());
            QVERIFY2(asked.contains(QLatin1String("ask.specvla.json")), qPrintable(asked));
            asked.clear();
            answer(QMessageBox::Cancel, &asked);
            QVERIFY(!window.openSession(m_dir.filePath(QStringLiteral("undo.specvla.json"))));
            QVERIFY(!asked.isEmpty());
            QCOMPARE(window.sessionController()->sessionPath(), file); // still the same document
            QCOMPARE(window.decodeController()->settings().margin, 2);

            asked.clear();
            answer(QMessageBox::Discard, &asked);
            const bool closed = window.close();
            QVERIFY2(closed, qPrintable(asked));
            QCOMPARE(session::readSession(file.toStdString()).settings.margin, 9); // not saved
        }
        QVERIFY(specvla::app::Autosave::findRecoverable().isEmpty()); // discarded means discarded
        {
            MainWindow window;
            window.show();
            openFixtures(window, file);
            window.decodeController()->views().controls->marginSlider()->setValue(3);
            answer(QMessageBox::Save, &asked);
            QVERIFY(window.close());
            QCOMPARE(session::readSession(file.toStdString()).settings.margin, 3);
        }
        {
            MainWindow window;
            window.setInteractive(false);
            window.show();
            openFixtures(window, file);
            window.decodeController()->views().controls->marginSlider()->setValue(5);
            QVERIFY(window.close()); // no question
            QVERIFY(QFileInfo::exists(window.autosave()->autosavePath()));
        }
        const auto orphans = specvla::app::Autosave::findRecoverable();
        QCOMPARE(orphans.size(), 1);
        QCOMPARE(orphans.front().originalPath, file);
        QCOMPARE(session::readSession(orphans.front().autosavePath.toStdString()).settings.margin, 5);
        specvla::app::Autosave::discardRecoverable(orphans.front());
    }

    void movedFilesAreRelocated() {
        // A session whose inputs moved: the relocator is asked, the session opens with the new paths and is
        // marked modified; a cancelled relocation opens nothing and names the missing files.
        QTemporaryDir moved;
        const QString oldModel = m_dir.filePath(QStringLiteral("gone/model"));
        const session::Session s = specvla::testing::tinySession(
            oldModel, m_draft, m_dir.filePath(QStringLiteral("gone/episode.hdf5")));
        const QString file = m_dir.filePath(QStringLiteral("moved.specvla.json"));
        session::writeSession(file.toStdString(), s);

        MainWindow window;
        window.show();
        SessionController* doc = window.sessionController();
        QList<specvla::app::SessionInput> asked;
        doc->setRelocator(
            [&](const QString& path,
                const QList<specvla::app::SessionInput>& missing) -> std::optional<QStringList> {
                [&] { QCOMPARE(path, file); }();
                asked = missing;
                return std::nullopt; // Cancel
            });
        QVERIFY(!window.openSession(file)); // cancelled: nothing opened
        QCOMPARE(asked.size(), 2);
        QCOMPARE(asked[0].path, oldModel);
        QVERIFY(asked[0].isFolder);
        QVERIFY(!asked[1].isFolder);
        QVERIFY(window.decodeController()->modelDir().isEmpty()); // nothing opened
        QVERIFY(window.messageBar()->text().contains(QDir::toNativeSeparators(oldModel)));

        doc->setRelocator(
            [&](const QString&,
                const QList<specvla::app::SessionInput>& missing) -> std::optional<QStringList> {
                QStringList out;
                for (const auto& in : missing)
                    out << (in.isFolder ? m_model : m_episode);
                return out;
            });
        QVERIFY(window.openSession(file));
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(window.decodeController()), kWaitMs);
        QCOMPARE(window.decodeController()->modelDir(), m_model);
        QCOMPARE(window.decodeController()->episodePath(), m_episode);
        QVERIFY(doc->isModified()); // the new paths are not saved yet
        QVERIFY(window.saveSessionOrAsk());
        QCOMPARE(QString::fromStdString(session::readSession(file.toStdString()).model), m_model);
    }
};

QTEST_MAIN(TestUndo)
#include "test_undo.moc"
