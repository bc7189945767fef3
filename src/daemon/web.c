/* SPDX-License-Identifier: MIT */
/* web.c - the dashboard on the --listen port (stub; issue 8). */
#include "daemon/daemon.h"
#include "daemon/http.h"

bool web_route(struct ds01d *d, struct MHD_Connection *conn, const char *url,
               enum MHD_Result *ret)
{
        (void)d;
        (void)conn;
        (void)url;
        (void)ret;
        return false;
}
