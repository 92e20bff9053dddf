// SPDX-License-Identifier: MIT
#include "gui/preferences.h"
