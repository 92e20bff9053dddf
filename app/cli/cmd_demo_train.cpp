// SPDX-License-Identifier: MIT
// specvla demo train: trains the demo world's tiny OpenVLA target by behaviour cloning and distils its draft
// head, then saves both in the Hugging Face layout and runs a quick closed-loop check in the simulator;
// specvla demo distil: a fresh draft head for a saved target.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "cli/demo_cli.h"
#include "common/error.h"
#include "data/libero_writer.h"
#include "decode/action_tokenizer.h"
#include "decode/spec_decoder.h"
#include "demo/evaluation.h"
#include "demo/expert.h"
#include "demo/sim.h"
#include "demo/trainer.h"
#include "demo/world.h"
#include "io/safetensors_writer.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "text/tokenizer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace specvla::cli::democli {

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

} // namespace

// Distils a fresh draft head from a saved target on freshly rendered expert demonstrations.
int runDistil(const std::vector<std::string>& argv) {
    const Args args(argv,
                    {"model", "out", "episodes", "frame-stride", "seed", "draft-steps", "draft-samples",
                     "batch", "lr", "perturb", "gripper-flip", "expert", "expert-gain", "expert-max-change",
                     "expert-quantum"},
                    {"bf16", "expert-grasp-rise"});
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("model") || !args.has("out")) throw UsageError("--model DIR and --out DIR are required");
    auto intOpt = [&](const char* name, int def) { return intOption(args, name, def, 1); };
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
                     "aux-layer",
                     "aux-positions",
                     "aux-relative",
                     "frame-stride",
                     "keyframes",
                     "vision-steps",
                     "vision-lr",
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
                     "token-noise",
                     "release-weight",
                     "lm-attention",
                     "lm-attention-layer",
                     "dagger",
                     "dagger-layouts",
                     "dagger-steps",
                     "dagger-stride",
                     "dagger-handover",
                     "readout-drive"},
                    {
                        "tiny",
                        "bf16",
                        "train-bf16",
                        "freeze-vision",
                        "sincos-positions",
                        "bc-check",
                        "expert-grasp-rise",
                    });
    if (!args.positionals().empty())
        throw UsageError("unexpected argument '" + args.positionals().front() + "'");
    if (!args.has("out")) throw UsageError("--out DIR is required");
    const std::string out = *args.value("out");
    auto intOpt = [&](const char* name, int def) { return intOption(args, name, def, 0); };
    const int episodes = intOpt("episodes", 60);
    const int steps = intOpt("steps", 600);
    const int draftSteps = intOpt("draft-steps", steps);
    const int batch = intOpt("batch", 16);
    const auto seed = static_cast<std::uint64_t>(intOpt("seed", 1));
    const int evalEpisodes = intOpt("eval", 10);
    const int heldOut = intOpt("heldout", 20);
    const int frameStride = intOpt("frame-stride", 1);
    const int keyframes = intOpt("keyframes", 0);
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
    demo::DemoDataset data =
        demo::buildDataset(std::move(demonstrations), decode::ActionTokenizer(config.actionVocabBase()),
                           states, frameStride, keyframes);
    int expertSuccess = 0;
    for (const auto& e : data.episodes)
        expertSuccess += e.success() ? 1 : 0;
    std::printf("dataset: %d episodes (%d expert successes), %zu samples (%d of them key frames), %.1f s\n",
                episodes, expertSuccess, data.samples.size(), data.keyframeSamples, elapsed());
    std::fflush(stdout);

    const int every = std::max(1, steps / 40);
    demo::TargetTrainOptions to;
    to.steps = steps;
    to.batchSize = batch;
    to.seed = seed;
    if (args.value("lr")) to.lr = parseDouble("lr", *args.value("lr"));
    to.auxWeight = args.value("aux") ? parseDouble("aux", *args.value("aux")) : 0.0;
    if (!(to.auxWeight >= 0)) throw Error("--aux: the weight must not be negative");
    if (args.value("aux-layer")) to.auxLayer = intOpt("aux-layer", -1);
    if (args.value("aux-positions")) {
        to.auxPositions = intOpt("aux-positions", 1);
        if (to.auxPositions < 1 || to.auxPositions > 7) throw UsageError("--aux-positions must be 1 to 7");
        if (!(to.auxWeight > 0)) throw UsageError("--aux-positions needs --aux");
    }
    if (args.value("aux-relative")) {
        to.auxRelativeWeight = parseDouble("aux-relative", *args.value("aux-relative"));
        if (!(to.auxRelativeWeight > 0 && to.auxRelativeWeight <= 1000))
            throw UsageError("--aux-relative must be in (0, 1000]");
        if (!(to.auxWeight > 0)) throw UsageError("--aux-relative needs --aux");
    }
    to.visionSteps = intOpt("vision-steps", 0);
    if (args.value("vision-lr")) to.visionLr = parseDouble("vision-lr", *args.value("vision-lr"));
    if (!(to.visionLr > 0 && to.visionLr <= 1)) throw UsageError("--vision-lr must be in (0, 1]");
    to.freezeVision = args.has("freeze-vision");
    to.bf16Compute = args.has("train-bf16");
    to.sincosPositions = args.has("sincos-positions");
    to.bcCheck = args.has("bc-check");
    if (args.value("vision-attention"))
        to.visionAttentionWeight = parseDouble("vision-attention", *args.value("vision-attention"));
    if (!(to.visionAttentionWeight >= 0)) throw UsageError("--vision-attention must not be negative");
    if (args.value("bin-sigma")) to.binSigma = parseDouble("bin-sigma", *args.value("bin-sigma"));
    if (args.value("logit-adjust")) to.logitAdjust = parseDouble("logit-adjust", *args.value("logit-adjust"));
    if (!(to.logitAdjust >= 0 && to.logitAdjust <= 4)) throw UsageError("--logit-adjust must be in [0, 4]");
    if (!(to.binSigma >= 0 && to.binSigma <= 64)) throw UsageError("--bin-sigma must be within [0, 64]");
    if (args.value("token-noise")) to.tokenNoise = parseDouble("token-noise", *args.value("token-noise"));
    if (!(to.tokenNoise >= 0 && to.tokenNoise <= 1)) throw UsageError("--token-noise must be within [0, 1]");
    if (args.value("release-weight"))
        to.releaseWeight = parseDouble("release-weight", *args.value("release-weight"));
    if (!(to.releaseWeight > 0 && to.releaseWeight <= 100))
        throw UsageError("--release-weight must be within (0, 100]");
    if (to.releaseWeight != 1 && !(to.auxWeight > 0)) throw UsageError("--release-weight needs --aux");
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
    if (args.value("dagger-handover")) {
        to.daggerHandover = parseDouble("dagger-handover", *args.value("dagger-handover"));
        if (!(to.daggerHandover >= 0 && to.daggerHandover <= 1))
            throw UsageError("--dagger-handover must be within [0, 1]");
    }
    // Training layouts past the demonstrations' first seeds, below the held-out ones.
    to.daggerSeed = seed * 100000 + 50000;
    if (to.daggerRounds > 0 && to.daggerSeed + static_cast<std::uint64_t>(to.daggerRounds) *
                                                   static_cast<std::uint64_t>(to.daggerLayouts) >
                                   demo::kHeldOutSeedBase)
        throw UsageError("--dagger and --dagger-layouts would reach the held-out layouts");
    to.daggerExpert = heldOutExpert;
    to.readoutDrive = intOpt("readout-drive", 0);
    if (to.readoutDrive < 0) throw UsageError("--readout-drive must not be negative");
    if (to.readoutDrive > 0 && !(to.auxWeight > 0)) throw UsageError("--readout-drive needs --aux");
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
        if (c.goalErrorP90Cm >= 0)
            std::printf(
                "; goal read-out p90 %.1f cm, off by more than 10 cm on %.1f%%, median %.1f cm where a "
                "receptacle defines the goal, %.1f cm where a reference block does",
                c.goalErrorP90Cm, 100 * c.goalOff10Cm, c.goalErrorReceptacleCm, c.goalErrorReferenceCm);
        auto near = [](const char* thing, int frames, double offset, double relative) {
            if (frames == 0) return;
            std::printf("; within 10 cm of the %s (%d frames) its offset errs %.1f cm", thing, frames,
                        offset);
            if (relative >= 0) std::printf(" (%.1f cm by the relative read-out)", relative);
        };
        near("named block", c.nearBlockFrames, c.nearBlockOffsetErrorCm, c.nearBlockRelativeErrorCm);
        near("goal", c.nearGoalFrames, c.nearGoalOffsetErrorCm, c.nearGoalRelativeErrorCm);
        std::printf("\n");
    };
    if (target.bcUnseen.frames > 0) {
        printCheck("unseen", target.bcUnseen);
        printCheck("training", target.bcSeen);
    }
    if (target.holdingSamples >= 0)
        std::printf("release frames: %d of the %d samples that hold the named block (loss weight %g)\n",
                    target.releaseSamples, target.holdingSamples, to.releaseWeight);
    if (target.readoutDrive.layouts > 0)
        std::printf("expert on the state read-out: %d / %d held-out layouts succeeded, %d grasped (%.0f s)\n",
                    target.readoutDrive.successes, target.readoutDrive.layouts, target.readoutDrive.grasped,
                    target.readoutDrive.seconds);
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
    dopt.bf16Compute = to.bf16Compute;
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
        if (c.goalErrorP90Cm >= 0)
            j["goal_error"] = {{"p90_cm", c.goalErrorP90Cm},
                               {"off_10cm", c.goalOff10Cm},
                               {"receptacle_median_cm", c.goalErrorReceptacleCm},
                               {"reference_block_median_cm", c.goalErrorReferenceCm}};
        if (c.gripperErrorCm >= 0)
            j["near_offset_error_cm"] = {{"block_frames", c.nearBlockFrames},
                                         {"block", c.nearBlockOffsetErrorCm},
                                         {"block_relative", c.nearBlockRelativeErrorCm},
                                         {"goal_frames", c.nearGoalFrames},
                                         {"goal", c.nearGoalOffsetErrorCm},
                                         {"goal_relative", c.nearGoalRelativeErrorCm}};
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
    provenance["keyframes"] = {{"every", keyframes}, {"samples", data.keyframeSamples}};
    provenance["seed"] = seed;
    provenance["tokenizer_pieces"] = vocab;
    provenance["text_geometry"] = {{"layers", spec.textLayers},
                                   {"hidden", spec.textHidden},
                                   {"heads", spec.textHeads},
                                   {"intermediate", spec.textIntermediate}};
    provenance["image"] = {{"size", spec.imageSize}, {"patch", spec.patchSize}};
    nlohmann::json daggerJson = {{"rounds", to.daggerRounds},           {"layouts", to.daggerLayouts},
                                 {"max_steps", to.daggerMaxSteps},      {"stride", to.daggerStride},
                                 {"first_seed", to.daggerSeed},         {"handover", to.daggerHandover},
                                 {"per_round", nlohmann::json::array()}};
    for (const auto& r : target.dagger)
        daggerJson["per_round"].push_back({{"step", r.step},
                                           {"layouts", r.layouts},
                                           {"successes", r.successes},
                                           {"samples", r.samples},
                                           {"handed_over", r.handedOver},
                                           {"seconds", r.seconds}});
    provenance["target"] = {
        {"steps", steps},
        {"batch", batch},
        {"lr", to.lr},
        {"aux_weight", to.auxWeight},
        {"aux_layer", to.auxLayer},
        {"aux_positions", to.auxPositions},
        {"aux_relative_weight", to.auxRelativeWeight},
        {"aux_relative_loss", curve(target.auxRelativeLosses)},
        {"vision_steps", to.visionSteps},
        {"vision_lr", to.visionLr},
        {"vision_loss", curve(target.visionLosses)},
        {"vision_check",
         {{"frames", target.visionCheckFrames},
          {"gripper_error_cm", target.visionGripperErrorCm},
          {"block_error_cm", target.visionBlockErrorCm},
          {"gripper_height_error_cm", target.visionGripperHeightErrorCm},
          {"opening_error", target.visionOpeningError}}},
        {"freeze_vision", to.freezeVision},
        {"train_bf16", to.bf16Compute},
        {"sincos_positions", to.sincosPositions},
        {"vision_attention", to.visionAttentionWeight},
        {"bin_sigma", to.binSigma},
        {"logit_adjust", to.logitAdjust},
        {"token_noise", to.tokenNoise},
        {"release_weight", to.releaseWeight},
        {"holding_samples", target.holdingSamples},
        {"release_samples", target.releaseSamples},
        {"lm_attention", to.lmAttentionWeight},
        {"lm_attention_layer", target.lmAttentionLayer},
        {"lm_attention_loss", curve(target.lmAttentionLosses)},
        {"bc_check", {{"unseen", checkJson(target.bcUnseen)}, {"training", checkJson(target.bcSeen)}}},
        {"dagger", daggerJson},
        {"readout_drive",
         {{"layouts", target.readoutDrive.layouts},
          {"successes", target.readoutDrive.successes},
          {"grasped", target.readoutDrive.grasped},
          {"seconds", target.readoutDrive.seconds}}},
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

} // namespace specvla::cli::democli
