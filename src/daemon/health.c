/* SPDX-License-Identifier: MIT */
/*
 * health.c - GET /v1/health: ds01d checks what an admin would check by hand
 * and answers PASS or FAIL with one message each: Docker reachable, Docker's
 * cgroup driver, the Docker proxy socket, NVML and the GPUs, the state
 * database, the state against Docker, user slices, the event log, the
 * exporter, free space. `ds01 health` prints it. Writes a health.check event.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "docker/docker.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

enum check_status {
        CHECK_PASS,
        CHECK_FAIL,
        CHECK_INFO, /* not applicable here; neither passes nor fails */
};

static void add(json_t *checks, const char *name, enum check_status st, const char *fmt, ...)
    _printf_(4, 5);
static void add(json_t *checks, const char *name, enum check_status st, const char *fmt, ...)
{
        static const char *const names[] = {"PASS", "FAIL", "INFO"};
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_array_append_new(checks, json_pack("{s:s, s:s, s:s}", "check", name, "status",
                                                names[st], "message", msg));
}

/* Docker: reachable, and its cgroup driver. Returns false when unreachable. */
static bool check_docker(struct ds01d *d, json_t *checks, json_t **ret_containers)
{
        struct docker_client *c = NULL;
        json_t *info = NULL, *list = NULL;
        const char *driver, *want = d->settings.cgroup_driver;
        int r;

        r = docker_client_new(d->opt.docker_socket, &c);
        if (r >= 0)
                r = docker_ping(c);
        if (r < 0) {
                add(checks, "docker", CHECK_FAIL,
                    "cannot reach Docker at %s: %s; is dockerd running? (systemctl status docker)",
                    d->opt.docker_socket,
                    c && docker_errmsg(c)[0] ? docker_errmsg(c) : strerror(-r));
                docker_client_free(c);
                return false;
        }
        add(checks, "docker", CHECK_PASS, "Docker answers at %s", d->opt.docker_socket);
        r = docker_info(c, &info);
        driver = r >= 0 ? json_string_value(json_object_get(info, "CgroupDriver")) : NULL;
        if (!driver)
                add(checks, "cgroup driver", CHECK_FAIL, "Docker did not say its cgroup driver");
        else if (!streq(driver, want))
                add(checks, "cgroup driver", CHECK_FAIL,
                    "Docker uses the %s cgroup driver but enforcement.cgroup_driver is %s; set "
                    "one to match the other",
                    driver, want);
        else
                add(checks, "cgroup driver", CHECK_PASS, "Docker and ds01 both use %s", driver);
        json_decref(info);
        if (docker_container_list(c, true, NULL, &list) >= 0)
                *ret_containers = list;
        docker_client_free(c);
        return true;
}

/* The Docker API proxy: its socket is there; what it forwards to is Docker,
 * checked above. */
static void check_proxy(struct ds01d *d, json_t *checks, bool docker_up)
{
        char path[4200];
        struct stat st;

        snprintf(path, sizeof(path), "%s/docker.sock", d->opt.run_dir);
        if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
                add(checks, "docker proxy", CHECK_FAIL,
                    "the Docker API proxy does not listen on %s; users cannot reach Docker (see "
                    "the ds01d log)",
                    path);
        else if (!docker_up)
                add(checks, "docker proxy", CHECK_FAIL,
                    "listens on %s but Docker behind it does not answer: users get 503 until it "
                    "is back",
                    path);
        else
                add(checks, "docker proxy", CHECK_PASS, "listens on %s", path);
}

