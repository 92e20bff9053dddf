// SPDX-License-Identifier: MIT
// Resamplers that reproduce TensorFlow's ScaleAndTranslate (lanczos3, antialias), TensorFlow's
// crop_and_resize (bilinear) and Pillow's BICUBIC resize. The formulas follow the public documentation and
// behaviour of those libraries; the arithmetic order and precision (float32 for TF, double weights plus
// 22-bit fixed point for Pillow) are kept because OpenVLA's inputs are rounded to uint8 after each step and
// a different rounding path changes pixels.
#include "vision/resample.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace specvla::vision {
namespace {

void requireSize(const char* where, const char* field, int value) {
    if (value <= 0) {
        throw Error(std::string("vision/resample: ") + where + ": " + field + " must be positive, got " +
                    std::to_string(value));
    }
}

void requireImage(const char* where, const FloatImage& img) {
    if (img.width <= 0 || img.height <= 0 || img.channels <= 0 ||
        img.data.size() != static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height) *
                               static_cast<std::size_t>(img.channels)) {
        throw Error(std::string("vision/resample: ") + where + ": input image is empty or its buffer size (" +
                    std::to_string(img.data.size()) + ") does not match width x height x channels (" +
                    std::to_string(img.width) + " x " + std::to_string(img.height) + " x " +
                    std::to_string(img.channels) + ")");
    }
}

void requireImage(const char* where, const RgbImage& img) {
    if (!img.valid()) {
        throw Error(std::string("vision/resample: ") + where + ": input image is empty or its buffer size (" +
                    std::to_string(img.pixels.size()) + ") does not match width x height x 3 (" +
                    std::to_string(img.width) + " x " + std::to_string(img.height) + " x 3)");
    }
}

// ---------------------------------------------------------------------------------------------------------
// TensorFlow ScaleAndTranslate, Lanczos3

// Lanczos kernel of radius 3 evaluated in float32 exactly as TF's sampling kernel: pi is the float nearest
// 3.14159265359 and the expression is evaluated left to right, so sin(pi * k) at integer k is ~1e-7, not 0.
float lanczos3(float x) {
    constexpr float kPi = 3.14159265359f;
    constexpr float kRadius = 3.0f;
    x = std::abs(x);
    if (x > kRadius) return 0.0f;
    if (x <= 1e-3f) return 1.0f; // the limit of sin(x)/x at 0
    return kRadius * std::sin(kPi * x) * std::sin(kPi * x / kRadius) / (kPi * kPi * x * x);
}

// The taps of every output sample along one axis: output i reads input start[i] .. start[i] + count[i] - 1
// with weights[i * spanSize + t].
struct Spans {
    int spanSize = 0;
    std::vector<int> starts;
    std::vector<int> counts;
    std::vector<float> weights;
};

Spans lanczos3Spans(int inSize, int outSize) {
    constexpr float kRadius = 3.0f;
    // tf.image.resize computes scale = float32(out) / float32(in) and passes translation 0.
    const float scale = static_cast<float>(outSize) / static_cast<float>(inSize);
    // TF computes 1.0 / scale in double and stores it as float.
    const float invScale = static_cast<float>(1.0 / static_cast<double>(scale));
    const float invTranslate = -invScale * 0.0f;
    // Antialiasing widens the kernel only when downsampling.
    const float kernelScale = std::max(invScale, 1.0f);
    const float oneOverKernelScale = 1.0f / kernelScale;

    Spans spans;
    spans.spanSize = std::min(2 * static_cast<int>(std::ceil(kRadius * kernelScale)) + 1, inSize);
    spans.starts.assign(static_cast<std::size_t>(outSize), 0);
    spans.counts.assign(static_cast<std::size_t>(outSize), 0);
    spans.weights.assign(static_cast<std::size_t>(outSize) * static_cast<std::size_t>(spans.spanSize), 0.0f);

    std::vector<float> temp;
    for (int x = 0; x < outSize; ++x) {
        const float colF = static_cast<float>(x) + 0.5f;
        const float sampleF = colF * invScale + invTranslate;
        // A sample outside the source gets no taps, hence value 0 (cannot happen with translation 0).
        if (sampleF < 0 || sampleF > static_cast<float>(inSize)) continue;
        long spanStart = static_cast<long>(std::ceil(sampleF - kRadius * kernelScale - 0.5f));
        long spanEnd = static_cast<long>(std::floor(sampleF + kRadius * kernelScale - 0.5f));
        spanStart = std::clamp<long>(spanStart, 0, inSize - 1);
        spanEnd = std::clamp<long>(spanEnd, 0, inSize - 1) + 1;
        const int count = static_cast<int>(spanEnd - spanStart);
        float total = 0.0f;
        temp.clear();
        for (long source = spanStart; source < spanEnd; ++source) {
            const float kernelPos = static_cast<float>(source) + 0.5f - sampleF;
            const float w = lanczos3(std::abs(kernelPos * oneOverKernelScale));
            total += w;
            temp.push_back(w);
        }
        spans.starts[static_cast<std::size_t>(x)] = static_cast<int>(spanStart);
        spans.counts[static_cast<std::size_t>(x)] = count;
        // Weights are renormalised over the taps that fell inside the image (TF leaves them 0 when the sum
        // is denormal-small).
        if (std::abs(total) >= 1000.0f * std::numeric_limits<float>::min()) {
            const float invTotal = 1.0f / total;
            float* out =
                &spans.weights[static_cast<std::size_t>(x) * static_cast<std::size_t>(spans.spanSize)];
            for (int t = 0; t < count; ++t)
                out[t] = temp[static_cast<std::size_t>(t)] * invTotal;
        }
    }
    return spans;
}

