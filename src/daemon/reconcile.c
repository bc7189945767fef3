/* SPDX-License-Identifier: MIT */
/*
 * reconcile.c - keeping ds01d's state and Docker's in step. Docker's /events
 * stream (a thread of the docker client) queues the ids of containers that
 * changed and wakes the main loop, which inspects and classifies them
 * (docker/classify.h: owner, type, GPUs) at once; a full pass runs at start
 * and every 30 s. For each container: the containers table is updated; its
 * allocations follow it (running: active; stopped: held for the user's
 * gpu_hold_after_stop, or released at once for orchestration/api; removed:
 * released); a container holding GPUs that ds01 did not allocate is unmanaged:
 * recorded, announced once (detection.unmanaged_gpu_container), and its slots
 * count as taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "docker/classify.h"
#include "docker/host-lookup.h"
#include "docker/docker.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define FULL_PASS_US (30 * 1000000LL)
#define PENDING_MAX  4096

/* ---- the events thread: queue ids, wake the main loop ---- */

static void on_event(json_t *ev, void *ud)
{
        struct ds01d *d = ud;
        const char *type = json_string_value(json_object_get(ev, "Type"));
        json_t *actor = json_object_get(ev, "Actor");
        const char *id = json_string_value(json_object_get(actor, "ID"));
        uint64_t one = 1;

        if (!type || !streq(type, "container") || !id)
                return;
        pthread_mutex_lock(&d->pending_lock);
        if (d->n_pending < PENDING_MAX) {
                char *dup = strdup(id);
                if (dup)
                        d->pending[d->n_pending++] = dup;
        } else {
                d->pending_overflow = true; /* a full pass will catch up */
        }
        pthread_mutex_unlock(&d->pending_lock);
        if (write(d->wake_fd, &one, sizeof(one)) < 0) {
                /* the counter is full: the main loop is awake anyway */
        }
}

static void on_state(bool connected, void *ud)
{
        struct ds01d *d = ud;
        uint64_t one = 1;

        pthread_mutex_lock(&d->pending_lock);
        d->docker_events_connected = connected;
        /* after a reconnect, things may have changed while we were away */
        if (connected)
                d->pending_overflow = true;
        pthread_mutex_unlock(&d->pending_lock);
        if (write(d->wake_fd, &one, sizeof(one)) < 0) {
        }
}

int reconcile_start(struct ds01d *d)
{
        json_t *filters;
        int r;

        d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->wake_fd < 0)
                return -errno;
        pthread_mutex_init(&d->pending_lock, NULL);
        d->pending = calloc(PENDING_MAX, sizeof(*d->pending));
        if (!d->pending)
                return -ENOMEM;
        r = docker_client_new(d->opt.docker_socket, &d->docker);
        if (r < 0)
                return r;
        filters = json_pack("{s:[s]}", "type", "container");
        r = docker_events_start(d->opt.docker_socket, now_us() / 1000000 - 1, filters, on_event,
                                on_state, d, &d->docker_events);
        json_decref(filters);
        if (r < 0)
                log_warning_errno(r, "cannot watch Docker's events: %m; reconciling every 30 s");
        return 0;
}

void reconcile_stop(struct ds01d *d)
{
        if (d->docker_events)
                docker_events_stop(d->docker_events);
        d->docker_events = NULL;
        d->docker = docker_client_free(d->docker);
        if (d->pending) {
                for (size_t i = 0; i < d->n_pending; i++)
                        free(d->pending[i]);
                free(d->pending);
                d->pending = NULL;
        }
        free(d->unmanaged);
        d->unmanaged = NULL;
        d->n_unmanaged = 0;
        if (d->wake_fd >= 0)
                close(d->wake_fd);
        d->wake_fd = -1;
}

/* ---- applying one container ---- */

/* Mark the slots an unmanaged container's request reaches. */
static void mark_unmanaged_slots(struct ds01d *d, const struct container_class *cc, char *slots,
                                 size_t slots_size)
{
        size_t len = 0;

        slots[0] = '\0';
        for (size_t i = 0; i < d->n_slots; i++) {
                struct slot_view *v = &d->slots[i];
                bool hit = false;
                if (cc->gpu_kind == GPU_REQ_ALL)
                        hit = true;
                else if (cc->gpu_kind == GPU_REQ_COUNT)
                        /* the runtime takes the first N GPUs */
                        hit = v->gpu < (unsigned)cc->gpu_count;
                else
                        for (size_t k = 0; k < cc->n_gpu_devices; k++) {
                                const char *dev = cc->gpu_devices[k];
                                char idx[GPU_SLOT_NAME_MAX];
                                (void)strscpy(idx, sizeof(idx), dev);
                                for (char *p = idx; *p; p++)
                                        if (*p == ':')
                                                *p = '.';
                                if (streq(dev, v->uuid) || streq(idx, v->name) ||
                                    (v->gpu < d->n_gpus && streq(dev, d->gpus[v->gpu].uuid)))
                                        hit = true;
                        }
                if (!hit)
                        continue;
                if (len < slots_size) {
                        int w = snprintf(slots + len, slots_size - len, "%s%s", len ? "," : "",
                                         v->name);
                        if (w > 0)
                                len += (size_t)w;
                }
        }
}

