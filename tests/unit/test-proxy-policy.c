/* test-proxy-policy.c - unit tests for proxy/policy: the routing table of the
 * Docker Engine API (every endpoint of API 1.41-1.43, wrong methods, version
 * prefixes, percent-encoding, dot segments, long refs), the owner decisions
 * and their messages, the label filter added to container lists and events,
 * the build and image-delete query checks, and the connection caps
 * (proxy_admit). Table-driven; every row states the exact expected output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/policy.h"
#include "proxy/proxy.h"
#include "util/macro.h"
#include "util/strutil.h"

static const char WHY_UNKNOWN[] =
    "ds01: this Docker API endpoint is not allowed through ds01; ask an admin if you need it";

/* ---- policy_route ---- */

struct route_case {
        const char *method, *path;
        const char *ref, *op;
        const char *why; /* DENIED: a part of the reason; NULL otherwise */
        enum route_kind kind;
        bool hijack, ro;
};

#define ROW(m, p, k, ref, op, hj, ro, why)                                                         \
        {                                                                                          \
                m, p, ref, op, why, k, hj, ro                                                      \
        }
#define UNK(m, p)              ROW(m, p, ROUTE_UNKNOWN, "", "", false, false, NULL)
#define DEN(m, p, ro, why)     ROW(m, p, ROUTE_DENIED, "", "", false, ro, why)
#define GET(p, k)              ROW("GET", p, k, "", "", false, true, NULL)
#define POST(p, k)             ROW("POST", p, k, "", "", false, false, NULL)
#define CTR(m, p, ref, op, ro) ROW(m, p, ROUTE_CONTAINER, ref, op, false, ro, NULL)

