/* SPDX-License-Identifier: MIT */
/*
 * test-fakenvml.c - the fake NVML library itself, loaded with dlopen as ds01
 * loads it: error codes and strings, reference-counted init, short buffers,
 * PCI and process-list layouts, MIG scoping, reload on change, injected
 * faults, GPM, XID events, every shipped fixture, concurrent callers, and the
 * legacy build's missing symbols.
 *
 * $FAKENVML_LIBRARY and $FAKENVML_LEGACY_LIBRARY name the two libraries,
 * $FAKENVML_FIXTURES the shipped fixture folder. Temporary fixtures live in a
 * mkdtemp folder per test and are replaced atomically (write + rename); after a
 * change the tests call the API until it shows, with a 2 s deadline.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpu/nvml-api.h"

#define ENV_TOPOLOGY "DS01_FAKENVML_TOPOLOGY"
#define MIB          (1024ULL * 1024ULL)
#define NO_ID        0xFFFFFFFFu

#define A100X4_GPU0_UUID     "GPU-a84bba07-931d-b925-306a-0799dc6ebd71"
#define MIXED_GPU1_MIG0_UUID "MIG-7eeb8a1e-c933-2a30-a983-694d1b428f3e"
#define A100_40GB            "NVIDIA A100-SXM4-40GB"
#define DEADLINE_MS          2000

typedef nvmlReturn_t (*gpm_sample_get_fn)(nvmlDevice_t device, nvmlGpmSample_t sample);

struct nvml {
        void *dl;
        nvml_init_fn init_v2, init;
        nvml_shutdown_fn shutdown;
        nvml_error_string_fn error_string;
        nvml_system_string_fn driver_version, nvml_version;
        nvml_system_cuda_version_fn cuda_v2, cuda;
        nvml_device_count_fn count_v2, count;
        nvml_device_by_index_fn by_index_v2, by_index;
        nvml_device_string_fn uuid, name;
        nvml_device_pci_fn pci_v3, pci_v2, pci;
        nvml_device_memory_fn memory;
        nvml_device_mig_mode_fn mig_mode;
        nvml_device_uint_fn max_mig, is_mig, gi_id, ci_id, power, limit;
        nvml_device_mig_by_index_fn mig_by_index;
        nvml_device_attributes_fn attrs_v2, attrs;
        nvml_device_gi_profile_fn gi_profile;
        nvml_device_utilization_fn util;
        nvml_device_temperature_fn temp;
        nvml_device_ull_fn energy;
        nvml_device_clock_fn clock;
        nvml_device_ecc_fn ecc;
        nvml_device_pcie_fn pcie;
        nvml_device_processes_fn compute_v3, compute_v2, compute;
        nvml_device_processes_fn graphics_v3, graphics_v2, graphics;
        nvml_gpm_support_fn gpm_support;
        nvml_gpm_sample_alloc_fn gpm_alloc;
        nvml_gpm_sample_free_fn gpm_free;
        gpm_sample_get_fn gpm_sample;
        nvml_gpm_mig_sample_get_fn gpm_mig_sample;
        nvml_gpm_metrics_get_fn gpm_metrics;
        nvml_event_set_create_fn event_create;
        nvml_event_set_free_fn event_free;
        nvml_register_events_fn register_events;
        nvml_event_set_wait_fn wait_v2, wait;
};

static struct nvml N;
static char tmpdir[64];

/* ---- helpers ------------------------------------------------------------------ */

static void *sym(void *dl, const char *name)
{
        return dlsym(dl, name);
}

