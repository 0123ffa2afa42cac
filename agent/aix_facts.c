/*  aix_facts — run the allowed AIX commands, parse their output with
    aix_parse, and build the facts object of `ferry-agent facts`. Every
    command failure becomes a warning naming the command; the facts it would
    have given stay absent. */
#include "aix_facts.h"

#include "aix_parse.h"
#include "command.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ERRLEN 256
#define S_STDERR_SHOWN 120            // bytes of a failing command's stderr quoted in a warning
#define S_NIMINFO_MAX (64 * 1024)     // niminfo is a few hundred bytes; more is not niminfo
#define S_ALT_DISK_FILESET "bos.alt_disk_install.rte"
#define S_ARGS_MAX 6                  // arguments after the program, NULL included

//  One allowed invocation: the program, where AIX keeps it, its arguments.
typedef struct {
    const char *program;              // file name, looked up in bin_dir
    const char *aix_dir;              // directory on AIX, used when bin_dir is NULL
    const char *args[S_ARGS_MAX];     // arguments after the program, NULL-terminated
} s_invocation_t;

//  The only commands this module runs (issue 3); getconf gets /dev/DISK appended.
static const s_invocation_t s_lsattr_systemid = {
    "lsattr", "/usr/sbin", {"-El", "sys0", "-a", "systemid", NULL}};
static const s_invocation_t s_lsattr_modelname = {
    "lsattr", "/usr/sbin", {"-El", "sys0", "-a", "modelname", NULL}};
static const s_invocation_t s_uname_L = {"uname", "/usr/bin", {"-L", NULL}};
static const s_invocation_t s_uname_u = {"uname", "/usr/bin", {"-u", NULL}};
static const s_invocation_t s_uname_M = {"uname", "/usr/bin", {"-M", NULL}};
static const s_invocation_t s_uname_f = {"uname", "/usr/bin", {"-f", NULL}};
static const s_invocation_t s_hostname = {"hostname", "/usr/bin", {NULL}};
static const s_invocation_t s_oslevel = {"oslevel", "/usr/bin", {"-s", NULL}};
static const s_invocation_t s_lspv = {"lspv", "/usr/sbin", {NULL}};
static const s_invocation_t s_lsvg = {"lsvg", "/usr/sbin", {NULL}};
static const s_invocation_t s_lsvg_o = {"lsvg", "/usr/sbin", {"-o", NULL}};
static const s_invocation_t s_lsvg_rootvg = {"lsvg", "/usr/sbin", {"rootvg", NULL}};
static const s_invocation_t s_bootlist = {
    "bootlist", "/usr/bin", {"-m", "normal", "-o", NULL}};
static const s_invocation_t s_lparstat = {"lparstat", "/usr/bin", {"-i", NULL}};
static const s_invocation_t s_lsdev = {"lsdev", "/usr/sbin", {"-Cc", "adapter", NULL}};
static const s_invocation_t s_lssrc = {"lssrc", "/usr/bin", {"-s", "ctrmc", NULL}};
static const s_invocation_t s_lslpp = {"lslpp", "/usr/bin", {"-Lc", S_ALT_DISK_FILESET, NULL}};
static const s_invocation_t s_getconf = {"getconf", "/usr/bin", {"DISK_SIZE", NULL}};

//  State of one collection.
typedef struct {
    const char *bin_dir;              // borrowed; NULL = AIX paths
    int timeout_ms;                   // limit per command
    command_result_t last;            // output of the last command, freed by the next run
    aix_warnings_t warnings;          // collected for the report
} s_ctx_t;