// ---------------------------------------------------------------------------------------------------------
// Pillow BICUBIC

constexpr int kPilPrecisionBits = 32 - 8 - 2;

// Cubic convolution kernel with a = -0.5 (Keys), support 2, in double.
double pilBicubic(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// Per output sample: first tap, tap count and ksize fixed-point weights.
struct PilCoeffs {
    int ksize = 0;
    std::vector<int> starts;
    std::vector<int> counts;
    std::vector<std::int32_t> weights;
};

PilCoeffs pilBicubicCoeffs(int inSize, int outSize) {
    constexpr double kSupport = 2.0;
    const double scale = static_cast<double>(inSize) / static_cast<double>(outSize);
    const double filterScale = scale < 1.0 ? 1.0 : scale;
    const double support = kSupport * filterScale;
    PilCoeffs c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.starts.assign(static_cast<std::size_t>(outSize), 0);
    c.counts.assign(static_cast<std::size_t>(outSize), 0);
    c.weights.assign(static_cast<std::size_t>(outSize) * static_cast<std::size_t>(c.ksize), 0);

    std::vector<double> k(static_cast<std::size_t>(c.ksize));
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterScale;
        // Pillow "rounds" with a C cast, which truncates toward zero (so -2.5 becomes -2, then 0 by the
        // clamp).
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > inSize) xmax = inSize;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double w = pilBicubic((x + xmin - center + 0.5) * ss);
            k[static_cast<std::size_t>(x)] = w;
            ww += w;
        }
        std::int32_t* out = &c.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
        for (int x = 0; x < xmax; ++x) {
            double w = k[static_cast<std::size_t>(x)];
            if (ww != 0.0) w /= ww;
            // 22-bit fixed point, rounded half away from zero.
            const double scaled = w * static_cast<double>(1 << kPilPrecisionBits);
            out[x] = static_cast<std::int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
        }
        c.starts[static_cast<std::size_t>(xx)] = xmin;
        c.counts[static_cast<std::size_t>(xx)] = xmax;
    }
    return c;
}

// Pillow's clip8: the accumulator started at 2^21, so floor(acc / 2^22) is the value rounded half up.
std::uint8_t pilClip8(std::int64_t acc) {
    const std::int64_t one = std::int64_t(1) << kPilPrecisionBits;
    const std::int64_t q = acc >= 0 ? acc / one : -((-acc + one - 1) / one);
    return static_cast<std::uint8_t>(std::clamp<std::int64_t>(q, 0, 255));
}

RgbImage pilHorizontal(const RgbImage& in, int outWidth) {
    const PilCoeffs c = pilBicubicCoeffs(in.width, outWidth);
    RgbImage out = RgbImage::blank(outWidth, in.height);
    const std::int64_t half = std::int64_t(1) << (kPilPrecisionBits - 1);
    for (int y = 0; y < in.height; ++y) {
        for (int xx = 0; xx < outWidth; ++xx) {
            const int start = c.starts[static_cast<std::size_t>(xx)];
            const int count = c.counts[static_cast<std::size_t>(xx)];
            const std::int32_t* k =
                &c.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
            for (int ch = 0; ch < RgbImage::kChannels; ++ch) {
                std::int64_t acc = half;
                for (int t = 0; t < count; ++t)
                    acc += std::int64_t(in.at(start + t, y, ch)) * k[t];
                out.at(xx, y, ch) = pilClip8(acc);
            }
        }
    }
    return out;
}

