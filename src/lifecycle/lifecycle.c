/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - the pure decision of ds01d's lifecycle loop: from one
 * container, its resolved policy, the signals of the last interval, the state
 * kept from the previous check and `now`, what happens to it now (warnings,
 * notices, stops, removals), the state to keep, and when each action is due.
 * The rules are in lifecycle.h. No I/O, no clock, no heap.
 *
 * Where lifecycle.h leaves a choice open, this file takes the reading that is
 * gentlest to the container's owner:
 *
 *  1. Active checks store idle_since = 0, not `now`. The rule list says
 *     "idle_since = now" while struct lc_state (and the store's table) say
 *     "0 = active". Both readings give the same idle time: the next idle check
 *     starts the stretch at max(started + grace_period, last_check), and
 *     last_check is the time of that active check; the 0 also keeps a check
 *     made during the grace period from starting a stretch before its end.
 *  2. The header's "out->reason" (scope) is out->why: there is no reason field.
 *  3. Bits mean "sent": a warning suppressed by notify_cooldown sets no bit,
 *     so a stop always follows a warning sent in this idle stretch (runtime:
 *     this start). When the highest level reached is in its cooldown, a lower
 *     level that is not (and not yet sent) is sent instead; when none can be
 *     sent, the stop waits until one can and has been.
 *  4. A restart resets the whole state, including the cooldown times: the
 *     owner of a restarted container is told again.
 *  5. When need_keepalive is set no action at all is returned (runtime ones
 *     included), so a caller that acts on the first answer and then asks
 *     again cannot send anything twice.
 *  6. When a stop is returned it is the only action: the idle stop wins over
 *     the runtime stop, and warnings or notices about a container that is
 *     being stopped are not sent (their bits stay clear).
 *  7. The exemption notice (exempt_idle) does not wait for the keep-alive
 *     probe: it only tells, it never stops anything.
 *  8. A running container whose start time is unknown (started == 0), and a
 *     "created" one that has a start time, get no action: their times cannot
 *     be trusted. Likewise created == 0 never triggers LC_REMOVE_CREATED.
 *  9. idle_stop_at also waits for a fresh keep-alive (keepalive_until; 0 when
 *     that is LC_NEVER). "The time the streak reaches the window" is
 *     estimated from the last interval (now - last_check), or now when there
 *     was no earlier check. It is 0 for active containers, and with
 *     exempt_idle (nothing will be stopped); runtime_stop_at is 0 with
 *     exempt_runtime.
 * 10. An idle_factor that is not a number or is negative counts as 1.0; an
 *     idle_detection_window below 1 counts as 1.
 * 11. Scope (in_scope false, exempt_all) is applied first, as listed, to
 *     created and stopped containers too: they are not removed either.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lifecycle/lifecycle.h"
#include "util/macro.h"
#include "util/units.h"

#define IDLE_WARN_BITS    (LC_W_IDLE_80 | LC_W_IDLE_95)
#define IDLE_BITS         (IDLE_WARN_BITS | LC_W_IDLE_EXEMPT)
#define RUNTIME_WARN_BITS (LC_W_RUNTIME_75 | LC_W_RUNTIME_90)

/* ---- small helpers ---- */

/* a + b for times and durations; LC_NEVER when b is LC_NEVER or on overflow. */
static int64_t sat_add(int64_t a, int64_t b)
{
        int64_t r;

        if (a == LC_NEVER || b == LC_NEVER)
                return LC_NEVER;
        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? LC_NEVER : INT64_MIN;
        return r;
}

/* ceil(d * pct / 100) for d >= 0 without overflow or rounding surprises. */
static int64_t pct_of(int64_t d, int pct)
{
        __int128 v = ((__int128)d * pct + 99) / 100;

        return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* A bounded appender: never writes past size, always NUL-terminated. */
struct out_buf {
        char *buf;
        size_t size;
        size_t len;
};

static void _printf_(2, 3) emit(struct out_buf *o, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (o->size == 0 || o->len >= o->size - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
                o->buf[o->len] = '\0';
                return;
        }
        o->len = MIN(o->len + (size_t)n, o->size - 1);
}

/* "37", "0.1", "4.96": at most two decimals, trailing zeros dropped. */
static const char *fmt_pct(char *buf, size_t n, double v)
{
        char *dot;
        size_t l;

        snprintf(buf, n, "%.2f", v);
        dot = strchr(buf, '.');
        if (!dot)
                return buf;
        l = strlen(buf);
        while (l > 0 && buf[l - 1] == '0')
                buf[--l] = '\0';
        if (l > 0 && buf[l - 1] == '.')
                buf[--l] = '\0';
        return buf;
}

static void utc_tm(int64_t t, struct tm *ret)
{
        time_t tt = (time_t)t;

        if (!gmtime_r(&tt, ret))
                memset(ret, 0, sizeof(*ret));
}

/* ---- the idle signal ---- */

/* Decides active or idle from the signals and writes why; returns true when
 * active. Active: names the measurements that made it so; idle: names them
 * all. */
static bool signals_active(const struct lc_policy *p, const struct lc_signals *s, char *why,
                           size_t why_size)
{
        struct out_buf o = {why, why_size, 0};
        char a[32], b[32];
        bool gpu, cpu, net;
        const char *sep = "";

        gpu = s->gpu_known ? s->gpu_util >= p->gpu_idle_threshold : s->gpu_procs;
        cpu = s->cpu_known && s->cpu_percent > p->cpu_idle_threshold;
        net = s->net_known &&
              (p->network_idle_threshold < 0 || s->net_bytes > (uint64_t)p->network_idle_threshold);
        why[0] = '\0';

        if (gpu || cpu || net) {
                if (gpu && s->gpu_known)
                        emit(&o, "gpu %s%% >= %s%%", fmt_pct(a, sizeof(a), s->gpu_util),
                             fmt_pct(b, sizeof(b), p->gpu_idle_threshold));
                else if (gpu)
                        emit(&o, "gpu processes ran (no utilization reading)");
                if (gpu)
                        sep = ", ";
                if (cpu) {
                        emit(&o, "%scpu %s%% > %s%%", sep, fmt_pct(a, sizeof(a), s->cpu_percent),
                             fmt_pct(b, sizeof(b), p->cpu_idle_threshold));
                        sep = ", ";
                }
                if (net)
                        emit(&o, "%snetwork %llu B > %lld B", sep, (unsigned long long)s->net_bytes,
                             p->network_idle_threshold);
                return true;
        }

        if (s->gpu_known)
                emit(&o, "gpu %s%% < %s%%", fmt_pct(a, sizeof(a), s->gpu_util),
                     fmt_pct(b, sizeof(b), p->gpu_idle_threshold));
        else
                emit(&o, "no gpu processes (no utilization reading)");
        if (s->cpu_known)
                emit(&o, ", cpu %s%% <= %s%%", fmt_pct(a, sizeof(a), s->cpu_percent),
                     fmt_pct(b, sizeof(b), p->cpu_idle_threshold));
        else
                emit(&o, ", cpu unknown");
        if (s->net_known)
                emit(&o, ", network %llu B <= %lld B", (unsigned long long)s->net_bytes,
                     p->network_idle_threshold);
        else
                emit(&o, ", network unknown");
        return false;
}

/* ---- decisions ---- */

int64_t lc_effective_idle_timeout(const struct lc_policy *p)
{
        double f = p->idle_factor, t;

        if (p->idle_timeout == LC_NEVER)
                return LC_NEVER;
        if (p->idle_timeout <= 0)
                return 0;
        if (isnan(f) || f < 0)
                f = 1.0;
        t = round((double)p->idle_timeout * f);
        if (t >= 9.2e18)
                return LC_NEVER;
        return (int64_t)t;
}

static bool cooldown_ok(const struct lc_policy *p, const struct lc_state *st,
                        enum lc_warn_slot slot, int64_t now)
{
        int64_t last = st->last_sent[slot];

        if (last <= 0)
                return true;
        if (now < last) /* clock went back: keep quiet until it catches up */
                return false;
        return now - last >= p->notify_cooldown;
}

/* A warning of two levels (lo < hi), their bits and slots. */
struct warn_levels {
        int lo_pct, hi_pct;
        unsigned lo_bit, hi_bit;
        enum lc_warn_slot lo_slot, hi_slot;
};

/* Picks the warning to send: the highest level reached that was not sent in
 * this stretch and is out of its cooldown. level: 0 none, 1 lo, 2 hi.
 * Returns 0 when none, else the percent. */
static int pick_warning(const struct warn_levels *w, int level, const struct lc_policy *p,
                        const struct lc_state *st, int64_t now)
{
        if (level >= 2 && !(st->warned & w->hi_bit) && cooldown_ok(p, st, w->hi_slot, now))
                return w->hi_pct;
        if (level >= 1 && !(st->warned & (w->lo_bit | w->hi_bit)) &&
            cooldown_ok(p, st, w->lo_slot, now))
                return w->lo_pct;
        return 0;
}

static const struct warn_levels idle_levels = {
    80, 95, LC_W_IDLE_80, LC_W_IDLE_95, LC_SLOT_IDLE_80, LC_SLOT_IDLE_95,
};
static const struct warn_levels runtime_levels = {
    75, 90, LC_W_RUNTIME_75, LC_W_RUNTIME_90, LC_SLOT_RUNTIME_75, LC_SLOT_RUNTIME_90,
};

static void push_action(struct lc_result *out, enum lc_action_kind kind, int percent, int64_t at)
{
        assert(out->n_actions < LC_ACTIONS_MAX);
        out->actions[out->n_actions++] = (struct lc_action){kind, percent, at};
}

/* Records an action that is returned in the state: bits and cooldown times. */
static void mark_sent(struct lc_state *st, const struct lc_action *a, int64_t now)
{
        switch (a->kind) {
        case LC_WARN_IDLE:
                if (a->percent == 95) {
                        st->warned |= LC_W_IDLE_95 | LC_W_IDLE_80;
                        st->last_sent[LC_SLOT_IDLE_95] = now;
                } else {
                        st->warned |= LC_W_IDLE_80;
                        st->last_sent[LC_SLOT_IDLE_80] = now;
                }
                break;
        case LC_WARN_RUNTIME:
                if (a->percent == 90) {
                        st->warned |= LC_W_RUNTIME_90 | LC_W_RUNTIME_75;
                        st->last_sent[LC_SLOT_RUNTIME_90] = now;
                } else {
                        st->warned |= LC_W_RUNTIME_75;
                        st->last_sent[LC_SLOT_RUNTIME_75] = now;
                }
                break;
        case LC_NOTICE_IDLE_EXEMPT:
                st->warned |= LC_W_IDLE_EXEMPT;
                break;
        case LC_NOTICE_RUNTIME_EXEMPT:
                st->warned |= LC_W_RUNTIME_EXEMPT;
                break;
        default:
                break;
        }
}

static void decide_running(const struct lc_container *c, const struct lc_policy *p,
                           const struct lc_signals *s, const struct lc_state *prev, int64_t now,
                           struct lc_result *out)
{
        struct lc_state *st = &out->next;
        struct lc_action idle_act = {0}, rt_act = {0};
        bool have_idle = false, have_rt = false, ka_fresh = false;
        int64_t base_last, grace_end, T = out->idle_timeout, R = p->max_runtime;

        if (c->started <= 0) {
                snprintf(out->why, sizeof(out->why), "start time unknown");
                return;
        }

        /* A new start: everything afresh (cooldown times included). */
        base_last = prev->last_check;
        if (c->started != prev->started) {
                *st = (struct lc_state){.started = c->started};
                base_last = 0;
        }
        st->last_check = now;

        out->checked = true;
        out->runtime = now > c->started ? now - c->started : 0;
        grace_end = sat_add(c->started, p->grace_period);

        /* Active or idle. */
        if (now < grace_end) {
                struct tm tm;

                utc_tm(grace_end, &tm);
                out->in_grace = true;
                snprintf(out->why, sizeof(out->why), "grace period until %02d:%02d:%02d",
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
        } else {
                out->idle = !signals_active(p, s, out->why, sizeof(out->why));
        }

        if (!out->idle) {
                st->streak = 0;
                st->idle_since = 0;
                st->warned &= ~(unsigned)IDLE_BITS;
        } else {
                if (st->streak < LLONG_MAX)
                        st->streak++;
                if (st->idle_since == 0)
                        st->idle_since = MAX(grace_end, base_last > 0 ? base_last : c->started);
                st->idle_since = MAX(st->idle_since, grace_end);
                out->idle_for = now > st->idle_since ? now - st->idle_since : 0;
        }

        /* Keep-alive. */
        if (s->keepalive_mtime > 0 &&
            (p->keepalive_max == LC_NEVER || now - s->keepalive_mtime < p->keepalive_max)) {
                ka_fresh = true;
                out->keepalive_until = sat_add(s->keepalive_mtime, p->keepalive_max);
        }

        /* Idle actions. */
        if (out->idle && T != LC_NEVER) {
                long long window = MAX(p->idle_detection_window, 1LL);
                int64_t stop_due = sat_add(st->idle_since, T), window_at = INT64_MIN;

                /* When the streak reaches the window: already (no bound), or
                 * estimated from the last interval. */
                if (st->streak < window) {
                        __int128 w = now;

                        if (base_last > 0 && base_last < now)
                                w += (__int128)(window - st->streak) * (now - base_last);
                        window_at = w > INT64_MAX ? LC_NEVER : (int64_t)w;
                }
                if (!p->exempt_idle) {
                        int64_t at = MAX(stop_due, window_at);

                        if (ka_fresh)
                                at = MAX(at, out->keepalive_until);
                        out->idle_stop_at = at == LC_NEVER ? 0 : at;
                }

                if (st->streak >= window) {
                        int64_t f = out->idle_for;
                        int level = f >= T               ? 3
                                    : f >= pct_of(T, 95) ? 2
                                    : f >= pct_of(T, 80) ? 1
                                                         : 0;

                        if (p->exempt_idle) {
                                if (level == 3 && !(st->warned & LC_W_IDLE_EXEMPT)) {
                                        idle_act =
                                            (struct lc_action){LC_NOTICE_IDLE_EXEMPT, 0, now};
                                        have_idle = true;
                                }
                        } else {
                                int pct = 0;

                                if (level == 3 && (st->warned & IDLE_WARN_BITS)) {
                                        idle_act = (struct lc_action){LC_STOP_IDLE, 0, now};
                                        have_idle = true;
                                } else if (level > 0) {
                                        pct = pick_warning(&idle_levels, MIN(level, 2), p, st, now);
                                }
                                if (pct > 0) {
                                        idle_act = (struct lc_action){LC_WARN_IDLE, pct,
                                                                      out->idle_stop_at};
                                        have_idle = true;
                                }
                                if (have_idle && !s->keepalive_checked) {
                                        out->need_keepalive = true;
                                        have_idle = false;
                                } else if (have_idle && ka_fresh) {
                                        have_idle = false;
                                }
                        }
                }
        }

        /* Runtime actions. */
        if (R != LC_NEVER) {
                int64_t rt = out->runtime;
                int level = rt >= R ? 3 : rt >= pct_of(R, 90) ? 2 : rt >= pct_of(R, 75) ? 1 : 0;

                if (!p->exempt_runtime) {
                        int64_t at = sat_add(c->started, R);
                        int pct = 0;

                        out->runtime_stop_at = at == LC_NEVER ? 0 : at;
                        if (level == 3 && (st->warned & RUNTIME_WARN_BITS)) {
                                rt_act = (struct lc_action){LC_STOP_RUNTIME, 0, now};
                                have_rt = true;
                        } else if (level > 0) {
                                pct = pick_warning(&runtime_levels, MIN(level, 2), p, st, now);
                        }
                        if (pct > 0) {
                                rt_act =
                                    (struct lc_action){LC_WARN_RUNTIME, pct, out->runtime_stop_at};
                                have_rt = true;
                        }
                } else if (level == 3 && !(st->warned & LC_W_RUNTIME_EXEMPT)) {
                        rt_act = (struct lc_action){LC_NOTICE_RUNTIME_EXEMPT, 0, now};
                        have_rt = true;
                }
        }

        if (out->need_keepalive)
                return;
        if (have_idle && idle_act.kind == LC_STOP_IDLE)
                push_action(out, idle_act.kind, idle_act.percent, idle_act.at);
        else if (have_rt && rt_act.kind == LC_STOP_RUNTIME)
                push_action(out, rt_act.kind, rt_act.percent, rt_act.at);
        else {
                if (have_idle)
                        push_action(out, idle_act.kind, idle_act.percent, idle_act.at);
                if (have_rt)
                        push_action(out, rt_act.kind, rt_act.percent, rt_act.at);
        }
        for (size_t i = 0; i < out->n_actions; i++)
                mark_sent(st, &out->actions[i], now);
}

void lc_decide(const struct lc_container *c, const struct lc_policy *p, const struct lc_signals *s,
               const struct lc_state *prev, int64_t now, struct lc_result *out)
{
        int64_t at;

        assert(c && p && s && prev && out);

        *out = (struct lc_result){.next = *prev};
        out->next.last_check = now;
        out->idle_timeout = lc_effective_idle_timeout(p);

        if (c->state == LC_RUNNING && c->started > 0)
                out->runtime = now > c->started ? now - c->started : 0;

        if (p->exempt_all) {
                out->idle_timeout = LC_NEVER;
                snprintf(out->why, sizeof(out->why), "exempt: %s",
                         p->exempt_reason && *p->exempt_reason ? p->exempt_reason : "exempt_all");
                return;
        }
        if (!c->in_scope) {
                out->idle_timeout = LC_NEVER;
                snprintf(out->why, sizeof(out->why),
                         "out of scope: no GPUs (policies.enforce_cpu_only is off)");
                return;
        }

        switch (c->state) {
        case LC_RUNNING:
                decide_running(c, p, s, prev, now, out);
                return;
        case LC_CREATED:
                if (c->started != 0) {
                        snprintf(out->why, sizeof(out->why), "created, with a start time");
                        return;
                }
                snprintf(out->why, sizeof(out->why), "created, never started");
                if (c->created <= 0 || p->created_timeout == LC_NEVER)
                        return;
                at = sat_add(c->created, p->created_timeout);
                if (at == LC_NEVER)
                        return;
                out->remove_at = at;
                if (now >= at)
                        push_action(out, LC_REMOVE_CREATED, 0, now);
                return;
        case LC_STOPPED:
                snprintf(out->why, sizeof(out->why), "stopped");
                if (c->finished <= 0 || p->container_hold_after_stop == LC_NEVER)
                        return;
                at = sat_add(c->finished, p->container_hold_after_stop);
                if (at == LC_NEVER)
                        return;
                out->remove_at = at;
                if (now >= at)
                        push_action(out, LC_REMOVE_STOPPED, 0, now);
                return;
        case LC_OTHER:
        default:
                snprintf(out->why, sizeof(out->why), "not running");
                return;
        }
}

/* ---- names and messages ---- */

static const char *const action_names[] = {
    [LC_WARN_IDLE] = "warn_idle",
    [LC_STOP_IDLE] = "stop_idle",
    [LC_NOTICE_IDLE_EXEMPT] = "notice_idle_exempt",
    [LC_WARN_RUNTIME] = "warn_runtime",
    [LC_STOP_RUNTIME] = "stop_runtime",
    [LC_NOTICE_RUNTIME_EXEMPT] = "notice_runtime_exempt",
    [LC_REMOVE_STOPPED] = "remove_stopped",
    [LC_REMOVE_CREATED] = "remove_created",
};

const char *lc_action_name(enum lc_action_kind k)
{
        if ((unsigned)k >= ELEMENTSOF(action_names))
                return NULL;
        return action_names[k];
}

/* A duration for people: whole minutes from one minute on ("24m", "1h 6m"). */
static const char *human_duration(char *buf, size_t n, int64_t d)
{
        if (d < 0)
                d = 0;
        if (d >= 60 && d != LC_NEVER)
                d = (d + 30) / 60 * 60;
        return format_duration(buf, n, d);
}

/* "14:05 UTC", or "2026-07-01 14:05 UTC" when not on now's UTC day. */
static const char *human_time(char *buf, size_t n, int64_t t, int64_t now)
{
        struct tm tm, tn;

        utc_tm(t, &tm);
        utc_tm(now, &tn);
        if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
                snprintf(buf, n, "%02d:%02d UTC", tm.tm_hour, tm.tm_min);
        else
                snprintf(buf, n, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min);
        return buf;
}

/* "at 14:05 UTC (in 6m)", or "at the next check" when that time has come. */
static const char *human_when(char *buf, size_t n, int64_t at, int64_t now)
{
        char t[80], d[FORMAT_DURATION_MAX];

        if (at <= now)
                snprintf(buf, n, "at the next check");
        else
                snprintf(buf, n, "at %s (in %s)", human_time(t, sizeof(t), at, now),
                         human_duration(d, sizeof(d), at - now));
        return buf;
}

size_t lc_action_message(const struct lc_action *a, const char *name, const struct lc_result *r,
                         int64_t now, char *buf, size_t size)
{
        struct out_buf o = {buf, size, 0};
        char d1[FORMAT_DURATION_MAX], d2[FORMAT_DURATION_MAX], t[160];
        int64_t max_rt = 0;

        assert(a && r);
        if (size == 0)
                return 0;
        assert(buf);
        buf[0] = '\0';
        if (!name)
                name = "";
        if (r->runtime_stop_at > 0)
                max_rt = r->runtime_stop_at - (now - r->runtime);

        switch (a->kind) {
        case LC_WARN_IDLE:
                emit(&o,
                     "ds01: your container '%s' has had an idle GPU for %s. It will be stopped and "
                     "removed %s unless it gets busy.\n",
                     name, human_duration(d1, sizeof(d1), r->idle_for),
                     human_when(t, sizeof(t), a->at, now));
                emit(&o, "To keep it: touch /workspace/.keep-alive (inside the container).\n");
                emit(&o, "Done with it? ds01 container retire %s\n", name);
                break;
        case LC_STOP_IDLE:
                emit(&o,
                     "ds01: your container '%s' has had an idle GPU for %s and is being stopped "
                     "and removed now. Your files in /workspace are kept.\n",
                     name, human_duration(d1, sizeof(d1), r->idle_for));
                break;
        case LC_NOTICE_IDLE_EXEMPT:
                emit(&o,
                     "ds01: your container '%s' has had an idle GPU for %s, past the idle timeout "
                     "of %s. You are exempt from idle stops, so it keeps running; please free the "
                     "GPU when you no longer need it.\n",
                     name, human_duration(d1, sizeof(d1), r->idle_for),
                     human_duration(d2, sizeof(d2), r->idle_timeout));
                emit(&o, "Done with it? ds01 container retire %s\n", name);
                break;
        case LC_WARN_RUNTIME:
                emit(&o,
                     "ds01: your container '%s' has been running for %s. It will be stopped %s: "
                     "it reaches the maximum runtime of %s.\n",
                     name, human_duration(d1, sizeof(d1), r->runtime),
                     human_when(t, sizeof(t), a->at, now), human_duration(d2, sizeof(d2), max_rt));
                emit(&o, "Save your work before then; the stopped container is kept.\n");
                emit(&o, "Done with it? ds01 container retire %s\n", name);
                break;
        case LC_STOP_RUNTIME:
                emit(&o,
                     "ds01: your container '%s' has been running for %s, its maximum runtime, and "
                     "is being stopped now. The stopped container is kept.\n",
                     name, human_duration(d1, sizeof(d1), r->runtime));
                emit(&o, "Done with it? ds01 container retire %s\n", name);
                break;
        case LC_NOTICE_RUNTIME_EXEMPT:
                emit(&o,
                     "ds01: your container '%s' has been running for %s, past the maximum runtime "
                     "of %s. You are exempt from runtime stops, so it keeps running.\n",
                     name, human_duration(d1, sizeof(d1), r->runtime),
                     human_duration(d2, sizeof(d2), max_rt));
                emit(&o, "Done with it? ds01 container retire %s\n", name);
                break;
        case LC_REMOVE_STOPPED:
                emit(&o,
                     "ds01: your container '%s' has been stopped for longer than it is kept and "
                     "is being removed now. Your files in /workspace are kept.\n",
                     name);
                break;
        case LC_REMOVE_CREATED:
                emit(&o,
                     "ds01: your container '%s' was created but never started and is being "
                     "removed now.\n",
                     name);
                break;
        default:
                break;
        }
        return o.len;
}

/* ---- counters ---- */

double lc_cpu_percent(uint64_t prev_ns, uint64_t cur_ns, double dt_s)
{
        if (prev_ns == 0 || cur_ns < prev_ns || !(dt_s > 0) || isinf(dt_s))
                return -1;
        return (double)(cur_ns - prev_ns) / 1e9 / dt_s * 100.0;
}

uint64_t lc_counter_delta(uint64_t prev, uint64_t cur)
{
        return cur >= prev ? cur - prev : cur;
}
