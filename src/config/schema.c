/* schema.c - every key of resource-limits.yaml and its side files, in tables.
 *
 * The order of keys with the same id is the alias chain: the canonical name
 * first, then the legacy names in the order existing DS01 tools looked them up
 * (max_gpu_equivalents <- max_gpu_slots <- max_gpus_per_user <-
 * max_mig_instances). Keys of kind CFG_IGNORED are ones old DS01 releases wrote
 * into their example files but never acted on: they are accepted with a
 * warning so an existing installation's file still loads. */
#include "config/schema.h"

#include <limits.h>
#include <math.h>

#include "config/config.h"
#include "util/macro.h"
#include "util/strutil.h"
#include "util/units.h"

#define NOLIMIT 1e18

#define KEY(n, i, k, fl, u, lo, hi, d)                                                             \
        {                                                                                          \
                n, i, k, fl, u, lo, hi, NULL, d                                                    \
        }
#define KEY_S(n, i, allowed, d)                                                                    \
        {                                                                                          \
                n, i, CFG_STRING, 0, 0, 0, 0, allowed, d                                           \
        }
#define IGNORED(n)                                                                                 \
        {                                                                                          \
                n, -1, CFG_IGNORED, 0, 0, 0, 0, NULL,                                              \
                    "read by old DS01 releases; no effect in ds01"                                 \
        }

#define SECTION(var, p, table) const struct cfg_section var = {p, table, ELEMENTSOF(table)}