//  Everything the commands told us; has_* says which parsers gave an answer.
typedef struct {
    bool has_systemid;                // lsattr -El sys0 -a systemid
    aix_systemid_t systemid;
    bool has_uname_u;                 // uname -u
    aix_systemid_t uname_u;
    char modelname[AIX_VALUE_MAX];    // lsattr -El sys0 -a modelname; "" unknown
    char uname_M[AIX_VALUE_MAX];      // uname -M; "" unknown
    char uname_f[AIX_VALUE_MAX];      // uname -f; "" unknown
    bool has_uname_L;                 // uname -L
    aix_uname_L_t uname_L;
    char hostname[AIX_HOST_MAX];      // hostname; "" unknown
    bool has_oslevel;                 // oslevel -s
    aix_oslevel_t oslevel;
    bool has_lspv;                    // lspv (sizes from getconf filled in)
    aix_lspv_t lspv;
    bool has_vgs;                     // lsvg
    aix_names_t vgs;
    bool has_online_vgs;              // lsvg -o
    aix_names_t online_vgs;
    bool has_rootvg;                  // lsvg rootvg
    aix_lsvg_vg_t rootvg;
    bool has_bootlist;                // bootlist -m normal -o
    aix_names_t bootlist;
    bool has_lparstat;                // lparstat -i
    aix_lparstat_t lparstat;
    bool has_adapters;                // lsdev -Cc adapter
    aix_adapters_t adapters;
    char rmc[AIX_VALUE_MAX];          // lssrc -s ctrmc status; "" unknown
    bool has_alt_disk;                // lslpp -Lc bos.alt_disk_install.rte
    aix_fileset_t alt_disk;
    bool has_nim;                     // etc/niminfo
    aix_niminfo_t nim;
} s_facts_t;

static void s_facts_clear(s_facts_t *f)
{
    aix_lspv_clear(&f->lspv);
    aix_names_clear(&f->vgs);
    aix_names_clear(&f->online_vgs);
    aix_names_clear(&f->bootlist);
    aix_adapters_clear(&f->adapters);
}

// ---------------------------------------------------------------- running commands

//  "lsvg rootvg", "getconf DISK_SIZE /dev/hdisk0": how warnings name a command.
static void s_label(const s_invocation_t *inv, const char *extra, char *buf, size_t size)
{
    size_t used = (size_t) snprintf(buf, size, "%s", inv->program);
    for (size_t i = 0; inv->args[i] && used < size; i++)
        used += (size_t) snprintf(buf + used, size - used, " %s", inv->args[i]);
    if (extra && used < size)
        snprintf(buf + used, size - used, " %s", extra);
}

//  First line of a failing command's stderr, printable ASCII only, for a warning.
static void s_stderr_excerpt(const command_result_t *r, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < r->err_len && r->err[i] != '\n' && n + 1 < size; i++) {
        char c = r->err[i];
        buf[n++] = c >= ' ' && c <= '~' ? c : '?';
    }
    buf[n] = '\0';
}

//  Warn why a command that ran gave no usable output; -1.
static int s_warn_result(s_ctx_t *ctx, const char *label, const command_result_t *r)
{
    char excerpt[S_STDERR_SHOWN];
    if (r->timed_out)
        aix_warn(&ctx->warnings, "%s: timed out after %d ms", label, ctx->timeout_ms);
    else if (r->term_signal)
        aix_warn(&ctx->warnings, "%s: killed by signal %d", label, r->term_signal);
    else if (r->truncated)
        aix_warn(&ctx->warnings, "%s: output longer than %d bytes", label, AIX_FACTS_MAX_OUTPUT);
    else {
        s_stderr_excerpt(r, excerpt, sizeof excerpt);
        aix_warn(&ctx->warnings, "%s: exit status %d%s%s", label, r->exit_code,
                 excerpt[0] ? ": " : "", excerpt);
    }
    return -1;
}

//  Spawn one invocation into ctx->last (extra: one more argument or NULL).
//  0 when it ran, -1 with a warning when it could not be started.
static int s_spawn(s_ctx_t *ctx, const s_invocation_t *inv, const char *extra, const char *label)
{
    char path[PATH_MAX], err[S_ERRLEN];
    char *argv[S_ARGS_MAX + 2];
    const char *dir = ctx->bin_dir ? ctx->bin_dir : inv->aix_dir;
    int n = snprintf(path, sizeof path, "%s/%s", dir, inv->program);
    if (n < 0 || (size_t) n >= sizeof path) {
        aix_warn(&ctx->warnings, "%s: not run: path too long", label);
        return -1;
    }
    size_t argc = 0;
    argv[argc++] = path;
    //  command_run takes char *const[] but never writes to the strings.
    for (size_t i = 0; inv->args[i]; i++)
        argv[argc++] = (char *) inv->args[i];
    if (extra)
        argv[argc++] = (char *) extra;
    argv[argc] = NULL;
    command_result_free(&ctx->last);
    if (command_run(argv, NULL, ctx->timeout_ms, AIX_FACTS_MAX_OUTPUT, &ctx->last, err,
                    sizeof err) != 0) {
        aix_warn(&ctx->warnings, "%s: not run: %s", label, err);
        return -1;
    }
    return 0;
}

