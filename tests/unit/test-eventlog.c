/* test-eventlog.c - unit tests for store/eventlog: lines appended whole, the
 * file created 0640, reopened after logrotate renames or deletes it (and left
 * alone after copytruncate), failures counted and not retried, a line cut
 * short by a full disk truncated away again, with writes resuming afterwards (simulated with
 * RLIMIT_FSIZE and SIGXFSZ ignored, which makes write(2) fail with EFBIG or come back short, no
 * mount needed), paths that are not regular files refused without blocking, and several threads
 * appending at once. Each test works in its own temporary folder. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/eventlog.h"

struct fixture {
        char dir[64];
        char path[128];  /* <dir>/events.jsonl */
        char moved[128]; /* <dir>/events.jsonl.1 */
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/ds01-test-eventlog-XXXXXX");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        snprintf(f->path, sizeof(f->path), "%s/events.jsonl", f->dir);
        snprintf(f->moved, sizeof(f->moved), "%s/events.jsonl.1", f->dir);
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

/* The whole file as a string (caller frees); NULL when absent. */
static char *slurp(const char *path)
{
        FILE *fp = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;
        long size;

        if (!fp)
                return NULL;
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        size = ftell(fp);
        assert_true(size >= 0);
        rewind(fp);
        buf = malloc((size_t)size + 1);
        assert_non_null(buf);
        n = fread(buf, 1, (size_t)size, fp);
        assert_int_equal(n, (size_t)size);
        buf[n] = '\0';
        fclose(fp);
        return buf;
}

static void assert_file(const char *path, const char *expected)
{
        char *s = slurp(path);

        if (!s)
                fail_msg("%s: missing", path);
        if (strcmp(s, expected) != 0)
                fail_msg("%s:\n%s\nexpected:\n%s", path, s, expected);
        free(s);
}

static int append_str(struct eventlog *l, const char *s)
{
        return eventlog_append(l, s, strlen(s));
}

static off_t file_size(const char *path)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_size;
}

