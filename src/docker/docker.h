/* docker.h - the Docker Engine API client: HTTP/1.1 over Docker's unix socket
 * with libcurl, JSON with jansson.
 *
 * Versions: the API version is negotiated on the first versioned call from
 * GET /version: min(the server's ApiVersion, DOCKER_API_VERSION_MAX), sent as
 * a "/v1.NN" prefix (Debian 12's docker.io 20.10 says 1.41). A transport
 * failure forgets it, so a restarted or upgraded engine is asked again.
 *
 * Limits: every call has a timeout (DOCKER_TIMEOUT_MS by default, changeable
 * per client; stop and exec take their own) and every answer a ceiling
 * (DOCKER_MAX_RESPONSE by default): a larger answer aborts the transfer and the
 * call returns -E2BIG.
 *
 * Errors: calls return 0 (or a documented value >= 0) on success and -errno on
 * failure; out-parameters are written only on success. Docker's answers map as
 *   404 -> -ENOENT (no such container, image, exec)
 *   409 -> -EEXIST when the name is already in use, else -EBUSY (conflict:
 *          not running, running and not forced, removal in progress, ...)
 *   400 -> -EINVAL, 401/403 -> -EACCES, 5xx -> -EIO, other -> -EPROTO
 *   304 -> 0 (start of a running container, stop of a stopped one)
 * and transport problems as
 *   -ECONNREFUSED  nothing accepts on the socket, or the socket file does not
 *                  exist (deliberately not -ENOENT: that would read as "no such
 *                  container" while Docker is merely down)
 *   -EACCES        no permission on the socket
 *   -ETIMEDOUT     no whole answer within the timeout
 *   -ECONNRESET    the engine closed the connection before a whole answer
 *   -EBADMSG       an answer that is not what the API documents (not JSON...)
 *   -E2BIG, -ENOMEM, -EIO (anything else curl reports)
 * docker_errmsg() then holds Docker's own "message" or a line that says what
 * failed; it is "" after a successful call.
 *
 * Ownership: json_t ** out-parameters hand a new reference to the caller, who
 * json_decref()s it; json_t * inputs are borrowed (never stolen). char **
 * out-parameters are malloc'd and freed by the caller.
 *
 * Threads: a struct docker_client is used by one thread at a time (it owns
 * one curl handle and keeps its connection open between calls). The events
 * watcher (docker_events_start) runs its own thread with its own handle.
 * libcurl's global state is set up once per process by the first
 * docker_client_new/docker_events_start. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
/* The newest API version ds01 speaks; a newer engine is asked for this one. */
#define DOCKER_API_VERSION_MAX "1.43"
/* Default time for a whole call, connect included. */
#define DOCKER_TIMEOUT_MS 10000L
/* At most this long to connect to the socket (less when the call's timeout is). */
#define DOCKER_CONNECT_TIMEOUT_MS 5000L
/* Default ceiling for one answer (list, inspect, stats, ...). */
#define DOCKER_MAX_RESPONSE ((size_t)16 * 1024 * 1024)
/* docker_exec() keeps at most this much output; the rest is read and dropped. */
#define DOCKER_EXEC_MAX_OUTPUT ((size_t)1024 * 1024)
/* Most arguments docker_exec() passes. */
#define DOCKER_EXEC_MAX_ARGS 4096
/* One line of the /events stream; a longer one is dropped (and counted). */
#define DOCKER_EVENT_MAX_LINE ((size_t)1024 * 1024)
/* docker_errmsg() keeps this many bytes of a message, NUL included. */
#define DOCKER_ERRMSG_MAX 1024

struct docker_client;

/* A client for the engine at socket_path (NULL or "" = DOCKER_DEFAULT_SOCKET).
 * No I/O: the socket is first used by the first call. 0, or -ENOMEM (*ret
 * untouched). */
int docker_client_new(const char *socket_path, struct docker_client **ret);
/* Closes the connection and frees. NULL-safe; returns NULL. */
struct docker_client *docker_client_free(struct docker_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct docker_client *, docker_client_free);

