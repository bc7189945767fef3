/* yaml-doc.c - reading configuration files and turning them into libyaml
 * documents, with recovery after syntax errors; the list of diagnostics.
 *
 * libyaml's document loader is the parser PyYAML's C loader uses, so scalars
 * mean what they meant to the old Python tools. A syntax error is reported,
 * its line blanked out (every other position unchanged) and the parse tried
 * again, so one run reports the syntax error and the problems in the rest. */
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

void cfg_diag_addv(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                   const char *fmt, va_list ap)
{
        struct config *c = ctx->c;
        struct cfg_diag *d;
        char *msg = NULL;

        if (ctx->soft && sev == CFG_ERROR)
                sev = CFG_WARNING;

        if (c->n_diags >= DIAG_MAX) {
                ctx->dropped++;
                if (sev == CFG_ERROR)
                        c->n_errors++;
                else if (sev == CFG_WARNING)
                        c->n_warnings++;
                return;
        }
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        d = realloc(c->diags, (c->n_diags + 1) * sizeof(*d));
        if (!d) {
                free(msg);
                return;
        }
        c->diags = d;
        c->diags[c->n_diags++] = (struct cfg_diag){
            .severity = sev,
            .src = src ? *src : (struct cfg_src){.file = ctx->file},
            .message = msg,
        };
        if (sev == CFG_ERROR)
                c->n_errors++;
        else if (sev == CFG_WARNING)
                c->n_warnings++;
}

void cfg_diag_add(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                  const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cfg_diag_addv(ctx, sev, src, fmt, ap);
        va_end(ap);
}

void cfg_node_diag(struct load_ctx *ctx, enum cfg_severity sev, const yaml_node_t *n,
                   const char *fmt, ...)
{
        struct cfg_src src = node_src(ctx, n);
        va_list ap;

        va_start(ap, fmt);
        cfg_diag_addv(ctx, sev, &src, fmt, ap);
        va_end(ap);
}

/* ---- files --------------------------------------------------------------- */

/* Registers a path in c->files and returns the stored copy (or NULL on ENOMEM). */
const char *cfg_add_file(struct config *c, const char *path)
{
        char **f = realloc(c->files, (c->n_files + 1) * sizeof(*f));
        if (!f)
                return NULL;
        c->files = f;
        f[c->n_files] = strdup(path);
        if (!f[c->n_files])
                return NULL;
        return f[c->n_files++];
}

/* Reads a whole regular file of at most max bytes. -errno, -EFBIG, -EISDIR. */
int cfg_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_strbuf_ struct strbuf sb;
        struct stat st;
        char chunk[16384];
        int fd, r = 0;

        strbuf_init(&sb, max);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                goto out;
        }
        if ((uint64_t)st.st_size > max) {
                r = -EFBIG;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                r = strbuf_append(&sb, chunk, (size_t)n);
                if (r == -E2BIG)
                        r = -EFBIG;
                if (r < 0)
                        goto out;
        }
        *ret_len = sb.len;
        *ret = strbuf_steal(&sb);
        if (!*ret)
                r = -ENOMEM;
out:
        close(fd);
        return r;
}

const char *cfg_errno_text(int r)
{
        switch (r) {
        case -EFBIG:
                return "file too large";
        default:
                return strerror(-r);
        }
}

/* ---- YAML documents ------------------------------------------------------ */

/* One parse of buf into doc. On a syntax or encoding error, adds a
 * diagnostic, sets *ret_off to the byte offset of the problem and returns
 * -EINVAL; -ENOMEM; 0 when doc holds the document (no root when empty). */
