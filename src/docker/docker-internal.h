/* docker-internal.h - what the files of src/docker share and nothing outside
 * uses: the curl set-up for the unix socket, the mapping of curl results and
 * HTTP statuses to -errno, the version parser, and the request primitive that
 * docker.c and docker-exec.c build their calls on. */
#pragma once

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "docker/docker.h"
#include "util/strbuf.h"

/* Ceiling for a request path with its query (filters are JSON in the query). */
#define DOCKER_PATH_MAX ((size_t)64 * 1024)
/* Ceiling for the answers the events thread reads whole (/version, errors). */
#define DOCKER_SMALL_RESPONSE ((size_t)64 * 1024)

/* curl_global_init, once per process, from any thread. 0 or -ENOMEM. */
int docker_curl_global_init(void);

/* The options every transfer sets: the socket, the URL
 * ("http://docker" + path), timeouts (timeout_ms 0 = none; the connect
 * timeout is DOCKER_CONNECT_TIMEOUT_MS or less), no signals, the user agent,
 * the error buffer (CURL_ERROR_SIZE bytes). The handle was reset before. */
void docker_curl_setup(CURL *curl, const char *socket_path, const char *url, long timeout_ms,
                       char *errbuf);

/* -errno for a failed transfer, with a line in errmsg[n] that names the
 * socket. sink_error: what a write callback reported when it aborted (0 if
 * none). */
int docker_curl_errno(CURL *curl, CURLcode cc, const char *socket_path, const char *errbuf,
                      int sink_error, char *errmsg, size_t n);

/* -errno for an HTTP status that is not 2xx/304 (see docker.h). */
int docker_status_errno(long status, const char *message);

/* "1.41" -> 1, 41. 0 or -EINVAL. */
int docker_api_version_parse(const char *s, int *ret_major, int *ret_minor);
/* The version to speak with a server that says server_version: the smaller of
 * it and DOCKER_API_VERSION_MAX, as major/minor. 0 or -EINVAL. */
int docker_api_version_pick(const char *server_version, int *ret_major, int *ret_minor);

/* The message of a Docker error body ({"message": "..."}), else the body
 * itself when it is short text, into errmsg[n]; "HTTP <status>" if neither. */
void docker_errmsg_from_body(long status, const char *body, size_t len, char *errmsg, size_t n);

/* One request as docker.c and docker-exec.c describe it. */
struct docker_call {
        const char *method;  /* "GET", "POST", "DELETE" */
        const char *path;    /* "/containers/json?all=1": encoded; without version prefix */
        bool unversioned;    /* /_ping, /version */
        const json_t *body;  /* sent as application/json; NULL = no body */
        long timeout_ms;     /* 0 = the client's */
        size_t max_response; /* 0 = the client's */
        /* Optional: gets the body of a 2xx answer instead of the buffer.
         * Returns 0, or -errno to abort the transfer (the call returns it). */
        int (*on_data)(void *userdata, const char *data, size_t n);
        void *userdata;
};

/* Sends the call, negotiating the version first when needed. On an HTTP
 * answer returns its status (100..599) with the body in *body (error bodies
 * always; 2xx bodies unless on_data took them); on a transport failure
 * -errno with the client's errmsg set. body must be initialized by the
 * caller (its max is replaced by the call's ceiling). */
int docker_perform(struct docker_client *c, const struct docker_call *call, struct strbuf *body);

/* docker_perform, then: 2xx -> 0 with *ret the parsed JSON when ret is not
 * NULL (-EBADMSG if it is not JSON); 304 -> 0 (*ret untouched); otherwise the
 * mapped -errno with Docker's message in errmsg. */
int docker_call_json(struct docker_client *c, const struct docker_call *call, json_t **ret);

/* Appends s percent-encoded (everything but RFC 3986 unreserved). 0, -ENOMEM,
 * -E2BIG. */
int docker_append_escaped(struct strbuf *sb, const char *s);

/* For a non-2xx, non-304 status: Docker's message from body into the client's
 * errmsg, and the mapped -errno. */
int docker_status_fail(struct docker_client *c, int status, const struct strbuf *body);

/* The client's default timeout in milliseconds. */
long docker_client_timeout(const struct docker_client *c);

/* Records a message as the client's last error; returns r. */
int docker_set_error(struct docker_client *c, int r, const char *fmt, ...) _printf_(3, 4);

/* True when the negotiated version is at least major.minor (false before
 * negotiation). */
bool docker_api_at_least(const struct docker_client *c, int major, int minor);
