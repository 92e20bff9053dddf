// SPDX-License-Identifier: MIT
#include "gui/export_controller.h"
