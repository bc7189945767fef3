/* SPDX-License-Identifier: MIT */
/*
 * state.c - ds01d's decisions carried out: gather the allocator's input from
 * the slot views, the database and the configuration, call the pure
 * allocator, and write the answer with its event in one BEGIN IMMEDIATE
 * transaction. Also the queue (join, grant, deadlines), holds and claim
 * windows expiring, reservations from user_overrides, and the JSON views of
 * the API. Every function here runs with d->lock held.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define DAY_S          (24 * 3600)
#define USAGE_WINDOW_S (7 * DAY_S)

int state_slot_index(const struct ds01d *d, const char *name)
{
        for (size_t i = 0; i < d->n_slots; i++)
                if (streq(d->slots[i].name, name))
                        return (int)i;
        return -1;
}

int state_sync_slots(struct ds01d *d)
{
        const struct gpu_topology *t = gpu_ctx_topology(d->gpu);
        struct store_slot *rows;
        struct slot_view *v;
        int r;

        v = calloc(t->n_slots ? t->n_slots : 1, sizeof(*v));
        rows = calloc(t->n_slots ? t->n_slots : 1, sizeof(*rows));
        if (!v || !rows) {
                free(v);
                free(rows);
                return -ENOMEM;
        }
        for (size_t i = 0; i < t->n_slots; i++) {
                const struct gpu_slot *s = &t->slots[i];
                const struct gpu_device *g = &t->gpus[s->gpu];
                (void)strscpy(v[i].name, sizeof(v[i].name), s->name);
                (void)strscpy(v[i].uuid, sizeof(v[i].uuid), s->uuid);
                if (s->mig >= 0)
                        (void)strscpy(v[i].profile, sizeof(v[i].profile), g->mig[s->mig].profile);
                v[i].gpu = g->index;
                v[i].mig = s->mig >= 0 ? (int)g->mig[s->mig].index : -1;
                v[i].weight = s->weight;
                v[i].healthy = g->healthy;
                v[i].gpu_instance_id = s->mig >= 0 ? g->mig[s->mig].gpu_instance_id : 0;
                (void)strscpy(rows[i].name, sizeof(rows[i].name), s->name);
                (void)strscpy(rows[i].uuid, sizeof(rows[i].uuid), s->uuid);
                (void)strscpy(rows[i].profile, sizeof(rows[i].profile), v[i].profile);
                rows[i].gpu = v[i].gpu;
                rows[i].mig = v[i].mig;
                rows[i].weight = s->weight;
                rows[i].present = true;
        }
        r = store_slots_sync(d->store, rows, t->n_slots, now_us());
        free(rows);
        if (r < 0) {
                free(v);
                return log_error_errno(r, "cannot record the slots: %s", store_errmsg(d->store));
        }
        {
                struct gpu_view *gv = calloc(t->n_gpus ? t->n_gpus : 1, sizeof(*gv));
                if (!gv) {
                        free(v);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < t->n_gpus; i++) {
                        gv[i].index = t->gpus[i].index;
                        (void)strscpy(gv[i].uuid, sizeof(gv[i].uuid), t->gpus[i].uuid);
                        gv[i].mig_enabled = t->gpus[i].mig_current == GPU_MIG_ENABLED;
                        gv[i].reading.healthy = t->gpus[i].healthy;
                }
                free(d->gpus);
                d->gpus = gv;
                d->n_gpus = t->n_gpus;
        }
        free(d->slots);
        d->slots = v;
        d->n_slots = t->n_slots;
        return 0;
}

int state_user_limits(struct ds01d *d, const char *user, struct user_limits *ret)
{
        return config_resolve_user(d->config, user, ret);
}

static void limits_from(const struct user_limits *ul, const struct global_settings *g,
                        struct alloc_limits *ret)
{
        ret->gpu_limit = ul->aggregate.present && ul->aggregate.has_gpu_limit
                             ? ul->aggregate.gpu_limit
                             : INFINITY;
        ret->max_gpu_equivalents = ul->max_gpu_equivalents;
        ret->max_slots_per_container = ul->max_gpu_slots_per_container == LIMIT_UNLIMITED
                                           ? -1
                                           : ul->max_gpu_slots_per_container;
        ret->allow_full_gpu = ul->allow_full_gpu;
        ret->max_containers = ul->max_containers == LIMIT_UNLIMITED ? -1 : ul->max_containers;
        ret->allow_multi_mig = g->allow_multi_mig;
}

/* What the allocator needs, gathered; arrays owned here. */
struct gathered {
        struct alloc_slot *slots;
        struct store_alloc *rows;
        size_t n_rows;
        struct alloc_holding *holdings;
        size_t n_holdings;
        struct store_reservation *res_rows;
        size_t n_res;
        struct alloc_reservation *res;
        size_t *res_slots;
};

