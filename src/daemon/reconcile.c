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
 *
 * After a crash (kill -9 in the middle of creates through the proxy): a
 * container Docker created whose allocation was never bound to it is adopted
 * from its labels (ds01.user, ds01.gpu.slots, and devices that are those
 * slots' UUIDs) by binding the row the proxy wrote for it (under its name or
 * a placeholder key); a proxy row still bound to no container ORPHAN_GRACE_US
 * after the start is released (the create it was for never reached Docker),
 * and written again if Docker finishes that create later while the slot is
 * free. A slot is never given twice: the database's unique index refuses,
 * and a container whose slot went to someone else stays without one (the
 * proxy refuses to start it).
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
/* How long after the start a create forwarded by the ds01d that died may
 * still be finishing in Docker (it had answered or failed long before in
 * practice); its allocation is released after that, when no container
 * carries it. A container that shows up later still is adopted while its
 * slots are free. */
#define ORPHAN_GRACE_US (5 * 1000000LL)
#define PENDING_KEY     "ds01-pending-" /* the proxy's key for a create without a name */
#define ORPHAN_REASON   "ds01d restarted before Docker created the container"

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
        /* after a reconnect, things may have changed while we were away; a
         * lost stream may mean Docker is down: a pass finds out (docker_up) */
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

/* May the unbound row a (matched by name) be bound to the container cc? A
 * row the proxy wrote for a create goes to the container that create made:
 * the owner's, labelled with its slot; not to another container that had the
 * name already (Docker refused the create, and ds01d died before releasing). */
static bool may_bind(const struct store_alloc *a, const struct container_class *cc)
{
        if (!streq(a->origin, "proxy"))
                return true; /* an admin's allocation for a name, claimed by it */
        return cc && streq(cc->owner, a->user) && csv_has(cc->ds01_slots, a->slot);
}

/* The hold of a stopped container's allocation that has none yet (restored
 * by `ds01 state rebuild`, or adopted): counted from when it stopped. 0 when
 * the hold has ended; -1 when it never ends. */
static int64_t hold_expiry(struct ds01d *d, const struct store_alloc *a, int64_t finished_s,
                           int64_t now)
{
        int64_t hold = hold_for(d, a), from = finished_s > 0 ? finished_s * 1000000 : now;

        if (hold >= INT64_MAX / 1000000 / 2)
                return -1;
        if (hold <= 0 || from + hold * 1000000 <= now)
                return 0;
        return from + hold * 1000000;
}

/* Move the allocations of one container with Docker's state. cc: what
 * Docker said of it (NULL when it was removed). */
static void follow_allocations(struct ds01d *d, const char *id, const char *name, bool removed,
                               bool running, bool stopped, const struct container_class *cc)
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
                if (!a[i].container_id[0] && !removed) {
                        /* matched by its name: bind it, when it is this container's */
                        if (!may_bind(&a[i], cc))
                                continue;
                        (void)store_alloc_set_container_id(d->store, a[i].container, id, now);
                }
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
                } else if (stopped && a[i].state == STORE_ALLOC_HELD && a[i].expires == 0 &&
                           streq(a[i].origin, "labels")) {
                        /* restored from labels without a hold: from when it stopped */
                        int64_t until = hold_expiry(d, &a[i], cc ? cc->finished_s : 0, now);
                        if (until == 0) {
                                to = STORE_ALLOC_RELEASED;
                                event = "gpu.released";
                                why = "hold ended";
                        } else if (until > 0) {
                                expires = until;
                                why = "held since the container stopped";
                        }
                }
                if (to == a[i].state && expires == a[i].expires)
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

/* Is dev (as the container names it) the slot v? */
static bool device_is(const struct ds01d *d, const struct slot_view *v, const char *dev)
{
        return streq(dev, v->uuid) ||
               (v->mig < 0 && v->gpu < d->n_gpus && streq(dev, d->gpus[v->gpu].uuid));
}

/* Was row a written by the proxy for the create that made cc: the owner's,
 * on a slot of its labels, under its name or a placeholder key? */
static bool row_of_create(const struct store_alloc *a, const struct container_class *cc)
{
        return streq(a->origin, "proxy") && !a->container_id[0] && streq(a->user, cc->owner) &&
               (startswith(a->container, PENDING_KEY) || streq(a->container, cc->name));
}

/* A container the proxy made (ds01.user, ds01.gpu.slots, and devices that are
 * those slots' UUIDs) holding no allocation: ds01d died between Docker's
 * answer and the bind. Its allocation is taken back: the proxy's row on each
 * slot, still unbound, is bound to it; a row that release_orphans() released
 * meanwhile (Docker finished the create after the grace) is written again
 * while its slot is free. Nothing is written when any slot is held by
 * someone else, or when the container held an allocation before (its hold
 * ended: the proxy refuses to start it), or for labels ds01 did not write in
 * this database (an admin's container: unmanaged, `ds01 state rebuild` is
 * the way for those). Lock held. */
