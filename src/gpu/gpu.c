/* SPDX-License-Identifier: MIT */
/*
 * gpu.c - reading the GPUs through NVML: the topology (GPUs, MIG devices and
 * the slots they offer) and sample rounds. Every NVML answer is checked; a GPU
 * that is lost or answers an unknown error is marked unhealthy and skipped,
 * the others keep working. What NVML cannot tell (a getter the GPU does not
 * support) is left out of the reading, never guessed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu/gpu.h"
#include "gpu/nvml-lib.h"
#include "util/macro.h"
#include "util/strutil.h"

/* Largest process element any driver writes (nvmlProcessInfo_v3_t). */
#define PROC_ELEM_MAX    32
#define PROC_CAP_INITIAL 32
/* Events drained per round at most, so a storm cannot stall sampling. */
#define XID_DRAIN_MAX 256

struct gpm_state {
        nvmlGpmSample_t prev;
        nvmlGpmSample_t cur;
        bool have_prev;
};

struct gpu_ctx {
        struct nvml_lib lib;
        bool loaded;
        bool initialized;
        struct gpu_topology *topo;
        nvmlDevice_t dev[GPU_MAX_GPUS];
        nvmlDevice_t mig_dev[GPU_MAX_GPUS][GPU_MAX_MIG_PER_GPU]; /* by position in gpus[].mig */
        nvmlDevice_t *slot_handle;                               /* per slot */
        struct gpm_state *gpm;                                   /* per slot */
        nvmlEventSet_t events;
        uint64_t xid_total[GPU_MAX_GPUS];
        unsigned long long last_xid[GPU_MAX_GPUS];
        unsigned char *proc_a, *proc_b;
        unsigned proc_cap; /* elements of PROC_ELEM_MAX bytes */
        /* Measured process element size per family, and the level it was measured at. */
        unsigned stride[2];
        int stride_level[2];
};

static bool rc_is_fatal(nvmlReturn_t rc)
{
        return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_UNKNOWN ||
               rc == NVML_ERROR_RESET_REQUIRED || rc == NVML_ERROR_GPU_NOT_FOUND;
}

static void set_reason(struct gpu_ctx *ctx, char *buf, const char *what, nvmlReturn_t rc)
{
        snprintf(buf, GPU_REASON_MAX, "%s: %s (NVML error %d)", what,
                 nvml_lib_strerror(&ctx->lib, rc), (int)rc);
}

struct gpu_topology *gpu_topology_free(struct gpu_topology *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_gpus; i++)
                free(t->gpus[i].mig);
        free(t->gpus);
        free(t->slots);
        free(t);
        return NULL;
}

const struct gpu_slot *gpu_topology_find_slot(const struct gpu_topology *t, const char *name)
{
        if (!t || !name)
                return NULL;
        for (size_t i = 0; i < t->n_slots; i++)
                if (streq(t->slots[i].name, name))
                        return &t->slots[i];
        return NULL;
}

const struct gpu_slot *gpu_topology_find_uuid(const struct gpu_topology *t, const char *uuid)
{
        if (!t || !uuid)
                return NULL;
        for (size_t i = 0; i < t->n_slots; i++)
                if (streq(t->slots[i].uuid, uuid))
                        return &t->slots[i];
        return NULL;
}

/* ---- topology ---------------------------------------------------------- */

static void release_per_slot(struct gpu_ctx *ctx)
{
        size_t n = ctx->topo ? ctx->topo->n_slots : 0;

        if (ctx->gpm)
                for (size_t i = 0; i < n; i++) {
                        if (ctx->gpm[i].prev)
                                NVML_CALL(&ctx->lib, NVML_SYM_GPM_FREE, nvml_gpm_sample_free_fn,
                                          ctx->gpm[i].prev);
                        if (ctx->gpm[i].cur)
                                NVML_CALL(&ctx->lib, NVML_SYM_GPM_FREE, nvml_gpm_sample_free_fn,
                                          ctx->gpm[i].cur);
                }
        ctx->gpm = mfree(ctx->gpm);
        ctx->slot_handle = mfree(ctx->slot_handle);
        if (ctx->events)
                NVML_CALL(&ctx->lib, NVML_SYM_EVENT_FREE, nvml_event_set_free_fn, ctx->events);
        ctx->events = NULL;
}

/* Total MIG slices of a GPU: the largest GPU-instance profile it supports,
 * else the number of MIG devices it can hold (both are 7 on A100 and H100). */
static unsigned read_total_slices(struct gpu_ctx *ctx, nvmlDevice_t h)
{
        unsigned total = 0, max_count = 0;

        for (unsigned p = 0; p < NVML_GPU_INSTANCE_PROFILE_COUNT; p++) {
                nvmlGpuInstanceProfileInfo_t info = {0};
                nvmlReturn_t rc = NVML_CALL(&ctx->lib, NVML_SYM_GI_PROFILE_INFO,
                                            nvml_device_gi_profile_fn, h, p, &info);
                if (rc == NVML_SUCCESS && info.sliceCount > total && info.sliceCount <= 64)
                        total = info.sliceCount;
        }
        if (total == 0 &&
            NVML_CALL(&ctx->lib, NVML_SYM_MAX_MIG_COUNT, nvml_device_uint_fn, h, &max_count) ==
                NVML_SUCCESS &&
            max_count <= 64)
                total = max_count;
        return total;
}