/* Slots reached by running unmanaged containers count as taken. */
static void recompute_unmanaged_slots(struct ds01d *d)
{
        for (size_t k = 0; k < d->n_slots; k++)
                d->slots[k].unmanaged = false;
        for (size_t i = 0; i < d->n_unmanaged; i++) {
                char buf[sizeof(d->unmanaged[i].slots)], *p, *save = NULL;
                if (!d->unmanaged[i].running)
                        continue;
                (void)strscpy(buf, sizeof(buf), d->unmanaged[i].slots);
                for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                        int k = state_slot_index(d, p);
                        if (k >= 0)
                                d->slots[k].unmanaged = true;
                }
        }
}

static void forget_unmanaged(struct ds01d *d, const char *id)
{
        for (size_t i = 0; i < d->n_unmanaged; i++)
                if (streq(d->unmanaged[i].id, id)) {
                        memmove(&d->unmanaged[i], &d->unmanaged[i + 1],
                                (d->n_unmanaged - i - 1) * sizeof(*d->unmanaged));
                        d->n_unmanaged--;
                        break;
                }
}

static void note_unmanaged(struct ds01d *d, const struct container_class *cc)
{
        struct store_event_filter f = {
            .type_prefix = "detection.unmanaged_gpu_container", .container = cc->id, .limit = 1};
        struct store_event *ev = NULL;
        struct unmanaged *u;
        size_t n = 0;
        char slots[256];

        mark_unmanaged_slots(d, cc, slots, sizeof(slots));
        u = reallocarray(d->unmanaged, d->n_unmanaged + 1, sizeof(*u));
        if (!u)
                return;
        d->unmanaged = u;
        u = &d->unmanaged[d->n_unmanaged++];
        memset(u, 0, sizeof(*u));
        (void)strscpy(u->id, sizeof(u->id), cc->id);
        (void)strscpy(u->name, sizeof(u->name), cc->name);
        (void)strscpy(u->user, sizeof(u->user), cc->owner[0] ? cc->owner : "unknown");
        (void)strscpy(u->access, sizeof(u->access),
                      cc->gpu_kind == GPU_REQ_ALL     ? "all"
                      : cc->gpu_kind == GPU_REQ_COUNT ? "count"
                                                      : "specific");
        u->gpu_count = cc->gpu_count;
        u->running = cc->running;
        (void)strscpy(u->slots, sizeof(u->slots), slots);

        /* announce it once, ever (the events table remembers across restarts) */
        if (store_event_query(d->store, &f, &ev, &n) >= 0 && n == 0)
                daemon_event_now(
                    d, "detection.unmanaged_gpu_container", cc->owner[0] ? cc->owner : NULL,
                    json_pack("{s:s, s:s, s:s, s:i, s:s, s:b, s:s}", "container", cc->id, "name",
                              cc->name, "access_type", u->access, "gpu_count", cc->gpu_count,
                              "slots", slots, "running", cc->running, "owner_source",
                              owner_source_name(cc->owner_source)));
        store_events_free(ev, n);
}

static int64_t hold_for(struct ds01d *d, const struct store_alloc *a)
{
        struct user_limits ul = {0};
        int64_t hold = 0;

        if (config_resolve_user(d->config, a->user, &ul) == 0) {
                hold = alloc_hold_seconds(a->interface, ul.gpu_hold_after_stop);
                user_limits_release(&ul);
        }
        return hold;
}

