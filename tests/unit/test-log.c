/* test-log.c - unit tests for util/log: stderr is redirected to a temporary
 * file (dup2) and the lines read back. Covers use before log_setup(), the
 * environment variables, level names, the text and JSON line formats with
 * their escaping, errno-carrying messages and return values, that messages
 * below the level are never formatted, truncation, errno preservation, and
 * whole lines from concurrent threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

static int saved_stderr = -1;
static int capture_fd = -1;
static char captured[1 << 18];

static int capture_setup(void **state)
{
        char path[] = "/tmp/test-log-XXXXXX";

        capture_fd = mkostemp(path, O_CLOEXEC);
        if (capture_fd < 0)
                return -1;
        (void)unlink(path);
        saved_stderr = dup(STDERR_FILENO);
        if (saved_stderr < 0 || dup2(capture_fd, STDERR_FILENO) < 0)
                return -1;
        return 0;
}

static int capture_flush(void **state);

static int capture_teardown(void **state)
{
        (void)capture_flush(state);
        if (saved_stderr >= 0) {
                (void)dup2(saved_stderr, STDERR_FILENO);
                (void)close(saved_stderr);
                saved_stderr = -1;
        }
        if (capture_fd >= 0) {
                (void)close(capture_fd);
                capture_fd = -1;
        }
        return 0;
}

/* Around each test: whatever is left in the capture file (such as cmocka's
 * report of a failed assertion, which skips the teardown) goes to the real
 * stderr. */
static int capture_flush(void **state)
{
        char buf[4096];
        ssize_t k;

        if (lseek(capture_fd, 0, SEEK_SET) != 0)
                return -1;
        while ((k = read(capture_fd, buf, sizeof(buf))) > 0)
                if (write(saved_stderr, buf, (size_t)k) != k)
                        break;
        if (ftruncate(capture_fd, 0) < 0 || lseek(capture_fd, 0, SEEK_SET) != 0)
                return -1;
        return 0;
}

/* Everything written to stderr since the last call; the file is emptied. */
static const char *capture_read(void)
{
        ssize_t k;
        size_t len = 0;

        assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
        while ((k = read(capture_fd, captured + len, sizeof(captured) - 1 - len)) > 0)
                len += (size_t)k;
        assert_true(k == 0);
        assert_true(len < sizeof(captured) - 1); /* all of it */
        captured[len] = '\0';
        assert_int_equal(ftruncate(capture_fd, 0), 0);
        assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
        return captured;
}

/* The expected text line; two calls may be used at once. */
static const char *text_line(const char *prog, const char *level, const char *msg)
{
        static char bufs[2][4096];
        static unsigned next;
        char *buf = bufs[next++ % 2];

        (void)snprintf(buf, sizeof(bufs[0]), "%s[%ld]: %s: %s\n", prog, (long)getpid(), level, msg);
        return buf;
}

static int calls;

static const char *counted(void)
{
        calls++;
        return "counted";
}

/* Runs first: logging works before log_setup(). */
static void test_before_setup(void **state)
{
        assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
        log_info("hello %d", 5);
        assert_string_equal(capture_read(), text_line("ds01", "info", "hello 5"));
        log_debug("not shown");
        assert_string_equal(capture_read(), "");
}

