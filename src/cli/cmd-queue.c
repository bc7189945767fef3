/* cmd-queue.c - `ds01 queue [list] [--json]` and `ds01 queue cancel ID`: the
 * requests that wait for a GPU slot, in the order ds01d will serve them
 * (priority, then decayed GPU-hours of the last 7 days, then arrival), and
 * leaving that queue. Users see their own entries (with their real position),
 * admins everyone's. Everything goes through the control API (docs/API.md). */
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

struct queue_args {
        bool json;
        const char *action; /* "list" or "cancel" */
        long long id;       /* cancel */
};

static void queue_help(FILE *f)
{
        fputs("usage: ds01 queue [list] [--json]\n"
              "       ds01 queue cancel ID [--json]\n"
              "\n"
              "list (the default) shows the requests waiting for a GPU slot, in the order\n"
              "ds01d serves them: by priority, then by the user's GPU-hours of the last 7\n"
              "days (recent use counts more), then by arrival. You see your own entries with\n"
              "their real position; admins see everyone's.\n"
              "\n"
              "cancel takes entry ID out of the queue (yours, or any as an admin); the\n"
              "waiting 'ds01 gpu allocate --wait' then fails with \"removed from the queue\".\n"
              "\n"
              "Options:\n"
              "      --json     the daemon's answer\n"
              "  -h, --help     show this help\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct queue_args *a)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c, r;

        a->action = "list";
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        a->json = true;
                        break;
                case 'h':
                        queue_help(stdout);
                        return -1;
                default:
                        return cli_usage_error("queue", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                a->action = argv[optind++];
        if (streq(a->action, "help")) {
                queue_help(stdout);
                return -1;
        }
        if (streq(a->action, "list")) {
                if (optind < argc)
                        return cli_usage_error("queue", "unexpected argument '%s'", argv[optind]);
                return 0;
        }
        if (!streq(a->action, "cancel"))
                return cli_usage_error("queue", "unknown action '%s' (list or cancel)", a->action);
        if (optind >= argc)
                return cli_usage_error("queue", "which entry? give its ID (ds01 queue list)");
        r = cli_parse_count("queue", "queue entry ID", argv[optind], 1, &a->id);
        if (r != 0)
                return r;
        if (++optind < argc)
                return cli_usage_error("queue", "unexpected argument '%s'", argv[optind]);
        return 0;
}

static const char *count_text(char *buf, size_t n, const json_t *e)
{
        const json_t *count = json_object_get(e, "count");

        if (json_is_string(count))
                snprintf(buf, n, "%s", json_string_value(count));
        else
                snprintf(buf, n, "%.0f", cli_json_num(e, "count", 1));
        return buf;
}

static int list_text(const json_t *j)
{
        const json_t *queue = json_object_get(j, "queue");
        size_t wu = strlen("USER"), wc = strlen("CONTAINER"), i;
        json_t *e;

        if (json_array_size(queue) == 0) {
                puts("the queue is empty");
                return EXIT_OK;
        }
        json_array_foreach(queue, i, e)
        {
                wu = MAX(wu, strlen(cli_json_str(e, "user", "-")));
                wc = MAX(wc, strlen(cli_json_str(e, "container", "-")));
        }
        printf("%-4s %-5s %-*s %-*s %-5s %-4s %8s %9s %-16s %s\n", "POS", "ID", (int)wu, "USER",
               (int)wc, "CONTAINER", "COUNT", "FULL", "PRIORITY", "GPU-HOURS", "SINCE", "DEADLINE");
        json_array_foreach(queue, i, e)
        {
                char since[CLI_TIME_SHORT_MAX], deadline[CLI_TIME_SHORT_MAX], count[32];

                printf(
                    "%-4.0f %-5.0f %-*s %-*s %-5s %-4s %8.0f %9.2f %-16s %s\n",
                    cli_json_num(e, "position", 0), cli_json_num(e, "id", 0), (int)wu,
                    cli_json_str(e, "user", "-"), (int)wc, cli_json_str(e, "container", "-"),
                    count_text(count, sizeof(count), e),
                    json_is_true(json_object_get(e, "full")) ? "yes" : "no",
                    cli_json_num(e, "priority", 0), cli_json_num(e, "decayed_gpu_hours", 0),
                    cli_time_short(since, sizeof(since), cli_json_str(e, "arrival", NULL)),
                    cli_time_short(deadline, sizeof(deadline), cli_json_str(e, "deadline", NULL)));
        }
        printf("\n%zu waiting\n", json_array_size(queue));
        return EXIT_OK;
}

static int queue_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct queue_args a = {0};
        char path[64];
        json_t *j = NULL;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");

        if (streq(a.action, "list")) {
                r = cli_client_call(c, "GET", "/v1/queue", NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                                    &j);
                if (r != EXIT_OK)
                        return r;
                r = a.json ? cli_print_json(j) : list_text(j);
                json_decref(j);
                return r;
        }

        snprintf(path, sizeof(path), "/v1/queue/%lld", a.id);
        r = cli_client_call(c, "DELETE", path, NULL, CLI_CLIENT_TIMEOUT, a.json, NULL, &j);
        if (r != EXIT_OK)
                return r;
        if (a.json)
                r = cli_print_json(j);
        else
                printf("removed queue entry %lld\n", a.id);
        json_decref(j);
        return r;
}

const struct cli_command cli_cmd_queue = {
    .name = "queue",
    .summary = "requests waiting for a GPU slot: list, cancel",
    .run = queue_run,
    .help = queue_help,
};
