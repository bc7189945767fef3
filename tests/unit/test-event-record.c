/* test-event-record.c - unit tests for store/event-record: the events.jsonl
 * line byte for byte as the old Python writer (scripts/lib/ds01_events.py)
 * produced it, with its key order, compact separators, ASCII escaping, float
 * spelling and 4000-byte truncation; the reader for the current and the old
 * {"ts", "event", ...} records, its time forms and its refusals; and the event
 * type rule. Expected lines were produced with Python 3.11's
 * json.dumps(event, separators=(",", ":")) and repr(float). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/event-record.h"

/* 2026-01-30T14:30:00.123456Z */
#define T0 (INT64_C(1769783400) * 1000000 + 123456)

static void set_type(struct event_record *e, const char *t)
{
        assert_true(strlen(t) < sizeof(e->type));
        memcpy(e->type, t, strlen(t) + 1);
}

/* Formats e and compares with expected; returns nothing, fails the test. */
static void check_format(const struct event_record *e, const char *expected)
{
        char *line = NULL;
        size_t len = 0;

        assert_int_equal(event_record_format(e, &line, &len), 0);
        assert_non_null(line);
        assert_string_equal(line, expected);
        assert_int_equal(len, strlen(expected));
        free(line);
}

/* Parses line, formats it again, and compares with expected. */
static void check_reformat(const char *line, const char *expected)
{
        struct event_record e = {};
        char *out = NULL;
        size_t len;
        int r;

        r = event_record_parse(line, strlen(line), &e);
        if (r != 0)
                fail_msg("parse %s: %d", line, r);
        assert_int_equal(event_record_format(&e, &out, &len), 0);
        if (strcmp(out, expected) != 0)
                fail_msg("reformat of\n  %s\ngave\n  %s\nexpected\n  %s", line, out, expected);
        free(out);
        event_record_release(&e);
}

static void test_format_basic(void **state)
{
        struct event_record e = {.time_us = T0, .user = "alice", .source = "ds01d"};

        set_type(&e, "gpu.allocated");
        e.details =
            json_pack("{s:s,s:s,s:i}", "container", "alice-jupyter", "gpu", "0:1", "priority", 50);
        assert_non_null(e.details);
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"gpu."
                         "allocated\",\"schema_version\":\"1\",\"user\":\"alice\",\"source\":"
                         "\"ds01d\",\"details\":{\"container\":\"alice-jupyter\",\"gpu\":\"0:1\","
                         "\"priority\":50}}");
        json_decref(e.details);
}

static void test_format_omitted(void **state)
{
        static const char bare[] = "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":"
                                   "\"system.startup\",\"schema_version\":\"1\"}";
        struct event_record e = {.time_us = T0};

        set_type(&e, "system.startup");
        check_format(&e, bare);

        /* Empty strings and an empty object are left out the same way. */
        e.user = "";
        e.source = "";
        e.details = json_object();
        check_format(&e, bare);
        json_decref(e.details);
        e.details = NULL;

        e.source = "ds01d";
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"system."
                         "startup\",\"schema_version\":\"1\",\"source\":\"ds01d\"}");
        e.source = NULL;
        e.user = "bob";
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"system."
                         "startup\",\"schema_version\":\"1\",\"user\":\"bob\"}");
}

static void test_format_time(void **state)
{
        static const struct {
                int64_t us;
                const char *ts;
        } cases[] = {
            {0, "1970-01-01T00:00:00.000000Z"},
            {1, "1970-01-01T00:00:00.000001Z"},
            {-1, "1969-12-31T23:59:59.999999Z"},
            {-1000000, "1969-12-31T23:59:59.000000Z"},
            {-1000001, "1969-12-31T23:59:58.999999Z"},
            {INT64_C(1769783400) * 1000000, "2026-01-30T14:30:00.000000Z"},
            {INT64_C(-62135596800) * 1000000, "0001-01-01T00:00:00.000000Z"},
            {INT64_C(253402300799) * 1000000 + 999999, "9999-12-31T23:59:59.999999Z"},
        };
        struct event_record e = {};
        char expected[160];

        set_type(&e, "a.b");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                e.time_us = cases[i].us;
                snprintf(expected, sizeof(expected),
                         "{\"timestamp\":\"%s\",\"event_type\":\"a.b\",\"schema_version\":\"1\"}",
                         cases[i].ts);
                check_format(&e, expected);
        }
}