static void gathered_release(struct gathered *g)
{
        free(g->slots);
        free(g->rows);
        free(g->holdings);
        free(g->res_rows);
        free(g->res);
        free(g->res_slots);
        memset(g, 0, sizeof(*g));
}

/* Split "1,2.3" into slot indexes (unknown names dropped). */
static size_t parse_slot_list(const struct ds01d *d, const char *list, size_t *out, size_t max)
{
        char buf[STORE_TEXT_MAX];
        size_t n = 0;
        char *p, *save = NULL;

        (void)strscpy(buf, sizeof(buf), list);
        for (p = strtok_r(buf, ",", &save); p && n < max; p = strtok_r(NULL, ",", &save)) {
                int i = state_slot_index(d, p);
                if (i >= 0)
                        out[n++] = (size_t)i;
        }
        return n;
}

static int gather(struct ds01d *d, struct gathered *g)
{
        struct store_alloc_filter f = {.in_force_only = true};
        size_t total_res_slots = 0, k = 0;
        int r;

        memset(g, 0, sizeof(*g));
        g->slots = calloc(d->n_slots ? d->n_slots : 1, sizeof(*g->slots));
        if (!g->slots)
                return -ENOMEM;
        r = store_alloc_list(d->store, &f, &g->rows, &g->n_rows);
        if (r < 0)
                return r;
        g->holdings = calloc(g->n_rows ? g->n_rows : 1, sizeof(*g->holdings));
        if (!g->holdings)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_rows; i++) {
                int s = state_slot_index(d, g->rows[i].slot);
                if (s < 0)
                        continue; /* a slot no longer in the topology */
                g->holdings[g->n_holdings++] = (struct alloc_holding){
                    .slot = (size_t)s,
                    .container = g->rows[i].container,
                    .user = g->rows[i].user,
                    .state = (enum alloc_state)g->rows[i].state,
                };
        }
        for (size_t i = 0; i < d->n_slots; i++) {
                bool held = false;
                for (size_t h = 0; h < g->n_holdings; h++)
                        if (g->holdings[h].slot == i)
                                held = true;
                g->slots[i] = (struct alloc_slot){
                    .name = d->slots[i].name,
                    .gpu = d->slots[i].gpu,
                    .mig = d->slots[i].mig >= 0,
                    .weight = d->slots[i].weight,
                    .healthy = d->slots[i].healthy,
                    /* a process on a slot nobody holds is someone else's */
                    .foreign_process = (!held && d->slots[i].n_procs > 0) ||
                                       d->slots[i].unmanaged || d->slots[i].host_procs > 0,
                    .gpu_recent_use = 0,
                };
        }
        r = store_reservation_list(d->store, now_us() / 1000000, &g->res_rows, &g->n_res);
        if (r < 0)
                return r;
        g->res = calloc(g->n_res ? g->n_res : 1, sizeof(*g->res));
        total_res_slots = g->n_res * (d->n_slots ? d->n_slots : 1);
        g->res_slots = calloc(total_res_slots ? total_res_slots : 1, sizeof(*g->res_slots));
        if (!g->res || !g->res_slots)
                return -ENOMEM;
        for (size_t i = 0; i < g->n_res; i++) {
                struct store_reservation *sr = &g->res_rows[i];
                size_t *out = g->res_slots + k;
                size_t n = parse_slot_list(d, sr->slots, out, d->n_slots);
                k += n;
                g->res[i] = (struct alloc_reservation){
                    .user = sr->user[0] ? sr->user : NULL,
                    .group = sr->group[0] ? sr->group : NULL,
                    .start = sr->start,
                    .end = sr->end,
                    .slots = out,
                    .n_slots = n,
                };
        }
        return 0;
}

