/* SPDX-License-Identifier: MIT */
/*
 * proxy.c - the Docker API proxy's server and its handling of each request
 * (proxy.h). One thread per client connection: read a head, route it
 * (policy.h), look up what it names in Docker, decide, rewrite what must be
 * rewritten (rewrite.h), forward, relay the answer (relay.c), repeat.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "docker/classify.h"
#include "docker/host-lookup.h"
#include "proxy/proxy-internal.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define CONN_STACK_SIZE (512 * 1024)

/* ---- small helpers ---- */

static void stat_add(struct proxy *p, uint64_t *field, int64_t delta)
{
        pthread_mutex_lock(&p->lock);
        *field = (uint64_t)((int64_t)*field + delta);
        pthread_mutex_unlock(&p->lock);
}

/* Percent-encode a path segment. */
static int path_escape(const char *s, char *out, size_t size)
{
        size_t o = 0;
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9') || strchr("-._~", ch);
                if (o + 4 > size)
                        return -ENAMETOOLONG;
                if (plain)
                        out[o++] = (char)ch;
                else
                        o += (size_t)snprintf(out + o, size - o, "%%%02X", ch);
        }
        out[o] = 0;
        return 0;
}

static json_t *labels_of(const json_t *obj)
{
        json_t *l = json_object_get(obj, "Labels");
        if (!json_is_object(l))
                l = json_object_get(json_object_get(obj, "Config"), "Labels");
        return json_is_object(l) ? l : NULL;
}

static const char *label(const json_t *obj, const char *key)
{
        return json_string_value(json_object_get(labels_of(obj), key));
}

static void iso_now(char *buf, size_t n)
{
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- what a request names, as Docker knows it ---- */

struct container_info {
        bool exists;
        char id[80];
        char name[256];
        char owner[256];
        bool is_protected;
        char user[128]; /* Config.User */
        bool has_binds;
        bool gpu; /* asks Docker for GPUs (any way the classifier knows) */
        /* privileged, host namespaces, added capabilities or devices: made by
         * an admin, and a way out for whoever gets inside */
        bool dangerous;
};

/* 0 (info->exists says whether Docker has it), -errno when Docker could not
 * be asked. */
static int lookup_container(struct conn *c, const char *ref, struct container_info *info)
{
        char esc[POLICY_REF_MAX * 3 + 1], path[POLICY_REF_MAX * 3 + 64];
        struct container_class cc;
        unsigned status = 0;
        json_t *j = NULL, *mounts;
        const char *prot;
        int r;

        memset(info, 0, sizeof(*info));
        if (path_escape(ref, esc, sizeof(esc)) < 0)
                return 0;
        (void)snprintf(path, sizeof(path), "/containers/%s/json", esc);
        r = upstream_call(c->p->upstream, "GET", path, NULL, &status, &j);
        if (r < 0)
                return r;
        if (status == 404) {
                json_decref(j);
                return 0;
        }
        if (status != 200 || !j || container_classify(j, &classify_host_lookup, &cc) < 0) {
                json_decref(j);
                return -EBADMSG;
        }
        info->exists = true;
        (void)strscpy(info->id, sizeof(info->id), cc.id);
        (void)strscpy(info->name, sizeof(info->name), cc.name[0] ? cc.name : ref);
        /* access follows the ds01.user label only: the other rules of the
         * classifier are guesses, good for accounting, not for access */
        if (cc.owner_source == OWNER_LABEL)
                (void)strscpy(info->owner, sizeof(info->owner), cc.owner);
        prot = label(j, c->u->protected_label[0] ? c->u->protected_label : "ds01.protected");
        info->is_protected = cc.is_protected || (prot && streq(prot, "true"));
        info->gpu = cc.gpu_kind != GPU_REQ_NONE;
        (void)strscpy(info->user, sizeof(info->user),
                      json_string_value(json_object_get(json_object_get(j, "Config"), "User"))
                          ?: "");
        {
                json_t *hc = json_object_get(j, "HostConfig");
                /* (not CgroupnsMode: "host" is Docker's default on cgroup v1) */
                static const char *const modes[] = {"PidMode", "IpcMode", "NetworkMode", "UTSMode",
                                                    "UsernsMode"};
                info->dangerous = json_is_true(json_object_get(hc, "Privileged")) ||
                                  json_array_size(json_object_get(hc, "CapAdd")) > 0 ||
                                  json_array_size(json_object_get(hc, "Devices")) > 0;
                for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                        const char *m = json_string_value(json_object_get(hc, modes[i]));
                        if (m && streq(m, "host"))
                                info->dangerous = true;
                }
        }
        mounts = json_object_get(j, "Mounts");
        for (size_t i = 0; i < json_array_size(mounts); i++) {
                const char *t =
                    json_string_value(json_object_get(json_array_get(mounts, i), "Type"));
                if (t && streq(t, "bind"))
                        info->has_binds = true;
        }
        container_class_release(&cc);
        json_decref(j);
        return 0;
}

/* The container an exec belongs to. 0 with id ("" when no such exec). */
static int lookup_exec(struct conn *c, const char *exec_id, char *id, size_t size)
{
        char esc[POLICY_REF_MAX * 3 + 1], path[POLICY_REF_MAX * 3 + 64];
        unsigned status = 0;
        json_t *j = NULL;
        int r;

        id[0] = 0;
        if (path_escape(exec_id, esc, sizeof(esc)) < 0)
                return 0;
        (void)snprintf(path, sizeof(path), "/exec/%s/json", esc);
        r = upstream_call(c->p->upstream, "GET", path, NULL, &status, &j);
        if (r < 0)
                return r;
        if (status == 200)
                (void)strscpy(id, size, json_string_value(json_object_get(j, "ContainerID")) ?: "");
        json_decref(j);
        return status == 200 || status == 404 ? 0 : -EBADMSG;
}

/* Owner label of a volume or network (kind "volumes" or "networks"). 0 with
 * *exists; owner "" when it has none. */
static int lookup_labeled(struct conn *c, const char *kind, const char *ref, bool *exists,
                          char *owner, size_t size, char *name, size_t name_size)
{
        char esc[POLICY_REF_MAX * 3 + 1], path[POLICY_REF_MAX * 3 + 64];
        unsigned status = 0;
        json_t *j = NULL;
        int r;

        *exists = false;
        owner[0] = 0;
        (void)strscpy(name, name_size, ref);
        if (path_escape(ref, esc, sizeof(esc)) < 0)
                return 0;
        (void)snprintf(path, sizeof(path), "/%s/%s", kind, esc);
        r = upstream_call(c->p->upstream, "GET", path, NULL, &status, &j);
        if (r < 0)
                return r;
        if (status == 200) {
                *exists = true;
                (void)strscpy(owner, size, label(j, "ds01.user") ?: "");
                (void)strscpy(name, name_size,
                              json_string_value(json_object_get(j, "Name")) ?: ref);
        }
        json_decref(j);
        return status == 200 || status == 404 ? 0 : -EBADMSG;
}

/* ---- decisions ---- */

struct req {
        struct conn *c;
        const struct http_request_head *h;
        struct route route;
        const char *query; /* after '?', or "" (points into qbuf) */
        bool body_pending; /* the request's body is still unread */
        /* the head, copied out of the connection's buffer (reading a body
         * moves what is in it), and h pointing into this copy */
        struct http_request_head hh;
        /* from here on filled before use, not zeroed */
        char path[HTTP_HEAD_MAX];
        char qbuf[HTTP_HEAD_MAX];
        char target[HTTP_HEAD_MAX + 1]; /* path?query as the client sent it */
        char headcopy[HTTP_HEAD_MAX];
};

static void deny_event(struct req *q, const char *reason, bool monitoring)
{
        struct proxy *p = q->c->p;
        json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "method", q->h->method, "path", q->path,
                              "reason", reason, "mode", monitoring ? "monitoring" : "full");

        stat_add(p, &p->stats.denied, 1);
        if (p->hooks.event)
                p->hooks.event(p->hooks.ud, "auth.denied", q->c->user, d, true);
        else
                json_decref(d);
}

