/*  readiness: a healthy hop passes; each broken precondition is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "readiness.h"

typedef struct {
    hmc_partition_t partition;
    hmc_system_t source, target;
    json_t *facts;
    readiness_lpm_input_t in;
} fixture_t;

static void s_system(hmc_system_t *s, const char *uuid, const char *name, const char *serial)
{
    memset(s, 0, sizeof *s);
    snprintf(s->uuid, sizeof s->uuid, "%s", uuid);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->serial, sizeof s->serial, "%s", serial);
    snprintf(s->state, sizeof s->state, "operating");
    s->lpm_capable = true;
    s->max_active_migrations = 4;
    s->active_migrations_in_progress = 0;
    s->memory_available_mb = 65536;
    s->memory_region_mb = 256;
    s->proc_units_available = 8.0;
    s->compat_mode_count = 2;
    snprintf(s->compat_modes[0], sizeof s->compat_modes[0], "POWER8");
    snprintf(s->compat_modes[1], sizeof s->compat_modes[1], "POWER9_Base");
}

static int s_setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    hmc_partition_t *p = &f.partition;
    snprintf(p->uuid, sizeof p->uuid, "p-1");
    snprintf(p->name, sizeof p->name, "lpar01");
    snprintf(p->state, sizeof p->state, "running");
    snprintf(p->type, sizeof p->type, "AIX/Linux");
    snprintf(p->rmc_state, sizeof p->rmc_state, "active");
    snprintf(p->migration_state, sizeof p->migration_state, "Not_Migrating");
    snprintf(p->system_uuid, sizeof p->system_uuid, "s-old");
    snprintf(p->proc_compat_mode, sizeof p->proc_compat_mode, "POWER8");
    p->memory_mb = 16384;
    p->proc_units = 0.5;
    s_system(&f.source, "s-old", "P8-OLD", "21C48FV");
    s_system(&f.target, "s-new", "P10-NEW", "78AB12C");
    f.facts = json_pack("{s:{s:s}, s:{s:[], s:[s]}}", "system", "serial", "21C48FV", "adapters",
                        "physical", "virtual", "ent0");
    f.in = (readiness_lpm_input_t){ &f.partition, &f.source, &f.target, "P10-NEW", f.facts, NULL };
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
    snprintf(f->partition.state, sizeof f->partition.state, "not activated");
    snprintf(f->partition.rmc_state, sizeof f->partition.rmc_state, "inactive");
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
    snprintf(f->partition.migration_state, sizeof f->partition.migration_state, "Migration_Starting");
    snprintf(f->partition.type, sizeof f->partition.type, "Virtual IO Server");
    readiness_lpm(&f->in, &r);
    assert_true(s_has(&r, "lpm.not_migrating", READINESS_BLOCKER));
    assert_true(s_has(&r, "lpm.movable_type", READINESS_BLOCKER));
}

static void test_target_problems(void **state)
{
    fixture_t *f = *state;
    readiness_report_t r;
    snprintf(f->target.state, sizeof f->target.state, "power off");
    f->target.max_active_migrations = 0;   // HV4 in the recorded feed
    f->target.memory_available_mb = 1024;
    f->target.proc_units_available = 0.1;
    f->target.memory_region_mb = 128;
    snprintf(f->partition.proc_compat_mode, sizeof f->partition.proc_compat_mode, "POWER7");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
