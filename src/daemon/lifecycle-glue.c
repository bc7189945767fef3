/* SPDX-License-Identifier: MIT */
/*
 * lifecycle-glue.c - ds01d's lifecycle loop (docs/LIFECYCLE.md): a thread
 * that, every policies.check_interval_s, looks at every container Docker
 * has, measures it (GPU utilization from the samples, CPU from its cgroup,
 * network from its interfaces, lifecycle/probe.h), decides (lifecycle.h,
 * pure), keeps the decision state in the database, and acts: warnings to the
 * owner's terminals and /workspace/.ds01-alerts, stops and removals through
 * Docker (one worker thread per stop, so a long SIGTERM grace never holds up
 * the loop), events. The same pass, run dry, answers `ds01 lifecycle run
 * --dry-run`; the last pass's view answers `ds01 lifecycle status`. Quota
 * alerts (80 % / 100 % of GPU-equivalents, containers, aggregate memory) are
 * computed in the same pass.
 *
 * Locking: the pass takes d->lock to read the state and again to write it;
 * the probes (files under /proc and /sys/fs/cgroup) and Docker calls run
 * without it. The lifecycle's own fields (below) have their own mutex,
 * except the set of containers being stopped, which reconcile reads with
 * d->lock held and which is therefore guarded by d->lock.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "docker/docker.h"
#include "lifecycle/lifecycle.h"
#include "lifecycle/probe.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

#define PROC_ROOT     "/proc"
#define CGROUP_ROOT   "/sys/fs/cgroup"
#define KEEPALIVE     "/workspace/.keep-alive"
#define ALERTS_FILE   "/workspace/.ds01-alerts"
#define STOPPING_MAX  1024
#define ALERT_HIGH    80.0
#define ALERT_REACHED 100.0

struct stop_job {
        struct ds01d *d;
        char id[STORE_ID_MAX];
        char name[STORE_NAME_MAX];
        char user[STORE_NAME_MAX];
        enum lc_action_kind kind; /* LC_STOP_IDLE, LC_STOP_RUNTIME, LC_REMOVE_* */
        int grace;
        char reason[STORE_TEXT_MAX];
};

struct lifecycle {
        pthread_t thread;
        bool started;
        pthread_mutex_t mutex; /* guards everything below but `stopping` */
        pthread_cond_t cond;
        bool quit;
        bool run_now;
        int64_t last_pass, next_pass; /* us */
        int64_t last_duration;        /* us, the last pass (dry runs too) */
        size_t last_containers;
        json_t *view; /* the last pass: array of container objects */
        bool high_demand;
        double share;
        unsigned workers; /* stop jobs running */
        pthread_cond_t workers_done;
        /* guarded by d->lock: containers a stop job is working on */
        char (*stopping)[STORE_ID_MAX];
        bool *stopping_idle; /* the job is an idle stop: release the GPU at once */
        size_t n_stopping;
};

/* One real pass at a time (the thread's, or an admin's `lifecycle run`). */
static pthread_mutex_t pass_lock = PTHREAD_MUTEX_INITIALIZER;

static struct lifecycle lc_state = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .workers_done = PTHREAD_COND_INITIALIZER,
};

/* ---- the set of containers being stopped (d->lock held) ---- */

static bool in_hand(const char *id)
{
        for (size_t i = 0; i < lc_state.n_stopping; i++)
                if (streq(lc_state.stopping[i], id))
                        return true;
        return false;
}

bool lifecycle_is_stopping(struct ds01d *d, const char *id)
{
        (void)d;
        for (size_t i = 0; i < lc_state.n_stopping; i++)
                if (streq(lc_state.stopping[i], id))
                        return lc_state.stopping_idle[i];
        return false;
}

static bool stopping_add(const char *id, bool idle)
{
        if (in_hand(id))
                return false;
        if (!lc_state.stopping) {
                lc_state.stopping = calloc(STOPPING_MAX, sizeof(*lc_state.stopping));
                lc_state.stopping_idle = calloc(STOPPING_MAX, sizeof(*lc_state.stopping_idle));
                if (!lc_state.stopping || !lc_state.stopping_idle) {
                        free(lc_state.stopping);
                        free(lc_state.stopping_idle);
                        lc_state.stopping = NULL;
                        lc_state.stopping_idle = NULL;
                        return false;
                }
        }
        if (lc_state.n_stopping >= STOPPING_MAX)
                return false;
        lc_state.stopping_idle[lc_state.n_stopping] = idle;
        (void)strscpy(lc_state.stopping[lc_state.n_stopping++], STORE_ID_MAX, id);
        return true;
}

static void stopping_remove(const char *id)
{
        for (size_t i = 0; i < lc_state.n_stopping; i++)
                if (streq(lc_state.stopping[i], id)) {
                        memmove(&lc_state.stopping[i], &lc_state.stopping[i + 1],
                                (lc_state.n_stopping - i - 1) * sizeof(*lc_state.stopping));
                        memmove(&lc_state.stopping_idle[i], &lc_state.stopping_idle[i + 1],
                                (lc_state.n_stopping - i - 1) * sizeof(*lc_state.stopping_idle));
                        lc_state.n_stopping--;
                        return;
                }
}

/* ---- what one pass works on ---- */

struct work {
        struct store_container c;
        struct lc_container lc;
        struct lc_policy p;
        struct lc_signals s;
        struct store_lc prev; /* zero when new */
        bool have_prev;
        struct lc_result res;
        bool primed; /* counters read before: deltas are meaningful */
        bool probed;
        uint64_t cpu_ns, net_bytes, mem_bytes;
        bool have_cpu, have_net, have_mem;
        int64_t counters_at; /* us */
        char slots[128];     /* its slots, comma-separated */
        bool ds01_created;
        bool exempt_idle_user, exempt_runtime_user;
        char exempt_reason[STORE_WORD_MAX];
};

static bool ds01_type(const char *type)
{
        return streq(type, "orchestration") || streq(type, "atomic");
}

static enum lc_state_kind state_kind(const struct store_container *c)
{
        if (streq(c->state, "running"))
                return LC_RUNNING;
        if (streq(c->state, "created"))
                return c->started_s > 0 ? LC_STOPPED : LC_CREATED;
        if (streq(c->state, "exited"))
                return LC_STOPPED;
        return LC_OTHER;
}

