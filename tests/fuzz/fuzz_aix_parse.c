/*  fuzz_aix_parse — libFuzzer target for every AIX output parser. The first
    byte picks one parser (so the fuzzer can specialise its input), the rest
    is the command output; a pick beyond the parsers runs them all. Checks
    beyond "no crash, no leak": results stay NUL-terminated and within their
    patterns, lists stay bounded. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aix_parse.h"
#include "names.h"

//  0-6 identity, 7 lspv, 8-10 lists (lsvg, bootlist, lsdev), 11-17 the others.
#define S_PARSERS 18

//  Strings kept by a parser are NUL-terminated inside their buffer.
static void s_check_str(const char *s, size_t size)
{
    assert(memchr(s, '\0', size) != NULL);
}

static void s_check_names(const aix_names_t *list, name_kind_t kind)
{
    assert(list->count <= AIX_LIST_MAX);
    for (size_t i = 0; i < list->count; i++)
        assert(name_valid(kind, list->items[i]));
}

static void s_lspv(const char *text, size_t len, aix_warnings_t *w)
{
    aix_lspv_t lspv;
    aix_parse_lspv(text, len, &lspv, w);
    assert(lspv.count <= AIX_LIST_MAX);
    for (size_t i = 0; i < lspv.count; i++) {
        assert(name_valid(NAME_DISK, lspv.items[i].name));
        assert(lspv.items[i].vg[0] == '\0' || name_valid(NAME_VG, lspv.items[i].vg));
        assert(strlen(lspv.items[i].pvid) == 0 || strlen(lspv.items[i].pvid) == AIX_PVID_LEN);
    }
    aix_lspv_clear(&lspv);
}

static void s_lists(int which, const char *text, size_t len, aix_warnings_t *w)
{
    aix_names_t names;
    aix_adapters_t ad;
    if (which == 8) {
        aix_parse_lsvg_list(text, len, "lsvg", &names, w);
        s_check_names(&names, NAME_VG);
        aix_names_clear(&names);
    }
    else if (which == 9) {
        aix_parse_bootlist(text, len, &names, w);
        s_check_names(&names, NAME_DISK);
        aix_names_clear(&names);
    }
    else {
        aix_parse_lsdev_adapters(text, len, &ad, w);
        s_check_names(&ad.physical, NAME_DISK);
        s_check_names(&ad.virtual, NAME_DISK);
        aix_adapters_clear(&ad);
    }
}

static void s_identity(int which, const char *text, size_t len, aix_warnings_t *w)
{
    aix_systemid_t id;
    char buf[AIX_HOST_MAX];
    aix_uname_L_t L;
    switch (which) {
    case 0:
    case 1:
        (which ? aix_parse_uname_u : aix_parse_lsattr_systemid)(text, len, &id, w);
        s_check_str(id.systemid, sizeof id.systemid);
        assert(id.serial[0] == '\0' || strlen(id.serial) == 7);
        break;
    case 2:
        aix_parse_lsattr_modelname(text, len, buf, w);
        s_check_str(buf, AIX_VALUE_MAX);
        break;
    case 3:
        aix_parse_uname_M(text, len, buf, w);
        s_check_str(buf, AIX_VALUE_MAX);
        break;
    case 4:
        aix_parse_uname_f(text, len, buf, w);
        s_check_str(buf, AIX_VALUE_MAX);
        break;
    case 5:
        aix_parse_uname_L(text, len, &L, w);
        s_check_str(L.name, sizeof L.name);
        break;
    default:
        if (aix_parse_hostname(text, len, buf, w) == 0)
            assert(name_valid(NAME_HOST, buf));
        break;
    }
}

static void s_others(int which, const char *text, size_t len, aix_warnings_t *w)
{
    aix_oslevel_t os;
    aix_lsvg_vg_t vg;
    aix_lparstat_t lp;
    aix_fileset_t fs;
    aix_niminfo_t nim;
    char status[AIX_VALUE_MAX];
    uint64_t mb;
    switch (which) {
    case 11:
        aix_parse_oslevel_s(text, len, &os, w);
        s_check_str(os.version, sizeof os.version);
        break;
    case 12:
        aix_parse_lsvg_vg(text, len, "rootvg", &vg, w);
        s_check_str(vg.state, sizeof vg.state);
        break;
    case 13:
        aix_parse_lparstat_i(text, len, &lp, w);
        s_check_str(lp.partition_name, sizeof lp.partition_name);
        break;
    case 14:
        aix_parse_lssrc_s(text, len, "ctrmc", status, w);
        s_check_str(status, sizeof status);
        break;
    case 15:
        aix_parse_lslpp_lc(text, len, "bos.alt_disk_install.rte", &fs, w);
        s_check_str(fs.level, sizeof fs.level);
        break;
    case 16:
        aix_parse_disk_size(text, len, "hdisk0", &mb, w);
        break;
    default:
        aix_parse_niminfo(text, len, &nim, w);
        assert(nim.master[0] == '\0' || name_valid(NAME_HOST, nim.master));
        assert(nim.name[0] == '\0' || name_valid(NAME_NIM_OBJECT, nim.name));
        break;
    }
}

static void s_one(int which, const char *text, size_t len)
{
    aix_warnings_t w;
    aix_warnings_init(&w);
    if (which <= 6)
        s_identity(which, text, len, &w);
    else if (which == 7)
        s_lspv(text, len, &w);
    else if (which <= 10)
        s_lists(which, text, len, &w);
    else
        s_others(which, text, len, &w);
    assert(w.count <= AIX_WARNINGS_MAX);
    for (size_t i = 0; i < w.count; i++)
        s_check_str(w.items[i], AIX_WARNING_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int pick = data[0] % (S_PARSERS + 1);
    const char *text = (const char *) data + 1;
    size_t len = size - 1;
    if (pick < S_PARSERS) {
        s_one(pick, text, len);
        return 0;
    }
    for (int i = 0; i < S_PARSERS; i++)
        s_one(i, text, len);
    return 0;
}
