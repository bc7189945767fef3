/* SPDX-License-Identifier: MIT */
/*
 * gpu-health.c - ds01d when a GPU stops answering NVML (lost, needs a reset,
 * gone from the driver) and when it comes back. After every GPU sample the
 * main thread folds each GPU's health in (gpu-health-decide.c); on a change
 * it records an event (gpu.unhealthy or gpu.recovered, with the GPU's slots
 * and who holds them), logs one line, and tells every holder the way
 * lifecycle warnings are told: on their terminals and in
 * /workspace/.ds01-alerts inside the container (with an event
 * gpu.unhealthy_warning per container when the GPU was lost).
 *
 * The slots themselves are withdrawn by the sample (slot_view.healthy is
 * false: the allocator and the queue never hand them out). The holders keep
 * their allocations until they remove their containers: a GPU that comes
 * back is not given to a second container while the first still has it
 * attached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/gpu-health-decide.h"
#include "daemon/gpu-health.h"
#include "hostproc/hostproc.h"
#include "lifecycle/probe.h"
#include "util/log.h"
#include "util/strutil.h"

#define PROC_ROOT     "/proc"
#define ALERTS_FILE   "/workspace/.ds01-alerts"
#define HOLDERS_MAX   256
#define SLOT_LIST_MAX 512

/* One container holding slots of a GPU that changed. */
struct holder {
        char user[STORE_NAME_MAX];
        char container[STORE_NAME_MAX];
        char slots[SLOT_LIST_MAX]; /* comma-separated */
        char id[STORE_ID_MAX];     /* Docker's id, "" unknown */
        int64_t pid;               /* its main process, 0 when not running */
        char text[1024];           /* what it is told */
};

/* The health of each GPU as last seen; main thread only. */
static struct gpu_health_track tracks[GPU_MAX_GPUS];

static void list_add(char *list, size_t n, const char *item)
{
        size_t len = strlen(list);

        if (len + 1 + strlen(item) + 1 > n)
                return; /* full: the event's JSON array still has every slot */
        snprintf(list + len, n - len, "%s%s", len ? "," : "", item);
}

static json_t *split_list(const char *list)
{
        json_t *a = json_array();
        const char *p = list;

        while (a && *p) {
                size_t k = strcspn(p, ",");
                json_array_append_new(a, json_stringn(p, k));
                p += k + (p[k] == ',');
        }
        return a;
}

/* The id and main pid of the running container that holds a, when known. */
static void container_of(const struct store_container *c, size_t n, const struct store_alloc *a,
                         struct holder *h)
{
        for (size_t i = 0; i < n; i++) {
                if (!streq(c[i].state, "running"))
                        continue;
                if ((a->container_id[0] && streq(c[i].id, a->container_id)) ||
                    streq(c[i].id, a->container) || streq(c[i].name, a->container)) {
                        (void)strscpy(h->id, sizeof(h->id), c[i].id);
                        h->pid = c[i].pid;
                        return;
                }
        }
}

/* The holders of slots on physical GPU gpu (lock held); the count. */
static size_t find_holders(struct ds01d *d, unsigned gpu, struct holder *h, size_t max)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *a = NULL;
        struct store_container *c = NULL;
        size_t n_a = 0, n_c = 0, n = 0;

        if (store_alloc_list(d->store, &f, &a, &n_a) < 0)
                return 0;
        if (store_container_list_live(d->store, &c, &n_c) < 0)
                n_c = 0;
        for (size_t i = 0; i < n_a; i++) {
                int k = state_slot_index(d, a[i].slot);
                size_t j;

                if (k < 0 || d->slots[k].gpu != gpu)
                        continue;
                for (j = 0; j < n; j++)
                        if (streq(h[j].container, a[i].container))
                                break;
                if (j == n) {
                        if (n == max)
                                continue;
                        memset(&h[n], 0, sizeof(h[n]));
                        (void)strscpy(h[n].user, sizeof(h[n].user), a[i].user);
                        (void)strscpy(h[n].container, sizeof(h[n].container), a[i].container);
                        container_of(c, n_c, &a[i], &h[n]);
                        n++;
                }
                list_add(h[j].slots, sizeof(h[j].slots), a[i].slot);
        }
        free(a);
        free(c);
        return n;
}

static json_t *holders_json(const struct holder *h, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a,
                                      json_pack("{s:s, s:s, s:o}", "user", h[i].user, "container",
                                                h[i].container, "slots", split_list(h[i].slots)));
        return a;
}

