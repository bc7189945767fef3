/* cmd-top.c - `ds01 top [--interval S] [--sort user|gpu|util]`: a live view
 * of GET /v1/overview in ncurses, the same rows as `ds01 status`, fetched
 * again every interval. Keys: q quits, u/g/t sort by user, GPU (slot order)
 * or utilization, s cycles through them, r fetches now, ? shows the keys.
 * The terminal is given back as it was on q, on SIGINT/SIGTERM and on
 * errors; a resize redraws. When ds01d stops answering, an error line says
 * so (the last rows stay, marked stale) and the view recovers by itself
 * when it answers again. On anything but a terminal it refuses and points
 * to `ds01 status`.
 *
 * The client (client.c) prints transport errors on stderr; while the screen
 * is ncurses', stderr points at a memfd during each request, and what was
 * written there becomes the error line. */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/overview.h"
#include "util/strutil.h"

#define TOP_INTERVAL_DEFAULT 2.0
#define TOP_INTERVAL_MIN     0.2
#define TOP_INTERVAL_MAX     3600.0
/* Seconds one fetch may take before it counts as "not answering". */
#define TOP_FETCH_TIMEOUT 5L
/* The error text kept from stderr. */
#define TOP_ERROR_MAX 512

enum {
        PAIR_GREEN = 1,
        PAIR_YELLOW,
        PAIR_RED,
        PAIR_CYAN,
};

struct top_args {
        double interval;
        enum ov_sort sort;
};

struct top {
        struct cli_client *client;
        struct top_args a;
        json_t *data;              /* the last overview that came, or NULL */
        time_t data_at;            /* when it came */
        char error[TOP_ERROR_MAX]; /* "" when the last fetch worked */
        bool help;
        bool color;
        int err_fd; /* memfd that takes stderr during a fetch */
};

static volatile sig_atomic_t top_quit_signal;

static void top_help(FILE *f)
{
        fputs("usage: ds01 top [--interval S] [--sort user|gpu|util]\n"
              "\n"
              "A live view of the server, refreshed every S seconds (default 2): the same\n"
              "slots, holders, utilization and memory as 'ds01 status', the summary, the\n"
              "users near quota, the queue and the alerts, in the terminal.\n"
              "\n"
              "Keys:\n"
              "  q        quit (Ctrl-C too)\n"
              "  u        sort by user (free slots last)\n"
              "  g        sort by GPU and slot\n"
              "  t        sort by utilization, then memory used (the busiest first)\n"
              "  s        the next sort order\n"
              "  r        refresh now\n"
              "  ?        show or hide the keys\n"
              "\n"
              "Options:\n"
              "      --interval S   seconds between refreshes (0.2 to 3600; default 2)\n"
              "      --sort ORDER   user, gpu or util (default gpu)\n"
              "  -h, --help         show this help\n"
              "\n"
              "It needs a terminal; for a one-shot view or a script use 'ds01 status'\n"
              "(or 'ds01 status --json').\n",
              f);
}

/* Returns 0, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct top_args *a)
{
        enum { OPT_INTERVAL = 0x100, OPT_SORT };
        static const struct option opts[] = {
            {"interval", required_argument, NULL, OPT_INTERVAL},
            {"sort", required_argument, NULL, OPT_SORT},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) >= 0) {
                switch (c) {
                case 'n':
                case OPT_INTERVAL:
                        if (safe_atod(optarg, &a->interval) < 0 || !isfinite(a->interval) ||
                            a->interval < TOP_INTERVAL_MIN || a->interval > TOP_INTERVAL_MAX)
                                return cli_usage_error("top",
                                                       "--interval takes seconds from %.1f to "
                                                       "%.0f, not '%s'",
                                                       TOP_INTERVAL_MIN, TOP_INTERVAL_MAX, optarg);
                        break;
                case OPT_SORT:
                        if (ov_sort_parse(optarg, &a->sort) < 0)
                                return cli_usage_error(
                                    "top", "--sort takes user, gpu or util, not '%s'", optarg);
                        break;
                case 'h':
                        top_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("top", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("top", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc && streq(argv[optind], "help") && argc == optind + 1) {
                top_help(stdout);
                return -1;
        }
        if (optind < argc)
                return cli_usage_error("top", "unexpected argument '%s'", argv[optind]);
        return 0;
}

/* ---- fetching ---- */

