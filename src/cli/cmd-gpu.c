/* SPDX-License-Identifier: MIT */
/*
 * cmd-gpu.c - `ds01 gpu`: the GPUs and who holds them.
 *
 * `gpu list [--json]`: every slot the GPUs offer, grouped under its physical
 * GPU, read straight from NVML (no daemon needed). Without NVML it says why and
 * reports 0 GPUs, exit 0: a CPU-only server is valid.
 *
 * `gpu status`, `gpu allocate`, `gpu release` and `gpu user-status` ask ds01d
 * through the control API (docs/API.md): the allocation state of every slot,
 * an allocation for a container (admins; what other tools call), its release,
 * and one user's slots against their quota.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "gpu/gpu.h"
#include "util/strutil.h"
#include "util/units.h"

/* Wait between the two rounds a one-shot listing takes when some MIG slot can
 * only be measured as a difference of GPM samples (Hopper and later). */
#define GPM_WINDOW_MS 100

static void gpu_list_help(FILE *f)
{
        fputs("usage: ds01 gpu list [--json]\n"
              "\n"
              "List every GPU slot NVML reports: a full GPU (\"N\") when MIG is off, each MIG\n"
              "device (\"N.D\", numbered as nvidia-smi -L does) when it is on. For each slot:\n"
              "UUID, kind, MIG profile, weight in GPU-equivalents, memory used/total,\n"
              "utilization (n/a where the driver cannot measure it), temperature, power,\n"
              "processes and health. Works without the daemon. The library is\n"
              "libnvidia-ml.so.1, or the file named in $DS01_NVML_LIBRARY.\n"
              "\n"
              "Options:\n"
              "      --json     the same as a JSON object\n"
              "  -h, --help     show this help\n",
              f);
}

static void gpu_status_help(FILE *f)
{
        fputs("usage: ds01 gpu status [--json]\n"
              "\n"
              "Ask ds01d who holds which GPU slot: the share of slots allocated, then one\n"
              "line per slot with its state (free, pending, active, held, unhealthy), user,\n"
              "container, since when (UTC) and weight in GPU-equivalents; then the free\n"
              "slots and the length of the queue. Every user may run it.\n"
              "\n"
              "Options:\n"
              "      --json     the daemon's answer (GET /v1/status)\n"
              "  -h, --help     show this help\n",
              f);
}

static void gpu_allocate_help(FILE *f)
{
        fputs("usage: ds01 gpu allocate USER CONTAINER [--count N|all] [--full]\n"
              "                         [--wait[=SECONDS]] [--interface NAME] [--json]\n"
              "\n"
              "Allocate GPU slots to CONTAINER of USER (admins only: this is what the\n"
              "container tools call). Prints one line per slot, or why ds01d refused\n"
              "(exit 1). Asking again for the same container answers the same slots.\n"
              "\n"
              "Options:\n"
              "      --count N|all      slots to allocate (default 1); all = as many as the\n"
              "                         user's quota and per-container cap allow\n"
              "      --full             full GPUs only (no MIG slices)\n"
              "      --wait[=SECONDS]   when nothing is free, wait in the queue (default\n"
              "                         3600 s; also 30m, 2h); Ctrl-C leaves the queue\n"
              "      --interface NAME   the interface that asks (orchestration, api, ...)\n"
              "      --json             the daemon's answer; on a refusal the error object\n"
              "                         with its code (USER_AT_LIMIT, NO_CAPACITY, ...)\n"
              "  -h, --help             show this help\n",
              f);
}

static void gpu_release_help(FILE *f)
{
        fputs("usage: ds01 gpu release CONTAINER [--json]\n"
              "\n"
              "Release every GPU slot CONTAINER holds. Its owner or an admin.\n"
              "\n"
              "Options:\n"
              "      --json     the daemon's answer\n"
              "  -h, --help     show this help\n",
              f);
}

static void gpu_user_status_help(FILE *f)
{
        fputs("usage: ds01 gpu user-status [USER] [--json]\n"
              "\n"
              "Show USER's GPU slots (default: you), the GPU-equivalents they use of their\n"
              "quota, their containers of the limit, and their queue entries. Only admins\n"
              "may ask about another user.\n"
              "\n"
              "Options:\n"
              "      --json     the daemon's answer\n"
              "  -h, --help     show this help\n",
              f);
}

