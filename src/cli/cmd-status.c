/* cmd-status.c - `ds01 status` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void status_help(FILE *f)
{
        fputs("usage: ds01 status\n", f);
}

static int status_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("status: not built yet");
}

const struct cli_command cli_cmd_status = {
    .name = "status",
    .summary = "the whole server on one screen",
    .run = status_run,
    .help = status_help,
};
