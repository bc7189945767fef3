/* SPDX-License-Identifier: MIT */
/*
 * policy.c - the proxy's pure decisions (policy.h): which Docker Engine API
 * endpoint a request names, whether a non-admin caller may touch the object it
 * names, and the query-string checks and rewrites that go with some endpoints
 * (the label filter of GET /containers/json and GET /events, the build and
 * image-delete flags). No system calls; routing works on fixed arrays and
 * never allocates; only policy_filter_query() allocates (its result, and the
 * JSON it parses).
 *
 * Everything is matched the way Docker (Go net/http + gorilla/mux, Go >= 1.17)
 * would read the same bytes, and where the two could differ this file refuses:
 * path segments and query keys are percent-decoded before matching; a query
 * with ';' or a bad escape is malformed (Docker answers 400 to it too); a
 * boolean query flag is true unless it is "", "0", "no", "false" or "none"
 * (httputils.BoolValue); the first of repeated parameters is the one Docker
 * reads (FormValue), except "filters", where a repeat is refused outright.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proxy/policy.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"

#define PATH_SEGS_MAX 64                  /* more segments than this: unknown */
#define QUERY_MAX     ((size_t)64 * 1024) /* longer queries are malformed */
#define QUERY_VAL_MAX 4096                /* values the checks read */
#define MSG_NAME_MAX  64                  /* bytes of a name quoted in a reason */

/* ---- reasons for ROUTE_DENIED and ROUTE_UNKNOWN (static, one line) ---- */

static const char WHY_UNKNOWN[] =
    "ds01: this Docker API endpoint is not allowed through ds01; ask an admin if you need it";
static const char WHY_PRUNE[] = "ds01: pruning would remove other users' objects too; remove "
                                "your own one by one (docker rm, docker rmi, docker volume rm, "
                                "docker network rm) or ask an admin";
static const char WHY_BUILD_PRUNE[] =
    "ds01: pruning the build cache affects every user; ask an admin";
static const char WHY_BUILD_CANCEL[] =
    "ds01: cancelling builds by id is not allowed through ds01; ask an admin";
static const char WHY_SYSTEM_DF[] =
    "ds01: docker system df lists every user's containers and volumes; ask an admin";
static const char WHY_VOLUME_UPDATE[] =
    "ds01: cluster volumes need swarm mode, which is not available through ds01";
static const char WHY_SWARM[] = "ds01: swarm mode is not available through ds01; ask an admin";
static const char WHY_NODES[] = "ds01: swarm nodes are not available through ds01; ask an admin";
static const char WHY_SERVICES[] =
    "ds01: swarm services are not available through ds01; use docker run or docker compose";
static const char WHY_TASKS[] =
    "ds01: swarm tasks are not available through ds01; use docker ps for your containers";
static const char WHY_SECRETS[] =
    "ds01: swarm secrets are not available through ds01; ask an admin";
static const char WHY_CONFIGS[] =
    "ds01: swarm configs are not available through ds01; ask an admin";
static const char WHY_PLUGINS[] =
    "ds01: Docker plugins run with full host privileges; only admins may manage them";
static const char WHY_GRPC[] = "ds01: BuildKit's gRPC API cannot be checked by ds01; build "
                               "with 'DOCKER_BUILDKIT=0 docker build' or ask an admin";

/* ---- percent-decoding ---- */

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The decoded byte at s[*i] (of s[0..n)), advancing *i past it: "%XX" is one
 * byte, '+' is a space when plus. -1 for a bad escape. */
static int pct_next(const char *s, size_t n, size_t *i, bool plus)
{
        char c = s[*i];

        if (c == '%') {
                int hi, lo;

                if (n - *i < 3)
                        return -1;
                hi = hex_value(s[*i + 1]);
                lo = hex_value(s[*i + 2]);
                if (hi < 0 || lo < 0)
                        return -1;
                *i += 3;
                return hi * 16 + lo;
        }
        *i += 1;
        if (plus && c == '+')
                return ' ';
        return (unsigned char)c;
}

/* Decodes s[0..n) into out (NUL-terminated, size bytes). Returns the decoded
 * length; -EINVAL for a bad escape or a NUL byte; -E2BIG when it does not
 * fit. With out NULL nothing is written (a dry run giving the length). */
static int pct_decode(const char *s, size_t n, bool plus, char *out, size_t size)
{
        size_t i = 0, len = 0;

        while (i < n) {
                int c = pct_next(s, n, &i, plus);

                if (c <= 0)
                        return -EINVAL;
                if (!out) {
                        len++;
                        continue;
                }
                if (len + 1 >= size)
                        return -E2BIG;
                out[len++] = (char)c;
        }
        if (out) {
                if (size == 0)
                        return -E2BIG;
                out[len] = '\0';
        }
        return len > INT32_MAX ? -E2BIG : (int)len;
}