/* Resolve the policy of one container (lock held). */
static void resolve_policy(struct ds01d *d, struct work *w, double factor, int64_t now_s)
{
        struct user_limits ul = {0};
        struct ctype_limits ct;
        bool have_user = w->c.user[0] && config_resolve_user(d->config, w->c.user, &ul) == 0;
        const char *type = w->c.type[0] ? w->c.type : "unknown";

        w->ds01_created = ds01_type(type);
        config_ctype_limits(d->config, type, &ct);
        w->p = (struct lc_policy){
            .idle_factor = factor,
            .created_timeout = d->settings.created_container_timeout,
            .grace_period = d->settings.grace_period,
            .keepalive_max = d->settings.keepalive_max_duration,
            .notify_cooldown = d->settings.notify_cooldown,
            .gpu_idle_threshold = DEFAULT_GPU_IDLE_THRESHOLD,
            .cpu_idle_threshold = DEFAULT_CPU_IDLE_THRESHOLD,
            .network_idle_threshold = DEFAULT_NETWORK_IDLE_THRESHOLD,
            .idle_detection_window = DEFAULT_IDLE_DETECTION_WINDOW,
            .sigterm_grace = ct.sigterm_grace,
        };
        if (have_user) {
                w->p.gpu_idle_threshold = ul.policies.gpu_idle_threshold;
                w->p.cpu_idle_threshold = ul.policies.cpu_idle_threshold;
                w->p.network_idle_threshold = ul.policies.network_idle_threshold;
                w->p.idle_detection_window = MAX(ul.policies.idle_detection_window, 1LL);
        }
        if (w->ds01_created) {
                w->p.idle_timeout = have_user ? ul.idle_timeout : LC_NEVER;
                w->p.max_runtime = have_user ? ul.max_runtime : LC_NEVER;
                w->p.container_hold_after_stop =
                    have_user ? ul.container_hold_after_stop : LC_NEVER;
                if (have_user)
                        w->p.sigterm_grace = ul.policies.sigterm_grace;
        } else {
                w->p.idle_timeout = ct.idle_timeout;
                w->p.max_runtime = ct.max_runtime;
                w->p.container_hold_after_stop = ct.container_hold_after_stop;
        }
        if (w->c.user[0]) {
                w->p.exempt_idle =
                    config_find_exemption(d->config, w->c.user, EXEMPT_IDLE_TIMEOUT, now_s) != NULL;
                w->p.exempt_runtime =
                    config_find_exemption(d->config, w->c.user, EXEMPT_MAX_RUNTIME, now_s) != NULL;
        }
        if (w->c.exempt[0]) {
                w->p.exempt_all = true;
                (void)strscpy(w->exempt_reason, sizeof(w->exempt_reason), w->c.exempt);
                w->p.exempt_reason = w->exempt_reason;
        }
        if (have_user)
                user_limits_release(&ul);
}

/* GPU signal of a container from its slots' samples since the last pass. */
static void gpu_signal(struct ds01d *d, struct work *w, const struct store_alloc *a, size_t n)
{
        size_t len = 0;

        for (size_t i = 0; i < n; i++) {
                int k;
                if (a[i].state == STORE_ALLOC_RELEASED)
                        continue;
                if (!streq(a[i].container_id, w->c.id) && !streq(a[i].container, w->c.id) &&
                    !(w->c.name[0] && streq(a[i].container, w->c.name)))
                        continue;
                if (len < sizeof(w->slots)) {
                        int r = snprintf(w->slots + len, sizeof(w->slots) - len, "%s%s",
                                         len ? "," : "", a[i].slot);
                        if (r > 0)
                                len += (size_t)r;
                }
                k = state_slot_index(d, a[i].slot);
                if (k < 0)
                        continue;
                const struct slot_view *v = &d->slots[k];
                double util = -1;
                if (v->lc_util_n > 0)
                        util = v->lc_util_sum / v->lc_util_n;
                else if (d->have_sample && (v->reading.has & GPU_HAS_UTIL_GPU))
                        util = v->reading.util;
                if (util >= 0) {
                        w->s.gpu_util = w->s.gpu_known ? MAX(w->s.gpu_util, util) : util;
                        w->s.gpu_known = true;
                }
                if (v->lc_procs || v->n_procs > 0)
                        w->s.gpu_procs = true;
        }
}

/* Counters of a running container, without the lock. */
static void probe(struct work *w)
{
        struct lc_cgroup cg;
        pid_t pid = (pid_t)w->c.pid;

        w->probed = true;
        w->counters_at = now_us();
        if (pid <= 0)
                return;
        if (lc_cgroup_find(PROC_ROOT, CGROUP_ROOT, pid, &cg) == 0) {
                w->have_cpu = lc_cgroup_cpu_ns(&cg, &w->cpu_ns) == 0;
                w->have_mem = lc_cgroup_memory(&cg, &w->mem_bytes) == 0;
        }
        w->have_net = lc_net_bytes(PROC_ROOT, pid, &w->net_bytes) == 0;
        if (w->have_prev && w->prev.counters_at > 0 && w->prev.started == w->c.started_s) {
                double dt = (double)(w->counters_at - w->prev.counters_at) / 1e6;
                w->primed = true;
                if (w->have_cpu) {
                        double pct = lc_cpu_percent(w->prev.cpu_ns, w->cpu_ns, dt);
                        if (pct >= 0) {
                                w->s.cpu_known = true;
                                w->s.cpu_percent = pct;
                        }
                }
                if (w->have_net) {
                        w->s.net_known = true;
                        w->s.net_bytes = lc_counter_delta(w->prev.net_bytes, w->net_bytes);
                }
        }
}

static void decide(struct work *w, int64_t now_s)
{
        struct lc_state prev = {0};

        if (w->have_prev) {
                prev.started = w->prev.started;
                prev.last_check = w->prev.last_check;
                prev.idle_since = w->prev.idle_since;
                prev.streak = w->prev.streak;
                prev.warned = w->prev.warned;
                for (size_t i = 0; i < LC_SLOT__MAX; i++)
                        prev.last_sent[i] = w->prev.sent[i];
        }
        lc_decide(&w->lc, &w->p, &w->s, &prev, now_s, &w->res);
        if (w->res.need_keepalive && w->c.pid > 0) {
                int64_t mtime = 0;
                w->s.keepalive_checked = true;
                if (lc_container_file_mtime(PROC_ROOT, (pid_t)w->c.pid, KEEPALIVE, &mtime) == 0)
                        /* a time in the future counts as now: touch -d 2100 buys no more
                         * than keepalive_max_duration_h */
                        w->s.keepalive_mtime = MIN(mtime, now_s);
                lc_decide(&w->lc, &w->p, &w->s, &prev, now_s, &w->res);
        } else if (w->res.need_keepalive) {
                w->s.keepalive_checked = true;
                lc_decide(&w->lc, &w->p, &w->s, &prev, now_s, &w->res);
        }
}

/* ---- JSON views ---- */

static json_t *json_epoch(int64_t s)
{
        if (s <= 0 || s == LC_NEVER)
                return json_null();
        return json_time_us(s * 1000000);
}

static json_t *json_secs(int64_t s)
{
        return s == LC_NEVER ? json_null() : json_integer(s);
}

