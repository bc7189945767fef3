/* SPDX-License-Identifier: MIT */
/*
 * cmd-gpu.c - `ds01 gpu list [--json]`: every slot the GPUs offer, grouped
 * under its physical GPU, read straight from NVML (no daemon needed). Without
 * NVML it says why and reports 0 GPUs, exit 0: a CPU-only server is valid.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "gpu/gpu.h"
#include "util/strutil.h"
#include "util/units.h"

/* Wait between the two rounds a one-shot listing takes when some MIG slot can
 * only be measured as a difference of GPM samples (Hopper and later). */
#define GPM_WINDOW_MS 100

static void gpu_help(FILE *f)
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
                        gpu_help(stdout);
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

static int gpu_run(int argc, char **argv, const struct cli_global *g)
{
        if (argc < 2)
                return cli_usage_error("gpu", "which action? (list)");
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                gpu_help(stdout);
                return EXIT_OK;
        }
        if (streq(argv[1], "list"))
                return gpu_list(argc - 1, argv + 1);
        return cli_usage_error("gpu", "unknown action '%s'", argv[1]);
}

const struct cli_command cli_cmd_gpu = {
    .name = "gpu",
    .summary = "list GPUs and MIG slots as NVML reports them",
    .run = gpu_run,
    .help = gpu_help,
};
