/* event-record.c - the events.jsonl line: writing it byte for byte as the
 * Python DS01 tools did, and reading it back along with the older records.
 *
 * The writer is our own small JSON serializer rather than json_dumps(): the
 * old lines come from Python's json.dumps(event, separators=(",", ":")) with
 * ensure_ascii left on, and jansson's output differs from it (upper-case hex
 * in \u escapes, DEL left raw, reals as "%.17g"). Matching it keeps old and
 * new lines alike for grep and for the 4000-byte limit, which is measured on
 * the exact bytes.
 *
 * The serializer writes into a strbuf capped at EVENT_LINE_MAX and keeps
 * counting past the cap, so an oversized event costs no more memory than a
 * normal one and still yields the original_size of the truncation marker. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/event-record.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years four digits hold. */
#define EPOCH_S_MIN INT64_C(-62135596800)
#define EPOCH_S_MAX INT64_C(253402300799)

void event_record_release(struct event_record *e)
{
        if (!e)
                return;
        free(e->user);
        free(e->source);
        if (e->details)
                json_decref(e->details);
        *e = (struct event_record){};
}

static bool type_char_ok(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool event_type_valid(const char *t)
{
        size_t n = 0, dots = 0;
        bool word = false;

        if (!t)
                return false;
        for (; t[n] != '\0'; n++) {
                if (n >= EVENT_TYPE_MAX - 1)
                        return false;
                if (t[n] == '.') {
                        if (!word)
                                return false;
                        dots++;
                        word = false;
                } else if (type_char_ok(t[n])) {
                        word = true;
                } else {
                        return false;
                }
        }
        return word && dots > 0;
}

/* The looser rule for types read from old files: 1..63 bytes, nothing at or
 * below a space, no DEL. */
static bool type_loose_valid(const char *t, size_t n)
{
        if (n == 0 || n >= EVENT_TYPE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
                        return false;
        return true;
}

/* ---- output ---- */

struct jout {
        struct strbuf sb; /* the line, capped at EVENT_LINE_MAX */
        size_t len;       /* bytes the whole output has, stored or not */
        bool overflow;    /* sb hit its cap: only counting from here on */
        int error;        /* -ENOMEM, sticky */
};

static void out_put(struct jout *o, const char *s, size_t n)
{
        int r;

        o->len += n;
        if (o->overflow || o->error < 0)
                return;
        r = strbuf_append(&o->sb, s, n);
        if (r == -E2BIG)
                o->overflow = true;
        else if (r < 0)
                o->error = r;
}

static void out_puts(struct jout *o, const char *s)
{
        out_put(o, s, strlen(s));
}

static void out_u16(struct jout *o, unsigned u)
{
        static const char hex[] = "0123456789abcdef";
        char b[6] = {
            '\\',        'u', hex[(u >> 12) & 0xf], hex[(u >> 8) & 0xf], hex[(u >> 4) & 0xf],
            hex[u & 0xf]};

        out_put(o, b, sizeof(b));
}

/* One UTF-8 sequence at s[0..n): its code point and length, or 0 when the
 * bytes there are not well-formed (overlong, surrogate, above U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *ret_cp)
{
        unsigned cp, min;
        size_t k;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                k = 2, cp = s[0] & 0x1f, min = 0x80;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                k = 3, cp = s[0] & 0x0f, min = 0x800;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                k = 4, cp = s[0] & 0x07, min = 0x10000;
        } else {
                return 0;
        }
        if (k > n)
                return 0;
        for (size_t i = 1; i < k; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return k;
}

/* A JSON string as Python's json.dumps writes it with ensure_ascii: printable
 * ASCII as is except " and \, the five short escapes, everything else \uXXXX
 * in lower-case hex, pairs of surrogates above U+FFFF. */
static void dump_string(struct jout *o, const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;

        out_put(o, "\"", 1);
        while (i < n) {
                size_t run = i, k;
                unsigned cp;

                while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
                       s[run] != '\\')
                        run++;
                if (run > i) {
                        out_put(o, str + i, run - i);
                        i = run;
                        continue;
                }
                switch (s[i]) {
                case '"':
                        out_put(o, "\\\"", 2);
                        i++;
                        continue;
                case '\\':
                        out_put(o, "\\\\", 2);
                        i++;
                        continue;
                case '\b':
                        out_put(o, "\\b", 2);
                        i++;
                        continue;
                case '\f':
                        out_put(o, "\\f", 2);
                        i++;
                        continue;
                case '\n':
                        out_put(o, "\\n", 2);
                        i++;
                        continue;
                case '\r':
                        out_put(o, "\\r", 2);
                        i++;
                        continue;
                case '\t':
                        out_put(o, "\\t", 2);
                        i++;
                        continue;
                default:
                        break;
                }
                k = utf8_decode(s + i, n - i, &cp);
                if (k == 0) {
                        cp = 0xfffd; /* a stray byte: the replacement character */
                        k = 1;
                }
                if (cp >= 0x10000) {
                        cp -= 0x10000;
                        out_u16(o, 0xd800 | (cp >> 10));
                        out_u16(o, 0xdc00 | (cp & 0x3ff));
                } else {
                        out_u16(o, cp);
                }
                i += k;
        }
        out_put(o, "\"", 1);
}

/* "d.ddde+XX" (as printf's %e writes it, no sign) into its digits and the
 * power of ten of the first one. */
static void split_e(const char *e, char *digits, size_t size, int *ret_nd, int *ret_exp10)
{
        int nd = 0;

        for (; *e != 'e' && *e != '\0'; e++)
                if (*e >= '0' && *e <= '9' && nd < (int)size - 1)
                        digits[nd++] = *e;
        digits[nd] = '\0';
        *ret_nd = nd;
        *ret_exp10 = *e == 'e' ? (int)strtol(e + 1, NULL, 10) : 0;
}

/* digits +1 or -1 in the last place; false when that leaves zero. */
static bool bump_digits(char *digits, int *nd, int *exp10, int delta)
{
        int i = *nd - 1;

        if (delta > 0) {
                while (i >= 0 && digits[i] == '9')
                        digits[i--] = '0';
                if (i >= 0) {
                        digits[i]++;
                } else {
                        /* 999 -> 1000: one more digit, dropped as a zero. */
                        digits[0] = '1';
                        (*exp10)++;
                }
                return true;
        }
        while (i >= 0 && digits[i] == '0')
                digits[i--] = '9';
        if (i < 0)
                return false;
        digits[i]--;
        if (digits[0] == '0') {
                /* 1000 -> 0999: 999 one place lower. */
                if (*nd == 1)
                        return false;
                memmove(digits, digits + 1, (size_t)*nd);
                (*nd)--;
                (*exp10)--;
        }
        return true;
}

/* Python's repr() digits for |v|: the fewest significant digits that read
 * back as the same double (v = D.DDD x 10^exp10), no trailing zeros. printf
 * rounds to the nearest decimal of each length; next to a power of two the
 * neighbour one unit above or below can read back when the nearest does not,
 * so both are tried as well. */
static void shortest_digits(double v, char digits[static 24], int *ret_nd, int *ret_exp10)
{
        char e[48], cand[24];
        int nd = 0, exp10 = 0;

        v = fabs(v);
        for (int p = 0; p <= 16; p++) {
                snprintf(e, sizeof(e), "%.*e", p, v);
                split_e(e, digits, 24, &nd, &exp10);
                if (strtod(e, NULL) == v)
                        goto found;
                for (int delta = 1; delta >= -1; delta -= 2) {
                        int cnd = nd, cexp = exp10;

                        memcpy(cand, digits, (size_t)nd + 1);
                        if (!bump_digits(cand, &cnd, &cexp, delta))
                                continue;
                        snprintf(e, sizeof(e), "%c.%se%d", cand[0], cand + 1, cexp);
                        if (strtod(e, NULL) == v) {
                                memcpy(digits, cand, (size_t)cnd + 1);
                                nd = cnd;
                                exp10 = cexp;
                                goto found;
                        }
                }
        }
        /* Not reached: 17 digits always read back. */
found:
        while (nd > 1 && digits[nd - 1] == '0')
                nd--;
        digits[nd] = '\0';
        *ret_nd = nd;
        *ret_exp10 = exp10;
}

/* A float as Python's repr() writes it: the shortest digits that read back as
 * the same double; positional between 1e-4 and 1e16 with at least one digit
 * after the point ("1.0", "0.0001"), otherwise "1e+16", "1.5e-05". */
static void dump_real(struct jout *o, double v)
{
        char digits[24], out[48];
        int nd, exp10, decpt, k = 0;

        shortest_digits(v, digits, &nd, &exp10);
        decpt = exp10 + 1; /* v = 0.DIGITS x 10^decpt */

        if (signbit(v))
                out[k++] = '-';
        if (decpt > -4 && decpt <= 16) {
                if (decpt <= 0) {
                        out[k++] = '0';
                        out[k++] = '.';
                        for (int i = 0; i < -decpt; i++)
                                out[k++] = '0';
                        for (int i = 0; i < nd; i++)
                                out[k++] = digits[i];
                } else {
                        for (int i = 0; i < decpt; i++)
                                out[k++] = i < nd ? digits[i] : '0';
                        out[k++] = '.';
                        if (nd > decpt)
                                for (int i = decpt; i < nd; i++)
                                        out[k++] = digits[i];
                        else
                                out[k++] = '0';
                }
                out[k] = '\0';
        } else {
                out[k++] = digits[0];
                if (nd > 1) {
                        out[k++] = '.';
                        for (int i = 1; i < nd; i++)
                                out[k++] = digits[i];
                }
                snprintf(out + k, sizeof(out) - (size_t)k, "e%c%02d", decpt - 1 < 0 ? '-' : '+',
                         abs(decpt - 1));
        }
        out_puts(o, out);
}

static int dump_value(struct jout *o, const json_t *v, unsigned depth)
{
        char num[32];
        int r;

        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                bool first = true;

                if (depth >= EVENT_DETAILS_DEPTH_MAX)
                        return -EINVAL;
                out_put(o, "{", 1);
                for (void *it = json_object_iter((json_t *)v); it;
                     it = json_object_iter_next((json_t *)v, it)) {
                        const char *key = json_object_iter_key(it);

                        if (!first)
                                out_put(o, ",", 1);
                        first = false;
                        dump_string(o, key, strlen(key));
                        out_put(o, ":", 1);
                        r = dump_value(o, json_object_iter_value(it), depth + 1);
                        if (r < 0)
                                return r;
                }
                out_put(o, "}", 1);
                return 0;
        }
        case JSON_ARRAY:
                if (depth >= EVENT_DETAILS_DEPTH_MAX)
                        return -EINVAL;
                out_put(o, "[", 1);
                for (size_t i = 0; i < json_array_size(v); i++) {
                        if (i > 0)
                                out_put(o, ",", 1);
                        r = dump_value(o, json_array_get(v, i), depth + 1);
                        if (r < 0)
                                return r;
                }
                out_put(o, "]", 1);
                return 0;
        case JSON_STRING:
                dump_string(o, json_string_value(v), json_string_length(v));
                return 0;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                out_puts(o, num);
                return 0;
        case JSON_REAL:
                dump_real(o, json_real_value(v));
                return 0;
        case JSON_TRUE:
                out_puts(o, "true");
                return 0;
        case JSON_FALSE:
                out_puts(o, "false");
                return 0;
        case JSON_NULL:
                out_puts(o, "null");
                return 0;
        }
        return -EINVAL;
}

