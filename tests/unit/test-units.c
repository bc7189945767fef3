/* test-units.c - unit tests for util/units: durations (units, fractions and
 * their rounding, bare numbers, "unlimited" words, compound values, overflow,
 * malformed input), Docker and systemd sizes, percents, the formatters, and
 * parse(format(x)) round trips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/units.h"

#define KI (UINT64_C(1) << 10)
#define MI (UINT64_C(1) << 20)
#define GI (UINT64_C(1) << 30)
#define TI (UINT64_C(1) << 40)
#define PI (UINT64_C(1) << 50)
#define EI (UINT64_C(1) << 60)

#define SENTINEL_I64 ((int64_t)-777)
#define SENTINEL_U64 ((uint64_t)777777)

static void test_parse_duration(void **state)
{
        static const struct {
                const char *s;
                int64_t bare_unit;
                int r;
                int64_t v;
        } cases[] = {
            /* The documented examples. */
            {"2h", 1, 0, 7200},
            {"0.5h", 1, 0, 1800},
            {"1d", 1, 0, 86400},
            {"1w", 1, 0, 604800},
            {"30m", 1, 0, 1800},
            {"3600s", 1, 0, 3600},
            {"90", 1, 0, 90},
            {"0.5", SEC_PER_HOUR, 0, 1800},
            {"90", SEC_PER_MIN, 0, 5400},
            {"24", SEC_PER_HOUR, 0, 86400},
            {"2h", SEC_PER_HOUR, 0, 7200}, /* a unit overrides bare_unit */
            {"0", 1, 0, 0},
            {"0s", 1, 0, 0},
            {"0h", 1, 0, 0},
            /* Case, spacing. */
            {"2H", 1, 0, 7200},
            {"1D", 1, 0, 86400},
            {"1W", 1, 0, 604800},
            {"30M", 1, 0, 1800},
            {"3600S", 1, 0, 3600},
            {"  2h  ", 1, 0, 7200},
            {"\t2h\n", 1, 0, 7200},
            {"2 h", 1, 0, 7200},
            {" 90 ", 1, 0, 90},
            /* Fractions round to the nearest second, halves up. */
            {"0.1h", 1, 0, 360},
            {"1.25m", 1, 0, 75},
            {"1.5s", 1, 0, 2},
            {"0.5s", 1, 0, 1},
            {"0.49s", 1, 0, 0},
            {"2.5", 1, 0, 3},
            {".5h", 1, 0, 1800},
            {"5.h", 1, 0, 18000},
            {"0.0001h", 1, 0, 0},   /* 0.36 s */
            {"0.000139h", 1, 0, 1}, /* 0.5004 s */
            {"0.3333333333333333333333333h", 1, 0, 1200},
            {"007m", 1, 0, 420},
            /* Compound values, as format_duration() writes them. */
            {"1d 1h", 1, 0, 90000},
            {"1h 1m 1s", 1, 0, 3661},
            {"1h30m", 1, 0, 5400},
            {"1w 1d 1h 1m 1s", 1, 0, 694861},
            {"1.5h 30m", 1, 0, 7200},
            {"0.5s 0.5s", 1, 0, 1},
            {"1h 1h", 1, 0, 7200},
            /* Unlimited. */
            {"", 1, 0, DURATION_INFINITY},
            {"   ", 1, 0, DURATION_INFINITY},
            {"null", 1, 0, DURATION_INFINITY},
            {"NULL", 1, 0, DURATION_INFINITY},
            {"never", 1, 0, DURATION_INFINITY},
            {"Never", 1, 0, DURATION_INFINITY},
            {"indefinite", 1, 0, DURATION_INFINITY},
            {"unlimited", 1, 0, DURATION_INFINITY},
            {"UNLIMITED", SEC_PER_HOUR, 0, DURATION_INFINITY},
            {" none ", 1, 0, DURATION_INFINITY},
            /* Largest finite value; one more would read as unlimited. */
            {"9223372036854775806", 1, 0, INT64_MAX - 1},
            {"9223372036854775806.4", 1, 0, INT64_MAX - 1},
            {"15250284452471w 3d 15h 30m 6s", 1, 0, INT64_MAX - 1},
            {"9223372036854775807", 1, -ERANGE, 0},
            {"9223372036854775806.5", 1, -ERANGE, 0},
            {"15250284452471w 3d 15h 30m 7s", 1, -ERANGE, 0},
            {"15250284452472w", 1, -ERANGE, 0},
            {"2562047788015216", SEC_PER_HOUR, -ERANGE, 0},
            {"2562047788015215", SEC_PER_HOUR, 0, INT64_C(2562047788015215) * 3600},
            {"99999999999999999999w", 1, -ERANGE, 0},
            {"99999999999999999999", 1, -ERANGE, 0},
            {"99999999999999999999999999999999s", 1, -ERANGE, 0},
            /* Malformed. */
            {"-1h", 1, -EINVAL, 0},
            {"-0", 1, -EINVAL, 0},
            {"- 1h", 1, -EINVAL, 0},
            {"+1h", 1, -EINVAL, 0},
            {"1x", 1, -EINVAL, 0},
            {"h", 1, -EINVAL, 0},
            {"1.2.3h", 1, -EINVAL, 0},
            {"1..2h", 1, -EINVAL, 0},
            {".", 1, -EINVAL, 0},
            {".h", 1, -EINVAL, 0},
            {"1e3", 1, -EINVAL, 0},
            {"1e3s", 1, -EINVAL, 0},
            {"0x10", 1, -EINVAL, 0},
            {"1,5h", 1, -EINVAL, 0},
            {"nan", 1, -EINVAL, 0},
            {"inf", 1, -EINVAL, 0},
            {"infinity", 1, -EINVAL, 0},
            {"2 hours", 1, -EINVAL, 0},
            {"2hr", 1, -EINVAL, 0},
            {"30min", 1, -EINVAL, 0},
            {"5ms", 1, -EINVAL, 0},
            {"1h 30", 1, -EINVAL, 0},
            {"1h,30m", 1, -EINVAL, 0},
            {"1h-30m", 1, -EINVAL, 0},
            {"1 2", 1, -EINVAL, 0},
            {"h1", 1, -EINVAL, 0},
            {"never mind", 1, -EINVAL, 0},
            {"nulls", 1, -EINVAL, 0},
            {"2h", 0, -EINVAL, 0},  /* bad bare_unit */
            {"2h", -1, -EINVAL, 0}, /* bad bare_unit */
            {"never", 0, 0, DURATION_INFINITY},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t v = SENTINEL_I64;
                int r = parse_duration(cases[i].s, cases[i].bare_unit, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\" (bare %lld): r=%d, expected %d", cases[i].s,
                                 (long long)cases[i].bare_unit, r, cases[i].r);
                if (r == 0 && v != cases[i].v)
                        fail_msg("\"%s\": %lld, expected %lld", cases[i].s, (long long)v,
                                 (long long)cases[i].v);
                if (r < 0 && v != SENTINEL_I64)
                        fail_msg("\"%s\": output changed on failure", cases[i].s);
        }

        int64_t v = 0;
        assert_int_equal(parse_duration(NULL, 1, &v), 0);
        assert_true(v == DURATION_INFINITY);
}

