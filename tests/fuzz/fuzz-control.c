/* fuzz-control.c - libFuzzer target for what ds01d decodes from requests to its
 * control API (the unix socket ds01.sock) and its TCP listener (/health,
 * /metrics, the dashboard and /api/v1): query parameters, paths, JSON bodies,
 * event imports, and the routing around them, through the real handlers.
 *
 * Why the whole daemon: the handlers (src/daemon/control.c, access.c,
 * lifecycle-glue.c, usage.c, overview.c, web.c) decode their arguments in the
 * same functions that take d->lock and read or write the state, so there is
 * no pure decoder to call apart. The HTTP head itself is parsed by
 * libmicrohttpd, which is fuzzed upstream. So the harness starts ds01d once
 * (its main() as ds01d_main(), tests/fuzz/ds01d-main.c) on a thread of this
 * process, in a private folder under /tmp: the demo configuration of
 * deploy/config, the fake NVML library with the a100x4-mixed topology, no
 * Docker (a socket nobody answers). libFuzzer sees the coverage of every
 * daemon thread. State accumulates from input to input (allocations,
 * reservations, grants, imported events), as it does in a running daemon.
 *
 * Input: the first byte picks the door and the caller, the rest is sent as
 * the raw request (head and body), then the write side is closed:
 *   byte % 4 == 0 or 3   ds01.sock as root (an admin)
 *   byte % 4 == 1        ds01.sock as uid/gid 65534 (nobody: a student) when
 *                        this process is root (the fuzzing thread alone
 *                        changes its effective ids for connect(), so
 *                        SO_PEERCRED says nobody); as this process's user
 *                        otherwise
 *   byte % 4 == 2        the TCP listener (127.0.0.1, the port ds01d chose)
 * Checks: ds01d stays up (a crash, a sanitizer report or a leak stops the
 * run); an answer is HTTP/1.x with a status; a complete control-API answer
 * that says application/json is JSON. An answer not complete within 1 s (a
 * request waiting in the GPU queue) is left: the connection is closed, as a
 * client giving up would. A request that is not whole (its head not ended
 * by an empty line, less body than announced) gets no answer: libmicrohttpd
 * waits for the rest after the client's half-close, until the client closes
 * (or its 60 s connection timeout); the harness waits 20 ms for those. The
 * corpus in tests/fuzz/corpus/control (requests of the ds01 CLI, the
 * dashboard, Prometheus) also runs under plain gcc through replay.c, with the
 * same daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fuzz-poll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int ds01d_main(int argc, char **argv);

#define ANSWER_MS  1000 /* for a whole request */
#define IDLE_MS    20   /* for anything else, and after a whole answer */
#define ANSWER_MAX (256 * 1024)
#define NOBODY     65534

static char dir[64], sock_path[128];
static unsigned http_port;
static pthread_t daemon_thread;
static bool daemon_running;
static char *daemon_argv[16];

static void fail(const char *what)
{
        fprintf(stderr, "fuzz-control: %s\n", what);
        abort();
}

static void path(char *buf, size_t n, const char *name)
{
        snprintf(buf, n, "%s/%s", dir, name);
}

static void copy_file(const char *from, const char *to, const char *extra)
{
        char buf[65536];
        size_t n;
        FILE *in = fopen(from, "re"), *out = fopen(to, "we");

        if (!in || !out)
                fail("cannot copy the demo configuration");
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                if (fwrite(buf, 1, n, out) != n)
                        fail("cannot copy the demo configuration");
        if (extra)
                fputs(extra, out);
        fclose(in);
        if (fclose(out) != 0)
                fail("cannot copy the demo configuration");
}

static void *daemon_main(void *arg)
{
        int argc = 0;

        while (daemon_argv[argc])
                argc++;
        optind = 0; /* getopt starts afresh */
        (void)ds01d_main(argc, daemon_argv);
        __atomic_store_n(&daemon_running, false, __ATOMIC_SEQ_CST);
        return NULL;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p) < 0 ? -1 : 0;
}

