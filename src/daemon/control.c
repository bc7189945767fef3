/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control API (docs/API.md): HTTP/1.1 + JSON on the unix
 * socket <run-dir>/ds01.sock, served by libmicrohttpd in one internal thread.
 * The caller is the socket's peer (SO_PEERCRED) and nothing else: uid → user
 * name through NSS; admins are uid 0, access_control.admin_users and members
 * of access_control.admin_group. Requests that wait in the queue are suspended
 * connections, resumed by the main thread when they are granted or give up.
 */
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <microhttpd.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "proxy/proxy.h"
#include "store/event-record.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define BODY_MAX             (1024 * 1024)
#define IMPORT_BODY_MAX      (64 * 1024 * 1024)
#define EVENTS_DEFAULT_LIMIT 100
#define WAIT_MAX_S           (7 * 24 * 3600)

/* ---- replies ---- */

enum MHD_Result api_reply(struct MHD_Connection *conn, unsigned status, json_t *j)
{
        char *body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;

        json_decref(j);
        if (!body)
                body = strdup("{\"error\":\"INTERNAL\",\"message\":\"out of memory\"}");
        if (!body)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "application/json");
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result api_reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return api_reply(conn, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

/* ---- the caller ---- */

static bool in_admin_group(const char *user, gid_t primary, const char *group)
{
        struct group gr, *grp = NULL;
        char buf[16384];
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (!group || getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || !grp)
                return false;
        if (getgrouplist(user, primary, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == grp->gr_gid)
                        return true;
        return false;
}

bool daemon_is_admin(struct ds01d *d, const char *user, uid_t uid, gid_t gid)
{
        bool admin = uid == 0;

        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; !admin && i < d->settings.n_admin_users; i++)
                if (streq(d->settings.admin_users[i], user))
                        admin = true;
        if (!admin)
                admin = in_admin_group(user, gid, d->settings.admin_group);
        pthread_mutex_unlock(&d->lock);
        return admin;
}

static int identify(struct ds01d *d, struct MHD_Connection *conn, struct request_ctx *rc)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct passwd pw, *pwp = NULL;
        char buf[16384];

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -EACCES;
        rc->uid = cred.uid;
        rc->gid = cred.gid;
        if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
                (void)strscpy(rc->user, sizeof(rc->user), pw.pw_name);
        else
                snprintf(rc->user, sizeof(rc->user), "%u", (unsigned)cred.uid);
        rc->admin = cred.uid == 0;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; !rc->admin && i < d->settings.n_admin_users; i++)
                if (streq(d->settings.admin_users[i], rc->user))
                        rc->admin = true;
        if (!rc->admin && pwp)
                rc->admin = in_admin_group(rc->user, pw.pw_gid, d->settings.admin_group);
        pthread_mutex_unlock(&d->lock);
        rc->identified = true;
        return 0;
}

/* ---- request helpers ---- */

const char *api_arg(struct MHD_Connection *conn, const char *key)
{
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
        return v && *v ? v : NULL;
}

/* Parse the body as a JSON object whose keys are all in `allowed`. */
json_t *api_parse_body(struct request_ctx *rc, const char *const *allowed, char *err,
                       size_t err_size)
{
        json_error_t je;
        json_t *j;
        const char *key;
        json_t *v;

        if (rc->len == 0)
                return json_object();
        j = json_loadb(rc->body, rc->len, JSON_REJECT_DUPLICATES, &je);
        if (!j) {
                snprintf(err, err_size, "the body is not JSON: %s (column %d)", je.text, je.column);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                snprintf(err, err_size, "the body must be a JSON object");
                return NULL;
        }
        json_object_foreach(j, key, v)
        {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (streq(allowed[i], key))
                                ok = true;
                if (!ok) {
                        snprintf(err, err_size, "unknown field '%s'", key);
                        json_decref(j);
                        return NULL;
                }
        }
        return j;
}

