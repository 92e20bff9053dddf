// SPDX-License-Identifier: MIT
//
// Tests of core/text: the dlmopen()ed SentencePiece plug-in, the Tokenizer and the OpenVLA prompt builder.
// The tests train their own small SentencePiece model in the Llama-2 style (unigram, byte fallback, identity
// normalisation, no whitespace squashing, unk/bos/eos = 0/1/2, no pad) from a generated corpus of robot
// instructions and the prompt templates.

#include "common/error.h"
#include "text/prompt.h"
#include "text/tokenizer.h"
#include "text/tokenizer_training.h"

#include <ATen/ATen.h>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <link.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using specvla::Error;
using namespace specvla::text;

namespace {

const std::string kSpace = "\xE2\x96\x81"; // the lone SentencePiece space piece "▁"

std::vector<std::string> robotInstructions() {
    const std::vector<std::string> objects = {
        "the black bowl",        "the white mug",    "the red block",
        "the alphabet soup",     "the cream cheese", "the ketchup",
        "the tomato sauce",      "the butter",       "the milk",
        "the orange juice",      "the wine bottle",  "the plate",
        "the frying pan",        "the moka pot",     "the salad dressing",
        "the chocolate pudding", "the book",         "the yellow and white mug",
        "the bbq sauce",         "the cookie box"};
    const std::vector<std::string> places = {
        "on the plate",      "in the basket",      "on the stove",       "on top of the cabinet",
        "in the top drawer", "on the left plate",  "on the right plate", "next to the cookie box",
        "into the caddy",    "on the wooden tray", "in the microwave",   "on the wine rack"};
    const std::vector<std::string> fixtures = {"the top drawer of the cabinet", "the microwave", "the stove",
                                               "the middle drawer", "the bottom drawer"};
    std::vector<std::string> out;
    for (const std::string& o : objects) {
        for (const std::string& p : places) {
            out.push_back("pick up " + o + " and place it " + p);
            out.push_back("put " + o + " " + p);
        }
        out.push_back("push " + o + " to the front");
        out.push_back("move " + o + " 3 cm to the left");
        out.push_back("Pick Up " + o);
    }
    for (const std::string& f : fixtures) {
        out.push_back("open " + f);
        out.push_back("close " + f);
        out.push_back("turn on " + f);
        out.push_back("turn off " + f);
        out.push_back("open " + f + " and put the bowl inside");
    }
    return out;
}

bool writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(bytes) == bytes.size();
}

// Whether a shared object whose name contains `needle` is loaded in this (the main) link namespace;
// dl_iterate_phdr() reports only the caller's namespace.
bool loadedInMainNamespace(const char* needle) {
    struct Search {
        const char* needle;
        bool found;
    } search{needle, false};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            auto* s = static_cast<Search*>(data);
            if (info->dlpi_name && std::strstr(info->dlpi_name, s->needle)) s->found = true;
            return 0;
        },
        &search);
    return search.found;
}

// Whether a file whose path contains `needle` is mapped into the process, in any namespace.
bool mappedInProcess(const char* needle) {
    QFile maps(QStringLiteral("/proc/self/maps"));
    if (!maps.open(QIODevice::ReadOnly)) return false;
    return maps.readAll().contains(needle);
}

// Runs this executable in child mode (see main()) and returns what it printed, or "" when it failed.
QString pluginPathInChild(const QString& envValue) {
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SPECVLA_SPM_PLUGIN"), envValue);
    child.setProcessEnvironment(env);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--print-spm-plugin-path")});
    if (!child.waitForFinished(60000) || child.exitStatus() != QProcess::NormalExit || child.exitCode() != 0)
        return {};
    return QString::fromLocal8Bit(child.readAllStandardOutput()).trimmed();
}

} // namespace

class TestText : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_modelPath;
    Tokenizer m_tok;

    QString trainModel(const QString& name, const QByteArray& corpus, const std::string& extraArgs) {
        const QString corpusPath = m_dir->filePath(name + ".txt");
        if (!writeFile(corpusPath, corpus)) return {};
        const QString prefix = m_dir->filePath(name);
        trainSentencePiece("--input=" + corpusPath.toStdString() + " --model_prefix=" + prefix.toStdString() +
                           " " + extraArgs);
        return prefix + ".model";
    }

