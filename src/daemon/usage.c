/* SPDX-License-Identifier: MIT */
/*
 * usage.c - GPU-hours for people: the control API endpoints
 *   GET /v1/usage?since=30d&until=now&by=user|group|slot
 *   GET /v1/report?month=YYYY-MM
 * and usage_json(), which the web dashboard calls for /api/v1/usage. This file
 * reads the database (usage samples summed per user and slot, allocations,
 * rejection events, event counts), the configuration (users' groups) and, for
 * denials, events.jsonl; the arithmetic is store/usage-sum.c, shared by both
 * endpoints, so a month's report and `ds01 usage` over that month agree.
 * Every user may read both (the old dashboard showed everyone's usage).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "store/eventlog-scan.h"
#include "store/usage-sum.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* How many users the report names. */
#define REPORT_TOP_USERS 10
/* Rejection events read for one range, at most (the rest are still counted in
 * the per-type totals, not per user). */
#define USAGE_REJECTIONS_MAX 1000000L
/* The range a request may ask for: 20 years. */
#define USAGE_RANGE_MAX_S (20LL * 366 * 24 * 3600)

/* Lifecycle actions the report always lists (0 when none); other types
 * under maintenance.* and lifecycle.* are added when they happened. */
static const char *const lifecycle_fixed[] = {
    "maintenance.idle_warning", "maintenance.idle_kill", "maintenance.runtime_warning",
    "maintenance.runtime_kill", "container.remove",      "resource.oom_kill",
};

#define EVENT_REJECTED        "gpu.rejected"
#define EVENT_DENIED          "auth.denied"
#define EVENT_HOST_DISCOVERED "detection.host_gpu_process_discovered"

/* What one range needs from the database; the input points into the rest. */
struct gathered {
        struct usage_input in;
        struct store_usage *sums;
        struct store_alloc *allocs;
        struct usage_span *spans;
        struct store_event *events;
        size_t n_events;
        struct usage_mark *marks;
        json_t *codes; /* rejections per code (report), or NULL */
};

static void gathered_release(struct gathered *g)
{
        free(g->sums);
        free(g->allocs);
        free(g->spans);
        store_events_free(g->events, g->n_events);
        free(g->marks);
        json_decref(g->codes);
        *g = (struct gathered){0};
}

static const char *group_of(void *ud, const char *user)
{
        struct ds01d *d = ud;

        return config_user_group(d->config, user, NULL);
}

/* Read what [since, until) needs. Lock held. 0 or -errno. */
static int gather(struct ds01d *d, int64_t since, int64_t until, bool codes, struct gathered *g)
{
        struct store_alloc_filter af = {0};
        struct store_event_filter ef = {
            .type_prefix = EVENT_REJECTED,
            .since = since * 1000000,
            .until = until * 1000000,
            .limit = USAGE_REJECTIONS_MAX,
        };
        size_t n_sums = 0, n_allocs = 0;
        int r;

        *g = (struct gathered){0};
        r = store_usage_sum(d->store, since, until, &g->sums, &n_sums);
        if (r >= 0)
                r = store_alloc_list(d->store, &af, &g->allocs, &n_allocs);
        if (r >= 0)
                r = store_event_query(d->store, &ef, &g->events, &g->n_events);
        if (r < 0) {
                log_error("usage: cannot read the database: %s", store_errmsg(d->store));
                gathered_release(g);
                return r;
        }
        g->spans = calloc(MAX(n_allocs, (size_t)1), sizeof(*g->spans));
        g->marks = calloc(MAX(g->n_events, (size_t)1), sizeof(*g->marks));
        g->codes = codes ? json_object() : NULL;
        if (!g->spans || !g->marks || (codes && !g->codes)) {
                gathered_release(g);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_allocs; i++) {
                const struct store_alloc *a = &g->allocs[i];
                g->spans[i] = (struct usage_span){
                    .user = a->user,
                    .slot = a->slot,
                    .container = a->container_id,
                    .start = a->created / 1000000,
                    .end = a->state == STORE_ALLOC_RELEASED ? MAX(a->updated / 1000000, 1) : 0,
                };
        }
        g->in.n_rejections = 0;
        for (size_t i = 0; i < g->n_events; i++) {
                const struct store_event *e = &g->events[i];
                if (!streq(e->type, EVENT_REJECTED))
                        continue;
                g->marks[g->in.n_rejections++] = (struct usage_mark){
                    .user = e->user,
                    .time = e->time / 1000000,
                };
                if (g->codes) {
                        json_t *det = e->details ? json_loads(e->details, 0, NULL) : NULL;
                        const char *code = json_string_value(json_object_get(det, "code"));
                        json_t *n;
                        if (!code)
                                code = "unknown";
                        n = json_object_get(g->codes, code);
                        json_object_set_new(g->codes, code,
                                            json_integer(json_integer_value(n) + 1));
                        json_decref(det);
                }
        }
        g->in.since = since;
        g->in.until = until;
        g->in.samples = g->sums;
        g->in.n_samples = n_sums;
        g->in.spans = g->spans;
        g->in.n_spans = n_allocs;
        g->in.rejections = g->marks;
        g->in.group_of = group_of;
        g->in.group_ud = d;
        return 0;
}