static void test_format_escaping(void **state)
{
        struct event_record e = {.time_us = T0, .user = "j\xc3\xbcrgen", .source = "ds01d"};

        set_type(&e, "user.note");
        e.details = json_object();
        assert_int_equal(
            json_object_set_new(e.details, "msg",
                                json_string("caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80 "
                                            "\x7f \x01 \n\t\"\\ / \b\f\r")),
            0);
        assert_int_equal(json_object_set_new(e.details, "k\xc3\xa9y", json_stringn("\0", 1)), 0);
        check_format(&e,
                     "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"user."
                     "note\",\"schema_version\":\"1\",\"user\":\"j\\u00fcrgen\",\"source\":"
                     "\"ds01d\",\"details\":{\"msg\":\"caf\\u00e9 \\u2615 \\ud83d\\ude00 "
                     "\\u007f \\u0001 \\n\\t\\\"\\\\ / \\b\\f\\r\",\"k\\u00e9y\":\"\\u0000\"}}");
        json_decref(e.details);

        /* Bytes that are not UTF-8 (only possible in user and source, or
         * json_string_nocheck): one U+FFFD each, never raw. */
        e.details = NULL;
        e.user = "a\xff"
                 "b\xc3"
                 "c\xed\xa0\x80"
                 "d\xc0\xaf"
                 "e\xf4\x90\x80\x80";
        check_format(&e,
                     "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"user."
                     "note\",\"schema_version\":\"1\",\"user\":\"a\\ufffdb\\ufffdc\\ufffd\\ufffd"
                     "\\ufffdd\\ufffd\\ufffde\\ufffd\\ufffd\\ufffd\\ufffd\",\"source\":\"ds01d\"}");
}

static void test_format_values(void **state)
{
        struct event_record e = {.time_us = T0};
        json_t *d = json_object();

        set_type(&e, "test.numbers");
        json_object_set_new(d, "a", json_real(0.1));
        json_object_set_new(d, "b", json_real(1e16));
        json_object_set_new(d, "c", json_real(1.0));
        json_object_set_new(d, "d", json_real(-0.0));
        json_object_set_new(d, "e", json_real(1e-05));
        json_object_set_new(d, "f", json_real(0.0001));
        json_object_set_new(d, "g", json_real(123456789.123));
        json_object_set_new(d, "h", json_real(1e100));
        json_object_set_new(d, "i", json_real(5e-324));
        json_object_set_new(d, "j", json_real(1.7976931348623157e308));
        json_object_set_new(d, "k", json_real(1e15));
        json_object_set_new(d, "l", json_real(123456789012345678.0));
        json_object_set_new(d, "m", json_real(-2.5e-7));
        json_object_set_new(
            d, "n", json_pack("[i,i,I,I]", 1, -2, (json_int_t)INT64_MAX, (json_int_t)INT64_MIN));
        json_object_set_new(d, "o", json_pack("{s:[b,b,n,{},[]]}", "p", 1, 0));
        e.details = d;
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"test."
                         "numbers\",\"schema_version\":\"1\",\"details\":{\"a\":0.1,\"b\":1e+16,"
                         "\"c\":1.0,\"d\":-0.0,\"e\":1e-05,\"f\":0.0001,\"g\":123456789.123,\"h\":"
                         "1e+100,\"i\":5e-324,\"j\":1.7976931348623157e+308,\"k\":"
                         "1000000000000000.0,\"l\":1.2345678901234568e+17,\"m\":-2.5e-07,\"n\":[1,"
                         "-2,9223372036854775807,-9223372036854775808],\"o\":{\"p\":[true,false,"
                         "null,{},[]]}}}");
        json_decref(d);
}

/* repr() of doubles: powers of two, where the nearest decimal of the
 * shortest length does not read back but its neighbour does; then 50 from
 * random bit patterns and 50 from ordinary ranges (random.seed(1)). */
