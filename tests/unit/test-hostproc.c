/* test-hostproc.c - unit tests for hostproc: the container id in cgroup text
 * (cgroupfs and systemd drivers, ds01 cgroup parents, other runtimes, host
 * lines, near misses), the system process names, hp_proc_read against a
 * fake proc tree in a temporary folder and against the real /proc/self,
 * hp_proc_signal on a forked child, and the two-scan tracker. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "hostproc/hostproc.h"

#define ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* ---- hp_cgroup_container_id ---- */

struct cg_case {
        const char *text;
        const char *id; /* NULL: a host process */
};

static const struct cg_case cg_cases[] = {
    /* cgroupfs driver, v1 */
    {"12:pids:/docker/" ID "\n", ID},
    {"12:pids:/docker/" ID, ID},
    {"12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n10:cpu,cpuacct:/docker/" ID
     "\n1:name=systemd:/docker/" ID "\n0::/\n",
     ID},
    {"12:hugetlb:/\n11:pids:/docker/" ID "\n", ID},
    /* systemd driver */
    {"0::/system.slice/docker-" ID ".scope\n", ID},
    {"1:name=systemd:/system.slice/docker-" ID ".scope\n", ID},
    /* ds01 cgroup parents */
    {"4:cpu,cpuacct:/ds01/student/alice/" ID "\n", ID},
    {"0::/ds01.slice/ds01-student.slice/ds01-student-alice.slice/docker-" ID ".scope\n", ID},
    /* other runtimes */
    {"0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" ID ".scope\n", ID},
    {"0::/kubepods.slice/crio-" ID ".scope\n", ID},
    {"0::/machine.slice/libpod-" ID ".scope\n", ID},
    /* the host */
    {"0::/user.slice/user-1000.slice/session-3.scope\n", NULL},
    {"0::/init.scope\n", NULL},
    {"0::/\n", NULL},
    {"4:memory:/process_api/be7ff9c39ccb9603a1e7653446aa9a05\n0::/\n", NULL},
    /* near misses */
    {"12:pids:/docker/" ID "0\n", NULL}, /* 65 hex */
    {"12:pids:/docker/"
     "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
     NULL}, /* 63 hex */
    {"12:pids:/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
     NULL}, /* uppercase */
    {"0::/system.slice/docker-" ID ".scopeX\n", NULL},
    {"0::/system.slice/docker-" ID ".scope/init.scope\n", NULL}, /* not the last */
    {"0::/system.slice/podman-" ID ".scope\n", NULL},            /* unknown wrapper */
    {"0::/system.slice/docker-.scope\n", NULL},
    {"0::/docker/" ID "/\n", NULL},
    {"", NULL},
    {"\n\n", NULL},
    /* malformed lines are skipped */
    {"garbage/" ID "\n0::/docker/" ID2 "\n", ID2},
    {"0:/docker/" ID "\n0::/\n", NULL},
    {"0::docker/" ID "\n", NULL},
    {":pids:/docker/" ID "\n12:pids:/docker/" ID2 "\n", ID2},
    /* the first line with an id wins */
    {"12:pids:/docker/" ID "\n0::/docker/" ID2 "\n", ID},
};

static void test_cgroup_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(cg_cases) / sizeof(cg_cases[0]); i++) {
                char id[HP_ID_MAX] = "untouched";
                bool found = hp_cgroup_container_id(cg_cases[i].text, id);

                if (found != (cg_cases[i].id != NULL))
                        fail_msg("case %zu (%s): found=%d", i, cg_cases[i].text, found);
                if (cg_cases[i].id)
                        assert_string_equal(id, cg_cases[i].id);
                else
                        assert_string_equal(id, "untouched");
        }
        assert_false(hp_cgroup_container_id(NULL, (char[HP_ID_MAX]){0}));
}

/* ---- hp_is_system_process ---- */