/* Hours (and efficiencies) to 6 decimals: sums of floats, printed stably. */
static json_t *json_round(double v)
{
        return json_real(round(v * 1e6) / 1e6);
}

static json_t *json_time_s(int64_t s)
{
        char buf[FORMAT_TIMESTAMP_MAX];

        return json_string(format_timestamp_utc(buf, sizeof(buf), s));
}

static json_t *row_json(const struct usage_row *row, enum usage_by by, bool is_total)
{
        double eff = 0;
        bool has_eff = usage_efficiency(row->used_seconds, row->gpu_seconds, &eff);
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (!is_total) {
                json_object_set_new(o, "key", json_string(row->key));
                if (by == USAGE_BY_USER)
                        json_object_set_new(o, "group", json_string(row->group));
        }
        json_object_set_new(o, "gpu_hours_allocated", json_round(usage_hours(row->gpu_seconds)));
        json_object_set_new(o, "gpu_hours_used", json_round(usage_hours(row->used_seconds)));
        json_object_set_new(o, "efficiency", has_eff ? json_round(eff) : json_null());
        json_object_set_new(o, "containers", json_integer(row->containers));
        json_object_set_new(o, "rejections", json_integer(row->rejections));
        return o;
}

static json_t *table_json(const struct usage_table *t, size_t max_rows)
{
        json_t *rows = json_array();

        for (size_t i = 0; rows && i < t->n_rows && i < max_rows; i++)
                json_array_append_new(rows, row_json(&t->rows[i], t->by, false));
        return rows;
}

/* The table of [since, until) by `by`. Takes the lock. 0 or -errno. */
static int usage_table_read(struct ds01d *d, int64_t since, int64_t until, enum usage_by by,
                            json_t **ret_codes, struct usage_table *ret)
{
        struct gathered g;
        int r;

        pthread_mutex_lock(&d->lock);
        r = gather(d, since, until, ret_codes != NULL, &g);
        if (r >= 0)
                r = usage_sum(&g.in, by, ret);
        pthread_mutex_unlock(&d->lock);
        if (r >= 0 && ret_codes) {
                *ret_codes = g.codes;
                g.codes = NULL;
        }
        gathered_release(&g);
        return r;
}

json_t *usage_json(struct ds01d *d, int64_t since_s, int64_t until_s, const char *by, char *err,
                   size_t err_size)
{
        struct usage_table t = {0};
        enum usage_by b = USAGE_BY_USER;
        json_t *o;
        int r;

        if (by && usage_by_from_name(by, &b) < 0) {
                (void)snprintf(err, err_size, "by must be user, group or slot, not '%.64s'", by);
                return NULL;
        }
        if (until_s <= since_s) {
                (void)snprintf(err, err_size, "the range is empty: since must be before until");
                return NULL;
        }
        if (until_s - since_s > USAGE_RANGE_MAX_S) {
                (void)snprintf(err, err_size, "the range is longer than 20 years");
                return NULL;
        }
        r = usage_table_read(d, since_s, until_s, b, NULL, &t);
        if (r < 0) {
                (void)snprintf(err, err_size, "cannot read the usage samples: %s", strerror(-r));
                return NULL;
        }
        o = json_pack("{s:o, s:o, s:s, s:o, s:o}", "since", json_time_s(since_s), "until",
                      json_time_s(until_s), "by", usage_by_name(b), "rows",
                      table_json(&t, SIZE_MAX), "totals", row_json(&t.total, b, true));
        usage_table_release(&t);
        if (!o)
                (void)snprintf(err, err_size, "out of memory");
        return o;
}