static const struct cfg_key user_keys[] = {
    KEY("max_gpu_equivalents", LIMIT_MAX_GPU_EQUIVALENTS, CFG_FLOAT, CFG_F_NULLABLE, 0, 0, NOLIMIT,
        "GPU-equivalents a user may hold across all containers (full GPU = 1.0, MIG = its "
        "share of compute slices)"),
    KEY("max_gpu_slots", LIMIT_MAX_GPU_EQUIVALENTS, CFG_FLOAT, CFG_F_NULLABLE | CFG_F_ALIAS, 0, 0,
        NOLIMIT, "legacy name of max_gpu_equivalents"),
    KEY("max_gpus_per_user", LIMIT_MAX_GPU_EQUIVALENTS, CFG_FLOAT, CFG_F_NULLABLE | CFG_F_ALIAS, 0,
        0, NOLIMIT, "legacy name of max_gpu_equivalents"),
    KEY("max_mig_instances", LIMIT_MAX_GPU_EQUIVALENTS, CFG_FLOAT, CFG_F_NULLABLE | CFG_F_ALIAS, 0,
        0, NOLIMIT, "legacy name of max_gpu_equivalents"),
    KEY("max_gpu_slots_per_container", LIMIT_MAX_GPU_SLOTS_PER_CONTAINER, CFG_INT, CFG_F_NULLABLE,
        0, 0, INT_MAX, "GPU or MIG slots one container may hold"),
    KEY("max_gpus_per_container", LIMIT_MAX_GPU_SLOTS_PER_CONTAINER, CFG_INT,
        CFG_F_NULLABLE | CFG_F_ALIAS, 0, 0, INT_MAX, "legacy name of max_gpu_slots_per_container"),
    KEY("max_mig_per_container", LIMIT_MAX_GPU_SLOTS_PER_CONTAINER, CFG_INT,
        CFG_F_NULLABLE | CFG_F_ALIAS, 0, 0, INT_MAX, "legacy name of max_gpu_slots_per_container"),
    KEY("allow_full_gpu", LIMIT_ALLOW_FULL_GPU, CFG_BOOL, 0, 0, 0, 0,
        "whether the user may be given a whole (non-MIG) GPU"),
    KEY("max_cpus", LIMIT_MAX_CPUS, CFG_FLOAT, 0, 0, 0.01, 1e6,
        "CPU cores per container (docker --cpus)"),
    KEY("cpus", LIMIT_MAX_CPUS, CFG_FLOAT, CFG_F_ALIAS, 0, 0.01, 1e6, "legacy name of max_cpus"),
    KEY("memory", LIMIT_MEMORY, CFG_DOCKER_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "memory per container (docker --memory)"),
    KEY("memory_swap", LIMIT_MEMORY_SWAP, CFG_DOCKER_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "memory plus swap per container (docker --memory-swap); equal to memory = no swap"),
    KEY("shm_size", LIMIT_SHM_SIZE, CFG_DOCKER_SIZE, 0, 0, 0, 0,
        "size of /dev/shm per container (docker --shm-size)"),
    KEY("pids_limit", LIMIT_PIDS_LIMIT, CFG_INT, CFG_F_NULLABLE, 0, 1, INT_MAX,
        "processes per container (docker --pids-limit)"),
    KEY("max_containers_per_user", LIMIT_MAX_CONTAINERS_PER_USER, CFG_INT, CFG_F_NULLABLE, 0, 0,
        INT_MAX, "containers a user may have at once"),
    KEY("max_runtime_h", LIMIT_MAX_RUNTIME, CFG_DURATION, CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "longest a container may run, in hours"),
    KEY("max_runtime", LIMIT_MAX_RUNTIME, CFG_DURATION, CFG_F_NULLABLE | CFG_F_ALIAS, SEC_PER_HOUR,
        0, 0, "legacy name of max_runtime_h"),
    KEY("idle_timeout_h", LIMIT_IDLE_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "idle time after which a GPU container is stopped, in hours"),
    KEY("idle_timeout", LIMIT_IDLE_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE | CFG_F_ALIAS,
        SEC_PER_HOUR, 0, 0, "legacy name of idle_timeout_h"),
    KEY("gpu_hold_after_stop_h", LIMIT_GPU_HOLD_AFTER_STOP, CFG_DURATION, CFG_F_NULLABLE,
        SEC_PER_HOUR, 0, 0, "how long a stopped container keeps its GPU, in hours"),
    KEY("gpu_hold_after_stop", LIMIT_GPU_HOLD_AFTER_STOP, CFG_DURATION,
        CFG_F_NULLABLE | CFG_F_ALIAS, SEC_PER_HOUR, 0, 0, "legacy name of gpu_hold_after_stop_h"),
    KEY("container_hold_after_stop_h", LIMIT_CONTAINER_HOLD_AFTER_STOP, CFG_DURATION,
        CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "how long a stopped container is kept before removal, in hours"),
    KEY("container_hold_after_stop", LIMIT_CONTAINER_HOLD_AFTER_STOP, CFG_DURATION,
        CFG_F_NULLABLE | CFG_F_ALIAS, SEC_PER_HOUR, 0, 0,
        "legacy name of container_hold_after_stop_h"),
    KEY("max_tasks", LIMIT_MAX_TASKS, CFG_INT, CFG_F_NULLABLE, 0, 1, 1e15,
        "tasks (threads) in the user's slice (systemd TasksMax)"),
    KEY("priority", LIMIT_PRIORITY, CFG_INT, 0, 0, 0, 1000,
        "queue priority; higher is served first"),
    KEY("storage_tmp", LIMIT_STORAGE_TMP, CFG_DOCKER_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "size of a tmpfs mounted on /tmp in the container"),
    KEY("storage_workspace", LIMIT_STORAGE_WORKSPACE, CFG_DOCKER_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "workspace storage quota (informational)"),
    KEY("storage_data", LIMIT_STORAGE_DATA, CFG_DOCKER_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "data storage quota (informational)"),
    KEY("reservation_start", LIMIT_RESERVATION_START, CFG_TIMESTAMP, CFG_F_NULLABLE, 0, 0, 0,
        "start of a GPU reservation (ISO 8601; local time without a zone)"),
    KEY("reservation_end", LIMIT_RESERVATION_END, CFG_TIMESTAMP, CFG_F_NULLABLE, 0, 0, 0,
        "end of a GPU reservation"),
    KEY("reserved_gpus", LIMIT_RESERVED_GPUS, CFG_SLOT_LIST, CFG_F_NULLABLE, 0, 0, 0,
        "GPU slots reserved for the user between start and end (\"0\", \"1.2\")"),
    KEY("reason", LIMIT_REASON, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0,
        "why this override or reservation exists (shown to admins)"),
    IGNORED("gpu_memory"),
    IGNORED("io_read_bps"),
    IGNORED("io_write_bps"),
    IGNORED("ulimit_nofile"),
};
SECTION(cfg_section_user, "defaults, groups.<group>, user_overrides.<user>", user_keys);

