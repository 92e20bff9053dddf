// SPDX-License-Identifier: MIT
#pragma once

// Tiny OpenVLA checkpoints in the exact Hugging Face layout (same key names, small sizes), written by the
// tests themselves: config.json with text_config and specvla_vision, sharded safetensors with the index,
// a self-trained tokenizer.model and dataset_statistics.json. Torch side.
#include "io/dtype.h"
#include "model/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace specvla::testing {

struct TinyModelOptions {
    io::DType dtype = io::DType::F32;
    std::uint64_t seed = 1;
    double std = 0.08;
    std::uint64_t maxShardBytes = 400000; // several shards
    int tokenizerVocab = 400;
    int numKvHeads = 2; // grouped heads (4 query heads)
};

// The geometry (text vocab is filled in from the tokenizer).
model::VlaConfig tinyVlaConfig(int tokenizerVocab, int numKvHeads = 2);
model::DraftConfig tinyDraftConfig(const model::VlaConfig& target);

// Writes the model folder and returns its config. The tokenizer is trained once per process and copied.
model::VlaConfig writeTinyModel(const std::string& dir, const TinyModelOptions& options = {});
// A draft head folder: config.json + model.safetensors (or pytorch_model.bin when asBin).
void writeTinyDraft(const std::string& dir, const model::VlaConfig& target, std::uint64_t seed = 2,
                    bool asBin = false);

std::vector<std::string> tinyInstructions();

// Writes a one-demo LIBERO file (raw layout, instruction in problem_info) of `steps` synthetic size x size
// frames; recorded action t is {0.1 t, 0, 0, 0, 0, 0, gripper} with the gripper alternating -1 / +1.
void writeSyntheticEpisode(const std::string& path, const std::string& instruction, int steps, int size = 32);

// The decode fixtures most app tests share: dir/model (tiny target), dir/draft (its draft head) and
// dir/episode.hdf5 (`steps` synthetic frames with the first tiny instruction); statistics key "tiny_dataset".
struct TinyFixtures {
    std::string model, draft, episode;
};
TinyFixtures writeTinyFixtures(const std::string& dir, int steps);

} // namespace specvla::testing
