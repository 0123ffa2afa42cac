/*  test_fakeaix — the simulated AIX partition: ferry-simlpar creates and
    changes it, the fake commands (ferry-fakeaix behind DIR/bin symlinks)
    answer in AIX 7.2's exact formats. Runs the real binaries from
    FERRY_BIN_DIR through command_run, as the agent will. */
#define _XOPEN_SOURCE 700   // nftw
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"

#define ERRLEN 256
#define MAX_OUT 65536
#define TIMEOUT_MS 10000
#define ARGS_MAX 16

typedef struct {
    char dir[64];                 // mkdtemp root, removed at teardown
    char part[128];               // the partition directory the helpers use (dir by default)
    command_result_t r;           // last command's result (freed by the next run / teardown)
} fixture_t;

//  ---------------------------------------------------------------------------
//  Helpers

static void s_run_argv(fixture_t *fx, char **argv)
{
    command_result_free(&fx->r);
    char err[ERRLEN] = "";
    if (command_run(argv, NULL, TIMEOUT_MS, MAX_OUT, &fx->r, err, sizeof err) != 0)
        fail_msg("command_run %s: %s", argv[0], err);
    assert_false(fx->r.timed_out);
}

//  argv = prefix... then the NULL-terminated arguments of ap, then run it.
static void s_vrun(fixture_t *fx, char **prefix, int prefix_count, va_list ap)
{
    char *argv[ARGS_MAX];
    int argc = 0;
    for (; argc < prefix_count; argc++)
        argv[argc] = prefix[argc];
    const char *arg;
    while ((arg = va_arg(ap, const char *)) && argc < ARGS_MAX - 1)
        argv[argc++] = (char *) arg;
    argv[argc] = NULL;
    s_run_argv(fx, argv);
}

//  Run PART/bin/CMD with the NULL-terminated arguments that follow.
static void s_run(fixture_t *fx, const char *cmd, ...)
{
    char path[256];
    snprintf(path, sizeof path, "%s/bin/%s", fx->part, cmd);
    char *prefix[] = {path};
    va_list ap;
    va_start(ap, cmd);
    s_vrun(fx, prefix, 1, ap);
    va_end(ap);
}

//  Run PART/bin/CMD and require exit 0 with nothing on stderr; its stdout.
static const char *s_ok(fixture_t *fx, const char *cmd, ...)
{
    char path[256];
    snprintf(path, sizeof path, "%s/bin/%s", fx->part, cmd);
    char *prefix[] = {path};
    va_list ap;
    va_start(ap, cmd);
    s_vrun(fx, prefix, 1, ap);
    va_end(ap);
    if (fx->r.exit_code != 0 || fx->r.err_len != 0)
        fail_msg("%s: exit %d, stderr: %s", cmd, fx->r.exit_code, fx->r.err);
    return fx->r.out;
}

//  ferry-simlpar VERB PART [ARGS...], which must succeed.
static void s_simlpar(fixture_t *fx, const char *verb, ...)
{
    char *prefix[] = {FERRY_BIN_DIR "/ferry-simlpar", (char *) verb, fx->part};
    va_list ap;
    va_start(ap, verb);
    s_vrun(fx, prefix, 3, ap);
    va_end(ap);
    if (fx->r.exit_code != 0)
        fail_msg("ferry-simlpar %s: exit %d: %s", verb, fx->r.exit_code, fx->r.err);
}

//  Line number n (0-based) of text into buf, without the newline.
static const char *s_line(const char *text, int n, char *buf, size_t len)
{
    for (; n > 0 && text; n--) {
        text = strchr(text, '\n');
        text = text ? text + 1 : NULL;
    }
    if (!text || !*text)
        return NULL;
    size_t line_len = strcspn(text, "\n");
    snprintf(buf, len, "%.*s", (int) line_len, text);
    return buf;
}

