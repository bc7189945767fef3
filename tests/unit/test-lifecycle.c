/* test-lifecycle.c - unit tests for lifecycle/lifecycle: table-driven single
 * checks of lc_decide() (grace, each idle signal at and around its threshold,
 * the streak window, the 80/95 % warnings and the stop, keep-alive, cooldown,
 * exemptions, idle factor, no idle timeout, max runtime, restarts, removal of
 * created and stopped containers, scope), whole sequences of checks every
 * 60 s as ds01d makes them (including the keep-alive probe round trip), the
 * action names and user messages (exact texts and truncation), and the CPU
 * and counter helpers. Every expectation is an exact value; times are
 * relative to S = 2026-06-30 12:00:00 UTC. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle/lifecycle.h"

#define S ((int64_t)1782820800) /* 2026-06-30 12:00:00 UTC */
#define G (S + 1800)            /* end of the grace period */

/* Base policy: idle timeout 1h, grace 30m, window 3, cooldown 1h, keep-alive 24h. */
static struct lc_policy base_policy(void)
{
        return (struct lc_policy){
            .idle_timeout = 3600,
            .idle_factor = 1.0,
            .max_runtime = LC_NEVER,
            .sigterm_grace = 60,
            .container_hold_after_stop = LC_NEVER,
            .created_timeout = 1800,
            .grace_period = 1800,
            .keepalive_max = 86400,
            .notify_cooldown = 3600,
            .gpu_idle_threshold = 5.0,
            .cpu_idle_threshold = 2.0,
            .network_idle_threshold = 1048576,
            .idle_detection_window = 3,
        };
}

static void mod_half(struct lc_policy *p)
{
        p->idle_factor = 0.5;
}
static void mod_never_idle(struct lc_policy *p)
{
        p->idle_timeout = LC_NEVER;
}
static void mod_exempt_idle(struct lc_policy *p)
{
        p->exempt_idle = true;
}
static void mod_runtime(struct lc_policy *p)
{
        p->max_runtime = 36000;
}
static void mod_exempt_runtime(struct lc_policy *p)
{
        p->max_runtime = 36000;
        p->exempt_runtime = true;
}
static void mod_runtime_short(struct lc_policy *p)
{
        p->max_runtime = 6000;
}
static void mod_ka_never(struct lc_policy *p)
{
        p->keepalive_max = LC_NEVER;
}
static void mod_created_never(struct lc_policy *p)
{
        p->created_timeout = LC_NEVER;
}
static void mod_hold(struct lc_policy *p)
{
        p->container_hold_after_stop = 7200;
}
static void mod_exempt_all(struct lc_policy *p)
{
        p->exempt_all = true;
        p->exempt_reason = "ds01.protected";
}
static void mod_exempt_all_hold(struct lc_policy *p)
{
        mod_exempt_all(p);
        mod_hold(p);
}

/* Signals, positionally: gpu known, util, procs, cpu known, cpu %, net known,
 * bytes, keep-alive checked, keep-alive mtime. */
#define SIG(gk, gu, gp, ck, cp, nk, nb, kc, km)                                                    \
        {                                                                                          \
                gk, gu, gp, ck, cp, nk, nb, kc, km                                                 \
        }
#define SIG_IDLE       SIG(true, 1.0, false, true, 0.1, true, 0, true, 0)
#define SIG_BUSY       SIG(true, 50.0, false, true, 0.1, true, 0, true, 0)
#define SIG_IDLE_NOKA  SIG(true, 1.0, false, true, 0.1, true, 0, false, 0)
#define SIG_IDLE_KA(m) SIG(true, 1.0, false, true, 0.1, true, 0, true, m)

/* State: started, last_check, idle_since, streak, warned, last_sent[4]. */
#define ST(st, lc, is, sk, w, s0, s1, s2, s3)                                                      \
        {                                                                                          \
                st, lc, is, sk, w,                                                                 \
                {                                                                                  \
                        s0, s1, s2, s3                                                             \
                }                                                                                  \
        }

#define RUN                                                                                        \
        {                                                                                          \
                LC_RUNNING, S - 60, S, 0, true                                                     \
        }
#define I80      LC_W_IDLE_80
#define I95      LC_W_IDLE_95
#define R75      LC_W_RUNTIME_75
#define R90      LC_W_RUNTIME_90
#define IEX      LC_W_IDLE_EXEMPT
#define REX      LC_W_RUNTIME_EXEMPT
#define IDLE_WHY "gpu 1% < 5%, cpu 0.1% <= 2%, network 0 B <= 1048576 B"

struct expect {
        bool checked, idle, in_grace, need_keepalive;
        const char *why; /* exact; NULL: not compared */
        int64_t idle_for, idle_timeout, idle_stop_at, keepalive_until, runtime, runtime_stop_at,
            remove_at;
        size_t n;
        struct lc_action a[2];
        struct lc_state next;
};

struct dcase {
        const char *name;
        struct lc_container c;
        void (*mod)(struct lc_policy *p);
        struct lc_signals s;
        struct lc_state prev;
        int64_t now;
        struct expect e;
};

