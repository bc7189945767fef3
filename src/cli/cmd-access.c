/* cmd-access.c - `ds01 access grant|revoke|status|list`: bare-metal GPU
 * access, that is GPU processes outside containers.
 *
 * ds01d scans the GPUs for processes that no container of ds01 owns and
 * treats them by bare_metal_access.policy (report, warn or stop) unless their
 * user has a grant (for a time, or permanent) or is exempt. Admins grant and
 * revoke; every user may ask about themselves and list their grants. status
 * --quiet is for login scripts: no output at all, exit 0 when the user may
 * use GPUs outside containers, 1 when not or when anything fails (daemon
 * down included), within a few seconds. Through the control API
 * (/v1/access/..., docs/API.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

/* Ceiling for a request path (a user name, percent-encoded). */
#define ACCESS_PATH_MAX 2048
/* Longest user name taken (NSS names are far shorter). */
#define ACCESS_USER_MAX 256
/* Longest grant: a longer one is what 'permanent' is for. */
#define ACCESS_GRANT_MAX_S ((int64_t)100 * 365 * SEC_PER_DAY)
/* Seconds `status --quiet` waits for the daemon at most: a login waits on it. */
#define ACCESS_QUIET_TIMEOUT_S 2L
/* Widest COMMAND column of the process table (longer commands stick out). */
#define ACCESS_COMMAND_COLUMN_MAX 40

enum access_action {
        ACCESS_GRANT,
        ACCESS_REVOKE,
        ACCESS_STATUS,
        ACCESS_LIST,
};

struct access_args {
        enum access_action action;
        bool json;
        bool quiet;
        const char *user;     /* grant, revoke: USER; status: [USER] */
        const char *duration; /* grant: DURATION or "permanent", else NULL */
        bool permanent;
        int64_t duration_s;
        const char *reason;
};

/* ---- help ---- */

static void grant_help(FILE *f)
{
        fputs("usage: ds01 access grant USER [DURATION|permanent] [--reason TEXT] [--json]\n"
              "\n"
              "Allow USER to use GPUs outside containers (ds01 admins, and members of\n"
              "bare_metal_access.admin_group). DURATION: 90s, 30m, 24h, 2d, 1w, or a bare\n"
              "number of hours; 'permanent' for a grant without an end; without either,\n"
              "bare_metal_access.default_grant_duration_h. A new grant replaces the old.\n"
              "\n"
              "Options:\n"
              "      --reason TEXT  why (shown by 'ds01 access list' and in the events)\n"
              "      --json         the daemon's answer\n"
              "  -h, --help         show this help\n",
              f);
}

static void revoke_help(FILE *f)
{
        fputs("usage: ds01 access revoke USER [--json]\n"
              "\n"
              "End USER's grant now (admins). Their GPU processes outside containers are\n"
              "then treated by the policy again.\n"
              "\n"
              "Options:\n"
              "      --json         the daemon's answer\n"
              "  -h, --help         show this help\n",
              f);
}

static void status_help(FILE *f)
{
        fputs("usage: ds01 access status [USER] [--quiet | --json]\n"
              "\n"
              "Whether USER (default: you; another user: admins only) may use GPUs outside\n"
              "containers and why (a grant, exempt, or no grant), the policy for GPU\n"
              "processes outside containers without a grant (report, warn or stop), and\n"
              "USER's GPU processes outside containers now (PID, slot, memory, command,\n"
              "what ds01d does about each).\n"
              "\n"
              "Exit status: 0 when USER may, 1 when not or when the answer cannot be had.\n"
              "\n"
              "Options:\n"
              "  -q, --quiet        print nothing, only the exit status (for login scripts;\n"
              "                     gives up after 2 s)\n"
              "      --json         the daemon's answer\n"
              "  -h, --help         show this help\n",
              f);
}

static void list_help(FILE *f)
{
        fputs("usage: ds01 access list [--json]\n"
              "\n"
              "The grants in force: user, who granted it, since when, until when (never for\n"
              "a permanent grant) and why. You see your own; admins see everyone's.\n"
              "\n"
              "Options:\n"
              "      --json         the daemon's answer\n"
              "  -h, --help         show this help\n",
              f);
}

