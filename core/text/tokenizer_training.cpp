// SPDX-License-Identifier: MIT
#include "text/tokenizer_training.h"

#include "common/error.h"
#include "io/safetensors_writer.h"
#include "text/prompt.h"
#include "text/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>

namespace specvla::text {
namespace {

// Protocol-buffer wire format, as much as a ModelProto needs: varint keys and lengths, and the four field
// encodings (0 varint, 1 fixed 64 bits, 2 length-delimited, 5 fixed 32 bits).
struct Field {
    std::uint32_t number = 0;
    int wireType = 0;
    std::size_t begin = 0, end = 0;               // the whole field, key included
    std::size_t payloadBegin = 0, payloadEnd = 0; // length-delimited payload
};

std::uint64_t readVarint(const std::string& b, std::size_t& at, const std::string& source) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (at >= b.size()) throw Error(source + ": truncated varint at byte " + std::to_string(at));
        const auto byte = static_cast<std::uint8_t>(b[at++]);
        v |= std::uint64_t(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return v;
    }
    throw Error(source + ": varint longer than 10 bytes at byte " + std::to_string(at));
}

void writeVarint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

std::vector<Field> parseFields(const std::string& b, std::size_t from, std::size_t to,
                               const std::string& source) {
    std::vector<Field> fields;
    std::size_t at = from;
    while (at < to) {
        Field f;
        f.begin = at;
        const std::uint64_t key = readVarint(b, at, source);
        f.number = static_cast<std::uint32_t>(key >> 3);
        f.wireType = static_cast<int>(key & 7);
        switch (f.wireType) {
        case 0:
            readVarint(b, at, source);
            break;
        case 1:
            at += 8;
            break;
        case 5:
            at += 4;
            break;
        case 2: {
            const std::uint64_t n = readVarint(b, at, source);
            if (n > to - std::min(at, to))
                throw Error(source + ": field " + std::to_string(f.number) +
                            " runs past the end of its message");
            f.payloadBegin = at;
            f.payloadEnd = at + n;
            at += n;
            break;
        }
        default:
            throw Error(source + ": unsupported protobuf wire type " + std::to_string(f.wireType) +
                        " at byte " + std::to_string(f.begin));
        }
        if (at > to) throw Error(source + ": field " + std::to_string(f.number) + " runs past the end");
        f.end = at;
        fields.push_back(f);
    }
    return fields;
}

std::string readWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

std::string withoutTrainerPaths(const std::string& modelProto, const std::string& source) {
    constexpr std::uint32_t kTrainerSpec = 2, kInput = 1, kModelPrefix = 2; // sentencepiece_model.proto
    std::string out;
    out.reserve(modelProto.size());
    for (const Field& f : parseFields(modelProto, 0, modelProto.size(), source)) {
        if (f.number != kTrainerSpec || f.wireType != 2) {
            out.append(modelProto, f.begin, f.end - f.begin);
            continue;
        }
        std::string spec;
        for (const Field& g : parseFields(modelProto, f.payloadBegin, f.payloadEnd, source))
            if (!(g.wireType == 2 && (g.number == kInput || g.number == kModelPrefix)))
                spec.append(modelProto, g.begin, g.end - g.begin);
        writeVarint(out, (std::uint64_t(kTrainerSpec) << 3) | 2);
        writeVarint(out, spec.size());
        out += spec;
    }
    return out;
}

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
    const std::string modelPath = modelPrefix + ".model";
    io::writeFileAtomically(modelPath, withoutTrainerPaths(readWholeFile(modelPath), modelPath));
    return modelPath;
}

} // namespace specvla::text
