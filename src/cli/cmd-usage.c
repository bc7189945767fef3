/* cmd-usage.c - `ds01 usage` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void usage_help(FILE *f)
{
        fputs("usage: ds01 usage\n", f);
}

static int usage_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("usage: not built yet");
}

const struct cli_command cli_cmd_usage = {
    .name = "usage",
    .summary = "GPU-hours per user, group or slot",
    .run = usage_run,
    .help = usage_help,
};
