/* SPDX-License-Identifier: MIT */
/*
 * slices-oom.c - OOM kills in the users' cgroups, from the cgroup counters
 * and (cgroup v1) the kernel log; see slices-oom.h for why both.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slices/slices-oom.h"
#include "slices/slices.h"
#include "util/macro.h"
#include "util/strutil.h"

#define MAX_ENTRIES  4096 /* user cgroups followed */
#define MAX_CHILDREN 256  /* containers followed per user */
#define KMSG_RECORD  8192 /* /dev/kmsg returns one record per read; this is its limit */

struct oom_child {
        char name[128];
        uint64_t last;
        bool seen;
};

struct oom_entry {
        struct slice_cgroup_ref ref;
        uint64_t base;          /* the count when first seen: history */
        uint64_t counter_total; /* v2: the user's memory.events; v1: own + children + gone */
        uint64_t gone;          /* v1: the last counts of children that are gone */
        uint64_t kmsg_new;      /* kills in the kernel log since first seen */
        uint64_t reported;      /* new kills reported so far */
        struct oom_child *children;
        size_t n_children;
        char container[128]; /* who the latest increase was seen in */
        bool seen;           /* found by the last walk */
};

struct slices_oom {
        char memroot[512]; /* the memory controller's mount */
        int version;
        int kmsg_fd;
        struct oom_entry *entries;
        size_t n_entries;
};

struct slices_oom *slices_oom_new(const char *mount, int version, const char *kmsg_path)
{
        struct slices_oom *o = calloc(1, sizeof(*o));

        if (!o)
                return NULL;
        o->version = version == 2 ? 2 : 1;
        snprintf(o->memroot, sizeof(o->memroot), "%s%s", mount, o->version == 1 ? "/memory" : "");
        o->kmsg_fd = -1;
        if (kmsg_path) {
                o->kmsg_fd = open(kmsg_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                /* only what comes from now on */
                if (o->kmsg_fd >= 0 && lseek(o->kmsg_fd, 0, SEEK_END) < 0) {
                        close(o->kmsg_fd);
                        o->kmsg_fd = -1;
                }
        }
        return o;
}

struct slices_oom *slices_oom_free(struct slices_oom *o)
{
        if (!o)
                return NULL;
        for (size_t i = 0; i < o->n_entries; i++)
                free(o->entries[i].children);
        free(o->entries);
        if (o->kmsg_fd >= 0)
                close(o->kmsg_fd);
        free(o);
        return NULL;
}

/* The "oom_kill" count in dir/file (relative to the memory mount). */
static int read_count(const struct slices_oom *o, const char *dir, const char *child, uint64_t *ret)
{
        char path[1024], buf[1024];
        ssize_t n;
        int fd;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s%s%s/%s", o->memroot, dir, child ? "/" : "",
                             child ? child : "",
                             o->version == 2 ? "memory.events" : "memory.oom_control") >=
            sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return slice_parse_oom_kill(buf, ret);
}

static struct oom_child *child_find(struct oom_entry *e, const char *name)
{
        for (size_t i = 0; i < e->n_children; i++)
                if (streq(e->children[i].name, name))
                        return &e->children[i];
        return NULL;
}

/* Reads e's counters into counter_total; notes the container whose count
 * went up. */
static int read_counters(struct slices_oom *o, struct oom_entry *e)
{
        char path[1024];
        uint64_t own = 0, sum = 0;
        struct dirent *de;
        DIR *dir;
        int r;

        r = read_count(o, e->ref.dir, NULL, &own);
        if (r < 0)
                return r; /* gone, or no oom_kill line (kernel < 4.13) */
        snprintf(path, sizeof(path), "%s/%s", o->memroot, e->ref.dir);
        dir = opendir(path);
        if (!dir)
                return -errno;
        for (size_t i = 0; i < e->n_children; i++)
                e->children[i].seen = false;
        while ((de = readdir(dir))) {
                struct oom_child *c;
                uint64_t v = 0;

                if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
                    strlen(de->d_name) >= sizeof(c->name))
                        continue;
                if (read_count(o, e->ref.dir, de->d_name, &v) < 0)
                        continue;
                c = child_find(e, de->d_name);
                if (!c) {
                        struct oom_child *a;
                        if (e->n_children >= MAX_CHILDREN)
                                continue;
                        a = realloc(e->children, (e->n_children + 1) * sizeof(*a));
                        if (!a) {
                                closedir(dir);
                                return -ENOMEM;
                        }
                        e->children = a;
                        c = &a[e->n_children++];
                        *c = (struct oom_child){.last = 0};
                        (void)strscpy(c->name, sizeof(c->name), de->d_name);
                }
                if (v > c->last) {
                        char id[128];
                        struct slice_cgroup_ref ref;
                        snprintf(path, sizeof(path), "/%s/%s", e->ref.dir, c->name);
                        if (slice_parse_cgroup_path(path, &ref) == 0)
                                (void)strscpy(id, sizeof(id), ref.container);
                        else
                                (void)strscpy(id, sizeof(id), c->name);
                        (void)strscpy(e->container, sizeof(e->container), id);
                }
                c->last = v;
                c->seen = true;
        }
        closedir(dir);
        /* children that are gone: v1 keeps their counts (v2's parent has them) */
        for (size_t i = 0; i < e->n_children;) {
                if (e->children[i].seen) {
                        sum += e->children[i].last;
                        i++;
                        continue;
                }
                e->gone += e->children[i].last;
                e->children[i] = e->children[--e->n_children];
        }
        e->counter_total = o->version == 2 ? own : own + sum + e->gone;
        return 0;
}

