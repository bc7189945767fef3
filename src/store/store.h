/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * store.h - ds01d's state in SQLite (<state-dir>/state.db): slots, allocations,
 * containers seen, events, queue entries, reservations and usage samples.
 *
 * The database is opened in WAL mode with a busy timeout and foreign keys on;
 * the schema carries a version and is migrated forward at open; `PRAGMA
 * quick_check` runs at open and a damaged file is refused with a message that
 * names the rebuild path. One connection per thread (SQLite's rule); ds01d
 * uses one, under its state lock.
 *
 * The database itself guarantees the invariant "no slot is allocated twice":
 * a partial unique index on allocations(slot) over rows not 'released'.
 * store_alloc_insert answers -EEXIST when it would be violated.
 *
 * Errors: -ENOMEM, -EBUSY (locked past the busy timeout), -EEXIST (unique
 * constraint), -ENOENT (no such row), -EBADMSG (damaged or not a database),
 * -EIO (anything else; the SQLite message is in store_errmsg()).
 * Times are microseconds since the epoch (UTC) unless named otherwise.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 3

#define STORE_SLOT_MAX 24
#define STORE_NAME_MAX 256 /* users, containers, groups */
#define STORE_ID_MAX   80  /* Docker container ids (64 hex) */
#define STORE_WORD_MAX 64  /* event types, states, interfaces, sources */
#define STORE_TEXT_MAX 512 /* reasons */

/* SQLite's page cache of the connection, in KiB (PRAGMA cache_size = -N).
 * SQLite's default is 2,000 KiB, filled page by page as the database grows:
 * ds01d's resident memory then climbs for as long as the events table does.
 * The pages ds01d touches again and again (the right edges of the tables and
 * indexes, the allocations in force) fit in far less; the rest comes back
 * from the kernel's page cache. */
#define STORE_CACHE_KIB 512

struct store;

/* Open (creating when absent) the database at path. On failure *ret is
 * untouched and err (when not NULL) holds one line for a human, e.g.
 * "state database /var/lib/ds01/state.db is damaged (quick_check: ...); stop
 * ds01d and run 'ds01 state rebuild', which ...". An empty file that was already
 * there is damaged too (ours has a page from its first open on). */
int store_open(const char *path, struct store **ret, char *err, size_t err_size);
struct store *store_close(struct store *s);

/* The last SQLite error message of this connection (borrowed). */
const char *store_errmsg(const struct store *s);

/* PRAGMA quick_check again (ds01 health): 0, or -EBADMSG with the first
 * problem in store_errmsg(). */
int store_quick_check(struct store *s);

/* quick_check of the file at path through a connection of its own (what is
 * on disk, not this process' page cache). 0, or -EBADMSG with the first
 * problem in err. */
int store_check_file(const char *path, char *err, size_t err_size);

/* The schema version the file is at (after migrations: STORE_SCHEMA_VERSION). */
int store_schema_version(struct store *s);

/* Transactions: BEGIN IMMEDIATE (takes the write lock at once), COMMIT,
 * ROLLBACK. Calls below outside a transaction each run in their own. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* ---- slots ---- */

struct store_slot {
        char name[STORE_SLOT_MAX]; /* "N" / "N.D" */
        char uuid[96];
        unsigned gpu;
        int mig;          /* -1 for a full GPU */
        double weight;    /* GPU-equivalents */
        char profile[32]; /* "" for full GPUs */
        bool present;     /* in the current topology */
};

/* Make the slots table match the topology: insert or update every given slot
 * (present = 1), mark slots not given present = 0 (never deleted: old
 * allocations name them). */
int store_slots_sync(struct store *s, const struct store_slot *slots, size_t n, int64_t now);
int store_slots_list(struct store *s, struct store_slot **ret, size_t *ret_n);

/* ---- allocations ---- */

enum store_alloc_state {
        STORE_ALLOC_PENDING,
        STORE_ALLOC_ACTIVE,
        STORE_ALLOC_HELD,
        STORE_ALLOC_RELEASED,
};

struct store_alloc {
        int64_t id;
        char slot[STORE_SLOT_MAX];
        char container[STORE_NAME_MAX];  /* the key asked for: name or id */
        char container_id[STORE_ID_MAX]; /* Docker's id once known, else "" */
        char user[STORE_NAME_MAX];
        double weight;
        enum store_alloc_state state;
        char interface[STORE_WORD_MAX]; /* container type / interface, "" unknown */
        int64_t created;
        int64_t updated;
        int64_t expires; /* end of a hold or a claim window; 0 = none */
        char reason[STORE_TEXT_MAX];
        char origin[STORE_WORD_MAX]; /* who asked: "proxy" (a create through the proxy),
                                      * "api" (the control API), "queue" (a claim kept
                                      * for a caller gone), "labels" (taken back from a
                                      * container's labels); "" before schema 3 */
};

/* Insert one row (id, created and updated set from now). -EEXIST when the
 * slot already has an allocation that is not released. */
int store_alloc_insert(struct store *s, struct store_alloc *a, int64_t now);

/* Change state, expiry and reason of one allocation; reason NULL keeps it.
 * -ENOENT when there is no such id. */
int store_alloc_update(struct store *s, int64_t id, enum store_alloc_state state, int64_t expires,
                       const char *reason, int64_t now);

/* Record Docker's id for every allocation of container (the name asked for)
 * that is not released (released rows keep the id of the container they
 * were for). Returns how many rows changed (>= 0). */
int store_alloc_set_container_id(struct store *s, const char *container, const char *container_id,
                                 int64_t now);

/* The allocations made under key (a placeholder or the name asked for) now
 * belong to the container Docker created: its name and id. Returns how many
 * rows changed (>= 0). */
int store_alloc_bind(struct store *s, const char *key, const char *name, const char *container_id,
                     int64_t now);

struct store_alloc_filter {
        const char *user;      /* NULL: all users */
        const char *container; /* NULL: all; matches container or container_id */
        bool in_force_only;    /* pending, active and held only */
        int64_t since;         /* updated >= since; 0: no bound */
        long limit;            /* <= 0: no limit */
};

/* Rows ordered by id. *ret is a malloc'd array (free()); NULL when none. */
int store_alloc_list(struct store *s, const struct store_alloc_filter *f, struct store_alloc **ret,
                     size_t *ret_n);

const char *store_alloc_state_name(enum store_alloc_state st);
int store_alloc_state_from_name(const char *name, enum store_alloc_state *ret);

/* ---- containers seen ---- */

struct store_container {
        char id[STORE_ID_MAX];
        char name[STORE_NAME_MAX];
        char user[STORE_NAME_MAX]; /* "" unknown */
        char type[STORE_WORD_MAX];
        char state[STORE_WORD_MAX]; /* created, running, exited, removed, ... */
        int64_t first_seen, last_seen;
        /* What the lifecycle loop needs, as Docker said last (a removal keeps
         * the times, scope and interface that were known): */
        char interface[STORE_WORD_MAX];           /* ds01.interface label, "" none */
        int64_t pid;                              /* State.Pid, 0 when not running */
        int64_t created_s, started_s, finished_s; /* epoch s, 0 unknown / never */
        bool gpu;                                 /* asked for GPUs (any way) */
        char exempt[STORE_WORD_MAX];              /* "ds01.protected", "ds01.monitoring",
                                                   * "infrastructure", or "" */
};

/* Insert or update by id (first_seen kept on update). */
int store_container_upsert(struct store *s, const struct store_container *c, int64_t now);
int store_container_list(struct store *s, const char *user, struct store_container **ret,
                         size_t *ret_n);

/* Containers not known to be removed, ordered by first_seen. */
int store_container_list_live(struct store *s, struct store_container **ret, size_t *ret_n);

/* ---- lifecycle state (one row per container the loop has looked at) ---- */

struct store_lc {
        char container[STORE_ID_MAX]; /* Docker's id */
        int64_t started;              /* epoch s: the start this state belongs to */
        int64_t last_check;           /* epoch s */
        int64_t idle_since;           /* epoch s, 0 = active */
        long long streak;
        unsigned warned;
        int64_t sent[4];     /* epoch s each warning was last sent: idle 80/95, runtime 75/90 */
        uint64_t cpu_ns;     /* cgroup CPU counter at counters_at */
        uint64_t net_bytes;  /* interface counters at counters_at */
        int64_t counters_at; /* microseconds; 0 = not read yet */
};

int store_lc_list(struct store *s, struct store_lc **ret, size_t *ret_n);
/* Insert or replace by container. */
int store_lc_put(struct store *s, const struct store_lc *l);
/* -ENOENT when there is none. */
int store_lc_delete(struct store *s, const char *container);

/* ---- bare-metal access grants ---- */

struct store_grant {
        char user[STORE_NAME_MAX];
        char granted_by[STORE_NAME_MAX];
        char reason[STORE_TEXT_MAX];
        int64_t granted_at; /* microseconds */
        int64_t expires;    /* epoch s; 0 = permanent */
};

/* Insert or replace (one grant per user). */
int store_grant_put(struct store *s, const struct store_grant *g);
int store_grant_delete(struct store *s, const char *user); /* -ENOENT when none */
int store_grant_list(struct store *s, struct store_grant **ret, size_t *ret_n);

/* ---- quota alerts in force ---- */

struct store_alert {
        char user[STORE_NAME_MAX];
        char resource[STORE_WORD_MAX]; /* gpu, containers, memory */
        char level[STORE_WORD_MAX];    /* high (>= 80 %), reached (>= 100 %) */
        double used, limit;
        int64_t since;    /* microseconds: when this level began */
        int64_t notified; /* microseconds: last time the user was told, 0 never */
};

/* Insert or replace by (user, resource). */
int store_alert_put(struct store *s, const struct store_alert *a);
int store_alert_delete(struct store *s, const char *user, const char *resource);
int store_alert_list(struct store *s, struct store_alert **ret, size_t *ret_n);

/* ---- events ---- */

struct store_event {
        int64_t id;
        int64_t time; /* microseconds */
        char type[STORE_WORD_MAX];
        char user[STORE_NAME_MAX];      /* "" when none */
        char source[STORE_WORD_MAX];    /* "" when none */
        char container[STORE_NAME_MAX]; /* "" when none; also inside details */
        char *details;                  /* compact JSON object text, or NULL; owned */
};

int store_event_insert(struct store *s, const struct store_event *e, int64_t *ret_id);

struct store_event_filter {
        const char *user;        /* exact; NULL all */
        const char *type_prefix; /* "gpu." matches gpu.*; NULL all */
        const char *container;   /* exact; NULL all */
        int64_t since, until;    /* [since, until); 0 = unbounded */
        int64_t after_id;        /* id > after_id (for --follow); 0 = all */
        long limit;              /* newest `limit` events, returned oldest first; <= 0 all */
};

/* Matching events, oldest first. Free with store_events_free. */
int store_event_query(struct store *s, const struct store_event_filter *f, struct store_event **ret,
                      size_t *ret_n);
void store_events_free(struct store_event *e, size_t n);

/* Counts of events per type with from <= time < to; cb is called once per
 * type (a negative return stops and is returned). */
int store_event_type_counts(struct store *s, int64_t from, int64_t to,
                            int (*cb)(void *ud, const char *type, long long n), void *ud);
/* Events of one type, all time. */
int store_event_count_type(struct store *s, const char *type, long long *ret);

/* ---- queue ---- */

enum store_queue_state {
        STORE_QUEUE_WAITING,
        STORE_QUEUE_GRANTED,
        STORE_QUEUE_LEFT,    /* cancelled or the caller went away */
        STORE_QUEUE_EXPIRED, /* waited past its deadline or missed its claim window */
};

struct store_queue_entry {
        int64_t id;
        char user[STORE_NAME_MAX];
        char container[STORE_NAME_MAX];
        int count; /* -1 = all */
        bool full;
        long long priority;
        int64_t arrival;
        int64_t deadline; /* give up waiting after; 0 = none */
        enum store_queue_state state;
        int64_t updated;
};

int store_queue_insert(struct store *s, struct store_queue_entry *q, int64_t now);
int store_queue_update(struct store *s, int64_t id, enum store_queue_state state, int64_t now);
/* Entries ordered by id; waiting_only limits to STORE_QUEUE_WAITING. */
int store_queue_list(struct store *s, const char *user, bool waiting_only,
                     struct store_queue_entry **ret, size_t *ret_n);
int store_queue_get(struct store *s, int64_t id, struct store_queue_entry *ret);
const char *store_queue_state_name(enum store_queue_state st);

/* ---- reservations ---- */

struct store_reservation {
        int64_t id;
        char user[STORE_NAME_MAX];  /* "" when for a group */
        char group[STORE_NAME_MAX]; /* "" when for a user */
        char slots[STORE_TEXT_MAX]; /* comma-separated slot names */
        int64_t start, end;         /* epoch seconds, [start, end) */
        char reason[STORE_TEXT_MAX];
        char source[STORE_WORD_MAX]; /* "config" (user_overrides) or "admin" */
        int64_t created;
};

int store_reservation_insert(struct store *s, struct store_reservation *r, int64_t now);
int store_reservation_delete(struct store *s, int64_t id);
/* Delete every reservation whose source is `source` (config reload).
 * Returns how many were deleted (>= 0). */
int store_reservation_delete_source(struct store *s, const char *source);
/* Reservations with end > now_s (now_s = 0: all), ordered by start, id. */
int store_reservation_list(struct store *s, int64_t now_s, struct store_reservation **ret,
                           size_t *ret_n);

/* ---- usage samples (GPU-hours) ---- */

struct store_usage {
        char user[STORE_NAME_MAX];
        char slot[STORE_SLOT_MAX];
        int64_t time;        /* end of the sampled interval */
        double gpu_seconds;  /* GPU-equivalent seconds allocated */
        double used_seconds; /* utilization-weighted GPU-equivalent seconds */
};

int store_usage_add(struct store *s, const struct store_usage *u);
/* Samples with time >= since (user NULL: all), ordered by time. */
int store_usage_list(struct store *s, const char *user, int64_t since, struct store_usage **ret,
                     size_t *ret_n);
/* Per (user, slot): the sums of the samples with since < time <= until (epoch
 * seconds; a sample covers the seconds before its time), time = the latest
 * sample's. Ordered by user, slot; *ret malloc'd (free()), NULL when none. */
int store_usage_sum(struct store *s, int64_t since, int64_t until, struct store_usage **ret,
                    size_t *ret_n);
