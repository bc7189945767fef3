/* test-cli-overview.c - unit tests for cli/overview.c, what `ds01 status` and
 * `ds01 top` make of GET /v1/overview: the rows of every slot, the three sort
 * orders (ties keep the GPU order; unknown utilization last), the columns
 * lining up with and without colour, memory and number formats, the header
 * and summary lines, and who is near quota. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/overview.h"

/* Two GPUs: a full one (76 %) and a MIG one with four slots. */
static const char overview_text[] =
    "{\"time\": \"2026-11-22T10:05:07.123456Z\", \"version\": \"0.8.0\", \"hostname\": \"gpu01\","
    " \"health\": {\"status\": \"warn\", \"checks\": []},"
    " \"nvml\": {\"available\": true, \"reason\": null},"
    " \"summary\": {\"slots_total\": 5, \"slots_allocated\": 3, \"slots_free\": 2,"
    "   \"gpu_equivalents_total\": 2.0, \"gpu_equivalents_allocated\": 0.428571,"
    "   \"containers_running\": 1, \"queue_length\": 2, \"users_active\": 2,"
    "   \"host_gpu_processes\": 0, \"alerts\": 1},"
    " \"gpus\": ["
    "  {\"index\": 0, \"healthy\": true, \"slots\": ["
    "    {\"slot\": \"0\", \"kind\": \"full\", \"profile\": null, \"state\": \"free\","
    "     \"healthy\": true, \"user\": null, \"container\": null, \"reserved_for\": \"user:bob\","
    "     \"utilization_percent\": 76, \"memory_used_bytes\": 32212254720,"
    "     \"memory_total_bytes\": 42949672960, \"processes\": 1, \"host_processes\": 0,"
    "     \"unmanaged\": false}]},"
    "  {\"index\": 1, \"healthy\": true, \"slots\": ["
    "    {\"slot\": \"1.0\", \"profile\": \"1g.5gb\", \"state\": \"active\", \"healthy\": true,"
    "     \"user\": \"zed\", \"container\": \"z-1\", \"utilization_percent\": null,"
    "     \"memory_used_bytes\": 1073741824, \"memory_total_bytes\": 5368709120,"
    "     \"processes\": 0},"
    "    {\"slot\": \"1.1\", \"profile\": \"1g.5gb\", \"state\": \"active\", \"healthy\": true,"
    "     \"user\": \"amy\", \"container\": \"a-2\", \"utilization_percent\": null,"
    "     \"memory_used_bytes\": 0, \"memory_total_bytes\": 5368709120, \"processes\": 0},"
    "    {\"slot\": \"1.2\", \"profile\": \"1g.5gb\", \"state\": \"free\", \"healthy\": false,"
    "     \"user\": null, \"container\": null, \"utilization_percent\": null,"
    "     \"memory_used_bytes\": null, \"memory_total_bytes\": null, \"processes\": 0},"
    "    {\"slot\": \"1.3\", \"profile\": \"1g.5gb\", \"state\": \"held\", \"healthy\": true,"
    "     \"user\": \"amy\", \"container\": \"a-1\", \"utilization_percent\": null,"
    "     \"memory_used_bytes\": 2147483648, \"memory_total_bytes\": 5368709120,"
    "     \"processes\": 2, \"host_processes\": 1, \"unmanaged\": true}]}],"
    " \"users\": [{\"user\": \"amy\", \"percent_of_quota\": 95.2},"
    "   {\"user\": \"bob\", \"percent_of_quota\": 79.9},"
    "   {\"user\": \"zed\", \"percent_of_quota\": null},"
    "   {\"user\": \"eve\", \"percent_of_quota\": 80}]"
    "}";

static json_t *load(void)
{
        json_error_t e;
        json_t *j = json_loads(overview_text, 0, &e);
        if (!j)
                fail_msg("fixture: %s at line %d column %d", e.text, e.line, e.column);
        return j;
}

static void order_is(const struct ov_row *rows, size_t n, const char *const *want)
{
        for (size_t i = 0; i < n; i++)
                assert_string_equal(rows[i].slot, want[i]);
}