static void test_level_names(void **state)
{
        static const struct {
                const char *s;
                int level;
        } cases[] = {
            {"debug", LOG_LEVEL_DEBUG},
            {"info", LOG_LEVEL_INFO},
            {"notice", LOG_LEVEL_NOTICE},
            {"warning", LOG_LEVEL_WARNING},
            {"error", LOG_LEVEL_ERROR},
            {"DEBUG", LOG_LEVEL_DEBUG},
            {"Warning", LOG_LEVEL_WARNING},
            {"warn", -EINVAL},
            {"err", -EINVAL},
            {"", -EINVAL},
            {" info", -EINVAL},
            {"infos", -EINVAL},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(log_level_from_string(cases[i].s), cases[i].level);
        assert_int_equal(log_level_from_string(NULL), -EINVAL);

        assert_string_equal(log_level_to_string(LOG_LEVEL_DEBUG), "debug");
        assert_string_equal(log_level_to_string(LOG_LEVEL_INFO), "info");
        assert_string_equal(log_level_to_string(LOG_LEVEL_NOTICE), "notice");
        assert_string_equal(log_level_to_string(LOG_LEVEL_WARNING), "warning");
        assert_string_equal(log_level_to_string(LOG_LEVEL_ERROR), "error");
        assert_null(log_level_to_string((enum log_level) - 1));
        assert_null(log_level_to_string((enum log_level)5));
}

static void test_setup_env(void **state)
{
        assert_int_equal(unsetenv("DS01_LOG_LEVEL"), 0);
        assert_int_equal(unsetenv("DS01_LOG_FORMAT"), 0);
        assert_int_equal(log_setup("/usr/sbin/ds01d"), 0);
        assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
        log_notice("started");
        assert_string_equal(capture_read(), text_line("ds01d", "notice", "started"));

        assert_int_equal(setenv("DS01_LOG_LEVEL", "debug", 1), 0);
        assert_int_equal(log_setup("ds01"), 0);
        assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
        log_debug("d");
        assert_string_equal(capture_read(), text_line("ds01", "debug", "d"));

        assert_int_equal(setenv("DS01_LOG_LEVEL", "ERROR", 1), 0);
        assert_int_equal(log_setup("ds01"), 0);
        assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);

        /* Unknown values: -EINVAL and the defaults. */
        assert_int_equal(setenv("DS01_LOG_LEVEL", "chatty", 1), 0);
        assert_int_equal(log_setup("ds01"), -EINVAL);
        assert_int_equal(log_get_level(), LOG_LEVEL_INFO);
        assert_int_equal(unsetenv("DS01_LOG_LEVEL"), 0);

        assert_int_equal(setenv("DS01_LOG_FORMAT", "xml", 1), 0);
        assert_int_equal(log_setup("ds01"), -EINVAL);
        log_info("x");
        assert_string_equal(capture_read(), text_line("ds01", "info", "x"));

        assert_int_equal(setenv("DS01_LOG_FORMAT", "json", 1), 0);
        assert_int_equal(log_setup("ds01"), 0);
        log_info("x");
        assert_true(capture_read()[0] == '{');

        assert_int_equal(setenv("DS01_LOG_FORMAT", "text", 1), 0);
        assert_int_equal(log_setup("ds01"), 0);
        log_info("x");
        assert_string_equal(capture_read(), text_line("ds01", "info", "x"));
        assert_int_equal(unsetenv("DS01_LOG_FORMAT"), 0);

        /* NULL or "" keeps the name. */
        assert_int_equal(log_setup(NULL), 0);
        log_info("y");
        assert_string_equal(capture_read(), text_line("ds01", "info", "y"));
        assert_int_equal(log_setup("ds01d"), 0);
}

static void test_text(void **state)
{
        int r;

        log_set_format(LOG_FORMAT_TEXT);
        log_set_level(LOG_LEVEL_INFO);

        log_warning("config reload refused: %s user=%s", "bad quota", "alice");
        assert_string_equal(
            capture_read(),
            text_line("ds01d", "warning", "config reload refused: bad quota user=alice"));

        r = log_error_errno(ENOENT, "cannot open '%s'", "/etc/ds01/x.yaml");
        assert_int_equal(r, -ENOENT);
        assert_string_equal(capture_read(),
                            text_line("ds01d", "error",
                                      "cannot open '/etc/ds01/x.yaml': No such file or directory"));

        r = log_warning_errno(-EBUSY, "slot taken");
        assert_int_equal(r, -EBUSY);
        assert_string_equal(capture_read(),
                            text_line("ds01d", "warning", "slot taken: Device or resource busy"));

        /* Control characters cannot start a new line. */
        log_info("a\nb\rc\x01"
                 "d\te\x7f"
                 "f");
        assert_string_equal(capture_read(),
                            text_line("ds01d", "info", "a\\x0ab\\x0dc\\x01d\te\\x7ff"));

        /* A literal '%' through the format. */
        log_info("100%% done");
        assert_string_equal(capture_read(), text_line("ds01d", "info", "100% done"));
}

