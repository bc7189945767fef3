/* eventlog.h - the appender for <log-dir>/events.jsonl.
 *
 * Each line goes out with one write(2) on a descriptor opened
 * O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC|O_NONBLOCK|O_NOFOLLOW, mode 0640, so
 * lines from several writers never interleave. Before each append the path is
 * checked: when it is gone or names another file (logrotate moved it away),
 * the log is reopened, creating a new file; lines already written stay in the
 * moved file. "copytruncate" rotation needs nothing: O_APPEND writes at the new
 * end.
 *
 * Logging an event never blocks and never decides anything: a failed or short
 * write (ENOSPC, EFBIG, EIO, ...) is counted, its errno kept, and the call
 * returns -errno, which callers may log but must not act on. Nothing is
 * retried; the next append simply tries again, so writes resume when space
 * returns. A short write (the disk filled within the line) is cut off again
 * with ftruncate(2) when the file's last bytes are still that part (read
 * back through /proc/self/fd), so the file holds whole lines only; when it cannot be
 * cut, the next line starts with a newline, so the partial line stays alone
 * on its line and later ones are whole.
 *
 * Only regular files are written (a symlink or FIFO at the path is refused: the
 * folder may be writable by a group). The process must ignore SIGXFSZ (or an
 * RLIMIT_FSIZE overrun kills it instead of failing with EFBIG).
 *
 * Thread-safe: one mutex inside. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct eventlog;

/* Opens (creating when absent; the folder must exist) the log at path. 0 and
 * *ret, or -errno from open(2) (*ret untouched), -EINVAL when path is not a
 * regular file, -ENOMEM. */
int eventlog_open(const char *path, struct eventlog **ret);

/* Closes the file and frees l. NULL-safe; returns NULL. */
struct eventlog *eventlog_close(struct eventlog *l);

/* Appends line[0..len) and '\n' with one write. line must not contain a
 * newline (-EINVAL, not counted). 0 on success; -errno on failure, counted in
 * eventlog_errors() (a short write counts as -EIO). */
int eventlog_append(struct eventlog *l, const char *line, size_t len);

/* Failed appends (and reopens) since eventlog_open(). */
uint64_t eventlog_errors(const struct eventlog *l);

/* The errno of the last failure (positive), 0 when none yet. */
int eventlog_last_error(const struct eventlog *l);