/* Docker's rule for container names (and ids, which are hex). */
static bool container_name_valid(const char *s)
{
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
                return false;
        for (s++; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
                        return false;
        return true;
}

static int parse_iso_us(const char *s, int64_t *ret)
{
        int64_t t;
        if (!s || parse_timestamp(s, &t) < 0)
                return -EINVAL;
        *ret = t * 1000000;
        return 0;
}

/* ---- handlers ---- */

static enum MHD_Result h_whoami(struct MHD_Connection *conn, struct request_ctx *rc)
{
        return api_reply(conn, 200,
                         json_pack("{s:s, s:I, s:b}", "user", rc->user, "uid", (json_int_t)rc->uid,
                                   "admin", rc->admin));
}

static enum MHD_Result h_status(struct ds01d *d, struct MHD_Connection *conn)
{
        json_t *j;
        pthread_mutex_lock(&d->lock);
        j = state_status_json(d);
        pthread_mutex_unlock(&d->lock);
        if (!j)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read the state: see the log");
        return api_reply(conn, 200, j);
}

static enum MHD_Result h_allocate(struct ds01d *d, struct MHD_Connection *conn,
                                  struct request_ctx *rc)
{
        static const char *const allowed[] = {"user",         "container", "count", "full",
                                              "wait_seconds", "interface", NULL};
        struct alloc_params p = {.count = 1, .caller = rc->user};
        struct alloc_result res;
        char err[256];
        json_t *b, *v;
        json_int_t wait_s = 0;
        int64_t t0, decision_us;
        enum MHD_Result ret;
        int r;

        if (!rc->admin)
                return api_reply_error(
                    conn, 403, "FORBIDDEN",
                    "only admins and ds01's own tools may allocate GPUs directly; "
                    "ask an admin");
        b = api_parse_body(rc, allowed, err, sizeof(err));
        if (!b)
                return api_reply_error(conn, 400, "BAD_REQUEST", "%s", err);
        p.user = json_string_value(json_object_get(b, "user"));
        p.container = json_string_value(json_object_get(b, "container"));
        p.interface = json_string_value(json_object_get(b, "interface"));
        v = json_object_get(b, "count");
        if (json_is_string(v) && streq(json_string_value(v), "all"))
                p.count = ALLOC_COUNT_ALL;
        else if (json_is_integer(v) && json_integer_value(v) >= 1 &&
                 json_integer_value(v) <= ALLOC_MAX_SLOTS)
                p.count = (int)json_integer_value(v);
        else if (v) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "count must be a whole number from 1 to %d, or \"all\"",
                                       ALLOC_MAX_SLOTS);
        }
        v = json_object_get(b, "full");
        if (v && !json_is_boolean(v)) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST", "full must be true or false");
        }
        p.full = json_is_true(v);
        v = json_object_get(b, "wait_seconds");
        if (v) {
                if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                    json_integer_value(v) > WAIT_MAX_S) {
                        json_decref(b);
                        return api_reply_error(conn, 400, "BAD_REQUEST",
                                               "wait_seconds must be a whole number from 0 to %d",
                                               WAIT_MAX_S);
                }
                wait_s = json_integer_value(v);
        }
        if (!p.user || !*p.user || !p.container || !*p.container ||
            strlen(p.container) >= STORE_NAME_MAX || strlen(p.user) >= STORE_NAME_MAX) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "user and container are required strings (under %d bytes)",
                                       STORE_NAME_MAX);
        }
        if (!container_name_valid(p.container)) {
                /* p.container lives in b: answer first, then free */
                ret = api_reply_error(conn, 400, "BAD_REQUEST",
                                      "'%s' is not a container name Docker accepts "
                                      "([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                                      p.container);
                json_decref(b);
                return ret;
        }

        pthread_mutex_lock(&d->lock);
        if (d->stopping) {
                pthread_mutex_unlock(&d->lock);
                json_decref(b);
                return api_reply_error(conn, 503, "UNAVAILABLE", "ds01d is stopping");
        }
        t0 = now_us();
        r = state_allocate(d, &p, &res);
        decision_us = now_us() - t0;
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                log_error_errno(r, "allocation for %s failed: %m", p.container);
                json_decref(b);
                return api_reply_error(conn, 500, "INTERNAL",
                                       "the allocation could not be recorded; see the ds01d log");
        }
        if (res.code == ALLOC_OK) {
                json_t *ans = state_grant_json(d, p.container, p.user, &res, json_integer(0));
                json_object_set_new(ans, "decision_us", json_integer(d->last_decide_us));
                json_object_set_new(ans, "total_us", json_integer(decision_us));
                pthread_mutex_unlock(&d->lock);
                json_decref(b);
                return api_reply(conn, 200, ans);
        }
        if (res.code == ALLOC_NO_CAPACITY && wait_s > 0) {
                struct waiter *w = calloc(1, sizeof(*w));
                const union MHD_ConnectionInfo *ci =
                    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                int64_t id = 0, now = now_us();
                if (!w || state_queue_join(d, &p, now + wait_s * 1000000, &id) < 0) {
                        pthread_mutex_unlock(&d->lock);
                        free(w);
                        json_decref(b);
                        return api_reply_error(conn, 500, "INTERNAL", "cannot join the queue");
                }
                w->queue_id = id;
                w->conn = conn;
                w->fd = ci ? ci->connect_fd : -1;
                w->deadline = now + wait_s * 1000000;
                w->since = now;
                w->rc = rc;
                w->next = d->waiters;
                d->waiters = w;
                rc->waiter = w;
                MHD_suspend_connection(conn);
                /* it may fit right away (someone released meanwhile) */
                state_tick(d);
                pthread_mutex_unlock(&d->lock);
                json_decref(b);
                return MHD_YES;
        }
        ret = api_reply(conn, 409,
                        json_pack("{s:s, s:s, s:f, s:o, s:I, s:I}", "error",
                                  alloc_code_name(res.code), "message", res.reason,
                                  "gpu_equivalents_held", res.held, "gpu_equivalents_limit",
                                  isfinite(res.limit) ? json_real(res.limit) : json_null(),
                                  "decision_us", (json_int_t)d->last_decide_us, "total_us",
                                  (json_int_t)decision_us));
        pthread_mutex_unlock(&d->lock);
        json_decref(b);
        return ret;
}

