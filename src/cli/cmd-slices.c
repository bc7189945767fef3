/* SPDX-License-Identifier: MIT */
/*
 * cmd-slices.c - `ds01 slices apply`: every group's and user's `aggregate`
 * block as limits on the cgroup tree the Docker proxy puts containers under
 * (systemd slice units with drop-ins, or cgroupfs directories; see
 * src/slices/slices.h). Works from the configuration alone, no daemon.
 *
 * The users are those the configuration names (group members, user
 * overrides) and those that already have a slice or cgroup on this machine
 * (users of the default group get theirs from ds01d at their first
 * container); one found on the machine is resolved by the name the
 * configuration spells it with when one sanitizes to it, else by its
 * sanitized name. Only what differs is written; --dry-run shows it instead.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "config/config.h"
#include "config/resolve.h"
#include "slices/slices-apply.h"
#include "slices/slices.h"
#include "util/strutil.h"
#include "util/units.h"
#include "util/username.h"

#define MAX_USERS 100000

struct slices_args {
        bool dry_run;
        bool json;
        const char *root;
        const char *driver;
        const char *config;
};

/* One user to plan for: the resolved limits and the caps drawn from them. */
struct planned {
        struct user_limits ul;
        struct slice_caps caps;
};

struct users {
        struct planned *v;
        size_t n;
        json_t *skipped; /* found on the machine but now in another group */
};

static void slices_help(FILE *f)
{
        fputs("usage: ds01 slices apply [--dry-run] [--root DIR] [--driver systemd|cgroupfs]\n"
              "                         [--json] [-c PATH]\n"
              "\n"
              "Turn every group's and user's `aggregate` block (cpu_quota, memory_max,\n"
              "memory_high, tasks_max) into limits on the cgroup tree the ds01 Docker proxy\n"
              "puts each user's containers under:\n"
              "  systemd:  ds01.slice, ds01-<group>.slice, ds01-<group>-<user>.slice in\n"
              "            /etc/systemd/system, the user slice's limits in its drop-in\n"
              "            <unit>.d/" SLICES_DROPIN "; systemd is told over D-Bus\n"
              "            (Reload, then SetUnitProperties on running slices)\n"
              "  cgroupfs: ds01/<group>/<user> under the cgroup mount, with cpu.max,\n"
              "            memory.max, memory.high, pids.max (cgroup v2) or\n"
              "            cpu.cfs_quota_us, memory.limit_in_bytes,\n"
              "            memory.soft_limit_in_bytes, pids.max (cgroup v1)\n"
              "Users without an aggregate (admins) get no cap. The users are the groups'\n"
              "members, the user overrides, and everyone who already has a slice here;\n"
              "ds01d creates the slice of any other user at their first container.\n"
              "Only what differs is written. Needs root unless --dry-run or --root.\n"
              "\n"
              "Options:\n"
              "  -n, --dry-run          show each file and what would change; change nothing\n"
              "      --root DIR         systemd: write the units under DIR instead of\n"
              "                         /etc/systemd/system; systemd is not told.\n"
              "                         cgroupfs: use DIR as the cgroup mount\n"
              "      --driver DRIVER    systemd or cgroupfs (default: enforcement.cgroup_driver)\n"
              "      --json             the plan and the outcome as JSON\n"
              "  -c, --config PATH      resource-limits.yaml to read\n"
              "  -h, --help             show this help\n",
              f);
}

