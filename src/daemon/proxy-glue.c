/* SPDX-License-Identifier: MIT */
/*
 * proxy-glue.c - ds01d's side of the Docker API proxy (src/proxy): who a
 * caller is and what their limits are, GPU allocation for a create (waiting
 * in the queue on a condition variable, like a suspended control API
 * caller), binding the allocation to Docker's container, and events. The
 * hooks run on the proxy's connection threads and take d->lock.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "proxy/proxy.h"
#include "store/event-record.h"
#include "store/eventlog.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define AUTH_DENIED_BURST 60 /* auth.denied lines per user and minute in events.jsonl */
#define AUTH_DENIED_USERS 1024

struct denied_rate {
        char user[64];
        int64_t minute;
        unsigned n;
};

static uint64_t size_bytes(const struct size_limit *l)
{
        return l->set && !l->unlimited ? l->bytes : 0;
}

static uint64_t h_generation(void *ud)
{
        struct ds01d *d = ud;
        return __atomic_load_n(&d->config_gen, __ATOMIC_ACQUIRE);
}

static int h_user_info(void *ud, const char *user, uid_t uid, gid_t gid, struct proxy_user *ret)
{
        struct ds01d *d = ud;
        struct user_limits ul;
        bool admin = daemon_is_admin(d, user, uid, gid);
        int r;

        ret->admin = admin;
        pthread_mutex_lock(&d->lock);
        r = config_resolve_user(d->config, user, &ul);
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                return r;
        }
        ret->policy.mode = streq(d->settings.enforcement_mode, "monitoring") ? ENFORCE_MONITORING
                           : streq(d->settings.enforcement_mode, "disabled") ? ENFORCE_DISABLED
                                                                             : ENFORCE_FULL;
        ret->policy.unowned_allow = d->settings.unowned_allow;
        /* Docker refuses more CPUs than the machine has */
        {
                long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
                double cpus = isfinite(ul.max_cpus) ? ul.max_cpus : 0;
                if (ncpu > 0 && (cpus <= 0 || cpus > (double)ncpu))
                        cpus = (double)ncpu;
                ret->limits.max_cpus = cpus;
        }
        ret->limits.memory = size_bytes(&ul.memory);
        ret->limits.memory_swap = size_bytes(&ul.memory_swap);
        ret->limits.shm_size = size_bytes(&ul.shm_size);
        ret->limits.pids_limit = ul.pids_limit == LIMIT_UNLIMITED ? 0 : ul.pids_limit;
        ret->limits.storage_tmp = size_bytes(&ul.storage_tmp);
        (void)strscpy(ret->slice, sizeof(ret->slice), ul.slice ? ul.slice : "");
        (void)snprintf(ret->cgroupfs_path, sizeof(ret->cgroupfs_path), "/ds01/%s/%s",
                       ul.group ? ul.group : "default", ul.sanitized);
        ret->force_user = d->settings.force_user_with_binds;
        if (d->settings.allowed_bind_paths_set) {
                for (size_t i = 0; i < d->settings.n_allowed_bind_paths && i < PROXY_MAX_ROOTS; i++)
                        (void)strscpy(ret->roots[ret->n_roots++], sizeof(ret->roots[0]),
                                      d->settings.allowed_bind_paths[i]);
        } else {
                (void)strscpy(ret->roots[0], sizeof(ret->roots[0]), "~");
                ret->n_roots = 1;
        }
        ret->attach_nvidia_runtime = d->settings.attach_nvidia_runtime;
        ret->wait_s = (int)MIN(d->settings.proxy_wait, 24 * 3600);
        (void)strscpy(ret->protected_label, sizeof(ret->protected_label),
                      d->settings.infrastructure_label);
        (void)strscpy(ret->cgroup_driver, sizeof(ret->cgroup_driver), d->settings.cgroup_driver);
        pthread_mutex_unlock(&d->lock);
        slices_glue_ensure(d, &ul, ret->cgroup_driver, admin); /* the user's slice, on demand */
        user_limits_release(&ul);
        return 0;
}