/* Fails naming the case and the field when got != want. */
#define CHECK_FIELD(name, got, want, fmt)                                                          \
        do {                                                                                       \
                if ((got) != (want))                                                               \
                        fail_msg("%s: %s = " fmt ", expected " fmt, (name), #got, (got), (want));  \
        } while (0)
#define CHECK_I64(name, got, want) CHECK_FIELD(name, (long long)(got), (long long)(want), "%lld")

static void check_state(const char *name, const struct lc_state *got, const struct lc_state *want)
{
        CHECK_I64(name, got->started, want->started);
        CHECK_I64(name, got->last_check, want->last_check);
        CHECK_I64(name, got->idle_since, want->idle_since);
        CHECK_I64(name, got->streak, want->streak);
        CHECK_FIELD(name, got->warned, want->warned, "%#x");
        for (int i = 0; i < LC_SLOT__MAX; i++)
                CHECK_I64(name, got->last_sent[i], want->last_sent[i]);
}

static void run_case(const struct dcase *k)
{
        struct lc_policy p = base_policy();
        struct lc_result r;
        const struct expect *e = &k->e;

        if (k->mod)
                k->mod(&p);
        memset(&r, 0x5a, sizeof(r));
        lc_decide(&k->c, &p, &k->s, &k->prev, k->now, &r);

        CHECK_FIELD(k->name, r.checked, e->checked, "%d");
        CHECK_FIELD(k->name, r.idle, e->idle, "%d");
        CHECK_FIELD(k->name, r.in_grace, e->in_grace, "%d");
        CHECK_FIELD(k->name, r.need_keepalive, e->need_keepalive, "%d");
        if (e->why && strcmp(r.why, e->why) != 0)
                fail_msg("%s: why \"%s\", expected \"%s\"", k->name, r.why, e->why);
        if (!memchr(r.why, '\0', sizeof(r.why)))
                fail_msg("%s: why not terminated", k->name);
        CHECK_I64(k->name, r.idle_for, e->idle_for);
        CHECK_I64(k->name, r.idle_timeout, e->idle_timeout);
        CHECK_I64(k->name, r.idle_stop_at, e->idle_stop_at);
        CHECK_I64(k->name, r.keepalive_until, e->keepalive_until);
        CHECK_I64(k->name, r.runtime, e->runtime);
        CHECK_I64(k->name, r.runtime_stop_at, e->runtime_stop_at);
        CHECK_I64(k->name, r.remove_at, e->remove_at);
        CHECK_FIELD(k->name, r.n_actions, e->n, "%zu");
        for (size_t i = 0; i < e->n; i++) {
                CHECK_FIELD(k->name, r.actions[i].kind, e->a[i].kind, "%d");
                CHECK_FIELD(k->name, r.actions[i].percent, e->a[i].percent, "%d");
                CHECK_I64(k->name, r.actions[i].at, e->a[i].at);
        }
        check_state(k->name, &r.next, &e->next);
}

static void run_cases(const struct dcase *cases, size_t n)
{
        for (size_t i = 0; i < n; i++)
                run_case(&cases[i]);
}

/* ---- idle signal and grace ---- */

static void test_signals_and_grace(void **state)
{
        static const struct dcase cases[] = {
            {"grace counts as active",
             RUN,
             NULL,
             SIG_IDLE,
             {0},
             S + 600,
             {.checked = true,
              .in_grace = true,
              .why = "grace period until 12:30:00",
              .idle_timeout = 3600,
              .runtime = 600,
              .next = ST(S, S + 600, 0, 0, 0, 0, 0, 0, 0)}},
            {"grace clears idle state, keeps runtime bits and cooldown times",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 540, S + 100, 2, I80 | R75, S + 500, 0, S + 400, 0),
             S + 600,
             {.checked = true,
              .in_grace = true,
              .idle_timeout = 3600,
              .runtime = 600,
              .next = ST(S, S + 600, 0, 0, R75, S + 500, 0, S + 400, 0)}},
            {"first check at the end of grace is idle from there",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 1740, 0, 0, 0, 0, 0, 0, 0),
             G,
             {.checked = true,
              .idle = true,
              .why = IDLE_WHY,
              .idle_for = 0,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 1800,
              .next = ST(S, G, G, 1, 0, 0, 0, 0, 0)}},
            {"idle time never counted from before the end of grace",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 1790, 0, 0, 0, 0, 0, 0, 0),
             S + 1850,
             {.checked = true,
              .idle = true,
              .why = IDLE_WHY,
              .idle_for = 50,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 1850,
              .next = ST(S, S + 1850, G, 1, 0, 0, 0, 0, 0)}},
            {"fresh state of an old container starts at grace end",
             RUN,
             NULL,
             SIG_IDLE,
             {0},
             S + 10000,
             {.checked = true,
              .idle = true,
              .idle_for = 8200,
              .idle_timeout = 3600,
              .idle_stop_at = S + 10000,
              .runtime = 10000,
              .next = ST(S, S + 10000, G, 1, 0, 0, 0, 0, 0)}},
            {"idle_since kept, streak grows",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 2000, S + 1900, 1, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .idle = true,
              .idle_for = 160,
              .idle_timeout = 3600,
              .idle_stop_at = S + 5500,
              .runtime = 2060,
              .next = ST(S, S + 2060, S + 1900, 2, 0, 0, 0, 0, 0)}},
            {"gpu exactly at the threshold is active",
             RUN,
             NULL,
             SIG(true, 5.0, false, true, 0.1, true, 0, true, 0),
             ST(S, S + 2000, S + 1900, 2, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .why = "gpu 5% >= 5%",
              .idle_timeout = 3600,
              .runtime = 2060,
              .next = ST(S, S + 2060, 0, 0, 0, 0, 0, 0, 0)}},
            {"gpu just below the threshold is idle",
             RUN,
             NULL,
             SIG(true, 4.9, false, true, 0.1, true, 0, true, 0),
             ST(S, S + 2000, S + 1900, 2, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .idle = true,
              .why = "gpu 4.9% < 5%, cpu 0.1% <= 2%, network 0 B <= 1048576 B",
              .idle_for = 160,
              .idle_timeout = 3600,
              .idle_stop_at = S + 5500,
              .runtime = 2060,
              .next = ST(S, S + 2060, S + 1900, 3, 0, 0, 0, 0, 0)}},
            {"cpu above its threshold keeps an idle gpu active",
             RUN,
             NULL,
             SIG(true, 1.0, false, true, 2.5, true, 0, true, 0),
             ST(S, S + 2000, S + 1900, 2, I80, S + 1990, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .why = "cpu 2.5% > 2%",
              .idle_timeout = 3600,
              .runtime = 2060,
              .next = ST(S, S + 2060, 0, 0, 0, S + 1990, 0, 0, 0)}},
            {"cpu exactly at its threshold is idle",
             RUN,
             NULL,
             SIG(true, 1.0, false, true, 2.0, true, 0, true, 0),
             ST(S, S + 2000, S + 1900, 1, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .idle = true,
              .why = "gpu 1% < 5%, cpu 2% <= 2%, network 0 B <= 1048576 B",
              .idle_for = 160,
              .idle_timeout = 3600,
              .idle_stop_at = S + 5500,
              .runtime = 2060,
              .next = ST(S, S + 2060, S + 1900, 2, 0, 0, 0, 0, 0)}},
            {"network above its threshold is active",
             RUN,
             NULL,
             SIG(true, 1.0, false, true, 0.1, true, 1048577, true, 0),
             ST(S, S + 2000, S + 1900, 2, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .why = "network 1048577 B > 1048576 B",
              .idle_timeout = 3600,
              .runtime = 2060,
              .next = ST(S, S + 2060, 0, 0, 0, 0, 0, 0, 0)}},
            {"network exactly at its threshold is idle",
             RUN,
             NULL,
             SIG(true, 1.0, false, true, 0.1, true, 1048576, true, 0),
             ST(S, S + 2000, S + 1900, 1, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .idle = true,
              .why = "gpu 1% < 5%, cpu 0.1% <= 2%, network 1048576 B <= 1048576 B",
              .idle_for = 160,
              .idle_timeout = 3600,
              .idle_stop_at = S + 5500,
              .runtime = 2060,
              .next = ST(S, S + 2060, S + 1900, 2, 0, 0, 0, 0, 0)}},
            {"several active signals are all named",
             RUN,
             NULL,
             SIG(true, 37.0, false, true, 150.0, true, 2000000, true, 0),
             ST(S, S + 2000, 0, 0, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .why = "gpu 37% >= 5%, cpu 150% > 2%, network 2000000 B > 1048576 B",
              .idle_timeout = 3600,
              .runtime = 2060,
              .next = ST(S, S + 2060, 0, 0, 0, 0, 0, 0, 0)}},
            {"unknown gpu with a process is active",
             RUN,
             NULL,
             SIG(false, 0.0, true, true, 0.1, true, 0, true, 0),
             ST(S, S + 2000, S + 1900, 2, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .why = "gpu processes ran (no utilization reading)",
              .idle_timeout = 3600,
              .runtime = 2060,
              .next = ST(S, S + 2060, 0, 0, 0, 0, 0, 0, 0)}},
            {"unknown gpu without a process is idle",
             RUN,
             NULL,
             SIG(false, 0.0, false, false, 0.0, false, 0, true, 0),
             ST(S, S + 2000, S + 1900, 1, 0, 0, 0, 0, 0),
             S + 2060,
             {.checked = true,
              .idle = true,
              .why = "no gpu processes (no utilization reading), cpu unknown, network unknown",
              .idle_for = 160,
              .idle_timeout = 3600,
              .idle_stop_at = S + 5500,
              .runtime = 2060,
              .next = ST(S, S + 2060, S + 1900, 2, 0, 0, 0, 0, 0)}},
            {"running with an unknown start gets nothing",
             {LC_RUNNING, S, 0, 0, true},
             NULL,
             SIG_IDLE,
             ST(0, S + 100, 0, 0, 0, 0, 0, 0, 0),
             S + 9000,
             {.why = "start time unknown",
              .idle_timeout = 3600,
              .next = ST(0, S + 9000, 0, 0, 0, 0, 0, 0, 0)}},
        };
        (void)state;
        run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- idle: window, warnings, stop, keep-alive, cooldown ---- */

