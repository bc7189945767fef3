/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rewrite.h - the bodies the proxy reads and changes for non-admins:
 * POST /containers/create, POST /containers/{id}/exec, POST
 * /containers/{id}/update, POST /volumes/create, POST /networks/create.
 *
 * Two steps for create, so that nothing is allocated before the request is
 * known to be acceptable:
 *   1. create_inspect(): pure. Refuses what the policy denies (one reason),
 *      and collects what the engine must look up or decide: the GPU request,
 *      bind-mount sources (to resolve on the host), named volumes and
 *      containers the request refers to (to check their owner), the type.
 *   2. create_rewrite(): pure. Given the caller's limits, the resolved paths'
 *      verdict and the GPU allocation, changes the body in place.
 * Everything that touches the host (realpath, stat, Docker) is the engine's;
 * bind_path_resolve() below is the one function here that does I/O, kept
 * apart for that reason.
 *
 * Reasons are one line, start with "ds01: " and say what to do, e.g.
 * "ds01: --privileged is not allowed; ask an admin if your work needs it".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "proxy/policy.h"

#define REWRITE_MAX_REFS  32 /* containers, volumes, binds named by one request */
#define REWRITE_PATH_MAX  4096
#define REWRITE_UUIDS_MAX 1024
#define CREATE_BODY_MAX   (1024 * 1024) /* larger create bodies are refused */

enum create_gpu_kind {
        CREATE_GPU_NONE,
        CREATE_GPU_COUNT,   /* DeviceRequests Count N, or --gpus N */
        CREATE_GPU_ALL,     /* Count -1, --gpus all, nvidia runtime with NVIDIA_VISIBLE_DEVICES=all
                               or without the variable */
        CREATE_GPU_DEVICES, /* DeviceIDs, or NVIDIA_VISIBLE_DEVICES=<list> with the nvidia runtime
                             */
};

/* What a create request asks for (filled by create_inspect). */
struct create_request {
        enum create_gpu_kind gpu;
        int gpu_count; /* COUNT: N (>= 1); DEVICES: number of devices */
        char gpu_devices[REWRITE_MAX_REFS]
                        [128]; /* DEVICES: as written: "0", "GPU-…", "MIG-…", "1:2" */
        size_t n_gpu_devices;
        bool nvidia_runtime; /* asked for HostConfig.Runtime "nvidia" */

        /* host paths of bind mounts (HostConfig.Binds "src:dst[:opts]" with an
         * absolute src, and Mounts with Type "bind"), as written */
        char *binds[REWRITE_MAX_REFS]; /* owned */
        size_t n_binds;
        /* named volumes used (Binds "name:dst", Mounts Type "volume" Source) */
        char *volumes[REWRITE_MAX_REFS]; /* owned */
        size_t n_volumes;
        /* other containers named (VolumesFrom, Links, NetworkMode/PidMode/IpcMode
         * "container:<ref>"): each must belong to the caller */
        char *containers[REWRITE_MAX_REFS]; /* owned */
        size_t n_containers;
        /* the VolumesFrom refs alone, without ":ro"/":rw" (also in containers):
         * the engine sets create_context.inherits_binds when one has host binds */
        char *volumes_from[REWRITE_MAX_REFS]; /* owned */
        size_t n_volumes_from;
        /* networks named (HostConfig.NetworkMode other than bridge/default/none
         * and container:, NetworkingConfig.EndpointsConfig keys): bridge and the
         * caller's own networks only */
        char *networks[REWRITE_MAX_REFS]; /* owned */
        size_t n_networks;

        /* ds01.container_type to write: "devcontainer" (a devcontainer.* label
         * or a name starting "vsc-"), "compose" (com.docker.compose.*), else
         * "docker"; with a caller-given ds01.interface of "orchestration" or
         * "atomic" (the ds01 CLI), that interface becomes the type */
        char type[32];
        char interface[32]; /* ds01.interface to write: as given when allowed, else "docker" */
};

void create_request_release(struct create_request *r);

