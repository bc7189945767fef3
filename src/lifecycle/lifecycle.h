/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * lifecycle.h - what should happen to one container now: the pure decision
 * of ds01d's lifecycle loop (docs/LIFECYCLE.md). No I/O, no clock: the caller
 * passes the container, its resolved policy, what was measured over the last
 * interval, the state kept from the previous check (in the database), and
 * `now`; lc_decide() returns the new state, the actions to take and the time
 * left before each one (for `ds01 lifecycle status`).
 *
 * Times are epoch seconds (int64_t); durations are seconds, LC_NEVER
 * (INT64_MAX, the same value as DURATION_INFINITY) meaning "no limit".
 *
 * Rules, in the order lc_decide() applies them:
 *
 *  Scope. c->in_scope false (CPU-only container without
 *  policies.enforce_cpu_only), or p->exempt_all (ds01.protected,
 *  ds01.monitoring, infrastructure): no action, no state change except
 *  last_check; out->reason says why.
 *
 *  Created, never started (state LC_CREATED, started == 0): removed at
 *  created + p->created_timeout (LC_REMOVE_CREATED). Nothing else.
 *
 *  Stopped (LC_STOPPED): removed at finished + p->container_hold_after_stop
 *  (LC_REMOVE_STOPPED; never when LC_NEVER). finished == 0: never.
 *
 *  Running (LC_RUNNING). A new start (c->started != prev->started) resets
 *  the whole state (streak, idle_since, warnings) first.
 *
 *   Idle signal of this check (only after the grace period, see below):
 *     active when any of:
 *       - s->gpu_known and s->gpu_util >= p->gpu_idle_threshold
 *         (exactly at the threshold is active);
 *       - !s->gpu_known and s->gpu_procs (a MIG slot without a utilization
 *         reading on which a process ran during the interval);
 *       - s->cpu_known and s->cpu_percent > p->cpu_idle_threshold;
 *       - s->net_known and s->net_bytes > p->network_idle_threshold.
 *     else idle. out->why is a short text naming the deciding measurements,
 *     e.g. "gpu 2% < 5%, cpu 0.1% <= 2%, network 0 B <= 1048576 B" or
 *     "gpu 37% >= 5%".
 *   Grace: while now < started + p->grace_period the container counts as
 *     active (out->why "grace period until <hh:mm:ss>"), and idle time is
 *     never counted from before started + grace_period.
 *   Active: streak = 0, idle_since = now, idle warning bits cleared.
 *   Idle: streak += 1; idle_since kept (0 -> max(started + grace_period,
 *     prev->last_check or started)); idle_for = now - idle_since.
 *
 *   Idle timeout T = p->idle_timeout * p->idle_factor (LC_NEVER stays
 *   LC_NEVER). With T == LC_NEVER nothing below happens for idle.
 *   Nothing happens for idle before streak >= p->idle_detection_window.
 *   Then, with idle_for:
 *     >= 0.80 T: LC_WARN_IDLE percent 80, once per idle stretch (bit), and
 *                not again within p->notify_cooldown of the last 80 % one;
 *     >= 0.95 T: LC_WARN_IDLE percent 95 (same rules, its own bit/time);
 *     >= T:      LC_STOP_IDLE (stop with p->sigterm_grace, then remove).
 *   Only the highest applicable of these is returned in one check (a
 *   container that jumps straight past 95 % gets the 95 % warning, the
 *   80 % bit is set too); the stop is not returned in the same check as a
 *   warning that was never sent before: a stop always follows at least one
 *   warning sent in an earlier check (so a user is always told first) —
 *   the stop then comes at the next check.
 *   Keep-alive: when a warning or the stop would be returned and
 *   !s->keepalive_checked, out->need_keepalive is set and no idle action is
 *   returned (the caller probes and calls again). When s->keepalive_mtime
 *   > 0 and now - keepalive_mtime < p->keepalive_max: no idle warning or
 *   stop; out->keepalive_until = keepalive_mtime + keepalive_max.
 *   Exempt (p->exempt_idle, lifecycle-exemptions.yaml): instead of the
 *   stop, LC_NOTICE_IDLE_EXEMPT once per idle stretch (bit); no warnings.
 *
 *   Max runtime R = p->max_runtime from `started` (no factor, no streak).
 *     runtime = now - started;
 *     >= 0.75 R: LC_WARN_RUNTIME 75; >= 0.90 R: LC_WARN_RUNTIME 90 (once
 *     per start, cooldown as above); >= R: LC_STOP_RUNTIME (stop, not
 *     remove), again only after a runtime warning was sent in an earlier
 *     check. Exempt (p->exempt_runtime): LC_NOTICE_RUNTIME_EXEMPT once per
 *     start instead of the stop, no warnings.
 *   A stop for idle wins over one for runtime in the same check.
 *
 *  LC_OTHER (paused, restarting, removing, dead): nothing.
 *
 * out->idle_stop_at, runtime_stop_at, remove_at: when that action will
 * happen if nothing changes (0 = not applicable / never); for idle this is
 * max(idle_since + T, the time the streak reaches the window).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LC_NEVER INT64_MAX