static void test_return_values(void **state)
{
        log_set_level(LOG_LEVEL_INFO);
        assert_int_equal(log_internal(LOG_LEVEL_INFO, 0, __FILE__, __LINE__, "m"), 0);
        assert_int_equal(log_internal(LOG_LEVEL_INFO, 5, __FILE__, __LINE__, "m"), -5);
        assert_int_equal(log_internal(LOG_LEVEL_INFO, -5, __FILE__, __LINE__, "m"), -5);
        /* Below the level the macros still evaluate to -abs(r). */
        assert_int_equal(log_debug_errno(EIO, "hidden"), -EIO);
        assert_int_equal(log_debug_errno(-EIO, "hidden"), -EIO);
        assert_int_equal(log_debug_errno(0, "hidden"), 0);
        (void)capture_read();
}

static void test_not_formatted(void **state)
{
        log_set_format(LOG_FORMAT_TEXT);
        log_set_level(LOG_LEVEL_WARNING);
        calls = 0;

        log_debug("%s", counted());
        log_info("%s", counted());
        log_notice("%s", counted());
        assert_int_equal(log_debug_errno(EIO, "%s", counted()), -EIO);
        assert_int_equal(calls, 0);
        assert_string_equal(capture_read(), "");

        log_warning("%s", counted());
        assert_int_equal(calls, 1);
        assert_int_equal(log_error_errno(EIO, "%s", counted()), -EIO);
        assert_int_equal(calls, 2);
        {
                char expect[256];

                (void)snprintf(expect, sizeof(expect), "%s%s",
                               text_line("ds01d", "warning", "counted"),
                               text_line("ds01d", "error", "counted: Input/output error"));
                assert_string_equal(capture_read(), expect);
        }

        log_set_level(LOG_LEVEL_ERROR);
        log_warning("%s", counted());
        assert_int_equal(calls, 2);
        log_set_level(LOG_LEVEL_DEBUG);
        log_debug("%s", counted());
        assert_int_equal(calls, 3);
        (void)capture_read();
        log_set_level(LOG_LEVEL_INFO);
}

/* Checks the "ts" field and returns what follows it. */
static const char *check_json_ts(const char *line)
{
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";

        assert_non_null(line);
        assert_memory_equal(line, "{\"ts\":\"", 7);
        line += 7;
        for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
                if (pattern[i] == 'd')
                        assert_true(line[i] >= '0' && line[i] <= '9');
                else
                        assert_int_equal(line[i], pattern[i]);
        }
        return line + sizeof(pattern) - 1;
}