static void add_upcoming(json_t *arr, const char *action, int percent, int64_t at)
{
        if (at <= 0 || at == LC_NEVER)
                return;
        json_array_append_new(arr, json_pack("{s:s, s:o, s:I}", "action", action, "percent",
                                             percent ? json_integer(percent) : json_null(), "at_s",
                                             (json_int_t)at));
}

static int by_at(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "at_s"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "at_s"));
        return x < y ? -1 : x > y;
}

/* What will happen if nothing changes, by time. */
static json_t *upcoming(const struct work *w)
{
        const struct lc_result *r = &w->res;
        json_t *arr = json_array(), *sorted;
        json_t **v;
        size_t n, i;

        if (r->idle_stop_at > 0 && r->idle_timeout != LC_NEVER && r->idle_timeout > 0) {
                int64_t start = r->idle_stop_at - r->idle_timeout;
                if (w->p.exempt_idle) {
                        add_upcoming(arr, "notice_idle_exempt", 0, r->idle_stop_at);
                } else {
                        if (!(r->next.warned & LC_W_IDLE_80))
                                add_upcoming(arr, "warn_idle", 80,
                                             start + (int64_t)ceil(0.80 * r->idle_timeout));
                        if (!(r->next.warned & LC_W_IDLE_95))
                                add_upcoming(arr, "warn_idle", 95,
                                             start + (int64_t)ceil(0.95 * r->idle_timeout));
                        add_upcoming(arr, "stop_idle", 0, r->idle_stop_at);
                }
        }
        if (r->runtime_stop_at > 0 && w->p.max_runtime != LC_NEVER) {
                int64_t start = w->lc.started;
                if (w->p.exempt_runtime) {
                        add_upcoming(arr, "notice_runtime_exempt", 0, r->runtime_stop_at);
                } else {
                        if (!(r->next.warned & LC_W_RUNTIME_75))
                                add_upcoming(arr, "warn_runtime", 75,
                                             start + (int64_t)ceil(0.75 * w->p.max_runtime));
                        if (!(r->next.warned & LC_W_RUNTIME_90))
                                add_upcoming(arr, "warn_runtime", 90,
                                             start + (int64_t)ceil(0.90 * w->p.max_runtime));
                        add_upcoming(arr, "stop_runtime", 0, r->runtime_stop_at);
                }
        }
        if (r->remove_at > 0)
                add_upcoming(arr, w->lc.state == LC_CREATED ? "remove_created" : "remove_stopped",
                             0, r->remove_at);
        n = json_array_size(arr);
        // NOLINTNEXTLINE(bugprone-sizeof-expression): v is an array of pointers
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return arr;
        for (i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(arr, i));
        // NOLINTNEXTLINE(bugprone-sizeof-expression): v is an array of pointers
        qsort(v, n, sizeof(*v), by_at);
        sorted = json_array();
        for (i = 0; i < n; i++)
                json_array_append_new(sorted, v[i]);
        free(v);
        json_decref(arr);
        return sorted;
}

static json_t *slots_json(const char *slots)
{
        json_t *a = json_array();
        char buf[128], *save = NULL;

        (void)strscpy(buf, sizeof(buf), slots);
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
                json_array_append_new(a, json_string(p));
        return a;
}

static json_t *view_json(const struct work *w)
{
        const struct lc_result *r = &w->res;
        bool in_scope = w->lc.in_scope && !w->p.exempt_all;
        json_t *o;

        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:b, s:b, s:o, s:o}", "id", w->c.id,
                      "name", w->c.name, "user", w->c.user, "type",
                      w->c.type[0] ? w->c.type : "unknown", "state", w->c.state, "slots",
                      slots_json(w->slots), "in_scope", in_scope, "exempt",
                      w->p.exempt_all ? json_string(w->exempt_reason) : json_null(), "exempt_idle",
                      w->p.exempt_idle, "exempt_runtime", w->p.exempt_runtime, "started_at",
                      json_epoch(w->c.started_s), "finished_at", json_epoch(w->c.finished_s));
        json_object_set_new(
            o, "signals",
            json_pack("{s:o, s:b, s:o, s:o}", "gpu_util",
                      w->s.gpu_known ? json_real(w->s.gpu_util) : json_null(), "gpu_procs",
                      w->s.gpu_procs, "cpu_percent",
                      w->s.cpu_known ? json_real(w->s.cpu_percent) : json_null(), "net_bytes",
                      w->s.net_known ? json_integer((json_int_t)w->s.net_bytes) : json_null()));
        json_object_set_new(o, "idle", json_boolean(r->idle));
        json_object_set_new(o, "in_grace", json_boolean(r->in_grace));
        json_object_set_new(o, "why",
                            json_string(!w->lc.in_scope   ? "not a GPU container"
                                        : w->p.exempt_all ? w->exempt_reason
                                        : !w->primed && w->lc.state == LC_RUNNING
                                            ? "first look: measuring (CPU and network need two)"
                                        : r->why[0] ? r->why
                                                    : "-"));
        json_object_set_new(o, "streak", json_integer(r->next.streak));
        json_object_set_new(o, "window", json_integer(w->p.idle_detection_window));
        json_object_set_new(o, "idle_for_s", json_integer(r->idle_for));
        json_object_set_new(o, "idle_timeout_s", json_secs(r->idle_timeout));
        json_object_set_new(o, "keepalive_until", json_epoch(r->keepalive_until));
        json_object_set_new(o, "runtime_s",
                            w->lc.state == LC_RUNNING && w->lc.started > 0
                                ? json_integer(r->runtime)
                                : json_null());
        json_object_set_new(o, "max_runtime_s", json_secs(w->p.max_runtime));
        json_object_set_new(o, "memory_bytes",
                            w->have_mem ? json_integer((json_int_t)w->mem_bytes) : json_null());
        json_object_set_new(o, "actions", in_scope ? upcoming(w) : json_array());
        return o;
}

/* Copy the view for a caller: times left from now, internal fields gone. */
static json_t *view_for(json_t *c, int64_t now_s)
{
        json_t *o = json_deep_copy(c), *a;
        size_t i;

        if (!o)
                return NULL;
        json_array_foreach(json_object_get(o, "actions"), i, a)
        {
                json_int_t at = json_integer_value(json_object_get(a, "at_s"));
                json_object_set_new(a, "at", json_time_us((int64_t)at * 1000000));
                json_object_set_new(a, "in_s", json_integer(at - now_s));
                json_object_del(a, "at_s");
        }
        return o;
}

/* ---- telling the owner ---- */