/* Terminals and /workspace/.ds01-alerts; no lock held. */
static void tell(struct ds01d *d, const struct holder *h)
{
        char buf[1200], when[32];
        time_t t = time(NULL);
        struct tm tm;
        struct hp_proc p;
        uid_t uid;
        gid_t gid;

        if (!h->user[0])
                return;
        (void)daemon_notify_user(d, h->user, h->text);
        if (h->pid <= 0 || !h->id[0] || daemon_user_ids(h->user, &uid, &gid) < 0)
                return;
        /* the pid is what reconcile last saw: write only while it is still
         * that container's process (a sample at start comes before the
         * first reconcile pass) */
        if (hp_proc_read(PROC_ROOT, (pid_t)h->pid, &p) < 0 || !streq(p.container_id, h->id))
                return;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        snprintf(buf, sizeof(buf), "[%s]\n%s\n", when, h->text);
        (void)lc_container_file_append(PROC_ROOT, (pid_t)h->pid, ALERTS_FILE, uid, gid, buf);
}

/* One GPU changed: events (lock held); fills h with whom to tell. */
static size_t announce(struct ds01d *d, size_t g, enum gpu_health_change change, int64_t lasted,
                       struct holder *h, size_t max)
{
        const struct gpu_view *gv = &d->gpus[g];
        char slots[SLOT_LIST_MAX] = "";
        size_t n;
        int r;

        for (size_t k = 0; k < d->n_slots; k++)
                if (d->slots[k].gpu == gv->index)
                        list_add(slots, sizeof(slots), d->slots[k].name);
        n = find_holders(d, gv->index, h, max);
        for (size_t i = 0; i < n; i++)
                (void)gpu_health_holder_text(h[i].text, sizeof(h[i].text), change, gv->index,
                                             gv->reading.reason, h[i].container, h[i].slots);

        r = store_begin(d->store);
        if (r >= 0 && change == GPU_HEALTH_LOST) {
                daemon_event(d, "gpu.unhealthy", NULL,
                             json_pack("{s:I, s:s, s:s, s:o, s:o}", "gpu", (json_int_t)gv->index,
                                       "uuid", gv->uuid, "reason", gv->reading.reason, "slots",
                                       split_list(slots), "holders", holders_json(h, n)));
                for (size_t i = 0; i < n; i++)
                        daemon_event(d, "gpu.unhealthy_warning", h[i].user,
                                     json_pack("{s:s, s:I, s:o, s:s}", "container", h[i].container,
                                               "gpu", (json_int_t)gv->index, "slots",
                                               split_list(h[i].slots), "message", h[i].text));
        } else if (r >= 0) {
                daemon_event(d, "gpu.recovered", NULL,
                             json_pack("{s:I, s:s, s:o, s:I, s:o}", "gpu", (json_int_t)gv->index,
                                       "uuid", gv->uuid, "slots", split_list(slots),
                                       "unhealthy_for_s", (json_int_t)(lasted / 1000000), "holders",
                                       holders_json(h, n)));
        }
        (void)state_commit(d, r);

        if (change == GPU_HEALTH_LOST)
                log_warning("GPU %u (%s) does not answer NVML: %s; its slots %s get no new "
                            "allocations; %zu container%s told",
                            gv->index, gv->uuid, gv->reading.reason[0] ? gv->reading.reason : "?",
                            slots[0] ? slots : "-", n, n == 1 ? "" : "s");
        else
                log_notice("GPU %u (%s) answers NVML again after %llds; its slots %s are offered "
                           "again",
                           gv->index, gv->uuid, (long long)(lasted / 1000000),
                           slots[0] ? slots : "-");
        return n;
}

void gpu_health_update(struct ds01d *d)
{
        struct holder *h = NULL;
        size_t n = 0;
        int64_t now = now_us();

        pthread_mutex_lock(&d->lock);
        for (size_t g = 0; g < d->n_gpus && g < GPU_MAX_GPUS; g++) {
                struct gpu_health_track before = tracks[g];
                enum gpu_health_change change;
                int64_t lasted = 0;

                change = gpu_health_step(&tracks[g], d->gpus[g].reading.healthy, now, &lasted);
                if (change == GPU_HEALTH_SAME)
                        continue;
                if (!h)
                        h = calloc(HOLDERS_MAX, sizeof(*h));
                if (!h) {
                        tracks[g] = before; /* try again after the next sample */
                        continue;
                }
                n += announce(d, g, change, lasted, h + n, HOLDERS_MAX - n);
        }
        pthread_mutex_unlock(&d->lock);

        for (size_t i = 0; i < n; i++)
                tell(d, &h[i]);
        free(h);
}
