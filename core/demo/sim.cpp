// SPDX-License-Identifier: MIT
#include "demo/sim.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace specvla::demo {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kPushRadius = kBlockSize / 2 + 0.02;
// Fingers closer together than around a held block: they push what they run into and rest on block tops.
// A gripper still closing on a block, wider than that, does neither.
constexpr double kShutOpening = kHeldOpening + 0.02;
// Closing fingers grasp a block whose centre lies within this distance of theirs in the table plane: the open
// fingers are 16 cm apart and the block 5 cm wide, so they centre a block up to 5.5 cm off as they close.
constexpr double kGraspRadius = (kFingerGapOpen - kBlockSize) / 2;

double wrapAngle(double a) {
    while (a > kPi)
        a -= 2 * kPi;
    while (a <= -kPi)
        a += 2 * kPi;
    return a;
}

// Height of the surface below (x, y), ignoring block `skip`: the top of a block whose footprint holds the
// point, else the table.
// Only block tops at or below maxTop count (what is beside the gripper is no support).
double supportBelow(const WorldState& w, double x, double y, int skip, double maxTop = 1e9) {
    double top = 0;
    for (std::size_t i = 0; i < w.blocks.size(); ++i) {
        if (static_cast<int>(i) == skip) continue;
        const auto& b = w.blocks[i];
        const double t = b.z + kBlockSize;
        if (t <= maxTop && std::hypot(b.x - x, b.y - y) < kBlockSize * 0.7) top = std::max(top, t);
    }
    return top;
}

const Block& blockAt(const WorldState& w, int i) {
    if (i < 0 || i >= static_cast<int>(w.blocks.size())) throw Error("demo: task names no block");
    return w.blocks[static_cast<std::size_t>(i)];
}

const Receptacle& receptacleAt(const WorldState& w) {
    if (w.receptacle < 0 || w.receptacle >= static_cast<int>(w.receptacles.size()))
        throw Error("demo: task names no receptacle");
    return w.receptacles[static_cast<std::size_t>(w.receptacle)];
}

} // namespace

void step(WorldState& w, const data::Action& action) {
    data::Action a;
    for (std::size_t i = 0; i < 7; ++i)
        a[i] = std::isfinite(action[i]) ? std::clamp(action[i], -1.0, 1.0) : 0.0;
    Gripper& g = w.gripper;
    const double oldZ = g.z;
    const double lim = 0.02;
    g.x = std::clamp(g.x + a[0] * kMoveScale, -kTableHalfX + lim, kTableHalfX - lim);
    g.y = std::clamp(g.y + a[1] * kMoveScale, -kTableHalfY + lim, kTableHalfY - lim);
    g.z = std::clamp(g.z + a[2] * kMoveScale, 0.0, kGripperMaxZ);
    const double dyaw = a[5] * kYawScale;
    g.yaw = wrapAngle(g.yaw + dyaw);

    // Gripper opening moves towards the command.
    const bool close = a[6] > 0;
    const double goal = close ? 0.0 : 1.0;
    const double previousOpening = g.opening;
    g.opening += std::clamp(goal - g.opening, -kOpeningRate, kOpeningRate);
    if (w.held >= 0 && close) g.opening = std::max(g.opening, kHeldOpening);

    if (w.held >= 0) {
        Block& b = w.blocks[static_cast<std::size_t>(w.held)];
        if (!close && g.opening > kHeldOpening + 0.1) {
            // Release: the block drops onto whatever is below it.
            b.z = supportBelow(w, b.x, b.y, w.held);
            w.held = -1;
            w.heldDz = 0;
        } else {
            b.x = g.x;
            b.y = g.y;
            b.z = g.z + w.heldDz;
            b.yaw = wrapAngle(b.yaw + dyaw);
        }
    } else if (close && previousOpening > kShutOpening && g.opening <= kShutOpening) {
        // Grasp the nearest block whose sides the closing fingers reach (only while closing: closed fingers
        // push). A block with another on top of it cannot be lifted out from under it.
        int nearest = -1;
        double nearestDistance = kGraspRadius;
        for (std::size_t i = 0; i < w.blocks.size(); ++i) {
            const Block& b = w.blocks[i];
            const double d = std::hypot(b.x - g.x, b.y - g.y);
            if (d >= nearestDistance || g.z > b.z + kBlockSize * 0.6 || g.z < b.z - 0.01) continue;
            bool covered = false;
            for (std::size_t j = 0; j < w.blocks.size(); ++j)
                if (j != i && std::abs(w.blocks[j].z - (b.z + kBlockSize)) < 0.005 &&
                    std::hypot(w.blocks[j].x - b.x, w.blocks[j].y - b.y) < kBlockSize * 0.7)
                    covered = true;
            if (covered) continue;
            nearest = static_cast<int>(i);
            nearestDistance = d;
        }
        if (nearest >= 0) {
            w.held = nearest;
            w.heldDz = w.blocks[static_cast<std::size_t>(nearest)].z - g.z;
            g.opening = std::max(g.opening, kHeldOpening);
        }
    }

    // A closed gripper low on the table pushes the blocks it runs into.
    if (w.held < 0 && g.opening < kShutOpening && g.z < kBlockSize * 0.9) {
        for (auto& b : w.blocks) {
            if (b.z > 0.005) continue;
            const double dx = b.x - g.x, dy = b.y - g.y, d = std::hypot(dx, dy);
            if (d >= kPushRadius || d < 1e-9) continue;
            b.x = std::clamp(g.x + dx / d * kPushRadius, -kTableHalfX + 0.02, kTableHalfX - 0.02);
            b.y = std::clamp(g.y + dy / d * kPushRadius, -kTableHalfY + 0.02, kTableHalfY - 0.02);
        }
    }
    // Vertical contact, for what comes down from above: closed fingers rest on a block's top; a held block
    // rests on what is below it.
    if (w.held >= 0) {
        g.z = std::max(g.z, supportBelow(w, g.x, g.y, w.held, oldZ + w.heldDz + 0.005) - w.heldDz);
        Block& b = w.blocks[static_cast<std::size_t>(w.held)];
        b.z = g.z + w.heldDz;
    } else if (g.opening < kShutOpening) {
        g.z = std::max(g.z, supportBelow(w, g.x, g.y, -1, oldZ + 0.005));
    }
    ++w.step;
}

