// SPDX-License-Identifier: MIT
#include "gui/bookmarks_dock.h"