/* Read one MIG device; returns false when it should be left out. */
static bool read_mig_device(struct gpu_ctx *ctx, nvmlDevice_t mh, unsigned index,
                            struct gpu_mig_device *m)
{
        char name[GPU_NAME_MAX] = "";
        nvmlDeviceAttributes_t attr = {0};
        nvmlMemory_t mem = {0};
        nvmlReturn_t rc;

        memset(m, 0, sizeof(*m));
        m->index = index;
        rc = NVML_CALL(&ctx->lib, NVML_SYM_UUID, nvml_device_string_fn, mh, m->uuid,
                       sizeof(m->uuid));
        if (rc != NVML_SUCCESS || !startswith(m->uuid, "MIG-"))
                return false;
        (void)NVML_CALL(&ctx->lib, NVML_SYM_GPU_INSTANCE_ID, nvml_device_uint_fn, mh,
                        &m->gpu_instance_id);
        (void)NVML_CALL(&ctx->lib, NVML_SYM_COMPUTE_INSTANCE_ID, nvml_device_uint_fn, mh,
                        &m->compute_instance_id);
        if (NVML_CALL(&ctx->lib, NVML_SYM_NAME, nvml_device_string_fn, mh, name, sizeof(name)) ==
            NVML_SUCCESS)
                (void)gpu_profile_from_name(name, m->profile, sizeof(m->profile));
        rc = NVML_CALL(&ctx->lib, NVML_SYM_ATTRIBUTES, nvml_device_attributes_fn, mh, &attr);
        if (rc == NVML_SUCCESS && attr.gpuInstanceSliceCount > 0) {
                m->gpu_instance_slices = attr.gpuInstanceSliceCount;
                m->compute_slices = attr.computeInstanceSliceCount ? attr.computeInstanceSliceCount
                                                                   : attr.gpuInstanceSliceCount;
                m->memory_total = attr.memorySizeMB * 1024ULL * 1024ULL;
        } else if (m->profile[0]) {
                /* Drivers with only the old attributes struct: the profile names them. */
                (void)gpu_profile_slices(m->profile, &m->gpu_instance_slices, &m->compute_slices);
        }
        if (NVML_CALL(&ctx->lib, NVML_SYM_MEMORY_INFO, nvml_device_memory_fn, mh, &mem) ==
            NVML_SUCCESS)
                m->memory_total = mem.total;
        if (!m->profile[0] && m->gpu_instance_slices > 0)
                snprintf(m->profile, sizeof(m->profile), "%ug.%llugb", m->gpu_instance_slices,
                         (unsigned long long)((m->memory_total + (512ULL << 20)) >> 30));
        return true;
}

