// SPDX-License-Identifier: MIT
#pragma once

// The demo trainer: a tiny OpenVLA-architecture target trained by behaviour cloning on the scripted expert's
// demonstrations, and an EAGLE / Spec-VLA draft head distilled from the trained target's hidden states with
// the reference loss (reference/specvla-openvla.md 1.5). Both are saved as Hugging Face layout checkpoints
// that VlaModel::load and DraftHead::load read. Plain structs here; libtorch stays in trainer.cpp (the
// trained weights travel behind the opaque WeightSet). The demonstrations they learn from are demo/dataset.h.
#include "demo/dataset.h"
#include "model/config.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace specvla::demo {

// The geometry of the demo model: the OpenVLA architecture (DINO-like featurizer with registers and
// LayerScale, SigLIP-like fused featurizer, fused-gelu-mlp projector, Llama decoder) at laptop size. Both
// featurizers take the second-to-last block's output, as OpenVLA does, so the last block is stored unused.
struct DemoModelSpec {
    int imageSize = 112; // the renderer draws at this size; no resize before the model
    int patchSize = 14;
    int dinoHidden = 96, dinoLayers = 3, dinoHeads = 2, dinoRegisters = 4;
    int siglipHidden = 64, siglipLayers = 2, siglipHeads = 2;
    int textHidden = 160, textLayers = 4, textHeads = 4, textKvHeads = 4;
    int textIntermediate = 432;
    int tokenizerVocab = 1024; // requested SentencePiece size (the trained model may be smaller)

    static DemoModelSpec laptop(); // the shipped demo model (the defaults above)
    static DemoModelSpec tiny();   // seconds-long tests
};

// The model config for a trained tokenizer of tokenizerVocab pieces: text vocab = tokenizerVocab + 64, pad
// id = tokenizerVocab, action tokens counted down from tokenizerVocab.
model::VlaConfig demoVlaConfig(const DemoModelSpec& spec, int tokenizerVocab);
// One decoder layer of the target's width (heads, MLP), as Spec-VLA's draft.
model::DraftConfig demoDraftConfig(const model::VlaConfig& target);

// name -> tensor in the Hugging Face key layout; defined in trainer.cpp (libtorch).
struct WeightSet;
// The names of a set's tensors, and one tensor's values as float32 in row-major order (Error naming an
// unknown tensor), for inspecting what a training stage changed.
std::vector<std::string> weightNames(const WeightSet& set);
std::vector<float> weightValues(const WeightSet& set, const std::string& name);

using TrainProgress = std::function<void(int step, double loss)>;

// One DAgger round of trainTarget (TargetTrainOptions::daggerRounds).
struct DaggerRound {
    int step = 0;       // the training step before which it ran
    int layouts = 0;    // closed-loop rollouts
    int successes = 0;  // of the policy so far, on those training layouts
    int samples = 0;    // frames added to the training samples
    double seconds = 0; // the rollouts and the added frames' patch embeddings
    int handedOver = 0; // rollouts the expert began (TargetTrainOptions::daggerHandover)
};

// The expert driving the gripper on held-out layouts from what the language model's state read-out (the
// auxiliary loss's) says about each frame, instead of the simulator's state: whether what the policy knows
// suffices to act on, apart from turning it into action tokens.
struct ReadoutDrive {
    int layouts = 0;
    int successes = 0;
    int grasped = 0; // layouts where the named block was held at some point
    double seconds = 0;
};

