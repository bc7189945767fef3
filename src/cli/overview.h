/* overview.h - the server overview (GET /v1/overview, docs/API.md) turned
 * into what `ds01 status` and `ds01 top` show: one row per slot, sorted by
 * GPU, user or utilization, formatted into fixed columns; the summary line;
 * users near their quota. Pure functions of the JSON: no I/O, no terminal. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* At or above this percent of a quota a user is "near quota". */
#define OV_NEAR_QUOTA_PERCENT 80.0
/* Ceiling of one formatted line (a row, a header, the summary). */
#define OV_LINE_MAX 512

enum ov_sort {
        OV_SORT_GPU,  /* GPU, then slot: the order of the overview */
        OV_SORT_USER, /* holder's name (free slots last), then container, then slot */
        OV_SORT_UTIL, /* utilization, then memory used, the busiest first; unknown last */
        _OV_SORT_MAX,
};

/* One slot. Strings are borrowed from the overview JSON (which must outlive
 * the row); NULL when the overview has null. */
struct ov_row {
        size_t order; /* position in the overview */
        long long gpu;
        const char *slot, *profile, *state, *user, *container, *reserved_for;
        bool healthy;
        bool gpu_healthy;
        int util;                      /* percent; -1 unknown */
        long long mem_used, mem_total; /* bytes; -1 unknown */
        long long procs, host_procs;
        bool unmanaged;
};

/* Column widths, from the rows (ov_widths) so that every row lines up. */
struct ov_widths {
        int slot, profile, state, user, container;
};

/* The rows of every slot of every GPU, in the overview's order. 0 with
 * *ret (free()) and *ret_n set; -ENOMEM. An overview without GPUs gives 0
 * rows. */
int ov_rows(const json_t *overview, struct ov_row **ret, size_t *ret_n);
/* Sort in place; stable for equal keys (ties keep the GPU order). */
void ov_rows_sort(struct ov_row *rows, size_t n, enum ov_sort by);

/* "gpu", "user", "util". */
const char *ov_sort_name(enum ov_sort by);
/* "gpu"/"slot", "user", "util"/"utilization": 0, or -EINVAL. */
int ov_sort_parse(const char *s, enum ov_sort *ret);
/* gpu -> user -> util -> gpu. */
enum ov_sort ov_sort_next(enum ov_sort by);

void ov_widths_of(const struct ov_row *rows, size_t n, struct ov_widths *ret);
/* "GPU SLOT PROFILE STATE USER CONTAINER UTIL MEMORY NOTE", padded to w.
 * Returns buf. */
char *ov_row_header(char *buf, size_t n, const struct ov_widths *w);
/* One row padded to w. With color, the state and holder are wrapped in ANSI
 * colours (the padding counts only what is visible); the words say the same
 * without them. Returns buf. */
char *ov_row_format(char *buf, size_t n, const struct ov_row *r, const struct ov_widths *w,
                    bool color);
/* Where the STATE column starts in a formatted row, and its width. */
int ov_row_state_column(const struct ov_widths *w);

/* What the row's state column shows: its state, or "UNHEALTHY" for a slot
 * (or GPU) that does not answer. Borrowed. */
const char *ov_row_state(const struct ov_row *r);
/* The ANSI colour of a state word ("free" green, held/pending yellow,
 * allocated cyan, unhealthy red); NULL for none. */
const char *ov_state_color(const char *state);

/* "30.0/40.0 GiB", "0.0/4.8 GiB", "-" when unknown. Returns buf. */
char *ov_format_memory(char *buf, size_t n, long long used, long long total);
/* "0.43" for 0.428571: two decimals, trailing zeros dropped. Returns buf. */
char *ov_format_number(char *buf, size_t n, double v);
/* "3/13 slots allocated (0.43 of 3.71 GPU-equivalents), 2 containers
 * running, 2 users active, 0 queued, 1 alert". Returns buf. */
char *ov_summary_line(char *buf, size_t n, const json_t *overview);
/* "2026-11-22 10:00 UTC, gpu01, health OK, NVML available". Returns buf. */
char *ov_header_line(char *buf, size_t n, const json_t *overview);

/* Is this entry of "users" at or above OV_NEAR_QUOTA_PERCENT? */
bool ov_user_near_quota(const json_t *user);
