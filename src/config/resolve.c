/* resolve.c - the limits of one user: layers merged key by key.
 *
 * This is the exact answer to "what may this user have?" that every other
 * part of ds01 (allocation, the proxy's rewrite of create requests, lifecycle)
 * asks. It is pure: it reads a loaded struct config and the clock value it is
 * given, nothing else. */
#include "config/resolve.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/strutil.h"
#include "util/units.h"

static bool list_has(char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

/* The effective value of key id: override > group > defaults, or NULL. */
static const struct cfg_value *pick(const struct limits_layer *const layers[3], int id)
{
        for (int i = 2; i >= 0; i--)
                if (layers[i] && layers[i]->v[id].state != CFG_UNSET)
                        return &layers[i]->v[id];
        return NULL;
}

static const struct config_override *find_override(const struct config *c, const char *user,
                                                   const char *sanitized)
{
        for (size_t i = 0; i < c->n_overrides; i++)
                if (streq(c->overrides[i].user, user))
                        return &c->overrides[i];
        if (sanitized && !streq(sanitized, user))
                for (size_t i = 0; i < c->n_overrides; i++)
                        if (streq(c->overrides[i].user, sanitized))
                                return &c->overrides[i];
        return NULL;
}

/* The first group in YAML order that lists user; only if none does, the
 * first that lists the sanitized name (the same order as overrides). */
static const struct config_group *find_member_group(const struct config *c, const char *user,
                                                    const char *sanitized)
{
        for (size_t i = 0; i < c->n_groups; i++)
                if (list_has(c->groups[i].members, c->groups[i].n_members, user))
                        return &c->groups[i];
        if (sanitized && !streq(sanitized, user))
                for (size_t i = 0; i < c->n_groups; i++)
                        if (list_has(c->groups[i].members, c->groups[i].n_members, sanitized))
                                return &c->groups[i];
        return NULL;
}

static const char *default_group_name(const struct config *c)
{
        return c->default_group.state == CFG_SET ? c->default_group.s : DEFAULT_GROUP;
}

const char *config_user_group(const struct config *c, const char *user,
                              enum group_source *ret_source)
{
        char sanitized[USERNAME_SANITIZED_MAX];
        const struct config_group *g;
        bool have_sanitized = username_sanitize(user, sanitized) >= 0;

        g = find_member_group(c, user, have_sanitized ? sanitized : NULL);
        if (ret_source)
                *ret_source = g ? GROUP_FROM_MEMBERSHIP : GROUP_FROM_DEFAULT;
        return g ? g->name : default_group_name(c);
}

static int size_from(const struct cfg_value *v, const char *fallback, struct size_limit *ret)
{
        *ret = (struct size_limit){0};
        if (v && v->state == CFG_NULL) {
                ret->unlimited = true;
                return 0;
        }
        if (v && v->state == CFG_SET) {
                ret->set = true;
                ret->bytes = v->size;
                ret->text = strdup(v->s);
                return ret->text ? 0 : -ENOMEM;
        }
        if (fallback) {
                ret->set = true;
                if (parse_docker_size(fallback, &ret->bytes) < 0)
                        return -EINVAL;
                ret->text = strdup(fallback);
                return ret->text ? 0 : -ENOMEM;
        }
        return 0;
}

static int size_copy(const struct size_limit *from, struct size_limit *ret)
{
        *ret = *from;
        ret->text = NULL;
        if (from->text) {
                ret->text = strdup(from->text);
                if (!ret->text)
                        return -ENOMEM;
        }
        return 0;
}

static double float_from(const struct cfg_value *v, double fallback)
{
        if (!v)
                return fallback;
        return v->state == CFG_NULL ? INFINITY : v->f;
}

static long long int_from(const struct cfg_value *v, long long fallback)
{
        if (!v)
                return fallback;
        return v->state == CFG_NULL ? LIMIT_UNLIMITED : v->i;
}

static int64_t duration_from(const struct cfg_value *v, int64_t fallback)
{
        if (!v)
                return fallback;
        return v->state == CFG_NULL ? DURATION_INFINITY : v->secs;
}

/* Priority: the override's own priority; an override without one gets 100;
 * else the group's priority; else by group name (admin 90, researcher 50,
 * student 10); else `defaults.priority`; else 10. */
static long long resolve_priority(const struct config *c, const struct config_group *g,
                                  const char *group_name, const struct config_override *o)
{
        static const struct {
                const char *name;
                long long priority;
        } by_name[] = {
            {"admin", 90},       {"admins", 90},  {"researcher", 50},
            {"researchers", 50}, {"student", 10}, {"students", 10},
        };

        if (o && o->layer.v[LIMIT_PRIORITY].state == CFG_SET)
                return o->layer.v[LIMIT_PRIORITY].i;
        if (o)
                return OVERRIDE_DEFAULT_PRIORITY;
        if (g && g->layer.v[LIMIT_PRIORITY].state == CFG_SET)
                return g->layer.v[LIMIT_PRIORITY].i;
        for (size_t i = 0; i < ELEMENTSOF(by_name); i++)
                if (streq(group_name, by_name[i].name))
                        return by_name[i].priority;
        if (c->defaults.v[LIMIT_PRIORITY].state == CFG_SET)
                return c->defaults.v[LIMIT_PRIORITY].i;
        return DEFAULT_PRIORITY;
}

static void resolve_policies(const struct config *c, const struct limits_layer *const layers[3],
                             struct user_policies *p)
{
        /* Global policies, then group, then override; key by key. */
        const struct cfg_value *chain[3] = {c->policies, layers[1] ? layers[1]->policy : NULL,
                                            layers[2] ? layers[2]->policy : NULL};
        const struct cfg_value *v[POLICY_USER__MAX] = {0};

        for (int l = 0; l < 3; l++) {
                if (!chain[l])
                        continue;
                for (int k = 0; k < POLICY_USER__MAX; k++)
                        if (chain[l][k].state == CFG_SET)
                                v[k] = &chain[l][k];
        }
        p->gpu_idle_threshold = v[POLICY_GPU_IDLE_THRESHOLD] ? v[POLICY_GPU_IDLE_THRESHOLD]->f
                                                             : DEFAULT_GPU_IDLE_THRESHOLD;
        p->cpu_idle_threshold = v[POLICY_CPU_IDLE_THRESHOLD] ? v[POLICY_CPU_IDLE_THRESHOLD]->f
                                                             : DEFAULT_CPU_IDLE_THRESHOLD;
        p->network_idle_threshold = v[POLICY_NETWORK_IDLE_THRESHOLD]
                                        ? v[POLICY_NETWORK_IDLE_THRESHOLD]->i
                                        : DEFAULT_NETWORK_IDLE_THRESHOLD;
        p->idle_detection_window = v[POLICY_IDLE_DETECTION_WINDOW]
                                       ? v[POLICY_IDLE_DETECTION_WINDOW]->i
                                       : DEFAULT_IDLE_DETECTION_WINDOW;
        p->sigterm_grace =
            v[POLICY_SIGTERM_GRACE] ? v[POLICY_SIGTERM_GRACE]->secs : DEFAULT_SIGTERM_GRACE;
}

/* Aggregate limits: the group's aggregate section, with the override's keys
 * over it. `aggregate: null` (or none at any layer) means no aggregate cap. */
static int resolve_aggregate(const struct limits_layer *const layers[3], struct user_aggregate *a)
{
        const struct cfg_value *v[AGG__MAX] = {0};

        *a = (struct user_aggregate){0};
        for (int l = 0; l < 3; l++) {
                if (!layers[l])
                        continue;
                if (layers[l]->aggregate_null) {
                        a->present = false;
                        memset(v, 0, sizeof(v));
                        continue;
                }
                if (!layers[l]->has_aggregate)
                        continue;
                a->present = true;
                for (int k = 0; k < AGG__MAX; k++)
                        if (layers[l]->aggregate[k].state != CFG_UNSET)
                                v[k] = &layers[l]->aggregate[k];
        }
        if (!a->present)
                return 0;
        if (v[AGG_CPU_QUOTA]) {
                a->has_cpu_quota = true;
                a->cpu_quota_percent =
                    v[AGG_CPU_QUOTA]->state == CFG_NULL ? INFINITY : v[AGG_CPU_QUOTA]->f;
                if (v[AGG_CPU_QUOTA]->s && !(a->cpu_quota_text = strdup(v[AGG_CPU_QUOTA]->s)))
                        return -ENOMEM;
        }
        if (v[AGG_MEMORY_MAX]) {
                a->has_memory_max = true;
                a->memory_max =
                    v[AGG_MEMORY_MAX]->state == CFG_NULL ? SIZE_INFINITY : v[AGG_MEMORY_MAX]->size;
                if (v[AGG_MEMORY_MAX]->s && !(a->memory_max_text = strdup(v[AGG_MEMORY_MAX]->s)))
                        return -ENOMEM;
        }
        if (v[AGG_MEMORY_HIGH]) {
                a->has_memory_high = true;
                a->memory_high = v[AGG_MEMORY_HIGH]->state == CFG_NULL ? SIZE_INFINITY
                                                                       : v[AGG_MEMORY_HIGH]->size;
                if (v[AGG_MEMORY_HIGH]->s && !(a->memory_high_text = strdup(v[AGG_MEMORY_HIGH]->s)))
                        return -ENOMEM;
        }
        if (v[AGG_TASKS_MAX]) {
                a->has_tasks_max = true;
                a->tasks_max = int_from(v[AGG_TASKS_MAX], LIMIT_UNLIMITED);
        }
        if (v[AGG_GPU_LIMIT]) {
                a->has_gpu_limit = true;
                a->gpu_limit = float_from(v[AGG_GPU_LIMIT], INFINITY);
        }
        return 0;
}

int config_resolve_user(const struct config *c, const char *user, struct user_limits *ret)
{
        struct user_limits l = {0};
        const struct config_group *member_of, *g;
        const struct config_override *o;
        const struct limits_layer *layers[3];
        const struct cfg_value *v;
        const char *group_name;
        size_t slice_len;
        int r;

        if (isempty(user))
                return -EINVAL;
        r = username_sanitize(user, l.sanitized);
        if (r < 0)
                return r;

        member_of = find_member_group(c, user, l.sanitized);
        group_name = member_of ? member_of->name : default_group_name(c);
        g = member_of ? member_of : config_find_group(c, group_name);
        o = find_override(c, user, l.sanitized);

        layers[0] = &c->defaults;
        layers[1] = g ? &g->layer : NULL;
        layers[2] = o ? &o->layer : NULL;

        l.group_source = member_of ? GROUP_FROM_MEMBERSHIP : GROUP_FROM_DEFAULT;
        l.group_defined = g != NULL;
        l.user = strdup(user);
        l.group = strdup(group_name);
        if (!l.user || !l.group)
                goto nomem;
        if (o && !(l.override_key = strdup(o->user)))
                goto nomem;
        slice_len = strlen(group_name) + strlen(l.sanitized) + sizeof("ds01--.slice");
        l.slice = malloc(slice_len);
        if (!l.slice)
                goto nomem;
        snprintf(l.slice, slice_len, "ds01-%s-%s.slice", group_name, l.sanitized);

        /* NOLINTBEGIN(clang-analyzer-unix.Malloc): l is released at fail: or
         * handed to *ret on every path below (a false positive of clang 14) */
        l.max_gpu_equivalents =
            float_from(pick(layers, LIMIT_MAX_GPU_EQUIVALENTS), DEFAULT_MAX_GPU_EQUIVALENTS);
        /* NOLINTEND(clang-analyzer-unix.Malloc) */
        l.max_gpu_slots_per_container = int_from(pick(layers, LIMIT_MAX_GPU_SLOTS_PER_CONTAINER),
                                                 DEFAULT_MAX_GPU_SLOTS_PER_CONTAINER);
        v = pick(layers, LIMIT_ALLOW_FULL_GPU);
        l.allow_full_gpu = v ? v->b : false;
        l.max_cpus = float_from(pick(layers, LIMIT_MAX_CPUS), DEFAULT_MAX_CPUS);
        r = size_from(pick(layers, LIMIT_MEMORY), DEFAULT_MEMORY, &l.memory);
        if (r < 0)
                goto fail;
        v = pick(layers, LIMIT_MEMORY_SWAP);
        r = v ? size_from(v, NULL, &l.memory_swap) : size_copy(&l.memory, &l.memory_swap);
        if (r < 0)
                goto fail;
        r = size_from(pick(layers, LIMIT_SHM_SIZE), DEFAULT_SHM_SIZE, &l.shm_size);
        if (r < 0)
                goto fail;
        l.pids_limit = int_from(pick(layers, LIMIT_PIDS_LIMIT), DEFAULT_PIDS_LIMIT);
        l.max_containers =
            int_from(pick(layers, LIMIT_MAX_CONTAINERS_PER_USER), DEFAULT_MAX_CONTAINERS);
        l.max_runtime = duration_from(pick(layers, LIMIT_MAX_RUNTIME), DURATION_INFINITY);
        l.idle_timeout = duration_from(pick(layers, LIMIT_IDLE_TIMEOUT), DURATION_INFINITY);
        l.gpu_hold_after_stop =
            duration_from(pick(layers, LIMIT_GPU_HOLD_AFTER_STOP), DURATION_INFINITY);
        l.container_hold_after_stop =
            duration_from(pick(layers, LIMIT_CONTAINER_HOLD_AFTER_STOP), DURATION_INFINITY);
        l.max_tasks = int_from(pick(layers, LIMIT_MAX_TASKS), LIMIT_UNLIMITED);
        l.priority = resolve_priority(c, g, group_name, o);
        r = size_from(pick(layers, LIMIT_STORAGE_TMP), NULL, &l.storage_tmp);
        if (r >= 0)
                r = size_from(pick(layers, LIMIT_STORAGE_WORKSPACE), NULL, &l.storage_workspace);
        if (r >= 0)
                r = size_from(pick(layers, LIMIT_STORAGE_DATA), NULL, &l.storage_data);
        if (r < 0)
                goto fail;

        /* A reservation is taken whole from the highest layer that has one. */
        for (int i = 2; i >= 0; i--) {
                const struct limits_layer *ly = layers[i];
                if (!ly || ly->v[LIMIT_RESERVED_GPUS].state != CFG_SET ||
                    ly->v[LIMIT_RESERVATION_START].state != CFG_SET ||
                    ly->v[LIMIT_RESERVATION_END].state != CFG_SET)
                        continue;
                l.has_reservation = true;
                l.reservation_start = ly->v[LIMIT_RESERVATION_START].secs;
                l.reservation_end = ly->v[LIMIT_RESERVATION_END].secs;
                l.reserved_gpus = calloc(ly->v[LIMIT_RESERVED_GPUS].n_list + 1, sizeof(char *));
                if (!l.reserved_gpus)
                        goto nomem;
                for (size_t k = 0; k < ly->v[LIMIT_RESERVED_GPUS].n_list; k++) {
                        l.reserved_gpus[k] = strdup(ly->v[LIMIT_RESERVED_GPUS].list[k]);
                        if (!l.reserved_gpus[k])
                                goto nomem;
                        l.n_reserved_gpus++;
                }
                break;
        }

        resolve_policies(c, layers, &l.policies);
        r = resolve_aggregate(layers, &l.aggregate);
        if (r < 0)
                goto fail;

        *ret = l;
        return 0;

nomem:
        r = -ENOMEM;
fail:
        user_limits_release(&l);
        return r;
}

static void size_release(struct size_limit *s)
{
        free(s->text);
        s->text = NULL;
}

void user_limits_release(struct user_limits *l)
{
        if (!l)
                return;
        free(l->user);
        free(l->group);
        free(l->override_key);
        free(l->slice);
        size_release(&l->memory);
        size_release(&l->memory_swap);
        size_release(&l->shm_size);
        size_release(&l->storage_tmp);
        size_release(&l->storage_workspace);
        size_release(&l->storage_data);
        for (size_t i = 0; i < l->n_reserved_gpus; i++)
                free(l->reserved_gpus[i]);
        free(l->reserved_gpus);
        free(l->aggregate.cpu_quota_text);
        free(l->aggregate.memory_max_text);
        free(l->aggregate.memory_high_text);
        *l = (struct user_limits){0};
}

const struct config_exemption *config_find_exemption(const struct config *c, const char *user,
                                                     unsigned type, int64_t now)
{
        char sanitized[USERNAME_SANITIZED_MAX];
        bool have_sanitized = username_sanitize(user, sanitized) >= 0;

        for (int pass = 0; pass < 2; pass++) {
                const char *name = pass == 0 ? user : sanitized;
                if (pass == 1 && (!have_sanitized || streq(sanitized, user)))
                        break;
                for (size_t i = 0; i < c->n_exemptions; i++) {
                        const struct config_exemption *e = &c->exemptions[i];
                        if (!e->valid || !e->user || !streq(e->user, name) ||
                            !(e->exempt_from & type))
                                continue;
                        if (e->permanent || now < e->expires)
                                return e;
                }
        }
        return NULL;
}

static int64_t global_duration(const struct cfg_value *v, int64_t fallback)
{
        if (v->state == CFG_NULL)
                return DURATION_INFINITY;
        return v->state == CFG_SET ? v->secs : fallback;
}

/* A cap: 0 (none) when null, else the value (the schema keeps it >= 1). */
static unsigned global_count(const struct cfg_value *v, unsigned fallback)
{
        if (v->state == CFG_NULL)
                return 0;
        return v->state == CFG_SET ? (unsigned)v->i : fallback;
}

void config_global_settings(const struct config *c, struct global_settings *ret)
{
        const struct cfg_value *p = c->policies;
        struct global_settings g = {0};

        g.high_demand_threshold = p[POLICY_HIGH_DEMAND_THRESHOLD].state == CFG_SET
                                      ? p[POLICY_HIGH_DEMAND_THRESHOLD].f
                                      : DEFAULT_HIGH_DEMAND_THRESHOLD;
        g.high_demand_idle_reduction = p[POLICY_HIGH_DEMAND_IDLE_REDUCTION].state == CFG_SET
                                           ? p[POLICY_HIGH_DEMAND_IDLE_REDUCTION].f
                                           : DEFAULT_HIGH_DEMAND_IDLE_REDUCTION;
        g.grace_period = global_duration(&p[POLICY_GRACE_PERIOD], DEFAULT_GRACE_PERIOD);
        g.keepalive_max_duration =
            global_duration(&p[POLICY_KEEPALIVE_MAX_DURATION], DEFAULT_KEEPALIVE_MAX_DURATION);
        g.gpu_hold_after_manual_stop = global_duration(&p[POLICY_GPU_HOLD_AFTER_MANUAL_STOP],
                                                       DEFAULT_GPU_HOLD_AFTER_MANUAL_STOP);
        g.created_container_timeout = global_duration(&p[POLICY_CREATED_CONTAINER_TIMEOUT],
                                                      DEFAULT_CREATED_CONTAINER_TIMEOUT);

        g.aggregate_limits = c->enforcement[ENF_AGGREGATE_LIMITS].state == CFG_SET
                                 ? c->enforcement[ENF_AGGREGATE_LIMITS].b
                                 : true;
        g.cgroup_driver = c->enforcement[ENF_CGROUP_DRIVER].state == CFG_SET
                              ? c->enforcement[ENF_CGROUP_DRIVER].s
                              : DEFAULT_CGROUP_DRIVER;
        g.allow_multi_mig = c->gpu_allocation[GA_ALLOW_MULTI_MIG].state == CFG_SET &&
                            c->gpu_allocation[GA_ALLOW_MULTI_MIG].b;
        g.queue_claim_window =
            global_duration(&c->gpu_allocation[GA_QUEUE_CLAIM_WINDOW], DEFAULT_QUEUE_CLAIM_WINDOW);
        g.queue_usage_half_life = global_duration(&c->gpu_allocation[GA_QUEUE_USAGE_HALF_LIFE],
                                                  DEFAULT_QUEUE_USAGE_HALF_LIFE);

        g.admin_group = c->access[AC_ADMIN_GROUP].state == CFG_SET ? c->access[AC_ADMIN_GROUP].s
                                                                   : DEFAULT_ADMIN_GROUP;
        g.admin_users = c->access[AC_ADMIN_USERS].list;
        g.enforcement_mode = c->access[AC_ENFORCEMENT_MODE].state == CFG_SET
                                 ? c->access[AC_ENFORCEMENT_MODE].s
                                 : "full";
        g.unowned_allow =
            c->access[AC_UNOWNED].state == CFG_SET && streq(c->access[AC_UNOWNED].s, "allow");
        g.allowed_bind_paths_set = c->access[AC_ALLOWED_BIND_PATHS].state == CFG_SET;
        if (g.allowed_bind_paths_set) {
                g.allowed_bind_paths = c->access[AC_ALLOWED_BIND_PATHS].list;
                g.n_allowed_bind_paths = c->access[AC_ALLOWED_BIND_PATHS].n_list;
        }
        g.force_user_with_binds = c->access[AC_FORCE_USER_WITH_BINDS].state != CFG_SET ||
                                  c->access[AC_FORCE_USER_WITH_BINDS].b;
        g.attach_nvidia_runtime = c->gpu_allocation[GA_ATTACH].state == CFG_SET &&
                                  streq(c->gpu_allocation[GA_ATTACH].s, "nvidia_runtime");
        g.proxy_wait = global_duration(&c->gpu_allocation[GA_WAIT], DEFAULT_PROXY_WAIT);
        g.n_admin_users = c->access[AC_ADMIN_USERS].n_list;

        g.bare_metal_admin_group = c->bare_metal[BM_ADMIN_GROUP].state == CFG_SET
                                       ? c->bare_metal[BM_ADMIN_GROUP].s
                                       : g.admin_group;
        g.bare_metal_exempt_users = c->bare_metal[BM_EXEMPT_USERS].list;
        g.n_bare_metal_exempt_users = c->bare_metal[BM_EXEMPT_USERS].n_list;
        g.default_grant_duration =
            global_duration(&c->bare_metal[BM_DEFAULT_GRANT_DURATION], DEFAULT_GRANT_DURATION);

        g.bare_metal_policy =
            c->bare_metal[BM_POLICY].state == CFG_SET ? c->bare_metal[BM_POLICY].s : "report";
        g.bare_metal_stop_grace =
            global_duration(&c->bare_metal[BM_STOP_GRACE], DEFAULT_BARE_METAL_STOP_GRACE);
        g.bare_metal_sigterm_grace =
            global_duration(&c->bare_metal[BM_SIGTERM_GRACE], DEFAULT_BARE_METAL_SIGTERM_GRACE);
        g.check_interval = global_duration(&p[POLICY_CHECK_INTERVAL], DEFAULT_CHECK_INTERVAL);
        if (g.check_interval < 1)
                g.check_interval = 1;
        g.enforce_cpu_only =
            p[POLICY_ENFORCE_CPU_ONLY].state == CFG_SET && p[POLICY_ENFORCE_CPU_ONLY].b;
        g.notify_cooldown = global_duration(&p[POLICY_NOTIFY_COOLDOWN], DEFAULT_NOTIFY_COOLDOWN);
        g.scan_interval = global_duration(&c->hostproc[HPK_SCAN_INTERVAL], DEFAULT_SCAN_INTERVAL);
        if (g.scan_interval < 1)
                g.scan_interval = 1;

        g.infrastructure_label = c->monitoring[MON_INFRASTRUCTURE_LABEL].state == CFG_SET
                                     ? c->monitoring[MON_INFRASTRUCTURE_LABEL].s
                                     : DEFAULT_INFRASTRUCTURE_LABEL;
        g.infrastructure_containers = c->monitoring[MON_INFRASTRUCTURE_CONTAINERS].list;
        g.n_infrastructure_containers = c->monitoring[MON_INFRASTRUCTURE_CONTAINERS].n_list;

        /* a timeout of 0 would refuse every request: at least a second */
        g.proxy_head_timeout =
            MAX(global_duration(&c->proxy[PXK_HEAD_TIMEOUT], DEFAULT_PROXY_HEAD_TIMEOUT), 1);
        g.proxy_idle_timeout =
            MAX(global_duration(&c->proxy[PXK_IDLE_TIMEOUT], DEFAULT_PROXY_IDLE_TIMEOUT), 1);
        g.proxy_body_timeout =
            MAX(global_duration(&c->proxy[PXK_BODY_TIMEOUT], DEFAULT_PROXY_BODY_TIMEOUT), 1);
        g.proxy_max_connections_per_user = global_count(&c->proxy[PXK_MAX_CONNECTIONS_PER_USER],
                                                        DEFAULT_PROXY_MAX_CONNECTIONS_USER);
        g.proxy_max_connections =
            global_count(&c->proxy[PXK_MAX_CONNECTIONS], DEFAULT_PROXY_MAX_CONNECTIONS);
        *ret = g;
}

/* A timeout of a container type: unlimited when the type does not set it. */
static int64_t ctype_duration(const struct config_ctype *t, int key)
{
        if (!t || t->v[key].state == CFG_UNSET)
                return DURATION_INFINITY;
        return duration_from(&t->v[key], DURATION_INFINITY);
}

void config_ctype_limits(const struct config *c, const char *type, struct ctype_limits *ret)
{
        const struct config_ctype *t = config_find_ctype(c, type);
        const struct cfg_value *grace = &c->policies[POLICY_SIGTERM_GRACE];

        if (!t)
                t = config_find_ctype(c, "unknown");
        ret->idle_timeout = ctype_duration(t, CTYPE_IDLE_TIMEOUT);
        ret->max_runtime = ctype_duration(t, CTYPE_MAX_RUNTIME);
        ret->container_hold_after_stop = ctype_duration(t, CTYPE_CONTAINER_HOLD_AFTER_STOP);
        if (t && t->v[CTYPE_SIGTERM_GRACE].state == CFG_SET)
                ret->sigterm_grace = t->v[CTYPE_SIGTERM_GRACE].secs;
        else
                ret->sigterm_grace = grace->state == CFG_SET ? grace->secs : DEFAULT_SIGTERM_GRACE;
}