static const struct {
        double v;
        const char *repr;
} float_cases[] = {
    {0x1p-1017, "7.120236347223045e-307"},
    {0x1p-705, "5.940911144672375e-213"},
    {0x1p-1074, "5e-324"},
    {0x1p+1023, "8.98846567431158e+307"},
    {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
    {0x1p-1022, "2.2250738585072014e-308"},
    {-0x1.7584a2265b1f5p-740, "-2.522753946247637e-223"},
    {-0x1.13e30d8f16adfp+215, "-5.674664918136216e+64"},
    {0x1.7c4d1c386bbc4p-765, "7.654927133881691e-231"},
    {0x1.feb89414c343cp-541, "2.7715077941825975e-163"},
    {-0x1.e6f447ed4d57bp+45, "-66926478731690.96"},
    {0x1.510617311d8a3p+911, "2.2790121708605243e+274"},
    {0x1.e7696a6cecc1bp+531, "1.3383932992236106e+160"},
    {0x1.f992dc9e9c616p-164, "8.445496795513092e-50"},
    {0x1.42c8218072e8cp+975, "4.026380313612261e+293"},
    {-0x1.06ce60741c7a8p+588, "-1.039999246087972e+177"},
    {0x1.a828dd5f4b3b2p+573, "5.122439992692798e+172"},
    {-0x1.10e766ec9d286p-583, "-3.367304008780077e-176"},
    {-0x1.47159c324c985p+71, "-3.0168212434893705e+21"},
    {-0x1.21a58008a05a6p-221, "-3.3573703852372156e-67"},
    {0x1.e3d437204e52dp+67, "2.7890840981819507e+20"},
    {-0x1.47e35b8b6d8fep+213, "-1.6860668391509668e+64"},
    {-0x1.5d4c13a902931p-650, "-2.9205048131065683e-196"},
    {0x1.b8f1ff1fd42a2p-605, "1.2971714304409807e-182"},
    {0x1.31193e6c3f339p+277, "2.8940701966505206e+83"},
    {0x1.6e6e307d4bedcp-932, "3.942716995897388e-281"},
    {-0x1.8a7dd06839eb9p-411, "-2.9138649815953417e-124"},
    {0x1.b413f8a9a021ep-986, "2.60464476415712e-297"},
    {-0x1.88ad9f06c144ap+538, "-1.380176098350245e+162"},
    {-0x1.d67f9619699cfp-260, "-9.920174193947555e-79"},
    {-0x1.30c4237730edfp+898, "-2.5157234196648135e+270"},
    {-0x1.179e06c0fd4f5p-98, "-3.44654920223904e-30"},
    {-0x1.2b8bc076f3787p-910, "-1.3518464599291115e-274"},
    {-0x1.1e88f38c0c8fdp+57, "-1.6130484589462314e+17"},
    {-0x1.d3fef701966a0p+775, "-3.632860948069635e+233"},
    {-0x1.8348a7eed8d14p-807, "-1.772486265902276e-243"},
    {0x1.fd2803bab6c39p+392, "2.0061779959619276e+118"},
    {-0x1.5f23d3b1a11dfp-299, "-1.3467022099658464e-90"},
    {-0x1.d789a380208a9p+45, "-64807641285649.32"},
    {-0x1.64af775a89294p+829, "-4.987831702955333e+249"},
    {-0x1.f89d94a2f20aap+723, "-8.697762175904393e+217"},
    {0x1.ac4ba05805975p+681, "1.6785354100381097e+205"},
    {-0x1.0a8f0d66b829ep+682, "-2.089344716785902e+205"},
    {-0x1.48cb48e73ca47p+706, "-4.32375387638952e+212"},
    {0x1.99e3fa46d6753p-614, "2.3551067095935005e-185"},
    {-0x1.d459a2f978d87p-494, "-3.576949707084736e-149"},
    {-0x1.067edfe175330p-107, "-6.31935179170315e-33"},
    {0x1.03db0dc2574bdp+191, "3.1858213509854924e+57"},
    {-0x1.edc0a1ef2a4f0p-28, "-7.1850441006303285e-09"},
    {-0x1.46dd4552b82f6p+597, "-6.622698553445575e+179"},
    {-0x1.70f4eb8b333a8p+915, "-3.991916890784568e+275"},
    {-0x1.468b6b610a9f7p-1020, "-1.1352904205810249e-307"},
    {-0x1.b17aeefba91fcp+890, "-1.397736961784769e+268"},
    {-0x1.9c1f66c0f3459p-992, "-3.8461908647605975e-299"},
    {-0x1.1e35cd47d380dp+657, "-6.685782402596157e+197"},
    {0x1.9fdf5ab99254ap-246, "1.4366179273252887e-74"},
    {-0x1.46fe1aee1c09ap+9, "-653.9851968418982"},
    {0x1.b709fe86833c6p+5, "54.87988"},
    {0x1.60cf63c3be0e9p+49, "775837649959965.1"},
    {-0x1.f5301b64c4264p+7, "-250.59395899671938"},
    {0x1.5f2b6ae7d566dp+5, "43.8962"},
    {0x1.c4b24f6b12765p-14, "0.00010793126209409988"},
    {0x1.4f03c22fe72e0p+5, "41.87683522629027"},
    {0x1.3a9ba5e353f7dp+5, "39.326"},
    {0x1.bf3ea85b5c22dp+22, "7327658.089218658"},
    {-0x1.c88340f06f0f0p+9, "-913.0254192869452"},
    {0x1.195a5119ce076p+6, "70.3382"},
    {0x1.72bd6598ab84ap+12, "5931.837303800576"},
    {0x1.264ff4e696594p+8, "294.3123306386053"},
    {0x1.0e66666666666p+4, "16.9"},
    {0x1.171f7ad9d0c7fp+53, "9820766375385342.0"},
    {-0x1.2c7bcf578c3e0p+9, "-600.9672650751854"},
    {0x1.7008ce703afb8p+6, "92.0086"},
    {0x1.6245ccce69c5bp+24, "23217612.806301456"},
    {-0x1.385924c7e2166p+8, "-312.34821748037064"},
    {0x1.5300000000000p+6, "84.75"},
    {0x1.d626a0f472da2p-2, "0.45913173191066836"},
    {0x1.3e6dfc0cffc34p+8, "318.4296272396489"},
    {0x1.e727e5215768ap+5, "60.89448"},
    {0x1.039f03a4b3de4p+49, "570912945039292.5"},
    {0x1.64f2f9fa8f8c8p+9, "713.8982537461206"},
    {0x1.7ddbc7f77af64p+6, "95.46463"},
    {0x1.adea85dc6c0cap-15, "5.124999345029883e-05"},
    {0x1.2ada3fd2cb5a0p+5, "37.3565670460041"},
    {0x1.c116872b020c5p+5, "56.136"},
    {0x1.21d4d14f78543p+23, "9497192.655214911"},
    {0x1.72029987978dap+9, "740.0203103532797"},
    {0x1.c800000000000p+5, "57.0"},
    {0x1.6f9559e3b1018p+16, "94101.35113054549"},
    {-0x1.e2657b0a98120p+4, "-30.149775544531735"},
    {0x1.1d70a3d70a3d7p+5, "35.68"},
    {0x1.82e6df49d58f7p+20, "1584749.9555259326"},
    {0x1.edf5331d38e18p+7, "246.97890559501025"},
    {0x1.e9f5c28f5c28fp+5, "61.245"},
    {0x1.aa3905c0e6978p+55, "5.998551847634835e+16"},
    {-0x1.0e651cab94200p+9, "-540.7899374459521"},
    {0x1.1b89a02752546p+4, "17.7211"},
    {0x1.843b0d2ca8b43p-23, "1.8078399346030392e-07"},
    {0x1.2a705e68e0eeap+9, "596.877881154852"},
    {0x1.3ed6ca46e08f2p+6, "79.709756"},
    {0x1.8fd709aa15b04p-24, "9.309500251359793e-08"},
    {0x1.55bead53f23f6p+9, "683.489664548192"},
    {0x1.0c00000000000p+6, "67.0"},
    {0x1.a7ddc2e459ca8p+19, "868078.090374847"},
    {-0x1.e570a57bbb59ep+9, "-970.8800501503754"},
    {0x1.2e66666666666p+6, "75.6"},
};

static void test_format_floats(void **state)
{
        struct event_record e = {.time_us = 0};
        char expected[256];

        set_type(&e, "t.f");
        for (size_t i = 0; i < sizeof(float_cases) / sizeof(float_cases[0]); i++) {
                e.details = json_pack("{s:f}", "v", float_cases[i].v);
                assert_non_null(e.details);
                snprintf(expected, sizeof(expected),
                         "{\"timestamp\":\"1970-01-01T00:00:00.000000Z\",\"event_type\":\"t.f\","
                         "\"schema_version\":\"1\",\"details\":{\"v\":%s}}",
                         float_cases[i].repr);
                check_format(&e, expected);
                json_decref(e.details);
        }
}

static json_t *blob_details(const char *first_key, size_t n, char c)
{
        char *s = malloc(n + 1);
        json_t *d;

        assert_non_null(s);
        memset(s, c, n);
        s[n] = '\0';
        d = first_key ? json_pack("{s:s,s:s}", first_key, "c1", "blob", s)
                      : json_pack("{s:s}", "blob", s);
        free(s);
        assert_non_null(d);
        return d;
}

static void test_format_truncate(void **state)
{
        struct event_record e = {.time_us = T0, .user = "alice", .source = "ds01d"};
        char *line;
        size_t len, base;
        json_t *d;

        set_type(&e, "gpu.allocated");
        e.details = blob_details("container", 5000, 'x');
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"gpu."
                         "allocated\",\"schema_version\":\"1\",\"user\":\"alice\",\"source\":"
                         "\"ds01d\",\"details\":{\"truncated\":true,\"original_size\":5164}}");
        json_decref(e.details);

        /* original_size counts the escaped bytes: 1000 x U+00E9 are 6000. */
        d = json_object();
        {
                char s[2001];

                for (int i = 0; i < 1000; i++)
                        memcpy(s + 2 * i, "\xc3\xa9", 2);
                s[2000] = '\0';
                json_object_set_new(d, "blob", json_string(s));
        }
        e.details = d;
        check_format(&e, "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"gpu."
                         "allocated\",\"schema_version\":\"1\",\"user\":\"alice\",\"source\":"
                         "\"ds01d\",\"details\":{\"truncated\":true,\"original_size\":6147}}");
        json_decref(d);

        /* The limit: 4000 bytes stay, 4001 do not. */
        e.details = blob_details(NULL, 0, 'y');
        assert_int_equal(event_record_format(&e, &line, &len), 0);
        free(line);
        json_decref(e.details);
        base = len;
        e.details = blob_details(NULL, EVENT_LINE_MAX - base, 'y');
        assert_int_equal(event_record_format(&e, &line, &len), 0);
        assert_int_equal(len, EVENT_LINE_MAX);
        assert_int_equal(strlen(line), EVENT_LINE_MAX);
        assert_non_null(strstr(line, "yyyy\"}}"));
        free(line);
        json_decref(e.details);
        e.details = blob_details(NULL, EVENT_LINE_MAX - base + 1, 'y');
        assert_int_equal(event_record_format(&e, &line, &len), 0);
        assert_non_null(strstr(line, ",\"details\":{\"truncated\":true,\"original_size\":4001}}"));
        assert_int_equal(len, strlen(line));
        free(line);
        json_decref(e.details);

        /* A huge user cannot be truncated away: refused, nothing returned. */
        {
                char *u = malloc(5001);

                assert_non_null(u);
                memset(u, 'u', 5000);
                u[5000] = '\0';
                e.user = u;
                e.details = NULL;
                line = (char *)"untouched";
                len = 7;
                assert_int_equal(event_record_format(&e, &line, &len), -E2BIG);
                assert_string_equal(line, "untouched");
                assert_int_equal(len, 7);
                free(u);
        }

        /* Very large details cost no memory beyond the line. */
        e.user = "alice";
        e.details = blob_details("container", 8 * 1024 * 1024, 'z');
        assert_int_equal(event_record_format(&e, &line, &len), 0);
        assert_non_null(strstr(line, "\"original_size\":8388772}"));
        free(line);
        json_decref(e.details);
}

