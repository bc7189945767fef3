/* units.h - exact parsers and formatters for durations, sizes and percents as
 * they appear in DS01 configuration files and on command lines.
 *
 * Durations are whole seconds (int64); fractions round to the nearest second.
 * "Unlimited" is DURATION_INFINITY. Sizes are bytes (uint64). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define DURATION_INFINITY INT64_MAX
#define SIZE_INFINITY     UINT64_MAX

/* Seconds per unit, for parse_duration()'s bare-number unit. */
#define USEC_PER_SEC 1000000LL
#define SEC_PER_MIN  60LL
#define SEC_PER_HOUR 3600LL
#define SEC_PER_DAY  86400LL
#define SEC_PER_WEEK 604800LL

/* Duration: "2h" -> 7200, "0.5h" -> 1800, "1d", "1w", "30m", "3600s", "90"
 * (bare number = bare_unit seconds: 1 for plain durations, 3600 for keys that
 * end in _h, 60 for _m). Units s/m/h/d/w, case-insensitive, surrounding
 * whitespace ignored, optional whitespace between number and unit.
 * "null", "never", "indefinite", "unlimited", "none", "" (or NULL) -> DURATION_INFINITY.
 * Negative, malformed, nan/inf, or too large -> -EINVAL / -ERANGE; *ret untouched. */
int parse_duration(const char *s, int64_t bare_unit, int64_t *ret_seconds);

/* 7200 -> "2h", 90000 -> "1d 1h", 1800 -> "30m", 0 -> "0s", 3661 -> "1h 1m 1s",
 * 604800 -> "1w", DURATION_INFINITY -> "unlimited". Negative -> "-" + formatted.
 * Returns buf. buf must hold at least FORMAT_DURATION_MAX bytes. */
#define FORMAT_DURATION_MAX 64
char *format_duration(char *buf, size_t n, int64_t seconds);

/* Docker sizes: "32g", "512m", "1.5g", "100", "64 MB", "2GiB": number, optional space, one
 * of k/m/g/t/p (powers of 1024, case-insensitive), optional "i", optional "b".
 * Bare number = bytes. Fractions are truncated to whole bytes. */
int parse_docker_size(const char *s, uint64_t *ret_bytes);

/* systemd sizes: "96G", "512M", "1T", "4096" (K/M/G/T/P/E, powers of 1024,
 * upper or lower case) and "infinity" -> SIZE_INFINITY. */
int parse_systemd_size(const char *s, uint64_t *ret_bytes);

/* Percent: "9600%" -> 9600.0 (96 CPUs when used as a CPU quota). The % sign is
 * required; negative values are refused. */
int parse_percent(const char *s, double *ret_percent);

/* Bytes as a short IEC string: 34359738368 -> "32G", 1536 -> "1.5K", 0 -> "0",
 * SIZE_INFINITY -> "infinity". Same letters as Docker's size flags. */
#define FORMAT_SIZE_MAX 32
char *format_size(char *buf, size_t n, uint64_t bytes);
