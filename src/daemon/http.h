/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * http.h - ds01d's TCP listener (--listen ADDR:PORT): health now; metrics and
 * the web page in later issues. Port 0 picks a free port; the chosen one is
 * in d->http_port.
 */
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct ds01d;

/* "127.0.0.1:9101", "[::1]:0", "0.0.0.0:9101". Returns 0, or -EINVAL. */
int http_parse_listen(const char *s, char *ret_addr, size_t addr_size, unsigned *ret_port);

int http_start(struct ds01d *d);
void http_stop(struct ds01d *d);

/* web.c: the dashboard (GET /, its assets) and the read-only JSON under
 * /api/v1/ on the same listener. Returns true and sets *ret when url is its. */
bool web_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, enum MHD_Result *ret);
