/* SPDX-License-Identifier: MIT */
/*
 * access.c - bare-metal access: who may use GPUs outside containers (a grant
 * in the access_grants table, or bare_metal_access.exempt_users), and the
 * control API endpoints for grants and for the GPU processes outside
 * containers that hostproc-glue.c tracks:
 *   POST   /v1/access/grants          grant (admins, bare_metal_access.admin_group)
 *   DELETE /v1/access/grants/USER     revoke (same)
 *   GET    /v1/access/grants          list (others: their own)
 *   GET    /v1/access/status[?user=]  allowed or not, why, and the processes
 *   GET    /v1/hostprocs              the processes (others: their own)
 * Those who may grant also see everyone's grants, status and processes.
 * Grants end by themselves: hostproc_tick deletes expired ones.
 */
#include <errno.h>
#include <grp.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "daemon/api.h"
#include "daemon/daemon.h"
#include "hostproc/hostproc.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strutil.h"

/* A grant longer than this is a mistake in the number (and would overflow). */
#define GRANT_MAX_S (100LL * 365 * 24 * 3600)

/* ---- who may use GPUs outside containers ---- */

static void format_time_s(char *buf, size_t n, int64_t s)
{
        time_t t = (time_t)s;
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool grant_in_force(const struct store_grant *g, int64_t now_s)
{
        return g->expires == 0 || g->expires > now_s;
}

/* The grant of user (expired or not). 0, -ENOENT or -errno. Lock held. */
static int grant_find(struct ds01d *d, const char *user, struct store_grant *ret)
{
        struct store_grant *g = NULL;
        size_t n = 0;
        int r;

        r = store_grant_list(d->store, &g, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n; i++)
                if (streq(g[i].user, user)) {
                        *ret = g[i];
                        r = 0;
                        break;
                }
        free(g);
        return r;
}

static bool is_exempt(const struct ds01d *d, const char *user)
{
        for (size_t i = 0; i < d->settings.n_bare_metal_exempt_users; i++)
                if (streq(d->settings.bare_metal_exempt_users[i], user))
                        return true;
        return false;
}

bool access_allowed(struct ds01d *d, const char *user, char *why, size_t why_size)
{
        struct store_grant g;
        int64_t now = now_us() / 1000000;
        char when[32];

        if (isempty(user)) {
                snprintf(why, why_size, "no grant");
                return false;
        }
        if (is_exempt(d, user)) {
                snprintf(why, why_size, "exempt (bare_metal_access.exempt_users)");
                return true;
        }
        /* root's own GPU processes are the administrators' business: they
         * are reported, never warned about or signalled */
        if (streq(user, "root") || streq(user, "0")) {
                snprintf(why, why_size, "root (administrator)");
                return true;
        }
        for (size_t i = 0; i < d->settings.n_admin_users; i++)
                if (streq(d->settings.admin_users[i], user)) {
                        snprintf(why, why_size, "ds01 admin (access_control.admin_users)");
                        return true;
                }
        if (grant_find(d, user, &g) >= 0 && grant_in_force(&g, now)) {
                if (g.expires == 0) {
                        snprintf(why, why_size, "permanent grant");
                } else {
                        format_time_s(when, sizeof(when), g.expires);
                        snprintf(why, why_size, "grant until %s", when);
                }
                return true;
        }
        snprintf(why, why_size, "no grant");
        return false;
}

/* ---- who may grant ---- */

/* Is user (primary group `primary`) a member of group? As control.c's
 * in_admin_group. */
static bool in_group(const char *user, gid_t primary, const char *group)
{
        struct group gr, *grp = NULL;
        char buf[16384];
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (isempty(group) || getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 || !grp)
                return false;
        if (getgrouplist(user, primary, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == grp->gr_gid)
                        return true;
        return false;
}

/* Admins, and members of bare_metal_access.admin_group (default: the admin
 * group). ret_group gets the group's name for the refusal. */
static bool may_manage(struct ds01d *d, const struct request_ctx *rc, char *ret_group,
                       size_t group_size)
{
        const char *g;
        gid_t gid = rc->gid;

        pthread_mutex_lock(&d->lock);
        g = d->settings.bare_metal_admin_group ? d->settings.bare_metal_admin_group
                                               : d->settings.admin_group;
        (void)strscpy(ret_group, group_size, g ? g : DEFAULT_ADMIN_GROUP);
        pthread_mutex_unlock(&d->lock);
        if (rc->admin)
                return true;
        (void)daemon_user_ids(rc->user, NULL, &gid);
        return in_group(rc->user, gid, ret_group);
}

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
        return isempty(s) ? json_null() : json_string(s);
}

static json_t *grant_json(const struct store_grant *g)
{
        return json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "user", g->user, "granted_by",
                         g->granted_by, "reason", str_or_null(g->reason), "granted_at",
                         json_time_us(g->granted_at), "expires_at",
                         g->expires ? json_time_us(g->expires * 1000000) : json_null(), "permanent",
                         g->expires == 0);
}

