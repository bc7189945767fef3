/* test-strbuf.c - unit tests for util/strbuf: appends of every kind, the hard
 * ceiling (a refused append changes nothing), size_t overflow, self-appends,
 * reset, steal and release. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strbuf.h"

static void test_empty(void **state)
{
        struct strbuf sb;

        strbuf_init(&sb, 100);
        assert_null(sb.buf);
        assert_int_equal(sb.len, 0);
        assert_int_equal(sb.max, 100);
        assert_string_equal(strbuf_str(&sb), "");
        /* Empty appends are fine and still allocate nothing. */
        assert_int_equal(strbuf_append(&sb, "", 0), 0);
        assert_int_equal(strbuf_puts(&sb, ""), 0);
        assert_int_equal(strbuf_printf(&sb, "%s", ""), 0);
        assert_null(sb.buf);
        strbuf_release(&sb);
        strbuf_release(NULL);
}

static void test_append(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;

        strbuf_init(&sb, 1024);
        assert_int_equal(strbuf_append(&sb, "abc", 3), 0);
        assert_int_equal(strbuf_puts(&sb, "def"), 0);
        assert_int_equal(strbuf_putc(&sb, '!'), 0);
        assert_int_equal(strbuf_printf(&sb, " %d-%s", 42, "x"), 0);
        assert_string_equal(strbuf_str(&sb), "abcdef! 42-x");
        assert_int_equal(sb.len, strlen("abcdef! 42-x"));
        assert_true(sb.cap > sb.len);
        /* Embedded NUL bytes are kept and counted. */
        assert_int_equal(strbuf_append(&sb, "a\0b", 3), 0);
        assert_int_equal(sb.len, strlen("abcdef! 42-x") + 3);
        assert_memory_equal(sb.buf + sb.len - 3, "a\0b", 4);
}

static void test_grow(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;
        char expect[10001];

        strbuf_init(&sb, 10000);
        for (int i = 0; i < 10000; i++) {
                assert_int_equal(strbuf_putc(&sb, (char)('a' + i % 26)), 0);
                expect[i] = (char)('a' + i % 26);
        }
        expect[10000] = '\0';
        assert_int_equal(sb.len, 10000);
        assert_string_equal(strbuf_str(&sb), expect);
        /* Never allocates more than max + 1. */
        assert_true(sb.cap <= 10001);
        assert_int_equal(strbuf_putc(&sb, 'x'), -E2BIG);
}

static void test_ceiling(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;
        char *before;

        strbuf_init(&sb, 8);
        assert_int_equal(strbuf_puts(&sb, "12345"), 0);
        before = sb.buf;

        /* Every kind of append that would pass 8 bytes fails and changes nothing. */
        assert_int_equal(strbuf_puts(&sb, "6789"), -E2BIG);
        assert_int_equal(strbuf_append(&sb, "6789", 4), -E2BIG);
        assert_int_equal(strbuf_printf(&sb, "%d", 6789), -E2BIG);
        assert_int_equal(strbuf_append(&sb, "x", SIZE_MAX), -E2BIG);
        assert_string_equal(strbuf_str(&sb), "12345");
        assert_int_equal(sb.len, 5);
        assert_ptr_equal(sb.buf, before);

        /* Exactly up to the ceiling is allowed. */
        assert_int_equal(strbuf_puts(&sb, "678"), 0);
        assert_string_equal(strbuf_str(&sb), "12345678");
        assert_int_equal(strbuf_putc(&sb, '9'), -E2BIG);
        assert_int_equal(strbuf_printf(&sb, "%s", "9"), -E2BIG);
        assert_int_equal(strbuf_append(&sb, "", 0), 0);
        assert_string_equal(strbuf_str(&sb), "12345678");

        /* After a reset the room is back. */
        strbuf_reset(&sb);
        assert_string_equal(strbuf_str(&sb), "");
        assert_int_equal(strbuf_puts(&sb, "abcdefgh"), 0);
        assert_string_equal(strbuf_str(&sb), "abcdefgh");
}

