/* SPDX-License-Identifier: MIT */
/*
 * web.c - the dashboard on the --listen port: GET / (index.html), its CSS and
 * JavaScript (embedded at build time, web/assets.h), and the read-only JSON it
 * reads under /api/v1/:
 *   /api/v1/overview                          overview_json() (docs/API.md)
 *   /api/v1/usage?days=N&by=user              GPU-hours of the last N days
 *   /api/v1/usage?since=T&until=T&by=user     as GET /v1/usage (usage_json())
 * Anything else under /api/ is 404 JSON. Only GET and HEAD reach here (http.c
 * answers 405 to the rest). Every answer carries a strict Content-Security-
 * Policy (no inline script or style, nothing from elsewhere), nosniff and
 * no-referrer; API answers are never cached.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "daemon/web/assets.h"
#include "store/usage-sum.h"
#include "util/strutil.h"

#define CSP                                                                                        \
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "             \
        "frame-ancestors 'none'"

/* The usage chart asks for 7 or 30 days; a script may ask for up to this. */
#define USAGE_DAYS_MAX 3660

static void add_headers(struct MHD_Response *resp, const char *type, bool api)
{
        MHD_add_response_header(resp, "Content-Type", type);
        MHD_add_response_header(resp, "Content-Security-Policy", CSP);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        /* Assets: revalidate, so that an upgraded ds01d is seen at once. */
        MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
}

static enum MHD_Result reply_asset(struct MHD_Connection *conn, const struct web_asset *a)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return MHD_NO;
        add_headers(resp, a->content_type, false);
        ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* Answer j (stolen) as JSON. */
static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *j)
{
        char *body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;

        json_decref(j);
        if (!body) {
                body = strdup("{\"error\":\"INTERNAL\",\"message\":\"out of memory\"}");
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!body)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        add_headers(resp, "application/json", true);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                   const char *msg)
{
        return reply_json(conn, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

static const struct web_asset *find_asset(const char *url)
{
        if (streq(url, "/"))
                url = "/index.html";
        for (size_t i = 0; i < web_assets_count; i++)
                if (streq(web_assets[i].path, url))
                        return &web_assets[i];
        return NULL;
}

static enum MHD_Result serve_overview(struct ds01d *d, struct MHD_Connection *conn)
{
        json_t *j = overview_json(d);

        if (!j)
                return reply_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "UNAVAILABLE",
                                   "the overview is not available right now; try again in a few "
                                   "seconds, or see the ds01d log");
        return reply_json(conn, MHD_HTTP_OK, j);
}

/* The window of the query: days=N (the last N days), else since/until as GET
 * /v1/usage takes them (default the last 30 days). Returns 0, or -EINVAL
 * with msg filled. */
static int usage_window(struct MHD_Connection *conn, int64_t now, int64_t *since, int64_t *until,
                        char *msg, size_t msg_size)
{
        const char *days = api_arg(conn, "days");
        const char *s = api_arg(conn, "since"), *u = api_arg(conn, "until");

        *since = now - 30 * 86400;
        *until = now;
        if (days) {
                long long n;
                if (s || u) {
                        snprintf(msg, msg_size, "give either days or since/until, not both");
                        return -EINVAL;
                }
                if (safe_atoi64(days, &n) < 0 || n < 1 || n > USAGE_DAYS_MAX) {
                        snprintf(msg, msg_size, "days must be a whole number from 1 to %d",
                                 USAGE_DAYS_MAX);
                        return -EINVAL;
                }
                *since = now - n * 86400;
                return 0;
        }
        if (s && usage_parse_time(s, now, since) < 0) {
                snprintf(msg, msg_size,
                         "since '%.64s' is not a time: give 30d, 12h, YYYY-MM-DD or an ISO 8601 "
                         "time",
                         s);
                return -EINVAL;
        }
        if (u && usage_parse_time(u, now, until) < 0) {
                snprintf(msg, msg_size,
                         "until '%.64s' is not a time: give now, YYYY-MM-DD or an ISO 8601 time",
                         u);
                return -EINVAL;
        }
        return 0;
}

static enum MHD_Result serve_usage(struct ds01d *d, struct MHD_Connection *conn)
{
        int64_t since, until;
        char msg[256], err[256] = "";
        json_t *j;

        if (usage_window(conn, now_us() / 1000000, &since, &until, msg, sizeof(msg)) < 0)
                return reply_error(conn, MHD_HTTP_BAD_REQUEST, "BAD_REQUEST", msg);
        j = usage_json(d, since, until, api_arg(conn, "by") ?: "user", err, sizeof(err));
        if (!j) {
                /* usage_json's own failures start so; the rest is the query's fault. */
                bool ours = !*err || startswith(err, "cannot") || startswith(err, "out of");
                return reply_error(conn, ours ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST,
                                   ours ? "UNAVAILABLE" : "BAD_REQUEST",
                                   *err ? err
                                        : "usage figures are not available; see the ds01d log");
        }
        return reply_json(conn, MHD_HTTP_OK, j);
}

bool web_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, enum MHD_Result *ret)
{
        const struct web_asset *a;

        if (streq(url, "/api/v1/overview")) {
                *ret = serve_overview(d, conn);
                return true;
        }
        if (streq(url, "/api/v1/usage")) {
                *ret = serve_usage(d, conn);
                return true;
        }
        if (streq(url, "/api") || startswith(url, "/api/")) {
                *ret =
                    reply_error(conn, MHD_HTTP_NOT_FOUND, "NOT_FOUND",
                                "no such API path; try /api/v1/overview or /api/v1/usage?days=7");
                return true;
        }
        a = find_asset(url);
        if (!a)
                return false;
        *ret = reply_asset(conn, a);
        return true;
}