enum lc_state_kind {
        LC_RUNNING,
        LC_CREATED, /* created, never started */
        LC_STOPPED, /* exited */
        LC_OTHER,   /* paused, restarting, removing, dead, unknown */
};

struct lc_container {
        enum lc_state_kind state;
        int64_t created, started, finished; /* epoch s; 0 = never / unknown */
        bool in_scope; /* holds (or asked for) GPUs, or policies.enforce_cpu_only */
};

/* Everything resolved for this container (user, group, type, globals). */
struct lc_policy {
        int64_t idle_timeout;              /* s or LC_NEVER (type/user: exempt) */
        double idle_factor;                /* 1.0, or high_demand_idle_reduction */
        int64_t max_runtime;               /* s or LC_NEVER */
        int64_t sigterm_grace;             /* s, for the caller */
        int64_t container_hold_after_stop; /* s or LC_NEVER */
        int64_t created_timeout;           /* s or LC_NEVER */
        int64_t grace_period;              /* s */
        int64_t keepalive_max;             /* s or LC_NEVER */
        int64_t notify_cooldown;           /* s */
        double gpu_idle_threshold;         /* percent */
        double cpu_idle_threshold;         /* percent */
        long long network_idle_threshold;  /* bytes per interval */
        long long idle_detection_window;   /* checks, >= 1 */
        bool exempt_idle;                  /* lifecycle-exemptions: idle_timeout */
        bool exempt_runtime;               /* lifecycle-exemptions: max_runtime */
        bool exempt_all;                   /* protected / monitoring / infrastructure */
        const char *exempt_reason;         /* for exempt_all, e.g. "ds01.protected" */
};

/* Measured over the interval since the last check. */
struct lc_signals {
        bool gpu_known;  /* a utilization reading exists for its slot(s) */
        double gpu_util; /* percent: the highest of its slots */
        bool gpu_procs;  /* a process ran on one of its slots during the interval */
        bool cpu_known;
        double cpu_percent; /* of one CPU, over the interval */
        bool net_known;
        uint64_t net_bytes; /* received + sent during the interval */
        bool keepalive_checked;
        int64_t keepalive_mtime; /* /workspace/.keep-alive mtime, 0 = none */
};

/* Warning bits of struct lc_state.warned. */
enum {
        LC_W_IDLE_80 = 1u << 0,
        LC_W_IDLE_95 = 1u << 1,
        LC_W_RUNTIME_75 = 1u << 2,
        LC_W_RUNTIME_90 = 1u << 3,
        LC_W_IDLE_EXEMPT = 1u << 4,
        LC_W_RUNTIME_EXEMPT = 1u << 5,
};

enum lc_warn_slot {
        LC_SLOT_IDLE_80,
        LC_SLOT_IDLE_95,
        LC_SLOT_RUNTIME_75,
        LC_SLOT_RUNTIME_90,
        LC_SLOT__MAX,
};

