/* fuzz-docker-events.c - libFuzzer target for the decoding of Docker's /events
 * stream (src/docker/docker-events.c) through its real path: the events
 * thread, libcurl over a unix socket, version negotiation, the line buffer
 * that joins events split across writes, JSON decoding and the replay filter.
 *
 * The harness is the engine: it listens on a unix socket of its own, answers
 * GET /version with {"ApiVersion":"1.41"}, then answers GET /v1.41/events with
 * the input and closes. An input that starts with "HTTP/1." is sent as it is
 * (status line, headers, body: odd answers); any other input is the body of a
 * 200 answer in chunked encoding, as dockerd sends it, cut into chunks of 1 to
 * 64 bytes (the sizes follow from the input) so that events arrive split
 * across writes. Checks: the request ds01 sends is a well-formed events
 * request; every event handed on is a JSON object; in a 200 answer every
 * complete non-blank line is accounted for exactly once (delivered, a
 * duplicate, or dropped); the thread stops when asked. One session per input
 * (a reconnect waits 100 ms). The corpus in tests/fuzz/corpus/docker-events
 * (streams recorded from Docker 20.10) also runs under plain gcc through
 * replay.c. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "docker/docker.h"
#include "fuzz-poll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WAIT_MS 100000 /* generous: 2 CPUs shared by many builds starve a thread for seconds */

static char dir[64], sock_path[128];
static int listen_fd = -1;

struct seen {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool ended;
        unsigned not_objects;
};

static void cleanup(void)
{
        unlink(sock_path);
        rmdir(dir);
}

/* A fresh socket per input: a connection of an earlier input's thread (one
 * that reconnected before it was stopped) can never be taken for this one's. */
static void listen_anew(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        if (!dir[0]) {
                snprintf(dir, sizeof(dir), "/tmp/ds01-fuzz-events-XXXXXX");
                if (!mkdtemp(dir))
                        abort();
                snprintf(sock_path, sizeof(sock_path), "%s/docker.sock", dir);
                atexit(cleanup);
        }
        if (strlen(sock_path) >= sizeof(sa.sun_path))
                abort();
        memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
        unlink(sock_path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(listen_fd, 8) < 0)
                abort();
}

static void fail(const char *what)
{
        fprintf(stderr, "fuzz-docker-events: %s\n", what);
        abort();
}

static int accept_one(const char *what)
{
        int fd;

        if (poll_one(listen_fd, POLLIN, WAIT_MS) <= 0) {
                fprintf(stderr, "fuzz-docker-events: waiting for %s\n", what);
                fail("the events thread did not connect within 100 s");
        }
        do
                fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        return fd;
}

/* Reads a request head (GET: no body) into buf. */
static void read_head(int fd, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        while (len + 1 < size && !strstr(buf, "\r\n\r\n")) {
                ssize_t n;
                if (poll_one(fd, POLLIN, WAIT_MS) <= 0)
                        fail("no request from the events thread within 100 s");
                n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        fail("the events thread hung up before its request");
                len += (size_t)n;
                buf[len] = '\0';
        }
}

static void write_all(int fd, const void *data, size_t n)
{
        const char *p = data;

        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k <= 0)
                        return; /* the client may give up on an odd answer */
                p += k;
                n -= (size_t)k;
        }
}

static void on_event(json_t *ev, void *ud)
{
        struct seen *s = ud;

        if (!json_is_object(ev))
                s->not_objects++;
}

static void on_state(bool connected, void *ud)
{
        struct seen *s = ud;

        if (connected)
                return;
        pthread_mutex_lock(&s->lock);
        s->ended = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

/* Complete lines that are not blank (what handle_line skips). */
static uint64_t event_lines(const uint8_t *data, size_t size)
{
        uint64_t n = 0;
        size_t start = 0;

        for (size_t i = 0; i < size; i++) {
                if (data[i] != '\n')
                        continue;
                for (size_t k = start; k < i && data[k]; k++)
                        if (data[k] != ' ' && data[k] != '\t' && data[k] != '\r') {
                                n++;
                                break;
                        }
                start = i + 1;
        }
        return n;
}

static void send_chunked(int fd, const uint8_t *data, size_t size)
{
        static const char head[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";
        uint32_t h = 2166136261u;
        size_t off = 0;

        write_all(fd, head, sizeof(head) - 1);
        for (size_t i = 0; i < size; i++)
                h = (h ^ data[i]) * 16777619u;
        while (off < size) {
                char len[32];
                size_t n = 1 + (h >> 26); /* 1 .. 64 */
                h = h * 1103515245u + 12345u;
                if (n > size - off)
                        n = size - off;
                snprintf(len, sizeof(len), "%zx\r\n", n);
                write_all(fd, len, strlen(len));
                write_all(fd, data + off, n);
                write_all(fd, "\r\n", 2);
                off += n;
        }
        write_all(fd, "0\r\n\r\n", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char events_request[] =
            "GET /v1.41/events?since=1700000000&filters=%7B%22type%22%3A%5B%22container%22%5D%7D "
            "HTTP/1.1\r\n";
        static const char version_body[] = "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}";
        struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
        struct docker_events *ev = NULL;
        struct docker_events_counters c;
        json_t *filters;
        char req[8192];
        bool raw = size >= 7 && memcmp(data, "HTTP/1.", 7) == 0;
        int fd, r;

        if (size > 256 * 1024)
                return 0;
        listen_anew();
        filters = json_pack("{s:[s]}", "type", "container");
        r = docker_events_start(sock_path, 1700000000, filters, on_event, on_state, &s, &ev);
        json_decref(filters);
        if (r < 0)
                fail("docker_events_start failed");

        fd = accept_one("GET /version");
        read_head(fd, req, sizeof(req));
        if (strncmp(req, "GET /version HTTP/1.1\r\n", 23) != 0)
                fail("the first request is not GET /version");
        snprintf(req, sizeof(req),
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 "%zu\r\nConnection: close\r\n\r\n%s",
                 sizeof(version_body) - 1, version_body);
        write_all(fd, req, strlen(req));
        close(fd);

        fd = accept_one("GET /events");
        read_head(fd, req, sizeof(req));
        if (strncmp(req, events_request, sizeof(events_request) - 1) != 0)
                fail("the events request is not what it should be");
        if (raw)
                write_all(fd, data, size);
        else
                send_chunked(fd, data, size);
        shutdown(fd, SHUT_WR);

        /* the stream ends: every byte has gone through on_stream */
        pthread_mutex_lock(&s.lock);
        while (!s.ended) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += WAIT_MS / 1000;
                if (pthread_cond_timedwait(&s.cond, &s.lock, &ts) == ETIMEDOUT && !s.ended)
                        fail("the stream did not end within 100 s of its last byte");
        }
        pthread_mutex_unlock(&s.lock);
        close(fd);

        docker_events_get_counters(ev, &c);
        docker_events_stop(ev);
        close(listen_fd);
        listen_fd = -1;

        if (s.not_objects)
                fail("an event that is not a JSON object was handed on");
        if (!raw) {
                if (c.connects != 1)
                        fail("a 200 answer did not count as a stream");
                if (c.delivered + c.duplicates + c.dropped != event_lines(data, size))
                        fail("lines lost or counted twice");
        } else if (c.delivered + c.duplicates + c.dropped > event_lines(data, size)) {
                fail("more events than lines");
        }
        return 0;
}
