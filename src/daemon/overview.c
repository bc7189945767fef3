/* SPDX-License-Identifier: MIT */
/*
 * overview.c - GET /v1/overview: the whole server in one object, for
 * `ds01 status`, `ds01 top` and the web dashboard (docs/API.md "GET
 * /v1/overview"). Every user may read it: it is what the old dashboard showed
 * everyone.
 *
 * It is put together from the views the other endpoints already build
 * (state_status_json for the slots, state_queue_json, reservation_json,
 * event_json, alerts_json, the lifecycle loop's last pass) plus the GPU
 * samples in struct ds01d. d->lock is held only while the state is read: the
 * lifecycle view has its own mutex, and the free-space look and the host name
 * happen before it. The health block is the cheap one, from what ds01d
 * already knows (Docker as reconcile last saw it, the GPUs, the event log,
 * disk space, containers and processes outside ds01); `ds01 health` runs the
 * full checks.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/units.h"

#define OVERVIEW_EVENTS    50
#define DISK_FAIL_SHARE    0.10
#define OVERVIEW_USERS_MAX 100000

/* What one user holds, runs and waits for. */
struct ov_user {
        char user[STORE_NAME_MAX];
        double gpu;
        long long containers;
        uint64_t memory;
        bool have_memory;
        long long queued;
        bool alert;
};

struct ov_users {
        struct ov_user *v;
        size_t n;
};

static struct ov_user *ov_user_get(struct ov_users *u, const char *user)
{
        struct ov_user *p;

        if (!user || !*user)
                return NULL;
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->v[i].user, user))
                        return &u->v[i];
        if (u->n >= OVERVIEW_USERS_MAX)
                return NULL;
        p = reallocarray(u->v, u->n + 1, sizeof(*p));
        if (!p)
                return NULL;
        u->v = p;
        p = &p[u->n++];
        memset(p, 0, sizeof(*p));
        (void)strscpy(p->user, sizeof(p->user), user);
        return p;
}

static int ov_user_cmp(const void *a, const void *b)
{
        return strcmp(((const struct ov_user *)a)->user, ((const struct ov_user *)b)->user);
}

/* ---- small JSON helpers ---- */

static json_t *opt_int(bool known, json_int_t v)
{
        return known ? json_integer(v) : json_null();
}

static json_t *opt_real(double v)
{
        return isfinite(v) ? json_real(v) : json_null();
}

