// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "model/config.h"
#include "model/vision_tower.h"
#include "model/vit.h"
#include "model/weights.h"
#include "support/test_support.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>

using namespace specvla;
using specvla::testing::errorOf;
using namespace specvla::model;

namespace {

// Seeded random tensors, cached by name so a test can read what the model got and replace single tensors.
// Like every WeightSource it refuses a stored tensor whose shape differs from the requested one.
class MapWeights : public WeightSource {
public:
    explicit MapWeights(std::uint64_t seed, double std = 0.3, c10::ScalarType dtype = at::kFloat)
        : m_random(seed, std, dtype) {}

    at::Tensor get(const std::string& name, const std::vector<std::int64_t>& shape) override {
        m_requested.insert(name);
        auto it = m_tensors.find(name);
        if (it == m_tensors.end()) it = m_tensors.emplace(name, m_random.get(name, shape)).first;
        if (it->second.sizes().vec() != shape)
            throw Error(describe() + ": tensor '" + name + "' has shape " +
                        shapeString(it->second.sizes().vec()) + ", expected " + shapeString(shape));
        return it->second;
    }
    std::string describe() const override { return "test map weights"; }

    at::Tensor tensor(const std::string& name) const { return m_tensors.at(name); }
    void set(const std::string& name, const at::Tensor& t) { m_tensors[name] = t; }
    // Fills the cache with every tensor of the listed layout (also those inference never reads).
    void populate(const std::vector<TensorSpec>& specs) {
        for (const auto& s : specs)
            if (!m_tensors.count(s.name)) m_tensors.emplace(s.name, m_random.get(s.name, s.shape));
    }

private:
    RandomWeights m_random;
    std::map<std::string, at::Tensor> m_tensors;
};

VitConfig tinyDino() {
    VitConfig c;
    c.imageSize = 28;
    c.patchSize = 7; // 4 x 4 patches: row/column mix-ups show
    c.hiddenSize = 16;
    c.numLayers = 3;
    c.numHeads = 2;
    c.mlpSize = 40;
    c.numRegisters = 2;
    c.classToken = true;
    c.layerScale = true;
    c.featureLayer = 1;
    c.act = "gelu";
    return c;
}

VitConfig tinySiglip() {
    VitConfig c;
    c.imageSize = 28;
    c.patchSize = 7;
    c.hiddenSize = 24;
    c.numLayers = 3;
    c.numHeads = 3;
    c.mlpSize = 36;
    c.numRegisters = 0;
    c.classToken = false;
    c.layerScale = false;
    c.featureLayer = 1;
    c.act = "gelu_tanh";
    c.mean = {0.5, 0.5, 0.5};
    c.std = {0.5, 0.5, 0.5};
    return c;
}

VlaConfig tinyVla() {
    VlaConfig c;
    c.source = "tiny test config";
    c.featurizer = tinyDino();
    c.fusedFeaturizer = tinySiglip();
    c.useFusedVisionBackbone = true;
    c.text.hiddenSize = 32;
    return c;
}

const std::string kDino = "vision_backbone.featurizer.";
const std::string kSiglip = "vision_backbone.fused_featurizer.";

at::Tensor pixelsFor(int batch, int channels, int size, std::uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::normal(0.0, 1.0, {batch, channels, size, size}, gen, at::TensorOptions().dtype(at::kFloat));
}

double maxAbs(const at::Tensor& t) {
    return t.abs().max().item<double>();
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// ---- An independent reference: double precision, patches cut with unfold and multiplied as a matrix,
// LayerNorm, GELU and softmax written out, attention computed one head at a time. ----

at::Tensor refLayerNorm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double eps) {
    const auto mean = x.mean({-1}, true);
    const auto centred = x - mean;
    const auto var = (centred * centred).mean({-1}, true);
    return centred / at::sqrt(var + eps) * w + b;
}

at::Tensor refGelu(const at::Tensor& x, bool tanhApprox) {
    if (!tanhApprox) return 0.5 * x * (1.0 + at::erf(x / std::sqrt(2.0)));
    const double c = std::sqrt(2.0 / std::acos(-1.0));
    return 0.5 * x * (1.0 + at::tanh(c * (x + 0.044715 * x * x * x)));
}

at::Tensor refAffine(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
    return at::matmul(x, w.t()) + b;
}

at::Tensor referenceVit(const MapWeights& w, const std::string& prefix, const VitConfig& cfg,
                        const at::Tensor& pixels) {
    auto W = [&](const std::string& name) { return w.tensor(prefix + name).to(at::kDouble); };
    const std::int64_t batch = pixels.size(0);
    const std::int64_t d = cfg.hiddenSize;
    const std::int64_t p = cfg.patchSize;
    const std::int64_t g = cfg.gridSize();
    const std::int64_t heads = cfg.numHeads;
    const std::int64_t hd = cfg.headDim();

    // [B, 3, g, g, p, p] -> [B, g, g, 3, p, p] -> one row of 3*p*p values per patch, row-major over the grid.
    const auto px = pixels.to(at::kDouble);
    const auto cut =
        px.unfold(2, p, p).unfold(3, p, p).permute({0, 2, 3, 1, 4, 5}).reshape({batch, g * g, 3 * p * p});
    auto tokens = at::matmul(cut, W("patch_embed.proj.weight").reshape({d, 3 * p * p}).t()) +
                  W("patch_embed.proj.bias");
    tokens = tokens + W("pos_embed")[0];
    std::vector<at::Tensor> seq;
    if (cfg.classToken) seq.push_back(W("cls_token").expand({batch, 1, d}));
    if (cfg.numRegisters > 0) seq.push_back(W("reg_token").expand({batch, cfg.numRegisters, d}));
    seq.push_back(tokens);
    auto x = at::cat(seq, 1);

    for (int i = 0; i <= cfg.featureLayer; ++i) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        const auto h = refLayerNorm(x, W(b + "norm1.weight"), W(b + "norm1.bias"), cfg.layerNormEps);
        const auto qkv = refAffine(h, W(b + "attn.qkv.weight"), W(b + "attn.qkv.bias"));
        std::vector<at::Tensor> outs;
        for (std::int64_t head = 0; head < heads; ++head) {
            const auto q = qkv.narrow(2, head * hd, hd);
            const auto k = qkv.narrow(2, d + head * hd, hd);
            const auto v = qkv.narrow(2, 2 * d + head * hd, hd);
            const auto s = at::matmul(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(hd));
            const auto e = at::exp(s - std::get<0>(s.max(-1, true)));
            outs.push_back(at::matmul(e / e.sum({-1}, true), v));
        }
        auto a = refAffine(at::cat(outs, 2), W(b + "attn.proj.weight"), W(b + "attn.proj.bias"));
        if (cfg.layerScale) a = a * W(b + "ls1.scale_factor");
        x = x + a;
        const auto h2 = refLayerNorm(x, W(b + "norm2.weight"), W(b + "norm2.bias"), cfg.layerNormEps);
        auto f = refAffine(
            refGelu(refAffine(h2, W(b + "mlp.fc1.weight"), W(b + "mlp.fc1.bias")), cfg.act == "gelu_tanh"),
            W(b + "mlp.fc2.weight"), W(b + "mlp.fc2.bias"));
        if (cfg.layerScale) f = f * W(b + "ls2.scale_factor");
        x = x + f;
    }
    return x.narrow(1, cfg.numPrefixTokens(), cfg.numPatches());
}