static void test_system_process(void **state)
{
        static const char *const yes[] = {
            "nvidia-persistenced", "nv-hostengine", "dcgm", "dcgmi",
            "dcgm-exporter",       "Xorg",          "X",    "nvidia-smi",
        };
        static const char *const no[] = {
            "python3", "Xvfb", "nvidia-smi2", "", "x", "xorg", "Xorg2", "nvidia", "dcg",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (!hp_is_system_process(yes[i], NULL))
                        fail_msg("comm %s", yes[i]);
                if (!hp_is_system_process("", yes[i]))
                        fail_msg("argv0 %s", yes[i]);
        }
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
                if (hp_is_system_process(no[i], NULL))
                        fail_msg("comm %s", no[i]);
                if (hp_is_system_process("", no[i]))
                        fail_msg("argv0 %s", no[i]);
                if (hp_is_system_process(no[i], no[i]))
                        fail_msg("both %s", no[i]);
        }
        /* argv0 with a path, or a whole command line */
        assert_true(hp_is_system_process("bash", "/usr/bin/nvidia-smi"));
        assert_true(hp_is_system_process("bash", "/usr/bin/nvidia-smi -q -d MEMORY"));
        assert_true(hp_is_system_process("python3", "/usr/lib/xorg/Xorg :0 -nolisten tcp"));
        assert_true(hp_is_system_process("x", "/usr/bin/dcgm-exporter"));
        assert_false(hp_is_system_process("python3", "/usr/bin/python3 /opt/nvidia-smi"));
        assert_false(hp_is_system_process("python3", "/usr/bin/nvidia-smi/"));
        assert_false(hp_is_system_process("python3", "/opt/nvidia-smi2"));
        /* the kernel's 15-byte comm of nvidia-persistenced */
        assert_true(hp_is_system_process("nvidia-persiste", NULL));
        assert_false(hp_is_system_process("nvidia-persist", NULL));
        assert_false(hp_is_system_process("", "nvidia-persiste"));
        assert_false(hp_is_system_process(NULL, NULL));
}

/* ---- hp_proc_read on a fake tree ---- */

struct fixture {
        char dir[64];
};

