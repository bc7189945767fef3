/* cmd-limits.c - `ds01 limits USER`: what may this user have?
 *
 * Reads the configuration (no daemon needed) and prints the resolved limits
 * of one user: as a readable block, as JSON, as docker run arguments, or one
 * aspect (group, aggregate, lifecycle policies, exemption). The output of
 * --docker-args, --group, --aggregate and --check-exemption keeps the format
 * of the old get_resource_limits.py so that existing scripts keep working. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "config/resolve.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

enum limits_mode {
        MODE_TEXT,
        MODE_JSON,
        MODE_DOCKER_ARGS,
        MODE_GROUP,
        MODE_AGGREGATE,
        MODE_POLICIES,
        MODE_EXEMPTION,
};

struct limits_args {
        enum limits_mode mode;
        const char *user;
        const char *config;
        const char *exemption_type;
};

static void limits_help(FILE *f)
{
        fputs("usage: ds01 limits USER [--json | --docker-args | --group | --aggregate |\n"
              "                         --lifecycle-policies | --check-exemption TYPE]\n"
              "\n"
              "Show what USER may have, resolved from the configuration: defaults, then the\n"
              "user's group, then the user's override. Works without the daemon.\n"
              "\n"
              "Options:\n"
              "      --json                 all limits as one JSON object (unlimited = null)\n"
              "      --docker-args          the docker run arguments that apply the limits\n"
              "      --group                the user's group\n"
              "      --aggregate            the user's aggregate (slice) limits as JSON, or null\n"
              "      --lifecycle-policies   idle-detection policies as JSON\n"
              "      --check-exemption TYPE whether the user is exempt from TYPE now\n"
              "                             (idle_timeout or max_runtime): prints\n"
              "                             'exempt: <why>' or 'not_exempt'\n"
              "  -c, --config PATH          resource-limits.yaml to read\n"
              "  -h, --help                 show this help\n",
              f);
}

/* Numbers as people write them: 8, 0.5, 2.25 (no trailing zeros). */
static void put_number(FILE *f, double v)
{
        fprintf(f, "%.15g", v);
}

static json_t *json_number(double v)
{
        if (isinf(v))
                return json_null();
        if (v == floor(v) && fabs(v) < 9e15)
                return json_integer((json_int_t)v);
        return json_real(v);
}

static json_t *json_limit(long long v)
{
        return v == LIMIT_UNLIMITED ? json_null() : json_integer(v);
}

static json_t *json_size(const struct size_limit *s)
{
        return s->set ? json_string(s->text) : json_null();
}

static json_t *json_duration(int64_t secs)
{
        char buf[FORMAT_DURATION_MAX];
        if (secs == DURATION_INFINITY)
                return json_null();
        return json_string(format_duration(buf, sizeof(buf), secs));
}

static json_t *json_seconds(int64_t secs)
{
        return secs == DURATION_INFINITY ? json_null() : json_integer(secs);
}

static int print_json(json_t *j)
{
        char *s;

        if (!j)
                return cli_error("out of memory");
        s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        json_decref(j);
        if (!s)
                return cli_error("out of memory");
        puts(s);
        free(s);
        return EXIT_OK;
}

static json_t *aggregate_json(const struct user_aggregate *a)
{
        json_t *j;

        if (!a->present)
                return json_null();
        j = json_object();
        if (a->has_cpu_quota)
                json_object_set_new(j, "cpu_quota",
                                    a->cpu_quota_text ? json_string(a->cpu_quota_text)
                                                      : json_null());
        if (a->has_memory_max)
                json_object_set_new(j, "memory_max",
                                    a->memory_max_text ? json_string(a->memory_max_text)
                                                       : json_null());
        if (a->has_memory_high)
                json_object_set_new(j, "memory_high",
                                    a->memory_high_text ? json_string(a->memory_high_text)
                                                        : json_null());
        if (a->has_tasks_max)
                json_object_set_new(j, "tasks_max", json_limit(a->tasks_max));
        if (a->has_gpu_limit)
                json_object_set_new(j, "gpu_limit", json_number(a->gpu_limit));
        return j;
}

static json_t *policies_json(const struct user_policies *p)
{
        json_t *j = json_object();
        json_object_set_new(j, "gpu_idle_threshold", json_number(p->gpu_idle_threshold));
        json_object_set_new(j, "cpu_idle_threshold", json_real(p->cpu_idle_threshold));
        json_object_set_new(j, "network_idle_threshold", json_integer(p->network_idle_threshold));
        json_object_set_new(j, "idle_detection_window", json_integer(p->idle_detection_window));
        json_object_set_new(j, "sigterm_grace_s", json_integer(p->sigterm_grace));
        return j;
}

