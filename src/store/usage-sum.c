/* SPDX-License-Identifier: MIT */
/*
 * usage-sum.c - the GPU-hours arithmetic shared by GET /v1/usage and GET
 * /v1/report: samples, allocation spans and rejections summed per user, group
 * or slot over a range; months, trends and the time arguments. Pure: the
 * caller reads the database and the configuration (usage-sum.h says the
 * conventions).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/usage-sum.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

static const char *const by_names[] = {
    [USAGE_BY_USER] = "user",
    [USAGE_BY_GROUP] = "group",
    [USAGE_BY_SLOT] = "slot",
};

const char *usage_by_name(enum usage_by by)
{
        return (size_t)by < ELEMENTSOF(by_names) ? by_names[by] : "user";
}

int usage_by_from_name(const char *name, enum usage_by *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(by_names); i++)
                if (name && streq(name, by_names[i])) {
                        *ret = (enum usage_by)i;
                        return 0;
                }
        return -EINVAL;
}

bool usage_sample_in_range(int64_t t, int64_t since, int64_t until)
{
        return t > since && t <= until;
}

bool usage_span_in_range(const struct usage_span *s, int64_t since, int64_t until)
{
        return s->start < until && (s->end == 0 || s->end > since);
}

double usage_hours(double seconds)
{
        return seconds / USAGE_SECONDS_PER_HOUR;
}

bool usage_efficiency(double used_seconds, double gpu_seconds, double *ret)
{
        if (!(gpu_seconds > 0))
                return false;
        *ret = used_seconds / gpu_seconds;
        return true;
}

long long usage_users_active(const struct usage_table *t)
{
        long long n = 0;

        for (size_t i = 0; i < t->n_rows; i++)
                if (t->rows[i].gpu_seconds > 0 || t->rows[i].containers > 0)
                        n++;
        return n;
}

bool usage_trend(double cur, double prev, double *ret_diff, double *ret_percent)
{
        *ret_diff = cur - prev;
        if (prev == 0)
                return false;
        *ret_percent = 100.0 * (cur - prev) / prev;
        return true;
}

/* ---- the table ---- */

/* A growing table: rows found by key (linear; keys are users, groups or
 * slots: hundreds at most). */
struct builder {
        struct usage_row *rows;
        size_t n, cap;
};

static struct usage_row *row_get(struct builder *b, const char *key, const char *group)
{
        for (size_t i = 0; i < b->n; i++)
                if (streq(b->rows[i].key, key))
                        return &b->rows[i];
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 16;
                struct usage_row *v = reallocarray(b->rows, cap, sizeof(*v));
                if (!v)
                        return NULL;
                b->rows = v;
                b->cap = cap;
        }
        memset(&b->rows[b->n], 0, sizeof(b->rows[b->n]));
        (void)strscpy(b->rows[b->n].key, sizeof(b->rows[b->n].key), key);
        (void)strscpy(b->rows[b->n].group, sizeof(b->rows[b->n].group), group);
        return &b->rows[b->n++];
}

static const char *group_of(const struct usage_input *in, const char *user)
{
        const char *g = in->group_of ? in->group_of(in->group_ud, user) : NULL;
        return g ? g : "";
}

/* The row key of (user, slot) under by; "" when there is none (a rejection
 * has no slot). */
static const char *key_of(const struct usage_input *in, enum usage_by by, const char *user,
                          const char *slot)
{
        switch (by) {
        case USAGE_BY_GROUP:
                return group_of(in, user);
        case USAGE_BY_SLOT:
                return slot ? slot : "";
        case USAGE_BY_USER:
        default:
                return user ? user : "";
        }
}

static struct usage_row *row_for(struct builder *b, const struct usage_input *in, enum usage_by by,
                                 const char *user, const char *slot)
{
        const char *key = key_of(in, by, user, slot);

        return row_get(b, key, by == USAGE_BY_USER ? group_of(in, user) : "");
}

/* (row, container) pairs, sorted, to count distinct containers per row. */
struct pair {
        size_t row;
        const char *container;
};

