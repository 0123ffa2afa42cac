/*  test_aix_parse — every AIX output parser against hand-written fixtures
    (tests/fixtures/aix, one file per quirk of reference/aix.md), plus empty
    input, blank lines, binary junk, over-long lines and the warnings cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aix_parse.h"

#define FIXTURES FERRY_SOURCE_DIR "/tests/fixtures/aix/"

//  A fixture file, malloc'd (not NUL-terminated on purpose: parsers take a length).
typedef struct {
    char *text;    // file contents, owned
    size_t len;    // bytes in text
} fixture_t;

static fixture_t s_load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", FIXTURES, name);
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open fixture %s", path);
    fixture_t f = {malloc(65536), 0};
    assert_non_null(f.text);
    f.len = fread(f.text, 1, 65536, file);
    fclose(file);
    return f;
}

static void s_unload(fixture_t *f)
{
    free(f->text);
    f->text = NULL;
}

//  True when some warning contains needle.
static bool s_warned(const aix_warnings_t *w, const char *needle)
{
    for (size_t i = 0; i < w->count; i++)
        if (strstr(w->items[i], needle))
            return true;
    return false;
}

//  Exactly count warnings; list them when not.
static void s_assert_count(const aix_warnings_t *w, size_t count)
{
    if (w->count == count)
        return;
    for (size_t i = 0; i < w->count; i++)
        print_message("  warning: %s\n", w->items[i]);
    fail_msg("%zu warnings, want %zu", w->count, count);
}

// ---------------------------------------------------------------- identity

static void s_systemid(const char *name, int rc, const char *systemid, const char *serial,
                       size_t warnings)
{
    fixture_t f = s_load(name);
    aix_warnings_t w;
    aix_systemid_t id;
    aix_warnings_init(&w);
    assert_int_equal(aix_parse_lsattr_systemid(f.text, f.len, &id, &w), rc);
    assert_string_equal(id.systemid, systemid);
    assert_string_equal(id.serial, serial);
    s_assert_count(&w, warnings);
    s_unload(&f);
}

static void test_systemid_prefixes(void **state)
{
    (void) state;
    s_systemid("lsattr_systemid_prefix01.txt", 0, "IBM,0121C48FV", "21C48FV", 0);
    s_systemid("lsattr_systemid_prefix02.txt", 0, "IBM,0221C48FV", "21C48FV", 0);
    //  Prefix 03, and a serial that itself starts with 02: only position counts.
    s_systemid("lsattr_systemid_prefix03.txt", 0, "IBM,0302A5B7C", "02A5B7C", 0);
}

static void test_systemid_odd(void **state)
{
    (void) state;
    //  The raw id is what the command said; the serial is not guessed.
    s_systemid("lsattr_systemid_no_ibm_prefix.txt", 0, "0221C48FV", "", 1);
    s_systemid("lsattr_systemid_short_serial.txt", 0, "IBM,0221C48", "", 1);
    s_systemid("lsattr_systemid_wrong_attribute.txt", -1, "", "", 1);
}

static void test_uname_u(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_systemid_t id;
    aix_warnings_init(&w);
    fixture_t f = s_load("uname_u.txt");
    assert_int_equal(aix_parse_uname_u(f.text, f.len, &id, &w), 0);
    assert_string_equal(id.systemid, "IBM,0221C48FV");
    assert_string_equal(id.serial, "21C48FV");
    s_unload(&f);
    f = s_load("uname_u_after_lpm.txt");
    assert_int_equal(aix_parse_uname_u(f.text, f.len, &id, &w), 0);
    assert_string_equal(id.serial, "78D12AB");
    s_assert_count(&w, 0);
    s_unload(&f);
}

static void test_model(void **state)
{
    (void) state;
    aix_warnings_t w;
    char model[AIX_VALUE_MAX];
    aix_warnings_init(&w);
    fixture_t f = s_load("lsattr_modelname.txt");
    assert_int_equal(aix_parse_lsattr_modelname(f.text, f.len, model, &w), 0);
    assert_string_equal(model, "IBM,8408-E8E");
    s_unload(&f);
    f = s_load("uname_M.txt");
    assert_int_equal(aix_parse_uname_M(f.text, f.len, model, &w), 0);
    assert_string_equal(model, "IBM,8408-E8E");
    s_unload(&f);
    s_assert_count(&w, 0);
    //  A modelname line handed to the systemid parser, and vice versa.
    f = s_load("lsattr_systemid_prefix02.txt");
    assert_int_equal(aix_parse_lsattr_modelname(f.text, f.len, model, &w), -1);
    assert_string_equal(model, "");
    assert_int_equal(aix_parse_uname_M(f.text, f.len, model, &w), -1);
    s_assert_count(&w, 2);
    s_unload(&f);
}

static void test_uname_f(void **state)
{
    (void) state;
    aix_warnings_t w;
    char id[AIX_VALUE_MAX];
    aix_warnings_init(&w);
    fixture_t f = s_load("uname_f.txt");
    assert_int_equal(aix_parse_uname_f(f.text, f.len, id, &w), 0);
    assert_string_equal(id, "8000049FE0105F1F");
    s_unload(&f);
    f = s_load("uname_f_not_hex.txt");
    assert_int_equal(aix_parse_uname_f(f.text, f.len, id, &w), -1);
    assert_string_equal(id, "");
    assert_true(s_warned(&w, "uname -f"));
    s_unload(&f);
}

static void s_uname_L(const char *name, int rc, bool lpar, bool has_number, int number,
                      const char *partition)
{
    fixture_t f = s_load(name);
    aix_warnings_t w;
    aix_uname_L_t L;
    aix_warnings_init(&w);
    assert_int_equal(aix_parse_uname_L(f.text, f.len, &L, &w), rc);
    assert_int_equal(L.lpar, lpar);
    assert_int_equal(L.has_number, has_number);
    if (has_number)
        assert_int_equal(L.number, number);
    assert_string_equal(L.name, partition);
    s_assert_count(&w, rc == 0 ? 0 : 1);
    s_unload(&f);
}

static void test_uname_L(void **state)
{
    (void) state;
    s_uname_L("uname_L_lpar.txt", 0, true, true, 99, "lpar1");
    s_uname_L("uname_L_name_with_spaces.txt", 0, true, true, 3, "Web Server");
    //  -1 NULL: not an LPAR at all; 1 NULL: LPAR-capable machine in SMP mode.
    s_uname_L("uname_L_no_lpar_minus1_null.txt", 0, false, false, 0, "");
    s_uname_L("uname_L_smp_mode_1_null.txt", 0, true, true, 1, "");
    s_uname_L("uname_L_junk.txt", -1, false, false, 0, "");
}

static void test_uname_L_edges(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_uname_L_t L;
    aix_warnings_init(&w);
    //  No trailing newline, CRLF, several spaces kept inside the name.
    assert_int_equal(aix_parse_uname_L("7 Web  Server  \r\n", 17, &L, &w), 0);
    assert_string_equal(L.name, "Web  Server");
    assert_int_equal(aix_parse_uname_L("12 db", 5, &L, &w), 0);
    assert_string_equal(L.name, "db");
    s_assert_count(&w, 0);
    assert_int_equal(aix_parse_uname_L("0 zero", 6, &L, &w), -1);
    assert_int_equal(aix_parse_uname_L("99999999 big", 12, &L, &w), -1);
    assert_int_equal(aix_parse_uname_L("-2 NULL", 7, &L, &w), -1);
    //  A name longer than the HMC allows: number kept, name left out.
    const char *longname = "5 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert_int_equal(aix_parse_uname_L(longname, strlen(longname), &L, &w), 0);
    assert_int_equal(L.number, 5);
    assert_string_equal(L.name, "");
    s_assert_count(&w, 4);
    //  Two lines where one is expected.
    assert_int_equal(aix_parse_uname_L("1 a\n2 b\n", 8, &L, &w), -1);
    assert_true(s_warned(&w, "2 lines"));
}

static void test_hostname(void **state)
{
    (void) state;
    aix_warnings_t w;
    char host[AIX_HOST_MAX];
    aix_warnings_init(&w);
    fixture_t f = s_load("hostname.txt");
    assert_int_equal(aix_parse_hostname(f.text, f.len, host, &w), 0);
    assert_string_equal(host, "aixprod01");
    s_unload(&f);
    f = s_load("hostname_fqdn.txt");
    assert_int_equal(aix_parse_hostname(f.text, f.len, host, &w), 0);
    assert_string_equal(host, "aixprod01.example.com");
    s_unload(&f);
    s_assert_count(&w, 0);
    f = s_load("hostname_invalid.txt");
    assert_int_equal(aix_parse_hostname(f.text, f.len, host, &w), -1);
    assert_string_equal(host, "");
    assert_true(s_warned(&w, "hostname"));
    s_unload(&f);
}

// ---------------------------------------------------------------- oslevel

static void test_oslevel(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_oslevel_t os;
    aix_warnings_init(&w);
    fixture_t f = s_load("oslevel_s.txt");
    assert_int_equal(aix_parse_oslevel_s(f.text, f.len, &os, &w), 0);
    assert_string_equal(os.level, "7200-05-03-2148");
    assert_string_equal(os.version, "7.2");
    assert_true(os.has_tl_sp);
    assert_int_equal(os.tl, 5);
    assert_int_equal(os.sp, 3);
    assert_string_equal(os.build, "2148");
    s_unload(&f);
    f = s_load("oslevel_s_73.txt");
    assert_int_equal(aix_parse_oslevel_s(f.text, f.len, &os, &w), 0);
    assert_string_equal(os.version, "7.3");
    assert_int_equal(os.tl, 1);
    assert_int_equal(os.sp, 2);
    assert_string_equal(os.build, "2320");
    s_unload(&f);
    s_assert_count(&w, 0);
}

static void test_oslevel_plain_and_junk(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_oslevel_t os;
    aix_warnings_init(&w);
    //  Plain 7.2.0.0: version only, with a warning.
    fixture_t f = s_load("oslevel_s_plain_7200.txt");
    assert_int_equal(aix_parse_oslevel_s(f.text, f.len, &os, &w), 0);
    assert_string_equal(os.version, "7.2");
    assert_string_equal(os.level, "");
    assert_false(os.has_tl_sp);
    assert_string_equal(os.build, "");
    s_assert_count(&w, 1);
    assert_true(s_warned(&w, "plain level 7.2.0.0"));
    s_unload(&f);
    f = s_load("oslevel_s_junk.txt");
    assert_int_equal(aix_parse_oslevel_s(f.text, f.len, &os, &w), -1);
    assert_string_equal(os.version, "");
    s_unload(&f);
    const char *bad[] = {"7200-05-03", "0200-05-03-2148", "7210-05-03-2148", "7200-5-03-2148",
                         "7200-05-03-2148x", "7.", ".2", "7..2", "1234.2.0.0", "7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(aix_parse_oslevel_s(bad[i], strlen(bad[i]), &os, &w), -1);
        assert_string_equal(os.version, "");
    }
}

// ---------------------------------------------------------------- disks and VGs

static void s_pv(const aix_pv_t *pv, const char *name, const char *pvid, const char *vg,
                 bool active)
{
    assert_string_equal(pv->name, name);
    assert_string_equal(pv->pvid, pvid);
    assert_string_equal(pv->vg, vg);
    assert_int_equal(pv->active, active);
    assert_false(pv->has_size_mb);
}

static void test_lspv_healthy(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lspv_t lspv;
    aix_warnings_init(&w);
    fixture_t f = s_load("lspv_healthy.txt");
    assert_int_equal(aix_parse_lspv(f.text, f.len, &lspv, &w), 0);
    assert_int_equal(lspv.count, 4);
    s_pv(&lspv.items[0], "hdisk0", "00f6db0a6c7aece5", "rootvg", true);
    //  None (VG) and none (PVID): both become "" (null in JSON); no state column.
    s_pv(&lspv.items[1], "hdisk1", "00f6db0a6c7b0a11", "", false);
    s_pv(&lspv.items[2], "hdisk2", "", "", false);
    s_pv(&lspv.items[3], "hdisk3", "00f6db0a8d1e22f0", "datavg", true);
    s_assert_count(&w, 0);
    aix_lspv_clear(&lspv);
    s_unload(&f);
}

static void test_lspv_varied_off_no_state(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lspv_t lspv;
    aix_warnings_init(&w);
    fixture_t f = s_load("lspv_altinst_rootvg_no_state.txt");
    assert_int_equal(aix_parse_lspv(f.text, f.len, &lspv, &w), 0);
    assert_int_equal(lspv.count, 3);
    s_pv(&lspv.items[0], "hdisk0", "00f6db0a6c7aece5", "rootvg", true);
    s_pv(&lspv.items[1], "hdisk1", "00f6db0a6c7b0a11", "altinst_rootvg", false);
    //  Lower-case none in the VG column.
    s_pv(&lspv.items[2], "hdisk2", "", "", false);
    aix_lspv_clear(&lspv);
    s_unload(&f);
    f = s_load("lspv_old_rootvg_after_boot.txt");
    assert_int_equal(aix_parse_lspv(f.text, f.len, &lspv, &w), 0);
    assert_int_equal(lspv.count, 2);
    s_pv(&lspv.items[0], "hdisk0", "00f6db0a6c7aece5", "old_rootvg", false);
    s_pv(&lspv.items[1], "hdisk1", "00f6db0a6c7b0a11", "rootvg", true);
    s_assert_count(&w, 0);
    aix_lspv_clear(&lspv);
    s_unload(&f);
}

static void test_lspv_bad_lines(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lspv_t lspv;
    aix_warnings_init(&w);
    fixture_t f = s_load("lspv_bad_lines.txt");
    assert_int_equal(aix_parse_lspv(f.text, f.len, &lspv, &w), 0);
    //  Short PVID, upper-case name, bad VG name, 2 and 5 columns, a duplicate.
    assert_int_equal(lspv.count, 2);
    s_pv(&lspv.items[0], "hdisk0", "00f6db0a6c7aece5", "rootvg", true);
    s_pv(&lspv.items[1], "hdisk6", "00F6DB0A6C7B0A16", "datavg", true);
    s_assert_count(&w, 6);
    assert_true(s_warned(&w, "hdisk0 listed twice"));
    aix_lspv_clear(&lspv);
    s_unload(&f);
}

static void test_lsvg_lists(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_names_t vgs;
    aix_warnings_init(&w);
    fixture_t f = s_load("lsvg_all.txt");
    assert_int_equal(aix_parse_lsvg_list(f.text, f.len, "lsvg", &vgs, &w), 0);
    assert_int_equal(vgs.count, 3);
    assert_string_equal(vgs.items[0], "rootvg");
    assert_string_equal(vgs.items[1], "altinst_rootvg");
    assert_string_equal(vgs.items[2], "datavg");
    assert_true(aix_names_contains(&vgs, "datavg"));
    assert_false(aix_names_contains(&vgs, "old_rootvg"));
    aix_names_clear(&vgs);
    s_unload(&f);
    f = s_load("lsvg_o_varied_on.txt");
    assert_int_equal(aix_parse_lsvg_list(f.text, f.len, "lsvg -o", &vgs, &w), 0);
    assert_int_equal(vgs.count, 2);
    assert_string_equal(vgs.items[0], "datavg");
    s_assert_count(&w, 0);
    aix_names_clear(&vgs);
    s_unload(&f);
    f = s_load("lsvg_bad_name.txt");
    assert_int_equal(aix_parse_lsvg_list(f.text, f.len, "lsvg", &vgs, &w), 0);
    assert_int_equal(vgs.count, 1);
    s_assert_count(&w, 2);
    assert_true(s_warned(&w, "lsvg: line 2"));
    aix_names_clear(&vgs);
    s_unload(&f);
}

static void s_rootvg_sizes(const aix_lsvg_vg_t *vg, uint64_t pp_size)
{
    assert_string_equal(vg->name, "rootvg");
    assert_string_equal(vg->state, "active");
    assert_false(vg->varied_off);
    assert_true(vg->has_pp_size);
    assert_int_equal(vg->pp_size_mb, pp_size);
    assert_true(vg->has_total && vg->has_free && vg->has_used && vg->has_total_pvs);
    assert_int_equal(vg->total_pps, 543);
    assert_int_equal(vg->total_mb, 34752);
    assert_int_equal(vg->free_pps, 169);
    assert_int_equal(vg->free_mb, 10816);
    assert_int_equal(vg->used_pps, 374);
    assert_int_equal(vg->used_mb, 23936);
    assert_int_equal(vg->total_pvs, 1);
}

static void test_lsvg_rootvg_two_columns(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lsvg_vg_t vg;
    aix_warnings_init(&w);
    //  Short lines (left column only), trailing spaces, "LTG size (Dynamic):".
    fixture_t f = s_load("lsvg_rootvg_two_columns_short_lines_trailing_spaces.txt");
    assert_int_equal(aix_parse_lsvg_vg(f.text, f.len, "rootvg", &vg, &w), 0);
    s_assert_count(&w, 0);
    s_rootvg_sizes(&vg, 64);
    s_unload(&f);
    //  The right column is wherever the first line puts it.
    f = s_load("lsvg_rootvg_column_at_40.txt");
    assert_int_equal(aix_parse_lsvg_vg(f.text, f.len, "rootvg", &vg, &w), 0);
    s_assert_count(&w, 0);
    s_rootvg_sizes(&vg, 128);
    s_unload(&f);
}

static void test_lsvg_rootvg_misaligned(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lsvg_vg_t vg;
    aix_warnings_init(&w);
    fixture_t f = s_load("lsvg_rootvg_misaligned.txt");
    assert_int_equal(aix_parse_lsvg_vg(f.text, f.len, "rootvg", &vg, &w), 0);
    assert_int_equal(vg.pp_size_mb, 64);
    assert_false(vg.has_total);
    assert_false(vg.has_free);
    s_assert_count(&w, 2);
    assert_true(s_warned(&w, "line 3 does not fit"));
    assert_true(s_warned(&w, "line 4: no label"));
    s_unload(&f);
    //  Bad values of known labels.
    const char *bad = "VOLUME GROUP:  rootvg   VG IDENTIFIER: 00f6\n"
                      "VG STATE:      active   PP SIZE:       64 kilobyte(s)\n"
                      "MAX LVs:       256      TOTAL PPs:     543 34752 megabytes\n"
                      "LVs:           12       FREE PPs:      169 (x megabytes)\n";
    assert_int_equal(aix_parse_lsvg_vg(bad, strlen(bad), "rootvg", &vg, &w), 0);
    assert_false(vg.has_pp_size || vg.has_total || vg.has_free);
    assert_true(s_warned(&w, "bad PP SIZE value"));
    assert_true(s_warned(&w, "bad TOTAL PPs value"));
    assert_true(s_warned(&w, "bad FREE PPs value"));
}

static void test_lsvg_0516_010(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lsvg_vg_t vg;
    aix_warnings_init(&w);
    fixture_t f = s_load("lsvg_0516_010_varied_off.txt");
    assert_int_equal(aix_parse_lsvg_vg(f.text, f.len, "altinst_rootvg", &vg, &w), -1);
    assert_true(vg.varied_off);
    assert_false(vg.has_total);
    s_assert_count(&w, 1);
    assert_true(s_warned(&w, "lsvg altinst_rootvg: volume group is varied off (0516-010)"));
    s_unload(&f);
}

static void test_bootlist(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_names_t boot;
    aix_warnings_init(&w);
    //  One line per path: hdisk1 twice, hdisk0 twice -> unique, in order.
    fixture_t f = s_load("bootlist_repeated_paths.txt");
    assert_int_equal(aix_parse_bootlist(f.text, f.len, &boot, &w), 0);
    assert_int_equal(boot.count, 2);
    assert_string_equal(boot.items[0], "hdisk1");
    assert_string_equal(boot.items[1], "hdisk0");
    aix_names_clear(&boot);
    s_unload(&f);
    f = s_load("bootlist_plain_device.txt");
    assert_int_equal(aix_parse_bootlist(f.text, f.len, &boot, &w), 0);
    assert_int_equal(boot.count, 1);
    assert_string_equal(boot.items[0], "hdisk0");
    s_assert_count(&w, 0);
    aix_names_clear(&boot);
    s_unload(&f);
    f = s_load("bootlist_junk_token.txt");
    assert_int_equal(aix_parse_bootlist(f.text, f.len, &boot, &w), 0);
    assert_int_equal(boot.count, 1);
    assert_string_equal(boot.items[0], "hdisk1");
    s_assert_count(&w, 2);
    aix_names_clear(&boot);
    s_unload(&f);
}

static void test_disk_size(void **state)
{
    (void) state;
    aix_warnings_t w;
    uint64_t mb = 7;
    aix_warnings_init(&w);
    fixture_t f = s_load("getconf_disk_size.txt");
    assert_int_equal(aix_parse_disk_size(f.text, f.len, "hdisk1", &mb, &w), 0);
    assert_int_equal(mb, 51200);
    s_unload(&f);
    f = s_load("getconf_disk_size_junk.txt");
    assert_int_equal(aix_parse_disk_size(f.text, f.len, "hdisk1", &mb, &w), -1);
    assert_int_equal(mb, 0);
    assert_true(s_warned(&w, "getconf DISK_SIZE /dev/hdisk1"));
    s_unload(&f);
    assert_int_equal(aix_parse_disk_size("0\n", 2, "hdisk1", &mb, &w), -1);
    assert_int_equal(aix_parse_disk_size("99999999999999999\n", 18, "hdisk1", &mb, &w), -1);
    assert_int_equal(aix_parse_disk_size("-5\n", 3, "hdisk1", &mb, &w), -1);
}

// ---------------------------------------------------------------- partition

static void test_lparstat_shared(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lparstat_t lp;
    aix_warnings_init(&w);
    //  Padded labels, "Entitled  Capacity" with two spaces, "%", " MB", "-".
    fixture_t f = s_load("lparstat_i_shared_double_spaces_pct_mb_dash.txt");
    assert_int_equal(aix_parse_lparstat_i(f.text, f.len, &lp, &w), 0);
    s_assert_count(&w, 0);
    assert_string_equal(lp.node_name, "aixprod01");
    assert_string_equal(lp.partition_name, "Web Server");
    assert_true(lp.has_partition_number);
    assert_int_equal(lp.partition_number, 3);
    assert_string_equal(lp.type, "Shared-SMT-4");
    assert_string_equal(lp.mode, "Uncapped");
    assert_true(lp.has_entitled_capacity);
    assert_true(lp.entitled_capacity == 0.5);
    assert_true(lp.has_shared_pool_id);
    assert_int_equal(lp.shared_pool_id, 0);
    assert_true(lp.has_online_vcpus);
    assert_int_equal(lp.online_vcpus, 2);
    assert_true(lp.has_online_memory_mb);
    assert_int_equal(lp.online_memory_mb, 16384);
    assert_int_equal(lp.maximum_memory_mb, 32768);
    assert_int_equal(lp.active_physical_cpus, 40);
    assert_true(lp.has_physical_cpu_pct);
    assert_true(lp.physical_cpu_pct == 25.0);
    assert_string_equal(lp.memory_mode, "Dedicated");
    s_unload(&f);
}

static void test_lparstat_dedicated_decimal_comma(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lparstat_t lp;
    aix_warnings_init(&w);
    fixture_t f = s_load("lparstat_i_dedicated_decimal_comma.txt");
    assert_int_equal(aix_parse_lparstat_i(f.text, f.len, &lp, &w), 0);
    s_assert_count(&w, 0);
    assert_string_equal(lp.type, "Dedicated-SMT");
    assert_string_equal(lp.mode, "Capped");
    assert_true(lp.entitled_capacity == 4.0);
    //  "-": absent, not zero.
    assert_false(lp.has_shared_pool_id);
    assert_int_equal(lp.online_vcpus, 4);
    //  "Online  Memory" with a double space inside the label.
    assert_int_equal(lp.online_memory_mb, 8192);
    assert_true(lp.physical_cpu_pct == 100.0);
    assert_int_equal(lp.partition_number, 99);
    s_unload(&f);
}

static void test_lparstat_bad_values(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lparstat_t lp;
    aix_warnings_init(&w);
    fixture_t f = s_load("lparstat_i_bad_values.txt");
    assert_int_equal(aix_parse_lparstat_i(f.text, f.len, &lp, &w), 0);
    assert_string_equal(lp.node_name, "aixprod01");
    assert_string_equal(lp.mode, "Uncapped");
    assert_false(lp.has_partition_number);
    assert_string_equal(lp.type, "");
    assert_false(lp.has_entitled_capacity);
    assert_false(lp.has_online_vcpus);
    assert_false(lp.has_online_memory_mb);
    assert_false(lp.has_shared_pool_id);
    s_assert_count(&w, 6);
    assert_true(s_warned(&w, "bad Entitled Capacity value"));
    assert_true(s_warned(&w, "line 9 has no label"));
    s_unload(&f);
    const char *decimals[] = {"Entitled Capacity : ,5\n", "Entitled Capacity : 5,\n",
                              "Entitled Capacity : 1,000.5\n", "Entitled Capacity : 1e3\n",
                              "Entitled Capacity : nan\n", "Entitled Capacity : 0x10\n"};
    for (size_t i = 0; i < sizeof decimals / sizeof decimals[0]; i++) {
        assert_int_equal(aix_parse_lparstat_i(decimals[i], strlen(decimals[i]), &lp, &w), 0);
        assert_false(lp.has_entitled_capacity);
    }
}

static void test_lsdev_adapters(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_adapters_t ad;
    aix_warnings_init(&w);
    fixture_t f = s_load("lsdev_adapter_virtual_only.txt");
    assert_int_equal(aix_parse_lsdev_adapters(f.text, f.len, &ad, &w), 0);
    assert_int_equal(ad.physical.count, 0);
    assert_int_equal(ad.virtual.count, 5);
    assert_string_equal(ad.virtual.items[0], "ent0");
    assert_string_equal(ad.virtual.items[3], "vsa0");
    aix_adapters_clear(&ad);
    s_unload(&f);
    //  Location codes (02-00) on physical adapters; Defined ones left out.
    f = s_load("lsdev_adapter_physical_location_code.txt");
    assert_int_equal(aix_parse_lsdev_adapters(f.text, f.len, &ad, &w), 0);
    assert_int_equal(ad.physical.count, 4);
    assert_string_equal(ad.physical.items[0], "ent0");
    assert_string_equal(ad.physical.items[1], "ent1");
    assert_string_equal(ad.physical.items[2], "fcs0");
    assert_string_equal(ad.physical.items[3], "sissas0");
    assert_false(aix_names_contains(&ad.physical, "fcs1"));
    assert_int_equal(ad.virtual.count, 3);
    assert_string_equal(ad.virtual.items[0], "ent2");
    s_assert_count(&w, 0);
    aix_adapters_clear(&ad);
    s_unload(&f);
    const char *bad = "ent0 Available\nEnt1 Available Virtual I/O Ethernet Adapter (l-lan)\n"
                      "ent2 Broken 02-00 Adapter\n";
    assert_int_equal(aix_parse_lsdev_adapters(bad, strlen(bad), &ad, &w), -1);
    assert_int_equal(ad.physical.count + ad.virtual.count, 0);
    s_assert_count(&w, 4);
    aix_adapters_clear(&ad);
}

static void test_lssrc(void **state)
{
    (void) state;
    aix_warnings_t w;
    char status[AIX_VALUE_MAX];
    aix_warnings_init(&w);
    fixture_t f = s_load("lssrc_ctrmc_active.txt");
    assert_int_equal(aix_parse_lssrc_s(f.text, f.len, "ctrmc", status, &w), 0);
    assert_string_equal(status, "active");
    s_unload(&f);
    //  No PID column when the daemon is not running.
    f = s_load("lssrc_ctrmc_inoperative.txt");
    assert_int_equal(aix_parse_lssrc_s(f.text, f.len, "ctrmc", status, &w), 0);
    assert_string_equal(status, "inoperative");
    s_assert_count(&w, 0);
    s_unload(&f);
    f = s_load("lssrc_ctrmc_not_on_file.txt");
    assert_int_equal(aix_parse_lssrc_s(f.text, f.len, "ctrmc", status, &w), -1);
    assert_string_equal(status, "");
    assert_true(s_warned(&w, "lssrc -s ctrmc: no status"));
    s_unload(&f);
}

static void test_lslpp(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_fileset_t fs;
    aix_warnings_init(&w);
    const char *name = "bos.alt_disk_install.rte";
    fixture_t f = s_load("lslpp_Lc_alt_disk_install.txt");
    assert_int_equal(aix_parse_lslpp_lc(f.text, f.len, name, &fs, &w), 0);
    assert_false(fs.not_installed);
    assert_string_equal(fs.level, "7.2.5.0");
    s_unload(&f);
    f = s_load("lslpp_Lc_0504_132_not_installed.txt");
    assert_int_equal(aix_parse_lslpp_lc(f.text, f.len, name, &fs, &w), 0);
    assert_true(fs.not_installed);
    assert_string_equal(fs.level, "");
    s_assert_count(&w, 0);
    s_unload(&f);
    f = s_load("lslpp_Lc_bad_level.txt");
    assert_int_equal(aix_parse_lslpp_lc(f.text, f.len, name, &fs, &w), -1);
    assert_string_equal(fs.level, "");
    assert_true(s_warned(&w, "bad level"));
    s_unload(&f);
    //  Another fileset's line is not ours.
    f = s_load("lslpp_Lc_alt_disk_install.txt");
    assert_int_equal(aix_parse_lslpp_lc(f.text, f.len, "bos.rte", &fs, &w), -1);
    s_unload(&f);
}

static void test_niminfo(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_niminfo_t nim;
    aix_warnings_init(&w);
    fixture_t f = s_load("niminfo_quoted.txt");
    assert_int_equal(aix_parse_niminfo(f.text, f.len, &nim, &w), 0);
    assert_string_equal(nim.master, "nimmaster.example.com");
    assert_string_equal(nim.name, "aixprod01");
    s_unload(&f);
    f = s_load("niminfo_unquoted_no_export.txt");
    assert_int_equal(aix_parse_niminfo(f.text, f.len, &nim, &w), 0);
    assert_string_equal(nim.master, "nim1");
    assert_string_equal(nim.name, "lpar7");
    s_assert_count(&w, 0);
    s_unload(&f);
    f = s_load("niminfo_bad_values.txt");
    assert_int_equal(aix_parse_niminfo(f.text, f.len, &nim, &w), -1);
    assert_string_equal(nim.master, "");
    assert_string_equal(nim.name, "");
    assert_true(s_warned(&w, "bad NIM_NAME value"));
    assert_true(s_warned(&w, "bad NIM_MASTER_HOSTNAME value"));
    s_unload(&f);
}

// ---------------------------------------------------------------- odd input everywhere

//  Feed text to every parser; return how many said 0.
static int s_all_parsers(const char *text, size_t len, aix_warnings_t *w)
{
    aix_systemid_t id;
    char buf[AIX_HOST_MAX];
    aix_uname_L_t L;
    aix_oslevel_t os;
    aix_lspv_t lspv;
    aix_names_t names;
    aix_lsvg_vg_t vg;
    aix_lparstat_t lp;
    aix_adapters_t ad;
    aix_fileset_t fs;
    aix_niminfo_t nim;
    uint64_t mb;
    int ok = 0;
    ok += aix_parse_lsattr_systemid(text, len, &id, w) == 0;
    ok += aix_parse_uname_u(text, len, &id, w) == 0;
    ok += aix_parse_lsattr_modelname(text, len, buf, w) == 0;
    ok += aix_parse_uname_M(text, len, buf, w) == 0;
    ok += aix_parse_uname_f(text, len, buf, w) == 0;
    ok += aix_parse_uname_L(text, len, &L, w) == 0;
    ok += aix_parse_hostname(text, len, buf, w) == 0;
    ok += aix_parse_oslevel_s(text, len, &os, w) == 0;
    ok += aix_parse_lspv(text, len, &lspv, w) == 0;
    aix_lspv_clear(&lspv);
    ok += aix_parse_lsvg_list(text, len, "lsvg", &names, w) == 0;
    aix_names_clear(&names);
    ok += aix_parse_lsvg_vg(text, len, "rootvg", &vg, w) == 0;
    ok += aix_parse_bootlist(text, len, &names, w) == 0;
    aix_names_clear(&names);
    ok += aix_parse_lparstat_i(text, len, &lp, w) == 0;
    ok += aix_parse_lsdev_adapters(text, len, &ad, w) == 0;
    aix_adapters_clear(&ad);
    ok += aix_parse_lssrc_s(text, len, "ctrmc", buf, w) == 0;
    ok += aix_parse_lslpp_lc(text, len, "bos.alt_disk_install.rte", &fs, w) == 0;
    ok += aix_parse_disk_size(text, len, "hdisk0", &mb, w) == 0;
    ok += aix_parse_niminfo(text, len, &nim, w) == 0;
    return ok;
}

#define S_PARSER_COUNT 18

static void test_empty_input(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_warnings_init(&w);
    //  NULL with length 0, an empty file, blank lines: no answer, one warning each.
    assert_int_equal(s_all_parsers(NULL, 0, &w), 0);
    s_assert_count(&w, S_PARSER_COUNT);
    fixture_t f = s_load("empty.txt");
    aix_warnings_init(&w);
    assert_int_equal(s_all_parsers(f.text, f.len, &w), 0);
    s_assert_count(&w, S_PARSER_COUNT);
    s_unload(&f);
    f = s_load("blank_lines_only.txt");
    aix_warnings_init(&w);
    assert_int_equal(s_all_parsers(f.text, f.len, &w), 0);
    s_assert_count(&w, S_PARSER_COUNT);
    s_unload(&f);
}

static void test_binary_junk(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_uname_L_t L;
    aix_lspv_t lspv;
    aix_warnings_init(&w);
    //  A NUL inside an otherwise good line: the line is refused, not cut short.
    assert_int_equal(aix_parse_uname_L("99 lp\0ar1\n", 10, &L, &w), -1);
    assert_string_equal(L.name, "");
    assert_true(s_warned(&w, "uname -L: line 1 unreadable"));
    //  Non-ASCII and control bytes; the good line around them still counts.
    const char lspv_text[] = "hdisk0 00f6db0a6c7aece5 rootvg active\n"
                             "hdisk1 \xff\xfe\x01\x02 None\n";
    aix_warnings_init(&w);
    assert_int_equal(aix_parse_lspv(lspv_text, sizeof lspv_text - 1, &lspv, &w), 0);
    assert_int_equal(lspv.count, 1);
    s_assert_count(&w, 1);
    aix_lspv_clear(&lspv);
    //  Pseudo-random bytes through every parser: no answer, no crash (ASan watches).
    unsigned char junk[8192];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk[i] = (unsigned char) x;
    }
    aix_warnings_init(&w);
    assert_int_equal(s_all_parsers((const char *) junk, sizeof junk, &w), 0);
    assert_true(w.count > 0);
}

static void test_long_lines_and_warning_cap(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_names_t names;
    aix_warnings_init(&w);
    //  A line longer than any real output: refused.
    char *text = malloc(5000);
    assert_non_null(text);
    memset(text, 'a', 4999);
    text[4999] = '\n';
    assert_int_equal(aix_parse_bootlist(text, 5000, &names, &w), -1);
    assert_true(s_warned(&w, "line 1 unreadable"));
    aix_names_clear(&names);
    //  2500 bad lines: warnings stop at the cap and the rest are counted.
    for (size_t i = 0; i < 5000; i += 2) {
        text[i] = '!';
        text[i + 1] = '\n';
    }
    aix_warnings_init(&w);
    assert_int_equal(aix_parse_bootlist(text, 5000, &names, &w), -1);
    s_assert_count(&w, AIX_WARNINGS_MAX);
    assert_int_equal(w.dropped, 2500 + 1 - AIX_WARNINGS_MAX);
    aix_names_clear(&names);
    free(text);
    //  A warning longer than its slot is cut, still NUL-terminated.
    aix_warnings_init(&w);
    aix_warn(&w, "%0300d", 7);
    assert_int_equal(strlen(w.items[0]), AIX_WARNING_LEN - 1);
}

static void test_many_disks(void **state)
{
    (void) state;
    aix_warnings_t w;
    aix_lspv_t lspv;
    aix_warnings_init(&w);
    //  More disks than a list keeps: the first AIX_LIST_MAX stay, one warning.
    size_t lines = AIX_LIST_MAX + 10, cap = lines * 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    for (size_t i = 0; i < lines; i++)
        len += (size_t) snprintf(text + len, cap - len, "hdisk%zu %016zx None\n", i, i);
    assert_int_equal(aix_parse_lspv(text, len, &lspv, &w), 0);
    assert_int_equal(lspv.count, AIX_LIST_MAX);
    assert_string_equal(lspv.items[AIX_LIST_MAX - 1].name, "hdisk4095");
    s_assert_count(&w, 1);
    aix_lspv_clear(&lspv);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_systemid_prefixes),
        cmocka_unit_test(test_systemid_odd),
        cmocka_unit_test(test_uname_u),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_uname_f),
        cmocka_unit_test(test_uname_L),
        cmocka_unit_test(test_uname_L_edges),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_oslevel),
        cmocka_unit_test(test_oslevel_plain_and_junk),
        cmocka_unit_test(test_lspv_healthy),
        cmocka_unit_test(test_lspv_varied_off_no_state),
        cmocka_unit_test(test_lspv_bad_lines),
        cmocka_unit_test(test_lsvg_lists),
        cmocka_unit_test(test_lsvg_rootvg_two_columns),
        cmocka_unit_test(test_lsvg_rootvg_misaligned),
        cmocka_unit_test(test_lsvg_0516_010),
        cmocka_unit_test(test_bootlist),
        cmocka_unit_test(test_disk_size),
        cmocka_unit_test(test_lparstat_shared),
        cmocka_unit_test(test_lparstat_dedicated_decimal_comma),
        cmocka_unit_test(test_lparstat_bad_values),
        cmocka_unit_test(test_lsdev_adapters),
        cmocka_unit_test(test_lssrc),
        cmocka_unit_test(test_lslpp),
        cmocka_unit_test(test_niminfo),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_binary_junk),
        cmocka_unit_test(test_long_lines_and_warning_cap),
        cmocka_unit_test(test_many_disks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