static const struct route_case route_cases[] = {
    /* system */
    GET("/_ping", ROUTE_OPEN),
    ROW("HEAD", "/_ping", ROUTE_OPEN, "", "", false, true, NULL),
    GET("/v1.41/_ping", ROUTE_OPEN),
    UNK("POST", "/_ping"),
    GET("/version", ROUTE_OPEN),
    GET("/v1.41/version", ROUTE_OPEN),
    UNK("POST", "/version"),
    GET("/info", ROUTE_OPEN),
    GET("/v1.43/info", ROUTE_OPEN),
    UNK("POST", "/info"),
    POST("/auth", ROUTE_OPEN),
    POST("/v1.42/auth", ROUTE_OPEN),
    UNK("GET", "/auth"),
    GET("/events", ROUTE_EVENTS),
    GET("/v1.42/events", ROUTE_EVENTS),
    ROW("HEAD", "/events", ROUTE_EVENTS, "", "", false, true, NULL),
    UNK("POST", "/events"),
    DEN("GET", "/system/df", true, "system df lists every user's"),
    DEN("GET", "/v1.41/system/df", true, "system df"),
    UNK("POST", "/system/df"),
    UNK("GET", "/system"),
    UNK("GET", "/system/info"),
    GET("/distribution/ubuntu/json", ROUTE_OPEN),
    GET("/distribution/registry:5000/a/b:tag/json", ROUTE_OPEN),
    GET("/v1.41/distribution/library/ubuntu@sha256:0123/json", ROUTE_OPEN),
    UNK("GET", "/distribution/json"),
    UNK("GET", "/distribution/ubuntu"),
    UNK("POST", "/distribution/ubuntu/json"),
    ROW("POST", "/session", ROUTE_SESSION, "", "", true, false, NULL),
    ROW("POST", "/v1.41/session", ROUTE_SESSION, "", "", true, false, NULL),
    UNK("GET", "/session"),
    UNK("POST", "/session/x"),
    POST("/commit", ROUTE_COMMIT),
    POST("/v1.41/commit", ROUTE_COMMIT),
    UNK("GET", "/commit"),
    UNK("POST", "/commit/abc"),

    /* containers: collection */
    GET("/containers/json", ROUTE_CONTAINER_LIST),
    GET("/v1.41/containers/json", ROUTE_CONTAINER_LIST),
    ROW("HEAD", "/containers/json", ROUTE_CONTAINER_LIST, "", "", false, true, NULL),
    UNK("POST", "/containers/json"),
    POST("/containers/create", ROUTE_CONTAINER_CREATE),
    POST("/v1.43/containers/create", ROUTE_CONTAINER_CREATE),
    UNK("GET", "/containers/create"),
    UNK("PUT", "/containers/create"),
    DEN("POST", "/containers/prune", false, "pruning"),
    DEN("POST", "/v1.41/containers/prune", false, "pruning"),
    UNK("GET", "/containers/prune"),
    UNK("GET", "/containers"),
    UNK("POST", "/containers"),

    /* containers: one container */
    CTR("DELETE", "/containers/abc", "abc", "delete", false),
    CTR("DELETE", "/v1.41/containers/web", "web", "delete", false),
    CTR("DELETE", "/containers/json", "json", "delete", false),
    CTR("DELETE", "/containers/create", "create", "delete", false),
    CTR("DELETE", "/containers/prune", "prune", "delete", false),
    UNK("GET", "/containers/abc"),
    UNK("POST", "/containers/abc"),
    UNK("PUT", "/containers/abc"),
    CTR("GET", "/containers/abc/json", "abc", "json", true),
    CTR("GET", "/v1.41/containers/abc/json", "abc", "json", true),
    CTR("HEAD", "/containers/abc/json", "abc", "json", true),
    CTR("GET", "/containers/abc/top", "abc", "top", true),
    CTR("GET", "/containers/abc/logs", "abc", "logs", true),
    CTR("GET", "/containers/abc/changes", "abc", "changes", true),
    CTR("GET", "/containers/abc/export", "abc", "export", true),
    CTR("GET", "/containers/abc/stats", "abc", "stats", true),
    CTR("HEAD", "/containers/abc/archive", "abc", "archive", true),
    CTR("GET", "/containers/abc/archive", "abc", "archive", true),
    CTR("PUT", "/containers/abc/archive", "abc", "archive", false),
    CTR("POST", "/containers/abc/resize", "abc", "resize", false),
    CTR("POST", "/containers/abc/start", "abc", "start", false),
    CTR("POST", "/v1.42/containers/abc/start", "abc", "start", false),
    CTR("POST", "/containers/abc/stop", "abc", "stop", false),
    CTR("POST", "/containers/abc/restart", "abc", "restart", false),
    CTR("POST", "/containers/abc/kill", "abc", "kill", false),
    CTR("POST", "/containers/abc/rename", "abc", "rename", false),
    CTR("POST", "/containers/abc/pause", "abc", "pause", false),
    CTR("POST", "/containers/abc/unpause", "abc", "unpause", false),
    CTR("POST", "/containers/abc/wait", "abc", "wait", false),
    ROW("POST", "/containers/abc/attach", ROUTE_CONTAINER, "abc", "attach", true, false, NULL),
    ROW("GET", "/containers/abc/attach/ws", ROUTE_CONTAINER, "abc", "attach/ws", true, false, NULL),
    ROW("POST", "/containers/abc/update", ROUTE_CONTAINER_UPDATE, "abc", "update", false, false,
        NULL),
    ROW("POST", "/containers/abc/exec", ROUTE_EXEC_CREATE, "abc", "exec", false, false, NULL),
    ROW("POST", "/v1.41/containers/0123456789ab/exec", ROUTE_EXEC_CREATE, "0123456789ab", "exec",
        false, false, NULL),
    CTR("GET", "/containers/json/json", "json", "json", true),
    CTR("POST", "/containers/create/start", "create", "start", false),
    CTR("POST", "/containers/prune/stop", "prune", "stop", false),
    CTR("GET", "/containers/my_app.1-x/logs", "my_app.1-x", "logs", true),

    /* containers: wrong methods and unknown operations */
    UNK("GET", "/containers/abc/start"),
    UNK("HEAD", "/containers/abc/start"),
    UNK("PUT", "/containers/abc/start"),
    UNK("POST", "/containers/abc/json"),
    UNK("DELETE", "/containers/abc/json"),
    UNK("GET", "/containers/abc/attach"),
    UNK("POST", "/containers/abc/attach/ws"),
    UNK("GET", "/containers/abc/exec"),
    UNK("GET", "/containers/abc/update"),
    UNK("POST", "/containers/abc/archive"),
    UNK("DELETE", "/containers/abc/archive"),
    UNK("POST", "/containers/abc/copy"),
    UNK("GET", "/containers/abc/checkpoints"),
    UNK("POST", "/containers/abc/logs/clear"),
    UNK("GET", "/containers/abc/attach/wss"),
    UNK("GET", "/containers/abc/attach/ws/x"),
    UNK("GET", "/containers/attach/ws"),
    UNK("POST", "/containers/abc/exec/start"),

    /* containers: paths that must not reach a container */
    UNK("GET", "/containers/abc%2Fdef/json"),
    UNK("GET", "/containers/abc%2fdef/json"),
    UNK("GET", "/containers/abc/def/json"),
    UNK("GET", "/containers//json"),
    UNK("GET", "/containers/../images/json"),
    UNK("GET", "/containers/./json"),
    UNK("GET", "/containers/%2e%2e/json"),
    UNK("GET", "/containers/%2E/json"),
    UNK("GET", "/containers/.%2e/json"),
    UNK("GET", "/containers/abc/json/"),
    UNK("GET", "/containers/json/"),
    UNK("DELETE", "/containers/"),
    UNK("DELETE", "/containers/abc/"),
    UNK("GET", "/containers/abc%00/json"),
    UNK("GET", "/containers/abc%0a/json"),
    UNK("GET", "/containers/abc%7f/json"),
    UNK("GET", "/containers/a\tb/json"),
    UNK("GET", "/containers/abc%zz/json"),
    UNK("GET", "/containers/abc%4/json"),
    UNK("GET", "/containers/abc%/json"),
    UNK("GET", "/containers/json?all=1"),

    /* containers: decoding */
    CTR("GET", "/containers/ab%63/json", "abc", "json", true),
    CTR("GET", "/%63ontainers/abc/json", "abc", "json", true),
    CTR("GET", "/containers/abc/%6Aso%6E", "abc", "json", true),
    CTR("GET", "/containers/a+b/json", "a+b", "json", true),
    CTR("GET", "/containers/a%20b/json", "a b", "json", true),
    CTR("GET", "/containers/caf%C3%A9/json", "caf\xc3\xa9", "json", true),
    CTR("GET", "/containers/...x/json", "...x", "json", true),
    CTR("GET", "/containers/.../json", "...", "json", true),
    GET("/containers/%6Ason", ROUTE_CONTAINER_LIST),

    /* case, version prefixes, malformed paths and methods */
    UNK("GET", "/containers/abc/JSON"),
    UNK("GET", "/Containers/abc/json"),
    UNK("GET", "/CONTAINERS/json"),
    UNK("POST", "/containers/abc/Start"),
    UNK("GET", "/V1.41/containers/json"),
    UNK("GET", "/v1.41/v1.41/containers/json"),
    UNK("GET", "/v1.41"),
    UNK("GET", "/v1.41/"),
    UNK("GET", "/v1/containers/json"),
    UNK("GET", "/v1.41x/containers/json"),
    UNK("GET", "/v.41/containers/json"),
    UNK("GET", "/v1./containers/json"),
    UNK("GET", "/v1.41.2/containers/json"),
    UNK("GET", "/vv1.41/containers/json"),
    GET("/v01.041/containers/json", ROUTE_CONTAINER_LIST),
    GET("/v2.0/containers/json", ROUTE_CONTAINER_LIST),
    GET("/%761.41/containers/json", ROUTE_CONTAINER_LIST),
    UNK("GET", ""),
    UNK("GET", "/"),
    UNK("GET", "//"),
    UNK("GET", "containers/json"),
    UNK("GET", "//containers/json"),
    UNK("GET", "/v1.41//containers/json"),
    UNK("GET", "http://localhost/containers/json"),
    UNK("GET", "*"),
    UNK("get", "/containers/json"),
    UNK("Get", "/containers/json"),
    UNK("OPTIONS", "/containers/json"),
    UNK("PATCH", "/containers/abc/update"),
    UNK("CONNECT", "/containers/abc/attach"),
    UNK("TRACE", "/_ping"),
    UNK("", "/_ping"),
    UNK("GET", "/foo"),
    UNK("GET", "/containersx/json"),
    UNK("GET", "/v1.41/foo"),
    UNK("GET", "/checkpoints"),

    /* exec */
    ROW("POST", "/exec/x/start", ROUTE_EXEC, "x", "start", true, false, NULL),
    ROW("POST", "/v1.41/exec/abc123/start", ROUTE_EXEC, "abc123", "start", true, false, NULL),
    ROW("POST", "/exec/x/resize", ROUTE_EXEC, "x", "resize", false, false, NULL),
    ROW("GET", "/exec/x/json", ROUTE_EXEC, "x", "json", false, true, NULL),
    ROW("HEAD", "/exec/x/json", ROUTE_EXEC, "x", "json", false, true, NULL),
    UNK("GET", "/exec/x/start"),
    UNK("POST", "/exec/x/json"),
    UNK("GET", "/exec/x/resize"),
    UNK("POST", "/exec/x"),
    UNK("GET", "/exec/x"),
    UNK("DELETE", "/exec/x"),
    UNK("POST", "/exec/start"),
    UNK("POST", "/exec/x/start/"),
    UNK("POST", "/exec//start"),
    UNK("POST", "/exec/x%2Fy/start"),
    UNK("POST", "/exec/x/y/start"),
    UNK("POST", "/Exec/x/start"),

    /* images */
    GET("/images/json", ROUTE_OPEN),
    GET("/v1.41/images/json", ROUTE_OPEN),
    ROW("HEAD", "/images/json", ROUTE_OPEN, "", "", false, true, NULL),
    GET("/images/search", ROUTE_OPEN),
    GET("/images/get", ROUTE_OPEN),
    POST("/images/create", ROUTE_OPEN),
    POST("/v1.43/images/create", ROUTE_OPEN),
    POST("/images/load", ROUTE_OPEN),
    DEN("POST", "/images/prune", false, "pruning"),
    UNK("GET", "/images/prune"),
    UNK("GET", "/images/create"),
    UNK("POST", "/images/json"),
    UNK("POST", "/images/tag"),
    GET("/images/ubuntu/json", ROUTE_OPEN),
    GET("/images/ubuntu:22.04/json", ROUTE_OPEN),
    GET("/images/a/b:c/json", ROUTE_OPEN),
    GET("/images/registry:5000/a/b:tag/json", ROUTE_OPEN),
    GET("/images/ubuntu@sha256:0123abcd/json", ROUTE_OPEN),
    GET("/images/sha256:0123abcd/json", ROUTE_OPEN),
    GET("/images/json/json", ROUTE_OPEN),
    GET("/images/a/get/json", ROUTE_OPEN),
    GET("/images/ubuntu/history", ROUTE_OPEN),
    GET("/images/a/b/history", ROUTE_OPEN),
    GET("/images/ubuntu/get", ROUTE_OPEN),
    GET("/images/a/b:c/get", ROUTE_OPEN),
    POST("/images/ubuntu/tag", ROUTE_OPEN),
    POST("/images/registry:5000/a/b/tag", ROUTE_OPEN),
    POST("/images/ubuntu/push", ROUTE_OPEN),
    POST("/images/a/b:c/push", ROUTE_OPEN),
    POST("/v1.41/images/localhost:5000/me/img/push", ROUTE_OPEN),
    ROW("DELETE", "/images/ubuntu", ROUTE_IMAGE_DELETE, "", "", false, false, NULL),
    ROW("DELETE", "/images/a/b:c", ROUTE_IMAGE_DELETE, "", "", false, false, NULL),
    ROW("DELETE", "/images/sha256:0123abcd", ROUTE_IMAGE_DELETE, "", "", false, false, NULL),
    ROW("DELETE", "/images/json", ROUTE_IMAGE_DELETE, "", "", false, false, NULL),
    ROW("DELETE", "/v1.41/images/registry:5000/a/b@sha256:01", ROUTE_IMAGE_DELETE, "", "", false,
        false, NULL),
    UNK("DELETE", "/images"),
    UNK("DELETE", "/images/"),
    UNK("DELETE", "/images/a/../b"),
    UNK("GET", "/images"),
    UNK("POST", "/images/ubuntu/json"),
    UNK("GET", "/images/ubuntu/tag"),
    UNK("GET", "/images/ubuntu/push"),
    UNK("GET", "/images/ubuntu"),
    UNK("PUT", "/images/ubuntu/json"),
    UNK("GET", "/images/ubuntu/JSON"),
    UNK("GET", "/images//json"),
    UNK("GET", "/images/a//b/json"),
    UNK("GET", "/images/a/../b/json"),
    UNK("GET", "/images/a/./b/json"),
    UNK("GET", "/images/a%2Fb/json"),
    UNK("GET", "/images/a/b/json/"),

    /* volumes */
    GET("/volumes", ROUTE_OPEN),
    GET("/v1.41/volumes", ROUTE_OPEN),
    GET("/volumes/data", ROUTE_OPEN),
    GET("/volumes/create", ROUTE_OPEN),
    POST("/volumes/create", ROUTE_VOLUME_CREATE),
    POST("/v1.42/volumes/create", ROUTE_VOLUME_CREATE),
    DEN("POST", "/volumes/prune", false, "pruning"),
    ROW("DELETE", "/volumes/data", ROUTE_VOLUME, "data", "delete", false, false, NULL),
    ROW("DELETE", "/volumes/create", ROUTE_VOLUME, "create", "delete", false, false, NULL),
    DEN("PUT", "/volumes/data", false, "cluster volumes"),
    UNK("POST", "/volumes"),
    UNK("DELETE", "/volumes"),
    UNK("POST", "/volumes/data"),
    UNK("GET", "/volumes/a/b"),
    UNK("GET", "/volumes/"),
    UNK("DELETE", "/volumes/.."),
    UNK("DELETE", "/volumes/a%2Fb"),

    /* networks */
    GET("/networks", ROUTE_OPEN),
    GET("/v1.41/networks", ROUTE_OPEN),
    UNK("GET", "/networks/"),
    GET("/networks/bridge", ROUTE_OPEN),
    GET("/networks/create", ROUTE_OPEN),
    POST("/networks/create", ROUTE_NETWORK_CREATE),
    DEN("POST", "/networks/prune", false, "pruning"),
    ROW("DELETE", "/networks/mynet", ROUTE_NETWORK, "mynet", "delete", false, false, NULL),
    ROW("POST", "/networks/mynet/connect", ROUTE_NETWORK, "mynet", "connect", false, false, NULL),
    ROW("POST", "/networks/mynet/disconnect", ROUTE_NETWORK, "mynet", "disconnect", false, false,
        NULL),
    ROW("POST", "/v1.43/networks/abc/disconnect", ROUTE_NETWORK, "abc", "disconnect", false, false,
        NULL),
    ROW("POST", "/networks/create/connect", ROUTE_NETWORK, "create", "connect", false, false, NULL),
    UNK("GET", "/networks/mynet/connect"),
    UNK("POST", "/networks/mynet"),
    UNK("PUT", "/networks/mynet"),
    UNK("POST", "/networks"),
    UNK("DELETE", "/networks/mynet/connect"),
    UNK("POST", "/networks/mynet/attach"),

    /* build */
    POST("/build", ROUTE_BUILD),
    POST("/v1.41/build", ROUTE_BUILD),
    UNK("GET", "/build"),
    UNK("PUT", "/build"),
    DEN("POST", "/build/prune", false, "build cache"),
    DEN("POST", "/build/cancel", false, "cancelling builds"),
    UNK("GET", "/build/prune"),
    UNK("POST", "/build/other"),
    UNK("POST", "/build/prune/x"),

    /* whole families denied, whatever the method */
    DEN("GET", "/swarm", true, "swarm mode"),
    DEN("POST", "/swarm/init", false, "swarm mode"),
    DEN("POST", "/swarm/join", false, "swarm mode"),
    DEN("POST", "/v1.41/swarm/leave", false, "swarm mode"),
    DEN("GET", "/swarm/unlockkey", true, "swarm mode"),
    DEN("GET", "/nodes", true, "swarm nodes"),
    DEN("DELETE", "/nodes/abc", false, "swarm nodes"),
    DEN("GET", "/services", true, "swarm services"),
    DEN("POST", "/services/create", false, "swarm services"),
    DEN("GET", "/services/x/logs", true, "swarm services"),
    DEN("GET", "/tasks", true, "swarm tasks"),
    DEN("GET", "/tasks/x/logs", true, "swarm tasks"),
    DEN("GET", "/secrets", true, "swarm secrets"),
    DEN("POST", "/secrets/create", false, "swarm secrets"),
    DEN("GET", "/configs", true, "swarm configs"),
    DEN("POST", "/configs/x/update", false, "swarm configs"),
    DEN("GET", "/plugins", true, "plugins"),
    DEN("POST", "/plugins/pull", false, "plugins"),
    DEN("POST", "/plugins/x/enable", false, "plugins"),
    DEN("DELETE", "/plugins/x", false, "plugins"),
    DEN("POST", "/grpc", false, "gRPC"),
    DEN("POST", "/v1.41/grpc", false, "gRPC"),
    DEN("GET", "/grpc", true, "gRPC"),
    UNK("PATCH", "/grpc"),
    UNK("GET", "/swarmx"),
    UNK("GET", "/Plugins"),
    UNK("GET", "/swarm/"),
    UNK("GET", "/plugins/../containers/json"),
};

