/* strutil.h - string helpers: comparisons, trimming, UTF-8 validation, edit
 * distance for "did you mean" suggestions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "util/macro.h"

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s)
{
        return !s || !*s;
}

/* Returns a pointer past the prefix in s when s starts with prefix, else NULL. */
const char *startswith(const char *s, const char *prefix);
const char *startswith_no_case(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* Copies src into dst of size n, always NUL-terminating. Returns -ENOBUFS if
 * src did not fit (dst then holds the truncated prefix), else 0. */
int strscpy(char *dst, size_t n, const char *src);

/* ASCII whitespace trimmed from both ends, in place; returns s. */
char *strstrip(char *s);
/* ASCII lower-case, in place; returns s. */
char *strlower(char *s);

/* True when name is one of the items of the comma-separated list (exactly:
 * "1.2" is not in "1.20,3"). A NULL list holds nothing. */
bool csv_has(const char *list, const char *name);

/* strdup that returns NULL for NULL input. Caller frees. */
char *strdup_or_null(const char *s);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code points above U+10FFFF). On false, *ret_bad (if not NULL) is the offset of
 * the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *ret_bad);

/* Levenshtein distance between a and b (ASCII, case-sensitive); strings longer
 * than 64 bytes return SIZE_MAX. */
size_t str_edit_distance(const char *a, const char *b);

/* Parses a whole decimal int64 / double (leading and trailing ASCII space
 * allowed, nothing else). 0, -EINVAL (not a number), -ERANGE (overflow,
 * inf or nan). On failure *ret is untouched. */
int safe_atoi64(const char *s, long long *ret);
int safe_atod(const char *s, double *ret);
