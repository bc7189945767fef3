/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * policy.h - what a non-admin may do through the Docker API proxy: which
 * endpoint a request names (routing) and whether the caller may touch what it
 * names (access). Pure: no system calls; everything about the host and Docker
 * (who owns a container, whether an exec exists) comes in as plain structs
 * filled by the proxy engine (proxy.c), and the tests drive it with tables.
 *
 * Routing never allocates. Paths are matched after an optional API version
 * prefix "/v<digits>.<digits>" and with the query string already cut off
 * (proxy_route takes the path alone). Path segments are percent-decoded before
 * matching; a decoded segment holding '/', NUL or a control character, an
 * empty segment ("//"), "." or ".." makes the path unknown (denied). Matching
 * is exact and case-sensitive, as Docker's router is.
 *
 * Fail closed: every endpoint not listed below is ROUTE_UNKNOWN, and every
 * unknown method on a known path too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define POLICY_REF_MAX    256 /* container ref, exec id, volume or network name */
#define POLICY_REASON_MAX 320

enum route_kind {
        ROUTE_UNKNOWN = 0,    /* not an endpoint the policy knows: denied */
        ROUTE_DENIED,         /* known, never for non-admins (prune, swarm, plugins, ...) */
        ROUTE_OPEN,           /* allowed as is: ping, version, info, image reads, pull, auth ... */
        ROUTE_CONTAINER_LIST, /* GET /containers/json: query rewritten (label filter) */
        ROUTE_EVENTS,         /* GET /events: query rewritten (label filter) */
        ROUTE_CONTAINER_CREATE, /* POST /containers/create: body rewritten */
        ROUTE_CONTAINER,        /* an endpoint naming one container (ref): owner only */
        ROUTE_EXEC_CREATE,      /* POST /containers/{ref}/exec: owner + body checked */
        ROUTE_CONTAINER_UPDATE, /* POST /containers/{ref}/update: owner + body checked */
        ROUTE_COMMIT,           /* POST /commit?container=ref: owner (ref from the query) */
        ROUTE_EXEC,             /* /exec/{id}/start|resize|json: owner of the exec's container */
        ROUTE_BUILD,            /* POST /build: query checked (policy_check_build_query) */
        ROUTE_SESSION,          /* POST /session: BuildKit session (X-Docker-Expose-Session-Uuid) */
        ROUTE_IMAGE_DELETE,     /* DELETE /images/{name}: force=1 denied */
        ROUTE_VOLUME_CREATE,    /* POST /volumes/create: body checked, owner label added */
        ROUTE_VOLUME,           /* DELETE /volumes/{name}: owner only (GET inspect is OPEN) */
        ROUTE_NETWORK_CREATE,   /* POST /networks/create: body checked, owner label added */
        ROUTE_NETWORK,          /* DELETE /networks/{id}, POST connect/disconnect: owner only */
};

/* What a request names. */
struct route {
        enum route_kind kind;
        /* ROUTE_CONTAINER*, EXEC*, VOLUME, NETWORK: the name as the client wrote
         * it, percent-decoded; "" for COMMIT (the ref is in the query) */
        char ref[POLICY_REF_MAX];
        /* ROUTE_CONTAINER and ROUTE_EXEC: the operation, e.g. "json", "start",
         * "attach", "archive", "logs", "wait", "connect"; "delete" for
         * DELETE /containers/{ref}, /volumes/{name}, /networks/{id} */
        char op[32];
        /* where ref sits in the path as given (bytes), so the engine can put
         * Docker's full id there: path[ref_off .. ref_off+ref_len) */
        size_t ref_off, ref_len;
        bool may_hijack; /* attach, exec start, session: the response may take
                          * over the connection */
        bool read_only;  /* GET/HEAD that changes nothing */
        /* ROUTE_DENIED / ROUTE_UNKNOWN: a one-line reason for the caller
         * (static string), e.g. "pruning removes other users' objects; ask an
         * admin" */
        const char *why;
};

/* Route one request. method: "GET", "POST", ... (HEAD is routed as GET with
 * read_only). path: the request target up to (not including) '?'. Always
 * fills *ret; returns ret->kind. */
enum route_kind policy_route(const char *method, const char *path, struct route *ret);

enum enforcement_mode {
        ENFORCE_FULL = 0,   /* deny what the policy denies (default) */
        ENFORCE_MONITORING, /* log what would be denied, allow it */
        ENFORCE_DISABLED,   /* pass everything through as for an admin */
};

/* Settings from access_control (config) the decisions need. */
struct policy_settings {
        enum enforcement_mode mode;
        bool unowned_allow; /* access_control.unowned: allow (true) or deny (default) */
};

/* The caller of one connection (from SO_PEERCRED, never from the request). */
struct policy_caller {
        const char *user; /* login name */
        uid_t uid;
        gid_t gid;
        const char *home; /* home folder, "" when unknown */
        bool admin;
};

/* What the engine found out about the object a request names. */
struct policy_target {
        bool exists;
        const char *owner; /* login name, "" when no rule found one */
        bool is_protected; /* container label ds01.protected=true (or the
                            * configured infrastructure label) */
        const char *name;  /* for messages: the container's name, or the ref */
};

enum policy_answer {
        POLICY_ALLOW,
        POLICY_DENY,          /* 403 with reason */
        POLICY_ALLOW_UNOWNED, /* allowed by access_control.unowned: allow; write an
                               * access.unowned_container event */
        POLICY_NOT_FOUND,     /* 404 as Docker would say it ("No such container: x") */
};

struct policy_decision {
        enum policy_answer answer;
        char reason[POLICY_REASON_MAX]; /* one line for the caller, starting "ds01: " */
};

/* May the caller use the container (or exec's container, volume, network)
 * the route names? Admins always may. Owner match is exact (login names).
 * Protected containers: admins only. No owner: per settings. Missing: NOT_FOUND.
 * Volumes and networks: owner is their ds01.user label; a network or volume
 * with no owner (created outside ds01, e.g. "bridge") is DENY for changes.
 * Returns d->answer. */
enum policy_answer policy_access(const struct policy_settings *s, const struct policy_caller *c,
                                 const struct route *r, const struct policy_target *t,
                                 struct policy_decision *d);

/* Rewrite the query of GET /containers/json or GET /events so that Docker
 * returns only the caller's objects: the "filters" parameter (URL-encoded JSON,
 * either {"label":["a=b"]} or the older {"label":{"a=b":true}} form) gets
 * "ds01.user=<user>" added to its label filter (Docker ANDs label filters);
 * other parameters are kept byte for byte and in order. query: the text after
 * '?' (may be "" or NULL). Writes the new query (without '?') to *ret
 * (malloc'ed). Returns 0, -EINVAL when filters is not valid JSON of that shape
 * (the request is then refused as malformed), -ENOMEM. */
int policy_filter_query(const char *query, const char *user, char **ret);

/* POST /build query: deny networkmode=host (and any networkmode other than
 * "", "default", "bridge", "none"), cgroupparent (any value), and
 * remote=<URL> pointing at a local path ("/...", "file:"). Returns true when
 * allowed, else false with a reason in d. */
bool policy_check_build_query(const char *query, struct policy_decision *d);

/* DELETE /images/{name} query: force=1/true denied for non-admins. */
bool policy_check_image_delete_query(const char *query, struct policy_decision *d);

/* The value of one query parameter, percent-decoded into buf; false when
 * absent or too long. "a=1&b" -> b is "" (present). */
bool policy_query_get(const char *query, const char *name, char *buf, size_t size);