static void test_format_invalid(void **state)
{
        struct event_record e = {.time_us = T0};
        char *line = (char *)"untouched";
        size_t len = 7;
        json_t *deep;

        /* No type, a type with a space or control character, no NUL. */
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        set_type(&e, "gpu allocated");
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        set_type(&e, "gpu.\x01");
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        memset(e.type, 'a', sizeof(e.type));
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);

        /* Details that are not an object. */
        set_type(&e, "gpu.allocated");
        e.details = json_pack("[i]", 1);
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        json_decref(e.details);
        e.details = json_string("x");
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        json_decref(e.details);

        /* Nested deeper than EVENT_DETAILS_DEPTH_MAX. */
        deep = json_object();
        for (int i = 0; i < EVENT_DETAILS_DEPTH_MAX; i++)
                deep = json_pack("{s:o}", "k", deep);
        e.details = deep;
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        json_decref(deep);
        deep = json_object();
        for (int i = 0; i < EVENT_DETAILS_DEPTH_MAX - 1; i++)
                deep = json_pack("{s:o}", "k", deep);
        e.details = deep;
        assert_int_equal(event_record_format(&e, &line, &len), 0);
        free(line);
        line = (char *)"untouched";
        len = 7;
        json_decref(deep);
        e.details = NULL;

        /* Times with no four-digit year. */
        e.time_us = INT64_C(-62135596801) * 1000000;
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        e.time_us = INT64_C(253402300800) * 1000000;
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        e.time_us = INT64_MIN;
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);
        e.time_us = INT64_MAX;
        assert_int_equal(event_record_format(&e, &line, &len), -EINVAL);

        assert_int_equal(event_record_format(NULL, &line, &len), -EINVAL);
        assert_string_equal(line, "untouched");
        assert_int_equal(len, 7);
}