/* What the client wrote on stderr during the last request, one line. */
static void take_stderr(struct top *t, char *buf, size_t n)
{
        ssize_t got;

        buf[0] = '\0';
        if (t->err_fd < 0 || lseek(t->err_fd, 0, SEEK_SET) < 0)
                return;
        got = read(t->err_fd, buf, n - 1);
        buf[got > 0 ? got : 0] = '\0';
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        (void)strstrip(buf);
        (void)ftruncate(t->err_fd, 0);
        (void)lseek(t->err_fd, 0, SEEK_SET);
}

static void fetch(struct top *t)
{
        long status = 0;
        json_t *j = NULL;
        int saved = -1, r;
        char msg[TOP_ERROR_MAX];

        fflush(stderr);
        if (t->err_fd >= 0) {
                saved = dup(STDERR_FILENO);
                if (saved >= 0)
                        (void)dup2(t->err_fd, STDERR_FILENO);
        }
        r = cli_client_request(t->client, "GET", "/v1/overview", NULL, TOP_FETCH_TIMEOUT, &status,
                               &j);
        fflush(stderr);
        if (saved >= 0) {
                (void)dup2(saved, STDERR_FILENO);
                close(saved);
        }
        take_stderr(t, msg, sizeof(msg));
        if (r < 0) {
                snprintf(t->error, sizeof(t->error), "%s",
                         msg[0] ? msg : "ds01: ds01d does not answer");
                return;
        }
        if (status < 200 || status >= 300) {
                snprintf(t->error, sizeof(t->error), "ds01: ds01d answered %ld: %s", status,
                         cli_json_str(j, "message", "no message"));
                json_decref(j);
                return;
        }
        json_decref(t->data);
        t->data = j;
        t->data_at = time(NULL);
        t->error[0] = '\0';
}

/* ---- drawing ---- */

static void put_line(int y, const char *s, attr_t attr)
{
        if (y >= LINES)
                return;
        move(y, 0);
        clrtoeol();
        if (attr)
                attron(attr);
        mvaddnstr(y, 0, s, COLS);
        if (attr)
                attroff(attr);
}

static short state_pair(const char *state)
{
        if (streq(state, "free"))
                return PAIR_GREEN;
        if (streq(state, "UNHEALTHY") || streq(state, "unhealthy"))
                return PAIR_RED;
        if (streq(state, "held") || streq(state, "pending") || streq(state, "stopped"))
                return PAIR_YELLOW;
        return PAIR_CYAN;
}

/* A list of the users near quota, the queue or the alerts on one line. */
static int draw_tail(const struct top *t, int y)
{
        const json_t *users = json_object_get(t->data, "users"),
                     *queue = json_object_get(t->data, "queue"),
                     *alerts = json_object_get(t->data, "alerts"), *e;
        char line[OV_LINE_MAX];
        size_t len, i;

#define APPEND(...)                                                                                \
        do {                                                                                       \
                int w_ = snprintf(line + len, sizeof(line) - len, __VA_ARGS__);                    \
                if (w_ > 0)                                                                        \
                        len = MIN(len + (size_t)w_, sizeof(line) - 1);                             \
        } while (0)
        len = 0;
        APPEND("Near quota (>= %.0f%%):", OV_NEAR_QUOTA_PERCENT);
        size_t near = 0;
        json_array_foreach(users, i, e)
        {
                if (!ov_user_near_quota(e))
                        continue;
                APPEND(" %s %.0f%%", cli_json_str(e, "user", "?"),
                       cli_json_num(e, "percent_of_quota", 0));
                near++;
        }
        if (!near)
                APPEND(" none");
        put_line(y++, line, 0);

        len = 0;
        APPEND("Queue: %zu waiting", json_array_size(queue));
        json_array_foreach(queue, i, e)
        {
                APPEND("%s #%lld %s (%s)", i ? "," : ":",
                       (long long)cli_json_num(e, "position", (double)(i + 1)),
                       cli_json_str(e, "container", "?"), cli_json_str(e, "user", "?"));
        }
        put_line(y++, line, 0);

        len = 0;
        APPEND("Alerts: %zu", json_array_size(alerts));
        json_array_foreach(alerts, i, e)
        {
                APPEND("%s %s %s %s %.0f%%", i ? "," : ":", cli_json_str(e, "user", "?"),
                       cli_json_str(e, "resource", "?"), cli_json_str(e, "level", "?"),
                       cli_json_num(e, "percent", 0));
        }
        put_line(y++, line, 0);
#undef APPEND
        return y;
}

