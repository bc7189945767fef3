/* SPDX-License-Identifier: MIT */
/*
 * slices.c - per-user aggregate limits as a plan of files (slices.h): the
 * systemd slice units and drop-ins, the cgroupfs limit files of v1 and v2,
 * the conversions between the config's values and what systemd and the
 * kernel take, and the parsers for what the kernel reports back. No I/O.
 *
 * The group and top slices carry accounting only (as in the old DS01):
 * `groups.<g>.aggregate` is a per-user total by definition, so putting it on
 * ds01-<g>.slice would cap the whole group at one member's share.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slices/slices.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/units.h"

#define UNIT_TEXT_MAX 4096

void slice_caps_from_user(const struct user_limits *ul, bool enforce, struct slice_caps *ret)
{
        const struct user_aggregate *a = &ul->aggregate;
        struct slice_caps c = {
            .cpu_quota_percent = INFINITY,
            .memory_max = SIZE_INFINITY,
            .memory_high = SIZE_INFINITY,
            .tasks_max = UINT64_MAX,
        };

        if (enforce && a->present) {
                c.capped = true;
                if (a->has_cpu_quota) {
                        c.cpu_quota_percent = a->cpu_quota_percent;
                        if (a->cpu_quota_text && isfinite(a->cpu_quota_percent))
                                (void)strscpy(c.cpu_quota_text, sizeof(c.cpu_quota_text),
                                              a->cpu_quota_text);
                }
                if (a->has_memory_max) {
                        c.memory_max = a->memory_max;
                        if (a->memory_max_text && a->memory_max != SIZE_INFINITY)
                                (void)strscpy(c.memory_max_text, sizeof(c.memory_max_text),
                                              a->memory_max_text);
                }
                if (a->has_memory_high) {
                        c.memory_high = a->memory_high;
                        if (a->memory_high_text && a->memory_high != SIZE_INFINITY)
                                (void)strscpy(c.memory_high_text, sizeof(c.memory_high_text),
                                              a->memory_high_text);
                }
                if (a->has_tasks_max && a->tasks_max != LIMIT_UNLIMITED && a->tasks_max > 0)
                        c.tasks_max = (uint64_t)a->tasks_max;
        }
        /* text that would not fit was cut: use the number instead */
        if (strlen(c.cpu_quota_text) >= sizeof(c.cpu_quota_text) - 1)
                c.cpu_quota_text[0] = 0;
        if (strlen(c.memory_max_text) >= sizeof(c.memory_max_text) - 1)
                c.memory_max_text[0] = 0;
        if (strlen(c.memory_high_text) >= sizeof(c.memory_high_text) - 1)
                c.memory_high_text[0] = 0;
        *ret = c;
}

static void percent_text(char *buf, size_t n, double percent)
{
        char *e;

        /* systemd takes at most two decimals ("12.34%") */
        snprintf(buf, n, "%.2f", round(percent * 100) / 100);
        e = buf + strlen(buf);
        while (e > buf && e[-1] == '0')
                *--e = 0;
        if (e > buf && e[-1] == '.')
                *--e = 0;
        if ((size_t)(e - buf) + 1 < n) {
                e[0] = '%';
                e[1] = 0;
        }
}

static void size_text(char *buf, size_t n, const char *as_written, uint64_t v)
{
        if (v == SIZE_INFINITY)
                snprintf(buf, n, "infinity");
        else if (as_written && *as_written)
                snprintf(buf, n, "%s", as_written);
        else
                snprintf(buf, n, "%llu", (unsigned long long)v);
}

void slice_caps_systemd_text(const struct slice_caps *c, char cpu[static 32],
                             char mem_max[static 32], char mem_high[static 32],
                             char tasks[static 32])
{
        if (!isfinite(c->cpu_quota_percent))
                cpu[0] = 0;
        else if (c->cpu_quota_text[0])
                snprintf(cpu, 32, "%s", c->cpu_quota_text);
        else
                percent_text(cpu, 32, c->cpu_quota_percent);
        size_text(mem_max, 32, c->memory_max_text, c->memory_max);
        size_text(mem_high, 32, c->memory_high_text, c->memory_high);
        if (c->tasks_max == UINT64_MAX)
                snprintf(tasks, 32, "infinity");
        else
                snprintf(tasks, 32, "%llu", (unsigned long long)c->tasks_max);
}

