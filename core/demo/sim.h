// SPDX-License-Identifier: MIT
#pragma once

// The demo world's kinematic simulator: applies 7-D delta actions to a WorldState, decides success, and
// records episodes in the data::Episode layout the LIBERO writer takes.
#include "data/episode.h"
#include "demo/world.h"
#include "vision/image.h"

#include <cstdint>
#include <functional>

namespace specvla::demo {

// One action's scale: a unit of dx/dy/dz moves the fingertips this far, a unit of dyaw turns this much.
constexpr double kMoveScale = 0.03; // metres per unit action per step
constexpr double kYawScale = 0.15;  // radians per unit action per step
// Opening change per step towards the gripper command: closing fingers reach a held block's sides in 2 steps.
constexpr double kOpeningRate = 0.34;
constexpr int kMaxEpisodeSteps = 80;
constexpr double kFingerHalfThickness = 0.009;
// The opening at which closed fingers rest against a held block's sides.
constexpr double kHeldOpening =
    (kBlockSize + 2 * kFingerHalfThickness - kFingerGapClosed) / (kFingerGapOpen - kFingerGapClosed);

// Applies one action [dx, dy, dz, droll, dpitch, dyaw, gripper]: components are clamped to [-1, 1] and
// scaled; roll and pitch are ignored (the gripper stays vertical); gripper > 0 closes, <= 0 opens. Closing
// on a block between the fingers grasps it and the block follows the gripper; opening releases it onto
// whatever is below (another block or the table). A closed gripper low on the table pushes blocks it runs
// into. Increments state.step.
void step(WorldState& state, const data::Action& action);

// Whether the instructed task is accomplished in this state.
bool success(const WorldState& state);

// A policy maps the current frame (and, for scripted policies, the state) to the next action.
using Policy = std::function<data::Action(const vision::RgbImage& frame, const WorldState& state)>;

struct RolloutResult {
    data::Episode episode;
    WorldState finalState;
    bool success = false;
    // How close the policy came, for telling a policy that never reaches the named block from one that
    // reaches it but fails later: the smallest planar distance (m) between the fingertips and the named block
    // over every frame the policy saw and the final state, and whether the gripper held the named block at
    // any point.
    double closestToTarget = 0;
    bool graspedTarget = false;
};

// Runs a policy from the given state for at most maxSteps: step t records the frame seen before action t,
// the action, reward 1 and done 1 on the step after which the task succeeded (the episode ends there),
// else 0. The episode carries the instruction and size x size frames.
RolloutResult runEpisode(const WorldState& start, const Policy& policy, int imageSize,
                         int maxSteps = kMaxEpisodeSteps);

// Every `every`-th frame of an episode (and its last one), tiled left to right in rows of `columns`, for a
// quick look at what a policy did. Unused tiles stay black. Throws Error for an episode without frames or
// every / columns below 1.
vision::RgbImage contactSheet(const data::Episode& episode, int every, int columns);

} // namespace specvla::demo
