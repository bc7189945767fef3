/* SPDX-License-Identifier: MIT */
/*
 * fakenvml.c - a fake libnvidia-ml.so for tests. ds01 loads it through
 * DS01_NVML_LIBRARY exactly as it loads the real library, and it answers the
 * NVML calls ds01 makes from a YAML (or JSON) topology fixture named by
 * DS01_FAKENVML_TOPOLOGY: GPUs, MIG devices, readings, processes, XID events
 * and injected faults. tests/fakenvml/README.md documents the fixture format.
 *
 * The fixture is re-read when its (device, inode, size, mtime) changes, checked
 * at most once per millisecond on any call; tests replace it atomically (write
 * a temporary file, rename it over the old one). A fixture that fails to parse
 * keeps the previous topology. One mutex guards all state.
 *
 * Device handles point into static pools, one slot per GPU UUID seen and up to
 * eight MIG handles per slot, so a handle never dangles: a GPU that left the
 * fixture answers NVML_ERROR_GPU_IS_LOST.
 *
 * Built twice: libfakenvml.so (a current driver) and, with FAKENVML_LEGACY,
 * libfakenvml_legacy.so (an old driver without the _v2/_v3 names, GPM and
 * nvmlEventSetWait_v2).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
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

#include <yaml.h>

#include "fakenvml.h"
#include "util/macro.h"

#define ENV_TOPOLOGY "DS01_FAKENVML_TOPOLOGY"

#define MAX_GPUS         64
#define MAX_MIG          8
#define MAX_PROCS        4096 /* per list */
#define MAX_XIDS         256
#define MAX_FIXTURE_SIZE (4u << 20)
#define NAME_LEN         96
#define UUID_LEN         80
#define PROFILE_LEN      32
#define NO_ID            0xFFFFFFFFu
#define MIB              (1024ULL * 1024ULL)
#define RELOAD_CHECK_NS  1000000ULL

#define DEFAULT_DRIVER_VERSION "550.54.15"
#define DEFAULT_NVML_VERSION   "12.550.54.15"
#define DEFAULT_CUDA_VERSION   12040

#define EVENT_SET_MAGIC 0x45565453u
#define SAMPLE_MAGIC    0x47504d53u

/* The old nvmlPciInfo_t: busId[16], five ids, four reserved words. */
#define PCI_INFO_LEGACY_SIZE 52
/* The old nvmlDeviceAttributes_t ends after sharedOfaCount. */
#define ATTRIBUTES_LEGACY_SIZE offsetof(nvmlDeviceAttributes_t, gpuInstanceSliceCount)
/* Plain nvmlEventSetWait fills device, eventType and eventData only. */
#define EVENT_DATA_LEGACY_SIZE offsetof(nvmlEventData_t, gpuInstanceId)

_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v2_t) == 24, "nvmlProcessInfo_v2_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v3_t) == 32, "nvmlProcessInfo_v3_t layout");

/* ---- the topology ----------------------------------------------------------- */

enum arch {
        ARCH_VOLTA,
        ARCH_TURING,
        ARCH_AMPERE,
        ARCH_ADA,
        ARCH_HOPPER,
        ARCH_BLACKWELL,
};

enum {
        PROC_COMPUTE = 1,
        PROC_GRAPHICS = 2,
};

struct proc {
        unsigned pid;
        unsigned types; /* PROC_COMPUTE | PROC_GRAPHICS */
        bool used_unknown;
        unsigned long long used_mib;
};

struct mig {
        char profile[PROFILE_LEN];
        char uuid[UUID_LEN];
        unsigned idx;
        unsigned gi;
        unsigned ci;
        unsigned slices;
        unsigned compute_slices;
        unsigned long long memory_mib;
        unsigned long long memory_used_mib;
        bool has_sm_util;
        double sm_util;
        unsigned n_procs;
        struct proc *procs; /* n_procs, heap */
};

struct gpu {
        char name[NAME_LEN];
        char uuid[UUID_LEN];
        unsigned pci_domain, pci_bus, pci_device, pci_function;
        unsigned pci_device_id;
        unsigned long long memory_total_mib;
        unsigned long long memory_used_mib;
        enum arch arch;
        bool mig_capable;
        unsigned total_slices;
        bool mig_current, mig_pending;
        bool has_util;
        unsigned util_gpu, util_mem;
        bool has_temp;
        unsigned temp;
        bool has_power;
        unsigned power_mw;
        bool has_limit;
        unsigned limit_mw;
        bool has_energy;
        unsigned long long energy_mj;
        bool has_clock[4]; /* by nvmlClockType_t */
        unsigned clock[4];
        bool has_ecc;
        unsigned long long ecc_sbe, ecc_dbe;
        bool has_pcie;
        unsigned pcie_tx, pcie_rx;
        nvmlReturn_t fault;
        unsigned n_xids;
        unsigned xids[MAX_XIDS];
        unsigned n_procs;
        struct proc *procs; /* n_procs, heap */
        unsigned n_migs;
        struct mig migs[MAX_MIG];
};

/* The exported names, for faults.missing_symbols. */
static const char *const symbol_names[] = {
    "nvmlInit_v2",
    "nvmlInit",
    "nvmlShutdown",
    "nvmlErrorString",
    "nvmlSystemGetDriverVersion",
    "nvmlSystemGetNVMLVersion",
    "nvmlSystemGetCudaDriverVersion_v2",
    "nvmlSystemGetCudaDriverVersion",
    "nvmlDeviceGetCount_v2",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex_v2",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetName",
    "nvmlDeviceGetPciInfo_v3",
    "nvmlDeviceGetPciInfo_v2",
    "nvmlDeviceGetPciInfo",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetMigMode",
    "nvmlDeviceGetMaxMigDeviceCount",
    "nvmlDeviceGetMigDeviceHandleByIndex",
    "nvmlDeviceIsMigDeviceHandle",
    "nvmlDeviceGetGpuInstanceId",
    "nvmlDeviceGetComputeInstanceId",
    "nvmlDeviceGetAttributes_v2",
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
    "nvmlDeviceGetComputeRunningProcesses_v3",
    "nvmlDeviceGetComputeRunningProcesses_v2",
    "nvmlDeviceGetComputeRunningProcesses",
    "nvmlDeviceGetGraphicsRunningProcesses_v3",
    "nvmlDeviceGetGraphicsRunningProcesses_v2",
    "nvmlDeviceGetGraphicsRunningProcesses",
    "nvmlGpmQueryDeviceSupport",
    "nvmlGpmSampleAlloc",
    "nvmlGpmSampleFree",
    "nvmlGpmSampleGet",
    "nvmlGpmMigSampleGet",
    "nvmlGpmMetricsGet",
    "nvmlEventSetCreate",
    "nvmlEventSetFree",
    "nvmlDeviceRegisterEvents",
    "nvmlEventSetWait_v2",
    "nvmlEventSetWait",
};

#define N_SYMBOLS ELEMENTSOF(symbol_names)

struct topology {
        char driver_version[NAME_LEN];
        char nvml_version[NAME_LEN];
        int cuda_version;
        nvmlReturn_t init_fault; /* NVML_SUCCESS: none */
        bool missing[N_SYMBOLS];
        unsigned v3_size;
        unsigned n_gpus;
        struct gpu gpus[MAX_GPUS];
};

/* ---- global state (all under `lock`) ---------------------------------------- */

struct file_id {
        bool valid;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
};

/* Handles point at these; the address says which slot (and MIG index). */
struct nvmlDevice_st {
        char unused;
};

struct nvmlEventSet_st {
        unsigned magic;
        unsigned long long types[MAX_GPUS]; /* by slot; 0: not registered */
        unsigned pos[MAX_GPUS];             /* next xid_events entry to deliver */
};

struct nvmlGpmSample_st {
        unsigned magic;
        bool taken;
        unsigned slot;
        bool is_mig;
        unsigned gi;
        unsigned long long seq;
        bool has_sm_util;
        double sm_util;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_count;
static struct topology *topo;
static char *fixture_path;
static struct file_id seen_id;
static unsigned long long last_check_ns;
#ifndef FAKENVML_LEGACY
static unsigned long long gpm_seq;
#endif

static struct nvmlDevice_st gpu_pool[MAX_GPUS];
static struct nvmlDevice_st mig_pool[MAX_GPUS][MAX_MIG];
static char slot_uuid[MAX_GPUS][UUID_LEN]; /* "" = free */
static unsigned long long slot_bound_at[MAX_GPUS];
static unsigned long long slot_clock;

static unsigned long long now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static int symbol_index(const char *name)
{
        for (size_t i = 0; i < N_SYMBOLS; i++)
                if (strcmp(symbol_names[i], name) == 0)
                        return (int)i;
        return -1;
}

static void *topology_free(struct topology *t)
{
        if (!t)
                return NULL;
        for (unsigned i = 0; i < MAX_GPUS; i++) {
                free(t->gpus[i].procs);
                for (unsigned j = 0; j < MAX_MIG; j++)
                        free(t->gpus[i].migs[j].procs);
        }
        free(t);
        return NULL;
}

/* ---- fixture parsing ---------------------------------------------------------- */

struct parser {
        const char *file;
        yaml_document_t doc;
        locale_t c_locale;
        bool failed;
        char msg[512];
};

/* Records the first error as "file:line:column: error: ..."; returns false. */
_printf_(3, 4) static bool fail_at(struct parser *p, const yaml_node_t *n, const char *fmt, ...)
{
        char text[384];
        va_list ap;

        va_start(ap, fmt);
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (p->failed)
                return false;
        if (n)
                snprintf(p->msg, sizeof(p->msg), "%s:%zu:%zu: error: %s", p->file,
                         n->start_mark.line + 1, n->start_mark.column + 1, text);
        else
                snprintf(p->msg, sizeof(p->msg), "%s: error: %s", p->file, text);
        p->failed = true;
        return false;
}

static yaml_node_t *node_at(struct parser *p, int id)
{
        return yaml_document_get_node(&p->doc, id);
}

static const char *scalar_of(const yaml_node_t *n)
{
        return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (strcmp(scalar_of(n), nulls[i]) == 0)
                        return true;
        return false;
}

static bool get_u64(struct parser *p, const yaml_node_t *n, const char *key, unsigned long long min,
                    unsigned long long max, unsigned long long *ret)
{
        const char *s;
        char *end = NULL;
        unsigned long long v = 0;
        int base = 10;

        if (n->type != YAML_SCALAR_NODE || is_null(n))
                return fail_at(p, n, "'%s' must be an integer", key);
        s = scalar_of(n);
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                base = 16;
        if (!isdigit((unsigned char)s[0]))
                return fail_at(p, n, "'%s' must be a non-negative integer, not '%s'", key, s);
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno != 0 || !end || *end != '\0')
                return fail_at(p, n, "'%s' must be a non-negative integer, not '%s'", key, s);
        if (v < min || v > max)
                return fail_at(p, n, "'%s' must be between %llu and %llu, not %llu", key, min, max,
                               v);
        *ret = v;
        return true;
}

