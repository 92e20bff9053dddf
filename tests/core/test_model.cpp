// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "decode/spec_decoder.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "model/draft_head.h"
#include "model/linear.h"
#include "model/tensor_specs.h"
#include "model/vla_model.h"
#include "support/test_support.h"
#include "support/tiny_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using namespace specvla;
using specvla::testing::errorOf;
namespace fs = std::filesystem;

namespace {

// Rewrites the shard that holds `name`, replacing that tensor by fn(tensor) (or dropping it when fn returns
// an undefined tensor).
void rewriteTensor(const std::string& dir, const std::string& name,
                   const std::function<at::Tensor(at::Tensor)>& fn) {
    const auto ckpt = io::Checkpoint::open(dir);
    const auto& e = ckpt.at(name);
    const auto& shard = ckpt.shard(e.shard);
    io::SafetensorsWriter w;
    for (const auto& t : shard.tensors()) {
        at::Tensor v = io::tensorView(shard, t).clone();
        if (t.name == name) v = fn(v);
        if (v.defined()) io::addTensor(w, t.name, v);
    }
    w.writeFile(shard.path());
}

vision::RgbImage syntheticImage(int size, int seed) {
    vision::RgbImage img = vision::RgbImage::blank(size, size);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
            for (int c = 0; c < 3; ++c)
                img.at(x, y, c) = static_cast<std::uint8_t>((x * 7 + y * 13 + c * 50 + seed * 31) % 256);
    return img;
}

at::Tensor positions(std::int64_t from, std::int64_t n) {
    return at::arange(from, from + n, at::kLong);
}

} // namespace

