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

/* Seconds since the epoch, overridable for tests with DS01_NOW=<epoch seconds>. */
int64_t now_epoch(void);
