/*  test_names — strict name patterns: valid names, boundaries, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "names.h"

//  Names no kind may accept: shell, path and control tricks.
static const char *const s_nasty[] = {
    "", "a;rm -rf", "$(x)", "`id`", "../etc", "..", ".", "a/b", "/etc/passwd", "-o", "--help",
    "a|b", "a&b", "a>b", "a<b", "a\"b", "a'b", "a\\b", "a*", "a?", "a~", "a\nb", "a\tb",
    "a\rb", "\x1b[31m", "caf\xc3\xa9", "a\x7f", "a#b", "a=b", "a,b", "a:b", "a(b)", "a{b}",
    "a[b]", "a!b", "a%b", "a@b", "a^b", "a+b", NULL};

//  Punctuation a label may hold: it is only shown and stored, never put on
//  a command line or in a path (names.h).
static const char *const s_label_punctuation[] = {"a,b", "a:b", "a(b)", "a#b", "a@b", "a+b",
                                                   NULL};

static bool s_label_may(const char *text)
{
    for (int i = 0; s_label_punctuation[i]; i++)
        if (strcmp(s_label_punctuation[i], text) == 0)
            return true;
    return false;
}

static void s_none_accept_nasty(void)
{
    for (int kind = 0; kind < NAME_KIND_COUNT; kind++) {
        for (int i = 0; s_nasty[i]; i++) {
            if (kind == NAME_LABEL && s_label_may(s_nasty[i]))
                continue;
            if (name_valid((name_kind_t) kind, s_nasty[i]))
                fail_msg("%s accepted \"%s\"", name_kind_name((name_kind_t) kind), s_nasty[i]);
        }
        assert_false(name_valid((name_kind_t) kind, NULL));
    }
}

static void test_nasty(void **state)
{
    (void) state;
    s_none_accept_nasty();
    assert_false(name_valid(NAME_KIND_COUNT, "abc"));
    assert_false(name_valid((name_kind_t) -1, "abc"));
}

static void s_repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

//  A name of exactly max chars passes, max + 1 fails.
static void s_check_length(name_kind_t kind, char c, size_t max)
{
    char buf[300];
    s_repeat(buf, c, max);
    if (!name_valid(kind, buf))
        fail_msg("%s of %zu chars refused", name_kind_name(kind), max);
    s_repeat(buf, c, max + 1);
    if (name_valid(kind, buf))
        fail_msg("%s of %zu chars accepted", name_kind_name(kind), max + 1);
    s_repeat(buf, c, 1);
    assert_true(name_valid(kind, buf));
}

static void test_lengths(void **state)
{
    (void) state;
    s_check_length(NAME_PARTITION, 'p', 47);
    s_check_length(NAME_SYSTEM, 's', 63);
    s_check_length(NAME_DISK, 'd', 31);
    s_check_length(NAME_VG, 'v', 15);
    s_check_length(NAME_NIM_OBJECT, 'n', 39);
    s_check_length(NAME_HOST, 'h', 63);
    s_check_length(NAME_LABEL, 'l', 63);
}

static void test_partition(void **state)
{
    (void) state;
    const char *good[] = {"lpar01", "3 Web Server", "PROD_DB.1", "web-01", "a", "A b c", NULL};
    const char *bad[] = {" lead", "-lead", "a;b", "a..b", "x/y", NULL};
    for (int i = 0; good[i]; i++)
        if (!name_valid(NAME_PARTITION, good[i]))
            fail_msg("partition \"%s\" refused", good[i]);
    for (int i = 0; bad[i]; i++)
        if (name_valid(NAME_PARTITION, bad[i]))
            fail_msg("partition \"%s\" accepted", bad[i]);
    char long48[49];
    s_repeat(long48, 'x', 48);
    assert_false(name_valid(NAME_PARTITION, long48));
}

static void test_system(void **state)
{
    (void) state;
    assert_true(name_valid(NAME_SYSTEM, "Server-9080-M9S-SN78A1234"));
    assert_true(name_valid(NAME_SYSTEM, "p10_new.1"));
    assert_false(name_valid(NAME_SYSTEM, "Server 1"));
    assert_false(name_valid(NAME_SYSTEM, "-x"));
    assert_false(name_valid(NAME_SYSTEM, "a..b"));
}

static void test_disk(void **state)
{
    (void) state;
    const char *good[] = {"hdisk0", "hdisk12", "sda", "sdab", "vdb", "nvme0n1", "dm0", NULL};
    const char *bad[] = {"a b", "hdisk 1", "0hdisk", "Hdisk0", "sda1;", "hdisk-1", "hdisk_1",
                         "sd.a", "/dev/sda", NULL};
    for (int i = 0; good[i]; i++)
        if (!name_valid(NAME_DISK, good[i]))
            fail_msg("disk \"%s\" refused", good[i]);
    for (int i = 0; bad[i]; i++)
        if (name_valid(NAME_DISK, bad[i]))
            fail_msg("disk \"%s\" accepted", bad[i]);
}

static void test_vg(void **state)
{
    (void) state;
    assert_true(name_valid(NAME_VG, "rootvg"));
    assert_true(name_valid(NAME_VG, "altinst_rootvg"));
    assert_true(name_valid(NAME_VG, "data.vg1"));
    assert_false(name_valid(NAME_VG, "1vg"));
    assert_false(name_valid(NAME_VG, "_vg"));
    assert_false(name_valid(NAME_VG, "data-vg"));
    assert_true(name_valid(NAME_VG, "old_rootvg_copy"));
    assert_false(name_valid(NAME_VG, "old_rootvg_copy1"));
    assert_false(name_valid(NAME_VG, "a..b"));
}

static void test_nim_object(void **state)
{
    (void) state;
    assert_true(name_valid(NAME_NIM_OBJECT, "spot_7300_02_01"));
    assert_true(name_valid(NAME_NIM_OBJECT, "lpp_7300-02-01"));
    assert_true(name_valid(NAME_NIM_OBJECT, "lpar01.example"));
    assert_false(name_valid(NAME_NIM_OBJECT, "-spot"));
    assert_false(name_valid(NAME_NIM_OBJECT, "spot 1"));
    assert_false(name_valid(NAME_NIM_OBJECT, "spot/../x"));
}

static void test_host(void **state)
{
    (void) state;
    const char *good[] = {"localhost", "nim01", "nim01.example.com", "10.0.0.1", "a-b.c-d",
                          "3com.net", "X", NULL};
    const char *bad[] = {"-nim", "nim-", "a..b", ".a", "a.", "a_b", "a b", "nim.-x.com",
                         "a.b-.c", NULL};
    for (int i = 0; good[i]; i++)
        if (!name_valid(NAME_HOST, good[i]))
            fail_msg("host \"%s\" refused", good[i]);
    for (int i = 0; bad[i]; i++)
        if (name_valid(NAME_HOST, bad[i]))
            fail_msg("host \"%s\" accepted", bad[i]);

    //  64-char label is too long; 253 total is the limit.
    char buf[300];
    s_repeat(buf, 'a', 64);
    assert_false(name_valid(NAME_HOST, buf));
    //  63 + 1 + 63 + 1 + 63 + 1 + 61 = 253
    memset(buf, 'a', 253);
    buf[63] = buf[127] = buf[191] = '.';
    buf[253] = '\0';
    assert_true(name_valid(NAME_HOST, buf));
    buf[253] = 'a';
    buf[254] = '\0';
    assert_false(name_valid(NAME_HOST, buf));
}

static void test_label(void **state)
{
    (void) state;
    const char *good[] = {"wave 1 p8", "wave1-p8-to-p10", "Wave 2: P8 (old SAN) to P10",
                          "3 web servers", "dry run #4", "a", "9", "ops@site+b, 2", "(wave)",
                          "_wave", ".wave", "wave 1..3", NULL};
    const char *bad[] = {"", " wave", "wave ", "wave  1", "-wave", " ", "wave 1\x01",
                         "wave\t1", "wave\n1", "wave 'one'", "wave \"one\"", "wave\\1", "w/1",
                         "wave;1", "wave $1", "wave 1%", "caf\xc3\xa9", NULL};
    for (int i = 0; good[i]; i++)
        if (!name_valid(NAME_LABEL, good[i]))
            fail_msg("label \"%s\" refused", good[i]);
    for (int i = 0; bad[i]; i++)
        if (name_valid(NAME_LABEL, bad[i]))
            fail_msg("label \"%s\" accepted", bad[i]);
    for (int i = 0; s_label_punctuation[i]; i++)
        assert_true(name_valid(NAME_LABEL, s_label_punctuation[i]));
    //  Every system name is a label (plan names stored when they had to be
    //  system names still load), not the other way round.
    const char *systems[] = {"Server-9080-M9S-SN78A1234", "p10_new.1", "_x", ".x", "x.", "9", NULL};
    for (int i = 0; systems[i]; i++) {
        assert_true(name_valid(NAME_SYSTEM, systems[i]));
        if (!name_valid(NAME_LABEL, systems[i]))
            fail_msg("system name \"%s\" is not a label", systems[i]);
    }
    assert_false(name_valid(NAME_SYSTEM, "wave 1 p8"));
}

static void test_kind_names(void **state)
{
    (void) state;
    assert_string_equal(name_kind_name(NAME_PARTITION), "partition");
    assert_string_equal(name_kind_name(NAME_DISK), "disk");
    for (int kind = 0; kind < NAME_KIND_COUNT; kind++)
        assert_string_not_equal(name_kind_name((name_kind_t) kind), "unknown");
    assert_string_equal(name_kind_name(NAME_KIND_COUNT), "unknown");
    assert_string_equal(name_kind_name(NAME_LABEL), "label");
    //  Every kind says what it allows; the rules differ from kind to kind.
    for (int kind = 0; kind < NAME_KIND_COUNT; kind++) {
        const char *rule = name_kind_rule((name_kind_t) kind);
        assert_non_null(strstr(rule, "characters"));
        for (int other = 0; other < kind; other++)
            assert_string_not_equal(rule, name_kind_rule((name_kind_t) other));
    }
    assert_non_null(strstr(name_kind_rule(NAME_LABEL), "blanks"));
    assert_null(strstr(name_kind_rule(NAME_KIND_COUNT), "characters"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nasty),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_system),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_vg),
        cmocka_unit_test(test_nim_object),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
