/* SPDX-License-Identifier: MIT */
/*
 * probe.c - the I/O edge of the lifecycle loop: a container's cgroup
 * counters (CPU time, memory) and network bytes read from the kernel, and
 * the keep-alive file read and written inside the container.
 *
 * Every file is read whole into a strbuf with a ceiling and parsed there.
 * Files inside a container are reached through an O_PATH fd of
 * <proc_root>/<pid>/root with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), so absolute symlinks and ".." stay inside the
 * container. An existing file is never opened for writing before it is
 * known to be a regular file: it is first opened O_PATH | O_NOFOLLOW (no
 * side effect, no blocking on a FIFO, no device open), checked with fstat,
 * then reopened through /proc/self/fd, which reaches exactly that inode.
 * The append runs with the file system identity of the user
 * (setfsgid/setfsuid, and the thread's supplementary groups emptied with the
 * raw setgroups syscall, all per-thread), restored before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lifecycle/probe.h"
#include "util/macro.h"
#include "util/strbuf.h"
#include "util/strutil.h"

#define CGROUP_LIST_MAX  ((size_t)64 * 1024)       /* /proc/<pid>/cgroup */
#define NET_DEV_MAX      ((size_t)4 * 1024 * 1024) /* /proc/<pid>/net/dev: ~30000 interfaces */
#define COUNTER_FILE_MAX 4096                      /* cpuacct.usage, memory.current, cpu.stat */
#define NET_DEV_FIELDS   16                        /* 8 receive + 8 transmit counters */

