// SPDX-License-Identifier: MIT
#pragma once

// Separable resamplers written to reproduce, value for value, the two Python pipelines OpenVLA's image path
// goes through. OpenCV's resizers use other conventions (pixel-centre mapping, kernel widening, fixed-point
// tables), so they are not used here. Every convention is documented at the function and in resample.cpp.
#include "vision/image.h"

#include <array>
#include <cstddef>
#include <vector>

namespace specvla::vision {

// An interleaved float image in HWC order (TF's layout):
// value (x, y, c) is data[(y * width + x) * channels + c].
struct FloatImage {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<float> data;

    static FloatImage zeros(int w, int h, int ch);

    bool empty() const { return width <= 0 || height <= 0 || channels <= 0 || data.empty(); }
    std::size_t index(int x, int y, int c) const {
        return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                   static_cast<std::size_t>(channels) +
               static_cast<std::size_t>(c);
    }
    float& at(int x, int y, int c) { return data[index(x, y, c)]; }
    float at(int x, int y, int c) const { return data[index(x, y, c)]; }
};

// uint8 -> float with the values kept (0..255), as TF's ScaleAndTranslate casts its uint8 input.
FloatImage toFloat(const RgbImage& img);

// uint8 -> float in [0, 1] as tf.image.convert_image_dtype(uint8 -> float32): float(v) * float32(1/255).
FloatImage toUnitFloat(const RgbImage& img);

// float (0..255) -> uint8 as OpenVLA does after tf.image.resize: tf.round (round half to even), clip to
// [0, 255], cast. Needs 3 channels.
RgbImage roundToUint8(const FloatImage& img);

// float in [0, 1] -> uint8 as tf.clip_by_value(x, 0, 1) then tf.image.convert_image_dtype(uint8,
// saturate=True): TF scales by 255.5 (not 255) and then casts, and a float->uint8 cast truncates toward zero,
// so v = trunc(clamp(x, 0, 1) * 255.5f). Every v/255 maps back to v; 0.5 maps to 127 (127.75 truncated).
RgbImage unitFloatToUint8(const FloatImage& img);

// tf.image.resize(img, [outHeight, outWidth], method="lanczos3", antialias=True), i.e. TF's
// ScaleAndTranslate op with scale = out/in (float32) and translation 0. Conventions (per axis):
//  - output sample i sits at s = (i + 0.5) / scale in input coordinates (pixel centres at j + 0.5);
//  - Lanczos3 kernel L(x) = 3 sin(pi x) sin(pi x / 3) / (pi^2 x^2) for |x| <= 3, L = 1 for |x| <= 1e-3;
//  - when downscaling (scale < 1) the kernel is widened by k = 1/scale: weight_j = L(((j + 0.5) - s) / k);
//    when upscaling k = 1 (antialias only affects downscaling);
//  - taps j from ceil(s - 3k - 0.5) to floor(s + 3k - 0.5), clamped to [0, n-1]: out-of-image taps are
//    dropped (no reflection, no edge replication) and the remaining weights renormalised to sum 1;
//  - all arithmetic in float32, the vertical pass first into a float [outHeight x width] buffer, then the
//    horizontal pass, accumulating taps in increasing index order, as TF's CPU kernel does.
// A same-size "resize" is not skipped (TF v2 does not skip it); at integer offsets the float sin() leaves
// weights of about 1e-8, so the float result can differ from the input by ~1e-5 (exact after rounding).
FloatImage resizeLanczos3(const FloatImage& img, int outWidth, int outHeight);
FloatImage resizeLanczos3(const RgbImage& img, int outWidth, int outHeight);

// PIL's Image.resize((outWidth, outHeight), Image.BICUBIC) on an 8-bit RGB image (what torchvision's
// TF.resize does for a PIL input). Conventions (Pillow's libImaging/Resample.c):
//  - cubic convolution with a = -0.5 and support 2; when downscaling the support is widened by
//    f = in/out and the kernel argument divided by f (no widening when upscaling);
//  - output sample i sits at centre c = (i + 0.5) * in/out; taps j from (int)(c - support + 0.5) to
//    (int)(c + support + 0.5) exclusive (C truncation), clamped to [0, n]; weight_j = K((j - c + 0.5) / f),
//    normalised to sum 1 in double;
//  - weights are then rounded to 22-bit fixed point (round half away from zero) and each pass accumulates
//    integers starting from 2^21, so each pass rounds half up and clips to [0, 255];
//  - horizontal pass first, stored as uint8, then the vertical pass; an axis whose size does not change is
//    not resampled, and a same-size resize returns an exact copy.
RgbImage resizeBicubicPil(const RgbImage& img, int outWidth, int outHeight);

// tf.image.crop_and_resize(image, [box], [0], [outHeight, outWidth], method="bilinear", extrapolation_value)
// for one box {y1, x1, y2, x2} in normalised coordinates. In float32, row i samples at
//   y = y1 * (H - 1) + i * ((y2 - y1) * (H - 1) / (outHeight - 1)),
// or y = 0.5 (y1 + y2)(H - 1) when outHeight is 1, and likewise for columns; a sample outside [0, H-1] x [0,
// W-1] gets extrapolationValue; otherwise the value is bilinear between floor() and ceil(): top = tl + (tr -
// tl) dx, bottom = bl + (br - bl) dx, out = top + (bottom - top) dy.
FloatImage cropAndResizeBilinear(const FloatImage& img, const std::array<float, 4>& box, int outHeight,
                                 int outWidth, float extrapolationValue = 0.0f);

} // namespace specvla::vision
