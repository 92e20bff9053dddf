// SPDX-License-Identifier: MIT
#include "gui/decode_docks.h"

#include "bin_distance_plot.h"
#include "draft_tree_view.h"
#include "frame_view.h"
#include "gui/decode_controls.h"
#include "latency_plot.h"
#include "sweep_plot.h"
#include "token_run_strip.h"

#include <QDockWidget>
#include <QMainWindow>
#include <QVBoxLayout>

namespace specvla::app {

namespace {

QDockWidget* dock(QMainWindow* window, const QString& title, const QString& name, QWidget* content) {
    auto* d = new QDockWidget(title, window);
    d->setObjectName(name);
    d->setWidget(content);
    return d;
}

} // namespace

DecodeDocks createDecodeDocks(QMainWindow* window) {
    DecodeDocks result;
    DecodeViews& v = result.views;

    result.framePage = new QWidget(window);
    result.framePage->setObjectName(QStringLiteral("FramePage"));
    auto* layout = new QVBoxLayout(result.framePage);
    layout->setContentsMargins(0, 0, 0, 0);
    v.frame = new widgets::FrameView(result.framePage);
    v.timeline = new widgets::Timeline(result.framePage);
    layout->addWidget(v.frame, 1);
    layout->addWidget(v.timeline);

    v.controls = new DecodeControls(window);
    v.tree = new widgets::DraftTreeView(window);
    v.strip = new widgets::TokenRunStrip(window);
    v.binDistance = new widgets::BinDistancePlot(window);
    v.latency = new widgets::LatencyPlot(window);
    v.sweep = new widgets::SweepPlot(window);

    QDockWidget* tree = dock(window, QObject::tr("Draft Tree"), QStringLiteral("DraftTreeDock"), v.tree);
    QDockWidget* strip = dock(window, QObject::tr("Token Runs"), QStringLiteral("TokenRunDock"), v.strip);
    QDockWidget* bins =
        dock(window, QObject::tr("Bin Distance"), QStringLiteral("BinDistanceDock"), v.binDistance);
    QDockWidget* latency = dock(window, QObject::tr("Latency"), QStringLiteral("LatencyDock"), v.latency);
    QDockWidget* sweep = dock(window, QObject::tr("Margin Sweep"), QStringLiteral("SweepDock"), v.sweep);

    window->addDockWidget(Qt::LeftDockWidgetArea, v.controls);
    window->addDockWidget(Qt::RightDockWidgetArea, tree);
    window->addDockWidget(Qt::RightDockWidgetArea, strip);
    window->tabifyDockWidget(tree, strip);
    window->addDockWidget(Qt::BottomDockWidgetArea, latency);
    window->tabifyDockWidget(latency, bins);
    window->tabifyDockWidget(latency, sweep);
    latency->raise();
    tree->raise();
    window->resizeDocks({v.controls}, {260}, Qt::Horizontal);
    window->resizeDocks({tree}, {460}, Qt::Horizontal);
    window->resizeDocks({latency}, {240}, Qt::Vertical);

    result.docks = {v.controls, tree, strip, bins, latency, sweep};
    return result;
}

} // namespace specvla::app
