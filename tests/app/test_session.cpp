// SPDX-License-Identifier: MIT
// Session files (app/session): round trip, paths relative to the session file, and an error that names the
// file and the field for every way a file can be wrong.
#include "common/error.h"
#include "session/session_file.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace session = specvla::session;
namespace decode = specvla::decode;
using nlohmann::json;

namespace {

json validJson() {
    return json::parse(R"({"format": "specvla-session", "version": 2, "model": "models/vla",
        "draft": null, "episodes": "data/ep.hdf5", "unnorm_key": null,
        "settings": {"mode": "relaxed", "margin": 9, "margins_per_dim": null, "top_k": 8, "depth": 4,
                     "total_tokens": 50},
        "view": {"step": 0, "round": 0, "dimension": -1},
        "bookmarks": [{"step": 3, "note": "first"}], "notes": ""})");
}

void writeText(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    std::string path(const char* name) const {
        return m_dir.filePath(QString::fromLatin1(name)).toStdString();
    }

    // Reads j written to a file and returns the error message ("" when it reads).
    QString errorOf(const json& j) {
        const std::string file = path("bad.json");
        writeText(file, j.dump());
        try {
            session::readSession(file);
        } catch (const specvla::Error& e) {
            return QString::fromStdString(e.what());
        }
        return {};
    }

private Q_SLOTS:
    void roundTrip() {
        QVERIFY(m_dir.isValid());
        session::Session s;
        s.model = path("models/vla");
        s.draft = path("models/draft");
        s.episodes = path("data/ep.hdf5");
        s.unnormKey = "libero_spatial";
        s.settings.mode = decode::DecodeMode::Strict;
        s.settings.margin = 17;
        s.settings.marginPerDim = std::array<int, 7>{1, 2, 3, 4, 5, 6, 0};
        s.settings.tree.topK = 5;
        s.settings.tree.depth = 3;
        s.settings.tree.totalTokens = 31;
        s.step = 12;
        const std::string file = path("a.specvla.json");
        session::writeSession(file, s);

        const session::Session r = session::readSession(file);
        QCOMPARE(r.model, s.model);
        QVERIFY(r.draft);
        QCOMPARE(*r.draft, *s.draft);
        QCOMPARE(r.episodes, s.episodes);
        QVERIFY(r.unnormKey);
        QCOMPARE(*r.unnormKey, std::string("libero_spatial"));
        QCOMPARE(r.settings.mode, decode::DecodeMode::Strict);
        QCOMPARE(r.settings.margin, 17);
        QVERIFY(r.settings.marginPerDim);
        QCOMPARE((*r.settings.marginPerDim)[5], 6);
        QCOMPARE(r.settings.tree.topK, 5);
        QCOMPARE(r.settings.tree.depth, 3);
        QCOMPARE(r.settings.tree.totalTokens, 31);
        QCOMPARE(r.step, 12);

        // Nulls stay nulls; no temporary file is left beside the session.
        s.draft.reset();
        s.unnormKey.reset();
        s.settings.marginPerDim.reset();
        session::writeSession(file, s);
        const session::Session n = session::readSession(file);
        QVERIFY(!n.draft);
        QVERIFY(!n.unnormKey);
        QVERIFY(!n.settings.marginPerDim);
        QCOMPARE(QDir(m_dir.path()).entryList(QDir::Files), QStringList({QStringLiteral("a.specvla.json")}));
    }

    void pathsAreRelativeToTheSessionFile() {
        session::Session s;
        s.model = path("models/vla");
        s.draft = path("models/draft/"); // a trailing separator is the same folder
        s.episodes = path("data/ep.hdf5");
        QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("sessions"))));
        const std::string file = path("sessions/s.json");
        session::writeSession(file, s);
        std::ifstream in(file);
        const json j = json::parse(in);
        QCOMPARE(j.at("format").get<std::string>(), std::string("specvla-session"));
        QCOMPARE(j.at("version").get<int>(), session::kSessionVersion);
        QCOMPARE(j.at("model").get<std::string>(), std::string("../models/vla"));
        QCOMPARE(j.at("draft").get<std::string>(), std::string("../models/draft"));
        QCOMPARE(j.at("episodes").get<std::string>(), std::string("../data/ep.hdf5"));
        QVERIFY(j.at("unnorm_key").is_null());
        QVERIFY(j.at("settings").at("margins_per_dim").is_null());
        QCOMPARE(j.at("settings").at("mode").get<std::string>(), std::string("relaxed"));

        // Moving the whole folder keeps the session valid: paths resolve against its new place.
        const session::Session r = session::readSession(file);
        QCOMPARE(r.model, path("models/vla"));
        QCOMPARE(*r.draft, path("models/draft"));

        // Absolute paths are accepted as they are.
        json abs = validJson();
        abs["model"] = "/somewhere/else/vla";
        writeText(path("abs.json"), abs.dump());
        QCOMPARE(session::readSession(path("abs.json")).model, std::string("/somewhere/else/vla"));
        QCOMPARE(session::readSession(path("abs.json")).episodes, path("data/ep.hdf5"));

        QVERIFY(session::isSessionFile(file));
        writeText(path("index.json"), R"({"weight_map": {}})");
        QVERIFY(!session::isSessionFile(path("index.json")));
        QVERIFY(!session::isSessionFile(path("missing.json")));
    }

    void errorsNameFileAndField_data() {
        QTest::addColumn<QString>("mutation");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing model") << "-model"
                                       << "field \"model\": missing";
        QTest::newRow("missing episodes") << "-episodes"
                                          << "field \"episodes\": missing";
        QTest::newRow("missing settings") << "-settings"
                                          << "field \"settings\": missing";
        QTest::newRow("missing margin") << "-settings.margin"
                                        << "field \"settings.margin\": missing";
        QTest::newRow("missing step") << "-view.step"
                                      << "field \"view.step\": missing";
        QTest::newRow("model not a string") << "model=5"
                                            << "field \"model\": expected a string";
        QTest::newRow("margin a string") << "settings.margin=\"9\""
                                         << "field \"settings.margin\": expected an integer";
        QTest::newRow("margin negative") << "settings.margin=-1"
                                         << "field \"settings.margin\": expected an integer in";
        QTest::newRow("bad mode") << "settings.mode=\"fast\""
                                  << "field \"settings.mode\": expected \"ar\"";
        QTest::newRow("per-dim short")
            << "settings.margins_per_dim=[1,2]"
            << "field \"settings.margins_per_dim\": expected null or an array of 7";
        QTest::newRow("per-dim element") << "settings.margins_per_dim=[1,2,3,4,5,6,\"x\"]"
                                         << "field \"settings.margins_per_dim[6]\": expected an integer";
        QTest::newRow("view not object") << "view=3"
                                         << "field \"view\": expected an object";
        QTest::newRow("draft a number") << "draft=1"
                                        << "field \"draft\": expected a string or null";
        QTest::newRow("unknown format") << "format=\"other\""
                                        << "not a SpecVLA session";
        QTest::newRow("no format") << "-format"
                                   << "not a SpecVLA session";
        QTest::newRow("newer version") << "version=3"
                                       << "was written by a newer SpecVLA Workbench (version 3 > 2)";
        QTest::newRow("bookmarks not array") << "bookmarks=3"
                                             << "field \"bookmarks\": expected an array";
        QTest::newRow("bookmark not object") << "bookmarks=[1]"
                                             << "field \"bookmarks[0]\": expected an object";
        QTest::newRow("bookmark step") << "bookmarks=[{\"step\": -1}]"
                                       << "field \"bookmarks[0].step\": expected an integer in 0..";
        QTest::newRow("bookmark note") << "bookmarks=[{\"step\": 1, \"note\": 5}]"
                                       << "field \"bookmarks[0].note\": expected a string";
        QTest::newRow("bookmark twice") << "bookmarks=[{\"step\": 1}, {\"step\": 1}]"
                                        << "field \"bookmarks[1].step\": a second bookmark at step 1";
        QTest::newRow("notes a number") << "notes=1"
                                        << "field \"notes\": expected a string";
        QTest::newRow("view dimension") << "view.dimension=9"
                                        << "field \"view.dimension\": expected an integer in -1..6";
        QTest::newRow("version a string") << "version=\"1\""
                                          << "field \"version\": expected an integer";
    }

    void errorsNameFileAndField() {
        QFETCH(QString, mutation);
        QFETCH(QString, expected);
        json j = validJson();
        const std::string m = mutation.toStdString();
        const bool remove = m.front() == '-';
        const std::string field = remove ? m.substr(1) : m.substr(0, m.find('='));
        json* parent = &j;
        std::string key = field;
        if (const auto dot = field.find('.'); dot != std::string::npos) {
            parent = &j[field.substr(0, dot)];
            key = field.substr(dot + 1);
        }
        if (remove)
            parent->erase(key);
        else
            (*parent)[key] = json::parse(m.substr(m.find('=') + 1));
        const QString error = errorOf(j);
        QVERIFY2(error.startsWith(m_dir.filePath(QStringLiteral("bad.json")) + QStringLiteral(": ")),
                 qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void saveLoadCompare() {
        session::Session s;
        s.model = path("models/vla");
        s.draft = path("models/draft");
        s.episodes = path("data/ep.hdf5");
        s.settings.margin = 11;
        s.step = 7;
        s.round = 2;
        s.dimension = 6;
        s.notes = "gripper flips at the end\nsee step 30 — \"why?\"";
        // Out of order on purpose: the list stays sorted and one bookmark per step.
        session::setBookmark(s.bookmarks, {30, "late <b>&amp; odd</b>"});
        session::setBookmark(s.bookmarks, {4, "early"});
        QCOMPARE(session::setBookmark(s.bookmarks, {30, "late, edited"}), std::size_t(1));
        QCOMPARE(s.bookmarks.size(), std::size_t(2));
        QCOMPARE(s.bookmarks.front().step, 4);
        QCOMPARE(session::findBookmark(s.bookmarks, 30)->note, std::string("late, edited"));
        QVERIFY(!session::findBookmark(s.bookmarks, 5));

        const std::string file = path("compare.specvla.json");
        session::writeSession(file, s);
        const session::Session r = session::readSession(file);
        QVERIFY(r == s);
        // Each field takes part in the comparison.
        session::Session other = r;
        other.bookmarks[0].note = "changed";
        QVERIFY(other != s);
        other = r;
        other.round = 0;
        QVERIFY(other != s);
        other = r;
        other.settings.margin = 12;
        QVERIFY(other != s);
        other = r;
        QVERIFY(session::removeBookmark(other.bookmarks, 4));
        QVERIFY(!session::removeBookmark(other.bookmarks, 4));
        QVERIFY(other != s);
        // Saving the read session again gives the same bytes.
        std::ifstream a(file, std::ios::binary);
        const std::string first((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
        session::writeSession(path("compare2.specvla.json"), r);
        std::ifstream b(path("compare2.specvla.json"), std::ios::binary);
        const std::string second((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
        QCOMPARE(second, first);
    }

    void version1FilesStillRead() {
        json j = validJson();
        j["version"] = 1;
        j["view"] = {{"step", 5}, {"round", 3}};
        // A version 1 reader never wrote these; a version 1 file with them is read as version 1 (ignored).
        const std::string file = path("v1.json");
        writeText(file, j.dump());
        const session::Session r = session::readSession(file);
        QCOMPARE(r.step, 5);
        QCOMPARE(r.round, 0);
        QVERIFY(r.bookmarks.empty());
        QVERIFY(r.notes.empty());
    }

    void corruptFilesLoseNothing() {
        // A file that fails to read is left exactly as it was.
        const std::string file = path("keep.specvla.json");
        json j = validJson();
        j["version"] = 99;
        const std::string text = j.dump(2);
        writeText(file, text);
        QVERIFY_THROWS_EXCEPTION(specvla::Error, session::readSession(file));
        std::ifstream in(file, std::ios::binary);
        QCOMPARE(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), text);
        // A good session saved over a good file replaces it whole; no temporary files remain.
        session::Session s;
        s.model = path("m");
        s.episodes = path("e.hdf5");
        s.bookmarks = {{1, "one"}};
        const std::string good = path("good.specvla.json");
        session::writeSession(good, s);
        s.bookmarks.push_back({2, "two"});
        session::writeSession(good, s);
        QCOMPARE(session::readSession(good).bookmarks.size(), std::size_t(2));
        for (const QString& name : QDir(m_dir.path()).entryList(QDir::Files | QDir::Hidden))
            QVERIFY2(!name.contains(QLatin1String(".tmp")), qPrintable(name));
    }

    void savesKeepPermissionsAndLinks() {
        // Saving over a private session keeps it private; saving through a link replaces the linked file.
        session::Session s;
        s.model = path("m");
        s.episodes = path("e.hdf5");
        s.notes = "private";
        const std::string file = path("private.specvla.json");
        session::writeSession(file, s);
        QVERIFY(QFile::setPermissions(QString::fromStdString(file),
                                      QFileDevice::ReadOwner | QFileDevice::WriteOwner));
        s.notes = "still private";
        session::writeSession(file, s);
        const QFileDevice::Permissions perms = QFile::permissions(QString::fromStdString(file));
        QVERIFY(perms & QFileDevice::ReadOwner);
        QVERIFY(!(perms & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                           QFileDevice::WriteOther)));
        QCOMPARE(session::readSession(file).notes, std::string("still private"));
        // A new file gets ordinary permissions.
        session::writeSession(path("fresh.specvla.json"), s);
        QVERIFY(QFile::permissions(QString::fromStdString(path("fresh.specvla.json"))) &
                QFileDevice::ReadOther);

        const std::string link = path("link.specvla.json");
        QVERIFY(QFile::link(QString::fromStdString(file), QString::fromStdString(link)));
        s.notes = "through the link";
        session::writeSession(link, s);
        QVERIFY(QFileInfo(QString::fromStdString(link)).isSymLink());
        QCOMPARE(session::readSession(file).notes, std::string("through the link"));
    }

    void unreadableFilesFailClearly() {
        try {
            session::readSession(path("nope.json"));
            QFAIL("a missing file read");
        } catch (const specvla::Error& e) {
            QVERIFY(QString::fromStdString(e.what()).contains(QStringLiteral("nope.json: cannot open")));
        }
        writeText(path("broken.json"), "{\"format\": ");
        try {
            session::readSession(path("broken.json"));
            QFAIL("broken JSON read");
        } catch (const specvla::Error& e) {
            QVERIFY(QString::fromStdString(e.what()).contains(QStringLiteral("broken.json: invalid JSON")));
        }
        // A failed write (the folder does not exist) throws and leaves nothing behind.
        session::Session s;
        s.model = "m";
        s.episodes = "e";
        QVERIFY_THROWS_EXCEPTION(specvla::Error, session::writeSession(path("no/such/dir/s.json"), s));
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "test_session.moc"