/* A request the policy refuses. Returns true when it must stop here (the
 * answer was sent), false in monitoring mode (logged; carry on). */
static bool deny(struct req *q, unsigned status, const char *reason)
{
        bool monitoring = q->c->u->policy.mode == ENFORCE_MONITORING;

        deny_event(q, reason, monitoring);
        if (monitoring) {
                log_notice("proxy: %s %s %s would be denied: %s", q->c->user, q->h->method, q->path,
                           reason);
                return false;
        }
        log_info("proxy: denied %s %s %s: %s", q->c->user, q->h->method, q->path, reason);
        (void)conn_reply(q->c, status, reason, q->body_pending);
        return true;
}

/* A request that is refused in every mode (malformed, or Docker unreachable). */
static enum relay_result refuse(struct req *q, unsigned status, const char *reason)
{
        deny_event(q, reason, false);
        (void)conn_reply(q->c, status, reason, true);
        return RELAY_CLOSE;
}

static const struct policy_caller *caller_of(struct conn *c, struct policy_caller *pc)
{
        *pc = (struct policy_caller){
            .user = c->user, .uid = c->uid, .gid = c->gid, .home = c->home, .admin = c->u->admin};
        return pc;
}

/* Check access to one container by ref. Returns POLICY_ALLOW/.. and fills
 * info; on deny the reason is in d. -errno when Docker could not be asked. */
static int container_access(struct req *q, const char *ref, struct container_info *info,
                            struct policy_decision *d)
{
        struct policy_caller pc;
        struct route r = {.kind = ROUTE_CONTAINER};
        struct policy_target t;
        int k = lookup_container(q->c, ref, info);

        if (k < 0)
                return k;
        (void)strscpy(r.ref, sizeof(r.ref), ref);
        t = (struct policy_target){.exists = info->exists,
                                   .owner = info->owner,
                                   .is_protected = info->is_protected,
                                   .name = info->exists ? info->name : ref};
        return (int)policy_access(&q->c->u->policy, caller_of(q->c, &pc), &r, &t, d);
}

/* Send the request on with a new target (and, when body is not NULL, that
 * body instead of the client's), dropping the headers Docker must not see
 * twice. */
static int forward_rewritten(struct req *q, const char *target, const struct strbuf *body)
{
        const struct http_request_head *h = q->h;
        struct strbuf head;
        int r;

        strbuf_init(&head, HTTP_HEAD_MAX * 2);
        r = strbuf_printf(&head, "%s %s HTTP/%u.%u\r\n", h->method, target, h->http_major,
                          h->http_minor);
        for (size_t i = 0; r >= 0 && i < h->n_headers; i++) {
                const struct http_header *hd = &h->headers[i];
                bool drop = (hd->name_len == 6 && strncasecmp(hd->name, "Expect", 6) == 0);
                if (body &&
                    ((hd->name_len == 14 && strncasecmp(hd->name, "Content-Length", 14) == 0) ||
                     (hd->name_len == 17 && strncasecmp(hd->name, "Transfer-Encoding", 17) == 0)))
                        drop = true;
                if (!drop)
                        r = strbuf_append(&head, q->headcopy + hd->line_off, hd->line_len);
        }
        if (r >= 0 && body)
                r = strbuf_printf(&head, "Content-Length: %zu\r\n", body->len);
        if (r >= 0)
                r = strbuf_puts(&head, "\r\n");
        if (r < 0) {
                strbuf_release(&head);
                return r;
        }
        if (body) {
                /* the client's body was read already (consumed from c->buf) */
                r = conn_upstream(q->c);
                if (r >= 0)
                        r = send_all(q->c->ufd, head.buf, head.len);
                if (r >= 0 && body->len > 0)
                        r = send_all(q->c->ufd, body->buf, body->len);
        } else {
                r = conn_forward_request(q->c, h, head.buf, head.len);
        }
        strbuf_release(&head);
        return r;
}

