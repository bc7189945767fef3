/* client.h - the ds01 side of the control API: HTTP/1.1 with JSON bodies to
 * ds01d over its unix socket (docs/API.md), through libcurl.
 *
 * The socket is --socket PATH, else $DS01_SOCKET, else /run/ds01/ds01.sock.
 * Transport problems (no socket, permission denied, a timeout, an answer that
 * is not JSON or is larger than CLI_CLIENT_MAX_RESPONSE) are printed here, once,
 * as "ds01: ..." lines that say what to do; the daemon's own error objects are
 * returned to the caller (cli_client_request) or printed (cli_client_call). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"
#include "util/strbuf.h"

#define CLI_CLIENT_DEFAULT_SOCKET "/run/ds01/ds01.sock"
/* Answers larger than this abort the transfer. */
#define CLI_CLIENT_MAX_RESPONSE ((size_t)16 * 1024 * 1024)
/* Seconds to connect to the socket. */
#define CLI_CLIENT_CONNECT_TIMEOUT 5L
/* Seconds a plain request (no queue wait) may take. */
#define CLI_CLIENT_TIMEOUT 30L

struct cli_client;

/* socket_path: --socket, or NULL for $DS01_SOCKET, else the default. Does not
 * connect yet. 0, or -ENOMEM (*ret untouched). */
int cli_client_open(const char *socket_path, struct cli_client **ret);
/* NULL-safe; returns NULL. */
struct cli_client *cli_client_free(struct cli_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cli_client *, cli_client_free);

/* The socket this client talks to. Borrowed from c. */
const char *cli_client_socket(const struct cli_client *c);

/* Sends METHOD http://ds01d<path_and_query> with body (serialized compactly;
 * NULL = no body) and waits at most timeout_s seconds (0 = no limit) for the
 * whole answer. On any HTTP answer that is a JSON object, returns 0 with
 * *ret_status and *ret_json (caller decrefs) set, whatever the status. On a
 * transport problem or an answer that is not a JSON object, prints why and
 * returns -errno (-ECONNREFUSED, -ENOENT, -EACCES, -ETIMEDOUT, -EFBIG,
 * -EBADMSG, -ENOMEM, -EIO); the out-parameters are untouched. */
int cli_client_request(struct cli_client *c, const char *method, const char *path_and_query,
                       json_t *body, long timeout_s, long *ret_status, json_t **ret_json);
/* The same with a raw body of n bytes (events.jsonl for the import). */
int cli_client_request_raw(struct cli_client *c, const char *method, const char *path_and_query,
                           const char *body, size_t n, long timeout_s, long *ret_status,
                           json_t **ret_json);

/* For the commands: cli_client_request, then on a 2xx answer returns EXIT_OK
 * with *ret_json set. Otherwise returns EXIT_FAIL after printing
 * "ds01: <message>" (the daemon's message) on stderr and, when json_errors is
 * true, the daemon's error object ({"error": CODE, "message": ...}) on stdout
 * so that scripts can read the code. ret_status (may be NULL) gets the HTTP
 * status whenever there was one, also on an error answer. */
int cli_client_call(struct cli_client *c, const char *method, const char *path_and_query,
                    json_t *body, long timeout_s, bool json_errors, long *ret_status,
                    json_t **ret_json);

/* Appends "?key=value" (the first time for this buffer) or "&key=value", the
 * value percent-encoded (curl_easy_escape). 0, -ENOMEM, -E2BIG. */
int cli_client_query_add(struct cli_client *c, struct strbuf *sb, const char *key,
                         const char *value);
/* Appends s as one percent-encoded path segment ('/' and everything outside
 * the RFC 3986 pchar set is encoded; '@' and ':' are kept). 0, -ENOMEM, -E2BIG. */
int cli_client_path_add(struct strbuf *sb, const char *s);

/* Prints j on stdout, indented by 2, keys in the order they came. EXIT_OK, or
 * EXIT_FAIL (out of memory). */
int cli_print_json(const json_t *j);

/* Helpers the commands share for what the daemon answers. */

/* "2026-01-30 14:30" (UTC, minutes) of an ISO 8601 time from the daemon, or
 * "-" when iso is NULL or not a time. buf >= CLI_TIME_SHORT_MAX; returns buf. */
#define CLI_TIME_SHORT_MAX 32
char *cli_time_short(char *buf, size_t n, const char *iso);

/* The string value of o[key], else fallback (borrowed from o). */
const char *cli_json_str(const json_t *o, const char *key, const char *fallback);
/* The number value of o[key] (integer or real), else fallback. */
double cli_json_num(const json_t *o, const char *key, double fallback);

/* A TIME argument of option (e.g. "--since") through parse_time_expr(): 0
 * with *ret_epoch_s set, or prints a usage error for command that names the
 * accepted forms and returns EXIT_USAGE. */
int cli_parse_time_arg(const char *command, const char *option, const char *s,
                       int64_t *ret_epoch_s);
/* A whole number >= min (an id, a count): 0, or prints a usage error for
 * command naming what and returns EXIT_USAGE. */
int cli_parse_count(const char *command, const char *what, const char *s, long long min,
                    long long *ret);