/* What one request needs to describe processes (lock held while used). */
struct proc_view {
        struct ds01d *d;
        const char *policy;
        struct store_container *cs; /* for container names; loaded on first need */
        size_t n_cs;
        bool cs_loaded;
        struct {
                char user[HP_USER_MAX];
                bool allowed;
                bool exempt;
        } cache[32];
        size_t n_cache;
};

static void view_release(struct proc_view *v)
{
        free(v->cs);
}

static bool view_allowed(struct proc_view *v, const char *user, bool *ret_exempt)
{
        char why[128];
        bool allowed;

        for (size_t i = 0; i < v->n_cache; i++)
                if (streq(v->cache[i].user, user)) {
                        *ret_exempt = v->cache[i].exempt;
                        return v->cache[i].allowed;
                }
        allowed = access_allowed(v->d, user, why, sizeof(why));
        *ret_exempt = allowed && startswith(why, "exempt");
        if (v->n_cache < ELEMENTSOF(v->cache)) {
                (void)strscpy(v->cache[v->n_cache].user, sizeof(v->cache[0].user), user);
                v->cache[v->n_cache].allowed = allowed;
                v->cache[v->n_cache++].exempt = *ret_exempt;
        }
        return allowed;
}

static const char *container_name(struct proc_view *v, const char *id)
{
        if (!v->cs_loaded) {
                v->cs_loaded = true;
                if (store_container_list_live(v->d->store, &v->cs, &v->n_cs) < 0) {
                        v->cs = NULL;
                        v->n_cs = 0;
                }
        }
        for (size_t i = 0; i < v->n_cs; i++)
                if (streq(v->cs[i].id, id))
                        return v->cs[i].name;
        return NULL;
}

static bool stop_marked(const struct ds01d *d, const struct hp_seen *p)
{
        for (size_t i = 0; i < d->n_hp_stop_marks; i++) {
                const struct hp_seen *m = &d->hp_stop_marks[i];
                if (m->pid == p->pid && m->start_time == p->start_time && streq(m->slot, p->slot))
                        return true;
        }
        return false;
}

static json_t *proc_json(struct proc_view *v, const struct hp_entry *e)
{
        const struct global_settings *gs = &v->d->settings;
        const char *action = v->policy;
        bool exempt = false, escape = e->p.container_id[0] != '\0';
        json_t *stop_at = json_null();

        if (escape)
                action = "report"; /* escapes are reported, never acted on */
        else if (view_allowed(v, e->p.user, &exempt))
                action = exempt ? "none (exempt)" : "none (grant)";
        else if (streq(action, "stop") && e->state == HP_CONFIRMED && e->warned_at > 0 &&
                 stop_marked(v->d, &e->p)) {
                json_decref(stop_at);
                stop_at = json_time_us((e->warned_at + gs->bare_metal_stop_grace) * 1000000);
        }
        return json_pack(
            "{s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:o}", "pid",
            (json_int_t)e->p.pid, "user", e->p.user, "login_user", str_or_null(e->p.login_user),
            "command", e->p.cmdline, "slot", e->p.slot, "memory_bytes",
            e->p.memory == UINT64_MAX ? json_null() : json_integer((json_int_t)e->p.memory),
            "container", str_or_null(e->p.container_id), "container_name",
            escape ? str_or_null(container_name(v, e->p.container_id)) : json_null(), "first_seen",
            json_time_us(e->first_seen * 1000000), "confirmed", e->state == HP_CONFIRMED, "action",
            action, "stop_at", stop_at);
}

