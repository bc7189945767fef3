/* resolve.h - what may this user have? The limits of one user, resolved from
 * a loaded configuration.
 *
 * Layers, each merged key by key over the one before:
 *   built-in defaults < `defaults` < the user's group < the user's override.
 * The user's group is the first group in YAML order whose members contain the
 * user (original name, then sanitized name), else `default_group` (default
 * "student"). An override is looked up by original name, then sanitized name;
 * it merges over the user's own group, and the group stays the user's real
 * group (used in slice names). */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "util/username.h"

/* Unlimited, for the integer limits below. */
#define LIMIT_UNLIMITED INT64_MAX

/* A size limit as configured: bytes plus the text as written (for docker
 * arguments, which keep the admin's spelling). */
struct size_limit {
        bool set; /* false: not configured, or null (see unlimited) */
        bool unlimited;
        uint64_t bytes;
        char *text; /* owned; NULL unless set */
};

struct user_policies {
        double gpu_idle_threshold;        /* percent */
        double cpu_idle_threshold;        /* percent */
        long long network_idle_threshold; /* bytes per check interval */
        long long idle_detection_window;  /* checks */
        int64_t sigterm_grace;            /* seconds */
};

struct user_aggregate {
        bool present; /* false: no aggregate cap for this user (e.g. admins) */
        bool has_cpu_quota, has_memory_max, has_memory_high, has_tasks_max, has_gpu_limit;
        double cpu_quota_percent; /* 9600 = 96 CPUs; INFINITY when null */
        uint64_t memory_max;      /* SIZE_INFINITY when null or "infinity" */
        uint64_t memory_high;
        long long tasks_max;                                       /* LIMIT_UNLIMITED when null */
        double gpu_limit;                                          /* INFINITY when null */
        char *cpu_quota_text, *memory_max_text, *memory_high_text; /* owned, as written */
};

enum group_source {
        GROUP_FROM_MEMBERSHIP, /* listed in the group (YAML or members file) */
        GROUP_FROM_DEFAULT,    /* in no group: default_group */
};

struct user_limits {
        char *user; /* as asked */
        char sanitized[USERNAME_SANITIZED_MAX];
        char *group; /* the user's real group */
        enum group_source group_source;
        bool group_defined; /* the group exists under groups: */
        char *override_key; /* the user_overrides entry used, or NULL */
        char *slice;        /* ds01-<group>-<sanitized>.slice */

        double max_gpu_equivalents;            /* INFINITY = unlimited; default 1.0 */
        long long max_gpu_slots_per_container; /* LIMIT_UNLIMITED; default 1 */
        bool allow_full_gpu;                   /* default false */
        double max_cpus;                       /* default 16 */
        struct size_limit memory;              /* default 32g */
        struct size_limit memory_swap;         /* default: = memory */
        struct size_limit shm_size;            /* default 16g */
        long long pids_limit;                  /* LIMIT_UNLIMITED; default 4096 */
        long long max_containers;              /* LIMIT_UNLIMITED; default 3 */
        int64_t max_runtime;                   /* seconds; DURATION_INFINITY default */
        int64_t idle_timeout;
        int64_t gpu_hold_after_stop;
        int64_t container_hold_after_stop;
        long long max_tasks; /* LIMIT_UNLIMITED default */
        long long priority;
        struct size_limit storage_tmp, storage_workspace, storage_data;

        bool has_reservation;
        int64_t reservation_start, reservation_end; /* epoch seconds */
        char **reserved_gpus;                       /* slot names, owned */
        size_t n_reserved_gpus;

        struct user_policies policies;
        struct user_aggregate aggregate;
};

/* Built-in values where nothing is configured. */
#define DEFAULT_MAX_GPU_EQUIVALENTS         1.0
#define DEFAULT_MAX_GPU_SLOTS_PER_CONTAINER 1
#define DEFAULT_MAX_CPUS                    16.0
#define DEFAULT_MEMORY                      "32g"
#define DEFAULT_SHM_SIZE                    "16g"
#define DEFAULT_PIDS_LIMIT                  4096
#define DEFAULT_MAX_CONTAINERS              3
#define DEFAULT_GROUP                       "student"
#define DEFAULT_PRIORITY                    10
#define OVERRIDE_DEFAULT_PRIORITY           100
#define DEFAULT_GPU_IDLE_THRESHOLD          5.0
#define DEFAULT_CPU_IDLE_THRESHOLD          2.0
#define DEFAULT_NETWORK_IDLE_THRESHOLD      1048576LL
#define DEFAULT_IDLE_DETECTION_WINDOW       3
#define DEFAULT_SIGTERM_GRACE               60

/* Resolves user against c (which should have no errors; with errors the
 * values that failed are simply not configured). 0, -EINVAL (empty or
 * unusable user name), -ENOMEM. On failure *ret is untouched. */
int config_resolve_user(const struct config *c, const char *user, struct user_limits *ret);
void user_limits_release(struct user_limits *l);

/* The exemption of user from the given enforcement (EXEMPT_IDLE_TIMEOUT or
 * EXEMPT_MAX_RUNTIME) in force at time now, or NULL. Exact user name first,
 * then the sanitized name. */
const struct config_exemption *config_find_exemption(const struct config *c, const char *user,
                                                     unsigned type, int64_t now);

/* "idle_timeout", "idle_timeout_h", "max_runtime", "max_runtime_h" -> the
 * enum exempt_type bit, or 0. */
unsigned exempt_type_from_name(const char *name);

/* The group of user, without resolving the rest. Borrowed from c, or the
 * built-in default group name. */
