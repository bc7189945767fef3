/* test-docker.c - the Docker Engine API client (src/docker) against a real
 * dockerd: the one tests/integration/docker-harness.sh makes sure of, at
 * $DS01_TEST_DOCKER_SOCKET (default /var/run/docker.sock), with the image
 * $DS01_TEST_DOCKER_IMAGE (default ds01-test-busybox:latest).
 *
 * Every container is named ds01test-<pid>-... and labelled
 * ds01test.run=<pid>-<test>, so parallel runs and other tests on the same
 * engine do not see each other's; the group teardown removes them all, also
 * after a failed test. Waits poll a condition with a deadline, never sleep a
 * fixed time.
 *
 * The reconnect test puts a small unix-socket forwarder (a thread of this
 * program) between the events watcher and Docker: it can stop listening and
 * cut every connection (the watcher sees the engine go away), and listen
 * again (the watcher comes back and replays). The forwarder also records the
 * request lines it passes, which shows the /v1.NN prefix on the wire. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "docker/docker.h"
#include "util/strutil.h"

#define MIB ((json_int_t)1024 * 1024)

static struct docker_client *client;
static const char *sock_path;
static const char *image;
static char prefix[64];    /* "ds01test-<pid>-" */
static char fwd_path[108]; /* the forwarder's socket */

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms_us(long us)
{
        struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000L};

        nanosleep(&ts, NULL);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

/* Polls cond(arg) every 10 ms for up to timeout_ms. */
static bool wait_until(bool (*cond)(void *), void *arg, long timeout_ms)
{
        int64_t deadline = now_ms() + timeout_ms;

        for (;;) {
                if (cond(arg))
                        return true;
                if (now_ms() >= deadline)
                        return false;
                sleep_ms(10);
        }
}

static void name_of(char *buf, size_t n, const char *suffix)
{
        snprintf(buf, n, "%s%s", prefix, suffix);
}

static void run_label(char *buf, size_t n, const char *what)
{
        snprintf(buf, n, "%d-%s", (int)getpid(), what);
}

/* A busybox container that sleeps forever, labelled for run `what`. */
static json_t *config_new(const char *what)
{
        char run[64];

        run_label(run, sizeof(run), what);
        return json_pack("{s:s, s:[s,s], s:[s,s], s:{s:s, s:s, s:s}}", "Image", image, "Cmd",
                         "sleep", "infinity", "Env", "FOO=bar", "DS01_TEST=1", "Labels",
                         "ds01test.run", run, "ds01.user", "alice", "ds01.container_type",
                         "atomic");
}

/* Creates a sleeping container named prefix+suffix; returns its id (freed by
 * the caller). */
static char *create_sleeper(const char *suffix, const char *what, json_t *host_config)
{
        char name[128];
        json_t *cfg = config_new(what);
        char *id = NULL;
        int r;

        assert_non_null(cfg);
        if (host_config)
                assert_int_equal(json_object_set_new(cfg, "HostConfig", host_config), 0);
        name_of(name, sizeof(name), suffix);
        r = docker_container_create(client, name, cfg, &id);
        json_decref(cfg);
        if (r < 0)
                fail_msg("create %s: %s (%s)", name, strerror(-r), docker_errmsg(client));
        assert_non_null(id);
        assert_int_equal(strlen(id), 64);
        return id;
}

static const json_t *jpath(const json_t *j, const char *a, const char *b)
{
        const json_t *v = json_object_get(j, a);

        return b ? json_object_get(v, b) : v;
}

static bool json_array_has_string(const json_t *arr, const char *s)
{
        size_t i;
        const json_t *v;

        json_array_foreach(arr, i, v) if (streq_ptr(json_string_value(v), s)) return true;
        return false;
}

static void read_file_line(const char *path, char *buf, size_t n)
{
        FILE *f = fopen(path, "re");

        buf[0] = '\0';
        if (!f)
                return;
        if (!fgets(buf, (int)n, f))
                buf[0] = '\0';
        fclose(f);
        strstrip(buf);
}

/* ---- an events recorder ---- */

struct rec_event {
        char id[80];
        char action[64];
        int64_t time_nano;
};

struct recorder {
        pthread_mutex_t lock;
        struct rec_event events[1024];
        size_t n;
        int states[256]; /* on_state values in order */
        size_t n_states;
        int connected; /* -1 not yet, 0, 1 */
};

static struct recorder rec;
static struct docker_events *watcher;

static void rec_reset(void)
{
        pthread_mutex_lock(&rec.lock);
        rec.n = 0;
        rec.n_states = 0;
        rec.connected = -1;
        pthread_mutex_unlock(&rec.lock);
}

/* Runs on the events thread: records, never asserts. */
static void rec_on_event(json_t *ev, void *userdata)
{
        struct recorder *r = userdata;
        const char *id = json_string_value(jpath(ev, "Actor", "ID"));
        const char *action = json_string_value(json_object_get(ev, "Action"));

        pthread_mutex_lock(&r->lock);
        if (r->n < ELEMENTSOF(r->events)) {
                struct rec_event *e = &r->events[r->n++];

                snprintf(e->id, sizeof(e->id), "%s", id ? id : "");
                snprintf(e->action, sizeof(e->action), "%s", action ? action : "");
                e->time_nano = json_integer_value(json_object_get(ev, "timeNano"));
        }
        pthread_mutex_unlock(&r->lock);
}

static void rec_on_state(bool connected, void *userdata)
{
        struct recorder *r = userdata;

        pthread_mutex_lock(&r->lock);
        if (r->n_states < ELEMENTSOF(r->states))
                r->states[r->n_states++] = connected;
        r->connected = connected;
        pthread_mutex_unlock(&r->lock);
}

