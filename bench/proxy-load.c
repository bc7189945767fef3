/* SPDX-License-Identifier: MIT */
/*
 * proxy-load.c - benchmark helper for bench/proxy.sh: HTTP/1.1 load on a
 * Docker API unix socket (ds01d's proxy or the real one), with plain POSIX
 * sockets and one thread per connection; no HTTP library, so that what is
 * measured is the socket at the other end.
 *
 *   bench-proxy-load rate SOCKET PATH CONNS SECONDS
 *       CONNS keep-alive connections, one thread each, send GET PATH back to
 *       back for SECONDS (all start together once every one is connected) and
 *       read each answer whole (Content-Length, chunked, or up to the close).
 *       Prints one line:
 *         requests N errors E reconnects R seconds S rps X p50_us A p99_us B
 *       Only answers that complete before the deadline count; a non-2xx
 *       answer is an error. Exit 0 when at least one request succeeded.
 *
 *   bench-proxy-load idle SOCKET N [ping]
 *       Opens N connections and keeps them open. With "ping", sends one
 *       GET /_ping on each and reads the answer first (the state of a client
 *       such as the docker CLI or VS Code between two requests). Prints
 *         open N failed F
 *       on stdout (flushed) once all are open, then waits for SIGTERM, SIGINT
 *       or SIGHUP, closes them, prints "closed" and exits 0.
 *
 * Raises its own RLIMIT_NOFILE to the hard limit. Exit 1 on failure, 2 on a
 * usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE     (64 * 1024)
#define HEAD_MAX     (32 * 1024)
#define IO_TIMEOUT_S 30
#define MAX_CONNS    4096
#define MAX_SAMPLES  (1 << 18) /* latency samples kept per thread */
#define MAX_IDLE     100000

/* ---- time ---- */

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- one connection with a read buffer ---- */

struct conn {
        int fd;
        char buf[BUF_SIZE];
        size_t start, end; /* unread bytes: buf[start..end) */
};

static int conn_open(struct conn *c, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
        int fd;

        c->fd = -1;
        c->start = c->end = 0;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        c->fd = fd;
        return 0;
}

static void conn_close(struct conn *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->start = c->end = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* More bytes into the buffer (compacting it first). 0 at EOF, > 0 bytes read,
 * -errno. */
static ssize_t conn_fill(struct conn *c)
{
        ssize_t r;

        if (c->start > 0) {
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start;
                c->start = 0;
        }
        if (c->end == sizeof(c->buf))
                return -E2BIG;
        do
                r = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        c->end += (size_t)r;
        return r;
}

/* One line (up to LF) into line (NUL-terminated, CR LF cut off). 0 or -errno
 * (-EPROTO at EOF). */
static int conn_line(struct conn *c, char *line, size_t size)
{
        for (;;) {
                char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
                if (nl) {
                        size_t n = (size_t)(nl - (c->buf + c->start));
                        size_t keep = n;
                        if (keep > 0 && c->buf[c->start + keep - 1] == '\r')
                                keep--;
                        if (keep >= size)
                                return -E2BIG;
                        memcpy(line, c->buf + c->start, keep);
                        line[keep] = '\0';
                        c->start += n + 1;
                        return 0;
                }
                ssize_t r = conn_fill(c);
                if (r == 0)
                        return -EPROTO;
                if (r < 0)
                        return (int)r;
        }
}

/* Skip n body bytes. */
static int conn_skip(struct conn *c, uint64_t n)
{
        while (n > 0) {
                size_t have = c->end - c->start;
                if (have == 0) {
                        ssize_t r = conn_fill(c);
                        if (r == 0)
                                return -EPROTO;
                        if (r < 0)
                                return (int)r;
                        continue;
                }
                size_t take = have < n ? have : (size_t)n;
                c->start += take;
                n -= take;
        }
        return 0;
}

static bool parse_u64(const char *s, int base, uint64_t *ret)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '\0')
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, base);
        while (*end == ' ' || *end == '\t')
                end++;
        if (errno != 0 || (*end != '\0' && *end != ';'))
                return false;
        *ret = v;
        return true;
}

/* Read one whole answer. *status gets the code; *closed whether the server
 * ends the connection after it. 0 or -errno. */