static int parse_args(int argc, char **argv, struct slices_args *a)
{
        static const struct option options[] = {
            {"dry-run", no_argument, NULL, 'n'},
            {"root", required_argument, NULL, 'R'},
            {"driver", required_argument, NULL, 'D'},
            {"json", no_argument, NULL, 'J'},
            {"config", required_argument, NULL, 'c'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int opt;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":nc:h", options, NULL)) != -1) {
                switch (opt) {
                case 'n':
                        a->dry_run = true;
                        break;
                case 'R':
                        a->root = optarg;
                        break;
                case 'D':
                        if (!streq(optarg, "systemd") && !streq(optarg, "cgroupfs"))
                                return cli_usage_error("slices",
                                                       "--driver must be systemd or cgroupfs, "
                                                       "not '%s'",
                                                       optarg);
                        a->driver = optarg;
                        break;
                case 'J':
                        a->json = true;
                        break;
                case 'c':
                        a->config = optarg;
                        break;
                case 'h':
                        slices_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("slices", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("slices", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("slices", "unexpected argument '%s'", argv[optind]);
        if (a->root && !*a->root)
                return cli_usage_error("slices", "--root needs a directory");
        return 0;
}

static void users_release(struct users *u)
{
        for (size_t i = 0; i < u->n; i++)
                user_limits_release(&u->v[i].ul);
        free(u->v);
        json_decref(u->skipped);
}

static bool users_have(const struct users *u, const char *group, const char *sanitized)
{
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->v[i].ul.group, group) && streq(u->v[i].ul.sanitized, sanitized))
                        return true;
        return false;
}

/* Resolves name and adds it (once per group and sanitized name). When
 * want_group is set (a slice found on the machine), a user now in another
 * group is left out and noted. */
static int users_add(struct users *u, const struct config *c, const struct global_settings *s,
                     const char *name, const char *want_group)
{
        struct user_limits ul;
        struct planned *v;
        int r;

        if (u->n >= MAX_USERS)
                return -E2BIG;
        r = config_resolve_user(c, name, &ul);
        if (r == -EINVAL)
                return 0; /* a name no slice can be made for: skipped */
        if (r < 0)
                return r;
        if (want_group && !streq(ul.group, want_group)) {
                json_array_append_new(u->skipped,
                                      json_pack("{s:s, s:s, s:s}", "user", name, "found_in",
                                                want_group, "group", ul.group));
                user_limits_release(&ul);
                return 0;
        }
        if (users_have(u, ul.group, ul.sanitized)) {
                user_limits_release(&ul);
                return 0;
        }
        v = realloc(u->v, (u->n + 1) * sizeof(*v));
        if (!v) {
                user_limits_release(&ul);
                return -ENOMEM;
        }
        u->v = v;
        v[u->n].ul = ul;
        slice_caps_from_user(&ul, s->aggregate_limits, &v[u->n].caps);
        u->n++;
        return 0;
}

/* The name the configuration spells a sanitized name with, or NULL. */
static const char *config_name_for(const struct config *c, const char *sanitized)
{
        char s[USERNAME_SANITIZED_MAX];

        for (size_t i = 0; i < c->n_overrides; i++)
                if (username_sanitize(c->overrides[i].user, s) == 0 && streq(s, sanitized))
                        return c->overrides[i].user;
        for (size_t g = 0; g < c->n_groups; g++)
                for (size_t m = 0; m < c->groups[g].n_members; m++)
                        if (username_sanitize(c->groups[g].members[m], s) == 0 &&
                            streq(s, sanitized))
                                return c->groups[g].members[m];
        return NULL;
}

static int add_found(struct users *u, const struct config *c, const struct global_settings *s,
                     const char *group, const char *sanitized)
{
        const char *name = config_name_for(c, sanitized);

        if (users_have(u, group, sanitized))
                return 0;
        return users_add(u, c, s, name ? name : sanitized, group);
}

/* Users that have a slice unit (systemd) or a cgroup (cgroupfs) already. */
static int users_found(struct users *u, const struct config *c, const struct global_settings *s,
                       enum slices_driver driver, const char *root, int version)
{
        char path[1024];
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (driver == SLICES_SYSTEMD) {
                d = opendir(root);
                if (!d)
                        return 0;
                while (r >= 0 && (de = readdir(d))) {
                        char g[64], sn[64];
                        if (de->d_type == DT_DIR ||
                            slice_parse_unit_name(de->d_name, g, sizeof(g), sn, sizeof(sn)) < 0)
                                continue;
                        r = add_found(u, c, s, g, sn);
                }
                closedir(d);
                return r;
        }
        snprintf(path, sizeof(path), "%s%s/ds01", root, version == 1 ? "/memory" : "");
        d = opendir(path);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                char gpath[1300];
                struct dirent *ue;
                DIR *gd;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(gpath, sizeof(gpath), "%s/%s", path, de->d_name);
                gd = opendir(gpath);
                if (!gd)
                        continue;
                while (r >= 0 && (ue = readdir(gd))) {
                        struct slice_cgroup_ref ref;
                        char cg[1024];
                        if (ue->d_type != DT_DIR || ue->d_name[0] == '.')
                                continue;
                        snprintf(cg, sizeof(cg), "/ds01/%s/%s", de->d_name, ue->d_name);
                        if (slice_parse_cgroup_path(cg, &ref) < 0 || ref.container[0])
                                continue;
                        r = add_found(u, c, s, ref.group, ref.user);
                }
                closedir(gd);
        }
        closedir(d);
        return r;
}

