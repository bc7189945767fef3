/* test-expo.c - the Prometheus text writer: HELP/TYPE lines, label escaping,
 * value syntax (integers, fractions, NaN, infinities), invalid names, and the
 * sticky error when the output buffer's ceiling is reached. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/expo.h"

static void test_family_and_samples(void **state)
{
        struct strbuf sb;
        struct expo e;
        const char *labels[] = {"gpu_slot", "1.2", "user", "a\"b\\c\nd", NULL};

        strbuf_init(&sb, 1 << 20);
        expo_init(&e, &sb);
        expo_family(&e, "ds01_gpu_allocated", EXPO_GAUGE, "1 per allocated slot\\ and \nline");
        expo_sample(&e, NULL, labels, 1);
        expo_sample1(&e, NULL, NULL, 0.14285714285714285);
        expo_family(&e, "ds01_queue_wait_seconds", EXPO_SUMMARY, "wait");
        expo_sample1(&e, "quantile", "0.5", NAN);
        expo_sample(&e, "_sum", NULL, INFINITY);
        expo_sample(&e, "_count", NULL, -INFINITY);
        expo_sample1(&e, "x", "", 12345678901.0);
        assert_int_equal(expo_finish(&e), 0);
        assert_string_equal(strbuf_str(&sb),
                            "# HELP ds01_gpu_allocated 1 per allocated slot\\\\ and \\nline\n"
                            "# TYPE ds01_gpu_allocated gauge\n"
                            "ds01_gpu_allocated{gpu_slot=\"1.2\",user=\"a\\\"b\\\\c\\nd\"} 1\n"
                            "ds01_gpu_allocated 0.14285714285714285\n"
                            "# HELP ds01_queue_wait_seconds wait\n"
                            "# TYPE ds01_queue_wait_seconds summary\n"
                            "ds01_queue_wait_seconds{quantile=\"0.5\"} NaN\n"
                            "ds01_queue_wait_seconds_sum +Inf\n"
                            "ds01_queue_wait_seconds_count -Inf\n"
                            "ds01_queue_wait_seconds{x=\"\"} 12345678901\n");
        strbuf_release(&sb);
}

static void test_names(void **state)
{
        static const struct {
                const char *s;
                int label, ok;
        } cases[] = {
            {"ds01_x", 0, 1}, {"ds01:x", 0, 1}, {"ds01:x", 1, 0}, {"_a", 1, 1}, {"9a", 0, 0},
            {"", 0, 0},       {"a-b", 0, 0},    {"a b", 1, 0},    {"a9", 1, 1},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(expo_name_valid(cases[i].s, cases[i].label), cases[i].ok);
        assert_int_equal(expo_name_valid(NULL, 0), 0);
}

static void test_errors(void **state)
{
        struct strbuf sb;
        struct expo e;
        const char *bad[] = {"bad-label", "v", NULL};

        strbuf_init(&sb, 1 << 20);
        expo_init(&e, &sb);
        expo_sample1(&e, NULL, NULL, 1); /* no family open */
        assert_int_equal(expo_finish(&e), -EINVAL);

        expo_init(&e, &sb);
        expo_family(&e, "bad name", EXPO_GAUGE, "x");
        assert_int_equal(expo_finish(&e), -EINVAL);

        expo_init(&e, &sb);
        expo_family(&e, "ok", EXPO_GAUGE, "x");
        expo_sample(&e, NULL, bad, 1);
        assert_int_equal(expo_finish(&e), -EINVAL);
        strbuf_release(&sb);

        /* the ceiling: sticky -E2BIG, the buffer keeps what fitted */
        strbuf_init(&sb, 64);
        expo_init(&e, &sb);
        expo_family(&e, "ds01_a_rather_long_metric_name", EXPO_COUNTER, "help text here");
        for (int i = 0; i < 10; i++)
                expo_sample1(&e, "k", "v", i);
        assert_int_equal(expo_finish(&e), -E2BIG);
        assert_true(sb.len <= 64);
        strbuf_release(&sb);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_family_and_samples),
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
