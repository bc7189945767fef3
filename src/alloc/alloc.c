/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - GPU allocation decisions: which slots a container gets, or why
 * not, out of plain structs (the slots, the allocations in force, the
 * reservations, the user's resolved limits and the request). Pure: no I/O,
 * no clock, no heap; every table is a fixed array bounded by ALLOC_MAX_SLOTS.
 * Also the small policies around it: how long a stopped container keeps its
 * slots, the queue order and the decayed usage that feeds it. The rules are
 * in alloc.h; the choices this file makes beyond them are listed at
 * alloc_decide().
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "util/macro.h"
#include "util/strutil.h"

/* ---- names ---- */

static const char *const code_names[_ALLOC_CODE_MAX] = {
    [ALLOC_OK] = "OK",
    [ALLOC_USER_AT_LIMIT] = "USER_AT_LIMIT",
    [ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED] = "AGGREGATE_GPU_QUOTA_EXCEEDED",
    [ALLOC_EXCEEDS_CONTAINER_LIMIT] = "EXCEEDS_CONTAINER_LIMIT",
    [ALLOC_FULL_GPU_NOT_ALLOWED] = "FULL_GPU_NOT_ALLOWED",
    [ALLOC_CONTAINER_LIMIT] = "CONTAINER_LIMIT",
    [ALLOC_NO_CAPACITY] = "NO_CAPACITY",
    [ALLOC_INVALID_REQUEST] = "INVALID_REQUEST",
};

static const char *const state_names[] = {
    [ALLOC_STATE_PENDING] = "pending",
    [ALLOC_STATE_ACTIVE] = "active",
    [ALLOC_STATE_HELD] = "held",
    [ALLOC_STATE_RELEASED] = "released",
};

/* NULL for a value outside the enum. */
const char *alloc_code_name(enum alloc_code code)
{
        if ((unsigned)code >= ELEMENTSOF(code_names))
                return NULL;
        return code_names[code];
}

/* NULL for a value outside the enum. */
const char *alloc_state_name(enum alloc_state s)
{
        if ((unsigned)s >= ELEMENTSOF(state_names))
                return NULL;
        return state_names[s];
}

int alloc_state_from_name(const char *s, enum alloc_state *ret)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(state_names); i++)
                if (streq(s, state_names[i])) {
                        *ret = (enum alloc_state)i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- numeric slot order ---- */

/* A slot name read for ordering: "N" (mig = -1) or "N.D", decimal, no sign,
 * no leading zeros except "0", each part at most 4294967295 (the names
 * gpu_slot_format writes). Names that do not parse keep only the string. */
struct name_key {
        bool ok;
        uint32_t gpu;
        int64_t mig;
        const char *name;
};

/* A decimal part; advances *p. */
static bool parse_part(const char **p, uint32_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return false;
        if (*s == '0' && s[1] >= '0' && s[1] <= '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > UINT32_MAX)
                        return false;
        }
        *ret = (uint32_t)v;
        *p = s;
        return true;
}

static struct name_key name_key_make(const char *name)
{
        struct name_key k = {.name = name, .mig = -1};
        const char *p = name;
        uint32_t gpu, mig;

        if (!p || !parse_part(&p, &gpu))
                return k;
        if (*p == '.') {
                p++;
                if (!parse_part(&p, &mig))
                        return k;
                k.mig = mig;
        }
        if (*p != '\0')
                return k;
        k.ok = true;
        k.gpu = gpu;
        return k;
}

static int name_key_cmp(const struct name_key *a, const struct name_key *b)
{
        if (a->ok && b->ok) {
                if (a->gpu != b->gpu)
                        return a->gpu < b->gpu ? -1 : 1;
                if (a->mig != b->mig)
                        return a->mig < b->mig ? -1 : 1;
                return 0; /* canonical names: equal numbers, equal strings */
        }
        if (a->ok != b->ok)
                return a->ok ? -1 : 1;
        /* neither parses: by strcmp, NULL last */
        if (!a->name || !b->name)
                return !a->name - !b->name;
        return strcmp(a->name, b->name);
}

int alloc_slot_name_cmp(const char *a, const char *b)
{
        struct name_key ka = name_key_make(a), kb = name_key_make(b);
        int r = name_key_cmp(&ka, &kb);

        return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/* ---- the decision ---- */

enum kind {
        KIND_MIG,
        KIND_FULL,
        _KIND_MAX,
};

/* A free slot of one kind, with its sort key. */
struct cand {
        size_t idx;
        bool mine;   /* in an active reservation of the requester */
        bool packed; /* MIG: its GPU already has an allocated MIG slot */
        double use;  /* full: the GPU's recent use */
        struct name_key key;
};

/* Everything alloc_decide works out of the input; on the stack. */
struct work {
        const struct alloc_input *in;
        bool taken[ALLOC_MAX_SLOTS];   /* held by an allocation in force */
        bool user[ALLOC_MAX_SLOTS];    /* ... of the requesting user */
        bool own[ALLOC_MAX_SLOTS];     /* ... for the requested container */
        bool blocked[ALLOC_MAX_SLOTS]; /* in an active reservation of another user or group */
        bool mine[ALLOC_MAX_SLOTS];    /* in an active reservation of the requester */
        bool conflict;                 /* the container holds slots of another user */
        size_t n_kind[_KIND_MAX];      /* slots of each kind in the topology */
        double lightest[_KIND_MAX];    /* the lightest healthy one, or any when none is */
        struct cand cand[ALLOC_MAX_SLOTS];
        size_t n_cand;
};

static enum kind slot_kind(const struct alloc_slot *s)
{
        return s->mig ? KIND_MIG : KIND_FULL;
}

static bool in_force(const struct alloc_holding *h)
{
        return h->state != ALLOC_STATE_RELEASED;
}

static bool reservation_active(const struct alloc_reservation *r, int64_t now)
{
        return r->start <= now && now < r->end;
}

static bool reservation_for(const struct alloc_reservation *r, const struct alloc_request *req)
{
        if (r->user && streq(r->user, req->user))
                return true;
        return r->group && req->group && streq(r->group, req->group);
}

/* -EINVAL for input the caller should never build; request mistakes are
 * answered with ALLOC_INVALID_REQUEST instead. */
static int validate(const struct alloc_input *in)
{
        if (in->n_slots > ALLOC_MAX_SLOTS || (in->n_slots > 0 && !in->slots))
                return -EINVAL;
        if ((in->n_holdings > 0 && !in->holdings) || (in->n_reservations > 0 && !in->reservations))
                return -EINVAL;
        for (size_t i = 0; i < in->n_slots; i++) {
                const struct alloc_slot *s = &in->slots[i];
                if (!s->name || !isfinite(s->weight) || s->weight <= 0 || isnan(s->gpu_recent_use))
                        return -EINVAL;
        }
        for (size_t i = 0; i < in->n_holdings; i++) {
                const struct alloc_holding *h = &in->holdings[i];
                if (h->slot >= in->n_slots || !h->container || !h->user ||
                    (unsigned)h->state > ALLOC_STATE_RELEASED)
                        return -EINVAL;
        }
        for (size_t i = 0; i < in->n_reservations; i++) {
                const struct alloc_reservation *r = &in->reservations[i];
                if ((!r->user && !r->group) || (r->n_slots > 0 && !r->slots))
                        return -EINVAL;
                for (size_t j = 0; j < r->n_slots; j++)
                        if (r->slots[j] >= in->n_slots)
                                return -EINVAL;
        }
        if (isnan(in->limits.gpu_limit) || isnan(in->limits.max_gpu_equivalents))
                return -EINVAL;
        return 0;
}

static void survey(struct work *w)
{
        const struct alloc_input *in = w->in;
        const struct alloc_request *req = &in->request;
        bool any_healthy[_KIND_MAX] = {};

        for (size_t i = 0; i < in->n_holdings; i++) {
                const struct alloc_holding *h = &in->holdings[i];
                if (!in_force(h))
                        continue;
                w->taken[h->slot] = true;
                bool users = streq(h->user, req->user);
                if (users)
                        w->user[h->slot] = true;
                if (streq(h->container, req->container)) {
                        if (users)
                                w->own[h->slot] = true;
                        else
                                w->conflict = true;
                }
        }
        for (size_t i = 0; i < in->n_reservations; i++) {
                const struct alloc_reservation *r = &in->reservations[i];
                if (!reservation_active(r, req->now))
                        continue;
                bool ours = reservation_for(r, req);
                for (size_t j = 0; j < r->n_slots; j++) {
                        if (ours)
                                w->mine[r->slots[j]] = true;
                        else
                                w->blocked[r->slots[j]] = true;
                }
        }
        for (size_t k = 0; k < _KIND_MAX; k++)
                w->lightest[k] = INFINITY;
        for (size_t i = 0; i < in->n_slots; i++) {
                const struct alloc_slot *s = &in->slots[i];
                enum kind k = slot_kind(s);
                w->n_kind[k]++;
                /* the lightest healthy slot; the lightest of all while none is */
                if (s->healthy && !any_healthy[k]) {
                        any_healthy[k] = true;
                        w->lightest[k] = s->weight;
                } else if (s->healthy || !any_healthy[k])
                        w->lightest[k] = MIN(w->lightest[k], s->weight);
        }
}

static bool slot_free(const struct work *w, size_t i)
{
        const struct alloc_slot *s = &w->in->slots[i];

        return s->healthy && !s->foreign_process && !w->taken[i] && !w->blocked[i];
}

/* Total order: reserved for the requester first; MIG: slots on GPUs that
 * already have an allocated MIG slot; full: the least recent use; then
 * numeric slot order, then the index. */
static int cand_cmp(const void *pa, const void *pb)
{
        const struct cand *a = pa, *b = pb;
        int r;

        if (a->mine != b->mine)
                return a->mine ? -1 : 1;
        if (a->packed != b->packed)
                return a->packed ? -1 : 1;
        if (a->use != b->use)
                return a->use < b->use ? -1 : 1;
        r = name_key_cmp(&a->key, &b->key);
        if (r != 0)
                return r;
        return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

/* The free slots of one kind, best first. */
static void candidates(struct work *w, enum kind k)
{
        const struct alloc_input *in = w->in;

        w->n_cand = 0;
        for (size_t i = 0; i < in->n_slots; i++) {
                const struct alloc_slot *s = &in->slots[i];
                if (slot_kind(s) != k || !slot_free(w, i))
                        continue;
                struct cand *c = &w->cand[w->n_cand++];
                *c = (struct cand){
                    .idx = i,
                    .mine = w->mine[i],
                    .use = k == KIND_FULL ? s->gpu_recent_use : 0,
                    .key = name_key_make(s->name),
                };
                if (k != KIND_MIG)
                        continue;
                for (size_t j = 0; j < in->n_slots && !c->packed; j++)
                        c->packed = w->taken[j] && in->slots[j].mig && in->slots[j].gpu == s->gpu;
        }
        qsort(w->cand, w->n_cand, sizeof(w->cand[0]), cand_cmp);
}

static void _printf_(3, 4)
    refuse(struct alloc_result *ret, enum alloc_code code, const char *fmt, ...)
{
        va_list ap;

        ret->code = code;
        ret->n_slots = 0;
        ret->weight = 0;
        va_start(ap, fmt);
        (void)vsnprintf(ret->reason, sizeof(ret->reason), fmt, ap);
        va_end(ap);
}

static const char *plural(long long n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

/* "full GPUs", "MIG slot", ... for the kinds a request may be served with. */
static const char *kinds_noun(const bool kinds[_KIND_MAX], long long n)
{
        if (kinds[KIND_MIG] && kinds[KIND_FULL])
                return plural(n, "GPU slot", "GPU slots of one kind");
        if (kinds[KIND_FULL])
                return plural(n, "full GPU", "full GPUs");
        return plural(n, "MIG slot", "MIG slots");
}

/* The slots the container already holds, in numeric order. */
static void give_existing(struct work *w, struct alloc_result *ret)
{
        const struct alloc_input *in = w->in;
        struct cand *c = w->cand;
        size_t n = 0;

        for (size_t i = 0; i < in->n_slots; i++)
                if (w->own[i])
                        c[n++] = (struct cand){.idx = i, .key = name_key_make(in->slots[i].name)};
        qsort(c, n, sizeof(c[0]), cand_cmp);
        ret->code = ALLOC_OK;
        ret->existing = true;
        for (size_t i = 0; i < n; i++) {
                ret->slots[i] = c[i].idx;
                ret->weight += in->slots[c[i].idx].weight;
        }
        ret->n_slots = n;
}

/*
 * Choices beyond alloc.h:
 * - Malformed input (-EINVAL, *ret untouched): n_slots > ALLOC_MAX_SLOTS, a
 *   NULL array with a count, a slot without a name, with a weight that is not
 *   finite and positive or a NaN recent use, a holding past the slots or
 *   without container or user, a reservation with neither user nor group or
 *   a slot past the slots, NaN limits.
 * - Order of the checks: request shape (INVALID_REQUEST), the container's own
 *   slots (idempotence; another user's → INVALID_REQUEST), CONTAINER_LIMIT,
 *   EXCEEDS_CONTAINER_LIMIT, FULL_GPU_NOT_ALLOWED, the topology, the quota
 *   (aggregate first), then the choice (NO_CAPACITY).
 * - A request the topology can never serve (more slots of a kind than the
 *   server has, healthy or not, or a kind it has none of) is
 *   INVALID_REQUEST, not NO_CAPACITY: queueing would wait forever.
 * - Several slots are all MIG or all full, never mixed. An explicit count
 *   with allow_multi_mig tries MIG slots first, then full GPUs (if allowed);
 *   ALLOC_COUNT_ALL takes full GPUs when allowed and one fits, else MIG slots
 *   (as many as fit with allow_multi_mig, else one).
 * - Slots are taken in preference order, skipping any that would take the
 *   user past the tighter limit; an explicit count is served only whole.
 * - A slot inside active reservations of both the requester and someone
 *   else is not free.
 */
int alloc_decide(const struct alloc_input *in, struct alloc_result *ret)
{
        struct work w = {.in = in};
        const struct alloc_request *req;
        const struct alloc_limits *lim;
        bool kinds[_KIND_MAX] = {};
        enum kind order[_KIND_MAX];
        size_t want[_KIND_MAX] = {}, n_order = 0, needed, most = 0;
        double held = 0, least = INFINITY, need, limit;
        char scope[128];
        int r;

        if (!in || !ret)
                return -EINVAL;
        r = validate(in);
        if (r < 0)
                return r;
        req = &in->request;
        lim = &in->limits;

        memset(ret, 0, sizeof(*ret));
        limit = fmin(lim->gpu_limit, lim->max_gpu_equivalents);
        ret->limit = limit;

        if (isempty(req->container)) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "no container named in the request; name the container that needs GPUs");
                return 0;
        }
        if (isempty(req->user)) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "no user named in the request for container %.100s", req->container);
                return 0;
        }
        if (req->count == 0 || req->count < ALLOC_COUNT_ALL) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "%d is not a number of GPUs; ask for 1 or more, or all", req->count);
                return 0;
        }

        survey(&w);
        for (size_t i = 0; i < in->n_slots; i++)
                if (w.user[i] && !w.own[i])
                        held += in->slots[i].weight;
        ret->held = held;

        if (w.conflict) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "container %.100s already holds GPUs of another user; choose another name",
                       req->container);
                return 0;
        }
        for (size_t i = 0; i < in->n_slots; i++)
                if (w.own[i]) {
                        give_existing(&w, ret);
                        return 0;
                }

        if (lim->max_containers >= 0 && req->user_containers >= lim->max_containers) {
                refuse(ret, ALLOC_CONTAINER_LIMIT,
                       "you have %lld of %lld %s (max_containers_per_user); remove one first",
                       req->user_containers, lim->max_containers,
                       plural(lim->max_containers, "container", "containers"));
                return 0;
        }

        if (lim->max_slots_per_container == 0) {
                refuse(ret, ALLOC_EXCEEDS_CONTAINER_LIMIT,
                       "your containers may have no GPU slot (max_gpu_slots_per_container: 0); "
                       "start it without GPUs");
                return 0;
        }
        if (lim->max_slots_per_container > 0 && req->count > lim->max_slots_per_container) {
                refuse(ret, ALLOC_EXCEEDS_CONTAINER_LIMIT,
                       "this container may have at most %lld GPU %s "
                       "(max_gpu_slots_per_container); ask for fewer",
                       lim->max_slots_per_container,
                       plural(lim->max_slots_per_container, "slot", "slots"));
                return 0;
        }

        /* The kinds to try, in order, and how many of each. */
        size_t cap = lim->max_slots_per_container > 0 ? (size_t)lim->max_slots_per_container
                                                      : (size_t)ALLOC_MAX_SLOTS;
        if (req->full) {
                if (!lim->allow_full_gpu) {
                        refuse(ret, ALLOC_FULL_GPU_NOT_ALLOWED,
                               "your group may not use full GPUs (allow_full_gpu: false); "
                               "ask for one MIG slot");
                        return 0;
                }
                order[n_order++] = KIND_FULL;
        } else if (req->count == 1 || (req->count > 1 && lim->allow_multi_mig)) {
                order[n_order++] = KIND_MIG;
                if (lim->allow_full_gpu)
                        order[n_order++] = KIND_FULL;
        } else if (req->count > 1) {
                if (!lim->allow_full_gpu) {
                        refuse(ret, ALLOC_FULL_GPU_NOT_ALLOWED,
                               "a container sees only one MIG device, so several GPUs need full "
                               "GPUs, which your group may not use; ask for one MIG slot");
                        return 0;
                }
                order[n_order++] = KIND_FULL;
        } else {
                if (lim->allow_full_gpu)
                        order[n_order++] = KIND_FULL;
                order[n_order++] = KIND_MIG;
        }
        for (size_t i = 0; i < n_order; i++) {
                kinds[order[i]] = true;
                if (req->count != ALLOC_COUNT_ALL)
                        want[order[i]] = (size_t)req->count;
                else if (order[i] == KIND_MIG && !lim->allow_multi_mig)
                        want[order[i]] = 1;
                else
                        want[order[i]] = cap;
        }

        /* What the topology can ever offer, and the lightest way to serve it. */
        needed = req->count == ALLOC_COUNT_ALL ? 1 : (size_t)req->count;
        for (size_t i = 0; i < n_order; i++) {
                most = MAX(most, w.n_kind[order[i]]);
                if (w.n_kind[order[i]] >= needed)
                        least = MIN(least, w.lightest[order[i]]);
        }
        if (most == 0) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "this server has no %s you may use; see what it has with ds01 gpu list",
                       kinds_noun(kinds, 1));
                return 0;
        }
        if (most < needed) {
                refuse(ret, ALLOC_INVALID_REQUEST,
                       "this server has only %zu %s you may use; ask for at most %zu", most,
                       kinds_noun(kinds, (long long)most), most);
                return 0;
        }

        need = (double)needed * least;
        for (int layer = 0; layer < 2; layer++) {
                double l = layer == 0 ? lim->gpu_limit : lim->max_gpu_equivalents;
                const char *key = layer == 0 ? "aggregate.gpu_limit" : "max_gpu_equivalents";
                enum alloc_code code =
                    layer == 0 ? ALLOC_AGGREGATE_GPU_QUOTA_EXCEEDED : ALLOC_USER_AT_LIMIT;

                if (held + need <= l + ALLOC_EPSILON)
                        continue;
                if (!isempty(req->group))
                        (void)snprintf(scope, sizeof(scope), "%s, group %.64s", key, req->group);
                else
                        (void)snprintf(scope, sizeof(scope), "%s", key);
                if (held + ALLOC_EPSILON >= l)
                        refuse(ret, code,
                               "you hold %.3f of your %.3f GPU-equivalents (%s); "
                               "release a GPU first (ds01 gpu user-status)",
                               held, l, scope);
                else
                        refuse(ret, code,
                               "your request needs at least %.3f GPU-equivalents and you hold "
                               "%.3f of your %.3f (%s); ask for less or release a GPU first "
                               "(ds01 gpu user-status)",
                               need, held, l, scope);
                return 0;
        }

        /* The choice: the first kind that serves the request. */
        for (size_t o = 0; o < n_order; o++) {
                enum kind k = order[o];
                double sum = 0;
                size_t n = 0;

                candidates(&w, k);
                for (size_t i = 0; i < w.n_cand && n < want[k]; i++) {
                        double wt = in->slots[w.cand[i].idx].weight;
                        if (held + sum + wt > limit + ALLOC_EPSILON)
                                continue;
                        ret->slots[n++] = w.cand[i].idx;
                        sum += wt;
                }
                if (n == 0 || (req->count != ALLOC_COUNT_ALL && n < (size_t)req->count))
                        continue;
                ret->code = ALLOC_OK;
                ret->n_slots = n;
                ret->weight = sum;
                return 0;
        }

        if (isfinite(limit))
                (void)snprintf(scope, sizeof(scope), ", within your remaining %.3f GPU-equivalents",
                               limit - held);
        else
                scope[0] = '\0';
        if (req->count == ALLOC_COUNT_ALL)
                refuse(ret, ALLOC_NO_CAPACITY,
                       "no GPU slot free that fits your request (at least 1 %s%s); "
                       "try --wait to queue",
                       kinds[KIND_MIG] && kinds[KIND_FULL] ? "MIG slot or full GPU"
                                                           : kinds_noun(kinds, 1),
                       scope);
        else if (kinds[KIND_MIG] && kinds[KIND_FULL])
                refuse(ret, ALLOC_NO_CAPACITY,
                       "no GPU slot free that fits your request (%d %s or %d %s%s); "
                       "try --wait to queue",
                       req->count, plural(req->count, "MIG slot", "MIG slots"), req->count,
                       plural(req->count, "full GPU", "full GPUs"), scope);
        else
                refuse(ret, ALLOC_NO_CAPACITY,
                       "no GPU slot free that fits your request (%d %s%s); try --wait to queue",
                       req->count, kinds_noun(kinds, req->count), scope);
        return 0;
}