uint64_t slice_cpu_per_sec_usec(double percent)
{
        double v;

        if (!isfinite(percent) || percent < 0)
                return UINT64_MAX;
        v = round(percent * 10000.0); /* 100% = one second per second */
        return v >= 1.8e19 ? UINT64_MAX - 1 : (uint64_t)v;
}

long long slice_cpu_quota_us(double percent, uint64_t period_us)
{
        uint64_t per_sec = slice_cpu_per_sec_usec(percent);
        double q;

        if (per_sec == UINT64_MAX)
                return -1;
        q = (double)per_sec * (double)period_us / 1e6;
        if (q < 1000)
                q = 1000;
        if (q > 9e15) /* far above anything the kernel takes; it refuses it */
                q = 9e15;
        return (long long)q;
}

/* ---- the plan ---- */

void slice_plan_init(struct slice_plan *p, enum slices_driver driver, int cgroup_version,
                     uint64_t page_size)
{
        *p = (struct slice_plan){
            .driver = driver,
            .cgroup_version = cgroup_version == 2 ? 2 : 1,
            .page_size = page_size ? page_size : 4096,
        };
}

void slice_plan_release(struct slice_plan *p)
{
        for (size_t i = 0; i < p->n_items; i++) {
                free(p->items[i].content);
                free(p->items[i].current);
        }
        free(p->items);
        p->items = NULL;
        p->n_items = 0;
}

static bool plan_has(const struct slice_plan *p, const char *path)
{
        for (size_t i = 0; i < p->n_items; i++)
                if (streq(p->items[i].path, path))
                        return true;
        return false;
}

/* Appends an item; content is stolen (also on failure). */
static int plan_add(struct slice_plan *p, enum slice_item_kind kind, const char *unit,
                    char *content, const char *fmt, ...) _printf_(5, 6);
static int plan_add(struct slice_plan *p, enum slice_item_kind kind, const char *unit,
                    char *content, const char *fmt, ...)
{
        struct slice_item *items, *it;
        va_list ap;
        int n;

        if (kind != SLICE_ITEM_ABSENT && !content)
                return -ENOMEM;
        items = realloc(p->items, (p->n_items + 1) * sizeof(*items));
        if (!items) {
                free(content);
                return -ENOMEM;
        }
        p->items = items;
        it = &items[p->n_items];
        *it = (struct slice_item){.kind = kind, .content = content};
        va_start(ap, fmt);
        n = vsnprintf(it->path, sizeof(it->path), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(it->path) ||
            strscpy(it->unit, sizeof(it->unit), unit) < 0) {
                free(content);
                return -EINVAL;
        }
        p->n_items++;
        return 0;
}

static char *xprintf(const char *fmt, ...) _printf_(1, 2);
static char *xprintf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static bool group_name_ok(const char *g)
{
        if (isempty(g) || strlen(g) > 63)
                return false;
        for (const char *c = g; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_'))
                        return false;
        return true;
}

static bool sanitized_ok(const char *s)
{
        if (isempty(s) || strlen(s) > 63)
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '_' || *c == ':'))
                        return false;
        return true;
}

/* Text from outside (a login name) for a unit file: '%' is a specifier
 * there ("%%"), a backslash at the end continues the line, control bytes
 * end it; those become '_'. */
static int unit_text_escape(struct strbuf *sb, const char *s)
{
        int r = 0;

        for (const unsigned char *c = (const unsigned char *)s; *c && r >= 0; c++) {
                if (*c == '%')
                        r = strbuf_puts(sb, "%%");
                else if (*c < 0x20 || *c == 0x7f || *c == '\\')
                        r = strbuf_putc(sb, '_');
                else
                        r = strbuf_putc(sb, (char)*c);
        }
        return r;
}

static const char accounting[] = "[Slice]\n"
                                 "CPUAccounting=true\n"
                                 "MemoryAccounting=true\n"
                                 "TasksAccounting=true\n"
                                 "IOAccounting=true\n";
static const char header[] = "# Generated by ds01 (ds01 slices apply); changes are overwritten.\n";