// Attention output projections set to zero: every token then evolves on its own through the blocks.
void silenceAttention(MapWeights& w, const std::string& prefix, const VitConfig& cfg) {
    for (int i = 0; i <= cfg.featureLayer; ++i) {
        const std::string b = prefix + "blocks." + std::to_string(i) + ".attn.proj.";
        w.set(b + "weight", at::zeros_like(w.tensor(b + "weight")));
        w.set(b + "bias", at::zeros_like(w.tensor(b + "bias")));
    }
}

// Indices of the output tokens (dim 1) that differ by more than tol anywhere.
std::set<std::int64_t> changedTokens(const at::Tensor& a, const at::Tensor& b, double tol = 1e-6) {
    const auto diff = (a - b).abs().amax({0, 2});
    std::set<std::int64_t> out;
    for (std::int64_t i = 0; i < diff.size(0); ++i)
        if (diff[i].item<double>() > tol) out.insert(i);
    return out;
}

const TensorSpec* findSpec(const std::vector<TensorSpec>& specs, const std::string& name) {
    for (const auto& s : specs)
        if (s.name == name) return &s;
    return nullptr;
}

} // namespace

class TestVit : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const {
        return m_dir.filePath(QString::fromStdString(name)).toStdString();
    }

private Q_SLOTS:
    void forwardMatchesIndependentReference_data() {
        QTest::addColumn<bool>("siglipLike");
        QTest::newRow("dinov2-like: cls, 2 registers, layer scale, erf GELU") << false;
        QTest::newRow("siglip-like: no prefix tokens, no layer scale, tanh GELU") << true;
    }
    void forwardMatchesIndependentReference() {
        QFETCH(bool, siglipLike);
        const VitConfig cfg = siglipLike ? tinySiglip() : tinyDino();
        MapWeights w(7);
        const auto vit = VitFeaturizer::load(w, kDino, cfg);
        const auto pixels = pixelsFor(2, 3, cfg.imageSize, 11);
        const auto out = vit.forward(pixels);
        QCOMPARE(out.sizes().vec(), (std::vector<std::int64_t>{2, cfg.numPatches(), cfg.hiddenSize}));
        QCOMPARE(out.scalar_type(), at::kFloat);
        const auto ref = referenceVit(w, kDino, cfg, pixels);
        // float32 against double: 1e-5 of the output's scale (measured: 5e-7; tanh GELU in place of erf would
        // be off by 1e-4).
        const double scale = std::max(1.0, maxAbs(ref));
        QVERIFY2(maxDiff(out, ref) <= 1e-5 * scale,
                 qPrintable(QString("max |diff| %1 at scale %2").arg(maxDiff(out, ref)).arg(scale)));
        // The outputs are not trivially small or constant across tokens.
        QVERIFY(maxAbs(ref) > 0.1);
        QVERIFY(maxDiff(ref.select(1, 0), ref.select(1, 1)) > 1e-2);
        // Batch rows are independent.
        QVERIFY(maxDiff(vit.forward(pixels.narrow(0, 1, 1)), out.narrow(0, 1, 1)) <= 1e-5 * scale);
    }

    void prefixTokensInfluencePatchesThroughAttentionOnly() {
        const VitConfig cfg = tinyDino();
        MapWeights w(8);
        const auto pixels = pixelsFor(1, 3, cfg.imageSize, 12);
        const auto base = VitFeaturizer::load(w, kDino, cfg).forward(pixels);

        // A changed cls token reaches every patch through attention, exactly as the reference computes.
        // (Not a constant shift: norm1 would remove it before attention sees the token.)
        const auto ramp = at::linspace(-1.5, 1.5, cfg.hiddenSize).view({1, 1, cfg.hiddenSize});
        w.set(kDino + "cls_token", w.tensor(kDino + "cls_token") + ramp);
        const auto perturbed = VitFeaturizer::load(w, kDino, cfg).forward(pixels);
        QVERIFY(maxDiff(perturbed, base) > 1e-3);
        QVERIFY(maxDiff(perturbed, referenceVit(w, kDino, cfg, pixels)) <=
                1e-5 * std::max(1.0, maxAbs(perturbed)));

        // Without attention it reaches none of them: it is not an output token, and pos_embed is not shifted
        // onto it.
        silenceAttention(w, kDino, cfg);
        const auto quiet = VitFeaturizer::load(w, kDino, cfg).forward(pixels);
        w.set(kDino + "cls_token", w.tensor(kDino + "cls_token") - 2.0 * ramp);
        w.set(kDino + "reg_token", w.tensor(kDino + "reg_token") * -2.0);
        const auto quiet2 = VitFeaturizer::load(w, kDino, cfg).forward(pixels);
        QVERIFY(changedTokens(quiet, quiet2).empty());
    }

    void posEmbedRowAndPatchPositionLineUpWithOutputToken() {
        const VitConfig cfg = tinyDino();
        MapWeights w(9);
        VitFeaturizer::load(w, kDino, cfg);
        silenceAttention(w, kDino, cfg);
        const auto pixels = pixelsFor(1, 3, cfg.imageSize, 13);
        const auto base = VitFeaturizer::load(w, kDino, cfg).forward(pixels);

        // pos_embed row 6 belongs to patch 6 (no_embed_class: no rows for the prefix tokens).
        auto pos = w.tensor(kDino + "pos_embed").clone();
        pos[0][6] += 1.0;
        w.set(kDino + "pos_embed", pos);
        const auto moved = VitFeaturizer::load(w, kDino, cfg).forward(pixels);
        QCOMPARE(changedTokens(base, moved), (std::set<std::int64_t>{6}));

        // Patches are numbered row-major: pixel row 1 x column 2 of the 4 x 4 grid is token 1*4+2 = 6; the
        // transposed position would be token 9.
        const auto p = cfg.patchSize;
        auto px = pixels.clone();
        px.narrow(2, 1 * p, p).narrow(3, 2 * p, p).add_(0.7);
        const auto shifted = VitFeaturizer::load(w, kDino, cfg).forward(px);
        QCOMPARE(changedTokens(moved, shifted), (std::set<std::int64_t>{6}));
    }

    void onlyBlocksUpToFeatureLayerAreRead() {
        const VitConfig cfg = tinyDino(); // featureLayer 1 of blocks 0..2
        MapWeights w(10);
        w.populate(vitTensorSpecs(kDino, cfg, false));
        const auto pixels = pixelsFor(1, 3, cfg.imageSize, 14);
        const auto base = VitFeaturizer::load(w, kDino, cfg).forward(pixels);

        // Exactly the used tensors of the layout were requested.
        std::set<std::string> used;
        for (const auto& s : vitTensorSpecs(kDino, cfg, false))
            if (s.used) used.insert(s.name);
        QCOMPARE(w.requested(), used);
        QVERIFY(!w.requested().count(kDino + "blocks.2.attn.qkv.weight"));
        QVERIFY(!w.requested().count(kDino + "norm.weight"));

        // Block 2 and the final norm do not matter...
        for (const char* name : {"blocks.2.attn.qkv.weight", "blocks.2.mlp.fc1.weight",
                                 "blocks.2.norm1.weight", "norm.weight", "norm.bias"})
            w.set(kDino + name, w.tensor(kDino + name) * 5.0 + 1.0);
        QVERIFY(at::equal(VitFeaturizer::load(w, kDino, cfg).forward(pixels), base));
        // ... block 1 does (the control).
        w.set(kDino + "blocks.1.mlp.fc1.weight", w.tensor(kDino + "blocks.1.mlp.fc1.weight") * 2.0);
        QVERIFY(maxDiff(VitFeaturizer::load(w, kDino, cfg).forward(pixels), base) > 1e-3);

        // featureLayer picks the block: the output of block 0 differs from that of block 1.
        VitConfig first = cfg;
        first.featureLayer = 0;
        const auto out0 = VitFeaturizer::load(w, kDino, first).forward(pixels);
        QVERIFY(maxDiff(out0, referenceVit(w, kDino, first, pixels)) <= 1e-5 * std::max(1.0, maxAbs(out0)));
    }

    void bf16WeightsAgreeWithFloat32() {
        const VitConfig cfg = tinyDino();
        MapWeights w32(21, 0.3, at::kFloat);
        MapWeights w16(21, 0.3, at::kBFloat16);
        const auto pixels = pixelsFor(2, 3, cfg.imageSize, 15);
        const auto ref = VitFeaturizer::load(w32, kDino, cfg).forward(pixels);
        const auto vit16 = VitFeaturizer::load(w16, kDino, cfg);
        QCOMPARE(vit16.dtype(), at::kBFloat16);
        const auto out = vit16.forward(pixels.to(at::kDouble)); // any float input dtype is accepted
        QCOMPARE(out.scalar_type(), at::kBFloat16);
        // bf16 keeps 8 bits of mantissa (relative step 2^-8 = 0.4 %). Through two blocks, measured: 1 % of
        // the output scale at worst, 0.7 % on average; allowed: 5 % and 2 %.
        const double scale = maxAbs(ref);
        const auto diff = (out.to(at::kFloat) - ref).abs();
        QVERIFY2(diff.max().item<double>() <= 0.05 * scale,
                 qPrintable(QString("max |diff| %1, scale %2").arg(diff.max().item<double>()).arg(scale)));
        QVERIFY2(diff.mean().item<double>() <= 0.02 * ref.abs().mean().item<double>(),
                 qPrintable(QString("mean |diff| %1").arg(diff.mean().item<double>())));
    }

    void wrongShapesAndConfigsAreNamed() {
        const VitConfig cfg = tinyDino();
        {
            MapWeights w(30);
            w.set(kDino + "blocks.1.attn.qkv.weight", at::zeros({16, 16}));
            const auto msg = errorOf([&] { VitFeaturizer::load(w, kDino, cfg); });
            QVERIFY2(msg.find("vision_backbone.featurizer.blocks.1.attn.qkv.weight") != std::string::npos,
                     msg.c_str());
            QVERIFY2(msg.find("[48, 16]") != std::string::npos, msg.c_str());
        }
        {
            // A config with fewer registers than the checkpoint holds.
            MapWeights w(31);
            VitFeaturizer::load(w, kDino, cfg);
            VitConfig fewer = cfg;
            fewer.numRegisters = 1;
            const auto msg = errorOf([&] { VitFeaturizer::load(w, kDino, fewer); });
            QVERIFY2(msg.find("reg_token") != std::string::npos, msg.c_str());
        }
        {
            // One tensor in another dtype would fail inside an op; load names it instead.
            MapWeights w(32);
            VitFeaturizer::load(w, kDino, cfg);
            w.set(kDino + "blocks.0.mlp.fc2.weight",
                  w.tensor(kDino + "blocks.0.mlp.fc2.weight").to(at::kDouble));
            const auto msg = errorOf([&] { VitFeaturizer::load(w, kDino, cfg); });
            QVERIFY2(msg.find("blocks.0.mlp.fc2.weight") != std::string::npos, msg.c_str());
        }
        MapWeights w(33);
        VitConfig bad = cfg;
        bad.featureLayer = 3;
        QVERIFY(errorOf([&] { VitFeaturizer::load(w, kDino, bad); }).find("featureLayer") !=
                std::string::npos);
        bad = cfg;
        bad.numHeads = 3;
        QVERIFY(errorOf([&] { VitFeaturizer::load(w, kDino, bad); }).find("numHeads") != std::string::npos);
        bad = cfg;
        bad.act = "relu";
        QVERIFY(errorOf([&] { VitFeaturizer::load(w, kDino, bad); }).find("act") != std::string::npos);

        const auto vit = VitFeaturizer::load(w, kDino, cfg);
        const auto msg = errorOf([&] { vit.forward(at::zeros({1, 3, 32, 32})); });
        QVERIFY2(msg.find("pixels") != std::string::npos && msg.find("[B, 3, 28, 28]") != std::string::npos,
                 msg.c_str());
        QVERIFY(!errorOf([&] { vit.forward(at::zeros({1, 3, 28, 28}, at::kLong)); }).empty());
    }

    void loadsZeroCopyFromACheckpointInTheRealLayout() {
        const VlaConfig cfg = tinyVla();
        const auto specs = visionTensorSpecs(cfg);
        for (const auto dtype : {at::kFloat, at::kBFloat16}) {
            MapWeights w(40, 0.3, dtype);
            w.populate(specs);
            io::SafetensorsWriter writer;
            for (const auto& s : specs)
                io::addTensor(writer, s.name, w.tensor(s.name));
            const auto file =
                path(dtype == at::kFloat ? "vision_f32.safetensors" : "vision_bf16.safetensors");
            writer.writeFile(file);

            auto checkpoint = std::make_shared<const io::Checkpoint>(io::Checkpoint::open(file));
            CheckpointWeights cw(checkpoint, dtype, c10::Device(c10::kCPU));
            const auto tower = VisionTower::load(cw, cfg);
            QCOMPARE(cw.copiedBytes(), std::uint64_t{0});
            QVERIFY(cw.mappedBytes() > 0);
            const auto unusedKeys = cw.unusedKeys();
            std::set<std::string> unused(unusedKeys.begin(), unusedKeys.end());
            std::set<std::string> expectedUnused;
            for (const auto& s : specs)
                if (!s.used) expectedUnused.insert(s.name);
            QCOMPARE(unused, expectedUnused);
            QVERIFY(unused.count(kSiglip + "attn_pool.kv.weight"));

            const auto pixels = pixelsFor(1, 6, 28, 41);
            const auto fromFile = tower.forward(pixels);
            const auto fromMap = VisionTower::load(w, cfg).forward(pixels);
            QVERIFY(at::equal(fromFile, fromMap));
        }

        // One wrong shape in the file: the error names the tensor.
        MapWeights w(42);
        w.populate(specs);
        io::SafetensorsWriter writer;
        for (const auto& s : specs)
            io::addTensor(writer, s.name,
                          s.name == kSiglip + "blocks.0.mlp.fc1.weight" ? at::zeros({36, 23})
                                                                        : w.tensor(s.name));
        const auto file = path("vision_bad.safetensors");
        writer.writeFile(file);
        CheckpointWeights cw(std::make_shared<const io::Checkpoint>(io::Checkpoint::open(file)), at::kFloat,
                             c10::Device(c10::kCPU));
        const auto msg = errorOf([&] { VisionTower::load(cw, cfg); });
        QVERIFY2(msg.find("vision_backbone.fused_featurizer.blocks.0.mlp.fc1.weight") != std::string::npos,
                 msg.c_str());
    }

    void specsOf7bMatchTheCheckpoint() {
        const VlaConfig cfg = VlaConfig::openvla7b();
        const auto dino = vitTensorSpecs(kDino, cfg.featurizer, false);
        const auto siglip = vitTensorSpecs(kSiglip, cfg.fusedFeaturizer, true);
        // 5 embedding tensors + 24 blocks x 14 + final norm 2; SigLIP: 3 + 27 x 12 + 2 + attn_pool 13.
        QCOMPARE(dino.size(), std::size_t{5 + 24 * 14 + 2});
        QCOMPARE(siglip.size(), std::size_t{3 + 27 * 12 + 2 + 13});

        const auto all = visionTensorSpecs(cfg);
        QCOMPARE(all.size(), dino.size() + siglip.size() + 6);
        std::set<std::string> names;
        for (const auto& s : all)
            QVERIFY2(names.insert(s.name).second, s.name.c_str());

        struct Expect {
            const char* name;
            std::vector<std::int64_t> shape;
            bool used;
        };
        const std::vector<Expect> expected = {
            {"vision_backbone.featurizer.cls_token", {1, 1, 1024}, true},
            {"vision_backbone.featurizer.reg_token", {1, 4, 1024}, true},
            {"vision_backbone.featurizer.pos_embed", {1, 256, 1024}, true},
            {"vision_backbone.featurizer.patch_embed.proj.weight", {1024, 3, 14, 14}, true},
            {"vision_backbone.featurizer.blocks.0.attn.qkv.weight", {3072, 1024}, true},
            {"vision_backbone.featurizer.blocks.22.ls2.scale_factor", {1024}, true},
            {"vision_backbone.featurizer.blocks.22.mlp.fc1.weight", {4096, 1024}, true},
            {"vision_backbone.featurizer.blocks.23.mlp.fc2.weight", {1024, 4096}, false},
            {"vision_backbone.featurizer.blocks.23.ls1.scale_factor", {1024}, false},
            {"vision_backbone.featurizer.norm.weight", {1024}, false},
            {"vision_backbone.fused_featurizer.pos_embed", {1, 256, 1152}, true},
            {"vision_backbone.fused_featurizer.patch_embed.proj.weight", {1152, 3, 14, 14}, true},
            {"vision_backbone.fused_featurizer.blocks.25.attn.qkv.weight", {3456, 1152}, true},
            {"vision_backbone.fused_featurizer.blocks.25.attn.proj.weight", {1152, 1152}, true},
            {"vision_backbone.fused_featurizer.blocks.25.mlp.fc1.weight", {4304, 1152}, true},
            {"vision_backbone.fused_featurizer.blocks.26.mlp.fc2.weight", {1152, 4304}, false},
            {"vision_backbone.fused_featurizer.norm.bias", {1152}, false},
            {"vision_backbone.fused_featurizer.attn_pool.latent", {1, 1, 1152}, false},
            {"vision_backbone.fused_featurizer.attn_pool.kv.weight", {2304, 1152}, false},
            {"vision_backbone.fused_featurizer.attn_pool.mlp.fc1.weight", {4304, 1152}, false},
            {"projector.fc1.weight", {8704, 2176}, true},
            {"projector.fc1.bias", {8704}, true},
            {"projector.fc2.weight", {4096, 8704}, true},
            {"projector.fc3.weight", {4096, 4096}, true},
        };
        for (const auto& e : expected) {
            const TensorSpec* s = findSpec(all, e.name);
            QVERIFY2(s, e.name);
            QVERIFY2(s->shape == e.shape, qPrintable(QString("%1: %2").arg(e.name).arg(
                                              QString::fromStdString(shapeString(s->shape)))));
            QVERIFY2(s->used == e.used, e.name);
        }
        // SigLIP has neither class token, registers nor LayerScale; DINOv2 has no MAP head.
        QVERIFY(!findSpec(all, "vision_backbone.fused_featurizer.cls_token"));
        QVERIFY(!findSpec(all, "vision_backbone.fused_featurizer.reg_token"));
        QVERIFY(!findSpec(all, "vision_backbone.fused_featurizer.blocks.0.ls1.scale_factor"));
        QVERIFY(!findSpec(all, "vision_backbone.featurizer.attn_pool.latent"));

        // Bytes the vision tower reads in bf16: about 1.2 GB of the checkpoint's vision part.
        std::int64_t usedElements = 0;
        for (const auto& s : all) {
            std::int64_t n = 1;
            for (auto v : s.shape)
                n *= v;
            if (s.used) usedElements += n;
        }
        QVERIFY(usedElements > 600'000'000 && usedElements < 800'000'000);
    }

    void towerSplitsChannelsAndProjects() {
        const VlaConfig cfg = tinyVla();
        MapWeights w(50);
        const auto tower = VisionTower::load(w, cfg);
        QCOMPARE(tower.inputChannels(), 6);
        const auto pixels = pixelsFor(1, 6, 28, 51);
        const auto feats = tower.features(pixels);
        QCOMPARE(feats.sizes().vec(), (std::vector<std::int64_t>{1, 16, 16 + 24}));
        const auto out = tower.forward(pixels);
        QCOMPARE(out.sizes().vec(), (std::vector<std::int64_t>{1, 16, 32}));

        // Channels 0..2 feed DINOv2 and 3..5 SigLIP; the features are [dino | siglip] per patch.
        const auto dinoRef = referenceVit(w, kDino, cfg.featurizer, pixels.narrow(1, 0, 3));
        const auto siglipRef = referenceVit(w, kSiglip, cfg.fusedFeaturizer, pixels.narrow(1, 3, 3));
        const auto featRef = at::cat({dinoRef, siglipRef}, -1);
        QVERIFY(maxDiff(feats, featRef) <= 1e-5 * std::max(1.0, maxAbs(featRef)));

        auto px = pixels.clone();
        px.narrow(1, 3, 3).mul_(-1.0).add_(0.25);
        const auto feats2 = tower.features(px);
        QVERIFY(at::equal(feats2.narrow(2, 0, 16), feats.narrow(2, 0, 16)));
        QVERIFY(maxDiff(feats2.narrow(2, 16, 24), feats.narrow(2, 16, 24)) > 1e-3);

        // Projector: fc1, exact GELU, fc2, exact GELU, fc3.
        auto W = [&](const std::string& n) { return w.tensor("projector." + n).to(at::kDouble); };
        auto x = refGelu(refAffine(featRef, W("fc1.weight"), W("fc1.bias")), false);
        x = refGelu(refAffine(x, W("fc2.weight"), W("fc2.bias")), false);
        const auto projRef = refAffine(x, W("fc3.weight"), W("fc3.bias"));
        QVERIFY2(maxDiff(out, projRef) <= 1e-5 * std::max(1.0, maxAbs(projRef)),
                 qPrintable(QString::number(maxDiff(out, projRef))));
        QVERIFY(at::equal(tower.project(feats), out));

        QVERIFY(!errorOf([&] { tower.features(at::zeros({1, 3, 28, 28})); }).empty());
        QVERIFY(errorOf([&] {
                    tower.project(at::zeros({1, 16, 39}));
                }).find("projector") != std::string::npos);
    }

    void unfusedTowerTakesThreeChannels() {
        VlaConfig cfg = tinyVla();
        cfg.useFusedVisionBackbone = false;
        MapWeights w(60);
        const auto tower = VisionTower::load(w, cfg);
        QVERIFY(!tower.fusedFeaturizer());
        QCOMPARE(tower.inputChannels(), 3);
        QVERIFY(w.requested().count("projector.fc1.weight"));
        QCOMPARE(w.tensor("projector.fc1.weight").sizes().vec(), (std::vector<std::int64_t>{64, 16}));
        for (const auto& n : w.requested())
            QVERIFY2(n.rfind(kSiglip, 0) != 0, n.c_str());
        QCOMPARE(tower.forward(pixelsFor(2, 3, 28, 61)).sizes().vec(),
                 (std::vector<std::int64_t>{2, 16, 32}));
    }

    void featureCallsAreCounted() {
        const VlaConfig cfg = tinyVla();
        MapWeights w(70);
        const auto tower = VisionTower::load(w, cfg);
        const auto copy = tower;
        const auto pixels = pixelsFor(1, 6, 28, 71);
        const auto total0 = VisionTower::totalFeatureCalls();
        QCOMPARE(tower.featureCalls(), std::int64_t{0});
        tower.forward(pixels);
        tower.features(pixels);
        const auto feats = copy.features(pixels);
        copy.project(feats); // projecting is not vision work
        QCOMPARE(tower.featureCalls(), std::int64_t{3});
        QCOMPARE(copy.featureCalls(), std::int64_t{3});
        QCOMPARE(VisionTower::totalFeatureCalls() - total0, std::int64_t{3});
        const auto other = VisionTower::load(w, cfg);
        QCOMPARE(other.featureCalls(), std::int64_t{0});
    }

    void bf16TowerAgreesWithFloat32() {
        const VlaConfig cfg = tinyVla();
        MapWeights w32(80, 0.3, at::kFloat);
        MapWeights w16(80, 0.3, at::kBFloat16);
        const auto pixels = pixelsFor(1, 6, 28, 81);
        const auto ref = VisionTower::load(w32, cfg).forward(pixels);
        const auto tower16 = VisionTower::load(w16, cfg);
        const auto out = tower16.forward(pixels);
        QCOMPARE(out.scalar_type(), at::kBFloat16);
        const auto diff = (out.to(at::kFloat) - ref).abs();
        QVERIFY2(
            diff.max().item<double>() <= 0.05 * maxAbs(ref),
            qPrintable(QString("max |diff| %1, scale %2").arg(diff.max().item<double>()).arg(maxAbs(ref))));
    }
};

QTEST_GUILESS_MAIN(TestVit)
#include "test_vit.moc"
