// SPDX-License-Identifier: MIT
#include "text/tokenizer_training.h"

#include "common/error.h"
#include "io/safetensors_writer.h"
#include "text/prompt.h"
#include "text/tokenizer.h"

#include <cstdio>

namespace specvla::text {

std::string trainInstructionTokenizer(const std::string& modelPrefix,
                                      const std::vector<std::string>& instructions, int vocabSize) {
    if (modelPrefix.find(' ') != std::string::npos)
        throw Error(modelPrefix + ": the SentencePiece trainer cannot take paths with spaces");
    std::string corpus;
    for (const auto& i : instructions) {
        corpus += i + "\n";
        corpus += buildPromptText(i, PromptStyle::OpenVlaV1) + "\n";
    }
    corpus += "Out: \n";
    const std::string corpusPath = modelPrefix + ".corpus.txt";
    io::writeFileAtomically(corpusPath, corpus);
    try {
        trainSentencePiece("--input=" + corpusPath + " --model_prefix=" + modelPrefix +
                           " --model_type=unigram --vocab_size=" + std::to_string(vocabSize) +
                           " --byte_fallback=true --character_coverage=1.0 --normalization_rule_name=identity"
                           " --remove_extra_whitespaces=false --split_digits=true --add_dummy_prefix=true"
                           " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --num_threads=1 --minloglevel=2"
                           " --hard_vocab_limit=false");
    } catch (...) {
        std::remove(corpusPath.c_str());
        throw;
    }
    std::remove(corpusPath.c_str());
    std::remove((modelPrefix + ".vocab").c_str());
    return modelPrefix + ".model";
}

} // namespace specvla::text
