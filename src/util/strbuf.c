/* strbuf.c - growable, always NUL-terminated byte buffers with a hard ceiling.
 *
 * Every append first works out how much room it needs, checks it against the
 * ceiling the buffer was created with (-E2BIG) and against size_t overflow, and
 * only then grows the allocation and copies; so a failed append leaves the
 * buffer exactly as it was. Growth doubles the allocation but never allocates
 * more than max + 1 bytes (the content plus its NUL). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

void strbuf_init(struct strbuf *sb, size_t max)
{
        *sb = (struct strbuf){.max = max};
}

void strbuf_release(struct strbuf *sb)
{
        if (!sb)
                return;
        free(sb->buf);
        strbuf_init(sb, sb->max);
}

void strbuf_reset(struct strbuf *sb)
{
        sb->len = 0;
        if (sb->buf)
                sb->buf[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. Changes nothing on failure. */
static int strbuf_reserve(struct strbuf *sb, size_t n)
{
        size_t need, cap, limit;
        char *p;

        if (sb->len > sb->max || n > sb->max - sb->len)
                return -E2BIG;
        need = sb->len + n;
        if (need == SIZE_MAX) /* no room for the NUL */
                return -ENOMEM;
        need++;
        if (sb->buf && need <= sb->cap)
                return 0;

        /* Double, at least 64 bytes, never more than max + 1. */
        limit = sb->max == SIZE_MAX ? SIZE_MAX : sb->max + 1;
        cap = sb->cap > SIZE_MAX / 2 ? SIZE_MAX : sb->cap * 2;
        cap = MAX(cap, (size_t)64);
        cap = MIN(cap, limit);
        cap = MAX(cap, need);

        p = realloc(sb->buf, cap);
        if (!p)
                return -ENOMEM;
        if (!sb->buf)
                p[0] = '\0';
        sb->buf = p;
        sb->cap = cap;
        return 0;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t n)
{
        size_t off = SIZE_MAX;
        int r;

        if (n == 0)
                return sb->len <= sb->max ? 0 : -E2BIG;

        /* data may point into our own buffer, which realloc may move. */
        if (sb->buf && (const char *)data >= sb->buf && (const char *)data < sb->buf + sb->cap)
                off = (size_t)((const char *)data - sb->buf);

        r = strbuf_reserve(sb, n);
        if (r < 0)
                return r;
        if (off != SIZE_MAX)
                data = sb->buf + off;

        memmove(sb->buf + sb->len, data, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
        return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
        return strbuf_append(sb, s, strlen(s));
}

int strbuf_putc(struct strbuf *sb, char c)
{
        return strbuf_append(sb, &c, 1);
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strbuf_vprintf(sb, fmt, ap);
        va_end(ap);
        return r;
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
        va_list aq;
        char *tail;
        int k, r;

        /* Measure first, so that a refused append changes nothing. */
        va_copy(aq, ap);
        k = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (k < 0)
                return -EINVAL;
        if (k == 0)
                return 0;

        r = strbuf_reserve(sb, (size_t)k);
        if (r < 0)
                return r;

        tail = sb->buf + sb->len;
        if (vsnprintf(tail, (size_t)k + 1, fmt, ap) != k) {
                /* Cannot happen with the same arguments; restore the NUL. */
                *tail = '\0';
                return -EINVAL;
        }
        sb->len += (size_t)k;
        return 0;
}

const char *strbuf_str(const struct strbuf *sb)
{
        return sb->buf ? sb->buf : "";
}

char *strbuf_steal(struct strbuf *sb)
{
        char *p;

        if (!sb->buf)
                return strdup("");
        p = sb->buf;
        strbuf_init(sb, sb->max);
        return p;
}
