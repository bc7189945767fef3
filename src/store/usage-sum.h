/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * usage-sum.h - GPU-hours arithmetic for `ds01 usage` (GET /v1/usage) and
 * `ds01 report monthly` (GET /v1/report): usage samples, the allocations that
 * held slots and the rejection events, summed into one row per user, group or
 * slot over a time range. Pure: no SQL, no I/O; both endpoints call these
 * functions, so their figures agree by construction.
 *
 * Conventions (docs/API.md "GET /v1/usage"):
 *   - A range is the time interval [since, until), epoch seconds, UTC.
 *   - A usage sample stamped t covers the seconds (t - dt, t] before it
 *     (ds01d writes one per allocated slot at each GPU sample, every 5 s, with
 *     the GPU-equivalent seconds since the previous one). It is counted, whole,
 *     in a range when since < t <= until, i.e. when the seconds it covers lie
 *     in the range; samples are not split at the edges (at most one sampling
 *     interval, 5 s, lands on the neighbouring side). A sample stamped
 *     exactly at midnight on the 1st belongs to the month before.
 *   - An event counts when since <= time < until.
 *   - containers: the distinct containers (Docker ids) that held a GPU slot at
 *     any moment of the range, i.e. an allocation that got a container id and
 *     was in force during [since, until): created < until and (not released,
 *     or released after since). A container with two slots counts once per
 *     user and group, once in each slot's row, and once in the total.
 *   - rejections: refused GPU requests (gpu.rejected events). They name no
 *     slot: by slot they are in the total only.
 *   - efficiency: used / allocated, null (here: has_efficiency false) when
 *     nothing was allocated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define USAGE_SECONDS_PER_HOUR 3600.0

enum usage_by {
        USAGE_BY_USER,
        USAGE_BY_GROUP,
        USAGE_BY_SLOT,
};

/* "user", "group", "slot". */
const char *usage_by_name(enum usage_by by);
/* 0, or -EINVAL for anything else. */
int usage_by_from_name(const char *name, enum usage_by *ret);

/* A stretch of time one container held one slot (an allocation row). */
struct usage_span {
        const char *user;      /* borrowed */
        const char *slot;      /* borrowed */
        const char *container; /* Docker's id; "" or NULL: never created (not counted) */
        int64_t start;         /* epoch s: allocated */
        int64_t end;           /* epoch s: released; 0 = still in force */
};

/* One counted event (a rejection). */
struct usage_mark {
        const char *user; /* borrowed */
        const char *slot; /* borrowed; "" or NULL: none (rejections name no slot) */
        int64_t time;     /* epoch s */
};

/* The group of a user (borrowed; NULL = "" ). */
typedef const char *(*usage_group_fn)(void *ud, const char *user);

struct usage_input {
        int64_t since, until; /* [since, until), epoch s */
        const struct store_usage *samples;
        size_t n_samples;
        const struct usage_span *spans;
        size_t n_spans;
        const struct usage_mark *rejections;
        size_t n_rejections;
        usage_group_fn group_of; /* NULL: every group is "" */
        void *group_ud;
};

struct usage_row {
        char key[STORE_NAME_MAX];   /* user, group or slot */
        char group[STORE_NAME_MAX]; /* by user: the user's group; else "" */
        double gpu_seconds;         /* allocated, GPU-equivalent seconds */
        double used_seconds;        /* utilization-weighted */
        long long containers;
        long long rejections;
};

struct usage_table {
        enum usage_by by;
        int64_t since, until;
        struct usage_row *rows; /* sorted: allocated descending, then key */
        size_t n_rows;
        struct usage_row total; /* key "total"; containers distinct over all */
};

/* Is a sample stamped t inside [since, until)? (since < t <= until) */
bool usage_sample_in_range(int64_t t, int64_t since, int64_t until);
/* Was a span in force at some moment of [since, until)? */
bool usage_span_in_range(const struct usage_span *s, int64_t since, int64_t until);

/* Sum in into *ret (release with usage_table_release). A row exists for every
 * key with a sample, a container or a rejection in the range. 0, -EINVAL
 * (until <= since), -ENOMEM (*ret untouched). */
int usage_sum(const struct usage_input *in, enum usage_by by, struct usage_table *ret);
void usage_table_release(struct usage_table *t);

/* Hours of seconds. */
double usage_hours(double seconds);
/* used / allocated into *ret; false when allocated is 0 (efficiency null). */
bool usage_efficiency(double used_seconds, double gpu_seconds, double *ret);
/* Rows of a by-user table that allocated anything or had a container. */
long long usage_users_active(const struct usage_table *t);

/* "YYYY-MM" -> [start, end) of that UTC month in epoch s. 0 or -EINVAL. */
int usage_month_range(const char *ym, int64_t *ret_start, int64_t *ret_end);
/* The month before ym ("2026-01" -> "2025-12"); buf >= 8. 0 or -EINVAL. */
int usage_month_prev(const char *ym, char *buf, size_t n);
/* The last full month before now ("YYYY-MM", UTC); buf >= 8. */
char *usage_month_last_full(char *buf, size_t n, int64_t now);

/* A time argument of /v1/usage and `ds01 usage` (seconds, UTC):
 *   a duration "30d", "12h", "90m", "2w", "3600" (seconds): that long before now
 *   "YYYY-MM-DD": 00:00 UTC of that day (usage and reports keep UTC days)
 *   anything parse_time_expr() takes ("now", ISO 8601, "@N", "2 days ago").
 * 0, or -EINVAL / -ERANGE (*ret untouched). */
int usage_parse_time(const char *s, int64_t now, int64_t *ret);

/* The change from prev to cur: *ret_diff = cur - prev; *ret_percent =
 * 100 * diff / prev, false when prev is 0 (percent null). */
bool usage_trend(double cur, double prev, double *ret_diff, double *ret_percent);
