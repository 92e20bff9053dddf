// SPDX-License-Identifier: MIT
#include "gui/export_controller.h"

#include "bin_distance_plot.h"
#include "decode/metrics.h"
#include "decode/trace_io.h"
#include "draft_tree_view.h"
#include "frame_view.h"
#include "gui/decode_controller.h"
#include "latency_plot.h"
#include "sweep_plot.h"
#include "token_run_strip.h"
#include "widget_export.h"

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMainWindow>
#include <QMenu>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>

#include <array>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace specvla::app {

namespace {

using nlohmann::json;

const QString kEmDash = QStringLiteral(" \u2014 ");
const QString kDot = QStringLiteral(" \u00b7 ");

QString suffixOf(const QString& path) {
    return QFileInfo(path).suffix().toLower();
}

bool writeAtomically(const QString& path, const QByteArray& bytes, QString* message) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *message = file.errorString();
        return false;
    }
    if (file.write(bytes) != bytes.size()) {
        *message = file.errorString();
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) {
        *message = file.errorString();
        return false;
    }
    return true;
}

QByteArray jsonBytes(const json& j) {
    const std::string text = j.dump(2) + "\n";
    return QByteArray(text.data(), static_cast<int>(text.size()));
}

QByteArray textBytes(const std::string& text) {
    return QByteArray(text.data(), static_cast<int>(text.size()));
}

