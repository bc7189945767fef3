/* cli.h - the ds01 command-line tool: the table of commands and what every
 * command shares (global options, exit codes, error printing). One file per
 * command group: cmd-<group>.c. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util/macro.h"

/* Exit codes (docs/CODING_STYLE.md): 0 ok, 1 failure, 2 usage error. */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

struct cli_global {
        const char *config_path; /* --config, else NULL: $DS01_CONFIG or the default */
        const char *socket_path; /* --socket, else NULL: $DS01_SOCKET or the default */
};

struct cli_command {
        const char *name;
        const char *summary;
        /* argv[0] is the command name; returns an exit code. */
        int (*run)(int argc, char **argv, const struct cli_global *g);
        void (*help)(FILE *f);
};

extern const struct cli_command cli_cmd_limits;
extern const struct cli_command cli_cmd_config;
extern const struct cli_command cli_cmd_gpu;
extern const struct cli_command cli_cmd_health;
extern const struct cli_command cli_cmd_state;
extern const struct cli_command cli_cmd_queue;
extern const struct cli_command cli_cmd_reserve;
extern const struct cli_command cli_cmd_events;
extern const struct cli_command cli_cmd_container;
extern const struct cli_command cli_cmd_lifecycle;
extern const struct cli_command cli_cmd_alerts;
extern const struct cli_command cli_cmd_access;
extern const struct cli_command cli_cmd_status;
extern const struct cli_command cli_cmd_top;
extern const struct cli_command cli_cmd_usage;
extern const struct cli_command cli_cmd_report;
extern const struct cli_command cli_cmd_slices;
extern const struct cli_command cli_cmd_help;

/* "ds01: <message>" on stderr; returns EXIT_FAIL. */
int cli_error(const char *fmt, ...) _printf_(1, 2);
/* "ds01: <message>" on stderr, plus a hint to the command's --help; returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) _printf_(2, 3);

struct config;
/* Loads the configuration for a command: path (a command's own argument), else
 * g->config_path, else the default. Problems are printed to stderr; returns 0
 * with *ret set, or EXIT_FAIL when the configuration cannot be used. */
int cli_load_config(const struct cli_global *g, const char *path, struct config **ret);