/* ---- holds ---- */

int64_t alloc_hold_seconds(const char *interface, int64_t gpu_hold_after_stop)
{
        if (interface && (streq(interface, "orchestration") || streq(interface, "api")))
                return 0;
        return MAX(gpu_hold_after_stop, (int64_t)0);
}

/* ---- queue ---- */

/* Ascending, NaN last (equal to another NaN), so the order stays total. */
static int double_cmp(double a, double b)
{
        if (isnan(a) || isnan(b))
                return isnan(a) - isnan(b);
        return a < b ? -1 : a > b ? 1 : 0;
}

int alloc_queue_cmp(const struct alloc_queue_entry *a, const struct alloc_queue_entry *b)
{
        int r;

        if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
        r = double_cmp(a->decayed_usage, b->decayed_usage);
        if (r != 0)
                return r;
        if (a->arrival != b->arrival)
                return a->arrival < b->arrival ? -1 : 1;
        if (a->id != b->id)
                return a->id < b->id ? -1 : 1;
        return 0;
}

static int queue_cmp_void(const void *a, const void *b)
{
        return alloc_queue_cmp(a, b);
}

void alloc_queue_sort(struct alloc_queue_entry *entries, size_t n)
{
        if (!entries || n < 2)
                return;
        qsort(entries, n, sizeof(entries[0]), queue_cmp_void);
}

/* Samples in the future, with a non-finite value or older than the window
 * are left out; a NULL array counts as empty. */
double alloc_decayed_gpu_hours(const struct alloc_usage *u, size_t n, int64_t now,
                               int64_t half_life, int64_t window)
{
        double sum = 0;

        if (!u)
                return 0;
        for (size_t i = 0; i < n; i++) {
                int64_t age;

                if (!isfinite(u[i].gpu_seconds) || u[i].time > now)
                        continue;
                if (__builtin_sub_overflow(now, u[i].time, &age) || age > window)
                        continue;
                double h = u[i].gpu_seconds / 3600.0;
                if (half_life > 0)
                        h *= exp2(-(double)age / (double)half_life);
                sum += h;
        }
        return sum;
}
