/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * api.h - what the handlers of the control API share (control.c owns the
 * server, identification and routing; lifecycle-glue.c and access.c add
 * their endpoints through the *_route functions below). A handler runs on
 * libmicrohttpd's thread; it takes d->lock itself around state it reads.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/daemon.h"
#include "util/macro.h"

struct request_ctx {
        char *body;
        size_t len, cap;
        bool too_large;
        bool identified;
        uid_t uid;
        gid_t gid;
        char user[STORE_NAME_MAX];
        bool admin;
        struct waiter *waiter;
};

/* Answer j (stolen; NULL = an empty body) with status. */
enum MHD_Result api_reply(struct MHD_Connection *conn, unsigned status, json_t *j);
/* {"error": code, "message": printf(fmt, ...)} */
enum MHD_Result api_reply_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *fmt, ...) _printf_(4, 5);
/* A query argument, NULL when absent or empty. */
const char *api_arg(struct MHD_Connection *conn, const char *key);
/* The body as a JSON object whose keys are all in `allowed` (NULL-terminated);
 * an empty body is {}. NULL with err filled when it is not. */
json_t *api_parse_body(struct request_ctx *rc, const char *const *allowed, char *err,
                       size_t err_size);

/* Extra endpoints: return true and set *ret when url is theirs (any method;
 * a wrong method is answered 405 by them). */
bool lifecycle_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                     const char *method, struct request_ctx *rc, enum MHD_Result *ret);
bool access_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, const char *method,
                  struct request_ctx *rc, enum MHD_Result *ret);
/* overview.c: GET /v1/overview. usage.c: GET /v1/usage, GET /v1/report. */
bool overview_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                    const char *method, struct request_ctx *rc, enum MHD_Result *ret);
bool usage_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, const char *method,
                 struct request_ctx *rc, enum MHD_Result *ret);

/* The whole server in one object (overview.c; the shape is in docs/API.md,
 * "GET /v1/overview"). Takes d->lock itself. NULL on failure. */
json_t *overview_json(struct ds01d *d);
/* Views the overview shares with the endpoints that first built them:
 * control.c: one reservation (GET /v1/reservations) and one event (GET
 * /v1/events); lifecycle-glue.c: the last lifecycle pass's containers (GET
 * /v1/lifecycle, every user's; takes the lifecycle's own mutex, never
 * d->lock) and the quota alerts of `user` (NULL = all; GET /v1/alerts; takes
 * d->lock, NULL when the database fails). */
json_t *reservation_json(const struct store_reservation *r, int64_t now_s);
json_t *event_json(const struct store_event *e);
json_t *lifecycle_view_json(void);
json_t *alerts_json(struct ds01d *d, const char *user);
/* GPU-hours allocated and used, per `by` ("user", "group" or "slot"), over
 * [since_s, until_s) (usage.c; docs/API.md "GET /v1/usage"). Takes d->lock
 * itself. NULL with err filled on bad arguments or failure. */
json_t *usage_json(struct ds01d *d, int64_t since_s, int64_t until_s, const char *by, char *err,
                   size_t err_size);