static void tell(struct ds01d *d, const struct work *w, const char *text)
{
        uid_t uid;
        gid_t gid;
        char buf[2048], when[32];
        time_t t = time(NULL);
        struct tm tm;

        if (!w->c.user[0])
                return;
        (void)daemon_notify_user(d, w->c.user, text);
        if (w->c.pid <= 0 || daemon_user_ids(w->c.user, &uid, &gid) < 0)
                return;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        snprintf(buf, sizeof(buf), "[%s]\n%s\n", when, text);
        (void)lc_container_file_append(PROC_ROOT, (pid_t)w->c.pid, ALERTS_FILE, uid, gid, buf);
}

/* ---- stop jobs ---- */

static void job_event(struct ds01d *d, const char *type, const char *user, json_t *details)
{
        pthread_mutex_lock(&d->lock);
        daemon_event_now(d, type, user[0] ? user : NULL, details);
        pthread_mutex_unlock(&d->lock);
}

static void *stop_job_run(void *arg)
{
        struct stop_job *j = arg;
        struct ds01d *d = j->d;
        struct docker_client *dc = NULL;
        bool remove = j->kind != LC_STOP_RUNTIME;
        int r;

        r = docker_client_new(d->opt.docker_socket, &dc);
        if (r >= 0 && (j->kind == LC_STOP_IDLE || j->kind == LC_STOP_RUNTIME)) {
                r = docker_container_stop(dc, j->id, j->grace);
                if (r < 0 && r != -ENOENT)
                        log_warning("lifecycle: cannot stop %s (%s): %s", j->name, j->id,
                                    docker_errmsg(dc));
        }
        if (r >= 0 && j->kind == LC_STOP_IDLE) {
                /* the GPU goes back at once (reconcile may have done it on the
                 * die event already: then there is nothing left to release) */
                pthread_mutex_lock(&d->lock);
                (void)state_release(d, j->id, j->reason, NULL);
                pthread_mutex_unlock(&d->lock);
        }
        if (r >= 0 && remove) {
                r = docker_container_remove(dc, j->id, false, false);
                if (r >= 0 || r == -ENOENT)
                        job_event(d, "container.remove", j->user,
                                  json_pack("{s:s, s:s, s:s}", "container", j->id, "name", j->name,
                                            "reason", j->reason));
                else
                        log_warning("lifecycle: cannot remove %s (%s): %s", j->name, j->id,
                                    docker_errmsg(dc));
        }
        docker_client_free(dc);
        pthread_mutex_lock(&d->lock);
        stopping_remove(j->id);
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_lock(&lc_state.mutex);
        lc_state.workers--;
        pthread_cond_broadcast(&lc_state.workers_done);
        pthread_mutex_unlock(&lc_state.mutex);
        free(j);
        return NULL;
}

/* Start a stop/remove job (lock not held). */
static void start_job(struct ds01d *d, const struct work *w, enum lc_action_kind kind,
                      const char *reason)
{
        struct stop_job *j;
        pthread_attr_t attr;
        pthread_t t;
        bool added;

        pthread_mutex_lock(&d->lock);
        added = stopping_add(w->c.id, kind == LC_STOP_IDLE);
        pthread_mutex_unlock(&d->lock);
        if (!added)
                return; /* already in hand */
        j = calloc(1, sizeof(*j));
        if (!j)
                goto fail;
        j->d = d;
        j->kind = kind;
        j->grace = (int)MIN(MAX(w->p.sigterm_grace, (int64_t)0), (int64_t)3600);
        (void)strscpy(j->id, sizeof(j->id), w->c.id);
        (void)strscpy(j->name, sizeof(j->name), w->c.name);
        (void)strscpy(j->user, sizeof(j->user), w->c.user);
        (void)strscpy(j->reason, sizeof(j->reason), reason);
        pthread_mutex_lock(&lc_state.mutex);
        lc_state.workers++;
        pthread_mutex_unlock(&lc_state.mutex);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, stop_job_run, j) != 0) {
                pthread_attr_destroy(&attr);
                pthread_mutex_lock(&lc_state.mutex);
                lc_state.workers--;
                pthread_mutex_unlock(&lc_state.mutex);
                free(j);
                goto fail;
        }
        pthread_attr_destroy(&attr);
        return;
fail:
        pthread_mutex_lock(&d->lock);
        stopping_remove(w->c.id);
        pthread_mutex_unlock(&d->lock);
}

/* ---- quota alerts ---- */

struct user_use {
        char user[STORE_NAME_MAX];
        double gpu;
        long long containers;
        uint64_t memory;
        bool have_memory;
};

static struct user_use *use_of(struct user_use **u, size_t *n, const char *user)
{
        struct user_use *p;

        for (size_t i = 0; i < *n; i++)
                if (streq((*u)[i].user, user))
                        return &(*u)[i];
        p = reallocarray(*u, *n + 1, sizeof(**u));
        if (!p)
                return NULL;
        *u = p;
        p = &p[(*n)++];
        memset(p, 0, sizeof(*p));
        (void)strscpy(p->user, sizeof(p->user), user);
        return p;
}

static const char *alert_event(const char *resource, const char *level)
{
        bool reached = streq(level, "reached");

        if (streq(resource, "gpu"))
                return reached ? "alert.gpu_limit_reached" : "alert.gpu_usage_high";
        if (streq(resource, "containers"))
                return reached ? "alert.container_limit_reached" : "alert.container_usage_high";
        return reached ? "alert.memory_limit_reached" : "alert.memory_usage_high";
}

static void alert_message(char *buf, size_t n, const char *resource, double used, double limit)
{
        if (streq(resource, "gpu"))
                snprintf(buf, n, "you hold %.1f of %.1f GPU-equivalents", used, limit);
        else if (streq(resource, "containers"))
                snprintf(buf, n, "you have %.0f of %.0f containers", used, limit);
        else
                snprintf(buf, n, "your containers use %.1f GiB of %.1f GiB memory",
                         used / (1024.0 * 1024 * 1024), limit / (1024.0 * 1024 * 1024));
}