/* ---- the monthly report ---- */

struct type_counts {
        json_t *lifecycle; /* type -> count */
        long long lifecycle_total;
        long long detections;
};

static bool is_lifecycle_type(const char *type)
{
        for (size_t i = 0; i < ELEMENTSOF(lifecycle_fixed); i++)
                if (streq(type, lifecycle_fixed[i]))
                        return true;
        return startswith(type, "maintenance.") || startswith(type, "lifecycle.");
}

static int count_type(void *ud, const char *type, long long n)
{
        struct type_counts *c = ud;

        if (is_lifecycle_type(type)) {
                json_object_set_new(c->lifecycle, type, json_integer(n));
                c->lifecycle_total += n;
        } else if (streq(type, EVENT_HOST_DISCOVERED)) {
                c->detections += n;
        }
        return 0;
}

/* One month's figures: {"month", "since", "until", "summary", "top_users",
 * "lifecycle_actions", "rejections_by_code"}; *ret_summary borrowed from it. */
static int month_json(struct ds01d *d, const char *month, json_t **ret)
{
        struct usage_table t = {0};
        struct type_counts c = {0};
        struct eventlog_scan denied = {0};
        json_t *codes = NULL, *summary, *o;
        int64_t since, until;
        double eff = 0;
        bool has_eff;
        int r;

        r = usage_month_range(month, &since, &until);
        if (r < 0)
                return r;
        r = usage_table_read(d, since, until, USAGE_BY_USER, &codes, &t);
        if (r < 0)
                return r;
        c.lifecycle = json_object();
        for (size_t i = 0; c.lifecycle && i < ELEMENTSOF(lifecycle_fixed); i++)
                json_object_set_new(c.lifecycle, lifecycle_fixed[i], json_integer(0));
        pthread_mutex_lock(&d->lock);
        r = c.lifecycle ? store_event_type_counts(d->store, since * 1000000, until * 1000000,
                                                  count_type, &c)
                        : -ENOMEM;
        if (r < 0 && r != -ENOMEM)
                log_error("report: cannot count events: %s", store_errmsg(d->store));
        pthread_mutex_unlock(&d->lock);
        if (r >= 0) {
                /* outside the lock: files only */
                r = eventlog_scan_count(d->opt.log_dir, "events.jsonl", EVENT_DENIED,
                                        since * 1000000, until * 1000000, &denied);
                if (r < 0) {
                        log_warning_errno(r, "report: cannot read %s for denials: %m",
                                          d->opt.log_dir);
                        r = 0; /* reported as denials_complete false */
                        denied.files = -1;
                }
        }
        if (r < 0) {
                usage_table_release(&t);
                json_decref(codes);
                json_decref(c.lifecycle);
                return r;
        }
        has_eff = usage_efficiency(t.total.used_seconds, t.total.gpu_seconds, &eff);
        summary =
            json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "users_active",
                      (json_int_t)usage_users_active(&t), "gpu_hours_allocated",
                      json_round(usage_hours(t.total.gpu_seconds)), "gpu_hours_used",
                      json_round(usage_hours(t.total.used_seconds)), "efficiency",
                      has_eff ? json_round(eff) : json_null(), "containers",
                      (json_int_t)t.total.containers, "rejections", (json_int_t)t.total.rejections,
                      "denials", (json_int_t)denied.count, "host_process_detections",
                      (json_int_t)c.detections, "lifecycle_actions", (json_int_t)c.lifecycle_total);
        o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "month", month, "since",
                      json_time_s(since), "until", json_time_s(until), "summary", summary,
                      "top_users", table_json(&t, REPORT_TOP_USERS), "lifecycle_actions",
                      c.lifecycle, "rejections_by_code", codes ? codes : json_object(),
                      "denials_complete", denied.files >= 0);
        usage_table_release(&t);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static json_t *trend_json(json_t *cur, json_t *prev)
{
        static const char *const keys[] = {
            "users_active",      "gpu_hours_allocated", "gpu_hours_used", "efficiency",
            "containers",        "rejections",          "denials",        "host_process_detections",
            "lifecycle_actions",
        };
        json_t *t = json_object();

        for (size_t i = 0; t && i < ELEMENTSOF(keys); i++) {
                json_t *c = json_object_get(cur, keys[i]), *p = json_object_get(prev, keys[i]);
                double diff = 0, pct = 0;
                bool has_pct;

                if (!json_is_number(c) || !json_is_number(p)) {
                        json_object_set_new(
                            t, keys[i],
                            json_pack("{s:O, s:O, s:n, s:n}", "current", c ? c : json_null(),
                                      "previous", p ? p : json_null(), "difference", "percent"));
                        continue;
                }
                has_pct = usage_trend(json_number_value(c), json_number_value(p), &diff, &pct);
                json_object_set_new(
                    t, keys[i],
                    json_pack("{s:O, s:O, s:o, s:o}", "current", c, "previous", p, "difference",
                              json_is_integer(c) && json_is_integer(p)
                                  ? json_integer((json_int_t)diff)
                                  : json_round(diff),
                              "percent", has_pct ? json_real(round(pct * 10) / 10) : json_null()));
        }
        return t;
}

