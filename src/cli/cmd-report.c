/* cmd-report.c - `ds01 report` (stub; issue 8). */
#include <stdio.h>

#include "cli/cli.h"

static void report_help(FILE *f)
{
        fputs("usage: ds01 report\n", f);
}

static int report_run(int argc, char **argv, const struct cli_global *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        return cli_error("report: not built yet");
}

const struct cli_command cli_cmd_report = {
    .name = "report",
    .summary = "monthly reports",
    .run = report_run,
    .help = report_help,
};
