/* cmd-help.c - `ds01 help [TOPIC|COMMAND]`: short texts on the topics that
 * span commands (config, limits, gpus, containers, ...), each pointing to the
 * commands, the man pages and the guides, and every command's own help.
 * Without an argument (after the main help, printed by main.c) it lists the
 * topics. An unknown word is a usage error with a "did you mean" from the
 * topics and commands (str_edit_distance). Pure text: no daemon, no files. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/macro.h"
#include "util/strutil.h"

struct help_topic {
        const char *name;
        const char *summary;
        const char *text;
        /* The command of the same name, whose help follows the text; or NULL. */
        const struct cli_command *command;
};

static const struct help_topic topics[] = {
    {"config", "where the configuration lives, how to check and reload it",
     "The configuration is /etc/ds01/resource-limits.yaml with, in the same folder,\n"
     "groups/<group>.members (one user per line), user-overrides.yaml and\n"
     "lifecycle-exemptions.yaml. It says what each group and user may have.\n"
     "\n"
     "  ds01 config check [PATH]      every problem as file:line:column (exit 1: errors)\n"
     "  ds01 limits USER              what one user gets from it\n"
     "  systemctl reload ds01d        make ds01d read it again (SIGHUP)\n"
     "\n"
     "A configuration with errors is never used: ds01d does not start with it, and a\n"
     "reload keeps the previous one (event config.rejected). Check before reloading.\n"
     "\n"
     "More: man 5 ds01-config; every key in docs/CONFIG.md.\n",
     &cli_cmd_config},
    {"limits", "what a user may have, and what each number means",
     "ds01 limits USER shows what USER may have, resolved key by key: built-in\n"
     "defaults, then 'defaults', then the user's group, then the user's override.\n"
     "\n"
     "  GPU-equivalents     GPUs over all your containers; a whole GPU is 1.0, a MIG\n"
     "                      slice its share of the GPU (a 1g slice of an A100: 1/7)\n"
     "  GPU slots           per container\n"
     "  CPUs, memory        per container (docker run --cpus, --memory); asking for\n"
     "                      more gets the limit\n"
     "  containers at once  counted over all your containers\n"
     "  idle timeout        a GPU container idle this long is stopped (after warnings)\n"
     "  max runtime         a container running this long is stopped\n"
     "  aggregate           totals over all your containers (CPU, memory, tasks)\n"
     "\n"
     "'-' or 'unlimited' means no limit. See also 'ds01 help quota', 'ds01 help\n"
     "lifecycle'; docs/USER-GUIDE.md, docs/CONFIG.md.\n",
     &cli_cmd_limits},
    {"gpus", "GPU slots, MIG, and how to ask for GPUs",
     "ds01 hands out GPU slots: \"2\" is the whole GPU 2, \"1.3\" is MIG device 3 of\n"
     "GPU 1. A slot is pinned to one container until the container is removed (or\n"
     "its hold after a stop ends).\n"
     "\n"
     "  ds01 gpu list                 the slots as the driver (NVML) reports them\n"
     "  ds01 gpu status               who holds which slot\n"
     "  ds01 gpu user-status [USER]   what you (or USER) hold\n"
     "  docker run --gpus 1 ...       one slot through the queue and your quota\n"
     "  ds01 container create NAME --gpus 1 [--full] [--wait]\n"
     "\n"
     "--gpus all means all that your quota allows. Several slots in one container\n"
     "are whole GPUs (a program sees one MIG device). A container without --gpus\n"
     "sees no GPU. Inside a container, nvidia-smi -L lists yours.\n"
     "\n"
     "More: 'ds01 help quota', 'ds01 gpu --help'; docs/USER-GUIDE.md (GPUs).\n",
     &cli_cmd_gpu},
    {"containers", "your containers: ds01 container and plain docker",
     "Every Docker command you type goes through ds01d (DOCKER_HOST=\n"
     "unix:///run/ds01/docker.sock, set at login): you see and act on your own\n"
     "containers only, with your limits and your GPUs.\n"
     "\n"
     "  ds01 container deploy NAME --gpus 1   create, start, and open a shell\n"
     "  ds01 container list [--all]           your containers, slots, time left\n"
     "  ds01 container stop|start NAME        the GPU is held for a while after a stop\n"
     "  ds01 container retire NAME            stop, remove, give the GPU back now\n"
     "  docker run / docker compose / VS Code work as usual\n"
     "\n"
     "A container with your folders mounted runs as you; only /workspace (your\n"
     "folder) survives removal. Privileged containers, host namespaces, mounts\n"
     "outside your home and the Docker socket are refused, each with the reason.\n"
     "\n"
     "More: 'ds01 container --help'; docs/USER-GUIDE.md.\n",
     &cli_cmd_container},
    {"lifecycle", "why containers are stopped: idle timeout, max runtime, holds",
     "ds01d checks every container about once a minute. A GPU container whose GPU,\n"
     "CPU and network stay quiet for your idle timeout is stopped, and removed\n"
     "later; one that runs past your max runtime is stopped. Warnings come first,\n"
     "on your terminals and in /workspace/.ds01-alerts. A stopped container keeps\n"
     "its GPU for 'GPU held after stop', then gives it back.\n"
     "\n"
     "  ds01 lifecycle status [NAME]   idle or busy and why, time left before each action\n"
     "  ds01 lifecycle run --dry-run   what the next check would do\n"
     "  ds01 events --user $USER       what happened (maintenance.idle_kill, ...)\n"
     "  touch /workspace/.keep-alive   (inside the container) no idle stop for up to\n"
     "                                 24 h; touch it again to renew\n"
     "\n"
     "More: docs/LIFECYCLE.md; 'ds01 limits $USER' shows your timeouts.\n",
     &cli_cmd_lifecycle},
    {"quota", "GPU quota, container limits, alerts and refusals",
     "Your GPU quota is a number of GPU-equivalents over all your containers\n"
     "(ds01 limits $USER). A request that does not fit next to what you hold is\n"
     "refused at once, with the containers that hold your quota: a quota refusal\n"
     "is final, waiting would not help. 'No GPU free' is different: you may wait\n"
     "in the queue (ds01 help queue).\n"
     "\n"
     "  ds01 gpu user-status       what you hold\n"
     "  ds01 alerts                quota alerts: 80% (high) and 100% (reached) of a\n"
     "                             limit on GPUs, containers or memory\n"
     "  ds01 container retire NAME give a container's GPUs back now\n"
     "\n"
     "More: docs/USER-GUIDE.md (Quota errors: what they mean).\n",
     NULL},
    {"queue", "waiting for a GPU: order, position, leaving the queue",
     "When no GPU slot is free, docker run --gpus (and compose, VS Code) waits in\n"
     "the queue up to gpu_allocation.wait_s (180 s unless your admins changed it);\n"
     "ds01 container create --wait[=TIME] waits as long as you say. Ctrl-C leaves\n"
     "the queue. Order: your group's priority, then who used less GPU time in the\n"
     "last 7 days, then who came first.\n"
     "\n"
     "  ds01 queue                 the queue (your entries with their position)\n"
     "  ds01 queue cancel ID       leave it\n"
     "  ds01 reserve list          slots kept for a user or group in a time window\n",
     &cli_cmd_queue},
    {"access", "GPU processes outside containers and bare-metal grants",
     "GPUs are used from containers. ds01d finds GPU processes started outside\n"
     "containers and reports, warns about or stops them (bare_metal_access.policy)\n"
     "unless their user has a grant or is exempt.\n"
     "\n"
     "  ds01 access status [USER]          whether you may, and the policy\n"
     "  ds01 access grant USER [DURATION]  (admins) allow it, 24 h by default\n"
     "  ds01 access revoke USER            (admins) end a grant\n"
     "  ds01 access list                   the grants in force\n"
     "\n"
     "More: docs/LIFECYCLE.md (GPU processes outside containers).\n",
     &cli_cmd_access},
    {"status", "the state of the server: status, top, health, events",
     "  ds01 status             the whole server on one screen: GPUs and slots with\n"
     "                          holders, users near quota, queue, alerts (--json)\n"
     "  ds01 top                the same, live (q quits)\n"
     "  ds01 gpu status         one line per GPU slot\n"
     "  ds01 health             Docker, GPUs, the database, the proxy: pass or fail\n"
     "  ds01 events [--follow]  what ds01d decided, newest last\n"
     "  ds01 usage --since 30d  GPU-hours allocated and used\n"
     "\n"
     "The web dashboard: http://127.0.0.1:9101/ on the server (ssh -L 9101:127.0.0.1:9101\n"
     "server, then open it on your laptop).\n",
     &cli_cmd_status},
    {"admin", "running ds01: install, service, logs, backups",
     "  systemctl enable --now ds01d    start it (the package does not)\n"
     "  systemctl reload ds01d          read /etc/ds01 again\n"
     "  journalctl -u ds01d             its log; events in /var/log/ds01/events.jsonl\n"
     "  ds01 health                     what is wrong, if anything\n"
     "  ds01 state check                the database against Docker\n"
     "  ds01 events import FILE         an old installation's events.jsonl\n"
     "\n"
     "More: man 8 ds01d; docs/ADMIN-GUIDE.md (install, migrate, back up, uninstall).\n",
     NULL},
};