static const struct cfg_key group_keys[] = {
    KEY("members", 0, CFG_STRING_LIST, CFG_F_NULLABLE, 0, 0, 0,
        "user names in the group (also read from groups/<group>.members)"),
    KEY("aggregate", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "per-user totals across all containers; null or absent = no aggregate cap"),
    KEY("policies", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "lifecycle policies for members of the group"),
};
SECTION(cfg_section_group, "groups.<group>", group_keys);

static const struct cfg_key override_keys[] = {
    KEY("aggregate", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "per-user totals for this user, merged key by key over the group's"),
    KEY("policies", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0, "lifecycle policies for this user"),
};
SECTION(cfg_section_override, "user_overrides.<user>", override_keys);

static const struct cfg_key aggregate_keys[] = {
    KEY("cpu_quota", AGG_CPU_QUOTA, CFG_PERCENT, CFG_F_NULLABLE, 0, 1, 1e9,
        "CPU time of all the user's containers (systemd CPUQuota, 100% = 1 CPU)"),
    KEY("memory_max", AGG_MEMORY_MAX, CFG_SYSTEMD_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "hard memory limit of the user's slice (systemd MemoryMax)"),
    KEY("memory_high", AGG_MEMORY_HIGH, CFG_SYSTEMD_SIZE, CFG_F_NULLABLE, 0, 0, 0,
        "memory throttling point of the user's slice (systemd MemoryHigh)"),
    KEY("tasks_max", AGG_TASKS_MAX, CFG_INT, CFG_F_NULLABLE, 0, 1, 1e15,
        "tasks in the user's slice (systemd TasksMax)"),
    KEY("gpu_limit", AGG_GPU_LIMIT, CFG_FLOAT, CFG_F_NULLABLE, 0, 0, NOLIMIT,
        "GPU-equivalents across all the user's containers"),
};
SECTION(cfg_section_aggregate, "groups.<group>.aggregate", aggregate_keys);

#define USER_POLICY_KEYS                                                                           \
        KEY("gpu_idle_threshold", POLICY_GPU_IDLE_THRESHOLD, CFG_FLOAT, 0, 0, 0, 100,              \
            "GPU utilization (%) below which a GPU counts as idle; default 5"),                    \
            KEY("cpu_idle_threshold", POLICY_CPU_IDLE_THRESHOLD, CFG_FLOAT, 0, 0, 0, 1e6,          \
                "CPU use (%) above which an idle-GPU container is still active; default 2.0"),     \
            KEY("network_idle_threshold", POLICY_NETWORK_IDLE_THRESHOLD, CFG_INT, 0, 0, 0, 1e18,   \
                "network bytes per check interval above which a container is active; "             \
                "default 1048576"),                                                                \
            KEY("idle_detection_window", POLICY_IDLE_DETECTION_WINDOW, CFG_INT, 0, 0, 1, 1000,     \
                "idle checks in a row before a container is stopped; default 3"),                  \
            KEY("sigterm_grace_s", POLICY_SIGTERM_GRACE, CFG_DURATION, 0, 1, 0, 0,                 \
                "seconds between SIGTERM and SIGKILL when stopping; default 60")

static const struct cfg_key user_policy_keys[] = {
    USER_POLICY_KEYS,
};
SECTION(cfg_section_user_policies, "groups.<group>.policies, user_overrides.<user>.policies",
        user_policy_keys);

