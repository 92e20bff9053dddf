// SPDX-License-Identifier: MIT
#pragma once

// OpenVLA's image path (reference/specvla-openvla.md section 2.3): the LIBERO eval steps (rotate 180, JPEG
// round trip, TF lanczos3 resize, TF centre crop) and the Hugging Face processor step (PIL bicubic resize,
// /255, per-backbone normalisation, DINO then SigLIP on channels).
#include "vision/image.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace specvla::vision {

// timm data configs of the two backbones (reference section 2.3; check a real preprocessor_config.json).
constexpr std::array<double, 3> kDinoMean{0.485, 0.456, 0.406};
constexpr std::array<double, 3> kDinoStd{0.229, 0.224, 0.225};
constexpr std::array<double, 3> kSiglipMean{0.5, 0.5, 0.5};
constexpr std::array<double, 3> kSiglipStd{0.5, 0.5, 0.5};

struct PreprocessOptions {
    bool flip180 = false;       // img[::-1, ::-1]
    bool jpegRoundTrip = false; // encode to JPEG and decode back, as the RLDS dataset builder did
    int jpegQuality = 95;       // tf.image.encode_jpeg's default
    int resizeTo = 224;         // TF lanczos3 antialias resize to resizeTo x resizeTo; <= 0 keeps the size
    bool centerCrop = false;    // TF crop_and_resize of the central cropArea of the image, back to full size
    double cropArea = 0.9;      // fraction of the area kept; the side is sqrt(cropArea)

    // OpenVLA's LIBERO eval: rotate, JPEG, resize to 224, centre crop 0.9.
    static PreprocessOptions libero() {
        PreprocessOptions o;
        o.flip180 = true;
        o.jpegRoundTrip = true;
        o.resizeTo = 224;
        o.centerCrop = true;
        return o;
    }
    // Nothing before the HF processor: pixelValues() does the only (PIL bicubic) resize.
    static PreprocessOptions plainImage() {
        PreprocessOptions o;
        o.resizeTo = 0;
        return o;
    }
};

// Reads an image file with OpenCV (8-bit, colour, EXIF orientation ignored as PIL's Image.open does) and
// returns it as RGB. Throws specvla::Error naming the path if the file is missing or not a readable image.
RgbImage loadImage(const std::string& path);

// Copies width * height * 3 bytes of row-major interleaved RGB from data.
RgbImage fromBuffer(int width, int height, const std::uint8_t* data);

// img[::-1, ::-1]: pixel (x, y) moves to (W-1-x, H-1-y).
RgbImage rotate180(const RgbImage& img);

// tf.image.encode_jpeg(img, quality) then decode, done with OpenCV's libjpeg (see preprocess.cpp for the
// remaining differences from TF's decoder). quality must be in [0, 100].
RgbImage jpegRoundTrip(const RgbImage& img, int quality);

// tf.image.resize(img, [height, width], "lanczos3", antialias=True), then tf.round, clip to [0, 255], uint8.
RgbImage resizeTf(const RgbImage& img, int width, int height);

// OpenVLA's centre crop: to float in [0, 1], tf.image.crop_and_resize with box [o, o, o + s, o + s],
// s = sqrt(cropArea), o = (1 - s) / 2 (all float32), bilinear, to outWidth x outHeight, clip to [0, 1],
// convert_image_dtype(uint8, saturate=True) (which truncates x * 255.5).
RgbImage centerCropTf(const RgbImage& img, double cropArea, int outWidth, int outHeight);

// The LIBERO eval path in order: rotate 180, JPEG round trip, TF resize, centre crop (each when enabled).
RgbImage prepareImage(const RgbImage& img, const PreprocessOptions& options);

// The HF processor: PIL bicubic resize to size x size (an exact copy when already that size), /255 and
// (x - mean) / std per channel in float32, backbone A (DINO) on channels 0..2 and backbone B (SigLIP) on
// 3..5. Returns a contiguous float32 CPU tensor [1, 6, size, size].
at::Tensor pixelValues(const RgbImage& img, const std::array<double, 3>& meanA,
                       const std::array<double, 3>& stdA, const std::array<double, 3>& meanB,
                       const std::array<double, 3>& stdB, int size = 224);

} // namespace specvla::vision