/* Every command of main.c's table, for 'ds01 help COMMAND' and the
 * suggestions. tests/install/test-help.sh checks that each command 'ds01 --help'
 * lists is here. */
static const struct cli_command *const commands[] = {
    &cli_cmd_limits, &cli_cmd_config, &cli_cmd_gpu,    &cli_cmd_queue,     &cli_cmd_reserve,
    &cli_cmd_events, &cli_cmd_health, &cli_cmd_state,  &cli_cmd_container, &cli_cmd_lifecycle,
    &cli_cmd_alerts, &cli_cmd_access, &cli_cmd_status, &cli_cmd_top,       &cli_cmd_usage,
    &cli_cmd_report, &cli_cmd_slices, &cli_cmd_help,
};

static void help_help(FILE *f)
{
        fputs("usage: ds01 help [TOPIC | COMMAND]\n"
              "       ds01 help --list\n"
              "\n"
              "Without an argument: the commands and the help topics. With a TOPIC: a short\n"
              "text on it, pointing to the commands, man pages and guides (and, when a\n"
              "command has the same name, that command's help after it). With a COMMAND:\n"
              "its help, as 'ds01 COMMAND --help'.\n"
              "\n"
              "Options:\n"
              "      --list     the topics and commands, one name per line (for scripts and\n"
              "                 completion)\n"
              "  -h, --help     show this help\n",
              f);
}

