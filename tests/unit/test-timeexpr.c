/* test-timeexpr.c - unit tests for parse_time_expr() in util/timeutil: the
 * times the CLI takes (ISO 8601, now, today, yesterday, "N UNIT ago", @epoch)
 * against a fixed now, UTC days either side of the epoch, malformed input,
 * overflow, and the output left alone on failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/timeutil.h"

#define SENTINEL ((int64_t)-777)

/* 2026-06-30T21:59:59Z; its UTC day starts at 1782777600. */
#define NOW       INT64_C(1782856799)
#define TODAY     INT64_C(1782777600)
#define YESTERDAY (TODAY - 86400)

struct expr_case {
        const char *s;
        int r;
        int64_t v;
};

static void check_cases(const struct expr_case *cases, size_t n, int64_t now)
{
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = parse_time_expr(cases[i].s, now, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                if (r == 0 && v != cases[i].v)
                        fail_msg("\"%s\": %lld, expected %lld", cases[i].s, (long long)v,
                                 (long long)cases[i].v);
                if (r < 0 && v != SENTINEL)
                        fail_msg("\"%s\": output changed on failure", cases[i].s);
        }
}

static void test_words(void **state)
{
        static const struct expr_case cases[] = {
            {"now", 0, NOW},
            {"NOW", 0, NOW},
            {" Now\n", 0, NOW},
            {"today", 0, TODAY},
            {"Today", 0, TODAY},
            {"\ttoday  ", 0, TODAY},
            {"yesterday", 0, YESTERDAY},
            {"YESTERDAY", 0, YESTERDAY},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]), NOW);
}

static void test_ago(void **state)
{
        static const struct expr_case cases[] = {
            {"1 hour ago", 0, NOW - 3600},
            {"90 minutes ago", 0, NOW - 5400},
            {"2 days ago", 0, NOW - 2 * 86400},
            {"0 minutes ago", 0, NOW},
            {"1 hours ago", 0, NOW - 3600},
            {"3 hour ago", 0, NOW - 3 * 3600},
            {"2h ago", 0, NOW - 7200},
            {"2 h ago", 0, NOW - 7200},
            {"5m ago", 0, NOW - 300},
            {"5 min ago", 0, NOW - 300},
            {"5 mins ago", 0, NOW - 300},
            {"1 minute ago", 0, NOW - 60},
            {"7d ago", 0, NOW - 7 * 86400},
            {"1 day ago", 0, NOW - 86400},
            {"1w ago", 0, NOW - 604800},
            {"1 week ago", 0, NOW - 604800},
            {"3 weeks ago", 0, NOW - 3 * 604800},
            {"30s ago", 0, NOW - 30},
            {"30 sec ago", 0, NOW - 30},
            {"30 secs ago", 0, NOW - 30},
            {"1 second ago", 0, NOW - 1},
            {"45 seconds ago", 0, NOW - 45},
            {"007 minutes ago", 0, NOW - 420},
            {"1 HOUR AGO", 0, NOW - 3600},
            {"1 Hour Ago", 0, NOW - 3600},
            {"  1   hour   ago  ", 0, NOW - 3600},
            {"1\thour\tago", 0, NOW - 3600},
            {"100000 days ago", 0, NOW - INT64_C(100000) * 86400}, /* before 1970 */
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]), NOW);
}

static void test_epoch(void **state)
{
        static const struct expr_case cases[] = {
            {"@0", 0, 0},
            {"@1782856799", 0, 1782856799},
            {"@-5", 0, -5},
            {"@+5", 0, 5},
            {" @5 ", 0, 5},
            {"@9223372036854775807", 0, INT64_MAX},
            {"@-9223372036854775808", 0, INT64_MIN},
            {"@9223372036854775808", -ERANGE, 0},
            {"@", -EINVAL, 0},
            {"@ 5", -EINVAL, 0},
            {"@x", -EINVAL, 0},
            {"@5x", -EINVAL, 0},
            {"@1.5", -EINVAL, 0},
            {"@5 5", -EINVAL, 0},
            {"@@5", -EINVAL, 0},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]), NOW);
}

static void test_iso(void **state)
{
        static const struct expr_case cases[] = {
            {"2026-06-30T21:59:59Z", 0, 1782856799},
            {"2026-06-30T23:59:59+02:00", 0, 1782856799},
            {"2026-06-30T21:59:59.5Z", 0, 1782856799},
            {"2026-06-30 21:59:59", 0, 1782856799}, /* local time, TZ=UTC0 here */
            {"2026-06-30", 0, TODAY},
            {"  2026-06-30T21:59:59Z  ", 0, 1782856799},
            {"1970-01-01T00:00:00Z", 0, 0},
            {"2026-13-01", -EINVAL, 0},
            {"2026-02-30T00:00:00Z", -EINVAL, 0},
            {"2026-06-30T21:59:59 ago", -EINVAL, 0},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]), NOW);
}

