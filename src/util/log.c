/* log.c - the one place that writes log lines. The level check lives in the
 * log_*() macros of log.h, so a message below the level is never formatted;
 * log_internal() formats one complete line - text "prog[pid]: level: message"
 * or one JSON object - in a stack buffer and hands it to a single write(2) on
 * stderr, so lines from several threads do not interleave. Control characters
 * in messages are escaped so that a user-supplied string cannot forge a second
 * line, and JSON output is always valid UTF-8 (bad bytes become U+FFFD). It
 * works before log_setup() (as "ds01", level info, text) and keeps errno. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/strutil.h"

#define LOG_PROG_MAX   64
#define LOG_MSG_MAX    2048
#define LOG_STRERR_MAX 128
/* Worst case: every byte of prog, message and error text escaped as \u00XX,
 * plus the fixed fields; so a line is never cut short. */
#define LOG_LINE_MAX ((LOG_PROG_MAX + LOG_MSG_MAX + LOG_STRERR_MAX) * 6 + 256)

static int log_max_level = LOG_LEVEL_INFO;
static int log_format = LOG_FORMAT_TEXT;
static char log_prog[LOG_PROG_MAX] = "ds01";

static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",     [LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_NOTICE] = "notice",
    [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_ERROR] = "error",
};

void log_set_level(enum log_level level)
{
        __atomic_store_n(&log_max_level, (int)level, __ATOMIC_RELAXED);
}

void log_set_format(enum log_format format)
{
        __atomic_store_n(&log_format, (int)format, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
        return (enum log_level)__atomic_load_n(&log_max_level, __ATOMIC_RELAXED);
}

int log_level_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *log_level_to_string(enum log_level level)
{
        if ((int)level < 0 || (size_t)level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

int log_setup(const char *prog)
{
        const char *e;
        int r = 0;

        if (!isempty(prog)) {
                const char *slash = strrchr(prog, '/');

                (void)strscpy(log_prog, sizeof(log_prog), slash && slash[1] ? slash + 1 : prog);
        }

        /* Defaults first, so that unset or bad variables leave them. */
        log_set_level(LOG_LEVEL_INFO);
        log_set_format(LOG_FORMAT_TEXT);

        e = getenv("DS01_LOG_LEVEL");
        if (!isempty(e)) {
                int l = log_level_from_string(e);

                if (l >= 0)
                        log_set_level((enum log_level)l);
                else
                        r = -EINVAL;
        }
        e = getenv("DS01_LOG_FORMAT");
        if (!isempty(e)) {
                if (strcasecmp(e, "json") == 0)
                        log_set_format(LOG_FORMAT_JSON);
                else if (strcasecmp(e, "text") != 0)
                        r = -EINVAL;
        }
        return r;
}

/* A bounded line under construction; appends that do not fit are dropped
 * whole (never half an escape sequence) and the line stays NUL-terminated. */
struct line {
        char buf[LOG_LINE_MAX];
        size_t len;
};

static void line_add(struct line *l, const char *s, size_t n)
{
        /* Keep room for the final "\n" and NUL. */
        if (n > sizeof(l->buf) - 2 - l->len)
                return;
        memcpy(l->buf + l->len, s, n);
        l->len += n;
        l->buf[l->len] = '\0';
}

static void line_puts(struct line *l, const char *s)
{
        line_add(l, s, strlen(s));
}

static void line_add_hex(struct line *l, const char *prefix, unsigned char c)
{
        char e[8];
        int k = snprintf(e, sizeof(e), "%s%02x", prefix, c);

        if (k > 0 && (size_t)k < sizeof(e))
                line_add(l, e, (size_t)k);
}

/* Text: bytes as they are, except control characters (tab aside) -> \xNN, so
 * that a message always stays on one line. */
static void line_add_text(struct line *l, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                        line_add_hex(l, "\\x", *p);
                else
                        line_add(l, (const char *)p, 1);
        }
}

/* JSON string body (without the quotes): RFC 8259 escapes, control
 * characters as \u00XX, invalid UTF-8 as \ufffd. */
static void line_add_json(struct line *l, const char *s)
{
        size_t n = strlen(s), i = 0;

        while (i < n) {
                size_t bad = n, end;

                if (!utf8_valid(s + i, n - i, &bad))
                        bad += i;
                end = bad;
                for (; i < end; i++) {
                        unsigned char c = (unsigned char)s[i];

                        switch (c) {
                        case '"':
                                line_puts(l, "\\\"");
                                break;
                        case '\\':
                                line_puts(l, "\\\\");
                                break;
                        case '\n':
                                line_puts(l, "\\n");
                                break;
                        case '\r':
                                line_puts(l, "\\r");
                                break;
                        case '\t':
                                line_puts(l, "\\t");
                                break;
                        default:
                                if (c < 0x20 || c == 0x7f)
                                        line_add_hex(l, "\\u00", c);
                                else
                                        line_add(l, s + i, 1);
                        }
                }
                if (i < n) {
                        line_puts(l, "\\ufffd");
                        i++;
                }
        }
}

static void write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                p += k;
                n -= (size_t)k;
        }
}

