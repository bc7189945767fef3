/* SPDX-License-Identifier: MIT */
/*
 * slices-glue.c - per-user cgroup slices in ds01d (src/slices):
 *
 *  - on demand: before a user's first container is created through the
 *    proxy (the proxy's user_info hook), the user's slice (systemd driver:
 *    units in /etc/systemd/system, then Reload and SetUnitProperties over
 *    D-Bus) or cgroup (cgroupfs: ds01/<group>/<user> under /sys/fs/cgroup)
 *    is made with the user's aggregate limits. Done once per user and
 *    configuration generation: afterwards a lookup in a small table. With the
 *    systemd driver and no systemd running, nothing is written (Docker's
 *    systemd driver could not use it either).
 *  - OOM kills: the main loop's tick reads the kernel log (cgroup v1) every
 *    tick and the users' OOM counters every policies.check_interval_s
 *    (slices-oom.h), and writes resource.oom_kill for each increase (user,
 *    container when known, count, total), which ds01_lifecycle_events_total
 *    {action="oom_kill"} counts.
 *
 * Locks: sg.lock, then d->lock (never the other way round). The on-demand
 * path runs on the proxy's connection threads, the tick on the main thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon.h"
#include "slices/slices-apply.h"
#include "slices/slices-oom.h"
#include "slices/slices.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define KNOWN_MAX 65536

struct known {
        char user[256];
        char group[64];
        char sanitized[USERNAME_SANITIZED_MAX];
        char driver[16];
        uint64_t gen;
};

static struct {
        pthread_mutex_t lock;
        struct known *known;
        size_t n_known, cap_known;
        int version; /* of /sys/fs/cgroup; 0 until read */
        bool told_no_systemd;
        struct slices_oom *oom;
        bool oom_tried;
        int64_t last_scan;
} sg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct known *known_find(const char *user)
{
        for (size_t i = 0; i < sg.n_known; i++)
                if (streq(sg.known[i].user, user))
                        return &sg.known[i];
        return NULL;
}

static void known_set(const struct user_limits *ul, const char *driver, uint64_t gen)
{
        struct known *k = known_find(ul->user);

        if (!k) {
                if (sg.n_known >= KNOWN_MAX)
                        sg.n_known = 0; /* start over: a cache, not a record */
                if (sg.n_known == sg.cap_known) {
                        size_t cap = sg.cap_known ? sg.cap_known * 2 : 64;
                        struct known *a = realloc(sg.known, cap * sizeof(*a));
                        if (!a)
                                return;
                        sg.known = a;
                        sg.cap_known = cap;
                }
                k = &sg.known[sg.n_known++];
        }
        (void)strscpy(k->user, sizeof(k->user), ul->user);
        (void)strscpy(k->group, sizeof(k->group), ul->group);
        (void)strscpy(k->sanitized, sizeof(k->sanitized), ul->sanitized);
        (void)strscpy(k->driver, sizeof(k->driver), driver);
        k->gen = gen;
}

static int cgroup_version(void)
{
        if (sg.version == 0) {
                int v = slices_cgroup_version(SLICES_CGROUP_MOUNT);
                sg.version = v > 0 ? v : 2;
        }
        return sg.version;
}

void slices_glue_ensure(struct ds01d *d, const struct user_limits *ul, const char *driver,
                        bool admin)
{
        uint64_t gen = __atomic_load_n(&d->config_gen, __ATOMIC_ACQUIRE);
        enum slices_driver drv = streq(driver, "cgroupfs") ? SLICES_CGROUPFS : SLICES_SYSTEMD;
        struct slice_user su = {.user = ul->user, .group = ul->group, .sanitized = ul->sanitized};
        struct slice_plan p;
        struct known *k;
        bool enforce;
        long page = sysconf(_SC_PAGESIZE);
        char msg[512];
        int r;

        if (admin || !ul->user || !ul->group || !ul->sanitized[0] || strlen(ul->user) >= 256)
                return;
        pthread_mutex_lock(&d->lock);
        enforce = d->settings.aggregate_limits;
        pthread_mutex_unlock(&d->lock);

        pthread_mutex_lock(&sg.lock);
        k = known_find(ul->user);
        if (k && k->gen == gen && streq(k->driver, driver))
                goto out; /* the usual case: done already */
        if (drv == SLICES_SYSTEMD && sd_booted() <= 0) {
                if (!sg.told_no_systemd)
                        log_notice("slices: systemd is not running; user slices are not written "
                                   "(enforcement.cgroup_driver is systemd)");
                sg.told_no_systemd = true;
                known_set(ul, driver, gen);
                goto out;
        }
        slice_caps_from_user(ul, enforce, &su.caps);
        slice_plan_init(&p, drv, cgroup_version(), page > 0 ? (uint64_t)page : 4096);
        r = slice_plan_add_user(&p, &su);
        if (r < 0) {
                log_warning_errno(r, "slices: cannot plan the slice of user=%s group=%s: %m",
                                  ul->user, ul->group);
                slice_plan_release(&p);
                goto out;
        }
        r = slices_apply(&p, drv == SLICES_SYSTEMD ? SLICES_UNIT_DIR : SLICES_CGROUP_MOUNT, false);
        for (size_t i = 0; i < p.n_items; i++)
                if (p.items[i].change == SLICE_FAILED)
                        log_warning_errno(p.items[i].error,
                                          "slices: cannot write %s for user=%s: %m (the user's "
                                          "containers run without this limit)",
                                          p.items[i].path, ul->user);
        if (slices_changed(&p) > 0)
                log_info("slices: user=%s %s=%s capped=%s files_changed=%zu", ul->user,
                         drv == SLICES_SYSTEMD ? "slice" : "cgroup",
                         drv == SLICES_SYSTEMD ? ul->slice : p.items[p.n_items - 1].unit,
                         su.caps.capped ? "yes" : "no", slices_changed(&p));
        if (drv == SLICES_SYSTEMD && slices_changed(&p) > 0) {
                int b = slices_systemd_reload(&p, msg, sizeof(msg));
                if (b < 0)
                        log_warning("slices: user=%s: %s", ul->user, msg);
        }
        if (r == 0)
                known_set(ul, driver, gen); /* a failure is tried again next time */
        slice_plan_release(&p);
out:
        pthread_mutex_unlock(&sg.lock);
}

