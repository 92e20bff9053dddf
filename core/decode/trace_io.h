// SPDX-License-Identifier: MIT
#pragma once

// Traces, settings and metrics as JSON and CSV. Plain C++17 (no torch, no Qt): the CLI, the session files,
// the exports and the UI share these writers, so every file carries the same field names.
//
// JSON field names are snake_case. An action trace:
//   { "settings": {...}, "rounds": [ { "index", "committed_before", "nodes": [ { "token", "bin", "parent",
//     "depth", "dim", "draft_log_prob", "score", "target_token", "target_bin", "bin_distance", "verdict" } ],
//     "accepted_path", "accepted_drafts", "exact_accepted", "relaxed_accepted", "bonus_token",
//     "bonus_committed", "capped", "ms": { "vision", "prefill", "draft", "verify", "other" } } ],
//     "tokens", "bins", "normalized", "action", "target_passes", "draft_passes", "from_cache", "ms": {...} }
// Verdicts, modes and path choices are written by name (verdictName, modeName, pathChoiceName).
#include "decode/metrics.h"
#include "decode/settings.h"
#include "decode/trace.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace specvla::decode {

// Settings: { "mode", "margin", "margin_per_dim" (7 ints or null), "relax_only_action_tokens",
// "tree": { "top_k", "depth", "total_tokens" }, "path_choice", "reference_position_quirk", "max_tokens" }.
nlohmann::json toJson(const DecodeSettings& settings);
// Version-tolerant: absent keys keep their defaults, unknown keys are ignored. A present key of the wrong
// type or out of range throws Error naming the field (e.g. "decode settings: 'tree.top_k' must be an integer
// >= 1").
DecodeSettings settingsFromJson(const nlohmann::json& j);

nlohmann::json toJson(const StageTimes& ms);
nlohmann::json toJson(const ActionTrace& trace);
// The exact inverse of toJson(ActionTrace) (doubles and floats round-trip bit for bit). Every field is
// required except inside "settings" (settingsFromJson); a missing or malformed one throws Error naming its
// path, e.g. "action trace: 'rounds[1].nodes[4].verdict': unknown verdict 'maybe'". Structure is checked too:
// node parents precede their children and accepted-path indices lie inside the tree.
ActionTrace actionTraceFromJson(const nlohmann::json& j);

nlohmann::json toJson(const RunMetrics& metrics);

// CSV (RFC 4180: comma separated, "\n" line ends, fields quoted when they contain a comma, a quote, CR or LF,
// quotes doubled). Numbers are written in the C locale with the shortest representation that round-trips.
// step = firstStep + index of the trace in `traces`.
//
// roundsCsv: one row per verify round: step, round, committed_before, accepted_drafts, exact, relaxed,
// bonus_token, bonus_committed, capped, tree_size, ms_draft, ms_verify, ms_other.
std::string roundsCsv(const std::vector<ActionTrace>& traces, int firstStep = 0);
// nodesCsv: one row per tree node: step, round, node, token, bin, parent, depth, dim, draft_log_prob, score,
// target_token, target_bin, bin_distance, verdict, on_accepted_path.
std::string nodesCsv(const std::vector<ActionTrace>& traces, int firstStep = 0);
// actionsCsv: one row per action: step, mode, tokens, bins, normalized, action (lists space separated),
// target_passes, draft_passes, rounds, acceptance_length, exact, relaxed, from_cache, ms_vision, ms_prefill,
// ms_draft, ms_verify, ms_other, ms_total.
std::string actionsCsv(const std::vector<ActionTrace>& traces, int firstStep = 0);

// One row of a margin sweep: relaxed decoding at `margin`, with its speedup against AR when one was measured.
struct SweepCsvRow {
    int margin = 0;
    const RunMetrics* metrics = nullptr;
    std::optional<double> speedup;
};
// sweepCsv: one row per margin: margin, acceptance_length, mean_acceptance_length, passes_per_action,
// speedup_vs_ar, acceptance_rate, exact_per_action, relaxed_per_action, mean_abs_dev_from_ar,
// mean_bin_dev_from_ar, exact_match_with_ar, mean_abs_dev_from_recorded, median_ms, p90_ms, actions. The
// deviations from AR are empty without an AR reference, the one from the recording without recorded actions,
// the speedup when none was measured.
std::string sweepCsv(const std::vector<SweepCsvRow>& rows);

// One CSV field, quoted when needed.
std::string csvField(const std::string& text);
// A number in the C locale, shortest round-trip form ("0.1", "7", "-2.5e-07"); "nan" / "inf" / "-inf".
std::string formatNumber(double value);

} // namespace specvla::decode
