/* SPDX-License-Identifier: MIT */
/*
 * cmd-container.c - `ds01 container`: a user's own containers, through
 * ds01d's Docker proxy socket (never the real Docker socket).
 *
 * create, deploy, list, start, stop, restart, remove and retire talk to the
 * proxy with the Docker API client (src/docker/docker.h); the proxy knows the
 * caller from the kernel, labels the container as theirs, applies their
 * limits and pins the GPUs ds01d allocates. The create request itself is sent
 * with libcurl directly, because it carries two ds01 headers the Docker client
 * has no place for:
 *
 *   X-Ds01-Wait: SECONDS   how long a GPU request may wait in ds01d's queue
 *                          (0 = fail at once); absent = ds01d's own
 *                          gpu_allocation.wait_s, as for a plain `docker run`
 *   X-Ds01-Full: 1         whole GPUs only, no MIG slices
 *
 * While a create waits for a GPU, the control API (GET /v1/queue, /v1/status)
 * is polled once a second and the place in the queue shown on one rewritten
 * line of a terminal's stderr.
 *
 * deploy, exec, logs and stats hand the terminal to the docker CLI
 * (`docker -H unix://<proxy socket> ...`, execvp): nothing it prints is read.
 *
 * The proxy socket is --docker-socket PATH, else $DS01_DOCKER_SOCKET, else
 * docker.sock in the folder of the control socket (--socket, $DS01_SOCKET,
 * /run/ds01/ds01.sock).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <curl/curl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "docker/docker.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/units.h"

/* The image of `create` without --image and $DS01_DEFAULT_IMAGE. */
#define CONTAINER_DEFAULT_IMAGE "ubuntu:22.04"
/* The proxy socket's name in the folder of the control socket. */
#define PROXY_SOCKET_NAME "docker.sock"
/* Keeps a container alive until it is stopped; busybox sh is enough. */
#define KEEP_ALIVE_SCRIPT "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"
/* The shell deploy and a bare exec open. */
#define SHELL_SCRIPT "command -v bash >/dev/null && exec bash || exec sh"
/* Seconds a create may take besides its wait in the queue. */
#define CREATE_TIMEOUT_S 120L
/* Milliseconds for the other Docker calls (a stop adds its grace). */
#define DOCKER_CALL_TIMEOUT_MS 60000L
/* Seconds one poll of the control API may take while a create waits. */
#define POLL_TIMEOUT_S 2L
/* Ceiling for the answers read here whole (create, errors, the queue). */
#define ANSWER_MAX ((size_t)4 * 1024 * 1024)
/* One line of the pull progress stream; longer lines are skipped. */
#define PULL_LINE_MAX ((size_t)64 * 1024)
/* A pull that sends nothing for this long has stalled. */
#define PULL_STALL_S 300L
/* The longest --wait (the control API's limit, 7 days). */
#define WAIT_MAX_S (7 * SEC_PER_DAY)
/* The most GPUs --gpus N asks for. */
#define GPUS_MAX 1024
/* Container names: Docker's rule, and its length limit. */
#define NAME_MAX_LEN 128

/* ---- options ---- */

enum {
        M_JSON = 1 << 0,
        M_ALL = 1 << 1,
        M_FORCE = 1 << 2,
        M_IMAGE = 1 << 3,
        M_GPUS = 1 << 4,
        M_FULL = 1 << 5,
        M_WORKSPACE = 1 << 6,
        M_WAIT = 1 << 7,
        M_FOLLOW = 1 << 8,
        M_TAIL = 1 << 9,
        M_NO_STREAM = 1 << 10,
};
#define M_CREATE (M_IMAGE | M_GPUS | M_FULL | M_WORKSPACE | M_WAIT)

enum {
        OPT_JSON = 0x100,
        OPT_ALL,
        OPT_FORCE,
        OPT_IMAGE,
        OPT_GPUS,
        OPT_FULL,
        OPT_WORKSPACE,
        OPT_WAIT,
        OPT_FOLLOW,
        OPT_TAIL,
        OPT_NO_STREAM,
        OPT_DOCKER_SOCKET,
};

static const struct container_option {
        struct option o;
        unsigned mask;
        char short_name; /* 0: none */
} option_table[] = {
    {{"json", no_argument, NULL, OPT_JSON}, M_JSON, 0},
    {{"all", no_argument, NULL, OPT_ALL}, M_ALL, 'a'},
    {{"force", no_argument, NULL, OPT_FORCE}, M_FORCE, 'f'},
    {{"image", required_argument, NULL, OPT_IMAGE}, M_IMAGE, 0},
    {{"gpus", required_argument, NULL, OPT_GPUS}, M_GPUS, 0},
    {{"full", no_argument, NULL, OPT_FULL}, M_FULL, 0},
    {{"workspace", required_argument, NULL, OPT_WORKSPACE}, M_WORKSPACE, 0},
    {{"wait", optional_argument, NULL, OPT_WAIT}, M_WAIT, 0},
    {{"follow", no_argument, NULL, OPT_FOLLOW}, M_FOLLOW, 'f'},
    {{"tail", required_argument, NULL, OPT_TAIL}, M_TAIL, 'n'},
    {{"no-stream", no_argument, NULL, OPT_NO_STREAM}, M_NO_STREAM, 0},
};

enum wait_mode {
        WAIT_NONE,    /* X-Ds01-Wait: 0 */
        WAIT_DEFAULT, /* no header: ds01d's gpu_allocation.wait_s */
        WAIT_SECONDS, /* X-Ds01-Wait: wait_s */
};

struct container_args {
        const char *action;
        const char *docker_socket; /* --docker-socket, else NULL */
        bool json, all, force, full, follow, no_stream;
        const char *image;     /* --image, else NULL */
        const char *workspace; /* --workspace, else NULL */
        int gpus;              /* 0 none, -1 all, else N */
        enum wait_mode wait;
        int64_t wait_s; /* WAIT_SECONDS */
        const char *tail;
        const char *name; /* NAME, where the action takes one */
        char **rest;      /* exec: CMD...; stats: NAME... */
        int n_rest;
};

struct container_action {
        const char *name;
        unsigned options;
        int min_args, max_args; /* positional arguments; max -1 = any */
        bool stop_at_first_arg; /* exec: everything after NAME is the command */
        int (*run)(struct container_args *a, const struct cli_global *g);
        void (*help)(FILE *f);
};

/* ---- help ---- */

static const char socket_help[] =
    "      --docker-socket PATH  ds01d's Docker socket (default: $DS01_DOCKER_SOCKET,\n"
    "                         else docker.sock next to the control socket:\n"
    "                         /run/ds01/docker.sock)\n"
    "  -h, --help             show this help\n";

static void create_help(FILE *f)
{
        fputs("usage: ds01 container create NAME [--image IMAGE] [--gpus N|all] [--full]\n"
              "                             [--workspace DIR] [--wait[=SECONDS]] [--json]\n"
              "\n"
              "Create container NAME through ds01d and start it. It runs a keep-alive shell\n"
              "with your workspace folder mounted at /workspace (its working directory);\n"
              "open a shell in it with 'ds01 container exec NAME'. ds01d labels it as\n"
              "yours, applies your limits and pins the GPUs it allocates to it. A missing\n"
              "image is pulled first.\n"
              "\n"
              "When no GPU is free, create fails at once unless --wait is given; while it\n"
              "waits, a terminal shows its place in ds01d's queue (ds01 queue). Ctrl-C\n"
              "leaves the queue.\n"
              "\n"
              "Options:\n"
              "      --image IMAGE      the image (default: $DS01_DEFAULT_IMAGE, else\n"
              "                         " CONTAINER_DEFAULT_IMAGE ")\n"
              "      --gpus N|all       N GPU slots, or all that your quota allows\n"
              "                         (default: no GPU)\n"
              "      --full             whole GPUs only, no MIG slices (implies --gpus 1)\n"
              "      --workspace DIR    host folder mounted at /workspace, created if missing\n"
              "                         (default: ~/workspace/NAME)\n"
              "      --wait[=SECONDS]   wait in the queue when no GPU is free: as long as\n"
              "                         ds01d allows (gpu_allocation.wait_s), or SECONDS\n"
              "                         (also 30m, 2h; at most 7 days)\n"
              "      --json             the result as a JSON object; errors as\n"
              "                         {\"error\": CODE, \"message\": ...}\n",
              f);
        fputs(socket_help, f);
}

static void deploy_help(FILE *f)
{
        fputs("usage: ds01 container deploy NAME [--image IMAGE] [--gpus N|all] [--full]\n"
              "                             [--workspace DIR] [--wait[=SECONDS]]\n"
              "\n"
              "Create NAME when it does not exist yet (as 'ds01 container create'), start\n"
              "it, and open a shell in it (bash when the image has it, else sh) with the\n"
              "docker command. The options apply only when NAME is created.\n"
              "\n"
              "Options:\n"
              "      --image IMAGE      the image (default: $DS01_DEFAULT_IMAGE, else\n"
              "                         " CONTAINER_DEFAULT_IMAGE ")\n"
              "      --gpus N|all       N GPU slots, or all that your quota allows\n"
              "      --full             whole GPUs only, no MIG slices (implies --gpus 1)\n"
              "      --workspace DIR    host folder mounted at /workspace (default:\n"
              "                         ~/workspace/NAME)\n"
              "      --wait[=SECONDS]   wait in the queue when no GPU is free\n",
              f);
        fputs(socket_help, f);
}

