/* SPDX-License-Identifier: MIT */
/*
 * hostproc-glue.c - GPU processes outside containers in ds01d. After a GPU
 * sample, once every hostproc.scan_interval_s, every process NVML lists is
 * read from /proc (hostproc/hostproc.h): system processes (the driver's
 * daemons, nvidia-smi, ...) are left out; a process in a container that
 * holds its slot is that container's business; the others, host processes
 * and container escapes, go through the two-scan tracker, which says what
 * is confirmed (event detection.host_gpu_process_discovered) and what is
 * gone (detection.host_gpu_process_exited). Confirmed entries mark their
 * slot (slot_view.host_procs), which the allocator avoids.
 *
 * bare_metal_access.policy acts on confirmed host processes (never on
 * escapes) of users with neither a grant nor an exemption: report does
 * nothing more; warn tells the user on their terminals, again after each
 * notify cooldown; stop tells them when, then SIGTERM after stop_grace_s and
 * SIGKILL after sigterm_grace_s more, by pid and start time so a recycled pid
 * is never hit. The 250 ms tick sends what is due and ends expired grants.
 *
 * Everything here runs on the main thread and keeps its state in struct
 * ds01d under d->lock; terminals are written after the lock is let go.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "hostproc/hostproc.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

#define PROC_ROOT     "/proc"
#define SCAN_SLACK_US 200000 /* samples come at least an interval apart; allow their jitter */
#define UID_CACHE_MAX 64
#define ALLOWED_CACHE 32
#define NOTE_TEXT_MAX 1024
#define NOTES_MAX     256

/* ---- messages for terminals, written after the lock is let go ---- */

struct note {
        char user[HP_USER_MAX];
        char *text;
};

struct notes {
        struct note *v;
        size_t n;
};

static void notes_add(struct notes *ns, const char *user, const char *text)
{
        struct note *v;
        char *t;

        if (isempty(user) || ns->n >= NOTES_MAX)
                return;
        for (size_t i = 0; i < ns->n; i++)
                if (streq(ns->v[i].user, user) && streq(ns->v[i].text, text))
                        return;
        t = strdup(text);
        v = t ? reallocarray(ns->v, ns->n + 1, sizeof(*v)) : NULL;
        if (!v) {
                free(t);
                return;
        }
        ns->v = v;
        (void)strscpy(v[ns->n].user, sizeof(v[ns->n].user), user);
        v[ns->n++].text = t;
}

static void notes_send(struct ds01d *d, struct notes *ns)
{
        for (size_t i = 0; i < ns->n; i++) {
                int r = daemon_notify_user(d, ns->v[i].user, ns->v[i].text);
                if (r < 0)
                        log_debug_errno(r, "cannot tell %s on a terminal: %m", ns->v[i].user);
                free(ns->v[i].text);
        }
        free(ns->v);
        *ns = (struct notes){0};
}

/* ---- events: one transaction for what one scan or tick writes ---- */

struct batch {
        bool open;
        bool tx; /* false: BEGIN failed, each event goes on its own */
};

static void batch_event(struct ds01d *d, struct batch *b, const char *type, const char *user,
                        json_t *details)
{
        if (!b->open) {
                b->open = true;
                b->tx = store_begin(d->store) >= 0;
        }
        if (b->tx)
                daemon_event(d, type, isempty(user) ? NULL : user, details);
        else
                daemon_event_now(d, type, isempty(user) ? NULL : user, details);
}

static void batch_end(struct ds01d *d, struct batch *b)
{
        if (b->open && b->tx) {
                int r = state_commit(d, 0);
                if (r < 0)
                        log_warning_errno(r, "cannot record GPU process events: %m");
        }
        *b = (struct batch){0};
}

/* ---- entries whose warning announced a stop ---- */

static bool same_proc(const struct hp_seen *a, const struct hp_seen *b)
{
        return a->pid == b->pid && a->start_time == b->start_time && streq(a->slot, b->slot);
}

