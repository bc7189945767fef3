/* SPDX-License-Identifier: MIT */
/*
 * cmd-health.c - `ds01 health [--json] [--quiet] [--verbose]`: ds01d's checks
 * (GET /v1/health), one PASS/FAIL line each, then "Summary: P passed, F
 * failed". Exit 0 when all pass, 1 when any fails, 2 when Docker cannot be
 * reached. When ds01d itself does not answer, that is a failed check, and
 * Docker is then probed directly so the exit status still tells the two
 * apart.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "docker/docker.h"
#include "util/strutil.h"

#define HEALTH_TIMEOUT        60L
#define DEFAULT_DOCKER_SOCKET "/var/run/docker.sock"

static void health_help(FILE *f)
{
        fputs("usage: ds01 health [--json] [--quiet] [--verbose]\n"
              "\n"
              "Check the server: Docker reachable and its cgroup driver, the Docker proxy,\n"
              "NVML and every GPU, the state database (quick_check), the state against\n"
              "Docker, the event log, the metrics exporter, free space. One line per check,\n"
              "then 'Summary: P passed, F failed'. Records a health.check event.\n"
              "Exit status: 0 all pass, 1 a check failed, 2 Docker cannot be reached.\n"
              "\n"
              "Options:\n"
              "      --json          the checks as JSON\n"
              "  -q, --quiet         print nothing; only the exit status\n"
              "  -v, --verbose       also print the informational lines\n"
              "      --docker-socket PATH  where to probe Docker when ds01d does not answer\n"
              "                      (default $DOCKER_HOST's unix path, else " DEFAULT_DOCKER_SOCKET
              ")\n"
              "  -h, --help          show this help\n",
              f);
}

/* ds01d did not answer: probe Docker ourselves for the exit status. */
static bool docker_reachable(const char *socket)
{
        struct docker_client *c = NULL;
        bool ok = docker_client_new(socket, &c) >= 0 && docker_ping(c) >= 0;
        docker_client_free(c);
        return ok;
}

static int health_run(int argc, char **argv, const struct cli_global *g)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'},    {"quiet", no_argument, NULL, 'q'},
            {"verbose", no_argument, NULL, 'v'}, {"docker-socket", required_argument, NULL, 'D'},
            {"help", no_argument, NULL, 'h'},    {},
        };
        bool json = false, quiet = false, verbose = false, docker_up;
        const char *docker_socket = DEFAULT_DOCKER_SOCKET, *host = getenv("DOCKER_HOST");
        struct cli_client *c = NULL;
        json_t *j = NULL, *checks, *chk;
        long status = 0;
        size_t i, passed = 0, failed = 0;
        int r, opt;

        if (host && startswith(host, "unix://"))
                docker_socket = host + strlen("unix://");
        optind = 0;
        while ((opt = getopt_long(argc, argv, "qvh", opts, NULL)) >= 0) {
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'D':
                        docker_socket = optarg;
                        break;
                case 'h':
                        health_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("health", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("health", "unexpected argument '%s'", argv[optind]);

        if (cli_client_open(g->socket_path, &c) < 0)
                return cli_error("out of memory");
        r = cli_client_request(c, "GET", "/v1/health", NULL, HEALTH_TIMEOUT, &status, &j);
        if (r < 0 || status != 200 || !json_is_object(j)) {
                /* ds01d is down: that is a failure, and Docker decides 1 or 2 */
                docker_up = docker_reachable(docker_socket);
                json_decref(j);
                j = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}], s:i, s:i, s:b}", "checks",
                              "check", "ds01d", "status", "FAIL", "message",
                              "ds01d does not answer on its control socket; systemctl status ds01d",
                              "check", "docker", "status", docker_up ? "PASS" : "FAIL", "message",
                              docker_up ? "Docker answers" : "Docker cannot be reached either",
                              "passed", docker_up ? 1 : 0, "failed", docker_up ? 1 : 2, "docker_up",
                              docker_up);
        }
        cli_client_free(c);
        if (!j)
                return cli_error("out of memory");
        checks = json_object_get(j, "checks");
        docker_up = json_is_true(json_object_get(j, "docker_up"));
        json_array_foreach(checks, i, chk)
        {
                const char *st = cli_json_str(chk, "status", "");
                passed += streq(st, "PASS");
                failed += streq(st, "FAIL");
        }
        if (json && !quiet)
                cli_print_json(j);
        else if (!quiet) {
                json_array_foreach(checks, i, chk)
                {
                        const char *st = cli_json_str(chk, "status", "");
                        if (streq(st, "INFO") && !verbose)
                                continue;
                        printf("%-4s  %-26s %s\n", st, cli_json_str(chk, "check", ""),
                               cli_json_str(chk, "message", ""));
                }
                printf("Summary: %zu passed, %zu failed\n", passed, failed);
        }
        json_decref(j);
        if (!docker_up)
                return 2;
        return failed ? EXIT_FAIL : EXIT_OK;
}

const struct cli_command cli_cmd_health = {
    .name = "health",
    .summary = "check Docker, the GPUs, the state and the exporter",
    .run = health_run,
    .help = health_help,
};