/* "student" -> "Student", as the old DS01's ${GROUP^} */
static void group_title(char *buf, size_t n, const char *group)
{
        (void)strscpy(buf, n, group);
        if (buf[0] >= 'a' && buf[0] <= 'z')
                buf[0] = (char)(buf[0] - 'a' + 'A');
}

static int add_systemd(struct slice_plan *p, const struct slice_user *u)
{
        char unit[SLICES_UNIT_MAX], gunit[SLICES_UNIT_MAX], title[80];
        char cpu[32], mmax[32], mhigh[32], tasks[32];
        _cleanup_strbuf_ struct strbuf sb;
        int r;

        strbuf_init(&sb, UNIT_TEXT_MAX);
        group_title(title, sizeof(title), u->group);
        if (!plan_has(p, "ds01.slice")) {
                r = plan_add(p, SLICE_ITEM_FILE, "ds01.slice",
                             xprintf("%s[Unit]\n"
                                     "Description=DS01 GPU Server Container Slice\n"
                                     "Before=slices.target\n\n%s",
                                     header, accounting),
                             "ds01.slice");
                if (r < 0)
                        return r;
        }
        snprintf(gunit, sizeof(gunit), "ds01-%s.slice", u->group);
        if (!plan_has(p, gunit)) {
                /* accounting only: the aggregate is per user (see the top) */
                r = plan_add(p, SLICE_ITEM_FILE, gunit,
                             xprintf("%s[Unit]\n"
                                     "Description=DS01 %s Group\n"
                                     "Before=slices.target\n\n%s",
                                     header, title, accounting),
                             "%s", gunit);
                if (r < 0)
                        return r;
        }
        snprintf(unit, sizeof(unit), "ds01-%s-%s.slice", u->group, u->sanitized);
        if (plan_has(p, unit))
                return 0;
        /* no Slice= line: a slice's parent comes from its name, and systemd
         * refuses Slice= in slice units ("Failed to assign slice") */
        r = strbuf_printf(&sb, "%s[Unit]\nDescription=DS01 %s - ", header, title);
        if (r >= 0)
                r = unit_text_escape(&sb, u->user ? u->user : u->sanitized);
        if (r >= 0)
                r = strbuf_printf(&sb, " (%s)\nBefore=slices.target\n\n%s", u->sanitized,
                                  accounting);
        if (r < 0)
                return r;
        r = plan_add(p, SLICE_ITEM_FILE, unit, strbuf_steal(&sb), "%s", unit);
        if (r < 0)
                return r;
        if (!u->caps.capped) {
                r = plan_add(p, SLICE_ITEM_ABSENT, unit, NULL, "%s.d/" SLICES_DROPIN, unit);
        } else {
                slice_caps_systemd_text(&u->caps, cpu, mmax, mhigh, tasks);
                r = strbuf_puts(&sb, "# Generated by ds01 from the aggregate limits of ");
                if (r >= 0)
                        r = unit_text_escape(&sb, u->user ? u->user : u->sanitized);
                if (r >= 0)
                        r = strbuf_printf(&sb,
                                          " (group %s).\n"
                                          "# `ds01 slices apply` rewrites this file; edit "
                                          "resource-limits.yaml instead.\n"
                                          "[Slice]\n"
                                          "CPUQuota=%s\n"
                                          "MemoryMax=%s\n"
                                          "MemoryHigh=%s\n"
                                          "TasksMax=%s\n",
                                          u->group, cpu, mmax, mhigh, tasks);
                if (r < 0)
                        return r;
                r = plan_add(p, SLICE_ITEM_FILE, unit, strbuf_steal(&sb), "%s.d/" SLICES_DROPIN,
                             unit);
        }
        if (r < 0)
                return r;
        p->items[p->n_items - 1].limits = true;
        p->items[p->n_items - 1].caps = u->caps;
        return 0;
}

static char *bytes_value(const struct slice_plan *p, uint64_t v, const char *none)
{
        if (v == SIZE_INFINITY)
                return xprintf("%s", none);
        v -= v % p->page_size;
        if (v < p->page_size)
                v = p->page_size;
        return xprintf("%llu", (unsigned long long)v);
}

