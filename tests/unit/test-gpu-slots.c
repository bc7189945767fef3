/* test-gpu-slots.c - unit tests for gpu/slots: slot names both ways, MIG
 * weights (1g of 7, 2g on A100, 3g on H100, 7g, nonsense), profile names out
 * of NVML device names, slice counts out of profiles, and the detection of the
 * element size NVML writes into process lists (16, 24, 32, and garbage). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gpu/nvml-api.h"
#include "gpu/slots.h"

static void test_slot_format(void **state)
{
        static const struct {
                unsigned gpu;
                int mig;
                const char *want;
        } cases[] = {
            {0, -1, "0"},    {7, -1, "7"},    {1, 0, "1.0"},
            {1, 6, "1.6"},   {12, 3, "12.3"}, {4294967295u, -1, "4294967295"},
            {63, 7, "63.7"},
        };
        char buf[GPU_SLOT_NAME_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(gpu_slot_format(buf, sizeof(buf), cases[i].gpu, cases[i].mig), 0);
                assert_string_equal(buf, cases[i].want);
        }
        assert_int_equal(gpu_slot_format(buf, 3, 12, 3), -ENOBUFS);
        assert_int_equal(gpu_slot_format(buf, 2, 1, -1), 0);
        assert_int_equal(gpu_slot_format(buf, 1, 1, -1), -ENOBUFS);
}

static void test_slot_parse(void **state)
{
        static const struct {
                const char *s;
                int r;
                unsigned gpu;
                int mig;
        } cases[] = {
            {"0", 0, 0, -1},         {"7", 0, 7, -1},
            {"1.0", 0, 1, 0},        {"1.6", 0, 1, 6},
            {"12.3", 0, 12, 3},      {"", -EINVAL, 0, 0},
            {".1", -EINVAL, 0, 0},   {"1.", -EINVAL, 0, 0},
            {"1..2", -EINVAL, 0, 0}, {"1.2.3", -EINVAL, 0, 0},
            {"01", -EINVAL, 0, 0},   {"1.01", -EINVAL, 0, 0},
            {"-1", -EINVAL, 0, 0},   {"+1", -EINVAL, 0, 0},
            {" 1", -EINVAL, 0, 0},   {"1 ", -EINVAL, 0, 0},
            {"1:0", -EINVAL, 0, 0},  {"GPU-1", -EINVAL, 0, 0},
            {"a", -EINVAL, 0, 0},    {"99999999999", -EINVAL, 0, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned gpu = 999;
                int mig = 999;
                int r = gpu_slot_parse(cases[i].s, &gpu, &mig);
                assert_int_equal(r, cases[i].r);
                if (r == 0) {
                        assert_int_equal(gpu, cases[i].gpu);
                        assert_int_equal(mig, cases[i].mig);
                } else {
                        /* out-parameters untouched on failure */
                        assert_int_equal(gpu, 999);
                        assert_int_equal(mig, 999);
                }
        }
        assert_int_equal(gpu_slot_parse(NULL, &(unsigned){0}, &(int){0}), -EINVAL);
}

