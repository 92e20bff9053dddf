// SPDX-License-Identifier: MIT
//
// libspecvla_spm.so: the only code that links libsentencepiece. Loaded by text/tokenizer.cpp with
// dlmopen(LM_ID_NEWLM) so that SentencePiece's bundled protobuf never meets libtorch's (toolchain.md
// section 3). Built with hidden visibility; only the extern "C" functions below are exported. See
// spm_plugin_api.h for the rules of the boundary.

#include "spm_plugin_api.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#define SPECVLA_SPM_EXPORT extern "C" __attribute__((visibility("default")))

struct SpecvlaSpmProcessor {
    sentencepiece::SentencePieceProcessor sp;
};

namespace {

void writeError(char* err, size_t errcap, const char* message) {
    if (!err || errcap == 0) return;
    const size_t n = std::min(std::strlen(message), errcap - 1);
    std::memcpy(err, message, n);
    err[n] = '\0';
}

void writeError(char* err, size_t errcap, const std::string& message) {
    writeError(err, errcap, message.c_str());
}

void writeCurrentException(char* err, size_t errcap) {
    try {
        throw;
    } catch (const std::exception& e) {
        writeError(err, errcap, std::string("SentencePiece: ") + e.what());
    } catch (...) {
        writeError(err, errcap, "SentencePiece: unknown exception");
    }
}

bool validId(const SpecvlaSpmProcessor* handle, int32_t id) {
    return id >= 0 && id < handle->sp.GetPieceSize();
}

} // namespace

SPECVLA_SPM_EXPORT int specvla_spm_api_version(void) {
    return SPECVLA_SPM_API_VERSION;
}

SPECVLA_SPM_EXPORT SpecvlaSpmProcessor* specvla_spm_open(const char* path, char* err, size_t errcap) {
    try {
        if (!path) {
            writeError(err, errcap, "no path given");
            return nullptr;
        }
        auto handle = std::make_unique<SpecvlaSpmProcessor>();
        const sentencepiece::util::Status status = handle->sp.Load(path);
        if (!status.ok()) {
            writeError(err, errcap, status.ToString());
            return nullptr;
        }
        if (handle->sp.GetPieceSize() <= 0) {
            writeError(err, errcap, "the model has no pieces");
            return nullptr;
        }
        return handle.release();
    } catch (...) {
        writeCurrentException(err, errcap);
        return nullptr;
    }
}

SPECVLA_SPM_EXPORT void specvla_spm_close(SpecvlaSpmProcessor* handle) {
    try {
        delete handle;
    } catch (...) {
    }
}

SPECVLA_SPM_EXPORT int64_t specvla_spm_encode(const SpecvlaSpmProcessor* handle, const char* text, size_t len,
                                              int32_t* ids, size_t cap, char* err, size_t errcap) {
    try {
        if (!handle || (!text && len > 0)) {
            writeError(err, errcap, "invalid argument");
            return -1;
        }
        std::vector<int> out;
        const sentencepiece::util::Status status =
            handle->sp.Encode(std::string_view(text ? text : "", len), &out);
        if (!status.ok()) {
            writeError(err, errcap, status.ToString());
            return -1;
        }
        if (out.size() <= cap && ids) {
            for (size_t i = 0; i < out.size(); ++i)
                ids[i] = static_cast<int32_t>(out[i]);
        }
        return static_cast<int64_t>(out.size());
    } catch (...) {
        writeCurrentException(err, errcap);
        return -1;
    }
}

