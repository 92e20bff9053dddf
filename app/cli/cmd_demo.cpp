// SPDX-License-Identifier: MIT
// specvla demo: the demo world's commands (train and distil in cmd_demo_train.cpp, eval and probe in
// cmd_demo_eval.cpp), their usage, and what they share.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/decode_options.h"
#include "cli/demo_cli.h"
#include "common/error.h"

#include <cstdio>

namespace specvla::cli {

std::string demoUsage() {
    return "usage: specvla demo train --out DIR [--episodes N] [--steps N] [--draft-steps N] [--batch N]\n"
           "                          [--seed S] [--eval N] [--heldout N] [--perturb A] [--lr LR] [--aux W] "
           "[--vision-steps N]\n"
           "                          [--vision-lr LR]\n"
           "                          [--text-layers N] [--text-hidden N] [--text-heads N] "
           "[--text-intermediate N]\n"
           "                          [--image-size N] [--patch-size N]\n"
           "                          [--freeze-vision] [--draft-samples N] [--tiny] [--bf16] "
           "[--train-bf16]\n"
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
           "  --expert STYLE   threshold (default: phases switch within 1.2 cm), funnel (the height a\n"
           "                   continuous function of the distance, no hold-still phases) or drop (empty:\n"
           "                   straight down and across to the block; holding: up and across, let go over\n"
           "                   the goal; the shipped assets')\n"
           "  --expert-gain G  the expert's velocity per unit of remaining distance, in (0, 1] (default 1:\n"
           "                   dead-beat); --expert-max-change C its largest change per step (default 0.5;\n"
           "                   2: none, so every label is a function of the frame)\n"
           "  --expert-quantum Q  motion labels rounded to multiples of Q (default 0: continuous), so\n"
           "                   small steps near a goal share a few bins instead of spreading over dozens\n"
           "  --expert-grasp-rise  (funnel) the fingers rise gently while they close on a block, so the\n"
           "                   frames just before and just after a grasp both say rise\n"
           "  --lr LR          target learning rate (default 1e-3)\n"
           "  --frame-stride K train on every K-th step of each episode (more layouts in the same memory;\n"
           "                   default 1)\n"
           "  --keyframes M    also keep, in every M-th episode, the frames on either side of each change\n"
           "                   of the gripper label (grasp and release), whatever the stride (default 0)\n"
           "  --aux W          weight of an auxiliary state loss: read-outs of the simulator's state from\n"
           "                   the patches and the last prompt position, in training only (default 0: none)\n"
           "  --aux-layer L    the language model's read-out reads layer L's output (default: the final\n"
           "                   norm's, which the first action token's logits read too)\n"
           "  --aux-positions N the read-outs read the last prompt position and the N - 1 after it,\n"
           "                   whose outputs predict the y, z, ... tokens (1 to 7, default 1; needs --aux)\n"
           "  --aux-relative W weight of a second read-out of that state: the named block's and the goal's\n"
           "                   offsets from the gripper as tanh(offset / 5 cm), steepest near them (needs\n"
           "                   --aux; default 0: none)\n"
           "  --vision-steps N pretrain the vision tower for N steps to read the scene (gripper, blocks,\n"
           "                   receptacles) off the pixels before behaviour cloning (default 0: none)\n"
           "  --vision-lr LR   the vision pretraining's learning rate (default 1e-3)\n"
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
           "  --readout-drive N  after training, drive held-out layouts 0 .. N-1 with the expert acting on\n"
           "                   what the language model's state read-out (--aux) says about each frame\n"
           "  --token-noise Q  in training only, each action token fed back as input is, with probability\n"
           "                   Q, the same dimension's label of a random other sample, so the policy reads\n"
           "                   the frame, not the tokens before (default 0: none)\n"
           "  --release-weight W  weight of the gripper token's loss on release frames (holding the named\n"
           "                   block, label open), rare among the frames that hold it (default 1; needs "
           "--aux)\n"
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
           "  --dagger-handover F  the expert begins this share of each round's rollouts and hands over\n"
           "                   0 to 6 steps after it holds the named block, so the frames where the policy\n"
           "                   must carry and let go come in early (default 0: none)\n"
           "  --draft-samples N the draft learns on at most N samples, evenly spread (default: all)\n"
           "  --bc-check       keep the last layouts' frames (a twentieth, at most 256) out of behaviour\n"
           "                   cloning and report the policy on them and on as many training frames:\n"
           "                   action tokens, sign agreement, the state read-out's error\n"
           "  --heldout N      expert episodes on held-out layouts written to DIR/episodes (default 20)\n"
           "  --bf16           save BF16 tensors (F32 otherwise)\n"
           "  --train-bf16     compute training's matrix products in BF16 (weights, optimiser and the\n"
           "                   checkpoints stay F32): faster on CPUs with BF16 arithmetic, other weights\n"
           "\n"
           "demo eval drives the simulator with the policy on held-out layouts (never used in training) in "
           "AR,\n"
           "strict and relaxed mode at each margin, and reports closed-loop success and acceptance length "
           "per\n"
           "mode (table on stdout, everything in OUT), with how close each episode came: the closest "
           "approach\n"
           "to the named block, whether it was grasped and how far it ended from the goal. Each success "
           "rate\n"
           "comes with its 95% (Wilson) interval, and each mode is compared with AR layout by layout: the\n"
           "layouts both solve, only one solves, neither solves, and the exact McNemar p-value of the "
           "split.\n"
           "Greedy decoding and seeded layouts: deterministic.\n"
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
           "                   (default 200), the expert labels what it visits, --steps more steps\n"
           "  --fixed-noise    draw each episode's misreading once and keep it for every frame, as a\n"
           "                   trained policy's misreading is a function of the frame (default: anew per "
           "frame)\n"
           "  --expert-drives  the expert itself drives on the misread state, with no clone trained\n";
}

namespace democli {

demo::ExpertOptions expertFromArgs(const Args& args) {
    demo::ExpertOptions expert;
    const std::string style = args.value("expert") ? *args.value("expert") : "threshold";
    if (style != "threshold" && style != "funnel" && style != "drop")
        throw UsageError("--expert must be 'threshold', 'funnel' or 'drop', not '" + style + "'");
    expert.funnel = style == "funnel";
    expert.drop = style == "drop";
    if (args.value("expert-gain")) expert.gain = parseDouble("expert-gain", *args.value("expert-gain"));
    if (args.value("expert-max-change"))
        expert.maxChange = parseDouble("expert-max-change", *args.value("expert-max-change"));
    if (!(expert.gain > 0 && expert.gain <= 1)) throw UsageError("--expert-gain must be in (0, 1]");
    if (!(expert.maxChange > 0 && expert.maxChange <= 2))
        throw UsageError("--expert-max-change must be in (0, 2]");
    if (args.value("expert-quantum"))
        expert.quantum = parseDouble("expert-quantum", *args.value("expert-quantum"));
    if (!(expert.quantum >= 0 && expert.quantum <= 1)) throw UsageError("--expert-quantum must be in [0, 1]");
    expert.graspRise = args.has("expert-grasp-rise");
    expert.perturbation = args.value("perturb") ? parseDouble("perturb", *args.value("perturb")) : 0.3;
    if (!(expert.perturbation >= 0 && expert.perturbation <= 1))
        throw UsageError("--perturb must be in [0, 1]");
    expert.gripperFlip =
        args.value("gripper-flip") ? parseDouble("gripper-flip", *args.value("gripper-flip")) : 0.0;
    if (!(expert.gripperFlip >= 0 && expert.gripperFlip <= 1))
        throw UsageError("--gripper-flip must be a probability");
    return expert;
}

int intOption(const Args& args, const char* name, int def, int min) {
    const auto v = args.value(name);
    const int x = v ? parseInt(name, *v) : def;
    if (x < min)
        throw UsageError(std::string("--") + name +
                         (min == 0   ? " must not be negative"
                          : min == 1 ? " must be positive"
                                     : " must be at least " + std::to_string(min)));
    return x;
}

const char* expertStyle(const demo::ExpertOptions& expert) {
    return expert.drop ? "drop" : expert.funnel ? "funnel" : "threshold";
}

nlohmann::json expertJson(const demo::ExpertOptions& expert) {
    return {{"style", expertStyle(expert)},       {"gain", expert.gain},
            {"max_change", expert.maxChange},     {"perturbation", expert.perturbation},
            {"gripper_flip", expert.gripperFlip}, {"quantum", expert.quantum},
            {"grasp_rise", expert.graspRise}};
}

data::LiberoWriteOptions demoWriteOptions(demo::TaskKind task) {
    data::LiberoWriteOptions wo;
    wo.layout = data::LiberoLayout::Raw;
    wo.problemName = std::string("demo_") + demo::taskKindName(task);
    wo.domainName = "specvla_demo_tabletop";
    wo.compress = true;
    return wo;
}

demo::TrainProgress LossPrinter::phase(const char* what, int total) {
    m_window = 0;
    m_count = 0;
    return [this, what, total](int step, double loss) {
        m_window += loss;
        ++m_count;
        if ((step + 1) % m_every == 0 || step + 1 == total) {
            std::printf("%s step %5d / %d  loss %.4f  (%.0f s)\n", what, step + 1, total, m_window / m_count,
                        m_elapsed());
            std::fflush(stdout);
            m_window = 0;
            m_count = 0;
        }
    };
}

} // namespace democli

int runDemo(const std::vector<std::string>& argv) {
    if (argv.empty()) throw UsageError("demo needs a subcommand: train, eval or probe");
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (argv.front() == "train") return democli::runTrain(rest);
    if (argv.front() == "eval") return democli::runEval(rest);
    if (argv.front() == "probe") return democli::runProbe(rest);
    if (argv.front() == "distil") return democli::runDistil(rest);
    throw UsageError("unknown demo subcommand '" + argv.front() + "' (expected: train, eval, probe, distil)");
}

} // namespace specvla::cli
