// SPDX-License-Identifier: MIT
#include "data/episode.h"

#include <cctype>

namespace specvla::data {

const char* layoutName(LiberoLayout layout) {
    return layout == LiberoLayout::Raw ? "raw" : "regenerated";
}

const std::uint8_t* Episode::image(int t) const {
    if (t < 0 || t >= numSteps) return nullptr;
    const std::size_t offset = static_cast<std::size_t>(t) * imageBytes();
    if (offset + imageBytes() > images.size()) return nullptr;
    return images.data() + offset;
}

bool Episode::success() const {
    for (auto r : rewards)
        if (r > 0) return true;
    return !dones.empty() && dones.back() != 0;
}

std::string Episode::consistencyProblem() const {
    const auto n = static_cast<std::size_t>(numSteps < 0 ? 0 : numSteps);
    if (numSteps < 0) return "negative step count " + std::to_string(numSteps);
    if (imageWidth <= 0 || imageHeight <= 0)
        return "image size " + std::to_string(imageWidth) + "x" + std::to_string(imageHeight) +
               " is not positive";
    if (images.size() != n * imageBytes())
        return "images hold " + std::to_string(images.size()) + " bytes, expected " +
               std::to_string(n * imageBytes()) + " (" + std::to_string(numSteps) + " x " +
               std::to_string(imageHeight) + " x " + std::to_string(imageWidth) + " x 3)";
    if (actions.size() != n)
        return std::to_string(actions.size()) + " actions for " + std::to_string(numSteps) + " steps";
    if (!rewards.empty() && rewards.size() != n)
        return std::to_string(rewards.size()) + " rewards for " + std::to_string(numSteps) + " steps";
    if (!dones.empty() && dones.size() != n)
        return std::to_string(dones.size()) + " dones for " + std::to_string(numSteps) + " steps";
    return {};
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A scene prefix token such as "KITCHEN", "SCENE3" or "10": upper case letters and digits only.
bool isSceneToken(const std::string& token) {
    for (unsigned char c : token)
        if (!std::isupper(c) && !std::isdigit(c)) return false;
    return !token.empty();
}

} // namespace

std::string instructionFromFileName(const std::string& path) {
    std::string name = path;
    const auto slash = name.find_last_of("/\\");
    if (slash != std::string::npos) name = name.substr(slash + 1);
    for (const char* ext : {".hdf5", ".h5", ".he5", ".HDF5", ".H5"}) {
        if (endsWith(name, ext)) {
            name.resize(name.size() - std::string(ext).size());
            break;
        }
    }
    // OpenVLA's regenerated sets live in "*_no_noops" folders; accept the tag on the file name too, either
    // side of "_demo".
    for (bool stripped = true; stripped;) {
        stripped = false;
        for (const char* suffix : {"_demo", "_no_noops"}) {
            if (endsWith(name, suffix)) {
                name.resize(name.size() - std::string(suffix).size());
                stripped = true;
            }
        }
    }

    std::vector<std::string> tokens;
    std::string current;
    for (char c : name) {
        if (c == '_' || c == ' ') {
            if (!current.empty()) tokens.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) tokens.push_back(current);

    std::size_t first = 0;
    while (first < tokens.size() && isSceneToken(tokens[first]))
        ++first;
    if (first == tokens.size()) first = 0; // all upper case: keep the words rather than return nothing

    std::string out;
    for (std::size_t i = first; i < tokens.size(); ++i) {
        if (!out.empty()) out += ' ';
        for (unsigned char c : tokens[i])
            out += static_cast<char>(std::tolower(c));
    }
    return out;
}

} // namespace specvla::data
