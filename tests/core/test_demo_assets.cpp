// SPDX-License-Identifier: MIT
// The shipped demo assets in resources/demo: within the size budget, at least 20 held-out episodes in the
// LIBERO layout that the same reader as real files reads, and a model and draft that load and decode them.
#include "data/libero_reader.h"
#include "decode/spec_decoder.h"
#include "demo/evaluation.h"
#include "demo/trainer.h"
#include "model/draft_head.h"
#include "model/vla_model.h"
#include "vision/preprocess.h"

#include <ATen/ATen.h>

#include <QtTest>

#include <algorithm>
#include <filesystem>

using namespace specvla;
namespace fs = std::filesystem;

class TestDemoAssets : public QObject {
    Q_OBJECT

private:
    fs::path m_root = fs::path(SPECVLA_SOURCE_DIR) / "resources" / "demo";

    std::vector<fs::path> episodeFiles() const {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(m_root / "episodes"))
            if (e.path().extension() == ".hdf5") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        return files;
    }

private Q_SLOTS:
    void withinBudget() {
        QVERIFY2(fs::is_directory(m_root), m_root.c_str());
        std::uintmax_t bytes = 0;
        for (const auto& e : fs::recursive_directory_iterator(m_root))
            if (e.is_regular_file()) bytes += e.file_size();
        qInfo("resources/demo: %.2f MB", static_cast<double>(bytes) / 1e6);
        QVERIFY(bytes <= 25u * 1000u * 1000u);
        for (const char* f : {"model/config.json", "model/tokenizer.model", "model/dataset_statistics.json",
                              "draft/config.json", "train_report.json"})
            QVERIFY2(fs::exists(m_root / f), f);
    }

    void heldOutEpisodesAreLiberoFiles() {
        QVERIFY(fs::is_directory(m_root / "episodes"));
        const auto files = episodeFiles();
        QVERIFY(files.size() >= 20);
        for (std::size_t k = 0; k < files.size(); ++k) {
            const data::LiberoFile file = data::LiberoFile::open(files[k].string());
            QCOMPARE(file.numDemos(), 1);
            const data::Episode ep = file.readDemo(0);
            QVERIFY2(ep.consistencyProblem().empty(), ep.consistencyProblem().c_str());
            QVERIFY(ep.success());
            // The file of layout k holds the instruction of held-out layout k.
            QCOMPARE(ep.instruction, demo::instruction(demo::heldOutLayout(static_cast<int>(k))));
        }
    }

    void modelAndDraftLoadAndDecode() {
        model::LoadOptions lo;
        lo.dtype = at::kFloat;
        lo.unnormKey = demo::kDemoStatsKey;
        const auto m = model::VlaModel::load((m_root / "model").string(), lo);
        const auto h = model::DraftHead::load((m_root / "draft").string(), *m);
        const auto files = episodeFiles();
        QVERIFY(!files.empty());
        const data::Episode ep = data::LiberoFile::open(files.front().string()).readDemo(0);
        // Frames are stored rotated as LIBERO stores them; the LIBERO eval path (what the CLI and the
        // workbench apply to episodes) gives exactly the policy input the model was trained on.
        const vision::RgbImage stored = vision::fromBuffer(ep.imageWidth, ep.imageHeight, ep.image(0));
        const vision::RgbImage upright = demo::render(demo::heldOutLayout(0), ep.imageWidth);
        QVERIFY(vision::rotate180(stored).pixels == upright.pixels);
        const vision::RgbImage frame = vision::prepareImage(stored, vision::PreprocessOptions::libero());
        QVERIFY(frame.pixels == demo::policyInput(upright).pixels);
        decode::FrameContext ctx = decode::prepareFrame(*m, h.get(), frame, ep.instruction);
        decode::DecodeSettings ar;
        ar.mode = decode::DecodeMode::Ar;
        const auto a = decode::decodeFrame(*m, h.get(), ctx, ar);
        decode::DecodeSettings strict;
        strict.mode = decode::DecodeMode::Strict;
        const auto s = decode::decodeFrame(*m, h.get(), ctx, strict);
        QCOMPARE(s.tokens, a.tokens); // lossless
        const auto r = decode::decodeFrame(*m, h.get(), ctx, decode::DecodeSettings{});
        QCOMPARE(r.tokens.size(), std::size_t(7));
        QVERIFY(r.targetPasses < a.targetPasses); // the trained draft is accepted
        qInfo("AR action %.3f %.3f %.3f, recorded %.3f %.3f %.3f", a.action[0], a.action[1], a.action[2],
              ep.actions[0][0], ep.actions[0][1], ep.actions[0][2]);
    }
};

QTEST_GUILESS_MAIN(TestDemoAssets)
#include "test_demo_assets.moc"