static void test_parse_current(void **state)
{
        static const char line[] =
            "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"gpu.allocated\","
            "\"schema_version\":\"1\",\"user\":\"alice\",\"source\":\"ds01d\",\"details\":{"
            "\"container\":\"alice-jupyter\",\"gpu\":\"0:1\",\"priority\":50}}";
        struct event_record e = {};
        char *out;
        size_t len;

        assert_int_equal(event_record_parse(line, strlen(line), &e), 0);
        assert_true(e.time_us == T0);
        assert_string_equal(e.type, "gpu.allocated");
        assert_string_equal(e.user, "alice");
        assert_string_equal(e.source, "ds01d");
        assert_true(json_is_object(e.details));
        assert_string_equal(json_string_value(json_object_get(e.details, "container")),
                            "alice-jupyter");
        assert_int_equal(json_integer_value(json_object_get(e.details, "priority")), 50);
        assert_int_equal(event_record_format(&e, &out, &len), 0);
        assert_string_equal(out, line);
        free(out);
        event_record_release(&e);
        event_record_release(&e); /* harmless twice */
        assert_null(e.user);
        assert_null(e.details);

        /* A newline or CRLF at the end, as read from the file. */
        {
                char buf[sizeof(line) + 1];

                memcpy(buf, line, sizeof(line) - 1);
                // NOLINTNEXTLINE(bugprone-not-null-terminated-result): parsed with its length
                memcpy(buf + sizeof(line) - 1, "\r\n", 2);
                assert_int_equal(event_record_parse(buf, sizeof(buf), &e), 0);
                assert_true(e.time_us == T0);
                event_record_release(&e);
        }
}

