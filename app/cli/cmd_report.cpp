// SPDX-License-Identifier: MIT
// specvla report: the workbench's session report (HTML, PDF, figures, data), headless. A Qt translation unit:
// it decodes through the torch-free report library and includes no torch header.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "common/error.h"
#include "report/report_data.h"
#include "report/report_writer.h"
#include "session/session_file.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>

#include <cstdio>
#include <filesystem>
#include <memory>

#include <unistd.h>

namespace specvla::cli {

std::string reportUsage() {
    return "usage: specvla report --session FILE --out DIR [--margins A:B[:S]] [--steps A:B]\n"
           "                      [--device cpu|cuda] [--dtype fp32|bf16] [--warmup N]\n"
           "                      [--width W] [--height H] [--dpi D]\n"
           "\n"
           "Writes the workbench's session report without a display: the session's episode (demo 0) decoded "
           "in "
           "AR,\n"
           "strict and relaxed mode (the session's margin and tree) in one run, interleaved per step, and a "
           "relaxed\n"
           "margin sweep. DIR receives report.html, report.pdf, report.json, figures/ (PNG and SVG) and "
           "data/\n"
           "(traces.json, rounds.csv, actions.csv, sweep.csv).\n"
           "  --session FILE       a workbench session (.json)\n"
           "  --out DIR            output folder (created)\n"
           "  --margins A:B[:S]    sweep margins A, A+S, ..., B (default 0:16:2), or r1,r2,...\n"
           "  --steps A:B          half-open step range (A:, :B allowed; default all)\n"
           "  --device cpu|cuda    default cpu;  --dtype fp32|bf16  default fp32\n"
           "  --warmup N           untimed rounds of every mode before the timed run (default 1)\n"
           "  --width W --height H figure size in pixels (default 1200 x 700);  --dpi D  default 150\n";
}

namespace {

std::vector<int> parseMargins(const std::string& s) {
    std::vector<int> out;
    if (s.find(':') != std::string::npos) {
        std::vector<int> parts;
        for (const std::string& field : splitFields(s, ':'))
            parts.push_back(parseInt("margins", field));
        if (parts.size() > 3) throw UsageError("--margins expects A:B or A:B:S, got '" + s + "'");
        const int a = parts[0], b = parts[1], step = parts.size() == 3 ? parts[2] : 1;
        if (a < 0 || b < a || step < 1) throw UsageError("--margins A:B:S needs 0 <= A <= B and S >= 1");
        for (int m = a; m <= b; m += step)
            out.push_back(m);
        return out;
    }
    for (const std::string& field : splitFields(s, ',')) {
        const int m = parseInt("margins", field);
        if (m < 0) throw UsageError("margins must not be negative");
        out.push_back(m);
    }
    return out;
}

// "A:B" half-open; A or B may be empty. Sets firstStep and maxSteps (0: to the end).
void parseSteps(const std::string& s, app::ReportOptions& o) {
    const std::size_t colon = s.find(':');
    if (colon == std::string::npos) throw UsageError("--steps expects A:B, got '" + s + "'");
    const std::string a = s.substr(0, colon), b = s.substr(colon + 1);
    o.firstStep = a.empty() ? 0 : parseInt("steps", a);
    if (o.firstStep < 0) throw UsageError("--steps A:B needs A >= 0");
    if (!b.empty()) {
        const int end = parseInt("steps", b);
        if (end <= o.firstStep) throw UsageError("--steps " + s + " selects no step");
        o.maxSteps = end - o.firstStep;
    }
}

// A terminal gets one line rewritten in place; a log gets a line per new phase or step.
void printProgress(int done, int total, const std::string& what) {
    static const bool tty = isatty(fileno(stderr)) != 0;
    static std::string last;
    if (tty) {
        if (total > 0)
            std::fprintf(stderr, "\r[%d/%d] %s\033[K", done, total, what.c_str());
        else
            std::fprintf(stderr, "\r%s\033[K", what.c_str());
        std::fflush(stderr);
    } else if (what != last) {
        if (total > 0)
            std::fprintf(stderr, "[%d/%d] %s\n", done, total, what.c_str());
        else
            std::fprintf(stderr, "%s\n", what.c_str());
    }
    last = what;
}

void printMetrics(const app::ReportData& d) {
    std::printf("%d steps of %s (%s), device %s, dtype %s\n", d.numSteps, d.demoName.c_str(),
                d.session.episodes.c_str(), d.options.device.c_str(), d.options.dtype.c_str());
    std::printf("%-8s %7s %8s %8s %8s %8s %8s %9s %9s\n", "mode", "margin", "tau", "passes", "speedup",
                "dev_ar", "same_ar", "p50 ms", "p90 ms");
    for (const app::ModeReport& m : d.modes) {
        const decode::RunMetrics& r = m.metrics;
        std::printf(
            "%-8s %7s %8s %8s %8s %8s %8s %9s %9s\n", m.name.c_str(),
            m.settings.mode == decode::DecodeMode::Relaxed
                ? (m.settings.marginPerDim ? "per-dim" : std::to_string(m.settings.margin).c_str())
                : "0",
            qPrintable(app::formatTau(r.acceptanceLength)), qPrintable(app::formatTau(r.passesPerAction)),
            qPrintable(app::formatSpeedup(m.speedup)), qPrintable(app::formatDeviation(r.meanAbsDevFromAr)),
            qPrintable(app::formatTau(r.exactMatchWithAr)), qPrintable(app::formatMs(r.latency.medianMs)),
            qPrintable(app::formatMs(r.latency.p90Ms)));
    }
    if (!d.sweep.empty()) {
        std::printf("sweep:\n%-8s %8s %8s %8s %8s\n", "margin", "tau", "passes", "speedup", "dev_ar");
        for (const app::SweepRow& s : d.sweep)
            std::printf("%-8d %8s %8s %8s %8s\n", s.margin,
                        qPrintable(app::formatTau(s.metrics.acceptanceLength)),
                        qPrintable(app::formatTau(s.metrics.passesPerAction)),
                        qPrintable(app::formatSpeedup(s.speedup)),
                        qPrintable(app::formatDeviation(s.metrics.meanAbsDevFromAr)));
    }
}

} // namespace

int runReport(const std::vector<std::string>& argv) {
    const Args args(
        argv, {"session", "out", "margins", "steps", "device", "dtype", "warmup", "width", "height", "dpi"},
        {});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    const auto sessionPath = args.value("session");
    const auto outDir = args.value("out");
    if (!sessionPath) throw UsageError("--session FILE is required");
    if (!outDir) throw UsageError("--out DIR is required");

    app::ReportOptions options;
    options.sweepMargins = parseMargins(args.value("margins").value_or("0:16:2"));
    if (auto s = args.value("steps")) parseSteps(*s, options);
    options.device = args.value("device").value_or("cpu");
    options.dtype = args.value("dtype").value_or("fp32");
    if (auto w = args.value("warmup")) options.warmup = parseInt("warmup", *w);
    if (options.warmup < 0) throw UsageError("--warmup must be >= 0");
    app::ReportWriteOptions write;
    if (auto w = args.value("width")) write.figureWidth = parseInt("width", *w);
    if (auto h = args.value("height")) write.figureHeight = parseInt("height", *h);
    if (auto dpi = args.value("dpi")) write.dpi = parseDouble("dpi", *dpi);
    if (write.figureWidth < 100 || write.figureWidth > 10000 || write.figureHeight < 100 ||
        write.figureHeight > 10000)
        throw UsageError("--width and --height must lie in 100..10000 pixels");
    if (write.dpi < 24 || write.dpi > 2400) throw UsageError("--dpi must lie in 24..2400");

    // Read the session before anything slow: a bad file fails at once, naming itself.
    const std::string path = std::filesystem::absolute(*sessionPath).lexically_normal().string();
    const session::Session session = session::readSession(path);

    // The figures are widgets: no display needed, but a QApplication is.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "specvla";
    static char* qtArgv[] = {name, nullptr};
    QApplication qtApp(argc, qtArgv);

    const app::ReportData data = app::collectReport(session, path, options, printProgress);
    if (isatty(fileno(stderr))) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "writing the report to %s\n", outDir->c_str());
    app::ReportFiles files;
    QString error;
    if (!app::writeReport(data, QString::fromStdString(*outDir), write, &files, &error))
        throw Error(error.toStdString());

    printMetrics(data);
    std::printf("wrote:\n  %s\n  %s\n  %s\n", qPrintable(QDir::toNativeSeparators(files.html)),
                qPrintable(QDir::toNativeSeparators(files.pdf)),
                qPrintable(QDir::toNativeSeparators(files.json)));
    for (const QString& f : files.figures + files.data)
        std::printf("  %s\n", qPrintable(QDir::toNativeSeparators(f)));
    return 0;
}

} // namespace specvla::cli