static void read_gpu(struct gpu_ctx *ctx, unsigned i, struct gpu_device *g)
{
        nvmlDevice_t h = NULL;
        nvmlPciInfo_t pci;
        nvmlMemory_t mem = {0};
        unsigned cur = 0, pend = 0, max_mig = 0;
        nvmlReturn_t rc;

        memset(g, 0, sizeof(*g));
        g->index = i;
        g->healthy = true;
        g->mig_current = g->mig_pending = GPU_MIG_UNSUPPORTED;

        rc = NVML_CALL(&ctx->lib, NVML_SYM_HANDLE_BY_INDEX, nvml_device_by_index_fn, i, &h);
        if (rc != NVML_SUCCESS) {
                g->healthy = false;
                set_reason(ctx, g->reason, "cannot open the GPU", rc);
                return;
        }
        ctx->dev[i] = h;
        rc =
            NVML_CALL(&ctx->lib, NVML_SYM_UUID, nvml_device_string_fn, h, g->uuid, sizeof(g->uuid));
        if (rc != NVML_SUCCESS) {
                g->uuid[0] = '\0';
                g->healthy = false;
                set_reason(ctx, g->reason, "cannot read the GPU's UUID", rc);
                return;
        }
        rc =
            NVML_CALL(&ctx->lib, NVML_SYM_NAME, nvml_device_string_fn, h, g->name, sizeof(g->name));
        if (rc != NVML_SUCCESS)
                g->name[0] = '\0';
        if (rc_is_fatal(rc)) {
                g->healthy = false;
                set_reason(ctx, g->reason, "the GPU stopped answering", rc);
                return;
        }
        memset(&pci, 0, sizeof(pci));
        rc = NVML_CALL(&ctx->lib, NVML_SYM_PCI_INFO, nvml_device_pci_fn, h, &pci);
        if (rc == NVML_SUCCESS) {
                /* _v3 fills busId; older versions only the legacy field. */
                const char *bus = ctx->lib.level[NVML_SYM_PCI_INFO] == 0 && pci.busId[0]
                                      ? pci.busId
                                      : pci.busIdLegacy;
                size_t max = bus == pci.busId ? sizeof(pci.busId) : sizeof(pci.busIdLegacy);
                size_t len = strnlen(bus, max);
                /* The legacy field has room for a 4-digit domain only
                 * ("0000:07:00.0"); write every id in the 8-digit form. */
                if (len == 12 && bus[4] == ':')
                        snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "0000%.12s", bus);
                else if (len < sizeof(g->pci_bus_id)) {
                        memcpy(g->pci_bus_id, bus, len);
                        g->pci_bus_id[len] = '\0';
                }
        }
        rc = NVML_CALL(&ctx->lib, NVML_SYM_MEMORY_INFO, nvml_device_memory_fn, h, &mem);
        if (rc == NVML_SUCCESS)
                g->memory_total = mem.total;
        else if (rc_is_fatal(rc)) {
                g->healthy = false;
                set_reason(ctx, g->reason, "the GPU stopped answering", rc);
                return;
        }

        rc = NVML_CALL(&ctx->lib, NVML_SYM_MIG_MODE, nvml_device_mig_mode_fn, h, &cur, &pend);
        if (rc == NVML_SUCCESS) {
                g->mig_current = cur == NVML_DEVICE_MIG_ENABLE ? GPU_MIG_ENABLED : GPU_MIG_DISABLED;
                g->mig_pending =
                    pend == NVML_DEVICE_MIG_ENABLE ? GPU_MIG_ENABLED : GPU_MIG_DISABLED;
        }
        if (g->mig_current != GPU_MIG_ENABLED)
                return;

        g->total_slices = read_total_slices(ctx, h);
        {
                nvmlGpmSupport_t sup = {.version = NVML_GPM_SUPPORT_VERSION};
                rc = NVML_CALL(&ctx->lib, NVML_SYM_GPM_SUPPORT, nvml_gpm_support_fn, h, &sup);
                g->gpm_supported = rc == NVML_SUCCESS && sup.isSupportedDevice;
        }
        rc = NVML_CALL(&ctx->lib, NVML_SYM_MAX_MIG_COUNT, nvml_device_uint_fn, h, &max_mig);
        if (rc != NVML_SUCCESS)
                max_mig = GPU_MAX_MIG_PER_GPU;
        max_mig = MIN(max_mig, (unsigned)GPU_MAX_MIG_PER_GPU);
        g->mig = calloc(max_mig ? max_mig : 1, sizeof(*g->mig));
        if (!g->mig) {
                g->healthy = false;
                snprintf(g->reason, sizeof(g->reason), "out of memory");
                return;
        }
        for (unsigned d = 0; d < max_mig; d++) {
                nvmlDevice_t mh = NULL;
                rc = NVML_CALL(&ctx->lib, NVML_SYM_MIG_HANDLE_BY_INDEX, nvml_device_mig_by_index_fn,
                               h, d, &mh);
                if (rc == NVML_ERROR_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT)
                        continue;
                if (rc != NVML_SUCCESS) {
                        if (rc_is_fatal(rc)) {
                                g->healthy = false;
                                set_reason(ctx, g->reason, "the GPU stopped answering", rc);
                                g->n_mig = 0;
                                return;
                        }
                        continue;
                }
                if (read_mig_device(ctx, mh, d, &g->mig[g->n_mig]))
                        ctx->mig_dev[i][g->n_mig++] = mh;
        }
}

static int build_slots(struct gpu_ctx *ctx, struct gpu_topology *t)
{
        size_t n = 0, k = 0;

        for (size_t i = 0; i < t->n_gpus; i++) {
                const struct gpu_device *g = &t->gpus[i];
                if (!g->healthy)
                        continue;
                n += g->mig_current == GPU_MIG_ENABLED ? g->n_mig : 1;
        }
        t->slots = calloc(n ? n : 1, sizeof(*t->slots));
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of NVML handles (pointers)
        ctx->slot_handle = calloc(n ? n : 1, sizeof(*ctx->slot_handle));
        ctx->gpm = calloc(n ? n : 1, sizeof(*ctx->gpm));
        if (!t->slots || !ctx->slot_handle || !ctx->gpm)
                return -ENOMEM;

        for (size_t i = 0; i < t->n_gpus; i++) {
                const struct gpu_device *g = &t->gpus[i];
                if (!g->healthy)
                        continue;
                if (g->mig_current != GPU_MIG_ENABLED) {
                        struct gpu_slot *s = &t->slots[k];
                        (void)gpu_slot_format(s->name, sizeof(s->name), g->index, -1);
                        (void)strscpy(s->uuid, sizeof(s->uuid), g->uuid);
                        s->kind = GPU_SLOT_FULL;
                        s->gpu = (unsigned)i;
                        s->mig = -1;
                        s->weight = 1.0;
                        ctx->slot_handle[k++] = ctx->dev[i];
                        continue;
                }
                for (size_t d = 0; d < g->n_mig; d++) {
                        const struct gpu_mig_device *m = &g->mig[d];
                        struct gpu_slot *s = &t->slots[k];
                        double w = gpu_mig_weight(m->compute_slices, g->total_slices);

                        (void)gpu_slot_format(s->name, sizeof(s->name), g->index, (int)m->index);
                        (void)strscpy(s->uuid, sizeof(s->uuid), m->uuid);
                        s->kind = GPU_SLOT_MIG;
                        s->gpu = (unsigned)i;
                        s->mig = (int)d;
                        /* Unknown slice counts: weigh 0 rather than invent a share. */
                        s->weight = w > 0 ? w : 0.0;
                        ctx->slot_handle[k++] = ctx->mig_dev[i][d];
                }
        }
        t->n_slots = k;
        t->total_weight = 0;
        for (size_t i = 0; i < k; i++)
                t->total_weight += t->slots[i].weight;
        return 0;
}

