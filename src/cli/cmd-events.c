/* cmd-events.c - `ds01 events`: the event log that ds01d keeps (GPU
 * allocations and releases, the queue, reservations, configuration reloads,
 * daemon starts and stops), read through the control API.
 *
 * Without options: the newest 50 events the caller may see, printed oldest
 * first, one line each. --json prints one record per line exactly as
 * <log-dir>/events.jsonl holds it (written by the same code,
 * store/event-record.c), so the output can be diffed with that file. --follow
 * then polls for newer events every 500 ms until Ctrl-C; --summary counts the
 * selection per event type and per user. `ds01 events import FILE` loads an
 * existing events.jsonl (current and old {ts, event, user, container} records)
 * into the daemon in batches. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "store/event-record.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define EVENTS_DEFAULT_LIMIT 50
#define FOLLOW_INTERVAL_MS   500
/* One import request: at most this many lines and bytes. */
#define IMPORT_BATCH_LINES 1000
#define IMPORT_BATCH_BYTES ((size_t)4 * 1024 * 1024)
/* Seconds one import request may take. */
#define IMPORT_TIMEOUT 300L
/* The query string of one request. */
#define QUERY_MAX 8192

struct events_args {
        const char *user;
        const char *type;
        const char *container;
        const char *since_text;
        const char *until_text;
        int64_t since;
        int64_t until;
        long long limit; /* 0 = all */
        bool limit_given;
        bool all;
        bool json;
        bool follow;
        bool summary;
};

static volatile sig_atomic_t interrupted;