static void test_zero_max(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;

        strbuf_init(&sb, 0);
        assert_int_equal(strbuf_putc(&sb, 'a'), -E2BIG);
        assert_int_equal(strbuf_printf(&sb, "x"), -E2BIG);
        assert_null(sb.buf);
        assert_string_equal(strbuf_str(&sb), "");
}

static void test_size_overflow(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;

        /* With no ceiling, len + n + 1 must not wrap around. */
        strbuf_init(&sb, SIZE_MAX);
        assert_int_equal(strbuf_puts(&sb, "ab"), 0);
        assert_int_equal(strbuf_append(&sb, "x", SIZE_MAX), -E2BIG);
        assert_int_equal(strbuf_append(&sb, "x", SIZE_MAX - 2), -ENOMEM);
        assert_string_equal(strbuf_str(&sb), "ab");
        assert_int_equal(sb.len, 2);
}

static void test_self_append(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;

        strbuf_init(&sb, 1 << 20);
        assert_int_equal(strbuf_puts(&sb, "abc"), 0);
        /* Appending our own content must survive the buffer moving. */
        for (int i = 0; i < 12; i++)
                assert_int_equal(strbuf_append(&sb, sb.buf, sb.len), 0);
        assert_int_equal(sb.len, 3 << 12);
        for (size_t i = 0; i < sb.len; i++)
                assert_int_equal(sb.buf[i], "abc"[i % 3]);
}

static void test_printf_long(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;
        char big[3000];

        memset(big, 'q', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        strbuf_init(&sb, 4000);
        assert_int_equal(strbuf_printf(&sb, "<%s>", big), 0);
        assert_int_equal(sb.len, 3001);
        assert_int_equal(strbuf_printf(&sb, "<%s>", big), -E2BIG);
        assert_int_equal(sb.len, 3001);
        assert_int_equal(sb.buf[0], '<');
        assert_int_equal(sb.buf[3000], '>');
        assert_int_equal(sb.buf[3001], '\0');
}

static void test_steal(void **state)
{
        _cleanup_strbuf_ struct strbuf sb;
        _cleanup_free_ char *a = NULL, *b = NULL;

        strbuf_init(&sb, 64);
        assert_int_equal(strbuf_puts(&sb, "hello"), 0);
        a = strbuf_steal(&sb);
        assert_string_equal(a, "hello");
        assert_null(sb.buf);
        assert_int_equal(sb.len, 0);
        assert_int_equal(sb.cap, 0);
        assert_int_equal(sb.max, 64);
        assert_string_equal(strbuf_str(&sb), "");

        /* Stealing an empty buffer gives an empty string, not NULL. */
        b = strbuf_steal(&sb);
        assert_non_null(b);
        assert_string_equal(b, "");

        /* The buffer is usable again. */
        assert_int_equal(strbuf_puts(&sb, "again"), 0);
        assert_string_equal(strbuf_str(&sb), "again");
}

static void test_reset_release(void **state)
{
        struct strbuf sb;
        size_t cap;

        strbuf_init(&sb, 32);
        strbuf_reset(&sb); /* on a never-used buffer */
        assert_string_equal(strbuf_str(&sb), "");
        assert_int_equal(strbuf_puts(&sb, "some text"), 0);
        cap = sb.cap;
        strbuf_reset(&sb);
        assert_int_equal(sb.len, 0);
        assert_int_equal(sb.cap, cap);
        assert_string_equal(strbuf_str(&sb), "");

        strbuf_release(&sb);
        assert_null(sb.buf);
        assert_int_equal(sb.len, 0);
        assert_int_equal(sb.cap, 0);
        assert_int_equal(sb.max, 32);
        assert_int_equal(strbuf_puts(&sb, "x"), 0);
        strbuf_release(&sb);
        strbuf_release(&sb); /* twice is fine */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_empty),       cmocka_unit_test(test_append),
            cmocka_unit_test(test_grow),        cmocka_unit_test(test_ceiling),
            cmocka_unit_test(test_zero_max),    cmocka_unit_test(test_size_overflow),
            cmocka_unit_test(test_self_append), cmocka_unit_test(test_printf_long),
            cmocka_unit_test(test_steal),       cmocka_unit_test(test_reset_release),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
