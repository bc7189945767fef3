/* test-lc-probe.c - unit tests for lifecycle/probe: the cgroup of a process
 * found from a fake /proc/<pid>/cgroup (cgroup v1 with "cpu,cpuacct" or
 * "cpuacct" mounts, a symlinked mount, cgroup v2) and its counters read from
 * a fake cgroup tree; network bytes from a fake net/dev; and the files inside
 * a container reached through a fake /proc/<pid>/root (a plain directory):
 * symlinks and ".." resolved inside it, a final symlink, a FIFO and a device
 * refused, a missing parent creating nothing, the mode and (as root) the
 * owner of a created file and the thread's file system identity restored
 * afterwards. One test reads the real /proc/self. Each test works in its own
 * temporary folder. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "lifecycle/probe.h"

#define PID      4242
#define NOBODY   65534
#define TEST_TXT "keep-alive\n"

struct fixture {
        char dir[64];
        char proc[128]; /* <dir>/proc */
        char cg[128];   /* <dir>/cg */
        char root[128]; /* <dir>/proc/<PID>/root: the container's / */
};

/* ---- helpers ---------------------------------------------------------- */

static void mkdir_p(const char *path, mode_t mode)
{
        char tmp[512];

        assert_true(strlen(path) < sizeof(tmp));
        memcpy(tmp, path, strlen(path) + 1);
        for (char *p = tmp + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(tmp, 0755) < 0)
                        assert_int_equal(errno, EEXIST);
                *p = '/';
        }
        if (mkdir(tmp, mode) < 0)
                assert_int_equal(errno, EEXIST);
        assert_int_equal(chmod(tmp, mode), 0);
}

static void put_file(const char *path, const char *content)
{
        char dir[512];
        char *slash;
        FILE *f;

        assert_true(strlen(path) < sizeof(dir));
        memcpy(dir, path, strlen(path) + 1);
        slash = strrchr(dir, '/');
        assert_non_null(slash);
        *slash = '\0';
        mkdir_p(dir, 0755);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(content, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static char *pathf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *pathf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t)n < size);
        return buf;
}

static char *read_all(const char *path)
{
        static char buf[4096];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return NULL;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static bool exists(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/ds01-test-lc-probe-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
        snprintf(f->cg, sizeof(f->cg), "%s/cg", f->dir);
        snprintf(f->root, sizeof(f->root), "%s/proc/%d/root", f->dir, PID);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

static void put_cgroup(struct fixture *f, const char *text)
{
        char p[256];

        put_file(pathf(p, sizeof(p), "%s/%d/cgroup", f->proc, PID), text);
}

/* ---- cgroups ---------------------------------------------------------- */

/* The Docker cgroupfs driver on cgroup v1: "cpu,cpuacct" mounted as one. */
static void test_cgroup_v1_cpu_cpuacct(void **state)
{
        struct fixture *f = *state;
        struct lc_cgroup cg;
        char p[256], want[256];
        uint64_t v;

        put_cgroup(f, "12:pids:/docker/abc\n"
                      "9:memory:/docker/abc\n"
                      "4:cpu,cpuacct:/docker/abc\n"
                      "1:name=systemd:/docker/abc\n"
                      "0::/system.slice/containerd.service\n");
        put_file(pathf(p, sizeof(p), "%s/cpu,cpuacct/docker/abc/cpuacct.usage", f->cg),
                 "123456789012\n");
        put_file(pathf(p, sizeof(p), "%s/memory/docker/abc/memory.usage_in_bytes", f->cg),
                 "4096000\n");
        /* the usual compatibility link */
        assert_int_equal(symlink("cpu,cpuacct", pathf(p, sizeof(p), "%s/cpuacct", f->cg)), 0);

        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), 0);
        assert_false(cg.v2);
        assert_string_equal(cg.cpu, pathf(want, sizeof(want), "%s/cpu,cpuacct/docker/abc", f->cg));
        assert_string_equal(cg.memory, pathf(want, sizeof(want), "%s/memory/docker/abc", f->cg));
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), 0);
        assert_int_equal(v, 123456789012ULL);
        assert_int_equal(lc_cgroup_memory(&cg, &v), 0);
        assert_int_equal(v, 4096000);
}