/* True when s[0..n) decodes to exactly lit (a bad escape never matches). */
static bool pct_eq(const char *s, size_t n, bool plus, const char *lit)
{
        size_t i = 0, k = 0;

        while (i < n) {
                int c = pct_next(s, n, &i, plus);

                if (c <= 0 || lit[k] == '\0' || (unsigned char)lit[k] != c)
                        return false;
                k++;
        }
        return lit[k] == '\0';
}

/* ---- paths ---- */

enum http_method { M_OTHER, M_GET, M_POST, M_PUT, M_DELETE };

struct seg {
        size_t off, len; /* raw bytes in the path */
};

/* A request path cut into segments, after the version prefix. */
struct req {
        const char *path;
        enum http_method m;
        struct seg seg[PATH_SEGS_MAX];
        size_t first; /* index of the first segment after "/v1.NN" */
        size_t n;     /* segments from first on */
};

/* A segment is acceptable when it is not empty, decodes, and its decoded
 * form holds no '/', NUL or control character and is not "." or "..". */
static bool seg_valid(const char *s, size_t n)
{
        size_t i = 0, dlen = 0;
        int head[2] = {0, 0};

        if (n == 0)
                return false;
        while (i < n) {
                int c = pct_next(s, n, &i, false);

                if (c < 0x20 || c == '/' || c == 0x7f) /* also catches a bad escape (-1) */
                        return false;
                if (dlen < 2)
                        head[dlen] = c;
                dlen++;
        }
        if (dlen == 1 && head[0] == '.')
                return false;
        if (dlen == 2 && head[0] == '.' && head[1] == '.')
                return false;
        return true;
}

static bool is_digit(int c)
{
        return c >= '0' && c <= '9';
}

/* "v<digits>.<digits>", decoded. */
static bool seg_is_version(const char *s, size_t n)
{
        char buf[32];
        int len = pct_decode(s, n, false, buf, sizeof(buf));
        int i = 1, digits = 0;

        if (len < 4 || buf[0] != 'v')
                return false;
        for (; i < len && is_digit(buf[i]); i++)
                digits++;
        if (digits == 0 || i >= len || buf[i] != '.')
                return false;
        for (i++, digits = 0; i < len && is_digit(buf[i]); i++)
                digits++;
        return digits > 0 && i == len;
}

static bool req_split(struct req *q, const char *path)
{
        size_t i = 1, n = 0;

        if (!path || path[0] != '/')
                return false;
        for (;;) {
                size_t start = i;

                while (path[i] != '\0' && path[i] != '/')
                        i++;
                if (n == PATH_SEGS_MAX || !seg_valid(path + start, i - start))
                        return false;
                q->seg[n++] = (struct seg){.off = start, .len = i - start};
                if (path[i] == '\0')
                        break;
                i++;
        }
        q->path = path;
        q->first = seg_is_version(path + q->seg[0].off, q->seg[0].len) ? 1 : 0;
        q->n = n - q->first;
        return true;
}

/* Segment k (after the version) decodes to lit. */
static bool seg_is(const struct req *q, size_t k, const char *lit)
{
        const struct seg *s;

        if (k >= q->n)
                return false;
        s = &q->seg[q->first + k];
        return pct_eq(q->path + s->off, s->len, false, lit);
}

/* HEAD is routed as GET. */
static enum http_method method_parse(const char *method)
{
        if (!method)
                return M_OTHER;
        if (streq(method, "GET"))
                return M_GET;
        if (streq(method, "HEAD"))
                return M_GET;
        if (streq(method, "POST"))
                return M_POST;
        if (streq(method, "PUT"))
                return M_PUT;
        if (streq(method, "DELETE"))
                return M_DELETE;
        return M_OTHER;
}

/* ---- filling struct route ---- */

static enum route_kind route_unknown(struct route *ret)
{
        *ret = (struct route){.kind = ROUTE_UNKNOWN, .why = WHY_UNKNOWN};
        return ROUTE_UNKNOWN;
}

static enum route_kind route_set(struct route *ret, enum route_kind kind)
{
        ret->kind = kind;
        ret->why = NULL;
        return kind;
}

static enum route_kind route_denied(struct route *ret, const char *why)
{
        ret->kind = ROUTE_DENIED;
        ret->why = why;
        return ROUTE_DENIED;
}

/* A route naming one object: segment k is its ref (decoded into ret->ref; a
 * ref that does not fit makes the path unknown), op its operation. */
static enum route_kind route_object(struct route *ret, const struct req *q, size_t k,
                                    enum route_kind kind, const char *op, bool hijack)
{
        const struct seg *s = &q->seg[q->first + k];

        if (pct_decode(q->path + s->off, s->len, false, ret->ref, sizeof(ret->ref)) < 0)
                return route_unknown(ret);
        ret->ref_off = s->off;
        ret->ref_len = s->len;
        if (strscpy(ret->op, sizeof(ret->op), op) < 0)
                return route_unknown(ret); /* our own table: cannot happen */
        ret->may_hijack = hijack;
        return route_set(ret, kind);
}

/* ---- the endpoints, by first segment ---- */

