/* timeutil.c - wall-clock timestamps: a strict ISO 8601 reader for the dates
 * admins write in the configuration (reservation windows, exemption expiry), a
 * UTC formatter, and the clock itself, which tests can pin with DS01_NOW.
 *
 * A timestamp with a zone is converted with timegm() and the offset; one
 * without is local time and goes through mktime() with tm_isdst = -1, so the
 * C library decides whether daylight saving time applies on that date. Every
 * field is range-checked first (2026-02-30 is an error, not March 2nd). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/strutil.h"
#include "util/timeutil.h"

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Exactly n digits at *p; advances *p. */
static bool read_digits(const char **p, int n, int *ret)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!is_digit((*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

static bool is_leap_year(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* "Z", "+HH:MM", "+HHMM", "+HH" or the same with '-': seconds east of UTC. */
static bool read_zone(const char **p, int *ret_offset)
{
        const char *s = *p;
        int sign, hh, mm = 0;

        if (*s == 'Z' || *s == 'z') {
                *p = s + 1;
                *ret_offset = 0;
                return true;
        }
        if (*s != '+' && *s != '-')
                return false;
        sign = *s == '-' ? -1 : 1;
        s++;
        if (!read_digits(&s, 2, &hh))
                return false;
        if (*s == ':') {
                s++;
                if (!read_digits(&s, 2, &mm))
                        return false;
        } else if (is_digit(*s)) {
                if (!read_digits(&s, 2, &mm))
                        return false;
        }
        if (hh > 23 || mm > 59)
                return false;
        *p = s;
        *ret_offset = sign * (hh * 3600 + mm * 60);
        return true;
}

int parse_timestamp(const char *s, int64_t *ret_epoch)
{
        struct tm tm = {};
        int year, month, day, hour = 0, minute = 0, second = 0, offset = 0;
        bool has_zone = false;
        const char *p;
        time_t t;

        if (!s)
                return -EINVAL;
        p = s;
        while (is_space(*p))
                p++;

        if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &month) ||
            *p++ != '-' || !read_digits(&p, 2, &day))
                return -EINVAL;

        if ((*p == 'T' || *p == 't' || *p == ' ') && is_digit(p[1])) {
                p++;
                if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute))
                        return -EINVAL;
                if (*p == ':') {
                        p++;
                        if (!read_digits(&p, 2, &second))
                                return -EINVAL;
                        if (*p == '.' || *p == ',') {
                                /* Fraction: checked, then dropped. */
                                p++;
                                if (!is_digit(*p))
                                        return -EINVAL;
                                while (is_digit(*p))
                                        p++;
                        }
                }
                if (*p == 'Z' || *p == 'z' || *p == '+' || *p == '-') {
                        if (!read_zone(&p, &offset))
                                return -EINVAL;
                        has_zone = true;
                }
        }

        while (is_space(*p))
                p++;
        if (*p != '\0')
                return -EINVAL;

        if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
            hour > 23 || minute > 59 || second > 60)
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;

        errno = 0;
        if (has_zone) {
                t = timegm(&tm);
                if (t == (time_t)-1 && errno != 0)
                        return -EINVAL;
                *ret_epoch = (int64_t)t - offset;
        } else {
                tm.tm_isdst = -1;
                t = mktime(&tm);
                if (t == (time_t)-1 && errno != 0)
                        return -EINVAL;
                *ret_epoch = (int64_t)t;
        }
        return 0;
}