/* The target with path[off..off+len) replaced by repl, query kept. */
static int target_with(struct req *q, size_t off, size_t len, const char *repl, const char *query,
                       char *out, size_t size)
{
        int n = snprintf(out, size, "%.*s%s%s%s%s", (int)off, q->path, repl, q->path + off + len,
                         query && *query ? "?" : "", query ? query : "");
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static enum relay_result relay(struct req *q)
{
        return conn_relay_response(q->c, streq(q->h->method, "HEAD"), q->route.may_hijack, NULL,
                                   NULL, NULL);
}

/* Forward as is and relay. */
static enum relay_result pass(struct req *q)
{
        int r;
        if (q->h->expect_continue) {
                char t[HTTP_HEAD_MAX + 8];
                /* answer 100 ourselves and drop Expect, so nobody waits */
                if (send_all(q->c->cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
                        return RELAY_CLOSE;
                (void)snprintf(t, sizeof(t), "%.*s", (int)q->h->target_len, q->h->target);
                r = forward_rewritten(q, t, NULL);
        } else {
                r = conn_forward_request(q->c, q->h, q->headcopy, q->h->head_len);
        }
        if (r < 0)
                return r == -ECONNREFUSED || r == -ENOENT
                           ? refuse(q, 503,
                                    "ds01: Docker is not reachable right now; try again "
                                    "in a minute or tell an admin")
                           : RELAY_CLOSE;
        return relay(q);
}

static enum relay_result forward_target(struct req *q, const char *target,
                                        const struct strbuf *body)
{
        if (q->h->expect_continue && !body &&
            send_all(q->c->cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
                return RELAY_CLOSE;
        if (forward_rewritten(q, target, body) < 0)
                return refuse(q, 503,
                              "ds01: Docker is not reachable right now; try again in a "
                              "minute or tell an admin");
        return relay(q);
}

/* Read the whole body of a request ds01 must look into, into raw (always
 * initialised, so callers may release it). On failure the answer was sent and
 * raw is empty; returns false. */
static bool read_json_body(struct req *q, size_t max, struct strbuf *raw, json_t **ret,
                           enum relay_result *res)
{
        int r;

        *ret = NULL;
        strbuf_init(raw, max);
        /* a Content-Length past max is refused before anything is read (or
         * 100 Continue invites the client to send it) */
        if (q->h->content_length <= (int64_t)max && q->h->expect_continue &&
            send_all(q->c->cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) {
                *res = RELAY_CLOSE;
                return false;
        }
        r = conn_read_body(q->c, q->h, max, raw);
        if (r == -E2BIG) {
                char msg[160];
                (void)snprintf(msg, sizeof(msg),
                               "ds01: the request body is larger than %zu KiB; send a smaller one",
                               max / 1024);
                *res = refuse(q, 413, msg);
        } else if (r == -ETIMEDOUT) {
                struct proxy_limits lim;
                char msg[160];
                proxy_limits_now(q->c->p, &lim);
                (void)snprintf(msg, sizeof(msg),
                               "ds01: the request body did not arrive within %lld s; send it at "
                               "once",
                               (long long)(lim.body_ms / 1000));
                stat_add(q->c->p, &q->c->p->stats.body_timeouts, 1);
                log_notice("proxy: %s %s %s: body not whole within %lld s", q->c->user,
                           q->h->method, q->path, (long long)(lim.body_ms / 1000));
                *res = refuse(q, 408, msg);
        } else if (r < 0) {
                *res = refuse(q, 400, "ds01: malformed request body");
        } else {
                q->body_pending = false;
                *ret = raw->len == 0 ? json_object() : json_loadb(raw->buf, raw->len, 0, NULL);
                if (*ret)
                        return true;
                *res = refuse(q, 400, "ds01: the request body is not valid JSON");
        }
        strbuf_release(raw);
        return false;
}

static bool json_to_buf(json_t *j, struct strbuf *out)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        bool ok;
        if (!s)
                return false;
        strbuf_release(out);
        strbuf_init(out, CREATE_BODY_MAX * 2);
        ok = strbuf_puts(out, s) >= 0;
        free(s);
        return ok;
}

/* ---- the endpoints that need more than a route ---- */

static enum relay_result unreachable(struct req *q)
{
        return refuse(q, 503,
                      "ds01: cannot ask Docker about this request right now; try again "
                      "in a minute or tell an admin");
}

/* Docker's own answer for a missing object ("No such container: x"), so
 * clients that look for a 404 behave as with Docker. */
static enum relay_result not_found(struct req *q, const char *what, const char *ref)
{
        char msg[POLICY_REF_MAX + 64];

        (void)snprintf(msg, sizeof(msg), "No such %s: %s", what, ref);
        (void)conn_reply(q->c, 404, msg, q->body_pending);
        return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
}

/* ROUTE_CONTAINER, EXEC_CREATE, UPDATE, EXEC: the owner decides. */
static enum relay_result do_container(struct req *q)
{
        struct container_info info;
        struct policy_decision d = {0};
        char cref[POLICY_REF_MAX], target[HTTP_HEAD_MAX];
        int a;

        if (q->route.kind == ROUTE_EXEC) {
                if (lookup_exec(q->c, q->route.ref, cref, sizeof(cref)) < 0)
                        return unreachable(q);
                if (!cref[0])
                        return not_found(q, "exec instance", q->route.ref);
        } else {
                (void)strscpy(cref, sizeof(cref), q->route.ref);
        }
        a = container_access(q, cref, &info, &d);
        if (a < 0)
                return unreachable(q);
        if (a == POLICY_NOT_FOUND)
                return not_found(q, "container", cref);
        if (a == POLICY_DENY && deny(q, 403, d.reason))
                return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
        if (a != POLICY_DENY && !q->c->u->admin) {
                static const char *const safe_ops[] = {
                    "json",    "logs", "stats",  "top",   "changes", "wait",   "start", "stop",
                    "restart", "kill", "delete", "pause", "unpause", "rename", "resize"};
                bool safe = false;
                for (size_t i = 0; i < ELEMENTSOF(safe_ops); i++)
                        if (streq(q->route.op, safe_ops[i]) && q->route.kind == ROUTE_CONTAINER)
                                safe = true;
                if (info.dangerous && !safe &&
                    deny(q, 403,
                         "ds01: this container runs with host privileges (made by an admin); "
                         "exec, attach and copy into it are for admins only"))
                        return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
                if (info.gpu && q->route.kind == ROUTE_CONTAINER &&
                    (streq(q->route.op, "start") || streq(q->route.op, "restart")) &&
                    q->c->p->hooks.gpu_holds &&
                    !q->c->p->hooks.gpu_holds(q->c->p->hooks.ud, info.id, info.name) &&
                    deny(q, 409,
                         "ds01: this container's GPU was given back when it stopped (the hold "
                         "after a stop has ended); remove it and create a new one to get a GPU "
                         "again (docker rm NAME, then docker run --gpus 1 ...)"))
                        return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
                if (info.has_binds && streq(q->route.op, "archive") &&
                    deny(q, 403,
                         "ds01: docker cp is not available for containers that mount host "
                         "folders (Docker would read and write them as root); use the mounted "
                         "folder on the host, or docker exec NAME cat FILE"))
                        return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
        }
        if (a == POLICY_ALLOW_UNOWNED && q->c->p->hooks.event)
                q->c->p->hooks.event(q->c->p->hooks.ud, "access.unowned_container", q->c->user,
                                     json_pack("{s:s, s:s, s:s}", "container", info.name, "method",
                                               q->h->method, "path", q->path),
                                     false);

        /* name the container by its id from here on: what was checked is
         * what Docker acts on */
        if (q->route.kind == ROUTE_EXEC)
                (void)strscpy(target, sizeof(target), q->target);
        else if (target_with(q, q->route.ref_off, q->route.ref_len, info.id, q->query, target,
                             sizeof(target)) < 0)
                return refuse(q, 400, "ds01: the request target is too long");

        if (q->route.kind == ROUTE_EXEC_CREATE || q->route.kind == ROUTE_CONTAINER_UPDATE) {
                struct strbuf raw;
                json_t *body;
                enum relay_result res = RELAY_CLOSE;
                char reason[POLICY_REASON_MAX];
                int r;

                if (!read_json_body(q, CREATE_BODY_MAX, &raw, &body, &res))
                        return res;
                if (q->route.kind == ROUTE_EXEC_CREATE)
                        r = exec_inspect(body, info.user, info.has_binds, reason, sizeof(reason));
                else
                        r = update_inspect(body, &q->c->u->limits, reason, sizeof(reason));
                json_decref(body);
                if (r == -EINVAL) {
                        strbuf_release(&raw);
                        return refuse(q, 400, reason);
                }
                if (r < 0 && deny(q, 403, reason)) {
                        strbuf_release(&raw);
                        return RELAY_KEEP;
                }
                res = forward_target(q, target, &raw);
                strbuf_release(&raw);
                return res;
        }
        return forward_target(q, target, NULL);
}

static enum relay_result do_commit(struct req *q)
{
        char ref[POLICY_REF_MAX];
        struct container_info info;
        struct policy_decision d = {0};
        int a;

        if (!policy_query_get(q->query, "container", ref, sizeof(ref)) || !ref[0])
                return pass(q); /* Docker answers the missing parameter */
        a = container_access(q, ref, &info, &d);
        if (a < 0)
                return unreachable(q);
        if (a == POLICY_NOT_FOUND)
                return not_found(q, "container", ref);
        if (a == POLICY_DENY && deny(q, 403, d.reason))
                return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
        return pass(q);
}

static enum relay_result do_filtered(struct req *q)
{
        char *nq = NULL, target[HTTP_HEAD_MAX];
        int r = policy_filter_query(q->query, q->c->user, &nq);

        if (r == -EINVAL)
                return refuse(q, 400,
                              "ds01: malformed query (the filters parameter must be "
                              "valid JSON; no ';', '%00' or bad escapes)");
        if (r < 0)
                return RELAY_CLOSE;
        r = snprintf(target, sizeof(target), "%s?%s", q->path, nq);
        free(nq);
        if (r < 0 || (size_t)r >= sizeof(target))
                return refuse(q, 400, "ds01: the request target is too long");
        return forward_target(q, target, NULL);
}

/* Sessions of BuildKit belong to the uid that opened them. */
static bool session_claim(struct conn *c, const char *id)
{
        struct proxy *p = c->p;
        bool ok = true, found = false;

        if (!id || !*id)
                return true;
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n_sessions; i++)
                if (streq(p->sessions[i].id, id)) {
                        found = true;
                        ok = p->sessions[i].uid == c->uid;
                }
        if (!found) {
                struct session_owner *s = &p->sessions[p->next_session];
                (void)strscpy(s->id, sizeof(s->id), id);
                s->uid = c->uid;
                p->next_session = (p->next_session + 1) % SESSIONS_MAX;
                if (p->n_sessions < SESSIONS_MAX)
                        p->n_sessions++;
        }
        pthread_mutex_unlock(&p->lock);
        return ok;
}

static enum relay_result do_session(struct req *q)
{
        size_t n = 0;
        const char *v = http_header_get(q->h, "X-Docker-Expose-Session-Uuid", &n);
        char id[96];

        (void)snprintf(id, sizeof(id), "%.*s", (int)MIN(n, sizeof(id) - 1), v ? v : "");
        if (!session_claim(q->c, id) &&
            deny(q, 403, "ds01: this build session belongs to another user; start your own build"))
                return RELAY_KEEP;
        return pass(q);
}

static enum relay_result do_build(struct req *q)
{
        struct policy_decision d = {0};
        char sid[96];

        if (!policy_check_build_query(q->query, &d) && deny(q, 403, d.reason))
                return RELAY_CLOSE; /* the build context was not read */
        if (policy_query_get(q->query, "session", sid, sizeof(sid)) && !session_claim(q->c, sid) &&
            deny(q, 403, "ds01: this build session belongs to another user; start your own build"))
                return RELAY_CLOSE;
        return pass(q);
}

static enum relay_result do_image_delete(struct req *q)
{
        struct policy_decision d = {0};
        if (!policy_check_image_delete_query(q->query, &d) && deny(q, 403, d.reason))
                return RELAY_KEEP;
        return pass(q);
}

/* DELETE /volumes/{name}, DELETE /networks/{id}, POST /networks/{id}/(dis)connect */
static enum relay_result do_labeled(struct req *q)
{
        bool vol = q->route.kind == ROUTE_VOLUME, exists = false;
        char owner[256], name[256];
        struct policy_target t;
        struct policy_caller pc;
        struct policy_decision d = {0};
        enum policy_answer a;

        if (lookup_labeled(q->c, vol ? "volumes" : "networks", q->route.ref, &exists, owner,
                           sizeof(owner), name, sizeof(name)) < 0)
                return unreachable(q);
        t = (struct policy_target){.exists = exists, .owner = owner, .name = name};
        a = policy_access(&q->c->u->policy, caller_of(q->c, &pc), &q->route, &t, &d);
        if (a == POLICY_NOT_FOUND)
                return pass(q); /* Docker says it is not there */
        if (a == POLICY_DENY && deny(q, 403, d.reason))
                return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
        if (!vol && (streq(q->route.op, "connect") || streq(q->route.op, "disconnect"))) {
                struct strbuf raw;
                json_t *body;
                enum relay_result res = RELAY_CLOSE;
                const char *cref;
                if (!read_json_body(q, CREATE_BODY_MAX, &raw, &body, &res))
                        return res;
                cref = json_string_value(json_object_get(body, "Container"));
                if (cref) {
                        struct container_info info;
                        int k = container_access(q, cref, &info, &d);
                        if (k < 0) {
                                json_decref(body);
                                strbuf_release(&raw);
                                return unreachable(q);
                        }
                        if ((k == POLICY_DENY || k == POLICY_NOT_FOUND) &&
                            deny(q, 403,
                                 k == POLICY_DENY ? d.reason
                                                  : "ds01: no such container to connect")) {
                                json_decref(body);
                                strbuf_release(&raw);
                                return RELAY_KEEP;
                        }
                }
                json_decref(body);
                res = forward_target(q, q->target, &raw);
                strbuf_release(&raw);
                return res;
        }
        return pass(q);
}

static enum relay_result do_create_object(struct req *q)
{
        struct strbuf raw;
        json_t *body;
        enum relay_result res = RELAY_CLOSE;
        char reason[POLICY_REASON_MAX];
        int r;

        if (!read_json_body(q, CREATE_BODY_MAX, &raw, &body, &res))
                return res;
        if (q->route.kind == ROUTE_VOLUME_CREATE)
                r = volume_create_rewrite(body, q->c->user, reason, sizeof(reason));
        else
                r = network_create_rewrite(body, q->c->user, reason, sizeof(reason));
        if (r == -EINVAL) {
                json_decref(body);
                strbuf_release(&raw);
                return refuse(q, 400, reason);
        }
        if (r < 0 && deny(q, 403, reason)) {
                json_decref(body);
                strbuf_release(&raw);
                return RELAY_KEEP;
        }
        if (!json_to_buf(body, &raw)) {
                json_decref(body);
                strbuf_release(&raw);
                return RELAY_CLOSE;
        }
        json_decref(body);
        res = forward_target(q, q->target, &raw);
        strbuf_release(&raw);
        return res;
}

/* ---- create ---- */

static const char *cgroup_driver(struct conn *c)
{
        struct proxy *p = c->p;
        char drv[16] = "";

        pthread_mutex_lock(&p->lock);
        (void)strscpy(drv, sizeof(drv), p->cgroup_driver);
        pthread_mutex_unlock(&p->lock);
        if (!drv[0]) {
                unsigned status = 0;
                json_t *j = NULL;
                if (upstream_call(p->upstream, "GET", "/info", NULL, &status, &j) >= 0 &&
                    status == 200) {
                        const char *v = json_string_value(json_object_get(j, "CgroupDriver"));
                        if (v && (streq(v, "systemd") || streq(v, "cgroupfs"))) {
                                (void)strscpy(drv, sizeof(drv), v);
                                pthread_mutex_lock(&p->lock);
                                (void)strscpy(p->cgroup_driver, sizeof(p->cgroup_driver), v);
                                pthread_mutex_unlock(&p->lock);
                        }
                }
                json_decref(j);
        }
        if (!drv[0])
                return streq(c->u->cgroup_driver, "cgroupfs") ? "cgroupfs" : "systemd";
        return streq(drv, "cgroupfs") ? "cgroupfs" : "systemd";
}

/* Every bind source must resolve inside the caller's allowed folders. */
static bool check_binds(struct req *q, const struct create_request *cr, char *reason, size_t n)
{
        char roots[PROXY_MAX_ROOTS][REWRITE_PATH_MAX];
        char *rootp[PROXY_MAX_ROOTS];
        size_t nr = 0;

        for (size_t i = 0; i < q->c->u->n_roots && nr < PROXY_MAX_ROOTS; i++) {
                char ex[REWRITE_PATH_MAX];
                if (bind_root_expand(q->c->u->roots[i], q->c->user, q->c->home, ex, sizeof(ex)) < 0)
                        continue;
                if (bind_path_resolve(ex, roots[nr], sizeof(roots[nr])) < 0)
                        continue;
                rootp[nr] = roots[nr];
                nr++;
        }
        for (size_t i = 0; i < cr->n_binds; i++) {
                char res[REWRITE_PATH_MAX];
                if (bind_path_resolve(cr->binds[i], res, sizeof(res)) < 0 ||
                    !bind_path_allowed(res, rootp, nr)) {
                        if (snprintf(reason, n,
                                     "ds01: bind mount %.256s is outside your allowed folders "
                                     "(%.200s); mount a folder under your home",
                                     cr->binds[i], q->c->home[0] ? q->c->home : "none") < 0)
                                reason[0] = 0;
                        return false;
                }
        }
        return true;
}

/* Named volumes: someone else's is refused, a missing one is created now
 * with the caller as its owner (Docker would create it without one). */
static int check_volumes(struct req *q, const struct create_request *cr, char *reason, size_t n)
{
        for (size_t i = 0; i < cr->n_volumes; i++) {
                bool exists = false;
                char owner[256], name[256];
                if (lookup_labeled(q->c, "volumes", cr->volumes[i], &exists, owner, sizeof(owner),
                                   name, sizeof(name)) < 0)
                        return -EIO;
                if (!exists) {
                        unsigned status = 0;
                        json_t *j = NULL, *b = json_pack("{s:s, s:{s:s}}", "Name", cr->volumes[i],
                                                         "Labels", "ds01.user", q->c->user);
                        int r = upstream_call(q->c->p->upstream, "POST", "/volumes/create", b,
                                              &status, &j);
                        json_decref(b);
                        json_decref(j);
                        if (r < 0)
                                return -EIO;
                        continue;
                }
                if (!q->c->u->admin && !streq(owner, q->c->user)) {
                        (void)snprintf(reason, n,
                                       "ds01: volume '%.200s' %s%.200s; use a volume of your own",
                                       name, owner[0] ? "belongs to " : "has no owner", owner);
                        return -EPERM;
                }
        }
        return 0;
}

static int check_refs(struct req *q, const struct create_request *cr, char *reason, size_t n)
{
        for (size_t i = 0; i < cr->n_containers; i++) {
                struct container_info info;
                struct policy_decision d = {0};
                int a = container_access(q, cr->containers[i], &info, &d);
                if (a < 0)
                        return -EIO;
                if (a == POLICY_DENY || a == POLICY_NOT_FOUND) {
                        (void)snprintf(reason, n, "%s",
                                       a == POLICY_DENY ? d.reason
                                                        : "ds01: the request names a container "
                                                          "that does not exist");
                        return -EPERM;
                }
        }
        for (size_t i = 0; i < cr->n_networks; i++) {
                bool exists = false;
                char owner[256], name[256];
                const char *nw = cr->networks[i];
                if (streq(nw, "bridge") || streq(nw, "default") || streq(nw, "none"))
                        continue;
                if (lookup_labeled(q->c, "networks", nw, &exists, owner, sizeof(owner), name,
                                   sizeof(name)) < 0)
                        return -EIO;
                if (exists && (streq(name, "bridge") || streq(name, "none")))
                        continue;
                if (!exists || !streq(owner, q->c->user)) {
                        (void)snprintf(reason, n,
                                       "ds01: network '%.200s' is not yours; use the default "
                                       "bridge or a network you created",
                                       nw);
                        return -EPERM;
                }
        }
        return 0;
}

static void random_key(char *buf, size_t n)
{
        unsigned char b[6];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                memcpy(b, &ts.tv_nsec, MIN(sizeof(b), sizeof(ts.tv_nsec)));
        }
        if (fd >= 0)
                close(fd);
        (void)snprintf(buf, n, "ds01-pending-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                       b[4], b[5]);
}

static int header_int(const struct http_request_head *h, const char *name, int dflt)
{
        size_t n = 0;
        const char *v = http_header_get(h, name, &n);
        char tmp[16];
        long long x;

        if (!v || n == 0 || n >= sizeof(tmp))
                return dflt;
        memcpy(tmp, v, n);
        tmp[n] = 0;
        if (safe_atoi64(tmp, &x) < 0 || x < 0 || x > 24 * 3600)
                return dflt;
        return (int)x;
}

static enum relay_result do_create(struct req *q)
{
        struct conn *c = q->c;
        struct proxy *p = c->p;
        struct strbuf raw, capture, rbody;
        struct create_request cr = {0};
        struct proxy_gpu_grant grant = {0};
        struct create_context ctx = {0};
        char reason[POLICY_REASON_MAX + 256], name[256] = "", key[256], created[40];
        enum relay_result res = RELAY_CLOSE;
        bool have_name, allocated = false;
        json_t *body = NULL;
        unsigned status = 0;
        int r;

        strbuf_init(&capture, CAPTURE_MAX);
        strbuf_init(&rbody, CAPTURE_MAX);
        if (!read_json_body(q, CREATE_BODY_MAX, &raw, &body, &res))
                goto out;
        have_name = policy_query_get(q->query, "name", name, sizeof(name)) && name[0];
        r = create_inspect(body, have_name ? name : NULL, &cr, reason, sizeof(reason));
        if (r == -EINVAL) {
                res = refuse(q, 400, reason);
                goto out;
        }
        if (r < 0 && deny(q, 403, reason)) {
                res = RELAY_KEEP;
                goto out;
        }
        if (!check_binds(q, &cr, reason, sizeof(reason)) && deny(q, 403, reason)) {
                res = RELAY_KEEP;
                goto out;
        }
        r = check_refs(q, &cr, reason, sizeof(reason));
        if (r == -EIO) {
                res = unreachable(q);
                goto out;
        }
        if (r < 0 && deny(q, 403, reason)) {
                res = RELAY_KEEP;
                goto out;
        }
        r = check_volumes(q, &cr, reason, sizeof(reason));
        if (r == -EIO) {
                res = unreachable(q);
                goto out;
        }
        if (r < 0 && deny(q, 403, reason)) {
                res = RELAY_KEEP;
                goto out;
        }

        /* the GPUs, last: nothing is allocated for a request refused above */
        if (have_name)
                (void)strscpy(key, sizeof(key), name);
        else
                random_key(key, sizeof(key));
        if (cr.gpu != CREATE_GPU_NONE && p->hooks.gpu_allocate) {
                struct proxy_gpu_ask ask = {
                    .user = c->user,
                    .key = key,
                    .count = cr.gpu == CREATE_GPU_ALL ? -1 : MAX(cr.gpu_count, 1),
                    .full = header_int(q->h, "X-Ds01-Full", 0) > 0,
                    .interface = cr.interface,
                    .devices = cr.gpu == CREATE_GPU_DEVICES ? cr.gpu_devices : NULL,
                    .n_devices = cr.gpu == CREATE_GPU_DEVICES ? cr.n_gpu_devices : 0,
                    .wait_s = MIN(header_int(q->h, "X-Ds01-Wait", c->u->wait_s), c->u->wait_s),
                    .client_fd = c->cfd,
                };
                p->hooks.gpu_allocate(p->hooks.ud, &ask, &grant);
                if (grant.status != 200) {
                        if (grant.status == 403) {
                                deny_event(q, grant.message, false);
                                (void)conn_reply(c, 403, grant.message, false);
                        } else {
                                (void)conn_reply(c, grant.status ? grant.status : 500,
                                                 grant.message[0] ? grant.message
                                                                  : "ds01: GPU allocation failed",
                                                 false);
                        }
                        res = RELAY_KEEP;
                        goto out;
                }
                allocated = true;
        }

        iso_now(created, sizeof(created));
        ctx = (struct create_context){
            .user = c->user,
            .uid = c->uid,
            .gid = c->gid,
            .cgroup_parent =
                streq(cgroup_driver(c), "cgroupfs") ? c->u->cgroupfs_path : c->u->slice,
            .force_user = c->u->force_user,
            .created_at = created,
            .gpu_slots = allocated ? grant.slots : NULL,
            .gpu_uuids = allocated ? grant.uuids : NULL,
            .n_uuids = allocated ? grant.n : 0,
            .gpu_allocated_at = allocated ? grant.allocated_at : NULL,
            .attach_nvidia_runtime = c->u->attach_nvidia_runtime,
        };
        /* --volumes-from a container with host binds brings the binds along:
         * the user is forced the same way */
        for (size_t i = 0; i < cr.n_volumes_from && !ctx.inherits_binds; i++) {
                struct container_info vi;
                if (lookup_container(c, cr.volumes_from[i], &vi) < 0) {
                        res = unreachable(q);
                        goto out;
                }
                ctx.inherits_binds = vi.exists && vi.has_binds;
        }
        if (ctx.cgroup_parent && !ctx.cgroup_parent[0])
                ctx.cgroup_parent = NULL;
        if (create_rewrite(body, &cr, &c->u->limits, &ctx) < 0 || !json_to_buf(body, &raw)) {
                res = refuse(q, 500, "ds01: out of memory rewriting the request");
                goto out;
        }
        if (forward_rewritten(q, q->target, &raw) < 0) {
                res = refuse(q, 503,
                             "ds01: Docker is not reachable right now; try again in a "
                             "minute or tell an admin");
                goto out;
        }
        res = conn_relay_response(c, false, false, &capture, &status, &rbody);
        if (capture.len == 0) {
                res = RELAY_CLOSE;
                goto out;
        }
        if (allocated && status == 201) {
                json_t *j = json_loadb(rbody.buf ? rbody.buf : "", rbody.len, 0, NULL);
                const char *id = json_string_value(json_object_get(j, "Id"));
                struct container_info info = {0};
                if (id && lookup_container(c, id, &info) >= 0 && info.exists)
                        p->hooks.gpu_bind(p->hooks.ud, key, id, info.name);
                else if (id)
                        p->hooks.gpu_bind(p->hooks.ud, key, id, have_name ? name : key);
                json_decref(j);
                allocated = false;
        }
        if (send_all(c->cfd, capture.buf, capture.len) < 0)
                res = RELAY_CLOSE;
out:
        if (allocated && p->hooks.gpu_release)
                p->hooks.gpu_release(p->hooks.ud, key,
                                     status ? "Docker refused the create" : "the create failed");
        create_request_release(&cr);
        json_decref(body);
        strbuf_release(&raw);
        strbuf_release(&capture);
        strbuf_release(&rbody);
        return res;
}

/* ---- one request ---- */

/* A "/v1.N" prefix with N < 24 (percent-decoded, as Docker's router reads
 * it): before 1.24, start took a HostConfig that replaced the container's. */
static bool old_api(const char *path)
{
        char seg[32];
        size_t o = 0;
        unsigned major = 0, minor = 0;
        int n = 0;

        if (path[0] != '/')
                return false;
        for (const char *p = path + 1; *p && *p != '/' && o + 1 < sizeof(seg); p++) {
                if (*p == '%' && p[1] && p[2]) {
                        char hex[3] = {p[1], p[2], 0};
                        seg[o++] = (char)strtol(hex, NULL, 16);
                        p += 2;
                } else {
                        seg[o++] = *p;
                }
        }
        seg[o] = 0;
        if (seg[0] != 'v' && seg[0] != 'V')
                return false;
        if (sscanf(seg + 1, "%u.%u%n", &major, &minor, &n) != 2 || (size_t)n != strlen(seg + 1))
                return false;
        return major < 1 || (major == 1 && minor < 24);
}

static enum relay_result handle(struct conn *c, const struct http_request_head *h)
{
        struct proxy *p = c->p;
        struct req *q;
        enum relay_result res;
        const char *qm;
        size_t plen;
        int r;

        stat_add(p, &p->stats.requests, 1);
        if (!c->req) {
                c->req = malloc(sizeof(struct req)); /* on the first request, not per connection */
                if (!c->req)
                        return RELAY_CLOSE;
        }
        q = c->req;
        memset(q, 0, offsetof(struct req, path));
        q->c = c;
        memcpy(q->headcopy, c->buf, h->head_len);
        q->hh = *h;
        q->hh.target = q->headcopy + (h->target - c->buf);
        for (size_t i = 0; i < h->n_headers; i++) {
                q->hh.headers[i].name = q->headcopy + (h->headers[i].name - c->buf);
                q->hh.headers[i].value = q->headcopy + (h->headers[i].value - c->buf);
        }
        q->h = h = &q->hh;
        q->body_pending = h->chunked || h->content_length > 0;
        qm = memchr(h->target, '?', h->target_len);
        plen = qm ? (size_t)(qm - h->target) : h->target_len;
        if (plen >= sizeof(q->path)) {
                (void)conn_reply(c, 414, "ds01: the request target is too long", true);
                return RELAY_CLOSE;
        }
        memcpy(q->path, h->target, plen);
        q->path[plen] = 0;
        memcpy(q->target, h->target, h->target_len);
        q->target[h->target_len] = 0;
        {
                size_t ql = qm ? h->target_len - plen - 1 : 0;
                memcpy(q->qbuf, qm ? qm + 1 : "", ql);
                q->qbuf[ql] = 0;
                q->query = q->qbuf;
        }

        {
                uint64_t gen = p->hooks.generation ? p->hooks.generation(p->hooks.ud) : 0;
                r = 0;
                if (!c->u_valid || gen != c->u_gen || !p->hooks.generation) {
                        memset(c->u, 0, sizeof(*c->u));
                        r = p->hooks.user_info
                                ? p->hooks.user_info(p->hooks.ud, c->user, c->uid, c->gid, c->u)
                                : -ENOSYS;
                        c->u_valid = r >= 0;
                        c->u_gen = gen;
                }
        }
        if (r < 0) {
                res =
                    refuse(q, 503, "ds01: ds01d cannot read your limits right now; tell an admin");
                return res;
        }
        (void)policy_route(h->method, q->path, &q->route);

        if (c->no_account && c->uid != 0) {
                char msg[160];
                (void)snprintf(msg, sizeof(msg),
                               "ds01: uid %u has no user account on this machine; ask an admin",
                               (unsigned)c->uid);
                return refuse(q, 403, msg);
        }
        if (!c->u->admin && old_api(q->path)) {
                if (deny(q, 403,
                         "ds01: Docker API versions before 1.24 are not accepted; use a newer "
                         "Docker client"))
                        return q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
        }
        if (c->in_container) {
                res = refuse(q, 403,
                             "ds01: connections from inside containers are not accepted; "
                             "run docker on the host");
                return res;
        }
        if (c->u->admin || c->u->policy.mode == ENFORCE_DISABLED) {
                if (c->u->admin)
                        log_info("proxy: admin %s %s %s", c->user, h->method, q->path);
                res = pass(q);
                return res;
        }

        /* Go reads form parameters from a form-encoded body before the
         * query (r.FormValue), so such a body could carry what the query
         * check refused; no Docker client sends one (libcurl labels an
         * empty POST so: without a body there is nothing to read) */
        {
                size_t n = 0;
                const char *ct = http_header_get(h, "Content-Type", &n);
                if (ct && q->body_pending &&
                    ((n >= 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) ||
                     (n >= 19 && strncasecmp(ct, "multipart/form-data", 19) == 0)) &&
                    deny(q, 403,
                         "ds01: form-encoded request bodies are not accepted; send JSON or the "
                         "query string as Docker clients do")) {
                        return RELAY_CLOSE;
                }
        }

        switch (q->route.kind) {
        case ROUTE_OPEN:
                res = pass(q);
                break;
        case ROUTE_CONTAINER_LIST:
        case ROUTE_EVENTS:
                res = do_filtered(q);
                break;
        case ROUTE_CONTAINER_CREATE:
                res = do_create(q);
                break;
        case ROUTE_CONTAINER:
        case ROUTE_EXEC_CREATE:
        case ROUTE_CONTAINER_UPDATE:
        case ROUTE_EXEC:
                res = do_container(q);
                break;
        case ROUTE_COMMIT:
                res = do_commit(q);
                break;
        case ROUTE_BUILD:
                res = do_build(q);
                break;
        case ROUTE_SESSION:
                res = do_session(q);
                break;
        case ROUTE_IMAGE_DELETE:
                res = do_image_delete(q);
                break;
        case ROUTE_VOLUME_CREATE:
        case ROUTE_NETWORK_CREATE:
                res = do_create_object(q);
                break;
        case ROUTE_VOLUME:
        case ROUTE_NETWORK:
                res = do_labeled(q);
                break;
        case ROUTE_UNKNOWN:
        case ROUTE_DENIED:
        default: {
                char msg[POLICY_REASON_MAX];
                if (q->route.why)
                        (void)snprintf(msg, sizeof(msg), "%s", q->route.why);
                else
                        (void)snprintf(msg, sizeof(msg),
                                       "ds01: %s %.200s is not allowed through ds01; ask an "
                                       "admin if you need it",
                                       h->method, q->path);
                if (q->route.kind == ROUTE_DENIED && q->route.read_only &&
                    (startswith(q->path, "/plugins/") || strstr(q->path, "/plugins/")) &&
                    endswith(q->path, "/json") && q->c->u->policy.mode == ENFORCE_FULL) {
                        /* `docker inspect NAME` asks for a plugin last: answer as if
                         * there were none, so it says "No such object" */
                        deny_event(q, msg, false);
                        (void)conn_reply(c, 404, "No such plugin", q->body_pending);
                        res = q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
                        break;
                }
                if (deny(q, 403, msg)) {
                        res = q->body_pending ? RELAY_CLOSE : RELAY_KEEP;
                        break;
                }
                res = pass(q);
                break;
        }
        }
        return res;
}

/* ---- connections ---- */

static bool peer_in_container(struct proxy *p, pid_t pid)
{
        char path[64];
        struct stat st;

        if (pid <= 0 || p->pidns == 0)
                return true; /* cannot tell: fail closed */
        (void)snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
        if (stat(path, &st) < 0)
                return true; /* cannot tell: fail closed */
        return st.st_ino != p->pidns;
}

/* Who the caller is: c->uid, gid and pid came from SO_PEERCRED at accept
 * (c->peer_known false when that failed: then every request is refused). */
static void identify(struct conn *c)
{
        struct passwd pw, *pwp = NULL;
        char buf[16384];

        if (!c->peer_known) {
                c->in_container = true; /* unknown caller: refused */
                return;
        }
        if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp) {
                (void)strscpy(c->user, sizeof(c->user), pw.pw_name);
                (void)strscpy(c->home, sizeof(c->home), pw.pw_dir ? pw.pw_dir : "");
                c->gid = pw.pw_gid;
        } else {
                (void)snprintf(c->user, sizeof(c->user), "%u", (unsigned)c->uid);
                c->no_account = true;
        }
        c->in_container = peer_in_container(c->p, c->pid);
}

static void conn_free(struct conn *c)
{
        struct proxy *p = c->p;

        pthread_mutex_lock(&p->lock);
        if (c->prev)
                c->prev->next = c->next;
        else
                p->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        p->stats.open_connections--;
        if (c->uid != 0)
                p->open_nonroot--;
        pthread_cond_broadcast(&p->idle);
        pthread_mutex_unlock(&p->lock);
        if (c->cfd >= 0)
                close(c->cfd);
        if (c->ufd >= 0)
                close(c->ufd);
        free(c->buf);
        free(c->req);
        free(c->rbuf);
        free(c->u);
        free(c);
}

static void *conn_main(void *arg)
{
        struct conn *c = arg;
        struct http_request_head *h = malloc(sizeof(*h));
        struct proxy *p = c->p;

        identify(c);
        c->buf = malloc(CONN_BUF_SIZE);
        c->u = malloc(sizeof(*c->u));
        while (h && c->buf && c->u) {
                char err[128] = "";
                int r = conn_read_head(c, h, err, sizeof(err));
                if (r == 1)
                        break;
                if (r == 2) {
                        stat_add(p, &p->stats.idle_closes, 1);
                        break;
                }
                if (r == -ETIMEDOUT) {
                        stat_add(p, &p->stats.head_timeouts, 1);
                        log_notice("proxy: %s: %s; closed", c->user, err);
                        break;
                }
                if (r < 0) {
                        if (r == -EINVAL || r == -E2BIG) {
                                stat_add(p, &p->stats.errors, 1);
                                if (p->hooks.event)
                                        p->hooks.event(p->hooks.ud, "auth.denied", c->user,
                                                       json_pack("{s:s, s:s}", "reason",
                                                                 r == -E2BIG
                                                                     ? "request head over 16 KiB"
                                                                     : err,
                                                                 "mode", "full"),
                                                       true);
                        }
                        break;
                }
                c->request_done = false;
                if (handle(c, h) != RELAY_KEEP)
                        break;
                conn_skip_request(c, h);
                if (!c->request_done || !h->keep_alive)
                        break;
        }
        free(h);
        conn_free(c);
        return NULL;
}

/* ---- admission ---- */

enum proxy_admit proxy_admit(const struct proxy_limits *l, uid_t uid, unsigned user_open,
                             unsigned total_open, unsigned fd_cap)
{
        unsigned total_cap = l->max_total;

        if (uid == 0)
                return PROXY_ADMIT_OK; /* root reaches Docker's own socket anyway */
        if (fd_cap > 0 && (total_cap == 0 || fd_cap < total_cap))
                total_cap = fd_cap;
        if (l->max_per_user > 0 && user_open >= l->max_per_user)
                return PROXY_ADMIT_USER_FULL;
        if (total_cap > 0 && total_open >= total_cap)
                return PROXY_ADMIT_ALL_FULL;
        return PROXY_ADMIT_OK;
}

void proxy_limits_now(struct proxy *p, struct proxy_limits *ret)
{
        uint64_t gen = p->hooks.generation ? p->hooks.generation(p->hooks.ud) : 0;
        struct proxy_limits l = PROXY_DEFAULT_LIMITS;

        pthread_mutex_lock(&p->lock);
        if (p->limits_known && gen == p->limits_gen) {
                *ret = p->limits;
                pthread_mutex_unlock(&p->lock);
                return;
        }
        pthread_mutex_unlock(&p->lock);
        /* the hook takes the daemon's lock: never under ours */
        if (p->hooks.limits)
                p->hooks.limits(p->hooks.ud, &l);
        pthread_mutex_lock(&p->lock);
        p->limits = l;
        p->limits_gen = gen;
        p->limits_known = true;
        pthread_mutex_unlock(&p->lock);
        *ret = l;
}

/* A refused connection is answered and kept a moment before it is closed:
 * closing at once could fail the client's write of its request (EPIPE)
 * before it reads why. The accept thread answers when the request comes
 * (or after REJECT_WAIT_MS), shuts its side, reads and drops what the client
 * sends for REJECT_LINGER_MS more, then closes. At most REJECT_MAX are kept;
 * past that the oldest is answered and closed at once. */
#define REJECT_MAX       64
#define REJECT_WAIT_MS   500
#define REJECT_LINGER_MS 1000
#define REJECT_MSG_MAX   256

struct reject {
        int fd; /* -1: free */
        bool answered;
        unsigned status;
        int64_t until; /* mono_ms: answer (then close) at the latest */
        char msg[REJECT_MSG_MAX];
};

static void reject_answer(struct reject *r)
{
        if (!r->answered) {
                fd_reply(r->fd, r->status, r->msg);
                (void)shutdown(r->fd, SHUT_WR);
                r->answered = true;
                r->until = mono_ms() + REJECT_LINGER_MS;
        }
}

static void reject_close(struct reject *r)
{
        reject_answer(r);
        close(r->fd);
        r->fd = -1;
}

/* Read and drop what the client sent; closes at its end. */
static void reject_drain(struct reject *r)
{
        char buf[4096];

        for (int i = 0; i < 16; i++) {
                ssize_t k = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k > 0) {
                        reject_answer(r); /* the request came: answer now */
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                reject_close(r); /* the client closed (or failed) */
                return;
        }
}

static void reject_add(struct reject *ring, int fd, unsigned status, const char *msg)
{
        struct reject *slot = NULL, *oldest = NULL;

        for (size_t i = 0; i < REJECT_MAX; i++) {
                if (ring[i].fd < 0) {
                        slot = &ring[i];
                        break;
                }
                if (!oldest || ring[i].until < oldest->until)
                        oldest = &ring[i];
        }
        if (!slot) {
                reject_close(oldest);
                slot = oldest;
        }
        slot->fd = fd;
        slot->answered = false;
        slot->status = status;
        slot->until = mono_ms() + REJECT_WAIT_MS;
        (void)strscpy(slot->msg, sizeof(slot->msg), msg);
        reject_drain(slot);
}

/* Refused connections are logged once per 10 s at most, with the count. */
static void log_refusal(struct proxy *p, uid_t uid, const char *why)
{
        int64_t now = mono_ms();
        uint64_t n = 0;

        pthread_mutex_lock(&p->lock);
        p->refused_unlogged++;
        if (now - p->refused_logged_ms >= 10000 || p->refused_logged_ms == 0) {
                n = p->refused_unlogged;
                p->refused_unlogged = 0;
                p->refused_logged_ms = now;
        }
        pthread_mutex_unlock(&p->lock);
        if (n > 0)
                log_warning("proxy: refused a connection of uid %u: %s (%llu refused since the "
                            "last such line)",
                            (unsigned)uid, why, (unsigned long long)n);
}

/* Admit fd or refuse it into ring. Returns the new connection, or NULL when
 * refused (fd then belongs to the ring) or out of memory (fd closed). */
static struct conn *admit(struct proxy *p, int fd, struct reject *ring)
{
        struct ucred cred = {.uid = (uid_t)-1};
        socklen_t len = sizeof(cred);
        struct proxy_limits lim;
        unsigned user_open = 0;
        enum proxy_admit a;
        struct conn *c;
        char msg[REJECT_MSG_MAX];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                cred.uid = (uid_t)-1;
        proxy_limits_now(p, &lim);
        pthread_mutex_lock(&p->lock);
        for (struct conn *o = p->conns; o; o = o->next)
                if (o->uid == cred.uid)
                        user_open++;
        a = proxy_admit(&lim, cred.uid, user_open, p->open_nonroot, p->fd_cap);
        if (a == PROXY_ADMIT_USER_FULL)
                p->stats.refused_user++;
        else if (a == PROXY_ADMIT_ALL_FULL)
                p->stats.refused_total++;
        pthread_mutex_unlock(&p->lock);
        if (a == PROXY_ADMIT_USER_FULL) {
                (void)snprintf(msg, sizeof(msg),
                               "ds01: you have %u connections open to the Docker proxy, the most "
                               "one user may have; close some (logs -f, attach, events) and try "
                               "again",
                               user_open);
                reject_add(ring, fd, 429, msg);
                log_refusal(p, cred.uid, "the user's connection limit");
                return NULL;
        }
        if (a == PROXY_ADMIT_ALL_FULL) {
                (void)snprintf(msg, sizeof(msg),
                               "ds01: the Docker proxy is at its limit of open connections; try "
                               "again in a minute or tell an admin");
                reject_add(ring, fd, 503, msg);
                log_refusal(p, cred.uid, "the proxy's connection limit");
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return NULL;
        }
        c->p = p;
        c->cfd = fd;
        c->ufd = -1;
        c->uid = cred.uid;
        c->gid = cred.gid;
        c->pid = cred.pid;
        c->peer_known = cred.uid != (uid_t)-1;
        c->start_ms = mono_ms();
        return c;
}

static void *accept_main(void *arg)
{
        struct proxy *p = arg;
        struct reject ring[REJECT_MAX];
        pthread_attr_t attr;

        for (size_t i = 0; i < REJECT_MAX; i++)
                ring[i].fd = -1;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, CONN_STACK_SIZE);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        for (;;) {
                struct pollfd pf[2 + REJECT_MAX];
                size_t map[REJECT_MAX], n = 2;
                int64_t now = mono_ms(), next = 0;
                int fd, k;
                struct conn *c;

                pf[0] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
                pf[1] = (struct pollfd){.fd = p->wake_fd, .events = POLLIN};
                for (size_t i = 0; i < REJECT_MAX; i++) {
                        if (ring[i].fd < 0)
                                continue;
                        if (ring[i].until <= now) {
                                if (ring[i].answered)
                                        reject_close(&ring[i]);
                                else
                                        reject_answer(&ring[i]);
                                if (ring[i].fd < 0)
                                        continue;
                        }
                        if (!next || ring[i].until < next)
                                next = ring[i].until;
                        map[n - 2] = i;
                        pf[n++] = (struct pollfd){.fd = ring[i].fd, .events = POLLIN};
                }
                k = poll(pf, n, next ? (int)MAX(next - now, 1) : -1);
                if (k < 0 && errno != EINTR)
                        break;
                if (k <= 0)
                        continue;
                for (size_t i = 2; i < n; i++)
                        if (pf[i].revents)
                                reject_drain(&ring[map[i - 2]]);
                if (pf[1].revents)
                        break; /* stopping */
                if (!(pf[0].revents & POLLIN)) {
                        if (pf[0].revents)
                                break; /* the socket was shut down */
                        continue;
                }
                fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN ||
                            errno == EWOULDBLOCK)
                                continue;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                            errno == ENOMEM) {
                                struct timespec ts = {0, 100 * 1000 * 1000};
                                log_warning("proxy: cannot accept: %s", strerror(errno));
                                nanosleep(&ts, NULL);
                                continue;
                        }
                        break; /* the socket was shut down: stopping */
                }
                c = admit(p, fd, ring);
                if (!c)
                        continue;
                pthread_mutex_lock(&p->lock);
                if (p->stopping) {
                        pthread_mutex_unlock(&p->lock);
                        close(fd);
                        free(c);
                        break;
                }
                c->next = p->conns;
                if (p->conns)
                        p->conns->prev = c;
                p->conns = c;
                p->stats.connections++;
                p->stats.open_connections++;
                if (c->uid != 0)
                        p->open_nonroot++;
                if (pthread_create(&c->thread, &attr, conn_main, c) != 0) {
                        p->conns = c->next;
                        if (p->conns)
                                p->conns->prev = NULL;
                        p->stats.open_connections--;
                        if (c->uid != 0)
                                p->open_nonroot--;
                        pthread_mutex_unlock(&p->lock);
                        log_warning("proxy: cannot start a thread for a connection");
                        fd_reply(fd, 503,
                                 "ds01: ds01d cannot take more connections right now; try again "
                                 "in a minute or tell an admin");
                        close(fd);
                        free(c);
                        continue;
                }
                pthread_mutex_unlock(&p->lock);
        }
        for (size_t i = 0; i < REJECT_MAX; i++)
                if (ring[i].fd >= 0) {
                        close(ring[i].fd);
                        ring[i].fd = -1;
                }
        pthread_attr_destroy(&attr);
        return NULL;
}

