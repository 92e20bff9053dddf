// SPDX-License-Identifier: MIT
#pragma once

// Speculative decoding with relaxed acceptance (Spec-VLA) over an EAGLE-2 dynamic draft tree, and the AR
// baseline, both decoding from a cached per-frame context. Torch side: include from .cpp files only; the UI
// goes through decode/engine.h.
#include "decode/trace.h"
#include "model/kv_cache.h"
#include "vision/image.h"

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace specvla::model {
class VlaModel;
class DraftHead;
} // namespace specvla::model

namespace specvla::decode {

// Everything a frame costs before the first decode round: vision, projector, target prefill and draft
// prefill. Decoding truncates the caches back to the prefix, so a new margin or tree shape re-decodes
// without recomputing any of it.
struct FrameContext {
    int promptLength = 0; // L: BOS + patches + text
    int textLength = 0;   // T: text tokens incl. BOS and the space token (the reference's position quirk)
    int firstToken = -1;  // the target's greedy token after the prefill (action token 1)
    model::KvCache targetCache;
    model::KvCache draftCache;  // empty without a draft head
    at::Tensor draftLastHidden; // [1, 1, D]: draft output at the last prefix position
    StageTimes prepareMs;       // vision and prefill
    int decodes = 0;            // decodes run from this context so far
    std::size_t bytes() const;  // memory held by the caches
};

// Work counters of this process, so tests can show that cached frames do no vision or prefill work.
struct WorkCounters {
    std::int64_t visionForwards = 0;
    std::int64_t targetPrefills = 0;
    std::int64_t draftPrefills = 0;
    std::int64_t targetPasses = 0; // all target forwards, prefills included
};
WorkCounters workCounters();

class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "decode cancelled"; }
};

// image: after the dataset's preprocessing (vision::prepareImage). draft may be null (AR only). Extra cache
// capacity covers the longest decode of `tree`.
FrameContext prepareFrame(const model::VlaModel& target, const model::DraftHead* draft,
                          const vision::RgbImage& image, const std::string& instruction,
                          const TreeShape& tree = {});
// The same from prompt token ids ([BOS] + text + space token), for synthetic inputs without a tokenizer.
FrameContext prepareFrame(const model::VlaModel& target, const model::DraftHead* draft,
                          const vision::RgbImage& image, const std::vector<int>& promptIds,
                          const TreeShape& tree = {});

// Decodes one action from the context in settings.mode. Speculative modes need the draft. cancel is checked
// between rounds (throws Cancelled). Under inference mode. The returned trace's ms covers this decode only;
// fromCache tells whether the context had been used before.
ActionTrace decodeFrame(const model::VlaModel& target, const model::DraftHead* draft, FrameContext& frame,
                        const DecodeSettings& settings, const std::atomic<bool>* cancel = nullptr);

} // namespace specvla::decode
