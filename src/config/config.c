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
#include "config/config.h"

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
#include <yaml.h>

#include "config/resolve.h"
#include "config/schema.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/units.h"

/* Past this many diagnostics the rest are dropped (with one line saying so):
 * a binary file fed to the loader must not print megabytes. */
#define DIAG_MAX 200
/* Entries in one mapping or list that names users or groups. */
#define ENTRIES_MAX 20000
/* A user name: bytes. */
#define USERNAME_MAX 256

struct load_ctx {
        struct config *c;
        const char *file; /* current file, owned by c->files */
        yaml_document_t *doc;
        bool soft;    /* errors count as warnings (lifecycle-exemptions.yaml) */
        bool merging; /* inside a YAML merge key (<<): explicit keys override quietly */
        size_t dropped;
        size_t budget; /* mapping pairs and list items left to visit */
        bool budget_reported;
};

/* Aliases let a small file name the same big mapping many times; the walk
 * visits at most this many mapping pairs and list items in all. */
#define WALK_BUDGET 2000000

static bool walk_budget(struct load_ctx *ctx, yaml_node_t *n);

static void diag_add(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                     const char *fmt, ...) _printf_(4, 5);

static void diag_addv(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                      const char *fmt, va_list ap) _printf_(4, 0);

static void diag_addv(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
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

static void diag_add(struct load_ctx *ctx, enum cfg_severity sev, const struct cfg_src *src,
                     const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        diag_addv(ctx, sev, src, fmt, ap);
        va_end(ap);
}

static struct cfg_src node_src(const struct load_ctx *ctx, const yaml_node_t *n)
{
        return (struct cfg_src){
            .file = ctx->file,
            .line = (unsigned)n->start_mark.line + 1,
            .column = (unsigned)n->start_mark.column + 1,
        };
}

static void node_err(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
    _printf_(3, 4);
static void node_err(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
{
        struct cfg_src src = node_src(ctx, n);
        va_list ap;

        va_start(ap, fmt);
        diag_addv(ctx, CFG_ERROR, &src, fmt, ap);
        va_end(ap);
}

static void node_warn(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
    _printf_(3, 4);
static void node_warn(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
{
        struct cfg_src src = node_src(ctx, n);
        va_list ap;

        va_start(ap, fmt);
        diag_addv(ctx, CFG_WARNING, &src, fmt, ap);
        va_end(ap);
}

static void node_note(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
    _printf_(3, 4);
static void node_note(struct load_ctx *ctx, const yaml_node_t *n, const char *fmt, ...)
{
        struct cfg_src src = node_src(ctx, n);
        va_list ap;

        va_start(ap, fmt);
        diag_addv(ctx, CFG_NOTE, &src, fmt, ap);
        va_end(ap);
}

/* ---- files --------------------------------------------------------------- */

/* Registers a path in c->files and returns the stored copy (or NULL on ENOMEM). */
static const char *config_add_file(struct config *c, const char *path)
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
static int read_file_limited(const char *path, size_t max, char **ret, size_t *ret_len)
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

static const char *errno_text(int r)
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
                diag_add(ctx, CFG_ERROR, &src, "%s (the file must be UTF-8 text)",
                         parser.problem ? parser.problem : "invalid bytes");
        else if (tab)
                diag_add(ctx, CFG_ERROR, &src,
                         "a tab character is used for indentation; YAML allows only spaces "
                         "(replace the tab with spaces)");
        else if (parser.context)
                diag_add(ctx, CFG_ERROR, &src,
                         "YAML syntax error: %s %s that starts at line %zu; check the "
                         "indentation",
                         parser.problem ? parser.problem : "malformed YAML", parser.context,
                         parser.context_mark.line + 1);
        else
                diag_add(ctx, CFG_ERROR, &src, "YAML syntax error: %s",
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
        return r;
}

static bool node_is_scalar(const yaml_node_t *n)
{
        return n && n->type == YAML_SCALAR_NODE;
}

static const char *scalar(const yaml_node_t *n)
{
        return (const char *)n->data.scalar.value;
}

static bool scalar_plain(const yaml_node_t *n)
{
        return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
               n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* A plain "", ~, null, Null or NULL (YAML 1.1 as PyYAML reads it). */
static bool node_is_null(const yaml_node_t *n)
{
        const char *s;

        if (!n)
                return true;
        if (n->type != YAML_SCALAR_NODE || !scalar_plain(n))
                return false;
        s = scalar(n);
        return streq(s, "") || streq(s, "~") || streq(s, "null") || streq(s, "Null") ||
               streq(s, "NULL");
}

static const char *node_type_name(const yaml_node_t *n)
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

static yaml_node_t *doc_node(struct load_ctx *ctx, int id)
{
        return yaml_document_get_node(ctx->doc, id);
}

/* ---- values -------------------------------------------------------------- */

static void cfg_value_release(struct cfg_value *v)
{
        free(v->s);
        for (size_t i = 0; i < v->n_list; i++)
                free(v->list[i]);
        free(v->list);
        *v = (struct cfg_value){0};
}

static void cfg_values_release(struct cfg_value *v, size_t n)
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
static const char *username_problem(const char *s, size_t len)
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

static int list_push(char ***list, size_t *n, const char *s)
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

static bool list_contains(char *const *list, size_t n, const char *s)
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
                         k->name, node_type_name(n));
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

                if (!walk_budget(ctx, n))
                        return -EINVAL;
                if (!node_is_scalar(item) || node_is_null(item)) {
                        node_err(ctx, item ? item : n,
                                 "entries of '%s' must be single values, not %s", k->name,
                                 node_type_name(item));
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
                if (list_contains(out->list, out->n_list, s))
                        continue;
                if (list_push(&out->list, &out->n_list, s) < 0)
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
static int convert_value(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *n,
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
                node_err(ctx, n, "'%s' must be a single value, not %s", k->name, node_type_name(n));
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
static void store_value(struct load_ctx *ctx, const struct cfg_section *sec,
                        const struct cfg_key *k, yaml_node_t *key_node, struct cfg_value *slot,
                        struct cfg_value *v)
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

/* Called for keys of kind CFG_SECTION; returns <0 only for -ENOMEM. */
typedef int (*section_fn)(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                          yaml_node_t *value, void *userdata);

static void unknown_key(struct load_ctx *ctx, yaml_node_t *key, const char *where,
                        const struct cfg_section *sec, const struct cfg_section *extra)
{
        const char *name = scalar(key);
        const char *sug = cfg_section_suggest(sec, name);

        if (!sug && extra)
                sug = cfg_section_suggest(extra, name);
        if (sug)
                node_err(ctx, key, "unknown key '%s' in %s; did you mean '%s'?", name, where, sug);
        else
                node_err(ctx, key, "unknown key '%s' in %s", name, where);
}

/* Walks mapping n: keys of sec are converted into values[], keys of kind
 * CFG_SECTION (in sec or extra) go to fn. where names the section in messages. */
static bool walk_budget(struct load_ctx *ctx, yaml_node_t *n)
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
                      const struct cfg_section *extra, section_fn fn, void *userdata,
                      unsigned depth);

/* A YAML merge key (<<: *anchor, or a list of them), as PyYAML applies it:
 * the merged mapping's keys count unless the mapping itself sets them. */
static int load_merge(struct load_ctx *ctx, yaml_node_t *val, const char *where,
                      const struct cfg_section *sec, struct cfg_value *values,
                      const struct cfg_section *extra, section_fn fn, void *userdata,
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
                r = load_pairs(ctx, val, where, sec, values, extra, fn, userdata, depth + 1);
        } else if (val->type == YAML_SEQUENCE_NODE) {
                /* Earlier mappings in the list win: apply them last. */
                for (yaml_node_item_t *it = val->data.sequence.items.top;
                     r >= 0 && it > val->data.sequence.items.start; it--) {
                        yaml_node_t *m = doc_node(ctx, *(it - 1));
                        if (!m || m->type != YAML_MAPPING_NODE) {
                                node_err(ctx, m ? m : val,
                                         "a merge key (<<) takes mappings, not %s",
                                         node_type_name(m));
                                continue;
                        }
                        r = load_pairs(ctx, m, where, sec, values, extra, fn, userdata, depth + 1);
                }
        } else {
                node_err(ctx, val, "a merge key (<<) takes a mapping or a list of mappings, not %s",
                         node_type_name(val));
        }
        ctx->merging = saved;
        return r;
}

static bool is_merge_key(const yaml_node_t *key)
{
        return node_is_scalar(key) && scalar_plain(key) && streq(scalar(key), "<<");
}

static int load_pairs(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                      const struct cfg_section *sec, struct cfg_value *values,
                      const struct cfg_section *extra, section_fn fn, void *userdata,
                      unsigned depth)
{
        int r;

        /* Merge keys first, so that the mapping's own keys override them. */
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                if (key && val && is_merge_key(key)) {
                        r = load_merge(ctx, val, where, sec, values, extra, fn, userdata, depth);
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

                if (!key || !val || !walk_budget(ctx, key))
                        return 0;
                if (is_merge_key(key))
                        continue;
                if (!node_is_scalar(key)) {
                        node_err(ctx, key, "keys in %s must be plain names, not %s", where,
                                 node_type_name(key));
                        continue;
                }
                k = cfg_section_find(sec, scalar(key));
                if (!k && extra) {
                        k = cfg_section_find(extra, scalar(key));
                        from_extra = k != NULL;
                }
                if (!k) {
                        unknown_key(ctx, key, where, sec, extra);
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
                r = convert_value(ctx, k, val, &v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        cfg_value_release(&v);
                        continue;
                }
                store_value(ctx, sec, k, key, &values[k->id], &v);
        }
        return 0;
}

/* Walks mapping n: keys of sec are converted into values[], keys of the extra
 * section and keys of kind CFG_SECTION go to fn. where names the section in
 * messages. Returns <0 only for -ENOMEM. */
static int load_mapping(struct load_ctx *ctx, yaml_node_t *n, const char *where,
                        const struct cfg_section *sec, struct cfg_value *values,
                        const struct cfg_section *extra, section_fn fn, void *userdata)
{
        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n, "%s must be a mapping of keys to values, not %s", where,
                         node_type_name(n));
                return 0;
        }
        return load_pairs(ctx, n, where, sec, values, extra, fn, userdata, 0);
}

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
                return load_mapping(ctx, val, where, &cfg_section_aggregate, layer->aggregate, NULL,
                                    NULL, NULL);
        }
        if (streq(k->name, "policies")) {
                snprintf(where, sizeof(where), "%s.policies", owner);
                return load_mapping(ctx, val, where, &cfg_section_user_policies, layer->policy,
                                    &cfg_section_policies, global_only_policy, NULL);
        }
        return 0;
}

struct layer_walk {
        struct limits_layer *layer;
        struct config_group *g; /* NULL unless walking a group */
        char owner[300];
};

static int add_member(struct load_ctx *ctx, struct config_group *g, const char *name)
{
        if (list_contains(g->members, g->n_members, name))
                return 0;
        return list_push(&g->members, &g->n_members, name);
}

static int group_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                         yaml_node_t *val, void *userdata)
{
        struct layer_walk *w = userdata;

        if (streq(k->name, "members")) {
                struct cfg_value v = {0};
                int r = convert_value(ctx, k, val, &v);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        cfg_value_release(&v);
                        return 0;
                }
                for (size_t i = 0; i < v.n_list; i++) {
                        const char *problem = username_problem(v.list[i], strlen(v.list[i]));
                        if (problem) {
                                node_err(ctx, val, "%s.members: %s: '%s'", w->owner, problem,
                                         v.list[i]);
                                continue;
                        }
                        if (add_member(ctx, w->g, v.list[i]) < 0) {
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

static size_t mapping_size(const yaml_node_t *n)
{
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static int load_groups(struct load_ctx *ctx, yaml_node_t *n)
{
        struct config *c = ctx->c;

        if (node_is_null(n))
                return 0;
        if (n->type != YAML_MAPPING_NODE) {
                node_err(ctx, n,
                         "groups must be a mapping of group names to their settings, not %s",
                         node_type_name(n));
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
                                 node_type_name(key));
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
                r = load_mapping(ctx, val, w.owner, &cfg_section_user, g->layer.v,
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
                         where, node_type_name(n));
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
                                 node_type_name(key));
                        continue;
                }
                problem = username_problem(scalar(key), key->data.scalar.length);
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
                r = load_mapping(ctx, val, w.owner, &cfg_section_user, o->layer.v,
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
                         node_type_name(n));
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
                r = load_mapping(ctx, val, where, &cfg_section_ctype, t->v, NULL, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int access_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                          yaml_node_t *val, void *userdata)
{
        /* access_control.wrapper: every key is a known no-op; report each once. */
        return load_mapping(ctx, val, "access_control.wrapper", &cfg_section_access_wrapper, NULL,
                            NULL, NULL, NULL);
}

static int top_section(struct load_ctx *ctx, const struct cfg_key *k, yaml_node_t *key,
                       yaml_node_t *val, void *userdata)
{
        struct config *c = ctx->c;
        const char *name = k->name;

        if (streq(name, "defaults")) {
                struct layer_walk w = {.layer = &c->defaults};
                snprintf(w.owner, sizeof(w.owner), "defaults");
                return load_mapping(ctx, val, "defaults", &cfg_section_user, c->defaults.v,
                                    &cfg_section_group, defaults_section, &w);
        }
        if (streq(name, "groups"))
                return load_groups(ctx, val);
        if (streq(name, "user_overrides"))
                return load_overrides(ctx, val, "user_overrides");
        if (streq(name, "policies"))
                return load_mapping(ctx, val, "policies", &cfg_section_policies, c->policies, NULL,
                                    NULL, NULL);
        if (streq(name, "enforcement"))
                return load_mapping(ctx, val, "enforcement", &cfg_section_enforcement,
                                    c->enforcement, NULL, NULL, NULL);
        if (streq(name, "gpu_allocation"))
                return load_mapping(ctx, val, "gpu_allocation", &cfg_section_gpu_allocation,
                                    c->gpu_allocation, NULL, NULL, NULL);
        if (streq(name, "container_types"))
                return load_ctypes(ctx, val);
        if (streq(name, "bare_metal_access"))
                return load_mapping(ctx, val, "bare_metal_access", &cfg_section_bare_metal,
                                    c->bare_metal, NULL, NULL, NULL);
        if (streq(name, "access_control"))
                return load_mapping(ctx, val, "access_control", &cfg_section_access, c->access,
                                    NULL, access_section, NULL);
        if (streq(name, "monitoring"))
                return load_mapping(ctx, val, "monitoring", &cfg_section_monitoring, c->monitoring,
                                    NULL, NULL, NULL);
        return 0;
}

/* The top level: sections, plus default_group, which is a plain value. */
static int load_top(struct load_ctx *ctx, yaml_node_t *root)
{
        struct config *c = ctx->c;

        if (root->type != YAML_MAPPING_NODE) {
                node_err(ctx, root,
                         "the file must be a mapping of sections (defaults:, groups:, ...), not %s",
                         node_type_name(root));
                return 0;
        }
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             p++) {
                yaml_node_t *key = doc_node(ctx, p->key);
                yaml_node_t *val = doc_node(ctx, p->value);
                const struct cfg_key *k;
                int r;

                if (!key || !val)
                        continue;
                if (!node_is_scalar(key)) {
                        node_err(ctx, key, "section names must be plain names, not %s",
                                 node_type_name(key));
                        continue;
                }
                k = cfg_section_find(&cfg_section_top, scalar(key));
                if (!k) {
                        unknown_key(ctx, key, "the top level", &cfg_section_top, NULL);
                        continue;
                }
                if (k->kind == CFG_IGNORED) {
                        node_warn(ctx, key,
                                  "section '%s' has no effect in ds01 (old DS01 "
                                  "releases read it); it can be removed",
                                  k->name);
                        continue;
                }
                if (k->kind != CFG_SECTION) {
                        struct cfg_value v = {0};
                        r = convert_value(ctx, k, val, &v);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                cfg_value_release(&v);
                                continue;
                        }
                        store_value(ctx, &cfg_section_top, k, key, &c->default_group, &v);
                        continue;
                }
                r = top_section(ctx, k, key, val, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Loads one YAML file into a document. Returns 1 when loaded (root may be
 * NULL for an empty file), 0 when the file does not exist, -EINVAL after a
 * reported problem, -ENOMEM. */
static int load_yaml_file(struct load_ctx *ctx, const char *path, yaml_document_t *doc,
                          bool must_exist)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        ctx->file = config_add_file(ctx->c, path);
        if (!ctx->file)
                return -ENOMEM;
        r = read_file_limited(path, CONFIG_FILE_MAX, &buf, &len);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                struct cfg_src src = {.file = ctx->file};
                if (r == -EFBIG)
                        diag_add(ctx, CFG_ERROR, &src,
                                 "cannot read: file too large (the limit is %u MiB)",
                                 CONFIG_FILE_MAX / (1024 * 1024));
                else
                        diag_add(ctx, CFG_ERROR, &src, "cannot read: %s", errno_text(r));
                return r;
        }
        r = yaml_load_buffer(ctx, buf, len, doc);
        if (r < 0)
                return r;
        return 1;
}

/* ---- groups/<g>.members --------------------------------------------------- */

static int load_members_file(struct load_ctx *ctx, const char *path, struct config_group *g)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        unsigned lineno = 0;
        int r;

        ctx->file = config_add_file(ctx->c, path);
        if (!ctx->file)
                return -ENOMEM;
        r = read_file_limited(path, CONFIG_FILE_MAX, &buf, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                struct cfg_src src = {.file = ctx->file};
                diag_add(ctx, r == -EACCES ? CFG_WARNING : CFG_ERROR, &src,
                         "cannot read: %s; members of group '%s' listed there are not known",
                         errno_text(r), g->name);
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
                                problem = username_problem(buf + start, stop - start);
                        if (problem) {
                                diag_add(ctx, CFG_ERROR, &src, "%s; the line is skipped", problem);
                        } else if (g->n_members >= ENTRIES_MAX) {
                                diag_add(ctx, CFG_ERROR, &src,
                                         "more than %d members; the rest are skipped", ENTRIES_MAX);
                                break;
                        } else {
                                char save = buf[stop];
                                buf[stop] = '\0';
                                r = add_member(ctx, g, buf + start);
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

static int load_members_files(struct load_ctx *ctx)
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
                if (list_push(&names, &n_names, de->d_name) < 0) {
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
                        ctx->file = config_add_file(c, path);
                        if (!ctx->file) {
                                r = -ENOMEM;
                                break;
                        }
                        src = (struct cfg_src){.file = ctx->file, .line = 1, .column = 1};
                        diag_add(ctx, CFG_ERROR, &src,
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
        r = load_mapping(ctx, n, "an exemption", &cfg_section_exemption, v, NULL, NULL, NULL);
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
                                diag_add(ctx, CFG_ERROR, &v[EXM_EXEMPT_FROM].src,
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
                        diag_add(ctx, CFG_ERROR, &v[EXM_EXPIRES_ON].src,
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

static int load_exemptions(struct load_ctx *ctx)
{
        struct config *c = ctx->c;
        _cleanup_free_ char *path = NULL;
        yaml_document_t doc;
        yaml_node_t *root, *list = NULL;
        int r;

        if (asprintf(&path, "%s/lifecycle-exemptions.yaml", c->dir) < 0)
                return -ENOMEM;
        ctx->soft = true;
        r = load_yaml_file(ctx, path, &doc, false);
        if (r == 0) {
                struct cfg_src src = {.file = ctx->file};
                diag_add(ctx, CFG_NOTE, &src, "no lifecycle exemptions file; nobody is exempt");
                ctx->soft = false;
                return 0;
        }
        if (r < 0) {
                ctx->soft = false;
                if (r == -ENOMEM)
                        return r;
                {
                        struct cfg_src src = {.file = ctx->file};
                        diag_add(ctx, CFG_WARNING, &src,
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
                diag_add(ctx, CFG_WARNING, &c->groups[refs[i].group].src,
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
                diag_add(ctx, CFG_ERROR, &at->src,
                         "%s: a reservation needs reservation_start, reservation_end and "
                         "reserved_gpus together",
                         owner);
        } else if (any && end->secs <= start->secs) {
                diag_add(ctx, CFG_ERROR, &end->src,
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
                diag_add(ctx, CFG_ERROR, &swap->src,
                         "%s: memory_swap (%s) is smaller than memory (%s, %s:%u); Docker refuses "
                         "that (set memory_swap equal to memory for no swap)",
                         owner, swap->s, mem->s, mem->src.file, mem->src.line);
        else
                diag_add(ctx, CFG_ERROR, &swap->src,
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
                        diag_add(ctx, CFG_ERROR, &c->default_group.src,
                                 "default_group '%s' is not defined under groups",
                                 c->default_group.s);
        } else if (c->n_groups > 0 && !config_find_group(c, "student")) {
                struct cfg_src src = {.file = c->files[0], .line = 1, .column = 1};
                diag_add(ctx, CFG_WARNING, &src,
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

static void sort_diags(struct config *c)
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

        r = load_yaml_file(&ctx, path, &doc, true);
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
                diag_add(&ctx, CFG_ERROR, &src, "the file is empty");
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
        r = load_yaml_file(&ctx, overrides_path, &doc, false);
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

        r = load_members_files(&ctx);
        if (r < 0)
                goto fail;
        r = check_members_unique(&ctx);
        if (r < 0)
                goto fail;
        r = load_exemptions(&ctx);
        if (r < 0)
                goto fail;
        check_config(&ctx);

        sort_diags(c);
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
        cfg_values_release(c->access, AC__MAX);
        cfg_values_release(c->monitoring, MON__MAX);
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