void waiter_finish(struct ds01d *d, struct waiter *w, unsigned status, json_t *answer)
{
        if (w->done) {
                json_decref(answer);
                return;
        }
        w->done = true;
        w->status = status;
        w->answer = answer;
        if (w->conn)
                MHD_resume_connection(w->conn);
        else if (w->cond)
                pthread_cond_broadcast(w->cond);
}

static void waiter_unlink(struct ds01d *d, struct waiter *w)
{
        for (struct waiter **p = &d->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        json_decref(w->answer);
        free(w);
}

static enum MHD_Result h_release(struct ds01d *d, struct MHD_Connection *conn,
                                 struct request_ctx *rc, const char *container)
{
        struct store_alloc_filter f = {.in_force_only = true, .container = container};
        struct store_alloc *rows = NULL;
        size_t n = 0;
        json_t *released = NULL;
        char reason[STORE_NAME_MAX + 16];
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_alloc_list(d->store, &f, &rows, &n);
        if (r >= 0 && n > 0 && !rc->admin && !streq(rows[0].user, rc->user)) {
                pthread_mutex_unlock(&d->lock);
                free(rows);
                return api_reply_error(
                    conn, 403, "FORBIDDEN",
                    "container '%s' is not yours; only its owner or an admin may "
                    "release its GPUs",
                    container);
        }
        free(rows);
        snprintf(reason, sizeof(reason), "released by %s", rc->user);
        if (r >= 0)
                r = state_release(d, container, reason, &released);
        pthread_mutex_unlock(&d->lock);
        if (r == -ENOENT)
                return api_reply_error(conn, 404, "NOT_FOUND", "container '%s' holds no GPU",
                                       container);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot release: see the ds01d log");
        return api_reply(conn, 200,
                         json_pack("{s:s, s:o}", "container", container, "released", released));
}

static enum MHD_Result h_allocations(struct ds01d *d, struct MHD_Connection *conn,
                                     struct request_ctx *rc)
{
        const char *user = api_arg(conn, "user");
        bool all = api_arg(conn, "all") && streq(api_arg(conn, "all"), "1");
        struct store_alloc_filter f = {.in_force_only = !all};
        struct store_alloc *rows = NULL;
        size_t n = 0;
        json_t *a;
        int r;

        if (user && !rc->admin && !streq(user, rc->user))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "you may only see your own allocations");
        f.user = rc->admin ? user : rc->user;
        if (all)
                f.since = now_us() - 7LL * 24 * 3600 * 1000000;
        pthread_mutex_lock(&d->lock);
        r = store_alloc_list(d->store, &f, &rows, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read allocations");
        a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, state_alloc_json(&rows[i]));
        free(rows);
        return api_reply(conn, 200, json_pack("{s:o}", "allocations", a));
}

static json_t *limit_or_null(double v)
{
        return isfinite(v) ? json_real(v) : json_null();
}

static json_t *count_or_null(long long v)
{
        return v == LIMIT_UNLIMITED ? json_null() : json_integer(v);
}

static enum MHD_Result h_user_status(struct ds01d *d, struct MHD_Connection *conn,
                                     struct request_ctx *rc, const char *user)
{
        struct store_alloc_filter f = {.in_force_only = true, .user = user};
        struct store_alloc *rows = NULL;
        struct user_limits ul = {0};
        size_t n = 0, containers = 0;
        double used = 0;
        json_t *allocs, *j;
        int r;

        if (!rc->admin && !streq(user, rc->user))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "you may only see your own status, not '%s''s", user);
        pthread_mutex_lock(&d->lock);
        r = state_user_limits(d, user, &ul);
        if (r >= 0)
                r = store_alloc_list(d->store, &f, &rows, &n);
        if (r < 0) {
                pthread_mutex_unlock(&d->lock);
                user_limits_release(&ul);
                return api_reply_error(conn, r == -EINVAL ? 400 : 500,
                                       r == -EINVAL ? "BAD_REQUEST" : "INTERNAL",
                                       "cannot resolve user '%s'", user);
        }
        allocs = json_array();
        for (size_t i = 0; i < n; i++) {
                bool seen = false;
                used += rows[i].weight;
                for (size_t k = 0; k < i; k++)
                        if (streq(rows[k].container, rows[i].container))
                                seen = true;
                containers += !seen;
                json_array_append_new(allocs, state_alloc_json(&rows[i]));
        }
        j = json_pack("{s:s, s:s, s:I, s:f, s:o, s:o, s:o, s:b, s:I, s:o, s:o, s:o}", "user", user,
                      "group", ul.group ? ul.group : "", "priority", (json_int_t)ul.priority,
                      "gpu_equivalents_used", used, "gpu_equivalents_limit",
                      limit_or_null(ul.max_gpu_equivalents), "aggregate_gpu_limit",
                      ul.aggregate.present && ul.aggregate.has_gpu_limit
                          ? limit_or_null(ul.aggregate.gpu_limit)
                          : json_null(),
                      "max_gpu_slots_per_container", count_or_null(ul.max_gpu_slots_per_container),
                      "allow_full_gpu", ul.allow_full_gpu, "containers", (json_int_t)containers,
                      "containers_limit", count_or_null(ul.max_containers), "allocations", allocs,
                      "queue", state_queue_json(d, user));
        pthread_mutex_unlock(&d->lock);
        user_limits_release(&ul);
        free(rows);
        return api_reply(conn, 200, j);
}