//  Output to parse, borrowed from ctx->last until the next run: stdout when
//  the command exited 0 with complete output; when it exited non-zero with
//  the AIX message known_error (may be NULL) on stderr or stdout, that
//  stream (the parser knows the message). NULL with a warning otherwise.
static const char *s_output(s_ctx_t *ctx, const s_invocation_t *inv, const char *extra,
                            const char *known_error, size_t *len)
{
    char label[128];
    command_result_t *r = &ctx->last;
    s_label(inv, extra, label, sizeof label);
    if (s_spawn(ctx, inv, extra, label) != 0)
        return NULL;
    bool finished = !r->timed_out && !r->term_signal && !r->truncated;
    if (finished && r->exit_code == 0) {
        *len = r->out_len;
        return r->out;
    }
    if (finished && r->exit_code > 0 && known_error) {
        bool in_err = aix_text_has_code(r->err, r->err_len, known_error);
        if (in_err || aix_text_has_code(r->out, r->out_len, known_error)) {
            *len = in_err ? r->err_len : r->out_len;
            return in_err ? r->err : r->out;
        }
    }
    s_warn_result(ctx, label, r);
    return NULL;
}

// ---------------------------------------------------------------- collecting

//  What identifies the system and the partition: all a move can change of
//  the identity (hostname and OS level are the partition's own).
static void s_collect_system(s_ctx_t *ctx, s_facts_t *f)
{
    aix_warnings_t *w = &ctx->warnings;
    const char *out;
    size_t len;
    if ((out = s_output(ctx, &s_lsattr_systemid, NULL, NULL, &len)))
        f->has_systemid = aix_parse_lsattr_systemid(out, len, &f->systemid, w) == 0;
    if ((out = s_output(ctx, &s_lsattr_modelname, NULL, NULL, &len)))
        aix_parse_lsattr_modelname(out, len, f->modelname, w);
    if ((out = s_output(ctx, &s_uname_L, NULL, NULL, &len)))
        f->has_uname_L = aix_parse_uname_L(out, len, &f->uname_L, w) == 0;
    if ((out = s_output(ctx, &s_uname_u, NULL, NULL, &len)))
        f->has_uname_u = aix_parse_uname_u(out, len, &f->uname_u, w) == 0;
    if ((out = s_output(ctx, &s_uname_M, NULL, NULL, &len)))
        aix_parse_uname_M(out, len, f->uname_M, w);
    if ((out = s_output(ctx, &s_uname_f, NULL, NULL, &len)))
        aix_parse_uname_f(out, len, f->uname_f, w);
}

static void s_collect_identity(s_ctx_t *ctx, s_facts_t *f)
{
    aix_warnings_t *w = &ctx->warnings;
    const char *out;
    size_t len;
    s_collect_system(ctx, f);
    if ((out = s_output(ctx, &s_hostname, NULL, NULL, &len)))
        aix_parse_hostname(out, len, f->hostname, w);
    if ((out = s_output(ctx, &s_oslevel, NULL, NULL, &len)))
        f->has_oslevel = aix_parse_oslevel_s(out, len, &f->oslevel, w) == 0;
}

//  getconf DISK_SIZE /dev/DISK for every disk lspv listed.
static void s_collect_disk_sizes(s_ctx_t *ctx, s_facts_t *f)
{
    char device[AIX_NAME_MAX + 8];
    for (size_t i = 0; i < f->lspv.count; i++) {
        aix_pv_t *pv = &f->lspv.items[i];
        //  The name goes on a command line: check it here as well as in the parser.
        if (!name_valid(NAME_DISK, pv->name))
            continue;
        snprintf(device, sizeof device, "/dev/%s", pv->name);
        size_t len;
        const char *out = s_output(ctx, &s_getconf, device, NULL, &len);
        if (out)
            pv->has_size_mb = aix_parse_disk_size(out, len, pv->name, &pv->size_mb,
                                                  &ctx->warnings) == 0;
    }
}