static void stop_daemon(void)
{
        if (__atomic_load_n(&daemon_running, __ATOMIC_SEQ_CST)) {
                /* SIGTERM to the daemon's thread: its signalfd takes it */
                // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread): blocked, read by signalfd
                pthread_kill(daemon_thread, SIGTERM);
                pthread_join(daemon_thread, NULL);
        }
        for (int i = 0; daemon_argv[i]; i++)
                free(daemon_argv[i]);
        if (dir[0] && !getenv("DS01_FUZZ_KEEP") &&
            nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
                fprintf(stderr, "fuzz-control: could not remove all of %s\n", dir);
}

static void start_daemon(void)
{
        static const char *const members[] = {"admin", "faculty", "researcher", "student"};
        static const char *const files[] = {"resource-limits.yaml", "user-overrides.yaml",
                                            "lifecycle-exemptions.yaml"};
        char from[4096], to[4096], port[32] = "";
        struct timespec t0, now;
        int n = 0;

        snprintf(dir, sizeof(dir), "/tmp/ds01-fuzz-control-XXXXXX");
        if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
                fail("cannot make a folder under /tmp");
        path(to, sizeof(to), "etc");
        mkdir(to, 0755);
        path(to, sizeof(to), "etc/groups");
        mkdir(to, 0755);
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(from, sizeof(from), "%s/deploy/config/%s", DS01_FUZZ_SOURCE_DIR, files[i]);
                snprintf(to, sizeof(to), "%s/etc/%s", dir, files[i]);
                copy_file(from, to, NULL);
        }
        for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
                snprintf(from, sizeof(from), "%s/deploy/config/groups/%s.members",
                         DS01_FUZZ_SOURCE_DIR, members[i]);
                snprintf(to, sizeof(to), "%s/etc/groups/%s.members", dir, members[i]);
                copy_file(from, to, strcmp(members[i], "student") == 0 ? "nobody\n" : NULL);
        }
        setenv("DS01_NVML_LIBRARY", DS01_FUZZ_FAKENVML, 1);
        snprintf(from, sizeof(from), "%s/tests/fixtures/topology/a100x4-mixed.yaml",
                 DS01_FUZZ_SOURCE_DIR);
        setenv("DS01_FAKENVML_TOPOLOGY", from, 1);
        if (!getenv("DS01_LOG_LEVEL"))
                setenv("DS01_LOG_LEVEL", "error", 1);

#define ARG(...)                                                                                   \
        do {                                                                                       \
                if (asprintf(&daemon_argv[n++], __VA_ARGS__) < 0)                                  \
                        fail("out of memory");                                                     \
        } while (0)
        ARG("ds01d");
        ARG("--foreground");
        ARG("--config=%s/etc/resource-limits.yaml", dir);
        ARG("--state-dir=%s/state", dir);
        ARG("--run-dir=%s/run", dir);
        ARG("--log-dir=%s/log", dir);
        ARG("--listen=127.0.0.1:0");
        ARG("--docker-socket=%s/no-docker.sock", dir);
#undef ARG
        snprintf(sock_path, sizeof(sock_path), "%s/run/ds01.sock", dir);

        /* libcurl (and OpenSSL under it) set up on this thread, as in ds01d,
         * where the main thread does it: their per-thread state is then
         * freed at exit, not left behind by the daemon's thread */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                fail("curl_global_init failed");
        daemon_running = true;
        if (pthread_create(&daemon_thread, NULL, daemon_main, NULL) != 0)
                fail("cannot start a thread");
        atexit(stop_daemon);

        /* ready when it has written its port */
        path(to, sizeof(to), "run/ds01d.port");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                FILE *f = fopen(to, "re");
                if (f) {
                        if (fgets(port, sizeof(port), f))
                                http_port = (unsigned)strtoul(port, NULL, 10);
                        fclose(f);
                        if (http_port > 0)
                                break;
                }
                if (!__atomic_load_n(&daemon_running, __ATOMIC_SEQ_CST))
                        fail("ds01d did not start (its log is above)");
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - t0.tv_sec > 120)
                        fail("ds01d was not ready within 120 s");
                usleep(10000);
        }
}

/* connect() as uid/gid id on this thread only (raw syscalls: glibc's
 * wrappers would change every thread, the daemon's too). */
static int connect_unix(bool as_nobody)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        bool switched = false;
        int fd, r;

        if (strlen(sock_path) >= sizeof(sa.sun_path))
                fail("the socket path is too long");
        memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                fail("socket() failed");
        if (as_nobody && geteuid() == 0) {
                if (syscall(SYS_setresgid, -1, NOBODY, -1) < 0 ||
                    syscall(SYS_setresuid, -1, NOBODY, -1) < 0)
                        fail("cannot become nobody on this thread");
                switched = true;
        }
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (switched &&
            (syscall(SYS_setresuid, -1, 0, -1) < 0 || syscall(SYS_setresgid, -1, 0, -1) < 0))
                fail("cannot become root again");
        if (r < 0)
                fail("ds01d does not accept connections on ds01.sock any more");
        return fd;
}

static int connect_tcp(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                fail("ds01d does not accept connections on its TCP port any more");
        return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t k;
                if (poll_one(fd, POLLOUT, ANSWER_MS) <= 0)
                        return; /* not reading: it answered already, or will not */
                k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k <= 0)
                        return; /* it closed: it answered an error already */
                p += k;
                n -= (size_t)k;
        }
}

static int64_t ms_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is there a whole request in req (a head ended by an empty line, and the
 * body its Content-Length or chunked framing announces)? Without one the
 * server waits for more (libmicrohttpd does not give up on a half-closed
 * connection), so there is no answer to wait for. */