struct TargetTrainOptions {
    int steps = 400;
    int batchSize = 16;
    double lr = 1e-3;
    double weightDecay = 0.01;
    int warmupSteps = 30; // linear warm-up, then cosine decay to lr / 10
    double clipNorm = 1.0;
    bool predictEos = true; // EOS after the 7 action tokens carries loss too (predict_stop_token)
    double initStd = 0.02;
    std::uint64_t seed = 1;
    int threads = 0; // 0: leave libtorch's setting
    // Weight of the auxiliary state loss (needs DemoDataset::states; 0 or no states: none). Two linear
    // read-outs that exist only during training predict stateFeatures with a mean squared error: one from the
    // projected patch embeddings (where things are), one from the language model's last prompt position (what
    // the instruction asks about them). They shape the vision tower and the LLM; the saved checkpoint is the
    // plain OpenVLA layout.
    double auxWeight = 0.0;
    // The layer whose output the language model's read-out reads (-1: the final RMSNorm's output, which
    // also feeds the first action token's logits; an earlier layer leaves the layers above it free to turn
    // what the read-out knows into actions).
    int auxLayer = -1;
    // How many positions the read-outs read (the same linear maps at each, the loss averaged over them): the
    // last prompt position, whose output predicts the first action token (x), and the auxPositions - 1
    // positions after it, whose outputs predict the next ones (y, z, ...). The first action token's logits
    // read the state the read-out shapes, the later tokens' logits read states the read-out never asks
    // anything of. 1 to 7; 1: the last prompt position only.
    int auxPositions = 1;
    // Weight of a second read-out of the same language-model state (needs auxWeight and states): the named
    // block's and the goal's offsets from the gripper in the table plane, each as tanh(offset / 5 cm), with a
    // mean squared error. The first read-out scales positions by 1 / 0.3 m, so its loss hardly changes over
    // the last centimetres near a thing; this one is steepest there, where the decisions to close and to let
    // go hang on 2 to 4 cm. Training only, never saved. 0: none.
    double auxRelativeWeight = 0;
    // Vision pretraining (needs DemoDataset::states): before behaviour cloning, the vision tower and the
    // projector learn to read the scene features (kSceneFeatureOffset on) off the pixels. The read-out
    // (training only, never saved) works as the language model's attention does: one learnt query per thing
    // (gripper, each block colour, plate, bowl) pools the projected patches by content and a linear map of
    // the pooled features gives the thing's features, so each patch's features must say what it shows and
    // where. Cheap steps (no language model), so the tower sees many frames before it serves the policy.
    // 0: none.
    int visionSteps = 0;
    int visionBatch = 32;
    double visionLr = 1e-3;
    // Weight of a second pretraining loss that tells the read-out's queries where to look: the cross
    // entropy between each query's attention over the patches and a Gaussian (half a patch wide) around
    // where its thing projects in the model's image. Without it the tower must discover by itself which
    // patches show what, which it does slowly. 0: none.
    double visionAttentionWeight = 0;
    // Behaviour cloning trains the language model only: the (pretrained) vision tower and projector stay as
    // they are, and every sample's patch embeddings are computed once, so a step costs the language model's
    // forward and backward alone.
    bool freezeVision = false;
    // Training computes its matrix products in BF16 (CPU autocast; weights, gradients, optimiser state and
    // checkpoints stay F32): about 0.6 of an F32 step's time on CPUs with BF16 arithmetic (AVX512-BF16,
    // AMX), other results. Behaviour cloning and the vision pretraining; the draft's has its own switch.
    bool bf16Compute = false;
    // The vision towers' position embeddings start as fixed 2-D sine-cosine tables (then train) instead of
    // small random values, so every patch's features say where it is from the first step.
    bool sincosPositions = false;
    // Soft labels for the motion tokens (the first six action tokens): a Gaussian of this standard deviation
    // in bins around the label's bin, over the action tokens, so a prediction a few bins off costs little and
    // the target's distribution spreads over neighbouring bins as the expert's labels do (what relaxed
    // acceptance exploits). The gripper token and EOS stay one-hot. 0: plain cross entropy.
    double binSigma = 0;
    // Input-token noise: in training only, each action token the teacher-forced rows feed back as input (the
    // labels before the last) is, with this probability, swapped for the same dimension's label of another
    // sample drawn at random; the loss still asks for the true labels. Greedy decoding feeds the policy its
    // own tokens, and a policy trained only on the expert's learns shortcuts through them (the gripper token
    // read off the z token: descending means open), so one wrong token drags the ones after it along. The
    // checkpoint is unchanged; the bc check stays teacher-forced on the true tokens. 0: none.
    double tokenNoise = 0;
    // Weight of the gripper token's loss on release frames: samples whose state holds the named block and
    // whose gripper label is "open" (the frame the expert lets go on). With frame striding and an expert that
    // lets go on one frame, they are a small minority of the frames that hold the block, and a policy unsure
    // how far the goal is falls back on "close" there: it carries the block to the goal and hovers over it
    // with it. Needs the simulator's states (the auxiliary loss's). 1: every token weighs the same.
    double releaseWeight = 1;
    // Logit adjustment for the motion tokens (as in long-tail classification, Menon et al. 2021): in training
    // only, logitAdjust * log(frequency of each bin among that dimension's labels) is added to the action
    // tokens' logits before the loss, so the logits learn how much likelier a bin is than its share of the
    // labels, and greedy decoding of the saved (unchanged) checkpoint stops falling back on the frequent end
    // bins when it is unsure. 0: none.
    double logitAdjust = 0;
    // Keep the last twentieth of the samples (at most 256: the last episodes' frames, the ones the vision
    // check keeps out of pretraining) out of behaviour cloning too, and measure the policy on them and on as
    // many samples it trained on (TrainedTarget::bcUnseen, bcSeen). Off: every sample trains.
    bool bcCheck = false;
    // Weight of an attention loss on the language model (needs DemoDataset::states and a square patch grid):
    // at the last prompt position, three heads of layer lmAttentionLayer are told where to look, as the
    // vision pretraining tells its queries: head 0 at the patches of the block the instruction names, head
    // 1 at the thing its goal is defined by (the reference block or the receptacle; the block again for pick
    // up), head 2 at the gripper. Cross entropy of each head's attention over the patch slots against a
    // Gaussian (half a patch wide) around the thing. It teaches the binding of instruction words to patches,
    // which behaviour cloning alone learns slowly. Training only; the checkpoint is unchanged. 0: none.
    double lmAttentionWeight = 0;
    // -1: a quarter of the way up, at least layer 1 (whose queries have read the instruction) where there is
    // one.
    int lmAttentionLayer = -1;
    // DAgger (Ross, Gordon and Bagnell 2011): at daggerRounds evenly spaced points of behaviour cloning, the
    // policy as trained so far drives the gripper (greedy AR decoding, closed loop, at most daggerMaxSteps
    // steps) on daggerLayouts training layouts, an expert with daggerExpert's options labels every state
    // it visits, and every daggerStride-th of those frames joins the training samples for the remaining
    // steps. Expert demonstrations, even perturbed ones, rarely show the states the policy's own errors
    // lead to; these samples do. Layout k of round r is task allTaskKinds()[k % 5] on seed daggerSeed + r *
    // daggerLayouts + k (keep it below kHeldOutSeedBase and away from the demonstrations' seeds). The
    // collected samples are appended to the dataset (its episodes carry the instruction and no frames). 0:
    // none.
    int daggerRounds = 0;
    int daggerLayouts = 50;
    int daggerMaxSteps = 60;
    int daggerStride = 2;
    // This share of each round's layouts (spread evenly over them) is begun by the expert: it drives until
    // 0 to kHandoverMaxDelay steps (drawn per layout) after it first holds the named block, or until it would
    // let go or finish the task if that comes first, and the policy drives from there (so the successes a
    // round counts are the policy's). Only the policy's frames are kept.
    // Rollouts that start from the layout rarely carry a block to its goal while the policy is young, so the
    // frames where it must let go seldom come in; these do. 0: none.
    double daggerHandover = 0;
    static constexpr int kHandoverMaxDelay = 6;
    std::uint64_t daggerSeed = 0;
    ExpertOptions daggerExpert;                             // perturbation and gripper flips are not used
    std::function<void(const DaggerRound&)> daggerProgress; // after each round
    // With auxWeight: after training, drive held-out layouts 0 .. readoutDrive - 1 with an expert of
    // daggerExpert's options on the state read-out (ReadoutDrive). 0: none.
    int readoutDrive = 0;
};

