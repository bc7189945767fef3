/* SPDX-License-Identifier: MIT */
/*
 * cuda-probe.c - calls cuInit(0) twice and cudaGetDeviceCount once, setting
 * errno to 1234 before each call, and prints one line per call on stdout:
 *     cuInit=R errno=E
 *     cuInit=R errno=E
 *     cudaGetDeviceCount=R count=N errno=E
 * (count=-1: left unwritten). Built three ways (tests/preload/CMakeLists.txt):
 *   cuda-probe          linked against libfakecuda.so (the usual program);
 *   cuda-probe-nocuda   linked against the preload library alone: no CUDA;
 *   cuda-probe-dlopen   (PROBE_DLOPEN) calls through libcudauser.so, argv[1],
 *                       dlopen'ed with RTLD_LOCAL.
 */
#include <errno.h>
#include <stdio.h>

#ifdef PROBE_DLOPEN
#include <dlfcn.h>
#else
int cuInit(unsigned int flags);
int cudaGetDeviceCount(int *count);
#endif

int main(int argc, char **argv)
{
        int (*init)(unsigned int);
        int (*device_count)(int *);
        int r, e, count = -1;

#ifdef PROBE_DLOPEN
        void *h;

        if (argc != 2) {
                fprintf(stderr, "usage: %s LIBCUDAUSER\n", argv[0]);
                return 2;
        }
        h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                fprintf(stderr, "cuda-probe: %s\n", dlerror());
                return 1;
        }
        init = (int (*)(unsigned int))dlsym(h, "cudauser_init");
        device_count = (int (*)(int *))dlsym(h, "cudauser_device_count");
        if (!init || !device_count) {
                fprintf(stderr, "cuda-probe: %s lacks the cudauser functions\n", argv[1]);
                return 1;
        }
#else
        init = cuInit;
        device_count = cudaGetDeviceCount;
#endif

        for (int i = 0; i < 2; i++) {
                errno = 1234;
                r = init(0);
                e = errno;
                printf("cuInit=%d errno=%d\n", r, e);
        }
        errno = 1234;
        r = device_count(&count);
        e = errno;
        printf("cudaGetDeviceCount=%d count=%d errno=%d\n", r, count, e);
        return 0;
}