static bool get_uint(struct parser *p, const yaml_node_t *n, const char *key, unsigned min,
                     unsigned max, unsigned *ret)
{
        unsigned long long v = 0;

        if (!get_u64(p, n, key, min, max, &v))
                return false;
        *ret = (unsigned)v;
        return true;
}

static bool get_double(struct parser *p, const yaml_node_t *n, const char *key, double max,
                       double *ret)
{
        const char *s;
        char *end = NULL;
        double v;

        if (n->type != YAML_SCALAR_NODE || is_null(n))
                return fail_at(p, n, "'%s' must be a number", key);
        s = scalar_of(n);
        errno = 0;
        v = strtod_l(s, &end, p->c_locale);
        if (errno != 0 || !end || end == s || *end != '\0' || !isfinite(v))
                return fail_at(p, n, "'%s' must be a number, not '%s'", key, s);
        if (v < 0.0 || v > max)
                return fail_at(p, n, "'%s' must be between 0 and %g, not %s", key, max, s);
        *ret = v;
        return true;
}

static bool get_bool(struct parser *p, const yaml_node_t *n, const char *key, bool *ret)
{
        static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                          "YES",  "on",   "On",   "ON"};
        static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                         "NO",    "off",   "Off",   "OFF"};

        if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                        if (strcmp(scalar_of(n), yes[i]) == 0) {
                                *ret = true;
                                return true;
                        }
                for (size_t i = 0; i < ELEMENTSOF(no); i++)
                        if (strcmp(scalar_of(n), no[i]) == 0) {
                                *ret = false;
                                return true;
                        }
        }
        return fail_at(p, n, "'%s' must be true or false", key);
}

static bool get_string(struct parser *p, const yaml_node_t *n, const char *key, char *buf,
                       size_t size)
{
        size_t len;

        if (n->type != YAML_SCALAR_NODE || is_null(n))
                return fail_at(p, n, "'%s' must be a string", key);
        len = strlen(scalar_of(n));
        if (len == 0)
                return fail_at(p, n, "'%s' must not be empty", key);
        if (len >= size)
                return fail_at(p, n, "'%s' is too long (at most %zu characters)", key, size - 1);
        memcpy(buf, scalar_of(n), len + 1);
        return true;
}

static bool expect_seq(struct parser *p, const yaml_node_t *n, const char *key, size_t max)
{
        size_t len;

        if (n->type != YAML_SEQUENCE_NODE)
                return fail_at(p, n, "'%s' must be a list", key);
        len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (len > max)
                return fail_at(p, n, "'%s' has %zu entries; at most %zu are supported", key, len,
                               max);
        return true;
}

/*
 * Calls fn(p, key, key node, value node, obj) for each pair of the mapping n;
 * rejects non-string and duplicate keys. fn rejects unknown keys.
 */
static bool
walk_map(struct parser *p, yaml_node_t *n, const char *what,
         bool (*fn)(struct parser *, const char *, yaml_node_t *, yaml_node_t *, void *), void *obj)
{
        if (n->type != YAML_MAPPING_NODE)
                return fail_at(p, n, "%s must be a mapping", what);
        for (yaml_node_pair_t *pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top;
             pair++) {
                yaml_node_t *k = node_at(p, pair->key), *v = node_at(p, pair->value);

                if (!k || !v)
                        return fail_at(p, n, "malformed mapping in %s", what);
                if (k->type != YAML_SCALAR_NODE)
                        return fail_at(p, k, "keys in %s must be strings", what);
                for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pair; q++) {
                        yaml_node_t *k2 = node_at(p, q->key);
                        if (k2 && k2->type == YAML_SCALAR_NODE &&
                            strcmp(scalar_of(k2), scalar_of(k)) == 0)
                                return fail_at(p, k, "duplicate key '%s' in %s", scalar_of(k),
                                               what);
                }
                if (!fn(p, scalar_of(k), k, v, obj))
                        return false;
        }
        return true;
}

static bool unknown_key(struct parser *p, const yaml_node_t *k, const char *key, const char *what)
{
        return fail_at(p, k, "unknown key '%s' in %s", key, what);
}

/* "DDDD:BB:DD.F" or "DDDDDDDD:BB:DD.F", hexadecimal. */
static bool parse_bus_id(const char *s, struct gpu *g)
{
        const char *parts[4];
        size_t lens[4];
        unsigned long vals[4];
        static const char seps[4] = "::.";
        const char *c = s;

        for (int i = 0; i < 4; i++) {
                const char *start = c;
                while (isxdigit((unsigned char)*c))
                        c++;
                if (*c != seps[i])
                        return false;
                parts[i] = start;
                lens[i] = (size_t)(c - start);
                if (*c)
                        c++;
        }
        if ((lens[0] != 4 && lens[0] != 8) || lens[1] != 2 || lens[2] != 2 || lens[3] != 1)
                return false;
        for (int i = 0; i < 4; i++) {
                char buf[16];
                memcpy(buf, parts[i], lens[i]);
                buf[lens[i]] = '\0';
                vals[i] = strtoul(buf, NULL, 16);
        }
        if (vals[2] > 0x1f || vals[3] > 7)
                return false;
        g->pci_domain = (unsigned)vals[0];
        g->pci_bus = (unsigned)vals[1];
        g->pci_device = (unsigned)vals[2];
        g->pci_function = (unsigned)vals[3];
        return true;
}

/* One entry of a `processes` list. */
static bool proc_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct proc *pr = obj;
        unsigned long long u = 0;

        if (strcmp(key, "pid") == 0)
                return get_uint(p, v, key, 1, 0xFFFFFFFEu, &pr->pid);
        if (strcmp(key, "used_mib") == 0) {
                if (is_null(v)) {
                        pr->used_unknown = true;
                        return true;
                }
                if (!get_u64(p, v, key, 0, 1ULL << 40, &u))
                        return false;
                pr->used_mib = u;
                return true;
        }
        if (strcmp(key, "type") == 0) {
                const char *s = v->type == YAML_SCALAR_NODE ? scalar_of(v) : "";
                if (strcmp(s, "compute") == 0)
                        pr->types = PROC_COMPUTE;
                else if (strcmp(s, "graphics") == 0)
                        pr->types = PROC_GRAPHICS;
                else if (strcmp(s, "both") == 0)
                        pr->types = PROC_COMPUTE | PROC_GRAPHICS;
                else
                        return fail_at(p, v, "'type' must be compute, graphics or both");
                return true;
        }
        return unknown_key(p, k, key, "a process");
}

/* Fills *ret_procs (heap; freed with the topology, also on failure) and *ret_n. */
static bool parse_procs(struct parser *p, yaml_node_t *n, struct proc **ret_procs, unsigned *ret_n)
{
        struct proc *procs;
        unsigned cnt = 0;
        size_t len;

        if (!expect_seq(p, n, "processes", MAX_PROCS))
                return false;
        len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        procs = calloc(len ? len : 1, sizeof(*procs));
        if (!procs)
                return fail_at(p, n, "out of memory");
        *ret_procs = procs;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
                yaml_node_t *e = node_at(p, *it);
                struct proc *pr = &procs[cnt];

                *pr = (struct proc){.types = PROC_COMPUTE};
                if (!e || !walk_map(p, e, "a process", proc_key, pr))
                        return false;
                if (pr->pid == 0)
                        return fail_at(p, e, "a process needs 'pid'");
                cnt++;
        }
        *ret_n = cnt;
        return true;
}

struct mig_ctx {
        struct mig *m;
        bool has_index, has_gi, has_slices, has_compute_slices, has_memory;
};

static bool mig_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct mig_ctx *mc = obj;
        struct mig *m = mc->m;
        unsigned long long u = 0;

        if (strcmp(key, "profile") == 0)
                return get_string(p, v, key, m->profile, sizeof(m->profile));
        if (strcmp(key, "index") == 0) {
                mc->has_index = true;
                return get_uint(p, v, key, 0, MAX_MIG - 1, &m->idx);
        }
        if (strcmp(key, "uuid") == 0) {
                if (!get_string(p, v, key, m->uuid, sizeof(m->uuid)))
                        return false;
                if (strncmp(m->uuid, "MIG-", 4) != 0)
                        return fail_at(p, v, "a MIG device 'uuid' starts with 'MIG-'");
                return true;
        }
        if (strcmp(key, "gpu_instance_id") == 0) {
                mc->has_gi = true;
                return get_uint(p, v, key, 0, 0xFFFFu, &m->gi);
        }
        if (strcmp(key, "compute_instance_id") == 0)
                return get_uint(p, v, key, 0, 0xFFFFu, &m->ci);
        if (strcmp(key, "slices") == 0) {
                mc->has_slices = true;
                return get_uint(p, v, key, 1, 8, &m->slices);
        }
        if (strcmp(key, "compute_slices") == 0) {
                mc->has_compute_slices = true;
                return get_uint(p, v, key, 1, 8, &m->compute_slices);
        }
        if (strcmp(key, "memory_mib") == 0) {
                mc->has_memory = true;
                if (!get_u64(p, v, key, 1, 1ULL << 32, &u))
                        return false;
                m->memory_mib = u;
                return true;
        }
        if (strcmp(key, "memory_used_mib") == 0)
                return get_u64(p, v, key, 0, 1ULL << 32, &m->memory_used_mib);
        if (strcmp(key, "sm_util") == 0) {
                m->has_sm_util = true;
                return get_double(p, v, key, 100.0, &m->sm_util);
        }
        if (strcmp(key, "processes") == 0)
                return parse_procs(p, v, &m->procs, &m->n_procs);
        return unknown_key(p, k, key, "a MIG device");
}

