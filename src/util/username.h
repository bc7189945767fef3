/* username.h - user names made safe for systemd slice and container names,
 * exactly as existing DS01 installations do it (slice names must not change
 * when an installation switches to ds01). */
#pragma once

#include <stddef.h>

/* The sanitized form holds at most 32 characters. */
#define USERNAME_SANITIZED_MAX 33

/* Rules, in order: drop everything from the first '@'; '.' -> '_'; every byte
 * outside [A-Za-z0-9_:] -> '_'; runs of '_' collapse to one; '_' trimmed at
 * both ends; if more than 32 characters remain, keep the first 27, trim
 * trailing '_', and append '_' plus the first 4 hex digits of the MD5 of the
 * ORIGINAL name. "h.baker@hertie-school.lan" -> "h_baker".
 * ret must hold USERNAME_SANITIZED_MAX bytes. -EINVAL when user is empty or
 * nothing is left after sanitizing. */
int username_sanitize(const char *user, char ret[static USERNAME_SANITIZED_MAX]);

/* "ds01-<group>-<sanitized>.slice" into ret (size n); -EINVAL / -ENOBUFS. */
int username_slice_name(const char *group, const char *user, char *ret, size_t n);