static void test_invalid(void **state)
{
        static const struct expr_case cases[] = {
            {"", -EINVAL, 0},
            {"   ", -EINVAL, 0},
            {"tomorrow", -EINVAL, 0},
            {"todayx", -EINVAL, 0},
            {"to day", -EINVAL, 0},
            {"now now", -EINVAL, 0},
            {"nowago", -EINVAL, 0},
            {"1 hour", -EINVAL, 0},
            {"1", -EINVAL, 0},
            {"1 ago", -EINVAL, 0},
            {"hour ago", -EINVAL, 0},
            {"ago", -EINVAL, 0},
            {"1 hour ago ago", -EINVAL, 0},
            {"1 hour agox", -EINVAL, 0},
            {"1 hourago", -EINVAL, 0},
            {"1hourago", -EINVAL, 0},
            {"1 fortnight ago", -EINVAL, 0},
            {"1 months ago", -EINVAL, 0},
            {"1 y ago", -EINVAL, 0},
            {"-1 hours ago", -EINVAL, 0},
            {"+1 hours ago", -EINVAL, 0},
            {"1.5 hours ago", -EINVAL, 0},
            {"1,5 hours ago", -EINVAL, 0},
            {"1 hour before", -EINVAL, 0},
            {"an hour ago", -EINVAL, 0},
            {"in 2 hours", -EINVAL, 0},
            {"1 h r ago", -EINVAL, 0},
            {"0x10 minutes ago", -EINVAL, 0},
            {"1 hour ago\x01", -EINVAL, 0},
            {"\xc3\xa9", -EINVAL, 0},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]), NOW);
        assert_int_equal(parse_time_expr(NULL, NOW, &(int64_t){0}), -EINVAL);
        assert_int_equal(parse_time_expr("now", NOW, NULL), -EINVAL);
}

/* UTC days around the epoch: floor, not truncation toward zero. */
static void test_days(void **state)
{
        static const struct {
                int64_t now, today;
        } cases[] = {
            {0, 0},           {1, 0},           {86399, 0},        {86400, 86400}, {-1, -86400},
            {-86399, -86400}, {-86400, -86400}, {-86401, -172800}, {NOW, TODAY},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t v = SENTINEL;

                assert_int_equal(parse_time_expr("today", cases[i].now, &v), 0);
                assert_true(v == cases[i].today);
                assert_int_equal(parse_time_expr("yesterday", cases[i].now, &v), 0);
                assert_true(v == cases[i].today - 86400);
        }
}

static void test_overflow(void **state)
{
        static const struct expr_case big[] = {
            {"9223372036854775807 seconds ago", 0, NOW - INT64_MAX},
            {"9223372036854775808 seconds ago", -ERANGE, 0},
            {"99999999999999999999999 days ago", -ERANGE, 0},
            {"99999999999999999999999", -EINVAL, 0}, /* not the shape: no unit */
            {"99999999999999999999999 days", -EINVAL, 0},
            {"9223372036854775807 weeks ago", -ERANGE, 0},
            {"15250284452471 weeks ago", 0, NOW - INT64_C(15250284452471) * 604800},
            {"15250284452472 weeks ago", -ERANGE, 0}, /* N x 604800 past INT64_MAX */
        };
        static const struct expr_case near_min[] = {
            {"10 s ago", 0, INT64_MIN}, {"11 s ago", -ERANGE, 0},  {"now", 0, INT64_MIN + 10},
            {"today", -ERANGE, 0},      {"yesterday", -ERANGE, 0},
        };
        static const struct expr_case near_max[] = {
            {"today", 0, INT64_MAX - INT64_MAX % 86400},
            {"0 s ago", 0, INT64_MAX},
        };

        check_cases(big, sizeof(big) / sizeof(big[0]), NOW);
        check_cases(near_min, sizeof(near_min) / sizeof(near_min[0]), INT64_MIN + 10);
        check_cases(near_max, sizeof(near_max) / sizeof(near_max[0]), INT64_MAX);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_words),    cmocka_unit_test(test_ago),
            cmocka_unit_test(test_epoch),    cmocka_unit_test(test_iso),
            cmocka_unit_test(test_invalid),  cmocka_unit_test(test_days),
            cmocka_unit_test(test_overflow),
        };

        setenv("TZ", "UTC0", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