/* One resource of one user against its limit (lock held, transaction open). */
static void alert_check(struct ds01d *d, const char *user, const char *resource, double used,
                        double limit, struct store_alert *known, size_t n_known, int64_t now)
{
        struct store_alert *old = NULL, a = {0};
        double pct = limit > 0 && isfinite(limit) ? used * 100.0 / limit : 0;
        const char *level = pct >= ALERT_REACHED ? "reached" : pct >= ALERT_HIGH ? "high" : "";
        char msg[160], text[512];
        bool tell_user;

        for (size_t i = 0; i < n_known; i++)
                if (streq(known[i].user, user) && streq(known[i].resource, resource))
                        old = &known[i];
        if (old && streq(old->level, level)) {
                if (level[0] && (old->used != used || old->limit != limit)) {
                        a = *old;
                        a.used = used;
                        a.limit = limit;
                        (void)store_alert_put(d->store, &a);
                }
                return;
        }
        if (!level[0] && !old)
                return;
        (void)strscpy(a.user, sizeof(a.user), user);
        (void)strscpy(a.resource, sizeof(a.resource), resource);
        (void)strscpy(a.level, sizeof(a.level), level);
        a.used = used;
        a.limit = limit;
        a.since = now;
        a.notified = old ? old->notified : 0;
        if (level[0]) {
                bool higher = !old || !old->level[0] || streq(level, "reached");
                alert_message(msg, sizeof(msg), resource, used, limit);
                tell_user = higher && (a.notified == 0 ||
                                       now - a.notified >= d->settings.notify_cooldown * 1000000);
                daemon_event(d, alert_event(resource, level), user,
                             json_pack("{s:s, s:s, s:f, s:f, s:f, s:s}", "resource", resource,
                                       "level", level, "used", used, "limit", limit, "percent", pct,
                                       "message", msg));
                if (tell_user) {
                        a.notified = now;
                        snprintf(text, sizeof(text),
                                 "ds01: %s (%.0f%% of your limit).%s\nSee: ds01 alerts", msg, pct,
                                 streq(level, "reached")
                                     ? " New requests will be refused until you free some"
                                       " (ds01 container retire NAME)."
                                     : "");
                        (void)daemon_notify_user(d, user, text);
                }
        }
        (void)store_alert_put(d->store, &a);
}

static void check_alerts(struct ds01d *d, const struct work *w, size_t n)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        struct store_alert *known = NULL;
        struct user_use *u = NULL;
        size_t n_a = 0, n_u = 0, n_known = 0;
        int64_t now = now_us();
        int r;

        if (store_alloc_list(d->store, &f, &a, &n_a) < 0)
                return;
        for (size_t i = 0; i < n_a; i++) {
                struct user_use *x = use_of(&u, &n_u, a[i].user);
                if (x)
                        x->gpu += a[i].weight;
        }
        for (size_t i = 0; i < n; i++) {
                struct user_use *x;
                if (!w[i].c.user[0])
                        continue;
                x = use_of(&u, &n_u, w[i].c.user);
                if (!x)
                        continue;
                x->containers++;
                if (w[i].have_mem) {
                        x->memory += w[i].mem_bytes;
                        x->have_memory = true;
                }
        }
        (void)store_alert_list(d->store, &known, &n_known);
        /* users with alerts but nothing any more */
        for (size_t i = 0; i < n_known; i++)
                (void)use_of(&u, &n_u, known[i].user);
        r = store_begin(d->store);
        for (size_t i = 0; i < n_u && r >= 0; i++) {
                struct user_limits ul = {0};
                double gpu_limit, mem_limit = INFINITY;
                if (config_resolve_user(d->config, u[i].user, &ul) < 0)
                        continue;
                gpu_limit = ul.max_gpu_equivalents;
                if (ul.aggregate.present && ul.aggregate.has_gpu_limit)
                        gpu_limit = MIN(gpu_limit, ul.aggregate.gpu_limit);
                if (ul.aggregate.present && ul.aggregate.has_memory_max &&
                    ul.aggregate.memory_max != SIZE_INFINITY)
                        mem_limit = (double)ul.aggregate.memory_max;
                alert_check(d, u[i].user, "gpu", u[i].gpu, gpu_limit, known, n_known, now);
                alert_check(d, u[i].user, "containers", (double)u[i].containers,
                            ul.max_containers == LIMIT_UNLIMITED ? INFINITY
                                                                 : (double)ul.max_containers,
                            known, n_known, now);
                alert_check(d, u[i].user, "memory", (double)u[i].memory, mem_limit, known, n_known,
                            now);
                user_limits_release(&ul);
        }
        (void)state_commit(d, r);
        free(a);
        free(known);
        free(u);
}

/* ---- one pass ---- */

static const char *action_verb(enum lc_action_kind k)
{
        switch (k) {
        case LC_WARN_IDLE:
                return "warn (idle)";
        case LC_STOP_IDLE:
                return "stop and remove (idle)";
        case LC_NOTICE_IDLE_EXEMPT:
                return "notify (idle, exempt)";
        case LC_WARN_RUNTIME:
                return "warn (runtime)";
        case LC_STOP_RUNTIME:
                return "stop (max runtime)";
        case LC_NOTICE_RUNTIME_EXEMPT:
                return "notify (runtime, exempt)";
        case LC_REMOVE_STOPPED:
                return "remove (stopped too long)";
        case LC_REMOVE_CREATED:
                return "remove (created, never started)";
        }
        return "?";
}

/* The reason text of an action (events, dry run). */
static void action_reason(const struct work *w, const struct lc_action *a, char *buf, size_t n)
{
        char d1[FORMAT_DURATION_MAX], d2[FORMAT_DURATION_MAX];

        switch (a->kind) {
        case LC_WARN_IDLE:
        case LC_STOP_IDLE:
        case LC_NOTICE_IDLE_EXEMPT:
                (void)format_duration(d1, sizeof(d1), w->res.idle_for);
                (void)format_duration(d2, sizeof(d2), w->res.idle_timeout);
                snprintf(buf, n, "idle %s of %s (%s)", d1, d2, w->res.why);
                break;
        case LC_WARN_RUNTIME:
        case LC_STOP_RUNTIME:
        case LC_NOTICE_RUNTIME_EXEMPT:
                (void)format_duration(d1, sizeof(d1), w->res.runtime);
                (void)format_duration(d2, sizeof(d2), w->p.max_runtime);
                snprintf(buf, n, "running %s of max %s", d1, d2);
                break;
        case LC_REMOVE_STOPPED:
                (void)format_duration(d1, sizeof(d1), w->p.container_hold_after_stop);
                snprintf(buf, n, "stopped longer than %s (container_hold_after_stop)", d1);
                break;
        case LC_REMOVE_CREATED:
                (void)format_duration(d1, sizeof(d1), w->p.created_timeout);
                snprintf(buf, n, "created and never started for %s (created_container_timeout)",
                         d1);
                break;
        }
}