static int read_answer(struct conn *c, bool head_request, int *status, bool *closed)
{
        char line[HEAD_MAX];
        uint64_t length = 0;
        bool has_length = false, chunked = false;
        int r;

        *closed = false;
        for (;;) { /* 1xx answers come before the real one */
                r = conn_line(c, line, sizeof(line));
                if (r < 0)
                        return r;
                if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
                        return -EPROTO;
                *status = (int)strtol(line + 9, NULL, 10);
                if (strncmp(line, "HTTP/1.0", 8) == 0)
                        *closed = true;
                for (;;) {
                        char *colon, *v;
                        r = conn_line(c, line, sizeof(line));
                        if (r < 0)
                                return r;
                        if (line[0] == '\0')
                                break;
                        colon = strchr(line, ':');
                        if (!colon)
                                return -EPROTO;
                        *colon = '\0';
                        v = colon + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        if (strcasecmp(line, "Content-Length") == 0) {
                                if (!parse_u64(v, 10, &length))
                                        return -EPROTO;
                                has_length = true;
                        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                                chunked = strcasecmp(v, "chunked") == 0;
                        } else if (strcasecmp(line, "Connection") == 0) {
                                if (strcasecmp(v, "close") == 0)
                                        *closed = true;
                                else if (strcasecmp(v, "keep-alive") == 0)
                                        *closed = false;
                        }
                }
                if (*status >= 200 || *status == 101)
                        break;
                has_length = chunked = false;
        }
        if (head_request || *status == 204 || *status == 304 || *status == 101)
                return 0;
        if (chunked) {
                for (;;) {
                        uint64_t n;
                        r = conn_line(c, line, sizeof(line));
                        if (r < 0)
                                return r;
                        if (!parse_u64(line, 16, &n))
                                return -EPROTO;
                        if (n == 0)
                                break;
                        r = conn_skip(c, n + 2); /* data and its CRLF */
                        if (r < 0)
                                return r;
                }
                do { /* trailers up to the blank line */
                        r = conn_line(c, line, sizeof(line));
                        if (r < 0)
                                return r;
                } while (line[0] != '\0');
                return 0;
        }
        if (has_length)
                return conn_skip(c, length);
        /* neither: the body lasts until the server closes */
        for (;;) {
                c->start = c->end;
                ssize_t n = conn_fill(c);
                if (n == 0)
                        break;
                if (n < 0)
                        return (int)n;
        }
        *closed = true;
        return 0;
}

/* ---- rate ---- */

static const char *opt_socket;
static const char *opt_path;
static int64_t deadline_ns;
/* connected: every worker has tried to connect; go: the deadline is set */
static pthread_barrier_t connected_barrier, go_barrier;

struct worker {
        pthread_t thread;
        struct conn conn;
        uint64_t requests, errors, reconnects;
        uint32_t *samples_us;
        size_t n_samples;
        int connect_error;
};

static void *rate_worker(void *arg)
{
        struct worker *w = arg;
        char req[2048];
        int n =
            snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: ds01-bench-proxy-load\r\n\r\n",
                     opt_path);

        w->connect_error = conn_open(&w->conn, opt_socket);
        pthread_barrier_wait(&connected_barrier);
        pthread_barrier_wait(&go_barrier);
        if (w->connect_error < 0 || n < 0 || (size_t)n >= sizeof(req))
                return NULL;
        for (;;) {
                int64_t t0 = mono_ns(), t1;
                int status = 0, r;
                bool closed = false;

                if (t0 >= deadline_ns)
                        break;
                if (w->conn.fd < 0) {
                        if (conn_open(&w->conn, opt_socket) < 0) {
                                w->errors++;
                                usleep(1000);
                                continue;
                        }
                        w->reconnects++;
                }
                r = write_all(w->conn.fd, req, (size_t)n);
                if (r == 0)
                        r = read_answer(&w->conn, false, &status, &closed);
                t1 = mono_ns();
                if (r < 0 || closed)
                        conn_close(&w->conn);
                if (t1 > deadline_ns)
                        break;
                if (r < 0 || status < 200 || status > 299) {
                        w->errors++;
                        continue;
                }
                w->requests++;
                if (w->n_samples < MAX_SAMPLES)
                        w->samples_us[w->n_samples++] = (uint32_t)((t1 - t0) / 1000);
        }
        conn_close(&w->conn);
        return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return (x > y) - (x < y);
}

