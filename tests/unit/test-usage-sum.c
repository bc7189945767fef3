/* test-usage-sum.c - unit tests for store/usage-sum (the GPU-hours arithmetic
 * of ds01 usage and ds01 report) and store/eventlog-scan (auth.denied counted
 * in events.jsonl and its rotated, compressed copies): samples cut at the
 * range's edges, efficiency without allocation, rows by user, group and
 * slot, distinct containers, the order of rows, months (December to
 * January), trends against an empty month, the time arguments. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "store/eventlog-scan.h"
#include "store/usage-sum.h"
#include "util/macro.h"

#define DEC_2025 INT64_C(1764547200)
#define JAN_2026 INT64_C(1767225600)
#define FEB_2026 INT64_C(1769904000)
#define MAR_2026 INT64_C(1772323200)

static struct store_usage sample(const char *user, const char *slot, int64_t t, double gpu,
                                 double used)
{
        struct store_usage u = {.time = t, .gpu_seconds = gpu, .used_seconds = used};

        snprintf(u.user, sizeof(u.user), "%s", user);
        snprintf(u.slot, sizeof(u.slot), "%s", slot);
        return u;
}

/* alice, bob: students; carol: staff; others: "". */
static const char *group_of(void *ud, const char *user)
{
        (void)ud;
        if (strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0)
                return "students";
        if (strcmp(user, "carol") == 0)
                return "staff";
        return NULL;
}

static const struct usage_row *find(const struct usage_table *t, const char *key)
{
        for (size_t i = 0; i < t->n_rows; i++)
                if (strcmp(t->rows[i].key, key) == 0)
                        return &t->rows[i];
        return NULL;
}

/* Samples count when since < t <= until: the one stamped on the range's
 * start covers the seconds before it. */
static void test_edges(void **state)
{
        struct store_usage s[] = {
            sample("alice", "0", JAN_2026 - 5, 1, 1),  /* December */
            sample("alice", "0", JAN_2026, 2, 1),      /* covers Dec 31 23:59:5x */
            sample("alice", "0", JAN_2026 + 5, 4, 2),  /* January */
            sample("alice", "0", FEB_2026, 8, 4),      /* January's last seconds */
            sample("alice", "0", FEB_2026 + 5, 16, 8), /* February */
        };
        struct usage_input in = {
            .since = JAN_2026, .until = FEB_2026, .samples = s, .n_samples = ELEMENTSOF(s)};
        struct usage_table t;

        (void)state;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_int_equal(t.n_rows, 1);
        assert_float_equal(t.rows[0].gpu_seconds, 12, 1e-9);
        assert_float_equal(t.rows[0].used_seconds, 6, 1e-9);
        assert_float_equal(t.total.gpu_seconds, 12, 1e-9);
        assert_string_equal(t.total.key, "total");
        usage_table_release(&t);

        /* December: the sample on 1 January 00:00:00 is December's */
        in.since = DEC_2025;
        in.until = JAN_2026;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_float_equal(t.total.gpu_seconds, 3, 1e-9);
        usage_table_release(&t);

        /* the months partition the samples: Dec + Jan + Feb = all */
        in.until = MAR_2026;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_float_equal(t.total.gpu_seconds, 31, 1e-9);
        usage_table_release(&t);

        assert_true(usage_sample_in_range(10, 9, 10));
        assert_false(usage_sample_in_range(9, 9, 10));
        assert_false(usage_sample_in_range(11, 9, 10));

        /* an empty or reversed range */
        in.since = in.until = JAN_2026;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), -EINVAL);
        in.since = FEB_2026;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), -EINVAL);
}

