/* test-notify.c - unit tests for lifecycle/notify: a fake utmp of struct
 * utmpx records naming real ptys this test opens. The message arrives once
 * per terminal on the master side, framed, with "\r\n" line ends and control
 * characters replaced; DEAD_PROCESS entries, other users, lines that climb
 * out of dev_root and terminals not owned by the uid are skipped; the
 * return is the number of terminals written; a missing utmp is -ENOENT. As
 * root the ptys are chowned to 65534 (and 65535 for the terminal that is
 * not the user's); otherwise they stay the test's own and the test that
 * needs a stranger's terminal is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>
#include <utmpx.h>

#include <cmocka.h>

#include "lifecycle/notify.h"

#define USER     "alice"
#define BIG_TEXT ((size_t)64 * 1024)

struct pty {
        int master;
        int slave;
        char line[32]; /* "pts/N", relative to /dev */
};

struct fixture {
        char dir[64];
        char utmp[128];
        uid_t uid;      /* owns pty a */
        uid_t stranger; /* a uid that is not uid */
        struct pty a, b;
};

static void pty_open(struct pty *p, uid_t owner)
{
        char name[64];
        struct termios t;

        p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(p->master >= 0);
        assert_int_equal(grantpt(p->master), 0);
        assert_int_equal(unlockpt(p->master), 0);
        assert_int_equal(ptsname_r(p->master, name, sizeof(name)), 0);
        assert_true(strncmp(name, "/dev/", 5) == 0);
        assert_true(strlen(name + 5) < sizeof(p->line));
        memcpy(p->line, name + 5, strlen(name + 5) + 1);
        p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(p->slave >= 0);
        /* raw: no "\n" -> "\r\n" of the line discipline, bytes as written */
        assert_int_equal(tcgetattr(p->slave, &t), 0);
        cfmakeraw(&t);
        assert_int_equal(tcsetattr(p->slave, TCSANOW, &t), 0);
        assert_int_equal(fcntl(p->master, F_SETFL, O_NONBLOCK), 0);
        if (geteuid() == 0)
                assert_int_equal(chown(name, owner, (gid_t)-1), 0);
}

static void pty_close(struct pty *p)
{
        if (p->master >= 0)
                close(p->master);
        if (p->slave >= 0)
                close(p->slave);
}

/* Everything the master side has, waiting up to ms for the first byte and
 * 100 ms for each next one. */
