// SPDX-License-Identifier: MIT
#pragma once

// Renders a collected report (report_data.h) into a folder: report.html (text and tables, figures linked from
// figures/), report.pdf (the same HTML laid out by QTextDocument, figures embedded), report.json
// (reportToJson), figures/*.png and *.svg, and data/ (traces.json, rounds.csv, actions.csv, sweep.csv). Every
// file is written atomically (QSaveFile). Creates widgets: GUI thread only (a QApplication must exist; the
// CLI uses the offscreen platform).
#include "report/report_data.h"

#include <QString>
#include <QStringList>

namespace specvla::app {

struct ReportWriteOptions {
    int figureWidth = 1200; // pixels of each PNG figure (and the SVG view box)
    int figureHeight = 700;
    double dpi = 150;
};

// What writeReport wrote, as absolute paths.
struct ReportFiles {
    QString html, pdf, json;
    QStringList figures; // PNG and SVG
    QStringList data;    // traces.json, rounds.csv, actions.csv, sweep.csv
};

// Returns false with a message naming the file on failure (files written before it stay).
bool writeReport(const ReportData& data, const QString& outDir, const ReportWriteOptions& options,
                 ReportFiles* files = nullptr, QString* error = nullptr);

// The report's HTML for a folder whose figures are `figures` (file names relative to it, as written); exposed
// for tests and previews.
QString reportHtml(const ReportData& data, const QStringList& figures);

// Number formats of the report's tables (fixed decimals, C locale).
QString formatTau(double value);       // 3 decimals: acceptance length, passes per action
QString formatSpeedup(double value);   // 3 decimals
QString formatMs(double value);        // 2 decimals
QString formatDeviation(double value); // 4 decimals

} // namespace specvla::app
