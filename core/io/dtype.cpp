// SPDX-License-Identifier: MIT
#include "io/dtype.h"

#include <array>
#include <cstring>

namespace specvla::io {
namespace {
struct DTypeRow {
    DType dtype;
    const char* name;
    std::size_t size;
};
constexpr std::array<DTypeRow, 15> kRows{{
    {DType::Bool, "BOOL", 1},
    {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},
    {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
}};

const DTypeRow& row(DType d) {
    for (const auto& r : kRows)
        if (r.dtype == d) return r;
    return kRows[0];
}
} // namespace

std::size_t dtypeSize(DType dtype) {
    return row(dtype).size;
}
const char* dtypeName(DType dtype) {
    return row(dtype).name;
}

std::optional<DType> parseDType(std::string_view name) {
    for (const auto& r : kRows)
        if (name == r.name) return r.dtype;
    return std::nullopt;
}

const char* knownDTypeNames() {
    return "BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64";
}

} // namespace specvla::io