static json_int_t json_int_or(const json_t *o, const char *key, json_int_t dflt)
{
        json_t *v = json_object_get(o, key);
        return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The "in_s" of the first action named `action` in a lifecycle view entry. */
static json_t *action_in(const json_t *view, const char *action)
{
        size_t i;
        json_t *a;

        json_array_foreach(json_object_get(view, "actions"), i, a)
        {
                const char *name = json_string_value(json_object_get(a, "action"));
                json_t *in = json_object_get(a, "in_s");
                if (name && streq(name, action) && json_is_integer(in))
                        return json_integer(MAX(json_integer_value(in), (json_int_t)0));
        }
        return json_null();
}

static const json_t *view_of(const json_t *view, const char *id)
{
        size_t i;
        json_t *c;

        json_array_foreach(view, i, c)
        {
                const char *cid = json_string_value(json_object_get(c, "id"));
                if (cid && streq(cid, id))
                        return c;
        }
        return NULL;
}

/* ---- GPUs and slots (lock held) ---- */

static json_t *slot_json(const struct ds01d *d, size_t i, const json_t *status_slot)
{
        const struct slot_view *v = &d->slots[i];
        const struct gpu_view *g = v->gpu < d->n_gpus ? &d->gpus[v->gpu] : NULL;
        bool full = v->mig < 0, have = d->have_sample;
        bool util_slot = have && (v->reading.has & GPU_HAS_UTIL_GPU);
        bool util_gpu = have && full && g && (g->reading.has & GPU_HAS_UTIL_GPU);
        bool mem_slot = have && (v->reading.has & GPU_HAS_MEMORY);
        bool mem_gpu = have && full && g && (g->reading.has & GPU_HAS_MEMORY);
        json_t *o = json_deep_copy(status_slot);

        if (!o)
                return NULL;
        json_object_del(o, "uuid");
        json_object_set_new(o, "utilization_percent",
                            util_slot  ? json_integer(lround(v->reading.util))
                            : util_gpu ? json_integer(g->reading.util_gpu)
                                       : json_null());
        json_object_set_new(o, "memory_used_bytes",
                            mem_slot  ? json_integer((json_int_t)v->reading.memory_used)
                            : mem_gpu ? json_integer((json_int_t)g->reading.memory_used)
                                      : json_null());
        json_object_set_new(o, "memory_total_bytes",
                            mem_slot  ? json_integer((json_int_t)v->reading.memory_total)
                            : mem_gpu ? json_integer((json_int_t)g->reading.memory_total)
                                      : json_null());
        json_object_set_new(o, "processes", json_integer(v->n_procs));
        json_object_set_new(o, "host_processes", json_integer(v->host_procs));
        json_object_set_new(o, "unmanaged", json_boolean(v->unmanaged));
        return o;
}

static json_t *gpus_json(const struct ds01d *d, const json_t *status_slots)
{
        json_t *gpus = json_array();

        for (size_t k = 0; k < d->n_gpus; k++) {
                const struct gpu_view *g = &d->gpus[k];
                const struct gpu_reading *rd = &g->reading;
                bool have = d->have_sample;
                json_t *slots = json_array();

                for (size_t i = 0; i < d->n_slots && i < json_array_size(status_slots); i++)
                        if (d->slots[i].gpu == k)
                                json_array_append_new(
                                    slots, slot_json(d, i, json_array_get(status_slots, i)));
                json_array_append_new(
                    gpus,
                    json_pack(
                        "{s:I, s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "index",
                        (json_int_t)g->index, "uuid", g->uuid, "mig_enabled", g->mig_enabled,
                        "healthy", rd->healthy, "reason",
                        !rd->healthy && rd->reason[0] ? json_string(rd->reason) : json_null(),
                        "utilization_percent",
                        opt_int(have && (rd->has & GPU_HAS_UTIL_GPU), rd->util_gpu),
                        "memory_used_bytes",
                        opt_int(have && (rd->has & GPU_HAS_MEMORY), (json_int_t)rd->memory_used),
                        "memory_total_bytes",
                        opt_int(have && (rd->has & GPU_HAS_MEMORY), (json_int_t)rd->memory_total),
                        "temperature_c",
                        opt_int(have && (rd->has & GPU_HAS_TEMPERATURE), rd->temperature_c),
                        "power_w",
                        have && (rd->has & GPU_HAS_POWER) ? json_real(rd->power_mw / 1000.0)
                                                          : json_null(),
                        "slots", slots));
        }
        return gpus;
}

/* ---- health: what ds01d knows without asking anyone ---- */

static void check(json_t *checks, const char *name, const char *status, const char *fmt, ...)
    _printf_(4, 5);
static void check(json_t *checks, const char *name, const char *status, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_array_append_new(
            checks, json_pack("{s:s, s:s, s:s}", "name", name, "status", status, "message", msg));
}

struct ov_facts {
        bool docker_up;
        bool nvml;
        char nvml_reason[GPU_REASON_MAX];
        size_t n_gpus, unhealthy, n_slots, unmanaged, host_procs;
        uint64_t event_errors;
        bool event_failing;
        bool have_vfs;
        double free_share;
        char state_dir[256];
};

static json_t *health_block(const struct ov_facts *f)
{
        json_t *checks = json_array(), *c;
        const char *overall = "ok";
        size_t i;

        if (f->docker_up)
                check(checks, "docker", "pass", "Docker answers ds01d");
        else
                check(checks, "docker", "fail",
                      "ds01d cannot reach Docker; is dockerd running? (ds01 health)");
        if (!f->nvml)
                check(checks, "gpus", "warn", "%s: no GPUs are managed", f->nvml_reason);
        else if (f->unhealthy)
                check(checks, "gpus", "fail",
                      "%zu of %zu GPUs do not answer NVML; see ds01 gpu list", f->unhealthy,
                      f->n_gpus);
        else
                check(checks, "gpus", "pass", "%zu GPUs healthy, %zu slots", f->n_gpus, f->n_slots);
        if (f->event_failing)
                check(checks, "event log", "fail",
                      "%llu events could not be written (disk full?); see the ds01d log",
                      (unsigned long long)f->event_errors);
        else if (f->event_errors)
                check(checks, "event log", "pass",
                      "writing again; %llu events could not be written earlier",
                      (unsigned long long)f->event_errors);
        else
                check(checks, "event log", "pass", "every event written");
        if (!f->have_vfs)
                check(checks, "disk space", "warn", "cannot read the free space of %s",
                      f->state_dir);
        else if (f->free_share < DISK_FAIL_SHARE)
                check(checks, "disk space", "fail", "%.1f%% free on %s (under 10%%); make room",
                      f->free_share * 100, f->state_dir);
        else
                check(checks, "disk space", "pass", "%.1f%% free on %s", f->free_share * 100,
                      f->state_dir);
        if (f->unmanaged)
                check(checks, "unmanaged containers", "warn",
                      "%zu running containers use GPUs ds01 did not allocate (ds01 gpu status)",
                      f->unmanaged);
        else
                check(checks, "unmanaged containers", "pass", "none");
        if (f->host_procs)
                check(checks, "host GPU processes", "warn",
                      "%zu GPU processes run outside containers (ds01 access status)",
                      f->host_procs);
        else
                check(checks, "host GPU processes", "pass", "none");

        json_array_foreach(checks, i, c)
        {
                const char *st = json_string_value(json_object_get(c, "status"));
                if (streq(st, "fail"))
                        overall = "fail";
                else if (streq(st, "warn") && streq(overall, "ok"))
                        overall = "warn";
        }
        return json_pack("{s:s, s:o}", "status", overall, "checks", checks);
}

/* ---- containers ---- */

static bool alloc_of(const struct store_alloc *a, const struct store_container *c)
{
        return (a->container_id[0] && streq(a->container_id, c->id)) ||
               streq(a->container, c->name) || streq(a->container, c->id);
}

static void add_slot(json_t *slots, double *weight, const struct store_alloc *a)
{
        json_array_append_new(slots, json_string(a->slot));
        *weight += a->weight;
}

static json_t *container_json(const struct store_container *c, const struct store_alloc *as,
                              size_t n_a, bool *claimed, const json_t *view, int64_t now_s)
{
        const json_t *lv = view_of(view, c->id);
        bool running = streq(c->state, "running");
        json_t *slots = json_array(), *idle_s = json_null(), *runtime_s = json_null(),
               *runtime_left = json_null(), *idle_left = json_null();
        double weight = 0;

        for (size_t i = 0; i < n_a; i++)
                if (alloc_of(&as[i], c)) {
                        add_slot(slots, &weight, &as[i]);
                        claimed[i] = true;
                }
        if (running && c->started_s > 0)
                runtime_s = json_integer(MAX(now_s - c->started_s, (int64_t)0));
        if (lv && running) {
                json_int_t max_rt = json_int_or(lv, "max_runtime_s", -1);
                json_decref(idle_s);
                idle_s = json_integer(json_is_true(json_object_get(lv, "idle"))
                                          ? json_int_or(lv, "idle_for_s", 0)
                                          : 0);
                idle_left = action_in(lv, "stop_idle");
                runtime_left = action_in(lv, "stop_runtime");
                if (json_is_null(runtime_left) && max_rt >= 0 && c->started_s > 0) {
                        json_decref(runtime_left);
                        runtime_left = json_integer(MAX(c->started_s + max_rt - now_s, (int64_t)0));
                }
        }
        return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:f, s:o, s:o, s:o, s:o, s:o}", "id",
                         c->id, "name", c->name, "user",
                         c->user[0] ? json_string(c->user) : json_null(), "type",
                         c->type[0] ? c->type : "unknown", "state", c->state, "slots", slots,
                         "gpu_equivalents", weight, "idle_s", idle_s, "idle_left_s", idle_left,
                         "runtime_s", runtime_s, "runtime_left_s", runtime_left, "started",
                         c->started_s > 0 ? json_time_us(c->started_s * 1000000) : json_null());
}

