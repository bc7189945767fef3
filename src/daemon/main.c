/* SPDX-License-Identifier: MIT */
/*
 * main.c - ds01d: options, the state-dir lock and pid file, start-up (config,
 * database, GPUs, sockets), the main loop (signals, timers, GPU samples) and
 * an orderly stop. SIGHUP reloads the configuration and keeps the old one
 * when the new one has errors; SIGTERM/SIGINT drain and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/gpu-health.h"
#include "daemon/http.h"
#include "store/eventlog.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define TICK_MS            250
#define SAMPLE_INTERVAL_US (5 * 1000000LL)
#define TRIM_INTERVAL_US   (60 * 1000000LL)
#define MALLOC_THRESHOLD   (128 * 1024) /* glibc's default mmap and trim thresholds */
/* Exit status when starting needs an admin first (configuration errors, a
 * damaged database): the unit's RestartPreventExitStatus= names it, so that
 * systemd does not restart ds01d every few seconds for nothing (78 is
 * sysexits' EX_CONFIG). */
#define EXIT_NEEDS_ADMIN 78

static void usage(FILE *f)
{
        fputs("usage: ds01d [--config PATH] [--state-dir DIR] [--run-dir DIR] [--log-dir DIR]\n"
              "             [--listen ADDR:PORT] [--docker-socket PATH] [--foreground]\n"
              "\n"
              "The ds01 daemon: the only writer of ds01's state (SQLite), GPU allocation,\n"
              "the queue, reservations and the event log, behind the control API on\n"
              "<run-dir>/ds01.sock. SIGHUP reloads the configuration; SIGTERM stops.\n"
              "\n"
              "Options:\n"
              "  -c, --config PATH          resource-limits.yaml (default " DS01_SYSCONFDIR
              "/ds01/resource-limits.yaml)\n"
              "      --state-dir DIR        state.db and the lock (default /var/lib/ds01)\n"
              "      --run-dir DIR          ds01.sock, ds01d.pid, ds01d.port (default /run/ds01)\n"
              "      --log-dir DIR          events.jsonl (default /var/log/ds01)\n"
              "      --listen ADDR:PORT     metrics and web page (default 127.0.0.1:9101; port 0\n"
              "                             picks one and writes it to <run-dir>/ds01d.port)\n"
              "      --docker-socket PATH   Docker's socket (default /var/run/docker.sock)\n"
              "      --foreground           stay in the foreground (systemd, tests)\n"
              "  -h, --help                 show this help\n"
              "      --version              show the version\n",
              f);
}

int64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *format_time_us(char *buf, size_t n, int64_t us)
{
        time_t s = (time_t)(us / 1000000);
        struct tm tm;

        gmtime_r(&s, &tm);
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(us % 1000000));
        return buf;
}

json_t *json_time_us(int64_t us)
{
        char buf[40];
        if (us <= 0)
                return json_null();
        return json_string(format_time_us(buf, sizeof(buf), us));
}

static int make_dir(const char *path, mode_t mode)
{
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        return -errno;
}

static int path_join(char *buf, size_t n, const char *dir, const char *name)
{
        int r = snprintf(buf, n, "%s/%s", dir, name);
        return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* Take <state-dir>/ds01d.lock; a second daemon on the same state dir fails. */
static int take_lock(struct ds01d *d)
{
        char path[4096], pid[32];
        int fd, r;

        r = path_join(path, sizeof(path), d->opt.state_dir, "ds01d.lock");
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open %s: %m", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                char other[32] = "";
                ssize_t n = pread(fd, other, sizeof(other) - 1, 0);
                if (n > 0)
                        other[strcspn(other, "\n")] = '\0';
                close(fd);
                if (other[0])
                        log_error("another ds01d (pid %s) is using the state dir %s; stop it first",
                                  other, d->opt.state_dir);
                else
                        log_error("another ds01d is using the state dir %s; stop it first",
                                  d->opt.state_dir);
                return -EBUSY;
        }
        snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
                log_warning("cannot write the pid into %s: %m", path);
        d->lock_fd = fd;
        return 0;
}