/* The slots, UUIDs and time of what key holds now. Lock held. */
static int fill_grant(struct ds01d *d, const char *key, struct proxy_gpu_grant *g)
{
        struct store_alloc_filter f = {.in_force_only = true, .container = key};
        struct store_alloc *rows = NULL;
        size_t n = 0, so = 0, uo = 0;
        int64_t first = 0;
        int r = store_alloc_list(d->store, &f, &rows, &n);

        if (r < 0)
                return r;
        g->n = 0;
        g->slots[0] = g->uuids[0] = 0;
        for (size_t i = 0; i < n; i++) {
                int k = state_slot_index(d, rows[i].slot);
                const char *uuid = k >= 0 ? d->slots[k].uuid : "";
                so += (size_t)snprintf(g->slots + so, sizeof(g->slots) - MIN(so, sizeof(g->slots)),
                                       "%s%s", i ? "," : "", rows[i].slot);
                uo += (size_t)snprintf(g->uuids + uo, sizeof(g->uuids) - MIN(uo, sizeof(g->uuids)),
                                       "%s%s", i ? "," : "", uuid);
                if (!first || rows[i].created < first)
                        first = rows[i].created;
                g->n++;
        }
        free(rows);
        if (so >= sizeof(g->slots) || uo >= sizeof(g->uuids) || g->n == 0)
                return -ENOBUFS;
        (void)format_time_us(g->allocated_at, sizeof(g->allocated_at), first);
        return 0;
}

/* Does the device a user named ("0", "1.2", "1:2", a UUID) mean slot k? */
static bool device_is_slot(const struct slot_view *s, const char *dev)
{
        char alt[GPU_SLOT_NAME_MAX];

        if (streq(dev, s->name) || streq(dev, s->uuid))
                return true;
        (void)strscpy(alt, sizeof(alt), dev);
        for (char *p = alt; *p; p++)
                if (*p == ':')
                        *p = '.';
        return streq(alt, s->name);
}

/* The user's containers holding GPUs, for the quota message. Lock held. */
static void holdings_text(struct ds01d *d, const char *user, const char *except, char *buf,
                          size_t n)
{
        struct store_alloc_filter f = {.in_force_only = true, .user = user};
        struct store_alloc *rows = NULL;
        size_t cnt = 0, o = 0;

        buf[0] = 0;
        if (store_alloc_list(d->store, &f, &rows, &cnt) < 0)
                return;
        for (size_t i = 0; i < cnt && o < n; i++) {
                bool dup = streq(rows[i].container, except);
                for (size_t j = 0; j < i && !dup; j++)
                        dup = streq(rows[j].container, rows[i].container);
                if (dup)
                        continue;
                o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", rows[i].container);
        }
        free(rows);
}

static int queue_position(struct ds01d *d, int64_t id, int *total)
{
        json_t *q = state_queue_json(d, NULL), *e;
        size_t i;
        int pos = 0;

        *total = 0;
        json_array_foreach(q, i, e)
        {
                if (!streq(json_string_value(json_object_get(e, "state")) ?: "", "waiting"))
                        continue;
                (*total)++;
                if (json_integer_value(json_object_get(e, "id")) == id)
                        pos = (int)json_integer_value(json_object_get(e, "position"));
        }
        json_decref(q);
        return pos;
}