static json_t *limits_json(const struct user_limits *l)
{
        json_t *j = json_object();

        /* The keys of the old `get_resource_limits.py --json`, typed. */
        json_object_set_new(j, "group", json_string(l->group));
        json_object_set_new(j, "max_gpus", json_number(l->max_gpu_equivalents));
        json_object_set_new(j, "max_gpus_per_container",
                            json_limit(l->max_gpu_slots_per_container));
        json_object_set_new(j, "max_containers", json_limit(l->max_containers));
        json_object_set_new(j, "cpu_cores", json_number(l->max_cpus));
        json_object_set_new(j, "memory", json_size(&l->memory));
        json_object_set_new(j, "storage_workspace", json_size(&l->storage_workspace));
        json_object_set_new(j, "idle_timeout", json_duration(l->idle_timeout));
        json_object_set_new(j, "gpu_hold", json_duration(l->gpu_hold_after_stop));
        json_object_set_new(j, "container_hold", json_duration(l->container_hold_after_stop));
        json_object_set_new(j, "max_runtime", json_duration(l->max_runtime));
        json_object_set_new(j, "priority", json_integer(l->priority));
        json_object_set_new(j, "allow_full_gpu", json_boolean(l->allow_full_gpu));
        /* More, for scripts that want exact numbers. */
        json_object_set_new(j, "user", json_string(l->user));
        json_object_set_new(j, "sanitized_user", json_string(l->sanitized));
        json_object_set_new(j, "override",
                            l->override_key ? json_string(l->override_key) : json_null());
        json_object_set_new(j, "slice", json_string(l->slice));
        json_object_set_new(j, "memory_swap",
                            l->memory_swap.unlimited ? json_string("-1")
                                                     : json_size(&l->memory_swap));
        json_object_set_new(j, "shm_size", json_size(&l->shm_size));
        json_object_set_new(j, "pids_limit", json_limit(l->pids_limit));
        json_object_set_new(j, "max_tasks", json_limit(l->max_tasks));
        json_object_set_new(j, "storage_tmp", json_size(&l->storage_tmp));
        json_object_set_new(j, "storage_data", json_size(&l->storage_data));
        json_object_set_new(j, "idle_timeout_s", json_seconds(l->idle_timeout));
        json_object_set_new(j, "gpu_hold_s", json_seconds(l->gpu_hold_after_stop));
        json_object_set_new(j, "container_hold_s", json_seconds(l->container_hold_after_stop));
        json_object_set_new(j, "max_runtime_s", json_seconds(l->max_runtime));
        if (l->has_reservation) {
                char a[FORMAT_TIMESTAMP_MAX], b[FORMAT_TIMESTAMP_MAX];
                json_t *slots = json_array();
                for (size_t i = 0; i < l->n_reserved_gpus; i++)
                        json_array_append_new(slots, json_string(l->reserved_gpus[i]));
                json_object_set_new(
                    j, "reservation",
                    json_pack("{s:s, s:s, s:o}", "start",
                              format_timestamp_utc(a, sizeof(a), l->reservation_start), "end",
                              format_timestamp_utc(b, sizeof(b), l->reservation_end), "gpus",
                              slots));
        } else {
                json_object_set_new(j, "reservation", json_null());
        }
        json_object_set_new(j, "aggregate", aggregate_json(&l->aggregate));
        json_object_set_new(j, "lifecycle_policies", policies_json(&l->policies));
        return j;
}

static void print_docker_args(const struct user_limits *l)
{
        printf("--cpus=");
        put_number(stdout, l->max_cpus);
        if (l->memory.set) {
                printf(" --memory=%s", l->memory.text);
                if (l->memory_swap.unlimited)
                        printf(" --memory-swap=-1");
                else if (l->memory_swap.set)
                        printf(" --memory-swap=%s", l->memory_swap.text);
        }
        printf(" --shm-size=%s", l->shm_size.text);
        if (l->pids_limit == LIMIT_UNLIMITED)
                printf(" --pids-limit=-1");
        else
                printf(" --pids-limit=%lld", l->pids_limit);
        if (l->storage_tmp.set)
                printf(" --tmpfs=/tmp:size=%s", l->storage_tmp.text);
        printf(" --cgroup-parent=%s\n", l->slice);
}

static const char *limit_text(char *buf, size_t n, long long v)
{
        if (v == LIMIT_UNLIMITED)
                return "unlimited";
        snprintf(buf, n, "%lld", v);
        return buf;
}

static const char *number_text(char *buf, size_t n, double v)
{
        if (isinf(v))
                return "unlimited";
        snprintf(buf, n, "%.15g", v);
        return buf;
}