/* The processes user (NULL: everyone) runs or started (login user). */
static json_t *procs_json(struct ds01d *d, const char *user)
{
        struct proc_view v = {.d = d};
        const char *p = d->settings.bare_metal_policy;
        json_t *a = json_array();

        v.policy = p && (streq(p, "warn") || streq(p, "stop")) ? p : "report";
        for (size_t i = 0; d->hp && i < d->hp->n; i++) {
                const struct hp_entry *e = &d->hp->e[i];
                if (user && !streq(e->p.user, user) && !streq(e->p.login_user, user))
                        continue;
                json_array_append_new(a, proc_json(&v, e));
        }
        view_release(&v);
        return a;
}

/* ---- handlers ---- */

static enum MHD_Result h_grant(struct ds01d *d, struct MHD_Connection *conn, struct request_ctx *rc)
{
        static const char *const allowed[] = {"user", "duration_s", "permanent", "reason", NULL};
        struct store_grant g = {.expires = 0};
        char err[256], group[STORE_NAME_MAX];
        const char *user, *reason = NULL;
        json_t *b, *dur, *perm, *rs, *ans;
        bool permanent;
        int64_t duration = 0;
        int r;

        if (!may_manage(d, rc, group, sizeof(group)))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "only ds01 admins or members of %s may grant bare-metal "
                                       "access",
                                       group);
        b = api_parse_body(rc, allowed, err, sizeof(err));
        if (!b)
                return api_reply_error(conn, 400, "BAD_REQUEST", "%s", err);
        user = json_string_value(json_object_get(b, "user"));
        dur = json_object_get(b, "duration_s");
        perm = json_object_get(b, "permanent");
        rs = json_object_get(b, "reason");
        if (isempty(user) || strlen(user) >= sizeof(g.user)) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "user is required: a user name (under %zu bytes)",
                                       sizeof(g.user));
        }
        if (daemon_user_ids(user, NULL, NULL) < 0) {
                enum MHD_Result ret =
                    api_reply_error(conn, 400, "BAD_REQUEST", "no such user '%s'", user);
                json_decref(b);
                return ret;
        }
        if (perm && !json_is_boolean(perm)) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST", "permanent must be true or false");
        }
        if (dur && !json_is_null(dur) && !json_is_integer(dur)) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "duration_s must be a whole number of seconds, or null "
                                       "(permanent)");
        }
        if (json_is_integer(dur) && json_integer_value(dur) <= 0) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST", "duration_s must be > 0");
        }
        if (json_is_integer(dur) && json_integer_value(dur) > GRANT_MAX_S) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "duration_s must be at most %lld (100 years); for no end "
                                       "use permanent",
                                       GRANT_MAX_S);
        }
        if (json_is_integer(dur) && json_is_true(perm)) {
                json_decref(b);
                return api_reply_error(conn, 400, "BAD_REQUEST",
                                       "give duration_s or permanent: true, not both");
        }
        if (rs && !json_is_null(rs)) {
                reason = json_string_value(rs);
                if (!reason || strlen(reason) >= sizeof(g.reason)) {
                        json_decref(b);
                        return api_reply_error(conn, 400, "BAD_REQUEST",
                                               "reason must be a string (under %zu bytes)",
                                               sizeof(g.reason));
                }
        }
        permanent = json_is_true(perm) || json_is_null(dur);
        if (json_is_integer(dur))
                duration = json_integer_value(dur);

        (void)strscpy(g.user, sizeof(g.user), user);
        (void)strscpy(g.granted_by, sizeof(g.granted_by), rc->user);
        (void)strscpy(g.reason, sizeof(g.reason), reason ? reason : "");
        pthread_mutex_lock(&d->lock);
        if (!permanent && !dur)
                duration = d->settings.default_grant_duration;
        if (!permanent && (duration <= 0 || duration > GRANT_MAX_S))
                permanent = true; /* a default of "never ends" */
        g.granted_at = now_us();
        g.expires = permanent ? 0 : g.granted_at / 1000000 + duration;
        r = store_begin(d->store);
        if (r >= 0)
                r = store_grant_put(d->store, &g);
        if (r >= 0)
                daemon_event(d, "access.grant", g.user,
                             json_pack("{s:s, s:s, s:o, s:o}", "user", g.user, "granted_by",
                                       g.granted_by, "expires_at",
                                       g.expires ? json_time_us(g.expires * 1000000) : json_null(),
                                       "reason", str_or_null(g.reason)));
        r = state_commit(d, r);
        pthread_mutex_unlock(&d->lock);
        json_decref(b);
        if (r < 0) {
                log_error_errno(r, "cannot record the bare-metal grant of %s: %m", g.user);
                return api_reply_error(conn, 500, "INTERNAL",
                                       "the grant could not be recorded; see the ds01d log");
        }
        log_info("bare-metal grant: user=%s granted_by=%s expires=%lld", g.user, g.granted_by,
                 (long long)g.expires);
        ans = json_pack("{s:o}", "grant", grant_json(&g));
        return api_reply(conn, 201, ans);
}

