/* cmd-reserve.c - `ds01 reserve add|list|remove`: GPU slots kept for one user
 * or one group during a time window (a thesis deadline, a course). During the
 * window ds01d gives the reserved slots to nobody else; outside it they are
 * ordinary. Reservations come from user-overrides.yaml (source "config") and
 * from this command (source "admin"). Adding and removing are admin actions;
 * every user may list them (they explain why a free slot is not offered). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* A slot list holds at most this many slots. */
#define RESERVE_SLOTS_MAX 256

struct reserve_args {
        bool json;
        const char *user;
        const char *group;
        const char *slots; /* "1,2.3" */
        long long count;   /* 0: not given */
        const char *from;
        const char *to;
        int64_t start;
        int64_t end;
        const char *reason;
        long long id; /* remove */
};

static void reserve_help(FILE *f)
{
        fputs("usage: ds01 reserve add (--user USER | --group GROUP) (--slots LIST | --count N)\n"
              "                        --from TIME --to TIME [--reason TEXT] [--json]\n"
              "       ds01 reserve list [--json]\n"
              "       ds01 reserve remove ID [--json]\n"
              "\n"
              "Keep GPU slots for one user or one group from one time to another: during the\n"
              "window ds01d gives them to nobody else. add and remove are for admins; every\n"
              "user may list. Reservations from user-overrides.yaml (source config) come back\n"
              "on the next reload: change that file instead of removing them.\n"
              "\n"
              "Options of add:\n"
              "      --user USER       the user the slots are kept for\n"
              "      --group GROUP     ... or the group\n"
              "      --slots LIST      these slots, e.g. 3,2.1 (see 'ds01 gpu status')\n"
              "      --count N         ... or N slots, chosen at once by ds01d: the\n"
              "                        highest-numbered full GPUs first, then MIG slots\n"
              "      --from TIME       start of the window\n"
              "      --to TIME         end of the window\n"
              "      --reason TEXT     why (shown by 'ds01 reserve list')\n"
              "TIME: ISO 8601 (2026-06-30, 2026-06-30T14:00, 2026-06-30T14:00:00Z; local time\n"
              "without a zone), today, yesterday, 'N minutes|hours|days ago', @EPOCH_SECONDS.\n"
              "\n"
              "Options:\n"
              "      --json            the daemon's answer\n"
              "  -h, --help            show this help\n",
              f);
}

static bool slot_name_valid(const char *s)
{
        const char *p = s;
        bool dot = false;

        if (!*p)
                return false;
        for (; *p; p++) {
                if (*p == '.') {
                        if (dot || p == s || !p[1])
                                return false;
                        dot = true;
                } else if (*p < '0' || *p > '9') {
                        return false;
                }
        }
        return true;
}

/* "3, 2.1" -> ["3", "2.1"]; a usage error (exit code) on a bad list. */
static int parse_slots(const char *list, json_t **ret)
{
        _cleanup_free_ char *copy = strdup(list);
        json_t *slots;
        char *p, *next;

        if (!copy)
                return cli_error("out of memory");
        slots = json_array();
        if (!slots)
                /* copy: freed by _cleanup_free_, which neither analyzer models */
                // cppcheck-suppress memleak
                return cli_error("out of memory"); // NOLINT(clang-analyzer-unix.Malloc)
        for (p = copy; p; p = next) {
                next = strchr(p, ',');
                if (next)
                        *next++ = '\0';
                strstrip(p);
                if (!slot_name_valid(p)) {
                        json_decref(slots);
                        return cli_usage_error("reserve",
                                               "'%s' in --slots is not a slot name; give slots "
                                               "as N or N.D separated by commas, e.g. 3,2.1",
                                               p);
                }
                if (json_array_size(slots) >= RESERVE_SLOTS_MAX ||
                    json_array_append_new(slots, json_string(p)) < 0) {
                        json_decref(slots);
                        return cli_usage_error("reserve", "too many slots in --slots (at most %d)",
                                               RESERVE_SLOTS_MAX);
                }
        }
        *ret = slots;
        return 0;
}

