// SPDX-License-Identifier: MIT
// The demo world's scripted experts: every task kind solved, bounded and smooth labels, the funnel expert's
// labels a function of the state alone, the quantized, grasp-rise and drop variants, and the probe's misread
// perception.
#include "data/episode.h"
#include "demo/expert.h"
#include "demo/probe.h"
#include "demo/sim.h"
#include "demo/world.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace specvla;
using namespace specvla::demo;

namespace {

constexpr int kSeeds = 6;

// The funnel expert whose every label is a function of the state alone (gain below 1, no smoothing, no
// noise).
ExpertOptions memorylessFunnel() {
    ExpertOptions o;
    o.funnel = true;
    o.gain = 0.5;
    o.maxChange = 2;
    o.noise = 0;
    return o;
}

// Each recorded label equals what a fresh expert gives for the state its frame shows (a function of the state
// alone).
void verifyMemoryless(const std::vector<WorldState>& states, const data::Episode& ep, const ExpertOptions& o,
                      const std::string& what) {
    for (int t = 0; t < ep.numSteps; ++t) {
        const data::Action again = Expert(999, o).act(states[static_cast<std::size_t>(t)]);
        for (std::size_t i = 0; i < 7; ++i) // equal up to the rounding of prev + (goal - prev)
            QVERIFY2(std::abs(again[i] - ep.actions[static_cast<std::size_t>(t)][i]) < 1e-12,
                     (what + " step " + std::to_string(t)).c_str());
    }
}

} // namespace

class TestExpert : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void expertSucceedsOnEveryTaskKind();
    void expertActionsAreBoundedAndSmooth();
    void funnelExpertSucceedsAndIsMemoryless();
    void quantizedExpertLabelsTakeFewValues();
    void graspRiseExpertRisesWhileClosing();
    void dropExpertGoesUpOrDownByWhatItHolds();
    void probePerceptionKeepsAHeldBlockInTheFingers();
};

void TestExpert::expertSucceedsOnEveryTaskKind() {
    for (TaskKind k : allTaskKinds()) {
        int total = 0, longest = 0;
        for (int s = 0; s < kSeeds; ++s) {
            const data::Episode ep = rollout(k, static_cast<std::uint64_t>(100 + s), 64);
            QVERIFY2(ep.consistencyProblem().empty(), ep.consistencyProblem().c_str());
            const std::string what = std::string(taskKindName(k)) + " seed " + std::to_string(100 + s) +
                                     ": " + ep.instruction + " (" + std::to_string(ep.numSteps) + " steps)";
            QVERIFY2(ep.success(), what.c_str());
            QVERIFY2(ep.numSteps <= kMaxEpisodeSteps, what.c_str());
            QCOMPARE(int(ep.dones.back()), 1);
            QCOMPARE(int(ep.rewards.back()), 1);
            for (int t = 0; t + 1 < ep.numSteps; ++t)
                QCOMPARE(int(ep.dones[static_cast<std::size_t>(t)]), 0);
            total += ep.numSteps;
            longest = std::max(longest, ep.numSteps);
        }
        qInfo("%s: mean %.1f steps, longest %d", taskKindName(k), double(total) / kSeeds, longest);
    }
}

void TestExpert::expertActionsAreBoundedAndSmooth() {
    const ExpertOptions opt;
    const double maxJump = opt.maxChange + 2 * opt.noise + 1e-9;
    for (TaskKind k : allTaskKinds())
        for (int s = 0; s < 3; ++s) {
            const data::Episode ep = rollout(k, static_cast<std::uint64_t>(200 + s), 32);
            double motion = 0;
            for (int t = 0; t < ep.numSteps; ++t) {
                const auto& a = ep.actions[static_cast<std::size_t>(t)];
                for (int i = 0; i < 6; ++i)
                    QVERIFY(std::abs(a[static_cast<std::size_t>(i)]) <= 1.0);
                QVERIFY(a[6] == 1.0 || a[6] == -1.0);
                motion += std::abs(a[0]) + std::abs(a[1]) + std::abs(a[2]);
                if (t == 0) continue;
                const auto& p = ep.actions[static_cast<std::size_t>(t - 1)];
                for (int i = 0; i < 6; ++i)
                    QVERIFY2(std::abs(a[static_cast<std::size_t>(i)] - p[static_cast<std::size_t>(i)]) <=
                                 maxJump,
                             (std::string(taskKindName(k)) + " step " + std::to_string(t)).c_str());
            }
            QVERIFY(motion > 5); // the expert actually moves
        }
}

