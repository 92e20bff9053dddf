// SPDX-License-Identifier: MIT
#pragma once

// The demo trainer's data: the tokenizer's corpus, expert demonstrations with the simulator's state features,
// OpenVLA's action statistics and tokens, the frames as the policy sees them, and the behaviour-cloning
// dataset built from them. No libtorch here or in dataset.cpp.
#include "data/episode.h"
#include "decode/action_tokenizer.h"
#include "decode/norm_stats.h"
#include "demo/expert.h"
#include "demo/world.h"
#include "vision/image.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace specvla::demo {

// The statistics key of the demo dataset in config.json's norm_stats and dataset_statistics.json.
constexpr const char* kDemoStatsKey = "demo_tabletop";

// The distinct instructions of the task family, from the layouts of seeds [0, seeds) of every task kind.
std::vector<std::string> instructionFamily(int seeds = 200);
// The tokenizer's training text: the instruction family plus seeded household-robot sentences.
std::vector<std::string> tokenizerCorpus();
// Trains tokenizer.model on tokenizerCorpus() (text::trainInstructionTokenizer) and returns its path.
std::string trainDemoTokenizer(const std::string& modelPrefix, int vocabSize);

// What the simulator knows about a frame and the policy must read off its pixels, for the auxiliary loss of
// trainTarget only (never saved, never a model input), each scaled to about [-1, 1]: the gripper's x, y, z
// and opening; whether it holds the named block; the named block's x, y and z; the task's goal x and y (the
// receptacle, the spot in front of it, the side of or the top of the reference block; the block itself for
// pick up); the gripper's yaw off square with the table (modulo a quarter turn); the gripper-to-block
// distance. Then, from index kSceneFeatureOffset, what the frame shows whatever the instruction (for
// pretraining the vision tower): the gripper's x, y, z, opening and yaw (as cos 4 yaw, sin 4 yaw); for each
// block colour of colorNames() whether such a block is on the table and its x, y, z (0 when absent); for the
// plate and the bowl whether one is on the table and its x, y.
constexpr int kTaskFeatures = 12;
constexpr int kSceneFeatureOffset = kTaskFeatures;
constexpr int kSceneFeatures = 6 + 6 * 4 + 2 * 3;
constexpr int kStateFeatures = kTaskFeatures + kSceneFeatures;
using StateFeatures = std::array<float, kStateFeatures>;
StateFeatures stateFeatures(const WorldState& state);
// The world as the task features (the first kTaskFeatures of `f`, scaled as stateFeatures) describe it, on
// top of `truth` for everything they do not carry: the gripper's position and opening, the named block's
// position, whether it is held, and the task's goal (the receptacle or the reference block moved so taskGoal
// gives it). For driving the expert on what a policy reads off a frame.
WorldState stateFromFeatures(const WorldState& truth, const float* f);

// What a templated instruction names, by the words it uses: the colour index (colorNames()) of the block to
// move, and what its goal is defined by: the reference block's colour index, or the receptacle (-1 when the
// goal is defined by a block or, for pick up, by nothing else). Throws Error naming the instruction when it
// names no block colour.
struct InstructionThings {
    int block = -1;
    int referenceBlock = -1;
    int receptacle = -1; // 0 plate, 1 bowl (ReceptacleKind order)
};
InstructionThings instructionThings(const std::string& instruction);

// Expert demonstrations: episode e is task allTaskKinds()[e % 5] on layout seed firstSeed + e (+ a retry
// offset: a perturbed rollout that fails is replaced by the next seed, so every returned episode succeeds),
// by an Expert with these options (the perturbation and gripper flips included). states, when given,
// receives stateFeatures of every frame, per episode.
std::vector<data::Episode> expertEpisodes(int count, std::uint64_t firstSeed, int imageSize,
                                          const ExpertOptions& options = {},
                                          std::vector<std::vector<StateFeatures>>* states = nullptr);