static void register_xid_events(struct gpu_ctx *ctx, const struct gpu_topology *t)
{
        nvmlEventSet_t set = NULL;
        bool any = false;

        if (NVML_CALL(&ctx->lib, NVML_SYM_EVENT_CREATE, nvml_event_set_create_fn, &set) !=
            NVML_SUCCESS)
                return;
        for (size_t i = 0; i < t->n_gpus; i++) {
                if (!t->gpus[i].healthy || !ctx->dev[i])
                        continue;
                if (NVML_CALL(&ctx->lib, NVML_SYM_REGISTER_EVENTS, nvml_register_events_fn,
                              ctx->dev[i], nvmlEventTypeXidCriticalError, set) == NVML_SUCCESS)
                        any = true;
        }
        if (!any) {
                NVML_CALL(&ctx->lib, NVML_SYM_EVENT_FREE, nvml_event_set_free_fn, set);
                return;
        }
        ctx->events = set;
}

static int read_topology(struct gpu_ctx *ctx, struct gpu_topology *t)
{
        unsigned count = 0;
        nvmlReturn_t rc;

        (void)NVML_CALL(&ctx->lib, NVML_SYM_DRIVER_VERSION, nvml_system_string_fn,
                        t->driver_version, sizeof(t->driver_version));
        (void)NVML_CALL(&ctx->lib, NVML_SYM_NVML_VERSION, nvml_system_string_fn, t->nvml_version,
                        sizeof(t->nvml_version));
        (void)NVML_CALL(&ctx->lib, NVML_SYM_CUDA_VERSION, nvml_system_cuda_version_fn,
                        &t->cuda_driver_version);
        rc = NVML_CALL(&ctx->lib, NVML_SYM_DEVICE_COUNT, nvml_device_count_fn, &count);
        if (rc != NVML_SUCCESS) {
                t->available = false;
                snprintf(t->reason, sizeof(t->reason), "cannot count GPUs: %s",
                         nvml_lib_strerror(&ctx->lib, rc));
                return 0;
        }
        count = MIN(count, (unsigned)GPU_MAX_GPUS);
        t->gpus = calloc(count ? count : 1, sizeof(*t->gpus));
        if (!t->gpus)
                return -ENOMEM;
        memset(ctx->dev, 0, sizeof(ctx->dev));
        memset(ctx->mig_dev, 0, sizeof(ctx->mig_dev));
        for (unsigned i = 0; i < count; i++) {
                read_gpu(ctx, i, &t->gpus[i]);
                t->n_gpus++;
                if (!t->gpus[i].healthy && startswith(t->gpus[i].reason, "out of memory"))
                        return -ENOMEM;
        }
        if (build_slots(ctx, t) < 0)
                return -ENOMEM;
        register_xid_events(ctx, t);
        return 0;
}

int gpu_ctx_rescan(struct gpu_ctx *ctx)
{
        struct gpu_topology *t;
        int r;

        release_per_slot(ctx);
        ctx->topo = gpu_topology_free(ctx->topo);
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        ctx->topo = t;
        if (!ctx->initialized) {
                t->available = false;
                return 0;
        }
        t->available = true;
        r = read_topology(ctx, t);
        if (r < 0) {
                release_per_slot(ctx);
                ctx->topo = gpu_topology_free(ctx->topo);
                return r;
        }
        return 0;
}

int gpu_ctx_open(const char *path, struct gpu_ctx **ret)
{
        char reason[GPU_REASON_MAX - 32] = ""; /* room for the prefix below */
        struct gpu_ctx *ctx;
        nvmlReturn_t rc;
        int r;

        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->stride_level[0] = ctx->stride_level[1] = -1;
        if (nvml_lib_open(&ctx->lib, path, reason, sizeof(reason)) == 0) {
                ctx->loaded = true;
                rc = NVML_CALL(&ctx->lib, NVML_SYM_INIT, nvml_init_fn);
                if (rc == NVML_SUCCESS)
                        ctx->initialized = true;
                else
                        snprintf(reason, sizeof(reason), "nvmlInit failed: %s (NVML error %d)",
                                 nvml_lib_strerror(&ctx->lib, rc), (int)rc);
        }
        r = gpu_ctx_rescan(ctx);
        if (r < 0) {
                gpu_ctx_free(ctx);
                return r;
        }
        if (!ctx->initialized)
                snprintf(ctx->topo->reason, sizeof(ctx->topo->reason), "NVML not available: %s",
                         reason);
        *ret = ctx;
        return 0;
}