static void adopt_from_labels(struct ds01d *d, const struct container_class *cc)
{
        struct store_alloc_filter f_ever = {.container = cc->id};
        struct store_alloc_filter f_user = {.user = cc->owner};
        struct store_alloc *rows = NULL, tmpl = {0};
        char buf[CLASSIFY_SLOTS_MAX], *p, *save = NULL;
        size_t n = 0, n_slots = 0, written = 0;
        int idx[ALLOC_MAX_SLOTS];
        const struct store_alloc *bind[ALLOC_MAX_SLOTS];
        enum store_alloc_state state = STORE_ALLOC_ACTIVE;
        int64_t now = now_us(), expires = 0;
        json_t *slots;
        int r;

        if (!cc->ds01_managed || cc->owner_source != OWNER_LABEL || !cc->owner[0] || !cc->name[0] ||
            !cc->ds01_slots[0])
                return;
        (void)strscpy(buf, sizeof(buf), cc->ds01_slots);
        for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                int k = state_slot_index(d, p);
                bool pinned = false;
                if (k < 0 || n_slots >= ELEMENTSOF(idx))
                        return; /* not a slot of these GPUs: not ours to take back */
                for (size_t j = 0; j < cc->n_gpu_devices && !pinned; j++)
                        pinned = device_is(d, &d->slots[k], cc->gpu_devices[j]);
                if (!pinned)
                        return; /* labels of another machine's (or test's) GPUs */
                idx[n_slots++] = k;
        }
        if (n_slots == 0)
                return;
        if (store_alloc_list(d->store, &f_ever, &rows, &n) < 0 || n > 0) {
                free(rows);
                return;
        }
        /* the owner's rows, all states: what the proxy wrote for this create */
        if (store_alloc_list(d->store, &f_user, &rows, &n) < 0)
                return;
        for (size_t i = 0; i < n_slots; i++) {
                const char *slot = d->slots[idx[i]].name;
                const struct store_alloc *in_force = NULL, *orphan = NULL;
                for (size_t j = 0; j < n; j++) {
                        if (!streq(rows[j].slot, slot) || !row_of_create(&rows[j], cc))
                                continue;
                        if (rows[j].state != STORE_ALLOC_RELEASED)
                                in_force = &rows[j];
                        else if (streq(rows[j].reason, ORPHAN_REASON))
                                orphan = &rows[j];
                }
                bind[i] = in_force;
                if (!in_force && !orphan) {
                        free(rows);
                        return; /* no create of ours made it */
                }
        }
        (void)strscpy(tmpl.user, sizeof(tmpl.user), cc->owner);
        (void)strscpy(tmpl.interface, sizeof(tmpl.interface),
                      cc->interface[0] ? cc->interface : cc->type);
        if (!cc->running && !streq(cc->state, "created")) {
                /* stopped: held for what is left of the owner's hold */
                expires = hold_expiry(d, &tmpl, cc->finished_s, now);
                if (expires == 0) {
                        free(rows);
                        return;
                }
                state = STORE_ALLOC_HELD;
                expires = MAX(expires, 0);
        }
        slots = json_array();
        r = store_begin(d->store);
        for (size_t i = 0; i < n_slots && r >= 0; i++) {
                const struct slot_view *v = &d->slots[idx[i]];
                struct store_alloc a = tmpl;
                if (bind[i]) {
                        r = store_alloc_bind(d->store, bind[i]->container, cc->name, cc->id, now);
                        continue;
                }
                (void)strscpy(a.slot, sizeof(a.slot), v->name);
                (void)strscpy(a.container, sizeof(a.container), cc->name);
                (void)strscpy(a.container_id, sizeof(a.container_id), cc->id);
                (void)strscpy(a.reason, sizeof(a.reason), "taken back from the container's labels");
                (void)strscpy(a.origin, sizeof(a.origin), "labels");
                a.weight = v->weight;
                a.state = state;
                a.expires = expires;
                r = store_alloc_insert(d->store, &a, now); /* -EEXIST: someone has it now */
                json_array_append_new(slots, json_string(v->name));
                written++;
        }
        if (r >= 0 && written > 0)
                daemon_event(d, "gpu.allocated", cc->owner,
                             json_pack("{s:s, s:O, s:s, s:s, s:s}", "container", cc->name, "slots",
                                       slots, "state", store_alloc_state_name(state), "reason",
                                       "taken back from the container's labels", "by",
                                       "reconcile"));
        r = state_commit(d, r);
        if (r == -EEXIST)
                log_warning("container %s (user %s) is labelled with slot(s) %s, given to someone "
                            "else since: it stays without a GPU",
                            cc->name, cc->owner, cc->ds01_slots);
        else if (r >= 0 && written > 0)
                log_notice("container %s (user %s) holds slot(s) %s again, from its labels",
                           cc->name, cc->owner, cc->ds01_slots);
        else if (r >= 0)
                log_debug("container %s (user %s) bound to its slot(s) %s", cc->name, cc->owner,
                          cc->ds01_slots);
        json_decref(slots);
        free(rows);
}