/* Move the allocations of one container with Docker's state. */
static void follow_allocations(struct ds01d *d, const char *id, const char *name, bool removed,
                               bool running, bool stopped)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0;
        int64_t now = now_us();

        if (store_alloc_list(d->store, &f, &a, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                enum store_alloc_state to = a[i].state;
                int64_t expires = a[i].expires;
                const char *event = NULL, *why = NULL;
                int r;

                if (!streq(a[i].container, id) && !streq(a[i].container_id, id) &&
                    !(name && *name && streq(a[i].container, name)))
                        continue;
                if (!a[i].container_id[0] && !removed)
                        (void)store_alloc_set_container_id(d->store, a[i].container, id, now);
                if (removed) {
                        to = STORE_ALLOC_RELEASED;
                        expires = 0;
                        event = "gpu.released";
                        why = "container removed";
                } else if (running && a[i].state != STORE_ALLOC_ACTIVE) {
                        to = STORE_ALLOC_ACTIVE;
                        expires = 0;
                        why = "container running";
                } else if (stopped && a[i].state == STORE_ALLOC_ACTIVE) {
                        /* stopped by the lifecycle loop: nothing to hold it for */
                        bool lc = lifecycle_is_stopping(d, id);
                        int64_t hold = lc ? 0 : hold_for(d, &a[i]);
                        if (hold <= 0) {
                                to = STORE_ALLOC_RELEASED;
                                event = "gpu.released";
                                why = lc ? "container stopped for being idle"
                                         : "container stopped (released at once for its "
                                           "interface)";
                                expires = 0;
                        } else {
                                to = STORE_ALLOC_HELD;
                                event = "gpu.held";
                                why = "container stopped";
                                expires = hold >= INT64_MAX / 1000000 ? 0 : now + hold * 1000000;
                        }
                }
                if (to == a[i].state)
                        continue;
                r = store_begin(d->store);
                if (r >= 0)
                        r = store_alloc_update(d->store, a[i].id, to, expires, why, now);
                if (r >= 0 && event)
                        daemon_event(d, event, a[i].user,
                                     json_pack("{s:s, s:[s], s:s}", "container", a[i].container,
                                               "slots", a[i].slot, "reason", why));
                (void)state_commit(d, r);
        }
        free(a);
}

static bool has_allocation(struct ds01d *d, const char *id, const char *name)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0;
        bool found = false;

        if (store_alloc_list(d->store, &f, &a, &n) < 0)
                return false;
        for (size_t i = 0; i < n && !found; i++)
                found = streq(a[i].container, id) || streq(a[i].container_id, id) ||
                        (name[0] && streq(a[i].container, name));
        free(a);
        return found;
}

/* Why the lifecycle loop leaves a container alone, or "". */
static const char *exempt_reason(struct ds01d *d, const struct container_class *cc)
{
        if (cc->is_protected)
                return "ds01.protected";
        if (cc->is_monitoring)
                return "ds01.monitoring";
        for (size_t i = 0; i < d->settings.n_infrastructure_containers; i++) {
                const char *prefix = d->settings.infrastructure_containers[i];
                if (prefix && *prefix && startswith(cc->name, prefix))
                        return "infrastructure";
        }
        return "";
}

/* Apply what Docker said of one container (id): r and inspect are the
 * answer of docker_container_inspect, made without the lock (inspect is
 * stolen); -ENOENT: Docker no longer has it, it was removed. Lock held. */