static const struct cfg_key policy_keys[] = {
    USER_POLICY_KEYS,
    KEY("high_demand_threshold", POLICY_HIGH_DEMAND_THRESHOLD, CFG_FLOAT, 0, 0, 0, 1,
        "share of GPU slots allocated at which high-demand mode starts; default 0.8"),
    KEY("high_demand_idle_reduction", POLICY_HIGH_DEMAND_IDLE_REDUCTION, CFG_FLOAT, 0, 0, 0, 1,
        "factor applied to idle timeouts in high-demand mode; default 0.5"),
    KEY("grace_period_m", POLICY_GRACE_PERIOD, CFG_DURATION, 0, SEC_PER_MIN, 0, 0,
        "minutes after a start before idle detection begins; default 30"),
    KEY("keepalive_max_duration_h", POLICY_KEEPALIVE_MAX_DURATION, CFG_DURATION, CFG_F_NULLABLE,
        SEC_PER_HOUR, 0, 0,
        "hours a .keep-alive file keeps a container from idle stops; default 24"),
    KEY("gpu_hold_after_manual_stop_m", POLICY_GPU_HOLD_AFTER_MANUAL_STOP, CFG_DURATION,
        CFG_F_NULLABLE, SEC_PER_MIN, 0, 0,
        "minutes a GPU stays held after a user stops a container; default 15"),
    KEY("created_container_timeout_m", POLICY_CREATED_CONTAINER_TIMEOUT, CFG_DURATION,
        CFG_F_NULLABLE, SEC_PER_MIN, 0, 0,
        "minutes before a created, never started container is removed; default 30"),
    KEY("check_interval_s", POLICY_CHECK_INTERVAL, CFG_DURATION, 0, 1, 0, 0,
        "seconds between two passes of the lifecycle loop (idle, runtime, removal); default 60"),
    KEY("enforce_cpu_only", POLICY_ENFORCE_CPU_ONLY, CFG_BOOL, 0, 0, 0, 0,
        "apply idle and runtime limits to containers without GPUs too; default false"),
    KEY("notify_cooldown_m", POLICY_NOTIFY_COOLDOWN, CFG_DURATION, 0, SEC_PER_MIN, 0, 0,
        "minutes before the same warning or alert is sent to a user again; default 60"),
    IGNORED("auto_stop_idle"),
    IGNORED("checkpoint_warning"),
    IGNORED("require_workspace_mount"),
    IGNORED("enforce_storage_quotas"),
    IGNORED("soft_limit_threshold"),
    IGNORED("graceful_errors"),
    IGNORED("suggest_alternatives"),
};
SECTION(cfg_section_policies, "policies", policy_keys);

static const struct cfg_key top_keys[] = {
    KEY("defaults", 0, CFG_SECTION, 0, 0, 0, 0, "per-user limits every layer starts from"),
    KEY("default_group", 0, CFG_STRING, 0, 0, 0, 0,
        "group of users in no group; must be defined under groups; default student"),
    KEY("enforcement", 0, CFG_SECTION, 0, 0, 0, 0, "how limits are enforced"),
    KEY("groups", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "groups in priority order of membership: a user belongs to the first that lists them"),
    KEY("user_overrides", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "per-user exceptions (also read from user-overrides.yaml)"),
    KEY("gpu_allocation", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0, "GPU allocation settings"),
    KEY("policies", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0, "global lifecycle policies"),
    KEY("container_types", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "lifecycle limits of containers not created by ds01, by type"),
    KEY("bare_metal_access", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0, "GPU use outside containers"),
    KEY("hostproc", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "the scan for GPU processes outside containers"),
    KEY("access_control", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0, "who is an admin"),
    KEY("monitoring", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "infrastructure containers that ds01 leaves alone"),
    KEY("proxy", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "connection limits and timeouts of the Docker API proxy"),
    IGNORED("advanced"),
    IGNORED("wizard"),
};
SECTION(cfg_section_top, "(top level)", top_keys);

static const struct cfg_key enforcement_keys[] = {
    KEY("aggregate_limits", ENF_AGGREGATE_LIMITS, CFG_BOOL, 0, 0, 0, 0,
        "enforce groups' aggregate limits through per-user systemd slices; default true"),
    KEY_S("cgroup_driver", ENF_CGROUP_DRIVER, "systemd|cgroupfs",
          "Docker's cgroup driver: systemd or cgroupfs; default systemd"),
};
SECTION(cfg_section_enforcement, "enforcement", enforcement_keys);