static void access_help(FILE *f)
{
        fputs("ds01 access: bare-metal GPU access, that is GPU processes outside\n"
              "containers. ds01d finds them on the GPUs and reports, warns about or stops\n"
              "them (bare_metal_access.policy) unless their user has a grant or is exempt.\n"
              "\n",
              f);
        grant_help(f);
        fputs("\n", f);
        revoke_help(f);
        fputs("\n", f);
        status_help(f);
        fputs("\n", f);
        list_help(f);
}

static const struct {
        const char *name;
        enum access_action action;
        const char *command; /* for usage errors: "(see 'ds01 <command> --help')" */
        void (*help)(FILE *f);
        int min_args, max_args;
} actions[] = {
    {"grant", ACCESS_GRANT, "access grant", grant_help, 1, 2},
    {"revoke", ACCESS_REVOKE, "access revoke", revoke_help, 1, 1},
    {"status", ACCESS_STATUS, "access status", status_help, 0, 1},
    {"list", ACCESS_LIST, "access list", list_help, 0, 0},
};

/* ---- formatting ---- */

/* "45s", "3m12s", "1h05m", "2d3h" (as `ds01 lifecycle`). buf >= 32 bytes. */
static char *human_duration(char *buf, size_t n, int64_t s)
{
        long long v = s < 0 ? 0 : (long long)s;

        if (v < 60)
                snprintf(buf, n, "%llds", v);
        else if (v < 3600)
                snprintf(buf, n, v % 60 ? "%lldm%02llds" : "%lldm", v / 60, v % 60);
        else if (v < 86400)
                snprintf(buf, n, (v % 3600) / 60 ? "%lldh%02lldm" : "%lldh", v / 3600,
                         (v % 3600) / 60);
        else
                snprintf(buf, n, (v % 86400) / 3600 ? "%lldd%lldh" : "%lldd", v / 86400,
                         (v % 86400) / 3600);
        return buf;
}

/* "512B", "1.5KiB", "80GiB"; "-" for null. */
static char *format_memory(char *buf, size_t n, const json_t *v)
{
        char size[FORMAT_SIZE_MAX];
        double bytes;

        if (!json_is_number(v)) {
                snprintf(buf, n, "-");
                return buf;
        }
        bytes = json_number_value(v);
        if (bytes < 1024)
                snprintf(buf, n, "%.0fB", bytes < 0 ? 0 : bytes);
        else
                snprintf(buf, n, "%siB", format_size(size, sizeof(size), (uint64_t)bytes));
        return buf;
}

/* ---- arguments ---- */

static bool user_name_valid(const char *s)
{
        if (isempty(s) || strlen(s) > ACCESS_USER_MAX)
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= ' ' || *p == '/' || *p == 0x7f)
                        return false;
        return true;
}

static int parse_duration_arg(struct access_args *a)
{
        int64_t s;
        int r;

        if (strcasecmp(a->duration, "permanent") == 0) {
                a->permanent = true;
                return 0;
        }
        r = parse_duration(a->duration, SEC_PER_HOUR, &s);
        if (r < 0 || isempty(a->duration))
                return cli_usage_error("access grant",
                                       "'%s' is not a duration; give e.g. 90s, 30m, 24h, 2d, 1w, "
                                       "a number of hours, or 'permanent'",
                                       a->duration);
        if (s == DURATION_INFINITY)
                return cli_usage_error("access grant",
                                       "'%s' is not a duration; for a grant without an end give "
                                       "'permanent'",
                                       a->duration);
        if (s <= 0)
                return cli_usage_error("access grant",
                                       "a grant of '%s' would end at once; give a duration "
                                       "longer than 0",
                                       a->duration);
        if (s > ACCESS_GRANT_MAX_S)
                return cli_usage_error("access grant",
                                       "'%s' is longer than 100 years; give 'permanent' instead",
                                       a->duration);
        a->duration_s = s;
        return 0;
}

/* Options and arguments of one action (argv[0] is the action). Returns 0, -1
 * after --help, or an exit code. */