/* The user's containers with allocations in force, `except` not counted.
 * (Until Docker is in the loop, ds01d counts the containers it holds GPUs for.) */
static long long count_containers(const struct gathered *g, const char *user, const char *except)
{
        long long n = 0;
        for (size_t i = 0; i < g->n_rows; i++) {
                bool seen = false;
                if (!streq(g->rows[i].user, user) || streq(g->rows[i].container, except))
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (streq(g->rows[j].container, g->rows[i].container))
                                seen = true;
                n += !seen;
        }
        return n;
}

static json_t *slots_json(const struct ds01d *d, const struct alloc_result *res)
{
        json_t *a = json_array();
        for (size_t i = 0; i < res->n_slots; i++) {
                const struct slot_view *v = &d->slots[res->slots[i]];
                json_array_append_new(a, json_pack("{s:s, s:s, s:f}", "slot", v->name, "uuid",
                                                   v->uuid, "gpu_equivalents", v->weight));
        }
        return a;
}

json_t *state_grant_json(const struct ds01d *d, const char *container, const char *user,
                         const struct alloc_result *res, json_t *queued_seconds)
{
        return json_pack("{s:s, s:s, s:o, s:f, s:b, s:o}", "container", container, "user", user,
                         "slots", slots_json(d, res), "gpu_equivalents", res->weight, "existing",
                         res->existing, "queued_seconds", queued_seconds);
}

int state_commit(struct ds01d *d, int r)
{
        if (r >= 0) {
                r = store_commit(d->store);
                if (r >= 0) {
                        daemon_events_flush(d);
                        return 0;
                }
        }
        (void)store_rollback(d->store);
        daemon_events_drop(d);
        return r;
}

/* Write a granted decision: rows and the gpu.allocated event, one transaction.
 * origin: who the rows are for ("proxy": a create the proxy forwards next;
 * rows still unbound when ds01d starts again are that create's leftovers,
 * reconcile.c). */
static int write_grant(struct ds01d *d, const struct alloc_params *p,
                       const struct alloc_result *res, enum store_alloc_state state,
                       int64_t expires, const char *why, const char *origin)
{
        int64_t now = now_us();
        int r;

        r = store_begin(d->store);
        if (r < 0)
                return r;
        for (size_t i = 0; i < res->n_slots && r >= 0; i++) {
                const struct slot_view *v = &d->slots[res->slots[i]];
                struct store_alloc a = {0};
                (void)strscpy(a.slot, sizeof(a.slot), v->name);
                (void)strscpy(a.container, sizeof(a.container), p->container);
                (void)strscpy(a.user, sizeof(a.user), p->user);
                (void)strscpy(a.interface, sizeof(a.interface), p->interface ? p->interface : "");
                (void)strscpy(a.reason, sizeof(a.reason), why);
                (void)strscpy(a.origin, sizeof(a.origin), origin);
                a.weight = v->weight;
                a.state = state;
                a.expires = expires;
                r = store_alloc_insert(d->store, &a, now);
        }
        if (r >= 0)
                daemon_event(d, "gpu.allocated", p->user,
                             json_pack("{s:s, s:o, s:f, s:s, s:s, s:s}", "container", p->container,
                                       "slots", slots_json(d, res), "gpu_equivalents", res->weight,
                                       "state", store_alloc_state_name(state), "reason", why, "by",
                                       p->caller ? p->caller : ""));
        return state_commit(d, r);
}

/* Decide on what gather() read into g. */
static int decide(struct ds01d *d, const struct alloc_params *p, const struct gathered *g,
                  struct alloc_result *res)
{
        struct user_limits ul = {0};
        struct alloc_input in = {0};
        int r;