static const struct cfg_key gpu_allocation_keys[] = {
    KEY("slots_per_gpu", GA_SLOTS_PER_GPU, CFG_INT, 0, 0, 1, 7,
        "legacy fixed slots per GPU; informational, weights come from NVML"),
    KEY("mig_instances_per_gpu", GA_SLOTS_PER_GPU, CFG_INT, CFG_F_ALIAS, 0, 1, 7,
        "legacy name of slots_per_gpu"),
    KEY("allow_multi_mig", GA_ALLOW_MULTI_MIG, CFG_BOOL, 0, 0, 0, 0,
        "allow several MIG slots in one container; default false"),
    KEY("queue_claim_window_s", GA_QUEUE_CLAIM_WINDOW, CFG_DURATION, 0, 1, 0, 0,
        "how long a slot freed for the head of the queue is kept for it, in seconds; default 120"),
    KEY("queue_usage_half_life_h", GA_QUEUE_USAGE_HALF_LIFE, CFG_DURATION, 0, SEC_PER_HOUR, 0, 0,
        "half-life of past GPU-hours in the queue order, in hours; default 24"),
    KEY_S("attach", GA_ATTACH, "device_requests|nvidia_runtime",
          "how the proxy gives a container its GPUs: device_requests (default) or "
          "nvidia_runtime"),
    KEY("wait_s", GA_WAIT, CFG_DURATION, 0, 1, 0, 0,
        "how long a create through the proxy waits in the queue for a GPU, in seconds; "
        "default 180"),
    IGNORED("strategy"),
    IGNORED("allocation_method"),
    IGNORED("enable_mig"),
    IGNORED("mig_strategy"),
    IGNORED("mig_profile"),
    IGNORED("mig_gpus"),
    IGNORED("respect_reservations"),
};
SECTION(cfg_section_gpu_allocation, "gpu_allocation", gpu_allocation_keys);

static const struct cfg_key ctype_keys[] = {
    KEY("idle_timeout_h", CTYPE_IDLE_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "idle timeout for this type, in hours; null = exempt from idle stops"),
    KEY("idle_timeout", CTYPE_IDLE_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE | CFG_F_ALIAS,
        SEC_PER_HOUR, 0, 0, "legacy name of idle_timeout_h"),
    KEY("max_runtime_h", CTYPE_MAX_RUNTIME, CFG_DURATION, CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "longest runtime for this type, in hours"),
    KEY("max_runtime", CTYPE_MAX_RUNTIME, CFG_DURATION, CFG_F_NULLABLE | CFG_F_ALIAS, SEC_PER_HOUR,
        0, 0, "legacy name of max_runtime_h"),
    KEY("sigterm_grace_s", CTYPE_SIGTERM_GRACE, CFG_DURATION, 0, 1, 0, 0,
        "seconds between SIGTERM and SIGKILL for this type"),
    KEY("container_hold_after_stop_h", CTYPE_CONTAINER_HOLD_AFTER_STOP, CFG_DURATION,
        CFG_F_NULLABLE, SEC_PER_HOUR, 0, 0,
        "how long a stopped container of this type is kept, in hours"),
    IGNORED("default_mig_count"),
};
SECTION(cfg_section_ctype, "container_types.<type>", ctype_keys);

