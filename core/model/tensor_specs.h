// SPDX-License-Identifier: MIT
#pragma once

// The full key layout of Hugging Face OpenVLA checkpoints and of EAGLE / Spec-VLA draft heads: the one list
// that loaders validate against, tests write tiny checkpoints from, and the geometry writer sizes.
#include "model/config.h"
#include "model/weights.h"

#include <vector>

namespace specvla::model {

std::vector<TensorSpec> vlaTensorSpecs(const VlaConfig& config);
// fc, layer 0 without input norm; withEmbedding adds the (ignored at run time) embed_tokens.weight.
std::vector<TensorSpec> draftTensorSpecs(const DraftConfig& config, int vocabSize, bool withEmbedding);

} // namespace specvla::model
