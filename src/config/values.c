/* values.c - YAML nodes to typed configuration values, and the walk of a
 * mapping against a section of the schema (config/schema.c): unknown keys with
 * a "did you mean", aliases, duplicate keys, merge keys (<<), the walk budget. */
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

/* ---- values -------------------------------------------------------------- */

void cfg_value_release(struct cfg_value *v)
{
        free(v->s);
        for (size_t i = 0; i < v->n_list; i++)
                free(v->list[i]);
        free(v->list);
        *v = (struct cfg_value){0};
}

void cfg_values_release(struct cfg_value *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                cfg_value_release(&v[i]);
}

static bool parse_bool_word(const char *s, bool *ret)
{
        static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                          "YES",  "on",   "On",   "ON"};
        static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                         "NO",    "off",   "Off",   "OFF"};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (streq(s, yes[i])) {
                        *ret = true;
                        return true;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (streq(s, no[i])) {
                        *ret = false;
                        return true;
                }
        return false;
}

/* A user or group name read from the config: printable, no spaces, not too long. */
const char *cfg_username_problem(const char *s, size_t len)
{
        if (len == 0)
                return "empty user name";
        if (len > USERNAME_MAX)
                return "user name longer than 256 bytes";
        if (!utf8_valid(s, len, NULL))
                return "user name is not valid UTF-8";
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch < 0x20 || ch == 0x7f)
                        return "user name contains a control character";
                if (ch == ' ')
                        return "user name contains a space (one name per entry)";
                if (ch == '/' || ch == ':' || ch == ',')
                        return "user name contains '/', ':' or ','";
        }
        return NULL;
}

/* GPU slot names: "N" or "N.D". */
static bool slot_name_valid(const char *s)
{
        size_t i = 0, digits = 0;

        for (; s[i] >= '0' && s[i] <= '9'; i++)
                digits++;
        if (digits == 0 || digits > 3)
                return false;
        if (s[i] == '\0')
                return true;
        if (s[i] != '.')
                return false;
        i++;
        digits = 0;
        for (; s[i] >= '0' && s[i] <= '9'; i++)
                digits++;
        return digits > 0 && digits <= 3 && s[i] == '\0';
}

