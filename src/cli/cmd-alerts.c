/* cmd-alerts.c - `ds01 alerts [--user USER | --all] [--json]`: the quota
 * alerts in force now. ds01d raises one when a user holds 80 % ("high") or
 * 100 % ("reached") of a limit (GPU-equivalents, containers, memory) and
 * clears it when use drops again; the same alerts are sent as events
 * (alert.*). Users see their own; admins everyone's, or one user's with
 * --user. Through the control API (GET /v1/alerts, docs/API.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/strbuf.h"
#include "util/strutil.h"

/* Ceiling for the request path (a user name, percent-encoded). */
#define ALERTS_PATH_MAX 1024
/* One cell of the table. */
#define ALERTS_CELL_MAX 64
/* Bytes per GiB: memory is shown in GiB. */
#define BYTES_PER_GIB (1024.0 * 1024.0 * 1024.0)

struct alerts_args {
        bool json;
        bool all;
        const char *user; /* --user, else NULL */
};

static void alerts_help(FILE *f)
{
        fputs("usage: ds01 alerts [--user USER | --all] [--json]\n"
              "\n"
              "The quota alerts in force now: a user who holds 80% (level high) or 100%\n"
              "(level reached) of a limit on GPU-equivalents, containers or memory. Each\n"
              "line: the user, the resource, the level, what is used of the limit (memory\n"
              "in GiB), the percent, since when (UTC) and the message the user was sent.\n"
              "An alert ends by itself when use drops below 80%. You see your own alerts;\n"
              "admins see everyone's.\n"
              "\n"
              "Options:\n"
              "      --user USER    only USER's alerts (another user's: admins only)\n"
              "      --all          every user's alerts (admins; the default for them)\n"
              "      --json         the daemon's answer (GET /v1/alerts)\n"
              "  -h, --help         show this help\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct alerts_args *a)
{
        enum { OPT_JSON = 0x100, OPT_USER, OPT_ALL };
        static const struct option opts[] = {
            {"user", required_argument, NULL, OPT_USER},
            {"all", no_argument, NULL, OPT_ALL},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_USER:
                        a->user = optarg;
                        break;
                case OPT_ALL:
                        a->all = true;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'h':
                        alerts_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("alerts", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("alerts", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc && streq(argv[optind], "help") && argc == optind + 1) {
                alerts_help(stdout);
                return -1;
        }
        if (optind < argc)
                return cli_usage_error("alerts", "unexpected argument '%s'", argv[optind]);
        if (a->user && a->all)
                return cli_usage_error("alerts", "give --user USER or --all, not both");
        if (a->user && isempty(a->user))
                return cli_usage_error("alerts", "the user name after --user must not be empty");
        return 0;
}

/* A number without trailing zeros: 1 -> "1", 0.142857 -> "0.14", 1.5 -> "1.5". */
static char *format_number(char *buf, size_t n, double v)
{
        char *dot;
        size_t len;

        snprintf(buf, n, "%.2f", v);
        dot = strchr(buf, '.');
        if (!dot)
                return buf;
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
        return buf;
}

/* "1/1", "0.43/1", "12/16 GiB". */
static char *format_usage(char *buf, size_t n, const json_t *e)
{
        const char *resource = cli_json_str(e, "resource", "");
        double used = cli_json_num(e, "used", 0), limit = cli_json_num(e, "limit", 0);
        char u[32], l[32];

        if (streq(resource, "memory"))
                snprintf(buf, n, "%s/%s GiB", format_number(u, sizeof(u), used / BYTES_PER_GIB),
                         format_number(l, sizeof(l), limit / BYTES_PER_GIB));
        else
                snprintf(buf, n, "%s/%s", format_number(u, sizeof(u), used),
                         format_number(l, sizeof(l), limit));
        return buf;
}

static int alerts_text(const json_t *j)
{
        const json_t *list = json_object_get(j, "alerts");
        size_t wu = strlen("USER"), wr = strlen("RESOURCE"), wl = strlen("LEVEL"),
               wn = strlen("USED/LIMIT"), i;
        char used[ALERTS_CELL_MAX], since[CLI_TIME_SHORT_MAX];
        json_t *e;

        if (json_array_size(list) == 0) {
                puts("no alerts");
                return EXIT_OK;
        }
        json_array_foreach(list, i, e)
        {
                wu = MAX(wu, strlen(cli_json_str(e, "user", "-")));
                wr = MAX(wr, strlen(cli_json_str(e, "resource", "-")));
                wl = MAX(wl, strlen(cli_json_str(e, "level", "-")));
                wn = MAX(wn, strlen(format_usage(used, sizeof(used), e)));
        }
        printf("%-*s %-*s %-*s %-*s %7s %-16s %s\n", (int)wu, "USER", (int)wr, "RESOURCE", (int)wl,
               "LEVEL", (int)wn, "USED/LIMIT", "PERCENT", "SINCE (UTC)", "MESSAGE");
        json_array_foreach(list, i, e)
        {
                char pct[32];

                snprintf(pct, sizeof(pct), "%.0f%%", cli_json_num(e, "percent", 0));
                printf("%-*s %-*s %-*s %-*s %7s %-16s %s\n", (int)wu, cli_json_str(e, "user", "-"),
                       (int)wr, cli_json_str(e, "resource", "-"), (int)wl,
                       cli_json_str(e, "level", "-"), (int)wn, format_usage(used, sizeof(used), e),
                       pct, cli_time_short(since, sizeof(since), cli_json_str(e, "since", NULL)),
                       cli_json_str(e, "message", "-"));
        }
        return EXIT_OK;
}

static int alerts_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        struct alerts_args a = {0};
        json_t *j = NULL;
        int r;

        strbuf_init(&path, ALERTS_PATH_MAX);
        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");

        if (strbuf_puts(&path, "/v1/alerts") < 0)
                return cli_error("out of memory");
        if (a.user) {
                r = cli_client_query_add(c, &path, "user", a.user);
                if (r == -E2BIG)
                        return cli_usage_error("alerts", "the user name is too long");
                if (r < 0)
                        return cli_error("out of memory");
        }
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : alerts_text(j);
        json_decref(j);
        return r;
}

const struct cli_command cli_cmd_alerts = {
    .name = "alerts",
    .summary = "your current quota alerts",
    .run = alerts_run,
    .help = alerts_help,
};