static void load(struct nvml *n, const char *path)
{
        memset(n, 0, sizeof(*n));
        assert_non_null(path);
        n->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!n->dl)
                fail_msg("dlopen %s: %s", path, dlerror());
        n->init_v2 = (nvml_init_fn)sym(n->dl, "nvmlInit_v2");
        n->init = (nvml_init_fn)sym(n->dl, "nvmlInit");
        n->shutdown = (nvml_shutdown_fn)sym(n->dl, "nvmlShutdown");
        n->error_string = (nvml_error_string_fn)sym(n->dl, "nvmlErrorString");
        n->driver_version = (nvml_system_string_fn)sym(n->dl, "nvmlSystemGetDriverVersion");
        n->nvml_version = (nvml_system_string_fn)sym(n->dl, "nvmlSystemGetNVMLVersion");
        n->cuda_v2 = (nvml_system_cuda_version_fn)sym(n->dl, "nvmlSystemGetCudaDriverVersion_v2");
        n->cuda = (nvml_system_cuda_version_fn)sym(n->dl, "nvmlSystemGetCudaDriverVersion");
        n->count_v2 = (nvml_device_count_fn)sym(n->dl, "nvmlDeviceGetCount_v2");
        n->count = (nvml_device_count_fn)sym(n->dl, "nvmlDeviceGetCount");
        n->by_index_v2 = (nvml_device_by_index_fn)sym(n->dl, "nvmlDeviceGetHandleByIndex_v2");
        n->by_index = (nvml_device_by_index_fn)sym(n->dl, "nvmlDeviceGetHandleByIndex");
        n->uuid = (nvml_device_string_fn)sym(n->dl, "nvmlDeviceGetUUID");
        n->name = (nvml_device_string_fn)sym(n->dl, "nvmlDeviceGetName");
        n->pci_v3 = (nvml_device_pci_fn)sym(n->dl, "nvmlDeviceGetPciInfo_v3");
        n->pci_v2 = (nvml_device_pci_fn)sym(n->dl, "nvmlDeviceGetPciInfo_v2");
        n->pci = (nvml_device_pci_fn)sym(n->dl, "nvmlDeviceGetPciInfo");
        n->memory = (nvml_device_memory_fn)sym(n->dl, "nvmlDeviceGetMemoryInfo");
        n->mig_mode = (nvml_device_mig_mode_fn)sym(n->dl, "nvmlDeviceGetMigMode");
        n->max_mig = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceGetMaxMigDeviceCount");
        n->mig_by_index =
            (nvml_device_mig_by_index_fn)sym(n->dl, "nvmlDeviceGetMigDeviceHandleByIndex");
        n->is_mig = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceIsMigDeviceHandle");
        n->gi_id = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceGetGpuInstanceId");
        n->ci_id = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceGetComputeInstanceId");
        n->attrs_v2 = (nvml_device_attributes_fn)sym(n->dl, "nvmlDeviceGetAttributes_v2");
        n->attrs = (nvml_device_attributes_fn)sym(n->dl, "nvmlDeviceGetAttributes");
        n->gi_profile =
            (nvml_device_gi_profile_fn)sym(n->dl, "nvmlDeviceGetGpuInstanceProfileInfo");
        n->util = (nvml_device_utilization_fn)sym(n->dl, "nvmlDeviceGetUtilizationRates");
        n->temp = (nvml_device_temperature_fn)sym(n->dl, "nvmlDeviceGetTemperature");
        n->power = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceGetPowerUsage");
        n->limit = (nvml_device_uint_fn)sym(n->dl, "nvmlDeviceGetEnforcedPowerLimit");
        n->energy = (nvml_device_ull_fn)sym(n->dl, "nvmlDeviceGetTotalEnergyConsumption");
        n->clock = (nvml_device_clock_fn)sym(n->dl, "nvmlDeviceGetClockInfo");
        n->ecc = (nvml_device_ecc_fn)sym(n->dl, "nvmlDeviceGetTotalEccErrors");
        n->pcie = (nvml_device_pcie_fn)sym(n->dl, "nvmlDeviceGetPcieThroughput");
        n->compute_v3 =
            (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetComputeRunningProcesses_v3");
        n->compute_v2 =
            (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetComputeRunningProcesses_v2");
        n->compute = (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetComputeRunningProcesses");
        n->graphics_v3 =
            (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetGraphicsRunningProcesses_v3");
        n->graphics_v2 =
            (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetGraphicsRunningProcesses_v2");
        n->graphics = (nvml_device_processes_fn)sym(n->dl, "nvmlDeviceGetGraphicsRunningProcesses");
        n->gpm_support = (nvml_gpm_support_fn)sym(n->dl, "nvmlGpmQueryDeviceSupport");
        n->gpm_alloc = (nvml_gpm_sample_alloc_fn)sym(n->dl, "nvmlGpmSampleAlloc");
        n->gpm_free = (nvml_gpm_sample_free_fn)sym(n->dl, "nvmlGpmSampleFree");
        n->gpm_sample = (gpm_sample_get_fn)sym(n->dl, "nvmlGpmSampleGet");
        n->gpm_mig_sample = (nvml_gpm_mig_sample_get_fn)sym(n->dl, "nvmlGpmMigSampleGet");
        n->gpm_metrics = (nvml_gpm_metrics_get_fn)sym(n->dl, "nvmlGpmMetricsGet");
        n->event_create = (nvml_event_set_create_fn)sym(n->dl, "nvmlEventSetCreate");
        n->event_free = (nvml_event_set_free_fn)sym(n->dl, "nvmlEventSetFree");
        n->register_events = (nvml_register_events_fn)sym(n->dl, "nvmlDeviceRegisterEvents");
        n->wait_v2 = (nvml_event_set_wait_fn)sym(n->dl, "nvmlEventSetWait_v2");
        n->wait = (nvml_event_set_wait_fn)sym(n->dl, "nvmlEventSetWait");
}

static void unload(struct nvml *n)
{
        if (n->dl) {
                while (n->shutdown && n->shutdown() == NVML_SUCCESS)
                        ;
                dlclose(n->dl);
        }
        memset(n, 0, sizeof(*n));
}

static unsigned long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000;
}

/* Calls the API until cond holds (the library noticed a rewritten fixture). */
#define WAIT_FOR(cond)                                                                             \
        do {                                                                                       \
                unsigned long long deadline_ = now_ms() + DEADLINE_MS;                             \
                while (!(cond)) {                                                                  \
                        if (now_ms() > deadline_)                                                  \
                                fail_msg("timed out waiting for %s", #cond);                       \
                        sched_yield();                                                             \
                }                                                                                  \
        } while (0)

static const char *shipped(const char *name)
{
        static char path[4096];
        const char *dir = getenv("FAKENVML_FIXTURES");

        assert_non_null(dir);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return path;
}

static void use(const char *path)
{
        if (path)
                assert_int_equal(setenv(ENV_TOPOLOGY, path, 1), 0);
        else
                assert_int_equal(unsetenv(ENV_TOPOLOGY), 0);
}

/* Writes text to tmpdir/name atomically (temporary file + rename); returns the path. */
static const char *put(const char *name, const char *text)
{
        static char path[256];
        char tmp[256];
        size_t len = strlen(text);
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", tmpdir, name);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
        assert_int_equal(rename(tmp, path), 0);
        return path;
}

static void start(const char *path)
{
        use(path);
        assert_int_equal(N.init_v2(), NVML_SUCCESS);
}

static nvmlDevice_t gpu(unsigned i)
{
        nvmlDevice_t h = NULL;

        assert_int_equal(N.by_index_v2(i, &h), NVML_SUCCESS);
        assert_non_null(h);
        return h;
}

static nvmlDevice_t mig(nvmlDevice_t parent, unsigned i)
{
        nvmlDevice_t h = NULL;

        assert_int_equal(N.mig_by_index(parent, i, &h), NVML_SUCCESS);
        assert_non_null(h);
        return h;
}

static unsigned temp_of(nvmlDevice_t h)
{
        unsigned t = 0;

        if (N.temp(h, NVML_TEMPERATURE_GPU, &t) != NVML_SUCCESS)
                return 0;
        return t;
}

/* stderr into a file while a block runs. */
struct capture {
        int saved;
        char path[300];
};

static void capture_begin(struct capture *c)
{
        int fd;

        snprintf(c->path, sizeof(c->path), "%s/stderr.txt", tmpdir);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        assert_true(c->saved >= 0);
        fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
}

/* Reads what was captured so far into buf. */
static const char *capture_text(struct capture *c, char *buf, size_t size)
{
        FILE *f;
        size_t n;

        fflush(stderr);
        f = fopen(c->path, "re");
        assert_non_null(f);
        n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static void capture_end(struct capture *c)
{
        fflush(stderr);
        assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
        close(c->saved);
}

static unsigned count_lines(const char *s)
{
        unsigned n = 0;

        for (; *s; s++)
                if (*s == '\n')
                        n++;
        return n;
}

static void remove_tree(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[512];

        if (!d)
                return;
        while ((e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                unlink(path);
        }
        closedir(d);
        rmdir(dir);
}

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-fakenvml-XXXXXX");
        if (!mkdtemp(tmpdir))
                return -1;
        unsetenv(ENV_TOPOLOGY);
        return 0;
}

static int teardown(void **state)
{
        while (N.shutdown() == NVML_SUCCESS)
                ;
        remove_tree(tmpdir);
        return 0;
}

static int group_setup(void **state)
{
        load(&N, getenv("FAKENVML_LIBRARY"));
        return 0;
}

static int group_teardown(void **state)
{
        unload(&N);
        return 0;
}

/* ---- init, error strings ---------------------------------------------------------- */

static void test_error_strings(void **state)
{
        static const struct {
                nvmlReturn_t r;
                const char *s;
        } table[] = {
            {NVML_SUCCESS, "Success"},
            {NVML_ERROR_UNINITIALIZED, "Uninitialized"},
            {NVML_ERROR_INVALID_ARGUMENT, "Invalid Argument"},
            {NVML_ERROR_NOT_SUPPORTED, "Not Supported"},
            {NVML_ERROR_NO_PERMISSION, "Insufficient Permissions"},
            {NVML_ERROR_ALREADY_INITIALIZED, "Already Initialized"},
            {NVML_ERROR_NOT_FOUND, "Not Found"},
            {NVML_ERROR_INSUFFICIENT_SIZE, "Insufficient Size"},
            {NVML_ERROR_INSUFFICIENT_POWER, "Insufficient External Power"},
            {NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded"},
            {NVML_ERROR_TIMEOUT, "Timeout"},
            {NVML_ERROR_IRQ_ISSUE, "Interrupt Request Issue"},
            {NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"},
            {NVML_ERROR_FUNCTION_NOT_FOUND, "Function Not Found"},
            {NVML_ERROR_CORRUPTED_INFOROM, "Corrupted infoROM"},
            {NVML_ERROR_GPU_IS_LOST, "GPU is lost"},
            {NVML_ERROR_RESET_REQUIRED, "GPU requires restart"},
            {NVML_ERROR_OPERATING_SYSTEM, "The operating system has blocked the request."},
            {NVML_ERROR_LIB_RM_VERSION_MISMATCH, "RM has detected an NVML/RM version mismatch."},
            {NVML_ERROR_MEMORY, "Insufficient Memory"},
            {NVML_ERROR_UNKNOWN, "Unknown Error"},
        };

        /* Works before nvmlInit. */
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                assert_string_equal(N.error_string(table[i].r), table[i].s);
        for (int r = 0; r <= NVML_ERROR_INVALID_STATE; r++) {
                assert_non_null(N.error_string((nvmlReturn_t)r));
                assert_true(strlen(N.error_string((nvmlReturn_t)r)) > 0);
        }
        assert_string_equal(N.error_string((nvmlReturn_t)12345), "Unknown Error");
}

static void test_init_refcount(void **state)
{
        unsigned n = 99;
        char buf[80];
        nvmlDevice_t h;

        /* Nothing works before init. */
        assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.driver_version(buf, sizeof(buf)), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.by_index(0, &h), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.shutdown(), NVML_ERROR_UNINITIALIZED);

        /* No fixture: no driver. */
        use(NULL);
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
        assert_int_equal(N.init(), NVML_ERROR_DRIVER_NOT_LOADED);
        use("");
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
        use("/nonexistent/fakenvml/topology.yaml");
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
        use(tmpdir);
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
        assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);

        /* Reference counted: two inits, one shutdown, still up. */
        use(shipped("a100x4.yaml"));
        assert_int_equal(N.init_v2(), NVML_SUCCESS);
        assert_int_equal(N.init(), NVML_SUCCESS);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 4);
        h = gpu(0);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
        assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.uuid(h, buf, sizeof(buf)), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.shutdown(), NVML_ERROR_UNINITIALIZED);

        /* And again from scratch, the same handle for the same GPU. */
        assert_int_equal(N.init(), NVML_SUCCESS);
        assert_ptr_equal(gpu(0), h);
        assert_int_equal(N.uuid(h, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, A100X4_GPU0_UUID);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
}

/* Init on yaml: UNKNOWN, and one stderr line containing want. */
static void expect_parse_error(const char *yaml, const char *want)
{
        struct capture c;
        char text[2048];

        use(put("bad.yaml", yaml));
        capture_begin(&c);
        assert_int_equal(N.init_v2(), NVML_ERROR_UNKNOWN);
        capture_text(&c, text, sizeof(text));
        capture_end(&c);
        if (!strstr(text, want))
                fail_msg("stderr '%s' lacks '%s'", text, want);
        assert_int_equal(count_lines(text), 1);
        assert_int_equal(N.shutdown(), NVML_ERROR_UNINITIALIZED);
}

static void test_parse_errors(void **state)
{
        unsigned n = 0;

        expect_parse_error("gpus: [\n", "bad.yaml:2:1: error: ");
        expect_parse_error("gpus:\n  - name: x\n    memory_totl_mib: 1\n",
                           "bad.yaml:3:5: error: unknown key 'memory_totl_mib' in a GPU");
        expect_parse_error("gpu: []\n", "bad.yaml:1:1: error: unknown key 'gpu' in the topology");
        expect_parse_error("gpus:\n  - name: x\n", "bad.yaml:2:5: error: a GPU needs "
                                                   "'memory_total_mib'");
        expect_parse_error("gpus:\n  - {name: x, memory_total_mib: -1}\n",
                           "bad.yaml:2:33: error: 'memory_total_mib' must be a non-negative");
        expect_parse_error("gpus:\n  - {name: x, memory_total_mib: 10, temperature_c: hot}\n",
                           "'temperature_c' must be a non-negative integer");
        expect_parse_error("gpus:\n  - {name: x, memory_total_mib: 10, power_w: lots}\n",
                           "'power_w' must be a number");
        expect_parse_error("gpus:\n  - {name: x, memory_total_mib: 10, utilization: {gpu: 1}}\n",
                           "'utilization' needs 'memory'");
        expect_parse_error("gpus:\n  - {name: x, memory_total_mib: 10, architecture: kepler}\n",
                           "'architecture' must be");
        expect_parse_error("", "the fixture is empty");
        expect_parse_error("gpus:\n  - {name: a, memory_total_mib: 1, uuid: GPU-1}\n"
                           "  - {name: b, memory_total_mib: 1, uuid: GPU-1}\n",
                           "UUID 'GPU-1' appears twice");
        expect_parse_error("gpus:\n  - name: a\n    memory_total_mib: 40960\n    mig_devices:\n"
                           "      - {profile: 1g.5gb, gpu_instance_id: 7, slices: 1, "
                           "memory_mib: 4864}\n",
                           "bad.yaml:5:7: error: 'mig_devices' needs MIG mode on");
        expect_parse_error("gpus:\n  - {name: a, memory_total_mib: 1, architecture: volta,\n"
                           "     mig: {current: true}}\n",
                           "MIG mode needs a MIG-capable GPU");
        expect_parse_error("faults: {missing_symbols: [nvmlDeviceGetFoo]}\ngpus: []\n",
                           "bad.yaml:1:28: error: 'nvmlDeviceGetFoo' is not a function");
        expect_parse_error("faults: {init: sometimes}\ngpus: []\n", "'init' must be");
        expect_parse_error("faults: {process_info_v3_size: 28}\ngpus: []\n", "must be 24 or 32");
        expect_parse_error("gpus:\n  - {name: a, memory_total_mib: 1, name: b}\n",
                           "duplicate key 'name' in a GPU");
        expect_parse_error("gpus:\n  - {name: a, memory_total_mib: 1,\n"
                           "     processes: [{pid: 1, type: cuda}]}\n",
                           "'type' must be compute, graphics or both");

        /* JSON is YAML too. */
        use(put("ok.json", "{\"gpus\": [{\"name\": \"X\", \"memory_total_mib\": 1024,"
                           " \"mig\": {\"current\": false}}]}"));
        assert_int_equal(N.init_v2(), NVML_SUCCESS);
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 1);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
}

/* ---- one topology, every getter --------------------------------------------------- */

static void test_system_strings(void **state)
{
        char buf[96];
        int v = 0;
        unsigned n = 0;

        start(shipped("a100x4.yaml"));
        assert_int_equal(N.driver_version(buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "550.54.15");
        assert_int_equal(N.driver_version(buf, 9), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(N.driver_version(buf, 10), NVML_SUCCESS);
        assert_int_equal(N.driver_version(NULL, 80), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.nvml_version(buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "12.550.54.15");
        assert_int_equal(N.nvml_version(buf, 12), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(N.cuda_v2(&v), NVML_SUCCESS);
        assert_int_equal(v, 12040);
        v = 0;
        assert_int_equal(N.cuda(&v), NVML_SUCCESS);
        assert_int_equal(v, 12040);
        assert_int_equal(N.cuda(NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.count(&n), NVML_SUCCESS);
        assert_int_equal(n, 4);
        assert_int_equal(N.count_v2(NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);

        /* Defaults when the fixture names no versions. */
        start(put("t.yaml", "gpus: []\n"));
        assert_int_equal(N.driver_version(buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "550.54.15");
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 0);
        assert_int_equal(N.by_index_v2(0, &(nvmlDevice_t){NULL}), NVML_ERROR_INVALID_ARGUMENT);
}

static void test_full_gpu(void **state)
{
        nvmlDevice_t h0, h2, h;
        char buf[96];
        nvmlPciInfo_t pci;
        nvmlMemory_t mem;
        nvmlUtilization_t u;
        unsigned v, cur, pend;
        unsigned long long ull;
        unsigned char raw[sizeof(nvmlPciInfo_t)];
        nvmlDeviceAttributes_t attrs;
        nvmlGpuInstanceProfileInfo_t prof;
        int not_a_handle;

        start(shipped("a100x4.yaml"));
        h0 = gpu(0);
        h2 = gpu(2);
        assert_ptr_not_equal(h0, h2);
        assert_ptr_equal(gpu(0), h0);
        assert_int_equal(N.by_index(0, &h), NVML_SUCCESS);
        assert_ptr_equal(h, h0);
        assert_int_equal(N.by_index_v2(4, &h), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.by_index_v2(0, NULL), NVML_ERROR_INVALID_ARGUMENT);

        /* Not a handle of ours. */
        assert_int_equal(N.uuid(NULL, buf, sizeof(buf)), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.uuid((nvmlDevice_t)&not_a_handle, buf, sizeof(buf)),
                         NVML_ERROR_INVALID_ARGUMENT);

        assert_int_equal(N.uuid(h0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, A100X4_GPU0_UUID);
        assert_int_equal(N.uuid(h0, buf, strlen(A100X4_GPU0_UUID)), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(N.uuid(h0, buf, strlen(A100X4_GPU0_UUID) + 1), NVML_SUCCESS);
        assert_int_equal(N.uuid(h0, NULL, 96), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.name(h0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, A100_40GB);
        assert_int_equal(N.name(h0, buf, 4), NVML_ERROR_INSUFFICIENT_SIZE);

        /* PCI: v3 fills both ids; v2 and plain the 52-byte old layout only. */
        assert_int_equal(N.pci_v3(h0, &pci), NVML_SUCCESS);
        assert_string_equal(pci.busId, "00000000:07:00.0");
        assert_string_equal(pci.busIdLegacy, "0000:07:00.0");
        assert_int_equal(pci.domain, 0);
        assert_int_equal(pci.bus, 7);
        assert_int_equal(pci.device, 0);
        assert_int_equal(pci.pciDeviceId, 0x20B010DE);
        assert_int_equal(N.pci_v3(h0, NULL), NVML_ERROR_INVALID_ARGUMENT);
        for (int k = 0; k < 2; k++) {
                memset(raw, 0xAB, sizeof(raw));
                assert_int_equal((k ? N.pci : N.pci_v2)(h2, (nvmlPciInfo_t *)raw), NVML_SUCCESS);
                memcpy(&pci, raw, sizeof(pci));
                assert_string_equal(pci.busIdLegacy, "0000:47:00.0");
                assert_int_equal(pci.bus, 0x47);
                for (size_t i = 36; i < 52; i++)
                        assert_int_equal(raw[i], 0);
                for (size_t i = 52; i < sizeof(raw); i++)
                        assert_int_equal(raw[i], 0xAB);
        }

        assert_int_equal(N.memory(h0, &mem), NVML_SUCCESS);
        assert_int_equal(mem.total, 40960 * MIB);
        assert_int_equal(mem.used, 22531 * MIB);
        assert_int_equal(mem.free, (40960 - 22531) * MIB);
        assert_int_equal(N.memory(h0, NULL), NVML_ERROR_INVALID_ARGUMENT);

        assert_int_equal(N.util(h0, &u), NVML_SUCCESS);
        assert_int_equal(u.gpu, 87);
        assert_int_equal(u.memory, 41);
        assert_int_equal(N.temp(h0, NVML_TEMPERATURE_GPU, &v), NVML_SUCCESS);
        assert_int_equal(v, 63);
        assert_int_equal(N.temp(h0, (nvmlTemperatureSensors_t)1, &v), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.temp(h0, NVML_TEMPERATURE_GPU, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.power(h0, &v), NVML_SUCCESS);
        assert_int_equal(v, 312400);
        assert_int_equal(N.limit(h0, &v), NVML_SUCCESS);
        assert_int_equal(v, 400000);
        assert_int_equal(N.energy(h0, &ull), NVML_SUCCESS);
        assert_int_equal(ull, 91234567890ULL);
        assert_int_equal(N.clock(h0, NVML_CLOCK_SM, &v), NVML_SUCCESS);
        assert_int_equal(v, 1410);
        assert_int_equal(N.clock(h0, NVML_CLOCK_GRAPHICS, &v), NVML_SUCCESS);
        assert_int_equal(v, 1410);
        assert_int_equal(N.clock(h0, NVML_CLOCK_MEM, &v), NVML_SUCCESS);
        assert_int_equal(v, 1215);
        assert_int_equal(N.clock(h0, NVML_CLOCK_VIDEO, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.clock(h0, (nvmlClockType_t)9, &v), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.ecc(h2, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull),
                         NVML_SUCCESS);
        assert_int_equal(ull, 2);
        assert_int_equal(N.ecc(h2, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_AGGREGATE_ECC, &ull),
                         NVML_SUCCESS);
        assert_int_equal(ull, 2);
        assert_int_equal(N.ecc(h2, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ull),
                         NVML_SUCCESS);
        assert_int_equal(ull, 0);
        assert_int_equal(N.ecc(h2, (nvmlMemoryErrorType_t)2, NVML_VOLATILE_ECC, &ull),
                         NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.pcie(h0, NVML_PCIE_UTIL_TX_BYTES, &v), NVML_SUCCESS);
        assert_int_equal(v, 48213);
        assert_int_equal(N.pcie(h0, NVML_PCIE_UTIL_RX_BYTES, &v), NVML_SUCCESS);
        assert_int_equal(v, 913452);
        assert_int_equal(N.pcie(h0, (nvmlPcieUtilCounter_t)2, &v), NVML_ERROR_INVALID_ARGUMENT);

        /* MIG capable, MIG off. */
        assert_int_equal(N.mig_mode(h0, &cur, &pend), NVML_SUCCESS);
        assert_int_equal(cur, NVML_DEVICE_MIG_DISABLE);
        assert_int_equal(pend, NVML_DEVICE_MIG_DISABLE);
        assert_int_equal(N.mig_mode(h0, &cur, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.max_mig(h0, &v), NVML_SUCCESS);
        assert_int_equal(v, 7);
        assert_int_equal(N.mig_by_index(h0, 0, &h), NVML_ERROR_NOT_FOUND);
        assert_int_equal(N.is_mig(h0, &v), NVML_SUCCESS);
        assert_int_equal(v, 0);
        assert_int_equal(N.gi_id(h0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.ci_id(h0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.attrs_v2(h0, &attrs), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.gi_profile(h0, NVML_GPU_INSTANCE_PROFILE_1_SLICE, &prof), NVML_SUCCESS);
        assert_int_equal(prof.id, NVML_GPU_INSTANCE_PROFILE_1_SLICE);
        assert_int_equal(prof.sliceCount, 1);
        assert_int_equal(prof.instanceCount, 7);
        assert_int_equal(prof.memorySizeMB, 5120);
        assert_int_equal(N.gi_profile(h0, NVML_GPU_INSTANCE_PROFILE_7_SLICE, &prof), NVML_SUCCESS);
        assert_int_equal(prof.sliceCount, 7);
        assert_int_equal(prof.instanceCount, 1);
        assert_int_equal(N.gi_profile(h0, NVML_GPU_INSTANCE_PROFILE_8_SLICE, &prof),
                         NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.gi_profile(h0, NVML_GPU_INSTANCE_PROFILE_6_SLICE, &prof), NVML_SUCCESS);
        assert_int_equal(prof.sliceCount, 6);
        assert_int_equal(N.gi_profile(h0, NVML_GPU_INSTANCE_PROFILE_COUNT, &prof),
                         NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gi_profile(h0, 0, NULL), NVML_ERROR_INVALID_ARGUMENT);
}

/* Fields a fixture leaves out answer NOT_SUPPORTED; defaults fill the rest. */
static void test_omitted_fields(void **state)
{
        nvmlDevice_t h0, h1, h;
        char buf[96];
        nvmlPciInfo_t pci;
        nvmlUtilization_t u;
        nvmlMemory_t mem;
        unsigned v, cur, pend;
        unsigned long long ull;
        nvmlGpuInstanceProfileInfo_t prof;

        start(put("t.yaml", "gpus:\n"
                            "  - {name: Tesla V100-SXM2-16GB, memory_total_mib: 16384,"
                            " architecture: volta}\n"
                            "  - {name: NVIDIA A100-PCIE-40GB, memory_total_mib: 40960}\n"));
        h0 = gpu(0);
        h1 = gpu(1);
        assert_int_equal(N.uuid(h0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "GPU-fa4e0000-0000-4000-8000-000000000000");
        assert_int_equal(N.uuid(h1, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "GPU-fa4e0001-0000-4000-8000-000000000001");
        assert_int_equal(N.pci_v3(h1, &pci), NVML_SUCCESS);
        assert_string_equal(pci.busId, "00000000:11:00.0");
        assert_int_equal(N.memory(h0, &mem), NVML_SUCCESS);
        assert_int_equal(mem.used, 0);
        assert_int_equal(mem.free, 16384 * MIB);

        assert_int_equal(N.util(h0, &u), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.temp(h0, NVML_TEMPERATURE_GPU, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.power(h0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.limit(h0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.energy(h0, &ull), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.clock(h0, NVML_CLOCK_SM, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.ecc(h0, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull),
                         NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.pcie(h0, NVML_PCIE_UTIL_TX_BYTES, &v), NVML_ERROR_NOT_SUPPORTED);

        /* Volta: no MIG; Ampere: MIG capable with 7 slices by default. */
        assert_int_equal(N.mig_mode(h0, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.max_mig(h0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.mig_by_index(h0, 0, &h), NVML_ERROR_NOT_FOUND);
        assert_int_equal(N.gi_profile(h0, 0, &prof), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.max_mig(h1, &v), NVML_SUCCESS);
        assert_int_equal(v, 7);
        assert_int_equal(N.mig_mode(h1, &cur, &pend), NVML_SUCCESS);
        assert_int_equal(cur, NVML_DEVICE_MIG_DISABLE);
}

/* ---- process lists --------------------------------------------------------------- */

static void check_proc(const unsigned char *e, unsigned pid, unsigned long long used, unsigned gi,
                       unsigned ci, size_t elem)
{
        unsigned p, g, c;
        unsigned long long m;

        memcpy(&p, e, 4);
        memcpy(&m, e + 8, 8);
        assert_int_equal(p, pid);
        assert_int_equal(m, used);
        if (elem >= 24) {
                memcpy(&g, e + 16, 4);
                memcpy(&c, e + 20, 4);
                assert_int_equal(g, gi);
                assert_int_equal(c, ci);
        }
}

/* The function writes exactly n elements of elem bytes into a 0xEE-filled buffer. */
static void check_written(const unsigned char *buf, size_t size, unsigned n, size_t elem)
{
        for (size_t i = n * elem; i < size; i++)
                if (buf[i] != 0xEE)
                        fail_msg("byte %zu after %u elements of %zu bytes was written", i, n, elem);
        assert_int_not_equal(buf[n * elem - 1], 0xEE);
}

static void test_processes(void **state)
{
        unsigned char buf[8 * 32];
        nvmlDevice_t h0, h1, h2;
        unsigned n;
        const struct {
                nvml_device_processes_fn *fn;
                size_t elem;
        } fns[] = {{&N.compute_v3, 24}, {&N.compute_v2, 24}, {&N.compute, 16}};

        start(shipped("a100x4.yaml"));
        h0 = gpu(0);
        h1 = gpu(1);
        h2 = gpu(2);

        /* Too small: the count needed and INSUFFICIENT_SIZE (infos may be NULL). */
        n = 0;
        assert_int_equal(N.compute_v3(h0, &n, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(n, 2);
        n = 1;
        assert_int_equal(N.compute_v3(h0, &n, buf), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(n, 2);
        n = 2;
        assert_int_equal(N.compute_v3(h0, &n, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.compute_v3(h0, NULL, buf), NVML_ERROR_INVALID_ARGUMENT);

        for (size_t k = 0; k < sizeof(fns) / sizeof(fns[0]); k++) {
                memset(buf, 0xEE, sizeof(buf));
                n = 8;
                assert_int_equal((*fns[k].fn)(h0, &n, buf), NVML_SUCCESS);
                assert_int_equal(n, 2);
                check_written(buf, sizeof(buf), 2, fns[k].elem);
                check_proc(buf, 4242, 20480 * MIB, NO_ID, NO_ID, fns[k].elem);
                check_proc(buf + fns[k].elem, 4315, 1536 * MIB, NO_ID, NO_ID, fns[k].elem);
        }

        /* None: count 0 and SUCCESS, even without a buffer. */
        n = 0;
        assert_int_equal(N.compute_v3(h1, &n, NULL), NVML_SUCCESS);
        assert_int_equal(n, 0);
        n = 5;
        assert_int_equal(N.graphics_v3(h0, &n, NULL), NVML_SUCCESS);
        assert_int_equal(n, 0);

        /* Compute lists compute and C+G processes; graphics lists graphics and C+G. */
        memset(buf, 0xEE, sizeof(buf));
        n = 8;
        assert_int_equal(N.compute_v2(h2, &n, buf), NVML_SUCCESS);
        assert_int_equal(n, 2);
        check_proc(buf, 5120, 8192 * MIB, NO_ID, NO_ID, 24);
        check_proc(buf + 24, 5188, 512 * MIB, NO_ID, NO_ID, 24);
        for (int k = 0; k < 3; k++) {
                nvml_device_processes_fn f =
                    k == 0 ? N.graphics_v3 : (k == 1 ? N.graphics_v2 : N.graphics);
                memset(buf, 0xEE, sizeof(buf));
                n = 8;
                assert_int_equal(f(h2, &n, buf), NVML_SUCCESS);
                assert_int_equal(n, 1);
                check_written(buf, sizeof(buf), 1, k == 2 ? 16 : 24);
                check_proc(buf, 5188, 512 * MIB, NO_ID, NO_ID, k == 2 ? 16 : 24);
        }
        assert_int_equal(N.shutdown(), NVML_SUCCESS);

        /* used_mib: null is "not available"; the v3 size can be 32. */
        start(put("t.yaml", "faults: {process_info_v3_size: 32}\n"
                            "gpus:\n"
                            "  - name: x\n"
                            "    memory_total_mib: 1024\n"
                            "    processes:\n"
                            "      - {pid: 10, used_mib: null}\n"
                            "      - {pid: 11, used_mib: 3, type: both}\n"));
        h0 = gpu(0);
        memset(buf, 0xEE, sizeof(buf));
        n = 8;
        assert_int_equal(N.compute_v3(h0, &n, buf), NVML_SUCCESS);
        assert_int_equal(n, 2);
        check_written(buf, sizeof(buf), 2, 32);
        check_proc(buf, 10, NVML_VALUE_NOT_AVAILABLE_ULL, NO_ID, NO_ID, 32);
        check_proc(buf + 32, 11, 3 * MIB, NO_ID, NO_ID, 32);
        memset(buf, 0xEE, sizeof(buf));
        n = 8;
        assert_int_equal(N.compute_v2(h0, &n, buf), NVML_SUCCESS);
        check_written(buf, sizeof(buf), 2, 24);
}

/* Long lists: a fixture may hold hundreds of processes per GPU. */
static void test_many_processes(void **state)
{
        char text[32768];
        size_t len;
        unsigned n;
        unsigned char *buf;
        nvmlDevice_t h;

        len = (size_t)snprintf(text, sizeof(text),
                               "gpus:\n  - name: x\n    memory_total_mib: 81920\n"
                               "    processes:\n");
        for (int i = 0; i < 300; i++)
                len += (size_t)snprintf(text + len, sizeof(text) - len,
                                        "      - {pid: %d, used_mib: %d}\n", 20000 + i, i + 1);
        assert_true(len < sizeof(text));
        start(put("t.yaml", text));
        h = gpu(0);
        n = 16;
        assert_int_equal(N.compute_v3(h, &n, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(n, 300);
        buf = malloc((size_t)300 * 24);
        assert_non_null(buf);
        assert_int_equal(N.compute_v3(h, &n, buf), NVML_SUCCESS);
        assert_int_equal(n, 300);
        for (unsigned i = 0; i < 300; i++)
                check_proc(buf + (size_t)i * 24, 20000 + i, (i + 1) * MIB, NO_ID, NO_ID, 24);
        free(buf);
}

/* ---- MIG ------------------------------------------------------------------------ */

static void test_mig(void **state)
{
        nvmlDevice_t g0, g1, g2, g3, m0, m1, m5, h;
        char buf[128];
        unsigned v, cur, pend;
        unsigned long long ull;
        nvmlMemory_t mem;
        nvmlUtilization_t u;
        nvmlDeviceAttributes_t attrs;
        unsigned char raw[sizeof(nvmlDeviceAttributes_t)];
        nvmlPciInfo_t pci;
        unsigned char pbuf[16 * 32];
        nvmlEventSet_t set;
        nvmlGpmSupport_t sup = {.version = NVML_GPM_SUPPORT_VERSION};
        nvmlGpmSample_t s;

        start(shipped("a100x4-mixed.yaml"));
        g0 = gpu(0);
        g1 = gpu(1);
        g2 = gpu(2);
        g3 = gpu(3);

        /* GPU 0 is whole; GPU 1 has MIG on: no utilization there. */
        assert_int_equal(N.util(g0, &u), NVML_SUCCESS);
        assert_int_equal(u.gpu, 76);
        assert_int_equal(N.mig_mode(g1, &cur, &pend), NVML_SUCCESS);
        assert_int_equal(cur, NVML_DEVICE_MIG_ENABLE);
        assert_int_equal(pend, NVML_DEVICE_MIG_ENABLE);
        assert_int_equal(N.util(g1, &u), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.temp(g1, NVML_TEMPERATURE_GPU, &v), NVML_SUCCESS);
        assert_int_equal(N.memory(g1, &mem), NVML_SUCCESS);
        assert_int_equal(mem.used, (3075 + 1027 + 2051) * MIB);

        /* MIG handles by index. */
        for (unsigned i = 0; i < 7; i++)
                assert_int_equal(N.mig_by_index(g1, i, &h), NVML_SUCCESS);
        assert_int_equal(N.mig_by_index(g1, 7, &h), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.mig_by_index(g1, 0, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.mig_by_index(g3, 1, &h), NVML_SUCCESS);
        assert_int_equal(N.mig_by_index(g3, 2, &h), NVML_ERROR_NOT_FOUND);
        m0 = mig(g1, 0);
        m1 = mig(g1, 1);
        m5 = mig(g1, 5);
        assert_ptr_equal(mig(g1, 0), m0);
        assert_ptr_not_equal(m0, g1);
        assert_ptr_not_equal(m0, m1);
        assert_ptr_not_equal(mig(g2, 0), m0);

        assert_int_equal(N.is_mig(m0, &v), NVML_SUCCESS);
        assert_int_equal(v, 1);
        assert_int_equal(N.uuid(m0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, MIXED_GPU1_MIG0_UUID);
        assert_int_equal(N.name(m0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, A100_40GB " MIG 1g.5gb");
        assert_int_equal(N.name(mig(g3, 0), buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, A100_40GB " MIG 3g.20gb");
        assert_int_equal(N.memory(m0, &mem), NVML_SUCCESS);
        assert_int_equal(mem.total, 4864 * MIB);
        assert_int_equal(mem.used, 3075 * MIB);
        assert_int_equal(mem.free, (4864 - 3075) * MIB);
        assert_int_equal(N.gi_id(m0, &v), NVML_SUCCESS);
        assert_int_equal(v, 7);
        assert_int_equal(N.gi_id(m5, &v), NVML_SUCCESS);
        assert_int_equal(v, 13);
        assert_int_equal(N.ci_id(m5, &v), NVML_SUCCESS);
        assert_int_equal(v, 0);
        assert_int_equal(N.gi_id(m0, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.pci_v3(m0, &pci), NVML_SUCCESS);
        assert_string_equal(pci.busId, "00000000:0F:00.0");

        assert_int_equal(N.attrs_v2(m0, &attrs), NVML_SUCCESS);
        assert_int_equal(attrs.gpuInstanceSliceCount, 1);
        assert_int_equal(attrs.computeInstanceSliceCount, 1);
        assert_int_equal(attrs.memorySizeMB, 4864);
        assert_int_equal(attrs.multiprocessorCount, 14);
        assert_int_equal(N.attrs_v2(mig(g2, 1), &attrs), NVML_SUCCESS);
        assert_int_equal(attrs.gpuInstanceSliceCount, 2);
        assert_int_equal(attrs.multiprocessorCount, 28);
        assert_int_equal(attrs.memorySizeMB, 9856);
        /* The plain function fills the old six-field struct only. */
        memset(raw, 0xCD, sizeof(raw));
        assert_int_equal(N.attrs(m0, (nvmlDeviceAttributes_t *)raw), NVML_SUCCESS);
        memcpy(&attrs, raw, sizeof(attrs));
        assert_int_equal(attrs.multiprocessorCount, 14);
        for (size_t i = offsetof(nvmlDeviceAttributes_t, gpuInstanceSliceCount); i < sizeof(raw);
             i++)
                assert_int_equal(raw[i], 0xCD);

        /* Readings are the whole GPU's business. */
        assert_int_equal(N.util(m0, &u), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.temp(m0, NVML_TEMPERATURE_GPU, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.power(m0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.limit(m0, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.energy(m0, &ull), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.clock(m0, NVML_CLOCK_SM, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.ecc(m0, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull),
                         NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.pcie(m0, NVML_PCIE_UTIL_TX_BYTES, &v), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.mig_mode(m0, &cur, &pend), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.mig_by_index(m0, 0, &h), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.event_create(&set), NVML_SUCCESS);
        assert_int_equal(N.register_events(m0, nvmlEventTypeXidCriticalError, set),
                         NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.event_free(set), NVML_SUCCESS);

        /* Processes: the parent lists all its MIG devices'; a MIG handle its own. */
        memset(pbuf, 0xEE, sizeof(pbuf));
        v = 16;
        assert_int_equal(N.compute_v3(g1, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 3);
        check_written(pbuf, sizeof(pbuf), 3, 24);
        check_proc(pbuf, 6101, 3072 * MIB, 7, 0, 24);
        check_proc(pbuf + 24, 6102, 1024 * MIB, 9, 0, 24);
        check_proc(pbuf + 48, 6103, 2048 * MIB, 13, 0, 24);
        v = 16;
        assert_int_equal(N.compute_v3(m0, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 1);
        check_proc(pbuf, 6101, 3072 * MIB, 7, 0, 24);
        v = 16;
        assert_int_equal(N.compute_v3(m1, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 0);
        memset(pbuf, 0xEE, sizeof(pbuf));
        v = 16;
        assert_int_equal(N.compute(m5, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 1);
        check_written(pbuf, sizeof(pbuf), 1, 16);
        check_proc(pbuf, 6103, 2048 * MIB, 0, 0, 16);
        v = 0;
        assert_int_equal(N.compute_v2(mig(g2, 1), &v, NULL), NVML_ERROR_INSUFFICIENT_SIZE);
        assert_int_equal(v, 2);
        v = 16;
        assert_int_equal(N.compute_v2(g2, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 2);
        check_proc(pbuf, 6201, 6144 * MIB, 4, 0, 24);
        v = 16;
        assert_int_equal(N.compute_v2(g3, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 0);
        v = 16;
        assert_int_equal(N.compute_v3(g0, &v, pbuf), NVML_SUCCESS);
        assert_int_equal(v, 1);
        check_proc(pbuf, 6001, 30720 * MIB, NO_ID, NO_ID, 24);

        /* Ampere: no GPM. */
        assert_int_equal(N.gpm_support(g1, &sup), NVML_SUCCESS);
        assert_int_equal(sup.isSupportedDevice, 0);
        assert_int_equal(N.gpm_alloc(&s), NVML_SUCCESS);
        assert_int_equal(N.gpm_mig_sample(g1, 7, s), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.gpm_free(s), NVML_SUCCESS);
}

/* ---- reload ------------------------------------------------------------------------ */

static const char *two_gpus(unsigned temp0, const char *gpu0_extra, bool with_gpu1,
                            const char *top_extra)
{
        static char text[2048];

        snprintf(text, sizeof(text),
                 "%s"
                 "gpus:\n"
                 "  - name: first\n"
                 "    uuid: GPU-00000000-1111-2222-3333-444444444444\n"
                 "    memory_total_mib: 1024\n"
                 "    temperature_c: %u\n"
                 "%s"
                 "%s",
                 top_extra, temp0, gpu0_extra,
                 with_gpu1 ? "  - name: second\n"
                             "    uuid: GPU-55555555-6666-7777-8888-999999999999\n"
                             "    memory_total_mib: 2048\n"
                             "    temperature_c: 30\n"
                           : "");
        return text;
}

static void test_reload(void **state)
{
        nvmlDevice_t h0, h1, h;
        struct capture c;
        char text[2048], buf[96];
        unsigned n, v;
        nvmlMemory_t mem;

        start(put("t.yaml", two_gpus(40, "", true, "")));
        h0 = gpu(0);
        h1 = gpu(1);
        assert_int_equal(temp_of(h0), 40);

        /* A changed value shows up without re-init. */
        put("t.yaml", two_gpus(41, "", true, ""));
        WAIT_FOR(temp_of(h0) == 41);

        /* A broken rewrite keeps the previous state, with one line on stderr. */
        capture_begin(&c);
        put("t.yaml", "gpus: [\n");
        WAIT_FOR(temp_of(h0) == 41 &&
                 strstr(capture_text(&c, text, sizeof(text)), "keeping the previous topology"));
        capture_end(&c);
        assert_int_equal(count_lines(text), 1);
        assert_non_null(strstr(text, "t.yaml:2:1: error"));
        assert_int_equal(temp_of(h0), 41);
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 2);

        /* GPU 1 leaves: its handle is lost, the other one still works. */
        put("t.yaml", two_gpus(42, "", false, ""));
        WAIT_FOR(temp_of(h0) == 42);
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 1);
        assert_int_equal(N.by_index_v2(1, &h), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.uuid(h1, buf, sizeof(buf)), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.memory(h1, &mem), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.temp(h1, NVML_TEMPERATURE_GPU, &v), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.uuid(h0, buf, sizeof(buf)), NVML_SUCCESS);

        /* It comes back: the same handle works again. */
        put("t.yaml", two_gpus(43, "", true, ""));
        WAIT_FOR(temp_of(h0) == 43);
        assert_ptr_equal(gpu(1), h1);
        assert_int_equal(N.memory(h1, &mem), NVML_SUCCESS);
        assert_int_equal(mem.total, 2048 * MIB);

        /* Faults on a GPU: getting the handle works, calls on it fail. */
        put("t.yaml", two_gpus(44, "    fault: unknown\n", true, ""));
        WAIT_FOR(N.uuid(h0, buf, sizeof(buf)) == NVML_ERROR_UNKNOWN);
        assert_int_equal(N.by_index_v2(0, &h), NVML_SUCCESS);
        assert_ptr_equal(h, h0);
        assert_int_equal(N.memory(h0, &mem), NVML_ERROR_UNKNOWN);
        put("t.yaml", two_gpus(44, "    fault: lost\n", true, ""));
        WAIT_FOR(N.uuid(h0, buf, sizeof(buf)) == NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.memory(h1, &mem), NVML_SUCCESS);

        /* Missing symbols change with the fixture too. */
        put("t.yaml",
            two_gpus(45, "", true, "faults: {missing_symbols: [nvmlDeviceGetTemperature]}\n"));
        WAIT_FOR(N.temp(h0, NVML_TEMPERATURE_GPU, &v) == NVML_ERROR_FUNCTION_NOT_FOUND);
        assert_int_equal(N.memory(h0, &mem), NVML_SUCCESS);
        put("t.yaml", two_gpus(46, "", true, ""));
        WAIT_FOR(temp_of(h0) == 46);
}

/* Reload turns MIG on and off; MIG handles of vanished devices answer NOT_FOUND. */
static void test_reload_mig(void **state)
{
        static const char mig_on[] = "gpus:\n"
                                     "  - name: NVIDIA A100-SXM4-40GB\n"
                                     "    memory_total_mib: 40960\n"
                                     "    mig: {current: true}\n"
                                     "    mig_devices:\n"
                                     "      - {profile: 3g.20gb, gpu_instance_id: 1, slices: 3,"
                                     " memory_mib: 19968}\n"
                                     "      - {profile: 3g.20gb, gpu_instance_id: 2, slices: 3,"
                                     " memory_mib: 19968, index: 4}\n";
        static const char mig_off[] = "gpus:\n"
                                      "  - name: NVIDIA A100-SXM4-40GB\n"
                                      "    memory_total_mib: 40960\n"
                                      "    mig: {current: false, pending: true}\n";
        nvmlDevice_t g, m0, m4, h;
        unsigned v, cur, pend;
        char buf[96];

        start(put("t.yaml", mig_on));
        g = gpu(0);
        m0 = mig(g, 0);
        m4 = mig(g, 4);
        assert_int_equal(N.mig_by_index(g, 1, &h), NVML_ERROR_NOT_FOUND);
        assert_int_equal(N.gi_id(m4, &v), NVML_SUCCESS);
        assert_int_equal(v, 2);
        assert_int_equal(N.uuid(m4, buf, sizeof(buf)), NVML_SUCCESS);
        assert_string_equal(buf, "MIG-fa4e0000-0001-4000-8000-000000000200");

        put("t.yaml", mig_off);
        WAIT_FOR(N.mig_mode(g, &cur, &pend) == NVML_SUCCESS && cur == NVML_DEVICE_MIG_DISABLE);
        assert_int_equal(pend, NVML_DEVICE_MIG_ENABLE);
        assert_int_equal(N.gi_id(m0, &v), NVML_ERROR_NOT_FOUND);
        assert_int_equal(N.mig_by_index(g, 0, &h), NVML_ERROR_NOT_FOUND);

        put("t.yaml", mig_on);
        WAIT_FOR(N.gi_id(m0, &v) == NVML_SUCCESS);
        assert_int_equal(v, 1);
}

/* ---- faults ------------------------------------------------------------------------ */

static void test_broken_fixture(void **state)
{
        nvmlDevice_t h0, h2;
        char buf[96];
        unsigned n, v;
        nvmlMemory_t mem;
        nvmlPciInfo_t pci;
        nvmlEventSet_t set;

        start(shipped("broken.yaml"));
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, 4);
        h0 = gpu(0);
        h2 = gpu(2); /* the handle: yes */
        assert_int_equal(N.uuid(h2, buf, sizeof(buf)), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.name(h2, buf, sizeof(buf)), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.pci_v3(h2, &pci), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.memory(h2, &mem), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.temp(h2, NVML_TEMPERATURE_GPU, &v), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.is_mig(h2, &v), NVML_ERROR_GPU_IS_LOST);
        v = 0;
        assert_int_equal(N.compute_v3(h2, &v, NULL), NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.event_create(&set), NVML_SUCCESS);
        assert_int_equal(N.register_events(h2, nvmlEventTypeXidCriticalError, set),
                         NVML_ERROR_GPU_IS_LOST);
        assert_int_equal(N.event_free(set), NVML_SUCCESS);
        assert_int_equal(N.uuid(h0, buf, sizeof(buf)), NVML_SUCCESS);
        assert_int_equal(temp_of(h0), 57);
}

static void test_init_faults(void **state)
{
        static const struct {
                const char *name;
                nvmlReturn_t r;
        } faults[] = {
            {"driver_not_loaded", NVML_ERROR_DRIVER_NOT_LOADED},
            {"no_permission", NVML_ERROR_NO_PERMISSION},
            {"unknown", NVML_ERROR_UNKNOWN},
            {"lib_rm_version_mismatch", NVML_ERROR_LIB_RM_VERSION_MISMATCH},
            {"library_not_found", NVML_ERROR_LIBRARY_NOT_FOUND},
        };
        char text[256];
        unsigned n;
        nvmlDevice_t h;
        unsigned char buf[64];

        for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
                snprintf(text, sizeof(text), "faults: {init: %s}\ngpus: []\n", faults[i].name);
                use(put("t.yaml", text));
                assert_int_equal(N.init_v2(), faults[i].r);
                assert_int_equal(N.init(), faults[i].r);
                assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);
        }
        use(shipped("init-fails.yaml"));
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);

        /* A driver without nvmlInit_v2 and the _v3 process list. */
        use(put("t.yaml", "faults:\n"
                          "  missing_symbols: [nvmlInit_v2,"
                          " nvmlDeviceGetComputeRunningProcesses_v3]\n"
                          "gpus:\n"
                          "  - {name: x, memory_total_mib: 8, processes: [{pid: 7}]}\n"));
        assert_int_equal(N.init_v2(), NVML_ERROR_FUNCTION_NOT_FOUND);
        assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(N.init(), NVML_SUCCESS);
        assert_int_equal(N.init_v2(), NVML_ERROR_FUNCTION_NOT_FOUND);
        assert_int_equal(N.by_index_v2(0, &h), NVML_SUCCESS);
        n = 4;
        assert_int_equal(N.compute_v3(h, &n, buf), NVML_ERROR_FUNCTION_NOT_FOUND);
        n = 4;
        assert_int_equal(N.compute_v2(h, &n, buf), NVML_SUCCESS);
        assert_int_equal(n, 1);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
        assert_int_equal(N.shutdown(), NVML_ERROR_UNINITIALIZED);
}

/* ---- GPM -------------------------------------------------------------------------- */

static double sm_util(nvmlGpmSample_t a, nvmlGpmSample_t b, nvmlReturn_t *ret_metric)
{
        nvmlGpmMetricsGet_t mg;

        memset(&mg, 0, sizeof(mg));
        mg.version = NVML_GPM_METRICS_GET_VERSION;
        mg.numMetrics = 1;
        mg.sample1 = a;
        mg.sample2 = b;
        mg.metrics[0].metricId = NVML_GPM_METRIC_SM_UTIL;
        assert_int_equal(N.gpm_metrics(&mg), NVML_SUCCESS);
        *ret_metric = mg.metrics[0].nvmlReturn;
        return mg.metrics[0].value;
}

static void test_gpm(void **state)
{
        nvmlGpmSupport_t sup = {.version = 0};
        nvmlGpmSample_t s1, s2, s3, fresh;
        nvmlGpmMetricsGet_t mg;
        nvmlDevice_t g0, g2, m0;
        nvmlReturn_t mr;

        start(shipped("h100x8-mig.yaml"));
        g0 = gpu(0);
        g2 = gpu(2);
        m0 = mig(g0, 0);
        assert_int_equal(N.gpm_support(g0, &sup), NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
        sup.version = NVML_GPM_SUPPORT_VERSION;
        assert_int_equal(N.gpm_support(g0, &sup), NVML_SUCCESS);
        assert_int_equal(sup.isSupportedDevice, 1);
        assert_int_equal(N.gpm_support(g0, NULL), NVML_ERROR_INVALID_ARGUMENT);

        assert_int_equal(N.gpm_alloc(NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gpm_free(NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gpm_alloc(&s1), NVML_SUCCESS);
        assert_int_equal(N.gpm_alloc(&s2), NVML_SUCCESS);
        assert_int_equal(N.gpm_alloc(&s3), NVML_SUCCESS);
        assert_int_equal(N.gpm_alloc(&fresh), NVML_SUCCESS);

        /* Per GPU instance of GPU 0: gi 7 has sm_util 62.5, gi 11 88.0. */
        assert_int_equal(N.gpm_mig_sample(g0, 7, s1), NVML_SUCCESS);
        assert_int_equal(N.gpm_mig_sample(g0, 7, s2), NVML_SUCCESS);
        assert_true(sm_util(s1, s2, &mr) == 62.5);
        assert_int_equal(mr, NVML_SUCCESS);
        assert_int_equal(N.gpm_mig_sample(g0, 14, s3), NVML_ERROR_NOT_FOUND);
        assert_int_equal(N.gpm_mig_sample(g0, 7, NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gpm_mig_sample(m0, 7, s3), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gpm_mig_sample(g0, 11, s3), NVML_SUCCESS);

        memset(&mg, 0, sizeof(mg));
        mg.version = NVML_GPM_METRICS_GET_VERSION;
        mg.numMetrics = 2;
        mg.sample1 = s1;
        mg.sample2 = s2;
        mg.metrics[0].metricId = NVML_GPM_METRIC_SM_UTIL;
        mg.metrics[1].metricId = 1; /* graphics activity: not replayed */
        assert_int_equal(N.gpm_metrics(&mg), NVML_SUCCESS);
        assert_int_equal(mg.metrics[0].nvmlReturn, NVML_SUCCESS);
        assert_true(mg.metrics[0].value == 62.5);
        assert_int_equal(mg.metrics[1].nvmlReturn, NVML_ERROR_NOT_SUPPORTED);
        mg.version = 2;
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
        mg.version = NVML_GPM_METRICS_GET_VERSION;
        mg.numMetrics = DS01_GPM_METRICS_MAX + 1;
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_INVALID_ARGUMENT);
        mg.numMetrics = 1;
        mg.sample1 = s2; /* wrong order */
        mg.sample2 = s1;
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_INVALID_ARGUMENT);
        mg.sample1 = s1; /* other instance */
        mg.sample2 = s3;
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_INVALID_ARGUMENT);
        mg.sample2 = fresh; /* never filled */
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_INVALID_ARGUMENT);
        mg.sample2 = s1; /* the same sample */
        assert_int_equal(N.gpm_metrics(&mg), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.gpm_metrics(NULL), NVML_ERROR_INVALID_ARGUMENT);

        /* Whole GPU: utilization.gpu. GPU 2 has 97.5+95+12.5+3.75 over 7. */
        assert_int_equal(N.gpm_sample(g2, s1), NVML_SUCCESS);
        assert_int_equal(N.gpm_sample(g2, s2), NVML_SUCCESS);
        assert_true(sm_util(s1, s2, &mr) == 29.0);
        assert_int_equal(N.gpm_sample(m0, s1), NVML_ERROR_INVALID_ARGUMENT);

        assert_int_equal(N.gpm_free(s1), NVML_SUCCESS);
        assert_int_equal(N.gpm_free(s2), NVML_SUCCESS);
        assert_int_equal(N.gpm_free(s3), NVML_SUCCESS);
        assert_int_equal(N.gpm_free(fresh), NVML_SUCCESS);
}

static const char *hopper(const char *sm_util_line)
{
        static char text[1024];

        snprintf(text, sizeof(text),
                 "gpus:\n"
                 "  - name: NVIDIA H100 80GB HBM3\n"
                 "    architecture: hopper\n"
                 "    memory_total_mib: 81559\n"
                 "    mig: {current: true}\n"
                 "    mig_devices:\n"
                 "      - profile: 1g.10gb\n"
                 "        gpu_instance_id: 9\n"
                 "        slices: 1\n"
                 "        memory_mib: 9984\n"
                 "%s",
                 sm_util_line);
        return text;
}

/* GPM values are replayed from the fixture at sampling time. */
static void test_gpm_replay(void **state)
{
        nvmlGpmSample_t a, b;
        nvmlDevice_t g;
        nvmlReturn_t mr;
        double v = 0.0;

        start(put("t.yaml", hopper("")));
        g = gpu(0);
        assert_int_equal(N.gpm_alloc(&a), NVML_SUCCESS);
        assert_int_equal(N.gpm_alloc(&b), NVML_SUCCESS);
        assert_int_equal(N.gpm_mig_sample(g, 9, a), NVML_SUCCESS);
        assert_int_equal(N.gpm_mig_sample(g, 9, b), NVML_SUCCESS);
        sm_util(a, b, &mr);
        assert_int_equal(mr, NVML_ERROR_NOT_SUPPORTED); /* no sm_util in the fixture */

        put("t.yaml", hopper("        sm_util: 12.5\n"));
        WAIT_FOR(N.gpm_mig_sample(g, 9, b) == NVML_SUCCESS &&
                 (v = sm_util(a, b, &mr), mr == NVML_SUCCESS));
        assert_true(v == 12.5);
        put("t.yaml", hopper("        sm_util: 75\n"));
        WAIT_FOR(N.gpm_mig_sample(g, 9, b) == NVML_SUCCESS && sm_util(a, b, &mr) == 75.0);
        assert_int_equal(N.gpm_free(a), NVML_SUCCESS);
        assert_int_equal(N.gpm_free(b), NVML_SUCCESS);
}

/* ---- XID events -------------------------------------------------------------------- */

static const char *xids(const char *gpu0, const char *gpu1)
{
        static char text[1024];

        snprintf(text, sizeof(text),
                 "gpus:\n"
                 "  - {name: a, memory_total_mib: 8, xid_events: %s}\n"
                 "  - {name: b, memory_total_mib: 8, xid_events: %s}\n",
                 gpu0, gpu1);
        return text;
}

static void expect_event(nvmlEventSet_t set, nvmlDevice_t dev, unsigned long long xid)
{
        nvmlEventData_t d;

        memset(&d, 0, sizeof(d));
        assert_int_equal(N.wait_v2(set, &d, 1000), NVML_SUCCESS);
        assert_ptr_equal(d.device, dev);
        assert_int_equal(d.eventType, nvmlEventTypeXidCriticalError);
        assert_int_equal(d.eventData, xid);
        assert_int_equal(d.gpuInstanceId, NO_ID);
        assert_int_equal(d.computeInstanceId, NO_ID);
}

static void test_events(void **state)
{
        nvmlEventSet_t set, other;
        nvmlDevice_t g0, g1;
        nvmlEventData_t d;
        unsigned char raw[sizeof(nvmlEventData_t)];

        start(put("t.yaml", xids("[79, 48]", "[]")));
        g0 = gpu(0);
        g1 = gpu(1);
        assert_int_equal(N.event_create(NULL), NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.event_create(&set), NVML_SUCCESS);
        assert_int_equal(N.wait_v2(set, &d, 0), NVML_ERROR_TIMEOUT);
        assert_int_equal(N.register_events(g0, 0x1ULL, set), NVML_ERROR_NOT_SUPPORTED);
        assert_int_equal(N.register_events(g0, nvmlEventTypeXidCriticalError, NULL),
                         NVML_ERROR_INVALID_ARGUMENT);
        assert_int_equal(N.register_events(g0, nvmlEventTypeXidCriticalError, set), NVML_SUCCESS);
        assert_int_equal(N.register_events(g1, nvmlEventTypeXidCriticalError, set), NVML_SUCCESS);
        assert_int_equal(N.wait_v2(set, NULL, 0), NVML_ERROR_INVALID_ARGUMENT);
        expect_event(set, g0, 79);
        expect_event(set, g0, 48);
        /* Nothing pending: TIMEOUT at once, whatever the timeout. */
        assert_int_equal(N.wait_v2(set, &d, 60000), NVML_ERROR_TIMEOUT);

        /* A longer list delivers the new entries. */
        put("t.yaml", xids("[79, 48, 94]", "[]"));
        WAIT_FOR(N.wait_v2(set, &d, 0) == NVML_SUCCESS);
        assert_ptr_equal(d.device, g0);
        assert_int_equal(d.eventData, 94);
        assert_int_equal(N.wait_v2(set, &d, 0), NVML_ERROR_TIMEOUT);

        /* A shorter list clamps; GPU 1's new entries arrive. */
        put("t.yaml", xids("[13]", "[31, 43]"));
        WAIT_FOR(N.wait_v2(set, &d, 0) == NVML_SUCCESS);
        assert_ptr_equal(d.device, g1);
        assert_int_equal(d.eventData, 31);
        expect_event(set, g1, 43);
        assert_int_equal(N.wait_v2(set, &d, 0), NVML_ERROR_TIMEOUT);
        put("t.yaml", xids("[13, 61]", "[31, 43]"));
        WAIT_FOR(N.wait_v2(set, &d, 0) == NVML_SUCCESS);
        assert_ptr_equal(d.device, g0);
        assert_int_equal(d.eventData, 61);

        /* Each set has its own position; the plain wait fills three fields. */
        assert_int_equal(N.event_create(&other), NVML_SUCCESS);
        assert_int_equal(N.register_events(g0, nvmlEventTypeXidCriticalError, other), NVML_SUCCESS);
        memset(raw, 0xAB, sizeof(raw));
        assert_int_equal(N.wait(other, (nvmlEventData_t *)raw, 0), NVML_SUCCESS);
        memcpy(&d, raw, sizeof(d));
        assert_ptr_equal(d.device, g0);
        assert_int_equal(d.eventType, nvmlEventTypeXidCriticalError);
        assert_int_equal(d.eventData, 13);
        for (size_t i = offsetof(nvmlEventData_t, gpuInstanceId); i < sizeof(raw); i++)
                assert_int_equal(raw[i], 0xAB);
        expect_event(other, g0, 61);
        assert_int_equal(N.wait(other, &d, 0), NVML_ERROR_TIMEOUT);

        assert_int_equal(N.event_free(set), NVML_SUCCESS);
        assert_int_equal(N.event_free(other), NVML_SUCCESS);
        assert_int_equal(N.event_free(NULL), NVML_ERROR_INVALID_ARGUMENT);
}

/* ---- shipped fixtures ---------------------------------------------------------------- */

static bool well_formed_uuid(const char *s, const char *prefix)
{
        static const int groups[] = {8, 4, 4, 4, 12};

        if (strncmp(s, prefix, 4) != 0)
                return false;
        s += 4;
        for (int g = 0; g < 5; g++) {
                for (int i = 0; i < groups[g]; i++, s++)
                        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                                return false;
                if (*s != (g == 4 ? '\0' : '-'))
                        return false;
                s++;
        }
        return true;
}

/* Every GPU of every shipped fixture: well-formed, distinct UUIDs, full readings. */
static void check_shipped(const char *file, unsigned want_gpus, unsigned want_migs, bool gpm)
{
        static char seen[128][96];
        unsigned n_seen = 0, n, migs = 0;

        start(shipped(file));
        assert_int_equal(N.count_v2(&n), NVML_SUCCESS);
        assert_int_equal(n, want_gpus);
        for (unsigned i = 0; i < n; i++) {
                nvmlDevice_t g = gpu(i), m;
                nvmlGpmSupport_t sup = {.version = NVML_GPM_SUPPORT_VERSION};
                unsigned v, max = 0;
                unsigned long long ull;
                char buf[96];

                if (N.uuid(g, buf, sizeof(buf)) == NVML_ERROR_GPU_IS_LOST)
                        continue;
                assert_true(well_formed_uuid(buf, "GPU-"));
                memcpy(seen[n_seen++], buf, sizeof(buf));
                assert_int_equal(N.temp(g, NVML_TEMPERATURE_GPU, &v), NVML_SUCCESS);
                assert_int_equal(N.power(g, &v), NVML_SUCCESS);
                assert_int_equal(N.limit(g, &v), NVML_SUCCESS);
                assert_int_equal(N.energy(g, &ull), NVML_SUCCESS);
                assert_int_equal(N.clock(g, NVML_CLOCK_SM, &v), NVML_SUCCESS);
                assert_int_equal(N.clock(g, NVML_CLOCK_MEM, &v), NVML_SUCCESS);
                assert_int_equal(
                    N.ecc(g, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ull),
                    NVML_SUCCESS);
                assert_int_equal(N.gpm_support(g, &sup), NVML_SUCCESS);
                assert_int_equal(sup.isSupportedDevice, gpm ? 1 : 0);
                assert_int_equal(N.max_mig(g, &max), NVML_SUCCESS);
                for (unsigned k = 0; k < max; k++) {
                        if (N.mig_by_index(g, k, &m) != NVML_SUCCESS)
                                continue;
                        assert_int_equal(N.uuid(m, buf, sizeof(buf)), NVML_SUCCESS);
                        assert_true(well_formed_uuid(buf, "MIG-"));
                        memcpy(seen[n_seen++], buf, sizeof(buf));
                        migs++;
                }
        }
        assert_int_equal(migs, want_migs);
        for (unsigned i = 0; i < n_seen; i++)
                for (unsigned j = 0; j < i; j++)
                        assert_string_not_equal(seen[i], seen[j]);
        assert_int_equal(N.shutdown(), NVML_SUCCESS);
}

static void test_shipped_fixtures(void **state)
{
        check_shipped("a100x4.yaml", 4, 0, false);
        check_shipped("a100x8.yaml", 8, 0, false);
        check_shipped("a100x4-mixed.yaml", 4, 7 + 3 + 2, false);
        check_shipped("h100x8-mig.yaml", 8, 56, true);
        check_shipped("h100x1.yaml", 1, 0, true);
        check_shipped("none.yaml", 0, 0, false);
        check_shipped("broken.yaml", 4, 0, false);
        use(shipped("init-fails.yaml"));
        assert_int_equal(N.init_v2(), NVML_ERROR_DRIVER_NOT_LOADED);
}

/* ---- threads ----------------------------------------------------------------------- */

struct worker {
        pthread_t thread;
        unsigned errors;
        volatile int *stop;
};

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        unsigned char procs[8 * 32];

        while (!*w->stop) {
                nvmlDevice_t h;
                char buf[96];
                unsigned n = 0, t;

                if (N.count_v2(&n) != NVML_SUCCESS || n != 2)
                        w->errors++;
                if (N.by_index_v2(1, &h) != NVML_SUCCESS) {
                        w->errors++;
                        continue;
                }
                if (N.uuid(h, buf, sizeof(buf)) != NVML_SUCCESS)
                        w->errors++;
                if (N.temp(h, NVML_TEMPERATURE_GPU, &t) != NVML_SUCCESS || t != 30)
                        w->errors++;
                n = 8;
                if (N.compute_v3(h, &n, procs) != NVML_SUCCESS)
                        w->errors++;
        }
        return NULL;
}

static void test_threads(void **state)
{
        struct worker w[4];
        volatile int stop = 0;
        nvmlDevice_t h0;

        start(put("t.yaml", two_gpus(50, "", true, "")));
        h0 = gpu(0);
        for (int i = 0; i < 4; i++) {
                w[i] = (struct worker){.stop = &stop};
                assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
        }
        for (unsigned t = 51; t < 71; t++) {
                put("t.yaml", two_gpus(t, "", true, ""));
                WAIT_FOR(temp_of(h0) == t);
        }
        stop = 1;
        for (int i = 0; i < 4; i++) {
                assert_int_equal(pthread_join(w[i].thread, NULL), 0);
                assert_int_equal(w[i].errors, 0);
        }
}

/* ---- the legacy build ------------------------------------------------------------------ */

static void test_legacy(void **state)
{
        static const char *const absent[] = {
            "nvmlInit_v2",
            "nvmlSystemGetCudaDriverVersion_v2",
            "nvmlDeviceGetCount_v2",
            "nvmlDeviceGetHandleByIndex_v2",
            "nvmlDeviceGetPciInfo_v3",
            "nvmlDeviceGetPciInfo_v2",
            "nvmlDeviceGetAttributes_v2",
            "nvmlDeviceGetComputeRunningProcesses_v3",
            "nvmlDeviceGetComputeRunningProcesses_v2",
            "nvmlDeviceGetGraphicsRunningProcesses_v3",
            "nvmlDeviceGetGraphicsRunningProcesses_v2",
            "nvmlGpmQueryDeviceSupport",
            "nvmlGpmSampleAlloc",
            "nvmlGpmSampleFree",
            "nvmlGpmSampleGet",
            "nvmlGpmMigSampleGet",
            "nvmlGpmMetricsGet",
            "nvmlEventSetWait_v2",
        };
        static const char *const present[] = {
            "nvmlInit",
            "nvmlShutdown",
            "nvmlErrorString",
            "nvmlSystemGetDriverVersion",
            "nvmlSystemGetNVMLVersion",
            "nvmlSystemGetCudaDriverVersion",
            "nvmlDeviceGetCount",
            "nvmlDeviceGetHandleByIndex",
            "nvmlDeviceGetUUID",
            "nvmlDeviceGetName",
            "nvmlDeviceGetPciInfo",
            "nvmlDeviceGetMemoryInfo",
            "nvmlDeviceGetMigMode",
            "nvmlDeviceGetMaxMigDeviceCount",
            "nvmlDeviceGetMigDeviceHandleByIndex",
            "nvmlDeviceIsMigDeviceHandle",
            "nvmlDeviceGetGpuInstanceId",
            "nvmlDeviceGetComputeInstanceId",
            "nvmlDeviceGetAttributes",
            "nvmlDeviceGetGpuInstanceProfileInfo",
            "nvmlDeviceGetUtilizationRates",
            "nvmlDeviceGetTemperature",
            "nvmlDeviceGetPowerUsage",
            "nvmlDeviceGetEnforcedPowerLimit",
            "nvmlDeviceGetTotalEnergyConsumption",
            "nvmlDeviceGetClockInfo",
            "nvmlDeviceGetTotalEccErrors",
            "nvmlDeviceGetPcieThroughput",
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetGraphicsRunningProcesses",
            "nvmlEventSetCreate",
            "nvmlEventSetFree",
            "nvmlDeviceRegisterEvents",
            "nvmlEventSetWait",
        };
        struct nvml L;
        nvmlDevice_t g, m;
        unsigned char buf[8 * 32];
        unsigned n;
        nvmlDeviceAttributes_t attrs;
        unsigned char raw[sizeof(nvmlPciInfo_t)];
        nvmlPciInfo_t pci;

        load(&L, getenv("FAKENVML_LEGACY_LIBRARY"));
        for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
                if (dlsym(L.dl, absent[i]))
                        fail_msg("the legacy library exports %s", absent[i]);
        for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
                if (!dlsym(L.dl, present[i]))
                        fail_msg("the legacy library lacks %s", present[i]);

        /* Its own state, apart from the current library's. */
        use(shipped("a100x4-mixed.yaml"));
        assert_int_equal(L.init(), NVML_SUCCESS);
        assert_int_equal(N.count_v2(&n), NVML_ERROR_UNINITIALIZED);
        assert_int_equal(L.count(&n), NVML_SUCCESS);
        assert_int_equal(n, 4);
        assert_int_equal(L.by_index(0, &g), NVML_SUCCESS);
        memset(buf, 0xEE, sizeof(buf));
        n = 8;
        assert_int_equal(L.compute(g, &n, buf), NVML_SUCCESS);
        assert_int_equal(n, 1);
        check_written(buf, sizeof(buf), 1, 16);
        check_proc(buf, 6001, 30720 * MIB, 0, 0, 16);
        memset(raw, 0xAB, sizeof(raw));
        assert_int_equal(L.pci(g, (nvmlPciInfo_t *)raw), NVML_SUCCESS);
        memcpy(&pci, raw, sizeof(pci));
        assert_string_equal(pci.busIdLegacy, "0000:07:00.0");
        assert_int_equal(raw[sizeof(raw) - 1], 0xAB);

        assert_int_equal(L.by_index(1, &g), NVML_SUCCESS);
        assert_int_equal(L.mig_by_index(g, 0, &m), NVML_SUCCESS);
        memset(&attrs, 0xCD, sizeof(attrs));
        assert_int_equal(L.attrs(m, &attrs), NVML_SUCCESS);
        assert_int_equal(attrs.multiprocessorCount, 14);
        assert_int_equal(attrs.gpuInstanceSliceCount, 0xCDCDCDCD);
        assert_int_equal(L.shutdown(), NVML_SUCCESS);
        unload(&L);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_error_strings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_init_refcount, setup, teardown),
            cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_system_strings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full_gpu, setup, teardown),
            cmocka_unit_test_setup_teardown(test_omitted_fields, setup, teardown),
            cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_many_processes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mig, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reload_mig, setup, teardown),
            cmocka_unit_test_setup_teardown(test_broken_fixture, setup, teardown),
            cmocka_unit_test_setup_teardown(test_init_faults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_gpm, setup, teardown),
            cmocka_unit_test_setup_teardown(test_gpm_replay, setup, teardown),
            cmocka_unit_test_setup_teardown(test_events, setup, teardown),
            cmocka_unit_test_setup_teardown(test_shipped_fixtures, setup, teardown),
            cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
            cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
