/* SPDX-License-Identifier: MIT */
/*
 * collect.c - the /metrics page: one collector per source (state database,
 * containers, events, GPUs, host, queue), each isolated: a collector that
 * fails is rolled back out of the page and counted in
 * ds01_collector_errors_total{collector}, and the rest of the scrape still
 * comes. Metric names and labels are those of existing DS01 dashboards
 * (docs/METRICS.md). Everything is read from memory or with indexed queries
 * so a scrape stays in milliseconds: the 24 h event counts are kept up to date
 * between scrapes instead of counted again.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <utmpx.h>

#include "daemon/daemon.h"
#include "docker/docker.h"
#include "hostproc/hostproc.h"
#include "metrics/expo.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define DAY_US          (24LL * 3600 * 1000000)
#define EVENT_TYPES_MAX 512

static const char *const collector_names[_COLLECTOR_MAX] = {
    [COLLECTOR_STATE] = "state",   [COLLECTOR_CONTAINERS] = "containers",
    [COLLECTOR_EVENTS] = "events", [COLLECTOR_GPU] = "gpu",
    [COLLECTOR_HOST] = "host",     [COLLECTOR_QUEUE] = "queue",
};

static const char *const interfaces[] = {"orchestration", "atomic", "api",    "devcontainer",
                                         "compose",       "docker", "unknown"};
static const char *const statuses[] = {"created",    "running", "paused",
                                       "restarting", "exited",  "dead"};
static const char *const lifecycle_actions[] = {
    "idle_kill",      "runtime_kill",      "oom_kill",          "gpu_warning",
    "memory_warning", "container_warning", "bare_metal_warning"};

static void fmt_uint(char *buf, size_t n, unsigned long long v)
{
        snprintf(buf, n, "%llu", v);
}

/* ---- state: allocations, users, groups, reservations ---- */

struct user_sum {
        const char *user;
        unsigned slots, mig;
        double weight;
        unsigned containers;
};

static struct user_sum *user_find(struct user_sum *u, size_t *n, size_t cap, const char *user)
{
        for (size_t i = 0; i < *n; i++)
                if (streq(u[i].user, user))
                        return &u[i];
        if (*n >= cap)
                return NULL;
        u[*n] = (struct user_sum){.user = user};
        return &u[(*n)++];
}