/* The timeout of every later call that has none of its own; <= 0 restores
 * DOCKER_TIMEOUT_MS. */
void docker_client_set_timeout(struct docker_client *c, long timeout_ms);
/* The ceiling for one answer; 0 restores DOCKER_MAX_RESPONSE. */
void docker_client_set_max_response(struct docker_client *c, size_t max_bytes);

/* The socket path; borrowed from c. */
const char *docker_client_socket(const struct docker_client *c);
/* Why the last call failed (Docker's message when it sent one), "" after a
 * success. Borrowed from c, valid until the next call on c. */
const char *docker_errmsg(const struct docker_client *c);
/* The negotiated API version ("1.41"), or NULL before the first versioned
 * call (or after a transport failure). Borrowed from c. */
const char *docker_api_version(const struct docker_client *c);

/* GET /_ping (unversioned): 0 when the engine answers OK. */
int docker_ping(struct docker_client *c);
/* GET /version: the engine's version object (Version, ApiVersion,
 * MinAPIVersion, Os, Arch, ...). Also settles the API version when not yet
 * negotiated. */
int docker_version(struct docker_client *c, json_t **ret);
/* GET /info: CgroupDriver, CgroupVersion, Runtimes, DefaultRuntime, ... */
int docker_info(struct docker_client *c, json_t **ret);

/* Containers. id_or_name: a full or short id, or a name (with or without the
 * leading '/'); it is percent-encoded into the path. Empty -> -EINVAL. */

/* GET /containers/json: an array of container summaries (Id, Names, Image,
 * Labels, State, Status, ...). all: stopped ones too. filters: NULL, or
 * Docker's map of lists, e.g. {"label": ["ds01.user=alice"], "status":
 * ["running"]} (borrowed; sent as JSON in the query). */
int docker_container_list(struct docker_client *c, bool all, const json_t *filters, json_t **ret);
/* GET /containers/{id}/json: the whole container object. */
int docker_container_inspect(struct docker_client *c, const char *id_or_name, json_t **ret);
/* POST /containers/create[?name=NAME]: config is the create body (Image, Cmd,
 * Env, Labels, HostConfig{Memory, NanoCpus, CgroupParent, Runtime,
 * DeviceRequests, ...}); borrowed. *ret_id: the new container's full id
 * (caller frees). A used name -> -EEXIST; a missing image -> -ENOENT (never
 * pulls). */
int docker_container_create(struct docker_client *c, const char *name, const json_t *config,
                            char **ret_id);
/* POST /containers/{id}/start. 0 also when it was already running. */
int docker_container_start(struct docker_client *c, const char *id_or_name);
/* POST /containers/{id}/stop?t=GRACE: SIGTERM (or the image's stop signal),
 * SIGKILL after grace_s seconds. The HTTP timeout is the client's timeout plus
 * the grace. grace_s < 0: the container's own StopTimeout (Docker's default
 * 10 s), HTTP timeout the client's plus 60 s. 0 also when already stopped. */
int docker_container_stop(struct docker_client *c, const char *id_or_name, int grace_s);
/* POST /containers/{id}/kill[?signal=SIG]: signal as Docker takes it
 * ("SIGKILL", "TERM", "9"); NULL = SIGKILL (then Docker waits for the exit).
 * Not running -> -EBUSY. */
int docker_container_kill(struct docker_client *c, const char *id_or_name, const char *signal);
/* DELETE /containers/{id}: force kills a running one first; volumes removes
 * its anonymous volumes. Running and not forced -> -EBUSY. */
int docker_container_remove(struct docker_client *c, const char *id_or_name, bool force,
                            bool volumes);
/* POST /containers/{id}/update: body is the update (Memory, MemorySwap,
 * NanoCpus, CpuQuota, PidsLimit, RestartPolicy, ...); borrowed. */