static enum MHD_Result h_revoke(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc, const char *user)
{
        static const char *const allowed[] = {"reason", NULL};
        struct store_grant g;
        char err[256], group[STORE_NAME_MAX];
        const char *reason = "revoked";
        json_t *b, *rs;
        int r;

        if (!may_manage(d, rc, group, sizeof(group)))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "only ds01 admins or members of %s may revoke bare-metal "
                                       "access",
                                       group);
        if (strlen(user) >= STORE_NAME_MAX || strchr(user, '/'))
                return api_reply_error(conn, 400, "BAD_REQUEST", "not a user name: '%s'", user);
        b = api_parse_body(rc, allowed, err, sizeof(err));
        if (!b)
                return api_reply_error(conn, 400, "BAD_REQUEST", "%s", err);
        rs = json_object_get(b, "reason");
        if (rs && !json_is_null(rs)) {
                if (!json_is_string(rs) || strlen(json_string_value(rs)) >= STORE_TEXT_MAX) {
                        json_decref(b);
                        return api_reply_error(conn, 400, "BAD_REQUEST",
                                               "reason must be a string (under %d bytes)",
                                               STORE_TEXT_MAX);
                }
                if (!isempty(json_string_value(rs)))
                        reason = json_string_value(rs);
        }

        pthread_mutex_lock(&d->lock);
        r = grant_find(d, user, &g);
        if (r == -ENOENT) {
                pthread_mutex_unlock(&d->lock);
                json_decref(b);
                return api_reply_error(conn, 404, "NOT_FOUND", "%s has no bare-metal grant", user);
        }
        if (r >= 0) {
                r = store_begin(d->store);
                if (r >= 0) {
                        r = store_grant_delete(d->store, user);
                        if (r >= 0)
                                daemon_event(d, "access.revoke", user,
                                             json_pack("{s:s, s:s, s:s}", "user", user,
                                                       "revoked_by", rc->user, "reason", reason));
                        r = state_commit(d, r);
                }
        }
        pthread_mutex_unlock(&d->lock);
        json_decref(b);
        if (r < 0) {
                log_error_errno(r, "cannot revoke the bare-metal grant of %s: %m", user);
                return api_reply_error(conn, 500, "INTERNAL",
                                       "the grant could not be revoked; see the ds01d log");
        }
        log_info("bare-metal grant revoked: user=%s revoked_by=%s", user, rc->user);
        return api_reply(conn, 200, json_pack("{s:o}", "revoked", grant_json(&g)));
}