static bool is_connected(void *arg)
{
        bool b;

        pthread_mutex_lock(&rec.lock);
        b = rec.connected == (int)(intptr_t)arg;
        pthread_mutex_unlock(&rec.lock);
        return b;
}

/* How many events (id, action) were recorded; action "exec_*" prefixes
 * not special. */
static size_t rec_count(const char *id, const char *action)
{
        size_t n = 0;

        pthread_mutex_lock(&rec.lock);
        for (size_t i = 0; i < rec.n; i++)
                if (streq(rec.events[i].id, id) && streq(rec.events[i].action, action))
                        n++;
        pthread_mutex_unlock(&rec.lock);
        return n;
}

/* Index of the first (id, action) event, or -1. */
static long rec_index(const char *id, const char *action)
{
        long idx = -1;

        pthread_mutex_lock(&rec.lock);
        for (size_t i = 0; i < rec.n; i++) {
                if (streq(rec.events[i].id, id) && streq(rec.events[i].action, action)) {
                        idx = (long)i;
                        break;
                }
        }
        pthread_mutex_unlock(&rec.lock);
        return idx;
}

struct want {
        const char *id;
        const char *action;
};

static bool has_event(void *arg)
{
        const struct want *w = arg;

        return rec_count(w->id, w->action) > 0;
}

static json_t *label_filter(const char *what)
{
        char label[96], run[64];

        run_label(run, sizeof(run), what);
        snprintf(label, sizeof(label), "ds01test.run=%s", run);
        return json_pack("{s:[s], s:[s]}", "type", "container", "label", label);
}

/* ---- a unix socket forwarder with a kill switch ---- */

#define FWD_PAIRS 32

struct forwarder {
        pthread_t thread;
        int cmd[2]; /* the test writes commands: 'l' listen, 'c' cut, 'q' quit */
        sem_t ack;
        pthread_mutex_t lock;
        char *lines[512]; /* request lines seen, "GET /v1.41/... HTTP/1.1" */
        size_t n_lines;
        bool running;
        bool chop; /* pass the engine's bytes on 3 at a time, 200 us apart */
};

static struct forwarder fwd;

static int fwd_listen_socket(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fwd_path);
        unlink(fwd_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static int fwd_connect_upstream(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void fwd_record(const char *data, size_t n)
{
        static const char *const methods[] = {"GET ", "POST ", "DELETE ", "HEAD ", "PUT "};
        const char *end;
        char *line;

        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                size_t m = strlen(methods[i]);

                if (n < m || memcmp(data, methods[i], m) != 0)
                        continue;
                end = memmem(data, MIN(n, (size_t)1024), "\r\n", 2);
                if (!end)
                        return;
                line = strndup(data, (size_t)(end - data));
                pthread_mutex_lock(&fwd.lock);
                if (line && fwd.n_lines < ELEMENTSOF(fwd.lines))
                        fwd.lines[fwd.n_lines++] = TAKE_PTR(line);
                pthread_mutex_unlock(&fwd.lock);
                free(line);
                return;
        }
}

static bool write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t)k;
        }
        return true;
}

static void *fwd_main(void *arg)
{
        int client_fd[FWD_PAIRS] = {0}, upstream_fd[FWD_PAIRS] = {0};
        size_t np = 0, polled;
        int lfd = -1;
        static char buf[65536];

        for (;;) {
                struct pollfd p[2 + 2 * FWD_PAIRS];
                size_t n = 2;

                p[0] = (struct pollfd){.fd = fwd.cmd[0], .events = POLLIN};
                p[1] = (struct pollfd){.fd = lfd, .events = POLLIN};
                for (size_t i = 0; i < np; i++) {
                        p[n++] = (struct pollfd){.fd = client_fd[i], .events = POLLIN};
                        p[n++] = (struct pollfd){.fd = upstream_fd[i], .events = POLLIN};
                }
                if (poll(p, n, -1) < 0)
                        continue;

                if (p[0].revents) {
                        char c = 0;

                        if (read(fwd.cmd[0], &c, 1) != 1)
                                c = 'q';
                        if (c == 'c' || c == 'q') {
                                /* Cut: no listener, no socket file, every
                                 * connection closed. */
                                if (lfd >= 0)
                                        close(lfd);
                                lfd = -1;
                                unlink(fwd_path);
                                for (size_t i = 0; i < np; i++) {
                                        close(client_fd[i]);
                                        close(upstream_fd[i]);
                                }
                                np = 0;
                        } else if (c == 'l' && lfd < 0) {
                                lfd = fwd_listen_socket();
                        } else if (c == 's') {
                                fwd.chop = true;
                        }
                        sem_post(&fwd.ack);
                        if (c == 'q')
                                return NULL;
                        continue;
                }
                /* Only the pairs polled: one accepted below has no entry in p. */
                polled = np;
                if (lfd >= 0 && (p[1].revents & POLLIN)) {
                        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        int ufd = cfd >= 0 ? fwd_connect_upstream() : -1;

                        if (cfd >= 0 && ufd >= 0 && np < FWD_PAIRS) {
                                client_fd[np] = cfd;
                                upstream_fd[np] = ufd;
                                np++;
                        } else {
                                if (cfd >= 0)
                                        close(cfd);
                                if (ufd >= 0)
                                        close(ufd);
                        }
                }
                for (size_t i = 0; i < polled; i++) {
                        for (int side = 0; side < 2; side++) {
                                struct pollfd *q = &p[2 + 2 * i + side];
                                int from = side == 0 ? client_fd[i] : upstream_fd[i];
                                int to = side == 0 ? upstream_fd[i] : client_fd[i];
                                ssize_t k;

                                if (from < 0 || q->fd != from || !q->revents)
                                        continue;
                                k = recv(from, buf, sizeof(buf), MSG_DONTWAIT);
                                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                                        continue;
                                if (k > 0 && side == 0)
                                        fwd_record(buf, (size_t)k);
                                if (k > 0 && side == 1 && fwd.chop) {
                                        for (ssize_t off = 0; off < k; off += 3) {
                                                if (!write_all(to, buf + off,
                                                               (size_t)MIN(k - off, 3))) {
                                                        k = -1;
                                                        break;
                                                }
                                                sleep_ms_us(200);
                                        }
                                        if (k > 0)
                                                continue;
                                }
                                if (k <= 0 || !write_all(to, buf, (size_t)k)) {
                                        close(client_fd[i]);
                                        close(upstream_fd[i]);
                                        client_fd[i] = upstream_fd[i] = -1;
                                        break;
                                }
                        }
                }
                /* Drop closed pairs. */
                for (size_t i = 0; i < np;) {
                        if (client_fd[i] < 0) {
                                client_fd[i] = client_fd[np - 1];
                                upstream_fd[i] = upstream_fd[np - 1];
                                np--;
                        } else {
                                i++;
                        }
                }
        }
}

