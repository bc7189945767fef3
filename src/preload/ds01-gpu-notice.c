/* SPDX-License-Identifier: MIT */
/*
 * ds01-gpu-notice.c - libds01-gpu-notice.so, the LD_PRELOAD half of the login
 * deterrent. deploy/profile.d/ds01-gpu-awareness.sh sets CUDA_VISIBLE_DEVICES=""
 * in the interactive shells of users without a bare-metal grant and preloads
 * this library; when a program there then fails to initialise CUDA, the
 * library says once, on stderr, how to get a GPU the right way (a ds01
 * container). It is a notice, not a lock: it never changes what CUDA returns.
 *
 * It interposes two CUDA entry points by exporting functions with their names
 * and C ABI (CUresult and cudaError_t are int-sized enums):
 *   CUresult cuInit(unsigned int flags);             driver API, libcuda
 *   cudaError_t cudaGetDeviceCount(int *count);      runtime API, libcudart
 * Each wrapper looks the real function up with dlsym(RTLD_NEXT, name), calls
 * it and returns its result unchanged. It prints the notice when the result is
 * an error (or cudaGetDeviceCount found 0 devices) and CUDA was hidden by ds01
 * (CUDA_VISIBLE_DEVICES set and empty), or DS01_GPU_NOTICE_FORCE=1 (tests: any
 * failure); DS01_GPU_NOTICE_QUIET=1 silences it. Without a real function (no
 * CUDA library loaded) it answers "not initialized" (3) and the same rules apply.
 *
 * When RTLD_NEXT finds nothing, the caller may be a library dlopen'ed with
 * RTLD_LOCAL (a Python extension module linked against libcudart), whose CUDA
 * library is outside the global scope; the wrapper then looks the name up in
 * the caller's own dependency tree, as the dynamic linker would have.
 *
 * Rules for a library that sits in every process of a shell: no constructor,
 * no allocation or lock of our own (the lookups are dlsym/dlopen(RTLD_NOLOAD),
 * which fail safe), no sanitizer or coverage runtime (CMakeLists.txt); errno
 * as the real function left it; one write(2) of the whole message, at most
 * once per process (a fork()ed child that inherits "printed" stays quiet).
 * Everything but the two entry points is hidden.
 *
 * What it cannot see: programs that reach CUDA through a library handle
 * (dlopen("libcuda.so.1") + dlsym(handle, ...), cuGetProcAddress, ctypes, a
 * statically linked cudart) call the real functions directly and get no
 * notice; CUDA still sees no GPU there. Programs linked against libcudart
 * (PyTorch does) or libcuda resolve to these wrappers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DS01_EXPORT __attribute__((visibility("default")))

/* CUDA's values, without its headers (the build has none). */
#define CUDA_ERROR_NOT_INITIALIZED      3 /* CUresult */
#define CUDA_ERROR_INITIALIZATION_ERROR 3 /* cudaError_t: cudaErrorInitializationError */

/* The interposed entry points (no header: their declarations are CUDA's). */
DS01_EXPORT int cuInit(unsigned int flags);
DS01_EXPORT int cudaGetDeviceCount(int *count);

typedef int (*cu_init_fn)(unsigned int flags);
typedef int (*cuda_get_device_count_fn)(int *count);

static const char notice[] = "ds01: no GPU here: GPUs on this server are used through containers.\n"
                             "  Start one:   ds01 container deploy my-project --gpus 1\n"
                             "  Or ask an admin for bare-metal access (ds01 access status).\n";

static atomic_bool notice_printed;

static bool env_is(const char *name, const char *value)
{
        const char *v = getenv(name);

        return v && strcmp(v, value) == 0;
}

/* CUDA failed in this process: print the notice if ds01 hid the GPUs. */
static void cuda_failed(void)
{
        if (env_is("DS01_GPU_NOTICE_QUIET", "1"))
                return;
        if (!env_is("CUDA_VISIBLE_DEVICES", "") && !env_is("DS01_GPU_NOTICE_FORCE", "1"))
                return;
        if (atomic_exchange(&notice_printed, true))
                return;

        /* One write: the message stays whole between other threads' output. A
         * failed write (stderr closed) is ignored; errno is restored by the caller. */
        ssize_t n = write(STDERR_FILENO, notice, sizeof(notice) - 1);
        (void)n;
}

/* The next definition of @name after this library in the global scope, or
 * NULL. Looked up until found, then cached: lock-free, and two racing
 * lookups store the same pointer. Never one of our own wrappers (@self). */
static void *global_symbol(_Atomic(void *) *cache, const char *name, void *self)
{
        void *f = atomic_load_explicit(cache, memory_order_acquire);

        if (f)
                return f;
        f = dlsym(RTLD_NEXT, name);
        if (!f || f == self)
                return NULL;
        atomic_store_explicit(cache, f, memory_order_release);
        return f;
}

/* The definition of @name that the object containing @caller would have
 * bound to in its own dependency tree, or NULL. For callers dlopen'ed with
 * RTLD_LOCAL (Python extension modules linked against libcudart): their
 * CUDA library is not in the global scope, so RTLD_NEXT cannot see it, but
 * their reference to the symbol still binds to us (the global scope comes
 * first). Not cached: two such objects may carry different CUDA libraries. */
static void *caller_symbol(const void *caller, const char *name, void *self)
{
        Dl_info info;
        struct link_map *map = NULL;
        void *handle, *f;

        if (!dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
                return NULL;
        /* The executable (empty name) binds through the global scope: RTLD_NEXT. */
        if (!map->l_name || !map->l_name[0])
                return NULL;
        handle = dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (!handle)
                return NULL;
        f = dlsym(handle, name);
        dlclose(handle);
        return f == self ? NULL : f;
}

DS01_EXPORT int cuInit(unsigned int flags)
{
        static _Atomic(void *) real;
        int saved_errno = errno;
        cu_init_fn f = (cu_init_fn)global_symbol(&real, "cuInit", (void *)cuInit);
        int r;

        if (!f)
                f = (cu_init_fn)caller_symbol(__builtin_return_address(0), "cuInit",
                                              (void *)cuInit);

        if (f) {
                r = f(flags);
                saved_errno = errno;
        } else {
                r = CUDA_ERROR_NOT_INITIALIZED;
        }

        if (r != 0)
                cuda_failed();
        errno = saved_errno;
        return r;
}

DS01_EXPORT int cudaGetDeviceCount(int *count)
{
        static _Atomic(void *) real;
        int saved_errno = errno;
        cuda_get_device_count_fn f = (cuda_get_device_count_fn)global_symbol(
            &real, "cudaGetDeviceCount", (void *)cudaGetDeviceCount);
        int r;

        if (!f)
                f = (cuda_get_device_count_fn)caller_symbol(
                    __builtin_return_address(0), "cudaGetDeviceCount", (void *)cudaGetDeviceCount);

        if (f) {
                r = f(count);
                saved_errno = errno;
        } else {
                /* as libcudart does on failure */
                if (count)
                        *count = 0;
                r = CUDA_ERROR_INITIALIZATION_ERROR;
        }

        if (r != 0 || (count && *count == 0))
                cuda_failed();
        errno = saved_errno;
        return r;
}
