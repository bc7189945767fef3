/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * gpu.h - the GPUs as NVML sees them: topology (GPUs, MIG devices, slots with
 * their weights), sample rounds (utilization, memory, temperature, power,
 * clocks, ECC, PCIe, processes per slot), health and XID counters.
 *
 * NVML is loaded at run time (gpu/nvml-lib.h); a machine without it is a valid
 * CPU-only server: gpu_ctx_open() still succeeds, with topology->available
 * false and the reason in topology->reason.
 *
 * Not thread-safe: one context per thread, or a lock around it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/slots.h"

#define GPU_UUID_MAX    96
#define GPU_NAME_MAX    96
#define GPU_PCI_MAX     32
#define GPU_PROFILE_MAX 32
#define GPU_REASON_MAX  192
#define GPU_VERSION_MAX 80

/* Limits on what ds01 accepts from NVML (real servers: ≤ 16 GPUs, ≤ 7 MIG). */
#define GPU_MAX_GPUS           64
#define GPU_MAX_MIG_PER_GPU    8
#define GPU_MAX_PROCS_PER_CALL 4096

enum gpu_mig_mode {
        GPU_MIG_UNSUPPORTED = -1,
        GPU_MIG_DISABLED = 0,
        GPU_MIG_ENABLED = 1,
};

struct gpu_mig_device {
        unsigned index; /* D of slot "N.D": NVML's MIG device index on the parent */
        unsigned gpu_instance_id;
        unsigned compute_instance_id;
        char uuid[GPU_UUID_MAX];
        char profile[GPU_PROFILE_MAX]; /* as NVML names it, e.g. "1g.10gb" */
        unsigned gpu_instance_slices;
        unsigned compute_slices;
        uint64_t memory_total; /* bytes */
};

struct gpu_device {
        unsigned index;
        char uuid[GPU_UUID_MAX];
        char name[GPU_NAME_MAX];
        char pci_bus_id[GPU_PCI_MAX];
        uint64_t memory_total; /* bytes */
        enum gpu_mig_mode mig_current;
        enum gpu_mig_mode mig_pending; /* differs from current until the GPU is reset */
        unsigned total_slices;         /* MIG slices of the whole GPU; 0 without MIG */
        bool gpm_supported;            /* per-GPU-instance SM utilization (Hopper+) */
        bool healthy;
        char reason[GPU_REASON_MAX]; /* why not healthy */
        struct gpu_mig_device *mig;
        size_t n_mig;
};

enum gpu_slot_kind {
        GPU_SLOT_FULL,
        GPU_SLOT_MIG,
};

struct gpu_slot {
        char name[GPU_SLOT_NAME_MAX]; /* "N" or "N.D" */
        char uuid[GPU_UUID_MAX];      /* GPU-… or MIG-… */
        enum gpu_slot_kind kind;
        unsigned gpu;  /* index into topology->gpus */
        int mig;       /* index into gpus[gpu].mig, -1 for a full GPU */
        double weight; /* GPU-equivalents */
};

struct gpu_topology {
        bool available;              /* NVML loaded and initialized */
        char reason[GPU_REASON_MAX]; /* why not available */
        char driver_version[GPU_VERSION_MAX];
        char nvml_version[GPU_VERSION_MAX];
        int cuda_driver_version; /* e.g. 12040; 0 unknown */
        struct gpu_device *gpus;
        size_t n_gpus;
        struct gpu_slot *slots;
        size_t n_slots;
        double total_weight;
};

/* Which fields of a reading hold a value. */
enum {
        GPU_HAS_UTIL_GPU = 1u << 0,
        GPU_HAS_UTIL_MEM = 1u << 1,
        GPU_HAS_MEMORY = 1u << 2,
        GPU_HAS_TEMPERATURE = 1u << 3,
        GPU_HAS_POWER = 1u << 4,
        GPU_HAS_POWER_LIMIT = 1u << 5,
        GPU_HAS_ENERGY = 1u << 6,
        GPU_HAS_CLOCK_SM = 1u << 7,
        GPU_HAS_CLOCK_MEM = 1u << 8,
        GPU_HAS_ECC = 1u << 9,
        GPU_HAS_PCIE = 1u << 10,
};