static void gpu_help(FILE *f)
{
        gpu_list_help(f);
        fputs("\n", f);
        gpu_status_help(f);
        fputs("\n", f);
        gpu_allocate_help(f);
        fputs("\n", f);
        gpu_release_help(f);
        fputs("\n", f);
        gpu_user_status_help(f);
}

static const char *mig_mode_name(enum gpu_mig_mode m)
{
        switch (m) {
        case GPU_MIG_ENABLED:
                return "on";
        case GPU_MIG_DISABLED:
                return "off";
        default:
                return "unsupported";
        }
}

static bool needs_gpm_window(const struct gpu_topology *t)
{
        for (size_t i = 0; i < t->n_gpus; i++)
                if (t->gpus[i].healthy && t->gpus[i].gpm_supported && t->gpus[i].n_mig > 0)
                        return true;
        return false;
}

static const char *util_source_name(enum gpu_util_source s)
{
        switch (s) {
        case GPU_UTIL_NVML:
                return "nvml";
        case GPU_UTIL_GPM:
                return "gpm";
        default:
                return "not_measurable";
        }
}

static const char *health_of(const struct gpu_reading *gr)
{
        return gr->healthy ? "ok" : "lost";
}

static json_t *json_uint_if(unsigned has, unsigned flag, json_int_t v)
{
        return has & flag ? json_integer(v) : json_null();
}

static json_t *process_json(const struct gpu_process *p)
{
        const char *type = p->type == (GPU_PROC_COMPUTE | GPU_PROC_GRAPHICS) ? "compute+graphics"
                           : p->type & GPU_PROC_GRAPHICS                     ? "graphics"
                                                                             : "compute";
        return json_pack("{s:I, s:o, s:s}", "pid", (json_int_t)p->pid, "used_memory_bytes",
                         p->used_memory == GPU_MEMORY_UNKNOWN
                             ? json_null()
                             : json_integer((json_int_t)p->used_memory),
                         "type", type);
}

static json_t *slot_json(const struct gpu_topology *t, const struct gpu_sample *s, size_t k)
{
        const struct gpu_slot *sl = &t->slots[k];
        const struct gpu_device *g = &t->gpus[sl->gpu];
        const struct gpu_slot_reading *sr = &s->slots[k];
        const struct gpu_reading *gr = &s->gpus[sl->gpu];
        const struct gpu_mig_device *m = sl->mig >= 0 ? &g->mig[sl->mig] : NULL;
        json_t *procs = json_array(), *o;

        for (size_t p = sr->first_proc; p < sr->first_proc + sr->n_procs; p++)
                json_array_append_new(procs, process_json(&s->procs[p]));
        o = json_pack(
            "{s:s, s:s, s:s, s:o, s:f, s:o, s:o, s:o, s:s, s:o, s:s}", "slot", sl->name, "uuid",
            sl->uuid, "kind", sl->kind == GPU_SLOT_MIG ? "mig" : "full", "profile",
            m ? json_string(m->profile) : json_null(), "gpu_equivalents", sl->weight,
            "memory_used_bytes", json_uint_if(sr->has, GPU_HAS_MEMORY, (json_int_t)sr->memory_used),
            "memory_total_bytes",
            json_uint_if(sr->has, GPU_HAS_MEMORY, (json_int_t)sr->memory_total),
            "utilization_percent", sr->has & GPU_HAS_UTIL_GPU ? json_real(sr->util) : json_null(),
            "utilization_source", util_source_name(sr->util_source), "processes", procs, "health",
            health_of(gr));
        if (m) {
                json_object_set_new(o, "mig_index", json_integer(m->index));
                json_object_set_new(o, "gpu_instance_id", json_integer(m->gpu_instance_id));
                json_object_set_new(o, "compute_instance_id", json_integer(m->compute_instance_id));
                json_object_set_new(o, "compute_slices", json_integer(m->compute_slices));
                json_object_set_new(o, "gpu_instance_slices", json_integer(m->gpu_instance_slices));
        }
        return o;
}