/* The list says "cpu,cpuacct" but only "cpuacct" exists under the root. */
static void test_cgroup_v1_cpuacct_dir(void **state)
{
        struct fixture *f = *state;
        struct lc_cgroup cg;
        char p[256], want[256];
        uint64_t v;

        put_cgroup(f, "4:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n");
        put_file(pathf(p, sizeof(p), "%s/cpuacct/docker/abc/cpuacct.usage", f->cg), "77\n");
        put_file(pathf(p, sizeof(p), "%s/memory/docker/abc/memory.usage_in_bytes", f->cg), "5\n");

        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), 0);
        assert_false(cg.v2);
        assert_string_equal(cg.cpu, pathf(want, sizeof(want), "%s/cpuacct/docker/abc", f->cg));
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), 0);
        assert_int_equal(v, 77);
        assert_int_equal(lc_cgroup_memory(&cg, &v), 0);
        assert_int_equal(v, 5);
}

/* "cpuacct" a symlink to the real "cpu,cpuacct" mount, the list "cpuacct"
 * alone (cpu and cpuacct mounted apart, as on this kind of host), the
 * root cgroup "/" as path. */
static void test_cgroup_v1_separate(void **state)
{
        struct fixture *f = *state;
        struct lc_cgroup cg;
        char p[256], want[256];
        uint64_t v;

        put_cgroup(f, "4:memory:/\n2:cpuacct:/\n1:cpu:/\n0::/\n");
        put_file(pathf(p, sizeof(p), "%s/cpu,cpuacct/cpuacct.usage", f->cg), "1000\n");
        put_file(pathf(p, sizeof(p), "%s/memory/memory.usage_in_bytes", f->cg), "2000\n");
        assert_int_equal(symlink("cpu,cpuacct", pathf(p, sizeof(p), "%s/cpuacct", f->cg)), 0);

        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), 0);
        assert_false(cg.v2);
        assert_string_equal(cg.cpu, pathf(want, sizeof(want), "%s/cpuacct", f->cg));
        assert_string_equal(cg.memory, pathf(want, sizeof(want), "%s/memory", f->cg));
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), 0);
        assert_int_equal(v, 1000);
        assert_int_equal(lc_cgroup_memory(&cg, &v), 0);
        assert_int_equal(v, 2000);
}

static void test_cgroup_v2(void **state)
{
        struct fixture *f = *state;
        struct lc_cgroup cg;
        char p[256], want[256];
        uint64_t v;

        put_cgroup(f, "0::/system.slice/docker-abc.scope\n");
        put_file(pathf(p, sizeof(p), "%s/system.slice/docker-abc.scope/cpu.stat", f->cg),
                 "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                 "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
        put_file(pathf(p, sizeof(p), "%s/system.slice/docker-abc.scope/memory.current", f->cg),
                 "8192\n");

        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), 0);
        assert_true(cg.v2);
        pathf(want, sizeof(want), "%s/system.slice/docker-abc.scope", f->cg);
        assert_string_equal(cg.cpu, want);
        assert_string_equal(cg.memory, want);
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), 0);
        assert_int_equal(v, 1500000);
        assert_int_equal(lc_cgroup_memory(&cg, &v), 0);
        assert_int_equal(v, 8192);

        /* cpu.stat without usage_usec; a counter that is not a number */
        put_file(pathf(p, sizeof(p), "%s/system.slice/docker-abc.scope/cpu.stat", f->cg),
                 "user_usec 1000\n");
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), -ENODATA);
        put_file(pathf(p, sizeof(p), "%s/system.slice/docker-abc.scope/memory.current", f->cg),
                 "max\n");
        assert_int_equal(lc_cgroup_memory(&cg, &v), -EBADMSG);
}