static int add_cgroupfs(struct slice_plan *p, const struct slice_user *u)
{
        const struct slice_caps *c = &u->caps;
        long long quota = slice_cpu_quota_us(c->cpu_quota_percent, SLICES_CPU_PERIOD_US);
        char dir[SLICES_PATH_MAX];
        int r;

        snprintf(dir, sizeof(dir), "ds01/%s/%s", u->group, u->sanitized);
        if (p->cgroup_version == 2) {
                static const char *const parents[] = {"", "ds01/", NULL};
                char gdir[96];

                snprintf(gdir, sizeof(gdir), "ds01/%s/", u->group);
                for (size_t i = 0; i < 3; i++) {
                        const char *pd = i < 2 ? parents[i] : gdir;
                        char path[SLICES_PATH_MAX];
                        snprintf(path, sizeof(path), "%scgroup.subtree_control", pd);
                        if (plan_has(p, path))
                                continue;
                        r = plan_add(p, SLICE_ITEM_CG_CONTROLLERS, dir,
                                     xprintf("%s", SLICES_V2_CONTROLLERS), "%s", path);
                        if (r < 0)
                                return r;
                }
                r = plan_add(p, SLICE_ITEM_CG_CPU_MAX, dir,
                             quota < 0 ? xprintf("max %d", SLICES_CPU_PERIOD_US)
                                       : xprintf("%lld %d", quota, SLICES_CPU_PERIOD_US),
                             "%s/cpu.max", dir);
                if (r >= 0)
                        r = plan_add(p, SLICE_ITEM_CG_BYTES, dir,
                                     bytes_value(p, c->memory_high, "max"), "%s/memory.high", dir);
                if (r >= 0)
                        r = plan_add(p, SLICE_ITEM_CG_BYTES, dir,
                                     bytes_value(p, c->memory_max, "max"), "%s/memory.max", dir);
                if (r >= 0)
                        r = plan_add(p, SLICE_ITEM_CG_COUNT, dir,
                                     c->tasks_max == UINT64_MAX
                                         ? xprintf("max")
                                         : xprintf("%llu", (unsigned long long)c->tasks_max),
                                     "%s/pids.max", dir);
                return r;
        }
        r = plan_add(p, SLICE_ITEM_CG_NUMBER, dir, xprintf("%d", SLICES_CPU_PERIOD_US),
                     "cpu/%s/cpu.cfs_period_us", dir);
        if (r >= 0)
                r = plan_add(p, SLICE_ITEM_CG_QUOTA, dir, xprintf("%lld", quota),
                             "cpu/%s/cpu.cfs_quota_us", dir);
        if (r >= 0)
                r = plan_add(p, SLICE_ITEM_CG_BYTES, dir, bytes_value(p, c->memory_max, "-1"),
                             "memory/%s/memory.limit_in_bytes", dir);
        if (r >= 0)
                r = plan_add(p, SLICE_ITEM_CG_BYTES, dir, bytes_value(p, c->memory_high, "-1"),
                             "memory/%s/memory.soft_limit_in_bytes", dir);
        if (r >= 0)
                r = plan_add(p, SLICE_ITEM_CG_COUNT, dir,
                             c->tasks_max == UINT64_MAX
                                 ? xprintf("max")
                                 : xprintf("%llu", (unsigned long long)c->tasks_max),
                             "pids/%s/pids.max", dir);
        return r;
}

int slice_plan_add_user(struct slice_plan *p, const struct slice_user *u)
{
        char probe[SLICES_PATH_MAX];

        if (!group_name_ok(u->group) || !sanitized_ok(u->sanitized))
                return -EINVAL;
        if (p->driver == SLICES_SYSTEMD)
                return add_systemd(p, u);
        /* a user already planned (listed twice) */
        snprintf(probe, sizeof(probe),
                 p->cgroup_version == 2 ? "ds01/%s/%s/pids.max" : "pids/ds01/%s/%s/pids.max",
                 u->group, u->sanitized);
        if (plan_has(p, probe))
                return 0;
        return add_cgroupfs(p, u);
}

/* ---- reading back ---- */

enum cg_num {
        CG_NONE, /* no limit */
        CG_NUM,
        CG_BAD,
};