static void test_rows(void **state)
{
        json_t *j = load();
        struct ov_row *rows = NULL;
        size_t n = 0;

        assert_int_equal(ov_rows(j, &rows, &n), 0);
        assert_int_equal(n, 5);
        assert_string_equal(rows[0].slot, "0");
        assert_null(rows[0].profile);
        assert_int_equal(rows[0].util, 76);
        assert_string_equal(rows[0].reserved_for, "user:bob");
        assert_int_equal(rows[1].gpu, 1);
        assert_string_equal(rows[1].user, "zed");
        assert_int_equal(rows[1].util, -1);
        assert_int_equal(rows[3].mem_used, -1);
        assert_false(rows[3].healthy);
        assert_string_equal(ov_row_state(&rows[3]), "UNHEALTHY");
        assert_string_equal(ov_row_state(&rows[4]), "held");
        assert_true(rows[4].unmanaged);
        free(rows);

        /* no GPUs at all: no rows, no failure */
        json_object_del(j, "gpus");
        assert_int_equal(ov_rows(j, &rows, &n), 0);
        assert_int_equal(n, 0);
        free(rows);
        json_decref(j);
}

static void test_sort(void **state)
{
        static const char *const by_user[] = {"1.3", "1.1", "1.0", "0", "1.2"};
        static const char *const by_util[] = {"0", "1.3", "1.0", "1.1", "1.2"};
        static const char *const by_gpu[] = {"0", "1.0", "1.1", "1.2", "1.3"};
        json_t *j = load();
        struct ov_row *rows = NULL;
        size_t n = 0;

        assert_int_equal(ov_rows(j, &rows, &n), 0);
        /* amy's a-1 before amy's a-2, then zed; free slots last, in GPU order */
        ov_rows_sort(rows, n, OV_SORT_USER);
        order_is(rows, n, by_user);
        /* 76 % first; the rest unknown: memory used decides, unknown memory last */
        ov_rows_sort(rows, n, OV_SORT_UTIL);
        order_is(rows, n, by_util);
        ov_rows_sort(rows, n, OV_SORT_GPU);
        order_is(rows, n, by_gpu);
        free(rows);
        json_decref(j);
}

static void test_sort_names(void **state)
{
        enum ov_sort s = OV_SORT_GPU;

        assert_int_equal(ov_sort_parse("user", &s), 0);
        assert_int_equal(s, OV_SORT_USER);
        assert_int_equal(ov_sort_parse("utilization", &s), 0);
        assert_int_equal(s, OV_SORT_UTIL);
        assert_int_equal(ov_sort_parse("slot", &s), 0);
        assert_int_equal(s, OV_SORT_GPU);
        assert_int_equal(ov_sort_parse("memory", &s), -EINVAL);
        assert_int_equal(ov_sort_parse(NULL, &s), -EINVAL);
        assert_int_equal(s, OV_SORT_GPU);
        assert_string_equal(ov_sort_name(OV_SORT_UTIL), "util");
        assert_int_equal(ov_sort_next(OV_SORT_GPU), OV_SORT_USER);
        assert_int_equal(ov_sort_next(OV_SORT_USER), OV_SORT_UTIL);
        assert_int_equal(ov_sort_next(OV_SORT_UTIL), OV_SORT_GPU);
}

/* What is left of s without its ANSI sequences. */
static void strip_ansi(char *s)
{
        char *w = s;
        for (const char *r = s; *r;) {
                if (*r == '\033') {
                        while (*r && *r != 'm')
                                r++;
                        if (*r)
                                r++;
                        continue;
                }
                *w++ = *r++;
        }
        *w = '\0';
}

