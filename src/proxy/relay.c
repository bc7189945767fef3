/* SPDX-License-Identifier: MIT */
/*
 * relay.c - moving bytes for the proxy: request heads and bodies from the
 * client to Docker, answers back, and both ways after a hijack. Bodies and
 * answers pass through as received; libhttp-parser only tells where each
 * message ends, so nothing is re-encoded.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "proxy/proxy-internal.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

int send_all(int fd, const void *buf, size_t n)
{
        const char *p = buf;

        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int upstream_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int conn_upstream(struct conn *c)
{
        int fd;

        if (c->ufd >= 0)
                return 0;
        fd = upstream_connect(c->p->upstream);
        if (fd < 0)
                return fd;
        c->ufd = fd;
        return 0;
}

static const char *reason_phrase(unsigned status)
{
        switch (status) {
        case 400:
                return "Bad Request";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 408:
                return "Request Timeout";
        case 409:
                return "Conflict";
        case 413:
                return "Payload Too Large";
        case 414:
                return "URI Too Long";
        case 429:
                return "Too Many Requests";
        case 431:
                return "Request Header Fields Too Large";
        case 500:
                return "Internal Server Error";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        default:
                return "Error";
        }
}

/* The bytes of an answer of ds01's own into sb (initialised here). */
static int format_reply(struct strbuf *sb, unsigned status, const char *message, bool close)
{
        json_t *o = json_pack("{s:s}", "message", message);
        char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        int r;

        json_decref(o);
        strbuf_init(sb, 64 * 1024);
        if (!body)
                return -ENOMEM;
        r = strbuf_printf(sb,
                          "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n%s\r\n%s\n",
                          status, reason_phrase(status), strlen(body) + 1,
                          close ? "Connection: close\r\n" : "", body);
        free(body);
        return r;
}

int conn_reply(struct conn *c, unsigned status, const char *message, bool close)
{
        struct strbuf sb;
        int r = format_reply(&sb, status, message, close);

        if (r >= 0)
                r = send_all(c->cfd, sb.buf, sb.len);
        strbuf_release(&sb);
        return r;
}

void fd_reply(int fd, unsigned status, const char *message)
{
        struct strbuf sb;

        if (format_reply(&sb, status, message, true) >= 0)
                (void)send(fd, sb.buf, sb.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        strbuf_release(&sb);
}

int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is readable or deadline (mono_ms; 0: none) passes. 0 or
 * -ETIMEDOUT. */
static int wait_readable(int fd, int64_t deadline)
{
        for (;;) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                int64_t left = deadline ? deadline - mono_ms() : -1;
                int k;

                if (deadline && left <= 0)
                        return -ETIMEDOUT;
                k = poll(&pf, 1, left < 0 ? -1 : (int)MIN(left, INT32_MAX));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k == 0)
                        return -ETIMEDOUT;
                return 0; /* readable, closed or failed: recv will tell */
        }
}

/* Read more from the client into c->buf, waiting at most until deadline
 * (mono_ms; 0: no limit). >0 bytes, 0 at EOF, -ETIMEDOUT, -errno. */