static void s_collect_storage(s_ctx_t *ctx, s_facts_t *f)
{
    aix_warnings_t *w = &ctx->warnings;
    const char *out;
    size_t len;
    if ((out = s_output(ctx, &s_lspv, NULL, NULL, &len)))
        f->has_lspv = aix_parse_lspv(out, len, &f->lspv, w) == 0;
    s_collect_disk_sizes(ctx, f);
    if ((out = s_output(ctx, &s_lsvg, NULL, NULL, &len)))
        f->has_vgs = aix_parse_lsvg_list(out, len, "lsvg", &f->vgs, w) == 0;
    if ((out = s_output(ctx, &s_lsvg_o, NULL, NULL, &len)))
        f->has_online_vgs = aix_parse_lsvg_list(out, len, "lsvg -o", &f->online_vgs, w) == 0;
    //  0516-010: rootvg varied off; the parser says so in a warning.
    if ((out = s_output(ctx, &s_lsvg_rootvg, NULL, "0516-010", &len)))
        f->has_rootvg = aix_parse_lsvg_vg(out, len, "rootvg", &f->rootvg, w) == 0;
    if ((out = s_output(ctx, &s_bootlist, NULL, NULL, &len)))
        f->has_bootlist = aix_parse_bootlist(out, len, &f->bootlist, w) == 0;
}

//  The partition's resources and connections: what a move can change.
static void s_collect_placement(s_ctx_t *ctx, s_facts_t *f)
{
    aix_warnings_t *w = &ctx->warnings;
    const char *out;
    size_t len;
    if ((out = s_output(ctx, &s_lparstat, NULL, NULL, &len)))
        f->has_lparstat = aix_parse_lparstat_i(out, len, &f->lparstat, w) == 0;
    if ((out = s_output(ctx, &s_lsdev, NULL, NULL, &len)))
        f->has_adapters = aix_parse_lsdev_adapters(out, len, &f->adapters, w) == 0;
    if ((out = s_output(ctx, &s_lssrc, NULL, NULL, &len)))
        aix_parse_lssrc_s(out, len, "ctrmc", f->rmc, w);
}

static void s_collect_partition(s_ctx_t *ctx, s_facts_t *f)
{
    aix_warnings_t *w = &ctx->warnings;
    const char *out;
    size_t len;
    s_collect_placement(ctx, f);
    //  0504-132: not installed, a known answer.
    if ((out = s_output(ctx, &s_lslpp, NULL, "0504-132", &len)))
        f->has_alt_disk = aix_parse_lslpp_lc(out, len, S_ALT_DISK_FILESET, &f->alt_disk, w) == 0;
}

