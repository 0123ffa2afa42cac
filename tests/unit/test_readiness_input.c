/*  readiness_input: every field the readiness rules read comes from the
    right hmc_xml field, unknown systems stay unknown, and recorded HMC
    payloads (tests/fixtures/hmc, from pypowervm) give the findings they
    should through the parser, the conversion and the rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readiness_input.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/hmc/"
#define S_NOW_MS 1714646622000LL

static void s_hmc_system(hmc_system_t *s, const char *uuid, const char *name, const char *serial)
{
    memset(s, 0, sizeof *s);
    snprintf(s->uuid, sizeof s->uuid, "%s", uuid);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->serial, sizeof s->serial, "%s", serial);
    snprintf(s->state, sizeof s->state, "operating");
    s->lpm_capable = true;
    s->max_active_migrations = 4;
    s->active_migrations_in_progress = 1;
    s->memory_available_mb = 65536;
    s->memory_region_mb = 256;
    s->proc_units_available = 8.25;
    s->compat_mode_count = 2;
    snprintf(s->compat_modes[0], sizeof s->compat_modes[0], "POWER8");
    snprintf(s->compat_modes[1], sizeof s->compat_modes[1], "POWER9_Base");
}

static void s_check_system(const readiness_system_t *r, const hmc_system_t *s)
{
    assert_ptr_equal(r->uuid, s->uuid);
    assert_ptr_equal(r->name, s->name);
    assert_ptr_equal(r->state, s->state);
    assert_ptr_equal(r->serial, s->serial);
    assert_int_equal(r->lpm_capable, s->lpm_capable);
    assert_int_equal(r->max_active_migrations, s->max_active_migrations);
    assert_int_equal(r->active_migrations_in_progress, s->active_migrations_in_progress);
    assert_int_equal(r->memory_available_mb, s->memory_available_mb);
    assert_int_equal(r->memory_region_mb, s->memory_region_mb);
    assert_true(r->proc_units_available == s->proc_units_available);
    assert_int_equal(r->compat_mode_count, s->compat_mode_count);
    for (size_t i = 0; i < s->compat_mode_count; i++)
        assert_ptr_equal(r->compat_modes[i], s->compat_modes[i]);
}

//  Each field from its HMC counterpart (the strings borrowed, not copied);
//  the fields the caller fills are left alone.
static void test_fields(void **state)
{
    (void) state;
    hmc_partition_t part;
    memset(&part, 0, sizeof part);
    snprintf(part.name, sizeof part.name, "lpar01");
    snprintf(part.state, sizeof part.state, "running");
    snprintf(part.type, sizeof part.type, "AIX/Linux");
    snprintf(part.rmc_state, sizeof part.rmc_state, "active");
    snprintf(part.migration_state, sizeof part.migration_state, "Not_Migrating");
    snprintf(part.proc_compat_mode, sizeof part.proc_compat_mode, "POWER8");
    part.is_mgmt_partition = true;
    part.memory_mb = 16384;
    part.proc_units = 0.75;
    part.physical_io_slots = 3;
    hmc_system_t source, target;
    s_hmc_system(&source, "s-old", "P8-OLD", "21C48FV");
    s_hmc_system(&target, "s-new", "P10-NEW", "78AB12C");
    target.lpm_capable = false;
    target.max_active_migrations = -1;

    json_t *facts = json_object();
    readiness_input_t in = { .target_name = "P10-NEW", .facts = facts, .agent_serial = "21C48FV",
                             .now_ms = S_NOW_MS, .agent_last_seen_ms = S_NOW_MS - 1,
                             .agent_stale_ms = 15000 };
    readiness_hmc_view_t view;
    readiness_input_from_hmc(&in, &view, &part, &source, &target);

    const readiness_partition_t *p = in.partition;
    assert_ptr_equal(p, &view.partition);
    assert_ptr_equal(p->name, part.name);
    assert_ptr_equal(p->state, part.state);
    assert_ptr_equal(p->type, part.type);
    assert_ptr_equal(p->rmc_state, part.rmc_state);
    assert_ptr_equal(p->migration_state, part.migration_state);
    assert_ptr_equal(p->proc_compat_mode, part.proc_compat_mode);
    assert_true(p->is_mgmt_partition);
    assert_int_equal(p->memory_mb, 16384);
    assert_true(p->proc_units == 0.75);
    assert_int_equal(p->physical_io_slots, 3);
    assert_ptr_equal(in.source, &view.source);
    assert_ptr_equal(in.target, &view.target);
    s_check_system(in.source, &source);
    s_check_system(in.target, &target);

    assert_string_equal(in.target_name, "P10-NEW");
    assert_ptr_equal(in.facts, facts);
    assert_string_equal(in.agent_serial, "21C48FV");
    assert_int_equal(in.now_ms, S_NOW_MS);
    assert_int_equal(in.agent_last_seen_ms, S_NOW_MS - 1);
    assert_int_equal(in.agent_stale_ms, 15000);
    json_decref(facts);
}

//  A system the HMC does not know stays NULL (the rules say so), even when
//  in pointed somewhere before; a count past the parser's bound is cut.
static void test_unknown_systems(void **state)
{
    (void) state;
    hmc_partition_t part;
    memset(&part, 0, sizeof part);
    hmc_system_t target;
    s_hmc_system(&target, "s-new", "P10-NEW", "78AB12C");
    readiness_hmc_view_t view, other;
    readiness_input_t in = { .source = &other.source, .target = &other.target };
    readiness_input_from_hmc(&in, &view, &part, NULL, NULL);
    assert_ptr_equal(in.partition, &view.partition);
    assert_string_equal(in.partition->name, "");
    assert_null(in.source);
    assert_null(in.target);

    target.compat_mode_count = HMC_MAX_COMPAT_MODES + 5;
    readiness_input_from_hmc(&in, &view, &part, NULL, &target);
    assert_null(in.source);
    assert_ptr_equal(in.target, &view.target);
    assert_int_equal(in.target->compat_mode_count, HMC_MAX_COMPAT_MODES);
}

//  Whole fixture file, NUL-terminated, malloc'd.
static char *s_load(const char *name, size_t *len_p)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t) size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t) size, f), (size_t) size);
    text[size] = '\0';
    fclose(f);
    *len_p = (size_t) size;
    return text;
}

static const hmc_system_t *s_system_named(const hmc_system_t *sys, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(sys[i].name, name) == 0)
            return &sys[i];
    fail_msg("no system %s", name);
    return NULL;
}

static const readiness_finding_t *s_find(const readiness_report_t *r, const char *id)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->items[i].id, id) == 0)
            return &r->items[i];
    return NULL;
}

//  Recorded payloads end to end: a running partition on CAA moves to C6A
//  cleanly; to HV4 (MaximumActiveMigrations 0, 64 MB regions) it may not.
static void test_recorded_inventory(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("managedsystem.xml", &len);
    hmc_system_t *sys = NULL;
    size_t sys_count = 0;
    assert_int_equal(hmc_parse_systems(text, len, &sys, &sys_count, NULL), 0);
    free(text);
    text = s_load("lpar.xml", &len);
    hmc_partition_t *parts = NULL;
    size_t part_count = 0;
    assert_int_equal(hmc_parse_partitions(text, len, &parts, &part_count, NULL), 0);
    free(text);
    const hmc_partition_t *part = NULL;
    for (size_t i = 0; i < part_count; i++)
        if (strcmp(parts[i].name, "z3-9-5-127-7-0000002e") == 0)
            part = &parts[i];
    assert_non_null(part);
    const hmc_system_t *caa = s_system_named(sys, sys_count, "Server-8246-L1C-SN0604CAA");
    assert_string_equal(part->system_uuid, caa->uuid);

    json_t *facts = json_pack("{s:{s:s}, s:{s:[]}}", "system", "serial", "0604CAA", "adapters",
                              "physical");
    readiness_input_t in = { .target_name = "Server-8246-L1C-SN0604C6A", .facts = facts,
                             .now_ms = S_NOW_MS, .agent_last_seen_ms = S_NOW_MS - 1000,
                             .agent_stale_ms = 15000 };
    readiness_hmc_view_t view;
    readiness_report_t r;
    readiness_input_from_hmc(&in, &view, part, caa,
                             s_system_named(sys, sys_count, "Server-8246-L1C-SN0604C6A"));
    readiness_lpm(&in, &r);
    if (r.count)
        fail_msg("%s [%s]: %s", r.items[0].id, r.items[0].evidence, r.items[0].message);

    in.target_name = "HV4";
    readiness_input_from_hmc(&in, &view, part, caa, s_system_named(sys, sys_count, "HV4"));
    readiness_lpm(&in, &r);
    const readiness_finding_t *f = s_find(&r, "lpm.target_capable");
    assert_non_null(f);
    assert_string_equal(f->evidence,
                        "ActiveLogicalPartitionMobilityCapable=true MaximumActiveMigrations=0");
    f = s_find(&r, "lpm.memory_region");
    assert_non_null(f);
    assert_string_equal(f->evidence, "MemoryRegionSize source=256 target=64");

    //  The same system as source and target: nowhere to go.
    readiness_input_from_hmc(&in, &view, part, caa, caa);
    readiness_lpm(&in, &r);
    assert_non_null(s_find(&r, "lpm.target_differs"));
    json_decref(facts);
    free(parts);
    free(sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_unknown_systems),
        cmocka_unit_test(test_recorded_inventory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