static void list_help(FILE *f)
{
        fputs(
            "usage: ds01 container list [--all] [--json]\n"
            "\n"
            "Your containers (ds01d shows you only yours; admins see all): name, state,\n"
            "GPU slots, image, when it was created (UTC), and the runtime left and idle\n"
            "time where ds01d reports them (\"-\" otherwise).\n"
            "\n"
            "Options:\n"
            "  -a, --all              stopped containers too (default: running ones)\n"
            "      --json             {\"containers\": [{\"name\", \"id\", \"state\", \"status\",\n"
            "                         \"image\", \"created\", \"gpu_slots\", ...}]}\n",
            f);
        fputs(socket_help, f);
}

static void start_help(FILE *f)
{
        fputs("usage: ds01 container start NAME\n"
              "\n"
              "Start container NAME (nothing happens when it runs already).\n"
              "\n"
              "Options:\n",
              f);
        fputs(socket_help, f);
}

static void stop_help(FILE *f)
{
        fputs("usage: ds01 container stop NAME\n"
              "\n"
              "Stop container NAME: SIGTERM, SIGKILL after its stop timeout (10 s unless\n"
              "the image says otherwise). ds01d may hold its GPUs for a while after.\n"
              "\n"
              "Options:\n",
              f);
        fputs(socket_help, f);
}

static void restart_help(FILE *f)
{
        fputs("usage: ds01 container restart NAME\n"
              "\n"
              "Stop container NAME, then start it again.\n"
              "\n"
              "Options:\n",
              f);
        fputs(socket_help, f);
}

static void remove_help(FILE *f)
{
        fputs("usage: ds01 container remove NAME [--force]\n"
              "\n"
              "Remove container NAME. Its workspace folder on the host stays.\n"
              "\n"
              "Options:\n"
              "  -f, --force            remove it even while it runs (killed first)\n",
              f);
        fputs(socket_help, f);
}

static void retire_help(FILE *f)
{
        fputs("usage: ds01 container retire NAME\n"
              "\n"
              "Done with NAME: stop it, remove it, and give its GPU slots back to ds01d at\n"
              "once (no hold after stop). Its workspace folder on the host stays.\n"
              "\n"
              "Options:\n",
              f);
        fputs(socket_help, f);
}

static void exec_help(FILE *f)
{
        fputs("usage: ds01 container exec [--docker-socket PATH] NAME [CMD [ARG...]]\n"
              "\n"
              "Run CMD in running container NAME with the docker command, interactively\n"
              "(with a terminal when stdin and stdout are one). Without CMD: a shell (bash\n"
              "when the image has it, else sh). Everything after NAME is the command; the\n"
              "exit status is the command's.\n"
              "\n"
              "Options (before NAME):\n",
              f);
        fputs(socket_help, f);
}

static void logs_help(FILE *f)
{
        fputs("usage: ds01 container logs NAME [-f] [--tail N]\n"
              "\n"
              "Show what the main process of NAME printed, with the docker command.\n"
              "\n"
              "Options:\n"
              "  -f, --follow           keep printing new output until Ctrl-C\n"
              "  -n, --tail N           only the last N lines (or all)\n",
              f);
        fputs(socket_help, f);
}

static void stats_help(FILE *f)
{
        fputs("usage: ds01 container stats [NAME...] [--no-stream]\n"
              "\n"
              "CPU, memory, network and I/O of your running containers (or of NAME...),\n"
              "live, with the docker command; Ctrl-C ends it.\n"
              "\n"
              "Options:\n"
              "      --no-stream        print one sample and exit\n",
              f);
        fputs(socket_help, f);
}

static void container_help(FILE *f)
{
        fputs("usage: ds01 container [--docker-socket PATH] ACTION [ARGS...]\n"
              "\n"
              "Your containers, through ds01d's Docker socket:\n"
              "  create NAME    create and start a container (--gpus N, --wait, ...)\n"
              "  deploy NAME    create if missing, start, and open a shell in it\n"
              "  list           your containers (--all: stopped ones too)\n"
              "  start NAME     start it\n"
              "  stop NAME      stop it\n"
              "  restart NAME   stop and start it\n"
              "  remove NAME    remove it (--force: even while running)\n"
              "  retire NAME    stop, remove and give its GPUs back at once\n"
              "  exec NAME [CMD...]   run a command (default: a shell) in it\n"
              "  logs NAME      its output (-f to follow, --tail N)\n"
              "  stats [NAME]   live CPU, memory and I/O\n"
              "\n"
              "Run 'ds01 container ACTION --help' for the options of an action.\n"
              "\n"
              "The docker command works too: DOCKER_HOST=unix:///run/ds01/docker.sock.\n"
              "\n",
              f);
        create_help(f);
        fputs("\n", f);
        deploy_help(f);
        fputs("\n", f);
        list_help(f);
        fputs("\n", f);
        remove_help(f);
        fputs("\n", f);
        retire_help(f);
        fputs("\n", f);
        exec_help(f);
        fputs("\n", f);
        logs_help(f);
        fputs("\n", f);
        stats_help(f);
}

/* ---- messages ---- */