static void test_cgroup_errors(void **state)
{
        struct fixture *f = *state;
        struct lc_cgroup cg;
        uint64_t v;

        /* process gone */
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENOENT);
        /* nothing usable */
        put_cgroup(f, "1:name=systemd:/docker/abc\n3:pids:/docker/abc\n");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENODATA);
        put_cgroup(f, "");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENODATA);
        /* v1 cpuacct without memory */
        put_cgroup(f, "4:cpu,cpuacct:/docker/abc\n");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENODATA);
        /* paths that are not absolute or climb out are not used */
        put_cgroup(f, "4:cpu,cpuacct:/../../etc\n9:memory:/docker/abc\n");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENODATA);
        put_cgroup(f, "0::docker/abc\n");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), -ENODATA);
        /* found, but the counter files are missing */
        put_cgroup(f, "4:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n");
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, PID, &cg), 0);
        assert_int_equal(lc_cgroup_cpu_ns(&cg, &v), -ENOENT);
        assert_int_equal(lc_cgroup_memory(&cg, &v), -ENOENT);
        /* bad arguments */
        assert_int_equal(lc_cgroup_find(f->proc, f->cg, 0, &cg), -EINVAL);
        assert_int_equal(lc_cgroup_find(NULL, f->cg, PID, &cg), -EINVAL);
}

/* ---- network ---------------------------------------------------------- */

static const char net_dev[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
    "errs drop fifo colls carrier compressed\n"
    "    lo: 62465623  145991    0    0    0     0          0         0 62465623  145991    "
    "0    0    0     0       0          0\n"
    "  eth0: 131908535    2727    0    0    0     0          0         0   128744    1637    "
    "0    0    0     0       0          0\n"
    "docker0:       0       0    0    0    0     0          0         0    71146     647    "
    "0   59    0     0       0          0\n";

static void test_net_bytes(void **state)
{
        struct fixture *f = *state;
        char p[256];
        uint64_t v = 0;

        pathf(p, sizeof(p), "%s/%d/net/dev", f->proc, PID);
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), -ENOENT);

        put_file(p, net_dev);
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), 0);
        assert_int_equal(v, 131908535ULL + 128744ULL + 71146ULL);

        /* only lo: nothing */
        put_file(p, "Inter-|   Receive |  Transmit\n face |bytes |bytes\n"
                    "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n");
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), 0);
        assert_int_equal(v, 0);

        /* broken lines */
        put_file(p, "Inter-|\n face |\n  eth0: 1 2 3\n");
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), -EBADMSG);
        put_file(p, "Inter-|\n face |\n  eth0 1 2 3 4 5 6 7 8 9 10\n");
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), -EBADMSG);
        put_file(p, "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 -9 10\n");
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), -EBADMSG);
        put_file(p, "Inter-|\n face |\n  eth0: 99999999999999999999 0 0 0 0 0 0 0 1 0\n");
        assert_int_equal(lc_net_bytes(f->proc, PID, &v), -ERANGE);
}

/* ---- the real /proc --------------------------------------------------- */

static void test_real_proc_self(void **state)
{
        struct lc_cgroup cg;
        uint64_t v;
        int r;

        (void)state;
        assert_int_equal(lc_net_bytes("/proc", getpid(), &v), 0);
        assert_true(v < (1ULL << 62));

        assert_int_equal(lc_cgroup_find("/proc", "/sys/fs/cgroup", getpid(), &cg), 0);
        assert_true(strncmp(cg.cpu, "/sys/fs/cgroup", 14) == 0);
        assert_true(strncmp(cg.memory, "/sys/fs/cgroup", 14) == 0);
        /* Counters may be missing (a v2 root cgroup has no memory.current),
         * but when they are read they are sane. */
        r = lc_cgroup_cpu_ns(&cg, &v);
        assert_true(r == 0 || r == -ENOENT);
        if (r == 0)
                assert_true(v > 0);
        r = lc_cgroup_memory(&cg, &v);
        assert_true(r == 0 || r == -ENOENT);
        if (r == 0)
                assert_true(v > 0);

        assert_int_equal(lc_cgroup_find("/proc", "/sys/fs/cgroup", -1, &cg), -EINVAL);
}

/* ---- files inside the container --------------------------------------- */

/* Without openat2(2) (Linux before 5.6, or valgrind 3.19, which does not know
 * the call: `make lint`) the probe refuses rather than resolve paths unsafely:
 * checked, then the calling test is skipped. */
static void skip_without_openat2(struct fixture *f)
{
        int64_t m = -1;

        if (syscall(SYS_openat2, -1, "", NULL, 0) == 0 || errno != ENOSYS)
                return;
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/etc/passwd", &m), -ENOSYS);
        skip();
}