static void test_efficiency(void **state)
{
        struct store_usage s[] = {
            sample("alice", "0.1", JAN_2026 + 10, 3600, 1800),
            sample("alice", "0.2", JAN_2026 + 10, 3600, 0),
        };
        struct usage_mark rej[] = {
            {"dave", NULL, JAN_2026 + 1},
            {"dave", NULL, JAN_2026},      /* on the start: counted */
            {"dave", NULL, FEB_2026},      /* on the end: not */
            {"alice", NULL, JAN_2026 - 1}, /* before: not */
        };
        struct usage_input in = {.since = JAN_2026,
                                 .until = FEB_2026,
                                 .samples = s,
                                 .n_samples = ELEMENTSOF(s),
                                 .rejections = rej,
                                 .n_rejections = ELEMENTSOF(rej),
                                 .group_of = group_of};
        struct usage_table t;
        const struct usage_row *a, *d;
        double e = -1;

        (void)state;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_int_equal(t.n_rows, 2);
        a = find(&t, "alice");
        d = find(&t, "dave");
        assert_non_null(a);
        assert_non_null(d);
        assert_string_equal(a->group, "students");
        assert_string_equal(d->group, "");
        assert_float_equal(usage_hours(a->gpu_seconds), 2, 1e-9);
        assert_true(usage_efficiency(a->used_seconds, a->gpu_seconds, &e));
        assert_float_equal(e, 0.25, 1e-9);
        assert_int_equal(a->rejections, 0);
        assert_int_equal(d->rejections, 2);
        e = -1;
        assert_false(usage_efficiency(d->used_seconds, d->gpu_seconds, &e));
        assert_float_equal(e, -1, 0); /* untouched: null */
        assert_int_equal(t.total.rejections, 2);
        /* dave only had rejections: not active */
        assert_int_equal(usage_users_active(&t), 1);
        usage_table_release(&t);

        /* by slot: rejections name no slot, so they are in the total only */
        assert_int_equal(usage_sum(&in, USAGE_BY_SLOT, &t), 0);
        assert_int_equal(t.n_rows, 2);
        assert_int_equal(t.total.rejections, 2);
        assert_int_equal(t.rows[0].rejections + t.rows[1].rejections, 0);
        usage_table_release(&t);

        /* by group: dave's group is "" */
        assert_int_equal(usage_sum(&in, USAGE_BY_GROUP, &t), 0);
        assert_int_equal(find(&t, "")->rejections, 2);
        assert_int_equal(find(&t, "students")->rejections, 0);
        usage_table_release(&t);
}

static void test_grouping_and_containers(void **state)
{
        struct store_usage s[] = {
            sample("alice", "0.1", JAN_2026 + 100, 7200, 3600),
            sample("bob", "0.2", JAN_2026 + 100, 3600, 3600),
            sample("carol", "1", JAN_2026 + 100, 36000, 18000),
            sample("alice", "0.2", JAN_2026 + 200, 3600, 0),
        };
        struct usage_span sp[] = {
            /* alice's c1 holds two slots: one container */
            {"alice", "0.1", "c1", JAN_2026 + 10, 0},
            {"alice", "0.2", "c1", JAN_2026 + 10, JAN_2026 + 300},
            /* alice's c2 was released before the range */
            {"alice", "0.1", "c2", DEC_2025, JAN_2026},
            /* bob's c3 began before, ended inside */
            {"bob", "0.2", "c3", DEC_2025, JAN_2026 + 1},
            /* bob's pending allocation Docker never created */
            {"bob", "0.3", "", JAN_2026 + 5, JAN_2026 + 6},
            /* carol: c4, created on the range's end: not in it */
            {"carol", "1", "c4", FEB_2026, 0},
            {"carol", "1", "c5", JAN_2026 + 50, 0},
            /* erin: a container, no samples (the GPU sat unused for seconds) */
            {"erin", "2", "c6", FEB_2026 - 1, 0},
        };
        struct usage_input in = {.since = JAN_2026,
                                 .until = FEB_2026,
                                 .samples = s,
                                 .n_samples = ELEMENTSOF(s),
                                 .spans = sp,
                                 .n_spans = ELEMENTSOF(sp),
                                 .group_of = group_of};
        struct usage_table t;
        const struct usage_row *r;

        (void)state;
        /* by user: sorted by allocated, descending */
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_int_equal(t.n_rows, 4);
        assert_string_equal(t.rows[0].key, "carol");
        assert_string_equal(t.rows[1].key, "alice");
        assert_string_equal(t.rows[2].key, "bob");
        assert_string_equal(t.rows[3].key, "erin");
        assert_int_equal(find(&t, "alice")->containers, 1);
        assert_int_equal(find(&t, "bob")->containers, 1);
        assert_int_equal(find(&t, "carol")->containers, 1);
        assert_int_equal(find(&t, "erin")->containers, 1);
        assert_float_equal(find(&t, "alice")->gpu_seconds, 10800, 1e-9);
        assert_int_equal(t.total.containers, 4);
        assert_int_equal(usage_users_active(&t), 4);
        usage_table_release(&t);

        /* by group */
        assert_int_equal(usage_sum(&in, USAGE_BY_GROUP, &t), 0);
        assert_int_equal(t.n_rows, 3);
        assert_string_equal(t.rows[0].key, "staff");
        r = find(&t, "students");
        assert_non_null(r);
        assert_float_equal(r->gpu_seconds, 14400, 1e-9);
        assert_float_equal(r->used_seconds, 7200, 1e-9);
        assert_int_equal(r->containers, 2);
        assert_string_equal(r->group, "");
        assert_non_null(find(&t, "")); /* erin has no group */
        assert_float_equal(t.total.gpu_seconds, 50400, 1e-9);
        usage_table_release(&t);

        /* by slot: c1 counts in both its slots' rows, once in the total */
        assert_int_equal(usage_sum(&in, USAGE_BY_SLOT, &t), 0);
        r = find(&t, "0.1");
        assert_non_null(r);
        assert_int_equal(r->containers, 1);
        r = find(&t, "0.2");
        assert_non_null(r);
        assert_int_equal(r->containers, 2); /* c1 and c3 */
        assert_float_equal(r->gpu_seconds, 7200, 1e-9);
        assert_null(find(&t, "0.3"));
        assert_int_equal(t.total.containers, 4);
        assert_string_equal(t.rows[0].key, "1");
        usage_table_release(&t);
}

