// SPDX-License-Identifier: MIT
#pragma once

// Plain C++17 episode structs: the UI includes this header, so it must stay free of torch, OpenCV and HDF5.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace specvla::data {

// The two on-disk flavours of LIBERO demonstrations (reference/specvla-openvla.md section 4).
enum class LiberoLayout {
    Raw,         // LIBERO's own files: data attrs carry problem_info (the instruction), 128x128 images
    Regenerated, // OpenVLA's regenerate_libero_dataset.py output: no data attrs, 256x256, no-ops dropped
};

const char* layoutName(LiberoLayout layout); // "raw" / "regenerated"

using Action = std::array<double, 7>; // dx dy dz, droll dpitch dyaw (axis-angle), gripper (-1 open, +1 close)

// One recorded demonstration, or a contiguous step range of one. Images are RGB, row-major, as stored in the
// file: LIBERO does not flip them, OpenVLA's evaluation rotates them by 180 degrees before the policy.
struct Episode {
    std::string source;      // file the episode came from (empty for synthesised episodes)
    std::string demoName;    // "demo_3"
    std::string instruction; // natural-language task
    int firstStep = 0;       // index in the recorded demo of images/actions[0] (non-zero for a step range)
    int numSteps = 0;
    int imageWidth = 0;
    int imageHeight = 0;
    std::vector<std::uint8_t> images;  // numSteps * imageHeight * imageWidth * 3 bytes
    std::vector<Action> actions;       // numSteps
    std::vector<std::uint8_t> rewards; // numSteps, or empty when the file has none
    std::vector<std::uint8_t> dones;   // numSteps, or empty when the file has none
    std::vector<std::string> notes;    // non-fatal remarks from the reader, e.g. "no rewards dataset"

    std::size_t imageBytes() const { return static_cast<std::size_t>(imageWidth) * imageHeight * 3; }
    // Start of step t's frame (t relative to firstStep); nullptr when t is out of range.
    const std::uint8_t* image(int t) const;
    // A LIBERO demo succeeded when any reward is positive or its last step is marked done. Only meaningful
    // for whole demos; false when neither rewards nor dones are known.
    bool success() const;
    // Empty when the sizes agree with numSteps and the image size; else what disagrees.
    std::string consistencyProblem() const;
};

// The task instruction encoded in a LIBERO file name: "{task}_demo.hdf5" with words joined by '_'.
// "put_the_bowl_on_the_plate_demo.hdf5" -> "put the bowl on the plate",
// "KITCHEN_SCENE3_turn_on_the_stove_demo.hdf5" -> "turn on the stove" (a leading run of scene tokens in
// upper case or digits is dropped). Folders, the extension and "_demo" / "_no_noops" suffixes are ignored;
// the result is lower case. Empty when nothing is left.
std::string instructionFromFileName(const std::string& path);

} // namespace specvla::data
