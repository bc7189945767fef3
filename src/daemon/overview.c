/* SPDX-License-Identifier: MIT */
/* overview.c - GET /v1/overview (stub; issue 8). */
#include "daemon/api.h"

json_t *overview_json(struct ds01d *d)
{
        (void)d;
        return NULL;
}

bool overview_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
                    const char *method, struct request_ctx *rc, enum MHD_Result *ret)
{
        (void)d;
        (void)conn;
        (void)url;
        (void)method;
        (void)rc;
        (void)ret;
        return false;
}