// AR median / other median, when both have actions and positive medians.
std::optional<double> speedupOf(const std::optional<decode::RunMetrics>& ar,
                                const decode::RunMetrics& other) {
    if (!ar) return std::nullopt;
    try {
        return decode::speedup(*ar, other);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

json orNull(const std::optional<double>& value) {
    return value ? json(*value) : json(nullptr);
}

QString joinInts(const std::array<int, 7>& values) {
    QStringList parts;
    for (int v : values)
        parts << QString::number(v);
    return parts.join(QLatin1Char(' '));
}

} // namespace

ExportController::ExportController(DecodeController* decode, QWidget* dashboard, QWidget* dialogParent,
                                   QObject* parent)
    : QObject(parent), m_decode(decode), m_dashboard(dashboard),
      m_dialogParent(dialogParent ? dialogParent : dashboard) {
    for (View view : views()) {
        auto* action = new QAction(viewName(view) + QStringLiteral("\u2026"), this);
        action->setData(static_cast<int>(view));
        connect(action, &QAction::triggered, this, [this, view] { showExportViewDialog(view); });
        m_viewActions << action;
    }
    m_dashboardAction = new QAction(tr("Export &Dashboard\u2026"), this);
    m_dashboardAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_dashboardAction->setStatusTip(tr("Save every view of the workbench as one PNG, PDF or SVG figure"));
    connect(m_dashboardAction, &QAction::triggered, this, &ExportController::showExportDashboardDialog);
    m_tracesAction = new QAction(tr("Export &Traces\u2026"), this);
    m_tracesAction->setStatusTip(tr("Save the decoded traces and their metrics as CSV or JSON"));
    connect(m_tracesAction, &QAction::triggered, this, &ExportController::showExportTracesDialog);
    m_sweepAction = new QAction(tr("Export &Sweep\u2026"), this);
    m_sweepAction->setStatusTip(tr("Save the margin sweep's rows as CSV or JSON"));
    connect(m_sweepAction, &QAction::triggered, this, &ExportController::showExportSweepDialog);
    if (m_decode)
        connect(m_decode, &DecodeController::currentStepViewsUpdated, this, &ExportController::updateActions);
    updateActions();
}

QList<ExportController::View> ExportController::views() {
    return {View::Frame, View::Tree, View::TokenStrip, View::BinDistance, View::Latency, View::Sweep};
}

QString ExportController::viewName(View view) {
    switch (view) {
    case View::Frame:
        return tr("Episode frame");
    case View::Tree:
        return tr("Draft tree");
    case View::TokenStrip:
        return tr("Token runs");
    case View::BinDistance:
        return tr("Bin distance");
    case View::Latency:
        return tr("Latency");
    case View::Sweep:
        break;
    }
    return tr("Margin sweep");
}

QWidget* ExportController::viewWidget(View view) const {
    if (!m_decode) return nullptr;
    const DecodeViews& v = m_decode->views();
    switch (view) {
    case View::Frame:
        return v.frame;
    case View::Tree:
        return v.tree;
    case View::TokenStrip:
        return v.strip;
    case View::BinDistance:
        return v.binDistance;
    case View::Latency:
        return v.latency;
    case View::Sweep:
        break;
    }
    return v.sweep;
}

QString ExportController::settingsSummary() const {
    if (!m_decode) return QString();
    const decode::DecodeSettings& s = m_decode->settings();
    switch (s.mode) {
    case decode::DecodeMode::Ar:
        return tr("autoregressive");
    case decode::DecodeMode::Strict:
        return tr("strict speculative");
    case decode::DecodeMode::Relaxed:
        break;
    }
    if (s.marginPerDim) return tr("relaxed, r = [%1]").arg(joinInts(*s.marginPerDim));
    return tr("relaxed, r = %1").arg(s.margin);
}

QString ExportController::stepLabel() const {
    if (!m_decode || m_decode->numSteps() <= 0) return tr("no episode");
    return tr("step %1 / %2").arg(m_decode->currentStep() + 1).arg(m_decode->numSteps());
}

QString ExportController::viewTitle(View view) const {
    QString title = viewName(view);
    if (!m_decode) return title;
    const int steps = m_decode->numSteps();
    const QString step = stepLabel();
    switch (view) {
    case View::Frame:
        title += kEmDash + step;
        break;
    case View::Tree: {
        title += kEmDash + step;
        const auto* tree = m_decode->views().tree;
        if (tree && tree->roundCount() > 0)
            title += tr(", round %1 / %2").arg(tree->round() + 1).arg(tree->roundCount());
        title += kDot + settingsSummary();
        break;
    }
    case View::TokenStrip:
    case View::BinDistance:
    case View::Latency:
        title += kEmDash + (steps == 1 ? tr("1 step") : tr("%1 steps").arg(steps)) + kDot + settingsSummary();
        break;
    case View::Sweep: {
        const auto rows = static_cast<int>(m_decode->sweepRows().size());
        title += kEmDash + (rows == 1 ? tr("1 margin") : tr("%1 margins").arg(rows));
        break;
    }
    }
    return title;
}

QString ExportController::defaultFileName(View view) const {
    static const char* const stems[] = {"frame",        "draft_tree", "token_runs",
                                        "bin_distance", "latency",    "sweep"};
    QString name = QLatin1String(stems[static_cast<int>(view)]);
    if ((view == View::Frame || view == View::Tree) && m_decode && m_decode->numSteps() > 0)
        name += QStringLiteral("_step%1").arg(m_decode->currentStep() + 1);
    return name;
}

void ExportController::setExportSize(const ExportSize& size) {
    m_size = size;
}

bool ExportController::finish(bool ok, const QString& path, const QString& message, QString* error) {
    if (ok) {
        Q_EMIT exported(path);
        return true;
    }
    if (error) *error = message;
    Q_EMIT exportFailed(message);
    return false;
}

bool ExportController::exportView(View view, const QString& path, QString* error) {
    QWidget* widget = viewWidget(view);
    if (!widget)
        return finish(false, path,
                      tr("Cannot export the %1 view: the workbench has none").arg(viewName(view)), error);
    widgets::WidgetExportOptions options;
    options.width = m_size.width;
    options.height = m_size.height;
    options.dpi = m_size.dpi;
    options.title = viewTitle(view);
    QString message;
    const bool ok = widgets::exportWidget(widget, path, options, &message);
    return finish(ok, path, message, error);
}

bool ExportController::exportDashboard(const QString& path, QString* error) {
    QWidget* dashboard = m_dashboard;
    if (!dashboard) return finish(false, path, tr("Cannot export the dashboard: there is no window"), error);
    widgets::WidgetExportOptions options;
    options.width = m_size.width;
    options.height = m_size.height;
    options.dpi = m_size.dpi;
    options.keepSize = true; // the user's window keeps its geometry; the figure is scaled to fit
    options.title = tr("SpecVLA Workbench") + kEmDash + stepLabel() + kDot + settingsSummary();
    // The docks and the central area: what the user arranged, without menus and status bar.
    if (auto* window = qobject_cast<QMainWindow*>(dashboard)) {
        QRect area;
        if (QWidget* central = window->centralWidget(); central && central->isVisible())
            area = central->geometry();
        // Docks behind another dock's tab stay "visible" but are parked outside the window.
        for (QDockWidget* dock : window->findChildren<QDockWidget*>(QString(), Qt::FindDirectChildrenOnly))
            if (dock->isVisible() && !dock->isFloating() && window->rect().intersects(dock->geometry()))
                area = area.united(dock->geometry());
        options.sourceRect = area.intersected(window->rect());
    }
    QString message;
    const bool ok = widgets::exportWidget(dashboard, path, options, &message);
    return finish(ok, path, message, error);
}

bool ExportController::exportTraces(const QString& path, QString* error) {
    const QString suffix = suffixOf(path);
    auto fail = [&](const QString& why) {
        return finish(false, path, tr("Cannot export the traces to %1: %2").arg(path, why), error);
    };
    if (suffix != QLatin1String("csv") && suffix != QLatin1String("json"))
        return fail(tr("unsupported format \"%1\" (use .csv or .json)").arg(suffix));
    if (!m_decode) return fail(tr("no decoder"));

    std::vector<int> steps;
    std::vector<decode::ActionTrace> traces;
    for (int i = 0; i < m_decode->numSteps(); ++i)
        if (const decode::ActionTrace* t = m_decode->trace(i)) {
            steps.push_back(i);
            traces.push_back(*t);
        }
    if (traces.empty()) return fail(tr("nothing is decoded yet; open a model and an episode first"));
    const decode::DecodeSettings& settings = m_decode->settings();
    const bool arMode = settings.mode == decode::DecodeMode::Ar;

    std::vector<int> arSteps;
    std::vector<decode::ActionTrace> arTraces;
    for (int step : steps)
        if (const decode::ActionTrace* t = m_decode->arTrace(step)) {
            arSteps.push_back(step);
            arTraces.push_back(*t);
        }

    QByteArray bytes;
    try {
        if (suffix == QLatin1String("csv")) {
            // One actionsCsv row per action, each with its own step number (decoded steps may have gaps).
            std::string out;
            auto append = [&out](const decode::ActionTrace& t, int step) {
                const std::string csv = decode::actionsCsv({t}, step);
                out += out.empty() ? csv : csv.substr(csv.find('\n') + 1);
            };
            for (std::size_t i = 0; i < traces.size(); ++i)
                append(traces[i], steps[i]);
            if (!arMode)
                for (std::size_t i = 0; i < arTraces.size(); ++i)
                    append(arTraces[i], arSteps[i]);
            bytes = textBytes(out);
        } else {
            const bool paired = !arTraces.empty() && arTraces.size() == traces.size();
            const decode::RunMetrics metrics = decode::aggregate(traces, paired ? &arTraces : nullptr);
            std::optional<decode::RunMetrics> arMetrics;
            if (!arTraces.empty()) arMetrics = decode::aggregate(arTraces);
            json stepList = json::array();
            for (std::size_t i = 0; i < traces.size(); ++i) {
                const decode::ActionTrace* ar = m_decode->arTrace(steps[i]);
                stepList.push_back({{"step", steps[i]},
                                    {"trace", decode::toJson(traces[i])},
                                    {"ar_trace", ar ? decode::toJson(*ar) : json(nullptr)}});
            }
            const json j{{"format", "specvla-traces"},
                         {"version", 1},
                         {"model", m_decode->modelDir().toStdString()},
                         {"draft", m_decode->draftDir().toStdString()},
                         {"episode", m_decode->episodePath().toStdString()},
                         {"num_steps", m_decode->numSteps()},
                         {"settings", decode::toJson(settings)},
                         {"steps", stepList},
                         {"metrics", decode::toJson(metrics)},
                         {"ar_metrics", arMetrics ? decode::toJson(*arMetrics) : json(nullptr)},
                         {"speedup", orNull(speedupOf(arMetrics, metrics))}};
            bytes = jsonBytes(j);
        }
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    QString message;
    if (!writeAtomically(path, bytes, &message)) return fail(message);
    return finish(true, path, QString(), error);
}

bool ExportController::exportSweep(const QString& path, QString* error) {
    const QString suffix = suffixOf(path);
    auto fail = [&](const QString& why) {
        return finish(false, path, tr("Cannot export the sweep to %1: %2").arg(path, why), error);
    };
    if (suffix != QLatin1String("csv") && suffix != QLatin1String("json"))
        return fail(tr("unsupported format \"%1\" (use .csv or .json)").arg(suffix));
    if (!m_decode) return fail(tr("no decoder"));
    const std::vector<int>& margins = m_decode->sweepMargins();
    const std::vector<decode::RunMetrics>& rows = m_decode->sweepRows();
    if (rows.empty() || margins.size() != rows.size())
        return fail(tr("no margin sweep has run yet; start one from the decode controls"));

    QByteArray bytes;
    try {
        // Speedup against the AR baseline of the whole episode, as the sweep plot shows it.
        std::optional<decode::RunMetrics> ar;
        std::vector<decode::ActionTrace> arTraces;
        for (int i = 0; i < m_decode->numSteps(); ++i)
            if (const decode::ActionTrace* t = m_decode->arTrace(i)) arTraces.push_back(*t);
        if (m_decode->numSteps() > 0 && static_cast<int>(arTraces.size()) == m_decode->numSteps())
            ar = decode::aggregate(arTraces);

        struct Row {
            int margin;
            const decode::RunMetrics* m;
            std::optional<double> speedup, devAr, binDevAr, matchAr, devRecorded;
        };
        std::vector<Row> table;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const decode::RunMetrics& m = rows[i];
            Row row{margins[i], &m, speedupOf(ar, m), {}, {}, {}, {}};
            if (m.hasArReference) {
                row.devAr = m.meanAbsDevFromAr;
                row.binDevAr = m.meanBinDevFromAr;
                row.matchAr = m.exactMatchWithAr;
            }
            if (m.hasRecorded) row.devRecorded = m.meanAbsDevFromRecorded;
            table.push_back(row);
        }

        if (suffix == QLatin1String("csv")) {
            std::vector<decode::SweepCsvRow> csvRows;
            for (const Row& r : table)
                csvRows.push_back({r.margin, r.m, r.speedup});
            bytes = textBytes(decode::sweepCsv(csvRows));
        } else {
            json list = json::array();
            for (const Row& r : table) {
                const decode::RunMetrics& m = *r.m;
                list.push_back({{"margin", r.margin},
                                {"acceptance_length", m.acceptanceLength},
                                {"mean_acceptance_length", m.meanAcceptanceLength},
                                {"passes_per_action", m.passesPerAction},
                                {"speedup_vs_ar", orNull(r.speedup)},
                                {"acceptance_rate", m.acceptanceRate},
                                {"exact_per_action", m.exactPerAction},
                                {"relaxed_per_action", m.relaxedPerAction},
                                {"mean_abs_dev_from_ar", orNull(r.devAr)},
                                {"mean_bin_dev_from_ar", orNull(r.binDevAr)},
                                {"exact_match_with_ar", orNull(r.matchAr)},
                                {"mean_abs_dev_from_recorded", orNull(r.devRecorded)},
                                {"median_ms", m.latency.medianMs},
                                {"actions", m.actions},
                                {"metrics", decode::toJson(m)}});
            }
            const json j{{"format", "specvla-sweep"},
                         {"version", 1},
                         {"model", m_decode->modelDir().toStdString()},
                         {"draft", m_decode->draftDir().toStdString()},
                         {"episode", m_decode->episodePath().toStdString()},
                         {"settings", decode::toJson(m_decode->settings())},
                         {"ar_metrics", ar ? decode::toJson(*ar) : json(nullptr)},
                         {"rows", list}};
            bytes = jsonBytes(j);
        }
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    QString message;
    if (!writeAtomically(path, bytes, &message)) return fail(message);
    return finish(true, path, QString(), error);
}

void ExportController::populateMenu(QMenu* menu) {
    if (!menu) return;
    QMenu* viewMenu = menu->addMenu(tr("Export &View"));
    viewMenu->addActions(m_viewActions);
    menu->addAction(m_dashboardAction);
    menu->addAction(m_tracesAction);
    menu->addAction(m_sweepAction);
    connect(menu, &QMenu::aboutToShow, this, &ExportController::updateActions);
    updateActions();
}

void ExportController::updateActions() {
    bool decoded = false;
    if (m_decode)
        for (int i = 0; i < m_decode->numSteps() && !decoded; ++i)
            decoded = m_decode->trace(i) != nullptr;
    m_tracesAction->setEnabled(decoded);
    m_sweepAction->setEnabled(m_decode && !m_decode->sweepRows().empty());
}

void ExportController::setPathPrompt(PathPrompt prompt) {
    m_prompt = std::move(prompt);
}

QString ExportController::askPath(const QString& caption, const QString& baseName, const QString& filter,
                                  const QString& defaultSuffix) {
    QSettings settings;
    QString dir = settings.value(lastDirKey()).toString();
    if (dir.isEmpty() || !QFileInfo(dir).isDir())
        dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    if (dir.isEmpty()) dir = QDir::homePath();
    const QString suggested = QDir(dir).filePath(baseName + QLatin1Char('.') + defaultSuffix);

    QString path;
    if (m_prompt) {
        path = m_prompt(caption, suggested, filter);
    } else {
        QString selected;
        path = QFileDialog::getSaveFileName(m_dialogParent, caption, suggested, filter, &selected);
        // A name typed without an extension gets the chosen filter's, e.g. "(*.pdf)" -> ".pdf".
        if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty()) {
            const int star = selected.indexOf(QLatin1String("*."));
            const int close = selected.indexOf(QLatin1Char(')'), star);
            path += star >= 0 && close > star ? selected.mid(star + 1, close - star - 1)
                                              : QLatin1Char('.') + defaultSuffix;
        }
    }
    if (path.isEmpty()) return QString();
    if (QFileInfo(path).suffix().isEmpty()) path += QLatin1Char('.') + defaultSuffix;
    settings.setValue(lastDirKey(), QFileInfo(path).absolutePath());
    return path;
}

void ExportController::showExportViewDialog(View view) {
    const QString path = askPath(tr("Export %1").arg(viewName(view)), defaultFileName(view),
                                 widgets::exportFileFilter(), QStringLiteral("png"));
    if (!path.isEmpty()) exportView(view, path);
}

void ExportController::showExportDashboardDialog() {
    const QString path = askPath(tr("Export Dashboard"), QStringLiteral("dashboard"),
                                 widgets::exportFileFilter(), QStringLiteral("png"));
    if (!path.isEmpty()) exportDashboard(path);
}

void ExportController::showExportTracesDialog() {
    const QString path = askPath(tr("Export Traces"), QStringLiteral("traces"),
                                 tr("CSV table (*.csv);;JSON document (*.json)"), QStringLiteral("csv"));
    if (!path.isEmpty()) exportTraces(path);
}

void ExportController::showExportSweepDialog() {
    const QString path = askPath(tr("Export Sweep"), QStringLiteral("sweep"),
                                 tr("CSV table (*.csv);;JSON document (*.json)"), QStringLiteral("csv"));
    if (!path.isEmpty()) exportSweep(path);
}

} // namespace specvla::app