static int users_collect(struct users *u, const struct config *c, const struct global_settings *s,
                         enum slices_driver driver, const char *root, int version)
{
        int r = 0;

        for (size_t g = 0; g < c->n_groups && r >= 0; g++)
                for (size_t m = 0; m < c->groups[g].n_members && r >= 0; m++)
                        r = users_add(u, c, s, c->groups[g].members[m], NULL);
        for (size_t i = 0; i < c->n_overrides && r >= 0; i++)
                r = users_add(u, c, s, c->overrides[i].user, NULL);
        if (r >= 0)
                r = users_found(u, c, s, driver, root, version);
        return r;
}

static const char *change_name(enum slice_change ch)
{
        switch (ch) {
        case SLICE_UNCHANGED:
                return "unchanged";
        case SLICE_CREATE:
                return "create";
        case SLICE_UPDATE:
                return "update";
        case SLICE_REMOVE:
                return "remove";
        case SLICE_FAILED:
                return "failed";
        }
        return "unknown";
}

static json_t *json_size(uint64_t v)
{
        return v == SIZE_INFINITY || v == UINT64_MAX ? json_null() : json_integer((json_int_t)v);
}

static json_t *caps_json(const struct slice_caps *c)
{
        if (!c->capped)
                return json_null();
        return json_pack("{s:o, s:o, s:o, s:o}", "cpu_quota_percent",
                         isfinite(c->cpu_quota_percent) ? json_real(c->cpu_quota_percent)
                                                        : json_null(),
                         "memory_max", json_size(c->memory_max), "memory_high",
                         json_size(c->memory_high), "tasks_max", json_size(c->tasks_max));
}

/* cgroup v1 refuses a container CPU quota above its parent's: such a user's
 * containers would not start. */
static void cpu_warnings(const struct users *u, int version, json_t *warnings)
{
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        if (version != 1)
                return;
        for (size_t i = 0; i < u->n; i++) {
                const struct planned *p = &u->v[i];
                double cpus = p->ul.max_cpus;
                char *w = NULL;
                if (!p->caps.capped || !isfinite(p->caps.cpu_quota_percent))
                        continue;
                if (ncpu > 0 && (!isfinite(cpus) || cpus <= 0 || cpus > (double)ncpu))
                        cpus = (double)ncpu;
                if (p->caps.cpu_quota_percent + 1e-9 >= cpus * 100)
                        continue;
                if (asprintf(&w,
                             "user %s: aggregate cpu_quota %g%% is below the %g CPUs one container "
                             "may have; on cgroup v1 the kernel refuses a container quota above "
                             "its parent's, so Docker cannot start such a container (raise "
                             "cpu_quota or lower max_cpus)",
                             p->ul.user, p->caps.cpu_quota_percent, cpus) >= 0)
                        json_array_append_new(warnings, json_string(w));
                free(w);
        }
}

static void print_indented(const char *prefix, const char *text)
{
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                int l = nl ? (int)(nl - p) : (int)strlen(p);
                printf("%s%.*s\n", prefix, l, p);
                p = nl ? nl + 1 : NULL;
        }
}

static void print_one_line(const char *s)
{
        int l = s ? (int)strcspn(s, "\n") : 0;
        printf("%.*s", l, s ? s : "");
}