static int setup_dir(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/ds01-test-hostproc-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown_dir(void **state)
{
        struct fixture *f = *state;
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

static void write_file(const char *dir, pid_t pid, const char *name, const void *data, size_t n)
{
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof(path), "%s/%d", dir, (int)pid);
        (void)mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%d/%s", dir, (int)pid, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, n), (ssize_t)n);
        close(fd);
}

static void write_str(const char *dir, pid_t pid, const char *name, const char *s)
{
        write_file(dir, pid, name, s, strlen(s));
}

static void remove_file(const char *dir, pid_t pid, const char *name)
{
        char path[PATH_MAX];

        snprintf(path, sizeof(path), "%s/%d/%s", dir, (int)pid, name);
        assert_int_equal(unlink(path), 0);
}

static void write_stat(const char *dir, pid_t pid, const char *comm, unsigned long long start)
{
        char buf[1024];

        snprintf(buf, sizeof(buf),
                 "%d (%s) S 1 2 3 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 %llu 123456 789 "
                 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n",
                 (int)pid, comm, start);
        write_str(dir, pid, "stat", buf);
}

static void write_status(const char *dir, pid_t pid, unsigned uid)
{
        char buf[1024];

        snprintf(buf, sizeof(buf),
                 "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\n"
                 "Pid:\t%d\nPPid:\t1\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
                 "Gid:\t100\t100\t100\t100\nFDSize:\t64\n",
                 (int)pid, (int)pid, uid, uid + 1, uid + 2, uid + 3);
        write_str(dir, pid, "status", buf);
}

/* A complete process: python3 in container ID, started at 4242. */
static void make_proc(const char *dir, pid_t pid)
{
        static const char cmdline[] = "python3\0train.py\0--lr\0001e-3\0";

        write_stat(dir, pid, "py) (thon 3", 4242);
        write_status(dir, pid, 1000);
        write_str(dir, pid, "loginuid", "1001");
        write_file(dir, pid, "cmdline", cmdline, sizeof(cmdline) - 1);
        write_str(dir, pid, "comm", "python3\n");
        write_str(dir, pid, "cgroup",
                  "12:pids:/docker/" ID "\n1:name=systemd:/docker/" ID "\n0::/\n");
}

static void test_read_container(void **state)
{
        struct fixture *f = *state;
        struct hp_proc p;

        make_proc(f->dir, 321);
        assert_int_equal(hp_proc_read(f->dir, 321, &p), 0);
        assert_int_equal(p.pid, 321);
        assert_int_equal(p.start_time, 4242);
        assert_int_equal(p.uid, 1000);
        assert_int_equal(p.loginuid, 1001);
        assert_string_equal(p.comm, "python3");
        assert_string_equal(p.cmdline, "python3 train.py --lr 1e-3");
        assert_string_equal(p.container_id, ID);
}

static void test_read_host(void **state)
{
        struct fixture *f = *state;
        static const char cmdline[] = "bash\0-c\0echo\001\tx\n\0";
        struct hp_proc p;

        make_proc(f->dir, 77);
        write_stat(f->dir, 77, ") ) (", 99);
        write_str(f->dir, 77, "loginuid", "4294967295");
        write_str(f->dir, 77, "cgroup", "0::/user.slice/user-1000.slice/session-3.scope\n");
        write_file(f->dir, 77, "cmdline", cmdline, sizeof(cmdline) - 1);
        write_str(f->dir, 77, "comm", "ba\x1bsh\n");
        assert_int_equal(hp_proc_read(f->dir, 77, &p), 0);
        assert_int_equal(p.start_time, 99);
        assert_int_equal(p.loginuid, -1);
        assert_string_equal(p.container_id, "");
        assert_string_equal(p.cmdline, "bash -c echo??x?");
        assert_string_equal(p.comm, "ba?sh");

        /* loginuid 0 (root logged in) and no loginuid file at all (a kernel
         * without audit) */
        write_str(f->dir, 77, "loginuid", "0");
        assert_int_equal(hp_proc_read(f->dir, 77, &p), 0);
        assert_int_equal(p.loginuid, 0);
        remove_file(f->dir, 77, "loginuid");
        assert_int_equal(hp_proc_read(f->dir, 77, &p), 0);
        assert_int_equal(p.loginuid, -1);
}

static void test_read_cmdline(void **state)
{
        struct fixture *f = *state;
        char raw[5000], want[HP_CMDLINE_MAX];
        struct hp_proc p;

        make_proc(f->dir, 5);

        /* empty: a kernel thread or a zombie */
        write_file(f->dir, 5, "cmdline", "", 0);
        assert_int_equal(hp_proc_read(f->dir, 5, &p), 0);
        assert_string_equal(p.cmdline, "[python3]");

        /* longer than the read ceiling */
        memset(raw, 'a', sizeof(raw));
        raw[10] = '\0';
        write_file(f->dir, 5, "cmdline", raw, sizeof(raw));
        assert_int_equal(hp_proc_read(f->dir, 5, &p), 0);
        assert_int_equal(strlen(p.cmdline), HP_CMDLINE_MAX - 1);
        memset(want, 'a', HP_CMDLINE_MAX - 4);
        want[10] = ' ';
        memcpy(want + HP_CMDLINE_MAX - 4, "...", 4);
        assert_string_equal(p.cmdline, want);

        /* exactly fits (with a trailing NUL), then one byte too many */
        memset(raw, 'b', HP_CMDLINE_MAX - 1);
        raw[HP_CMDLINE_MAX - 1] = '\0';
        write_file(f->dir, 5, "cmdline", raw, HP_CMDLINE_MAX);
        assert_int_equal(hp_proc_read(f->dir, 5, &p), 0);
        assert_int_equal(strlen(p.cmdline), HP_CMDLINE_MAX - 1);
        assert_int_equal(p.cmdline[HP_CMDLINE_MAX - 2], 'b');
        memset(raw, 'b', HP_CMDLINE_MAX);
        write_file(f->dir, 5, "cmdline", raw, HP_CMDLINE_MAX);
        assert_int_equal(hp_proc_read(f->dir, 5, &p), 0);
        assert_int_equal(strlen(p.cmdline), HP_CMDLINE_MAX - 1);
        assert_string_equal(p.cmdline + HP_CMDLINE_MAX - 4, "...");
        assert_int_equal(p.cmdline[HP_CMDLINE_MAX - 5], 'b');

        /* UTF-8 is cut before a sequence, not inside it */
        raw[0] = 'a';
        for (size_t i = 1; i + 1 < 400; i += 2) {
                raw[i] = (char)0xc3;
                raw[i + 1] = (char)0xa9; /* é */
        }
        write_file(f->dir, 5, "cmdline", raw, 400);
        assert_int_equal(hp_proc_read(f->dir, 5, &p), 0);
        assert_int_equal(strlen(p.cmdline), HP_CMDLINE_MAX - 2);
        assert_int_equal((unsigned char)p.cmdline[HP_CMDLINE_MAX - 6], 0xa9);
        assert_string_equal(p.cmdline + HP_CMDLINE_MAX - 5, "...");
}

static void test_read_big_cgroup(void **state)
{
        struct fixture *f = *state;
        size_t n = (size_t)70 * 1024;
        char *text = malloc(n + 200);
        size_t len;
        struct hp_proc p;

        assert_non_null(text);
        make_proc(f->dir, 6);
        /* the id first, then lines past the 64 KiB ceiling */
        len = (size_t)snprintf(text, n + 200, "12:pids:/docker/" ID "\n");
        while (len + 40 < n)
                len += (size_t)snprintf(text + len, n + 200 - len, "%s\n",
                                        "3:cpuset:/some/where/else/entirely");
        write_file(f->dir, 6, "cgroup", text, len);
        assert_int_equal(hp_proc_read(f->dir, 6, &p), 0);
        assert_string_equal(p.container_id, ID);

        /* an id only past the ceiling is not seen (the read is bounded) */
        len = 0;
        while (len + 40 < n)
                len += (size_t)snprintf(text + len, n + 200 - len, "%s\n",
                                        "3:cpuset:/some/where/else/entirely");
        len += (size_t)snprintf(text + len, n + 200 - len, "0::/docker/" ID "\n");
        write_file(f->dir, 6, "cgroup", text, len);
        assert_int_equal(hp_proc_read(f->dir, 6, &p), 0);
        assert_string_equal(p.container_id, "");
        free(text);
}

static void test_read_missing(void **state)
{
        static const char *const files[] = {"stat", "status", "cmdline", "comm", "cgroup"};
        struct fixture *f = *state;
        struct hp_proc p;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                make_proc(f->dir, 40);
                remove_file(f->dir, 40, files[i]);
                memset(&p, 0x5a, sizeof(p));
                if (hp_proc_read(f->dir, 40, &p) != -ENOENT)
                        fail_msg("without %s", files[i]);
                assert_int_equal(p.pid, 0x5a5a5a5a); /* untouched */
        }
        assert_int_equal(hp_proc_read(f->dir, 41, &p), -ENOENT);
        assert_int_equal(hp_proc_read(f->dir, 0, &p), -EINVAL);
        assert_int_equal(hp_proc_read(f->dir, -1, &p), -EINVAL);
}

