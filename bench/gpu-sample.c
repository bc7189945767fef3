/* SPDX-License-Identifier: MIT */
/*
 * gpu-sample.c - benchmark: how long ds01 takes to read the whole GPU
 * topology plus one full sample round, and how many NVML calls a round costs.
 *
 * Runs against whatever NVML $DS01_NVML_LIBRARY names (the fake library with
 * a topology fixture in tests; the real driver on a GPU server). Prints the
 * median of RUNS runs of (rescan + sample) and of a sample round alone, the
 * calls per round and per slot, and the ratio against the target
 * (2 ms) and against the old exporter's nvidia-smi scrape (15 s, the low end
 * of the 15-20 s the old scripts took). Never fails: figures only.
 *
 * Usage: bench-gpu-sample [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gpu/gpu.h"

#define TARGET_NS     2000000.0     /* issue 3: under 2 ms */
#define NVIDIA_SMI_NS 15000000000.0 /* old scrape: 15-20 s */

static double now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), cmp);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
        int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 51;
        struct gpu_ctx *ctx = NULL;
        double *full, *round_only;
        unsigned long calls_full = 0, calls_round = 0;
        const struct gpu_topology *t;

        if (runs < 1 || runs > 100000)
                runs = 51;
        full = calloc((size_t)runs, sizeof(*full));
        round_only = calloc((size_t)runs, sizeof(*round_only));
        if (!full || !round_only || gpu_ctx_open(NULL, &ctx) < 0)
                return 1;
        t = gpu_ctx_topology(ctx);
        if (!t->available) {
                printf("gpu-sample: %s\n", t->reason);
                return 0;
        }
        /* warm-up: GPM needs a previous sample; first calls fault in pages */
        for (int i = 0; i < 3; i++) {
                struct gpu_sample *s = NULL;
                gpu_sample_take(ctx, &s);
                gpu_sample_free(s);
        }
        for (int i = 0; i < runs; i++) {
                struct gpu_sample *s = NULL;
                unsigned long c0 = gpu_ctx_nvml_calls(ctx);
                double t0 = now_ns();
                if (gpu_ctx_rescan(ctx) < 0 || gpu_sample_take(ctx, &s) < 0)
                        return 1;
                full[i] = now_ns() - t0;
                calls_full = gpu_ctx_nvml_calls(ctx) - c0;
                gpu_sample_free(s);
        }
        for (int i = 0; i < runs; i++) {
                struct gpu_sample *s = NULL;
                double t0 = now_ns();
                if (gpu_sample_take(ctx, &s) < 0)
                        return 1;
                round_only[i] = now_ns() - t0;
                calls_round = s->nvml_calls;
                gpu_sample_free(s);
        }
        t = gpu_ctx_topology(ctx);
        double mf = median(full, runs), mr = median(round_only, runs);
        printf("gpu-sample: %zu GPUs, %zu slots, %d runs\n", t->n_gpus, t->n_slots, runs);
        printf("  topology + sample round: median %.3f ms  (%.2fx the 2 ms target; "
               "nvidia-smi scrape 15 s is %.0fx slower)\n",
               mf / 1e6, mf / TARGET_NS, NVIDIA_SMI_NS / mf);
        printf("  sample round alone:      median %.3f ms\n", mr / 1e6);
        printf("  NVML calls: %lu per topology + round, %lu per round, %.1f per slot per round\n",
               calls_full, calls_round, t->n_slots ? (double)calls_round / t->n_slots : 0.0);
        gpu_ctx_free(ctx);
        free(full);
        free(round_only);
        return 0;
}
