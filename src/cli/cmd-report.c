/* cmd-report.c - `ds01 report monthly [--month YYYY-MM] [--output DIR|-]
 * [--json]`: one month's figures from ds01d (GET /v1/report: users active,
 * GPU-hours allocated and used, efficiency, top users, lifecycle actions,
 * rejections, denials, host-process detections, and the month before with
 * the trend) written as ds01-report-YYYY-MM.md (Markdown) and
 * ds01-report-YYYY-MM.json (the daemon's object, unchanged) into DIR. The
 * figures come from the same arithmetic as `ds01 usage`
 * (store/usage-sum.c), so the two agree on the same range. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "store/usage-sum.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define REPORT_PATH_MAX 4096
/* The Markdown of one report, at most. */
#define REPORT_MD_MAX ((size_t)4 * 1024 * 1024)
/* Seconds the daemon may take (it reads events.jsonl and its rotations). */
#define REPORT_TIMEOUT 300L

struct report_args {
        const char *month;  /* NULL: the last full month */
        const char *output; /* DIR, "-" (Markdown on stdout); default "." */
        bool json;
};

static void report_help(FILE *f)
{
        fputs("usage: ds01 report monthly [--month YYYY-MM] [--output DIR|-] [--json]\n"
              "\n"
              "The monthly report of the GPU server: users active, GPU-hours allocated and\n"
              "used, efficiency, the top 10 users, lifecycle actions (idle and runtime\n"
              "stops, removals), rejected GPU requests, requests the Docker proxy denied,\n"
              "GPU processes found outside containers, and the change against the month\n"
              "before. Writes two files into DIR and prints their paths:\n"
              "  ds01-report-YYYY-MM.md     Markdown, for people\n"
              "  ds01-report-YYYY-MM.json   the same figures (GET /v1/report)\n"
              "Files of the same month are replaced: a report is regenerated, not appended\n"
              "to. Months are UTC; the figures agree with\n"
              "  ds01 usage --since YYYY-MM-01 --until <next month>-01 --by user\n"
              "\n"
              "Options:\n"
              "      --month YYYY-MM  the month (default: the last full month)\n"
              "  -o, --output DIR     where to write (default: the current directory);\n"
              "                       '-' prints the Markdown on stdout and writes nothing\n"
              "      --json           print the JSON on stdout and write nothing\n"
              "  -h, --help           show this help\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct report_args *a)
{
        enum { OPT_MONTH = 0x100, OPT_OUTPUT, OPT_JSON };
        static const struct option opts[] = {
            {"month", required_argument, NULL, OPT_MONTH},
            {"output", required_argument, NULL, OPT_OUTPUT},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int64_t s, e;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_MONTH:
                        a->month = optarg;
                        break;
                case 'o':
                case OPT_OUTPUT:
                        a->output = optarg;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'h':
                        report_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("report", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc && streq(argv[optind], "help") && argc == optind + 1) {
                report_help(stdout);
                return -1;
        }
        if (optind >= argc)
                return cli_usage_error("report", "say which report: ds01 report monthly");
        if (!streq(argv[optind], "monthly"))
                return cli_usage_error("report", "unknown report '%s' (there is: monthly)",
                                       argv[optind]);
        if (optind + 1 < argc)
                return cli_usage_error("report", "unexpected argument '%s'", argv[optind + 1]);
        if (a->month && usage_month_range(a->month, &s, &e) < 0)
                return cli_usage_error("report", "--month takes YYYY-MM (e.g. 2026-01), not '%s'",
                                       a->month);
        if (a->json && a->output)
                return cli_usage_error("report", "give --json or --output, not both");
        if (a->output && isempty(a->output))
                return cli_usage_error("report", "--output needs a directory or '-'");
        return 0;
}

/* ---- the Markdown ---- */

static const char *const month_names[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

/* "January 2026" of "2026-01". */
static char *month_title(char *buf, size_t n, const char *ym)
{
        int m = 0;

        if (ym && strlen(ym) == 7)
                m = (ym[5] - '0') * 10 + (ym[6] - '0');
        if (m >= 1 && m <= 12)
                snprintf(buf, n, "%s %.4s", month_names[m - 1], ym);
        else
                snprintf(buf, n, "%s", ym ? ym : "?");
        return buf;
}

/* Markdown table cells: '|' and newlines would break the table. */
static int md_cell(struct strbuf *sb, const char *s)
{
        int r = 0;

        for (const char *p = s; *p && r >= 0; p++) {
                if (*p == '|')
                        r = strbuf_puts(sb, "\\|");
                else if (*p == '\n' || *p == '\r')
                        r = strbuf_putc(sb, ' ');
                else
                        r = strbuf_putc(sb, *p);
        }
        return r;
}

/* How a figure is shown. */
enum fig {
        FIG_COUNT,
        FIG_HOURS,
        FIG_RATIO,
};

static char *fig_text(char *buf, size_t n, const json_t *v, enum fig f)
{
        if (!json_is_number(v))
                snprintf(buf, n, "-");
        else if (f == FIG_HOURS)
                snprintf(buf, n, "%.2f", json_number_value(v));
        else if (f == FIG_RATIO)
                snprintf(buf, n, "%.1f%%", 100.0 * json_number_value(v));
        else
                snprintf(buf, n, "%lld", (long long)json_number_value(v));
        return buf;
}

/* "+1.25 (+12.5%)", "+3 (new)", "-2.1 points", "0". */
static char *change_text(char *buf, size_t n, const json_t *t, enum fig f)
{
        const json_t *d = json_object_get(t, "difference"), *p = json_object_get(t, "percent");
        double v = json_number_value(d);
        char pct[32] = "";

        if (!json_is_number(d)) {
                snprintf(buf, n, "-");
                return buf;
        }
        if (f == FIG_RATIO) {
                snprintf(buf, n, "%+.1f points", 100.0 * v);
                return buf;
        }
        if (json_is_number(p))
                snprintf(pct, sizeof(pct), " (%+.1f%%)", json_number_value(p));
        else if (v != 0)
                snprintf(pct, sizeof(pct), " (new)");
        if (f == FIG_HOURS)
                snprintf(buf, n, "%+.2f%s", v, pct);
        else
                snprintf(buf, n, "%+lld%s", (long long)v, pct);
        return buf;
}

static const struct {
        const char *key, *label;
        enum fig fig;
} summary_figures[] = {
    {"users_active", "Users active", FIG_COUNT},
    {"gpu_hours_allocated", "GPU-hours allocated", FIG_HOURS},
    {"gpu_hours_used", "GPU-hours used", FIG_HOURS},
    {"efficiency", "Efficiency (used / allocated)", FIG_RATIO},
    {"containers", "Containers with GPUs", FIG_COUNT},
    {"rejections", "Rejected GPU requests", FIG_COUNT},
    {"denials", "Denied Docker requests", FIG_COUNT},
    {"host_process_detections", "GPU processes outside containers", FIG_COUNT},
    {"lifecycle_actions", "Lifecycle actions", FIG_COUNT},
};

static int md_summary(struct strbuf *sb, const json_t *j, const char *cur, const char *prev)
{
        const json_t *s = json_object_get(j, "summary");
        const json_t *ps = json_object_get(json_object_get(j, "previous"), "summary");
        const json_t *trend = json_object_get(j, "trend");
        int r;

        r = strbuf_printf(sb,
                          "## Summary\n\n| Figure | %s | %s | Change |\n"
                          "|---|---:|---:|---:|\n",
                          cur, prev);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(summary_figures); i++) {
                const char *k = summary_figures[i].key;
                enum fig f = summary_figures[i].fig;
                char a[64], b[64], c[64];
                r = strbuf_printf(sb, "| %s | %s | %s | %s |\n", summary_figures[i].label,
                                  fig_text(a, sizeof(a), json_object_get(s, k), f),
                                  fig_text(b, sizeof(b), json_object_get(ps, k), f),
                                  change_text(c, sizeof(c), json_object_get(trend, k), f));
        }
        return r;
}

static int md_top(struct strbuf *sb, const json_t *j)
{
        const json_t *top = json_object_get(j, "top_users");
        size_t i;
        json_t *e;
        int r;

        r = strbuf_puts(sb, "\n## Top users\n\n");
        if (r >= 0 && json_array_size(top) == 0)
                return strbuf_puts(sb, "Nobody used a GPU this month.\n");
        if (r >= 0)
                r = strbuf_puts(sb, "| # | User | Group | GPU-hours allocated | GPU-hours used | "
                                    "Efficiency | Containers | Rejections |\n"
                                    "|---:|---|---|---:|---:|---:|---:|---:|\n");
        json_array_foreach(top, i, e)
        {
                char a[64], b[64], c[64];
                if (r < 0)
                        break;
                r = strbuf_printf(sb, "| %zu | ", i + 1);
                if (r >= 0)
                        r = md_cell(sb, cli_json_str(e, "key", "-"));
                if (r >= 0)
                        r = strbuf_puts(sb, " | ");
                if (r >= 0)
                        r = md_cell(sb, cli_json_str(e, "group", "-"));
                if (r >= 0)
                        r = strbuf_printf(
                            sb, " | %s | %s | %s | %lld | %lld |\n",
                            fig_text(a, sizeof(a), json_object_get(e, "gpu_hours_allocated"),
                                     FIG_HOURS),
                            fig_text(b, sizeof(b), json_object_get(e, "gpu_hours_used"), FIG_HOURS),
                            fig_text(c, sizeof(c), json_object_get(e, "efficiency"), FIG_RATIO),
                            (long long)cli_json_num(e, "containers", 0),
                            (long long)cli_json_num(e, "rejections", 0));
        }
        return r;
}

static int md_events(struct strbuf *sb, const json_t *j)
{
        const json_t *s = json_object_get(j, "summary");
        const json_t *codes = json_object_get(j, "rejections_by_code");
        const char *k;
        json_t *v;
        int r;

        r = strbuf_puts(sb, "\n## Lifecycle actions\n\n| Action | Count |\n|---|---:|\n");
        json_object_foreach((json_t *)json_object_get(j, "lifecycle_actions"), k, v)
        {
                if (r < 0)
                        break;
                r = strbuf_puts(sb, "| ");
                if (r >= 0)
                        r = md_cell(sb, k);
                if (r >= 0)
                        r = strbuf_printf(sb, " | %lld |\n", (long long)json_integer_value(v));
        }
        if (r >= 0)
                r = strbuf_printf(sb,
                                  "\n## Rejections and denials\n\n"
                                  "- Rejected GPU requests (gpu.rejected): %lld\n",
                                  (long long)cli_json_num(s, "rejections", 0));
        json_object_foreach((json_t *)codes, k, v)
        {
                if (r < 0)
                        break;
                r = strbuf_printf(sb, "  - %s: %lld\n", k, (long long)json_integer_value(v));
        }
        if (r >= 0)
                r = strbuf_printf(sb,
                                  "- Docker requests denied by the proxy (auth.denied): %lld%s\n",
                                  (long long)cli_json_num(s, "denials", 0),
                                  json_is_false(json_object_get(j, "denials_complete"))
                                      ? " (incomplete: the event log could not be read)"
                                      : "");
        if (r >= 0)
                r = strbuf_printf(sb,
                                  "\n## Host-process detections\n\n"
                                  "- GPU processes found running outside containers "
                                  "(detection.host_gpu_process_discovered): %lld\n",
                                  (long long)cli_json_num(s, "host_process_detections", 0));
        return r;
}

/* The Markdown of the report j; caller frees. NULL when out of memory. */
static char *report_markdown(const json_t *j)
{
        _cleanup_strbuf_ struct strbuf sb;
        const char *month = cli_json_str(j, "month", "?");
        const json_t *prev = json_object_get(j, "previous");
        char cur[32], pm[32], since[CLI_TIME_SHORT_MAX], until[CLI_TIME_SHORT_MAX],
            gen[CLI_TIME_SHORT_MAX];
        int r;

        strbuf_init(&sb, REPORT_MD_MAX);
        month_title(cur, sizeof(cur), month);
        month_title(pm, sizeof(pm), cli_json_str(prev, "month", "?"));
        r = strbuf_printf(&sb,
                          "# DS01 GPU report: %s\n\n"
                          "Period: %s to %s UTC (the end not included). Generated %s UTC.\n"
                          "GPU-hours are GPU-equivalent hours (a MIG slice counts as its share "
                          "of a GPU); used = weighted by GPU utilization.\n\n",
                          cur, cli_time_short(since, sizeof(since), cli_json_str(j, "since", NULL)),
                          cli_time_short(until, sizeof(until), cli_json_str(j, "until", NULL)),
                          cli_time_short(gen, sizeof(gen), cli_json_str(j, "generated", NULL)));
        if (r >= 0)
                r = md_summary(&sb, j, cur, pm);
        if (r >= 0)
                r = md_top(&sb, j);
        if (r >= 0)
                r = md_events(&sb, j);
        if (r >= 0)
                r = strbuf_printf(&sb,
                                  "\n## Trend\n\nAgainst %s: the Change column above "
                                  "(difference, and percent of %s where it had any).\n",
                                  pm, pm);
        return r < 0 ? NULL : strbuf_steal(&sb);
}

/* ---- files ---- */

/* Write data to dir/name through a temporary file and rename (a reader never
 * sees half a report; an older report of the month is replaced). */
static int write_file(const char *dir, const char *name, const char *data, char *path,
                      size_t path_size)
{
        char tmp[REPORT_PATH_MAX];
        size_t len = strlen(data);
        int fd, r = 0;

        if ((size_t)snprintf(path, path_size, "%s/%s", dir, name) >= path_size ||
            (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < len && r == 0;) {
                ssize_t k = write(fd, data + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        r = -errno;
                else
                        off += (size_t)k;
        }
        /* mkostemp makes 0600: a report is for sharing (the umask still applies) */
        if (r == 0) {
                mode_t um = umask(0);
                umask(um);
                if (fchmod(fd, 0666 & ~um) < 0 || fsync(fd) < 0)
                        r = -errno;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

static int report_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        _cleanup_free_ char *md = NULL, *js = NULL;
        struct report_args a = {0};
        char month[32], name[64], p1[REPORT_PATH_MAX], p2[REPORT_PATH_MAX];
        const char *dir;
        json_t *j = NULL;
        int r;

        strbuf_init(&path, REPORT_PATH_MAX);
        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (!a.month)
                a.month = usage_month_last_full(month, sizeof(month), now_epoch());
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        r = strbuf_puts(&path, "/v1/report");
        if (r >= 0)
                r = cli_client_query_add(c, &path, "month", a.month);
        if (r < 0)
                return cli_error("out of memory");
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, REPORT_TIMEOUT, a.json, NULL, &j);
        if (r != EXIT_OK)
                return r;
        if (a.json) {
                r = cli_print_json(j);
                json_decref(j);
                return r;
        }
        md = report_markdown(j);
        js = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        json_decref(j);
        if (!md || !js)
                return cli_error("out of memory");
        if (a.output && streq(a.output, "-")) {
                fputs(md, stdout);
                return fflush(stdout) == 0 ? EXIT_OK : cli_error("cannot write the report: %m");
        }
        dir = a.output ? a.output : ".";
        snprintf(name, sizeof(name), "ds01-report-%s.md", a.month);
        r = write_file(dir, name, md, p1, sizeof(p1));
        if (r >= 0) {
                size_t n = strlen(js);
                char *js2 = realloc(js, n + 2);
                if (!js2)
                        return cli_error("out of memory");
                js = js2;
                js[n] = '\n';
                js[n + 1] = '\0';
                snprintf(name, sizeof(name), "ds01-report-%s.json", a.month);
                // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): _cleanup_free_ frees it
                r = write_file(dir, name, js, p2, sizeof(p2));
        }
        if (r < 0)
                return cli_error("cannot write the report into '%s': %s; give a writable "
                                 "directory with --output DIR, or --output - for stdout",
                                 dir, strerror(-r));
        printf("%s\n%s\n", p1, p2);
        return EXIT_OK;
}

const struct cli_command cli_cmd_report = {
    .name = "report",
    .summary = "monthly reports (Markdown and JSON)",
    .run = report_run,
    .help = report_help,
};
