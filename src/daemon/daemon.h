/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * daemon.h - ds01d's shared state and the functions its parts call on each
 * other. Concurrency (docs/ARCHITECTURE.md "ds01d"): the main thread runs
 * signals and timers (GPU samples, holds, claim windows, queue deadlines);
 * libmicrohttpd runs the control API in one internal thread. Everything in
 * struct ds01d below `lock` is read and written only with `lock` held, so a
 * decision and its transaction are never interleaved with another.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "alloc/alloc.h"
#include "config/config.h"
#include "config/resolve.h"
#include "gpu/gpu.h"
#include "store/store.h"
#include "util/strbuf.h"

struct eventlog;
struct proxy;
struct docker_client;
struct docker_events;
struct MHD_Daemon;
struct MHD_Connection;

struct ds01d_options {
        const char *config_path;
        const char *state_dir;
        const char *run_dir;
        const char *log_dir;
        const char *listen; /* ADDR:PORT */
        const char *docker_socket;
        bool foreground;
};

/* A slot as ds01d sees it right now: topology plus the last sample. */
struct slot_view {
        char name[GPU_SLOT_NAME_MAX];
        char uuid[GPU_UUID_MAX];
        char profile[GPU_PROFILE_MAX];
        unsigned gpu;
        int mig; /* -1 full */
        double weight;
        bool healthy;
        unsigned n_procs;                /* processes on it in the last sample */
        struct gpu_slot_reading reading; /* the last sample (first_proc/n_procs unused) */
        unsigned gpu_instance_id;        /* MIG slots */
        bool unmanaged;                  /* a running container ds01 did not allocate uses it */
        unsigned host_procs;             /* confirmed GPU processes outside containers (hostproc) */
        /* Accumulated by every sample since the lifecycle loop's last pass,
         * which reads and resets them: */
        double lc_util_sum;
        unsigned lc_util_n;
        bool lc_procs; /* a process ran on it */
};

/* A container holding GPUs that ds01 did not allocate. */
struct unmanaged {
        char id[STORE_ID_MAX];
        char name[STORE_NAME_MAX];
        char user[STORE_NAME_MAX]; /* "unknown" when no rule found one */
        char access[16];           /* all, count, specific */
        int gpu_count;             /* -1 for all */
        bool running;
        char slots[256]; /* the slots it reaches, comma-separated */
};

/* A physical GPU as the last sample saw it (for metrics and status). */
struct gpu_view {
        unsigned index;
        char uuid[GPU_UUID_MAX];
        bool mig_enabled;
        struct gpu_reading reading;
};

/* Counts of events per type over the last 24 h, kept up to date between
 * scrapes by adding what entered the window and taking off what left it. */
struct event_window {
        bool valid;
        int64_t from, to; /* the window counted: [from, to) in microseconds */
        size_t n;
        char (*types)[STORE_WORD_MAX];
        long long *counts;
};

enum {
        COLLECTOR_STATE,
        COLLECTOR_CONTAINERS,
        COLLECTOR_EVENTS,
        COLLECTOR_GPU,
        COLLECTOR_HOST,
        COLLECTOR_QUEUE,
        _COLLECTOR_MAX,
};

/* An allocate request waiting in the queue on a suspended connection. */
struct waiter {
        struct waiter *next;
        int64_t queue_id;
        struct MHD_Connection *conn; /* a control API caller, or NULL */
        pthread_cond_t *cond;        /* a proxy caller: signalled when done */
        int fd;                      /* the connection's socket, to notice a hang-up */
        int64_t deadline;            /* microseconds */
        int64_t since;               /* microseconds, when it joined */
        /* The answer, filled when it is granted or gives up, then resumed. */
        bool done;
        unsigned status;
        json_t *answer;
        struct request_ctx *rc;
};

struct ds01d {
        struct ds01d_options opt;
        int lock_fd; /* flock on <state-dir>/ds01d.lock */
        int control_fd;
        int http_fd;
        unsigned http_port;
        struct MHD_Daemon *control;
        struct MHD_Daemon *http;
        /* open control API connections per uid (control.c; MHD's thread only) */
        struct control_uid {
                uid_t uid;
                unsigned open;
        } * control_uids;
        size_t n_control_uids;
        uint64_t control_refused; /* connections refused at the per-user cap (atomic) */