void TestExpert::funnelExpertSucceedsAndIsMemoryless() {
    // The funnel expert with a proportional gain and no rate limit: every task kind succeeds, each label is
    // a function of the state alone (a fresh expert gives the same action), and the commanded descent is
    // continuous in the distance to the block (no jump from "hover" to "descend").
    const ExpertOptions o = memorylessFunnel();
    for (TaskKind k : allTaskKinds()) {
        int total = 0;
        for (int s = 0; s < kSeeds; ++s) {
            std::vector<WorldState> states;
            const data::Episode ep =
                rollout(k, static_cast<std::uint64_t>(100 + s), 32, o, kMaxEpisodeSteps, &states);
            const std::string what =
                std::string(taskKindName(k)) + " seed " + std::to_string(100 + s) + ": " + ep.instruction;
            QVERIFY2(ep.success(), what.c_str());
            verifyMemoryless(states, ep, o, what);
            for (int t = 0; t < ep.numSteps; ++t) {
                const WorldState& st = states[static_cast<std::size_t>(t)];
                const data::Action& a = ep.actions[static_cast<std::size_t>(t)];
                // Grasping and releasing do not stop the motion: where the gripper command switches, the
                // fingers keep moving towards the block or the goal, smoothly (no "hold still" label that a
                // policy could stall on, closed over a block it never grasps or never lets go of).
                if (t > 0 && a[6] != ep.actions[static_cast<std::size_t>(t - 1)][6]) {
                    const data::Action& before = ep.actions[static_cast<std::size_t>(t - 1)];
                    QVERIFY2(std::abs(a[0]) + std::abs(a[1]) + std::abs(a[2]) > 1e-3,
                             (what + " stops at step " + std::to_string(t)).c_str());
                    QVERIFY2(std::abs(a[2] - before[2]) < 0.5,
                             (what + " jumps at step " + std::to_string(t)).c_str());
                }
                // Every task carries the named block: nothing else on the table ever moves.
                for (std::size_t j = 0; j < st.blocks.size(); ++j)
                    if (static_cast<int>(j) != st.target) {
                        const Block& now = st.blocks[j];
                        const Block& first = states.front().blocks[j];
                        QVERIFY2(now.x == first.x && now.y == first.y && now.z == first.z,
                                 (what + " moved block " + std::to_string(j)).c_str());
                    }
            }
            total += ep.numSteps;
        }
        qInfo("funnel %s: mean %.1f steps", taskKindName(k), double(total) / kSeeds);
    }
    // Approach a block along x at hover height: the vertical command changes by small steps only.
    WorldState w = sampleLayout(TaskKind::PickUp, 5);
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    w.gripper.y = b.y;
    w.gripper.z = 0.1;
    w.gripper.yaw = b.yaw;
    double previous = 0;
    for (int i = 0; i <= 100; ++i) {
        w.gripper.x = b.x - 0.1 + 0.001 * i;
        const double dz = Expert(1, o).act(w)[2];
        if (i > 0) QVERIFY2(std::abs(dz - previous) < 0.1, std::to_string(i).c_str());
        previous = dz;
    }
    QVERIFY(previous < -0.5); // over the block it descends
    // The threshold expert, by contrast, switches from hovering to descending within one millimetre.
    ExpertOptions th = o;
    th.funnel = false;
    double largest = 0;
    for (int i = 1; i <= 100; ++i) {
        w.gripper.x = b.x - 0.1 + 0.001 * (i - 1);
        const double before = Expert(1, th).act(w)[2];
        w.gripper.x = b.x - 0.1 + 0.001 * i;
        largest = std::max(largest, std::abs(Expert(1, th).act(w)[2] - before));
    }
    QVERIFY(largest > 0.5);
    // Moving to the front of a receptacle: the block is carried, closed, towards the spot in front, and let
    // go of low over it.
    WorldState p = sampleLayout(TaskKind::MoveToFront, 5);
    Block& pb = p.blocks[static_cast<std::size_t>(p.target)];
    p.gripper = {pb.x, pb.y, 0.005, 0.0, 1.0};
    for (int i = 0; i < 3; ++i)
        step(p, {0, 0, 0, 0, 0, 0, 1});
    QCOMPARE(p.held, p.target);
    const auto [tx, ty] = taskGoal(p);
    const data::Action carrying = Expert(1, o).act(p);
    QCOMPARE(carrying[6], 1.0);
    QVERIFY(carrying[0] * (tx - pb.x) + carrying[1] * (ty - pb.y) > 0);
    QVERIFY(carrying[2] > 0); // up to the carrying height first
    p.gripper.x = tx;
    p.gripper.y = ty;
    pb.x = tx;
    pb.y = ty;
    QCOMPARE(Expert(1, o).act(p)[6], -1.0);
}