static int collect_state(struct ds01d *d, struct expo *e)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        struct store_reservation *res = NULL;
        struct user_sum *users = NULL;
        struct store_container *ct = NULL;
        size_t n = 0, n_res = 0, n_users = 0, n_ct = 0, cap;
        int64_t now_s = now_us() / 1000000;
        long long active = 0;
        int r;

        r = store_alloc_list(d->store, &f, &a, &n);
        if (r < 0)
                return r;
        /* the live ones: the table keeps every container ever seen */
        r = store_container_list_live(d->store, &ct, &n_ct);
        if (r < 0) {
                free(a);
                return r;
        }
        cap = n + n_ct;
        users = calloc(cap ? cap : 1, sizeof(*users));
        if (!users) {
                free(a);
                free(ct);
                return -ENOMEM;
        }
        expo_family(e, "ds01_gpu_allocated", EXPO_GAUGE,
                    "1 for every GPU slot allocated to a container");
        for (size_t i = 0; i < n; i++) {
                int k = state_slot_index(d, a[i].slot);
                const char *l[] = {
                    "gpu_slot",  a[i].slot,
                    "container", a[i].container,
                    "user",      a[i].user,
                    "interface", a[i].interface,
                    "profile",   k >= 0 && d->slots[k].mig >= 0 ? d->slots[k].profile : "full",
                    NULL};
                expo_sample(e, NULL, l, 1);
        }
        expo_family(e, "ds01_gpu_equivalents", EXPO_GAUGE,
                    "GPU-equivalents of every allocated slot (full GPU 1, MIG its share)");
        for (size_t i = 0; i < n; i++) {
                int k = state_slot_index(d, a[i].slot);
                const char *l[] = {
                    "gpu_slot",  a[i].slot,
                    "user",      a[i].user,
                    "interface", a[i].interface,
                    "profile",   k >= 0 && d->slots[k].mig >= 0 ? d->slots[k].profile : "full",
                    NULL};
                struct user_sum *u = user_find(users, &n_users, cap, a[i].user);
                bool seen = false;
                expo_sample(e, NULL, l, a[i].weight);
                if (!u)
                        continue;
                u->slots++;
                u->weight += a[i].weight;
                u->mig += k >= 0 && d->slots[k].mig >= 0;
                /* a container Docker has is counted below, from the containers table */
                for (size_t j = 0; j < i; j++)
                        if (streq(a[j].container, a[i].container))
                                seen = true;
                for (size_t j = 0; j < n_ct && !seen; j++)
                        if (!streq(ct[j].state, "removed") &&
                            (streq(ct[j].name, a[i].container) || streq(ct[j].id, a[i].container)))
                                seen = true;
                u->containers += !seen;
        }
        for (size_t j = 0; j < n_ct; j++) {
                struct user_sum *u;
                if (!ct[j].user[0] || streq(ct[j].state, "removed"))
                        continue;
                u = user_find(users, &n_users, cap, ct[j].user);
                if (u)
                        u->containers++;
        }
        expo_family(e, "ds01_user_gpus_allocated", EXPO_GAUGE, "GPU slots a user holds");
        for (size_t i = 0; i < n_users; i++)
                expo_sample1(e, "user", users[i].user, users[i].slots);
        expo_family(e, "ds01_user_gpu_equivalents", EXPO_GAUGE, "GPU-equivalents a user holds");
        for (size_t i = 0; i < n_users; i++)
                expo_sample1(e, "user", users[i].user, users[i].weight);
        expo_family(e, "ds01_user_mig_allocated", EXPO_GAUGE, "MIG slots a user holds");
        for (size_t i = 0; i < n_users; i++)
                expo_sample1(e, "user", users[i].user, users[i].mig);
        /* Names that end in _total/_count but are gauges (existing dashboards
         * use them) are typed untyped, so promtool's naming rule holds and
         * Prometheus stores them like gauges (docs/METRICS.md). */
        expo_family(e, "ds01_user_containers_count", EXPO_UNTYPED,
                    "the user's containers, any state");
        for (size_t i = 0; i < n_users; i++)
                expo_sample1(e, "user", users[i].user, users[i].containers);

        /* groups from the configuration */
        expo_family(e, "ds01_user_group_info", EXPO_GAUGE, "1 for every user and their group");
        for (size_t g = 0; g < d->config->n_groups; g++)
                for (size_t m = 0; m < d->config->groups[g].n_members; m++) {
                        const char *l[] = {"user", d->config->groups[g].members[m], "group",
                                           d->config->groups[g].name, NULL};
                        expo_sample(e, NULL, l, 1);
                }
        expo_family(e, "ds01_group_members_total", EXPO_UNTYPED, "members of each group");
        for (size_t g = 0; g < d->config->n_groups; g++)
                expo_sample1(e, "group", d->config->groups[g].name,
                             (double)d->config->groups[g].n_members);

        r = store_reservation_list(d->store, now_s, &res, &n_res);
        if (r >= 0) {
                for (size_t i = 0; i < n_res; i++)
                        active += now_s >= res[i].start && now_s < res[i].end;
                expo_family(e, "ds01_reservations_active", EXPO_GAUGE,
                            "reservations in their window now");
                expo_sample1(e, NULL, NULL, (double)active);
        }
        free(res);
        free(users);
        free(ct);
        free(a);
        return r < 0 ? r : 0;
}

/* ---- containers ---- */

