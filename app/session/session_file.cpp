// SPDX-License-Identifier: MIT
#include "session/session_file.h"

#include "common/error.h"
#include "io/safetensors_writer.h" // io::writeFileAtomically

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace specvla::session {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The checks of one JSON object, each error naming the file and the dotted field.
class Reader {
public:
    Reader(const std::string& source) : m_source(source) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw Error(m_source + ": field \"" + field + "\": " + what);
    }

    const json& require(const json& object, const std::string& key, const std::string& field) const {
        const auto it = object.find(key);
        if (it == object.end()) fail(field, "missing");
        return *it;
    }

    std::string string(const json& object, const std::string& key, const std::string& prefix = {}) const {
        const std::string field = prefix + key;
        const json& v = require(object, key, field);
        if (!v.is_string()) fail(field, std::string("expected a string, found ") + v.type_name());
        if (v.get_ref<const std::string&>().empty()) fail(field, "must not be empty");
        return v.get<std::string>();
    }

    std::optional<std::string> optionalString(const json& object, const std::string& key) const {
        const auto it = object.find(key);
        if (it == object.end() || it->is_null()) return std::nullopt;
        if (!it->is_string()) fail(key, std::string("expected a string or null, found ") + it->type_name());
        return it->get<std::string>();
    }

    int integer(const json& v, const std::string& field, int min, int max) const {
        if (!v.is_number_integer()) fail(field, std::string("expected an integer, found ") + v.type_name());
        const auto n = v.get<long long>();
        if (n < min || n > max)
            fail(field, "expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                            ", found " + std::to_string(n));
        return static_cast<int>(n);
    }

    int integer(const json& object, const std::string& key, const std::string& prefix, int min,
                int max) const {
        return integer(require(object, key, prefix + key), prefix + key, min, max);
    }

    const json& object(const json& parent, const std::string& key) const {
        const json& v = require(parent, key, key);
        if (!v.is_object()) fail(key, std::string("expected an object, found ") + v.type_name());
        return v;
    }

private:
    std::string m_source;
};

constexpr int kMaxMargin = 255; // bins: an action token has 256

} // namespace

namespace {
// Absolute and lexically normal, without a trailing separator: "model/" and "model" are one folder.
fs::path normalized(const fs::path& p) {
    fs::path n = fs::absolute(p).lexically_normal();
    if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
    return n;
}
} // namespace

std::string relativePath(const std::string& p, const std::string& baseDir) {
    const fs::path absolute = normalized(fs::path(p));
    const fs::path base = normalized(fs::path(baseDir.empty() ? "." : baseDir));
    if (absolute.root_name() != base.root_name()) return absolute.generic_string();
    const fs::path relative = absolute.lexically_relative(base);
    return relative.empty() ? absolute.generic_string() : relative.generic_string();
}

std::string resolvePath(const std::string& p, const std::string& baseDir) {
    fs::path path(p);
    if (path.is_relative()) path = fs::path(baseDir.empty() ? "." : baseDir) / path;
    return normalized(path).generic_string();
}

json sessionToJson(const Session& session, const std::string& baseDir) {
    const decode::DecodeSettings& s = session.settings;
    json settings = {{"mode", decode::modeName(s.mode)},
                     {"margin", s.margin},
                     {"margins_per_dim", nullptr},
                     {"top_k", s.tree.topK},
                     {"depth", s.tree.depth},
                     {"total_tokens", s.tree.totalTokens}};
    if (s.marginPerDim) settings["margins_per_dim"] = *s.marginPerDim;
    json j = {{"format", kSessionFormat},
              {"version", kSessionVersion},
              {"model", relativePath(session.model, baseDir)},
              {"draft", nullptr},
              {"episodes", relativePath(session.episodes, baseDir)},
              {"unnorm_key", nullptr},
              {"settings", settings},
              {"view", {{"step", session.step}, {"round", session.round}, {"dimension", session.dimension}}},
              {"bookmarks", json::array()},
              {"notes", session.notes}};
    for (const Bookmark& b : session.bookmarks)
        j["bookmarks"].push_back({{"step", b.step}, {"note", b.note}});
    if (session.draft && !session.draft->empty()) j["draft"] = relativePath(*session.draft, baseDir);
    if (session.unnormKey && !session.unnormKey->empty()) j["unnorm_key"] = *session.unnormKey;
    return j;
}

