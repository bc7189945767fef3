/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * nvml-lib.h - the loaded NVML library: dlopen, symbol lookup with fallback to
 * older symbol versions, and a count of every NVML call made. Internal to
 * src/gpu; the rest of ds01 uses gpu/gpu.h.
 */
#include <stdbool.h>
#include <stddef.h>

#include "gpu/nvml-api.h"

/* Symbol families; each has up to three names, newest first. */
enum nvml_sym {
        NVML_SYM_INIT,
        NVML_SYM_SHUTDOWN,
        NVML_SYM_ERROR_STRING,
        NVML_SYM_DRIVER_VERSION,
        NVML_SYM_NVML_VERSION,
        NVML_SYM_CUDA_VERSION,
        NVML_SYM_DEVICE_COUNT,
        NVML_SYM_HANDLE_BY_INDEX,
        NVML_SYM_UUID,
        NVML_SYM_NAME,
        NVML_SYM_PCI_INFO,
        NVML_SYM_MEMORY_INFO,
        NVML_SYM_MIG_MODE,
        NVML_SYM_MAX_MIG_COUNT,
        NVML_SYM_MIG_HANDLE_BY_INDEX,
        NVML_SYM_GPU_INSTANCE_ID,
        NVML_SYM_COMPUTE_INSTANCE_ID,
        NVML_SYM_ATTRIBUTES,
        NVML_SYM_GI_PROFILE_INFO,
        NVML_SYM_UTILIZATION,
        NVML_SYM_TEMPERATURE,
        NVML_SYM_POWER_USAGE,
        NVML_SYM_POWER_LIMIT,
        NVML_SYM_ENERGY,
        NVML_SYM_CLOCK,
        NVML_SYM_ECC,
        NVML_SYM_PCIE,
        NVML_SYM_COMPUTE_PROCS,
        NVML_SYM_GRAPHICS_PROCS,
        NVML_SYM_GPM_SUPPORT,
        NVML_SYM_GPM_ALLOC,
        NVML_SYM_GPM_FREE,
        NVML_SYM_GPM_MIG_SAMPLE,
        NVML_SYM_GPM_METRICS,
        NVML_SYM_EVENT_CREATE,
        NVML_SYM_EVENT_FREE,
        NVML_SYM_REGISTER_EVENTS,
        NVML_SYM_EVENT_WAIT,
        _NVML_SYM_MAX,
};

#define NVML_SYM_NAMES_MAX 3

struct nvml_lib {
        void *dl;
        void *fn[_NVML_SYM_MAX];
        /* Which name of the family is bound: 0 = newest; -1 = none. */
        int level[_NVML_SYM_MAX];
        unsigned long calls;
};

/*
 * Open the library at `path` (NULL: $DS01_NVML_LIBRARY, else libnvidia-ml.so.1)
 * and resolve every symbol family. Does not call nvmlInit. On failure returns
 * -ENOENT (library absent) or -ENOEXEC (no nvmlInit in it) and writes a
 * one-line reason into `reason`.
 */
int nvml_lib_open(struct nvml_lib *lib, const char *path, char *reason, size_t reason_size);
void nvml_lib_close(struct nvml_lib *lib);

/* The name bound for a family, or NULL. */
const char *nvml_lib_bound_name(const struct nvml_lib *lib, enum nvml_sym sym);

/* Move a family to its next older name after the current one answered
 * NVML_ERROR_FUNCTION_NOT_FOUND. Returns false when there is none. */
bool nvml_lib_demote(struct nvml_lib *lib, enum nvml_sym sym);

/* NVML's text for an error code (NVML's own nvmlErrorString when bound). */
const char *nvml_lib_strerror(struct nvml_lib *lib, nvmlReturn_t r);

/*
 * Call a symbol family: counts the call, and when the bound version answers
 * NVML_ERROR_FUNCTION_NOT_FOUND falls back to the next older name and retries.
 * An unbound family answers NVML_ERROR_FUNCTION_NOT_FOUND without a call.
 */
#define NVML_CALL(lib, sym, fntype, ...)                                                           \
        ({                                                                                         \
                nvmlReturn_t _r;                                                                   \
                for (;;) {                                                                         \
                        fntype _f = (fntype)(lib)->fn[sym];                                        \
                        if (!_f) {                                                                 \
                                _r = NVML_ERROR_FUNCTION_NOT_FOUND;                                \
                                break;                                                             \
                        }                                                                          \
                        (lib)->calls++;                                                            \
                        _r = _f(__VA_ARGS__);                                                      \
                        if (_r != NVML_ERROR_FUNCTION_NOT_FOUND || !nvml_lib_demote(lib, sym))     \
                                break;                                                             \
                }                                                                                  \
                _r;                                                                                \
        })
