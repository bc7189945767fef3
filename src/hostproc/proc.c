/* proc.c - the I/O half of hostproc: what /proc says about one process (its
 * start time, owner, login user, command line, comm and container), and a
 * signal that reaches only the process that was meant.
 *
 * A process can exit, and its pid be given to another, at any moment. The
 * files of one process are therefore read through one descriptor of its
 * /proc/<pid> folder (which keeps naming the same process even if the pid
 * is reused), its start time is read first and again last, and a file that
 * vanishes in between means the process is gone. Signals go through a pidfd
 * opened before the start time is checked, so a pid recycled after the
 * check is never hit.
 *
 * Every read has a ceiling; a command line or cgroup list past it is cut
 * (the command line is shortened for display anyway; a cgroup line cut in
 * the middle is dropped). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "hostproc/hostproc.h"
#include "util/macro.h"
#include "util/strutil.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define PROC_ROOT_DEFAULT "/proc"

/* Ceilings of the reads (bytes). */
#define STAT_READ_MAX     4096
#define STATUS_READ_MAX   8192 /* the Uid: line is among the first ten */
#define LOGINUID_READ_MAX 32
#define CMDLINE_READ_MAX  4096
#define COMM_READ_MAX     64
#define CGROUP_READ_MAX   (64 * 1024)

/* The stat field that holds the start time (1-based, as in proc(5)). */
#define STAT_FIELD_START_TIME 22

#define LOGINUID_UNSET 4294967295ULL

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* A vanished process shows as ENOENT (path lookups) or ESRCH (reads of a
 * file opened before it went). */
static int gone_errno(int err)
{
        if (err == ENOENT || err == ESRCH)
                return -ENOENT;
        return err > 0 ? -err : -EIO;
}

/* Reads name under dirfd into buf (size > 1), at most size - 1 bytes, and
 * NUL-terminates it. *ret_len is the length, *ret_more whether the file has
 * more than that. -ENOENT when the file (or the process) is gone. */