class TestModel : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_modelDir;
    std::shared_ptr<model::VlaModel> m_model;
    std::string path(const std::string& n) const {
        return m_dir.filePath(QString::fromStdString(n)).toStdString();
    }

    // A random prefix of embeddings [1, n, D] from real token ids.
    at::Tensor randomEmbeds(int n, int seed) const {
        at::manual_seed(seed);
        const at::Tensor ids = at::randint(3, 300, {1, n}, at::kLong);
        return m_model->llm().embed(ids);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_modelDir = path("tiny-openvla");
        const std::string e = errorOf([&] {
            testing::writeTinyModel(m_modelDir);
            model::LoadOptions o;
            o.dtype = at::kFloat;
            m_model = model::VlaModel::load(m_modelDir, o);
        });
        QVERIFY2(e.empty() && m_model, e.c_str());
    }

    void configDefaultsAndFallbacks() {
        const auto c = model::VlaConfig::fromJson(nlohmann::json::parse(R"({"model_type": "openvla",
            "text_config": {"model_type": "llama", "pad_token_id": 32000, "vocab_size": 32064}})"),
                                                  "config.json");
        QCOMPARE(c.featurizer.hiddenSize, 1024);
        QCOMPARE(c.featurizer.featureLayer, 22);
        QCOMPARE(c.fusedFeaturizer.hiddenSize, 1152);
        QCOMPARE(c.fusedFeaturizer.featureLayer, 25);
        QCOMPARE(c.text.hiddenSize, 4096);
        QCOMPARE(c.text.numLayers, 32);
        QCOMPARE(c.text.rmsNormEps, 1e-6); // LlamaConfig default, not Llama-2's 1e-5
        QCOMPARE(c.text.numKvHeads, 32);
        QCOMPARE(c.actionVocabBase(), 32000);
        QCOMPARE(c.visionDim(), 2176);
        QCOMPARE(c.projectorHidden(), 8704);
        // a round trip through toJson keeps every size
        const auto tiny = testing::tinyVlaConfig(400);
        const auto back = model::VlaConfig::fromJson(tiny.toJson(), "x.json");
        QCOMPARE(back.featurizer.numRegisters, 2);
        QCOMPARE(back.fusedFeaturizer.hiddenSize, 24);
        QCOMPARE(back.text.numKvHeads, 2);
        QCOMPARE(back.text.vocabSize, 464);
    }

    void badConfigsAreNamed() {
        auto err = [](const char* json) {
            return errorOf([&] { model::VlaConfig::fromJson(nlohmann::json::parse(json), "cfg.json"); });
        };
        QVERIFY(err(R"({"model_type": "bert"})").find("model_type 'bert'") != std::string::npos);
        std::string e = err(R"({"model_type": "openvla", "text_config": {"hidden_size": "big"}})");
        QVERIFY2(e.find("cfg.json: config.text_config.hidden_size: expected an integer") != std::string::npos,
                 e.c_str());
        e = err(R"({"model_type": "openvla", "timm_model_ids": ["vit_tiny", "vit_small"]})");
        QVERIFY2(e.find("'vit_tiny' has no built-in geometry") != std::string::npos, e.c_str());
        e = err(R"({"model_type": "openvla", "text_config": {"num_attention_heads": 5}})");
        QVERIFY2(e.find("not divisible") != std::string::npos, e.c_str());
        e = err(R"({"model_type": "openvla", "text_config": {"rope_scaling": {"type": "linear"}}})");
        QVERIFY2(e.find("rope_scaling") != std::string::npos, e.c_str());
        const auto dir = path("badjson");
        fs::create_directories(dir);
        testing::writeBytes(dir + "/config.json", "{\"model_type\": ");
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("config.json: invalid JSON") != std::string::npos, e.c_str());
    }

    void loadReportsMappingAndUnusedKeys() {
        model::LoadOptions o;
        o.dtype = at::kFloat;
        model::LoadReport r;
        auto m = model::VlaModel::load(m_modelDir, o, &r);
        QVERIFY(r.mappedBytes > 0);
        QCOMPARE(r.copiedBytes,
                 0ull); // fp32 checkpoint loaded as fp32: every weight is a view of the mapping
        auto has = [&](const std::string& k) {
            return std::find(r.unusedKeys.begin(), r.unusedKeys.end(), k) != r.unusedKeys.end();
        };
        QVERIFY(has("vision_backbone.featurizer.blocks.2.attn.qkv.weight"));
        QVERIFY(has("vision_backbone.featurizer.norm.weight"));
        QVERIFY(has("vision_backbone.fused_featurizer.attn_pool.latent"));
        QVERIFY(has("vision_backbone.fused_featurizer.blocks.1.mlp.fc1.weight"));
        QVERIFY(!has("language_model.lm_head.weight"));
        QCOMPARE(
            r.mappedBytes + r.copiedBytes +
                [&] {
                    std::uint64_t unused = 0;
                    const auto ck = io::Checkpoint::open(m_modelDir);
                    for (const auto& k : r.unusedKeys)
                        unused += ck.at(k).info.byteSize();
                    return unused;
                }(),
            r.checkpointBytes);
        // the embedding is a zero-copy view into the shard mapping
        const auto ck = io::Checkpoint::open(m_modelDir);
        QCOMPARE(m->llm().embedWeight().data_ptr<float>()[5],
                 io::tensorView(ck, "language_model.model.embed_tokens.weight").data_ptr<float>()[5]);
        model::LoadOptions b;
        b.dtype = at::kBFloat16;
        model::LoadReport rb;
        auto mb = model::VlaModel::load(m_modelDir, b, &rb);
        QCOMPARE(rb.mappedBytes, 0ull);
        QVERIFY(rb.copiedBytes > 0);
        QCOMPARE(mb->llm().embedWeight().scalar_type(), at::kBFloat16);
    }

    void incrementalDecodingMatchesFullRecompute() {
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const int L = 12, extra = 5;
        const at::Tensor emb = randomEmbeds(L + extra, 3);
        const auto full = llm.forward(emb, positions(0, L + extra), nullptr);
        auto cache = llm.makeCache(64);
        auto inc = llm.forward(emb.narrow(1, 0, L), positions(0, L), &cache);
        at::Tensor logits = inc.logits;
        for (int i = 0; i < extra; ++i) {
            const auto step = llm.forward(emb.narrow(1, L + i, 1), positions(L + i, 1), &cache);
            logits = at::cat({logits, step.logits}, 1);
        }
        QCOMPARE(cache.length(), L + extra);
        const double diff = (logits - full.logits).abs().max().item<double>();
        QVERIFY2(diff < 1e-4, QByteArray::number(diff)); // fp32: only summation order differs
    }

    void rowwiseLinearMatchesAtLinear() {
        // Decode passes take the one-row-at-a-time matrix-vector path; it must give at::linear's result
        // (up to summation order) for every row count, shape and bias, and hand autograd to at::linear.
        at::manual_seed(7);
        const at::Tensor w = at::randn({37, 24}), b = at::randn({37});
        for (int rows = 1; rows <= 5; ++rows) {
            for (const auto& shape : {std::vector<std::int64_t>{rows, 24}, {1, rows, 24}}) {
                const at::Tensor x = at::randn(shape);
                for (bool bias : {false, true}) {
                    const at::Tensor got = bias ? model::linear(x, w, b) : model::linear(x, w);
                    const at::Tensor want = bias ? at::linear(x, w, b) : at::linear(x, w);
                    QCOMPARE(got.sizes().vec(), want.sizes().vec());
                    QVERIFY((got - want).abs().max().item<double>() < 1e-5);
                }
            }
        }
        const at::Tensor x = at::randn({1, 1, 24}).requires_grad_(true);
        model::linear(x, w, b).sum().backward();
        QVERIFY(x.grad().defined());
        QVERIFY((x.grad()[0][0] - w.sum(0)).abs().max().item<double>() < 1e-5);
        // Other dtypes pass through unchanged.
        const at::Tensor xd = at::randn({1, 24}, at::kDouble);
        QCOMPARE(model::linear(xd, w.to(at::kDouble)).scalar_type(), at::kDouble);
    }

    void lastOnlySkipsTheOtherPositionsExactly() {
        // A prefill that needs only the last position's state (AR without a draft; the draft's prompt pass)
        // gives the full pass's last hidden state and logits, leaves the same keys and values in the cache,
        // and later passes over that cache match; after a cached prefix and under a tree mask too.
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const int L = 11, extra = 3;
        const at::Tensor emb = randomEmbeds(L + extra, 21);
        auto fullCache = llm.makeCache(32), lastCache = llm.makeCache(32);
        const auto full = llm.forward(emb.narrow(1, 0, L), positions(0, L), &fullCache, {}, false);
        const auto last =
            llm.forward(emb.narrow(1, 0, L), positions(0, L), &lastCache, {}, true, nullptr, true);
        QCOMPARE(last.hidden.sizes().vec(), (std::vector<std::int64_t>{1, 1, llm.config().hiddenSize}));
        QCOMPARE(last.logits.size(1), 1);
        auto maxDiff = [](const at::Tensor& a, const at::Tensor& b) {
            return (a - b).abs().max().item<double>();
        };
        QVERIFY(maxDiff(last.hidden, full.hidden.narrow(1, L - 1, 1)) < 1e-5);
        QVERIFY(maxDiff(last.logits, full.logits) < 1e-4);
        QCOMPARE(lastCache.length(), fullCache.length());
        for (int l = 0; l < llm.config().numLayers; ++l) {
            QVERIFY(maxDiff(lastCache.keys(l).narrow(2, 0, L), fullCache.keys(l).narrow(2, 0, L)) < 1e-5);
            QVERIFY(maxDiff(lastCache.values(l).narrow(2, 0, L), fullCache.values(l).narrow(2, 0, L)) < 1e-5);
        }
        // Three new positions after the prefix under a tree mask (1 and 2 both children of 0).
        const at::Tensor tree = at::tensor({1, 0, 0, 1, 1, 0, 1, 0, 1}, at::kLong).view({3, 3}).to(at::kBool);
        const auto fullNext =
            llm.forward(emb.narrow(1, L, extra), positions(L, extra), &fullCache, tree, true);
        const auto lastNext =
            llm.forward(emb.narrow(1, L, extra), positions(L, extra), &lastCache, tree, true, nullptr, true);
        QVERIFY(maxDiff(lastNext.logits, fullNext.logits.narrow(1, extra - 1, 1)) < 1e-4);
        QVERIFY(maxDiff(lastNext.hidden, fullNext.hidden.narrow(1, extra - 1, 1)) < 1e-5);
        QCOMPARE(lastCache.length(), L + extra);

        // The draft head's prompt pass likewise.
        const auto dir = path("draft_last");
        testing::writeTinyDraft(dir, m_model->config(), 4, false);
        const auto d = model::DraftHead::load(dir, *m_model);
        const at::Tensor hid = randomEmbeds(L, 22);
        auto da = d->makeCache(32), db = d->makeCache(32);
        const at::Tensor all = d->forward(emb.narrow(1, 0, L), hid, positions(0, L), &da);
        const at::Tensor one = d->forward(emb.narrow(1, 0, L), hid, positions(0, L), &db, {}, true);
        QCOMPARE(one.size(1), 1);
        QVERIFY(maxDiff(one, all.narrow(1, L - 1, 1)) < 1e-5);
        for (int l = 0; l < da.layers(); ++l)
            QVERIFY(maxDiff(da.keys(l).narrow(2, 0, L), db.keys(l).narrow(2, 0, L)) < 1e-5);

        // A capture needs every position's outputs.
        model::AttentionCapture capture;
        capture.layer = 0;
        const std::string e = errorOf([&] {
            model::runLayers({}, llm.config(), emb, positions(0, L + extra), nullptr, {}, &capture, 1);
        });
        QVERIFY2(e.find("capture needs every position") != std::string::npos, e.c_str());
    }

    void attentionCaptureReturnsOneLayersProbabilities() {
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const int n = 9;
        const at::Tensor emb = randomEmbeds(n, 4);
        const auto plain = llm.forward(emb, positions(0, n), nullptr);
        const int last = llm.config().numLayers - 1;
        model::AttentionCapture capture;
        capture.layer = last;
        const auto captured = llm.forward(emb, positions(0, n), nullptr, {}, true, &capture);
        // Capturing changes nothing in the output.
        QCOMPARE((captured.logits - plain.logits).abs().max().item<double>(), 0.0);
        QCOMPARE(capture.probs.sizes().vec(), (std::vector<std::int64_t>{1, llm.config().numHeads, n, n}));
        QCOMPARE(capture.probs.scalar_type(), at::kFloat);
        // Each query's weights sum to 1 over the keys it may see: none after it (causal), some on each
        // earlier one.
        const double rowSum = (capture.probs.sum(-1) - 1).abs().max().item<double>();
        QVERIFY2(rowSum < 1e-5, QByteArray::number(rowSum));
        QCOMPARE(capture.probs.triu(1).abs().max().item<double>(), 0.0);
        QVERIFY(capture.probs.tril().gt(0).sum().item<std::int64_t>() ==
                static_cast<std::int64_t>(llm.config().numHeads) * n * (n + 1) / 2);
        // Another layer's weights differ; a layer outside the stack is an error naming it.
        model::AttentionCapture first;
        first.layer = 0;
        llm.forward(emb, positions(0, n), nullptr, {}, true, &first);
        if (last > 0) QVERIFY((first.probs - capture.probs).abs().max().item<double>() > 1e-6);
        model::AttentionCapture bad;
        bad.layer = last + 1;
        try {
            llm.forward(emb, positions(0, n), nullptr, {}, true, &bad);
            QFAIL("no error for a layer outside the stack");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(std::to_string(last + 1)) != std::string::npos, e.what());
        }
    }

    void hiddenCaptureReturnsOneLayersResidualStream() {
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const auto& c = llm.config();
        const int n = 7;
        const at::Tensor emb = randomEmbeds(n, 5);
        const auto plain = llm.forward(emb, positions(0, n), nullptr);
        const int last = c.numLayers - 1;
        model::AttentionCapture top;
        top.hiddenLayer = last; // no attention probabilities asked for
        const auto captured = llm.forward(emb, positions(0, n), nullptr, {}, true, &top);
        QCOMPARE((captured.logits - plain.logits).abs().max().item<double>(), 0.0);
        QVERIFY(!top.probs.defined());
        QCOMPARE(top.hidden.sizes().vec(), (std::vector<std::int64_t>{1, n, c.hiddenSize}));
        // The last layer's output is what the final norm normalises: per channel, the normed hidden state
        // is the unit-RMS capture times one weight for every position (compared cross-multiplied).
        const at::Tensor unit =
            model::rmsNorm(top.hidden.to(at::kFloat), at::ones({c.hiddenSize}), c.rmsNormEps);
        const at::Tensor h = plain.hidden.to(at::kFloat);
        const at::Tensor lhs = h * unit.narrow(1, 0, 1), rhs = h.narrow(1, 0, 1) * unit;
        const double mismatch = (lhs - rhs).abs().max().item<double>() / lhs.abs().max().item<double>();
        QVERIFY2(mismatch < 1e-4, QByteArray::number(mismatch));
        if (last > 0) {
            model::AttentionCapture below;
            below.hiddenLayer = last - 1;
            llm.forward(emb, positions(0, n), nullptr, {}, true, &below);
            QVERIFY((below.hidden - top.hidden).abs().max().item<double>() > 1e-6);
        }
        for (int bad : {last + 1, -2}) {
            model::AttentionCapture wrong;
            wrong.hiddenLayer = bad;
            try {
                llm.forward(emb, positions(0, n), nullptr, {}, true, &wrong);
                QFAIL("no error for a layer outside the stack");
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find("in a stack of") != std::string::npos, e.what());
            }
        }
    }

    void treeVerificationMatchesEachPath() {
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const int P = 10;
        // node 0 is the root; parents of nodes 1..8
        const std::vector<int> parent = {-1, 0, 0, 1, 1, 2, 4, 4, 6};
        const int N = static_cast<int>(parent.size());
        std::vector<int> depth(N, 0);
        at::Tensor mask = at::zeros({N, N}, at::kBool);
        for (int i = 0; i < N; ++i) {
            for (int a = i; a >= 0; a = parent[a])
                mask[i][a] = true;
            depth[i] = i == 0 ? 0 : depth[parent[i]] + 1;
        }
        const at::Tensor prefix = randomEmbeds(P, 5);
        const at::Tensor nodes = randomEmbeds(N, 6);
        auto cache = llm.makeCache(64);
        llm.forward(prefix, positions(0, P), &cache);
        at::Tensor pos = at::tensor(std::vector<std::int64_t>(depth.begin(), depth.end())) + P;
        const auto tree = llm.forward(nodes, pos, &cache, mask);
        for (int i = 0; i < N; ++i) {
            std::vector<std::int64_t> path;
            for (int a = i; a >= 0; a = parent[a])
                path.insert(path.begin(), a);
            cache.truncate(P);
            const at::Tensor idx = at::tensor(path);
            const auto alone = llm.forward(nodes.index_select(1, idx), positions(P, path.size()), &cache);
            const double diff = (alone.logits[0][-1] - tree.logits[0][i]).abs().max().item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(QString("node %1: %2").arg(i).arg(diff)));
        }
    }

    void compactionKeepsTheAcceptedPath() {
        c10::InferenceMode guard;
        const auto& llm = m_model->llm();
        const int P = 8;
        const std::vector<int> parent = {-1, 0, 1, 0, 2, 3};
        const int N = static_cast<int>(parent.size());
        at::Tensor mask = at::zeros({N, N}, at::kBool);
        std::vector<std::int64_t> depth(N, 0);
        for (int i = 0; i < N; ++i) {
            for (int a = i; a >= 0; a = parent[a])
                mask[i][a] = true;
            depth[i] = i == 0 ? 0 : depth[parent[i]] + 1;
        }
        const at::Tensor prefix = randomEmbeds(P, 8), nodes = randomEmbeds(N, 9), next = randomEmbeds(1, 10);
        auto cache = llm.makeCache(64);
        llm.forward(prefix, positions(0, P), &cache);
        llm.forward(nodes, at::tensor(depth) + P, &cache, mask);
        cache.compact(P, {0, 1, 2, 4}); // accept root -> 1 -> 2 -> 4
        QCOMPARE(cache.length(), P + 4);
        const auto after = llm.forward(next, positions(P + 4, 1), &cache);

        auto fresh = llm.makeCache(64);
        const at::Tensor seq = at::cat(
            {prefix, nodes.index_select(1, at::tensor(std::vector<std::int64_t>{0, 1, 2, 4})), next}, 1);
        const auto ref = llm.forward(seq, positions(0, P + 5), &fresh);
        const double diff = (after.logits[0][0] - ref.logits[0][-1]).abs().max().item<double>();
        QVERIFY2(diff < 1e-4, QByteArray::number(diff));
        QVERIFY(!errorOf([&] { cache.compact(P, {1, 0}); }).empty());
    }

    void sequenceLayout() {
        c10::InferenceMode guard;
        const auto ids = m_model->promptIds("put the red block on the plate");
        QCOMPARE(ids.front(), m_model->tokenizer().bosId());
        QCOMPARE(ids.back(), m_model->tokenizer().pieceToId("\xE2\x96\x81"));
        const int P = m_model->config().numPatches();
        QCOMPARE(P, 4);
        const at::Tensor patches = at::randn({1, P, m_model->config().text.hiddenSize});
        const at::Tensor e = m_model->multimodalEmbeds(patches, ids);
        QCOMPARE(e.size(1), static_cast<std::int64_t>(ids.size()) + P);
        const at::Tensor tokEmb =
            m_model->llm().embed(at::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).unsqueeze(0));
        QVERIFY(at::equal(e[0][0], tokEmb[0][0]));      // BOS first
        QVERIFY(at::equal(e.narrow(1, 1, P), patches)); // then the patches
        QVERIFY(
            at::equal(e.narrow(1, 1 + P, ids.size() - 1), tokEmb.narrow(1, 1, ids.size() - 1))); // then text
    }

    void arDecodingIsGreedyOverFullRecompute() {
        model::LoadOptions lo;
        lo.dtype = at::kFloat;
        lo.unnormKey = "tiny_dataset";
        const auto m = model::VlaModel::load(m_modelDir, lo);
        const auto img = syntheticImage(28, 1);
        const std::string instruction = "push the blue cube to the left";
        decode::FrameContext frame = decode::prepareFrame(*m, nullptr, img, instruction);
        decode::DecodeSettings s;
        s.mode = decode::DecodeMode::Ar;
        const decode::ActionTrace r = decode::decodeFrame(*m, nullptr, frame, s);
        QCOMPARE(r.tokens.size(), std::size_t(7));
        QCOMPARE(r.targetPasses, 7);
        QCOMPARE(r.action.size(), std::size_t(7));

        // Reference: no cache, the whole sequence recomputed for every token.
        c10::InferenceMode guard;
        const auto& a = m->featurizerConfig();
        const auto& b = m->fusedFeaturizerConfig();
        const at::Tensor patches =
            m->encodeImage(vision::pixelValues(img, a.mean, a.std, b.mean, b.std, a.imageSize));
        at::Tensor seq = m->multimodalEmbeds(patches, m->promptIds(instruction));
        for (int i = 0; i < 7; ++i) {
            const auto out = m->llm().forward(seq, positions(0, seq.size(1)), nullptr);
            const auto id = out.logits[0][-1].argmax().item<std::int64_t>();
            QCOMPARE(r.tokens[i], static_cast<int>(id));
            seq = at::cat({seq, m->llm().embed(at::full({1, 1}, id, at::kLong))}, 1);
        }
        const auto stats = m->normStats();
        for (int i = 0; i < 7; ++i) {
            QCOMPARE(r.bins[i], m->actionTokenizer().binOfToken(r.tokens[i]));
            QCOMPARE(r.normalized[i], m->actionTokenizer().decode(r.tokens[i]));
        }
        QCOMPARE(r.action, decode::unnormalize(r.normalized, stats));
        QVERIFY(r.ms.total() > 0);
    }

    void unnormKeyMustBeChosen() {
        // m_model was loaded without a key and carries two datasets
        decode::FrameContext frame =
            decode::prepareFrame(*m_model, nullptr, syntheticImage(28, 2), "open the drawer");
        const std::string e =
            errorOf([&] { decode::decodeFrame(*m_model, nullptr, frame, decode::DecodeSettings{}); });
        QVERIFY2(e.find("available keys: tiny_dataset, tiny_dataset_no_noops") != std::string::npos,
                 e.c_str());
        model::LoadOptions lo;
        lo.unnormKey = "tiny"; // no such key: the load itself fails, listing the keys
        const std::string e2 = errorOf([&] { model::VlaModel::load(m_modelDir, lo); });
        QVERIFY2(e2.find("no statistics for key 'tiny'") != std::string::npos, e2.c_str());
    }

    void loadingErrorsNameTheProblem() {
        auto fresh = [&](const std::string& name) {
            const auto dir = path(name);
            testing::writeTinyModel(dir);
            return dir;
        };
        // missing tensor: the index no longer lists it
        std::string dir = fresh("missing_tensor");
        auto index = nlohmann::json::parse(testing::readBytes(dir + "/model.safetensors.index.json"));
        index["weight_map"].erase("language_model.model.layers.1.mlp.up_proj.weight");
        testing::writeBytes(dir + "/model.safetensors.index.json", index.dump());
        std::string e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("missing tensor 'language_model.model.layers.1.mlp.up_proj.weight'") !=
                     std::string::npos,
                 e.c_str());
        // wrong shape
        dir = fresh("wrong_shape");
        rewriteTensor(dir, "language_model.model.layers.0.self_attn.k_proj.weight",
                      [](at::Tensor t) { return t.t().contiguous(); });
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("'language_model.model.layers.0.self_attn.k_proj.weight'") != std::string::npos &&
                     e.find("has shape [64, 32], expected [32, 64]") != std::string::npos,
                 e.c_str());
        // wrong dtype
        dir = fresh("wrong_dtype");
        rewriteTensor(dir, "projector.fc2.bias", [](at::Tensor t) { return t.to(at::kLong); });
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("'projector.fc2.bias'") != std::string::npos &&
                     e.find("has dtype I64") != std::string::npos,
                 e.c_str());
        // missing shard
        dir = fresh("missing_shard");
        const auto ck = io::Checkpoint::open(dir);
        const std::string shard = ck.shardPaths()[ck.at("language_model.lm_head.weight").shard];
        fs::remove(shard);
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find(fs::path(shard).filename().string()) != std::string::npos &&
                     e.find("does not exist") != std::string::npos,
                 e.c_str());
        // bad config
        dir = fresh("bad_config");
        auto cfg = nlohmann::json::parse(testing::readBytes(dir + "/config.json"));
        cfg["text_config"]["num_hidden_layers"] = -2;
        testing::writeBytes(dir + "/config.json", cfg.dump());
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("text_config.num_hidden_layers") != std::string::npos, e.c_str());
        // a config whose sizes disagree with the weights names the first mismatching tensor
        cfg["text_config"]["num_hidden_layers"] = 2;
        cfg["text_config"]["intermediate_size"] = 96;
        testing::writeBytes(dir + "/config.json", cfg.dump());
        e = errorOf([&] { model::VlaModel::load(dir); });
        QVERIFY2(e.find("language_model.model.layers.0.mlp.gate_proj.weight") != std::string::npos &&
                     e.find("expected [96, 64]") != std::string::npos,
                 e.c_str());
    }

    void draftHeadFromSafetensorsAndBin() {
        c10::InferenceMode guard;
        const auto st = path("draft_st"), bin = path("draft_bin");
        testing::writeTinyDraft(st, m_model->config(), 4, false);
        testing::writeTinyDraft(bin, m_model->config(), 4, true);
        const auto a = model::DraftHead::load(st, *m_model);
        const auto b = model::DraftHead::load(bin, *m_model);
        QCOMPARE(a->unusedKeys(), std::vector<std::string>{"embed_tokens.weight"});
        const at::Tensor emb = randomEmbeds(6, 11), hid = randomEmbeds(6, 12);
        auto ca = a->makeCache(32), cb = b->makeCache(32);
        const at::Tensor ha = a->forward(emb, hid, positions(0, 6), &ca);
        const at::Tensor hb = b->forward(emb, hid, positions(0, 6), &cb);
        QCOMPARE(ha.sizes().vec(), (std::vector<std::int64_t>{1, 6, 64}));
        QCOMPARE(a->logits(ha).size(-1), static_cast<std::int64_t>(m_model->config().text.vocabSize));
        const double diff = (ha - hb).abs().max().item<double>(); // the .bin holds fp16 copies
        QVERIFY2(diff < 2e-2, QByteArray::number(diff));
        // shares the target's embedding
        QVERIFY(at::equal(a->embed(at::full({1, 1}, 5, at::kLong)),
                          m_model->llm().embed(at::full({1, 1}, 5, at::kLong))));

        testing::writeBytes(bin + "/pytorch_model.bin", "not a zip file at all");
        const std::string e = errorOf([&] { model::DraftHead::load(bin, *m_model); });
        QVERIFY2(e.find("pytorch_model.bin: not a readable torch.save state dict") != std::string::npos,
                 e.c_str());
    }

    void bf16ModelRuns() {
        model::LoadOptions o;
        o.dtype = at::kBFloat16;
        o.unnormKey = "tiny_dataset";
        const auto m = model::VlaModel::load(m_modelDir, o);
        decode::FrameContext frame =
            decode::prepareFrame(*m, nullptr, syntheticImage(40, 3), "close the drawer");
        decode::DecodeSettings s;
        s.mode = decode::DecodeMode::Ar;
        const auto r = decode::decodeFrame(*m, nullptr, frame, s);
        QCOMPARE(r.tokens.size(), std::size_t(7));
        for (double v : r.action)
            QVERIFY(std::isfinite(v));
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