static size_t pty_drain(struct pty *p, char *buf, size_t size, int ms)
{
        size_t len = 0;

        for (;;) {
                struct pollfd pfd = {.fd = p->master, .events = POLLIN};
                ssize_t n;

                if (poll(&pfd, 1, len == 0 ? ms : 100) <= 0)
                        break;
                n = read(p->master, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == size - 1)
                        break;
        }
        buf[len] = '\0';
        return len;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/ds01-test-notify-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        snprintf(f->utmp, sizeof(f->utmp), "%s/utmp", f->dir);
        f->uid = geteuid() == 0 ? 65534 : getuid();
        f->stranger = f->uid + 1;
        f->a.master = f->a.slave = f->b.master = f->b.slave = -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[128];

        pty_close(&f->a);
        pty_close(&f->b);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

static struct utmpx rec(short type, const char *user, const char *line)
{
        struct utmpx u;
        struct timeval tv;

        memset(&u, 0, sizeof(u));
        u.ut_type = type;
        u.ut_pid = getpid();
        /* not NUL-terminated when full: copy at most the field's size */
        memcpy(u.ut_user, user, strnlen(user, sizeof(u.ut_user)));
        memcpy(u.ut_line, line, strnlen(line, sizeof(u.ut_line)));
        gettimeofday(&tv, NULL);
        u.ut_tv.tv_sec = (int32_t)tv.tv_sec;
        return u;
}

static void write_utmp(const char *path, const struct utmpx *recs, size_t n)
{
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        if (n > 0)
                assert_int_equal(fwrite(recs, sizeof(*recs), n, fp), n);
        assert_int_equal(fclose(fp), 0);
}

/* Checks buf is exactly one framed message for user with body. */
static void assert_framed(const char *buf, size_t len, const char *user, const char *body)
{
        char head[128];
        size_t hl;

        snprintf(head, sizeof(head), "\r\n\a*** ds01: message for %s at ", user);
        hl = strlen(head);
        assert_true(len > hl);
        assert_memory_equal(buf, head, hl);
        buf += hl;
        len -= hl;
        /* HH:MM */
        assert_true(len > 5);
        assert_true(buf[0] >= '0' && buf[0] <= '2' && buf[1] >= '0' && buf[1] <= '9');
        assert_true(buf[2] == ':');
        assert_true(buf[3] >= '0' && buf[3] <= '5' && buf[4] >= '0' && buf[4] <= '9');
        buf += 5;
        len -= 5;
        snprintf(head, sizeof(head), " UTC ***\r\n%s\r\n", body);
        assert_int_equal(len, strlen(head));
        assert_memory_equal(buf, head, len);
}

static void test_framed_once(void **state)
{
        struct fixture *f = *state;
        char buf[4096];
        size_t len;

        pty_open(&f->a, f->uid);
        const struct utmpx recs[] = {
            rec(LOGIN_PROCESS, "LOGIN", "tty1"),
            rec(USER_PROCESS, USER, f->a.line),
            rec(DEAD_PROCESS, USER, f->a.line),
            rec(USER_PROCESS, "bob", f->a.line),
            rec(USER_PROCESS, "alicex", f->a.line),
            rec(USER_PROCESS, USER, "../etc/x"),
            rec(USER_PROCESS, USER, ""),
            rec(USER_PROCESS, USER, f->a.line), /* the same terminal again */
        };
        write_utmp(f->utmp, recs, sizeof(recs) / sizeof(recs[0]));

        assert_int_equal(notify_terminals(f->utmp, "/dev", USER, f->uid,
                                          "your container stops\nin 10 minutes\x1b[31m\a\tok"),
                         1);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "your container stops\r\nin 10 minutes?[31m?\tok");
}

/* A terminal not owned by uid is skipped; the other one is written. */
static void test_not_owned_skipped(void **state)
{
        struct fixture *f = *state;
        char buf[4096];
        size_t len;

        if (geteuid() != 0) { /* only root can give a pty away */
                skip();
                return;
        }
        pty_open(&f->a, f->uid);
        pty_open(&f->b, f->stranger);
        const struct utmpx recs[] = {
            rec(USER_PROCESS, USER, f->b.line),
            rec(USER_PROCESS, USER, f->a.line),
        };
        write_utmp(f->utmp, recs, 2);

        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, "hi"), 1);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "hi");
        assert_int_equal(pty_drain(&f->b, buf, sizeof(buf), 200), 0);

        /* as the stranger: only b */
        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->stranger, "x"), 1);
        assert_int_equal(pty_drain(&f->a, buf, sizeof(buf), 200), 0);
        len = pty_drain(&f->b, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "x");
        /* nobody's */
        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid + 2, "x"), 0);
        assert_int_equal(pty_drain(&f->a, buf, sizeof(buf), 200), 0);
}

/* Two terminals, two writes; dev_root applies. */
static void test_two_terminals(void **state)
{
        struct fixture *f = *state;
        char buf[4096];
        size_t len;

        pty_open(&f->a, f->uid);
        pty_open(&f->b, f->uid);
        const struct utmpx recs[] = {
            rec(USER_PROCESS, USER, f->a.line),
            rec(USER_PROCESS, USER, f->b.line),
        };
        write_utmp(f->utmp, recs, 2);

        assert_int_equal(notify_terminals(f->utmp, "/dev", USER, f->uid, "both"), 2);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "both");
        len = pty_drain(&f->b, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "both");

        /* the wrong dev_root: nothing found */
        assert_int_equal(notify_terminals(f->utmp, f->dir, USER, f->uid, "x"), 0);
        assert_int_equal(pty_drain(&f->a, buf, sizeof(buf), 200), 0);
}

