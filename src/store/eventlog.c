/* eventlog.c - appends event lines to <log-dir>/events.jsonl for ds01d:
 * one write(2) per line on an O_APPEND descriptor, reopened when logrotate
 * moves the file, and failures counted rather than retried, since an event
 * log must never hold up or change a decision. A write cut short by a full
 * disk is truncated away again, so the file holds whole lines only.
 *
 * The rotation check is a stat(2) of the path before every append, compared
 * with the device and inode of the open descriptor: events are a few per
 * second at most, so the extra system call costs nothing that matters and no
 * signal from logrotate is needed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/eventlog.h"
#include "util/macro.h"

#define EVENTLOG_MODE 0640
/* Lines up to this size are assembled on the stack. */
#define EVENTLOG_STACK_LINE 4096

struct eventlog {
        pthread_mutex_t lock;
        char *path;
        int fd; /* -1 while the file could not be reopened */
        dev_t dev;
        ino_t ino;
        bool partial;    /* the last write was short: start the next with '\n' */
        uint64_t errors; /* written under lock, read with __atomic */
        int last_error;  /* idem */
};

/* Opens path; 0 and the descriptor with its identity, or -errno. */
static int open_file(const char *path, int *ret_fd, dev_t *ret_dev, ino_t *ret_ino)
{
        struct stat st;
        int fd;

        fd = open(path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY,
                  EVENTLOG_MODE);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        *ret_fd = fd;
        *ret_dev = st.st_dev;
        *ret_ino = st.st_ino;
        return 0;
}

static void count_error(struct eventlog *l, int err)
{
        __atomic_store_n(&l->errors, l->errors + 1, __ATOMIC_RELAXED);
        __atomic_store_n(&l->last_error, err, __ATOMIC_RELAXED);
}

int eventlog_open(const char *path, struct eventlog **ret)
{
        struct eventlog *l;
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->path = strdup(path);
        if (!l->path) {
                free(l);
                return -ENOMEM;
        }
        r = open_file(path, &l->fd, &l->dev, &l->ino);
        if (r < 0) {
                free(l->path);
                free(l);
                return r;
        }
        r = -pthread_mutex_init(&l->lock, NULL);
        if (r < 0) {
                close(l->fd);
                free(l->path);
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

struct eventlog *eventlog_close(struct eventlog *l)
{
        if (!l)
                return NULL;
        if (l->fd >= 0)
                close(l->fd);
        pthread_mutex_destroy(&l->lock);
        free(l->path);
        free(l);
        return NULL;
}

/* After a short write of buf[0..k): truncate the file back to before it,
 * provided its last k bytes are still those (nobody appended since; read
 * through /proc/self/fd, as fd is write-only). 0 or -errno; the file is
 * unchanged on failure. */
static int cut_tail(int fd, const char *buf, size_t k)
{
        char tail[EVENTLOG_STACK_LINE], proc[64];
        struct stat st;
        size_t done = 0;
        int rfd, r = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < 0 || (uint64_t)st.st_size < k)
                return -ESTALE; /* truncated meanwhile (copytruncate) */
        (void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        rfd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (rfd < 0)
                return -errno;
        while (r == 0 && done < k) {
                size_t want = MIN(k - done, sizeof(tail));
                ssize_t got = pread(rfd, tail, want, st.st_size - (off_t)k + (off_t)done);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        r = -errno;
                else if ((size_t)got != want || memcmp(tail, buf + done, want) != 0)
                        r = -ESTALE;
                else
                        done += want;
        }
        close(rfd);
        if (r == 0 && ftruncate(fd, st.st_size - (off_t)k) < 0)
                r = -errno;
        return r;
}

/* Under the lock: make l->fd the file the path names now. */
static int ensure_current(struct eventlog *l)
{
        struct stat st;
        dev_t dev = 0;
        ino_t ino = 0;
        int fd = -1, r;

        if (l->fd >= 0) {
                if (stat(l->path, &st) == 0) {
                        if (st.st_dev == l->dev && st.st_ino == l->ino)
                                return 0;
                } else if (errno != ENOENT) {
                        /* Cannot tell (EACCES on the folder, ...): keep the
                         * file we have rather than lose the line. */
                        return 0;
                }
        }

        r = open_file(l->path, &fd, &dev, &ino);
        if (r < 0)
                return r;
        if (l->fd >= 0)
                close(l->fd);
        l->fd = fd;
        l->dev = dev;
        l->ino = ino;
        l->partial = false; /* a new file: nothing half-written in it */
        return 0;
}

int eventlog_append(struct eventlog *l, const char *line, size_t len)
{
        char stackbuf[EVENTLOG_STACK_LINE];
        _cleanup_free_ char *heapbuf = NULL;
        char *buf;
        size_t n, off;
        ssize_t k;
        int r;

        if (!l || (!line && len > 0))
                return -EINVAL;
        if (len > 0 && memchr(line, '\n', len))
                return -EINVAL;

        pthread_mutex_lock(&l->lock);

        r = ensure_current(l);
        if (r < 0) {
                count_error(l, -r);
                goto out;
        }

        off = l->partial ? 1 : 0;
        n = off + len + 1;
        if (n < len) {
                r = -EINVAL;
                goto out;
        }
        if (n <= sizeof(stackbuf)) {
                buf = stackbuf;
        } else {
                heapbuf = malloc(n);
                if (!heapbuf) {
                        r = -ENOMEM;
                        count_error(l, ENOMEM);
                        goto out;
                }
                buf = heapbuf;
        }
        if (off)
                buf[0] = '\n';
        if (len > 0)
                memcpy(buf + off, line, len);
        buf[n - 1] = '\n';

        k = write(l->fd, buf, n);
        if (k < 0) {
                // NOLINTNEXTLINE(clang-analyzer-unix.Malloc): heapbuf is freed by _cleanup_free_
                r = -errno;
                count_error(l, -r);
                goto out;
        }
        if ((size_t)k < n) {
                /* Part of the line is in the file, without its newline: cut
                 * it off again, so the file holds whole lines only. Failing
                 * that, the next line starts with a newline: the partial
                 * line stays alone on its line and later ones are whole. */
                if (k > 0 && cut_tail(l->fd, buf, (size_t)k) == 0)
                        ; /* as before the write, l->partial included */
                else if ((size_t)k > off)
                        l->partial = true;
                else if ((size_t)k == off)
                        l->partial = false;
                r = -EIO;
                count_error(l, EIO);
                goto out;
        }
        l->partial = false;
        r = 0;
out:
        pthread_mutex_unlock(&l->lock);
        return r;
}

uint64_t eventlog_errors(const struct eventlog *l)
{
        return l ? __atomic_load_n(&l->errors, __ATOMIC_RELAXED) : 0;
}

int eventlog_last_error(const struct eventlog *l)
{
        return l ? __atomic_load_n(&l->last_error, __ATOMIC_RELAXED) : 0;
}
