// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace specvla::text {

// Trains a Llama-2-like SentencePiece model (unigram, byte fallback, unk/bos/eos = 0/1/2, no pad, whitespace
// kept) on the given instructions wrapped in OpenVLA's prompt templates, and writes modelPrefix + ".model".
// The lone "▁" piece exists in the result (character coverage 1), so the prompt's space rule applies. Used by
// tests and by the demo, whose models must not depend on downloaded tokenizers. Throws Error.
std::string trainInstructionTokenizer(const std::string& modelPrefix,
                                      const std::vector<std::string>& instructions, int vocabSize);

} // namespace specvla::text