static void set_fsize_limit(rlim_t soft)
{
        struct rlimit rl;

        assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
        rl.rlim_cur = soft;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void test_append(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = NULL;
        struct stat st;

        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_non_null(l);
        assert_int_equal(stat(f->path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_size, 0);

        assert_int_equal(append_str(l, "{\"a\":1}"), 0);
        assert_int_equal(append_str(l, "{\"b\":2}"), 0);
        assert_int_equal(eventlog_append(l, "{\"c\":3}xxx", 7), 0); /* len, not strlen */
        assert_int_equal(eventlog_append(l, "", 0), 0);             /* an empty line */
        assert_file(f->path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n\n");

        /* A newline inside would split the record: refused, not counted. */
        assert_int_equal(append_str(l, "{\"d\":\n4}"), -EINVAL);
        assert_int_equal(eventlog_append(l, NULL, 1), -EINVAL);
        assert_int_equal(eventlog_append(NULL, "x", 1), -EINVAL);
        assert_int_equal(eventlog_errors(l), 0);
        assert_int_equal(eventlog_last_error(l), 0);
        assert_file(f->path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n\n");
        assert_null(eventlog_close(l));

        /* Reopening appends to what is there; the mode an admin set stays. */
        assert_int_equal(chmod(f->path, 0664), 0);
        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_int_equal(append_str(l, "{\"e\":5}"), 0);
        assert_file(f->path, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n\n{\"e\":5}\n");
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0664);
        assert_null(eventlog_close(l));

        assert_null(eventlog_close(NULL));
        assert_int_equal(eventlog_errors(NULL), 0);
        assert_int_equal(eventlog_last_error(NULL), 0);
}

static void test_long_line(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = NULL;
        size_t n = 100000;
        char *line = malloc(n + 2), *s;

        assert_non_null(line);
        memset(line, 'x', n);
        line[n] = '\0';
        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_int_equal(eventlog_append(l, line, n), 0);
        line[n] = '\n';
        line[n + 1] = '\0';
        s = slurp(f->path);
        assert_non_null(s);
        assert_int_equal(strlen(s), n + 1);
        assert_memory_equal(s, line, n + 1);
        free(s);
        free(line);
        eventlog_close(l);
}

static void test_open_errors(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = (struct eventlog *)&l; /* must stay as it is */
        struct eventlog *const sentinel = l;
        char p[160];
        int rd;

        snprintf(p, sizeof(p), "%s/no-such-dir/events.jsonl", f->dir);
        assert_int_equal(eventlog_open(p, &l), -ENOENT);
        assert_ptr_equal(l, sentinel);

        assert_int_equal(eventlog_open(f->dir, &l), -EISDIR);
        assert_ptr_equal(l, sentinel);

        assert_int_equal(eventlog_open("", &l), -EINVAL);
        assert_int_equal(eventlog_open(NULL, &l), -EINVAL);
        assert_int_equal(eventlog_open(f->path, NULL), -EINVAL);

        /* A symlink is not followed, even to a writable file. */
        snprintf(p, sizeof(p), "%s/target", f->dir);
        assert_int_equal(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        assert_int_equal(symlink(p, f->path), 0);
        assert_int_equal(eventlog_open(f->path, &l), -ELOOP);
        assert_ptr_equal(l, sentinel);
        assert_int_equal(unlink(f->path), 0);

        /* A FIFO without a reader: refused at once, no blocking in open. */
        assert_int_equal(mkfifo(f->path, 0600), 0);
        assert_int_equal(eventlog_open(f->path, &l), -ENXIO);
        /* With a reader it opens, but it is not a regular file. */
        rd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(rd >= 0);
        assert_int_equal(eventlog_open(f->path, &l), -EINVAL);
        assert_ptr_equal(l, sentinel);
        close(rd);
        assert_int_equal(unlink(f->path), 0);
}

static void test_rotate(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = NULL;

        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_int_equal(append_str(l, "one"), 0);
        assert_int_equal(append_str(l, "two"), 0);

        /* logrotate (create mode): renamed away; the next line starts a new
         * file and the old lines stay in the moved one. */
        assert_int_equal(rename(f->path, f->moved), 0);
        assert_int_equal(append_str(l, "three"), 0);
        assert_file(f->moved, "one\ntwo\n");
        assert_file(f->path, "three\n");

        /* Deleted: recreated. */
        assert_int_equal(unlink(f->path), 0);
        assert_int_equal(append_str(l, "four"), 0);
        assert_file(f->path, "four\n");

        /* Replaced by someone else's new file: followed. */
        assert_int_equal(rename(f->path, f->moved), 0);
        assert_int_equal(close(open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0640)), 0);
        assert_int_equal(append_str(l, "five"), 0);
        assert_file(f->path, "five\n");
        assert_file(f->moved, "four\n");

        /* copytruncate: the same file, emptied; O_APPEND writes at the new
         * end, no hole of zeros. */
        assert_int_equal(truncate(f->path, 0), 0);
        assert_int_equal(append_str(l, "six"), 0);
        assert_file(f->path, "six\n");

        assert_int_equal(eventlog_errors(l), 0);
        eventlog_close(l);
}

static void test_reopen_errors(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = NULL;
        char p[160];

        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_int_equal(append_str(l, "one"), 0);

        /* Moved away and a folder put in its place: counted, each time. */
        assert_int_equal(rename(f->path, f->moved), 0);
        assert_int_equal(mkdir(f->path, 0700), 0);
        assert_int_equal(append_str(l, "lost"), -EISDIR);
        assert_int_equal(append_str(l, "lost"), -EISDIR);
        assert_int_equal(eventlog_errors(l), 2);
        assert_int_equal(eventlog_last_error(l), EISDIR);
        assert_int_equal(rmdir(f->path), 0);

        /* A symlink planted there is not followed. */
        snprintf(p, sizeof(p), "%s/target", f->dir);
        assert_int_equal(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        assert_int_equal(symlink(p, f->path), 0);
        assert_int_equal(append_str(l, "lost"), -ELOOP);
        assert_int_equal(eventlog_errors(l), 3);
        assert_int_equal(eventlog_last_error(l), ELOOP);
        assert_file(p, "");
        assert_int_equal(unlink(f->path), 0);

        /* A FIFO nobody reads: refused at once. */
        assert_int_equal(mkfifo(f->path, 0600), 0);
        assert_int_equal(append_str(l, "lost"), -ENXIO);
        assert_int_equal(eventlog_errors(l), 4);
        assert_int_equal(unlink(f->path), 0);

        /* Gone, with its folder: nothing to create it in. */
        snprintf(p, sizeof(p), "%s/sub", f->dir);
        assert_int_equal(mkdir(p, 0700), 0);
        {
                struct eventlog *l2 = NULL;
                char q[200];

                snprintf(q, sizeof(q), "%s/events.jsonl", p);
                assert_int_equal(eventlog_open(q, &l2), 0);
                assert_int_equal(unlink(q), 0);
                assert_int_equal(rmdir(p), 0);
                assert_int_equal(append_str(l2, "lost"), -ENOENT);
                assert_int_equal(eventlog_errors(l2), 1);
                assert_int_equal(eventlog_last_error(l2), ENOENT);
                /* Back: writes resume. */
                assert_int_equal(mkdir(p, 0700), 0);
                assert_int_equal(append_str(l2, "back"), 0);
                assert_file(q, "back\n");
                assert_int_equal(eventlog_errors(l2), 1);
                eventlog_close(l2);
        }

        /* The path usable again: writes resume in a new file. */
        assert_int_equal(append_str(l, "two"), 0);
        assert_file(f->path, "two\n");
        assert_file(f->moved, "one\n");
        assert_int_equal(eventlog_errors(l), 4);
        eventlog_close(l);
}

/* A full disk, simulated: past RLIMIT_FSIZE write(2) fails with EFBIG (with
 * SIGXFSZ ignored), and comes back short when only part of the line fits. */
static void test_full(void **state)
{
        struct fixture *f = *state;
        struct eventlog *l = NULL;
        struct rlimit saved;
        void (*old)(int);
        off_t size;

        old = signal(SIGXFSZ, SIG_IGN);
        assert_true(old != SIG_ERR);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);

        assert_int_equal(eventlog_open(f->path, &l), 0);
        assert_int_equal(append_str(l, "{\"n\":1}"), 0);
        assert_int_equal(append_str(l, "{\"n\":2}"), 0);
        size = file_size(f->path);

        /* No room at all: each append fails at once, counted, not retried. */
        set_fsize_limit((rlim_t)size);
        assert_int_equal(append_str(l, "{\"n\":3}"), -EFBIG);
        assert_int_equal(eventlog_errors(l), 1);
        assert_int_equal(eventlog_last_error(l), EFBIG);
        assert_int_equal(append_str(l, "{\"n\":4}"), -EFBIG);
        assert_int_equal(eventlog_errors(l), 2);
        assert_int_equal(file_size(f->path), size);

        /* Room again: the next line goes out whole. */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(append_str(l, "{\"n\":5}"), 0);
        assert_file(f->path, "{\"n\":1}\n{\"n\":2}\n{\"n\":5}\n");
        assert_int_equal(eventlog_errors(l), 2);

        /* Room for part of a line: a short write, counted as EIO, and the
         * part written cut off again: the file holds whole lines only. */
        size = file_size(f->path);
        set_fsize_limit((rlim_t)size + 4);
        assert_int_equal(append_str(l, "{\"n\":6}"), -EIO);
        assert_int_equal(eventlog_errors(l), 3);
        assert_int_equal(eventlog_last_error(l), EIO);
        assert_int_equal(file_size(f->path), size);
        /* Still full: cut short and cut off again. */
        assert_int_equal(append_str(l, "{\"n\":7}"), -EIO);
        assert_int_equal(eventlog_errors(l), 4);
        assert_int_equal(file_size(f->path), size);

        /* Room again: the next records are whole, with no trace of 6. */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(append_str(l, "{\"n\":8}"), 0);
        assert_int_equal(append_str(l, "{\"n\":9}"), 0);
        assert_file(f->path, "{\"n\":1}\n{\"n\":2}\n{\"n\":5}\n{\"n\":8}\n{\"n\":9}\n");

        /* A short write into an empty file, and one that leaves out only
         * the newline: both cut, the file stays empty. */
        assert_int_equal(truncate(f->path, 0), 0);
        set_fsize_limit(3);
        assert_int_equal(append_str(l, "abcdef"), -EIO);
        assert_int_equal(file_size(f->path), 0);
        assert_int_equal(append_str(l, "xyz"), -EIO);
        assert_int_equal(file_size(f->path), 0);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(append_str(l, "ok"), 0);
        assert_file(f->path, "ok\n");

        /* A line longer than the stack buffer, cut short: compared and cut
         * in pieces. */
        {
                size_t n = 10000;
                char *line = malloc(n + 1);
                assert_non_null(line);
                for (size_t i = 0; i < n; i++)
                        line[i] = (char)('a' + i % 26);
                line[n] = 0;
                set_fsize_limit((rlim_t)file_size(f->path) + 9000);
                assert_int_equal(append_str(l, line), -EIO);
                assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
                free(line);
        }
        assert_file(f->path, "ok\n");

        /* After a cut, a rotated file starts clean too. */
        set_fsize_limit((rlim_t)file_size(f->path) + 2);
        assert_int_equal(append_str(l, "partial"), -EIO);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        assert_int_equal(rename(f->path, f->moved), 0);
        assert_int_equal(append_str(l, "fresh"), 0);
        assert_file(f->path, "fresh\n");
        assert_file(f->moved, "ok\n");

        eventlog_close(l);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
        signal(SIGXFSZ, old);
}

#define THREADS          4
#define LINES_PER_THREAD 500

struct writer {
        struct eventlog *l;
        int id;
};

static void *writer_main(void *p)
{
        struct writer *w = p;
        char line[200];

        for (int i = 0; i < LINES_PER_THREAD; i++) {
                int n = snprintf(line, sizeof(line), "{\"thread\":%d,\"i\":%d,\"pad\":\"%0*d\"}",
                                 w->id, i, (i * 37) % 120, 0);

                if (eventlog_append(w->l, line, (size_t)n) != 0)
                        return (void *)1;
        }
        return NULL;
}

/* Counts the lines of one file into seen[thread][i]; every line must be whole. */
static void count_lines(const char *path, unsigned char seen[THREADS][LINES_PER_THREAD])
{
        char *s = slurp(path), *p, *nl;

        if (!s)
                return;
        for (p = s; *p; p = nl + 1) {
                int t, i, k = 0;

                nl = strchr(p, '\n');
                assert_non_null(nl);
                *nl = '\0';
                if (sscanf(p, "{\"thread\":%d,\"i\":%d,\"pad\":\"%*[0]\"}%n", &t, &i, &k) != 2 ||
                    k == 0 || p[k] != '\0')
                        fail_msg("%s: broken line '%s'", path, p);
                assert_true(t >= 0 && t < THREADS && i >= 0 && i < LINES_PER_THREAD);
                seen[t][i]++;
        }
        free(s);
}

static void test_threads(void **state)
{
        struct fixture *f = *state;
        static unsigned char seen[THREADS][LINES_PER_THREAD];
        struct writer w[THREADS];
        pthread_t th[THREADS];
        struct eventlog *l = NULL;

        memset(seen, 0, sizeof(seen));
        assert_int_equal(eventlog_open(f->path, &l), 0);
        for (int t = 0; t < THREADS; t++) {
                w[t] = (struct writer){.l = l, .id = t};
                assert_int_equal(pthread_create(&th[t], NULL, writer_main, &w[t]), 0);
        }
        /* A rotation while they write. */
        usleep(1000);
        assert_int_equal(rename(f->path, f->moved), 0);
        for (int t = 0; t < THREADS; t++) {
                void *ret;

                assert_int_equal(pthread_join(th[t], &ret), 0);
                assert_null(ret);
        }
        assert_int_equal(eventlog_errors(l), 0);
        eventlog_close(l);

        count_lines(f->moved, seen);
        count_lines(f->path, seen);
        for (int t = 0; t < THREADS; t++)
                for (int i = 0; i < LINES_PER_THREAD; i++)
                        if (seen[t][i] != 1)
                                fail_msg("thread %d line %d seen %d times", t, i, seen[t][i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_append, setup, teardown),
            cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
            cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reopen_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_full, setup, teardown),
            cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