static void test_format(void **state)
{
        json_t *j = load();
        struct ov_row *rows = NULL;
        struct ov_widths w;
        char head[OV_LINE_MAX], plain[OV_LINE_MAX], color[OV_LINE_MAX];
        size_t n = 0;

        assert_int_equal(ov_rows(j, &rows, &n), 0);
        ov_widths_of(rows, n, &w);
        assert_int_equal(w.state, (int)strlen("UNHEALTHY"));
        ov_row_header(head, sizeof(head), &w);
        assert_string_equal(head, "GPU SLOT PROFILE STATE     USER CONTAINER UTIL MEMORY          "
                                  "NOTE");
        ov_row_format(plain, sizeof(plain), &rows[0], &w, false);
        assert_string_equal(plain, "0   0    full    free      -    -          76% 30.0/40.0 GiB  "
                                   " reserved user:bob, 1 process");
        ov_row_format(plain, sizeof(plain), &rows[1], &w, false);
        assert_string_equal(plain, "1   1.0  1g.5gb  active    zed  z-1          - 1.0/5.0 GiB");
        ov_row_format(plain, sizeof(plain), &rows[4], &w, false);
        assert_string_equal(plain, "1   1.3  1g.5gb  held      amy  a-1          - 2.0/5.0 GiB    "
                                   " 2 processes, 1 outside containers, used by an unmanaged "
                                   "container");
        /* the state column starts where the header says */
        assert_int_equal(ov_row_state_column(&w), (int)(strstr(head, "STATE") - head));
        /* with colour: the same text once the escapes are gone */
        for (size_t i = 0; i < n; i++) {
                ov_row_format(plain, sizeof(plain), &rows[i], &w, false);
                ov_row_format(color, sizeof(color), &rows[i], &w, true);
                assert_non_null(strchr(color, '\033'));
                strip_ansi(color);
                assert_string_equal(color, plain);
        }
        assert_non_null(ov_state_color("free"));
        assert_null(ov_state_color(NULL));
        free(rows);
        json_decref(j);
}

static void test_numbers(void **state)
{
        char buf[64];

        assert_string_equal(ov_format_memory(buf, sizeof(buf), -1, -1), "-");
        assert_string_equal(ov_format_memory(buf, sizeof(buf), 0, 5368709120LL), "0.0/5.0 GiB");
        assert_string_equal(ov_format_memory(buf, sizeof(buf), 1610612736LL, -1), "1.5 GiB");
        assert_string_equal(ov_format_memory(buf, sizeof(buf), -1, 1073741824LL), "0.0/1.0 GiB");
        assert_string_equal(ov_format_number(buf, sizeof(buf), 0.428571), "0.43");
        assert_string_equal(ov_format_number(buf, sizeof(buf), 2.0), "2");
        assert_string_equal(ov_format_number(buf, sizeof(buf), 0.5), "0.5");
        /* a buffer too small is cut, never overrun */
        assert_string_equal(ov_format_memory(buf, 4, 0, 5368709120LL), "0.0");
}

static void test_lines(void **state)
{
        json_t *j = load();
        char buf[OV_LINE_MAX];

        assert_string_equal(ov_summary_line(buf, sizeof(buf), j),
                            "3/5 slots allocated (0.43 of 2 GPU-equivalents), 1 container "
                            "running, 2 users active, 2 queued, 1 alert");
        assert_string_equal(ov_header_line(buf, sizeof(buf), j),
                            "2026-11-22 10:05 UTC, gpu01, health WARN, NVML available");
        json_object_set_new(json_object_get(j, "nvml"), "available", json_false());
        json_object_set_new(json_object_get(j, "nvml"), "reason",
                            json_string("libnvidia-ml.so.1 not found"));
        json_object_del(j, "time");
        assert_string_equal(
            ov_header_line(buf, sizeof(buf), j),
            "-, gpu01, health WARN, NVML unavailable (libnvidia-ml.so.1 not found)");
        json_decref(j);
}

static void test_near_quota(void **state)
{
        json_t *j = load(), *users = json_object_get(j, "users");

        assert_true(ov_user_near_quota(json_array_get(users, 0)));  /* 95.2 */
        assert_false(ov_user_near_quota(json_array_get(users, 1))); /* 79.9 */
        assert_false(ov_user_near_quota(json_array_get(users, 2))); /* unlimited */
        assert_true(ov_user_near_quota(json_array_get(users, 3)));  /* exactly 80 */
        assert_false(ov_user_near_quota(NULL));
        json_decref(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows),       cmocka_unit_test(test_sort),
            cmocka_unit_test(test_sort_names), cmocka_unit_test(test_format),
            cmocka_unit_test(test_numbers),    cmocka_unit_test(test_lines),
            cmocka_unit_test(test_near_quota),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
