// SPDX-License-Identifier: MIT
#include "decode/settings.h"
#include "decode/trace.h"

#include <algorithm>
#include <cctype>

namespace specvla::decode {

namespace {

std::string lowered(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

} // namespace

const char* modeName(DecodeMode mode) {
    switch (mode) {
    case DecodeMode::Ar:
        return "ar";
    case DecodeMode::Strict:
        return "strict";
    case DecodeMode::Relaxed:
        return "relaxed";
    }
    return "unknown";
}

std::optional<DecodeMode> parseMode(const std::string& name) {
    const std::string n = lowered(name);
    for (DecodeMode m : {DecodeMode::Ar, DecodeMode::Strict, DecodeMode::Relaxed})
        if (n == modeName(m)) return m;
    return std::nullopt;
}

const char* pathChoiceName(PathChoice choice) {
    switch (choice) {
    case PathChoice::FewestRelaxed:
        return "fewest_relaxed";
    case PathChoice::ReferenceOrder:
        return "reference_order";
    }
    return "unknown";
}

std::optional<PathChoice> parsePathChoice(const std::string& name) {
    const std::string n = lowered(name);
    for (PathChoice c : {PathChoice::FewestRelaxed, PathChoice::ReferenceOrder})
        if (n == pathChoiceName(c)) return c;
    return std::nullopt;
}

const char* childChoiceName(ChildChoice choice) {
    switch (choice) {
    case ChildChoice::BinCoverage:
        return "bin_coverage";
    case ChildChoice::TopK:
        return "top_k";
    }
    return "unknown";
}

std::optional<ChildChoice> parseChildChoice(const std::string& name) {
    const std::string n = lowered(name);
    for (ChildChoice c : {ChildChoice::BinCoverage, ChildChoice::TopK})
        if (n == childChoiceName(c)) return c;
    return std::nullopt;
}

const char* verdictName(Verdict v) {
    switch (v) {
    case Verdict::Root:
        return "root";
    case Verdict::Exact:
        return "exact";
    case Verdict::Relaxed:
        return "relaxed";
    case Verdict::Rejected:
        return "rejected";
    case Verdict::NotReached:
        return "not_reached";
    }
    return "unknown";
}

} // namespace specvla::decode