static void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* snprintf into a fixed buffer; -ENAMETOOLONG when it does not fit. */
static int _printf_(3, 4) path_printf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if ((size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* Reads the whole file at path into sb (created with its ceiling).
 * -EFBIG past the ceiling; ESRCH (a /proc file of a process that exited
 * while being read) becomes -ENOENT. */
static int read_file(const char *path, struct strbuf *sb)
{
        _cleanup_close_ int fd = -1;
        char chunk[4096];
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == ESRCH ? -ENOENT : -errno;
                }
                if (n == 0)
                        break;
                r = strbuf_append(sb, chunk, (size_t)n);
                if (r == -E2BIG)
                        return -EFBIG;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A non-negative decimal (n bytes at s, no sign) as uint64. */
static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
        char tmp[32];
        long long v;
        int r;

        if (n == 0 || n >= sizeof(tmp))
                return n == 0 ? -EINVAL : -ERANGE;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        r = safe_atoi64(tmp, &v);
        if (r < 0)
                return r;
        *ret = (uint64_t)v;
        return 0;
}

/* A file holding one decimal counter (and a newline). */
static int read_counter(const char *dir, const char *name, uint64_t *ret)
{
        _cleanup_strbuf_ struct strbuf sb = {0};
        char path[PATH_MAX];
        char *s;
        int r;

        strbuf_init(&sb, COUNTER_FILE_MAX);
        r = path_printf(path, sizeof(path), "%s/%s", dir, name);
        if (r < 0)
                return r;
        r = read_file(path, &sb);
        if (r < 0)
                return r;
        if (sb.len == 0)
                return -EBADMSG;
        s = strstrip(sb.buf);
        r = parse_u64(s, strlen(s), ret);
        return r == -EINVAL ? -EBADMSG : r;
}

/* The next line of [*p, end) (without its newline) in *ret_line and *ret_len;
 * false at the end. */
static bool next_line(const char **p, const char *end, const char **ret_line, size_t *ret_len)
{
        const char *nl;

        if (*p >= end)
                return false;
        nl = memchr(*p, '\n', (size_t)(end - *p));
        *ret_line = *p;
        *ret_len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
        *p = nl ? nl + 1 : end;
        return true;
}

/* True when the comma-separated list (n bytes) holds name. */
static bool list_has(const char *list, size_t n, const char *name)
{
        size_t l = strlen(name);
        const char *p = list, *end = list + n;

        while (p < end) {
                const char *c = memchr(p, ',', (size_t)(end - p));
                size_t len = c ? (size_t)(c - p) : (size_t)(end - p);

                if (len == l && memcmp(p, name, l) == 0)
                        return true;
                p = c ? c + 1 : end;
        }
        return false;
}

/* An absolute cgroup path without "." or ".." components, no NUL. */
static bool cgroup_path_ok(const char *path, size_t n)
{
        const char *p = path, *end = path + n;

        if (n == 0 || path[0] != '/' || memchr(path, '\0', n))
                return false;
        while (p < end) {
                const char *s = memchr(p, '/', (size_t)(end - p));
                size_t len = s ? (size_t)(s - p) : (size_t)(end - p);

                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p = s ? s + 1 : end;
        }
        return true;
}

struct cg_line {
        const char *ctrl; /* controller list, not NUL-terminated */
        size_t ctrl_len;
        const char *path; /* not NUL-terminated */
        size_t path_len;
};

/* "<root>/<mount><path>" for a v1 controller: the mount directory is the
 * first of the candidates that is a directory under root ("cpuacct" may be
 * a symlink to "cpu,cpuacct" or the other way round), else fallback. */
static int v1_dir(const char *root, const struct cg_line *l, const char *const *cands,
                  size_t n_cands, char *ret, size_t size)
{
        char dir[PATH_MAX];
        struct stat st;
        int r;

        /* The list exactly as the kernel gave it: how it is normally mounted. */
        r = path_printf(dir, sizeof(dir), "%s/%.*s", root, (int)l->ctrl_len, l->ctrl);
        if (r == 0 && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                return path_printf(ret, size, "%s/%.*s%.*s", root, (int)l->ctrl_len, l->ctrl,
                                   (int)l->path_len, l->path);
        for (size_t i = 0; i < n_cands; i++) {
                r = path_printf(dir, sizeof(dir), "%s/%s", root, cands[i]);
                if (r == 0 && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                        return path_printf(ret, size, "%s/%s%.*s", root, cands[i], (int)l->path_len,
                                           l->path);
        }
        /* Nothing mounted there: the documented name; reading it fails later. */
        return path_printf(ret, size, "%s/%s%.*s", root, cands[0], (int)l->path_len, l->path);
}

int lc_cgroup_find(const char *proc_root, const char *cgroup_root, pid_t pid, struct lc_cgroup *ret)
{
        static const char *const cpu_mounts[] = {"cpuacct", "cpu,cpuacct", "cpuacct,cpu"};
        static const char *const mem_mounts[] = {"memory"};
        _cleanup_strbuf_ struct strbuf sb = {0};
        struct cg_line cpu = {0}, mem = {0}, unified = {0};
        bool have_cpu = false, have_mem = false, have_unified = false;
        struct lc_cgroup cg = {0};
        char path[PATH_MAX];
        const char *p, *end, *line;
        size_t len;
        int r;

        if (!proc_root || !cgroup_root || !ret || pid <= 0)
                return -EINVAL;
        strbuf_init(&sb, CGROUP_LIST_MAX);
        r = path_printf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
        if (r < 0)
                return r;
        r = read_file(path, &sb);
        if (r < 0)
                return r;

        p = strbuf_str(&sb);
        end = p + sb.len;
        while (next_line(&p, end, &line, &len)) {
                const char *c1, *c2;
                struct cg_line l;

                c1 = memchr(line, ':', len);
                if (!c1 || c1 == line)
                        continue;
                c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
                if (!c2)
                        continue;
                l = (struct cg_line){
                    .ctrl = c1 + 1,
                    .ctrl_len = (size_t)(c2 - c1 - 1),
                    .path = c2 + 1,
                    .path_len = len - (size_t)(c2 + 1 - line),
                };
                if (!cgroup_path_ok(l.path, l.path_len))
                        continue;
                /* "/" is the root of its hierarchy: no trailing slash */
                if (l.path_len == 1)
                        l.path_len = 0;
                if (l.ctrl_len == 0) {
                        if (c1 - line == 1 && line[0] == '0') {
                                unified = l;
                                have_unified = true;
                        }
                        continue;
                }
                if (!have_cpu && list_has(l.ctrl, l.ctrl_len, "cpuacct")) {
                        cpu = l;
                        have_cpu = true;
                }
                if (!have_mem && list_has(l.ctrl, l.ctrl_len, "memory")) {
                        mem = l;
                        have_mem = true;
                }
        }

        if (have_cpu) {
                /* cgroup v1 (or hybrid: v1 controllers, an empty unified tree) */
                if (!have_mem)
                        return -ENODATA;
                r = v1_dir(cgroup_root, &cpu, cpu_mounts, ELEMENTSOF(cpu_mounts), cg.cpu,
                           sizeof(cg.cpu));
                if (r < 0)
                        return r;
                r = v1_dir(cgroup_root, &mem, mem_mounts, ELEMENTSOF(mem_mounts), cg.memory,
                           sizeof(cg.memory));
                if (r < 0)
                        return r;
        } else if (have_unified) {
                cg.v2 = true;
                r = path_printf(cg.cpu, sizeof(cg.cpu), "%s%.*s", cgroup_root,
                                (int)unified.path_len, unified.path);
                if (r < 0)
                        return r;
                memcpy(cg.memory, cg.cpu, sizeof(cg.memory));
        } else
                return -ENODATA;

        *ret = cg;
        return 0;
}

int lc_cgroup_cpu_ns(const struct lc_cgroup *cg, uint64_t *ret_ns)
{
        _cleanup_strbuf_ struct strbuf sb = {0};
        char path[PATH_MAX];
        const char *p, *end, *line;
        size_t len;
        uint64_t v;
        int r;

        if (!cg || !ret_ns)
                return -EINVAL;
        if (!cg->v2) {
                r = read_counter(cg->cpu, "cpuacct.usage", &v);
                if (r < 0)
                        return r;
                *ret_ns = v;
                return 0;
        }

        strbuf_init(&sb, COUNTER_FILE_MAX);
        r = path_printf(path, sizeof(path), "%s/cpu.stat", cg->cpu);
        if (r < 0)
                return r;
        r = read_file(path, &sb);
        if (r < 0)
                return r;
        p = strbuf_str(&sb);
        end = p + sb.len;
        while (next_line(&p, end, &line, &len)) {
                static const char key[] = "usage_usec ";
                const size_t kl = sizeof(key) - 1;

                if (len <= kl || memcmp(line, key, kl) != 0)
                        continue;
                r = parse_u64(line + kl, len - kl, &v);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
                if (__builtin_mul_overflow(v, (uint64_t)1000, &v))
                        return -ERANGE;
                *ret_ns = v;
                return 0;
        }
        return -ENODATA;
}

int lc_cgroup_memory(const struct lc_cgroup *cg, uint64_t *ret_bytes)
{
        uint64_t v;
        int r;

        if (!cg || !ret_bytes)
                return -EINVAL;
        r = read_counter(cg->memory, cg->v2 ? "memory.current" : "memory.usage_in_bytes", &v);
        if (r < 0)
                return r;
        *ret_bytes = v;
        return 0;
}

/* One interface line of net/dev: "  name: rx_bytes ... (8) tx_bytes ...".
 * *ret_bytes is rx_bytes + tx_bytes, 0 for "lo". */
static int net_dev_line(const char *line, size_t len, uint64_t *ret_bytes)
{
        const char *colon = memchr(line, ':', len), *p, *end = line + len, *name;
        uint64_t fields[NET_DEV_FIELDS];
        size_t name_len, n = 0;
        int r;

        if (!colon)
                return -EBADMSG;
        name = line;
        while (name < colon && *name == ' ')
                name++;
        name_len = (size_t)(colon - name);
        if (name_len == 0)
                return -EBADMSG;

        p = colon + 1;
        while (p < end && n < NET_DEV_FIELDS) {
                const char *tok;

                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p == end)
                        break;
                tok = p;
                while (p < end && *p != ' ' && *p != '\t')
                        p++;
                r = parse_u64(tok, (size_t)(p - tok), &fields[n]);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
                n++;
        }
        if (n < 9) /* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes */
                return -EBADMSG;
        if (name_len == 2 && memcmp(name, "lo", 2) == 0) {
                *ret_bytes = 0;
                return 0;
        }
        if (__builtin_add_overflow(fields[0], fields[8], ret_bytes))
                return -ERANGE;
        return 0;
}

int lc_net_bytes(const char *proc_root, pid_t pid, uint64_t *ret_bytes)
{
        _cleanup_strbuf_ struct strbuf sb = {0};
        char path[PATH_MAX];
        const char *p, *end, *line;
        size_t len;
        uint64_t total = 0;
        unsigned n = 0;
        int r;

        if (!proc_root || !ret_bytes || pid <= 0)
                return -EINVAL;
        strbuf_init(&sb, NET_DEV_MAX);
        r = path_printf(path, sizeof(path), "%s/%d/net/dev", proc_root, (int)pid);
        if (r < 0)
                return r;
        r = read_file(path, &sb);
        if (r < 0)
                return r;

        p = strbuf_str(&sb);
        end = p + sb.len;
        while (next_line(&p, end, &line, &len)) {
                uint64_t b;

                if (n++ < 2) /* "Inter-|   Receive ..." and " face |bytes ..." */
                        continue;
                if (len == 0)
                        continue;
                r = net_dev_line(line, len, &b);
                if (r < 0)
                        return r;
                if (__builtin_add_overflow(total, b, &total))
                        return -ERANGE;
        }
        if (n < 2)
                return -EBADMSG;
        *ret_bytes = total;
        return 0;
}

static int openat2_fd(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
        struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
        long fd;

        do
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EINTR);
        return fd < 0 ? -errno : (int)fd;
}

/* An O_PATH | O_DIRECTORY fd of <proc_root>/<pid>/root. */
static int open_container_root(const char *proc_root, pid_t pid)
{
        char path[PATH_MAX];
        int fd, r;

        r = path_printf(path, sizeof(path), "%s/%d/root", proc_root, (int)pid);
        if (r < 0)
                return r;
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        return fd;
}

int lc_container_file_mtime(const char *proc_root, pid_t pid, const char *path, int64_t *ret_mtime)
{
        _cleanup_close_ int root = -1, fd = -1;
        struct stat st;

        if (!proc_root || !path || !ret_mtime || pid <= 0 || path[0] != '/')
                return -EINVAL;
        root = open_container_root(proc_root, pid);
        if (root < 0)
                return root;
        fd = openat2_fd(root, path, O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        *ret_mtime = (int64_t)st.st_mtim.tv_sec;
        return 0;
}

/* Writes all of buf (a regular file: no EAGAIN). */
static int write_all(int fd, const char *buf, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, buf, n);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (w == 0)
                        return -EIO;
                buf += w;
                n -= (size_t)w;
        }
        return 0;
}

