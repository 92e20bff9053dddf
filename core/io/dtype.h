// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace specvla::io {

// Every element type of the safetensors format.
enum class DType { Bool, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

std::size_t dtypeSize(DType dtype);
const char* dtypeName(DType dtype);                     // the format's spelling, e.g. "BF16"
std::optional<DType> parseDType(std::string_view name); // nullopt for names the format does not define
const char* knownDTypeNames();                          // "BOOL, U8, ..." for error messages

} // namespace specvla::io
