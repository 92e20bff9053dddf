// SPDX-License-Identifier: MIT
#pragma once

// A torch-free facade over the decoder for the workbench: the loaded target model, an optional draft head,
// the current episode and a byte-bounded LRU cache of prepared frame contexts (vision + prefills) keyed by
// step. Not thread-safe: one thread (the decoder worker) owns and uses it. The header includes no torch, so
// Qt translation units may include it.
#include "data/episode.h"
#include "decode/settings.h"
#include "decode/trace.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace specvla::vision {
struct PreprocessOptions;
}

namespace specvla::app {

// The two image paths of vision::PreprocessOptions, for callers that must not include torch headers.
enum class ImagePreprocess {
    Libero, // OpenVLA's LIBERO eval: rotate 180, JPEG round trip, resize, centre crop
    Plain,  // only the HF processor's resize
};

// decodeStep's cancellation (decode::Cancelled, re-thrown without its torch header).
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

struct FrameCacheStats {
    int entries = 0;
    std::size_t bytes = 0;
    std::size_t budgetBytes = 0;
    std::int64_t hits = 0;
    std::int64_t misses = 0; // frames prepared (vision + prefills)
    std::int64_t evictions = 0;
};

class Engine {
public:
    static constexpr std::size_t kDefaultCacheBytes = std::size_t(1) << 30;

    // device "cpu" / "cuda" / "cuda:N", dtype "bf16" / "fp32"; draftDir empty: AR only. Checks the
    // statistics key (an ambiguous or unknown key throws Error listing the keys). Throws specvla::Error.
    static std::unique_ptr<Engine> load(const std::string& modelDir, const std::string& draftDir,
                                        const std::string& device, const std::string& dtype,
                                        const std::string& unnormKey);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Replaces the episode and empties the frame cache; frames are prepared lazily, per step.
    void setEpisode(const data::Episode& episode, const vision::PreprocessOptions& preprocess);
    void setEpisode(const data::Episode& episode, ImagePreprocess preprocess);
    const data::Episode& episode() const;
    int numSteps() const; // 0 without an episode
    bool hasDraft() const;
    const std::string& modelDir() const;
    const std::string& draftDir() const;

    // Decodes step (0-based in the episode). The first decode of a step prepares its frame (vision and
    // prefills) and caches it; later decodes, at any margin or mode, re-decode from the cache. The engine's
    // first decode is preceded by an untimed one of the same frame, so one-off costs stay out of the traces'
    // latencies. cancel is
    // checked between rounds (throws app::Cancelled). Throws Error for a step out of range, no episode, or
    // a speculative mode without a draft head.
    decode::ActionTrace decodeStep(int step, const decode::DecodeSettings& settings,
                                   const std::atomic<bool>* cancel = nullptr);
    // The recorded action of a step, as a vector (for metrics::aggregate).
    std::vector<double> recordedAction(int step) const;

    FrameCacheStats cacheStats() const;
    void setCacheBudget(std::size_t bytes); // evicts down to the new budget
    void clearCache();

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace specvla::app
