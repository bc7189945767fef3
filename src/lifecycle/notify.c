/* SPDX-License-Identifier: MIT */
/*
 * notify.c - a message on every terminal a user is logged in on, like
 * write(1) from root.
 *
 * utmp is read with read(2) as an array of struct utmpx (getutxent() keeps
 * global state and is not thread-safe), at most UTMP_RECORDS_MAX records.
 * A terminal is written only when /dev/<ut_line> is a character device, a
 * tty, owned by the user's uid: it is checked with lstat() before it is
 * opened (so a stale or forged line never opens some other device), opened
 * O_NOFOLLOW | O_NONBLOCK, and checked again with fstat(). Each terminal
 * (by device number) is written once, with non-blocking writes: a terminal
 * that is not reading loses the message. The message is built once: the
 * header line, the text with '\n' as "\r\n", and every control character
 * (C0, DEL, C1 in UTF-8, bytes that are not UTF-8) but '\n' and '\t' as '?'.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#include "lifecycle/notify.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"

#define UTMP_DEFAULT     "/run/utmp"
#define DEV_DEFAULT      "/dev"
#define UTMP_RECORDS_MAX 65536 /* records looked at, ~24 MiB of utmp */
#define UTMP_CHUNK       64    /* records per read() */
#define NOTIFY_TEXT_MAX  4096  /* bytes of text */
/* every text byte may become two ("\r\n"); the header and the user name */
#define NOTIFY_MSG_MAX (2 * NOTIFY_TEXT_MAX + 512)

static void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Length of the UTF-8 sequence that starts with lead byte c, 0 if none. */
static size_t utf8_seq_len(unsigned char c)
{
        if (c >= 0xc2 && c <= 0xdf)
                return 2;
        if (c >= 0xe0 && c <= 0xef)
                return 3;
        if (c >= 0xf0 && c <= 0xf4)
                return 4;
        return 0;
}

/* Appends s[0..n) with control characters replaced by '?'. With text true,
 * '\n' becomes "\r\n" ("\r\n" in s too) and '\t' is kept; otherwise (a
 * name on the header line) both are '?'. */
