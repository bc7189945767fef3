/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * expo.h - the Prometheus text exposition format 0.0.4, written by hand (no
 * maintained C client exists; `promtool check metrics` validates the output
 * in tests). A family is opened with its HELP and TYPE once, then samples are
 * added with label pairs; label values are escaped (\\, \", \n). Errors are
 * sticky: the first failure (-E2BIG past the buffer's ceiling, -ENOMEM) is
 * kept and returned by expo_finish, so collectors need not check every call.
 */
#include <stddef.h>

#include "util/strbuf.h"

#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum expo_type {
        EXPO_GAUGE,
        EXPO_COUNTER,
        EXPO_SUMMARY,
        EXPO_UNTYPED,
};

struct expo {
        struct strbuf *out;
        int error;          /* first error, 0 when none */
        const char *family; /* the open family's name */
};

void expo_init(struct expo *e, struct strbuf *out);

/* "# HELP name help" and "# TYPE name type". help is escaped (\\, \n). */
void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);

/*
 * One sample of the open family: name{k1="v1",...} value. labels is a NULL-
 * terminated list of key, value pairs (values NULL are written as ""); suffix
 * is appended to the family name ("_sum", "_count") or NULL.
 */
void expo_sample(struct expo *e, const char *suffix, const char *const *labels, double value);

/* A sample with one label, or none (key NULL). */
void expo_sample1(struct expo *e, const char *key, const char *value, double v);

/* Whether s is a valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*; labels
 * without ':'). */
int expo_name_valid(const char *s, int is_label);

/* The sticky error (0 or -errno). */
int expo_finish(struct expo *e);
