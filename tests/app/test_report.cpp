// SPDX-License-Identifier: MIT
// Session reports: the collected numbers are the trace metrics they summarise (core/decode/metrics.h), the
// written report (HTML, PDF, JSON, figures, data) shows them, and `specvla report` produces the same report
// without a display.
#include "decode/action_tokenizer.h"
#include "decode/metrics.h"
#include "engine/engine.h"
#include "report/report_data.h"
#include "report/report_writer.h"
#include "session/session_file.h"
#include "support/test_support.h"
#include "support/tiny_model.h"
#include "support/tiny_session.h"

#include <nlohmann/json.hpp>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <set>

using namespace specvla;

namespace {

constexpr int kSteps = 4;
constexpr int kMargin = 255; // relaxes every action-token draft: relaxed acceptances with a random draft head
const std::vector<int> kSweep = {0, 8, 255};
const char* const kNoteEscaped = "grasp &lt;b&gt;&amp; lift";

nlohmann::json readJson(const QString& path) {
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

QString readText(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QString::fromUtf8(f.readAll());
}

int csvRows(const QString& path) { // data rows (header excluded); fields here hold no line breaks
    const QStringList lines = readText(path).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return lines.isEmpty() ? -1 : static_cast<int>(lines.size()) - 1;
}

// Not blank: many pixels differ from the corner colour.
bool nonBlank(const QImage& image) {
    if (image.isNull()) return false;
    const QRgb corner = image.pixel(0, 0);
    QSet<QRgb> colours;
    int differing = 0;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) {
            const QRgb p = image.pixel(x, y);
            colours.insert(p);
            if (p != corner) ++differing;
        }
    return colours.size() >= 3 && differing > 100;
}

decode::RunMetrics recompute(const std::vector<decode::ActionTrace>& traces,
                             const std::vector<decode::ActionTrace>& ar,
                             const std::vector<std::vector<double>>& recorded) {
    std::vector<decode::ActionTrace> env = traces; // the recorded actions use LIBERO's gripper convention
    for (auto& t : env)
        decode::liberoGripperPostprocess(t.action);
    return decode::aggregate(env, &ar, &recorded);
}

struct Run {
    int code = -1;
    QString out, err;
};

Run runReportCli(const QStringList& args) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* v : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        env.remove(QString::fromLatin1(v));
    p.setProcessEnvironment(env);
    p.start(QString::fromStdString(testing::binDir() + "/specvla"),
            QStringList{QStringLiteral("report")} + args);
    if (!p.waitForFinished(300000)) return {};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
            QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

} // namespace

