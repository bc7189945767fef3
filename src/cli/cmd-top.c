/* cmd-top.c - `ds01 top` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void top_help(FILE *f)
{
        fputs("usage: ds01 top\n", f);
}

static int top_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("top: not built yet");
}

const struct cli_command cli_cmd_top = {
    .name = "top",
    .summary = "a live view of the server",
    .run = top_run,
    .help = top_help,
};
