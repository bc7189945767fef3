/* cmd-config.c - `ds01 config check [PATH]`: load the whole configuration and
 * report every problem with file:line:column.
 *
 * Exit 0 when the configuration has no errors (warnings and notes are
 * printed but do not fail), 1 when it has errors, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "util/strutil.h"

static void config_help(FILE *f)
{
        fputs("usage: ds01 config check [PATH] [--json] [--quiet]\n"
              "\n"
              "Load resource-limits.yaml (PATH, else --config, $DS01_CONFIG or the default)\n"
              "with groups/*.members, user-overrides.yaml and lifecycle-exemptions.yaml from\n"
              "its folder, and report every problem as file:line:column: severity: message.\n"
              "Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage error.\n"
              "\n"
              "Options:\n"
              "      --json     the problems as a JSON object\n"
              "  -q, --quiet    print errors only\n"
              "  -h, --help     show this help\n",
              f);
}

static const char *severity_name(enum cfg_severity s)
{
        switch (s) {
        case CFG_NOTE:
                return "note";
        case CFG_WARNING:
                return "warning";
        default:
                return "error";
        }
}

static size_t count_members(const struct config *c)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n_groups; i++)
                n += c->groups[i].n_members;
        return n;
}

static int check_json(const struct config *c)
{
        json_t *j = json_object(), *list = json_array();
        char *s;

        for (size_t i = 0; i < c->n_diags; i++) {
                const struct cfg_diag *d = &c->diags[i];
                json_array_append_new(
                    list,
                    json_pack("{s:s, s:i, s:i, s:s, s:s}", "file", d->src.file ? d->src.file : "",
                              "line", (int)d->src.line, "column", (int)d->src.column, "severity",
                              severity_name(d->severity), "message", d->message));
        }
        json_object_set_new(j, "path", json_string(c->path));
        json_object_set_new(j, "ok", json_boolean(c->n_errors == 0));
        json_object_set_new(j, "errors", json_integer((json_int_t)c->n_errors));
        json_object_set_new(j, "warnings", json_integer((json_int_t)c->n_warnings));
        json_object_set_new(j, "groups", json_integer((json_int_t)c->n_groups));
        json_object_set_new(j, "members", json_integer((json_int_t)count_members(c)));
        json_object_set_new(j, "overrides", json_integer((json_int_t)c->n_overrides));
        json_object_set_new(j, "exemptions", json_integer((json_int_t)c->n_exemptions));
        json_object_set_new(j, "problems", list);
        s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_INDENT(2));
        json_decref(j);
        if (!s)
                return cli_error("out of memory");
        puts(s);
        free(s);
        return c->n_errors > 0 ? EXIT_FAIL : EXIT_OK;
}

static int config_check(int argc, char **argv, const struct cli_global *g)
{
        static const struct option options[] = {
            {"json", no_argument, NULL, 'j'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        _cleanup_(config_freep) struct config *c = NULL;
        const char *path = NULL;
        bool json = false, quiet = false;
        int opt, r;

        while ((opt = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
                switch (opt) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        config_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("config", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                path = argv[optind++];
        if (optind < argc)
                return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
        if (!path)
                path = g->config_path;

        r = config_load(path, &c);
        if (r == -ENOMEM || !c)
                return cli_error("out of memory");
        if (json)
                return check_json(c);

        for (size_t i = 0; i < c->n_diags; i++) {
                char *line;
                if (quiet && c->diags[i].severity != CFG_ERROR)
                        continue;
                line = cfg_diag_format(&c->diags[i]);
                if (line)
                        puts(line);
                free(line);
        }
        if (c->n_errors > 0) {
                printf("%s: %zu error%s, %zu warning%s\n", c->path, c->n_errors,
                       c->n_errors == 1 ? "" : "s", c->n_warnings, c->n_warnings == 1 ? "" : "s");
                return EXIT_FAIL;
        }
        if (!quiet)
                printf("%s: ok (%zu groups, %zu members, %zu overrides, %zu exemptions), "
                       "%zu warning%s\n",
                       c->path, c->n_groups, count_members(c), c->n_overrides, c->n_exemptions,
                       c->n_warnings, c->n_warnings == 1 ? "" : "s");
        return EXIT_OK;
}

static int config_run(int argc, char **argv, const struct cli_global *g)
{
        if (argc < 2)
                return cli_usage_error("config", "which action? (check)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                config_help(stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "check"))
                return config_check(argc - 1, argv + 1, g);
        return cli_usage_error("config", "unknown action '%s'", argv[1]);
}

const struct cli_command cli_cmd_config = {
    .name = "config",
    .summary = "check the configuration files",
    .run = config_run,
    .help = config_help,
};
