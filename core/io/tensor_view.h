// SPDX-License-Identifier: MIT
#pragma once

// The torch side of core/io. Include only from .cpp files that already use torch.
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"

#include <ATen/core/Tensor.h>

namespace specvla::io {

// True when the dtype has a libtorch 1.13 equivalent, so a view can share the mapped bytes.
bool hasTorchDType(DType dtype);
c10::ScalarType toScalarType(DType dtype);  // throws Error for U16/U32/U64/F8 types
DType fromScalarType(c10::ScalarType type); // throws Error for types safetensors cannot hold

// A CPU tensor over the mapped bytes, without a copy, when the dtype has a torch equivalent and the data is
// aligned; the view keeps the mapping alive. Otherwise an owned copy: U16 -> int32, U32 and U64 -> int64 (U64
// values above INT64_MAX are an error), F8_E4M3 / F8_E5M2 -> float32. The view is read-only memory: clone()
// before writing to it.
at::Tensor tensorView(const SafetensorsFile& file, const TensorInfo& info);
at::Tensor tensorView(const Checkpoint& checkpoint, const std::string& name);
bool isZeroCopy(const SafetensorsFile& file, const TensorInfo& info);

// Adds a (contiguous copy of a) CPU or CUDA tensor to a writer.
void addTensor(SafetensorsWriter& writer, const std::string& name, const at::Tensor& tensor);

} // namespace specvla::io
