// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace specvla::text {

class Tokenizer;

// OpenVLA's inference prompt formats (reference/specvla-openvla.md section 2.1).
// V1:  "In: What action should the robot take to {instruction}?\nOut:"
// V01: Vicuna system prompt + " USER: What action should the robot take to {instruction}? ASSISTANT:"
enum class PromptStyle { OpenVlaV1, OpenVlaV01 };

// OpenVlaV01 when the model id or path contains "openvla-v01" (as OpenVLA's own scripts decide), else V1.
PromptStyle promptStyleForModel(const std::string& modelIdOrPath);

// ASCII lower-casing: A-Z become a-z, every other byte (UTF-8 sequences included) is kept. Python's
// str.lower(), which OpenVLA uses, would also lower non-ASCII letters; robot instructions are ASCII.
std::string asciiLower(const std::string& s);

// The prompt text for an instruction. The instruction is lower-cased (ASCII) and otherwise used as is:
// OpenVLA strips neither surrounding whitespace nor a trailing period, so neither do we.
std::string buildPromptText(const std::string& instruction, PromptStyle style);

// The prompt token ids: [BOS] + encode(prompt text), followed by the lone-space token "▁" unless the ids
// already end with it. OpenVLA's predict_action appends it (29871 in the Llama-2 vocabulary) to match
// training, where the space of "Out: " precedes the action tokens. spaceTokenId < 0 means
// tokenizer.pieceToId("▁"); throws specvla::Error naming the tokenizer file when it has no such piece
// or no BOS id.
std::vector<int> buildPromptIds(const Tokenizer& tokenizer, const std::string& instruction, PromptStyle style,
                                int spaceTokenId = -1);

} // namespace specvla::text