static ssize_t mark_find(const struct ds01d *d, const struct hp_seen *p)
{
        for (size_t i = 0; i < d->n_hp_stop_marks; i++)
                if (same_proc(&d->hp_stop_marks[i], p))
                        return (ssize_t)i;
        return -1;
}

static int mark_add(struct ds01d *d, const struct hp_seen *p)
{
        struct hp_seen *v;

        if (mark_find(d, p) >= 0)
                return 0;
        v = reallocarray(d->hp_stop_marks, d->n_hp_stop_marks + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        d->hp_stop_marks = v;
        v[d->n_hp_stop_marks++] = *p;
        return 0;
}

static void mark_remove(struct ds01d *d, size_t i)
{
        d->hp_stop_marks[i] = d->hp_stop_marks[--d->n_hp_stop_marks];
        if (d->n_hp_stop_marks == 0)
                d->hp_stop_marks = mfree(d->hp_stop_marks);
}

/* Forget marks of processes the tracker no longer holds as confirmed. */
static void marks_prune(struct ds01d *d)
{
        for (size_t i = d->n_hp_stop_marks; i-- > 0;) {
                bool kept = false;
                for (size_t j = 0; d->hp && j < d->hp->n && !kept; j++)
                        kept = d->hp->e[j].state == HP_CONFIRMED &&
                               same_proc(&d->hp->e[j].p, &d->hp_stop_marks[i]);
                if (!kept)
                        mark_remove(d, i);
        }
}

/* ---- reading the processes (no lock) ---- */

struct uid_cache {
        struct {
                uid_t uid;
                char name[HP_USER_MAX];
        } v[UID_CACHE_MAX];
        size_t n;
};

/* The login name of uid, or the number when NSS does not know it. */
static void uid_name(struct uid_cache *c, uid_t uid, char out[HP_USER_MAX])
{
        struct passwd pw, *pwp = NULL;
        char buf[16384];

        for (size_t i = 0; i < c->n; i++)
                if (c->v[i].uid == uid) {
                        memcpy(out, c->v[i].name, HP_USER_MAX);
                        return;
                }
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp ||
            strscpy(out, HP_USER_MAX, pw.pw_name) < 0)
                snprintf(out, HP_USER_MAX, "%u", (unsigned)uid);
        if (c->n < UID_CACHE_MAX) {
                c->v[c->n].uid = uid;
                memcpy(c->v[c->n++].name, out, HP_USER_MAX);
        }
}

/* One process of the sample as the tracker wants it; false when it is gone,
 * unreadable or a system process. Container processes get their owner later,
 * under the lock. */
static bool read_proc(const struct gpu_topology *t, const struct gpu_process *gp,
                      struct uid_cache *uc, struct hp_seen *ret)
{
        struct hp_proc p;
        int r;

        if (gp->slot >= t->n_slots || gp->pid == 0)
                return false;
        r = hp_proc_read(PROC_ROOT, (pid_t)gp->pid, &p);
        if (r < 0) {
                if (r != -ENOENT)
                        log_debug_errno(r, "cannot read process %u: %m", gp->pid);
                return false;
        }
        if (hp_is_system_process(p.comm, p.cmdline))
                return false;
        *ret = (struct hp_seen){
            .pid = p.pid,
            .start_time = p.start_time,
            .memory = gp->used_memory == GPU_MEMORY_UNKNOWN ? UINT64_MAX : gp->used_memory,
        };
        (void)strscpy(ret->slot, sizeof(ret->slot), t->slots[gp->slot].name);
        memcpy(ret->cmdline, p.cmdline, sizeof(ret->cmdline));
        memcpy(ret->container_id, p.container_id, sizeof(ret->container_id));
        if (!p.container_id[0]) {
                uid_name(uc, p.uid, ret->user);
                if (p.loginuid >= 0 && p.loginuid != (int64_t)p.uid)
                        uid_name(uc, (uid_t)p.loginuid, ret->login_user);
        }
        return true;
}

