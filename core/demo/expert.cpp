// SPDX-License-Identifier: MIT
#include "demo/expert.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace specvla::demo {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kHoverZ = 0.12;
constexpr double kCarryZ = 0.15;

double wrapAngle(double a) {
    while (a > kPi)
        a -= 2 * kPi;
    while (a <= -kPi)
        a += 2 * kPi;
    return a;
}

// The yaw square with faceYaw (modulo a quarter turn) nearest to the gripper's yaw.
double alignedYaw(double gripperYaw, double faceYaw) {
    const double q = kPi / 2;
    const double d = wrapAngle(faceYaw - gripperYaw);
    return gripperYaw + (d - q * std::round(d / q));
}

struct Goal {
    double x, y, z, yaw;
    bool close;
    bool still = false; // hold position (e.g. while the fingers close)
};

// Where a held block goes: the goal in the table plane, the height its bottom comes to rest at (the table,
// or the reference block's top when stacking), the gripper's distance from the goal and the block's bottom.
struct Placement {
    double x, y, bottom, distance, blockBottom;
};

Placement placement(const WorldState& w) {
    const Gripper& g = w.gripper;
    const auto [px, py] = taskGoal(w);
    const double bottom = w.task == TaskKind::Stack
                              ? w.blocks[static_cast<std::size_t>(w.reference)].z + kBlockSize + 0.004
                              : 0.004;
    return {px, py, bottom, std::hypot(px - g.x, py - g.y), g.z + w.heldDz};
}

Goal pickPlaceGoal(const WorldState& w) {
    const Gripper& g = w.gripper;
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    if (w.held != w.target) {
        const double d = std::hypot(b.x - g.x, b.y - g.y);
        const double yaw = alignedYaw(g.yaw, 0.0); // square with the table (see pickPlaceFunnelGoal)
        if (d < 0.012 && g.z < b.z + 0.015 && g.opening > 0.9) return {b.x, b.y, b.z, yaw, true, true};
        if (g.opening < 0.9 && g.opening > 0.2 && d < 0.012 && g.z < b.z + 0.015) // closing on it
            return {b.x, b.y, b.z, yaw, true, true};
        return {b.x, b.y, d > 0.03 ? std::max(kHoverZ, b.z + 0.08) : b.z + 0.003, yaw, false};
    }
    if (w.task == TaskKind::PickUp) return {g.x, g.y, 0.2 - w.heldDz, g.yaw, true};
    const auto [px, py, bottom, d, bz] = placement(w);
    if (d > 0.012) return {px, py, std::max(kCarryZ, bottom + 0.06) - w.heldDz, g.yaw, true};
    if (bz > bottom + 0.008) return {px, py, bottom - w.heldDz, g.yaw, true};
    return {px, py, g.z, g.yaw, false, true}; // release
}

// The funnel height: `low` within `inner` of the goal in the table plane, `high` beyond inner + width, linear
// in between, so the commanded height is continuous in the position.
double funnelHeight(double distance, double low, double high, double inner, double width) {
    const double t = std::clamp((distance - inner) / width, 0.0, 1.0);
    return low + t * (high - low);
}

Goal pickPlaceFunnelGoal(const WorldState& w, bool graspRise) {
    const Gripper& g = w.gripper;
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    if (w.held != w.target) {
        const double d = std::hypot(b.x - g.x, b.y - g.y);
        // The fingers square up with the table, not with the block: the simulator grasps a cube from any
        // side, and a 5 cm cube's yaw is a few pixels at the model's 112-pixel input, so a label that turned
        // the gripper to the block's nearest face would hinge on what the policy cannot see (it flips from a
        // full turn one way to the other as the block's yaw passes 45 degrees). The gripper's own yaw is
        // plain in every frame.
        const double yaw = alignedYaw(g.yaw, 0.0);
        // Over the block and low: close (the simulator grasps within 5.5 cm) while still centring and
        // descending, so the motion label does not change when the gripper command does. With graspRise
        // (see ExpertOptions) the fingers keep closing once they close, rising gently to 2.5 cm.
        const bool closing = graspRise && g.opening < 0.95 && d < 0.03 && g.z < b.z + 0.03;
        const bool close = (d < 0.025 && g.z < b.z + 0.02) || closing;
        const double hover = std::max(kHoverZ, b.z + 0.08);
        const double z = graspRise && close ? b.z + 0.025 : funnelHeight(d, b.z + 0.005, hover, 0.015, 0.05);
        return {b.x, b.y, z, yaw, close};
    }
    if (w.task == TaskKind::PickUp) return {g.x, g.y, 0.2 - w.heldDz, g.yaw, true};
    const auto [px, py, bottom, d, bz] = placement(w);
    // Come down within `inner` of the goal (a fraction of the task's tolerance: tight for stacking) and
    // release once the block is within 2 cm of where it rests; keep descending meanwhile.
    const double inner = w.task == TaskKind::Stack ? 0.008 : 0.02;
    const bool release = d < 1.5 * inner && bz < bottom + 0.02;
    const double carry = std::max(kCarryZ, bottom + 0.06);
    return {px, py, funnelHeight(d, bottom - 0.01, carry, inner, 0.06) - w.heldDz, g.yaw, !release};
}