void TestExpert::graspRiseExpertRisesWhileClosing() {
    // With graspRise the funnel expert still solves every task kind with labels that are a function of the
    // state, and every label given while the fingers close on the named block (not yet held) rises.
    ExpertOptions o = memorylessFunnel();
    o.graspRise = true;
    for (TaskKind k : allTaskKinds()) {
        int closingFrames = 0;
        for (int s = 0; s < kSeeds; ++s) {
            std::vector<WorldState> states;
            const data::Episode ep =
                rollout(k, static_cast<std::uint64_t>(500 + s), 32, o, kMaxEpisodeSteps, &states);
            const std::string what = std::string(taskKindName(k)) + " seed " + std::to_string(500 + s);
            QVERIFY2(ep.success(), what.c_str());
            verifyMemoryless(states, ep, o, what);
            for (int t = 0; t < ep.numSteps; ++t) {
                const WorldState& st = states[static_cast<std::size_t>(t)];
                const data::Action& a = ep.actions[static_cast<std::size_t>(t)];
                if (st.held < 0 && st.gripper.opening < 0.95 && a[6] > 0) {
                    ++closingFrames;
                    QVERIFY2(a[2] > 0, (what + " step " + std::to_string(t)).c_str());
                }
            }
        }
        QVERIFY2(closingFrames >= kSeeds, taskKindName(k));
    }
    // Over the block, low, fingers half closed: the plain funnel expert closes while it descends, the
    // graspRise one closes while it rises; just after the grasp both rise. Too high to grasp, the half-closed
    // fingers open again.
    WorldState w = sampleLayout(TaskKind::PickUp, 5);
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    w.gripper = {b.x + 0.005, b.y, b.z + 0.006, 0.0, 0.7};
    const data::Action plain = Expert(1, memorylessFunnel()).act(w);
    const data::Action rising = Expert(1, o).act(w);
    QCOMPARE(plain[6], 1.0);
    QCOMPARE(rising[6], 1.0);
    QVERIFY(plain[2] <= 0);
    QVERIFY(rising[2] > 0.1);
    step(w, rising);
    QCOMPARE(w.held, w.target);
    QVERIFY(Expert(1, memorylessFunnel()).act(w)[2] > 0.5);
    QVERIFY(Expert(1, o).act(w)[2] > 0.5);
    WorldState high = sampleLayout(TaskKind::PickUp, 5);
    const Block& hb = high.blocks[static_cast<std::size_t>(high.target)];
    high.gripper = {hb.x, hb.y, hb.z + 0.06, 0.0, 0.7};
    QCOMPARE(Expert(1, o).act(high)[6], -1.0);
}