static enum MHD_Result h_grants(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        struct store_grant *g = NULL;
        char group[STORE_NAME_MAX];
        bool all = may_manage(d, rc, group, sizeof(group));
        int64_t now = now_us() / 1000000;
        size_t n = 0;
        json_t *a;
        int r;

        pthread_mutex_lock(&d->lock);
        r = store_grant_list(d->store, &g, &n);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return api_reply_error(conn, 500, "INTERNAL", "cannot read the grants");
        a = json_array();
        for (size_t i = 0; i < n; i++)
                if ((all || streq(g[i].user, rc->user)) && grant_in_force(&g[i], now))
                        json_array_append_new(a, grant_json(&g[i]));
        free(g);
        return api_reply(conn, 200, json_pack("{s:o}", "grants", a));
}

static enum MHD_Result h_status(struct ds01d *d, struct MHD_Connection *conn,
                                struct request_ctx *rc)
{
        const char *user = api_arg(conn, "user");
        char why[128], group[STORE_NAME_MAX];
        struct store_grant g;
        bool allowed, have_grant;
        const char *policy;
        json_t *j;

        if (!user)
                user = rc->user;
        if (strlen(user) >= STORE_NAME_MAX)
                return api_reply_error(conn, 400, "BAD_REQUEST", "user name too long");
        if (!streq(user, rc->user) && !may_manage(d, rc, group, sizeof(group)))
                return api_reply_error(conn, 403, "FORBIDDEN",
                                       "you may only see your own bare-metal access status");
        pthread_mutex_lock(&d->lock);
        allowed = access_allowed(d, user, why, sizeof(why));
        have_grant = grant_find(d, user, &g) >= 0 && grant_in_force(&g, now_us() / 1000000);
        policy = d->settings.bare_metal_policy;
        if (!policy || !(streq(policy, "warn") || streq(policy, "stop")))
                policy = "report";
        j = json_pack("{s:s, s:b, s:s, s:s, s:o, s:o}", "user", user, "allowed", allowed, "reason",
                      why, "policy", policy, "grant", have_grant ? grant_json(&g) : json_null(),
                      "processes", procs_json(d, user));
        pthread_mutex_unlock(&d->lock);
        return api_reply(conn, 200, j);
}

static enum MHD_Result h_hostprocs(struct ds01d *d, struct MHD_Connection *conn,
                                   struct request_ctx *rc)
{
        char group[STORE_NAME_MAX];
        bool all = may_manage(d, rc, group, sizeof(group));
        json_t *j;

        pthread_mutex_lock(&d->lock);
        j = json_pack("{s:I, s:o, s:o}", "scan_interval_s", (json_int_t)d->settings.scan_interval,
                      "last_scan", json_time_us(d->hp_last_scan), "processes",
                      procs_json(d, all ? NULL : rc->user));
        pthread_mutex_unlock(&d->lock);
        return api_reply(conn, 200, j);
}

bool access_route(struct ds01d *d, struct MHD_Connection *conn, const char *url, const char *method,
                  struct request_ctx *rc, enum MHD_Result *ret)
{
        bool get = streq(method, "GET"), post = streq(method, "POST"),
             del = streq(method, "DELETE");
        const char *rest;

        if (streq(url, "/v1/access/grants")) {
                if (post)
                        *ret = h_grant(d, conn, rc);
                else if (get)
                        *ret = h_grants(d, conn, rc);
                else
                        goto not_allowed;
        } else if ((rest = startswith(url, "/v1/access/grants/")) && *rest) {
                if (!del)
                        goto not_allowed;
                *ret = h_revoke(d, conn, rc, rest);
        } else if (streq(url, "/v1/access/status")) {
                if (!get)
                        goto not_allowed;
                *ret = h_status(d, conn, rc);
        } else if (streq(url, "/v1/hostprocs")) {
                if (!get)
                        goto not_allowed;
                *ret = h_hostprocs(d, conn, rc);
        } else {
                return false;
        }
        return true;

not_allowed:
        *ret = api_reply_error(conn, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method,
                               url);
        return true;
}