static void test_read_malformed(void **state)
{
        struct fixture *f = *state;
        struct hp_proc p;

        make_proc(f->dir, 50);
        /* a stat of another pid */
        write_stat(f->dir, 50, "python3", 1);
        write_str(f->dir, 50, "stat", "51 (python3) S 1 2 3\n");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        /* too few fields */
        write_str(f->dir, 50, "stat", "50 (python3) S 1 2 3\n");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        write_str(f->dir, 50, "stat", "50 python3\n");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        write_str(f->dir, 50, "stat", "");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        /* no Uid: line */
        write_stat(f->dir, 50, "python3", 1);
        write_str(f->dir, 50, "status", "Name:\tpython3\n");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        write_status(f->dir, 50, 0);
        assert_int_equal(hp_proc_read(f->dir, 50, &p), 0);
        assert_int_equal(p.uid, 0);
        write_str(f->dir, 50, "loginuid", "4294967296");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
        write_str(f->dir, 50, "loginuid", "abc");
        assert_int_equal(hp_proc_read(f->dir, 50, &p), -EBADMSG);
}

static void test_read_self(void **state)
{
        char name[17] = "";
        struct hp_proc p;

        (void)state;
        assert_int_equal(prctl(PR_GET_NAME, name), 0);
        assert_int_equal(hp_proc_read("/proc", getpid(), &p), 0);
        assert_int_equal(p.pid, getpid());
        assert_int_equal(p.uid, getuid());
        assert_string_equal(p.comm, name);
        assert_true(p.start_time > 0);
        /* under valgrind (`make lint`) the process is valgrind itself, whose
         * long command line may be cut before the test's name */
        assert_true(strstr(p.cmdline, "test-hostproc") || strstr(p.cmdline, "valgrind"));
        /* NULL means /proc */
        assert_int_equal(hp_proc_read(NULL, getpid(), &p), 0);
        assert_int_equal(p.uid, getuid());
}

