/* cmd-lifecycle.c - `ds01 lifecycle status [CONTAINER]` and `ds01 lifecycle
 * run [--dry-run]`: what ds01d's lifecycle loop sees and is about to do.
 *
 * Every check_interval_s the daemon measures each container it manages (GPU
 * utilization and processes, CPU, network), counts idle checks in a row, and
 * warns, stops or removes containers that stay idle past their idle timeout,
 * run past their max runtime, or sit stopped or never started for too long.
 * status shows that view (GET /v1/lifecycle): a table of every container the
 * caller may see, or every field of one container with its upcoming actions.
 * run asks for a pass now (POST /v1/lifecycle/run): with --dry-run it only
 * says what the pass would do (every user; own containers); without, it runs
 * it (admins). The API is in docs/API.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

/* Ceiling for the request path (a container name or id, percent-encoded). */
#define LC_PATH_MAX 4096
/* One cell of the status table. */
#define LC_CELL_MAX 128
/* Columns of the status table. */
#define LC_COLUMNS 9

struct lifecycle_args {
        bool json;
        bool dry_run;
        const char *container; /* status CONTAINER, else NULL */
};

/* ---- help ---- */

static void status_help(FILE *f)
{
        fputs("usage: ds01 lifecycle status [CONTAINER] [--json]\n"
              "\n"
              "What ds01d's lifecycle loop sees. Without CONTAINER: how often it checks,\n"
              "when it last did, whether high demand shortens idle timeouts, and one line\n"
              "per container: its GPU slots, the last GPU, CPU and network readings (+p:\n"
              "processes on its GPUs), the idle streak (idle checks in a row / checks\n"
              "needed) with how long it has been idle, and the next action (warn_idle 80%\n"
              "in 40s, stop_idle in 3m12s, ...).\n"
              "With CONTAINER (a name or an id): every field in words, why it counts as\n"
              "idle or busy, its timeouts, keep-alive and exemptions, and each upcoming\n"
              "action with its time. You see your own containers; admins see everyone's.\n"
              "\n"
              "Options:\n"
              "      --json     the daemon's answer (GET /v1/lifecycle)\n"
              "  -h, --help     show this help\n",
              f);
}

static void run_help(FILE *f)
{
        fputs("usage: ds01 lifecycle run --dry-run [--json]\n"
              "       ds01 lifecycle run [--json]\n"
              "\n"
              "With --dry-run: what the next lifecycle pass would do if nothing changes, one\n"
              "line per action (warnings, stops, removals), without doing any of it. Every\n"
              "user may ask; you see the actions on your own containers.\n"
              "Without --dry-run: run a pass now and print what it did (admins only).\n"
              "\n"
              "Options:\n"
              "      --dry-run  only say what a pass would do\n"
              "      --json     the daemon's answer (POST /v1/lifecycle/run)\n"
              "  -h, --help     show this help\n",
              f);
}

static void lifecycle_help(FILE *f)
{
        fputs("ds01 lifecycle: idle and runtime enforcement by ds01d. Containers that stay\n"
              "idle past their idle timeout are stopped and removed, those that run past\n"
              "their max runtime are stopped (with warnings first); stopped and\n"
              "never-started containers are removed after a while.\n"
              "\n",
              f);
        status_help(f);
        fputs("\n", f);
        run_help(f);
}

/* ---- formatting ---- */

/* "45s", "3m12s", "4m", "1h05m", "2h", "2d3h", "2d"; negative with a '-'.
 * buf >= 32 bytes; returns buf. */