/* Events and messages of the actions of one container (no lock). */
static void act(struct ds01d *d, struct work *w, int64_t now_s)
{
        bool busy;

        pthread_mutex_lock(&d->lock);
        busy = in_hand(w->c.id);
        pthread_mutex_unlock(&d->lock);
        if (busy)
                return; /* a stop job has it in hand */
        for (size_t i = 0; i < w->res.n_actions; i++) {
                const struct lc_action *a = &w->res.actions[i];
                char reason[STORE_TEXT_MAX], text[1024];
                const char *type = w->c.type[0] ? w->c.type : "unknown";
                const char *user = w->c.user[0] ? w->c.user : NULL;

                action_reason(w, a, reason, sizeof(reason));
                (void)lc_action_message(a, w->c.name[0] ? w->c.name : w->c.id, &w->res, now_s, text,
                                        sizeof(text));
                pthread_mutex_lock(&d->lock);
                switch (a->kind) {
                case LC_WARN_IDLE:
                        daemon_event_now(d, "maintenance.idle_warning", user,
                                         json_pack("{s:s, s:s, s:i, s:o, s:I, s:s}", "container",
                                                   w->c.id, "name", w->c.name, "percent",
                                                   a->percent, "stop_at", json_epoch(a->at),
                                                   "idle_duration", (json_int_t)w->res.idle_for,
                                                   "container_type", type));
                        break;
                case LC_WARN_RUNTIME:
                        daemon_event_now(d, "maintenance.runtime_warning", user,
                                         json_pack("{s:s, s:s, s:i, s:o, s:I, s:s}", "container",
                                                   w->c.id, "name", w->c.name, "percent",
                                                   a->percent, "stop_at", json_epoch(a->at),
                                                   "runtime", (json_int_t)w->res.runtime,
                                                   "container_type", type));
                        break;
                case LC_NOTICE_IDLE_EXEMPT:
                        daemon_event_now(d, "maintenance.idle_exempt", user,
                                         json_pack("{s:s, s:s, s:I, s:s}", "container", w->c.id,
                                                   "name", w->c.name, "idle_duration",
                                                   (json_int_t)w->res.idle_for, "container_type",
                                                   type));
                        break;
                case LC_NOTICE_RUNTIME_EXEMPT:
                        daemon_event_now(d, "maintenance.runtime_exempt", user,
                                         json_pack("{s:s, s:s, s:I, s:s}", "container", w->c.id,
                                                   "name", w->c.name, "runtime",
                                                   (json_int_t)w->res.runtime, "container_type",
                                                   type));
                        break;
                case LC_STOP_IDLE:
                        daemon_event_now(d, "maintenance.idle_kill", user,
                                         json_pack("{s:s, s:s, s:I, s:s, s:s}", "container",
                                                   w->c.id, "name", w->c.name, "idle_duration",
                                                   (json_int_t)w->res.idle_for, "container_type",
                                                   type, "reason", reason));
                        break;
                case LC_STOP_RUNTIME:
                        daemon_event_now(d, "maintenance.runtime_kill", user,
                                         json_pack("{s:s, s:s, s:I, s:s}", "container", w->c.id,
                                                   "name", w->c.name, "runtime",
                                                   (json_int_t)w->res.runtime, "container_type",
                                                   type));
                        break;
                case LC_REMOVE_STOPPED:
                case LC_REMOVE_CREATED:
                        break;
                }
                pthread_mutex_unlock(&d->lock);
                if (a->kind != LC_REMOVE_STOPPED && a->kind != LC_REMOVE_CREATED)
                        tell(d, w, text);
                if (a->kind == LC_STOP_IDLE || a->kind == LC_STOP_RUNTIME ||
                    a->kind == LC_REMOVE_STOPPED || a->kind == LC_REMOVE_CREATED)
                        start_job(d, w, a->kind, reason);
        }
}

/* Share of slots allocated (lock held). */
static double allocated_share(struct ds01d *d)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0, taken = 0;

        if (d->n_slots == 0 || store_alloc_list(d->store, &f, &a, &n) < 0)
                return 0;
        for (size_t i = 0; i < d->n_slots; i++) {
                bool held = d->slots[i].unmanaged;
                for (size_t k = 0; k < n && !held; k++)
                        held = streq(a[k].slot, d->slots[i].name);
                taken += held;
        }
        free(a);
        return (double)taken / (double)d->n_slots;
}

/* Run one pass. dry: decide only (nothing written, nothing done); user:
 * only this user's containers in *ret_actions (NULL: all). */
static int pass_locked(struct ds01d *d, bool dry, const char *only_user, json_t **ret_actions);

static int pass(struct ds01d *d, bool dry, const char *only_user, json_t **ret_actions)
{
        int r;

        if (dry)
                return pass_locked(d, dry, only_user, ret_actions);
        pthread_mutex_lock(&pass_lock);
        r = pass_locked(d, dry, only_user, ret_actions);
        pthread_mutex_unlock(&pass_lock);
        return r;
}

