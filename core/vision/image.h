// SPDX-License-Identifier: MIT
#pragma once

// A plain 8-bit RGB image: no torch, no OpenCV, so the UI and the torch-free headers can pass frames around.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace specvla::vision {

struct RgbImage {
    int width = 0;
    int height = 0;
    // Row-major, interleaved R, G, B: pixel (x, y) channel c is pixels[(y * width + x) * 3 + c], the layout
    // of a numpy HWC uint8 array, a PIL "RGB" image and a TF image tensor.
    std::vector<std::uint8_t> pixels;

    static constexpr int kChannels = 3;

    // A zero-filled (black) image of the given size.
    static RgbImage blank(int w, int h) {
        RgbImage img;
        if (w <= 0 || h <= 0) return img;
        img.width = w;
        img.height = h;
        img.pixels.assign(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * kChannels, 0);
        return img;
    }

    bool empty() const { return width <= 0 || height <= 0 || pixels.empty(); }
    // True when the buffer holds exactly width * height * 3 bytes.
    bool valid() const {
        return width > 0 && height > 0 &&
               pixels.size() ==
                   static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * kChannels;
    }

    std::size_t index(int x, int y, int c) const {
        return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                   kChannels +
               static_cast<std::size_t>(c);
    }
    std::uint8_t& at(int x, int y, int c) { return pixels[index(x, y, c)]; }
    std::uint8_t at(int x, int y, int c) const { return pixels[index(x, y, c)]; }

    bool operator==(const RgbImage& o) const {
        return width == o.width && height == o.height && pixels == o.pixels;
    }
    bool operator!=(const RgbImage& o) const { return !(*this == o); }
};

} // namespace specvla::vision