static bool whole_request(const char *req, size_t n)
{
        const char *crlf = memmem(req, n, "\r\n\r\n", 4), *lf = memmem(req, n, "\n\n", 2);
        const char *body, *h;
        char head[8192];
        size_t hl;

        if (lf && (!crlf || lf < crlf)) {
                hl = (size_t)(lf - req);
                body = lf + 2;
        } else if (crlf) {
                hl = (size_t)(crlf - req);
                body = crlf + 4;
        } else {
                return false;
        }
        if (hl > sizeof(head) - 1)
                hl = sizeof(head) - 1;
        memcpy(head, req, hl);
        head[hl] = '\0';
        for (size_t i = 0; i < hl; i++)
                if (!head[i])
                        head[i] = ' ';
        if (strcasestr(head, "\nTransfer-Encoding:"))
                return memmem(body, (size_t)(req + n - body), "0\r\n\r\n", 5) != NULL;
        if ((h = strcasestr(head, "\nContent-Length:")))
                return (size_t)(req + n - body) >= strtoul(h + 16, NULL, 10);
        return true;
}

/* The end of the first answer in a[0..len) (head and Content-Length body),
 * or NULL while it is not all there. */
static const char *answer_end(const char *a, size_t len)
{
        const char *end = memmem(a, len, "\r\n\r\n", 4), *cl;

        if (!end)
                return NULL;
        cl = strcasestr(a, "\r\nContent-Length: ");
        if (!cl || cl > end)
                return NULL;
        if ((size_t)(a + len - (end + 4)) < strtoul(cl + 18, NULL, 10))
                return NULL;
        return end + 4 + strtoul(cl + 18, NULL, 10);
}

/* Reads until the server closes, wait_ms pass, or a whole answer is in and
 * nothing more comes for IDLE_MS. */
static size_t receive(int fd, char *buf, size_t size, int wait_ms)
{
        int64_t end = ms_now() + wait_ms;
        size_t len = 0;

        while (len + 1 < size) {
                int64_t left = end - ms_now();
                ssize_t k;
                buf[len] = '\0';
                if (answer_end(buf, len) && left > IDLE_MS)
                        left = IDLE_MS;
                if (left <= 0 || poll_one(fd, POLLIN, (int)left) <= 0)
                        break;
                k = read(fd, buf + len, size - 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = '\0';
        return len;
}

static void check_answer(const char *a, size_t len, bool control)
{
        const char *end, *cl, *body;
        unsigned long want;

        if (len == 0)
                return; /* closed without an answer (a malformed head), or still waiting */
        if (len < 12 || (strncmp(a, "HTTP/1.1 ", 9) && strncmp(a, "HTTP/1.0 ", 9)) || a[9] < '1' ||
            a[9] > '5' || a[10] < '0' || a[10] > '9' || a[11] < '0' || a[11] > '9')
                fail("an answer that is not HTTP/1.x with a status");
        end = strstr(a, "\r\n\r\n");
        if (!control || !end || !strcasestr(a, "\r\nContent-Type: application/json"))
                return;
        cl = strcasestr(a, "\r\nContent-Length: ");
        if (!cl || cl > end)
                return;
        want = strtoul(cl + 18, NULL, 10);
        body = end + 4;
        if ((size_t)(a + len - body) < want)
                return; /* not all of it within the time */
        {
                json_error_t e;
                json_t *j = json_loadb(body, want, 0, &e);
                if (!j) {
                        fprintf(stderr, "fuzz-control: %.*s\n", (int)(end - a), a);
                        fail("an application/json answer that is not JSON");
                }
                json_decref(j);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char *answer;
        int64_t t0;
        unsigned door;
        size_t len;
        int fd;

        if (!daemon_thread)
                start_daemon();
        if (!answer && !(answer = malloc(ANSWER_MAX)))
                return 0;
        if (size < 1 || size > 1024 * 1024)
                return 0;
        door = data[0] % 4;
        t0 = ms_now();
        fd = door == 2 ? connect_tcp() : connect_unix(door == 1);
        send_all(fd, data + 1, size - 1);
        shutdown(fd, SHUT_WR);
        len = receive(fd, answer, ANSWER_MAX,
                      whole_request((const char *)data + 1, size - 1) ? ANSWER_MS : IDLE_MS);
        if (getenv("DS01_FUZZ_VERBOSE"))
                fprintf(stderr, "--- door %u, '%.*s': %zu bytes answered in %lld ms:\n%s\n", door,
                        (int)strcspn((const char *)data + 1, "\r\n"), (const char *)data + 1, len,
                        (long long)(ms_now() - t0), answer);
        close(fd);
        check_answer(answer, len, door != 2);
        if (!__atomic_load_n(&daemon_running, __ATOMIC_SEQ_CST))
                fail("ds01d stopped");
        return 0;
}
