// SPDX-License-Identifier: MIT
#pragma once

// The demo world: a procedural tabletop with a parallel gripper, coloured blocks, a plate and a bowl, seen
// from an oblique camera in front of the table. Plain values only; the renderer uses OpenCV in the .cpp.
//
// World frame (metres): x to the right as seen by the camera, y away from the camera (the table's back),
// z up from the table top. "Front" means towards the camera (smaller y), "left" smaller x.
#include "vision/image.h"

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace specvla::demo {

enum class TaskKind {
    PutIn,       // "put the red block in the bowl"
    MoveToFront, // "move the red block to the front of the plate" (carried there)
    PickUp,      // "pick up the red block"
    PlaceBeside, // "move the red block to the left of the blue block"
    Stack,       // "stack the red block on the blue block"
};
constexpr int kNumTaskKinds = 5;
const std::array<TaskKind, kNumTaskKinds>& allTaskKinds();
const char* taskKindName(TaskKind kind); // "put_in", "move_to_front", "pick_up", "place_beside", "stack"
TaskKind taskKindFromName(const std::string& name); // throws Error for an unknown name

enum class ReceptacleKind { Plate, Bowl };

// Table extent and the world's fixed sizes.
constexpr double kTableHalfX = 0.40;
constexpr double kTableHalfY = 0.30;
constexpr double kBlockSize = 0.05;   // cube edge
constexpr double kGripperMaxZ = 0.30; // fingertip height range [0, kGripperMaxZ]
constexpr double kFingerGapClosed = 0.02;
constexpr double kFingerGapOpen = 0.16; // gap between finger centres = closed + opening * (open - closed)

struct Gripper {
    double x = 0, y = 0, z = 0.2; // fingertip position
    double yaw = 0;               // radians; the fingers close along (cos yaw, sin yaw)
    double opening = 1;           // 1 fully open, 0 closed
};

struct Block {
    int color = 0;              // index into colorNames()
    double x = 0, y = 0, z = 0; // centre of the bottom face
    double yaw = 0;
};

struct Receptacle {
    ReceptacleKind kind = ReceptacleKind::Plate;
    double x = 0, y = 0;
    double radius = 0.09;
    std::array<std::uint8_t, 3> rgb{230, 230, 225};
};

// Non-interactive clutter drawn on the table (distractors).
struct Clutter {
    double x = 0, y = 0;
    double radius = 0.02;
    double height = 0.01;
    std::array<std::uint8_t, 3> rgb{120, 120, 120};
};

struct WorldState {
    TaskKind task = TaskKind::PutIn;
    int target = 0;      // block the instruction names
    int reference = -1;  // second block (PlaceBeside, Stack), else -1
    int receptacle = -1; // receptacle (PutIn, MoveToFront), else -1
    int side = -1;       // PlaceBeside: -1 left, +1 right
    Gripper gripper;
    int held = -1;     // block held by the gripper, or -1
    double heldDz = 0; // block bottom minus fingertip height while held
    std::vector<Block> blocks;
    std::vector<Receptacle> receptacles;
    std::vector<Clutter> clutter;
    std::uint64_t sceneSeed = 0; // table texture and lighting
    double light = 1.0;          // global brightness factor
    std::array<double, 3> tableRgb{170, 130, 90};
    int step = 0;
};

// The colour names blocks use ("red", "green", ...) and their RGB values.
const std::vector<std::string>& colorNames();
std::array<std::uint8_t, 3> colorRgb(int color);
const char* receptacleName(ReceptacleKind kind); // "plate" / "bowl"

// A random layout for the task, deterministic per seed (explicit arithmetic on std::mt19937_64 draws).
// Every layout is solvable by the expert within the episode bound.
WorldState sampleLayout(TaskKind task, std::uint64_t seed);

// The templated instruction, e.g. "put the red block in the bowl".
std::string instruction(const WorldState& state);

// Renders the scene as a size x size RGB image. Deterministic: the same state gives the same bytes.
vision::RgbImage render(const WorldState& state, int size);

// Where the gripper's fingertips project in a size x size render (pixel coordinates), e.g. for tests.
std::array<double, 2> projectGripper(const WorldState& state, int size);
// Where a world point projects in a render, as fractions of its width and height (x right, y down).
std::array<double, 2> projectToFrame(double x, double y, double z);

// Writes an RGB image as PNG (OpenCV); throws Error when it cannot.
void writePng(const vision::RgbImage& image, const std::string& path);

// A seeded source of doubles with portable arithmetic on raw 64-bit draws.
class Rng {
public:
    explicit Rng(std::uint64_t seed);
    std::uint64_t next();
    double uniform(); // [0, 1)
    double uniform(double lo, double hi);
    int below(int n); // [0, n)

private:
    std::mt19937_64 m_engine;
};

} // namespace specvla::demo
