/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * slots.h - pure helpers of the GPU model: slot names ("N", "N.D"), slot
 * weights in GPU-equivalents, MIG profile names, and the element size of an
 * NVML process list. No I/O, no NVML calls; unit-tested as tables.
 */
#include <stdbool.h>
#include <stddef.h>

/* Longest slot name: "4294967295.4294967295" + NUL. */
#define GPU_SLOT_NAME_MAX 24

/* Write "N" (mig < 0) or "N.D". Returns 0, or -ENOBUFS. */
int gpu_slot_format(char *buf, size_t size, unsigned gpu, int mig);

/* Parse "N" or "N.D" (decimal, no sign, no leading zeros except "0", no
 * spaces). Returns 0 with *ret_mig = -1 for a full GPU, or -EINVAL. */
int gpu_slot_parse(const char *s, unsigned *ret_gpu, int *ret_mig);

/*
 * Weight of a MIG device in GPU-equivalents: its compute slices over the
 * parent's total slices (1g of 7 → 1/7, 3g → 3/7, 7g → 1). Returns a value in
 * (0, 1], or -1 when the inputs make no sense (total 0, slices 0 or > total).
 */
double gpu_mig_weight(unsigned compute_slices, unsigned total_slices);

/*
 * The MIG profile out of a MIG device's NVML name ("NVIDIA A100-SXM4-40GB MIG
 * 1g.5gb" → "1g.5gb", "... MIG 1c.3g.20gb" → "1c.3g.20gb"). Returns 0, -ENOENT
 * when the name carries no profile, -ENOBUFS.
 */
int gpu_profile_from_name(const char *device_name, char *buf, size_t size);

/*
 * Slices named by a profile: "3g.20gb" → GPU-instance slices 3, compute 3;
 * "1c.3g.20gb" → GPU-instance 3, compute 1. For drivers without
 * nvmlDeviceGetAttributes_v2. Returns 0 or -EINVAL.
 */
int gpu_profile_slices(const char *profile, unsigned *ret_gi_slices, unsigned *ret_compute_slices);

/*
 * Element size NVML wrote into a process list. The caller filled the same
 * buffer of `size` bytes with two different byte patterns (a and b) before two
 * identical calls that both returned `count` elements: bytes NVML wrote are
 * equal in both copies, bytes it left alone differ. Returns 16, 24 or 32, or
 * -EPROTO when the written length fits none of them (then the caller keeps the
 * size of the symbol version it called).
 */
int gpu_detect_process_stride(const unsigned char *a, const unsigned char *b, size_t size,
                              unsigned count);

/* Byte patterns for gpu_detect_process_stride. */
#define GPU_STRIDE_PATTERN_A 0xa5
#define GPU_STRIDE_PATTERN_B 0x5a