Goal pickPlaceDropGoal(const WorldState& w) {
    const Gripper& g = w.gripper;
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    if (w.held != w.target) {
        const double d = std::hypot(b.x - g.x, b.y - g.y);
        const bool low = g.z < b.z + 0.02;
        // Shut on nothing (a grasp happens while the fingers pass the block's width): open to try again.
        // Otherwise close when low within 4 cm of the block, and keep closing once started near it. The
        // fingers take two steps to close and keep centring meanwhile (half the distance per step), so they
        // meet the block well inside the 5.5 cm the simulator grasps within; a policy that misjudges the
        // distance by a couple of centimetres still decides to close.
        const bool shut = g.opening < kHeldOpening - 0.05;
        const bool close = !shut && low && (d < 0.04 || (g.opening < 0.95 && d < 0.05));
        return {b.x, b.y, b.z, alignedYaw(g.yaw, 0.0), close};
    }
    if (w.task == TaskKind::PickUp) return {g.x, g.y, 0.2 - w.heldDz, g.yaw, true};
    const Placement p = placement(w);
    // Let go as far from the goal as the task's success test allows with 2 cm to spare (the success tests
    // allow 6 cm in front, 5 cm beside, 3.5 cm on a stack and the bowl's radius less 2.5 cm).
    double reach = 0.04;                               // move to front (6 cm)
    if (w.task == TaskKind::PlaceBeside) reach = 0.03; // 5 cm towards the reference block
    if (w.task == TaskKind::Stack) reach = 0.015;      // rests on the reference within 3.5 cm
    if (w.task == TaskKind::PutIn)
        reach = w.receptacles[static_cast<std::size_t>(w.receptacle)].radius - 0.025 - 0.02;
    const bool release = p.distance < reach;
    return {p.x, p.y, std::max(kCarryZ, p.bottom + 0.06) - w.heldDz, g.yaw, !release};
}

} // namespace

std::array<double, 2> taskGoal(const WorldState& w) {
    auto block = [&w](int i, const char* what) -> const Block& {
        if (i < 0 || i >= static_cast<int>(w.blocks.size()))
            throw Error(std::string("demo: task names no ") + what);
        return w.blocks[static_cast<std::size_t>(i)];
    };
    if (w.task == TaskKind::PutIn || w.task == TaskKind::MoveToFront) {
        if (w.receptacle < 0 || w.receptacle >= static_cast<int>(w.receptacles.size()))
            throw Error("demo: task names no receptacle");
        const Receptacle& r = w.receptacles[static_cast<std::size_t>(w.receptacle)];
        if (w.task == TaskKind::PutIn) return {r.x, r.y};
        return {r.x, r.y - r.radius - 0.05};
    }
    if (w.task == TaskKind::PlaceBeside || w.task == TaskKind::Stack) {
        const Block& ref = block(w.reference, "reference block");
        if (w.task == TaskKind::Stack) return {ref.x, ref.y};
        return {ref.x + w.side * 0.1, ref.y};
    }
    const Block& b = block(w.target, "block"); // pick up: where it is
    return {b.x, b.y};
}

Expert::Expert(std::uint64_t seed, ExpertOptions options) : m_rng(seed), m_options(options) {}

void Expert::reset() {
    m_previous = {};
}

