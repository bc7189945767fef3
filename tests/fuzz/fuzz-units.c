/* fuzz-units.c - libFuzzer target for the value parsers of src/util: durations,
 * Docker and systemd sizes, percents (units.c), ISO 8601 timestamps and the
 * CLI's time expressions (timeutil.c). The input is one string (a NUL in it
 * ends it, as it would in a config value or an argument), given to every
 * parser. Checks what callers rely on: a failed parse leaves the result
 * untouched and returns -EINVAL or -ERANGE; a successful one is in range and
 * survives a round trip through its formatter (exactly for durations and
 * timestamps, within the formatter's one decimal for sizes). The corpus in
 * tests/fuzz/corpus/units also runs under plain gcc through replay.c. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"
#include "util/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENTINEL_I64 ((int64_t)-777)
#define SENTINEL_U64 ((uint64_t)777777)
#define NOW          INT64_C(1782856799) /* 2026-06-30T21:59:59Z */

static void fail(const char *what, const char *in, const char *detail)
{
        fprintf(stderr, "fuzz-units: %s: input '%s': %s\n", what, in, detail);
        abort();
}

static void check_error(const char *what, const char *in, int r)
{
        if (r != -EINVAL && r != -ERANGE) {
                char d[64];
                snprintf(d, sizeof(d), "returned %d", r);
                fail(what, in, d);
        }
}

static void duration(const char *s, int64_t bare_unit)
{
        int64_t v = SENTINEL_I64, v2 = SENTINEL_I64;
        char buf[FORMAT_DURATION_MAX], d[160];
        int r = parse_duration(s, bare_unit, &v);

        if (r < 0) {
                check_error("parse_duration", s, r);
                if (v != SENTINEL_I64)
                        fail("parse_duration", s, "failed but wrote its result");
                return;
        }
        if (v < 0)
                fail("parse_duration", s, "negative duration");
        format_duration(buf, sizeof(buf), v);
        r = parse_duration(buf, 1, &v2);
        if (r < 0 || v2 != v) {
                snprintf(d, sizeof(d), "%" PRId64 " formats as '%s', which parses as %" PRId64, v,
                         buf, v2);
                fail("duration round trip", s, d);
        }
}

/* A size formatted with one decimal reads back within half a tenth of its
 * unit; near the parser's maximum the rounding may go past it (-ERANGE). */
static void size_round_trip(const char *what, const char *s, uint64_t v, uint64_t max,
                            int (*parse)(const char *, uint64_t *))
{
        char buf[FORMAT_SIZE_MAX], d[160];
        uint64_t unit = 1, v2 = SENTINEL_U64, slack;
        int r;

        format_size(buf, sizeof(buf), v);
        /* the unit is the formatter's letter; it rounds to a tenth of it */
        for (const char *l = "KMGTP", *q = strchr(l, buf[strlen(buf) - 1]); q && *q; q--) {
                unit <<= 10;
                if (q == l)
                        break;
        }
        slack = unit == 1 ? 0 : unit / 20 + 1;
        r = parse(buf, &v2);
        if (r == -ERANGE && v > max - slack * 2)
                return;
        if (r < 0 || (v2 > v ? v2 - v : v - v2) > slack) {
                snprintf(d, sizeof(d), "%" PRIu64 " formats as '%s', which parses as %" PRIu64, v,
                         buf, v2);
                fail(what, s, d);
        }
}

static void sizes(const char *s)
{
        uint64_t v = SENTINEL_U64;
        int r;

        r = parse_docker_size(s, &v);
        if (r < 0) {
                check_error("parse_docker_size", s, r);
                if (v != SENTINEL_U64)
                        fail("parse_docker_size", s, "failed but wrote its result");
        } else {
                if (v > INT64_MAX)
                        fail("parse_docker_size", s, "above Docker's int64");
                size_round_trip("docker size round trip", s, v, INT64_MAX, parse_docker_size);
        }

        v = SENTINEL_U64;
        r = parse_systemd_size(s, &v);
        if (r < 0) {
                check_error("parse_systemd_size", s, r);
                if (v != SENTINEL_U64)
                        fail("parse_systemd_size", s, "failed but wrote its result");
        } else if (v != SIZE_INFINITY) {
                size_round_trip("systemd size round trip", s, v, SIZE_INFINITY - 1,
                                parse_systemd_size);
        }
}

static void percent(const char *s)
{
        double v = -1;
        int r = parse_percent(s, &v);

        if (r < 0) {
                check_error("parse_percent", s, r);
                if (v != -1)
                        fail("parse_percent", s, "failed but wrote its result");
        } else if (!(v >= 0) || !isfinite(v)) {
                fail("parse_percent", s, "not a finite, non-negative number");
        }
}

/* The year of a formatted timestamp is outside what parse_timestamp reads. */
static bool year_unreadable(const char *fmt)
{
        return strncmp(fmt, "0000-", 5) == 0 || strlen(fmt) != 20;
}

static void timestamps(const char *s)
{
        char buf[FORMAT_TIMESTAMP_MAX], at[32], d[160];
        int64_t v = SENTINEL_I64, v2 = SENTINEL_I64;
        int r;

        r = parse_timestamp(s, &v);
        if (r < 0) {
                if (r != -EINVAL)
                        fail("parse_timestamp", s, "error other than -EINVAL");
                if (v != SENTINEL_I64)
                        fail("parse_timestamp", s, "failed but wrote its result");
        } else {
                format_timestamp_utc(buf, sizeof(buf), v);
                r = parse_timestamp(buf, &v2);
                if ((r < 0 && !year_unreadable(buf)) || (r == 0 && v2 != v)) {
                        snprintf(d, sizeof(d), "%" PRId64 " formats as '%s', read back %" PRId64, v,
                                 buf, v2);
                        fail("timestamp round trip", s, d);
                }
        }

        v = SENTINEL_I64;
        r = parse_time_expr(s, NOW, &v);
        if (r < 0) {
                check_error("parse_time_expr", s, r);
                if (v != SENTINEL_I64)
                        fail("parse_time_expr", s, "failed but wrote its result");
                return;
        }
        snprintf(at, sizeof(at), "@%" PRId64, v);
        v2 = SENTINEL_I64;
        if (parse_time_expr(at, NOW, &v2) < 0 || v2 != v)
                fail("time expression round trip", s, at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s;

        if (size > 4096)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        duration(s, 1);
        duration(s, SEC_PER_HOUR);
        duration(s, SEC_PER_MIN);
        sizes(s);
        percent(s);
        timestamps(s);
        free(s);
        return 0;
}
