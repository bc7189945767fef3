/* event-record.h - one line of <log-dir>/events.jsonl: the record ds01d appends
 * for every event, in the format the Python DS01 tools wrote (so existing files,
 * dashboards and jq filters keep working), and the reader that also accepts the
 * older {"ts", "event", ...} records for 'ds01 events import'.
 *
 * The line, compact JSON, keys in this order:
 *
 *   {"timestamp":"2026-01-30T14:30:00.123456Z","event_type":"gpu.allocated",
 *    "schema_version":"1","user":"alice","source":"ds01d","details":{...}}
 *
 * The timestamp is UTC with always six fractional digits (Python's
 * isoformat() left the fraction out when it was .000000; readers accept both).
 * user and source are left out when NULL or empty, details when NULL or an
 * empty object. Strings are escaped as Python's json.dumps does by default
 * (ensure_ascii): everything outside printable ASCII becomes \u00e9 (lower-case
 * hex, surrogate pairs above U+FFFF). Numbers are written as Python writes
 * them (repr of a float: 0.1, 1e+16, 1.0). A line longer than EVENT_LINE_MAX
 * bytes gets details {"truncated":true,"original_size":N}, N being the byte
 * length the full line would have had. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define EVENT_TYPE_MAX       64   /* with the NUL: types are at most 63 bytes */
#define EVENT_LINE_MAX       4000 /* bytes, without the newline (PIPE_BUF - 96) */
#define EVENT_SCHEMA_VERSION "1"
/* Longest line event_record_parse() looks at (old records had no limit). */
#define EVENT_PARSE_MAX ((size_t)1024 * 1024)
/* Deepest nesting of objects and arrays in details, details itself counted:
 * {"a":[1]} is 2. Deeper is refused (-EINVAL) by both directions. */
#define EVENT_DETAILS_DEPTH_MAX 32

/* One event. Embedded: initialise with `struct event_record e = {};`, free with
 * event_record_release(). The record owns user, source (malloc'd, NULL when
 * none) and one reference to details (NULL when none). */
struct event_record {
        int64_t time_us;           /* microseconds since the epoch, UTC */
        char type[EVENT_TYPE_MAX]; /* "gpu.allocated", NUL-terminated */
        char *user;                /* owned; NULL or "" when none */
        char *source;              /* owned; NULL or "" when none */
        json_t *details;           /* one reference owned; a JSON object or NULL */
};

/* Frees user, source and the details reference; the record is empty after
 * (all zero), so releasing twice is harmless. NULL-safe. */
void event_record_release(struct event_record *e);

/* True for the types ds01d emits: lower-case dotted words,
 * [a-z0-9_]+(\.[a-z0-9_]+)+, at most 63 bytes. ("gpu.allocated") */
bool event_type_valid(const char *t);

/* The record as one line, without the trailing newline (the caller appends
 * '\n'). *ret_line is malloc'd (caller frees), *ret_len its length.
 * Errors: -EINVAL (empty type or one with spaces or control characters,
 * details not an object or nested deeper than EVENT_DETAILS_DEPTH_MAX, a time
 * outside years 0001..9999), -E2BIG (over EVENT_LINE_MAX even with details truncated, i.e. a
 * huge user or source), -ENOMEM. The type is not checked against
 * event_type_valid(): imported old records keep their types; ds01d checks its
 * own before logging. Strings that are not valid UTF-8 have each bad byte
 * written as \ufffd. */
int event_record_format(const struct event_record *e, char **ret_line, size_t *ret_len);

/* Reads one line (a trailing "\n" or "\r\n" is fine) into *ret, which is
 * overwritten only on success (it must not hold anything the caller still
 * needs to free). Accepted:
 *
 *   the current format above: timestamp, event_type, schema_version (any
 *   value, ignored), user and source (strings or null), details (an object or
 *   null); other keys are added to details unless details has them already;
 *
 *   the old one, {"ts": ..., "event": ..., "user": ..., "container": ...,
 *   anything else}: event becomes the type, a string user and source become
 *   user and source, every other key (container, gpu, reason, ...) goes into
 *   details in the order of the line.
 *
 * Times: ISO 8601 as parse_timestamp() reads it, "2026-01-30T14:30:00Z",
 * "...14:30:00.123456Z", "...+00:00", "...-05:00"; without a zone UTC (records
 * are UTC); the fraction is kept to the microsecond; or a number of seconds
 * since the epoch (integer or fraction). Years 0001..9999.
 * The type: 1..63 bytes, no control characters or spaces.
 * Errors: -EINVAL (not JSON, not an object, a field missing or of the wrong
 * kind, a bad time or type), -E2BIG (len > EVENT_PARSE_MAX), -ENOMEM. */
int event_record_parse(const char *line, size_t len, struct event_record *ret);
