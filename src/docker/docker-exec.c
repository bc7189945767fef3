/* docker-exec.c - running a command in a container and collecting its output
 * and exit code: exec create, exec start (not detached, no TTY), exec inspect.
 *
 * Without a TTY, Docker sends stdout and stderr multiplexed on one stream:
 * frames of an 8-byte header {stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0,
 * size as 32-bit big-endian} followed by size bytes. Headers and payloads may
 * be split anywhere across curl's writes, so the demultiplexer is a small
 * state machine. The engine closes the connection when the command's output
 * ends; the exit code is then read from the exec object, which may say
 * Running for a moment longer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker/docker-internal.h"
#include "docker/docker.h"
#include "util/strbuf.h"
#include "util/strutil.h"

struct demux {
        unsigned char header[8];
        size_t header_len;
        uint32_t remaining; /* payload bytes left in the current frame */
        struct strbuf *out;
        size_t dropped; /* bytes past DOCKER_EXEC_MAX_OUTPUT */
};

static int demux_feed(void *userdata, const char *data, size_t n)
{
        struct demux *d = userdata;

        while (n > 0) {
                size_t k;

                if (d->remaining == 0) {
                        k = MIN(sizeof(d->header) - d->header_len, n);
                        memcpy(d->header + d->header_len, data, k);
                        d->header_len += k;
                        data += k;
                        n -= k;
                        if (d->header_len < sizeof(d->header))
                                break;
                        if (d->header[0] > 2 || d->header[1] || d->header[2] || d->header[3])
                                return -EBADMSG;
                        d->remaining = (uint32_t)d->header[4] << 24 | (uint32_t)d->header[5] << 16 |
                                       (uint32_t)d->header[6] << 8 | (uint32_t)d->header[7];
                        d->header_len = 0;
                        continue;
                }
                k = MIN((size_t)d->remaining, n);
                /* Keep what fits under the ceiling; read and drop the rest. */
                if (d->out->len < d->out->max) {
                        size_t keep = MIN(k, d->out->max - d->out->len);
                        int r = strbuf_append(d->out, data, keep);

                        if (r < 0)
                                return r;
                        d->dropped += k - keep;
                } else {
                        d->dropped += k;
                }
                d->remaining -= (uint32_t)k;
                data += k;
                n -= k;
        }
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 1 (a timeout of 0 means none
 * to curl); -ETIMEDOUT when it has passed. */
static long left_ms(int64_t deadline)
{
        int64_t left = deadline - now_ms();

        if (left <= 0)
                return -ETIMEDOUT;
        return (long)left;
}

static int exec_create(struct docker_client *c, const char *id, const char *const *argv,
                       int64_t deadline, char **ret_exec_id)
{
        struct docker_call call = {.method = "POST"};
        struct strbuf path;
        json_t *body, *cmd, *j = NULL;
        const char *eid;
        char *dup;
        long left;
        int r;

        left = left_ms(deadline);
        if (left < 0)
                return docker_set_error(c, -ETIMEDOUT, "exec timed out");
        cmd = json_array();
        if (!cmd)
                return docker_set_error(c, -ENOMEM, "out of memory");
        for (size_t i = 0; argv[i]; i++) {
                if (json_array_append_new(cmd, json_string(argv[i])) < 0) {
                        json_decref(cmd);
                        return docker_set_error(c, -EINVAL, "exec argument %zu is not valid UTF-8",
                                                i);
                }
        }
        /* "o" steals cmd, also when packing fails. */
        body = json_pack("{s:b, s:b, s:b, s:b, s:o}", "AttachStdin", 0, "AttachStdout", 1,
                         "AttachStderr", 1, "Tty", 0, "Cmd", cmd);
        if (!body)
                return docker_set_error(c, -ENOMEM, "out of memory");

        strbuf_init(&path, DOCKER_PATH_MAX);
        r = strbuf_puts(&path, "/containers/");
        if (r >= 0)
                r = docker_append_escaped(&path, id);
        if (r >= 0)
                r = strbuf_puts(&path, "/exec");
        if (r < 0) {
                json_decref(body);
                strbuf_release(&path);
                return docker_set_error(c, r, "container id or name too long");
        }
        call.path = strbuf_str(&path);
        call.body = body;
        call.timeout_ms = left;
        r = docker_call_json(c, &call, &j);
        json_decref(body);
        strbuf_release(&path);
        if (r < 0)
                return r;
        eid = json_string_value(json_object_get(j, "Id"));
        if (isempty(eid)) {
                json_decref(j);
                return docker_set_error(c, -EBADMSG, "Docker's exec create answer has no Id");
        }
        dup = strdup(eid);
        json_decref(j);
        if (!dup)
                return docker_set_error(c, -ENOMEM, "out of memory");
        *ret_exec_id = dup;
        return 0;
}

/* "/exec/<id><suffix>" */
static int exec_path(struct strbuf *path, const char *exec_id, const char *suffix)
{
        int r;

        strbuf_init(path, DOCKER_PATH_MAX);
        r = strbuf_puts(path, "/exec/");
        if (r >= 0)
                r = docker_append_escaped(path, exec_id);
        if (r >= 0)
                r = strbuf_puts(path, suffix);
        if (r < 0)
                strbuf_release(path);
        return r;
}

static int exec_start(struct docker_client *c, const char *exec_id, int64_t deadline,
                      struct demux *d)
{
        struct docker_call call = {.method = "POST", .on_data = demux_feed, .userdata = d};
        struct strbuf path, err;
        json_t *body;
        long left;
        int status, r;

        left = left_ms(deadline);
        if (left < 0)
                return docker_set_error(c, -ETIMEDOUT, "exec timed out");
        body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0);
        if (!body)
                return docker_set_error(c, -ENOMEM, "out of memory");
        r = exec_path(&path, exec_id, "/start");
        if (r < 0) {
                json_decref(body);
                return docker_set_error(c, r, "exec id too long");
        }
        call.path = strbuf_str(&path);
        call.body = body;
        call.timeout_ms = left;
        /* Error bodies (not the stream) land here. */
        call.max_response = DOCKER_SMALL_RESPONSE;
        strbuf_init(&err, 0);
        status = docker_perform(c, &call, &err);
        json_decref(body);
        strbuf_release(&path);
        if (status < 0) {
                strbuf_release(&err);
                if (status == -EBADMSG)
                        return docker_set_error(c, -EBADMSG,
                                                "Docker's exec stream is not multiplexed as "
                                                "documented");
                return status;
        }
        if (status < 200 || status >= 300)
                r = docker_status_fail(c, status, &err);
        else
                r = 0;
        strbuf_release(&err);
        return r;
}