static enum MHD_Result h_queue(struct ds01d *d, struct MHD_Connection *conn, struct request_ctx *rc)
{
        json_t *q;
        pthread_mutex_lock(&d->lock);
        q = state_queue_json(d, rc->admin ? NULL : rc->user);
        pthread_mutex_unlock(&d->lock);
        return api_reply(conn, 200, json_pack("{s:o}", "queue", q));
}

static enum MHD_Result h_queue_cancel(struct ds01d *d, struct MHD_Connection *conn,
                                      struct request_ctx *rc, const char *id_s)
{
        struct store_queue_entry q;
        long long id;
        int r;

        if (safe_atoi64(id_s, &id) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST", "'%s' is not a queue id", id_s);
        pthread_mutex_lock(&d->lock);
        r = store_queue_get(d->store, id, &q);
        if (r < 0 || q.state != STORE_QUEUE_WAITING) {
                pthread_mutex_unlock(&d->lock);
                return api_reply_error(conn, 404, "NOT_FOUND",
                                       "no waiting queue entry %s (see ds01 queue list)", id_s);
        }
        if (!rc->admin && !streq(q.user, rc->user)) {
                pthread_mutex_unlock(&d->lock);
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "queue entry %s is not yours; only its user or an admin may "
                                       "cancel it",
                                       id_s);
        }
        r = store_begin(d->store);
        if (r >= 0)
                r = store_queue_update(d->store, id, STORE_QUEUE_LEFT, now_us());
        if (r >= 0) {
                char by[STORE_NAME_MAX + 16];
                snprintf(by, sizeof(by), "cancelled by %s", rc->user);
                daemon_event(d, "queue.left", q.user,
                             json_pack("{s:s, s:I, s:s}", "container", q.container, "queue_id",
                                       (json_int_t)id, "reason", by));
        }
        r = state_commit(d, r);
        if (r >= 0)
                state_tick(d); /* answers a waiting caller */
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot cancel: see the ds01d log");
        return api_reply(conn, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "left"));
}

json_t *reservation_json(const struct store_reservation *r, int64_t now_s)
{
        json_t *slots = json_array();
        char buf[STORE_TEXT_MAX], *p, *save = NULL;

        (void)strscpy(buf, sizeof(buf), r->slots);
        for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
                json_array_append_new(slots, json_string(p));
        return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:b}", "id", (json_int_t)r->id,
                         "user", r->user[0] ? json_string(r->user) : json_null(), "group",
                         r->group[0] ? json_string(r->group) : json_null(), "slots", slots, "start",
                         json_time_us(r->start * 1000000), "end", json_time_us(r->end * 1000000),
                         "reason", r->reason, "source", r->source, "active",
                         now_s >= r->start && now_s < r->end);
}

static enum MHD_Result h_reservations(struct ds01d *d, struct MHD_Connection *conn)
{
        struct store_reservation *rows = NULL;
        size_t n = 0;
        int64_t now_s = now_us() / 1000000;
        json_t *a;
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_reservation_list(d->store, now_s, &rows, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read reservations");
        a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, reservation_json(&rows[i], now_s));
        free(rows);
        return api_reply(conn, 200, json_pack("{s:o}", "reservations", a));
}

/* Pick `count` slots for a reservation: highest-numbered full GPUs, then MIG. */
static int pick_reserved(struct ds01d *d, json_int_t count, char *out, size_t size)
{
        size_t len = 0, got = 0;

        out[0] = '\0';
        for (int pass = 0; pass < 2 && got < (size_t)count; pass++)
                for (size_t i = d->n_slots; i > 0 && got < (size_t)count; i--) {
                        const struct slot_view *v = &d->slots[i - 1];
                        int w;
                        if ((pass == 0) != (v->mig < 0))
                                continue;
                        w = snprintf(out + len, size - len, "%s%s", got ? "," : "", v->name);
                        if (w < 0 || (size_t)w >= size - len)
                                return -E2BIG;
                        len += (size_t)w;
                        got++;
                }
        return got == (size_t)count ? 0 : -ENOSPC;
}

static enum MHD_Result h_reserve_add(struct ds01d *d, struct MHD_Connection *conn,
                                     struct request_ctx *rc)
{
        static const char *const allowed[] = {"user",  "group", "slots",  "count",
                                              "start", "end",   "reason", NULL};
        struct store_reservation sr = {0};
        const char *user, *group, *reason;
        char err[256];
        int64_t start, end;
        json_t *b, *slots, *cnt, *ans;
        int r;

