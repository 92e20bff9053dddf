// SPDX-License-Identifier: MIT
// specvla-workbench: the desktop workbench. Thin on purpose: parse the command line, build the window, and
// (for --screenshot) render it once the requested files are open.
#include "common/log.h"
#include "common/runtime.h"
#include "gui/checkpoint_dock.h"
#include "gui/main_window.h"

#include <QApplication>
#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QDir>
#include <QPixmap>
#include <QSettings>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

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

} // namespace

int main(int argc, char** argv) {
    // A screenshot needs no display: fall back to the offscreen platform when none is reachable, instead of
    // letting Qt abort with "could not connect to display".
    if (hasArgument(argc, argv, "--screenshot") && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") &&
        qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }

    // Names and format first: every QSettings, including the window's, depends on them.
    QCoreApplication::setOrganizationName(QStringLiteral("SpecVLA"));
    QCoreApplication::setApplicationName(QStringLiteral("SpecVLA Workbench"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(specvla::specvlaVersion()));
    QSettings::setDefaultFormat(QSettings::IniFormat);

    QApplication app(argc, argv);
    installLogSink();
    specvla::initTorchThreads();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("SpecVLA Workbench: speculative decoding of OpenVLA robot policies, with relaxed "
                       "acceptance, as a desktop workbench."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("checkpoint"),
                                 QStringLiteral("A .safetensors file, an index .json or a checkpoint folder "
                                                "to open in the Checkpoint panel."),
                                 QStringLiteral("[checkpoint]"));
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
    parser.addOption(screenshotOption);
    parser.addOption(quitAfterOption);
    parser.addOption(themeOption);
    parser.process(app); // handles --help, --version and unknown options (exits)

    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1) return usageError(QStringLiteral("give at most one checkpoint"));
    const QString checkpoint = positional.isEmpty() ? QString() : positional.first();

    int quitAfterMs = -1;
    if (parser.isSet(quitAfterOption)) {
        bool ok = false;
        quitAfterMs = parser.value(quitAfterOption).toInt(&ok);
        if (!ok || quitAfterMs < 0)
            return usageError(QStringLiteral("--quit-after-ms needs a non-negative number of milliseconds"));
    }
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
        if (checkpoint.isEmpty()) {
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
