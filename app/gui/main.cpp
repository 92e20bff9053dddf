// SPDX-License-Identifier: MIT
// specvla-workbench: the desktop workbench. Thin on purpose: parse the command line, build the window, and
// (for --screenshot) render it once the requested files are open.
#include "common/log.h"
#include "common/runtime.h"
#include "gui/checkpoint_dock.h"
#include "gui/decode_controller.h"
#include "gui/decode_controls.h"
#include "gui/main_window.h"
#include "gui/session_controller.h"
#include "gui/ui_bench.h"
#include "session/session_file.h"

#include <QApplication>
#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QDir>
#include <QJsonDocument>
#include <QPixmap>
#include <QSaveFile>
#include <QSettings>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

bool hasArgument(int argc, char** argv, const char* name) {
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], name, std::strlen(name)) == 0) return true; // also --name=value
    }
    return false;
}

void installLogSink() {
    specvla::setLogSink([](specvla::LogLevel level, const std::string& message) {
        const QString text = QString::fromStdString(message);
        switch (level) {
        case specvla::LogLevel::Debug:
            qDebug().noquote() << text;
            break;
        case specvla::LogLevel::Info:
            qInfo().noquote() << text;
            break;
        case specvla::LogLevel::Warning:
            qWarning().noquote() << text;
            break;
        case specvla::LogLevel::Error:
            qCritical().noquote() << text;
            break;
        }
    });
}

int usageError(const QString& message) {
    std::fprintf(stderr, "specvla-workbench: %s\nTry --help.\n", qPrintable(message));
    return 2;
}