/* The bytes path[off..off+len) percent-decoded, into buf. */
static void decode_span(const char *s, size_t len, char *buf, size_t size)
{
        size_t k = 0;

        for (size_t i = 0; i < len && k + 1 < size; k++) {
                if (s[i] == '%' && i + 2 < len) {
                        char hex[3] = {s[i + 1], s[i + 2], '\0'};

                        buf[k] = (char)strtol(hex, NULL, 16);
                        i += 3;
                } else
                        buf[k] = s[i++];
        }
        buf[k] = '\0';
}

static void test_route_table(void **state)
{
        size_t n = ELEMENTSOF(route_cases);

        assert_true(n >= 150);
        for (size_t i = 0; i < n; i++) {
                const struct route_case *c = &route_cases[i];
                struct route r;
                enum route_kind k;

                memset(&r, 0xa5, sizeof(r)); /* everything must be written */
                k = policy_route(c->method, c->path, &r);
                if (k != c->kind || r.kind != c->kind || !streq(r.ref, c->ref) ||
                    !streq(r.op, c->op) || r.may_hijack != c->hijack || r.read_only != c->ro)
                        fail_msg("row %zu: %s %s: kind %d ref '%s' op '%s' hijack %d ro %d; "
                                 "want kind %d ref '%s' op '%s' hijack %d ro %d",
                                 i, c->method, c->path, (int)k, r.ref, r.op, r.may_hijack,
                                 r.read_only, (int)c->kind, c->ref, c->op, c->hijack, c->ro);

                switch (c->kind) {
                case ROUTE_UNKNOWN:
                        assert_non_null(r.why);
                        assert_string_equal(r.why, WHY_UNKNOWN);
                        break;
                case ROUTE_DENIED:
                        assert_non_null(r.why);
                        if (strncmp(r.why, "ds01: ", 6) != 0 || !strstr(r.why, c->why))
                                fail_msg("row %zu: %s %s: why '%s', want '%s'", i, c->method,
                                         c->path, r.why, c->why);
                        assert_null(strchr(r.why, '\n'));
                        break;
                default:
                        assert_null(r.why);
                        break;
                }

                if (*c->ref) {
                        char raw[POLICY_REF_MAX];

                        assert_true(r.ref_len > 0);
                        assert_true(r.ref_off + r.ref_len <= strlen(c->path));
                        decode_span(c->path + r.ref_off, r.ref_len, raw, sizeof(raw));
                        assert_string_equal(raw, c->ref);
                        assert_true(r.ref_off == 0 || c->path[r.ref_off - 1] == '/');
                        assert_true(c->path[r.ref_off + r.ref_len] == '/' ||
                                    c->path[r.ref_off + r.ref_len] == '\0');
                } else {
                        assert_int_equal(r.ref_off, 0);
                        assert_int_equal(r.ref_len, 0);
                }
        }
}