RgbImage pilVertical(const RgbImage& in, int outHeight) {
    const PilCoeffs c = pilBicubicCoeffs(in.height, outHeight);
    RgbImage out = RgbImage::blank(in.width, outHeight);
    const std::int64_t half = std::int64_t(1) << (kPilPrecisionBits - 1);
    for (int yy = 0; yy < outHeight; ++yy) {
        const int start = c.starts[static_cast<std::size_t>(yy)];
        const int count = c.counts[static_cast<std::size_t>(yy)];
        const std::int32_t* k = &c.weights[static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize)];
        for (int x = 0; x < in.width; ++x) {
            for (int ch = 0; ch < RgbImage::kChannels; ++ch) {
                std::int64_t acc = half;
                for (int t = 0; t < count; ++t)
                    acc += std::int64_t(in.at(x, start + t, ch)) * k[t];
                out.at(x, yy, ch) = pilClip8(acc);
            }
        }
    }
    return out;
}

// tf.round: round half to even.
float roundHalfEven(float v) {
    const float f = std::floor(v);
    const float diff = v - f;
    if (diff > 0.5f) return f + 1.0f;
    if (diff < 0.5f) return f;
    return std::fmod(f, 2.0f) == 0.0f ? f : f + 1.0f;
}

} // namespace

FloatImage FloatImage::zeros(int w, int h, int ch) {
    FloatImage img;
    if (w <= 0 || h <= 0 || ch <= 0) return img;
    img.width = w;
    img.height = h;
    img.channels = ch;
    img.data.assign(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * static_cast<std::size_t>(ch),
                    0.0f);
    return img;
}

FloatImage toFloat(const RgbImage& img) {
    requireImage("toFloat", img);
    FloatImage out = FloatImage::zeros(img.width, img.height, RgbImage::kChannels);
    for (std::size_t i = 0; i < img.pixels.size(); ++i)
        out.data[i] = static_cast<float>(img.pixels[i]);
    return out;
}

FloatImage toUnitFloat(const RgbImage& img) {
    requireImage("toUnitFloat", img);
    // convert_image_dtype multiplies by the Python float 1/255 turned into a float32 constant.
    const float scale = static_cast<float>(1.0 / 255.0);
    FloatImage out = FloatImage::zeros(img.width, img.height, RgbImage::kChannels);
    for (std::size_t i = 0; i < img.pixels.size(); ++i)
        out.data[i] = static_cast<float>(img.pixels[i]) * scale;
    return out;
}

RgbImage roundToUint8(const FloatImage& img) {
    requireImage("roundToUint8", img);
    if (img.channels != RgbImage::kChannels) {
        throw Error("vision/resample: roundToUint8: expected 3 channels, got " +
                    std::to_string(img.channels));
    }
    RgbImage out = RgbImage::blank(img.width, img.height);
    for (std::size_t i = 0; i < img.data.size(); ++i) {
        const float r = roundHalfEven(img.data[i]);
        // NaN compares false everywhere and ends at 0.
        out.pixels[i] = r >= 255.0f ? 255 : (r > 0.0f ? static_cast<std::uint8_t>(r) : 0);
    }
    return out;
}

RgbImage unitFloatToUint8(const FloatImage& img) {
    requireImage("unitFloatToUint8", img);
    if (img.channels != RgbImage::kChannels) {
        throw Error("vision/resample: unitFloatToUint8: expected 3 channels, got " +
                    std::to_string(img.channels));
    }
    RgbImage out = RgbImage::blank(img.width, img.height);
    for (std::size_t i = 0; i < img.data.size(); ++i) {
        float v = img.data[i];
        v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;       // tf.clip_by_value(x, 0, 1); NaN -> 0
        const float scaled = std::min(v * 255.5f, 255.0f); // saturate_cast clamps, the cast truncates
        out.pixels[i] = static_cast<std::uint8_t>(scaled);
    }
    return out;
}

FloatImage resizeLanczos3(const FloatImage& img, int outWidth, int outHeight) {
    requireImage("resizeLanczos3", img);
    requireSize("resizeLanczos3", "outWidth", outWidth);
    requireSize("resizeLanczos3", "outHeight", outHeight);
    const Spans rows = lanczos3Spans(img.height, outHeight);
    const Spans cols = lanczos3Spans(img.width, outWidth);
    const int ch = img.channels;
    const std::size_t inRow = static_cast<std::size_t>(img.width) * static_cast<std::size_t>(ch);

    // Vertical pass: [outHeight x width] float rows.
    std::vector<float> mid(static_cast<std::size_t>(outHeight) * inRow, 0.0f);
    for (int y = 0; y < outHeight; ++y) {
        float* dst = &mid[static_cast<std::size_t>(y) * inRow];
        const int start = rows.starts[static_cast<std::size_t>(y)];
        const float* w = &rows.weights[static_cast<std::size_t>(y) * static_cast<std::size_t>(rows.spanSize)];
        for (int t = 0; t < rows.counts[static_cast<std::size_t>(y)]; ++t) {
            const float* src = &img.data[static_cast<std::size_t>(start + t) * inRow];
            for (std::size_t i = 0; i < inRow; ++i)
                dst[i] += w[t] * src[i];
        }
    }

    // Horizontal pass.
    FloatImage out = FloatImage::zeros(outWidth, outHeight, ch);
    for (int y = 0; y < outHeight; ++y) {
        const float* srcRow = &mid[static_cast<std::size_t>(y) * inRow];
        for (int x = 0; x < outWidth; ++x) {
            const int start = cols.starts[static_cast<std::size_t>(x)];
            const float* w =
                &cols.weights[static_cast<std::size_t>(x) * static_cast<std::size_t>(cols.spanSize)];
            float* dst = &out.data[out.index(x, y, 0)];
            for (int t = 0; t < cols.counts[static_cast<std::size_t>(x)]; ++t) {
                const float* src =
                    srcRow + static_cast<std::size_t>(start + t) * static_cast<std::size_t>(ch);
                for (int c = 0; c < ch; ++c)
                    dst[c] += w[t] * src[c];
            }
        }
    }
    return out;
}