// How well the trained policy fits a set of samples, teacher-forced (each action token predicted from the
// prompt and the expert's earlier tokens; the greedy token is the argmax).
struct PolicyCheck {
    int frames = 0;
    double tokenMatch = 0; // fraction of the 7 action tokens equal to the expert's
    // x, y, z: fraction of the frames whose predicted value has the expert's sign, among those where the
    // expert's normalised value is at least 0.1 away from 0.
    std::array<double, 3> signAgreement{};
    double meanBinDistance = 0; // over the six motion tokens
    // With the auxiliary loss: its read-out from the last prompt position, median error in the table plane in
    // centimetres for the gripper, the named block and the task's goal; -1 without it.
    double gripperErrorCm = -1, blockErrorCm = -1, goalErrorCm = -1;
    // The same read-out's median error of the fingertips' height (cm), and the fraction of frames whose
    // "holding the named block" read-out has the wrong sign; -1 without it.
    double heightErrorCm = -1, heldWrong = -1;
    // The goal read-out's tail: its 90th percentile (cm), the fraction of frames it misplaces by more than
    // 10 cm (another receptacle or block taken for the goal), and its median over the frames whose goal a
    // receptacle defines (put in, move to the front) and over those a reference block defines (stack, place
    // beside); -1 without the read-out or without such frames.
    double goalErrorP90Cm = -1, goalOff10Cm = -1, goalErrorReceptacleCm = -1, goalErrorReferenceCm = -1;
    // Near a thing (its true planar offset from the fingertips under 10 cm): the median error (cm) of the
    // named block's offset from the gripper, over frames that do not hold it, and of the goal's, over frames
    // that hold the block of a task with a goal apart from it. "Offset" is the difference of the read-out's
    // two positions; "relative" the relative read-out's (auxRelativeWeight). -1 without the read-out or
    // without such frames; the frames counts them.
    int nearBlockFrames = 0, nearGoalFrames = 0;
    double nearBlockOffsetErrorCm = -1, nearGoalOffsetErrorCm = -1;
    double nearBlockRelativeErrorCm = -1, nearGoalRelativeErrorCm = -1;
};