        r = state_user_limits(d, p->user, &ul);
        if (r < 0)
                return r;
        in.slots = g->slots;
        in.n_slots = d->n_slots;
        in.holdings = g->holdings;
        in.n_holdings = g->n_holdings;
        in.reservations = g->res;
        in.n_reservations = g->n_res;
        limits_from(&ul, &d->settings, &in.limits);
        in.request = (struct alloc_request){
            .user = p->user,
            .group = ul.group,
            .container = p->container,
            .count = p->count,
            .full = p->full,
            .user_containers = count_containers(g, p->user, p->container),
            .now = now_us() / 1000000,
        };
        r = alloc_decide(&in, res);
        user_limits_release(&ul);
        return r;
}

int state_allocate(struct ds01d *d, const struct alloc_params *p, struct alloc_result *res)
{
        struct gathered g;
        int64_t t0 = now_us();
        int r;

        r = gather(d, &g);
        if (r >= 0)
                r = decide(d, p, &g, res);
        d->last_decide_us = now_us() - t0;
        if (r < 0) {
                gathered_release(&g);
                return r;
        }
        if (res->code == ALLOC_OK && res->existing) {
                /* a claim kept for this container becomes active when asked for again */
                int64_t now = now_us();
                bool any = false;
                for (size_t i = 0; i < g.n_rows; i++)
                        if (streq(g.rows[i].container, p->container) &&
                            g.rows[i].state == STORE_ALLOC_PENDING) {
                                if (!any && (r = store_begin(d->store)) < 0)
                                        break;
                                any = true;
                                r = store_alloc_update(d->store, g.rows[i].id, STORE_ALLOC_ACTIVE,
                                                       0, "claimed", now);
                                if (r < 0)
                                        break;
                        }
                if (any)
                        r = state_commit(d, r);
        } else if (res->code == ALLOC_OK) {
                r = write_grant(d, p, res, STORE_ALLOC_ACTIVE, 0, "allocated",
                                p->caller && streq(p->caller, "proxy") ? "proxy" : "api");
                if (r == -EEXIST) {
                        /* the database caught a double allocation: a bug, refuse */
                        log_error("allocation for %s refused by the database: a slot is taken",
                                  p->container);
                        res->code = ALLOC_NO_CAPACITY;
                        snprintf(res->reason, sizeof(res->reason),
                                 "the slot was taken at the same moment; ask again");
                        r = 0;
                }
        } else {
                daemon_event_now(d, "gpu.rejected", p->user,
                                 json_pack("{s:s, s:s, s:s, s:i, s:b}", "container", p->container,
                                           "code", alloc_code_name(res->code), "reason",
                                           res->reason, "count", p->count, "full", p->full));
        }
        gathered_release(&g);
        return r;
}

int state_release(struct ds01d *d, const char *container, const char *reason, json_t **ret_released)
{
        struct store_alloc_filter f = {.in_force_only = true, .container = container};
        struct store_alloc *rows = NULL;
        size_t n = 0;
        int64_t now = now_us();
        json_t *released;
        int r;

        r = store_alloc_list(d->store, &f, &rows, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(rows);
                return -ENOENT;
        }
        released = json_array();
        r = store_begin(d->store);
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = store_alloc_update(d->store, rows[i].id, STORE_ALLOC_RELEASED, 0, reason, now);
                json_array_append_new(released, json_string(rows[i].slot));
        }
        if (r >= 0)
                daemon_event(d, "gpu.released", rows[0].user,
                             json_pack("{s:s, s:O, s:s}", "container", rows[0].container, "slots",
                                       released, "reason", reason));
        r = state_commit(d, r);
        free(rows);
        if (r < 0) {
                json_decref(released);
                return r;
        }
        if (ret_released)
                *ret_released = released;
        else
                json_decref(released);
        state_tick(d); /* a freed slot goes to the queue first */
        return 0;
}