static enum cg_num cg_number(const char *s, bool minus_one_none, uint64_t *ret)
{
        char buf[64];
        long long v;

        if (!s || strscpy(buf, sizeof(buf), s) < 0)
                return CG_BAD;
        strstrip(buf);
        if (streq(buf, "max") || streq(buf, "infinity"))
                return CG_NONE;
        if (buf[0] == '-') {
                if (minus_one_none && streq(buf, "-1"))
                        return CG_NONE;
                return CG_BAD;
        }
        if (safe_atoi64(buf, &v) < 0) {
                /* above INT64_MAX: unlimited */
                unsigned long long u;
                char *end;
                errno = 0;
                u = strtoull(buf, &end, 10);
                if (errno || *end || end == buf)
                        return CG_BAD;
                *ret = u;
        } else {
                *ret = (uint64_t)v;
        }
        return CG_NUM;
}

/* v1 reads "no limit" back as the largest page count: 9223372036854771712 */
#define CG_HUGE (UINT64_C(1) << 62)

static bool same_number(const char *want, const char *have, bool minus_one_none, bool huge_none)
{
        uint64_t w = 0, h = 0;
        enum cg_num a = cg_number(want, minus_one_none, &w),
                    b = cg_number(have, minus_one_none, &h);

        if (a == CG_BAD || b == CG_BAD)
                return false;
        if (huge_none) {
                if (a == CG_NUM && w >= CG_HUGE)
                        a = CG_NONE;
                if (b == CG_NUM && h >= CG_HUGE)
                        b = CG_NONE;
        }
        if (a != b)
                return false;
        return a == CG_NONE || w == h;
}

