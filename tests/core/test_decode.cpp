// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "decode/action_tokenizer.h"
#include "decode/norm_stats.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace specvla;
using namespace specvla::decode;

// Expected values are computed by hand from reference/specvla-openvla.md section 2.2:
// bins = linspace(-1, 1, 256) (step 2/255), centres = midpoints (255 of them), id = 32000 - digitize(a,
// bins).
class TestDecode : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void binsAndCenters() {
        const ActionTokenizer t;
        QCOMPARE(t.bins().size(), std::size_t(256));
        QCOMPARE(t.binCenters().size(), std::size_t(255));
        QCOMPARE(t.bins().front(), -1.0);
        QCOMPARE(t.bins().back(), 1.0);
        QVERIFY(std::abs(t.bins()[1] - (-1.0 + 2.0 / 255.0)) < 1e-15);
        QVERIFY(std::abs(t.binCenters()[0] - (-1.0 + 1.0 / 255.0)) < 1e-15); // -0.996078...
        QVERIFY(std::abs(t.binCenters()[127]) < 1e-15);                      // the middle centre is 0
        QVERIFY(std::abs(t.binCenters()[254] - (1.0 - 1.0 / 255.0)) < 1e-15);
        QCOMPARE(t.firstActionToken(), 31744);
        QCOMPARE(t.lastActionToken(), 31999);
    }

    void encodeAsDigitize() {
        const ActionTokenizer t;
        QCOMPARE(t.encode(-1.0), 31999); // k = 1
        QCOMPARE(t.encode(-5.0), 31999); // clipped
        QCOMPARE(t.encode(1.0), 31744);  // a >= bins[255] gives k = 256
        QCOMPARE(t.encode(3.0), 31744);
        QCOMPARE(t.encode(0.0), 31872); // bins[127] = -1/255 <= 0 < bins[128] = 1/255: k = 128
        // exactly on an inner edge: digitize puts it in the bin to the right
        QCOMPARE(t.encode(t.bins()[10]), 32000 - 11);
        QCOMPARE(t.encode(std::nextafter(t.bins()[10], -2.0)), 32000 - 10);
    }

    void decodeWithClipping() {
        const ActionTokenizer t;
        QVERIFY(std::abs(t.decode(31999) - (-1.0 + 1.0 / 255.0)) < 1e-15); // idx 0
        QVERIFY(std::abs(t.decode(31872)) < 1e-15);                        // idx 127
        QVERIFY(std::abs(t.decode(31745) - (1.0 - 1.0 / 255.0)) < 1e-15);  // idx 254
        QCOMPARE(t.decode(31744), t.decode(31745));                        // both map to centre 254
        QCOMPARE(t.decode(100), t.decode(31745));                          // non-action ids clip to 254
        QCOMPARE(t.decode(32000), t.decode(31999));                        // pad clips to 0
        QCOMPARE(t.decode(std::vector<int>{31999, 31872}).size(), std::size_t(2));
    }

    void roundTripWithinHalfBin() {
        const ActionTokenizer t;
        for (int i = 0; i <= 2000; ++i) {
            const double a = -1.0 + i * 0.001;
            const int id = t.encode(a);
            QVERIFY(t.isActionToken(id));
            // the decoded value lies within one bin width of the input (edge bin 256 decodes to centre 254)
            QVERIFY2(std::abs(t.decode(id) - a) <= 2.0 / 255.0 + 1e-12, QByteArray::number(a));
        }
    }

    void binsOfTokens() {
        const ActionTokenizer t;
        QCOMPARE(t.binOfToken(31999), 0);
        QCOMPARE(t.binOfToken(31744), 255);
        QCOMPARE(t.binOfToken(31743), -1);
        QCOMPARE(t.binOfToken(32000), -1);
        QCOMPARE(t.tokenOfBin(9), 31990);
        // token-id distance equals bin distance inside the action range
        QCOMPARE(std::abs(t.binOfToken(31990) - t.binOfToken(31981)), 9);
    }

    void smallVocabularyForDemoTokenizers() {
        const ActionTokenizer t(1000, 256);
        QCOMPARE(t.firstActionToken(), 744);
        QCOMPARE(t.encode(1.0), 744);
        QCOMPARE(t.encode(-1.0), 999);
        QVERIFY(!t.isActionToken(743));
        bool threw = false;
        try {
            ActionTokenizer bad(100, 256);
        } catch (const Error&) {
            threw = true;
        }
        QVERIFY(threw);
    }

    void unnormalizeQ99WithMask() {
        NormStats s;
        s.key = "libero_goal";
        s.q01 = {-0.5, -1.0, 0.0, 0, 0, 0, 0};
        s.q99 = {1.5, 1.0, 0.2, 1, 1, 1, 1};
        s.mask = {true, true, true, true, true, true, false};
        const std::vector<double> n = {0.0, 0.5, -1.0, 1.0, 0.0, 0.0, 0.7};
        const auto a = unnormalize(n, s);
        QCOMPARE(a[0], 0.5); // 0.5 * 1 * 2 - 0.5
        QCOMPARE(a[1], 0.5); // 0.5 * 1.5 * 2 - 1
        QCOMPARE(a[2], 0.0); // lower bound
        QCOMPARE(a[3], 1.0); // upper bound
        QCOMPARE(a[6], 0.7); // gripper is not un-normalised
        const auto back = normalize(a, s);
        for (int i = 0; i < 7; ++i)
            QVERIFY(std::abs(back[i] - n[i]) < 1e-7);
        // normalisation clips like the training transform
        QCOMPARE(normalize({9, 0, 0, 0, 0, 0, 0}, s)[0], 1.0);
        bool threw = false;
        try {
            unnormalize({0.0, 0.0}, s);
        } catch (const Error& e) {
            threw = std::string(e.what()).find("libero_goal") != std::string::npos;
        }
        QVERIFY(threw);
    }

    void liberoGripper() {
        std::vector<double> a = {0, 0, 0, 0, 0, 0, 0.9};
        liberoGripperPostprocess(a);
        QCOMPARE(a[6], -1.0); // model says open (1) -> LIBERO -1 = open
        a[6] = 0.1;
        liberoGripperPostprocess(a);
        QCOMPARE(a[6], 1.0);
        a[6] = 0.5;
        liberoGripperPostprocess(a);
        QCOMPARE(a[6], 0.0); // sign(0) = 0
    }

    void normStatsFromJson() {
        const auto j = nlohmann::json::parse(R"({
            "bridge_orig": {"action": {"q01": [0,0], "q99": [1,1]}},
            "libero_goal_no_noops": {"action": {"q01": [-1,-2], "q99": [1,2], "mask": [true, false]}}})");
        const auto s = NormStats::fromJson(j, "libero_goal", "dataset_statistics.json");
        QCOMPARE(s.key, std::string("libero_goal_no_noops")); // OpenVLA's fallback
        QCOMPARE(s.q99[1], 2.0);
        QCOMPARE(s.mask, (std::vector<bool>{true, false}));
        const auto b = NormStats::fromJson(j, "bridge_orig", "x.json");
        QCOMPARE(b.mask, (std::vector<bool>{true, true})); // absent mask: all dimensions
        auto expectError = [&](const nlohmann::json& json, const std::string& key,
                               const std::string& phrase) {
            try {
                NormStats::fromJson(json, key, "stats.json");
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find(phrase) != std::string::npos, e.what());
                QVERIFY2(std::string(e.what()).find("stats.json") != std::string::npos, e.what());
                return;
            }
            QFAIL(("no error for key " + key).c_str());
        };
        expectError(j, "fractal", "available keys: bridge_orig, libero_goal_no_noops");
        expectError(j, "", "available keys");
        expectError(nlohmann::json::parse(R"({"d": {"action": {"q01": [0], "q99": [1, 2]}}})"), "d",
                    "q99 has 2");
        expectError(nlohmann::json::parse(R"({"d": {"proprio": {}}})"), "d", "no 'action'");
        expectError(nlohmann::json::parse(R"({"d": {"action": {"q01": [0], "q99": [1], "mask": [1, 0]}}})"),
                    "d", "'mask'");
    }

    void normStatsFromFile() {
        QTemporaryDir dir;
        const std::string p = dir.filePath("dataset_statistics.json").toStdString();
        {
            std::FILE* f = std::fopen(p.c_str(), "w");
            std::fputs(R"({"only": {"action": {"q01": [0], "q99": [2]}}})", f);
            std::fclose(f);
        }
        QCOMPARE(NormStats::fromFile(p, "").key, std::string("only"));
        try {
            NormStats::fromFile(dir.filePath("missing.json").toStdString(), "");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("missing.json") != std::string::npos);
        }
    }
};

QTEST_GUILESS_MAIN(TestDecode)
#include "test_decode.moc"
