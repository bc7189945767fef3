/* overview.c - the server overview shared by `ds01 status` and `ds01 top`:
 * rows of slots from GET /v1/overview, their sort orders, fixed columns, the
 * header and summary lines (overview.h). Pure: the callers fetch the JSON
 * and print. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/overview.h"
#include "util/macro.h"
#include "util/strutil.h"

#define BYTES_PER_GIB (1024.0 * 1024.0 * 1024.0)
#define ANSI_RESET    "\033[0m"
#define ANSI_RED      "\033[31m"
#define ANSI_GREEN    "\033[32m"
#define ANSI_YELLOW   "\033[33m"
#define ANSI_CYAN     "\033[36m"
#define ANSI_BOLD     "\033[1m"

/* ---- JSON access ---- */

static const char *str_or_null(const json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static long long int_or(const json_t *o, const char *key, long long dflt)
{
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_real(v))
                return llround(json_real_value(v));
        return dflt;
}

static double num_or(const json_t *o, const char *key, double dflt)
{
        json_t *v = json_object_get(o, key);
        return json_is_number(v) ? json_number_value(v) : dflt;
}

/* ---- rows ---- */

int ov_rows(const json_t *overview, struct ov_row **ret, size_t *ret_n)
{
        const json_t *gpus = json_object_get(overview, "gpus"), *g, *s;
        struct ov_row *rows = NULL;
        size_t n = 0, cap = 0, i, k;

        json_array_foreach(gpus, i, g)
        {
                bool gpu_healthy = !json_is_false(json_object_get(g, "healthy"));
                json_array_foreach(json_object_get(g, "slots"), k, s)
                {
                        struct ov_row *r;
                        if (n == cap) {
                                size_t ncap = cap ? cap * 2 : 16;
                                struct ov_row *p = reallocarray(rows, ncap, sizeof(*p));
                                if (!p) {
                                        free(rows);
                                        return -ENOMEM;
                                }
                                rows = p;
                                cap = ncap;
                        }
                        r = &rows[n];
                        *r = (struct ov_row){
                            .order = n,
                            .gpu = int_or(g, "index", (long long)i),
                            .slot = str_or_null(s, "slot"),
                            .profile = str_or_null(s, "profile"),
                            .state = str_or_null(s, "state"),
                            .user = str_or_null(s, "user"),
                            .container = str_or_null(s, "container"),
                            .reserved_for = str_or_null(s, "reserved_for"),
                            .healthy = !json_is_false(json_object_get(s, "healthy")),
                            .gpu_healthy = gpu_healthy,
                            .util = (int)int_or(s, "utilization_percent", -1),
                            .mem_used = int_or(s, "memory_used_bytes", -1),
                            .mem_total = int_or(s, "memory_total_bytes", -1),
                            .procs = int_or(s, "processes", 0),
                            .host_procs = int_or(s, "host_processes", 0),
                            .unmanaged = json_is_true(json_object_get(s, "unmanaged")),
                        };
                        if (r->util < -1 || r->util > 1000)
                                r->util = -1;
                        n++;
                }
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int cmp_order(const struct ov_row *a, const struct ov_row *b)
{
        return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_gpu(const void *x, const void *y)
{
        return cmp_order(x, y);
}

static int cmp_user(const void *x, const void *y)
{
        const struct ov_row *a = x, *b = y;
        int c;

        if (!a->user != !b->user)
                return a->user ? -1 : 1;
        if (a->user && (c = strcmp(a->user, b->user)) != 0)
                return c;
        if (a->container && b->container && (c = strcmp(a->container, b->container)) != 0)
                return c;
        return cmp_order(a, b);
}

static int cmp_util(const void *x, const void *y)
{
        const struct ov_row *a = x, *b = y;

        if (a->util != b->util)
                return a->util > b->util ? -1 : 1;
        if (a->mem_used != b->mem_used)
                return a->mem_used > b->mem_used ? -1 : 1;
        return cmp_order(a, b);
}

void ov_rows_sort(struct ov_row *rows, size_t n, enum ov_sort by)
{
        static int (*const cmp[_OV_SORT_MAX])(const void *, const void *) = {
            [OV_SORT_GPU] = cmp_gpu,
            [OV_SORT_USER] = cmp_user,
            [OV_SORT_UTIL] = cmp_util,
        };

        if (n > 1 && by >= 0 && by < _OV_SORT_MAX)
                qsort(rows, n, sizeof(*rows), cmp[by]);
}

const char *ov_sort_name(enum ov_sort by)
{
        switch (by) {
        case OV_SORT_USER:
                return "user";
        case OV_SORT_UTIL:
                return "util";
        default:
                return "gpu";
        }
}

int ov_sort_parse(const char *s, enum ov_sort *ret)
{
        if (!s)
                return -EINVAL;
        if (streq(s, "gpu") || streq(s, "slot"))
                *ret = OV_SORT_GPU;
        else if (streq(s, "user"))
                *ret = OV_SORT_USER;
        else if (streq(s, "util") || streq(s, "utilization"))
                *ret = OV_SORT_UTIL;
        else
                return -EINVAL;
        return 0;
}

enum ov_sort ov_sort_next(enum ov_sort by)
{
        return by == OV_SORT_GPU ? OV_SORT_USER : by == OV_SORT_USER ? OV_SORT_UTIL : OV_SORT_GPU;
}

/* ---- columns ---- */

#define W_GPU  3
#define W_UTIL 4
#define W_MEM  15
#define W_MAX  40 /* a name longer than this is cut */

const char *ov_row_state(const struct ov_row *r)
{
        if (!r->healthy || !r->gpu_healthy)
                return "UNHEALTHY";
        return r->state ? r->state : "-";
}

const char *ov_state_color(const char *state)
{
        if (!state)
                return NULL;
        if (streq(state, "free"))
                return ANSI_GREEN;
        if (streq(state, "UNHEALTHY") || streq(state, "unhealthy"))
                return ANSI_RED;
        if (streq(state, "held") || streq(state, "pending") || streq(state, "stopped"))
                return ANSI_YELLOW;
        return ANSI_CYAN;
}

static const char *profile_of(const struct ov_row *r)
{
        return r->profile ? r->profile : "full";
}

static int clampw(size_t len)
{
        return (int)MIN(len, (size_t)W_MAX);
}

void ov_widths_of(const struct ov_row *rows, size_t n, struct ov_widths *ret)
{
        struct ov_widths w = {
            .slot = (int)strlen("SLOT"),
            .profile = (int)strlen("PROFILE"),
            .state = (int)strlen("STATE"),
            .user = (int)strlen("USER"),
            .container = (int)strlen("CONTAINER"),
        };

        for (size_t i = 0; i < n; i++) {
                const struct ov_row *r = &rows[i];
                w.slot = MAX(w.slot, clampw(strlen(r->slot ? r->slot : "-")));
                w.profile = MAX(w.profile, clampw(strlen(profile_of(r))));
                w.state = MAX(w.state, clampw(strlen(ov_row_state(r))));
                w.user = MAX(w.user, clampw(strlen(r->user ? r->user : "-")));
                w.container = MAX(w.container, clampw(strlen(r->container ? r->container : "-")));
        }
        *ret = w;
}

int ov_row_state_column(const struct ov_widths *w)
{
        return W_GPU + 1 + w->slot + 1 + w->profile + 1;
}

char *ov_row_header(char *buf, size_t n, const struct ov_widths *w)
{
        snprintf(buf, n, "%-*s %-*s %-*s %-*s %-*s %-*s %*s %-*s %s", W_GPU, "GPU", w->slot, "SLOT",
                 w->profile, "PROFILE", w->state, "STATE", w->user, "USER", w->container,
                 "CONTAINER", W_UTIL, "UTIL", W_MEM, "MEMORY", "NOTE");
        return buf;
}

char *ov_format_number(char *buf, size_t n, double v)
{
        size_t len;

        snprintf(buf, n, "%.2f", v);
        if (!strchr(buf, '.'))
                return buf;
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
        return buf;
}

char *ov_format_memory(char *buf, size_t n, long long used, long long total)
{
        if (used < 0 && total < 0)
                snprintf(buf, n, "-");
        else if (total < 0)
                snprintf(buf, n, "%.1f GiB", (double)used / BYTES_PER_GIB);
        else
                snprintf(buf, n, "%.1f/%.1f GiB", used < 0 ? 0.0 : (double)used / BYTES_PER_GIB,
                         (double)total / BYTES_PER_GIB);
        return buf;
}

/* "reserved user:bob, 2 processes, unmanaged", "" when nothing. */
static void note_of(char *buf, size_t n, const struct ov_row *r)
{
        size_t len = 0;

        buf[0] = '\0';
#define NOTE_ADD(...)                                                                              \
        do {                                                                                       \
                int w_ = snprintf(buf + len, n - len, "%s", len ? ", " : "");                      \
                if (w_ > 0 && (size_t)w_ < n - len)                                                \
                        len += (size_t)w_;                                                         \
                w_ = snprintf(buf + len, n - len, __VA_ARGS__);                                    \
                if (w_ > 0)                                                                        \
                        len = MIN(len + (size_t)w_, n - 1);                                        \
        } while (0)
        if (r->reserved_for)
                NOTE_ADD("reserved %s", r->reserved_for);
        if (r->procs > 0)
                NOTE_ADD("%lld process%s", r->procs, r->procs == 1 ? "" : "es");
        if (r->host_procs > 0)
                NOTE_ADD("%lld outside containers", r->host_procs);
        if (r->unmanaged)
                NOTE_ADD("used by an unmanaged container");
#undef NOTE_ADD
}

/* "%-*.*s" of s with ANSI code around the visible text, not the padding. */
static int cell(char *buf, size_t n, const char *s, int width, const char *code)
{
        int len = (int)MIN(strlen(s), (size_t)width);

        return snprintf(buf, n, "%s%.*s%s%*s", code ? code : "", len, s, code ? ANSI_RESET : "",
                        width - len, "");
}

char *ov_row_format(char *buf, size_t n, const struct ov_row *r, const struct ov_widths *w,
                    bool color)
{
        const char *state = ov_row_state(r);
        char util[16], mem[32], note[160], gpu[24], st[64 + W_MAX], us[64 + W_MAX];

        snprintf(gpu, sizeof(gpu), "%lld", r->gpu);
        if (r->util >= 0)
                snprintf(util, sizeof(util), "%d%%", r->util);
        else
                snprintf(util, sizeof(util), "-");
        ov_format_memory(mem, sizeof(mem), r->mem_used, r->mem_total);
        note_of(note, sizeof(note), r);
        cell(st, sizeof(st), state, w->state, color ? ov_state_color(state) : NULL);
        cell(us, sizeof(us), r->user ? r->user : "-", w->user, color && r->user ? ANSI_BOLD : NULL);
        snprintf(buf, n, "%-*s %-*.*s %-*.*s %s %s %-*.*s %*s %-*s %s", W_GPU, gpu, w->slot, W_MAX,
                 r->slot ? r->slot : "-", w->profile, W_MAX, profile_of(r), st, us, w->container,
                 W_MAX, r->container ? r->container : "-", W_UTIL, util, W_MEM, mem, note);
        /* no trailing blanks when the note is empty */
        for (size_t len = strlen(buf); len > 0 && buf[len - 1] == ' ';)
                buf[--len] = '\0';
        return buf;
}

/* ---- lines ---- */

char *ov_summary_line(char *buf, size_t n, const json_t *overview)
{
        const json_t *s = json_object_get(overview, "summary");
        long long alerts = int_or(s, "alerts", 0), running = int_or(s, "containers_running", 0),
                  active = int_or(s, "users_active", 0), hostp = int_or(s, "host_gpu_processes", 0);
        char used[32], total[32], host[64] = "";

        if (hostp > 0)
                snprintf(host, sizeof(host), ", %lld GPU process%s outside containers", hostp,
                         hostp == 1 ? "" : "es");
        snprintf(buf, n,
                 "%lld/%lld slots allocated (%s of %s GPU-equivalents), %lld container%s "
                 "running, %lld user%s active, %lld queued, %lld alert%s%s",
                 int_or(s, "slots_allocated", 0), int_or(s, "slots_total", 0),
                 ov_format_number(used, sizeof(used), num_or(s, "gpu_equivalents_allocated", 0)),
                 ov_format_number(total, sizeof(total), num_or(s, "gpu_equivalents_total", 0)),
                 running, running == 1 ? "" : "s", active, active == 1 ? "" : "s",
                 int_or(s, "queue_length", 0), alerts, alerts == 1 ? "" : "s", host);
        return buf;
}

char *ov_header_line(char *buf, size_t n, const json_t *overview)
{
        const char *t = str_or_null(overview, "time");
        const char *host = str_or_null(overview, "hostname");
        const char *health = str_or_null(json_object_get(overview, "health"), "status");
        const json_t *nvml = json_object_get(overview, "nvml");
        const char *reason = str_or_null(nvml, "reason");
        char when[32] = "-", up[16];
        size_t i;

        if (t && strlen(t) >= 16 && t[10] == 'T') {
                memcpy(when, t, 16);
                when[10] = ' ';
                when[16] = '\0';
                (void)strscpy(when + 16, sizeof(when) - 16, " UTC");
        }
        (void)strscpy(up, sizeof(up), health ? health : "unknown");
        for (i = 0; up[i]; i++)
                up[i] = (char)(up[i] >= 'a' && up[i] <= 'z' ? up[i] - 'a' + 'A' : up[i]);
        if (json_is_true(json_object_get(nvml, "available")))
                snprintf(buf, n, "%s, %s, health %s, NVML available", when, host ? host : "?", up);
        else
                snprintf(buf, n, "%s, %s, health %s, NVML unavailable (%s)", when,
                         host ? host : "?", up, reason ? reason : "unknown");
        return buf;
}

bool ov_user_near_quota(const json_t *user)
{
        json_t *p = json_object_get(user, "percent_of_quota");
        return json_is_number(p) && json_number_value(p) >= OV_NEAR_QUOTA_PERCENT;
}