static json_t *gpu_json(const struct gpu_topology *t, const struct gpu_sample *s, size_t i)
{
        const struct gpu_device *g = &t->gpus[i];
        const struct gpu_reading *gr = &s->gpus[i];
        json_t *slots = json_array(), *o;
        unsigned h = gr->has;

        for (size_t k = 0; k < t->n_slots; k++)
                if (t->slots[k].gpu == i)
                        json_array_append_new(slots, slot_json(t, s, k));
        o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:{s:s, s:s, s:b, s:I}, s:b, s:o}", "index",
                      (json_int_t)g->index, "uuid", g->uuid, "name", g->name, "pci_bus_id",
                      g->pci_bus_id, "memory_total_bytes", (json_int_t)g->memory_total, "mig",
                      "current", mig_mode_name(g->mig_current), "pending",
                      mig_mode_name(g->mig_pending), "pending_change",
                      g->mig_current != g->mig_pending, "total_slices", (json_int_t)g->total_slices,
                      "healthy", gr->healthy, "reason",
                      gr->healthy ? json_null() : json_string(gr->reason));
        json_object_set_new(o, "utilization_gpu_percent",
                            json_uint_if(h, GPU_HAS_UTIL_GPU, gr->util_gpu));
        json_object_set_new(o, "utilization_memory_percent",
                            json_uint_if(h, GPU_HAS_UTIL_MEM, gr->util_mem));
        json_object_set_new(o, "memory_used_bytes",
                            json_uint_if(h, GPU_HAS_MEMORY, (json_int_t)gr->memory_used));
        json_object_set_new(o, "temperature_c",
                            json_uint_if(h, GPU_HAS_TEMPERATURE, gr->temperature_c));
        json_object_set_new(o, "power_watts",
                            h & GPU_HAS_POWER ? json_real(gr->power_mw / 1000.0) : json_null());
        json_object_set_new(o, "power_limit_watts",
                            h & GPU_HAS_POWER_LIMIT ? json_real(gr->power_limit_mw / 1000.0)
                                                    : json_null());
        json_object_set_new(o, "energy_joules",
                            h & GPU_HAS_ENERGY ? json_real(gr->energy_mj / 1000.0) : json_null());
        json_object_set_new(o, "clock_sm_mhz", json_uint_if(h, GPU_HAS_CLOCK_SM, gr->clock_sm_mhz));
        json_object_set_new(o, "clock_memory_mhz",
                            json_uint_if(h, GPU_HAS_CLOCK_MEM, gr->clock_mem_mhz));
        json_object_set_new(o, "ecc_volatile_sbe",
                            json_uint_if(h, GPU_HAS_ECC, (json_int_t)gr->ecc_sbe_volatile));
        json_object_set_new(o, "ecc_volatile_dbe",
                            json_uint_if(h, GPU_HAS_ECC, (json_int_t)gr->ecc_dbe_volatile));
        json_object_set_new(o, "pcie_tx_kbytes_per_second",
                            json_uint_if(h, GPU_HAS_PCIE, gr->pcie_tx_kbs));
        json_object_set_new(o, "pcie_rx_kbytes_per_second",
                            json_uint_if(h, GPU_HAS_PCIE, gr->pcie_rx_kbs));
        json_object_set_new(o, "xid_errors", json_integer((json_int_t)gr->xid_total));
        json_object_set_new(o, "slots", slots);
        return o;
}

static int list_json(const struct gpu_topology *t, const struct gpu_sample *s)
{
        json_t *gpus = json_array(), *j;
        size_t healthy = 0;
        char *out;

        for (size_t i = 0; i < t->n_gpus; i++) {
                json_array_append_new(gpus, gpu_json(t, s, i));
                healthy += s->gpus[i].healthy;
        }
        j = json_pack("{s:{s:b, s:o, s:s, s:s, s:I}, s:o, s:{s:I, s:I, s:I, s:f}}", "nvml",
                      "available", t->available, "reason",
                      t->available ? json_null() : json_string(t->reason), "driver_version",
                      t->driver_version, "nvml_version", t->nvml_version, "cuda_driver_version",
                      (json_int_t)t->cuda_driver_version, "gpus", gpus, "totals", "gpus",
                      (json_int_t)t->n_gpus, "healthy_gpus", (json_int_t)healthy, "slots",
                      (json_int_t)t->n_slots, "gpu_equivalents", t->total_weight);
        if (!j)
                return cli_error("out of memory");
        out = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(j);
        if (!out)
                return cli_error("out of memory");
        puts(out);
        free(out);
        return EXIT_OK;
}

