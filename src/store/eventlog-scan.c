/* SPDX-License-Identifier: MIT */
/*
 * eventlog-scan.c - counting one event type in events.jsonl and its rotated
 * copies (zlib reads gzip and plain files alike). Used by the monthly report
 * for auth.denied, which ds01d writes only to the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store/event-record.h"
#include "store/eventlog-scan.h"
#include "util/macro.h"
#include "util/strutil.h"

static bool name_matches(const char *name, const char *base)
{
        const char *rest = startswith(name, base);

        return rest && (*rest == '\0' || *rest == '.' || *rest == '-');
}

/* One file: count matching lines into ret. */
static void scan_file(int fd, const char *type, int64_t since_us, int64_t until_us, char *line,
                      struct eventlog_scan *ret)
{
        gzFile z = gzdopen(fd, "rb");
        bool skipping = false; /* the rest of a line too long to read */

        if (!z) {
                close(fd);
                return;
        }
        ret->files++;
        while (gzgets(z, line, (int)EVENTLOG_SCAN_LINE_MAX) != NULL) {
                size_t len = strlen(line);
                bool whole = len > 0 && line[len - 1] == '\n';
                struct event_record e = {0};

                if (!whole && len + 1 >= EVENTLOG_SCAN_LINE_MAX) {
                        /* the buffer is full: a line too long to read */
                        if (!skipping)
                                ret->skipped++;
                        skipping = true;
                        continue;
                }
                if (skipping) { /* the end of that line */
                        skipping = false;
                        continue;
                }
                if (!strstr(line, type))
                        continue;
                if (event_record_parse(line, len, &e) < 0) {
                        ret->skipped++;
                        continue;
                }
                if (streq(e.type, type) && e.time_us >= since_us && e.time_us < until_us)
                        ret->count++;
                event_record_release(&e);
        }
        (void)gzclose(z);
}

int eventlog_scan_count(const char *dir, const char *base, const char *type, int64_t since_us,
                        int64_t until_us, struct eventlog_scan *ret)
{
        struct eventlog_scan res = {0};
        _cleanup_free_ char *line = NULL;
        DIR *dp;
        struct dirent *de;
        long long seen = 0;
        int dfd, r = 0;

        dp = opendir(dir);
        if (!dp) {
                r = -errno;
                if (r == -ENOENT)
                        *ret = res;
                return r;
        }
        line = malloc(EVENTLOG_SCAN_LINE_MAX);
        if (!line) {
                closedir(dp);
                return -ENOMEM;
        }
        dfd = dirfd(dp);
        while ((de = readdir(dp)) != NULL) {
                struct stat st;
                int fd;

                if (!name_matches(de->d_name, base))
                        continue;
                if (++seen > EVENTLOG_SCAN_FILES_MAX) {
                        r = -E2BIG;
                        break;
                }
                fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
                    (int64_t)st.st_mtime * 1000000 < since_us) {
                        close(fd);
                        continue;
                }
                scan_file(fd, type, since_us, until_us, line, &res);
        }
        // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): line is freed by _cleanup_free_
        closedir(dp);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}