static bool same_controllers(const char *want, const char *have)
{
        char w[256];
        char *save = NULL;

        if (!have || strscpy(w, sizeof(w), want) < 0)
                return false;
        for (char *t = strtok_r(w, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                const char *name = t[0] == '+' ? t + 1 : t;
                size_t n = strlen(name);
                bool found = false;
                for (const char *p = have; *p && !found;) {
                        size_t l;
                        while (*p == ' ' || *p == '\n')
                                p++;
                        l = strcspn(p, " \n");
                        found = l == n && strncmp(p, name, n) == 0;
                        p += l;
                }
                if (!found)
                        return false;
        }
        return true;
}

static bool same_cpu_max(const char *want, const char *have)
{
        char w[64], h[64], *ws, *hs;

        if (!have || strscpy(w, sizeof(w), want) < 0 || strscpy(h, sizeof(h), have) < 0)
                return false;
        strstrip(w);
        strstrip(h);
        ws = strchr(w, ' ');
        hs = strchr(h, ' ');
        if (!ws || !hs)
                return false;
        *ws++ = 0;
        *hs++ = 0;
        return same_number(w, h, false, false) && same_number(ws, hs, false, false);
}

bool slice_cg_same(enum slice_item_kind kind, const char *want, const char *have)
{
        if (!have)
                return kind == SLICE_ITEM_ABSENT;
        switch (kind) {
        case SLICE_ITEM_FILE:
                return want && streq(want, have);
        case SLICE_ITEM_ABSENT:
                return false;
        case SLICE_ITEM_CG_BYTES:
                return same_number(want, have, true, true);
        case SLICE_ITEM_CG_COUNT:
        case SLICE_ITEM_CG_NUMBER:
                return same_number(want, have, false, false);
        case SLICE_ITEM_CG_QUOTA:
                return same_number(want, have, true, false);
        case SLICE_ITEM_CG_CPU_MAX:
                return same_cpu_max(want, have);
        case SLICE_ITEM_CG_CONTROLLERS:
                return same_controllers(want, have);
        }
        return false;
}

int slice_parse_unit_name(const char *name, char *group, size_t group_n, char *sanitized,
                          size_t sanitized_n)
{
        const char *rest = startswith(name, "ds01-"), *dash, *end;
        char g[64], s[64];

        if (!rest || !endswith(name, ".slice"))
                return -EINVAL;
        dash = strchr(rest, '-');
        end = name + strlen(name) - strlen(".slice");
        if (!dash || dash >= end || (size_t)(dash - rest) >= sizeof(g) ||
            (size_t)(end - dash - 1) >= sizeof(s))
                return -EINVAL;
        memcpy(g, rest, (size_t)(dash - rest));
        g[dash - rest] = 0;
        memcpy(s, dash + 1, (size_t)(end - dash - 1));
        s[end - dash - 1] = 0;
        if (!group_name_ok(g) || !sanitized_ok(s))
                return -EINVAL;
        if (strscpy(group, group_n, g) < 0 || strscpy(sanitized, sanitized_n, s) < 0)
                return -EINVAL;
        return 0;
}

/* The next path component of *p into buf; advances *p. false at the end. */
static bool next_component(const char **p, char *buf, size_t n)
{
        const char *s = *p;
        size_t l;

        while (*s == '/')
                s++;
        if (!*s)
                return false;
        l = strcspn(s, "/");
        if (l >= n)
                return false;
        memcpy(buf, s, l);
        buf[l] = 0;
        *p = s + l;
        return true;
}

static void container_of(const char *leaf, char *buf, size_t n)
{
        const char *s = startswith(leaf, "docker-");
        size_t l;

        if (!s || !endswith(s, ".scope")) {
                (void)strscpy(buf, n, leaf);
                return;
        }
        l = strlen(s) - strlen(".scope");
        if (l >= n)
                l = n - 1;
        memcpy(buf, s, l);
        buf[l] = 0;
}

int slice_parse_cgroup_path(const char *path, struct slice_cgroup_ref *ret)
{
        struct slice_cgroup_ref r = {0};
        const char *p = path;
        char a[128], b[128], c[128], leaf[128] = "";

        if (!p || !next_component(&p, a, sizeof(a)) || !next_component(&p, b, sizeof(b)) ||
            !next_component(&p, c, sizeof(c)))
                return -EINVAL;
        (void)next_component(&p, leaf, sizeof(leaf));
        if (streq(a, "ds01")) {
                if (!group_name_ok(b) || !sanitized_ok(c))
                        return -EINVAL;
                (void)strscpy(r.group, sizeof(r.group), b);
                (void)strscpy(r.user, sizeof(r.user), c);
        } else if (streq(a, "ds01.slice")) {
                char g[64], s[64], want[SLICES_UNIT_MAX];
                if (slice_parse_unit_name(c, g, sizeof(g), s, sizeof(s)) < 0)
                        return -EINVAL;
                snprintf(want, sizeof(want), "ds01-%s.slice", g);
                if (!streq(b, want))
                        return -EINVAL;
                (void)strscpy(r.group, sizeof(r.group), g);
                (void)strscpy(r.user, sizeof(r.user), s);
        } else {
                return -EINVAL;
        }
        snprintf(r.dir, sizeof(r.dir), "%s/%s/%s", a, b, c);
        if (leaf[0])
                container_of(leaf, r.container, sizeof(r.container));
        *ret = r;
        return 0;
}

int slice_parse_oom_kill(const char *text, uint64_t *ret)
{
        for (const char *p = text; p && *p;) {
                const char *v = startswith(p, "oom_kill ");
                const char *nl = strchr(p, '\n');
                if (v) {
                        char buf[32];
                        size_t l = nl ? (size_t)(nl - v) : strlen(v);
                        long long n;
                        if (l >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, v, l);
                        buf[l] = 0;
                        if (safe_atoi64(buf, &n) < 0 || n < 0)
                                return -EINVAL;
                        *ret = (uint64_t)n;
                        return 0;
                }
                p = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int slice_parse_kmsg_oom(const char *record, char *ret, size_t n)
{
        const char *msg = strchr(record, ';'), *m, *v;
        size_t l;

        /* "pri,seq,ts,flags;message": the prefix has digits, commas and a flag */
        if (msg && strspn(record, "0123456789,-c+") == (size_t)(msg - record))
                record = msg + 1;
        m = startswith(record, "oom-kill:");
        if (!m)
                return -ENOENT;
        v = strstr(m, ",task_memcg=");
        if (!v)
                return -ENOENT;
        v += strlen(",task_memcg=");
        l = strcspn(v, ",\n");
        if (l == 0 || l >= n)
                return -ENOENT;
        memcpy(ret, v, l);
        ret[l] = 0;
        return 0;
}
