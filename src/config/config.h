/* config.h - the DS01 configuration: resource-limits.yaml and its side files.
 *
 * config_load() reads resource-limits.yaml and, from the same folder,
 * groups/<group>.members, user-overrides.yaml and lifecycle-exemptions.yaml,
 * into a struct config that keeps every configured value with where it came
 * from (file:line:column), and a list of diagnostics (errors and warnings) for
 * every problem found. Loading never stops at the first problem, never crashes
 * on bad input and never silently substitutes a default for a broken value.
 *
 * What a given user may have is answered by config_resolve_user() in
 * config/resolve.h. The schema (every key, its type, aliases and default)
 * lives in config/schema.c and is documented in docs/CONFIG.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH DS01_SYSCONFDIR "/ds01/resource-limits.yaml"
/* Largest configuration file (any of them) we read. */
#define CONFIG_FILE_MAX (4u * 1024 * 1024)

/* Where a value came from; line and column are 1-based, 0 when unknown. */
struct cfg_src {
        const char *file; /* borrowed from the config's file list */
        unsigned line;
        unsigned column;
};

enum cfg_state {
        CFG_UNSET = 0, /* key absent: "not configured", the documented default applies */
        CFG_NULL,      /* key present with null: unlimited */
        CFG_SET,       /* key present with a value */
};

/* One configured value. Which member is meaningful depends on the key's kind
 * (see enum cfg_kind in schema.h). */
struct cfg_value {
        enum cfg_state state;
        struct cfg_src src;
        const char *key; /* the name used in the file (an alias, maybe); static */
        unsigned rank;   /* 0 = canonical name, >0 = position in the alias chain */
        bool merged;     /* came in through a YAML merge key (<<) */
        bool b;          /* CFG_BOOL */
        long long i;     /* CFG_INT */
        double f;        /* CFG_FLOAT, CFG_PERCENT */
        uint64_t size;   /* CFG_DOCKER_SIZE, CFG_SYSTEMD_SIZE */
        int64_t secs;    /* CFG_DURATION (seconds), CFG_TIMESTAMP (epoch) */
        char *s;         /* the scalar as written (all scalar kinds) */
        char **list;     /* CFG_STRING_LIST, CFG_SLOT_LIST */
        size_t n_list;
};

/* Per-user keys; they may appear in defaults, a group and a user override. */
enum limit_key {
        LIMIT_MAX_GPU_EQUIVALENTS,
        LIMIT_MAX_GPU_SLOTS_PER_CONTAINER,
        LIMIT_ALLOW_FULL_GPU,
        LIMIT_MAX_CPUS,
        LIMIT_MEMORY,
        LIMIT_MEMORY_SWAP,
        LIMIT_SHM_SIZE,
        LIMIT_PIDS_LIMIT,
        LIMIT_MAX_CONTAINERS_PER_USER,
        LIMIT_MAX_RUNTIME,
        LIMIT_IDLE_TIMEOUT,
        LIMIT_GPU_HOLD_AFTER_STOP,
        LIMIT_CONTAINER_HOLD_AFTER_STOP,
        LIMIT_MAX_TASKS,
        LIMIT_PRIORITY,
        LIMIT_STORAGE_TMP,
        LIMIT_STORAGE_WORKSPACE,
        LIMIT_STORAGE_DATA,
        LIMIT_RESERVATION_START,
        LIMIT_RESERVATION_END,
        LIMIT_RESERVED_GPUS,
        LIMIT_REASON,
        LIMIT__MAX,
};

/* Lifecycle policy keys. The first POLICY_USER__MAX may be set per group and
 * per user override; the rest only in the global `policies` section. */
enum policy_key {
        POLICY_GPU_IDLE_THRESHOLD,
        POLICY_CPU_IDLE_THRESHOLD,
        POLICY_NETWORK_IDLE_THRESHOLD,
        POLICY_IDLE_DETECTION_WINDOW,
        POLICY_SIGTERM_GRACE,
        POLICY_USER__MAX,
        POLICY_HIGH_DEMAND_THRESHOLD = POLICY_USER__MAX,
        POLICY_HIGH_DEMAND_IDLE_REDUCTION,
        POLICY_GRACE_PERIOD,
        POLICY_KEEPALIVE_MAX_DURATION,
        POLICY_GPU_HOLD_AFTER_MANUAL_STOP,
        POLICY_CREATED_CONTAINER_TIMEOUT,
        POLICY_CHECK_INTERVAL,
        POLICY_ENFORCE_CPU_ONLY,
        POLICY_NOTIFY_COOLDOWN,
        POLICY__MAX,
};

/* groups.<g>.aggregate: per-user totals enforced through the user's slice. */
enum aggregate_key {
        AGG_CPU_QUOTA,
        AGG_MEMORY_MAX,
        AGG_MEMORY_HIGH,
        AGG_TASKS_MAX,
        AGG_GPU_LIMIT,
        AGG__MAX,
};

enum enforcement_key {
        ENF_AGGREGATE_LIMITS,
        ENF_CGROUP_DRIVER,
        ENF__MAX,
};

enum gpu_allocation_key {
        GA_SLOTS_PER_GPU,
        GA_ALLOW_MULTI_MIG,
        GA_QUEUE_CLAIM_WINDOW,
        GA_QUEUE_USAGE_HALF_LIFE,
        GA_ATTACH,
        GA_WAIT,
        GA__MAX,
};

