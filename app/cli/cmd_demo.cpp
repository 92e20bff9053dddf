// SPDX-License-Identifier: MIT
// specvla demo train: trains the demo world's tiny OpenVLA target by behaviour cloning and distils its draft
// head, then saves both in the Hugging Face layout and runs a quick closed-loop check in the simulator.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "common/error.h"
#include "data/libero_writer.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/probe.h"
#include "demo/sim.h"
#include "demo/trainer.h"
#include "demo/world.h"
#include "io/safetensors_writer.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "text/tokenizer.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace specvla::cli {

std::string demoUsage() {
    return "usage: specvla demo train --out DIR [--episodes N] [--steps N] [--draft-steps N] [--batch N]\n"
           "                          [--seed S] [--eval N] [--heldout N] [--perturb A] [--lr LR] [--aux W] "
           "[--vision-steps N]\n"
           "                          [--text-layers N] [--text-hidden N] [--text-heads N] "
           "[--text-intermediate N]\n"
           "                          [--image-size N] [--patch-size N]\n"
           "                          [--freeze-vision] [--draft-samples N] [--tiny] [--bf16]\n"
           "       specvla demo eval --json OUT [--model DIR] [--draft DIR] [--margins A:B[:S]] [--episodes "
           "N]\n"
           "                         [--first K] [--max-steps N] [--save-rollouts DIR] [--explain]\n"
           "                         [expert options] [decode options]\n"
           "       specvla demo probe [--episodes N] [--steps N] [--hidden N] [--eval N] [--noise-cm "
           "A,B,...]\n"
           "                          [--batch N] [--lr LR] [--bin-sigma S] [--failures] [--seed S] [--json "
           "OUT] [expert "
           "options of demo "
           "train]\n"
           "       specvla demo distil --model DIR --out DIR [--episodes N] [--frame-stride K] "
           "[--draft-steps N]\n"
           "                           [--draft-samples N] [--batch N] [--lr LR] [--seed S] [--bf16] [expert "
           "options]\n"
           "\n"
           "Renders expert demonstrations in the demo world, trains a tiny OpenVLA-architecture target by\n"
           "behaviour cloning (printing progress and loss), distils an EAGLE draft head from it, and saves\n"
           "DIR/model and DIR/draft (Hugging Face layout), expert episodes on held-out layouts in "
           "DIR/episodes\n"
           "(LIBERO HDF5) and DIR/train_report.json. Deterministic for a fixed seed.\n"
           "  --episodes N     expert episodes to train on (default 60)\n"
           "  --steps N        target training steps (default 600)\n"
           "  --draft-steps N  draft training steps (default: --steps)\n"
           "  --batch N        minibatch size (default 16)\n"
           "  --seed S         seed of the layouts, the initialisation and the minibatches (default 1)\n"
           "  --eval N         closed-loop check on N held-out layouts after training (default 10; 0: none)\n"
           "  --tiny           the seconds-long test geometry instead of the laptop model\n"
           "  --text-layers N, --text-hidden N, --text-heads N, --text-intermediate N\n"
           "                   the language model's geometry (default 4, 160, 4, 432)\n"
           "  --image-size N, --patch-size N  the frame size the world is rendered at and the model\n"
           "                   takes, and the vision towers' patch size (default 112 and 14)\n"
           "  --perturb A      DART perturbation of the executed expert actions (default 0.3)\n"
           "  --gripper-flip P the perturbed demonstrations execute the opposite gripper command with\n"
           "                   probability P per step (recoveries from wrong grasps; default 0)\n"
           "  --expert STYLE   threshold (default: phases switch within 1.2 cm, as the shipped assets) or\n"
           "                   funnel (the height a continuous function of the distance, no hold-still\n"
           "                   phases, pushing lined up with open fingers)\n"
           "  --expert-gain G  the expert's velocity per unit of remaining distance, in (0, 1] (default 1:\n"
           "                   dead-beat); --expert-max-change C its largest change per step (default 0.5;\n"
           "                   2: none, so every label is a function of the frame)\n"
           "  --expert-quantum Q  motion labels rounded to multiples of Q (default 0: continuous), so\n"
           "                   small steps near a goal share a few bins instead of spreading over dozens\n"
           "  --lr LR          target learning rate (default 1e-3)\n"
           "  --frame-stride K train on every K-th step of each episode (more layouts in the same memory;\n"
           "                   default 1)\n"
           "  --aux W          weight of an auxiliary state loss: read-outs of the simulator's state from\n"
           "                   the patches and the last prompt position, in training only (default 0: none)\n"
           "  --vision-steps N pretrain the vision tower for N steps to read the scene (gripper, blocks,\n"
           "                   receptacles) off the pixels before behaviour cloning (default 0: none)\n"
           "  --freeze-vision  behaviour cloning trains the language model only, on patch embeddings\n"
           "                   computed once (much cheaper steps)\n"
           "  --sincos-positions  the vision towers' position embeddings start as 2-D sine-cosine tables\n"
           "  --vision-attention W  weight of a pretraining loss that points each read-out query at the\n"
           "                   patches where its thing is (default 0: none)\n"
           "  --bin-sigma S    soft labels for the motion tokens: a Gaussian of S bins around each label\n"
           "                   (default 0: plain cross entropy)\n"
           "  --logit-adjust T  in training only, add T x log(each bin's share of its dimension's labels)\n"
           "                   to the motion tokens' logits before the loss, so an unsure policy does not\n"
           "                   fall back on the frequent end bins (default 0: none)\n"
           "  --lm-attention W weight of a loss that points three heads of one language-model layer, at the\n"
           "                   last prompt position, at the named block, the goal's reference thing and the\n"
           "                   gripper (training only; default 0: none)\n"
           "  --lm-attention-layer L  the layer it supervises (default: a quarter of the way up, at least "
           "1)\n"
           "  --dagger R       R DAgger rounds, evenly spaced over behaviour cloning: the policy so far\n"
           "                   drives the gripper on training layouts, the expert labels every state it\n"
           "                   visits, and those frames join the training samples (default 0: none)\n"
           "  --dagger-layouts N  rollouts per round (default 50); --dagger-steps N their length (default\n"
           "                   60); --dagger-stride K keep every K-th visited frame (default 2)\n"
           "  --draft-samples N the draft learns on at most N samples, evenly spread (default: all)\n"
           "  --bc-check       keep the last layouts' frames (a twentieth, at most 256) out of behaviour\n"
           "                   cloning and report the policy on them and on as many training frames:\n"
           "                   action tokens, sign agreement, the state read-out's error\n"
           "  --heldout N      expert episodes on held-out layouts written to DIR/episodes (default 20)\n"
           "  --bf16           save BF16 tensors (F32 otherwise)\n"
           "\n"
           "demo eval drives the simulator with the policy on held-out layouts (never used in training) in "
           "AR,\n"
           "strict and relaxed mode at each margin, and reports closed-loop success and acceptance length "
           "per\n"
           "mode (table on stdout, everything in OUT), with how close each episode came: the closest "
           "approach\n"
           "to the named block, whether it was grasped and how far it ended from the goal. Greedy decoding\n"
           "and seeded layouts: deterministic.\n"
           "  --model DIR      default resources/demo/model (the shipped demo); --draft DIR likewise\n"
           "  --margins A:B[:S] relaxed margins from A to B in steps of S (default 0:16)\n"
           "  --episodes N     held-out layouts (default 20); --first K starts at layout K (default 0)\n"
           "  --max-steps N    episode bound (default 80)\n"
           "  --explain        print every step: the fingertips, the named block and the goal relative\n"
           "                   to them, the policy's action and the expert's label for the same state (the\n"
           "                   shipped recipe's expert unless the expert options of demo train say "
           "otherwise)\n"
           "  --save-rollouts DIR  write every rollout there as a LIBERO file "
           "(layout_KK_TASK_MODE_demo.hdf5,\n"
           "                   for the workbench or specvla run) and a contact sheet of every fifth frame\n"
           "  (--dtype defaults to fp32 here; the tree options of the decode options apply to every mode)\n"
           "\n"
           "demo distil distils a fresh EAGLE draft head from a saved target (DIR/model of demo train) on\n"
           "freshly rendered expert demonstrations (layouts seeded from --seed, default 3, apart from the\n"
           "target's own and the held-out ones) and writes it to --out, without training the target again.\n"
           "  --episodes N (default 1000), --frame-stride K (3), --draft-steps N (1600), --draft-samples N\n"
           "  (default: all), --batch N (16), --lr LR (1e-3); the expert options are demo train's.\n"
           "\n"
           "demo probe measures how well the expert can be cloned with perfect perception: a small\n"
           "MLP learns the expert's action bins from the simulator's state and the task kind, then\n"
           "drives the held-out layouts with Gaussian noise of each --noise-cm level (default\n"
           "0,1,2,4,8) on every position it reads. The success per level says how precisely the\n"
           "vision must locate things. Minutes, deterministic.\n"
           "  --episodes N (default 1000), --steps N (3000), --hidden N (256), --eval N (40),\n"
           "  --batch N (256), --lr LR (1e-3, AdamW, constant), --bin-sigma S (soft labels, as demo train)\n"
           "  --failures       print how each failed episode ended (the block's distance from its goal,\n"
           "                   whether it is held, where the gripper is)\n"
           "  --dagger R       R DAgger rounds: the policy drives --dagger-episodes N fresh layouts\n"
           "                   (default 200), the expert labels what it visits, --steps more steps\n";
}

