/* SPDX-License-Identifier: MIT */
/*
 * http.c - the TCP listener of ds01d (--listen). Serves GET /health (JSON:
 * daemon up, NVML, slots) for load balancers and scripts. We bind the socket
 * ourselves so port 0 works and the chosen port can be written for tests.
 * Serves /metrics (Prometheus) and /health ("OK").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/http.h"
#include "metrics/expo.h"
#include "util/log.h"
#include "util/strutil.h"

/* The metrics page may not grow past this (a few hundred KiB in practice). */
#define METRICS_MAX (32 * 1024 * 1024)

int http_parse_listen(const char *s, char *ret_addr, size_t addr_size, unsigned *ret_port)
{
        const char *colon, *host = s;
        size_t hlen;
        char buf[64];
        long long port;

        if (!s || !*s)
                return -EINVAL;
        if (s[0] == '[') {
                const char *e = strchr(s, ']');
                if (!e || e[1] != ':')
                        return -EINVAL;
                host = s + 1;
                hlen = (size_t)(e - host);
                colon = e + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                hlen = (size_t)(colon - s);
        }
        if (hlen == 0 || hlen >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, host, hlen);
        buf[hlen] = '\0';
        if (safe_atoi64(colon + 1, &port) < 0 || port < 0 || port > 65535)
                return -EINVAL;
        {
                struct in6_addr a6;
                struct in_addr a4;
                if (inet_pton(AF_INET, buf, &a4) != 1 && inet_pton(AF_INET6, buf, &a6) != 1)
                        return -EINVAL;
        }
        if (ret_addr) {
                if (hlen >= addr_size)
                        return -EINVAL;
                memcpy(ret_addr, buf, hlen + 1);
        }
        if (ret_port)
                *ret_port = (unsigned)port;
        return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, json_t *j)
{
        char *body = json_dumps(j, JSON_COMPACT);
        struct MHD_Response *resp;
        enum MHD_Result ret;

        json_decref(j);
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

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, char *body,
                                  const char *type)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (!body)
                return MHD_NO;
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", type);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
        struct ds01d *d = cls;

        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return reply(conn, 405,
                             json_pack("{s:s, s:s}", "error", "METHOD_NOT_ALLOWED", "message",
                                       "only GET is served here"));
        if (streq(url, "/health")) {
                bool stopping;
                pthread_mutex_lock(&d->lock);
                stopping = d->stopping;
                pthread_mutex_unlock(&d->lock);
                return reply_text(conn, stopping ? 503 : 200,
                                  strdup(stopping ? "STOPPING\n" : "OK\n"),
                                  "text/plain; charset=utf-8");
        }
        if (streq(url, "/metrics")) {
                struct strbuf sb;
                int r;
                strbuf_init(&sb, METRICS_MAX);
                r = metrics_collect(d, &sb);
                if (r < 0 && sb.len == 0) {
                        strbuf_release(&sb);
                        return reply_text(conn, 500, strdup("metrics failed; see the ds01d log\n"),
                                          "text/plain; charset=utf-8");
                }
                return reply_text(conn, 200, strbuf_steal(&sb), EXPO_CONTENT_TYPE);
        }
        {
                enum MHD_Result ret;
                if (web_route(d, conn, url, &ret))
                        return ret;
        }
        return reply(conn, 404,
                     json_pack("{s:s, s:s}", "error", "NOT_FOUND", "message",
                               "no such page; try /, /metrics or /health"));
}

int http_start(struct ds01d *d)
{
        char addr[64];
        unsigned port;
        struct sockaddr_storage ss = {0};
        socklen_t len;
        int fd, one = 1;

        if (http_parse_listen(d->opt.listen, addr, sizeof(addr), &port) < 0)
                return -EINVAL;
        if (strchr(addr, ':')) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t)port);
                inet_pton(AF_INET6, addr, &a->sin6_addr);
                len = sizeof(*a);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t)port);
                inet_pton(AF_INET, addr, &a->sin_addr);
                len = sizeof(*a);
        }
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "socket: %m");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
                int r = -errno;
                close(fd);
                return log_error_errno(r, "cannot listen on %s: %m", d->opt.listen);
        }
        len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
                d->http_port =
                    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
        d->http_fd = fd;
        /* limits (docs/SECURITY.md): 30 s idle, 256 connections, 64 from one
         * address (a remote scraper or browser cannot take them all), 32 KiB
         * of memory each (request heads; nothing here takes a body) */
        d->http = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handler, d,
            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned)64, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_END);
        if (!d->http) {
                close(fd);
                d->http_fd = -1;
                return log_error_errno(-EIO, "cannot start the HTTP listener on %s", d->opt.listen);
        }
        return 0;
}

void http_stop(struct ds01d *d)
{
        if (d->http)
                MHD_stop_daemon(d->http);
        d->http = NULL;
        if (d->http_fd >= 0)
                close(d->http_fd);
        d->http_fd = -1;
}