static void unlink_waiter(struct ds01d *d, struct waiter *w)
{
        for (struct waiter **p = &d->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        json_decref(w->answer);
        free(w);
}

/* Wait in the queue for capacity. Lock held (released while waiting).
 * Returns true when granted. */
static bool wait_in_queue(struct ds01d *d, const struct alloc_params *p,
                          const struct proxy_gpu_ask *a, struct proxy_gpu_grant *g)
{
        pthread_cond_t cond;
        pthread_condattr_t ca;
        struct waiter *w = calloc(1, sizeof(*w));
        int64_t now = now_us(), id = 0;
        int pos = 0, total = 0;
        bool granted = false;

        if (!w || state_queue_join(d, p, now + (int64_t)a->wait_s * 1000000, &id) < 0) {
                free(w);
                g->status = 500;
                (void)snprintf(g->message, sizeof(g->message), "ds01: cannot join the GPU queue");
                return false;
        }
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&cond, &ca);
        pthread_condattr_destroy(&ca);
        w->queue_id = id;
        w->cond = &cond;
        w->fd = a->client_fd;
        w->deadline = now + (int64_t)a->wait_s * 1000000;
        w->since = now;
        w->next = d->waiters;
        d->waiters = w;
        log_info("proxy: %s waits for a GPU for %s (queue id %lld)", a->user, a->key,
                 (long long)id);
        state_tick(d); /* it may fit at once */
        while (!w->done && !d->stopping) {
                struct timespec ts;
                // cppcheck-suppress selfAssignment ; `x ?: pos` keeps pos when x is 0
                pos = queue_position(d, id, &total) ?: pos;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += 1;
                (void)pthread_cond_timedwait(&cond, &d->lock, &ts);
        }
        if (w->done && w->status == 200) {
                granted = true;
        } else {
                g->status = w->done && w->status == 409 ? 403 : 503;
                if (g->status == 403)
                        (void)snprintf(g->message, sizeof(g->message), "ds01: %s",
                                       json_string_value(json_object_get(w->answer, "message"))
                                           ?: "your limits changed while you waited");
                else if (d->stopping)
                        (void)snprintf(g->message, sizeof(g->message),
                                       "ds01: ds01d is stopping; try again when it is back");
                else
                        (void)snprintf(g->message, sizeof(g->message),
                                       "ds01: no GPU became free within %d s (you were number %d "
                                       "of %d in the queue); try again later, or ask for fewer "
                                       "GPUs",
                                       a->wait_s, pos ? pos : 1, total ? total : 1);
        }
        unlink_waiter(d, w);
        pthread_cond_destroy(&cond);
        return granted;
}

