/* cmd-status.c - `ds01 status [--json] [--no-color]`: the whole server on one
 * screen from GET /v1/overview (docs/API.md): the header (time, host,
 * health, NVML), the GPUs, every slot with its holder, container,
 * utilization and memory, the users near their quota, the queue, the
 * alerts, and a one-line summary. Colour only on a terminal, never with
 * NO_COLOR or --no-color, and never as the only carrier of meaning: the words
 * say it all. Any user may run it. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/overview.h"
#include "util/strutil.h"

#define ANSI_RESET  "\033[0m"
#define ANSI_RED    "\033[31m"
#define ANSI_GREEN  "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_BOLD   "\033[1m"

struct status_args {
        bool json;
        bool no_color;
};

static void status_help(FILE *f)
{
        fputs("usage: ds01 status [--json] [--no-color]\n"
              "\n"
              "The whole server on one screen: the time, host, health and NVML; each GPU\n"
              "with its utilization, memory, temperature and power; every slot with its\n"
              "state, holder, container, utilization and memory (NOTE: a reservation,\n"
              "processes on it, use outside ds01); the users at 80% or more of a quota;\n"
              "the queue; the quota alerts; and a one-line summary. Everyone may see it.\n"
              "For a live view that refreshes itself, see 'ds01 top'.\n"
              "\n"
              "Colour is used on a terminal only, and never when NO_COLOR is set.\n"
              "\n"
              "Options:\n"
              "      --json       the daemon's answer (GET /v1/overview, docs/API.md)\n"
              "      --no-color   no colour even on a terminal\n"
              "  -h, --help       show this help\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct status_args *a)
{
        enum { OPT_JSON = 0x100, OPT_NO_COLOR };
        static const struct option opts[] = {
            {"json", no_argument, NULL, OPT_JSON},
            {"no-color", no_argument, NULL, OPT_NO_COLOR},
            {"no-colour", no_argument, NULL, OPT_NO_COLOR},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_NO_COLOR:
                        a->no_color = true;
                        break;
                case 'h':
                        status_help(stdout);
                        return -1;
                default:
                        return cli_usage_error("status", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc && streq(argv[optind], "help") && argc == optind + 1) {
                status_help(stdout);
                return -1;
        }
        if (optind < argc)
                return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
        return 0;
}

/* Colour: a terminal, NO_COLOR unset or empty (no-color.org), no --no-color. */
static bool use_color(const struct status_args *a)
{
        const char *nc = getenv("NO_COLOR");
        return !a->no_color && !(nc && *nc) && isatty(STDOUT_FILENO);
}

static const char *paint(bool color, const char *code)
{
        return color ? code : "";
}

static const char *health_color(const char *st)
{
        if (!st)
                return ANSI_YELLOW;
        if (streq(st, "ok") || streq(st, "pass"))
                return ANSI_GREEN;
        if (streq(st, "fail"))
                return ANSI_RED;
        return ANSI_YELLOW;
}

static void print_header(const json_t *o, bool color)
{
        const json_t *health = json_object_get(o, "health"), *c;
        char line[OV_LINE_MAX];
        size_t i;

        printf("%sds01 status%s: %s\n", paint(color, ANSI_BOLD), paint(color, ANSI_RESET),
               ov_header_line(line, sizeof(line), o));
        json_array_foreach(json_object_get(health, "checks"), i, c)
        {
                const char *st = cli_json_str(c, "status", "?");
                if (streq(st, "pass"))
                        continue;
                printf("  %s%-4s%s %s: %s\n", paint(color, health_color(st)), st,
                       paint(color, ANSI_RESET), cli_json_str(c, "name", "?"),
                       cli_json_str(c, "message", ""));
        }
}