static void list_topics(FILE *f)
{
        fputs("\nHelp topics ('ds01 help TOPIC'):\n", f);
        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                fprintf(f, "  %-11s %s\n", topics[i].name, topics[i].summary);
        fputs("\nManual pages: ds01(1), ds01d(8), ds01-config(5). Guides: docs/USER-GUIDE.md,\n"
              "docs/ADMIN-GUIDE.md (installed under /usr/share/doc/ds01).\n",
              f);
}

static const struct help_topic *find_topic(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                if (streq(topics[i].name, name))
                        return &topics[i];
        return NULL;
}

static const struct cli_command *find_command(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i]->name, name))
                        return commands[i];
        return NULL;
}

/* The topic or command name closest to word, when it is close enough to be a
 * typo (at most 2 edits, fewer for short words); else NULL. Topics win ties. */
static const char *suggest(const char *word)
{
        size_t len = strlen(word), max = len <= 3 ? 1 : 2, best_d = SIZE_MAX;
        const char *best = NULL;

        for (size_t i = 0; i < ELEMENTSOF(topics); i++) {
                size_t d = str_edit_distance(word, topics[i].name);
                if (d < best_d) {
                        best_d = d;
                        best = topics[i].name;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                size_t d = str_edit_distance(word, commands[i]->name);
                if (d < best_d) {
                        best_d = d;
                        best = commands[i]->name;
                }
        }
        return best_d <= max ? best : NULL;
}

static int help_run(int argc, char **argv, const struct cli_global *g)
{
        enum { OPT_LIST = 0x100 };
        static const struct option opts[] = {
            {"list", no_argument, NULL, OPT_LIST},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const struct help_topic *t;
        const struct cli_command *cmd;
        const char *word, *near;
        bool list = false;
        int c;

        (void)g;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_LIST:
                        list = true;
                        break;
                case 'h':
                        help_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("help", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (list) {
                if (optind < argc)
                        return cli_usage_error("help", "--list takes no argument");
                for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                        printf("%s\n", topics[i].name);
                for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                        if (!find_topic(commands[i]->name))
                                printf("%s\n", commands[i]->name);
                return EXIT_OK;
        }
        if (optind >= argc) {
                list_topics(stdout);
                return EXIT_OK;
        }
        if (optind + 1 < argc)
                return cli_usage_error("help", "one topic at a time ('%s' is one too many)",
                                       argv[optind + 1]);

        word = argv[optind];
        t = find_topic(word);
        if (t) {
                fputs(t->text, stdout);
                if (t->command) {
                        fputs("\n----- ds01 ", stdout);
                        fputs(t->command->name, stdout);
                        fputs(" --help -----\n", stdout);
                        t->command->help(stdout);
                }
                return EXIT_OK;
        }
        cmd = find_command(word);
        if (cmd) {
                cmd->help(stdout);
                return EXIT_OK;
        }
        near = suggest(word);
        if (near)
                return cli_usage_error(NULL, "no help topic or command '%s'; did you mean '%s'?",
                                       word, near);
        return cli_usage_error(NULL, "no help topic or command '%s'", word);
}

const struct cli_command cli_cmd_help = {
    .name = "help",
    .summary = "help on a topic or a command (ds01 help TOPIC)",
    .run = help_run,
    .help = help_help,
};