struct gpu_ctx {
        struct gpu *g;
        unsigned pos;
        bool has_name, has_memory, has_uuid, has_bus_id, has_memory_used, has_mig_capable;
        bool has_total_slices, has_pending;
        yaml_node_t *mig_node, *mig_devices_node, *total_slices_node;
        yaml_node_t *mig_nodes[MAX_MIG];
};

static bool util_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct gpu *g = obj;

        if (strcmp(key, "gpu") == 0)
                return get_uint(p, v, key, 0, 100, &g->util_gpu);
        if (strcmp(key, "memory") == 0)
                return get_uint(p, v, key, 0, 100, &g->util_mem);
        return unknown_key(p, k, key, "'utilization'");
}

static bool clock_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct gpu *g = obj;
        int type;

        if (strcmp(key, "sm") == 0)
                type = NVML_CLOCK_SM;
        else if (strcmp(key, "mem") == 0)
                type = NVML_CLOCK_MEM;
        else if (strcmp(key, "graphics") == 0)
                type = NVML_CLOCK_GRAPHICS;
        else if (strcmp(key, "video") == 0)
                type = NVML_CLOCK_VIDEO;
        else
                return unknown_key(p, k, key, "'clocks_mhz'");
        g->has_clock[type] = true;
        return get_uint(p, v, key, 0, 100000, &g->clock[type]);
}

static bool ecc_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct gpu *g = obj;

        if (strcmp(key, "sbe") == 0)
                return get_u64(p, v, key, 0, ~0ULL, &g->ecc_sbe);
        if (strcmp(key, "dbe") == 0)
                return get_u64(p, v, key, 0, ~0ULL, &g->ecc_dbe);
        return unknown_key(p, k, key, "'ecc'");
}

static bool pcie_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct gpu *g = obj;

        if (strcmp(key, "tx") == 0)
                return get_uint(p, v, key, 0, 0xFFFFFFFFu, &g->pcie_tx);
        if (strcmp(key, "rx") == 0)
                return get_uint(p, v, key, 0, 0xFFFFFFFFu, &g->pcie_rx);
        return unknown_key(p, k, key, "'pcie_kbs'");
}

static bool mig_mode_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v,
                         void *obj)
{
        struct gpu_ctx *gc = obj;

        if (strcmp(key, "current") == 0)
                return get_bool(p, v, key, &gc->g->mig_current);
        if (strcmp(key, "pending") == 0) {
                gc->has_pending = true;
                return get_bool(p, v, key, &gc->g->mig_pending);
        }
        return unknown_key(p, k, key, "'mig'");
}

/* Checks a mapping has every key in `keys` (NULL-terminated). */
static bool require_keys(struct parser *p, yaml_node_t *n, const char *what,
                         const char *const *keys)
{
        for (; *keys; keys++) {
                bool found = false;
                for (yaml_node_pair_t *pair = n->data.mapping.pairs.start;
                     pair < n->data.mapping.pairs.top; pair++) {
                        yaml_node_t *k = node_at(p, pair->key);
                        if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar_of(k), *keys) == 0)
                                found = true;
                }
                if (!found)
                        return fail_at(p, n, "%s needs '%s'", what, *keys);
        }
        return true;
}

static bool parse_migs(struct parser *p, yaml_node_t *n, struct gpu_ctx *gc)
{
        struct gpu *g = gc->g;

        if (!expect_seq(p, n, "mig_devices", MAX_MIG))
                return false;
        g->n_migs = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
                yaml_node_t *e = node_at(p, *it);
                struct mig *m = &g->migs[g->n_migs];
                struct mig_ctx mc = {.m = m};

                memset(m, 0, sizeof(*m));
                if (!e || !walk_map(p, e, "a MIG device", mig_key, &mc))
                        return false;
                if (!mc.has_gi || !mc.has_slices || !mc.has_memory || !m->profile[0]) {
                        static const char *const req[] = {"profile", "gpu_instance_id", "slices",
                                                          "memory_mib", NULL};
                        return require_keys(p, e, "a MIG device", req);
                }
                if (!mc.has_index)
                        m->idx = g->n_migs;
                if (!mc.has_compute_slices)
                        m->compute_slices = m->slices;
                if (m->compute_slices > m->slices)
                        return fail_at(p, e, "'compute_slices' (%u) exceeds 'slices' (%u)",
                                       m->compute_slices, m->slices);
                if (m->memory_used_mib > m->memory_mib)
                        return fail_at(p, e, "'memory_used_mib' exceeds 'memory_mib'");
                gc->mig_nodes[g->n_migs] = e;
                g->n_migs++;
        }
        return true;
}

static bool parse_arch(struct parser *p, yaml_node_t *v, enum arch *ret)
{
        static const struct {
                const char *name;
                enum arch arch;
        } archs[] = {
            {"volta", ARCH_VOLTA}, {"turing", ARCH_TURING}, {"ampere", ARCH_AMPERE},
            {"ada", ARCH_ADA},     {"hopper", ARCH_HOPPER}, {"blackwell", ARCH_BLACKWELL},
        };

        if (v->type == YAML_SCALAR_NODE)
                for (size_t i = 0; i < ELEMENTSOF(archs); i++)
                        if (strcmp(scalar_of(v), archs[i].name) == 0) {
                                *ret = archs[i].arch;
                                return true;
                        }
        return fail_at(p, v,
                       "'architecture' must be volta, turing, ampere, ada, hopper or blackwell");
}

static bool gpu_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct gpu_ctx *gc = obj;
        struct gpu *g = gc->g;
        double d = 0.0;

        if (strcmp(key, "name") == 0) {
                gc->has_name = true;
                return get_string(p, v, key, g->name, sizeof(g->name));
        }
        if (strcmp(key, "uuid") == 0) {
                gc->has_uuid = true;
                if (!get_string(p, v, key, g->uuid, sizeof(g->uuid)))
                        return false;
                if (strncmp(g->uuid, "GPU-", 4) != 0)
                        return fail_at(p, v, "a GPU 'uuid' starts with 'GPU-'");
                return true;
        }
        if (strcmp(key, "pci_bus_id") == 0) {
                char buf[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE] = "";
                gc->has_bus_id = true;
                if (!get_string(p, v, key, buf, sizeof(buf)))
                        return false;
                if (!parse_bus_id(buf, g))
                        return fail_at(
                            p, v, "'pci_bus_id' must look like 00000000:07:00.0, not '%s'", buf);
                return true;
        }
        if (strcmp(key, "pci_device_id") == 0)
                return get_uint(p, v, key, 0, 0xFFFFFFFFu, &g->pci_device_id);
        if (strcmp(key, "memory_total_mib") == 0) {
                gc->has_memory = true;
                return get_u64(p, v, key, 1, 1ULL << 32, &g->memory_total_mib);
        }
        if (strcmp(key, "memory_used_mib") == 0) {
                gc->has_memory_used = true;
                return get_u64(p, v, key, 0, 1ULL << 32, &g->memory_used_mib);
        }
        if (strcmp(key, "architecture") == 0)
                return parse_arch(p, v, &g->arch);
        if (strcmp(key, "mig_capable") == 0) {
                gc->has_mig_capable = true;
                return get_bool(p, v, key, &g->mig_capable);
        }
        if (strcmp(key, "total_slices") == 0) {
                gc->has_total_slices = true;
                gc->total_slices_node = v;
                return get_uint(p, v, key, 1, MAX_MIG, &g->total_slices);
        }
        if (strcmp(key, "mig") == 0) {
                gc->mig_node = v;
                return walk_map(p, v, "'mig'", mig_mode_key, gc);
        }
        if (strcmp(key, "utilization") == 0) {
                static const char *const req[] = {"gpu", "memory", NULL};
                g->has_util = true;
                return walk_map(p, v, "'utilization'", util_key, g) &&
                       require_keys(p, v, "'utilization'", req);
        }
        if (strcmp(key, "temperature_c") == 0) {
                g->has_temp = true;
                return get_uint(p, v, key, 0, 200, &g->temp);
        }
        if (strcmp(key, "power_w") == 0) {
                g->has_power = true;
                if (!get_double(p, v, key, 100000.0, &d))
                        return false;
                g->power_mw = (unsigned)(d * 1000.0 + 0.5);
                return true;
        }
        if (strcmp(key, "power_limit_w") == 0) {
                g->has_limit = true;
                if (!get_double(p, v, key, 100000.0, &d))
                        return false;
                g->limit_mw = (unsigned)(d * 1000.0 + 0.5);
                return true;
        }
        if (strcmp(key, "energy_mj") == 0) {
                g->has_energy = true;
                return get_u64(p, v, key, 0, ~0ULL, &g->energy_mj);
        }
        if (strcmp(key, "clocks_mhz") == 0)
                return walk_map(p, v, "'clocks_mhz'", clock_key, g);
        if (strcmp(key, "ecc") == 0) {
                static const char *const req[] = {"sbe", "dbe", NULL};
                g->has_ecc = true;
                return walk_map(p, v, "'ecc'", ecc_key, g) && require_keys(p, v, "'ecc'", req);
        }
        if (strcmp(key, "pcie_kbs") == 0) {
                static const char *const req[] = {"tx", "rx", NULL};
                g->has_pcie = true;
                return walk_map(p, v, "'pcie_kbs'", pcie_key, g) &&
                       require_keys(p, v, "'pcie_kbs'", req);
        }
        if (strcmp(key, "fault") == 0) {
                const char *s = v->type == YAML_SCALAR_NODE ? scalar_of(v) : "";
                if (strcmp(s, "lost") == 0)
                        g->fault = NVML_ERROR_GPU_IS_LOST;
                else if (strcmp(s, "unknown") == 0)
                        g->fault = NVML_ERROR_UNKNOWN;
                else
                        return fail_at(p, v, "'fault' must be lost or unknown");
                return true;
        }
        if (strcmp(key, "xid_events") == 0) {
                if (!expect_seq(p, v, key, MAX_XIDS))
                        return false;
                g->n_xids = 0;
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                        yaml_node_t *e = node_at(p, *it);
                        if (!e ||
                            !get_uint(p, e, "xid_events", 0, 0xFFFFFFFFu, &g->xids[g->n_xids]))
                                return false;
                        g->n_xids++;
                }
                return true;
        }
        if (strcmp(key, "processes") == 0)
                return parse_procs(p, v, &g->procs, &g->n_procs);
        if (strcmp(key, "mig_devices") == 0) {
                gc->mig_devices_node = v;
                return parse_migs(p, v, gc);
        }
        return unknown_key(p, k, key, "a GPU");
}