static const char *size_text(const struct size_limit *s)
{
        if (s->unlimited)
                return "unlimited";
        return s->set ? s->text : "-";
}

static void print_text(const struct user_limits *l)
{
        char a[64], d[FORMAT_DURATION_MAX];

        printf("Limits of %s", l->user);
        if (!streq(l->sanitized, l->user))
                printf(" (as %s)", l->sanitized);
        printf(", group %s%s%s\n", l->group,
               l->group_source == GROUP_FROM_DEFAULT ? " (in no group: default_group)" : "",
               l->override_key ? ", with a user override" : "");
        if (!l->group_defined)
                printf("  note: group '%s' is not defined; only the defaults apply\n", l->group);

        printf("\n  GPUs\n");
        printf("    GPU-equivalents, all containers  %s\n",
               number_text(a, sizeof(a), l->max_gpu_equivalents));
        printf("    GPU slots per container          %s\n",
               limit_text(a, sizeof(a), l->max_gpu_slots_per_container));
        printf("    full GPUs allowed                %s\n", l->allow_full_gpu ? "yes" : "no");
        printf("    queue priority                   %lld\n", l->priority);
        if (l->has_reservation) {
                char s[FORMAT_TIMESTAMP_MAX], e[FORMAT_TIMESTAMP_MAX];
                printf("    reservation                      ");
                for (size_t i = 0; i < l->n_reserved_gpus; i++)
                        printf("%s%s", i ? "," : "", l->reserved_gpus[i]);
                printf(" from %s to %s\n", format_timestamp_utc(s, sizeof(s), l->reservation_start),
                       format_timestamp_utc(e, sizeof(e), l->reservation_end));
        }

        printf("\n  Containers\n");
        printf("    containers at once               %s\n",
               limit_text(a, sizeof(a), l->max_containers));
        printf("    CPUs per container               %s\n", number_text(a, sizeof(a), l->max_cpus));
        printf("    memory per container             %s\n", size_text(&l->memory));
        printf("    memory + swap                    %s\n", size_text(&l->memory_swap));
        printf("    shared memory (/dev/shm)         %s\n", size_text(&l->shm_size));
        printf("    processes per container          %s\n",
               limit_text(a, sizeof(a), l->pids_limit));
        printf("    /tmp (tmpfs)                     %s\n", size_text(&l->storage_tmp));
        printf("    workspace storage                %s\n", size_text(&l->storage_workspace));

        printf("\n  Lifecycle\n");
        printf("    idle timeout                     %s\n",
               format_duration(d, sizeof(d), l->idle_timeout));
        printf("    max runtime                      %s\n",
               format_duration(d, sizeof(d), l->max_runtime));
        printf("    GPU held after stop              %s\n",
               format_duration(d, sizeof(d), l->gpu_hold_after_stop));
        printf("    stopped container kept           %s\n",
               format_duration(d, sizeof(d), l->container_hold_after_stop));
        printf("    idle when GPU below              %.15g%%\n", l->policies.gpu_idle_threshold);
        printf("    active when CPU above            %.15g%%\n", l->policies.cpu_idle_threshold);
        printf("    active when network above        %lld bytes per check\n",
               l->policies.network_idle_threshold);
        printf("    idle checks before a stop        %lld\n", l->policies.idle_detection_window);
        printf("    SIGTERM grace                    %s\n",
               format_duration(d, sizeof(d), l->policies.sigterm_grace));

        printf("\n  Enforcement\n");
        printf("    systemd slice                    %s\n", l->slice);
        printf("    tasks in the slice               %s\n", limit_text(a, sizeof(a), l->max_tasks));
        if (!l->aggregate.present) {
                printf("    aggregate limits                 none\n");
        } else {
                const struct user_aggregate *g = &l->aggregate;
                if (g->has_cpu_quota)
                        printf("    aggregate CPU quota              %s\n",
                               g->cpu_quota_text ? g->cpu_quota_text : "unlimited");
                if (g->has_memory_max)
                        printf("    aggregate memory max             %s\n",
                               g->memory_max_text ? g->memory_max_text : "unlimited");
                if (g->has_memory_high)
                        printf("    aggregate memory high            %s\n",
                               g->memory_high_text ? g->memory_high_text : "unlimited");
                if (g->has_tasks_max)
                        printf("    aggregate tasks                  %s\n",
                               limit_text(a, sizeof(a), g->tasks_max));
                if (g->has_gpu_limit)
                        printf("    aggregate GPU-equivalents        %s\n",
                               number_text(a, sizeof(a), g->gpu_limit));
        }
}