static int parse_args(int argc, char **argv, size_t k, struct access_args *a)
{
        enum { OPT_JSON = 0x100, OPT_REASON };
        static const struct option grant_opts[] = {
            {"reason", required_argument, NULL, OPT_REASON},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        static const struct option status_opts[] = {
            {"quiet", no_argument, NULL, 'q'},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        static const struct option other_opts[] = {
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *cmd = actions[k].command;
        const struct option *opts = other_opts;
        int c, n;

        a->action = actions[k].action;
        if (a->action == ACCESS_GRANT)
                opts = grant_opts;
        else if (a->action == ACCESS_STATUS)
                opts = status_opts;

        optind = 0;
        while ((c = getopt_long(argc, argv, a->action == ACCESS_STATUS ? ":hq" : ":h", opts,
                                NULL)) >= 0) {
                switch (c) {
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_REASON:
                        a->reason = optarg;
                        break;
                case 'q':
                        a->quiet = true;
                        break;
                case 'h':
                        actions[k].help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
                default:
                        return cli_usage_error(cmd, "unknown option '%s' for '%s'",
                                               argv[optind - 1], cmd);
                }
        }
        n = argc - optind;
        if (n < actions[k].min_args)
                return cli_usage_error(cmd, "which user? give a user name");
        if (n > actions[k].max_args)
                return cli_usage_error(cmd, "unexpected argument '%s'",
                                       argv[optind + actions[k].max_args]);
        if (n >= 1) {
                a->user = argv[optind];
                if (!user_name_valid(a->user))
                        return cli_usage_error(cmd, "'%s' is not a user name", a->user);
        }
        if (n >= 2) {
                int r;

                a->duration = argv[optind + 1];
                r = parse_duration_arg(a);
                if (r != 0)
                        return r;
        }
        if (a->quiet && a->json)
                return cli_usage_error(cmd, "give --quiet or --json, not both");
        return 0;
}

/* ---- actions ---- */

/* " (reason: TEXT)" or "". */
static void print_reason(const json_t *grant)
{
        const char *reason = cli_json_str(grant, "reason", NULL);

        if (!isempty(reason))
                printf(" (reason: %s)", reason);
}

static void print_grant_sentence(const json_t *grant)
{
        char until[CLI_TIME_SHORT_MAX];
        const char *expires = cli_json_str(grant, "expires_at", NULL);

        printf("%s may use GPUs outside containers ", cli_json_str(grant, "user", "?"));
        if (json_is_true(json_object_get(grant, "permanent")) || !expires)
                fputs("permanently", stdout);
        else
                printf("until %s UTC", cli_time_short(until, sizeof(until), expires));
        print_reason(grant);
        fputs("\n", stdout);
}

static int access_grant(struct cli_client *c, const struct access_args *a)
{
        json_t *body, *j = NULL;
        int r;

        body = json_pack("{s:s}", "user", a->user);
        if (!body)
                return cli_error("out of memory");
        if (a->permanent) {
                json_object_set_new(body, "permanent", json_true());
                json_object_set_new(body, "duration_s", json_null());
        } else if (a->duration) {
                json_object_set_new(body, "duration_s", json_integer((json_int_t)a->duration_s));
        }
        if (a->reason)
                json_object_set_new(body, "reason", json_string(a->reason));

        r = cli_client_call(c, "POST", "/v1/access/grants", body, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        json_decref(body);
        if (r != EXIT_OK)
                return r;
        if (a->json)
                r = cli_print_json(j);
        else
                print_grant_sentence(json_object_get(j, "grant"));
        json_decref(j);
        return r;
}

static int access_revoke(struct cli_client *c, const struct access_args *a)
{
        _cleanup_strbuf_ struct strbuf path;
        char since[CLI_TIME_SHORT_MAX];
        const json_t *g;
        json_t *j = NULL;
        int r;

        strbuf_init(&path, ACCESS_PATH_MAX);
        if (strbuf_puts(&path, "/v1/access/grants/") < 0 || cli_client_path_add(&path, a->user) < 0)
                return cli_error("out of memory");
        r = cli_client_call(c, "DELETE", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        if (a->json) {
                r = cli_print_json(j);
                json_decref(j);
                return r;
        }
        g = json_object_get(j, "revoked");
        printf("revoked %s's bare-metal GPU access", a->user);
        if (json_is_object(g))
                printf(" (granted by %s on %s UTC)", cli_json_str(g, "granted_by", "?"),
                       cli_time_short(since, sizeof(since), cli_json_str(g, "granted_at", NULL)));
        fputs("\n", stdout);
        json_decref(j);
        return EXIT_OK;
}

static const char *policy_words(const char *policy)
{
        if (streq(policy, "report"))
                return "GPU processes outside containers without a grant are reported to admins";
        if (streq(policy, "warn"))
                return "GPU processes outside containers without a grant are reported, and their "
                       "users told";
        if (streq(policy, "stop"))
                return "GPU processes outside containers without a grant are stopped after a "
                       "warning: SIGTERM, then SIGKILL";
        return NULL;
}

static void print_processes(const json_t *procs)
{
        size_t wp = strlen("PID"), ws = strlen("SLOT"), wm = strlen("MEMORY"),
               wc = strlen("COMMAND"), i;
        char mem[32];
        json_t *p;

        if (json_array_size(procs) == 0) {
                puts("no GPU processes outside containers");
                return;
        }
        json_array_foreach(procs, i, p)
        {
                char pid[32];

                snprintf(pid, sizeof(pid), "%.0f", cli_json_num(p, "pid", 0));
                wp = MAX(wp, strlen(pid));
                ws = MAX(ws, strlen(cli_json_str(p, "slot", "-")));
                wm = MAX(wm, strlen(format_memory(mem, sizeof(mem),
                                                  json_object_get(p, "memory_bytes"))));
                wc = MAX(wc, MIN(strlen(cli_json_str(p, "command", "-")),
                                 (size_t)ACCESS_COMMAND_COLUMN_MAX));
        }
        puts("GPU processes outside containers:");
        printf("  %-*s %-*s %-*s %-*s %s\n", (int)wp, "PID", (int)ws, "SLOT", (int)wm, "MEMORY",
               (int)wc, "COMMAND", "ACTION");
        json_array_foreach(procs, i, p)
        {
                const char *action = cli_json_str(p, "action", "-");
                const char *stop_at = cli_json_str(p, "stop_at", NULL);
                const char *in = cli_json_str(p, "container_name", NULL);
                char act[128], left[32];
                int64_t t;

                if (streq(action, "stop") && stop_at && parse_timestamp(stop_at, &t) == 0)
                        snprintf(act, sizeof(act), "stop %s%s",
                                 t > now_epoch() ? "in " : "at the next scan",
                                 t > now_epoch()
                                     ? human_duration(left, sizeof(left), t - now_epoch())
                                     : "");
                else
                        snprintf(act, sizeof(act), "%s", action);
                if (in)
                        snprintf(act + strlen(act), sizeof(act) - strlen(act),
                                 " (in container %s, not its slot)", in);
                printf("  %-*.0f %-*s %-*s %-*s %s\n", (int)wp, cli_json_num(p, "pid", 0), (int)ws,
                       cli_json_str(p, "slot", "-"), (int)wm,
                       format_memory(mem, sizeof(mem), json_object_get(p, "memory_bytes")), (int)wc,
                       cli_json_str(p, "command", "-"), act);
        }
}

static void status_text(const json_t *j)
{
        const char *user = cli_json_str(j, "user", "?");
        const char *reason = cli_json_str(j, "reason", NULL);
        const char *policy = cli_json_str(j, "policy", NULL);
        const json_t *grant = json_object_get(j, "grant");
        bool allowed = json_is_true(json_object_get(j, "allowed"));

        printf("%s %s use GPUs outside containers%s%s%s\n", user, allowed ? "may" : "may not",
               reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
        if (json_is_object(grant)) {
                char since[CLI_TIME_SHORT_MAX], until[CLI_TIME_SHORT_MAX];
                const char *expires = cli_json_str(grant, "expires_at", NULL);

                printf(
                    "grant:  by %s on %s UTC, ", cli_json_str(grant, "granted_by", "?"),
                    cli_time_short(since, sizeof(since), cli_json_str(grant, "granted_at", NULL)));
                if (json_is_true(json_object_get(grant, "permanent")) || !expires)
                        fputs("permanent", stdout);
                else
                        printf("until %s UTC", cli_time_short(until, sizeof(until), expires));
                print_reason(grant);
                fputs("\n", stdout);
        }
        if (policy)
                printf("policy: %s%s%s%s\n", policy, policy_words(policy) ? " (" : "",
                       policy_words(policy) ?: "", policy_words(policy) ? ")" : "");
        print_processes(json_object_get(j, "processes"));
}

static int access_status(struct cli_client *c, const struct access_args *a)
{
        _cleanup_strbuf_ struct strbuf path;
        json_t *j = NULL;
        bool allowed;
        int r;

        strbuf_init(&path, ACCESS_PATH_MAX);
        if (strbuf_puts(&path, "/v1/access/status") < 0)
                return cli_error("out of memory");
        if (a->user) {
                r = cli_client_query_add(c, &path, "user", a->user);
                if (r < 0)
                        return cli_error("out of memory");
        }
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL,
                            a->quiet ? ACCESS_QUIET_TIMEOUT_S : CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        if (r != EXIT_OK)
                return EXIT_FAIL;
        allowed = json_is_true(json_object_get(j, "allowed"));
        if (a->json)
                r = cli_print_json(j);
        else if (!a->quiet)
                status_text(j);
        json_decref(j);
        if (r != EXIT_OK)
                return r;
        return allowed ? EXIT_OK : EXIT_FAIL;
}

static int access_list(struct cli_client *c, const struct access_args *a)
{
        size_t wu = strlen("USER"), wg = strlen("GRANTED_BY"), i;
        const json_t *list;
        json_t *j = NULL, *e;
        int r;

        r = cli_client_call(c, "GET", "/v1/access/grants", NULL, CLI_CLIENT_TIMEOUT, a->json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        if (a->json) {
                r = cli_print_json(j);
                json_decref(j);
                return r;
        }
        list = json_object_get(j, "grants");
        if (json_array_size(list) == 0) {
                puts("no grants");
                json_decref(j);
                return EXIT_OK;
        }
        json_array_foreach(list, i, e)
        {
                wu = MAX(wu, strlen(cli_json_str(e, "user", "-")));
                wg = MAX(wg, strlen(cli_json_str(e, "granted_by", "-")));
        }
        printf("%-*s %-*s %-16s %-16s %s\n", (int)wu, "USER", (int)wg, "GRANTED_BY", "SINCE (UTC)",
               "EXPIRES (UTC)", "REASON");
        json_array_foreach(list, i, e)
        {
                char since[CLI_TIME_SHORT_MAX], until[CLI_TIME_SHORT_MAX];
                const char *expires = cli_json_str(e, "expires_at", NULL);
                const char *reason = cli_json_str(e, "reason", NULL);

                if (json_is_true(json_object_get(e, "permanent")) || !expires)
                        snprintf(until, sizeof(until), "never");
                else
                        cli_time_short(until, sizeof(until), expires);
                printf("%-*s %-*s %-16s %-16s %s\n", (int)wu, cli_json_str(e, "user", "-"), (int)wg,
                       cli_json_str(e, "granted_by", "-"),
                       cli_time_short(since, sizeof(since), cli_json_str(e, "granted_at", NULL)),
                       until, isempty(reason) ? "-" : reason);
        }
        json_decref(j);
        return EXIT_OK;
}

static int access_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct access_args a = {0};
        size_t k;
        int r;

        if (argc < 2)
                return cli_usage_error("access", "which action? (grant, revoke, status or list)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") ||
            (streq(argv[1], "help") && argc == 2)) {
                access_help(stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "help")) {
                for (k = 0; k < ELEMENTSOF(actions); k++)
                        if (streq(argv[2], actions[k].name))
                                break;
                if (k == ELEMENTSOF(actions))
                        return cli_usage_error(
                            "access", "unknown action '%s' (grant, revoke, status or list)",
                            argv[2]);
                if (argc > 3)
                        return cli_usage_error("access", "unexpected argument '%s'", argv[3]);
                actions[k].help(stdout);
                return EXIT_OK;
        }
        for (k = 0; k < ELEMENTSOF(actions); k++)
                if (streq(argv[1], actions[k].name))
                        break;
        if (k == ELEMENTSOF(actions))
                return cli_usage_error(
                    "access", "unknown action '%s' (grant, revoke, status or list)", argv[1]);
        r = parse_args(argc - 1, argv + 1, k, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;

        /* A login script waits on this: not a word on stderr either, whatever
         * fails from here on (the exit status says it). */
        if (a.quiet && !freopen("/dev/null", "w", stderr))
                return EXIT_FAIL;
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        switch (a.action) {
        case ACCESS_GRANT:
                return access_grant(c, &a);
        case ACCESS_REVOKE:
                return access_revoke(c, &a);
        case ACCESS_STATUS:
                return access_status(c, &a);
        case ACCESS_LIST:
                return access_list(c, &a);
        }
        return EXIT_FAIL;
}

const struct cli_command cli_cmd_access = {
    .name = "access",
    .summary = "bare-metal GPU access grants",
    .run = access_run,
    .help = access_help,
};