int state_sync_config_reservations(struct ds01d *d)
{
        int64_t now = now_us();
        int r;

        r = store_begin(d->store);
        if (r < 0)
                return r;
        r = store_reservation_delete_source(d->store, "config");
        for (size_t i = 0; i < d->config->n_overrides && r >= 0; i++) {
                struct user_limits ul = {0};
                struct store_reservation sr = {0};
                const char *user = d->config->overrides[i].user;
                if (config_resolve_user(d->config, user, &ul) < 0)
                        continue;
                if (ul.has_reservation && ul.n_reserved_gpus > 0) {
                        size_t len = 0;
                        for (size_t k = 0; k < ul.n_reserved_gpus; k++) {
                                int w = snprintf(sr.slots + len, sizeof(sr.slots) - len, "%s%s",
                                                 k ? "," : "", ul.reserved_gpus[k]);
                                if (w < 0 || (size_t)w >= sizeof(sr.slots) - len)
                                        break;
                                len += (size_t)w;
                        }
                        (void)strscpy(sr.user, sizeof(sr.user), user);
                        sr.start = ul.reservation_start;
                        sr.end = ul.reservation_end;
                        (void)strscpy(sr.reason, sizeof(sr.reason), "user_overrides");
                        (void)strscpy(sr.source, sizeof(sr.source), "config");
                        r = store_reservation_insert(d->store, &sr, now);
                }
                user_limits_release(&ul);
        }
        return state_commit(d, r);
}

/* ---- queue ---- */

static double decayed_usage(struct ds01d *d, const char *user, int64_t now_s)
{
        struct store_usage *u = NULL;
        struct alloc_usage *au;
        size_t n = 0;
        double h = 0;

        if (store_usage_list(d->store, user, now_s - USAGE_WINDOW_S, &u, &n) < 0 || n == 0) {
                free(u);
                return 0;
        }
        au = calloc(n, sizeof(*au));
        if (au) {
                for (size_t i = 0; i < n; i++)
                        au[i] = (struct alloc_usage){.time = u[i].time,
                                                     .gpu_seconds = u[i].gpu_seconds};
                h = alloc_decayed_gpu_hours(au, n, now_s, d->settings.queue_usage_half_life,
                                            USAGE_WINDOW_S);
        }
        free(au);
        free(u);
        return h;
}

static long long user_priority(struct ds01d *d, const char *user)
{
        struct user_limits ul = {0};
        long long p = 0;
        if (config_resolve_user(d->config, user, &ul) == 0) {
                p = ul.priority;
                user_limits_release(&ul);
        }
        return p;
}

int state_queue_join(struct ds01d *d, const struct alloc_params *p, int64_t deadline,
                     int64_t *ret_id)
{
        struct store_queue_entry q = {0};
        int64_t now = now_us();
        int r;

        (void)strscpy(q.user, sizeof(q.user), p->user);
        (void)strscpy(q.container, sizeof(q.container), p->container);
        q.count = p->count;
        q.full = p->full;
        q.priority = user_priority(d, p->user);
        q.arrival = now;
        q.deadline = deadline;
        q.state = STORE_QUEUE_WAITING;
        r = store_begin(d->store);
        if (r < 0)
                return r;
        r = store_queue_insert(d->store, &q, now);
        if (r >= 0)
                daemon_event(d, "queue.joined", p->user,
                             json_pack("{s:s, s:I, s:i, s:b}", "container", p->container,
                                       "queue_id", (json_int_t)q.id, "count", p->count, "full",
                                       p->full));
        r = state_commit(d, r);
        if (r >= 0)
                *ret_id = q.id;
        return r;
}

/* Waiting entries in the order they will be served; *ret_order owned. */
static int queue_in_order(struct ds01d *d, struct store_queue_entry **ret_q, size_t *ret_n,
                          struct alloc_queue_entry **ret_order, double **ret_usage)
{
        struct store_queue_entry *q = NULL;
        struct alloc_queue_entry *o;
        double *usage;
        size_t n = 0;
        int64_t now_s = now_us() / 1000000;
        int r;