int cfg_list_push(char ***list, size_t *n, const char *s)
{
        char **l = realloc(*list, (*n + 1) * sizeof(**list));
        if (!l)
                return -ENOMEM;
        *list = l;
        l[*n] = strdup(s);
        if (!l[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

bool cfg_list_contains(char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

/* Reads a sequence of scalars into out (strings or slot names). Returns 0 or
 * -EINVAL after reporting. */
static int convert_list(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *n,
                        struct cfg_value *out)
{
        size_t count;

        if (n->type != YAML_SEQUENCE_NODE) {
                node_err(ctx, n, "'%s' must be a list (- item per line, or [a, b]), not %s",
                         k->name, cfg_node_type_name(n));
                return -EINVAL;
        }
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (count > ENTRIES_MAX) {
                node_err(ctx, n, "'%s' has %zu entries; at most %d are accepted", k->name, count,
                         ENTRIES_MAX);
                return -EINVAL;
        }
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
                yaml_node_t *item = doc_node(ctx, *it);
                const char *s;

                if (!cfg_walk_budget(ctx, n))
                        return -EINVAL;
                if (!node_is_scalar(item) || node_is_null(item)) {
                        node_err(ctx, item ? item : n,
                                 "entries of '%s' must be single values, not %s", k->name,
                                 cfg_node_type_name(item));
                        return -EINVAL;
                }
                s = scalar(item);
                if (strlen(s) != item->data.scalar.length) {
                        node_err(ctx, item, "entry of '%s' contains a NUL byte", k->name);
                        return -EINVAL;
                }
                if (k->kind == CFG_SLOT_LIST && !slot_name_valid(s)) {
                        node_err(ctx, item,
                                 "'%s' is not a GPU slot: use \"N\" for GPU N or \"N.D\" for MIG "
                                 "device D of GPU N",
                                 s);
                        return -EINVAL;
                }
                if (k->kind == CFG_STRING_LIST && strlen(s) > 4096) {
                        node_err(ctx, item, "entry of '%s' is longer than 4096 bytes", k->name);
                        return -EINVAL;
                }
                if (cfg_list_contains(out->list, out->n_list, s))
                        continue;
                if (cfg_list_push(&out->list, &out->n_list, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static void range_error(struct load_ctx *ctx, yaml_node_t *n, const struct cfg_key *k,
                        const char *s)
{
        if (k->max >= 1e15)
                node_err(ctx, n, "'%s' must be at least %g, got %s", k->name, k->min, s);
        else
                node_err(ctx, n, "'%s' must be between %g and %g, got %s", k->name, k->min, k->max,
                         s);
}

/* Converts node n to the kind of key k into out (which must be empty).
 * Returns 0 on success (out->state set), -EINVAL after reporting, -ENOMEM. */
int cfg_convert_value(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *n,
                      struct cfg_value *out)
{
        const char *s;
        int r;

        out->src = node_src(ctx, n);
        out->key = k->name;

        if (node_is_null(n)) {
                if (!(k->flags & CFG_F_NULLABLE)) {
                        node_err(ctx, n, "'%s' cannot be null; give a value or remove the key",
                                 k->name);
                        return -EINVAL;
                }
                out->state = CFG_NULL;
                return 0;
        }

        if (k->kind == CFG_STRING_LIST || k->kind == CFG_SLOT_LIST) {
                r = convert_list(ctx, k, n, out);
                if (r < 0) {
                        cfg_value_release(out);
                        return r;
                }
                out->src = node_src(ctx, n);
                out->key = k->name;
                out->state = CFG_SET;
                return 0;
        }

        if (n->type != YAML_SCALAR_NODE) {
                node_err(ctx, n, "'%s' must be a single value, not %s", k->name,
                         cfg_node_type_name(n));
                return -EINVAL;
        }
        s = scalar(n);
        if (strlen(s) != n->data.scalar.length) {
                node_err(ctx, n, "'%s' contains a NUL byte", k->name);
                return -EINVAL;
        }

        switch (k->kind) {
        case CFG_BOOL:
                if (!scalar_plain(n) || !parse_bool_word(s, &out->b)) {
                        node_err(ctx, n, "'%s' must be true or false, got '%s'", k->name, s);
                        return -EINVAL;
                }
                break;
        case CFG_INT: {
                long long v;
                if (!scalar_plain(n)) {
                        node_err(ctx, n,
                                 "'%s' must be a number, got the quoted text \"%s\" "
                                 "(remove the quotes)",
                                 k->name, s);
                        return -EINVAL;
                }
                r = safe_atoi64(s, &v);
                if (r < 0) {
                        double d;
                        if (safe_atod(s, &d) >= 0)
                                node_err(ctx, n, "'%s' must be a whole number, got %s", k->name, s);
                        else
                                node_err(ctx, n, "'%s' must be a whole number, got '%s'", k->name,
                                         s);
                        return -EINVAL;
                }
                if ((double)v < k->min || (double)v > k->max) {
                        range_error(ctx, n, k, s);
                        return -EINVAL;
                }
                out->i = v;
                break;
        }
        case CFG_FLOAT: {
                double v;
                if (!scalar_plain(n)) {
                        node_err(ctx, n,
                                 "'%s' must be a number, got the quoted text \"%s\" "
                                 "(remove the quotes)",
                                 k->name, s);
                        return -EINVAL;
                }
                if (safe_atod(s, &v) < 0) {
                        node_err(ctx, n, "'%s' must be a number, got '%s'", k->name, s);
                        return -EINVAL;
                }
                if (v < k->min || v > k->max) {
                        range_error(ctx, n, k, s);
                        return -EINVAL;
                }
                out->f = v;
                break;
        }
        case CFG_STRING:
                if (s[0] == '\0') {
                        node_err(ctx, n, "'%s' must not be empty", k->name);
                        return -EINVAL;
                }
                if (strlen(s) > 4096) {
                        node_err(ctx, n, "'%s' is longer than 4096 bytes", k->name);
                        return -EINVAL;
                }
                if (k->allowed) {
                        size_t len = strlen(s);
                        bool ok = false;
                        for (const char *p = k->allowed; *p;) {
                                size_t w = strcspn(p, "|");
                                if (w == len && strncmp(p, s, w) == 0)
                                        ok = true;
                                p += w;
                                if (*p == '|')
                                        p++;
                        }
                        if (!ok) {
                                node_err(ctx, n, "'%s' must be one of %s, got '%s'", k->name,
                                         k->allowed, s);
                                return -EINVAL;
                        }
                }
                break;
        case CFG_DOCKER_SIZE:
                if (parse_docker_size(s, &out->size) < 0) {
                        node_err(ctx, n,
                                 "'%s' is not a size: '%s' (use a number with k, m, g or t, "
                                 "e.g. 32g)",
                                 k->name, s);
                        return -EINVAL;
                }
                break;
        case CFG_SYSTEMD_SIZE:
                if (parse_systemd_size(s, &out->size) < 0) {
                        node_err(ctx, n,
                                 "'%s' is not a size: '%s' (use a number with K, M, G or T, "
                                 "e.g. 96G, or infinity)",
                                 k->name, s);
                        return -EINVAL;
                }
                break;
        case CFG_PERCENT:
                if (parse_percent(s, &out->f) < 0) {
                        node_err(ctx, n, "'%s' must be a percentage such as \"9600%%\", got '%s'",
                                 k->name, s);
                        return -EINVAL;
                }
                if (out->f < k->min || out->f > k->max) {
                        range_error(ctx, n, k, s);
                        return -EINVAL;
                }
                break;
        case CFG_DURATION:
                r = parse_duration(s, k->unit, &out->secs);
                if (r < 0) {
                        const char *unit = k->unit == SEC_PER_HOUR  ? "hours"
                                           : k->unit == SEC_PER_MIN ? "minutes"
                                                                    : "seconds";
                        node_err(ctx, n,
                                 "'%s' is not a duration: '%s' (a number of %s, or a number "
                                 "with s, m, h, d or w, e.g. 30m)",
                                 k->name, s, unit);
                        return -EINVAL;
                }
                if (out->secs == DURATION_INFINITY) {
                        if (!(k->flags & CFG_F_NULLABLE)) {
                                node_err(ctx, n, "'%s' cannot be unlimited", k->name);
                                return -EINVAL;
                        }
                        out->state = CFG_NULL;
                        out->s = strdup(s);
                        return out->s ? 0 : -ENOMEM;
                }
                break;
        case CFG_TIMESTAMP:
                if (parse_timestamp(s, &out->secs) < 0) {
                        node_err(ctx, n,
                                 "'%s' is not a date: '%s' (use ISO 8601, e.g. "
                                 "2026-06-30T23:59:59Z or 2026-06-30)",
                                 k->name, s);
                        return -EINVAL;
                }
                break;
        default:
                node_err(ctx, n, "'%s' cannot be given here", k->name);
                return -EINVAL;
        }

        out->s = strdup(s);
        if (!out->s)
                return -ENOMEM;
        out->state = CFG_SET;
        return 0;
}

/* Rank of key k in its alias chain: 0 for the canonical name. */
static unsigned key_rank(const struct cfg_section *sec, const struct cfg_key *k)
{
        unsigned rank = 0;
        for (const struct cfg_key *p = sec->keys; p < k; p++)
                if (p->id == k->id && p->kind != CFG_IGNORED && p->kind != CFG_SECTION)
                        rank++;
        return rank;
}

/* Stores a converted value into slot, resolving duplicates and aliases. */
void cfg_store_value(struct load_ctx *ctx, const struct cfg_section *sec, const struct cfg_key *k,
                     yaml_node_t *key_node, struct cfg_value *slot, struct cfg_value *v)
{
        v->rank = key_rank(sec, k);
        v->merged = ctx->merging;
        if (slot->state != CFG_UNSET && slot->merged) {
                cfg_value_release(slot);
        } else if (slot->state != CFG_UNSET) {
                if (slot->rank == v->rank) {
                        node_warn(ctx, key_node,
                                  "duplicate key '%s' (also at line %u); the last one is used",
                                  k->name, slot->src.line);
                } else {
                        const struct cfg_key *canon = cfg_section_canonical(sec, k->id);
                        struct cfg_value *winner = slot->rank < v->rank ? slot : v;
                        struct cfg_value *loser = winner == slot ? v : slot;
                        node_warn(ctx, key_node,
                                  "'%s' and '%s' (line %u) both set '%s'; '%s' is used — "
                                  "keep only '%s'",
                                  v->key, slot->key, slot->src.line, canon ? canon->name : k->name,
                                  winner->key, canon ? canon->name : k->name);
                        if (winner == slot) {
                                cfg_value_release(loser);
                                return;
                        }
                }
                cfg_value_release(slot);
        } else if (k->flags & CFG_F_ALIAS) {
                const struct cfg_key *canon = cfg_section_canonical(sec, k->id);
                node_note(ctx, key_node, "'%s' is a legacy name; prefer '%s'", k->name,
                          canon ? canon->name : k->name);
        }
        *slot = *v;
        *v = (struct cfg_value){0};
}

void cfg_unknown_key(struct load_ctx *ctx, yaml_node_t *key, const char *where,
                     const struct cfg_section *sec, const struct cfg_section *extra)
{
        const char *name = scalar(key);
        const char *sug;

        /* Past DIAG_MAX the line is dropped: no "did you mean" to compute.
         * Merge keys (<<) that reach an ancestor can visit the same unknown
         * key tens of thousands of times (found by tests/fuzz/fuzz-config). */
        if (ctx->c->n_diags >= DIAG_MAX) {
                node_err(ctx, key, "unknown key '%s' in %s", name, where);
                return;
        }
        sug = cfg_section_suggest(sec, name);
        if (!sug && extra)
                sug = cfg_section_suggest(extra, name);
        if (sug)
                node_err(ctx, key, "unknown key '%s' in %s; did you mean '%s'?", name, where, sug);
        else
                node_err(ctx, key, "unknown key '%s' in %s", name, where);
}

/* Walks mapping n: keys of sec are converted into values[], keys of kind
 * CFG_SECTION (in sec or extra) go to fn. where names the section in messages. */
bool cfg_walk_budget(struct load_ctx *ctx, yaml_node_t *n)
{
        if (ctx->budget > 0) {
                ctx->budget--;
                return true;
        }
        if (!ctx->budget_reported) {
                node_err(ctx, n,
                         "the file is too complex (too many aliased or nested entries); "
                         "the rest is not read");
                ctx->budget_reported = true;
        }
        return false;
}

static int load_pairs(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                      const struct cfg_section *sec, struct cfg_value *values,
                      const struct cfg_section *extra, cfg_section_fn fn, void *userdata,
                      unsigned depth);

/* A YAML merge key (<<: *anchor, or a list of them), as PyYAML applies it:
 * the merged mapping's keys count unless the mapping itself sets them. */
static bool walking(const struct load_ctx *ctx, const yaml_node_t *m)
{
        for (unsigned i = 0; i < ctx->n_walking; i++)
                if (ctx->walking[i] == m)
                        return true;
        return false;
}

/* A merge key (<<) that names a mapping it is itself part of (`r: &r {<<:
 * *r}`) would be walked forever: said once per key, and skipped. */
static bool merge_loops(struct load_ctx *ctx, yaml_node_t *key, const yaml_node_t *m,
                        const char *where)
{
        if (!walking(ctx, m))
                return false;
        node_err(ctx, key,
                 "the merge key (<<) in %s names a mapping that contains it (a loop); remove "
                 "that alias",
                 where);
        return true;
}

static int load_merge(struct load_ctx *ctx, yaml_node_t *key, yaml_node_t *val, const char *where,
                      const struct cfg_section *sec, struct cfg_value *values,
                      const struct cfg_section *extra, cfg_section_fn fn, void *userdata,
                      unsigned depth)
{
        bool saved = ctx->merging;
        int r = 0;

        if (depth > 8) {
                node_err(ctx, val, "merge keys (<<) nested too deeply in %s", where);
                return 0;
        }
        ctx->merging = true;
        if (val->type == YAML_MAPPING_NODE) {
                if (!merge_loops(ctx, key, val, where))
                        r = load_pairs(ctx, val, where, sec, values, extra, fn, userdata,
                                       depth + 1);
        } else if (val->type == YAML_SEQUENCE_NODE) {
                /* Earlier mappings in the list win: apply them last. */
                for (yaml_node_item_t *it = val->data.sequence.items.top;
                     r >= 0 && it > val->data.sequence.items.start; it--) {
                        yaml_node_t *m = doc_node(ctx, *(it - 1));
                        if (!m || m->type != YAML_MAPPING_NODE) {
                                node_err(ctx, m ? m : val,
                                         "a merge key (<<) takes mappings, not %s",
                                         cfg_node_type_name(m));
                                continue;
                        }
                        if (merge_loops(ctx, key, m, where))
                                break; /* once for the key */
                        r = load_pairs(ctx, m, where, sec, values, extra, fn, userdata, depth + 1);
                }
        } else {
                node_err(ctx, val, "a merge key (<<) takes a mapping or a list of mappings, not %s",
                         cfg_node_type_name(val));
        }
        ctx->merging = saved;
        return r;
}

static bool is_merge_key(const yaml_node_t *key)
{
        return node_is_scalar(key) && scalar_plain(key) && streq(scalar(key), "<<");
}

static int load_pairs_of(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                         const struct cfg_section *sec, struct cfg_value *values,
                         const struct cfg_section *extra, cfg_section_fn fn, void *userdata,
                         unsigned depth);

/* Walks mapping n with n on the walking stack (merge loops are found there). */
static int load_pairs(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                      const struct cfg_section *sec, struct cfg_value *values,
                      const struct cfg_section *extra, cfg_section_fn fn, void *userdata,
                      unsigned depth)
{
        int r;

        if (ctx->n_walking >= WALK_DEPTH_MAX) {
                node_err(ctx, n, "mappings nested too deeply in %s (at most %d)", where,
                         WALK_DEPTH_MAX);
                return 0;
        }
        ctx->walking[ctx->n_walking++] = n;
        r = load_pairs_of(ctx, n, where, sec, values, extra, fn, userdata, depth);
        ctx->n_walking--;
        return r;
}

static int load_pairs_of(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                         const struct cfg_section *sec, struct cfg_value *values,
                         const struct cfg_section *extra, cfg_section_fn fn, void *userdata,
                         unsigned depth)
{
        int r;

        /* Merge keys first, so that the mapping's own keys override them.
         * Each costs from the walk budget: aliases can name a mapping that
         * merges the same one many times, at every level. */
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                if (key && val && is_merge_key(key)) {
                        if (!cfg_walk_budget(ctx, key))
                                return 0;
                        r = load_merge(ctx, key, val, where, sec, values, extra, fn, userdata,
                                       depth);
                        if (r < 0)
                                return r;
                }
        }
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                const struct cfg_key *k;
                struct cfg_value v = {0};
                bool from_extra = false;

                if (!key || !val || !cfg_walk_budget(ctx, key))
                        return 0;
                if (is_merge_key(key))
                        continue;
                if (!node_is_scalar(key)) {
                        node_err(ctx, key, "keys in %s must be plain names, not %s", where,
                                 cfg_node_type_name(key));
                        continue;
                }
                k = cfg_section_find(sec, scalar(key));
                if (!k && extra) {
                        k = cfg_section_find(extra, scalar(key));
                        from_extra = k != NULL;
                }
                if (!k) {
                        cfg_unknown_key(ctx, key, where, sec, extra);
                        continue;
                }
                if (k->kind == CFG_IGNORED) {
                        node_warn(ctx, key,
                                  "'%s' has no effect in ds01 (old DS01 releases "
                                  "read it); it can be removed",
                                  k->name);
                        continue;
                }
                if (from_extra || k->kind == CFG_SECTION) {
                        if (!fn) {
                                node_err(ctx, key, "'%s' is not allowed in %s", k->name, where);
                                continue;
                        }
                        r = fn(ctx, k, key, val, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = cfg_convert_value(ctx, k, val, &v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        cfg_value_release(&v);
                        continue;
                }
                cfg_store_value(ctx, sec, k, key, &values[k->id], &v);
        }
        return 0;
}

/* Walks mapping n: keys of sec are converted into values[], keys of the extra
 * section and keys of kind CFG_SECTION go to fn. where names the section in
 * messages. Returns <0 only for -ENOMEM. */
int cfg_load_mapping(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                     const struct cfg_section *sec, struct cfg_value *values,
                     const struct cfg_section *extra, cfg_section_fn fn, void *userdata)
{
        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n, "%s must be a mapping of keys to values, not %s", where,
                         cfg_node_type_name(n));
                return 0;
        }
        return load_pairs(ctx, n, where, sec, values, extra, fn, userdata, 0);
}
