// SPDX-License-Identifier: MIT
#include "decode/trace_io.h"

#include "common/error.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace specvla::decode {
namespace {

using nlohmann::json;

constexpr Verdict kVerdicts[] = {Verdict::Root, Verdict::Exact, Verdict::Relaxed, Verdict::Rejected,
                                 Verdict::NotReached};
constexpr PathChoice kPathChoices[] = {PathChoice::FewestRelaxed, PathChoice::ReferenceOrder};

// Strict field access that names the field's path in every error: "<what>: '<path>' <problem>".
class Fields {
public:
    explicit Fields(std::string what) : m_what(std::move(what)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        throw Error(m_what + ": '" + path + "' " + problem);
    }

    static std::string join(const std::string& prefix, const std::string& key) {
        return prefix.empty() ? key : prefix + "." + key;
    }
    static std::string at(const std::string& prefix, std::size_t i) {
        return prefix + "[" + std::to_string(i) + "]";
    }

    const json& require(const json& obj, const std::string& prefix, const std::string& key) const {
        if (!obj.is_object()) fail(prefix.empty() ? "(top level)" : prefix, "must be an object");
        const auto it = obj.find(key);
        if (it == obj.end()) fail(join(prefix, key), "is missing");
        return *it;
    }

    int toInt(const json& v, const std::string& path) const {
        if (v.is_number_unsigned()) {
            if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
                fail(path, "is out of range");
            return static_cast<int>(v.get<std::uint64_t>());
        }
        if (!v.is_number_integer()) fail(path, "must be an integer, got " + std::string(v.type_name()));
        const auto x = v.get<std::int64_t>();
        if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
            fail(path, "is out of range");
        return static_cast<int>(x);
    }
    double toDouble(const json& v, const std::string& path) const {
        if (!v.is_number()) fail(path, "must be a number, got " + std::string(v.type_name()));
        return v.get<double>();
    }
    bool toBool(const json& v, const std::string& path) const {
        if (!v.is_boolean()) fail(path, "must be a boolean, got " + std::string(v.type_name()));
        return v.get<bool>();
    }
    std::string toString(const json& v, const std::string& path) const {
        if (!v.is_string()) fail(path, "must be a string, got " + std::string(v.type_name()));
        return v.get<std::string>();
    }
    const json& toArray(const json& v, const std::string& path) const {
        if (!v.is_array()) fail(path, "must be an array, got " + std::string(v.type_name()));
        return v;
    }