static const struct container_op {
        const char *name;
        enum http_method m; /* HEAD is routed as GET */
        enum route_kind kind;
        bool hijack;
} container_ops[] = {
    {"json", M_GET, ROUTE_CONTAINER, false},           {"top", M_GET, ROUTE_CONTAINER, false},
    {"logs", M_GET, ROUTE_CONTAINER, false},           {"changes", M_GET, ROUTE_CONTAINER, false},
    {"export", M_GET, ROUTE_CONTAINER, false},         {"stats", M_GET, ROUTE_CONTAINER, false},
    {"archive", M_GET, ROUTE_CONTAINER, false},        {"archive", M_PUT, ROUTE_CONTAINER, false},
    {"resize", M_POST, ROUTE_CONTAINER, false},        {"start", M_POST, ROUTE_CONTAINER, false},
    {"stop", M_POST, ROUTE_CONTAINER, false},          {"restart", M_POST, ROUTE_CONTAINER, false},
    {"kill", M_POST, ROUTE_CONTAINER, false},          {"rename", M_POST, ROUTE_CONTAINER, false},
    {"pause", M_POST, ROUTE_CONTAINER, false},         {"unpause", M_POST, ROUTE_CONTAINER, false},
    {"wait", M_POST, ROUTE_CONTAINER, false},          {"attach", M_POST, ROUTE_CONTAINER, true},
    {"update", M_POST, ROUTE_CONTAINER_UPDATE, false}, {"exec", M_POST, ROUTE_EXEC_CREATE, false},
};

/* /containers/...: the static names win over a container called "json",
 * "create" or "prune", as in Docker, except for DELETE, which has no static
 * route (DELETE /containers/json removes a container named "json"). */
static enum route_kind route_containers(const struct req *q, struct route *ret)
{
        if (q->n == 2) {
                if (q->m == M_GET && seg_is(q, 1, "json"))
                        return route_set(ret, ROUTE_CONTAINER_LIST);
                if (q->m == M_POST && seg_is(q, 1, "create"))
                        return route_set(ret, ROUTE_CONTAINER_CREATE);
                if (q->m == M_POST && seg_is(q, 1, "prune"))
                        return route_denied(ret, WHY_PRUNE);
                if (q->m == M_DELETE)
                        return route_object(ret, q, 1, ROUTE_CONTAINER, "delete", false);
                return route_unknown(ret);
        }
        if (q->n == 3) {
                for (size_t i = 0; i < ELEMENTSOF(container_ops); i++) {
                        const struct container_op *o = &container_ops[i];

                        if (o->m == q->m && seg_is(q, 2, o->name))
                                return route_object(ret, q, 1, o->kind, o->name, o->hijack);
                }
                return route_unknown(ret);
        }
        if (q->n == 4 && q->m == M_GET && seg_is(q, 2, "attach") && seg_is(q, 3, "ws"))
                return route_object(ret, q, 1, ROUTE_CONTAINER, "attach/ws", true);
        return route_unknown(ret);
}

static enum route_kind route_exec(const struct req *q, struct route *ret)
{
        if (q->n != 3)
                return route_unknown(ret);
        if (q->m == M_POST && seg_is(q, 2, "start"))
                return route_object(ret, q, 1, ROUTE_EXEC, "start", true);
        if (q->m == M_POST && seg_is(q, 2, "resize"))
                return route_object(ret, q, 1, ROUTE_EXEC, "resize", false);
        if (q->m == M_GET && seg_is(q, 2, "json"))
                return route_object(ret, q, 1, ROUTE_EXEC, "json", false);
        return route_unknown(ret);
}

/* /images/...: an image name may span several segments ("registry:5000/a/b:tag"),
 * so the operation is the last segment and the name everything before it. */
static enum route_kind route_images(const struct req *q, struct route *ret)
{
        size_t last = q->n - 1;

        if (q->n < 2)
                return route_unknown(ret);
        if (q->m == M_DELETE)
                return route_set(ret, ROUTE_IMAGE_DELETE);
        if (q->n == 2) {
                if (q->m == M_GET &&
                    (seg_is(q, 1, "json") || seg_is(q, 1, "search") || seg_is(q, 1, "get")))
                        return route_set(ret, ROUTE_OPEN);
                if (q->m == M_POST && (seg_is(q, 1, "create") || seg_is(q, 1, "load")))
                        return route_set(ret, ROUTE_OPEN);
                if (q->m == M_POST && seg_is(q, 1, "prune"))
                        return route_denied(ret, WHY_PRUNE);
                return route_unknown(ret);
        }
        if (q->m == M_GET &&
            (seg_is(q, last, "json") || seg_is(q, last, "history") || seg_is(q, last, "get")))
                return route_set(ret, ROUTE_OPEN);
        if (q->m == M_POST && (seg_is(q, last, "tag") || seg_is(q, last, "push")))
                return route_set(ret, ROUTE_OPEN);
        return route_unknown(ret);
}

