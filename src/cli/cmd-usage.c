/* cmd-usage.c - `ds01 usage [--since 30d|DATE] [--until DATE] [--by
 * user|group|slot] [--csv|--json]`: GPU-hours allocated and used
 * (utilization-weighted), efficiency, containers and rejections per user,
 * group or slot over a range, from ds01d's usage samples (GET /v1/usage;
 * the arithmetic and its conventions are store/usage-sum.h). The times are
 * resolved here (DS01_NOW moves "now" for tests) and sent as UTC times, so
 * that `--since 2026-01-01 --until 2026-02-01` covers exactly what `ds01
 * report monthly --month 2026-01` covers. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "store/usage-sum.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Ceiling for the request path. */
#define USAGE_PATH_MAX 1024

struct usage_args {
        const char *since; /* as given; default "30d" */
        const char *until; /* as given; default "now" */
        const char *by;    /* default "user" */
        bool csv, json;
};

static void usage_help(FILE *f)
{
        fputs("usage: ds01 usage [--since 30d|DATE] [--until DATE] [--by user|group|slot]\n"
              "                  [--csv | --json]\n"
              "\n"
              "GPU-hours per user (or group, or slot) over a range, from ds01d's samples:\n"
              "  GPU-H ALLOC   GPU-equivalent hours allocated (a 3g.40gb slice of an A100\n"
              "                held for 2 hours is 0.375 x 2 = 0.75)\n"
              "  GPU-H USED    the same weighted by the slot's GPU utilization\n"
              "  EFFICIENCY    used / allocated ('-' when nothing was allocated)\n"
              "  CONTAINERS    distinct containers that held a GPU during the range\n"
              "  REJECTIONS    GPU requests that were refused (quota, no free GPU, ...)\n"
              "Rows are sorted by GPU-hours allocated; the last line is the total (its\n"
              "containers are distinct over all rows). Everyone may see everyone's usage.\n"
              "Times are UTC; a sample counts in the range when the seconds it covers end\n"
              "in it (docs/USER-GUIDE.md, \"GPU-hours and reports\").\n"
              "\n"
              "Options:\n"
              "      --since TIME   start: a duration before now (30d, 12h, 2w), a date\n"
              "                     YYYY-MM-DD (00:00 UTC), an ISO 8601 time, 'yesterday',\n"
              "                     'N days ago' or @EPOCH (default 30d)\n"
              "      --until TIME   end, not included, in the same forms (default now)\n"
              "      --by WHAT      user (default), group or slot\n"
              "      --csv          comma-separated values with a header row (RFC 4180), no\n"
              "                     total row; efficiency as a fraction, empty when none\n"
              "      --json         the daemon's answer (GET /v1/usage)\n"
              "  -h, --help         show this help\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct usage_args *a)
{
        enum { OPT_SINCE = 0x100, OPT_UNTIL, OPT_BY, OPT_CSV, OPT_JSON };
        static const struct option opts[] = {
            {"since", required_argument, NULL, OPT_SINCE},
            {"until", required_argument, NULL, OPT_UNTIL},
            {"by", required_argument, NULL, OPT_BY},
            {"csv", no_argument, NULL, OPT_CSV},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        enum usage_by by;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_SINCE:
                        a->since = optarg;
                        break;
                case OPT_UNTIL:
                        a->until = optarg;
                        break;
                case OPT_BY:
                        a->by = optarg;
                        break;
                case OPT_CSV:
                        a->csv = true;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'h':
                        usage_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("usage", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("usage", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc && streq(argv[optind], "help") && argc == optind + 1) {
                usage_help(stdout);
                return -1;
        }
        if (optind < argc)
                return cli_usage_error("usage", "unexpected argument '%s'", argv[optind]);
        if (a->csv && a->json)
                return cli_usage_error("usage", "give --csv or --json, not both");
        if (usage_by_from_name(a->by, &by) < 0)
                return cli_usage_error("usage", "--by takes user, group or slot, not '%s'", a->by);
        return 0;
}

static int parse_time(const char *option, const char *s, int64_t now, int64_t *ret)
{
        if (usage_parse_time(s, now, ret) < 0)
                return cli_usage_error("usage",
                                       "%s '%s' is not a time; give a duration (30d, 12h), a "
                                       "date (2026-01-31), an ISO 8601 time "
                                       "(2026-01-31T14:30:00Z), 'now', 'N days ago' or @EPOCH",
                                       option, s);
        return 0;
}

/* "12.50", or "-" for a missing number. */
static char *hours_text(char *buf, size_t n, const json_t *v)
{
        if (json_is_number(v))
                snprintf(buf, n, "%.2f", json_number_value(v));
        else
                snprintf(buf, n, "-");
        return buf;
}

static char *eff_text(char *buf, size_t n, const json_t *v)
{
        if (json_is_number(v))
                snprintf(buf, n, "%.1f%%", 100.0 * json_number_value(v));
        else
                snprintf(buf, n, "-");
        return buf;
}

static void print_row(int wk, int wg, bool with_group, const char *key, const char *group,
                      const json_t *o)
{
        char alloc[32], used[32], eff[32];

        printf("%-*s ", wk, key);
        if (with_group)
                printf("%-*s ", wg, group);
        printf("%11s %10s %10s %10lld %10lld\n",
               hours_text(alloc, sizeof(alloc), json_object_get(o, "gpu_hours_allocated")),
               hours_text(used, sizeof(used), json_object_get(o, "gpu_hours_used")),
               eff_text(eff, sizeof(eff), json_object_get(o, "efficiency")),
               (long long)cli_json_num(o, "containers", 0),
               (long long)cli_json_num(o, "rejections", 0));
}

static int usage_text(const json_t *j)
{
        const json_t *rows = json_object_get(j, "rows");
        const char *by = cli_json_str(j, "by", "user");
        bool with_group = streq(by, "user");
        char since[CLI_TIME_SHORT_MAX], until[CLI_TIME_SHORT_MAX], head[16];
        size_t wk = strlen("TOTAL"), wg = strlen("GROUP"), i;
        json_t *e;

        snprintf(head, sizeof(head), "%s", by);
        for (char *p = head; *p; p++)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        wk = MAX(wk, strlen(head));
        printf("GPU-hours by %s, %s to %s UTC\n", by,
               cli_time_short(since, sizeof(since), cli_json_str(j, "since", NULL)),
               cli_time_short(until, sizeof(until), cli_json_str(j, "until", NULL)));
        if (json_array_size(rows) == 0) {
                puts("no GPU use in this range");
                return EXIT_OK;
        }
        json_array_foreach(rows, i, e)
        {
                wk = MAX(wk, strlen(cli_json_str(e, "key", "-")));
                wg = MAX(wg, strlen(cli_json_str(e, "group", "-")));
        }
        printf("%-*s ", (int)wk, head);
        if (with_group)
                printf("%-*s ", (int)wg, "GROUP");
        printf("%11s %10s %10s %10s %10s\n", "GPU-H ALLOC", "GPU-H USED", "EFFICIENCY",
               "CONTAINERS", "REJECTIONS");
        json_array_foreach(rows, i, e)
        {
                const char *key = cli_json_str(e, "key", "-");
                print_row((int)wk, (int)wg, with_group, *key ? key : "-",
                          cli_json_str(e, "group", "-"), e);
        }
        print_row((int)wk, (int)wg, with_group, "TOTAL", "", json_object_get(j, "totals"));
        return EXIT_OK;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF. */
static void csv_field(const char *s, bool last)
{
        if (strpbrk(s, ",\"\r\n")) {
                putchar('"');
                for (const char *p = s; *p; p++) {
                        if (*p == '"')
                                putchar('"');
                        putchar(*p);
                }
                putchar('"');
        } else {
                fputs(s, stdout);
        }
        fputs(last ? "\r\n" : ",", stdout);
}

static void csv_number(const json_t *v, bool last)
{
        char buf[64] = "";

        if (json_is_integer(v))
                snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, sizeof(buf), "%.6f", json_real_value(v));
        csv_field(buf, last);
}

static int usage_csv(const json_t *j)
{
        const char *by = cli_json_str(j, "by", "user");
        bool with_group = streq(by, "user");
        size_t i;
        json_t *e;

        csv_field(by, false);
        if (with_group)
                csv_field("group", false);
        fputs("gpu_hours_allocated,gpu_hours_used,efficiency,containers,rejections\r\n", stdout);
        json_array_foreach(json_object_get(j, "rows"), i, e)
        {
                csv_field(cli_json_str(e, "key", ""), false);
                if (with_group)
                        csv_field(cli_json_str(e, "group", ""), false);
                csv_number(json_object_get(e, "gpu_hours_allocated"), false);
                csv_number(json_object_get(e, "gpu_hours_used"), false);
                csv_number(json_object_get(e, "efficiency"), false);
                csv_number(json_object_get(e, "containers"), false);
                csv_number(json_object_get(e, "rejections"), true);
        }
        return fflush(stdout) == 0 ? EXIT_OK : cli_error("cannot write the CSV: %m");
}

static int usage_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        struct usage_args a = {.since = "30d", .until = "now", .by = "user"};
        char since_iso[FORMAT_TIMESTAMP_MAX], until_iso[FORMAT_TIMESTAMP_MAX];
        int64_t now = now_epoch(), since, until;
        json_t *j = NULL;
        int r;

        strbuf_init(&path, USAGE_PATH_MAX);
        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = parse_time("--since", a.since, now, &since);
        if (r == 0)
                r = parse_time("--until", a.until, now, &until);
        if (r != 0)
                return r;
        if (until <= since)
                return cli_usage_error("usage", "--since (%s) must be before --until (%s)",
                                       format_timestamp_utc(since_iso, sizeof(since_iso), since),
                                       format_timestamp_utc(until_iso, sizeof(until_iso), until));
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        r = strbuf_puts(&path, "/v1/usage");
        if (r >= 0)
                r = cli_client_query_add(c, &path, "since",
                                         format_timestamp_utc(since_iso, sizeof(since_iso), since));
        if (r >= 0)
                r = cli_client_query_add(c, &path, "until",
                                         format_timestamp_utc(until_iso, sizeof(until_iso), until));
        if (r >= 0)
                r = cli_client_query_add(c, &path, "by", a.by);
        if (r < 0)
                return cli_error("out of memory");
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : a.csv ? usage_csv(j) : usage_text(j);
        json_decref(j);
        return r;
}

const struct cli_command cli_cmd_usage = {
    .name = "usage",
    .summary = "GPU-hours per user, group or slot",
    .run = usage_run,
    .help = usage_help,
};
