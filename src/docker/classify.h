/* classify.h - what a Docker container is, from its `docker inspect` JSON: who
 * owns it, what created it (its type), its state and times, and which GPUs it
 * holds and how it asked for them.
 *
 * Pure: no system calls, no allocation outside the result. Everything that
 * needs the host (its user database, file owners) goes through the caller's
 * struct classify_lookup, so reconcile, `ds01 state rebuild` and the tests
 * decide where the answers come from (and cache them).
 *
 * Owner, first that applies (a rule that does not apply falls through):
 *   1. label ds01.user (any text; the user need not exist any more)
 *   2. label aime.mlc.USER (AIME mlc containers from before ds01)
 *   3. label devcontainer.local_folder=/home/<u>[/…], <u> a known user
 *   4. a name "<anything>._.<uid>", uid known to the user database
 *   5. the first bind mount /home/<u>[/…] whose source path is owned by <u>'s
 *      uid (path_owner; a path owned by someone else proves nothing)
 *   6. label com.docker.compose.project.working_dir=/home/<u>[/…], <u> known
 *   else unknown (owner "", OWNER_UNKNOWN).
 * For 3 and 6 only the user is checked, not the owner of the path, as the old
 * DS01 tracker did: these labels are written by VS Code and docker compose
 * from the directory the user ran them in, which may be gone since, and they
 * are no easier to forge than ds01.user itself, which outranks them. A path
 * with a ".." component never names a user.
 *
 * Type, first that applies:
 *   1. label ds01.container_type, when it is one of the six types below
 *   2. label ds01.interface when it is orchestration, atomic or api
 *   3. legacy DS01 atomic containers: label ds01.managed=true or
 *      aime.mlc.DS01_MANAGED=true, or a name "<anything>._.<digits>" (AIME mlc
 *      naming) -> atomic
 *   4. any devcontainer.* label, or a name starting with "vsc-" -> devcontainer
 *   5. any com.docker.compose.* label -> compose
 *   6. docker
 *
 * GPUs, first source that says anything:
 *   1. HostConfig.DeviceRequests: the first request for the nvidia driver
 *      (Driver "nvidia", or a Capabilities set holding "gpu" or "nvidia") that
 *      asks for something: DeviceIDs -> devices (entries with commas split),
 *      else Count > 0 -> count, else Count -1 -> all (Docker's own precedence)
 *   2. with HostConfig.Runtime "nvidia": NVIDIA_VISIBLE_DEVICES in Config.Env
 *      (the last one): "all" -> all; "none", "void" or "" -> no GPU, and the
 *      label below is not consulted (the runtime gives this container no
 *      GPU); otherwise a comma list -> devices. Without the nvidia runtime the
 *      variable does nothing (CUDA images set it) and is ignored.
 *   3. label ds01.gpu.uuids (comma list), else the older single
 *      ds01.gpu.uuid -> devices
 * Devices are kept as given ("0", "1:2", "GPU-…", "MIG-…"), at most
 * CLASSIFY_MAX_GPU_DEVICES (the rest are dropped); entries that are empty,
 * longer than CLASSIFY_DEVICE_MAX - 1 or not printable ASCII are skipped.
 * Mapping UUIDs to slots is the caller's (the topology).
 *
 * Text copied from the container (labels, names, paths) is refused — treated as
 * absent — when it is empty, does not fit its field, is not UTF-8 or holds a
 * control character: a truncated or garbled owner would be a wrong owner.
 *
 * Differences from the old DS01 Python tools (scripts/docker/ in ds01-infra):
 * container-owner-tracker.py tried name._.uid before devcontainer.local_folder,
 * read bind mounts from HostConfig.Binds only and, for a mount source that no
 * longer exists, checked the owner of its closest existing parent; here the
 * devcontainer label comes first (the order), .Mounts is read (with
 * Binds as the fallback) and a missing path proves nothing. Its interface
 * detection put compose before devcontainer (docker-wrapper.sh and ds01 put a
 * devcontainer started through compose under devcontainer). gpu-state-reader.py
 * called a devices request "specific"; ds01 says "devices". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLASSIFY_ID_MAX          80
#define CLASSIFY_NAME_MAX        256
#define CLASSIFY_OWNER_MAX       256
#define CLASSIFY_TYPE_MAX        32
#define CLASSIFY_STATE_MAX       32
#define CLASSIFY_RUNTIME_MAX     64
#define CLASSIFY_SLOTS_MAX       256
#define CLASSIFY_CGROUP_MAX      256
#define CLASSIFY_DEVICE_MAX      128
#define CLASSIFY_MAX_GPU_DEVICES 64

/* The system as the classifier may see it. Any callback may be NULL: the rules
 * that need it then never apply. Callbacks must not keep the pointers given. */