static void test_ties(void **state)
{
        struct store_usage s[] = {
            sample("zed", "0", JAN_2026 + 1, 10, 0),
            sample("amy", "1", JAN_2026 + 1, 10, 0),
            sample("max", "2", JAN_2026 + 1, 20, 0),
        };
        struct usage_input in = {
            .since = JAN_2026, .until = FEB_2026, .samples = s, .n_samples = ELEMENTSOF(s)};
        struct usage_table t;

        (void)state;
        assert_int_equal(usage_sum(&in, USAGE_BY_USER, &t), 0);
        assert_string_equal(t.rows[0].key, "max");
        assert_string_equal(t.rows[1].key, "amy");
        assert_string_equal(t.rows[2].key, "zed");
        usage_table_release(&t);

        /* nothing at all: no rows, zero totals */
        in.n_samples = 0;
        assert_int_equal(usage_sum(&in, USAGE_BY_SLOT, &t), 0);
        assert_int_equal(t.n_rows, 0);
        assert_float_equal(t.total.gpu_seconds, 0, 0);
        assert_int_equal(usage_users_active(&t), 0);
        usage_table_release(&t);
        usage_table_release(NULL);
}

static void test_by_names(void **state)
{
        enum usage_by by = USAGE_BY_SLOT;

        (void)state;
        assert_int_equal(usage_by_from_name("group", &by), 0);
        assert_int_equal(by, USAGE_BY_GROUP);
        assert_int_equal(usage_by_from_name("users", &by), -EINVAL);
        assert_int_equal(usage_by_from_name(NULL, &by), -EINVAL);
        assert_int_equal(by, USAGE_BY_GROUP);
        assert_string_equal(usage_by_name(USAGE_BY_SLOT), "slot");
}