static struct oom_entry *entry_get(struct slices_oom *o, const struct slice_cgroup_ref *ref)
{
        struct oom_entry *e;

        for (size_t i = 0; i < o->n_entries; i++)
                if (streq(o->entries[i].ref.dir, ref->dir))
                        return &o->entries[i];
        if (o->n_entries >= MAX_ENTRIES)
                return NULL;
        e = realloc(o->entries, (o->n_entries + 1) * sizeof(*e));
        if (!e)
                return NULL;
        o->entries = e;
        e = &e[o->n_entries++];
        *e = (struct oom_entry){.ref = *ref};
        e->ref.container[0] = 0;
        /* what it counted until now is history */
        if (read_counters(o, e) == 0)
                e->base = e->counter_total;
        e->container[0] = 0;
        return e;
}

static void kmsg_read(struct slices_oom *o)
{
        char buf[KMSG_RECORD + 1];

        if (o->kmsg_fd < 0)
                return;
        for (int reads = 0; reads < 10000; reads++) {
                ssize_t n = read(o->kmsg_fd, buf, KMSG_RECORD);
                if (n < 0) {
                        if (errno == EINTR || errno == EPIPE) /* EPIPE: records overwritten */
                                continue;
                        return; /* EAGAIN: nothing more */
                }
                if (n == 0)
                        return;
                buf[n] = 0;
                for (char *line = buf, *next; line && *line; line = next) {
                        char memcg[512];
                        struct slice_cgroup_ref ref;
                        struct oom_entry *e;

                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        if (slice_parse_kmsg_oom(line, memcg, sizeof(memcg)) < 0 ||
                            slice_parse_cgroup_path(memcg, &ref) < 0)
                                continue;
                        e = entry_get(o, &ref);
                        if (!e)
                                continue;
                        e->kmsg_new++;
                        (void)strscpy(e->container, sizeof(e->container), ref.container);
                }
        }
}

/* Every user cgroup under the memory mount, in both layouts. */
static void walk(struct slices_oom *o)
{
        static const char *const tops[] = {"ds01", "ds01.slice"};
        char path[1024];

        for (size_t t = 0; t < ELEMENTSOF(tops); t++) {
                DIR *gd;
                struct dirent *g;

                snprintf(path, sizeof(path), "%s/%s", o->memroot, tops[t]);
                gd = opendir(path);
                if (!gd)
                        continue;
                while ((g = readdir(gd))) {
                        DIR *ud;
                        struct dirent *u;

                        if (g->d_type != DT_DIR || g->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s/%s", o->memroot, tops[t], g->d_name);
                        ud = opendir(path);
                        if (!ud)
                                continue;
                        while ((u = readdir(ud))) {
                                struct slice_cgroup_ref ref;
                                struct oom_entry *e;

                                if (u->d_type != DT_DIR || u->d_name[0] == '.')
                                        continue;
                                snprintf(path, sizeof(path), "/%s/%s/%s", tops[t], g->d_name,
                                         u->d_name);
                                if (slice_parse_cgroup_path(path, &ref) < 0)
                                        continue;
                                e = entry_get(o, &ref);
                                if (!e)
                                        continue;
                                e->seen = true;
                                (void)read_counters(o, e);
                        }
                        closedir(ud);
                }
                closedir(gd);
        }
}

int slices_oom_scan(struct slices_oom *o, bool counters, struct slices_oom_kill **ret,
                    size_t *ret_n)
{
        struct slices_oom_kill *out = NULL;
        size_t n = 0;

        kmsg_read(o);
        if (counters) {
                for (size_t i = 0; i < o->n_entries; i++)
                        o->entries[i].seen = false;
                walk(o);
        }
        for (size_t i = 0; i < o->n_entries; i++) {
                struct oom_entry *e = &o->entries[i];
                uint64_t by_counter = e->counter_total > e->base ? e->counter_total - e->base : 0;
                uint64_t now = MAX(by_counter, e->kmsg_new);
                struct slices_oom_kill *k;

                if (now <= e->reported)
                        continue;
                k = realloc(out, (n + 1) * sizeof(*k));
                if (!k) {
                        free(out);
                        return -ENOMEM;
                }
                out = k;
                k = &out[n++];
                *k = (struct slices_oom_kill){.count = now - e->reported, .total = e->base + now};
                (void)strscpy(k->group, sizeof(k->group), e->ref.group);
                (void)strscpy(k->user, sizeof(k->user), e->ref.user);
                (void)strscpy(k->dir, sizeof(k->dir), e->ref.dir);
                (void)strscpy(k->container, sizeof(k->container), e->container);
                e->reported = now;
                e->container[0] = 0;
        }
        /* forget user cgroups that are gone (after their last report) */
        if (counters)
                for (size_t i = 0; i < o->n_entries;) {
                        if (o->entries[i].seen) {
                                i++;
                                continue;
                        }
                        free(o->entries[i].children);
                        o->entries[i] = o->entries[--o->n_entries];
                }
        *ret = out;
        *ret_n = n;
        return 0;
}