static void h_gpu_allocate(void *ud, const struct proxy_gpu_ask *a, struct proxy_gpu_grant *g)
{
        struct ds01d *d = ud;
        struct alloc_params p = {.user = a->user,
                                 .container = a->key,
                                 .count = a->count < 0 ? ALLOC_COUNT_ALL : a->count,
                                 .full = a->full,
                                 .interface = a->interface,
                                 .caller = "proxy"};
        struct alloc_result res;
        int r;

        memset(g, 0, sizeof(*g));
        pthread_mutex_lock(&d->lock);
        if (d->stopping) {
                g->status = 503;
                (void)snprintf(g->message, sizeof(g->message),
                               "ds01: ds01d is stopping; try again when it is back");
                goto out;
        }
        r = state_allocate(d, &p, &res);
        if (r < 0) {
                g->status = 500;
                (void)snprintf(g->message, sizeof(g->message),
                               "ds01: the GPU allocation could not be recorded; tell an admin");
                goto out;
        }
        if (res.code == ALLOC_NO_CAPACITY) {
                if (a->wait_s <= 0) {
                        g->status = 503;
                        (void)snprintf(g->message, sizeof(g->message),
                                       "ds01: no GPU is free right now; try again later, or wait "
                                       "in the queue (ds01 container create --wait)");
                        goto out;
                }
                if (!wait_in_queue(d, &p, a, g))
                        goto out;
        } else if (res.code == ALLOC_USER_AT_LIMIT ||
                   res.code == ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED) {
                char held[256];
                holdings_text(d, a->user, a->key, held, sizeof(held));
                g->status = 403;
                (void)snprintf(g->message, sizeof(g->message),
                               "ds01: GPU quota reached: you hold %.1f of %.1f GPU-equivalents "
                               "(containers: %s); remove one (ds01 container retire NAME) first",
                               res.held, res.limit, held[0] ? held : "none");
                goto out;
        } else if (res.code != ALLOC_OK) {
                g->status = 403;
                (void)snprintf(g->message, sizeof(g->message), "ds01: %s", res.reason);
                goto out;
        }
        if (fill_grant(d, a->key, g) < 0) {
                g->status = 500;
                (void)snprintf(g->message, sizeof(g->message),
                               "ds01: the GPU allocation could not be read back; tell an admin");
                goto out;
        }
        g->status = 200;
        if (a->n_devices > 0) {
                /* specific devices: only when the allocator chose exactly those */
                bool same = a->n_devices == g->n;
                for (size_t i = 0; same && i < a->n_devices; i++) {
                        bool found = false;
                        for (size_t k = 0; k < d->n_slots && !found; k++)
                                if (device_is_slot(&d->slots[k], a->devices[i]) &&
                                    csv_has(g->slots, d->slots[k].name))
                                        found = true;
                        same = found;
                }
                if (!same) {
                        char slots[sizeof(g->slots)];
                        json_t *rel = NULL;
                        (void)strscpy(slots, sizeof(slots), g->slots);
                        (void)state_release(d, a->key, "the devices asked for were not granted",
                                            &rel);
                        json_decref(rel);
                        g->status = 403;
                        (void)snprintf(g->message, sizeof(g->message),
                                       "ds01: the GPU you named is not the one ds01 would give "
                                       "you (it would give slot %s); ask with --gpus %zu instead "
                                       "of naming devices",
                                       slots, a->n_devices);
                }
        }
out:
        pthread_mutex_unlock(&d->lock);
}

static void h_gpu_bind(void *ud, const char *key, const char *id, const char *name)
{
        struct ds01d *d = ud;
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_begin(d->store);
        if (r >= 0)
                r = store_alloc_bind(d->store, key, name, id, now_us());
        (void)state_commit(d, r);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                log_warning_errno(r, "proxy: cannot bind the allocation of %s to %s: %m", key, id);
}

static void h_gpu_release(void *ud, const char *key, const char *why)
{
        struct ds01d *d = ud;
        json_t *rel = NULL;

        pthread_mutex_lock(&d->lock);
        (void)state_release(d, key, why, &rel);
        pthread_mutex_unlock(&d->lock);
        json_decref(rel);
}