/* The login name of a user cgroup: from the on-demand table, else the
 * sanitized name. */
static void user_of(const struct slices_oom_kill *k, char *buf, size_t n)
{
        for (size_t i = 0; i < sg.n_known; i++)
                if (streq(sg.known[i].group, k->group) && streq(sg.known[i].sanitized, k->user)) {
                        (void)strscpy(buf, n, sg.known[i].user);
                        return;
                }
        (void)strscpy(buf, n, k->user);
}

/* The container's name from the state database; lock held. */
static void container_name(struct ds01d *d, const char *id, char *buf, size_t n)
{
        struct store_container *rows = NULL;
        size_t nr = 0;

        buf[0] = 0;
        if (!id[0] || store_container_list_live(d->store, &rows, &nr) < 0)
                return;
        for (size_t i = 0; i < nr; i++)
                if (startswith(rows[i].id, id) ||
                    (strlen(rows[i].id) >= 12 && startswith(id, rows[i].id))) {
                        (void)strscpy(buf, n, rows[i].name);
                        break;
                }
        free(rows);
}

void slices_glue_tick(struct ds01d *d)
{
        struct slices_oom_kill *kills = NULL;
        size_t n = 0;
        int64_t now = now_us(), interval;
        bool counters;

        pthread_mutex_lock(&d->lock);
        interval = d->settings.check_interval * 1000000;
        pthread_mutex_unlock(&d->lock);

        pthread_mutex_lock(&sg.lock);
        if (!sg.oom && !sg.oom_tried) {
                int v = cgroup_version();
                sg.oom_tried = true;
                /* the kernel log only where the counters miss kills (v1) */
                sg.oom = slices_oom_new(SLICES_CGROUP_MOUNT, v,
                                        v == 1 && geteuid() == 0 ? "/dev/kmsg" : NULL);
        }
        if (!sg.oom) {
                pthread_mutex_unlock(&sg.lock);
                return;
        }
        counters = now - sg.last_scan >= interval;
        if (counters)
                sg.last_scan = now;
        if (slices_oom_scan(sg.oom, counters, &kills, &n) < 0 || n == 0) {
                pthread_mutex_unlock(&sg.lock);
                free(kills);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const struct slices_oom_kill *k = &kills[i];
                char user[256], name[STORE_NAME_MAX];

                user_of(k, user, sizeof(user));
                pthread_mutex_lock(&d->lock);
                container_name(d, k->container, name, sizeof(name));
                log_warning("OOM kill: user=%s group=%s container=%s count=%llu total=%llu "
                            "cgroup=%s",
                            user, k->group,
                            name[0]           ? name
                            : k->container[0] ? k->container
                                              : "-",
                            (unsigned long long)k->count, (unsigned long long)k->total, k->dir);
                daemon_event_now(
                    d, "resource.oom_kill", user,
                    json_pack("{s:o, s:o, s:s, s:I, s:I, s:s}", "container",
                              k->container[0] ? json_string(k->container) : json_null(), "name",
                              name[0] ? json_string(name) : json_null(), "group", k->group,
                              "oom_count", (json_int_t)k->count, "total_oom_kills",
                              (json_int_t)k->total, "cgroup", k->dir));
                pthread_mutex_unlock(&d->lock);
        }
        pthread_mutex_unlock(&sg.lock);
        free(kills);
}

void slices_glue_release(struct ds01d *d)
{
        (void)d;
        pthread_mutex_lock(&sg.lock);
        sg.oom = slices_oom_free(sg.oom);
        sg.oom_tried = false;
        free(sg.known);
        sg.known = NULL;
        sg.n_known = sg.cap_known = 0;
        pthread_mutex_unlock(&sg.lock);
}
