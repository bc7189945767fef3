/* test-alloc.c - unit tests for alloc: the allocation decision as one table
 * over three topologies (an A100 with a full GPU and three MIG layouts, eight
 * H100 split 7x1g, twelve full GPUs listed out of order) covering every code,
 * each quota layer, `all`, MIG packing, numeric order, reservations in and out
 * of their window, holds, idempotence; malformed input; code and state names;
 * hold times; the queue order and decayed usage; and a seeded randomized run
 * that checks no slot is handed out twice and no user passes the limit. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc/alloc.h"
#include "util/macro.h"

#define NOW    INT64_C(1000000)
#define HOUR   INT64_C(3600)
#define DAY    (24 * HOUR)
#define WEEK   (7 * DAY)
#define INF    INFINITY
#define ACT    ALLOC_STATE_ACTIVE
#define PEND   ALLOC_STATE_PENDING
#define HELD   ALLOC_STATE_HELD
#define REL    ALLOC_STATE_RELEASED
#define ALL    ALLOC_COUNT_ALL
#define ALLMIG "1.0,1.1,1.2,1.3,1.4,1.5,1.6,2.0,2.1,2.2,3.0,3.1"

#define LIM(gl, eq, cap, fullok, maxc, multi)                                                      \
        {                                                                                          \
                .gpu_limit = (gl), .max_gpu_equivalents = (eq), .max_slots_per_container = (cap),  \
                .allow_full_gpu = (fullok), .max_containers = (maxc), .allow_multi_mig = (multi)   \
        }
/* The built-in defaults: 1.0 GPU-equivalent, 1 slot, no full GPU, 3 containers. */
#define STUDENT LIM(INF, 1.0, 1, false, 3, false)
#define OPEN    LIM(INF, INF, -1, true, -1, true)
#define REQC(cnt, f, uc)                                                                           \
        {                                                                                          \
                .user = "alice", .group = "student", .container = "c1", .count = (cnt),            \
                .full = (f), .user_containers = (uc), .now = NOW                                   \
        }
#define REQ(cnt, f) REQC(cnt, f, 0)

/* ---- topologies ---- */

enum topo {
        T_A100,   /* "0" full; "1.0".."1.6" 1/7; "2.0".."2.2" 2/7; "3.0","3.1" 3/7 */
        T_H100,   /* "0.0".."7.6", all 1/7 */
        T_FULL12, /* "0".."11" full, listed out of order, recent use 0.5 */
};

#define TOPO_MAX 64

struct topology {
        struct alloc_slot slots[TOPO_MAX];
        size_t n;
        char names[TOPO_MAX][16];
};

static void add_slot(struct topology *t, unsigned gpu, int mig, double weight, double use)
{
        struct alloc_slot *s = &t->slots[t->n];

        assert_true(t->n < TOPO_MAX);
        if (mig < 0)
                snprintf(t->names[t->n], sizeof(t->names[0]), "%u", gpu);
        else
                snprintf(t->names[t->n], sizeof(t->names[0]), "%u.%d", gpu, mig);
        *s = (struct alloc_slot){
            .name = t->names[t->n],
            .gpu = gpu,
            .mig = mig >= 0,
            .weight = weight,
            .healthy = true,
            .gpu_recent_use = use,
        };
        t->n++;
}

static void topo_build(struct topology *t, enum topo which)
{
        static const unsigned full12_order[] = {10, 3, 0, 11, 7, 1, 5, 2, 9, 4, 8, 6};

        t->n = 0;
        switch (which) {
        case T_A100:
                add_slot(t, 0, -1, 1.0, 0);
                for (int d = 0; d < 7; d++)
                        add_slot(t, 1, d, 1.0 / 7, 0);
                for (int d = 0; d < 3; d++)
                        add_slot(t, 2, d, 2.0 / 7, 0);
                for (int d = 0; d < 2; d++)
                        add_slot(t, 3, d, 3.0 / 7, 0);
                break;
        case T_H100:
                for (unsigned g = 0; g < 8; g++)
                        for (int d = 0; d < 7; d++)
                                add_slot(t, g, d, 1.0 / 7, 0);
                break;
        case T_FULL12:
                for (size_t i = 0; i < ELEMENTSOF(full12_order); i++)
                        add_slot(t, full12_order[i], -1, 1.0, 0.5);
                break;
        }
}

static size_t slot_index(const struct topology *t, const char *name, size_t len)
{
        for (size_t i = 0; i < t->n; i++)
                if (strlen(t->slots[i].name) == len && strncmp(t->slots[i].name, name, len) == 0)
                        return i;
        fail_msg("no slot %.*s in the topology", (int)len, name);
        return 0;
}

/* "1.0,2.1" → indexes; returns how many. */
static size_t parse_list(const struct topology *t, const char *list, size_t *ret, size_t max)
{
        size_t n = 0;

        while (list && *list) {
                const char *comma = strchr(list, ',');
                size_t len = comma ? (size_t)(comma - list) : strlen(list);
                assert_true(n < max);
                ret[n++] = slot_index(t, list, len);
                list = comma ? comma + 1 : NULL;
        }
        return n;
}

static void join_slots(const struct alloc_input *in, const struct alloc_result *res, char *buf,
                       size_t size)
{
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < res->n_slots && off < size; i++) {
                int n = snprintf(buf + off, size - off, "%s%s", i ? "," : "",
                                 in->slots[res->slots[i]].name);
                assert_true(n > 0);
                off += (size_t)n;
        }
        assert_true(off < size);
}

/* ---- the decision table ---- */

struct hold_spec {
        const char *slot, *container, *user;
        enum alloc_state state;
};

struct res_spec {
        const char *user, *group;
        int64_t start, end;
        const char *slots;
};

struct use_spec {
        const char *slot;
        double use;
};

struct dcase {
        const char *name;
        enum topo topo;
        struct alloc_limits lim;
        struct alloc_request req;
        struct hold_spec holds[12];
        struct res_spec res[2];
        const char *unhealthy, *foreign;
        struct use_spec use[4];
        const char *want;   /* slots handed out, in order ("" for none) */
        const char *reason; /* a part of the reason */
        double held;        /* with check_held */
        enum alloc_code code;
        bool existing;
        bool check_held;
};