/* The rows the proxy wrote for creates that a ds01d which died had not
 * finished: still bound to no container after the start and a full pass (a
 * container with their name or labels would have taken them). Lock held. */
static void release_orphans(struct ds01d *d)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0, released = 0;
        int64_t now = now_us();
        int r;

        if (store_alloc_list(d->store, &f, &a, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                const char *why = ORPHAN_REASON;
                if (!streq(a[i].origin, "proxy") || a[i].container_id[0] ||
                    a[i].created >= d->started_us)
                        continue;
                r = store_begin(d->store);
                if (r >= 0)
                        r = store_alloc_update(d->store, a[i].id, STORE_ALLOC_RELEASED, 0, why,
                                               now);
                if (r >= 0)
                        daemon_event(d, "gpu.released", a[i].user,
                                     json_pack("{s:s, s:[s], s:s}", "container", a[i].container,
                                               "slots", a[i].slot, "reason", why));
                if (state_commit(d, r) >= 0)
                        released++;
        }
        free(a);
        if (released > 0) {
                log_notice("released %zu slot(s) of creates that ds01d did not finish before it "
                           "stopped",
                           released);
                state_tick(d);
        }
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
                follow_allocations(d, id, NULL, true, false, false, NULL);
                if (store_container_list_live(d->store, &list, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (streq(list[i].id, id) && !streq(list[i].state, "removed")) {
                                        row = list[i];
                                        (void)strscpy(row.state, sizeof(row.state), "removed");
                                        (void)store_container_upsert(d->store, &row, now);
                                        follow_allocations(d, id, list[i].name, true, false, false,
                                                           NULL);
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
                           streq(cc.state, "exited") || streq(cc.state, "dead"), &cc);
        if (cc.gpu_kind != GPU_REQ_NONE && !has_allocation(d, cc.id, cc.name))
                adopt_from_labels(d, &cc);
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

static bool listed(const json_t *list, const char *id)
{
        size_t i;
        json_t *c;

        json_array_foreach(list, i, c)
        {
                const char *lid = json_string_value(json_object_get(c, "Id"));
                if (lid && streq(lid, id))
                        return true;
        }
        return false;
}

/* A full pass: the containers Docker lists whose state changed (or that are
 * new) — all of them when asked (start, lost events) and every
 * FULL_INSPECT_EVERY passes — and those Docker no longer has: the ones the
 * containers table knows, and the ones an allocation in force is bound to
 * (a container created and removed before its events were applied has no
 * row, and its allocation would otherwise be held for ever). Without the
 * lock but for the applying. */
static void full_pass(struct ds01d *d, bool all)
{
        static unsigned passes;
        json_t *list = NULL, *c;
        struct store_container *known = NULL;
        struct store_alloc_filter af = {.in_force_only = true};
        struct store_alloc *allocs = NULL;
        size_t n_known = 0, n_allocs = 0, i, n_ids = 0;
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
        (void)store_alloc_list(d->store, &af, &allocs, &n_allocs);
        pthread_mutex_unlock(&d->lock);

        ids = calloc(json_array_size(list) + n_known + n_allocs + 1, sizeof(*ids));
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
        for (size_t k = 0; k < n_allocs; k++) {
                const char *cid = allocs[k].container_id;
                bool queued = false;
                if (!cid[0] || listed(list, cid))
                        continue;
                for (size_t j = 0; j < n_ids && !queued; j++)
                        queued = streq(ids[j], cid);
                if (!queued)
                        (void)strscpy(ids[n_ids++], STORE_ID_MAX, cid);
        }
        for (size_t k = 0; k < n_ids; k++)
                reconcile_one(d, ids[k]);
        if (!d->orphans_swept && now_us() - d->started_us >= ORPHAN_GRACE_US) {
                pthread_mutex_lock(&d->lock);
                release_orphans(d);
                d->orphans_swept = true;
                pthread_mutex_unlock(&d->lock);
        }
out:
        free(ids);
        free(allocs);
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

        /* the pass after the grace of creates a ds01d that died left half done */
        if (!d->orphans_swept && now_us() - d->started_us >= ORPHAN_GRACE_US &&
            d->last_full_pass - d->started_us < ORPHAN_GRACE_US)
                force_full = true;
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