//  Read at most S_NIMINFO_MAX bytes of a regular file into a malloc'd buffer.
//  0, or -1 with errno set (EFBIG when larger).
static int s_read_file(const char *path, char **text, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    char *buf = NULL;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (!S_ISREG(st.st_mode) || st.st_size > S_NIMINFO_MAX) {
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        goto fail;
    }
    buf = malloc(S_NIMINFO_MAX + 1);
    if (!buf)
        goto fail;
    size_t used = 0;
    while (used < S_NIMINFO_MAX + 1) {
        ssize_t got = read(fd, buf + used, S_NIMINFO_MAX + 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto fail;
        if (got == 0)
            break;
        used += (size_t) got;
    }
    if (used > S_NIMINFO_MAX) {
        errno = EFBIG;
        goto fail;
    }
    close(fd);
    *text = buf;
    *len = used;
    return 0;
fail:;
    int saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return -1;
}

//  ETC_ROOT/etc/niminfo; a missing file just means this is no NIM client.
static void s_collect_niminfo(s_ctx_t *ctx, const char *etc_root, s_facts_t *f)
{
    char path[PATH_MAX];
    const char *root = etc_root ? etc_root : "/";
    size_t root_len = strlen(root);
    while (root_len > 0 && root[root_len - 1] == '/')
        root_len--;
    int n = snprintf(path, sizeof path, "%.*s/etc/niminfo", (int) root_len, root);
    if (n < 0 || (size_t) n >= sizeof path) {
        aix_warn(&ctx->warnings, "niminfo: path too long");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    if (s_read_file(path, &text, &len) != 0) {
        if (errno != ENOENT)
            aix_warn(&ctx->warnings, "niminfo: cannot read %s: %s", path,
                     errno == EFBIG ? "larger than 64 KB" : strerror(errno));
        return;
    }
    f->has_nim = aix_parse_niminfo(text, len, &f->nim, &ctx->warnings) == 0;
    free(text);
}

// ---------------------------------------------------------------- JSON

//  Set key to a string unless value is empty (unknown).
static void s_set_str(json_t *obj, const char *key, const char *value)
{
    if (value && value[0])
        json_object_set_new(obj, key, json_string(value));
}

//  Attach obj under key when it holds anything; otherwise drop it.
static void s_set_nonempty(json_t *root, const char *key, json_t *obj)
{
    if (obj && json_object_size(obj) > 0)
        json_object_set_new(root, key, obj);
    else
        json_decref(obj);
}

//  Prefer the first source; say so when two sources disagree.
static const char *s_pick(s_ctx_t *ctx, const char *what, const char *first,
                          const char *first_cmd, const char *second, const char *second_cmd)
{
    if (first[0] && second[0] && strcmp(first, second) != 0)
        aix_warn(&ctx->warnings, "%s differs: %s says %s, %s says %s", what, first_cmd, first,
                 second_cmd, second);
    return first[0] ? first : second;
}

static json_t *s_system_json(s_ctx_t *ctx, const s_facts_t *f)
{
    json_t *sys = json_object();
    static const aix_systemid_t none = {{0}, {0}};
    const aix_systemid_t *lsattr = f->has_systemid ? &f->systemid : &none;
    const aix_systemid_t *uname = f->has_uname_u ? &f->uname_u : &none;
    const char *id = s_pick(ctx, "system id", lsattr->systemid, "lsattr", uname->systemid,
                            "uname -u");
    //  The serial comes from the same source as the system id.
    const aix_systemid_t *source = lsattr->systemid[0] ? lsattr : uname;
    s_set_str(sys, "systemid", id);
    s_set_str(sys, "serial", source->serial);
    s_set_str(sys, "model",
              s_pick(ctx, "model", f->uname_M, "uname -M", f->modelname, "lsattr"));
    s_set_str(sys, "partition_system_id", f->uname_f);
    return sys;
}

static json_t *s_partition_json(const s_facts_t *f)
{
    json_t *part = json_object();
    const aix_lparstat_t *lp = &f->lparstat;
    bool lp_ok = f->has_lparstat;
    if (f->has_uname_L && f->uname_L.name[0])
        s_set_str(part, "name", f->uname_L.name);
    else if (lp_ok)
        s_set_str(part, "name", lp->partition_name);
    if (f->has_uname_L && f->uname_L.has_number)
        json_object_set_new(part, "number", json_integer(f->uname_L.number));
    else if (lp_ok && lp->has_partition_number)
        json_object_set_new(part, "number", json_integer(lp->partition_number));
    if (!lp_ok)
        return part;
    s_set_str(part, "type", lp->type);
    s_set_str(part, "mode", lp->mode);
    if (lp->has_entitled_capacity)
        json_object_set_new(part, "entitled_capacity", json_real(lp->entitled_capacity));
    if (lp->has_online_vcpus)
        json_object_set_new(part, "online_vcpus", json_integer(lp->online_vcpus));
    if (lp->has_online_memory_mb)
        json_object_set_new(part, "online_memory_mb", json_integer(lp->online_memory_mb));
    if (lp->has_shared_pool_id)
        json_object_set_new(part, "shared_pool_id", json_integer(lp->shared_pool_id));
    return part;
}

static json_t *s_os_json(const s_facts_t *f)
{
    json_t *os = json_pack("{s:s}", "name", "AIX");
    if (!f->has_oslevel)
        return os;
    s_set_str(os, "level", f->oslevel.level);
    s_set_str(os, "version", f->oslevel.version);
    if (f->oslevel.has_tl_sp) {
        json_object_set_new(os, "tl", json_integer(f->oslevel.tl));
        json_object_set_new(os, "sp", json_integer(f->oslevel.sp));
        s_set_str(os, "build", f->oslevel.build);
    }
    return os;
}

//  String or JSON null when empty (none / None in lspv).
static json_t *s_str_or_null(const char *value)
{
    return value[0] ? json_string(value) : json_null();
}

static json_t *s_disks_json(const s_facts_t *f)
{
    json_t *disks = json_array();
    for (size_t i = 0; i < f->lspv.count; i++) {
        const aix_pv_t *pv = &f->lspv.items[i];
        json_t *d = json_pack("{s:s, s:o, s:o, s:b}", "name", pv->name, "pvid",
                              s_str_or_null(pv->pvid), "vg", s_str_or_null(pv->vg), "active",
                              pv->active);
        if (d && pv->has_size_mb)
            json_object_set_new(d, "size_mb", json_integer((json_int_t) pv->size_mb));
        json_array_append_new(disks, d);
    }
    return disks;
}

//  Names of the disks lspv puts in vg.
static json_t *s_vg_disks(const s_facts_t *f, const char *vg)
{
    json_t *names = json_array();
    for (size_t i = 0; i < f->lspv.count; i++)
        if (strcmp(f->lspv.items[i].vg, vg) == 0)
            json_array_append_new(names, json_string(f->lspv.items[i].name));
    return names;
}

static json_t *s_names_json(const aix_names_t *list)
{
    json_t *names = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(names, json_string(list->items[i]));
    return names;
}

static void s_set_mb(json_t *obj, const char *key, bool has, uint64_t mb)
{
    if (has)
        json_object_set_new(obj, key, json_integer((json_int_t) mb));
}

static json_t *s_rootvg_json(const s_facts_t *f)
{
    json_t *rootvg = json_object();
    const aix_lsvg_vg_t *vg = &f->rootvg;
    if (f->has_lspv)
        json_object_set_new(rootvg, "disks", s_vg_disks(f, "rootvg"));
    if (!f->has_rootvg)
        return rootvg;
    s_set_mb(rootvg, "pp_size_mb", vg->has_pp_size, vg->pp_size_mb);
    s_set_mb(rootvg, "total_mb", vg->has_total, vg->total_mb);
    s_set_mb(rootvg, "used_mb", vg->has_used, vg->used_mb);
    s_set_mb(rootvg, "free_mb", vg->has_free, vg->free_mb);
    return rootvg;
}

//  True when lsvg (or, without it, lspv) knows the VG.
static bool s_vg_exists(const s_facts_t *f, const char *vg)
{
    if (f->has_vgs)
        return aix_names_contains(&f->vgs, vg);
    for (size_t i = 0; i < f->lspv.count; i++)
        if (strcmp(f->lspv.items[i].vg, vg) == 0)
            return true;
    return false;
}

//  altinst_rootvg (nimadm built it, not booted yet) and old_rootvg (left
//  after booting the migrated disk); NULL when neither lsvg nor lspv answered.
static json_t *s_alt_vgs_json(const s_facts_t *f)
{
    static const char *const names[] = {"altinst_rootvg", "old_rootvg"};
    if (!f->has_vgs && !f->has_lspv)
        return NULL;
    json_t *alt = json_array();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!s_vg_exists(f, names[i]))
            continue;
        json_t *vg = json_pack("{s:s}", "name", names[i]);
        if (vg && f->has_lspv)
            json_object_set_new(vg, "disks", s_vg_disks(f, names[i]));
        if (vg && f->has_online_vgs)
            json_object_set_new(vg, "varied_on",
                                json_boolean(aix_names_contains(&f->online_vgs, names[i])));
        json_array_append_new(alt, vg);
    }
    return alt;
}