#define APPEND_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Opens name in dir for appending, creating it 0644 (whatever the umask).
 * An existing file is opened only after an O_PATH fd of it showed a
 * regular file: a FIFO or a device node is never opened. */
static int open_append(int dir, const char *name)
{
        const uint64_t resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

        /* A few rounds in case the file is removed or created in between. */
        for (int attempt = 0; attempt < 4; attempt++) {
                _cleanup_close_ int pfd = -1;
                char self[64];
                struct stat st;
                int fd;

                fd = openat2_fd(dir, name, APPEND_FLAGS | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                                resolve);
                if (fd >= 0) {
                        /* Ours and new: set the mode the umask may have narrowed. */
                        if (fchmod(fd, 0644) < 0) {
                                int r = -errno;

                                close(fd);
                                return r;
                        }
                        return fd;
                }
                if (fd != -EEXIST)
                        return fd;

                pfd = openat2_fd(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, resolve);
                if (pfd == -ENOENT)
                        continue;
                if (pfd < 0)
                        return pfd;
                if (fstat(pfd, &st) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode))
                        return -ELOOP;
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                /* The same inode, reopened for writing; permission is checked
                 * against the current fsuid/fsgid. */
                if (path_printf(self, sizeof(self), "/proc/self/fd/%d", pfd) < 0)
                        return -ENAMETOOLONG;
                fd = open(self, APPEND_FLAGS);
                if (fd < 0)
                        return -errno;
                return fd;
        }
        return -EAGAIN;
}