static int run_rate(const char *sock, const char *path, long conns, long seconds)
{
        struct worker *w;
        uint64_t requests = 0, errors = 0, reconnects = 0;
        uint32_t *all;
        size_t n_all = 0, connected = 0;
        int first_error = 0;

        opt_socket = sock;
        opt_path = path;
        w = calloc((size_t)conns, sizeof(*w));
        if (!w)
                return 1;
        if (pthread_barrier_init(&connected_barrier, NULL, (unsigned)conns + 1) != 0 ||
            pthread_barrier_init(&go_barrier, NULL, (unsigned)conns + 1) != 0)
                return 1;
        for (long i = 0; i < conns; i++) {
                w[i].samples_us = malloc(MAX_SAMPLES * sizeof(uint32_t));
                if (!w[i].samples_us ||
                    pthread_create(&w[i].thread, NULL, rate_worker, &w[i]) != 0) {
                        fprintf(stderr, "bench-proxy-load: cannot start thread %ld\n", i);
                        return 1;
                }
        }
        /* The clock starts once every connection is open; the workers read
         * the deadline only after the second barrier. */
        pthread_barrier_wait(&connected_barrier);
        deadline_ns = mono_ns() + (int64_t)seconds * 1000000000;
        pthread_barrier_wait(&go_barrier);
        for (long i = 0; i < conns; i++) {
                pthread_join(w[i].thread, NULL);
                requests += w[i].requests;
                errors += w[i].errors;
                reconnects += w[i].reconnects;
                if (w[i].connect_error < 0) {
                        if (!first_error)
                                first_error = w[i].connect_error;
                } else {
                        connected++;
                }
        }
        if (connected == 0) {
                fprintf(stderr, "bench-proxy-load: cannot connect to %s: %s\n", sock,
                        strerror(-first_error));
                return 1;
        }
        all = malloc((requests ? requests : 1) * sizeof(uint32_t));
        if (!all)
                return 1;
        for (long i = 0; i < conns; i++) {
                memcpy(all + n_all, w[i].samples_us, w[i].n_samples * sizeof(uint32_t));
                n_all += w[i].n_samples;
                free(w[i].samples_us);
        }
        qsort(all, n_all, sizeof(*all), cmp_u32);
        printf("requests %llu errors %llu reconnects %llu seconds %ld rps %.1f p50_us %u p99_us "
               "%u connected %zu\n",
               (unsigned long long)requests, (unsigned long long)errors,
               (unsigned long long)reconnects, seconds, (double)requests / (double)seconds,
               n_all ? all[n_all / 2] : 0, n_all ? all[n_all * 99 / 100] : 0, connected);
        free(all);
        free(w);
        return requests > 0 ? 0 : 1;
}

/* ---- idle ---- */

static int run_idle(const char *sock, long n, bool ping)
{
        static const char ping_req[] =
            "GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: ds01-bench-proxy-load\r\n\r\n";
        struct conn *c = calloc((size_t)n, sizeof(*c)); /* 64 KiB each: fine for 100,000 */
        size_t open_n = 0, failed = 0;
        int first_error = 0, sig;
        sigset_t set;

        if (!c)
                return 1;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        for (long i = 0; i < n; i++) {
                int r = conn_open(&c[i], sock);
                if (r == 0 && ping) {
                        int status = 0;
                        bool closed = false;
                        r = write_all(c[i].fd, ping_req, sizeof(ping_req) - 1);
                        if (r == 0)
                                r = read_answer(&c[i], false, &status, &closed);
                        if (r == 0 && (status != 200 || closed))
                                r = -EPROTO;
                }
                if (r < 0) {
                        conn_close(&c[i]);
                        if (!first_error)
                                first_error = r;
                        failed++;
                } else {
                        open_n++;
                }
        }
        printf("open %zu failed %zu", open_n, failed);
        if (failed)
                printf(" first_error %s", strerror(-first_error));
        printf("\n");
        fflush(stdout);
        sigwait(&set, &sig);
        for (long i = 0; i < n; i++)
                conn_close(&c[i]);
        printf("closed\n");
        free(c);
        return 0;
}

/* ---- main ---- */

static bool parse_long(const char *s, long lo, long hi, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
                return false;
        *ret = v;
        return true;
}

static int usage(void)
{
        fputs("usage: bench-proxy-load rate SOCKET PATH CONNS SECONDS\n"
              "       bench-proxy-load idle SOCKET N [ping]\n",
              stderr);
        return 2;
}

int main(int argc, char **argv)
{
        struct rlimit rl;
        long a, b;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (argc == 6 && strcmp(argv[1], "rate") == 0) {
                if (argv[3][0] != '/' || !parse_long(argv[4], 1, MAX_CONNS, &a) ||
                    !parse_long(argv[5], 1, 3600, &b))
                        return usage();
                return run_rate(argv[2], argv[3], a, b);
        }
        if ((argc == 4 || argc == 5) && strcmp(argv[1], "idle") == 0) {
                if (!parse_long(argv[3], 1, MAX_IDLE, &a) ||
                    (argc == 5 && strcmp(argv[4], "ping") != 0))
                        return usage();
                return run_idle(argv[2], a, argc == 5);
        }
        return usage();
}
