/* SPDX-License-Identifier: MIT */
/*
 * expo.c - writing the Prometheus text exposition format 0.0.4: HELP/TYPE
 * lines, samples with escaped label values, values in Go's float syntax
 * (integers exactly, NaN, +Inf, -Inf).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/expo.h"

void expo_init(struct expo *e, struct strbuf *out)
{
        e->out = out;
        e->error = 0;
        e->family = NULL;
}

static void put(struct expo *e, const char *s, size_t n)
{
        int r;
        if (e->error)
                return;
        r = strbuf_append(e->out, s, n);
        if (r < 0)
                e->error = r;
}

static void puts_(struct expo *e, const char *s)
{
        put(e, s, strlen(s));
}

/* Escape \\ and \n (HELP), plus \" (label values). */
static void escaped(struct expo *e, const char *s, int quotes)
{
        const char *p = s, *start = s;

        for (; *p; p++) {
                const char *rep = NULL;
                if (*p == '\\')
                        rep = "\\\\";
                else if (*p == '\n')
                        rep = "\\n";
                else if (quotes && *p == '"')
                        rep = "\\\"";
                if (rep) {
                        put(e, start, (size_t)(p - start));
                        puts_(e, rep);
                        start = p + 1;
                }
        }
        put(e, start, (size_t)(p - start));
}

int expo_name_valid(const char *s, int is_label)
{
        if (!s || !*s)
                return 0;
        for (const char *p = s; *p; p++) {
                int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                            (!is_label && *p == ':');
                int digit = *p >= '0' && *p <= '9';
                if (!alpha && !(digit && p != s))
                        return 0;
        }
        return 1;
}

void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help)
{
        static const char *const types[] = {"gauge", "counter", "summary", "untyped"};

        if (!expo_name_valid(name, 0)) {
                if (!e->error)
                        e->error = -EINVAL;
                return;
        }
        e->family = name;
        puts_(e, "# HELP ");
        puts_(e, name);
        puts_(e, " ");
        escaped(e, help ? help : "", 0);
        puts_(e, "\n# TYPE ");
        puts_(e, name);
        puts_(e, " ");
        puts_(e, types[type]);
        puts_(e, "\n");
}

static void value(struct expo *e, double v)
{
        char buf[40];

        if (isnan(v))
                snprintf(buf, sizeof(buf), "NaN");
        else if (isinf(v))
                snprintf(buf, sizeof(buf), v > 0 ? "+Inf" : "-Inf");
        else if (v == floor(v) && fabs(v) < 9007199254740992.0)
                snprintf(buf, sizeof(buf), "%.0f", v);
        else /* the shortest form that reads back as the same double */
                for (int prec = 15; prec <= 17; prec++) {
                        snprintf(buf, sizeof(buf), "%.*g", prec, v);
                        if (strtod(buf, NULL) == v)
                                break;
                }
        puts_(e, buf);
}

void expo_sample(struct expo *e, const char *suffix, const char *const *labels, double v)
{
        if (!e->family) {
                if (!e->error)
                        e->error = -EINVAL;
                return;
        }
        puts_(e, e->family);
        if (suffix)
                puts_(e, suffix);
        if (labels && labels[0]) {
                puts_(e, "{");
                for (size_t i = 0; labels[i]; i += 2) {
                        if (!expo_name_valid(labels[i], 1)) {
                                if (!e->error)
                                        e->error = -EINVAL;
                                return;
                        }
                        if (i)
                                puts_(e, ",");
                        puts_(e, labels[i]);
                        puts_(e, "=\"");
                        escaped(e, labels[i + 1] ? labels[i + 1] : "", 1);
                        puts_(e, "\"");
                }
                puts_(e, "}");
        }
        puts_(e, " ");
        value(e, v);
        puts_(e, "\n");
}

void expo_sample1(struct expo *e, const char *key, const char *val, double v)
{
        const char *labels[] = {key, val, NULL};
        expo_sample(e, NULL, key ? labels : NULL, v);
}

int expo_finish(struct expo *e)
{
        return e->error;
}