/* Step 1. body: the parsed request (not changed). name: ?name= or NULL.
 * Denied (non-admin, returns -EPERM with reason): Privileged; CapAdd
 * non-empty; Devices non-empty; DeviceCgroupRules non-empty; PidMode,
 * IpcMode, UTSMode, UsernsMode, CgroupnsMode "host"; NetworkMode "host";
 * GroupAdd non-empty; SecurityOpt entries other than no-new-privileges,
 * apparmor=docker-default and seccomp=builtin (so "unconfined", every
 * "label=..." SELinux option, "systempaths=unconfined", custom profiles);
 * MaskedPaths or ReadonlyPaths given as an array; Sysctls non-empty;
 * CgroupParent non-empty; Runtime other than "", "runc" or "nvidia";
 * OomScoreAdj < 0; PortBindings with a HostPort under 1024; LogConfig.Type
 * other than "", json-file, local, journald, none, and LogConfig.Config keys
 * other than max-size, max-file, compress, mode (any with journald/none);
 * Mounts of Type other than bind, volume, tmpfs; volume Mounts with
 * VolumeOptions.DriverConfig options (o, device, type); DeviceRequests for a
 * driver other than nvidia or with capabilities other than gpu/nvidia/
 * compute/utility/...; caller labels starting "ds01." other than
 * ds01.interface (orchestration, atomic) — ds01.user, ds01.protected,
 * ds01.monitoring and the GPU labels are ds01's own. Malformed fields
 * (wrong JSON types where Docker expects objects/arrays/strings) are
 * refused too: -EINVAL with reason. So is a HostConfig field written at the
 * top level of the body (the pre-1.19 API form Docker up to 26 still reads:
 * all of them when the body has no HostConfig, Memory, MemorySwap,
 * CpuShares, CpusetCpus, VolumeDriver and Cpuset otherwise) unless it is
 * unset (null, false, 0, "", [] or {}; VolumeDriver "local" too);
 * create_rewrite removes such fields. Returns 0 when acceptable. */
int create_inspect(const json_t *body, const char *name, struct create_request *ret, char *reason,
                   size_t reason_size);

/* The limits and identity create_rewrite applies (from resolve.h). */
struct create_limits {
        double max_cpus;      /* <= 0: no cap */
        uint64_t memory;      /* bytes; 0: no cap */
        uint64_t memory_swap; /* bytes; 0: = memory */
        uint64_t shm_size;    /* bytes; 0: no cap */
        long long pids_limit; /* <= 0: no cap */
        uint64_t storage_tmp; /* bytes; 0: no /tmp tmpfs */
};

/* What the engine decided around the request. */
struct create_context {
        const char *user; /* the caller's login name (ds01.user) */
        uid_t uid;
        gid_t gid;
        const char *cgroup_parent; /* the caller's slice or cgroupfs path; NULL: none */
        bool force_user;           /* set User to uid:gid when host paths are bound */
        bool inherits_binds;       /* a VolumesFrom container has host binds: as own binds */
        const char *created_at;    /* ISO 8601 UTC, for ds01.created_at */
        /* the GPU allocation; n_uuids 0 when no GPU */
        const char *gpu_slots; /* "0,1.2" for ds01.gpu.slots */
        const char *gpu_uuids; /* "GPU-…,MIG-…" */
        size_t n_uuids;
        const char *gpu_allocated_at; /* ISO 8601 UTC */
        bool attach_nvidia_runtime;   /* gpu_allocation.attach: nvidia_runtime */
};