static int read_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len,
                   bool *ret_more)
{
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        bool more = false;

        buf[0] = '\0';
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return gone_errno(errno);
        while (len < size - 1) {
                ssize_t k = read(fd, buf + len, size - 1 - len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return gone_errno(errno);
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        if (len == size - 1) {
                char c;
                ssize_t k;

                do
                        k = read(fd, &c, 1);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return gone_errno(errno);
                more = k > 0;
        }
        buf[len] = '\0';
        *ret_len = len;
        *ret_more = more;
        return 0;
}

/* n > 0 decimal digits at s, nothing else; -EBADMSG otherwise, -ERANGE past
 * UINT64_MAX. */
static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                d = (unsigned)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* The start time from the text of /proc/<pid>/stat: "pid (comm) state ...",
 * where comm may hold spaces and ')', so the fields are counted from the
 * last ')'. The pid must be the one asked for. */
static int parse_stat(const char *text, pid_t pid, uint64_t *ret_start)
{
        const char *sp, *rp, *p;
        uint64_t v;
        int r;

        sp = strchr(text, ' ');
        if (!sp || sp[1] != '(')
                return -EBADMSG;
        r = parse_u64(text, (size_t)(sp - text), &v);
        if (r < 0)
                return -EBADMSG;
        if (v != (uint64_t)pid)
                return -EBADMSG;
        rp = strrchr(sp, ')');
        if (!rp || rp[1] != ' ')
                return -EBADMSG;
        p = rp + 2; /* field 3, the state */
        for (int field = 3; field < STAT_FIELD_START_TIME; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EBADMSG;
                p++;
        }
        r = parse_u64(p, strcspn(p, " \n"), &v);
        if (r < 0)
                return -EBADMSG;
        *ret_start = v;
        return 0;
}

static int read_start_time(int dirfd, pid_t pid, uint64_t *ret)
{
        char buf[STAT_READ_MAX + 1];
        size_t len;
        bool more;
        int r;

        r = read_at(dirfd, "stat", buf, sizeof(buf), &len, &more);
        if (r < 0)
                return r;
        return parse_stat(buf, pid, ret);
}

/* The real uid: the first number of the "Uid:" line of /proc/<pid>/status. */
static int read_uid(int dirfd, uid_t *ret)
{
        char buf[STATUS_READ_MAX + 1];
        const char *p;
        size_t len;
        bool more;
        uint64_t v;
        int r;

        r = read_at(dirfd, "status", buf, sizeof(buf), &len, &more);
        if (r < 0)
                return r;
        p = startswith(buf, "Uid:");
        if (!p) {
                p = strstr(buf, "\nUid:");
                if (!p)
                        return -EBADMSG;
                p += strlen("\nUid:");
        }
        p += strspn(p, " \t");
        r = parse_u64(p, strspn(p, "0123456789"), &v);
        if (r < 0)
                return -EBADMSG;
        if (v >= UINT32_MAX)
                return -EBADMSG;
        *ret = (uid_t)v;
        return 0;
}

/* /proc/<pid>/loginuid; -1 when unset, and when the kernel has no audit
 * support (no such file: a vanished process is caught by the last read of
 * stat). */
static int read_loginuid(int dirfd, int64_t *ret)
{
        char buf[LOGINUID_READ_MAX + 1];
        size_t len;
        bool more;
        uint64_t v;
        int r;

        r = read_at(dirfd, "loginuid", buf, sizeof(buf), &len, &more);
        if (r == -ENOENT) {
                *ret = -1;
                return 0;
        }
        if (r < 0)
                return r;
        if (more)
                return -EBADMSG;
        strstrip(buf);
        r = parse_u64(buf, strlen(buf), &v);
        if (r < 0 || v > LOGINUID_UNSET)
                return -EBADMSG;
        *ret = v == LOGINUID_UNSET ? -1 : (int64_t)v;
        return 0;
}

static bool is_control(unsigned char c)
{
        return c < 0x20 || c == 0x7f;
}

/* The name from /proc/<pid>/comm without its newline, control characters
 * shown as '?'. */
static int read_comm(int dirfd, char ret[HP_COMM_MAX])
{
        char buf[COMM_READ_MAX + 1];
        size_t len;
        bool more;
        int r;

        r = read_at(dirfd, "comm", buf, sizeof(buf), &len, &more);
        if (r < 0)
                return r;
        if (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (is_control((unsigned char)buf[i]))
                        buf[i] = '?';
        (void)strscpy(ret, HP_COMM_MAX, buf); /* the kernel's own limit: cut is fine */
        return 0;
}

/* argv from the len bytes of /proc/<pid>/cmdline (more: the file was longer)
 * as one line: NULs become spaces, control characters '?', and a line too
 * long ends in "..." (cut before a UTF-8 sequence, not inside one). Empty:
 * "[comm]". */
static void format_cmdline(const char *raw, size_t len, bool more, const char *comm,
                           char ret[HP_CMDLINE_MAX])
{
        static const char ellipsis[] = "...";
        size_t n;

        while (len > 0 && raw[len - 1] == '\0')
                len--;
        if (len == 0) {
                (void)snprintf(ret, HP_CMDLINE_MAX, "[%s]", comm);
                return;
        }
        n = MIN(len, (size_t)HP_CMDLINE_MAX - 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)raw[i];

                ret[i] = c == '\0' ? ' ' : is_control(c) ? '?' : (char)c;
        }
        ret[n] = '\0';
        if (more || len > n) {
                size_t cut = HP_CMDLINE_MAX - sizeof(ellipsis);

                while (cut > 0 && ((unsigned char)ret[cut] & 0xc0) == 0x80)
                        cut--;
                memcpy(ret + cut, ellipsis, sizeof(ellipsis));
        }
}

static int read_cmdline(int dirfd, const char *comm, char ret[HP_CMDLINE_MAX])
{
        char buf[CMDLINE_READ_MAX + 1];
        size_t len;
        bool more;
        int r;

        r = read_at(dirfd, "cmdline", buf, sizeof(buf), &len, &more);
        if (r < 0)
                return r;
        format_cmdline(buf, len, more, comm, ret);
        return 0;
}

static int read_container_id(int dirfd, char ret[HP_ID_MAX])
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        bool more;
        int r;

        buf = malloc(CGROUP_READ_MAX + 1);
        if (!buf)
                return -ENOMEM;
        r = read_at(dirfd, "cgroup", buf, CGROUP_READ_MAX + 1, &len, &more);
        if (r < 0)
                return r;
        if (more) {
                /* Drop the line that was cut. */
                char *nl = memrchr(buf, '\n', len);

                if (nl)
                        nl[1] = '\0';
                else
                        buf[0] = '\0';
        }
        if (!hp_cgroup_container_id(buf, ret))
                ret[0] = '\0';
        return 0;
}

/* A descriptor of <proc_root>/<pid>. */
static int open_pid_dir(const char *proc_root, pid_t pid)
{
        char path[PATH_MAX];
        int fd, k;

        k = snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
        if (k < 0 || (size_t)k >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return gone_errno(errno);
        return fd;
}

int hp_proc_read(const char *proc_root, pid_t pid, struct hp_proc *ret)
{
        _cleanup_close_ int dirfd = -1;
        struct hp_proc p = {.pid = pid};
        uint64_t again;
        int r;

        if (pid <= 0 || !ret)
                return -EINVAL;
        if (isempty(proc_root))
                proc_root = PROC_ROOT_DEFAULT;
        dirfd = open_pid_dir(proc_root, pid);
        if (dirfd < 0)
                return dirfd;

        r = read_start_time(dirfd, pid, &p.start_time);
        if (r < 0)
                return r;
        r = read_uid(dirfd, &p.uid);
        if (r < 0)
                return r;
        r = read_loginuid(dirfd, &p.loginuid);
        if (r < 0)
                return r;
        r = read_comm(dirfd, p.comm);
        if (r < 0)
                return r;
        r = read_cmdline(dirfd, p.comm, p.cmdline);
        if (r < 0)
                return r;
        r = read_container_id(dirfd, p.container_id);
        if (r < 0)
                return r;

        /* Still the same process, so everything above is about it. */
        r = read_start_time(dirfd, pid, &again);
        if (r < 0)
                return r;
        if (again != p.start_time)
                return -ENOENT;

        *ret = p;
        return 0;
}

/* 0 when <proc_root>/<pid> is the process that started at start_time,
 * -ESRCH when it is gone or another one. */
static int check_start_time(const char *proc_root, pid_t pid, uint64_t start_time)
{
        _cleanup_close_ int dirfd = -1;
        uint64_t now;
        int r;

        dirfd = open_pid_dir(proc_root, pid);
        if (dirfd == -ENOENT)
                return -ESRCH;
        if (dirfd < 0)
                return dirfd;
        r = read_start_time(dirfd, pid, &now);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        return now == start_time ? 0 : -ESRCH;
}

int hp_proc_signal(const char *proc_root, pid_t pid, uint64_t start_time, int sig)
{
        _cleanup_close_ int pidfd = -1;
        int r;

        /* pid 0 and negative pids name process groups for kill(2). */
        if (pid <= 0 || sig < 0)
                return -EINVAL;
        if (isempty(proc_root))
                proc_root = PROC_ROOT_DEFAULT;

        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                int err = errno;

                if (err == ESRCH)
                        return -ESRCH;
                /* No pidfds (kernel before 5.3, or a seccomp filter that
                 * refuses unknown system calls with EPERM): check, then
                 * kill(2). The pid could be recycled in between; this is as
                 * close as such a system allows. */
                if (err != ENOSYS && err != EPERM)
                        return -err;
                r = check_start_time(proc_root, pid, start_time);
                if (r < 0)
                        return r;
                if (kill(pid, sig) < 0)
                        return -errno;
                return 0;
        }

        /* The pidfd names the process that had pid when it was opened; if
         * that process is still the one that started at start_time now, the
         * pidfd is that process, whatever happens to the pid later. */
        r = check_start_time(proc_root, pid, start_time);
        if (r < 0)
                return r;
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}