        if (!rc->admin)
                return api_reply_error(conn, 403, "FORBIDDEN", "only admins may reserve GPUs");
        b = api_parse_body(rc, allowed, err, sizeof(err));
        if (!b)
                return api_reply_error(conn, 400, "BAD_REQUEST", "%s", err);
        user = json_string_value(json_object_get(b, "user"));
        group = json_string_value(json_object_get(b, "group"));
        reason = json_string_value(json_object_get(b, "reason"));
        slots = json_object_get(b, "slots");
        cnt = json_object_get(b, "count");
        if (!user == !group || !slots == !cnt ||
            parse_iso_us(json_string_value(json_object_get(b, "start")), &start) < 0 ||
            parse_iso_us(json_string_value(json_object_get(b, "end")), &end) < 0 || end <= start) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "give user or group, slots or count, and start < end as ISO "
                                       "8601 times");
        }
        (void)strscpy(sr.user, sizeof(sr.user), user ? user : "");
        (void)strscpy(sr.group, sizeof(sr.group), group ? group : "");
        (void)strscpy(sr.reason, sizeof(sr.reason), reason ? reason : "");
        (void)strscpy(sr.source, sizeof(sr.source), "admin");
        sr.start = start / 1000000;
        sr.end = end / 1000000;

        pthread_mutex_lock(&d->lock);
        if (slots) {
                size_t i, len = 0;
                json_t *s;
                if (!json_is_array(slots) || json_array_size(slots) == 0)
                        goto bad_slots;
                json_array_foreach(slots, i, s)
                {
                        int w;
                        if (!json_is_string(s) || state_slot_index(d, json_string_value(s)) < 0)
                                goto bad_slots;
                        w = snprintf(sr.slots + len, sizeof(sr.slots) - len, "%s%s", i ? "," : "",
                                     json_string_value(s));
                        if (w < 0 || (size_t)w >= sizeof(sr.slots) - len)
                                goto bad_slots;
                        len += (size_t)w;
                }
        } else if (!json_is_integer(cnt) || json_integer_value(cnt) < 1 ||
                   pick_reserved(d, json_integer_value(cnt), sr.slots, sizeof(sr.slots)) < 0) {
                pthread_mutex_unlock(&d->lock);
                json_decref(b);
                return api_reply_error(
                    conn, 400, "BAD_REQUEST",
                    "count must be a whole number from 1 to the %zu slots there are", d->n_slots);
        }
        r = store_begin(d->store);
        if (r >= 0)
                r = store_reservation_insert(d->store, &sr, now_us());
        if (r >= 0)
                daemon_event(d, "reservation.created", sr.user[0] ? sr.user : NULL,
                             json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s}", "id",
                                       (json_int_t)sr.id, "user", sr.user, "group", sr.group,
                                       "slots", sr.slots, "start", json_time_us(sr.start * 1000000),
                                       "end", json_time_us(sr.end * 1000000), "by", rc->user));
        r = state_commit(d, r);
        ans = r >= 0 ? reservation_json(&sr, now_us() / 1000000) : NULL;
        pthread_mutex_unlock(&d->lock);
        json_decref(b);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot record the reservation");
        return api_reply(conn, 201, ans);

bad_slots:
        pthread_mutex_unlock(&d->lock);
        json_decref(b);
        return api_reply_error(conn, 400, "BAD_REQUEST",
                               "slots must be a non-empty list of slot names this server has "
                               "(ds01 gpu status)");
}

static enum MHD_Result h_reserve_remove(struct ds01d *d, struct MHD_Connection *conn,
                                        struct request_ctx *rc, const char *id_s)
{
        long long id;
        int r;

        if (!rc->admin)
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "only admins may remove reservations");
        if (safe_atoi64(id_s, &id) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST", "'%s' is not a reservation id",
                                       id_s);
        pthread_mutex_lock(&d->lock);
        r = store_begin(d->store);
        if (r >= 0)
                r = store_reservation_delete(d->store, id);
        if (r >= 0)
                daemon_event(d, "reservation.removed", NULL,
                             json_pack("{s:I, s:s}", "id", (json_int_t)id, "by", rc->user));
        r = state_commit(d, r);
        if (r >= 0)
                state_tick(d);
        pthread_mutex_unlock(&d->lock);
        if (r == -ENOENT)
                return api_reply_error(conn, 404, "NOT_FOUND",
                                       "no reservation %s (ds01 reserve list)", id_s);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot remove the reservation");
        return api_reply(conn, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", true));
}

json_t *event_json(const struct store_event *e)
{
        json_t *o = json_pack("{s:I, s:o, s:s, s:s}", "id", (json_int_t)e->id, "timestamp",
                              json_time_us(e->time), "event_type", e->type, "schema_version",
                              EVENT_SCHEMA_VERSION);
        if (e->user[0])
                json_object_set_new(o, "user", json_string(e->user));
        if (e->source[0])
                json_object_set_new(o, "source", json_string(e->source));
        if (e->details) {
                json_t *det = json_loads(e->details, 0, NULL);
                if (det)
                        json_object_set_new(o, "details", det);
        }
        return o;
}