static char *human_duration(char *buf, size_t n, int64_t s)
{
        const char *sign = "";
        long long v;

        if (s < 0) {
                sign = "-";
                s = s == INT64_MIN ? INT64_MAX : -s;
        }
        v = (long long)s;
        if (v < 60)
                snprintf(buf, n, "%s%llds", sign, v);
        else if (v < 3600)
                snprintf(buf, n, v % 60 ? "%s%lldm%02llds" : "%s%lldm", sign, v / 60, v % 60);
        else if (v < 86400)
                snprintf(buf, n, (v % 3600) / 60 ? "%s%lldh%02lldm" : "%s%lldh", sign, v / 3600,
                         (v % 3600) / 60);
        else
                snprintf(buf, n, (v % 86400) / 3600 ? "%s%lldd%lldh" : "%s%lldd", sign, v / 86400,
                         (v % 86400) / 3600);
        return buf;
}

/* An ISO 8601 time of the daemon as "2026-11-22 14:05:02 UTC" (with_date) or
 * "14:05:02 UTC"; "-" when iso is NULL or not a time. */
static char *format_time(char *buf, size_t n, const char *iso, bool with_date)
{
        int64_t t;
        time_t tt;
        struct tm tm;

        if (!iso || parse_timestamp(iso, &t) < 0)
                goto none;
        tt = (time_t)t;
        if (!gmtime_r(&tt, &tm) ||
            strftime(buf, n, with_date ? "%Y-%m-%d %H:%M:%S UTC" : "%H:%M:%S UTC", &tm) == 0)
                goto none;
        return buf;
none:
        snprintf(buf, n, "-");
        return buf;
}

/* The time of day alone when iso is today (UTC), else with the date. */
static char *format_time_near(char *buf, size_t n, const char *iso)
{
        int64_t t;

        if (!iso || parse_timestamp(iso, &t) < 0)
                return format_time(buf, n, NULL, false);
        return format_time(buf, n, iso, t / 86400 != now_epoch() / 86400);
}

/* Seconds from now to iso; false when iso is not a time. */
static bool seconds_until(const char *iso, int64_t *ret)
{
        int64_t t;

        if (!iso || parse_timestamp(iso, &t) < 0)
                return false;
        *ret = t - now_epoch();
        return true;
}

/* "512B", "1.5KiB", "3MiB". */
static char *format_bytes(char *buf, size_t n, double bytes)
{
        char size[FORMAT_SIZE_MAX];

        if (bytes < 1024)
                snprintf(buf, n, "%.0fB", bytes < 0 ? 0 : bytes);
        else
                snprintf(buf, n, "%siB", format_size(size, sizeof(size), (uint64_t)bytes));
        return buf;
}

/* "12%", "2%", "0.1%", "-" when v is not a number (null: not measured). */
static char *format_percent(char *buf, size_t n, const json_t *v)
{
        double d;

        if (!json_is_number(v)) {
                snprintf(buf, n, "-");
                return buf;
        }
        d = json_number_value(v);
        if (d != floor(d) && fabs(d) < 10)
                snprintf(buf, n, "%.1f%%", d);
        else
                snprintf(buf, n, "%.0f%%", d);
        return buf;
}

/* The slots of a container, "1.2,3", or "-". */
static char *format_slots(char *buf, size_t n, const json_t *c)
{
        const json_t *slots = json_object_get(c, "slots");
        size_t i, off = 0;
        json_t *s;

        buf[0] = '\0';
        json_array_foreach(slots, i, s)
        {
                int w =
                    snprintf(buf + off, n - off, "%s%s", i ? "," : "", json_string_value(s) ?: "?");
                if (w < 0 || (size_t)w >= n - off)
                        break;
                off += (size_t)w;
        }
        if (!buf[0])
                snprintf(buf, n, "-");
        return buf;
}

/* The name of a container, else the first 12 characters of its id. */
static const char *container_label(char *buf, size_t n, const json_t *c)
{
        const char *name = cli_json_str(c, "name", NULL);

        if (!isempty(name))
                return name;
        snprintf(buf, n, "%.12s", cli_json_str(c, "id", "?"));
        return buf;
}