SPECVLA_SPM_EXPORT int64_t specvla_spm_decode(const SpecvlaSpmProcessor* handle, const int32_t* ids, size_t n,
                                              char* out, size_t cap, char* err, size_t errcap) {
    try {
        if (!handle || (!ids && n > 0)) {
            writeError(err, errcap, "invalid argument");
            return -1;
        }
        std::vector<int> in(n);
        for (size_t i = 0; i < n; ++i) {
            // SentencePiece indexes its piece table without a range check in some paths.
            if (!validId(handle, ids[i])) {
                writeError(err, errcap,
                           "id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                               " is outside the vocabulary [0, " + std::to_string(handle->sp.GetPieceSize()) +
                               ")");
                return -1;
            }
            in[i] = ids[i];
        }
        std::string text;
        const sentencepiece::util::Status status = handle->sp.Decode(in, &text);
        if (!status.ok()) {
            writeError(err, errcap, status.ToString());
            return -1;
        }
        if (text.size() <= cap && out) std::memcpy(out, text.data(), text.size());
        return static_cast<int64_t>(text.size());
    } catch (...) {
        writeCurrentException(err, errcap);
        return -1;
    }
}

SPECVLA_SPM_EXPORT int32_t specvla_spm_vocab_size(const SpecvlaSpmProcessor* handle) {
    try {
        return handle ? handle->sp.GetPieceSize() : 0;
    } catch (...) {
        return 0;
    }
}

SPECVLA_SPM_EXPORT int32_t specvla_spm_piece_to_id(const SpecvlaSpmProcessor* handle, const char* piece,
                                                   size_t len) {
    try {
        if (!handle || (!piece && len > 0)) return -1;
        const std::string_view wanted(piece ? piece : "", len);
        const int id = handle->sp.PieceToId(wanted);
        // SentencePiece answers unk_id for pieces it does not know; only the unknown piece itself maps there.
        if (!validId(handle, id)) return -1;
        if (handle->sp.IdToPiece(id) != wanted) return -1;
        return id;
    } catch (...) {
        return -1;
    }
}

SPECVLA_SPM_EXPORT int64_t specvla_spm_id_to_piece(const SpecvlaSpmProcessor* handle, int32_t id, char* out,
                                                   size_t cap) {
    try {
        if (!handle || !validId(handle, id)) return -1;
        const std::string& piece = handle->sp.IdToPiece(id);
        if (piece.size() <= cap && out) std::memcpy(out, piece.data(), piece.size());
        return static_cast<int64_t>(piece.size());
    } catch (...) {
        return -1;
    }
}

SPECVLA_SPM_EXPORT int32_t specvla_spm_special_id(const SpecvlaSpmProcessor* handle, int32_t which) {
    try {
        if (!handle) return -1;
        switch (which) {
        case SPECVLA_SPM_UNK:
            return handle->sp.unk_id();
        case SPECVLA_SPM_BOS:
            return handle->sp.bos_id();
        case SPECVLA_SPM_EOS:
            return handle->sp.eos_id();
        case SPECVLA_SPM_PAD:
            return handle->sp.pad_id();
        default:
            return -1;
        }
    } catch (...) {
        return -1;
    }
}

SPECVLA_SPM_EXPORT int32_t specvla_spm_train(const char* args, char* err, size_t errcap) {
    try {
        if (!args) {
            writeError(err, errcap, "no arguments given");
            return -1;
        }
        const sentencepiece::util::Status status = sentencepiece::SentencePieceTrainer::Train(args);
        if (!status.ok()) {
            writeError(err, errcap, status.ToString());
            return -1;
        }
        return 0;
    } catch (...) {
        writeCurrentException(err, errcap);
        return -1;
    }
}

// The definitions must match the typedefs the loader casts dlsym() results to.
static_assert(std::is_same<decltype(&specvla_spm_api_version), SpecvlaSpmApiVersionFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_open), SpecvlaSpmOpenFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_close), SpecvlaSpmCloseFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_encode), SpecvlaSpmEncodeFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_decode), SpecvlaSpmDecodeFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_vocab_size), SpecvlaSpmVocabSizeFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_piece_to_id), SpecvlaSpmPieceToIdFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_id_to_piece), SpecvlaSpmIdToPieceFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_special_id), SpecvlaSpmSpecialIdFn>::value, "ABI");
static_assert(std::is_same<decltype(&specvla_spm_train), SpecvlaSpmTrainFn>::value, "ABI");