/* Lines in every shape the old tools wrote, and what ds01d writes for them. */
static void test_parse_reformat(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            /* ds01_events.py: isoformat() drops the fraction at .000000. */
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"container.create\","
             "\"schema_version\":\"1\",\"user\":\"alice\",\"source\":\"docker-wrapper\","
             "\"details\":{\"container\":\"proj\",\"image\":\"ds01/pytorch:latest\"}}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"container.create\","
             "\"schema_version\":\"1\",\"user\":\"alice\",\"source\":\"docker-wrapper\","
             "\"details\":{\"container\":\"proj\",\"image\":\"ds01/pytorch:latest\"}}"},
            /* Escapes and floats come back as they were. */
            {"{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"user.note\","
             "\"schema_version\":\"1\",\"user\":\"j\\u00fcrgen\",\"details\":{\"msg\":\"caf\\u00e9 "
             "\\ud83d\\ude00 \\u007f\",\"a\":0.1,\"b\":1e+16,\"c\":1.0,\"e\":1e-05}}",
             "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"user.note\","
             "\"schema_version\":\"1\",\"user\":\"j\\u00fcrgen\",\"details\":{\"msg\":\"caf\\u00e9 "
             "\\ud83d\\ude00 \\u007f\",\"a\":0.1,\"b\":1e+16,\"c\":1.0,\"e\":1e-05}}"},
            /* Raw UTF-8 (another writer) is escaped on the way out. */
            {"{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"a.b\","
             "\"user\":\"j\xc3\xbcrgen\"}",
             "{\"timestamp\":\"2026-01-30T14:30:00.123456Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"user\":\"j\\u00fcrgen\"}"},
            /* Python's default separators, keys in another order. */
            {"{\"details\": {\"x\": 1}, \"user\": \"bob\", \"event_type\": \"gpu.release\", "
             "\"timestamp\": \"2026-01-30T14:30:00+00:00\", \"schema_version\": \"1\"}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"gpu.release\","
             "\"schema_version\":\"1\",\"user\":\"bob\",\"details\":{\"x\":1}}"},
            /* Unknown keys of the envelope go into details, after its own;
             * a key details already has is not overwritten. */
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"a.b\",\"host\":\"gpu1\","
             "\"details\":{\"x\":1,\"host\":\"keep\"},\"pid\":7}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"details\":{\"x\":1,\"host\":\"keep\",\"pid\":7}}"},
            /* null and empty fields disappear; any schema_version is read. */
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"a.b\",\"schema_version\":"
             "\"2\",\"user\":null,\"source\":\"\",\"details\":null}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\"}"},
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"a.b\",\"details\":{}}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\"}"},
            /* Truncated records stay as they are. */
            {"{\"timestamp\":\"2026-01-30T14:30:00.5Z\",\"event_type\":\"a.b\",\"details\":{"
             "\"truncated\":true,\"original_size\":5164}}",
             "{\"timestamp\":\"2026-01-30T14:30:00.500000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"details\":{\"truncated\":true,\"original_size\":5164}}"},
            /* The old event-logger.py: json.dumps(event), default separators. */
            {"{\"ts\": \"2025-11-26T12:00:00Z\", \"event\": \"container.created\", \"user\": "
             "\"alice\", \"container\": \"proj._.1001\", \"gpu\": \"1.2\", \"interface\": "
             "\"atomic\"}",
             "{\"timestamp\":\"2025-11-26T12:00:00.000000Z\",\"event_type\":\"container.created\","
             "\"schema_version\":\"1\",\"user\":\"alice\",\"details\":{\"container\":\"proj._."
             "1001\",\"gpu\":\"1.2\",\"interface\":\"atomic\"}}"},
            /* Old: key=value values were JSON-decoded, so a user may be a
             * number (kept in details), and "details" a string. */
            {"{\"ts\": \"2025-11-26T12:00:00Z\", \"event\": \"container.failed_create\", "
             "\"user\": 1001, \"status\": \"failed\", \"details\": \"no GPU\", \"priority\": 50, "
             "\"source\": \"cron\"}",
             "{\"timestamp\":\"2025-11-26T12:00:00.000000Z\",\"event_type\":\"container.failed_"
             "create\",\"schema_version\":\"1\",\"source\":\"cron\",\"details\":{\"user\":1001,"
             "\"status\":\"failed\",\"details\":\"no GPU\",\"priority\":50}}"},
            /* Old, nothing but the two keys. */
            {"{\"ts\": \"2025-11-26T12:00:00Z\", \"event\": \"health.check\"}",
             "{\"timestamp\":\"2025-11-26T12:00:00.000000Z\",\"event_type\":\"health.check\","
             "\"schema_version\":\"1\"}"},
            /* Old with an empty user. */
            {"{\"ts\": \"2025-11-26T12:00:00Z\", \"event\": \"a.b\", \"user\": \"\", \"c\": [1]}",
             "{\"timestamp\":\"2025-11-26T12:00:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"details\":{\"c\":[1]}}"},
            /* Both names: event_type decides, the old keys are details. */
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"a.b\",\"ts\":1,\"event\":"
             "\"c.d\"}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"details\":{\"ts\":1,\"event\":\"c.d\"}}"},
            /* Duplicate keys: the last value wins (as in Python). */
            {"{\"timestamp\":\"2026-01-30T14:30:00Z\",\"event_type\":\"a.b\",\"user\":\"x\","
             "\"user\":\"y\"}",
             "{\"timestamp\":\"2026-01-30T14:30:00.000000Z\",\"event_type\":\"a.b\","
             "\"schema_version\":\"1\",\"user\":\"y\"}"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                check_reformat(cases[i].in, cases[i].out);
}

