// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace specvla::text {

// A SentencePiece tokenizer (e.g. the Llama-2 tokenizer.model shipped with OpenVLA checkpoints).
//
// A cheap-to-copy value: copies share one loaded model, which is freed with the last copy. All methods are
// const and safe to call from several threads at once (SentencePiece's encode/decode are const).
// The work happens in the SentencePiece plug-in (libspecvla_spm.so), loaded once per process on first use;
// see sentencePiecePluginPath().
class Tokenizer {
public:
    // An empty tokenizer: isLoaded() is false and every other query throws specvla::Error.
    Tokenizer();

    // Loads a SentencePiece model file. Throws specvla::Error naming the file when it is missing or not a
    // valid model, or when the plug-in cannot be loaded.
    static Tokenizer load(const std::string& tokenizerModelPath);

    bool isLoaded() const { return m_state != nullptr; }

    // Plain SentencePiece encoding: no BOS/EOS added; a dummy-prefix "▁" as the model's normaliser says.
    std::vector<int> encode(const std::string& text) const;
    // Control ids (BOS, EOS, ...) decode to nothing. Throws Error for an id outside [0, vocabSize()).
    std::string decode(const std::vector<int>& ids) const;

    int vocabSize() const;
    // The id of a piece (e.g. "\xE2\x96\x81" for the lone "▁"), or -1 when the model has no such piece.
    // Unlike SentencePiece's PieceToId, an unknown piece does not answer unkId().
    int pieceToId(const std::string& piece) const;
    // The piece of an id; throws Error for an id outside [0, vocabSize()).
    std::string idToPiece(int id) const;

    // Special ids as the model defines them; -1 when it defines none (the Llama-2 model has no pad piece:
    // OpenVLA's <PAD> = 32000 is added by Hugging Face on top of it).
    int bosId() const;
    int eosId() const;
    int unkId() const;
    int padId() const;

    // The model file it was loaded from.
    const std::string& path() const;

private:
    struct State;
    explicit Tokenizer(std::shared_ptr<const State> state);
    const State& state() const;

    std::shared_ptr<const State> m_state;
};

// Trains a SentencePiece model with SentencePieceTrainer's command-line style arguments, e.g.
// "--input=corpus.txt --model_prefix=/tmp/m --vocab_size=400 --model_type=unigram" (arguments are split at
// whitespace, so paths must not contain spaces). Throws specvla::Error with the trainer's message.
// Note: some internal checks of the trainer abort the process instead of reporting an error; it is meant
// for tools and tests, not for user input.
void trainSentencePiece(const std::string& args);

// The file the SentencePiece plug-in was loaded from, loading it if needed. Throws specvla::Error naming
// every location tried. Lookup order: $SPECVLA_SPM_PLUGIN; libspecvla_spm.so beside the running executable;
// ../lib/libspecvla_spm.so relative to it; the build tree's copy.
std::string sentencePiecePluginPath();

} // namespace specvla::text
