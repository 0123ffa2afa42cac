/*  watch: facts in, migration events out, state kept across restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watch.h"

typedef struct {
    char dir[64];       // temp dir
    char path[128];     // state file
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ferry-watch-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/state.json", f->dir);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *s_facts(const char *serial, const char *boot, const char *level, const char *rootvg,
                       const char *alt)
{
    json_t *facts = json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:[s]}}", "system", "serial", serial,
                              "boot_id", boot, "os", "level", level, "rootvg", "disks", rootvg);
    json_t *alt_vgs = json_array();
    if (alt)
        json_array_append_new(alt_vgs, json_pack("{s:s, s:[s]}", "name", "altinst_rootvg",
                                                 "disks", alt));
    json_object_set_new(facts, "alt_vgs", alt_vgs);
    return facts;
}

static const char *s_attr(json_t *event, const char *key)
{
    return json_string_value(json_object_get(json_object_get(event, "attrs"), key));
}

static void test_first_run_quiet(void **state)
{
    fixture_t *f = *state;
    watch_t *watch = watch_new(f->path);
    json_t *facts = s_facts("21C48FV", "b1", "7200-05-03-2148", "hdisk0", NULL);
    json_t *events = watch_facts(watch, facts, "start");
    assert_int_equal(json_array_size(events), 0);
    assert_string_equal(watch_last_serial(watch), "21C48FV");
    json_decref(events);
    json_decref(facts);
    watch_destroy(&watch);
    assert_null(watch);
    watch_destroy(&watch);
}

static void test_move_detected(void **state)
{
    fixture_t *f = *state;
    watch_t *watch = watch_new(f->path);
    json_t *events = watch_serial(watch, "21C48FV", "start");
    json_decref(events);
    events = watch_serial(watch, "21C48FV", "timer");
    assert_int_equal(json_array_size(events), 0);
    json_decref(events);
    events = watch_serial(watch, "21C48FW", "lpm-post");
    assert_int_equal(json_array_size(events), 1);
    json_t *event = json_array_get(events, 0);
    assert_string_equal(json_string_value(json_object_get(event, "kind")), "serial_changed");
    assert_string_equal(s_attr(event, "old"), "21C48FV");
    assert_string_equal(s_attr(event, "new"), "21C48FW");
    assert_string_equal(s_attr(event, "detected_by"), "lpm-post");
    json_decref(events);
    //  Unknown (NULL) serial: no event, the known one stays.
    events = watch_serial(watch, NULL, "timer");
    assert_int_equal(json_array_size(events), 0);
    assert_string_equal(watch_last_serial(watch), "21C48FW");
    json_decref(events);
    watch_destroy(&watch);
}

static void test_reboot_into_migrated_disk(void **state)
{
    fixture_t *f = *state;
    watch_t *watch = watch_new(f->path);
    json_t *facts = s_facts("21C48FV", "b1", "7200-05-03-2148", "hdisk0", "hdisk1");
    json_decref(watch_facts(watch, facts, "start"));
    json_decref(facts);
    watch_destroy(&watch);

    //  The agent restarts after the reboot: the state file remembers.
    watch = watch_new(f->path);
    facts = s_facts("21C48FV", "b2", "7300-02-01-2346", "hdisk1", NULL);
    json_t *events = watch_facts(watch, facts, "start");
    assert_int_equal(json_array_size(events), 4);
    const char *kinds[] = { "booted", "oslevel_changed", "rootvg_changed", "alt_vg_changed" };
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(events, i), "kind")),
                            kinds[i]);
    assert_string_equal(s_attr(json_array_get(events, 0), "previous_boot_id"), "b1");
    assert_string_equal(s_attr(json_array_get(events, 0), "boot_id"), "b2");
    assert_string_equal(s_attr(json_array_get(events, 2), "old"), "hdisk0");
    assert_string_equal(s_attr(json_array_get(events, 2), "new"), "hdisk1");
    assert_string_equal(s_attr(json_array_get(events, 3), "old"), "altinst_rootvg:hdisk1");
    assert_string_equal(s_attr(json_array_get(events, 3), "new"), "");
    json_decref(events);
    //  Same facts again: nothing new.
    events = watch_facts(watch, facts, "timer");
    assert_int_equal(json_array_size(events), 0);
    json_decref(events);
    json_decref(facts);
    watch_destroy(&watch);
}

static void test_aix_boot_time(void **state)
{
    fixture_t *f = *state;
    watch_t *watch = watch_new(f->path);
    json_t *facts = json_pack("{s:I}", "boot_time", (json_int_t) 1700000000);
    json_decref(watch_facts(watch, facts, "start"));
    json_decref(facts);
    //  A second of jitter in the derived boot time is no reboot ...
    facts = json_pack("{s:I}", "boot_time", (json_int_t) 1700000001);
    json_t *events = watch_facts(watch, facts, "timer");
    assert_int_equal(json_array_size(events), 0);
    json_decref(events);
    json_decref(facts);
    watch_destroy(&watch);
    //  ... a boot an hour later is, even across an agent restart.
    watch = watch_new(f->path);
    facts = json_pack("{s:I}", "boot_time", (json_int_t) 1700003600);
    events = watch_facts(watch, facts, "start");
    assert_int_equal(json_array_size(events), 1);
    assert_string_equal(s_attr(json_array_get(events, 0), "previous_boot_id"), "1700000000");
    assert_string_equal(s_attr(json_array_get(events, 0), "boot_id"), "1700003600");
    json_decref(events);
    json_decref(facts);
    watch_destroy(&watch);
}

static void test_damaged_state(void **state)
{
    fixture_t *f = *state;
    FILE *file = fopen(f->path, "w");
    fputs("{\"serial\": \"21C4", file);
    fclose(file);
    watch_t *watch = watch_new(f->path);
    assert_non_null(watch);
    assert_null(watch_last_serial(watch));
    json_t *events = watch_serial(watch, "21C48FV", "start");
    assert_int_equal(json_array_size(events), 0);
    json_decref(events);
    watch_destroy(&watch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_run_quiet, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_move_detected, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reboot_into_migrated_disk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_aix_boot_time, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
