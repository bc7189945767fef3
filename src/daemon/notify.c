/* SPDX-License-Identifier: MIT */
/*
 * notify.c - ds01d telling a user something on their terminals (utmp), for
 * lifecycle warnings, quota alerts, a queued GPU that is ready and GPU
 * processes outside containers. lifecycle/notify.h does the writing.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>

#include "daemon/daemon.h"
#include "lifecycle/notify.h"

int daemon_user_ids(const char *user, uid_t *ret_uid, gid_t *ret_gid)
{
        struct passwd pw, *pwp = NULL;
        char buf[16384];

        if (!user || !*user || getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
                return -ENOENT;
        if (ret_uid)
                *ret_uid = pw.pw_uid;
        if (ret_gid)
                *ret_gid = pw.pw_gid;
        return 0;
}

int daemon_notify_user(struct ds01d *d, const char *user, const char *text)
{
        uid_t uid;
        int r;

        (void)d;
        r = daemon_user_ids(user, &uid, NULL);
        if (r < 0)
                return r;
        return notify_terminals(NULL, NULL, user, uid, text);
}
