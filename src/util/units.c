/* units.c - parsers and formatters for durations, byte sizes and percents as
 * admins write them in the configuration and users type them on the command
 * line ("2h", "0.5h", "1d 1h", "32g", "96G", "9600%").
 *
 * Numbers are read as exact decimals, not through floating point: the integer
 * part and the first 18 fractional digits are kept as integers and multiplied
 * by the unit in 128-bit arithmetic, so "0.1h" is exactly 360 seconds and
 * overflow is detected rather than wrapped. Durations round to the nearest
 * second (halves away from zero), sizes truncate to whole bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/units.h"

/* Fractional digits kept; later ones are ignored (they cannot change a result
 * unless it lies within 10^-18 of a unit of a rounding boundary). */
#define FRAC_DIGITS_MAX 18
#define FRAC_SCALE      1000000000000000000ULL /* 10^FRAC_DIGITS_MAX */

typedef unsigned __int128 u128;

struct decimal {
        uint64_t integer;  /* integer part */
        uint64_t fraction; /* fractional part times 10^FRAC_DIGITS_MAX */
        bool overflow;     /* integer part did not fit in 64 bits */
};

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static const char *skip_space(const char *p)
{
        while (is_space(*p))
                p++;
        return p;
}

/* Reads digits, optionally '.' and more digits, at least one digit in all;
 * ".5" and "5." are accepted. No sign, no exponent. Advances *p past it. */
static int parse_decimal(const char **p, struct decimal *ret)
{
        struct decimal d = {};
        const char *s = *p;
        uint64_t scale = FRAC_SCALE;
        bool digits = false;

        for (; is_digit(*s); s++) {
                digits = true;
                if (__builtin_mul_overflow(d.integer, 10, &d.integer) ||
                    __builtin_add_overflow(d.integer, (uint64_t)(*s - '0'), &d.integer))
                        d.overflow = true;
        }
        if (*s == '.') {
                s++;
                for (; is_digit(*s); s++) {
                        digits = true;
                        if (scale > 1) {
                                scale /= 10;
                                d.fraction += (uint64_t)(*s - '0') * scale;
                        }
                }
        }
        if (!digits)
                return -EINVAL;
        *p = s;
        *ret = d;
        return 0;
}

/* d * unit in units of 10^-FRAC_DIGITS_MAX; -ERANGE if it exceeds limit (also in
 * those units). unit < 2^63 keeps every product below 2^127. */