static void test_idle_actions(void **state)
{
        static const struct dcase cases[] = {
            {"streak below the window: nothing, even past T",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 9940, G, 1, 0, 0, 0, 0, 0),
             S + 10000,
             {.checked = true,
              .idle = true,
              .idle_for = 8200,
              .idle_timeout = 3600,
              .idle_stop_at = S + 10060,
              .runtime = 10000,
              .next = ST(S, S + 10000, G, 2, 0, 0, 0, 0, 0)}},
            {"just under 80%: nothing",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 4620, G, 10, 0, 0, 0, 0, 0),
             S + 4679,
             {.checked = true,
              .idle = true,
              .idle_for = 2879,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4679,
              .next = ST(S, S + 4679, G, 11, 0, 0, 0, 0, 0)}},
            {"80% warning",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 4620, G, 10, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .n = 1,
              .a = {{LC_WARN_IDLE, 80, G + 3600}},
              .next = ST(S, S + 4680, G, 11, I80, S + 4680, 0, 0, 0)}},
            {"80% warning only once per stretch",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 4680, G, 11, I80, S + 4680, 0, 0, 0),
             S + 4740,
             {.checked = true,
              .idle = true,
              .idle_for = 2940,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4740,
              .next = ST(S, S + 4740, G, 12, I80, S + 4680, 0, 0, 0)}},
            {"95% warning after the 80% one",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 5160, G, 20, I80, S + 4680, 0, 0, 0),
             S + 5220,
             {.checked = true,
              .idle = true,
              .idle_for = 3420,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 5220,
              .n = 1,
              .a = {{LC_WARN_IDLE, 95, G + 3600}},
              .next = ST(S, S + 5220, G, 21, I80 | I95, S + 4680, S + 5220, 0, 0)}},
            {"past T without a warning: the 95% one, 80 bit too, no stop",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 5940, G, 2, 0, 0, 0, 0, 0),
             S + 6000,
             {.checked = true,
              .idle = true,
              .idle_for = 4200,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 6000,
              .n = 1,
              .a = {{LC_WARN_IDLE, 95, G + 3600}},
              .next = ST(S, S + 6000, G, 3, I80 | I95, 0, S + 6000, 0, 0)}},
            {"stop after an earlier warning",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 6000, G, 4, I80 | I95, 0, S + 6000, 0, 0),
             S + 6060,
             {.checked = true,
              .idle = true,
              .idle_for = 4260,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 6060,
              .n = 1,
              .a = {{LC_STOP_IDLE, 0, S + 6060}},
              .next = ST(S, S + 6060, G, 5, I80 | I95, 0, S + 6000, 0, 0)}},
            {"stop after the 80% warning alone",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 5340, G, 40, I80, S + 4680, 0, 0, 0),
             G + 3600,
             {.checked = true,
              .idle = true,
              .idle_for = 3600,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 5400,
              .n = 1,
              .a = {{LC_STOP_IDLE, 0, G + 3600}},
              .next = ST(S, G + 3600, G, 41, I80, S + 4680, 0, 0, 0)}},
            {"activity resets streak, idle time and idle bits",
             RUN,
             NULL,
             SIG_BUSY,
             ST(S, S + 5940, G, 40, I80 | I95 | IEX | R75, S + 4680, S + 5220, S + 100, 0),
             S + 6000,
             {.checked = true,
              .why = "gpu 50% >= 5%",
              .idle_timeout = 3600,
              .runtime = 6000,
              .next = ST(S, S + 6000, 0, 0, R75, S + 4680, S + 5220, S + 100, 0)}},
            {"warning due without keep-alive probe: ask for it",
             RUN,
             NULL,
             SIG_IDLE_NOKA,
             ST(S, S + 4620, G, 10, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .need_keepalive = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .next = ST(S, S + 4680, G, 11, 0, 0, 0, 0, 0)}},
            {"no probe needed when nothing is due",
             RUN,
             NULL,
             SIG_IDLE_NOKA,
             ST(S, S + 4000, G, 10, 0, 0, 0, 0, 0),
             S + 4060,
             {.checked = true,
              .idle = true,
              .idle_for = 2260,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4060,
              .next = ST(S, S + 4060, G, 11, 0, 0, 0, 0, 0)}},
            {"fresh keep-alive holds the warning",
             RUN,
             NULL,
             SIG_IDLE_KA(S + 4000),
             ST(S, S + 4620, G, 10, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = S + 4000 + 86400,
              .keepalive_until = S + 4000 + 86400,
              .runtime = 4680,
              .next = ST(S, S + 4680, G, 11, 0, 0, 0, 0, 0)}},
            {"fresh keep-alive holds the stop",
             RUN,
             NULL,
             SIG_IDLE_KA(S + 6000),
             ST(S, S + 6000, G, 4, I80 | I95, 0, S + 6000, 0, 0),
             S + 6060,
             {.checked = true,
              .idle = true,
              .idle_for = 4260,
              .idle_timeout = 3600,
              .idle_stop_at = S + 6000 + 86400,
              .keepalive_until = S + 6000 + 86400,
              .runtime = 6060,
              .next = ST(S, S + 6060, G, 5, I80 | I95, 0, S + 6000, 0, 0)}},
            {"keep-alive exactly keepalive_max old is stale",
             RUN,
             NULL,
             SIG_IDLE_KA(S + 4680 - 86400),
             ST(S, S + 4620, G, 10, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .n = 1,
              .a = {{LC_WARN_IDLE, 80, G + 3600}},
              .next = ST(S, S + 4680, G, 11, I80, S + 4680, 0, 0, 0)}},
            {"unlimited keep-alive: no stop time",
             RUN,
             mod_ka_never,
             SIG_IDLE_KA(1),
             ST(S, S + 6000, G, 4, I80 | I95, 0, S + 6000, 0, 0),
             S + 6060,
             {.checked = true,
              .idle = true,
              .idle_for = 4260,
              .idle_timeout = 3600,
              .idle_stop_at = 0,
              .keepalive_until = LC_NEVER,
              .runtime = 6060,
              .next = ST(S, S + 6060, G, 5, I80 | I95, 0, S + 6000, 0, 0)}},
            {"cooldown holds the 80% warning of a new stretch",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 4620, G, 5, 0, S + 3680, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .next = ST(S, S + 4680, G, 6, 0, S + 3680, 0, 0, 0)}},
            {"cooldown over exactly at notify_cooldown",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 4620, G, 5, 0, S + 1080, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .n = 1,
              .a = {{LC_WARN_IDLE, 80, G + 3600}},
              .next = ST(S, S + 4680, G, 6, I80, S + 4680, 0, 0, 0)}},
            {"95% in its cooldown: the 80% one instead",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 5160, G, 5, 0, 0, S + 5120, 0, 0),
             S + 5220,
             {.checked = true,
              .idle = true,
              .idle_for = 3420,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 5220,
              .n = 1,
              .a = {{LC_WARN_IDLE, 80, G + 3600}},
              .next = ST(S, S + 5220, G, 6, I80, S + 5220, S + 5120, 0, 0)}},
            {"past T with both warnings in cooldown: no stop",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S, S + 5940, G, 5, 0, S + 5000, S + 5000, 0, 0),
             S + 6000,
             {.checked = true,
              .idle = true,
              .idle_for = 4200,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 6000,
              .next = ST(S, S + 6000, G, 6, 0, S + 5000, S + 5000, 0, 0)}},
            {"exempt: one notice instead of the stop",
             RUN,
             mod_exempt_idle,
             SIG_IDLE,
             ST(S, S + 5940, G, 5, 0, 0, 0, 0, 0),
             S + 6000,
             {.checked = true,
              .idle = true,
              .idle_for = 4200,
              .idle_timeout = 3600,
              .runtime = 6000,
              .n = 1,
              .a = {{LC_NOTICE_IDLE_EXEMPT, 0, S + 6000}},
              .next = ST(S, S + 6000, G, 6, IEX, 0, 0, 0, 0)}},
            {"exempt: the notice needs no keep-alive probe",
             RUN,
             mod_exempt_idle,
             SIG_IDLE_NOKA,
             ST(S, S + 5940, G, 5, 0, 0, 0, 0, 0),
             S + 6000,
             {.checked = true,
              .idle = true,
              .idle_for = 4200,
              .idle_timeout = 3600,
              .runtime = 6000,
              .n = 1,
              .a = {{LC_NOTICE_IDLE_EXEMPT, 0, S + 6000}},
              .next = ST(S, S + 6000, G, 6, IEX, 0, 0, 0, 0)}},
            {"exempt: notice only once",
             RUN,
             mod_exempt_idle,
             SIG_IDLE,
             ST(S, S + 6000, G, 6, IEX, 0, 0, 0, 0),
             S + 6060,
             {.checked = true,
              .idle = true,
              .idle_for = 4260,
              .idle_timeout = 3600,
              .runtime = 6060,
              .next = ST(S, S + 6060, G, 7, IEX, 0, 0, 0, 0)}},
            {"exempt: no warnings",
             RUN,
             mod_exempt_idle,
             SIG_IDLE,
             ST(S, S + 5160, G, 10, 0, 0, 0, 0, 0),
             S + 5220,
             {.checked = true,
              .idle = true,
              .idle_for = 3420,
              .idle_timeout = 3600,
              .runtime = 5220,
              .next = ST(S, S + 5220, G, 11, 0, 0, 0, 0, 0)}},
            {"high demand halves the timeout",
             RUN,
             mod_half,
             SIG_IDLE,
             ST(S, S + 3180, G, 5, 0, 0, 0, 0, 0),
             S + 3240,
             {.checked = true,
              .idle = true,
              .idle_for = 1440,
              .idle_timeout = 1800,
              .idle_stop_at = G + 1800,
              .runtime = 3240,
              .n = 1,
              .a = {{LC_WARN_IDLE, 80, G + 1800}},
              .next = ST(S, S + 3240, G, 6, I80, S + 3240, 0, 0, 0)}},
            {"no idle timeout: never an idle action",
             RUN,
             mod_never_idle,
             SIG_IDLE,
             ST(S, S + 99940, G, 100, 0, 0, 0, 0, 0),
             S + 100000,
             {.checked = true,
              .idle = true,
              .idle_for = 98200,
              .idle_timeout = LC_NEVER,
              .runtime = 100000,
              .next = ST(S, S + 100000, G, 101, 0, 0, 0, 0, 0)}},
        };
        (void)state;
        run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- runtime, both together, restart ---- */