/* Allocations whose container Docker has not shown ds01d (yet): one entry
 * per name, id null, state "unknown". */
static void add_unseen(json_t *list, const struct store_alloc *as, size_t n_a, bool *claimed)
{
        for (size_t i = 0; i < n_a; i++) {
                json_t *slots;
                double weight = 0;

                if (claimed[i])
                        continue;
                slots = json_array();
                for (size_t k = i; k < n_a; k++)
                        if (!claimed[k] && streq(as[k].container, as[i].container)) {
                                add_slot(slots, &weight, &as[k]);
                                if (k != i)
                                        claimed[k] = true;
                        }
                claimed[i] = true;
                json_array_append_new(
                    list,
                    json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:f, s:n, s:n, s:n, s:n, s:n}", "id",
                              as[i].container_id[0] ? json_string(as[i].container_id) : json_null(),
                              "name", as[i].container, "user", as[i].user, "type",
                              as[i].interface[0] ? as[i].interface : "unknown", "state", "unknown",
                              "slots", slots, "gpu_equivalents", weight, "idle_s", "idle_left_s",
                              "runtime_s", "runtime_left_s", "started"));
        }
}

/* ---- users (lock held: the configuration) ---- */

static json_t *user_json(struct ds01d *d, const struct ov_user *u)
{
        struct user_limits ul = {0};
        bool have = config_resolve_user(d->config, u->user, &ul) >= 0;
        double gpu_limit = INFINITY, mem_limit = INFINITY, pct = -1;
        long long c_limit = LIMIT_UNLIMITED;
        json_t *o;

        if (have) {
                gpu_limit = ul.max_gpu_equivalents;
                if (ul.aggregate.present && ul.aggregate.has_gpu_limit)
                        gpu_limit = MIN(gpu_limit, ul.aggregate.gpu_limit);
                if (ul.aggregate.present && ul.aggregate.has_memory_max &&
                    ul.aggregate.memory_max != SIZE_INFINITY)
                        mem_limit = (double)ul.aggregate.memory_max;
                c_limit = ul.max_containers;
        }
        if (isfinite(gpu_limit) && gpu_limit > 0)
                pct = MAX(pct, u->gpu * 100.0 / gpu_limit);
        if (c_limit != LIMIT_UNLIMITED && c_limit > 0)
                pct = MAX(pct, (double)u->containers * 100.0 / (double)c_limit);
        if (isfinite(mem_limit) && mem_limit > 0 && u->have_memory)
                pct = MAX(pct, (double)u->memory * 100.0 / mem_limit);
        o = json_pack(
            "{s:s, s:o, s:f, s:o, s:I, s:o, s:o, s:o, s:o, s:I}", "user", u->user, "group",
            have && ul.group ? json_string(ul.group) : json_null(), "gpu_equivalents", u->gpu,
            "gpu_limit", opt_real(gpu_limit), "containers", (json_int_t)u->containers,
            "container_limit", c_limit == LIMIT_UNLIMITED ? json_null() : json_integer(c_limit),
            "memory_bytes", u->have_memory ? json_integer((json_int_t)u->memory) : json_null(),
            "memory_limit_bytes",
            isfinite(mem_limit) ? json_integer((json_int_t)mem_limit) : json_null(),
            "percent_of_quota", pct >= 0 ? json_real(round(pct * 10) / 10) : json_null(), "queued",
            (json_int_t)u->queued);
        if (have)
                user_limits_release(&ul);
        return o;
}

