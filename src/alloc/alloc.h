/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * alloc.h - GPU allocation decisions, pure: plain structs in, a decision out.
 * No I/O, no clock, no allocation of memory the caller must free. ds01d feeds
 * it the slots (from the topology and the last sample), the allocations in
 * force, the reservations and the user's resolved limits, and carries out the
 * answer in one database transaction.
 *
 * Rules (docs/ARCHITECTURE.md "Allocation"):
 * - Idempotent: a container that already holds slots gets them back
 *   (existing = true), whatever the limits say now.
 * - Container limit: user_containers (the user's other containers) >=
 *   max_containers → CONTAINER_LIMIT.
 * - Per container: an explicit count above max_slots_per_container →
 *   EXCEEDS_CONTAINER_LIMIT; ALLOC_COUNT_ALL asks for as many as quota and the
 *   per-container cap allow, at least one.
 * - Kind: full = true needs full GPUs (allow_full_gpu false → FULL_GPU_NOT_ALLOWED).
 *   A CUDA process sees one MIG device, so a request for several slots is
 *   served with full GPUs unless allow_multi_mig; when full GPUs are not
 *   allowed either, FULL_GPU_NOT_ALLOWED says so. A single-slot request
 *   without full takes a MIG slot when one fits, else a full GPU if allowed.
 * - Quota in GPU-equivalents (epsilon ALLOC_EPSILON): held = the weights of
 *   every slot the user holds (pending, active, held). The smallest weight
 *   the request could be served with (count x the lightest healthy slot of
 *   the allowed kind in the whole topology) is checked first against
 *   gpu_limit (AGGREGATE_GPU_QUOTA_EXCEEDED), then against
 *   max_gpu_equivalents (USER_AT_LIMIT). When the quota allows that but no
 *   free slots fit the remaining quota → NO_CAPACITY (the caller may queue).
 * - Free slot: healthy, no foreign process, not held by any allocation in
 *   force, not inside an active reservation of another user or group.
 *   Slots inside an active reservation of the requester's user or group are
 *   taken first.
 * - Order among free slots: MIG requests pack onto GPUs that already have
 *   allocated MIG slots (keeping whole GPUs free), then numeric slot order;
 *   full-GPU requests prefer the smallest gpu_recent_use, then numeric order.
 *   Numeric order: "2" < "10", "1.2" < "1.10", "1.6" < "2".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALLOC_EPSILON   1e-9
#define ALLOC_COUNT_ALL (-1)
/* Most slots one decision hands out (a server has at most 64 GPUs x 8 MIG). */
#define ALLOC_MAX_SLOTS  512
#define ALLOC_REASON_MAX 256

enum alloc_code {
        ALLOC_OK = 0,
        ALLOC_USER_AT_LIMIT,                /* max_gpu_equivalents */
        ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED, /* aggregate.gpu_limit */
        ALLOC_EXCEEDS_CONTAINER_LIMIT,      /* max_gpu_slots_per_container */
        ALLOC_FULL_GPU_NOT_ALLOWED,         /* allow_full_gpu: false */
        ALLOC_CONTAINER_LIMIT,              /* max_containers_per_user */
        ALLOC_NO_CAPACITY,                  /* quota allows, nothing free fits */
        ALLOC_INVALID_REQUEST,              /* count 0, < -1, or no container */
        _ALLOC_CODE_MAX,
};

enum alloc_state {
        ALLOC_STATE_PENDING,  /* claimed for a queued request, or created but not started */
        ALLOC_STATE_ACTIVE,   /* container running with it */
        ALLOC_STATE_HELD,     /* container stopped; kept until the hold ends */
        ALLOC_STATE_RELEASED, /* history; never passed in holdings */
};

struct alloc_slot {
        const char *name;     /* "N" or "N.D" */
        unsigned gpu;         /* physical GPU index */
        bool mig;             /* a MIG slot (else a full GPU) */
        double weight;        /* GPU-equivalents */
        bool healthy;         /* its GPU answers NVML */
        bool foreign_process; /* a process runs on it that no allocation explains */
        double
            gpu_recent_use; /* the GPU's recent use, any unit; smaller is preferred for full GPUs */
};

/* An allocation in force: pending, active or held. */
struct alloc_holding {
        size_t slot; /* index into slots */
        const char *container;
        const char *user;
        enum alloc_state state;
};

struct alloc_reservation {
        const char *user;    /* NULL when for a group */
        const char *group;   /* NULL when for a user */
        int64_t start, end;  /* epoch seconds, [start, end) */
        const size_t *slots; /* indexes into slots */
        size_t n_slots;
};

struct alloc_limits {
        double gpu_limit;                  /* aggregate.gpu_limit; INFINITY = unlimited */
        double max_gpu_equivalents;        /* INFINITY = unlimited */
        long long max_slots_per_container; /* < 0 = unlimited */
        bool allow_full_gpu;
        long long max_containers; /* < 0 = unlimited */
        bool allow_multi_mig;     /* gpu_allocation.allow_multi_mig */
};

struct alloc_request {
        const char *user;
        const char *group;         /* the user's group, for group reservations */
        const char *container;     /* name or id: the key of its allocation */
        int count;                 /* >= 1, or ALLOC_COUNT_ALL */
        bool full;                 /* full GPUs required */
        long long user_containers; /* the user's containers, this one not counted */
        int64_t now;               /* epoch seconds */
};

struct alloc_input {
        const struct alloc_slot *slots;
        size_t n_slots;
        const struct alloc_holding *holdings;
        size_t n_holdings;
        const struct alloc_reservation *reservations;
        size_t n_reservations;
        struct alloc_limits limits;
        struct alloc_request request;
};

struct alloc_result {
        enum alloc_code code;
        char reason[ALLOC_REASON_MAX]; /* one sentence a student can act on; "" when OK */
        size_t slots[ALLOC_MAX_SLOTS]; /* indexes into input slots, in handing-out order */
        size_t n_slots;
        double weight; /* sum of the slots' weights */
        bool existing; /* the container already held these */
        double held;   /* GPU-equivalents the user held before this decision */
        double limit;  /* the tighter of gpu_limit and max_gpu_equivalents */
};

/* Decide. Returns 0 and fills *ret (ret->code says the answer), or -EINVAL
 * when the input itself is malformed (NULL arrays with counts, a holding
 * pointing past the slots). */
int alloc_decide(const struct alloc_input *in, struct alloc_result *ret);

/* "USER_AT_LIMIT", ... , "NO_CAPACITY", "INVALID_REQUEST"; "OK" for ALLOC_OK. */
const char *alloc_code_name(enum alloc_code code);

/* "pending", "active", "held", "released"; and back (-EINVAL when unknown). */
const char *alloc_state_name(enum alloc_state s);
int alloc_state_from_name(const char *s, enum alloc_state *ret);

/* Numeric slot order: < 0, 0, > 0 like strcmp ("2" < "10", "1.6" < "2").
 * Names that do not parse sort after those that do, by strcmp. */
int alloc_slot_name_cmp(const char *a, const char *b);

/* ---- holds ---- */

/* Seconds a stopped container's slots stay held: 0 (release at once) for
 * interfaces "orchestration" and "api", else gpu_hold_after_stop (seconds;
 * INT64_MAX = until removed). */
int64_t alloc_hold_seconds(const char *interface, int64_t gpu_hold_after_stop);

/* ---- queue ---- */

struct alloc_queue_entry {
        int64_t id;
        const char *user;
        long long priority;   /* higher first */
        double decayed_usage; /* lower first */
        int64_t arrival;      /* earlier first (any monotonic unit) */
};

/* Queue order: priority desc, decayed usage asc, arrival asc, id asc. */
int alloc_queue_cmp(const struct alloc_queue_entry *a, const struct alloc_queue_entry *b);
void alloc_queue_sort(struct alloc_queue_entry *entries, size_t n);

struct alloc_usage {
        int64_t time;       /* epoch seconds of the sample */
        double gpu_seconds; /* GPU-equivalent seconds allocated in the sample */
};

/* Decayed GPU-hours: sum over samples with now - window <= time <= now of
 * gpu_seconds / 3600 * 0.5^((now - time) / half_life). half_life <= 0 means
 * no decay. */
double alloc_decayed_gpu_hours(const struct alloc_usage *u, size_t n, int64_t now,
                               int64_t half_life, int64_t window);