// An integer option of at least `min`: false when it is set to anything else; `value` is left as it is when
// the option is not set.
bool readInt(const QCommandLineParser& parser, const QCommandLineOption& option, int min, int& value) {
    if (!parser.isSet(option)) return true;
    bool ok = false;
    const int v = parser.value(option).toInt(&ok);
    if (!ok || v < min) return false;
    value = v;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    // A screenshot needs no display: fall back to the offscreen platform when none is reachable, instead of
    // letting Qt abort with "could not connect to display".
    if ((hasArgument(argc, argv, "--screenshot") || hasArgument(argc, argv, "--bench-ui")) &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }

    // Names and format first: every QSettings, including the window's, depends on them.
    QCoreApplication::setOrganizationName(QStringLiteral("SpecVLA"));
    QCoreApplication::setApplicationName(QStringLiteral("SpecVLA Workbench"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(specvla::specvlaVersion()));
    QSettings::setDefaultFormat(QSettings::IniFormat);

    // QGuiApplication takes "-session <id>" (X11 session management) out of argv before the parser sees it:
    // hand our --session over under its other name.
    std::vector<std::string> renamed;
    renamed.reserve(static_cast<std::size_t>(argc)); // never reallocates: the pointers taken stay valid
    std::vector<char*> args(argv, argv + argc);
    for (char*& arg : args) {
        if (std::strcmp(arg, "--session") == 0 || std::strncmp(arg, "--session=", 10) == 0) {
            renamed.push_back(std::string("--open-session") + (arg + 9));
            arg = renamed.back().data();
        }
    }
    args.push_back(nullptr);
    int argCount = argc;
    QApplication app(argCount, args.data());
    installLogSink();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("SpecVLA Workbench: speculative decoding of OpenVLA robot policies, with relaxed "
                       "acceptance, as a desktop workbench."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("file"),
                                 QStringLiteral("A session file (.specvla.json) to open, or a .safetensors "
                                                "file, an index .json or a checkpoint folder to open in the "
                                                "Checkpoint panel."),
                                 QStringLiteral("[session|checkpoint]"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Open what was given, wait until it has loaded (or failed), save an image of the "
                       "window to <file> (PNG, JPG, ...) and quit. Works without a display."),
        QStringLiteral("file"));
    const QCommandLineOption quitAfterOption(QStringLiteral("quit-after-ms"),
                                             QStringLiteral("Quit after <ms> milliseconds (smoke tests)."),
                                             QStringLiteral("ms"));
    const QCommandLineOption themeOption(QStringLiteral("theme"),
                                         QStringLiteral("Use this theme for this run without saving it: "
                                                        "system, light or dark."),
                                         QStringLiteral("theme"));
    const QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("Open this model folder."),
                                         QStringLiteral("dir"));
    const QCommandLineOption draftOption(
        QStringLiteral("draft"), QStringLiteral("Open this draft head folder."), QStringLiteral("dir"));
    const QCommandLineOption episodeOption(
        QStringLiteral("episode"), QStringLiteral("Open this LIBERO HDF5 episode."), QStringLiteral("file"));
    const QCommandLineOption unnormOption(QStringLiteral("unnorm-key"),
                                          QStringLiteral("Dataset statistics key of the model."),
                                          QStringLiteral("key"));
    const QCommandLineOption dtypeOption(QStringLiteral("dtype"), QStringLiteral("bf16 or fp32."),
                                         QStringLiteral("dtype"));
    const QCommandLineOption marginOption(
        QStringLiteral("margin"), QStringLiteral("Relaxed acceptance margin."), QStringLiteral("bins"));
    const QCommandLineOption stepOption(QStringLiteral("step"),
                                        QStringLiteral("Start at this episode step (overrides a session's)."),
                                        QStringLiteral("n"));
    const QCommandLineOption sessionOption(
        QStringList{QStringLiteral("session"), QStringLiteral("open-session")},
        QStringLiteral("Open this session file."), QStringLiteral("file"));
    const QCommandLineOption deviceOption(QStringLiteral("device"),
                                          QStringLiteral("cpu, or cuda where a GPU is available."),
                                          QStringLiteral("device"));
    const QCommandLineOption threadsOption(
        QStringLiteral("threads"),
        QStringLiteral("libtorch threads for decoding (default: all cores; on a 2-core machine one is faster "
                       "for the small demo model)."),
        QStringLiteral("n"));
    const QCommandLineOption benchOption(
        QStringLiteral("bench-ui"),
        QStringLiteral(
            "After the first whole-episode decode, measure slider->views latency, event-loop stalls "
            "during a background re-decode and the re-decode's wall time; print them and quit."));
    const QCommandLineOption benchJsonOption(
        QStringLiteral("bench-json"), QStringLiteral("With --bench-ui: also write the results to <file>."),
        QStringLiteral("file"));
    const QCommandLineOption benchSamplesOption(
        QStringLiteral("bench-samples"),
        QStringLiteral("With --bench-ui: margin changes to time (default 24)."), QStringLiteral("n"));
    parser.addOption(screenshotOption);
    parser.addOption(quitAfterOption);
    parser.addOption(themeOption);
    for (const auto& o :
         {modelOption, draftOption, episodeOption, unnormOption, dtypeOption, marginOption, stepOption,
          sessionOption, deviceOption, threadsOption, benchOption, benchJsonOption, benchSamplesOption})
        parser.addOption(o);
    parser.process(app); // handles --help, --version and unknown options (exits)

    int threads = 0; // all cores
    if (!readInt(parser, threadsOption, 1, threads))
        return usageError(QStringLiteral("--threads needs a positive number"));
    specvla::initTorchThreads(threads);

    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1) return usageError(QStringLiteral("give at most one session or checkpoint"));
    QString checkpoint = positional.isEmpty() ? QString() : positional.first();
    QString sessionFile = parser.value(sessionOption);
    if (!checkpoint.isEmpty() &&
        specvla::session::isSessionFile(QDir::toNativeSeparators(checkpoint).toStdString())) {
        if (!sessionFile.isEmpty()) return usageError(QStringLiteral("give one session, not two"));
        sessionFile = checkpoint;
        checkpoint.clear();
    }
    int step = 0;
    if (!readInt(parser, stepOption, 0, step))
        return usageError(QStringLiteral("--step needs a non-negative step number"));
    const std::optional<int> stepOverride =
        parser.isSet(stepOption) ? std::optional<int>(step) : std::nullopt;
    const bool bench = parser.isSet(benchOption);
    int benchSamples = 24;
    if (!readInt(parser, benchSamplesOption, 1, benchSamples))
        return usageError(QStringLiteral("--bench-samples needs a positive number"));
    if (bench && sessionFile.isEmpty() && (!parser.isSet(modelOption) || !parser.isSet(episodeOption)))
        return usageError(
            QStringLiteral("--bench-ui needs --session FILE or --model DIR and --episode FILE"));

    int quitAfterMs = -1;
    if (!readInt(parser, quitAfterOption, 0, quitAfterMs))
        return usageError(QStringLiteral("--quit-after-ms needs a non-negative number of milliseconds"));
    std::optional<specvla::widgets::Theme> theme;
    if (parser.isSet(themeOption)) {
        theme = specvla::widgets::themeFromKey(parser.value(themeOption));
        if (!theme) return usageError(QStringLiteral("--theme must be system, light or dark"));
    }
    const QString screenshotFile = parser.value(screenshotOption);
    if (parser.isSet(screenshotOption) && screenshotFile.isEmpty())
        return usageError(QStringLiteral("--screenshot needs a file name"));

    specvla::app::MainWindow window;
    if (theme) window.setTheme(*theme, false);
    window.show();
    // Unattended runs (benchmarks, screenshots, timed quits) never stop at a dialog: a session's missing
    // inputs are only named in the message bar, and crash recovery is left for the next interactive start.
    const bool interactive = !bench && screenshotFile.isEmpty() && quitAfterMs < 0;
    if (!interactive) {
        window.sessionController()->setRelocator({});
        window.setInteractive(false); // no Save / Discard question on close either
    }
    // After a crash, the autosaved session is offered first; restoring it replaces what the command line
    // names.
    const bool recovered = interactive && window.offerRecovery();

    // Model, draft and episode from the command line (the README's demo command uses them), or a session.
    specvla::app::DecodeController* decode = window.decodeController();
    specvla::app::DecodeControls* controls = decode->views().controls;
    QString model = parser.value(modelOption), episode = parser.value(episodeOption);
    if (parser.isSet(deviceOption) && !controls->setDevice(parser.value(deviceOption))) {
        return usageError(
            QStringLiteral("--device %1 is not available here (available: %2)")
                .arg(parser.value(deviceOption), controls->devices().join(QStringLiteral(", "))));
    }
    if (parser.isSet(dtypeOption)) controls->setDtype(parser.value(dtypeOption));
    if (recovered) {
        sessionFile.clear();
        model.clear();
        episode.clear();
    }
    if (!sessionFile.isEmpty()) {
        const bool opened = window.openSession(sessionFile, stepOverride);
        if (!window.sessionController()->missingPaths().isEmpty() && bench) {
            std::fprintf(stderr, "specvla-workbench: the session names missing files: %s\n",
                         qPrintable(window.sessionController()->missingPaths().join(QStringLiteral(", "))));
            return 1;
        }
        if (!opened && bench) {
            std::fprintf(stderr, "specvla-workbench: cannot open the session %s\n", qPrintable(sessionFile));
            return 1;
        }
        model = decode->modelDir();
        episode = decode->episodePath();
    }
    if (parser.isSet(unnormOption)) {
        controls->setUnnormKey(parser.value(unnormOption));
        if (!sessionFile.isEmpty()) decode->reloadModel(); // the command line's key wins over the session's
    }
    if (parser.isSet(marginOption)) controls->setMargin(parser.value(marginOption).toInt());
    if (sessionFile.isEmpty() && !recovered) {
        if (!model.isEmpty()) window.openModel(model);
        if (parser.isSet(draftOption)) window.openDraft(parser.value(draftOption));
        if (!episode.isEmpty()) {
            window.openEpisode(episode);
            const int startStep = stepOverride.value_or(0);
            QObject::connect(
                decode, &specvla::app::DecodeController::episodeReady, &window,
                [decode, startStep](int) { decode->setCurrentStep(startStep); },
                Qt::SingleShotConnection); // later episodes start at their own step 0
        }
    }

    std::unique_ptr<specvla::app::UiBench> uiBench;
    if (bench) {
        specvla::app::UiBenchOptions options;
        options.sliderSamples = benchSamples;
        uiBench = std::make_unique<specvla::app::UiBench>(decode, options);
        const QString jsonFile = parser.value(benchJsonOption);
        QObject::connect(
            uiBench.get(), &specvla::app::UiBench::finished, &app, [&app, &uiBench, jsonFile](bool ok) {
                for (const QString& line : uiBench->reportLines())
                    std::printf("%s\n", qPrintable(line));
                std::fflush(stdout);
                if (!jsonFile.isEmpty()) {
                    QSaveFile out(jsonFile);
                    const bool written = out.open(QIODevice::WriteOnly) &&
                                         out.write(QJsonDocument(uiBench->toJson()).toJson()) >= 0 &&
                                         out.commit();
                    if (!written) {
                        std::fprintf(stderr, "specvla-workbench: cannot write %s\n",
                                     qPrintable(QDir::toNativeSeparators(jsonFile)));
                        ok = false;
                    }
                }
                app.exit(ok ? 0 : 1);
            });
        uiBench->start();
    }

    if (!screenshotFile.isEmpty()) {
        auto taken = std::make_shared<bool>(false);
        auto takeScreenshot = [&window, &app, screenshotFile, taken] {
            if (*taken) return;
            *taken = true;
            // Let the event loop settle layouts and the final paint before grabbing.
            QTimer::singleShot(250, &window, [&window, &app, screenshotFile] {
                const QPixmap pixmap = window.grab();
                const bool ok = !pixmap.isNull() && pixmap.save(screenshotFile);
                if (ok) {
                    std::fprintf(stderr, "specvla-workbench: saved screenshot %s (%dx%d)\n",
                                 qPrintable(QDir::toNativeSeparators(screenshotFile)), pixmap.width(),
                                 pixmap.height());
                } else {
                    std::fprintf(stderr, "specvla-workbench: could not save screenshot to %s\n",
                                 qPrintable(QDir::toNativeSeparators(screenshotFile)));
                }
                app.exit(ok ? 0 : 1);
            });
        };
        if (!episode.isEmpty() && !model.isEmpty()) {
            // Wait until every step is decoded with the current settings and AR (or 120 s), then grab.
            auto poll = std::make_shared<QTimer>();
            poll->setInterval(250);
            QObject::connect(poll.get(), &QTimer::timeout, &window, [decode, takeScreenshot, poll] {
                const int n = decode->numSteps();
                bool done = n > 0;
                for (int i = 0; i < n && done; ++i)
                    done = decode->trace(i) && decode->arTrace(i);
                if (done) {
                    poll->stop();
                    takeScreenshot();
                }
            });
            poll->start();
            QTimer::singleShot(120000, &window, takeScreenshot);
        } else if (checkpoint.isEmpty()) {
            takeScreenshot();
        } else {
            specvla::app::CheckpointDock* dock = window.checkpointDock();
            QObject::connect(dock, &specvla::app::CheckpointDock::loaded, &window, takeScreenshot);
            QObject::connect(dock, &specvla::app::CheckpointDock::failed, &window, takeScreenshot);
            // Header reads take milliseconds; never hang a headless run if something stalls regardless.
            QTimer::singleShot(120000, &window, [takeScreenshot] {
                std::fprintf(stderr, "specvla-workbench: still loading after 120 s; taking the screenshot\n");
                takeScreenshot();
            });
        }
    }
    if (!checkpoint.isEmpty()) window.openCheckpoint(checkpoint);
    if (quitAfterMs >= 0) QTimer::singleShot(quitAfterMs, &app, &QCoreApplication::quit);

    return app.exec();
}
