/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * slices-oom.h - counts OOM kills in the users' cgroups (ds01/<group>/<user>
 * for the cgroupfs driver, ds01.slice/ds01-<group>.slice/ds01-<group>-<user>.slice
 * for systemd) and reports the increases.
 *
 * Sources, for each user cgroup found under the memory mount:
 *  - cgroup v2: memory.events "oom_kill" of the user's cgroup, which counts
 *    the kills anywhere below it; each container's own memory.events names
 *    the container while it exists.
 *  - cgroup v1: memory.oom_control "oom_kill" (kernel >= 4.13) counts a kill
 *    only in the victim's own cgroup, not in its parents: the user's count is
 *    the sum over the user's cgroup and its children (a child that is gone
 *    keeps its last count). A container whose process was killed because the
 *    *user's* limit was reached usually exits and Docker removes its cgroup
 *    at once, often before a scan reads it, so on v1 the kernel's log
 *    (/dev/kmsg, readable by root) is read too: each "oom-kill:" record
 *    names the victim's cgroup (task_memcg=).
 * The two sources count the same kills, so the larger of the two is taken,
 * never their sum. What a cgroup counted before it was first seen is history
 * and is not reported.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slices_oom;

struct slices_oom_kill {
        char group[64];
        char user[64];       /* the sanitized name, as in the cgroup's name */
        char dir[512];       /* the user's cgroup relative to the memory mount */
        char container[128]; /* the victim's container id (or cgroup name), "" unknown */
        uint64_t count;      /* kills since the last report */
        uint64_t total;      /* kills this cgroup has counted */
};

/* A tracker for the cgroup tree at mount ("/sys/fs/cgroup"), version 1 or 2;
 * kmsg_path ("/dev/kmsg") or NULL: the kernel log is not read. Only records
 * written after this call are read. NULL when out of memory. */
struct slices_oom *slices_oom_new(const char *mount, int version, const char *kmsg_path);
struct slices_oom *slices_oom_free(struct slices_oom *o);

/* Reads the kernel log (when enabled) and, when counters is true, every user
 * cgroup's counters; returns the users whose kill count went up in *ret
 * (caller frees) and *ret_n. 0 or -ENOMEM. */
int slices_oom_scan(struct slices_oom *o, bool counters, struct slices_oom_kill **ret,
                    size_t *ret_n);
