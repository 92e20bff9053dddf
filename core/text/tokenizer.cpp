// SPDX-License-Identifier: MIT
//
// Why a dlmopen()ed plug-in rather than our own unigram encoder or linking libsentencepiece directly:
// - Exactness: OpenVLA feeds the Llama-2 tokenizer.model through SentencePiece. Re-implementing it would
//   have to reproduce its normaliser (precompiled charmap, dummy prefix, whitespace handling), the unigram
//   Viterbi with its tie-breaking, byte fallback (<0x0A> for "\n") and user-defined/control pieces, and any
//   slip changes the prompt ids and therefore the actions. Calling the real library gives its behaviour
//   for every real model file for free.
// - Isolation: Debian's libsentencepiece bundles and exports protobuf-lite 3.14 while libtorch needs the
//   system protobuf 3.21; in one link namespace the two interpose and the process crashes before main()
//   (reference/toolchain.md section 3). dlmopen(LM_ID_NEWLM) gives the plug-in its own namespace (own libc,
//   libstdc++ and protobuf), so nothing of it is visible to libtorch. RTLD_DEEPBIND would also work but
//   breaks AddressSanitizer. The price is a C-only boundary (spm_plugin_api.h).

#include "text/tokenizer.h"

#include "common/error.h"
#include "common/log.h"
#include "text/spm_plugin_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef SPECVLA_SPM_PLUGIN_BUILD_PATH
#define SPECVLA_SPM_PLUGIN_BUILD_PATH ""
#endif

namespace specvla::text {

namespace {

constexpr size_t kErrorCapacity = 2048;

struct Plugin {
    std::string path;
    SpecvlaSpmOpenFn open = nullptr;
    SpecvlaSpmCloseFn close = nullptr;
    SpecvlaSpmEncodeFn encode = nullptr;
    SpecvlaSpmDecodeFn decode = nullptr;
    SpecvlaSpmVocabSizeFn vocabSize = nullptr;
    SpecvlaSpmPieceToIdFn pieceToId = nullptr;
    SpecvlaSpmIdToPieceFn idToPiece = nullptr;
    SpecvlaSpmSpecialIdFn specialId = nullptr;
    SpecvlaSpmTrainFn train = nullptr;
};

struct PluginLoad {
    Plugin plugin;
    std::string error; // empty when loaded
};

std::string lastDlError() {
    const char* e = dlerror();
    return e ? std::string(e) : std::string("unknown dynamic loader error");
}

template <typename Fn>
bool resolve(void* lib, const char* name, Fn& fn, std::string& why) {
    dlerror();
    void* sym = dlsym(lib, name);
    if (!sym) {
        why = std::string("missing symbol ") + name + " (" + lastDlError() + ")";
        return false;
    }
    fn = reinterpret_cast<Fn>(sym);
    return true;
}

// Opens one candidate in a fresh link namespace. Returns false with the reason in `why`.
bool tryLoad(const std::string& path, Plugin& out, std::string& why) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        why = "not found";
        return false;
    }
    dlerror();
    void* lib = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        why = lastDlError();
        return false;
    }
    Plugin p;
    p.path = path;
    SpecvlaSpmApiVersionFn version = nullptr;
    const bool ok = resolve(lib, SPECVLA_SPM_SYM_API_VERSION, version, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_OPEN, p.open, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_CLOSE, p.close, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_ENCODE, p.encode, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_DECODE, p.decode, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_VOCAB_SIZE, p.vocabSize, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_PIECE_TO_ID, p.pieceToId, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_ID_TO_PIECE, p.idToPiece, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_SPECIAL_ID, p.specialId, why) &&
                    resolve(lib, SPECVLA_SPM_SYM_TRAIN, p.train, why);
    if (ok && version() != SPECVLA_SPM_API_VERSION) {
        why = "plug-in API version " + std::to_string(version()) + ", expected " +
              std::to_string(SPECVLA_SPM_API_VERSION) + " (a stale build?)";
    } else if (ok) {
        out = p;
        return true; // never dlclose()d: it serves the whole process
    }
    dlclose(lib);
    return false;
}