static void test_months(void **state)
{
        int64_t s = 0, e = 0;
        char buf[16];

        (void)state;
        assert_int_equal(usage_month_range("2026-01", &s, &e), 0);
        assert_int_equal(s, JAN_2026);
        assert_int_equal(e, FEB_2026);
        assert_int_equal(usage_month_range("2025-12", &s, &e), 0);
        assert_int_equal(s, DEC_2025);
        assert_int_equal(e, JAN_2026); /* December -> January */
        assert_int_equal(usage_month_range("2026-02", &s, &e), 0);
        assert_int_equal(e - s, 28 * 86400);
        assert_int_equal(usage_month_range("2024-02", &s, &e), 0);
        assert_int_equal(e - s, 29 * 86400);

        s = e = 7;
        assert_int_equal(usage_month_range("2026-13", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("2026-00", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("2026-1", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("2026-01-01", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("26-01", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("2026/01", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range("", &s, &e), -EINVAL);
        assert_int_equal(usage_month_range(NULL, &s, &e), -EINVAL);
        assert_int_equal(s, 7);

        assert_int_equal(usage_month_prev("2026-01", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "2025-12");
        assert_int_equal(usage_month_prev("2026-03", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "2026-02");
        assert_int_equal(usage_month_prev("1970-01", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(usage_month_prev("x", buf, sizeof(buf)), -EINVAL);

        assert_string_equal(usage_month_last_full(buf, sizeof(buf), JAN_2026 + 86400 * 14),
                            "2025-12");
        assert_string_equal(usage_month_last_full(buf, sizeof(buf), JAN_2026), "2025-12");
        assert_string_equal(usage_month_last_full(buf, sizeof(buf), FEB_2026 - 1), "2025-12");
        assert_string_equal(usage_month_last_full(buf, sizeof(buf), MAR_2026 + 1), "2026-02");
}

static void test_trend(void **state)
{
        double d = 0, p = -1;

        (void)state;
        assert_true(usage_trend(15, 10, &d, &p));
        assert_float_equal(d, 5, 1e-9);
        assert_float_equal(p, 50, 1e-9);
        assert_true(usage_trend(5, 10, &d, &p));
        assert_float_equal(p, -50, 1e-9);
        p = -1;
        assert_false(usage_trend(3, 0, &d, &p)); /* from nothing: no percent */
        assert_float_equal(d, 3, 1e-9);
        assert_float_equal(p, -1, 0);
        assert_false(usage_trend(0, 0, &d, &p));
        assert_float_equal(d, 0, 0);
}

static void test_parse_time(void **state)
{
        const int64_t now = JAN_2026 + 86400 * 10 + 3600;
        int64_t v = -7;

        (void)state;
        assert_int_equal(usage_parse_time("30d", now, &v), 0);
        assert_int_equal(v, now - 30 * 86400);
        assert_int_equal(usage_parse_time("12h", now, &v), 0);
        assert_int_equal(v, now - 12 * 3600);
        assert_int_equal(usage_parse_time("2w", now, &v), 0);
        assert_int_equal(v, now - 14 * 86400);
        assert_int_equal(usage_parse_time("2026-01-01", now, &v), 0);
        assert_int_equal(v, JAN_2026); /* UTC, whatever TZ says */
        assert_int_equal(usage_parse_time("2026-02-01T00:00:00Z", now, &v), 0);
        assert_int_equal(v, FEB_2026);
        assert_int_equal(usage_parse_time("now", now, &v), 0);
        assert_int_equal(v, now);
        assert_int_equal(usage_parse_time("2 days ago", now, &v), 0);
        assert_int_equal(v, now - 2 * 86400);
        assert_int_equal(usage_parse_time("@1767225600", now, &v), 0);
        assert_int_equal(v, JAN_2026);

        v = -7;
        assert_true(usage_parse_time("", now, &v) < 0);
        assert_true(usage_parse_time(NULL, now, &v) < 0);
        assert_true(usage_parse_time("unlimited", now, &v) < 0);
        assert_true(usage_parse_time("30x", now, &v) < 0);
        assert_true(usage_parse_time("2026-02-30", now, &v) < 0);
        assert_true(usage_parse_time("-5d", now, &v) < 0);
        assert_true(usage_parse_time("99999999999999d", now, &v) < 0);
        assert_int_equal(v, -7);
}

/* ---- eventlog_scan_count ---- */

static char *make_dir(void)
{
        char tmpl[] = "/tmp/test-usage-sum.XXXXXX";
        char *d = mkdtemp(tmpl);

        assert_non_null(d);
        return strdup(d);
}

static void write_plain(const char *dir, const char *name, const char *text)
{
        char p[512];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void write_gz(const char *dir, const char *name, const char *text)
{
        char p[512];
        gzFile z;

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        z = gzopen(p, "wb");
        assert_non_null(z);
        assert_int_equal(gzputs(z, text), (int)strlen(text));
        assert_int_equal(gzclose(z), Z_OK);
}

#define DENIED(ts, user)                                                                           \
        "{\"timestamp\":\"" ts "\",\"event_type\":\"auth.denied\",\"schema_version\":\"1\","       \
        "\"user\":\"" user "\",\"source\":\"ds01d\",\"details\":{\"reason\":\"x\"}}\n"

static void test_scan(void **state)
{
        char *dir = make_dir();
        struct eventlog_scan s = {-1, -1, -1};
        char *big;
        char p[512];
        struct timeval old[2] = {{DEC_2025 - 86400, 0}, {DEC_2025 - 86400, 0}};

        (void)state;
        write_plain(dir, "events.jsonl",
                    DENIED("2026-01-31T23:59:59.999999Z", "alice") /* in */
                    DENIED("2026-02-01T00:00:00Z", "alice")        /* on the end: out */
                    "{\"timestamp\":\"2026-01-10T00:00:00Z\",\"event_type\":\"gpu.allocated\","
                    "\"details\":{\"note\":\"auth.denied\"}}\n" /* another type */
                    "not json but auth.denied\n"                /* skipped */
                    DENIED("2026-01-15T00:00:00Z", "bob"));     /* no newline at the end */
        write_plain(dir, "events.jsonl.1", DENIED("2026-01-01T00:00:00Z", "bob")); /* in */
        write_gz(dir, "events.jsonl.2.gz",
                 DENIED("2026-01-02T00:00:00Z", "carol") DENIED("2025-12-31T23:59:59Z", "carol"));
        write_gz(dir, "events.jsonl-20260120.gz", DENIED("2026-01-20T12:00:00+01:00", "dave"));
        write_plain(dir, "other.jsonl", DENIED("2026-01-05T00:00:00Z", "erin")); /* not ours */
        /* a line over the ceiling, then a good one */
        big = malloc(EVENTLOG_SCAN_LINE_MAX * 2);
        assert_non_null(big);
        memset(big, 'a', EVENTLOG_SCAN_LINE_MAX * 2 - 2);
        big[EVENTLOG_SCAN_LINE_MAX * 2 - 2] = '\n';
        big[EVENTLOG_SCAN_LINE_MAX * 2 - 1] = '\0';
        write_plain(dir, "events.jsonl-20260125", big);
        snprintf(p, sizeof(p), "%s/events.jsonl-20260125", dir);
        {
                FILE *f = fopen(p, "a");
                assert_non_null(f);
                fputs(DENIED("2026-01-25T00:00:00Z", "frank"), f);
                assert_int_equal(fclose(f), 0);
        }
        free(big);
        /* an old rotation (last written before the range): not even opened */
        write_plain(dir, "events.jsonl.9", DENIED("2026-01-03T00:00:00Z", "ghost"));
        snprintf(p, sizeof(p), "%s/events.jsonl.9", dir);
        assert_int_equal(utimes(p, old), 0);

        assert_int_equal(eventlog_scan_count(dir, "events.jsonl", "auth.denied", JAN_2026 * 1000000,
                                             FEB_2026 * 1000000, &s),
                         0);
        /* alice 1, bob 2 (one without newline), carol 1, dave 1, frank 1 */
        assert_int_equal(s.count, 6);
        assert_int_equal(s.files, 5);
        assert_int_equal(s.skipped, 2);

        assert_int_equal(
            eventlog_scan_count("/nonexistent/ds01", "events.jsonl", "auth.denied", 0, 1, &s),
            -ENOENT);
        assert_int_equal(s.count, 0);

        {
                /* clean up without a shell: the files we made */
                static const char *const names[] = {
                    "events.jsonl",          "events.jsonl.1",
                    "events.jsonl.2.gz",     "events.jsonl-20260120.gz",
                    "events.jsonl-20260125", "other.jsonl",
                    "events.jsonl.9",
                };
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
                        assert_int_equal(unlink(p), 0);
                }
                assert_int_equal(rmdir(dir), 0);
        }
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_edges),
            cmocka_unit_test(test_efficiency),
            cmocka_unit_test(test_grouping_and_containers),
            cmocka_unit_test(test_ties),
            cmocka_unit_test(test_by_names),
            cmocka_unit_test(test_months),
            cmocka_unit_test(test_trend),
            cmocka_unit_test(test_parse_time),
            cmocka_unit_test(test_scan),
        };

        setenv("TZ", "America/New_York", 1); /* dates are UTC whatever the zone */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