/* Allocations in force whose container Docker does not have. */
static void check_state(struct ds01d *d, json_t *checks, json_t *containers)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        size_t n = 0, missing = 0;
        char first[STORE_NAME_MAX] = "";

        if (!containers) {
                add(checks, "state agrees with Docker", CHECK_FAIL,
                    "cannot list Docker's containers");
                return;
        }
        if (store_alloc_list(d->store, &f, &a, &n) < 0) {
                add(checks, "state agrees with Docker", CHECK_FAIL, "cannot read allocations");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                size_t k;
                json_t *ct;
                json_array_foreach(containers, k, ct)
                {
                        const char *id = json_string_value(json_object_get(ct, "Id"));
                        json_t *names = json_object_get(ct, "Names"), *nm;
                        size_t j;
                        if (id && (streq(id, a[i].container) || streq(id, a[i].container_id)))
                                found = true;
                        json_array_foreach(names, j, nm)
                        {
                                const char *s = json_string_value(nm);
                                if (s && *s == '/' && streq(s + 1, a[i].container))
                                        found = true;
                        }
                }
                if (!found) {
                        if (!missing)
                                (void)strscpy(first, sizeof(first), a[i].container);
                        missing++;
                }
        }
        free(a);
        if (missing)
                add(checks, "state agrees with Docker", CHECK_FAIL,
                    "%zu allocation%s name containers Docker does not have (first: %s); see ds01 "
                    "state check",
                    missing, missing == 1 ? "" : "s", first);
        else
                add(checks, "state agrees with Docker", CHECK_PASS,
                    "every allocation's container exists");
}

/* Every running container put into a cgroup parent (the user's slice, once
 * created through ds01) has that cgroup on this machine. */
static void check_slices(struct ds01d *d, json_t *checks, json_t *containers)
{
        struct docker_client *c = NULL;
        size_t i, checked = 0, missing = 0;
        char first[512] = "";
        json_t *ct;

        if (!containers || docker_client_new(d->opt.docker_socket, &c) < 0) {
                add(checks, "user slices", CHECK_FAIL, "cannot list Docker's containers");
                return;
        }
        json_array_foreach(containers, i, ct)
        {
                const char *id = json_string_value(json_object_get(ct, "Id"));
                const char *st = json_string_value(json_object_get(ct, "State"));
                json_t *inspect = NULL;
                const char *parent;
                char path[1024];
                struct stat sb;
                bool found;
                if (!id || !st || !streq(st, "running") ||
                    docker_container_inspect(c, id, &inspect) < 0)
                        continue;
                parent = json_string_value(
                    json_object_get(json_object_get(inspect, "HostConfig"), "CgroupParent"));
                if (parent && *parent && !strstr(parent, "..")) {
                        checked++;
                        /* cgroup v2, or v1's memory controller; a systemd slice name
                         * lives under ds01.slice */
                        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", parent);
                        found = stat(path, &sb) == 0;
                        if (!found) {
                                snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/%s", parent);
                                found = stat(path, &sb) == 0;
                        }
                        if (!found) {
                                snprintf(path, sizeof(path), "/sys/fs/cgroup/memory/ds01.slice/%s",
                                         parent);
                                found = stat(path, &sb) == 0;
                        }
                        if (!found && !missing++)
                                snprintf(first, sizeof(first), "%s (container %.12s)", parent, id);
                }
                json_decref(inspect);
        }
        docker_client_free(c);
        if (missing)
                add(checks, "user slices", CHECK_FAIL,
                    "%zu running container%s in a cgroup parent that does not exist (first: %s)",
                    missing, missing == 1 ? " is" : "s are", first);
        else if (checked)
                add(checks, "user slices", CHECK_PASS,
                    "the cgroup parent of all %zu running containers in slices exists", checked);
        else
                add(checks, "user slices", CHECK_PASS,
                    "no running container is in a user slice yet (the ds01 proxy puts them there)");
}

/* The exporter: GET /health on our own listener answers OK. */
static void check_exporter(struct ds01d *d, json_t *checks)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->http_port)};
        char buf[256] = "";
        ssize_t n = 0;
        int fd;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                struct timeval tv = {.tv_sec = 2};
                static const char req[] = "GET /health HTTP/1.0\r\n\r\n";
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1))
                        n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
        }
        if (n > 0 && strstr(buf, "\r\n\r\nOK"))
                add(checks, "exporter", CHECK_PASS, "/metrics and /health answer on port %u",
                    d->http_port);
        else
                add(checks, "exporter", CHECK_FAIL,
                    "the metrics listener on port %u does not answer /health", d->http_port);
}

