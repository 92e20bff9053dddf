// SPDX-License-Identifier: MIT
#pragma once

// The autoregressive baseline: prefill, then greedy single-token steps to the 7 action tokens. Torch-free
// header: results are plain values.
#include "vision/image.h"

#include <string>
#include <vector>

namespace specvla::model {
class VlaModel;
}

namespace specvla::decode {

// Wall-clock milliseconds per stage (synchronised with the device).
struct StageTimes {
    double preprocess = 0, vision = 0, prefill = 0, decode = 0, total = 0;
};

struct ActionResult {
    std::vector<int> tokens;         // the 7 generated ids
    std::vector<int> bins;           // their bins (0..255), -1 for ids outside the action range
    std::vector<double> normalized;  // bin centres in [-1, 1]
    std::vector<double> action;      // un-normalised with the dataset statistics
    std::vector<double> envAction;   // action with LIBERO's gripper post-processing, when asked for
    std::string unnormKey;
    int targetPasses = 0;            // target forward passes, prefill included
    bool allActionTokens = true;     // false when the model produced an id outside the action range
    StageTimes ms;
};

struct ArOptions {
    std::string unnormKey;      // empty: the model's load-time key or its only dataset
    bool liberoGripper = false; // also fill envAction
    int numTokens = 7;
};

// image: already through the dataset's preprocessing (vision::prepareImage); the HF processor step (resize
// to the backbone size, normalisation) happens here. Runs under inference mode. Throws Error.
ActionResult decodeAr(const model::VlaModel& model, const vision::RgbImage& image, const std::string& instruction,
                      const ArOptions& options = {});

} // namespace specvla::decode