const char *config_user_group(const struct config *c, const char *user,
                              enum group_source *ret_source);

/* Settings that are not per user: global policies, enforcement, GPU
 * allocation, bare-metal access, access control, monitoring — each with its
 * built-in default applied where nothing is configured. */
struct global_settings {
        double high_demand_threshold;       /* share of slots; default 0.8 */
        double high_demand_idle_reduction;  /* factor; default 0.5 */
        int64_t grace_period;               /* seconds; default 30 min */
        int64_t keepalive_max_duration;     /* seconds or DURATION_INFINITY; default 24 h */
        int64_t gpu_hold_after_manual_stop; /* default 15 min */
        int64_t created_container_timeout;  /* default 30 min */
        bool aggregate_limits;              /* default true */
        const char *cgroup_driver;          /* "systemd" (default) or "cgroupfs"; borrowed */
        bool allow_multi_mig;               /* default false */
        int64_t queue_claim_window;         /* seconds; default 120 */
        int64_t queue_usage_half_life;      /* seconds; default 24 h */
        const char *admin_group;            /* access_control; default "ds01-admin"; borrowed */
        const char *enforcement_mode;       /* "full" (default), "monitoring", "disabled" */
        bool unowned_allow;                 /* access_control.unowned: allow */
        bool allowed_bind_paths_set;        /* false: the default ["~"] */
        char *const *allowed_bind_paths;    /* borrowed */
        size_t n_allowed_bind_paths;
        bool force_user_with_binds; /* default true */
        bool attach_nvidia_runtime; /* gpu_allocation.attach: nvidia_runtime */
        int64_t proxy_wait;         /* gpu_allocation.wait_s; default 180 */
        char *const *admin_users;   /* borrowed; may be NULL */
        size_t n_admin_users;
        const char *bare_metal_admin_group;   /* default: admin_group */
        char *const *bare_metal_exempt_users; /* borrowed */
        size_t n_bare_metal_exempt_users;
        int64_t default_grant_duration;         /* default 24 h */
        const char *bare_metal_policy;          /* "report" (default), "warn", "stop" */
        int64_t bare_metal_stop_grace;          /* s between warning and SIGTERM; default 300 */
        int64_t bare_metal_sigterm_grace;       /* s between SIGTERM and SIGKILL; default 30 */
        int64_t check_interval;                 /* policies.check_interval_s; default 60 */
        bool enforce_cpu_only;                  /* policies.enforce_cpu_only; default false */
        int64_t notify_cooldown;                /* policies.notify_cooldown_m; default 60 min */
        int64_t scan_interval;                  /* hostproc.scan_interval_s; default 30 */
        const char *infrastructure_label;       /* default "ds01.protected"; borrowed */
        char *const *infrastructure_containers; /* borrowed */
        size_t n_infrastructure_containers;
        /* proxy: seconds, DURATION_INFINITY for none (null); counts, 0 for none */
        int64_t proxy_head_timeout;              /* default 30 */
        int64_t proxy_idle_timeout;              /* default 120 */
        int64_t proxy_body_timeout;              /* default 60 */
        unsigned proxy_max_connections_per_user; /* default 128 */
        unsigned proxy_max_connections;          /* default 1024 */
};

#define DEFAULT_HIGH_DEMAND_THRESHOLD      0.8
#define DEFAULT_HIGH_DEMAND_IDLE_REDUCTION 0.5
#define DEFAULT_GRACE_PERIOD               (30 * 60)
#define DEFAULT_KEEPALIVE_MAX_DURATION     (24 * 3600)
#define DEFAULT_GPU_HOLD_AFTER_MANUAL_STOP (15 * 60)
#define DEFAULT_CREATED_CONTAINER_TIMEOUT  (30 * 60)
#define DEFAULT_CGROUP_DRIVER              "systemd"
#define DEFAULT_QUEUE_CLAIM_WINDOW         120
#define DEFAULT_QUEUE_USAGE_HALF_LIFE      (24 * 3600)
#define DEFAULT_ADMIN_GROUP                "ds01-admin"
#define DEFAULT_PROXY_WAIT                 180
#define DEFAULT_GRANT_DURATION             (24 * 3600)
#define DEFAULT_INFRASTRUCTURE_LABEL       "ds01.protected"
#define DEFAULT_CHECK_INTERVAL             60
#define DEFAULT_NOTIFY_COOLDOWN            (60 * 60)
#define DEFAULT_SCAN_INTERVAL              30
#define DEFAULT_BARE_METAL_STOP_GRACE      300
#define DEFAULT_BARE_METAL_SIGTERM_GRACE   30
#define DEFAULT_PROXY_HEAD_TIMEOUT         30
#define DEFAULT_PROXY_IDLE_TIMEOUT         120
#define DEFAULT_PROXY_BODY_TIMEOUT         60
#define DEFAULT_PROXY_MAX_CONNECTIONS_USER 128
#define DEFAULT_PROXY_MAX_CONNECTIONS      1024

/* Fills *ret from c; strings and lists are borrowed from c. */
void config_global_settings(const struct config *c, struct global_settings *ret);

/* Lifecycle limits of a container type (container_types.<type>); a key the
 * type does not set is DURATION_INFINITY for timeouts and the global
 * policies' sigterm_grace_s (default 60 s) for the grace. Unknown types get
 * the settings of "unknown". */
struct ctype_limits {
        int64_t idle_timeout;
        int64_t max_runtime;
        int64_t sigterm_grace;
        int64_t container_hold_after_stop;
};
void config_ctype_limits(const struct config *c, const char *type, struct ctype_limits *ret);