static void reconcile_apply(struct ds01d *d, const char *id, int r, json_t *inspect)
{
        struct container_class cc;
        struct store_container row = {0};
        int64_t now = now_us();
        json_int_t pid;

        forget_unmanaged(d, id);
        if (r == -ENOENT) {
                struct store_container *list = NULL;
                size_t n = 0;
                follow_allocations(d, id, NULL, true, false, false);
                if (store_container_list(d->store, NULL, &list, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (streq(list[i].id, id) && !streq(list[i].state, "removed")) {
                                        row = list[i];
                                        (void)strscpy(row.state, sizeof(row.state), "removed");
                                        (void)store_container_upsert(d->store, &row, now);
                                        follow_allocations(d, id, list[i].name, true, false, false);
                                }
                free(list);
                recompute_unmanaged_slots(d);
                return;
        }
        if (r < 0) {
                json_decref(inspect);
                recompute_unmanaged_slots(d);
                return;
        }
        r = container_classify(inspect, &classify_host_lookup, &cc);
        pid = json_integer_value(json_object_get(json_object_get(inspect, "State"), "Pid"));
        json_decref(inspect);
        if (r < 0)
                return;
        (void)strscpy(row.id, sizeof(row.id), cc.id);
        (void)strscpy(row.name, sizeof(row.name), cc.name);
        (void)strscpy(row.user, sizeof(row.user), cc.owner);
        (void)strscpy(row.type, sizeof(row.type), cc.type);
        (void)strscpy(row.state, sizeof(row.state), cc.state);
        (void)strscpy(row.interface, sizeof(row.interface), cc.interface);
        row.pid = cc.running && pid > 0 ? pid : 0;
        row.created_s = cc.created_s;
        row.started_s = cc.started_s;
        row.finished_s = cc.finished_s;
        row.gpu = cc.gpu_kind != GPU_REQ_NONE || has_allocation(d, cc.id, cc.name);
        (void)strscpy(row.exempt, sizeof(row.exempt), exempt_reason(d, &cc));
        (void)store_container_upsert(d->store, &row, now);
        follow_allocations(d, cc.id, cc.name, false, cc.running,
                           streq(cc.state, "exited") || streq(cc.state, "dead"));
        /* a container the proxy made with an allocation (ds01.gpu.slots) that
         * stopped and gave its GPU back is not unmanaged: it cannot start
         * again without one (the proxy refuses) */
        if (cc.gpu_kind != GPU_REQ_NONE && !has_allocation(d, cc.id, cc.name) &&
            (cc.running || !(cc.ds01_managed && cc.ds01_slots[0])))
                note_unmanaged(d, &cc);
        recompute_unmanaged_slots(d);
        container_class_release(&cc);
}

/* Ask Docker about one container without the lock, then apply it with the
 * lock: a slow Docker never holds up the allocator, the proxy or the
 * lifecycle loop. Main thread (d->docker is its own). */
static void reconcile_one(struct ds01d *d, const char *id)
{
        json_t *inspect = NULL;
        int r = docker_container_inspect(d->docker, id, &inspect);

        pthread_mutex_lock(&d->lock);
        reconcile_apply(d, id, r, inspect);
        pthread_mutex_unlock(&d->lock);
}

/* Every this many full passes, every container is inspected again, not only
 * those whose state in Docker's list differs from the database's. */
#define FULL_INSPECT_EVERY 10

/* A full pass: the containers Docker lists whose state changed (or that are
 * new) — all of them when asked (start, lost events) and every
 * FULL_INSPECT_EVERY passes — and those Docker no longer has. Without the lock but for the
 * applying. */
static void full_pass(struct ds01d *d, bool all)
{
        static unsigned passes;
        json_t *list = NULL, *c;
        struct store_container *known = NULL;
        size_t n_known = 0, i, n_ids = 0;
        char(*ids)[STORE_ID_MAX] = NULL;
        all = all || passes++ % FULL_INSPECT_EVERY == 0;
        int r;

        r = docker_container_list(d->docker, true, NULL, &list);
        pthread_mutex_lock(&d->lock);
        d->docker_up = r >= 0;
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                return;
        }
        (void)store_container_list_live(d->store, &known, &n_known);
        pthread_mutex_unlock(&d->lock);

        ids = calloc(json_array_size(list) + n_known + 1, sizeof(*ids));
        if (!ids)
                goto out;
        json_array_foreach(list, i, c)
        {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *state = json_string_value(json_object_get(c, "State"));
                bool same = false;
                if (!id)
                        continue;
                for (size_t k = 0; k < n_known && !all && !same; k++)
                        same = streq(known[k].id, id) && state && streq(known[k].state, state);
                if (!same)
                        (void)strscpy(ids[n_ids++], STORE_ID_MAX, id);
        }
        for (size_t k = 0; k < n_known; k++) {
                bool present = false;
                json_array_foreach(list, i, c)
                {
                        const char *id = json_string_value(json_object_get(c, "Id"));
                        if (id && streq(id, known[k].id))
                                present = true;
                }
                if (!present)
                        (void)strscpy(ids[n_ids++], STORE_ID_MAX, known[k].id);
        }
        for (size_t k = 0; k < n_ids; k++)
                reconcile_one(d, ids[k]);
out:
        free(ids);
        free(known);
        json_decref(list);
        d->last_full_pass = now_us();
}

void reconcile_run(struct ds01d *d, bool force_full)
{
        char **ids = NULL;
        size_t n = 0;
        bool overflow;
        uint64_t v;

        if (!d->docker)
                return;
        if (read(d->wake_fd, &v, sizeof(v)) < 0) {
                /* nothing was signalled */
        }
        pthread_mutex_lock(&d->pending_lock);
        overflow = d->pending_overflow;
        d->pending_overflow = false;
        if (d->n_pending > 0) {
                ids = calloc(d->n_pending, sizeof(*ids));
                if (ids) {
                        memcpy(ids, d->pending, d->n_pending * sizeof(*ids));
                        n = d->n_pending;
                } else {
                        for (size_t i = 0; i < d->n_pending; i++)
                                free(d->pending[i]);
                        overflow = true;
                }
                d->n_pending = 0;
        }
        pthread_mutex_unlock(&d->pending_lock);

        if (force_full || overflow || now_us() - d->last_full_pass >= FULL_PASS_US)
                full_pass(d, force_full || overflow);
        else
                for (size_t i = 0; i < n; i++)
                        reconcile_one(d, ids[i]);
        pthread_mutex_lock(&d->lock);
        state_tick(d);
        pthread_mutex_unlock(&d->lock);
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}