/* ---- hp_proc_signal ---- */

static pid_t spawn_pauser(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static void test_signal(void **state)
{
        struct fixture *f = *state;
        struct hp_proc p;
        pid_t pid = spawn_pauser();
        int status;

        assert_int_equal(hp_proc_read("/proc", pid, &p), 0);

        /* another start time: a recycled pid is not hit */
        assert_int_equal(hp_proc_signal("/proc", pid, p.start_time + 1, SIGTERM), -ESRCH);
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
        assert_int_equal(kill(pid, 0), 0);
        /* a proc tree that does not show the pid */
        assert_int_equal(hp_proc_signal(f->dir, pid, p.start_time, SIGTERM), -ESRCH);
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
        /* signal 0 only checks */
        assert_int_equal(hp_proc_signal("/proc", pid, p.start_time, 0), 0);
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
        assert_int_equal(hp_proc_signal("/proc", pid, p.start_time, -1), -EINVAL);
        assert_int_equal(hp_proc_signal("/proc", 0, p.start_time, SIGTERM), -EINVAL);
        assert_int_equal(hp_proc_signal("/proc", -1, p.start_time, SIGTERM), -EINVAL);

        /* the right one */
        assert_int_equal(hp_proc_signal(NULL, pid, p.start_time, SIGTERM), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);

        /* reaped */
        assert_int_equal(hp_proc_signal("/proc", pid, p.start_time, SIGTERM), -ESRCH);
        assert_int_equal(hp_proc_read("/proc", pid, &p), -ENOENT);
}

/* In a child: pidfd_open(2) refused with err by a seccomp filter, as on a
 * kernel before 5.3 (ENOSYS) or under a filter that refuses unknown calls
 * (EPERM); hp_proc_signal then checks and uses kill(2). */
static int signal_without_pidfd(pid_t pid, uint64_t start_time, int err)
{
        struct sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
        pid_t child = fork();
        int status;

        assert_true(child >= 0);
        if (child == 0) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                        _exit(10);
                if (syscall(SYS_pidfd_open, pid, 0) >= 0 || errno != err)
                        _exit(11);
                if (hp_proc_signal("/proc", pid, start_time + 1, SIGTERM) != -ESRCH)
                        _exit(12);
                if (kill(pid, 0) < 0)
                        _exit(13);
                if (hp_proc_signal("/proc", pid, start_time, SIGTERM) != 0)
                        _exit(14);
                _exit(0);
        }
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Where pidfd_open is unknown anyway (valgrind 3.19 answers ENOSYS before any
 * seccomp filter: `make lint`), EPERM cannot be made; ENOSYS is what every
 * call gets. */
static bool have_pidfd_open(void)
{
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

        if (fd < 0)
                return errno != ENOSYS;
        close(fd);
        return true;
}

static void test_signal_fallback(void **state)
{
        static const int errs[] = {ENOSYS, EPERM};

        (void)state;
        for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
                pid_t pid;
                struct hp_proc p;
                int status;

                if (errs[i] == EPERM && !have_pidfd_open())
                        continue;
                pid = spawn_pauser();
                assert_int_equal(hp_proc_read("/proc", pid, &p), 0);
                assert_int_equal(signal_without_pidfd(pid, p.start_time, errs[i]), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), SIGTERM);
        }
}

/* ---- the tracker ---- */

static struct hp_seen mk(pid_t pid, uint64_t start, const char *slot, uint64_t mem)
{
        struct hp_seen s = {.pid = pid, .start_time = start, .memory = mem};

        snprintf(s.slot, sizeof(s.slot), "%s", slot);
        snprintf(s.user, sizeof(s.user), "user%d", (int)pid);
        snprintf(s.cmdline, sizeof(s.cmdline), "python3 job%d.py", (int)pid);
        return s;
}

static const struct hp_entry *find(const struct hp_tracker *t, pid_t pid, const char *slot)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].p.pid == pid && strcmp(t->e[i].p.slot, slot) == 0)
                        return &t->e[i];
        return NULL;
}

static void update(struct hp_tracker *t, const struct hp_seen *s, size_t n, int64_t now,
                   struct hp_changes *ch)
{
        assert_int_equal(hp_tracker_update(t, s, n, now, ch), 0);
        assert_true(t->n <= t->cap || (t->n == 0));
}