/* ---- the policy (lock held) ---- */

struct allowed_cache {
        struct {
                char user[HP_USER_MAX];
                bool allowed;
        } v[ALLOWED_CACHE];
        size_t n;
};

static bool user_allowed(struct ds01d *d, struct allowed_cache *c, const char *user)
{
        char why[128];
        bool allowed;

        for (size_t i = 0; i < c->n; i++)
                if (streq(c->v[i].user, user))
                        return c->v[i].allowed;
        allowed = access_allowed(d, user, why, sizeof(why));
        if (c->n < ALLOWED_CACHE) {
                (void)strscpy(c->v[c->n].user, sizeof(c->v[c->n].user), user);
                c->v[c->n++].allowed = allowed;
        }
        return allowed;
}

static void tell(struct notes *notes, const struct hp_entry *e, const char *text)
{
        notes_add(notes, e->p.user, text);
        if (e->p.login_user[0])
                notes_add(notes, e->p.login_user, text);
}

static void warn(struct ds01d *d, struct hp_entry *e, bool stop, int64_t now, struct batch *b,
                 struct notes *notes)
{
        const struct global_settings *gs = &d->settings;
        char text[NOTE_TEXT_MAX], when[32] = "", stop_line[128] = "";

        batch_event(d, b, "bare_metal.warning", e->p.user,
                    json_pack("{s:I, s:s, s:s, s:s, s:s}", "pid", (json_int_t)e->p.pid, "user",
                              e->p.user, "slot", e->p.slot, "command", e->p.cmdline, "policy",
                              stop ? "stop" : "warn"));
        if (stop) {
                time_t at = (time_t)(now + gs->bare_metal_stop_grace);
                struct tm tm;

                gmtime_r(&at, &tm);
                strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
                snprintf(stop_line, sizeof(stop_line), "It will be stopped at %s (in %lld s).\n",
                         when, (long long)gs->bare_metal_stop_grace);
        }
        snprintf(text, sizeof(text),
                 "A GPU process of yours runs outside a container:\n"
                 "  pid %d on GPU slot %s: %s\n"
                 "%s"
                 "GPUs on this server are used through containers: ds01 container deploy NAME\n"
                 "A GPU outside a container needs a bare-metal grant: ask an admin\n"
                 "('ds01 access status' shows whether you have one).",
                 (int)e->p.pid, e->p.slot, e->p.cmdline, stop_line);
        tell(notes, e, text);
        if (stop)
                log_notice("bare-metal GPU process warned: pid=%d user=%s slot=%s policy=stop "
                           "stop_in_s=%lld",
                           (int)e->p.pid, e->p.user, e->p.slot,
                           (long long)gs->bare_metal_stop_grace);
        else
                log_notice("bare-metal GPU process warned: pid=%d user=%s slot=%s policy=warn",
                           (int)e->p.pid, e->p.user, e->p.slot);
}

/* SIGTERM or SIGKILL to a confirmed host process; the event only when the
 * signal reached it (a process already gone is the exit scan's news). */
static void signal_proc(struct ds01d *d, struct hp_entry *e, int sig, struct batch *b,
                        struct notes *notes)
{
        const char *name = sig == SIGKILL ? "SIGKILL" : "SIGTERM";
        char text[NOTE_TEXT_MAX];
        int r;