        pthread_mutex_t lock;
        struct config *config;
        struct global_settings settings;
        struct store *store;
        struct eventlog *eventlog;
        struct gpu_ctx *gpu; /* main thread only, except during start */
        bool nvml_available;
        char nvml_reason[GPU_REASON_MAX];
        struct slot_view *slots;
        size_t n_slots;
        struct gpu_view *gpus;
        size_t n_gpus;
        bool have_sample;
        struct event_window events24;
        long long lifecycle_counts[8]; /* all-time counts of lifecycle.<action>, kept
                                          up to date with the 24 h window */
        uint64_t collector_errors[_COLLECTOR_MAX];
        double last_scrape_s;
        bool docker_up;
        struct docker_client *docker; /* main thread */
        struct docker_events *docker_events;
        int wake_fd;                  /* eventfd: the events thread queued container ids */
        pthread_mutex_t pending_lock; /* guards the four below */
        char **pending;
        size_t n_pending;
        bool pending_overflow;
        bool docker_events_connected;
        int64_t last_full_pass;
        int64_t started_us; /* when this ds01d started (rows older are a former one's) */
        bool orphans_swept; /* the proxy's unbound rows of a former ds01d were released */
        struct unmanaged *unmanaged;
        size_t n_unmanaged;
        struct waiter *waiters;
        struct proxy *proxy; /* the Docker API proxy on <run-dir>/docker.sock */
        uint64_t config_gen; /* bumped by each reload (atomic): proxy callers re-read */
        /* auth.denied lines in events.jsonl: at most AUTH_DENIED_BURST per
         * user and minute (proxy-glue.c) */
        pthread_mutex_t denied_lock;
        struct denied_rate *denied;
        size_t n_denied;
        uint64_t denied_suppressed;
        bool stopping;
        uint64_t event_errors;
        /* the last write to the database / events.jsonl failed (under lock):
         * health fails while either holds, and passes again once both work */
        bool event_db_failing, event_file_failing;
        int64_t last_usage;     /* microseconds of the last usage sample */
        int64_t last_decide_us; /* the last allocation's decision alone (gather + allocator) */
        /* Lines of events written inside the open transaction, appended to
         * events.jsonl after COMMIT (dropped on ROLLBACK). */
        char **pending_lines;
        size_t n_pending_lines;
        /* GPU processes outside containers (hostproc-glue.c; access.c and
         * collect.c read them): */
        struct hp_tracker *hp;         /* the two-scan tracker; NULL before the first scan */
        int64_t hp_last_scan;          /* microseconds of the last scan; 0 = none yet */
        struct hp_seen *hp_stop_marks; /* entries (pid, start time, slot) whose warning
                                        * announced a stop: SIGTERM at warned_at + grace */
        size_t n_hp_stop_marks;
        int64_t hp_grants_checked; /* epoch s of the last look for expired grants */
};

int64_t now_us(void);

/* ---- events (events.c) ---- */

/* Record an event: a row in the events table (inside the caller's transaction
 * when one is open) and, after commit, a line in events.jsonl. details is
 * stolen (may be NULL). Never fails a decision: failures are counted. */
void daemon_event(struct ds01d *d, const char *type, const char *user, json_t *details);
/* After COMMIT: append the pending lines. After ROLLBACK: drop them. */
void daemon_events_flush(struct ds01d *d);
void daemon_events_drop(struct ds01d *d);
/* One event in its own transaction. */
void daemon_event_now(struct ds01d *d, const char *type, const char *user, json_t *details);

/* ---- state (state.c): all with d->lock held ---- */

struct alloc_params {
        const char *user;
        const char *container;
        int count; /* >= 1 or ALLOC_COUNT_ALL */
        bool full;
        const char *interface;
        const char *caller;
};

/* Decide and, when granted, commit the allocation with its event. Returns 0
 * with *res filled (res->code says the answer), or -errno when the database
 * failed. */
int state_allocate(struct ds01d *d, const struct alloc_params *p, struct alloc_result *res);

/* Release every slot of container; *ret_released gets a JSON array of slot
 * names. -ENOENT when it holds none. */
int state_release(struct ds01d *d, const char *container, const char *reason,
                  json_t **ret_released);

/* Read the GPUs again into d->slots and the slots table. */
int state_sync_slots(struct ds01d *d);

/* Replace the reservations that come from user_overrides. */
int state_sync_config_reservations(struct ds01d *d);

/* Queue: join, and the periodic work (grants, deadlines, holds, claims). */
int state_queue_join(struct ds01d *d, const struct alloc_params *p, int64_t deadline,
                     int64_t *ret_id);
void state_tick(struct ds01d *d);

/* The answer to a granted allocation (POST /v1/allocations); queued_seconds
 * is stolen. */
json_t *state_grant_json(const struct ds01d *d, const char *container, const char *user,
                         const struct alloc_result *res, json_t *queued_seconds);

/* End the transaction opened with store_begin: COMMIT when r >= 0 (then the
 * events written in it go to events.jsonl), else ROLLBACK (and they are
 * dropped). Returns r, or the COMMIT's error. */
int state_commit(struct ds01d *d, int r);

/* The slot index of a name in d->slots, or -1. */
int state_slot_index(const struct ds01d *d, const char *name);