static void test_tracker_confirm(void **state)
{
        struct hp_tracker t = {0};
        struct hp_changes ch;
        struct hp_seen s[2] = {mk(10, 100, "0", 1 << 20), mk(11, 110, "1", 2 << 20)};

        (void)state;
        update(&t, s, 2, 1000, &ch);
        assert_int_equal(t.n, 2);
        assert_int_equal(ch.n_discovered, 0);
        assert_int_equal(ch.n_exited, 0);
        for (size_t i = 0; i < t.n; i++) {
                assert_int_equal(t.e[i].state, HP_PENDING);
                assert_int_equal(t.e[i].first_seen, 1000);
                assert_int_equal(t.e[i].last_seen, 1000);
                assert_int_equal(t.e[i].confirmed_at, 0);
        }
        hp_changes_release(&ch);

        update(&t, s, 2, 1010, &ch);
        assert_int_equal(t.n, 2);
        assert_int_equal(ch.n_discovered, 2);
        assert_int_equal(ch.n_exited, 0);
        for (size_t i = 0; i < ch.n_discovered; i++) {
                const struct hp_entry *e = &t.e[ch.discovered[i]];

                assert_true(ch.discovered[i] < t.n);
                assert_int_equal(e->state, HP_CONFIRMED);
                assert_int_equal(e->first_seen, 1000);
                assert_int_equal(e->confirmed_at, 1010);
                assert_int_equal(e->last_seen, 1010);
        }
        assert_int_not_equal(t.e[ch.discovered[0]].p.pid, t.e[ch.discovered[1]].p.pid);
        hp_changes_release(&ch);

        /* a third scan: nothing new */
        update(&t, s, 2, 1020, &ch);
        assert_int_equal(ch.n_discovered, 0);
        assert_int_equal(ch.n_exited, 0);
        assert_int_equal(find(&t, 10, "0")->confirmed_at, 1010);
        assert_int_equal(find(&t, 10, "0")->last_seen, 1020);
        hp_changes_release(&ch);
        hp_tracker_release(&t);
        assert_null(t.e);
        assert_int_equal(t.n, 0);
}

static void test_tracker_vanish(void **state)
{
        struct hp_tracker t = {0};
        struct hp_changes ch;
        struct hp_seen a = mk(20, 200, "0", 5), b = mk(21, 210, "0", 6);
        struct hp_seen both[2] = {a, b};

        (void)state;
        update(&t, &a, 1, 1, &ch);
        hp_changes_release(&ch);
        update(&t, both, 2, 2, &ch); /* a confirmed, b pending */
        assert_int_equal(ch.n_discovered, 1);
        assert_int_equal(t.e[ch.discovered[0]].p.pid, 20);
        hp_changes_release(&ch);

        /* b (pending) vanishes silently; a stays */
        update(&t, &a, 1, 3, &ch);
        assert_int_equal(t.n, 1);
        assert_int_equal(ch.n_exited, 0);
        assert_int_equal(ch.n_discovered, 0);
        hp_changes_release(&ch);

        /* b is back: pending again, from scratch */
        update(&t, both, 2, 4, &ch);
        assert_int_equal(find(&t, 21, "0")->state, HP_PENDING);
        assert_int_equal(find(&t, 21, "0")->first_seen, 4);
        assert_int_equal(ch.n_discovered, 0);
        hp_changes_release(&ch);

        /* a (confirmed) vanishes: exited, with its data */
        update(&t, &b, 1, 5, &ch);
        assert_int_equal(ch.n_exited, 1);
        assert_int_equal(ch.exited[0].p.pid, 20);
        assert_int_equal(ch.exited[0].p.start_time, 200);
        assert_int_equal(ch.exited[0].p.memory, 5);
        assert_string_equal(ch.exited[0].p.user, "user20");
        assert_string_equal(ch.exited[0].p.cmdline, "python3 job20.py");
        assert_int_equal(ch.exited[0].state, HP_CONFIRMED);
        assert_int_equal(ch.exited[0].first_seen, 1);
        assert_int_equal(ch.exited[0].confirmed_at, 2);
        assert_int_equal(ch.exited[0].last_seen, 4);
        assert_null(find(&t, 20, "0"));
        assert_int_equal(ch.n_discovered, 1);
        assert_int_equal(t.e[ch.discovered[0]].p.pid, 21);
        hp_changes_release(&ch);

        /* an empty scan exits every confirmed entry */
        update(&t, NULL, 0, 6, &ch);
        assert_int_equal(t.n, 0);
        assert_int_equal(ch.n_exited, 1);
        assert_int_equal(ch.exited[0].p.pid, 21);
        hp_changes_release(&ch);
        update(&t, NULL, 0, 7, &ch);
        assert_int_equal(ch.n_exited, 0);
        hp_changes_release(&ch);
        hp_tracker_release(&t);
}