static void print_gpus(const json_t *o, bool color)
{
        const json_t *gpus = json_object_get(o, "gpus"), *g;
        size_t i;

        if (json_array_size(gpus) == 0) {
                printf("\nGPUs: none (%s)\n",
                       cli_json_str(json_object_get(o, "nvml"), "reason", "NVML found none"));
                return;
        }
        printf("\n%-4s %-4s %-5s %4s %-15s %5s %8s  %s\n", "GPU", "MODE", "SLOTS", "UTIL", "MEMORY",
               "TEMP", "POWER", "HEALTH");
        json_array_foreach(gpus, i, g)
        {
                char util[16] = "-", mem[32], temp[16] = "-", power[24] = "-";
                bool healthy = !json_is_false(json_object_get(g, "healthy"));
                json_t *v;

                if (json_is_integer(v = json_object_get(g, "utilization_percent")))
                        snprintf(util, sizeof(util), "%lld%%", (long long)json_integer_value(v));
                if (json_is_integer(v = json_object_get(g, "temperature_c")))
                        snprintf(temp, sizeof(temp), "%lldC", (long long)json_integer_value(v));
                if (json_is_number(v = json_object_get(g, "power_w")))
                        snprintf(power, sizeof(power), "%.0fW", json_number_value(v));
                ov_format_memory(mem, sizeof(mem),
                                 (long long)cli_json_num(g, "memory_used_bytes", -1),
                                 (long long)cli_json_num(g, "memory_total_bytes", -1));
                printf("%-4lld %-4s %5zu %4s %-15s %5s %8s  %s%s%s%s%s\n",
                       (long long)cli_json_num(g, "index", (double)i),
                       json_is_true(json_object_get(g, "mig_enabled")) ? "MIG" : "full",
                       json_array_size(json_object_get(g, "slots")), util, mem, temp, power,
                       paint(color, healthy ? ANSI_GREEN : ANSI_RED),
                       healthy ? "healthy" : "UNHEALTHY", paint(color, ANSI_RESET),
                       healthy ? "" : ": ", healthy ? "" : cli_json_str(g, "reason", "no reason"));
        }
}

static int print_slots(const json_t *o, bool color)
{
        struct ov_row *rows = NULL;
        struct ov_widths w;
        char line[OV_LINE_MAX];
        size_t n = 0;

        if (ov_rows(o, &rows, &n) < 0)
                return cli_error("out of memory");
        if (n > 0) {
                ov_widths_of(rows, n, &w);
                printf("\n%s\n", ov_row_header(line, sizeof(line), &w));
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", ov_row_format(line, sizeof(line), &rows[i], &w, color));
        }
        free(rows);
        return EXIT_OK;
}

/* "0.29/0.3", "1/unlimited". */
static char *of_limit(char *buf, size_t n, const json_t *u, const char *used, const char *limit)
{
        char a[32], b[32];
        json_t *l = json_object_get(u, limit);

        ov_format_number(a, sizeof(a), cli_json_num(u, used, 0));
        if (json_is_number(l))
                snprintf(buf, n, "%s/%s", a, ov_format_number(b, sizeof(b), json_number_value(l)));
        else
                snprintf(buf, n, "%s/unlimited", a);
        return buf;
}

static void print_users(const json_t *o, bool color)
{
        const json_t *users = json_object_get(o, "users"), *u;
        size_t i, near = 0, wu = strlen("USER"), wg = strlen("GROUP");

        json_array_foreach(users, i, u)
        {
                if (!ov_user_near_quota(u))
                        continue;
                near++;
                wu = MAX(wu, strlen(cli_json_str(u, "user", "-")));
                wg = MAX(wg, strlen(cli_json_str(u, "group", "-")));
        }
        if (near == 0) {
                printf("\nUsers near quota (>= %.0f%%): none\n", OV_NEAR_QUOTA_PERCENT);
                return;
        }
        printf("\nUsers near quota (>= %.0f%%):\n", OV_NEAR_QUOTA_PERCENT);
        printf("%-*s %-*s %-16s %-14s %-15s %s\n", (int)wu, "USER", (int)wg, "GROUP", "GPU-EQ",
               "CONTAINERS", "MEMORY", "QUOTA");
        json_array_foreach(users, i, u)
        {
                char gpu[48], cont[48], mem[32];
                double pct = cli_json_num(u, "percent_of_quota", 0);
                if (!ov_user_near_quota(u))
                        continue;
                ov_format_memory(mem, sizeof(mem), (long long)cli_json_num(u, "memory_bytes", -1),
                                 (long long)cli_json_num(u, "memory_limit_bytes", -1));
                printf("%-*s %-*s %-16s %-14s %-15s %s%.0f%%%s\n", (int)wu,
                       cli_json_str(u, "user", "-"), (int)wg, cli_json_str(u, "group", "-"),
                       of_limit(gpu, sizeof(gpu), u, "gpu_equivalents", "gpu_limit"),
                       of_limit(cont, sizeof(cont), u, "containers", "container_limit"), mem,
                       paint(color, pct >= 100 ? ANSI_RED : ANSI_YELLOW), pct,
                       paint(color, ANSI_RESET));
        }
}