        r = store_queue_list(d->store, NULL, true, &q, &n);
        if (r < 0)
                return r;
        o = calloc(n ? n : 1, sizeof(*o));
        usage = calloc(n ? n : 1, sizeof(*usage));
        if (!o || !usage) {
                free(q);
                free(o);
                free(usage);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                usage[i] = decayed_usage(d, q[i].user, now_s);
                o[i] = (struct alloc_queue_entry){.id = (int64_t)i, /* index into q */
                                                  .user = q[i].user,
                                                  .priority = q[i].priority,
                                                  .decayed_usage = usage[i],
                                                  .arrival = q[i].arrival};
        }
        alloc_queue_sort(o, n);
        *ret_q = q;
        *ret_n = n;
        *ret_order = o;
        *ret_usage = usage;
        return 0;
}

static struct waiter *find_waiter(struct ds01d *d, int64_t queue_id)
{
        for (struct waiter *w = d->waiters; w; w = w->next)
                if (w->queue_id == queue_id && !w->done)
                        return w;
        return NULL;
}

static void set_queue_state(struct ds01d *d, const struct store_queue_entry *q,
                            enum store_queue_state st, const char *event, const char *why)
{
        int r = store_begin(d->store);
        if (r < 0)
                return;
        r = store_queue_update(d->store, q->id, st, now_us());
        if (r >= 0)
                daemon_event(d, event, q->user,
                             json_pack("{s:s, s:I, s:s}", "container", q->container, "queue_id",
                                       (json_int_t)q->id, "reason", why));
        (void)state_commit(d, r);
}

/* Offer free slots to waiting entries in queue order; the head first. */
static void queue_grant(struct ds01d *d)
{
        struct store_queue_entry *q = NULL;
        struct alloc_queue_entry *o = NULL;
        double *usage = NULL;
        size_t n = 0;
        struct gathered g = {0};
        bool fresh = false; /* g reflects the allocations now */
        int64_t now = now_us();

        if (queue_in_order(d, &q, &n, &o, &usage) < 0)
                return;
        /* read the state once, and again only after a grant changed it */
        for (size_t k = 0; k < n; k++) {
                struct store_queue_entry *e = &q[o[k].id];
                struct alloc_params p = {.user = e->user,
                                         .container = e->container,
                                         .count = e->count,
                                         .full = e->full,
                                         .caller = "queue"};
                struct alloc_result res;
                struct waiter *w = find_waiter(d, e->id);
                const char *origin;
                int r;

                if (!fresh) {
                        gathered_release(&g);
                        if (gather(d, &g) < 0)
                                break;
                        fresh = true;
                }
                r = decide(d, &p, &g, &res);
                if (r < 0 || res.code == ALLOC_NO_CAPACITY)
                        continue;
                if (res.code != ALLOC_OK) {
                        /* the limits changed while it waited: tell the caller why */
                        set_queue_state(d, e, STORE_QUEUE_LEFT, "queue.left", res.reason);
                        if (w)
                                waiter_finish(d, w, 409,
                                              json_pack("{s:s, s:s}", "error",
                                                        alloc_code_name(res.code), "message",
                                                        res.reason));
                        continue;
                }
                /* granted: active for a caller still waiting (a create through
                 * the proxy, or an API call), else a claim kept for the claim
                 * window */
                origin = !w ? "queue" : w->cond ? "proxy" : "api";
                r = write_grant(d, &p, &res, w ? STORE_ALLOC_ACTIVE : STORE_ALLOC_PENDING,
                                w ? 0 : now + d->settings.queue_claim_window * 1000000,
                                "granted from the queue", origin);
                fresh = false;
                if (r >= 0) {
                        set_queue_state(d, e, STORE_QUEUE_GRANTED, "queue.granted", "slot free");
                        if (!w) {
                                /* nobody is waiting on a connection: tell the user */
                                char text[512];
                                snprintf(text, sizeof(text),
                                         "ds01: the GPU you queued for is ready%s%s%s. It is kept "
                                         "for you for %llds: run your command again now.",
                                         e->container[0] ? " (for '" : "", e->container,
                                         e->container[0] ? "')" : "",
                                         (long long)d->settings.queue_claim_window);
                                (void)daemon_notify_user(d, e->user, text);
                        }
                        if (w) {
                                res.existing = false;
                                waiter_finish(
                                    d, w, 200,
                                    state_grant_json(d, e->container, e->user, &res,
                                                     json_real((double)(now - w->since) / 1e6)));
                        }
                }
        }
        gathered_release(&g);
        free(q);
        free(o);
        free(usage);
}

