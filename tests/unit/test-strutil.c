/* test-strutil.c - unit tests for util/strutil: prefixes and suffixes, strscpy
 * truncation, trimming, lower-casing, UTF-8 validation (overlongs, surrogates,
 * out-of-range and truncated sequences), edit distance and the strict number
 * parsers. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strutil.h"

static void test_streq(void **state)
{
        assert_true(streq("a", "a"));
        assert_false(streq("a", "b"));
        assert_true(streq_ptr(NULL, NULL));
        assert_false(streq_ptr("a", NULL));
        assert_false(streq_ptr(NULL, "a"));
        assert_true(streq_ptr("x", "x"));
        assert_true(isempty(NULL));
        assert_true(isempty(""));
        assert_false(isempty(" "));
}

static void test_startswith(void **state)
{
        const char *s = "ds01-students";

        assert_ptr_equal(startswith(s, "ds01-"), s + 5);
        assert_ptr_equal(startswith(s, ""), s);
        assert_ptr_equal(startswith(s, s), s + strlen(s));
        assert_null(startswith(s, "DS01-"));
        assert_null(startswith("ds", "ds01"));
        assert_ptr_equal(startswith_no_case(s, "DS01-"), s + 5);
        assert_null(startswith_no_case(s, "ds02"));
        assert_null(startswith_no_case("d", "ds"));

        assert_true(endswith("alice.slice", ".slice"));
        assert_true(endswith("alice.slice", ""));
        assert_true(endswith(".slice", ".slice"));
        assert_false(endswith("slice", ".slice"));
        assert_false(endswith("alice.SLICE", ".slice"));
}

static void test_strscpy(void **state)
{
        char buf[6];

        assert_int_equal(strscpy(buf, sizeof(buf), "hello"), 0);
        assert_string_equal(buf, "hello");
        assert_int_equal(strscpy(buf, sizeof(buf), ""), 0);
        assert_string_equal(buf, "");
        assert_int_equal(strscpy(buf, sizeof(buf), "hello!"), -ENOBUFS);
        assert_string_equal(buf, "hello");
        assert_int_equal(strscpy(buf, 1, "abc"), -ENOBUFS);
        assert_string_equal(buf, "");
        buf[0] = 'z';
        assert_int_equal(strscpy(buf, 0, "abc"), -ENOBUFS);
        assert_int_equal(buf[0], 'z'); /* nothing written at all */
}

static void test_strstrip(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            {"", ""},         {"   ", ""},
            {"abc", "abc"},   {"  abc", "abc"},
            {"abc  ", "abc"}, {" \t\r\n\v\fa b\t \n", "a b"},
            {"a  b", "a  b"}, {"\xc2\xa0x", "\xc2\xa0x"}, /* non-ASCII space is not stripped */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];

                assert_int_equal(strscpy(buf, sizeof(buf), cases[i].in), 0);
                assert_ptr_equal(strstrip(buf), buf);
                assert_string_equal(buf, cases[i].out);
        }
        assert_null(strstrip(NULL));
}

static void test_strlower(void **state)
{
        char buf[] = "Hello WORLD 123 \xc3\x84";

        assert_ptr_equal(strlower(buf), buf);
        assert_string_equal(buf, "hello world 123 \xc3\x84");
        assert_null(strlower(NULL));
}

static void test_strdup_or_null(void **state)
{
        char *p;

        assert_null(strdup_or_null(NULL));
        p = strdup_or_null("abc");
        assert_non_null(p);
        assert_string_equal(p, "abc");
        free(p);
}

