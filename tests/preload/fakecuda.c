/* SPDX-License-Identifier: MIT */
/*
 * fakecuda.c - libfakecuda.so, a stand-in for libcuda/libcudart in the tests
 * of the preload library (src/preload). It exports the two entry points the
 * library interposes, answering from the environment:
 *   FAKECUDA_RESULT  what both return (default 0, success; 100 = no device)
 *   FAKECUDA_COUNT   the device count on success (default 1)
 *   FAKECUDA_ERRNO   if set, errno after each call (to see that the wrapper
 *                    passes the real function's errno through)
 * Otherwise errno is left as the caller had it.
 */
#include <errno.h>
#include <stdlib.h>

#define FAKECUDA_EXPORT __attribute__((visibility("default")))

FAKECUDA_EXPORT int cuInit(unsigned int flags);
FAKECUDA_EXPORT int cudaGetDeviceCount(int *count);

/* $name as an int, or @def when unset or not a number. Leaves errno alone. */
static int env_int(const char *name, int def)
{
        const char *v = getenv(name);
        int saved_errno = errno;
        char *end;
        long n;

        if (!v || !*v)
                return def;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || n < -2147483647L || n > 2147483647L)
                n = def;
        errno = saved_errno;
        return (int)n;
}

static int answer(void)
{
        int r = env_int("FAKECUDA_RESULT", 0);

        if (getenv("FAKECUDA_ERRNO"))
                errno = env_int("FAKECUDA_ERRNO", 0);
        return r;
}

FAKECUDA_EXPORT int cuInit(unsigned int flags)
{
        return answer();
}

FAKECUDA_EXPORT int cudaGetDeviceCount(int *count)
{
        int r = answer();

        if (!count)
                return 1; /* cudaErrorInvalidValue */
        /* libcudart writes 0 on failure */
        *count = r == 0 ? env_int("FAKECUDA_COUNT", 1) : 0;
        return r;
}