static int pair_cmp(const void *a, const void *b)
{
        const struct pair *x = a, *y = b;

        if (x->row != y->row)
                return x->row < y->row ? -1 : 1;
        return strcmp(x->container, y->container);
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int row_cmp(const void *a, const void *b)
{
        const struct usage_row *x = a, *y = b;

        if (x->gpu_seconds != y->gpu_seconds)
                return x->gpu_seconds > y->gpu_seconds ? -1 : 1;
        return strcmp(x->key, y->key);
}

int usage_sum(const struct usage_input *in, enum usage_by by, struct usage_table *ret)
{
        struct builder b = {0};
        struct pair *pairs = NULL;
        const char **ids = NULL;
        size_t n_pairs = 0;
        struct usage_row total = {0};
        int r = -ENOMEM;

        if (in->until <= in->since)
                return -EINVAL;
        for (size_t i = 0; i < in->n_samples; i++) {
                const struct store_usage *s = &in->samples[i];
                struct usage_row *row;
                if (!usage_sample_in_range(s->time, in->since, in->until))
                        continue;
                row = row_for(&b, in, by, s->user, s->slot);
                if (!row)
                        goto out;
                row->gpu_seconds += s->gpu_seconds;
                row->used_seconds += s->used_seconds;
                total.gpu_seconds += s->gpu_seconds;
                total.used_seconds += s->used_seconds;
        }
        for (size_t i = 0; i < in->n_rejections; i++) {
                const struct usage_mark *m = &in->rejections[i];
                struct usage_row *row;
                if (m->time < in->since || m->time >= in->until)
                        continue;
                total.rejections++;
                if (by == USAGE_BY_SLOT && isempty(m->slot))
                        continue; /* no slot's row: in the total only */
                row = row_for(&b, in, by, m->user, m->slot);
                if (!row)
                        goto out;
                row->rejections++;
        }
        if (in->n_spans > 0) {
                pairs = calloc(in->n_spans, sizeof(*pairs));
                ids = calloc(in->n_spans, sizeof(*ids));
                if (!pairs || !ids)
                        goto out;
        }
        for (size_t i = 0; i < in->n_spans; i++) {
                const struct usage_span *s = &in->spans[i];
                struct usage_row *row;
                if (isempty(s->container) || !usage_span_in_range(s, in->since, in->until))
                        continue;
                row = row_for(&b, in, by, s->user, s->slot);
                if (!row)
                        goto out;
                ids[n_pairs] = s->container;
                pairs[n_pairs++] = (struct pair){(size_t)(row - b.rows), s->container};
        }
        if (n_pairs > 0) {
                qsort(pairs, n_pairs, sizeof(*pairs), pair_cmp);
                qsort(ids, n_pairs, sizeof(*ids), str_cmp);
        }
        for (size_t i = 0; i < n_pairs; i++) {
                if (i == 0 || pair_cmp(&pairs[i - 1], &pairs[i]) != 0)
                        b.rows[pairs[i].row].containers++;
                if (i == 0 || !streq(ids[i - 1], ids[i]))
                        total.containers++;
        }
        if (b.n > 0)
                qsort(b.rows, b.n, sizeof(*b.rows), row_cmp);
        (void)strscpy(total.key, sizeof(total.key), "total");
        *ret = (struct usage_table){
            .by = by,
            .since = in->since,
            .until = in->until,
            .rows = b.rows,
            .n_rows = b.n,
            .total = total,
        };
        b.rows = NULL;
        r = 0;
out:
        free(pairs);
        free(ids);
        free(b.rows);
        return r;
}

void usage_table_release(struct usage_table *t)
{
        if (!t)
                return;
        t->rows = mfree(t->rows);
        t->n_rows = 0;
}

/* ---- months and times ---- */

/* "YYYY-MM" -> year, month (1..12). */
static int parse_month(const char *ym, int *ret_year, int *ret_month)
{
        int y = 0, m = 0;

        if (!ym || strlen(ym) != 7 || ym[4] != '-')
                return -EINVAL;
        for (size_t i = 0; i < 7; i++) {
                if (i == 4)
                        continue;
                if (ym[i] < '0' || ym[i] > '9')
                        return -EINVAL;
                if (i < 4)
                        y = y * 10 + (ym[i] - '0');
                else
                        m = m * 10 + (ym[i] - '0');
        }
        if (y < 1970 || m < 1 || m > 12)
                return -EINVAL;
        *ret_year = y;
        *ret_month = m;
        return 0;
}

static int64_t month_start(int year, int month)
{
        struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1};

        return (int64_t)timegm(&tm);
}

int usage_month_range(const char *ym, int64_t *ret_start, int64_t *ret_end)
{
        int y, m, r;

        r = parse_month(ym, &y, &m);
        if (r < 0)
                return r;
        *ret_start = month_start(y, m);
        *ret_end = m == 12 ? month_start(y + 1, 1) : month_start(y, m + 1);
        return 0;
}

int usage_month_prev(const char *ym, char *buf, size_t n)
{
        int y, m, r;

        r = parse_month(ym, &y, &m);
        if (r < 0)
                return r;
        if (m == 1) {
                y--;
                m = 12;
        } else {
                m--;
        }
        if (y < 1970)
                return -EINVAL;
        snprintf(buf, n, "%04d-%02d", y, m);
        return 0;
}

char *usage_month_last_full(char *buf, size_t n, int64_t now)
{
        time_t t = (time_t)now;
        struct tm tm;
        char cur[32];

        gmtime_r(&t, &tm);
        snprintf(cur, sizeof(cur), "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
        if (usage_month_prev(cur, buf, n) < 0)
                snprintf(buf, n, "%s", cur);
        return buf;
}

/* "YYYY-MM-DD" alone. */
static bool is_date(const char *s)
{
        if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return false;
        for (size_t i = 0; i < 10; i++)
                if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                        return false;
        return true;
}

int usage_parse_time(const char *s, int64_t now, int64_t *ret)
{
        int64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        if (is_date(s)) {
                char iso[32];
                snprintf(iso, sizeof(iso), "%sT00:00:00Z", s);
                r = parse_timestamp(iso, &v);
                if (r < 0)
                        return r;
                *ret = v;
                return 0;
        }
        /* a duration: digits first, and not a date or a time of day */
        if (s[0] >= '0' && s[0] <= '9' && !strpbrk(s, "-:T ") && parse_duration(s, 1, &v) >= 0 &&
            v != DURATION_INFINITY) {
                if (v > now)
                        return -ERANGE;
                *ret = now - v;
                return 0;
        }
        r = parse_time_expr(s, now, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}
