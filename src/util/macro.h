/* macro.h - small language helpers used everywhere: cleanup attributes, array
 * sizes, printf-format checking and ownership transfer. Knows nothing of ds01. */
#pragma once

#include <stdlib.h>

#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _pure_         __attribute__((pure))
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a)                                                                              \
        (__builtin_choose_expr(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&*(a))),    \
                               sizeof(a) / sizeof((a)[0]), (void)0))

/* Take ownership of a pointer: returns it and sets the variable to NULL, so a
 * _cleanup_ handler on the variable no longer frees it. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _ptr_ = (p);                                                         \
                (p) = NULL;                                                                        \
                _ptr_;                                                                             \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Free and return NULL, for `p = mfree(p);` */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p) /* NOLINT(bugprone-macro-parentheses): a type */       \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
