// SPDX-License-Identifier: MIT
#include "demo/world.h"

#include "common/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

namespace specvla::demo {

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Vec3 {
    double x, y, z;
};
Vec3 sub(Vec3 a, Vec3 b) {
    return {a.x - b.x, a.y - b.y, a.z - b.z};
}
double dot(Vec3 a, Vec3 b) {
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
Vec3 cross(Vec3 a, Vec3 b) {
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
Vec3 normalized(Vec3 a) {
    const double n = std::sqrt(dot(a, a));
    return {a.x / n, a.y / n, a.z / n};
}

// Pinhole camera in front of and above the table, looking at its centre.
class Camera {
public:
    explicit Camera(int size) : m_size(size) {
        m_eye = {0.0, -0.6, 1.0};
        m_forward = normalized(sub({0.0, 0.0, 0.0}, m_eye));
        m_right = normalized(cross(m_forward, {0, 0, 1}));
        m_up = cross(m_right, m_forward);
        m_focal = 1.3 * size;
    }
    cv::Point2d project(double x, double y, double z) const {
        const Vec3 d = sub({x, y, z}, m_eye);
        const double zc = std::max(1e-6, dot(d, m_forward));
        return {0.5 * m_size + m_focal * dot(d, m_right) / zc, 0.55 * m_size - m_focal * dot(d, m_up) / zc};
    }
    Vec3 eye() const { return m_eye; }

private:
    int m_size;
    Vec3 m_eye, m_forward, m_right, m_up;
    double m_focal;
};

using Rgb = std::array<double, 3>;

cv::Scalar scalar(const Rgb& c, double shade) {
    auto ch = [&](int i) { return std::clamp(c[static_cast<std::size_t>(i)] * shade, 0.0, 255.0); };
    return cv::Scalar(ch(0), ch(1), ch(2)); // the Mat holds R, G, B in that order
}
Rgb rgbOf(const std::array<std::uint8_t, 3>& c) {
    return {double(c[0]), double(c[1]), double(c[2])};
}

constexpr int kShift = 4;
constexpr double kSub = 16.0;

void fillPolygon(cv::Mat& img, const std::vector<cv::Point2d>& pts, const cv::Scalar& color) {
    std::vector<cv::Point> ip;
    ip.reserve(pts.size());
    for (const auto& p : pts)
        ip.emplace_back(static_cast<int>(std::lround(p.x * kSub)), static_cast<int>(std::lround(p.y * kSub)));
    std::vector<cv::Point> hull;
    cv::convexHull(ip, hull);
    if (hull.size() >= 3) cv::fillConvexPoly(img, hull, color, cv::LINE_AA, kShift);
}

std::vector<cv::Point2d> circlePoints(const Camera& cam, double cx, double cy, double z, double r,
                                      int n = 40) {
    std::vector<cv::Point2d> pts;
    for (int i = 0; i < n; ++i) {
        const double a = 2 * kPi * i / n;
        pts.push_back(cam.project(cx + r * std::cos(a), cy + r * std::sin(a), z));
    }
    return pts;
}

// A box with its bottom centre at (cx, cy, z0), half extents along its yaw axis (hl) and across (hw).
void drawBox(cv::Mat& img, const Camera& cam, double cx, double cy, double z0, double hl, double hw, double h,
             double yaw, const Rgb& color) {
    const double c = std::cos(yaw), s = std::sin(yaw);
    const double lx[4] = {-hl, hl, hl, -hl}, ly[4] = {-hw, -hw, hw, hw};
    Vec3 corner[4];
    for (int i = 0; i < 4; ++i)
        corner[i] = {cx + lx[i] * c - ly[i] * s, cy + lx[i] * s + ly[i] * c, z0};
    const Vec3 eye = cam.eye();
    for (int i = 0; i < 4; ++i) {
        const Vec3 a = corner[i], b = corner[(i + 1) % 4];
        const Vec3 mid{(a.x + b.x) / 2, (a.y + b.y) / 2, z0 + h / 2};
        const Vec3 normal = normalized({mid.x - cx, mid.y - cy, 0});
        if (dot(normal, sub(eye, mid)) <= 0) continue;
        const double shade = 0.55 + 0.2 * std::max(0.0, dot(normal, normalized({-0.6, -0.5, 0.6})));
        fillPolygon(img,
                    {cam.project(a.x, a.y, z0), cam.project(b.x, b.y, z0), cam.project(b.x, b.y, z0 + h),
                     cam.project(a.x, a.y, z0 + h)},
                    scalar(color, shade));
    }
    std::vector<cv::Point2d> top;
    for (const auto& p : corner)
        top.push_back(cam.project(p.x, p.y, z0 + h));
    fillPolygon(img, top, scalar(color, 1.0));
}

void drawCylinder(cv::Mat& img, const Camera& cam, double cx, double cy, double z0, double r, double h,
                  const Rgb& color, double sideShade) {
    auto side = circlePoints(cam, cx, cy, z0, r);
    const auto top = circlePoints(cam, cx, cy, z0 + h, r);
    side.insert(side.end(), top.begin(), top.end());
    fillPolygon(img, side, scalar(color, sideShade));
    fillPolygon(img, top, scalar(color, 1.0));
}

double fingerGap(const Gripper& g) {
    return kFingerGapClosed + g.opening * (kFingerGapOpen - kFingerGapClosed);
}

// The gripper as boxes {cx, cy, z0, half length along its yaw, half width across, height}: two fingers 7 cm
// long (a block between them stays in view below the palm) and a palm that spans them, so the opening shows
// in its width as well as in the gap.
struct BoxShape {
    double cx, cy, z0, hl, hw, h, yaw;
};
constexpr double kFingerLength = 0.07;
std::array<BoxShape, 3> gripperBoxes(const Gripper& g) {
    const double half = fingerGap(g) / 2, c = std::cos(g.yaw), s = std::sin(g.yaw);
    const double fingerHl = 0.011, fingerHw = 0.02;
    return {{{g.x - half * c, g.y - half * s, g.z, fingerHl, fingerHw, kFingerLength, g.yaw},
             {g.x + half * c, g.y + half * s, g.z, fingerHl, fingerHw, kFingerLength, g.yaw},
             {g.x, g.y, g.z + kFingerLength, half + fingerHl, 0.012, 0.02, g.yaw}}};
}

void drawGripper(cv::Mat& img, const Camera& cam, const Gripper& g, int size) {
    const Rgb arm{95, 98, 110}, palm{200, 202, 212}, finger{35, 35, 42};
    const cv::Point2d a = cam.project(g.x, g.y, g.z + kFingerLength + 0.02), b = cam.project(g.x, g.y, 0.6);
    cv::line(img, cv::Point(int(std::lround(a.x * kSub)), int(std::lround(a.y * kSub))),
             cv::Point(int(std::lround(b.x * kSub)), int(std::lround(b.y * kSub))), scalar(arm, 1.0),
             std::max(2, size / 40), cv::LINE_AA, kShift);
    const auto boxes = gripperBoxes(g);
    auto drawShape = [&](const BoxShape& x, const Rgb& color) {
        drawBox(img, cam, x.cx, x.cy, x.z0, x.hl, x.hw, x.h, x.yaw, color);
    };
    // Farther finger first.
    if (boxes[0].cy > boxes[1].cy) {
        drawShape(boxes[0], finger);
        drawShape(boxes[1], finger);
    } else {
        drawShape(boxes[1], finger);
        drawShape(boxes[0], finger);
    }
    drawShape(boxes[2], palm);
}

// The key light comes from the front left and above (the direction the box shading uses, (-0.6, -0.5, 0.6)),
// so a point at height z casts its shadow z * (1, 0.83) away on the table: the gap between a thing and its
// shadow shows how high it is.
constexpr double kShadowDx = 0.6 / 0.6, kShadowDy = 0.5 / 0.6;

void castBoxShadow(cv::Mat& shadow, const Camera& cam, const BoxShape& x) {
    const double c = std::cos(x.yaw), s = std::sin(x.yaw);
    std::vector<cv::Point2d> pts;
    for (double sl : {-1.0, 1.0})
        for (double sw : {-1.0, 1.0})
            for (double z : {x.z0, x.z0 + x.h}) {
                const double px = x.cx + sl * x.hl * c - sw * x.hw * s,
                             py = x.cy + sl * x.hl * s + sw * x.hw * c;
                pts.push_back(cam.project(px + z * kShadowDx, py + z * kShadowDy, 0.001));
            }
    fillPolygon(shadow, pts, cv::Scalar(20, 20, 20));
}

// Smooth value noise in [-1, 1] on a size x size grid, from a coarse grid of seeded values.
cv::Mat valueNoise(Rng& rng, int size, int cells) {
    cv::Mat coarse(cells, cells, CV_32F);
    for (int y = 0; y < cells; ++y)
        for (int x = 0; x < cells; ++x)
            coarse.at<float>(y, x) = static_cast<float>(rng.uniform(-1, 1));
    cv::Mat fine;
    cv::resize(coarse, fine, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
    return fine;
}

bool farFrom(double x, double y, const std::vector<std::array<double, 3>>& placed, double margin) {
    for (const auto& p : placed)
        if (std::hypot(x - p[0], y - p[1]) < p[2] + margin) return false;
    return true;
}

const std::array<std::array<std::uint8_t, 3>, 6> kColors = {{
    {220, 35, 35},  // red
    {35, 165, 60},  // green
    {40, 80, 225},  // blue
    {240, 210, 35}, // yellow
    {145, 55, 195}, // purple
    {250, 125, 20}, // orange
}};

} // namespace

Rng::Rng(std::uint64_t seed) : m_engine(seed) {}
std::uint64_t Rng::next() {
    return m_engine();
}
double Rng::uniform() {
    return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}
double Rng::uniform(double lo, double hi) {
    return lo + (hi - lo) * uniform();
}
int Rng::below(int n) {
    return n <= 0 ? 0 : static_cast<int>(next() % static_cast<std::uint64_t>(n));
}

const std::array<TaskKind, kNumTaskKinds>& allTaskKinds() {
    static const std::array<TaskKind, kNumTaskKinds> kinds = {
        TaskKind::PutIn, TaskKind::MoveToFront, TaskKind::PickUp, TaskKind::PlaceBeside, TaskKind::Stack};
    return kinds;
}

const char* taskKindName(TaskKind kind) {
    switch (kind) {
    case TaskKind::PutIn:
        return "put_in";
    case TaskKind::MoveToFront:
        return "move_to_front";
    case TaskKind::PickUp:
        return "pick_up";
    case TaskKind::PlaceBeside:
        return "place_beside";
    case TaskKind::Stack:
        return "stack";
    }
    return "?";
}

TaskKind taskKindFromName(const std::string& name) {
    for (TaskKind k : allTaskKinds())
        if (name == taskKindName(k)) return k;
    throw Error("unknown demo task kind '" + name +
                "' (expected put_in, move_to_front, pick_up, place_beside or stack)");
}

const std::vector<std::string>& colorNames() {
    static const std::vector<std::string> names = {"red", "green", "blue", "yellow", "purple", "orange"};
    return names;
}

std::array<std::uint8_t, 3> colorRgb(int color) {
    if (color < 0 || color >= static_cast<int>(kColors.size()))
        throw Error("demo: colour index out of range");
    return kColors[static_cast<std::size_t>(color)];
}

const char* receptacleName(ReceptacleKind kind) {
    return kind == ReceptacleKind::Plate ? "plate" : "bowl";
}

WorldState sampleLayout(TaskKind task, std::uint64_t seed) {
    Rng rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(task) * 0xD1B54A32D192ED03ull + 1);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        WorldState w;
        w.task = task;
        w.sceneSeed = rng.next();
        w.light = rng.uniform(0.85, 1.1);
        w.tableRgb = {rng.uniform(145, 185), rng.uniform(115, 140), rng.uniform(85, 110)};
        w.gripper = {rng.uniform(-0.1, 0.1), rng.uniform(-0.2, -0.1), rng.uniform(0.16, 0.22),
                     rng.uniform(-0.3, 0.3), 1.0};

        std::vector<std::array<double, 3>> placed; // x, y, keep-out radius
        const double mx = kTableHalfX - 0.06, my = kTableHalfY - 0.06;
        // A plate and a bowl, in random order.
        const bool plateFirst = rng.below(2) == 0;
        bool ok = true;
        for (int i = 0; i < 2 && ok; ++i) {
            Receptacle r;
            r.kind = (i == 0) == plateFirst ? ReceptacleKind::Plate : ReceptacleKind::Bowl;
            r.radius = rng.uniform(0.085, 0.095); // plates and bowls alike
            if (r.kind == ReceptacleKind::Plate) {
                const double v = rng.uniform(215, 240);
                r.rgb = {std::uint8_t(v), std::uint8_t(v), std::uint8_t(v - 8)};
            } else {
                static const std::array<std::array<std::uint8_t, 3>, 3> bowls = {
                    {{150, 200, 230}, {235, 225, 200}, {230, 170, 180}}};
                r.rgb = bowls[static_cast<std::size_t>(rng.below(3))];
            }
            int tries = 0;
            do {
                r.x = rng.uniform(-mx + r.radius - 0.04, mx - r.radius + 0.04);
                r.y = rng.uniform(-my + r.radius + 0.02, my - r.radius + 0.04);
            } while (!farFrom(r.x, r.y, placed, r.radius + 0.06) && ++tries < 50);
            ok = tries < 50;
            placed.push_back({r.x, r.y, r.radius});
            w.receptacles.push_back(r);
        }
        if (!ok) continue;
        // Three or four blocks of distinct colours.
        const int nBlocks = 3 + rng.below(2);
        std::vector<int> colors = {0, 1, 2, 3, 4, 5};
        for (int i = 5; i > 0; --i)
            std::swap(colors[static_cast<std::size_t>(i)],
                      colors[static_cast<std::size_t>(rng.below(i + 1))]);
        for (int i = 0; i < nBlocks && ok; ++i) {
            Block b;
            b.color = colors[static_cast<std::size_t>(i)];
            b.yaw = rng.uniform(-kPi / 4, kPi / 4);
            int tries = 0;
            do {
                b.x = rng.uniform(-mx, mx);
                b.y = rng.uniform(-my, my);
            } while (!farFrom(b.x, b.y, placed, 0.09) && ++tries < 50);
            ok = tries < 50;
            placed.push_back({b.x, b.y, 0.03});
            w.blocks.push_back(b);
        }
        if (!ok) continue;
        w.target = rng.below(nBlocks);
        // Task roles and their feasibility.
        switch (task) {
        case TaskKind::PutIn:
            w.receptacle = rng.below(2);
            break;
        case TaskKind::PickUp:
            break;
        case TaskKind::MoveToFront: {
            w.receptacle = rng.below(2);
            const auto& r = w.receptacles[static_cast<std::size_t>(w.receptacle)];
            const double tx = r.x, ty = r.y - r.radius - 0.05;
            if (ty < -kTableHalfY + 0.05) ok = false;
            const auto& t = w.blocks[static_cast<std::size_t>(w.target)];
            const double dx = tx - t.x, dy = ty - t.y, len = std::hypot(dx, dy);
            if (len < 0.08) ok = false;
            // The spot behind the block is on the table (as it was when this task pushed the block).
            if (len > 0 && (std::abs(t.x - dx / len * 0.09) > kTableHalfX - 0.03 ||
                            std::abs(t.y - dy / len * 0.09) > kTableHalfY - 0.03))
                ok = false;
            // The line from the block to the spot keeps clear of the other blocks and of the receptacles, so
            // the spot is free; the spot keeps clear of the other receptacle.
            for (std::size_t i = 0; ok && i < w.blocks.size(); ++i) {
                if (static_cast<int>(i) == w.target) continue;
                const auto& o = w.blocks[i];
                for (int k = -2; k <= 20; ++k) {
                    const double px = t.x + dx * k / 20.0, py = t.y + dy * k / 20.0;
                    if (std::hypot(o.x - px, o.y - py) < 0.1) ok = false;
                }
            }
            for (const auto& rc : w.receptacles)
                for (int k = 0; k < 18; ++k)
                    if (std::hypot(rc.x - (t.x + dx * k / 20.0), rc.y - (t.y + dy * k / 20.0)) <
                        rc.radius + 0.03)
                        ok = false;
            const auto& other = w.receptacles[static_cast<std::size_t>(1 - w.receptacle)];
            if (std::hypot(other.x - tx, other.y - ty) < other.radius + 0.05) ok = false;
            break;
        }
        case TaskKind::PlaceBeside: {
            w.reference = (w.target + 1 + rng.below(nBlocks - 1)) % nBlocks;
            w.side = rng.below(2) == 0 ? -1 : 1;
            const auto& ref = w.blocks[static_cast<std::size_t>(w.reference)];
            const double px = ref.x + w.side * 0.1, py = ref.y;
            if (std::abs(px) > kTableHalfX - 0.05) ok = false;
            for (std::size_t i = 0; ok && i < w.blocks.size(); ++i)
                if (static_cast<int>(i) != w.target && static_cast<int>(i) != w.reference &&
                    std::hypot(w.blocks[i].x - px, w.blocks[i].y - py) < 0.08)
                    ok = false;
            for (const auto& r : w.receptacles)
                if (std::hypot(r.x - px, r.y - py) < r.radius + 0.04) ok = false;
            // Not beside it already (with a margin around the success test's region).
            const auto& t = w.blocks[static_cast<std::size_t>(w.target)];
            const double along = (t.x - ref.x) * w.side;
            if (along > 0.04 && along < 0.18 && std::abs(t.y - ref.y) < 0.07) ok = false;
            break;
        }
        case TaskKind::Stack:
            w.reference = (w.target + 1 + rng.below(nBlocks - 1)) % nBlocks;
            break;
        }
        if (!ok) continue;
        // Distractor clutter: small discs and stubs that nothing interacts with.
        const int nClutter = 2 + rng.below(3);
        for (int i = 0; i < nClutter; ++i) {
            Clutter c;
            c.radius = rng.uniform(0.012, 0.022);
            c.height = rng.uniform(0.004, 0.02);
            const double g = rng.uniform(70, 200);
            c.rgb = {std::uint8_t(g), std::uint8_t(g * rng.uniform(0.85, 1.0)),
                     std::uint8_t(g * rng.uniform(0.7, 1.0))};
            int tries = 0;
            do {
                c.x = rng.uniform(-kTableHalfX + 0.03, kTableHalfX - 0.03);
                c.y = rng.uniform(-kTableHalfY + 0.03, kTableHalfY - 0.03);
            } while (!farFrom(c.x, c.y, placed, 0.05) && ++tries < 50);
            if (tries < 50) {
                placed.push_back({c.x, c.y, c.radius});
                w.clutter.push_back(c);
            }
        }
        return w;
    }
    throw Error("demo: no feasible layout found for task " + std::string(taskKindName(task)));
}

std::string instruction(const WorldState& w) {
    auto color = [&](int block) {
        if (block < 0 || block >= static_cast<int>(w.blocks.size())) throw Error("demo: task names no block");
        return colorNames()[static_cast<std::size_t>(w.blocks[static_cast<std::size_t>(block)].color)];
    };
    auto receptacle = [&]() -> std::string {
        if (w.receptacle < 0 || w.receptacle >= static_cast<int>(w.receptacles.size()))
            throw Error("demo: task names no receptacle");
        return receptacleName(w.receptacles[static_cast<std::size_t>(w.receptacle)].kind);
    };
    switch (w.task) {
    case TaskKind::PutIn: {
        const std::string r = receptacle();
        return "put the " + color(w.target) + " block " + (r == "bowl" ? "in" : "on") + " the " + r;
    }
    case TaskKind::MoveToFront:
        return "move the " + color(w.target) + " block to the front of the " + receptacle();
    case TaskKind::PickUp:
        return "pick up the " + color(w.target) + " block";
    case TaskKind::PlaceBeside:
        return "move the " + color(w.target) + " block to the " + (w.side < 0 ? "left" : "right") +
               " of the " + color(w.reference) + " block";
    case TaskKind::Stack:
        return "stack the " + color(w.target) + " block on the " + color(w.reference) + " block";
    }
    return {};
}

std::array<double, 2> projectGripper(const WorldState& state, int size) {
    const Camera cam(size);
    const auto p = cam.project(state.gripper.x, state.gripper.y, state.gripper.z + 0.03);
    return {p.x, p.y};
}

std::array<double, 2> projectToFrame(double x, double y, double z) {
    constexpr int kSize = 1024; // the camera scales with the frame; any size gives the same fractions
    const auto p = Camera(kSize).project(x, y, z);
    return {p.x / kSize, p.y / kSize};
}

vision::RgbImage render(const WorldState& w, int size) {
    if (size < 16 || size > 4096) throw Error("demo: render size " + std::to_string(size) + " out of range");
    const Camera cam(size);
    cv::Mat img(size, size, CV_8UC3);
    // Background: a dim wall / floor gradient.
    for (int y = 0; y < size; ++y) {
        const double t = double(y) / size;
        img.row(y).setTo(cv::Scalar(55 + 25 * t, 60 + 25 * t, 72 + 20 * t));
    }
    // Table top with its front edge.
    const Rgb table = w.tableRgb;
    const double hx = kTableHalfX, hy = kTableHalfY;
    fillPolygon(img,
                {cam.project(-hx, -hy, 0), cam.project(hx, -hy, 0), cam.project(hx, -hy, -0.04),
                 cam.project(-hx, -hy, -0.04)},
                scalar(table, 0.6));
    cv::Mat mask = cv::Mat::zeros(size, size, CV_8U);
    {
        std::vector<cv::Point> quad;
        for (const auto& p : {cam.project(-hx, -hy, 0), cam.project(hx, -hy, 0), cam.project(hx, hy, 0),
                              cam.project(-hx, hy, 0)})
            quad.emplace_back(int(std::lround(p.x * kSub)), int(std::lround(p.y * kSub)));
        cv::fillConvexPoly(mask, quad, cv::Scalar(255), cv::LINE_8, kShift);
    }
    // Wood-like texture: coarse value noise stretched along x, plus fine grain.
    Rng rng(w.sceneSeed);
    const cv::Mat coarse = valueNoise(rng, size, 6);
    const cv::Mat grain = valueNoise(rng, size, std::max(8, size / 6));
    for (int y = 0; y < size; ++y) {
        auto* px = img.ptr<cv::Vec3b>(y);
        const auto* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < size; ++x) {
            if (!m[x]) continue;
            const double n = 14 * coarse.at<float>(y, x) + 7 * grain.at<float>(y, (x * 5) % size) +
                             3 * std::sin(0.35 * y + 4 * coarse.at<float>(y, x));
            for (int c = 0; c < 3; ++c)
                px[x][c] = cv::saturate_cast<std::uint8_t>(table[static_cast<std::size_t>(c)] + n);
        }
    }
    // Clutter and receptacles lie flat on the table.
    for (const auto& c : w.clutter)
        drawCylinder(img, cam, c.x, c.y, 0, c.radius, c.height, rgbOf(c.rgb), 0.65);
    for (const auto& r : w.receptacles) {
        const Rgb col = rgbOf(r.rgb);
        if (r.kind == ReceptacleKind::Plate) {
            drawCylinder(img, cam, r.x, r.y, 0, r.radius, 0.008, col, 0.7);
            fillPolygon(img, circlePoints(cam, r.x, r.y, 0.008, r.radius * 0.72), scalar(col, 0.9));
        } else {
            auto wall = circlePoints(cam, r.x, r.y, 0, r.radius * 0.7);
            const auto rim = circlePoints(cam, r.x, r.y, 0.045, r.radius);
            wall.insert(wall.end(), rim.begin(), rim.end());
            fillPolygon(img, wall, scalar(col, 0.7));
            fillPolygon(img, rim, scalar(col, 1.0));
            fillPolygon(img, circlePoints(cam, r.x, r.y, 0.045, r.radius * 0.85), scalar(col, 0.62));
        }
    }
    // Two shadows. A soft one straight below the lifted blocks and the gripper (the ceiling light) marks
    // where on the table they are; the key light's, cast sideways, moves away from a thing as it rises, so
    // the gap between a thing and that shadow shows its height.
    {
        cv::Mat below = img.clone();
        for (const auto& b : w.blocks)
            if (b.z > 0.002)
                fillPolygon(below, circlePoints(cam, b.x, b.y, 0.001, kBlockSize * 0.6),
                            cv::Scalar(20, 20, 20));
        const auto& g = w.gripper;
        const double half = fingerGap(g) / 2 + 0.015;
        std::vector<cv::Point2d> pts;
        const double c = std::cos(g.yaw), s = std::sin(g.yaw);
        for (double sx : {-1.0, 1.0})
            for (double sy : {-1.0, 1.0})
                pts.push_back(cam.project(g.x + sx * half * c - sy * 0.022 * s,
                                          g.y + sx * half * s + sy * 0.022 * c, 0.001));
        fillPolygon(below, pts, cv::Scalar(20, 20, 20));
        cv::addWeighted(img, 0.75, below, 0.25, 0, img);
        cv::Mat cast = img.clone();
        for (const auto& b : w.blocks)
            castBoxShadow(cast, cam, {b.x, b.y, b.z, kBlockSize / 2, kBlockSize / 2, kBlockSize, b.yaw});
        for (const auto& box : gripperBoxes(w.gripper))
            castBoxShadow(cast, cam, box);
        cv::addWeighted(img, 0.55, cast, 0.45, 0, img);
    }
    // Blocks and the gripper, far to near; a held block is drawn just before the gripper.
    std::vector<std::pair<double, std::function<void()>>> items;
    for (std::size_t i = 0; i < w.blocks.size(); ++i) {
        const auto& b = w.blocks[i];
        const double key = static_cast<int>(i) == w.held ? w.gripper.y - 0.029 : b.y;
        const Block* bp = &b;
        items.push_back({key, [&img, &cam, bp]() {
                             drawBox(img, cam, bp->x, bp->y, bp->z, kBlockSize / 2, kBlockSize / 2,
                                     kBlockSize, bp->yaw, rgbOf(colorRgb(bp->color)));
                         }});
    }
    items.push_back({w.gripper.y - 0.03, [&]() { drawGripper(img, cam, w.gripper, size); }});
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& it : items)
        it.second();
    // Global lighting.
    img.convertTo(img, CV_8UC3, w.light);

    vision::RgbImage out = vision::RgbImage::blank(size, size);
    for (int y = 0; y < size; ++y)
        std::copy_n(img.ptr<std::uint8_t>(y), size * 3, &out.pixels[out.index(0, y, 0)]);
    return out;
}

void writePng(const vision::RgbImage& image, const std::string& path) {
    if (!image.valid()) throw Error("demo: cannot write an empty image to " + path);
    cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    bool ok = false;
    try {
        ok = cv::imwrite(path, bgr);
    } catch (const cv::Exception& e) {
        throw Error("demo: cannot write " + path + ": " + e.what());
    }
    if (!ok) throw Error("demo: cannot write " + path);
}

} // namespace specvla::demo
