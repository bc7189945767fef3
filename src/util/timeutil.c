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
