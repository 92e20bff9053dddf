// SPDX-License-Identifier: MIT
#include "decode/spec_decoder.h"

#include "common/error.h"
#include "decode/acceptance.h"
#include "decode/child_selection.h"
#include "decode/draft_tree.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <limits>
#include <map>
#include <memory>

#if SPECVLA_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace specvla::decode {
namespace {

std::atomic<std::int64_t> g_targetPrefills{0}, g_draftPrefills{0}, g_targetPasses{0};

// Times stages. On CUDA with CUDA events recorded on the current stream (the lap waits for its event, so work
// is attributed to its stage); elsewhere with the steady clock after a device synchronisation.
class Laps {
public:
    explicit Laps(const c10::Device& d) : m_device(d), m_last(std::chrono::steady_clock::now()) {
#if SPECVLA_WITH_CUDA
        if (m_device.is_cuda()) {
            m_event = std::make_unique<at::cuda::CUDAEvent>(0u); // 0 = cudaEventDefault: timing enabled
            m_event->record();
        }
#endif
    }
    double lap() {
#if SPECVLA_WITH_CUDA
        if (m_event) {
            auto next = std::make_unique<at::cuda::CUDAEvent>(0u);
            next->record();
            next->synchronize();
            const double ms = m_event->elapsed_time(*next);
            m_event = std::move(next);
            return ms;
        }
#endif
        model::synchronize(m_device);
        const auto t = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(t - m_last).count();
        m_last = t;
        return ms;
    }

private:
    c10::Device m_device;
    std::chrono::steady_clock::time_point m_last;
#if SPECVLA_WITH_CUDA
    std::unique_ptr<at::cuda::CUDAEvent> m_event;
#endif
};

at::Tensor longTensor(const std::vector<std::int64_t>& v, const c10::Device& d) {
    return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(d);
}

int argmaxLast(const at::Tensor& logits) {
    return static_cast<int>(logits[0][-1].argmax().item<std::int64_t>());
}

// The k most likely children of each row of logProbs [n, V] (one topk for all rows; plain reads of the
// results instead of per-element tensor indexing, which costs microseconds per element).
std::vector<std::vector<TokenLogProb>> topChildren(const at::Tensor& logProbs, int k) {
    const auto top = logProbs.topk(k, -1);
    const at::Tensor values = std::get<0>(top).to(at::kCPU, at::kFloat).contiguous();
    const at::Tensor indices = std::get<1>(top).to(at::kCPU).contiguous();
    const float* v = values.data_ptr<float>();
    const std::int64_t* ix = indices.data_ptr<std::int64_t>();
    const std::int64_t rows = values.size(0);
    std::vector<std::vector<TokenLogProb>> out(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r)
        for (int i = 0; i < k; ++i)
            out[static_cast<std::size_t>(r)].emplace_back(static_cast<int>(ix[r * k + i]), v[r * k + i]);
    return out;
}

// The children of each row of logProbs [n, V] as the settings choose them; dims[r] is the action dimension of
// row r's children. Bin coverage needs each row's action-token log-probs (by bin) and its best non-action
// tokens; rows without a margin keep plain top-k.
std::vector<std::vector<TokenLogProb>> childrenOf(const at::Tensor& logProbs, const std::vector<int>& dims,
                                                  const DecodeSettings& s, const ActionTokenizer& tok) {
    const int k = s.tree.topK;
    std::vector<std::vector<TokenLogProb>> out = topChildren(logProbs, k);
    if (s.children != ChildChoice::BinCoverage || s.mode != DecodeMode::Relaxed) return out;
    bool relaxed = false;
    for (int d : dims)
        relaxed = relaxed || s.marginFor(d) > 0;
    const int first = tok.firstActionToken(), nBins = tok.nBins();
    if (!relaxed || first < 0 || tok.lastActionToken() >= logProbs.size(-1)) return out;
    // Token base - 1 - bin carries bin: the id-ordered slice runs from the last bin down, so flip it.
    const at::Tensor actions =
        logProbs.narrow(-1, first, nBins).flip(-1).to(at::kCPU, at::kFloat).contiguous();
    at::Tensor others = logProbs.clone();
    others.narrow(-1, first, nBins).fill_(-std::numeric_limits<float>::infinity());
    const std::vector<std::vector<TokenLogProb>> bestOthers =
        topChildren(others, std::min<std::int64_t>(k, logProbs.size(-1)));
    const float* a = actions.data_ptr<float>();
    for (std::size_t r = 0; r < out.size(); ++r) {
        const int margin = s.marginFor(dims[r]);
        if (margin <= 0) continue;
        const std::vector<float> row(a + r * nBins, a + (r + 1) * nBins);
        out[r] = binCoverageChildren(row, bestOthers[r], tok, margin, k);
    }
    return out;
}

void fillTokenFields(ActionTrace& t, const model::VlaModel& m, const NormStats& stats) {
    const ActionTokenizer& at = m.actionTokenizer();
    t.bins.clear();
    for (int id : t.tokens)
        t.bins.push_back(at.binOfToken(id));
    t.normalized = at.decode(t.tokens);
    t.action = unnormalize(t.normalized, stats);
}

} // namespace