data::Action Expert::act(const WorldState& w) {
    if (w.target < 0 || w.target >= static_cast<int>(w.blocks.size()))
        throw Error("demo: task names no block");
    if ((w.task == TaskKind::PutIn || w.task == TaskKind::MoveToFront) &&
        (w.receptacle < 0 || w.receptacle >= static_cast<int>(w.receptacles.size())))
        throw Error("demo: task names no receptacle");
    if ((w.task == TaskKind::PlaceBeside || w.task == TaskKind::Stack) &&
        (w.reference < 0 || w.reference >= static_cast<int>(w.blocks.size())))
        throw Error("demo: task names no reference block");
    // Every task is a pick and place (pick up ends with the block lifted), so one policy serves them all.
    const Goal goal = m_options.drop     ? pickPlaceDropGoal(w)
                      : m_options.funnel ? pickPlaceFunnelGoal(w, m_options.graspRise)
                                         : pickPlaceGoal(w);
    const Gripper& g = w.gripper;
    std::array<double, 6> desired{};
    if (!goal.still) {
        desired[0] = m_options.gain * (goal.x - g.x) / kMoveScale;
        desired[1] = m_options.gain * (goal.y - g.y) / kMoveScale;
        desired[2] = m_options.gain * (goal.z - g.z) / kMoveScale;
        desired[5] = m_options.gain * wrapAngle(goal.yaw - g.yaw) / kYawScale;
    }
    // Each axis saturates on its own (no planar cap): far from the goal the labels are exactly +-1.
    data::Action a{};
    for (std::size_t i = 0; i < 6; ++i) {
        if (i == 3 || i == 4) {
            // Roll and pitch do nothing in this world: exact zeros, so the normalised statistics do not
            // stretch noise over all 256 bins and the policy is not asked to predict it.
            a[i] = 0.0;
            m_previous[i] = 0.0;
            continue;
        }
        const double d = std::clamp(desired[i], -1.0, 1.0);
        const double smooth =
            m_previous[i] + std::clamp(d - m_previous[i], -m_options.maxChange, m_options.maxChange);
        m_previous[i] = smooth;
        const double label =
            m_options.quantum > 0 ? m_options.quantum * std::round(smooth / m_options.quantum) : smooth;
        a[i] = std::clamp(label + m_rng.uniform(-m_options.noise, m_options.noise), -1.0, 1.0);
    }
    a[6] = goal.close ? 1.0 : -1.0;
    m_previous[6] = a[6];
    return a;
}

data::Episode rollout(TaskKind task, std::uint64_t seed, int imageSize, const ExpertOptions& options,
                      int maxSteps, std::vector<WorldState>* states) {
    const WorldState start = sampleLayout(task, seed);
    Expert expert(seed ^ 0x5DEECE66DA3B9F21ull, options);
    if (states) states->clear();
    if (options.perturbation <= 0) {
        RolloutResult r = runEpisode(
            start,
            [&](const vision::RgbImage&, const WorldState& s) {
                if (states) states->push_back(s);
                return expert.act(s);
            },
            imageSize, maxSteps);
        return std::move(r.episode);
    }
    // Records the expert's action, executes it perturbed.
    Rng perturb(seed ^ 0x9E3779B97F4A7C15ull);
    // Gripper flips draw from their own stream, so the motion perturbation is the same with or without them.
    Rng flips(seed ^ 0xC2B2AE3D27D4EB4Full);
    WorldState s = start;
    data::Episode ep;
    ep.instruction = instruction(s);
    ep.imageWidth = imageSize;
    ep.imageHeight = imageSize;
    for (int t = 0; t < maxSteps; ++t) {
        const vision::RgbImage frame = render(s, imageSize);
        if (states) states->push_back(s);
        const data::Action a = expert.act(s);
        ep.images.insert(ep.images.end(), frame.pixels.begin(), frame.pixels.end());
        ep.actions.push_back(a);
        data::Action executed = a;
        for (std::size_t i : {0u, 1u, 2u, 5u})
            executed[i] =
                std::clamp(a[i] + perturb.uniform(-options.perturbation, options.perturbation), -1.0, 1.0);
        if (options.gripperFlip > 0 && flips.uniform() < options.gripperFlip) executed[6] = -a[6];
        step(s, executed);
        const bool ok = success(s);
        ep.rewards.push_back(ok ? 1 : 0);
        ep.dones.push_back(ok ? 1 : 0);
        ++ep.numSteps;
        if (ok) break;
    }
    return ep;
}

} // namespace specvla::demo