/* JSON views for the API. */
json_t *state_status_json(struct ds01d *d);
json_t *state_alloc_json(const struct store_alloc *a);
json_t *state_queue_json(struct ds01d *d, const char *user_or_null);
int state_user_limits(struct ds01d *d, const char *user, struct user_limits *ret);

/* Resume a waiter with an answer (status, json stolen). Lock held. */
void waiter_finish(struct ds01d *d, struct waiter *w, unsigned status, json_t *answer);

/* ---- metrics (collect.c) ---- */

/* The whole /metrics page into out (lock taken inside). 0 or -errno. */
int metrics_collect(struct ds01d *d, struct strbuf *out);
/* Forget the 24 h event counts (after an import of old events). */
void metrics_events_invalidate(struct ds01d *d);
/* Count what the first scrape would (the 24 h window), so none pays for it. */
void metrics_warm(struct ds01d *d);

/* ---- reconcile with Docker (reconcile.c) ---- */

/* Connect to Docker and start watching its events (a failure to reach Docker
 * is not fatal: passes retry). */
int reconcile_start(struct ds01d *d);
void reconcile_stop(struct ds01d *d);
/* Apply the containers Docker's events named, or a full pass when due or
 * forced. Takes the lock itself. */
void reconcile_run(struct ds01d *d, bool force_full);

/* ---- health (health.c) ---- */

/* Run every check; the JSON of GET /v1/health. Takes the lock itself. */
json_t *health_json(struct ds01d *d, bool *ret_docker_up);

/* ---- control API (control.c) ---- */

int control_start(struct ds01d *d);
void control_stop(struct ds01d *d);

/* Is this caller an admin: uid 0, access_control.admin_users or a member of
 * access_control.admin_group. Takes d->lock. */
bool daemon_is_admin(struct ds01d *d, const char *user, uid_t uid, gid_t gid);

/* ---- the Docker API proxy (proxy-glue.c) ---- */

int proxy_glue_start(struct ds01d *d);
void proxy_glue_stop(struct ds01d *d);

/* ---- telling users (notify.c) ---- */

/* Write text to every terminal `user` is logged in on (utmp), like write(1).
 * Never blocks; returns the number of terminals reached, or -errno (no such
 * user, no utmp). No lock needed. */
int daemon_notify_user(struct ds01d *d, const char *user, const char *text);

/* The uid and primary gid of a login name (NSS); 0 or -ENOENT. */
int daemon_user_ids(const char *user, uid_t *ret_uid, gid_t *ret_gid);

/* ---- the lifecycle loop (lifecycle-glue.c) ---- */

int lifecycle_start(struct ds01d *d);
void lifecycle_stop(struct ds01d *d);
/* reconcile: is this container being stopped by the lifecycle loop for
 * being idle (then its GPUs are released at once instead of held; a stop for
 * max runtime is held like any stop). Lock held. */
bool lifecycle_is_stopping(struct ds01d *d, const char *id);

/* ---- GPU processes outside containers, bare-metal grants (hostproc-glue.c) ---- */

/* Main thread, after a GPU sample: scan when hostproc.scan_interval_s has
 * passed. Takes the lock itself. */
void hostproc_scan(struct ds01d *d, const struct gpu_sample *s);
/* Main loop, every tick: signals due under bare_metal_access.policy stop,
 * grants that expired. Takes the lock itself. */
void hostproc_tick(struct ds01d *d);
void hostproc_release(struct ds01d *d);
/* Does user have a bare-metal grant in force or an exemption? Lock held. */
bool access_allowed(struct ds01d *d, const char *user, char *why, size_t why_size);

/* ---- reload (main.c) ---- */

/* Load the configuration again; on errors keep the old one and return
 * -EINVAL with the diagnostics in *ret_diags (a JSON array, may be NULL). */
int daemon_reload(struct ds01d *d, json_t **ret_diags);

/* ISO 8601 UTC with microseconds: buf >= 32. */
char *format_time_us(char *buf, size_t n, int64_t us);
json_t *json_time_us(int64_t us);

/* ---- per-user slices and OOM kills (slices-glue.c) ---- */

/* Before a user's container is created (the proxy's user_info hook, d->lock
 * not held): make the user's slice (systemd) or cgroup (cgroupfs, per driver)
 * with their aggregate limits, once per user and configuration generation.
 * Nothing for admins. Failures are logged; the container is not refused. */
void slices_glue_ensure(struct ds01d *d, const struct user_limits *ul, const char *driver,
                        bool admin);
/* Main loop, every tick: OOM kills in the users' cgroups -> resource.oom_kill.
 * Takes the lock itself. */
void slices_glue_tick(struct ds01d *d);
void slices_glue_release(struct ds01d *d);