/* The fake container root: /etc/passwd (mtime 12345), /workspace (0777). */
static void make_root(struct fixture *f)
{
        struct timespec ts[2] = {{.tv_sec = 12345}, {.tv_sec = 12345}};
        char p[256];

        mkdir_p(f->root, 0755);
        put_file(pathf(p, sizeof(p), "%s/etc/passwd", f->root), "fake:x:0:0::/:/bin/sh\n");
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        mkdir_p(pathf(p, sizeof(p), "%s/workspace", f->root), 0777);
        skip_without_openat2(f);
}

static void test_mtime(void **state)
{
        struct fixture *f = *state;
        struct timespec ts[2] = {{.tv_sec = 1700000000}, {.tv_sec = 1700000000}};
        int64_t m = -1;
        char p[256];

        make_root(f);
        put_file(pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root), "");
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/.keep-alive", &m), 0);
        assert_int_equal(m, 1700000000);

        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/none", &m), -ENOENT);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/nodir/none", &m), -ENOENT);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace", &m), -EINVAL);
        assert_int_equal(lc_container_file_mtime(f->proc, PID + 1, "/workspace", &m), -ENOENT);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "workspace/x", &m), -EINVAL);
}

/* Absolute and ".." symlinks resolve inside the container's root: the fake
 * /etc/passwd (mtime 12345) is seen, never the host's. */
static void test_mtime_symlinks_stay_inside(void **state)
{
        struct fixture *f = *state;
        int64_t m = -1;
        char p[256];

        make_root(f);
        assert_int_equal(
            symlink("/etc/passwd", pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root)), 0);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/.keep-alive", &m), 0);
        assert_int_equal(m, 12345);

        assert_int_equal(
            symlink("../../../../etc/passwd", pathf(p, sizeof(p), "%s/workspace/dots", f->root)),
            0);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/dots", &m), 0);
        assert_int_equal(m, 12345);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/../../../../etc/passwd", &m), 0);
        assert_int_equal(m, 12345);

        /* /etc/os-release and /etc/group exist on the host, not in here */
        assert_int_equal(
            symlink("/etc/os-release", pathf(p, sizeof(p), "%s/workspace/abs", f->root)), 0);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/abs", &m), -ENOENT);
        assert_int_equal(symlink("../../../../../../../etc/group",
                                 pathf(p, sizeof(p), "%s/workspace/rel", f->root)),
                         0);
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/rel", &m), -ENOENT);
}

static void test_mtime_fifo(void **state)
{
        struct fixture *f = *state;
        int64_t m = -1;
        char p[256];

        make_root(f);
        assert_int_equal(mkfifo(pathf(p, sizeof(p), "%s/workspace/fifo", f->root), 0666), 0);
        alarm(10); /* a blocking open would hang the test */
        assert_int_equal(lc_container_file_mtime(f->proc, PID, "/workspace/fifo", &m), -EINVAL);
        alarm(0);
}

static void test_append_creates_and_appends(void **state)
{
        struct fixture *f = *state;
        char p[256];
        struct stat st;
        mode_t old;

        make_root(f);
        pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root);
        old = umask(077); /* the mode is 0644 whatever the umask */
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", getuid(),
                                                  getgid(), "one\n"),
                         0);
        umask(old);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", getuid(),
                                                  getgid(), "two\n"),
                         0);
        assert_string_equal(read_all(p), "one\ntwo\n");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);

        /* a file directly under / */
        assert_int_equal(lc_container_file_append(f->proc, PID, "/top", getuid(), getgid(), "x"),
                         0);
        assert_string_equal(read_all(pathf(p, sizeof(p), "%s/top", f->root)), "x");

        /* no name */
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/workspace/", getuid(), getgid(), "x"),
            -EINVAL);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/workspace/..", getuid(), getgid(), "x"),
            -EINVAL);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "relative", getuid(), getgid(), "x"), -EINVAL);
}

