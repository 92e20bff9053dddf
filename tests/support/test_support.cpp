// SPDX-License-Identifier: MIT
#include "support/test_support.h"

#include "common/error.h"
#include "io/safetensors_writer.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace specvla::testing {

std::string rawSafetensors(const std::string& headerJson, const std::string& data) {
    std::string out(8, '\0');
    const std::uint64_t n = headerJson.size();
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + headerJson + data;
}

void writeBytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

void fillTiny(io::SafetensorsWriter& w) {
    // F32 [2, 3] = 0, 0.5, 1, ... ; BF16 [4] = 1, -2, 0.5, 3 ; I64 [3] = 7, -8, 9 ; U8 [5] = 0..4
    float f[6];
    for (int i = 0; i < 6; ++i)
        f[i] = 0.5f * static_cast<float>(i);
    w.add("language_model.model.norm.weight", io::DType::F32, {2, 3}, f, sizeof f);
    const std::uint16_t bf[4] = {0x3f80, 0xc000, 0x3f00, 0x4040};
    w.add("projector.fc1.bias", io::DType::BF16, {4}, bf, sizeof bf);
    const std::int64_t l[3] = {7, -8, 9};
    w.add("vision_backbone.featurizer.reg_token", io::DType::I64, {3}, l, sizeof l);
    const std::uint8_t u[5] = {0, 1, 2, 3, 4};
    w.add("language_model.lm_head.weight", io::DType::U8, {5}, u, sizeof u);
}

std::vector<std::string> tinyNames() {
    return {"language_model.lm_head.weight", "language_model.model.norm.weight", "projector.fc1.bias",
            "vision_backbone.featurizer.reg_token"};
}

} // namespace

std::vector<std::string> writeTinyCheckpoint(const std::string& path) {
    io::SafetensorsWriter w;
    fillTiny(w);
    w.writeFile(path);
    return tinyNames();
}

std::vector<std::string> writeTinyShardedCheckpoint(const std::string& dir) {
    io::SafetensorsWriter w;
    fillTiny(w);
    w.writeSharded(dir, 24); // 24, 8, 24 and 5 bytes: four shards
    return tinyNames();
}

std::vector<CorruptCase> corruptSafetensorsCases() {
    const std::string eight(8, '\x01');
    return {
        {"truncated", std::string("\x10\x00\x00", 3), "truncated file"},
        {"header_past_end", std::string("\xe8\x03\x00\x00\x00\x00\x00\x00", 8) + "{}",
         "runs past the end of the file"},
        {"header_too_large", std::string("\xff\xff\xff\xff\xff\xff\x00\x00", 8) + "{}",
         "exceeds the format's limit"},
        {"invalid_json", rawSafetensors("{\"w\": {\"dtype\": ", ""), "invalid header JSON"},
        {"not_an_object", rawSafetensors("[1, 2, 3]", ""), "invalid header JSON"},
        {"unknown_dtype", rawSafetensors(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", "ab"),
         "unknown dtype 'Q4'"},
        {"missing_shape", rawSafetensors(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"),
         "missing array field 'shape'"},
        {"offsets_out_of_range",
         rawSafetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight),
         "run past the end of the data section"},
        {"offsets_reversed",
         rawSafetensors(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", eight),
         "end before they begin"},
        {"overlapping",
         rawSafetensors(
             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             eight + eight),
         "overlap"},
        {"byte_count_mismatch",
         rawSafetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "needs 12"},
        {"lying_shape",
         rawSafetensors(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                        eight),
         "too large"},
    };
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

std::string binDir() {
    if (const char* d = std::getenv("SPECVLA_BIN_DIR"); d && *d) return d;
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string p(buf, static_cast<std::size_t>(n));
    return p.substr(0, p.rfind('/'));
}

} // namespace specvla::testing
