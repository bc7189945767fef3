/* timeutil.h - wall-clock timestamps as they appear in configuration files
 * (reservations, exemption expiry). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* ISO 8601: "2026-06-30", "2026-06-30T23:59:59", "2026-06-30 23:59:59",
 * optional fraction ".123", and an optional zone "Z", "+02:00", "+0200", "-05".
 * Without a zone the time is local time (as the admin who wrote it sees it); a
 * date alone is midnight local time. Returns 0 and seconds since the epoch, or
 * -EINVAL (malformed or impossible date such as 2026-02-30). */
int parse_timestamp(const char *s, int64_t *ret_epoch);

/* "2026-06-30T21:59:59Z" (UTC, seconds). buf >= FORMAT_TIMESTAMP_MAX. */
#define FORMAT_TIMESTAMP_MAX 32
char *format_timestamp_utc(char *buf, size_t n, int64_t epoch);

/* A time as the CLI takes it (ds01 events --since TIME), in seconds since the
 * epoch, relative forms counted from now:
 *   ISO 8601        whatever parse_timestamp() accepts; without a zone it is
 *                   local time, as there
 *   now
 *   today           00:00 UTC of now's day: ds01 uses UTC days (events,
 *                   usage and reports are all kept in UTC)
 *   yesterday       00:00 UTC of the day before
 *   N UNIT ago      N a non-negative decimal integer, the space before UNIT
 *                   optional; UNIT second(s)|sec(s)|s, minute(s)|min(s)|m,
 *                   hour(s)|h, day(s)|d, week(s)|w ("90 minutes ago", "2d ago")
 *   @N              N seconds since the epoch, as GNU date ("@1782856799",
 *                   "@-5")
 * Case-insensitive; spaces around and between words allowed. Returns 0, or
 * -EINVAL (not one of these), -ERANGE (past the int64 range); on failure
 * *ret_epoch_s is untouched. */
int parse_time_expr(const char *s, int64_t now, int64_t *ret_epoch_s);

/* Seconds since the epoch, overridable for tests with DS01_NOW=<epoch seconds>. */
int64_t now_epoch(void);
