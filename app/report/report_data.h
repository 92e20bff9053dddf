// SPDX-License-Identifier: MIT
#pragma once

// The numbers of a session report (DESIGN.md, Sessions, export, reports): the session's episode decoded in
// AR, strict and relaxed mode in one run, interleaved per step, plus a relaxed margin sweep, the checkpoints'
// identity and the environment. Plain data and the collection that fills it; no widgets, so it runs on a
// worker thread (report_writer.h renders it on the GUI thread). Every metric comes from
// core/decode/metrics.h.
#include "decode/metrics.h"
#include "decode/settings.h"
#include "decode/trace.h"
#include "session/session_file.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace specvla::app {

struct ReportOptions {
    std::vector<int> sweepMargins = {0, 2, 4, 6, 8, 10, 12, 14, 16}; // relaxed margins of the sweep
    std::string device = "cpu";                                      // "cpu", "cuda", "cuda:N"
    std::string dtype = "fp32";                                      // "fp32", "bf16"
    int firstStep = 0;                                               // first episode step decoded
    int maxSteps = 0;                                                // steps decoded from firstStep; 0: all
    int warmup = 1; // untimed rounds of every mode on the first step before the timed run
};

// What identifies a checkpoint: its folder, the weight files hashed (in hashing order), the tensors they
// hold and a SHA-256 over the files' bytes, concatenated in that order.
struct CheckpointIdentity {
    std::string path;               // the folder (absolute)
    std::vector<std::string> files; // weight files hashed, relative to path
    long long tensorCount = -1;     // -1 when the format is not indexed here (torch .bin)
    std::uint64_t bytes = 0;        // tensor data bytes (safetensors), else the files' size
    std::string sha256;             // lower-case hex
};

// One decode mode over the decoded steps.
struct ModeReport {
    std::string name; // "ar", "strict", "relaxed"
    decode::DecodeSettings settings;
    // One trace per decoded step (step = ReportData::firstStep + index). Timings: the frame's vision and
    // prefill, measured once per step by an untimed preparing decode, plus this mode's decode of the prepared
    // frame (as `specvla sweep` counts them), so every mode carries the same frame cost.
    std::vector<decode::ActionTrace> traces;
    // decode::aggregate(traces with environmentActions applied, &AR traces, &recorded actions).
    decode::RunMetrics metrics;
    double speedup = 1; // decode::speedup(AR metrics, metrics), measured in the same run
};

// A relaxed decode of every step at one margin.
struct SweepRow {
    int margin = 0;
    decode::RunMetrics metrics; // as ModeReport::metrics
    double speedup = 1;         // decode::speedup(AR metrics, metrics)
};

struct ReportEnvironment {
    std::string program; // specvlaVersion()
    std::string qt;      // qVersion()
    std::string torch;   // torchVersion()
    std::string device;  // as requested
    std::string dtype;
    bool cudaAvailable = false;
    int threads = 0;           // libtorch intra-op threads
    std::string dateTime;      // local time, ISO 8601
    std::string host;          // operating system, e.g. "Debian GNU/Linux 12 (bookworm)"
    double collectSeconds = 0; // wall time of collectReport
};

struct ReportData {
    session::Session session; // as read (absolute paths)
    std::string sessionPath;
    ReportOptions options;

    std::string instruction;
    std::string demoName; // the episode file's demo decoded ("demo_0"): the workbench opens demo index 0
    int episodeSteps = 0; // steps of that demo
    int firstStep = 0;    // first decoded step
    int numSteps = 0;     // decoded steps
    std::vector<std::vector<double>> recorded; // recorded action of each decoded step

    CheckpointIdentity model;
    std::optional<CheckpointIdentity> draft;

    std::vector<ModeReport> modes; // "ar", then "strict" and "relaxed" when there is a draft head
    std::vector<SweepRow> sweep;   // empty without a draft head
    ReportEnvironment environment;

    const ModeReport* mode(const std::string& name) const; // null when absent
    // The mode the figures show: the session's own mode when it was decoded, else AR.
    const ModeReport& figureMode() const;
    // The speculative mode whose draft tree is drawn (the session's mode when speculative, else relaxed);
    // null without a draft head.
    const ModeReport* treeMode() const;
    // The decoded step the draft tree shows: the session's step when decoded, else the first decoded step.
    int treeStep() const;
};

// The LIBERO gripper convention applied to each trace's un-normalised action
// (decode::liberoGripperPostprocess), as the recorded actions use it; tokens, bins and normalised actions are
// unchanged.
std::vector<decode::ActionTrace> environmentActions(std::vector<decode::ActionTrace> traces);

// Progress: done and total work units (decodes, hashed files) and what is being done.
using ReportProgress = std::function<void(int done, int total, const std::string& what)>;

// Reads the session's episode (demo index 0, LIBERO preprocessing, as the workbench does), loads the model
// and draft head on options.device, and decodes every selected step: per step one untimed preparing decode,
// then AR, strict, relaxed (session margin) and each sweep margin, interleaved. Throws specvla::Error naming
// the file or field on a missing or invalid model, draft, episode, step range or margin; app::Cancelled
// (engine/engine.h) when *cancel becomes true. Safe on a worker thread (no widgets).
ReportData collectReport(const session::Session& session, const std::string& sessionPath,
                         const ReportOptions& options, ReportProgress progress = {},
                         const std::atomic<bool>* cancel = nullptr);

// Folder identity: weight files (model.safetensors.index.json's shards, or *.safetensors, else *.bin),
// tensor count and bytes, SHA-256. Throws specvla::Error naming the folder or file. cancel as above.
CheckpointIdentity identifyCheckpoint(const std::string& dir, const std::atomic<bool>* cancel = nullptr);

// Every number the HTML report shows, unrounded:
// {"format": "specvla-report", "version": 1, "session": {...}, "episode": {...}, "identity": {"model",
//  "draft"}, "modes": {"ar": {"settings", "metrics" (decode::toJson), "speedup", "latency_p50_ms",
//  "latency_p90_ms"}, ...}, "sweep": [{"margin", "acceptance_length", "passes_per_action", "speedup",
//  "mean_abs_dev_from_ar", "mean_bin_dev_from_ar", "exact_match_with_ar", "mean_abs_dev_from_recorded",
//  "exact_per_action", "relaxed_per_action", "latency_p50_ms"}], "steps": [{"step", "bookmark" (note or
//  null), "modes": {"ar": {"tau", "passes", "latency_ms", "deviation_from_ar", "tokens"}, ...}}],
//  "bookmarks": [{"step", "note"}], "notes", "environment": {...}, "options": {...}}
nlohmann::json reportToJson(const ReportData& data);

// Per-step values shown in the report's per-step table (from decode::actionMetrics / actionDeviation).
struct StepValues {
    double tau = 0;       // ActionMetrics::acceptanceLength
    int passes = 0;       // target passes, prefill included
    double latencyMs = 0; // StageTimes::total()
    double deviation = 0; // ActionDeviation::meanAbsNormalized against AR's trace of the step
};
StepValues stepValues(const ModeReport& mode, const ModeReport& ar, int index);

} // namespace specvla::app
