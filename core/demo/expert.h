// SPDX-License-Identifier: MIT
#pragma once

// The demo world's scripted expert: a closed-loop state machine over the WorldState that emits smooth 7-D
// delta actions with small seeded noise, and the rollout helper that records its demonstrations.
#include "data/episode.h"
#include "demo/sim.h"
#include "demo/world.h"

#include <array>
#include <cstdint>
#include <vector>

namespace specvla::demo {

struct ExpertOptions {
    double noise = 0.01;    // uniform noise amplitude on the motion components (action units)
    double maxChange = 0.5; // largest change of a motion component between consecutive steps, before noise
    // Proportional gain from remaining distance (in action units) to velocity. 1 is dead-beat (full speed
    // beyond one step's reach, then exactly onto the goal: nearly every label saturated at +-1 or 0), which
    // the shipped demo assets were built with. Below 1 the approach slows down smoothly and the labels spread
    // over neighbouring bins.
    double gain = 1.0;
    // DART-style perturbation for training data: the simulator executes the action plus uniform noise of this
    // amplitude on dx, dy, dz and dyaw while the episode records the expert's own action, so the
    // demonstrations show how to recover from the small errors a learned policy makes. 0: none.
    double perturbation = 0.0;
    // With this probability per step of a perturbed rollout (perturbation > 0), the simulator executes the
    // opposite gripper command, so the demonstrations also show how to recover from a grasp closed on nothing
    // or a block dropped early. 0: never.
    double gripperFlip = 0.0;
    // The approach style. false (the shipped demo assets): phases switch on tight thresholds (travel at hover
    // height until within 1.2 cm, then descend), so the action jumps between neighbouring states and a policy
    // that is a centimetre off oscillates between "rise" and "descend". true: a funnel, the commanded height
    // a continuous function of the horizontal distance (descending over the last few centimetres; as wide
    // as the task's tolerance allows), grasp and release as soon as the simulator would succeed with margin
    // while the fingers keep moving (no "hold still" phase), and a goal that does not depend on the previous
    // action; with gain < 1 and maxChange >= 2 every label is a function of the frame alone.
    bool funnel = false;
    // Labels rounded to multiples of this (action units) before the noise, so the motion labels take a few
    // values (0, +-quantum, ..., +-1) instead of a continuum. A policy that decodes the most likely bin picks
    // among bins that hold probability mass: with continuous labels, the small steps near a goal spread
    // over dozens of bins while the saturated ones pile up on the two end bins, so an unsure policy
    // picks an end bin and overshoots. Near the goal the expert stops within quantum / 2 of a step's
    // reach (times 1 / gain). 0: continuous.
    double quantum = 0.0;
    // Funnel pick-and-place only: while the fingers close on the named block they head for 2.5 cm above its
    // bottom (a gentle rise, slower than the closing, so they are still low enough to grasp when they meet
    // the block), and they keep closing while they close. A frame just after a grasp looks like one just
    // before it (the block between the fingers, at the table), and the label for a held block is to rise:
    // with this both labels rise, so a policy that takes one for the other still lifts the block instead of
    // holding still over it. false (the shipped demo assets): close while descending to the block's bottom.
    bool graspRise = false;
    // A third style (overrides funnel): every vertical decision hangs on what a frame shows plainly. Empty,
    // the open fingers head straight down and across to the named block at once (an open gripper passes
    // through what it meets in this simulator, and the table stops it, so "descend" is right at every
    // height), close once low within 4 cm of it and keep closing, and open again when they shut on nothing.
    // Holding it, they rise to the carrying height while they cross to the goal, and let go over it as far
    // from it as the success test allows with 2 cm to spare (1.5 cm for stacking): the block drops onto
    // what is below. The policy never has to judge how high the fingers are above the table to know
    // whether to go up or down, and the gripper decisions tolerate a misread position of a few centimetres.
    bool drop = false;
};

// Where the task wants the named block, in the table plane: the receptacle's centre (put in), the spot in
// front of it (move to front), beside or on the reference block, or the block's own place (pick up). Throws
// Error when the task names no such receptacle or block.
std::array<double, 2> taskGoal(const WorldState& state);

class Expert {
public:
    Expert(std::uint64_t seed, ExpertOptions options = {});
    // The next action for this state: motion components within [-1, 1], gripper exactly -1 or +1.
    data::Action act(const WorldState& state);
    void reset();

private:
    Rng m_rng;
    ExpertOptions m_options;
    data::Action m_previous{};
};

// An expert demonstration of the task on sampleLayout(task, seed): frames of imageSize x imageSize, the
// expert's actions (noise seeded from seed), rewards and dones. demoName is left empty (the writer numbers
// demos); firstStep is 0. states, when given, receives the world state each frame shows (one per step).
data::Episode rollout(TaskKind task, std::uint64_t seed, int imageSize, const ExpertOptions& options = {},
                      int maxSteps = kMaxEpisodeSteps, std::vector<WorldState>* states = nullptr);

} // namespace specvla::demo
