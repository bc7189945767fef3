/* SPDX-License-Identifier: MIT */
/*
 * gpu-health-decide.c - when a GPU changed between healthy and unhealthy,
 * and what its holders are told (pure; see gpu-health-decide.h for the
 * rules and daemon/gpu-health.c for what ds01d does with the answer).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/gpu-health-decide.h"

enum gpu_health_change gpu_health_step(struct gpu_health_track *t, bool healthy, int64_t now,
                                       int64_t *ret_lasted)
{
        bool was = t->seen ? t->healthy : true;
        int64_t lasted = t->seen && now > t->since ? now - t->since : 0;

        if (ret_lasted)
                *ret_lasted = 0;
        if (t->seen && was == healthy)
                return GPU_HEALTH_SAME;
        t->healthy = healthy;
        t->since = now;
        if (!t->seen) {
                t->seen = true;
                if (healthy)
                        return GPU_HEALTH_SAME;
        }
        if (ret_lasted)
                *ret_lasted = lasted;
        return healthy ? GPU_HEALTH_RECOVERED : GPU_HEALTH_LOST;
}

int gpu_health_holder_text(char *buf, size_t n, enum gpu_health_change c, unsigned gpu,
                           const char *reason, const char *container, const char *slots)
{
        const char *name = container && *container ? container : "?";
        const char *where = slots && *slots ? slots : "?";
        bool several = slots && strchr(slots, ',');
        int r;

        if (n == 0 || c == GPU_HEALTH_SAME)
                return -EINVAL;
        if (c == GPU_HEALTH_LOST)
                r = snprintf(buf, n,
                             "ds01: GPU %u stopped answering the NVIDIA driver%s%s%s. Your "
                             "container '%s' uses it (slot%s %s): its CUDA work has most likely "
                             "failed.\nSave what you can, then remove the container (docker rm -f "
                             "%s) and create it again: you will get a healthy GPU. Nobody gets "
                             "GPU %u until it works again; the admins have been alerted.",
                             gpu, reason && *reason ? " (" : "", reason ? reason : "",
                             reason && *reason ? ")" : "", name, several ? "s" : "", where, name,
                             gpu);
        else
                r = snprintf(buf, n,
                             "ds01: GPU %u answers the NVIDIA driver again. Your container '%s' "
                             "(slot%s %s) keeps it; if its work failed while the GPU was gone, "
                             "restart it.",
                             gpu, name, several ? "s" : "", where);
        return r < 0 ? -EINVAL : r;
}