/* "stop_idle in 3m12s", "warn_idle 80% in 40s", "stop_idle at the next pass". */
static char *format_action_short(char *buf, size_t n, const json_t *a)
{
        char pct[32] = "", left[32];
        const json_t *in_s = json_object_get(a, "in_s");

        if (json_is_number(json_object_get(a, "percent")))
                snprintf(pct, sizeof(pct), " %.0f%%", cli_json_num(a, "percent", 0));
        if (!json_is_number(in_s))
                snprintf(buf, n, "%s%s", cli_json_str(a, "action", "?"), pct);
        else if (json_number_value(in_s) <= 0)
                snprintf(buf, n, "%s%s at the next pass", cli_json_str(a, "action", "?"), pct);
        else
                snprintf(buf, n, "%s%s in %s", cli_json_str(a, "action", "?"), pct,
                         human_duration(left, sizeof(left), (int64_t)json_number_value(in_s)));
        return buf;
}

/* ---- status ---- */

static void print_header(const json_t *j)
{
        const json_t *hd = json_object_get(j, "high_demand");
        char last[64];
        double interval = cli_json_num(j, "interval_s", -1);

        if (interval >= 0)
                printf("checked every %.0fs", interval);
        else
                fputs("check interval unknown", stdout);
        if (cli_json_str(j, "last_pass", NULL))
                printf("; last pass %s",
                       format_time_near(last, sizeof(last), cli_json_str(j, "last_pass", NULL)));
        else
                fputs("; no pass yet", stdout);
        if (json_is_object(hd)) {
                bool active = json_is_true(json_object_get(hd, "active"));

                printf("; high demand: %s (%.0f%% of slots allocated, starts at %.0f%%",
                       active ? "yes" : "no", cli_json_num(hd, "share", 0) * 100,
                       cli_json_num(hd, "threshold", 0) * 100);
                if (active && json_is_number(json_object_get(hd, "factor")))
                        printf("; idle timeouts x%g", cli_json_num(hd, "factor", 1));
                fputs(")", stdout);
        }
        fputs("\n", stdout);
}

/* The cells of one table row. */
static void table_row(const json_t *c, char cells[LC_COLUMNS][LC_CELL_MAX])
{
        const json_t *sig = json_object_get(c, "signals");
        const json_t *actions = json_object_get(c, "actions");
        const json_t *net = json_object_get(sig, "net_bytes");
        bool in_scope = !json_is_false(json_object_get(c, "in_scope"));
        char idle[32], label[32];

        snprintf(cells[0], LC_CELL_MAX, "%s", container_label(label, sizeof(label), c));
        snprintf(cells[1], LC_CELL_MAX, "%s", cli_json_str(c, "user", "-"));
        snprintf(cells[2], LC_CELL_MAX, "%s", cli_json_str(c, "type", "-"));
        format_slots(cells[3], LC_CELL_MAX, c);
        format_percent(cells[4], LC_CELL_MAX, json_object_get(sig, "gpu_util"));
        if (json_is_true(json_object_get(sig, "gpu_procs")) && strlen(cells[4]) + 2 < LC_CELL_MAX)
                strscpy(cells[4] + strlen(cells[4]), LC_CELL_MAX - strlen(cells[4]), "+p");
        format_percent(cells[5], LC_CELL_MAX, json_object_get(sig, "cpu_percent"));
        if (json_is_number(net))
                format_bytes(cells[6], LC_CELL_MAX, json_number_value(net));
        else
                snprintf(cells[6], LC_CELL_MAX, "-");

        if (!in_scope) {
                snprintf(cells[7], LC_CELL_MAX, "-");
                snprintf(cells[8], LC_CELL_MAX, "not checked");
                return;
        }
        if (cli_json_num(c, "idle_for_s", 0) > 0)
                snprintf(
                    cells[7], LC_CELL_MAX, "%.0f/%.0f %s", cli_json_num(c, "streak", 0),
                    cli_json_num(c, "window", 0),
                    human_duration(idle, sizeof(idle), (int64_t)cli_json_num(c, "idle_for_s", 0)));
        else
                snprintf(cells[7], LC_CELL_MAX, "%.0f/%.0f", cli_json_num(c, "streak", 0),
                         cli_json_num(c, "window", 0));
        if (json_array_size(actions) > 0)
                format_action_short(cells[8], LC_CELL_MAX, json_array_get(actions, 0));
        else if (json_is_string(json_object_get(c, "exempt")))
                snprintf(cells[8], LC_CELL_MAX, "- (exempt)");
        else
                snprintf(cells[8], LC_CELL_MAX, "-");
}

