// SPDX-License-Identifier: MIT
#pragma once

// A behaviour-cloning probe with perfect perception. A small MLP maps the simulator's state features and the
// task kind to the expert's action bins, trained on the same kind of demonstrations as the demo target. Its
// closed-loop success on the held-out layouts, with Gaussian noise added to every position it reads, says
// whether an expert can be cloned at all from one frame's state and how precisely the vision must locate
// the gripper, the blocks and the receptacles for that. Minutes instead of the target's half hour, so
// expert designs can be compared before a full training run. No libtorch in this header.
#include "demo/expert.h"
#include "demo/sim.h"
#include "demo/world.h"

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace specvla::demo {

struct ProbeOptions {
    int episodes = 1000;              // expert rollouts: task e % 5 on layout seed firstSeed + e
    std::uint64_t firstSeed = 100000; // their first layout seed
    ExpertOptions expert;             // perturbation and gripper flips included
    int steps = 3000;                 // AdamW steps
    int batch = 256;
    int hidden = 256; // three hidden layers of this width
    double lr = 1e-3;
    std::uint64_t seed = 1;                        // initialisation, batches and the noise
    std::vector<double> noiseCm = {0, 1, 2, 4, 8}; // standard deviation of the position noise, per level
    int evalEpisodes = 40;                         // held-out layouts 0 .. evalEpisodes - 1 (heldOutLayout)
    int maxSteps = kMaxEpisodeSteps;
    int threads = 0; // torch intra-op threads; 0 leaves the setting alone
    // DAgger rounds after the first training: the policy drives daggerEpisodes fresh training layouts, the
    // expert (unperturbed) labels every state it visits, and the policy trains `steps` more steps on all
    // samples. 0: plain behaviour cloning.
    int daggerRounds = 0;
    int daggerEpisodes = 200;
    // Soft labels over the bins: each motion label becomes a Gaussian of this standard deviation (in bins)
    // around its bin, so a prediction a few bins off costs little. 0: one-hot (plain cross entropy).
    double binSigma = 0;
    // The evaluation's misreading. false: drawn anew for every frame. true: drawn once per held-out episode
    // and the same for every frame of it, a systematic misreading such as a trained policy's, whose error is
    // a function of what the frame shows (a wrong fixed point instead of noise that averages out).
    bool fixedNoise = false;
    // The evaluation drives with the expert itself on the perceived state instead of a clone (no training):
    // how much of a misreading the expert's decisions tolerate, apart from cloning them.
    bool expertDrives = false;
};

struct ProbeLevel {
    double noiseCm = 0;
    int successes = 0;
    int episodes = 0;
    std::array<int, kNumTaskKinds> successesPerTask{}; // by allTaskKinds() order
    std::array<int, kNumTaskKinds> episodesPerTask{};
};

struct ProbeResult {
    int samples = 0;            // at the end, DAgger's included
    std::vector<double> losses; // cross entropy per step, mean over the 7 dimensions
    std::vector<ProbeLevel> levels;
    double seconds = 0;
};

// step, loss
using ProbeProgress = std::function<void(int, double)>;
// An episode's outcome at a noise level: noise (cm), held-out layout k, the rollout (final state included)
using ProbeEpisodeReport = std::function<void(double, int, const RolloutResult&)>;

// What the probe perceives of a state: the gripper, every block and every receptacle moved in the table
// plane by independent Gaussian noise of sigmaMetres, except that a held block is seen where the gripper is
// seen (it sits in the fingers; jittered on its own it would put the block centimetres outside the fingers,
// a state no demonstration shows). Heights, yaw, opening and what is held are read exactly.
WorldState perceivedState(const WorldState& seen, double sigmaMetres, std::mt19937_64& rng);

// Trains and evaluates the probe. Actions are binned as 256 equal bins over [-1, 1] per dimension (the
// demo's motion components already span that range), decoded greedily to bin centres; the gripper is the
// sign. At each frame the policy reads perceivedState() before the features are computed, so derived
// features (goal, distance) stay consistent. Deterministic for fixed options. Throws Error for options out
// of range, naming the field.
ProbeResult runProbe(const ProbeOptions& options, const ProbeProgress& progress = {},
                     const ProbeEpisodeReport& episodeReport = {});

} // namespace specvla::demo