struct TrainedTarget {
    model::VlaConfig config; // normStats filled with the dataset's statistics
    std::string tokenizerPath;
    nlohmann::json actionStats;
    std::shared_ptr<WeightSet> weights;
    std::vector<double> losses;    // per step (cross entropy per supervised token)
    std::vector<double> auxLosses; // per step (the auxiliary loss, both read-outs), empty without it
    std::vector<double>
        auxRelativeLosses; // per step (auxRelativeWeight's loss, unweighted), empty without it
    std::vector<double>
        lmAttentionLosses;            // per step (lmAttentionWeight's loss, unweighted), empty without it
    int lmAttentionLayer = -1;        // the layer it supervised
    std::vector<double> visionLosses; // per vision pretraining step (mean squared error of the read-out)
    double visionSeconds = 0;         // of the pretraining and the frozen patch embeddings
    // How well the pretrained read-out locates things on frames it never trained on (the last twentieth
    // of the samples, at most 256, are kept out of the pretraining batches): the median error in the table
    // plane, in centimetres, of the gripper and of the blocks on the table; 0 frames when not measured.
    int visionCheckFrames = 0;
    double visionGripperErrorCm = 0;
    double visionBlockErrorCm = 0;
    double visionGripperHeightErrorCm = 0; // the fingertips' height
    double visionOpeningError = 0;         // the opening, 0 closed to 1 open
    // With TargetTrainOptions::bcCheck: the policy on the samples kept out and on as many it trained on.
    PolicyCheck bcUnseen, bcSeen;
    // With TargetTrainOptions::daggerRounds: what each round's closed-loop rollouts found and added.
    std::vector<DaggerRound> dagger;
    // With TargetTrainOptions::readoutDrive.
    ReadoutDrive readoutDrive;
    // Of the samples behaviour cloning trains on at the start (before DAgger): how many hold the named block,
    // and how many of those are release frames (TargetTrainOptions::releaseWeight); -1 without states.
    int holdingSamples = -1, releaseSamples = -1;
    double seconds = 0;
};