/* /volumes/...: as with containers, GET and DELETE of a volume named "create"
 * or "prune" name that volume. */
static enum route_kind route_volumes(const struct req *q, struct route *ret)
{
        if (q->n == 1)
                return q->m == M_GET ? route_set(ret, ROUTE_OPEN) : route_unknown(ret);
        if (q->n != 2)
                return route_unknown(ret);
        switch (q->m) {
        case M_GET:
                return route_set(ret, ROUTE_OPEN);
        case M_POST:
                if (seg_is(q, 1, "create"))
                        return route_set(ret, ROUTE_VOLUME_CREATE);
                if (seg_is(q, 1, "prune"))
                        return route_denied(ret, WHY_PRUNE);
                return route_unknown(ret);
        case M_PUT:
                return route_denied(ret, WHY_VOLUME_UPDATE);
        case M_DELETE:
                return route_object(ret, q, 1, ROUTE_VOLUME, "delete", false);
        case M_OTHER:
                break;
        }
        return route_unknown(ret);
}

static enum route_kind route_networks(const struct req *q, struct route *ret)
{
        if (q->n == 1)
                return q->m == M_GET ? route_set(ret, ROUTE_OPEN) : route_unknown(ret);
        if (q->n == 2) {
                switch (q->m) {
                case M_GET:
                        return route_set(ret, ROUTE_OPEN);
                case M_POST:
                        if (seg_is(q, 1, "create"))
                                return route_set(ret, ROUTE_NETWORK_CREATE);
                        if (seg_is(q, 1, "prune"))
                                return route_denied(ret, WHY_PRUNE);
                        return route_unknown(ret);
                case M_DELETE:
                        return route_object(ret, q, 1, ROUTE_NETWORK, "delete", false);
                case M_PUT:
                case M_OTHER:
                        break;
                }
                return route_unknown(ret);
        }
        if (q->n == 3 && q->m == M_POST) {
                if (seg_is(q, 2, "connect"))
                        return route_object(ret, q, 1, ROUTE_NETWORK, "connect", false);
                if (seg_is(q, 2, "disconnect"))
                        return route_object(ret, q, 1, ROUTE_NETWORK, "disconnect", false);
        }
        return route_unknown(ret);
}

static enum route_kind route_build(const struct req *q, struct route *ret)
{
        if (q->m != M_POST || q->n > 2)
                return route_unknown(ret);
        if (q->n == 1)
                return route_set(ret, ROUTE_BUILD);
        if (seg_is(q, 1, "prune"))
                return route_denied(ret, WHY_BUILD_PRUNE);
        if (seg_is(q, 1, "cancel"))
                return route_denied(ret, WHY_BUILD_CANCEL);
        return route_unknown(ret);
}

/* Endpoints of exactly one segment, and /system/df, /distribution/{name}/json. */
static enum route_kind route_misc(const struct req *q, struct route *ret)
{
        static const struct {
                const char *name;
                enum http_method m;
                enum route_kind kind;
                bool hijack;
        } single[] = {
            {"_ping", M_GET, ROUTE_OPEN, false},      {"version", M_GET, ROUTE_OPEN, false},
            {"info", M_GET, ROUTE_OPEN, false},       {"auth", M_POST, ROUTE_OPEN, false},
            {"events", M_GET, ROUTE_EVENTS, false},   {"commit", M_POST, ROUTE_COMMIT, false},
            {"session", M_POST, ROUTE_SESSION, true},
        };

        if (q->n == 1) {
                for (size_t i = 0; i < ELEMENTSOF(single); i++)
                        if (single[i].m == q->m && seg_is(q, 0, single[i].name)) {
                                ret->may_hijack = single[i].hijack;
                                return route_set(ret, single[i].kind);
                        }
                return route_unknown(ret);
        }
        if (q->n == 2 && q->m == M_GET && seg_is(q, 0, "system") && seg_is(q, 1, "df"))
                return route_denied(ret, WHY_SYSTEM_DF);
        if (q->n >= 3 && q->m == M_GET && seg_is(q, 0, "distribution") &&
            seg_is(q, q->n - 1, "json"))
                return route_set(ret, ROUTE_OPEN);
        return route_unknown(ret);
}

/* Whole families refused whatever the method or the rest of the path. */
static const struct {
        const char *name;
        const char *why;
} denied_families[] = {
    {"swarm", WHY_SWARM},     {"nodes", WHY_NODES},     {"services", WHY_SERVICES},
    {"tasks", WHY_TASKS},     {"secrets", WHY_SECRETS}, {"configs", WHY_CONFIGS},
    {"plugins", WHY_PLUGINS}, {"grpc", WHY_GRPC},
};

/* The reason when the first segment names a denied family, else NULL. */
static const char *denied_family(const struct req *q)
{
        for (size_t i = 0; i < ELEMENTSOF(denied_families); i++)
                if (seg_is(q, 0, denied_families[i].name))
                        return denied_families[i].why;
        return NULL;
}