static int collect_containers(struct ds01d *d, struct expo *e)
{
        struct store_container *c = NULL;
        size_t n = 0;
        long long counts[ELEMENTSOF(statuses)][ELEMENTSOF(interfaces)] = {{0}};
        int r;

        r = store_container_list_live(d->store, &c, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                size_t si = ELEMENTSOF(statuses), ii = ELEMENTSOF(interfaces) - 1;
                for (size_t k = 0; k < ELEMENTSOF(statuses); k++)
                        if (streq(c[i].state, statuses[k]))
                                si = k;
                for (size_t k = 0; k < ELEMENTSOF(interfaces); k++)
                        if (streq(c[i].type, interfaces[k]))
                                ii = k;
                if (si < ELEMENTSOF(statuses))
                        counts[si][ii]++;
        }
        free(c);
        expo_family(e, "ds01_containers_total", EXPO_UNTYPED,
                    "containers Docker has, by status and interface (type)");
        for (size_t s = 0; s < ELEMENTSOF(statuses); s++)
                for (size_t i = 0; i < ELEMENTSOF(interfaces); i++) {
                        const char *l[] = {"status", statuses[s], "interface", interfaces[i], NULL};
                        expo_sample(e, NULL, l, (double)counts[s][i]);
                }
        return 0;
}

/* ---- events ---- */

void metrics_events_invalidate(struct ds01d *d)
{
        d->events24.valid = false;
}