static const struct cfg_key bare_metal_keys[] = {
    KEY("exempt_users", BM_EXEMPT_USERS, CFG_STRING_LIST, CFG_F_NULLABLE, 0, 0, 0,
        "users who may always use GPUs outside containers"),
    KEY("admin_group", BM_ADMIN_GROUP, CFG_STRING, 0, 0, 0, 0,
        "Unix group allowed to grant bare-metal access"),
    KEY("default_grant_duration_h", BM_DEFAULT_GRANT_DURATION, CFG_DURATION, 0, SEC_PER_HOUR, 0, 0,
        "length of a bare-metal grant when none is given, in hours; default 24"),
    KEY("default_grant_duration", BM_DEFAULT_GRANT_DURATION, CFG_DURATION, CFG_F_ALIAS,
        SEC_PER_HOUR, 0, 0, "legacy name of default_grant_duration_h"),
    KEY("state_dir", BM_STATE_DIR, CFG_STRING, 0, 0, 0, 0, "legacy grant folder, imported once"),
    KEY_S("policy", BM_POLICY, "report|warn|stop",
          "what happens to GPU processes outside containers of users without a grant: report "
          "(default), warn (tell the user) or stop (warn, then SIGTERM, then SIGKILL)"),
    KEY("stop_grace_s", BM_STOP_GRACE, CFG_DURATION, 0, 1, 0, 0,
        "policy stop: seconds between the warning and SIGTERM; default 300"),
    KEY("sigterm_grace_s", BM_SIGTERM_GRACE, CFG_DURATION, 0, 1, 0, 0,
        "policy stop: seconds between SIGTERM and SIGKILL; default 30"),
};
SECTION(cfg_section_bare_metal, "bare_metal_access", bare_metal_keys);

static const struct cfg_key hostproc_keys[] = {
    KEY("scan_interval_s", HPK_SCAN_INTERVAL, CFG_DURATION, 0, 1, 0, 0,
        "seconds between two scans for GPU processes outside containers; default 30"),
};
SECTION(cfg_section_hostproc, "hostproc", hostproc_keys);

static const struct cfg_key access_keys[] = {
    KEY("admin_users", AC_ADMIN_USERS, CFG_STRING_LIST, CFG_F_NULLABLE, 0, 0, 0,
        "users with admin rights in ds01"),
    KEY("admin_group", AC_ADMIN_GROUP, CFG_STRING, 0, 0, 0, 0,
        "Unix group whose members are ds01 admins; default ds01-admin"),
    KEY_S("enforcement_mode", AC_ENFORCEMENT_MODE, "full|monitoring|disabled",
          "the Docker proxy's policy: full (default), monitoring (log, allow) or disabled"),
    KEY_S("unowned", AC_UNOWNED, "deny|allow",
          "containers with no known owner: deny (default) or allow (with an event)"),
    KEY("allowed_bind_paths", AC_ALLOWED_BIND_PATHS, CFG_STRING_LIST, 0, 0, 0, 0,
        "host folders users may bind-mount (~ = the user's home, {user} = the login name); "
        "[] allows none; default [\"~\"]"),
    KEY("force_user_with_binds", AC_FORCE_USER_WITH_BINDS, CFG_BOOL, 0, 0, 0, 0,
        "run containers with host binds as the caller's uid:gid; default true"),
    KEY("wrapper", 0, CFG_SECTION, CFG_F_NULLABLE, 0, 0, 0,
        "settings of the old docker CLI wrapper; no effect in ds01"),
};
SECTION(cfg_section_access, "access_control", access_keys);

static const struct cfg_key access_wrapper_keys[] = {
    IGNORED("enforcement_mode"),
    IGNORED("debug_level"),
    IGNORED("unknown_commands"),
};
SECTION(cfg_section_access_wrapper, "access_control.wrapper", access_wrapper_keys);

static const struct cfg_key monitoring_keys[] = {
    KEY("infrastructure_containers", MON_INFRASTRUCTURE_CONTAINERS, CFG_STRING_LIST, CFG_F_NULLABLE,
        0, 0, 0, "name prefixes of infrastructure containers, never counted as unmanaged"),
    KEY("infrastructure_label", MON_INFRASTRUCTURE_LABEL, CFG_STRING, 0, 0, 0, 0,
        "label that marks protected infrastructure; default ds01.protected"),
};
SECTION(cfg_section_monitoring, "monitoring", monitoring_keys);