static int decimal_scaled(const struct decimal *d, uint64_t unit, u128 limit, u128 *ret)
{
        u128 v;

        if (d->overflow)
                return -ERANGE;
        v = (u128)d->integer * unit;
        if (v > limit / FRAC_SCALE)
                return -ERANGE;
        v = v * FRAC_SCALE + (u128)d->fraction * unit;
        if (v > limit)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int duration_unit(char c, int64_t *ret)
{
        static const struct {
                char letter;
                int64_t sec;
        } units[] = {
            {'s', 1},           {'m', SEC_PER_MIN},  {'h', SEC_PER_HOUR},
            {'d', SEC_PER_DAY}, {'w', SEC_PER_WEEK},
        };
        char lc = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (units[i].letter == lc) {
                        *ret = units[i].sec;
                        return 0;
                }
        return -EINVAL;
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The trimmed string equals one of the words, case-insensitively. */
static bool trimmed_equals_any(const char *s, const char *const *words, size_t n)
{
        size_t l;

        s = skip_space(s);
        l = strlen(s);
        while (l > 0 && is_space(s[l - 1]))
                l--;
        for (size_t i = 0; i < n; i++)
                if (strlen(words[i]) == l && strncasecmp(s, words[i], l) == 0)
                        return true;
        return false;
}

int parse_duration(const char *s, int64_t bare_unit, int64_t *ret_seconds)
{
        static const char *const unlimited[] = {
            "", "null", "never", "indefinite", "unlimited", "none",
        };
        /* Finite results must stay below DURATION_INFINITY. */
        const u128 limit = (u128)(DURATION_INFINITY - 1) * FRAC_SCALE + FRAC_SCALE / 2 - 1;
        const char *p;
        u128 total = 0;
        bool first = true, overflow = false;

        if (!s || trimmed_equals_any(s, unlimited, ELEMENTSOF(unlimited))) {
                *ret_seconds = DURATION_INFINITY;
                return 0;
        }
        if (bare_unit <= 0)
                return -EINVAL;

        /* One or more "<number><unit>" separated by optional space ("1d 1h",
         * as format_duration() writes them); a lone number takes bare_unit. */
        p = skip_space(s);
        while (*p) {
                struct decimal d;
                int64_t unit;
                u128 v;
                int r;

                r = parse_decimal(&p, &d);
                if (r < 0)
                        return r;
                p = skip_space(p);
                if (*p == '\0' && first)
                        unit = bare_unit;
                else {
                        if (duration_unit(*p, &unit) < 0 || is_alpha(p[1]))
                                return -EINVAL;
                        p = skip_space(p + 1);
                }
                first = false;

                if (overflow)
                        continue;
                r = decimal_scaled(&d, (uint64_t)unit, limit, &v);
                if (r < 0 || v > limit - total)
                        overflow = true; /* finish the syntax check first */
                else
                        total += v;
        }
        if (overflow)
                return -ERANGE;

        *ret_seconds = (int64_t)((total + FRAC_SCALE / 2) / FRAC_SCALE);
        return 0;
}

/* Appends to buf at *off, keeping it NUL-terminated and never overrunning n. */
static void append_str(char *buf, size_t n, size_t *off, const char *s)
{
        if (*off >= n)
                return;
        (void)strscpy(buf + *off, n - *off, s);
        *off += strlen(buf + *off);
}

char *format_duration(char *buf, size_t n, int64_t seconds)
{
        static const struct {
                uint64_t sec;
                char letter;
        } units[] = {
            {SEC_PER_WEEK, 'w'}, {SEC_PER_DAY, 'd'}, {SEC_PER_HOUR, 'h'},
            {SEC_PER_MIN, 'm'},  {1, 's'},
        };
        uint64_t left;
        size_t off = 0;

        if (n == 0)
                return buf;
        buf[0] = '\0';
        if (seconds == DURATION_INFINITY) {
                append_str(buf, n, &off, "unlimited");
                return buf;
        }
        if (seconds == 0) {
                append_str(buf, n, &off, "0s");
                return buf;
        }
        if (seconds < 0) {
                append_str(buf, n, &off, "-");
                left = (uint64_t)0 - (uint64_t)seconds; /* also right for INT64_MIN */
        } else
                left = (uint64_t)seconds;

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                char part[32];
                uint64_t k = left / units[i].sec;

                if (k == 0)
                        continue;
                left -= k * units[i].sec;
                (void)snprintf(part, sizeof(part), "%s%" PRIu64 "%c",
                               off > 0 && buf[off - 1] != '-' ? " " : "", k, units[i].letter);
                append_str(buf, n, &off, part);
        }
        return buf;
}

/* Multiplier for a size letter among those listed in letters (case-insensitive):
 * "kmgtpe"[i] is 1024^(i+1). */
static int size_letter(char c, const char *letters, uint64_t *ret)
{
        static const char all[] = "kmgtpe";
        char lc = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        const char *q;

        if (c == '\0' || !strchr(letters, lc))
                return -EINVAL;
        q = strchr(all, lc);
        if (!q)
                return -EINVAL;
        *ret = UINT64_C(1) << (10 * (q - all + 1));
        return 0;
}

/* The number, then the unit suffix [p, end) with surrounding space removed. */
static int split_number(const char *s, struct decimal *ret_d, const char **ret_unit,
                        size_t *ret_unit_len)
{
        const char *p, *end;
        int r;

        if (!s)
                return -EINVAL;
        p = skip_space(s);
        r = parse_decimal(&p, ret_d);
        if (r < 0)
                return r;
        p = skip_space(p);
        end = p + strlen(p);
        while (end > p && is_space(end[-1]))
                end--;
        *ret_unit = p;
        *ret_unit_len = (size_t)(end - p);
        return 0;
}

static int size_from_decimal(const struct decimal *d, uint64_t mult, uint64_t max, uint64_t *ret)
{
        u128 v;
        int r;

        /* Truncate: compare whole bytes against max. */
        r = decimal_scaled(d, mult, (u128)max * FRAC_SCALE + (FRAC_SCALE - 1), &v);
        if (r < 0)
                return r;
        *ret = (uint64_t)(v / FRAC_SCALE);
        return 0;
}

int parse_docker_size(const char *s, uint64_t *ret_bytes)
{
        struct decimal d;
        const char *u;
        size_t ul, i = 0;
        uint64_t mult = 1;
        int r;

        r = split_number(s, &d, &u, &ul);
        if (r < 0)
                return r;
        /* [kmgtp] [i] [b], each optional; "i" only after a letter. */
        if (i < ul && size_letter(u[i], "kmgtp", &mult) == 0) {
                i++;
                if (i < ul && (u[i] == 'i' || u[i] == 'I'))
                        i++;
        }
        if (i < ul && (u[i] == 'b' || u[i] == 'B'))
                i++;
        if (i != ul)
                return -EINVAL;
        /* Docker's API takes sizes as int64. */
        return size_from_decimal(&d, mult, INT64_MAX, ret_bytes);
}

int parse_systemd_size(const char *s, uint64_t *ret_bytes)
{
        static const char *const infinity[] = {"infinity"};
        struct decimal d;
        const char *u;
        size_t ul;
        uint64_t mult = 1;
        int r;

        if (s && trimmed_equals_any(s, infinity, 1)) {
                *ret_bytes = SIZE_INFINITY;
                return 0;
        }
        r = split_number(s, &d, &u, &ul);
        if (r < 0)
                return r;
        if (ul == 1 && (u[0] == 'b' || u[0] == 'B'))
                mult = 1;
        else if (ul == 1) {
                r = size_letter(u[0], "kmgtpe", &mult);
                if (r < 0)
                        return r;
        } else if (ul != 0)
                return -EINVAL;
        /* UINT64_MAX itself means infinity. */
        return size_from_decimal(&d, mult, SIZE_INFINITY - 1, ret_bytes);
}

int parse_percent(const char *s, double *ret_percent)
{
        _cleanup_free_ char *num = NULL;
        struct decimal d;
        const char *p, *u;
        size_t ul;
        double v;
        int r;

        r = split_number(s, &d, &u, &ul);
        if (r < 0)
                return r;
        if (ul != 1 || u[0] != '%')
                return -EINVAL;

        /* The number has been checked to be plain digits with an optional
         * '.'; let strtod (via safe_atod, C locale) round it to a double. */
        p = skip_space(s);
        num = strndup(p, strcspn(p, " \t\n\v\f\r%"));
        if (!num)
                return -ENOMEM;
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ frees it
        r = safe_atod(num, &v);
        if (r < 0)
                return r;
        *ret_percent = v;
        return 0;
}

char *format_size(char *buf, size_t n, uint64_t bytes)
{
        static const char letters[] = "KMGTP";
        size_t i = 0;
        uint64_t tenths, unit = 1024;

        if (n == 0)
                return buf;
        if (bytes == SIZE_INFINITY) {
                (void)strscpy(buf, n, "infinity");
                return buf;
        }
        if (bytes < 1024) {
                (void)snprintf(buf, n, "%" PRIu64, bytes);
                return buf;
        }

        /* Largest unit not above the value, then one decimal rounded to
         * nearest; a value that rounds up to 1024 of a unit moves on. */
        while (i + 1 < sizeof(letters) - 1 && bytes / unit >= 1024) {
                unit <<= 10;
                i++;
        }
        tenths = (uint64_t)(((u128)bytes * 10 + unit / 2) / unit);
        if (tenths >= 10240 && i + 1 < sizeof(letters) - 1) {
                unit <<= 10;
                i++;
                tenths = (uint64_t)(((u128)bytes * 10 + unit / 2) / unit);
        }
        if (tenths % 10 == 0)
                (void)snprintf(buf, n, "%" PRIu64 "%c", tenths / 10, letters[i]);
        else
                (void)snprintf(buf, n, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10,
                               letters[i]);
        return buf;
}