    int getInt(const json& o, const std::string& p, const std::string& k) const {
        return toInt(require(o, p, k), join(p, k));
    }
    double getDouble(const json& o, const std::string& p, const std::string& k) const {
        return toDouble(require(o, p, k), join(p, k));
    }
    bool getBool(const json& o, const std::string& p, const std::string& k) const {
        return toBool(require(o, p, k), join(p, k));
    }
    std::string getString(const json& o, const std::string& p, const std::string& k) const {
        return toString(require(o, p, k), join(p, k));
    }
    std::vector<int> getInts(const json& o, const std::string& p, const std::string& k) const {
        const std::string path = join(p, k);
        const json& a = toArray(require(o, p, k), path);
        std::vector<int> out;
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(toInt(a[i], at(path, i)));
        return out;
    }
    std::vector<double> getDoubles(const json& o, const std::string& p, const std::string& k) const {
        const std::string path = join(p, k);
        const json& a = toArray(require(o, p, k), path);
        std::vector<double> out;
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(toDouble(a[i], at(path, i)));
        return out;
    }

private:
    std::string m_what;
};

Verdict parseVerdict(const Fields& f, const json& v, const std::string& path) {
    const std::string name = f.toString(v, path);
    for (Verdict x : kVerdicts)
        if (name == verdictName(x)) return x;
    f.fail(path, "unknown verdict '" + name + "' (expected root, exact, relaxed, rejected or not_reached)");
}

StageTimes stagesFromJson(const Fields& f, const json& o, const std::string& prefix) {
    StageTimes ms;
    ms.vision = f.getDouble(o, prefix, "vision");
    ms.prefill = f.getDouble(o, prefix, "prefill");
    ms.draft = f.getDouble(o, prefix, "draft");
    ms.verify = f.getDouble(o, prefix, "verify");
    ms.other = f.getDouble(o, prefix, "other");
    return ms;
}

json toJson(const TreeNode& n) {
    return json{{"token", n.token},
                {"bin", n.bin},
                {"parent", n.parent},
                {"depth", n.depth},
                {"dim", n.dim},
                {"draft_log_prob", n.draftLogProb},
                {"score", n.score},
                {"target_token", n.targetToken},
                {"target_bin", n.targetBin},
                {"bin_distance", n.binDistance},
                {"verdict", verdictName(n.verdict)}};
}

json toJson(const RoundTrace& r) {
    json nodes = json::array();
    for (const TreeNode& n : r.nodes)
        nodes.push_back(toJson(n));
    return json{{"index", r.index},
                {"committed_before", r.committedBefore},
                {"nodes", std::move(nodes)},
                {"accepted_path", r.acceptedPath},
                {"accepted_drafts", r.acceptedDrafts},
                {"exact_accepted", r.exactAccepted},
                {"relaxed_accepted", r.relaxedAccepted},
                {"bonus_token", r.bonusToken},
                {"bonus_committed", r.bonusCommitted},
                {"capped", r.capped},
                {"ms", toJson(r.ms)}};
}

TreeNode nodeFromJson(const Fields& f, const json& o, const std::string& p) {
    TreeNode n;
    n.token = f.getInt(o, p, "token");
    n.bin = f.getInt(o, p, "bin");
    n.parent = f.getInt(o, p, "parent");
    n.depth = f.getInt(o, p, "depth");
    n.dim = f.getInt(o, p, "dim");
    n.draftLogProb = static_cast<float>(f.getDouble(o, p, "draft_log_prob"));
    n.score = static_cast<float>(f.getDouble(o, p, "score"));
    n.targetToken = f.getInt(o, p, "target_token");
    n.targetBin = f.getInt(o, p, "target_bin");
    n.binDistance = f.getInt(o, p, "bin_distance");
    n.verdict = parseVerdict(f, f.require(o, p, "verdict"), Fields::join(p, "verdict"));
    return n;
}

RoundTrace roundFromJson(const Fields& f, const json& o, const std::string& p) {
    RoundTrace r;
    r.index = f.getInt(o, p, "index");
    r.committedBefore = f.getInt(o, p, "committed_before");
    const std::string nodesPath = Fields::join(p, "nodes");
    const json& nodes = f.toArray(f.require(o, p, "nodes"), nodesPath);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string np = Fields::at(nodesPath, i);
        TreeNode n = nodeFromJson(f, nodes[i], np);
        // The tree views walk parents: the root has none, every other parent precedes its child.
        const bool ok = i == 0 ? n.parent == -1 : (n.parent >= 0 && static_cast<std::size_t>(n.parent) < i);
        if (!ok)
            f.fail(Fields::join(np, "parent"),
                   "is " + std::to_string(n.parent) +
                       (i == 0 ? ", the root's must be -1"
                               : ", must be an earlier node (0.." + std::to_string(i - 1) + ")"));
        r.nodes.push_back(n);
    }
    r.acceptedPath = f.getInts(o, p, "accepted_path");
    for (std::size_t i = 0; i < r.acceptedPath.size(); ++i)
        if (r.acceptedPath[i] < 0 || static_cast<std::size_t>(r.acceptedPath[i]) >= r.nodes.size())
            f.fail(Fields::at(Fields::join(p, "accepted_path"), i),
                   "is " + std::to_string(r.acceptedPath[i]) + ", outside the tree of " +
                       std::to_string(r.nodes.size()) + " nodes");
    r.acceptedDrafts = f.getInt(o, p, "accepted_drafts");
    r.exactAccepted = f.getInt(o, p, "exact_accepted");
    r.relaxedAccepted = f.getInt(o, p, "relaxed_accepted");
    r.bonusToken = f.getInt(o, p, "bonus_token");
    r.bonusCommitted = f.getBool(o, p, "bonus_committed");
    r.capped = f.getBool(o, p, "capped");
    r.ms = stagesFromJson(f, f.require(o, p, "ms"), Fields::join(p, "ms"));
    return r;
}

// Settings readers: tolerant of absent keys, strict on present ones.
int optInt(const Fields& f, const json& o, const std::string& p, const std::string& k, int current, int min) {
    const auto it = o.find(k);
    if (it == o.end()) return current;
    const int v = f.toInt(*it, Fields::join(p, k));
    if (v < min)
        f.fail(Fields::join(p, k),
               "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
    return v;
}
bool optBool(const Fields& f, const json& o, const std::string& k, bool current) {
    const auto it = o.find(k);
    return it == o.end() ? current : f.toBool(*it, k);
}

std::string joinNumbers(const std::vector<double>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? " " : "") + formatNumber(v[i]);
    return s;
}
std::string joinNumbers(const std::vector<int>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? " " : "") + std::to_string(v[i]);
    return s;
}

