// SPDX-License-Identifier: MIT
// Image preprocessing: the TF and PIL resamplers against values worked out from their kernel formulas, the
// TF dtype conversions, and the LIBERO pipeline end to end.
#include "common/error.h"
#include "vision/image.h"
#include "vision/preprocess.h"
#include "vision/resample.h"

#include <ATen/ATen.h>

#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

using specvla::vision::FloatImage;
using specvla::vision::RgbImage;
namespace vision = specvla::vision;

namespace {

// A single-channel float image from row-major values.
FloatImage grayFloat(int w, int h, const std::vector<float>& values) {
    FloatImage img = FloatImage::zeros(w, h, 1);
    img.data = values;
    return img;
}

RgbImage gradient(int w, int h) {
    RgbImage img = RgbImage::blank(w, h);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            img.at(x, y, 0) = static_cast<std::uint8_t>(x * 255 / (w - 1));
            img.at(x, y, 1) = static_cast<std::uint8_t>(y * 255 / (h - 1));
            img.at(x, y, 2) = static_cast<std::uint8_t>((x + y) * 255 / (w + h - 2));
        }
    }
    return img;
}

void writeFile(const QString& path, const std::string& bytes) {
    std::ofstream f(path.toStdString(), std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs f and returns the specvla::Error message it threw ("" when it did not throw).
template <typename F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const specvla::Error& e) {
        return e.what();
    }
    return {};
}

} // namespace

