// SPDX-License-Identifier: MIT
// Torch side of the facade. Includes no Qt, so torch's `slots` identifiers do not meet Qt's macros.
#include "engine/engine.h"

#include "common/error.h"
#include "decode/spec_decoder.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "vision/preprocess.h"

#include <algorithm>
#include <list>
#include <unordered_map>
#include <utility>

namespace specvla::app {

struct Engine::Impl {
    std::shared_ptr<model::VlaModel> target;
    std::shared_ptr<model::DraftHead> draft;
    std::string modelDir, draftDir;
    data::Episode episode;
    vision::PreprocessOptions preprocess;

    struct Entry {
        decode::FrameContext frame;
        std::size_t bytes = 0;
        std::list<int>::iterator lru;
    };
    std::unordered_map<int, Entry> frames;
    std::list<int> lru; // most recently used first
    FrameCacheStats stats;
    bool warmedUp = false; // the first decode after loading ran its untimed warm-up

    vision::RgbImage imageOf(int step) const {
        const std::uint8_t* pixels = episode.image(step);
        if (!pixels) throw Error("episode frame " + std::to_string(step) + " is missing");
        return vision::prepareImage(vision::fromBuffer(episode.imageWidth, episode.imageHeight, pixels),
                                    preprocess);
    }

    void evictTo(std::size_t budget, int keep) {
        while (stats.bytes > budget && !lru.empty()) {
            const int victim = lru.back();
            if (victim == keep) break; // the frame in use stays, even when alone it exceeds the budget
            auto it = frames.find(victim);
            stats.bytes -= it->second.bytes;
            frames.erase(it);
            lru.pop_back();
            ++stats.evictions;
        }
        stats.entries = static_cast<int>(frames.size());
    }

    decode::FrameContext& frameFor(int step, const decode::TreeShape& tree) {
        auto it = frames.find(step);
        if (it != frames.end()) { // any tree shape: decodeFrame grows the caches it needs
            lru.splice(lru.begin(), lru, it->second.lru);
            ++stats.hits;
            return it->second.frame;
        }
        Entry e;
        e.frame = decode::prepareFrame(*target, draft.get(), imageOf(step), episode.instruction, tree);
        e.bytes = e.frame.bytes();
        lru.push_front(step);
        e.lru = lru.begin();
        auto& inserted = frames.emplace(step, std::move(e)).first->second;
        ++stats.misses;
        stats.bytes += inserted.bytes;
        evictTo(stats.budgetBytes, step);
        return inserted.frame;
    }
};

Engine::Engine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const std::string& modelDir, const std::string& draftDir,
                                     const std::string& device, const std::string& dtype,
                                     const std::string& unnormKey) {
    auto impl = std::make_unique<Impl>();
    model::LoadOptions lo;
    lo.device = model::parseDevice(device);
    lo.dtype = model::parseDtype(dtype);
    lo.unnormKey = unnormKey;
    impl->target = model::VlaModel::load(modelDir, lo);
    impl->target->normStats(); // an ambiguous or unknown statistics key fails now, listing the keys
    if (!draftDir.empty()) impl->draft = model::DraftHead::load(draftDir, *impl->target);
    impl->modelDir = modelDir;
    impl->draftDir = draftDir;
    impl->stats.budgetBytes = kDefaultCacheBytes;
    return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

void Engine::setEpisode(const data::Episode& episode, const vision::PreprocessOptions& preprocess) {
    const std::string problem = episode.consistencyProblem();
    if (!problem.empty()) throw Error("episode " + episode.demoName + ": " + problem);
    clearCache();
    m_impl->episode = episode;
    m_impl->preprocess = preprocess;
}

void Engine::setEpisode(const data::Episode& episode, ImagePreprocess preprocess) {
    setEpisode(episode, preprocess == ImagePreprocess::Libero ? vision::PreprocessOptions::libero()
                                                              : vision::PreprocessOptions::plainImage());
}

const data::Episode& Engine::episode() const {
    return m_impl->episode;
}
int Engine::numSteps() const {
    return m_impl->episode.numSteps;
}
bool Engine::hasDraft() const {
    return m_impl->draft != nullptr;
}
const std::string& Engine::modelDir() const {
    return m_impl->modelDir;
}
const std::string& Engine::draftDir() const {
    return m_impl->draftDir;
}

decode::ActionTrace Engine::decodeStep(int step, const decode::DecodeSettings& settings,
                                       const std::atomic<bool>* cancel) {
    if (numSteps() == 0) throw Error("no episode is open");
    if (step < 0 || step >= numSteps())
        throw Error("step " + std::to_string(step) + " is out of range (episode has " +
                    std::to_string(numSteps()) + " steps)");
    if (settings.mode != decode::DecodeMode::Ar && !m_impl->draft)
        throw Error(std::string("mode ") + decode::modeName(settings.mode) +
                    " needs a draft head; load one or use AR mode");
    if (cancel && cancel->load()) throw Cancelled();
    try {
        if (!m_impl->warmedUp) {
            // One untimed decode of this frame, outside the cache, before the first timed one: one-off costs
            // (first allocations, thread pools, kernel choices) stay out of the first step's latency, as
            // `specvla bench` and reports keep them out of theirs.
            decode::FrameContext scratch =
                decode::prepareFrame(*m_impl->target, m_impl->draft.get(), m_impl->imageOf(step),
                                     m_impl->episode.instruction, settings.tree);
            decode::decodeFrame(*m_impl->target, m_impl->draft.get(), scratch, settings, cancel);
            m_impl->warmedUp = true;
        }
        decode::FrameContext& frame = m_impl->frameFor(step, settings.tree);
        return decode::decodeFrame(*m_impl->target, m_impl->draft.get(), frame, settings, cancel);
    } catch (const decode::Cancelled&) {
        throw Cancelled();
    }
}

std::vector<double> Engine::recordedAction(int step) const {
    const auto& a = m_impl->episode.actions.at(static_cast<std::size_t>(step));
    return {a.begin(), a.end()};
}

FrameCacheStats Engine::cacheStats() const {
    return m_impl->stats;
}

void Engine::setCacheBudget(std::size_t bytes) {
    m_impl->stats.budgetBytes = bytes;
    m_impl->evictTo(bytes, -1);
}

void Engine::clearCache() {
    m_impl->frames.clear();
    m_impl->lru.clear();
    m_impl->stats.bytes = 0;
    m_impl->stats.entries = 0;
}

} // namespace specvla::app
