// SPDX-License-Identifier: MIT
#pragma once

// Writes episodes as LIBERO HDF5 files (tests' tiny files, the demo generator). HDF5 stays in the .cpp.
#include "data/episode.h"

#include <string>
#include <vector>

namespace specvla::data {

struct LiberoWriteOptions {
    LiberoLayout layout = LiberoLayout::Raw;
    // Raw layout only, stored in data's problem_info JSON. An empty instruction takes the first demo's.
    std::string instruction;
    std::string problemName; // also written as data's env_name
    std::string domainName;
    bool compress = false; // gzip level 4; images chunked one step per chunk
};

// Writes demos as data/demo_N groups: actions float64 [T, 7], rewards and dones uint8 [T] (skipped when the
// episode has none), obs/agentview_rgb uint8 [T, H, W, 3]. Demos keep their demoName when every one is a
// distinct "demo_N"; otherwise they are numbered demo_0, demo_1, ... by position. Raw layout adds data attrs
// problem_info (JSON string), env_name, num_demos, total, and num_samples on each demo; the regenerated
// layout has no attrs. Atomic: the file is written beside path under a temporary name, synced, then renamed
// over path, so a failure never leaves a partial file at path. Throws Error naming the path and the problem
// (an inconsistent episode, an unwritable folder, ...).
void writeLiberoFile(const std::string& path, const std::vector<Episode>& demos,
                     const LiberoWriteOptions& options);

} // namespace specvla::data