struct gpu_ctx *gpu_ctx_free(struct gpu_ctx *ctx)
{
        if (!ctx)
                return NULL;
        release_per_slot(ctx);
        gpu_topology_free(ctx->topo);
        if (ctx->initialized)
                NVML_CALL(&ctx->lib, NVML_SYM_SHUTDOWN, nvml_shutdown_fn);
        if (ctx->loaded)
                nvml_lib_close(&ctx->lib);
        free(ctx->proc_a);
        free(ctx->proc_b);
        free(ctx);
        return NULL;
}

const struct gpu_topology *gpu_ctx_topology(const struct gpu_ctx *ctx)
{
        return ctx->topo;
}

unsigned long gpu_ctx_nvml_calls(const struct gpu_ctx *ctx)
{
        return ctx->lib.calls;
}

const char *gpu_ctx_bound_symbol(const struct gpu_ctx *ctx, const char *plain_name)
{
        static const struct {
                const char *plain;
                enum nvml_sym sym;
        } map[] = {
            {"nvmlInit", NVML_SYM_INIT},
            {"nvmlDeviceGetCount", NVML_SYM_DEVICE_COUNT},
            {"nvmlDeviceGetHandleByIndex", NVML_SYM_HANDLE_BY_INDEX},
            {"nvmlDeviceGetPciInfo", NVML_SYM_PCI_INFO},
            {"nvmlDeviceGetAttributes", NVML_SYM_ATTRIBUTES},
            {"nvmlDeviceGetComputeRunningProcesses", NVML_SYM_COMPUTE_PROCS},
            {"nvmlDeviceGetGraphicsRunningProcesses", NVML_SYM_GRAPHICS_PROCS},
            {"nvmlSystemGetCudaDriverVersion", NVML_SYM_CUDA_VERSION},
            {"nvmlEventSetWait", NVML_SYM_EVENT_WAIT},
            {"nvmlGpmMigSampleGet", NVML_SYM_GPM_MIG_SAMPLE},
        };

        if (!ctx->loaded)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(map[i].plain, plain_name))
                        return nvml_lib_bound_name(&ctx->lib, map[i].sym);
        return NULL;
}

unsigned gpu_ctx_process_stride(const struct gpu_ctx *ctx)
{
        return ctx->stride[0];
}

/* ---- samples ----------------------------------------------------------- */

struct proc_vec {
        struct gpu_process *v;
        size_t n, cap;
};

