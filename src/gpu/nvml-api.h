/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The part of the NVML C API that ds01 uses, declared here so that ds01 builds
 * without NVIDIA's nvml.h and loads libnvidia-ml.so.1 with dlopen at run time.
 *
 * Values and layouts follow NVML's public ABI (NVML API reference, nvml.h of
 * CUDA 11.0 to 12.x). Structs whose layout changed between driver versions are
 * declared in their largest form and read defensively: see gpu/nvml.c for the
 * PCI info and the process list.
 *
 * tests/fakenvml implements these same symbols; both sides include this header.
 */

typedef enum {
        NVML_SUCCESS = 0,
        NVML_ERROR_UNINITIALIZED = 1,
        NVML_ERROR_INVALID_ARGUMENT = 2,
        NVML_ERROR_NOT_SUPPORTED = 3,
        NVML_ERROR_NO_PERMISSION = 4,
        NVML_ERROR_ALREADY_INITIALIZED = 5,
        NVML_ERROR_NOT_FOUND = 6,
        NVML_ERROR_INSUFFICIENT_SIZE = 7,
        NVML_ERROR_INSUFFICIENT_POWER = 8,
        NVML_ERROR_DRIVER_NOT_LOADED = 9,
        NVML_ERROR_TIMEOUT = 10,
        NVML_ERROR_IRQ_ISSUE = 11,
        NVML_ERROR_LIBRARY_NOT_FOUND = 12,
        NVML_ERROR_FUNCTION_NOT_FOUND = 13,
        NVML_ERROR_CORRUPTED_INFOROM = 14,
        NVML_ERROR_GPU_IS_LOST = 15,
        NVML_ERROR_RESET_REQUIRED = 16,
        NVML_ERROR_OPERATING_SYSTEM = 17,
        NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
        NVML_ERROR_IN_USE = 19,
        NVML_ERROR_MEMORY = 20,
        NVML_ERROR_NO_DATA = 21,
        NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
        NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
        NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
        NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
        NVML_ERROR_DEPRECATED = 26,
        NVML_ERROR_NOT_READY = 27,
        NVML_ERROR_GPU_NOT_FOUND = 28,
        NVML_ERROR_INVALID_STATE = 29,
        NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlEventSet_st *nvmlEventSet_t;
typedef struct nvmlGpmSample_st *nvmlGpmSample_t;

/* Buffer sizes NVML documents for its string getters. */
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE        96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE        96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE   80
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE     32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE  16

/* "Not available" marker NVML uses in 64-bit fields (process memory on WDDM). */
#define NVML_VALUE_NOT_AVAILABLE_ULL 0xffffffffffffffffULL

/*
 * nvmlDeviceGetPciInfo_v3 fills this layout. The _v2 and plain functions fill
 * the older one, in which the bus id sits where busIdLegacy is and the tail
 * holds reserved words; reading busIdLegacy after them is correct.
 */
typedef struct {
        char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
        unsigned int domain;
        unsigned int bus;
        unsigned int device;
        unsigned int pciDeviceId;
        unsigned int pciSubSystemId;
        char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct {
        unsigned long long total;
        unsigned long long free;
        unsigned long long used;
} nvmlMemory_t;

typedef struct {
        unsigned int gpu;
        unsigned int memory;
} nvmlUtilization_t;

/*
 * Process list elements. The element size the driver writes is 16 (plain
 * functions), 24 (_v2, and _v3 of most drivers) or 32 (_v3 of drivers built
 * with the CUDA 12.1 header, which added usedGpuCcProtectedMemory). ds01
 * measures it per call (gpu_detect_process_stride) instead of trusting one.
 */
typedef struct {
        unsigned int pid;
        unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct {
        unsigned int pid;
        unsigned long long usedGpuMemory;
        unsigned int gpuInstanceId;
        unsigned int computeInstanceId;
} nvmlProcessInfo_v2_t;

typedef struct {
        unsigned int pid;
        unsigned long long usedGpuMemory;
        unsigned int gpuInstanceId;
        unsigned int computeInstanceId;
        unsigned long long usedGpuCcProtectedMemory;
} nvmlProcessInfo_v3_t;

/* nvmlDeviceGetAttributes_v2; the plain function fills only the first six. */
typedef struct {
        unsigned int multiprocessorCount;
        unsigned int sharedCopyEngineCount;
        unsigned int sharedDecoderCount;
        unsigned int sharedEncoderCount;
        unsigned int sharedJpegCount;
        unsigned int sharedOfaCount;
        unsigned int gpuInstanceSliceCount;
        unsigned int computeInstanceSliceCount;
        unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

#define NVML_GPU_INSTANCE_PROFILE_1_SLICE      0x0
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE      0x1
#define NVML_GPU_INSTANCE_PROFILE_3_SLICE      0x2
#define NVML_GPU_INSTANCE_PROFILE_4_SLICE      0x3
#define NVML_GPU_INSTANCE_PROFILE_7_SLICE      0x4
#define NVML_GPU_INSTANCE_PROFILE_8_SLICE      0x5
#define NVML_GPU_INSTANCE_PROFILE_6_SLICE      0x6
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 0x7
#define NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 0x8
#define NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 0x9
#define NVML_GPU_INSTANCE_PROFILE_COUNT        0xA

typedef struct {
        unsigned int id;
        unsigned int isP2pSupported;
        unsigned int sliceCount;
        unsigned int instanceCount;
        unsigned int multiprocessorCount;
        unsigned int copyEngineCount;
        unsigned int decoderCount;
        unsigned int encoderCount;
        unsigned int jpegCount;
        unsigned int ofaCount;
        unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

#define NVML_DEVICE_MIG_DISABLE 0
#define NVML_DEVICE_MIG_ENABLE  1

typedef enum { NVML_TEMPERATURE_GPU = 0 } nvmlTemperatureSensors_t;

typedef enum {
        NVML_CLOCK_GRAPHICS = 0,
        NVML_CLOCK_SM = 1,
        NVML_CLOCK_MEM = 2,
        NVML_CLOCK_VIDEO = 3,
} nvmlClockType_t;

typedef enum {
        NVML_MEMORY_ERROR_TYPE_CORRECTED = 0,
        NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1,
} nvmlMemoryErrorType_t;

typedef enum {
        NVML_VOLATILE_ECC = 0,
        NVML_AGGREGATE_ECC = 1,
} nvmlEccCounterType_t;

typedef enum {
        NVML_PCIE_UTIL_TX_BYTES = 0,
        NVML_PCIE_UTIL_RX_BYTES = 1,
} nvmlPcieUtilCounter_t;

/* Events. nvmlEventSetWait (before _v2) fills only the first three fields. */
#define nvmlEventTypeXidCriticalError 0x0000000000000008ULL

typedef struct {
        nvmlDevice_t device;
        unsigned long long eventType;
        unsigned long long eventData;
        unsigned int gpuInstanceId;
        unsigned int computeInstanceId;
} nvmlEventData_t;

/* GPU performance monitoring (Hopper and later). */
#define NVML_GPM_METRIC_SM_UTIL      2
#define NVML_GPM_METRICS_GET_VERSION 1
#define NVML_GPM_SUPPORT_VERSION     1
/* NVML reads numMetrics entries; ds01 asks for one, so a short array is enough. */
#define DS01_GPM_METRICS_MAX 4

typedef struct {
        unsigned int version;
        unsigned int isSupportedDevice;
} nvmlGpmSupport_t;

typedef struct {
        unsigned int metricId;
        nvmlReturn_t nvmlReturn;
        double value;
        struct {
                char *shortName;
                char *longName;
                char *unit;
        } metricInfo;
} nvmlGpmMetric_t;

typedef struct {
        unsigned int version;
        unsigned int numMetrics;
        nvmlGpmSample_t sample1;
        nvmlGpmSample_t sample2;
        nvmlGpmMetric_t metrics[DS01_GPM_METRICS_MAX];
} nvmlGpmMetricsGet_t;

/*
 * Function types, one per symbol family. Versioned symbols (_v2, _v3) share the
 * type of their plain form unless the struct they fill differs.
 */
typedef nvmlReturn_t (*nvml_init_fn)(void);
typedef nvmlReturn_t (*nvml_shutdown_fn)(void);
typedef const char *(*nvml_error_string_fn)(nvmlReturn_t result);
typedef nvmlReturn_t (*nvml_system_string_fn)(char *buf, unsigned int length);
typedef nvmlReturn_t (*nvml_system_cuda_version_fn)(int *version);
typedef nvmlReturn_t (*nvml_device_count_fn)(unsigned int *count);
typedef nvmlReturn_t (*nvml_device_by_index_fn)(unsigned int index, nvmlDevice_t *device);
typedef nvmlReturn_t (*nvml_device_string_fn)(nvmlDevice_t device, char *buf, unsigned int length);
typedef nvmlReturn_t (*nvml_device_pci_fn)(nvmlDevice_t device, nvmlPciInfo_t *pci);
typedef nvmlReturn_t (*nvml_device_memory_fn)(nvmlDevice_t device, nvmlMemory_t *memory);
typedef nvmlReturn_t (*nvml_device_mig_mode_fn)(nvmlDevice_t device, unsigned int *current,
                                                unsigned int *pending);
typedef nvmlReturn_t (*nvml_device_uint_fn)(nvmlDevice_t device, unsigned int *value);
typedef nvmlReturn_t (*nvml_device_ull_fn)(nvmlDevice_t device, unsigned long long *value);
typedef nvmlReturn_t (*nvml_device_mig_by_index_fn)(nvmlDevice_t device, unsigned int index,
                                                    nvmlDevice_t *mig);
typedef nvmlReturn_t (*nvml_device_attributes_fn)(nvmlDevice_t device,
                                                  nvmlDeviceAttributes_t *attributes);
typedef nvmlReturn_t (*nvml_device_gi_profile_fn)(nvmlDevice_t device, unsigned int profile,
                                                  nvmlGpuInstanceProfileInfo_t *info);
typedef nvmlReturn_t (*nvml_device_utilization_fn)(nvmlDevice_t device,
                                                   nvmlUtilization_t *utilization);
typedef nvmlReturn_t (*nvml_device_temperature_fn)(nvmlDevice_t device,
                                                   nvmlTemperatureSensors_t sensor,
                                                   unsigned int *temp);
typedef nvmlReturn_t (*nvml_device_clock_fn)(nvmlDevice_t device, nvmlClockType_t type,
                                             unsigned int *mhz);
typedef nvmlReturn_t (*nvml_device_ecc_fn)(nvmlDevice_t device, nvmlMemoryErrorType_t error_type,
                                           nvmlEccCounterType_t counter_type,
                                           unsigned long long *count);
typedef nvmlReturn_t (*nvml_device_pcie_fn)(nvmlDevice_t device, nvmlPcieUtilCounter_t counter,
                                            unsigned int *value);
/* infos points at count elements of the size the symbol version writes. */
typedef nvmlReturn_t (*nvml_device_processes_fn)(nvmlDevice_t device, unsigned int *count,
                                                 void *infos);
typedef nvmlReturn_t (*nvml_gpm_support_fn)(nvmlDevice_t device, nvmlGpmSupport_t *support);
typedef nvmlReturn_t (*nvml_gpm_sample_alloc_fn)(nvmlGpmSample_t *sample);
typedef nvmlReturn_t (*nvml_gpm_sample_free_fn)(nvmlGpmSample_t sample);
typedef nvmlReturn_t (*nvml_gpm_mig_sample_get_fn)(nvmlDevice_t device,
                                                   unsigned int gpu_instance_id,
                                                   nvmlGpmSample_t sample);
typedef nvmlReturn_t (*nvml_gpm_metrics_get_fn)(nvmlGpmMetricsGet_t *metrics);
typedef nvmlReturn_t (*nvml_event_set_create_fn)(nvmlEventSet_t *set);
typedef nvmlReturn_t (*nvml_event_set_free_fn)(nvmlEventSet_t set);
typedef nvmlReturn_t (*nvml_register_events_fn)(nvmlDevice_t device, unsigned long long types,
                                                nvmlEventSet_t set);
typedef nvmlReturn_t (*nvml_event_set_wait_fn)(nvmlEventSet_t set, nvmlEventData_t *data,
                                               unsigned int timeout_ms);