Session sessionFromJson(const json& j, const std::string& baseDir, const std::string& source) {
    const Reader r(source);
    if (!j.is_object()) throw Error(source + ": not a SpecVLA session (expected a JSON object)");
    const auto format = j.find("format");
    if (format == j.end() || !format->is_string() || format->get<std::string>() != kSessionFormat)
        throw Error(source + ": not a SpecVLA session (field \"format\" must be \"" + kSessionFormat + "\"" +
                    (format == j.end() ? std::string(", missing") : ", found " + format->dump()) + ")");
    const int version = r.integer(j, "version", {}, 1, 1 << 30);
    if (version > kSessionVersion)
        throw Error(source + ": was written by a newer SpecVLA Workbench (version " +
                    std::to_string(version) + " > " + std::to_string(kSessionVersion) + ")");

    Session session;
    session.model = resolvePath(r.string(j, "model"), baseDir);
    if (const auto draft = r.optionalString(j, "draft"); draft && !draft->empty())
        session.draft = resolvePath(*draft, baseDir);
    session.episodes = resolvePath(r.string(j, "episodes"), baseDir);
    if (const auto key = r.optionalString(j, "unnorm_key"); key && !key->empty()) session.unnormKey = key;

    const json& s = r.object(j, "settings");
    decode::DecodeSettings& out = session.settings;
    const std::string modeName = r.string(s, "mode", "settings.");
    const auto mode = decode::parseMode(modeName);
    if (!mode)
        r.fail("settings.mode", "expected \"ar\", \"strict\" or \"relaxed\", found \"" + modeName + "\"");
    out.mode = *mode;
    out.margin = r.integer(s, "margin", "settings.", 0, kMaxMargin);
    const json& perDim = r.require(s, "margins_per_dim", "settings.margins_per_dim");
    if (!perDim.is_null()) {
        if (!perDim.is_array() || perDim.size() != 7)
            r.fail("settings.margins_per_dim", "expected null or an array of 7 integers");
        std::array<int, 7> margins{};
        for (std::size_t i = 0; i < 7; ++i)
            margins[i] =
                r.integer(perDim[i], "settings.margins_per_dim[" + std::to_string(i) + "]", 0, kMaxMargin);
        out.marginPerDim = margins;
    }
    out.tree.topK = r.integer(s, "top_k", "settings.", 1, 1024);
    out.tree.depth = r.integer(s, "depth", "settings.", 1, 64);
    out.tree.totalTokens = r.integer(s, "total_tokens", "settings.", 2, 4096);

    const json& view = r.object(j, "view");
    session.step = r.integer(view, "step", "view.", 0, 1 << 30);
    if (version >= 2) {
        if (view.contains("round")) session.round = r.integer(view, "round", "view.", 0, 1 << 20);
        if (view.contains("dimension")) session.dimension = r.integer(view, "dimension", "view.", -1, 6);
        if (const auto it = j.find("bookmarks"); it != j.end() && !it->is_null()) {
            if (!it->is_array())
                r.fail("bookmarks", std::string("expected an array, found ") + it->type_name());
            for (std::size_t i = 0; i < it->size(); ++i) {
                const std::string field = "bookmarks[" + std::to_string(i) + "]";
                const json& b = (*it)[i];
                if (!b.is_object()) r.fail(field, std::string("expected an object, found ") + b.type_name());
                Bookmark bookmark;
                bookmark.step = r.integer(b, "step", field + ".", 0, 1 << 30);
                if (const auto note = b.find("note"); note != b.end() && !note->is_null()) {
                    if (!note->is_string())
                        r.fail(field + ".note", std::string("expected a string, found ") + note->type_name());
                    bookmark.note = note->get<std::string>();
                }
                if (findBookmark(session.bookmarks, bookmark.step))
                    r.fail(field + ".step", "a second bookmark at step " + std::to_string(bookmark.step));
                setBookmark(session.bookmarks, bookmark);
            }
        }
        if (const auto it = j.find("notes"); it != j.end() && !it->is_null()) {
            if (!it->is_string()) r.fail("notes", std::string("expected a string, found ") + it->type_name());
            session.notes = it->get<std::string>();
        }
    }
    return session;
}

Session readSession(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open the session file");
    std::stringstream ss;
    ss << in.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        throw Error(path + ": invalid JSON: " + e.what());
    }
    const fs::path base = fs::absolute(fs::path(path)).parent_path();
    return sessionFromJson(j, base.string(), path);
}

void writeSession(const std::string& path, const Session& session) {
    const fs::path base = fs::absolute(fs::path(path)).parent_path();
    io::writeFileAtomically(path, sessionToJson(session, base.string()).dump(2) + "\n");
}

bool Session::operator==(const Session& o) const {
    return model == o.model && draft == o.draft && episodes == o.episodes && unnormKey == o.unnormKey &&
           settings == o.settings && step == o.step && round == o.round && dimension == o.dimension &&
           bookmarks == o.bookmarks && notes == o.notes;
}

std::size_t setBookmark(std::vector<Bookmark>& bookmarks, const Bookmark& b) {
    auto it = std::lower_bound(bookmarks.begin(), bookmarks.end(), b.step,
                               [](const Bookmark& x, int step) { return x.step < step; });
    if (it != bookmarks.end() && it->step == b.step)
        it->note = b.note;
    else
        it = bookmarks.insert(it, b);
    return static_cast<std::size_t>(it - bookmarks.begin());
}

bool removeBookmark(std::vector<Bookmark>& bookmarks, int step) {
    const auto it =
        std::find_if(bookmarks.begin(), bookmarks.end(), [&](const Bookmark& x) { return x.step == step; });
    if (it == bookmarks.end()) return false;
    bookmarks.erase(it);
    return true;
}

const Bookmark* findBookmark(const std::vector<Bookmark>& bookmarks, int step) {
    for (const Bookmark& b : bookmarks)
        if (b.step == step) return &b;
    return nullptr;
}

bool isSessionFile(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) > (std::uintmax_t(16) << 20)) return false;
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    const json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    const auto format = j.find("format");
    return format != j.end() && format->is_string() && format->get<std::string>() == kSessionFormat;
}

} // namespace specvla::session