static void test_runtime_actions(void **state)
{
        static const struct dcase cases[] = {
            {"runtime just under 75%: nothing",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 26940, 0, 0, 0, 0, 0, 0, 0),
             S + 26999,
             {.checked = true,
              .why = "gpu 50% >= 5%",
              .idle_timeout = 3600,
              .runtime = 26999,
              .runtime_stop_at = S + 36000,
              .next = ST(S, S + 26999, 0, 0, 0, 0, 0, 0, 0)}},
            {"runtime 75% warning",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 26940, 0, 0, 0, 0, 0, 0, 0),
             S + 27000,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 27000,
              .runtime_stop_at = S + 36000,
              .n = 1,
              .a = {{LC_WARN_RUNTIME, 75, S + 36000}},
              .next = ST(S, S + 27000, 0, 0, R75, 0, 0, S + 27000, 0)}},
            {"runtime 90% warning after the 75% one",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 32340, 0, 0, R75, 0, 0, S + 27000, 0),
             S + 32400,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 32400,
              .runtime_stop_at = S + 36000,
              .n = 1,
              .a = {{LC_WARN_RUNTIME, 90, S + 36000}},
              .next = ST(S, S + 32400, 0, 0, R75 | R90, 0, 0, S + 27000, S + 32400)}},
            {"runtime reached without a warning: the 90% one, no stop",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 35940, 0, 0, 0, 0, 0, 0, 0),
             S + 36000,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 36000,
              .runtime_stop_at = S + 36000,
              .n = 1,
              .a = {{LC_WARN_RUNTIME, 90, S + 36000}},
              .next = ST(S, S + 36000, 0, 0, R75 | R90, 0, 0, 0, S + 36000)}},
            {"runtime stop after an earlier warning",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 35940, 0, 0, R75, 0, 0, S + 27000, 0),
             S + 36000,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 36000,
              .runtime_stop_at = S + 36000,
              .n = 1,
              .a = {{LC_STOP_RUNTIME, 0, S + 36000}},
              .next = ST(S, S + 36000, 0, 0, R75, 0, 0, S + 27000, 0)}},
            {"runtime warnings once per start, activity keeps them",
             RUN,
             mod_runtime,
             SIG_BUSY,
             ST(S, S + 32460, 0, 0, R75 | R90, 0, 0, S + 27000, S + 32400),
             S + 32520,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 32520,
              .runtime_stop_at = S + 36000,
              .next = ST(S, S + 32520, 0, 0, R75 | R90, 0, 0, S + 27000, S + 32400)}},
            {"runtime exempt: no warnings",
             RUN,
             mod_exempt_runtime,
             SIG_BUSY,
             ST(S, S + 32340, 0, 0, 0, 0, 0, 0, 0),
             S + 32400,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 32400,
              .next = ST(S, S + 32400, 0, 0, 0, 0, 0, 0, 0)}},
            {"runtime exempt: one notice instead of the stop",
             RUN,
             mod_exempt_runtime,
             SIG_BUSY,
             ST(S, S + 35940, 0, 0, 0, 0, 0, 0, 0),
             S + 36000,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 36000,
              .n = 1,
              .a = {{LC_NOTICE_RUNTIME_EXEMPT, 0, S + 36000}},
              .next = ST(S, S + 36000, 0, 0, REX, 0, 0, 0, 0)}},
            {"runtime exempt: notice only once",
             RUN,
             mod_exempt_runtime,
             SIG_BUSY,
             ST(S, S + 36000, 0, 0, REX, 0, 0, 0, 0),
             S + 36060,
             {.checked = true,
              .idle_timeout = 3600,
              .runtime = 36060,
              .next = ST(S, S + 36060, 0, 0, REX, 0, 0, 0, 0)}},
            {"idle stop wins over runtime stop",
             RUN,
             mod_runtime_short,
             SIG_IDLE,
             ST(S, S + 6000, G, 4, I80 | I95 | R75 | R90, 0, S + 6000, 0, S + 5400),
             S + 6060,
             {.checked = true,
              .idle = true,
              .idle_for = 4260,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 6060,
              .runtime_stop_at = S + 6000,
              .n = 1,
              .a = {{LC_STOP_IDLE, 0, S + 6060}},
              .next = ST(S, S + 6060, G, 5, I80 | I95 | R75 | R90, 0, S + 6000, 0, S + 5400)}},
            {"runtime stop: the idle warning is not sent",
             RUN,
             mod_runtime_short,
             SIG_IDLE,
             ST(S, S + 5940, G, 2, R75 | R90, 0, 0, 0, S + 5400),
             S + 6000,
             {.checked = true,
              .idle = true,
              .idle_for = 4200,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 6000,
              .runtime_stop_at = S + 6000,
              .n = 1,
              .a = {{LC_STOP_RUNTIME, 0, S + 6000}},
              .next = ST(S, S + 6000, G, 3, R75 | R90, 0, 0, 0, S + 5400)}},
            {"idle and runtime warnings in one check",
             RUN,
             mod_runtime_short,
             SIG_IDLE,
             ST(S, S + 4620, G, 2, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .runtime_stop_at = S + 6000,
              .n = 2,
              .a = {{LC_WARN_IDLE, 80, G + 3600}, {LC_WARN_RUNTIME, 75, S + 6000}},
              .next = ST(S, S + 4680, G, 3, I80 | R75, S + 4680, 0, S + 4680, 0)}},
            {"keep-alive probe: no runtime action either",
             RUN,
             mod_runtime_short,
             SIG_IDLE_NOKA,
             ST(S, S + 4620, G, 2, 0, 0, 0, 0, 0),
             S + 4680,
             {.checked = true,
              .idle = true,
              .need_keepalive = true,
              .idle_for = 2880,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 4680,
              .runtime_stop_at = S + 6000,
              .next = ST(S, S + 4680, G, 3, 0, 0, 0, 0, 0)}},
            {"a restart resets the whole state",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S - 100000, S - 50, S - 90000, 50, 0x3f, S - 60, S - 60, S - 60, S - 60),
             S + 60,
             {.checked = true,
              .in_grace = true,
              .why = "grace period until 12:30:00",
              .idle_timeout = 3600,
              .runtime = 60,
              .next = ST(S, S + 60, 0, 0, 0, 0, 0, 0, 0)}},
            {"after a restart idle time counts from the new grace end",
             RUN,
             NULL,
             SIG_IDLE,
             ST(S - 100000, S - 50, S - 90000, 50, 0x3f, S - 60, S - 60, S - 60, S - 60),
             S + 1860,
             {.checked = true,
              .idle = true,
              .idle_for = 60,
              .idle_timeout = 3600,
              .idle_stop_at = G + 3600,
              .runtime = 1860,
              .next = ST(S, S + 1860, G, 1, 0, 0, 0, 0, 0)}},
        };
        (void)state;
        run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- created, stopped, scope, other ---- */