static void test_utf8(void **state)
{
        static const struct {
                const char *s;
                size_t n; /* 0: strlen */
                bool valid;
                size_t bad;
        } cases[] = {
            {"", 0, true, 0},
            {"plain ascii", 0, true, 0},
            {"caf\xc3\xa9", 0, true, 0},
            {"\xe2\x82\xac", 0, true, 0},          /* euro sign */
            {"\xf0\x9f\x98\x80", 0, true, 0},      /* emoji */
            {"\xf4\x8f\xbf\xbf", 0, true, 0},      /* U+10FFFF */
            {"\xed\x9f\xbf", 0, true, 0},          /* U+D7FF */
            {"\xee\x80\x80", 0, true, 0},          /* U+E000 */
            {"a\0b", 3, true, 0},                  /* NUL is a character */
            {"ab\x80", 0, false, 2},               /* stray continuation */
            {"\xc0\xaf", 0, false, 0},             /* overlong '/' */
            {"\xc1\xbf", 0, false, 0},             /* overlong */
            {"\xe0\x80\xaf", 0, false, 0},         /* overlong */
            {"\xe0\x9f\xbf", 0, false, 0},         /* overlong */
            {"\xf0\x80\x80\xaf", 0, false, 0},     /* overlong */
            {"\xf0\x8f\xbf\xbf", 0, false, 0},     /* overlong */
            {"x\xed\xa0\x80", 0, false, 1},        /* surrogate D800 */
            {"\xed\xbf\xbf", 0, false, 0},         /* surrogate DFFF */
            {"\xf4\x90\x80\x80", 0, false, 0},     /* U+110000 */
            {"\xf5\x80\x80\x80", 0, false, 0},     /* lead byte F5 */
            {"\xff", 0, false, 0},                 /* never valid */
            {"ok\xe2\x82", 0, false, 2},           /* truncated */
            {"\xe2\x82\xac", 2, false, 0},         /* cut by n */
            {"\xc3\xa9\xc3", 0, false, 2},         /* truncated at end */
            {"\xe2\x41\x42", 0, false, 0},         /* bad continuation */
            {"\xf0\x9f\x98\x41", 0, false, 0},     /* bad 4th byte */
            {"\xc3\xa9\xc3\xa9\xe9", 0, false, 4}, /* Latin-1 after UTF-8 */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);
                size_t bad = 12345;
                bool v = utf8_valid(cases[i].s, n, &bad);

                if (v != cases[i].valid)
                        fail_msg("case %zu: expected %s", i, cases[i].valid ? "valid" : "invalid");
                if (v)
                        assert_int_equal(bad, 12345); /* untouched */
                else
                        assert_int_equal(bad, cases[i].bad);
                assert_int_equal(utf8_valid(cases[i].s, n, NULL), cases[i].valid);
        }
}

static void test_edit_distance(void **state)
{
        static const struct {
                const char *a, *b;
                size_t d;
        } cases[] = {
            {"", "", 0},
            {"abc", "", 3},
            {"", "abc", 3},
            {"status", "status", 0},
            {"statsu", "status", 2},
            {"stauts", "status", 2},
            {"stat", "status", 2},
            {"kitten", "sitting", 3},
            {"flaw", "lawn", 2},
            {"Status", "status", 1},
            {"gpu", "cpu", 1},
        };
        char long65[66], long64[65];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(str_edit_distance(cases[i].a, cases[i].b), cases[i].d);
                assert_int_equal(str_edit_distance(cases[i].b, cases[i].a), cases[i].d);
        }

        memset(long64, 'a', 64);
        long64[64] = '\0';
        memset(long65, 'a', 65);
        long65[65] = '\0';
        assert_int_equal(str_edit_distance(long64, long64), 0);
        assert_int_equal(str_edit_distance(long64, ""), 64);
        assert_true(str_edit_distance(long65, "a") == SIZE_MAX);
        assert_true(str_edit_distance("a", long65) == SIZE_MAX);
}