static int status_table(const json_t *j)
{
        static const char *const heads[LC_COLUMNS] = {
            "CONTAINER", "USER", "TYPE", "SLOTS", "GPU", "CPU", "NET", "IDLE", "NEXT",
        };
        const json_t *list = json_object_get(j, "containers");
        size_t n = json_array_size(list), w[LC_COLUMNS], i, k;
        char(*rows)[LC_COLUMNS][LC_CELL_MAX];
        json_t *c;

        print_header(j);
        if (n == 0) {
                puts("no containers");
                return EXIT_OK;
        }
        rows = calloc(n, sizeof(*rows));
        if (!rows)
                return cli_error("out of memory");
        for (k = 0; k < LC_COLUMNS; k++)
                w[k] = strlen(heads[k]);
        json_array_foreach(list, i, c)
        {
                table_row(c, rows[i]);
                for (k = 0; k < LC_COLUMNS; k++)
                        w[k] = MAX(w[k], strlen(rows[i][k]));
        }
        fputs("\n", stdout);
        for (k = 0; k < LC_COLUMNS; k++)
                printf("%-*s%s", k + 1 < LC_COLUMNS ? (int)w[k] : 0, heads[k],
                       k + 1 < LC_COLUMNS ? " " : "\n");
        for (i = 0; i < n; i++)
                for (k = 0; k < LC_COLUMNS; k++)
                        printf("%-*s%s", k + 1 < LC_COLUMNS ? (int)w[k] : 0, rows[i][k],
                               k + 1 < LC_COLUMNS ? " " : "\n");
        free(rows);
        return EXIT_OK;
}

/* "  label:" padded, so that the values line up. */
static void field(const char *label)
{
        printf("  %-16s", label);
}

static void print_signals(const json_t *c)
{
        const json_t *sig = json_object_get(c, "signals");
        const json_t *net = json_object_get(sig, "net_bytes");
        char gpu[32], cpu[32], bytes[32];

        field("signals:");
        printf("gpu %s%s, cpu %s, network %s\n",
               format_percent(gpu, sizeof(gpu), json_object_get(sig, "gpu_util")),
               json_is_true(json_object_get(sig, "gpu_procs")) ? " (with GPU processes)"
                                                               : " (no GPU processes)",
               format_percent(cpu, sizeof(cpu), json_object_get(sig, "cpu_percent")),
               json_is_number(net) ? format_bytes(bytes, sizeof(bytes), json_number_value(net))
                                   : "-");
}

static void print_exemptions(const json_t *c)
{
        const char *exempt = cli_json_str(c, "exempt", NULL);
        bool idle = json_is_true(json_object_get(c, "exempt_idle"));
        bool runtime = json_is_true(json_object_get(c, "exempt_runtime"));

        field("exemptions:");
        if (!exempt && !idle && !runtime) {
                puts("none");
                return;
        }
        if (exempt) {
                if (streq(exempt, "infrastructure"))
                        fputs("infrastructure container (never checked)", stdout);
                else
                        printf("label %s (never checked)", exempt);
        }
        if (idle && runtime)
                printf("%sidle timeout and max runtime (lifecycle-exemptions.yaml)",
                       exempt ? "; " : "");
        else if (idle)
                printf("%sidle timeout (lifecycle-exemptions.yaml)", exempt ? "; " : "");
        else if (runtime)
                printf("%smax runtime (lifecycle-exemptions.yaml)", exempt ? "; " : "");
        fputs("\n", stdout);
}