static void draw(struct top *t)
{
        char line[OV_LINE_MAX], head[OV_LINE_MAX];
        struct ov_row *rows = NULL;
        struct ov_widths w;
        size_t n = 0;
        int y = 0;

        erase();
        if (t->data) {
                snprintf(line, sizeof(line), "ds01 top: %s",
                         ov_header_line(head, sizeof(head), t->data));
                put_line(y++, line, A_BOLD);
                snprintf(line, sizeof(line), "Summary: %s",
                         ov_summary_line(head, sizeof(head), t->data));
                put_line(y++, line, 0);
        } else {
                put_line(y++, "ds01 top: waiting for ds01d", A_BOLD);
                put_line(y++, "", 0);
        }
        if (t->error[0]) {
                char when[32] = "";
                if (t->data) {
                        struct tm tm;
                        localtime_r(&t->data_at, &tm);
                        strftime(when, sizeof(when), " (rows from %H:%M:%S)", &tm);
                }
                char eline[TOP_ERROR_MAX + 128];
                const char *msg = startswith(t->error, "ds01: ") ?: t->error;
                snprintf(eline, sizeof(eline), "ds01d NOT ANSWERING, retrying every %gs%s: %s",
                         t->a.interval, when, msg);
                put_line(y++, eline, A_BOLD | (t->color ? COLOR_PAIR(PAIR_RED) : A_REVERSE));
        } else {
                const char *st = cli_json_str(json_object_get(t->data, "health"), "status", "");
                const json_t *c;
                size_t i, len = 0;
                line[0] = '\0';
                json_array_foreach(json_object_get(json_object_get(t->data, "health"), "checks"), i,
                                   c)
                {
                        const char *cs = cli_json_str(c, "status", "pass");
                        int wr;
                        if (streq(cs, "pass"))
                                continue;
                        wr = snprintf(line + len, sizeof(line) - len, "%s%s %s: %s",
                                      len ? "; " : "Health: ", cs, cli_json_str(c, "name", "?"),
                                      cli_json_str(c, "message", ""));
                        if (wr > 0)
                                len = MIN(len + (size_t)wr, sizeof(line) - 1);
                }
                put_line(y++, line,
                         t->color && !streq(st, "ok")
                             ? COLOR_PAIR(streq(st, "fail") ? PAIR_RED : PAIR_YELLOW)
                             : 0);
        }
        if (t->help)
                snprintf(line, sizeof(line),
                         "Keys: q quit | u sort by user | g sort by GPU/slot | t sort by "
                         "utilization | s next sort | r refresh now | ? hide keys");
        else
                snprintf(line, sizeof(line), "Sorted by %s, every %gs. Keys: q u g t s r ?",
                         ov_sort_name(t->a.sort), t->a.interval);
        put_line(y++, line, 0);
        y++;

        if (t->data && ov_rows(t->data, &rows, &n) >= 0) {
                int tail = 4; /* blank + three lines */
                ov_rows_sort(rows, n, t->a.sort);
                ov_widths_of(rows, n, &w);
                put_line(y++, ov_row_header(line, sizeof(line), &w), A_REVERSE);
                for (size_t i = 0; i < n && y < LINES; i++) {
                        const char *st = ov_row_state(&rows[i]);
                        ov_row_format(line, sizeof(line), &rows[i], &w, false);
                        put_line(y, line, 0);
                        if (t->color && ov_row_state_column(&w) < COLS)
                                mvchgat(y, ov_row_state_column(&w), w.state, A_NORMAL,
                                        state_pair(st), NULL);
                        y++;
                }
                if (n == 0)
                        put_line(y++, "no GPUs", 0);
                if (y + tail <= LINES) {
                        y++;
                        (void)draw_tail(t, y);
                }
        }
        free(rows);
        refresh();
}