static void events_help(FILE *f)
{
        fputs("usage: ds01 events [--user USER] [--type PREFIX] [--container NAME]\n"
              "                   [--since TIME] [--until TIME] [--limit N | --all]\n"
              "                   [--json] [--follow | --summary]\n"
              "       ds01 events import FILE [--json]\n"
              "\n"
              "Show what ds01d recorded: GPU allocations and releases, the queue,\n"
              "reservations, configuration reloads, daemon starts and stops. The newest 50\n"
              "matching events, oldest first, one per line:\n"
              "  TIMESTAMP  TYPE  USER  key=value ...\n"
              "You see your own events; admins see everyone's.\n"
              "\n"
              "Options:\n"
              "      --user USER       events of USER (admins, or yourself)\n"
              "      --type PREFIX     event types starting with PREFIX (gpu. = gpu.allocated,\n"
              "                        gpu.released, ...)\n"
              "      --container NAME  events of one container\n"
              "      --since TIME      at or after TIME\n"
              "      --until TIME      before TIME\n"
              "      --limit N         the newest N events (default 50; 0 = all)\n"
              "      --all             every matching event\n"
              "      --json            one JSON record per line, as in events.jsonl\n"
              "      --follow          then wait for new events and print them as they come\n"
              "                        (every 0.5 s) until Ctrl-C\n"
              "      --summary         count the events per type and per user instead (all\n"
              "                        matching events unless --limit is given)\n"
              "  -h, --help            show this help\n"
              "TIME: ISO 8601 (2026-06-30, 2026-06-30T14:00, 2026-06-30T14:00:00Z; local time\n"
              "without a zone), today, yesterday, 'N minutes|hours|days ago', @EPOCH_SECONDS.\n"
              "\n"
              "import (admins) loads an events.jsonl file, current records and the old\n"
              "{ts, event, user, container} ones, in batches of 1000 lines; lines that are\n"
              "not events are counted and skipped: 'imported N events, skipped M'.\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct events_args *a)
{
        enum {
                OPT_USER = 0x100,
                OPT_TYPE,
                OPT_CONTAINER,
                OPT_SINCE,
                OPT_UNTIL,
                OPT_LIMIT,
                OPT_ALL,
                OPT_JSON,
                OPT_FOLLOW,
                OPT_SUMMARY,
        };
        static const struct option opts[] = {
            {"user", required_argument, NULL, OPT_USER},
            {"type", required_argument, NULL, OPT_TYPE},
            {"container", required_argument, NULL, OPT_CONTAINER},
            {"since", required_argument, NULL, OPT_SINCE},
            {"until", required_argument, NULL, OPT_UNTIL},
            {"limit", required_argument, NULL, OPT_LIMIT},
            {"all", no_argument, NULL, OPT_ALL},
            {"json", no_argument, NULL, OPT_JSON},
            {"follow", no_argument, NULL, OPT_FOLLOW},
            {"summary", no_argument, NULL, OPT_SUMMARY},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c, r;

        a->limit = EVENTS_DEFAULT_LIMIT;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_USER:
                        a->user = optarg;
                        break;
                case OPT_TYPE:
                        a->type = optarg;
                        break;
                case OPT_CONTAINER:
                        a->container = optarg;
                        break;
                case OPT_SINCE:
                        r = cli_parse_time_arg("events", "--since", optarg, &a->since);
                        if (r != 0)
                                return r;
                        a->since_text = optarg;
                        break;
                case OPT_UNTIL:
                        r = cli_parse_time_arg("events", "--until", optarg, &a->until);
                        if (r != 0)
                                return r;
                        a->until_text = optarg;
                        break;
                case OPT_LIMIT:
                        r = cli_parse_count("events", "--limit", optarg, 0, &a->limit);
                        if (r != 0)
                                return r;
                        a->limit_given = true;
                        break;
                case OPT_ALL:
                        a->all = true;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_FOLLOW:
                        a->follow = true;
                        break;
                case OPT_SUMMARY:
                        a->summary = true;
                        break;
                case 'h':
                        events_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("events", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("events", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("events", "unexpected argument '%s'", argv[optind]);
        if (a->all && a->limit_given)
                return cli_usage_error("events", "give either --limit N or --all");
        if (a->follow && a->summary)
                return cli_usage_error("events", "give either --follow or --summary");
        if (a->since_text && a->until_text && a->until <= a->since)
                return cli_usage_error("events", "--until '%s' is not after --since '%s'",
                                       a->until_text, a->since_text);
        if (a->all || (a->summary && !a->limit_given))
                a->limit = 0;
        return 0;
}

/* "/v1/events?user=...&...": the filters, then limit and after_id (>= 0). */
static int build_path(struct cli_client *c, const struct events_args *a, long long limit,
                      long long after_id, struct strbuf *ret)
{
        char ts[FORMAT_TIMESTAMP_MAX], num[32];
        int r;

        r = strbuf_puts(ret, "/v1/events");
        if (r >= 0 && a->user)
                r = cli_client_query_add(c, ret, "user", a->user);
        if (r >= 0 && a->type)
                r = cli_client_query_add(c, ret, "type", a->type);
        if (r >= 0 && a->container)
                r = cli_client_query_add(c, ret, "container", a->container);
        if (r >= 0 && a->since_text)
                r = cli_client_query_add(c, ret, "since",
                                         format_timestamp_utc(ts, sizeof(ts), a->since));
        if (r >= 0 && a->until_text)
                r = cli_client_query_add(c, ret, "until",
                                         format_timestamp_utc(ts, sizeof(ts), a->until));
        if (r >= 0 && after_id >= 0) {
                snprintf(num, sizeof(num), "%lld", after_id);
                r = cli_client_query_add(c, ret, "after_id", num);
        }
        if (r >= 0) {
                snprintf(num, sizeof(num), "%lld", limit);
                r = cli_client_query_add(c, ret, "limit", num);
        }
        return r;
}

static long long event_id(const json_t *e)
{
        return (long long)cli_json_num(e, "id", 0);
}

static int compare_events(const void *x, const void *y)
{
        long long a = event_id(*(json_t *const *)x), b = event_id(*(json_t *const *)y);

        return (a > b) - (a < b);
}

/* The events of an answer, oldest first (by id), borrowed from j. */
static int sorted_events(const json_t *j, json_t ***ret, size_t *ret_n)
{
        const json_t *list = json_object_get(j, "events");
        size_t n = json_array_size(list), i;
        json_t **v, *e;

        v = calloc(n ? n : 1, sizeof(json_t *));
        if (!v)
                return -ENOMEM;
        json_array_foreach(list, i, e)
        {
                v[i] = e;
        }
        qsort(v, n, sizeof(json_t *), compare_events);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The events.jsonl line of an event (malloc'd, no newline), written by the
 * daemon's own record writer (store/event-record.h) so that it is byte for
 * byte what events.jsonl holds: key order, escaping, numbers, and the
 * truncation of records over 4000 bytes. -EINVAL when the daemon's event is
 * not a valid record, -ENOMEM. */
static int record_line(const json_t *e, char **ret_line)
{
        struct event_record rec = {};
        _cleanup_free_ char *text = NULL;
        const json_t *details = json_object_get(e, "details");
        json_t *o;
        char *line;
        size_t len;
        int r;

        o = json_pack(
            "{s:s, s:s, s:O?, s:O?, s:O?}", "timestamp", cli_json_str(e, "timestamp", ""),
            "event_type", cli_json_str(e, "event_type", ""), "user",
            json_is_string(json_object_get(e, "user")) ? json_object_get(e, "user") : NULL,
            "source",
            json_is_string(json_object_get(e, "source")) ? json_object_get(e, "source") : NULL,
            "details", json_is_object(details) ? details : NULL);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        r = event_record_parse(text, strlen(text), &rec);
        if (r < 0)
                return r;
        r = event_record_format(&rec, &line, &len);
        event_record_release(&rec);
        if (r < 0)
                return r;
        *ret_line = line;
        return 0;
}

static bool needs_quotes(const char *s)
{
        if (!*s)
                return true;
        for (; *s; s++)
                if (*s == ' ' || *s == '"' || *s == '=' || *s == '\t' || *s == '\n' || *s == '\\')
                        return true;
        return false;
}

/* "  key=value key=value" for the details: strings bare unless they need
 * quotes, everything else as compact JSON. */
static void print_details(const json_t *details)
{
        const char *key;
        bool first = true;
        json_t *v;

        json_object_foreach((json_t *)details, key, v)
        {
                char *text = NULL;

                fputs(first ? "  " : " ", stdout);
                first = false;
                if (json_is_string(v) && !needs_quotes(json_string_value(v))) {
                        printf("%s=%s", key, json_string_value(v));
                        continue;
                }
                text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                printf("%s=%s", key, text ? text : "?");
                free(text);
        }
}

static int print_event(const json_t *e, bool json)
{
        const json_t *details = json_object_get(e, "details");
        const char *user;
        char *line;
        int r;

        if (json) {
                r = record_line(e, &line);
                if (r == -ENOMEM)
                        return cli_error("out of memory");
                if (r < 0)
                        return cli_error("ds01d sent event %lld in a form that is not an event "
                                         "record: %s",
                                         event_id(e), strerror(-r));
                puts(line);
                free(line);
                return EXIT_OK;
        }
        user = cli_json_str(e, "user", NULL);
        printf("%s  %-16s  %-10s", cli_json_str(e, "timestamp", "-"),
               cli_json_str(e, "event_type", "-"), isempty(user) ? "-" : user);
        if (json_is_object(details))
                print_details(details);
        fputs("\n", stdout);
        return EXIT_OK;
}

/* Prints the events of j oldest first; *last_id becomes the highest id seen
 * (or the answer's last_id when higher). */
static int print_events(const json_t *j, bool json, long long *last_id)
{
        _cleanup_free_ json_t **v = NULL;
        size_t n;
        int r;

        if (sorted_events(j, &v, &n) < 0)
                return cli_error("out of memory");
        for (size_t i = 0; i < n; i++) {
                r = print_event(v[i], json);
                if (r != EXIT_OK)
                        return r;
                *last_id = MAX(*last_id, event_id(v[i]));
        }
        *last_id = MAX(*last_id, (long long)cli_json_num(j, "last_id", 0));
        fflush(stdout);
        return EXIT_OK;
}

static void on_sigint(int sig)
{
        interrupted = 1;
}

static int follow(struct cli_client *c, const struct events_args *a, long long last_id)
{
        struct sigaction sa = {.sa_handler = on_sigint};
        int r = EXIT_OK;

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!interrupted) {
                struct timespec ts = {0, FOLLOW_INTERVAL_MS * 1000000L};
                _cleanup_strbuf_ struct strbuf path;
                json_t *j = NULL;

                nanosleep(&ts, NULL);
                if (interrupted)
                        break;
                strbuf_init(&path, QUERY_MAX);
                if (build_path(c, a, 0, last_id, &path) < 0)
                        return cli_error("the filters are too long");
                r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, false,
                                    NULL, &j);
                if (r != EXIT_OK)
                        break;
                r = print_events(j, a->json, &last_id);
                json_decref(j);
                if (r != EXIT_OK)
                        break;
        }
        /* Ctrl-C is how a follow ends: a success. */
        return interrupted ? EXIT_OK : r;
}

/* Adds one to counts[name]. */
static void count_one(json_t *counts, const char *name)
{
        json_t *v = json_object_get(counts, name);

        if (v)
                json_integer_set(v, json_integer_value(v) + 1);
        else
                json_object_set_new(counts, name, json_integer(1));
}

struct tally {
        const char *name;
        long long n;
};

static int compare_tally(const void *x, const void *y)
{
        const struct tally *a = x, *b = y;

        if (a->n != b->n)
                return a->n < b->n ? 1 : -1;
        return strcmp(a->name, b->name);
}

static int print_counts(const char *title, json_t *counts)
{
        size_t n = json_object_size(counts), i = 0, w = 0;
        _cleanup_free_ struct tally *t = calloc(n ? n : 1, sizeof(*t));
        const char *key;
        json_t *v;

        if (!t)
                return cli_error("out of memory");
        json_object_foreach(counts, key, v)
        {
                t[i++] = (struct tally){key, json_integer_value(v)};
                w = MAX(w, strlen(key));
        }
        qsort(t, n, sizeof(*t), compare_tally);
        printf("\n%s:\n", title);
        for (i = 0; i < n; i++)
                printf("  %-*s %6lld\n", (int)w, t[i].name, t[i].n);
        return EXIT_OK;
}

static int summary(const json_t *j, bool json)
{
        _cleanup_free_ json_t **v = NULL;
        json_t *by_type = json_object(), *by_user = json_object(), *out;
        size_t n;
        int r;

        if (!by_type || !by_user || sorted_events(j, &v, &n) < 0) {
                json_decref(by_type);
                json_decref(by_user);
                return cli_error("out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                const char *user = cli_json_str(v[i], "user", NULL);

                count_one(by_type, cli_json_str(v[i], "event_type", "?"));
                count_one(by_user, isempty(user) ? "(none)" : user);
        }
        if (json) {
                out = json_pack("{s:I, s:s?, s:s?, s:o, s:o}", "events", (json_int_t)n, "first",
                                n ? cli_json_str(v[0], "timestamp", NULL) : NULL, "last",
                                n ? cli_json_str(v[n - 1], "timestamp", NULL) : NULL, "by_type",
                                by_type, "by_user", by_user);
                if (!out)
                        return cli_error("out of memory");
                r = cli_print_json(out);
                json_decref(out);
                return r;
        }
        if (n == 0)
                printf("0 events\n");
        else
                printf("%zu event%s from %s to %s\n", n, n == 1 ? "" : "s",
                       cli_json_str(v[0], "timestamp", "?"),
                       cli_json_str(v[n - 1], "timestamp", "?"));
        r = n ? print_counts("By type", by_type) : EXIT_OK;
        if (r == EXIT_OK && n)
                r = print_counts("By user", by_user);
        json_decref(by_type);
        json_decref(by_user);
        return r;
}

static int events_show(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        struct events_args a = {0};
        long long last_id = 0;
        json_t *j = NULL;
        int r;

        strbuf_init(&path, QUERY_MAX);
        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        if (build_path(c, &a, a.limit, -1, &path) < 0)
                return cli_usage_error("events", "the filters are too long");
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, false, NULL, &j);
        if (r != EXIT_OK)
                return r;
        if (a.summary)
                r = summary(j, a.json);
        else
                r = print_events(j, a.json, &last_id);
        json_decref(j);
        if (r != EXIT_OK || !a.follow)
                return r;
        return follow(c, &a, last_id);
}

/* ---- import ---------------------------------------------------------------- */

struct import_state {
        struct cli_client *client;
        struct strbuf batch;                 /* lines, each ending in '\n' */
        long long lines[IMPORT_BATCH_LINES]; /* file line number of each batch line */
        size_t n_lines;
        long long imported;
        long long skipped;
        long long first_error_line; /* 0: none yet */
        char *first_error;
};

/* Keeps the error of the earliest file line. */
static void note_error(struct import_state *s, long long line, const char *message)
{
        char *m;

        if (s->first_error_line && s->first_error_line <= line)
                return;
        if (asprintf(&m, "line %lld: %s", line, message) < 0)
                return;
        free(s->first_error);
        s->first_error = m;
        s->first_error_line = line;
}

/* The daemon's first_error speaks of the line in the batch ("line 17: not
 * JSON"); put the line of the file in its place. */
static void note_batch_error(struct import_state *s, const char *error)
{
        const char *rest = startswith(error, "line ");
        long long k;
        char *end;

        if (rest) {
                errno = 0;
                k = strtoll(rest, &end, 10);
                if (errno == 0 && end != rest && *end == ':' && k >= 1 && (size_t)k <= s->n_lines) {
                        end++;
                        while (*end == ' ')
                                end++;
                        note_error(s, s->lines[k - 1], end);
                        return;
                }
        }
        note_error(s, s->lines[0], error);
}

static int import_flush(struct import_state *s)
{
        const char *error;
        json_t *j = NULL;
        long status = 0;
        int r;

        if (s->n_lines == 0)
                return EXIT_OK;
        r = cli_client_request_raw(s->client, "POST", "/v1/events/import", strbuf_str(&s->batch),
                                   s->batch.len, IMPORT_TIMEOUT, &status, &j);
        if (r < 0)
                return EXIT_FAIL;
        if (status < 200 || status >= 300) {
                const char *m = cli_json_str(j, "message", NULL);
                cli_error("%s", m ? m : "ds01d refused the import");
                json_decref(j);
                return EXIT_FAIL;
        }
        s->imported += (long long)cli_json_num(j, "imported", 0);
        s->skipped += (long long)cli_json_num(j, "skipped", 0);
        error = cli_json_str(j, "first_error", NULL);
        if (!isempty(error))
                note_batch_error(s, error);
        json_decref(j);
        strbuf_reset(&s->batch);
        s->n_lines = 0;
        return EXIT_OK;
}

/* Reads one line of at most max bytes into line (without the newline); a
 * longer one is read to its end and *ret_too_long set. 1 = a line, 0 = end of
 * file, -errno. */
static int read_line(FILE *f, struct strbuf *line, bool *ret_too_long)
{
        char chunk[65536];
        bool any = false, too_long = false;

        strbuf_reset(line);
        while (fgets(chunk, sizeof(chunk), f)) {
                size_t n = strlen(chunk);
                bool eol = n > 0 && chunk[n - 1] == '\n';

                any = true;
                if (eol)
                        n--;
                if (!too_long && strbuf_append(line, chunk, n) == -E2BIG)
                        too_long = true;
                if (eol)
                        break;
        }
        if (ferror(f))
                return -EIO;
        *ret_too_long = too_long;
        return any ? 1 : 0;
}

static bool blank(const char *s)
{
        for (; *s; s++)
                if (*s != ' ' && *s != '\t' && *s != '\r')
                        return false;
        return true;
}

static int import_file(struct import_state *s, FILE *f, const char *path)
{
        _cleanup_strbuf_ struct strbuf line;
        long long lineno = 0;
        bool too_long;
        int r;

        /* A line must fit in a batch with its newline. */
        strbuf_init(&line, IMPORT_BATCH_BYTES - 1);
        for (;;) {
                r = read_line(f, &line, &too_long);
                if (r < 0)
                        return cli_error("cannot read '%s' after line %lld: %s", path, lineno,
                                         strerror(-r));
                if (r == 0)
                        break;
                lineno++;
                if (too_long) {
                        s->skipped++;
                        note_error(s, lineno, "longer than 4 MiB");
                        continue;
                }
                if (blank(strbuf_str(&line)))
                        continue;
                if (s->n_lines >= IMPORT_BATCH_LINES ||
                    s->batch.len + line.len + 1 > IMPORT_BATCH_BYTES) {
                        r = import_flush(s);
                        if (r != EXIT_OK)
                                return r;
                }
                if (strbuf_append(&s->batch, strbuf_str(&line), line.len) < 0 ||
                    strbuf_putc(&s->batch, '\n') < 0)
                        return cli_error("out of memory");
                s->lines[s->n_lines++] = lineno;
        }
        return import_flush(s);
}

static int events_import(int argc, char **argv, const struct cli_global *g)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct import_state *s;
        const char *path;
        bool json = false;
        FILE *f;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        events_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("events", "unknown option '%s' for 'events import'",
                                               argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return cli_usage_error("events", "which file? ds01 events import FILE");
        if (optind + 1 < argc)
                return cli_usage_error("events", "unexpected argument '%s'", argv[optind + 1]);
        path = argv[optind];

        f = fopen(path, "re");
        if (!f)
                return cli_error("cannot open '%s': %s", path, strerror(errno));
        if (cli_client_open(g->socket_path, &c) < 0) {
                fclose(f);
                return cli_error("out of memory");
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                fclose(f);
                return cli_error("out of memory");
        }
        s->client = c;
        strbuf_init(&s->batch, IMPORT_BATCH_BYTES);

        r = import_file(s, f, path);
        fclose(f);
        if (r != EXIT_OK && s->imported > 0)
                fprintf(stderr, "ds01: %lld events were imported before the error\n", s->imported);
        if (r == EXIT_OK && json) {
                json_t *out =
                    json_pack("{s:I, s:I, s:s?}", "imported", (json_int_t)s->imported, "skipped",
                              (json_int_t)s->skipped, "first_error", s->first_error);
                r = out ? cli_print_json(out) : cli_error("out of memory");
                json_decref(out);
        } else if (r == EXIT_OK) {
                printf("imported %lld event%s, skipped %lld", s->imported,
                       s->imported == 1 ? "" : "s", s->skipped);
                if (s->first_error)
                        printf(" (first error: %s)", s->first_error);
                fputs("\n", stdout);
        }
        strbuf_release(&s->batch);
        free(s->first_error);
        free(s);
        return r;
}

static int events_run(int argc, char **argv, const struct cli_global *g)
{
        if (argc >= 2 && streq(argv[1], "import"))
                return events_import(argc - 1, argv + 1, g);
        return events_show(argc, argv, g);
}

const struct cli_command cli_cmd_events = {
    .name = "events",
    .summary = "the event log of ds01d: filter, follow, summarize, import",
    .run = events_run,
    .help = events_help,
};
