/* SPDX-License-Identifier: MIT */
/* fuzz-poll.h - what the socket-driving fuzz harnesses (fuzz-control,
 * fuzz-docker-events) share. */
#pragma once

#include <errno.h>
#include <poll.h>
#include <time.h>

/* poll() for one descriptor, again after a signal (libFuzzer's SIGALRM for
 * -timeout interrupts it): > 0 ready, 0 timed out, < 0 error. */
static inline int poll_one(int fd, short events, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = events};
        struct timespec t0, t;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                long spent;
                r = poll(&p, 1, timeout_ms);
                if (r >= 0 || errno != EINTR)
                        return r;
                clock_gettime(CLOCK_MONOTONIC, &t);
                spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
                if (spent >= timeout_ms)
                        return 0;
                timeout_ms -= (int)spent;
                t0 = t;
        }
}
