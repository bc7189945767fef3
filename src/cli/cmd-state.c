/* SPDX-License-Identifier: MIT */
/*
 * cmd-state.c - `ds01 state check` and `ds01 state rebuild`: the state
 * database against Docker. check lists every disagreement (an allocation
 * whose container Docker does not have; a container whose ds01 labels name
 * GPU slots it holds no allocation for; a running container whose allocation
 * is not active, or a stopped one whose allocation is); exit 1 when there is
 * any. rebuild (admin, ds01d stopped) moves a damaged or unwanted state.db
 * aside and builds a new one from the GPUs (NVML) and the labels ds01 writes
 * on containers: ds01.user, ds01.container_type, ds01.gpu.slots,
 * ds01.gpu.uuids, ds01.gpu.allocated_at. A labelled slot counts only when the
 * container reaches that slot's GPU (its devices hold the UUID): labels
 * written for other GPUs (copied, another machine's) are skipped by both.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "docker/classify.h"
#include "docker/host-lookup.h"
#include "docker/docker.h"
#include "gpu/gpu.h"
#include "store/store.h"
#include "util/strutil.h"

#define DEFAULT_STATE_DIR     "/var/lib/ds01"
#define DEFAULT_DOCKER_SOCKET "/var/run/docker.sock"

static void state_help(FILE *f)
{
        fputs("usage: ds01 state check [--state-dir DIR] [--docker-socket PATH] [--json]\n"
              "       ds01 state rebuild [--state-dir DIR] [--docker-socket PATH]\n"
              "\n"
              "check    compare the state database with Docker and list every disagreement;\n"
              "         exit 0 when they agree, 1 when they do not.\n"
              "rebuild  (root, with ds01d stopped) move state.db aside (state.db.before-\n"
              "         rebuild-TIME) and build a new one from the GPUs and the labels ds01\n"
              "         writes on containers (ds01.user, ds01.container_type, ds01.gpu.slots,\n"
              "         ds01.gpu.uuids, ds01.gpu.allocated_at); a labelled slot whose GPU the\n"
              "         container does not reach is skipped. Use it when ds01d refuses to\n"
              "         start because the database is damaged, or after the file was lost.\n"
              "\n"
              "Options:\n"
              "      --state-dir DIR       where state.db is (default " DEFAULT_STATE_DIR ")\n"
              "      --docker-socket PATH  Docker's socket (default " DEFAULT_DOCKER_SOCKET ")\n"
              "      --json                check: the disagreements as JSON\n"
              "  -h, --help                show this help\n",
              f);
}

/* Every container Docker has, classified. */
static int docker_containers(const char *socket, struct container_class **ret, size_t *ret_n)
{
        struct docker_client *c = NULL;
        struct container_class *cc = NULL;
        json_t *list = NULL, *item;
        size_t i, n = 0;
        int r;

        r = docker_client_new(socket, &c);
        if (r >= 0)
                r = docker_container_list(c, true, NULL, &list);
        if (r < 0) {
                cli_error("cannot list Docker's containers at %s: %s", socket,
                          c && docker_errmsg(c)[0] ? docker_errmsg(c) : strerror(-r));
                docker_client_free(c);
                return -EIO;
        }
        cc = calloc(json_array_size(list) + 1, sizeof(*cc));
        if (!cc) {
                json_decref(list);
                docker_client_free(c);
                return -ENOMEM;
        }
        json_array_foreach(list, i, item)
        {
                const char *id = json_string_value(json_object_get(item, "Id"));
                json_t *inspect = NULL;
                if (!id || docker_container_inspect(c, id, &inspect) < 0)
                        continue;
                if (container_classify(inspect, &classify_host_lookup, &cc[n]) >= 0)
                        n++;
                json_decref(inspect);
        }
        json_decref(list);
        docker_client_free(c);
        *ret = cc;
        *ret_n = n;
        return 0;
}

/* Does the container reach the GPU uuid (its devices, as the proxy pinned
 * them)? A label naming a slot whose GPU the container does not reach was
 * written for other GPUs (another machine's, another test's fake ones). */
static bool pins_uuid(const struct container_class *cc, const char *uuid)
{
        for (size_t i = 0; i < cc->n_gpu_devices; i++)
                if (uuid[0] && streq(cc->gpu_devices[i], uuid))
                        return true;
        return false;
}