/* Holds and claim windows that ran out. */
static void expire_allocations(struct ds01d *d)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *rows = NULL;
        size_t n = 0;
        int64_t now = now_us();

        if (store_alloc_list(d->store, &f, &rows, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                const char *why;
                int r;
                if (rows[i].expires <= 0 || rows[i].expires > now)
                        continue;
                if (rows[i].state == STORE_ALLOC_HELD)
                        why = "hold ended";
                else if (rows[i].state == STORE_ALLOC_PENDING)
                        why = "claim window ended";
                else
                        continue;
                r = store_begin(d->store);
                if (r < 0)
                        break;
                r = store_alloc_update(d->store, rows[i].id, STORE_ALLOC_RELEASED, 0, why, now);
                if (r >= 0)
                        daemon_event(d, "gpu.released", rows[i].user,
                                     json_pack("{s:s, s:[s], s:s}", "container", rows[i].container,
                                               "slots", rows[i].slot, "reason", why));
                (void)state_commit(d, r);
        }
        free(rows);
}

/* Waiters past their deadline, or whose caller hung up. */
static void check_waiters(struct ds01d *d)
{
        int64_t now = now_us();

        for (struct waiter *w = d->waiters; w; w = w->next) {
                struct store_queue_entry q;
                struct pollfd pfd = {.fd = w->fd, .events = POLLRDHUP};
                if (w->done)
                        continue;
                if (store_queue_get(d->store, w->queue_id, &q) < 0)
                        continue;
                if (q.state == STORE_QUEUE_WAITING && w->fd >= 0 && poll(&pfd, 1, 0) > 0 &&
                    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
                        /* the caller hung up: it leaves the queue */
                        set_queue_state(d, &q, STORE_QUEUE_LEFT, "queue.left",
                                        "the caller went away");
                        waiter_finish(d, w, 408,
                                      json_pack("{s:s, s:s}", "error", "QUEUE_TIMEOUT", "message",
                                                "the caller went away"));
                        continue;
                }
                if (q.state == STORE_QUEUE_LEFT) {
                        waiter_finish(d, w, 408,
                                      json_pack("{s:s, s:s}", "error", "QUEUE_TIMEOUT", "message",
                                                "removed from the queue"));
                        continue;
                }
                if (w->deadline > 0 && now >= w->deadline) {
                        set_queue_state(d, &q, STORE_QUEUE_EXPIRED, "queue.expired",
                                        "waited too long");
                        waiter_finish(d, w, 408,
                                      json_pack("{s:s, s:s}", "error", "QUEUE_TIMEOUT", "message",
                                                "no GPU became free while you waited; try again "
                                                "later or ask for less"));
                }
        }
}

void state_tick(struct ds01d *d)
{
        expire_allocations(d);
        check_waiters(d);
        queue_grant(d);
}

/* ---- JSON views ---- */

json_t *state_alloc_json(const struct store_alloc *a)
{
        return json_pack(
            "{s:I, s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:o, s:o, s:o, s:s}", "id", (json_int_t)a->id,
            "slot", a->slot, "container", a->container, "container_id", a->container_id, "user",
            a->user, "gpu_equivalents", a->weight, "state", store_alloc_state_name(a->state),
            "interface", a->interface, "created", json_time_us(a->created), "updated",
            json_time_us(a->updated), "expires", json_time_us(a->expires), "reason", a->reason);
}

