// SPDX-License-Identifier: MIT
// Rendering a session report: figures from the workbench's own widgets (light theme), the HTML text, the PDF
// through QTextDocument + QPdfWriter, and the data files. GUI thread only.
#include "report/report_writer.h"

#include "bin_distance_plot.h"
#include "common/runtime.h"
#include "decode/trace_io.h"
#include "draft_tree_view.h"
#include "latency_plot.h"
#include "sweep_plot.h"
#include "theme.h"
#include "token_run_strip.h"
#include "widget_export.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSpinBox>
#include <QTextDocument>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace specvla::app {

namespace {

QString esc(const std::string& text) {
    return QString::fromStdString(text).toHtmlEscaped();
}
QString escMultiline(const std::string& text) {
    return esc(text).replace(QLatin1Char('\n'), QLatin1String("<br>"));
}
QString fixed(double v, int decimals) {
    if (!std::isfinite(v)) return QString::fromStdString(decode::formatNumber(v));
    return QString::number(v, 'f', decimals);
}

bool writeFile(const QString& path, const QByteArray& bytes, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        if (error) *error = QStringLiteral("%1: cannot write: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

struct FigureInfo {
    const char* name; // file stem under figures/
    const char* title;
    const char* caption;
};

const FigureInfo kFigures[] = {
    {"latency", "Latency per step",
     "Stacked stage times per step of the figure mode (vision and prefill once per frame, then the mode's "
     "decode); the line is AR's total for the same step, measured in the same run."},
    {"bin_distance", "Bin distance of draft tokens",
     "|draft bin − target bin| of accepted and rejected draft tokens over all steps of the figure mode, all "
     "action dimensions; the dashed line marks the relaxation margin."},
    {"sweep", "Margin sweep",
     "Relaxed decoding of every step at each margin: acceptance length and speedup over AR (left axis) and "
     "mean "
     "deviation from AR in normalised units (right axis)."},
    {"token_runs", "Token runs",
     "One row per decoded step, one cell per committed action token, coloured by how it was committed and "
     "grouped by verify round."},
    {"draft_tree", "Draft tree",
     "The draft tree of the session's step and verify round: nodes coloured by verdict, bin distance on each "
     "node, accepted path bold."},
};

const FigureInfo* figureInfo(const QString& stem) {
    for (const FigureInfo& f : kFigures)
        if (stem == QLatin1String(f.name)) return &f;
    return nullptr;
}

// Exports PNG and SVG of one figure; appends the written paths. Plots carry their own title; the plain
// widgets get the figure's title in a band above them.
bool exportFigure(const QString& dir, const QString& stem, const ReportWriteOptions& o, QWidget* widget,
                  bool titleBand, QStringList* written, QString* error) {
    const FigureInfo* info = figureInfo(stem);
    widgets::WidgetExportOptions wo;
    wo.width = o.figureWidth;
    wo.height = o.figureHeight;
    wo.dpi = o.dpi;
    wo.lightTheme = true;
    if (titleBand && info) wo.title = QString::fromUtf8(info->title);
    for (const char* ext : {"png", "svg"}) {
        const QString path = QDir(dir).filePath(stem + QLatin1Char('.') + QLatin1String(ext));
        if (!widgets::exportWidget(widget, path, wo, error)) return false;
        written->append(path);
    }
    return true;
}

bool writeFigures(const ReportData& d, const QString& dir, const ReportWriteOptions& o, QStringList* written,
                  QString* error) {
    const ModeReport& fig = d.figureMode();
    const ModeReport* ar = d.mode("ar");
    widgets::LatencyPlot latency;
    std::vector<decode::StageTimes> stages;
    std::vector<double> arTotals;
    for (const decode::ActionTrace& t : fig.traces)
        stages.push_back(t.ms);
    if (ar && &fig != ar)
        for (const decode::ActionTrace& t : ar->traces)
            arTotals.push_back(t.ms.total());
    latency.setSteps(stages, arTotals);
    latency.setCurrentStep(d.treeStep() - d.firstStep);
    if (!exportFigure(dir, QStringLiteral("latency"), o, &latency, false, written, error)) return false;

    widgets::BinDistancePlot bins;
    bins.setHistogram(fig.metrics.binDistance);
    bins.setMargin(fig.settings.marginFor(1));
    if (!exportFigure(dir, QStringLiteral("bin_distance"), o, &bins, false, written, error)) return false;

    if (!d.sweep.empty()) {
        widgets::SweepPlot sweep;
        std::vector<int> margins;
        std::vector<double> length, speedup, deviation;
        for (const SweepRow& r : d.sweep) {
            margins.push_back(r.margin);
            length.push_back(r.metrics.acceptanceLength);
            speedup.push_back(r.speedup);
            deviation.push_back(r.metrics.meanAbsDevFromAr);
        }
        sweep.setRows(margins, length, speedup, deviation);
        sweep.setCurrentMargin(d.session.settings.margin);
        if (!exportFigure(dir, QStringLiteral("sweep"), o, &sweep, false, written, error)) return false;
    }

    widgets::TokenRunStrip strip;
    strip.setTraces(fig.traces);
    if (!exportFigure(dir, QStringLiteral("token_runs"), o, &strip, true, written, error)) return false;

    if (const ModeReport* treeMode = d.treeMode()) {
        // A window shown off screen, at the figure's layout size: exportWidget paints windows as they are, so
        // the tree is laid out (and fitted) for that size, and its round spin box can stay hidden. The tree's
        // own header names the round, so the figure needs no title band.
        widgets::DraftTreeView tree;
        tree.setAttribute(Qt::WA_DontShowOnScreen);
        tree.resize(qRound(o.figureWidth * 96.0 / o.dpi), qRound(o.figureHeight * 96.0 / o.dpi));
        tree.show();
        tree.setTrace(treeMode->traces.at(static_cast<std::size_t>(d.treeStep() - d.firstStep)));
        tree.setRound(d.session.round);
        tree.fitToView();
        for (QSpinBox* spin : tree.findChildren<QSpinBox*>())
            spin->hide();
        if (!exportFigure(dir, QStringLiteral("draft_tree"), o, &tree, false, written, error)) return false;
    }
    return true;
}

// roundsCsv with a leading "mode" column, for every speculative mode (only the header without a draft head).
std::string roundsWithMode(const ReportData& d) {
    const std::string header = decode::roundsCsv({}, 0);
    std::string out = "mode," + header;
    for (const ModeReport& m : d.modes) {
        if (m.settings.mode == decode::DecodeMode::Ar) continue;
        std::istringstream in(decode::roundsCsv(m.traces, d.firstStep).substr(header.size()));
        std::string line;
        while (std::getline(in, line))
            out += m.name + "," + line + "\n";
    }
    return out;
}

// actionsCsv of every mode under one header (it has a mode column).
std::string actionsAllModes(const ReportData& d) {
    std::string out;
    for (const ModeReport& m : d.modes) {
        const std::string csv = decode::actionsCsv(m.traces, d.firstStep);
        if (out.empty())
            out = csv;
        else
            out += csv.substr(csv.find('\n') + 1);
    }
    return out;
}

std::string sweepCsv(const ReportData& d) {
    std::vector<decode::SweepCsvRow> rows;
    for (const SweepRow& r : d.sweep)
        rows.push_back({r.margin, &r.metrics, r.speedup});
    return decode::sweepCsv(rows);
}

bool writeData(const ReportData& d, const QString& dir, QStringList* written, QString* error) {
    nlohmann::json traces = {{"first_step", d.firstStep}, {"modes", nlohmann::json::object()}};
    for (const ModeReport& m : d.modes) {
        nlohmann::json list = nlohmann::json::array();
        for (const decode::ActionTrace& t : m.traces)
            list.push_back(decode::toJson(t));
        traces["modes"][m.name] = std::move(list);
    }
    const std::pair<const char*, std::string> files[] = {
        {"traces.json", traces.dump() + "\n"},
        {"rounds.csv", roundsWithMode(d)},
        {"actions.csv", actionsAllModes(d)},
        {"sweep.csv", sweepCsv(d)},
    };
    for (const auto& [name, text] : files) {
        const QString path = QDir(dir).filePath(QLatin1String(name));
        if (!writeFile(path, QByteArray::fromStdString(text), error)) return false;
        written->append(path);
    }
    return true;
}

// Full page width: QTextDocument otherwise squeezes wide tables into narrow columns.
const char* const kTable = "<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\" width=\"100%\">\n";

QString row(const QStringList& cells, const QString& attrs = QString(), bool header = false) {
    const QString tag = header ? QStringLiteral("th") : QStringLiteral("td");
    QString html = QStringLiteral("<tr%1>").arg(attrs.isEmpty() ? QString() : QLatin1Char(' ') + attrs);
    // Numbers (and one-word headers) never wrap: QTextDocument would break "0.0000" after its point.
    static const QRegularExpression number(QStringLiteral("^[-+0-9.,e]+$|^nan$|^-?inf$"));
    for (const QString& c : cells)
        html += number.match(c).hasMatch() || (header && !c.contains(QLatin1Char(' ')))
                    ? QStringLiteral("<%1 nowrap>%2</%1>").arg(tag, c)
                    : QStringLiteral("<%1>%2</%1>").arg(tag, c);
    return html + QStringLiteral("</tr>\n");
}

QString marginText(const decode::DecodeSettings& s) {
    if (s.mode != decode::DecodeMode::Relaxed) return QStringLiteral("0");
    if (s.marginPerDim) {
        QStringList parts;
        for (int m : *s.marginPerDim)
            parts << QString::number(m);
        return parts.join(QLatin1Char(','));
    }
    return QString::number(s.margin);
}

QString identityRow(const QString& role, const CheckpointIdentity& id) {
    QStringList files;
    for (const std::string& f : id.files)
        files << esc(f);
    return row({role, QStringLiteral("<code>%1</code>").arg(esc(id.path)), files.join(QLatin1String("<br>")),
                id.tensorCount >= 0 ? QString::number(id.tensorCount) : QStringLiteral("not indexed (.bin)"),
                QString::number(static_cast<qulonglong>(id.bytes)),
                QStringLiteral("<code>%1</code>").arg(QString::fromStdString(id.sha256))},
               QStringLiteral("id=\"identity-%1\"").arg(role));
}

QString parametersTable(const ReportData& d) {
    const session::Session& s = d.session;
    const decode::DecodeSettings& st = s.settings;
    QString h = QString::fromLatin1(kTable);
    auto kv = [&](const QString& k, const QString& v) { h += row({k, v}); };
    kv(QStringLiteral("Session file"), QStringLiteral("<code>%1</code>").arg(esc(d.sessionPath)));
    kv(QStringLiteral("Model"), QStringLiteral("<code>%1</code>").arg(esc(s.model)));
    kv(QStringLiteral("Draft head"),
       s.draft ? QStringLiteral("<code>%1</code>").arg(esc(*s.draft)) : QStringLiteral("none (AR only)"));
    kv(QStringLiteral("Episode"), QStringLiteral("<code>%1</code> %2").arg(esc(s.episodes), esc(d.demoName)));
    kv(QStringLiteral("Instruction"), esc(d.instruction));
    kv(QStringLiteral("Steps decoded"), QStringLiteral("%1 to %2 (%3 of %4)")
                                            .arg(d.firstStep)
                                            .arg(d.firstStep + d.numSteps - 1)
                                            .arg(d.numSteps)
                                            .arg(d.episodeSteps));
    kv(QStringLiteral("Statistics key"), s.unnormKey ? esc(*s.unnormKey) : QStringLiteral("(the only one)"));
    kv(QStringLiteral("Session mode"), QString::fromLatin1(decode::modeName(st.mode)));
    decode::DecodeSettings relaxed = st; // the session's margin, whatever its mode
    relaxed.mode = decode::DecodeMode::Relaxed;
    kv(QStringLiteral("Margin (bins)"), marginText(relaxed));
    kv(QStringLiteral("Draft tree"), QStringLiteral("top-k %1, depth %2, %3 tokens")
                                         .arg(st.tree.topK)
                                         .arg(st.tree.depth)
                                         .arg(st.tree.totalTokens));
    kv(QStringLiteral("Path choice"), QString::fromLatin1(decode::pathChoiceName(st.pathChoice)));
    kv(QStringLiteral("Tree children"), QString::fromLatin1(decode::childChoiceName(st.children)));
    kv(QStringLiteral("Relax only action tokens"),
       st.relaxOnlyActionTokens ? QStringLiteral("yes") : QStringLiteral("no"));
    kv(QStringLiteral("Device, dtype"),
       QStringLiteral("%1, %2").arg(esc(d.options.device), esc(d.options.dtype)));
    kv(QStringLiteral("Warm-up rounds"), QString::number(d.options.warmup));
    QStringList margins;
    for (const SweepRow& r : d.sweep)
        margins << QString::number(r.margin);
    kv(QStringLiteral("Sweep margins"),
       margins.isEmpty() ? QStringLiteral("none") : margins.join(QLatin1String(", ")));
    kv(QStringLiteral("View"), QStringLiteral("step %1, round %2").arg(s.step).arg(s.round + 1));
    return h + QStringLiteral("</table>\n");
}

// Two tables of one row per mode (acceptance; speed and deviation), narrow enough for an A4 page.
QString metricsTable(const ReportData& d) {
    QString h = QString::fromLatin1(kTable);
    h += row({QStringLiteral("mode"), QStringLiteral("margin"), QStringLiteral("τ"), QStringLiteral("mean τ"),
              QStringLiteral("passes / action"), QStringLiteral("exact / action"),
              QStringLiteral("relaxed / action"), QStringLiteral("acceptance rate")},
             {}, true);
    for (const ModeReport& m : d.modes) {
        const decode::RunMetrics& r = m.metrics;
        h += row({QString::fromStdString(m.name), marginText(m.settings), formatTau(r.acceptanceLength),
                  formatTau(r.meanAcceptanceLength), formatTau(r.passesPerAction),
                  formatTau(r.exactPerAction), formatTau(r.relaxedPerAction), formatTau(r.acceptanceRate)},
                 QStringLiteral("id=\"mode-%1\"").arg(QString::fromStdString(m.name)));
    }
    h += QStringLiteral("</table>\n<p></p>\n") + QString::fromLatin1(kTable);
    h += row({QStringLiteral("mode"), QStringLiteral("speedup"), QStringLiteral("p50 ms"),
              QStringLiteral("p90 ms"), QStringLiteral("dev. from AR"), QStringLiteral("bins from AR"),
              QStringLiteral("same tokens as AR"), QStringLiteral("dev. from recorded")},
             {}, true);
    for (const ModeReport& m : d.modes) {
        const decode::RunMetrics& r = m.metrics;
        h += row({QString::fromStdString(m.name), formatSpeedup(m.speedup), formatMs(r.latency.medianMs),
                  formatMs(r.latency.p90Ms), formatDeviation(r.meanAbsDevFromAr),
                  formatTau(r.meanBinDevFromAr), formatTau(r.exactMatchWithAr),
                  formatDeviation(r.meanAbsDevFromRecorded)},
                 QStringLiteral("id=\"speed-%1\"").arg(QString::fromStdString(m.name)));
    }
    return h + QStringLiteral("</table>\n");
}

QString sweepTable(const ReportData& d) {
    QString h = QString::fromLatin1(kTable);
    h += row({QStringLiteral("margin"), QStringLiteral("τ"), QStringLiteral("passes / action"),
              QStringLiteral("speedup"), QStringLiteral("dev. AR"), QStringLiteral("bins AR"),
              QStringLiteral("same as AR"), QStringLiteral("dev. recorded"),
              QStringLiteral("relaxed / action"), QStringLiteral("p50 ms")},
             {}, true);
    for (const SweepRow& s : d.sweep) {
        const decode::RunMetrics& r = s.metrics;
        h +=
            row({QString::number(s.margin), formatTau(r.acceptanceLength), formatTau(r.passesPerAction),
                 formatSpeedup(s.speedup), formatDeviation(r.meanAbsDevFromAr), formatTau(r.meanBinDevFromAr),
                 formatTau(r.exactMatchWithAr), formatDeviation(r.meanAbsDevFromRecorded),
                 formatTau(r.relaxedPerAction), formatMs(r.latency.medianMs)},
                QStringLiteral("id=\"sweep-%1\"").arg(s.margin));
    }
    return h + QStringLiteral("</table>\n");
}

// AR's τ (1), passes (7) and deviation (0) hold by definition: AR shows its ms only, so the table fits a
// page.
QString stepsTable(const ReportData& d) {
    QString h = QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"2\" width=\"100%\" "
                               "style=\"font-size:7pt\">\n<tr><th rowspan=\"2\">step</th>");
    for (const ModeReport& m : d.modes)
        h += m.settings.mode == decode::DecodeMode::Ar
                 ? QStringLiteral("<th>ar</th>")
                 : QStringLiteral("<th colspan=\"4\">%1</th>").arg(QString::fromStdString(m.name));
    h += QStringLiteral("<th rowspan=\"2\">mark</th></tr>\n<tr>");
    for (const ModeReport& m : d.modes)
        h += m.settings.mode == decode::DecodeMode::Ar
                 ? QStringLiteral("<th>ms</th>")
                 : QStringLiteral("<th>τ</th><th>passes</th><th>ms</th><th>dev. AR</th>");
    h += QStringLiteral("</tr>\n");
    const ModeReport& ar = d.modes.front();
    for (int i = 0; i < d.numSteps; ++i) {
        const int step = d.firstStep + i;
        const session::Bookmark* b = session::findBookmark(d.session.bookmarks, step);
        QStringList cells{QString::number(step)};
        for (const ModeReport& m : d.modes) {
            const StepValues v = stepValues(m, ar, i);
            if (m.settings.mode == decode::DecodeMode::Ar) {
                cells << formatMs(v.latencyMs);
                continue;
            }
            cells << formatTau(v.tau) << QString::number(v.passes) << formatMs(v.latencyMs)
                  << formatDeviation(v.deviation);
        }
        // The mark links to the note in "Bookmarks and notes"; a long note would make a tall, narrow row
        // here.
        cells << (b ? QStringLiteral("<a href=\"#bookmark-%1\">★</a>").arg(step) : QString());
        h += row(cells, QStringLiteral("id=\"step-%1\"%2")
                            .arg(step)
                            .arg(b ? QStringLiteral(" class=\"bookmark\" bgcolor=\"#fff4c2\"") : QString()));
    }
    return h + QStringLiteral("</table>\n");
}

QString environmentTable(const ReportData& d) {
    const ReportEnvironment& e = d.environment;
    QString h = QString::fromLatin1(kTable);
    auto kv = [&](const QString& k, const QString& v) { h += row({k, v}); };
    kv(QStringLiteral("SpecVLA Workbench"), esc(e.program));
    kv(QStringLiteral("Qt"), esc(e.qt));
    kv(QStringLiteral("libtorch"), esc(e.torch));
    kv(QStringLiteral("Device"),
       QStringLiteral("%1 (%2; CUDA %3)")
           .arg(esc(e.device), esc(e.dtype),
                e.cudaAvailable ? QStringLiteral("available") : QStringLiteral("not available")));
    kv(QStringLiteral("libtorch threads"), QString::number(e.threads));
    kv(QStringLiteral("Host"), esc(e.host));
    kv(QStringLiteral("Collected"),
       QStringLiteral("%1 (%2 s)").arg(esc(e.dateTime), fixed(e.collectSeconds, 1)));
    return h + QStringLiteral("</table>\n");
}

} // namespace

QString formatTau(double value) {
    return fixed(value, 3);
}
QString formatSpeedup(double value) {
    return fixed(value, 3);
}
QString formatMs(double value) {
    return fixed(value, 2);
}
QString formatDeviation(double value) {
    return fixed(value, 4);
}

QString reportHtml(const ReportData& d, const QStringList& figures) {
    const QString title =
        QStringLiteral("SpecVLA session report: %1")
            .arg(QFileInfo(QString::fromStdString(d.sessionPath)).fileName().toHtmlEscaped());
    QString h =
        QStringLiteral("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%1</title>\n"
                       "<style>body{font-family:sans-serif;font-size:10pt}"
                       "table{border-collapse:collapse}th,td{border:1px solid #999;padding:2px 5px;"
                       "text-align:left}th{background:#eee}tr.bookmark{background:#fff4c2}code{font-size:9pt}"
                       "</style></head>\n<body>\n<h1>%1</h1>\n")
            .arg(title);
    h += QStringLiteral("<p>Instruction: <i>%1</i>. Generated %2 by SpecVLA Workbench %3.</p>\n")
             .arg(esc(d.instruction), esc(d.environment.dateTime), esc(d.environment.program));

    h += QStringLiteral("<h2>Parameters</h2>\n") + parametersTable(d);

    h += QStringLiteral("<h2>Model and draft identity</h2>\n<p>SHA-256 over the weight files' bytes, "
                        "concatenated in the order listed.</p>\n") +
         QString::fromLatin1(kTable);
    h += row({QStringLiteral("role"), QStringLiteral("folder"), QStringLiteral("files hashed"),
              QStringLiteral("tensors"), QStringLiteral("bytes"), QStringLiteral("SHA-256")},
             {}, true);
    h += identityRow(QStringLiteral("model"), d.model);
    if (d.draft) h += identityRow(QStringLiteral("draft"), *d.draft);
    h += QStringLiteral("</table>\n");

    h += QStringLiteral("<h2>Metrics per mode</h2>\n") + metricsTable(d);
    h += QStringLiteral(
        "<p>τ: acceptance length, the tokens committed after the prefill per target verify pass (bonus "
        "included, prefill not counted), ratio of sums over all steps; mean τ: mean of the per-step values. "
        "Passes per action count the prefill. Speedup: AR's median ms per action / the mode's, measured in "
        "the "
        "same run with the modes interleaved per step. Latency: each step's vision and prefill (measured "
        "once, "
        "by an untimed preparing decode) plus the mode's decode of the prepared frame; p50 and p90 per "
        "action. "
        "Deviations: mean |normalised action − AR's| and |bin − AR's|, share of actions with AR's exact "
        "tokens, "
        "and mean |action − recorded action| (LIBERO gripper convention).</p>\n");

    if (!figures.isEmpty()) {
        // Pages (PDF and print): the figures start a page and come two to a page, so a heading never ends a
        // page without its figure.
        h += QStringLiteral("<h2 style=\"page-break-before: always\">Figures</h2>\n<p>Figure mode: %1.</p>\n")
                 .arg(QString::fromStdString(d.figureMode().name));
        int shown = 0;
        for (const QString& f : figures) {
            if (!f.endsWith(QLatin1String(".png"))) continue;
            const QString pageBreak = (shown++ % 2 == 0 && shown > 1)
                                          ? QStringLiteral(" style=\"page-break-before: always\"")
                                          : QString();
            const QString stem = QFileInfo(f).completeBaseName();
            const FigureInfo* info = figureInfo(stem);
            QString caption = QString::fromUtf8(info ? info->caption : "");
            if (d.firstStep > 0 && (stem == QLatin1String("latency") || stem == QLatin1String("token_runs")))
                caption += QStringLiteral(" Steps are numbered from the first decoded step: %1 is step %2.")
                               .arg(0)
                               .arg(d.firstStep);
            if (stem == QLatin1String("draft_tree"))
                if (const ModeReport* tm = d.treeMode()) {
                    const auto& t = tm->traces.at(static_cast<std::size_t>(d.treeStep() - d.firstStep));
                    const int rounds = static_cast<int>(t.rounds.size());
                    caption += QStringLiteral(" Mode %1, step %2, round %3 of %4.")
                                   .arg(QString::fromStdString(tm->name))
                                   .arg(d.treeStep())
                                   .arg(std::clamp(d.session.round, 0, std::max(rounds - 1, 0)) + 1)
                                   .arg(rounds);
                }
            QString svg = f;
            svg.chop(4);
            svg += QStringLiteral(".svg");
            h += QStringLiteral("<h3%5>%1</h3>\n<p><img src=\"%2\" width=\"520\" alt=\"%1\"></p>\n"
                                "<p>%3 <a href=\"%4\">SVG</a></p>\n")
                     .arg(QString::fromUtf8(info ? info->title : ""), f.toHtmlEscaped(),
                          caption.toHtmlEscaped(), svg.toHtmlEscaped(), pageBreak);
        }
    }

    if (!d.sweep.empty())
        h += QStringLiteral("<h2 style=\"page-break-before: always\">Margin sweep</h2>\n") + sweepTable(d);

    h += QStringLiteral("<h2>Per step</h2>\n<p>τ, target passes, ms and mean |normalised action − AR's| of "
                        "each mode (AR: ms only; its τ is 1 and its passes 7 by definition); ★ marks a "
                        "bookmark.</p>\n") +
         stepsTable(d);

    h += QStringLiteral("<h2>Bookmarks and notes</h2>\n");
    if (d.session.bookmarks.empty()) {
        h += QStringLiteral("<p>No bookmarks.</p>\n");
    } else {
        h += QStringLiteral("<ul>\n");
        for (const session::Bookmark& b : d.session.bookmarks)
            h += QStringLiteral("<li id=\"bookmark-%1\"><b>Step %1</b>: %2</li>\n")
                     .arg(b.step)
                     .arg(escMultiline(b.note));
        h += QStringLiteral("</ul>\n");
    }
    h += d.session.notes.empty()
             ? QStringLiteral("<p>No session notes.</p>\n")
             : QStringLiteral("<p id=\"notes\">%1</p>\n").arg(escMultiline(d.session.notes));

    h += QStringLiteral("<h2>Environment</h2>\n") + environmentTable(d);
    h += QStringLiteral("<p>Data: <a href=\"report.json\">report.json</a>, <a href=\"data/traces.json\">"
                        "traces</a>, <a href=\"data/rounds.csv\">rounds</a>, <a href=\"data/actions.csv\">"
                        "actions</a>, <a href=\"data/sweep.csv\">sweep</a>.</p>\n</body></html>\n");
    return h;
}

bool writeReport(const ReportData& d, const QString& outDir, const ReportWriteOptions& options,
                 ReportFiles* files, QString* error) {
    QString localError;
    QString* err = error ? error : &localError;
    if (d.modes.empty() || d.numSteps <= 0) {
        *err = QStringLiteral("the report has no decoded steps");
        return false;
    }
    const QDir out(QFileInfo(outDir).absoluteFilePath());
    for (const char* sub : {"figures", "data"})
        if (!out.mkpath(QLatin1String(sub))) {
            *err = QStringLiteral("%1: cannot create the folder").arg(out.filePath(QLatin1String(sub)));
            return false;
        }
    ReportFiles result;
    if (!writeFigures(d, out.filePath(QStringLiteral("figures")), options, &result.figures, err))
        return false;
    if (!writeData(d, out.filePath(QStringLiteral("data")), &result.data, err)) return false;

    QStringList relative;
    for (const QString& f : result.figures)
        relative << out.relativeFilePath(f);
    const QString html = reportHtml(d, relative);

    result.json = out.filePath(QStringLiteral("report.json"));
    if (!writeFile(result.json, QByteArray::fromStdString(reportToJson(d).dump(2) + "\n"), err)) return false;
    result.html = out.filePath(QStringLiteral("report.html"));
    if (!writeFile(result.html, html.toUtf8(), err)) return false;

    // The PDF: the same HTML, with the PNG figures handed to the document as resources.
    result.pdf = out.filePath(QStringLiteral("report.pdf"));
    QTextDocument doc;
    QFont font = doc.defaultFont();
    font.setPointSizeF(8);
    doc.setDefaultFont(font);
    for (const QString& rel : relative) {
        if (!rel.endsWith(QLatin1String(".png"))) continue;
        const QImage image(out.filePath(rel));
        if (image.isNull()) {
            *err = QStringLiteral("%1: cannot read the figure back").arg(out.filePath(rel));
            return false;
        }
        doc.addResource(QTextDocument::ImageResource, QUrl(rel), image);
    }
    doc.setHtml(html);
    QSaveFile pdf(result.pdf);
    if (!pdf.open(QIODevice::WriteOnly)) {
        *err = QStringLiteral("%1: cannot write: %2").arg(result.pdf, pdf.errorString());
        return false;
    }
    {
        QPdfWriter writer(&pdf);
        writer.setCreator(QStringLiteral("SpecVLA Workbench %1").arg(QString::fromLatin1(specvlaVersion())));
        writer.setTitle(QStringLiteral("SpecVLA session report"));
        // No page margins: QTextDocument::print lays an unpaginated document out with 2 cm margins of its
        // own.
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(0, 0, 0, 0), QPageLayout::Millimeter));
        writer.setResolution(300);
        doc.print(&writer);
    }
    if (!pdf.commit()) {
        *err = QStringLiteral("%1: cannot write: %2").arg(result.pdf, pdf.errorString());
        return false;
    }
    if (files) *files = result;
    return true;
}

} // namespace specvla::app