static bool h_gpu_holds(void *ud, const char *id, const char *name)
{
        struct ds01d *d = ud;
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0;
        bool found = false;
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_alloc_list(d->store, &f, &a, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return false; /* cannot tell: fail closed */
        for (size_t i = 0; i < n && !found; i++)
                found = streq(a[i].container_id, id) || streq(a[i].container, id) ||
                        (name && *name && streq(a[i].container, name));
        free(a);
        return found;
}

/* auth.denied goes to events.jsonl only, at most AUTH_DENIED_BURST lines per
 * user and minute; the rest are counted. */
static bool denied_allowed(struct ds01d *d, const char *user)
{
        int64_t minute = now_us() / 60000000;
        bool ok = true;
        size_t i;

        pthread_mutex_lock(&d->denied_lock);
        for (i = 0; i < d->n_denied; i++)
                if (streq(d->denied[i].user, user))
                        break;
        if (i == d->n_denied) {
                if (d->n_denied < AUTH_DENIED_USERS) {
                        struct denied_rate *v =
                            reallocarray(d->denied, d->n_denied + 1, sizeof(*v));
                        if (v) {
                                d->denied = v;
                                memset(&v[i], 0, sizeof(v[i]));
                                (void)strscpy(v[i].user, sizeof(v[i].user), user);
                                d->n_denied++;
                        }
                }
                if (i == d->n_denied)
                        i = (size_t)minute % MAX(d->n_denied, (size_t)1);
        }
        if (i < d->n_denied) {
                struct denied_rate *e = &d->denied[i];
                if (e->minute != minute) {
                        e->minute = minute;
                        e->n = 0;
                }
                ok = ++e->n <= AUTH_DENIED_BURST;
        }
        if (!ok)
                d->denied_suppressed++;
        pthread_mutex_unlock(&d->denied_lock);
        return ok;
}

static void h_event(void *ud, const char *type, const char *user, json_t *details, bool log_only)
{
        struct ds01d *d = ud;

        if (!log_only) {
                pthread_mutex_lock(&d->lock);
                daemon_event_now(d, type, user, details);
                pthread_mutex_unlock(&d->lock);
                return;
        }
        if (denied_allowed(d, user ? user : "")) {
                struct event_record rec = {0};
                char *line = NULL;
                size_t len = 0;
                rec.time_us = now_us();
                (void)strscpy(rec.type, sizeof(rec.type), type);
                rec.user = (char *)(user ? user : "");
                rec.source = (char *)"ds01d";
                rec.details = details;
                if (event_record_format(&rec, &line, &len) >= 0) {
                        pthread_mutex_lock(&d->lock);
                        if (d->eventlog)
                                (void)eventlog_append(d->eventlog, line, len);
                        pthread_mutex_unlock(&d->lock);
                }
                free(line);
        }
        json_decref(details);
}

/* config seconds (INT64_MAX: null, none) -> the proxy's milliseconds (0: none) */
static int64_t limit_ms(int64_t secs)
{
        return secs <= 0 || secs >= INT64_MAX / 1000 ? 0 : secs * 1000;
}

static void h_limits(void *ud, struct proxy_limits *ret)
{
        struct ds01d *d = ud;

        pthread_mutex_lock(&d->lock);
        ret->head_ms = limit_ms(d->settings.proxy_head_timeout);
        ret->idle_ms = limit_ms(d->settings.proxy_idle_timeout);
        ret->body_ms = limit_ms(d->settings.proxy_body_timeout);
        ret->max_per_user = d->settings.proxy_max_connections_per_user;
        ret->max_total = d->settings.proxy_max_connections;
        pthread_mutex_unlock(&d->lock);
}

/* Each proxy connection holds two descriptors: take all the kernel allows
 * (systemd's LimitNOFILE, else the hard limit), so a flood of connections
 * meets the proxy's caps before the control API, SQLite or Docker run out. */
static void raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning("cannot raise the descriptor limit to %llu: %m",
                                    (unsigned long long)rl.rlim_max);
        }
}

int proxy_glue_start(struct ds01d *d)
{
        struct proxy_hooks hooks = {
            .ud = d,
            .generation = h_generation,
            .user_info = h_user_info,
            .gpu_allocate = h_gpu_allocate,
            .gpu_bind = h_gpu_bind,
            .gpu_release = h_gpu_release,
            .gpu_holds = h_gpu_holds,
            .event = h_event,
            .limits = h_limits,
        };
        char path[4096];
        int r;

        pthread_mutex_init(&d->denied_lock, NULL);
        raise_nofile();
        (void)snprintf(path, sizeof(path), "%s/docker.sock", d->opt.run_dir);
        r = proxy_start(path, d->opt.docker_socket, &hooks, &d->proxy);
        if (r < 0)
                return log_error_errno(r, "cannot listen on %s: %m", path);
        log_info("Docker proxy on %s -> %s", path, d->opt.docker_socket);
        return 0;
}

void proxy_glue_stop(struct ds01d *d)
{
        if (!d->proxy)
                return;
        proxy_stop(d->proxy);
        d->proxy = NULL;
        free(d->denied);
        d->denied = NULL;
        d->n_denied = 0;
        pthread_mutex_destroy(&d->denied_lock);
}
