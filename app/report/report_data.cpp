// SPDX-License-Identifier: MIT
// Collecting a session report: decoding through the torch-free engine facade (this file includes no torch
// header), hashing with QCryptographicHash. No widgets: it runs on a worker thread.
#include "report/report_data.h"

#include "common/error.h"
#include "common/runtime.h"
#include "data/libero_reader.h"
#include "decode/action_tokenizer.h"
#include "decode/trace_io.h"
#include "engine/engine.h"
#include "io/checkpoint.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFile>
#include <QSysInfo>
#include <QtGlobal>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace specvla::app {

namespace {

void checkCancel(const std::atomic<bool>* cancel) {
    if (cancel && cancel->load()) throw Cancelled();
}

// Appends the file's bytes to the hash in 1 MiB chunks.
void hashFile(QCryptographicHash& hash, const std::string& path, const std::atomic<bool>* cancel) {
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot open for hashing: " + file.errorString().toStdString());
    while (!file.atEnd()) {
        checkCancel(cancel);
        const QByteArray chunk = file.read(1 << 20);
        if (chunk.isEmpty() && file.error() != QFileDevice::NoError)
            throw Error(path + ": read error while hashing: " + file.errorString().toStdString());
        hash.addData(chunk);
    }
}

std::vector<std::string> filesWithExtension(const std::string& dir, const std::string& ext) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

void requireExists(const std::string& path, const std::string& what, const std::string& sessionPath) {
    if (path.empty()) throw Error(sessionPath + ": the session names no " + what);
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(path + ": the " + what + " named by " + sessionPath + " does not exist");
}

nlohmann::json identityJson(const CheckpointIdentity& id) {
    return {{"path", id.path},
            {"files", id.files},
            {"tensor_count", id.tensorCount},
            {"bytes", id.bytes},
            {"sha256", id.sha256}};
}

nlohmann::json modeJson(const ModeReport& m) {
    return {{"settings", decode::toJson(m.settings)},
            {"metrics", decode::toJson(m.metrics)},
            {"speedup", m.speedup},
            {"latency_p50_ms", m.metrics.latency.medianMs},
            {"latency_p90_ms", m.metrics.latency.p90Ms}};
}

} // namespace

const ModeReport* ReportData::mode(const std::string& name) const {
    for (const ModeReport& m : modes)
        if (m.name == name) return &m;
    return nullptr;
}

const ModeReport& ReportData::figureMode() const {
    if (const ModeReport* m = mode(decode::modeName(session.settings.mode))) return *m;
    if (modes.empty()) throw Error("the report has no decoded mode");
    return modes.front();
}

const ModeReport* ReportData::treeMode() const {
    if (session.settings.mode != decode::DecodeMode::Ar)
        if (const ModeReport* m = mode(decode::modeName(session.settings.mode))) return m;
    return mode("relaxed");
}

int ReportData::treeStep() const {
    if (session.step >= firstStep && session.step < firstStep + numSteps) return session.step;
    return firstStep;
}

std::vector<decode::ActionTrace> environmentActions(std::vector<decode::ActionTrace> traces) {
    for (decode::ActionTrace& t : traces)
        if (!t.action.empty()) decode::liberoGripperPostprocess(t.action);
    return traces;
}

StepValues stepValues(const ModeReport& mode, const ModeReport& ar, int index) {
    const auto i = static_cast<std::size_t>(index);
    const decode::ActionTrace& t = mode.traces.at(i);
    const decode::ActionMetrics m = decode::actionMetrics(t);
    StepValues v;
    v.tau = m.acceptanceLength;
    v.passes = m.targetPasses;
    v.latencyMs = t.ms.total();
    v.deviation = decode::actionDeviation(t, ar.traces.at(i)).meanAbsNormalized;
    return v;
}