static int print_exemption(const struct config *c, const char *user, const char *type_name)
{
        unsigned type = exempt_type_from_name(type_name);
        const struct config_exemption *e;

        if (!type)
                return cli_usage_error("limits",
                                       "unknown enforcement '%s' for --check-exemption (use "
                                       "idle_timeout or max_runtime)",
                                       type_name);
        e = config_find_exemption(c, user, type, now_epoch());
        if (!e) {
                puts("not_exempt");
                return EXIT_OK;
        }
        if (e->permanent)
                printf("exempt: Permanent exemption: %s\n",
                       e->reason ? e->reason : "No reason provided");
        else
                printf("exempt: Temporary exemption until %s: %s\n", e->expires_text,
                       e->reason ? e->reason : "No reason provided");
        return EXIT_OK;
}

static int parse_args(int argc, char **argv, struct limits_args *a)
{
        enum {
                OPT_DOCKER_ARGS = 0x100,
                OPT_GROUP,
                OPT_AGGREGATE,
                OPT_POLICIES,
                OPT_EXEMPTION,
                OPT_JSON,
        };
        static const struct option options[] = {
            {"json", no_argument, NULL, OPT_JSON},
            {"docker-args", no_argument, NULL, OPT_DOCKER_ARGS},
            {"group", no_argument, NULL, OPT_GROUP},
            {"aggregate", no_argument, NULL, OPT_AGGREGATE},
            {"lifecycle-policies", no_argument, NULL, OPT_POLICIES},
            {"check-exemption", required_argument, NULL, OPT_EXEMPTION},
            {"config", required_argument, NULL, 'c'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int opt, modes = 0;

        while ((opt = getopt_long(argc, argv, ":c:h", options, NULL)) != -1) {
                switch (opt) {
                case OPT_JSON:
                        a->mode = MODE_JSON;
                        modes++;
                        break;
                case OPT_DOCKER_ARGS:
                        a->mode = MODE_DOCKER_ARGS;
                        modes++;
                        break;
                case OPT_GROUP:
                        a->mode = MODE_GROUP;
                        modes++;
                        break;
                case OPT_AGGREGATE:
                        a->mode = MODE_AGGREGATE;
                        modes++;
                        break;
                case OPT_POLICIES:
                        a->mode = MODE_POLICIES;
                        modes++;
                        break;
                case OPT_EXEMPTION:
                        a->mode = MODE_EXEMPTION;
                        a->exemption_type = optarg;
                        modes++;
                        break;
                case 'c':
                        a->config = optarg;
                        break;
                case 'h':
                        limits_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("limits", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("limits", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (modes > 1)
                return cli_usage_error("limits", "choose one of --json, --docker-args, --group, "
                                                 "--aggregate, --lifecycle-policies, "
                                                 "--check-exemption");
        if (optind >= argc)
                return cli_usage_error("limits", "which user? give a user name");
        if (optind + 1 < argc)
                return cli_usage_error("limits", "unexpected argument '%s'", argv[optind + 1]);
        a->user = argv[optind];
        return 0;
}

static int limits_run(int argc, char **argv, const struct cli_global *g)
{
        struct limits_args a = {0};
        _cleanup_(config_freep) struct config *c = NULL;
        struct user_limits l;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_load_config(g, a.config, &c);
        if (r != 0)
                return r;

        if (a.mode == MODE_EXEMPTION)
                return print_exemption(c, a.user, a.exemption_type);

        r = config_resolve_user(c, a.user, &l);
        if (r == -EINVAL)
                return cli_error("'%s' is not a usable user name (nothing is left of it after "
                                 "removing characters that slice names cannot hold)",
                                 a.user);
        if (r < 0)
                return cli_error("cannot resolve the limits of '%s': %s", a.user, strerror(-r));

        switch (a.mode) {
        case MODE_TEXT:
                print_text(&l);
                break;
        case MODE_JSON:
                r = print_json(limits_json(&l));
                break;
        case MODE_DOCKER_ARGS:
                print_docker_args(&l);
                break;
        case MODE_GROUP:
                puts(l.group);
                break;
        case MODE_AGGREGATE:
                r = print_json(aggregate_json(&l.aggregate));
                break;
        case MODE_POLICIES:
                r = print_json(policies_json(&l.policies));
                break;
        case MODE_EXEMPTION:
                break;
        }
        user_limits_release(&l);
        return r;
}

const struct cli_command cli_cmd_limits = {
    .name = "limits",
    .summary = "show what a user may have (GPUs, CPUs, memory, timeouts)",
    .run = limits_run,
    .help = limits_help,
};