static bool check_migs(struct parser *p, struct gpu_ctx *gc, yaml_node_t *n)
{
        struct gpu *g = gc->g;
        unsigned slices = 0;

        for (unsigned i = 0; i < g->n_migs; i++) {
                struct mig *m = &g->migs[i];
                bool gi_seen = false;

                if (m->idx >= g->total_slices)
                        return fail_at(p, gc->mig_nodes[i],
                                       "MIG device index %u is not below 'total_slices' (%u)",
                                       m->idx, g->total_slices);
                for (unsigned j = 0; j < i; j++) {
                        const struct mig *o = &g->migs[j];
                        if (o->idx == m->idx)
                                return fail_at(p, gc->mig_nodes[i], "two MIG devices have index %u",
                                               m->idx);
                        if (o->gi == m->gi && o->ci == m->ci)
                                return fail_at(p, gc->mig_nodes[i],
                                               "two MIG devices have gpu_instance_id %u and "
                                               "compute_instance_id %u",
                                               m->gi, m->ci);
                        if (o->gi == m->gi) {
                                if (o->slices != m->slices)
                                        return fail_at(p, gc->mig_nodes[i],
                                                       "MIG devices of gpu_instance_id %u "
                                                       "disagree on 'slices'",
                                                       m->gi);
                                gi_seen = true;
                        }
                }
                if (!gi_seen)
                        slices += m->slices;
                if (!m->uuid[0])
                        snprintf(m->uuid, sizeof(m->uuid), "MIG-%08x-%04x-4000-8000-%012llx",
                                 0xfa4e0000u + gc->pos, i,
                                 (unsigned long long)(m->gi << 8 | m->ci));
        }
        if (slices > g->total_slices)
                return fail_at(p, gc->mig_devices_node,
                               "the MIG devices use %u slices; the GPU has %u", slices,
                               g->total_slices);
        (void)n;
        return true;
}

static bool parse_gpu(struct parser *p, yaml_node_t *n, struct gpu *g, unsigned pos)
{
        struct gpu_ctx gc = {.g = g, .pos = pos};

        memset(g, 0, sizeof(*g));
        g->arch = ARCH_AMPERE;
        if (!walk_map(p, n, "a GPU", gpu_key, &gc))
                return false;
        if (!gc.has_name || !gc.has_memory) {
                static const char *const req[] = {"name", "memory_total_mib", NULL};
                return require_keys(p, n, "a GPU", req);
        }
        if (!gc.has_uuid)
                snprintf(g->uuid, sizeof(g->uuid), "GPU-%08x-0000-4000-8000-%012llx",
                         0xfa4e0000u + pos, (unsigned long long)pos);
        if (!gc.has_bus_id) {
                g->pci_domain = 0;
                g->pci_bus = 0x10 + pos;
        }
        if (!gc.has_mig_capable)
                g->mig_capable =
                    g->arch == ARCH_AMPERE || g->arch == ARCH_HOPPER || g->arch == ARCH_BLACKWELL;
        if (!g->mig_capable && gc.has_total_slices)
                return fail_at(p, gc.total_slices_node,
                               "'total_slices' needs a MIG-capable GPU (mig_capable: true)");
        if (g->mig_capable && !gc.has_total_slices)
                g->total_slices = 7;
        if (!gc.has_pending)
                g->mig_pending = g->mig_current;
        if (!g->mig_capable && (g->mig_current || g->mig_pending))
                return fail_at(p, gc.mig_node, "MIG mode needs a MIG-capable GPU");
        if (gc.mig_devices_node && g->n_migs > 0 && !g->mig_current)
                return fail_at(p, gc.mig_devices_node,
                               "'mig_devices' needs MIG mode on (mig: {current: true})");
        if (!check_migs(p, &gc, n))
                return false;
        if (!gc.has_memory_used && g->mig_current)
                for (unsigned i = 0; i < g->n_migs; i++)
                        g->memory_used_mib += g->migs[i].memory_used_mib;
        if (g->memory_used_mib > g->memory_total_mib)
                return fail_at(p, n, "'memory_used_mib' exceeds 'memory_total_mib'");
        if (g->has_clock[NVML_CLOCK_SM] && !g->has_clock[NVML_CLOCK_GRAPHICS]) {
                g->has_clock[NVML_CLOCK_GRAPHICS] = true;
                g->clock[NVML_CLOCK_GRAPHICS] = g->clock[NVML_CLOCK_SM];
        }
        return true;
}

static bool faults_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        static const struct {
                const char *name;
                nvmlReturn_t code;
        } init_faults[] = {
            {"driver_not_loaded", NVML_ERROR_DRIVER_NOT_LOADED},
            {"no_permission", NVML_ERROR_NO_PERMISSION},
            {"unknown", NVML_ERROR_UNKNOWN},
            {"lib_rm_version_mismatch", NVML_ERROR_LIB_RM_VERSION_MISMATCH},
            {"library_not_found", NVML_ERROR_LIBRARY_NOT_FOUND},
        };
        struct topology *t = obj;

        if (strcmp(key, "init") == 0) {
                if (v->type == YAML_SCALAR_NODE)
                        for (size_t i = 0; i < ELEMENTSOF(init_faults); i++)
                                if (strcmp(scalar_of(v), init_faults[i].name) == 0) {
                                        t->init_fault = init_faults[i].code;
                                        return true;
                                }
                return fail_at(p, v,
                               "'init' must be driver_not_loaded, no_permission, unknown, "
                               "lib_rm_version_mismatch or library_not_found");
        }
        if (strcmp(key, "missing_symbols") == 0) {
                if (!expect_seq(p, v, key, N_SYMBOLS))
                        return false;
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                        yaml_node_t *e = node_at(p, *it);
                        int s;
                        if (!e || e->type != YAML_SCALAR_NODE)
                                return fail_at(p, e ? e : v, "'missing_symbols' lists names");
                        s = symbol_index(scalar_of(e));
                        if (s < 0)
                                return fail_at(p, e, "'%s' is not a function fakenvml exports",
                                               scalar_of(e));
                        if (strcmp(scalar_of(e), "nvmlShutdown") == 0 ||
                            strcmp(scalar_of(e), "nvmlErrorString") == 0)
                                return fail_at(p, e, "'%s' cannot be made missing", scalar_of(e));
                        t->missing[s] = true;
                }
                return true;
        }
        if (strcmp(key, "process_info_v3_size") == 0) {
                if (!get_uint(p, v, key, 0, 64, &t->v3_size))
                        return false;
                if (t->v3_size != 24 && t->v3_size != 32)
                        return fail_at(p, v, "'process_info_v3_size' must be 24 or 32");
                return true;
        }
        return unknown_key(p, k, key, "'faults'");
}

static bool top_key(struct parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *obj)
{
        struct topology *t = obj;
        unsigned u = 0;

        if (strcmp(key, "driver_version") == 0)
                return get_string(p, v, key, t->driver_version, sizeof(t->driver_version));
        if (strcmp(key, "nvml_version") == 0)
                return get_string(p, v, key, t->nvml_version, sizeof(t->nvml_version));
        if (strcmp(key, "cuda_driver_version") == 0) {
                if (!get_uint(p, v, key, 1000, 1000000, &u))
                        return false;
                t->cuda_version = (int)u;
                return true;
        }
        if (strcmp(key, "faults") == 0)
                return walk_map(p, v, "'faults'", faults_key, t);
        if (strcmp(key, "gpus") == 0) {
                if (!expect_seq(p, v, key, MAX_GPUS))
                        return false;
                t->n_gpus = 0;
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                        yaml_node_t *e = node_at(p, *it);
                        if (!e || !parse_gpu(p, e, &t->gpus[t->n_gpus], t->n_gpus))
                                return false;
                        t->n_gpus++;
                }
                return true;
        }
        return unknown_key(p, k, key, "the topology");
}

/* UUIDs are unique across GPUs and MIG devices (handles are found by UUID). */
static bool check_uuids(struct parser *p, const struct topology *t, yaml_node_t *root)
{
        const char *seen[MAX_GPUS * (MAX_MIG + 1)];
        size_t n = 0;

        for (unsigned i = 0; i < t->n_gpus; i++) {
                const struct gpu *g = &t->gpus[i];
                seen[n++] = g->uuid;
                for (unsigned j = 0; j < g->n_migs; j++)
                        seen[n++] = g->migs[j].uuid;
        }
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (strcmp(seen[i], seen[j]) == 0)
                                return fail_at(p, root, "UUID '%s' appears twice", seen[i]);
        return true;
}

/*
 * Parses len bytes of YAML from file into a new topology. Returns NULL with
 * the one-line message in msg on failure.
 */