/* "ds01 container: <message>" on stderr; returns EXIT_FAIL. */
_printf_(1, 2) static int fail(const char *fmt, ...)
{
        va_list ap;

        fputs("ds01 container: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_FAIL;
}

/* A usage error of `container ACTION`; returns EXIT_USAGE. */
_printf_(2, 3) static int usage_error(const char *action, const char *fmt, ...)
{
        va_list ap;

        fputs("ds01 container: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (action)
                fprintf(stderr, " (see 'ds01 container %s --help')\n", action);
        else
                fputs(" (see 'ds01 container --help')\n", stderr);
        return EXIT_USAGE;
}

/* What a failed command says, kept until it is reported once. */
struct failure {
        const char *code; /* for --json: UNREACHABLE, FORBIDDEN, NOT_FOUND, ... */
        char message[1024];
        bool as_is; /* ds01d's own "ds01: ..." line, printed without our prefix */
};

_printf_(3, 4) static void failure_set(struct failure *f, const char *code, const char *fmt, ...)
{
        va_list ap;

        f->code = code;
        f->as_is = false;
        va_start(ap, fmt);
        vsnprintf(f->message, sizeof(f->message), fmt, ap);
        va_end(ap);
}

/* A message from the proxy: its "ds01: ..." lines pass through as they are. */
static void failure_set_proxy(struct failure *f, const char *code, const char *msg,
                              const char *fallback)
{
        if (isempty(msg))
                msg = fallback;
        f->code = code;
        f->as_is = startswith(msg, "ds01:") != NULL;
        snprintf(f->message, sizeof(f->message), "%s", msg);
}

/* Prints f once (stderr; with json also {"error", "message"} on stdout). */
static int failure_report(const struct failure *f, bool json)
{
        if (json) {
                const char *m = f->message;
                json_t *j;

                if (f->as_is && startswith(m, "ds01:"))
                        m = startswith(m, "ds01:");
                while (*m == ' ')
                        m++;
                j = json_pack("{s:s, s:s}", "error", f->code ? f->code : "ERROR", "message", m);
                if (j)
                        (void)cli_print_json(j);
                json_decref(j);
        }
        if (f->as_is) {
                fprintf(stderr, "%s\n", f->message);
                return EXIT_FAIL;
        }
        return fail("%s", f->message);
}

/* ---- sockets ---- */

/* The control socket the CLI uses (as cli_client_open picks it). Borrowed. */
static const char *control_socket(const struct cli_global *g)
{
        const char *p = g->socket_path;

        if (isempty(p))
                p = getenv("DS01_SOCKET");
        if (isempty(p))
                p = CLI_CLIENT_DEFAULT_SOCKET;
        return p;
}

/* The proxy socket (see the top of the file). Caller frees; NULL: no memory. */
static char *proxy_socket(const struct container_args *a, const struct cli_global *g)
{
        const char *p = a->docker_socket, *control, *slash;
        char *s;

        if (isempty(p))
                p = getenv("DS01_DOCKER_SOCKET");
        if (!isempty(p))
                return strdup(p);
        control = control_socket(g);
        slash = strrchr(control, '/');
        if (!slash)
                return strdup(PROXY_SOCKET_NAME);
        if (asprintf(&s, "%.*s/%s", (int)(slash - control), control, PROXY_SOCKET_NAME) < 0)
                return NULL;
        return s;
}

/* ---- raw HTTP over a unix socket (create with headers, pull, control API polls) ---- */

struct raw_call {
        const char *method;         /* GET, POST, DELETE */
        const char *path;           /* with query, escaped */
        const char *const *headers; /* extra header lines, NULL-terminated; may be NULL */
        const char *body;           /* JSON; NULL: none */
        long timeout_s;             /* 0: none */
        long stall_s;               /* > 0: abort when nothing arrives for this long */
        /* Optional: each line of a 2xx answer (without the newline); return
         * < 0 to abort. Other answers are collected whole. */
        int (*on_line)(void *ud, const char *line, size_t n);
        void *ud;
};

struct raw_sink {
        CURL *curl;
        const struct raw_call *call;
        struct strbuf *body;
        int error;
        bool skipping; /* on_line: inside a line longer than PULL_LINE_MAX */
};

static int sink_lines(struct raw_sink *s, const char *data, size_t n)
{
        struct strbuf *b = s->body;

        for (size_t i = 0; i < n; i++) {
                int r;

                if (data[i] != '\n') {
                        if (s->skipping)
                                continue;
                        if (strbuf_putc(b, data[i]) < 0) {
                                s->skipping = true; /* too long: drop this line */
                                strbuf_reset(b);
                        }
                        continue;
                }
                if (!s->skipping && b->len > 0) {
                        r = s->call->on_line(s->call->ud, strbuf_str(b), b->len);
                        if (r < 0)
                                return r;
                }
                s->skipping = false;
                strbuf_reset(b);
        }
        return 0;
}

static size_t raw_on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct raw_sink *s = userdata;
        size_t n = size * nmemb;
        long status = 0;
        int r;

        (void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (s->call->on_line && status >= 200 && status < 300) {
                s->body->max = PULL_LINE_MAX;
                r = sink_lines(s, data, n);
        } else {
                r = strbuf_append(s->body, data, n);
        }
        if (r < 0) {
                s->error = r;
                return 0;
        }
        return n;
}

/* -errno of a failed connect to socket_path. */
static int connect_errno(CURL *curl, const char *socket_path)
{
        struct stat st;
        long os_errno = 0;

        if (stat(socket_path, &st) < 0)
                return errno == EACCES ? -EACCES : -ECONNREFUSED;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
            (os_errno == EACCES || os_errno == EPERM))
                return -EACCES;
        return -ECONNREFUSED;
}

/* Sends call to socket_path on curl. Returns the HTTP status (the body of
 * any answer not taken by on_line in *body, which the caller initialized and
 * releases), or -errno on a transport failure: -ECONNREFUSED (no socket or
 * nothing listening), -EACCES, -ENOTSOCK, -ETIMEDOUT, -ECONNRESET, -E2BIG,
 * -ENOMEM, -EIO, or what on_line returned. */
static int raw_perform(CURL *curl, const char *socket_path, const struct raw_call *call,
                       struct strbuf *body)
{
        char errbuf[CURL_ERROR_SIZE] = "";
        struct raw_sink sink = {.curl = curl, .call = call, .body = body};
        struct curl_slist *headers = NULL, *l;
        _cleanup_free_ char *url = NULL;
        long status = 0;
        CURLcode cc;

        if (asprintf(&url, "http://ds01d%s", call->path) < 0) {
                url = NULL;
                return -ENOMEM;
        }
        l = curl_slist_append(headers, "Accept: application/json");
        if (l)
                l = curl_slist_append(headers = l, "Expect:");
        /* Without a body, no Content-Type at all: libcurl would say
         * application/x-www-form-urlencoded, which the proxy refuses. */
        if (l)
                l = curl_slist_append(headers = l, call->body ? "Content-Type: application/json"
                                                              : "Content-Type:");
        for (size_t i = 0; l && call->headers && call->headers[i]; i++)
                l = curl_slist_append(headers = l, call->headers[i]);
        if (!l) {
                curl_slist_free_all(headers);
                return -ENOMEM;
        }
        headers = l;

        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CLI_CLIENT_CONNECT_TIMEOUT);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, call->timeout_s > 0 ? call->timeout_s : 0L);
        if (call->stall_s > 0) {
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, call->stall_s);
        }
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "ds01/" DS01_VERSION);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, raw_on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
        if (streq(call->method, "POST")) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->body ? call->body : "");
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(call->body ? strlen(call->body) : 0));
        } else {
                curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
                if (!streq(call->method, "GET"))
                        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call->method);
        }

        cc = curl_easy_perform(curl);
        curl_slist_free_all(headers);
        switch (cc) {
        case CURLE_OK:
                break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
                return connect_errno(curl, socket_path);
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_WRITE_ERROR:
                return sink.error < 0 ? sink.error : -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        default:
                return -EIO;
        }
        if (call->on_line && !sink.skipping && body->len > 0 && sink.error == 0) {
                /* the last line had no newline */
                (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
                if (status >= 200 && status < 300) {
                        int r = call->on_line(call->ud, strbuf_str(body), body->len);
                        strbuf_reset(body);
                        if (r < 0)
                                return r;
                }
        }
        (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status < 100 || status > 599)
                return -EBADMSG;
        return (int)status;
}

/* The "message" of a JSON error body, else NULL. Borrowed from j. */
static const char *answer_message(const json_t *j)
{
        const char *m = json_string_value(json_object_get(j, "message"));

        return isempty(m) ? NULL : m;
}

/* ---- what every action shares ---- */

struct ctx {
        struct container_args *a;
        const struct cli_global *g;
        char *socket; /* the proxy socket */
        struct docker_client *docker;
        struct failure failure;
};

static void ctx_release(struct ctx *x)
{
        x->docker = docker_client_free(x->docker);
        x->socket = mfree(x->socket);
}

static int ctx_init(struct ctx *x, struct container_args *a, const struct cli_global *g)
{
        struct docker_client *docker = NULL;
        char *socket;

        *x = (struct ctx){.a = a, .g = g};
        socket = proxy_socket(a, g);
        if (!socket || docker_client_new(socket, &docker) < 0) {
                free(socket);
                (void)fail("out of memory");
                return EXIT_FAIL;
        }
        docker_client_set_timeout(docker, DOCKER_CALL_TIMEOUT_MS);
        *x = (struct ctx){.a = a, .g = g, .socket = socket, .docker = docker};
        return 0;
}

static void failure_unreachable(struct ctx *x, int r)
{
        struct stat st;

        /* The Docker client says "refused" for a file that is no socket too. */
        if (r == -ECONNREFUSED && stat(x->socket, &st) == 0 && !S_ISSOCK(st.st_mode))
                r = -ENOTSOCK;
        switch (r) {
        case -EACCES:
                failure_set(&x->failure, "UNREACHABLE",
                            "cannot reach ds01d's Docker socket at %s: permission denied; it "
                            "should be mode 0666 (ask an admin to check: systemctl status ds01d)",
                            x->socket);
                break;
        case -ENOTSOCK:
                failure_set(&x->failure, "UNREACHABLE",
                            "cannot reach ds01d's Docker socket at %s: it is not a socket; give "
                            "the right one with --docker-socket PATH or $DS01_DOCKER_SOCKET",
                            x->socket);
                break;
        case -ETIMEDOUT:
                failure_set(&x->failure, "TIMEOUT",
                            "ds01d's Docker socket at %s did not answer in time; try again, or "
                            "check ds01d (systemctl status ds01d)",
                            x->socket);
                break;
        case -ECONNRESET:
                failure_set(&x->failure, "UNREACHABLE",
                            "ds01d's Docker socket at %s closed the connection (ds01d may be "
                            "restarting); try again in a moment",
                            x->socket);
                break;
        default:
                failure_set(&x->failure, "UNREACHABLE",
                            "cannot reach ds01d's Docker socket at %s; is ds01d running? "
                            "(systemctl status ds01d)",
                            x->socket);
                break;
        }
}

static bool is_transport_error(int r)
{
        return r == -ECONNREFUSED || r == -ENOTSOCK || r == -ETIMEDOUT || r == -ECONNRESET;
}

/* Is -EACCES from the socket itself (not a 403 from the proxy)? */
static bool socket_denied(const struct ctx *x)
{
        return access(x->socket, R_OK | W_OK) < 0 && (errno == EACCES || errno == EPERM);
}

/* Records why the Docker call `verb` on name failed (r < 0). */
static void failure_docker(struct ctx *x, int r, const char *verb, const char *name)
{
        const char *msg = docker_errmsg(x->docker);

        if (is_transport_error(r) || (r == -EACCES && socket_denied(x))) {
                failure_unreachable(x, r);
                return;
        }
        switch (r) {
        case -ENOENT:
                failure_set(&x->failure, "NOT_FOUND", "no container %s; see 'ds01 container list'",
                            name);
                return;
        case -EACCES:
                failure_set_proxy(&x->failure, "FORBIDDEN", msg, "ds01d refused the request");
                return;
        case -ENOMEM:
                failure_set(&x->failure, "INTERNAL", "out of memory");
                return;
        default:
                break;
        }
        if (startswith(msg, "ds01:"))
                failure_set_proxy(&x->failure, "DOCKER_ERROR", msg, NULL);
        else
                failure_set(&x->failure, "DOCKER_ERROR", "cannot %s %s: %s", verb, name,
                            isempty(msg) ? strerror(-r) : msg);
}

static int docker_fail(struct ctx *x, int r, const char *verb, const char *name)
{
        failure_docker(x, r, verb, name);
        return failure_report(&x->failure, x->a->json);
}

/* Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most NAME_MAX_LEN. */
static bool name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NAME_MAX_LEN)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                             (ch >= '0' && ch <= '9');

                if (!alnum && (i == 0 || !strchr("_.-", ch)))
                        return false;
        }
        return true;
}

/* The docker CLI: `docker -H unix://<socket> args...`. Returns only on failure. */
static int exec_docker(struct ctx *x, const char *const *args, size_t n_args)
{
        _cleanup_free_ char *host = NULL;
        char **argv;
        size_t n = 0;
        int e;

        if (asprintf(&host, "unix://%s", x->socket) < 0) {
                host = NULL;
                return fail("out of memory");
        }
        argv = calloc(n_args + 4, sizeof(*argv));
        if (!argv)
                return fail("out of memory");
        argv[n++] = (char *)"docker";
        argv[n++] = (char *)"-H";
        argv[n++] = host;
        for (size_t i = 0; i < n_args; i++)
                argv[n++] = (char *)args[i];
        argv[n] = NULL;

        /* Our connection to the proxy is not the docker command's. */
        x->docker = docker_client_free(x->docker);
        fflush(stdout);
        fflush(stderr);
        execvp("docker", argv);
        e = errno;
        free(argv);
        if (e == ENOENT)
                return fail("the docker command is not installed (not found in PATH); ask an "
                            "admin to install the Docker CLI (Debian: docker.io or docker-ce-cli)");
        return fail("cannot run the docker command: %s", strerror(e));
}

/* Inspects name; *ret_running tells whether it runs. 0, or the exit code
 * after reporting. */
static int inspect_running(struct ctx *x, const char *name, bool *ret_running)
{
        json_t *j = NULL;
        int r;

        r = docker_container_inspect(x->docker, name, &j);
        if (r < 0)
                return docker_fail(x, r, "inspect", name);
        *ret_running = json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
        json_decref(j);
        return 0;
}

/* ---- create ---- */

/* $HOME, else the password database's home. Borrowed or into buf. */
static const char *home_dir(char *buf, size_t n)
{
        const char *h = getenv("HOME");
        struct passwd pw, *res = NULL;

        if (!isempty(h))
                return h;
        if (getpwuid_r(getuid(), &pw, buf, n, &res) != 0 || !res || isempty(res->pw_dir))
                return NULL;
        return res->pw_dir;
}