// Appends one CSV row (fields already formatted; each is quoted when needed).
void row(std::string& out, std::initializer_list<std::string> fields) {
    bool first = true;
    for (const std::string& field : fields) {
        if (!first) out += ',';
        out += csvField(field);
        first = false;
    }
    out += '\n';
}

std::string str(int v) {
    return std::to_string(v);
}
std::string str(bool v) {
    return v ? "1" : "0";
}
std::string num(double v) {
    return formatNumber(v);
}
std::string num(float v) { // shortest form that round-trips as a float: -0.1, not -0.10000000149011612
    if (!std::isfinite(v)) return formatNumber(v);
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

} // namespace

std::string csvField(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string formatNumber(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, value); // shortest round trip, locale-independent
    return std::string(buf, res.ptr);
}

json toJson(const DecodeSettings& s) {
    json perDim = nullptr;
    if (s.marginPerDim) perDim = json(std::vector<int>(s.marginPerDim->begin(), s.marginPerDim->end()));
    return json{
        {"mode", modeName(s.mode)},
        {"margin", s.margin},
        {"margin_per_dim", perDim},
        {"relax_only_action_tokens", s.relaxOnlyActionTokens},
        {"tree", {{"top_k", s.tree.topK}, {"depth", s.tree.depth}, {"total_tokens", s.tree.totalTokens}}},
        {"path_choice", pathChoiceName(s.pathChoice)},
        {"children", childChoiceName(s.children)},
        {"reference_position_quirk", s.referencePositionQuirk},
        {"max_tokens", s.maxTokens}};
}

DecodeSettings settingsFromJson(const json& j) {
    const Fields f("decode settings");
    if (!j.is_object()) f.fail("(top level)", "must be an object, got " + std::string(j.type_name()));
    DecodeSettings s;
    if (const auto it = j.find("mode"); it != j.end()) {
        const std::string name = f.toString(*it, "mode");
        const auto mode = parseMode(name);
        if (!mode) f.fail("mode", "unknown mode '" + name + "' (expected ar, strict or relaxed)");
        s.mode = *mode;
    }
    s.margin = optInt(f, j, "", "margin", s.margin, 0);
    if (const auto it = j.find("margin_per_dim"); it != j.end() && !it->is_null()) {
        const json& a = f.toArray(*it, "margin_per_dim");
        if (a.size() != 7) f.fail("margin_per_dim", "must hold 7 margins, got " + std::to_string(a.size()));
        std::array<int, 7> m{};
        for (std::size_t i = 0; i < 7; ++i) {
            m[i] = f.toInt(a[i], Fields::at("margin_per_dim", i));
            if (m[i] < 0)
                f.fail(Fields::at("margin_per_dim", i), "must be >= 0, got " + std::to_string(m[i]));
        }
        s.marginPerDim = m;
    } else if (it != j.end()) {
        s.marginPerDim.reset();
    }
    s.relaxOnlyActionTokens = optBool(f, j, "relax_only_action_tokens", s.relaxOnlyActionTokens);
    if (const auto it = j.find("tree"); it != j.end()) {
        if (!it->is_object()) f.fail("tree", "must be an object, got " + std::string(it->type_name()));
        s.tree.topK = optInt(f, *it, "tree", "top_k", s.tree.topK, 1);
        s.tree.depth = optInt(f, *it, "tree", "depth", s.tree.depth, 0);
        s.tree.totalTokens = optInt(f, *it, "tree", "total_tokens", s.tree.totalTokens, 1);
    }
    if (const auto it = j.find("path_choice"); it != j.end()) {
        const std::string name = f.toString(*it, "path_choice");
        bool found = false;
        for (PathChoice c : kPathChoices)
            if (name == pathChoiceName(c)) s.pathChoice = c, found = true;
        if (!found)
            f.fail("path_choice", "unknown path choice '" + name + "' (expected " +
                                      pathChoiceName(PathChoice::FewestRelaxed) + " or " +
                                      pathChoiceName(PathChoice::ReferenceOrder) + ")");
    }
    // Files written before the choice existed were decoded with plain top-k children.
    s.children = ChildChoice::TopK;
    if (const auto it = j.find("children"); it != j.end()) {
        const std::string name = f.toString(*it, "children");
        const auto choice = parseChildChoice(name);
        if (!choice)
            f.fail("children", "unknown child choice '" + name + "' (expected " +
                                   childChoiceName(ChildChoice::BinCoverage) + " or " +
                                   childChoiceName(ChildChoice::TopK) + ")");
        s.children = *choice;
    }
    s.referencePositionQuirk = optBool(f, j, "reference_position_quirk", s.referencePositionQuirk);
    s.maxTokens = optInt(f, j, "", "max_tokens", s.maxTokens, 1);
    return s;
}

