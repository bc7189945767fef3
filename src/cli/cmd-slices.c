/* cmd-slices.c - `ds01 slices` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void slices_help(FILE *f)
{
        fputs("usage: ds01 slices\n", f);
}

static int slices_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("slices: not built yet");
}

const struct cli_command cli_cmd_slices = {
    .name = "slices",
    .summary = "per-user aggregate limits as cgroups",
    .run = slices_run,
    .help = slices_help,
};
