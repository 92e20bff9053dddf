// SPDX-License-Identifier: MIT
#include "widget_export.h"