//  VG of the first bootlist device, per lspv; "" when unknown.
static const char *s_next_boot_vg(const s_facts_t *f)
{
    if (!f->has_bootlist || !f->has_lspv || f->bootlist.count == 0)
        return "";
    for (size_t i = 0; i < f->lspv.count; i++)
        if (strcmp(f->lspv.items[i].name, f->bootlist.items[0]) == 0)
            return f->lspv.items[i].vg;
    return "";
}

static void s_storage_json(json_t *root, const s_facts_t *f)
{
    if (f->has_lspv)
        json_object_set_new(root, "disks", s_disks_json(f));
    s_set_nonempty(root, "rootvg", s_rootvg_json(f));
    json_t *alt = s_alt_vgs_json(f);
    if (alt)
        json_object_set_new(root, "alt_vgs", alt);
    if (f->has_bootlist)
        json_object_set_new(root, "bootlist", s_names_json(&f->bootlist));
    s_set_str(root, "next_boot_vg", s_next_boot_vg(f));
}

static void s_services_json(json_t *root, const s_facts_t *f)
{
    if (f->has_adapters)
        json_object_set_new(root, "adapters",
                            json_pack("{s:o, s:o}", "physical",
                                      s_names_json(&f->adapters.physical), "virtual",
                                      s_names_json(&f->adapters.virtual)));
    s_set_str(root, "rmc", f->rmc);
    if (f->has_alt_disk) {
        json_t *level = f->alt_disk.not_installed ? json_null() : json_string(f->alt_disk.level);
        json_object_set_new(root, "filesets", json_pack("{s:o}", S_ALT_DISK_FILESET, level));
    }
    if (f->has_nim) {
        json_t *nim = json_object();
        s_set_str(nim, "master", f->nim.master);
        s_set_str(nim, "name", f->nim.name);
        json_object_set_new(root, "nim", nim);
    }
}

