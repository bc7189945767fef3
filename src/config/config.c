/* config.c - loads resource-limits.yaml and its side files into struct config.
 *
 * The YAML is parsed with libyaml's document loader (the parser PyYAML's C
 * loader uses, so scalars mean what they meant to the old Python tools), then
 * walked against the key tables of schema.c. Every problem becomes a
 * diagnostic with file:line:column; loading goes on after a problem so that
 * `ds01 config check` can report all of them at once. A value with a problem
 * is never stored: the key stays "not configured" and the error makes the
 * whole configuration unusable for the daemon, which keeps its old one.
 *
 * Side files, looked up in the folder of resource-limits.yaml:
 *   groups/<group>.members     one user per line, '#' comments; archived.members ignored
 *   user-overrides.yaml        user -> override mapping (wins over inline user_overrides)
 *   lifecycle-exemptions.yaml  exemptions: [...]; problems here are warnings and
 *                              a broken file exempts nobody */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/resolve.h"
#include "config/schema.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"
#include "config/load.h"

/* ---- layers: defaults, groups, overrides --------------------------------- */

/* A key of the global policies section inside a group's or override's policies. */
static int global_only_policy(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                              yaml_node_t *val, void *userdata)
{
        node_err(ctx, key,
                 "'%s' can only be set in the global policies section, not per group or user",
                 k->name);
        return 0;
}

static int layer_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                         yaml_node_t *val, struct limits_layer *layer, const char *owner)
{
        char where[512];

        if (streq(k->name, "aggregate")) {
                if (layer->has_aggregate || layer->aggregate_null)
                        node_warn(ctx, key, "duplicate key 'aggregate'; the last one is used");
                cfg_values_release(layer->aggregate, AGG__MAX);
                layer->has_aggregate = false;
                layer->aggregate_null = false;
                if (node_is_null(val)) {
                        layer->aggregate_null = true;
                        return 0;
                }
                layer->has_aggregate = true;
                snprintf(where, sizeof(where), "%s.aggregate", owner);
                return cfg_load_mapping(ctx, val, where, &cfg_section_aggregate, layer->aggregate,
                                        NULL, NULL, NULL);
        }
        if (streq(k->name, "policies")) {
                snprintf(where, sizeof(where), "%s.policies", owner);
                return cfg_load_mapping(ctx, val, where, &cfg_section_user_policies, layer->policy,
                                        &cfg_section_policies, global_only_policy, NULL);
        }
        return 0;
}

struct layer_walk {
        struct limits_layer *layer;
        struct config_group *g; /* NULL unless walking a group */
        char owner[300];
};

int cfg_add_member(struct load_ctx *ctx, struct config_group *g, const char *name)
{
        if (cfg_list_contains(g->members, g->n_members, name))
                return 0;
        return cfg_list_push(&g->members, &g->n_members, name);
}

static int group_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                         yaml_node_t *val, void *userdata)
{
        struct layer_walk *w = userdata;

        if (streq(k->name, "members")) {
                struct cfg_value v = {0};
                int r = cfg_convert_value(ctx, k, val, &v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        cfg_value_release(&v);
                        return 0;
                }
                for (size_t i = 0; i < v.n_list; i++) {
                        const char *problem = cfg_username_problem(v.list[i], strlen(v.list[i]));
                        if (problem) {
                                node_err(ctx, val, "%s.members: %s: '%s'", w->owner, problem,
                                         v.list[i]);
                                continue;
                        }
                        if (cfg_add_member(ctx, w->g, v.list[i]) < 0) {
                                cfg_value_release(&v);
                                return -ENOMEM;
                        }
                }
                cfg_value_release(&v);
                return 0;
        }
        return layer_section(ctx, k, key, val, w->layer, w->owner);
}

static int override_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                            yaml_node_t *val, void *userdata)
{
        struct layer_walk *w = userdata;
        return layer_section(ctx, k, key, val, w->layer, w->owner);
}

