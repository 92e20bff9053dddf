// SPDX-License-Identifier: MIT
#pragma once

// Builds the decoding views and their docks for the main window, with the default layout for a 1280x800
// screen: controls on the left, draft tree and token strip on the right, plots tabified at the bottom.
#include "gui/decode_controller.h"

#include <QList>

class QDockWidget;
class QMainWindow;
class QWidget;

namespace specvla::app {

struct DecodeDocks {
    DecodeViews views;            // status, progress, cancel and messages are left to the window
    QWidget* framePage = nullptr; // frame view + timeline, for the central area
    QList<QDockWidget*> docks;    // in View-menu order
};

DecodeDocks createDecodeDocks(QMainWindow* window);

} // namespace specvla::app