/* mkdir -p path (mode 0755 for what it creates). 0 or -errno. */
static int mkdir_parents(const char *path)
{
        char p[PATH_MAX];
        struct stat st;

        if (strscpy(p, sizeof(p), path) < 0)
                return -ENAMETOOLONG;
        for (char *s = p + 1;; s++) {
                bool last = *s == '\0';

                if (*s != '/' && !last)
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (stat(p, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                if (last)
                        return 0;
                *s = '/';
        }
}

/* The workspace folder, absolute and resolved, created if missing. Caller
 * frees *ret. 0, or the exit code after reporting. */
static int workspace_prepare(struct ctx *x, char **ret)
{
        _cleanup_free_ char *path = NULL;
        char pwbuf[4096], *resolved;
        const char *ws = x->a->workspace, *home;
        int r;

        if (isempty(ws)) {
                home = home_dir(pwbuf, sizeof(pwbuf));
                if (isempty(home) || home[0] != '/') {
                        failure_set(&x->failure, "BAD_WORKSPACE",
                                    "cannot find your home folder ($HOME is not set); give the "
                                    "workspace with --workspace DIR");
                        return failure_report(&x->failure, x->a->json);
                }
                r = asprintf(&path, "%s/workspace/%s", home, x->a->name);
        } else if (ws[0] != '/') {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                if (!cwd)
                        return fail("cannot tell the current folder: %s; give --workspace as an "
                                    "absolute path",
                                    strerror(errno));
                r = asprintf(&path, "%s/%s", cwd, ws);
        } else {
                r = asprintf(&path, "%s", ws);
        }
        if (r < 0) {
                path = NULL;
                return fail("out of memory");
        }
        r = mkdir_parents(path);
        if (r < 0) {
                failure_set(&x->failure, "BAD_WORKSPACE",
                            "cannot create the workspace folder %s: %s; give another with "
                            "--workspace DIR",
                            path, strerror(-r));
                return failure_report(&x->failure, x->a->json);
        }
        resolved = realpath(path, NULL);
        if (!resolved) {
                failure_set(&x->failure, "BAD_WORKSPACE",
                            "cannot use the workspace folder %s: %s; give another with "
                            "--workspace DIR",
                            path, strerror(errno));
                return failure_report(&x->failure, x->a->json);
        }
        if (strchr(resolved, ':') || strchr(resolved, ',')) {
                failure_set(&x->failure, "BAD_WORKSPACE",
                            "the workspace folder %s has a ':' or ',' in its path, which Docker "
                            "cannot mount; give another with --workspace DIR",
                            resolved);
                free(resolved);
                return failure_report(&x->failure, x->a->json);
        }
        *ret = resolved;
        return 0;
}

static const char *image_of(const struct container_args *a)
{
        const char *env = getenv("DS01_DEFAULT_IMAGE");

        if (!isempty(a->image))
                return a->image;
        return !isempty(env) ? env : CONTAINER_DEFAULT_IMAGE;
}

/* The create body (docs at the top of create_help). NULL: no memory. */
static json_t *create_body(const struct container_args *a, const char *image, const char *ws)
{
        _cleanup_free_ char *bind = NULL;
        json_t *body, *host;

        if (asprintf(&bind, "%s:/workspace", ws) < 0)
                return NULL;
        host = json_pack("{s:[s]}", "Binds", bind);
        if (host && a->gpus != 0) {
                json_t *req = json_pack("[{s:s, s:I, s:[[s]]}]", "Driver", "nvidia", "Count",
                                        (json_int_t)a->gpus, "Capabilities", "gpu");
                if (!req || json_object_set_new(host, "DeviceRequests", req) < 0) {
                        json_decref(host);
                        return NULL;
                }
        }
        if (!host)
                return NULL;
        body = json_pack("{s:s, s:[s, s, s], s:{s:s}, s:b, s:b, s:s, s:o}", "Image", image, "Cmd",
                         "sh", "-c", KEEP_ALIVE_SCRIPT, "Labels", "ds01.interface", "orchestration",
                         "Tty", 1, "OpenStdin", 1, "WorkingDir", "/workspace", "HostConfig", host);
        return body;
}

/* One POST /containers/create, run on its own thread while the main one
 * shows the queue. */
struct create_job {
        CURL *curl;
        const char *socket;
        struct raw_call call;
        struct strbuf answer;
        int r; /* raw_perform's result */

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
};

static void *create_thread(void *p)
{
        struct create_job *job = p;
        int r;

        r = raw_perform(job->curl, job->socket, &job->call, &job->answer);
        pthread_mutex_lock(&job->lock);
        job->r = r;
        job->done = true;
        pthread_cond_signal(&job->cond);
        pthread_mutex_unlock(&job->lock);
        return NULL;
}

/* "0:37", "12:05", "1:02:03". */
static const char *format_elapsed(char *buf, size_t n, int64_t s)
{
        if (s >= SEC_PER_HOUR)
                snprintf(buf, n, "%lld:%02lld:%02lld", (long long)(s / SEC_PER_HOUR),
                         (long long)(s / 60 % 60), (long long)(s % 60));
        else
                snprintf(buf, n, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
        return buf;
}

static int64_t monotonic_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec;
}

/* GET path on the control socket, quietly: the JSON object, or NULL. */
static json_t *control_get(CURL *curl, const char *socket_path, const char *path, int *ret_r)
{
        struct raw_call call = {.method = "GET", .path = path, .timeout_s = POLL_TIMEOUT_S};
        _cleanup_strbuf_ struct strbuf body;
        json_t *j;
        int r;

        strbuf_init(&body, ANSWER_MAX);
        r = raw_perform(curl, socket_path, &call, &body);
        *ret_r = r;
        if (r != 200)
                return NULL;
        j = json_loadb(strbuf_str(&body), body.len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* What the waiting line shows, from the control API. */
struct queue_view {
        CURL *curl;
        const char *socket;
        const char *name;
        char user[256]; /* from /v1/whoami; "" until known */
        bool whoami_done;
        bool broken; /* the control socket failed: stop asking */
};

/* Position and length of the queue for our entry; false when not found. */
static bool queue_position(struct queue_view *v, long *ret_pos, long *ret_len)
{
        json_t *q, *st, *e;
        bool found = false;
        size_t i;
        int r;

        if (v->broken)
                return false;
        if (!v->whoami_done) {
                json_t *me = control_get(v->curl, v->socket, "/v1/whoami", &r);

                v->whoami_done = true;
                if (r < 0) {
                        v->broken = true;
                        return false;
                }
                snprintf(v->user, sizeof(v->user), "%s", cli_json_str(me, "user", ""));
                json_decref(me);
        }
        q = control_get(v->curl, v->socket, "/v1/queue", &r);
        if (r < 0)
                v->broken = true;
        json_array_foreach(json_object_get(q, "queue"), i, e)
        {
                if (!streq(cli_json_str(e, "container", ""), v->name))
                        continue;
                if (v->user[0] && !streq(cli_json_str(e, "user", v->user), v->user))
                        continue;
                *ret_pos = (long)cli_json_num(e, "position", (double)(i + 1));
                *ret_len = (long)json_array_size(json_object_get(q, "queue"));
                found = true;
                break;
        }
        json_decref(q);
        if (!found || v->broken)
                return found;
        /* non-admins see only their own entries: the length is the server's */
        st = control_get(v->curl, v->socket, "/v1/status", &r);
        if (json_is_number(json_object_get(st, "queue_length")))
                *ret_len = MAX(*ret_len, (long)cli_json_num(st, "queue_length", 0));
        *ret_len = MAX(*ret_len, *ret_pos);
        json_decref(st);
        return found;
}

/* Runs job on a thread and shows the queue on stderr until it is done.
 * Falls back to running it here when no thread can be had. */
static void create_with_progress(struct ctx *x, struct create_job *job)
{
        struct queue_view view = {.socket = control_socket(x->g), .name = x->a->name};
        pthread_condattr_t ca;
        pthread_t thread;
        int64_t start = monotonic_s();
        bool shown = false;

        view.curl = curl_easy_init();
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_mutex_init(&job->lock, NULL);
        pthread_cond_init(&job->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (!view.curl || pthread_create(&thread, NULL, create_thread, job) != 0) {
                job->r = raw_perform(job->curl, job->socket, &job->call, &job->answer);
                goto out;
        }

        for (;;) {
                char elapsed[32];
                struct timespec deadline;
                long pos = 0, len = 0;
                bool done;
                int64_t s;

                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += 1;
                pthread_mutex_lock(&job->lock);
                while (!job->done &&
                       pthread_cond_timedwait(&job->cond, &job->lock, &deadline) != ETIMEDOUT)
                        ;
                done = job->done;
                pthread_mutex_unlock(&job->lock);
                if (done)
                        break;

                s = monotonic_s() - start;
                format_elapsed(elapsed, sizeof(elapsed), s);
                if (queue_position(&view, &pos, &len))
                        fprintf(stderr,
                                "\rwaiting for a GPU: position %ld of %ld, %s elapsed\033[K", pos,
                                len, elapsed);
                else if (s >= 2)
                        fprintf(stderr, "\rwaiting for ds01d to create %s: %s elapsed\033[K",
                                x->a->name, elapsed);
                else
                        continue;
                fflush(stderr);
                shown = true;
        }
        pthread_join(thread, NULL);
out:
        if (shown)
                fputs("\r\033[K", stderr);
        if (view.curl)
                curl_easy_cleanup(view.curl);
        pthread_cond_destroy(&job->cond);
        pthread_mutex_destroy(&job->lock);
}

/* The pull stream: the last error Docker reported in it. */
struct pull_state {
        char error[512];
};

static int pull_on_line(void *ud, const char *line, size_t n)
{
        struct pull_state *p = ud;
        json_t *j = json_loadb(line, n, 0, NULL);
        const char *e = json_string_value(json_object_get(j, "error"));

        if (!isempty(e))
                snprintf(p->error, sizeof(p->error), "%s", e);
        json_decref(j);
        return 0;
}

/* Pulls image through the proxy. 0, or the exit code after reporting. */
static int pull_image(struct ctx *x, CURL *curl, const char *version, const char *image)
{
        _cleanup_strbuf_ struct strbuf path, body;
        struct pull_state ps = {.error = ""};
        struct raw_call call = {
            .method = "POST", .stall_s = PULL_STALL_S, .on_line = pull_on_line, .ud = &ps};
        _cleanup_free_ char *repo = strdup(image);
        const char *tag = NULL, *slash;
        char *colon, *esc;
        json_t *j;
        int r;

        if (!repo)
                return fail("out of memory");
        /* "name" alone would pull every tag: ask for "latest" then. */
        slash = strrchr(repo, '/');
        colon = strrchr(slash ? slash : repo, ':');
        if (!strchr(repo, '@')) {
                if (colon) {
                        *colon = '\0';
                        tag = colon + 1;
                } else {
                        tag = "latest";
                }
        }
        strbuf_init(&path, 8192);
        strbuf_init(&body, ANSWER_MAX);
        esc = curl_easy_escape(curl, repo, 0);
        r = esc ? strbuf_printf(&path, "/v%s/images/create?fromImage=%s", version, esc) : -ENOMEM;
        curl_free(esc);
        if (r >= 0 && tag) {
                esc = curl_easy_escape(curl, tag, 0);
                r = esc ? strbuf_printf(&path, "&tag=%s", esc) : -ENOMEM;
                curl_free(esc);
        }
        if (r < 0)
                return fail("the image name %s is too long", image);
        call.path = strbuf_str(&path);

        fprintf(stderr, "pulling %s ...\n", image);
        r = raw_perform(curl, x->socket, &call, &body);
        if (r < 0) {
                if (r == -ETIMEDOUT)
                        failure_set(&x->failure, "PULL_FAILED",
                                    "pulling %s stalled for %ld s; try again later", image,
                                    PULL_STALL_S);
                else
                        failure_unreachable(x, r);
                return failure_report(&x->failure, x->a->json);
        }
        if (r < 200 || r >= 300) {
                j = json_loadb(strbuf_str(&body), body.len, 0, NULL);
                if (startswith(answer_message(j), "ds01:"))
                        failure_set_proxy(&x->failure, r == 403 ? "FORBIDDEN" : "PULL_FAILED",
                                          answer_message(j), NULL);
                else
                        failure_set(&x->failure, "PULL_FAILED",
                                    "cannot pull %s: %s; check the name (docker pull %s)", image,
                                    answer_message(j) ?: "Docker refused", image);
                json_decref(j);
                return failure_report(&x->failure, x->a->json);
        }
        if (ps.error[0]) {
                failure_set(&x->failure, "PULL_FAILED",
                            "cannot pull %s: %s; check the name, or log in to its registry "
                            "(docker login)",
                            image, ps.error);
                return failure_report(&x->failure, x->a->json);
        }
        return 0;
}

/* Sends the create. 0 with *ret_id (caller frees), or the exit code after
 * reporting; *ret_missing_image is set when Docker has no such image. */
static int create_once(struct ctx *x, CURL *curl, const char *version, const char *body_text,
                       bool *ret_missing_image, char **ret_id)
{
        struct create_job job = {.curl = curl, .socket = x->socket};
        const char *headers[3] = {NULL};
        char wait_header[64];
        _cleanup_strbuf_ struct strbuf path;
        _cleanup_free_ char *esc = NULL;
        const char *msg, *id;
        size_t nh = 0;
        json_t *j = NULL;
        int status;

        *ret_missing_image = false;
        strbuf_init(&path, 8192);
        esc = curl_easy_escape(curl, x->a->name, 0);
        if (!esc || strbuf_printf(&path, "/v%s/containers/create?name=%s", version, esc) < 0)
                return fail("out of memory");

        switch (x->a->wait) {
        case WAIT_NONE:
                headers[nh++] = "X-Ds01-Wait: 0";
                job.call.timeout_s = CREATE_TIMEOUT_S;
                break;
        case WAIT_SECONDS:
                snprintf(wait_header, sizeof(wait_header), "X-Ds01-Wait: %lld",
                         (long long)x->a->wait_s);
                headers[nh++] = wait_header;
                job.call.timeout_s = CREATE_TIMEOUT_S + (long)x->a->wait_s;
                break;
        case WAIT_DEFAULT:
                /* ds01d's gpu_allocation.wait_s, which we do not know: no limit
                 * here; ds01d answers 503 when it ends, Ctrl-C leaves. */
                job.call.timeout_s = 0;
                break;
        }
        if (x->a->full)
                headers[nh++] = "X-Ds01-Full: 1";
        headers[nh] = NULL;
        job.call.method = "POST";
        job.call.path = strbuf_str(&path);
        job.call.headers = headers;
        job.call.body = body_text;
        strbuf_init(&job.answer, ANSWER_MAX);

        if (x->a->gpus != 0 && x->a->wait != WAIT_NONE &&
            !(x->a->wait == WAIT_SECONDS && x->a->wait_s == 0) && isatty(STDERR_FILENO))
                create_with_progress(x, &job);
        else
                job.r = raw_perform(curl, x->socket, &job.call, &job.answer);

        status = job.r;
        if (status < 0) {
                strbuf_release(&job.answer);
                if (status == -ETIMEDOUT && x->a->wait != WAIT_NONE)
                        failure_set(&x->failure, "TIMEOUT",
                                    "no answer from ds01d within %ld s; see 'ds01 queue' and try "
                                    "again",
                                    job.call.timeout_s);
                else if (status == -ENOMEM || status == -E2BIG)
                        failure_set(&x->failure, "INTERNAL", "cannot read ds01d's answer: %s",
                                    strerror(-status));
                else
                        failure_unreachable(x, status);
                return failure_report(&x->failure, x->a->json);
        }
        j = json_loadb(strbuf_str(&job.answer), job.answer.len, 0, NULL);
        strbuf_release(&job.answer);
        msg = answer_message(j);

        if (status == 201 || status == 200) {
                id = json_string_value(json_object_get(j, "Id"));
                if (isempty(id)) {
                        json_decref(j);
                        return fail("ds01d's answer to the create has no container id; see "
                                    "'ds01 container list'");
                }
                *ret_id = strdup(id);
                json_decref(j);
                return *ret_id ? 0 : fail("out of memory");
        }

        if (status == 404 && msg && strstr(msg, "No such image")) {
                *ret_missing_image = true;
                json_decref(j);
                return EXIT_FAIL; /* not reported: the caller pulls */
        }
        if (status == 409) {
                failure_set(&x->failure, "EXISTS",
                            "a container named %s exists already; start it with 'ds01 container "
                            "start %s', or pick another name",
                            x->a->name, x->a->name);
        } else if (status == 403) {
                failure_set_proxy(&x->failure, "FORBIDDEN", msg, "ds01d refused the create");
        } else if (status == 503) {
                if (msg && startswith(msg, "ds01:") && x->a->wait == WAIT_NONE && x->a->gpus != 0 &&
                    !strstr(msg, "--wait")) {
                        failure_set_proxy(&x->failure, "NO_CAPACITY", msg, NULL);
                        snprintf(x->failure.message, sizeof(x->failure.message),
                                 "%s (to wait in the queue for one: --wait)", msg);
                } else {
                        failure_set_proxy(&x->failure, "NO_CAPACITY", msg,
                                          "ds01d cannot serve the create now; try again later");
                }
        } else if (msg && startswith(msg, "ds01:")) {
                failure_set_proxy(&x->failure, "DOCKER_ERROR", msg, NULL);
        } else {
                failure_set(&x->failure, "DOCKER_ERROR", "cannot create %s: %s", x->a->name,
                            msg ? msg : "Docker refused it");
                if (status == 400)
                        x->failure.code = "BAD_REQUEST";
        }
        json_decref(j);
        return failure_report(&x->failure, x->a->json);
}

/* Creates x->a->name (pulling its image when missing). 0 with *ret_id and
 * *ret_workspace (caller frees), or the exit code after reporting. */
static int create_container(struct ctx *x, char **ret_id, char **ret_workspace)
{
        _cleanup_free_ char *ws = NULL, *body_text = NULL;
        const char *image = image_of(x->a);
        char version[32];
        json_t *body, *v = NULL;
        bool missing = false;
        char *id = NULL;
        CURL *curl;
        int r;

        /* Reachability and the API version the proxy speaks, first. */
        r = docker_version(x->docker, &v);
        if (r < 0)
                return docker_fail(x, r, "reach", "Docker");
        json_decref(v);
        snprintf(version, sizeof(version), "%s",
                 docker_api_version(x->docker) ?: DOCKER_API_VERSION_MAX);

        r = workspace_prepare(x, &ws);
        if (r != 0)
                return r;
        body = create_body(x->a, image, ws);
        body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        curl = body_text ? curl_easy_init() : NULL;
        if (!curl)
                return fail("out of memory");

        r = create_once(x, curl, version, body_text, &missing, &id);
        if (r != 0 && missing) {
                r = pull_image(x, curl, version, image);
                if (r == 0) {
                        r = create_once(x, curl, version, body_text, &missing, &id);
                        if (r != 0 && missing) {
                                failure_set(&x->failure, "NOT_FOUND",
                                            "Docker has no image %s even after pulling it; "
                                            "check the name",
                                            image);
                                r = failure_report(&x->failure, x->a->json);
                        }
                }
        }
        curl_easy_cleanup(curl);
        if (r != 0)
                return r;
        *ret_id = id;
        *ret_workspace = TAKE_PTR(ws);
        return 0;
}

/* The GPU slots label of an inspected container ("" when none). Borrowed. */
static const char *gpu_slots_label(const json_t *container)
{
        const json_t *labels = json_object_get(json_object_get(container, "Config"), "Labels");

        return cli_json_str(labels, "ds01.gpu.slots", "");
}

/* "0,1.2" -> ["0", "1.2"]; "" -> []. NULL: no memory. */
static json_t *split_list(const char *s)
{
        json_t *arr = json_array();
        const char *p = s;

        if (!arr)
                return NULL;
        while (p && *p) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);

                if (n > 0 && json_array_append_new(arr, json_stringn(p, n)) < 0) {
                        json_decref(arr);
                        return NULL;
                }
                p = comma ? comma + 1 : NULL;
        }
        return arr;
}

/* Starts the container create_container made and says what it is. 0, or the
 * exit code after reporting. */
static int start_created(struct ctx *x, const char *id, const char *ws, bool print)
{
        const char *name = x->a->name;
        json_t *info = NULL, *out;
        const char *slots, *state;
        int r;

        r = docker_container_start(x->docker, id);
        if (r < 0) {
                failure_docker(x, r, "start", name);
                if (!x->failure.as_is) {
                        char line[sizeof(x->failure.message)];

                        snprintf(line, sizeof(line), "%s", x->failure.message);
                        failure_set(&x->failure, x->failure.code,
                                    "created %s but %s; see 'ds01 container logs %s', or remove "
                                    "it with 'ds01 container remove %s'",
                                    name, line, name, name);
                }
                return failure_report(&x->failure, x->a->json);
        }
        if (!print)
                return 0;
        /* The labels ds01d wrote (the GPU slots); best effort. */
        (void)docker_container_inspect(x->docker, id, &info);
        slots = gpu_slots_label(info);
        state = cli_json_str(json_object_get(info, "State"), "Status", "running");
        if (x->a->json) {
                out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "name", name, "id", id, "image",
                                image_of(x->a), "workspace", ws, "state", state, "gpu_slots",
                                split_list(slots));
                r = out ? cli_print_json(out) : fail("out of memory");
                json_decref(out);
        } else {
                printf("created %s: image %s, %s%s, %s at /workspace\n", name, image_of(x->a),
                       slots[0] ? "GPU slots " : "no GPU", slots, ws);
                printf("started %s; a shell in it: ds01 container exec %s\n", name, name);
                r = EXIT_OK;
        }
        json_decref(info);
        return r;
}

static int create_and_start(struct ctx *x, bool print)
{
        char *id = NULL, *ws = NULL;
        int r;

        r = create_container(x, &id, &ws);
        if (r != 0)
                return r;
        r = start_created(x, id, ws, print);
        free(id);
        free(ws);
        return r;
}

static int action_create(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = create_and_start(&x, true);
        ctx_release(&x);
        return r;
}

static int exec_shell(struct ctx *x, const char *name, char *const *cmd, int n_cmd)
{
        const char **args = calloc((size_t)n_cmd + 8, sizeof(*args));
        size_t n = 0;
        int r;

        if (!args)
                return fail("out of memory");
        args[n++] = "exec";
        args[n++] = "-i";
        if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
                args[n++] = "-t";
        args[n++] = name;
        if (n_cmd == 0) {
                args[n++] = "sh";
                args[n++] = "-c";
                args[n++] = SHELL_SCRIPT;
        }
        for (int i = 0; i < n_cmd; i++)
                args[n++] = cmd[i];
        r = exec_docker(x, args, n);
        free(args);
        return r;
}

static int action_deploy(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        json_t *j = NULL;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_inspect(x.docker, a->name, &j);
        if (r == -ENOENT) {
                r = create_and_start(&x, false);
                if (r != 0)
                        goto out;
                fprintf(stderr, "created and started %s\n", a->name);
        } else if (r < 0) {
                r = docker_fail(&x, r, "inspect", a->name);
                goto out;
        } else {
                bool running =
                    json_is_true(json_object_get(json_object_get(j, "State"), "Running"));

                json_decref(j);
                if (a->image || a->gpus != 0 || a->workspace)
                        fprintf(stderr,
                                "%s exists already; --image, --gpus, --full and "
                                "--workspace apply only to a new container\n",
                                a->name);
                if (!running) {
                        r = docker_container_start(x.docker, a->name);
                        if (r < 0) {
                                r = docker_fail(&x, r, "start", a->name);
                                goto out;
                        }
                        fprintf(stderr, "started %s\n", a->name);
                }
        }
        r = exec_shell(&x, a->name, NULL, 0);
out:
        ctx_release(&x);
        return r;
}

/* ---- list ---- */

static const char *container_name(const json_t *c)
{
        const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

        if (!n)
                return "-";
        return n[0] == '/' ? n + 1 : n;
}

static char *format_epoch(char *buf, size_t n, const json_t *created, bool iso)
{
        time_t t;
        struct tm tm;

        if (!json_is_integer(created))
                goto none;
        t = (time_t)json_integer_value(created);
        if (!gmtime_r(&t, &tm) ||
            strftime(buf, n, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M", &tm) == 0)
                goto none;
        return buf;
none:
        snprintf(buf, n, "%s", iso ? "" : "-");
        return buf;
}

static int list_json(const json_t *arr, bool all)
{
        json_t *out = json_array(), *c, *j;
        size_t i;
        int r;

        if (!out)
                return fail("out of memory");
        json_array_foreach(arr, i, c)
        {
                const json_t *labels = json_object_get(c, "Labels");
                const char *state = cli_json_str(c, "State", "");
                char created[64];
                json_t *e;

                if (!all && !streq(state, "running"))
                        continue;
                format_epoch(created, sizeof(created), json_object_get(c, "Created"), true);
                e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:n, s:n}", "name",
                              container_name(c), "id", cli_json_str(c, "Id", ""), "state", state,
                              "status", cli_json_str(c, "Status", ""), "image",
                              cli_json_str(c, "Image", ""), "created",
                              created[0] ? json_string(created) : json_null(), "gpu_slots",
                              split_list(cli_json_str(labels, "ds01.gpu.slots", "")), "interface",
                              cli_json_str(labels, "ds01.interface", ""), "runtime_left_seconds",
                              "idle_seconds");
                if (!e || json_array_append_new(out, e) < 0) {
                        json_decref(out);
                        return fail("out of memory");
                }
        }
        j = json_pack("{s:o}", "containers", out);
        if (!j)
                return fail("out of memory");
        r = cli_print_json(j);
        json_decref(j);
        return r;
}

static int list_text(const json_t *arr, bool all)
{
        int wn = (int)strlen("NAME"), wi = (int)strlen("IMAGE"), ws = (int)strlen("GPU SLOT");
        size_t i, shown = 0, hidden = 0;
        json_t *c;

        json_array_foreach(arr, i, c)
        {
                const char *slots =
                    cli_json_str(json_object_get(c, "Labels"), "ds01.gpu.slots", "-");

                if (!all && !streq(cli_json_str(c, "State", ""), "running")) {
                        hidden++;
                        continue;
                }
                shown++;
                wn = MAX(wn, (int)strlen(container_name(c)));
                wi = MAX(wi, (int)MIN(strlen(cli_json_str(c, "Image", "-")), 40));
                ws = MAX(ws, (int)strlen(slots));
        }
        if (shown == 0) {
                if (hidden > 0)
                        printf("no running containers (%zu stopped: ds01 container list --all)\n",
                               hidden);
                else
                        printf("no containers; create one: ds01 container create NAME\n");
                return EXIT_OK;
        }
        printf("%-*s  %-10s  %-*s  %-*s  %-16s  %-12s  %s\n", wn, "NAME", "STATE", ws, "GPU SLOT",
               wi, "IMAGE", "CREATED", "RUNTIME LEFT", "IDLE");
        json_array_foreach(arr, i, c)
        {
                const char *state = cli_json_str(c, "State", "-");
                char created[32];

                if (!all && !streq(state, "running"))
                        continue;
                printf("%-*s  %-10s  %-*s  %-*.40s  %-16s  %-12s  %s\n", wn, container_name(c),
                       state, ws, cli_json_str(json_object_get(c, "Labels"), "ds01.gpu.slots", "-"),
                       wi, cli_json_str(c, "Image", "-"),
                       format_epoch(created, sizeof(created), json_object_get(c, "Created"), false),
                       "-", "-");
        }
        if (hidden > 0)
                printf("\n%zu stopped container%s not shown (ds01 container list --all)\n", hidden,
                       hidden == 1 ? "" : "s");
        return EXIT_OK;
}

static int action_list(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        json_t *arr = NULL;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_list(x.docker, true, NULL, &arr);
        if (r < 0) {
                r = docker_fail(&x, r, "list", "containers");
        } else {
                r = a->json ? list_json(arr, a->all) : list_text(arr, a->all);
                json_decref(arr);
        }
        ctx_release(&x);
        return r;
}

/* ---- start, stop, restart, remove, retire ---- */

static int action_start(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_start(x.docker, a->name);
        if (r < 0)
                r = docker_fail(&x, r, "start", a->name);
        else
                printf("started %s\n", a->name);
        ctx_release(&x);
        return r;
}

static int action_stop(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_stop(x.docker, a->name, -1);
        if (r < 0)
                r = docker_fail(&x, r, "stop", a->name);
        else
                printf("stopped %s\n", a->name);
        ctx_release(&x);
        return r;
}

static int action_restart(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_stop(x.docker, a->name, -1);
        if (r < 0) {
                r = docker_fail(&x, r, "stop", a->name);
                goto out;
        }
        r = docker_container_start(x.docker, a->name);
        if (r < 0) {
                r = docker_fail(&x, r, "start", a->name);
                goto out;
        }
        printf("restarted %s\n", a->name);
out:
        ctx_release(&x);
        return r;
}

static int action_remove(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_remove(x.docker, a->name, a->force, false);
        if (r == -EBUSY && !a->force) {
                r = fail("%s is running; stop it first (ds01 container stop %s), or remove it "
                         "with --force",
                         a->name, a->name);
        } else if (r < 0) {
                r = docker_fail(&x, r, "remove", a->name);
        } else {
                printf("removed %s\n", a->name);
        }
        ctx_release(&x);
        return r;
}

/* DELETE /v1/allocations/NAME on the control socket. Prints what it released;
 * 0, or the exit code after reporting. */
static int release_gpus(struct ctx *x, const char *name, bool container_existed)
{
        _cleanup_strbuf_ struct strbuf path, body;
        struct raw_call call = {.method = "DELETE", .timeout_s = CLI_CLIENT_TIMEOUT};
        const char *socket_path = control_socket(x->g);
        json_t *j, *v;
        CURL *curl;
        size_t i;
        int status;

        strbuf_init(&path, 4096);
        strbuf_init(&body, ANSWER_MAX);
        if (strbuf_puts(&path, "/v1/allocations/") < 0 || cli_client_path_add(&path, name) < 0)
                return fail("out of memory");
        call.path = strbuf_str(&path);
        curl = curl_easy_init();
        if (!curl)
                return fail("out of memory");
        status = raw_perform(curl, socket_path, &call, &body);
        curl_easy_cleanup(curl);
        if (status < 0)
                return fail("cannot reach ds01d at %s to give back the GPUs of %s (%s); when it "
                            "is back: ds01 gpu release %s",
                            socket_path, name, strerror(-status), name);
        if (status == 404) {
                if (!container_existed)
                        return fail("no container %s; see 'ds01 container list'", name);
                return 0;
        }
        j = json_loadb(strbuf_str(&body), body.len, 0, NULL);
        if (status < 200 || status >= 300) {
                const char *m = answer_message(j);

                fail("cannot give back the GPUs of %s: %s", name,
                     m ? m : "ds01d refused (see journalctl -u ds01d)");
                json_decref(j);
                return EXIT_FAIL;
        }
        if (json_array_size(json_object_get(j, "released")) > 0) {
                printf("gave back GPU slot%s ",
                       json_array_size(json_object_get(j, "released")) == 1 ? "" : "s");
                json_array_foreach(json_object_get(j, "released"), i, v)
                {
                        printf("%s%s", i ? ", " : "", json_string_value(v) ?: "?");
                }
                printf(" of %s\n", name);
        }
        json_decref(j);
        return 0;
}

static int action_retire(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        bool existed = true;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = docker_container_stop(x.docker, a->name, -1);
        if (r == -ENOENT) {
                existed = false;
        } else if (r < 0) {
                r = docker_fail(&x, r, "stop", a->name);
                goto out;
        } else {
                r = docker_container_remove(x.docker, a->name, true, false);
                if (r < 0 && r != -ENOENT) {
                        r = docker_fail(&x, r, "remove", a->name);
                        goto out;
                }
                printf("stopped and removed %s\n", a->name);
        }
        r = release_gpus(&x, a->name, existed);
out:
        ctx_release(&x);
        return r;
}

/* ---- exec, logs, stats: the docker command ---- */

static int action_exec(struct container_args *a, const struct cli_global *g)
{
        struct ctx x;
        bool running = false;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = inspect_running(&x, a->name, &running);
        if (r == 0 && !running)
                r = fail("%s is not running; start it: ds01 container start %s", a->name, a->name);
        if (r == 0)
                r = exec_shell(&x, a->name, a->rest, a->n_rest);
        ctx_release(&x);
        return r;
}

static int action_logs(struct container_args *a, const struct cli_global *g)
{
        const char *args[6];
        struct ctx x;
        bool running = false;
        size_t n = 0;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        r = inspect_running(&x, a->name, &running);
        if (r == 0) {
                args[n++] = "logs";
                if (a->follow)
                        args[n++] = "--follow";
                if (a->tail) {
                        args[n++] = "--tail";
                        args[n++] = a->tail;
                }
                args[n++] = a->name;
                r = exec_docker(&x, args, n);
        }
        ctx_release(&x);
        return r;
}

static int action_stats(struct container_args *a, const struct cli_global *g)
{
        const char **args;
        struct ctx x;
        bool running = false;
        size_t n = 0;
        int r;

        r = ctx_init(&x, a, g);
        if (r != 0)
                return r;
        args = calloc((size_t)a->n_rest + 3, sizeof(*args));
        if (!args) {
                ctx_release(&x);
                return fail("out of memory");
        }
        if (a->n_rest == 0) {
                json_t *v = NULL;

                r = docker_version(x.docker, &v);
                json_decref(v);
                if (r < 0)
                        r = docker_fail(&x, r, "reach", "Docker");
        }
        for (int i = 0; i < a->n_rest && r == 0; i++) {
                r = inspect_running(&x, a->rest[i], &running);
                if (r == 0 && !running)
                        r = fail("%s is not running; start it: ds01 container start %s", a->rest[i],
                                 a->rest[i]);
        }
        if (r == 0) {
                args[n++] = "stats";
                if (a->no_stream)
                        args[n++] = "--no-stream";
                for (int i = 0; i < a->n_rest; i++)
                        args[n++] = a->rest[i];
                r = exec_docker(&x, args, n);
        }
        free(args);
        ctx_release(&x);
        return r;
}

/* ---- parsing and dispatch ---- */

static const struct container_action actions[] = {
    {"create", M_CREATE | M_JSON, 1, 1, false, action_create, create_help},
    {"deploy", M_CREATE, 1, 1, false, action_deploy, deploy_help},
    {"list", M_ALL | M_JSON, 0, 0, false, action_list, list_help},
    {"start", 0, 1, 1, false, action_start, start_help},
    {"stop", 0, 1, 1, false, action_stop, stop_help},
    {"restart", 0, 1, 1, false, action_restart, restart_help},
    {"remove", M_FORCE, 1, 1, false, action_remove, remove_help},
    {"retire", 0, 1, 1, false, action_retire, retire_help},
    {"exec", 0, 1, -1, true, action_exec, exec_help},
    {"logs", M_FOLLOW | M_TAIL, 1, 1, false, action_logs, logs_help},
    {"stats", M_NO_STREAM, 0, -1, false, action_stats, stats_help},
};

static const struct container_action *find_action(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (streq(actions[i].name, name))
                        return &actions[i];
        return NULL;
}

static int parse_wait(const char *action, const char *s, struct container_args *a)
{
        int64_t w;

        if (!s) {
                a->wait = WAIT_DEFAULT;
                return 0;
        }
        if (parse_duration(s, 1, &w) < 0 || w == DURATION_INFINITY || w > WAIT_MAX_S)
                return usage_error(action,
                                   "--wait='%s' is not a time to wait (0 to 604800 seconds; "
                                   "30m and 2h work too)",
                                   s);
        a->wait = w == 0 ? WAIT_NONE : WAIT_SECONDS;
        a->wait_s = w;
        return 0;
}

static int parse_gpus(const char *action, const char *s, struct container_args *a)
{
        long long n;

        if (streq(s, "all")) {
                a->gpus = -1;
                return 0;
        }
        if (safe_atoi64(s, &n) < 0 || n < 1 || n > GPUS_MAX)
                return usage_error(action, "--gpus '%s' is not a number of GPUs (1 to %d) or 'all'",
                                   s, GPUS_MAX);
        a->gpus = (int)n;
        return 0;
}

static int parse_tail(const char *action, const char *s, struct container_args *a)
{
        long long n;

        if (!streq(s, "all") && (safe_atoi64(s, &n) < 0 || n < 0))
                return usage_error(action, "--tail '%s' is not a number of lines or 'all'", s);
        a->tail = s;
        return 0;
}

/* Returns 0, -1 after --help, or an exit code. argv[0] is the action. */
static int parse_action(const struct container_action *act, int argc, char **argv,
                        struct container_args *a)
{
        struct option opts[ELEMENTSOF(option_table) + 3];
        char optstring[32];
        size_t no = 0, ns = 0;
        int c, r, n_pos;

        /* exec: options end at NAME; the others permute, so options may follow it */
        if (act->stop_at_first_arg)
                optstring[ns++] = '+';
        optstring[ns++] = ':';
        optstring[ns++] = 'h';
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++) {
                const struct container_option *o = &option_table[i];

                if (!(o->mask & act->options))
                        continue;
                opts[no++] = o->o;
                if (o->short_name) {
                        optstring[ns++] = o->short_name;
                        if (o->o.has_arg == required_argument)
                                optstring[ns++] = ':';
                }
        }
        optstring[ns] = '\0';
        opts[no++] = (struct option){"docker-socket", required_argument, NULL, OPT_DOCKER_SOCKET};
        opts[no++] = (struct option){"help", no_argument, NULL, 'h'};
        opts[no] = (struct option){0};

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, optstring, opts, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        c = OPT_ALL;
                        break;
                case 'f':
                        c = act->options & M_FOLLOW ? OPT_FOLLOW : OPT_FORCE;
                        break;
                case 'n':
                        c = OPT_TAIL;
                        break;
                default:
                        break;
                }
                r = 0;
                switch (c) {
                case OPT_JSON:
                        a->json = true;
                        break;
                case OPT_ALL:
                        a->all = true;
                        break;
                case OPT_FORCE:
                        a->force = true;
                        break;
                case OPT_IMAGE:
                        if (isempty(optarg))
                                return usage_error(act->name, "--image needs an image name");
                        a->image = optarg;
                        break;
                case OPT_GPUS:
                        r = parse_gpus(act->name, optarg, a);
                        break;
                case OPT_FULL:
                        a->full = true;
                        break;
                case OPT_WORKSPACE:
                        if (isempty(optarg))
                                return usage_error(act->name, "--workspace needs a folder");
                        a->workspace = optarg;
                        break;
                case OPT_WAIT:
                        r = parse_wait(act->name, optarg, a);
                        break;
                case OPT_FOLLOW:
                        a->follow = true;
                        break;
                case OPT_TAIL:
                        r = parse_tail(act->name, optarg, a);
                        break;
                case OPT_NO_STREAM:
                        a->no_stream = true;
                        break;
                case OPT_DOCKER_SOCKET:
                        if (isempty(optarg))
                                return usage_error(act->name, "--docker-socket needs a path");
                        a->docker_socket = optarg;
                        break;
                case 'h':
                        act->help(stdout);
                        return -1;
                case ':':
                        return usage_error(act->name, "option '%s' needs a value",
                                           argv[optind - 1]);
                default:
                        if (optopt && optopt < 0x100)
                                return usage_error(act->name, "unknown option '-%c' for '%s'",
                                                   optopt, act->name);
                        return usage_error(act->name, "unknown option '%s' for '%s'",
                                           argv[optind - 1], act->name);
                }
                if (r != 0)
                        return r;
        }

        n_pos = argc - optind;
        if (n_pos < act->min_args)
                return usage_error(act->name, "which container? give its name (ds01 container "
                                              "list)");
        if (act->max_args >= 0 && n_pos > act->max_args)
                return usage_error(act->name, "unexpected argument '%s'",
                                   argv[optind + act->max_args]);
        if (act->min_args > 0) {
                a->name = argv[optind++];
                if (!name_valid(a->name))
                        return usage_error(act->name,
                                           "'%s' is not a container name (letters, digits, '_', "
                                           "'.', '-', starting with a letter or digit)",
                                           a->name);
        }
        a->rest = argv + optind;
        a->n_rest = argc - optind;
        if (act->stop_at_first_arg && a->n_rest > 0 && streq(a->rest[0], "--")) {
                a->rest++;
                a->n_rest--;
        }
        for (int i = 0; streq(act->name, "stats") && i < a->n_rest; i++)
                if (!name_valid(a->rest[i]))
                        return usage_error(act->name, "'%s' is not a container name", a->rest[i]);
        if (a->full && a->gpus == 0)
                a->gpus = 1;
        return 0;
}