static void fwd_command(char c)
{
        assert_int_equal(write(fwd.cmd[1], &c, 1), 1);
        while (sem_wait(&fwd.ack) < 0 && errno == EINTR)
                ;
}

static void fwd_start(void)
{
        assert_false(fwd.running);
        assert_int_equal(pipe2(fwd.cmd, O_CLOEXEC), 0);
        assert_int_equal(sem_init(&fwd.ack, 0, 0), 0);
        unlink(fwd_path);
        assert_int_equal(pthread_create(&fwd.thread, NULL, fwd_main, NULL), 0);
        fwd.running = true;
}

static void fwd_stop(void)
{
        if (!fwd.running)
                return;
        fwd_command('q');
        pthread_join(fwd.thread, NULL);
        close(fwd.cmd[0]);
        close(fwd.cmd[1]);
        sem_destroy(&fwd.ack);
        pthread_mutex_lock(&fwd.lock);
        for (size_t i = 0; i < fwd.n_lines; i++)
                free(fwd.lines[i]);
        fwd.n_lines = 0;
        pthread_mutex_unlock(&fwd.lock);
        fwd.running = false;
        fwd.chop = false;
}

static bool fwd_saw(const char *line_prefix)
{
        bool found = false;

        pthread_mutex_lock(&fwd.lock);
        for (size_t i = 0; i < fwd.n_lines && !found; i++)
                found = startswith(fwd.lines[i], line_prefix) != NULL;
        pthread_mutex_unlock(&fwd.lock);
        return found;
}

/* ---- setup and teardown ---- */

static void remove_test_containers(void)
{
        json_t *list = NULL, *filters, *c;
        size_t i;

        filters = json_pack("{s:[s]}", "name", prefix);
        if (!filters || docker_container_list(client, true, filters, &list) < 0) {
                json_decref(filters);
                return;
        }
        json_array_foreach(list, i, c)
        {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *name =
                    json_string_value(json_array_get(json_object_get(c, "Names"), 0));

                /* The name filter matches anywhere; remove only ours. */
                if (id && name && startswith(name[0] == '/' ? name + 1 : name, prefix))
                        (void)docker_container_remove(client, id, true, true);
        }
        json_decref(list);
        json_decref(filters);
}

static void remove_test_cgroups(void)
{
        static const char *const controllers[] = {"memory", "cpu",     "cpuacct", "cpuset", "pids",
                                                  "blkio",  "devices", "freezer", "systemd"};
        char path[256];

        for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%slimits", controllers[i], prefix);
                (void)rmdir(path);
        }
}