/* Kept per container in the database between checks. Zero = fresh. */
struct lc_state {
        int64_t started;                 /* the start this state belongs to */
        int64_t last_check;              /* epoch s of the previous check, 0 = none */
        int64_t idle_since;              /* start of the current idle stretch, 0 = active */
        long long streak;                /* idle checks in a row */
        unsigned warned;                 /* LC_W_* sent in this stretch / start */
        int64_t last_sent[LC_SLOT__MAX]; /* when each warning was last sent (cooldown) */
};

enum lc_action_kind {
        LC_WARN_IDLE,
        LC_STOP_IDLE, /* stop with the grace, then remove */
        LC_NOTICE_IDLE_EXEMPT,
        LC_WARN_RUNTIME,
        LC_STOP_RUNTIME, /* stop, keep the container */
        LC_NOTICE_RUNTIME_EXEMPT,
        LC_REMOVE_STOPPED,
        LC_REMOVE_CREATED,
};

struct lc_action {
        enum lc_action_kind kind;
        int percent; /* warnings: 80, 95, 75, 90; else 0 */
        int64_t at;  /* warnings: when the stop is due (epoch s); else now */
};

#define LC_ACTIONS_MAX 4
#define LC_WHY_MAX     192

struct lc_result {
        struct lc_state next;
        bool checked;        /* running and in scope: an idle check was made */
        bool idle;           /* this check found it idle (after grace) */
        bool in_grace;       /* within the grace period */
        bool need_keepalive; /* probe .keep-alive and decide again */
        char why[LC_WHY_MAX];
        int64_t idle_for;        /* s, 0 when active */
        int64_t idle_timeout;    /* effective T, or LC_NEVER */
        int64_t idle_stop_at;    /* epoch s, 0 = none */
        int64_t keepalive_until; /* epoch s, 0 = none */
        int64_t runtime;         /* s since started, running only */
        int64_t runtime_stop_at; /* epoch s, 0 = none */
        int64_t remove_at;       /* epoch s, 0 = none (stopped / created) */
        struct lc_action actions[LC_ACTIONS_MAX];
        size_t n_actions;
};

void lc_decide(const struct lc_container *c, const struct lc_policy *p, const struct lc_signals *s,
               const struct lc_state *prev, int64_t now, struct lc_result *out);

/* "warn_idle", "stop_idle", "notice_idle_exempt", "warn_runtime",
 * "stop_runtime", "notice_runtime_exempt", "remove_stopped",
 * "remove_created"; NULL when out of range. */
const char *lc_action_name(enum lc_action_kind k);

/* The user-facing text of an action (warning, notice), for terminals and
 * /workspace/.ds01-alerts: what will happen, when, and what to do. name is
 * the container's name; buf gets at most size bytes, NUL-terminated; lines
 * end in '\n'. Example for LC_WARN_IDLE 80:
 *   "ds01: your container 'train' has had an idle GPU for 24m. It will be
 *    stopped and removed at 14:05 UTC (in 6m) unless it gets busy.
 *    To keep it: touch /workspace/.keep-alive (inside the container).
 *    Done with it? ds01 container retire train"
 * Returns the length written (without the NUL). */
size_t lc_action_message(const struct lc_action *a, const char *name, const struct lc_result *r,
                         int64_t now, char *buf, size_t size);

/* The idle timeout after the high-demand factor: p->idle_timeout *
 * p->idle_factor, rounded; LC_NEVER stays LC_NEVER. */
int64_t lc_effective_idle_timeout(const struct lc_policy *p);

/* CPU percent (of one CPU) from two cumulative usage readings in ns over
 * wall seconds; -1 when not computable (no previous, counter went back,
 * dt <= 0). */
double lc_cpu_percent(uint64_t prev_ns, uint64_t cur_ns, double dt_s);
/* Bytes transferred between two cumulative readings; a counter that went
 * back (interface recreated) counts from zero: returns cur. */
uint64_t lc_counter_delta(uint64_t prev, uint64_t cur);