/* container_types.<type> */
enum ctype_key {
        CTYPE_IDLE_TIMEOUT,
        CTYPE_MAX_RUNTIME,
        CTYPE_SIGTERM_GRACE,
        CTYPE_CONTAINER_HOLD_AFTER_STOP,
        CTYPE__MAX,
};

enum bare_metal_key {
        BM_EXEMPT_USERS,
        BM_ADMIN_GROUP,
        BM_DEFAULT_GRANT_DURATION,
        BM_STATE_DIR,
        BM_POLICY,
        BM_STOP_GRACE,
        BM_SIGTERM_GRACE,
        BM__MAX,
};

/* hostproc: the scan for GPU processes outside containers */
enum hostproc_key {
        HPK_SCAN_INTERVAL,
        HPK__MAX,
};

enum access_key {
        AC_ADMIN_USERS,
        AC_ADMIN_GROUP,
        AC_ENFORCEMENT_MODE,
        AC_UNOWNED,
        AC_ALLOWED_BIND_PATHS,
        AC_FORCE_USER_WITH_BINDS,
        AC__MAX,
};

enum monitoring_key {
        MON_INFRASTRUCTURE_CONTAINERS,
        MON_INFRASTRUCTURE_LABEL,
        MON__MAX,
};

/* proxy: connection limits and timeouts of the Docker API proxy */
enum proxy_key {
        PXK_HEAD_TIMEOUT,
        PXK_IDLE_TIMEOUT,
        PXK_BODY_TIMEOUT,
        PXK_MAX_CONNECTIONS_PER_USER,
        PXK_MAX_CONNECTIONS,
        PXK__MAX,
};

/* Values of one layer: `defaults`, one group, or one user override. */
struct limits_layer {
        struct cfg_value v[LIMIT__MAX];
        struct cfg_value policy[POLICY_USER__MAX];
        struct cfg_value aggregate[AGG__MAX];
        bool has_aggregate;  /* an `aggregate:` mapping is present (even empty) */
        bool aggregate_null; /* `aggregate: null`: explicitly no aggregate cap */
};

struct config_group {
        char *name;
        struct cfg_src src;
        struct limits_layer layer;
        char **members; /* inline members first, then the members file; no duplicates */
        size_t n_members;
        bool has_members_file;
};

struct config_override {
        char *user;
        struct cfg_src src;
        struct limits_layer layer;
};

enum exempt_type {
        EXEMPT_IDLE_TIMEOUT = 1u << 0,
        EXEMPT_MAX_RUNTIME = 1u << 1,
};

struct config_exemption {
        char *user;
        struct cfg_src src;
        unsigned exempt_from; /* enum exempt_type bits */
        bool permanent;       /* expires_on: null */
        bool valid;           /* false: malformed entry, it applies to nobody */
        int64_t expires;      /* epoch seconds, when !permanent */
        char *expires_text;
        char *reason;
};

struct config_ctype {
        char *name;
        struct cfg_src src;
        struct cfg_value v[CTYPE__MAX];
};

enum cfg_severity {
        CFG_NOTE,
        CFG_WARNING,
        CFG_ERROR,
};

struct cfg_diag {
        enum cfg_severity severity;
        struct cfg_src src;
        char *message;
};

struct config {
        char *path; /* resource-limits.yaml as given */
        char *dir;  /* its folder, where the side files are looked up */

        char **files; /* every file read, owned; cfg_src.file points here */
        size_t n_files;

        struct limits_layer defaults;
        struct cfg_value default_group; /* string */
        struct config_group *groups;    /* YAML order */
        size_t n_groups;
        struct config_override *overrides; /* inline user_overrides, then user-overrides.yaml */
        size_t n_overrides;
        struct cfg_value policies[POLICY__MAX];
        struct cfg_value enforcement[ENF__MAX];
        struct cfg_value gpu_allocation[GA__MAX];
        struct config_ctype *ctypes;
        size_t n_ctypes;
        struct cfg_value bare_metal[BM__MAX];
        struct cfg_value hostproc[HPK__MAX];
        struct cfg_value access[AC__MAX];
        struct cfg_value monitoring[MON__MAX];
        struct cfg_value proxy[PXK__MAX];

        struct config_exemption *exemptions;
        size_t n_exemptions;
        bool exemptions_loaded; /* the file exists and parsed */

        struct cfg_diag *diags;
        size_t n_diags;
        size_t n_errors;
        size_t n_warnings;
};

/* Loads path (NULL: $DS01_CONFIG, else CONFIG_DEFAULT_PATH) and its side files.
 *
 * Returns 0 and a config when the files could be read, even if they contain
 * errors: check (*ret)->n_errors and the diagnostics. Returns -ENOMEM, or
 * -errno when resource-limits.yaml itself cannot be opened (then *ret is a
 * config holding only the diagnostic that says why, so the caller can print
 * it). *ret is always set on return 0 or -errno other than -ENOMEM. */
int config_load(const char *path, struct config **ret);

/* Frees everything; NULL-safe; returns NULL. */
struct config *config_free(struct config *c);

static inline void config_freep(struct config **c)
{
        config_free(*c);
}

/* The path config_load(NULL) reads. */
const char *config_default_path(void);

/* "file:line:column: error: message" for one diagnostic (caller frees). */
char *cfg_diag_format(const struct cfg_diag *d);

/* Group by name, or NULL. */
const struct config_group *config_find_group(const struct config *c, const char *name);
/* Container type settings by name, or NULL. */
const struct config_ctype *config_find_ctype(const struct config *c, const char *name);