static void test_tracker_identity(void **state)
{
        struct hp_tracker t = {0};
        struct hp_changes ch;
        struct hp_seen two[2] = {mk(30, 300, "0", 1), mk(30, 300, "1.3", 2)};
        struct hp_seen reused = mk(30, 301, "0", 3);

        (void)state;
        /* the same pid on two slots: two entries */
        update(&t, two, 2, 1, &ch);
        assert_int_equal(t.n, 2);
        hp_changes_release(&ch);
        update(&t, two, 2, 2, &ch);
        assert_int_equal(t.n, 2);
        assert_int_equal(ch.n_discovered, 2);
        assert_int_equal(find(&t, 30, "0")->p.memory, 1);
        assert_int_equal(find(&t, 30, "1.3")->p.memory, 2);
        hp_changes_release(&ch);

        /* one slot goes: that entry exits, the other stays */
        update(&t, &two[1], 1, 3, &ch);
        assert_int_equal(t.n, 1);
        assert_int_equal(ch.n_exited, 1);
        assert_string_equal(ch.exited[0].p.slot, "0");
        hp_changes_release(&ch);
        update(&t, two, 2, 4, &ch);
        hp_changes_release(&ch);
        update(&t, two, 2, 5, &ch);
        hp_changes_release(&ch);

        /* pid 30 reused on slot 0 with another start time: a new entry, the
         * old one exits */
        struct hp_seen scan[2] = {reused, two[1]};

        update(&t, scan, 2, 6, &ch);
        assert_int_equal(t.n, 2);
        assert_int_equal(ch.n_exited, 1);
        assert_int_equal(ch.exited[0].p.start_time, 300);
        assert_string_equal(ch.exited[0].p.slot, "0");
        assert_int_equal(ch.n_discovered, 0);
        assert_int_equal(find(&t, 30, "0")->p.start_time, 301);
        assert_int_equal(find(&t, 30, "0")->state, HP_PENDING);
        assert_int_equal(find(&t, 30, "1.3")->state, HP_CONFIRMED);
        hp_changes_release(&ch);

        /* the same process twice in one scan is one entry, the later wins */
        struct hp_seen dup[2] = {mk(40, 400, "2", 10), mk(40, 400, "2", 20)};

        update(&t, dup, 2, 7, &ch);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.e[0].p.memory, 20);
        assert_int_equal(ch.n_exited, 1); /* 30 on 1.3; 30/301 on 0 was pending */
        hp_changes_release(&ch);
        update(&t, dup, 2, 8, &ch);
        assert_int_equal(t.n, 1);
        assert_int_equal(ch.n_discovered, 1);
        assert_int_equal(ch.discovered[0], 0);
        hp_changes_release(&ch);
        hp_tracker_release(&t);
}