static int yaml_parse_once(struct load_ctx *ctx, const char *buf, size_t len, yaml_document_t *doc,
                           size_t *ret_off)
{
        yaml_parser_t parser;
        struct cfg_src src = {.file = ctx->file, .line = 1, .column = 1};
        size_t off, line_start;
        bool tab = false;
        int r = -EINVAL;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
        if (yaml_parser_load(&parser, doc)) {
                yaml_parser_delete(&parser);
                return 0;
        }
        if (parser.error == YAML_MEMORY_ERROR) {
                yaml_parser_delete(&parser);
                return -ENOMEM;
        }
        /* Encoding errors carry a byte offset, the others a mark. */
        off = parser.error == YAML_READER_ERROR ? parser.problem_offset : parser.problem_mark.index;
        off = MIN(off, len);
        if (parser.error == YAML_READER_ERROR && parser.problem &&
            (strstr(parser.problem, "trailing") || strstr(parser.problem, "incomplete"))) {
                /* libyaml points past the lead byte of a broken sequence. */
                size_t k = off;
                while (k > 0 && off - k < 4 && (unsigned char)buf[k] < 0xc0)
                        k--;
                // NOLINTNEXTLINE(clang-analyzer-core.NullDereference): buf is set when r >= 0
                if ((unsigned char)buf[k] >= 0xc0)
                        off = k;
        }
        for (size_t i = 0; i < off; i++) {
                if (buf[i] == '\n') {
                        src.line++;
                        src.column = 1;
                } else {
                        src.column++;
                }
        }
        line_start = off - (src.column - 1);
        for (size_t i = line_start; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
                tab = tab || buf[i] == '\t';

        if (parser.error == YAML_READER_ERROR)
                cfg_diag_add(ctx, CFG_ERROR, &src, "%s (the file must be UTF-8 text)",
                             parser.problem ? parser.problem : "invalid bytes");
        else if (tab)
                cfg_diag_add(ctx, CFG_ERROR, &src,
                             "a tab character is used for indentation; YAML allows only spaces "
                             "(replace the tab with spaces)");
        else if (parser.context)
                cfg_diag_add(ctx, CFG_ERROR, &src,
                             "YAML syntax error: %s %s that starts at line %zu; check the "
                             "indentation",
                             parser.problem ? parser.problem : "malformed YAML", parser.context,
                             parser.context_mark.line + 1);
        else
                cfg_diag_add(ctx, CFG_ERROR, &src, "YAML syntax error: %s",
                             parser.problem ? parser.problem : "malformed YAML");
        *ret_off = off;
        yaml_parser_delete(&parser);
        return r;
}

/* Parses buf as one YAML document into doc. A syntax error is reported and
 * its line blanked out (positions of everything else unchanged), then the
 * parse is tried again, so that one run reports the syntax error and the
 * problems in the rest of the file. Returns 0 with doc loaded (after errors,
 * if any were reported), -EINVAL when nothing could be parsed, -ENOMEM. */
#define YAML_RECOVERY_TRIES 8
static int yaml_load_buffer(struct load_ctx *ctx, const char *buf, size_t len, yaml_document_t *doc)
{
        _cleanup_free_ char *copy = NULL;
        const char *cur = buf;
        int r = -EINVAL;

        for (int attempt = 0; attempt <= YAML_RECOVERY_TRIES; attempt++) {
                size_t off = 0, start, end;
                bool blank = true;

                r = yaml_parse_once(ctx, cur, len, doc, &off);
                if (r != -EINVAL)
                        return r;
                if (!copy) {
                        copy = malloc(len + 1);
                        if (!copy)
                                return -ENOMEM;
                        /* buf is set: cfg_read_file() returned >= 0 */
                        // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
                        memcpy(copy, buf, len);
                        copy[len] = '\0';
                        cur = copy;
                }
                start = off;
                while (start > 0 && copy[start - 1] != '\n')
                        start--;
                end = off;
                while (end < len && copy[end] != '\n')
                        end++;
                for (size_t i = start; i < end; i++)
                        blank = blank && copy[i] == ' ';
                if (blank)
                        break; /* the problem is not on one line; stop here */
                memset(copy + start, ' ', end - start);
        }
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): copy is freed by _cleanup_free_
        return r;
}

const char *cfg_node_type_name(const yaml_node_t *n)
{
        if (!n)
                return "nothing";
        switch (n->type) {
        case YAML_SCALAR_NODE:
                return node_is_null(n) ? "null" : "a value";
        case YAML_SEQUENCE_NODE:
                return "a list";
        case YAML_MAPPING_NODE:
                return "a mapping";
        default:
                return "nothing";
        }
}

int cfg_load_yaml_file(struct load_ctx *ctx, const char *path, yaml_document_t *doc,
                       bool must_exist)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        ctx->file = cfg_add_file(ctx->c, path);
        if (!ctx->file)
                return -ENOMEM;
        r = cfg_read_file(path, CONFIG_FILE_MAX, &buf, &len);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                struct cfg_src src = {.file = ctx->file};
                if (r == -EFBIG)
                        cfg_diag_add(ctx, CFG_ERROR, &src,
                                     "cannot read: file too large (the limit is %u MiB)",
                                     CONFIG_FILE_MAX / (1024 * 1024));
                else
                        cfg_diag_add(ctx, CFG_ERROR, &src, "cannot read: %s", cfg_errno_text(r));
                return r;
        }
        r = yaml_load_buffer(ctx, buf, len, doc);
        if (r < 0)
                return r;
        return 1;
}

struct diag_key {
        size_t file, index;
        const struct cfg_diag *d;
};

static int diag_key_cmp(const void *a, const void *b)
{
        const struct diag_key *x = a, *y = b;

        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        if (x->d->src.line != y->d->src.line)
                return x->d->src.line < y->d->src.line ? -1 : 1;
        if (x->d->src.column != y->d->src.column)
                return x->d->src.column < y->d->src.column ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

void cfg_sort_diags(struct config *c)
{
        struct diag_key *keys;
        struct cfg_diag *sorted;

        if (c->n_diags < 2)
                return;
        keys = calloc(c->n_diags, sizeof(*keys));
        sorted = calloc(c->n_diags, sizeof(*sorted));
        if (!keys || !sorted) {
                free(keys);
                free(sorted);
                return; /* unsorted is still correct */
        }
        for (size_t i = 0; i < c->n_diags; i++) {
                keys[i] = (struct diag_key){.file = c->n_files, .index = i, .d = &c->diags[i]};
                for (size_t f = 0; f < c->n_files; f++)
                        if (c->diags[i].src.file == c->files[f]) {
                                keys[i].file = f;
                                break;
                        }
        }
        qsort(keys, c->n_diags, sizeof(*keys), diag_key_cmp);
        for (size_t i = 0; i < c->n_diags; i++)
                sorted[i] = *keys[i].d;
        free(c->diags);
        c->diags = sorted;
        free(keys);
}
