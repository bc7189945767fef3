/* test-username.c - unit tests for util/username: each sanitizing rule, the
 * 32-character limit with its MD5 suffix (expected digests computed with
 * `printf %s NAME | md5sum`), refused names, and slice names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/username.h"

static void test_sanitize(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            {"h.baker@hertie-school.lan", "h_baker"},
            {"alice", "alice"},
            {"Alice.Smith", "Alice_Smith"}, /* case is kept */
            {"123", "123"},
            {"a..b", "a_b"},
            {"a._-b", "a_b"},
            {"_a_", "a"},
            {"..a..", "a"},
            {"__a__b__", "a_b"},
            {"a-b c", "a_b_c"},
            {"dom:user", "dom:user"},
            {"DOMAIN\\user", "DOMAIN_user"},
            {"a@b@c", "a"},
            {"a.b@", "a_b"},
            {"\xc3\xbc"
             "ber",
             "ber"}, /* UTF-8 bytes -> '_', trimmed */
            {"a\xc3\xbc"
             "b",
             "a_b"}, /* two bytes -> one '_' */
            {"tab\there", "tab_here"},
            {"x/../y", "x_y"},
            /* Exactly 32 characters: kept as they are. */
            {"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"},
            /* 33 bytes, 26 after trimming: the limit applies after the other rules. */
            {"abcdefghijklmnopqrstuvwxyz_______", "abcdefghijklmnopqrstuvwxyz"},
            {"_______abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"},
            /* Longer: first 27, '_', 4 hex digits of md5(original). */
            {"abcdefghijklmnopqrstuvwxyz0123456", "abcdefghijklmnopqrstuvwxyz0_2e34"},
            {"abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0_6d22"},
            {"abcdefghijklmnopqrstuvwxyz0.23456789", "abcdefghijklmnopqrstuvwxyz0_1a14"},
            /* The hash is of the whole original name, domain included
             * (md5 of the part before '@' would start 1bee). */
            {"alexandra.konstantinopoulou.smith@hertie-school.lan",
             "alexandra_konstantinopoulou_ac7f"},
            {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@x", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0_0245"},
            /* The 27th character is '_': trimmed before the suffix. */
            {"abcdefghijklmnopqrstuvwxyz_____0123456", "abcdefghijklmnopqrstuvwxyz_0b95"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char out[USERNAME_SANITIZED_MAX];

                memset(out, 'X', sizeof(out));
                if (username_sanitize(cases[i].in, out) != 0)
                        fail_msg("\"%s\" refused", cases[i].in);
                assert_string_equal(out, cases[i].out);
                assert_true(strlen(out) <= USERNAME_SANITIZED_MAX - 1);
        }
}

static void test_sanitize_long(void **state)
{
        char in[4096], out[USERNAME_SANITIZED_MAX];

        /* Very long names still fit. */
        memset(in, 'a', sizeof(in) - 1);
        in[sizeof(in) - 1] = '\0';
        assert_int_equal(username_sanitize(in, out), 0);
        assert_int_equal(strlen(out), 32);
        assert_memory_equal(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaa_", 28);

        /* All underscores once sanitized: nothing left. */
        memset(in, '.', sizeof(in) - 1);
        assert_int_equal(username_sanitize(in, out), -EINVAL);
}

static void test_sanitize_refused(void **state)
{
        static const char *const bad[] = {
            "", "@", "@hertie-school.lan", "...", "___", "-", " ", "\xc3\xbc", "._@a",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char out[USERNAME_SANITIZED_MAX] = "untouched";

                assert_int_equal(username_sanitize(bad[i], out), -EINVAL);
                assert_string_equal(out, "untouched");
        }
        {
                char out[USERNAME_SANITIZED_MAX] = "untouched";

                assert_int_equal(username_sanitize(NULL, out), -EINVAL);
                assert_string_equal(out, "untouched");
        }
}

static void test_slice_name(void **state)
{
        char buf[64];
        const char *expect = "ds01-students-h_baker.slice";
        size_t l = strlen(expect);

        assert_int_equal(
            username_slice_name("students", "h.baker@hertie-school.lan", buf, sizeof(buf)), 0);
        assert_string_equal(buf, expect);

        assert_int_equal(username_slice_name("phd_students", "alice", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "ds01-phd_students-alice.slice");

        assert_int_equal(username_slice_name("staff",
                                             "alexandra.konstantinopoulou.smith@hertie-school.lan",
                                             buf, sizeof(buf)),
                         0);
        assert_string_equal(buf, "ds01-staff-alexandra_konstantinopoulou_ac7f.slice");

        /* Exactly enough room, then one byte short. */
        assert_int_equal(username_slice_name("students", "h.baker", buf, l + 1), 0);
        assert_string_equal(buf, expect);
        memcpy(buf, "untouched", sizeof("untouched"));
        assert_int_equal(username_slice_name("students", "h.baker", buf, l), -ENOBUFS);
        assert_string_equal(buf, "untouched");
        assert_int_equal(username_slice_name("students", "h.baker", buf, 0), -ENOBUFS);
        assert_string_equal(buf, "untouched");

        /* Bad groups and users. */
        assert_int_equal(username_slice_name("", "alice", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name(NULL, "alice", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("phd-students", "alice", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("a/b", "alice", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("a.b", "alice", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("students", "", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("students", "@x", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(username_slice_name("students", NULL, buf, sizeof(buf)), -EINVAL);
        assert_string_equal(buf, "untouched");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sanitize),
            cmocka_unit_test(test_sanitize_long),
            cmocka_unit_test(test_sanitize_refused),
            cmocka_unit_test(test_slice_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