std::string executableDir() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

PluginLoad loadPlugin() {
    struct Candidate {
        std::string label;
        std::string path;
    };
    std::vector<Candidate> candidates;
    if (const char* env = std::getenv("SPECVLA_SPM_PLUGIN"); env && *env)
        candidates.push_back({"$SPECVLA_SPM_PLUGIN", env});
    if (const std::string dir = executableDir(); !dir.empty()) {
        candidates.push_back({"beside the executable", dir + "/" SPECVLA_SPM_PLUGIN_FILE_NAME});
        candidates.push_back({"../lib of the executable", dir + "/../lib/" SPECVLA_SPM_PLUGIN_FILE_NAME});
    }
    if (*SPECVLA_SPM_PLUGIN_BUILD_PATH) candidates.push_back({"build tree", SPECVLA_SPM_PLUGIN_BUILD_PATH});

    PluginLoad result;
    std::vector<std::string> tried; // resolved paths, so one file is not opened twice
    std::string report;
    for (const Candidate& c : candidates) {
        std::error_code ec;
        const std::filesystem::path canonical = std::filesystem::weakly_canonical(c.path, ec);
        const std::string key = ec ? c.path : canonical.string();
        bool seen = false;
        for (const std::string& t : tried)
            seen = seen || t == key;
        if (seen) continue;
        tried.push_back(key);

        std::string why;
        if (tryLoad(c.path, result.plugin, why)) {
            if (!report.empty())
                log(LogLevel::Warning, "SentencePiece plug-in loaded from " + c.path + " after:" + report);
            return result;
        }
        report += "\n  " + c.path + " (" + c.label + "): " + why;
    }
    result.error = "cannot load the SentencePiece plug-in " SPECVLA_SPM_PLUGIN_FILE_NAME
                   " (set SPECVLA_SPM_PLUGIN to its path); tried:" +
                   (report.empty() ? std::string(" nothing") : report);
    return result;
}

// Loaded once per process; C++11 guarantees the static is initialised once even with concurrent callers.
// A failed load is remembered as well: each dlmopen(LM_ID_NEWLM) takes one of glibc's few namespaces.
const Plugin& plugin() {
    static const PluginLoad load = loadPlugin();
    if (!load.error.empty()) throw Error(load.error);
    return load.plugin;
}

// Returns the text the plug-in writes into a growing buffer: call(buf, cap) answers the required length.
template <typename Call>
std::string fetchString(size_t firstGuess, Call call) {
    std::string buf(firstGuess, '\0');
    for (;;) {
        const int64_t n = call(buf.data(), buf.size());
        if (n < 0) return {};
        if (static_cast<size_t>(n) <= buf.size()) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        buf.resize(static_cast<size_t>(n));
    }
}

} // namespace

struct Tokenizer::State {
    const Plugin* plugin = nullptr;
    SpecvlaSpmProcessor* handle = nullptr;
    std::string path;
    int vocabSize = 0;
    int bos = -1;
    int eos = -1;
    int unk = -1;
    int pad = -1;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
        if (handle) plugin->close(handle);
    }

    std::string where() const { return "tokenizer " + path; }
};

Tokenizer::Tokenizer() = default;

Tokenizer::Tokenizer(std::shared_ptr<const State> state) : m_state(std::move(state)) {}

const Tokenizer::State& Tokenizer::state() const {
    if (!m_state) throw Error("tokenizer: no SentencePiece model loaded");
    return *m_state;
}

