// SPDX-License-Identifier: MIT
#pragma once

// Include QCustomPlot through this header only. qcustomplot.h uses Qt's `signals`, `slots` and `foreach`
// keywords, which targets built with QT_NO_KEYWORDS (needed wherever torch headers meet Qt ones, see
// reference/toolchain.md 3c) do not define. Map them to their Q_ spellings for this one include.
#ifdef QT_NO_KEYWORDS
#include <QObject>
#include <QtGlobal>
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef foreach
#else
#include <qcustomplot.h>
#endif