static void test_removal_and_scope(void **state)
{
        static const struct dcase cases[] = {
            {"created: removal time before it",
             {LC_CREATED, S, 0, 0, true},
             NULL,
             SIG_IDLE,
             {0},
             S + 1799,
             {.why = "created, never started",
              .idle_timeout = 3600,
              .remove_at = S + 1800,
              .next = ST(0, S + 1799, 0, 0, 0, 0, 0, 0, 0)}},
            {"created: removed at created_timeout",
             {LC_CREATED, S, 0, 0, true},
             NULL,
             SIG_IDLE,
             {0},
             S + 1800,
             {.idle_timeout = 3600,
              .remove_at = S + 1800,
              .n = 1,
              .a = {{LC_REMOVE_CREATED, 0, S + 1800}},
              .next = ST(0, S + 1800, 0, 0, 0, 0, 0, 0, 0)}},
            {"created: never with LC_NEVER",
             {LC_CREATED, S, 0, 0, true},
             mod_created_never,
             SIG_IDLE,
             {0},
             S + 999999,
             {.idle_timeout = 3600, .next = ST(0, S + 999999, 0, 0, 0, 0, 0, 0, 0)}},
            {"created with a start time: nothing",
             {LC_CREATED, S, S + 5, 0, true},
             NULL,
             SIG_IDLE,
             {0},
             S + 999999,
             {.idle_timeout = 3600, .next = ST(0, S + 999999, 0, 0, 0, 0, 0, 0, 0)}},
            {"stopped: removal time before it",
             {LC_STOPPED, S - 1000, S, S + 5000, true},
             mod_hold,
             SIG_IDLE,
             ST(S, S + 4980, G, 2, I80, 1, 2, 3, 4),
             S + 12199,
             {.why = "stopped",
              .idle_timeout = 3600,
              .remove_at = S + 12200,
              .next = ST(S, S + 12199, G, 2, I80, 1, 2, 3, 4)}},
            {"stopped: removed after the hold",
             {LC_STOPPED, S - 1000, S, S + 5000, true},
             mod_hold,
             SIG_IDLE,
             {0},
             S + 12200,
             {.idle_timeout = 3600,
              .remove_at = S + 12200,
              .n = 1,
              .a = {{LC_REMOVE_STOPPED, 0, S + 12200}},
              .next = ST(0, S + 12200, 0, 0, 0, 0, 0, 0, 0)}},
            {"stopped: never with LC_NEVER",
             {LC_STOPPED, S - 1000, S, S + 5000, true},
             NULL,
             SIG_IDLE,
             {0},
             S + 9999999,
             {.idle_timeout = 3600, .next = ST(0, S + 9999999, 0, 0, 0, 0, 0, 0, 0)}},
            {"stopped: unknown finish, never",
             {LC_STOPPED, S - 1000, S, 0, true},
             mod_hold,
             SIG_IDLE,
             {0},
             S + 9999999,
             {.idle_timeout = 3600, .next = ST(0, S + 9999999, 0, 0, 0, 0, 0, 0, 0)}},
            {"out of scope: nothing but last_check",
             {LC_RUNNING, S - 60, S, 0, false},
             NULL,
             SIG_IDLE,
             ST(S, S + 5940, G, 5, I80 | I95, 0, S + 5220, 0, 0),
             S + 6000,
             {.why = "out of scope: no GPUs (policies.enforce_cpu_only is off)",
              .idle_timeout = LC_NEVER,
              .runtime = 6000,
              .next = ST(S, S + 6000, G, 5, I80 | I95, 0, S + 5220, 0, 0)}},
            {"exempt_all: nothing, reason given",
             RUN,
             mod_exempt_all,
             SIG_IDLE,
             ST(S, S + 5940, G, 5, I80 | I95, 0, S + 5220, 0, 0),
             S + 6000,
             {.why = "exempt: ds01.protected",
              .idle_timeout = LC_NEVER,
              .runtime = 6000,
              .next = ST(S, S + 6000, G, 5, I80 | I95, 0, S + 5220, 0, 0)}},
            {"exempt_all: a stopped one is kept",
             {LC_STOPPED, S - 1000, S, S + 5000, true},
             mod_exempt_all_hold,
             SIG_IDLE,
             {0},
             S + 99999,
             {.why = "exempt: ds01.protected",
              .idle_timeout = LC_NEVER,
              .next = ST(0, S + 99999, 0, 0, 0, 0, 0, 0, 0)}},
            {"paused, restarting, dead: nothing",
             {LC_OTHER, S - 60, S, 0, true},
             mod_runtime,
             SIG_IDLE,
             ST(S, S + 99940, G, 100, I80 | I95, 0, 0, 0, 0),
             S + 99999,
             {.why = "not running",
              .idle_timeout = 3600,
              .next = ST(S, S + 99999, G, 100, I80 | I95, 0, 0, 0, 0)}},
        };
        (void)state;
        run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- sequences: checks every 60 s, as ds01d makes them ---- */

struct seen {
        int64_t now;
        enum lc_action_kind kind;
        int percent;
        unsigned warned; /* state bits after the check */
};

#define SEEN_MAX 16

struct sim {
        struct lc_container c;
        struct lc_policy p;
        struct lc_state st;
        int64_t ka_mtime; /* what the keep-alive probe finds */
        struct seen seen[SEEN_MAX];
        size_t n_seen;
        unsigned probes;
};

/* One check with signals s (keep-alive not probed yet), probing when asked. */
static void sim_check(struct sim *m, struct lc_signals s, int64_t now)
{
        struct lc_result r;

        s.keepalive_checked = false;
        s.keepalive_mtime = 0;
        lc_decide(&m->c, &m->p, &s, &m->st, now, &r);
        if (r.need_keepalive) {
                assert_int_equal(r.n_actions, 0);
                m->probes++;
                s.keepalive_checked = true;
                s.keepalive_mtime = m->ka_mtime;
                lc_decide(&m->c, &m->p, &s, &m->st, now, &r);
                assert_false(r.need_keepalive);
        }
        m->st = r.next;
        for (size_t i = 0; i < r.n_actions; i++) {
                assert_true(m->n_seen < SEEN_MAX);
                m->seen[m->n_seen++] =
                    (struct seen){now, r.actions[i].kind, r.actions[i].percent, r.next.warned};
        }
}

static void sim_run(struct sim *m, struct lc_signals s, int64_t from, int64_t to)
{
        for (int64_t t = from; t <= to; t += 60)
                sim_check(m, s, t);
}

static void check_seen(const struct sim *m, const struct seen *want, size_t n)
{
        if (m->n_seen != n) {
                for (size_t i = 0; i < m->n_seen; i++)
                        print_message("seen: S+%lld %s %d\n", (long long)(m->seen[i].now - S),
                                      lc_action_name(m->seen[i].kind), m->seen[i].percent);
                fail_msg("%zu actions, expected %zu", m->n_seen, n);
        }
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(m->seen[i].now, want[i].now);
                assert_int_equal(m->seen[i].kind, want[i].kind);
                assert_int_equal(m->seen[i].percent, want[i].percent);
                assert_int_equal(m->seen[i].warned, want[i].warned);
        }
}

