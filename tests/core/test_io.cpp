// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "io/checkpoint.h"
#include "io/inspect.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "io/tensor_view.h"
#include "support/test_support.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <sys/stat.h>

using namespace specvla;
using specvla::testing::errorOf;
using namespace specvla::io;
namespace fs = std::filesystem;

namespace {} // namespace

class TestIo : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const {
        return m_dir.filePath(QString::fromStdString(name)).toStdString();
    }

private Q_SLOTS:
    void dtypeTableCoversTheFormat() {
        const char* names[] = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                               "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};
        const std::size_t sizes[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
        for (int i = 0; i < 15; ++i) {
            auto d = parseDType(names[i]);
            QVERIFY2(d.has_value(), names[i]);
            QCOMPARE(std::string(dtypeName(*d)), std::string(names[i]));
            QCOMPARE(dtypeSize(*d), sizes[i]);
        }
        QVERIFY(!parseDType("F4").has_value());
        QVERIFY(!parseDType("bf16").has_value());
    }

    void writeAndReadSingleFile() {
        const auto file = path("tiny.safetensors");
        const auto names = testing::writeTinyCheckpoint(file);
        const auto st = SafetensorsFile::open(file);
        QCOMPARE(st.tensors().size(), names.size());
        QCOMPARE(st.dataOffset() % 8, 0ull); // header padded for alignment
        QVERIFY(st.warnings().empty());
        const auto& norm = st.at("language_model.model.norm.weight");
        QCOMPARE(norm.dtype, DType::F32);
        QCOMPARE(norm.shape, (std::vector<std::int64_t>{2, 3}));
        QCOMPARE(norm.byteSize(), 24ull);
        QCOMPARE(st.dataBytes(), 24ull + 8 + 24 + 5);
        QVERIFY(st.find("nope") == nullptr);
        const std::string err = errorOf([&] { st.at("nope"); });
        QVERIFY2(err.find("tiny.safetensors") != std::string::npos && err.find("'nope'") != std::string::npos,
                 err.c_str());
    }

    void viewsAreZeroCopyAndCorrect() {
        const auto file = path("tiny_view.safetensors");
        testing::writeTinyCheckpoint(file);
        at::Tensor norm, bf, l, u;
        const std::byte* mapped = nullptr;
        {
            const auto st = SafetensorsFile::open(file);
            const auto& info = st.at("language_model.model.norm.weight");
            QVERIFY(isZeroCopy(st, info));
            norm = tensorView(st, info);
            mapped = st.data(info);
            bf = tensorView(st, st.at("projector.fc1.bias"));
            l = tensorView(st, st.at("vision_backbone.featurizer.reg_token"));
            u = tensorView(st, st.at("language_model.lm_head.weight"));
        } // the file object is gone; the views keep the mapping alive
        QCOMPARE(static_cast<const void*>(norm.data_ptr()), static_cast<const void*>(mapped));
        QCOMPARE(norm.sizes().vec(), (std::vector<std::int64_t>{2, 3}));
        QCOMPARE(norm.scalar_type(), at::kFloat);
        QCOMPARE(norm[1][2].item<float>(), 2.5f);
        QCOMPARE(bf.scalar_type(), at::kBFloat16);
        const auto bff = bf.to(at::kFloat);
        QCOMPARE(bff[0].item<float>(), 1.0f);
        QCOMPARE(bff[1].item<float>(), -2.0f);
        QCOMPARE(bff[2].item<float>(), 0.5f);
        QCOMPARE(bff[3].item<float>(), 3.0f);
        QCOMPARE(l[1].item<std::int64_t>(), -8);
        QCOMPARE(u.scalar_type(), at::kByte);
        QCOMPARE(u.sum().item<std::int64_t>(), 10);
    }

    void everyDtypeReads() {
        SafetensorsWriter w;
        const std::uint8_t b[2] = {1, 0};
        w.add("bool", DType::Bool, {2}, b, 2);
        const std::int8_t i8[2] = {-3, 4};
        w.add("i8", DType::I8, {2}, i8, 2);
        const std::int16_t i16[2] = {-300, 400};
        w.add("i16", DType::I16, {2}, i16, 4);
        const std::uint16_t u16[2] = {65535, 7};
        w.add("u16", DType::U16, {2}, u16, 4);
        const std::uint16_t f16[2] = {0x3c00, 0xc400}; // 1, -4
        w.add("f16", DType::F16, {2}, f16, 4);
        const std::int32_t i32[2] = {-70000, 5};
        w.add("i32", DType::I32, {2}, i32, 8);
        const std::uint32_t u32[2] = {4000000000u, 1};
        w.add("u32", DType::U32, {2}, u32, 8);
        const double f64[2] = {0.25, -1e300};
        w.add("f64", DType::F64, {2}, f64, 16);
        const std::uint64_t u64[2] = {1ull << 62, 3};
        w.add("u64", DType::U64, {2}, u64, 16);
        const std::uint64_t u64big[1] = {1ull << 63};
        w.add("u64big", DType::U64, {1}, u64big, 8);
        const std::uint8_t e4[6] = {0x38, 0x7e, 0xb8, 0x7f, 0x01, 0x00}; // 1, 448, -1, NaN, 2^-9, 0
        w.add("f8e4m3", DType::F8_E4M3, {6}, e4, 6);
        const std::uint8_t e5[4] = {0x3c, 0x7c, 0xc0, 0x01}; // 1, inf, -2, 2^-16
        w.add("f8e5m2", DType::F8_E5M2, {4}, e5, 4);
        const auto file = path("dtypes.safetensors");
        w.writeFile(file);

        const auto st = SafetensorsFile::open(file);
        QCOMPARE(tensorView(st, st.at("bool"))[0].item<bool>(), true);
        QCOMPARE(tensorView(st, st.at("i8"))[0].item<std::int8_t>(), static_cast<std::int8_t>(-3));
        QCOMPARE(tensorView(st, st.at("i16"))[1].item<std::int16_t>(), static_cast<std::int16_t>(400));
        const auto tu16 = tensorView(st, st.at("u16"));
        QCOMPARE(tu16.scalar_type(), at::kInt);
        QCOMPARE(tu16[0].item<std::int32_t>(), 65535);
        const auto tf16 = tensorView(st, st.at("f16")).to(at::kFloat);
        QCOMPARE(tf16[1].item<float>(), -4.0f);
        QCOMPARE(tensorView(st, st.at("i32"))[0].item<std::int32_t>(), -70000);
        const auto tu32 = tensorView(st, st.at("u32"));
        QCOMPARE(tu32.scalar_type(), at::kLong);
        QCOMPARE(tu32[0].item<std::int64_t>(), 4000000000ll);
        QCOMPARE(tensorView(st, st.at("f64"))[1].item<double>(), -1e300);
        QCOMPARE(tensorView(st, st.at("u64"))[0].item<std::int64_t>(), static_cast<std::int64_t>(1ull << 62));
        const std::string err = errorOf([&] { tensorView(st, st.at("u64big")); });
        QVERIFY2(err.find("'u64big'") != std::string::npos &&
                     err.find("does not fit int64") != std::string::npos,
                 err.c_str());
        const auto te4 = tensorView(st, st.at("f8e4m3"));
        QCOMPARE(te4.scalar_type(), at::kFloat);
        QCOMPARE(te4[0].item<float>(), 1.0f);
        QCOMPARE(te4[1].item<float>(), 448.0f);
        QCOMPARE(te4[2].item<float>(), -1.0f);
        QVERIFY(std::isnan(te4[3].item<float>()));
        QCOMPARE(te4[4].item<float>(), std::ldexp(1.0f, -9));
        const auto te5 = tensorView(st, st.at("f8e5m2"));
        QCOMPARE(te5[0].item<float>(), 1.0f);
        QVERIFY(std::isinf(te5[1].item<float>()));
        QCOMPARE(te5[2].item<float>(), -2.0f);
        QCOMPARE(te5[3].item<float>(), std::ldexp(1.0f, -16));
    }

    void torchTensorsRoundTrip() {
        SafetensorsWriter w;
        const at::Tensor a = at::arange(12, at::kFloat).reshape({3, 4}) * 0.25;
        const at::Tensor b = at::randn({5, 7}).to(at::kBFloat16);
        addTensor(w, "a", a);
        addTensor(w, "b", b.t()); // non-contiguous input is written contiguous
        const auto file = path("torch.safetensors");
        w.writeFile(file);
        const auto st = SafetensorsFile::open(file);
        QVERIFY(at::equal(tensorView(st, st.at("a")), a));
        QVERIFY(at::equal(tensorView(st, st.at("b")), b.t().contiguous()));
        QCOMPARE(st.at("b").shape, (std::vector<std::int64_t>{7, 5}));
    }

    void malformedFilesGiveNamedErrors() {
        for (const auto& c : testing::corruptSafetensorsCases()) {
            const auto file = path("bad_" + c.name + ".safetensors");
            testing::writeBytes(file, c.bytes);
            const std::string err = errorOf([&] { SafetensorsFile::open(file); });
            QVERIFY2(!err.empty(), ("no error for " + c.name).c_str());
            QVERIFY2(err.find(file) != std::string::npos, (c.name + ": " + err).c_str());
            QVERIFY2(err.find(c.expected) != std::string::npos, (c.name + ": " + err).c_str());
        }
        // tensor-level errors name the tensor
        const std::string err =
            errorOf([&] { SafetensorsFile::open(path("bad_unknown_dtype.safetensors")); });
        QVERIFY2(err.find("tensor 'w'") != std::string::npos, err.c_str());
    }

    void truncatedDataIsDetected() {
        const auto file = path("cut.safetensors");
        testing::writeTinyCheckpoint(file);
        const std::string bytes = testing::readBytes(file);
        testing::writeBytes(file, bytes.substr(0, bytes.size() - 3));
        const std::string err = errorOf([&] { SafetensorsFile::open(file); });
        QVERIFY2(err.find("may be truncated") != std::string::npos, err.c_str());
        QVERIFY2(err.find("language_model.lm_head.weight") != std::string::npos, err.c_str());
    }

    void gapsAndTrailingBytesAreWarnings() {
        const auto file = path("gappy.safetensors");
        testing::writeBytes(
            file,
            testing::rawSafetensors(
                R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"__metadata__":{"format":"pt"}})",
                "abcdefgh"));
        const auto st = SafetensorsFile::open(file);
        QCOMPARE(st.warnings().size(), std::size_t(2));
        QVERIFY(st.warnings()[0].find("2 unused bytes before tensor 'b'") != std::string::npos);
        QVERIFY(st.warnings()[1].find("2 trailing bytes") != std::string::npos);
        QCOMPARE(st.metadata().at("format"), std::string("pt"));
        QCOMPARE(st.tensors().front().name, std::string("a")); // offset order
    }

    void shardedCheckpointThroughIndex() {
        const auto dir = path("sharded");
        const auto names = testing::writeTinyShardedCheckpoint(dir);
        QVERIFY(fs::exists(dir + "/model.safetensors.index.json"));
        QVERIFY(fs::exists(dir + "/model-00004-of-00004.safetensors"));
        const auto c = Checkpoint::open(dir);
        QCOMPARE(c.shardCount(), std::size_t(4));
        QCOMPARE(c.tensors().size(), names.size());
        for (std::size_t i = 0; i < names.size(); ++i)
            QCOMPARE(c.tensors()[i].info.name, names[i]); // by name
        QVERIFY(c.warnings().empty());
        QCOMPARE(*c.declaredTotalSize(), c.totalBytes());
        const auto& e = c.at("vision_backbone.featurizer.reg_token");
        QVERIFY(c.shardPaths()[e.shard].find("model-00003-of-00004.safetensors") != std::string::npos);
        QCOMPARE(tensorView(c, "vision_backbone.featurizer.reg_token")[2].item<std::int64_t>(), 9);
        // the index file itself, and a single-file folder, open the same way
        QCOMPARE(Checkpoint::open(dir + "/model.safetensors.index.json").tensors().size(), names.size());
        const std::string err = errorOf([&] { c.at("language_model.model.layers.0.mlp.up_proj.weight"); });
        QVERIFY2(err.find("missing tensor 'language_model.model.layers.0.mlp.up_proj.weight'") !=
                     std::string::npos,
                 err.c_str());
    }

    void singleFileFolder() {
        const auto dir = path("single");
        fs::create_directories(dir);
        testing::writeTinyCheckpoint(dir + "/model.safetensors");
        const auto c = Checkpoint::open(dir);
        QCOMPARE(c.shardCount(), std::size_t(1));
        QVERIFY(c.indexPath().empty());
        const std::string err = errorOf([&] { Checkpoint::open(path("empty_dir_does_not_exist")); });
        QVERIFY2(err.find("no such file") != std::string::npos, err.c_str());
        fs::create_directories(path("empty"));
        const std::string err2 = errorOf([&] { Checkpoint::open(path("empty")); });
        QVERIFY2(err2.find("no model.safetensors.index.json") != std::string::npos, err2.c_str());
    }

    void indexWithMissingShard() {
        const auto dir = path("missing_shard");
        testing::writeTinyShardedCheckpoint(dir);
        fs::remove(dir + "/model-00002-of-00004.safetensors");
        const std::string err = errorOf([&] { Checkpoint::open(dir); });
        QVERIFY2(err.find("model.safetensors.index.json") != std::string::npos, err.c_str());
        QVERIFY2(err.find("shard 'model-00002-of-00004.safetensors'") != std::string::npos, err.c_str());
        QVERIFY2(err.find("projector.fc1.bias") != std::string::npos, err.c_str());
        QVERIFY2(err.find("does not exist") != std::string::npos, err.c_str());
    }

    void indexWithMissingTensorAndExtraTensor() {
        const auto dir = path("ghost");
        testing::writeTinyShardedCheckpoint(dir);
        const auto indexPath = dir + "/model.safetensors.index.json";
        auto index = nlohmann::json::parse(testing::readBytes(indexPath));
        index["weight_map"]["ghost.weight"] = "model-00001-of-00004.safetensors";
        testing::writeBytes(indexPath, index.dump());
        const std::string err = errorOf([&] { Checkpoint::open(dir); });
        QVERIFY2(
            err.find(
                "tensor 'ghost.weight' is mapped to shard 'model-00001-of-00004.safetensors', which does "
                "not contain it") != std::string::npos,
            err.c_str());

        index["weight_map"].erase("ghost.weight");
        index["weight_map"].erase("projector.fc1.bias"); // still in shard 2, now unlisted
        index["metadata"]["total_size"] = 1;
        testing::writeBytes(indexPath, index.dump());
        const auto c = Checkpoint::open(dir);
        QCOMPARE(c.tensors().size(), std::size_t(3));
        QCOMPARE(c.warnings().size(), std::size_t(2));
        QVERIFY2(c.warnings()[0].find("model-00002-of-00004.safetensors: shard file that the index does not "
                                      "reference") != std::string::npos,
                 c.warnings()[0].c_str());
        QVERIFY(c.warnings()[1].find("total_size is 1") != std::string::npos);
    }

    void shardTensorMissingFromIndexIsReported() {
        SafetensorsWriter w;
        const float f[4] = {1, 2, 3, 4};
        w.add("a", DType::F32, {1}, f, 4);
        w.add("b", DType::F32, {1}, f + 1, 4);
        w.add("c", DType::F32, {4}, f, 16);
        const auto dir = path("unlisted");
        QCOMPARE(w.writeSharded(dir, 8).size(), std::size_t(2)); // a + b, then c
        const auto indexPath = dir + "/model.safetensors.index.json";
        auto index = nlohmann::json::parse(testing::readBytes(indexPath));
        index["weight_map"].erase("b");
        index["metadata"]["total_size"] = 20;
        testing::writeBytes(indexPath, index.dump());
        const auto c = Checkpoint::open(dir);
        QCOMPARE(c.tensors().size(), std::size_t(2));
        QCOMPARE(c.warnings().size(), std::size_t(1));
        QVERIFY2(c.warnings()[0].find("holds tensor 'b' that the index does not list") != std::string::npos,
                 c.warnings()[0].c_str());
    }

    void brokenIndexJson() {
        const auto dir = path("broken_index");
        testing::writeTinyShardedCheckpoint(dir);
        testing::writeBytes(dir + "/model.safetensors.index.json", "{\"weight_map\": {");
        const std::string err = errorOf([&] { Checkpoint::open(dir); });
        QVERIFY2(err.find("model.safetensors.index.json: invalid JSON") != std::string::npos, err.c_str());
        testing::writeBytes(dir + "/model.safetensors.index.json", "{\"metadata\": {}}");
        const std::string err2 = errorOf([&] { Checkpoint::open(dir); });
        QVERIFY2(err2.find("missing object field 'weight_map'") != std::string::npos, err2.c_str());
    }

    void writerValidatesAndWritesAtomically() {
        SafetensorsWriter w;
        const float f[2] = {1, 2};
        QVERIFY(!errorOf([&] { w.add("x", DType::F32, {3}, f, sizeof f); }).empty());
        w.add("x", DType::F32, {2}, f, sizeof f);
        QVERIFY(errorOf([&] { w.add("x", DType::F32, {2}, f, sizeof f); }).find("added twice") !=
                std::string::npos);

        const auto file = path("atomic.safetensors");
        testing::writeBytes(file, "previous contents");
        w.writeFile(file); // replaces
        QCOMPARE(SafetensorsFile::open(file).tensors().size(), std::size_t(1));
        const std::string err = errorOf([&] { w.writeFile(path("no/such/dir/x.safetensors")); });
        QVERIFY2(err.find("no/such/dir/x.safetensors") != std::string::npos, err.c_str());
        for (const auto& e : fs::directory_iterator(m_dir.path().toStdString()))
            QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos,
                     "temporary file left behind");
    }

    void sparseTensorsCostNoDisk() {
        SafetensorsWriter w;
        w.addSparse("big", DType::BF16, {16384, 32768}); // 1 GiB of holes
        const float f[2] = {3, 4};
        w.add("small", DType::F32, {2}, f, sizeof f);
        const auto file = path("sparse.safetensors");
        w.writeFile(file);
        struct stat st {};
        QCOMPARE(::stat(file.c_str(), &st), 0);
        QVERIFY(static_cast<std::uint64_t>(st.st_size) > (1ull << 30));
        QVERIFY2(static_cast<std::uint64_t>(st.st_blocks) * 512 < (16ull << 20),
                 "sparse data was written out");
        const auto sf = SafetensorsFile::open(file);
        QCOMPARE(sf.at("big").byteSize(), 1ull << 30);
        QCOMPARE(tensorView(sf, sf.at("small"))[1].item<float>(), 4.0f);
    }

    void inspectReport() {
        const auto dir = path("inspect_sharded");
        testing::writeTinyShardedCheckpoint(dir);
        const auto r = inspectCheckpoint(dir);
        QVERIFY(r["valid"].get<bool>());
        QCOMPARE(r["format"].get<std::string>(), std::string("sharded"));
        QCOMPARE(r["totals"]["tensors"].get<int>(), 4);
        QCOMPARE(r["totals"]["bytes"].get<std::uint64_t>(), 61ull);
        QCOMPARE(r["totals"]["by_dtype"]["F32"]["bytes"].get<std::uint64_t>(), 24ull);
        QCOMPARE(r["shards"].size(), std::size_t(4));
        QCOMPARE(r["tensors"][0]["shard"].get<std::string>(),
                 std::string("model-00004-of-00004.safetensors"));
        const std::string text = formatInspectReport(r);
        const auto line = text.substr(text.find("language_model.model.norm.weight"));
        QVERIFY(line.substr(0, line.find('\n')).find(" F32 ") != std::string::npos);
        QVERIFY(text.find("[2, 3]") != std::string::npos);
        QVERIFY(text.find("valid\n") != std::string::npos);

        const auto badFile = path("inspect_overlap.safetensors");
        for (const auto& c : testing::corruptSafetensorsCases())
            if (c.name == "overlapping") testing::writeBytes(badFile, c.bytes);
        const auto bad = inspectCheckpoint(badFile);
        QVERIFY(!bad["valid"].get<bool>());
        QVERIFY(bad["error"].get<std::string>().find("overlap") != std::string::npos);
        QVERIFY(formatInspectReport(bad).find("INVALID") != std::string::npos);
    }

    void verifyDataCountsNonFinite() {
        SafetensorsWriter w;
        const float f[4] = {1, NAN, INFINITY, 2};
        w.add("f", DType::F32, {4}, f, sizeof f);
        const std::uint16_t bf[2] = {0x7fc0, 0x3f80}; // NaN, 1
        w.add("bf", DType::BF16, {2}, bf, sizeof bf);
        const auto file = path("nonfinite.safetensors");
        w.writeFile(file);
        QVERIFY(inspectCheckpoint(file)["valid"].get<bool>()); // structure only
        InspectOptions o;
        o.verifyData = true;
        const auto r = inspectCheckpoint(file, o);
        QVERIFY(!r["valid"].get<bool>());
        QCOMPARE(r["non_finite_total"].get<int>(), 3);
        QCOMPARE(humanBytes(1536), std::string("1.50 KiB"));
    }

public:
    TestIo() { QVERIFY(m_dir.isValid()); }
};

QTEST_GUILESS_MAIN(TestIo)
#include "test_io.moc"
