/* username.c - turns login names (including AD/LDAP names such as
 * "h.baker@hertie-school.lan") into the short, safe form used in systemd slice
 * and container names. The rules reproduce what existing DS01 installations
 * do byte for byte, because a slice name that changed on upgrade would orphan
 * the running containers' cgroups; see username.h for the rules. */
#include <errno.h>
#include <md5.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/strutil.h"
#include "util/username.h"

#define SANITIZED_LEN_MAX  (USERNAME_SANITIZED_MAX - 1) /* 32 */
#define SANITIZED_KEEP     27
#define SANITIZED_HASH_HEX 4

static bool is_kept_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == ':';
}

int username_sanitize(const char *user, char ret[static USERNAME_SANITIZED_MAX])
{
        /* One more than the limit, to see whether the limit was passed. */
        char out[SANITIZED_LEN_MAX + 2];
        size_t len = 0, total = 0;
        bool pending_underscore = false;

        if (isempty(user))
                return -EINVAL;

        /* Map every byte, collapse '_' runs and trim '_' at both ends in one
         * pass: an '_' is only written once a kept character follows it. Only
         * the first SANITIZED_LEN_MAX + 1 characters are stored; total counts
         * them all. */
        for (const char *p = user; *p && *p != '@'; p++) {
                char c = is_kept_char(*p) ? *p : '_'; /* '.' included */

                if (c == '_') {
                        pending_underscore = total > 0;
                        continue;
                }
                if (pending_underscore) {
                        if (len < sizeof(out) - 1)
                                out[len++] = '_';
                        total++;
                        pending_underscore = false;
                }
                if (len < sizeof(out) - 1)
                        out[len++] = c;
                total++;
        }
        out[len] = '\0';

        if (total == 0)
                return -EINVAL;

        if (total > SANITIZED_LEN_MAX) {
                uint8_t digest[MD5_DIGEST_LENGTH];
                MD5_CTX ctx;

                len = SANITIZED_KEEP;
                while (len > 0 && out[len - 1] == '_')
                        len--;
                MD5Init(&ctx);
                MD5Update(&ctx, (const uint8_t *)user, strlen(user));
                MD5Final(digest, &ctx);
                (void)snprintf(out + len, sizeof(out) - len, "_%02x%02x", digest[0], digest[1]);
        }

        memcpy(ret, out, strlen(out) + 1);
        return 0;
}

int username_slice_name(const char *group, const char *user, char *ret, size_t n)
{
        char name[USERNAME_SANITIZED_MAX];
        int k, r;

        /* The group becomes one level of the slice hierarchy: a '-' would add
         * a level, other bytes are not allowed in unit names. */
        if (isempty(group))
                return -EINVAL;
        for (const char *p = group; *p; p++)
                if (!is_kept_char(*p))
                        return -EINVAL;

        r = username_sanitize(user, name);
        if (r < 0)
                return r;

        k = snprintf(NULL, 0, "ds01-%s-%s.slice", group, name);
        if (k < 0)
                return -EINVAL;
        if (!ret || (size_t)k >= n)
                return -ENOBUFS;
        (void)snprintf(ret, n, "ds01-%s-%s.slice", group, name);
        return 0;
}