static const struct dcase dcases[] = {
    /* kinds */
    {"single: MIG first, numeric", T_A100, STUDENT, REQ(1, false), .want = "1.0"},
    {"single: MIG before a full GPU", T_A100, OPEN, REQ(1, false), .want = "1.0"},
    {"full required", T_A100, OPEN, REQ(1, true), .want = "0"},
    {"full not allowed", T_A100, STUDENT, REQ(1, true), .code = ALLOC_FULL_GPU_NOT_ALLOWED,
     .reason = "your group may not use full GPUs (allow_full_gpu: false); ask for one MIG "
               "slot"},
    {"several need full GPUs, not allowed", T_A100, LIM(INF, INF, -1, false, -1, false),
     REQ(2, false), .code = ALLOC_FULL_GPU_NOT_ALLOWED,
     .reason = "a container sees only one MIG device, so several GPUs need full GPUs, which "
               "your group may not use"},
    {"several without multi-MIG take full GPUs", T_FULL12, LIM(INF, INF, -1, true, -1, false),
     REQ(2, false), .want = "0,1"},
    {"several without multi-MIG: never MIG slots", T_A100, LIM(INF, INF, -1, true, -1, false),
     REQ(2, false), .code = ALLOC_INVALID_REQUEST, .reason = "only 1 full GPU you may use"},
    {"multi-MIG packs", T_A100, LIM(INF, 1, 3, false, -1, true), REQ(3, false),
     .holds = {{"2.0", "c9", "bob", ACT}}, .want = "2.1,2.2,1.0"},
    {"multi-MIG: eight slots", T_A100, OPEN, REQ(8, false),
     .want = "1.0,1.1,1.2,1.3,1.4,1.5,1.6,2.0"},
    {"multi-MIG with no MIG slot takes full GPUs", T_FULL12, OPEN, REQ(2, false), .want = "0,1"},
    {"multi-MIG: neither kind has two free", T_A100, OPEN, REQ(2, false),
     .unhealthy = "1.0,1.1,1.2,1.3,1.4,1.5,1.6,2.0,2.1,2.2,3.0", .code = ALLOC_NO_CAPACITY,
     .reason = "(2 MIG slots or 2 full GPUs); try --wait to queue"},
    {"single falls back to a full GPU", T_A100, OPEN, REQ(1, false), .unhealthy = ALLMIG,
     .want = "0"},
    {"single MIG only, none free", T_A100, STUDENT, REQ(1, false), .foreign = ALLMIG,
     .code = ALLOC_NO_CAPACITY,
     .reason = "no GPU slot free that fits your request (1 MIG slot, within your remaining "
               "1.000 GPU-equivalents); try --wait to queue"},
    {"single, nothing free, unlimited", T_A100, OPEN, REQ(1, false), .foreign = ALLMIG,
     .unhealthy = "0", .code = ALLOC_NO_CAPACITY, .reason = "(1 MIG slot or 1 full GPU); try"},

    /* MIG packing */
    {"packs onto a GPU with an allocated MIG slot", T_A100, STUDENT, REQ(1, false),
     .holds = {{"2.1", "c9", "bob", ACT}}, .want = "2.0"},
    {"packs onto heavier slots too", T_A100, STUDENT, REQ(1, false),
     .holds = {{"3.0", "c9", "bob", ACT}}, .want = "3.1"},
    {"full GPU untouched while MIG fits", T_A100, OPEN, REQ(1, false),
     .holds = {{"1.0", "c9", "bob", ACT},
               {"1.1", "c9", "bob", ACT},
               {"1.2", "c9", "bob", ACT},
               {"1.3", "c9", "bob", ACT},
               {"1.4", "c9", "bob", ACT},
               {"1.5", "c9", "bob", ACT},
               {"1.6", "c9", "bob", ACT}},
     .want = "2.0"},
    {"a held slot is taken and packs", T_A100, STUDENT, REQ(1, false),
     .holds = {{"2.0", "c9", "bob", HELD}}, .want = "2.1"},
    {"a pending slot is taken", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.0", "c9", "bob", PEND}}, .want = "1.1"},
    {"a released holding is ignored", T_A100, STUDENT, REQ(1, false),
     .holds = {{"2.0", "c9", "bob", REL}}, .want = "1.0"},

    /* full GPUs: least recent use, then numeric order */
    {"full: least recent use", T_FULL12, OPEN, REQ(1, true),
     .use = {{"2", 0.1}, {"10", 0.1}, {"0", 0.9}}, .want = "2"},
    {"full: ties by numeric order", T_FULL12, OPEN, REQ(3, true),
     .use = {{"2", 0.1}, {"10", 0.1}, {"0", 0.9}}, .want = "2,10,1"},
    {"numeric: 2 before 10", T_FULL12, OPEN, REQ(1, true), .unhealthy = "0,1", .want = "2"},
    {"numeric: all twelve in order", T_FULL12, OPEN, REQ(ALL, false),
     .want = "0,1,2,3,4,5,6,7,8,9,10,11"},

    /* slots that are not free */
    {"unhealthy skipped", T_A100, STUDENT, REQ(1, false), .unhealthy = "1.0", .want = "1.1"},
    {"foreign process skipped", T_A100, STUDENT, REQ(1, false), .foreign = "1.0,1.1",
     .want = "1.2"},
    {"unhealthy full GPU skipped", T_FULL12, OPEN, REQ(1, true), .unhealthy = "0", .want = "1"},

    /* reservations */
    {"reserved for another user, in window", T_A100, STUDENT, REQ(1, false),
     .res = {{"bob", NULL, NOW - 10, NOW + 10, "1.0,1.1,1.2,1.3,1.4,1.5,1.6"}}, .want = "2.0"},
    {"reserved for me, preferred", T_A100, STUDENT, REQ(1, false),
     .res = {{"alice", NULL, NOW - 10, NOW + 10, "3.1"}}, .want = "3.1"},
    {"reserved for my group, preferred", T_A100, STUDENT, REQ(1, false),
     .res = {{NULL, "student", NOW - 10, NOW + 10, "2.2"}}, .want = "2.2"},
    {"reserved for another group, skipped", T_A100, STUDENT, REQ(1, false),
     .res = {{NULL, "staff", NOW - 10, NOW + 10, "1.0"}}, .want = "1.1"},
    {"reservation ended (end exclusive)", T_A100, STUDENT, REQ(1, false),
     .res = {{"bob", NULL, NOW - 100, NOW, "1.0,1.1"}}, .want = "1.0"},
    {"reservation not yet started", T_A100, STUDENT, REQ(1, false),
     .res = {{"bob", NULL, NOW + 1, NOW + 100, "1.0,1.1"}}, .want = "1.0"},
    {"reservation starting now", T_A100, STUDENT, REQ(1, false),
     .res = {{"bob", NULL, NOW, NOW + 1, "1.0"}}, .want = "1.1"},
    {"my reservation outside its window is ordinary", T_A100, STUDENT, REQ(1, false),
     .res = {{"alice", NULL, NOW + 1, NOW + 100, "3.1"}}, .want = "1.0"},
    {"my reservation beats packing", T_A100, STUDENT, REQ(1, false),
     .holds = {{"2.0", "c9", "bob", ACT}}, .res = {{"alice", NULL, NOW - 1, NOW + 1, "1.5"}},
     .want = "1.5"},
    {"reserved for me and for another: not free", T_A100, STUDENT, REQ(1, false),
     .res = {{"alice", NULL, NOW - 1, NOW + 1, "1.0"}, {"bob", NULL, NOW - 1, NOW + 1, "1.0"}},
     .want = "1.1"},
    {"everything reserved for another: no capacity", T_FULL12, OPEN, REQ(1, true),
     .res = {{NULL, "staff", NOW - 1, NOW + 1, "0,1,2,3,4,5,6,7,8,9,10,11"}},
     .code = ALLOC_NO_CAPACITY, .reason = "(1 full GPU); try --wait to queue"},

    /* quota layers */
    {"seven 1/7 slots fill exactly 1.0", T_H100, LIM(INF, 1, 1, false, -1, false), REQ(1, false),
     .holds = {{"0.0", "c2", "alice", ACT},
               {"0.1", "c3", "alice", ACT},
               {"0.2", "c4", "alice", ACT},
               {"0.3", "c5", "alice", ACT},
               {"0.4", "c6", "alice", HELD},
               {"0.5", "c7", "alice", PEND}},
     .want = "0.6", .check_held = true, .held = 6.0 / 7},
    {"the eighth is refused", T_H100, LIM(INF, 1, 1, false, -1, false), REQ(1, false),
     .holds = {{"0.0", "c2", "alice", ACT},
               {"0.1", "c3", "alice", ACT},
               {"0.2", "c4", "alice", ACT},
               {"0.3", "c5", "alice", ACT},
               {"0.4", "c6", "alice", ACT},
               {"0.5", "c7", "alice", ACT},
               {"0.6", "c8", "alice", ACT}},
     .code = ALLOC_USER_AT_LIMIT,
     .reason = "you hold 1.000 of your 1.000 GPU-equivalents (max_gpu_equivalents, group "
               "student); release a GPU first (ds01 gpu user-status)",
     .check_held = true, .held = 1.0},
    {"aggregate before max_gpu_equivalents", T_A100, LIM(1, 1, 1, true, -1, false), REQ(1, false),
     .holds = {{"0", "c2", "alice", ACT}}, .code = ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED,
     .reason = "you hold 1.000 of your 1.000 GPU-equivalents (aggregate.gpu_limit, group "
               "student)"},
    {"aggregate alone", T_A100, LIM(1, 2, 1, true, -1, false), REQ(1, false),
     .holds = {{"0", "c2", "alice", ACT}}, .code = ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED},
    {"max_gpu_equivalents alone", T_A100, LIM(2, 1, 1, true, -1, false), REQ(1, false),
     .holds = {{"0", "c2", "alice", ACT}}, .code = ALLOC_USER_AT_LIMIT},
    {"the request alone is too big", T_FULL12, LIM(INF, 1.5, -1, true, -1, false), REQ(2, true),
     .code = ALLOC_USER_AT_LIMIT,
     .reason = "your request needs at least 2.000 GPU-equivalents and you hold 0.000 of your "
               "1.500 (max_gpu_equivalents, group student)"},
    {"a held slot counts toward the quota", T_A100, LIM(INF, 0.2, 1, false, -1, false),
     REQ(1, false), .holds = {{"1.0", "c2", "alice", HELD}}, .code = ALLOC_USER_AT_LIMIT,
     .reason = "needs at least 0.143 GPU-equivalents and you hold 0.143 of your 0.200"},
    {"a pending slot counts toward the quota", T_A100, LIM(INF, 0.2, 1, false, -1, false),
     REQ(1, false), .holds = {{"1.0", "c2", "alice", PEND}}, .code = ALLOC_USER_AT_LIMIT},
    {"a released slot does not count", T_A100, LIM(INF, 0.2, 1, false, -1, false), REQ(1, false),
     .holds = {{"1.0", "c2", "alice", REL}}, .want = "1.0", .check_held = true, .held = 0},
    {"other users' slots do not count", T_A100, LIM(INF, 0.2, 1, false, -1, false), REQ(1, false),
     .holds = {{"1.0", "c2", "bob", ACT}}, .want = "1.1"},
    {"quota allows, free slots too heavy: no capacity", T_A100, LIM(INF, 0.2, 1, false, -1, false),
     REQ(1, false), .foreign = "1.0,1.1,1.2,1.3,1.4,1.5,1.6", .code = ALLOC_NO_CAPACITY,
     .reason = "(1 MIG slot, within your remaining 0.200 GPU-equivalents)"},
    {"the lightest healthy slot sets the least weight", T_A100, LIM(INF, 0.2, 1, false, -1, false),
     REQ(1, false), .unhealthy = "1.0,1.1,1.2,1.3,1.4,1.5,1.6", .code = ALLOC_USER_AT_LIMIT,
     .reason = "needs at least 0.286 GPU-equivalents"},
    {"a slot past the quota is skipped", T_A100, LIM(INF, 0.2, 1, false, -1, false), REQ(1, false),
     .holds = {{"3.0", "c9", "bob", ACT}}, .want = "1.0"},

    /* per container, per user */
    {"count above the per-container cap", T_A100, STUDENT, REQ(2, false),
     .code = ALLOC_EXCEEDS_CONTAINER_LIMIT,
     .reason = "this container may have at most 1 GPU slot (max_gpu_slots_per_container); "
               "ask for fewer"},
    {"cap 2, count 3", T_A100, LIM(INF, INF, 2, true, -1, true), REQ(3, false),
     .code = ALLOC_EXCEEDS_CONTAINER_LIMIT, .reason = "at most 2 GPU slots"},
    {"cap 0", T_A100, LIM(INF, INF, 0, true, -1, true), REQ(1, false),
     .code = ALLOC_EXCEEDS_CONTAINER_LIMIT, .reason = "max_gpu_slots_per_container: 0"},
    {"cap 0, all", T_A100, LIM(INF, INF, 0, true, -1, true), REQ(ALL, false),
     .code = ALLOC_EXCEEDS_CONTAINER_LIMIT},
    {"the cap is per container", T_A100, LIM(INF, INF, 1, false, -1, false), REQ(1, false),
     .holds = {{"1.0", "c2", "alice", ACT}}, .want = "1.1"},
    {"container limit", T_A100, STUDENT, REQC(1, false, 3), .code = ALLOC_CONTAINER_LIMIT,
     .reason = "you have 3 of 3 containers (max_containers_per_user); remove one first"},
    {"below the container limit", T_A100, STUDENT, REQC(1, false, 2), .want = "1.0"},
    {"container limit before the quota", T_A100, STUDENT, REQC(1, false, 3),
     .holds = {{"0", "c2", "alice", ACT}}, .code = ALLOC_CONTAINER_LIMIT},
    {"containers unlimited", T_A100, OPEN, REQC(1, false, 1000), .want = "1.0"},

    /* all */
    {"all: quota-bound", T_FULL12, LIM(INF, 3, -1, true, -1, false), REQ(ALL, false),
     .want = "0,1,2"},
    {"all: aggregate-bound", T_FULL12, LIM(2, INF, -1, true, -1, false), REQ(ALL, false),
     .want = "0,1"},
    {"all: cap-bound", T_FULL12, LIM(INF, INF, 4, true, -1, false), REQ(ALL, false),
     .want = "0,1,2,3"},
    {"all: capacity-bound", T_FULL12, OPEN, REQ(ALL, false), .unhealthy = "0,1,2,3,4,5,6,7,8",
     .want = "9,10,11"},
    {"all: no multi-MIG, no full: one MIG slot", T_A100, LIM(INF, INF, -1, false, -1, false),
     REQ(ALL, false), .want = "1.0"},
    {"all: multi-MIG, quota-bound", T_H100, LIM(INF, 1, -1, false, -1, true), REQ(ALL, false),
     .want = "0.0,0.1,0.2,0.3,0.4,0.5,0.6"},
    {"all: multi-MIG, cap-bound", T_H100, LIM(INF, INF, 3, false, -1, true), REQ(ALL, false),
     .want = "0.0,0.1,0.2"},
    {"all: no full GPU fits: one MIG slot", T_A100, LIM(INF, 0.5, -1, true, -1, false),
     REQ(ALL, false), .want = "1.0"},
    {"all: no full GPU fits: MIG slots with multi-MIG", T_A100, LIM(INF, 0.5, -1, true, -1, true),
     REQ(ALL, false), .want = "1.0,1.1,1.2"},
    {"all: full GPUs first", T_A100, OPEN, REQ(ALL, false), .want = "0"},
    {"all: skips slots past the quota", T_A100, LIM(INF, 0.5, -1, false, -1, true), REQ(ALL, false),
     .holds = {{"3.0", "c9", "bob", ACT}}, .want = "3.1"},
    {"all: at least one, at the limit", T_A100, LIM(INF, 1, -1, true, -1, false), REQ(ALL, false),
     .holds = {{"0", "c2", "alice", ACT}}, .code = ALLOC_USER_AT_LIMIT},
    {"all: the lightest slot does not fit", T_A100, LIM(INF, 0.1, -1, true, -1, true),
     REQ(ALL, false), .code = ALLOC_USER_AT_LIMIT,
     .reason = "needs at least 0.143 GPU-equivalents and you hold 0.000 of your 0.100"},
    {"all: nothing free", T_A100, OPEN, REQ(ALL, false), .unhealthy = "0", .foreign = ALLMIG,
     .code = ALLOC_NO_CAPACITY, .reason = "(at least 1 MIG slot or full GPU); try --wait"},
    {"all: full required", T_FULL12, LIM(INF, 2.5, -1, true, -1, false), REQ(ALL, true),
     .want = "0,1"},

    /* idempotence */
    {"same container, same slots", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.3", "c1", "alice", ACT}}, .want = "1.3", .existing = true},
    {"same container at the limit", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.3", "c1", "alice", ACT}, {"0", "c2", "alice", ACT}}, .want = "1.3",
     .existing = true, .check_held = true, .held = 1.0},
    {"same container, other count", T_A100, STUDENT, REQ(ALL, true),
     .holds = {{"2.1", "c1", "alice", ACT}, {"1.5", "c1", "alice", HELD}}, .want = "1.5,2.1",
     .existing = true, .check_held = true, .held = 0},
    {"same container past the container limit", T_A100, STUDENT, REQC(1, false, 5),
     .holds = {{"1.3", "c1", "alice", PEND}}, .want = "1.3", .existing = true},
    {"same container on an unhealthy slot", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.3", "c1", "alice", ACT}}, .unhealthy = "1.3", .want = "1.3", .existing = true},
    {"a released container is not existing", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.3", "c1", "alice", REL}}, .want = "1.0"},
    {"container of another user", T_A100, STUDENT, REQ(1, false),
     .holds = {{"1.3", "c1", "bob", ACT}}, .code = ALLOC_INVALID_REQUEST,
     .reason = "container c1 already holds GPUs of another user"},

    /* invalid requests */
    {"count 0", T_A100, OPEN, REQ(0, false), .code = ALLOC_INVALID_REQUEST,
     .reason = "0 is not a number of GPUs"},
    {"count -2", T_A100, OPEN, REQ(-2, false), .code = ALLOC_INVALID_REQUEST},
    {"no container",
     T_A100,
     OPEN,
     {.user = "alice", .count = 1, .now = NOW},
     .code = ALLOC_INVALID_REQUEST,
     .reason = "no container"},
    {"empty container",
     T_A100,
     OPEN,
     {.user = "alice", .container = "", .count = 1},
     .code = ALLOC_INVALID_REQUEST},
    {"no user", T_A100, OPEN, {.container = "c1", .count = 1}, .code = ALLOC_INVALID_REQUEST},
    {"more full GPUs than the server has", T_FULL12, OPEN, REQ(13, true),
     .code = ALLOC_INVALID_REQUEST,
     .reason = "this server has only 12 full GPUs you may use; ask for at most 12"},
    {"no full GPU on the server", T_H100, OPEN, REQ(1, true), .code = ALLOC_INVALID_REQUEST,
     .reason = "this server has no full GPU you may use"},
    {"no MIG slot on the server", T_FULL12, STUDENT, REQ(1, false), .code = ALLOC_INVALID_REQUEST,
     .reason = "this server has no MIG slot you may use"},
};

/* strcmp == 0 on two non-NULL strings */
static bool streq0(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static void run_case(const struct dcase *c)
{
        struct topology t;
        struct alloc_holding holds[ELEMENTSOF(c->holds)];
        struct alloc_reservation res[ELEMENTSOF(c->res)];
        size_t res_slots[ELEMENTSOF(c->res)][TOPO_MAX], idx[TOPO_MAX], n, nh = 0, nr = 0;
        struct alloc_result out;
        char got[1024];

        topo_build(&t, c->topo);
        n = parse_list(&t, c->unhealthy, idx, TOPO_MAX);
        for (size_t i = 0; i < n; i++)
                t.slots[idx[i]].healthy = false;
        n = parse_list(&t, c->foreign, idx, TOPO_MAX);
        for (size_t i = 0; i < n; i++)
                t.slots[idx[i]].foreign_process = true;
        for (size_t i = 0; i < ELEMENTSOF(c->use) && c->use[i].slot; i++)
                t.slots[slot_index(&t, c->use[i].slot, strlen(c->use[i].slot))].gpu_recent_use =
                    c->use[i].use;
        for (; nh < ELEMENTSOF(c->holds) && c->holds[nh].slot; nh++)
                holds[nh] = (struct alloc_holding){
                    .slot = slot_index(&t, c->holds[nh].slot, strlen(c->holds[nh].slot)),
                    .container = c->holds[nh].container,
                    .user = c->holds[nh].user,
                    .state = c->holds[nh].state,
                };
        for (; nr < ELEMENTSOF(c->res) && (c->res[nr].user || c->res[nr].group); nr++)
                res[nr] = (struct alloc_reservation){
                    .user = c->res[nr].user,
                    .group = c->res[nr].group,
                    .start = c->res[nr].start,
                    .end = c->res[nr].end,
                    .slots = res_slots[nr],
                    .n_slots = parse_list(&t, c->res[nr].slots, res_slots[nr], TOPO_MAX),
                };

        struct alloc_input in = {
            .slots = t.slots,
            .n_slots = t.n,
            .holdings = holds,
            .n_holdings = nh,
            .reservations = res,
            .n_reservations = nr,
            .limits = c->lim,
            .request = c->req,
        };
        memset(&out, 0xa5, sizeof(out));
        assert_int_equal(alloc_decide(&in, &out), 0);
        join_slots(&in, &out, got, sizeof(got));
        if (out.code != c->code || !streq0(got, c->want ? c->want : ""))
                fail_msg("%s: got %s [%s] (%s), want %s [%s]", c->name, alloc_code_name(out.code),
                         got, out.reason, alloc_code_name(c->code), c->want ? c->want : "");
        if (c->reason && !strstr(out.reason, c->reason))
                fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name, out.reason, c->reason);
        assert_int_equal(out.existing, c->existing);
        if (c->check_held && fabs(out.held - c->held) > 1e-9)
                fail_msg("%s: held %f, want %f", c->name, out.held, c->held);
        assert_true(out.limit == fmin(c->lim.gpu_limit, c->lim.max_gpu_equivalents));

        double sum = 0;
        for (size_t i = 0; i < out.n_slots; i++)
                sum += t.slots[out.slots[i]].weight;
        assert_true(fabs(out.weight - sum) < 1e-12);
        if (out.code == ALLOC_OK) {
                assert_string_equal(out.reason, "");
                assert_true(out.n_slots > 0);
        } else {
                assert_true(strlen(out.reason) > 0);
                assert_int_equal(out.n_slots, 0);
                /* one sentence: no trailing newline, no second line */
                assert_null(strchr(out.reason, '\n'));
        }
}

static void test_decide_table(_unused_ void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(dcases); i++)
                run_case(&dcases[i]);
}

/* Every code is reachable through the table. */
static void test_table_covers_codes(_unused_ void **state)
{
        bool seen[_ALLOC_CODE_MAX] = {};

        for (size_t i = 0; i < ELEMENTSOF(dcases); i++)
                seen[dcases[i].code] = true;
        for (int c = 0; c < _ALLOC_CODE_MAX; c++)
                assert_true(seen[c]);
}

/* ---- malformed input ---- */

static void test_decide_einval(_unused_ void **state)
{
        struct topology t;
        struct alloc_result out, before;
        struct alloc_holding h = {.slot = 0, .container = "c2", .user = "bob", .state = ACT};
        size_t rs = 0;
        struct alloc_reservation res = {
            .user = "bob", .start = 0, .end = NOW * 2, .slots = &rs, .n_slots = 1};
        struct alloc_input good, in;

        topo_build(&t, T_A100);
        good = (struct alloc_input){
            .slots = t.slots,
            .n_slots = t.n,
            .holdings = &h,
            .n_holdings = 1,
            .reservations = &res,
            .n_reservations = 1,
            .limits = STUDENT,
            .request = REQ(1, false),
        };
        assert_int_equal(alloc_decide(&good, &out), 0);
        assert_int_equal(out.code, ALLOC_OK);

        memset(&before, 0x5a, sizeof(before));
        out = before;
        assert_int_equal(alloc_decide(NULL, &out), -EINVAL);
        assert_int_equal(alloc_decide(&good, NULL), -EINVAL);

        for (int k = 0; k < 16; k++) {
                struct alloc_slot slots[TOPO_MAX];
                struct alloc_holding hh = h;
                struct alloc_reservation rr = res;
                size_t bad_slot = t.n;

                memcpy(slots, t.slots, sizeof(slots));
                in = good;
                in.slots = slots;
                in.holdings = &hh;
                in.reservations = &rr;
                switch (k) {
                case 0:
                        in.slots = NULL;
                        break;
                case 1:
                        in.n_slots = ALLOC_MAX_SLOTS + 1;
                        break;
                case 2:
                        in.holdings = NULL;
                        break;
                case 3:
                        in.reservations = NULL;
                        break;
                case 4:
                        hh.slot = t.n; /* past the slots */
                        break;
                case 5:
                        hh.container = NULL;
                        break;
                case 6:
                        hh.user = NULL;
                        break;
                case 7:
                        hh.state = (enum alloc_state)7;
                        break;
                case 8:
                        rr.user = NULL; /* neither user nor group */
                        break;
                case 9:
                        rr.slots = &bad_slot;
                        break;
                case 10:
                        rr.slots = NULL;
                        break;
                case 11:
                        slots[3].name = NULL;
                        break;
                case 12:
                        slots[3].weight = 0;
                        break;
                case 13:
                        slots[3].weight = NAN;
                        break;
                case 14:
                        in.limits.gpu_limit = NAN;
                        break;
                case 15:
                        in.limits.max_gpu_equivalents = NAN;
                        break;
                }
                out = before;
                if (alloc_decide(&in, &out) != -EINVAL)
                        fail_msg("malformed input %d accepted", k);
                assert_memory_equal(&out, &before, sizeof(out));
        }

        /* Empty arrays with NULL pointers are fine. */
        in = (struct alloc_input){.limits = OPEN, .request = REQ(1, false)};
        assert_int_equal(alloc_decide(&in, &out), 0);
        assert_int_equal(out.code, ALLOC_INVALID_REQUEST);
        assert_non_null(strstr(out.reason, "this server has no GPU slot you may use"));
        /* A released holding may point at any slot, but not past them. */
        in = good;
        h.state = REL;
        assert_int_equal(alloc_decide(&in, &out), 0);
        h.slot = t.n;
        assert_int_equal(alloc_decide(&in, &out), -EINVAL);
}

/* ---- names ---- */

static void test_names(_unused_ void **state)
{
        static const char *const codes[] = {
            "OK",
            "USER_AT_LIMIT",
            "AGGREGATE_GPU_QUOTA_EXCEEDED",
            "EXCEEDS_CONTAINER_LIMIT",
            "FULL_GPU_NOT_ALLOWED",
            "CONTAINER_LIMIT",
            "NO_CAPACITY",
            "INVALID_REQUEST",
        };
        static const char *const states[] = {"pending", "active", "held", "released"};
        enum alloc_state s;

        assert_int_equal(ELEMENTSOF(codes), _ALLOC_CODE_MAX);
        for (int c = 0; c < _ALLOC_CODE_MAX; c++)
                assert_string_equal(alloc_code_name((enum alloc_code)c), codes[c]);
        assert_null(alloc_code_name(_ALLOC_CODE_MAX));
        assert_null(alloc_code_name((enum alloc_code) - 1));

        for (int i = 0; i < 4; i++) {
                assert_string_equal(alloc_state_name((enum alloc_state)i), states[i]);
                s = (enum alloc_state)99;
                assert_int_equal(alloc_state_from_name(states[i], &s), 0);
                assert_int_equal(s, i);
        }
        assert_null(alloc_state_name((enum alloc_state)4));
        s = (enum alloc_state)99;
        assert_int_equal(alloc_state_from_name("Active", &s), -EINVAL);
        assert_int_equal(alloc_state_from_name("", &s), -EINVAL);
        assert_int_equal(alloc_state_from_name(NULL, &s), -EINVAL);
        assert_int_equal(s, 99);
}

static void test_slot_name_cmp(_unused_ void **state)
{
        static const struct {
                const char *a, *b;
                int want;
        } cases[] = {
            {"2", "10", -1},  {"10", "2", 1},      {"1.6", "1.10", -1},    {"1.2", "1.10", -1},
            {"1.6", "2", -1}, {"2", "1.6", 1},     {"1", "1.0", -1},       {"1.0", "1", 1},
            {"0", "0", 0},    {"12.3", "12.3", 0}, {"9.9", "10.0", -1},    {"4294967295", "0", 1},
            {"1", "x", -1},   {"x", "1", 1},       {"01", "1", 1},         {"a", "b", -1},
            {"b", "a", 1},    {"1.", "1", 1},      {"4294967296", "9", 1}, {"", "0", 1},
            {NULL, "0", 1},   {"zz", NULL, -1},    {NULL, NULL, 0},        {"1.2.3", "1.2", 1},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = alloc_slot_name_cmp(cases[i].a, cases[i].b);
                if (r != cases[i].want)
                        fail_msg("cmp(%s, %s) = %d, want %d", cases[i].a ? cases[i].a : "NULL",
                                 cases[i].b ? cases[i].b : "NULL", r, cases[i].want);
        }
}

static void test_hold_seconds(_unused_ void **state)
{
        assert_int_equal(alloc_hold_seconds("orchestration", 3600), 0);
        assert_int_equal(alloc_hold_seconds("api", 3600), 0);
        assert_int_equal(alloc_hold_seconds("atomic", 3600), 3600);
        assert_int_equal(alloc_hold_seconds("docker", 7200), 7200);
        assert_int_equal(alloc_hold_seconds("API", 60), 60);
        assert_int_equal(alloc_hold_seconds("apis", 60), 60);
        assert_int_equal(alloc_hold_seconds(NULL, 60), 60);
        assert_int_equal(alloc_hold_seconds("atomic", INT64_MAX), INT64_MAX);
        assert_int_equal(alloc_hold_seconds("atomic", -5), 0);
        assert_int_equal(alloc_hold_seconds("api", INT64_MAX), 0);
}

/* ---- queue ---- */

static void test_queue_order(_unused_ void **state)
{
        struct alloc_queue_entry e[] = {
            {.id = 1, .user = "a", .priority = 10, .decayed_usage = 5.0, .arrival = 100},
            {.id = 2, .user = "b", .priority = 50, .decayed_usage = 9.0, .arrival = 300},
            {.id = 3, .user = "c", .priority = 10, .decayed_usage = 1.0, .arrival = 200},
            {.id = 4, .user = "d", .priority = 10, .decayed_usage = 1.0, .arrival = 150},
            {.id = 5, .user = "e", .priority = 0, .decayed_usage = 0.0, .arrival = 1},
            {.id = 7, .user = "f", .priority = 10, .decayed_usage = 1.0, .arrival = 150},
            {.id = 6, .user = "g", .priority = 10, .decayed_usage = 1.0, .arrival = 150},
            {.id = 8, .user = "h", .priority = 10, .decayed_usage = NAN, .arrival = 0},
            {.id = 9, .user = "i", .priority = 50, .decayed_usage = 9.0, .arrival = 299},
        };
        static const int64_t want[] = {9, 2, 4, 6, 7, 3, 1, 8, 5};

        alloc_queue_sort(e, ELEMENTSOF(e));
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                assert_int_equal(e[i].id, want[i]);
        /* a total order: antisymmetric, reflexive zero */
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                for (size_t j = 0; j < ELEMENTSOF(e); j++) {
                        int ab = alloc_queue_cmp(&e[i], &e[j]), ba = alloc_queue_cmp(&e[j], &e[i]);
                        assert_int_equal(ab<0, ba> 0);
                        assert_int_equal(ab == 0, i == j);
                        assert_int_equal(ab < 0, i < j);
                }
        alloc_queue_sort(NULL, 3);
        alloc_queue_sort(e, 0);
}

static void test_decayed_usage(_unused_ void **state)
{
        static const struct {
                struct alloc_usage u[3];
                size_t n;
                int64_t half, window;
                double want;
        } cases[] = {
            {{{NOW, 3600}}, 1, DAY, WEEK, 1.0},
            {{{NOW - DAY, 3600}}, 1, DAY, WEEK, 0.5},
            {{{NOW - 2 * DAY, 7200}}, 1, DAY, WEEK, 0.5},
            {{{NOW - 12 * HOUR, 3600}}, 1, DAY, WEEK, 0.70710678118654752},
            {{{NOW - HOUR, 3600}}, 1, HOUR, WEEK, 0.5}, /* half-life 1 h */
            /* window: the boundary is in, older is out, the future is out */
            {{{NOW - WEEK, 3600}}, 1, 0, WEEK, 1.0},
            {{{NOW - WEEK - 1, 3600}}, 1, 0, WEEK, 0},
            {{{NOW + 1, 3600}}, 1, 0, WEEK, 0},
            /* no decay when half_life <= 0 */
            {{{NOW - 3 * DAY, 3600}, {NOW, 1800}}, 2, 0, WEEK, 1.5},
            {{{NOW - 3 * DAY, 3600}, {NOW, 1800}}, 2, -1, WEEK, 1.5},
            /* a sum; one sample out of the window, one not finite */
            {{{NOW, 3600}, {NOW - DAY, 7200}, {NOW - 8 * DAY, 3600}}, 3, DAY, WEEK, 2.0},
            {{{NOW, INFINITY}, {NOW, 3600}}, 2, DAY, WEEK, 1.0},
            {{{INT64_MIN, 3600}}, 1, DAY, INT64_MAX, 0},
            {{{NOW, 3600}}, 0, DAY, WEEK, 0},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double got = alloc_decayed_gpu_hours(cases[i].u, cases[i].n, NOW, cases[i].half,
                                                     cases[i].window);
                if (fabs(got - cases[i].want) > 1e-12)
                        fail_msg("case %zu: %.15f, want %.15f", i, got, cases[i].want);
        }
        assert_true(alloc_decayed_gpu_hours(NULL, 5, NOW, DAY, WEEK) == 0);
        /* an older sample weighs less */
        struct alloc_usage a = {NOW - DAY, 3600}, b = {NOW - 2 * DAY, 3600};
        assert_true(alloc_decayed_gpu_hours(&a, 1, NOW, DAY, WEEK) >
                    alloc_decayed_gpu_hours(&b, 1, NOW, DAY, WEEK));
}

/* ---- randomized property run ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned pick(unsigned n)
{
        return n ? (unsigned)(rng() % n) : 0;
}

#define N_USERS      4
#define N_CONTAINERS 16
#define MAX_HOLDS    256

static const char *const users[N_USERS] = {"u0", "u1", "u2", "u3"};
static const char *const groups[N_USERS] = {"g0", "g0", "g1", "g1"};
static const char *const containers[N_CONTAINERS] = {
    "k0", "k1", "k2",  "k3",  "k4",  "k5",  "k6",  "k7",
    "k8", "k9", "k10", "k11", "k12", "k13", "k14", "k15",
};

struct sim {
        struct topology t;
        struct alloc_holding h[MAX_HOLDS];
        size_t nh;
        struct alloc_reservation res;
        size_t res_slots[TOPO_MAX];
        bool has_res;
        struct alloc_limits lim;
};

static bool sim_reserved_for_other(const struct sim *s, size_t slot, const struct alloc_request *r)
{
        const struct alloc_reservation *res = &s->res;

        if (!s->has_res || !(res->start <= r->now && r->now < res->end))
                return false;
        if ((res->user && strcmp(res->user, r->user) == 0) ||
            (res->group && strcmp(res->group, r->group) == 0))
                return false;
        for (size_t i = 0; i < res->n_slots; i++)
                if (res->slots[i] == slot)
                        return true;
        return false;
}

static void sim_check_invariants(const struct sim *s)
{
        double per_user[N_USERS] = {};
        unsigned holders[TOPO_MAX] = {};

        for (size_t i = 0; i < s->nh; i++) {
                const struct alloc_holding *h = &s->h[i];
                if (h->state == REL)
                        continue;
                holders[h->slot]++;
                for (int u = 0; u < N_USERS; u++)
                        if (strcmp(h->user, users[u]) == 0)
                                per_user[u] += s->t.slots[h->slot].weight;
        }
        for (size_t i = 0; i < s->t.n; i++)
                assert_true(holders[i] <= 1);
        for (int u = 0; u < N_USERS; u++) {
                assert_true(per_user[u] <= s->lim.gpu_limit + ALLOC_EPSILON);
                assert_true(per_user[u] <= s->lim.max_gpu_equivalents + ALLOC_EPSILON);
        }
}

static enum alloc_code sim_request(struct sim *s, int64_t now)
{
        static const int counts[] = {1, 1, 1, 1, 2, 3, 7, ALL, ALL, 0};
        unsigned k = pick(N_CONTAINERS);
        unsigned u = pick(20) == 0 ? pick(N_USERS) : k % N_USERS; /* sometimes the wrong owner */
        struct alloc_request req = {
            .user = users[u],
            .group = groups[u],
            .container = containers[k],
            .count = counts[pick(ELEMENTSOF(counts))],
            .full = pick(8) == 0,
            .now = now,
        };
        bool others[N_CONTAINERS] = {};
        struct alloc_result a, b;

        for (size_t i = 0; i < s->nh; i++)
                if (s->h[i].state != REL && strcmp(s->h[i].user, req.user) == 0 &&
                    strcmp(s->h[i].container, req.container) != 0)
                        for (int c = 0; c < N_CONTAINERS; c++)
                                if (strcmp(s->h[i].container, containers[c]) == 0)
                                        others[c] = true;
        for (int c = 0; c < N_CONTAINERS; c++)
                req.user_containers += others[c];

        struct alloc_input in = {
            .slots = s->t.slots,
            .n_slots = s->t.n,
            .holdings = s->h,
            .n_holdings = s->nh,
            .reservations = &s->res,
            .n_reservations = s->has_res,
            .limits = s->lim,
            .request = req,
        };
        assert_int_equal(alloc_decide(&in, &a), 0);
        assert_non_null(alloc_code_name(a.code));
        /* deterministic */
        assert_int_equal(alloc_decide(&in, &b), 0);
        assert_int_equal(a.code, b.code);
        assert_int_equal(a.n_slots, b.n_slots);
        for (size_t i = 0; i < a.n_slots; i++)
                assert_int_equal(a.slots[i], b.slots[i]);
        assert_string_equal(a.reason, b.reason);

        if (a.code != ALLOC_OK) {
                assert_true(strlen(a.reason) > 0);
                assert_int_equal(a.n_slots, 0);
                return a.code;
        }
        assert_string_equal(a.reason, "");
        assert_true(a.n_slots >= 1);
        if (s->lim.max_slots_per_container >= 0 && !a.existing)
                assert_true(a.n_slots <= (size_t)s->lim.max_slots_per_container);
        if (a.existing) {
                size_t mine = 0;
                for (size_t i = 0; i < s->nh; i++)
                        if (s->h[i].state != REL && strcmp(s->h[i].container, req.container) == 0) {
                                assert_string_equal(s->h[i].user, req.user);
                                mine++;
                        }
                assert_int_equal(mine, a.n_slots);
                return a.code;
        }
        if (req.count != ALL)
                assert_int_equal(a.n_slots, req.count);
        assert_true(a.held + a.weight <=
                    fmin(s->lim.gpu_limit, s->lim.max_gpu_equivalents) + ALLOC_EPSILON);
        for (size_t i = 0; i < a.n_slots; i++) {
                size_t slot = a.slots[i];
                const struct alloc_slot *sl = &s->t.slots[slot];
                assert_true(slot < s->t.n);
                assert_true(sl->healthy && !sl->foreign_process);
                assert_false(sim_reserved_for_other(s, slot, &req));
                for (size_t j = 0; j < i; j++)
                        assert_true(a.slots[j] != slot);
                for (size_t j = 0; j < s->nh; j++)
                        assert_false(s->h[j].state != REL && s->h[j].slot == slot);
                /* several slots are all MIG or all full */
                assert_int_equal(sl->mig, s->t.slots[a.slots[0]].mig);
                if (!sl->mig)
                        assert_true(s->lim.allow_full_gpu);
        }
        if (a.n_slots > 1 && s->t.slots[a.slots[0]].mig)
                assert_true(s->lim.allow_multi_mig);
        for (size_t i = 0; i < a.n_slots; i++) {
                assert_true(s->nh < MAX_HOLDS);
                s->h[s->nh++] = (struct alloc_holding){
                    .slot = a.slots[i],
                    .container = req.container,
                    .user = req.user,
                    .state = pick(2) ? ACT : PEND,
                };
        }
        return a.code;
}

/* Stop (hold), release or remove one container's slots. */
static void sim_stop(struct sim *s)
{
        const char *c = containers[pick(N_CONTAINERS)];
        unsigned how = pick(3);
        size_t n = 0;

        for (size_t i = 0; i < s->nh; i++) {
                struct alloc_holding *h = &s->h[i];
                if (strcmp(h->container, c) == 0 && h->state != REL) {
                        if (how == 0)
                                h->state = HELD;
                        else if (how == 1)
                                h->state = REL;
                        else
                                continue; /* removed */
                }
                s->h[n++] = *h;
        }
        s->nh = n;
        /* keep room: forget released history */
        if (s->nh > MAX_HOLDS / 2) {
                n = 0;
                for (size_t i = 0; i < s->nh; i++)
                        if (s->h[i].state != REL)
                                s->h[n++] = s->h[i];
                s->nh = n;
        }
}

static void sim_run(enum topo topo, unsigned sequences, uint64_t seed)
{
        static const double gl[] = {INF, INF, 0.5, 1, 2, 3.0 / 7};
        static const double eq[] = {INF, 1.0 / 7, 2.0 / 7, 1, 1, 2};
        static const long long caps[] = {-1, 0, 1, 1, 2, 7};
        static const long long maxc[] = {-1, 1, 3, 3};
        static struct sim s; /* large: not on the stack */
        unsigned seen[_ALLOC_CODE_MAX] = {};

        rng_state = seed;
        for (unsigned q = 0; q < sequences; q++) {
                int64_t now = NOW;

                memset(&s, 0, sizeof(s));
                topo_build(&s.t, topo);
                s.lim = (struct alloc_limits){
                    .gpu_limit = gl[pick(ELEMENTSOF(gl))],
                    .max_gpu_equivalents = eq[pick(ELEMENTSOF(eq))],
                    .max_slots_per_container = caps[pick(ELEMENTSOF(caps))],
                    .allow_full_gpu = pick(2),
                    .max_containers = maxc[pick(ELEMENTSOF(maxc))],
                    .allow_multi_mig = pick(2),
                };
                if (pick(2)) {
                        unsigned who = pick(N_USERS);
                        s.has_res = true;
                        s.res = (struct alloc_reservation){
                            .user = pick(2) ? users[who] : NULL,
                            .start = NOW + (int64_t)pick(40) * 10,
                            .slots = s.res_slots,
                        };
                        if (!s.res.user)
                                s.res.group = groups[who];
                        s.res.end = s.res.start + (int64_t)pick(40) * 10;
                        for (size_t i = 0; i < s.t.n; i++)
                                if (pick(4) == 0)
                                        s.res_slots[s.res.n_slots++] = i;
                }
                for (int step = 0; step < 40; step++) {
                        unsigned op = pick(10);
                        now += 10;
                        if (op < 6) {
                                seen[sim_request(&s, now)]++;
                        } else if (op < 8) {
                                sim_stop(&s);
                        } else if (op < 9) {
                                struct alloc_slot *sl = &s.t.slots[pick((unsigned)s.t.n)];
                                sl->healthy = !sl->healthy;
                        } else {
                                struct alloc_slot *sl = &s.t.slots[pick((unsigned)s.t.n)];
                                sl->foreign_process = !sl->foreign_process;
                        }
                        sim_check_invariants(&s);
                }
        }
        /* the run went through grants and the common refusals */
        for (int c = 0; c < _ALLOC_CODE_MAX; c++)
                print_message("%s: %s %u\n", topo == T_H100 ? "h100" : "a100",
                              alloc_code_name((enum alloc_code)c), seen[c]);
        assert_true(seen[ALLOC_OK] > sequences);
        assert_true(seen[ALLOC_NO_CAPACITY] > 0);
        assert_true(seen[ALLOC_USER_AT_LIMIT] > 0);
        assert_true(seen[ALLOC_EXCEEDS_CONTAINER_LIMIT] > 0);
        assert_true(seen[ALLOC_INVALID_REQUEST] > 0);
}

static void test_property_h100(_unused_ void **state)
{
        sim_run(T_H100, 2000, 0x9e3779b97f4a7c15ULL);
}

static void test_property_a100(_unused_ void **state)
{
        sim_run(T_A100, 500, 0xd1b54a32d192ed03ULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_decide_table),  cmocka_unit_test(test_table_covers_codes),
            cmocka_unit_test(test_decide_einval), cmocka_unit_test(test_names),
            cmocka_unit_test(test_slot_name_cmp), cmocka_unit_test(test_hold_seconds),
            cmocka_unit_test(test_queue_order),   cmocka_unit_test(test_decayed_usage),
            cmocka_unit_test(test_property_h100), cmocka_unit_test(test_property_a100),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