/* "2026-01-30T14:30:00.123456Z" */
static int format_time_us(int64_t us, char *buf, size_t n)
{
        int64_t s = us / 1000000, frac = us % 1000000;
        time_t t;
        struct tm tm;
        int k;

        if (frac < 0) {
                frac += 1000000;
                s--;
        }
        if (s < EPOCH_S_MIN || s > EPOCH_S_MAX)
                return -EINVAL;
        t = (time_t)s;
        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        k = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
        if (k < 0 || (size_t)k >= n)
                return -EINVAL;
        return 0;
}

static int dump_record(struct jout *o, const struct event_record *e, const char *ts,
                       const json_t *details)
{
        out_puts(o, "{\"timestamp\":");
        dump_string(o, ts, strlen(ts));
        out_puts(o, ",\"event_type\":");
        dump_string(o, e->type, strlen(e->type));
        out_puts(o, ",\"schema_version\":\"" EVENT_SCHEMA_VERSION "\"");
        if (!isempty(e->user)) {
                out_puts(o, ",\"user\":");
                dump_string(o, e->user, strlen(e->user));
        }
        if (!isempty(e->source)) {
                out_puts(o, ",\"source\":");
                dump_string(o, e->source, strlen(e->source));
        }
        if (details && json_object_size(details) > 0) {
                int r;

                out_puts(o, ",\"details\":");
                r = dump_value(o, details, 0);
                if (r < 0)
                        return r;
        }
        out_put(o, "}", 1);
        return o->error;
}

