/* SPDX-License-Identifier: MIT */
/*
 * gpu-poll.c - test tool: open the GPUs once and take a sample round every
 * INTERVAL milliseconds, printing one line per round:
 *
 *   round=N start_ns=T slots=S gpu0_util=U procs=P healthy=H
 *
 * start_ns is CLOCK_REALTIME when the round began, so a test can tell which
 * rounds started after it changed the fake NVML fixture. Runs ROUNDS rounds,
 * or until stdin reaches end of file when ROUNDS is 0.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu/gpu.h"

static uint64_t realtime_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
        struct gpu_ctx *ctx = NULL;
        long interval, rounds;
        char *end;

        if (argc != 3) {
                fprintf(stderr, "usage: gpu-poll INTERVAL_MS ROUNDS\n");
                return 2;
        }
        interval = strtol(argv[1], &end, 10);
        if (*end || interval <= 0)
                return 2;
        rounds = strtol(argv[2], &end, 10);
        if (*end || rounds < 0)
                return 2;
        if (gpu_ctx_open(NULL, &ctx) < 0)
                return 1;
        if (!gpu_ctx_topology(ctx)->available) {
                fprintf(stderr, "%s\n", gpu_ctx_topology(ctx)->reason);
                gpu_ctx_free(ctx);
                return 1;
        }
        for (long n = 1; rounds == 0 || n <= rounds; n++) {
                struct gpu_sample *s = NULL;
                uint64_t start = realtime_ns();
                size_t healthy = 0;
                struct pollfd p = {.fd = 0, .events = POLLIN};

                if (gpu_sample_take(ctx, &s) < 0)
                        break;
                for (size_t i = 0; i < s->n_gpus; i++)
                        healthy += s->gpus[i].healthy;
                printf("round=%ld start_ns=%llu slots=%zu gpu0_util=%d procs=%zu healthy=%zu\n", n,
                       (unsigned long long)start, s->n_slots,
                       s->n_gpus > 0 && (s->gpus[0].has & GPU_HAS_UTIL_GPU)
                           ? (int)s->gpus[0].util_gpu
                           : -1,
                       s->n_procs, healthy);
                fflush(stdout);
                gpu_sample_free(s);
                /* the polling interval; end of stdin stops early */
                if (poll(&p, 1, (int)interval) > 0) {
                        char buf[64];
                        if (read(0, buf, sizeof(buf)) <= 0)
                                break;
                }
        }
        gpu_ctx_free(ctx);
        return 0;
}
