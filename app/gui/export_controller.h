// SPDX-License-Identifier: MIT
#pragma once

// Exports of the workbench (DESIGN.md, Sessions, export, reports): every decoding view and the whole
// dashboard to PNG, PDF or SVG (widgets/widget_export.h, light theme, a title naming the step and the
// settings), the traces of the decoded steps and the last margin sweep to CSV or JSON (core/decode/trace_io.h
// and metrics.h, so the files carry the same field names and numbers as the CLI and reports). Every file is
// written atomically (QSaveFile). Each export reports through exported() or exportFailed() as well as its
// return value. The menu actions ask for a file, remembering the folder in QSettings "export/last_dir".
//
// Trace files:
// - CSV: one row per decoded action (decode::actionsCsv columns: step, mode, tokens, bins, ..., ms_total):
//   first the current settings' trace of every decoded step in step order, then the AR baseline of the same
//   steps (mode "ar"; left out when the current mode is AR itself).
// - JSON: { "format": "specvla-traces", "version": 1, "model", "draft", "episode", "num_steps",
//   "settings": toJson(DecodeSettings), "steps": [ { "step", "trace": toJson(ActionTrace),
//   "ar_trace": toJson(ActionTrace) | null } ], "metrics": toJson(aggregate(traces, AR when every exported
//   step has one)), "ar_metrics": toJson(aggregate(AR traces)) | null, "speedup": AR / current | null }.
// Sweep files: one row per finished margin, in the order they ran.
// - CSV columns: margin, acceptance_length, mean_acceptance_length, passes_per_action, speedup_vs_ar,
//   acceptance_rate, exact_per_action, relaxed_per_action, mean_abs_dev_from_ar, mean_bin_dev_from_ar,
//   exact_match_with_ar, mean_abs_dev_from_recorded, median_ms, actions (empty where not available).
// - JSON: { "format": "specvla-sweep", "version": 1, "settings", "ar_metrics" | null, "rows": [ { the CSV's
//   fields (null where not available), "metrics": toJson(RunMetrics) } ] }.
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <functional>

class QAction;
class QMenu;
class QWidget;

namespace specvla::app {

class DecodeController;

class ExportController : public QObject {
    Q_OBJECT
public:
    enum class View { Frame, Tree, TokenStrip, BinDistance, Latency, Sweep };

    struct ExportSize {
        int width = 1600; // pixels at dpi
        int height = 1000;
        double dpi = 150;
    };

    // decode: the views and traces. dashboard: the window whose content is the dashboard. dialogParent: for
    // file dialogs (the dashboard when null).
    ExportController(DecodeController* decode, QWidget* dashboard, QWidget* dialogParent = nullptr,
                     QObject* parent = nullptr);

    static QList<View> views();
    // "Episode frame", "Draft tree", "Token runs", "Bin distance", "Latency", "Margin sweep".
    static QString viewName(View view);
    // The title band of an export: the view's name with the step, round or settings it shows, e.g.
    // "Draft tree — step 3, round 1/2 · relaxed, r = 9".
    QString viewTitle(View view) const;
    // The view's widget (null when the controller has none for it).
    QWidget* viewWidget(View view) const;
    // A file name for the view's export without folder or extension, e.g. "draft_tree_step3".
    QString defaultFileName(View view) const;

    void setExportSize(const ExportSize& size);
    ExportSize exportSize() const { return m_size; }

    // .png / .pdf / .svg by extension.
    bool exportView(View view, const QString& path, QString* error = nullptr);
    // The dashboard's docks and central area (not the menu and status bars) in one figure, scaled to fit
    // the export size; the window keeps its geometry.
    bool exportDashboard(const QString& path, QString* error = nullptr);
    // .csv / .json by extension (see the header comment). Fails when no step is decoded yet.
    bool exportTraces(const QString& path, QString* error = nullptr);
    // .csv / .json by extension. Fails when no sweep row has arrived yet.
    bool exportSweep(const QString& path, QString* error = nullptr);

    // "Export View ▸" (one action per view), "Export Dashboard…" (Ctrl+Shift+E), "Export Traces…",
    // "Export Sweep…". The trace and sweep actions are enabled while there is something to export.
    void populateMenu(QMenu* menu);
    QAction* dashboardAction() const { return m_dashboardAction; }
    QAction* tracesAction() const { return m_tracesAction; }
    QAction* sweepAction() const { return m_sweepAction; }
    QList<QAction*> viewActions() const { return m_viewActions; }

    // The file dialog the actions use: (caption, suggested path, filter) -> chosen path, "" to cancel. Tests
    // replace it; the default is QFileDialog::getSaveFileName.
    using PathPrompt =
        std::function<QString(const QString& caption, const QString& suggested, const QString& filter)>;
    void setPathPrompt(PathPrompt prompt);

    static QString lastDirKey() { return QStringLiteral("export/last_dir"); }

public Q_SLOTS:
    void showExportViewDialog(specvla::app::ExportController::View view);
    void showExportDashboardDialog();
    void showExportTracesDialog();
    void showExportSweepDialog();
    void updateActions();

Q_SIGNALS:
    void exported(const QString& path);
    void exportFailed(const QString& message);

private:
    // Asks for a path (adding the filter's extension when the name has none); empty when cancelled.
    QString askPath(const QString& caption, const QString& baseName, const QString& filter,
                    const QString& defaultSuffix);
    bool finish(bool ok, const QString& path, const QString& message, QString* error);
    QString settingsSummary() const; // "relaxed, r = 9"
    QString stepLabel() const;       // "step 3 / 4", as the timeline shows it

    QPointer<DecodeController> m_decode;
    QPointer<QWidget> m_dashboard;
    QPointer<QWidget> m_dialogParent;
    ExportSize m_size;
    PathPrompt m_prompt;
    QAction* m_dashboardAction = nullptr;
    QAction* m_tracesAction = nullptr;
    QAction* m_sweepAction = nullptr;
    QList<QAction*> m_viewActions;
};

} // namespace specvla::app