int proxy_start(const char *path, const char *upstream, const struct proxy_hooks *hooks,
                struct proxy **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct proxy *p;
        struct stat st;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->listen_fd = -1;
        p->wake_fd = -1;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->idle, NULL);
        p->hooks = *hooks;
        p->path = strdup(path);
        p->upstream = strdup(upstream);
        if (!p->path || !p->upstream) {
                r = -ENOMEM;
                goto fail;
        }
        if (stat("/proc/self/ns/pid", &st) == 0)
                p->pidns = st.st_ino;
        {
                /* two descriptors a connection, some left for the rest of ds01d */
                struct rlimit rl;
                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                        p->fd_cap = (unsigned)MIN(rl.rlim_cur > 512 ? (rl.rlim_cur - 256) / 2
                                                                    : rl.rlim_cur / 4,
                                                  (rlim_t)UINT_MAX);
        }
        p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->wake_fd < 0) {
                r = -errno;
                goto fail;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        r = -EEXIST;
                        goto fail;
                }
                (void)unlink(path);
        }
        p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (p->listen_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
            listen(p->listen_fd, 512) < 0) {
                r = -errno;
                goto fail;
        }
        if (pthread_create(&p->accept_thread, NULL, accept_main, p) != 0) {
                r = -EAGAIN;
                goto fail;
        }
        p->accept_started = true;
        *ret = p;
        return 0;
