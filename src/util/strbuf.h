/* strbuf.h - growable byte buffers with a hard ceiling.
 *
 * Every buffer filled from outside (config files, Docker replies, HTTP
 * requests) is given its maximum size when it is created; an append that would
 * pass it fails with -E2BIG and leaves the buffer as it was. The content is
 * always NUL-terminated (the NUL is not counted in len nor in max). */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "util/macro.h"

struct strbuf {
        char *buf;  /* NUL-terminated; NULL until the first append */
        size_t len; /* bytes used, without the NUL */
        size_t cap; /* bytes allocated */
        size_t max; /* hard ceiling for len */
};

/* An empty buffer that may grow to max bytes. Allocates nothing. */
void strbuf_init(struct strbuf *sb, size_t max);
/* Frees the memory; the buffer is empty (same max) afterwards. NULL-safe. */
void strbuf_release(struct strbuf *sb);
/* len = 0, memory kept. */
void strbuf_reset(struct strbuf *sb);

/* Appends; 0 on success, -E2BIG past max, -ENOMEM. On failure nothing changes. */
int strbuf_append(struct strbuf *sb, const void *data, size_t n);
int strbuf_puts(struct strbuf *sb, const char *s);
int strbuf_putc(struct strbuf *sb, char c);
int strbuf_printf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);

/* The content, never NULL ("" when empty). Borrowed. */
const char *strbuf_str(const struct strbuf *sb);
/* Hands the content to the caller (caller frees; never NULL unless out of
 * memory) and leaves the buffer empty. */
char *strbuf_steal(struct strbuf *sb);

static inline void strbuf_releasep(struct strbuf *sb)
{
        strbuf_release(sb);
}
#define _cleanup_strbuf_ _cleanup_(strbuf_releasep)