static void test_json(void **state)
{
        char expect[1024];
        const char *out;

        log_set_format(LOG_FORMAT_JSON);
        log_set_level(LOG_LEVEL_INFO);

        log_warning("config reload refused: user=%s", "alice");
        out = check_json_ts(capture_read());
        (void)snprintf(expect, sizeof(expect),
                       "\",\"level\":\"warning\",\"prog\":\"ds01d\",\"pid\":%ld,"
                       "\"msg\":\"config reload refused: user=alice\"}\n",
                       (long)getpid());
        assert_string_equal(out, expect);

        /* Escapes: quote, backslash, control characters; UTF-8 kept; bad
         * bytes replaced. */
        log_info("q\" b\\ n\n r\r t\t c\x01 e\x1b d\x7f u\xc3\xa9 x\xff y\xe2\x82 z");
        out = check_json_ts(capture_read());
        (void)snprintf(expect, sizeof(expect),
                       "\",\"level\":\"info\",\"prog\":\"ds01d\",\"pid\":%ld,"
                       "\"msg\":\"q\\\" b\\\\ n\\n r\\r t\\t c\\u0001 e\\u001b d\\u007f u\xc3\xa9"
                       " x\\ufffd y\\ufffd\\ufffd z\"}\n",
                       (long)getpid());
        assert_string_equal(out, expect);

        /* With an error: appended to msg, and an errno field. */
        assert_int_equal(log_error_errno(EIO, "write failed"), -EIO);
        out = check_json_ts(capture_read());
        (void)snprintf(expect, sizeof(expect),
                       "\",\"level\":\"error\",\"prog\":\"ds01d\",\"pid\":%ld,"
                       "\"msg\":\"write failed: Input/output error\",\"errno\":5}\n",
                       (long)getpid());
        assert_string_equal(out, expect);

        /* The program name is escaped too. */
        assert_int_equal(log_setup("we\"ird"), 0);
        log_set_format(LOG_FORMAT_JSON);
        log_info("m");
        out = check_json_ts(capture_read());
        assert_non_null(strstr(out, "\"prog\":\"we\\\"ird\""));
        assert_int_equal(log_setup("ds01d"), 0);
        log_set_format(LOG_FORMAT_TEXT);
}

static void test_long_message(void **state)
{
        static char big[10000];
        const char *out;
        size_t l;

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';

        log_set_format(LOG_FORMAT_TEXT);
        log_info("%s", big);
        out = capture_read();
        l = strlen(out);
        assert_true(l > 1000 && l < sizeof(big));
        assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)(l - 1)); /* one line */
        assert_memory_equal(out + l - 5, "a...\n", 5);

        /* JSON: every byte escaped is still one complete object. */
        memset(big, '\x01', sizeof(big) - 1);
        log_set_format(LOG_FORMAT_JSON);
        log_error_errno(ENOENT, "%s", big);
        out = capture_read();
        l = strlen(out);
        assert_true(l > 6000);
        assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)(l - 1));
        assert_non_null(strstr(out, "...: No such file or directory\",\"errno\":2}\n"));
        log_set_format(LOG_FORMAT_TEXT);
}

static void test_errno_kept(void **state)
{
        errno = EBADF;
        log_info("x");
        assert_int_equal(errno, EBADF);
        log_error_errno(ENOENT, "x");
        assert_int_equal(errno, EBADF);
        (void)capture_read();
}

#define THREADS          4
#define LINES_PER_THREAD 200

static void *thread_main(void *arg)
{
        for (int i = 0; i < LINES_PER_THREAD; i++)
                log_info("thread %d line %d %s", (int)(intptr_t)arg, i,
                         "padding padding padding padding padding padding padding");
        return NULL;
}

static void test_threads(void **state)
{
        pthread_t t[THREADS];
        const char *out, *p;
        int lines = 0;

        log_set_format(LOG_FORMAT_TEXT);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i), 0);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);

        out = capture_read();
        for (p = out; *p; lines++) {
                const char *nl = strchr(p, '\n');
                int th, ln, n = 0;
                char prefix[64];

                assert_non_null(nl);
                (void)snprintf(prefix, sizeof(prefix), "ds01d[%ld]: info: thread ", (long)getpid());
                assert_memory_equal(p, prefix, strlen(prefix));
                assert_int_equal(sscanf(p + strlen(prefix), "%d line %d padding%n", &th, &ln, &n),
                                 2);
                assert_true(n > 0);
                assert_memory_equal(nl - 7, "padding", 7);
                p = nl + 1;
        }
        assert_int_equal(lines, THREADS * LINES_PER_THREAD);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_before_setup, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_level_names, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_setup_env, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_text, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_return_values, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_not_formatted, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_json, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_long_message, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_errno_kept, capture_flush, capture_flush),
            cmocka_unit_test_setup_teardown(test_threads, capture_flush, capture_flush),
        };

        return cmocka_run_group_tests(tests, capture_setup, capture_teardown);
}