FloatImage resizeLanczos3(const RgbImage& img, int outWidth, int outHeight) {
    return resizeLanczos3(toFloat(img), outWidth, outHeight);
}

RgbImage resizeBicubicPil(const RgbImage& img, int outWidth, int outHeight) {
    requireImage("resizeBicubicPil", img);
    requireSize("resizeBicubicPil", "outWidth", outWidth);
    requireSize("resizeBicubicPil", "outHeight", outHeight);
    const bool horizontal = outWidth != img.width;
    const bool vertical = outHeight != img.height;
    if (!horizontal && !vertical) return img;
    if (horizontal && vertical) return pilVertical(pilHorizontal(img, outWidth), outHeight);
    return horizontal ? pilHorizontal(img, outWidth) : pilVertical(img, outHeight);
}

FloatImage cropAndResizeBilinear(const FloatImage& img, const std::array<float, 4>& box, int outHeight,
                                 int outWidth, float extrapolationValue) {
    requireImage("cropAndResizeBilinear", img);
    requireSize("cropAndResizeBilinear", "outHeight", outHeight);
    requireSize("cropAndResizeBilinear", "outWidth", outWidth);
    for (float v : box) {
        if (!std::isfinite(v))
            throw Error("vision/resample: cropAndResizeBilinear: box has a non-finite value");
    }
    const float y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
    const int h = img.height, w = img.width, ch = img.channels;
    const float heightScale =
        outHeight > 1 ? (y2 - y1) * static_cast<float>(h - 1) / static_cast<float>(outHeight - 1) : 0.0f;
    const float widthScale =
        outWidth > 1 ? (x2 - x1) * static_cast<float>(w - 1) / static_cast<float>(outWidth - 1) : 0.0f;

    FloatImage out = FloatImage::zeros(outWidth, outHeight, ch);
    for (int y = 0; y < outHeight; ++y) {
        const float inY = outHeight > 1 ? y1 * static_cast<float>(h - 1) + static_cast<float>(y) * heightScale
                                        : static_cast<float>(0.5 * (y1 + y2) * (h - 1));
        if (inY < 0 || inY > static_cast<float>(h - 1)) {
            for (int x = 0; x < outWidth; ++x) {
                for (int c = 0; c < ch; ++c)
                    out.at(x, y, c) = extrapolationValue;
            }
            continue;
        }
        const int top = static_cast<int>(std::floor(inY));
        const int bottom = static_cast<int>(std::ceil(inY));
        const float yLerp = inY - static_cast<float>(top);
        for (int x = 0; x < outWidth; ++x) {
            const float inX = outWidth > 1
                                  ? x1 * static_cast<float>(w - 1) + static_cast<float>(x) * widthScale
                                  : static_cast<float>(0.5 * (x1 + x2) * (w - 1));
            if (inX < 0 || inX > static_cast<float>(w - 1)) {
                for (int c = 0; c < ch; ++c)
                    out.at(x, y, c) = extrapolationValue;
                continue;
            }
            const int left = static_cast<int>(std::floor(inX));
            const int right = static_cast<int>(std::ceil(inX));
            const float xLerp = inX - static_cast<float>(left);
            for (int c = 0; c < ch; ++c) {
                const float tl = img.at(left, top, c);
                const float tr = img.at(right, top, c);
                const float bl = img.at(left, bottom, c);
                const float br = img.at(right, bottom, c);
                const float topV = tl + (tr - tl) * xLerp;
                const float bottomV = bl + (br - bl) * xLerp;
                out.at(x, y, c) = topV + (bottomV - topV) * yLerp;
            }
        }
    }
    return out;
}

} // namespace specvla::vision
