// SPDX-License-Identifier: MIT
// The workbench wired end to end on tiny checkpoints: model, draft and episode load through the window,
// every decoding view receives the traces, a margin change re-decodes the current step and then the
// episode, the step cursor moves every current-step view, a sweep cancels, and a bad model folder is
// reported in the message bar while the window stays usable.
#include "bin_distance_plot.h"
#include "common/runtime.h"
#include "draft_tree_view.h"
#include "frame_view.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/decoder_worker.h"
#include "gui/main_window.h"
#include "gui/recent_files.h"
#include "gui/session_controller.h"
#include "latency_plot.h"
#include "message_bar.h"
#include "session/session_file.h"
#include "support/gui_fixtures.h"
#include "support/tiny_model.h"
#include "support/tiny_session.h"
#include "sweep_plot.h"
#include "token_run_strip.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QScopeGuard>
#include <QSemaphore>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <tuple>

using specvla::app::DecodeController;
using specvla::app::DecoderWorker;
using specvla::app::MainWindow;
namespace decode = specvla::decode;

namespace {
constexpr int kSteps = 4;
constexpr int kWaitMs = 60000;

using specvla::testing::allDecoded;
} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QTemporaryDir m_settingsDir;
    QString m_model, m_draft, m_episode;

    // Opens the fixtures through the window's methods (no dialogs) and waits for the whole episode.
    void loadFixtures(MainWindow& window) {
        specvla::testing::openTinyFixtures(window, m_model, m_draft, m_episode);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        const auto f = specvla::testing::prepareGuiSuite(m_dir.path(), m_settingsDir.path(), kSteps);
        std::tie(m_model, m_draft, m_episode) = std::tie(f.model, f.draft, f.episode);
    }

    void dropKinds() {
        QVERIFY(MainWindow::isModelFolder(m_model));
        QVERIFY(!MainWindow::isModelFolder(m_draft));
        QVERIFY(MainWindow::isEpisodePath(m_episode));
        QVERIFY(!MainWindow::isEpisodePath(m_model));
    }

    void decodesAndRetunesMargin() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        const specvla::app::DecodeViews& v = c->views();
        QSignalSpy updated(c, &DecodeController::currentStepViewsUpdated);
        loadFixtures(window);

        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kWaitMs);
        QVERIFY(c->modelReady());
        QCOMPARE(c->numSteps(), kSteps);
        QVERIFY(v.tree->roundCount() > 0); // relaxed mode with a draft head: verify rounds
        QCOMPARE(v.tree->trace().settings.margin, 9);
        QTRY_VERIFY_WITH_TIMEOUT(!v.frame->image().isNull(), kWaitMs); // read off the UI thread
        QCOMPARE(v.timeline->stepCount(), kSteps);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(v.latency->stepCount(), kSteps, kWaitMs);
        for (int i = 0; i < kSteps; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(v.strip->row(i).present, kWaitMs); // after the coalesced redraw

        // The slider: the current step first, then the whole episode at the new margin.
        updated.clear();
        v.controls->marginSlider()->setValue(0);
        QCOMPARE(c->settings().margin, 0);
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kWaitMs);
        QCOMPARE(v.tree->trace().settings.margin, 0);
        QVERIFY(v.tree->roundCount() > 0);
        QCOMPARE(v.binDistance->margin(), 0);
        QCOMPARE(v.sweep->currentMargin(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        for (int i = 0; i < kSteps; ++i) {
            QCOMPARE(c->trace(i)->settings.margin, 0);
            QTRY_VERIFY_WITH_TIMEOUT(v.strip->row(i).present, kWaitMs);
            QTRY_COMPARE_WITH_TIMEOUT(
                v.strip->verifyRounds(i),
                specvla::widgets::TokenRunStrip::rowFromTrace(*c->trace(i)).verifyRounds, kWaitMs);
        }
        QTRY_VERIFY_WITH_TIMEOUT(c->arTrace(kSteps - 1) != nullptr, kWaitMs); // the AR baseline
        QTRY_COMPARE_WITH_TIMEOUT(v.latency->stepCount(), kSteps, kWaitMs);
        // The AR baseline and the re-decoded episode reuse the frames' vision and prefill work, so their
        // traces carry none of it; the latency plot charges each the frame's cost, as the first decode
        // measured it.
        QTRY_COMPARE_WITH_TIMEOUT(v.latency->arGraph()->data()->size(), kSteps, kWaitMs);
        for (int i = 0; i < kSteps; ++i) {
            const decode::ActionTrace* ar = c->arTrace(i);
            QVERIFY(ar && ar->fromCache && ar->ms.vision == 0 && ar->ms.prefill == 0);
            QVERIFY(c->trace(i)->fromCache);
            const double vision = v.latency->stageBars(0)->data()->at(i)->value;
            const double prefill = v.latency->stageBars(1)->data()->at(i)->value;
            QVERIFY2(vision > 0 && prefill > 0, qPrintable(QString::number(i)));
            QCOMPARE(v.latency->arGraph()->data()->at(i)->value, ar->ms.total() + vision + prefill);
        }

        // The step cursor: timeline, strip, latency cursor, frame and tree follow.
        updated.clear();
        const QImage before = v.frame->image();
        v.timeline->setCurrentStep(2);
        QCOMPARE(c->currentStep(), 2);
        QCOMPARE(v.strip->currentStep(), 2);
        QCOMPARE(v.latency->currentStep(), 2);
        QVERIFY(!v.frame->image().isNull());
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kWaitMs);
        QCOMPARE(updated.last().at(0).toInt(), 2);
        QCOMPARE(v.tree->trace().tokens, c->trace(2)->tokens);
        QTRY_VERIFY_WITH_TIMEOUT(v.frame->image() != before, kWaitMs); // the frame of step 2 is shown

        // Keyboard stepping through the Playback actions, listed in Help.
        QAction* next = nullptr;
        for (QAction* a : c->playbackActions())
            if (a->shortcut() == QKeySequence(Qt::Key_Right)) next = a;
        QVERIFY(next);
        next->trigger();
        QCOMPARE(c->currentStep(), 3);
        QCOMPARE(v.timeline->currentStep(), 3);
        bool listed = false;
        for (const auto& [name, keys] : window.shortcutList())
            listed = listed || name == QStringLiteral("Next Step");
        QVERIFY(listed);
        v.strip->stepClicked(1);
        QCOMPARE(v.timeline->currentStep(), 1);

        // A long sweep, cancelled after its first row.
        QStringList failures;
        QObject context;
        connect(c->worker(), &DecoderWorker::failed, &context, [&](const QString& m) { failures << m; });
        QTRY_VERIFY_WITH_TIMEOUT(c->worker()->pendingRequests() == 0, kWaitMs);
        QVector<int> margins;
        for (int i = 0; i < 400; ++i)
            margins << i % 33;
        c->startSweep(margins);
        QTRY_VERIFY_WITH_TIMEOUT(v.sweep->rowCount() >= 1, kWaitMs);
        c->cancel();
        QTRY_VERIFY_WITH_TIMEOUT(failures.contains(QStringLiteral("cancelled")), kWaitMs);
        QVERIFY(v.sweep->rowCount() < margins.size());
        QVERIFY(!window.messageBar()->isVisible()); // a cancel is no error
    }

    // The per-dimension table: enabling it and editing a cell emits settings with marginPerDim, the worker
    // decodes with them (all zeros give the AR tokens: the lossless invariant), and the slider path works
    // again once it is off.
    // A finished() of a superseded run can arrive while the run of the current settings is still queued.
    // It must not start the AR baseline ahead of that run: the baseline once replaced it in the worker's
    // queue, and the episode was never decoded at the current settings.
    void staleRunFinishedKeepsTheCurrentRun() {
        QSemaphore gate; // outlives the window, whose worker may wait on it
        bool held = false, released = false;
        MainWindow window;
        const auto releaseGate = qScopeGuard([&] {
            if (held && !released) gate.release();
        });
        window.show();
        DecodeController* c = window.decodeController();
        loadFixtures(window);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(c->arTrace(kSteps - 1) != nullptr, kWaitMs);

        // Hold the worker's thread as the model reloads, before it takes the step and run requests that
        // the reload makes; then deliver a stale finished("run") while they are queued.
        connect(c, &DecodeController::modelReadyChanged, this, [&](bool ready) {
            if (!ready || held) return;
            held = true;
            QMetaObject::invokeMethod(
                c->worker(), [&gate] { gate.acquire(); }, Qt::QueuedConnection);
        });
        c->reloadModel();
        QTRY_VERIFY_WITH_TIMEOUT(held && c->modelReady(), kWaitMs);
        QCOMPARE(c->trace(0), nullptr);
        QCOMPARE(c->arTrace(0), nullptr);
        const int pending = c->worker()->pendingRequests(); // the current step and its episode
        QCOMPARE(pending, 2);
        Q_EMIT c->worker()->finished(QStringLiteral("run")); // direct: emitted on the controller's thread
        QCOMPARE(c->worker()->pendingRequests(), pending);   // the baseline waits for the current run
        released = true;
        gate.release();
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(c->arTrace(kSteps - 1) != nullptr, kWaitMs); // and then the baseline
        for (int i = 0; i < kSteps; ++i) {
            QCOMPARE(c->trace(i)->settings.mode, decode::DecodeMode::Relaxed);
            QVERIFY(c->arTrace(i) != nullptr);
        }
    }

    void perDimensionMargins() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        specvla::app::DecodeControls* controls = c->views().controls;
        loadFixtures(window);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c) && c->arTrace(kSteps - 1), kWaitMs);
        QVERIFY(!controls->perDimTable()->isEnabled());
        QVERIFY(!c->settings().marginPerDim);

        QSignalSpy emitted(controls, &specvla::app::DecodeControls::settingsChanged);
        QSignalSpy decoded(c->worker(), &DecoderWorker::stepDecoded);
        QSignalSpy updated(c, &DecodeController::currentStepViewsUpdated);
        controls->marginSlider()->setValue(32);
        emitted.clear();
        controls->perDimCheck()->setChecked(true);
        QVERIFY(controls->perDimTable()->isEnabled());
        QVERIFY(!controls->marginSlider()->isEnabled());
        QCOMPARE(emitted.count(), 1);
        auto last = [&] { return emitted.last().at(0).value<decode::DecodeSettings>(); };
        QVERIFY(last().marginPerDim);
        QCOMPARE((*last().marginPerDim)[3], 32); // starts from the slider's margin

        for (int d = 0; d < specvla::app::DecodeControls::kDims; ++d)
            controls->perDimTable()->item(0, d)->setData(Qt::EditRole, d == 6 ? 99 : 0);
        QVERIFY(last().marginPerDim);
        using PerDim = std::optional<std::array<int, 7>>;
        const std::array<int, 7> zeros{0, 0, 0, 0, 0, 0, 0};
        const std::array<int, 7> gripper{0, 0, 0, 0, 0, 0, 32}; // 99 is clamped, in the cell as well
        QCOMPARE(*last().marginPerDim, gripper);
        QCOMPARE(controls->perDimTable()->item(0, 6)->data(Qt::EditRole).toInt(), 32);
        controls->perDimTable()->item(0, 6)->setData(Qt::EditRole, 0);
        QCOMPARE(*last().marginPerDim, zeros);
        QCOMPARE(c->settings().marginPerDim, PerDim(zeros));

        // The worker decodes with them, the current step first, then the whole episode.
        updated.clear();
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kWaitMs);
        QCOMPARE(c->views().tree->trace().settings.marginPerDim, PerDim(zeros));
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        bool sawPerDim = false;
        for (const QList<QVariant>& args : std::as_const(decoded)) {
            const auto t = args.at(1).value<decode::ActionTrace>();
            sawPerDim = sawPerDim || t.settings.marginPerDim == PerDim(zeros);
        }
        QVERIFY(sawPerDim);
        for (int i = 0; i < kSteps; ++i) {
            QCOMPARE(c->trace(i)->settings.marginPerDim, PerDim(zeros));
            QCOMPARE(c->trace(i)->settings.margin, 32);
            QCOMPARE(c->trace(i)->tokens, c->arTrace(i)->tokens); // margin 0 everywhere: lossless
        }

        // Off again: the slider's margin rules, and moving it re-decodes as before.
        controls->perDimCheck()->setChecked(false);
        QVERIFY(!last().marginPerDim);
        QVERIFY(controls->marginSlider()->isEnabled());
        updated.clear();
        controls->marginSlider()->setValue(5);
        QCOMPARE(last().margin, 5);
        QVERIFY(!last().marginPerDim);
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kWaitMs);
        QCOMPARE(c->views().tree->trace().settings.margin, 5);
        QVERIFY(!c->views().tree->trace().settings.marginPerDim);
        QTRY_VERIFY_WITH_TIMEOUT(allDecoded(c), kWaitMs);
        for (int i = 0; i < kSteps; ++i)
            QVERIFY(!c->trace(i)->settings.marginPerDim);
    }

    // CUDA is offered only where it is available, and the chosen device is the one the worker loads with.
    void deviceChoice() {
        MainWindow window;
        specvla::app::DecodeControls* controls = window.decodeController()->views().controls;
        QCOMPARE(controls->devices().contains(QStringLiteral("cuda")), specvla::cudaAvailable());
        QCOMPARE(controls->devices().first(), QStringLiteral("cpu"));
        QCOMPARE(controls->setDevice(QStringLiteral("cuda")), specvla::cudaAvailable());
        QVERIFY(!controls->setDevice(QStringLiteral("tpu")));
        QVERIFY(controls->setDevice(QStringLiteral("cpu")));
        QCOMPARE(controls->device(), QStringLiteral("cpu"));
        controls->setUnnormKey(QStringLiteral("tiny_dataset"));
        controls->setDtype(QStringLiteral("fp32"));
        window.openModel(m_model);
        QCOMPARE(window.decodeController()->device(), QStringLiteral("cpu"));
        QTRY_VERIFY_WITH_TIMEOUT(window.decodeController()->modelReady(), kWaitMs);
    }

    // A session opens the model, draft and episode and applies margin, mode, tree shape and step; one that
    // names a missing file says which and leaves the window usable; Save writes what is shown.
    void sessionOpensAndApplies() {
        MainWindow window;
        window.show();
        DecodeController* c = window.decodeController();
        c->views().controls->setDtype(QStringLiteral("fp32"));
        QVERIFY(c->views().controls->setDevice(QStringLiteral("cpu")));

        specvla::session::Session s =
            specvla::testing::tinySession(m_model, m_draft, m_dir.filePath(QStringLiteral("missing.hdf5")));
        s.settings.mode = decode::DecodeMode::Relaxed;
        s.settings.margin = 5;
        s.settings.tree.topK = 4;
        s.step = 2;
        const QString file = m_dir.filePath(QStringLiteral("s.specvla.json"));
        specvla::session::writeSession(file.toStdString(), s);

        // The relocation dialog is cancelled (tests never show modal dialogs; test_undo covers relocating).
        window.sessionController()->setRelocator(
            [](const QString&, const QList<specvla::app::SessionInput>&) -> std::optional<QStringList> {
                return std::nullopt;
            });
        QVERIFY(!window.openSession(file)); // readable, but its episode is gone and was not relocated
        QVERIFY(window.messageBar()->isVisible());
        QCOMPARE(window.messageBar()->level(), specvla::widgets::MessageBar::Level::Error);
        QVERIFY(window.messageBar()->text().contains(
            QDir::toNativeSeparators(m_dir.filePath(QStringLiteral("missing.hdf5")))));
        QVERIFY(c->modelDir().isEmpty()); // nothing half-opened

        // An unreadable session: its error names the file and the field.
        QFile broken(m_dir.filePath(QStringLiteral("broken.specvla.json")));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(R"({"format": "specvla-session", "version": 7})");
        broken.close();
        QVERIFY(!window.openSession(broken.fileName()));
        QVERIFY(
            window.messageBar()->text().contains(QStringLiteral("newer SpecVLA Workbench (version 7 > 2)")));

        s.episodes = m_episode.toStdString();
        specvla::session::writeSession(file.toStdString(), s);
        QSignalSpy updated(c, &DecodeController::currentStepViewsUpdated);
        QVERIFY(window.openSession(file));
        QCOMPARE(c->views().controls->marginSlider()->value(), 5);
        QCOMPARE(c->settings().margin, 5);
        QCOMPARE(c->settings().tree.topK, 4);
        QCOMPARE(c->views().controls->unnormKey(), QStringLiteral("tiny_dataset"));
        QTRY_VERIFY_WITH_TIMEOUT(c->modelReady() && c->numSteps() == kSteps, kWaitMs);
        QVERIFY(c->hasDraft());
        QCOMPARE(c->currentStep(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty() && updated.last().at(0).toInt() == 2, kWaitMs);
        QCOMPARE(c->views().tree->trace().settings.margin, 5);
        QCOMPARE(c->views().tree->trace().settings.tree.topK, 4);
        QVERIFY(!window.messageBar()->isVisible());
        QCOMPARE(window.recentSessions()->paths(), QStringList({QDir::cleanPath(file)}));

        // A step override (the command line's --step) wins over the session's.
        QVERIFY(window.openSession(file, 1));
        QTRY_COMPARE_WITH_TIMEOUT(c->currentStep(), 1, kWaitMs);

        // Save: what the window shows, paths relative to the saved file.
        c->views().controls->setMargin(7);
        c->setCurrentStep(3);
        const QString saved = m_dir.filePath(QStringLiteral("saved.specvla.json"));
        QVERIFY(window.saveSession(saved));
        const auto back = specvla::session::readSession(saved.toStdString());
        QCOMPARE(back.settings.margin, 7);
        QCOMPARE(back.step, 3);
        QCOMPARE(QString::fromStdString(back.model), QDir::cleanPath(m_model));
        QFile raw(saved);
        QVERIFY(raw.open(QIODevice::ReadOnly));
        QVERIFY(raw.readAll().contains("\"model\": \"model\""));
    }

    void badModelFolderIsReported() {
        MainWindow window;
        window.show();
        const QString bad = m_dir.filePath(QStringLiteral("bad_model"));
        QVERIFY(QDir().mkpath(bad));
        QFile config(QDir(bad).filePath(QStringLiteral("config.json")));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write("{\"model_type\": \"openvla\"}");
        config.close();
        DecodeController* c = window.decodeController();
        c->views().controls->setUnnormKey(QStringLiteral("tiny_dataset"));
        c->views().controls->deviceCombo()->setCurrentIndex(0);
        window.openModel(bad);
        QTRY_VERIFY_WITH_TIMEOUT(window.messageBar()->isVisible(), kWaitMs);
        QCOMPARE(window.messageBar()->level(), specvla::widgets::MessageBar::Level::Error);
        QVERIFY(!c->modelReady());
        // Still usable: the good model loads afterwards and clears the message.
        window.openModel(m_model);
        QTRY_VERIFY_WITH_TIMEOUT(c->modelReady(), kWaitMs);
        QVERIFY(!window.messageBar()->isVisible());
        QVERIFY(window.isVisible());
    }
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