        r = hp_proc_signal(PROC_ROOT, e->p.pid, e->p.start_time, sig);
        if (r < 0) {
                if (r != -ESRCH)
                        log_warning_errno(r, "cannot send %s to GPU process %d of %s: %m", name,
                                          (int)e->p.pid, e->p.user);
                return;
        }
        batch_event(d, b, "detection.host_gpu_process_stopped", e->p.user,
                    json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t)e->p.pid, "user",
                              e->p.user, "slot", e->p.slot, "signal", name));
        if (sig == SIGKILL)
                snprintf(text, sizeof(text),
                         "Your GPU process pid %d on GPU slot %s (%s) did not end after SIGTERM;\n"
                         "ds01 killed it (SIGKILL).\n"
                         "GPUs on this server are used through containers: ds01 container deploy "
                         "NAME",
                         (int)e->p.pid, e->p.slot, e->p.cmdline);
        else
                snprintf(text, sizeof(text),
                         "ds01 stopped your GPU process pid %d on GPU slot %s (%s) with SIGTERM:\n"
                         "it ran outside a container without a bare-metal grant.\n"
                         "GPUs on this server are used through containers: ds01 container deploy "
                         "NAME",
                         (int)e->p.pid, e->p.slot, e->p.cmdline);
        tell(notes, e, text);
        log_notice("bare-metal GPU process stopped: pid=%d user=%s slot=%s signal=%s",
                   (int)e->p.pid, e->p.user, e->p.slot, name);
}

static void clear_countdown(struct ds01d *d, struct hp_entry *e)
{
        ssize_t m = mark_find(d, &e->p);

        if (m >= 0) {
                mark_remove(d, (size_t)m);
                log_info("bare-metal GPU process countdown cleared: pid=%d user=%s slot=%s",
                         (int)e->p.pid, e->p.user, e->p.slot);
        }
        e->sigterm_at = 0;
        e->sigkill_at = 0;
}

/* What bare_metal_access.policy says now, for every confirmed host process. */
static void apply_policy(struct ds01d *d, int64_t now, struct batch *b, struct notes *notes)
{
        const struct global_settings *gs = &d->settings;
        const char *policy = gs->bare_metal_policy ? gs->bare_metal_policy : "report";
        bool warn_policy = streq(policy, "warn"), stop_policy = streq(policy, "stop");
        struct allowed_cache cache = {.n = 0};

        for (size_t i = 0; d->hp && i < d->hp->n; i++) {
                struct hp_entry *e = &d->hp->e[i];

                if (e->state != HP_CONFIRMED || e->p.container_id[0])
                        continue; /* escapes are reported, never acted on */
                if ((!warn_policy && !stop_policy) || user_allowed(d, &cache, e->p.user)) {
                        clear_countdown(d, e);
                        e->warned_at = 0;
                        continue;
                }
                if (warn_policy) {
                        clear_countdown(d, e);
                        /* again after the cooldown (at least a scan: a cooldown of 0
                         * must not mean a message every tick) */
                        if (e->warned_at == 0 ||
                            now >= e->warned_at + MAX(gs->notify_cooldown, gs->scan_interval)) {
                                warn(d, e, false, now, b, notes);
                                e->warned_at = now;
                        }
                        continue;
                }
                if (mark_find(d, &e->p) < 0) {
                        /* the countdown starts with a warning that says when */
                        if (mark_add(d, &e->p) < 0)
                                continue; /* no memory: try again next tick */
                        e->warned_at = now;
                        e->sigterm_at = 0;
                        e->sigkill_at = 0;
                        warn(d, e, true, now, b, notes);
                } else if (e->sigterm_at == 0 && now >= e->warned_at + gs->bare_metal_stop_grace) {
                        signal_proc(d, e, SIGTERM, b, notes);
                        e->sigterm_at = now;
                } else if (e->sigterm_at != 0 && e->sigkill_at == 0 &&
                           now >= e->sigterm_at + gs->bare_metal_sigterm_grace) {
                        signal_proc(d, e, SIGKILL, b, notes);
                        e->sigkill_at = now;
                }
        }
}

/* ---- the scan (lock held for what touches the state) ---- */

static const struct store_container *container_find(const struct store_container *c, size_t n,
                                                    const char *id)
{
        for (size_t i = 0; i < n; i++)
                if (streq(c[i].id, id))
                        return &c[i];
        return NULL;
}

/* Does the container with Docker id `id` (row c, may be NULL) hold slot? */
static bool holds_slot(const struct store_alloc *a, size_t n, const struct store_container *c,
                       const char *id, const char *slot)
{
        for (size_t i = 0; i < n; i++) {
                if (!streq(a[i].slot, slot))
                        continue;
                if (streq(a[i].container_id, id) || streq(a[i].container, id) ||
                    (c && c->name[0] && streq(a[i].container, c->name)))
                        return true;
        }
        return false;
}