static void print_slot(const struct gpu_topology *t, const struct gpu_sample *s, size_t k)
{
        const struct gpu_slot *sl = &t->slots[k];
        const struct gpu_device *g = &t->gpus[sl->gpu];
        const struct gpu_slot_reading *sr = &s->slots[k];
        const struct gpu_reading *gr = &s->gpus[sl->gpu];
        char used[FORMAT_SIZE_MAX], total[FORMAT_SIZE_MAX], mem[2 * FORMAT_SIZE_MAX + 2];
        char util[16] = "n/a", temp[16] = "-", power[16] = "-";

        if (sr->has & GPU_HAS_MEMORY)
                snprintf(mem, sizeof(mem), "%s/%s",
                         format_size(used, sizeof(used), sr->memory_used),
                         format_size(total, sizeof(total), sr->memory_total));
        else
                snprintf(mem, sizeof(mem), "-");
        if (sr->has & GPU_HAS_UTIL_GPU)
                snprintf(util, sizeof(util), "%.0f%%", sr->util);
        if (gr->has & GPU_HAS_TEMPERATURE)
                snprintf(temp, sizeof(temp), "%uC", gr->temperature_c);
        if (gr->has & GPU_HAS_POWER)
                snprintf(power, sizeof(power), "%.0fW", gr->power_mw / 1000.0);
        printf("  %-6s %-4s %-11s %6.3f %-13s %5s %5s %6s %5zu %-6s %s\n", sl->name,
               sl->kind == GPU_SLOT_MIG ? "mig" : "full",
               sl->mig >= 0 ? g->mig[sl->mig].profile : "-", sl->weight, mem, util, temp, power,
               sr->n_procs, health_of(gr), sl->uuid);
}

static int list_text(const struct gpu_topology *t, const struct gpu_sample *s)
{
        size_t healthy = 0;

        if (!t->available) {
                printf("%s\n0 GPUs\n", t->reason);
                return EXIT_OK;
        }
        printf("NVML %s, driver %s", t->nvml_version[0] ? t->nvml_version : "?",
               t->driver_version[0] ? t->driver_version : "?");
        if (t->cuda_driver_version > 0)
                printf(", CUDA %d.%d", t->cuda_driver_version / 1000,
                       (t->cuda_driver_version % 1000) / 10);
        fputs("\n", stdout);
        for (size_t i = 0; i < t->n_gpus; i++) {
                const struct gpu_device *g = &t->gpus[i];
                const struct gpu_reading *gr = &s->gpus[i];
                bool any = false;

                healthy += gr->healthy;
                printf("\nGPU %u  %s  %s  MIG %s", g->index, g->name[0] ? g->name : "(unknown)",
                       g->pci_bus_id[0] ? g->pci_bus_id : "-", mig_mode_name(g->mig_current));
                if (g->mig_pending != g->mig_current)
                        printf(" (pending %s: takes effect after a GPU reset)",
                               mig_mode_name(g->mig_pending));
                if (gr->xid_total > 0)
                        printf("  %llu XID error%s (last %llu)", (unsigned long long)gr->xid_total,
                               gr->xid_total == 1 ? "" : "s", gr->last_xid);
                if (!gr->healthy)
                        printf("\n  unhealthy: %s", gr->reason);
                fputs("\n", stdout);
                for (size_t k = 0; k < t->n_slots; k++) {
                        if (t->slots[k].gpu != i)
                                continue;
                        if (!any)
                                printf("  %-6s %-4s %-11s %6s %-13s %5s %5s %6s %5s %-6s %s\n",
                                       "SLOT", "KIND", "PROFILE", "GPU-EQ", "MEMORY", "UTIL",
                                       "TEMP", "POWER", "PROCS", "HEALTH", "UUID");
                        any = true;
                        print_slot(t, s, k);
                }
                if (!any && gr->healthy)
                        printf("  no slots (MIG is on but no MIG devices are configured)\n");
        }
        printf("\n%zu slot%s, %.3f GPU-equivalents on %zu GPU%s", t->n_slots,
               t->n_slots == 1 ? "" : "s", t->total_weight, t->n_gpus, t->n_gpus == 1 ? "" : "s");
        if (healthy != t->n_gpus)
                printf(" (%zu unhealthy)", t->n_gpus - healthy);
        fputs("\n", stdout);
        return EXIT_OK;
}