private Q_SLOTS:
    void initTestCase() {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        // QTemporaryDir paths have no spaces, which the trainer's argument string needs.
        QVERIFY(!m_dir->path().contains(' '));

        QByteArray corpus;
        for (const std::string& instruction : robotInstructions()) {
            const std::string line = instruction + "\n";
            corpus += QByteArray::fromStdString(line);
            corpus +=
                QByteArray::fromStdString("In: What action should the robot take to " + instruction + "?\n");
            corpus += QByteArray::fromStdString("USER: What action should the robot take to " + instruction +
                                                "? ASSISTANT:\n");
        }
        corpus += "Out:\nOut: \n";
        corpus +=
            "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
            "helpful, detailed, and polite answers to the user's questions.\n";

        // Llama-2-like settings. character_coverage=1 keeps every character of the corpus as a piece, which
        // includes the whitespace symbol itself: that is what gives the lone "▁" piece (checked below).
        m_modelPath =
            trainModel("robot", corpus,
                       "--model_type=unigram --vocab_size=400 --byte_fallback=true "
                       "--character_coverage=1.0 --normalization_rule_name=identity "
                       "--remove_extra_whitespaces=false --split_digits=true --add_dummy_prefix=true "
                       "--unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --num_threads=2 "
                       "--minloglevel=2");
        QVERIFY(QFileInfo::exists(m_modelPath));
        m_tok = Tokenizer::load(m_modelPath.toStdString());
        QVERIFY(m_tok.isLoaded());
    }

    void pluginIsFoundAndIsolated() {
        const std::string plugin = sentencePiecePluginPath();
        QVERIFY(QFileInfo(QString::fromStdString(plugin)).isFile());
        QVERIFY(QString::fromStdString(plugin).endsWith("libspecvla_spm.so"));
        // The test executable links libtorch, which needs the system protobuf; the plug-in brings
        // libsentencepiece with its own bundled protobuf. Both are mapped in this very process.
        QVERIFY(loadedInMainNamespace("libtorch_cpu"));
        QVERIFY(loadedInMainNamespace("libprotobuf"));
        QVERIFY(mappedInProcess("libsentencepiece"));
        // ... but SentencePiece (and its protobuf 3.14) lives in the plug-in's own link namespace.
        QVERIFY(!loadedInMainNamespace("libsentencepiece"));
        QVERIFY(!loadedInMainNamespace("libspecvla_spm"));
    }

    void pluginLookupOrder() {
        // $SPECVLA_SPM_PLUGIN comes first ...
        const QString copy = m_dir->filePath(QStringLiteral("copy/libspecvla_spm.so"));
        QVERIFY(QDir().mkpath(QFileInfo(copy).path()));
        QVERIFY(QFile::copy(QString::fromStdString(sentencePiecePluginPath()), copy));
        QCOMPARE(pluginPathInChild(copy), copy);
        // ... and a broken one falls back to the next locations (beside the executable, then the build tree).
        const QString bogus = m_dir->filePath(QStringLiteral("bogus/libspecvla_spm.so"));
        QVERIFY(QDir().mkpath(QFileInfo(bogus).path()));
        QVERIFY(writeFile(bogus, "not an ELF file"));
        const QString fallback = pluginPathInChild(bogus);
        QVERIFY(!fallback.isEmpty());
        QVERIFY(fallback != bogus);
        QCOMPARE(pluginPathInChild(m_dir->filePath(QStringLiteral("missing.so"))).isEmpty(), false);
    }

    void torchAndTokenizerInOneProcess() {
        // The regression test for toolchain.md section 3: a process running libtorch (whose protobuf
        // would clash with SentencePiece's) tokenizes and computes tensors, in either order.
        const std::vector<int> before = m_tok.encode("pick up the black bowl");
        const at::Tensor t = at::ones({2, 3}, at::kFloat) * 2;
        QCOMPARE(t.sum().item<float>(), 12.0f);
        const std::vector<int> after = m_tok.encode("pick up the black bowl");
        QCOMPARE(after, before);
        const at::Tensor ids = at::tensor(std::vector<int64_t>(after.begin(), after.end()));
        QCOMPARE(ids.numel(), static_cast<int64_t>(after.size()));
        QCOMPARE(m_tok.decode(after), std::string("pick up the black bowl"));
    }

    void vocabularyShape() {
        QCOMPARE(m_tok.vocabSize(), 400);
        QCOMPARE(m_tok.path(), m_modelPath.toStdString());
        // The lone space piece must exist for the OpenVLA prompt rule.
        const int space = m_tok.pieceToId(kSpace);
        QVERIFY(space > 2);
        QCOMPARE(m_tok.idToPiece(space), kSpace);
        // Every id maps to a piece and back.
        for (int id = 0; id < m_tok.vocabSize(); ++id)
            QCOMPARE(m_tok.pieceToId(m_tok.idToPiece(id)), id);
    }

    void specialIds() {
        QCOMPARE(m_tok.unkId(), 0);
        QCOMPARE(m_tok.bosId(), 1);
        QCOMPARE(m_tok.eosId(), 2);
        QCOMPARE(m_tok.padId(), -1);
        QCOMPARE(m_tok.idToPiece(m_tok.unkId()), std::string("<unk>"));
        QCOMPARE(m_tok.idToPiece(m_tok.bosId()), std::string("<s>"));
        QCOMPARE(m_tok.idToPiece(m_tok.eosId()), std::string("</s>"));
        // encode() adds no BOS/EOS; control ids decode to nothing.
        const std::vector<int> ids = m_tok.encode("open the microwave");
        QVERIFY(!ids.empty());
        QVERIFY(ids.front() != m_tok.bosId());
        QVERIFY(ids.back() != m_tok.eosId());
        std::vector<int> framed = {m_tok.bosId()};
        framed.insert(framed.end(), ids.begin(), ids.end());
        framed.push_back(m_tok.eosId());
        QCOMPARE(m_tok.decode(framed), std::string("open the microwave"));
    }

    void pieceToIdDistinguishesUnknown() {
        // SentencePiece itself answers unk_id (0) for unknown pieces; we answer -1.
        QCOMPARE(m_tok.pieceToId("<unk>"), 0);
        QCOMPARE(m_tok.pieceToId("definitely-not-a-piece"), -1);
        QCOMPARE(m_tok.pieceToId(""), -1);
        QCOMPARE(m_tok.pieceToId("<0x0A>") >= 3, true);
    }

    void roundTrip_data() {
        QTest::addColumn<QString>("text");
        QTest::newRow("instruction") << "pick up the alphabet soup and place it in the basket";
        QTest::newRow("prompt") << "In: What action should the robot take to open the top drawer?\nOut:";
        QTest::newRow("digits") << "move 12345 cm";
        QTest::newRow("unseen words") << "quixotic zebra xylophone";
        QTest::newRow("non-ascii bytes") << QString::fromUtf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC ok");
        QTest::newRow("two spaces") << "put  the bowl";
    }

    void roundTrip() {
        QFETCH(QString, text);
        const std::string s = text.toStdString();
        const std::vector<int> ids = m_tok.encode(s);
        QVERIFY(!ids.empty());
        for (int id : ids) {
            QVERIFY(id >= 0 && id < m_tok.vocabSize());
            QVERIFY(id != m_tok.unkId()); // byte fallback: nothing is unknown
        }
        QCOMPARE(m_tok.decode(ids), s);
    }

    void emptyText() {
        QVERIFY(m_tok.encode("").empty());
        QCOMPARE(m_tok.decode({}), std::string());
    }

    void longTextGrowsBuffers() {
        std::string text;
        for (int i = 0; i < 300; ++i)
            text += "pick up the black bowl and place it on the plate. ";
        text += "\xE6\x97\xA5\xE6\x9C\xAC\xE6\x97\xA5\xE6\x9C\xAC"; // byte fallback: 3 ids per character
        const std::vector<int> ids = m_tok.encode(text);
        QVERIFY(ids.size() > 300);
        QCOMPARE(m_tok.decode(ids), text);
    }

    void newlineIsByteFallback() {
        const int nl = m_tok.pieceToId("<0x0A>");
        QVERIFY(nl >= 3);
        const std::vector<int> ids = m_tok.encode("to open?\nOut:");
        QCOMPARE(std::count(ids.begin(), ids.end(), nl), 1);
        QCOMPARE(m_tok.idToPiece(nl), std::string("<0x0A>"));
        QCOMPARE(m_tok.decode({nl}), std::string("\n"));
    }

    void badIdsThrow() {
        QVERIFY_THROWS_EXCEPTION(Error, m_tok.decode({5, m_tok.vocabSize()}));
        QVERIFY_THROWS_EXCEPTION(Error, m_tok.decode({-1}));
        QVERIFY_THROWS_EXCEPTION(Error, m_tok.idToPiece(-1));
        QVERIFY_THROWS_EXCEPTION(Error, m_tok.idToPiece(m_tok.vocabSize()));
        try {
            m_tok.decode({3, 99999});
            QFAIL("no exception");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("99999") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find(m_modelPath.toStdString()) != std::string::npos, e.what());
        }
    }

    void missingFileNamesIt() {
        const std::string path = m_dir->filePath("no-such-dir/tokenizer.model").toStdString();
        try {
            Tokenizer::load(path);
            QFAIL("no exception");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        }
    }

    void invalidFilesNameThem_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("text") << QByteArray("this is not a sentencepiece model\n");
        QByteArray noise;
        for (int i = 0; i < 4096; ++i)
            noise += char((i * 131 + 7) & 0xFF);
        QTest::newRow("noise") << noise;
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("truncated model") << QByteArray("\x0a\x10\x0a\x05<unk>", 9);
    }

    void invalidFilesNameThem() {
        QFETCH(QByteArray, bytes);
        const QString path = m_dir->filePath(QStringLiteral("garbage-%1.model").arg(QTest::currentDataTag()));
        QVERIFY(writeFile(path, bytes));
        try {
            Tokenizer::load(path.toStdString());
            QFAIL("no exception");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(path.toStdString()) != std::string::npos, e.what());
        }
        // The process keeps running and the good tokenizer still works.
        QCOMPARE(m_tok.decode(m_tok.encode("close the stove")), std::string("close the stove"));
    }

    void directoryIsNotAModel() {
        QVERIFY_THROWS_EXCEPTION(Error, Tokenizer::load(m_dir->path().toStdString()));
    }

    void emptyTokenizerThrows() {
        const Tokenizer empty;
        QVERIFY(!empty.isLoaded());
        QVERIFY_THROWS_EXCEPTION(Error, empty.encode("x"));
        QVERIFY_THROWS_EXCEPTION(Error, empty.vocabSize());
        QVERIFY_THROWS_EXCEPTION(Error, buildPromptIds(empty, "x", PromptStyle::OpenVlaV1));
    }

    void copiesShareTheModel() {
        std::vector<int> expected = m_tok.encode("put the milk in the basket");
        Tokenizer copy;
        {
            const Tokenizer loaded = Tokenizer::load(m_modelPath.toStdString());
            copy = loaded;
        }
        QVERIFY(copy.isLoaded());
        QCOMPARE(copy.encode("put the milk in the basket"), expected);
    }

    void trainerErrorsThrow() {
        const std::string prefix = m_dir->filePath("never").toStdString();
        QVERIFY_THROWS_EXCEPTION(
            Error, trainSentencePiece("--input=" + m_dir->filePath("missing.txt").toStdString() +
                                      " --model_prefix=" + prefix + " --vocab_size=300 --minloglevel=2"));
        QVERIFY_THROWS_EXCEPTION(Error, trainSentencePiece("--no_such_flag=1"));
    }

    void trainedModelsDoNotDependOnTheirFolder() {
        // The trainer records its input file and model prefix in the model; trainInstructionTokenizer leaves
        // them out, so the demo's tokenizer comes out byte-identical wherever it is rebuilt.
        const std::vector<std::string> instructions = robotInstructions();
        std::vector<QByteArray> models;
        for (const QString sub : {"first-place", "second"}) {
            QVERIFY(QDir(m_dir->path()).mkpath(sub));
            const QString prefix = m_dir->filePath(sub + "/instr");
            const std::string path = trainInstructionTokenizer(prefix.toStdString(), instructions, 300);
            QCOMPARE(QString::fromStdString(path), prefix + ".model");
            QFile f(QString::fromStdString(path));
            QVERIFY(f.open(QIODevice::ReadOnly));
            models.push_back(f.readAll());
            QVERIFY(!models.back().contains(sub.toUtf8()));
            QVERIFY(!models.back().contains("corpus.txt"));
            const Tokenizer tok = Tokenizer::load(path);
            QVERIFY(tok.vocabSize() > 259 && tok.vocabSize() <= 300); // 256 bytes, 3 specials, pieces
            const std::vector<int> ids = tok.encode(instructions.front());
            QVERIFY(!ids.empty());
            QCOMPARE(tok.decode(ids), instructions.front());
        }
        QCOMPARE(models[0], models[1]);

        // The rewrite keeps everything else byte for byte: the model the trainer wrote directly (with its
        // paths) loses exactly those paths.
        QFile raw(m_modelPath);
        QVERIFY(raw.open(QIODevice::ReadOnly));
        const std::string bytes = raw.readAll().toStdString();
        QVERIFY(bytes.find("robot.txt") != std::string::npos);
        const std::string stripped = withoutTrainerPaths(bytes, "robot.model");
        QVERIFY(stripped.find("robot.txt") == std::string::npos);
        QVERIFY(stripped.size() < bytes.size());
        QCOMPARE(withoutTrainerPaths(stripped, "again"), stripped);
        QVERIFY(bytes.find(stripped.substr(0, 64)) == 0); // the pieces come first and are untouched

        // Malformed bytes name their source.
        try {
            withoutTrainerPaths(bytes.substr(0, bytes.size() - 3), "cut.model");
            QFAIL("a truncated model was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("cut.model") != std::string::npos, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(Error, withoutTrainerPaths(std::string("\x0b\x01", 2), "groups.model"));
    }

    void concurrentEncoding() {
        const std::vector<std::string> texts = robotInstructions();
        std::vector<std::vector<int>> expected;
        for (const std::string& t : texts)
            expected.push_back(m_tok.encode(t));

        std::vector<int> failures(2, 0);
        auto worker = [&](int index) {
            for (int round = 0; round < 5; ++round) {
                for (size_t i = 0; i < texts.size(); ++i) {
                    const size_t k = index == 0 ? i : texts.size() - 1 - i;
                    const std::vector<int> ids = m_tok.encode(texts[k]);
                    if (ids != expected[k] || m_tok.decode(ids) != texts[k]) ++failures[index];
                }
            }
        };
        std::thread a(worker, 0);
        std::thread b(worker, 1);
        a.join();
        b.join();
        QCOMPARE(failures[0], 0);
        QCOMPARE(failures[1], 0);
    }

    // --- prompt ---

    void promptTextV1() {
        QCOMPARE(buildPromptText("pick up the black bowl", PromptStyle::OpenVlaV1),
                 std::string("In: What action should the robot take to pick up the black bowl?\nOut:"));
        QCOMPARE(buildPromptText("Pick Up The BLACK Bowl", PromptStyle::OpenVlaV1),
                 std::string("In: What action should the robot take to pick up the black bowl?\nOut:"));
    }

    void promptTextV01() {
        QCOMPARE(buildPromptText("Open the Microwave", PromptStyle::OpenVlaV01),
                 std::string("A chat between a curious user and an artificial intelligence assistant. The "
                             "assistant gives helpful, detailed, and polite answers to the user's questions. "
                             "USER: What action should the robot take to open the microwave? ASSISTANT:"));
    }

    void promptTextKeepsInstructionAsIs() {
        // Only ASCII letters are lowered; whitespace and punctuation are kept as OpenVLA keeps them.
        QCOMPARE(buildPromptText("  Put it.  ", PromptStyle::OpenVlaV1),
                 std::string("In: What action should the robot take to   put it.  ?\nOut:"));
        // UTF-8 bytes ("\xC3\x84" = A with diaeresis) pass through untouched.
        QCOMPARE(asciiLower("\xC3\x84PFEL Z"), std::string("\xC3\x84pfel z"));
        QCOMPARE(asciiLower("@[`{AZaz09"), std::string("@[`{azaz09"));
    }

    void promptStyleFromName_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("v01");
        QTest::newRow("hf id v1") << "openvla/openvla-7b" << false;
        QTest::newRow("hf id v01") << "openvla/openvla-v01-7b" << true;
        QTest::newRow("local dir v01") << "/models/openvla-v01-7b-finetuned/" << true;
        QTest::newRow("libero finetune") << "openvla/openvla-7b-finetuned-libero-spatial" << false;
        QTest::newRow("other v0") << "openvla-v0.1" << false;
        QTest::newRow("empty") << "" << false;
    }

    void promptStyleFromName() {
        QFETCH(QString, name);
        QFETCH(bool, v01);
        QCOMPARE(promptStyleForModel(name.toStdString()) == PromptStyle::OpenVlaV01, v01);
    }

    void promptIdsAppendSpace_data() {
        QTest::addColumn<int>("style");
        QTest::newRow("v1") << int(PromptStyle::OpenVlaV1);
        QTest::newRow("v01") << int(PromptStyle::OpenVlaV01);
    }

    void promptIdsAppendSpace() {
        QFETCH(int, style);
        const auto s = static_cast<PromptStyle>(style);
        const std::string instruction = "Pick up the black bowl and place it on the plate";
        const int space = m_tok.pieceToId(kSpace);
        const std::vector<int> body = m_tok.encode(buildPromptText(instruction, s));
        QVERIFY(!body.empty());
        QVERIFY(body.back() != space); // the prompt ends with ":"

        const std::vector<int> ids = buildPromptIds(m_tok, instruction, s);
        QCOMPARE(ids.size(), body.size() + 2);
        QCOMPARE(ids.front(), m_tok.bosId());
        QCOMPARE(ids.back(), space);
        QCOMPARE(std::vector<int>(ids.begin() + 1, ids.end() - 1), body);
        QCOMPARE(std::count(ids.begin(), ids.end(), m_tok.bosId()), 1);
        // An explicit space id gives the same result.
        QCOMPARE(buildPromptIds(m_tok, instruction, s, space), ids);
    }

    void promptIdsDoNotAppendSpaceTwice() {
        // OpenVLA's training prompt "Out: " (trailing space) already ends with the lone space token when the
        // tokenizer keeps whitespace, which is why predict_action checks before appending.
        const int space = m_tok.pieceToId(kSpace);
        const std::vector<int> trained =
            m_tok.encode("In: What action should the robot take to open the microwave?\nOut: ");
        QCOMPARE(trained.back(), space);

        // When the encoded prompt already ends with the space id, nothing is appended.
        const std::string instruction = "open the microwave";
        const std::vector<int> body = m_tok.encode(buildPromptText(instruction, PromptStyle::OpenVlaV1));
        const std::vector<int> ids = buildPromptIds(m_tok, instruction, PromptStyle::OpenVlaV1, body.back());
        QCOMPARE(ids.size(), body.size() + 1);
        QCOMPARE(ids.back(), body.back());
        QCOMPARE(std::count(ids.begin() + 1, ids.end(), body.back()),
                 std::count(body.begin(), body.end(), body.back()));
    }

    void promptIdsNeedSpacePiece() {
        // A model trained without any whitespace in its corpus and without a dummy prefix has no "▁" piece.
        QByteArray corpus;
        for (const std::string& instruction : robotInstructions()) {
            std::string squashed;
            for (char c : instruction)
                if (c != ' ') squashed += c;
            corpus += QByteArray::fromStdString(squashed + "\n");
        }
        const QString path = trainModel("nospace", corpus,
                                        "--model_type=unigram --vocab_size=300 --byte_fallback=true "
                                        "--character_coverage=1.0 --add_dummy_prefix=false "
                                        "--hard_vocab_limit=false --num_threads=2 --minloglevel=2");
        const Tokenizer noSpace = Tokenizer::load(path.toStdString());
        QCOMPARE(noSpace.pieceToId(kSpace), -1);
        try {
            buildPromptIds(noSpace, "open the microwave", PromptStyle::OpenVlaV1);
            QFAIL("no exception");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(path.toStdString()) != std::string::npos, e.what());
        }
        // With an explicit id it still works.
        const std::vector<int> ids = buildPromptIds(noSpace, "open the microwave", PromptStyle::OpenVlaV1, 7);
        QCOMPARE(ids.back(), 7);
    }
};

// Like QTEST_GUILESS_MAIN, plus a child mode that pluginLookupOrder() runs with its own environment: the
// plug-in is loaded once per process, so each lookup case needs a fresh process.
int main(int argc, char** argv) {
    if (argc == 2 && std::strcmp(argv[1], "--print-spm-plugin-path") == 0) {
        try {
            std::printf("%s\n", sentencePiecePluginPath().c_str());
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
    }
    QCoreApplication app(argc, argv);
    TestText test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_text.moc"