static void print_times(const json_t *c)
{
        const json_t *timeout = json_object_get(c, "idle_timeout_s");
        const json_t *runtime = json_object_get(c, "runtime_s");
        const json_t *max_runtime = json_object_get(c, "max_runtime_s");
        const char *keepalive = cli_json_str(c, "keepalive_until", NULL);
        char a[64], b[64];
        int64_t left;

        field("idle for:");
        puts(human_duration(a, sizeof(a), (int64_t)cli_json_num(c, "idle_for_s", 0)));
        field("idle timeout:");
        if (json_is_number(timeout))
                printf("%s\n", human_duration(a, sizeof(a), (int64_t)json_number_value(timeout)));
        else
                puts("never");
        field("keep-alive:");
        if (keepalive && seconds_until(keepalive, &left))
                printf("until %s (%s %s)\n", format_time(a, sizeof(a), keepalive, true),
                       left >= 0 ? "in" : "ended",
                       human_duration(b, sizeof(b), left >= 0 ? left : -left));
        else
                puts("none");
        field("runtime:");
        if (json_is_number(runtime))
                fputs(human_duration(a, sizeof(a), (int64_t)json_number_value(runtime)), stdout);
        else
                fputs("not running", stdout);
        if (json_is_number(max_runtime))
                printf(" of at most %s\n",
                       human_duration(b, sizeof(b), (int64_t)json_number_value(max_runtime)));
        else
                puts(" (no max runtime)");
        field("started:");
        puts(format_time(a, sizeof(a), cli_json_str(c, "started_at", NULL), true));
        if (cli_json_str(c, "finished_at", NULL)) {
                field("finished:");
                puts(format_time(a, sizeof(a), cli_json_str(c, "finished_at", NULL), true));
        }
}

static void print_upcoming(const json_t *c)
{
        const json_t *actions = json_object_get(c, "actions");
        char at[64], left[32], pct[32];
        size_t i;
        json_t *a;

        if (json_array_size(actions) == 0) {
                field("upcoming:");
                puts("nothing");
                return;
        }
        puts("  upcoming:");
        json_array_foreach(actions, i, a)
        {
                const json_t *in_s = json_object_get(a, "in_s");

                pct[0] = '\0';
                if (json_is_number(json_object_get(a, "percent")))
                        snprintf(pct, sizeof(pct), " %.0f%%", cli_json_num(a, "percent", 0));
                printf("    %s%s at %s", cli_json_str(a, "action", "?"), pct,
                       format_time(at, sizeof(at), cli_json_str(a, "at", NULL), true));
                if (!json_is_number(in_s))
                        fputs("\n", stdout);
                else if (json_number_value(in_s) > 0)
                        printf(" (in %s)\n", human_duration(left, sizeof(left),
                                                            (int64_t)json_number_value(in_s)));
                else if (json_number_value(in_s) < 0)
                        printf(
                            " (overdue by %s: at the next pass)\n",
                            human_duration(left, sizeof(left), -(int64_t)json_number_value(in_s)));
                else
                        puts(" (at the next pass)");
        }
}

static void status_detail_one(const json_t *c)
{
        char buf[LC_CELL_MAX];
        bool in_scope = !json_is_false(json_object_get(c, "in_scope"));
        const char *why = cli_json_str(c, "why", NULL);

        printf("%s (%s)\n", container_label(buf, sizeof(buf), c), cli_json_str(c, "user", "?"));
        field("id:");
        puts(cli_json_str(c, "id", "-"));
        field("type:");
        puts(cli_json_str(c, "type", "-"));
        field("state:");
        puts(cli_json_str(c, "state", "-"));
        field("GPU slots:");
        puts(format_slots(buf, sizeof(buf), c));
        field("checked:");
        if (in_scope)
                puts("yes");
        else
                printf("no%s%s\n", why ? ": " : "", why ? why : "");
        print_exemptions(c);
        print_signals(c);
        if (in_scope) {
                field("idle:");
                printf("%s%s%s%s\n", json_is_true(json_object_get(c, "idle")) ? "yes" : "no",
                       json_is_true(json_object_get(c, "in_grace")) ? " (in the grace period)" : "",
                       why ? ": " : "", why ? why : "");
                field("idle streak:");
                printf("%.0f of %.0f checks in a row\n", cli_json_num(c, "streak", 0),
                       cli_json_num(c, "window", 0));
        }
        print_times(c);
        print_upcoming(c);
}