fail:
        if (p->listen_fd >= 0)
                close(p->listen_fd);
        if (p->wake_fd >= 0)
                close(p->wake_fd);
        free(p->path);
        free(p->upstream);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->idle);
        free(p);
        return r;
}

void proxy_stop(struct proxy *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_mutex_unlock(&p->lock);
        (void)eventfd_write(p->wake_fd, 1);
        (void)shutdown(p->listen_fd, SHUT_RDWR);
        if (p->accept_started)
                pthread_join(p->accept_thread, NULL);
        close(p->listen_fd);
        close(p->wake_fd);
        (void)unlink(p->path);
        pthread_mutex_lock(&p->lock);
        for (struct conn *c = p->conns; c; c = c->next) {
                (void)shutdown(c->cfd, SHUT_RDWR);
                if (c->ufd >= 0)
                        (void)shutdown(c->ufd, SHUT_RDWR);
        }
        while (p->conns)
                pthread_cond_wait(&p->idle, &p->lock);
        pthread_mutex_unlock(&p->lock);
        free(p->path);
        free(p->upstream);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->idle);
        free(p);
}

void proxy_get_stats(struct proxy *p, struct proxy_stats *ret)
{
        pthread_mutex_lock(&p->lock);
        *ret = p->stats;
        pthread_mutex_unlock(&p->lock);
}