static void print_text(const struct slice_plan *p, const struct slices_args *a, const char *root,
                       const struct users *u, size_t failed, json_t *warnings, const char *sd_note)
{
        size_t capped = 0, changed = 0;
        const char *verb_dry[] = {"unchanged", "would create", "would update", "would remove",
                                  "cannot read"};
        const char *verb[] = {"unchanged", "created", "updated", "removed", "FAILED"};
        size_t i;
        json_t *w;

        for (i = 0; i < u->n; i++)
                capped += u->v[i].caps.capped;
        if (p->driver == SLICES_SYSTEMD)
                printf("driver systemd, units in %s\n", root);
        else
                printf("driver cgroupfs, cgroup v%d at %s\n", p->cgroup_version, root);
        printf("%zu user%s, %zu with an aggregate cap\n", u->n, u->n == 1 ? "" : "s", capped);
        for (i = 0; i < p->n_items; i++) {
                const struct slice_item *it = &p->items[i];
                const char *v = a->dry_run ? verb_dry[it->change] : verb[it->change];

                if (it->change == SLICE_UNCHANGED)
                        continue;
                changed++;
                if (it->change == SLICE_FAILED) {
                        printf("%s %s: %s\n", v, it->path, strerror(-it->error));
                        continue;
                }
                if (it->kind == SLICE_ITEM_FILE || it->kind == SLICE_ITEM_ABSENT) {
                        printf("%s %s\n", v, it->path);
                        if (a->dry_run && it->current && it->change != SLICE_CREATE) {
                                printf("  --- now\n");
                                print_indented("  ", it->current);
                        }
                        if (a->dry_run && it->content) {
                                printf("  +++ %s\n",
                                       it->change == SLICE_UPDATE ? "new" : "content");
                                print_indented("  ", it->content);
                        }
                        continue;
                }
                printf("%s %s: ", v, it->path);
                if (it->current) {
                        print_one_line(it->current);
                        printf(" -> ");
                }
                print_one_line(it->content);
                printf("\n");
        }
        json_array_foreach(u->skipped, i, w)
        {
                printf("left out %s: found in group %s, now in group %s\n",
                       json_string_value(json_object_get(w, "user")),
                       json_string_value(json_object_get(w, "found_in")),
                       json_string_value(json_object_get(w, "group")));
        }
        printf("%zu file%s %s, %zu unchanged\n", changed - failed, changed - failed == 1 ? "" : "s",
               a->dry_run ? "would change" : "changed", p->n_items - changed);
        if (failed)
                printf("%zu failed\n", failed);
        json_array_foreach(warnings, i, w)
        {
                fprintf(stderr, "ds01: warning: %s\n", json_string_value(w));
        }
        if (sd_note && *sd_note)
                printf("%s\n", sd_note);
}

static json_t *result_json(const struct slice_plan *p, const struct slices_args *a,
                           const char *root, const struct users *u, json_t *warnings,
                           json_t *systemd)
{
        json_t *users = json_array(), *files = json_array();

        for (size_t i = 0; i < u->n; i++) {
                const struct planned *pl = &u->v[i];
                char cg[512];
                snprintf(cg, sizeof(cg), "/ds01/%s/%s", pl->ul.group, pl->ul.sanitized);
                json_array_append_new(
                    users, json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "user", pl->ul.user, "group",
                                     pl->ul.group, "slice", pl->ul.slice, "cgroup", cg, "capped",
                                     pl->caps.capped, "limits", caps_json(&pl->caps)));
        }
        for (size_t i = 0; i < p->n_items; i++) {
                const struct slice_item *it = &p->items[i];
                json_array_append_new(
                    files,
                    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "path", it->path, "unit", it->unit,
                              "change", change_name(it->change), "content",
                              it->content ? json_string(it->content) : json_null(), "current",
                              it->current ? json_string(it->current) : json_null(), "error",
                              it->error ? json_string(strerror(-it->error)) : json_null()));
        }
        return json_pack(
            "{s:s, s:o, s:s, s:b, s:o, s:o, s:O, s:O, s:o}", "driver",
            p->driver == SLICES_SYSTEMD ? "systemd" : "cgroupfs", "cgroup_version",
            p->driver == SLICES_CGROUPFS ? json_integer(p->cgroup_version) : json_null(), "root",
            root, "dry_run", a->dry_run, "users", users, "files", files, "left_out", u->skipped,
            "warnings", warnings, "systemd", systemd ? systemd : json_null());
}