CheckpointIdentity identifyCheckpoint(const std::string& dir, const std::atomic<bool>* cancel) {
    CheckpointIdentity id;
    id.path = fs::absolute(fs::path(dir)).lexically_normal().string();
    std::vector<std::string> files;
    try {
        const io::Checkpoint c = io::Checkpoint::open(dir);
        id.tensorCount = static_cast<long long>(c.tensors().size());
        id.bytes = c.totalBytes();
        files = c.shardPaths();
    } catch (const Error&) {
        // The draft head may be a torch .bin, which only the torch side reads: hash it, count no tensors.
        files = filesWithExtension(dir, ".bin");
        if (files.empty()) throw;
        for (const std::string& f : files)
            id.bytes += static_cast<std::uint64_t>(fs::file_size(f));
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (const std::string& f : files) {
        hashFile(hash, f, cancel);
        id.files.push_back(fs::path(f).lexically_relative(id.path).string());
        if (id.files.back().empty() || id.files.back().rfind("..", 0) == 0) id.files.back() = f;
    }
    id.sha256 = hash.result().toHex().toStdString();
    return id;
}

ReportData collectReport(const session::Session& session, const std::string& sessionPath,
                         const ReportOptions& options, ReportProgress progress,
                         const std::atomic<bool>* cancel) {
    const auto started = std::chrono::steady_clock::now();
    auto report = [&](int done, int total, const std::string& what) {
        if (progress) progress(done, total, what);
    };
    ReportData d;
    d.session = session;
    d.sessionPath = sessionPath;
    d.options = options;

    requireExists(session.model, "model folder", sessionPath);
    if (session.draft) requireExists(*session.draft, "draft head folder", sessionPath);
    requireExists(session.episodes, "episode file", sessionPath);
    for (int m : options.sweepMargins)
        if (m < 0) throw Error("report options: sweep margin " + std::to_string(m) + " is negative");
    if (options.warmup < 0) throw Error("report options: warmup must not be negative");
    if (options.firstStep < 0) throw Error("report options: first step must not be negative");
    if (options.maxSteps < 0) throw Error("report options: step count must not be negative");

    // The episode first: a bad file should not cost a model load.
    report(0, 0, "reading " + session.episodes);
    const data::LiberoFile file = data::LiberoFile::open(session.episodes);
    data::Episode episode = file.readDemo(0);
    if (episode.instruction.empty()) episode.instruction = file.instruction();
    d.instruction = episode.instruction;
    d.demoName = episode.demoName;
    d.episodeSteps = episode.numSteps;
    if (options.firstStep >= episode.numSteps)
        throw Error(session.episodes + ": first step " + std::to_string(options.firstStep) +
                    " is out of range (" + episode.demoName + " has " + std::to_string(episode.numSteps) +
                    " steps)");
    d.firstStep = options.firstStep;
    d.numSteps = episode.numSteps - options.firstStep;
    if (options.maxSteps > 0) d.numSteps = std::min(d.numSteps, options.maxSteps);

    checkCancel(cancel);
    report(0, 0, "hashing " + session.model);
    d.model = identifyCheckpoint(session.model, cancel);
    if (session.draft) {
        report(0, 0, "hashing " + *session.draft);
        d.draft = identifyCheckpoint(*session.draft, cancel);
    }

    report(0, 0, "loading " + session.model);
    std::unique_ptr<Engine> engine =
        Engine::load(session.model, session.draft.value_or(std::string()), options.device, options.dtype,
                     session.unnormKey.value_or(std::string()));
    engine->setEpisode(episode, ImagePreprocess::Libero);

    // The modes, all with the session's tree shape; relaxed keeps the session's margin (or margins per dim).
    const bool speculative = engine->hasDraft();
    decode::DecodeSettings base = session.settings;
    auto modeSettings = [&](decode::DecodeMode mode) {
        decode::DecodeSettings s = base;
        s.mode = mode;
        return s;
    };
    d.modes.push_back({"ar", modeSettings(decode::DecodeMode::Ar), {}, {}, 1});
    if (speculative) {
        d.modes.push_back({"strict", modeSettings(decode::DecodeMode::Strict), {}, {}, 1});
        d.modes.push_back({"relaxed", modeSettings(decode::DecodeMode::Relaxed), {}, {}, 1});
    }
    std::vector<decode::DecodeSettings> sweepSettings;
    std::vector<std::vector<decode::ActionTrace>> sweepTraces;
    if (speculative)
        for (int m : options.sweepMargins) {
            decode::DecodeSettings s = modeSettings(decode::DecodeMode::Relaxed);
            s.margin = m;
            s.marginPerDim.reset();
            sweepSettings.push_back(s);
        }
    sweepTraces.resize(sweepSettings.size());

    const int perStep = 1 + static_cast<int>(d.modes.size() + sweepSettings.size());
    const int warmDecodes = options.warmup * static_cast<int>(d.modes.size());
    const int total = warmDecodes + d.numSteps * perStep;
    int done = 0;

    // Warm-up: one-off costs (allocations, first kernels) stay out of the timed run. The cache is emptied
    // afterwards so that every step's preparation is measured by its own preparing decode.
    for (int w = 0; w < options.warmup; ++w)
        for (const ModeReport& m : d.modes) {
            report(done, total, "warming up");
            engine->decodeStep(d.firstStep, m.settings, cancel);
            ++done;
        }
    engine->clearCache();

    auto timed = [&](int step, const decode::DecodeSettings& s, const decode::StageTimes& prepared) {
        decode::ActionTrace t = engine->decodeStep(step, s, cancel);
        // A decode of the cached frame carries no vision or prefill time; add the frame's, measured once.
        t.ms.vision = prepared.vision;
        t.ms.prefill = prepared.prefill;
        return t;
    };
    for (int i = 0; i < d.numSteps; ++i) {
        const int step = d.firstStep + i;
        const std::string what = "step " + std::to_string(step) + " (" + std::to_string(i + 1) + " of " +
                                 std::to_string(d.numSteps) + ")";
        report(done, total, what);
        const decode::ActionTrace prepare = engine->decodeStep(step, d.modes.front().settings, cancel);
        ++done;
        for (ModeReport& m : d.modes) {
            m.traces.push_back(timed(step, m.settings, prepare.ms));
            report(++done, total, what);
        }
        for (std::size_t k = 0; k < sweepSettings.size(); ++k) {
            sweepTraces[k].push_back(timed(step, sweepSettings[k], prepare.ms));
            report(++done, total, what);
        }
        d.recorded.push_back(engine->recordedAction(step));
    }

    const std::vector<decode::ActionTrace>& ar = d.modes.front().traces;
    for (ModeReport& m : d.modes)
        m.metrics = decode::aggregate(environmentActions(m.traces), &ar, &d.recorded);
    const decode::RunMetrics& arMetrics = d.modes.front().metrics;
    for (ModeReport& m : d.modes)
        m.speedup = decode::speedup(arMetrics, m.metrics);
    for (std::size_t k = 0; k < sweepSettings.size(); ++k) {
        SweepRow row;
        row.margin = sweepSettings[k].margin;
        row.metrics = decode::aggregate(environmentActions(sweepTraces[k]), &ar, &d.recorded);
        row.speedup = decode::speedup(arMetrics, row.metrics);
        d.sweep.push_back(std::move(row));
    }

    ReportEnvironment& env = d.environment;
    env.program = specvlaVersion();
    env.qt = qVersion();
    env.torch = torchVersion();
    env.device = options.device;
    env.dtype = options.dtype;
    env.cudaAvailable = cudaAvailable();
    env.threads = torchThreads();
    env.dateTime = QDateTime::currentDateTime().toString(Qt::ISODate).toStdString();
    env.host = QSysInfo::prettyProductName().toStdString() + " (" + QSysInfo::kernelType().toStdString() +
               " " + QSysInfo::kernelVersion().toStdString() + ", " +
               QSysInfo::currentCpuArchitecture().toStdString() + ")";
    env.collectSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report(total, total, "done");
    return d;
}

nlohmann::json reportToJson(const ReportData& d) {
    const session::Session& s = d.session;
    nlohmann::json bookmarks = nlohmann::json::array();
    for (const session::Bookmark& b : s.bookmarks)
        bookmarks.push_back({{"step", b.step}, {"note", b.note}});
    nlohmann::json j = {
        {"format", "specvla-report"},
        {"version", 1},
        {"session",
         {{"path", d.sessionPath},
          {"model", s.model},
          {"draft", s.draft ? nlohmann::json(*s.draft) : nlohmann::json(nullptr)},
          {"episodes", s.episodes},
          {"unnorm_key", s.unnormKey ? nlohmann::json(*s.unnormKey) : nlohmann::json(nullptr)},
          {"settings", decode::toJson(s.settings)},
          {"view", {{"step", s.step}, {"round", s.round}, {"dimension", s.dimension}}}}},
        {"episode",
         {{"path", s.episodes},
          {"demo", d.demoName},
          {"instruction", d.instruction},
          {"steps", d.episodeSteps},
          {"first_step", d.firstStep},
          {"decoded_steps", d.numSteps}}},
        {"identity",
         {{"model", identityJson(d.model)},
          {"draft", d.draft ? identityJson(*d.draft) : nlohmann::json(nullptr)}}},
        {"bookmarks", bookmarks},
        {"notes", s.notes},
    };
    nlohmann::json modes = nlohmann::json::object();
    for (const ModeReport& m : d.modes)
        modes[m.name] = modeJson(m);
    j["modes"] = modes;

    nlohmann::json sweep = nlohmann::json::array();
    for (const SweepRow& r : d.sweep) {
        const decode::RunMetrics& m = r.metrics;
        sweep.push_back({{"margin", r.margin},
                         {"acceptance_length", m.acceptanceLength},
                         {"passes_per_action", m.passesPerAction},
                         {"speedup", r.speedup},
                         {"mean_abs_dev_from_ar", m.meanAbsDevFromAr},
                         {"mean_bin_dev_from_ar", m.meanBinDevFromAr},
                         {"exact_match_with_ar", m.exactMatchWithAr},
                         {"mean_abs_dev_from_recorded", m.meanAbsDevFromRecorded},
                         {"exact_per_action", m.exactPerAction},
                         {"relaxed_per_action", m.relaxedPerAction},
                         {"latency_p50_ms", m.latency.medianMs}});
    }
    j["sweep"] = sweep;

    nlohmann::json steps = nlohmann::json::array();
    if (!d.modes.empty()) {
        const ModeReport& ar = d.modes.front();
        for (int i = 0; i < d.numSteps; ++i) {
            const int step = d.firstStep + i;
            const session::Bookmark* b = session::findBookmark(s.bookmarks, step);
            nlohmann::json row = {{"step", step},
                                  {"bookmark", b ? nlohmann::json(b->note) : nlohmann::json(nullptr)}};
            nlohmann::json perMode = nlohmann::json::object();
            for (const ModeReport& m : d.modes) {
                const StepValues v = stepValues(m, ar, i);
                perMode[m.name] = {{"tau", v.tau},
                                   {"passes", v.passes},
                                   {"latency_ms", v.latencyMs},
                                   {"deviation_from_ar", v.deviation},
                                   {"tokens", m.traces[static_cast<std::size_t>(i)].tokens}};
            }
            row["modes"] = perMode;
            steps.push_back(std::move(row));
        }
    }
    j["steps"] = steps;

    const ReportEnvironment& e = d.environment;
    j["environment"] = {{"program", e.program}, {"qt", e.qt},
                        {"libtorch", e.torch},  {"device", e.device},
                        {"dtype", e.dtype},     {"cuda_available", e.cudaAvailable},
                        {"threads", e.threads}, {"date_time", e.dateTime},
                        {"host", e.host},       {"collect_seconds", e.collectSeconds}};
    j["options"] = {{"sweep_margins", d.options.sweepMargins},
                    {"device", d.options.device},
                    {"dtype", d.options.dtype},
                    {"first_step", d.options.firstStep},
                    {"max_steps", d.options.maxSteps},
                    {"warmup", d.options.warmup}};
    return j;
}

} // namespace specvla::app
