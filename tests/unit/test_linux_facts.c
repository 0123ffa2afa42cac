/*  test_linux_facts — the facts report from the fixture trees
    (tests/fixtures/linux: power-lpar, kvm-guest, x86) asserted field by
    field, and from temporary trees for the missing and odd sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "linux_facts.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/linux"

// ---------------------------------------------------------------------------
//  Helpers

//  Fail unless actual equals the JSON text expected (key order ignored).
static void s_expect_json(json_t *actual, const char *expected_text)
{
    json_error_t error;
    json_t *expected = json_loads(expected_text, 0, &error);
    if (!expected)
        fail_msg("bad expected JSON: %s", error.text);
    if (!json_equal(actual, expected)) {
        char *got = json_dumps(actual, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *want = json_dumps(expected, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_error("got:\n%s\nexpected:\n%s\n", got, want);
        free(got);
        free(want);
        json_decref(expected);
        fail();
    }
    json_decref(expected);
}

//  Fail unless some warning contains every one of the given fragments.
static void s_expect_warning(json_t *facts, const char *fragment1, const char *fragment2)
{
    json_t *warnings = json_object_get(facts, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        const char *text = json_string_value(w);
        if (strstr(text, fragment1) && (!fragment2 || strstr(text, fragment2)))
            return;
    }
    char *all = json_dumps(warnings, JSON_INDENT(1));
    print_error("warnings:\n%s\n", all);
    free(all);
    fail_msg("no warning with \"%s\" / \"%s\"", fragment1, fragment2 ? fragment2 : "");
}

//  Write text to dir/rel, creating the directories on the way.
static void s_put(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}


static json_t *s_collect_tree(const char *tree, const char *sys_override)
{
    char proc[512], sys[512], etc[512];
    snprintf(proc, sizeof proc, "%s/%s/proc", FIXTURES, tree);
    snprintf(sys, sizeof sys, "%s/%s/sys", FIXTURES, tree);
    snprintf(etc, sizeof etc, "%s/%s", FIXTURES, tree);
    json_t *facts = linux_facts_collect(proc, sys_override ? sys_override : sys, etc);
    assert_non_null(facts);
    return facts;
}

// ---------------------------------------------------------------------------
//  Pure helpers

static void test_serial(void **state)
{
    (void) state;
    char serial[16];
    assert_int_equal(linux_facts_serial("IBM,0221C48FV", serial, sizeof serial), 0);
    assert_string_equal(serial, "21C48FV");
    assert_int_equal(linux_facts_serial("IBM,012116A9A", serial, sizeof serial), 0);
    assert_string_equal(serial, "2116A9A");
    assert_int_equal(linux_facts_serial("IBM,032116A9A", serial, sizeof serial), 0);
    assert_string_equal(serial, "2116A9A");   // never match on a particular prefix
    assert_int_equal(linux_facts_serial("IBM,02", serial, sizeof serial), -1);
    assert_int_equal(linux_facts_serial("IBM,", serial, sizeof serial), -1);
    assert_int_equal(linux_facts_serial("", serial, sizeof serial), -1);
    assert_int_equal(linux_facts_serial("XYZ,0221C48FV", serial, sizeof serial), -1);
    assert_int_equal(linux_facts_serial("IBM,0221C 48F", serial, sizeof serial), -1);
    assert_int_equal(linux_facts_serial("IBM,0221C48FV", serial, 7), -1);   // no room for NUL
}

static void test_os_release(void **state)
{
    (void) state;
    const char *text = "# NAME=\"comment\"\n"
                       "PRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n"
                       "NAME=\"Red Hat \\\"Enterprise\\\" Linux\"\n"
                       "VERSION_ID='9.4'\n"
                       "ID=rhel\n"
                       "EMPTY=\"\"\n"
                       "NOEND=\"open";
    char value[64];
    assert_int_equal(linux_facts_os_release(text, "NAME", value, sizeof value), 0);
    assert_string_equal(value, "Red Hat \"Enterprise\" Linux");
    assert_int_equal(linux_facts_os_release(text, "VERSION_ID", value, sizeof value), 0);
    assert_string_equal(value, "9.4");
    assert_int_equal(linux_facts_os_release(text, "ID", value, sizeof value), 0);
    assert_string_equal(value, "rhel");
    assert_int_equal(linux_facts_os_release(text, "NOEND", value, sizeof value), 0);
    assert_string_equal(value, "open");
    assert_int_equal(linux_facts_os_release(text, "EMPTY", value, sizeof value), -1);
    assert_int_equal(linux_facts_os_release(text, "VERSION", value, sizeof value), -1);
    assert_int_equal(linux_facts_os_release(text, "PRETTY_NAME", value, 8), -1);   // too long
    assert_int_equal(linux_facts_os_release("", "NAME", value, sizeof value), -1);
}

// ---------------------------------------------------------------------------
//  Fixture trees

static void test_power_lpar(void **state)
{
    (void) state;
    json_t *facts = s_collect_tree("power-lpar", NULL);
    s_expect_json(facts,
                  "{\"platform\": \"linux\", \"hostname\": \"lpar05\", \"warnings\": [],"
                  " \"system\": {\"systemid\": \"IBM,032116A9A\", \"serial\": \"2116A9A\","
                  "              \"model\": \"IBM,8247-22L\"},"
                  " \"partition\": {\"name\": \"web server 01\", \"number\": 5, \"type\": \"Shared\","
                  "                 \"mode\": \"Uncapped\", \"entitled_capacity\": 0.4,"
                  "                 \"online_vcpus\": 2, \"shared_pool_id\": 0,"
                  "                 \"online_memory_mb\": 8192},"
                  " \"os\": {\"name\": \"SLES\", \"level\": \"15.5\", \"version\": \"15.5\"},"
                  " \"disks\": ["
                  "   {\"name\": \"dm-0\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 20480},"
                  "   {\"name\": \"sda\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 20480},"
                  "   {\"name\": \"sdb\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 1024},"
                  "   {\"name\": \"sr0\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 0}],"
                  " \"boot_id\": \"8f2c6b1e-4a7d-4c3e-9b10-2d5e7f8a9c01\", \"boot_time\": 1700000000}");
    // the contract's order, for people reading the output
    const char *order[] = { "platform", "hostname", "warnings", "system", "partition", "os",
                            "disks", "boot_id", "boot_time" };
    void *iter = json_object_iter(facts);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++, iter = json_object_iter_next(facts, iter))
        assert_string_equal(json_object_iter_key(iter), order[i]);
    json_decref(facts);
}

//  Fail when text appears anywhere in the report (keys, values, warnings).
static void s_expect_absent(json_t *facts, const char *text)
{
    char *all = json_dumps(facts, JSON_COMPACT);
    assert_non_null(all);
    bool found = strstr(all, text) != NULL;
    if (found)
        print_error("report:\n%s\n", all);
    free(all);
    if (found)
        fail_msg("\"%s\" should not be in the report", text);
}

//  KVM on Power: lparcfg has an empty serial_number. A system id names
//  hardware, so there is none (not the machine-id), and a warning says a
//  move cannot be verified by serial.
static void test_kvm_guest(void **state)
{
    (void) state;
    json_t *facts = s_collect_tree("kvm-guest", NULL);
    json_t *warnings = json_incref(json_object_get(facts, "warnings"));
    json_object_del(facts, "warnings");
    s_expect_json(facts,
                  "{\"platform\": \"linux\", \"hostname\": \"guest-1\","
                  " \"system\": {\"model\": \"IBM pSeries (emulated by qemu)\"},"
                  " \"partition\": {\"name\": \"guest-1\", \"type\": \"Dedicated\","
                  "                 \"mode\": \"Uncapped\", \"entitled_capacity\": 4.0,"
                  "                 \"online_vcpus\": 4, \"online_memory_mb\": 4096},"
                  " \"os\": {\"name\": \"Ubuntu\", \"level\": \"22.04\", \"version\": \"22.04\"},"
                  " \"disks\": [{\"name\": \"vda\", \"pvid\": null, \"vg\": null, \"active\": true,"
                  "              \"size_mb\": 10240}],"
                  " \"boot_id\": \"11111111-2222-4333-8444-555555555555\", \"boot_time\": 1710000000}");
    json_object_set_new(facts, "warnings", warnings);
    assert_int_equal(json_array_size(warnings), 1);
    s_expect_warning(facts, "lparcfg: empty serial_number", "no hardware system id or serial");
    s_expect_warning(facts, "empty serial_number", "cannot be verified by serial");
    s_expect_absent(facts, "a1b2c3d4e5f60718293a4b5c6d7e8f90");   // its etc/machine-id
    s_expect_absent(facts, "machine-id");
    json_decref(facts);
}

static void test_x86(void **state)
{
    (void) state;
    json_t *facts = s_collect_tree("x86", NULL);
    s_expect_json(facts,
                  "{\"platform\": \"linux\", \"hostname\": \"x86box\", \"warnings\": [],"
                  " \"system\": {\"serial\": \"J30XYZ1\", \"model\": \"ThinkSystem SR650 -[7X06CTO1WW]-\"},"
                  " \"partition\": {\"online_vcpus\": 4, \"online_memory_mb\": 15921},"
                  " \"os\": {\"name\": \"Debian GNU/Linux\", \"level\": \"12\", \"version\": \"12\"},"
                  " \"disks\": ["
                  "   {\"name\": \"nvme0n1\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 488386},"
                  "   {\"name\": \"sda\", \"pvid\": null, \"vg\": null, \"active\": true, \"size_mb\": 0}],"
                  " \"boot_id\": \"99999999-8888-4777-a666-555555555555\", \"boot_time\": 1720000000}");
    json_decref(facts);
}

//  x86 without /sys: no DMI serial and no system id (not the machine-id
//  either, as on Power); no disks.
static void test_x86_no_sys(void **state)
{
    (void) state;
    json_t *facts = s_collect_tree("x86", "/nonexistent/sys");
    assert_null(json_object_get(facts, "system"));
    assert_null(json_object_get(facts, "disks"));
    assert_int_equal(json_array_size(json_object_get(facts, "warnings")), 2);
    s_expect_warning(facts, "/nonexistent/sys/class/dmi/id/product_serial", "No such file");
    s_expect_warning(facts, "/nonexistent/sys/block", "No such file");
    s_expect_absent(facts, "00112233445566778899aabbccddeeff");   // its etc/machine-id
    json_decref(facts);
}

//  Nothing readable at all: still a report, with a warning per source.
static void test_nothing(void **state)
{
    (void) state;
    json_t *facts = linux_facts_collect("/nonexistent/proc", "/nonexistent/sys", "/nonexistent");
    assert_non_null(facts);
    assert_string_equal(json_string_value(json_object_get(facts, "platform")), "linux");
    assert_non_null(json_object_get(facts, "hostname"));   // gethostname()
    const char *absent[] = { "system", "partition", "os", "disks", "boot_id", "boot_time" };
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        if (json_object_get(facts, absent[i]))
            fail_msg("%s should be absent", absent[i]);
    const char *sources[] = { "/nonexistent/proc/stat", "/nonexistent/proc/meminfo",
                              "/nonexistent/proc/cpuinfo", "product_serial", "etc/os-release", "/nonexistent/sys/block",
                              "sys/kernel/random/boot_id" };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        s_expect_warning(facts, sources[i], NULL);
    assert_int_equal(json_array_size(json_object_get(facts, "warnings")),
                     sizeof sources / sizeof sources[0]);
    json_decref(facts);
}

//  Odd sources in a temporary tree: Power without lparcfg, a systemid of
//  an unknown shape, DMI placeholders, /usr/lib/os-release, no btime.
static void test_odd_sources(void **state)
{
    (void) state;
    char dir[] = "/tmp/test_linux_facts.XXXXXX", proc[128], sys[128];
    assert_non_null(mkdtemp(dir));
    snprintf(proc, sizeof proc, "%s/proc", dir);
    snprintf(sys, sizeof sys, "%s/sys", dir);
    s_put(dir, "proc/cpuinfo", "processor\t: 0\n\ntimebase\t: 512000000\n");
    s_put(dir, "proc/stat", "cpu  1 2 3 4\n");
    s_put(dir, "proc/meminfo", "MemFree: 5 kB\n");
    s_put(dir, "sys/class/dmi/id/product_serial", "To Be Filled By O.E.M.\n");
    s_put(dir, "sys/block/sda/size", "not a number\n");
    s_put(dir, "sys/block/loop3/size", "0\n");
    s_put(dir, "usr/lib/os-release", "NAME=Fedora\n");
    s_put(dir, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");

    // a powerpc timebase and no lparcfg: warn
    json_t *facts = linux_facts_collect(proc, sys, dir);
    s_expect_warning(facts, "powerpc/lparcfg", "No such file");
    s_expect_warning(facts, "product_serial", "placeholder");
    s_expect_absent(facts, "0123456789abcdef0123456789abcdef");
    s_expect_warning(facts, "meminfo", "no MemTotal");
    s_expect_warning(facts, "stat", "no btime");
    assert_null(json_object_get(facts, "system"));
    s_expect_json(json_object_get(facts, "partition"), "{\"online_vcpus\": 1}");
    s_expect_json(json_object_get(facts, "os"), "{\"name\": \"Fedora\"}");
    s_expect_json(json_object_get(facts, "disks"),
                  "[{\"name\": \"sda\", \"pvid\": null, \"vg\": null, \"active\": true}]");
    json_decref(facts);

    // lparcfg under its old name, with a systemid of an unknown shape
    s_put(dir, "proc/ppc64/lparcfg", "lparcfg 1.9\nserial_number=SOMETHING\n\npartition_id=7\n");
    facts = linux_facts_collect(proc, sys, dir);
    s_expect_json(json_object_get(facts, "system"), "{\"systemid\": \"SOMETHING\"}");
    s_expect_warning(facts, "serial_number \"SOMETHING\"", NULL);
    s_expect_json(json_object_get(facts, "partition"), "{\"number\": 7, \"online_vcpus\": 1}");
    json_decref(facts);

    // lparcfg without any serial_number line: the same as an empty one
    s_put(dir, "proc/ppc64/lparcfg", "lparcfg 1.9\npartition_id=7\n");
    facts = linux_facts_collect(proc, sys, dir);
    assert_null(json_object_get(facts, "system"));
    s_expect_warning(facts, "lparcfg: no serial_number", "cannot be verified by serial");
    s_expect_absent(facts, "0123456789abcdef0123456789abcdef");
    json_decref(facts);

    // lparcfg with nothing we know
    s_put(dir, "proc/ppc64/lparcfg", "lparcfg 1.9\n\n");
    facts = linux_facts_collect(proc, sys, dir);
    s_expect_warning(facts, "no known key=value", NULL);
    json_decref(facts);
    it_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial),
        cmocka_unit_test(test_os_release),
        cmocka_unit_test(test_power_lpar),
        cmocka_unit_test(test_kvm_guest),
        cmocka_unit_test(test_x86),
        cmocka_unit_test(test_x86_no_sys),
        cmocka_unit_test(test_nothing),
        cmocka_unit_test(test_odd_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
