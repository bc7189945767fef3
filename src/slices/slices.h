/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * slices.h - per-user aggregate limits (the `aggregate` blocks of groups and
 * user overrides) as files on this machine, for the cgroup tree the Docker
 * proxy puts containers under:
 *
 *   systemd driver:  ds01.slice > ds01-<group>.slice > ds01-<group>-<user>.slice
 *                    unit files, and the user slice's drop-in
 *                    <unit>.d/10-resource-limits.conf (CPUQuota, MemoryMax,
 *                    MemoryHigh, TasksMax) under /etc/systemd/system;
 *   cgroupfs driver: directories ds01/<group>/<user> under the cgroup mount
 *                    with cgroup v2 cpu.max, memory.max, memory.high,
 *                    pids.max, or cgroup v1 cpu.cfs_period_us,
 *                    cpu.cfs_quota_us, memory.limit_in_bytes,
 *                    memory.soft_limit_in_bytes and pids.max in the cpu,
 *                    memory and pids hierarchies.
 *
 * This part is pure: it turns resolved limits into a plan (paths relative to
 * a root, and what each file must hold), compares what a cgroup file holds
 * with what the plan wants, and parses the OOM counters and paths that
 * slices-apply.c and slices-oom.c read. Names and the drop-in's file name are
 * the old DS01's, so an installation keeps its units on upgrade.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/resolve.h"

enum slices_driver {
        SLICES_SYSTEMD,
        SLICES_CGROUPFS,
};

#define SLICES_DROPIN        "10-resource-limits.conf" /* the old DS01's name */
#define SLICES_CPU_PERIOD_US 100000                    /* systemd's default CPUQuotaPeriodSec */
#define SLICES_PATH_MAX      512
#define SLICES_UNIT_MAX      256
#define SLICES_USER_MAX      256
/* "+cpu +memory +pids": what the v2 parents must hand down */
#define SLICES_V2_CONTROLLERS "+cpu +memory +pids"

/* One user's aggregate cap in plain numbers. "None" values mean no limit. */
struct slice_caps {
        bool capped;              /* false: no aggregate (admins): no limits at all */
        double cpu_quota_percent; /* 100 = one CPU; INFINITY: none */
        uint64_t memory_max;      /* bytes; SIZE_INFINITY: none */
        uint64_t memory_high;     /* bytes; SIZE_INFINITY: none */
        uint64_t tasks_max;       /* UINT64_MAX: none */
        /* the admin's spelling, for the systemd drop-in ("" = format the number) */
        char cpu_quota_text[32], memory_max_text[32], memory_high_text[32];
};

/* The caps of a resolved user: none when the user has no aggregate block or
 * enforce (enforcement.aggregate_limits) is false; keys the block does not
 * set are "no limit". */
void slice_caps_from_user(const struct user_limits *ul, bool enforce, struct slice_caps *ret);

/* The values systemd gets for caps, as unit-file text: CPUQuota ("" resets
 * it: no quota), MemoryMax, MemoryHigh, TasksMax ("infinity" when none).
 * Each buffer holds at least 32 bytes. */
void slice_caps_systemd_text(const struct slice_caps *c, char cpu[static 32],
                             char mem_max[static 32], char mem_high[static 32],
                             char tasks[static 32]);

/* systemd's CPUQuotaPerSecUSec for a percent (150 -> 1500000), UINT64_MAX for
 * INFINITY; and the cgroup quota per period of period_us microseconds
 * (at least 1000, as systemd writes it), or -1 for none. */
uint64_t slice_cpu_per_sec_usec(double percent);
long long slice_cpu_quota_us(double percent, uint64_t period_us);

enum slice_item_kind {
        SLICE_ITEM_FILE,           /* unit or drop-in: compared byte for byte */
        SLICE_ITEM_ABSENT,         /* must not exist (the drop-in of an uncapped user) */
        SLICE_ITEM_CG_BYTES,       /* memory.max/high, v1 limit_in_bytes, soft_limit */
        SLICE_ITEM_CG_COUNT,       /* pids.max: a number or "max" */
        SLICE_ITEM_CG_QUOTA,       /* v1 cpu.cfs_quota_us: a number or -1 */
        SLICE_ITEM_CG_NUMBER,      /* v1 cpu.cfs_period_us */
        SLICE_ITEM_CG_CPU_MAX,     /* v2 cpu.max: "QUOTA PERIOD" or "max PERIOD" */
        SLICE_ITEM_CG_CONTROLLERS, /* v2 cgroup.subtree_control: each "+name" enabled */
};

