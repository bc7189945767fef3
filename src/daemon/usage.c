/* SPDX-License-Identifier: MIT */
/* usage.c - GET /v1/usage and /v1/report (stub; issue 8). */
#include <stdio.h>

#include "daemon/api.h"

json_t *usage_json(struct ds01d *d, int64_t since_s, int64_t until_s, const char *by, char *err,
                   size_t err_size)
{
        (void)d;
        (void)since_s;
        (void)until_s;
        (void)by;
        (void)snprintf(err, err_size, "not built yet");
        return NULL;
}

bool usage_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, const char *method,
                 struct request_ctx *rc, enum MHD_Result *ret)
{
        (void)d;
        (void)conn;
        (void)url;
        (void)method;
        (void)rc;
        (void)ret;
        return false;
}