char *format_timestamp_utc(char *buf, size_t n, int64_t epoch)
{
        struct tm tm;
        time_t t = (time_t)epoch;

        int k;

        if (n == 0)
                return buf;
        if (!gmtime_r(&t, &tm)) {
                buf[0] = '\0';
                return buf;
        }
        /* Not strftime's %Y: years before 1000 need their leading zeros. */
        k = snprintf(buf, n, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (k < 0 || (size_t)k >= n)
                buf[0] = '\0';
        return buf;
}

#define SECONDS_PER_DAY INT64_C(86400)

static const struct {
        const char *name;
        int64_t seconds;
} time_units[] = {
    {"s", 1},        {"sec", 1},     {"secs", 1},      {"second", 1},     {"seconds", 1},
    {"m", 60},       {"min", 60},    {"mins", 60},     {"minute", 60},    {"minutes", 60},
    {"h", 3600},     {"hour", 3600}, {"hours", 3600},  {"d", 86400},      {"day", 86400},
    {"days", 86400}, {"w", 604800},  {"week", 604800}, {"weeks", 604800},
};

/* s[0..n) equals word, ignoring ASCII case. */
static bool word_eq(const char *s, size_t n, const char *word)
{
        return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* 00:00 UTC of the day that holds t. */
static int utc_day_start(int64_t t, int64_t *ret)
{
        int64_t d = t / SECONDS_PER_DAY;

        if (t % SECONDS_PER_DAY < 0)
                d--;
        if (__builtin_mul_overflow(d, SECONDS_PER_DAY, ret))
                return -ERANGE;
        return 0;
}

/* "N UNIT ago" in s[0..n) (trimmed): 1 and *ret, 0 when s does not have that
 * shape, -ERANGE. */
static int parse_ago(const char *s, size_t n, int64_t now, int64_t *ret)
{
        const char *p = s, *end = s + n, *w;
        int64_t count = 0, delta;
        bool found = false;
        size_t i;

        while (p < end && is_digit(*p))
                p++;
        if (p == s)
                return 0;
        while (p < end && is_space(*p))
                p++;
        w = p;
        while (p < end && !is_space(*p))
                p++;
        for (i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++)
                if (word_eq(w, (size_t)(p - w), time_units[i].name)) {
                        found = true;
                        break;
                }
        if (!found || p == end)
                return 0;
        while (p < end && is_space(*p))
                p++;
        if (!word_eq(p, (size_t)(end - p), "ago"))
                return 0;

        for (p = s; is_digit(*p); p++)
                if (__builtin_mul_overflow(count, 10, &count) ||
                    __builtin_add_overflow(count, *p - '0', &count))
                        return -ERANGE;
        if (__builtin_mul_overflow(count, time_units[i].seconds, &delta) ||
            __builtin_sub_overflow(now, delta, ret))
                return -ERANGE;
        return 1;
}

int parse_time_expr(const char *s, int64_t now, int64_t *ret_epoch_s)
{
        const char *p, *end;
        long long at;
        int64_t v;
        size_t n;
        int r;

        if (!s || !ret_epoch_s)
                return -EINVAL;
        p = s;
        while (is_space(*p))
                p++;
        end = p + strlen(p);
        while (end > p && is_space(end[-1]))
                end--;
        n = (size_t)(end - p);
        if (n == 0)
                return -EINVAL;

        if (word_eq(p, n, "now")) {
                v = now;
        } else if (word_eq(p, n, "today")) {
                r = utc_day_start(now, &v);
                if (r < 0)
                        return r;
        } else if (word_eq(p, n, "yesterday")) {
                r = utc_day_start(now, &v);
                if (r < 0)
                        return r;
                if (__builtin_sub_overflow(v, SECONDS_PER_DAY, &v))
                        return -ERANGE;
        } else if (*p == '@') {
                /* safe_atoi64 skips leading space; "@ 5" is not a time. */
                if (n < 2 || is_space(p[1]))
                        return -EINVAL;
                r = safe_atoi64(p + 1, &at);
                if (r < 0)
                        return r;
                v = (int64_t)at;
        } else {
                r = parse_ago(p, n, now, &v);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = parse_timestamp(s, &v);
                        if (r < 0)
                                return r;
                }
        }
        *ret_epoch_s = v;
        return 0;
}

int64_t now_epoch(void)
{
        const char *e = secure_getenv("DS01_NOW");
        struct timespec ts;
        long long v;

        if (e && safe_atoi64(e, &v) == 0)
                return (int64_t)v;
        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return (int64_t)time(NULL);
        return (int64_t)ts.tv_sec;
}
