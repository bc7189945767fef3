/* SPDX-License-Identifier: MIT */
/*
 * nvml-lib.c - loading libnvidia-ml.so.1 at run time. Every NVML function ds01
 * uses belongs to a family of names, newest first (nvmlDeviceGetPciInfo_v3,
 * _v2, plain). The newest name the library exports is bound at open; a bound
 * name that answers NVML_ERROR_FUNCTION_NOT_FOUND (what the driver's loader
 * says for a function the installed driver lacks) is replaced by the next
 * older one on first use.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/nvml-lib.h"
#include "util/macro.h"

#define NVML_DEFAULT_LIBRARY "libnvidia-ml.so.1"

static const char *const sym_names[_NVML_SYM_MAX][NVML_SYM_NAMES_MAX] = {
    [NVML_SYM_INIT] = {"nvmlInit_v2", "nvmlInit"},
    [NVML_SYM_SHUTDOWN] = {"nvmlShutdown"},
    [NVML_SYM_ERROR_STRING] = {"nvmlErrorString"},
    [NVML_SYM_DRIVER_VERSION] = {"nvmlSystemGetDriverVersion"},
    [NVML_SYM_NVML_VERSION] = {"nvmlSystemGetNVMLVersion"},
    [NVML_SYM_CUDA_VERSION] = {"nvmlSystemGetCudaDriverVersion_v2",
                               "nvmlSystemGetCudaDriverVersion"},
    [NVML_SYM_DEVICE_COUNT] = {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"},
    [NVML_SYM_HANDLE_BY_INDEX] = {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"},
    [NVML_SYM_UUID] = {"nvmlDeviceGetUUID"},
    [NVML_SYM_NAME] = {"nvmlDeviceGetName"},
    [NVML_SYM_PCI_INFO] = {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2",
                           "nvmlDeviceGetPciInfo"},
    [NVML_SYM_MEMORY_INFO] = {"nvmlDeviceGetMemoryInfo"},
    [NVML_SYM_MIG_MODE] = {"nvmlDeviceGetMigMode"},
    [NVML_SYM_MAX_MIG_COUNT] = {"nvmlDeviceGetMaxMigDeviceCount"},
    [NVML_SYM_MIG_HANDLE_BY_INDEX] = {"nvmlDeviceGetMigDeviceHandleByIndex"},
    [NVML_SYM_GPU_INSTANCE_ID] = {"nvmlDeviceGetGpuInstanceId"},
    [NVML_SYM_COMPUTE_INSTANCE_ID] = {"nvmlDeviceGetComputeInstanceId"},
    [NVML_SYM_ATTRIBUTES] = {"nvmlDeviceGetAttributes_v2", "nvmlDeviceGetAttributes"},
    [NVML_SYM_GI_PROFILE_INFO] = {"nvmlDeviceGetGpuInstanceProfileInfo"},
    [NVML_SYM_UTILIZATION] = {"nvmlDeviceGetUtilizationRates"},
    [NVML_SYM_TEMPERATURE] = {"nvmlDeviceGetTemperature"},
    [NVML_SYM_POWER_USAGE] = {"nvmlDeviceGetPowerUsage"},
    [NVML_SYM_POWER_LIMIT] = {"nvmlDeviceGetEnforcedPowerLimit"},
    [NVML_SYM_ENERGY] = {"nvmlDeviceGetTotalEnergyConsumption"},
    [NVML_SYM_CLOCK] = {"nvmlDeviceGetClockInfo"},
    [NVML_SYM_ECC] = {"nvmlDeviceGetTotalEccErrors"},
    [NVML_SYM_PCIE] = {"nvmlDeviceGetPcieThroughput"},
    [NVML_SYM_COMPUTE_PROCS] = {"nvmlDeviceGetComputeRunningProcesses_v3",
                                "nvmlDeviceGetComputeRunningProcesses_v2",
                                "nvmlDeviceGetComputeRunningProcesses"},
    [NVML_SYM_GRAPHICS_PROCS] = {"nvmlDeviceGetGraphicsRunningProcesses_v3",
                                 "nvmlDeviceGetGraphicsRunningProcesses_v2",
                                 "nvmlDeviceGetGraphicsRunningProcesses"},
    [NVML_SYM_GPM_SUPPORT] = {"nvmlGpmQueryDeviceSupport"},
    [NVML_SYM_GPM_ALLOC] = {"nvmlGpmSampleAlloc"},
    [NVML_SYM_GPM_FREE] = {"nvmlGpmSampleFree"},
    [NVML_SYM_GPM_MIG_SAMPLE] = {"nvmlGpmMigSampleGet"},
    [NVML_SYM_GPM_METRICS] = {"nvmlGpmMetricsGet"},
    [NVML_SYM_EVENT_CREATE] = {"nvmlEventSetCreate"},
    [NVML_SYM_EVENT_FREE] = {"nvmlEventSetFree"},
    [NVML_SYM_REGISTER_EVENTS] = {"nvmlDeviceRegisterEvents"},
    [NVML_SYM_EVENT_WAIT] = {"nvmlEventSetWait_v2", "nvmlEventSetWait"},
};

/* Bind the first name at or after `from` that the library exports. */
static void bind_from(struct nvml_lib *lib, enum nvml_sym sym, int from)
{
        lib->fn[sym] = NULL;
        lib->level[sym] = -1;
        for (int i = from; i < NVML_SYM_NAMES_MAX && sym_names[sym][i]; i++) {
                void *f = dlsym(lib->dl, sym_names[sym][i]);
                if (f) {
                        lib->fn[sym] = f;
                        lib->level[sym] = i;
                        return;
                }
        }
}