enum route_kind policy_route(const char *method, const char *path, struct route *ret)
{
        struct req q = {0};
        enum route_kind kind;
        const char *family;

        route_unknown(ret);
        q.m = method_parse(method);
        if (q.m == M_OTHER || !req_split(&q, path) || q.n == 0)
                return route_unknown(ret);

        family = denied_family(&q);
        if (family)
                kind = route_denied(ret, family);
        else if (seg_is(&q, 0, "containers"))
                kind = route_containers(&q, ret);
        else if (seg_is(&q, 0, "exec"))
                kind = route_exec(&q, ret);
        else if (seg_is(&q, 0, "images"))
                kind = route_images(&q, ret);
        else if (seg_is(&q, 0, "volumes"))
                kind = route_volumes(&q, ret);
        else if (seg_is(&q, 0, "networks"))
                kind = route_networks(&q, ret);
        else if (seg_is(&q, 0, "build"))
                kind = route_build(&q, ret);
        else
                kind = route_misc(&q, ret);

        /* GET /containers/{ref}/attach/ws upgrades to a websocket that writes
         * to the container's stdin: not read-only. */
        if (kind != ROUTE_UNKNOWN && q.m == M_GET && !ret->may_hijack)
                ret->read_only = true;
        return kind;
}

/* ---- access ---- */

/* Copies a name for a reason: at most MSG_NAME_MAX bytes (cut on a UTF-8
 * boundary, "..." added), control characters as '?', every byte >= 0x80 as
 * '?' when the name is not valid UTF-8; "" and NULL become "?". */
static void msg_name(const char *s, char *out, size_t size)
{
        size_t n, k;
        bool cut = false, utf8;

        if (isempty(s))
                s = "?";
        n = strlen(s);
        if (n > MSG_NAME_MAX) {
                n = MSG_NAME_MAX;
                while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                        n--;
                cut = true;
        }
        utf8 = utf8_valid(s, n, NULL);
        for (k = 0; k < n && k + 1 < size; k++) {
                unsigned char c = (unsigned char)s[k];

                out[k] = (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) ? '?' : (char)c;
        }
        out[k] = '\0';
        if (cut && k + 4 <= size)
                memcpy(out + k, "...", 4);
}

static enum policy_answer decide(struct policy_decision *d, enum policy_answer a, const char *fmt,
                                 ...) _printf_(3, 4);
static enum policy_answer decide(struct policy_decision *d, enum policy_answer a, const char *fmt,
                                 ...)
{
        va_list ap;

        d->answer = a;
        va_start(ap, fmt);
        (void)vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
        return a;
}

enum object_type { OBJ_NONE, OBJ_CONTAINER, OBJ_EXEC, OBJ_VOLUME, OBJ_NETWORK };

static enum object_type route_object_type(enum route_kind k)
{
        switch (k) {
        case ROUTE_CONTAINER:
        case ROUTE_EXEC_CREATE:
        case ROUTE_CONTAINER_UPDATE:
        case ROUTE_COMMIT:
                return OBJ_CONTAINER;
        case ROUTE_EXEC:
                return OBJ_EXEC;
        case ROUTE_VOLUME:
                return OBJ_VOLUME;
        case ROUTE_NETWORK:
                return OBJ_NETWORK;
        case ROUTE_UNKNOWN:
        case ROUTE_DENIED:
        case ROUTE_OPEN:
        case ROUTE_CONTAINER_LIST:
        case ROUTE_EVENTS:
        case ROUTE_CONTAINER_CREATE:
        case ROUTE_BUILD:
        case ROUTE_SESSION:
        case ROUTE_IMAGE_DELETE:
        case ROUTE_VOLUME_CREATE:
        case ROUTE_NETWORK_CREATE:
                break;
        }
        return OBJ_NONE;
}

/* Beyond the header: routes that name no owned object are ALLOW (their
 * bodies and queries are checked elsewhere), DENIED and UNKNOWN are DENY with
 * r->why; a NULL target for a route that names an object is DENY (the engine
 * could not look it up), never NOT_FOUND. For an exec the target is the exec's
 * container: t->name is the container, r->ref the exec id. */
enum policy_answer policy_access(const struct policy_settings *s, const struct policy_caller *c,
                                 const struct route *r, const struct policy_target *t,
                                 struct policy_decision *d)
{
        char name[MSG_NAME_MAX + 8], ref[MSG_NAME_MAX + 8], owner[MSG_NAME_MAX + 8];
        const char *noun;
        enum object_type type;

        d->answer = POLICY_ALLOW;
        d->reason[0] = '\0';
        if (c && c->admin)
                return POLICY_ALLOW;
        if (r->kind == ROUTE_UNKNOWN || r->kind == ROUTE_DENIED)
                return decide(d, POLICY_DENY, "%s", r->why ? r->why : WHY_UNKNOWN);
        type = route_object_type(r->kind);
        if (type == OBJ_NONE)
                return POLICY_ALLOW;