static int pass_locked(struct ds01d *d, bool dry, const char *only_user, json_t **ret_actions)
{
        struct store_container *cs = NULL;
        struct store_lc *ls = NULL;
        struct store_alloc *as = NULL;
        struct store_alloc_filter af = {.in_force_only = true};
        struct work *w = NULL;
        size_t n_c = 0, n_l = 0, n_a = 0;
        int64_t now = now_us(), now_s = now / 1000000;
        double share, factor;
        bool high, was_high;
        json_t *actions = json_array(), *view = json_array();
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_container_list_live(d->store, &cs, &n_c);
        if (r >= 0)
                r = store_lc_list(d->store, &ls, &n_l);
        if (r >= 0)
                r = store_alloc_list(d->store, &af, &as, &n_a);
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                goto out;
        }
        share = allocated_share(d);
        high = d->n_slots > 0 && share >= d->settings.high_demand_threshold;
        factor = high ? d->settings.high_demand_idle_reduction : 1.0;
        pthread_mutex_lock(&lc_state.mutex);
        was_high = lc_state.high_demand;
        if (!dry) {
                lc_state.high_demand = high;
                lc_state.share = share;
        }
        pthread_mutex_unlock(&lc_state.mutex);
        if (!dry && high != was_high)
                daemon_event_now(d, "system.high_demand", NULL,
                                 json_pack("{s:s, s:f, s:f, s:f}", "state", high ? "start" : "end",
                                           "share", share, "threshold",
                                           d->settings.high_demand_threshold, "factor",
                                           d->settings.high_demand_idle_reduction));
        w = calloc(n_c ? n_c : 1, sizeof(*w));
        if (!w) {
                pthread_mutex_unlock(&d->lock);
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n_c; i++) {
                struct work *x = &w[i];
                x->c = cs[i];
                for (size_t k = 0; k < n_l; k++)
                        if (streq(ls[k].container, cs[i].id)) {
                                x->prev = ls[k];
                                x->have_prev = true;
                        }
                x->lc = (struct lc_container){
                    .state = state_kind(&cs[i]),
                    .created = cs[i].created_s,
                    .started = cs[i].started_s,
                    .finished = cs[i].finished_s,
                    .in_scope = cs[i].gpu || d->settings.enforce_cpu_only,
                };
                resolve_policy(d, x, factor, now_s);
                gpu_signal(d, x, as, n_a);
        }
        if (!dry)
                for (size_t k = 0; k < d->n_slots; k++) {
                        d->slots[k].lc_util_sum = 0;
                        d->slots[k].lc_util_n = 0;
                        d->slots[k].lc_procs = false;
                }
        pthread_mutex_unlock(&d->lock);

        /* measure and decide, without the lock */
        for (size_t i = 0; i < n_c; i++) {
                struct work *x = &w[i];
                if (x->lc.state == LC_RUNNING)
                        probe(x);
                if (x->lc.state == LC_RUNNING && !x->primed && x->lc.in_scope && !x->p.exempt_all) {
                        /* first look: only the counters; the next pass decides */
                        x->res = (struct lc_result){0};
                        x->res.next.started = x->c.started_s;
                        x->res.next.last_check = now_s;
                        x->res.idle_timeout = lc_effective_idle_timeout(&x->p);
                        if (x->have_prev && x->prev.started == x->c.started_s) {
                                x->res.next.idle_since = x->prev.idle_since;
                                x->res.next.streak = x->prev.streak;
                                x->res.next.warned = x->prev.warned;
                                memcpy(x->res.next.last_sent, x->prev.sent,
                                       sizeof(x->res.next.last_sent));
                        }
                        continue;
                }
                decide(x, now_s);
        }

        /* the actions, for the caller */
        for (size_t i = 0; i < n_c; i++) {
                struct work *x = &w[i];
                if (only_user && !streq(x->c.user, only_user))
                        continue;
                for (size_t k = 0; k < x->res.n_actions; k++) {
                        char reason[STORE_TEXT_MAX];
                        const struct lc_action *a = &x->res.actions[k];
                        action_reason(x, a, reason, sizeof(reason));
                        json_array_append_new(
                            actions,
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", x->c.id,
                                      "name", x->c.name, "user", x->c.user, "action",
                                      lc_action_name(a->kind), "description", action_verb(a->kind),
                                      "percent",
                                      a->percent ? json_integer(a->percent) : json_null(), "at",
                                      json_epoch(a->at > 0 ? a->at : now_s), "reason", reason));
                }
        }
        if (dry)
                goto out;

        /* remember: the state of every container, in one transaction */
        pthread_mutex_lock(&d->lock);
        r = store_begin(d->store);
        for (size_t i = 0; i < n_c && r >= 0; i++) {
                struct work *x = &w[i];
                struct store_lc l = {0};
                if (x->lc.state != LC_RUNNING && !x->have_prev)
                        continue;
                (void)strscpy(l.container, sizeof(l.container), x->c.id);
                l.started = x->res.next.started ? x->res.next.started : x->c.started_s;
                l.last_check = x->res.next.last_check ? x->res.next.last_check : now_s;
                l.idle_since = x->res.next.idle_since;
                l.streak = x->res.next.streak;
                l.warned = x->res.next.warned;
                for (size_t k = 0; k < LC_SLOT__MAX; k++)
                        l.sent[k] = x->res.next.last_sent[k];
                if (x->probed) {
                        l.cpu_ns = x->cpu_ns;
                        l.net_bytes = x->net_bytes;
                        l.counters_at = x->counters_at;
                }
                r = store_lc_put(d->store, &l);
        }
        /* state of containers that are gone */
        for (size_t k = 0; k < n_l && r >= 0; k++) {
                bool live = false;
                for (size_t i = 0; i < n_c && !live; i++)
                        live = streq(ls[k].container, cs[i].id);
                if (!live)
                        (void)store_lc_delete(d->store, ls[k].container);
        }
        r = state_commit(d, r);
        if (r >= 0)
                check_alerts(d, w, n_c);
        pthread_mutex_unlock(&d->lock);
        if (r < 0) {
                log_warning_errno(r, "lifecycle: cannot save the pass: %m; nothing done");
                goto out;
        }

        /* act, then publish the view */
        for (size_t i = 0; i < n_c; i++)
                act(d, &w[i], now_s);
        for (size_t i = 0; i < n_c; i++)
                json_array_append_new(view, view_json(&w[i]));
        pthread_mutex_lock(&lc_state.mutex);
        json_decref(lc_state.view);
        lc_state.view = json_incref(view);
        lc_state.last_pass = now;
        pthread_mutex_unlock(&lc_state.mutex);
out:
        pthread_mutex_lock(&lc_state.mutex);
        lc_state.last_duration = now_us() - now;
        lc_state.last_containers = n_c;
        pthread_mutex_unlock(&lc_state.mutex);
        free(cs);
        free(ls);
        free(as);
        free(w);
        json_decref(view);
        if (r >= 0 && ret_actions)
                *ret_actions = json_incref(actions);
        json_decref(actions);
        return r;
}

/* ---- the thread ---- */

static void *lifecycle_thread(void *arg)
{
        struct ds01d *d = arg;

        pthread_mutex_lock(&lc_state.mutex);
        while (!lc_state.quit) {
                int64_t interval, now = now_us();
                struct timespec ts;

                pthread_mutex_unlock(&lc_state.mutex);
                pthread_mutex_lock(&d->lock);
                interval = d->settings.check_interval * 1000000;
                pthread_mutex_unlock(&d->lock);
                pthread_mutex_lock(&lc_state.mutex);
                if (lc_state.next_pass == 0)
                        lc_state.next_pass = now + interval;
                if (!lc_state.run_now && now < lc_state.next_pass) {
                        int64_t until = MIN(lc_state.next_pass, now + interval);
                        ts.tv_sec = (time_t)(until / 1000000);
                        ts.tv_nsec = (long)(until % 1000000) * 1000;
                        pthread_cond_timedwait(&lc_state.cond, &lc_state.mutex, &ts);
                        continue;
                }
                lc_state.run_now = false;
                lc_state.next_pass = now + interval;
                pthread_mutex_unlock(&lc_state.mutex);
                (void)pass(d, false, NULL, NULL);
                pthread_mutex_lock(&lc_state.mutex);
        }
        pthread_mutex_unlock(&lc_state.mutex);
        return NULL;
}

int lifecycle_start(struct ds01d *d)
{
        int r;

        lc_state.quit = false;
        r = pthread_create(&lc_state.thread, NULL, lifecycle_thread, d);
        if (r != 0)
                return log_error_errno(-r, "cannot start the lifecycle thread: %m");
        lc_state.started = true;
        return 0;
}

