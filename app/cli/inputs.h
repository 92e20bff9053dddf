// SPDX-License-Identifier: MIT
#pragma once

// The frames a command decodes: an image file or a step range of LIBERO episodes (full build only: needs the
// image codecs and HDF5).
#include "cli/args.h"
#include "data/episode.h"
#include "vision/image.h"
#include "vision/preprocess.h"

#include <set>
#include <string>
#include <vector>

namespace specvla::cli {

extern const char* const kInputOptionsHelp;
std::set<std::string> inputValueOptions(); // image, episode, demo-index, steps, instruction
std::set<std::string> inputFlags();        // libero-preprocess, no-libero-preprocess, flip, jpeg, center-crop

// The frames to decode: one image, or a step range of a LIBERO episode (with its recorded actions).
struct Inputs {
    std::string description; // for logs and JSON
    std::string instruction;
    int firstStep = 0;
    bool isEpisode = false;
    std::vector<vision::RgbImage> frames; // preprocessed for the model
    std::vector<data::Action> recorded;   // episodes only
    vision::PreprocessOptions preprocess;
};
// Reads several --episode values when allowMany (sweep); otherwise exactly one input.
std::vector<Inputs> readInputs(const Args& args, const std::vector<std::string>& extraEpisodes = {});

} // namespace specvla::cli