static int gpu_list(int argc, char **argv)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct gpu_ctx *ctx = NULL;
        struct gpu_sample *s = NULL;
        bool json = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        gpu_list_help(stdout);
                        return EXIT_OK;
                default:
                        return cli_usage_error("gpu", "unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("gpu", "unexpected argument '%s'", argv[optind]);

        r = gpu_ctx_open(NULL, &ctx);
        if (r < 0)
                return cli_error("cannot read the GPUs: %s", strerror(-r));
        if (needs_gpm_window(gpu_ctx_topology(ctx))) {
                struct timespec ts = {0, GPM_WINDOW_MS * 1000000L};
                r = gpu_sample_take(ctx, &s);
                s = gpu_sample_free(s);
                if (r >= 0)
                        nanosleep(&ts, NULL);
        }
        r = gpu_sample_take(ctx, &s);
        if (r < 0) {
                gpu_ctx_free(ctx);
                return cli_error("cannot sample the GPUs: %s", strerror(-r));
        }
        r = json ? list_json(gpu_ctx_topology(ctx), s) : list_text(gpu_ctx_topology(ctx), s);
        gpu_sample_free(s);
        gpu_ctx_free(ctx);
        return r;
}

/* Options of the actions that ask ds01d. */
struct gpu_args {
        bool json;
        const char *user;
        const char *container;
        bool count_all;
        long long count; /* when !count_all */
        bool full;
        long long wait_s;
        const char *interface;
};

/* --json and --help, then between min and max positional arguments into
 * pos[]. Returns 0, -1 after --help (exit 0), or an exit code. */
static int parse_simple(int argc, char **argv, void (*help)(FILE *f), size_t min, size_t max,
                        struct gpu_args *a, const char **pos)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        size_t n;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        a->json = true;
                        break;
                case 'h':
                        help(stdout);
                        return -1;
                default:
                        return cli_usage_error("gpu", "unknown option '%s' for 'gpu %s'",
                                               argv[optind - 1], argv[0]);
                }
        }
        n = (size_t)(argc - optind);
        if (n < min)
                return cli_usage_error("gpu", "'gpu %s' needs %s", argv[0],
                                       min == 1 && max == 1 ? "a container name"
                                                            : "more arguments");
        if (n > max)
                return cli_usage_error("gpu", "unexpected argument '%s'", argv[optind + max]);
        for (size_t i = 0; i < n; i++)
                pos[i] = argv[optind + i];
        return 0;
}

static int open_client(const struct cli_global *g, struct cli_client **ret)
{
        if (cli_client_open(g->socket_path, ret) < 0)
                return cli_error("out of memory");
        return 0;
}

/* Width of a table column: the header or the longest value of key. */
static int column_width(const json_t *rows, const char *key, const char *header)
{
        size_t w = strlen(header), i;
        json_t *row;

        json_array_foreach(rows, i, row)
        {
                const char *v = cli_json_str(row, key, "-");
                w = MAX(w, strlen(v));
        }
        return (int)MIN(w, 40);
}

static int status_text(const json_t *j)
{
        const json_t *slots = json_object_get(j, "slots"), *nvml = json_object_get(j, "nvml");
        double total = cli_json_num(j, "slots_total", 0),
               alloc = cli_json_num(j, "slots_allocated", 0);
        double free_eq = 0;
        int wu, wc;
        size_t i;
        json_t *sl;

        printf("GPU Status: %.0f/%.0f slots allocated (%ld%%)\n", alloc, total,
               total > 0 ? lround(100.0 * alloc / total) : 0L);
        wu = column_width(slots, "user", "USER");
        wc = column_width(slots, "container", "CONTAINER");
        if (json_array_size(slots) > 0)
                printf("\n%-6s %-9s %-*s %-*s %-16s %6s\n", "SLOT", "STATE", wu, "USER", wc,
                       "CONTAINER", "SINCE", "GPU-EQ");
        json_array_foreach(slots, i, sl)
        {
                char since[CLI_TIME_SHORT_MAX];
                const char *state = cli_json_str(sl, "state", "-");
                const char *reserved = cli_json_str(sl, "reserved_for", NULL);
                double eq = cli_json_num(sl, "gpu_equivalents", 0);

                if (streq(state, "free"))
                        free_eq += eq;
                printf("%-6s %-9s %-*s %-*s %-16s %6.3f", cli_json_str(sl, "slot", "?"), state, wu,
                       cli_json_str(sl, "user", "-"), wc, cli_json_str(sl, "container", "-"),
                       cli_time_short(since, sizeof(since), cli_json_str(sl, "since", NULL)), eq);
                if (reserved)
                        printf("  reserved for %s", reserved);
                fputs("\n", stdout);
        }
        printf("\nFree: %.0f slot%s (%.3f GPU-equivalents)\n", cli_json_num(j, "slots_free", 0),
               cli_json_num(j, "slots_free", 0) == 1 ? "" : "s", free_eq);
        printf("Queue: %.0f waiting\n", cli_json_num(j, "queue_length", 0));
        if (nvml && json_is_false(json_object_get(nvml, "available")))
                printf("note: %s\n", cli_json_str(nvml, "reason", "NVML is not available"));
        return EXIT_OK;
}

