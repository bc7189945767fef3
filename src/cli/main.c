/* main.c - entry point of the ds01 command: global options, the table of
 * commands, help and version. Each command lives in cmd-<name>.c. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "config/config.h"
#include "util/log.h"
#include "util/strutil.h"

static const struct cli_command *const commands[] = {
    &cli_cmd_limits, &cli_cmd_config, &cli_cmd_gpu,    &cli_cmd_queue,     &cli_cmd_reserve,
    &cli_cmd_events, &cli_cmd_health, &cli_cmd_state,  &cli_cmd_container, &cli_cmd_lifecycle,
    &cli_cmd_alerts, &cli_cmd_access, &cli_cmd_status, &cli_cmd_top,       &cli_cmd_usage,
    &cli_cmd_report, &cli_cmd_slices, &cli_cmd_help,
};

int cli_error(const char *fmt, ...)
{
        va_list ap;

        fputs("ds01: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_FAIL;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
        va_list ap;

        fputs("ds01: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (command)
                fprintf(stderr, " (see 'ds01 %s --help')\n", command);
        else
                fputs(" (see 'ds01 help')\n", stderr);
        return EXIT_USAGE;
}

int cli_load_config(const struct cli_global *g, const char *path, struct config **ret)
{
        struct config *c = NULL;
        int r;

        r = config_load(path ? path : g->config_path, &c);
        if (r == -ENOMEM)
                return cli_error("out of memory");
        if (c && c->n_errors > 0) {
                for (size_t i = 0; i < c->n_diags; i++) {
                        char *line;
                        if (c->diags[i].severity != CFG_ERROR)
                                continue;
                        line = cfg_diag_format(&c->diags[i]);
                        if (line)
                                fprintf(stderr, "%s\n", line);
                        free(line);
                }
                cli_error("the configuration has %zu error%s; run 'ds01 config check %s'",
                          c->n_errors, c->n_errors == 1 ? "" : "s", c->path);
                config_free(c);
                return EXIT_FAIL;
        }
        if (r < 0 || !c) {
                config_free(c);
                return cli_error("cannot read the configuration: %s", strerror(-r));
        }
        *ret = c;
        return 0;
}

static const struct cli_command *find_command(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i]->name, name))
                        return commands[i];
        return NULL;
}

static void main_help(FILE *f)
{
        fputs("usage: ds01 [--config PATH] [--socket PATH] COMMAND [ARGS...]\n"
              "\n"
              "ds01 manages the GPUs of a shared server: who gets which GPU or MIG slice,\n"
              "quotas per user and group, and the one door to Docker.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
        fputs("\n"
              "Options:\n"
              "  -c, --config PATH  resource-limits.yaml to read (default: $DS01_CONFIG, else\n"
              "                     " CONFIG_DEFAULT_PATH ")\n"
              "      --socket PATH  ds01d's control socket (default: $DS01_SOCKET, else\n"
              "                     " CLI_CLIENT_DEFAULT_SOCKET ")\n"
              "  -h, --help         show this help\n"
              "      --version      show the version\n"
              "\n"
              "Run 'ds01 COMMAND --help' for the options of a command.\n",
              f);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
            {"config", required_argument, NULL, 'c'},
            {"socket", required_argument, NULL, 'S'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {0},
        };
        struct cli_global g = {0};
        const struct cli_command *cmd;
        int opt, first;

        (void)log_setup("ds01");

        /* '+': stop at the first non-option, which is the command. */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+:c:h", options, NULL)) != -1) {
                switch (opt) {
                case 'c':
                        g.config_path = optarg;
                        break;
                case 'S':
                        g.socket_path = optarg;
                        break;
                case 'h':
                        main_help(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("ds01 %s\n", DS01_VERSION);
                        return EXIT_OK;
                case ':':
                        return cli_usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
                default:
                        return cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc) {
                main_help(stderr);
                return EXIT_USAGE;
        }

        /* 'ds01 help' alone: this help, then the topics; the rest of
         * 'ds01 help [TOPIC|COMMAND]' is cmd-help.c, dispatched below. */
        if (streq(argv[optind], "help") && optind + 1 >= argc)
                main_help(stdout);
        if (streq(argv[optind], "version")) {
                printf("ds01 %s\n", DS01_VERSION);
                return EXIT_OK;
        }

        first = optind;
        cmd = find_command(argv[first]);
        if (!cmd)
                return cli_usage_error(NULL, "unknown command '%s'", argv[first]);
        /* Commands parse their own options from a fresh getopt state. */
        optind = 0;
        opterr = 0;
        return cmd->run(argc - first, argv + first, &g);
}
