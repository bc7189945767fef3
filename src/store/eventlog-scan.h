/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * eventlog-scan.h - counting events of one type in <log-dir>/events.jsonl and
 * the files logrotate made of it (events.jsonl.1, events.jsonl.2.gz,
 * events.jsonl-20260301.gz, ...; gzip-compressed or not). For the events that
 * go only to the file (auth.denied). Lines that are not records, or longer
 * than EVENTLOG_SCAN_LINE_MAX, are skipped; a file whose last change is
 * before the range is not opened (its lines are all older).
 */
#include <stddef.h>
#include <stdint.h>

#define EVENTLOG_SCAN_LINE_MAX ((size_t)64 * 1024)
/* Files looked at, at most (the newest by name order are not preferred: a
 * directory with more is refused). */
#define EVENTLOG_SCAN_FILES_MAX 1024

struct eventlog_scan {
        long long count;   /* events of the type with since <= time < until */
        long long files;   /* files read */
        long long skipped; /* lines that could not be read as records */
};

/* Count the events of type (exact) with since_us <= time < until_us in the
 * files of dir whose name is base, or base followed by '.' or '-'. 0 with *ret
 * filled; -errno when dir cannot be read (-ENOENT: no such directory, *ret
 * zero). A file that cannot be opened is skipped. */
int eventlog_scan_count(const char *dir, const char *base, const char *type, int64_t since_us,
                        int64_t until_us, struct eventlog_scan *ret);
