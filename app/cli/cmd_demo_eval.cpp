// SPDX-License-Identifier: MIT
// specvla demo eval: closed-loop success and acceptance per mode and margin on the held-out layouts;
// specvla demo probe: how well the expert can be cloned with perfect perception.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "cli/demo_cli.h"
#include "common/error.h"
#include "data/libero_writer.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/dataset.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/probe.h"
#include "demo/sim.h"
#include "demo/world.h"
#include "io/safetensors_writer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace specvla::cli::democli {

int runProbe(const std::vector<std::string>& argv) {
    const Args args(argv,
                    {"episodes", "steps", "batch", "lr", "bin-sigma", "hidden", "seed", "eval", "noise-cm",
                     "json", "dagger", "dagger-episodes", "perturb", "gripper-flip", "expert", "expert-gain",
                     "expert-max-change", "expert-quantum"},
                    {"failures", "expert-grasp-rise", "fixed-noise", "expert-drives"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    demo::ProbeOptions o;
    auto intOpt = [&](const char* name, int def) { return intOption(args, name, def, 1); };
    o.episodes = intOpt("episodes", o.episodes);
    o.steps = intOpt("steps", o.steps);
    o.batch = intOpt("batch", o.batch);
    if (const auto v = args.value("lr")) {
        o.lr = parseDouble("lr", *v);
        if (!(o.lr > 0)) throw UsageError("--lr must be positive");
    }
    o.hidden = intOpt("hidden", o.hidden);
    if (const auto v = args.value("bin-sigma")) {
        o.binSigma = parseDouble("bin-sigma", *v);
        if (!(o.binSigma >= 0)) throw UsageError("--bin-sigma must not be negative");
    }
    o.seed = static_cast<std::uint64_t>(intOpt("seed", static_cast<int>(o.seed)));
    o.evalEpisodes = intOpt("eval", o.evalEpisodes);
    if (args.value("dagger")) o.daggerRounds = intOpt("dagger", 1);
    o.daggerEpisodes = intOpt("dagger-episodes", o.daggerEpisodes);
    o.expert = expertFromArgs(args);
    o.fixedNoise = args.has("fixed-noise");
    o.expertDrives = args.has("expert-drives");
    if (args.value("noise-cm")) {
        o.noiseCm.clear();
        for (const std::string& field : splitFields(*args.value("noise-cm"), ',')) {
            const double v = parseDouble("noise-cm", field);
            if (!(v >= 0)) throw UsageError("--noise-cm levels must not be negative");
            o.noiseCm.push_back(v);
        }
    }
    if (o.expertDrives)
        std::printf("probe: the %s expert drives on %s perception\n", expertStyle(o.expert),
                    o.fixedNoise ? "fixed-noise" : "noisy");
    else
        std::printf(
            "probe: %d demonstrations (%s expert, gain %.2f, max change %.2f, perturbation %.2f), %d steps\n",
            o.episodes, expertStyle(o.expert), o.expert.gain, o.expert.maxChange, o.expert.perturbation,
            o.steps);
    std::fflush(stdout);
    const int total = o.steps * (1 + o.daggerRounds);
    const int every = std::max(1, total / 10);
    // --failures: how each failed episode ended, to see what the policy gets wrong.
    demo::ProbeEpisodeReport failures;
    if (args.has("failures"))
        failures = [](double noise, int k, const demo::RolloutResult& r) {
            if (r.success) return;
            const demo::WorldState& w = r.finalState;
            const demo::Block& b = w.blocks[static_cast<std::size_t>(w.target)];
            const auto goal = demo::taskGoal(w);
            std::printf(
                "failure  noise %.2f  layout %3d %-14s block %5.1f cm from its goal, %4.1f cm up, %s; "
                "gripper %4.1f cm away, %4.1f cm up, opening %.2f\n",
                noise, k, demo::taskKindName(w.task), 100 * std::hypot(b.x - goal[0], b.y - goal[1]),
                100 * b.z, w.held == w.target ? "held" : "not held",
                100 * std::hypot(w.gripper.x - b.x, w.gripper.y - b.y), 100 * w.gripper.z, w.gripper.opening);
        };
    const demo::ProbeResult r = demo::runProbe(
        o,
        [&](int step, double loss) {
            if ((step + 1) % every == 0 || step + 1 == total) {
                std::printf("probe step %5d / %d  loss %.4f\n", step + 1, total, loss);
                std::fflush(stdout);
            }
        },
        failures);
    nlohmann::json j;
    j["command"] = "specvla demo probe";
    j["arguments"] = argv;
    j["samples"] = r.samples;
    j["final_loss"] = r.losses.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.losses.back());
    j["fixed_noise"] = o.fixedNoise;
    j["expert_drives"] = o.expertDrives;
    j["seconds"] = r.seconds;
    j["expert"] = expertJson(o.expert);
    j["dagger"] = {{"rounds", o.daggerRounds}, {"episodes", o.daggerEpisodes}};
    j["levels"] = nlohmann::json::array();
    std::printf("%d samples, %.1f s\n%-10s %-12s", r.samples, r.seconds, "noise cm", "success");
    for (demo::TaskKind k : demo::allTaskKinds())
        std::printf(" %-14s", demo::taskKindName(k));
    std::printf("\n");
    for (const auto& l : r.levels) {
        std::printf("%-10.2f %3d / %-6d", l.noiseCm, l.successes, l.episodes);
        nlohmann::json perTask;
        for (std::size_t t = 0; t < demo::allTaskKinds().size(); ++t) {
            std::printf(" %3d / %-8d", l.successesPerTask[t], l.episodesPerTask[t]);
            perTask[demo::taskKindName(demo::allTaskKinds()[t])] = {{"successes", l.successesPerTask[t]},
                                                                    {"episodes", l.episodesPerTask[t]}};
        }
        std::printf("\n");
        j["levels"].push_back({{"noise_cm", l.noiseCm},
                               {"successes", l.successes},
                               {"episodes", l.episodes},
                               {"success_rate", double(l.successes) / l.episodes},
                               {"per_task", perTask}});
    }
    if (args.value("json")) {
        io::writeFileAtomically(*args.value("json"), j.dump(2) + "\n");
        std::printf("wrote %s\n", args.value("json")->c_str());
    }
    return 0;
}

// The shipped demo assets, relative to the working directory (the repository root).
constexpr const char* kDemoModelDir = "resources/demo/model";
constexpr const char* kDemoDraftDir = "resources/demo/draft";

namespace {

nlohmann::json finiteOrNull(double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json modeJson(const demo::ModeResult& m) {
    nlohmann::json j;
    j["mode"] = decode::modeName(m.mode);
    j["margin"] = m.margin;
    j["label"] = m.label;
    j["episodes"] = m.episodes;
    j["successes"] = m.successes;
    j["success_rate"] = m.successRate;
    const demo::RateInterval ci = demo::successInterval(m.successes, m.episodes);
    j["success_ci95"] = {{"low", ci.low}, {"high", ci.high}};
    j["actions"] = m.metrics.actions;
    j["acceptance_length"] = m.metrics.acceptanceLength;
    j["passes_per_action"] = m.metrics.passesPerAction;
    j["exact_per_action"] = m.metrics.exactPerAction;
    j["relaxed_per_action"] = m.metrics.relaxedPerAction;
    j["decode_ms_median"] = m.metrics.latency.medianMs;
    j["decode_ms_p90"] = m.metrics.latency.p90Ms;
    nlohmann::json perTask = nlohmann::json::object();
    nlohmann::json outcomes = nlohmann::json::array();
    for (const auto& o : m.outcomes) {
        auto& t = perTask[demo::taskKindName(o.task)];
        if (t.is_null()) t = {{"episodes", 0}, {"successes", 0}};
        t["episodes"] = t["episodes"].get<int>() + 1;
        t["successes"] = t["successes"].get<int>() + (o.success ? 1 : 0);
        outcomes.push_back({{"layout", o.layout},
                            {"task", demo::taskKindName(o.task)},
                            {"success", o.success},
                            {"steps", o.steps},
                            {"closest_cm", o.closestCm},
                            {"grasped", o.grasped},
                            {"goal_cm", finiteOrNull(o.goalCm)}});
    }
    j["grasped"] = m.grasped;
    j["closest_cm_median"] = finiteOrNull(m.medianClosestCm);
    j["goal_cm_median"] = finiteOrNull(m.medianGoalCm);
    j["per_task"] = perTask;
    j["outcomes"] = outcomes;
    return j;
}

} // namespace

int runEval(std::vector<std::string> argv) {
    auto valueOptions = modelValueOptions();
    for (const auto& o : decodeValueOptions())
        valueOptions.insert(o);
    valueOptions.insert({"margins", "episodes", "first", "max-steps", "json", "save-rollouts", "expert",
                         "expert-gain", "expert-max-change", "expert-quantum"});
    auto flags = decodeFlags();
    flags.insert("explain");
    flags.insert("expert-grasp-rise");
    {
        const Args probe(argv, valueOptions, flags);
        if (!probe.positionals().empty())
            throw UsageError("unexpected argument '" + probe.positionals().front() + "'");
        if (!probe.has("model")) argv.insert(argv.end(), {"--model", kDemoModelDir});
        if (!probe.has("draft")) argv.insert(argv.end(), {"--draft", kDemoDraftDir});
        if (!probe.has("unnorm-key")) argv.insert(argv.end(), {"--unnorm-key", demo::kDemoStatsKey});
    }
    const Args args(argv, valueOptions, flags);
    if (args.has("mode"))
        throw UsageError("demo eval runs every mode; use --margins to choose the relaxed runs");
    const bool expertGiven = args.has("expert") || args.has("expert-gain") || args.has("expert-max-change") ||
                             args.has("expert-quantum") || args.has("expert-grasp-rise");
    if (expertGiven && !args.has("explain"))
        throw UsageError("the expert options of demo eval only set what --explain compares with");
    if (!args.has("json")) throw UsageError("--json OUT is required");
    demo::EvalOptions o;
    o.margins = demo::parseMarginRange(args.value("margins").value_or("0:16"));
    if (auto v = args.value("episodes")) o.episodes = parseInt("episodes", *v);
    if (auto v = args.value("first")) o.firstEpisode = parseInt("first", *v);
    if (auto v = args.value("max-steps")) o.maxSteps = parseInt("max-steps", *v);
    if (o.episodes < 1) throw UsageError("--episodes must be positive");
    if (o.firstEpisode < 0) throw UsageError("--first must not be negative");
    if (o.maxSteps < 1) throw UsageError("--max-steps must be positive");
    o.base = decodeSettings(args, /*perDimMargins=*/false);
    if (auto dir = args.value("save-rollouts")) {
        fs::create_directories(*dir);
        // Each rollout as a LIBERO file (frames stored rotated, as LIBERO's), which the workbench and
        // `specvla run` open, and a contact sheet of every fifth frame.
        o.rollout = [dir = *dir](const std::string& mode, const demo::EpisodeOutcome& e,
                                 const demo::RolloutResult& r) {
            std::string label;
            for (char c : mode)
                if (std::isalnum(static_cast<unsigned char>(c)))
                    label += c;
                else if (c == ' ')
                    label += '_';
            char stem[128];
            std::snprintf(stem, sizeof stem, "layout_%02d_%s_%s", e.layout, demo::taskKindName(e.task),
                          label.c_str());
            data::writeLiberoFile((fs::path(dir) / (std::string(stem) + "_demo.hdf5")).string(),
                                  {demo::storedEpisode(r.episode)}, demoWriteOptions(e.task));
            demo::writePng(demo::contactSheet(r.episode, 5, 8),
                           (fs::path(dir) / (std::string(stem) + "_frames.png")).string());
        };
    }

    if (args.has("explain")) {
        // Every step beside the expert's label for the same state: by default the expert of the shipped
        // recipe (scripts/build-demo-assets), unperturbed and without noise.
        demo::ExpertOptions expert = expertFromArgs(args);
        if (!args.has("expert")) {
            expert.drop = true;
            if (!args.has("expert-gain")) expert.gain = 0.5;
            if (!args.has("expert-max-change")) expert.maxChange = 2;
        }
        expert.perturbation = 0;
        expert.gripperFlip = 0;
        expert.noise = 0;
        auto labeller = std::make_shared<demo::Expert>(1, expert);
        o.step = [labeller](const std::string& mode, int layout, int step, const demo::WorldState& s,
                            const data::Action& a) {
            if (step == 0) labeller->reset();
            const data::Action e = labeller->act(s);
            const demo::Gripper& g = s.gripper;
            const demo::Block& b = s.blocks.at(static_cast<std::size_t>(s.target));
            const auto goal = demo::taskGoal(s);
            auto grip = [](double v) { return v > 0 ? "close" : "open"; };
            std::printf(
                "    %s layout %d step %2d: fingertips %+5.1f %+5.1f %4.1f cm, opening %.2f, %s; block "
                "at %+5.1f %+5.1f %+5.1f cm, goal at %+5.1f %+5.1f cm | policy %+.2f %+.2f %+.2f yaw "
                "%+.2f %s | expert %+.2f %+.2f %+.2f yaw %+.2f %s\n",
                mode.c_str(), layout, step, 100 * g.x, 100 * g.y, 100 * g.z, g.opening,
                s.held == s.target ? "holding it" : (s.held >= 0 ? "holding another" : "empty"),
                100 * (b.x - g.x), 100 * (b.y - g.y), 100 * (b.z - g.z), 100 * (goal[0] - g.x),
                100 * (goal[1] - g.y), a[0], a[1], a[2], a[5], grip(a[6]), e[0], e[1], e[2], e[5],
                grip(e[6]));
        };
    }

    const LoadedModels m = loadModels(args, /*needDraft=*/true, /*requireTokenizer=*/true, "fp32");
    std::printf("closed-loop evaluation: %d held-out layouts (from %d), at most %d steps, modes: AR, strict, "
                "relaxed r=%d..%d (%zu margins)\n",
                o.episodes, o.firstEpisode, o.maxSteps, o.margins.front(), o.margins.back(),
                o.margins.size());
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    const demo::EvalResult r = demo::evaluateClosedLoop(
        *m.target, m.draft.get(), o, [&](const demo::ModeResult& mode, const demo::EpisodeOutcome& e) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::printf(
                "  layout %3d %-14s %-12s %s in %2d steps, closest %4.1f cm, %s, goal %s (%.0f s)\n",
                e.layout, demo::taskKindName(e.task), mode.label.c_str(), e.success ? "success" : "failure",
                e.steps, e.closestCm, e.grasped ? "grasped" : "never grasped",
                std::isnan(e.goalCm) ? "-" : (std::to_string(std::lround(e.goalCm)) + " cm").c_str(), s);
            std::fflush(stdout);
        });

    std::printf("\n%-13s %8s %9s %8s %8s %8s %9s %8s %8s %9s\n", "mode", "success", "95% CI", "grasped",
                "closest", "goal", "tau", "passes", "relaxed", "ms/act");
    for (const auto& mode : r.modes) {
        const demo::RateInterval ci = demo::successInterval(mode.successes, mode.episodes);
        char interval[32];
        std::snprintf(interval, sizeof interval, "%.0f-%.0f%%", 100 * ci.low, 100 * ci.high);
        std::printf("%-13s %7.0f%% %9s %5d/%-2d %5.1f cm %5.1f cm %9.3f %8.2f %8.2f %9.2f\n",
                    mode.label.c_str(), 100 * mode.successRate, interval, mode.grasped, mode.episodes,
                    mode.medianClosestCm, mode.medianGoalCm, mode.metrics.acceptanceLength,
                    mode.metrics.passesPerAction, mode.metrics.relaxedPerAction,
                    mode.metrics.latency.medianMs);
    }
    // Every mode against AR layout by layout, computed once for the table and the JSON.
    const demo::ModeResult* ar = demo::arModeOf(r);
    std::vector<std::optional<demo::PairedOutcomes>> againstAr(r.modes.size());
    if (ar)
        for (std::size_t i = 0; i < r.modes.size(); ++i)
            if (&r.modes[i] != ar) againstAr[i] = demo::compareOutcomes(*ar, r.modes[i]);
    if (ar && r.modes.size() > 1) {
        std::printf("\nlayout by layout against AR (the same layouts; exact McNemar test of the layouts they "
                    "disagree on):\n");
        for (std::size_t i = 0; i < r.modes.size(); ++i) {
            if (!againstAr[i]) continue;
            const demo::ModeResult& mode = r.modes[i];
            const demo::PairedOutcomes& c = *againstAr[i];
            std::printf("  %-13s both %3d, only AR %3d, only %s %3d, neither %3d, p = %.2f\n",
                        mode.label.c_str(), c.both, c.onlyFirst, mode.label.c_str(), c.onlySecond, c.neither,
                        c.pValue);
        }
    }
    if (const demo::ModeResult* fall = demo::firstRelaxedFall(r))
        std::printf("success first falls more than 5 points below AR at r=%d\n", fall->margin);
    std::printf("evaluation: %.0f s\n", r.seconds);

    nlohmann::json j;
    j["model"] = *args.value("model");
    j["draft"] = *args.value("draft");
    j["episodes"] = o.episodes;
    j["first_layout"] = o.firstEpisode;
    j["held_out_seed_base"] = demo::kHeldOutSeedBase;
    j["max_steps"] = o.maxSteps;
    j["device"] = m.device;
    j["dtype"] = m.dtype;
    j["tree"] = {{"top_k", o.base.tree.topK},
                 {"depth", o.base.tree.depth},
                 {"total_tokens", o.base.tree.totalTokens},
                 {"children", decode::childChoiceName(o.base.children)}};
    j["seconds"] = r.seconds;
    j["modes"] = nlohmann::json::array();
    for (std::size_t i = 0; i < r.modes.size(); ++i) {
        nlohmann::json mj = modeJson(r.modes[i]);
        if (againstAr[i]) {
            const demo::PairedOutcomes& c = *againstAr[i];
            mj["against_ar"] = {{"both", c.both},
                                {"only_ar", c.onlyFirst},
                                {"only_this", c.onlySecond},
                                {"neither", c.neither},
                                {"mcnemar_p", c.pValue}};
        }
        j["modes"].push_back(std::move(mj));
    }
    io::writeFileAtomically(*args.value("json"), j.dump(2) + "\n");
    std::printf("wrote %s\n", args.value("json")->c_str());
    return 0;
}

} // namespace specvla::cli::democli
