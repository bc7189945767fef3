/* test-gpu.c - gpu/gpu.c through the fake NVML library (tests/fakenvml), the
 * same dlopen path production uses: every shipped topology fixture, CPU-only
 * fallbacks (no library, nvmlInit failing), symbol fallback (an old driver
 * without _v2/_v3 symbols, symbols answering FUNCTION_NOT_FOUND), process list
 * element sizes 16/24/32, lists longer than the first buffer, process types,
 * GPM utilization of MIG slots, a GPU lost mid-run, XID events, and fixture
 * changes seen by an open context.
 *
 * Environment (set by CTest): DS01_TEST_FAKENVML, DS01_TEST_FAKENVML_LEGACY
 * (the two builds of the fake) and DS01_TEST_TOPOLOGIES (fixture folder). */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpu/gpu.h"
#include "util/macro.h"

static const char *fake_lib, *legacy_lib, *topologies;
static char tmpdir[] = "/tmp/ds01-test-gpu.XXXXXX";

static const char *fixture(const char *name)
{
        static char path[4096];
        snprintf(path, sizeof(path), "%s/%s.yaml", topologies, name);
        return path;
}

/* Write a fixture atomically (temp file + rename), as the fake's README asks. */
static const char *write_fixture(const char *name, const char *text)
{
        static char path[4096];
        char tmp[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s.yaml", tmpdir, name);
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", tmpdir, name);
        f = fopen(tmp, "w");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(rename(tmp, path), 0);
        return path;
}

static struct gpu_ctx *open_with(const char *lib, const char *topology)
{
        struct gpu_ctx *ctx = NULL;

        if (topology)
                setenv("DS01_FAKENVML_TOPOLOGY", topology, 1);
        else
                unsetenv("DS01_FAKENVML_TOPOLOGY");
        assert_int_equal(gpu_ctx_open(lib, &ctx), 0);
        assert_non_null(ctx);
        return ctx;
}

static struct gpu_sample *sample(struct gpu_ctx *ctx)
{
        struct gpu_sample *s = NULL;
        assert_int_equal(gpu_sample_take(ctx, &s), 0);
        assert_non_null(s);
        return s;
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sample until pred holds or 3 s pass (the fake re-reads a changed fixture
 * within a millisecond; this waits for that condition, it does not guess). */
static struct gpu_sample *sample_until(struct gpu_ctx *ctx, bool (*pred)(const struct gpu_sample *))
{
        uint64_t deadline = now_ms() + 3000;

        for (;;) {
                struct gpu_sample *s = sample(ctx);
                if (pred(s))
                        return s;
                gpu_sample_free(s);
                if (now_ms() > deadline)
                        fail_msg("condition not reached within 3 s");
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
        }
}

static void check_slot(const struct gpu_topology *t, size_t k, const char *name,
                       enum gpu_slot_kind kind, double weight, const char *profile)
{
        const struct gpu_slot *s = &t->slots[k];

        assert_string_equal(s->name, name);
        assert_int_equal(s->kind, kind);
        assert_true(fabs(s->weight - weight) < 1e-12);
        if (kind == GPU_SLOT_FULL) {
                assert_int_equal(s->mig, -1);
                assert_memory_equal(s->uuid, "GPU-", 4);
                assert_string_equal(s->uuid, t->gpus[s->gpu].uuid);
        } else {
                assert_true(s->mig >= 0);
                assert_memory_equal(s->uuid, "MIG-", 4);
                assert_string_equal(t->gpus[s->gpu].mig[s->mig].profile, profile);
                assert_string_equal(s->uuid, t->gpus[s->gpu].mig[s->mig].uuid);
        }
        assert_ptr_equal(gpu_topology_find_slot(t, name), s);
        assert_ptr_equal(gpu_topology_find_uuid(t, s->uuid), s);
        /* a UUID is 36 characters after the prefix */
        assert_int_equal(strlen(s->uuid), 40);
}

/* ---- CPU-only fallbacks ------------------------------------------------ */

static void test_no_library(void **state)
{
        struct gpu_ctx *ctx = open_with("/nonexistent/libnvidia-ml.so.1", "x");
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;

        assert_false(t->available);
        assert_int_equal(t->n_gpus, 0);
        assert_int_equal(t->n_slots, 0);
        assert_non_null(strstr(t->reason, "NVML not available: cannot load "
                                          "/nonexistent/libnvidia-ml.so.1"));
        s = sample(ctx);
        assert_int_equal(s->n_gpus, 0);
        assert_int_equal(s->n_slots, 0);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);

        /* The default name; this machine has no NVIDIA driver (CI never has). */
        unsetenv("DS01_NVML_LIBRARY");
        ctx = open_with(NULL, NULL);
        t = gpu_ctx_topology(ctx);
        assert_false(t->available);
        assert_string_equal(t->reason,
                            "NVML not available: libnvidia-ml.so.1 not found (no NVIDIA driver?)");
        gpu_ctx_free(ctx);

        /* A file that is not NVML at all */
        ctx = open_with("libc.so.6", NULL);
        t = gpu_ctx_topology(ctx);
        assert_false(t->available);
        assert_non_null(strstr(t->reason, "not an NVML library"));
        gpu_ctx_free(ctx);
}

static void test_init_fails(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("init-fails"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);

        assert_false(t->available);
        assert_string_equal(
            t->reason, "NVML not available: nvmlInit failed: Driver Not Loaded (NVML error 9)");
        assert_int_equal(t->n_slots, 0);
        gpu_ctx_free(ctx);

        /* no fixture at all: the fake behaves like a machine without a driver */
        ctx = open_with(fake_lib, NULL);
        assert_false(gpu_ctx_topology(ctx)->available);
        assert_non_null(strstr(gpu_ctx_topology(ctx)->reason, "Driver Not Loaded"));
        gpu_ctx_free(ctx);
}

/* ---- shipped fixtures -------------------------------------------------- */

static void test_a100x4(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("a100x4"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;
        size_t procs = 0;

        assert_true(t->available);
        assert_int_equal(t->n_gpus, 4);
        assert_int_equal(t->n_slots, 4);
        for (size_t i = 0; i < 4; i++) {
                char name[4];
                snprintf(name, sizeof(name), "%zu", i);
                check_slot(t, i, name, GPU_SLOT_FULL, 1.0, NULL);
                assert_true(t->gpus[i].healthy);
                assert_int_equal(t->gpus[i].mig_current, GPU_MIG_DISABLED);
                assert_string_equal(t->gpus[i].name, "NVIDIA A100-SXM4-40GB");
                assert_int_equal(t->gpus[i].memory_total, 40960ULL << 20);
                assert_int_equal(strlen(t->gpus[i].pci_bus_id), 16);
        }
        assert_true(fabs(t->total_weight - 4.0) < 1e-9);
        assert_true(t->driver_version[0] != '\0');
        assert_true(t->cuda_driver_version > 0);

        s = sample(ctx);
        assert_int_equal(s->n_slots, 4);
        for (size_t i = 0; i < 4; i++) {
                const unsigned want = GPU_HAS_UTIL_GPU | GPU_HAS_UTIL_MEM | GPU_HAS_MEMORY |
                                      GPU_HAS_TEMPERATURE | GPU_HAS_POWER | GPU_HAS_POWER_LIMIT |
                                      GPU_HAS_ENERGY | GPU_HAS_CLOCK_SM | GPU_HAS_CLOCK_MEM |
                                      GPU_HAS_ECC;
                assert_int_equal(s->gpus[i].has & want, want);
                assert_true(s->gpus[i].healthy);
                assert_int_equal(s->slots[i].util_source, GPU_UTIL_NVML);
                assert_int_equal(s->slots[i].memory_total, 40960ULL << 20);
                assert_true(s->gpus[i].power_limit_mw >= s->gpus[i].power_mw);
                procs += s->slots[i].n_procs;
                for (size_t p = s->slots[i].first_proc;
                     p < s->slots[i].first_proc + s->slots[i].n_procs; p++) {
                        assert_int_equal(s->procs[p].slot, i);
                        assert_true(s->procs[p].pid > 0);
                }
        }
        assert_int_equal(procs, s->n_procs);
        assert_true(s->slots[0].n_procs > 0);
        assert_true(s->slots[2].n_procs > 0);
        assert_true(s->nvml_calls > 0);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void test_a100x8(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("a100x8"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);

        assert_int_equal(t->n_gpus, 8);
        assert_int_equal(t->n_slots, 8);
        assert_true(fabs(t->total_weight - 8.0) < 1e-9);
        for (size_t i = 0; i < 8; i++)
                assert_int_equal(t->gpus[i].memory_total, 81920ULL << 20);
        gpu_ctx_free(ctx);
}

static void check_mixed(const struct gpu_topology *t)
{
        static const struct {
                const char *name;
                enum gpu_slot_kind kind;
                double w;
                const char *profile;
        } want[] = {
            {"0", GPU_SLOT_FULL, 1.0, NULL},           {"1.0", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},
            {"1.1", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},  {"1.2", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},
            {"1.3", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},  {"1.4", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},
            {"1.5", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},  {"1.6", GPU_SLOT_MIG, 1.0 / 7, "1g.5gb"},
            {"2.0", GPU_SLOT_MIG, 2.0 / 7, "2g.10gb"}, {"2.1", GPU_SLOT_MIG, 2.0 / 7, "2g.10gb"},
            {"2.2", GPU_SLOT_MIG, 2.0 / 7, "2g.10gb"}, {"3.0", GPU_SLOT_MIG, 3.0 / 7, "3g.20gb"},
            {"3.1", GPU_SLOT_MIG, 3.0 / 7, "3g.20gb"},
        };

        assert_int_equal(t->n_gpus, 4);
        assert_int_equal(t->n_slots, 13);
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                check_slot(t, i, want[i].name, want[i].kind, want[i].w, want[i].profile);
        assert_true(fabs(t->total_weight - (1.0 + 1.0 + 6.0 / 7 + 6.0 / 7)) < 1e-9);
        assert_int_equal(t->gpus[0].mig_current, GPU_MIG_DISABLED);
        for (size_t i = 1; i < 4; i++) {
                assert_int_equal(t->gpus[i].mig_current, GPU_MIG_ENABLED);
                assert_int_equal(t->gpus[i].total_slices, 7);
                assert_false(t->gpus[i].gpm_supported);
        }
        assert_int_equal(t->gpus[1].n_mig, 7);
        assert_int_equal(t->gpus[2].n_mig, 3);
        assert_int_equal(t->gpus[3].n_mig, 2);
        assert_int_equal(t->gpus[3].mig[0].gpu_instance_slices, 3);
        assert_int_equal(t->gpus[3].mig[0].compute_slices, 3);
        assert_int_equal(t->gpus[1].mig[0].memory_total, 4864ULL << 20);
        assert_int_equal(t->gpus[2].mig[0].memory_total, 9856ULL << 20);
        assert_int_equal(t->gpus[3].mig[1].memory_total, 19968ULL << 20);
}

static void test_a100x4_mixed(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("a100x4-mixed"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;

        check_mixed(t);
        s = sample(ctx);
        for (size_t k = 1; k < 13; k++) {
                /* MIG on Ampere: memory yes, utilization not measurable */
                assert_true(s->slots[k].has & GPU_HAS_MEMORY);
                assert_false(s->slots[k].has & GPU_HAS_UTIL_GPU);
                assert_int_equal(s->slots[k].util_source, GPU_UTIL_NONE);
        }
        /* utilization of a MIG-enabled GPU is not supported by NVML either */
        assert_false(s->gpus[1].has & GPU_HAS_UTIL_GPU);
        assert_true(s->gpus[0].has & GPU_HAS_UTIL_GPU);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static bool all_gpm_valid(const struct gpu_sample *s)
{
        for (size_t k = 0; k < s->n_slots; k++)
                if (!(s->slots[k].has & GPU_HAS_UTIL_GPU))
                        return false;
        return true;
}

static void test_h100x8_mig(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("h100x8-mig"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;

        assert_int_equal(t->n_gpus, 8);
        assert_int_equal(t->n_slots, 56);
        for (size_t k = 0; k < 56; k++) {
                char name[8];
                snprintf(name, sizeof(name), "%zu.%zu", k / 7, k % 7);
                check_slot(t, k, name, GPU_SLOT_MIG, 1.0 / 7, "1g.10gb");
        }
        assert_true(fabs(t->total_weight - 8.0) < 1e-9);
        assert_true(t->gpus[0].gpm_supported);

        /* GPM needs two samples: the first round cannot measure */
        s = sample(ctx);
        for (size_t k = 0; k < 56; k++)
                assert_false(s->slots[k].has & GPU_HAS_UTIL_GPU);
        gpu_sample_free(s);
        s = sample(ctx);
        assert_true(all_gpm_valid(s));
        for (size_t k = 0; k < 56; k++) {
                assert_int_equal(s->slots[k].util_source, GPU_UTIL_GPM);
                assert_true(s->slots[k].util >= 0 && s->slots[k].util <= 100);
        }
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void test_h100x1_and_none(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("h100x1"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);

        assert_int_equal(t->n_gpus, 1);
        assert_int_equal(t->n_slots, 1);
        check_slot(t, 0, "0", GPU_SLOT_FULL, 1.0, NULL);
        assert_string_equal(t->gpus[0].name, "NVIDIA H100 80GB HBM3");
        gpu_ctx_free(ctx);

        ctx = open_with(fake_lib, fixture("none"));
        t = gpu_ctx_topology(ctx);
        assert_true(t->available);
        assert_int_equal(t->n_gpus, 0);
        assert_int_equal(t->n_slots, 0);
        assert_true(t->total_weight == 0.0);
        gpu_sample_free(sample(ctx));
        gpu_ctx_free(ctx);
}

static void test_broken(void **state)
{
        struct gpu_ctx *ctx = open_with(fake_lib, fixture("broken"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;

        assert_int_equal(t->n_gpus, 4);
        assert_false(t->gpus[2].healthy);
        assert_non_null(strstr(t->gpus[2].reason, "GPU is lost"));
        /* the lost GPU offers nothing; the others are unaffected */
        assert_int_equal(t->n_slots, 3);
        check_slot(t, 0, "0", GPU_SLOT_FULL, 1.0, NULL);
        check_slot(t, 1, "1", GPU_SLOT_FULL, 1.0, NULL);
        check_slot(t, 2, "3", GPU_SLOT_FULL, 1.0, NULL);
        assert_null(gpu_topology_find_slot(t, "2"));
        s = sample(ctx);
        assert_false(s->gpus[2].healthy);
        assert_true(s->gpus[0].healthy && s->gpus[1].healthy && s->gpus[3].healthy);
        assert_true(s->gpus[3].has & GPU_HAS_TEMPERATURE);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

/* ---- behaviour under change -------------------------------------------- */

#define TWO_GPUS_HEAD                                                                              \
        "gpus:\n"                                                                                  \
        "  - name: NVIDIA A100-SXM4-40GB\n"                                                        \
        "    memory_total_mib: 40960\n"                                                            \
        "    temperature_c: 40\n"

#define SECOND_GPU(extra)                                                                          \
        "  - name: NVIDIA A100-SXM4-40GB\n"                                                        \
        "    memory_total_mib: 40960\n"                                                            \
        "    temperature_c: 41\n" extra

static bool gpu1_lost(const struct gpu_sample *s)
{
        return !s->gpus[1].healthy;
}

static void test_gpu_lost_mid_run(void **state)
{
        const char *path;
        struct gpu_ctx *ctx;
        struct gpu_sample *s;

        path = write_fixture("lost",
                             TWO_GPUS_HEAD "    utilization: {gpu: 10, memory: 1}\n" SECOND_GPU(
                                 "    utilization: {gpu: 20, memory: 2}\n"));
        ctx = open_with(fake_lib, path);
        s = sample(ctx);
        assert_true(s->gpus[0].healthy && s->gpus[1].healthy);
        gpu_sample_free(s);

        write_fixture("lost", TWO_GPUS_HEAD
                      "    utilization: {gpu: 10, memory: 1}\n" SECOND_GPU("    fault: lost\n"));
        s = sample_until(ctx, gpu1_lost);
        assert_non_null(strstr(s->gpus[1].reason, "GPU is lost"));
        assert_true(s->gpus[0].healthy);
        assert_true(s->gpus[0].has & GPU_HAS_UTIL_GPU);
        assert_int_equal(s->gpus[0].util_gpu, 10);
        /* its slot gets no readings, the other slot does */
        assert_int_equal(s->slots[1].has, 0);
        assert_true(s->slots[0].has & GPU_HAS_MEMORY);
        gpu_sample_free(s);

        /* a rescan drops the lost GPU's slot */
        assert_int_equal(gpu_ctx_rescan(ctx), 0);
        assert_int_equal(gpu_ctx_topology(ctx)->n_slots, 1);
        assert_false(gpu_ctx_topology(ctx)->gpus[1].healthy);
        gpu_ctx_free(ctx);
}

static bool util_is_77(const struct gpu_sample *s)
{
        return (s->gpus[0].has & GPU_HAS_UTIL_GPU) && s->gpus[0].util_gpu == 77;
}

static void test_fixture_change(void **state)
{
        const char *path =
            write_fixture("change", TWO_GPUS_HEAD "    utilization: {gpu: 5, memory: 1}\n");
        struct gpu_ctx *ctx = open_with(fake_lib, path);
        struct gpu_sample *s;

        s = sample(ctx);
        assert_int_equal(s->gpus[0].util_gpu, 5);
        assert_int_equal(s->slots[0].n_procs, 0);
        gpu_sample_free(s);
        write_fixture("change", TWO_GPUS_HEAD "    utilization: {gpu: 77, memory: 1}\n"
                                              "    processes: [{pid: 31337, used_mib: 512}]\n");
        s = sample_until(ctx, util_is_77);
        assert_int_equal(s->slots[0].n_procs, 1);
        assert_int_equal(s->procs[0].pid, 31337);
        assert_int_equal(s->procs[0].used_memory, 512ULL << 20);
        assert_true(s->slots[0].util == 77.0);
        gpu_sample_free(s);

        /* a broken rewrite keeps the last good state */
        write_fixture("change", "gpus: [ {name: \n");
        s = sample(ctx);
        assert_int_equal(s->gpus[0].util_gpu, 77);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void check_processes(struct gpu_ctx *ctx, unsigned want_stride)
{
        struct gpu_sample *s = sample(ctx);

        assert_int_equal(s->slots[0].n_procs, 3);
        assert_int_equal(s->procs[0].pid, 101);
        assert_int_equal(s->procs[0].used_memory, 1024ULL << 20);
        assert_int_equal(s->procs[0].type, GPU_PROC_COMPUTE);
        assert_int_equal(s->procs[1].pid, 102);
        assert_int_equal(s->procs[1].used_memory, GPU_MEMORY_UNKNOWN);
        assert_int_equal(s->procs[1].type, GPU_PROC_COMPUTE | GPU_PROC_GRAPHICS);
        assert_int_equal(s->procs[2].pid, 103);
        assert_int_equal(s->procs[2].used_memory, 3ULL << 20);
        assert_int_equal(s->procs[2].type, GPU_PROC_GRAPHICS);
        assert_int_equal(gpu_ctx_process_stride(ctx), want_stride);
        gpu_sample_free(s);
}

#define PROCS_FIXTURE(faults)                                                                      \
        faults "gpus:\n"                                                                           \
               "  - name: NVIDIA A100-SXM4-40GB\n"                                                 \
               "    memory_total_mib: 40960\n"                                                     \
               "    pci_bus_id: \"00000000:C7:00.0\"\n"                                            \
               "    processes:\n"                                                                  \
               "      - {pid: 101, used_mib: 1024, type: compute}\n"                               \
               "      - {pid: 102, used_mib: null, type: both}\n"                                  \
               "      - {pid: 103, used_mib: 3, type: graphics}\n"

static void test_process_struct_sizes(void **state)
{
        struct gpu_ctx *ctx;

        /* _v3 writing 24-byte elements (most drivers) */
        ctx = open_with(fake_lib, write_fixture("p24", PROCS_FIXTURE("")));
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlDeviceGetComputeRunningProcesses"),
                            "nvmlDeviceGetComputeRunningProcesses_v3");
        check_processes(ctx, 24);
        assert_string_equal(gpu_ctx_topology(ctx)->gpus[0].pci_bus_id, "00000000:C7:00.0");
        gpu_ctx_free(ctx);

        /* _v3 writing 32-byte elements (drivers built with the CUDA 12.1 header) */
        ctx = open_with(fake_lib,
                        write_fixture("p32", PROCS_FIXTURE("faults:\n"
                                                           "  process_info_v3_size: 32\n")));
        check_processes(ctx, 32);
        gpu_ctx_free(ctx);

        /* an old driver: plain symbols only, 16-byte elements */
        ctx = open_with(legacy_lib, write_fixture("p16", PROCS_FIXTURE("")));
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlDeviceGetComputeRunningProcesses"),
                            "nvmlDeviceGetComputeRunningProcesses");
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlInit"), "nvmlInit");
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlDeviceGetPciInfo"),
                            "nvmlDeviceGetPciInfo");
        assert_null(gpu_ctx_bound_symbol(ctx, "nvmlGpmMigSampleGet"));
        check_processes(ctx, 16);
        /* the legacy PCI struct: the bus id in the first field */
        assert_string_equal(gpu_ctx_topology(ctx)->gpus[0].pci_bus_id, "00000000:C7:00.0");
        gpu_ctx_free(ctx);
}

static void test_function_not_found(void **state)
{
        struct gpu_ctx *ctx = open_with(
            fake_lib,
            write_fixture("nf", PROCS_FIXTURE("faults:\n"
                                              "  missing_symbols:\n"
                                              "    - nvmlDeviceGetComputeRunningProcesses_v3\n"
                                              "    - nvmlDeviceGetGraphicsRunningProcesses_v3\n"
                                              "    - nvmlDeviceGetPciInfo_v3\n")));

        /* the _v3 answered FUNCTION_NOT_FOUND: ds01 moved to _v2 and carried on */
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlDeviceGetPciInfo"),
                            "nvmlDeviceGetPciInfo_v2");
        assert_string_equal(gpu_ctx_topology(ctx)->gpus[0].pci_bus_id, "00000000:C7:00.0");
        check_processes(ctx, 24);
        assert_string_equal(gpu_ctx_bound_symbol(ctx, "nvmlDeviceGetComputeRunningProcesses"),
                            "nvmlDeviceGetComputeRunningProcesses_v2");
        gpu_ctx_free(ctx);
}

static void test_legacy_mig(void **state)
{
        /* No nvmlDeviceGetAttributes_v2: slices come from the profile names. */
        struct gpu_ctx *ctx = open_with(legacy_lib, fixture("a100x4-mixed"));
        struct gpu_sample *s;

        check_mixed(gpu_ctx_topology(ctx));
        s = sample(ctx);
        assert_false(s->slots[1].has & GPU_HAS_UTIL_GPU);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void test_many_processes(void **state)
{
        char text[16384];
        size_t n;
        struct gpu_ctx *ctx;
        struct gpu_sample *s;

        n = (size_t)snprintf(text, sizeof(text),
                             "gpus:\n  - name: NVIDIA A100-SXM4-40GB\n    memory_total_mib: 40960\n"
                             "    processes:\n");
        for (int i = 0; i < 100; i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n,
                                      "      - {pid: %d, used_mib: %d}\n", 5000 + i, i + 1);
        ctx = open_with(fake_lib, write_fixture("many", text));
        s = sample(ctx);
        assert_int_equal(s->slots[0].n_procs, 100);
        for (int i = 0; i < 100; i++) {
                assert_int_equal(s->procs[i].pid, 5000 + i);
                assert_int_equal(s->procs[i].used_memory, (uint64_t)(i + 1) << 20);
        }
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static bool xid_two(const struct gpu_sample *s)
{
        return s->gpus[1].xid_total == 2;
}

static void test_xid_events(void **state)
{
        struct gpu_ctx *ctx = open_with(
            fake_lib, write_fixture("xid", TWO_GPUS_HEAD SECOND_GPU("    xid_events: [79]\n")));
        struct gpu_sample *s = sample(ctx);

        assert_int_equal(s->gpus[0].xid_total, 0);
        assert_int_equal(s->gpus[1].xid_total, 1);
        assert_int_equal(s->gpus[1].last_xid, 79);
        gpu_sample_free(s);
        /* delivered once: the next round does not count it again */
        s = sample(ctx);
        assert_int_equal(s->gpus[1].xid_total, 1);
        gpu_sample_free(s);
        write_fixture("xid", TWO_GPUS_HEAD SECOND_GPU("    xid_events: [79, 48]\n"));
        s = sample_until(ctx, xid_two);
        assert_int_equal(s->gpus[1].last_xid, 48);
        assert_int_equal(s->gpus[0].xid_total, 0);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void test_gpm_values(void **state)
{
        struct gpu_ctx *ctx = open_with(
            fake_lib,
            write_fixture("gpm", "gpus:\n"
                                 "  - name: NVIDIA H100 80GB HBM3\n"
                                 "    architecture: hopper\n"
                                 "    memory_total_mib: 81559\n"
                                 "    mig: {current: true}\n"
                                 "    mig_devices:\n"
                                 "      - {profile: 3g.40gb, gpu_instance_id: 2, slices: 3,"
                                 " memory_mib: 40192, sm_util: 42}\n"
                                 "      - {profile: 1g.10gb, gpu_instance_id: 9, slices: 1,"
                                 " memory_mib: 9984, sm_util: 7.5, memory_used_mib: 100}\n"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);
        struct gpu_sample *s;

        assert_int_equal(t->n_slots, 2);
        check_slot(t, 0, "0.0", GPU_SLOT_MIG, 3.0 / 7, "3g.40gb");
        check_slot(t, 1, "0.1", GPU_SLOT_MIG, 1.0 / 7, "1g.10gb");
        assert_int_equal(t->gpus[0].mig[0].gpu_instance_id, 2);
        gpu_sample_free(sample(ctx));
        s = sample(ctx);
        assert_true(s->slots[0].util == 42.0);
        assert_true(s->slots[1].util == 7.5);
        assert_int_equal(s->slots[1].memory_used, 100ULL << 20);
        assert_int_equal(s->slots[1].memory_total, 9984ULL << 20);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
}

static void test_mig_pending_and_empty(void **state)
{
        /* MIG enabled with no instances offers no slot; a pending change shows */
        struct gpu_ctx *ctx = open_with(
            fake_lib, write_fixture("pend", "gpus:\n"
                                            "  - name: NVIDIA A100-SXM4-40GB\n"
                                            "    memory_total_mib: 40960\n"
                                            "    mig: {current: true, pending: false}\n"
                                            "  - name: NVIDIA A100-SXM4-40GB\n"
                                            "    memory_total_mib: 40960\n"
                                            "    mig: {current: false, pending: true}\n"));
        const struct gpu_topology *t = gpu_ctx_topology(ctx);

        assert_int_equal(t->n_slots, 1);
        assert_string_equal(t->slots[0].name, "1");
        assert_int_equal(t->gpus[0].mig_current, GPU_MIG_ENABLED);
        assert_int_equal(t->gpus[0].mig_pending, GPU_MIG_DISABLED);
        assert_int_equal(t->gpus[1].mig_pending, GPU_MIG_ENABLED);
        gpu_ctx_free(ctx);
}

static int setup(void **state)
{
        fake_lib = getenv("DS01_TEST_FAKENVML");
        legacy_lib = getenv("DS01_TEST_FAKENVML_LEGACY");
        topologies = getenv("DS01_TEST_TOPOLOGIES");
        if (!fake_lib || !legacy_lib || !topologies) {
                fprintf(stderr, "run through ctest: DS01_TEST_FAKENVML* not set\n");
                return -1;
        }
        unsetenv("DS01_NVML_LIBRARY");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];
        /* remove what the tests wrote: the fixtures and their temp files */
        static const char *const names[] = {"lost", "change", "p24", "p32", "p16",
                                            "nf",   "many",   "xid", "gpm", "pend"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(cmd, sizeof(cmd), "%s/%s.yaml", tmpdir, names[i]);
                unlink(cmd);
        }
        return rmdir(tmpdir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_no_library),
            cmocka_unit_test(test_init_fails),
            cmocka_unit_test(test_a100x4),
            cmocka_unit_test(test_a100x8),
            cmocka_unit_test(test_a100x4_mixed),
            cmocka_unit_test(test_h100x8_mig),
            cmocka_unit_test(test_h100x1_and_none),
            cmocka_unit_test(test_broken),
            cmocka_unit_test(test_gpu_lost_mid_run),
            cmocka_unit_test(test_fixture_change),
            cmocka_unit_test(test_process_struct_sizes),
            cmocka_unit_test(test_function_not_found),
            cmocka_unit_test(test_legacy_mig),
            cmocka_unit_test(test_many_processes),
            cmocka_unit_test(test_xid_events),
            cmocka_unit_test(test_gpm_values),
            cmocka_unit_test(test_mig_pending_and_empty),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
