/* SPDX-License-Identifier: MIT */
/*
 * slices-apply.c - the I/O of `ds01 slices apply` and of ds01d's on-demand
 * slices (slices-apply.h): compare, write what differs, tell systemd.
 *
 * Unit files and drop-ins are written to a temporary file in the same
 * directory and renamed over the old one, so systemd never reads half a
 * file. Cgroup knobs cannot be renamed: they are written in place, in the
 * plan's order (v1 period before quota; v2 parents' subtree_control before
 * the children's files).
 *
 * Slices and systemd: a slice cannot be reloaded, and restarting one stops
 * every unit inside it (every container of the user), so ReloadOrRestartUnit
 * is wrong. Manager.Reload makes systemd read the new files (for the next
 * start and the next boot); SetUnitProperties with runtime=true applies the
 * limits to a running slice's cgroup at once (like `systemctl set-property
 * --runtime`), leaving its drop-ins under /run, gone at reboot, when the
 * files in /etc take over with the same values.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "slices/slices-apply.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"

#define FILE_MAX (64 * 1024) /* a unit file or cgroup knob we read back */

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int slices_cgroup_version(const char *mount)
{
        struct statfs fs;
        struct stat st;
        char path[SLICES_PATH_MAX];

        if (statfs(mount, &fs) < 0)
                return -errno;
        if ((unsigned long)fs.f_type == (unsigned long)CGROUP2_SUPER_MAGIC)
                return 2;
        snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
        if (stat(path, &st) == 0)
                return 2;
        snprintf(path, sizeof(path), "%s/memory", mount);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return 1;
        return 2;
}

/* The content of path (at most FILE_MAX bytes) into *ret; -ENOENT when absent. */
static int read_text(const char *path, char **ret)
{
        _cleanup_strbuf_ struct strbuf sb;
        char buf[4096];
        int fd, r = 0;

        strbuf_init(&sb, FILE_MAX);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                r = strbuf_append(&sb, buf, (size_t)n);
                if (r < 0)
                        break;
        }
        close(fd);
        if (r < 0)
                return r;
        *ret = strbuf_steal(&sb);
        return *ret ? 0 : -ENOMEM;
}

/* mkdir -p of the directory part of path (root/rel). */
static int mkdir_parents(const char *path)
{
        char buf[SLICES_PATH_MAX * 2];
        char *slash;

        if (strscpy(buf, sizeof(buf), path) < 0)
                return -ENAMETOOLONG;
        slash = strrchr(buf, '/');
        if (!slash || slash == buf)
                return 0;
        *slash = 0;
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, s, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += w;
                n -= (size_t)w;
        }
        return 0;
}

/* A unit file: a temporary file beside it, fsync'd, renamed over it. */
static int write_atomic(const char *path, const char *content)
{
        char tmp[SLICES_PATH_MAX * 2 + 16];
        int fd, r;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.ds01-tmp", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, content, strlen(content));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

/* A cgroup knob: written in place, in one write(2). */
static int write_knob(const char *path, const char *value)
{
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, value, strlen(value));
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        return r;
}

static int apply_item(struct slice_item *it, const char *root, bool dry_run)
{
        char path[SLICES_PATH_MAX * 2];
        char *cur = NULL;
        int r;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, it->path) >= sizeof(path))
                return -ENAMETOOLONG;
        r = read_text(path, &cur);
        if (r < 0 && r != -ENOENT)
                return r;
        free(it->current);
        it->current = cur;
        if (slice_cg_same(it->kind, it->content, cur)) {
                it->change = SLICE_UNCHANGED;
                return 0;
        }
        if (it->kind == SLICE_ITEM_ABSENT) {
                it->change = SLICE_REMOVE;
                if (dry_run)
                        return 0;
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
                /* the drop-in directory, when nothing else is in it */
                {
                        char *slash = strrchr(path, '/');
                        if (slash) {
                                *slash = 0;
                                (void)rmdir(path);
                        }
                }
                return 0;
        }
        it->change = cur ? SLICE_UPDATE : SLICE_CREATE;
        if (dry_run)
                return 0;
        r = mkdir_parents(path);
        if (r < 0)
                return r;
        return it->kind == SLICE_ITEM_FILE ? write_atomic(path, it->content)
                                           : write_knob(path, it->content);
}

