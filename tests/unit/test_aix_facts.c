/*  test_aix_facts — aix_facts_collect against a temporary bin dir of tiny
    /bin/sh "commands" that print fixtures (tests only; the product spawns
    no shell): a healthy partition, missing commands, failing commands,
    junk output, a timeout, and exactly which invocations were made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aix_facts.h"
#include "platform.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/aix/"
#define TIMEOUT_MS 5000

//  Case arms of a fake command: match all of "$*", then print a fixture or run a snippet.
#define CAT(args, file) "\"" args "\") cat '" FIXTURES file "' ;;\n"
#define RUN(args, snippet) "\"" args "\") " snippet " ;;\n"

//  One fake command: its file name and its case arms.
typedef struct {
    const char *program;   // file name in the bin dir
    const char *arms;      // case arms, see CAT and RUN
} fake_t;

//  A healthy partition right after nimadm: altinst_rootvg on hdisk1, bootlist set to it.
static const fake_t s_healthy[] = {
    {"lsattr", CAT("-El sys0 -a systemid", "lsattr_systemid_prefix02.txt")
                   CAT("-El sys0 -a modelname", "lsattr_modelname.txt")},
    {"uname", CAT("-L", "uname_L_name_with_spaces.txt") CAT("-u", "uname_u.txt")
                  CAT("-M", "uname_M.txt") CAT("-f", "uname_f.txt")},
    {"hostname", CAT("", "hostname.txt")},
    {"oslevel", CAT("-s", "oslevel_s.txt")},
    {"lspv", CAT("", "lspv_altinst_rootvg_no_state.txt")},
    {"getconf", CAT("DISK_SIZE /dev/hdisk0", "getconf_disk_size.txt")
                    RUN("DISK_SIZE /dev/hdisk1", "echo 51200")
                    RUN("DISK_SIZE /dev/hdisk2", "echo 102400")},
    {"lsvg", CAT("", "lsvg_all_altinst.txt") CAT("-o", "lsvg_o_rootvg_only.txt")
                 CAT("rootvg", "lsvg_rootvg_two_columns_short_lines_trailing_spaces.txt")},
    {"bootlist", CAT("-m normal -o", "bootlist_repeated_paths.txt")},
    {"lparstat", CAT("-i", "lparstat_i_shared_double_spaces_pct_mb_dash.txt")},
    {"lsdev", CAT("-Cc adapter", "lsdev_adapter_virtual_only.txt")},
    {"lssrc", CAT("-s ctrmc", "lssrc_ctrmc_active.txt")},
    {"lslpp", CAT("-Lc bos.alt_disk_install.rte", "lslpp_Lc_alt_disk_install.txt")},
};
#define HEALTHY_COUNT (sizeof s_healthy / sizeof s_healthy[0])

static const char s_healthy_json[] =
    "{\"platform\": \"aix\", \"hostname\": \"aixprod01\", \"warnings\": [],"
    " \"system\": {\"systemid\": \"IBM,0221C48FV\", \"serial\": \"21C48FV\","
    "  \"model\": \"IBM,8408-E8E\", \"partition_system_id\": \"8000049FE0105F1F\"},"
    " \"partition\": {\"name\": \"Web Server\", \"number\": 3, \"type\": \"Shared-SMT-4\","
    "  \"mode\": \"Uncapped\", \"entitled_capacity\": 0.5, \"online_vcpus\": 2,"
    "  \"online_memory_mb\": 16384, \"shared_pool_id\": 0},"
    " \"os\": {\"name\": \"AIX\", \"level\": \"7200-05-03-2148\", \"version\": \"7.2\","
    "  \"tl\": 5, \"sp\": 3, \"build\": \"2148\"},"
    " \"disks\": ["
    "  {\"name\": \"hdisk0\", \"pvid\": \"00f6db0a6c7aece5\", \"vg\": \"rootvg\","
    "   \"active\": true, \"size_mb\": 51200},"
    "  {\"name\": \"hdisk1\", \"pvid\": \"00f6db0a6c7b0a11\", \"vg\": \"altinst_rootvg\","
    "   \"active\": false, \"size_mb\": 51200},"
    "  {\"name\": \"hdisk2\", \"pvid\": null, \"vg\": null, \"active\": false,"
    "   \"size_mb\": 102400}],"
    " \"rootvg\": {\"disks\": [\"hdisk0\"], \"pp_size_mb\": 64, \"total_mb\": 34752,"
    "  \"used_mb\": 23936, \"free_mb\": 10816},"
    " \"alt_vgs\": [{\"name\": \"altinst_rootvg\", \"disks\": [\"hdisk1\"],"
    "  \"varied_on\": false}],"
    " \"bootlist\": [\"hdisk1\", \"hdisk0\"], \"next_boot_vg\": \"altinst_rootvg\","
    " \"adapters\": {\"physical\": [],"
    "  \"virtual\": [\"ent0\", \"fcs0\", \"fcs1\", \"vsa0\", \"vscsi0\"]},"
    " \"rmc\": \"active\","
    " \"filesets\": {\"bos.alt_disk_install.rte\": \"7.2.5.0\"},"
    " \"nim\": {\"master\": \"nimmaster.example.com\", \"name\": \"aixprod01\"}}";

//  Every invocation of the healthy run, in order, with the environment seen.
static const char s_healthy_calls[] = "lsattr -El sys0 -a systemid [C C]\n"
                                      "lsattr -El sys0 -a modelname [C C]\n"
                                      "uname -L [C C]\n"
                                      "uname -u [C C]\n"
                                      "uname -M [C C]\n"
                                      "uname -f [C C]\n"
                                      "hostname  [C C]\n"
                                      "oslevel -s [C C]\n"
                                      "lspv  [C C]\n"
                                      "getconf DISK_SIZE /dev/hdisk0 [C C]\n"
                                      "getconf DISK_SIZE /dev/hdisk1 [C C]\n"
                                      "getconf DISK_SIZE /dev/hdisk2 [C C]\n"
                                      "lsvg  [C C]\n"
                                      "lsvg -o [C C]\n"
                                      "lsvg rootvg [C C]\n"
                                      "bootlist -m normal -o [C C]\n"
                                      "lparstat -i [C C]\n"
                                      "lsdev -Cc adapter [C C]\n"
                                      "lssrc -s ctrmc [C C]\n"
                                      "lslpp -Lc bos.alt_disk_install.rte [C C]\n";

//  Temporary directories of one test.
typedef struct {
    char root[64];      // mkdtemp directory
    char bin[96];       // root/bin: the fake commands
    char etc_root[96];  // root/sys: holds etc/niminfo
    char log[96];       // root/calls.log: one line per invocation
} sandbox_t;

static void s_path(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t) n < size);
}

//  Write a fake command: log "$0-name $* [$LANG $LC_ALL]", then the arms.
static void s_fake(const sandbox_t *sb, const char *program, const char *arms)
{
    char path[256];
    s_path(path, sizeof path, sb->bin, program);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file,
            "#!/bin/sh\n"
            "echo \"%s $* [$LANG $LC_ALL]\" >> '%s'\n"
            "case \"$*\" in\n%s"
            "*) echo \"%s: unexpected arguments: $*\" >&2; exit 99 ;;\n"
            "esac\n",
            program, sb->log, arms, program);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static void s_remove(const sandbox_t *sb, const char *program)
{
    char path[256];
    s_path(path, sizeof path, sb->bin, program);
    assert_int_equal(unlink(path), 0);
}

static void s_copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t n = fread(buf, 1, sizeof buf, in);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

//  Sandbox with the healthy fakes and a niminfo.
static void s_sandbox(sandbox_t *sb)
{
    char path[256];
    strcpy(sb->root, "/tmp/ferry-aix-facts-XXXXXX");
    assert_non_null(mkdtemp(sb->root));
    s_path(sb->bin, sizeof sb->bin, sb->root, "bin");
    s_path(sb->etc_root, sizeof sb->etc_root, sb->root, "sys");
    s_path(sb->log, sizeof sb->log, sb->root, "calls.log");
    assert_int_equal(mkdir(sb->bin, 0755), 0);
    assert_int_equal(mkdir(sb->etc_root, 0755), 0);
    s_path(path, sizeof path, sb->etc_root, "etc");
    assert_int_equal(mkdir(path, 0755), 0);
    s_path(path, sizeof path, sb->etc_root, "etc/niminfo");
    s_copy_file(FIXTURES "niminfo_quoted.txt", path);
    for (size_t i = 0; i < HEALTHY_COUNT; i++)
        s_fake(sb, s_healthy[i].program, s_healthy[i].arms);
}

//  Unlink every file of a flat directory, then the directory.
static void s_rmdir(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            s_path(path, sizeof path, dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

static void s_sandbox_free(sandbox_t *sb)
{
    char path[256];
    s_rmdir(sb->bin);
    s_path(path, sizeof path, sb->etc_root, "etc");
    s_rmdir(path);
    rmdir(sb->etc_root);
    s_rmdir(sb->root);
}

static char *s_read_log(const sandbox_t *sb)
{
    static char buf[8192];
    FILE *file = fopen(sb->log, "r");
    if (!file)
        return strcpy(buf, "");
    size_t n = fread(buf, 1, sizeof buf - 1, file);
    buf[n] = '\0';
    fclose(file);
    return buf;
}

//  Compare with the expected JSON text; print both on mismatch.
static void s_assert_json(json_t *actual, const char *expected_text)
{
    json_error_t error;
    json_t *expected = json_loads(expected_text, 0, &error);
    if (!expected)
        fail_msg("bad expected JSON: %s at %d", error.text, error.position);
    if (!json_equal(actual, expected)) {
        char *a = json_dumps(actual, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *e = json_dumps(expected, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_message("actual:\n%s\nexpected:\n%s\n", a, e);
        free(a);
        free(e);
        json_decref(expected);
        fail();
    }
    json_decref(expected);
}

//  Remove and return the warnings array (new reference), so the rest can be compared exactly.
static json_t *s_take_warnings(json_t *facts)
{
    json_t *warnings = json_incref(json_object_get(facts, "warnings"));
    assert_true(json_is_array(warnings));
    json_object_del(facts, "warnings");
    return warnings;
}

//  How many warnings start with prefix.
static size_t s_count_warnings(json_t *warnings, const char *prefix)
{
    size_t i, hits = 0;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        if (strncmp(json_string_value(w), prefix, strlen(prefix)) == 0)
            hits++;
    }
    return hits;
}

//  Exactly one warning starts with prefix.
static void s_assert_warning(json_t *warnings, const char *prefix)
{
    if (s_count_warnings(warnings, prefix) != 1) {
        char *dump = json_dumps(warnings, JSON_INDENT(1));
        print_message("want one warning starting with \"%s\" in:\n%s\n", prefix, dump);
        free(dump);
        fail();
    }
}

static void test_healthy_partition(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    assert_non_null(facts);
    s_assert_json(facts, s_healthy_json);
    //  Exactly the allowed invocations, each once, with LANG=C LC_ALL=C.
    assert_string_equal(s_read_log(&sb), s_healthy_calls);
    //  The key order of the contract (jansson keeps insertion order).
    const char *key;
    json_t *value;
    const char *order[] = {"platform", "hostname", "warnings", "system"};
    size_t i = 0;
    json_object_foreach(facts, key, value) {
        if (i < 4)
            assert_string_equal(key, order[i]);
        i++;
    }
    json_decref(facts);
    s_sandbox_free(&sb);
}

//  After a move: the identity and placement commands only, the same values
//  as a full read for those keys, nothing else.
static void test_moved_partition(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    json_t *full = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    s_sandbox_free(&sb);
    s_sandbox(&sb);
    json_t *moved = aix_facts_collect_moved(sb.bin, TIMEOUT_MS);
    assert_non_null(moved);
    const char *calls = s_read_log(&sb);
    assert_non_null(strstr(calls, "lparstat -i"));
    assert_non_null(strstr(calls, "lsattr -El sys0 -a systemid"));
    assert_null(strstr(calls, "lspv"));
    assert_null(strstr(calls, "oslevel"));
    assert_null(strstr(calls, "lslpp"));
    assert_null(strstr(calls, "getconf"));
    assert_int_equal(json_object_size(moved), 5);
    const char *keys[] = { "system", "partition", "adapters", "rmc", "warnings" };
    for (size_t i = 0; i < 5; i++)
        assert_true(json_equal(json_object_get(moved, keys[i]), json_object_get(full, keys[i])));

    //  Merged into the previous facts: those keys replaced, the rest kept,
    //  warnings of both kept once each.
    json_t *previous = json_deep_copy(full);
    json_object_set_new(json_object_get(previous, "system"), "serial", json_string("OLD0001"));
    json_array_append_new(json_object_get(previous, "warnings"), json_string("lspv: odd line"));
    json_array_append_new(json_object_get(moved, "warnings"), json_string("lspv: odd line"));
    json_array_append_new(json_object_get(moved, "warnings"), json_string("uname -L: odd"));
    json_t *merged = platform_facts_merge(previous, moved);
    assert_non_null(merged);
    assert_true(json_equal(json_object_get(merged, "system"), json_object_get(full, "system")));
    assert_true(json_equal(json_object_get(merged, "rootvg"), json_object_get(full, "rootvg")));
    assert_true(json_equal(json_object_get(merged, "os"), json_object_get(full, "os")));
    assert_int_equal(json_array_size(json_object_get(merged, "warnings")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(previous, "system"),
                                                          "serial")), "OLD0001");
    json_decref(merged);
    json_decref(previous);
    json_decref(moved);
    json_decref(full);
    s_sandbox_free(&sb);
}

static void test_missing_commands(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    s_remove(&sb, "lparstat");
    s_remove(&sb, "lssrc");
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    json_t *warnings = s_take_warnings(facts);
    assert_int_equal(json_array_size(warnings), 2);
    s_assert_warning(warnings, "lparstat -i: not run: ");
    s_assert_warning(warnings, "lssrc -s ctrmc: not run: ");
    //  Partition name and number still come from uname -L; the rest is absent.
    json_t *expected = json_loads(s_healthy_json, 0, NULL);
    json_object_set_new(expected, "partition", json_pack("{s:s, s:i}", "name", "Web Server",
                                                         "number", 3));
    json_object_del(expected, "rmc");
    json_object_del(expected, "warnings");
    char *text = json_dumps(expected, 0);
    s_assert_json(facts, text);
    free(text);
    json_decref(expected);
    json_decref(warnings);
    json_decref(facts);
    s_sandbox_free(&sb);
}

static void test_nothing_installed(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    for (size_t i = 0; i < HEALTHY_COUNT; i++)
        s_remove(&sb, s_healthy[i].program);
    char niminfo[256];
    s_path(niminfo, sizeof niminfo, sb.etc_root, "etc/niminfo");
    assert_int_equal(unlink(niminfo), 0);
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    json_t *warnings = s_take_warnings(facts);
    //  17 fixed invocations, none ran (no lspv, so no getconf); no niminfo is no error.
    assert_int_equal(json_array_size(warnings), 17);
    s_assert_warning(warnings, "lsattr -El sys0 -a systemid: not run: ");
    assert_int_equal(s_count_warnings(warnings, "getconf"), 0);
    s_assert_json(facts, "{\"platform\": \"aix\", \"os\": {\"name\": \"AIX\"}}");
    assert_string_equal(s_read_log(&sb), "");
    json_decref(warnings);
    json_decref(facts);
    s_sandbox_free(&sb);
}

static void test_failing_commands(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    //  lspv fails: no disks, no rootvg disks, alt VGs without disks, no next boot VG.
    s_fake(&sb, "lspv", RUN("", "cat '" FIXTURES "lspv_error_stderr.txt' >&2; exit 1"));
    //  Junk from oslevel, a crash of uname -f, a killed hostname.
    s_fake(&sb, "oslevel", CAT("-s", "oslevel_s_junk.txt"));
    s_fake(&sb, "uname", CAT("-L", "uname_L_name_with_spaces.txt") CAT("-u", "uname_u.txt")
                             CAT("-M", "uname_M.txt") RUN("-f", "kill -SEGV $$"));
    s_fake(&sb, "hostname", RUN("", "echo 'not a host name!'"));
    //  rootvg varied off (0516-010 on stderr), fileset not installed (0504-132).
    s_fake(&sb, "lsvg", CAT("", "lsvg_all_altinst.txt") CAT("-o", "lsvg_o_rootvg_only.txt")
                            RUN("rootvg", "cat '" FIXTURES "lsvg_0516_010_varied_off.txt' >&2;"
                                          " exit 1"));
    s_fake(&sb, "lslpp",
           RUN("-Lc bos.alt_disk_install.rte",
               "cat '" FIXTURES "lslpp_Lc_0504_132_not_installed.txt' >&2; exit 1"));
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    json_t *warnings = s_take_warnings(facts);
    s_assert_warning(warnings, "lspv: exit status 1: 0516-1396 lspv: The physical volume");
    s_assert_warning(warnings, "oslevel -s: unexpected level");
    s_assert_warning(warnings, "uname -f: killed by signal 11");
    s_assert_warning(warnings, "hostname: not a valid host name");
    s_assert_warning(warnings, "lsvg rootvg: volume group is varied off (0516-010)");
    assert_int_equal(json_array_size(warnings), 5);
    json_t *expected = json_loads(s_healthy_json, 0, NULL);
    json_object_del(expected, "warnings");
    json_object_del(expected, "hostname");
    json_object_del(expected, "disks");
    json_object_del(expected, "rootvg");
    json_object_del(expected, "next_boot_vg");
    json_object_del(json_object_get(expected, "system"), "partition_system_id");
    json_object_set_new(expected, "os", json_pack("{s:s}", "name", "AIX"));
    json_object_set_new(expected, "alt_vgs",
                        json_pack("[{s:s, s:b}]", "name", "altinst_rootvg", "varied_on", 0));
    json_object_set_new(expected, "filesets",
                        json_pack("{s:n}", "bos.alt_disk_install.rte"));
    char *text = json_dumps(expected, 0);
    s_assert_json(facts, text);
    free(text);
    json_decref(expected);
    json_decref(warnings);
    json_decref(facts);
    //  getconf was never run: lspv gave no disks.
    assert_null(strstr(s_read_log(&sb), "getconf"));
    s_sandbox_free(&sb);
}

static void test_disagreement_and_partial_failures(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    //  uname -u already shows the new system (mid-LPM): lsattr wins, with a warning.
    s_fake(&sb, "uname", CAT("-L", "uname_L_no_lpar_minus1_null.txt")
                             CAT("-u", "uname_u_after_lpm.txt") CAT("-M", "uname_M.txt")
                             CAT("-f", "uname_f.txt"));
    //  One disk's size fails; the others keep theirs.
    s_fake(&sb, "getconf", CAT("DISK_SIZE /dev/hdisk0", "getconf_disk_size.txt")
                               RUN("DISK_SIZE /dev/hdisk1", "exit 1")
                               CAT("DISK_SIZE /dev/hdisk2", "getconf_disk_size_junk.txt"));
    //  Slow lssrc: timed out.
    s_fake(&sb, "lssrc", RUN("-s ctrmc", "exec sleep 10"));
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, 1000);
    json_t *warnings = s_take_warnings(facts);
    s_assert_warning(warnings, "system id differs: lsattr says IBM,0221C48FV, uname -u says "
                               "IBM,0378D12AB");
    s_assert_warning(warnings, "getconf DISK_SIZE /dev/hdisk1: exit status 1");
    s_assert_warning(warnings, "getconf DISK_SIZE /dev/hdisk2: not a size in MB");
    s_assert_warning(warnings, "lssrc -s ctrmc: timed out after 1000 ms");
    assert_int_equal(json_array_size(warnings), 4);
    json_t *disks = json_object_get(facts, "disks");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(disks, 0), "size_mb")),
                     51200);
    assert_null(json_object_get(json_array_get(disks, 1), "size_mb"));
    assert_null(json_object_get(json_array_get(disks, 2), "size_mb"));
    assert_null(json_object_get(facts, "rmc"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(facts, "system"),
                                                          "serial")),
                        "21C48FV");
    //  -1 NULL: no partition name or number from uname -L; lparstat fills them in.
    json_t *part = json_object_get(facts, "partition");
    assert_string_equal(json_string_value(json_object_get(part, "name")), "Web Server");
    assert_int_equal(json_integer_value(json_object_get(part, "number")), 3);
    json_decref(warnings);
    json_decref(facts);
    s_sandbox_free(&sb);
}

static void test_after_reboot_on_migrated_disk(void **state)
{
    (void) state;
    sandbox_t sb;
    s_sandbox(&sb);
    s_fake(&sb, "lspv", CAT("", "lspv_old_rootvg_after_boot.txt"));
    s_fake(&sb, "getconf", RUN("DISK_SIZE /dev/hdisk0", "echo 51200")
                               RUN("DISK_SIZE /dev/hdisk1", "echo 51200"));
    s_fake(&sb, "lsvg", CAT("", "lsvg_all_after_boot.txt") CAT("-o", "lsvg_o_rootvg_only.txt")
                            CAT("rootvg", "lsvg_rootvg_column_at_40.txt"));
    s_fake(&sb, "bootlist", RUN("-m normal -o", "echo 'hdisk1 blv=hd5 pathid=0'"));
    s_fake(&sb, "oslevel", CAT("-s", "oslevel_s_73.txt"));
    json_t *facts = aix_facts_collect(sb.bin, sb.etc_root, TIMEOUT_MS);
    json_t *warnings = s_take_warnings(facts);
    assert_int_equal(json_array_size(warnings), 0);
    s_assert_json(json_object_get(facts, "alt_vgs"),
                  "[{\"name\": \"old_rootvg\", \"disks\": [\"hdisk0\"], \"varied_on\": false}]");
    s_assert_json(json_object_get(facts, "rootvg"),
                  "{\"disks\": [\"hdisk1\"], \"pp_size_mb\": 128, \"total_mb\": 34752,"
                  " \"used_mb\": 23936, \"free_mb\": 10816}");
    s_assert_json(json_object_get(facts, "os"),
                  "{\"name\": \"AIX\", \"level\": \"7300-01-02-2320\", \"version\": \"7.3\","
                  " \"tl\": 1, \"sp\": 2, \"build\": \"2320\"}");
    assert_string_equal(json_string_value(json_object_get(facts, "next_boot_vg")), "rootvg");
    json_decref(warnings);
    json_decref(facts);
    s_sandbox_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_partition),
        cmocka_unit_test(test_moved_partition),
        cmocka_unit_test(test_missing_commands),
        cmocka_unit_test(test_nothing_installed),
        cmocka_unit_test(test_failing_commands),
        cmocka_unit_test(test_disagreement_and_partial_failures),
        cmocka_unit_test(test_after_reboot_on_migrated_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