// The steps after its grasp the expert keeps driving a handed-over DAgger rollout on the layout of this
// seed (TargetTrainOptions::daggerHandover): 0 to kHandoverMaxDelay.
int daggerHandoverDelay(std::uint64_t layoutSeed);

// Behaviour cloning with teacher forcing: [BOS, patches, prompt[1:] incl. the space token, 7 action tokens]
// in, cross entropy on the 7 action tokens (and EOS), AdamW, seeded init and minibatches. visionProgress
// reports the vision pretraining steps (TargetTrainOptions::visionSteps). data changes only with DAgger
// rounds, which append the samples they collect (after the original ones, whose indices stay).
TrainedTarget trainTarget(const model::VlaConfig& config, const std::string& tokenizerPath, DemoDataset& data,
                          const TargetTrainOptions& options, const TrainProgress& progress = {},
                          const TrainProgress& visionProgress = {});

struct DraftTrainOptions {
    int steps = 400;
    int batchSize = 16;
    double lr = 1e-3;
    int warmupSteps = 30;
    double clipNorm = 0.5;
    double valueWeight = 1.0; // v_w: SmoothL1 on hidden states
    double probWeight = 0.1;  // p_w: cross entropy of the draft's lm_head distribution against the target's
    double noise = 0.2;       // uniform input-hidden noise (U - 0.5) * noise * 512 / seq_len
    bool bf16Compute = false; // the forward and the loss in BF16 (as TargetTrainOptions::bf16Compute)
    double initStd = 0.02;
    std::uint64_t seed = 2;
    int threads = 0;
    // The target's greedy tokens (one decode per sample) and the draft's minibatches use at most this many
    // samples, evenly spread over the dataset. 0: all.
    int maxSamples = 0;
};

struct TrainedDraft {
    model::DraftConfig config;
    int vocabSize = 0; // the target's text vocab (embed_tokens rows)
    std::shared_ptr<WeightSet> weights;
    std::vector<double> losses;
    double greedyMatch = 0; // fraction of the target's greedy action tokens equal to the expert's tokens
    double draftTop1 = 0; // fraction of trained positions whose draft argmax equals the target's (last batch
                          // of training, without noise)
    double seconds = 0;
};

// Distils a draft head: contexts are prompt-only inputs followed by the target's own greedy action tokens;
// position i takes (E[i+1], H[i] + noise) and learns H[i+1] on the 6 positions from the last prompt token
// through action token 5 (their targets are the hidden states of action tokens 1..6, whose lm_head outputs
// are tokens 2..7), with L = v_w SmoothL1 + p_w CE(softmax(lm_head(h)), log_softmax(lm_head(h_hat))). The
// target (embedding and lm_head included) stays frozen.
TrainedDraft trainDraft(const TrainedTarget& target, const DemoDataset& data,
                        const model::DraftConfig& config, const DraftTrainOptions& options,
                        const TrainProgress& progress = {});

struct SaveOptions {
    bool bf16 = false;               // F32 otherwise
    std::uint64_t maxShardBytes = 0; // 0: one model.safetensors; else sharded with an index
};

// dir/config.json (norm_stats[kDemoStatsKey]), model.safetensors (every tensor of vlaTensorSpecs, the
// unused ones too), tokenizer.model, dataset_statistics.json. Loads with VlaModel::load.
void saveDemoModel(const std::string& dir, const TrainedTarget& target, const SaveOptions& options = {});
// dir/config.json + model.safetensors (fc, layer 0, embed_tokens as the reference ships it). Loads with
// DraftHead::load.
void saveDraft(const std::string& dir, const TrainedDraft& draft, const SaveOptions& options = {});
// A target saved by saveDemoModel (or any OpenVLA-layout folder of the demo's architecture), as trained
// weights again (float32 copies), so that a draft head can be distilled from it: config.json, every tensor
// of vlaTensorSpecs, tokenizer.model. Throws Error naming the folder, file or tensor that is missing or
// malformed.
TrainedTarget loadTrainedTarget(const std::string& dir);

} // namespace specvla::demo
