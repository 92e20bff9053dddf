// SPDX-License-Identifier: MIT
#pragma once

// Torch-free helpers shared by the test suites: tiny checkpoints in the real layouts, and corrupt files of
// every kind the readers must reject.
#include <functional>
#include <string>
#include <vector>

namespace specvla::testing {

// Bytes of a safetensors file: 8-byte little-endian header length, the header text, then the data.
std::string rawSafetensors(const std::string& headerJson, const std::string& data);
void writeBytes(const std::string& path, const std::string& bytes);
std::string readBytes(const std::string& path);

// A valid checkpoint with F32, BF16, I64 and U8 tensors of known contents (see the .cpp), written as one
// file at path. Returns the tensor names.
std::vector<std::string> writeTinyCheckpoint(const std::string& path);
// The same tensors, sharded into dir with an index (at least two shards).
std::vector<std::string> writeTinyShardedCheckpoint(const std::string& dir);

struct CorruptCase {
    std::string name;     // also the file stem
    std::string bytes;    // the whole file
    std::string expected; // a phrase the error message must contain
};
// One case per kind of malformed safetensors file.
std::vector<CorruptCase> corruptSafetensorsCases();

// The message of the specvla::Error that f throws, or "" when it throws none.
std::string errorOf(const std::function<void()>& f);

// Folder holding the built executables (SPECVLA_BIN_DIR, set by CTest; else the test's own folder).
std::string binDir();

} // namespace specvla::testing
