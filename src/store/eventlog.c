/* eventlog.c - appends event lines to <log-dir>/events.jsonl for ds01d:
 * one write(2) per line on an O_APPEND descriptor, reopened when logrotate
 * moves the file, and failures counted rather than retried, since an event
 * log must never hold up or change a decision.
 *
 * The rotation check is a stat(2) of the path before every append, compared
 * with the device and inode of the open descriptor: events are a few per
 * second at most, so the extra system call costs nothing that matters and no
 * signal from logrotate is needed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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
                r = -errno;
                count_error(l, -r);
                goto out;
        }
        if ((size_t)k < n) {
                /* Part of the line is in the file, without its newline; when
                 * only the leading newline went out, the earlier partial line
                 * is closed and nothing of this one was written. */
                if ((size_t)k > off)
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