/* Options of one action; returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, bool add, struct reserve_args *a)
{
        enum {
                OPT_USER = 0x100,
                OPT_GROUP,
                OPT_SLOTS,
                OPT_COUNT,
                OPT_FROM,
                OPT_TO,
                OPT_REASON,
                OPT_JSON,
        };
        static const struct option add_opts[] = {
            {"user", required_argument, NULL, OPT_USER},
            {"group", required_argument, NULL, OPT_GROUP},
            {"slots", required_argument, NULL, OPT_SLOTS},
            {"count", required_argument, NULL, OPT_COUNT},
            {"from", required_argument, NULL, OPT_FROM},
            {"to", required_argument, NULL, OPT_TO},
            {"reason", required_argument, NULL, OPT_REASON},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        static const struct option other_opts[] = {
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", add ? add_opts : other_opts, NULL)) >= 0) {
                switch (c) {
                case OPT_USER:
                        a->user = optarg;
                        break;
                case OPT_GROUP:
                        a->group = optarg;
                        break;
                case OPT_SLOTS:
                        a->slots = optarg;
                        break;
                case OPT_COUNT:
                        r = cli_parse_count("reserve", "--count", optarg, 1, &a->count);
                        if (r != 0)
                                return r;
                        break;
                case OPT_FROM:
                        a->from = optarg;
                        break;
                case OPT_TO:
                        a->to = optarg;
                        break;
                case OPT_REASON:
                        a->reason = optarg;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'h':
                        reserve_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("reserve", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("reserve", "unknown option '%s' for 'reserve %s'",
                                               argv[optind - 1], argv[0]);
                }
        }
        return 0;
}

static int check_add(struct reserve_args *a)
{
        int r;

        if (!!a->user == !!a->group)
                return cli_usage_error("reserve", "give either --user USER or --group GROUP");
        if (isempty(a->user ? a->user : a->group))
                return cli_usage_error("reserve", "the user or group must not be empty");
        if (!!a->slots == !!a->count)
                return cli_usage_error("reserve", "give either --slots LIST or --count N");
        if (!a->from || !a->to)
                return cli_usage_error("reserve", "give the window with --from TIME --to TIME");
        r = cli_parse_time_arg("reserve", "--from", a->from, &a->start);
        if (r != 0)
                return r;
        r = cli_parse_time_arg("reserve", "--to", a->to, &a->end);
        if (r != 0)
                return r;
        if (a->end <= a->start)
                return cli_usage_error("reserve", "--to '%s' is not after --from '%s'", a->to,
                                       a->from);
        return 0;
}

static void print_reservation(const json_t *e)
{
        char from[CLI_TIME_SHORT_MAX], to[CLI_TIME_SHORT_MAX];
        const char *user = cli_json_str(e, "user", NULL);
        size_t i;
        json_t *s;

        printf("reservation %.0f: slot%s ", cli_json_num(e, "id", 0),
               json_array_size(json_object_get(e, "slots")) == 1 ? "" : "s");
        json_array_foreach(json_object_get(e, "slots"), i, s)
        {
                printf("%s%s", i ? ", " : "", json_string_value(s) ?: "?");
        }
        printf(" for %s %s from %s to %s UTC", user ? "user" : "group",
               user ? user : cli_json_str(e, "group", "?"),
               cli_time_short(from, sizeof(from), cli_json_str(e, "start", NULL)),
               cli_time_short(to, sizeof(to), cli_json_str(e, "end", NULL)));
        if (!isempty(cli_json_str(e, "reason", NULL)))
                printf(" (%s)", cli_json_str(e, "reason", ""));
        fputs("\n", stdout);
}

static int reserve_add(struct cli_client *c, struct reserve_args *a)
{
        char start[FORMAT_TIMESTAMP_MAX], end[FORMAT_TIMESTAMP_MAX];
        json_t *body, *slots = NULL, *j = NULL;
        int r;

        r = check_add(a);
        if (r != 0)
                return r;
        if (a->slots) {
                r = parse_slots(a->slots, &slots);
                if (r != 0)
                        return r;
        }
        body = json_object();
        if (!body) {
                json_decref(slots);
                return cli_error("out of memory");
        }
        json_object_set_new(body, a->user ? "user" : "group",
                            json_string(a->user ? a->user : a->group));
        if (slots)
                json_object_set_new(body, "slots", slots);
        else
                json_object_set_new(body, "count", json_integer((json_int_t)a->count));
        json_object_set_new(body, "start",
                            json_string(format_timestamp_utc(start, sizeof(start), a->start)));
        json_object_set_new(body, "end",
                            json_string(format_timestamp_utc(end, sizeof(end), a->end)));
        if (a->reason)
                json_object_set_new(body, "reason", json_string(a->reason));

        r = cli_client_call(c, "POST", "/v1/reservations", body, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        json_decref(body);
        if (r != EXIT_OK)
                return r;
        if (a->json)
                r = cli_print_json(j);
        else
                print_reservation(j);
        json_decref(j);
        return r;
}

static int list_text(const json_t *j)
{
        const json_t *list = json_object_get(j, "reservations");
        char from[CLI_TIME_SHORT_MAX], to[CLI_TIME_SHORT_MAX], who[128], slots[256];
        size_t i, k;
        json_t *e, *s;

        if (json_array_size(list) == 0) {
                puts("no reservations");
                return EXIT_OK;
        }
        printf("%-4s %-20s %-12s %-16s %-16s %-6s %-6s %s\n", "ID", "FOR", "SLOTS", "FROM (UTC)",
               "TO (UTC)", "ACTIVE", "SOURCE", "REASON");
        json_array_foreach(list, i, e)
        {
                const char *user = cli_json_str(e, "user", NULL);
                size_t n = 0;

                snprintf(who, sizeof(who), "%s:%s", user ? "user" : "group",
                         user ? user : cli_json_str(e, "group", "?"));
                slots[0] = '\0';
                json_array_foreach(json_object_get(e, "slots"), k, s)
                {
                        int w = snprintf(slots + n, sizeof(slots) - n, "%s%s", k ? "," : "",
                                         json_string_value(s) ?: "?");
                        if (w < 0 || (size_t)w >= sizeof(slots) - n)
                                break;
                        n += (size_t)w;
                }
                printf("%-4.0f %-20s %-12s %-16s %-16s %-6s %-6s %s\n", cli_json_num(e, "id", 0),
                       who, slots[0] ? slots : "-",
                       cli_time_short(from, sizeof(from), cli_json_str(e, "start", NULL)),
                       cli_time_short(to, sizeof(to), cli_json_str(e, "end", NULL)),
                       json_is_true(json_object_get(e, "active")) ? "yes" : "no",
                       cli_json_str(e, "source", "-"),
                       isempty(cli_json_str(e, "reason", NULL)) ? "-"
                                                                : cli_json_str(e, "reason", ""));
        }
        return EXIT_OK;
}

static int reserve_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct reserve_args a = {0};
        const char *action;
        char path[64];
        json_t *j = NULL;
        int r;

        if (argc < 2)
                return cli_usage_error("reserve", "which action? (add, list, remove)");
        action = argv[1];
        if (streq(action, "--help") || streq(action, "-h") || streq(action, "help")) {
                reserve_help(stdout);
                return EXIT_OK;
        }
        if (!streq(action, "add") && !streq(action, "list") && !streq(action, "remove"))
                return cli_usage_error("reserve", "unknown action '%s' (add, list or remove)",
                                       action);
        r = parse_args(argc - 1, argv + 1, streq(action, "add"), &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        /* optind indexes argv + 1. */
        if (streq(action, "remove")) {
                if (optind + 1 >= argc)
                        return cli_usage_error(
                            "reserve", "which reservation? give its ID (ds01 reserve list)");
                r = cli_parse_count("reserve", "reservation ID", argv[optind + 1], 1, &a.id);
                if (r != 0)
                        return r;
                optind++;
        }
        if (optind + 1 < argc)
                return cli_usage_error("reserve", "unexpected argument '%s'", argv[optind + 1]);

        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        if (streq(action, "add"))
                return reserve_add(c, &a);

        if (streq(action, "list")) {
                r = cli_client_call(c, "GET", "/v1/reservations", NULL, CLI_CLIENT_TIMEOUT, a.json,
                                    NULL, &j);
                if (r != EXIT_OK)
                        return r;
                r = a.json ? cli_print_json(j) : list_text(j);
                json_decref(j);
                return r;
        }

        snprintf(path, sizeof(path), "/v1/reservations/%lld", a.id);
        r = cli_client_call(c, "DELETE", path, NULL, CLI_CLIENT_TIMEOUT, a.json, NULL, &j);
        if (r != EXIT_OK)
                return r;
        if (a.json)
                r = cli_print_json(j);
        else
                printf("removed reservation %lld\n", a.id);
        json_decref(j);
        return r;
}

const struct cli_command cli_cmd_reserve = {
    .name = "reserve",
    .summary = "keep GPU slots for a user or group in a time window: add, list, remove",
    .run = reserve_run,
    .help = reserve_help,
};
