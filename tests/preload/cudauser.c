/* SPDX-License-Identifier: MIT */
/*
 * cudauser.c - libcudauser.so, linked against libfakecuda.so and dlopen'ed
 * with RTLD_LOCAL by cuda-probe-dlopen: the shape of a Python extension module
 * linked against libcudart. Its CUDA library is then outside the global scope,
 * where dlsym(RTLD_NEXT) cannot see it, while its references still bind to the
 * preloaded wrappers.
 */
#define CUDAUSER_EXPORT __attribute__((visibility("default")))

int cuInit(unsigned int flags);
int cudaGetDeviceCount(int *count);

CUDAUSER_EXPORT int cudauser_init(unsigned int flags);
CUDAUSER_EXPORT int cudauser_device_count(int *count);

CUDAUSER_EXPORT int cudauser_init(unsigned int flags)
{
        return cuInit(flags);
}

CUDAUSER_EXPORT int cudauser_device_count(int *count)
{
        return cudaGetDeviceCount(count);
}