// The gripper in OpenVLA's convention, as its RLDS transform for LIBERO makes it: clip to [0, 1] and invert,
// so LIBERO's -1 (open) becomes 1 (open) and +1 (close) becomes 0. decode::liberoGripperPostprocess is the
// inverse (sign(2g - 1), negated) applied to decoded actions.
double toOpenVlaGripper(double liberoGripper);
data::Action toOpenVlaAction(const data::Action& liberoAction);
// A decoded action (OpenVLA convention, decode::ActionTrace::action) as the simulator takes it: the LIBERO
// gripper (decode::liberoGripperPostprocess), then its first 7 components (missing ones 0).
data::Action simulatorAction(std::vector<double> decoded);

// OpenVLA's dataset statistics of (OpenVLA-convention) actions: {"mean","std","max","min","q01","q99","mask"}
// per dimension; q01/q99 by linear interpolation as numpy.quantile; mask true for the six motion components
// and false for the gripper. Throws Error for an empty set.
nlohmann::json actionStatistics(const std::vector<data::Action>& openVlaActions);
// {key: {"action": stats}} as NormStats.
decode::NormStats normStatsFromStatistics(const nlohmann::json& actionStats, const std::string& key);

// The 7 training token ids of one OpenVLA-convention action: normalise (BOUNDS_Q99 where masked), then
// ActionTokenizer::encode per dimension.
std::array<int, 7> actionTokenIds(const data::Action& openVlaAction, const decode::NormStats& stats,
                                  const decode::ActionTokenizer& tokenizer);

// What the policy sees of a rendered (upright) frame: the frame as LIBERO stores agentview images (rotated
// 180 degrees, storedFrame), then OpenVLA's LIBERO eval path (vision::PreprocessOptions::libero(): rotate
// back, JPEG round trip, resize to 224, centre crop). Training, the closed-loop evaluation and every reader
// of the written episodes (CLI, workbench) therefore feed the model the same pixels.
vision::RgbImage storedFrame(const vision::RgbImage& rendered);
vision::RgbImage policyInput(const vision::RgbImage& rendered);
// Where a point at these fractions of a rendered frame appears in policyInput's image (the centre crop
// enlarges about the centre), as fractions of its width and height.
std::array<double, 2> policyInputPosition(const std::array<double, 2>& framePosition);
// The episode with every frame rotated as LIBERO stores them (for writing HDF5 files).
data::Episode storedEpisode(data::Episode episode);

struct DemoSample {
    int episode = 0;
    int step = 0;
    std::array<int, 7> tokens{};
};

// Every step of the episodes as a behaviour-cloning sample, with the statistics and tokens.
struct DemoDataset {
    std::vector<data::Episode> episodes;
    std::vector<DemoSample> samples;
    std::vector<vision::RgbImage> inputs; // policyInput of each sample's frame
    nlohmann::json actionStats;           // actionStatistics() of all steps
    decode::NormStats stats;              // key kDemoStatsKey
    std::vector<StateFeatures> states;    // per sample, for the auxiliary loss; empty when not known
    int keyframeSamples = 0;              // samples kept as key frames only (not on the frame stride)
};
// states: per episode and step (as expertEpisodes gives them), or empty. frameStride k > 1 keeps every k-th
// step of each episode as a sample (offset by the episode's index), so many layouts fit in memory; the action
// statistics still cover every step. keyframeEvery m > 0 also keeps, in every m-th episode (the first, the
// (m+1)-th, ...), the two frames on either side of each change of the gripper label: the last "open" before a
// grasp and the first "close", the last "close" before a release and the release. A stride of 9 keeps one
// release frame in nine; these are the frames whose labels hang on a distance of a few centimetres.
DemoDataset buildDataset(std::vector<data::Episode> episodes, const decode::ActionTokenizer& tokenizer,
                         const std::vector<std::vector<StateFeatures>>& states = {}, int frameStride = 1,
                         int keyframeEvery = 0);

} // namespace specvla::demo