static void count_slots(struct ds01d *d)
{
        for (size_t i = 0; i < d->n_slots; i++)
                d->slots[i].host_procs = 0;
        for (size_t i = 0; d->hp && i < d->hp->n; i++) {
                int k;
                if (d->hp->e[i].state != HP_CONFIRMED)
                        continue;
                k = state_slot_index(d, d->hp->e[i].p.slot);
                if (k >= 0)
                        d->slots[k].host_procs++;
        }
}

static json_t *json_str_or_null(const char *s)
{
        return isempty(s) ? json_null() : json_string(s);
}

static void scan_locked(struct ds01d *d, struct hp_seen *seen, size_t n, int64_t now_u,
                        struct notes *notes)
{
        struct store_alloc_filter f = {.in_force_only = true};
        struct store_alloc *allocs = NULL;
        struct store_container *cs = NULL;
        size_t n_allocs = 0, n_cs = 0, k = 0;
        struct hp_changes ch = {0};
        struct batch b = {0};
        int64_t now = now_u / 1000000;
        bool containers = false;
        int r;

        d->hp_last_scan = now_u;
        for (size_t i = 0; i < n; i++)
                containers = containers || seen[i].container_id[0];
        if (containers) {
                r = store_alloc_list(d->store, &f, &allocs, &n_allocs);
                if (r >= 0)
                        r = store_container_list_live(d->store, &cs, &n_cs);
                if (r < 0) {
                        /* without them a container's own process would look
                         * like an escape: skip this scan */
                        log_warning_errno(r, "GPU process scan skipped: cannot read the state: %m");
                        goto out;
                }
        }
        /* a container holding the slot is fine; one that does not escaped */
        for (size_t i = 0; i < n; i++) {
                struct hp_seen *p = &seen[i];

                if (p->container_id[0]) {
                        const struct store_container *c = container_find(cs, n_cs, p->container_id);
                        if (holds_slot(allocs, n_allocs, c, p->container_id, p->slot))
                                continue;
                        (void)strscpy(p->user, sizeof(p->user), c ? c->user : "");
                }
                if (k != i)
                        seen[k] = *p;
                k++;
        }
        if (!d->hp) {
                d->hp = calloc(1, sizeof(*d->hp));
                if (!d->hp) {
                        log_warning("GPU process scan skipped: out of memory");
                        goto out;
                }
        }
        r = hp_tracker_update(d->hp, seen, k, now, &ch);
        if (r < 0) {
                log_warning_errno(r, "GPU process scan skipped: %m");
                goto out;
        }
        for (size_t i = 0; i < ch.n_discovered; i++) {
                const struct hp_entry *e = &d->hp->e[ch.discovered[i]];
                const struct store_container *c =
                    e->p.container_id[0] ? container_find(cs, n_cs, e->p.container_id) : NULL;

                batch_event(d, &b, "detection.host_gpu_process_discovered", e->p.user,
                            json_pack("{s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "pid",
                                      (json_int_t)e->p.pid, "user", e->p.user, "login_user",
                                      json_str_or_null(e->p.login_user), "command", e->p.cmdline,
                                      "slot", e->p.slot, "memory_bytes",
                                      e->p.memory == UINT64_MAX
                                          ? json_null()
                                          : json_integer((json_int_t)e->p.memory),
                                      "container", json_str_or_null(e->p.container_id),
                                      "container_name", json_str_or_null(c ? c->name : NULL)));
                log_notice("GPU process outside containers: pid=%d user=%s slot=%s container=%s "
                           "command=%s",
                           (int)e->p.pid, e->p.user, e->p.slot,
                           e->p.container_id[0] ? e->p.container_id : "-", e->p.cmdline);
        }
        for (size_t i = 0; i < ch.n_exited; i++) {
                const struct hp_entry *e = &ch.exited[i];

                batch_event(d, &b, "detection.host_gpu_process_exited", e->p.user,
                            json_pack("{s:I, s:s, s:s, s:s, s:I}", "pid", (json_int_t)e->p.pid,
                                      "user", e->p.user, "slot", e->p.slot, "command", e->p.cmdline,
                                      "duration_s", (json_int_t)(e->last_seen - e->first_seen)));
                log_info("GPU process outside containers ended: pid=%d user=%s slot=%s",
                         (int)e->p.pid, e->p.user, e->p.slot);
        }
        marks_prune(d);
        count_slots(d);
        apply_policy(d, now, &b, notes);
        batch_end(d, &b);
out:
        hp_changes_release(&ch);
        free(allocs);
        free(cs);
}