/* No /workspace: -ENOENT and nothing is created, not even the folder. */
static void test_append_missing_parent(void **state)
{
        struct fixture *f = *state;
        char p[256];

        mkdir_p(f->root, 0755);
        skip_without_openat2(f);
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", getuid(),
                                                  getgid(), TEST_TXT),
                         -ENOENT);
        assert_false(exists(pathf(p, sizeof(p), "%s/workspace", f->root)));
        assert_false(exists(pathf(p, sizeof(p), "%s/.keep-alive", f->root)));
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/a/b/c", getuid(), getgid(), TEST_TXT),
            -ENOENT);
        assert_false(exists(pathf(p, sizeof(p), "%s/a", f->root)));
        /* the process is gone */
        assert_int_equal(lc_container_file_append(f->proc, PID + 1, "/workspace/.keep-alive",
                                                  getuid(), getgid(), TEST_TXT),
                         -ENOENT);
}

static void test_append_symlinks(void **state)
{
        struct fixture *f = *state;
        char p[256], host[128];

        make_root(f);
        /* the final component a symlink: refused, the target untouched */
        assert_int_equal(
            symlink("/etc/passwd", pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root)), 0);
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", getuid(),
                                                  getgid(), TEST_TXT),
                         -ELOOP);
        assert_string_equal(read_all(pathf(p, sizeof(p), "%s/etc/passwd", f->root)),
                            "fake:x:0:0::/:/bin/sh\n");
        /* a dangling one too (O_CREAT would otherwise create its target) */
        assert_int_equal(
            symlink("/made-by-probe", pathf(p, sizeof(p), "%s/workspace/dangling", f->root)), 0);
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/dangling", getuid(),
                                                  getgid(), TEST_TXT),
                         -ELOOP);
        assert_false(exists(pathf(p, sizeof(p), "%s/made-by-probe", f->root)));

        /* a symlinked parent pointing at the host's /tmp resolves inside: the
         * container has no /tmp */
        pathf(host, sizeof(host), "/tmp/ds01-lc-probe-escape-%d", (int)getpid());
        unlink(host);
        assert_int_equal(symlink("/tmp", pathf(p, sizeof(p), "%s/escape", f->root)), 0);
        pathf(p, sizeof(p), "/escape/ds01-lc-probe-escape-%d", (int)getpid());
        assert_int_equal(lc_container_file_append(f->proc, PID, p, getuid(), getgid(), TEST_TXT),
                         -ENOENT);
        assert_false(exists(host));
        assert_int_equal(
            symlink("../../../../../../tmp", pathf(p, sizeof(p), "%s/escape2", f->root)), 0);
        pathf(p, sizeof(p), "/escape2/ds01-lc-probe-escape-%d", (int)getpid());
        assert_int_equal(lc_container_file_append(f->proc, PID, p, getuid(), getgid(), TEST_TXT),
                         -ENOENT);
        assert_false(exists(host));

        /* a symlinked parent inside the container is fine */
        assert_int_equal(symlink("/workspace", pathf(p, sizeof(p), "%s/ws", f->root)), 0);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/ws/via-link", getuid(), getgid(), TEST_TXT),
            0);
        assert_string_equal(read_all(pathf(p, sizeof(p), "%s/workspace/via-link", f->root)),
                            TEST_TXT);
}

static void test_append_not_regular(void **state)
{
        struct fixture *f = *state;
        char p[256];

        make_root(f);
        assert_int_equal(mkfifo(pathf(p, sizeof(p), "%s/workspace/fifo", f->root), 0666), 0);
        alarm(10); /* a blocking open would hang the test */
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/workspace/fifo", getuid(), getgid(), TEST_TXT),
            -EINVAL);
        alarm(0);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/workspace", getuid(), getgid(), TEST_TXT),
            -EINVAL);
        /* a device node (root only): refused, never opened */
        if (geteuid() == 0 && mknod(pathf(p, sizeof(p), "%s/workspace/null", f->root),
                                    S_IFCHR | 0666, makedev(1, 3)) == 0)
                assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/null", getuid(),
                                                          getgid(), TEST_TXT),
                                 -EINVAL);
}