std::size_t FrameContext::bytes() const {
    std::size_t b = 0;
    for (const model::KvCache* c : {&targetCache, &draftCache})
        for (int l = 0; l < c->layers(); ++l)
            b += static_cast<std::size_t>(c->keys(l).nbytes() + c->values(l).nbytes());
    return b;
}

WorkCounters workCounters() {
    return {model::VisionTower::totalFeatureCalls(), g_targetPrefills.load(), g_draftPrefills.load(),
            g_targetPasses.load()};
}

FrameContext prepareFrame(const model::VlaModel& m, const model::DraftHead* draft,
                          const vision::RgbImage& image, const std::string& instruction,
                          const TreeShape& tree) {
    return prepareFrame(m, draft, image, m.promptIds(instruction), tree);
}

FrameContext prepareFrame(const model::VlaModel& m, const model::DraftHead* draft,
                          const vision::RgbImage& image, const std::vector<int>& prompt,
                          const TreeShape& tree) {
    c10::InferenceMode guard;
    FrameContext f;
    Laps laps(m.device());
    const auto& a = m.featurizerConfig();
    const auto& b = m.fusedFeaturizerConfig();
    const at::Tensor pixels = vision::pixelValues(image, a.mean, a.std, b.mean, b.std, a.imageSize);
    const at::Tensor patches = m.encodeImage(pixels);
    f.prepareMs.vision = laps.lap();

    const at::Tensor embeds = m.multimodalEmbeds(patches, prompt);
    f.promptLength = static_cast<int>(embeds.size(1));
    f.textLength = static_cast<int>(prompt.size());
    // Room for the longest decode: 7 committed tokens plus one verified tree (target), the tree's fed levels
    // (draft).
    const int extra = 8 + std::max(tree.totalTokens, 1) + tree.topK * (tree.depth + 1);
    f.targetCache = m.llm().makeCache(f.promptLength + extra);
    const at::Tensor pos =
        at::arange(f.promptLength, at::TensorOptions().dtype(at::kLong).device(m.device()));
    // Without a draft nothing reads the prompt's other states: the last layer skips them.
    const model::LlamaOutput out = m.llm().forward(embeds, pos, &f.targetCache, {}, /*logitsForAll=*/false,
                                                   nullptr, /*lastOnly=*/draft == nullptr);
    ++g_targetPrefills;
    ++g_targetPasses;
    f.firstToken = argmaxLast(out.logits);

    if (draft) {
        // EAGLE shift: position i pairs the embedding of token i+1 with the target's hidden state at i; the
        // last position pairs the first generated token with the last prompt state.
        const at::Tensor next = m.llm().embed(longTensor({f.firstToken}, m.device()).unsqueeze(0));
        const at::Tensor tokenEmbeds = at::cat({embeds.narrow(1, 1, f.promptLength - 1), next}, 1);
        f.draftCache = draft->makeCache(f.promptLength + extra);
        // Drafting starts from the last state only; the others' keys and values fill the draft's cache.
        f.draftLastHidden =
            draft->forward(tokenEmbeds, out.hidden, pos, &f.draftCache, {}, /*lastOnly=*/true);
        ++g_draftPrefills;
    }
    f.prepareMs.prefill = laps.lap();
    return f;
}