static struct sim sim_new(void)
{
        return (struct sim){.c = RUN, .p = base_policy()};
}

static void test_seq_idle_warn_warn_stop(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 4680, LC_WARN_IDLE, 80, I80},
            {S + 5220, LC_WARN_IDLE, 95, I80 | I95},
            {S + 5400, LC_STOP_IDLE, 0, I80 | I95},
        };
        (void)state;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 60, S + 5400);
        check_seen(&m, want, 3);
        assert_int_equal(m.probes, 3);
}

static void test_seq_cooldown_after_active(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 4680, LC_WARN_IDLE, 80, I80},
            /* 80 % of the new stretch (S+7620) is within the cooldown */
            {S + 8160, LC_WARN_IDLE, 95, I80 | I95},
            {S + 8340, LC_STOP_IDLE, 0, I80 | I95},
        };
        (void)state;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 60, S + 4680);
        sim_check(&m, (struct lc_signals)SIG_BUSY, S + 4740);
        assert_int_equal(m.st.warned, 0);
        assert_int_equal(m.st.streak, 0);
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 4800, S + 8340);
        check_seen(&m, want, 3);
}

static void test_seq_jump_past_95(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 2940, LC_WARN_IDLE, 95, I80 | I95},
            {S + 3000, LC_STOP_IDLE, 0, I80 | I95},
        };
        (void)state;
        m.p.idle_timeout = 600;
        m.p.idle_detection_window = 20;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 60, S + 3000);
        check_seen(&m, want, 2);
}