static void test_route_ref_span(void **state)
{
        static const struct {
                const char *method, *path;
                size_t off, len;
                const char *ref;
        } cases[] = {
            {"GET", "/v1.41/containers/abc/json", 18, 3, "abc"},
            {"GET", "/containers/abc/json", 12, 3, "abc"},
            {"GET", "/containers/ab%63/json", 12, 5, "abc"},
            {"GET", "/v1.43/containers/%61%62%63/logs", 18, 9, "abc"},
            {"DELETE", "/containers/web", 12, 3, "web"},
            {"POST", "/exec/e1/start", 6, 2, "e1"},
            {"POST", "/v1.41/exec/e1/resize", 12, 2, "e1"},
            {"POST", "/networks/n1/connect", 10, 2, "n1"},
            {"DELETE", "/networks/n1", 10, 2, "n1"},
            {"DELETE", "/volumes/v1", 9, 2, "v1"},
            {"DELETE", "/v1.41/volumes/my%20vol", 15, 8, "my vol"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct route r;

                policy_route(cases[i].method, cases[i].path, &r);
                assert_int_equal(r.ref_off, cases[i].off);
                assert_int_equal(r.ref_len, cases[i].len);
                assert_string_equal(r.ref, cases[i].ref);
        }
}

/* Refs that fill POLICY_REF_MAX (with the NUL) are unknown; so are paths of
 * more than 64 segments. */
static void test_route_long(void **state)
{
        char path[8192], big[1024];
        struct route r;
        int n;

        memset(big, 'a', POLICY_REF_MAX - 1);
        big[POLICY_REF_MAX - 1] = '\0';
        n = snprintf(path, sizeof(path), "/containers/%s/json", big);
        assert_true(n > 0 && (size_t)n < sizeof(path));
        assert_int_equal(policy_route("GET", path, &r), ROUTE_CONTAINER);
        assert_string_equal(r.ref, big);
        assert_int_equal(r.ref_len, POLICY_REF_MAX - 1);

        memset(big, 'a', POLICY_REF_MAX);
        big[POLICY_REF_MAX] = '\0';
        snprintf(path, sizeof(path), "/containers/%s/json", big);
        assert_int_equal(policy_route("GET", path, &r), ROUTE_UNKNOWN);
        assert_string_equal(r.ref, "");
        assert_string_equal(r.why, WHY_UNKNOWN);
        snprintf(path, sizeof(path), "/volumes/%s", big);
        assert_int_equal(policy_route("DELETE", path, &r), ROUTE_UNKNOWN);
        snprintf(path, sizeof(path), "/exec/%s/start", big);
        assert_int_equal(policy_route("POST", path, &r), ROUTE_UNKNOWN);
        snprintf(path, sizeof(path), "/networks/%s/connect", big);
        assert_int_equal(policy_route("POST", path, &r), ROUTE_UNKNOWN);
        /* a long name is fine where no ref is kept */
        snprintf(path, sizeof(path), "/images/%s/json", big);
        assert_int_equal(policy_route("GET", path, &r), ROUTE_OPEN);

        /* 255 decoded bytes written as 765 encoded ones */
        n = snprintf(path, sizeof(path), "/containers/");
        for (int i = 0; i < POLICY_REF_MAX - 1; i++)
                n += snprintf(path + n, sizeof(path) - (size_t)n, "%%61");
        snprintf(path + n, sizeof(path) - (size_t)n, "/stop");
        assert_int_equal(policy_route("POST", path, &r), ROUTE_CONTAINER);
        assert_int_equal(strlen(r.ref), POLICY_REF_MAX - 1);
        assert_int_equal(r.ref_off, 12);
        assert_int_equal(r.ref_len, 3 * (POLICY_REF_MAX - 1));
        n = snprintf(path, sizeof(path), "/containers/");
        for (int i = 0; i < POLICY_REF_MAX; i++)
                n += snprintf(path + n, sizeof(path) - (size_t)n, "%%61");
        snprintf(path + n, sizeof(path) - (size_t)n, "/stop");
        assert_int_equal(policy_route("POST", path, &r), ROUTE_UNKNOWN);

        /* 64 segments: "images" + 62 name parts + "json"; then 65 */
        n = snprintf(path, sizeof(path), "/images");
        for (int i = 0; i < 62; i++)
                n += snprintf(path + n, sizeof(path) - (size_t)n, "/p");
        snprintf(path + n, sizeof(path) - (size_t)n, "/json");
        assert_int_equal(policy_route("GET", path, &r), ROUTE_OPEN);
        snprintf(path + n, sizeof(path) - (size_t)n, "/p/json");
        assert_int_equal(policy_route("GET", path, &r), ROUTE_UNKNOWN);

        assert_int_equal(policy_route(NULL, "/_ping", &r), ROUTE_UNKNOWN);
        assert_int_equal(policy_route("GET", NULL, &r), ROUTE_UNKNOWN);
        assert_string_equal(r.why, WHY_UNKNOWN);
}

/* ---- policy_access ---- */

struct access_case {
        const char *desc;
        bool admin;
        const char *user;
        bool unowned_allow;
        enum route_kind kind;
        const char *ref;
        bool ro;
        bool no_target;
        bool exists;
        const char *owner;
        bool prot;
        const char *name;
        enum policy_answer want;
        const char *reason;
};

#define BELONGS(obj, owner)                                                                        \
        "ds01: container '" obj "' belongs to " owner                                              \
        "; you can only use your own containers (docker ps shows yours)"

static const struct access_case access_cases[] = {
    {"own container", false, "alice", false, ROUTE_CONTAINER, "web", false, false, true, "alice",
     false, "web", POLICY_ALLOW, ""},
    {"own container, read", false, "alice", false, ROUTE_CONTAINER, "web", true, false, true,
     "alice", false, "web", POLICY_ALLOW, ""},
    {"other's container", false, "alice", false, ROUTE_CONTAINER, "web", false, false, true, "bob",
     false, "web", POLICY_DENY, BELONGS("web", "bob")},
    {"other's container, read", false, "alice", false, ROUTE_CONTAINER, "web", true, false, true,
     "bob", false, "web", POLICY_DENY, BELONGS("web", "bob")},
    {"owner match is exact", false, "alice", false, ROUTE_CONTAINER, "web", false, false, true,
     "Alice", false, "web", POLICY_DENY, BELONGS("web", "Alice")},
    {"owner prefix is not a match", false, "alice", false, ROUTE_CONTAINER, "web", false, false,
     true, "alice2", false, "web", POLICY_DENY, BELONGS("web", "alice2")},
    {"protected, change", false, "alice", false, ROUTE_CONTAINER, "grafana", false, false, true,
     "alice", true, "grafana", POLICY_DENY,
     "ds01: container 'grafana' is protected infrastructure; only admins may change it"},
    {"protected, read", false, "alice", false, ROUTE_CONTAINER, "grafana", true, false, true, "",
     true, "grafana", POLICY_DENY,
     "ds01: container 'grafana' is protected infrastructure; only admins may use it"},
    {"protected beats unowned allow", false, "alice", true, ROUTE_CONTAINER, "g", false, false,
     true, "", true, "g", POLICY_DENY,
     "ds01: container 'g' is protected infrastructure; only admins may change it"},
    {"unowned, deny", false, "alice", false, ROUTE_CONTAINER, "x", false, false, true, "", false,
     "x", POLICY_DENY, "ds01: container 'x' has no known owner; ask an admin"},
    {"unowned, allow", false, "alice", true, ROUTE_CONTAINER, "x", false, false, true, "", false,
     "x", POLICY_ALLOW_UNOWNED, ""},
    {"unowned NULL owner", false, "alice", false, ROUTE_CONTAINER, "x", false, false, true, NULL,
     false, "x", POLICY_DENY, "ds01: container 'x' has no known owner; ask an admin"},
    {"missing", false, "alice", false, ROUTE_CONTAINER, "web", false, false, false, "", false,
     "web", POLICY_NOT_FOUND, "No such container: web"},
    {"missing, name from ref", false, "alice", false, ROUTE_CONTAINER, "abc", false, false, false,
     "", false, "", POLICY_NOT_FOUND, "No such container: abc"},
    {"name empty: ref used", false, "alice", false, ROUTE_CONTAINER, "abc", false, false, true,
     "bob", false, "", POLICY_DENY, BELONGS("abc", "bob")},
    {"no target", false, "alice", false, ROUTE_CONTAINER, "abc", false, true, false, "", false, "",
     POLICY_DENY, "ds01: cannot tell who owns container 'abc'; ask an admin"},
    {"caller without name", false, "", false, ROUTE_CONTAINER, "web", false, false, true, "alice",
     false, "web", POLICY_DENY, BELONGS("web", "alice")},
    {"control characters in names", false, "alice", false, ROUTE_CONTAINER, "w", false, false, true,
     "b\x1b[0m", false, "we\nb", POLICY_DENY, BELONGS("we?b", "b?[0m")},
    {"invalid UTF-8 in a name", false, "alice", false, ROUTE_CONTAINER, "w", false, false, true,
     "bob", false, "a\xff\xc3", POLICY_DENY, BELONGS("a??", "bob")},
    {"UTF-8 name kept", false, "alice", false, ROUTE_CONTAINER, "w", false, false, true, "bob",
     false, "caf\xc3\xa9", POLICY_DENY, BELONGS("caf\xc3\xa9", "bob")},
    {"long name cut", false, "alice", false, ROUTE_CONTAINER, "w", false, false, true, "bob", false,
     "0123456789012345678901234567890123456789012345678901234567890123456789", POLICY_DENY,
     BELONGS("0123456789012345678901234567890123456789012345678901234567890123...", "bob")},
    {"long name cut on a UTF-8 boundary", false, "alice", false, ROUTE_CONTAINER, "w", false, false,
     true, "bob", false,
     "012345678901234567890123456789012345678901234567890123456789012\xc3\xa9xyz", POLICY_DENY,
     BELONGS("012345678901234567890123456789012345678901234567890123456789012...", "bob")},

    /* admins */
    {"admin, other's", true, "root", false, ROUTE_CONTAINER, "web", false, false, true, "bob",
     false, "web", POLICY_ALLOW, ""},
    {"admin, protected", true, "root", false, ROUTE_CONTAINER, "g", false, false, true, "", true,
     "g", POLICY_ALLOW, ""},
    {"admin, missing", true, "root", false, ROUTE_CONTAINER, "web", false, false, false, "", false,
     "web", POLICY_ALLOW, ""},
    {"admin, unowned", true, "root", false, ROUTE_CONTAINER, "x", false, false, true, "", false,
     "x", POLICY_ALLOW, ""},
    {"admin, unknown endpoint", true, "root", false, ROUTE_UNKNOWN, "", false, true, false, "",
     false, "", POLICY_ALLOW, ""},
    {"admin, denied endpoint", true, "root", false, ROUTE_DENIED, "", false, true, false, "", false,
     "", POLICY_ALLOW, ""},
    {"admin, other's network", true, "root", false, ROUTE_NETWORK, "n", false, false, true, "bob",
     false, "n", POLICY_ALLOW, ""},

    /* routes without an owned object */
    {"unknown endpoint", false, "alice", false, ROUTE_UNKNOWN, "", false, true, false, "", false,
     "", POLICY_DENY, WHY_UNKNOWN},
    {"open", false, "alice", false, ROUTE_OPEN, "", true, true, false, "", false, "", POLICY_ALLOW,
     ""},
    {"container list", false, "alice", false, ROUTE_CONTAINER_LIST, "", true, true, false, "",
     false, "", POLICY_ALLOW, ""},
    {"events", false, "alice", false, ROUTE_EVENTS, "", true, true, false, "", false, "",
     POLICY_ALLOW, ""},
    {"create", false, "alice", false, ROUTE_CONTAINER_CREATE, "", false, true, false, "", false, "",
     POLICY_ALLOW, ""},
    {"build", false, "alice", false, ROUTE_BUILD, "", false, true, false, "", false, "",
     POLICY_ALLOW, ""},
    {"session", false, "alice", false, ROUTE_SESSION, "", false, true, false, "", false, "",
     POLICY_ALLOW, ""},
    {"image delete", false, "alice", false, ROUTE_IMAGE_DELETE, "", false, true, false, "", false,
     "", POLICY_ALLOW, ""},
    {"volume create", false, "alice", false, ROUTE_VOLUME_CREATE, "", false, true, false, "", false,
     "", POLICY_ALLOW, ""},
    {"network create", false, "alice", false, ROUTE_NETWORK_CREATE, "", false, true, false, "",
     false, "", POLICY_ALLOW, ""},

    /* containers named by other routes */
    {"exec create, other's", false, "alice", false, ROUTE_EXEC_CREATE, "web", false, false, true,
     "bob", false, "web", POLICY_DENY, BELONGS("web", "bob")},
    {"exec create, own", false, "alice", false, ROUTE_EXEC_CREATE, "web", false, false, true,
     "alice", false, "web", POLICY_ALLOW, ""},
    {"update, other's", false, "alice", false, ROUTE_CONTAINER_UPDATE, "web", false, false, true,
     "bob", false, "web", POLICY_DENY, BELONGS("web", "bob")},
    {"commit, other's", false, "alice", false, ROUTE_COMMIT, "", false, false, true, "bob", false,
     "web", POLICY_DENY, BELONGS("web", "bob")},
    {"commit, missing", false, "alice", false, ROUTE_COMMIT, "", false, false, false, "", false,
     "web", POLICY_NOT_FOUND, "No such container: web"},
    {"commit, own", false, "alice", false, ROUTE_COMMIT, "", false, false, true, "alice", false,
     "web", POLICY_ALLOW, ""},

    /* exec */
    {"exec, own", false, "alice", false, ROUTE_EXEC, "e1", false, false, true, "alice", false,
     "web", POLICY_ALLOW, ""},
    {"exec, other's", false, "alice", false, ROUTE_EXEC, "e1", false, false, true, "bob", false,
     "web", POLICY_DENY,
     "ds01: exec 'e1' runs in container 'web', which belongs to bob; you can only use your "
     "own containers (docker ps shows yours)"},
    {"exec, missing", false, "alice", false, ROUTE_EXEC, "e1", false, false, false, "", false, "",
     POLICY_NOT_FOUND, "No such exec instance: e1"},
    {"exec, unowned allow", false, "alice", true, ROUTE_EXEC, "e1", false, false, true, "", false,
     "web", POLICY_ALLOW_UNOWNED, ""},
    {"exec, unowned deny", false, "alice", false, ROUTE_EXEC, "e1", false, false, true, "", false,
     "web", POLICY_DENY, "ds01: container 'web' has no known owner; ask an admin"},

    /* volumes */
    {"volume, own", false, "alice", false, ROUTE_VOLUME, "data", false, false, true, "alice", false,
     "data", POLICY_ALLOW, ""},
    {"volume, other's", false, "alice", false, ROUTE_VOLUME, "data", false, false, true, "bob",
     false, "data", POLICY_DENY,
     "ds01: volume 'data' belongs to bob; you can only change your own volumes"},
    {"volume, unowned even with allow", false, "alice", true, ROUTE_VOLUME, "data", false, false,
     true, "", false, "data", POLICY_DENY,
     "ds01: volume 'data' was not created through ds01 and has no owner; only admins may "
     "change it"},
    {"volume, missing", false, "alice", false, ROUTE_VOLUME, "data", false, false, false, "", false,
     "data", POLICY_NOT_FOUND, "get data: no such volume"},

    /* networks */
    {"network, own", false, "alice", false, ROUTE_NETWORK, "n", false, false, true, "alice", false,
     "n", POLICY_ALLOW, ""},
    {"network, other's", false, "alice", false, ROUTE_NETWORK, "n", false, false, true, "bob",
     false, "n", POLICY_DENY,
     "ds01: network 'n' belongs to bob; you can only change your own networks"},
    {"network bridge", false, "alice", true, ROUTE_NETWORK, "bridge", false, false, true, "", false,
     "bridge", POLICY_DENY,
     "ds01: network 'bridge' was not created through ds01 and has no owner; only admins may "
     "change it"},
    {"network, missing", false, "alice", false, ROUTE_NETWORK, "foo", false, false, false, "",
     false, "foo", POLICY_NOT_FOUND, "network foo not found"},
};

static void test_access_table(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(access_cases); i++) {
                const struct access_case *c = &access_cases[i];
                struct policy_settings s = {.mode = ENFORCE_FULL,
                                            .unowned_allow = c->unowned_allow};
                struct policy_caller caller = {
                    .user = c->user, .uid = 1000, .gid = 1000, .home = "", .admin = c->admin};
                struct route r = {.kind = c->kind, .read_only = c->ro};
                struct policy_target t = {.exists = c->exists,
                                          .owner = c->owner,
                                          .is_protected = c->prot,
                                          .name = c->name};
                struct policy_decision d;
                enum policy_answer a;

                snprintf(r.ref, sizeof(r.ref), "%s", c->ref);
                if (c->kind == ROUTE_UNKNOWN)
                        r.why = WHY_UNKNOWN;
                memset(&d, 0xa5, sizeof(d));
                a = policy_access(&s, &caller, &r, c->no_target ? NULL : &t, &d);
                if (a != c->want || d.answer != c->want || !streq(d.reason, c->reason))
                        fail_msg("row %zu (%s): answer %d reason '%s'; want %d '%s'", i, c->desc,
                                 (int)a, d.reason, (int)c->want, c->reason);
                assert_true(strlen(d.reason) < POLICY_REASON_MAX);
                assert_null(strchr(d.reason, '\n'));
                if (a == POLICY_DENY)
                        assert_true(strncmp(d.reason, "ds01: ", 6) == 0);
        }
        assert_true(ELEMENTSOF(access_cases) >= 40);
}