/* The file system identity of the calling thread, switched and restored. */
struct fs_identity {
        bool switched;
        bool groups_switched;
        int old_uid;
        int old_gid;
        gid_t *groups;
        int n_groups;
};

static int identity_switch(struct fs_identity *id, uid_t uid, gid_t gid)
{
        int n;

        *id = (struct fs_identity){0};

        /* Only root may switch; otherwise carry on as who we are. */
        if (geteuid() != 0)
                return 0;

        n = getgroups(0, NULL);
        if (n < 0)
                return -errno;
        if (n > 0) {
                id->groups = calloc((size_t)n, sizeof(gid_t));
                if (!id->groups)
                        return -ENOMEM;
                n = getgroups(n, id->groups);
                if (n < 0) {
                        id->groups = mfree(id->groups);
                        return -errno;
                }
        }
        id->n_groups = n;
        /* The raw syscall changes this thread only (glibc's setgroups()
         * changes every thread of the process). Without it, root's
         * supplementary groups would still grant access. */
        if (syscall(SYS_setgroups, (size_t)1, &gid) == 0)
                id->groups_switched = true;

        id->old_gid = setfsgid(gid);
        id->old_uid = setfsuid(uid);
        id->switched = true;
        return 0;
}

static void identity_restore(struct fs_identity *id)
{
        if (id->switched) {
                setfsuid((uid_t)id->old_uid);
                setfsgid((gid_t)id->old_gid);
        }
        if (id->groups_switched)
                (void)syscall(SYS_setgroups, (size_t)id->n_groups, id->groups);
        id->groups = mfree(id->groups);
        *id = (struct fs_identity){0};
}