void lifecycle_stop(struct ds01d *d)
{
        struct timespec ts;

        if (!lc_state.started)
                return;
        pthread_mutex_lock(&lc_state.mutex);
        lc_state.quit = true;
        pthread_cond_broadcast(&lc_state.cond);
        pthread_mutex_unlock(&lc_state.mutex);
        pthread_join(lc_state.thread, NULL);
        lc_state.started = false;
        /* stop jobs finish what they started (Docker's own grace), at most 2 min */
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 120;
        pthread_mutex_lock(&lc_state.mutex);
        while (lc_state.workers > 0)
                if (pthread_cond_timedwait(&lc_state.workers_done, &lc_state.mutex, &ts) != 0)
                        break;
        json_decref(lc_state.view);
        lc_state.view = NULL;
        pthread_mutex_unlock(&lc_state.mutex);
        pthread_mutex_lock(&d->lock);
        free(lc_state.stopping);
        free(lc_state.stopping_idle);
        lc_state.stopping = NULL;
        lc_state.stopping_idle = NULL;
        lc_state.n_stopping = 0;
        pthread_mutex_unlock(&d->lock);
}

/* ---- the control API ---- */

static enum MHD_Result h_status(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        const char *want = api_arg(conn, "container");
        int64_t now_s = now_us() / 1000000, interval;
        json_t *list = json_array(), *c, *hd;
        size_t i;

        pthread_mutex_lock(&d->lock);
        interval = d->settings.check_interval;
        hd = json_pack("{s:b, s:f, s:f, s:f}", "active", false, "share", 0.0, "threshold",
                       d->settings.high_demand_threshold, "factor",
                       d->settings.high_demand_idle_reduction);
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_lock(&lc_state.mutex);
        json_object_set_new(hd, "active", json_boolean(lc_state.high_demand));
        json_object_set_new(hd, "share", json_real(lc_state.share));
        json_array_foreach(lc_state.view, i, c)
        {
                const char *user = json_string_value(json_object_get(c, "user"));
                const char *id = json_string_value(json_object_get(c, "id"));
                const char *name = json_string_value(json_object_get(c, "name"));
                if (!rc->admin && !(user && streq(user, rc->user)))
                        continue;
                if (want && !(streq(want, name) || streq(want, id) ||
                              (strlen(want) >= 4 && startswith(id, want))))
                        continue;
                json_array_append_new(list, view_for(c, now_s));
        }
        json_t *ans = json_pack("{s:I, s:o, s:o, s:o}", "interval_s", (json_int_t)interval,
                                "last_pass", json_time_us(lc_state.last_pass), "next_pass",
                                json_time_us(lc_state.next_pass), "high_demand", hd);
        pthread_mutex_unlock(&lc_state.mutex);
        if (want && json_array_size(list) == 0) {
                json_decref(list);
                json_decref(ans);
                return api_reply_error(conn, 404, "NOT_FOUND",
                                       "no container '%s' of yours is known to the lifecycle loop "
                                       "yet (it looks every %llds; see 'ds01 container list')",
                                       want, (long long)interval);
        }
        json_object_set_new(ans, "containers", list);
        return api_reply(conn, 200, ans);
}

static enum MHD_Result h_run(struct ds01d *d, struct MHD_Connection *conn, struct request_ctx *rc)
{
        static const char *const allowed[] = {"dry_run", NULL};
        char err[256];
        json_t *body = api_parse_body(rc, allowed, err, sizeof(err)), *actions = NULL, *v;
        bool dry = true;
        int r;

        if (!body)
                return api_reply_error(conn, 400, "BAD_REQUEST", "%s", err);
        v = json_object_get(body, "dry_run");
        if (v && !json_is_boolean(v)) {
                json_decref(body);
                return api_reply_error(conn, 400, "BAD_REQUEST", "dry_run must be true or false");
        }
        if (v)
                dry = json_is_true(v);
        json_decref(body);
        if (!dry && !rc->admin)
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "only admins may run a lifecycle pass; try --dry-run");
        r = pass(d, dry, rc->admin ? NULL : rc->user, &actions);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "the pass failed: %s", strerror(-r));
        pthread_mutex_lock(&lc_state.mutex);
        json_t *ans =
            json_pack("{s:b, s:o, s:f, s:I, s:o}", "dry_run", dry, "ran_at", json_time_us(now_us()),
                      "duration_s", (double)lc_state.last_duration / 1e6, "containers",
                      (json_int_t)lc_state.last_containers, "actions", actions);
        pthread_mutex_unlock(&lc_state.mutex);
        return api_reply(conn, 200, ans);
}

json_t *lifecycle_view_json(void)
{
        int64_t now_s = now_us() / 1000000;
        json_t *list = json_array(), *c;
        size_t i;

        pthread_mutex_lock(&lc_state.mutex);
        json_array_foreach(lc_state.view, i, c)
        {
                json_array_append_new(list, view_for(c, now_s));
        }
        pthread_mutex_unlock(&lc_state.mutex);
        return list;
}

json_t *alerts_json(struct ds01d *d, const char *user)
{
        struct store_alert *a = NULL;
        size_t n = 0;
        json_t *list;
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_alert_list(d->store, &a, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return NULL;
        list = json_array();
        for (size_t i = 0; i < n; i++) {
                char msg[160];
                if (!a[i].level[0] || (user && !streq(user, a[i].user)))
                        continue;
                alert_message(msg, sizeof(msg), a[i].resource, a[i].used, a[i].limit);
                json_array_append_new(
                    list, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:o, s:s, s:s}", "user",
                                    a[i].user, "resource", a[i].resource, "level", a[i].level,
                                    "used", a[i].used, "limit", a[i].limit, "percent",
                                    a[i].limit > 0 ? a[i].used * 100.0 / a[i].limit : 0.0, "since",
                                    json_time_us(a[i].since), "event",
                                    alert_event(a[i].resource, a[i].level), "message", msg));
        }
        free(a);
        return list;
}

static enum MHD_Result h_alerts(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        const char *user = api_arg(conn, "user");
        json_t *list;

        if (user && !rc->admin && !streq(user, rc->user))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "only admins may see other users' alerts");
        if (!user && !rc->admin)
                user = rc->user;
        list = alerts_json(d, user);
        if (!list)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read the alerts");
        return api_reply(conn, 200, json_pack("{s:o}", "alerts", list));
}

bool lifecycle_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                     const char *method, struct request_ctx *rc, enum MHD_Result *ret)
{
        bool get = streq(method, "GET"), post = streq(method, "POST");

        if (streq(url, "/v1/lifecycle"))
                *ret = get ? h_status(d, conn, rc)
                           : api_reply_error(conn, 405, "METHOD_NOT_ALLOWED",
                                             "%s is not allowed on %s", method, url);
        else if (streq(url, "/v1/lifecycle/run"))
                *ret = post ? h_run(d, conn, rc)
                            : api_reply_error(conn, 405, "METHOD_NOT_ALLOWED",
                                              "%s is not allowed on %s", method, url);
        else if (streq(url, "/v1/alerts"))
                *ret = get ? h_alerts(d, conn, rc)
                           : api_reply_error(conn, 405, "METHOD_NOT_ALLOWED",
                                             "%s is not allowed on %s", method, url);
        else
                return false;
        return true;
}
