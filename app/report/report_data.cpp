// SPDX-License-Identifier: MIT
#include "report/report_data.h"