int event_record_format(const struct event_record *e, char **ret_line, size_t *ret_len)
{
        char ts[40];
        struct jout o = {};
        json_t *marker = NULL;
        size_t full;
        char *line;
        int r;

        if (!e || !ret_line || !ret_len)
                return -EINVAL;
        if (!memchr(e->type, '\0', sizeof(e->type)) || !type_loose_valid(e->type, strlen(e->type)))
                return -EINVAL;
        if (e->details && !json_is_object(e->details))
                return -EINVAL;
        r = format_time_us(e->time_us, ts, sizeof(ts));
        if (r < 0)
                return r;

        strbuf_init(&o.sb, EVENT_LINE_MAX);
        r = dump_record(&o, e, ts, e->details);
        if (r < 0)
                goto out;

        if (o.overflow) {
                /* As the old writer: the details give way to a marker that
                 * says how long the whole line was. */
                full = o.len;
                marker = json_pack("{s:b,s:I}", "truncated", 1, "original_size", (json_int_t)full);
                if (!marker) {
                        r = -ENOMEM;
                        goto out;
                }
                strbuf_release(&o.sb);
                o = (struct jout){};
                strbuf_init(&o.sb, EVENT_LINE_MAX);
                r = dump_record(&o, e, ts, marker);
                if (r < 0)
                        goto out;
                if (o.overflow) {
                        r = -E2BIG;
                        goto out;
                }
        }

        line = strbuf_steal(&o.sb);
        if (!line) {
                r = -ENOMEM;
                goto out;
        }
        *ret_len = o.len;
        *ret_line = line;
        r = 0;
out:
        if (marker)
                json_decref(marker);
        strbuf_release(&o.sb);
        return r;
}