/* A routed DENIED endpoint passes its reason on; NULL settings and caller are
 * the defaults (unowned denied, not an admin); modes are the engine's. */
static void test_access_misc(void **state)
{
        struct route r;
        struct policy_decision d;
        struct policy_caller alice = {.user = "alice"};
        struct policy_target unowned = {.exists = true, .owner = "", .name = "x"};
        struct policy_target bobs = {.exists = true, .owner = "bob", .name = "x"};
        struct policy_settings monitoring = {.mode = ENFORCE_MONITORING};
        struct policy_settings disabled = {.mode = ENFORCE_DISABLED};

        assert_int_equal(policy_route("POST", "/containers/prune", &r), ROUTE_DENIED);
        assert_int_equal(policy_access(NULL, &alice, &r, NULL, &d), POLICY_DENY);
        assert_string_equal(d.reason, r.why);

        assert_int_equal(policy_route("POST", "/containers/x/start", &r), ROUTE_CONTAINER);
        assert_int_equal(policy_access(NULL, &alice, &r, &unowned, &d), POLICY_DENY);
        assert_string_equal(d.reason, "ds01: container 'x' has no known owner; ask an admin");
        assert_int_equal(policy_access(NULL, NULL, &r, &bobs, &d), POLICY_DENY);
        assert_int_equal(policy_access(&monitoring, &alice, &r, &bobs, &d), POLICY_DENY);
        assert_int_equal(policy_access(&disabled, &alice, &r, &bobs, &d), POLICY_DENY);
        assert_string_equal(d.reason, BELONGS("x", "bob"));
}