namespace {

ActionTrace decodeArFromFrame(const model::VlaModel& m, FrameContext& f, const DecodeSettings& s,
                              const NormStats& stats) {
    ActionTrace t;
    t.settings = s;
    Laps laps(m.device());
    f.targetCache.truncate(f.promptLength);
    const auto opts = at::TensorOptions().dtype(at::kLong).device(m.device());
    int next = f.firstToken;
    t.targetPasses = 1;
    for (int i = 0; i < s.maxTokens; ++i) {
        t.tokens.push_back(next);
        if (i + 1 == s.maxTokens) break;
        const auto out = m.llm().forward(m.llm().embed(at::full({1, 1}, next, opts)),
                                         at::full({1}, f.promptLength + i, opts), &f.targetCache, {}, false);
        ++t.targetPasses;
        ++g_targetPasses;
        next = argmaxLast(out.logits);
    }
    t.ms.verify = laps.lap();
    fillTokenFields(t, m, stats);
    t.ms.other = laps.lap();
    return t;
}

// Expands one EAGLE-2 tree from the draft's state; leaves the draft cache as it found it.
DraftTree expandTree(const model::VlaModel& m, const model::DraftHead& d, FrameContext& f, int root,
                     const DecodeSettings& s, int committed, int& draftPasses) {
    const int stable = f.draftCache.length();
    DraftTreeBuilder builder(s.tree, root);
    const ActionTokenizer& tok = m.actionTokenizer();
    builder.addRootChildren(
        childrenOf(at::log_softmax(d.logits(f.draftLastHidden)[0], -1), {committed + 1}, s, tok).front());

    std::map<int, at::Tensor> outHidden; // candidate -> draft output [D]
    std::map<int, int> slot;             // candidate -> index among the fed tree entries
    int fed = 0;
    const auto dev = m.device();
    // Stops early once no deeper draft could enter the reranked tree (the tree is the same as after all
    // `depth` expansions; see frontierCanEnterTree).
    for (int step = 0; step < s.tree.depth && builder.frontierCanEnterTree(); ++step) {
        const std::vector<int> frontier = builder.frontier();
        const int n = static_cast<int>(frontier.size());
        std::vector<std::int64_t> ids, positions;
        std::vector<int> childDims;
        std::vector<at::Tensor> parentHidden;
        const int width = stable + fed + n;
        std::vector<std::uint8_t> maskBytes(static_cast<std::size_t>(n) * width, 0);
        for (int j = 0; j < n; ++j) {
            const Candidate& c = builder.candidates()[frontier[j]];
            ids.push_back(c.token);
            parentHidden.push_back(c.parent < 0 ? f.draftLastHidden[0][0] : outHidden.at(c.parent));
            std::uint8_t* row = maskBytes.data() + static_cast<std::size_t>(j) * width;
            std::fill(row, row + stable, std::uint8_t(1));
            for (int a : builder.ancestors(frontier[j]))
                row[stable + slot.at(a)] = 1;
            row[stable + fed + j] = 1;
            // Correct convention: a node at depth k sits at draft_kv_len + k - 1. The reference's quirk uses
            // the text length (round 0: 0) instead of the multimodal one.
            const int base =
                s.referencePositionQuirk ? (committed == 0 ? 0 : f.textLength + committed) : stable;
            positions.push_back(base + c.depth - 1);
            childDims.push_back(committed + c.depth + 1);
        }
        const at::Tensor emb = d.embed(longTensor(ids, dev).unsqueeze(0));
        const at::Tensor mask = at::from_blob(maskBytes.data(), {n, width}, at::kByte).to(dev, at::kBool);
        const at::Tensor out = d.forward(emb, at::stack(parentHidden).unsqueeze(0),
                                         longTensor(positions, dev), &f.draftCache, mask);
        const std::vector<std::vector<TokenLogProb>> children =
            childrenOf(at::log_softmax(d.logits(out)[0], -1), childDims, s, tok);
        for (int j = 0; j < n; ++j) {
            outHidden[frontier[j]] = out[0][j];
            slot[frontier[j]] = fed + j;
        }
        fed += n;
        ++draftPasses;
        builder.expand(children);
    }
    f.draftCache.truncate(stable);
    return builder.finalize();
}

} // namespace