static void test_format_duration(void **state)
{
        static const struct {
                int64_t v;
                const char *s;
        } cases[] = {
            {7200, "2h"},
            {90000, "1d 1h"},
            {1800, "30m"},
            {0, "0s"},
            {3661, "1h 1m 1s"},
            {604800, "1w"},
            {DURATION_INFINITY, "unlimited"},
            {1, "1s"},
            {59, "59s"},
            {60, "1m"},
            {86400, "1d"},
            {694861, "1w 1d 1h 1m 1s"},
            {1209601, "2w 1s"},
            {-90, "-1m 30s"},
            {-7200, "-2h"},
            {INT64_MAX - 1, "15250284452471w 3d 15h 30m 6s"},
            {INT64_MIN, "-15250284452471w 3d 15h 30m 8s"},
            {-INT64_MAX, "-15250284452471w 3d 15h 30m 7s"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[FORMAT_DURATION_MAX];

                assert_ptr_equal(format_duration(buf, sizeof(buf), cases[i].v), buf);
                assert_string_equal(buf, cases[i].s);
        }
}

static void test_format_duration_small_buffer(void **state)
{
        char buf[6] = "xxxxx";

        /* Too small a buffer truncates but stays NUL-terminated. */
        format_duration(buf, sizeof(buf), 3661);
        assert_string_equal(buf, "1h 1m");
        format_duration(buf, 4, DURATION_INFINITY);
        assert_string_equal(buf, "unl");
        format_duration(buf, 1, 3661);
        assert_string_equal(buf, "");
        buf[0] = 'z';
        format_duration(buf, 0, 3661);
        assert_int_equal(buf[0], 'z');
}

static void test_duration_round_trip(void **state)
{
        static const int64_t special[] = {
            0,
            1,
            59,
            60,
            61,
            3599,
            3600,
            3601,
            86399,
            86400,
            90000,
            604799,
            604800,
            694861,
            31536000,
            INT64_MAX - 1,
            DURATION_INFINITY,
        };
        char buf[FORMAT_DURATION_MAX];
        int64_t v;

        for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
                assert_int_equal(
                    parse_duration(format_duration(buf, sizeof(buf), special[i]), 1, &v), 0);
                assert_true(v == special[i]);
        }
        for (int64_t x = 0; x < 2 * SEC_PER_WEEK; x += 997) {
                assert_int_equal(parse_duration(format_duration(buf, sizeof(buf), x), 1, &v), 0);
                assert_true(v == x);
        }
        for (int64_t x = 1; x < INT64_MAX / 3; x *= 3) {
                assert_int_equal(parse_duration(format_duration(buf, sizeof(buf), x), 1, &v), 0);
                assert_true(v == x);
        }
}