enum slice_change {
        SLICE_UNCHANGED,
        SLICE_CREATE,
        SLICE_UPDATE,
        SLICE_REMOVE,
        SLICE_FAILED,
};

struct slice_item {
        enum slice_item_kind kind;
        char path[SLICES_PATH_MAX]; /* relative to the root (unit dir or cgroup mount) */
        char unit[SLICES_UNIT_MAX]; /* the slice (systemd) or cgroup ("ds01/g/u") it belongs to */
        char *content;              /* owned; NULL for SLICE_ITEM_ABSENT */
        /* A user slice's drop-in: the caps to set at runtime when it changes. */
        bool limits;
        struct slice_caps caps;
        /* Filled by slices_apply(): */
        enum slice_change change;
        char *current; /* what the file held (NULL: absent or unreadable); owned */
        int error;     /* -errno when SLICE_FAILED */
};

struct slice_plan {
        enum slices_driver driver;
        int cgroup_version; /* cgroupfs: 1 or 2 */
        uint64_t page_size; /* cgroup sizes are whole pages: rounded down */
        struct slice_item *items;
        size_t n_items;
};

/* One user to plan for. */
struct slice_user {
        const char *user;      /* the login name (descriptions, comments) */
        const char *group;     /* [A-Za-z0-9_]+ */
        const char *sanitized; /* util/username.h */
        struct slice_caps caps;
};

void slice_plan_init(struct slice_plan *p, enum slices_driver driver, int cgroup_version,
                     uint64_t page_size);
void slice_plan_release(struct slice_plan *p);

/* Adds what u needs: systemd: ds01.slice and ds01-<group>.slice (once each),
 * ds01-<group>-<user>.slice and its drop-in (an ABSENT item when not capped);
 * cgroupfs: the limit files of ds01/<group>/<user> (the "none" values when not
 * capped, so that a removed aggregate comes off), in the order they must be
 * written. 0, -EINVAL (a group or name that cannot be part of a unit or
 * directory name), -ENOMEM. */
int slice_plan_add_user(struct slice_plan *p, const struct slice_user *u);

/* Does a cgroup file holding `have` already say what `want` (the plan's
 * content) says? Unlimited reads back as "max", -1 or a huge number; sizes
 * are compared as numbers. SLICE_ITEM_FILE compares bytes. */
bool slice_cg_same(enum slice_item_kind kind, const char *want, const char *have);

/* "ds01-<group>-<sanitized>.slice" -> group, sanitized. -EINVAL otherwise
 * (also for ds01.slice and group slices). */
int slice_parse_unit_name(const char *name, char *group, size_t group_n, char *sanitized,
                          size_t sanitized_n);

/* A memory cgroup path as the kernel prints it ("/ds01/g/u/<id>",
 * "/ds01.slice/ds01-g.slice/ds01-g-u.slice/docker-<id>.scope") -> the group,
 * the sanitized user, the user's directory relative to the memory mount
 * ("ds01/g/u"), and the container id of the first component below it ("" when
 * the path is the user's cgroup itself). -EINVAL when not a ds01 user cgroup. */
struct slice_cgroup_ref {
        char group[64];
        char user[64];
        char dir[SLICES_PATH_MAX];
        char container[128];
};
int slice_parse_cgroup_path(const char *path, struct slice_cgroup_ref *ret);

/* The kill count of a memory.events (v2) or memory.oom_control (v1) text: the
 * value of its "oom_kill N" line. -ENOENT when there is none (kernels before
 * 4.13), -EINVAL when malformed. */
int slice_parse_oom_kill(const char *text, uint64_t *ret);

/* A kernel log record (as /dev/kmsg gives it, "pri,seq,ts,flags;message", or
 * the bare message): when it is the line the OOM killer writes for a kill
 * inside a memory cgroup ("oom-kill:...,task_memcg=/x/y,task=...,pid=N,..."),
 * its task_memcg into ret (size n) and 0; else -ENOENT. */
int slice_parse_kmsg_oom(const char *record, char *ret, size_t n);