static void test_parse_times(void **state)
{
        static const struct {
                const char *ts; /* a JSON value */
                int64_t us;
        } cases[] = {
            {"\"2026-01-30T14:30:00Z\"", INT64_C(1769783400000000)},
            {"\"2026-01-30T14:30:00.123456Z\"", INT64_C(1769783400123456)},
            {"\"2026-01-30T14:30:00.1234567Z\"", INT64_C(1769783400123456)}, /* truncated */
            {"\"2026-01-30T14:30:00.5Z\"", INT64_C(1769783400500000)},
            {"\"2026-01-30T14:30:00,25Z\"", INT64_C(1769783400250000)},
            {"\"2026-01-30T14:30:00.000001+00:00\"", INT64_C(1769783400000001)},
            {"\"2026-01-30T14:30:00+00:00\"", INT64_C(1769783400000000)},
            {"\"2026-01-30T15:30:00+01:00\"", INT64_C(1769783400000000)},
            {"\"2026-01-30T09:30:00.75-05:00\"", INT64_C(1769783400750000)},
            {"\"2026-01-30T14:30:00\"", INT64_C(1769783400000000)}, /* UTC */
            {"\"2026-01-30 14:30:00.25\"", INT64_C(1769783400250000)},
            {"\"2026-01-30T14:30Z\"", INT64_C(1769783400000000)},
            {"\"2026-01-30\"", INT64_C(1769731200000000)},
            {"\" 2026-01-30T14:30:00Z \"", INT64_C(1769783400000000)},
            {"\"1969-12-31T23:59:59.5Z\"", INT64_C(-500000)},
            {"1769783400", INT64_C(1769783400000000)},
            {"1769783400.25", INT64_C(1769783400250000)},
            {"0", 0},
            {"-1.5", -1500000},
            {"\"0001-01-01T00:00:00Z\"", INT64_C(-62135596800000000)},
            {"\"9999-12-31T23:59:59.999999Z\"", INT64_C(253402300799999999)},
        };
        char line[200];

        /* TZ must not matter: records are UTC. */
        setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct event_record e = {};
                int r;

                snprintf(line, sizeof(line), "{\"ts\":%s,\"event\":\"a.b\"}", cases[i].ts);
                r = event_record_parse(line, strlen(line), &e);
                if (r != 0)
                        fail_msg("%s: %d", line, r);
                if (e.time_us != cases[i].us)
                        fail_msg("%s: %lld, expected %lld", line, (long long)e.time_us,
                                 (long long)cases[i].us);
                event_record_release(&e);

                snprintf(line, sizeof(line), "{\"timestamp\":%s,\"event_type\":\"a.b\"}",
                         cases[i].ts);
                assert_int_equal(event_record_parse(line, strlen(line), &e), 0);
                assert_true(e.time_us == cases[i].us);
                event_record_release(&e);
        }
        setenv("TZ", "UTC0", 1);
}

static void test_parse_invalid(void **state)
{
        static const char *const lines[] = {
            "",
            "\n",
            " ",
            "x",
            "{",
            "[]",
            "[{\"ts\":0,\"event\":\"a.b\"}]",
            "\"a.b\"",
            "null",
            "42",
            "{}",
            "{\"ts\":0,\"event\":\"a.b\"} x",
            "{\"ts\":0,\"event\":\"a.b\"}{}",
            "{\"ts\":0,\"event\":\"a.b\"",
            "{\"ts\":0,\"event\":\"a.b\",}",
            "{'ts':0,'event':'a.b'}",
            "{\"ts\":NaN,\"event\":\"a.b\"}",
            "{\"ts\":Infinity,\"event\":\"a.b\"}",
            /* type */
            "{\"ts\":0}",
            "{\"ts\":0,\"event\":1}",
            "{\"ts\":0,\"event\":null}",
            "{\"ts\":0,\"event\":\"\"}",
            "{\"ts\":0,\"event\":\"a b\"}",
            "{\"ts\":0,\"event\":\"a\\tb\"}",
            "{\"ts\":0,\"event\":\"a\\u0000b\"}",
            "{\"ts\":0,\"event\":\"a\\u007fb\"}",
            // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one long line, split
            "{\"ts\":0,\"event\":"
            "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
            "{\"timestamp\":0,\"event_type\":[\"a.b\"]}",
            "{\"timestamp\":0,\"event_type\":1,\"event\":\"a.b\"}",
            /* time */
            "{\"event\":\"a.b\"}",
            "{\"timestamp\":0,\"event\":\"a.b\"}", /* old type wants ts */
            "{\"ts\":0,\"event_type\":\"a.b\"}",   /* new type wants timestamp */
            "{\"ts\":null,\"event\":\"a.b\"}",
            "{\"ts\":true,\"event\":\"a.b\"}",
            "{\"ts\":\"\",\"event\":\"a.b\"}",
            "{\"ts\":\"yesterday\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-02-30T00:00:00Z\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-01-30T14:30:00ZZ\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-01-30T14:30:00.Z\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-01-30T25:30:00Z\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-01-3\",\"event\":\"a.b\"}",
            "{\"ts\":\"0001-01-01T00:00:00+01:00\",\"event\":\"a.b\"}",
            "{\"ts\":\"2026-01-30T14:30:00."
            "000000000000000000000000000000000000000000000000000000Z\","
            "\"event\":\"a.b\"}",
            "{\"ts\":[0],\"event\":\"a.b\"}",
            "{\"ts\":253402300800,\"event\":\"a.b\"}",
            "{\"ts\":-62135596801,\"event\":\"a.b\"}",
            "{\"ts\":1e300,\"event\":\"a.b\"}",
            "{\"ts\":99999999999999999999999,\"event\":\"a.b\"}",
            /* current: user, source, details */
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"user\":1}",
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"user\":[\"x\"]}",
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"source\":false}",
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"details\":\"x\"}",
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"details\":[1]}",
            "{\"timestamp\":0,\"event_type\":\"a.b\",\"details\":1}",
            /* not UTF-8, raw control characters */
            "{\"ts\":0,\"event\":\"a.b\",\"user\":\"\xff\"}",
            "{\"ts\":0,\"event\":\"a.b\",\"user\":\"a\nb\"}",
            "{\"ts\":0,\"event\":\"a.b\",\"x\":\"\\ud800\"}",
        };

        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                struct event_record e;
                int r;

                memset(&e, 0x5a, sizeof(e));
                r = event_record_parse(lines[i], strlen(lines[i]), &e);
                if (r != -EINVAL)
                        fail_msg("\"%s\": %d, expected -EINVAL", lines[i], r);
                for (size_t k = 0; k < sizeof(e); k++)
                        if (((unsigned char *)&e)[k] != 0x5a)
                                fail_msg("\"%s\": output changed on failure", lines[i]);
        }
}