static void free_classes(struct container_class *cc, size_t n)
{
        for (size_t i = 0; i < n; i++)
                container_class_release(&cc[i]);
        free(cc);
}

static const struct container_class *find_container(const struct container_class *cc, size_t n,
                                                    const struct store_alloc *a)
{
        for (size_t i = 0; i < n; i++)
                if (streq(cc[i].id, a->container) || streq(cc[i].name, a->container) ||
                    (a->container_id[0] && streq(cc[i].id, a->container_id)))
                        return &cc[i];
        return NULL;
}

static int state_check(const char *state_dir, const char *socket, bool json)
{
        char path[4200], err[512] = "";
        struct store *s = NULL;
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        struct container_class *cc = NULL;
        struct store_slot *slots = NULL;
        size_t n = 0, n_cc = 0, n_slots = 0;
        json_t *issues;
        int r;

        snprintf(path, sizeof(path), "%s/state.db", state_dir);
        if (access(path, R_OK) < 0)
                return cli_error("cannot read %s: %m (see --state-dir)", path);
        r = store_open(path, &s, err, sizeof(err));
        if (r < 0)
                return cli_error("%s", err[0] ? err : "cannot open the state database");
        r = store_alloc_list(s, &f, &a, &n);
        if (r >= 0)
                r = store_slots_list(s, &slots, &n_slots);
        if (r < 0) {
                r = cli_error("cannot read allocations: %s", store_errmsg(s));
                free(a);
                store_close(s);
                return r;
        }
        if (docker_containers(socket, &cc, &n_cc) < 0) {
                free(a);
                free(slots);
                store_close(s);
                return EXIT_FAIL;
        }
        issues = json_array();
        for (size_t i = 0; i < n; i++) {
                const struct container_class *c = find_container(cc, n_cc, &a[i]);
                const char *st = store_alloc_state_name(a[i].state);
                char msg[768];
                if (!c)
                        snprintf(msg, sizeof(msg),
                                 "allocation %lld: slot %s is %s for container '%s', which Docker "
                                 "does not have",
                                 (long long)a[i].id, a[i].slot, st, a[i].container);
                else if (c->running && a[i].state != STORE_ALLOC_ACTIVE)
                        snprintf(msg, sizeof(msg),
                                 "allocation %lld: container '%s' runs but its slot %s is %s",
                                 (long long)a[i].id, a[i].container, a[i].slot, st);
                else if (!c->running && a[i].state == STORE_ALLOC_ACTIVE &&
                         !streq(c->state, "created"))
                        snprintf(msg, sizeof(msg),
                                 "allocation %lld: container '%s' is %s but its slot %s is active",
                                 (long long)a[i].id, a[i].container, c->state, a[i].slot);
                else
                        continue;
                json_array_append_new(issues, json_string(msg));
        }
        for (size_t k = 0; k < n_cc; k++) {
                char buf[CLASSIFY_SLOTS_MAX], *p, *save = NULL;
                if (!cc[k].ds01_slots[0])
                        continue;
                (void)strscpy(buf, sizeof(buf), cc[k].ds01_slots);
                for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                        bool held = false, ours = false;
                        char msg[768];
                        for (size_t i = 0; i < n_slots; i++)
                                if (streq(slots[i].name, p))
                                        ours = pins_uuid(&cc[k], slots[i].uuid);
                        if (!ours)
                                continue; /* a label for other GPUs than these */
                        for (size_t i = 0; i < n; i++)
                                if (streq(a[i].slot, p) && find_container(&cc[k], 1, &a[i]))
                                        held = true;
                        if (held)
                                continue;
                        snprintf(msg, sizeof(msg),
                                 "container '%s' (user %s) is labelled with slot %s but holds no "
                                 "allocation for it",
                                 cc[k].name, cc[k].owner[0] ? cc[k].owner : "unknown", p);
                        json_array_append_new(issues, json_string(msg));
                }
        }
        if (json) {
                json_t *o = json_pack("{s:b, s:O, s:I, s:I}", "agree", json_array_size(issues) == 0,
                                      "disagreements", issues, "allocations", (json_int_t)n,
                                      "containers", (json_int_t)n_cc);
                cli_print_json(o);
                json_decref(o);
        } else {
                size_t i;
                json_t *m;
                json_array_foreach(issues, i, m) puts(json_string_value(m));
                printf("%s: %zu allocation%s in force, %zu container%s, %zu disagreement%s\n", path,
                       n, n == 1 ? "" : "s", n_cc, n_cc == 1 ? "" : "s", json_array_size(issues),
                       json_array_size(issues) == 1 ? "" : "s");
        }
        r = json_array_size(issues) ? EXIT_FAIL : EXIT_OK;
        json_decref(issues);
        free_classes(cc, n_cc);
        free(a);
        free(slots);
        store_close(s);
        return r;
}

