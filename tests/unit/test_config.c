/*  test_config — ZPL loading, typed getters, suffix parsers, error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define ERRLEN 256

static const char *s_text =
    "collector\n"
    "    bind = tcp://*:5555\n"
    "    spool_max = \"12Q\"\n"
    "    store_max = 16M\n"
    "    port = 70000\n"
    "    workers = 4\n"
    "    negative = -7\n"
    "    junk = 12abc\n"
    "    empty = \"\"\n"
    "    interval = 250ms\n"
    "    bad_interval = 10x\n"
    "    huge = 99999999999999999999\n"
    "    insecure = yes\n"
    "    verbose = maybe\n"
    "    nested\n"
    "        depth = 2\n";

static config_t *s_config(void)
{
    char err[ERRLEN] = "";
    config_t *config = config_parse(s_text, err, sizeof err);
    assert_non_null(config);
    return config;
}

static void test_parse_and_str(void **state)
{
    (void) state;
    config_t *config = s_config();
    assert_string_equal(config_str(config, "collector/bind", "x"), "tcp://*:5555");
    assert_string_equal(config_str(config, "/collector/bind", "x"), "tcp://*:5555");
    assert_string_equal(config_str(config, "collector/nested/depth", "x"), "2");
    assert_string_equal(config_str(config, "collector/missing", "dflt"), "dflt");
    assert_null(config_str(config, "collector/missing", NULL));
    assert_string_equal(config_str(config, "collector/nested", "dflt"), "dflt");
    assert_string_equal(config_str(config, "collector/empty", "dflt"), "");
    config_destroy(&config);
    assert_null(config);
    config_destroy(&config);
    config_destroy(NULL);
}

static void test_parse_bad_text(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    assert_null(config_parse("collector\n  bind = x\n", err, sizeof err));
    assert_non_null(strstr(err, "not valid ZPL"));
    err[0] = '\0';
    assert_null(config_parse("a = \"unterminated\n", err, sizeof err));
    assert_true(strlen(err) > 0);
    assert_null(config_parse(NULL, err, sizeof err));
    config_t *config = config_parse("", err, sizeof err);
    assert_non_null(config);
    assert_string_equal(config_str(config, "a/b", "d"), "d");
    config_destroy(&config);
}

static void test_int(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    int64_t value = 0;
    config_t *config = s_config();

    assert_int_equal(config_int(config, "collector/workers", 1, 1, 64, &value, err, sizeof err), 0);
    assert_int_equal(value, 4);
    assert_int_equal(config_int(config, "collector/absent", 9, 1, 64, &value, err, sizeof err), 0);
    assert_int_equal(value, 9);
    assert_int_equal(config_int(config, "collector/negative", 0, -10, 10, &value, err, sizeof err), 0);
    assert_int_equal(value, -7);
    //  Boundaries are inclusive.
    assert_int_equal(config_int(config, "collector/workers", 0, 4, 4, &value, err, sizeof err), 0);
    assert_int_equal(config_int(config, "collector/workers", 0, 5, 10, &value, err, sizeof err), -1);
    assert_int_equal(config_int(config, "collector/workers", 0, 0, 3, &value, err, sizeof err), -1);

    assert_int_equal(config_int(config, "collector/port", 1, 1, 65535, &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/port: \"70000\" is out of range (1..65535)");
    assert_int_equal(config_int(config, "collector/junk", 1, 0, 100, &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/junk: \"12abc\" is not an integer");
    assert_int_equal(config_int(config, "collector/empty", 1, 0, 100, &value, err, sizeof err), -1);
    assert_int_equal(config_int(config, "collector/nested", 1, 0, 100, &value, err, sizeof err), 0);
    assert_int_equal(value, 1);
    assert_int_equal(config_int(config, "collector/huge", 1, 0, INT64_MAX, &value, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range"));
    config_destroy(&config);
}

static void test_size_getter(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    int64_t value = 0;
    config_t *config = s_config();

    assert_int_equal(config_size(config, "collector/store_max", 0, 0, INT64_MAX, &value, err, sizeof err), 0);
    assert_int_equal(value, 16 * 1024 * 1024);
    assert_int_equal(config_size(config, "collector/absent", 512, 0, 1024, &value, err, sizeof err), 0);
    assert_int_equal(value, 512);
    assert_int_equal(config_size(config, "collector/spool_max", 0, 0, INT64_MAX, &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/spool_max: \"12Q\" is not a size (use 16M, 512K, 1G or a byte count)");
    assert_int_equal(config_size(config, "collector/store_max", 0, 1024 * 1024, 8 * 1024 * 1024,
                                 &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/store_max: \"16M\" is out of range (1M..8M)");
    config_destroy(&config);
}

static void test_duration_getter(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    int64_t value = 0;
    config_t *config = s_config();

    assert_int_equal(config_duration_ms(config, "collector/interval", 0, 0, 60000, &value, err, sizeof err), 0);
    assert_int_equal(value, 250);
    assert_int_equal(config_duration_ms(config, "collector/absent", 1000, 0, 60000, &value, err, sizeof err), 0);
    assert_int_equal(value, 1000);
    assert_int_equal(config_duration_ms(config, "collector/bad_interval", 0, 0, 60000, &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/bad_interval: \"10x\" is not a duration (use 250ms, 10s, 2m, 1h)");
    assert_int_equal(config_duration_ms(config, "collector/interval", 0, 1000, 3600000, &value, err, sizeof err), -1);
    assert_string_equal(err, "collector/interval: \"250ms\" is out of range (1s..1h)");
    config_destroy(&config);
}

static void test_bool_getter(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    bool value = false;
    config_t *config = s_config();

    assert_int_equal(config_bool(config, "collector/insecure", false, &value, err, sizeof err), 0);
    assert_true(value);
    assert_int_equal(config_bool(config, "collector/absent", true, &value, err, sizeof err), 0);
    assert_true(value);
    assert_int_equal(config_bool(config, "collector/absent", false, &value, err, sizeof err), 0);
    assert_false(value);
    assert_int_equal(config_bool(config, "collector/verbose", false, &value, err, sizeof err), -1);
    assert_non_null(strstr(err, "collector/verbose: \"maybe\" is not a boolean"));
    config_destroy(&config);
}

static void test_parse_size(void **state)
{
    (void) state;
    int64_t v = -1;
    assert_int_equal(config_parse_size("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(config_parse_size("123", &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(config_parse_size("512K", &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(config_parse_size("16M", &v), 0);
    assert_int_equal(v, 16 * 1024 * 1024);
    assert_int_equal(config_parse_size("16m", &v), 0);
    assert_int_equal(v, 16 * 1024 * 1024);
    assert_int_equal(config_parse_size("1G", &v), 0);
    assert_int_equal(v, 1024 * 1024 * 1024);
    assert_int_equal(config_parse_size("8589934591G", &v), 0);
    assert_int_equal(v, INT64_C(8589934591) * 1024 * 1024 * 1024);
    assert_int_equal(config_parse_size("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);

    const char *bad[] = {"", "K", "12Q", "10x", "-1", "-1M", "+5", " 5", "5 ", "1.5G",
                         "16MB", "0x10", "1KK", "8589934592G", "9223372036854775808", NULL};
    for (int i = 0; bad[i]; i++) {
        v = 42;
        if (config_parse_size(bad[i], &v) == 0)
            fail_msg("size \"%s\" was accepted", bad[i]);
        assert_int_equal(v, 42);
    }
    assert_int_equal(config_parse_size(NULL, &v), -1);
}

static void test_parse_duration(void **state)
{
    (void) state;
    int64_t v = -1;
    struct {
        const char *text;
        int64_t ms;
    } good[] = {{"0", 0}, {"250", 250}, {"250ms", 250}, {"10s", 10000}, {"2m", 120000},
                {"1h", 3600000}, {"0s", 0}, {"2562047788015h", INT64_C(2562047788015) * 3600000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(config_parse_duration_ms(good[i].text, &v), 0);
        assert_int_equal(v, good[i].ms);
    }
    const char *bad[] = {"", "ms", "10x", "10S", "10 s", "-5s", "-1", "1.5s", "10sec", "5d",
                         "10msx", "2562047788016h", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++)
        if (config_parse_duration_ms(bad[i], &v) == 0)
            fail_msg("duration \"%s\" was accepted", bad[i]);
    assert_int_equal(config_parse_duration_ms(NULL, &v), -1);
}

static void test_parse_bool(void **state)
{
    (void) state;
    const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes", NULL};
    const char *no[] = {"false", "no", "off", "0", "False", "OFF", NULL};
    const char *bad[] = {"", "2", "y", "n", "truee", "maybe", " true", "-1", NULL};
    bool v;
    for (int i = 0; yes[i]; i++) {
        v = false;
        assert_int_equal(config_parse_bool(yes[i], &v), 0);
        assert_true(v);
    }
    for (int i = 0; no[i]; i++) {
        v = true;
        assert_int_equal(config_parse_bool(no[i], &v), 0);
        assert_false(v);
    }
    for (int i = 0; bad[i]; i++)
        if (config_parse_bool(bad[i], &v) == 0)
            fail_msg("bool \"%s\" was accepted", bad[i]);
    assert_int_equal(config_parse_bool(NULL, &v), -1);
}

static void test_load_file(void **state)
{
    (void) state;
    char dir[] = "/tmp/ferry-test-config-XXXXXX";
    char path[PATH_MAX], bad[PATH_MAX], err[ERRLEN] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/good.conf", dir);
    snprintf(bad, sizeof bad, "%s/bad.conf", dir);

    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("agent\n    name = lpar01   # comment\n    interval = 10s\n", file);
    fclose(file);
    file = fopen(bad, "w");
    assert_non_null(file);
    fputs("agent\n  name = lpar01\n", file);
    fclose(file);

    config_t *config = config_load(path, err, sizeof err);
    assert_non_null(config);
    assert_string_equal(config_str(config, "agent/name", NULL), "lpar01");
    int64_t ms = 0;
    assert_int_equal(config_duration_ms(config, "agent/interval", 0, 0, 60000, &ms, err, sizeof err), 0);
    assert_int_equal(ms, 10000);
    config_destroy(&config);

    assert_null(config_load(bad, err, sizeof err));
    assert_non_null(strstr(err, bad));
    assert_non_null(strstr(err, "not valid ZPL"));

    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing.conf", dir);
    assert_null(config_load(missing, err, sizeof err));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "No such file or directory"));

    assert_null(config_load(dir, err, sizeof err));
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(config_load(NULL, err, sizeof err));

    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(bad), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_null_config_gives_defaults(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    int64_t v = 0;
    bool b = false;
    assert_string_equal(config_str(NULL, "a/b", "d"), "d");
    assert_int_equal(config_int(NULL, "a/b", 5, 0, 10, &v, err, sizeof err), 0);
    assert_int_equal(v, 5);
    assert_int_equal(config_bool(NULL, "a/b", true, &b, err, sizeof err), 0);
    assert_true(b);
}

static void test_sections(void **state)
{
    (void) state;
    char err[256];
    config_t *config = config_parse("collector\n    bind = x\nhmc\n    name = hmc1\n"
                                    "    url = https://a\nhmc\n    name = hmc2\n", err, sizeof err);
    assert_non_null(config);
    config_t *first = config_section(config, "hmc", 0);
    config_t *second = config_section(config, "hmc", 1);
    assert_null(config_section(config, "hmc", 2));
    assert_string_equal(config_str(first, "name", NULL), "hmc1");
    assert_string_equal(config_str(first, "url", NULL), "https://a");
    assert_string_equal(config_str(second, "name", NULL), "hmc2");
    assert_null(config_str(second, "url", NULL));
    config_destroy(&first);
    config_destroy(&second);
    config_destroy(&config);
}

static void test_unknown_keys(void **state)
{
    (void) state;
    char err[512];
    static const char *const collector[] = { "bind", "batch_max", "database", NULL };
    static const char *const hmc[] = { "name", "url", NULL };
    static const config_section_keys_t sections[] = {
        { "collector", collector }, { "hmc", hmc }, { NULL, NULL } };
    config_t *config = config_parse("collector\n    bind = x\n    batch_max = 3\n"
                                    "hmc\n    name = a\nhmc\n    name = b\n    url = u\n",
                                    err, sizeof err);
    assert_non_null(config);
    assert_int_equal(config_check_keys(config, sections, err, sizeof err), 0);
    assert_string_equal(err, "");
    config_destroy(&config);
    //  Typos in a key, in the second of two repeated sections, and in a
    //  section name: each named, with the closest known name.
    config = config_parse("collector\n    bind = x\n    batchmax = 3\n    databse = y\n"
                          "hmc\n    name = a\nhmc\n    nmae = b\nplaner\n    poll = 1s\n"
                          "collector\n    colour = blue\n",
                          err, sizeof err);
    assert_non_null(config);
    assert_int_equal(config_check_keys(config, sections, err, sizeof err), -1);
    assert_string_equal(err, "collector/batchmax: unknown key (did you mean \"batch_max\"?);"
                             " collector/databse: unknown key (did you mean \"database\"?);"
                             " hmc/nmae: unknown key (did you mean \"name\"?);"
                             " planer: unknown section; collector/colour: unknown key");
    //  A short buffer says it was cut.
    char small[24];
    assert_int_equal(config_check_keys(config, sections, small, sizeof small), -1);
    assert_string_equal(small + strlen(small) - 3, "...");
    config_destroy(&config);
    //  No file, nothing unknown.
    assert_int_equal(config_check_keys(NULL, sections, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_parse_and_str),
        cmocka_unit_test(test_parse_bad_text),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_size_getter),
        cmocka_unit_test(test_duration_getter),
        cmocka_unit_test(test_bool_getter),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_null_config_gives_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