json toJson(const StageTimes& ms) {
    return json{{"vision", ms.vision},
                {"prefill", ms.prefill},
                {"draft", ms.draft},
                {"verify", ms.verify},
                {"other", ms.other}};
}

json toJson(const ActionTrace& t) {
    json rounds = json::array();
    for (const RoundTrace& r : t.rounds)
        rounds.push_back(toJson(r));
    return json{{"settings", toJson(t.settings)},
                {"rounds", std::move(rounds)},
                {"tokens", t.tokens},
                {"bins", t.bins},
                {"normalized", t.normalized},
                {"action", t.action},
                {"target_passes", t.targetPasses},
                {"draft_passes", t.draftPasses},
                {"from_cache", t.fromCache},
                {"ms", toJson(t.ms)}};
}

ActionTrace actionTraceFromJson(const json& j) {
    const Fields f("action trace");
    ActionTrace t;
    const json& settings = f.require(j, "", "settings");
    try {
        t.settings = settingsFromJson(settings);
    } catch (const Error& e) {
        throw Error(std::string("action trace: ") + e.what());
    }
    const json& rounds = f.toArray(f.require(j, "", "rounds"), "rounds");
    for (std::size_t i = 0; i < rounds.size(); ++i)
        t.rounds.push_back(roundFromJson(f, rounds[i], Fields::at("rounds", i)));
    t.tokens = f.getInts(j, "", "tokens");
    t.bins = f.getInts(j, "", "bins");
    t.normalized = f.getDoubles(j, "", "normalized");
    t.action = f.getDoubles(j, "", "action");
    t.targetPasses = f.getInt(j, "", "target_passes");
    t.draftPasses = f.getInt(j, "", "draft_passes");
    t.fromCache = f.getBool(j, "", "from_cache");
    t.ms = stagesFromJson(f, f.require(j, "", "ms"), "ms");
    return t;
}

json toJson(const RunMetrics& m) {
    const auto& b = m.binDistance;
    json j{{"actions", m.actions},
           {"rounds", m.rounds},
           {"produced", m.produced},
           {"verify_passes", m.verifyPasses},
           {"accepted_drafts", m.acceptedDrafts},
           {"exact", m.exact},
           {"relaxed", m.relaxed},
           {"acceptance_length", m.acceptanceLength},
           {"mean_acceptance_length", m.meanAcceptanceLength},
           {"passes_per_action", m.passesPerAction},
           {"draft_passes_per_action", m.draftPassesPerAction},
           {"exact_per_action", m.exactPerAction},
           {"relaxed_per_action", m.relaxedPerAction},
           {"acceptance_rate", m.acceptanceRate},
           {"per_position_acceptance", m.perPositionAcceptance},
           {"per_position_tested", m.perPositionTested},
           {"per_position_accepted", m.perPositionAccepted},
           {"per_dim_acceptance", m.perDimAcceptance},
           {"per_dim_tested", m.perDimTested},
           {"per_dim_accepted", m.perDimAccepted},
           {"accepted_run_histogram", m.acceptedRunHistogram},
           {"bin_distance",
            {{"accepted", b.accepted},
             {"rejected", b.rejected},
             {"accepted_per_dim", b.acceptedPerDim},
             {"rejected_per_dim", b.rejectedPerDim}}},
           {"latency",
            {{"median_ms", m.latency.medianMs},
             {"p90_ms", m.latency.p90Ms},
             {"mean_ms", m.latency.meanMs},
             {"median_stages_ms", toJson(m.latency.medianStages)}}}};
    if (m.hasArReference)
        j["deviation_from_ar"] = {{"mean_abs_normalized", m.meanAbsDevFromAr},
                                  {"mean_abs_bins", m.meanBinDevFromAr},
                                  {"exact_match_share", m.exactMatchWithAr}};
    if (m.hasRecorded) j["deviation_from_recorded"] = {{"mean_abs_action", m.meanAbsDevFromRecorded}};
    return j;
}

