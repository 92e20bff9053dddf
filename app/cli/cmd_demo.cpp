// SPDX-License-Identifier: MIT
// specvla demo train: trains the demo world's tiny OpenVLA target by behaviour cloning and distils its draft
// head, then saves both in the Hugging Face layout and runs a quick closed-loop check in the simulator.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/sim.h"
#include "demo/trainer.h"
#include "demo/world.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "text/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace specvla::cli {

std::string demoUsage() {
    return "usage: specvla demo train --out DIR [--episodes N] [--steps N] [--draft-steps N] [--batch N]\n"
           "                          [--seed S] [--eval N] [--tiny] [--bf16]\n"
           "\n"
           "Renders expert demonstrations in the demo world, trains a tiny OpenVLA-architecture target by\n"
           "behaviour cloning (printing progress and loss), distils an EAGLE draft head from it, and saves\n"
           "DIR/model and DIR/draft (Hugging Face layout). Deterministic for a fixed seed.\n"
           "  --episodes N     expert episodes to train on (default 60)\n"
           "  --steps N        target training steps (default 600)\n"
           "  --draft-steps N  draft training steps (default: --steps)\n"
           "  --batch N        minibatch size (default 16)\n"
           "  --seed S         seed of the layouts, the initialisation and the minibatches (default 1)\n"
           "  --eval N         closed-loop check on N held-out layouts after training (default 10; 0: none)\n"
           "  --tiny           the seconds-long test geometry instead of the laptop model\n"
           "  --bf16           save BF16 tensors (F32 otherwise)\n";
}

namespace {

void closedLoopCheck(const std::string& modelDir, const std::string& draftDir, int episodes,
                     std::uint64_t seed) {
    model::LoadOptions lo;
    lo.dtype = c10::ScalarType::Float;
    lo.unnormKey = demo::kDemoStatsKey;
    const auto target = model::VlaModel::load(modelDir, lo);
    const auto draft = model::DraftHead::load(draftDir, *target);
    const int size = target->featurizerConfig().imageSize;
    int successes = 0;
    double arMs = 0, relaxedMs = 0;
    long actions = 0, arPasses = 0, relaxedPasses = 0;
    for (int e = 0; e < episodes; ++e) {
        const demo::TaskKind kind = demo::allTaskKinds()[static_cast<std::size_t>(e % demo::kNumTaskKinds)];
        const demo::WorldState start =
            demo::sampleLayout(kind, 1000000 + seed * 1000 + static_cast<std::uint64_t>(e));
        const std::string instr = demo::instruction(start);
        auto policy = [&](const vision::RgbImage& frame, const demo::WorldState&) {
            decode::FrameContext ctx = decode::prepareFrame(*target, draft.get(), frame, instr);
            decode::DecodeSettings ar;
            ar.mode = decode::DecodeMode::Ar;
            decode::DecodeSettings relaxed; // default margin and tree
            const auto a = decode::decodeFrame(*target, draft.get(), ctx, ar);
            const auto r = decode::decodeFrame(*target, draft.get(), ctx, relaxed);
            arMs += a.ms.total();
            relaxedMs += r.ms.total();
            arPasses += a.targetPasses;
            relaxedPasses += r.targetPasses;
            ++actions;
            std::vector<double> act = a.action;
            decode::liberoGripperPostprocess(act);
            data::Action out{};
            for (std::size_t d = 0; d < 7; ++d)
                out[d] = act[d];
            return out;
        };
        const auto result = demo::runEpisode(start, policy, size);
        successes += result.success ? 1 : 0;
        std::printf("eval %2d %-14s %-55s %s after %d steps\n", e, demo::taskKindName(kind), instr.c_str(),
                    result.success ? "success" : "failure", result.episode.numSteps);
        std::fflush(stdout);
    }
    std::printf("closed loop (AR): %d / %d successes\n", successes, episodes);
    if (actions > 0)
        std::printf(
            "per action: AR %.2f ms (%.2f target passes), relaxed %.2f ms (%.2f target passes; decode "
            "only, vision and prefill excluded)\n",
            arMs / actions, static_cast<double>(arPasses) / actions, relaxedMs / actions,
            static_cast<double>(relaxedPasses) / actions);
}

int runTrain(const std::vector<std::string>& argv) {
    const Args args(argv, {"out", "episodes", "steps", "draft-steps", "batch", "seed", "eval"},
                    {"tiny", "bf16"});
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
    if (episodes < 1 || batch < 1) throw UsageError("--episodes and --batch must be positive");
    const demo::DemoModelSpec spec =
        args.has("tiny") ? demo::DemoModelSpec::tiny() : demo::DemoModelSpec::laptop();

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
    const demo::DemoDataset data =
        demo::buildDataset(demo::expertEpisodes(episodes, seed * 100000, spec.imageSize),
                           decode::ActionTokenizer(config.actionVocabBase()));
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
    double window = 0;
    int inWindow = 0;
    auto report = [&](const char* what, int total) {
        return [&, what, total](int step, double loss) {
            window += loss;
            ++inWindow;
            if ((step + 1) % every == 0 || step + 1 == total) {
                std::printf("%s step %5d / %d  loss %.4f  (%.0f s)\n", what, step + 1, total,
                            window / inWindow, elapsed());
                std::fflush(stdout);
                window = 0;
                inWindow = 0;
            }
        };
    };
    const demo::TrainedTarget target = demo::trainTarget(config, tok, data, to, report("target", steps));
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
    window = 0;
    inWindow = 0;
    const demo::TrainedDraft draft = demo::trainDraft(target, data, demo::demoDraftConfig(target.config),
                                                      dopt, report("draft", draftSteps));
    demo::saveDraft(draftDir, draft, so);
    std::printf("draft: %.1f s, target greedy = expert token %.1f%%, draft top-1 = target %.1f%%, saved %s\n",
                draft.seconds, 100 * draft.greedyMatch, 100 * draft.draftTop1, draftDir.c_str());
    std::fflush(stdout);
    if (evalEpisodes > 0) closedLoopCheck(modelDir, draftDir, evalEpisodes, seed);
    std::printf("total %.1f s\n", elapsed());
    return 0;
}

} // namespace

int runDemo(const std::vector<std::string>& argv) {
    if (argv.empty()) throw UsageError("demo needs a subcommand: train");
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (argv.front() == "train") return runTrain(rest);
    throw UsageError("unknown demo subcommand '" + argv.front() + "' (expected: train)");
}

} // namespace specvla::cli