/* ---- the loop ---- */

static void on_signal(int sig)
{
        top_quit_signal = sig;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int top_loop(struct top *t)
{
        double next = 0;
        bool dirty = true;

        for (;;) {
                double now = now_s();
                int ch, wait_ms;

                if (top_quit_signal)
                        return EXIT_OK;
                if (now >= next) {
                        fetch(t);
                        next = now + t->a.interval;
                        dirty = true;
                }
                if (dirty) {
                        draw(t);
                        dirty = false;
                }
                wait_ms = (int)ceil((next - now_s()) * 1000);
                timeout(MAX(MIN(wait_ms, 1000), 10));
                ch = getch();
                switch (ch) {
                case ERR:
                        break;
                case 'q':
                case 'Q':
                        return EXIT_OK;
                case 'u':
                        t->a.sort = OV_SORT_USER;
                        dirty = true;
                        break;
                case 'g':
                        t->a.sort = OV_SORT_GPU;
                        dirty = true;
                        break;
                case 't':
                        t->a.sort = OV_SORT_UTIL;
                        dirty = true;
                        break;
                case 's':
                        t->a.sort = ov_sort_next(t->a.sort);
                        dirty = true;
                        break;
                case 'r':
                        next = 0;
                        break;
                case '?':
                case 'h':
                        t->help = !t->help;
                        dirty = true;
                        break;
                case KEY_RESIZE:
                case 12: /* Ctrl-L */
                        clearok(curscr, TRUE);
                        dirty = true;
                        break;
                default:
                        break;
                }
        }
}

static int top_run(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct top t = {.a = {.interval = TOP_INTERVAL_DEFAULT, .sort = OV_SORT_GPU}, .err_fd = -1};
        struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
        const char *nc = getenv("NO_COLOR");
        int r;

        r = parse_args(argc, argv, &t.a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
                return cli_error("top needs a terminal; for a one-shot view use 'ds01 status' "
                                 "(or 'ds01 status --json' in scripts)");
        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        t.client = c;
        t.err_fd = memfd_create("ds01-top-stderr", MFD_CLOEXEC);

        setlocale(LC_ALL, "");
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: getch returns at once */
        top_quit_signal = 0;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        if (!initscr()) {
                sigaction(SIGINT, &old_int, NULL);
                sigaction(SIGTERM, &old_term, NULL);
                if (t.err_fd >= 0)
                        close(t.err_fd);
                return cli_error("cannot set up the terminal (TERM=%s); try 'ds01 status'",
                                 getenv("TERM") ?: "unset");
        }
        cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        curs_set(0);
        t.color = has_colors() && !(nc && *nc);
        if (t.color) {
                start_color();
                use_default_colors();
                init_pair(PAIR_GREEN, COLOR_GREEN, -1);
                init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
                init_pair(PAIR_RED, COLOR_RED, -1);
                init_pair(PAIR_CYAN, COLOR_CYAN, -1);
        }

        r = top_loop(&t);

        endwin();
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        json_decref(t.data);
        if (t.err_fd >= 0)
                close(t.err_fd);
        return r;
}

const struct cli_command cli_cmd_top = {
    .name = "top",
    .summary = "a live view of the server",
    .run = top_run,
    .help = top_help,
};