static int s_count_lines(const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

static void s_state_file(fixture_t *fx, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/state/%s", fx->part, name);
}

//  ---------------------------------------------------------------------------
//  Fixture: a fresh partition "3 Web Server" per test

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ferry-test-fakeaix-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->part, sizeof fx->part, "%s", fx->dir);
    *state = fx;
    s_simlpar(fx, "create", "--name", "Web Server", "--number", "3", NULL);
    return 0;
}

static int s_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    command_result_free(&fx->r);
    int rc = nftw(fx->dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Identity

static void test_lsattr(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "lsattr", "-El", "sys0", "-a", "systemid", NULL),
                        "systemid IBM,0221C48FV Hardware system identifier False\n");
    assert_string_equal(s_ok(fx, "lsattr", "-El", "sys0", "-a", "modelname", NULL),
                        "modelname IBM,8408-E8E Machine name False\n");
    //  Without -a: every attribute, columns padded to the widest entry.
    const char *all = s_ok(fx, "lsattr", "-El", "sys0", NULL);
    assert_non_null(strstr(all, "\nsystemid  IBM,0221C48FV            Hardware system identifier "));
    s_run(fx, "lsattr", "-El", "sys0", "-a", "nosuch", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_non_null(strstr(fx->r.err, "0514-528"));
    s_run(fx, "lsattr", "-El", "sys9", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_non_null(strstr(fx->r.err, "0514-519"));
}

static void test_uname(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "uname", "-L", NULL), "3 Web Server\n");
    assert_string_equal(s_ok(fx, "uname", "-u", NULL), "IBM,0221C48FV\n");
    assert_string_equal(s_ok(fx, "uname", "-M", NULL), "IBM,8408-E8E\n");
    assert_string_equal(s_ok(fx, "uname", NULL), "AIX\n");
    const char *f = s_ok(fx, "uname", "-f", NULL);
    assert_int_equal(strlen(f), 17);
    for (int i = 0; i < 16; i++)
        assert_true(isxdigit((unsigned char) f[i]) && !islower((unsigned char) f[i]));
    const char *a = s_ok(fx, "uname", "-a", NULL);
    assert_int_equal(strncmp(a, "AIX web-server 2 7 00", 21), 0);
    assert_int_equal(strlen(a), strlen("AIX web-server 2 7 00F6DB0A4C00\n"));
    assert_string_equal(s_ok(fx, "hostname", NULL), "web-server\n");
}

//  A move: the serial changes systemid, uname -u and uname -f, not uname -L.
static void test_set_serial(void **state)
{
    fixture_t *fx = *state;
    char f_before[32];
    snprintf(f_before, sizeof f_before, "%s", s_ok(fx, "uname", "-f", NULL));
    s_simlpar(fx, "set", "serial", "21C48FW", NULL);
    assert_string_equal(s_ok(fx, "lsattr", "-El", "sys0", "-a", "systemid", NULL),
                        "systemid IBM,0221C48FW Hardware system identifier False\n");
    assert_string_equal(s_ok(fx, "uname", "-u", NULL), "IBM,0221C48FW\n");
    assert_string_not_equal(s_ok(fx, "uname", "-f", NULL), f_before);
    assert_string_equal(s_ok(fx, "uname", "-L", NULL), "3 Web Server\n");
    s_simlpar(fx, "show", "serial", NULL);
    assert_string_equal(fx->r.out, "21C48FW\n");
    //  The prefix is kept apart from the serial (never match on 02).
    s_simlpar(fx, "set", "prefix", "01", NULL);
    assert_string_equal(s_ok(fx, "uname", "-u", NULL), "IBM,0121C48FW\n");
    //  Moving back restores the first uname -f: it is a function of system + partition.
    s_simlpar(fx, "set", "systemid", "IBM,0221C48FV", NULL);
    assert_string_equal(s_ok(fx, "uname", "-f", NULL), f_before);
}

static void test_partition_names(void **state)
{
    fixture_t *fx = *state;
    s_simlpar(fx, "set", "name", "Data Base  2", NULL);
    assert_string_equal(s_ok(fx, "uname", "-L", NULL), "3 Data Base  2\n");
    s_simlpar(fx, "set", "partition", "-1 NULL", NULL);
    assert_string_equal(s_ok(fx, "uname", "-L", NULL), "-1 NULL\n");
}