static int slices_apply_cmd(const struct slices_args *a, const struct cli_global *g)
{
        _cleanup_(config_freep) struct config *c = NULL;
        struct global_settings s;
        struct users u = {0};
        struct slice_plan p;
        enum slices_driver driver;
        const char *root;
        json_t *warnings = NULL, *systemd = NULL;
        char note[512] = "";
        int version, r, failed, rc = EXIT_OK;
        long page = sysconf(_SC_PAGESIZE);

        if (!a->dry_run && !a->root && geteuid() != 0)
                return cli_error("slices apply changes %s; run it as root (or see what it would do "
                                 "with --dry-run)",
                                 a->driver && streq(a->driver, "cgroupfs") ? SLICES_CGROUP_MOUNT
                                                                           : SLICES_UNIT_DIR);
        r = cli_load_config(g, a->config, &c);
        if (r != 0)
                return r;
        config_global_settings(c, &s);
        driver = streq(a->driver ? a->driver : s.cgroup_driver, "cgroupfs") ? SLICES_CGROUPFS
                                                                            : SLICES_SYSTEMD;
        root = a->root ? a->root : driver == SLICES_SYSTEMD ? SLICES_UNIT_DIR : SLICES_CGROUP_MOUNT;
        version = slices_cgroup_version(driver == SLICES_CGROUPFS ? root : SLICES_CGROUP_MOUNT);
        if (version < 0) {
                if (driver == SLICES_CGROUPFS)
                        return cli_error("cannot read the cgroup mount %s: %s; is it mounted?",
                                         root, strerror(-version));
                version = 2;
        }
        u.skipped = json_array();
        warnings = json_array();
        slice_plan_init(&p, driver, version, page > 0 ? (uint64_t)page : 4096);
        r = users_collect(&u, c, &s, driver, root, version);
        for (size_t i = 0; i < u.n && r >= 0; i++) {
                struct slice_user su = {.user = u.v[i].ul.user,
                                        .group = u.v[i].ul.group,
                                        .sanitized = u.v[i].ul.sanitized,
                                        .caps = u.v[i].caps};
                r = slice_plan_add_user(&p, &su);
                if (r == -EINVAL) {
                        json_array_append_new(
                            warnings, json_sprintf("user %s: no slice can be named after it",
                                                   u.v[i].ul.user));
                        r = 0;
                }
        }
        if (r < 0) {
                rc = cli_error("cannot plan the slices: %s", strerror(-r));
                goto out;
        }
        if (!s.aggregate_limits)
                json_array_append_new(warnings,
                                      json_string("enforcement.aggregate_limits is false: the "
                                                  "slices are made, but without caps"));
        cpu_warnings(&u, version, warnings);
        failed = slices_apply(&p, root, a->dry_run);
        if (failed < 0) {
                rc = cli_error("out of memory");
                goto out;
        }
        if (driver == SLICES_SYSTEMD && !a->dry_run) {
                if (a->root) {
                        snprintf(note, sizeof(note),
                                 "systemd was not told (--root): the units are under %s", root);
                } else if (slices_changed(&p) > 0) {
                        r = slices_systemd_reload(&p, note, sizeof(note));
                        systemd = json_pack("{s:b, s:i, s:s}", "reloaded", r >= 0, "updated",
                                            r > 0 ? r : 0, "message", note);
                        if (r >= 0)
                                snprintf(note, sizeof(note),
                                         "systemd reloaded; limits set at once on %d running "
                                         "slice%s",
                                         r, r == 1 ? "" : "s");
                        else if (r != -ENOTCONN)
                                rc = EXIT_FAIL;
                }
        }
        if (a->json) {
                json_t *j = result_json(&p, a, root, &u, warnings, TAKE_PTR(systemd));
                if (!j) {
                        rc = cli_error("out of memory");
                        goto out;
                }
                cli_print_json(j);
                json_decref(j);
        } else {
                print_text(&p, a, root, &u, (size_t)failed, warnings, note);
        }
        if (failed > 0) {
                for (size_t i = 0; i < p.n_items; i++)
                        if (p.items[i].change == SLICE_FAILED) {
                                cli_error("cannot write %s/%s: %s", root, p.items[i].path,
                                          strerror(-p.items[i].error));
                                break;
                        }
                rc = EXIT_FAIL;
        }
        if (rc != EXIT_OK && note[0] && !a->json && driver == SLICES_SYSTEMD)
                cli_error("%s", note);
out:
        json_decref(systemd);
        json_decref(warnings);
        slice_plan_release(&p);
        users_release(&u);
        return rc;
}

static int slices_run(int argc, char **argv, const struct cli_global *g)
{
        struct slices_args a = {0};
        int r;

        if (argc < 2)
                return cli_usage_error("slices", "which action? (apply)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                slices_help(stdout);
                return EXIT_OK;
        }
        if (!streq(argv[1], "apply"))
                return cli_usage_error("slices", "unknown action '%s' (apply)", argv[1]);
        r = parse_args(argc - 1, argv + 1, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return slices_apply_cmd(&a, g);
}

const struct cli_command cli_cmd_slices = {
    .name = "slices",
    .summary = "per-user aggregate limits as systemd slices or cgroups",
    .run = slices_run,
    .help = slices_help,
};