ActionTrace decodeFrame(const model::VlaModel& m, const model::DraftHead* d, FrameContext& f,
                        const DecodeSettings& s, const std::atomic<bool>* cancel) {
    c10::InferenceMode guard;
    if (s.maxTokens < 1 || s.maxTokens > 7) throw Error("maxTokens must be 1..7");
    const NormStats stats = m.normStats(); // fails before any work when the statistics key is ambiguous
    const bool cached = f.decodes++ > 0;
    // The first decode of a frame carries the frame's vision and prefill cost; later ones reuse them.
    const StageTimes prepared = cached ? StageTimes{} : f.prepareMs;
    if (s.mode == DecodeMode::Ar) {
        ActionTrace t = decodeArFromFrame(m, f, s, stats);
        t.fromCache = cached;
        t.ms.vision = prepared.vision;
        t.ms.prefill = prepared.prefill;
        return t;
    }
    if (!d || f.draftCache.empty())
        throw Error(std::string("mode ") + modeName(s.mode) +
                    " needs a draft head; load one or use --mode ar");
    if (s.tree.topK < 1 || s.tree.depth < 1 || s.tree.totalTokens < 2)
        throw Error("tree shape needs top-k >= 1, depth >= 1 and at least 2 tokens");

    ActionTrace t;
    t.settings = s;
    t.fromCache = cached;
    t.targetPasses = 1;
    t.draftPasses = 1;
    f.targetCache.truncate(f.promptLength);
    f.draftCache.truncate(f.promptLength);
    // A tree larger than the one the frame was prepared for grows the caches once.
    f.targetCache.ensureCapacity(f.promptLength + s.maxTokens + s.tree.totalTokens + 1);
    f.draftCache.ensureCapacity(f.promptLength + s.maxTokens + s.tree.topK * (s.tree.depth + 1) + 1);
    at::Tensor lastHidden = f.draftLastHidden; // restored at the end: the context stays reusable
    const auto dev = m.device();
    int root = f.firstToken;

    while (static_cast<int>(t.tokens.size()) < s.maxTokens) {
        if (cancel && cancel->load()) {
            f.draftLastHidden = lastHidden;
            throw Cancelled();
        }
        if (static_cast<int>(t.tokens.size()) + 1 == s.maxTokens) {
            // Only the root is missing: it is already the target's greedy token (the last bonus), and no
            // draft could follow it under the cap, so committing it needs no verify pass.
            t.tokens.push_back(root);
            break;
        }
        RoundTrace r;
        r.index = static_cast<int>(t.rounds.size());
        r.committedBefore = static_cast<int>(t.tokens.size());
        Laps laps(dev);

        const DraftTree tree = expandTree(m, *d, f, root, s, r.committedBefore, t.draftPasses);
        r.ms.draft = laps.lap();

        // Verify: root and all draft nodes in one target pass, each node seeing the prefix and its ancestors.
        const int base = f.targetCache.length();
        const int n = tree.size();
        std::vector<std::int64_t> ids(tree.tokens.begin(), tree.tokens.end()), pos;
        for (int i = 0; i < n; ++i)
            pos.push_back(base + tree.depth[i]);
        at::Tensor mask =
            at::from_blob(const_cast<std::uint8_t*>(tree.mask.data()), {n, n}, at::kByte).to(at::kBool);
        const model::LlamaOutput out =
            m.llm().forward(m.llm().embed(longTensor(ids, dev).unsqueeze(0)), longTensor(pos, dev),
                            &f.targetCache, mask.to(dev), true);
        ++t.targetPasses;
        ++g_targetPasses;
        const at::Tensor greedyT = out.logits[0].argmax(-1).to(at::kCPU).contiguous();
        const std::int64_t* greedyP = greedyT.data_ptr<std::int64_t>();
        std::vector<int> greedy(greedyP, greedyP + n);
        r.ms.verify = laps.lap();

        const Acceptance acc = acceptTree(tree, greedy, r.committedBefore, s, m.actionTokenizer());
        for (int i : acc.acceptedPath)
            t.tokens.push_back(tree.tokens[i]);
        std::vector<std::int64_t> offsets(acc.acceptedPath.begin(), acc.acceptedPath.end());
        f.targetCache.compact(base, offsets);

        const ActionTokenizer& at = m.actionTokenizer();
        for (int i = 0; i < n; ++i) {
            TreeNode node;
            node.token = tree.tokens[i];
            node.bin = at.binOfToken(node.token);
            node.parent = tree.parent[i];
            node.depth = tree.depth[i];
            node.dim = r.committedBefore + tree.depth[i];
            node.draftLogProb = tree.logProb[i];
            node.score = tree.score[i];
            node.targetToken = greedy[i];
            node.targetBin = at.binOfToken(greedy[i]);
            node.binDistance = acc.binDistance[i];
            node.verdict = acc.verdicts[i];
            r.nodes.push_back(node);
        }
        r.acceptedPath = acc.acceptedPath;
        r.acceptedDrafts = acc.acceptedDrafts;
        r.exactAccepted = acc.exactAccepted;
        r.relaxedAccepted = acc.relaxedAccepted;
        r.bonusToken = acc.bonusToken;
        r.capped = acc.capped;
        r.bonusCommitted = static_cast<int>(t.tokens.size()) < s.maxTokens;
        r.ms.other = laps.lap();

        if (r.bonusCommitted) root = acc.bonusToken;
        // Only the bonus missing: the next iteration commits it without drafting, so the draft needs no
        // update.
        if (r.bonusCommitted && static_cast<int>(t.tokens.size()) + 1 < s.maxTokens) {
            // Draft update: the accepted nodes' target states paired with the next tokens (the accepted
            // drafts, then the bonus), appended to the draft's stable prefix.
            std::vector<std::int64_t> nextIds, nextPos;
            for (std::size_t k = 1; k < acc.acceptedPath.size(); ++k)
                nextIds.push_back(tree.tokens[acc.acceptedPath[k]]);
            nextIds.push_back(acc.bonusToken);
            const int stable = f.draftCache.length();
            for (std::size_t k = 0; k < nextIds.size(); ++k)
                nextPos.push_back(stable + static_cast<int>(k));
            const at::Tensor hidden = out.hidden.index_select(1, longTensor(offsets, dev));
            f.draftLastHidden = d->forward(d->embed(longTensor(nextIds, dev).unsqueeze(0)), hidden,
                                           longTensor(nextPos, dev), &f.draftCache, {}, /*lastOnly=*/true);
            ++t.draftPasses;
            r.ms.draft += laps.lap();
        }
        t.ms += r.ms;
        t.rounds.push_back(std::move(r));
    }
    f.draftLastHidden = lastHidden;
    Laps laps(dev);
    fillTokenFields(t, m, stats);
    t.ms.other += laps.lap();
    t.ms.vision = prepared.vision;
    t.ms.prefill = prepared.prefill;
    return t;
}

} // namespace specvla::decode
