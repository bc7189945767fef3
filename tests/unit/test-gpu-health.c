/* test-gpu-health.c - unit tests for daemon/gpu-health-decide.c: when a GPU
 * counts as lost or recovered (the first reading, repeated readings, how
 * long the previous state lasted) and the texts its holders get (the
 * container, its slots, the reason, what to do; truncation). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/gpu-health-decide.h"

#define S 1000000LL /* one second in microseconds */

static void first_reading_healthy_is_no_change(void **state)
{
        struct gpu_health_track t = {0};
        int64_t lasted = -1;

        (void)state;
        assert_int_equal(gpu_health_step(&t, true, 10 * S, &lasted), GPU_HEALTH_SAME);
        assert_int_equal(lasted, 0);
        assert_true(t.seen);
        assert_true(t.healthy);
        assert_int_equal(t.since, 10 * S);
        /* and it stays so */
        assert_int_equal(gpu_health_step(&t, true, 15 * S, &lasted), GPU_HEALTH_SAME);
        assert_int_equal(t.since, 10 * S);
}

static void first_reading_unhealthy_is_lost(void **state)
{
        struct gpu_health_track t = {0};
        int64_t lasted = -1;

        (void)state;
        /* a GPU already bad when ds01d starts is announced, once */
        assert_int_equal(gpu_health_step(&t, false, 10 * S, &lasted), GPU_HEALTH_LOST);
        assert_int_equal(lasted, 0);
        assert_int_equal(gpu_health_step(&t, false, 15 * S, &lasted), GPU_HEALTH_SAME);
        assert_int_equal(gpu_health_step(&t, false, 20 * S, NULL), GPU_HEALTH_SAME);
        assert_int_equal(gpu_health_step(&t, true, 25 * S, &lasted), GPU_HEALTH_RECOVERED);
        assert_int_equal(lasted, 15 * S);
}

static void lost_then_recovered(void **state)
{
        struct gpu_health_track t = {0};
        int64_t lasted = -1;

        (void)state;
        assert_int_equal(gpu_health_step(&t, true, 0, NULL), GPU_HEALTH_SAME);
        assert_int_equal(gpu_health_step(&t, true, 5 * S, NULL), GPU_HEALTH_SAME);
        assert_int_equal(gpu_health_step(&t, false, 100 * S, &lasted), GPU_HEALTH_LOST);
        assert_int_equal(lasted, 100 * S); /* healthy since the first reading */
        assert_false(t.healthy);
        assert_int_equal(t.since, 100 * S);
        /* repeated bad readings: one announcement only */
        for (int i = 1; i <= 10; i++) {
                assert_int_equal(gpu_health_step(&t, false, (100 + 5 * i) * S, &lasted),
                                 GPU_HEALTH_SAME);
                assert_int_equal(lasted, 0);
        }
        assert_int_equal(gpu_health_step(&t, true, 200 * S, &lasted), GPU_HEALTH_RECOVERED);
        assert_int_equal(lasted, 100 * S);
        /* and lost again: a second announcement */
        assert_int_equal(gpu_health_step(&t, false, 230 * S, &lasted), GPU_HEALTH_LOST);
        assert_int_equal(lasted, 30 * S);
}

static void clock_going_back_never_gives_negative(void **state)
{
        struct gpu_health_track t = {0};
        int64_t lasted = -1;

        (void)state;
        assert_int_equal(gpu_health_step(&t, true, 100 * S, NULL), GPU_HEALTH_SAME);
        /* the wall clock was set back */
        assert_int_equal(gpu_health_step(&t, false, 50 * S, &lasted), GPU_HEALTH_LOST);
        assert_int_equal(lasted, 0);
}

static void lost_text(void **state)
{
        char buf[1024];
        int r;

        (void)state;
        r = gpu_health_holder_text(buf, sizeof(buf), GPU_HEALTH_LOST, 3,
                                   "memory: GPU is lost (NVML error 15)", "alice-train", "3");
        assert_int_equal(r, (int)strlen(buf));
        assert_non_null(strstr(buf, "ds01: GPU 3 stopped answering the NVIDIA driver (memory: GPU "
                                    "is lost (NVML error 15))."));
        assert_non_null(strstr(buf, "container 'alice-train' uses it (slot 3)"));
        assert_non_null(strstr(buf, "docker rm -f alice-train"));
        assert_non_null(strstr(buf, "Nobody gets GPU 3 until it works again"));

        /* several slots, no reason */
        r = gpu_health_holder_text(buf, sizeof(buf), GPU_HEALTH_LOST, 1, "", "c", "1.0,1.3");
        assert_true(r > 0);
        assert_non_null(strstr(buf, "GPU 1 stopped answering the NVIDIA driver. Your"));
        assert_non_null(strstr(buf, "(slots 1.0,1.3)"));
        r = gpu_health_holder_text(buf, sizeof(buf), GPU_HEALTH_LOST, 1, NULL, NULL, NULL);
        assert_true(r > 0);
        assert_non_null(strstr(buf, "container '?' uses it (slot ?)"));
}

static void recovered_text(void **state)
{
        char buf[512];

        (void)state;
        assert_true(gpu_health_holder_text(buf, sizeof(buf), GPU_HEALTH_RECOVERED, 0, "ignored",
                                           "bob-nb", "0") > 0);
        assert_string_equal(buf, "ds01: GPU 0 answers the NVIDIA driver again. Your container "
                                 "'bob-nb' (slot 0) keeps it; if its work failed while the GPU "
                                 "was gone, restart it.");
}

static void text_truncates_and_refuses(void **state)
{
        char small[16];
        int need;

        (void)state;
        need = gpu_health_holder_text(small, sizeof(small), GPU_HEALTH_LOST, 2, "x", "c", "2");
        assert_true(need > (int)sizeof(small));
        assert_int_equal(strlen(small), sizeof(small) - 1);
        assert_int_equal(gpu_health_holder_text(small, 0, GPU_HEALTH_LOST, 2, "x", "c", "2"),
                         -EINVAL);
        assert_int_equal(
            gpu_health_holder_text(small, sizeof(small), GPU_HEALTH_SAME, 2, "x", "c", "2"),
            -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(first_reading_healthy_is_no_change),
            cmocka_unit_test(first_reading_unhealthy_is_lost),
            cmocka_unit_test(lost_then_recovered),
            cmocka_unit_test(clock_going_back_never_gives_negative),
            cmocka_unit_test(lost_text),
            cmocka_unit_test(recovered_text),
            cmocka_unit_test(text_truncates_and_refuses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