static enum MHD_Result h_events(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        struct store_event_filter f = {.limit = EVENTS_DEFAULT_LIMIT};
        struct store_event *ev = NULL;
        const char *s;
        size_t n = 0;
        int64_t last = 0;
        json_t *a;
        int r;

        f.user = api_arg(conn, "user");
        if (f.user && !rc->admin && !streq(f.user, rc->user))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "you may only see your own events, not '%s''s", f.user);
        if (!rc->admin)
                f.user = rc->user;
        f.type_prefix = api_arg(conn, "type");
        f.container = api_arg(conn, "container");
        if ((s = api_arg(conn, "since")) && parse_iso_us(s, &f.since) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST", "since '%s' is not ISO 8601", s);
        if ((s = api_arg(conn, "until")) && parse_iso_us(s, &f.until) < 0)
                return api_reply_error(conn, 400, "BAD_REQUEST", "until '%s' is not ISO 8601", s);
        if ((s = api_arg(conn, "after_id"))) {
                long long after;
                if (safe_atoi64(s, &after) < 0 || after < 0)
                        return api_reply_error(conn, 400, "BAD_REQUEST",
                                               "after_id must be a number");
                f.after_id = after;
        }
        if ((s = api_arg(conn, "limit"))) {
                long long l;
                if (safe_atoi64(s, &l) < 0 || l < 0)
                        return api_reply_error(conn, 400, "BAD_REQUEST",
                                               "limit must be a whole number (0 = all)");
                f.limit = (long)l;
        }
        pthread_mutex_lock(&d->lock);
        r = store_event_query(d->store, &f, &ev, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read events");
        a = json_array();
        for (size_t i = 0; i < n; i++) {
                json_array_append_new(a, event_json(&ev[i]));
                last = ev[i].id;
        }
        store_events_free(ev, n);
        if (last == 0)
                last = f.after_id;
        return api_reply(conn, 200,
                         json_pack("{s:o, s:I}", "events", a, "last_id", (json_int_t)last));
}

static enum MHD_Result h_events_import(struct ds01d *d, struct MHD_Connection *conn,
                                       struct request_ctx *rc)
{
        size_t imported = 0, skipped = 0, line_no = 0;
        char first_error[256] = "";
        /* no body at all: rc->body is NULL, and NULL + 0 is undefined */
        const char *p = rc->body, *end = rc->body ? rc->body + rc->len : NULL;
        int r;

        if (!rc->admin)
                return api_reply_error(conn, 403, "FORBIDDEN", "only admins may import events");
        pthread_mutex_lock(&d->lock);
        r = store_begin(d->store);
        while (r >= 0 && p && p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                struct event_record rec = {0};
                struct store_event row = {0};

                line_no++;
                if (len > 0 && !(len == 1 && p[0] == '\r')) {
                        if (event_record_parse(p, len, &rec) < 0) {
                                if (!first_error[0])
                                        snprintf(first_error, sizeof(first_error),
                                                 "line %zu: not an event record (JSON with "
                                                 "timestamp and event_type, or ts and event)",
                                                 line_no);
                                skipped++;
                        } else {
                                json_t *c =
                                    rec.details ? json_object_get(rec.details, "container") : NULL;
                                row.time = rec.time_us;
                                (void)strscpy(row.type, sizeof(row.type), rec.type);
                                (void)strscpy(row.user, sizeof(row.user), rec.user ? rec.user : "");
                                (void)strscpy(row.source, sizeof(row.source),
                                              rec.source ? rec.source : "");
                                if (json_is_string(c))
                                        (void)strscpy(row.container, sizeof(row.container),
                                                      json_string_value(c));
                                if (rec.details && json_object_size(rec.details) > 0)
                                        row.details = json_dumps(
                                            rec.details, JSON_COMPACT | JSON_PRESERVE_ORDER);
                                r = store_event_insert(d->store, &row, NULL);
                                free(row.details);
                                if (r >= 0)
                                        imported++;
                        }
                        event_record_release(&rec);
                }
                p = nl ? nl + 1 : NULL;
        }
        r = state_commit(d, r);
        metrics_events_invalidate(d); /* imported events may fall in the last 24 h */
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot import: see the ds01d log");
        return api_reply(conn, 200,
                         json_pack("{s:I, s:I, s:o}", "imported", (json_int_t)imported, "skipped",
                                   (json_int_t)skipped, "first_error",
                                   first_error[0] ? json_string(first_error) : json_null()));
}

static enum MHD_Result h_reload(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        json_t *diags = NULL;
        int r;

        if (!rc->admin)
                return api_reply_error(conn, 403, "FORBIDDEN", "only admins may reload ds01d");
        r = daemon_reload(d, &diags);
        if (r < 0)
                return api_reply(conn, 409,
                                 json_pack("{s:s, s:s, s:o}", "error", "CONFIG_REJECTED", "message",
                                           "the configuration has errors; the previous one stays",
                                           "diagnostics", diags ? diags : json_array()));
        json_decref(diags);
        return api_reply(conn, 200, json_pack("{s:b}", "reloaded", true));
}

/* ---- routing ---- */

static enum MHD_Result route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                             const char *method, struct request_ctx *rc)
{
        bool get = streq(method, "GET"), post = streq(method, "POST"),
             del = streq(method, "DELETE");
        const char *rest;
        enum MHD_Result ret;

