/* SPDX-License-Identifier: MIT */
/*
 * utmp-login.c - a fake login session for integration tests of the
 * terminal notices (lifecycle/notify): a pty whose slave belongs to USER
 * (mode 0620, raw so bytes arrive as written) and a USER_PROCESS record for
 * it appended to UTMP_PATH. Prints "ready <line>" (the slave path without
 * "/dev/") once set up, then copies everything written to the terminal into
 * OUTFILE as it arrives, until SIGTERM or SIGINT; then marks its utmp
 * record DEAD_PROCESS and exits 0.
 *
 *   utmp-login UTMP_PATH USER OUTFILE      (as root)
 *
 * Exit status: 0 after a signal, 1 on an error, 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>
#include <utmpx.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
        va_list ap;

        fputs("utmp-login: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

static void write_all(int fd, const void *buf, size_t n, const char *what)
{
        const char *p = buf;

        while (n > 0) {
                ssize_t w = write(fd, p, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        die("writing %s: %s", what, w < 0 ? strerror(errno) : "short write");
                p += w;
                n -= (size_t)w;
        }
}

static void now_tv(struct utmpx *u)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        u->ut_tv.tv_sec = (__typeof__(u->ut_tv.tv_sec))tv.tv_sec;
        u->ut_tv.tv_usec = (__typeof__(u->ut_tv.tv_usec))tv.tv_usec;
}

/* Copies what the master has to out; false once the master is unusable. */
static bool copy_master(int master, int out)
{
        char buf[4096];

        for (;;) {
                ssize_t n = read(master, buf, sizeof(buf));

                if (n > 0) {
                        write_all(out, buf, (size_t)n, "OUTFILE");
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                return false; /* EIO: no slave any more; 0: end */
        }
}

/* Marks the USER_PROCESS record of this pid on line DEAD_PROCESS. */
static void mark_dead(const char *utmp_path, const char *line)
{
        struct utmpx u;
        off_t off = 0;
        int fd;

        fd = open(utmp_path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                die("opening %s: %s", utmp_path, strerror(errno));
        for (;;) {
                ssize_t n = pread(fd, &u, sizeof(u), off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        die("reading %s: %s", utmp_path, strerror(errno));
                if ((size_t)n < sizeof(u))
                        die("no record of pid %d on %s in %s", (int)getpid(), line, utmp_path);
                if (u.ut_type == USER_PROCESS && u.ut_pid == getpid() &&
                    strnlen(u.ut_line, sizeof(u.ut_line)) == strlen(line) &&
                    memcmp(u.ut_line, line, strlen(line)) == 0)
                        break;
                off += (off_t)sizeof(u);
        }
        u.ut_type = DEAD_PROCESS;
        now_tv(&u);
        if (pwrite(fd, &u, sizeof(u), off) != (ssize_t)sizeof(u))
                die("writing %s: %s", utmp_path, strerror(errno));
        close(fd);
}

int main(int argc, char **argv)
{
        const char *utmp_path, *user, *outfile, *line;
        struct sigaction sa;
        sigset_t block, empty;
        struct passwd *pw;
        struct termios t;
        struct utmpx u;
        char slave_name[64];
        int master, slave, out, fd;
        bool master_ok = true;

        if (argc != 4) {
                fprintf(stderr, "usage: utmp-login UTMP_PATH USER OUTFILE\n");
                return 2;
        }
        utmp_path = argv[1];
        user = argv[2];
        outfile = argv[3];
        if (geteuid() != 0)
                die("must run as root");
        errno = 0;
        pw = getpwnam(user);
        if (!pw)
                die("no user '%s'%s%s", user, errno ? ": " : "", errno ? strerror(errno) : "");
        if (strlen(user) > sizeof(u.ut_user))
                die("user name '%s' longer than ut_user", user);
        umask(0); /* the modes below are the modes asked for */

        /* SIGTERM and SIGINT only interrupt ppoll(): no missed wake-up. */
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigemptyset(&empty);
        if (sigprocmask(SIG_BLOCK, &block, NULL) < 0)
                die("sigprocmask: %s", strerror(errno));
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
                die("sigaction: %s", strerror(errno));

        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                die("posix_openpt: %s", strerror(errno));
        if (grantpt(master) < 0 || unlockpt(master) < 0)
                die("grantpt/unlockpt: %s", strerror(errno));
        if (ptsname_r(master, slave_name, sizeof(slave_name)) != 0)
                die("ptsname_r: %s", strerror(errno));
        if (strncmp(slave_name, "/dev/", 5) != 0)
                die("unexpected pty name %s", slave_name);
        line = slave_name + 5;
        if (strlen(line) > sizeof(u.ut_line))
                die("pty name %s longer than ut_line", slave_name);

        /* Held open so the master never sees a hang-up; raw so OUTFILE gets
         * the bytes exactly as they were written (no "\n" -> "\r\n"). */
        slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                die("opening %s: %s", slave_name, strerror(errno));
        if (tcgetattr(slave, &t) < 0)
                die("tcgetattr: %s", strerror(errno));
        cfmakeraw(&t);
        if (tcsetattr(slave, TCSANOW, &t) < 0)
                die("tcsetattr: %s", strerror(errno));
        if (chown(slave_name, pw->pw_uid, (gid_t)-1) < 0 || chmod(slave_name, 0620) < 0)
                die("chown/chmod %s: %s", slave_name, strerror(errno));
        if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
                die("fcntl: %s", strerror(errno));

        out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (out < 0)
                die("opening %s: %s", outfile, strerror(errno));

        memset(&u, 0, sizeof(u));
        u.ut_type = USER_PROCESS;
        u.ut_pid = getpid();
        memcpy(u.ut_line, line, strlen(line));
        /* ut_id: the end of the line, as login(1) does */
        {
                size_t l = strlen(line), n = l < sizeof(u.ut_id) ? l : sizeof(u.ut_id);

                memcpy(u.ut_id, line + l - n, n);
        }
        memcpy(u.ut_user, user, strlen(user));
        now_tv(&u);
        fd = open(utmp_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0664);
        if (fd < 0)
                die("opening %s: %s", utmp_path, strerror(errno));
        write_all(fd, &u, sizeof(u), utmp_path);
        close(fd);

        printf("ready %s\n", line);
        if (fflush(stdout) != 0)
                die("writing stdout: %s", strerror(errno));

        while (!stop) {
                struct pollfd pfd = {.fd = master_ok ? master : -1, .events = POLLIN};
                int r = ppoll(&pfd, 1, NULL, &empty);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        die("ppoll: %s", strerror(errno));
                }
                if (master_ok && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
                        master_ok = copy_master(master, out);
        }
        if (master_ok)
                copy_master(master, out);
        if (close(out) < 0)
                die("closing %s: %s", outfile, strerror(errno));

        mark_dead(utmp_path, line);
        close(slave);
        close(master);
        return 0;
}
