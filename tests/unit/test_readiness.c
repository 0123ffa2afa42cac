/*  readiness: a healthy hop passes; each broken precondition is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "readiness.h"

//  2024-05-02 10:43:42 UTC: the evaluations' wall clock.
#define S_NOW_MS 1714646622000LL

typedef struct {
    readiness_partition_t partition;
    readiness_system_t source, target;
    json_t *facts;
    readiness_input_t in;
} fixture_t;

static void s_system(readiness_system_t *s, const char *uuid, const char *name, const char *serial)
{
    *s = (readiness_system_t){ .uuid = uuid, .name = name, .serial = serial, .state = "operating",
                               .lpm_capable = true, .max_active_migrations = 4,
                               .active_migrations_in_progress = 0, .memory_available_mb = 65536,
                               .memory_region_mb = 256, .proc_units_available = 8.0,
                               .compat_mode_count = 2, .compat_modes = { "POWER8", "POWER9_Base" } };
}

static int s_setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    f.partition = (readiness_partition_t){ .name = "lpar01", .state = "running", .type = "AIX/Linux",
                                           .rmc_state = "active", .migration_state = "Not_Migrating",
                                           .proc_compat_mode = "POWER8", .memory_mb = 16384,
                                           .proc_units = 0.5 };
    s_system(&f.source, "s-old", "P8-OLD", "21C48FV");
    s_system(&f.target, "s-new", "P10-NEW", "78AB12C");
    f.facts = json_pack("{s:{s:s}, s:{s:[], s:[s]}}", "system", "serial", "21C48FV", "adapters",
                        "physical", "virtual", "ent0");
    f.in = (readiness_input_t){ .partition = &f.partition, .source = &f.source,
                                .target = &f.target, .target_name = "P10-NEW",
                                .facts = f.facts, .agent_serial = NULL, .now_ms = S_NOW_MS,
                                .agent_last_seen_ms = S_NOW_MS - 2000, .agent_stale_ms = 15000 };
    *state = &f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    json_decref(f->facts);
    return 0;
}

static bool s_has(const readiness_report_t *r, const char *id, readiness_severity_t severity)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].id, id) == 0 && r->items[i].severity == severity)
            return true;
    return false;
}

//  The one finding with id (fails when there is none or more than one).
static const readiness_finding_t *s_find(const readiness_report_t *r, const char *id)
{
    const readiness_finding_t *found = NULL;
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].id, id) == 0) {
            assert_null(found);
            found = &r->items[i];
        }
    assert_non_null(found);
    return found;
}

//  Local times in the messages: a fixed zone (POSIX form, no tzdata needed).
static void s_zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static void test_healthy(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
    assert_false(readiness_blocked(&r));
}

static void test_partition_problems(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->partition.state = "not activated";
    f->partition.rmc_state = "inactive";
    f->partition.physical_io_slots = 1;
    readiness_lpm(&f->in, &r);
    assert_true(readiness_blocked(&r));
    assert_true(s_has(&r, "lpm.partition_running", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.rmc_active", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.virtual_io_only", READINESS_BLOCKER));
    char text[2048];
    readiness_blockers_text(&r, text, sizeof text);
    assert_non_null(strstr(text, "lssrc -s ctrmc"));
    json_t *list = readiness_to_json(&r);
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "evidence")),
                        "ResourceMonitoringControlState=inactive");
    json_decref(list);
}

static void test_agent_sees_physical_adapter(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    json_array_append_new(json_object_get(json_object_get(f->facts, "adapters"), "physical"),
                          json_string("fcs0"));
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.virtual_io_only", READINESS_BLOCKER));
    assert_non_null(strstr(r.items[0].message, "fcs0"));
}

static void test_already_migrating_and_vios(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->partition.migration_state = "Migration_Starting";
    f->partition.type = "Virtual IO Server";
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.not_migrating", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.movable_type", READINESS_BLOCKER));
}

static void test_target_problems(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->target.state = "power off";
    f->target.max_active_migrations = 0;   // HV4 in the recorded feed
    f->target.memory_available_mb = 1024;
    f->target.proc_units_available = 0.1;
    f->target.memory_region_mb = 128;
    f->partition.proc_compat_mode = "POWER7";
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.target_operating", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.target_capable", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.target_memory", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.target_processors", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.compat_mode", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.memory_region", READINESS_BLOCKER));
}

static void test_unknown_or_same_target(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->in.target = NULL;
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.target_known", READINESS_BLOCKER));
    f->in.target = &f->source;
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.target_differs", READINESS_BLOCKER));
}

static void test_concurrency_and_agent(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->target.active_migrations_in_progress = 4;
    f->in.facts = NULL;
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.concurrency", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.agent_reporting", READINESS_BLOCKER));
    f->target.active_migrations_in_progress = 0;
    f->in.facts = f->facts;
    json_object_set_new(json_object_get(f->facts, "system"), "serial", json_string("9999999"));
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_identity", READINESS_WARNING));
    assert_false(readiness_blocked(&r));
    //  Right after a hop: the agent already reported the new serial, its
    //  facts still hold the old one. The report wins; an empty one does not.
    f->in.agent_serial = f->source.serial;
    readiness_lpm(&f->in, &r);
    assert_false(s_has(&r, "lpm.agent_identity", READINESS_WARNING));
    f->in.agent_serial = "";
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_identity", READINESS_WARNING));
    f->in.agent_serial = "1234567";
    json_object_set_new(json_object_get(f->facts, "system"), "serial", json_string(f->source.serial));
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_identity", READINESS_WARNING));
}

static void test_agent_fresh_and_at_limit(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->in.agent_last_seen_ms = S_NOW_MS - 1;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
    //  Exactly as old as allowed is still reporting; a millisecond more is not.
    f->in.agent_last_seen_ms = S_NOW_MS - f->in.agent_stale_ms;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
    f->in.agent_last_seen_ms = S_NOW_MS - f->in.agent_stale_ms - 1;
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_reporting", READINESS_BLOCKER));
    assert_int_equal(r.count, 1);
    //  A message stamped after now (the wall clock stepped back) is recent.
    f->in.agent_last_seen_ms = S_NOW_MS + 5000;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
}

static void test_agent_stale(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    s_zone("UTC0");
    f->in.agent_stale_ms = 30000;
    f->in.agent_last_seen_ms = S_NOW_MS - 95000 + 250;   // 10:42:07.250
    readiness_lpm(&f->in, &r);
    assert_true(readiness_blocked(&r));
    const readiness_finding_t *found = s_find(&r, "lpm.agent_reporting");
    assert_int_equal(found->severity, READINESS_BLOCKER);
    if (!strstr(found->message, "lpar01 last reported at 10:42:07 (94 s ago, limit 30 s)"))
        fail_msg("message: %s", found->message);
    assert_non_null(strstr(found->message, "is it running"));
    assert_string_equal(found->evidence, "last message at 1714646527250 ms, now 1714646622000 ms,"
                                         " age 94750 ms, agent_stale_ms=30000");
    //  The time is local: two hours east of UTC it reads 12:42:07.
    s_zone("XYZ-2");
    readiness_lpm(&f->in, &r);
    assert_non_null(strstr(s_find(&r, "lpm.agent_reporting")->message, "at 12:42:07 ("));
    //  Another day: the date too, or the hour alone would mislead.
    s_zone("UTC0");
    f->in.agent_last_seen_ms = S_NOW_MS - 86400000LL;
    readiness_lpm(&f->in, &r);
    found = s_find(&r, "lpm.agent_reporting");
    if (!strstr(found->message, "at 2024-05-01 10:43:42 (86400 s ago, limit 30 s)"))
        fail_msg("message: %s", found->message);
    //  A limit of part seconds: both in ms.
    f->in.agent_stale_ms = 1500;
    f->in.agent_last_seen_ms = S_NOW_MS - 1900;
    readiness_lpm(&f->in, &r);
    assert_non_null(strstr(s_find(&r, "lpm.agent_reporting")->message, "(1900 ms ago, limit 1500 ms)"));
    //  The planner's one-line reason for the blocked move carries it.
    char text[1024];
    readiness_blockers_text(&r, text, sizeof text);
    assert_non_null(strstr(text, "lpm.agent_reporting: the ferry-agent of lpar01 last reported at"));
}

static void test_agent_never_seen(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->in.agent_last_seen_ms = 0;   // facts stored by an earlier run, nothing since
    readiness_lpm(&f->in, &r);
    const readiness_finding_t *found = s_find(&r, "lpm.agent_reporting");
    assert_int_equal(found->severity, READINESS_BLOCKER);
    if (!strstr(found->message, "no message from the ferry-agent of lpar01 is known"))
        fail_msg("message: %s", found->message);
    assert_non_null(strstr(found->evidence, "agent_stale_ms=15000"));
    //  No facts at all: the blocker of old, once.
    f->in.facts = NULL;
    readiness_lpm(&f->in, &r);
    found = s_find(&r, "lpm.agent_reporting");
    assert_string_equal(found->evidence, "no facts");
    assert_non_null(strstr(found->message, "no ferry-agent reports for lpar01"));
}

//  A limit left at 0 is the default for an unknown heartbeat: 30 s.
static void test_agent_stale_unset(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    f->in.agent_stale_ms = 0;
    f->in.agent_last_seen_ms = S_NOW_MS - 30000;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
    f->in.agent_last_seen_ms = S_NOW_MS - 30001;
    readiness_lpm(&f->in, &r);
    assert_non_null(strstr(s_find(&r, "lpm.agent_reporting")->message, "limit 30 s"));
}

static void test_agent_stale_default(void **state)
{
    (void) state;
    assert_int_equal(readiness_agent_stale_ms(5000, 0), 15000);      // agent default heartbeat
    assert_int_equal(readiness_agent_stale_ms(2000, 0), 6000);
    assert_int_equal(readiness_agent_stale_ms(1000, 0), 5000);       // the floor
    assert_int_equal(readiness_agent_stale_ms(50, 0), 5000);         // a window's pace
    assert_int_equal(readiness_agent_stale_ms(10000, 0), 30000);     // exactly the cap
    assert_int_equal(readiness_agent_stale_ms(10001, 0), 30000);
    assert_int_equal(readiness_agent_stale_ms(60000, 0), 30000);
    assert_int_equal(readiness_agent_stale_ms(INT64_MAX, 0), 30000); // no overflow
    assert_int_equal(readiness_agent_stale_ms(0, 0), 30000);         // unknown heartbeat
    assert_int_equal(readiness_agent_stale_ms(-5, -1), 30000);
    assert_int_equal(readiness_agent_stale_ms(5000, 90000), 90000);  // configured wins
    assert_int_equal(readiness_agent_stale_ms(0, 2000), 2000);
}

//  Verification needs the agent to report the target's serial: an agent
//  without one blocks the move before it starts, not after it failed.
static void test_agent_serial_unknown(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    json_object_del(json_object_get(f->facts, "system"), "serial");   // KVM guest on Power
    readiness_lpm(&f->in, &r);
    assert_true(readiness_blocked(&r));
    const readiness_finding_t *found = s_find(&r, "lpm.agent_serial_unknown");
    assert_int_equal(found->severity, READINESS_BLOCKER);
    assert_string_equal(found->evidence, "system.serial missing");
    if (!strstr(found->message, "the agent of lpar01 reports no hardware serial")
        || !strstr(found->message, "cannot be verified by serial"))
        fail_msg("message: %s", found->message);
    assert_false(s_has(&r, "lpm.agent_identity", READINESS_WARNING));
    assert_int_equal(r.count, 1);
    json_object_set_new(json_object_get(f->facts, "system"), "serial", json_string(""));
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_serial_unknown", READINESS_BLOCKER));
    json_object_del(f->facts, "system");
    f->in.agent_serial = "";
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.agent_serial_unknown", READINESS_BLOCKER));
    //  The serial the agent reported since its facts counts.
    f->in.agent_serial = f->source.serial;
    readiness_lpm(&f->in, &r);
    assert_int_equal(r.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partition_problems, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_sees_physical_adapter, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_already_migrating_and_vios, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_target_problems, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_or_same_target, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_and_agent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_fresh_and_at_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_stale, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_never_seen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_stale_unset, s_setup, s_teardown),
        cmocka_unit_test(test_agent_stale_default),
        cmocka_unit_test_setup_teardown(test_agent_serial_unknown, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