        if (lifecycle_route(d, conn, url, method, rc, &ret) ||
            access_route(d, conn, url, method, rc, &ret) ||
            overview_route(d, conn, url, method, rc, &ret) ||
            usage_route(d, conn, url, method, rc, &ret))
                return ret;
        if (streq(url, "/v1/whoami") && get)
                return h_whoami(conn, rc);
        if (streq(url, "/v1/status") && get)
                return h_status(d, conn);
        if (streq(url, "/v1/health") && get) {
                bool docker_up;
                return api_reply(conn, 200, health_json(d, &docker_up));
        }
        if (streq(url, "/v1/allocations")) {
                if (post)
                        return h_allocate(d, conn, rc);
                if (get)
                        return h_allocations(d, conn, rc);
        } else if ((rest = startswith(url, "/v1/allocations/")) && *rest) {
                if (del)
                        return h_release(d, conn, rc, rest);
        } else if ((rest = startswith(url, "/v1/users/"))) {
                const char *slash = strrchr(rest, '/');
                if (slash && streq(slash, "/status") && slash > rest && get) {
                        char user[STORE_NAME_MAX];
                        size_t len = (size_t)(slash - rest);
                        if (len >= sizeof(user))
                                return api_reply_error(conn, 400, "BAD_REQUEST",
                                                       "user name too long");
                        memcpy(user, rest, len);
                        user[len] = '\0';
                        return h_user_status(d, conn, rc, user);
                }
        } else if (streq(url, "/v1/queue")) {
                if (get)
                        return h_queue(d, conn, rc);
        } else if ((rest = startswith(url, "/v1/queue/")) && *rest) {
                if (del)
                        return h_queue_cancel(d, conn, rc, rest);
        } else if (streq(url, "/v1/reservations")) {
                if (get)
                        return h_reservations(d, conn);
                if (post)
                        return h_reserve_add(d, conn, rc);
        } else if ((rest = startswith(url, "/v1/reservations/")) && *rest) {
                if (del)
                        return h_reserve_remove(d, conn, rc, rest);
        } else if (streq(url, "/v1/events")) {
                if (get)
                        return h_events(d, conn, rc);
        } else if (streq(url, "/v1/events/import")) {
                if (post)
                        return h_events_import(d, conn, rc);
        } else if (streq(url, "/v1/reload")) {
                if (post)
                        return h_reload(d, conn, rc);
        } else {
                return api_reply_error(conn, 404, "NOT_FOUND",
                                       "no such path '%s' (see docs/API.md)", url);
        }
        return api_reply_error(conn, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method,
                               url);
}

/* ---- connections per user ----
 * One user may hold CONTROL_MAX_PER_USER connections open (root: any
 * number); the next is answered 429 at once and closed within
 * REFUSED_TIMEOUT_S, so that one user's idle connections cannot fill the
 * 1024 MHD allows for everyone. The table is only touched by MHD's thread. */
#define CONTROL_MAX_PER_USER 64
#define REFUSED_TIMEOUT_S    1
/* socket contexts: the uid + 1 of a counted connection, or REFUSED */
#define REFUSED ((void *)UINTPTR_MAX)

/* uid's entry in the table (added when add), or NULL */
static struct control_uid *uid_entry(struct ds01d *d, uid_t uid, bool add)
{
        struct control_uid *v;

        for (size_t i = 0; i < d->n_control_uids; i++)
                if (d->control_uids[i].uid == uid)
                        return &d->control_uids[i];
        if (!add)
                return NULL;
        v = reallocarray(d->control_uids, d->n_control_uids + 1, sizeof(*v));
        if (!v)
                return NULL;
        d->control_uids = v;
        v[d->n_control_uids] = (struct control_uid){.uid = uid};
        return &v[d->n_control_uids++];
}

/* writes the refusal straight to the new connection, before MHD reads it */
static void refuse(int fd, unsigned n)
{
        char body[384], msg[512];
        int bl, ml;

        bl = snprintf(body, sizeof(body),
                      "{\"error\":\"TOO_MANY_CONNECTIONS\",\"message\":\"ds01: you have %u "
                      "connections open to ds01d, the most one user may have; close some "
                      "(ds01 commands waiting in the GPU queue hold one each) and try again\"}",
                      n);
        ml = snprintf(msg, sizeof(msg),
                      "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                      bl, body);
        if (ml > 0 && (size_t)ml < sizeof(msg))
                (void)send(fd, msg, (size_t)ml, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                   enum MHD_ConnectionNotificationCode code)
{
        struct ds01d *d = cls;
        const struct proxy_limits lim = {.max_per_user = CONTROL_MAX_PER_USER};
        const union MHD_ConnectionInfo *ci;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        struct control_uid *u;

        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                uintptr_t v = (uintptr_t)*socket_context;
                if (*socket_context && *socket_context != REFUSED &&
                    (u = uid_entry(d, (uid_t)(v - 1), false)) && u->open > 0 && --u->open == 0)
                        /* the last one: the entry goes (the last takes its place) */
                        *u = d->control_uids[--d->n_control_uids];
                *socket_context = NULL;
                return;
        }
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return; /* the handler refuses it: no peer credentials */
        u = uid_entry(d, cred.uid, true);
        if (!u || proxy_admit(&lim, cred.uid, u->open, 0, 0) != PROXY_ADMIT_OK) {
                __atomic_add_fetch(&d->control_refused, 1, __ATOMIC_RELAXED);
                refuse(ci->connect_fd, u ? u->open : 0);
                (void)MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                                (unsigned)REFUSED_TIMEOUT_S);
                *socket_context = REFUSED;
                return;
        }
        u->open++;
        *socket_context = (void *)((uintptr_t)cred.uid + 1);
}