/* ---- policy_filter_query ---- */

#define F_OURS "%7B%22label%22%3A%5B%22ds01.user%3Dalice%22%5D%7D"

static const struct {
        const char *query, *user;
        int r;
        const char *out;
} filter_cases[] = {
    {NULL, "alice", 0, "filters=" F_OURS},
    {"", "alice", 0, "filters=" F_OURS},
    {"all=1", "alice", 0, "all=1&filters=" F_OURS},
    {"all=1&limit=5&size=0", "alice", 0, "all=1&limit=5&size=0&filters=" F_OURS},
    {"filters=%7B%22status%22%3A%5B%22running%22%5D%7D&all=1", "alice", 0,
     "filters=%7B%22status%22%3A%5B%22running%22%5D%2C%22label%22%3A%5B%22ds01.user%3Dalice%"
     "22%5D%7D&all=1"},
    /* the map form stays a map */
    {"filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D", "alice", 0,
     "filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%2C%22ds01.user%3Dalice%22%3Atrue%7D%7D"},
    {"all=1&filters={\"status\":{\"running\":true}}", "alice", 0,
     "all=1&filters=%7B%22status%22%3A%7B%22running%22%3Atrue%7D%2C%22label%22%3A%7B%22ds01."
     "user%3Dalice%22%3Atrue%7D%7D"},
    {"filters=%7B%22label%22%3A%7B%22ds01.user%3Dalice%22%3Afalse%7D%7D", "alice", 0,
     "filters=%7B%22label%22%3A%7B%22ds01.user%3Dalice%22%3Atrue%7D%7D"},
    /* someone else's label filter is kept, and ours ANDed to it */
    {"filters=%7B%22label%22%3A%5B%22ds01.user%3Dbob%22%5D%7D", "alice", 0,
     "filters=%7B%22label%22%3A%5B%22ds01.user%3Dbob%22%2C%22ds01.user%3Dalice%22%5D%7D"},
    {"filters=" F_OURS, "alice", 0, "filters=" F_OURS},
    {"filters=%7B%22label%22:%5B%22a+b%22%5D%7D", "alice", 0,
     "filters=%7B%22label%22%3A%5B%22a%20b%22%2C%22ds01.user%3Dalice%22%5D%7D"},
    {"filters=", "alice", 0, "filters=" F_OURS},
    {"all=1&filters", "alice", 0, "all=1&filters=" F_OURS},
    {"filters=%7B%7D", "alice", 0, "filters=" F_OURS},
    {"filters=+%7B%7D+", "alice", 0, "filters=" F_OURS},
    /* other parameters byte for byte, in order; the key is rewritten */
    {"since=1%3A2&filter%73=%7B%7D&until=x+y&&a", "alice", 0,
     "since=1%3A2&filters=" F_OURS "&until=x+y&&a"},
    {"since=1700000000&until=1700000100&filters=%7B%22type%22%3A%5B%22container%22%5D%7D", "alice",
     0,
     "since=1700000000&until=1700000100&filters=%7B%22type%22%3A%5B%22container%22%5D%2C%"
     "22label%22%3A%5B%22ds01.user%3Dalice%22%5D%7D"},
    {"a=1&", "alice", 0, "a=1&&filters=" F_OURS},
    {"Filters=x", "alice", 0, "Filters=x&filters=" F_OURS},
    {NULL, "bob.smith", 0, "filters=%7B%22label%22%3A%5B%22ds01.user%3Dbob.smith%22%5D%7D"},
    /* refused */
    {"filters=%7B", "alice", -EINVAL, NULL},
    {"filters=%5B%5D", "alice", -EINVAL, NULL},
    {"filters=null", "alice", -EINVAL, NULL},
    {"filters=%22x%22", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%22x%22%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3Anull%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5B1%5D%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5Bnull%5D%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%7B%22a%22%3A%22yes%22%7D%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5B%22a%22%5D%2C%22status%22%3A%7B%22x%22%3Atrue%7D%7D", "alice",
     -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5B%5D%2C%22label%22%3A%5B%5D%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%7Dx", "alice", -EINVAL, NULL},
    {"filters=%7B%7D&filters=%7B%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%7D&filter%73=%7B%7D", "alice", -EINVAL, NULL},
    {"filters&filters", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5B%22a%00%22%5D%7D", "alice", -EINVAL, NULL},
    {"filters=%7B%22label%22%3A%5B%22%FF%22%5D%7D", "alice", -EINVAL, NULL},
    {"all=1;filters=%7B%7D", "alice", -EINVAL, NULL},
    {"all=%zz", "alice", -EINVAL, NULL},
    {"all%=1", "alice", -EINVAL, NULL},
    {"", "", -EINVAL, NULL},
    {"", NULL, -EINVAL, NULL},
};

static void test_filter_query(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(filter_cases); i++) {
                char *out = (char *)0x1;
                int r = policy_filter_query(filter_cases[i].query, filter_cases[i].user, &out);

                if (r != filter_cases[i].r)
                        fail_msg("row %zu: '%s': r %d, want %d", i,
                                 filter_cases[i].query ? filter_cases[i].query : "(null)", r,
                                 filter_cases[i].r);
                if (r < 0) {
                        assert_ptr_equal(out, (char *)0x1); /* untouched */
                        continue;
                }
                if (!streq(out, filter_cases[i].out))
                        fail_msg("row %zu: '%s' -> '%s', want '%s'", i,
                                 filter_cases[i].query ? filter_cases[i].query : "(null)", out,
                                 filter_cases[i].out);
                free(out);
        }
}

static void test_filter_query_long(void **state)
{
        size_t n = 64 * 1024 + 1;
        char *q = malloc(n + 1), *out = NULL;

        assert_non_null(q);
        memset(q, 'a', n);
        q[n] = '\0';
        assert_int_equal(policy_filter_query(q, "alice", &out), -EINVAL);
        q[n - 1] = '\0'; /* exactly 64 KiB: fine */
        assert_int_equal(policy_filter_query(q, "alice", &out), 0);
        assert_true(strlen(out) == n - 1 + strlen("&filters=" F_OURS));
        free(out);
        free(q);
}

/* ---- build and image-delete queries ---- */

#define BUILD_HOST                                                                                 \
        "ds01: docker build --network=host is not allowed; leave --network out to use the "        \
        "default network"
#define BUILD_CGROUP                                                                               \
        "ds01: docker build --cgroup-parent is not allowed; ds01 decides where containers run, "   \
        "leave it out"
#define BUILD_MALFORMED "ds01: the build request's query string is malformed; use the docker client"

static const struct {
        const char *query;
        bool ok;
        const char *reason;
} build_cases[] = {
    {NULL, true, ""},
    {"", true, ""},
    {"t=img&networkmode=&cgroupparent=&remote=&dockerfile=Dockerfile&q=0", true, ""},
    {"networkmode=default", true, ""},
    {"networkmode=bridge", true, ""},
    {"networkmode=none", true, ""},
    {"networkmode=bridge&networkmode=host", true, ""}, /* Docker reads the first */
    {"networkmode=host", false, BUILD_HOST},
    {"t=x&networkmode=ho%73t", false, BUILD_HOST},
    {"network%6Dode=host", false, BUILD_HOST},
    {"networkmode=host&networkmode=bridge", false, BUILD_HOST},
    {"networkmode=HOST", false,
     "ds01: docker build --network='HOST' is not allowed; builds may use the default, bridge "
     "or none network"},
    {"networkmode=container:abc", false,
     "ds01: docker build --network='container:abc' is not allowed; builds may use the "
     "default, bridge or none network"},
    {"networkmode=mynet", false,
     "ds01: docker build --network='mynet' is not allowed; builds may use the default, bridge "
     "or none network"},
    {"networkmode=%00", false, BUILD_MALFORMED},
    {"cgroupparent=/system.slice", false, BUILD_CGROUP},
    {"cgroupparent=+", false, BUILD_CGROUP},
    {"cgroupparent=", true, ""},
    {"cgroupparent", true, ""},
    {"remote=/etc", false,
     "ds01: building from a path on the Docker host ('/etc') is not allowed; run docker build "
     "with a local folder or a URL"},
    {"remote=%2Fetc%2Fshadow", false,
     "ds01: building from a path on the Docker host ('/etc/shadow') is not allowed; run "
     "docker build with a local folder or a URL"},
    {"remote=file:///etc", false,
     "ds01: building from a path on the Docker host ('file:///etc') is not allowed; run "
     "docker build with a local folder or a URL"},
    {"remote=FILE:/x", false,
     "ds01: building from a path on the Docker host ('FILE:/x') is not allowed; run docker "
     "build with a local folder or a URL"},
    {"remote=+/x", false,
     "ds01: building from a path on the Docker host (' /x') is not allowed; run docker build "
     "with a local folder or a URL"},
    {"remote=./x", false,
     "ds01: building from a path on the Docker host ('./x') is not allowed; run docker build "
     "with a local folder or a URL"},
    {"remote=~/x", false,
     "ds01: building from a path on the Docker host ('~/x') is not allowed; run docker build "
     "with a local folder or a URL"},
    {"remote=https://github.com/docker/docker.git", true, ""},
    {"remote=git@github.com:a/b.git", true, ""},
    {"remote=client-session&networkmode=none", true, ""},
    {"networkmode=host;x", false, BUILD_MALFORMED},
    {"networkmode=%zz", false, BUILD_MALFORMED},
    {"a=%g0&networkmode=bridge", false, BUILD_MALFORMED},
};

static void test_build_query(void **state)
{
        char big[5100];
        struct policy_decision d;

        for (size_t i = 0; i < ELEMENTSOF(build_cases); i++) {
                bool ok;

                memset(&d, 0xa5, sizeof(d));
                ok = policy_check_build_query(build_cases[i].query, &d);
                if (ok != build_cases[i].ok || !streq(d.reason, build_cases[i].reason) ||
                    d.answer != (ok ? POLICY_ALLOW : POLICY_DENY))
                        fail_msg("row %zu: '%s': %d '%s'; want %d '%s'", i,
                                 build_cases[i].query ? build_cases[i].query : "(null)", ok,
                                 d.reason, build_cases[i].ok, build_cases[i].reason);
        }

        /* a value too long to read is refused, not skipped */
        memcpy(big, "networkmode=", 12);
        memset(big + 12, 'b', 5000);
        big[5012] = '\0';
        assert_false(policy_check_build_query(big, &d));
        assert_string_equal(d.reason, "ds01: the build's network mode is malformed or too long; "
                                      "leave --network out");
}

#define RMI_FORCE                                                                                  \
        "ds01: docker rmi --force is not allowed; remove the containers that use the image "       \
        "first, or ask an admin"

static const struct {
        const char *query;
        bool ok;
        bool malformed;
} rmi_cases[] = {
    {NULL, true, false},
    {"", true, false},
    {"noprune=1", true, false},
    {"force=0", true, false},
    {"force=false", true, false},
    {"force=False", true, false},
    {"force=FALSE", true, false},
    {"force=no", true, false},
    {"force=none", true, false},
    {"force=", true, false},
    {"force", true, false},
    {"force=+false+", true, false},
    {"force=%09no", true, false},
    {"force=0&force=1", true, false}, /* Docker reads the first */
    {"Force=1", true, false},
    {"force=1", false, false},
    {"force=true", false, false},
    {"force=TRUE", false, false},
    {"force=True", false, false},
    {"force=yes", false, false},
    {"force=2", false, false},
    {"force=on", false, false},
    {"force=-1", false, false},
    {"force=%31", false, false},
    {"forc%65=1", false, false},
    {"noprune=1&force=1", false, false},
    {"force=+1+", false, false},
    {"force=1&force=0", false, false},
    {"force=falsefalsefalsefalse", false, false},
    {"force=%00", false, true},
    {"force=0;force=1", false, true},
    {"force=%zz", false, true},
};

static void test_image_delete_query(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(rmi_cases); i++) {
                struct policy_decision d;
                bool ok;

                memset(&d, 0xa5, sizeof(d));
                ok = policy_check_image_delete_query(rmi_cases[i].query, &d);
                if (ok != rmi_cases[i].ok)
                        fail_msg("row %zu: '%s': %d, want %d", i,
                                 rmi_cases[i].query ? rmi_cases[i].query : "(null)", ok,
                                 rmi_cases[i].ok);
                assert_int_equal(d.answer, ok ? POLICY_ALLOW : POLICY_DENY);
                if (ok)
                        assert_string_equal(d.reason, "");
                else if (!rmi_cases[i].malformed)
                        assert_string_equal(d.reason, RMI_FORCE);
                else
                        assert_string_equal(d.reason, "ds01: the image delete request's query "
                                                      "string is malformed; use the docker client");
        }
}

