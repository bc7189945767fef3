/* test-timeutil.c - unit tests for util/timeutil: ISO 8601 timestamps with and
 * without zones (local times checked under a fixed POSIX TZ with daylight
 * saving time), range checks including leap years, malformed input, UTC
 * formatting with round trips, and the DS01_NOW override. Expected epochs were
 * computed with Python's calendar.timegm. */
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

/* Central European Time with its summer time; a POSIX rule, so no tzdata. */
#define TZ_CET "CET-1CEST,M3.5.0,M10.5.0/3"

static void set_tz(const char *tz)
{
        assert_int_equal(setenv("TZ", tz, 1), 0);
        tzset();
}

struct ts_case {
        const char *s;
        int r;
        int64_t v;
};

static void check_cases(const struct ts_case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                int64_t v = SENTINEL;
                int r = parse_timestamp(cases[i].s, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                if (r == 0 && v != cases[i].v)
                        fail_msg("\"%s\": %lld, expected %lld", cases[i].s, (long long)v,
                                 (long long)cases[i].v);
                if (r < 0 && v != SENTINEL)
                        fail_msg("\"%s\": output changed on failure", cases[i].s);
        }
}

static void test_parse_zoned(void **state)
{
        static const struct ts_case cases[] = {
            {"2026-06-30T21:59:59Z", 0, 1782856799},
            {"2026-06-30T21:59:59z", 0, 1782856799},
            {"2026-06-30t21:59:59Z", 0, 1782856799},
            {"2026-06-30 21:59:59Z", 0, 1782856799},
            {"2026-06-30T21:59:59.123Z", 0, 1782856799},
            {"2026-06-30T21:59:59.999999999Z", 0, 1782856799}, /* truncated */
            {"2026-06-30T21:59:59,5Z", 0, 1782856799},
            {"2026-06-30T23:59:59+02:00", 0, 1782856799},
            {"2026-06-30T23:59:59+0200", 0, 1782856799},
            {"2026-06-30T23:59:59+02", 0, 1782856799},
            {"2026-06-30T16:59:59-05", 0, 1782856799},
            {"2026-06-30T16:59:59-05:00", 0, 1782856799},
            {"2026-07-01T03:29:59+05:30", 0, 1782856799},
            {"2026-06-30T21:59:59+00:00", 0, 1782856799},
            {"2026-06-30T21:59:59-00:00", 0, 1782856799},
            {"2026-06-30T21:59:59.5+02:00", 0, 1782856799 - 7200},
            {"2026-06-30T21:59Z", 0, 1782856740},
            {"  2026-06-30T21:59:59Z\n", 0, 1782856799},
            {"1970-01-01T00:00:00Z", 0, 0},
            {"1969-12-31T23:59:59Z", 0, -1}, /* -1 is a valid time */
            {"1970-01-01T01:00:00+01:00", 0, 0},
            {"2024-02-29T00:00:00Z", 0, 1709164800},
            {"2000-02-29T12:00:00Z", 0, 951825600},
            {"2016-12-31T23:59:60Z", 0, 1483228800}, /* leap second */
            {"0001-01-01T00:00:00Z", 0, INT64_C(-62135596800)},
            {"9999-12-31T23:59:59Z", 0, INT64_C(253402300799)},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_parse_invalid(void **state)
{
        static const struct ts_case cases[] = {
            /* Impossible dates and times. */
            {"2026-02-29", -EINVAL, 0},
            {"2026-02-29T00:00:00Z", -EINVAL, 0},
            {"1900-02-29T00:00:00Z", -EINVAL, 0},
            {"2026-02-30", -EINVAL, 0},
            {"2026-04-31", -EINVAL, 0},
            {"2026-06-31", -EINVAL, 0},
            {"2026-13-01", -EINVAL, 0},
            {"2026-00-10", -EINVAL, 0},
            {"2026-01-00", -EINVAL, 0},
            {"2026-01-32", -EINVAL, 0},
            {"0000-01-01", -EINVAL, 0},
            {"2026-06-30T24:00:00Z", -EINVAL, 0},
            {"2026-06-30T23:60:00Z", -EINVAL, 0},
            {"2026-06-30T23:59:61Z", -EINVAL, 0},
            {"2026-06-30T12:00:00+24:00", -EINVAL, 0},
            {"2026-06-30T12:00:00+02:60", -EINVAL, 0},
            /* Malformed. */
            {"", -EINVAL, 0},
            {"   ", -EINVAL, 0},
            {"2026", -EINVAL, 0},
            {"2026-06", -EINVAL, 0},
            {"2026-6-30", -EINVAL, 0},
            {"26-06-30", -EINVAL, 0},
            {"20260630", -EINVAL, 0},
            {"2026/06/30", -EINVAL, 0},
            {"02026-06-30", -EINVAL, 0},
            {"2026-06-300", -EINVAL, 0},
            {"-2026-06-30", -EINVAL, 0},
            {"x2026-06-30", -EINVAL, 0},
            {"2026-06-30x", -EINVAL, 0},
            {"2026-06-30T", -EINVAL, 0},
            {"2026-06-30T12", -EINVAL, 0},
            {"2026-06-30T12:", -EINVAL, 0},
            {"2026-06-30T1:00", -EINVAL, 0},
            {"2026-06-30T12:0", -EINVAL, 0},
            {"2026-06-30T12:00:", -EINVAL, 0},
            {"2026-06-30T12:00:0", -EINVAL, 0},
            {"2026-06-30T12:00:00.", -EINVAL, 0},
            {"2026-06-30T12:00:00.Z", -EINVAL, 0},
            {"2026-06-30T12:00:00+", -EINVAL, 0},
            {"2026-06-30T12:00:00+2", -EINVAL, 0},
            {"2026-06-30T12:00:00+02:", -EINVAL, 0},
            {"2026-06-30T12:00:00+02:0", -EINVAL, 0},
            {"2026-06-30T12:00:00+020", -EINVAL, 0},
            {"2026-06-30T12:00:00ZZ", -EINVAL, 0},
            {"2026-06-30T12:00:00 Z", -EINVAL, 0},
            {"2026-06-30T12:00:00 UTC", -EINVAL, 0},
            {"2026-06-30Z", -EINVAL, 0},
            {"2026-06-30T12:00:00Zx", -EINVAL, 0},
            {"2026-06-30  12:00:00", -EINVAL, 0},
        };

        check_cases(cases, sizeof(cases) / sizeof(cases[0]));
        assert_int_equal(parse_timestamp(NULL, &(int64_t){0}), -EINVAL);
}

static void test_parse_local(void **state)
{
        static const struct ts_case utc[] = {
            {"2026-06-30", 0, 1782777600},
            {"2026-06-30T21:59:59", 0, 1782856799},
            {"2026-06-30 21:59:59.25", 0, 1782856799},
            {"1970-01-01", 0, 0},
        };
        static const struct ts_case cet[] = {
            /* Summer time: UTC+2. */
            {"2026-06-30T23:59:59", 0, 1782856799},
            {"2026-06-30 23:59:59", 0, 1782856799},
            {"2026-06-30", 0, 1782770400}, /* midnight local */
            /* Winter time: UTC+1. */
            {"2026-01-15T12:00:00", 0, 1768474800},
            /* Either side of the spring change (01:00 UTC on 2026-03-29). */
            {"2026-03-29T01:59:59", 0, 1774745999},
            {"2026-03-29T03:00:00", 0, 1774746000},
            /* A zone still wins over TZ. */
            {"2026-06-30T21:59:59Z", 0, 1782856799},
            /* Local times are range-checked as well. */
            {"2026-02-29T12:00:00", -EINVAL, 0},
        };

        set_tz("UTC0");
        check_cases(utc, sizeof(utc) / sizeof(utc[0]));
        set_tz(TZ_CET);
        check_cases(cet, sizeof(cet) / sizeof(cet[0]));
        set_tz("UTC0");
}

static void test_format(void **state)
{
        static const struct {
                int64_t v;
                const char *s;
        } cases[] = {
            {0, "1970-01-01T00:00:00Z"},
            {-1, "1969-12-31T23:59:59Z"},
            {1782856799, "2026-06-30T21:59:59Z"},
            {951825600, "2000-02-29T12:00:00Z"},
            {INT64_C(253402300799), "9999-12-31T23:59:59Z"},
            {INT64_C(-62135596800), "0001-01-01T00:00:00Z"}, /* four-digit year */
        };
        char buf[FORMAT_TIMESTAMP_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_ptr_equal(format_timestamp_utc(buf, sizeof(buf), cases[i].v), buf);
                assert_string_equal(buf, cases[i].s);
        }

        /* Too small, or not representable: empty, never overrun. */
        format_timestamp_utc(buf, 10, 0);
        assert_string_equal(buf, "");
        format_timestamp_utc(buf, sizeof(buf), INT64_MAX);
        assert_string_equal(buf, "");
        buf[0] = 'z';
        format_timestamp_utc(buf, 0, 0);
        assert_int_equal(buf[0], 'z');
}

static void test_round_trip(void **state)
{
        char buf[FORMAT_TIMESTAMP_MAX];

        set_tz(TZ_CET); /* must not matter: the formatted form carries "Z" */
        for (int64_t x = INT64_C(-62135596800); x < INT64_C(253402300799);
             x += INT64_C(987654321)) {
                int64_t v = 0;

                format_timestamp_utc(buf, sizeof(buf), x);
                assert_int_equal(parse_timestamp(buf, &v), 0);
                assert_true(v == x);
        }
        set_tz("UTC0");
}

static void test_now(void **state)
{
        int64_t t0, t;

        assert_int_equal(unsetenv("DS01_NOW"), 0);
        t0 = (int64_t)time(NULL);
        t = now_epoch();
        assert_true(t >= t0 && t <= t0 + 2);

        assert_int_equal(setenv("DS01_NOW", "1782856799", 1), 0);
        assert_true(now_epoch() == 1782856799);
        assert_int_equal(setenv("DS01_NOW", "0", 1), 0);
        assert_true(now_epoch() == 0);
        assert_int_equal(setenv("DS01_NOW", "-5", 1), 0);
        assert_true(now_epoch() == -5);

        /* Garbage is ignored: the real clock. */
        assert_int_equal(setenv("DS01_NOW", "yesterday", 1), 0);
        t = now_epoch();
        assert_true(t >= t0 && t <= t0 + 2);
        assert_int_equal(setenv("DS01_NOW", "", 1), 0);
        t = now_epoch();
        assert_true(t >= t0 && t <= t0 + 2);
        assert_int_equal(unsetenv("DS01_NOW"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_zoned), cmocka_unit_test(test_parse_invalid),
            cmocka_unit_test(test_parse_local), cmocka_unit_test(test_format),
            cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_now),
        };

        setenv("TZ", "UTC0", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