static json_t *s_warnings_json(const aix_warnings_t *w)
{
    json_t *list = json_array();
    char more[64];
    for (size_t i = 0; i < w->count; i++)
        json_array_append_new(list, json_string(w->items[i]));
    if (w->dropped) {
        snprintf(more, sizeof more, "%zu more warnings not shown", w->dropped);
        json_array_append_new(list, json_string(more));
    }
    return list;
}

static json_t *s_to_json(s_ctx_t *ctx, const s_facts_t *f)
{
    json_t *root = json_pack("{s:s}", "platform", "aix");
    if (!root)
        return NULL;
    s_set_str(root, "hostname", f->hostname);
    //  Built before "warnings" so disagreements found here are reported.
    json_t *sys = s_system_json(ctx, f);
    json_t *part = s_partition_json(f);
    json_object_set_new(root, "warnings", json_array());
    s_set_nonempty(root, "system", sys);
    s_set_nonempty(root, "partition", part);
    json_object_set_new(root, "os", s_os_json(f));
    s_storage_json(root, f);
    s_services_json(root, f);
    json_object_set_new(root, "warnings", s_warnings_json(&ctx->warnings));
    return root;
}

//  Run the commands (all of them, or with moved only those a move can change)
//  and build the document.
static json_t *s_collect(const char *bin_dir, const char *etc_root, int timeout_ms, bool moved)
{
    s_ctx_t *ctx = calloc(1, sizeof *ctx);
    s_facts_t *f = calloc(1, sizeof *f);
    json_t *root = NULL;
    if (!ctx || !f)
        goto done;
    ctx->bin_dir = bin_dir;
    ctx->timeout_ms = timeout_ms;
    aix_warnings_init(&ctx->warnings);
    if (!moved) {
        s_collect_identity(ctx, f);
        s_collect_storage(ctx, f);
        s_collect_partition(ctx, f);
        s_collect_niminfo(ctx, etc_root, f);
    }
    else {
        s_collect_system(ctx, f);
        s_collect_placement(ctx, f);
    }
    command_result_free(&ctx->last);
    root = s_to_json(ctx, f);
done:
    if (f)
        s_facts_clear(f);
    free(f);
    free(ctx);
    return root;
}

json_t *aix_facts_collect(const char *bin_dir, const char *etc_root, int timeout_ms)
{
    return s_collect(bin_dir, etc_root, timeout_ms, false);
}

json_t *aix_facts_collect_moved(const char *bin_dir, int timeout_ms)
{
    json_t *full = s_collect(bin_dir, NULL, timeout_ms, true);
    if (!full)
        return NULL;
    //  Only the parts these commands fill: the caller keeps the rest.
    json_t *root = json_object();
    static const char *const keys[] = { "system", "partition", "adapters", "rmc", "warnings" };
    for (size_t i = 0; root && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *value = json_object_get(full, keys[i]);
        if (value)
            json_object_set(root, keys[i], value);
    }
    json_decref(full);
    return root;
}

int aix_facts_serial(const char *bin_dir, int timeout_ms, char *serial, size_t size,
                     char *warning, size_t warnlen)
{
    s_ctx_t ctx = { .bin_dir = bin_dir, .timeout_ms = timeout_ms };
    aix_warnings_init(&ctx.warnings);
    aix_systemid_t id;
    size_t len = 0;
    const char *text = s_output(&ctx, &s_lsattr_systemid, NULL, NULL, &len);
    int rc = -1;
    if (text && aix_parse_lsattr_systemid(text, len, &id, &ctx.warnings) == 0 && id.serial[0]) {
        snprintf(serial, size, "%s", id.serial);
        rc = 0;
    }
    if (rc != 0)
        snprintf(warning, warnlen, "%s", ctx.warnings.count ? ctx.warnings.items[0]
                                                             : "lsattr -El sys0 -a systemid: no serial");
    command_result_free(&ctx.last);
    return rc;
}