/* The part of lc_container_file_append() that runs as the user. */
static int append_as_user(int root, const char *parent, const char *name, const char *text)
{
        _cleanup_close_ int dir = -1, fd = -1;
        struct stat st;

        dir = openat2_fd(root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (dir < 0)
                return dir;
        fd = open_append(dir, name);
        if (fd == -ENXIO) /* should not happen any more: a FIFO without reader */
                return -EINVAL;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        return write_all(fd, text, strlen(text));
}

int lc_container_file_append(const char *proc_root, pid_t pid, const char *path, uid_t uid,
                             gid_t gid, const char *text)
{
        _cleanup_close_ int root = -1;
        char parent[PATH_MAX];
        struct fs_identity id;
        const char *slash, *name;
        int r;

        if (!proc_root || !path || !text || pid <= 0 || path[0] != '/')
                return -EINVAL;
        slash = strrchr(path, '/');
        name = slash + 1;
        if (isempty(name) || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        if ((size_t)(slash - path) >= sizeof(parent))
                return -ENAMETOOLONG;
        if (slash == path) {
                parent[0] = '/';
                parent[1] = '\0';
        } else {
                memcpy(parent, path, (size_t)(slash - path));
                parent[slash - path] = '\0';
        }

        /* /proc/<pid>/root is opened as ourselves (a ptrace access check). */
        root = open_container_root(proc_root, pid);
        if (root < 0)
                return root;

        r = identity_switch(&id, uid, gid);
        if (r < 0)
                return r;
        r = append_as_user(root, parent, name, text);
        identity_restore(&id);
        return r;
}