static void test_oslevel(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "oslevel", "-s", NULL), "7200-05-03-2148\n");
    assert_string_equal(s_ok(fx, "oslevel", "-r", NULL), "7200-05\n");
    assert_string_equal(s_ok(fx, "oslevel", NULL), "7.2.0.0\n");
    s_simlpar(fx, "set", "oslevel", "7300-02-01-2346", NULL);
    assert_string_equal(s_ok(fx, "oslevel", "-s", NULL), "7300-02-01-2346\n");
    assert_string_equal(s_ok(fx, "uname", "-v", NULL), "7\n");
    assert_string_equal(s_ok(fx, "uname", "-r", NULL), "3\n");
    //  The misbehaving form: oslevel -s prints a plain level.
    s_simlpar(fx, "set", "oslevel", "7.2.0.0", NULL);
    assert_string_equal(s_ok(fx, "oslevel", "-s", NULL), "7.2.0.0\n");
}

//  ---------------------------------------------------------------------------
//  Disks and volume groups

static void test_lspv(void **state)
{
    fixture_t *fx = *state;
    const char *out = s_ok(fx, "lspv", NULL);
    char line[256];
    assert_int_equal(s_count_lines(out), 2);
    s_line(out, 0, line, sizeof line);
    assert_int_equal(strncmp(line, "hdisk0          00", 18), 0);
    assert_string_equal(line + 52, "rootvg          active");
    //  A free disk: PVID none, VG None, no state column.
    s_line(out, 1, line, sizeof line);
    assert_string_equal(line, "hdisk1          none                                None           ");
}

//  nimadm's result: altinst_rootvg, varied off, shown without a state column.
static void test_varied_off_vg(void **state)
{
    fixture_t *fx = *state;
    s_simlpar(fx, "set", "disk:hdisk1", "00f6db0a6c7aece6 altinst_rootvg - 34752 23936", NULL);
    char line[256];
    s_line(s_ok(fx, "lspv", NULL), 1, line, sizeof line);
    assert_string_equal(line, "hdisk1          00f6db0a6c7aece6                    altinst_rootvg ");
    assert_string_equal(s_ok(fx, "lsvg", NULL), "rootvg\naltinst_rootvg\n");
    assert_string_equal(s_ok(fx, "lsvg", "-o", NULL), "rootvg\n");
    s_run(fx, "lsvg", "altinst_rootvg", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_string_equal(fx->r.out, "");
    assert_string_equal(fx->r.err,
                        "0516-010 : Volume group must be varied on; use varyonvg command.\n");
    s_run(fx, "lsvg", "nosuchvg", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_non_null(strstr(fx->r.err, "0516-306"));
}

static void test_lsvg_rootvg(void **state)
{
    fixture_t *fx = *state;
    const char *out = s_ok(fx, "lsvg", "rootvg", NULL);
    char line[256];
    s_line(out, 0, line, sizeof line);
    assert_int_equal(strncmp(line, "VOLUME GROUP:       rootvg                   VG IDENTIFIER:  ", 61),
                     0);
    assert_int_equal(strlen(line), 61 + 32);
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        "VG STATE:           active                   PP SIZE:        64 megabyte(s)");
    assert_string_equal(s_line(out, 2, line, sizeof line),
                        "VG PERMISSION:      read/write               TOTAL PPs:      543 (34752 megabytes)");
    assert_string_equal(s_line(out, 3, line, sizeof line),
                        "MAX LVs:            256                      FREE PPs:       169 (10816 megabytes)");
    assert_string_equal(s_line(out, 4, line, sizeof line),
                        "LVs:                13                       USED PPs:       374 (23936 megabytes)");
    //  A left-only row with trailing spaces, and a right value with one.
    s_line(out, 9, line, sizeof line);
    assert_int_equal(strncmp(line, "MAX PPs per VG:     32512 ", 26), 0);
    assert_int_equal(line[strlen(line) - 1], ' ');
    assert_non_null(strstr(out, "BB POLICY:      relocatable \n"));
    //  Used space follows the disks file.
    s_simlpar(fx, "set", "disk:hdisk0", "00f6db0a6c7aece5 rootvg active 34752 30000", NULL);
    out = s_ok(fx, "lsvg", "rootvg", NULL);
    assert_non_null(strstr(out, "USED PPs:       469 (30016 megabytes)\n"));
    assert_non_null(strstr(out, "FREE PPs:       74 (4736 megabytes)\n"));
}

static void test_getconf(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "getconf", "DISK_SIZE", "/dev/hdisk1", NULL), "34752\n");
    s_run(fx, "getconf", "DISK_SIZE", "/dev/hdisk7", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_string_equal(fx->r.out, "");
}