int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt, ...)
{
        int saved_errno = errno;
        int errnum = error < 0 ? (error == INT_MIN ? INT_MAX : -error) : error;
        char msg[LOG_MSG_MAX], errbuf[LOG_STRERR_MAX], num[64];
        const char *errstr = NULL, *lname;
        struct line lbuf, *l = &lbuf;
        va_list ap;
        int k;

        l->len = 0;
        l->buf[0] = '\0';

        lname = log_level_to_string(level);
        if (!lname)
                lname = (int)level < LOG_LEVEL_DEBUG ? "debug" : "error";

        va_start(ap, fmt);
        k = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (k < 0)
                (void)strscpy(msg, sizeof(msg), "(unformattable log message)");
        else if ((size_t)k >= sizeof(msg))
                memcpy(msg + sizeof(msg) - 4, "...", 4); /* may cut UTF-8; JSON copes */

        if (errnum != 0)
                errstr = strerror_r(errnum, errbuf, sizeof(errbuf));

        if (__atomic_load_n(&log_format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON) {
                struct timespec ts;
                struct tm tm;
                char tsbuf[64];

                (void)clock_gettime(CLOCK_REALTIME, &ts);
                if (!gmtime_r(&ts.tv_sec, &tm) ||
                    strftime(tsbuf, sizeof(tsbuf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                        tsbuf[0] = '\0';

                line_puts(l, "{\"ts\":\"");
                line_puts(l, tsbuf);
                (void)snprintf(num, sizeof(num), ".%03ldZ\",\"level\":\"", ts.tv_nsec / 1000000);
                line_puts(l, num);
                line_puts(l, lname);
                line_puts(l, "\",\"prog\":\"");
                line_add_json(l, log_prog);
                (void)snprintf(num, sizeof(num), "\",\"pid\":%ld,\"msg\":\"", (long)getpid());
                line_puts(l, num);
                line_add_json(l, msg);
                if (errstr) {
                        line_puts(l, ": ");
                        line_add_json(l, errstr);
                        (void)snprintf(num, sizeof(num), "\",\"errno\":%d}", errnum);
                        line_puts(l, num);
                } else
                        line_puts(l, "\"}");
        } else {
                line_add_text(l, log_prog);
                (void)snprintf(num, sizeof(num), "[%ld]: ", (long)getpid());
                line_puts(l, num);
                line_puts(l, lname);
                line_puts(l, ": ");
                line_add_text(l, msg);
                if (errstr) {
                        line_puts(l, ": ");
                        line_add_text(l, errstr);
                }
        }
        /* line_add() always leaves room for this. */
        l->buf[l->len++] = '\n';
        write_all(STDERR_FILENO, l->buf, l->len);

        errno = saved_errno;
        return error < 0 ? error : -error;
}