namespace {

// A quick closed-loop check after training: AR and relaxed (default margin) on the first held-out layouts.
void closedLoopCheck(const std::string& modelDir, const std::string& draftDir, int episodes) {
    model::LoadOptions lo;
    lo.dtype = c10::ScalarType::Float;
    lo.unnormKey = demo::kDemoStatsKey;
    const auto target = model::VlaModel::load(modelDir, lo);
    const auto draft = model::DraftHead::load(draftDir, *target);
    demo::EvalOptions o;
    o.episodes = episodes;
    o.strict = false;
    o.margins = {decode::DecodeSettings{}.margin};
    const demo::EvalResult r = demo::evaluateClosedLoop(
        *target, draft.get(), o, [](const demo::ModeResult& m, const demo::EpisodeOutcome& e) {
            std::printf("eval %2d %-14s %-12s %s after %d steps\n", e.layout, demo::taskKindName(e.task),
                        m.label.c_str(), e.success ? "success" : "failure", e.steps);
            std::fflush(stdout);
        });
    for (const auto& m : r.modes)
        std::printf(
            "closed loop %-12s %d / %d successes, %.2f target passes and %.2f ms decoding per action, "
            "acceptance length %.2f\n",
            m.label.c_str(), m.successes, m.episodes, m.metrics.passesPerAction, m.metrics.latency.medianMs,
            m.metrics.acceptanceLength);
}

// How demo episodes are written: LIBERO's raw layout (one instruction per file, as LIBERO keeps one task per
// file), gzip-compressed.
data::LiberoWriteOptions demoWriteOptions(demo::TaskKind task) {
    data::LiberoWriteOptions wo;
    wo.layout = data::LiberoLayout::Raw;
    wo.problemName = std::string("demo_") + demo::taskKindName(task);
    wo.domainName = "specvla_demo_tabletop";
    wo.compress = true;
    return wo;
}

// Expert demonstrations on the held-out layouts, one LIBERO raw-layout file per layout (the raw layout keeps
// one instruction per file, as LIBERO keeps one task per file), gzip-compressed.
std::vector<std::string> writeHeldOutEpisodes(const std::string& dir, int count, int imageSize,
                                              const demo::ExpertOptions& expert) {
    fs::create_directories(dir);
    std::vector<std::string> paths;
    for (int k = 0; k < count; ++k) {
        const demo::WorldState start = demo::heldOutLayout(k);
        data::Episode ep = demo::rollout(start.task, demo::kHeldOutSeedBase + static_cast<std::uint64_t>(k),
                                         imageSize, expert);
        const data::LiberoWriteOptions wo = demoWriteOptions(start.task);
        char name[96];
        std::snprintf(name, sizeof name, "heldout_%02d_%s_demo.hdf5", k, demo::taskKindName(start.task));
        const std::string path = (fs::path(dir) / name).string();
        if (!ep.success())
            throw Error("the expert failed on held-out layout " + std::to_string(k) + " (" + ep.instruction +
                        ")");
        data::writeLiberoFile(path, {demo::storedEpisode(std::move(ep))}, wo); // frames rotated as LIBERO's
        paths.push_back(path);
    }
    return paths;
}

// Training progress of demo train and demo distil: each phase prints the mean loss over every `every` steps
// (and at its last step) with the seconds since the command started.
class LossPrinter {
public:
    LossPrinter(int every, std::function<double()> elapsed) : m_every(every), m_elapsed(std::move(elapsed)) {}
    // Starts a fresh window for the phase `what` of `total` steps.
    demo::TrainProgress phase(const char* what, int total) {
        m_window = 0;
        m_count = 0;
        return [this, what, total](int step, double loss) {
            m_window += loss;
            ++m_count;
            if ((step + 1) % m_every == 0 || step + 1 == total) {
                std::printf("%s step %5d / %d  loss %.4f  (%.0f s)\n", what, step + 1, total,
                            m_window / m_count, m_elapsed());
                std::fflush(stdout);
                m_window = 0;
                m_count = 0;
            }
        };
    }

private:
    int m_every;
    std::function<double()> m_elapsed;
    double m_window = 0;
    int m_count = 0;
};

void printDraftSaved(const demo::TrainedDraft& draft, const std::string& dir) {
    std::printf("draft: %.1f s, target greedy = expert token %.1f%%, draft top-1 = target %.1f%%, saved %s\n",
                draft.seconds, 100 * draft.greedyMatch, 100 * draft.draftTop1, dir.c_str());
    std::fflush(stdout);
}

// The first layout seed of --seed's demonstrations (seed * 100000). Their layouts (that + episode + retries
// of 7919) must stay below the held-out seeds.
std::uint64_t demonstrationSeedBase(std::uint64_t seed, int episodes) {
    if (seed * 100000 + static_cast<std::uint64_t>(episodes) + 20 * 7919 >= demo::kHeldOutSeedBase)
        throw UsageError(
            "--seed and --episodes would reach the held-out layouts (seed * 100000 + episodes must "
            "stay below " +
            std::to_string(demo::kHeldOutSeedBase - 20 * 7919) + ")");
    return seed * 100000;
}

// The demonstrating expert of demo train and demo probe: --expert, --expert-gain, --expert-max-change,
// --perturb and --gripper-flip.
demo::ExpertOptions expertFromArgs(const Args& args) {
    demo::ExpertOptions expert;
    const std::string style = args.value("expert") ? *args.value("expert") : "threshold";
    if (style != "threshold" && style != "funnel")
        throw UsageError("--expert must be 'threshold' or 'funnel', not '" + style + "'");
    expert.funnel = style == "funnel";
    if (args.value("expert-gain")) expert.gain = parseDouble("expert-gain", *args.value("expert-gain"));
    if (args.value("expert-max-change"))
        expert.maxChange = parseDouble("expert-max-change", *args.value("expert-max-change"));
    if (!(expert.gain > 0 && expert.gain <= 1)) throw UsageError("--expert-gain must be in (0, 1]");
    if (!(expert.maxChange > 0 && expert.maxChange <= 2))
        throw UsageError("--expert-max-change must be in (0, 2]");
    if (args.value("expert-quantum"))
        expert.quantum = parseDouble("expert-quantum", *args.value("expert-quantum"));
    if (!(expert.quantum >= 0 && expert.quantum <= 1)) throw UsageError("--expert-quantum must be in [0, 1]");
    expert.perturbation = args.value("perturb") ? parseDouble("perturb", *args.value("perturb")) : 0.3;
    if (!(expert.perturbation >= 0 && expert.perturbation <= 1))
        throw UsageError("--perturb must be in [0, 1]");
    expert.gripperFlip =
        args.value("gripper-flip") ? parseDouble("gripper-flip", *args.value("gripper-flip")) : 0.0;
    if (!(expert.gripperFlip >= 0 && expert.gripperFlip <= 1))
        throw UsageError("--gripper-flip must be a probability");
    return expert;
}

const char* expertStyle(const demo::ExpertOptions& expert) {
    return expert.funnel ? "funnel" : "threshold";
}

nlohmann::json expertJson(const demo::ExpertOptions& expert) {
    return {{"style", expertStyle(expert)},       {"gain", expert.gain},
            {"max_change", expert.maxChange},     {"perturbation", expert.perturbation},
            {"gripper_flip", expert.gripperFlip}, {"quantum", expert.quantum}};
}

int runProbe(const std::vector<std::string>& argv) {
    const Args args(argv,
                    {"episodes", "steps", "batch", "lr", "bin-sigma", "hidden", "seed", "eval", "noise-cm",
                     "json", "dagger", "dagger-episodes", "perturb", "gripper-flip", "expert", "expert-gain",
                     "expert-max-change", "expert-quantum"},
                    {"failures"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    demo::ProbeOptions o;
    auto intOpt = [&](const char* name, int def) {
        const auto v = args.value(name);
        const int x = v ? parseInt(name, *v) : def;
        if (x < 1) throw UsageError(std::string("--") + name + " must be at least 1");
        return x;
    };
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
    if (args.value("noise-cm")) {
        o.noiseCm.clear();
        for (const std::string& field : splitFields(*args.value("noise-cm"), ',')) {
            const double v = parseDouble("noise-cm", field);
            if (!(v >= 0)) throw UsageError("--noise-cm levels must not be negative");
            o.noiseCm.push_back(v);
        }
    }
    std::printf(
        "probe: %d demonstrations (%s expert, gain %.2f, max change %.2f, perturbation %.2f), %d steps\n",
        o.episodes, expertStyle(o.expert), o.expert.gain, o.expert.maxChange, o.expert.perturbation, o.steps);
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
    j["final_loss"] = r.losses.back();
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

// Distils a fresh draft head from a saved target on freshly rendered expert demonstrations.
int runDistil(const std::vector<std::string>& argv) {
    const Args args(argv,
                    {"model", "out", "episodes", "frame-stride", "seed", "draft-steps", "draft-samples",
                     "batch", "lr", "perturb", "gripper-flip", "expert", "expert-gain", "expert-max-change",
                     "expert-quantum"},
                    {"bf16"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("model") || !args.has("out")) throw UsageError("--model DIR and --out DIR are required");
    auto intOpt = [&](const char* name, int def) {
        const auto v = args.value(name);
        const int x = v ? parseInt(name, *v) : def;
        if (x < 1) throw UsageError(std::string("--") + name + " must be positive");
        return x;
    };
    const int episodes = intOpt("episodes", 1000);
    const int frameStride = intOpt("frame-stride", 3);
    const auto seed = static_cast<std::uint64_t>(intOpt("seed", 3));
    const std::uint64_t seedBase = demonstrationSeedBase(seed, episodes);
    demo::DraftTrainOptions dopt;
    dopt.steps = intOpt("draft-steps", 1600);
    dopt.batchSize = intOpt("batch", 16);
    dopt.seed = seed + 1;
    dopt.maxSamples = args.value("draft-samples") ? intOpt("draft-samples", 0) : 0;
    if (args.value("lr")) dopt.lr = parseDouble("lr", *args.value("lr"));
    if (!(dopt.lr > 0)) throw UsageError("--lr must be positive");
    const demo::ExpertOptions expert = expertFromArgs(args);

    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const demo::TrainedTarget target = demo::loadTrainedTarget(*args.value("model"));
    const int imageSize = target.config.featurizer.imageSize; // the demo renders at the input size
    std::vector<data::Episode> demonstrations =
        demo::expertEpisodes(episodes, seedBase, imageSize, expert, nullptr);
    const demo::DemoDataset data = demo::buildDataset(
        std::move(demonstrations), decode::ActionTokenizer(target.config.actionVocabBase()), {}, frameStride);
    std::printf("distil: target %s, %d episodes, %zu samples, %.1f s\n", args.value("model")->c_str(),
                episodes, data.samples.size(), elapsed());
    std::fflush(stdout);
    LossPrinter printer(std::max(1, dopt.steps / 40), elapsed);
    const demo::TrainedDraft draft = demo::trainDraft(target, data, demo::demoDraftConfig(target.config),
                                                      dopt, printer.phase("draft", dopt.steps));
    demo::SaveOptions so;
    so.bf16 = args.has("bf16");
    demo::saveDraft(*args.value("out"), draft, so);
    printDraftSaved(draft, *args.value("out"));
    return 0;
}

int runTrain(const std::vector<std::string>& argv) {
    const Args args(argv,
                    {"out",
                     "episodes",
                     "steps",
                     "draft-steps",
                     "batch",
                     "seed",
                     "eval",
                     "perturb",
                     "lr",
                     "heldout",
                     "aux",
                     "frame-stride",
                     "vision-steps",
                     "draft-samples",
                     "text-layers",
                     "text-hidden",
                     "text-heads",
                     "text-intermediate",
                     "image-size",
                     "patch-size",
                     "gripper-flip",
                     "expert",
                     "expert-gain",
                     "expert-max-change",
                     "expert-quantum",
                     "vision-attention",
                     "bin-sigma",
                     "logit-adjust",
                     "lm-attention",
                     "lm-attention-layer",
                     "dagger",
                     "dagger-layouts",
                     "dagger-steps",
                     "dagger-stride"},
                    {"tiny", "bf16", "freeze-vision", "sincos-positions", "bc-check"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("out")) throw UsageError("--out DIR is required");
    const std::string out = *args.value("out");
    auto intOpt = [&](const char* name, int def) {
        const auto v = args.value(name);
        const int x = v ? parseInt(name, *v) : def;
        if (x < 0) throw UsageError(std::string("--") + name + " must not be negative");
        return x;
    };
    const int episodes = intOpt("episodes", 60);
    const int steps = intOpt("steps", 600);
    const int draftSteps = intOpt("draft-steps", steps);
    const int batch = intOpt("batch", 16);
    const auto seed = static_cast<std::uint64_t>(intOpt("seed", 1));
    const int evalEpisodes = intOpt("eval", 10);
    const int heldOut = intOpt("heldout", 20);
    const int frameStride = intOpt("frame-stride", 1);
    const demo::ExpertOptions expert = expertFromArgs(args);
    const double perturb = expert.perturbation, gripperFlip = expert.gripperFlip;
    // The held-out demonstrations come from the same expert, unperturbed.
    demo::ExpertOptions heldOutExpert = expert;
    heldOutExpert.perturbation = 0;
    heldOutExpert.gripperFlip = 0;
    if (frameStride < 1) throw UsageError("--frame-stride must be at least 1");
    if (episodes < 1 || batch < 1) throw UsageError("--episodes and --batch must be positive");
    demonstrationSeedBase(seed, episodes);
    demo::DemoModelSpec spec = args.has("tiny") ? demo::DemoModelSpec::tiny() : demo::DemoModelSpec::laptop();
    // The language model's geometry (the draft head follows its width).
    spec.textLayers = intOpt("text-layers", spec.textLayers);
    spec.textHidden = intOpt("text-hidden", spec.textHidden);
    spec.textHeads = spec.textKvHeads = intOpt("text-heads", spec.textHeads);
    spec.textIntermediate = intOpt("text-intermediate", spec.textIntermediate);
    if (spec.textLayers < 1 || spec.textHeads < 1 || spec.textIntermediate < 1 ||
        spec.textHidden % (2 * spec.textHeads) != 0)
        throw UsageError(
            "--text-layers, --text-heads and --text-intermediate must be positive, and --text-hidden "
            "a multiple of twice the heads (an even head size)");
    // The frame size the world is rendered at and the model takes, and the vision towers' patch size.
    spec.imageSize = intOpt("image-size", spec.imageSize);
    spec.patchSize = intOpt("patch-size", spec.patchSize);
    if (spec.patchSize < 1 || spec.imageSize < 16 || spec.imageSize > 1024 ||
        spec.imageSize % spec.patchSize != 0)
        throw UsageError("--image-size must be 16..1024 and a multiple of --patch-size");

    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    fs::create_directories(out);
    const std::string tok =
        demo::trainDemoTokenizer((fs::path(out) / "demo_tokenizer").string(), spec.tokenizerVocab);
    const int vocab = text::Tokenizer::load(tok).vocabSize();
    const model::VlaConfig config = demo::demoVlaConfig(spec, vocab);
    std::printf("tokenizer: %d pieces; action tokens %d..%d\n", vocab, config.actionVocabBase() - 256,
                config.actionVocabBase() - 1);
    std::vector<std::vector<demo::StateFeatures>> states;
    std::vector<data::Episode> demonstrations =
        demo::expertEpisodes(episodes, seed * 100000, spec.imageSize, expert, &states);
    demo::DemoDataset data = demo::buildDataset(
        std::move(demonstrations), decode::ActionTokenizer(config.actionVocabBase()), states, frameStride);
    int expertSuccess = 0;
    for (const auto& e : data.episodes)
        expertSuccess += e.success() ? 1 : 0;
    std::printf("dataset: %d episodes (%d expert successes), %zu samples, %.1f s\n", episodes, expertSuccess,
                data.samples.size(), elapsed());
    std::fflush(stdout);

    const int every = std::max(1, steps / 40);
    demo::TargetTrainOptions to;
    to.steps = steps;
    to.batchSize = batch;
    to.seed = seed;
    if (args.value("lr")) to.lr = parseDouble("lr", *args.value("lr"));
    to.auxWeight = args.value("aux") ? parseDouble("aux", *args.value("aux")) : 0.0;
    if (!(to.auxWeight >= 0)) throw Error("--aux: the weight must not be negative");
    to.visionSteps = intOpt("vision-steps", 0);
    to.freezeVision = args.has("freeze-vision");
    to.sincosPositions = args.has("sincos-positions");
    to.bcCheck = args.has("bc-check");
    if (args.value("vision-attention"))
        to.visionAttentionWeight = parseDouble("vision-attention", *args.value("vision-attention"));
    if (!(to.visionAttentionWeight >= 0)) throw UsageError("--vision-attention must not be negative");
    if (args.value("bin-sigma")) to.binSigma = parseDouble("bin-sigma", *args.value("bin-sigma"));
    if (args.value("logit-adjust")) to.logitAdjust = parseDouble("logit-adjust", *args.value("logit-adjust"));
    if (!(to.logitAdjust >= 0 && to.logitAdjust <= 4)) throw UsageError("--logit-adjust must be in [0, 4]");
    if (!(to.binSigma >= 0 && to.binSigma <= 64)) throw UsageError("--bin-sigma must be within [0, 64]");
    if (args.value("lm-attention"))
        to.lmAttentionWeight = parseDouble("lm-attention", *args.value("lm-attention"));
    if (!(to.lmAttentionWeight >= 0)) throw UsageError("--lm-attention must not be negative");
    if (args.value("lm-attention-layer")) {
        to.lmAttentionLayer = intOpt("lm-attention-layer", -1);
        if (to.lmAttentionLayer < 0) throw UsageError("--lm-attention-layer must not be negative");
    }
    to.daggerRounds = intOpt("dagger", 0);
    to.daggerLayouts = intOpt("dagger-layouts", to.daggerLayouts);
    to.daggerMaxSteps = intOpt("dagger-steps", to.daggerMaxSteps);
    to.daggerStride = intOpt("dagger-stride", to.daggerStride);
    if (to.daggerRounds < 0 || to.daggerLayouts < 1 || to.daggerMaxSteps < 1 || to.daggerStride < 1)
        throw UsageError(
            "--dagger must not be negative; --dagger-layouts, --dagger-steps and --dagger-stride "
            "must be positive");
    // Training layouts past the demonstrations' first seeds, below the held-out ones.
    to.daggerSeed = seed * 100000 + 50000;
    if (to.daggerRounds > 0 && to.daggerSeed + static_cast<std::uint64_t>(to.daggerRounds) *
                                                   static_cast<std::uint64_t>(to.daggerLayouts) >
                                   demo::kHeldOutSeedBase)
        throw UsageError("--dagger and --dagger-layouts would reach the held-out layouts");
    to.daggerExpert = heldOutExpert;
    const std::size_t demonstrationSamples = data.samples.size();
    to.daggerProgress = [&](const demo::DaggerRound& r) {
        std::printf("dagger before step %d: %d / %d training layouts succeeded, %d frames added (%.0f s)\n",
                    r.step, r.successes, r.layouts, r.samples, elapsed());
        std::fflush(stdout);
    };
    LossPrinter printer(every, elapsed);
    const demo::TrainedTarget target = demo::trainTarget(
        config, tok, data, to, printer.phase("target", steps), printer.phase("vision", to.visionSteps));
    if (to.visionSteps > 0 || to.freezeVision)
        std::printf("vision: %.1f s (pretraining %d steps%s)\n", target.visionSeconds, to.visionSteps,
                    to.freezeVision ? ", then frozen patch embeddings" : "");
    if (target.visionCheckFrames > 0)
        std::printf("vision read-out on %d frames kept out of pretraining: median error %.2f cm (gripper), "
                    "%.2f cm (blocks), %.2f cm (gripper height), %.3f (opening)\n",
                    target.visionCheckFrames, target.visionGripperErrorCm, target.visionBlockErrorCm,
                    target.visionGripperHeightErrorCm, target.visionOpeningError);
    auto printCheck = [](const char* what, const demo::PolicyCheck& c) {
        std::printf("policy on %d %s frames (teacher-forced): tokens %.1f%% equal to the expert's, mean bin "
                    "distance %.1f, sign agreement x %.2f y %.2f z %.2f",
                    c.frames, what, 100 * c.tokenMatch, c.meanBinDistance, c.signAgreement[0],
                    c.signAgreement[1], c.signAgreement[2]);
        if (c.gripperErrorCm >= 0)
            std::printf(
                "; state read-out median error %.1f cm (gripper), %.1f cm (named block), %.1f cm (goal), "
                "%.1f cm (gripper height), holding wrong on %.1f%%",
                c.gripperErrorCm, c.blockErrorCm, c.goalErrorCm, c.heightErrorCm, 100 * c.heldWrong);
        std::printf("\n");
    };
    if (target.bcUnseen.frames > 0) {
        printCheck("unseen", target.bcUnseen);
        printCheck("training", target.bcSeen);
    }
    demo::SaveOptions so;
    so.bf16 = args.has("bf16");
    const std::string modelDir = (fs::path(out) / "model").string(),
                      draftDir = (fs::path(out) / "draft").string();
    demo::saveDemoModel(modelDir, target, so);
    std::printf("target: %.1f s, saved %s\n", target.seconds, modelDir.c_str());

    demo::DraftTrainOptions dopt;
    dopt.steps = draftSteps;
    dopt.batchSize = batch;
    dopt.seed = seed + 1;
    dopt.maxSamples = intOpt("draft-samples", 0);
    const demo::TrainedDraft draft = demo::trainDraft(target, data, demo::demoDraftConfig(target.config),
                                                      dopt, printer.phase("draft", draftSteps));
    demo::saveDraft(draftDir, draft, so);
    printDraftSaved(draft, draftDir);
    const auto heldOutPaths =
        writeHeldOutEpisodes((fs::path(out) / "episodes").string(), heldOut, spec.imageSize, heldOutExpert);
    std::printf("held-out episodes: %zu files in %s\n", heldOutPaths.size(),
                (fs::path(out) / "episodes").c_str());

    // Provenance: the options and the loss curves, next to the assets.
    auto curve = [](const std::vector<double>& losses) {
        nlohmann::json c = nlohmann::json::array();
        const std::size_t every = std::max<std::size_t>(1, losses.size() / 100);
        for (std::size_t i = 0; i < losses.size(); i += every) {
            double sum = 0;
            std::size_t n = 0;
            for (std::size_t k = i; k < std::min(losses.size(), i + every); ++k, ++n)
                sum += losses[k];
            c.push_back({{"step", i + n}, {"loss", sum / static_cast<double>(n)}});
        }
        return c;
    };
    auto checkJson = [](const demo::PolicyCheck& c) {
        nlohmann::json j = {{"frames", c.frames},
                            {"token_match", c.tokenMatch},
                            {"mean_bin_distance", c.meanBinDistance},
                            {"sign_agreement", {c.signAgreement[0], c.signAgreement[1], c.signAgreement[2]}}};
        if (c.gripperErrorCm >= 0)
            j["state_error_cm"] = {{"gripper", c.gripperErrorCm},
                                   {"named_block", c.blockErrorCm},
                                   {"goal", c.goalErrorCm},
                                   {"gripper_height", c.heightErrorCm}};
        if (c.heldWrong >= 0) j["holding_wrong"] = c.heldWrong;
        return j;
    };
    nlohmann::json provenance;
    provenance["command"] = "specvla demo train";
    provenance["arguments"] = argv;
    provenance["episodes"] = episodes;
    provenance["samples"] = demonstrationSamples;
    provenance["perturbation"] = perturb;
    provenance["gripper_flip"] = gripperFlip;
    provenance["expert"] = expertJson(expert);
    provenance["frame_stride"] = frameStride;
    provenance["seed"] = seed;
    provenance["tokenizer_pieces"] = vocab;
    provenance["text_geometry"] = {{"layers", spec.textLayers},
                                   {"hidden", spec.textHidden},
                                   {"heads", spec.textHeads},
                                   {"intermediate", spec.textIntermediate}};
    provenance["image"] = {{"size", spec.imageSize}, {"patch", spec.patchSize}};
    nlohmann::json daggerJson = {{"rounds", to.daggerRounds},      {"layouts", to.daggerLayouts},
                                 {"max_steps", to.daggerMaxSteps}, {"stride", to.daggerStride},
                                 {"first_seed", to.daggerSeed},    {"per_round", nlohmann::json::array()}};
    for (const auto& r : target.dagger)
        daggerJson["per_round"].push_back({{"step", r.step},
                                           {"layouts", r.layouts},
                                           {"successes", r.successes},
                                           {"samples", r.samples},
                                           {"seconds", r.seconds}});
    provenance["target"] = {
        {"steps", steps},
        {"batch", batch},
        {"lr", to.lr},
        {"aux_weight", to.auxWeight},
        {"vision_steps", to.visionSteps},
        {"vision_loss", curve(target.visionLosses)},
        {"vision_check",
         {{"frames", target.visionCheckFrames},
          {"gripper_error_cm", target.visionGripperErrorCm},
          {"block_error_cm", target.visionBlockErrorCm},
          {"gripper_height_error_cm", target.visionGripperHeightErrorCm},
          {"opening_error", target.visionOpeningError}}},
        {"freeze_vision", to.freezeVision},
        {"sincos_positions", to.sincosPositions},
        {"vision_attention", to.visionAttentionWeight},
        {"bin_sigma", to.binSigma},
        {"logit_adjust", to.logitAdjust},
        {"lm_attention", to.lmAttentionWeight},
        {"lm_attention_layer", target.lmAttentionLayer},
        {"lm_attention_loss", curve(target.lmAttentionLosses)},
        {"bc_check", {{"unseen", checkJson(target.bcUnseen)}, {"training", checkJson(target.bcSeen)}}},
        {"dagger", daggerJson},
        {"seconds", target.seconds},
        {"loss", curve(target.losses)},
        {"aux_loss", curve(target.auxLosses)}};
    provenance["draft"] = {{"steps", draftSteps},
                           {"max_samples", dopt.maxSamples},
                           {"seconds", draft.seconds},
                           {"greedy_equals_expert", draft.greedyMatch},
                           {"draft_top1_equals_target", draft.draftTop1},
                           {"loss", curve(draft.losses)}};
    provenance["held_out_episodes"] = heldOut;
    provenance["seconds"] = elapsed();
    io::writeFileAtomically((fs::path(out) / "train_report.json").string(), provenance.dump(2) + "\n");
    if (evalEpisodes > 0) closedLoopCheck(modelDir, draftDir, evalEpisodes);
    std::printf("total %.1f s\n", elapsed());
    return 0;
}

// The shipped demo assets, relative to the working directory (the repository root).
constexpr const char* kDemoModelDir = "resources/demo/model";
constexpr const char* kDemoDraftDir = "resources/demo/draft";

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

int runEval(std::vector<std::string> argv) {
    auto valueOptions = modelValueOptions();
    for (const auto& o : decodeValueOptions())
        valueOptions.insert(o);
    valueOptions.insert({"margins", "episodes", "first", "max-steps", "json", "save-rollouts", "expert",
                         "expert-gain", "expert-max-change", "expert-quantum"});
    auto flags = decodeFlags();
    flags.insert("explain");
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
                             args.has("expert-quantum");
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
            expert.funnel = true;
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

    std::printf("\n%-13s %8s %8s %8s %8s %9s %8s %8s %9s\n", "mode", "success", "grasped", "closest", "goal",
                "tau", "passes", "relaxed", "ms/act");
    const demo::ModeResult* ar = nullptr;
    for (const auto& mode : r.modes) {
        if (mode.mode == decode::DecodeMode::Ar) ar = &mode;
        std::printf("%-13s %7.0f%% %5d/%-2d %5.1f cm %5.1f cm %9.3f %8.2f %8.2f %9.2f\n", mode.label.c_str(),
                    100 * mode.successRate, mode.grasped, mode.episodes, mode.medianClosestCm,
                    mode.medianGoalCm, mode.metrics.acceptanceLength, mode.metrics.passesPerAction,
                    mode.metrics.relaxedPerAction, mode.metrics.latency.medianMs);
    }
    if (ar)
        for (const auto& mode : r.modes)
            if (mode.mode == decode::DecodeMode::Relaxed &&
                mode.successRate < ar->successRate - 0.05 + 1e-9) {
                std::printf("success first falls more than 5 points below AR at r=%d\n", mode.margin);
                break;
            }
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
    for (const auto& mode : r.modes)
        j["modes"].push_back(modeJson(mode));
    io::writeFileAtomically(*args.value("json"), j.dump(2) + "\n");
    std::printf("wrote %s\n", args.value("json")->c_str());
    return 0;
}

} // namespace

int runDemo(const std::vector<std::string>& argv) {
    if (argv.empty()) throw UsageError("demo needs a subcommand: train, eval or probe");
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (argv.front() == "train") return runTrain(rest);
    if (argv.front() == "eval") return runEval(rest);
    if (argv.front() == "probe") return runProbe(rest);
    if (argv.front() == "distil") return runDistil(rest);
    throw UsageError("unknown demo subcommand '" + argv.front() + "' (expected: train, eval, probe, distil)");
}

} // namespace specvla::cli
