/* SPDX-License-Identifier: MIT */
/*
 * host-lookup.c - classify_lookup for the machine ds01 runs on: NSS for user
 * names and uids, lstat(2) (no symlink following) for the owner of a path.
 */
#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>

#include "docker/host-lookup.h"
#include "util/strutil.h"

static int uid_to_name(void *ud, unsigned uid, char *buf, size_t size)
{
        struct passwd pw, *p = NULL;
        char tmp[16384];
        if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &p) != 0 || !p)
                return -ENOENT;
        return strscpy(buf, size, pw.pw_name) < 0 ? -ENOBUFS : 0;
}

static int name_to_uid(void *ud, const char *name, unsigned *ret)
{
        struct passwd pw, *p = NULL;
        char tmp[16384];
        if (getpwnam_r(name, &pw, tmp, sizeof(tmp), &p) != 0 || !p)
                return -ENOENT;
        *ret = pw.pw_uid;
        return 0;
}

static int path_owner(void *ud, const char *path, unsigned *ret)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return -errno;
        *ret = st.st_uid;
        return 0;
}

const struct classify_lookup classify_host_lookup = {
    .uid_to_name = uid_to_name,
    .name_to_uid = name_to_uid,
    .path_owner = path_owner,
};