static int gpu_status(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct gpu_args a = {0};
        const char *pos[1];
        json_t *j = NULL;
        int r;

        r = parse_simple(argc, argv, gpu_status_help, 0, 0, &a, pos);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = open_client(g, &c);
        if (r != 0)
                return r;
        r = cli_client_call(c, "GET", "/v1/status", NULL, CLI_CLIENT_TIMEOUT, a.json, NULL, &j);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : status_text(j);
        json_decref(j);
        return r;
}

static int parse_allocate(int argc, char **argv, struct gpu_args *a)
{
        enum {
                OPT_COUNT = 0x100,
                OPT_FULL,
                OPT_WAIT,
                OPT_INTERFACE,
                OPT_JSON,
        };
        static const struct option opts[] = {
            {"count", required_argument, NULL, OPT_COUNT},
            {"full", no_argument, NULL, OPT_FULL},
            {"wait", optional_argument, NULL, OPT_WAIT},
            {"interface", required_argument, NULL, OPT_INTERFACE},
            {"json", no_argument, NULL, OPT_JSON},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        bool wait_bare = false;
        int64_t wait;
        int c, r;

        a->count = 1;
        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_COUNT:
                        if (streq_ptr(optarg, "all")) {
                                a->count_all = true;
                                break;
                        }
                        a->count_all = false;
                        r = cli_parse_count("gpu", "--count", optarg, 1, &a->count);
                        if (r != 0)
                                return r;
                        break;
                case OPT_FULL:
                        a->full = true;
                        break;
                case OPT_WAIT:
                        if (!optarg) {
                                a->wait_s = 3600;
                                wait_bare = true;
                                break;
                        }
                        wait_bare = false;
                        r = parse_duration(optarg, 1, &wait);
                        if (r < 0 || wait == DURATION_INFINITY || wait > 7 * SEC_PER_DAY)
                                return cli_usage_error("gpu",
                                                       "--wait='%s' is not a number of seconds "
                                                       "(0 to 604800; 30m and 2h work too)",
                                                       optarg);
                        a->wait_s = wait;
                        break;
                case OPT_INTERFACE:
                        a->interface = optarg;
                        break;
                case OPT_JSON:
                        a->json = true;
                        break;
                case 'h':
                        gpu_allocate_help(stdout);
                        return -1;
                case ':':
                        return cli_usage_error("gpu", "option '%s' needs a value",
                                               argv[optind - 1]);
                default:
                        return cli_usage_error("gpu", "unknown option '%s' for 'gpu allocate'",
                                               argv[optind - 1]);
                }
        }
        if (argc - optind < 2)
                return cli_usage_error("gpu", "'gpu allocate' needs a user and a container: "
                                              "ds01 gpu allocate USER CONTAINER");
        if (argc - optind > 2) {
                long long v;
                if (wait_bare && safe_atoi64(argv[optind + 2], &v) == 0)
                        return cli_usage_error("gpu",
                                               "unexpected argument '%s' (give the time to wait "
                                               "as --wait=%s)",
                                               argv[optind + 2], argv[optind + 2]);
                return cli_usage_error("gpu", "unexpected argument '%s'", argv[optind + 2]);
        }
        a->user = argv[optind];
        a->container = argv[optind + 1];
        if (isempty(a->user) || isempty(a->container))
                return cli_usage_error("gpu", "the user and the container must not be empty");
        return 0;
}

static int allocate_text(const json_t *j)
{
        const char *container = cli_json_str(j, "container", "?");
        const char *user = cli_json_str(j, "user", "?");
        double queued = cli_json_num(j, "queued_seconds", 0);
        size_t i;
        json_t *sl;

        json_array_foreach(json_object_get(j, "slots"), i, sl)
        {
                printf("allocated %s (%s) to %s for %s: %.3f GPU-equivalents\n",
                       cli_json_str(sl, "slot", "?"), cli_json_str(sl, "uuid", "?"), container,
                       user, cli_json_num(sl, "gpu_equivalents", 0));
        }
        if (json_is_true(json_object_get(j, "existing")))
                printf("%s already held %s; nothing changed\n", container,
                       json_array_size(json_object_get(j, "slots")) == 1 ? "this slot"
                                                                         : "these slots");
        if (queued > 0)
                printf("waited %.0f s in the queue\n", queued);
        return EXIT_OK;
}

