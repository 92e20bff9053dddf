// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace specvla::text {

// Trains a Llama-2-like SentencePiece model (unigram, byte fallback, unk/bos/eos = 0/1/2, no pad, whitespace
// kept) on the given instructions wrapped in OpenVLA's prompt templates, and writes modelPrefix + ".model".
// The lone "▁" piece exists in the result (character coverage 1), so the prompt's space rule applies. Used by
// tests and by the demo, whose models must not depend on downloaded tokenizers. Throws Error.
// The written model leaves out the trainer's input and output paths, so the same instructions give the same
// bytes wherever the model is trained.
std::string trainInstructionTokenizer(const std::string& modelPrefix,
                                      const std::vector<std::string>& instructions, int vocabSize);

// A serialized SentencePiece ModelProto without the paths its trainer recorded (trainer_spec's input files
// and model prefix); every other field is kept byte for byte. Throws Error, naming `source`, on malformed
// bytes.
std::string withoutTrainerPaths(const std::string& modelProto, const std::string& source);

} // namespace specvla::text