static void test_atoi64(void **state)
{
        static const struct {
                const char *s;
                int r;
                long long v;
        } cases[] = {
            {"0", 0, 0},
            {"42", 0, 42},
            {"-42", 0, -42},
            {"+42", 0, 42},
            {"  42  ", 0, 42},
            {"\t-7\n", 0, -7},
            {"007", 0, 7},
            {"9223372036854775807", 0, LLONG_MAX},
            {"-9223372036854775808", 0, LLONG_MIN},
            {"9223372036854775808", -ERANGE, 0},
            {"-9223372036854775809", -ERANGE, 0},
            {"99999999999999999999999", -ERANGE, 0},
            {"", -EINVAL, 0},
            {"   ", -EINVAL, 0},
            {"-", -EINVAL, 0},
            {"+", -EINVAL, 0},
            {"- 5", -EINVAL, 0},
            {"1x", -EINVAL, 0},
            {"1 2", -EINVAL, 0},
            {"0x10", -EINVAL, 0},
            {"1.5", -EINVAL, 0},
            {"1e3", -EINVAL, 0},
            {"abc", -EINVAL, 0},
            {"--1", -EINVAL, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                long long v = 777;
                int r = safe_atoi64(cases[i].s, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                assert_true(v == (r == 0 ? cases[i].v : 777));
        }
        assert_int_equal(safe_atoi64(NULL, &(long long){0}), -EINVAL);
}

static void test_atod(void **state)
{
        static const struct {
                const char *s;
                int r;
                double v;
        } cases[] = {
            {"0", 0, 0.0},
            {"1.5", 0, 1.5},
            {"-1.5", 0, -1.5},
            {"+2", 0, 2.0},
            {".5", 0, 0.5},
            {"5.", 0, 5.0},
            {" 9600 ", 0, 9600.0},
            {"1e3", 0, 1000.0},
            {"2.5E-1", 0, 0.25},
            {"1e-400", 0, 0.0}, /* underflow: nearest double */
            {"1e400", -ERANGE, 0},
            {"-1e400", -ERANGE, 0},
            {"inf", -ERANGE, 0},
            {"-inf", -ERANGE, 0},
            {"infinity", -ERANGE, 0},
            {"nan", -ERANGE, 0},
            {"NAN", -ERANGE, 0},
            {"0x1p3", -EINVAL, 0},
            {"nan(123)", -ERANGE, 0},
            {"+Infinity", -ERANGE, 0},
            {"infx", -EINVAL, 0},
            {"1e", -EINVAL, 0},
            {"", -EINVAL, 0},
            {" ", -EINVAL, 0},
            {".", -EINVAL, 0},
            {"-", -EINVAL, 0},
            {"1.2.3", -EINVAL, 0},
            {"1,5", -EINVAL, 0},
            {"1x", -EINVAL, 0},
            {"1 2", -EINVAL, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                double v = 777.0;
                int r = safe_atod(cases[i].s, &v);

                if (r != cases[i].r)
                        fail_msg("\"%s\": r=%d, expected %d", cases[i].s, r, cases[i].r);
                assert_true(v == (r == 0 ? cases[i].v : 777.0));
        }
        assert_int_equal(safe_atod(NULL, &(double){0}), -EINVAL);
}

static void test_csv_has(void **state)
{
        (void)state;
        assert_true(csv_has("1.2", "1.2"));
        assert_true(csv_has("0,1.2,3", "1.2"));
        assert_true(csv_has("0,3", "3"));
        assert_false(csv_has("1.20,3", "1.2"));
        assert_false(csv_has("11.2", "1.2"));
        assert_false(csv_has("", "1"));
        assert_false(csv_has(NULL, "1"));
        assert_true(csv_has("a,,b", ""));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_streq),    cmocka_unit_test(test_startswith),
            cmocka_unit_test(test_strscpy),  cmocka_unit_test(test_strstrip),
            cmocka_unit_test(test_strlower), cmocka_unit_test(test_strdup_or_null),
            cmocka_unit_test(test_utf8),     cmocka_unit_test(test_edit_distance),
            cmocka_unit_test(test_atoi64),   cmocka_unit_test(test_atod),
            cmocka_unit_test(test_csv_has),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