/* ---- input ---- */

/* An ISO 8601 time (as parse_timestamp() reads it; UTC when it names no zone)
 * to microseconds, the fraction kept to six digits. */
static int parse_iso_us(const char *str, int64_t *ret_us)
{
        char buf[80];
        const char *s = str, *end;
        int64_t sec, frac = 0;
        size_t n;
        int r;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        n = (size_t)(end - s);
        if (n < 10 || n > 64)
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        /* The date is "YYYY-MM-DD"; a zone is a Z, + or - after it. */
        if (n == 10)
                memcpy(buf + n, "T00:00:00Z", sizeof("T00:00:00Z"));
        else if (!strpbrk(buf + 10, "Zz+-"))
                memcpy(buf + n, "Z", sizeof("Z"));

        r = parse_timestamp(buf, &sec);
        if (r < 0)
                return r;
        if (sec < EPOCH_S_MIN || sec > EPOCH_S_MAX)
                return -EINVAL;

        /* parse_timestamp() checked the shape: "YYYY-MM-DDTHH:MM:SS.fff..." */
        if (buf[13] == ':' && buf[16] == ':' && (buf[19] == '.' || buf[19] == ',')) {
                const char *f = buf + 20;

                for (int i = 0; i < 6; i++) {
                        frac *= 10;
                        if (*f >= '0' && *f <= '9')
                                frac += *f++ - '0';
                }
        }
        *ret_us = sec * 1000000 + frac;
        return 0;
}

static int parse_time_value(const json_t *v, int64_t *ret_us)
{
        if (json_is_string(v)) {
                if (strlen(json_string_value(v)) != json_string_length(v))
                        return -EINVAL;
                return parse_iso_us(json_string_value(v), ret_us);
        }
        if (json_is_integer(v)) {
                json_int_t s = json_integer_value(v);

                if (s < EPOCH_S_MIN || s > EPOCH_S_MAX)
                        return -EINVAL;
                *ret_us = (int64_t)s * 1000000;
                return 0;
        }
        if (json_is_real(v)) {
                double s = json_real_value(v);

                if (!isfinite(s) || s < (double)EPOCH_S_MIN || s > (double)EPOCH_S_MAX)
                        return -EINVAL;
                *ret_us = (int64_t)llround(s * 1e6);
                return 0;
        }
        return -EINVAL;
}

