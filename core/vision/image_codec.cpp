// SPDX-License-Identifier: MIT
// Image decoding and the JPEG round trip: the only parts of core/vision that need OpenCV. The engine-only
// build (libtorch and nlohmann-json alone) has no codecs and says so.
#include "common/error.h"
#include "vision/preprocess.h"

#if !SPECVLA_ENGINE_ONLY
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstring>
#include <filesystem>
#include <vector>

namespace specvla::vision {
namespace {

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

// tf.image.encode_jpeg (defaults: quality 95, baseline, no optimize, 4:2:0 chroma) and OpenCV's imencode
// (quality given, no optimize, not progressive, libjpeg's default 4:2:0) both call jpeg_set_defaults +
// jpeg_set_quality(q, TRUE) with the accurate integer forward DCT, so the compressed data matches up to the
// libjpeg-turbo version. The decoders differ: tf.io.decode_image defaults to dct_method INTEGER_FAST
// (JDCT_IFAST) while OpenCV's imdecode uses libjpeg's default JDCT_ISLOW, so decoded pixels can differ from
// TF's by a level or two, mostly near edges (both use fancy chroma upsampling).
RgbImage jpegRoundTrip(const RgbImage& img, int quality) {
    if (!img.valid()) throw Error("vision/preprocess: jpegRoundTrip: input image is empty or inconsistent");
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

} // namespace specvla::vision

#else

namespace specvla::vision {

RgbImage loadImage(const std::string& path) {
    throw Error("image file '" + path +
                "': this engine-only build has no image codecs (built without OpenCV)");
}

RgbImage jpegRoundTrip(const RgbImage&, int) {
    throw Error("vision/preprocess: jpegRoundTrip: this engine-only build has no JPEG codec (built without "
                "OpenCV)");
}

} // namespace specvla::vision

#endif