static int gpu_allocate(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        struct gpu_args a = {0};
        json_t *body, *j = NULL;
        int r;

        r = parse_allocate(argc, argv, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = open_client(g, &c);
        if (r != 0)
                return r;
        body =
            json_pack("{s:s, s:s, s:o, s:b, s:I}", "user", a.user, "container", a.container,
                      "count", a.count_all ? json_string("all") : json_integer((json_int_t)a.count),
                      "full", a.full, "wait_seconds", (json_int_t)a.wait_s);
        if (body && a.interface)
                json_object_set_new(body, "interface", json_string(a.interface));
        if (!body)
                return cli_error("out of memory");
        r = cli_client_call(c, "POST", "/v1/allocations", body, a.wait_s + CLI_CLIENT_TIMEOUT,
                            a.json, NULL, &j);
        json_decref(body);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : allocate_text(j);
        json_decref(j);
        return r;
}

static int gpu_release(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        struct gpu_args a = {0};
        const char *pos[1] = {NULL};
        json_t *j = NULL, *v;
        size_t i;
        int r;

        strbuf_init(&path, 4096);
        r = parse_simple(argc, argv, gpu_release_help, 1, 1, &a, pos);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = open_client(g, &c);
        if (r != 0)
                return r;
        if (strbuf_puts(&path, "/v1/allocations/") < 0 || cli_client_path_add(&path, pos[0]) < 0)
                return cli_usage_error("gpu", "the container name is too long");
        r = cli_client_call(c, "DELETE", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        if (a.json) {
                r = cli_print_json(j);
        } else {
                printf("released ");
                json_array_foreach(json_object_get(j, "released"), i, v)
                {
                        printf("%s%s", i ? ", " : "", json_string_value(v) ?: "?");
                }
                printf(" from %s\n", cli_json_str(j, "container", pos[0]));
        }
        json_decref(j);
        return r;
}

/* "0.143 of 1.000 GPU-equivalents", the limit being the lower of the two that
 * are set; "0.143 GPU-equivalents (unlimited)" when neither is. */
static void print_quota(const json_t *j)
{
        const json_t *l1 = json_object_get(j, "gpu_equivalents_limit");
        const json_t *l2 = json_object_get(j, "aggregate_gpu_limit");
        double used = cli_json_num(j, "gpu_equivalents_used", 0);
        double limit = INFINITY;

        if (json_is_number(l1))
                limit = json_number_value(l1);
        if (json_is_number(l2))
                limit = MIN(limit, json_number_value(l2));
        if (isinf(limit))
                printf("  GPU-equivalents      %.3f GPU-equivalents (unlimited)\n", used);
        else
                printf("  GPU-equivalents      %.3f of %.3f GPU-equivalents\n", used, limit);
}

static int user_status_text(const json_t *j)
{
        const json_t *allocs = json_object_get(j, "allocations"),
                     *queue = json_object_get(j, "queue");
        const json_t *cl = json_object_get(j, "containers_limit");
        const json_t *per = json_object_get(j, "max_gpu_slots_per_container");
        char since[CLI_TIME_SHORT_MAX], deadline[CLI_TIME_SHORT_MAX];
        size_t i;
        json_t *e;
        int wc;

        printf("%s: group %s, queue priority %.0f\n", cli_json_str(j, "user", "?"),
               cli_json_str(j, "group", "?"), cli_json_num(j, "priority", 0));
        printf("  GPU slots            %zu\n", json_array_size(allocs));
        print_quota(j);
        if (json_is_number(cl))
                printf("  containers           %.0f of %.0f\n", cli_json_num(j, "containers", 0),
                       json_number_value(cl));
        else
                printf("  containers           %.0f (unlimited)\n",
                       cli_json_num(j, "containers", 0));
        if (json_is_number(per))
                printf("  slots per container  %.0f\n", json_number_value(per));
        else
                printf("  slots per container  unlimited\n");
        printf("  full GPUs            %s\n",
               json_is_true(json_object_get(j, "allow_full_gpu")) ? "allowed" : "not allowed");

        if (json_array_size(allocs) > 0) {
                wc = column_width(allocs, "container", "CONTAINER");
                printf("\n  %-6s %-*s %-9s %-16s %6s\n", "SLOT", wc, "CONTAINER", "STATE", "SINCE",
                       "GPU-EQ");
                json_array_foreach(allocs, i, e)
                {
                        printf(
                            "  %-6s %-*s %-9s %-16s %6.3f\n", cli_json_str(e, "slot", "?"), wc,
                            cli_json_str(e, "container", "-"), cli_json_str(e, "state", "-"),
                            cli_time_short(since, sizeof(since), cli_json_str(e, "created", NULL)),
                            cli_json_num(e, "gpu_equivalents", 0));
                }
        }
        if (json_array_size(queue) == 0) {
                printf("\n  Queue: no entries\n");
                return EXIT_OK;
        }
        wc = column_width(queue, "container", "CONTAINER");
        printf("\n  Queue: %zu entr%s\n  %-5s %-4s %-*s %-5s %-16s %s\n", json_array_size(queue),
               json_array_size(queue) == 1 ? "y" : "ies", "ID", "POS", wc, "CONTAINER", "COUNT",
               "SINCE", "DEADLINE");
        json_array_foreach(queue, i, e)
        {
                const json_t *count = json_object_get(e, "count");
                char cnt[32];

                if (json_is_string(count))
                        snprintf(cnt, sizeof(cnt), "%s", json_string_value(count));
                else
                        snprintf(cnt, sizeof(cnt), "%.0f", cli_json_num(e, "count", 1));
                printf(
                    "  %-5.0f %-4.0f %-*s %-5s %-16s %s\n", cli_json_num(e, "id", 0),
                    cli_json_num(e, "position", 0), wc, cli_json_str(e, "container", "-"), cnt,
                    cli_time_short(since, sizeof(since), cli_json_str(e, "arrival", NULL)),
                    cli_time_short(deadline, sizeof(deadline), cli_json_str(e, "deadline", NULL)));
        }
        return EXIT_OK;
}

static int gpu_user_status(int argc, char **argv, const struct cli_global *g)
{
        _cleanup_(cli_client_freep) struct cli_client *c = NULL;
        _cleanup_strbuf_ struct strbuf path;
        struct gpu_args a = {0};
        const char *pos[1] = {NULL};
        json_t *me = NULL, *j = NULL;
        int r;

        strbuf_init(&path, 4096);
        r = parse_simple(argc, argv, gpu_user_status_help, 0, 1, &a, pos);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = open_client(g, &c);
        if (r != 0)
                return r;
        if (!pos[0]) {
                r = cli_client_call(c, "GET", "/v1/whoami", NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                                    &me);
                if (r != EXIT_OK)
                        return r;
                pos[0] = cli_json_str(me, "user", NULL);
                if (isempty(pos[0])) {
                        json_decref(me);
                        return cli_error("ds01d did not say who you are (GET /v1/whoami); give "
                                         "a user name");
                }
        }
        if (strbuf_puts(&path, "/v1/users/") < 0 || cli_client_path_add(&path, pos[0]) < 0 ||
            strbuf_puts(&path, "/status") < 0) {
                json_decref(me);
                return cli_usage_error("gpu", "the user name is too long");
        }
        json_decref(me); /* pos[0] is not used after this */
        r = cli_client_call(c, "GET", strbuf_str(&path), NULL, CLI_CLIENT_TIMEOUT, a.json, NULL,
                            &j);
        if (r != EXIT_OK)
                return r;
        r = a.json ? cli_print_json(j) : user_status_text(j);
        json_decref(j);
        return r;
}

static int gpu_run(int argc, char **argv, const struct cli_global *g)
{
        if (argc < 2)
                return cli_usage_error(
                    "gpu", "which action? (list, status, allocate, release, user-status)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                gpu_help(stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "list"))
                return gpu_list(argc - 1, argv + 1);
        if (streq(argv[1], "status"))
                return gpu_status(argc - 1, argv + 1, g);
        if (streq(argv[1], "allocate"))
                return gpu_allocate(argc - 1, argv + 1, g);
        if (streq(argv[1], "release"))
                return gpu_release(argc - 1, argv + 1, g);
        if (streq(argv[1], "user-status"))
                return gpu_user_status(argc - 1, argv + 1, g);
        return cli_usage_error("gpu", "unknown action '%s'", argv[1]);
}

const struct cli_command cli_cmd_gpu = {
    .name = "gpu",
    .summary = "GPU slots: list them (NVML), status, allocate, release, user-status",
    .run = gpu_run,
    .help = gpu_help,
};