std::string roundsCsv(const std::vector<ActionTrace>& traces, int firstStep) {
    std::string out =
        "step,round,committed_before,accepted_drafts,exact,relaxed,bonus_token,bonus_committed,capped,"
        "tree_size,ms_draft,ms_verify,ms_other\n";
    for (std::size_t s = 0; s < traces.size(); ++s)
        for (const RoundTrace& r : traces[s].rounds)
            row(out, {str(firstStep + static_cast<int>(s)), str(r.index), str(r.committedBefore),
                      str(r.acceptedDrafts), str(r.exactAccepted), str(r.relaxedAccepted), str(r.bonusToken),
                      str(r.bonusCommitted), str(r.capped), str(static_cast<int>(r.nodes.size())),
                      num(r.ms.draft), num(r.ms.verify), num(r.ms.other)});
    return out;
}

std::string nodesCsv(const std::vector<ActionTrace>& traces, int firstStep) {
    std::string out =
        "step,round,node,token,bin,parent,depth,dim,draft_log_prob,score,target_token,target_bin,"
        "bin_distance,verdict,on_accepted_path\n";
    for (std::size_t s = 0; s < traces.size(); ++s)
        for (const RoundTrace& r : traces[s].rounds) {
            const std::set<int> onPath(r.acceptedPath.begin(), r.acceptedPath.end());
            for (std::size_t i = 0; i < r.nodes.size(); ++i) {
                const TreeNode& n = r.nodes[i];
                row(out,
                    {str(firstStep + static_cast<int>(s)), str(r.index), str(static_cast<int>(i)),
                     str(n.token), str(n.bin), str(n.parent), str(n.depth), str(n.dim), num(n.draftLogProb),
                     num(n.score), str(n.targetToken), str(n.targetBin), str(n.binDistance),
                     verdictName(n.verdict), str(onPath.count(static_cast<int>(i)) > 0)});
            }
        }
    return out;
}

std::string sweepCsv(const std::vector<SweepCsvRow>& rows) {
    std::string out = "margin,acceptance_length,mean_acceptance_length,passes_per_action,speedup_vs_ar,"
                      "acceptance_rate,exact_per_action,relaxed_per_action,mean_abs_dev_from_ar,"
                      "mean_bin_dev_from_ar,exact_match_with_ar,mean_abs_dev_from_recorded,median_ms,p90_ms,"
                      "actions\n";
    auto optional = [](bool present, double value) { return present ? formatNumber(value) : std::string(); };
    for (const SweepCsvRow& r : rows) {
        const RunMetrics& m = *r.metrics;
        out += std::to_string(r.margin) + "," + formatNumber(m.acceptanceLength) + "," +
               formatNumber(m.meanAcceptanceLength) + "," + formatNumber(m.passesPerAction) + "," +
               optional(r.speedup.has_value(), r.speedup.value_or(0)) + "," + formatNumber(m.acceptanceRate) +
               "," + formatNumber(m.exactPerAction) + "," + formatNumber(m.relaxedPerAction) + "," +
               optional(m.hasArReference, m.meanAbsDevFromAr) + "," +
               optional(m.hasArReference, m.meanBinDevFromAr) + "," +
               optional(m.hasArReference, m.exactMatchWithAr) + "," +
               optional(m.hasRecorded, m.meanAbsDevFromRecorded) + "," + formatNumber(m.latency.medianMs) +
               "," + formatNumber(m.latency.p90Ms) + "," + std::to_string(m.actions) + "\n";
    }
    return out;
}

std::string actionsCsv(const std::vector<ActionTrace>& traces, int firstStep) {
    std::string out =
        "step,mode,tokens,bins,normalized,action,target_passes,draft_passes,rounds,acceptance_length,"
        "exact,relaxed,from_cache,ms_vision,ms_prefill,ms_draft,ms_verify,ms_other,ms_total\n";
    for (std::size_t s = 0; s < traces.size(); ++s) {
        const ActionTrace& t = traces[s];
        const ActionMetrics m = actionMetrics(t);
        row(out, {str(firstStep + static_cast<int>(s)), modeName(t.settings.mode), joinNumbers(t.tokens),
                  joinNumbers(t.bins), joinNumbers(t.normalized), joinNumbers(t.action), str(t.targetPasses),
                  str(t.draftPasses), str(m.rounds), num(m.acceptanceLength), str(m.exact), str(m.relaxed),
                  str(t.fromCache), num(t.ms.vision), num(t.ms.prefill), num(t.ms.draft), num(t.ms.verify),
                  num(t.ms.other), num(t.ms.total())});
    }
    return out;
}

} // namespace specvla::decode