/* The report of month (NULL: the last full month). NULL with err filled. */
static json_t *report_json(struct ds01d *d, const char *month, char *err, size_t err_size)
{
        char last[16], prev_month[16];
        json_t *cur = NULL, *prev = NULL, *o;
        int64_t since, until;
        int r;

        if (!month)
                month = usage_month_last_full(last, sizeof(last), now_us() / 1000000);
        if (usage_month_range(month, &since, &until) < 0 ||
            usage_month_prev(month, prev_month, sizeof(prev_month)) < 0) {
                (void)snprintf(err, err_size,
                               "month must be YYYY-MM (1970-02 or later), not '%.32s'", month);
                return NULL;
        }
        r = month_json(d, month, &cur);
        if (r >= 0)
                r = month_json(d, prev_month, &prev);
        if (r < 0) {
                json_decref(cur);
                (void)snprintf(err, err_size, "cannot read the figures: %s", strerror(-r));
                return NULL;
        }
        o = json_deep_copy(cur);
        if (o) {
                json_object_set_new(o, "generated", json_time_s(now_us() / 1000000));
                json_object_set_new(
                    o, "trend",
                    trend_json(json_object_get(cur, "summary"), json_object_get(prev, "summary")));
                json_object_set_new(o, "previous", prev);
                prev = NULL;
        }
        json_decref(cur);
        json_decref(prev);
        if (!o)
                (void)snprintf(err, err_size, "out of memory");
        return o;
}

/* ---- routes ---- */

static enum MHD_Result h_usage(struct ds01d *d, struct MHD_Connection *conn)
{
        const char *since_arg = api_arg(conn, "since"), *until_arg = api_arg(conn, "until");
        int64_t now = now_us() / 1000000, since = now - 30 * 24 * 3600, until = now;
        char err[256] = "";
        json_t *j;

        if (since_arg && usage_parse_time(since_arg, now, &since) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "since '%.64s' is not a time: give 30d, 12h, YYYY-MM-DD or "
                                       "an ISO 8601 time",
                                       since_arg);
        if (until_arg && usage_parse_time(until_arg, now, &until) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "until '%.64s' is not a time: give now, YYYY-MM-DD or an "
                                       "ISO 8601 time",
                                       until_arg);
        j = usage_json(d, since, until, api_arg(conn, "by") ?: "user", err, sizeof(err));
        if (!j) {
                bool ours = startswith(err, "cannot") || startswith(err, "out of");
                return api_reply_error(conn, ours ? 500 : 400, ours ? "INTERNAL" : "BAD_REQUEST",
                                       "%s", err);
        }
        return api_reply(conn, 200, j);
}

static enum MHD_Result h_report(struct ds01d *d, struct MHD_Connection *conn)
{
        char err[256] = "";
        json_t *j = report_json(d, api_arg(conn, "month"), err, sizeof(err));

        if (!j)
                return api_reply_error(conn, startswith(err, "month") ? 400 : 500,
                                       startswith(err, "month") ? "BAD_REQUEST" : "INTERNAL", "%s",
                                       err);
        return api_reply(conn, 200, j);
}

bool usage_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, const char *method,
                 struct request_ctx *rc, enum MHD_Result *ret)
{
        bool usage = streq(url, "/v1/usage"), report = streq(url, "/v1/report");

        (void)rc;
        if (!usage && !report)
                return false;
        if (!streq(method, "GET"))
                *ret = api_reply_error(conn, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s",
                                       method, url);
        else
                *ret = usage ? h_usage(d, conn) : h_report(d, conn);
        return true;
}