static void test_bootlist(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "bootlist", "-m", "normal", "-o", NULL),
                        "hdisk0 blv=hd5 pathid=0\n");
    //  One line per path: the same disk repeats.
    s_simlpar(fx, "set", "bootlist", "hdisk1 blv=hd5 pathid=0\nhdisk1 blv=hd5 pathid=1\n", NULL);
    assert_string_equal(s_ok(fx, "bootlist", "-m", "normal", "-o", NULL),
                        "hdisk1 blv=hd5 pathid=0\nhdisk1 blv=hd5 pathid=1\n");
    //  Setting it as a rollback would: bootlist -m normal OLD_DISK.
    s_ok(fx, "bootlist", "-m", "normal", "hdisk0", NULL);
    assert_string_equal(s_ok(fx, "bootlist", "-m", "normal", "-o", NULL),
                        "hdisk0 blv=hd5 pathid=0\n");
    s_run(fx, "bootlist", "-m", "normal", "hdisk9", NULL);
    assert_int_equal(fx->r.exit_code, 1);
}

//  ---------------------------------------------------------------------------
//  Partition configuration

static void test_lparstat(void **state)
{
    fixture_t *fx = *state;
    const char *out = s_ok(fx, "lparstat", "-i", NULL);
    char line[256];
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "Node Name                                  : web-server");
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        "Partition Name                             : Web Server");
    assert_string_equal(s_line(out, 2, line, sizeof line),
                        "Partition Number                           : 3");
    assert_non_null(strstr(out, "\nEntitled  Capacity                         : 0.50\n"));
    assert_non_null(strstr(out, "\nOnline Memory                              : 8192 MB\n"));
    assert_non_null(strstr(out, "\nUnallocated Variable Memory Capacity Weight: -\n"));
    //  Decimal comma, and the shorthand finds the double-spaced label.
    s_simlpar(fx, "set", "entitled", "4,00", NULL);
    s_simlpar(fx, "set", "lparstat:Memory Mode", "Shared", NULL);
    out = s_ok(fx, "lparstat", "-i", NULL);
    assert_non_null(strstr(out, "\nEntitled  Capacity                         : 4,00\n"));
    assert_non_null(strstr(out, "\nMemory Mode                                : Shared\n"));
}

static void test_lsdev(void **state)
{
    fixture_t *fx = *state;
    assert_string_equal(s_ok(fx, "lsdev", "-Cc", "adapter", NULL),
                        "ent0   Available       Virtual I/O Ethernet Adapter (l-lan)\n"
                        "fcs0   Available       Virtual Fibre Channel Client Adapter\n"
                        "fcs1   Available       Virtual Fibre Channel Client Adapter\n"
                        "vsa0   Available       LPAR Virtual Serial Adapter\n"
                        "vscsi0 Available       Virtual SCSI Client Adapter\n");
    s_simlpar(fx, "set", "adapters",
              "ent0 Available 02-00 4-Port Gigabit Ethernet PCI-Express Adapter (e414571614102004)\n"
              "fcs0 Available 01-00 8Gb PCI Express Dual Port FC Adapter (df1000f114108a03)\n",
              NULL);
    assert_string_equal(
        s_ok(fx, "lsdev", "-Cc", "adapter", NULL),
        "ent0 Available 02-00 4-Port Gigabit Ethernet PCI-Express Adapter (e414571614102004)\n"
        "fcs0 Available 01-00 8Gb PCI Express Dual Port FC Adapter (df1000f114108a03)\n");
}

