// SPDX-License-Identifier: MIT
#include "io/tensor_view.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace specvla::io {
namespace {

float decodeF8E4M3(std::uint8_t b) {
    // E4M3 "fn": bias 7, no infinities, S.1111.111 is NaN.
    const int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 0x7;
    float v;
    if (exp == 0xF && man == 0x7)
        v = std::numeric_limits<float>::quiet_NaN();
    else if (exp == 0)
        v = std::ldexp(static_cast<float>(man) / 8.0f, -6);
    else
        v = std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
    return sign ? -v : v;
}

float decodeF8E5M2(std::uint8_t b) {
    // E5M2: bias 15, IEEE-style infinities and NaNs.
    const int sign = b >> 7, exp = (b >> 2) & 0x1F, man = b & 0x3;
    float v;
    if (exp == 0x1F)
        v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    else if (exp == 0)
        v = std::ldexp(static_cast<float>(man) / 4.0f, -14);
    else
        v = std::ldexp(1.0f + static_cast<float>(man) / 4.0f, exp - 15);
    return sign ? -v : v;
}

template <typename Src, typename Dst>
at::Tensor widen(const std::byte* p, const TensorInfo& t, c10::ScalarType out) {
    at::Tensor r = at::empty(t.shape, at::TensorOptions().dtype(out));
    Dst* d = r.data_ptr<Dst>();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) {
        Src s;
        std::memcpy(&s, p + i * sizeof(Src), sizeof(Src));
        d[i] = static_cast<Dst>(s);
    }
    return r;
}

} // namespace

bool hasTorchDType(DType dtype) {
    switch (dtype) {
    case DType::U16:
    case DType::U32:
    case DType::U64:
    case DType::F8_E4M3:
    case DType::F8_E5M2:
        return false;
    default:
        return true;
    }
}

c10::ScalarType toScalarType(DType dtype) {
    switch (dtype) {
    case DType::Bool:
        return at::kBool;
    case DType::U8:
        return at::kByte;
    case DType::I8:
        return at::kChar;
    case DType::I16:
        return at::kShort;
    case DType::F16:
        return at::kHalf;
    case DType::BF16:
        return at::kBFloat16;
    case DType::I32:
        return at::kInt;
    case DType::F32:
        return at::kFloat;
    case DType::F64:
        return at::kDouble;
    case DType::I64:
        return at::kLong;
    default:
        break;
    }
    throw Error(std::string("dtype ") + dtypeName(dtype) + " has no libtorch equivalent");
}

DType fromScalarType(c10::ScalarType type) {
    switch (type) {
    case at::kBool:
        return DType::Bool;
    case at::kByte:
        return DType::U8;
    case at::kChar:
        return DType::I8;
    case at::kShort:
        return DType::I16;
    case at::kHalf:
        return DType::F16;
    case at::kBFloat16:
        return DType::BF16;
    case at::kInt:
        return DType::I32;
    case at::kFloat:
        return DType::F32;
    case at::kDouble:
        return DType::F64;
    case at::kLong:
        return DType::I64;
    default:
        break;
    }
    throw Error(std::string("torch dtype ") + c10::toString(type) + " cannot be stored in safetensors");
}

bool isZeroCopy(const SafetensorsFile& file, const TensorInfo& info) {
    if (!hasTorchDType(info.dtype) || info.byteSize() == 0) return false;
    const auto addr = reinterpret_cast<std::uintptr_t>(file.data(info));
    return addr % dtypeSize(info.dtype) == 0;
}

at::Tensor tensorView(const SafetensorsFile& file, const TensorInfo& info) {
    const std::byte* p = file.data(info);
    if (info.byteSize() == 0)
        return at::empty(info.shape, at::TensorOptions().dtype(
                                         hasTorchDType(info.dtype) ? toScalarType(info.dtype) : at::kFloat));
    switch (info.dtype) {
    case DType::U16:
        return widen<std::uint16_t, std::int32_t>(p, info, at::kInt);
    case DType::U32:
        return widen<std::uint32_t, std::int64_t>(p, info, at::kLong);
    case DType::U64: {
        const std::int64_t n = info.numel();
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint64_t v;
            std::memcpy(&v, p + i * 8, 8);
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                throw Error(file.path() + ": tensor '" + info.name + "': U64 value " + std::to_string(v) +
                            " at element " + std::to_string(i) + " does not fit int64");
        }
        return widen<std::uint64_t, std::int64_t>(p, info, at::kLong);
    }
    case DType::F8_E4M3:
    case DType::F8_E5M2: {
        at::Tensor r = at::empty(info.shape, at::TensorOptions().dtype(at::kFloat));
        float* d = r.data_ptr<float>();
        const auto* b = reinterpret_cast<const std::uint8_t*>(p);
        const bool e4 = info.dtype == DType::F8_E4M3;
        for (std::int64_t i = 0, n = info.numel(); i < n; ++i)
            d[i] = e4 ? decodeF8E4M3(b[i]) : decodeF8E5M2(b[i]);
        return r;
    }
    default:
        break;
    }
    const auto opts = at::TensorOptions().dtype(toScalarType(info.dtype));
    if (!isZeroCopy(file, info)) { // misaligned data: copy into an owned, aligned tensor
        at::Tensor r = at::empty(info.shape, opts);
        std::memcpy(r.data_ptr(), p, info.byteSize());
        return r;
    }
    // The deleter holds the mapping, so the view outlives the SafetensorsFile it came from.
    std::shared_ptr<const MappedFile> keep = file.mapping();
    return at::from_blob(
        const_cast<std::byte*>(p), info.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

at::Tensor tensorView(const Checkpoint& checkpoint, const std::string& name) {
    const CheckpointEntry& e = checkpoint.at(name);
    return tensorView(checkpoint.shard(e.shard), e.info);
}

void addTensor(SafetensorsWriter& writer, const std::string& name, const at::Tensor& tensor) {
    const at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const DType dtype = fromScalarType(t.scalar_type());
    writer.add(name, dtype, t.sizes().vec(), t.data_ptr(), static_cast<std::size_t>(t.nbytes()));
}

} // namespace specvla::io