int slices_apply(struct slice_plan *p, const char *root, bool dry_run)
{
        int failed = 0;

        for (size_t i = 0; i < p->n_items; i++) {
                struct slice_item *it = &p->items[i];
                int r = apply_item(it, root, dry_run);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        it->change = SLICE_FAILED;
                        it->error = r;
                        failed++;
                }
        }
        return failed;
}

size_t slices_changed(const struct slice_plan *p)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n_items; i++)
                if (p->items[i].change != SLICE_UNCHANGED)
                        n++;
        return n;
}

/* ---- systemd over D-Bus ---- */

#define SD_DEST  "org.freedesktop.systemd1"
#define SD_PATH  "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"

static void bus_unrefp(sd_bus **b)
{
        if (*b)
                sd_bus_flush_close_unref(*b);
}

static void msg_unrefp(sd_bus_message **m)
{
        if (*m)
                sd_bus_message_unref(*m);
}

static int set_properties(sd_bus *bus, const struct slice_item *it, sd_bus_error *err)
{
        __attribute__((cleanup(msg_unrefp))) sd_bus_message *m = NULL;
        const struct slice_caps *c = &it->caps;
        bool capped = it->kind == SLICE_ITEM_FILE && c->capped;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_IFACE,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", it->unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "CPUQuotaPerSecUSec", "t",
                                          capped ? slice_cpu_per_sec_usec(c->cpu_quota_percent)
                                                 : UINT64_MAX,
                                          "MemoryMax", "t", capped ? c->memory_max : UINT64_MAX,
                                          "MemoryHigh", "t", capped ? c->memory_high : UINT64_MAX,
                                          "TasksMax", "t", capped ? c->tasks_max : UINT64_MAX);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, err, NULL);
        return r;
}

int slices_systemd_reload(const struct slice_plan *p, char *msg, size_t n)
{
        __attribute__((cleanup(bus_unrefp))) sd_bus *bus = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r, updated = 0;

        if (msg && n)
                msg[0] = 0;
        if (slices_changed(p) == 0)
                return 0;
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                snprintf(msg, n,
                         "systemd is not reachable on the system bus (%s); the files are "
                         "written and systemd reads them at its next daemon-reload or boot",
                         strerror(-r));
                return -ENOTCONN;
        }
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_IFACE, "Reload", &err, NULL, NULL);
        if (r < 0) {
                snprintf(msg, n, "systemd refused to reload (%s); run 'systemctl daemon-reload'",
                         err.message ? err.message : strerror(-r));
                sd_bus_error_free(&err);
                return r;
        }
        for (size_t i = 0; i < p->n_items; i++) {
                const struct slice_item *it = &p->items[i];
                sd_bus_message *reply = NULL;

                if (!it->limits || it->change == SLICE_UNCHANGED || it->change == SLICE_FAILED)
                        continue;
                /* only slices systemd has loaded: others read the files when they start */
                r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_IFACE, "GetUnit", &err, &reply,
                                       "s", it->unit);
                sd_bus_message_unref(reply);
                if (r < 0) {
                        bool missing =
                            sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
                        sd_bus_error_free(&err);
                        if (missing)
                                continue;
                        snprintf(msg, n, "cannot look up %s in systemd (%s)", it->unit,
                                 strerror(-r));
                        return r;
                }
                r = set_properties(bus, it, &err);
                if (r < 0) {
                        snprintf(msg, n, "systemd refused the limits of %s (%s)", it->unit,
                                 err.message ? err.message : strerror(-r));
                        sd_bus_error_free(&err);
                        return r;
                }
                updated++;
        }
        return updated;
}