static int write_file(const char *dir, const char *name, const char *text)
{
        char path[4096], tmp[4200];
        int fd, r;

        r = path_join(path, sizeof(path), dir, name);
        if (r < 0)
                return r;
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r ? r : -EIO;
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static void remove_file(const char *dir, const char *name)
{
        char path[4096];
        if (path_join(path, sizeof(path), dir, name) == 0)
                unlink(path);
}

/* Load the config; errors are logged with file:line:column. Returns 0 with
 * *ret set, -EINVAL (errors; *ret_diags lists them), or -errno. */
static int load_config(const char *path, struct config **ret, json_t **ret_diags)
{
        struct config *c = NULL;
        int r;

        r = config_load(path, &c);
        if (r == -ENOMEM || !c)
                return -ENOMEM;
        if (c->n_errors > 0) {
                json_t *diags = json_array();
                for (size_t i = 0; i < c->n_diags; i++) {
                        char *line;
                        if (c->diags[i].severity != CFG_ERROR)
                                continue;
                        line = cfg_diag_format(&c->diags[i]);
                        if (line) {
                                log_error("%s", line);
                                json_array_append_new(diags, json_string(line));
                        }
                        free(line);
                }
                config_free(c);
                if (ret_diags)
                        *ret_diags = diags;
                else
                        json_decref(diags);
                return -EINVAL;
        }
        if (r < 0) {
                config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int daemon_reload(struct ds01d *d, json_t **ret_diags)
{
        struct config *c = NULL;
        json_t *diags = NULL;
        int r;

        sd_notify(0, "RELOADING=1");
        r = load_config(d->opt.config_path, &c, &diags);
        pthread_mutex_lock(&d->lock);
        if (r < 0) {
                json_t *det = json_pack("{s:s, s:o}", "path", d->opt.config_path, "errors",
                                        diags ? json_incref(diags) : json_array());
                log_error("configuration %s refused; the previous one stays in force",
                          d->opt.config_path);
                daemon_event_now(d, "config.rejected", NULL, det);
        } else {
                config_free(d->config);
                d->config = c;
                config_global_settings(d->config, &d->settings);
                __atomic_add_fetch(&d->config_gen, 1, __ATOMIC_RELEASE);
                (void)state_sync_config_reservations(d);
                daemon_event_now(d, "config.reloaded", NULL,
                                 json_pack("{s:s}", "path", d->opt.config_path));
                log_info("configuration %s reloaded", d->opt.config_path);
                state_tick(d);
        }
        pthread_mutex_unlock(&d->lock);
        sd_notify(0, "READY=1");
        if (ret_diags)
                *ret_diags = diags;
        else
                json_decref(diags);
        return r < 0 ? (r == -EINVAL ? -EINVAL : r) : 0;
}

/* GPUs are sampled every 5 s, or more often when the lifecycle loop or the
 * host-process scan runs more often (they read what the samples saw). */
static int64_t sample_interval_us(struct ds01d *d)
{
        int64_t us = SAMPLE_INTERVAL_US;

        pthread_mutex_lock(&d->lock);
        us = MIN(us, d->settings.check_interval * 1000000 / 2);
        us = MIN(us, d->settings.scan_interval * 1000000);
        pthread_mutex_unlock(&d->lock);
        return MAX(us, 250000);
}

/* Take a GPU sample on the main thread and fold it into the slot views and
 * the usage table. */
static void sample_gpus(struct ds01d *d)
{
        struct gpu_sample *s = NULL;
        const struct gpu_topology *t;
        int64_t now = now_us();

        if (!d->gpu || gpu_sample_take(d->gpu, &s) < 0)
                return;
        t = gpu_ctx_topology(d->gpu);
        pthread_mutex_lock(&d->lock);
        for (size_t k = 0; k < t->n_slots && k < s->n_slots; k++) {
                int i = state_slot_index(d, t->slots[k].name);
                if (i < 0)
                        continue;
                d->slots[i].healthy = s->gpus[t->slots[k].gpu].healthy;
                d->slots[i].n_procs = (unsigned)s->slots[k].n_procs;
                d->slots[i].reading = s->slots[k];
                if (s->slots[k].has & GPU_HAS_UTIL_GPU) {
                        d->slots[i].lc_util_sum += s->slots[k].util;
                        d->slots[i].lc_util_n++;
                }
                if (s->slots[k].n_procs > 0)
                        d->slots[i].lc_procs = true;
        }
        for (size_t g = 0; g < s->n_gpus && g < d->n_gpus; g++)
                d->gpus[g].reading = s->gpus[g];
        d->have_sample = true;
        /* usage: GPU-equivalent seconds allocated since the last sample */
        if (d->last_usage > 0) {
                double dt = (double)(now - d->last_usage) / 1e6;
                struct store_alloc_filter f = {.in_force_only = true};
                struct store_alloc *a = NULL;
                size_t n = 0;
                if (dt > 0 && dt < 3600 && store_alloc_list(d->store, &f, &a, &n) >= 0) {
                        for (size_t i = 0; i < n; i++) {
                                struct store_usage u = {0};
                                double util = 0;
                                int k = -1;
                                if (a[i].state != STORE_ALLOC_ACTIVE)
                                        continue;
                                for (size_t j = 0; j < t->n_slots; j++)
                                        if (streq(t->slots[j].name, a[i].slot))
                                                k = (int)j;
                                if (k >= 0 && (s->slots[k].has & GPU_HAS_UTIL_GPU))
                                        util = s->slots[k].util / 100.0;
                                (void)strscpy(u.user, sizeof(u.user), a[i].user);
                                (void)strscpy(u.slot, sizeof(u.slot), a[i].slot);
                                u.time = now / 1000000;
                                u.gpu_seconds = a[i].weight * dt;
                                u.used_seconds = a[i].weight * dt * util;
                                (void)store_usage_add(d->store, &u);
                        }
                }
                free(a);
        }
        d->last_usage = now;
        pthread_mutex_unlock(&d->lock);
        gpu_health_update(d); /* lost or recovered GPUs: events, holders told */
        hostproc_scan(d, s);
        gpu_sample_free(s);
}

static int open_gpus(struct ds01d *d)
{
        const struct gpu_topology *t;
        int r;

        r = gpu_ctx_open(NULL, &d->gpu);
        if (r < 0)
                return log_error_errno(r, "cannot read the GPUs: %m");
        t = gpu_ctx_topology(d->gpu);
        d->nvml_available = t->available;
        (void)strscpy(d->nvml_reason, sizeof(d->nvml_reason), t->reason);
        if (!t->available)
                log_notice("%s; running as a CPU-only server with 0 GPUs", t->reason);
        else
                log_info("%zu GPUs, %zu slots, %.3f GPU-equivalents (driver %s)", t->n_gpus,
                         t->n_slots, t->total_weight, t->driver_version);
        return 0;
}

static volatile sig_atomic_t parent_fd = -1;

/* Without --foreground: fork; the parent exits 0 once the child is ready. */
static int background(void)
{
        int p[2];
        pid_t pid;
        char c;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0) {
                close(p[1]);
                if (read(p[0], &c, 1) == 1 && c == 'R')
                        _exit(0);
                _exit(1);
        }
        close(p[0]);
        setsid();
        parent_fd = p[1];
        return 0;
}

/* In the background, log lines go to <log-dir>/ds01d.log. */
static void tell_parent_ready(const char *log_dir)
{
        if (parent_fd >= 0) {
                int fd = parent_fd;
                char path[4096];
                if (path_join(path, sizeof(path), log_dir, "ds01d.log") == 0) {
                        int lf = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
                        if (lf >= 0) {
                                dup2(lf, 2);
                                close(lf);
                        }
                }
                if (write(fd, "R", 1) < 0) {
                        /* the parent is gone; nothing to tell */
                }
                close(fd);
                parent_fd = -1;
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, 0);
                        dup2(null, 1);
                        close(null);
                }
        }
}

