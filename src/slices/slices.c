/* SPDX-License-Identifier: MIT */
/* slices.c - per-user aggregate limits (stub; issue 8). */
#include "slices/slices.h"