static int container_run(int argc, char **argv, const struct cli_global *g)
{
        const struct container_action *act;
        struct container_args a = {.wait = WAIT_NONE};
        const char *socket = NULL;
        int i = 1, r;

        /* ds01 container [--docker-socket PATH] ACTION ... */
        while (i < argc && startswith(argv[i], "--docker-socket")) {
                const char *v = startswith(argv[i], "--docker-socket");

                if (*v == '=') {
                        socket = v + 1;
                } else if (*v == '\0' && i + 1 < argc) {
                        socket = argv[++i];
                } else if (*v == '\0') {
                        return usage_error(NULL, "option '--docker-socket' needs a value");
                } else {
                        break;
                }
                if (isempty(socket))
                        return usage_error(NULL, "--docker-socket needs a path");
                i++;
        }
        if (i >= argc)
                return usage_error(NULL, "which action? (create, deploy, list, start, stop, "
                                         "restart, remove, retire, exec, logs, stats)");
        if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                container_help(stdout);
                return EXIT_OK;
        }
        if (streq(argv[i], "help")) {
                if (i + 1 >= argc) {
                        container_help(stdout);
                        return EXIT_OK;
                }
                act = find_action(argv[i + 1]);
                if (!act)
                        return usage_error(NULL, "unknown action '%s'", argv[i + 1]);
                act->help(stdout);
                return EXIT_OK;
        }
        if (argv[i][0] == '-')
                return usage_error(NULL, "unknown option '%s' (options go after the action)",
                                   argv[i]);
        act = find_action(argv[i]);
        if (!act)
                return usage_error(NULL, "unknown action '%s'", argv[i]);

        a.action = act->name;
        a.docker_socket = socket;
        r = parse_action(act, argc - i, argv + i, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return act->run(&a, g);
}

const struct cli_command cli_cmd_container = {
    .name = "container",
    .summary = "your containers: create, deploy, list, start, stop, remove, retire, exec, ...",
    .run = container_run,
    .help = container_help,
};