        msg_name(t && !isempty(t->name) ? t->name : r->ref, name, sizeof(name));
        msg_name(r->ref, ref, sizeof(ref));
        noun = type == OBJ_VOLUME ? "volume" : type == OBJ_NETWORK ? "network" : "container";
        if (!t)
                return decide(d, POLICY_DENY, "ds01: cannot tell who owns %s '%s'; ask an admin",
                              noun, name);

        if (!t->exists)
                switch (type) {
                case OBJ_EXEC:
                        return decide(d, POLICY_NOT_FOUND, "No such exec instance: %s", ref);
                case OBJ_VOLUME:
                        return decide(d, POLICY_NOT_FOUND, "get %s: no such volume", name);
                case OBJ_NETWORK:
                        return decide(d, POLICY_NOT_FOUND, "network %s not found", name);
                case OBJ_CONTAINER:
                case OBJ_NONE:
                        return decide(d, POLICY_NOT_FOUND, "No such container: %s", name);
                }

        if (t->is_protected)
                return decide(d, POLICY_DENY,
                              "ds01: %s '%s' is protected infrastructure; only admins may %s it",
                              noun, name, r->read_only ? "use" : "change");

        if (isempty(t->owner)) {
                if (type == OBJ_VOLUME || type == OBJ_NETWORK)
                        return decide(d, POLICY_DENY,
                                      "ds01: %s '%s' was not created through ds01 and has no "
                                      "owner; only admins may change it",
                                      noun, name);
                if (s && s->unowned_allow)
                        return decide(d, POLICY_ALLOW_UNOWNED, "%s", "");
                return decide(d, POLICY_DENY, "ds01: %s '%s' has no known owner; ask an admin",
                              noun, name);
        }

        if (c && !isempty(c->user) && streq(t->owner, c->user))
                return POLICY_ALLOW;

        msg_name(t->owner, owner, sizeof(owner));
        switch (type) {
        case OBJ_EXEC:
                return decide(d, POLICY_DENY,
                              "ds01: exec '%s' runs in container '%s', which belongs to %s; you "
                              "can only use your own containers (docker ps shows yours)",
                              ref, name, owner);
        case OBJ_VOLUME:
        case OBJ_NETWORK:
                return decide(d, POLICY_DENY,
                              "ds01: %s '%s' belongs to %s; you can only change your own %ss", noun,
                              name, owner, noun);
        case OBJ_CONTAINER:
        case OBJ_NONE:
                break;
        }
        return decide(d, POLICY_DENY,
                      "ds01: container '%s' belongs to %s; you can only use your own containers "
                      "(docker ps shows yours)",
                      name, owner);
}

/* ---- query strings ---- */

/* One "key[=value]" of a query: raw spans. */
struct qparam {
        const char *start; /* the whole parameter */
        size_t len;
        const char *key;
        size_t key_len;
        const char *val; /* NULL without '=' */
        size_t val_len;
};

/* The next parameter at *p (empty ones between "&&" included); false at the end. */
static bool query_next(const char **p, const char *end, struct qparam *ret)
{
        const char *s = *p, *amp, *eq;

        if (s >= end)
                return false;
        amp = memchr(s, '&', (size_t)(end - s));
        if (!amp)
                amp = end;
        eq = memchr(s, '=', (size_t)(amp - s));
        *ret = (struct qparam){
            .start = s,
            .len = (size_t)(amp - s),
            .key = s,
            .key_len = (size_t)((eq ? eq : amp) - s),
            .val = eq ? eq + 1 : NULL,
            .val_len = eq ? (size_t)(amp - eq - 1) : 0,
        };
        *p = amp < end ? amp + 1 : end;
        return true;
}

/* Malformed as Docker sees it: too long, ';' (Go refuses it), a bad escape;
 * and a NUL byte in a key or value, which nothing legitimate sends. */