int nvml_lib_open(struct nvml_lib *lib, const char *path, char *reason, size_t reason_size)
{
        const char *env = getenv("DS01_NVML_LIBRARY");
        const char *p = path ? path : (env && *env ? env : NVML_DEFAULT_LIBRARY);

        memset(lib, 0, sizeof(*lib));
        dlerror();
        lib->dl = dlopen(p, RTLD_NOW | RTLD_LOCAL);
        if (!lib->dl) {
                const char *e = dlerror();
                if (strcmp(p, NVML_DEFAULT_LIBRARY) == 0)
                        snprintf(reason, reason_size, "%s not found (no NVIDIA driver?)",
                                 NVML_DEFAULT_LIBRARY);
                else
                        snprintf(reason, reason_size, "cannot load %s: %s", p,
                                 e ? e : "unknown error");
                return -ENOENT;
        }
        for (int s = 0; s < _NVML_SYM_MAX; s++)
                bind_from(lib, s, 0);
        if (!lib->fn[NVML_SYM_INIT] || !lib->fn[NVML_SYM_SHUTDOWN]) {
                snprintf(reason, reason_size,
                         "%s has no nvmlInit/nvmlShutdown: not an NVML library", p);
                nvml_lib_close(lib);
                return -ENOEXEC;
        }
        return 0;
}

void nvml_lib_close(struct nvml_lib *lib)
{
        if (lib->dl)
                dlclose(lib->dl);
        memset(lib, 0, sizeof(*lib));
}

const char *nvml_lib_bound_name(const struct nvml_lib *lib, enum nvml_sym sym)
{
        if (sym >= _NVML_SYM_MAX || lib->level[sym] < 0 || !lib->fn[sym])
                return NULL;
        return sym_names[sym][lib->level[sym]];
}

bool nvml_lib_demote(struct nvml_lib *lib, enum nvml_sym sym)
{
        if (lib->level[sym] < 0)
                return false;
        bind_from(lib, sym, lib->level[sym] + 1);
        return lib->fn[sym] != NULL;
}

const char *nvml_lib_strerror(struct nvml_lib *lib, nvmlReturn_t r)
{
        const char *s = NULL;

        if (lib->fn[NVML_SYM_ERROR_STRING])
                s = ((nvml_error_string_fn)lib->fn[NVML_SYM_ERROR_STRING])(r);
        if (s)
                return s;
        switch (r) {
        case NVML_SUCCESS:
                return "Success";
        case NVML_ERROR_NOT_SUPPORTED:
                return "Not Supported";
        case NVML_ERROR_GPU_IS_LOST:
                return "GPU is lost";
        case NVML_ERROR_FUNCTION_NOT_FOUND:
                return "Function Not Found";
        case NVML_ERROR_DRIVER_NOT_LOADED:
                return "Driver Not Loaded";
        default:
                return "Unknown Error";
        }
}