static void print_queue(const json_t *o)
{
        const json_t *queue = json_object_get(o, "queue"), *e;
        size_t i, wu = strlen("USER"), wc = strlen("CONTAINER");

        if (json_array_size(queue) == 0) {
                printf("\nQueue: empty\n");
                return;
        }
        json_array_foreach(queue, i, e)
        {
                wu = MAX(wu, strlen(cli_json_str(e, "user", "-")));
                wc = MAX(wc, strlen(cli_json_str(e, "container", "-")));
        }
        printf("\nQueue: %zu waiting\n%-4s %-*s %-*s %-5s %s\n", json_array_size(queue), "POS",
               (int)wu, "USER", (int)wc, "CONTAINER", "COUNT", "SINCE (UTC)");
        json_array_foreach(queue, i, e)
        {
                char count[16], since[CLI_TIME_SHORT_MAX];
                json_t *c = json_object_get(e, "count");
                if (json_is_integer(c))
                        snprintf(count, sizeof(count), "%lld", (long long)json_integer_value(c));
                else
                        (void)strscpy(count, sizeof(count), json_string_value(c) ?: "?");
                printf("%-4lld %-*s %-*s %-5s %s%s\n",
                       (long long)cli_json_num(e, "position", (double)(i + 1)), (int)wu,
                       cli_json_str(e, "user", "-"), (int)wc, cli_json_str(e, "container", "-"),
                       count,
                       cli_time_short(since, sizeof(since), cli_json_str(e, "arrival", NULL)),
                       json_is_true(json_object_get(e, "full")) ? " (full GPU)" : "");
        }
}

static void print_alerts(const json_t *o, bool color)
{
        const json_t *alerts = json_object_get(o, "alerts"), *a;
        size_t i, wu = strlen("USER");

        if (json_array_size(alerts) == 0) {
                printf("\nAlerts: none\n");
                return;
        }
        json_array_foreach(alerts, i, a)
        {
                wu = MAX(wu, strlen(cli_json_str(a, "user", "-")));
        }
        printf("\nAlerts: %zu\n%-*s %-10s %-7s %7s %s\n", json_array_size(alerts), (int)wu, "USER",
               "RESOURCE", "LEVEL", "PERCENT", "MESSAGE");
        json_array_foreach(alerts, i, a)
        {
                const char *level = cli_json_str(a, "level", "-");
                char pct[16];
                snprintf(pct, sizeof(pct), "%.0f%%", cli_json_num(a, "percent", 0));
                printf("%-*s %-10s %s%-7s%s %7s %s\n", (int)wu, cli_json_str(a, "user", "-"),
                       cli_json_str(a, "resource", "-"),
                       paint(color, streq(level, "reached") ? ANSI_RED : ANSI_YELLOW), level,
                       paint(color, ANSI_RESET), pct, cli_json_str(a, "message", ""));
        }
}

static int status_text(const json_t *o, bool color)
{
        char line[OV_LINE_MAX];
        int r;

        print_header(o, color);
        print_gpus(o, color);
        r = print_slots(o, color);
        if (r != EXIT_OK)
                return r;
        print_users(o, color);
        print_queue(o);
        print_alerts(o, color);
        printf("\nSummary: %s\n", ov_summary_line(line, sizeof(line), o));
        return fflush(stdout) == 0 ? EXIT_OK : cli_error("cannot write the status");
}

static int status_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct status_args a = {0};
        json_t *j = NULL;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        r = cli_client_call(c, "GET", "/v1/overview", NULL, CLI_CLIENT_TIMEOUT, a.json, NULL, &j);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : status_text(j, use_color(&a));
        json_decref(j);
        return r;
}

const struct cli_command cli_cmd_status = {
    .name = "status",
    .summary = "the whole server on one screen",
    .run = status_run,
    .help = status_help,
};