static void test_parse_limits(void **state)
{
        static const char ok[] = "{\"ts\":0,\"event\":\"a.b\"}";
        struct event_record e = {};
        char *big, *p;
        size_t n;

        /* A NUL inside the buffer, and length shorter than the string. */
        {
                char buf[] = "{\"ts\":0,\"event\":\"a.b\"}\0{}";

                assert_int_equal(event_record_parse(buf, sizeof(buf) - 1, &e), -EINVAL);
                assert_int_equal(event_record_parse(ok, strlen(ok) - 1, &e), -EINVAL);
                assert_int_equal(event_record_parse(ok, 0, &e), -EINVAL);
                assert_int_equal(event_record_parse(NULL, 0, &e), -EINVAL);
                assert_int_equal(event_record_parse(ok, strlen(ok), NULL), -EINVAL);
        }

        /* Over EVENT_PARSE_MAX. */
        big = malloc(EVENT_PARSE_MAX + 2);
        assert_non_null(big);
        n = (size_t)snprintf(big, EVENT_PARSE_MAX, "{\"ts\":0,\"event\":\"a.b\",\"x\":\"");
        memset(big + n, 'x', EVENT_PARSE_MAX + 2 - n);
        memcpy(big + EVENT_PARSE_MAX + 2 - 3, "\"}", 3);
        assert_int_equal(event_record_parse(big, strlen(big), &e), -E2BIG);
        /* At the limit: read. */
        memcpy(big + EVENT_PARSE_MAX - 2, "\"}", 3);
        assert_int_equal(strlen(big), EVENT_PARSE_MAX);
        assert_int_equal(event_record_parse(big, strlen(big), &e), 0);
        event_record_release(&e);
        free(big);

        /* Nesting: up to EVENT_DETAILS_DEPTH_MAX levels counting details. */
        for (int depth = EVENT_DETAILS_DEPTH_MAX - 2; depth <= EVENT_DETAILS_DEPTH_MAX + 1;
             depth++) {
                size_t cap = 64 + 2 * (size_t)depth;
                int r;

                big = malloc(cap);
                assert_non_null(big);
                p = big + snprintf(big, cap, "{\"ts\":0,\"event\":\"a.b\",\"x\":");
                for (int i = 0; i < depth; i++)
                        *p++ = '[';
                for (int i = 0; i < depth; i++)
                        *p++ = ']';
                memcpy(p, "}", 2);
                r = event_record_parse(big, strlen(big), &e);
                /* details itself is one level, x's arrays the others */
                assert_int_equal(r, depth + 1 <= EVENT_DETAILS_DEPTH_MAX ? 0 : -EINVAL);
                event_record_release(&e);
                free(big);
        }
        /* Far past jansson's own limit (2048): refused, no crash. */
        n = 5000;
        big = malloc(2 * n + 64);
        assert_non_null(big);
        p = big + snprintf(big, 64, "{\"ts\":0,\"event\":\"a.b\",\"x\":");
        memset(p, '[', n);
        memset(p + n, ']', n);
        memcpy(p + 2 * n, "}", 2);
        assert_int_equal(event_record_parse(big, strlen(big), &e), -EINVAL);
        free(big);
}

static void test_type_valid(void **state)
{
        static const char *const good[] = {
            "gpu.allocated",
            "a.b",
            "container.failed_create",
            "bare_metal.warning",
            "detection.host_gpu_process_discovered",
            "a.b.c.d",
            "x1.y2",
            "_._",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", /* 63 */
        };
        static const char *const bad[] = {
            "",
            "a",
            "gpu",
            "gpu.",
            ".gpu",
            "gpu..allocated",
            "Gpu.allocated",
            "gpu.Allocated",
            "gpu-allocated.x",
            "gpu allocated",
            "gpu.allocated ",
            " gpu.allocated",
            "gpu.a/b",
            "gp\xc3\xbc.x",
            "a.b\n",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", /* 64 */
        };

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                if (!event_type_valid(good[i]))
                        fail_msg("\"%s\" refused", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (event_type_valid(bad[i]))
                        fail_msg("\"%s\" accepted", bad[i]);
        assert_false(event_type_valid(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_basic),    cmocka_unit_test(test_format_omitted),
            cmocka_unit_test(test_format_time),     cmocka_unit_test(test_format_escaping),
            cmocka_unit_test(test_format_values),   cmocka_unit_test(test_format_floats),
            cmocka_unit_test(test_format_truncate), cmocka_unit_test(test_format_invalid),
            cmocka_unit_test(test_parse_current),   cmocka_unit_test(test_parse_reformat),
            cmocka_unit_test(test_parse_times),     cmocka_unit_test(test_parse_invalid),
            cmocka_unit_test(test_parse_limits),    cmocka_unit_test(test_type_valid),
        };

        setenv("TZ", "UTC0", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