static void test_seq_keepalive_expires(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 7600, LC_WARN_IDLE, 95, I80 | I95},
            {S + 7660, LC_STOP_IDLE, 0, I80 | I95},
        };
        (void)state;
        m.p.keepalive_max = 3600;
        m.ka_mtime = S + 4000;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 40, S + 7660);
        check_seen(&m, want, 2);
}

static void test_seq_runtime(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 27000, LC_WARN_RUNTIME, 75, R75},
            {S + 32400, LC_WARN_RUNTIME, 90, R75 | R90},
            {S + 36000, LC_STOP_RUNTIME, 0, R75 | R90},
        };
        (void)state;
        m.p.max_runtime = 36000;
        sim_run(&m, (struct lc_signals)SIG_BUSY, S + 60, S + 36000);
        check_seen(&m, want, 3);
        assert_int_equal(m.probes, 0);
}

static void test_seq_devcontainer(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 27000, LC_WARN_RUNTIME, 75, R75},
            {S + 32400, LC_WARN_RUNTIME, 90, R75 | R90},
            {S + 36000, LC_STOP_RUNTIME, 0, R75 | R90},
        };
        (void)state;
        m.p.idle_timeout = LC_NEVER;
        m.p.max_runtime = 36000;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 60, S + 36000);
        check_seen(&m, want, 3);
        assert_int_equal(m.probes, 0);
        assert_int_equal(m.st.streak, (36000 - 1800) / 60 + 1);
}

static void test_seq_restart(void **state)
{
        struct sim m = sim_new();
        const struct seen want[] = {
            {S + 4680, LC_WARN_IDLE, 80, I80},
            /* new start at S+5000: grace to S+6800, 80 % at S+9680, cooldown reset */
            {S + 9680, LC_WARN_IDLE, 80, I80},
        };
        (void)state;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 60, S + 4980);
        m.c.started = S + 5000;
        sim_run(&m, (struct lc_signals)SIG_IDLE, S + 5000, S + 9700);
        check_seen(&m, want, 2);
}

/* ---- names and messages ---- */

static void test_action_names(void **state)
{
        static const char *const names[] = {
            "warn_idle",      "stop_idle",      "notice_idle_exempt",
            "warn_runtime",   "stop_runtime",   "notice_runtime_exempt",
            "remove_stopped", "remove_created",
        };
        (void)state;
        for (int k = LC_WARN_IDLE; k <= LC_REMOVE_CREATED; k++)
                assert_string_equal(lc_action_name((enum lc_action_kind)k), names[k]);
        assert_null(lc_action_name((enum lc_action_kind)(LC_REMOVE_CREATED + 1)));
        assert_null(lc_action_name((enum lc_action_kind) - 1));
}

#define WARN_IDLE_TEXT                                                                             \
        "ds01: your container 'train' has had an idle GPU for 24m. It will be stopped and "        \
        "removed at 14:05 UTC (in 6m) unless it gets busy.\n"                                      \
        "To keep it: touch /workspace/.keep-alive (inside the container).\n"                       \
        "Done with it? ds01 container retire train\n"

static void test_message_warn_idle(void **state)
{
        const int64_t now = S + 7140; /* 13:59 */
        struct lc_result r = {.idle_for = 1440, .idle_timeout = 1800, .idle_stop_at = S + 7500};
        struct lc_action a = {LC_WARN_IDLE, 80, S + 7500};
        char buf[512], small[16];
        size_t n;
        (void)state;

        n = lc_action_message(&a, "train", &r, now, buf, sizeof(buf));
        assert_string_equal(buf, WARN_IDLE_TEXT);
        assert_int_equal(n, strlen(WARN_IDLE_TEXT));

        memset(small, 'x', sizeof(small));
        n = lc_action_message(&a, "train", &r, now, small, sizeof(small));
        assert_int_equal(n, 15);
        assert_string_equal(small, "ds01: your cont");

        memset(small, 'x', sizeof(small));
        n = lc_action_message(&a, "train", &r, now, small, 1);
        assert_int_equal(n, 0);
        assert_int_equal(small[0], '\0');
        assert_int_equal(small[1], 'x');

        memset(small, 'x', sizeof(small));
        n = lc_action_message(&a, "train", &r, now, small, 0);
        assert_int_equal(n, 0);
        assert_int_equal(small[0], 'x');
}

static void test_message_times(void **state)
{
        struct lc_result r = {.idle_for = 4200, .idle_timeout = 3600};
        struct lc_action due = {LC_WARN_IDLE, 95, S + 5400};
        struct lc_action tomorrow = {LC_WARN_IDLE, 80, S + 86400 + 600};
        char buf[512];
        (void)state;

        lc_action_message(&due, "train", &r, S + 6000, buf, sizeof(buf));
        assert_non_null(strstr(buf, "stopped and removed at the next check unless it gets busy"));
        assert_non_null(strstr(buf, "idle GPU for 1h 10m."));

        lc_action_message(&tomorrow, "train", &r, S, buf, sizeof(buf));
        assert_non_null(strstr(buf, "at 2026-07-01 12:10 UTC (in 1d 10m)"));
}