/* ---- policy_query_get ---- */

static void test_query_get(void **state)
{
        static const struct {
                const char *query, *name;
                size_t size;
                bool found;
                const char *value;
        } cases[] = {
            {"a=1&b", "b", 16, true, ""},        {"a=1&b", "a", 16, true, "1"},
            {"a=1&b=", "b", 16, true, ""},       {"a=1", "c", 16, false, NULL},
            {"a=x+y%21", "a", 16, true, "x y!"}, {"a=%2B", "a", 16, true, "+"},
            {NULL, "a", 16, false, NULL},        {"", "a", 16, false, NULL},
            {"a=1234", "a", 5, true, "1234"},    {"a=12345", "a", 5, false, NULL},
            {"a=1", "a", 0, false, NULL},        {"a=1&a=2", "a", 16, true, "1"},
            {"%61=1", "a", 16, true, "1"},       {"a+b=1", "a b", 16, true, "1"},
            {"a=%zz&a=2", "a", 16, false, NULL}, {"a=%00", "a", 16, false, NULL},
            {"ab=1", "a", 16, false, NULL},      {"=1&a=2", "a", 16, true, "2"},
            {"&&a=3&&", "a", 16, true, "3"},     {"a=b=c", "a", 16, true, "b=c"},
            {"A=1", "a", 16, false, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[16] = "untouched";
                bool found = policy_query_get(cases[i].query, cases[i].name, buf, cases[i].size);

                if (found != cases[i].found || (found && !streq(buf, cases[i].value)) ||
                    (!found && !streq(buf, "untouched")))
                        fail_msg("row %zu: '%s' %s: %d '%s'", i,
                                 cases[i].query ? cases[i].query : "(null)", cases[i].name, found,
                                 buf);
        }
}

/* ---- proxy_admit: the connection caps ---- */

static void test_admit(void **state)
{
        static const struct {
                unsigned per_user, total; /* limits; 0 = none */
                uid_t uid;
                unsigned user_open, total_open, fd_cap;
                enum proxy_admit want;
        } cases[] = {
            {128, 1024, 1000, 0, 0, 0, PROXY_ADMIT_OK},
            {128, 1024, 1000, 127, 500, 0, PROXY_ADMIT_OK},
            {128, 1024, 1000, 128, 500, 0, PROXY_ADMIT_USER_FULL},
            {128, 1024, 1000, 500, 500, 0, PROXY_ADMIT_USER_FULL},
            {128, 1024, 1000, 10, 1023, 0, PROXY_ADMIT_OK},
            {128, 1024, 1000, 10, 1024, 0, PROXY_ADMIT_ALL_FULL},
            /* the user's cap is told first: it is the one they can act on */
            {128, 1024, 1000, 128, 1024, 0, PROXY_ADMIT_USER_FULL},
            /* root is never capped */
            {128, 1024, 0, 5000, 5000, 100, PROXY_ADMIT_OK},
            /* no caps */
            {0, 0, 1000, 100000, 100000, 0, PROXY_ADMIT_OK},
            {0, 1024, 1000, 1000, 1000, 0, PROXY_ADMIT_OK},
            {128, 0, 1000, 100, 100000, 0, PROXY_ADMIT_OK},
            /* the descriptor limit lowers the total cap, never raises it */
            {128, 1024, 1000, 10, 384, 384, PROXY_ADMIT_ALL_FULL},
            {128, 1024, 1000, 10, 383, 384, PROXY_ADMIT_OK},
            {128, 0, 1000, 10, 384, 384, PROXY_ADMIT_ALL_FULL},
            {128, 100, 1000, 10, 100, 384, PROXY_ADMIT_ALL_FULL},
            {128, 1024, 1000, 10, 1000, 32640, PROXY_ADMIT_OK},
            /* an unknown peer (SO_PEERCRED failed: uid -1) is capped like anyone */
            {128, 1024, (uid_t)-1, 128, 200, 0, PROXY_ADMIT_USER_FULL},
        };
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct proxy_limits l = PROXY_DEFAULT_LIMITS;
                enum proxy_admit got;
                l.max_per_user = cases[i].per_user;
                l.max_total = cases[i].total;
                got = proxy_admit(&l, cases[i].uid, cases[i].user_open, cases[i].total_open,
                                  cases[i].fd_cap);
                if (got != cases[i].want)
                        fail_msg("case %zu: got %d, want %d", i, (int)got, (int)cases[i].want);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_admit),          cmocka_unit_test(test_route_table),
            cmocka_unit_test(test_route_ref_span), cmocka_unit_test(test_route_long),
            cmocka_unit_test(test_access_table),   cmocka_unit_test(test_access_misc),
            cmocka_unit_test(test_filter_query),   cmocka_unit_test(test_filter_query_long),
            cmocka_unit_test(test_build_query),    cmocka_unit_test(test_image_delete_query),
            cmocka_unit_test(test_query_get),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