struct classify_lookup {
        /* uid -> login name (NSS); return 0 and fill buf (NUL-terminated), or -ENOENT */
        int (*uid_to_name)(void *ud, unsigned uid, char *buf, size_t size);
        /* login name -> uid; 0 or -ENOENT */
        int (*name_to_uid)(void *ud, const char *name, unsigned *ret_uid);
        /* owner uid of a host path (lstat, no symlink following); 0 or -errno */
        int (*path_owner)(void *ud, const char *path, unsigned *ret_uid);
        void *ud;
};

enum container_owner_source {
        OWNER_UNKNOWN,
        OWNER_LABEL,        /* ds01.user */
        OWNER_AIME,         /* aime.mlc.USER */
        OWNER_DEVCONTAINER, /* devcontainer.local_folder */
        OWNER_NAME_UID,     /* name._.<uid> */
        OWNER_BIND_MOUNT,   /* a bind mount the user owns */
        OWNER_COMPOSE,      /* com.docker.compose.project.working_dir */
};

enum gpu_request_kind {
        GPU_REQ_NONE,
        GPU_REQ_ALL,
        GPU_REQ_COUNT,
        GPU_REQ_DEVICES,
};

enum gpu_request_source {
        GPU_SRC_NONE,
        GPU_SRC_DEVICE_REQUESTS, /* HostConfig.DeviceRequests (docker run --gpus) */
        GPU_SRC_ENV,             /* NVIDIA_VISIBLE_DEVICES with the nvidia runtime */
        GPU_SRC_LABEL,           /* ds01.gpu.uuids / ds01.gpu.uuid */
};

struct container_class {
        char id[CLASSIFY_ID_MAX];
        char name[CLASSIFY_NAME_MAX]; /* without the leading '/'; "" if unusable */

        char owner[CLASSIFY_OWNER_MAX]; /* login name as found (not sanitized), "" unknown */
        enum container_owner_source owner_source;
        int64_t owner_uid; /* the uid when the rule established it (devcontainer,
                            * name_uid, bind_mount, compose); -1 otherwise (the
                            * label rules do not look the name up) */

        char type[CLASSIFY_TYPE_MAX];      /* orchestration, atomic, api, devcontainer, compose,
                                            * docker */
        char interface[CLASSIFY_TYPE_MAX]; /* the ds01.interface label as written, or "" */

        char state[CLASSIFY_STATE_MAX]; /* State.Status: created, running, paused, restarting,
                                         * removing, exited, dead; derived from the State flags
                                         * when missing or unknown; "" when nothing says */
        bool running;                   /* State.Running (true for a paused container too) */

        bool ds01_managed;  /* has a valid ds01.user label (created through ds01) */
        bool is_protected;  /* ds01.protected=true */
        bool is_monitoring; /* ds01.monitoring=true */

        enum gpu_request_kind gpu_kind;
        enum gpu_request_source gpu_source;
        int gpu_count;      /* GPU_REQ_COUNT: the count; GPU_REQ_ALL: -1 (as Docker and the
                             * old metrics say); GPU_REQ_DEVICES: n_gpu_devices; else 0 */
        char **gpu_devices; /* owned: device IDs as given; NULL when none */
        size_t n_gpu_devices;

        char ds01_slots[CLASSIFY_SLOTS_MAX]; /* ds01.gpu.slots label as written, or "" */
        int64_t ds01_allocated_at; /* ds01.gpu.allocated_at (ISO 8601, UTC when no zone, or
                                    * epoch seconds) -> epoch seconds; 0 when absent/bad */

        char runtime[CLASSIFY_RUNTIME_MAX];       /* HostConfig.Runtime, or "" */
        char cgroup_parent[CLASSIFY_CGROUP_MAX];  /* HostConfig.CgroupParent, or "" */
        int64_t created_s, started_s, finished_s; /* epoch seconds; 0 for Docker's zero
                                                   * time "0001-01-01T00:00:00Z" or absent */
};

/* Classifies one container. inspect is the object of GET /containers/{id}/json
 * (a one-element array, as `docker inspect` prints, is accepted too). Fields of
 * the wrong type or missing are treated as absent; only a missing or unusable
 * Id is an error. Returns 0 and fills *ret (release it with
 * container_class_release()), or -EINVAL (not a container object, no Id),
 * -ENOMEM; *ret untouched on failure. lk may be NULL. */
int container_classify(const json_t *inspect, const struct classify_lookup *lk,
                       struct container_class *ret);

/* Frees the device list; the struct is zeroed afterwards. NULL-safe. */
void container_class_release(struct container_class *c);

/* "unknown", "label", "aime", "devcontainer", "name_uid", "bind_mount",
 * "compose"; NULL when out of range. Static strings. */
const char *owner_source_name(enum container_owner_source s);
/* "none", "all", "count", "devices" (the access_type of the unmanaged-container
 * metric); NULL when out of range. */
const char *gpu_request_kind_name(enum gpu_request_kind k);
/* "none", "device_requests", "env", "label"; NULL when out of range. */
const char *gpu_request_source_name(enum gpu_request_source s);
