/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * gpu-health.h - ds01d when a GPU stops answering NVML and when it comes
 * back (gpu-health.c; the decisions are in gpu-health-decide.h).
 */

struct ds01d;

/* After every GPU sample, on the main thread (d->slots and d->gpus hold the
 * new readings): announce GPUs that changed, tell their holders. Takes
 * d->lock itself. */
void gpu_health_update(struct ds01d *d);
