/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * gpu-health-decide.h - the pure part of a GPU going bad and coming back
 * (daemon/gpu-health.c does the I/O): each sample round folds every GPU's
 * health (does it answer NVML) into a small record per GPU, which says when
 * the GPU changed state, and the texts its holders get. No I/O, no clock:
 * the caller passes the time.
 *
 * Rules:
 * - healthy -> unhealthy is GPU_HEALTH_LOST, unhealthy -> healthy is
 *   GPU_HEALTH_RECOVERED, anything else GPU_HEALTH_SAME;
 * - the first reading of a GPU is compared with "healthy": a GPU that is
 *   already bad when ds01d starts is announced once (its holders are told
 *   again after a restart), a good one is not announced at all;
 * - `since` is when the current state was first seen; on a change
 *   *ret_lasted says how long the previous state lasted (0 when the first
 *   reading changed it).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gpu_health_change {
        GPU_HEALTH_SAME,
        GPU_HEALTH_LOST,      /* healthy (or not seen yet) -> unhealthy */
        GPU_HEALTH_RECOVERED, /* unhealthy -> healthy */
};

struct gpu_health_track {
        bool seen;     /* a reading was folded in */
        bool healthy;  /* as of the last reading */
        int64_t since; /* microseconds: the first reading of the current state */
};

/* Fold one reading (healthy at now, microseconds) into t. ret_lasted may be
 * NULL. */
enum gpu_health_change gpu_health_step(struct gpu_health_track *t, bool healthy, int64_t now,
                                       int64_t *ret_lasted);

/* The message for the holder of container (its slots, comma-separated, on
 * physical GPU gpu) when that GPU was lost (reason: NVML's words, may be
 * empty) or came back. Truncated to fit buf[n]; returns the length it
 * needed (snprintf's rule), or -EINVAL for GPU_HEALTH_SAME or n == 0. */
int gpu_health_holder_text(char *buf, size_t n, enum gpu_health_change c, unsigned gpu,
                           const char *reason, const char *container, const char *slots);