struct gpu_reading {
        unsigned has; /* GPU_HAS_* */
        bool healthy;
        char reason[GPU_REASON_MAX];
        unsigned util_gpu;                  /* percent */
        unsigned util_mem;                  /* memory bandwidth, percent */
        uint64_t memory_used, memory_total; /* bytes */
        unsigned temperature_c;
        unsigned power_mw, power_limit_mw;
        uint64_t energy_mj; /* since driver load */
        unsigned clock_sm_mhz, clock_mem_mhz;
        uint64_t ecc_sbe_volatile, ecc_dbe_volatile;
        unsigned pcie_tx_kbs, pcie_rx_kbs;
        uint64_t xid_total; /* XID events seen since the context opened */
        unsigned long long last_xid;
};

enum gpu_util_source {
        GPU_UTIL_NONE, /* not measurable: MIG without GPM, or not sampled yet */
        GPU_UTIL_NVML, /* nvmlDeviceGetUtilizationRates of a full GPU */
        GPU_UTIL_GPM,  /* GPM SM utilization of the slot's GPU instance */
};

struct gpu_slot_reading {
        unsigned has; /* GPU_HAS_MEMORY, GPU_HAS_UTIL_GPU */
        enum gpu_util_source util_source;
        double util;                        /* percent, when GPU_HAS_UTIL_GPU */
        uint64_t memory_used, memory_total; /* bytes */
        size_t first_proc, n_procs;         /* range of sample->procs */
};

enum {
        GPU_PROC_COMPUTE = 1u << 0,
        GPU_PROC_GRAPHICS = 1u << 1,
};

#define GPU_MEMORY_UNKNOWN UINT64_MAX

struct gpu_process {
        unsigned pid;
        uint64_t used_memory; /* bytes, GPU_MEMORY_UNKNOWN when NVML does not say */
        unsigned type;        /* GPU_PROC_* */
        size_t slot;          /* index into topology->slots */
};

struct gpu_sample {
        uint64_t time_ns; /* CLOCK_REALTIME when the round started */
        struct gpu_reading *gpus;
        size_t n_gpus;
        struct gpu_slot_reading *slots;
        size_t n_slots;
        struct gpu_process *procs;
        size_t n_procs;
        unsigned long nvml_calls; /* NVML calls this round took */
};

struct gpu_ctx;

/*
 * Load NVML (library `path`, or NULL for $DS01_NVML_LIBRARY / libnvidia-ml.so.1),
 * initialize it and read the topology. Only -ENOMEM fails; without NVML the
 * context reports available = false with the reason.
 */
int gpu_ctx_open(const char *path, struct gpu_ctx **ret);
struct gpu_ctx *gpu_ctx_free(struct gpu_ctx *ctx);

/* Borrowed; valid until the next gpu_ctx_rescan() or gpu_ctx_free(). */
const struct gpu_topology *gpu_ctx_topology(const struct gpu_ctx *ctx);

/* Read the topology again (after a MIG change or a lost GPU). */
int gpu_ctx_rescan(struct gpu_ctx *ctx);

/* NVML calls made through this context so far. */
unsigned long gpu_ctx_nvml_calls(const struct gpu_ctx *ctx);

/* The NVML symbol bound for a family, by its plain name (e.g.
 * "nvmlDeviceGetComputeRunningProcesses"), for diagnostics and tests. */
const char *gpu_ctx_bound_symbol(const struct gpu_ctx *ctx, const char *plain_name);

/* Element size of compute process lists as measured (0 until a list with at
 * least one process was read). */
unsigned gpu_ctx_process_stride(const struct gpu_ctx *ctx);

/*
 * One sample round over every GPU and slot of the current topology. A GPU
 * that answers GPU_IS_LOST or an unknown error is marked unhealthy in the
 * reading, with the reason, and skipped for the rest of the round.
 */
int gpu_sample_take(struct gpu_ctx *ctx, struct gpu_sample **ret);
struct gpu_sample *gpu_sample_free(struct gpu_sample *s);

/* Free a topology (the context frees its own; for callers that build one). */
struct gpu_topology *gpu_topology_free(struct gpu_topology *t);

/* The slot named `name` ("3", "1.4"), or NULL. */
const struct gpu_slot *gpu_topology_find_slot(const struct gpu_topology *t, const char *name);

/* The slot with this UUID (GPU-… or MIG-…), or NULL. */
const struct gpu_slot *gpu_topology_find_uuid(const struct gpu_topology *t, const char *uuid);