static int status_detail(const json_t *j)
{
        const json_t *list = json_object_get(j, "containers");
        size_t i;
        json_t *c;

        print_header(j);
        json_array_foreach(list, i, c)
        {
                fputs("\n", stdout);
                status_detail_one(c);
        }
        return EXIT_OK;
}

/* ---- run ---- */

static const struct {
        const char *action;
        const char *will;   /* the pass would ... */
        const char *did;    /* the pass ... */
        const char *what;   /* after "'name' (user)" */
        const char *pct_of; /* " (80% of <pct_of>)", where a percent is given */
} action_words[] = {
    {"warn_idle", "warn the owner of", "warned the owner of", "", "its idle timeout"},
    {"stop_idle", "stop and remove", "stopped and removed", "", NULL},
    {"notice_idle_exempt", "tell the owner of", "told the owner of", " that it is idle but exempt",
     NULL},
    {"warn_runtime", "warn the owner of", "warned the owner of", "", "its max runtime"},
    {"stop_runtime", "stop", "stopped", " (max runtime reached)", NULL},
    {"notice_runtime_exempt", "tell the owner of", "told the owner of",
     " that it passed its max runtime but is exempt", NULL},
    {"remove_stopped", "remove stopped container", "removed stopped container", "", NULL},
    {"remove_created", "remove never-started container", "removed never-started container", "",
     NULL},
};

static void print_action_line(const json_t *a, bool dry)
{
        const char *action = cli_json_str(a, "action", "?");
        const char *reason = cli_json_str(a, "reason", NULL);
        char label[LC_CELL_MAX], pct[32] = "", what[128] = "";
        const char *verb = NULL;

        if (json_is_number(json_object_get(a, "percent")))
                snprintf(pct, sizeof(pct), "%.0f%%", cli_json_num(a, "percent", 0));
        for (size_t i = 0; i < ELEMENTSOF(action_words); i++) {
                if (!streq(action, action_words[i].action))
                        continue;
                verb = dry ? action_words[i].will : action_words[i].did;
                if (action_words[i].pct_of && pct[0])
                        snprintf(what, sizeof(what), "%s (%s of %s)", action_words[i].what, pct,
                                 action_words[i].pct_of);
                else
                        snprintf(what, sizeof(what), "%s", action_words[i].what);
                break;
        }
        if (!verb) {
                verb = action;
                if (pct[0])
                        snprintf(what, sizeof(what), " (%s)", pct);
        }
        printf("  %s '%s' (%s)%s%s%s\n", verb, container_label(label, sizeof(label), a),
               cli_json_str(a, "user", "?"), what, reason ? ": " : "", reason ? reason : "");
}

static int run_text(const json_t *j)
{
        const json_t *actions = json_object_get(j, "actions");
        bool dry = !json_is_false(json_object_get(j, "dry_run"));
        char at[64];
        size_t i;
        json_t *a;

        if (dry) {
                if (json_array_size(actions) == 0) {
                        puts("the next pass would do nothing");
                        return EXIT_OK;
                }
                puts("the next pass would:");
        } else {
                format_time_near(at, sizeof(at), cli_json_str(j, "ran_at", NULL));
                if (json_array_size(actions) == 0) {
                        printf("ran a pass at %s: nothing to do\n", at);
                        return EXIT_OK;
                }
                printf("ran a pass at %s; it:\n", at);
        }
        json_array_foreach(actions, i, a)
        {
                print_action_line(a, dry);
        }
        return EXIT_OK;
}

/* ---- arguments ---- */