static int run(struct ds01d *d)
{
        sigset_t mask;
        int sfd, r;
        uint64_t watchdog_us = 0;
        int64_t last_sample = 0, last_watchdog = 0, last_trim = 0;
        char path[4096], port[32];

        /* a few malloc arenas, not 8 per CPU: the proxy's threads are
         * I/O-bound, and each arena keeps its own free pages */
        (void)mallopt(M_ARENA_MAX, 4);
        /* glibc's mmap and trim thresholds held at their defaults. Left
         * dynamic, the first free of a large mmapped block (the OOM tracker's
         * table of user cgroups as it grows, a long Docker reply) raises the
         * mmap threshold to that block's size and the trim threshold to twice
         * that; from then on such blocks come from the arenas, and each
         * thread arena keeps up to that much free space at its top, which
         * malloc_trim does not give back for the threads' arenas: the soak's
         * resident memory crept up by megabytes while the heap in use stayed
         * flat (docs/PERFORMANCE.md). */
        (void)mallopt(M_MMAP_THRESHOLD, MALLOC_THRESHOLD);
        (void)mallopt(M_TRIM_THRESHOLD, MALLOC_THRESHOLD);
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGXFSZ, SIG_IGN); /* a full log file must fail a write, not kill us */
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return log_error_errno(-errno, "signalfd: %m");

        /* health and foreign processes are known before the first request,
         * Docker's containers too, and the first scrape does not pay for
         * counting a day of events */
        sample_gpus(d);
        d->started_us = now_us();
        if (reconcile_start(d) < 0)
                log_warning("cannot reach Docker at %s; will keep trying", d->opt.docker_socket);
        reconcile_run(d, true);
        metrics_warm(d);
        last_sample = now_us();
        r = control_start(d);
        if (r < 0)
                goto out;
        r = proxy_glue_start(d);
        if (r < 0)
                goto out;
        r = http_start(d);
        if (r < 0)
                goto out;
        r = lifecycle_start(d);
        if (r < 0)
                goto out;
        snprintf(port, sizeof(port), "%u\n", d->http_port);
        if (write_file(d->opt.run_dir, "ds01d.port", port) < 0)
                log_warning("cannot write %s/ds01d.port", d->opt.run_dir);
        snprintf(path, sizeof(path), "%d\n", (int)getpid());
        if (write_file(d->opt.run_dir, "ds01d.pid", path) < 0)
                log_warning("cannot write %s/ds01d.pid", d->opt.run_dir);

        pthread_mutex_lock(&d->lock);
        daemon_event_now(d, "daemon.started", NULL,
                         json_pack("{s:s, s:I, s:I, s:b}", "version", DS01_VERSION, "slots",
                                   (json_int_t)d->n_slots, "port", (json_int_t)d->http_port, "nvml",
                                   d->nvml_available));
        state_tick(d);
        pthread_mutex_unlock(&d->lock);
        log_info("ready: control %s/ds01.sock, http port %u", d->opt.run_dir, d->http_port);
        sd_notify(0, "READY=1");
        if (sd_watchdog_enabled(0, &watchdog_us) <= 0)
                watchdog_us = 0;
        tell_parent_ready(d->opt.log_dir);

        for (;;) {
                struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
                                        {.fd = d->wake_fd, .events = POLLIN}};
                struct signalfd_siginfo si;
                int64_t now;

                r = poll(pfd, d->wake_fd >= 0 ? 2 : 1, TICK_MS);
                if (r < 0 && errno != EINTR) {
                        r = log_error_errno(-errno, "poll: %m");
                        break;
                }
                reconcile_run(d, false);
                if (r > 0 && (pfd[0].revents & POLLIN) &&
                    read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        if (si.ssi_signo == SIGHUP) {
                                log_info("SIGHUP: reloading %s", d->opt.config_path);
                                (void)daemon_reload(d, NULL);
                        } else {
                                log_info("signal %u: stopping", si.ssi_signo);
                                r = 0;
                                break;
                        }
                }
                now = now_us();
                if (now - last_sample >= sample_interval_us(d)) {
                        sample_gpus(d);
                        last_sample = now;
                }
                pthread_mutex_lock(&d->lock);
                state_tick(d);
                pthread_mutex_unlock(&d->lock);
                hostproc_tick(d);
                slices_glue_tick(d); /* OOM kills in the users' cgroups */
                if (now - last_trim >= TRIM_INTERVAL_US) {
                        /* give the free pages of every malloc arena back: the
                         * proxy's short-lived connection threads leave them
                         * scattered over the arenas, where glibc keeps them */
                        (void)malloc_trim(0);
                        last_trim = now;
                }
                if (watchdog_us > 0 && (uint64_t)(now - last_watchdog) >= watchdog_us / 2) {
                        sd_notify(0, "WATCHDOG=1");
                        last_watchdog = now;
                }
        }

