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
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
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

// OpenCV hands out BGR; the engine works in RGB like PIL and TF.
RgbImage fromBgrMat(const cv::Mat& bgr) {
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    RgbImage out = RgbImage::blank(rgb.cols, rgb.rows);
    const std::size_t rowBytes = static_cast<std::size_t>(rgb.cols) * RgbImage::kChannels;
    for (int y = 0; y < rgb.rows; ++y) {
        std::memcpy(&out.pixels[static_cast<std::size_t>(y) * rowBytes], rgb.ptr<std::uint8_t>(y), rowBytes);
    }
    return out;
}

cv::Mat toBgrMat(const RgbImage& img) {
    // The wrapping Mat only reads img; cvtColor writes a new buffer.
    const cv::Mat rgb(img.height, img.width, CV_8UC3, const_cast<std::uint8_t*>(img.pixels.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

} // namespace

RgbImage loadImage(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw Error("image file '" + path + "': not found or not a regular file");
    }
    cv::Mat bgr;
    try {
        // PIL's Image.open does not apply the EXIF orientation, so OpenCV must not either.
        bgr = cv::imread(path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception& e) {
        throw Error("image file '" + path + "': cannot be decoded (" + e.what() + ")");
    }
    if (bgr.empty() || bgr.type() != CV_8UC3) {
        throw Error("image file '" + path + "': not a readable image (unknown format or corrupt data)");
    }
    return fromBgrMat(bgr);
}

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

// tf.image.encode_jpeg (defaults: quality 95, baseline, no optimize, 4:2:0 chroma) and OpenCV's imencode
// (quality given, no optimize, not progressive, libjpeg's default 4:2:0) both call jpeg_set_defaults +
// jpeg_set_quality(q, TRUE) with the accurate integer forward DCT, so the compressed data matches up to the
// libjpeg-turbo version. The decoders differ: tf.io.decode_image defaults to dct_method INTEGER_FAST
// (JDCT_IFAST) while OpenCV's imdecode uses libjpeg's default JDCT_ISLOW, so decoded pixels can differ from
// TF's by a level or two, mostly near edges (both use fancy chroma upsampling).
RgbImage jpegRoundTrip(const RgbImage& img, int quality) {
    requireValid("jpegRoundTrip", img);
    if (quality < 0 || quality > 100) {
        throw Error("vision/preprocess: jpegQuality must be in [0, 100], got " + std::to_string(quality));
    }
    const cv::Mat bgr = toBgrMat(img);
    std::vector<std::uint8_t> encoded;
    const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY,     quality, cv::IMWRITE_JPEG_OPTIMIZE, 0,
                                  cv::IMWRITE_JPEG_PROGRESSIVE, 0};
    try {
        if (!cv::imencode(".jpg", bgr, encoded, params)) {
            throw Error("vision/preprocess: jpegRoundTrip: OpenCV could not encode the image as JPEG");
        }
        const cv::Mat decoded = cv::imdecode(encoded, cv::IMREAD_COLOR);
        if (decoded.empty() || decoded.rows != img.height || decoded.cols != img.width) {
            throw Error("vision/preprocess: jpegRoundTrip: OpenCV could not decode its own JPEG");
        }
        return fromBgrMat(decoded);
    } catch (const cv::Exception& e) {
        throw Error(std::string("vision/preprocess: jpegRoundTrip: OpenCV error: ") + e.what());
    }
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