/* Options and arguments of one action (argv[0] is the action). Returns 0, -1
 * after --help, or an exit code. */
static int parse_args(int argc, char **argv, bool run, struct lifecycle_args *a)
{
        enum { OPT_JSON = 0x100, OPT_DRY_RUN };
        static const struct option status_opts[] = {
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        static const struct option run_opts[] = {
            {"dry-run", no_argument, NULL, OPT_DRY_RUN},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *cmd = run ? "lifecycle run" : "lifecycle status";
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", run ? run_opts : status_opts, NULL)) >= 0) {
                switch (c) {
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_DRY_RUN:
                        a->dry_run = true;
                        break;
                case 'h':
                        (run ? run_help : status_help)(stdout);
                        return -1;
                case ':':
                        return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
                default:
                        return cli_usage_error(cmd, "unknown option '%s' for '%s'",
                                               argv[optind - 1], cmd);
                }
        }
        if (!run && optind < argc) {
                a->container = argv[optind++];
                if (isempty(a->container))
                        return cli_usage_error(cmd, "the container name must not be empty");
        }
        if (optind < argc)
                return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return 0;
}

static int lifecycle_status(struct cli_client *c, const struct lifecycle_args *a)
{
        _cleanup_strbuf_ struct strbuf path;
        json_t *j = NULL;
        int r;

        strbuf_init(&path, LC_PATH_MAX);
        if (strbuf_puts(&path, "/v1/lifecycle") < 0)
                return cli_error("out of memory");
        if (a->container) {
                r = cli_client_query_add(c, &path, "container", a->container);
                if (r == -E2BIG)
                        return cli_usage_error("lifecycle status",
                                               "the container name is too long");
                if (r < 0)
                        return cli_error("out of memory");
        }
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        if (a->json)
                r = cli_print_json(j);
        else if (a->container)
                r = status_detail(j);
        else
                r = status_table(j);
        json_decref(j);
        return r;
}

static int lifecycle_run_pass(struct cli_client *c, const struct lifecycle_args *a)
{
        json_t *body, *j = NULL;
        int r;

        body = json_pack("{s:b}", "dry_run", a->dry_run);
        if (!body)
                return cli_error("out of memory");
        r = cli_client_call(c, "POST", "/v1/lifecycle/run", body, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        json_decref(body);
        if (r != EXIT_OK)
                return r;
        r = a->json ? cli_print_json(j) : run_text(j);
        json_decref(j);
        return r;
}

static int lifecycle_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct lifecycle_args a = {0};
        const char *action;
        bool run;
        int r;

        if (argc < 2)
                return cli_usage_error("lifecycle", "which action? (status or run)");
        action = argv[1];
        if (streq(action, "--help") || streq(action, "-h")) {
                lifecycle_help(stdout);
                return EXIT_OK;
        }
        if (streq(action, "help")) {
                if (argc == 2) {
                        lifecycle_help(stdout);
                        return EXIT_OK;
                }
                if (argc == 3 && streq(argv[2], "status")) {
                        status_help(stdout);
                        return EXIT_OK;
                }
                if (argc == 3 && streq(argv[2], "run")) {
                        run_help(stdout);
                        return EXIT_OK;
                }
                if (argc > 3)
                        return cli_usage_error("lifecycle", "unexpected argument '%s'", argv[3]);
                return cli_usage_error("lifecycle", "unknown action '%s' (status or run)", argv[2]);
        }
        if (!streq(action, "status") && !streq(action, "run"))
                return cli_usage_error("lifecycle", "unknown action '%s' (status or run)", action);
        run = streq(action, "run");
        r = parse_args(argc - 1, argv + 1, run, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;

        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        return run ? lifecycle_run_pass(c, &a) : lifecycle_status(c, &a);
}

const struct cli_command cli_cmd_lifecycle = {
    .name = "lifecycle",
    .summary = "idle and runtime enforcement: status, dry run",
    .run = lifecycle_run,
    .help = lifecycle_help,
};