static int query_validate(const char *q)
{
        const char *p = q, *end;
        struct qparam qp;
        size_t n = strlen(q);

        if (n > QUERY_MAX || memchr(q, ';', n))
                return -EINVAL;
        end = q + n;
        while (query_next(&p, end, &qp)) {
                if (pct_decode(qp.key, qp.key_len, true, NULL, 0) < 0)
                        return -EINVAL;
                if (qp.val && pct_decode(qp.val, qp.val_len, true, NULL, 0) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* The first parameter whose decoded key is name: 1 with the value decoded
 * into buf ("" without '='), 0 absent, -EINVAL a bad escape or NUL in the
 * value, -E2BIG too long for buf. buf is written only when 1. */
static int query_lookup(const char *q, const char *name, char *buf, size_t size)
{
        const char *p = q, *end;
        struct qparam qp;
        int r;

        if (!q || size == 0)
                return 0;
        end = q + strlen(q);
        while (query_next(&p, end, &qp)) {
                if (!pct_eq(qp.key, qp.key_len, true, name))
                        continue;
                r = pct_decode(qp.val ? qp.val : "", qp.val_len, true, NULL, 0);
                if (r < 0)
                        return r;
                if ((size_t)r >= size)
                        return -E2BIG;
                r = pct_decode(qp.val ? qp.val : "", qp.val_len, true, buf, size);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* Beyond the header: keys are decoded too ("%61=1" is a), the first of repeated
 * parameters wins (as Docker's FormValue), and a value with a bad escape or a
 * NUL byte reads as absent; buf is unchanged when false. */
bool policy_query_get(const char *query, const char *name, char *buf, size_t size)
{
        return query_lookup(query, name, buf, size) == 1;
}

enum filter_form { FORM_NONE, FORM_LIST, FORM_MAP };

/* {"k":["v",...],...} (FORM_LIST) or {"k":{"v":true,...},...} (FORM_MAP); a
 * mix of the two is refused, as Docker refuses it. FORM_NONE for {}. */
static int filters_form(json_t *f)
{
        const char *key;
        json_t *v;
        enum filter_form form = FORM_NONE;

        if (!json_is_object(f))
                return -EINVAL;
        json_object_foreach(f, key, v)
        {
                enum filter_form this;

                if (json_is_array(v)) {
                        size_t i;
                        json_t *e;

                        json_array_foreach(v, i, e) if (!json_is_string(e)) return -EINVAL;
                        this = FORM_LIST;
                } else if (json_is_object(v)) {
                        const char *k;
                        json_t *e;

                        json_object_foreach(v, k, e) if (!json_is_boolean(e)) return -EINVAL;
                        this = FORM_MAP;
                } else
                        return -EINVAL;
                if (form != FORM_NONE && form != this)
                        return -EINVAL;
                form = this;
        }
        return (int)form;
}

/* Adds label=ours to the filters, in their form. */
static int filters_add_label(json_t *f, const char *ours)
{
        int form = filters_form(f);
        json_t *label;

        if (form < 0)
                return form;
        label = json_object_get(f, "label");
        if (!label) {
                label = form == FORM_MAP ? json_object() : json_array();
                if (!label || json_object_set_new(f, "label", label) < 0)
                        return -ENOMEM;
        }
        if (json_is_object(label))
                return json_object_set_new(label, ours, json_true()) < 0 ? -ENOMEM : 0;

        for (size_t i = 0; i < json_array_size(label); i++)
                if (streq(json_string_value(json_array_get(label, i)), ours))
                        return 0;
        return json_array_append_new(label, json_string(ours)) < 0 ? -ENOMEM : 0;
}

static bool is_unreserved(unsigned char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
}

static int pct_encode(struct strbuf *sb, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                int r = is_unreserved(c) ? strbuf_putc(sb, (char)c) : strbuf_append(sb, e, 3);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Beyond the header: -EINVAL also for a query Docker would refuse (';', a bad
 * escape, over 64 KiB), a repeated "filters", and an empty user. */
int policy_filter_query(const char *query, const char *user, char **ret)
{
        _cleanup_(json_decrefp) json_t *f = NULL;
        _cleanup_free_ char *value = NULL, *dump = NULL, *ours = NULL;
        _cleanup_strbuf_ struct strbuf sb;
        const char *q = query ? query : "", *p, *end;
        struct qparam qp, fqp = {0};
        bool found = false;
        int r;

        strbuf_init(&sb, 4 * QUERY_MAX);
        if (isempty(user) || query_validate(q) < 0)
                return -EINVAL;

        end = q + strlen(q);
        p = q;
        while (query_next(&p, end, &qp)) {
                if (!pct_eq(qp.key, qp.key_len, true, "filters"))
                        continue;
                if (found)
                        return -EINVAL;
                fqp = qp;
                found = true;
        }

        if (found && fqp.val_len > 0) {
                json_error_t err;

                value = malloc(fqp.val_len + 1);
                if (!value)
                        return -ENOMEM;
                r = pct_decode(fqp.val, fqp.val_len, true, value, fqp.val_len + 1);
                if (r < 0)
                        return -EINVAL;
                f = json_loadb(value, (size_t)r, JSON_REJECT_DUPLICATES, &err);
                if (!f)
                        return -EINVAL;
        } else {
                f = json_object();
                if (!f)
                        return -ENOMEM;
        }

        if (asprintf(&ours, "ds01.user=%s", user) < 0) {
                ours = NULL;
                return -ENOMEM;
        }
        if (!utf8_valid(ours, strlen(ours), NULL))
                return -EINVAL;
        r = filters_add_label(f, ours);
        if (r < 0)
                return r;
        dump = json_dumps(f, JSON_COMPACT);
        if (!dump)
                return -ENOMEM;

        if (found) {
                r = strbuf_append(&sb, q, (size_t)(fqp.start - q));
                if (r >= 0)
                        r = strbuf_puts(&sb, "filters=");
                if (r >= 0)
                        r = pct_encode(&sb, dump);
                if (r >= 0)
                        r = strbuf_puts(&sb, fqp.start + fqp.len);
        } else {
                r = strbuf_puts(&sb, q);
                if (r >= 0)
                        r = strbuf_puts(&sb, *q ? "&filters=" : "filters=");
                if (r >= 0)
                        r = pct_encode(&sb, dump);
        }
        if (r < 0)
                return r == -ENOMEM ? -ENOMEM : -EINVAL;
        *ret = strbuf_steal(&sb);
        return *ret ? 0 : -ENOMEM;
}

static bool check_deny(struct policy_decision *d, const char *fmt, ...) _printf_(2, 3);
static bool check_deny(struct policy_decision *d, const char *fmt, ...)
{
        va_list ap;

        d->answer = POLICY_DENY;
        va_start(ap, fmt);
        (void)vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
        return false;
}

static bool check_allow(struct policy_decision *d)
{
        d->answer = POLICY_ALLOW;
        d->reason[0] = '\0';
        return true;
}

/* A remote build context that names the daemon's own file system. */
static bool remote_is_local(const char *v)
{
        while (*v == ' ' || *v == '\t')
                v++;
        return *v == '/' || *v == '.' || *v == '~' || *v == '\\' || startswith_no_case(v, "file:");
}

/* Beyond the header: a malformed query (see query_validate) or a checked
 * value over 4 KiB is denied too. The Docker client always sends
 * "cgroupparent=" and "networkmode=", so empty values are allowed. */
bool policy_check_build_query(const char *query, struct policy_decision *d)
{
        static const char *const modes[] = {"", "default", "bridge", "none"};
        char v[QUERY_VAL_MAX];
        const char *q = query ? query : "";
        int r;
        bool ok = false;

        if (query_validate(q) < 0)
                return check_deny(d, "ds01: the build request's query string is malformed; "
                                     "use the docker client");

        r = query_lookup(q, "networkmode", v, sizeof(v));
        if (r < 0)
                return check_deny(d, "ds01: the build's network mode is malformed or too long; "
                                     "leave --network out");
        if (r > 0) {
                for (size_t i = 0; i < ELEMENTSOF(modes); i++)
                        ok = ok || streq(v, modes[i]);
                if (!ok && streq(v, "host"))
                        return check_deny(d, "ds01: docker build --network=host is not allowed; "
                                             "leave --network out to use the default network");
                if (!ok) {
                        char name[MSG_NAME_MAX + 8];

                        msg_name(v, name, sizeof(name));
                        return check_deny(d,
                                          "ds01: docker build --network='%s' is not allowed; "
                                          "builds may use the default, bridge or none network",
                                          name);
                }
        }

        r = query_lookup(q, "cgroupparent", v, sizeof(v));
        if (r < 0 || (r > 0 && v[0] != '\0'))
                return check_deny(d, "ds01: docker build --cgroup-parent is not allowed; ds01 "
                                     "decides where containers run, leave it out");

        r = query_lookup(q, "remote", v, sizeof(v));
        if (r < 0)
                return check_deny(d, "ds01: the build's remote context is malformed or too long; "
                                     "send the context from your machine instead");
        if (r > 0 && remote_is_local(v)) {
                char name[MSG_NAME_MAX + 8];

                msg_name(v, name, sizeof(name));
                return check_deny(d,
                                  "ds01: building from a path on the Docker host ('%s') is not "
                                  "allowed; run docker build with a local folder or a URL",
                                  name);
        }
        return check_allow(d);
}

/* Go's httputils.BoolValue: true unless, trimmed and lower-cased, it is "",
 * "0", "no", "false" or "none". Only ASCII space is trimmed here, so a value
 * Go would read as false after trimming other space reads as true: denied. */
static bool go_bool_value(const char *v)
{
        static const char *const falses[] = {"", "0", "no", "false", "none"};
        char buf[16];
        size_t n;

        while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\v' || *v == '\f')
                v++;
        n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' ||
                         v[n - 1] == '\r' || v[n - 1] == '\v' || v[n - 1] == '\f'))
                n--;
        if (n >= sizeof(buf))
                return true;
        memcpy(buf, v, n);
        buf[n] = '\0';
        strlower(buf);
        for (size_t i = 0; i < ELEMENTSOF(falses); i++)
                if (streq(buf, falses[i]))
                        return false;
        return true;
}

/* Beyond the header: force counts as Docker reads it (any value but "", 0,
 * no, false, none is true), and a malformed query is denied. */
bool policy_check_image_delete_query(const char *query, struct policy_decision *d)
{
        char v[QUERY_VAL_MAX];
        const char *q = query ? query : "";
        int r;

        if (query_validate(q) < 0)
                return check_deny(d, "ds01: the image delete request's query string is "
                                     "malformed; use the docker client");
        r = query_lookup(q, "force", v, sizeof(v));
        if (r < 0 || (r > 0 && go_bool_value(v)))
                return check_deny(d, "ds01: docker rmi --force is not allowed; remove the "
                                     "containers that use the image first, or ask an admin");
        return check_allow(d);
}
