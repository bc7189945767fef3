/* cmd-help.c - `ds01 help` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void help_help(FILE *f)
{
        fputs("usage: ds01 help\n", f);
}

static int help_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("help: not built yet");
}

const struct cli_command cli_cmd_help = {
    .name = "help",
    .summary = "help on a topic",
    .run = help_run,
    .help = help_help,
};
