// SPDX-License-Identifier: MIT
#include "text/prompt.h"

#include "common/error.h"
#include "text/tokenizer.h"

namespace specvla::text {

namespace {

// Vicuna v1.1's system prompt, used by the openvla-v01 checkpoints.
constexpr const char* kVicunaSystemPrompt =
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions.";

constexpr const char* kLoneSpacePiece = "\xE2\x96\x81"; // "▁", U+2581

} // namespace

PromptStyle promptStyleForModel(const std::string& modelIdOrPath) {
    return modelIdOrPath.find("openvla-v01") != std::string::npos ? PromptStyle::OpenVlaV01
                                                                  : PromptStyle::OpenVlaV1;
}

std::string asciiLower(const std::string& s) {
    std::string out = s;
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string buildPromptText(const std::string& instruction, PromptStyle style) {
    const std::string question = "What action should the robot take to " + asciiLower(instruction) + "?";
    switch (style) {
    case PromptStyle::OpenVlaV01:
        return std::string(kVicunaSystemPrompt) + " USER: " + question + " ASSISTANT:";
    case PromptStyle::OpenVlaV1:
        break;
    }
    return "In: " + question + "\nOut:";
}

std::vector<int> buildPromptIds(const Tokenizer& tokenizer, const std::string& instruction, PromptStyle style,
                                int spaceTokenId) {
    if (spaceTokenId < 0) {
        spaceTokenId = tokenizer.pieceToId(kLoneSpacePiece);
        if (spaceTokenId < 0)
            throw Error("tokenizer " + tokenizer.path() +
                        ": has no lone-space piece \"\xE2\x96\x81\" (U+2581), which OpenVLA appends to every "
                        "prompt (id 29871 in Llama-2)");
    }
    if (tokenizer.bosId() < 0)
        throw Error("tokenizer " + tokenizer.path() + ": has no BOS id, which OpenVLA prompts start with");

    std::vector<int> ids;
    ids.push_back(tokenizer.bosId());
    const std::vector<int> body = tokenizer.encode(buildPromptText(instruction, style));
    ids.insert(ids.end(), body.begin(), body.end());
    if (ids.back() != spaceTokenId) ids.push_back(spaceTokenId);
    return ids;
}

} // namespace specvla::text