/* A user name that fills ut_user (no NUL in the record). */
static void test_full_user_field(void **state)
{
        struct fixture *f = *state;
        struct utmpx probe;
        char user[sizeof(probe.ut_user) + 1];
        char buf[4096];
        size_t len;

        memset(user, 'u', sizeof(user) - 1);
        user[sizeof(user) - 1] = '\0';
        pty_open(&f->a, f->uid);
        const struct utmpx recs[] = {rec(USER_PROCESS, user, f->a.line)};
        write_utmp(f->utmp, recs, 1);

        assert_int_equal(notify_terminals(f->utmp, NULL, user, f->uid, "long"), 1);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, user, "long");
        /* a prefix of it is another user */
        user[5] = '\0';
        assert_int_equal(notify_terminals(f->utmp, NULL, user, f->uid, "long"), 0);
}

/* Control characters: C0, DEL, C1 in UTF-8, bytes that are not UTF-8;
 * UTF-8 text and "\r\n" in the text are kept. */
static void test_sanitized(void **state)
{
        struct fixture *f = *state;
        char buf[4096];
        size_t len;

        pty_open(&f->a, f->uid);
        const struct utmpx recs[] = {rec(USER_PROCESS, USER, f->a.line)};
        write_utmp(f->utmp, recs, 1);

        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid,
                                          "a\r\nb\rc\x7f"
                                          "d\xc2\x9b"
                                          "2J\xff\xc3\xa9t\xc3\xa9\n"),
                         1);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "a\r\nb?c?d?2J?\xc3\xa9t\xc3\xa9\r\n");
}

static void test_errors(void **state)
{
        struct fixture *f = *state;
        char *big;

        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, "x"), -ENOENT);
        write_utmp(f->utmp, NULL, 0);
        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, "x"), 0);
        assert_int_equal(notify_terminals(f->utmp, NULL, "", f->uid, "x"), -EINVAL);
        assert_int_equal(notify_terminals(f->utmp, NULL, NULL, f->uid, "x"), -EINVAL);
        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, NULL), -EINVAL);
        big = malloc(BIG_TEXT);
        assert_non_null(big);
        memset(big, 'x', BIG_TEXT - 1);
        big[BIG_TEXT - 1] = '\0';
        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, big), -E2BIG);
        free(big);
        /* a folder is not a utmp file */
        assert_int_equal(notify_terminals(f->dir, NULL, USER, f->uid, "x"), -EISDIR);
}

/* A truncated last record is ignored; the whole ones before it count. */
static void test_truncated_utmp(void **state)
{
        struct fixture *f = *state;
        char buf[4096];
        FILE *fp;
        size_t len;

        pty_open(&f->a, f->uid);
        const struct utmpx recs[] = {rec(USER_PROCESS, USER, f->a.line),
                                     rec(USER_PROCESS, USER, f->a.line)};
        fp = fopen(f->utmp, "we");
        assert_non_null(fp);
        assert_int_equal(fwrite(&recs[0], sizeof(recs[0]), 1, fp), 1);
        assert_int_equal(fwrite(&recs[1], sizeof(recs[1]) / 2, 1, fp), 1);
        assert_int_equal(fclose(fp), 0);

        assert_int_equal(notify_terminals(f->utmp, NULL, USER, f->uid, "t"), 1);
        len = pty_drain(&f->a, buf, sizeof(buf), 2000);
        assert_framed(buf, len, USER, "t");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_framed_once, setup, teardown),
            cmocka_unit_test_setup_teardown(test_not_owned_skipped, setup, teardown),
            cmocka_unit_test_setup_teardown(test_two_terminals, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full_user_field, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sanitized, setup, teardown),
            cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_truncated_utmp, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