/* user or source: a string (kept unless empty) or null. */
static int take_name(const json_t *v, char **ret)
{
        const char *s;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return -EINVAL;
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return -EINVAL;
        if (*s == '\0')
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static bool deeper_than(const json_t *v, unsigned depth)
{
        if (json_is_object(v) || json_is_array(v)) {
                if (depth >= EVENT_DETAILS_DEPTH_MAX)
                        return true;
        }
        if (json_is_object(v)) {
                const char *k;
                json_t *x;

                json_object_foreach((json_t *)v, k, x) if (deeper_than(x, depth + 1)) return true;
        } else if (json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v); i++)
                        if (deeper_than(json_array_get(v, i), depth + 1))
                                return true;
        }
        return false;
}

int event_record_parse(const char *line, size_t len, struct event_record *ret)
{
        struct event_record e = {};
        json_t *root, *v, *type, *details = NULL;
        json_error_t err;
        bool current;
        const char *key;
        int r;

        if (!line || !ret)
                return -EINVAL;
        if (len > EVENT_PARSE_MAX)
                return -E2BIG;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
        if (len == 0)
                return -EINVAL;

        root = json_loadb(line, len, 0, &err);
        if (!root)
                return -EINVAL;
        if (!json_is_object(root)) {
                r = -EINVAL;
                goto out;
        }

        /* "event_type" makes it the current format, else "event" the old. */
        type = json_object_get(root, "event_type");
        current = type != NULL;
        if (!current)
                type = json_object_get(root, "event");
        if (!json_is_string(type) ||
            !type_loose_valid(json_string_value(type), json_string_length(type))) {
                r = -EINVAL;
                goto out;
        }
        memcpy(e.type, json_string_value(type), json_string_length(type));
        e.type[json_string_length(type)] = '\0';

        v = json_object_get(root, current ? "timestamp" : "ts");
        if (!v) {
                r = -EINVAL;
                goto out;
        }
        r = parse_time_value(v, &e.time_us);
        if (r < 0)
                goto out;

        details = json_object();
        if (!details) {
                r = -ENOMEM;
                goto out;
        }

        if (current) {
                r = take_name(json_object_get(root, "user"), &e.user);
                if (r < 0)
                        goto out;
                r = take_name(json_object_get(root, "source"), &e.source);
                if (r < 0)
                        goto out;
                v = json_object_get(root, "details");
                if (v && !json_is_null(v)) {
                        if (!json_is_object(v)) {
                                r = -EINVAL;
                                goto out;
                        }
                        if (json_object_update(details, v) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
                /* Keys of the envelope we do not know: kept in details. */
                json_object_foreach(root, key, v)
                {
                        if (streq(key, "timestamp") || streq(key, "event_type") ||
                            streq(key, "schema_version") || streq(key, "user") ||
                            streq(key, "source") || streq(key, "details"))
                                continue;
                        if (json_object_get(details, key))
                                continue;
                        if (json_object_set(details, key, v) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
        } else {
                json_object_foreach(root, key, v)
                {
                        if (streq(key, "ts") || streq(key, "event"))
                                continue;
                        if ((streq(key, "user") || streq(key, "source")) &&
                            (json_is_string(v) || json_is_null(v))) {
                                r = take_name(v, streq(key, "user") ? &e.user : &e.source);
                                if (r < 0)
                                        goto out;
                                continue;
                        }
                        if (json_object_set(details, key, v) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
        }

        if (deeper_than(details, 0)) {
                r = -EINVAL;
                goto out;
        }
        if (json_object_size(details) > 0)
                e.details = details;
        else
                json_decref(details);
        details = NULL;

        *ret = e;
        e = (struct event_record){};
        r = 0;
out:
        if (details)
                json_decref(details);
        event_record_release(&e);
        json_decref(root);
        return r;
}