static int state_rebuild(const char *state_dir, const char *socket)
{
        char path[4200], lock[4200], aside[4300], err[512] = "";
        struct store *s = NULL;
        struct gpu_ctx *gpu = NULL;
        const struct gpu_topology *t = NULL;
        struct store_slot *rows = NULL;
        struct container_class *cc = NULL;
        size_t n_cc = 0, restored = 0, skipped = 0;
        int64_t now;
        struct timespec ts;
        int fd, r;

        if (geteuid() != 0)
                return cli_error("ds01 state rebuild needs root (it rewrites %s)", state_dir);
        snprintf(path, sizeof(path), "%s/state.db", state_dir);
        snprintf(lock, sizeof(lock), "%s/ds01d.lock", state_dir);
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return cli_error("cannot open %s: %m (see --state-dir)", lock);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                close(fd);
                return cli_error("ds01d is running on %s; stop it first (systemctl stop ds01d)",
                                 state_dir);
        }
        if (docker_containers(socket, &cc, &n_cc) < 0) {
                close(fd);
                return EXIT_FAIL;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        if (access(path, F_OK) == 0) {
                static const char *const sfx[] = {"", "-wal", "-shm"};
                char base[4250];
                /* a name no earlier rebuild used (two in one second) */
                snprintf(base, sizeof(base), "%s.before-rebuild-%lld", path, (long long)ts.tv_sec);
                for (unsigned k = 1; access(base, F_OK) == 0 && k < 1000; k++)
                        snprintf(base, sizeof(base), "%s.before-rebuild-%lld.%u", path,
                                 (long long)ts.tv_sec, k);
                for (size_t i = 0; i < 3; i++) {
                        char from[4300];
                        snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
                        snprintf(aside, sizeof(aside), "%s%s", base, sfx[i]);
                        if (rename(from, aside) < 0 && errno != ENOENT) {
                                free_classes(cc, n_cc);
                                close(fd);
                                return cli_error("cannot move %s aside: %m", from);
                        }
                }
                printf("moved the old database to %s\n", base);
        }
        r = store_open(path, &s, err, sizeof(err));
        if (r < 0) {
                free_classes(cc, n_cc);
                close(fd);
                return cli_error("%s", err[0] ? err : "cannot create the state database");
        }
        /* the slots, from the GPUs as NVML sees them now */
        if (gpu_ctx_open(NULL, &gpu) < 0) {
                r = -ENOMEM;
                goto out;
        }
        t = gpu_ctx_topology(gpu);
        rows = calloc(t->n_slots + 1, sizeof(*rows));
        if (!rows) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < t->n_slots; i++) {
                const struct gpu_slot *sl = &t->slots[i];
                const struct gpu_device *g = &t->gpus[sl->gpu];
                (void)strscpy(rows[i].name, sizeof(rows[i].name), sl->name);
                (void)strscpy(rows[i].uuid, sizeof(rows[i].uuid), sl->uuid);
                if (sl->mig >= 0)
                        (void)strscpy(rows[i].profile, sizeof(rows[i].profile),
                                      g->mig[sl->mig].profile);
                rows[i].gpu = g->index;
                rows[i].mig = sl->mig >= 0 ? (int)g->mig[sl->mig].index : -1;
                rows[i].weight = sl->weight;
                rows[i].present = true;
        }
        r = store_slots_sync(s, rows, t->n_slots, now);
        if (r < 0)
                goto out;
        /* one allocation per slot named in a container's ds01.gpu.slots label */
        r = store_begin(s);
        for (size_t k = 0; k < n_cc && r >= 0; k++) {
                char buf[CLASSIFY_SLOTS_MAX], *p, *save = NULL;
                if (!cc[k].ds01_slots[0] || !cc[k].owner[0])
                        continue;
                (void)strscpy(buf, sizeof(buf), cc[k].ds01_slots);
                for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                        const struct gpu_slot *sl = gpu_topology_find_slot(t, p);
                        struct store_alloc a = {0};
                        int q;
                        if (!sl) {
                                printf("skipped %s of container '%s': no such slot now\n", p,
                                       cc[k].name);
                                skipped++;
                                continue;
                        }
                        if (!pins_uuid(&cc[k], sl->uuid) &&
                            !(sl->mig < 0 && pins_uuid(&cc[k], t->gpus[sl->gpu].uuid))) {
                                printf("skipped %s of container '%s': it does not reach that "
                                       "slot's GPU (%s)\n",
                                       p, cc[k].name, sl->uuid);
                                skipped++;
                                continue;
                        }
                        (void)strscpy(a.slot, sizeof(a.slot), p);
                        (void)strscpy(a.container, sizeof(a.container), cc[k].name);
                        (void)strscpy(a.container_id, sizeof(a.container_id), cc[k].id);
                        (void)strscpy(a.user, sizeof(a.user), cc[k].owner);
                        (void)strscpy(a.interface, sizeof(a.interface),
                                      cc[k].interface[0] ? cc[k].interface : cc[k].type);
                        (void)strscpy(a.reason, sizeof(a.reason), "rebuilt from labels");
                        (void)strscpy(a.origin, sizeof(a.origin), "labels");
                        a.weight = sl->weight;
                        a.state = cc[k].running || streq(cc[k].state, "created")
                                      ? STORE_ALLOC_ACTIVE
                                      : STORE_ALLOC_HELD;
                        q = store_alloc_insert(
                            s, &a,
                            cc[k].ds01_allocated_at > 0 ? cc[k].ds01_allocated_at * 1000000 : now);
                        if (q == -EEXIST) {
                                printf("skipped %s of container '%s': the slot is already taken\n",
                                       p, cc[k].name);
                                skipped++;
                                continue;
                        }
                        r = q;
                        if (r >= 0)
                                restored++;
                }
        }
        if (r >= 0) {
                struct store_event e = {.time = now};
                char det[128];
                (void)strscpy(e.type, sizeof(e.type), "state.rebuilt");
                (void)strscpy(e.source, sizeof(e.source), "ds01");
                snprintf(det, sizeof(det), "{\"allocations\":%zu,\"skipped\":%zu}", restored,
                         skipped);
                e.details = det;
                r = store_event_insert(s, &e, NULL);
        }
        if (r >= 0)
                r = store_commit(s);
        else
                (void)store_rollback(s);