static const struct cfg_key proxy_keys[] = {
    KEY("head_timeout_s", PXK_HEAD_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE, 1, 0, 0,
        "seconds a client has to send a whole request head (408 after); default 30"),
    KEY("idle_timeout_s", PXK_IDLE_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE, 1, 0, 0,
        "seconds a kept-alive connection may wait for its next request; default 120"),
    KEY("body_timeout_s", PXK_BODY_TIMEOUT, CFG_DURATION, CFG_F_NULLABLE, 1, 0, 0,
        "seconds a client has to send a body ds01 reads itself (create, exec, update); "
        "default 60"),
    KEY("max_connections_per_user", PXK_MAX_CONNECTIONS_PER_USER, CFG_INT, CFG_F_NULLABLE, 0, 1,
        1000000, "open proxy connections one user may have (root: no cap); default 128"),
    KEY("max_connections", PXK_MAX_CONNECTIONS, CFG_INT, CFG_F_NULLABLE, 0, 1, 1000000,
        "open proxy connections of all users together; default 1024"),
};
SECTION(cfg_section_proxy, "proxy", proxy_keys);

static const struct cfg_key exemption_keys[] = {
    KEY("username", EXM_USERNAME, CFG_STRING, 0, 0, 0, 0, "the user (login name)"),
    KEY("exempt_from", EXM_EXEMPT_FROM, CFG_STRING_LIST, 0, 0, 0, 0,
        "enforcements waived: idle_timeout, max_runtime (an _h suffix is accepted)"),
    KEY("expires_on", EXM_EXPIRES_ON, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0,
        "ISO 8601 date or time after which the exemption ends; null = permanent"),
    KEY("reason", EXM_REASON, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0, "why"),
    KEY("approved_by", EXM_APPROVED_BY, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0, "who approved it"),
    KEY("approved_on", EXM_APPROVED_ON, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0,
        "when it was approved"),
    KEY("category", EXM_CATEGORY, CFG_STRING, CFG_F_NULLABLE, 0, 0, 0,
        "research_grant or waiver (informational)"),
};
SECTION(cfg_section_exemption, "lifecycle-exemptions.yaml: exemptions[]", exemption_keys);

const struct cfg_section *const cfg_sections[] = {
    &cfg_section_top,      &cfg_section_user,           &cfg_section_group,
    &cfg_section_override, &cfg_section_aggregate,      &cfg_section_user_policies,
    &cfg_section_policies, &cfg_section_enforcement,    &cfg_section_gpu_allocation,
    &cfg_section_ctype,    &cfg_section_bare_metal,     &cfg_section_hostproc,
    &cfg_section_access,   &cfg_section_access_wrapper, &cfg_section_monitoring,
    &cfg_section_proxy,    &cfg_section_exemption,
};
const size_t cfg_n_sections = ELEMENTSOF(cfg_sections);

const char *const cfg_ctype_names[] = {"devcontainer", "compose", "docker", "api", "unknown"};
const size_t cfg_n_ctype_names = ELEMENTSOF(cfg_ctype_names);

const struct cfg_key *cfg_section_find(const struct cfg_section *s, const char *name)
{
        for (size_t i = 0; i < s->n_keys; i++)
                if (streq(s->keys[i].name, name))
                        return &s->keys[i];
        return NULL;
}

const struct cfg_key *cfg_section_canonical(const struct cfg_section *s, int id)
{
        for (size_t i = 0; i < s->n_keys; i++)
                if (s->keys[i].id == id && !(s->keys[i].flags & CFG_F_ALIAS) &&
                    s->keys[i].kind != CFG_IGNORED)
                        return &s->keys[i];
        return NULL;
}

const char *cfg_section_suggest(const struct cfg_section *s, const char *name)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        size_t len = strlen(name);
        /* Close enough: at most a third of the name's letters differ, and at
         * least two edits are always tolerated. */
        size_t limit = MAX(2, len / 3);

        for (size_t i = 0; i < s->n_keys; i++) {
                size_t d = str_edit_distance(name, s->keys[i].name);
                if (d < best_d) {
                        best_d = d;
                        best = s->keys[i].name;
                }
        }
        return best_d <= limit ? best : NULL;
}
