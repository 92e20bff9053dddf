// SPDX-License-Identifier: MIT
#include "gui/autosave.h"