struct size_case {
        const char *s;
        int r;
        uint64_t v;
};

/* Runs a table of size strings through parse: result, value, and the output
 * left untouched on failure. */
static void check_size_cases(int (*parse)(const char *, uint64_t *), const struct size_case *cases,
                             size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t v = SENTINEL_U64;
                int r = parse(cases[i].s, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                if (r == 0 && v != cases[i].v)
                        fail_msg("\"%s\": %llu, expected %llu", cases[i].s, (unsigned long long)v,
                                 (unsigned long long)cases[i].v);
                if (r < 0 && v != SENTINEL_U64)
                        fail_msg("\"%s\": output changed on failure", cases[i].s);
        }
}

static void test_parse_docker_size(void **state)
{
        static const struct size_case cases[] = {
            {"32g", 0, 32 * GI},
            {"512m", 0, 512 * MI},
            {"1.5g", 0, 1610612736},
            {"100", 0, 100},
            {"64 MB", 0, 64 * MI},
            {"2GiB", 0, 2 * GI},
            {"2gib", 0, 2 * GI},
            {"2Gi", 0, 2 * GI},
            {"1k", 0, KI},
            {"1K", 0, KI},
            {"1kb", 0, KI},
            {"1KiB", 0, KI},
            {"1t", 0, TI},
            {"1p", 0, PI},
            {"100b", 0, 100},
            {"100B", 0, 100},
            {"0", 0, 0},
            {" 8g ", 0, 8 * GI},
            {"1.5k", 0, 1536},
            {".5k", 0, 512},
            {"0.1", 0, 0},           /* truncated */
            {"1.0000001k", 0, 1024}, /* 1024.0001024 truncated */
            {"1.9999999999", 0, 1},
            {"8191p", 0, 8191 * PI},
            {"9223372036854775807", 0, INT64_MAX},
            {"9223372036854775808", -ERANGE, 0},
            {"8192p", -ERANGE, 0},
            {"99999999999999999999", -ERANGE, 0},
            {"99999999999999999999g", -ERANGE, 0},
            {"", -EINVAL, 0},
            {"  ", -EINVAL, 0},
            {"g", -EINVAL, 0},
            {"-1g", -EINVAL, 0},
            {"+1g", -EINVAL, 0},
            {"1x", -EINVAL, 0},
            {"1e", -EINVAL, 0}, /* not a Docker unit */
            {"1gg", -EINVAL, 0},
            {"1i", -EINVAL, 0},
            {"1ib", -EINVAL, 0},
            {"1bi", -EINVAL, 0},
            {"1 g b", -EINVAL, 0},
            {"1.2.3g", -EINVAL, 0},
            {"1g 1m", -EINVAL, 0},
            {"nan", -EINVAL, 0},
            {"inf", -EINVAL, 0},
            {"infinity", -EINVAL, 0},
            {"1e3", -EINVAL, 0},
        };

        check_size_cases(parse_docker_size, cases, sizeof(cases) / sizeof(cases[0]));
        assert_int_equal(parse_docker_size(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_parse_systemd_size(void **state)
{
        static const struct size_case cases[] = {
            {"96G", 0, 96 * GI},
            {"96g", 0, 96 * GI},
            {"512M", 0, 512 * MI},
            {"1T", 0, TI},
            {"4096", 0, 4096},
            {"4096B", 0, 4096},
            {"1K", 0, KI},
            {"1P", 0, PI},
            {"1E", 0, EI},
            {"15E", 0, 15 * EI},
            {"1.5G", 0, 1610612736},
            {" 2 G ", 0, 2 * GI},
            {"0", 0, 0},
            {"infinity", 0, SIZE_INFINITY},
            {"Infinity", 0, SIZE_INFINITY},
            {" infinity ", 0, SIZE_INFINITY},
            {"18446744073709551614", 0, UINT64_MAX - 1},
            {"18446744073709551615", -ERANGE, 0}, /* would read as infinity */
            {"16E", -ERANGE, 0},
            {"99999999999999999999", -ERANGE, 0},
            {"", -EINVAL, 0},
            {"G", -EINVAL, 0},
            {"1GB", -EINVAL, 0},
            {"1GiB", -EINVAL, 0},
            {"1X", -EINVAL, 0},
            {"-1G", -EINVAL, 0},
            {"1.2.3G", -EINVAL, 0},
            {"inf", -EINVAL, 0},
            {"infinityG", -EINVAL, 0},
            {"nan", -EINVAL, 0},
        };

        check_size_cases(parse_systemd_size, cases, sizeof(cases) / sizeof(cases[0]));
        assert_int_equal(parse_systemd_size(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_parse_percent(void **state)
{
        static const struct {
                const char *s;
                int r;
                double v;
        } cases[] = {
            {"9600%", 0, 9600.0},   {"50%", 0, 50.0},           {"12.5%", 0, 12.5},
            {"0%", 0, 0.0},         {" 50 % ", 0, 50.0},        {"100 %", 0, 100.0},
            {".5%", 0, 0.5},        {"50", -EINVAL, 0},         {"%", -EINVAL, 0},
            {"", -EINVAL, 0},       {"-5%", -EINVAL, 0},        {"+5%", -EINVAL, 0},
            {"5%%", -EINVAL, 0},    {"5% x", -EINVAL, 0},       {"%5", -EINVAL, 0},
            {"1e3%", -EINVAL, 0},   {"nan%", -EINVAL, 0},       {"inf%", -EINVAL, 0},
            {"1.2.3%", -EINVAL, 0}, {"50 percent", -EINVAL, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                double v = -1.0;
                int r = parse_percent(cases[i].s, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                if (r == 0 && v != cases[i].v)
                        fail_msg("\"%s\": %g, expected %g", cases[i].s, v, cases[i].v);
                if (r < 0 && v != -1.0)
                        fail_msg("\"%s\": output changed on failure", cases[i].s);
        }
        assert_int_equal(parse_percent(NULL, &(double){0}), -EINVAL);
}

static void test_format_size(void **state)
{
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {
            {0, "0"},
            {1, "1"},
            {1023, "1023"},
            {1024, "1K"},
            {1536, "1.5K"},
            {1280, "1.3K"}, /* 1.25 rounds half up */
            {1075, "1K"},   /* 1.0498 */
            {1076, "1.1K"}, /* 1.0508 */
            {34359738368, "32G"},
            {512 * MI, "512M"},
            {1048575, "1M"}, /* 1023.999K rounds up into the next unit */
            {MI, "1M"},
            {1023 * MI, "1023M"},
            {TI, "1T"},
            {PI, "1P"},
            {EI, "1024P"}, /* no E in Docker's letters */
            {UINT64_MAX - 1, "16384P"},
            {SIZE_INFINITY, "infinity"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[FORMAT_SIZE_MAX];

                assert_ptr_equal(format_size(buf, sizeof(buf), cases[i].v), buf);
                assert_string_equal(buf, cases[i].s);
        }

        char small[3];
        format_size(small, sizeof(small), 1536);
        assert_string_equal(small, "1.");
        format_size(small, sizeof(small), SIZE_INFINITY);
        assert_string_equal(small, "in");
}

static void test_size_round_trip(void **state)
{
        char buf[FORMAT_SIZE_MAX];

        /* Everything format_size() writes exactly reads back to the same value,
         * with both parsers. */
        for (unsigned shift = 0; shift <= 50; shift += 10)
                for (uint64_t k = 0; k < 1024; k++)
                        for (int half = 0; half <= (shift > 0 ? 1 : 0); half++) {
                                /* k units, or k and a half units ("1.5K") */
                                uint64_t x = half ? (2 * k + 1) << (shift - 1) : k << shift;
                                uint64_t v = 0;

                                format_size(buf, sizeof(buf), x);
                                if (parse_docker_size(buf, &v) != 0 || v != x)
                                        fail_msg("%llu -> \"%s\" -> %llu", (unsigned long long)x,
                                                 buf, (unsigned long long)v);
                                assert_int_equal(parse_systemd_size(buf, &v), 0);
                                assert_true(v == x);
                        }
        {
                uint64_t v = 0;

                format_size(buf, sizeof(buf), SIZE_INFINITY);
                assert_int_equal(parse_systemd_size(buf, &v), 0);
                assert_true(v == SIZE_INFINITY);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_duration),
            cmocka_unit_test(test_format_duration),
            cmocka_unit_test(test_format_duration_small_buffer),
            cmocka_unit_test(test_duration_round_trip),
            cmocka_unit_test(test_parse_docker_size),
            cmocka_unit_test(test_parse_systemd_size),
            cmocka_unit_test(test_parse_percent),
            cmocka_unit_test(test_format_size),
            cmocka_unit_test(test_size_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