static int defaults_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                            yaml_node_t *val, void *userdata)
{
        node_err(ctx, key,
                 "'%s' is not allowed in defaults; set it per group (groups.<group>.%s) or, for "
                 "policies, in the top-level policies section",
                 k->name, k->name);
        return 0;
}

static bool group_name_valid(const char *s)
{
        if (!*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '_'))
                        return false;
        return true;
}

static int load_groups(struct load_ctx *ctx, yaml_node_t *n)
{
        struct config *c = ctx->c;

        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n,
                         "groups must be a mapping of group names to their settings, not %s",
                         cfg_node_type_name(n));
                return 0;
        }
        if (mapping_size(n) > 1000) {
                node_err(ctx, n, "groups has %zu entries; at most 1000 are accepted",
                         mapping_size(n));
                return 0;
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                struct config_group *g;
                struct layer_walk w;
                int r;

                if (!key || !val)
                        continue;
                if (!node_is_scalar(key) || node_is_null(key)) {
                        node_err(ctx, key, "group names must be plain names, not %s",
                                 cfg_node_type_name(key));
                        continue;
                }
                if (!group_name_valid(scalar(key))) {
                        node_err(ctx, key,
                                 "group name '%s' may contain only letters, digits and '_' (it "
                                 "becomes part of systemd slice names)",
                                 scalar(key));
                        continue;
                }
                if (config_find_group(c, scalar(key))) {
                        node_err(ctx, key, "group '%s' is defined twice", scalar(key));
                        continue;
                }
                g = realloc(c->groups, (c->n_groups + 1) * sizeof(*g));
                if (!g)
                        return -ENOMEM;
                c->groups = g;
                g = &c->groups[c->n_groups];
                *g = (struct config_group){.src = node_src(ctx, key)};
                g->name = strdup(scalar(key));
                if (!g->name)
                        return -ENOMEM;
                c->n_groups++;

                w = (struct layer_walk){.layer = &g->layer, .g = g};
                snprintf(w.owner, sizeof(w.owner), "groups.%s", g->name);
                r = cfg_load_mapping(ctx, val, w.owner, &cfg_section_user, g->layer.v,
                                     &cfg_section_group, group_section, &w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static struct config_override *find_override(struct config *c, const char *user)
{
        for (size_t i = 0; i < c->n_overrides; i++)
                if (streq(c->overrides[i].user, user))
                        return &c->overrides[i];
        return NULL;
}

static void override_release(struct config_override *o)
{
        free(o->user);
        cfg_values_release(o->layer.v, LIMIT__MAX);
        cfg_values_release(o->layer.policy, POLICY_USER__MAX);
        cfg_values_release(o->layer.aggregate, AGG__MAX);
}

/* Overrides from a mapping user -> settings (inline user_overrides or the
 * root of user-overrides.yaml). A later entry for the same user replaces the
 * earlier one. */
static int load_overrides(struct load_ctx *ctx, yaml_node_t *n, const char *where)
{
        struct config *c = ctx->c;

        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n, "%s must be a mapping of user names to their settings, not %s",
                         where, cfg_node_type_name(n));
                return 0;
        }
        if (mapping_size(n) > ENTRIES_MAX) {
                node_err(ctx, n, "%s has %zu entries; at most %d are accepted", where,
                         mapping_size(n), ENTRIES_MAX);
                return 0;
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                struct config_override *o;
                struct layer_walk w;
                const char *problem;
                int r;

                if (!key || !val)
                        continue;
                if (!node_is_scalar(key) || node_is_null(key)) {
                        node_err(ctx, key, "user names in %s must be plain names, not %s", where,
                                 cfg_node_type_name(key));
                        continue;
                }
                problem = cfg_username_problem(scalar(key), key->data.scalar.length);
                if (problem) {
                        node_err(ctx, key, "%s: %s: '%s'", where, problem, scalar(key));
                        continue;
                }
                o = find_override(c, scalar(key));
                if (o) {
                        node_warn(ctx, key,
                                  "user '%s' is overridden twice (also at %s:%u); this entry "
                                  "replaces the earlier one",
                                  scalar(key), o->src.file, o->src.line);
                        override_release(o);
                } else {
                        o = realloc(c->overrides, (c->n_overrides + 1) * sizeof(*o));
                        if (!o)
                                return -ENOMEM;
                        c->overrides = o;
                        o = &c->overrides[c->n_overrides++];
                }
                *o = (struct config_override){.src = node_src(ctx, key)};
                o->user = strdup(scalar(key));
                if (!o->user)
                        return -ENOMEM;

                w = (struct layer_walk){.layer = &o->layer};
                snprintf(w.owner, sizeof(w.owner), "user_overrides.%s", o->user);
                r = cfg_load_mapping(ctx, val, w.owner, &cfg_section_user, o->layer.v,
                                     &cfg_section_override, override_section, &w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_ctypes(struct load_ctx *ctx, yaml_node_t *n)
{
        struct config *c = ctx->c;

        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n, "container_types must be a mapping of types to settings, not %s",
                         cfg_node_type_name(n));
                return 0;
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                struct config_ctype *t;
                char where[128];
                bool known = false;
                int r;

                if (!key || !val)
                        continue;
                if (!node_is_scalar(key)) {
                        node_err(ctx, key, "container types must be plain names");
                        continue;
                }
                for (size_t i = 0; i < cfg_n_ctype_names; i++)
                        known = known || streq(cfg_ctype_names[i], scalar(key));
                if (!known) {
                        const char *best = NULL;
                        size_t best_d = 3;
                        for (size_t i = 0; i < cfg_n_ctype_names; i++) {
                                size_t d = str_edit_distance(scalar(key), cfg_ctype_names[i]);
                                if (d < best_d) {
                                        best_d = d;
                                        best = cfg_ctype_names[i];
                                }
                        }
                        if (best)
                                node_err(ctx, key,
                                         "unknown container type '%s'; did you mean '%s'? "
                                         "(known: devcontainer, compose, docker, api, unknown)",
                                         scalar(key), best);
                        else
                                node_err(ctx, key,
                                         "unknown container type '%s' (known: devcontainer, "
                                         "compose, docker, api, unknown)",
                                         scalar(key));
                        continue;
                }
                if (config_find_ctype(c, scalar(key))) {
                        node_err(ctx, key, "container type '%s' is defined twice", scalar(key));
                        continue;
                }
                t = realloc(c->ctypes, (c->n_ctypes + 1) * sizeof(*t));
                if (!t)
                        return -ENOMEM;
                c->ctypes = t;
                t = &c->ctypes[c->n_ctypes];
                *t = (struct config_ctype){.src = node_src(ctx, key)};
                t->name = strdup(scalar(key));
                if (!t->name)
                        return -ENOMEM;
                c->n_ctypes++;
                snprintf(where, sizeof(where), "container_types.%s", t->name);
                r = cfg_load_mapping(ctx, val, where, &cfg_section_ctype, t->v, NULL, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int access_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                          yaml_node_t *val, void *userdata)
{
        /* access_control.wrapper: every key is a known no-op; report each once. */
        return cfg_load_mapping(ctx, val, "access_control.wrapper", &cfg_section_access_wrapper,
                                NULL, NULL, NULL, NULL);
}

static int top_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                       yaml_node_t *val, void *userdata)
{
        struct config *c = ctx->c;
        const char *name = k->name;

        if (streq(name, "defaults")) {
                struct layer_walk w = {.layer = &c->defaults};
                snprintf(w.owner, sizeof(w.owner), "defaults");
                return cfg_load_mapping(ctx, val, "defaults", &cfg_section_user, c->defaults.v,
                                        &cfg_section_group, defaults_section, &w);
        }
        if (streq(name, "groups"))
                return load_groups(ctx, val);
        if (streq(name, "user_overrides"))
                return load_overrides(ctx, val, "user_overrides");
        if (streq(name, "policies"))
                return cfg_load_mapping(ctx, val, "policies", &cfg_section_policies, c->policies,
                                        NULL, NULL, NULL);
        if (streq(name, "enforcement"))
                return cfg_load_mapping(ctx, val, "enforcement", &cfg_section_enforcement,
                                        c->enforcement, NULL, NULL, NULL);
        if (streq(name, "gpu_allocation"))
                return cfg_load_mapping(ctx, val, "gpu_allocation", &cfg_section_gpu_allocation,
                                        c->gpu_allocation, NULL, NULL, NULL);
        if (streq(name, "container_types"))
                return load_ctypes(ctx, val);
        if (streq(name, "bare_metal_access"))
                return cfg_load_mapping(ctx, val, "bare_metal_access", &cfg_section_bare_metal,
                                        c->bare_metal, NULL, NULL, NULL);
        if (streq(name, "hostproc"))
                return cfg_load_mapping(ctx, val, "hostproc", &cfg_section_hostproc, c->hostproc,
                                        NULL, NULL, NULL);
        if (streq(name, "access_control"))
                return cfg_load_mapping(ctx, val, "access_control", &cfg_section_access, c->access,
                                        NULL, access_section, NULL);
        if (streq(name, "monitoring"))
                return cfg_load_mapping(ctx, val, "monitoring", &cfg_section_monitoring,
                                        c->monitoring, NULL, NULL, NULL);
        if (streq(name, "proxy"))
                return cfg_load_mapping(ctx, val, "proxy", &cfg_section_proxy, c->proxy, NULL, NULL,
                                        NULL);
        return 0;
}

/* The top level: sections, plus default_group, the one plain value (its key
 * has id 0, so &c->default_group serves as the value array). */
static int load_top(struct load_ctx *ctx, yaml_node_t *root)
{
        if (root->type != YAML_MAPPING_NODE) {
                node_err(ctx, root,
                         "the file must be a mapping of sections (defaults:, groups:, ...), not %s",
                         cfg_node_type_name(root));
                return 0;
        }
        return cfg_load_mapping(ctx, root, "the top level", &cfg_section_top,
                                &ctx->c->default_group, NULL, top_section, NULL);
}

/* Loads one YAML file into a document. Returns 1 when loaded (root may be
 * NULL for an empty file), 0 when the file does not exist, -EINVAL after a
 * reported problem, -ENOMEM. */
/* ---- checks across the whole configuration -------------------------------- */

struct member_ref {
        const char *user;
        size_t group;
};

static int member_ref_cmp(const void *a, const void *b)
{
        const struct member_ref *x = a, *y = b;
        int r = strcmp(x->user, y->user);
        if (r != 0)
                return r;
        return x->group < y->group ? -1 : x->group > y->group;
}

static int check_members_unique(struct load_ctx *ctx)
{
        struct config *c = ctx->c;
        struct member_ref *refs;
        size_t n = 0;

        for (size_t g = 0; g < c->n_groups; g++)
                n += c->groups[g].n_members;
        if (n < 2)
                return 0;
        refs = calloc(n, sizeof(*refs));
        if (!refs)
                return -ENOMEM;
        n = 0;
        for (size_t g = 0; g < c->n_groups; g++)
                for (size_t i = 0; i < c->groups[g].n_members; i++)
                        refs[n++] = (struct member_ref){c->groups[g].members[i], g};
        qsort(refs, n, sizeof(*refs), member_ref_cmp);
        for (size_t i = 1; i < n; i++) {
                if (!streq(refs[i].user, refs[i - 1].user))
                        continue;
                /* refs[i-1] is the first group of this user in YAML order
                 * only for the first duplicate; find it. */
                size_t first = i - 1;
                while (first > 0 && streq(refs[first - 1].user, refs[i].user))
                        first--;
                cfg_diag_add(ctx, CFG_WARNING, &c->groups[refs[i].group].src,
                             "user '%s' is in groups '%s' and '%s'; the first group in the file, "
                             "'%s', applies",
                             refs[i].user, c->groups[refs[first].group].name,
                             c->groups[refs[i].group].name, c->groups[refs[first].group].name);
        }
        free(refs);
        return 0;
}

static void check_layer(struct load_ctx *ctx, const struct limits_layer *l, const char *owner)
{
        const struct cfg_value *start = &l->v[LIMIT_RESERVATION_START];
        const struct cfg_value *end = &l->v[LIMIT_RESERVATION_END];
        const struct cfg_value *gpus = &l->v[LIMIT_RESERVED_GPUS];
        bool any = start->state == CFG_SET || end->state == CFG_SET || gpus->state == CFG_SET;

        if (any && (start->state != CFG_SET || end->state != CFG_SET || gpus->state != CFG_SET)) {
                const struct cfg_value *at = start->state == CFG_SET ? start
                                             : end->state == CFG_SET ? end
                                                                     : gpus;
                cfg_diag_add(ctx, CFG_ERROR, &at->src,
                             "%s: a reservation needs reservation_start, reservation_end and "
                             "reserved_gpus together",
                             owner);
        } else if (any && end->secs <= start->secs) {
                cfg_diag_add(ctx, CFG_ERROR, &end->src,
                             "%s: reservation_end (%s) is not after reservation_start (%s)", owner,
                             end->s, start->s);
        }
}

/* memory_swap below memory is refused by Docker: check the values a user of
 * each group (and each overridden user) really gets, across layers. */
struct swap_pair {
        const struct cfg_value *mem, *swap;
};

static void check_memory_swap(struct load_ctx *ctx, const struct limits_layer *const layers[3],
                              const char *owner, struct swap_pair *seen, size_t *n_seen)
{
        const struct cfg_value *mem = NULL, *swap = NULL;
        uint64_t mem_bytes;

        for (int i = 0; i < 3; i++) {
                if (!layers[i])
                        continue;
                if (layers[i]->v[LIMIT_MEMORY].state != CFG_UNSET)
                        mem = &layers[i]->v[LIMIT_MEMORY];
                if (layers[i]->v[LIMIT_MEMORY_SWAP].state != CFG_UNSET)
                        swap = &layers[i]->v[LIMIT_MEMORY_SWAP];
        }
        if (!swap || swap->state != CFG_SET || (mem && mem->state != CFG_SET))
                return;
        if (mem)
                mem_bytes = mem->size;
        else if (parse_docker_size(DEFAULT_MEMORY, &mem_bytes) < 0)
                return;
        if (swap->size >= mem_bytes)
                return;
        for (size_t i = 0; i < *n_seen; i++)
                if (seen[i].mem == mem && seen[i].swap == swap)
                        return;
        if (*n_seen < 64)
                seen[(*n_seen)++] = (struct swap_pair){mem, swap};
        if (mem)
                cfg_diag_add(
                    ctx, CFG_ERROR, &swap->src,
                    "%s: memory_swap (%s) is smaller than memory (%s, %s:%u); Docker refuses "
                    "that (set memory_swap equal to memory for no swap)",
                    owner, swap->s, mem->s, mem->src.file, mem->src.line);
        else
                cfg_diag_add(ctx, CFG_ERROR, &swap->src,
                             "%s: memory_swap (%s) is smaller than the default memory (%s); set "
                             "memory too",
                             owner, swap->s, DEFAULT_MEMORY);
}

static void check_config(struct load_ctx *ctx)
{
        struct config *c = ctx->c;
        char owner[300];

        ctx->file = c->files[0];
        if (c->default_group.state == CFG_SET) {
                if (!config_find_group(c, c->default_group.s))
                        cfg_diag_add(ctx, CFG_ERROR, &c->default_group.src,
                                     "default_group '%s' is not defined under groups",
                                     c->default_group.s);
        } else if (c->n_groups > 0 && !config_find_group(c, "student")) {
                struct cfg_src src = {.file = c->files[0], .line = 1, .column = 1};
                cfg_diag_add(ctx, CFG_WARNING, &src,
                             "default_group is not set and there is no group 'student'; users in "
                             "no group get only the defaults");
        }
        {
                struct swap_pair seen[64];
                size_t n_seen = 0;
                const struct config_group *dg = config_find_group(
                    c, c->default_group.state == CFG_SET ? c->default_group.s : DEFAULT_GROUP);
                const struct limits_layer *layers[3] = {&c->defaults, dg ? &dg->layer : NULL, NULL};

                check_memory_swap(ctx, layers, "users in no group", seen, &n_seen);
                for (size_t i = 0; i < c->n_groups; i++) {
                        snprintf(owner, sizeof(owner), "members of groups.%s", c->groups[i].name);
                        layers[1] = &c->groups[i].layer;
                        check_memory_swap(ctx, layers, owner, seen, &n_seen);
                }
                for (size_t i = 0; i < c->n_overrides; i++) {
                        const struct config_group *g =
                            config_find_group(c, config_user_group(c, c->overrides[i].user, NULL));
                        snprintf(owner, sizeof(owner), "user_overrides.%s", c->overrides[i].user);
                        layers[1] = g ? &g->layer : NULL;
                        layers[2] = &c->overrides[i].layer;
                        check_memory_swap(ctx, layers, owner, seen, &n_seen);
                }
        }
        check_layer(ctx, &c->defaults, "defaults");
        for (size_t i = 0; i < c->n_groups; i++) {
                snprintf(owner, sizeof(owner), "groups.%s", c->groups[i].name);
                check_layer(ctx, &c->groups[i].layer, owner);
        }
        for (size_t i = 0; i < c->n_overrides; i++) {
                snprintf(owner, sizeof(owner), "user_overrides.%s", c->overrides[i].user);
                check_layer(ctx, &c->overrides[i].layer, owner);
        }
}

/* Diagnostics in reading order: by file (in the order files were read), then
 * line and column; equal positions keep the order they were found in. */
/* ---- public -------------------------------------------------------------- */

const char *config_default_path(void)
{
        const char *e = getenv("DS01_CONFIG");
        return isempty(e) ? CONFIG_DEFAULT_PATH : e;
}

static int path_dirname(const char *path, char **ret)
{
        const char *slash = strrchr(path, '/');
        if (!slash)
                *ret = strdup(".");
        else if (slash == path)
                *ret = strdup("/");
        else
                *ret = strndup(path, (size_t)(slash - path));
        return *ret ? 0 : -ENOMEM;
}

int config_load(const char *path, struct config **ret)
{
        struct load_ctx ctx = {0};
        struct config *c;
        yaml_document_t doc;
        yaml_node_t *root;
        _cleanup_free_ char *overrides_path = NULL;
        int r;

        if (!path)
                path = config_default_path();
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        ctx.c = c;
        ctx.budget = WALK_BUDGET;
        c->path = strdup(path);
        if (!c->path || path_dirname(path, &c->dir) < 0) {
                config_free(c);
                return -ENOMEM;
        }

        r = cfg_load_yaml_file(&ctx, path, &doc, true);
        if (r == -ENOMEM) {
                config_free(c);
                return r;
        }
        if (r < 0) {
                *ret = c;
                /* A YAML syntax error is a problem in the file, not a failure
                 * to read it: the caller reports it like any other. */
                return r == -EINVAL ? 0 : r;
        }
        ctx.doc = &doc;
        root = yaml_document_get_root_node(&doc);
        if (!root) {
                struct cfg_src src = {.file = ctx.file};
                cfg_diag_add(&ctx, CFG_ERROR, &src, "the file is empty");
                r = 0;
        } else {
                r = load_top(&ctx, root);
        }
        yaml_document_delete(&doc);
        ctx.doc = NULL;
        if (r < 0)
                goto fail;

        /* user-overrides.yaml wins over inline user_overrides. */
        if (asprintf(&overrides_path, "%s/user-overrides.yaml", c->dir) < 0)
                goto nomem;
        r = cfg_load_yaml_file(&ctx, overrides_path, &doc, false);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                ctx.doc = &doc;
                root = yaml_document_get_root_node(&doc);
                r = root ? load_overrides(&ctx, root, "user-overrides.yaml") : 0;
                yaml_document_delete(&doc);
                ctx.doc = NULL;
                if (r < 0)
                        goto fail;
        }

        r = cfg_load_members_files(&ctx);
        if (r < 0)
                goto fail;
        r = check_members_unique(&ctx);
        if (r < 0)
                goto fail;
        r = cfg_load_exemptions(&ctx);
        if (r < 0)
                goto fail;
        check_config(&ctx);

        cfg_sort_diags(c);
        if (ctx.dropped > 0) {
                struct cfg_src src = {.file = c->files[0]};
                c->n_diags--; /* make room for the summary line */
                free(c->diags[c->n_diags].message);
                ctx.dropped++;
                if (asprintf(&c->diags[c->n_diags].message,
                             "%zu more problems not shown; fix the ones above first",
                             ctx.dropped) < 0)
                        goto nomem;
                c->diags[c->n_diags].severity = CFG_NOTE;
                c->diags[c->n_diags].src = src;
                c->n_diags++;
        }
        *ret = c;
        return 0;

nomem:
        r = -ENOMEM;
fail:
        config_free(c);
        return r;
}

static void layer_release(struct limits_layer *l)
{
        cfg_values_release(l->v, LIMIT__MAX);
        cfg_values_release(l->policy, POLICY_USER__MAX);
        cfg_values_release(l->aggregate, AGG__MAX);
}

struct config *config_free(struct config *c)
{
        if (!c)
                return NULL;
        layer_release(&c->defaults);
        cfg_value_release(&c->default_group);
        for (size_t i = 0; i < c->n_groups; i++) {
                free(c->groups[i].name);
                layer_release(&c->groups[i].layer);
                for (size_t j = 0; j < c->groups[i].n_members; j++)
                        free(c->groups[i].members[j]);
                free(c->groups[i].members);
        }
        free(c->groups);
        for (size_t i = 0; i < c->n_overrides; i++)
                override_release(&c->overrides[i]);
        free(c->overrides);
        cfg_values_release(c->policies, POLICY__MAX);
        cfg_values_release(c->enforcement, ENF__MAX);
        cfg_values_release(c->gpu_allocation, GA__MAX);
        for (size_t i = 0; i < c->n_ctypes; i++) {
                free(c->ctypes[i].name);
                cfg_values_release(c->ctypes[i].v, CTYPE__MAX);
        }
        free(c->ctypes);
        cfg_values_release(c->bare_metal, BM__MAX);
        cfg_values_release(c->hostproc, HPK__MAX);
        cfg_values_release(c->access, AC__MAX);
        cfg_values_release(c->monitoring, MON__MAX);
        cfg_values_release(c->proxy, PXK__MAX);
        for (size_t i = 0; i < c->n_exemptions; i++) {
                free(c->exemptions[i].user);
                free(c->exemptions[i].expires_text);
                free(c->exemptions[i].reason);
        }
        free(c->exemptions);
        for (size_t i = 0; i < c->n_diags; i++)
                free(c->diags[i].message);
        free(c->diags);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c->path);
        free(c->dir);
        free(c);
        return NULL;
}

char *cfg_diag_format(const struct cfg_diag *d)
{
        static const char *const sev[] = {"note", "warning", "error"};
        char *s = NULL;
        int r;

        if (d->src.line > 0)
                r = asprintf(&s, "%s:%u:%u: %s: %s", d->src.file ? d->src.file : "?", d->src.line,
                             d->src.column, sev[d->severity], d->message);
        else
                r = asprintf(&s, "%s: %s: %s", d->src.file ? d->src.file : "?", sev[d->severity],
                             d->message);
        return r < 0 ? NULL : s;
}

const struct config_group *config_find_group(const struct config *c, const char *name)
{
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].name, name))
                        return &c->groups[i];
        return NULL;
}

const struct config_ctype *config_find_ctype(const struct config *c, const char *name)
{
        for (size_t i = 0; i < c->n_ctypes; i++)
                if (streq(c->ctypes[i].name, name))
                        return &c->ctypes[i];
        return NULL;
}