static struct topology *parse_topology(const char *file, const char *text, size_t len, char *msg,
                                       size_t msg_size)
{
        struct parser p = {.file = file};
        yaml_parser_t yp;
        yaml_node_t *root;
        struct topology *t = NULL;
        bool ok = false, have_doc = false;

        if (!yaml_parser_initialize(&yp)) {
                snprintf(msg, msg_size, "%s: error: out of memory", file);
                return NULL;
        }
        yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
        if (!yaml_parser_load(&yp, &p.doc)) {
                snprintf(p.msg, sizeof(p.msg), "%s:%zu:%zu: error: %s", file,
                         yp.problem_mark.line + 1, yp.problem_mark.column + 1,
                         yp.problem ? yp.problem : "malformed YAML");
                p.failed = true;
                goto out;
        }
        have_doc = true;
        p.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!p.c_locale) {
                fail_at(&p, NULL, "cannot create the C locale");
                goto out;
        }
        t = calloc(1, sizeof(*t));
        if (!t) {
                fail_at(&p, NULL, "out of memory");
                goto out;
        }
        memcpy(t->driver_version, DEFAULT_DRIVER_VERSION, sizeof(DEFAULT_DRIVER_VERSION));
        memcpy(t->nvml_version, DEFAULT_NVML_VERSION, sizeof(DEFAULT_NVML_VERSION));
        t->cuda_version = DEFAULT_CUDA_VERSION;
        t->v3_size = sizeof(nvmlProcessInfo_v2_t);

        root = yaml_document_get_root_node(&p.doc);
        if (!root || is_null(root)) {
                fail_at(&p, root, "the fixture is empty; it needs at least 'gpus: []'");
                goto out;
        }
        if (!walk_map(&p, root, "the topology", top_key, t))
                goto out;
        if (!check_uuids(&p, t, root))
                goto out;
        ok = true;
out:
        if (p.c_locale)
                freelocale(p.c_locale);
        if (have_doc)
                yaml_document_delete(&p.doc);
        yaml_parser_delete(&yp);
        if (!ok) {
                snprintf(msg, msg_size, "%s", p.msg);
                topology_free(t);
                return NULL;
        }
        return t;
}

static void file_id_of(const struct stat *st, struct file_id *id)
{
        *id = (struct file_id){
            .valid = true,
            .dev = st->st_dev,
            .ino = st->st_ino,
            .size = st->st_size,
            .mtime = st->st_mtim,
        };
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
        return a->valid == b->valid && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * Reads and parses the fixture at path. Returns 0 and the topology, -errno
 * when the file cannot be read, -EBADMSG when it does not parse; msg holds the
 * one-line reason either way. *ret_id is set whenever the file was opened.
 */
static int load_fixture(const char *path, struct topology **ret, struct file_id *ret_id, char *msg,
                        size_t msg_size)
{
        struct stat st;
        char *buf = NULL;
        size_t len = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
                goto out;
        }
        file_id_of(&st, ret_id);
        if (!S_ISREG(st.st_mode)) {
                r = -EISDIR;
                snprintf(msg, msg_size, "%s: not a regular file", path);
                goto out;
        }
        if (st.st_size > (off_t)MAX_FIXTURE_SIZE) {
                r = -EBADMSG;
                snprintf(msg, msg_size, "%s: error: larger than %u bytes", path, MAX_FIXTURE_SIZE);
                goto out;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                snprintf(msg, msg_size, "%s: out of memory", path);
                goto out;
        }
        while (len < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + len, (size_t)st.st_size - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        snprintf(msg, msg_size, "%s: %s", path, strerror(-r));
                        goto out;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = '\0';
        *ret = parse_topology(path, buf, len, msg, msg_size);
        if (!*ret)
                r = -EBADMSG;
out:
        free(buf);
        close(fd);
        return r;
}

/* ---- init, reload and the per-call gate --------------------------------------- */

static void maybe_reload(void)
{
        unsigned long long now = now_ns();
        struct topology *t = NULL;
        struct file_id id = {0};
        struct stat st;
        char msg[640];
        int r;

        if (last_check_ns != 0 && now - last_check_ns < RELOAD_CHECK_NS)
                return;
        last_check_ns = now;
        if (stat(fixture_path, &st) < 0)
                return; /* mid-replacement or removed: keep what we have */
        file_id_of(&st, &id);
        if (file_id_equal(&id, &seen_id))
                return;
        r = load_fixture(fixture_path, &t, &id, msg, sizeof(msg));
        seen_id = id;
        if (r < 0) {
                fprintf(stderr, "fakenvml: %s; keeping the previous topology\n", msg);
                return;
        }
        topology_free(topo);
        topo = t;
}

/* Locks; says whether the call may go on (initialized, symbol present). */
static nvmlReturn_t api_enter(const char *fn)
{
        int s;

        pthread_mutex_lock(&lock);
        if (init_count == 0)
                return NVML_ERROR_UNINITIALIZED;
        maybe_reload();
        s = symbol_index(fn);
        if (s >= 0 && topo->missing[s])
                return NVML_ERROR_FUNCTION_NOT_FOUND;
        return NVML_SUCCESS;
}

#define API_CALL(call)                                                                             \
        do {                                                                                       \
                nvmlReturn_t r_ = api_enter(__func__);                                             \
                if (r_ == NVML_SUCCESS)                                                            \
                        r_ = (call);                                                               \
                pthread_mutex_unlock(&lock);                                                       \
                return r_;                                                                         \
        } while (0)

/*
 * A nested nvmlInit whose $DS01_FAKENVML_TOPOLOGY now names another file
 * switches to that file (tests that open a second context, or leak one, get
 * the fixture they asked for). The real library has no such notion.
 */
static void follow_env(void)
{
        const char *path = getenv(ENV_TOPOLOGY);
        struct topology *t = NULL;
        struct file_id id = {0};
        char msg[640], *copy;

        if (!path || !*path || strcmp(path, fixture_path) == 0)
                return;
        if (load_fixture(path, &t, &id, msg, sizeof(msg)) < 0) {
                fprintf(stderr, "fakenvml: %s; keeping the previous topology\n", msg);
                return;
        }
        copy = strdup(path);
        if (!copy) {
                topology_free(t);
                return;
        }
        free(fixture_path);
        fixture_path = copy;
        topology_free(topo);
        topo = t;
        seen_id = id;
        last_check_ns = now_ns();
}

static nvmlReturn_t do_init(const char *fn)
{
        const char *path;
        struct topology *t = NULL;
        struct file_id id = {0};
        char msg[640];
        nvmlReturn_t r = NVML_SUCCESS;
        int s = symbol_index(fn), k;

        pthread_mutex_lock(&lock);
        if (init_count > 0) {
                follow_env();
                maybe_reload();
                if (topo->missing[s])
                        r = NVML_ERROR_FUNCTION_NOT_FOUND;
                else
                        init_count++;
                goto out;
        }
        path = getenv(ENV_TOPOLOGY);
        if (!path || !*path) {
                r = NVML_ERROR_DRIVER_NOT_LOADED;
                goto out;
        }
        k = load_fixture(path, &t, &id, msg, sizeof(msg));
        if (k == -EBADMSG) {
                fprintf(stderr, "fakenvml: %s\n", msg);
                r = NVML_ERROR_UNKNOWN;
                goto out;
        }
        if (k < 0) {
                r = k == -ENOMEM ? NVML_ERROR_MEMORY : NVML_ERROR_DRIVER_NOT_LOADED;
                goto out;
        }
        if (t->init_fault != NVML_SUCCESS) {
                r = t->init_fault;
                goto out;
        }
        if (t->missing[s]) {
                r = NVML_ERROR_FUNCTION_NOT_FOUND;
                goto out;
        }
        fixture_path = strdup(path);
        if (!fixture_path) {
                r = NVML_ERROR_MEMORY;
                goto out;
        }
        topo = TAKE_PTR(t);
        seen_id = id;
        last_check_ns = now_ns();
        init_count = 1;
out:
        topology_free(t);
        pthread_mutex_unlock(&lock);
        return r;
}

static nvmlReturn_t do_shutdown(void)
{
        nvmlReturn_t r = NVML_SUCCESS;

        pthread_mutex_lock(&lock);
        if (init_count == 0) {
                r = NVML_ERROR_UNINITIALIZED;
        } else if (--init_count == 0) {
                topo = topology_free(topo);
                fixture_path = mfree(fixture_path);
                seen_id = (struct file_id){0};
                last_check_ns = 0;
        }
        pthread_mutex_unlock(&lock);
        return r;
}

/* ---- handles -------------------------------------------------------------------- */

static struct gpu *gpu_by_uuid(const char *uuid)
{
        if (!uuid[0])
                return NULL;
        for (unsigned i = 0; i < topo->n_gpus; i++)
                if (strcmp(topo->gpus[i].uuid, uuid) == 0)
                        return &topo->gpus[i];
        return NULL;
}

/* The slot of a GPU's UUID: the bound one, a free one, or the oldest one whose GPU is gone. */
static unsigned bind_slot(const struct gpu *g)
{
        int free_slot = -1, stale = -1;

        for (unsigned i = 0; i < MAX_GPUS; i++) {
                if (strcmp(slot_uuid[i], g->uuid) == 0)
                        return i;
                if (!slot_uuid[i][0]) {
                        if (free_slot < 0)
                                free_slot = (int)i;
                } else if (!gpu_by_uuid(slot_uuid[i])) {
                        if (stale < 0 || slot_bound_at[i] < slot_bound_at[stale])
                                stale = (int)i;
                }
        }
        /* At most MAX_GPUS GPUs exist, so one of the two is found. */
        if (free_slot < 0)
                free_slot = stale >= 0 ? stale : 0;
        memcpy(slot_uuid[free_slot], g->uuid, sizeof(slot_uuid[free_slot]));
        slot_bound_at[free_slot] = ++slot_clock;
        return (unsigned)free_slot;
}

static bool decode_handle(nvmlDevice_t device, unsigned *ret_slot, int *ret_mig)
{
        uintptr_t p = (uintptr_t)device;
        uintptr_t g0 = (uintptr_t)&gpu_pool[0], m0 = (uintptr_t)&mig_pool[0][0];

        if (p >= g0 && p < g0 + sizeof(gpu_pool)) {
                *ret_slot = (unsigned)((p - g0) / sizeof(gpu_pool[0]));
                *ret_mig = -1;
                return true;
        }
        if (p >= m0 && p < m0 + sizeof(mig_pool)) {
                size_t i = (p - m0) / sizeof(mig_pool[0][0]);
                *ret_slot = (unsigned)(i / MAX_MIG);
                *ret_mig = (int)(i % MAX_MIG);
                return true;
        }
        return false;
}

struct target {
        unsigned slot;
        struct gpu *gpu;
        struct mig *mig; /* NULL: the handle is a full GPU */
};

static struct mig *mig_by_index(struct gpu *g, unsigned idx)
{
        if (!g->mig_current)
                return NULL;
        for (unsigned i = 0; i < g->n_migs; i++)
                if (g->migs[i].idx == idx)
                        return &g->migs[i];
        return NULL;
}

/*
 * What a handle refers to now: INVALID_ARGUMENT for something not ours,
 * GPU_IS_LOST for a GPU gone from the fixture, the GPU's fault, NOT_FOUND for
 * a MIG device that no longer exists.
 */
static nvmlReturn_t resolve(nvmlDevice_t device, struct target *t)
{
        int mig;

        if (!decode_handle(device, &t->slot, &mig))
                return NVML_ERROR_INVALID_ARGUMENT;
        t->gpu = gpu_by_uuid(slot_uuid[t->slot]);
        if (!t->gpu)
                return NVML_ERROR_GPU_IS_LOST;
        if (t->gpu->fault != NVML_SUCCESS)
                return t->gpu->fault;
        t->mig = NULL;
        if (mig >= 0) {
                t->mig = mig_by_index(t->gpu, (unsigned)mig);
                if (!t->mig)
                        return NVML_ERROR_NOT_FOUND;
        }
        return NVML_SUCCESS;
}

/* resolve() for calls that take a full GPU: a MIG handle answers on_mig. */
static nvmlReturn_t resolve_gpu(nvmlDevice_t device, struct target *t, nvmlReturn_t on_mig)
{
        nvmlReturn_t r = resolve(device, t);

        if (r == NVML_SUCCESS && t->mig)
                return on_mig;
        return r;
}

/* ---- the calls ------------------------------------------------------------------ */

static nvmlReturn_t copy_string(const char *s, char *buf, unsigned length)
{
        size_t len = strlen(s);

        if (!buf)
                return NVML_ERROR_INVALID_ARGUMENT;
        if ((size_t)length < len + 1)
                return NVML_ERROR_INSUFFICIENT_SIZE;
        memcpy(buf, s, len + 1);
        return NVML_SUCCESS;
}

static nvmlReturn_t cuda_version(int *version)
{
        if (!version)
                return NVML_ERROR_INVALID_ARGUMENT;
        *version = topo->cuda_version;
        return NVML_SUCCESS;
}

static nvmlReturn_t device_count(unsigned *count)
{
        if (!count)
                return NVML_ERROR_INVALID_ARGUMENT;
        *count = topo->n_gpus;
        return NVML_SUCCESS;
}

static nvmlReturn_t handle_by_index(unsigned idx, nvmlDevice_t *device)
{
        if (!device || idx >= topo->n_gpus)
                return NVML_ERROR_INVALID_ARGUMENT;
        *device = &gpu_pool[bind_slot(&topo->gpus[idx])];
        return NVML_SUCCESS;
}

static nvmlReturn_t device_uuid(nvmlDevice_t device, char *buf, unsigned length)
{
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        return copy_string(t.mig ? t.mig->uuid : t.gpu->uuid, buf, length);
}

static nvmlReturn_t device_name(nvmlDevice_t device, char *buf, unsigned length)
{
        char name[NAME_LEN + PROFILE_LEN + 8];
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (t.mig)
                snprintf(name, sizeof(name), "%s MIG %s", t.gpu->name, t.mig->profile);
        else
                snprintf(name, sizeof(name), "%s", t.gpu->name);
        return copy_string(name, buf, length);
}

/* The v3 layout; MIG handles answer with their parent's location. */
static void fill_pci(const struct gpu *g, nvmlPciInfo_t *pci)
{
        memset(pci, 0, sizeof(*pci));
        snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.%X", g->pci_domain, g->pci_bus,
                 g->pci_device, g->pci_function);
        if (strlen(pci->busId) < sizeof(pci->busIdLegacy))
                memcpy(pci->busIdLegacy, pci->busId, strlen(pci->busId) + 1);
        else
                snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.%X",
                         g->pci_domain & 0xFFFFu, g->pci_bus, g->pci_device, g->pci_function);
        pci->domain = g->pci_domain;
        pci->bus = g->pci_bus;
        pci->device = g->pci_device;
        pci->pciDeviceId = g->pci_device_id;
        pci->pciSubSystemId = 0;
}

