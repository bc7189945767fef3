/* SPDX-License-Identifier: MIT */
/*
 * fakenvml.h - the NVML functions libfakenvml.so exports, declared once so the
 * definitions in fakenvml.c have prototypes. Signatures are NVML's (see
 * gpu/nvml-api.h for the types). The legacy build (FAKENVML_LEGACY) exports no
 * _v2/_v3 names, no GPM functions and no nvmlEventSetWait_v2.
 */
#pragma once

#include "gpu/nvml-api.h"

#define FAKENVML_EXPORT __attribute__((visibility("default")))

FAKENVML_EXPORT nvmlReturn_t nvmlInit(void);
FAKENVML_EXPORT nvmlReturn_t nvmlShutdown(void);
FAKENVML_EXPORT const char *nvmlErrorString(nvmlReturn_t result);
FAKENVML_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
FAKENVML_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length);
FAKENVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid,
                                               unsigned int length);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name,
                                               unsigned int length);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                                  unsigned int *pendingMode);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device,
                                                            unsigned int *count);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device,
                                                                 unsigned int index,
                                                                 nvmlDevice_t *migDevice);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device,
                                                         unsigned int *isMigDevice);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device,
                                                     nvmlDeviceAttributes_t *attributes);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(
    nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t *info);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                           nvmlUtilization_t *utilization);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device,
                                                      nvmlTemperatureSensors_t sensorType,
                                                      unsigned int *temp);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device,
                                                             unsigned int *limit);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device,
                                                                 unsigned long long *energy);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type,
                                                    unsigned int *clock);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device,
                                                         nvmlMemoryErrorType_t errorType,
                                                         nvmlEccCounterType_t counterType,
                                                         unsigned long long *eccCounts);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t device,
                                                         nvmlPcieUtilCounter_t counter,
                                                         unsigned int *value);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device,
                                                                  unsigned int *infoCount,
                                                                  void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device,
                                                                   unsigned int *infoCount,
                                                                   void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set);
FAKENVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device,
                                                      unsigned long long eventTypes,
                                                      nvmlEventSet_t set);
FAKENVML_EXPORT nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data,
                                              unsigned int timeoutms);

#ifndef FAKENVML_LEGACY
FAKENVML_EXPORT nvmlReturn_t nvmlInit_v2(void);
FAKENVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                           nvmlDevice_t *device);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device,
                                                        nvmlDeviceAttributes_t *attributes);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                                     unsigned int *infoCount,
                                                                     void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device,
                                                                     unsigned int *infoCount,
                                                                     void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device,
                                                                      unsigned int *infoCount,
                                                                      void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device,
                                                                      unsigned int *infoCount,
                                                                      void *infos);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device,
                                                       nvmlGpmSupport_t *gpmSupport);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *gpmSample);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t gpmSample);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t gpmSample);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpuInstanceId,
                                                 nvmlGpmSample_t gpmSample);
FAKENVML_EXPORT nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *metricsGet);
FAKENVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data,
                                                 unsigned int timeoutms);
#endif