/* Step 2, in place:
 *  - Labels: ds01.user, ds01.managed=true, ds01.container_type, ds01.interface,
 *    ds01.created_at; with GPUs ds01.gpu.slots, ds01.gpu.uuids,
 *    ds01.gpu.allocated_at.
 *  - HostConfig limits: NanoCpus (CpuQuota/CpuPeriod, when given, converted
 *    to NanoCpus and removed, Docker refuses both), Memory, MemorySwap
 *    (>= Memory, -1 and 0 become the cap), ShmSize, PidsLimit (0, -1, null
 *    become the cap); lower values asked for are kept, higher or unset ones
 *    capped; Tmpfs "/tmp" = "rw,nosuid,nodev,size=<bytes>" when storage_tmp.
 *  - CgroupParent = ctx->cgroup_parent.
 *  - Env: every NVIDIA_VISIBLE_DEVICES= entry dropped; then with no GPU
 *    NVIDIA_VISIBLE_DEVICES=void; with GPUs and attach_nvidia_runtime:
 *    Runtime "nvidia", NVIDIA_VISIBLE_DEVICES=<uuids>, DeviceRequests
 *    removed; with GPUs otherwise: DeviceRequests = one nvidia request with
 *    DeviceIDs = the uuids and Capabilities [["gpu"]], Runtime "" when it
 *    was "nvidia" (the request now carries the GPUs).
 *  - User = "<uid>:<gid>" and "no-new-privileges" in HostConfig.SecurityOpt
 *    (every other no-new-privileges entry, =false included, dropped) when
 *    force_user and req has binds or ctx->inherits_binds.
 *  - Top-level HostConfig fields (see create_inspect) removed, whatever their
 *    value: only HostConfig's own are read.
 * Returns 0 or -ENOMEM. */
int create_rewrite(json_t *body, const struct create_request *req, const struct create_limits *l,
                   const struct create_context *ctx);

/* POST /containers/{id}/exec. container_user: Config.User of the container;
 * has_binds: the container has bind mounts. Denied: Privileged true; with
 * has_binds, a User other than container_user ("" and absent mean the
 * container's). -EPERM with reason, -EINVAL malformed, 0 fine. */
int exec_inspect(const json_t *body, const char *container_user, bool has_binds, char *reason,
                 size_t reason_size);

/* POST /containers/{id}/update: denied when it raises a limit past the cap or
 * removes one (NanoCpus, CpuQuota/CpuPeriod, Memory, MemorySwap incl. -1,
 * PidsLimit 0/-1 when capped, KernelMemory, any DeviceRequests / Devices /
 * CgroupParent); 0 fields mean "unchanged" as in Docker. */
int update_inspect(const json_t *body, const struct create_limits *l, char *reason,
                   size_t reason_size);

/* POST /volumes/create: denied with DriverOpts holding "o" with bind/rbind,
 * "device", or "type" none/bind, or a Driver other than "local"/"". Rewrites
 * Labels["ds01.user"] = user (a caller-given ds01.* label is denied). */
int volume_create_rewrite(json_t *body, const char *user, char *reason, size_t reason_size);

/* POST /networks/create: denied with Driver other than bridge/"", Internal
 * false is fine, Options setting com.docker.network.bridge.* host-level
 * names, ConfigOnly/ConfigFrom, Ingress, Scope swarm; rewrites
 * Labels["ds01.user"] = user. */
int network_create_rewrite(json_t *body, const char *user, char *reason, size_t reason_size);

/* ---- bind paths (the one part with I/O) ---- */

/* Resolve a host path as the kernel would reach it: made absolute (relative
 * is refused), "." and ".." applied after each symlink is followed (realpath
 * of the longest existing prefix, then the missing rest appended lexically,
 * a ".." in the missing rest refused). Returns 0 with the result in out,
 * -EINVAL (not absolute, too long, NUL), -ELOOP. */
int bind_path_resolve(const char *path, char *out, size_t size);

/* Is resolved path inside one of the allowed roots? Roots may begin with "~"
 * (the caller's home) and hold "{user}"; each root is itself resolved by the
 * caller before the call (pass already-expanded, resolved roots). A root of
 * "/" is refused as a root. Paths under /proc, /sys, /dev, /run and
 * /var/run/docker.sock are never allowed, whatever the roots say. Pure. */
bool bind_path_allowed(const char *resolved, char *const *roots, size_t n_roots);

/* Expand "~" and "{user}" in a configured root. 0, -EINVAL (empty home), -ENAMETOOLONG. */
int bind_root_expand(const char *root, const char *user, const char *home, char *out, size_t size);
