// SPDX-License-Identifier: MIT
#pragma once

// The C ABI between specvla_core and the SentencePiece plug-in (libspecvla_spm.so).
//
// The plug-in is loaded with dlmopen(LM_ID_NEWLM) into its own link namespace, which has its own copies of
// libc, libstdc++ and SentencePiece's bundled protobuf. Hence the rules for everything below:
//   - only plain C types cross the boundary (no std::string, no C++ exceptions, no FILE*);
//   - memory is never handed over: the caller owns every buffer it passes, the plug-in owns its handles
//     and frees them itself in specvla_spm_close;
//   - every function catches all exceptions inside the plug-in and reports failure through its return value
//     and, where there is one, a caller-provided error buffer (always NUL-terminated when errcap > 0).
// Text is passed as (pointer, byte length), so embedded NUL bytes survive.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped whenever a signature below changes; the loader refuses a plug-in with another version.
#define SPECVLA_SPM_API_VERSION 1

// Opaque processor handle owned by the plug-in.
typedef struct SpecvlaSpmProcessor SpecvlaSpmProcessor;

// Which special id specvla_spm_special_id returns. The value is -1 when the model defines none.
enum SpecvlaSpmSpecial { SPECVLA_SPM_UNK = 0, SPECVLA_SPM_BOS = 1, SPECVLA_SPM_EOS = 2, SPECVLA_SPM_PAD = 3 };

// SPECVLA_SPM_API_VERSION of the plug-in.
typedef int (*SpecvlaSpmApiVersionFn)(void);

// Loads a SentencePiece model file. Returns NULL and writes the reason to err on failure.
typedef SpecvlaSpmProcessor* (*SpecvlaSpmOpenFn)(const char* path, char* err, size_t errcap);

// Frees a handle from specvla_spm_open (NULL is ignored).
typedef void (*SpecvlaSpmCloseFn)(SpecvlaSpmProcessor* handle);

// Encodes len bytes of UTF-8 text into ids (no BOS/EOS). Returns the number of ids the text needs; the ids
// are written only when that number is <= cap, otherwise the caller retries with a larger buffer.
// Returns -1 on failure (reason in err). Safe to call concurrently on one handle.
typedef int64_t (*SpecvlaSpmEncodeFn)(const SpecvlaSpmProcessor* handle, const char* text, size_t len,
                                      int32_t* ids, size_t cap, char* err, size_t errcap);

// Decodes n ids into UTF-8 text (control ids such as BOS/EOS decode to nothing). Returns the byte length of
// the text; the bytes (no terminating NUL) are written only when that length is <= cap. Returns -1 on
// failure, e.g. an id outside [0, vocab size) (reason in err).
typedef int64_t (*SpecvlaSpmDecodeFn)(const SpecvlaSpmProcessor* handle, const int32_t* ids, size_t n,
                                      char* out, size_t cap, char* err, size_t errcap);

// Number of pieces (ids run from 0 to this minus 1).
typedef int32_t (*SpecvlaSpmVocabSizeFn)(const SpecvlaSpmProcessor* handle);

// Id of a piece, or -1 when the model has no such piece (unlike SentencePiece, which answers unk_id).
typedef int32_t (*SpecvlaSpmPieceToIdFn)(const SpecvlaSpmProcessor* handle, const char* piece, size_t len);

// The piece of an id: returns its byte length and writes it (no NUL) when it fits in cap; -1 when the id
// is out of range.
typedef int64_t (*SpecvlaSpmIdToPieceFn)(const SpecvlaSpmProcessor* handle, int32_t id, char* out,
                                         size_t cap);

// One of the special ids (enum SpecvlaSpmSpecial), -1 when undefined.
typedef int32_t (*SpecvlaSpmSpecialIdFn)(const SpecvlaSpmProcessor* handle, int32_t which);

// Runs SentencePieceTrainer::Train with a command-line style argument string
// ("--input=... --model_prefix=... --vocab_size=..."). Returns 0 on success, -1 on failure (reason in err).
typedef int32_t (*SpecvlaSpmTrainFn)(const char* args, char* err, size_t errcap);

#ifdef __cplusplus
} // extern "C"
#endif

// The exported symbol names, looked up with dlsym().
#define SPECVLA_SPM_SYM_API_VERSION "specvla_spm_api_version"
#define SPECVLA_SPM_SYM_OPEN "specvla_spm_open"
#define SPECVLA_SPM_SYM_CLOSE "specvla_spm_close"
#define SPECVLA_SPM_SYM_ENCODE "specvla_spm_encode"
#define SPECVLA_SPM_SYM_DECODE "specvla_spm_decode"
#define SPECVLA_SPM_SYM_VOCAB_SIZE "specvla_spm_vocab_size"
#define SPECVLA_SPM_SYM_PIECE_TO_ID "specvla_spm_piece_to_id"
#define SPECVLA_SPM_SYM_ID_TO_PIECE "specvla_spm_id_to_piece"
#define SPECVLA_SPM_SYM_SPECIAL_ID "specvla_spm_special_id"
#define SPECVLA_SPM_SYM_TRAIN "specvla_spm_train"

// The plug-in's file name, looked up beside the executable and in ../lib.
#define SPECVLA_SPM_PLUGIN_FILE_NAME "libspecvla_spm.so"