static void test_lssrc(void **state)
{
    fixture_t *fx = *state;
    const char *out = s_ok(fx, "lssrc", "-s", "ctrmc", NULL);
    char line[256];
    assert_string_equal(s_line(out, 0, line, sizeof line),
                        "Subsystem         Group            PID          Status ");
    s_line(out, 1, line, sizeof line);
    assert_int_equal(strncmp(line, " ctrmc            rsct             ", 35), 0);
    assert_string_equal(line + 48, "active");
    s_simlpar(fx, "set", "rmc", "inoperative", NULL);
    out = s_ok(fx, "lssrc", "-s", "ctrmc", NULL);
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        " ctrmc            rsct                          inoperative");
    s_run(fx, "lssrc", "-s", "nosuch", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_non_null(strstr(fx->r.err, "0513-085"));
}

static void test_lslpp(void **state)
{
    fixture_t *fx = *state;
    const char *out = s_ok(fx, "lslpp", "-Lc", "bos.alt_disk_install.rte", NULL);
    char line[512];
    s_line(out, 0, line, sizeof line);
    assert_int_equal(strncmp(line, "#Package Name:Fileset:Level:", 28), 0);
    assert_string_equal(s_line(out, 1, line, sizeof line),
                        "bos.alt_disk_install:bos.alt_disk_install.rte:7.2.5.0: : :C: :"
                        "Alternate Disk Installation Runtime : : : : : : :0:0:/:2148");
    assert_int_equal(s_count_lines(out), 2);
    s_simlpar(fx, "set", "fileset:bos.alt_disk_install.rte", "7.3.2.0", NULL);
    out = s_ok(fx, "lslpp", "-Lc", "bos.alt_disk_install.rte", NULL);
    assert_non_null(strstr(out, ":bos.alt_disk_install.rte:7.3.2.0:"));
    s_run(fx, "lslpp", "-Lc", "bos.nosuch.rte", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    assert_non_null(strstr(fx->r.err, "0504-132"));
}

static void test_niminfo(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/etc/niminfo", fx->part);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof text - 1, file);
    text[n] = '\0';
    fclose(file);
    assert_non_null(strstr(text, "\nexport NIM_MASTER_HOSTNAME=nimmaster\n"));
    assert_non_null(strstr(text, "\nexport NIM_NAME=web-server\n"));
    s_simlpar(fx, "set", "nim_master", "nim2", NULL);
    s_simlpar(fx, "set", "nim_master", "-", NULL);
    assert_int_equal(access(path, F_OK), -1);
}

//  ---------------------------------------------------------------------------
//  Failures

//  Every command refuses an unknown flag with a usage message and exit 1.
static void test_bad_flags(void **state)
{
    fixture_t *fx = *state;
    static const char *const commands[] = {"lsattr", "uname", "hostname", "oslevel", "lspv",
                                           "lsvg", "bootlist", "lparstat", "lsdev", "lssrc",
                                           "lslpp", "getconf"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        s_run(fx, commands[i], "-Z", NULL);
        if (fx->r.exit_code != 1 || fx->r.out_len != 0 || !strstr(fx->r.err, "sage"))
            fail_msg("%s -Z: exit %d, out '%s', err '%s'", commands[i], fx->r.exit_code,
                     fx->r.out, fx->r.err);
    }
    s_run(fx, "lparstat", NULL);
    assert_int_equal(fx->r.exit_code, 1);
    s_run(fx, "bootlist", "-m", "service", "-o", NULL);
    assert_int_equal(fx->r.exit_code, 1);
}

//  A missing state file is a broken simulator: exit 2, not a simulated failure.
static void test_missing_state(void **state)
{
    fixture_t *fx = *state;
    char path[256];
    s_state_file(fx, "oslevel", path, sizeof path);
    assert_int_equal(unlink(path), 0);
    s_run(fx, "oslevel", "-s", NULL);
    assert_int_equal(fx->r.exit_code, 2);
    assert_string_equal(fx->r.out, "");
    assert_non_null(strstr(fx->r.err, "oslevel"));
}

static void test_fault_injection(void **state)
{
    fixture_t *fx = *state;
    s_simlpar(fx, "set", "fault:lspv.out", "garbage that is not lspv\n", NULL);
    assert_string_equal(s_ok(fx, "lspv", NULL), "garbage that is not lspv\n");
    s_simlpar(fx, "set", "fault:lspv.err", "0516-320 lspv: Physical volume hdisk0 is not assigned\n",
              NULL);
    s_simlpar(fx, "set", "fault:lspv.exit", "3", NULL);
    s_run(fx, "lspv", NULL);
    assert_int_equal(fx->r.exit_code, 3);
    assert_non_null(strstr(fx->r.err, "0516-320"));
    s_simlpar(fx, "set", "fault:lspv.out", "-", NULL);
    s_simlpar(fx, "set", "fault:lspv.err", "-", NULL);
    s_simlpar(fx, "set", "fault:lspv.exit", "-", NULL);
    assert_int_equal(strncmp(s_ok(fx, "lspv", NULL), "hdisk0 ", 7), 0);
}

static void test_simlpar_refusals(void **state)
{
    fixture_t *fx = *state;
    char *again[] = {FERRY_BIN_DIR "/ferry-simlpar", "create", fx->dir, NULL};
    s_run_argv(fx, again);
    assert_int_equal(fx->r.exit_code, 1);
    char *bad_key[] = {FERRY_BIN_DIR "/ferry-simlpar", "set", fx->dir, "nosuch", "1", NULL};
    s_run_argv(fx, bad_key);
    assert_int_equal(fx->r.exit_code, 2);
    char *bad_serial[] = {FERRY_BIN_DIR "/ferry-simlpar", "set", fx->dir, "serial", "21 C", NULL};
    s_run_argv(fx, bad_serial);
    assert_int_equal(fx->r.exit_code, 1);
    char *bad_disk[] = {FERRY_BIN_DIR "/ferry-simlpar", "set", fx->dir, "disk:hdisk3", "x y", NULL};
    s_run_argv(fx, bad_disk);
    assert_int_equal(fx->r.exit_code, 1);
    //  Nothing half-written was left behind.
    assert_string_equal(s_ok(fx, "uname", "-u", NULL), "IBM,0221C48FV\n");
}

//  The options of create reach the commands.
static void test_create_options(void **state)
{
    fixture_t *fx = *state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/second", fx->dir);
    char *argv[] = {FERRY_BIN_DIR "/ferry-simlpar", "create", dir, "--serial", "CACD07",
                    "--prefix", "03", "--model", "IBM,9080-M9S", "--number", "12",
                    "--disks", "3", "--physical-adapter", "--oslevel", "7100-05-06-2015", NULL};
    s_run_argv(fx, argv);
    assert_int_equal(fx->r.exit_code, 0);
    snprintf(fx->part, sizeof fx->part, "%s", dir);
    assert_string_equal(s_ok(fx, "uname", "-u", NULL), "IBM,03CACD07\n");
    assert_string_equal(s_ok(fx, "uname", "-M", NULL), "IBM,9080-M9S\n");
    assert_string_equal(s_ok(fx, "uname", "-L", NULL), "12 lpar12\n");
    assert_int_equal(s_count_lines(s_ok(fx, "lspv", NULL)), 3);
    assert_non_null(strstr(s_ok(fx, "lsdev", "-Cc", "adapter", NULL), " 02-00 "));
    assert_non_null(strstr(s_ok(fx, "lslpp", "-Lc", "bos.alt_disk_install.rte", NULL),
                           ":7.1.5.0:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lsattr, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_uname, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_set_serial, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_partition_names, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_oslevel, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lspv, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_varied_off_vg, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lsvg_rootvg, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_getconf, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bootlist, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lparstat, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lsdev, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lssrc, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lslpp, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_niminfo, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_flags, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_state, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_simlpar_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_create_options, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
