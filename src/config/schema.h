/* schema.h - the table of every configuration key: its section, type,
 * aliases, range and one-line meaning. The loader, `ds01 config keys` and the
 * documentation test all read these tables, so a key added here is parsed,
 * validated, listed and checked against docs/CONFIG.md in one place. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_kind {
        CFG_BOOL,
        CFG_INT,
        CFG_FLOAT,
        CFG_STRING,
        CFG_DOCKER_SIZE,  /* 32g, 512m (powers of 1024), or a byte count */
        CFG_SYSTEMD_SIZE, /* 96G, infinity */
        CFG_PERCENT,      /* "9600%" */
        CFG_DURATION,     /* seconds; a bare number counts in the key's unit */
        CFG_TIMESTAMP,    /* ISO 8601 */
        CFG_STRING_LIST,
        CFG_SLOT_LIST, /* GPU slots: 0, "0", "1.2" */
        CFG_SECTION,   /* a nested mapping handled by the loader */
        CFG_IGNORED,   /* read by old DS01 tools, no effect in ds01: warning */
};

enum {
        CFG_F_NULLABLE = 1u << 0, /* null is allowed and means unlimited */
        CFG_F_ALIAS = 1u << 1,    /* legacy name of the key with the same id */
};

struct cfg_key {
        const char *name;
        int id;
        enum cfg_kind kind;
        unsigned flags;
        int64_t unit;        /* CFG_DURATION: seconds per bare number */
        double min, max;     /* CFG_INT/CFG_FLOAT/CFG_PERCENT range, inclusive */
        const char *allowed; /* CFG_STRING: "a|b|c" of accepted values, or NULL */
        const char *doc;     /* meaning, one line */
};

struct cfg_section {
        const char *path; /* as written in docs: "defaults", "groups.<group>" */
        const struct cfg_key *keys;
        size_t n_keys;
};

extern const struct cfg_section cfg_section_user;     /* defaults / groups.<g> / overrides */
extern const struct cfg_section cfg_section_group;    /* extra keys of groups.<g> */
extern const struct cfg_section cfg_section_override; /* extra keys of user overrides */
extern const struct cfg_section cfg_section_aggregate;
extern const struct cfg_section cfg_section_user_policies;
extern const struct cfg_section cfg_section_policies; /* global policies */
extern const struct cfg_section cfg_section_top;
extern const struct cfg_section cfg_section_enforcement;
extern const struct cfg_section cfg_section_gpu_allocation;
extern const struct cfg_section cfg_section_ctype;
extern const struct cfg_section cfg_section_bare_metal;
extern const struct cfg_section cfg_section_hostproc;
extern const struct cfg_section cfg_section_access;
extern const struct cfg_section cfg_section_access_wrapper;
extern const struct cfg_section cfg_section_monitoring;
extern const struct cfg_section cfg_section_proxy;
extern const struct cfg_section cfg_section_exemption;

/* Every section, for listings and the documentation test. */
extern const struct cfg_section *const cfg_sections[];
extern const size_t cfg_n_sections;

/* Container type names valid under container_types. */
extern const char *const cfg_ctype_names[];
extern const size_t cfg_n_ctype_names;

/* Key by name in a section, or NULL. */
const struct cfg_key *cfg_section_find(const struct cfg_section *s, const char *name);
/* The canonical (non-alias) key for an id, or NULL. */
const struct cfg_key *cfg_section_canonical(const struct cfg_section *s, int id);
/* The known name nearest to name (for "did you mean"), or NULL if none is close. */
const char *cfg_section_suggest(const struct cfg_section *s, const char *name);

/* Keys of one entry of lifecycle-exemptions.yaml. */
enum exemption_entry_key {
        EXM_USERNAME,
        EXM_EXEMPT_FROM,
        EXM_EXPIRES_ON,
        EXM_REASON,
        EXM_APPROVED_BY,
        EXM_APPROVED_ON,
        EXM_CATEGORY,
        EXM__MAX,
};