static bool refused(struct MHD_Connection *conn)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci && ci->socket_context == REFUSED;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
        struct ds01d *d = cls;
        struct request_ctx *rc = *con_cls;

        if (!rc) {
                if (refused(conn))
                        return MHD_NO; /* answered 429 already: close */
                rc = calloc(1, sizeof(*rc));
                if (!rc)
                        return MHD_NO;
                *con_cls = rc;
                if (identify(d, conn, rc) < 0)
                        return api_reply_error(conn, 403, "FORBIDDEN",
                                               "cannot tell who is calling (no peer credentials)");
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t max = streq(url, "/v1/events/import") ? IMPORT_BODY_MAX : BODY_MAX;
                if (!rc->too_large) {
                        if (rc->len + *upload_data_size > max) {
                                rc->too_large = true;
                        } else {
                                if (rc->len + *upload_data_size > rc->cap) {
                                        size_t cap = MAX(rc->cap * 2, rc->len + *upload_data_size);
                                        char *b = realloc(rc->body, MIN(cap, max));
                                        if (!b)
                                                return MHD_NO;
                                        rc->body = b;
                                        rc->cap = MIN(cap, max);
                                }
                                memcpy(rc->body + rc->len, upload_data, *upload_data_size);
                                rc->len += *upload_data_size;
                        }
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (rc->waiter) {
                /* resumed: answer what the queue decided */
                struct waiter *w = rc->waiter;
                enum MHD_Result ret;
                json_t *ans;
                unsigned st;
                pthread_mutex_lock(&d->lock);
                ans = w->answer;
                w->answer = NULL;
                st = w->status;
                rc->waiter = NULL;
                waiter_unlink(d, w);
                pthread_mutex_unlock(&d->lock);
                ret = api_reply(conn, st, ans);
                return ret;
        }
        if (rc->too_large)
                return api_reply_error(conn, 413, "TOO_LARGE", "the request body is too large");
        if (!rc->identified)
                return api_reply_error(conn, 403, "FORBIDDEN", "cannot tell who is calling");
        return route(d, conn, url, method, rc);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
        struct ds01d *d = cls;
        struct request_ctx *rc = *con_cls;

        if (!rc)
                return;
        if (rc->waiter) {
                pthread_mutex_lock(&d->lock);
                waiter_unlink(d, rc->waiter);
                pthread_mutex_unlock(&d->lock);
        }
        free(rc->body);
        free(rc);
        *con_cls = NULL;
}

int control_start(struct ds01d *d)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        int fd, n;

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ds01.sock", d->opt.run_dir);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "the run dir %s is too long for a socket",
                                       d->opt.run_dir);
        /* a socket left by a daemon that died: we hold the state lock, so it is stale */
        if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
                unlink(sa.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "socket: %m");
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0666) < 0 ||
            listen(fd, 256) < 0) {
                int r = -errno;
                close(fd);
                return log_error_errno(r, "cannot listen on %s: %m", sa.sun_path);
        }
        d->control_fd = fd;
        /* limits (docs/SECURITY.md): 60 s idle (a caller suspended in the
         * GPU queue is not idle), 1024 connections, CONTROL_MAX_PER_USER of
         * them per uid (notify), 32 KiB of memory each for the request head;
         * bodies are read by the handler with their own ceilings. */
        d->control = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
            NULL, handler, d, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed,
            d, MHD_OPTION_NOTIFY_CONNECTION, notify, d, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(32 * 1024), MHD_OPTION_END);
        if (!d->control) {
                close(fd);
                d->control_fd = -1;
                return log_error_errno(-EIO, "cannot start the control API on %s", sa.sun_path);
        }
        return 0;
}

void control_stop(struct ds01d *d)
{
        char path[4200];

        if (d->control)
                MHD_stop_daemon(d->control);
        d->control = NULL;
        d->control_uids = mfree(d->control_uids);
        d->n_control_uids = 0;
        if (d->control_fd >= 0) {
                close(d->control_fd);
                snprintf(path, sizeof(path), "%s/ds01.sock", d->opt.run_dir);
                unlink(path);
        }
        d->control_fd = -1;
}
