/* SPDX-License-Identifier: MIT */
/* slices-glue.c - per-user cgroup slices in ds01d (stub; issue 8). */
#include "daemon/daemon.h"
