// SPDX-License-Identifier: MIT
#pragma once

#include "io/dtype.h"
#include "model/config.h"

#include <cstdint>
#include <string>

namespace specvla::model {

// Writes a checkpoint folder of a model's full geometry whose tensor data are file-system holes: the real
// header, index and config, no data on disk. Used to check that inspect and the loader scale to the 7B layout
// without reading data, and to time one action on the real sizes (weights read as zeros). Also writes a small
// self-trained tokenizer.model and dataset_statistics.json with a "geometry" key. Returns bytes of tensor
// data.
// withTokenizer false skips tokenizer.model (the engine-only build has no SentencePiece plug-in).
std::uint64_t writeGeometryCheckpoint(const std::string& dir, const VlaConfig& config, io::DType dtype,
                                      std::uint64_t maxShardBytes, bool withTokenizer = true);
// A draft head folder of the given geometry (config.json + model.safetensors as holes).
std::uint64_t writeDraftGeometry(const std::string& dir, const DraftConfig& config, int vocabSize,
                                 io::DType dtype);

} // namespace specvla::model
