// SPDX-License-Identifier: MIT
// The draft head's training: distilled from the target's hidden states on its own greedy tokens.
#include "decode/spec_decoder.h"
#include "demo/trainer_internal.h"
#include "model/draft_head.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace specvla::demo {

using namespace detail;

model::DraftConfig demoDraftConfig(const model::VlaConfig& target) {
    return model::DraftConfig::forTarget(target.text);
}

TrainedDraft trainDraft(const TrainedTarget& target, const DemoDataset& data,
                        const model::DraftConfig& config, const DraftTrainOptions& o,
                        const TrainProgress& progress) {
    if (data.samples.empty()) throw Error("demo trainer: no samples");
    const auto t0 = std::chrono::steady_clock::now();
    if (o.threads > 0) at::set_num_threads(o.threads);
    at::manual_seed(o.seed);
    const auto m = buildTarget(target);
    TrainedDraft out;
    out.config = config;
    out.vocabSize = target.config.text.vocabSize;

    // The samples the draft learns on: all, or maxSamples evenly spread.
    std::vector<int> chosen;
    const auto total = static_cast<std::int64_t>(data.samples.size());
    const std::int64_t keep = o.maxSamples > 0 ? std::min<std::int64_t>(o.maxSamples, total) : total;
    for (std::int64_t k = 0; k < keep; ++k)
        chosen.push_back(static_cast<int>(k * total / keep));
    // The target's own greedy action tokens for those samples (prompt-only contexts, no ground truth).
    std::vector<std::vector<int>> greedy(data.samples.size());
    std::size_t matches = 0;
    // Through the inference path (KV cache, one token at a time), so the contexts are exactly the ones the
    // draft sees when decoding.
    for (const int c : chosen) {
        const auto i = static_cast<std::size_t>(c);
        const DemoSample& s = data.samples[i];
        const data::Episode& e = data.episodes[static_cast<std::size_t>(s.episode)];
        decode::FrameContext ctx = decode::prepareFrame(*m, nullptr, data.inputs[i], e.instruction);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        greedy[i] = decode::decodeFrame(*m, nullptr, ctx, ar).tokens;
        if (greedy[i].size() != 7) throw Error("demo trainer: the target did not decode 7 tokens");
        for (std::size_t j = 0; j < 7; ++j)
            matches += greedy[i][j] == s.tokens[j];
    }
    out.greedyMatch = static_cast<double>(matches) / (7.0 * static_cast<double>(chosen.size()));

    const auto specs = model::draftTensorSpecs(config, out.vocabSize, /*withEmbedding=*/false);
    out.weights = initWeights(specs, o.seed, o.initStd);
    SetWeights w(*out.weights);
    const auto draft = model::DraftHead::create(config, w, *m);
    std::vector<at::Tensor> params;
    for (auto& [name, t] : out.weights->tensors)
        params.push_back(t.requires_grad_(true));
    // embed_tokens as the reference ships it (ignored at run time: the target's is shared).
    out.weights->tensors["embed_tokens.weight"] = m->llm().embedWeight().detach().clone();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0));

    const at::Tensor lmHead = m->llm().lmHeadWeight().detach();
    std::mt19937_64 rng(o.seed);
    const int kPositions = 6;
    for (int step = 0; step < o.steps; ++step) {
        setLr(opt, learningRate(o.lr, step, o.warmupSteps, o.steps));
        std::vector<int> idx = drawBatch(rng, static_cast<int>(chosen.size()), o.batchSize);
        for (int& i : idx)
            i = chosen[static_cast<std::size_t>(i)];
        std::vector<std::vector<int>> extra;
        for (int i : idx)
            extra.push_back(greedy[static_cast<std::size_t>(i)]);
        Batch b = makeBatch(*m, data, idx, extra);
        b.pixels = pixelsOfSamples(*m, data, idx);
        // The forward and the loss, in BF16 with bf16Compute (the target's forward too); the step in F32.
        at::Tensor loss, top1;
        {
            Bf16Compute lowPrecision(o.bf16Compute);
            at::Tensor x, h;
            {
                at::NoGradGuard noGrad;
                x = embedBatch(*m, b);
                h = m->llm().forward(x, at::arange(b.length, at::kLong), nullptr, {}, false).hidden;
            }
            const std::int64_t n = b.length - 1;
            const at::Tensor tokenIn = x.narrow(1, 1, n);
            at::Tensor hiddenIn = h.narrow(1, 0, n);
            const at::Tensor hiddenTarget = h.narrow(1, 1, n);
            if (o.noise > 0)
                hiddenIn = hiddenIn + (at::rand(hiddenIn.sizes(), hiddenIn.options()) - 0.5) * o.noise *
                                          512.0 / static_cast<double>(b.length);
            const at::Tensor hHat = draft->forward(tokenIn, hiddenIn, at::arange(n, at::kLong), nullptr, {});
            std::vector<std::int64_t> rows, cols;
            for (std::size_t k = 0; k < idx.size(); ++k)
                for (int j = 0; j < kPositions; ++j) {
                    rows.push_back(static_cast<std::int64_t>(k));
                    cols.push_back(b.promptLength[k] - 1 + j);
                }
            const at::Tensor r = at::tensor(rows), c = at::tensor(cols);
            const at::Tensor pred = hHat.index({r, c}), tgt = hiddenTarget.index({r, c});
            const at::Tensor vloss = at::smooth_l1_loss(pred, tgt);
            const at::Tensor tgtP = at::softmax(at::matmul(tgt, lmHead.t()), -1);
            const at::Tensor predLogits = at::matmul(pred, lmHead.t());
            const at::Tensor ploss = -(tgtP * at::log_softmax(predLogits, -1)).sum(-1).mean();
            loss = (o.valueWeight * vloss + o.probWeight * ploss).to(at::kFloat);
            top1 = (predLogits.argmax(-1) == tgtP.argmax(-1)).to(at::kFloat).mean();
        }
        applyStep(opt, loss, params, o.clipNorm);
        out.losses.push_back(loss.item<double>());
        out.draftTop1 = top1.item<double>();
        if (progress) progress(step, out.losses.back());
    }
    stopTraining(params);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void saveDraft(const std::string& dir, const TrainedDraft& d, const SaveOptions& o) {
    fs::create_directories(dir);
    io::SafetensorsWriter w;
    writeSet(w, model::draftTensorSpecs(d.config, d.vocabSize, /*withEmbedding=*/true), *d.weights, o.bf16);
    if (o.maxShardBytes > 0)
        w.writeSharded(dir, o.maxShardBytes);
    else
        w.writeFile((fs::path(dir) / "model.safetensors").string());
    io::writeFileAtomically((fs::path(dir) / "config.json").string(), d.config.toJson().dump(2));
}

} // namespace specvla::demo