bool success(const WorldState& w) {
    const Block& b = blockAt(w, w.target);
    const bool held = w.held == w.target;
    switch (w.task) {
    case TaskKind::PutIn: {
        const auto& r = receptacleAt(w);
        return !held && b.z < 0.01 && std::hypot(b.x - r.x, b.y - r.y) < r.radius - 0.025;
    }
    case TaskKind::MoveToFront: {
        const auto& r = receptacleAt(w);
        return !held && b.z < 0.01 && std::hypot(b.x - r.x, b.y - (r.y - r.radius - 0.05)) < 0.06;
    }
    case TaskKind::PickUp:
        return held && b.z > 0.1;
    case TaskKind::PlaceBeside: {
        const Block& ref = blockAt(w, w.reference);
        const double along = (b.x - ref.x) * (w.side < 0 ? -1 : 1);
        return !held && b.z < 0.01 && std::abs(ref.z) < 0.01 && along > 0.05 && along < 0.16 &&
               std::abs(b.y - ref.y) < 0.06;
    }
    case TaskKind::Stack: {
        const Block& ref = blockAt(w, w.reference);
        return !held && std::abs(b.z - (ref.z + kBlockSize)) < 0.005 &&
               std::hypot(b.x - ref.x, b.y - ref.y) < kBlockSize * 0.7;
    }
    }
    return false;
}

RolloutResult runEpisode(const WorldState& start, const Policy& policy, int imageSize, int maxSteps) {
    if (!policy) throw Error("demo: runEpisode needs a policy");
    if (maxSteps <= 0) throw Error("demo: runEpisode needs maxSteps > 0");
    RolloutResult r;
    WorldState s = start;
    data::Episode& ep = r.episode;
    ep.instruction = instruction(s);
    ep.imageWidth = imageSize;
    ep.imageHeight = imageSize;
    r.closestToTarget = std::numeric_limits<double>::infinity();
    auto track = [&r, &s] {
        const Block& b = blockAt(s, s.target);
        r.closestToTarget = std::min(r.closestToTarget, std::hypot(s.gripper.x - b.x, s.gripper.y - b.y));
        r.graspedTarget = r.graspedTarget || s.held == s.target;
    };
    for (int t = 0; t < maxSteps; ++t) {
        track();
        const vision::RgbImage frame = render(s, imageSize);
        const data::Action a = policy(frame, s);
        ep.images.insert(ep.images.end(), frame.pixels.begin(), frame.pixels.end());
        ep.actions.push_back(a);
        step(s, a);
        const bool ok = success(s);
        ep.rewards.push_back(ok ? 1 : 0);
        ep.dones.push_back(ok ? 1 : 0);
        ++ep.numSteps;
        if (ok) {
            r.success = true;
            break;
        }
    }
    track();
    r.finalState = s;
    return r;
}

vision::RgbImage contactSheet(const data::Episode& episode, int every, int columns) {
    if (every < 1 || columns < 1) throw Error("demo: contact sheet needs every and columns of at least 1");
    if (episode.numSteps < 1 || episode.imageWidth < 1 || episode.imageHeight < 1)
        throw Error("demo: contact sheet of an episode without frames");
    if (!episode.consistencyProblem().empty())
        throw Error("demo: contact sheet of an inconsistent episode: " + episode.consistencyProblem());
    std::vector<int> steps;
    for (int t = 0; t < episode.numSteps; t += every)
        steps.push_back(t);
    if (steps.back() != episode.numSteps - 1) steps.push_back(episode.numSteps - 1);
    const int n = static_cast<int>(steps.size());
    const int cols = std::min(columns, n), rows = (n + cols - 1) / cols;
    const int w = episode.imageWidth, h = episode.imageHeight;
    vision::RgbImage sheet = vision::RgbImage::blank(cols * w, rows * h);
    for (int i = 0; i < n; ++i) {
        const std::uint8_t* src = episode.image(steps[static_cast<std::size_t>(i)]);
        const int x0 = (i % cols) * w, y0 = (i / cols) * h;
        for (int y = 0; y < h; ++y)
            std::copy(src + static_cast<std::size_t>(y) * w * 3,
                      src + static_cast<std::size_t>(y + 1) * w * 3,
                      sheet.pixels.begin() + static_cast<std::ptrdiff_t>(
                                                 (static_cast<std::size_t>(y0 + y) * cols * w + x0) * 3));
    }
    return sheet;
}

} // namespace specvla::demo