static int append_sanitized(struct strbuf *sb, const char *s, size_t n, bool text)
{
        int r;

        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                size_t l;

                if (text && c == '\r' && i + 1 < n && s[i + 1] == '\n') {
                        i++;
                        continue;
                }
                if (text && c == '\n') {
                        r = strbuf_append(sb, "\r\n", 2);
                        i++;
                } else if (text && c == '\t') {
                        r = strbuf_putc(sb, '\t');
                        i++;
                } else if (c < 0x20 || c == 0x7f) {
                        r = strbuf_putc(sb, '?');
                        i++;
                } else if (c < 0x80) {
                        r = strbuf_putc(sb, (char)c);
                        i++;
                } else {
                        l = utf8_seq_len(c);
                        if (l == 0 || l > n - i || !utf8_valid(s + i, l, NULL)) {
                                /* not UTF-8: one byte at a time */
                                r = strbuf_putc(sb, '?');
                                i++;
                        } else if (c == 0xc2 && (unsigned char)s[i + 1] <= 0x9f) {
                                /* a C1 control (U+0080..U+009F), e.g. CSI */
                                r = strbuf_putc(sb, '?');
                                i += l;
                        } else {
                                r = strbuf_append(sb, s + i, l);
                                i += l;
                        }
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build_message(struct strbuf *sb, const char *user, const char *text)
{
        struct tm tm;
        time_t now = time(NULL);
        int r;

        if (!gmtime_r(&now, &tm))
                return -EOVERFLOW;
        r = strbuf_puts(sb, "\r\n\a*** ds01: message for ");
        if (r < 0)
                return r;
        r = append_sanitized(sb, user, strlen(user), false);
        if (r < 0)
                return r;
        r = strbuf_printf(sb, " at %02d:%02d UTC ***\r\n", tm.tm_hour, tm.tm_min);
        if (r < 0)
                return r;
        r = append_sanitized(sb, text, strlen(text), true);
        if (r < 0)
                return r;
        return strbuf_append(sb, "\r\n", 2);
}

/* A relative path of non-empty components, none "." or "..". */
static bool line_ok(const char *line, size_t n)
{
        const char *p = line, *end = line + n;

        if (n == 0 || line[0] == '/')
                return false;
        while (p <= end) {
                const char *s = memchr(p, '/', (size_t)(end - p));
                size_t len = s ? (size_t)(s - p) : (size_t)(end - p);

                if (len == 0 || (len == 1 && p[0] == '.') ||
                    (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (!s)
                        break;
                p = s + 1;
        }
        return true;
}

struct seen {
        dev_t *devs;
        size_t n;
        size_t cap;
};

static bool seen_has(const struct seen *s, dev_t d)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->devs[i] == d)
                        return true;
        return false;
}

static int seen_add(struct seen *s, dev_t d)
{
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8;
                dev_t *p = reallocarray(s->devs, cap, sizeof(dev_t));

                if (!p)
                        return -ENOMEM;
                s->devs = p;
                s->cap = cap;
        }
        s->devs[s->n++] = d;
        return 0;
}

/* Writes msg to the terminal of one utmp record when it is the user's.
 * 1 when written whole, 0 when skipped or lost, -ENOMEM. */
static int notify_one(const struct utmpx *u, const char *dev_root, const char *user, uid_t uid,
                      const struct strbuf *msg, struct seen *seen)
{
        _cleanup_close_ int fd = -1;
        char path[PATH_MAX];
        size_t ulen, llen, off = 0;
        struct stat st;
        int n, r;

        if (u->ut_type != USER_PROCESS)
                return 0;
        ulen = strnlen(u->ut_user, sizeof(u->ut_user));
        if (ulen != strlen(user) || memcmp(u->ut_user, user, ulen) != 0)
                return 0;
        llen = strnlen(u->ut_line, sizeof(u->ut_line));
        if (!line_ok(u->ut_line, llen))
                return 0;
        n = snprintf(path, sizeof(path), "%s/%.*s", dev_root, (int)llen, u->ut_line);
        if (n < 0 || (size_t)n >= sizeof(path))
                return 0;

        /* Before opening: never open a device that is not the user's. */
        if (lstat(path, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_uid != uid)
                return 0;
        if (seen_has(seen, st.st_rdev))
                return 0;
        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        /* fd is closed by _cleanup_close_, which cppcheck does not model */
        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_uid != uid || !isatty(fd))
                return 0; // cppcheck-suppress resourceLeak
        if (seen_has(seen, st.st_rdev))
                return 0; // cppcheck-suppress resourceLeak
        r = seen_add(seen, st.st_rdev);
        if (r < 0)
                return r; // cppcheck-suppress resourceLeak

        while (off < msg->len) {
                ssize_t w = write(fd, msg->buf + off, msg->len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return 0; /* full (EAGAIN), hung up, ...: lost */
                off += (size_t)w;
        }
        return 1;
}

int notify_terminals(const char *utmp_path, const char *dev_root, const char *user, uid_t uid,
                     const char *text)
{
        _cleanup_strbuf_ struct strbuf msg = {0};
        _cleanup_close_ int fd = -1;
        struct seen seen = {0};
        struct utmpx recs[UTMP_CHUNK];
        size_t have = 0, total = 0;
        int count = 0, r = 0;

        if (isempty(user) || !text)
                return -EINVAL;
        if (strlen(text) > NOTIFY_TEXT_MAX)
                return -E2BIG;
        if (!utmp_path)
                utmp_path = UTMP_DEFAULT;
        if (!dev_root)
                dev_root = DEV_DEFAULT;

        strbuf_init(&msg, NOTIFY_MSG_MAX);
        r = build_message(&msg, user, text);
        if (r < 0)
                return r;

        fd = open(utmp_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        while (total < UTMP_RECORDS_MAX) {
                ssize_t n = read(fd, (char *)recs + have, sizeof(recs) - have);
                size_t whole;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break; /* a partial record at the end is ignored */
                have += (size_t)n;
                whole = have / sizeof(struct utmpx);
                for (size_t i = 0; i < whole && total < UTMP_RECORDS_MAX; i++, total++) {
                        r = notify_one(&recs[i], dev_root, user, uid, &msg, &seen);
                        if (r < 0)
                                goto out;
                        count += r;
                }
                have -= whole * sizeof(struct utmpx);
                if (have > 0)
                        memmove(recs, (char *)recs + whole * sizeof(struct utmpx), have);
        }
        r = count;
out:
        free(seen.devs);
        return r;
}