static nvmlReturn_t pci_info(nvmlDevice_t device, nvmlPciInfo_t *pci, bool legacy)
{
        unsigned char old[PCI_INFO_LEGACY_SIZE];
        nvmlPciInfo_t full;
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!pci)
                return NVML_ERROR_INVALID_ARGUMENT;
        fill_pci(t.gpu, &full);
        if (!legacy) {
                *pci = full;
                return NVML_SUCCESS;
        }
        /* busId[16], five ids, four reserved words; nothing after them. */
        memset(old, 0, sizeof(old));
        memcpy(old, &full, offsetof(nvmlPciInfo_t, busId));
        memcpy(pci, old, sizeof(old));
        return NVML_SUCCESS;
}

static nvmlReturn_t memory_info(nvmlDevice_t device, nvmlMemory_t *memory)
{
        unsigned long long total, used;
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!memory)
                return NVML_ERROR_INVALID_ARGUMENT;
        total = t.mig ? t.mig->memory_mib : t.gpu->memory_total_mib;
        used = t.mig ? t.mig->memory_used_mib : t.gpu->memory_used_mib;
        memory->total = total * MIB;
        memory->used = used * MIB;
        memory->free = (total - used) * MIB;
        return NVML_SUCCESS;
}

static nvmlReturn_t mig_mode(nvmlDevice_t device, unsigned *current, unsigned *pending)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!current || !pending)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->mig_capable)
                return NVML_ERROR_NOT_SUPPORTED;
        *current = t.gpu->mig_current ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
        *pending = t.gpu->mig_pending ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
        return NVML_SUCCESS;
}

static nvmlReturn_t max_mig_count(nvmlDevice_t device, unsigned *count)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_INVALID_ARGUMENT);

        if (r != NVML_SUCCESS)
                return r;
        if (!count)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->mig_capable)
                return NVML_ERROR_NOT_SUPPORTED;
        *count = t.gpu->total_slices;
        return NVML_SUCCESS;
}

static nvmlReturn_t mig_by_index_call(nvmlDevice_t device, unsigned idx, nvmlDevice_t *mig)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_INVALID_ARGUMENT);

        if (r != NVML_SUCCESS)
                return r;
        if (!mig || idx >= MAX_MIG || (t.gpu->mig_capable && idx >= t.gpu->total_slices))
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!mig_by_index(t.gpu, idx))
                return NVML_ERROR_NOT_FOUND;
        *mig = &mig_pool[t.slot][idx];
        return NVML_SUCCESS;
}

static nvmlReturn_t is_mig_handle(nvmlDevice_t device, unsigned *is_mig)
{
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!is_mig)
                return NVML_ERROR_INVALID_ARGUMENT;
        *is_mig = t.mig ? 1 : 0;
        return NVML_SUCCESS;
}

static nvmlReturn_t instance_id(nvmlDevice_t device, unsigned *id, bool compute)
{
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!id)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.mig)
                return NVML_ERROR_NOT_SUPPORTED;
        *id = compute ? t.mig->ci : t.mig->gi;
        return NVML_SUCCESS;
}

static unsigned sm_per_slice(const struct gpu *g)
{
        return g->arch == ARCH_HOPPER || g->arch == ARCH_BLACKWELL ? 16 : 14;
}

static nvmlReturn_t attributes(nvmlDevice_t device, nvmlDeviceAttributes_t *attr, bool legacy)
{
        nvmlDeviceAttributes_t a;
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!attr)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.mig)
                return NVML_ERROR_NOT_SUPPORTED; /* NVML answers for MIG devices only */
        memset(&a, 0, sizeof(a));
        a.multiprocessorCount = t.mig->compute_slices * sm_per_slice(t.gpu);
        a.sharedCopyEngineCount = t.mig->slices;
        a.sharedDecoderCount = t.mig->slices / 2;
        a.sharedEncoderCount = 0;
        a.sharedJpegCount = t.mig->slices == t.gpu->total_slices ? 1 : 0;
        a.sharedOfaCount = t.mig->slices == t.gpu->total_slices ? 1 : 0;
        a.gpuInstanceSliceCount = t.mig->slices;
        a.computeInstanceSliceCount = t.mig->compute_slices;
        a.memorySizeMB = t.mig->memory_mib;
        memcpy(attr, &a, legacy ? ATTRIBUTES_LEGACY_SIZE : sizeof(a));
        return NVML_SUCCESS;
}

static nvmlReturn_t gi_profile_info(nvmlDevice_t device, unsigned profile,
                                    nvmlGpuInstanceProfileInfo_t *info)
{
        static const unsigned slices_by_profile[NVML_GPU_INSTANCE_PROFILE_COUNT] = {
            1, 2, 3, 4, 7, 8, 6, 1, 2, 1,
        };
        unsigned slices;
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_INVALID_ARGUMENT);

        if (r != NVML_SUCCESS)
                return r;
        if (!info || profile >= NVML_GPU_INSTANCE_PROFILE_COUNT)
                return NVML_ERROR_INVALID_ARGUMENT;
        slices = slices_by_profile[profile];
        if (!t.gpu->mig_capable || slices > t.gpu->total_slices)
                return NVML_ERROR_NOT_SUPPORTED;
        memset(info, 0, sizeof(*info));
        info->id = profile;
        info->isP2pSupported = 0;
        info->sliceCount = slices;
        info->instanceCount = t.gpu->total_slices / slices;
        info->multiprocessorCount = slices * sm_per_slice(t.gpu);
        info->copyEngineCount = slices;
        info->decoderCount = slices / 2;
        info->encoderCount = 0;
        info->jpegCount = slices == t.gpu->total_slices ? 1 : 0;
        info->ofaCount = slices == t.gpu->total_slices ? 1 : 0;
        info->memorySizeMB = t.gpu->memory_total_mib * slices / 8;
        return NVML_SUCCESS;
}