out:
        if (r < 0)
                cli_error("rebuild failed: %s", s ? store_errmsg(s) : strerror(-r));
        else
                printf("rebuilt %s: %zu slots, %zu allocations from %zu containers, %zu skipped\n",
                       path, t ? t->n_slots : 0, restored, n_cc, skipped);
        free(rows);
        gpu_ctx_free(gpu);
        store_close(s);
        free_classes(cc, n_cc);
        close(fd);
        return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int state_run(int argc, char **argv, const struct cli_global *g)
{
        static const struct option opts[] = {
            {"state-dir", required_argument, NULL, 's'},
            {"docker-socket", required_argument, NULL, 'D'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *state_dir = DEFAULT_STATE_DIR, *socket = DEFAULT_DOCKER_SOCKET, *action;
        bool json = false;
        int c;

        if (argc < 2)
                return cli_usage_error("state", "which action? (check, rebuild)");
        action = argv[1];
        if (streq(action, "--help") || streq(action, "-h") || streq(action, "help")) {
                state_help(stdout);
                return EXIT_OK;
        }
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        state_dir = optarg;
                        break;
                case 'D':
                        socket = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        state_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("state", "unknown option '%s'", argv[optind]);
                }
        }
        if (optind < argc - 1)
                return cli_usage_error("state", "unexpected argument '%s'", argv[optind + 1]);
        if (streq(action, "check"))
                return state_check(state_dir, socket, json);
        if (streq(action, "rebuild")) {
                if (json)
                        return cli_usage_error("state", "--json is for check");
                return state_rebuild(state_dir, socket);
        }
        return cli_usage_error("state", "unknown action '%s'", action);
}

const struct cli_command cli_cmd_state = {
    .name = "state",
    .summary = "compare the state database with Docker; rebuild it from labels",
    .run = state_run,
    .help = state_help,
};