static ssize_t fill(struct conn *c, int64_t deadline)
{
        for (;;) {
                ssize_t k;
                if (c->len >= CONN_BUF_SIZE)
                        return -ENOBUFS;
                if (deadline) {
                        int r = wait_readable(c->cfd, deadline);
                        if (r < 0)
                                return r;
                }
                k = recv(c->cfd, c->buf + c->len, CONN_BUF_SIZE - c->len, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                c->len += (size_t)k;
                return k;
        }
}

static void consume(struct conn *c, size_t n)
{
        if (n >= c->len) {
                c->len = 0;
                return;
        }
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
}

int conn_read_head(struct conn *c, struct http_request_head *h, char *err, size_t err_size)
{
        struct proxy_limits lim;
        bool first = c->n_heads == 0;
        int64_t start = first ? c->start_ms : mono_ms(), deadline;

        proxy_limits_now(c->p, &lim);
        if (c->len == 0 && !first && lim.idle_ms > 0) {
                /* kept alive: the next request may take idle_ms to come */
                if (wait_readable(c->cfd, start + lim.idle_ms) < 0) {
                        (void)snprintf(err, err_size, "idle for %lld s",
                                       (long long)(lim.idle_ms / 1000));
                        return 2;
                }
                start = mono_ms();
        }
        deadline = lim.head_ms > 0 ? start + lim.head_ms : 0;
        for (;;) {
                ssize_t k;
                int r = c->len > 0 ? http_request_head_parse(c->buf, c->len, h, err, err_size)
                                   : -EAGAIN;
                if (r == 0) {
                        c->n_heads++;
                        return 0;
                }
                if (r == -E2BIG) {
                        (void)conn_reply(c, 431,
                                         "ds01: the request head is larger than 16 KiB; "
                                         "send fewer or shorter headers",
                                         true);
                        return r;
                }
                if (r == -EINVAL) {
                        char msg[256];
                        (void)snprintf(msg, sizeof(msg), "ds01: malformed request (%s)", err);
                        (void)conn_reply(c, 400, msg, true);
                        return r;
                }
                k = fill(c, deadline);
                if (k == -ETIMEDOUT) {
                        char msg[256];
                        (void)snprintf(msg, sizeof(msg),
                                       "ds01: the request head did not arrive within %lld s; "
                                       "send each request at once, whole",
                                       (long long)(lim.head_ms / 1000));
                        (void)snprintf(err, err_size, "no whole request head within %lld s",
                                       (long long)(lim.head_ms / 1000));
                        (void)conn_reply(c, 408, msg, true);
                        return -ETIMEDOUT;
                }
                if (k == 0) {
                        if (c->len == 0)
                                return 1;
                        (void)snprintf(err, err_size, "the client closed within a request head");
                        return -EPIPE;
                }
                if (k < 0) {
                        (void)snprintf(err, err_size, "reading from the client: %s",
                                       strerror((int)-k));
                        return (int)k;
                }
        }
}

/* ---- request bodies ---- */

/* Move a request's body from the client to fd (when >= 0) and/or out: exactly
 * Content-Length bytes, or a chunked body read strictly (chunked_feed), whose
 * bytes pass through unchanged. An Upgrade request's body is its
 * Content-Length too (Go's server reads it before it hijacks). The whole body
 * must have come by deadline (mono_ms; 0: no limit, for bodies passed
 * through: image loads and build contexts may take long). Consumes the
 * request from c->buf. 0 or -errno. */
static int body_run(struct conn *c, const struct http_request_head *h, int fd, struct strbuf *out,
                    int64_t deadline)
{
        struct chunked_decoder dec = {0};
        uint64_t left = h->content_length > 0 ? (uint64_t)h->content_length : 0;
        bool chunked = h->chunked && !h->upgrade, done = !chunked && left == 0;

        consume(c, h->head_len);
        while (!done) {
                size_t n;
                ssize_t k;
                int r = 0;

                if (c->len > 0) {
                        if (chunked) {
                                /* framing checked; data decoded into out */
                                ssize_t used = chunked_feed(&dec, c->buf, c->len, &done, out);
                                if (used < 0)
                                        return (int)used;
                                n = (size_t)used;
                        } else {
                                n = (size_t)MIN((uint64_t)c->len, left);
                                if (out)
                                        r = strbuf_append(out, c->buf, n);
                                left -= n;
                                done = left == 0;
                        }
                        if (r >= 0 && fd >= 0 && n > 0)
                                r = send_all(fd, c->buf, n);
                        if (r < 0)
                                return r;
                        consume(c, n);
                        if (done)
                                break;
                }
                k = fill(c, deadline);
                if (k == 0)
                        return -EPIPE;
                if (k < 0)
                        return (int)k;
        }
        c->request_done = true;
        return 0;
}

void conn_skip_request(struct conn *c, const struct http_request_head *h)
{
        if (!c->request_done && !h->chunked && h->content_length <= 0) {
                consume(c, h->head_len);
                c->request_done = true;
        }
}

int conn_forward_request(struct conn *c, const struct http_request_head *h, const char *head,
                         size_t head_len)
{
        int r = conn_upstream(c);

        if (r < 0)
                return r;
        r = send_all(c->ufd, head, head_len);
        if (r < 0)
                return r;
        return body_run(c, h, c->ufd, NULL, 0);
}

int conn_read_body(struct conn *c, const struct http_request_head *h, size_t max,
                   struct strbuf *body)
{
        struct proxy_limits lim;

        strbuf_init(body, max);
        if (h->content_length > (int64_t)max)
                return -E2BIG;
        proxy_limits_now(c->p, &lim);
        return body_run(c, h, -1, body, lim.body_ms > 0 ? mono_ms() + lim.body_ms : 0);
}

/* ---- answers ---- */

struct resp_state {
        bool headers_done, complete, raw;
        bool head_request, may_hijack;
        unsigned status;
        struct strbuf *body;
        int error;
};

/* A body that ends only when Docker closes: no length, not chunked (the
 * parser's own http_message_needs_eof() is not exported in 2.9). */
static bool needs_eof(const http_parser *p)
{
        if (p->status_code / 100 == 1 || p->status_code == 204 || p->status_code == 304)
                return false;
        if (p->flags & F_CHUNKED)
                return false;
        return p->content_length == UINT64_MAX;
}

static int on_resp_headers(http_parser *p)
{
        struct resp_state *s = p->data;

        s->headers_done = true;
        s->status = p->status_code;
        if (p->status_code == 101 || (s->may_hijack && p->status_code == 200 && needs_eof(p))) {
                s->raw = true;
                http_parser_pause(p, 1);
                return 0;
        }
        return s->head_request ? 1 : 0;
}

static int on_resp_body(http_parser *p, const char *at, size_t len)
{
        struct resp_state *s = p->data;
        if (s->body && strbuf_append(s->body, at, len) < 0) {
                s->error = -E2BIG;
                return -1;
        }
        return 0;
}

static int on_resp_complete(http_parser *p)
{
        struct resp_state *s = p->data;
        s->complete = true;
        http_parser_pause(p, 1);
        return 0;
}

static const http_parser_settings resp_settings = {
    .on_headers_complete = on_resp_headers,
    .on_body = on_resp_body,
    .on_message_complete = on_resp_complete,
};

/* Both ways until both sides have closed: after a 101 or a hijack. */
static void pump(struct conn *c)
{
        bool c_open = true, u_open = true;
        char *buf = c->rbuf;

        /* what the client sent already belongs to the raw stream */
        if (c->len > 0) {
                if (send_all(c->ufd, c->buf, c->len) < 0)
                        return;
                c->len = 0;
        }
        while (c_open || u_open) {
                struct pollfd pf[2] = {{.fd = c_open ? c->cfd : -1, .events = POLLIN},
                                       {.fd = u_open ? c->ufd : -1, .events = POLLIN}};
                if (poll(pf, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                for (int i = 0; i < 2; i++) {
                        int from = i == 0 ? c->cfd : c->ufd, to = i == 0 ? c->ufd : c->cfd;
                        ssize_t k;
                        if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = recv(from, buf, RELAY_BUF_SIZE, 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                /* half-close: pass the end on, keep the other way */
                                (void)shutdown(to, SHUT_WR);
                                if (i == 0)
                                        c_open = false;
                                else
                                        u_open = false;
                                if (k < 0)
                                        return;
                                continue;
                        }
                        if (send_all(to, buf, (size_t)k) < 0)
                                return;
                }
        }
}

enum relay_result conn_relay_response(struct conn *c, bool head_request, bool may_hijack,
                                      struct strbuf *capture, unsigned *ret_status,
                                      struct strbuf *body)
{
        struct resp_state s = {
            .head_request = head_request, .may_hijack = may_hijack, .body = body};
        http_parser p;
        size_t have = 0; /* bytes in c->rbuf not yet parsed */
        bool forwarded = false;

        if (!c->rbuf) {
                c->rbuf = malloc(RELAY_BUF_SIZE);
                if (!c->rbuf)
                        return RELAY_CLOSE;
        }
        http_parser_init(&p, HTTP_RESPONSE);
        p.data = &s;
        for (;;) {
                size_t n;
                if (have == 0) {
                        struct pollfd pf[2] = {{.fd = c->ufd, .events = POLLIN},
                                               {.fd = c->cfd, .events = 0}};
                        ssize_t k;
                        if (poll(pf, 2, -1) < 0) {
                                if (errno == EINTR)
                                        continue;
                                return RELAY_CLOSE;
                        }
                        if (pf[1].revents & (POLLHUP | POLLERR) && !(pf[0].revents & POLLIN))
                                return RELAY_CLOSE; /* the client went away */
                        if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = recv(c->ufd, c->rbuf, RELAY_BUF_SIZE, 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                /* Docker closed: ends a body read until EOF */
                                (void)http_parser_execute(&p, &resp_settings, NULL, 0);
                                if (s.complete && capture)
                                        break;
                                if (!s.headers_done && !forwarded && !capture)
                                        (void)conn_reply(c, 502,
                                                         "ds01: Docker closed the connection "
                                                         "without an answer",
                                                         true);
                                return RELAY_CLOSE;
                        }
                        have = (size_t)k;
                }
                n = http_parser_execute(&p, &resp_settings, c->rbuf, have);
                if (s.error ||
                    (HTTP_PARSER_ERRNO(&p) != HPE_OK && HTTP_PARSER_ERRNO(&p) != HPE_PAUSED)) {
                        log_warning("proxy: garbled answer from Docker (%s)",
                                    http_errno_description(HTTP_PARSER_ERRNO(&p)));
                        return RELAY_CLOSE;
                }
                if (s.raw && n < have && c->rbuf[n] == '\n')
                        n++; /* paused on the head's last LF */
                if (capture) {
                        if (strbuf_append(capture, c->rbuf, n) < 0)
                                return RELAY_CLOSE;
                } else if (n > 0) {
                        if (send_all(c->cfd, c->rbuf, n) < 0)
                                return RELAY_CLOSE;
                        forwarded = true;
                }
                memmove(c->rbuf, c->rbuf + n, have - n);
                have -= n;
                if (s.raw) {
                        if (capture)
                                return RELAY_CLOSE; /* never for a captured answer */
                        if (have > 0 && send_all(c->cfd, c->rbuf, have) < 0)
                                return RELAY_CLOSE;
                        pump(c);
                        return RELAY_CLOSE;
                }
                if (s.complete) {
                        if (s.status >= 100 && s.status < 200) {
                                /* an interim answer: the real one follows */
                                http_parser_init(&p, HTTP_RESPONSE);
                                s.headers_done = s.complete = false;
                                continue;
                        }
                        break;
                }
        }
        if (ret_status)
                *ret_status = s.status;
        return http_should_keep_alive(&p) ? RELAY_KEEP : RELAY_CLOSE;
}

/* ---- ds01's own requests ---- */

int upstream_call(const char *upstream, const char *method, const char *path, const json_t *body,
                  unsigned *ret_status, json_t **ret_json)
{
        struct strbuf req, raw, dec;
        struct resp_state s = {0};
        http_parser p;
        char *b = NULL;
        int fd, r;

        *ret_json = NULL;
        if (body) {
                b = json_dumps(body, JSON_COMPACT);
                if (!b)
                        return -ENOMEM;
        }
        strbuf_init(&req, 64 * 1024);
        r = strbuf_printf(&req,
                          "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: ds01d\r\n"
                          "Connection: close\r\n",
                          method, path);
        if (r >= 0 && b)
                r = strbuf_printf(&req,
                                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                  strlen(b), b);
        else if (r >= 0)
                r = strbuf_puts(&req, "\r\n");
        free(b);
        if (r < 0) {
                strbuf_release(&req);
                return r;
        }
        fd = upstream_connect(upstream);
        if (fd < 0) {
                strbuf_release(&req);
                return fd;
        }
        r = send_all(fd, req.buf, req.len);
        strbuf_release(&req);
        strbuf_init(&raw, LOOKUP_MAX);
        while (r >= 0) {
                char tmp[16384];
                ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        r = -errno;
                else if (k == 0)
                        break;
                else
                        r = strbuf_append(&raw, tmp, (size_t)k);
        }
        close(fd);
        if (r < 0) {
                strbuf_release(&raw);
                return r;
        }
        strbuf_init(&dec, LOOKUP_MAX);
        s.body = &dec;
        http_parser_init(&p, HTTP_RESPONSE);
        p.data = &s;
        (void)http_parser_execute(&p, &resp_settings, raw.buf ? raw.buf : "", raw.len);
        if (!s.complete)
                (void)http_parser_execute(&p, &resp_settings, NULL, 0);
        strbuf_release(&raw);
        if (!s.headers_done || s.error) {
                strbuf_release(&dec);
                return -EBADMSG;
        }
        *ret_status = s.status;
        if (dec.len > 0)
                *ret_json = json_loadb(dec.buf, dec.len, 0, NULL);
        strbuf_release(&dec);
        return 0;
}