#define WARN_RUNTIME_TEXT                                                                          \
        "ds01: your container 'train' has been running for 7h 30m. It will be stopped at 22:00 "   \
        "UTC (in 2h 30m): it reaches the maximum runtime of 10h.\n"                                \
        "Save your work before then; the stopped container is kept.\n"                             \
        "Done with it? ds01 container retire train\n"

static void test_message_warn_runtime(void **state)
{
        struct lc_result r = {.runtime = 27000, .runtime_stop_at = S + 36000};
        struct lc_action a = {LC_WARN_RUNTIME, 75, S + 36000};
        char buf[512];
        size_t n;
        (void)state;

        n = lc_action_message(&a, "train", &r, S + 27000, buf, sizeof(buf));
        assert_string_equal(buf, WARN_RUNTIME_TEXT);
        assert_int_equal(n, strlen(WARN_RUNTIME_TEXT));
}

/* Every kind: names the container, ends in a newline, says how to retire it
 * where the container stays; every prefix size truncates cleanly. */
static void test_message_all_kinds(void **state)
{
        static const struct {
                enum lc_action_kind kind;
                int percent;
                bool retire;
                const char *has;
        } kinds[] = {
            {LC_WARN_IDLE, 80, true, "touch /workspace/.keep-alive"},
            {LC_STOP_IDLE, 0, false, "stopped and removed now"},
            {LC_NOTICE_IDLE_EXEMPT, 0, true, "exempt from idle stops"},
            {LC_WARN_RUNTIME, 90, true, "maximum runtime of 10h"},
            {LC_STOP_RUNTIME, 0, true, "being stopped now"},
            {LC_NOTICE_RUNTIME_EXEMPT, 0, true, "exempt from runtime stops"},
            {LC_REMOVE_STOPPED, 0, false, "being removed now"},
            {LC_REMOVE_CREATED, 0, false, "never started"},
        };
        struct lc_result r = {.idle_for = 3600,
                              .idle_timeout = 3600,
                              .idle_stop_at = S + 36000,
                              .runtime = 32400,
                              .runtime_stop_at = S + 36000};
        char full[512], part[512];
        (void)state;

        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                struct lc_action a = {kinds[i].kind, kinds[i].percent, S + 36000};
                size_t n = lc_action_message(&a, "train", &r, S + 32400, full, sizeof(full));

                assert_true(n > 0 && n == strlen(full));
                assert_int_equal(full[n - 1], '\n');
                assert_non_null(strstr(full, "'train'"));
                assert_non_null(strstr(full, kinds[i].has));
                if (kinds[i].retire)
                        assert_non_null(strstr(full, "ds01 container retire train\n"));
                else
                        assert_null(strstr(full, "retire"));
                for (size_t size = 1; size <= n + 1; size++) {
                        size_t m;

                        memset(part, 'x', sizeof(part));
                        m = lc_action_message(&a, "train", &r, S + 32400, part, size);
                        assert_int_equal(m, size - 1 < n ? size - 1 : n);
                        assert_int_equal(part[m], '\0');
                        assert_int_equal(part[size], 'x');
                        assert_memory_equal(part, full, m);
                }
        }
        {
                struct lc_action bad = {(enum lc_action_kind)99, 0, 0};

                full[0] = 'x';
                assert_int_equal(lc_action_message(&bad, "train", &r, S, full, sizeof(full)), 0);
                assert_int_equal(full[0], '\0');
        }
}

/* A decision's why never overflows, whatever the numbers. */
static void test_why_bounded(void **state)
{
        struct lc_policy p = base_policy();
        struct lc_signals s = SIG(true, 1e300, false, true, 1e300, true, UINT64_MAX, true, 0);
        struct lc_state prev = {0};
        struct lc_container c = RUN;
        struct lc_result r;
        (void)state;

        p.gpu_idle_threshold = 1e300;
        p.network_idle_threshold = INT64_MAX - 1;
        lc_decide(&c, &p, &s, &prev, S + 4000, &r);
        assert_false(r.idle);
        assert_true(strlen(r.why) < LC_WHY_MAX);
}

/* ---- counters ---- */

static void test_cpu_percent(void **state)
{
        static const struct {
                uint64_t prev, cur;
                double dt, want;
        } cases[] = {
            {1000000000, 2000000000, 1.0, 100.0},
            {1000000000, 1500000000, 10.0, 5.0},
            {1000000000, 5000000000, 2.0, 200.0},
            {1000000000, 1000000000, 60.0, 0.0},
            {0, 5000000000, 1.0, -1},           /* no previous reading */
            {5000000000, 4000000000, 1.0, -1},  /* counter went back */
            {1000000000, 2000000000, 0.0, -1},  /* dt == 0 */
            {1000000000, 2000000000, -5.0, -1}, /* dt < 0 */
            {1000000000, 2000000000, NAN, -1},  /* dt nan */
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                double got = lc_cpu_percent(cases[i].prev, cases[i].cur, cases[i].dt);

                if (got < cases[i].want - 1e-9 || got > cases[i].want + 1e-9)
                        fail_msg("case %zu: %f, expected %f", i, got, cases[i].want);
        }
}

static void test_counter_delta(void **state)
{
        (void)state;
        assert_int_equal(lc_counter_delta(10, 25), 15);
        assert_int_equal(lc_counter_delta(25, 25), 0);
        assert_int_equal(lc_counter_delta(25, 10), 10); /* interface recreated */
        assert_int_equal(lc_counter_delta(0, UINT64_MAX), UINT64_MAX);
        assert_int_equal(lc_counter_delta(UINT64_MAX, 0), 0);
        assert_int_equal(lc_counter_delta(UINT64_MAX - 1, UINT64_MAX), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_signals_and_grace),
            cmocka_unit_test(test_idle_actions),
            cmocka_unit_test(test_runtime_actions),
            cmocka_unit_test(test_removal_and_scope),
            cmocka_unit_test(test_seq_idle_warn_warn_stop),
            cmocka_unit_test(test_seq_cooldown_after_active),
            cmocka_unit_test(test_seq_jump_past_95),
            cmocka_unit_test(test_seq_keepalive_expires),
            cmocka_unit_test(test_seq_runtime),
            cmocka_unit_test(test_seq_devcontainer),
            cmocka_unit_test(test_seq_restart),
            cmocka_unit_test(test_action_names),
            cmocka_unit_test(test_message_warn_idle),
            cmocka_unit_test(test_message_times),
            cmocka_unit_test(test_message_warn_runtime),
            cmocka_unit_test(test_message_all_kinds),
            cmocka_unit_test(test_why_bounded),
            cmocka_unit_test(test_cpu_percent),
            cmocka_unit_test(test_counter_delta),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
