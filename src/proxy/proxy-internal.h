/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * proxy-internal.h - shared by the parts of the proxy engine: the server and
 * request handling (proxy.c) and the byte moving (relay.c).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "proxy/http-head.h"
#include "proxy/proxy.h"
#include "util/strbuf.h"

#define CONN_BUF_SIZE  (HTTP_HEAD_MAX + 4096) /* the client's read buffer */
#define RELAY_BUF_SIZE (64 * 1024)
#define LOOKUP_MAX     (8 * 1024 * 1024) /* answers ds01 reads itself (inspect) */
#define CAPTURE_MAX    (1024 * 1024)     /* a create answer kept until the allocation is bound */
#define SESSIONS_MAX   512

struct session_owner {
        char id[96];
        uid_t uid;
};

struct proxy {
        int listen_fd;
        char *path;
        char *upstream;
        struct proxy_hooks hooks;
        pthread_t accept_thread;
        bool accept_started;
        int wake_fd;     /* eventfd: proxy_stop() wakes the accept thread */
        unsigned fd_cap; /* connections RLIMIT_NOFILE leaves room for */
        ino_t pidns;     /* our PID namespace: peers in another one are inside containers */

        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t idle;  /* signalled when a connection ends */
        struct conn *conns;
        bool stopping;
        struct proxy_stats stats;
        unsigned open_nonroot;      /* open connections of uids other than 0 */
        struct proxy_limits limits; /* in force (hooks.limits, at limits_gen) */
        uint64_t limits_gen;
        bool limits_known;
        int64_t refused_logged_ms; /* refusals are logged once per 10 s at most */
        uint64_t refused_unlogged;
        char cgroup_driver[16]; /* as Docker's /info says, "" until asked */
        struct session_owner sessions[SESSIONS_MAX];
        size_t n_sessions, next_session;
};

struct conn {
        struct conn *next, *prev;
        struct proxy *p;
        pthread_t thread;
        int cfd;   /* the client */
        int ufd;   /* Docker, -1 until the first forwarded request */
        uid_t uid; /* from SO_PEERCRED at accept; never changes */
        gid_t gid;
        pid_t pid;
        bool peer_known; /* SO_PEERCRED answered */
        bool in_container;
        bool no_account; /* the uid has no passwd entry: refused */
        char user[64];
        char home[512];
        struct proxy_user *u; /* the caller's settings (u_valid: for u_gen) */
        bool u_valid;
        uint64_t u_gen;
        char *buf;         /* CONN_BUF_SIZE bytes read from the client */
        size_t len;        /* bytes in buf */
        char *rbuf;        /* RELAY_BUF_SIZE, allocated when first needed */
        bool request_done; /* the request at hand was consumed from buf */
        int64_t start_ms;  /* accepted (CLOCK_MONOTONIC) */
        unsigned n_heads;  /* request heads read so far */
        struct req *req;   /* proxy.c's state of the request at hand */
};

enum relay_result {
        RELAY_KEEP,  /* the connection may carry another request */
        RELAY_CLOSE, /* close both sides */
};

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t mono_ms(void);

/* The limits in force now (refreshed from the hook when the configuration
 * changed). */
void proxy_limits_now(struct proxy *p, struct proxy_limits *ret);

/* Writes all of buf; 0 or -errno. */
int send_all(int fd, const void *buf, size_t n);

/* Connect to Docker's socket; the fd or -errno. */
int upstream_connect(const char *path);

/* Make sure c->ufd is connected. 0 or -errno. */
int conn_upstream(struct conn *c);

/* Read the next request head into c->buf, within the limits' head and idle
 * times. 0 with *h filled, 1 at a clean end of the connection, 2 when a
 * kept-alive connection stayed idle past idle_ms (nothing sent), -errno
 * otherwise (then a reply was sent when one makes sense: 408 with
 * -ETIMEDOUT; *err says why for the log). */
int conn_read_head(struct conn *c, struct http_request_head *h, char *err, size_t err_size);

/* A request answered without forwarding: drop its head from c->buf when it
 * has no body (with a body, the connection is closed instead: the body was
 * not read). */
void conn_skip_request(struct conn *c, const struct http_request_head *h);

/* Send head (the original c->buf[0..h->head_len) or a rewritten one) to Docker,
 * then stream the request's body from the client as it comes. Consumes the
 * request from c->buf. 0, or -errno (the connection must be closed). */
int conn_forward_request(struct conn *c, const struct http_request_head *h, const char *head,
                         size_t head_len);

/* Read the request's body entirely (at most max bytes, chunked decoded)
 * within the limits' body time, and consume the request from c->buf. 0,
 * -E2BIG past max (at once, without reading, when Content-Length says so),
 * -ETIMEDOUT, -EINVAL malformed chunks, -errno. */
int conn_read_body(struct conn *c, const struct http_request_head *h, size_t max,
                   struct strbuf *body);

/* Relay Docker's answer to the client. head_request: the request was HEAD.
 * may_hijack: the endpoint may take over the connection (200 with a raw
 * stream, or 101): then the bytes are pumped both ways until both close.
 * capture: when not NULL, the answer is kept here (raw bytes) instead of being
 * sent, and *ret_status and body (decoded) are filled; the caller sends it. */
enum relay_result conn_relay_response(struct conn *c, bool head_request, bool may_hijack,
                                      struct strbuf *capture, unsigned *ret_status,
                                      struct strbuf *body);

/* One request of ds01's own to Docker on a fresh connection (inspect, volume
 * create, info): status and the decoded JSON body (NULL when not JSON).
 * 0 or -errno (Docker unreachable or garbled). */
int upstream_call(const char *upstream, const char *method, const char *path, const json_t *body,
                  unsigned *ret_status, json_t **ret_json);

/* An answer of ds01's own: {"message": message}. close adds Connection: close. */
int conn_reply(struct conn *c, unsigned status, const char *message, bool close);

/* The same answer, with Connection: close, on a connection no thread serves:
 * one send that never blocks (what does not fit is lost). */
void fd_reply(int fd, unsigned status, const char *message);