void hostproc_scan(struct ds01d *d, const struct gpu_sample *s)
{
        const struct gpu_topology *t;
        struct uid_cache uc = {.n = 0};
        struct notes notes = {0};
        struct hp_seen *seen = NULL;
        size_t n = 0;
        int64_t now = now_us();
        bool due;

        if (!d->gpu || !s)
                return;
        pthread_mutex_lock(&d->lock);
        due = d->hp_last_scan == 0 ||
              now - d->hp_last_scan + SCAN_SLACK_US >= d->settings.scan_interval * 1000000;
        pthread_mutex_unlock(&d->lock);
        if (!due)
                return;

        t = gpu_ctx_topology(d->gpu);
        if (s->n_procs > 0) {
                seen = calloc(s->n_procs, sizeof(*seen));
                if (!seen) {
                        log_warning("GPU process scan skipped: out of memory");
                        return;
                }
        }
        for (size_t i = 0; i < s->n_procs; i++)
                if (read_proc(t, &s->procs[i], &uc, &seen[n]))
                        n++;

        pthread_mutex_lock(&d->lock);
        scan_locked(d, seen, n, now, &notes);
        pthread_mutex_unlock(&d->lock);
        free(seen);
        notes_send(d, &notes);
}

/* ---- the tick: signals due, grants that ended ---- */

static void expire_grants(struct ds01d *d, int64_t now, struct batch *b)
{
        struct store_grant *g = NULL;
        size_t n = 0;
        int r;

        if (now == d->hp_grants_checked)
                return; /* once a second is enough */
        d->hp_grants_checked = now;
        r = store_grant_list(d->store, &g, &n);
        if (r < 0) {
                log_debug_errno(r, "cannot read bare-metal grants: %m");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (g[i].expires == 0 || g[i].expires > now)
                        continue;
                if (!b->open) {
                        b->open = true;
                        b->tx = store_begin(d->store) >= 0;
                }
                r = store_grant_delete(d->store, g[i].user);
                if (r < 0) {
                        log_warning_errno(r, "cannot end the bare-metal grant of %s: %m",
                                          g[i].user);
                        continue;
                }
                batch_event(d, b, "access.revoke", g[i].user,
                            json_pack("{s:s, s:s, s:s}", "user", g[i].user, "reason", "expired",
                                      "granted_by", g[i].granted_by));
                log_info("bare-metal grant ended: user=%s reason=expired", g[i].user);
        }
        free(g);
}

void hostproc_tick(struct ds01d *d)
{
        struct notes notes = {0};
        struct batch b = {0};
        int64_t now = now_us() / 1000000;

        pthread_mutex_lock(&d->lock);
        if (!d->stopping) {
                expire_grants(d, now, &b);
                apply_policy(d, now, &b, &notes);
                batch_end(d, &b);
        }
        pthread_mutex_unlock(&d->lock);
        notes_send(d, &notes);
}

void hostproc_release(struct ds01d *d)
{
        hp_tracker_release(d->hp);
        d->hp = mfree(d->hp);
        d->hp_stop_marks = mfree(d->hp_stop_marks);
        d->n_hp_stop_marks = 0;
}