class TestVision : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void rotate180MovesCorners() {
        RgbImage img = RgbImage::blank(3, 2);
        for (std::size_t i = 0; i < img.pixels.size(); ++i)
            img.pixels[i] = static_cast<std::uint8_t>(i + 1);
        const RgbImage r = vision::rotate180(img);
        QCOMPARE(r.width, 3);
        QCOMPARE(r.height, 2);
        for (int c = 0; c < 3; ++c) {
            QCOMPARE(r.at(2, 1, c), img.at(0, 0, c)); // (0,0) -> (W-1, H-1)
            QCOMPARE(r.at(1, 1, c), img.at(1, 0, c));
            QCOMPARE(r.at(0, 0, c), img.at(2, 1, c));
        }
        QVERIFY(vision::rotate180(r) == img);
        // The pipeline option does the same thing.
        vision::PreprocessOptions o = vision::PreprocessOptions::plainImage();
        o.flip180 = true;
        QVERIFY(vision::prepareImage(img, o) == r);
    }

    void constantImageStaysConstant() {
        RgbImage img = RgbImage::blank(37, 23);
        for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
            img.pixels[i] = 200;
            img.pixels[i + 1] = 17;
            img.pixels[i + 2] = 0;
        }
        for (const auto& size : std::vector<std::pair<int, int>>{{11, 7}, {80, 50}, {37, 5}, {224, 224}}) {
            const FloatImage tf = vision::resizeLanczos3(img, size.first, size.second);
            QCOMPARE(tf.width, size.first);
            QCOMPARE(tf.height, size.second);
            for (int y = 0; y < tf.height; ++y) {
                for (int x = 0; x < tf.width; ++x) {
                    QVERIFY(std::abs(tf.at(x, y, 0) - 200.0f) < 1e-3f);
                    QVERIFY(std::abs(tf.at(x, y, 1) - 17.0f) < 1e-3f);
                    QVERIFY(std::abs(tf.at(x, y, 2)) < 1e-3f);
                }
            }
            const RgbImage pil = vision::resizeBicubicPil(img, size.first, size.second);
            QCOMPARE(pil.width, size.first);
            for (std::size_t i = 0; i < pil.pixels.size(); i += 3) {
                QCOMPARE(int(pil.pixels[i]), 200);
                QCOMPARE(int(pil.pixels[i + 1]), 17);
                QCOMPARE(int(pil.pixels[i + 2]), 0);
            }
        }
    }

    void tfLanczos3Downscale1d() {
        // 4 -> 2 along x (height 1 stays 1). scale = 0.5, so the kernel is widened by k = 2 (antialias).
        // Output 0 samples at s = (0 + 0.5) / 0.5 = 1.0; taps ceil(1 - 6 - 0.5) .. floor(1 + 6 - 0.5) clamp
        // to 0..3; tap j has offset ((j + 0.5) - s) / k = -0.25, 0.25, 0.75, 1.25, and with L(x) = 3 sin(pi
        // x) sin(pi x / 3) / (pi^2 x^2):
        //   a = L(0.25) = 0.890067052, b = L(0.75) = 0.270189823, c = L(1.25) = -0.132871018.
        // Normalised: r0 = (a*0 + a*1 + b*2 + c*3) / (2a + b + c) = 0.538127241, and by symmetry output 1 is
        // 3 - r0 = 2.461872759. On the ramp 0, 10, 20, 30: 5.38127241 and 24.6187276 (not 5 and 25: the
        // taps beyond the edges are dropped and the rest renormalised).
        const FloatImage out = vision::resizeLanczos3(grayFloat(4, 1, {0, 10, 20, 30}), 2, 1);
        QCOMPARE(out.width, 2);
        QCOMPARE(out.height, 1);
        QVERIFY(std::abs(out.at(0, 0, 0) - 5.38127241f) < 2e-4f);
        QVERIFY(std::abs(out.at(1, 0, 0) - 24.6187276f) < 2e-4f);
    }

    void tfLanczos3Downscale2d() {
        // 4x4 -> 2x2 of v(x, y) = 10 x + 40 y. The weights of each axis are those of tfLanczos3Downscale1d
        // and sum to 1, so out(i, j) = 10 r_i + 40 r_j with r_0 = 0.538127241, r_1 = 2.461872759:
        //   out(0,0) = 50 r0 = 26.906362, out(1,0) = 10 r1 + 40 r0 = 46.143818,
        //   out(0,1) = 10 r0 + 40 r1 = 103.856182, out(1,1) = 50 r1 = 123.093638.
        FloatImage img = FloatImage::zeros(4, 4, 1);
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 4; ++x)
                img.at(x, y, 0) = static_cast<float>(10 * x + 40 * y);
        }
        const FloatImage out = vision::resizeLanczos3(img, 2, 2);
        QVERIFY(std::abs(out.at(0, 0, 0) - 26.906362f) < 5e-4f);
        QVERIFY(std::abs(out.at(1, 0, 0) - 46.143818f) < 5e-4f);
        QVERIFY(std::abs(out.at(0, 1, 0) - 103.856182f) < 5e-4f);
        QVERIFY(std::abs(out.at(1, 1, 0) - 123.093638f) < 5e-4f);
    }

    void tfLanczos3Upscale1d() {
        // 2 -> 4: scale 2, no widening (k = 1). Output i samples at s = (i + 0.5) / 2 = 0.25, 0.75, 1.25,
        // 1.75; taps up to floor(s + 3 - 0.5), clamped to 0..1. With a, b, c as in tfLanczos3Downscale1d:
        // Output 0 (s = 0.25): offsets 0.25 and 1.25 -> weights a, c:
        //   (a*0 + c*100) / (a + c) = -13.2871018 / 0.757196034 = -17.54777.
        // Output 1 (s = 0.75): offsets |0.5 - 0.75| = 0.25 and |1.5 - 0.75| = 0.75 -> weights a, b:
        //   100 b / (a + b) = 27.0189823 / 1.160256875 = 23.28707. Outputs 2 and 3 mirror: 76.71293,
        //   117.54777.
        const FloatImage out = vision::resizeLanczos3(grayFloat(2, 1, {0, 100}), 4, 1);
        QCOMPARE(out.width, 4);
        QVERIFY(std::abs(out.at(0, 0, 0) - (-17.547770f)) < 2e-4f);
        QVERIFY(std::abs(out.at(1, 0, 0) - 23.287069f) < 2e-4f);
        QVERIFY(std::abs(out.at(2, 0, 0) - 76.712931f) < 2e-4f);
        QVERIFY(std::abs(out.at(3, 0, 0) - 117.547770f) < 2e-4f);
        // The same along y.
        const FloatImage col = vision::resizeLanczos3(grayFloat(1, 2, {0, 100}), 1, 4);
        QVERIFY(std::abs(col.at(0, 0, 0) - (-17.547770f)) < 2e-4f);
        QVERIFY(std::abs(col.at(0, 3, 0) - 117.547770f) < 2e-4f);
        // Rounded to uint8 the overshoot clips: -17.5 -> 0, 117.5477 -> 118.
        RgbImage two = RgbImage::blank(2, 1);
        two.at(1, 0, 0) = 100;
        const RgbImage rounded = vision::resizeTf(two, 4, 1);
        QCOMPARE(int(rounded.at(0, 0, 0)), 0);
        QCOMPARE(int(rounded.at(1, 0, 0)), 23);
        QCOMPARE(int(rounded.at(2, 0, 0)), 77);
        QCOMPARE(int(rounded.at(3, 0, 0)), 118);
    }

    void identityResizeKeepsInput() {
        const RgbImage img = gradient(31, 17);
        // PIL returns an exact copy.
        QVERIFY(vision::resizeBicubicPil(img, 31, 17) == img);
        // TF does run the kernel at scale 1; float sin(pi k) leaves ~1e-8 weights, so the float result is
        // within 1e-3 and the rounded one exact.
        const FloatImage f = vision::resizeLanczos3(img, 31, 17);
        for (std::size_t i = 0; i < img.pixels.size(); ++i) {
            QVERIFY(std::abs(f.data[i] - static_cast<float>(img.pixels[i])) < 1e-3f);
        }
        QVERIFY(vision::resizeTf(img, 31, 17) == img);
    }

    void roundingConventions() {
        // tf.round is round-half-to-even; then clip to [0, 255].
        FloatImage f = FloatImage::zeros(2, 1, 3);
        f.data = {0.5f, 1.5f, 2.5f, -3.0f, 300.0f, 254.5f};
        const RgbImage r = vision::roundToUint8(f);
        const std::vector<std::uint8_t> expected{0, 2, 2, 0, 255, 254};
        QCOMPARE(r.pixels, expected);
        // convert_image_dtype(float -> uint8, saturate=True) truncates x * 255.5 after clipping.
        FloatImage u = FloatImage::zeros(3, 1, 3);
        u.data = {0.5f, 1.0f, 0.999f, 0.998f, -0.1f, 1.7f, 100.0f / 255.0f, 0.0f, 0.25f};
        const RgbImage c = vision::unitFloatToUint8(u);
        // 127.75 -> 127, 255.5 -> 255, 255.24 -> 255, 254.99 -> 254, 0, 255, 100.196 -> 100, 0, 63.875 -> 63
        const std::vector<std::uint8_t> expectedU{127, 255, 255, 254, 0, 255, 100, 0, 63};
        QCOMPARE(c.pixels, expectedU);
        // uint8 -> [0, 1] -> uint8 is the identity for every level.
        RgbImage all = RgbImage::blank(86, 1);
        for (std::size_t i = 0; i < all.pixels.size(); ++i)
            all.pixels[i] = static_cast<std::uint8_t>(i);
        QVERIFY(vision::unitFloatToUint8(vision::toUnitFloat(all)) == all);
    }

    void pilBicubicDownscaleRow() {
        // 4 -> 2 along x; PIL: scale = 2, support = 2 * 2 = 4, output 0 centred at c = 1.0, taps 0..3
        // (xmin = (int)(1 - 4 + 0.5) = -2 -> 0), kernel argument (j - c + 0.5) / 2 = -0.25, 0.25, 0.75, 1.25.
        // Cubic a = -0.5: K(0.25) = (1.5 * 0.25 - 2.5) * 0.0625 + 1 = 0.8671875,
        //   K(0.75) = (1.5 * 0.75 - 2.5) * 0.5625 + 1 = 0.2265625,
        //   K(1.25) = (((1.25 - 5) * 1.25 + 8) * 1.25 - 4) * -0.5 = -0.0703125; sum 1.890625.
        // 22-bit fixed point: 1923834, 1923834, 502623, -155987. Output 1 uses them reversed.
        // R 0,100,200,250: (2^21 + 100*1923834 + 200*502623 - 250*155987) >> 22 = floor(61.037) = 61
        //   (60.537 before the +0.5 bias); G 0,50,150,255: floor(31.926) = 31;
        // B 0,7,9,200: floor(-2.649) = -3 -> clipped to 0.
        // Output 1, R: 250*1923834 + 200*1923834 + 100*502623 + 0 -> floor(218.08) = 218; G 192; B 97.
        RgbImage row = RgbImage::blank(4, 1);
        const std::uint8_t px[4][3] = {{0, 0, 0}, {100, 50, 7}, {200, 150, 9}, {250, 255, 200}};
        for (int x = 0; x < 4; ++x) {
            for (int c = 0; c < 3; ++c)
                row.at(x, 0, c) = px[x][c];
        }
        const RgbImage out = vision::resizeBicubicPil(row, 2, 1);
        QCOMPARE(out.width, 2);
        QCOMPARE(out.height, 1);
        const std::vector<std::uint8_t> expected{61, 31, 0, 218, 192, 97}; // Pillow 9.4 gives the same
        QCOMPARE(out.pixels, expected);
    }

    void pilBicubicRoundsEachPass() {
        // 4x4 -> 2x2 with the weights of pilBicubicDownscaleRow on both axes. Horizontal pass first, rounded
        // to uint8: row 0 (164,140,21,7) -> 141.69 -> 142; row 1 (221,192,214,137) -> 209.98 -> 210;
        // row 2 (209,84,115,201) -> 140.70 -> 141; row 3 (31,77,31,116) -> 48.94 -> 49.
        // Vertical pass on (142,210,141,49): 176.53 -> 177. A float-only two-pass sum gives 176.35 -> 176.
        const int v[4][4] = {{164, 140, 21, 7}, {221, 192, 214, 137}, {209, 84, 115, 201}, {31, 77, 31, 116}};
        RgbImage img = RgbImage::blank(4, 4);
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 4; ++x) {
                for (int c = 0; c < 3; ++c)
                    img.at(x, y, c) = static_cast<std::uint8_t>(v[y][x]);
            }
        }
        const RgbImage out = vision::resizeBicubicPil(img, 2, 2);
        QCOMPARE(int(out.at(0, 0, 0)), 177);
        // The other outputs (from Pillow 9.4.0): (1,0) 107, (0,1) 107, (1,1) 122.
        QCOMPARE(int(out.at(1, 0, 0)), 107);
        QCOMPARE(int(out.at(0, 1, 0)), 107);
        QCOMPARE(int(out.at(1, 1, 0)), 122);
    }

    void pilBicubicMatchesPillowReference() {
        // A 6x4 image: R from the list below, G = 255 - R, B = 7 R mod 256. The expected outputs were
        // produced once with Pillow 9.4.0 Image.resize(..., BICUBIC) (down to 4x3 and up to 9x5).
        const int r[24] = {34,  32, 204, 127, 151, 153, 182, 7,   124, 37, 102, 237,
                           140, 18, 138, 33,  193, 242, 250, 159, 222, 94, 37,  130};
        RgbImage img = RgbImage::blank(6, 4);
        for (int i = 0; i < 24; ++i) {
            img.pixels[static_cast<std::size_t>(i) * 3] = static_cast<std::uint8_t>(r[i]);
            img.pixels[static_cast<std::size_t>(i) * 3 + 1] = static_cast<std::uint8_t>(255 - r[i]);
            img.pixels[static_cast<std::size_t>(i) * 3 + 2] = static_cast<std::uint8_t>((r[i] * 7) & 255);
        }
        const std::vector<std::uint8_t> down{50,  205, 223, 124, 131, 141, 123, 132, 81,  161, 94,  70,
                                             104, 151, 177, 71,  184, 122, 76,  179, 130, 219, 36,  145,
                                             185, 70,  174, 167, 88,  88,  85,  170, 112, 130, 125, 94};
        QCOMPARE(vision::resizeBicubicPil(img, 4, 3).pixels, down);
        const std::vector<std::uint8_t> up{
            27,  228, 238, 20,  235, 240, 55,  200, 221, 191, 64,  162, 179, 76,  139, 129, 126,
            113, 150, 105, 36,  152, 103, 29,  149, 106, 45,  152, 103, 253, 75,  180, 175, 22,
            233, 86,  133, 122, 108, 110, 145, 55,  62,  193, 33,  96,  159, 149, 167, 88,  138,
            220, 35,  95,  174, 81,  237, 81,  174, 155, 8,   247, 80,  110, 145, 148, 73,  182,
            139, 35,  221, 117, 132, 123, 147, 213, 42,  151, 255, 0,   146, 175, 80,  216, 110,
            145, 166, 66,  189, 119, 155, 100, 145, 106, 149, 202, 56,  199, 205, 139, 116, 59,
            191, 64,  92,  214, 41,  164, 255, 0,   222, 208, 47,  159, 169, 86,  70,  225, 30,
            11,  170, 86,  81,  80,  175, 132, 31,  224, 11,  77,  178, 66,  131, 124, 150};
        QCOMPARE(vision::resizeBicubicPil(img, 9, 5).pixels, up);
    }

    void cropFullBoxIsIdentity() {
        FloatImage img = FloatImage::zeros(7, 5, 3);
        for (std::size_t i = 0; i < img.data.size(); ++i)
            img.data[i] = static_cast<float>(i % 17) * 0.37f;
        const FloatImage out = vision::cropAndResizeBilinear(img, {0.f, 0.f, 1.f, 1.f}, 5, 7);
        QCOMPARE(out.width, 7);
        QCOMPARE(out.height, 5);
        QCOMPARE(out.data, img.data);
    }

    void cropSamplesByFormula() {
        // v(x, y) = x + 100 y on 11x11 is linear, so bilinear sampling returns the sample position itself.
        // Box of area 0.9: s = sqrt(0.9) = 0.9486833, o = (1 - s) / 2 = 0.0256584, out 5x5:
        //   x_i = o * 10 + i * (s * 10 / 4) = 0.256584 + 2.3717082 i   (0.256584 ... 9.743416), same for y.
        FloatImage img = FloatImage::zeros(11, 11, 1);
        for (int y = 0; y < 11; ++y) {
            for (int x = 0; x < 11; ++x)
                img.at(x, y, 0) = static_cast<float>(x + 100 * y);
        }
        const float s = std::sqrt(0.9f);
        const float o = (1.0f - s) / 2.0f;
        const FloatImage out = vision::cropAndResizeBilinear(img, {o, o, o + s, o + s}, 5, 5);
        for (int j = 0; j < 5; ++j) {
            for (int i = 0; i < 5; ++i) {
                const double xi = 0.2565835 + 2.3717082 * i;
                const double yj = 0.2565835 + 2.3717082 * j;
                QVERIFY2(std::abs(out.at(i, j, 0) - (xi + 100.0 * yj)) < 5e-3,
                         qPrintable(QString("at %1,%2: %3").arg(i).arg(j).arg(out.at(i, j, 0))));
            }
        }
        // Samples outside the image take the extrapolation value.
        const FloatImage outside = vision::cropAndResizeBilinear(img, {-0.5f, 0.f, 0.5f, 1.f}, 3, 2, -7.f);
        QCOMPARE(outside.at(0, 0, 0), -7.f);  // y = -5
        QCOMPARE(outside.at(1, 1, 0), 10.f);  // y = 0, x = 10
        QCOMPARE(outside.at(0, 2, 0), 500.f); // y = 5, x = 0
    }

    void centerCropOnUint8Ramp() {
        // R = x on a 224-wide ramp; the TF centre crop at 0.9 samples x_i = o*223 + i*(s*223/223) and
        // returns trunc((x_i / 255) * 255.5). Positions within 1e-3 of a level boundary are skipped (float).
        RgbImage img = RgbImage::blank(224, 4);
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 224; ++x)
                img.at(x, y, 0) = static_cast<std::uint8_t>(x);
        }
        const RgbImage out = vision::centerCropTf(img, 0.9, 224, 4);
        QCOMPARE(out.width, 224);
        QCOMPARE(out.height, 4);
        const double s = std::sqrt(0.9), o = (1 - s) / 2;
        int checked = 0;
        for (int i = 0; i < 224; ++i) {
            const double v = (o * 223 + i * s) * 255.5 / 255.0;
            if (std::abs(v - std::round(v)) < 1e-3) continue;
            QCOMPARE(int(out.at(i, 1, 0)), int(std::floor(v)));
            ++checked;
        }
        QVERIFY(checked > 200);
        QCOMPARE(int(out.at(0, 1, 0)), 5);     // 5.7218 * 1.00196 = 5.733
        QCOMPARE(int(out.at(223, 1, 0)), 217); // (5.7218 + 211.5563) * 1.00196 = 217.70
    }

    void pixelValuesNormalises() {
        RgbImage img = RgbImage::blank(224, 224);
        for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
            img.pixels[i] = 255;
            img.pixels[i + 1] = 0;
            img.pixels[i + 2] = 128;
        }
        img.at(5, 7, 0) = 0; // one distinct pixel to pin the [c, y, x] layout
        const at::Tensor t = vision::pixelValues(img, vision::kDinoMean, vision::kDinoStd,
                                                 vision::kSiglipMean, vision::kSiglipStd);
        QCOMPARE(t.dim(), int64_t(4));
        QCOMPARE(t.size(0), int64_t(1));
        QCOMPARE(t.size(1), int64_t(6));
        QCOMPARE(t.size(2), int64_t(224));
        QCOMPARE(t.size(3), int64_t(224));
        QVERIFY(t.scalar_type() == at::kFloat);
        QVERIFY(t.is_contiguous());
        const auto a = t.accessor<float, 4>();
        // DINO: (1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128/255 - 0.406) / 0.225;
        // SigLIP: (1 - 0.5) / 0.5, (0 - 0.5) / 0.5, (128/255 - 0.5) / 0.5.
        const double expected[6] = {2.2489083, -2.0357143, 0.4264924, 1.0, -1.0, 0.0039216};
        for (int c = 0; c < 6; ++c) {
            QVERIFY2(std::abs(a[0][c][100][50] - expected[c]) < 1e-5,
                     qPrintable(QString("channel %1: %2").arg(c).arg(a[0][c][100][50])));
        }
        QVERIFY(std::abs(a[0][0][7][5] - (0 - 0.485) / 0.229) < 1e-5); // row 7, column 5
        QVERIFY(std::abs(a[0][3][7][5] - (-1.0)) < 1e-6);
        QVERIFY(std::abs(a[0][0][5][7] - expected[0]) < 1e-5); // not transposed
    }

    void pixelValuesResizesOtherSizes() {
        RgbImage img = RgbImage::blank(256, 200);
        for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
            img.pixels[i] = 51;
            img.pixels[i + 1] = 102;
            img.pixels[i + 2] = 204;
        }
        const at::Tensor t = vision::pixelValues(img, vision::kDinoMean, vision::kDinoStd,
                                                 vision::kSiglipMean, vision::kSiglipStd, 32);
        QCOMPARE(t.sizes().vec(), (std::vector<int64_t>{1, 6, 32, 32}));
        const auto a = t.accessor<float, 4>();
        QVERIFY(std::abs(a[0][3][31][0] - (0.2 - 0.5) / 0.5) < 1e-5);
        QVERIFY(std::abs(a[0][5][0][31] - (0.8 - 0.5) / 0.5) < 1e-5);
        QVERIFY(std::abs(a[0][1][16][16] - (0.4 - 0.456) / 0.224) < 1e-5);
        // Invalid arguments name the field.
        QVERIFY(errorOf([&] {
                    vision::pixelValues(img, vision::kDinoMean, {0, 1, 1}, vision::kSiglipMean,
                                        vision::kSiglipStd);
                }).find("std") != std::string::npos);
        QVERIFY(errorOf([&] {
                    vision::pixelValues(RgbImage{}, vision::kDinoMean, vision::kDinoStd, vision::kSiglipMean,
                                        vision::kSiglipStd);
                }).find("empty") != std::string::npos);
    }

    void loadImageReportsTheFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string missing = dir.filePath("no_such_frame.png").toStdString();
        std::string msg = errorOf([&] { vision::loadImage(missing); });
        QVERIFY2(msg.find(missing) != std::string::npos, msg.c_str());

        const QString garbage = dir.filePath("garbage.png");
        writeFile(garbage, std::string("this is not an image, just some text pretending to be a PNG\n"));
        msg = errorOf([&] { vision::loadImage(garbage.toStdString()); });
        QVERIFY2(msg.find(garbage.toStdString()) != std::string::npos, msg.c_str());

        // A hand-written binary PPM: the loader must return RGB, not OpenCV's BGR.
        const QString ppm = dir.filePath("tiny.ppm");
        std::string bytes = "P6\n2 1\n255\n";
        bytes += std::string({char(250), char(10), char(0), char(1), char(2), char(3)});
        writeFile(ppm, bytes);
        const RgbImage img = vision::loadImage(ppm.toStdString());
        QCOMPARE(img.width, 2);
        QCOMPARE(img.height, 1);
        QCOMPARE(img.pixels, (std::vector<std::uint8_t>{250, 10, 0, 1, 2, 3}));
    }

    void fromBufferCopies() {
        const std::vector<std::uint8_t> data{1, 2, 3, 4, 5, 6};
        const RgbImage img = vision::fromBuffer(1, 2, data.data());
        QCOMPARE(img.at(0, 1, 2), std::uint8_t(6));
        QVERIFY(!errorOf([] { vision::fromBuffer(0, 2, nullptr); }).empty());
        QVERIFY(!errorOf([] { vision::fromBuffer(2, 2, nullptr); }).empty());
    }

    void jpegRoundTripIsCloseAndDeterministic() {
        const RgbImage img = gradient(64, 48);
        const RgbImage a = vision::jpegRoundTrip(img, 95);
        const RgbImage b = vision::jpegRoundTrip(img, 95);
        QVERIFY(a == b);
        QCOMPARE(a.width, 64);
        QCOMPARE(a.height, 48);
        int maxDiff = 0;
        double sum = 0;
        for (std::size_t i = 0; i < img.pixels.size(); ++i) {
            const int d = std::abs(int(a.pixels[i]) - int(img.pixels[i]));
            maxDiff = std::max(maxDiff, d);
            sum += d;
        }
        QVERIFY2(maxDiff <= 6, qPrintable(QString("max diff %1").arg(maxDiff)));
        QVERIFY(sum / static_cast<double>(img.pixels.size()) < 1.5);
        // Lower quality loses more; the option is validated.
        const RgbImage low = vision::jpegRoundTrip(img, 5);
        QVERIFY(low != a);
        QVERIFY(errorOf([&] { vision::jpegRoundTrip(img, 101); }).find("jpegQuality") != std::string::npos);
    }

    void liberoPipelineOnGradient() {
        const RgbImage img = gradient(256, 256);
        const vision::PreprocessOptions o = vision::PreprocessOptions::libero();
        QVERIFY(o.flip180 && o.jpegRoundTrip && o.centerCrop);
        QCOMPARE(o.resizeTo, 224);
        QCOMPARE(o.jpegQuality, 95);
        const RgbImage a = vision::prepareImage(img, o);
        const RgbImage b = vision::prepareImage(img, o);
        QCOMPARE(a.width, 224);
        QCOMPARE(a.height, 224);
        QVERIFY(a == b);
        // Rotated: red (x ramp) now falls left to right and green (y ramp) top to bottom; the 0.9 crop trims
        // about 2.6% per side, so the corners stay away from 0 and 255.
        QVERIFY(a.at(0, 112, 0) > a.at(223, 112, 0));
        QVERIFY(a.at(112, 0, 1) > a.at(112, 223, 1));
        QVERIFY(std::abs(int(a.at(112, 112, 0)) - 127) <= 3);
        QVERIFY(a.at(0, 112, 0) < 252 && a.at(0, 112, 0) > 240);
        QVERIFY(a.at(223, 112, 0) > 3 && a.at(223, 112, 0) < 15);
        // Each step matters: without the crop the edge reaches the full range.
        vision::PreprocessOptions noCrop = o;
        noCrop.centerCrop = false;
        const RgbImage c = vision::prepareImage(img, noCrop);
        QVERIFY(c.at(0, 112, 0) >= 253);
        // plainImage leaves the frame untouched.
        QVERIFY(vision::prepareImage(img, vision::PreprocessOptions::plainImage()) == img);
    }
};

QTEST_GUILESS_MAIN(TestVision)
#include "test_vision.moc"
