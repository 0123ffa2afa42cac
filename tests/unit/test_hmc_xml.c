/*  test_hmc_xml — the HMC XML parsers on real recorded payloads
    (tests/fixtures/hmc, from pypowervm) and on odd input; the builders
    round-tripped through libxml2 and through our own request parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmc_xml.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/hmc/"

#define SYS_HV4 "caae9209-25e5-35cd-a71a-ed55c03f294d"
#define SYS_CAA "e955e11a-6ee0-3e04-987c-6fa319f8cb8c"
#define SYS_C6A "a168a3ec-bb3e-3ead-86c1-7d98b9d50239"
#define SYS_FAKE "726e9cb3-6576-3df5-ab60-40893d51d074"

// ------------------------------------------------------------------ helpers

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

static const hmc_partition_t *s_find_part(const hmc_partition_t *parts, size_t count,
                                          const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(parts[i].name, name) == 0)
            return &parts[i];
    fail_msg("partition %s not found", name);
    return NULL;
}

static size_t s_count_system(const hmc_partition_t *parts, size_t count, const char *uuid)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += strcmp(parts[i].system_uuid, uuid) == 0;
    return n;
}

static void s_close(double a, double b)
{
    if (fabs(a - b) > 1e-9)
        fail_msg("%f != %f", a, b);
}

// ------------------------------------------------------------------ systems

static void test_systems_feed(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("managedsystem.xml", &len);
    hmc_system_t *sys = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_systems(text, len, &sys, &count, &diag), 0);
    assert_int_equal(count, 3);
    if (diag.warnings)
        fail_msg("unexpected warning: %s", diag.warning);

    const hmc_system_t *hv4 = &sys[0];
    assert_string_equal(hv4->uuid, SYS_HV4);
    assert_string_equal(hv4->name, "HV4");
    assert_string_equal(hv4->state, "operating");
    assert_string_equal(hv4->serial, "ACE0001");
    assert_string_equal(hv4->machine_type, "8203");
    assert_string_equal(hv4->model, "E4A");
    assert_int_equal(hv4->max_active_migrations, 0);          // a real 0: no active LPM
    assert_int_equal(hv4->max_inactive_migrations, 5);
    assert_int_equal(hv4->active_migrations_in_progress, 0);
    assert_int_equal(hv4->inactive_migrations_in_progress, 0);
    assert_int_equal(hv4->max_firmware_active_migrations, 9);
    assert_true(hv4->lpm_capable);
    assert_true(hv4->inactive_lpm_capable);
    assert_int_equal(hv4->memory_installed_mb, 5767168);
    assert_int_equal(hv4->memory_available_mb, 5242752);
    assert_int_equal(hv4->memory_region_mb, 64);
    s_close(hv4->proc_units_installed, 500);
    s_close(hv4->proc_units_available, 500);
    assert_int_equal(hv4->compat_mode_count, 6);
    assert_string_equal(hv4->compat_modes[0], "default");
    assert_string_equal(hv4->compat_modes[1], "POWER5");
    assert_string_equal(hv4->compat_modes[5], "POWER7");

    const hmc_system_t *caa = &sys[1];
    assert_string_equal(caa->uuid, SYS_CAA);
    assert_string_equal(caa->name, "Server-8246-L1C-SN0604CAA");
    assert_string_equal(caa->serial, "0604CAA");
    assert_string_equal(caa->machine_type, "8246");
    assert_string_equal(caa->model, "L1C");
    assert_int_equal(caa->max_active_migrations, 16);
    assert_int_equal(caa->max_inactive_migrations, 4);
    assert_int_equal(caa->memory_installed_mb, 98304);
    assert_int_equal(caa->memory_available_mb, 88832);
    assert_int_equal(caa->memory_region_mb, 256);
    s_close(caa->proc_units_installed, 8);
    s_close(caa->proc_units_available, 7.6);
    assert_int_equal(caa->compat_mode_count, 4);
    assert_string_equal(caa->compat_modes[2], "POWER6_Plus");

    const hmc_system_t *c6a = &sys[2];
    assert_string_equal(c6a->uuid, SYS_C6A);
    assert_string_equal(c6a->name, "Server-8246-L1C-SN0604C6A");
    assert_string_equal(c6a->serial, "0604C6A");
    assert_string_equal(c6a->state, "operating");
    assert_int_equal(c6a->max_active_migrations, 16);
    assert_int_equal(c6a->memory_available_mb, 76032);
    s_close(c6a->proc_units_available, 1);
    assert_true(c6a->lpm_capable);
    free(sys);
    free(text);
}

//  Prefixes differ, namespaces are what counts; a bare object as root.
static void test_systems_prefix_and_bare(void **state)
{
    (void) state;
    const char *doc =
        "<a:feed xmlns:a='" HMC_NS_ATOM "'><a:entry><a:id>" SYS_HV4 "</a:id><a:content>"
        "<zz:ManagedSystem xmlns:zz='" HMC_NS_UOM "'>"
        "<zz:SystemName kb='CUR' kxe='false'> sysA </zz:SystemName><zz:State>operating</zz:State>"
        "<zz:MachineTypeModelAndSerialNumber><zz:MachineType>9009</zz:MachineType>"
        "<zz:Model>42A</zz:Model><zz:SerialNumber>7800001</zz:SerialNumber>"
        "</zz:MachineTypeModelAndSerialNumber>"
        "<zz:SystemMigrationInformation><zz:MaximumActiveMigrations>8</zz:MaximumActiveMigrations>"
        "<zz:MaximumInactiveMigrations>4</zz:MaximumInactiveMigrations>"
        "<zz:NumberOfActiveMigrationsInProgress>2</zz:NumberOfActiveMigrationsInProgress>"
        "<zz:NumberOfInactiveMigrationsInProgress>0</zz:NumberOfInactiveMigrationsInProgress>"
        "</zz:SystemMigrationInformation>"
        "<zz:AssociatedSystemCapabilities><zz:ActiveLogicalPartitionMobilityCapable>TRUE"
        "</zz:ActiveLogicalPartitionMobilityCapable></zz:AssociatedSystemCapabilities>"
        "<zz:AssociatedSystemMemoryConfiguration><zz:InstalledSystemMemory>1024</zz:InstalledSystemMemory>"
        "<zz:CurrentAvailableSystemMemory>512</zz:CurrentAvailableSystemMemory>"
        "</zz:AssociatedSystemMemoryConfiguration>"
        "<zz:AssociatedSystemProcessorConfiguration>"
        "<zz:InstalledSystemProcessorUnits>16</zz:InstalledSystemProcessorUnits>"
        "<zz:CurrentAvailableSystemProcessorUnits>.25</zz:CurrentAvailableSystemProcessorUnits>"
        "</zz:AssociatedSystemProcessorConfiguration>"
        "<other:SystemName xmlns:other='urn:other'>WRONG</other:SystemName>"
        "</zz:ManagedSystem></a:content></a:entry></a:feed>";
    hmc_system_t *sys = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_systems(doc, strlen(doc), &sys, &count, &diag), 0);
    assert_int_equal(count, 1);
    assert_int_equal(diag.warnings, 0);
    assert_string_equal(sys[0].uuid, SYS_HV4);       // from the Atom id: no AtomID here
    assert_string_equal(sys[0].name, "sysA");
    assert_int_equal(sys[0].max_active_migrations, 8);
    assert_int_equal(sys[0].active_migrations_in_progress, 2);
    assert_true(sys[0].lpm_capable);
    s_close(sys[0].proc_units_available, 0.25);
    assert_int_equal(sys[0].memory_region_mb, -1);   // optional, absent
    free(sys);

    const char *bare = "<ManagedSystem xmlns='" HMC_NS_UOM "'><SystemName>b</SystemName></ManagedSystem>";
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_systems(bare, strlen(bare), &sys, &count, &diag), 0);
    assert_int_equal(count, 1);
    assert_string_equal(sys[0].name, "b");
    assert_string_equal(sys[0].uuid, "");
    assert_int_equal(sys[0].max_active_migrations, -1);
    assert_int_equal(sys[0].memory_installed_mb, -1);
    s_close(sys[0].proc_units_installed, -1);
    assert_false(sys[0].lpm_capable);
    assert_true(diag.warnings >= 10);
    assert_non_null(strstr(diag.warning, "ManagedSystem 'b'"));
    free(sys);
}

static void test_systems_odd_values(void **state)
{
    (void) state;
    char name[300];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char doc[2048];
    snprintf(doc, sizeof doc,
             "<ManagedSystem xmlns='" HMC_NS_UOM "'><Metadata><Atom><AtomID>not-a-uuid</AtomID>"
             "</Atom></Metadata><SystemName>%s</SystemName><State>op\x01" "erating</State>"
             "<SystemMigrationInformation><MaximumActiveMigrations>lots</MaximumActiveMigrations>"
             "<NumberOfActiveMigrationsInProgress>99999999999999999999</NumberOfActiveMigrationsInProgress>"
             "</SystemMigrationInformation><AssociatedSystemCapabilities>"
             "<ActiveLogicalPartitionMobilityCapable>maybe</ActiveLogicalPartitionMobilityCapable>"
             "</AssociatedSystemCapabilities><AssociatedSystemProcessorConfiguration>"
             "<InstalledSystemProcessorUnits>1,5</InstalledSystemProcessorUnits>"
             "</AssociatedSystemProcessorConfiguration></ManagedSystem>", name);
    hmc_system_t *sys = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    //  \x01 is not allowed in XML 1.0: refused as a whole.
    assert_int_equal(hmc_parse_systems(doc, strlen(doc), &sys, &count, &diag), -1);
    assert_non_null(strstr(diag.error, "not well-formed"));

    char *ctl = strstr(doc, "\x01");
    memmove(ctl, ctl + 1, strlen(ctl));
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_systems(doc, strlen(doc), &sys, &count, &diag), 0);
    assert_int_equal(count, 1);
    assert_int_equal(strlen(sys[0].name), HMC_NAME_SIZE - 1);   // cut, with a warning
    assert_string_equal(sys[0].uuid, "");                       // not a UUID: dropped
    assert_int_equal(sys[0].max_active_migrations, -1);
    assert_int_equal(sys[0].active_migrations_in_progress, -1);
    assert_false(sys[0].lpm_capable);
    s_close(sys[0].proc_units_installed, -1);
    assert_true(diag.warnings >= 6);
    assert_non_null(strstr(diag.warning, "SystemName"));
    free(sys);
}

// ------------------------------------------------------------------ partitions

static void test_partitions_lpar_feed(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("lpar.xml", &len);
    hmc_partition_t *parts = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_partitions(text, len, &parts, &count, &diag), 0);
    assert_int_equal(count, 21);
    assert_int_equal(s_count_system(parts, count, SYS_C6A), 14);
    assert_int_equal(s_count_system(parts, count, SYS_CAA), 6);
    assert_int_equal(s_count_system(parts, count, SYS_HV4), 1);
    size_t running = 0;
    for (size_t i = 0; i < count; i++) {
        running += strcmp(parts[i].state, "running") == 0;
        assert_true(hmc_uuid_valid(parts[i].uuid));
        assert_true(parts[i].id > 0);
        assert_string_equal(parts[i].type, "AIX/Linux");
        assert_string_equal(parts[i].migration_state, "");   // this HMC did not send it
        assert_int_equal(parts[i].physical_io_slots, 0);
    }
    assert_int_equal(running, 4);

    const hmc_partition_t *p = &parts[0];
    assert_string_equal(p->name, "z3-9-5-126-127-00000001");
    assert_string_equal(p->uuid, "089FFB20-5D19-4A8C-BB80-13650627D985");
    assert_int_equal(p->id, 9);
    assert_string_equal(p->state, "not activated");
    assert_string_equal(p->rmc_state, "inactive");
    assert_string_equal(p->system_uuid, SYS_C6A);
    assert_string_equal(p->proc_compat_mode, "POWER6_Plus");
    assert_true(p->is_mgmt_partition);
    assert_false(p->dedicated_procs);
    assert_int_equal(p->memory_mb, 512);
    s_close(p->proc_units, 0.5);

    p = s_find_part(parts, count, "z3-9-5-127-7-0000002e");
    assert_int_equal(p->id, 6);
    assert_string_equal(p->state, "running");
    assert_string_equal(p->rmc_state, "active");
    assert_string_equal(p->system_uuid, SYS_CAA);
    assert_false(p->is_mgmt_partition);

    p = s_find_part(parts, count, "z3-9-5-127-7-00000029");      // dedicated processors
    assert_string_equal(p->uuid, "23FEE581-94AF-4E80-843D-B14409D9A101");
    assert_int_equal(p->id, 3);
    assert_true(p->dedicated_procs);
    s_close(p->proc_units, 1);

    p = s_find_part(parts, count, "kevin1");
    assert_string_equal(p->uuid, "6D459A1E-D028-4F36-83FF-207F29700FB8");
    assert_int_equal(p->memory_mb, 256);
    s_close(p->proc_units, 0.1);

    p = s_find_part(parts, count, "linux1");                     // no memory configuration
    assert_string_equal(p->system_uuid, SYS_HV4);
    assert_string_equal(p->rmc_state, "none");
    assert_int_equal(p->memory_mb, -1);
    assert_true(diag.warnings >= 1);
    assert_non_null(strstr(diag.warning, "linux1"));
    free(parts);
    free(text);
}

static void test_partitions_fake_feed(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("fake_lpar_feed.xml", &len);
    hmc_partition_t *parts = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_partitions(text, len, &parts, &count, &diag), 0);
    assert_int_equal(count, 17);
    if (diag.warnings)
        fail_msg("unexpected warning: %s", diag.warning);
    assert_int_equal(s_count_system(parts, count, SYS_FAKE), 17);
    size_t running = 0;
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(parts[i].migration_state, "Not_Migrating");
        running += strcmp(parts[i].state, "running") == 0;
    }
    assert_int_equal(running, 13);

    assert_string_equal(parts[0].name, "nls2-a7444660-00000002");
    assert_string_equal(parts[0].uuid, "4AC82E78-8EFF-4BAA-87C9-6B243D0C1359");
    assert_int_equal(parts[0].id, 26);
    assert_string_equal(parts[0].state, "running");
    assert_string_equal(parts[0].rmc_state, "none");

    const hmc_partition_t *p = s_find_part(parts, count, "vm_2-9093a051-00000015");
    assert_string_equal(p->state, "error");
    assert_int_equal(p->id, 22);

    p = s_find_part(parts, count, "PowerVC_Import_RHEL59");
    assert_int_equal(p->id, 151);
    assert_string_equal(p->rmc_state, "active");
    assert_string_equal(p->proc_compat_mode, "POWER6_Plus");
    assert_int_equal(p->memory_mb, 8192);
    s_close(p->proc_units, 0.2);

    p = s_find_part(parts, count, "dst_demo-a981b540-00000009");
    assert_string_equal(p->uuid, "4BA68943-9A77-4B0B-A936-6A3F9EE9B7C7");
    assert_int_equal(p->id, 9);
    free(parts);
    free(text);
}

//  Physical slots, a VIOS, a query string in the system link.
static void test_partitions_synthetic(void **state)
{
    (void) state;
    const char *doc =
        "<feed xmlns='" HMC_NS_ATOM "'>"
        "<entry><id>11111111-2222-3333-4444-555555555555</id><content>"
        "<VirtualIOServer:VirtualIOServer xmlns:VirtualIOServer='" HMC_NS_UOM "' xmlns='" HMC_NS_UOM "'>"
        "<PartitionName>vios1</PartitionName><PartitionID>1</PartitionID>"
        "<PartitionState>running</PartitionState><PartitionType>Virtual IO Server</PartitionType>"
        "<ResourceMonitoringControlState>active</ResourceMonitoringControlState>"
        "<MigrationState>Not_Migrating</MigrationState>"
        "<AssociatedManagedSystem href='https://h:443/rest/api/uom/ManagedSystem/" SYS_CAA "?group=None' rel='related'/>"
        "<PartitionIOConfiguration><ProfileIOSlots><ProfileIOSlot/><ProfileIOSlot/></ProfileIOSlots>"
        "</PartitionIOConfiguration>"
        "<PartitionMemoryConfiguration><CurrentMemory>4096</CurrentMemory></PartitionMemoryConfiguration>"
        "<PartitionProcessorConfiguration><CurrentSharedProcessorConfiguration>"
        "<CurrentProcessingUnits>1.5</CurrentProcessingUnits></CurrentSharedProcessorConfiguration>"
        "</PartitionProcessorConfiguration>"
        "</VirtualIOServer:VirtualIOServer></content></entry>"
        "<entry><content><HttpErrorResponse xmlns='" HMC_NS_WEB "'/></content></entry>"
        "</feed>";
    hmc_partition_t *parts = NULL;
    size_t count = 0;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_partitions(doc, strlen(doc), &parts, &count, &diag), 0);
    assert_int_equal(count, 1);
    assert_int_equal(diag.warnings, 1);                     // the odd second entry
    assert_non_null(strstr(diag.warning, "entry 2"));
    assert_string_equal(parts[0].name, "vios1");
    assert_string_equal(parts[0].uuid, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(parts[0].type, "Virtual IO Server");
    assert_string_equal(parts[0].system_uuid, SYS_CAA);
    assert_int_equal(parts[0].physical_io_slots, 2);
    assert_int_equal(parts[0].memory_mb, 4096);
    s_close(parts[0].proc_units, 1.5);
    free(parts);

    //  A ManagedSystem feed is not a partition feed: all entries skipped.
    size_t len;
    char *text = s_load("managedsystem.xml", &len);
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_partitions(text, len, &parts, &count, &diag), 0);
    assert_int_equal(count, 0);
    assert_null(parts);
    assert_int_equal(diag.warnings, 3);
    free(text);

    text = s_load("managementconsole.xml", &len);
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_partitions(text, len, &parts, &count, &diag), 0);
    assert_int_equal(count, 0);
    free(text);
}

// ------------------------------------------------------------------ logon

static void test_logon_response(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("logon_response.xml", &len);
    char *token = hmc_parse_logon_response(text, len, NULL);
    assert_non_null(token);
    assert_string_equal(token,
                        "PUIoR6x0kP6fQqA7qZ8sLZQJ8MLx9JHfLCYzT4oGFSE2WaGIhaFXIyQYvbqdKNS8QagjBpPi9NP7"
                        "YR_h61SOJ3krS_RvKAp-oCf2p8x8uvQrrDv-dUzc17IT5DkR7_jv2qc8iUD7DJ6Rw53a17rY0p63"
                        "KqPg9oUGd6Bn3fNDLiEwaBR4WICftVxUFj-tfWMOyZZY2hWEtN2K8ScXvyFMe-w3SleyRbGnlR34"
                        "jb0A99s=");
    free(token);
    free(text);

    const char *spaced = "<w:LogonResponse xmlns:w='" HMC_NS_WEB "'><w:X-API-Session>\n"
                         "   abc\r\n  def\t\n</w:X-API-Session></w:LogonResponse>";
    token = hmc_parse_logon_response(spaced, strlen(spaced), NULL);
    assert_non_null(token);
    assert_string_equal(token, "abcdef");
    free(token);

    hmc_xml_diag_t diag = {0};
    const char *empty = "<LogonResponse xmlns='" HMC_NS_WEB "'><X-API-Session> \n </X-API-Session></LogonResponse>";
    assert_null(hmc_parse_logon_response(empty, strlen(empty), &diag));
    assert_non_null(strstr(diag.error, "empty"));

    const char *other_ns = "<LogonResponse xmlns='urn:x'><X-API-Session>t</X-API-Session></LogonResponse>";
    assert_null(hmc_parse_logon_response(other_ns, strlen(other_ns), NULL));
    const char *missing = "<LogonResponse xmlns='" HMC_NS_WEB "'/>";
    memset(&diag, 0, sizeof diag);
    assert_null(hmc_parse_logon_response(missing, strlen(missing), &diag));
    assert_non_null(strstr(diag.error, "X-API-Session"));
}

// ------------------------------------------------------------------ jobs

static void test_job_completed_ok(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("job_response_completed_ok.xml", &len);
    hmc_job_status_t job;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_job_response(text, len, &job, &diag), 0);
    assert_int_equal(diag.warnings, 0);
    assert_string_equal(job.job_id, "1375391227297");
    assert_string_equal(job.status, "COMPLETED_OK");
    assert_int_equal(job.state, HMC_JOB_COMPLETED_OK);
    assert_true(hmc_job_state_final(job.state));
    assert_true(hmc_job_state_ok(job.state));
    assert_string_equal(job.operation, "ActivateCurrentProfile");
    assert_string_equal(job.target_uuid, "6D459A1E-D028-4F36-83FF-207F29700FB8");
    assert_int_equal(job.time_started_ms, 1375441290642LL);
    assert_int_equal(job.time_completed_ms, 1375441301998LL);
    s_close(job.progress, -1);
    assert_string_equal(job.progress_text, "Complete");
    assert_int_equal(job.result_count, 1);
    assert_string_equal(hmc_kv_get(job.results, job.result_count, "returnCode"), "0");
    assert_null(job.result_message);
    assert_null(job.exception_message);
    char line[512];
    assert_string_equal(hmc_job_describe(&job, line, sizeof line),
                        "ActivateCurrentProfile job 1375391227297 COMPLETED_OK");
    hmc_job_status_clear(&job);
    assert_null(job.results);
    free(text);
}

static void test_job_completed_with_error(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("job_response_completed_failed.xml", &len);
    hmc_job_status_t job;
    assert_int_equal(hmc_parse_job_response(text, len, &job, NULL), 0);
    assert_string_equal(job.job_id, "1376478617707");
    assert_int_equal(job.state, HMC_JOB_COMPLETED_WITH_ERROR);
    assert_true(hmc_job_state_final(job.state));
    assert_false(hmc_job_state_ok(job.state));
    assert_string_equal(job.operation, "PowerOff");
    s_close(job.progress, 1.0);
    assert_string_equal(job.progress_text, "Completed with error");
    assert_int_equal(job.result_count, 2);
    assert_string_equal(hmc_kv_get(job.results, job.result_count, "returnCode"), "1");
    //  The raw value keeps its newline, the message is one clean line.
    const char *raw = hmc_kv_get(job.results, job.result_count, "result");
    assert_non_null(raw);
    assert_non_null(strchr(raw, '\n'));
    assert_string_equal(job.result_message,
                        "HSCL05DF The partition is not in a state under which this operation can "
                        "be performed. Check the state of the partition.");
    assert_null(job.exception_message);
    char line[512];
    hmc_job_describe(&job, line, sizeof line);
    assert_string_equal(line, "PowerOff job 1376478617707 COMPLETED_WITH_ERROR: HSCL05DF The "
                              "partition is not in a state under which this operation can be "
                              "performed. Check the state of the partition.");
    hmc_job_status_clear(&job);
    free(text);
}

static void test_job_failed_before_completion(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("job_response_exception.xml", &len);
    hmc_job_status_t job;
    assert_int_equal(hmc_parse_job_response(text, len, &job, NULL), 0);
    assert_string_equal(job.job_id, "1376474747145");
    assert_int_equal(job.state, HMC_JOB_FAILED_BEFORE_COMPLETION);
    assert_true(hmc_job_state_final(job.state));
    assert_false(hmc_job_state_ok(job.state));
    assert_string_equal(job.operation, "CLIRunner");
    assert_string_equal(job.target_uuid, "");
    assert_int_equal(job.result_count, 0);
    assert_null(job.result_message);
    assert_string_equal(job.exception_message,
                        "com.ibm.pmc.jaxb.api.server.jobs.PmcJobException: Unsupported commmand lssyscfg");
    char line[512];
    assert_non_null(strstr(hmc_job_describe(&job, line, sizeof line),
                           "FAILED_BEFORE_COMPLETION: com.ibm.pmc"));
    hmc_job_status_clear(&job);
    free(text);
}

static void test_job_states_and_odd_responses(void **state)
{
    (void) state;
    assert_int_equal(hmc_job_state_parse("NOT_STARTED"), HMC_JOB_NOT_STARTED);
    assert_int_equal(hmc_job_state_parse("RUNNING"), HMC_JOB_RUNNING);
    assert_int_equal(hmc_job_state_parse("COMPLETED_WITH_WARNINGS"), HMC_JOB_COMPLETED_WITH_WARNINGS);
    assert_int_equal(hmc_job_state_parse("SOMETHING_NEW"), HMC_JOB_UNKNOWN);
    assert_int_equal(hmc_job_state_parse(NULL), HMC_JOB_UNKNOWN);
    assert_false(hmc_job_state_final(HMC_JOB_RUNNING));
    assert_false(hmc_job_state_final(HMC_JOB_NOT_STARTED));
    assert_true(hmc_job_state_final(HMC_JOB_UNKNOWN));        // unknown = failure, final
    assert_false(hmc_job_state_ok(HMC_JOB_UNKNOWN));
    assert_true(hmc_job_state_ok(HMC_JOB_COMPLETED_WITH_WARNINGS));
    assert_string_equal(hmc_job_state_name(HMC_JOB_RUNNING), "RUNNING");

    //  No JobID: the id comes from the SELF link. Unknown status: a warning.
    const char *doc = "<entry xmlns='" HMC_NS_ATOM "'><link rel='SELF' href='https://h/rest/api/uom/jobs/42'/>"
                      "<content><JobResponse xmlns='" HMC_NS_WEB "'><Status>PAUSED</Status>"
                      "<TimeStarted>x</TimeStarted></JobResponse></content></entry>";
    hmc_job_status_t job;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_job_response(doc, strlen(doc), &job, &diag), 0);
    assert_string_equal(job.job_id, "42");
    assert_int_equal(job.state, HMC_JOB_UNKNOWN);
    assert_int_equal(job.time_started_ms, -1);
    assert_int_equal(diag.warnings, 2);
    hmc_job_status_clear(&job);

    //  An error entry is not a job.
    size_t len;
    char *text = s_load("fake_httperror.xml", &len);
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_job_response(text, len, &job, &diag), -1);
    assert_non_null(strstr(diag.error, "Unable to send command to VIOS"));
    assert_null(job.results);
    free(text);
}

// ------------------------------------------------------------------ errors

static void test_http_errors(void **state)
{
    (void) state;
    size_t len;
    char *text = s_load("fake_httperror.xml", &len);
    hmc_http_error_t err;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_http_error(text, len, &err, &diag), 0);
    assert_int_equal(diag.warnings, 0);
    assert_int_equal(err.http_status, 500);
    assert_string_equal(err.request_uri,
                        "/rest/api/uom/SharedStoragePool/3dc777cb-e7b1-3f3d-b904-b5e34b47c6fe");
    assert_string_equal(err.reason_code, "Unknown internal error.");
    assert_string_equal(err.message,
                        "Unexpected error occurred while fetching Cluster/SSP information : "
                        "9999-99Z*2125D4A/1 : Unable to send command to VIOS at this moment. VIOS "
                        "1*9999-99Z*2125D4A is busy processing some other request. Please retry "
                        "the operation after sometime.");
    free(text);

    text = s_load("fake_httperror_service_unavail.xml", &len);
    assert_int_equal(hmc_parse_http_error(text, len, &err, NULL), 0);
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.message, "Test error");
    free(text);

    const char *bare = "<HttpErrorResponse xmlns='" HMC_NS_WEB "'><HTTPStatus>401</HTTPStatus>"
                       "<Message>  session\n   expired  </Message></HttpErrorResponse>";
    assert_int_equal(hmc_parse_http_error(bare, strlen(bare), &err, NULL), 0);
    assert_int_equal(err.http_status, 401);
    assert_string_equal(err.message, "session expired");

    text = s_load("lpar.xml", &len);
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_http_error(text, len, &err, &diag), -1);  // a feed, no error
    assert_non_null(strstr(diag.error, "no HttpErrorResponse"));
    free(text);
    const char *html = "<html><body>Bad gateway</body></html>";
    memset(&diag, 0, sizeof diag);
    assert_int_equal(hmc_parse_http_error(html, strlen(html), &err, &diag), -1);
    assert_non_null(strstr(diag.error, "html"));
}

// ------------------------------------------------------------------ builders

//  Text of the first element named local (web namespace) under node, depth-first.
static char *s_find_text(xmlNode *node, const char *local)
{
    for (xmlNode *c = node; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && c->ns
            && strcmp((const char *) c->ns->href, HMC_NS_WEB) == 0
            && strcmp((const char *) c->name, local) == 0)
            return (char *) xmlNodeGetContent(c);
        char *found = s_find_text(c->children, local);
        if (found)
            return found;
    }
    return NULL;
}

static void test_build_job_request(void **state)
{
    (void) state;
    const hmc_param_t params[] = {
        {"TargetManagedSystemName", "Server-8246-L1C-SN0604CAA"},
        {"DestMSPIPaddr", "10.0.0.1,10.0.0.2"},
        {"Odd", "a&b<c>\"d'e ü"},
    };
    char err[256] = "";
    char *xml = hmc_build_job_request("Migrate", "LogicalPartition", params, 3, err, sizeof err);
    if (!xml)
        fail_msg("build: %s", err);

    xmlDoc *doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlNode *root = xmlDocGetRootElement(doc);
    assert_string_equal((const char *) root->name, "JobRequest");
    assert_string_equal((const char *) root->ns->href, HMC_NS_WEB);
    char *op = s_find_text(root, "OperationName");
    char *group = s_find_text(root, "GroupName");
    assert_string_equal(op, "Migrate");
    assert_string_equal(group, "LogicalPartition");
    xmlFree(op);
    xmlFree(group);
    int n = 0;
    for (xmlNode *c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, "JobParameters") == 0)
            for (xmlNode *p = c->children; p; p = p->next)
                n += p->type == XML_ELEMENT_NODE && strcmp((const char *) p->name, "JobParameter") == 0;
    assert_int_equal(n, 3);
    xmlFreeDoc(doc);

    hmc_job_request_t req;
    hmc_xml_diag_t diag = {0};
    assert_int_equal(hmc_parse_job_request(xml, strlen(xml), &req, &diag), 0);
    assert_string_equal(req.operation, "Migrate");
    assert_string_equal(req.group, "LogicalPartition");
    assert_int_equal(req.param_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(req.params[i].name, params[i].name);
        assert_string_equal(req.params[i].value, params[i].value);
    }
    hmc_job_request_clear(&req);
    free(xml);

    //  Without parameters; refusals.
    xml = hmc_build_job_request("MigrateAbort", "LogicalPartition", NULL, 0, err, sizeof err);
    assert_non_null(xml);
    assert_int_equal(hmc_parse_job_request(xml, strlen(xml), &req, NULL), 0);
    assert_int_equal(req.param_count, 0);
    assert_string_equal(req.operation, "MigrateAbort");
    hmc_job_request_clear(&req);
    free(xml);
    assert_null(hmc_build_job_request("Mig rate", "LogicalPartition", NULL, 0, err, sizeof err));
    const hmc_param_t bad_name = {"a<b", "x"};
    assert_null(hmc_build_job_request("Migrate", "LogicalPartition", &bad_name, 1, err, sizeof err));
    const hmc_param_t bad_value = {"X", "a\x01" "b"};
    assert_null(hmc_build_job_request("Migrate", "LogicalPartition", &bad_value, 1, err, sizeof err));
    const hmc_param_t bad_utf8 = {"X", "a\xff" "b"};
    assert_null(hmc_build_job_request("Migrate", "LogicalPartition", &bad_utf8, 1, err, sizeof err));
    assert_non_null(strstr(err, "UTF-8"));
    //  Forms libxml2's own check lets through but its parser refuses.
    const char *not_xml[] = {"\xc0\xa7", "\xed\xa0\x80", "\xef\xbf\xbf", "\xf4\x90\x80\x80",
                             "\xe2\x82"};
    for (size_t i = 0; i < sizeof not_xml / sizeof not_xml[0]; i++) {
        const hmc_param_t p = {"X", not_xml[i]};
        assert_null(hmc_build_job_request("Migrate", "LogicalPartition", &p, 1, err, sizeof err));
        assert_null(hmc_build_logon_request("u", not_xml[i], err, sizeof err));
    }
    const hmc_param_t euro = {"X", "\xe2\x82\xac \xf0\x9f\x98\x80"};   // valid 3- and 4-byte forms
    xml = hmc_build_job_request("Migrate", "LogicalPartition", &euro, 1, err, sizeof err);
    assert_non_null(xml);
    assert_int_equal(hmc_parse_job_request(xml, strlen(xml), &req, NULL), 0);
    assert_string_equal(req.params[0].value, euro.value);
    hmc_job_request_clear(&req);
    free(xml);

    //  The template an HMC hands out parses as a request too.
    size_t len;
    char *text = s_load("job_request_power_off.xml", &len);
    assert_int_equal(hmc_parse_job_request(text, len, &req, NULL), 0);
    assert_string_equal(req.operation, "PowerOff");
    assert_string_equal(req.group, "LogicalPartition");
    assert_int_equal(req.param_count, 0);
    hmc_job_request_clear(&req);
    free(text);
}

static void test_build_logon_request(void **state)
{
    (void) state;
    const char *password = "p&ss<w>rd\"'ü]]>";
    char err[256] = "";
    char *xml = hmc_build_logon_request("hscroot", password, err, sizeof err);
    if (!xml)
        fail_msg("build: %s", err);
    assert_null(strstr(xml, "p&ss<w>"));              // escaped in the text
    xmlDoc *doc = xmlReadMemory(xml, (int) strlen(xml), NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlNode *root = xmlDocGetRootElement(doc);
    assert_string_equal((const char *) root->name, "LogonRequest");
    assert_string_equal((const char *) root->ns->href, HMC_NS_WEB);
    char *user = s_find_text(root, "UserID");
    char *pw = s_find_text(root, "Password");
    assert_string_equal(user, "hscroot");
    assert_string_equal(pw, password);
    xmlFree(user);
    xmlFree(pw);
    xmlFreeDoc(doc);

    char u[64], p[64];
    assert_int_equal(hmc_parse_logon_request(xml, strlen(xml), u, sizeof u, p, sizeof p, NULL), 0);
    assert_string_equal(u, "hscroot");
    assert_string_equal(p, password);
    assert_int_equal(hmc_parse_logon_request(xml, strlen(xml), u, sizeof u, p, 4, NULL), -1);
    free(xml);

    assert_null(hmc_build_logon_request("", "x", err, sizeof err));
    assert_null(hmc_build_logon_request("u", "", err, sizeof err));
    assert_null(hmc_build_logon_request("u", "a\nb", err, sizeof err));
    assert_null(strstr(err, "a\nb"));                 // the password is never echoed
}

// ------------------------------------------------------------------ junk

static void test_junk(void **state)
{
    (void) state;
    const char *junk[] = {
        "", "not xml", "<", "<a>", "<a></b>", "\xff\xfe<\x00a", "<?xml version='1.0'?>",
        "<feed xmlns='" HMC_NS_ATOM "'><entry><content>",
        "<!DOCTYPE lol [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
        "<ManagedSystem xmlns='" HMC_NS_UOM "'><SystemName>&b;</SystemName></ManagedSystem>",
        "<!DOCTYPE x SYSTEM 'file:///etc/passwd'><x/>",
        "<ManagedSystem xmlns='" HMC_NS_UOM "'><SystemName>&undefined;</SystemName></ManagedSystem>",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        size_t len = strlen(junk[i]);
        hmc_system_t *sys = (hmc_system_t *) 1;
        hmc_partition_t *parts = (hmc_partition_t *) 1;
        size_t count = 99;
        hmc_xml_diag_t diag = {0};
        assert_int_equal(hmc_parse_systems(junk[i], len, &sys, &count, &diag), -1);
        assert_null(sys);
        assert_int_equal(count, 0);
        assert_true(diag.error[0] != '\0');
        assert_int_equal(hmc_parse_partitions(junk[i], len, &parts, &count, NULL), -1);
        assert_null(parts);
        assert_null(hmc_parse_logon_response(junk[i], len, NULL));
        hmc_job_status_t job;
        assert_int_equal(hmc_parse_job_response(junk[i], len, &job, NULL), -1);
        hmc_http_error_t err;
        assert_int_equal(hmc_parse_http_error(junk[i], len, &err, NULL), -1);
        hmc_job_request_t req;
        assert_int_equal(hmc_parse_job_request(junk[i], len, &req, NULL), -1);
        char u[16], p[16];
        assert_int_equal(hmc_parse_logon_request(junk[i], len, u, sizeof u, p, sizeof p, NULL), -1);
    }
    hmc_system_t *sys;
    size_t count;
    assert_int_equal(hmc_parse_systems(NULL, 0, &sys, &count, NULL), -1);

    //  Every prefix of a real feed: never a crash, never a leak.
    size_t len;
    char *text = s_load("job_response_completed_failed.xml", &len);
    for (size_t cut = 0; cut < len; cut += 97) {
        hmc_job_status_t job;
        if (hmc_parse_job_response(text, cut, &job, NULL) == 0)
            hmc_job_status_clear(&job);
    }
    free(text);
    text = s_load("managedsystem.xml", &len);
    assert_int_equal(hmc_parse_systems(text, len / 2, &sys, &count, NULL), -1);
    free(text);

    //  An empty feed is fine: nothing in it.
    const char *empty = "<feed xmlns='" HMC_NS_ATOM "'/>";
    sys = (hmc_system_t *) 1;
    assert_int_equal(hmc_parse_systems(empty, strlen(empty), &sys, &count, NULL), 0);
    assert_int_equal(count, 0);
    assert_null(sys);

    assert_true(hmc_uuid_valid("caae9209-25e5-35cd-a71a-ed55c03f294d"));
    assert_true(hmc_uuid_valid("089FFB20-5D19-4A8C-BB80-13650627D985"));
    assert_false(hmc_uuid_valid("089FFB20-5D19-4A8C-BB80-13650627D98"));
    assert_false(hmc_uuid_valid("089FFB20-5D19-4A8C-BB80_13650627D985"));
    assert_false(hmc_uuid_valid("../../../../etc/passwd/aaaaaaaaaaaaa"));
    assert_false(hmc_uuid_valid(NULL));
    assert_true(hmc_job_id_valid("1375391227297"));
    assert_false(hmc_job_id_valid("13753a"));
    assert_false(hmc_job_id_valid(""));
}

int main(void)
{
    hmc_xml_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_systems_feed),
        cmocka_unit_test(test_systems_prefix_and_bare),
        cmocka_unit_test(test_systems_odd_values),
        cmocka_unit_test(test_partitions_lpar_feed),
        cmocka_unit_test(test_partitions_fake_feed),
        cmocka_unit_test(test_partitions_synthetic),
        cmocka_unit_test(test_logon_response),
        cmocka_unit_test(test_job_completed_ok),
        cmocka_unit_test(test_job_completed_with_error),
        cmocka_unit_test(test_job_failed_before_completion),
        cmocka_unit_test(test_job_states_and_odd_responses),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_build_job_request),
        cmocka_unit_test(test_build_logon_request),
        cmocka_unit_test(test_junk),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
