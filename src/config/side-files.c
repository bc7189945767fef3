/* side-files.c - the files beside resource-limits.yaml that are not YAML
 * sections of it: groups/<group>.members (one user per line, '#' comments,
 * archived.members ignored) and lifecycle-exemptions.yaml (problems there are
 * warnings: a broken file exempts nobody). */
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

/* ---- groups/<g>.members --------------------------------------------------- */

static int load_members_file(struct load_ctx *ctx, const char *path, struct config_group *g)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        unsigned lineno = 0;
        int r;

        ctx->file = cfg_add_file(ctx->c, path);
        if (!ctx->file)
                return -ENOMEM;
        r = cfg_read_file(path, CONFIG_FILE_MAX, &buf, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                struct cfg_src src = {.file = ctx->file};
                cfg_diag_add(ctx, r == -EACCES ? CFG_WARNING : CFG_ERROR, &src,
                             "cannot read: %s; members of group '%s' listed there are not known",
                             cfg_errno_text(r), g->name);
                return 0;
        }
        g->has_members_file = true;
        for (size_t pos = 0; pos < len;) {
                size_t end = pos, start, stop;
                const char *problem;
                char *hash;

                while (end < len && buf[end] != '\n')
                        end++;
                lineno++;
                buf[end] = '\0';
                /* Comments run from '#' to the end of the line. */
                hash = memchr(buf + pos, '#', end - pos);
                stop = hash ? (size_t)(hash - buf) : end;
                start = pos;
                while (start < stop &&
                       (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\r'))
                        start++;
                while (stop > start &&
                       (buf[stop - 1] == ' ' || buf[stop - 1] == '\t' || buf[stop - 1] == '\r'))
                        stop--;
                if (stop > start) {
                        size_t bad = 0;
                        struct cfg_src src = {.file = ctx->file,
                                              .line = lineno,
                                              .column = (unsigned)(start - pos) + 1};
                        if (memchr(buf + start, '\0', stop - start))
                                problem = "user name contains a NUL byte";
                        else if (!utf8_valid(buf + start, stop - start, &bad)) {
                                src.column += (unsigned)bad;
                                problem = "user name is not valid UTF-8";
                        } else
                                problem = cfg_username_problem(buf + start, stop - start);
                        if (problem) {
                                cfg_diag_add(ctx, CFG_ERROR, &src, "%s; the line is skipped",
                                             problem);
                        } else if (g->n_members >= ENTRIES_MAX) {
                                cfg_diag_add(ctx, CFG_ERROR, &src,
                                             "more than %d members; the rest are skipped",
                                             ENTRIES_MAX);
                                break;
                        } else {
                                char save = buf[stop];
                                buf[stop] = '\0';
                                r = cfg_add_member(ctx, g, buf + start);
                                buf[stop] = save;
                                if (r < 0)
                                        return r;
                        }
                }
                pos = end + 1;
        }
        return 0;
}

static int dirent_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int cfg_load_members_files(struct load_ctx *ctx)
{
        struct config *c = ctx->c;
        _cleanup_free_ char *dirpath = NULL;
        char **names = NULL;
        size_t n_names = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&dirpath, "%s/groups", c->dir) < 0)
                return -ENOMEM;
        d = opendir(dirpath);
        if (!d)
                return 0; /* no groups folder: inline members only */
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".members") || de->d_name[0] == '.')
                        continue;
                if (cfg_list_push(&names, &n_names, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        if (r == 0 && n_names > 1)
                qsort(names, n_names, sizeof(*names), dirent_cmp);

        for (size_t i = 0; r == 0 && i < n_names; i++) {
                _cleanup_free_ char *path = NULL;
                size_t blen = strlen(names[i]) - strlen(".members");
                struct config_group *g;

                names[i][blen] = '\0';
                if (streq(names[i], "archived"))
                        continue;
                if (asprintf(&path, "%s/%s.members", dirpath, names[i]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                g = (struct config_group *)config_find_group(c, names[i]);
                if (!g) {
                        struct cfg_src src;
                        ctx->file = cfg_add_file(c, path);
                        if (!ctx->file) {
                                r = -ENOMEM;
                                break;
                        }
                        src = (struct cfg_src){.file = ctx->file, .line = 1, .column = 1};
                        cfg_diag_add(
                            ctx, CFG_ERROR, &src,
                            "members file of group '%s', which resource-limits.yaml does not "
                            "define (add groups.%s, or rename the file to archived.members)",
                            names[i], names[i]);
                        continue;
                }
                r = load_members_file(ctx, path, g);
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        return r;
}

/* ---- lifecycle-exemptions.yaml -------------------------------------------- */

unsigned exempt_type_from_name(const char *s)
{
        if (streq(s, "idle_timeout") || streq(s, "idle_timeout_h"))
                return EXEMPT_IDLE_TIMEOUT;
        if (streq(s, "max_runtime") || streq(s, "max_runtime_h"))
                return EXEMPT_MAX_RUNTIME;
        return 0;
}

static int load_exemption_entry(struct load_ctx *ctx, yaml_node_t *n)
{
        struct config *c = ctx->c;
        struct cfg_value v[EXM__MAX] = {0};
        struct config_exemption *e;
        int r;

        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n,
                         "each exemption must be a mapping (username:, exempt_from:, "
                         "expires_on:, ...); this one is ignored");
                return 0;
        }
        r = cfg_load_mapping(ctx, n, "an exemption", &cfg_section_exemption, v, NULL, NULL, NULL);
        if (r < 0)
                goto out;
        e = realloc(c->exemptions, (c->n_exemptions + 1) * sizeof(*e));
        if (!e) {
                r = -ENOMEM;
                goto out;
        }
        c->exemptions = e;
        e = &c->exemptions[c->n_exemptions++];
        *e = (struct config_exemption){.src = node_src(ctx, n), .valid = true};
        if (v[EXM_USERNAME].state != CFG_SET) {
                node_err(ctx, n, "exemption without a username; it is ignored");
                e->valid = false;
        } else {
                e->user = TAKE_PTR(v[EXM_USERNAME].s);
        }
        if (v[EXM_EXEMPT_FROM].state != CFG_SET) {
                if (e->valid)
                        node_err(ctx, n,
                                 "exemption of '%s' has no exempt_from list; it is "
                                 "ignored",
                                 e->user);
                e->valid = false;
        } else {
                for (size_t i = 0; i < v[EXM_EXEMPT_FROM].n_list; i++) {
                        unsigned t = exempt_type_from_name(v[EXM_EXEMPT_FROM].list[i]);
                        if (!t) {
                                cfg_diag_add(ctx, CFG_ERROR, &v[EXM_EXEMPT_FROM].src,
                                             "unknown enforcement '%s' in exempt_from (known: "
                                             "idle_timeout, max_runtime)",
                                             v[EXM_EXEMPT_FROM].list[i]);
                                continue;
                        }
                        e->exempt_from |= t;
                }
        }
        if (v[EXM_REASON].state == CFG_SET)
                e->reason = TAKE_PTR(v[EXM_REASON].s);
        if (v[EXM_EXPIRES_ON].state == CFG_SET) {
                e->expires_text = TAKE_PTR(v[EXM_EXPIRES_ON].s);
                if (parse_timestamp(e->expires_text, &e->expires) < 0) {
                        cfg_diag_add(ctx, CFG_ERROR, &v[EXM_EXPIRES_ON].src,
                                     "expires_on '%s' is not a date (use ISO 8601, e.g. "
                                     "2026-06-30T23:59:59Z); this exemption does not apply",
                                     e->expires_text);
                        e->valid = false;
                }
        } else if (v[EXM_EXPIRES_ON].state == CFG_NULL) {
                e->permanent = true;
        } else if (e->valid) {
                node_err(ctx, n,
                         "exemption of '%s' has no expires_on; write expires_on: null for a "
                         "permanent one. It does not apply",
                         e->user);
                e->valid = false;
        }
        r = 0;
out:
        cfg_values_release(v, EXM__MAX);
        return r;
}

int cfg_load_exemptions(struct load_ctx *ctx)
{
        struct config *c = ctx->c;
        _cleanup_free_ char *path = NULL;
        yaml_document_t doc;
        yaml_node_t *root, *list = NULL;
        int r;

        if (asprintf(&path, "%s/lifecycle-exemptions.yaml", c->dir) < 0)
                return -ENOMEM;
        ctx->soft = true;
        r = cfg_load_yaml_file(ctx, path, &doc, false);
        if (r == 0) {
                struct cfg_src src = {.file = ctx->file};
                cfg_diag_add(ctx, CFG_NOTE, &src, "no lifecycle exemptions file; nobody is exempt");
                ctx->soft = false;
                return 0;
        }
        if (r < 0) {
                ctx->soft = false;
                if (r == -ENOMEM)
                        return r;
                {
                        struct cfg_src src = {.file = ctx->file};
                        cfg_diag_add(ctx, CFG_WARNING, &src,
                                     "the exemptions file could not be used; nobody is exempt");
                }
                return 0;
        }
        ctx->doc = &doc;
        root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE) {
                for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
                     p < root->data.mapping.pairs.top; p++) {
                        yaml_node_t *k = doc_node(ctx, p->key);
                        if (node_is_scalar(k) && streq(scalar(k), "exemptions"))
                                list = doc_node(ctx, p->value);
                        else if (k)
                                node_err(ctx, k,
                                         "unknown key '%s' in the exemptions file (expected "
                                         "exemptions:)",
                                         node_is_scalar(k) ? scalar(k) : "?");
                }
                if (list && list->type == YAML_SEQUENCE_NODE) {
                        for (yaml_node_item_t *it = list->data.sequence.items.start;
                             it < list->data.sequence.items.top && r >= 0; it++) {
                                yaml_node_t *item = doc_node(ctx, *it);
                                if (item)
                                        r = load_exemption_entry(ctx, item);
                        }
                        if (r >= 0)
                                c->exemptions_loaded = true;
                } else if (list && !node_is_null(list)) {
                        node_err(ctx, list, "exemptions must be a list; nobody is exempt");
                } else {
                        c->exemptions_loaded = true;
                }
        } else if (root) {
                node_err(ctx, root,
                         "the exemptions file must be a mapping with an exemptions: list; nobody "
                         "is exempt");
        } else {
                c->exemptions_loaded = true;
        }
        yaml_document_delete(&doc);
        ctx->doc = NULL;
        ctx->soft = false;
        return r < 0 ? r : 0;
}