static int window_add(void *ud, const char *type, long long n)
{
        struct ds01d *d = ud;
        struct event_window *w = &d->events24;
        size_t i;

        for (i = 0; i < w->n; i++)
                if (streq(w->types[i], type))
                        break;
        if (i == w->n) {
                char(*t)[STORE_WORD_MAX];
                long long *c;
                if (w->n >= EVENT_TYPES_MAX)
                        return 0; /* a flood of made-up types stops here */
                t = reallocarray(w->types, w->n + 1, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                w->types = t;
                c = reallocarray(w->counts, w->n + 1, sizeof(*c));
                if (!c)
                        return -ENOMEM;
                w->counts = c;
                (void)strscpy(w->types[w->n], sizeof(w->types[w->n]), type);
                w->counts[w->n++] = 0;
        }
        w->counts[i] += n;
        return 0;
}

static int window_sub(void *ud, const char *type, long long n)
{
        return window_add(ud, type, -n);
}

/* Lifecycle actions are counted all-time once (by type, indexed), then kept
 * up to date with the events that enter the 24 h window. */
/* The event types each action counts, as the old exporter mapped them
 * (maintenance.idle_kill -> idle_kill, ...), plus the alert names ds01d
 * writes and "lifecycle.<action>". */
static const struct {
        const char *type;
        unsigned action; /* index into lifecycle_actions */
} lifecycle_types[] = {
    {"maintenance.idle_kill", 0},       {"maintenance.runtime_kill", 1},
    {"resource.oom_kill", 2},           {"alert.gpu_warning", 3},
    {"alert.gpu_usage_high", 3},        {"alert.gpu_limit_reached", 3},
    {"alert.memory_warning", 4},        {"alert.memory_usage_high", 4},
    {"alert.memory_limit_reached", 4},  {"alert.container_warning", 5},
    {"alert.container_usage_high", 5},  {"alert.container_limit_reached", 5},
    {"bare_metal.warning", 6},          {"lifecycle.idle_kill", 0},
    {"lifecycle.runtime_kill", 1},      {"lifecycle.oom_kill", 2},
    {"lifecycle.gpu_warning", 3},       {"lifecycle.memory_warning", 4},
    {"lifecycle.container_warning", 5}, {"lifecycle.bare_metal_warning", 6},
};

static void lifecycle_add(struct ds01d *d, const char *type, long long n)
{
        for (size_t i = 0; i < ELEMENTSOF(lifecycle_types); i++)
                if (streq(type, lifecycle_types[i].type))
                        d->lifecycle_counts[lifecycle_types[i].action] += n;
}

static int window_enter(void *ud, const char *type, long long n)
{
        lifecycle_add(ud, type, n);
        return window_add(ud, type, n);
}

static int collect_events(struct ds01d *d, struct expo *e)
{
        struct event_window *w = &d->events24;
        int64_t now = now_us(), from = now - DAY_US;
        int r = 0;

        if (!w->valid || from < w->from || now < w->to || from >= w->to) {
                w->n = 0;
                r = store_event_type_counts(d->store, from, now, window_add, d);
                for (size_t i = 0; i < ELEMENTSOF(lifecycle_actions); i++)
                        d->lifecycle_counts[i] = 0;
                for (size_t i = 0; i < ELEMENTSOF(lifecycle_types) && r >= 0; i++) {
                        long long c = 0;
                        r = store_event_count_type(d->store, lifecycle_types[i].type, &c);
                        d->lifecycle_counts[lifecycle_types[i].action] += c;
                }
        } else {
                /* add what entered the window, take off what left it */
                r = store_event_type_counts(d->store, w->to, now, window_enter, d);
                if (r >= 0)
                        r = store_event_type_counts(d->store, w->from, from, window_sub, d);
        }
        if (r < 0) {
                w->valid = false;
                return r;
        }
        w->valid = true;
        w->from = from;
        w->to = now;
        expo_family(e, "ds01_events_24h_total", EXPO_UNTYPED,
                    "events of each type in the last 24 hours");
        for (size_t i = 0; i < w->n; i++)
                if (w->counts[i] > 0)
                        expo_sample1(e, "event_type", w->types[i], (double)w->counts[i]);

        expo_family(e, "ds01_lifecycle_events_total", EXPO_COUNTER,
                    "lifecycle actions taken, by action");
        for (size_t i = 0; i < ELEMENTSOF(lifecycle_actions); i++)
                expo_sample1(e, "action", lifecycle_actions[i], (double)d->lifecycle_counts[i]);
        expo_family(e, "ds01_event_log_errors_total", EXPO_COUNTER,
                    "events that could not be written to the database or events.jsonl");
        expo_sample1(e, NULL, NULL, (double)d->event_errors);
        return 0;
}

/* ---- GPUs ---- */

static int collect_gpu(struct ds01d *d, struct expo *e)
{
        char g[16], gi[16];

        expo_family(e, "ds01_gpu_slot_info", EXPO_GAUGE,
                    "1 for every GPU: its index, UUID and whether MIG is on");
        for (size_t i = 0; i < d->n_gpus; i++) {
                const char *l[] = {"gpu",         g,
                                   "slot",        g,
                                   "gpu_uuid",    d->gpus[i].uuid,
                                   "mig_enabled", d->gpus[i].mig_enabled ? "true" : "false",
                                   NULL};
                fmt_uint(g, sizeof(g), d->gpus[i].index);
                expo_sample(e, NULL, l, 1);
        }
        expo_family(e, "ds01_mig_slot_info", EXPO_GAUGE,
                    "1 for every MIG slot: its GPU, GPU instance id and MIG UUID (from NVML)");
        for (size_t i = 0; i < d->n_slots; i++) {
                const struct slot_view *s = &d->slots[i];
                const char *l[] = {"gpu",   g,          "gpu_i_id", gi,  "slot",
                                   s->name, "mig_uuid", s->uuid,    NULL};
                if (s->mig < 0)
                        continue;
                fmt_uint(g, sizeof(g), s->gpu);
                fmt_uint(gi, sizeof(gi), s->gpu_instance_id);
                expo_sample(e, NULL, l, 1);
        }

#define GPU_FAMILY(name, type, help, flag, expr)                                                   \
        do {                                                                                       \
                expo_family(e, name, type, help);                                                  \
                for (size_t i = 0; i < d->n_gpus; i++) {                                           \
                        const struct gpu_reading *rd = &d->gpus[i].reading;                        \
                        if (!d->have_sample || !(rd->has & (flag)))                                \
                                continue;                                                          \
                        fmt_uint(g, sizeof(g), d->gpus[i].index);                                  \
                        expo_sample1(e, "gpu", g, (expr));                                         \
                }                                                                                  \
        } while (0)

        GPU_FAMILY("ds01_gpu_utilization_percent", EXPO_GAUGE, "GPU utilization (NVML)",
                   GPU_HAS_UTIL_GPU, rd->util_gpu);
        GPU_FAMILY("ds01_gpu_memory_used_bytes", EXPO_GAUGE, "GPU memory used (NVML)",
                   GPU_HAS_MEMORY, (double)rd->memory_used);
        GPU_FAMILY("ds01_gpu_memory_total_bytes", EXPO_GAUGE, "GPU memory (NVML)", GPU_HAS_MEMORY,
                   (double)rd->memory_total);
        GPU_FAMILY("ds01_gpu_temperature_celsius", EXPO_GAUGE, "GPU temperature (NVML)",
                   GPU_HAS_TEMPERATURE, rd->temperature_c);
        GPU_FAMILY("ds01_gpu_power_watts", EXPO_GAUGE, "GPU power draw (NVML)", GPU_HAS_POWER,
                   rd->power_mw / 1000.0);
        GPU_FAMILY("ds01_gpu_energy_joules_total", EXPO_COUNTER,
                   "energy the GPU used since the driver loaded (NVML)", GPU_HAS_ENERGY,
                   rd->energy_mj / 1000.0);
#undef GPU_FAMILY
        expo_family(e, "ds01_gpu_ecc_errors_total", EXPO_COUNTER,
                    "volatile ECC errors (NVML): sbe corrected, dbe uncorrected");
        for (size_t i = 0; i < d->n_gpus; i++) {
                const struct gpu_reading *rd = &d->gpus[i].reading;
                const char *l1[] = {"gpu", g, "type", "sbe", NULL};
                const char *l2[] = {"gpu", g, "type", "dbe", NULL};
                if (!d->have_sample || !(rd->has & GPU_HAS_ECC))
                        continue;
                fmt_uint(g, sizeof(g), d->gpus[i].index);
                expo_sample(e, NULL, l1, (double)rd->ecc_sbe_volatile);
                expo_sample(e, NULL, l2, (double)rd->ecc_dbe_volatile);
        }
        expo_family(e, "ds01_gpu_xid_errors_total", EXPO_COUNTER,
                    "XID errors NVML reported since ds01d started");
        for (size_t i = 0; i < d->n_gpus; i++) {
                fmt_uint(g, sizeof(g), d->gpus[i].index);
                expo_sample1(e, "gpu", g, (double)d->gpus[i].reading.xid_total);
        }
        expo_family(e, "ds01_gpu_healthy", EXPO_GAUGE, "1 when the GPU answers NVML, 0 when lost");
        for (size_t i = 0; i < d->n_gpus; i++) {
                fmt_uint(g, sizeof(g), d->gpus[i].index);
                expo_sample1(e, "gpu", g, d->gpus[i].reading.healthy ? 1 : 0);
        }
        expo_family(e, "ds01_mig_utilization_percent", EXPO_GAUGE,
                    "SM utilization of a MIG slot's GPU instance (GPM, Hopper and later)");
        for (size_t i = 0; i < d->n_slots; i++) {
                const struct slot_view *s = &d->slots[i];
                if (s->mig >= 0 && (s->reading.has & GPU_HAS_UTIL_GPU))
                        expo_sample1(e, "gpu_slot", s->name, s->reading.util);
        }
        expo_family(e, "ds01_mig_memory_used_bytes", EXPO_GAUGE, "memory used in a MIG slot");
        for (size_t i = 0; i < d->n_slots; i++) {
                const struct slot_view *s = &d->slots[i];
                if (s->mig >= 0 && (s->reading.has & GPU_HAS_MEMORY))
                        expo_sample1(e, "gpu_slot", s->name, (double)s->reading.memory_used);
        }
        return 0;
}

/* ---- host: disk, ssh sessions, unmanaged containers, GPU processes outside them ---- */

static int collect_host(struct ds01d *d, struct expo *e)
{
        struct statvfs vfs;
        struct utmpx *ut;
        const char *users[256];
        double counts[256];
        size_t n = 0;
        double total = 0;

        if (statvfs(d->opt.state_dir, &vfs) == 0) {
                double bs = (double)vfs.f_frsize;
                expo_family(e, "ds01_state_disk_bytes", EXPO_GAUGE,
                            "size of the file system holding the state dir");
                expo_sample1(e, "type", "total", bs * (double)vfs.f_blocks);
                expo_sample1(e, "type", "used", bs * (double)(vfs.f_blocks - vfs.f_bfree));
                expo_sample1(e, "type", "free", bs * (double)vfs.f_bavail);
        }

        /* SSH sessions: logged-in users with a remote host, from utmp */
        char names[256][sizeof(((struct utmpx *)0)->ut_user) + 1];
        setutxent();
        while ((ut = getutxent())) {
                char name[sizeof(ut->ut_user) + 1];
                size_t i;
                if (ut->ut_type != USER_PROCESS || !ut->ut_host[0])
                        continue;
                memcpy(name, ut->ut_user, sizeof(ut->ut_user));
                name[sizeof(ut->ut_user)] = '\0';
                total++;
                for (i = 0; i < n; i++)
                        if (streq(users[i], name))
                                break;
                if (i == n) {
                        if (n >= ELEMENTSOF(users))
                                continue;
                        memcpy(names[n], name, sizeof(name));
                        users[n] = names[n];
                        counts[n++] = 0;
                }
                counts[i]++;
        }
        endutxent();
        expo_family(e, "ds01_ssh_sessions_active", EXPO_GAUGE, "SSH sessions per user (utmp)");
        for (size_t i = 0; i < n; i++)
                expo_sample1(e, "user", users[i], counts[i]);
        expo_family(e, "ds01_ssh_sessions_total", EXPO_UNTYPED, "SSH sessions (utmp)");
        expo_sample1(e, NULL, NULL, total);

        /* Per-user CPU and memory come from the users' slices, which exist once
         * containers are created through the ds01 proxy (CgroupParent); until
         * then the families are declared without samples. */
        expo_family(e, "ds01_user_cpu_usage_seconds_total", EXPO_COUNTER,
                    "CPU time used by a user's containers (their slice's cgroup)");
        expo_family(e, "ds01_user_memory_current_bytes", EXPO_GAUGE,
                    "memory used by a user's containers (their slice's cgroup)");

        /* unmanaged GPU containers, as reconcile found them */
        {
                double running = 0, all = 0;
                expo_family(e, "ds01_unmanaged_gpu_container", EXPO_GAUGE,
                            "1 for every container holding GPUs that ds01 did not allocate");
                for (size_t i = 0; i < d->n_unmanaged; i++) {
                        const struct unmanaged *u = &d->unmanaged[i];
                        char cnt[16];
                        const char *l[] = {"container",   u->name[0] ? u->name : u->id,
                                           "user",        u->user,
                                           "gpu_count",   cnt,
                                           "access_type", u->access,
                                           "running",     u->running ? "true" : "false",
                                           NULL};
                        if (u->gpu_count < 0)
                                snprintf(cnt, sizeof(cnt), "ALL");
                        else
                                snprintf(cnt, sizeof(cnt), "%d", u->gpu_count);
                        expo_sample(e, NULL, l, 1);
                        running += u->running;
                        all += streq(u->access, "all");
                }
                expo_family(e, "ds01_unmanaged_gpu_count", EXPO_UNTYPED,
                            "containers holding GPUs that ds01 did not allocate");
                expo_sample1(e, NULL, NULL, (double)d->n_unmanaged);
                expo_family(e, "ds01_unmanaged_gpu_running", EXPO_GAUGE,
                            "running containers holding GPUs that ds01 did not allocate");
                expo_sample1(e, NULL, NULL, running);
                expo_family(e, "ds01_unmanaged_gpu_all_access", EXPO_GAUGE,
                            "unmanaged containers that asked for all GPUs");
                expo_sample1(e, NULL, NULL, all);
        }

        /* GPU processes outside containers (container escapes included), as
         * the host-process scan confirmed them (hostproc-glue.c) */
        {
                struct host_mem {
                        const char *user, *slot;
                        double bytes;
                };
                struct host_mem *sums;
                size_t n_hp = d->hp ? d->hp->n : 0, m = 0;
                double untracked = 0;

                sums = calloc(n_hp ? n_hp : 1, sizeof(*sums));
                if (!sums)
                        return -ENOMEM;
                for (size_t i = 0; i < n_hp; i++) {
                        const struct hp_entry *h = &d->hp->e[i];
                        const char *user = h->p.user[0] ? h->p.user : "unknown";
                        size_t k;
                        if (h->state != HP_CONFIRMED)
                                continue;
                        untracked++;
                        for (k = 0; k < m; k++)
                                if (streq(sums[k].user, user) && streq(sums[k].slot, h->p.slot))
                                        break;
                        if (k == m)
                                sums[m++] = (struct host_mem){.user = user, .slot = h->p.slot};
                        if (h->p.memory != UINT64_MAX)
                                sums[k].bytes += (double)h->p.memory;
                }
                expo_family(e, "ds01_untracked_gpu_processes", EXPO_GAUGE,
                            "GPU processes outside containers, and in containers not holding "
                            "their GPU");
                expo_sample1(e, NULL, NULL, untracked);
                expo_family(e, "ds01_host_gpu_memory_bytes", EXPO_GAUGE,
                            "GPU memory of processes outside containers, per user and slot");
                for (size_t k = 0; k < m; k++) {
                        const char *l[] = {"user", sums[k].user, "gpu_slot", sums[k].slot, NULL};
                        expo_sample(e, NULL, l, sums[k].bytes);
                }
                free(sums);
        }
        return 0;
}

/* ---- queue ---- */

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static int collect_queue(struct ds01d *d, struct expo *e)
{
        struct store_queue_entry *q = NULL;
        size_t n = 0;
        double *waits, sum = 0;
        int64_t now = now_us();
        static const double quantiles[] = {0.5, 0.9, 0.99};
        int r;

        size_t waiting = 0, done = 0;

        r = store_queue_list(d->store, NULL, false, &q, &n);
        if (r < 0)
                return r;
        waits = calloc(n ? n : 1, sizeof(*waits));
        if (!waits) {
                free(q);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (q[i].state == STORE_QUEUE_WAITING) {
                        waits[waiting++] = (double)(now - q[i].arrival) / 1e6;
                } else {
                        sum += (double)(q[i].updated - q[i].arrival) / 1e6;
                        done++;
                }
        }
        n = waiting;
        qsort(waits, n, sizeof(*waits), cmp_double);
        expo_family(e, "ds01_queue_length", EXPO_GAUGE, "requests waiting for a GPU slot");
        expo_sample1(e, NULL, NULL, (double)n);
        expo_family(e, "ds01_queue_wait_seconds", EXPO_SUMMARY,
                    "quantiles: how long the waiting requests have waited so far; sum and "
                    "count: the requests that left the queue");
        for (size_t i = 0; i < ELEMENTSOF(quantiles); i++) {
                char qs[32];
                double v = NAN;
                snprintf(qs, sizeof(qs), "%g", quantiles[i]);
                if (n > 0) {
                        size_t k = (size_t)ceil(quantiles[i] * (double)n);
                        v = waits[k > 0 ? k - 1 : 0];
                }
                expo_sample1(e, "quantile", qs, v);
        }
        expo_sample(e, "_sum", NULL, sum);
        expo_sample(e, "_count", NULL, (double)done);
        free(waits);
        free(q);
        return 0;
}

void metrics_warm(struct ds01d *d)
{
        struct strbuf sb;
        struct expo e;

        strbuf_init(&sb, 16 * 1024 * 1024);
        expo_init(&e, &sb);
        pthread_mutex_lock(&d->lock);
        (void)collect_events(d, &e);
        pthread_mutex_unlock(&d->lock);
        strbuf_release(&sb);
}

int metrics_collect(struct ds01d *d, struct strbuf *out)
{
        static int (*const collectors[_COLLECTOR_MAX])(struct ds01d *, struct expo *) = {
            [COLLECTOR_STATE] = collect_state,   [COLLECTOR_CONTAINERS] = collect_containers,
            [COLLECTOR_EVENTS] = collect_events, [COLLECTOR_GPU] = collect_gpu,
            [COLLECTOR_HOST] = collect_host,     [COLLECTOR_QUEUE] = collect_queue,
        };
        int64_t t0 = now_us();
        struct expo e;

        pthread_mutex_lock(&d->lock);
        expo_init(&e, out);
        expo_family(&e, "ds01_exporter_info", EXPO_GAUGE, "the ds01d answering this scrape");
        {
                const char *l[] = {"version", DS01_VERSION, "type", "ds01d", NULL};
                expo_sample(&e, NULL, l, 1);
        }
        expo_family(&e, "ds01_docker_up", EXPO_GAUGE, "1 when Docker answers ds01d");
        expo_sample1(&e, NULL, NULL, d->docker_up ? 1 : 0);
        if (d->docker_events) {
                struct docker_events_counters dc;
                docker_events_get_counters(d->docker_events, &dc);
                expo_family(&e, "ds01_docker_event_streams_total", EXPO_COUNTER,
                            "Docker event streams ds01d established (one more after each "
                            "restart of Docker or lost stream)");
                expo_sample1(&e, NULL, NULL, (double)dc.connects);
        }
        expo_family(&e, "ds01_nvml_up", EXPO_GAUGE, "1 when NVML is loaded and initialized");
        expo_sample1(&e, NULL, NULL, d->nvml_available ? 1 : 0);
        for (int c = 0; c < _COLLECTOR_MAX && !e.error; c++) {
                size_t mark = out->len;
                int r = collectors[c](d, &e);
                if (r < 0 || e.error) {
                        /* roll this collector back out of the page */
                        out->len = mark;
                        if (out->buf)
                                out->buf[mark] = '\0';
                        d->collector_errors[c]++;
                        log_warning_errno(r < 0 ? r : e.error, "metrics collector %s failed: %m",
                                          collector_names[c]);
                        if (e.error == -ENOMEM || e.error == -E2BIG)
                                break;
                        e.error = 0;
                }
        }
        if (d->proxy) { /* connection limits and timeouts of the proxy (issue 9) */
                struct proxy_stats ps;
                proxy_get_stats(d->proxy, &ps);
                expo_family(&e, "ds01_proxy_connections", EXPO_GAUGE,
                            "connections open to the Docker proxy");
                expo_sample1(&e, NULL, NULL, (double)ps.open_connections);
                expo_family(&e, "ds01_proxy_connections_refused_total", EXPO_COUNTER,
                            "proxy connections refused at a connection limit, by limit");
                expo_sample1(&e, "limit", "user", (double)ps.refused_user);
                expo_sample1(&e, "limit", "total", (double)ps.refused_total);
                expo_family(&e, "ds01_proxy_timeouts_total", EXPO_COUNTER,
                            "proxy connections closed at a time limit, by phase");
                expo_sample1(&e, "phase", "head", (double)ps.head_timeouts);
                expo_sample1(&e, "phase", "body", (double)ps.body_timeouts);
                expo_sample1(&e, "phase", "idle", (double)ps.idle_closes);
        }
        expo_family(&e, "ds01_control_connections_refused_total", EXPO_COUNTER,
                    "control API connections refused at the per-user limit");
        expo_sample1(&e, NULL, NULL,
                     (double)__atomic_load_n(&d->control_refused, __ATOMIC_RELAXED));
        expo_family(&e, "ds01_collector_errors_total", EXPO_COUNTER,
                    "scrapes in which a collector failed, by collector");
        for (int c = 0; c < _COLLECTOR_MAX; c++)
                expo_sample1(&e, "collector", collector_names[c], (double)d->collector_errors[c]);
        expo_family(&e, "ds01_scrape_duration_seconds", EXPO_GAUGE,
                    "time ds01d took to produce the previous scrape");
        expo_sample1(&e, NULL, NULL, d->last_scrape_s);
        d->last_scrape_s = (double)(now_us() - t0) / 1e6;
        pthread_mutex_unlock(&d->lock);
        return expo_finish(&e);
}