/* Readings: full GPUs only; a MIG handle answers NOT_SUPPORTED. */
static nvmlReturn_t utilization(nvmlDevice_t device, nvmlUtilization_t *util)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!util)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_util || t.gpu->mig_current)
                return NVML_ERROR_NOT_SUPPORTED;
        util->gpu = t.gpu->util_gpu;
        util->memory = t.gpu->util_mem;
        return NVML_SUCCESS;
}

static nvmlReturn_t temperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor,
                                unsigned *temp)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!temp || (unsigned)sensor != NVML_TEMPERATURE_GPU)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_temp)
                return NVML_ERROR_NOT_SUPPORTED;
        *temp = t.gpu->temp;
        return NVML_SUCCESS;
}

static nvmlReturn_t power(nvmlDevice_t device, unsigned *mw, bool limit)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!mw)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!(limit ? t.gpu->has_limit : t.gpu->has_power))
                return NVML_ERROR_NOT_SUPPORTED;
        *mw = limit ? t.gpu->limit_mw : t.gpu->power_mw;
        return NVML_SUCCESS;
}

static nvmlReturn_t energy(nvmlDevice_t device, unsigned long long *mj)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!mj)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_energy)
                return NVML_ERROR_NOT_SUPPORTED;
        *mj = t.gpu->energy_mj;
        return NVML_SUCCESS;
}

static nvmlReturn_t clock_info(nvmlDevice_t device, nvmlClockType_t type, unsigned *mhz)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!mhz || (unsigned)type > NVML_CLOCK_VIDEO)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_clock[type])
                return NVML_ERROR_NOT_SUPPORTED;
        *mhz = t.gpu->clock[type];
        return NVML_SUCCESS;
}

static nvmlReturn_t ecc_errors(nvmlDevice_t device, nvmlMemoryErrorType_t error_type,
                               nvmlEccCounterType_t counter_type, unsigned long long *count)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!count || (unsigned)error_type > NVML_MEMORY_ERROR_TYPE_UNCORRECTED ||
            (unsigned)counter_type > NVML_AGGREGATE_ECC)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_ecc)
                return NVML_ERROR_NOT_SUPPORTED;
        /* One set of counters: the aggregate ones equal the volatile ones. */
        *count = error_type == NVML_MEMORY_ERROR_TYPE_CORRECTED ? t.gpu->ecc_sbe : t.gpu->ecc_dbe;
        return NVML_SUCCESS;
}

static nvmlReturn_t pcie_throughput(nvmlDevice_t device, nvmlPcieUtilCounter_t counter,
                                    unsigned *value)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!value || (unsigned)counter > NVML_PCIE_UTIL_RX_BYTES)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!t.gpu->has_pcie)
                return NVML_ERROR_NOT_SUPPORTED;
        *value = counter == NVML_PCIE_UTIL_TX_BYTES ? t.gpu->pcie_tx : t.gpu->pcie_rx;
        return NVML_SUCCESS;
}

/* Process lists: counts in the first pass (out NULL), writes in the second. */
struct proc_sink {
        unsigned char *out;
        size_t elem;
        unsigned n;
};

static void sink_procs(struct proc_sink *s, const struct proc *procs, unsigned n_procs,
                       unsigned want, unsigned gi, unsigned ci)
{
        for (unsigned i = 0; i < n_procs; i++) {
                const struct proc *pr = &procs[i];
                nvmlProcessInfo_v3_t e;

                if (!(pr->types & want))
                        continue;
                if (s->out) {
                        memset(&e, 0, sizeof(e));
                        e.pid = pr->pid;
                        e.usedGpuMemory =
                            pr->used_unknown ? NVML_VALUE_NOT_AVAILABLE_ULL : pr->used_mib * MIB;
                        e.gpuInstanceId = gi;
                        e.computeInstanceId = ci;
                        e.usedGpuCcProtectedMemory = 0;
                        memcpy(s->out + (size_t)s->n * s->elem, &e, s->elem);
                }
                s->n++;
        }
}

static void collect_procs(const struct target *t, unsigned want, struct proc_sink *s)
{
        const struct gpu *g = t->gpu;

        if (t->mig) {
                sink_procs(s, t->mig->procs, t->mig->n_procs, want, t->mig->gi, t->mig->ci);
                return;
        }
        sink_procs(s, g->procs, g->n_procs, want, NO_ID, NO_ID);
        if (g->mig_current)
                for (unsigned i = 0; i < g->n_migs; i++)
                        sink_procs(s, g->migs[i].procs, g->migs[i].n_procs, want, g->migs[i].gi,
                                   g->migs[i].ci);
}

/* elem 0: the _v3 size the fixture chose. */
static nvmlReturn_t processes(nvmlDevice_t device, unsigned *count, void *infos, unsigned want,
                              size_t elem)
{
        struct proc_sink s = {.elem = elem ? elem : topo->v3_size};
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!count)
                return NVML_ERROR_INVALID_ARGUMENT;
        collect_procs(&t, want, &s);
        if (*count < s.n) {
                *count = s.n;
                return NVML_ERROR_INSUFFICIENT_SIZE;
        }
        if (s.n == 0) {
                *count = 0;
                return NVML_SUCCESS;
        }
        if (!infos)
                return NVML_ERROR_INVALID_ARGUMENT;
        s.out = infos;
        s.n = 0;
        collect_procs(&t, want, &s);
        *count = s.n;
        return NVML_SUCCESS;
}

/* ---- GPM (not in the legacy build) ---------------------------------------------- */

#ifndef FAKENVML_LEGACY

static bool gpm_capable(const struct gpu *g)
{
        return g->arch == ARCH_HOPPER || g->arch == ARCH_BLACKWELL;
}

static bool sample_ok(const struct nvmlGpmSample_st *s)
{
        return s && s->magic == SAMPLE_MAGIC;
}

static nvmlReturn_t gpm_support(nvmlDevice_t device, nvmlGpmSupport_t *support)
{
        struct target t;
        nvmlReturn_t r = resolve(device, &t);

        if (r != NVML_SUCCESS)
                return r;
        if (!support)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (support->version != NVML_GPM_SUPPORT_VERSION)
                return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        support->isSupportedDevice = gpm_capable(t.gpu) ? 1 : 0;
        return NVML_SUCCESS;
}

static nvmlReturn_t gpm_alloc(nvmlGpmSample_t *sample)
{
        struct nvmlGpmSample_st *s;

        if (!sample)
                return NVML_ERROR_INVALID_ARGUMENT;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NVML_ERROR_MEMORY;
        s->magic = SAMPLE_MAGIC;
        *sample = s;
        return NVML_SUCCESS;
}

static nvmlReturn_t gpm_free(nvmlGpmSample_t sample)
{
        if (!sample_ok(sample))
                return NVML_ERROR_INVALID_ARGUMENT;
        sample->magic = 0;
        free(sample);
        return NVML_SUCCESS;
}

/* gi NO_ID: the whole GPU (nvmlGpmSampleGet). */
static nvmlReturn_t gpm_sample(nvmlDevice_t device, unsigned gi, nvmlGpmSample_t sample)
{
        const struct mig *m = NULL;
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_INVALID_ARGUMENT);

        if (r != NVML_SUCCESS)
                return r;
        if (!sample_ok(sample))
                return NVML_ERROR_INVALID_ARGUMENT;
        if (!gpm_capable(t.gpu))
                return NVML_ERROR_NOT_SUPPORTED;
        if (gi != NO_ID) {
                if (t.gpu->mig_current)
                        for (unsigned i = 0; i < t.gpu->n_migs; i++)
                                if (t.gpu->migs[i].gi == gi &&
                                    (!m || (!m->has_sm_util && t.gpu->migs[i].has_sm_util)))
                                        m = &t.gpu->migs[i];
                if (!m)
                        return NVML_ERROR_NOT_FOUND;
        }
        *sample = (struct nvmlGpmSample_st){
            .magic = SAMPLE_MAGIC,
            .taken = true,
            .slot = t.slot,
            .is_mig = m != NULL,
            .gi = gi,
            .seq = ++gpm_seq,
            .has_sm_util = m ? m->has_sm_util : t.gpu->has_util,
            .sm_util = m ? m->sm_util : (double)t.gpu->util_gpu,
        };
        return NVML_SUCCESS;
}

static nvmlReturn_t gpm_metrics(nvmlGpmMetricsGet_t *mg)
{
        const struct nvmlGpmSample_st *s1, *s2;

        if (!mg)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (mg->version != NVML_GPM_METRICS_GET_VERSION)
                return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
        if (mg->numMetrics > DS01_GPM_METRICS_MAX)
                return NVML_ERROR_INVALID_ARGUMENT;
        s1 = mg->sample1;
        s2 = mg->sample2;
        if (!sample_ok(s1) || !sample_ok(s2) || !s1->taken || !s2->taken)
                return NVML_ERROR_INVALID_ARGUMENT;
        if (s1->slot != s2->slot || s1->is_mig != s2->is_mig || s1->gi != s2->gi ||
            s2->seq <= s1->seq)
                return NVML_ERROR_INVALID_ARGUMENT;
        for (unsigned i = 0; i < mg->numMetrics; i++) {
                nvmlGpmMetric_t *m = &mg->metrics[i];

                m->value = 0.0;
                m->metricInfo.shortName = NULL;
                m->metricInfo.longName = NULL;
                m->metricInfo.unit = NULL;
                if (m->metricId != NVML_GPM_METRIC_SM_UTIL || !s2->has_sm_util) {
                        m->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
                        continue;
                }
                m->nvmlReturn = NVML_SUCCESS;
                m->value = s2->sm_util;
                m->metricInfo.shortName = "sm_util";
                m->metricInfo.longName = "SM utilization";
                m->metricInfo.unit = "%";
        }
        return NVML_SUCCESS;
}