/* The thread's file system identity is root again: a new file is root's. */
static void assert_identity_root(struct fixture *f, const char *name)
{
        char p[256];
        struct stat st;
        int fd;

        assert_int_equal(setfsuid((uid_t)-1), 0);
        assert_int_equal(setfsgid((gid_t)-1), 0);
        fd = open(pathf(p, sizeof(p), "%s/%s", f->dir, name), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);
        close(fd);
}

static void test_append_as_user(void **state)
{
        struct fixture *f = *state;
        const gid_t groups0[] = {0, 4242};
        gid_t saved[64], before[64], after[64];
        int n_saved, n_before, n_after;
        char p[256];
        struct stat st;

        if (geteuid() != 0) {
                skip();
                return;
        }
        make_root(f);
        /* root with supplementary group 0, as a daemon often is */
        n_saved = getgroups(64, saved);
        assert_true(n_saved >= 0);
        assert_int_equal(setgroups(2, groups0), 0);
        n_before = getgroups(64, before);
        assert_int_equal(n_before, 2);

        /* created by and for nobody */
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", NOBODY,
                                                  NOBODY, TEST_TXT),
                         0);
        assert_int_equal(stat(pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root), &st), 0);
        assert_int_equal(st.st_uid, NOBODY);
        assert_int_equal(st.st_gid, NOBODY);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_identity_root(f, "after-success");

        /* nobody may not write root's file ... */
        put_file(pathf(p, sizeof(p), "%s/workspace/roots", f->root), "root\n");
        assert_int_equal(chmod(p, 0644), 0);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/workspace/roots", NOBODY, NOBODY, TEST_TXT),
            -EACCES);
        assert_string_equal(read_all(p), "root\n");
        assert_identity_root(f, "after-eacces");
        /* ... nor create in root's folder ... */
        mkdir_p(pathf(p, sizeof(p), "%s/rootonly", f->root), 0755);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/rootonly/x", NOBODY, NOBODY, TEST_TXT),
            -EACCES);
        assert_false(exists(pathf(p, sizeof(p), "%s/rootonly/x", f->root)));
        /* ... nor get in through root's supplementary groups (group 0) */
        mkdir_p(pathf(p, sizeof(p), "%s/group0", f->root), 0770);
        assert_int_equal(chown(p, 0, 0), 0);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/group0/x", NOBODY, NOBODY, TEST_TXT), -EACCES);
        /* ... nor pass a folder it cannot search */
        mkdir_p(pathf(p, sizeof(p), "%s/closed/inner", f->root), 0777);
        assert_int_equal(chmod(pathf(p, sizeof(p), "%s/closed", f->root), 0700), 0);
        assert_int_equal(
            lc_container_file_append(f->proc, PID, "/closed/inner/x", NOBODY, NOBODY, TEST_TXT),
            -EACCES);
        assert_identity_root(f, "after-failures");

        /* the supplementary groups are back */
        n_after = getgroups(64, after);
        assert_int_equal(n_after, n_before);
        assert_memory_equal(before, after, (size_t)n_before * sizeof(gid_t));

        /* a user's own existing file, appended */
        assert_int_equal(lc_container_file_append(f->proc, PID, "/workspace/.keep-alive", NOBODY,
                                                  NOBODY, "more\n"),
                         0);
        assert_string_equal(read_all(pathf(p, sizeof(p), "%s/workspace/.keep-alive", f->root)),
                            TEST_TXT "more\n");
        assert_identity_root(f, "after-append");
        assert_int_equal(setgroups((size_t)n_saved, saved), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_cgroup_v1_cpu_cpuacct, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cgroup_v1_cpuacct_dir, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cgroup_v1_separate, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cgroup_v2, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cgroup_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_net_bytes, setup, teardown),
            cmocka_unit_test(test_real_proc_self),
            cmocka_unit_test_setup_teardown(test_mtime, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mtime_symlinks_stay_inside, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mtime_fifo, setup, teardown),
            cmocka_unit_test_setup_teardown(test_append_creates_and_appends, setup, teardown),
            cmocka_unit_test_setup_teardown(test_append_missing_parent, setup, teardown),
            cmocka_unit_test_setup_teardown(test_append_symlinks, setup, teardown),
            cmocka_unit_test_setup_teardown(test_append_not_regular, setup, teardown),
            cmocka_unit_test_setup_teardown(test_append_as_user, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