int docker_container_update(struct docker_client *c, const char *id_or_name, const json_t *body);
/* POST /containers/{id}/rename?name=NEW. A used name -> -EEXIST. */
int docker_container_rename(struct docker_client *c, const char *id_or_name, const char *new_name);
/* GET /containers/{id}/stats?stream=false (and one-shot=true from API 1.41:
 * no second sample, so precpu_stats is empty): one stats object. */
int docker_container_stats_once(struct docker_client *c, const char *id_or_name, json_t **ret);

/* Runs argv (NULL-terminated, at least one element, at most
 * DOCKER_EXEC_MAX_ARGS) in a running container as its default user, without a
 * TTY or stdin, and waits for it: exec create, exec start (the multiplexed
 * stdout/stderr stream is demultiplexed), exec inspect for the exit code.
 * timeout_ms bounds all of it (<= 0: the client's timeout); when it passes the
 * call returns -ETIMEDOUT and the command goes on running in the container.
 * *ret_exit_code: the command's exit status (may be NULL). *ret_output (may be
 * NULL): stdout and stderr as they arrived, NUL-terminated, the first
 * DOCKER_EXEC_MAX_OUTPUT bytes (the rest is dropped); caller frees. Container
 * not running -> -EBUSY; unknown -> -ENOENT. */
int docker_exec(struct docker_client *c, const char *id_or_name, const char *const *argv,
                long timeout_ms, int *ret_exit_code, char **ret_output);

/* The /events stream, followed by a thread of its own.
 *
 * The thread connects to socket_path, negotiates the version, and streams
 * GET /events?since=...&filters=... . on_event(ev, userdata) is called for each
 * event, in the engine's order; ev is borrowed (freed after the callback; take
 * a reference to keep it). on_state(connected, userdata) (may be NULL) is
 * called with true when the stream is established, and with false when it is
 * lost or when the first attempt fails; never twice in a row with the same
 * value. Both run on the events thread, never concurrently with each other;
 * they must not call docker_events_stop().
 *
 * since_s > 0 asks for the events from that second on (those still in the
 * engine's memory: 20.10 keeps the last 256); since_s = 0 asks from the second
 * of the first connection. After a lost connection the thread reconnects
 * with exponential backoff (100 ms doubling to 1 s; back to 100 ms after a
 * connection that was established) and asks again from the second of the
 * last event delivered (or of the first connection): events the engine sent
 * meanwhile are delivered, the ones already delivered (same timeNano, Type,
 * Action and Actor.ID) are dropped. More than the engine keeps may be lost
 * while disconnected: a caller that must not miss anything resynchronizes on
 * on_state(true).
 *
 * filters: NULL or Docker's map of lists ({"type": ["container"], "label":
 * [...]}); copied. A line longer than DOCKER_EVENT_MAX_LINE or one that is not a
 * JSON object is dropped and counted. */
struct docker_events;

struct docker_events_counters {
        uint64_t delivered;  /* on_event calls */
        uint64_t duplicates; /* replayed events dropped because already delivered */
        uint64_t dropped;    /* lines too long or not JSON objects */
        uint64_t connects;   /* streams established */
};

/* Starts the thread; no I/O here. 0; -EINVAL (no on_event, filters not an
 * object), -ENOMEM, or -errno from pthread_create/eventfd; *ret untouched on
 * failure. */
int docker_events_start(const char *socket_path, int64_t since_s, const json_t *filters,
                        void (*on_event)(json_t *ev, void *userdata),
                        void (*on_state)(bool connected, void *userdata), void *userdata,
                        struct docker_events **ret);
/* Stops the thread (within a few milliseconds unless a callback is running:
 * the transfer and the backoff wait are interrupted) and frees. NULL-safe. Not
 * from a callback. */
void docker_events_stop(struct docker_events *ev);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct docker_events *, docker_events_stop);
/* A snapshot of the counters; may be called from any thread. */
void docker_events_get_counters(const struct docker_events *ev, struct docker_events_counters *ret);