json_t *health_json(struct ds01d *d, bool *ret_docker_up)
{
        json_t *checks = json_array(), *containers = NULL;
        struct statvfs vfs;
        size_t passed = 0, failed = 0, unhealthy = 0;
        char path[4200], dbpath[4200], dberr[512] = "";
        bool docker_up;
        int r;

        /* Docker first, outside the lock (it can take seconds to time out) */
        docker_up = check_docker(d, checks, &containers);
        check_proxy(d, checks, docker_up);

        pthread_mutex_lock(&d->lock);
        d->docker_up = docker_up;
        for (size_t i = 0; i < d->n_gpus; i++)
                unhealthy += !d->gpus[i].reading.healthy;
        if (!d->nvml_available)
                add(checks, "gpus", CHECK_PASS, "%s: a CPU-only server", d->nvml_reason);
        else if (unhealthy)
                add(checks, "gpus", CHECK_FAIL,
                    "%zu of %zu GPUs do not answer NVML; see ds01 gpu list", unhealthy, d->n_gpus);
        else
                add(checks, "gpus", CHECK_PASS, "NVML loaded; %zu GPUs healthy, %zu slots",
                    d->n_gpus, d->n_slots);

        snprintf(dbpath, sizeof(dbpath), "%s/state.db", d->opt.state_dir);
        r = store_check_file(dbpath, dberr, sizeof(dberr));
        if (r >= 0)
                r = store_quick_check(d->store);
        if (r < 0 && !dberr[0])
                (void)strscpy(dberr, sizeof(dberr), store_errmsg(d->store));
        if (r < 0)
                add(checks, "state database", CHECK_FAIL,
                    "%s is damaged (%s); stop ds01d, move it away and run ds01 state rebuild",
                    dbpath, dberr);
        else
                add(checks, "state database", CHECK_PASS, "quick_check ok");
        if (docker_up)
                check_state(d, checks, containers);
        else
                add(checks, "state agrees with Docker", CHECK_FAIL, "Docker is not reachable");

        snprintf(path, sizeof(path), "%s/events.jsonl", d->opt.log_dir);
        if (access(path, W_OK) < 0 && !(errno == ENOENT && access(d->opt.log_dir, W_OK) == 0))
                add(checks, "event log", CHECK_FAIL, "%s is not writable: %m", path);
        else if (d->event_file_failing || d->event_db_failing)
                add(checks, "event log", CHECK_FAIL,
                    "%llu events could not be written (disk full?); see the ds01d log",
                    (unsigned long long)d->event_errors);
        else if (d->event_errors > 0)
                add(checks, "event log", CHECK_PASS,
                    "writing again; %llu events could not be written earlier (all are in "
                    "ds01 events unless the database failed too; see the ds01d log)",
                    (unsigned long long)d->event_errors);
        else
                add(checks, "event log", CHECK_PASS, "%s is writable", path);

        if (statvfs(d->opt.state_dir, &vfs) == 0 && vfs.f_blocks > 0) {
                double free_share = (double)vfs.f_bavail / (double)vfs.f_blocks;
                if (free_share < 0.10)
                        add(checks, "disk space", CHECK_FAIL,
                            "%.1f%% free on the file system of %s (under 10%%); make room",
                            free_share * 100, d->opt.state_dir);
                else
                        add(checks, "disk space", CHECK_PASS,
                            "%.1f%% free on the file system of %s", free_share * 100,
                            d->opt.state_dir);
        } else {
                add(checks, "disk space", CHECK_FAIL, "cannot read the free space of %s: %m",
                    d->opt.state_dir);
        }
        pthread_mutex_unlock(&d->lock);

        if (docker_up)
                check_slices(d, checks, containers);
        check_exporter(d, checks);
        json_decref(containers);

        {
                size_t i;
                json_t *c;
                json_array_foreach(checks, i, c)
                {
                        const char *st = json_string_value(json_object_get(c, "status"));
                        passed += streq(st, "PASS");
                        failed += streq(st, "FAIL");
                }
        }
        pthread_mutex_lock(&d->lock);
        daemon_event_now(d, "health.check", NULL,
                         json_pack("{s:I, s:I, s:b}", "passed", (json_int_t)passed, "failed",
                                   (json_int_t)failed, "docker_up", docker_up));
        pthread_mutex_unlock(&d->lock);
        *ret_docker_up = docker_up;
        return json_pack("{s:o, s:I, s:I, s:b}", "checks", checks, "passed", (json_int_t)passed,
                         "failed", (json_int_t)failed, "docker_up", docker_up);
}