json_t *state_queue_json(struct ds01d *d, const char *user_or_null)
{
        struct store_queue_entry *q = NULL;
        struct alloc_queue_entry *o = NULL;
        double *usage = NULL;
        size_t n = 0;
        json_t *a = json_array();

        if (queue_in_order(d, &q, &n, &o, &usage) < 0)
                return a;
        for (size_t k = 0; k < n; k++) {
                struct store_queue_entry *e = &q[o[k].id];
                if (user_or_null && !streq(e->user, user_or_null))
                        continue;
                json_array_append_new(
                    a, json_pack("{s:I, s:I, s:s, s:s, s:o, s:b, s:I, s:f, s:o, s:o, s:s}", "id",
                                 (json_int_t)e->id, "position", (json_int_t)k + 1, "user", e->user,
                                 "container", e->container, "count",
                                 e->count < 0 ? json_string("all") : json_integer(e->count), "full",
                                 e->full, "priority", (json_int_t)e->priority, "decayed_gpu_hours",
                                 usage[o[k].id], "arrival", json_time_us(e->arrival), "deadline",
                                 json_time_us(e->deadline), "state",
                                 store_queue_state_name(e->state)));
        }
        free(q);
        free(o);
        free(usage);
        return a;
}

json_t *state_status_json(struct ds01d *d)
{
        struct gathered g;
        json_t *slots = json_array(), *j;
        size_t allocated = 0, n_free = 0, queue_len = 0;
        double total = 0, used = 0;
        int64_t now_s = now_us() / 1000000;
        struct store_queue_entry *q = NULL;

        if (gather(d, &g) < 0) {
                gathered_release(&g);
                json_decref(slots);
                return NULL;
        }
        if (store_queue_list(d->store, NULL, true, &q, &queue_len) < 0)
                queue_len = 0;
        free(q);
        for (size_t i = 0; i < d->n_slots; i++) {
                const struct slot_view *v = &d->slots[i];
                const struct store_alloc *a = NULL;
                json_t *reserved = json_null();
                const char *state = v->healthy ? "free" : "unhealthy";

                for (size_t k = 0; k < g.n_rows; k++)
                        if (streq(g.rows[k].slot, v->name))
                                a = &g.rows[k];
                if (a) {
                        state = store_alloc_state_name(a->state);
                        allocated++;
                        used += v->weight;
                } else if (v->healthy) {
                        n_free++; /* an unhealthy slot is neither held nor free */
                }
                for (size_t r = 0; r < g.n_res; r++) {
                        if (now_s < g.res[r].start || now_s >= g.res[r].end)
                                continue;
                        for (size_t s = 0; s < g.res[r].n_slots; s++)
                                if (g.res[r].slots[s] == i) {
                                        char who[STORE_NAME_MAX + 8];
                                        snprintf(who, sizeof(who), "%s:%s",
                                                 g.res[r].user ? "user" : "group",
                                                 g.res[r].user ? g.res[r].user : g.res[r].group);
                                        json_decref(reserved);
                                        reserved = json_string(who);
                                }
                }
                total += v->weight;
                json_array_append_new(
                    slots,
                    json_pack("{s:s, s:s, s:s, s:o, s:f, s:b, s:s, s:o, s:o, s:o, s:o}", "slot",
                              v->name, "uuid", v->uuid, "kind", v->mig >= 0 ? "mig" : "full",
                              "profile", v->mig >= 0 ? json_string(v->profile) : json_null(),
                              "gpu_equivalents", v->weight, "healthy", v->healthy, "state", state,
                              "user", a ? json_string(a->user) : json_null(), "container",
                              a ? json_string(a->container) : json_null(), "since",
                              a ? json_time_us(a->created) : json_null(), "reserved_for",
                              reserved));
        }
        j = json_pack(
            "{s:I, s:I, s:I, s:f, s:f, s:I, s:{s:b, s:o}, s:o}", "slots_total",
            (json_int_t)d->n_slots, "slots_allocated", (json_int_t)allocated, "slots_free",
            (json_int_t)n_free, "gpu_equivalents_total", total, "gpu_equivalents_allocated", used,
            "queue_length", (json_int_t)queue_len, "nvml", "available", d->nvml_available, "reason",
            d->nvml_available ? json_null() : json_string(d->nvml_reason), "slots", slots);
        gathered_release(&g);
        return j;
}
