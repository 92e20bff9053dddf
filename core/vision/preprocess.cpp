// SPDX-License-Identifier: MIT
// OpenVLA's image preprocessing. The LIBERO eval path (openvla experiments/robot: libero_utils.py and
// openvla_utils.py) runs, in order: img[::-1, ::-1]; tf.image.encode_jpeg + decode; tf.image.resize lanczos3
// antialias to 224 with tf.round + clip + cast; convert_image_dtype to [0, 1], crop_and_resize of the
// central 0.9 area back to 224, clip, convert_image_dtype(uint8, saturate=True); then PIL RGB into the HF
// processor (torchvision resize bicubic, to_tensor, normalize; DINO then SigLIP).
#include "vision/preprocess.h"

#include "common/error.h"
#include "vision/resample.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace specvla::vision {
namespace {

void requireValid(const char* where, const RgbImage& img) {
    if (!img.valid()) {
        throw Error(std::string("vision/preprocess: ") + where + ": input image is empty or its buffer (" +
                    std::to_string(img.pixels.size()) + " bytes) does not match width x height x 3 (" +
                    std::to_string(img.width) + " x " + std::to_string(img.height) + " x 3)");
    }
}

} // namespace

RgbImage fromBuffer(int width, int height, const std::uint8_t* data) {
    if (width <= 0 || height <= 0) {
        throw Error("vision/preprocess: fromBuffer: width and height must be positive, got " +
                    std::to_string(width) + " x " + std::to_string(height));
    }
    if (data == nullptr) throw Error("vision/preprocess: fromBuffer: data is null");
    RgbImage out = RgbImage::blank(width, height);
    std::memcpy(out.pixels.data(), data, out.pixels.size());
    return out;
}

RgbImage rotate180(const RgbImage& img) {
    requireValid("rotate180", img);
    RgbImage out = RgbImage::blank(img.width, img.height);
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            for (int c = 0; c < RgbImage::kChannels; ++c) {
                out.at(img.width - 1 - x, img.height - 1 - y, c) = img.at(x, y, c);
            }
        }
    }
    return out;
}

RgbImage resizeTf(const RgbImage& img, int width, int height) {
    requireValid("resizeTf", img);
    return roundToUint8(resizeLanczos3(toFloat(img), width, height));
}

RgbImage centerCropTf(const RgbImage& img, double cropArea, int outWidth, int outHeight) {
    requireValid("centerCropTf", img);
    if (!(cropArea > 0.0 && cropArea <= 1.0)) {
        throw Error("vision/preprocess: cropArea must be in (0, 1], got " + std::to_string(cropArea));
    }
    // crop_and_resize() in openvla_utils.py: tf.sqrt of the float32 crop scale, clipped to [0, 1]; the
    // offsets and the far corner are float32 too.
    const float side = std::clamp(std::sqrt(static_cast<float>(cropArea)), 0.0f, 1.0f);
    const float offset = (1.0f - side) / 2.0f;
    const std::array<float, 4> box{offset, offset, offset + side, offset + side};
    const FloatImage cropped = cropAndResizeBilinear(toUnitFloat(img), box, outHeight, outWidth, 0.0f);
    return unitFloatToUint8(cropped);
}

RgbImage prepareImage(const RgbImage& img, const PreprocessOptions& options) {
    requireValid("prepareImage", img);
    RgbImage out = options.flip180 ? rotate180(img) : img;
    if (options.jpegRoundTrip) out = jpegRoundTrip(out, options.jpegQuality);
    if (options.resizeTo > 0) out = resizeTf(out, options.resizeTo, options.resizeTo);
    if (options.centerCrop) {
        const int w = options.resizeTo > 0 ? options.resizeTo : out.width;
        const int h = options.resizeTo > 0 ? options.resizeTo : out.height;
        out = centerCropTf(out, options.cropArea, w, h);
    }
    return out;
}

at::Tensor pixelValues(const RgbImage& img, const std::array<double, 3>& meanA,
                       const std::array<double, 3>& stdA, const std::array<double, 3>& meanB,
                       const std::array<double, 3>& stdB, int size) {
    requireValid("pixelValues", img);
    if (size <= 0)
        throw Error("vision/preprocess: pixelValues: size must be positive, got " + std::to_string(size));
    for (int c = 0; c < 3; ++c) {
        if (!(std::abs(stdA[static_cast<std::size_t>(c)]) > 0.0) ||
            !(std::abs(stdB[static_cast<std::size_t>(c)]) > 0.0)) {
            throw Error("vision/preprocess: pixelValues: std must be non-zero (channel " + std::to_string(c) +
                        ")");
        }
    }
    // torchvision's resize on a PIL image is PIL's resize, which returns a copy when the size is unchanged.
    const RgbImage sized =
        (img.width == size && img.height == size) ? img : resizeBicubicPil(img, size, size);

    at::Tensor out = at::empty({1, 6, size, size}, at::TensorOptions().dtype(at::kFloat));
    float* dst = out.data_ptr<float>();
    const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
    for (int c = 0; c < 3; ++c) {
        // to_tensor divides by 255 and normalize subtracts and divides, all in float32.
        const auto ci = static_cast<std::size_t>(c);
        const float mA = static_cast<float>(meanA[ci]), sA = static_cast<float>(stdA[ci]);
        const float mB = static_cast<float>(meanB[ci]), sB = static_cast<float>(stdB[ci]);
        float* planeA = dst + ci * plane;
        float* planeB = dst + (ci + 3) * plane;
        for (int y = 0; y < size; ++y) {
            for (int x = 0; x < size; ++x) {
                const float v = static_cast<float>(sized.at(x, y, c)) / 255.0f;
                const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(size) +
                                      static_cast<std::size_t>(x);
                planeA[i] = (v - mA) / sA;
                planeB[i] = (v - mB) / sB;
            }
        }
    }
    return out;
}

} // namespace specvla::vision