void TestExpert::dropExpertGoesUpOrDownByWhatItHolds() {
    // The drop expert solves every task kind with labels that are a function of the state. Its vertical
    // command hangs on whether it holds the named block alone: empty, every label above the block's bottom
    // descends; holding it below the carrying height, every label rises; it lets go over the goal, mostly
    // from the carrying height, and nothing but the named block ever moves.
    ExpertOptions o = memorylessFunnel();
    o.funnel = false;
    o.drop = true;
    for (TaskKind k : allTaskKinds()) {
        int total = 0, releases = 0, highReleases = 0;
        for (int s = 0; s < kSeeds; ++s) {
            std::vector<WorldState> states;
            const data::Episode ep =
                rollout(k, static_cast<std::uint64_t>(710 + s), 32, o, kMaxEpisodeSteps, &states);
            const std::string what = std::string(taskKindName(k)) + " seed " + std::to_string(710 + s);
            QVERIFY2(ep.success(), what.c_str());
            verifyMemoryless(states, ep, o, what);
            for (int t = 0; t < ep.numSteps; ++t) {
                const WorldState& st = states[static_cast<std::size_t>(t)];
                const data::Action& a = ep.actions[static_cast<std::size_t>(t)];
                const Block& b = st.blocks[static_cast<std::size_t>(st.target)];
                const std::string at = what + " step " + std::to_string(t);
                if (st.held != st.target && st.gripper.z > b.z + 0.001) QVERIFY2(a[2] < 0, at.c_str());
                if (st.held == st.target && st.gripper.z < 0.14) QVERIFY2(a[2] > 0, at.c_str());
                if (st.held == st.target && a[6] < 0) {
                    ++releases;
                    const auto [gx, gy] = taskGoal(st);
                    QVERIFY2(std::hypot(gx - st.gripper.x, gy - st.gripper.y) <
                                 (k == TaskKind::Stack ? 0.015 : 0.05),
                             at.c_str());
                    highReleases += st.gripper.z > 0.1;
                }
                for (std::size_t j = 0; j < st.blocks.size(); ++j)
                    if (static_cast<int>(j) != st.target) {
                        const Block& now = st.blocks[j];
                        const Block& first = states.front().blocks[j];
                        QVERIFY2(now.x == first.x && now.y == first.y && now.z == first.z,
                                 (at + " moved block " + std::to_string(j)).c_str());
                    }
            }
            total += ep.numSteps;
        }
        if (k != TaskKind::PickUp) {
            QVERIFY2(releases >= kSeeds, taskKindName(k));
            QVERIFY2(2 * highReleases > releases, taskKindName(k));
        }
        qInfo("drop %s: mean %.1f steps", taskKindName(k), double(total) / kSeeds);
    }
    // Low within 4 cm of the block: open fingers close (and grasp it two steps later, centring meanwhile),
    // half-closed ones keep closing, fingers shut on nothing open again; farther, or high over it, the open
    // fingers stay open and keep descending.
    WorldState w = sampleLayout(TaskKind::PickUp, 5);
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    w.gripper = {b.x + 0.038, b.y, b.z + 0.005, 0.0, 1.0};
    QCOMPARE(Expert(1, o).act(w)[6], 1.0);
    {
        WorldState g = w;
        for (int i = 0; i < 2; ++i)
            step(g, Expert(1, o).act(g));
        QCOMPARE(g.held, g.target);
    }
    w.gripper.x = b.x + 0.045;
    QCOMPARE(Expert(1, o).act(w)[6], -1.0);
    w.gripper.opening = 0.7;
    QCOMPARE(Expert(1, o).act(w)[6], 1.0);
    w.gripper.opening = 0.1;
    QCOMPARE(Expert(1, o).act(w)[6], -1.0);
    w.gripper = {b.x, b.y, b.z + 0.1, 0.0, 1.0};
    const data::Action high = Expert(1, o).act(w);
    QCOMPARE(high[6], -1.0);
    QCOMPARE(high[2], -1.0);
}

