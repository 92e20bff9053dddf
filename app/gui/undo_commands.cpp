// SPDX-License-Identifier: MIT
#include "gui/undo_commands.h"