static int group_setup(void **state)
{
        const char *s;
        int r;

        s = getenv("DS01_TEST_DOCKER_SOCKET");
        sock_path = isempty(s) ? DOCKER_DEFAULT_SOCKET : s;
        s = getenv("DS01_TEST_DOCKER_IMAGE");
        image = isempty(s) ? "ds01-test-busybox:latest" : s;
        snprintf(prefix, sizeof(prefix), "ds01test-%d-", (int)getpid());
        snprintf(fwd_path, sizeof(fwd_path), "/tmp/ds01test-%d-fwd.sock", (int)getpid());
        pthread_mutex_init(&rec.lock, NULL);
        pthread_mutex_init(&fwd.lock, NULL);

        r = docker_client_new(sock_path, &client);
        if (r < 0)
                return -1;
        r = docker_ping(client);
        if (r < 0) {
                fprintf(stderr,
                        "test-docker: no Docker engine at %s: %s (run "
                        "tests/integration/docker-harness.sh ensure)\n",
                        sock_path, docker_errmsg(client));
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        remove_test_containers();
        remove_test_cgroups();
        unlink(fwd_path);
        client = docker_client_free(client);
        return 0;
}

/* After each test, also a failed one: no watcher or forwarder left. */
static int test_teardown(void **state)
{
        if (watcher) {
                docker_events_stop(watcher);
                watcher = NULL;
        }
        fwd_stop();
        return 0;
}

/* ---- the tests ---- */

static void test_version_negotiation(void **state)
{
        _cleanup_(docker_client_freep) struct docker_client *c = NULL;
        json_t *v = NULL, *info = NULL, *list = NULL;
        char expected[16], line[64];
        int maj, min;

        assert_int_equal(docker_client_new(sock_path, &c), 0);
        assert_null(docker_api_version(c));
        assert_int_equal(docker_ping(c), 0);
        assert_string_equal(docker_errmsg(c), "");
        /* /_ping is unversioned: nothing negotiated yet. */
        assert_null(docker_api_version(c));

        assert_int_equal(docker_version(c, &v), 0);
        assert_true(json_is_object(v));
        assert_int_equal(
            sscanf(json_string_value(json_object_get(v, "ApiVersion")), "%d.%d", &maj, &min), 2);
        if (maj > 1 || (maj == 1 && min > 43))
                snprintf(expected, sizeof(expected), "1.43");
        else
                snprintf(expected, sizeof(expected), "%d.%d", maj, min);
        assert_non_null(docker_api_version(c));
        assert_string_equal(docker_api_version(c), expected);
        json_decref(v);

        assert_int_equal(docker_info(c, &info), 0);
        assert_non_null(json_string_value(json_object_get(info, "CgroupDriver")));
        assert_non_null(json_object_get(jpath(info, "Runtimes", NULL), "nvidia"));
        json_decref(info);

        /* The prefix on the wire: a fresh client through the forwarder
         * negotiates with GET /version, then asks /v1.NN/containers/json. */
        fwd_start();
        fwd_command('l');
        c = docker_client_free(c);
        assert_int_equal(docker_client_new(fwd_path, &c), 0);
        assert_int_equal(docker_container_list(c, false, NULL, &list), 0);
        assert_true(json_is_array(list));
        json_decref(list);
        assert_true(fwd_saw("GET /version HTTP/1.1"));
        snprintf(line, sizeof(line), "GET /v%s/containers/json", expected);
        assert_true(fwd_saw(line));
        /* Cut the engine away: the client forgets the version. */
        fwd_command('c');
        assert_int_equal(docker_ping(c), -ECONNREFUSED);
        assert_int_equal(docker_container_list(c, false, NULL, &list), -ECONNREFUSED);
        assert_null(docker_api_version(c));
        fwd_stop();
}

static void test_create_inspect_gpu(void **state)
{
        _cleanup_free_ char *id = NULL;
        json_t *hc, *j = NULL, *dr;
        char name[128], parent[128], run[64];
        int r;

        snprintf(parent, sizeof(parent), "/%slimits", prefix);
        hc = json_pack("{s:I, s:I, s:s, s:[{s:s, s:[s], s:[[s]]}]}", "Memory", 256 * MIB,
                       "NanoCpus", (json_int_t)1500000000, "CgroupParent", parent, "DeviceRequests",
                       "Driver", "nvidia", "DeviceIDs", "GPU-00000000-0000-0000-0000-000000000000",
                       "Capabilities", "gpu");
        assert_non_null(hc);
        id = create_sleeper("gpu", "gpu", hc);

        name_of(name, sizeof(name), "gpu");
        /* By name and by id, the same container. */
        assert_int_equal(docker_container_inspect(client, name, &j), 0);
        assert_string_equal(json_string_value(json_object_get(j, "Id")), id);
        assert_string_equal(json_string_value(json_object_get(j, "Name")) + 1, name);
        run_label(run, sizeof(run), "gpu");
        assert_string_equal(
            json_string_value(jpath(jpath(j, "Config", "Labels"), "ds01test.run", NULL)), run);
        assert_string_equal(
            json_string_value(jpath(jpath(j, "Config", "Labels"), "ds01.user", NULL)), "alice");
        assert_true(json_array_has_string(jpath(j, "Config", "Env"), "FOO=bar"));
        assert_int_equal(json_integer_value(jpath(j, "HostConfig", "Memory")), 256 * MIB);
        assert_int_equal(json_integer_value(jpath(j, "HostConfig", "NanoCpus")), 1500000000);
        assert_string_equal(json_string_value(jpath(j, "HostConfig", "CgroupParent")), parent);
        dr = json_array_get(jpath(j, "HostConfig", "DeviceRequests"), 0);
        assert_non_null(dr);
        assert_string_equal(json_string_value(json_object_get(dr, "Driver")), "nvidia");
        assert_string_equal(json_string_value(json_array_get(json_object_get(dr, "DeviceIDs"), 0)),
                            "GPU-00000000-0000-0000-0000-000000000000");
        assert_string_equal(json_string_value(json_array_get(
                                json_array_get(json_object_get(dr, "Capabilities"), 0), 0)),
                            "gpu");
        assert_false(json_is_true(jpath(j, "State", "Running")));
        json_decref(j);

        /* Starting it needs NVIDIA's container toolkit, which the test
         * machines lack: the engine refuses, and the message comes through. */
        r = docker_container_start(client, id);
        assert_true(r < 0);
        assert_false(isempty(docker_errmsg(client)));
        assert_int_equal(docker_container_remove(client, id, true, false), 0);
}

static void test_lifecycle(void **state)
{
        _cleanup_free_ char *id = NULL;
        json_t *hc, *j = NULL, *upd;
        char name[128], newname[128], parent[128], cg[512], val[64];
        int64_t t0, dt;
        bool v1;

        snprintf(parent, sizeof(parent), "/%slimits", prefix);
        hc = json_pack("{s:I, s:I, s:s, s:s}", "Memory", 64 * MIB, "NanoCpus",
                       (json_int_t)500000000, "CgroupParent", parent, "Runtime", "nvidia");
        assert_non_null(hc);
        id = create_sleeper("life", "life", hc);

        assert_int_equal(docker_container_start(client, id), 0);
        /* Already running: 304, still 0. */
        assert_int_equal(docker_container_start(client, id), 0);
        assert_int_equal(docker_container_inspect(client, id, &j), 0);
        assert_true(json_is_true(jpath(j, "State", "Running")));
        assert_string_equal(json_string_value(jpath(j, "HostConfig", "Runtime")), "nvidia");
        json_decref(j);

        /* cgroup v1 with cgroupfs: the limits are where CgroupParent says. */
        snprintf(cg, sizeof(cg), "/sys/fs/cgroup/memory%s/%s/memory.limit_in_bytes", parent, id);
        v1 = access("/sys/fs/cgroup/memory", F_OK) == 0;
        if (v1) {
                read_file_line(cg, val, sizeof(val));
                assert_string_equal(val, "67108864");
        }

        /* Update the memory limit. */
        upd = json_pack("{s:I}", "Memory", 96 * MIB);
        assert_int_equal(docker_container_update(client, id, upd), 0);
        json_decref(upd);
        assert_int_equal(docker_container_inspect(client, id, &j), 0);
        assert_int_equal(json_integer_value(jpath(j, "HostConfig", "Memory")), 96 * MIB);
        json_decref(j);
        if (v1) {
                read_file_line(cg, val, sizeof(val));
                assert_string_equal(val, "100663296");
        }

        /* Rename: the old name is gone, the new one answers. */
        name_of(name, sizeof(name), "life");
        name_of(newname, sizeof(newname), "life-renamed");
        assert_int_equal(docker_container_rename(client, name, newname), 0);
        assert_int_equal(docker_container_inspect(client, name, &j), -ENOENT);
        assert_int_equal(docker_container_inspect(client, newname, &j), 0);
        assert_string_equal(json_string_value(json_object_get(j, "Id")), id);
        json_decref(j);

        /* One-shot stats. */
        assert_int_equal(docker_container_stats_once(client, id, &j), 0);
        assert_true(json_is_object(json_object_get(j, "memory_stats")));
        assert_true(json_is_object(json_object_get(j, "cpu_stats")));
        assert_non_null(json_string_value(json_object_get(j, "read")));
        json_decref(j);

        /* Running: remove without force is a conflict. */
        assert_int_equal(docker_container_remove(client, id, false, false), -EBUSY);
        assert_false(isempty(docker_errmsg(client)));

        /* sleep as PID 1 ignores SIGTERM: stop waits the whole grace, then
         * kills. */
        t0 = now_ms();
        assert_int_equal(docker_container_stop(client, id, 1), 0);
        dt = now_ms() - t0;
        assert_true(dt >= 900);
        assert_true(dt < 8000);
        assert_int_equal(docker_container_inspect(client, id, &j), 0);
        assert_false(json_is_true(jpath(j, "State", "Running")));
        json_decref(j);
        /* Already stopped: 304, still 0. */
        assert_int_equal(docker_container_stop(client, id, 1), 0);

        /* Kill: SIGKILL ends it at once; killing a stopped one is a conflict. */
        assert_int_equal(docker_container_start(client, id), 0);
        t0 = now_ms();
        assert_int_equal(docker_container_kill(client, id, "SIGKILL"), 0);
        assert_true(now_ms() - t0 < 5000);
        assert_int_equal(docker_container_kill(client, id, NULL), -EBUSY);

        assert_int_equal(docker_container_remove(client, id, false, true), 0);
        assert_int_equal(docker_container_remove(client, id, false, true), -ENOENT);
        assert_int_equal(docker_container_inspect(client, id, &j), -ENOENT);
}

static void test_list_filter(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *other = NULL;
        json_t *filters, *list = NULL, *c;
        char label[96], run[64];
        size_t i;
        bool saw_a = false, saw_b = false;

        a = create_sleeper("list-a", "list", NULL);
        b = create_sleeper("list-b", "list", NULL);
        other = create_sleeper("list-other", "list-other", NULL);

        run_label(run, sizeof(run), "list");
        snprintf(label, sizeof(label), "ds01test.run=%s", run);
        filters = json_pack("{s:[s]}", "label", label);

        assert_int_equal(docker_container_list(client, true, filters, &list), 0);
        assert_int_equal(json_array_size(list), 2);
        json_array_foreach(list, i, c)
        {
                const char *id = json_string_value(json_object_get(c, "Id"));

                saw_a |= streq_ptr(id, a);
                saw_b |= streq_ptr(id, b);
                assert_string_equal(
                    json_string_value(json_object_get(json_object_get(c, "Labels"), "ds01.user")),
                    "alice");
        }
        assert_true(saw_a && saw_b);
        json_decref(list);

        /* Without all: only running ones. */
        assert_int_equal(docker_container_list(client, false, filters, &list), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
        assert_int_equal(docker_container_start(client, a), 0);
        assert_int_equal(docker_container_list(client, false, filters, &list), 0);
        assert_int_equal(json_array_size(list), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Id")), a);
        json_decref(list);
        json_decref(filters);

        /* A filter Docker does not know is the caller's mistake. */
        filters = json_pack("{s:[s]}", "no-such-filter", "x");
        assert_int_equal(docker_container_list(client, true, filters, &list), -EINVAL);
        json_decref(filters);
        /* Filters must be an object. */
        filters = json_array();
        assert_int_equal(docker_container_list(client, true, filters, &list), -EINVAL);
        json_decref(filters);

        for (const char *const *id = (const char *const[]){a, b, other, NULL}; *id; id++)
                assert_int_equal(docker_container_remove(client, *id, true, false), 0);
}

static void test_exec(void **state)
{
        _cleanup_free_ char *id = NULL, *out = NULL;
        const char *const script[] = {"sh", "-c", "echo hi; echo err >&2; exit 3", NULL};
        const char *const big[] = {"sh", "-c", "yes 0123456789abcdef | head -c 3000000", NULL};
        const char *const slow[] = {"sleep", "5", NULL};
        const char *const env[] = {"env", NULL};
        const char *const missing[] = {"/no/such/program", NULL};
        int code = -1;
        int64_t t0;

        id = create_sleeper("exec", "exec", NULL);
        /* Not running: a conflict. */
        assert_int_equal(docker_exec(client, id, script, 0, &code, &out), -EBUSY);
        assert_null(out);
        assert_int_equal(docker_container_start(client, id), 0);

        assert_int_equal(docker_exec(client, id, script, 10000, &code, &out), 0);
        assert_int_equal(code, 3);
        /* stdout and stderr are separate pipes: their order is not fixed. */
        assert_int_equal(strlen(out), strlen("hi\nerr\n"));
        assert_true(strstr(out, "hi\n") && strstr(out, "err\n"));
        out = mfree(out);

        /* The container's environment comes with it. */
        assert_int_equal(docker_exec(client, id, env, 0, &code, &out), 0);
        assert_int_equal(code, 0);
        assert_non_null(strstr(out, "FOO=bar\n"));
        out = mfree(out);

        /* Output past the ceiling is dropped, the exit code still comes. */
        assert_int_equal(docker_exec(client, id, big, 20000, &code, &out), 0);
        assert_int_equal(code, 0);
        assert_int_equal(strlen(out), DOCKER_EXEC_MAX_OUTPUT);
        assert_true(startswith(out, "0123456789abcdef\n0123456789abcdef\n"));
        out = mfree(out);

        /* No exit code or output wanted. */
        assert_int_equal(docker_exec(client, id, script, 0, NULL, NULL), 0);

        /* A program that does not exist: the engine's status for it. */
        code = 0;
        assert_int_equal(docker_exec(client, id, missing, 0, &code, &out), 0);
        assert_int_equal(code, 126 + (code == 127)); /* 126 or 127 by engine version */
        out = mfree(out);

        /* The timeout bounds the whole exec. */
        t0 = now_ms();
        assert_int_equal(docker_exec(client, id, slow, 300, &code, &out), -ETIMEDOUT);
        assert_true(now_ms() - t0 < 2000);
        assert_null(out);

        assert_int_equal(docker_exec(client, "ds01test-no-such-container", script, 0, &code, &out),
                         -ENOENT);
        assert_int_equal(docker_exec(client, id, (const char *const[]){NULL}, 0, &code, &out),
                         -EINVAL);
        assert_int_equal(docker_container_remove(client, id, true, false), 0);
}

static void test_errors(void **state)
{
        _cleanup_(docker_client_freep) struct docker_client *c = NULL;
        _cleanup_free_ char *id = NULL, *id2 = NULL;
        json_t *j = NULL, *cfg;
        char name[128], path[100];
        int fd;

        name_of(name, sizeof(name), "no-such");
        assert_int_equal(docker_container_inspect(client, name, &j), -ENOENT);
        assert_null(j);
        assert_non_null(strstr(docker_errmsg(client), "No such container"));
        assert_int_equal(docker_container_start(client, name), -ENOENT);
        assert_int_equal(docker_container_inspect(client, "", &j), -EINVAL);

        /* A name in use. */
        id = create_sleeper("dup", "errors", NULL);
        cfg = config_new("errors");
        name_of(name, sizeof(name), "dup");
        assert_int_equal(docker_container_create(client, name, cfg, &id2), -EEXIST);
        assert_null(id2);
        assert_non_null(strstr(docker_errmsg(client), "already in use"));
        /* Renaming onto it: the same. */
        id2 = create_sleeper("dup2", "errors", NULL);
        assert_int_equal(docker_container_rename(client, id2, name), -EEXIST);

        /* An image that is not there: never pulled. */
        json_object_set_new(cfg, "Image", json_string("ds01-test-no-such-image:latest"));
        name_of(name, sizeof(name), "noimage");
        assert_int_equal(docker_container_create(client, name, cfg, &id2), -ENOENT);
        assert_non_null(strstr(docker_errmsg(client), "No such image"));

        /* A limit Docker refuses: 400. */
        json_object_set_new(cfg, "Image", json_string(image));
        json_object_set_new(cfg, "HostConfig", json_pack("{s:i}", "Memory", 1024));
        name_of(name, sizeof(name), "tiny");
        assert_int_equal(docker_container_create(client, name, cfg, &id2), -EINVAL);
        assert_false(isempty(docker_errmsg(client)));
        json_decref(cfg);

        /* The answer ceiling. */
        docker_client_set_max_response(client, 64);
        assert_int_equal(docker_container_inspect(client, id, &j), -E2BIG);
        docker_client_set_max_response(client, 0);
        assert_int_equal(docker_container_inspect(client, id, &j), 0);
        json_decref(j);
        j = NULL;

        /* No engine: no socket file, a file that is not a socket, a socket
         * nobody listens on. */
        snprintf(path, sizeof(path), "/tmp/%snone.sock", prefix);
        unlink(path);
        assert_int_equal(docker_client_new(path, &c), 0);
        assert_int_equal(docker_ping(c), -ECONNREFUSED);
        assert_non_null(strstr(docker_errmsg(c), path));
        assert_int_equal(docker_container_inspect(c, "x", &j), -ECONNREFUSED);
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(docker_ping(c), -ECONNREFUSED);
        unlink(path);
        {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};

                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
                assert_int_equal(docker_ping(c), -ECONNREFUSED);
                /* Listening but never answering: the timeout. */
                assert_int_equal(listen(fd, 4), 0);
                docker_client_set_timeout(c, 300);
                int64_t t0 = now_ms();
                assert_int_equal(docker_ping(c), -ETIMEDOUT);
                assert_true(now_ms() - t0 < 3000);
                close(fd);
                unlink(path);
        }
        assert_null(j);
        assert_int_equal(docker_container_remove(client, id, true, false), 0);
        assert_int_equal(docker_container_remove(client, id2, true, false), 0);
}

static void test_events_stream(void **state)
{
        _cleanup_free_ char *id = NULL;
        json_t *filters = label_filter("ev");
        struct docker_events_counters cnt;
        static const char *const order[] = {"create", "start", "die", "stop", "destroy"};
        struct want w;
        long prev = -1;
        int64_t t0;

        rec_reset();
        assert_int_equal(
            docker_events_start(sock_path, 0, filters, rec_on_event, rec_on_state, &rec, &watcher),
            0);
        json_decref(filters);
        assert_true(wait_until(is_connected, (void *)(intptr_t)1, 10000));

        id = create_sleeper("ev", "ev", NULL);
        assert_int_equal(docker_container_start(client, id), 0);
        assert_int_equal(docker_container_stop(client, id, 0), 0);
        assert_int_equal(docker_container_remove(client, id, false, false), 0);

        w = (struct want){id, "destroy"};
        assert_true(wait_until(has_event, &w, 20000));
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                long idx = rec_index(id, order[i]);

                if (idx < 0)
                        fail_msg("no '%s' event for the container", order[i]);
                assert_true(idx > prev);
                assert_int_equal(rec_count(id, order[i]), 1);
                prev = idx;
        }
        docker_events_get_counters(watcher, &cnt);
        assert_true(cnt.delivered >= ELEMENTSOF(order));
        assert_int_equal(cnt.connects, 1);
        assert_int_equal(cnt.dropped, 0);

        /* Stopping is prompt although the stream is idle. */
        t0 = now_ms();
        docker_events_stop(watcher);
        watcher = NULL;
        print_message("events: %llu delivered, stopped in %lld ms\n",
                      (unsigned long long)cnt.delivered, (long long)(now_ms() - t0));
        assert_true(now_ms() - t0 < 200);
}

/* No event recorded twice. */
static void assert_no_duplicates(void)
{
        pthread_mutex_lock(&rec.lock);
        for (size_t i = 0; i < rec.n; i++)
                for (size_t k = i + 1; k < rec.n; k++)
                        if (streq(rec.events[i].id, rec.events[k].id) &&
                            streq(rec.events[i].action, rec.events[k].action) &&
                            rec.events[i].time_nano == rec.events[k].time_nano) {
                                pthread_mutex_unlock(&rec.lock);
                                fail_msg("event %s %s delivered twice", rec.events[i].action,
                                         rec.events[i].id);
                        }
        pthread_mutex_unlock(&rec.lock);
}

static bool states_start_disconnected(void *arg)
{
        bool b;

        pthread_mutex_lock(&rec.lock);
        b = rec.n_states >= 1 && rec.states[0] == 0;
        pthread_mutex_unlock(&rec.lock);
        return b;
}

static void test_events_reconnect(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        json_t *filters = label_filter("rc");
        struct docker_events_counters cnt;
        static const char *const b_actions[] = {"create", "start", "die", "stop", "destroy"};
        struct want w;
        int64_t t0;

        /* The watcher starts before anything listens: on_state(false). */
        fwd_start();
        rec_reset();
        assert_int_equal(
            docker_events_start(fwd_path, 0, filters, rec_on_event, rec_on_state, &rec, &watcher),
            0);
        json_decref(filters);
        assert_true(wait_until(states_start_disconnected, NULL, 5000));

        /* The engine appears: it connects. */
        fwd_command('l');
        assert_true(wait_until(is_connected, (void *)(intptr_t)1, 10000));
        a = create_sleeper("rc-a", "rc", NULL);
        assert_int_equal(docker_container_start(client, a), 0);
        w = (struct want){a, "start"};
        assert_true(wait_until(has_event, &w, 20000));

        /* The engine goes away; meanwhile B lives and dies and A stops. */
        fwd_command('c');
        assert_true(wait_until(is_connected, (void *)(intptr_t)0, 5000));
        b = create_sleeper("rc-b", "rc", NULL);
        assert_int_equal(docker_container_start(client, b), 0);
        assert_int_equal(docker_container_stop(client, b, 0), 0);
        assert_int_equal(docker_container_remove(client, b, false, false), 0);
        assert_int_equal(docker_container_stop(client, a, 0), 0);
        assert_int_equal(rec_count(b, "create"), 0);

        /* It comes back: the replay brings what happened, once. */
        fwd_command('l');
        assert_true(wait_until(is_connected, (void *)(intptr_t)1, 15000));
        w = (struct want){b, "destroy"};
        assert_true(wait_until(has_event, &w, 20000));
        w = (struct want){a, "stop"};
        assert_true(wait_until(has_event, &w, 20000));
        for (size_t i = 0; i < ELEMENTSOF(b_actions); i++)
                assert_int_equal(rec_count(b, b_actions[i]), 1);
        assert_int_equal(rec_count(a, "create"), 1);
        assert_int_equal(rec_count(a, "start"), 1);
        assert_int_equal(rec_count(a, "die"), 1);
        assert_int_equal(rec_count(a, "stop"), 1);
        assert_no_duplicates();
        assert_true(rec_index(b, "create") < rec_index(b, "destroy"));

        docker_events_get_counters(watcher, &cnt);
        assert_int_equal(cnt.connects, 2);
        /* The reconnect asked from the second of A's start, which was
         * delivered already: the replay repeated it and it was dropped. */
        assert_true(cnt.duplicates >= 1);
        pthread_mutex_lock(&rec.lock);
        /* false (no engine), true, false (cut), true. */
        assert_int_equal(rec.n_states, 4);
        assert_int_equal(rec.states[0], 0);
        assert_int_equal(rec.states[1], 1);
        assert_int_equal(rec.states[2], 0);
        assert_int_equal(rec.states[3], 1);
        pthread_mutex_unlock(&rec.lock);

        t0 = now_ms();
        docker_events_stop(watcher);
        watcher = NULL;
        print_message("reconnect: %llu delivered, %llu replayed duplicates dropped, %llu "
                      "connects, stopped in %lld ms\n",
                      (unsigned long long)cnt.delivered, (unsigned long long)cnt.duplicates,
                      (unsigned long long)cnt.connects, (long long)(now_ms() - t0));
        assert_true(now_ms() - t0 < 200);

        /* Stopping while it waits between attempts is prompt too. */
        fwd_command('c');
        filters = label_filter("rc");
        assert_int_equal(
            docker_events_start(fwd_path, 0, filters, rec_on_event, NULL, &rec, &watcher), 0);
        json_decref(filters);
        sleep_ms(50);
        t0 = now_ms();
        docker_events_stop(watcher);
        watcher = NULL;
        assert_true(now_ms() - t0 < 200);

        assert_int_equal(docker_container_remove(client, a, true, false), 0);
}

/* Answers that arrive a few bytes at a time: HTTP heads, event lines and
 * exec frame headers split anywhere. */
static void test_split_transfers(void **state)
{
        _cleanup_(docker_client_freep) struct docker_client *c = NULL;
        _cleanup_free_ char *id = NULL, *out = NULL;
        const char *const script[] = {"sh", "-c", "echo hi; echo err >&2; exit 3", NULL};
        json_t *filters = label_filter("split"), *j = NULL;
        struct docker_events_counters cnt;
        struct want w;
        int code = -1;

        fwd_start();
        fwd_command('s');
        fwd_command('l');
        rec_reset();
        assert_int_equal(
            docker_events_start(fwd_path, 0, filters, rec_on_event, rec_on_state, &rec, &watcher),
            0);
        json_decref(filters);
        assert_true(wait_until(is_connected, (void *)(intptr_t)1, 10000));

        id = create_sleeper("split", "split", NULL);
        assert_int_equal(docker_container_start(client, id), 0);
        assert_int_equal(docker_client_new(fwd_path, &c), 0);
        assert_int_equal(docker_container_inspect(c, id, &j), 0);
        assert_string_equal(json_string_value(json_object_get(j, "Id")), id);
        json_decref(j);
        assert_int_equal(docker_exec(c, id, script, 20000, &code, &out), 0);
        assert_int_equal(code, 3);
        assert_int_equal(strlen(out), strlen("hi\nerr\n"));
        assert_true(strstr(out, "hi\n") && strstr(out, "err\n"));
        assert_int_equal(docker_container_remove(client, id, true, false), 0);

        w = (struct want){id, "destroy"};
        assert_true(wait_until(has_event, &w, 20000));
        assert_int_equal(rec_count(id, "create"), 1);
        assert_int_equal(rec_count(id, "start"), 1);
        docker_events_get_counters(watcher, &cnt);
        assert_int_equal(cnt.dropped, 0);
        assert_no_duplicates();
}

static void test_events_args(void **state)
{
        struct docker_events *ev = NULL;
        json_t *bad = json_array();

        assert_int_equal(docker_events_start(sock_path, 0, NULL, NULL, NULL, NULL, &ev), -EINVAL);
        assert_int_equal(docker_events_start(sock_path, 0, bad, rec_on_event, NULL, &rec, &ev),
                         -EINVAL);
        assert_int_equal(docker_events_start(sock_path, -1, NULL, rec_on_event, NULL, &rec, &ev),
                         -EINVAL);
        assert_null(ev);
        json_decref(bad);
        docker_events_stop(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_teardown(test_version_negotiation, test_teardown),
            cmocka_unit_test_teardown(test_create_inspect_gpu, test_teardown),
            cmocka_unit_test_teardown(test_lifecycle, test_teardown),
            cmocka_unit_test_teardown(test_list_filter, test_teardown),
            cmocka_unit_test_teardown(test_exec, test_teardown),
            cmocka_unit_test_teardown(test_errors, test_teardown),
            cmocka_unit_test_teardown(test_events_stream, test_teardown),
            cmocka_unit_test_teardown(test_events_reconnect, test_teardown),
            cmocka_unit_test_teardown(test_split_transfers, test_teardown),
            cmocka_unit_test_teardown(test_events_args, test_teardown),
        };

        /* DS01_TEST_FILTER=test_exec runs one test (cmocka's glob). */
        if (!isempty(getenv("DS01_TEST_FILTER")))
                cmocka_set_test_filter(getenv("DS01_TEST_FILTER"));
        return cmocka_run_group_tests_name("docker", tests, group_setup, group_teardown);
}
