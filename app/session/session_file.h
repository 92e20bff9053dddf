// SPDX-License-Identifier: MIT
#pragma once

// Workbench session files (DESIGN.md, Sessions): a versioned JSON object naming the model, draft head and
// episode file, the decode settings and the view state. Plain C++17 with nlohmann-json: no Qt and no torch,
// so the GUI and the CLI read and write the same files.
//
// Version 2 (version 1 files, which lack the fields marked v2, are read too):
//   {"format": "specvla-session", "version": 2,
//    "model": PATH, "draft": PATH | null, "episodes": PATH, "unnorm_key": STRING | null,
//    "settings": {"mode": "ar" | "strict" | "relaxed", "margin": INT, "margins_per_dim": [7 INT] | null,
//                 "top_k": INT, "depth": INT, "total_tokens": INT},
//    "view": {"step": INT, "round": INT (v2), "dimension": -1 (all) .. 6 (v2)},
//    "bookmarks": [{"step": INT, "note": STRING}, ...] (v2, sorted by step, one per step),
//    "notes": STRING (v2)}
// Paths are stored relative to the session file's folder; absolute paths are accepted when reading.
// Extending the format: add optional fields to Session (readers of version 1 files leave them at their
// defaults), bump kSessionVersion only when an older reader would misread a newer file.
#include "decode/settings.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace specvla::session {

inline constexpr const char* kSessionFormat = "specvla-session";
inline constexpr int kSessionVersion = 2;

// A step of the episode marked by the user, with a free-text note (carried into the session report).
struct Bookmark {
    int step = 0;
    std::string note;
    bool operator==(const Bookmark& o) const { return step == o.step && note == o.note; }
    bool operator!=(const Bookmark& o) const { return !(*this == o); }
};

struct Session {
    // Absolute paths once read (resolved against the session file's folder); any paths when writing.
    std::string model;
    std::optional<std::string> draft;
    std::string episodes;
    std::optional<std::string> unnormKey;
    // Only mode, margin, marginPerDim and the tree shape are stored; the rest keep their defaults.
    decode::DecodeSettings settings;
    int step = 0;
    int round = 0;                   // the draft tree view's verify round
    int dimension = -1;              // the bin-distance plot's action dimension: -1 all, 0..6 one
    std::vector<Bookmark> bookmarks; // sorted by step, at most one per step
    std::string notes;               // free text about the whole session

    // Field-by-field comparison (paths compared as stored; read sessions hold absolute, normalised paths).
    bool operator==(const Session& o) const;
    bool operator!=(const Session& o) const { return !(*this == o); }
};

// Inserts or replaces the bookmark at b.step, keeping the list sorted. Returns the index.
std::size_t setBookmark(std::vector<Bookmark>& bookmarks, const Bookmark& b);
// Removes the bookmark at step; false when there is none.
bool removeBookmark(std::vector<Bookmark>& bookmarks, int step);
// The bookmark at step, or null.
const Bookmark* findBookmark(const std::vector<Bookmark>& bookmarks, int step);

// Reads and validates a session file. Throws specvla::Error naming the file and the field, e.g.
// "s.json: field \"settings.margin\": expected an integer", "s.json: not a SpecVLA session (format ...)",
// "s.json: was written by a newer SpecVLA Workbench (version 2 > 1)".
Session readSession(const std::string& path);

// Writes atomically (temporary file beside it, then rename); paths become relative to path's folder where
// they can be. Throws specvla::Error when the file cannot be written.
void writeSession(const std::string& path, const Session& session);

// The JSON form, for callers that embed or inspect it. baseDir: the folder paths are relative to; source:
// the name used in error messages.
nlohmann::json sessionToJson(const Session& session, const std::string& baseDir);
Session sessionFromJson(const nlohmann::json& json, const std::string& baseDir, const std::string& source);

// True when path is a readable JSON file whose "format" is "specvla-session" (never throws): lets a
// command line tell a session from a checkpoint's index .json.
bool isSessionFile(const std::string& path);

// p relative to baseDir when both are on the same root, else p made absolute; lexically normalised.
std::string relativePath(const std::string& p, const std::string& baseDir);
// p resolved against baseDir when relative; lexically normalised.
std::string resolvePath(const std::string& p, const std::string& baseDir);

} // namespace specvla::session
