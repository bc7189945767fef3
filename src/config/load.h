/* load.h - what the parts of the configuration loader share (not a public
 * API: only src/config/ includes it). The loader is split by job:
 *   yaml-doc.c    reading files, YAML documents with error recovery, diagnostics
 *   values.c      converting YAML nodes to typed values; the schema-driven walk
 *   config.c      the sections of resource-limits.yaml, checks, the public API
 *   side-files.c  groups/<g>.members and lifecycle-exemptions.yaml */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <yaml.h>

#include "config/config.h"
#include "config/schema.h"
#include "util/macro.h"

/* Past this many diagnostics the rest are dropped (with one line saying so):
 * a binary file fed to the loader must not print megabytes. */
#define DIAG_MAX 200
/* Entries in one mapping or list that names users or groups. */
#define ENTRIES_MAX 20000
/* A user name: bytes. */
#define USERNAME_MAX 256
/* Aliases let a small file name the same big mapping many times; the walk
 * visits at most this many mapping pairs and list items in all. */
#define WALK_BUDGET 2000000
/* Mappings inside mappings (merges included) the walk follows. */
#define WALK_DEPTH_MAX 64

struct load_ctx {
        struct config *c;
        const char *file; /* current file, owned by c->files */
        yaml_document_t *doc;
        bool soft;    /* errors count as warnings (lifecycle-exemptions.yaml) */
        bool merging; /* inside a YAML merge key (<<): explicit keys override quietly */
        size_t dropped;
        size_t budget; /* mapping pairs and list items left to visit */
        bool budget_reported;
        /* the mappings being walked, outermost first: a merge key (<<) that
         * names one of them is a loop (values.c) */
        const yaml_node_t *walking[WALK_DEPTH_MAX];
        unsigned n_walking;
};

/* ---- diagnostics (yaml-doc.c) ---- */
void cfg_diag_add(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                  const char *fmt, ...) _printf_(4, 5);
void cfg_diag_addv(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                   const char *fmt, va_list ap) _printf_(4, 0);
void cfg_node_diag(struct load_ctx *ctx, enum cfg_severity sev, const yaml_node_t *n,
                   const char *fmt, ...) _printf_(4, 5);
#define node_err(ctx, n, ...)  cfg_node_diag((ctx), CFG_ERROR, (n), __VA_ARGS__)
#define node_warn(ctx, n, ...) cfg_node_diag((ctx), CFG_WARNING, (n), __VA_ARGS__)
#define node_note(ctx, n, ...) cfg_node_diag((ctx), CFG_NOTE, (n), __VA_ARGS__)
/* Diagnostics in reading order: file, line, column. */
void cfg_sort_diags(struct config *c);

/* ---- files and documents (yaml-doc.c) ---- */
/* Registers a path in c->files; returns the stored copy, NULL on ENOMEM. */
const char *cfg_add_file(struct config *c, const char *path);
/* A whole regular file of at most max bytes (caller frees *ret). -errno, -EFBIG. */
int cfg_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
const char *cfg_errno_text(int r);
/* 1 loaded (root may be NULL when empty), 0 absent (when !must_exist),
 * -EINVAL reported, -ENOMEM. Sets ctx->file. */
int cfg_load_yaml_file(struct load_ctx *ctx, const char *path, yaml_document_t *doc,
                       bool must_exist);
const char *cfg_node_type_name(const yaml_node_t *n);

static inline struct cfg_src node_src(const struct load_ctx *ctx, const yaml_node_t *n)
{
        return (struct cfg_src){
            .file = ctx->file,
            .line = (unsigned)n->start_mark.line + 1,
            .column = (unsigned)n->start_mark.column + 1,
        };
}
static inline bool node_is_scalar(const yaml_node_t *n)
{
        return n && n->type == YAML_SCALAR_NODE;
}
static inline const char *scalar(const yaml_node_t *n)
{
        return (const char *)n->data.scalar.value;
}
static inline bool scalar_plain(const yaml_node_t *n)
{
        return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
               n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}
/* A plain "", ~, null, Null or NULL (YAML 1.1 as PyYAML reads it); also no node. */
static inline bool node_is_null(const yaml_node_t *n)
{
        const char *s;

        if (!n)
                return true;
        if (n->type != YAML_SCALAR_NODE || !scalar_plain(n))
                return false;
        s = scalar(n);
        return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
               !strcmp(s, "NULL");
}
static inline yaml_node_t *doc_node(struct load_ctx *ctx, int id)
{
        return yaml_document_get_node(ctx->doc, id);
}
static inline size_t mapping_size(const yaml_node_t *n)
{
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* ---- values and the walk (values.c) ---- */
void cfg_value_release(struct cfg_value *v);
void cfg_values_release(struct cfg_value *v, size_t n);
/* Why s is not a usable user name, or NULL. */
const char *cfg_username_problem(const char *s, size_t len);
int cfg_list_push(char ***list, size_t *n, const char *s);
bool cfg_list_contains(char *const *list, size_t n, const char *s);
/* Converts n to the kind of k into out (empty). 0, -EINVAL (reported), -ENOMEM. */
int cfg_convert_value(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *n,
                      struct cfg_value *out);
/* Consumes one unit of the walk budget; false (reported once) when spent. */
bool cfg_walk_budget(struct load_ctx *ctx, yaml_node_t *n);

/* Reports an unknown key of a section, with the nearest known name. */
void cfg_unknown_key(struct load_ctx *ctx, yaml_node_t *key, const char *where,
                     const struct cfg_section *sec, const struct cfg_section *extra);
/* Stores converted value v (consumed) into slot, resolving duplicates and aliases. */
void cfg_store_value(struct load_ctx *ctx, const struct cfg_section *sec, const struct cfg_key *k,
                     yaml_node_t *key_node, struct cfg_value *slot, struct cfg_value *v);

/* Called for keys of kind CFG_SECTION and keys of the extra section; returns
 * <0 only for -ENOMEM. */
typedef int (*cfg_section_fn)(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                              yaml_node_t *value, void *userdata);
/* Walks mapping n: keys of sec go into values[], keys of extra and sections to
 * fn. where names the section in messages. <0 only for -ENOMEM. */
int cfg_load_mapping(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                     const struct cfg_section *sec, struct cfg_value *values,
                     const struct cfg_section *extra, cfg_section_fn fn, void *userdata);

/* ---- config.c ---- */
int cfg_add_member(struct load_ctx *ctx, struct config_group *g, const char *name);

/* ---- side-files.c ---- */
int cfg_load_members_files(struct load_ctx *ctx);
int cfg_load_exemptions(struct load_ctx *ctx);
