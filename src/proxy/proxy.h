/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * proxy.h - the Docker API proxy: one listening unix socket (mode 0666),
 * one thread per client connection, one upstream connection to the real
 * Docker socket per client connection. The engine parses request heads (and
 * the bodies it must rewrite), asks policy.h and rewrite.h, and passes
 * everything else through byte for byte: responses, chunked streams, and
 * after a 101 or a hijacking response the raw bytes both ways.
 *
 * Connections are admitted within per-user and total caps (past them the
 * accept thread answers 429 or 503 itself, without a thread), and request
 * heads and the bodies ds01 reads must arrive within set times (408);
 * struct proxy_limits.
 *
 * The daemon plugs in through struct proxy_hooks: who is an admin, the
 * caller's limits and settings, GPU allocation (which may wait in the queue),
 * events. Hooks are called from connection threads, concurrently; they take
 * the daemon's own lock.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "proxy/policy.h"
#include "proxy/rewrite.h"

#define PROXY_HEAD_MAX  (16 * 1024) /* request heads past this are refused */
#define PROXY_MAX_ROOTS 16

/* Connection limits and timeouts (the config's `proxy:` section). A time of
 * 0 and a cap of 0 mean none. Streams that are long by nature are never cut:
 * answers (logs -f, events, wait), hijacked connections (attach, exec) and
 * request bodies passed through to Docker (image load, build contexts). */
struct proxy_limits {
        int64_t head_ms;       /* a whole request head: from the connection's start for
                                  the first, from its first byte for later ones */
        int64_t idle_ms;       /* a kept-alive connection waiting for its next request */
        int64_t body_ms;       /* a whole body ds01 reads itself (create, exec, update, ...) */
        unsigned max_per_user; /* open connections of one uid (uid 0 is never capped) */
        unsigned max_total;    /* open connections of every uid but 0 together */
};

#define PROXY_DEFAULT_LIMITS                                                                       \
        ((struct proxy_limits){.head_ms = 30000,                                                   \
                               .idle_ms = 120000,                                                  \
                               .body_ms = 60000,                                                   \
                               .max_per_user = 128,                                                \
                               .max_total = 1024})

enum proxy_admit {
        PROXY_ADMIT_OK,
        PROXY_ADMIT_USER_FULL, /* the caller has max_per_user open: 429 */
        PROXY_ADMIT_ALL_FULL,  /* max_total (or what the descriptors allow) open: 503 */
};

/* Whether a new connection of uid is served, given how many the uid
 * (user_open) and everyone but root (total_open) have open now. fd_cap: the
 * most connections the process's descriptor limit allows (0: none). Pure. */
enum proxy_admit proxy_admit(const struct proxy_limits *l, uid_t uid, unsigned user_open,
                             unsigned total_open, unsigned fd_cap);

/* What the daemon says about one caller, read at the start of each request
 * that needs it (so a reload applies to the next request). */
struct proxy_user {
        bool admin;
        struct policy_settings policy;
        struct create_limits limits;
        char slice[256];         /* ds01-<group>-<sanitized>.slice */
        char cgroupfs_path[256]; /* /ds01/<group>/<sanitized> */
        bool force_user;         /* access_control.force_user_with_binds */
        char roots[PROXY_MAX_ROOTS][REWRITE_PATH_MAX / 4]; /* allowed_bind_paths as configured */
        size_t n_roots;
        bool attach_nvidia_runtime; /* gpu_allocation.attach: nvidia_runtime */
        int wait_s;                 /* gpu_allocation.wait_s */
        char protected_label[64];   /* monitoring.infrastructure_label */
        char cgroup_driver[16];     /* enforcement.cgroup_driver (used when Docker does not say) */
};

/* A GPU request of one create. */
struct proxy_gpu_ask {
        const char *user;
        const char *key;       /* the container name, or a placeholder until Docker names it */
        int count;             /* >= 1, or -1 for all (the quota) */
        bool full;             /* --full: whole GPUs only */
        const char *interface; /* ds01.interface */
        char (*devices)[128];  /* specific devices asked for, or NULL */
        size_t n_devices;
        int wait_s;    /* how long to wait in the queue for capacity */
        int client_fd; /* the caller's socket: a hang-up leaves the queue */
};

struct proxy_gpu_grant {
        unsigned status;   /* 200 granted, 403 quota or not allowed, 503 no capacity after
                              waiting, 500 internal */
        char message[512]; /* for a refusal: one line, "ds01: ..." */
        char slots[256];   /* "0,1.2" */
        char uuids[REWRITE_UUIDS_MAX];
        size_t n;
        char allocated_at[40]; /* ISO 8601 UTC */
};

struct proxy_hooks {
        void *ud;
        /* A number that changes when the configuration does: a connection
         * keeps its caller's proxy_user until it changes. */
        uint64_t (*generation)(void *ud);
        /* Fill *ret for user (uid, gid from SO_PEERCRED). 0 or -errno (the
         * request is then refused with 503). */
        int (*user_info)(void *ud, const char *user, uid_t uid, gid_t gid, struct proxy_user *ret);
        /* Allocate for a create; may block up to ask->wait_s. Always fills *ret. */
        void (*gpu_allocate)(void *ud, const struct proxy_gpu_ask *ask,
                             struct proxy_gpu_grant *ret);
        /* Docker created the container: bind the allocation made under key
         * to Docker's id and name. */
        void (*gpu_bind)(void *ud, const char *key, const char *id, const char *name);
        /* Docker refused the create (or the client went away): release. */
        void (*gpu_release)(void *ud, const char *key, const char *why);
        /* Does this container (Docker's id, and its name) hold an allocation
         * in force (pending, active or held)? Asked before a GPU container
         * is started again: once its GPU was released, it must not run on it. */
        bool (*gpu_holds)(void *ud, const char *id, const char *name);
        /* An event; details stolen. log_only: events.jsonl only (auth.denied),
         * rate-limited by the daemon. */
        void (*event)(void *ud, const char *type, const char *user, json_t *details, bool log_only);
        /* The limits in force; asked at start and whenever generation()
         * changes. NULL: PROXY_DEFAULT_LIMITS. */
        void (*limits)(void *ud, struct proxy_limits *ret);
};

struct proxy_stats {
        uint64_t connections;      /* accepted */
        uint64_t open_connections; /* now */
        uint64_t requests;
        uint64_t denied;
        uint64_t errors;        /* upstream unreachable, malformed requests */
        uint64_t refused_user;  /* connections refused: the user's cap */
        uint64_t refused_total; /* connections refused: the global cap */
        uint64_t head_timeouts; /* 408: a request head not whole in time (or never sent) */
        uint64_t body_timeouts; /* 408: a body ds01 reads not whole in time */
        uint64_t idle_closes;   /* kept-alive connections closed after idle_ms */
};

struct proxy;

/* Listen on path (removed first when it is a stale socket; mode 0666) and
 * forward to the Docker socket at upstream. Starts the accept thread.
 * 0 or -errno. */
int proxy_start(const char *path, const char *upstream, const struct proxy_hooks *hooks,
                struct proxy **ret);

/* Stop accepting, shut down every connection, join the threads, free. */
void proxy_stop(struct proxy *p);

void proxy_get_stats(struct proxy *p, struct proxy_stats *ret);