static void test_tracker_refresh(void **state)
{
        struct hp_tracker t = {0};
        struct hp_changes ch;
        struct hp_seen s = mk(50, 500, "3", 100);
        struct hp_entry *e;

        (void)state;
        update(&t, &s, 1, 10, &ch);
        hp_changes_release(&ch);
        update(&t, &s, 1, 20, &ch);
        hp_changes_release(&ch);

        /* the policy's bookkeeping */
        e = &t.e[0];
        e->warned_at = 21;
        e->sigterm_at = 22;
        e->sigkill_at = 23;

        s.memory = 999;
        snprintf(s.user, sizeof(s.user), "bob");
        snprintf(s.login_user, sizeof(s.login_user), "alice");
        snprintf(s.cmdline, sizeof(s.cmdline), "python3 other.py");
        snprintf(s.container_id, sizeof(s.container_id), "%s", ID);
        update(&t, &s, 1, 30, &ch);
        assert_int_equal(ch.n_discovered, 0);
        hp_changes_release(&ch);
        e = &t.e[0];
        assert_int_equal(e->p.memory, 999);
        assert_string_equal(e->p.user, "bob");
        assert_string_equal(e->p.login_user, "alice");
        assert_string_equal(e->p.cmdline, "python3 other.py");
        assert_string_equal(e->p.container_id, ID);
        assert_int_equal(e->first_seen, 10);
        assert_int_equal(e->confirmed_at, 20);
        assert_int_equal(e->last_seen, 30);
        assert_int_equal(e->warned_at, 21);
        assert_int_equal(e->sigterm_at, 22);
        assert_int_equal(e->sigkill_at, 23);

        /* kept when it exits too */
        update(&t, NULL, 0, 40, &ch);
        assert_int_equal(ch.n_exited, 1);
        assert_int_equal(ch.exited[0].sigkill_at, 23);
        assert_int_equal(ch.exited[0].p.memory, 999);
        hp_changes_release(&ch);
        hp_tracker_release(&t);
}

static void test_tracker_no_changes(void **state)
{
        struct hp_tracker t = {0};
        struct hp_seen s = mk(60, 600, "0", 1);

        (void)state;
        /* ch may be NULL */
        assert_int_equal(hp_tracker_update(&t, &s, 1, 1, NULL), 0);
        assert_int_equal(hp_tracker_update(&t, &s, 1, 2, NULL), 0);
        assert_int_equal(t.e[0].state, HP_CONFIRMED);
        assert_int_equal(hp_tracker_update(&t, NULL, 1, 3, NULL), -EINVAL);
        assert_int_equal(t.n, 1);
        hp_tracker_release(&t);
        hp_tracker_release(&t);
        hp_changes_release(NULL);
        hp_tracker_release(NULL);
}

static void test_tracker_many(void **state)
{
        enum { N = 1000 };
        struct hp_tracker t = {0};
        struct hp_changes ch;
        struct hp_seen *s = calloc(N, sizeof(*s));
        bool *hit = calloc(N, sizeof(*hit));
        char slot[HP_SLOT_MAX];

        (void)state;
        assert_non_null(s);
        assert_non_null(hit);
        for (int i = 0; i < N; i++) {
                snprintf(slot, sizeof(slot), "%d", i % 8);
                s[i] = mk(1000 + i / 2, 7, slot, (uint64_t)i);
        }
        update(&t, s, N, 1, &ch);
        assert_int_equal(t.n, N);
        assert_int_equal(ch.n_discovered, 0);
        hp_changes_release(&ch);

        update(&t, s, N, 2, &ch);
        assert_int_equal(t.n, N);
        assert_int_equal(ch.n_discovered, N);
        for (size_t i = 0; i < ch.n_discovered; i++) {
                size_t k = ch.discovered[i];

                assert_true(k < t.n);
                assert_false(hit[t.e[k].p.memory]);
                hit[t.e[k].p.memory] = true;
        }
        hp_changes_release(&ch);

        /* every other one goes */
        for (size_t i = 0; i < N / 2; i++)
                s[i] = s[2 * i];
        update(&t, s, N / 2, 3, &ch);
        assert_int_equal(t.n, N / 2);
        assert_int_equal(ch.n_exited, N / 2);
        assert_int_equal(ch.n_discovered, 0);
        for (size_t i = 0; i < ch.n_exited; i++)
                assert_int_equal(ch.exited[i].p.memory % 2, 1);
        hp_changes_release(&ch);
        hp_tracker_release(&t);
        free(s);
        free(hit);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cgroup_table),
            cmocka_unit_test(test_system_process),
            cmocka_unit_test_setup_teardown(test_read_container, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_host, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_cmdline, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_big_cgroup, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_missing, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_malformed, setup_dir, teardown_dir),
            cmocka_unit_test(test_read_self),
            cmocka_unit_test_setup_teardown(test_signal, setup_dir, teardown_dir),
            cmocka_unit_test(test_signal_fallback),
            cmocka_unit_test(test_tracker_confirm),
            cmocka_unit_test(test_tracker_vanish),
            cmocka_unit_test(test_tracker_identity),
            cmocka_unit_test(test_tracker_refresh),
            cmocka_unit_test(test_tracker_no_changes),
            cmocka_unit_test(test_tracker_many),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
