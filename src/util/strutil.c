/* strutil.c - small string helpers shared by every layer: prefix and suffix
 * tests, bounded copies, in-place trimming and lower-casing, strict UTF-8
 * validation, the edit distance behind "did you mean" hints, and whole-string
 * number parsing that refuses the things strtoll/strtod let through (empty
 * strings, trailing garbage, overflow, inf and nan). Numbers are always read in
 * the C locale, whatever setlocale() the program did. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strutil.h"

static bool is_ascii_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_ascii_digit(char c)
{
        return c >= '0' && c <= '9';
}

const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);

        if (strncmp(s, prefix, l) != 0)
                return NULL;
        return s + l;
}

const char *startswith_no_case(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);

        if (strncasecmp(s, prefix, l) != 0)
                return NULL;
        return s + l;
}

bool endswith(const char *s, const char *suffix)
{
        size_t ls = strlen(s), lx = strlen(suffix);

        return lx <= ls && memcmp(s + ls - lx, suffix, lx) == 0;
}

int strscpy(char *dst, size_t n, const char *src)
{
        size_t l;

        if (n == 0)
                return -ENOBUFS;
        l = strlen(src);
        if (l >= n) {
                memcpy(dst, src, n - 1);
                dst[n - 1] = '\0';
                return -ENOBUFS;
        }
        memcpy(dst, src, l + 1);
        return 0;
}

char *strstrip(char *s)
{
        size_t b = 0, e;

        if (!s)
                return NULL;
        while (is_ascii_space(s[b]))
                b++;
        e = b + strlen(s + b);
        while (e > b && is_ascii_space(s[e - 1]))
                e--;
        memmove(s, s + b, e - b);
        s[e - b] = '\0';
        return s;
}

char *strlower(char *s)
{
        if (!s)
                return NULL;
        for (char *p = s; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
        return s;
}

char *strdup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if the
 * bytes there do not start one. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
        unsigned char c = s[0], lo = 0x80, hi = 0xBF;
        size_t len;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0)
                        lo = 0xA0; /* overlong */
                else if (c == 0xED)
                        hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0)
                        lo = 0x90; /* overlong */
                else if (c == 0xF4)
                        hi = 0x8F; /* above U+10FFFF */
        } else
                return 0;

        if (n < len)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return len;
}

bool utf8_valid(const char *s, size_t n, size_t *ret_bad)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0;

        while (i < n) {
                size_t k = utf8_sequence_length(u + i, n - i);

                if (k == 0) {
                        if (ret_bad)
                                *ret_bad = i;
                        return false;
                }
                i += k;
        }
        return true;
}

#define EDIT_DISTANCE_MAX_LEN 64

size_t str_edit_distance(const char *a, const char *b)
{
        size_t la, lb, row[EDIT_DISTANCE_MAX_LEN + 1];

        a = a ? a : "";
        b = b ? b : "";
        la = strlen(a);
        lb = strlen(b);
        if (la > EDIT_DISTANCE_MAX_LEN || lb > EDIT_DISTANCE_MAX_LEN)
                return SIZE_MAX;

        /* One row of the Wagner-Fischer table, indexed by position in b. */
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);

                        best = MIN(best, up + 1);
                        best = MIN(best, row[j - 1] + 1);
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

/* Skips leading ASCII space; NULL when only space (or nothing) follows. */
static const char *skip_leading_space(const char *s)
{
        if (!s)
                return NULL;
        while (is_ascii_space(*s))
                s++;
        return *s ? s : NULL;
}

static bool only_space(const char *s)
{
        while (is_ascii_space(*s))
                s++;
        return *s == '\0';
}

int safe_atoi64(const char *s, long long *ret)
{
        const char *p = skip_leading_space(s), *d;
        char *end;
        long long v;

        if (!p)
                return -EINVAL;
        /* strtoll would also skip space between the sign and the digits. */
        d = (*p == '+' || *p == '-') ? p + 1 : p;
        if (!is_ascii_digit(*d))
                return -EINVAL;

        errno = 0;
        v = strtoll(p, &end, 10);
        if (!only_space(end))
                return -EINVAL;
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

int safe_atod(const char *s, double *ret)
{
        const char *p = skip_leading_space(s), *d;
        char *end;
        double v;

        if (!p)
                return -EINVAL;
        d = (*p == '+' || *p == '-') ? p + 1 : p;
        /* Decimal only: no hex floats, which strtod would accept. */
        if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
                return -EINVAL;

        (void)pthread_once(&c_locale_once, c_locale_init);
        errno = 0;
        if (c_locale != (locale_t)0)
                v = strtod_l(p, &end, c_locale);
        else
                v = strtod(p, &end);
        if (end == p || !only_space(end))
                return -EINVAL;
        /* "inf", "nan" and overflow (ERANGE with +-HUGE_VAL) are all out of
         * range; underflow (ERANGE with a tiny or zero value) is accepted as
         * the nearest double. */
        if (!isfinite(v))
                return -ERANGE;
        if (errno != 0 && errno != ERANGE)
                return -EINVAL;
        *ret = v;
        return 0;
}

bool csv_has(const char *list, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if (l == n && strncmp(p, name, n) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}