#endif /* FAKENVML_LEGACY */

/* ---- events --------------------------------------------------------------------- */

static bool event_set_ok(const struct nvmlEventSet_st *set)
{
        return set && set->magic == EVENT_SET_MAGIC;
}

static nvmlReturn_t event_set_create(nvmlEventSet_t *set)
{
        struct nvmlEventSet_st *s;

        if (!set)
                return NVML_ERROR_INVALID_ARGUMENT;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NVML_ERROR_MEMORY;
        s->magic = EVENT_SET_MAGIC;
        *set = s;
        return NVML_SUCCESS;
}

static nvmlReturn_t event_set_free(nvmlEventSet_t set)
{
        if (!event_set_ok(set))
                return NVML_ERROR_INVALID_ARGUMENT;
        set->magic = 0;
        free(set);
        return NVML_SUCCESS;
}

static nvmlReturn_t register_events(nvmlDevice_t device, unsigned long long types,
                                    nvmlEventSet_t set)
{
        struct target t;
        nvmlReturn_t r = resolve_gpu(device, &t, NVML_ERROR_NOT_SUPPORTED);

        if (r != NVML_SUCCESS)
                return r;
        if (!event_set_ok(set))
                return NVML_ERROR_INVALID_ARGUMENT;
        if (types & ~nvmlEventTypeXidCriticalError)
                return NVML_ERROR_NOT_SUPPORTED;
        set->types[t.slot] |= types;
        return NVML_SUCCESS;
}

/* Never blocks: with nothing pending it answers TIMEOUT at once. */
static nvmlReturn_t event_wait(nvmlEventSet_t set, nvmlEventData_t *data, bool legacy)
{
        if (!event_set_ok(set) || !data)
                return NVML_ERROR_INVALID_ARGUMENT;
        for (unsigned slot = 0; slot < MAX_GPUS; slot++) {
                const struct gpu *g;
                nvmlEventData_t d;

                if (!(set->types[slot] & nvmlEventTypeXidCriticalError))
                        continue;
                g = gpu_by_uuid(slot_uuid[slot]);
                if (!g)
                        continue;
                if (set->pos[slot] > g->n_xids)
                        set->pos[slot] = g->n_xids;
                if (set->pos[slot] == g->n_xids)
                        continue;
                d = (nvmlEventData_t){
                    .device = &gpu_pool[slot],
                    .eventType = nvmlEventTypeXidCriticalError,
                    .eventData = g->xids[set->pos[slot]++],
                    .gpuInstanceId = NO_ID,
                    .computeInstanceId = NO_ID,
                };
                memcpy(data, &d, legacy ? EVENT_DATA_LEGACY_SIZE : sizeof(d));
                return NVML_SUCCESS;
        }
        return NVML_ERROR_TIMEOUT;
}

/* ---- exported symbols ----------------------------------------------------------- */

const char *nvmlErrorString(nvmlReturn_t result)
{
        switch (result) {
        case NVML_SUCCESS:
                return "Success";
        case NVML_ERROR_UNINITIALIZED:
                return "Uninitialized";
        case NVML_ERROR_INVALID_ARGUMENT:
                return "Invalid Argument";
        case NVML_ERROR_NOT_SUPPORTED:
                return "Not Supported";
        case NVML_ERROR_NO_PERMISSION:
                return "Insufficient Permissions";
        case NVML_ERROR_ALREADY_INITIALIZED:
                return "Already Initialized";
        case NVML_ERROR_NOT_FOUND:
                return "Not Found";
        case NVML_ERROR_INSUFFICIENT_SIZE:
                return "Insufficient Size";
        case NVML_ERROR_INSUFFICIENT_POWER:
                return "Insufficient External Power";
        case NVML_ERROR_DRIVER_NOT_LOADED:
                return "Driver Not Loaded";
        case NVML_ERROR_TIMEOUT:
                return "Timeout";
        case NVML_ERROR_IRQ_ISSUE:
                return "Interrupt Request Issue";
        case NVML_ERROR_LIBRARY_NOT_FOUND:
                return "NVML Shared Library Not Found";
        case NVML_ERROR_FUNCTION_NOT_FOUND:
                return "Function Not Found";
        case NVML_ERROR_CORRUPTED_INFOROM:
                return "Corrupted infoROM";
        case NVML_ERROR_GPU_IS_LOST:
                return "GPU is lost";
        case NVML_ERROR_RESET_REQUIRED:
                return "GPU requires restart";
        case NVML_ERROR_OPERATING_SYSTEM:
                return "The operating system has blocked the request.";
        case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
                return "RM has detected an NVML/RM version mismatch.";
        case NVML_ERROR_IN_USE:
                return "In use by another client";
        case NVML_ERROR_MEMORY:
                return "Insufficient Memory";
        case NVML_ERROR_NO_DATA:
                return "No data";
        case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED:
                return "The requested vgpu operation is not available on target device, because "
                       "ECC is enabled";
        case NVML_ERROR_INSUFFICIENT_RESOURCES:
                return "Ran out of critical resources, other than memory";
        case NVML_ERROR_FREQ_NOT_SUPPORTED:
                return "Requested frequency is not supported";
        case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
                return "Argument version mismatch";
        case NVML_ERROR_DEPRECATED:
                return "Deprecated";
        case NVML_ERROR_NOT_READY:
                return "Not ready";
        case NVML_ERROR_GPU_NOT_FOUND:
                return "GPU not found";
        case NVML_ERROR_INVALID_STATE:
                return "Invalid state";
        case NVML_ERROR_UNKNOWN:
                return "Unknown Error";
        }
        return "Unknown Error";
}

nvmlReturn_t nvmlInit(void)
{
        return do_init(__func__);
}

nvmlReturn_t nvmlShutdown(void)
{
        return do_shutdown();
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
        API_CALL(copy_string(topo->driver_version, version, length));
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
        API_CALL(copy_string(topo->nvml_version, version, length));
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version)
{
        API_CALL(cuda_version(version));
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count)
{
        API_CALL(device_count(count));
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
        API_CALL(handle_by_index(index, device));
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
        API_CALL(device_uuid(device, uuid, length));
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
        API_CALL(device_name(device, name, length));
}

nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
        API_CALL(pci_info(device, pci, true));
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
        API_CALL(memory_info(device, memory));
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                  unsigned int *pendingMode)
{
        API_CALL(mig_mode(device, currentMode, pendingMode));
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
        API_CALL(max_mig_count(device, count));
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t *migDevice)
{
        API_CALL(mig_by_index_call(device, index, migDevice));
}

nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
        API_CALL(is_mig_handle(device, isMigDevice));
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
        API_CALL(instance_id(device, id, false));
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
        API_CALL(instance_id(device, id, true));
}

nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes_)
{
        API_CALL(attributes(device, attributes_, true));
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t *info)
{
        API_CALL(gi_profile_info(device, profile, info));
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *util)
{
        API_CALL(utilization(device, util));
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType,
                                      unsigned int *temp)
{
        API_CALL(temperature(device, sensorType, temp));
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power_)
{
        API_CALL(power(device, power_, false));
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
        API_CALL(power(device, limit, true));
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy_)
{
        API_CALL(energy(device, energy_));
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock)
{
        API_CALL(clock_info(device, type, clock));
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                         nvmlEccCounterType_t counterType,
                                         unsigned long long *eccCounts)
{
        API_CALL(ecc_errors(device, errorType, counterType, eccCounts));
}

nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t device, nvmlPcieUtilCounter_t counter,
                                         unsigned int *value)
{
        API_CALL(pcie_throughput(device, counter, value));
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                  void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_COMPUTE, sizeof(nvmlProcessInfo_v1_t)));
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                   void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_GRAPHICS, sizeof(nvmlProcessInfo_v1_t)));
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
        API_CALL(event_set_create(set));
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
        API_CALL(event_set_free(set));
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes,
                                      nvmlEventSet_t set)
{
        API_CALL(register_events(device, eventTypes, set));
}

nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
        API_CALL(event_wait(set, data, true));
}

#ifndef FAKENVML_LEGACY

nvmlReturn_t nvmlInit_v2(void)
{
        return do_init(__func__);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version)
{
        API_CALL(cuda_version(version));
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
        API_CALL(device_count(count));
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
        API_CALL(handle_by_index(index, device));
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
        API_CALL(pci_info(device, pci, false));
}

nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
        API_CALL(pci_info(device, pci, true));
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes_)
{
        API_CALL(attributes(device, attributes_, false));
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                     void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_COMPUTE, 0));
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                     void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_COMPUTE, sizeof(nvmlProcessInfo_v2_t)));
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                      void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_GRAPHICS, 0));
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                      void *infos)
{
        API_CALL(processes(device, infoCount, infos, PROC_GRAPHICS, sizeof(nvmlProcessInfo_v2_t)));
}

nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device, nvmlGpmSupport_t *gpmSupport)
{
        API_CALL(gpm_support(device, gpmSupport));
}

nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *gpmSample)
{
        API_CALL(gpm_alloc(gpmSample));
}

nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t gpmSample)
{
        API_CALL(gpm_free(gpmSample));
}

nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t gpmSample)
{
        API_CALL(gpm_sample(device, NO_ID, gpmSample));
}

nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpuInstanceId,
                                 nvmlGpmSample_t gpmSample)
{
        API_CALL(gpuInstanceId == NO_ID ? NVML_ERROR_NOT_FOUND
                                        : gpm_sample(device, gpuInstanceId, gpmSample));
}

nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *metricsGet)
{
        API_CALL(gpm_metrics(metricsGet));
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
        API_CALL(event_wait(set, data, false));
}

#endif /* FAKENVML_LEGACY */