/* ---- the whole ---- */

json_t *overview_json(struct ds01d *d)
{
        int64_t now = now_us(), now_s = now / 1000000;
        struct store_event_filter ef = {.limit = OVERVIEW_EVENTS};
        struct store_alloc_filter af = {.in_force_only = true};
        struct store_reservation *res = NULL;
        struct store_container *cs = NULL;
        struct store_event *ev = NULL;
        struct store_alloc *as = NULL;
        struct ov_users users = {0};
        struct ov_facts f = {0};
        struct statvfs vfs;
        size_t n_res = 0, n_c = 0, n_ev = 0, n_a = 0, i;
        json_t *view, *alerts, *status = NULL, *queue = NULL, *gpus = NULL, *reservations, *events,
                               *containers, *user_list, *summary, *j = NULL, *e;
        bool *claimed = NULL;
        long long running = 0, active = 0;
        char host[256] = "";
        int r;

        /* what needs no lock, or a lock of its own */
        if (gethostname(host, sizeof(host) - 1) < 0)
                (void)strscpy(host, sizeof(host), "localhost");
        view = lifecycle_view_json();
        alerts = alerts_json(d, NULL);
        (void)strscpy(f.state_dir, sizeof(f.state_dir), d->opt.state_dir);
        if (statvfs(d->opt.state_dir, &vfs) == 0 && vfs.f_blocks > 0) {
                f.have_vfs = true;
                f.free_share = (double)vfs.f_bavail / (double)vfs.f_blocks;
        }

        pthread_mutex_lock(&d->lock);
        status = state_status_json(d);
        r = status ? 0 : -EIO;
        if (r >= 0)
                r = store_reservation_list(d->store, now_s, &res, &n_res);
        if (r >= 0)
                r = store_event_query(d->store, &ef, &ev, &n_ev);
        if (r >= 0)
                r = store_alloc_list(d->store, &af, &as, &n_a);
        if (r >= 0)
                r = store_container_list_live(d->store, &cs, &n_c);
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                goto out;
        }
        queue = state_queue_json(d, NULL);
        gpus = gpus_json(d, json_object_get(status, "slots"));
        f.docker_up = d->docker_up;
        f.nvml = d->nvml_available;
        (void)strscpy(f.nvml_reason, sizeof(f.nvml_reason), d->nvml_reason);
        f.n_gpus = d->n_gpus;
        f.n_slots = d->n_slots;
        f.event_errors = d->event_errors;
        f.event_failing = d->event_file_failing || d->event_db_failing;
        for (i = 0; i < d->n_gpus; i++)
                f.unhealthy += !d->gpus[i].reading.healthy;
        for (i = 0; i < d->n_unmanaged; i++)
                f.unmanaged += d->unmanaged[i].running;
        for (i = 0; i < d->n_slots; i++)
                f.host_procs += d->slots[i].host_procs;

        /* containers, and who holds, runs, waits or has an alert */
        claimed = calloc(n_a ? n_a : 1, sizeof(*claimed));
        if (!claimed) {
                pthread_mutex_unlock(&d->lock);
                goto out;
        }
        containers = json_array();
        for (i = 0; i < n_c; i++) {
                json_t *c = container_json(&cs[i], as, n_a, claimed, view, now_s);
                json_t *mem = json_object_get(view_of(view, cs[i].id), "memory_bytes");
                struct ov_user *u = ov_user_get(&users, cs[i].user);
                running += streq(cs[i].state, "running");
                if (u) {
                        u->containers++;
                        if (json_is_integer(mem)) {
                                u->memory += (uint64_t)json_integer_value(mem);
                                u->have_memory = true;
                        }
                }
                json_array_append_new(containers, c);
        }
        add_unseen(containers, as, n_a, claimed);
        for (i = n_c; i < json_array_size(containers); i++) {
                /* the entries add_unseen made count as containers too */
                e = json_array_get(containers, i);
                struct ov_user *u =
                    ov_user_get(&users, json_string_value(json_object_get(e, "user")));
                if (u)
                        u->containers++;
        }
        for (i = 0; i < n_a; i++) {
                struct ov_user *u = ov_user_get(&users, as[i].user);
                if (u)
                        u->gpu += as[i].weight;
        }
        json_array_foreach(queue, i, e)
        {
                struct ov_user *u =
                    ov_user_get(&users, json_string_value(json_object_get(e, "user")));
                if (u)
                        u->queued++;
        }
        json_array_foreach(alerts, i, e)
        {
                struct ov_user *u =
                    ov_user_get(&users, json_string_value(json_object_get(e, "user")));
                if (u)
                        u->alert = true;
        }
        if (users.n)
                qsort(users.v, users.n, sizeof(*users.v), ov_user_cmp);
        user_list = json_array();
        for (i = 0; i < users.n; i++) {
                json_array_append_new(user_list, user_json(d, &users.v[i]));
                active += users.v[i].gpu > 0 || users.v[i].containers > 0;
        }
        pthread_mutex_unlock(&d->lock);

        reservations = json_array();
        for (i = 0; i < n_res; i++)
                json_array_append_new(reservations, reservation_json(&res[i], now_s));
        events = json_array();
        for (i = n_ev; i > 0; i--)
                json_array_append_new(events, event_json(&ev[i - 1]));

        summary =
            json_pack("{s:O, s:O, s:O, s:O, s:O, s:I, s:I, s:I, s:I, s:I}", "slots_total",
                      json_object_get(status, "slots_total"), "slots_allocated",
                      json_object_get(status, "slots_allocated"), "slots_free",
                      json_object_get(status, "slots_free"), "gpu_equivalents_total",
                      json_object_get(status, "gpu_equivalents_total"), "gpu_equivalents_allocated",
                      json_object_get(status, "gpu_equivalents_allocated"), "containers_running",
                      (json_int_t)running, "queue_length", (json_int_t)json_array_size(queue),
                      "users_active", (json_int_t)active, "host_gpu_processes",
                      (json_int_t)f.host_procs, "alerts", (json_int_t)json_array_size(alerts));
        j = json_pack("{s:o, s:s, s:s, s:o, s:{s:b, s:o}, s:o, s:o, s:o, s:o, s:O, s:o, s:o, s:o}",
                      "time", json_time_us(now), "version", DS01_VERSION, "hostname", host,
                      "health", health_block(&f), "nvml", "available", f.nvml, "reason",
                      f.nvml ? json_null() : json_string(f.nvml_reason), "summary", summary, "gpus",
                      gpus, "users", user_list, "containers", containers, "queue", queue,
                      "reservations", reservations, "alerts", alerts ? alerts : json_array(),
                      "events", events);
        gpus = NULL;
        alerts = NULL;
out:
        json_decref(status);
        json_decref(queue);
        json_decref(gpus);
        json_decref(alerts);
        json_decref(view);
        store_events_free(ev, n_ev);
        free(res);
        free(as);
        free(cs);
        free(claimed);
        free(users.v);
        return j;
}

bool overview_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                    const char *method, struct request_ctx *rc, enum MHD_Result *ret)
{
        json_t *j;

        (void)rc;
        if (!streq(url, "/v1/overview"))
                return false;
        if (!streq(method, "GET")) {
                *ret = api_reply_error(conn, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s",
                                       method, url);
                return true;
        }
        j = overview_json(d);
        *ret = j ? api_reply(conn, 200, j)
                 : api_reply_error(conn, 500, "INTERNAL", "cannot read the state: see the log");
        return true;
}