static int proc_add(struct proc_vec *pv, size_t first, unsigned pid, uint64_t mem, unsigned type,
                    size_t slot)
{
        /* A process listed as compute and as graphics is one process. */
        for (size_t i = first; i < pv->n; i++)
                if (pv->v[i].pid == pid) {
                        pv->v[i].type |= type;
                        if (pv->v[i].used_memory == GPU_MEMORY_UNKNOWN)
                                pv->v[i].used_memory = mem;
                        return 0;
                }
        if (pv->n == pv->cap) {
                size_t cap = pv->cap ? pv->cap * 2 : 64;
                struct gpu_process *v = reallocarray(pv->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                pv->v = v;
                pv->cap = cap;
        }
        pv->v[pv->n++] =
            (struct gpu_process){.pid = pid, .used_memory = mem, .type = type, .slot = slot};
        return 0;
}

static int grow_proc_bufs(struct gpu_ctx *ctx, unsigned want)
{
        unsigned char *a, *b;

        if (want <= ctx->proc_cap)
                return 0;
        if (want > GPU_MAX_PROCS_PER_CALL)
                return -E2BIG;
        a = realloc(ctx->proc_a, (size_t)want * PROC_ELEM_MAX);
        if (!a)
                return -ENOMEM;
        ctx->proc_a = a;
        b = realloc(ctx->proc_b, (size_t)want * PROC_ELEM_MAX);
        if (!b)
                return -ENOMEM;
        ctx->proc_b = b;
        ctx->proc_cap = want;
        return 0;
}

static unsigned nominal_stride(int level)
{
        /* _v3 and _v2 write 24 bytes on most drivers; the plain function 16. */
        return level >= 2 ? 16 : 24;
}

/* Read one process list into pv. Returns the NVML code. */
static nvmlReturn_t read_procs(struct gpu_ctx *ctx, enum nvml_sym sym, nvmlDevice_t h, size_t slot,
                               size_t first, struct proc_vec *pv, int *ret_err)
{
        int k = sym == NVML_SYM_COMPUTE_PROCS ? 0 : 1;
        unsigned type = k == 0 ? GPU_PROC_COMPUTE : GPU_PROC_GRAPHICS;
        unsigned n = 0, stride;
        nvmlReturn_t rc = NVML_SUCCESS;
        int r;

        if (grow_proc_bufs(ctx, PROC_CAP_INITIAL) < 0) {
                *ret_err = -ENOMEM;
                return NVML_ERROR_MEMORY;
        }
        for (int attempt = 0; attempt < 4; attempt++) {
                n = ctx->proc_cap;
                memset(ctx->proc_a, GPU_STRIDE_PATTERN_A, (size_t)ctx->proc_cap * PROC_ELEM_MAX);
                rc = NVML_CALL(&ctx->lib, sym, nvml_device_processes_fn, h, &n, ctx->proc_a);
                if (rc != NVML_ERROR_INSUFFICIENT_SIZE)
                        break;
                r = grow_proc_bufs(ctx, n + 16);
                if (r == -ENOMEM) {
                        *ret_err = r;
                        return rc;
                }
                if (r < 0) /* more processes than we accept: leave this list out */
                        return rc;
        }
        if (rc != NVML_SUCCESS || n == 0)
                return rc;
        n = MIN(n, ctx->proc_cap);

        if (ctx->stride_level[k] != ctx->lib.level[sym]) {
                /* Measure once per symbol version: same call, other pattern. */
                unsigned n2 = ctx->proc_cap;
                memset(ctx->proc_b, GPU_STRIDE_PATTERN_B, (size_t)ctx->proc_cap * PROC_ELEM_MAX);
                if (NVML_CALL(&ctx->lib, sym, nvml_device_processes_fn, h, &n2, ctx->proc_b) ==
                        NVML_SUCCESS &&
                    n2 == n) {
                        int s = gpu_detect_process_stride(ctx->proc_a, ctx->proc_b,
                                                          (size_t)ctx->proc_cap * PROC_ELEM_MAX, n);
                        if (s > 0) {
                                ctx->stride[k] = (unsigned)s;
                                ctx->stride_level[k] = ctx->lib.level[sym];
                        }
                }
        }
        stride = ctx->stride_level[k] == ctx->lib.level[sym] ? ctx->stride[k]
                                                             : nominal_stride(ctx->lib.level[sym]);
        for (unsigned i = 0; i < n; i++) {
                const unsigned char *e = ctx->proc_a + (size_t)i * stride;
                unsigned pid;
                unsigned long long mem;
                memcpy(&pid, e, sizeof(pid));
                memcpy(&mem, e + 8, sizeof(mem));
                r = proc_add(pv, first, pid,
                             mem == NVML_VALUE_NOT_AVAILABLE_ULL ? GPU_MEMORY_UNKNOWN : mem, type,
                             slot);
                if (r < 0) {
                        *ret_err = r;
                        return NVML_ERROR_MEMORY;
                }
        }
        return NVML_SUCCESS;
}

static void drain_xid(struct gpu_ctx *ctx)
{
        const struct gpu_topology *t = ctx->topo;

        if (!ctx->events)
                return;
        for (int i = 0; i < XID_DRAIN_MAX; i++) {
                nvmlEventData_t d = {0};
                if (NVML_CALL(&ctx->lib, NVML_SYM_EVENT_WAIT, nvml_event_set_wait_fn, ctx->events,
                              &d, 0) != NVML_SUCCESS)
                        return;
                if (!(d.eventType & nvmlEventTypeXidCriticalError))
                        continue;
                for (size_t g = 0; g < t->n_gpus; g++)
                        if (ctx->dev[g] && ctx->dev[g] == d.device) {
                                ctx->xid_total[g]++;
                                ctx->last_xid[g] = d.eventData;
                                break;
                        }
        }
}

/* Mark a GPU unhealthy when rc says it is gone; returns true then. */
static bool check_fatal(struct gpu_ctx *ctx, struct gpu_reading *gr, const char *what,
                        nvmlReturn_t rc)
{
        if (!rc_is_fatal(rc))
                return false;
        gr->healthy = false;
        set_reason(ctx, gr->reason, what, rc);
        return true;
}

#define SAMPLE(what, call, flag, store)                                                            \
        do {                                                                                       \
                nvmlReturn_t _rc = (call);                                                         \
                if (_rc == NVML_SUCCESS) {                                                         \
                        store;                                                                     \
                        gr->has |= (flag);                                                         \
                } else if (check_fatal(ctx, gr, what, _rc))                                        \
                        return;                                                                    \
        } while (0)

static void sample_gpu(struct gpu_ctx *ctx, size_t i, struct gpu_reading *gr)
{
        const struct gpu_device *g = &ctx->topo->gpus[i];
        nvmlDevice_t h = ctx->dev[i];
        nvmlUtilization_t u = {0};
        nvmlMemory_t mem = {0};
        unsigned v = 0, v2 = 0;
        unsigned long long ull = 0, ull2 = 0;
        struct nvml_lib *lib = &ctx->lib;

        gr->healthy = g->healthy;
        gr->xid_total = ctx->xid_total[i];
        gr->last_xid = ctx->last_xid[i];
        if (!g->healthy || !h) {
                (void)strscpy(gr->reason, sizeof(gr->reason), g->reason);
                return;
        }
        SAMPLE("memory", NVML_CALL(lib, NVML_SYM_MEMORY_INFO, nvml_device_memory_fn, h, &mem),
               GPU_HAS_MEMORY, (gr->memory_used = mem.used, gr->memory_total = mem.total));
        if (g->mig_current != GPU_MIG_ENABLED)
                SAMPLE("utilization",
                       NVML_CALL(lib, NVML_SYM_UTILIZATION, nvml_device_utilization_fn, h, &u),
                       GPU_HAS_UTIL_GPU | GPU_HAS_UTIL_MEM,
                       (gr->util_gpu = u.gpu, gr->util_mem = u.memory));
        SAMPLE("temperature",
               NVML_CALL(lib, NVML_SYM_TEMPERATURE, nvml_device_temperature_fn, h,
                         NVML_TEMPERATURE_GPU, &v),
               GPU_HAS_TEMPERATURE, gr->temperature_c = v);
        SAMPLE("power", NVML_CALL(lib, NVML_SYM_POWER_USAGE, nvml_device_uint_fn, h, &v),
               GPU_HAS_POWER, gr->power_mw = v);
        SAMPLE("power limit", NVML_CALL(lib, NVML_SYM_POWER_LIMIT, nvml_device_uint_fn, h, &v),
               GPU_HAS_POWER_LIMIT, gr->power_limit_mw = v);
        SAMPLE("energy", NVML_CALL(lib, NVML_SYM_ENERGY, nvml_device_ull_fn, h, &ull),
               GPU_HAS_ENERGY, gr->energy_mj = ull);
        SAMPLE("SM clock",
               NVML_CALL(lib, NVML_SYM_CLOCK, nvml_device_clock_fn, h, NVML_CLOCK_SM, &v),
               GPU_HAS_CLOCK_SM, gr->clock_sm_mhz = v);
        SAMPLE("memory clock",
               NVML_CALL(lib, NVML_SYM_CLOCK, nvml_device_clock_fn, h, NVML_CLOCK_MEM, &v),
               GPU_HAS_CLOCK_MEM, gr->clock_mem_mhz = v);
        {
                nvmlReturn_t a =
                    NVML_CALL(lib, NVML_SYM_ECC, nvml_device_ecc_fn, h,
                              NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull);
                if (check_fatal(ctx, gr, "ECC counters", a))
                        return;
                if (a == NVML_SUCCESS) {
                        nvmlReturn_t b =
                            NVML_CALL(lib, NVML_SYM_ECC, nvml_device_ecc_fn, h,
                                      NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ull2);
                        if (check_fatal(ctx, gr, "ECC counters", b))
                                return;
                        if (b == NVML_SUCCESS) {
                                gr->ecc_sbe_volatile = ull;
                                gr->ecc_dbe_volatile = ull2;
                                gr->has |= GPU_HAS_ECC;
                        }
                }
        }
        {
                nvmlReturn_t a = NVML_CALL(lib, NVML_SYM_PCIE, nvml_device_pcie_fn, h,
                                           NVML_PCIE_UTIL_TX_BYTES, &v);
                if (check_fatal(ctx, gr, "PCIe throughput", a))
                        return;
                if (a == NVML_SUCCESS) {
                        nvmlReturn_t b = NVML_CALL(lib, NVML_SYM_PCIE, nvml_device_pcie_fn, h,
                                                   NVML_PCIE_UTIL_RX_BYTES, &v2);
                        if (check_fatal(ctx, gr, "PCIe throughput", b))
                                return;
                        if (b == NVML_SUCCESS) {
                                gr->pcie_tx_kbs = v;
                                gr->pcie_rx_kbs = v2;
                                gr->has |= GPU_HAS_PCIE;
                        }
                }
        }
}

static void sample_gpm(struct gpu_ctx *ctx, size_t s, nvmlDevice_t parent, unsigned gi,
                       struct gpu_slot_reading *sr)
{
        struct gpm_state *st = &ctx->gpm[s];
        struct nvml_lib *lib = &ctx->lib;
        nvmlGpmSample_t tmp;

        if (!st->prev &&
            NVML_CALL(lib, NVML_SYM_GPM_ALLOC, nvml_gpm_sample_alloc_fn, &st->prev) != NVML_SUCCESS)
                return;
        if (!st->cur &&
            NVML_CALL(lib, NVML_SYM_GPM_ALLOC, nvml_gpm_sample_alloc_fn, &st->cur) != NVML_SUCCESS)
                return;
        if (NVML_CALL(lib, NVML_SYM_GPM_MIG_SAMPLE, nvml_gpm_mig_sample_get_fn, parent, gi,
                      st->cur) != NVML_SUCCESS) {
                st->have_prev = false;
                return;
        }
        if (st->have_prev) {
                nvmlGpmMetricsGet_t mg;
                memset(&mg, 0, sizeof(mg));
                mg.version = NVML_GPM_METRICS_GET_VERSION;
                mg.numMetrics = 1;
                mg.sample1 = st->prev;
                mg.sample2 = st->cur;
                mg.metrics[0].metricId = NVML_GPM_METRIC_SM_UTIL;
                if (NVML_CALL(lib, NVML_SYM_GPM_METRICS, nvml_gpm_metrics_get_fn, &mg) ==
                        NVML_SUCCESS &&
                    mg.metrics[0].nvmlReturn == NVML_SUCCESS && mg.metrics[0].value >= 0.0 &&
                    mg.metrics[0].value <= 100.0) {
                        sr->util = mg.metrics[0].value;
                        sr->util_source = GPU_UTIL_GPM;
                        sr->has |= GPU_HAS_UTIL_GPU;
                }
        }
        tmp = st->prev;
        st->prev = st->cur;
        st->cur = tmp;
        st->have_prev = true;
}

int gpu_sample_take(struct gpu_ctx *ctx, struct gpu_sample **ret)
{
        const struct gpu_topology *t = ctx->topo;
        struct gpu_sample *s;
        struct proc_vec pv = {0};
        unsigned long calls0 = ctx->lib.calls;
        struct timespec ts;
        int err = 0;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        clock_gettime(CLOCK_REALTIME, &ts);
        s->time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        s->n_gpus = t->n_gpus;
        s->n_slots = t->n_slots;
        s->gpus = calloc(t->n_gpus ? t->n_gpus : 1, sizeof(*s->gpus));
        s->slots = calloc(t->n_slots ? t->n_slots : 1, sizeof(*s->slots));
        if (!s->gpus || !s->slots) {
                gpu_sample_free(s);
                return -ENOMEM;
        }
        if (!ctx->initialized) {
                *ret = s;
                return 0;
        }

        drain_xid(ctx);
        for (size_t i = 0; i < t->n_gpus; i++)
                sample_gpu(ctx, i, &s->gpus[i]);

        for (size_t k = 0; k < t->n_slots && err == 0; k++) {
                const struct gpu_slot *sl = &t->slots[k];
                const struct gpu_device *g = &t->gpus[sl->gpu];
                struct gpu_reading *gr = &s->gpus[sl->gpu];
                struct gpu_slot_reading *sr = &s->slots[k];
                nvmlDevice_t h = ctx->slot_handle[k];
                nvmlReturn_t rc;

                sr->first_proc = pv.n;
                if (!gr->healthy || !h)
                        continue;
                if (sl->kind == GPU_SLOT_FULL) {
                        if (gr->has & GPU_HAS_MEMORY) {
                                sr->memory_used = gr->memory_used;
                                sr->memory_total = gr->memory_total;
                                sr->has |= GPU_HAS_MEMORY;
                        }
                        if (gr->has & GPU_HAS_UTIL_GPU) {
                                sr->util = gr->util_gpu;
                                sr->util_source = GPU_UTIL_NVML;
                                sr->has |= GPU_HAS_UTIL_GPU;
                        }
                } else {
                        nvmlMemory_t mem = {0};
                        rc = NVML_CALL(&ctx->lib, NVML_SYM_MEMORY_INFO, nvml_device_memory_fn, h,
                                       &mem);
                        if (rc == NVML_SUCCESS) {
                                sr->memory_used = mem.used;
                                sr->memory_total = mem.total;
                                sr->has |= GPU_HAS_MEMORY;
                        } else if (check_fatal(ctx, gr, "MIG device memory", rc)) {
                                continue;
                        }
                        if (g->gpm_supported)
                                sample_gpm(ctx, k, ctx->dev[sl->gpu],
                                           g->mig[sl->mig].gpu_instance_id, sr);
                }
                rc = read_procs(ctx, NVML_SYM_COMPUTE_PROCS, h, k, sr->first_proc, &pv, &err);
                if (check_fatal(ctx, gr, "process list", rc))
                        continue;
                if (err == 0) {
                        rc = read_procs(ctx, NVML_SYM_GRAPHICS_PROCS, h, k, sr->first_proc, &pv,
                                        &err);
                        (void)check_fatal(ctx, gr, "process list", rc);
                }
                sr->n_procs = pv.n - sr->first_proc;
        }
        if (err < 0) {
                free(pv.v);
                gpu_sample_free(s);
                return err;
        }
        s->procs = pv.v;
        s->n_procs = pv.n;
        s->nvml_calls = ctx->lib.calls - calls0;
        *ret = s;
        return 0;
}

struct gpu_sample *gpu_sample_free(struct gpu_sample *s)
{
        if (!s)
                return NULL;
        free(s->gpus);
        free(s->slots);
        free(s->procs);
        free(s);
        return NULL;
}