/* Waits for the exec to end (Running false) and reads its exit code. */
static int exec_wait(struct docker_client *c, const char *exec_id, int64_t deadline,
                     int *ret_exit_code)
{
        struct docker_call call = {.method = "GET"};
        struct strbuf path;
        long pause_ms = 2;
        int r;

        r = exec_path(&path, exec_id, "/json");
        if (r < 0)
                return docker_set_error(c, r, "exec id too long");
        call.path = strbuf_str(&path);
        for (;;) {
                json_t *j = NULL, *running, *code;
                long left = left_ms(deadline);

                if (left < 0) {
                        r = docker_set_error(c, -ETIMEDOUT,
                                             "exec output ended but it did not exit in time");
                        break;
                }
                call.timeout_ms = left;
                r = docker_call_json(c, &call, &j);
                if (r < 0)
                        break;
                running = json_object_get(j, "Running");
                code = json_object_get(j, "ExitCode");
                if (!json_is_true(running) && json_is_integer(code)) {
                        *ret_exit_code = (int)json_integer_value(code);
                        json_decref(j);
                        r = 0;
                        break;
                }
                json_decref(j);
                /* The stream ended a moment before the engine noted the exit. */
                left = left_ms(deadline);
                if (left < 0)
                        continue;
                struct timespec ts = {.tv_sec = 0, .tv_nsec = MIN(pause_ms, left) * 1000000L};
                nanosleep(&ts, NULL);
                pause_ms = MIN(pause_ms * 2, 50L);
        }
        strbuf_release(&path);
        return r;
}

int docker_exec(struct docker_client *c, const char *id_or_name, const char *const *argv,
                long timeout_ms, int *ret_exit_code, char **ret_output)
{
        char *exec_id = NULL;
        struct strbuf out;
        struct demux d = {.out = &out};
        int64_t deadline;
        size_t argc = 0;
        int code = 0, r;

        if (isempty(id_or_name))
                return docker_set_error(c, -EINVAL, "no container id or name given");
        if (!argv || !argv[0])
                return docker_set_error(c, -EINVAL, "no command given to exec");
        while (argv[argc])
                if (++argc > DOCKER_EXEC_MAX_ARGS)
                        return docker_set_error(c, -E2BIG, "exec command has too many arguments");

        deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : docker_client_timeout(c));
        strbuf_init(&out, DOCKER_EXEC_MAX_OUTPUT);

        r = exec_create(c, id_or_name, argv, deadline, &exec_id);
        if (r >= 0) {
                r = exec_start(c, exec_id, deadline, &d);
                if (r >= 0)
                        r = exec_wait(c, exec_id, deadline, &code);
                free(exec_id);
        }
        if (r < 0) {
                strbuf_release(&out);
                return r;
        }
        if (ret_output) {
                char *s = strbuf_steal(&out);

                if (!s)
                        return docker_set_error(c, -ENOMEM, "out of memory");
                *ret_output = s;
        }
        strbuf_release(&out);
        if (ret_exit_code)
                *ret_exit_code = code;
        return 0;
}