static void test_mig_weight(void **state)
{
        static const struct {
                unsigned slices, total;
                double want;
        } cases[] = {
            {1, 7, 1.0 / 7},              /* 1g of 7 */
            {2, 7, 2.0 / 7},              /* 2g.10gb on A100 */
            {3, 7, 3.0 / 7},              /* 3g.40gb on H100 */
            {4, 7, 4.0 / 7}, {7, 7, 1.0}, /* 7g is a whole GPU */
            {1, 4, 0.25},                 /* A30: 4 slices */
            {2, 8, 0.25},    {0, 7, -1.0}, {8, 7, -1.0}, {1, 0, -1.0}, {0, 0, -1.0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_true(fabs(gpu_mig_weight(cases[i].slices, cases[i].total) - cases[i].want) <
                            1e-12);
        /* seven 1g slices add up to one GPU within the allocator's epsilon */
        double sum = 0;
        for (int i = 0; i < 7; i++)
                sum += gpu_mig_weight(1, 7);
        assert_true(fabs(sum - 1.0) < 1e-9);
}

static void test_profile_from_name(void **state)
{
        static const struct {
                const char *name;
                int r;
                const char *want;
        } cases[] = {
            {"NVIDIA A100-SXM4-40GB MIG 1g.5gb", 0, "1g.5gb"},
            {"NVIDIA A100-SXM4-40GB MIG 3g.20gb", 0, "3g.20gb"},
            {"NVIDIA H100 80GB HBM3 MIG 1g.10gb", 0, "1g.10gb"},
            {"NVIDIA H100 80GB HBM3 MIG 1g.10gb+me", 0, "1g.10gb+me"},
            {"NVIDIA A100-PCIE-40GB MIG 1c.3g.20gb", 0, "1c.3g.20gb"},
            {"MIG 2g.10gb", 0, "2g.10gb"},
            {"NVIDIA A100-SXM4-40GB", -ENOENT, NULL},
            {"NVIDIA A100 MIG ", -ENOENT, NULL},
            {"NVIDIA AMIG 1g.5gb", -ENOENT, NULL},
            {"", -ENOENT, NULL},
            {NULL, -ENOENT, NULL},
        };
        char buf[32];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int r = gpu_profile_from_name(cases[i].name, buf, sizeof(buf));
                assert_int_equal(r, cases[i].r);
                if (r == 0)
                        assert_string_equal(buf, cases[i].want);
        }
        assert_int_equal(gpu_profile_from_name("X MIG 1g.5gb", buf, 6), -ENOBUFS);
}

static void test_profile_slices(void **state)
{
        static const struct {
                const char *p;
                int r;
                unsigned gi, ci;
        } cases[] = {
            {"1g.5gb", 0, 1, 1},       {"2g.10gb", 0, 2, 2},          {"3g.20gb", 0, 3, 3},
            {"7g.80gb", 0, 7, 7},      {"1c.3g.20gb", 0, 3, 1},       {"2c.3g.20gb", 0, 3, 2},
            {"1g.10gb+me", 0, 1, 1},   {"4c.3g.20gb", -EINVAL, 0, 0}, {"g.5gb", -EINVAL, 0, 0},
            {"0g.5gb", -EINVAL, 0, 0}, {"1x.5gb", -EINVAL, 0, 0},     {"", -EINVAL, 0, 0},
            {"1gb", -EINVAL, 0, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                unsigned gi = 0, ci = 0;
                int r = gpu_profile_slices(cases[i].p, &gi, &ci);
                assert_int_equal(r, cases[i].r);
                if (r == 0) {
                        assert_int_equal(gi, cases[i].gi);
                        assert_int_equal(ci, cases[i].ci);
                }
        }
}

/* Simulate a driver writing `n` elements of `size` bytes into a buffer that was
 * filled with a pattern; returns the stride the detector reports. */
static int simulate(size_t elem, unsigned n, size_t cap_elems, bool noisy)
{
        unsigned char a[64 * 32], b[64 * 32];
        size_t len = cap_elems * 32;

        memset(a, GPU_STRIDE_PATTERN_A, len);
        memset(b, GPU_STRIDE_PATTERN_B, len);
        for (unsigned i = 0; i < n; i++) {
                nvmlProcessInfo_v3_t p = {
                    .pid = 1000 + i,
                    /* values that contain both pattern bytes must not confuse it */
                    .usedGpuMemory = noisy ? 0xa55a5aa5a55a5aa5ULL : (1ULL << 30) * (i + 1),
                    .gpuInstanceId = noisy ? 0xa5a5a5a5u : 0xffffffffu,
                    .computeInstanceId = noisy ? 0x5a5a5a5au : 0xffffffffu,
                    .usedGpuCcProtectedMemory = 0,
                };
                /* The driver writes field by field: padding stays as it was. */
                unsigned char *da = a + i * elem, *db = b + i * elem;
                memcpy(da, &p.pid, 4);
                memcpy(db, &p.pid, 4);
                memcpy(da + 8, &p.usedGpuMemory, 8);
                memcpy(db + 8, &p.usedGpuMemory, 8);
                if (elem >= 24) {
                        memcpy(da + 16, &p.gpuInstanceId, 4);
                        memcpy(db + 16, &p.gpuInstanceId, 4);
                        memcpy(da + 20, &p.computeInstanceId, 4);
                        memcpy(db + 20, &p.computeInstanceId, 4);
                }
                if (elem >= 32) {
                        memcpy(da + 24, &p.usedGpuCcProtectedMemory, 8);
                        memcpy(db + 24, &p.usedGpuCcProtectedMemory, 8);
                }
        }
        return gpu_detect_process_stride(a, b, len, n);
}

static void test_process_stride(void **state)
{
        static const size_t elems[] = {16, 24, 32};

        assert_int_equal(sizeof(nvmlProcessInfo_v1_t), 16);
        assert_int_equal(sizeof(nvmlProcessInfo_v2_t), 24);
        assert_int_equal(sizeof(nvmlProcessInfo_v3_t), 32);
        for (size_t e = 0; e < 3; e++)
                for (unsigned n = 1; n <= 40; n += 3) {
                        assert_int_equal(simulate(elems[e], n, 64, false), (int)elems[e]);
                        assert_int_equal(simulate(elems[e], n, 64, true), (int)elems[e]);
                }
        /* the buffer exactly full */
        assert_int_equal(simulate(32, 8, 8, false), 32);
        assert_int_equal(simulate(24, 8, 8, false), 24);
        /* nothing written, count 0, or a length that fits no layout */
        assert_int_equal(simulate(24, 0, 8, false), -EPROTO);
        {
                unsigned char a[256], b[256];
                memset(a, GPU_STRIDE_PATTERN_A, sizeof(a));
                memset(b, GPU_STRIDE_PATTERN_B, sizeof(b));
                assert_int_equal(gpu_detect_process_stride(a, b, sizeof(a), 2), -EPROTO);
                memset(a, 0, 20); /* 20 bytes: no layout */
                memset(b, 0, 20);
                assert_int_equal(gpu_detect_process_stride(a, b, sizeof(a), 1), -EPROTO);
                memset(a, 0, 40); /* 40 bytes for 2 elements: no layout */
                memset(b, 0, 40);
                assert_int_equal(gpu_detect_process_stride(a, b, sizeof(a), 2), -EPROTO);
                /* a count that claims more than the buffer holds */
                assert_int_equal(gpu_detect_process_stride(a, b, 32, 4), -EPROTO);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_slot_format),    cmocka_unit_test(test_slot_parse),
            cmocka_unit_test(test_mig_weight),     cmocka_unit_test(test_profile_from_name),
            cmocka_unit_test(test_profile_slices), cmocka_unit_test(test_process_stride),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
