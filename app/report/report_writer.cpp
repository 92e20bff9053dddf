// SPDX-License-Identifier: MIT
#include "report/report_writer.h"
