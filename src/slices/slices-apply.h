/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * slices-apply.h - makes a slice plan (slices.h) true on this machine: reads
 * what each file holds, writes only what differs (unit files atomically,
 * cgroup knobs in place, directories made as needed), and for the systemd
 * driver tells systemd over D-Bus (sd-bus): Manager.Reload, then
 * Manager.SetUnitProperties(runtime) on each loaded user slice whose limits
 * changed. No systemctl.
 */
#include <stdbool.h>
#include <stddef.h>

#include "slices/slices.h"

#define SLICES_UNIT_DIR     "/etc/systemd/system"
#define SLICES_CGROUP_MOUNT "/sys/fs/cgroup"

/* 2 when mount is a cgroup v2 (unified) mount, 1 when it holds the v1
 * per-controller hierarchies (a "memory" directory); for a plain directory
 * (a test's --root) 2 when it has cgroup.controllers, else 1 when it has
 * "memory", else 2. -errno when mount cannot be read. */
int slices_cgroup_version(const char *mount);

/* Compares every item of p with what is under root and, unless dry_run,
 * makes it so. Fills each item's change, current and error. Returns the
 * number of items that failed (>= 0), or -ENOMEM. */
int slices_apply(struct slice_plan *p, const char *root, bool dry_run);

/* The number of items that changed (or would change, after a dry run). */
size_t slices_changed(const struct slice_plan *p);

/* After slices_apply() on the real unit directory: when anything changed,
 * Manager.Reload, then SetUnitProperties(runtime=true) with CPUQuotaPerSecUSec,
 * MemoryMax, MemoryHigh and TasksMax on each changed user slice that systemd
 * has loaded (a slice that is not loaded reads its files when it starts).
 * Returns the number of slices updated at runtime, or -errno with a message
 * in msg (size n) that says what to do: -ENOTCONN when there is no system
 * bus (the files are written; systemd reads them at its next daemon-reload
 * or boot). */
int slices_systemd_reload(const struct slice_plan *p, char *msg, size_t n);