Tokenizer Tokenizer::load(const std::string& tokenizerModelPath) {
    std::error_code ec;
    if (!std::filesystem::exists(tokenizerModelPath, ec))
        throw Error("tokenizer " + tokenizerModelPath + ": file does not exist");
    if (!std::filesystem::is_regular_file(tokenizerModelPath, ec))
        throw Error("tokenizer " + tokenizerModelPath + ": not a regular file");

    const Plugin& p = plugin();
    auto state = std::make_shared<State>();
    state->plugin = &p;
    state->path = tokenizerModelPath;
    char err[kErrorCapacity] = {0};
    state->handle = p.open(tokenizerModelPath.c_str(), err, sizeof err);
    if (!state->handle)
        throw Error("tokenizer " + tokenizerModelPath + ": not a valid SentencePiece model (" + err + ")");
    state->vocabSize = p.vocabSize(state->handle);
    state->bos = p.specialId(state->handle, SPECVLA_SPM_BOS);
    state->eos = p.specialId(state->handle, SPECVLA_SPM_EOS);
    state->unk = p.specialId(state->handle, SPECVLA_SPM_UNK);
    state->pad = p.specialId(state->handle, SPECVLA_SPM_PAD);
    return Tokenizer(std::move(state));
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
    const State& s = state();
    static_assert(sizeof(int) == sizeof(int32_t), "ids cross the plug-in boundary as int32_t");
    // Every piece covers at least one byte of the normalised text; the dummy prefix adds one.
    std::vector<int> ids(text.size() + 8);
    for (;;) {
        char err[kErrorCapacity] = {0};
        const int64_t n =
            s.plugin->encode(s.handle, text.data(), text.size(), reinterpret_cast<int32_t*>(ids.data()),
                             ids.size(), err, sizeof err);
        if (n < 0) throw Error(s.where() + ": cannot encode text: " + err);
        const bool fitted = static_cast<size_t>(n) <= ids.size();
        ids.resize(static_cast<size_t>(n));
        if (fitted) return ids;
    }
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    const State& s = state();
    char err[kErrorCapacity] = {0};
    bool failed = false;
    std::string text = fetchString(ids.size() * 4 + 16, [&](char* buf, size_t cap) {
        const int64_t n = s.plugin->decode(s.handle, reinterpret_cast<const int32_t*>(ids.data()), ids.size(),
                                           buf, cap, err, sizeof err);
        failed = n < 0;
        return n;
    });
    if (failed) throw Error(s.where() + ": cannot decode ids: " + err);
    return text;
}

int Tokenizer::vocabSize() const {
    return state().vocabSize;
}

int Tokenizer::pieceToId(const std::string& piece) const {
    const State& s = state();
    return s.plugin->pieceToId(s.handle, piece.data(), piece.size());
}

std::string Tokenizer::idToPiece(int id) const {
    const State& s = state();
    if (id < 0 || id >= s.vocabSize)
        throw Error(s.where() + ": id " + std::to_string(id) + " is outside the vocabulary [0, " +
                    std::to_string(s.vocabSize) + ")");
    bool failed = false;
    std::string piece = fetchString(32, [&](char* buf, size_t cap) {
        const int64_t n = s.plugin->idToPiece(s.handle, id, buf, cap);
        failed = n < 0;
        return n;
    });
    if (failed) throw Error(s.where() + ": no piece for id " + std::to_string(id));
    return piece;
}

int Tokenizer::bosId() const {
    return state().bos;
}

int Tokenizer::eosId() const {
    return state().eos;
}

int Tokenizer::unkId() const {
    return state().unk;
}

int Tokenizer::padId() const {
    return state().pad;
}

const std::string& Tokenizer::path() const {
    return state().path;
}

void trainSentencePiece(const std::string& args) {
    const Plugin& p = plugin();
    char err[kErrorCapacity] = {0};
    if (p.train(args.c_str(), err, sizeof err) != 0)
        throw Error(std::string("SentencePiece training failed: ") + err + " (arguments: " + args + ")");
}

std::string sentencePiecePluginPath() {
    return plugin().path;
}

} // namespace specvla::text