class TestReport : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_model, m_draft, m_episode, m_session, m_out;
    app::ReportData m_data;
    app::ReportFiles m_files;
    std::vector<std::pair<int, int>> m_progress;

    QString path(const QString& name) const { return m_dir.filePath(name); }

    session::Session makeSession() const {
        session::Session s = specvla::testing::tinySession(m_model, m_draft, m_episode);
        s.settings.mode = decode::DecodeMode::Relaxed;
        s.settings.margin = kMargin;
        s.step = 1;
        s.round = 0;
        session::setBookmark(s.bookmarks, {1, "grasp <b>& lift"});
        session::setBookmark(s.bookmarks, {3, "release"});
        s.notes = "tiny fixtures\nsecond line";
        return s;
    }

    app::ReportOptions options() const {
        app::ReportOptions o;
        o.sweepMargins = kSweep;
        o.device = "cpu";
        o.dtype = "fp32";
        o.warmup = 1;
        return o;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = path(QStringLiteral("model"));
        m_draft = path(QStringLiteral("draft"));
        m_episode = path(QStringLiteral("episode.hdf5"));
        m_session = path(QStringLiteral("tiny.specvla.json"));
        m_out = path(QStringLiteral("report"));
        const auto config = testing::writeTinyModel(m_model.toStdString());
        testing::writeTinyDraft(m_draft.toStdString(), config);
        testing::writeSyntheticEpisode(m_episode.toStdString(), testing::tinyInstructions().front(), kSteps);
        session::writeSession(m_session.toStdString(), makeSession());

        const session::Session s = session::readSession(m_session.toStdString());
        m_data = app::collectReport(
            s, m_session.toStdString(), options(),
            [this](int done, int total, const std::string&) { m_progress.emplace_back(done, total); });
        QString error;
        QVERIFY2(app::writeReport(m_data, m_out, app::ReportWriteOptions{600, 400, 96}, &m_files, &error),
                 qPrintable(error));
    }

    void collectsEveryModeAndStep() {
        QCOMPARE(m_data.numSteps, kSteps);
        QCOMPARE(m_data.firstStep, 0);
        QCOMPARE(static_cast<int>(m_data.modes.size()), 3);
        QCOMPARE(QString::fromStdString(m_data.modes[0].name), QStringLiteral("ar"));
        QCOMPARE(QString::fromStdString(m_data.modes[2].name), QStringLiteral("relaxed"));
        QCOMPARE(m_data.modes[2].settings.margin, kMargin);
        for (const app::ModeReport& m : m_data.modes) {
            QCOMPARE(static_cast<int>(m.traces.size()), kSteps);
            for (const auto& t : m.traces) {
                QCOMPARE(t.settings.mode, m.settings.mode);
                QVERIFY(t.ms.vision > 0); // the frame's preparation is counted in every mode
            }
        }
        QCOMPARE(static_cast<int>(m_data.sweep.size()), static_cast<int>(kSweep.size()));
        QCOMPARE(static_cast<int>(m_data.recorded.size()), kSteps);
        QCOMPARE(m_data.instruction, testing::tinyInstructions().front());
        QVERIFY(!m_progress.empty());
        QCOMPARE(m_progress.back().first, m_progress.back().second);
        QVERIFY(m_progress.back().second > 0);
        for (std::size_t i = 1; i < m_progress.size(); ++i)
            QVERIFY(m_progress[i].first >= m_progress[i - 1].first);
    }

    // The report's numbers are the trace metrics they summarise: decode::aggregate and decode::speedup over
    // the very traces it holds.
    void metricsEqualAggregate() {
        const app::ModeReport* ar = m_data.mode("ar");
        QVERIFY(ar);
        const decode::RunMetrics arM = recompute(ar->traces, ar->traces, m_data.recorded);
        for (const app::ModeReport& m : m_data.modes) {
            const decode::RunMetrics r = recompute(m.traces, ar->traces, m_data.recorded);
            QCOMPARE(m.metrics.actions, kSteps);
            QCOMPARE(m.metrics.produced, r.produced);
            QCOMPARE(m.metrics.verifyPasses, r.verifyPasses);
            QCOMPARE(m.metrics.exact, r.exact);
            QCOMPARE(m.metrics.relaxed, r.relaxed);
            QCOMPARE(m.metrics.acceptanceLength, r.acceptanceLength);
            QCOMPARE(m.metrics.meanAcceptanceLength, r.meanAcceptanceLength);
            QCOMPARE(m.metrics.passesPerAction, r.passesPerAction);
            QCOMPARE(m.metrics.acceptanceRate, r.acceptanceRate);
            QCOMPARE(m.metrics.meanAbsDevFromAr, r.meanAbsDevFromAr);
            QCOMPARE(m.metrics.exactMatchWithAr, r.exactMatchWithAr);
            QVERIFY(m.metrics.hasRecorded);
            QCOMPARE(m.metrics.meanAbsDevFromRecorded, r.meanAbsDevFromRecorded);
            QCOMPARE(m.metrics.latency.medianMs, r.latency.medianMs);
            QCOMPARE(m.metrics.latency.p90Ms, r.latency.p90Ms);
            QCOMPARE(m.metrics.binDistance.accepted, r.binDistance.accepted);
            QCOMPARE(m.speedup, decode::speedup(arM, r));
            for (int i = 0; i < kSteps; ++i) {
                const app::StepValues v = app::stepValues(m, *ar, i);
                const auto& t = m.traces[static_cast<std::size_t>(i)];
                QCOMPARE(v.tau, decode::actionMetrics(t).acceptanceLength);
                QCOMPARE(v.passes, t.targetPasses);
                QCOMPARE(v.latencyMs, t.ms.total());
            }
        }
        QCOMPARE(ar->metrics.acceptanceLength, 1.0);
        QCOMPARE(ar->metrics.passesPerAction, 7.0);
        QCOMPARE(ar->speedup, 1.0);
        // A margin of 255 relaxes: the random draft head gets relaxed acceptances, strict gets none of those.
        QVERIFY(m_data.mode("relaxed")->metrics.relaxed > 0);
        QCOMPARE(m_data.mode("strict")->metrics.relaxed, 0LL);
        QVERIFY(m_data.mode("relaxed")->metrics.acceptanceLength >
                m_data.mode("strict")->metrics.acceptanceLength);
        // Decoding is deterministic: the sweep's margin 0 is strict, its margin 255 the relaxed mode.
        QCOMPARE(m_data.sweep.front().metrics.produced, m_data.mode("strict")->metrics.produced);
        QCOMPARE(m_data.sweep.front().metrics.acceptanceLength,
                 m_data.mode("strict")->metrics.acceptanceLength);
        QCOMPARE(m_data.sweep.back().metrics.acceptanceLength,
                 m_data.mode("relaxed")->metrics.acceptanceLength);
        QCOMPARE(m_data.sweep.back().metrics.exactMatchWithAr,
                 m_data.mode("relaxed")->metrics.exactMatchWithAr);
    }

    void jsonHoldsTheNumbers() {
        QCOMPARE(m_files.json, QDir(m_out).filePath(QStringLiteral("report.json")));
        const nlohmann::json j = readJson(m_files.json);
        QCOMPARE(j, app::reportToJson(m_data));
        QCOMPARE(j["format"].get<std::string>(), std::string("specvla-report"));
        for (const app::ModeReport& m : m_data.modes) {
            const nlohmann::json& jm = j["modes"][m.name];
            QCOMPARE(jm["metrics"]["acceptance_length"].get<double>(), m.metrics.acceptanceLength);
            QCOMPARE(jm["metrics"]["passes_per_action"].get<double>(), m.metrics.passesPerAction);
            QCOMPARE(jm["metrics"]["produced"].get<long long>(), m.metrics.produced);
            QCOMPARE(jm["speedup"].get<double>(), m.speedup);
            QCOMPARE(jm["latency_p50_ms"].get<double>(), m.metrics.latency.medianMs);
            QCOMPARE(jm["latency_p90_ms"].get<double>(), m.metrics.latency.p90Ms);
        }
        QCOMPARE(static_cast<int>(j["steps"].size()), kSteps);
        for (int i = 0; i < kSteps; ++i) {
            const auto& t = m_data.mode("relaxed")->traces[static_cast<std::size_t>(i)];
            QCOMPARE(j["steps"][i]["modes"]["relaxed"]["tau"].get<double>(),
                     decode::actionMetrics(t).acceptanceLength);
            QCOMPARE(j["steps"][i]["modes"]["relaxed"]["tokens"].get<std::vector<int>>(), t.tokens);
        }
        QCOMPARE(j["steps"][1]["bookmark"].get<std::string>(), std::string("grasp <b>& lift"));
        QVERIFY(j["steps"][0]["bookmark"].is_null());
        QCOMPARE(static_cast<int>(j["sweep"].size()), static_cast<int>(kSweep.size()));
        QCOMPARE(j["sweep"][2]["margin"].get<int>(), 255);
        QCOMPARE(j["sweep"][2]["speedup"].get<double>(), m_data.sweep[2].speedup);
        QCOMPARE(j["environment"]["qt"].get<std::string>(), std::string(qVersion()));
    }

    // Tensor count and hash checked against the checkpoint's own index, independently of io::Checkpoint.
    void identityMatchesTheFiles() {
        const nlohmann::json index =
            readJson(QDir(m_model).filePath(QStringLiteral("model.safetensors.index.json")));
        std::set<std::string> shards;
        for (const auto& [tensor, shard] : index["weight_map"].items())
            shards.insert(shard.get<std::string>());
        QCOMPARE(m_data.model.tensorCount, static_cast<long long>(index["weight_map"].size()));
        QCOMPARE(std::set<std::string>(m_data.model.files.begin(), m_data.model.files.end()), shards);
        QVERIFY(shards.size() >= 2);
        QCryptographicHash hash(QCryptographicHash::Sha256);
        for (const std::string& f : m_data.model.files) {
            QFile file(QDir(m_model).filePath(QString::fromStdString(f)));
            QVERIFY(file.open(QIODevice::ReadOnly));
            hash.addData(file.readAll());
        }
        QCOMPARE(QString::fromStdString(m_data.model.sha256), QString::fromLatin1(hash.result().toHex()));
        QVERIFY(m_data.draft);
        QCOMPARE(m_data.draft->files, std::vector<std::string>{"model.safetensors"});
        QVERIFY(m_data.draft->tensorCount > 0);
        QCOMPARE(m_data.draft->sha256.size(), std::size_t(64));
        QVERIFY(m_data.draft->sha256 != m_data.model.sha256);
    }

    void htmlShowsTheNumbers() {
        const QString html = readText(m_files.html);
        QVERIFY(html.startsWith(QStringLiteral("<!DOCTYPE html>")));
        for (const app::ModeReport& m : m_data.modes) {
            const QRegularExpression rowRe(
                QStringLiteral("<tr id=\"mode-%1\">(.*?)</tr>").arg(QString::fromStdString(m.name)));
            const QRegularExpressionMatch match = rowRe.match(html);
            QVERIFY2(match.hasMatch(), m.name.c_str());
            const QString cells = match.captured(1);
            QVERIFY2(
                cells.contains(
                    QStringLiteral("<td nowrap>%1</td>").arg(app::formatTau(m.metrics.acceptanceLength))),
                qPrintable(cells));
            QVERIFY(cells.contains(
                QStringLiteral("<td nowrap>%1</td>").arg(app::formatTau(m.metrics.passesPerAction))));
            const QString speed =
                QRegularExpression(
                    QStringLiteral("<tr id=\"speed-%1\">(.*?)</tr>").arg(QString::fromStdString(m.name)))
                    .match(html)
                    .captured(1);
            QVERIFY(speed.contains(QStringLiteral("<td nowrap>%1</td>").arg(app::formatSpeedup(m.speedup))));
            QVERIFY(speed.contains(
                QStringLiteral("<td nowrap>%1</td>").arg(app::formatMs(m.metrics.latency.p90Ms))));
            QVERIFY(speed.contains(
                QStringLiteral("<td nowrap>%1</td>").arg(app::formatMs(m.metrics.latency.medianMs))));
        }
        QCOMPARE(app::formatTau(1.0), QStringLiteral("1.000"));
        // Per-step rows: the bookmarked step is marked and links to its (escaped) note.
        const QRegularExpression stepRe(QStringLiteral("<tr id=\"step-1\"[^>]*>(.*?)</tr>"));
        const QString step1 = stepRe.match(html).captured(1);
        QVERIFY2(step1.contains(QStringLiteral("<a href=\"#bookmark-1\">★</a>")), qPrintable(step1));
        const QRegularExpression noteRe(QStringLiteral("<li id=\"bookmark-1\">(.*?)</li>"));
        QVERIFY2(noteRe.match(html).captured(1).contains(QString::fromLatin1(kNoteEscaped)),
                 qPrintable(html));
        const app::StepValues v = app::stepValues(*m_data.mode("relaxed"), *m_data.mode("ar"), 1);
        QVERIFY(step1.contains(QStringLiteral("<td nowrap>%1</td>").arg(app::formatTau(v.tau))));
        // User text is escaped everywhere.
        QVERIFY(html.contains(QString::fromLatin1(kNoteEscaped)));
        QVERIFY(!html.contains(QStringLiteral("<b>& lift")));
        QVERIFY(html.contains(QStringLiteral("tiny fixtures<br>second line")));
        QVERIFY(html.contains(QStringLiteral("release")));
        // Identity and environment.
        QVERIFY(html.contains(QStringLiteral("<td nowrap>%1</td>").arg(m_data.model.tensorCount)));
        QVERIFY(html.contains(QString::fromStdString(m_data.model.sha256)));
        QVERIFY(html.contains(QString::fromStdString(m_data.draft->sha256)));
        QVERIFY(html.contains(QString::fromLatin1(qVersion())));
        QVERIFY(html.contains(QString::fromStdString(m_data.environment.torch)));
        // Figures linked relative to the report.
        QVERIFY(html.contains(QStringLiteral("<img src=\"figures/latency.png\"")));
        QVERIFY(html.contains(QStringLiteral("<img src=\"figures/draft_tree.png\"")));
        QVERIFY(html.contains(QStringLiteral("<tr id=\"sweep-255\">")));
    }

    void figuresRender() {
        const QStringList stems = {"latency", "bin_distance", "sweep", "token_runs", "draft_tree"};
        QCOMPARE(m_files.figures.size(), stems.size() * 2);
        for (const QString& stem : stems) {
            const QString png = QDir(m_out).filePath(QStringLiteral("figures/%1.png").arg(stem));
            const QString svg = QDir(m_out).filePath(QStringLiteral("figures/%1.svg").arg(stem));
            QVERIFY2(m_files.figures.contains(png), qPrintable(png));
            const QImage image(png);
            QCOMPARE(image.size(), QSize(600, 400));
            QVERIFY2(nonBlank(image), qPrintable(png));
            QSvgRenderer renderer(svg);
            QVERIFY2(renderer.isValid(), qPrintable(svg));
            QImage drawn(300, 200, QImage::Format_ARGB32);
            drawn.fill(Qt::white);
            QPainter p(&drawn);
            renderer.render(&p);
            p.end();
            QVERIFY2(nonBlank(drawn), qPrintable(svg));
        }
    }

    void pdfRenders() {
        QFile pdf(m_files.pdf);
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5).startsWith("%PDF-"));
        pdf.close();
        const QString pdftoppm = QStandardPaths::findExecutable(QStringLiteral("pdftoppm"));
        QVERIFY2(!pdftoppm.isEmpty(), "pdftoppm (poppler-utils) is required by this test");
        const QString prefix = path(QStringLiteral("page"));
        QProcess p;
        p.start(pdftoppm, {"-png", "-r", "40", "-f", "1", "-l", "1", m_files.pdf, prefix});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const QStringList pages = QDir(m_dir.path()).entryList({"page*.png"});
        QCOMPARE(pages.size(), 1);
        QVERIFY(nonBlank(QImage(QDir(m_dir.path()).filePath(pages.front()))));
        // The figures are embedded in the PDF, not only linked.
        const QString pdfimages = QStandardPaths::findExecutable(QStringLiteral("pdfimages"));
        QVERIFY(!pdfimages.isEmpty());
        QProcess list;
        list.start(pdfimages, {"-list", m_files.pdf});
        QVERIFY(list.waitForFinished(60000));
        const int images = QString::fromUtf8(list.readAllStandardOutput()).count(QStringLiteral(" image "));
        QVERIFY2(images >= 5, qPrintable(QString::number(images)));
    }

    void dataFiles() {
        const QDir data(QDir(m_out).filePath(QStringLiteral("data")));
        QCOMPARE(m_files.data.size(), 4);
        long long rounds = 0;
        for (const char* name : {"strict", "relaxed"})
            for (const auto& t : m_data.mode(name)->traces)
                rounds += static_cast<long long>(t.rounds.size());
        QVERIFY(rounds > 0);
        QCOMPARE(csvRows(data.filePath(QStringLiteral("rounds.csv"))), static_cast<int>(rounds));
        QCOMPARE(csvRows(data.filePath(QStringLiteral("actions.csv"))), kSteps * 3);
        QCOMPARE(csvRows(data.filePath(QStringLiteral("sweep.csv"))), static_cast<int>(kSweep.size()));
        QVERIFY(readText(data.filePath(QStringLiteral("rounds.csv")))
                    .startsWith(QStringLiteral("mode,step,round")));
        const nlohmann::json traces = readJson(data.filePath(QStringLiteral("traces.json")));
        QCOMPARE(static_cast<int>(traces["modes"]["relaxed"].size()), kSteps);
        QCOMPARE(traces["modes"]["relaxed"][0]["tokens"].get<std::vector<int>>(),
                 m_data.mode("relaxed")->traces[0].tokens);
        // Atomic writes leave no temporary files behind.
        for (const QString& sub : {QStringLiteral("."), QStringLiteral("figures"), QStringLiteral("data")})
            for (const QString& f : QDir(QDir(m_out).filePath(sub)).entryList(QDir::Files))
                QVERIFY2(!f.contains(QStringLiteral(".tmp")) && !f.startsWith(QLatin1Char('.')),
                         qPrintable(f));
    }

    void stepRangeAndCancel() {
        const session::Session s = session::readSession(m_session.toStdString());
        app::ReportOptions o = options();
        o.firstStep = 2;
        o.maxSteps = 5; // clipped to the episode
        o.sweepMargins = {4};
        o.warmup = 0;
        const app::ReportData d = app::collectReport(s, m_session.toStdString(), o);
        QCOMPARE(d.firstStep, 2);
        QCOMPARE(d.numSteps, kSteps - 2);
        QCOMPARE(d.treeStep(), 2); // the session's step 1 is outside the range
        // Same frames, same tokens as the full run.
        QCOMPARE(d.mode("relaxed")->traces[0].tokens, m_data.mode("relaxed")->traces[2].tokens);
        const nlohmann::json j = app::reportToJson(d);
        QCOMPARE(j["steps"][0]["step"].get<int>(), 2);

        o.firstStep = kSteps;
        const std::string err = testing::errorOf([&] { app::collectReport(s, m_session.toStdString(), o); });
        QVERIFY2(err.find("out of range") != std::string::npos, err.c_str());

        std::atomic<bool> cancel{true};
        bool cancelled = false;
        try {
            app::collectReport(s, m_session.toStdString(), options(), {}, &cancel);
        } catch (const app::Cancelled&) {
            cancelled = true;
        }
        QVERIFY(cancelled);
    }

    // Without a draft head the report has AR only: no strict or relaxed mode, no sweep, no draft tree.
    void arOnlySession() {
        session::Session s = makeSession();
        s.draft.reset();
        app::ReportOptions o = options();
        o.maxSteps = 2;
        const app::ReportData d = app::collectReport(s, m_session.toStdString(), o);
        QCOMPARE(static_cast<int>(d.modes.size()), 1);
        QVERIFY(d.sweep.empty());
        QVERIFY(!d.draft);
        QVERIFY(!d.treeMode());
        QCOMPARE(QString::fromStdString(d.figureMode().name), QStringLiteral("ar"));
        QCOMPARE(d.modes[0].traces[1].tokens, m_data.mode("ar")->traces[1].tokens);
        const QString out = path(QStringLiteral("ar-only"));
        app::ReportFiles files;
        QString error;
        QVERIFY2(app::writeReport(d, out, app::ReportWriteOptions{400, 300, 96}, &files, &error),
                 qPrintable(error));
        QCOMPARE(files.figures.size(), 6); // latency, bin distance, token runs
        QVERIFY(!QFileInfo::exists(QDir(out).filePath(QStringLiteral("figures/draft_tree.png"))));
        QCOMPARE(csvRows(QDir(out).filePath(QStringLiteral("data/rounds.csv"))), 0);
        QCOMPARE(csvRows(QDir(out).filePath(QStringLiteral("data/actions.csv"))), 2);
        const QString html = readText(files.html);
        QVERIFY(html.contains(QStringLiteral("none (AR only)")));
        QVERIFY(!html.contains(QStringLiteral("id=\"mode-relaxed\"")));
    }

    void missingInputsAreNamed() {
        session::Session s = makeSession();
        const std::string missing = path(QStringLiteral("gone/episode.hdf5")).toStdString();
        s.episodes = missing;
        std::string err = testing::errorOf([&] { app::collectReport(s, "x.json", options()); });
        QVERIFY2(err.find(missing) != std::string::npos, err.c_str());
        QVERIFY2(err.find("episode") != std::string::npos, err.c_str());

        s = makeSession();
        s.model = path(QStringLiteral("no-model")).toStdString();
        err = testing::errorOf([&] { app::collectReport(s, "x.json", options()); });
        QVERIFY2(err.find(s.model) != std::string::npos, err.c_str());

        // An episode file that is not HDF5.
        const QString bogus = path(QStringLiteral("bogus.hdf5"));
        testing::writeBytes(bogus.toStdString(), "not an hdf5 file");
        s = makeSession();
        s.episodes = bogus.toStdString();
        err = testing::errorOf([&] { app::collectReport(s, "x.json", options()); });
        QVERIFY2(err.find("bogus.hdf5") != std::string::npos, err.c_str());
    }

    // `specvla report` without a display writes the same report; timings differ between runs, tokens do not.
    void cliWritesTheSameReport() {
        const QString out = path(QStringLiteral("cli-report"));
        const Run r = runReportCli({"--session", m_session, "--out", out, "--margins", "0,8,255", "--dtype",
                                    "fp32", "--width", "500", "--height", "300", "--dpi", "96"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        for (const char* f :
             {"report.html", "report.pdf", "report.json", "figures/draft_tree.svg", "data/rounds.csv"})
            QVERIFY2(QFileInfo::exists(QDir(out).filePath(QLatin1String(f))), f);
        QVERIFY(r.out.contains(QStringLiteral("report.html")));
        QVERIFY(r.out.contains(QStringLiteral("relaxed")));
        QCOMPARE(QImage(QDir(out).filePath(QStringLiteral("figures/latency.png"))).size(), QSize(500, 300));

        const nlohmann::json cli = readJson(QDir(out).filePath(QStringLiteral("report.json")));
        const nlohmann::json here = app::reportToJson(m_data);
        for (const char* mode : {"ar", "strict", "relaxed"}) {
            const nlohmann::json& a = cli["modes"][mode]["metrics"];
            const nlohmann::json& b = here["modes"][mode]["metrics"];
            for (const char* key : {"produced", "verify_passes", "exact", "relaxed", "acceptance_length",
                                    "passes_per_action", "accepted_run_histogram"})
                QVERIFY2(a[key] == b[key], (std::string(mode) + "." + key).c_str());
            QVERIFY(a["deviation_from_ar"] == b["deviation_from_ar"]);
            for (int i = 0; i < kSteps; ++i)
                QVERIFY(cli["steps"][i]["modes"][mode]["tokens"] ==
                        here["steps"][i]["modes"][mode]["tokens"]);
        }
        for (std::size_t k = 0; k < kSweep.size(); ++k)
            QCOMPARE(cli["sweep"][k]["acceptance_length"].get<double>(),
                     m_data.sweep[k].metrics.acceptanceLength);
        QCOMPARE(cli["identity"]["model"]["sha256"].get<std::string>(), m_data.model.sha256);
        const QString html = readText(QDir(out).filePath(QStringLiteral("report.html")));
        QVERIFY(html.contains(QString::fromLatin1(kNoteEscaped)));
        QVERIFY(html.contains(QStringLiteral("<td nowrap>%1</td>")
                                  .arg(app::formatTau(m_data.mode("relaxed")->metrics.acceptanceLength))));
    }

    void cliRejectsBadSessions() {
        const QString out = path(QStringLiteral("cli-bad"));
        const QString corrupt = path(QStringLiteral("corrupt.specvla.json"));
        testing::writeBytes(corrupt.toStdString(),
                            "{\"format\": \"specvla-session\", \"version\": 2, \"model\": ");
        Run r = runReportCli({"--session", corrupt, "--out", out});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains(QStringLiteral("corrupt.specvla.json")), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(QDir(out).filePath(QStringLiteral("report.html"))));

        nlohmann::json newer = session::sessionToJson(makeSession(), m_dir.path().toStdString());
        newer["version"] = session::kSessionVersion + 1;
        const QString newerPath = path(QStringLiteral("newer.specvla.json"));
        testing::writeBytes(newerPath.toStdString(), newer.dump());
        r = runReportCli({"--session", newerPath, "--out", out});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains(QStringLiteral("newer.specvla.json")) &&
                     r.err.contains(QStringLiteral("newer")),
                 qPrintable(r.err));

        session::Session s = makeSession();
        s.episodes = path(QStringLiteral("missing.hdf5")).toStdString();
        const QString missingPath = path(QStringLiteral("missing.specvla.json"));
        session::writeSession(missingPath.toStdString(), s);
        r = runReportCli({"--session", missingPath, "--out", out});
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains(QStringLiteral("missing.hdf5")), qPrintable(r.err));

        r = runReportCli({"--out", out});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(QStringLiteral("--session")));
        r = runReportCli({"--session", m_session, "--out", out, "--margins", "4:2"});
        QCOMPARE(r.code, 2);
    }
};

QTEST_MAIN(TestReport)
#include "test_report.moc"
