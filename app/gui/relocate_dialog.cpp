// SPDX-License-Identifier: MIT
#include "gui/relocate_dialog.h"