out:
        sd_notify(0, "STOPPING=1");
        pthread_mutex_lock(&d->lock);
        d->stopping = true;
        /* answer every waiting caller before the sockets close */
        for (struct waiter *w = d->waiters; w; w = w->next)
                if (!w->done)
                        waiter_finish(d, w, 503,
                                      json_pack("{s:s, s:s}", "error", "UNAVAILABLE", "message",
                                                "ds01d is stopping; ask again when it is back"));
        pthread_mutex_unlock(&d->lock);
        lifecycle_stop(d);
        proxy_glue_stop(d);
        http_stop(d);
        control_stop(d);
        reconcile_stop(d);
        pthread_mutex_lock(&d->lock);
        daemon_event_now(d, "daemon.stopped", NULL, NULL);
        pthread_mutex_unlock(&d->lock);
        remove_file(d->opt.run_dir, "ds01d.pid");
        remove_file(d->opt.run_dir, "ds01d.port");
        close(sfd);
        return r;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"config", required_argument, NULL, 'c'},
            {"state-dir", required_argument, NULL, 's'},
            {"run-dir", required_argument, NULL, 'r'},
            {"log-dir", required_argument, NULL, 'l'},
            {"listen", required_argument, NULL, 'L'},
            {"docker-socket", required_argument, NULL, 'D'},
            {"foreground", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {},
        };
        struct ds01d d = {
            .opt =
                {
                    .config_path = DS01_SYSCONFDIR "/ds01/resource-limits.yaml",
                    .state_dir = "/var/lib/ds01",
                    .run_dir = "/run/ds01",
                    .log_dir = "/var/log/ds01",
                    .listen = "127.0.0.1:9101",
                    .docker_socket = "/var/run/docker.sock",
                },
            .lock_fd = -1,
            .wake_fd = -1,
            .control_fd = -1,
            .http_fd = -1,
        };
        char path[4096], err[512] = "";
        int c, r;

        log_setup("ds01d");
        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        d.opt.config_path = optarg;
                        break;
                case 's':
                        d.opt.state_dir = optarg;
                        break;
                case 'r':
                        d.opt.run_dir = optarg;
                        break;
                case 'l':
                        d.opt.log_dir = optarg;
                        break;
                case 'L':
                        d.opt.listen = optarg;
                        break;
                case 'D':
                        d.opt.docker_socket = optarg;
                        break;
                case 'f':
                        d.opt.foreground = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        puts("ds01d " DS01_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "ds01d: unknown option '%s' (see 'ds01d --help')\n",
                                argv[optind - 1]);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "ds01d: unexpected argument '%s' (see 'ds01d --help')\n",
                        argv[optind]);
                return 2;
        }
        if (http_parse_listen(d.opt.listen, NULL, 0, NULL) < 0) {
                fprintf(stderr, "ds01d: --listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:9101)\n",
                        d.opt.listen);
                return 2;
        }

        r = load_config(d.opt.config_path, &d.config, NULL);
        if (r < 0) {
                if (r == -EINVAL)
                        log_error("the configuration %s has errors (above); fix them and start "
                                  "again ('ds01 config check %s')",
                                  d.opt.config_path, d.opt.config_path);
                else
                        log_error_errno(r, "cannot read the configuration %s: %m",
                                        d.opt.config_path);
                return r == -EINVAL ? EXIT_NEEDS_ADMIN : 1;
        }
        config_global_settings(d.config, &d.settings);

        if (make_dir(d.opt.state_dir, 0700) < 0 || make_dir(d.opt.run_dir, 0755) < 0 ||
            make_dir(d.opt.log_dir, 0750) < 0) {
                log_error("cannot create %s, %s or %s: %m", d.opt.state_dir, d.opt.run_dir,
                          d.opt.log_dir);
                config_free(d.config);
                return 1;
        }
        if (!d.opt.foreground && background() < 0) {
                log_error("cannot go to the background: %m");
                return 1;
        }
        r = take_lock(&d);
        if (r < 0) {
                config_free(d.config);
                return 1;
        }
        /* files a killed daemon left: they would announce a daemon not yet ready */
        remove_file(d.opt.run_dir, "ds01d.port");
        remove_file(d.opt.run_dir, "ds01d.pid");
        path_join(path, sizeof(path), d.opt.state_dir, "state.db");
        r = store_open(path, &d.store, err, sizeof(err));
        if (r < 0) {
                /* one line naming the file and the way back (docs/ADMIN-GUIDE.md) */
                const char *cmd = strstr(err, "'ds01 state rebuild'");
                if (cmd && !streq(d.opt.state_dir, "/var/lib/ds01"))
                        log_error("%.*s'ds01 state rebuild --state-dir %s'%s", (int)(cmd - err),
                                  err, d.opt.state_dir, cmd + strlen("'ds01 state rebuild'"));
                else
                        log_error("%s", err[0] ? err : "cannot open the state database");
                config_free(d.config);
                return cmd ? EXIT_NEEDS_ADMIN : 1;
        }
        path_join(path, sizeof(path), d.opt.log_dir, "events.jsonl");
        if (eventlog_open(path, &d.eventlog) < 0)
                log_warning("cannot open %s: %m; events go to the database only", path);
        pthread_mutex_init(&d.lock, NULL);

        r = open_gpus(&d);
        if (r >= 0) {
                pthread_mutex_lock(&d.lock);
                r = state_sync_slots(&d);
                if (r >= 0)
                        r = state_sync_config_reservations(&d);
                pthread_mutex_unlock(&d.lock);
        }
        if (r >= 0)
                r = run(&d);

        hostproc_release(&d);
        slices_glue_release(&d);
        gpu_ctx_free(d.gpu);
        free(d.slots);
        free(d.gpus);
        free(d.events24.types);
        free(d.events24.counts);
        eventlog_close(d.eventlog);
        store_close(d.store);
        config_free(d.config);
        if (d.lock_fd >= 0)
                close(d.lock_fd);
        pthread_mutex_destroy(&d.lock);
        return r < 0 ? 1 : 0;
}