void TestExpert::quantizedExpertLabelsTakeFewValues() {
    // The funnel expert with labels rounded to quarters still solves every task kind, every motion label is a
    // multiple of 0.25 (roll and pitch stay 0), and near its goal it stops instead of creeping.
    ExpertOptions o = memorylessFunnel();
    o.quantum = 0.25;
    for (TaskKind k : allTaskKinds()) {
        std::set<double> values;
        for (int s = 0; s < kSeeds; ++s) {
            const data::Episode ep = rollout(k, static_cast<std::uint64_t>(300 + s), 32, o);
            const std::string what = std::string(taskKindName(k)) + " seed " + std::to_string(300 + s);
            QVERIFY2(ep.success(), what.c_str());
            for (const data::Action& a : ep.actions)
                for (std::size_t i : {0u, 1u, 2u, 5u}) {
                    QVERIFY2(std::abs(a[i] * 4 - std::round(a[i] * 4)) < 1e-12, what.c_str());
                    values.insert(a[i]);
                }
        }
        QVERIFY(values.size() <= 9);
        QVERIFY(values.count(0.0) == 1); // it does stop
    }
    // Over the block, a few millimetres off centre: the continuous expert creeps, the quantized one holds.
    WorldState w = sampleLayout(TaskKind::PickUp, 5);
    const Block& b = w.blocks[static_cast<std::size_t>(w.target)];
    w.gripper.x = b.x + 0.004;
    w.gripper.y = b.y;
    w.gripper.z = 0.1;
    ExpertOptions continuous = o;
    continuous.quantum = 0;
    QVERIFY(std::abs(Expert(1, continuous).act(w)[0]) > 0.01);
    QCOMPARE(Expert(1, o).act(w)[0], 0.0);
    // Far away both saturate.
    w.gripper.x = b.x + 0.2;
    QCOMPARE(Expert(1, o).act(w)[0], -1.0);
    QCOMPARE(Expert(1, continuous).act(w)[0], -1.0);
}

void TestExpert::probePerceptionKeepsAHeldBlockInTheFingers() {
    // The probe's noisy perception moves the gripper, the blocks and the receptacles in the table plane,
    // reads heights exactly, and sees a held block where it sees the fingers.
    WorldState w = sampleLayout(TaskKind::PutIn, 7);
    std::mt19937_64 rng(3);
    const WorldState exact = perceivedState(w, 0, rng);
    QCOMPARE(exact.gripper.x, w.gripper.x);
    QCOMPARE(exact.blocks.front().y, w.blocks.front().y);
    const std::size_t target = static_cast<std::size_t>(w.target);
    const std::size_t other = target == 0 ? 1 : 0;
    w.held = w.target;
    w.blocks[target].x = w.gripper.x;
    w.blocks[target].y = w.gripper.y;
    w.blocks[target].z = w.gripper.z - 0.01;
    for (int i = 0; i < 20; ++i) {
        const WorldState p = perceivedState(w, 0.03, rng);
        QVERIFY(p.gripper.x != w.gripper.x && p.gripper.y != w.gripper.y);
        QCOMPARE(p.blocks[target].x, p.gripper.x);
        QCOMPARE(p.blocks[target].y, p.gripper.y);
        QCOMPARE(p.blocks[target].z, w.blocks[target].z);
        QCOMPARE(p.gripper.z, w.gripper.z);
        QVERIFY(p.blocks[other].x != w.blocks[other].x);
        QVERIFY(p.receptacles.front().x != w.receptacles.front().x);
        QVERIFY(std::abs(p.gripper.x - w.gripper.x) < 0.3); // 10 sigma
    }
    // Every thing draws its offset whether a block is held or not, so a generator in the same state misreads
    // the other things alike either way (what the probe's fixed misreading relies on).
    WorldState free = w;
    free.held = -1;
    const std::mt19937_64 start(11);
    std::mt19937_64 r1 = start, r2 = start;
    const WorldState a = perceivedState(w, 0.02, r1), b = perceivedState(free, 0.02, r2);
    QCOMPARE(a.gripper.x, b.gripper.x);
    QCOMPARE(a.blocks[other].y, b.blocks[other].y);
    QCOMPARE(a.receptacles.back().x, b.receptacles.back().x);
    QVERIFY(b.blocks[target].x != a.blocks[target].x); // held: seen in the fingers
}

QTEST_GUILESS_MAIN(TestExpert)

#include "test_expert.moc"
