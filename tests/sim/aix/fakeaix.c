/*  ferry-fakeaix — AIX 7.2 commands answering from a simulated partition.

    A multi-call binary: DIR/bin/lspv, DIR/bin/lsvg, ... are symlinks to it and
    it dispatches on basename(argv[0]). The partition's state is read from
    dirname(argv[0])/../state (argv[0] is not resolved: it is the symlink), or
    from --state when called by its own name:

        ferry-fakeaix --state DIR/state COMMAND [ARGS...]

    Output copies real AIX 7.2 byte for byte where the agent parses it,
    quirks included (see tests/sim/aix/README.md and reference/aix.md).
    Unknown flags print a usage message on stderr and exit 1, like AIX.
    Exit 2 means the simulator itself is broken (a state file is missing or
    malformed), so tests can tell it from a simulated failure.

    Fault injection: when DIR/state/fault/CMD.out, .err or .exit exists, CMD
    prints .out on stdout and .err on stderr and exits with .exit (default 1
    when there is no .out, else 0), after sleeping .sleep seconds if present.

    Every call appends "CMD START_MS END_MS EXIT" (wall clock; START when the
    process was created) to DIR/state/calls.log: tests see how long the
    agent waited for its commands. */
#include "simstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#define S_EXIT_USAGE 1                // AIX commands exit 1 on bad flags
#define S_EXIT_STATE 2                // the simulator's own state is broken
#define S_PATH_MAX 4096
#define S_PPS_PER_PV 1016             // AIX standard VG: 1016 PPs per PV times the factor
#define S_MAX_PVS 32                  // standard VG: 32 PVs (divided by the factor)
#define S_LPARSTAT_LABEL_WIDTH 43     // "Unallocated Variable Memory Capacity Weight"
#define S_SYS0_ATTRS 5                // attributes lsattr -El sys0 knows
#define S_WANTED_MAX 8                // -a flags taken
#define S_VGS_MAX 64                  // distinct VGs lsvg lists
#define S_DEVS_MAX 128                // devices lsdev lists

//  What every command gets.
typedef struct {
    const char *prog;             // command name, for messages
    const char *state;            // the partition's state directory
} s_ctx_t;

typedef int(s_command_fn)(const s_ctx_t *ctx, int argc, char **argv);

//  ---------------------------------------------------------------------------
//  Helpers

//  Read a one-line state value or explain why not (exit S_EXIT_STATE follows).
static int s_value(const s_ctx_t *ctx, const char *name, char *buf, size_t len)
{
    if (sim_read_value(ctx->state, name, buf, len) == 0)
        return 0;
    fprintf(stderr, "ferry-fakeaix: %s: cannot read simulated state %s/%s: %s\n", ctx->prog,
            ctx->state, name, strerror(errno));
    return -1;
}

static char *s_file(const s_ctx_t *ctx, const char *name)
{
    char *text = sim_read(ctx->state, name);
    if (!text)
        fprintf(stderr, "ferry-fakeaix: %s: cannot read simulated state %s/%s: %s\n", ctx->prog,
                ctx->state, name, strerror(errno));
    return text;
}

static int s_disks(const s_ctx_t *ctx, sim_disks_t *disks)
{
    char err[256];
    if (sim_disks_load(ctx->state, disks, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "ferry-fakeaix: %s: %s\n", ctx->prog, err);
    return -1;
}

//  "Not a recognized flag" plus the command's usage, as AIX prints them.
static int s_bad_flag(const s_ctx_t *ctx, int flag, const char *usage)
{
    if (flag == '?')
        fprintf(stderr, "%s: Not a recognized flag: %c\n", ctx->prog, optopt);
    else if (flag == ':')
        fprintf(stderr, "%s: Flag requires a parameter: %c\n", ctx->prog, optopt);
    fputs(usage, stderr);
    return S_EXIT_USAGE;
}

static int s_usage(const char *usage)
{
    fputs(usage, stderr);
    return S_EXIT_USAGE;
}

//  Partition number and name from the uname -L line ("3 Web Server").
static void s_partition_split(const char *partition, long *number, const char **name)
{
    char *end;
    *number = strtol(partition, &end, 10);
    while (*end == ' ')
        end++;
    *name = end;
}

//  ---------------------------------------------------------------------------
//  lsattr -El sys0 [-a ATTR]...

static const char *const s_lsattr_usage
    = "Usage: lsattr -E -l Name [-a Attribute]... [-H] [-O]\n"
      "       lsattr -D [-c Class] [-s Subclass] [-t Type] [-a Attribute]... [-H] [-O]\n";

//  One sys0 attribute.
typedef struct {
    const char *name;             // attribute
    char value[SIM_VALUE_MAX];    // current value
    const char *description;      // as lsattr prints it
    const char *settable;         // True / False
} s_attr_t;

//  realmem in KB from lparstat's "Online Memory: 8192 MB".
static void s_realmem(const s_ctx_t *ctx, char *buf, size_t len)
{
    sim_kvs_t kvs;
    unsigned long long mb = 0;
    if (sim_kvs_load(ctx->state, SIM_LPARSTAT, &kvs) == 0) {
        const char *online = sim_kvs_get(&kvs, "Online Memory");
        if (online)
            mb = strtoull(online, NULL, 10);
        sim_kvs_free(&kvs);
    }
    snprintf(buf, len, "%llu", mb * 1024);
}

static int s_sys0_attrs(const s_ctx_t *ctx, s_attr_t attrs[S_SYS0_ATTRS])
{
    attrs[0] = (s_attr_t) {"fwversion", "IBM,FW950.50 (VL950_105)",
                           "Firmware version and revision levels", "False"};
    attrs[1] = (s_attr_t) {"maxuproc", "4096", "Maximum number of PROCESSES allowed per user",
                           "True"};
    attrs[2] = (s_attr_t) {"modelname", "", "Machine name", "False"};
    attrs[3] = (s_attr_t) {"realmem", "", "Amount of usable physical memory in Kbytes", "False"};
    attrs[4] = (s_attr_t) {"systemid", "", "Hardware system identifier", "False"};
    s_realmem(ctx, attrs[3].value, sizeof attrs[3].value);
    if (s_value(ctx, SIM_MODEL, attrs[2].value, sizeof attrs[2].value) != 0
        || s_value(ctx, SIM_SYSTEMID, attrs[4].value, sizeof attrs[4].value) != 0)
        return -1;
    return 0;
}

//  lsattr pads each column to its widest entry among the lines printed, so a
//  single attribute comes out with single spaces.
static void s_lsattr_print(s_attr_t *const *shown, size_t count)
{
    int width[3] = {0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        const char *cols[3] = {shown[i]->name, shown[i]->value, shown[i]->description};
        for (int c = 0; c < 3; c++)
            if ((int) strlen(cols[c]) > width[c])
                width[c] = (int) strlen(cols[c]);
    }
    for (size_t i = 0; i < count; i++)
        printf("%-*s %-*s %-*s %s\n", width[0], shown[i]->name, width[1], shown[i]->value,
               width[2], shown[i]->description, shown[i]->settable);
}

//  The attributes named in wanted (all when none) into shown; -1 after the
//  AIX message for an unknown one.
static int s_lsattr_select(s_attr_t *attrs, const char **wanted, size_t wanted_count,
                           s_attr_t **shown, size_t *shown_count)
{
    *shown_count = 0;
    for (size_t a = 0; !wanted_count && a < S_SYS0_ATTRS; a++)
        shown[(*shown_count)++] = &attrs[a];
    for (size_t i = 0; i < wanted_count; i++) {
        s_attr_t *attr = NULL;
        for (size_t a = 0; a < S_SYS0_ATTRS && !attr; a++)
            if (strcmp(attrs[a].name, wanted[i]) == 0)
                attr = &attrs[a];
        if (!attr) {
            fprintf(stderr, "lsattr: 0514-528 The \"%s\" attribute does not exist in the predefined\n"
                            "\tdevice configuration database.\n", wanted[i]);
            return -1;
        }
        shown[(*shown_count)++] = attr;
    }
    return 0;
}

static int s_lsattr(const s_ctx_t *ctx, int argc, char **argv)
{
    const char *device = NULL, *wanted[S_WANTED_MAX];
    size_t wanted_count = 0;
    bool effective = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:El:a:")) != -1) {
        if (opt == 'E')
            effective = true;
        else if (opt == 'l')
            device = optarg;
        else if (opt == 'a' && wanted_count < S_WANTED_MAX)
            wanted[wanted_count++] = optarg;
        else
            return s_bad_flag(ctx, opt, s_lsattr_usage);
    }
    if (!effective || !device || optind != argc)
        return s_usage(s_lsattr_usage);
    if (strcmp(device, "sys0") != 0) {
        fprintf(stderr, "lsattr: 0514-519 The following device was not found in the customized\n"
                        "\tdevice configuration database:\n\t%s\n", device);
        return 1;
    }
    s_attr_t attrs[S_SYS0_ATTRS], *shown[S_WANTED_MAX > S_SYS0_ATTRS ? S_WANTED_MAX : S_SYS0_ATTRS];
    size_t shown_count;
    if (s_sys0_attrs(ctx, attrs) != 0)
        return S_EXIT_STATE;
    if (s_lsattr_select(attrs, wanted, wanted_count, shown, &shown_count) != 0)
        return 1;
    s_lsattr_print(shown, shown_count);
    return 0;
}

//  ---------------------------------------------------------------------------
//  uname [-snrvmpFfLMua]

static const char *const s_uname_usage
    = "Usage: uname [-snlrvmapxSTFfLMuW] | [-S Name] | [-T Name]\n";

//  Everything uname can print, read once.
typedef struct {
    char systemid[SIM_VALUE_MAX];
    char model[SIM_VALUE_MAX];
    char partition[SIM_VALUE_MAX];
    char hostname[SIM_VALUE_MAX];
    char oslevel[SIM_VALUE_MAX];
    char uname_f[SIM_VALUE_MAX];  // override from state, or derived
} s_uname_t;

static int s_uname_load(const s_ctx_t *ctx, s_uname_t *u)
{
    if (s_value(ctx, SIM_SYSTEMID, u->systemid, sizeof u->systemid) != 0
        || s_value(ctx, SIM_MODEL, u->model, sizeof u->model) != 0
        || s_value(ctx, SIM_PARTITION, u->partition, sizeof u->partition) != 0
        || s_value(ctx, SIM_HOSTNAME, u->hostname, sizeof u->hostname) != 0
        || s_value(ctx, SIM_OSLEVEL, u->oslevel, sizeof u->oslevel) != 0)
        return -1;
    //  Derived unless overridden: a new systemid then changes it by itself.
    if (sim_read_value(ctx->state, SIM_UNAME_F, u->uname_f, sizeof u->uname_f) != 0)
        sim_uname_f(u->systemid, u->partition, u->uname_f, sizeof u->uname_f);
    return 0;
}

//  Version (which 0) or release (which 1) from 7200-05-03-2148 or 7.2.0.0.
static unsigned s_os_digit(const char *oslevel, int which)
{
    unsigned version = 7, release = 2;
    if (sscanf(oslevel, "%1u%1u", &version, &release) != 2)
        sscanf(oslevel, "%u.%u", &version, &release);
    return which ? release : version;
}

//  The token uname prints for one flag, into buf.
static void s_uname_token(const s_uname_t *u, char flag, char *buf, size_t len)
{
    char key[2 * SIM_VALUE_MAX];
    switch (flag) {
    case 's': snprintf(buf, len, "AIX"); break;
    case 'n': snprintf(buf, len, "%s", u->hostname); break;
    case 'r': snprintf(buf, len, "%u", s_os_digit(u->oslevel, 1)); break;
    case 'v': snprintf(buf, len, "%u", s_os_digit(u->oslevel, 0)); break;
    case 'p': snprintf(buf, len, "powerpc"); break;
    case 'u': snprintf(buf, len, "%s", u->systemid); break;
    case 'M': snprintf(buf, len, "%s", u->model); break;
    case 'L': snprintf(buf, len, "%s", u->partition); break;
    case 'f': snprintf(buf, len, "%s", u->uname_f); break;
    case 'F': snprintf(buf, len, "%016" PRIX64, sim_hash(u->systemid)); break;
    case 'm':
        //  Machine id: 00 + 6 hex digits + model code 4C00, per partition and system.
        snprintf(key, sizeof key, "machine/%s/%ld", u->systemid, strtol(u->partition, NULL, 10));
        snprintf(buf, len, "00%06" PRIX64 "4C00", (uint64_t) (sim_hash(key) & 0xffffffu));
        break;
    default: buf[0] = '\0';
    }
}

static int s_uname(const s_ctx_t *ctx, int argc, char **argv)
{
    bool flags[128] = {false};
    int opt, count = 0;
    while ((opt = getopt(argc, argv, "+:snrvmpuMLfFa")) != -1) {
        if (opt == '?' || opt == ':')
            return s_bad_flag(ctx, opt, s_uname_usage);
        if (opt == 'a') {
            flags['s'] = flags['n'] = flags['r'] = flags['v'] = flags['m'] = true;
            count += 5;
        } else {
            flags[opt] = true;
            count++;
        }
    }
    if (optind != argc)
        return s_usage(s_uname_usage);
    if (count == 0)
        flags['s'] = true;
    s_uname_t u;
    if (s_uname_load(ctx, &u) != 0)
        return S_EXIT_STATE;
    const char *order = "snrvmpFfLMu";
    const char *sep = "";
    for (const char *f = order; *f; f++) {
        if (!flags[(int) *f])
            continue;
        char token[SIM_VALUE_MAX];
        s_uname_token(&u, *f, token, sizeof token);
        printf("%s%s", sep, token);
        sep = " ";
    }
    printf("\n");
    return 0;
}

//  ---------------------------------------------------------------------------
//  hostname [-s] [NAME]

static int s_hostname(const s_ctx_t *ctx, int argc, char **argv)
{
    bool short_name = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:s")) != -1) {
        if (opt != 's')
            return s_bad_flag(ctx, opt, "Usage: hostname [-s] [HostName]\n");
        short_name = true;
    }
    if (argc - optind > 1)
        return s_usage("Usage: hostname [-s] [HostName]\n");
    if (argc - optind == 1) {
        char err[256];
        if (sim_write_value(ctx->state, SIM_HOSTNAME, argv[optind], err, sizeof err) != 0) {
            fprintf(stderr, "hostname: %s\n", err);
            return 1;
        }
        return 0;
    }
    char name[SIM_VALUE_MAX];
    if (s_value(ctx, SIM_HOSTNAME, name, sizeof name) != 0)
        return S_EXIT_STATE;
    if (short_name && strchr(name, '.'))
        *strchr(name, '.') = '\0';
    printf("%s\n", name);
    return 0;
}

//  ---------------------------------------------------------------------------
//  oslevel [-s | -r]

static int s_oslevel(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage = "Usage: oslevel [-l Level | -g Level | -q] [-r | -s] [-f]\n";
    char mode = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+:sr")) != -1) {
        if ((opt != 's' && opt != 'r') || mode)
            return s_bad_flag(ctx, opt, usage);
        mode = (char) opt;
    }
    if (optind != argc)
        return s_usage(usage);
    char level[SIM_VALUE_MAX];
    if (s_value(ctx, SIM_OSLEVEL, level, sizeof level) != 0)
        return S_EXIT_STATE;
    unsigned vr, tl;
    bool full = sscanf(level, "%4u-%2u", &vr, &tl) == 2 && strlen(level) >= 7;
    //  The state holds what oslevel -s prints (even a plain 7.2.0.0 when the
    //  simulated system misbehaves); the other forms are derived from it.
    if (mode == 's' || !full)
        printf("%s\n", level);
    else if (mode == 'r')
        printf("%04u-%02u\n", vr, tl);
    else
        printf("%u.%u.0.0\n", vr / 1000, (vr / 100) % 10);
    return 0;
}

//  ---------------------------------------------------------------------------
//  lspv

static int s_lspv(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage
        = "0516-1200 Usage: lspv [-L] [-l | -p | -M] [-n DescriptorPV] [-v VGid] PhysicalVolume\n"
          "\tlspv [-s] [-u] [-P] [-e] [-c] [-L]\n";
    int opt;
    while ((opt = getopt(argc, argv, "+:")) != -1)
        return s_bad_flag(ctx, opt, usage);
    if (optind != argc)
        return s_usage(usage);
    sim_disks_t disks;
    if (s_disks(ctx, &disks) != 0)
        return S_EXIT_STATE;
    for (size_t i = 0; i < disks.count; i++) {
        const sim_disk_t *d = &disks.items[i];
        //  No state column for free disks and varied-off VGs; the padding stays.
        if (strcmp(d->state, "-") == 0)
            printf("%-15s %-35s %-15s\n", d->name, d->pvid, d->vg);
        else
            printf("%-15s %-35s %-15s %s\n", d->name, d->pvid, d->vg, d->state);
    }
    sim_disks_free(&disks);
    return 0;
}

//  ---------------------------------------------------------------------------
//  lsvg [-o] [VG...]

static const char *const s_lsvg_usage
    = "Usage: lsvg [-L] [-o] [-n DescriptorPV] [-i] [-l | -M | -p] VolumeGroup...\n";

//  Figures of one VG, summed over its disks.
typedef struct {
    const char *name;             // borrowed
    uint64_t pp_size_mb;
    uint64_t total_pps, used_pps, largest_pv_pps;
    unsigned pvs, active_pvs;
    char vgid[40];                // 32 hex digits
} s_vg_t;

static uint64_t s_pp_size(const s_ctx_t *ctx)
{
    char buf[32];
    uint64_t size = 0;
    if (sim_read_value(ctx->state, SIM_PP_SIZE, buf, sizeof buf) == 0)
        size = strtoull(buf, NULL, 10);
    return size ? size : SIM_PP_SIZE_MB_DEFAULT;
}

static void s_vg_sum(const sim_disks_t *disks, const char *name, uint64_t pp_size, s_vg_t *vg)
{
    memset(vg, 0, sizeof *vg);
    vg->name = name;
    vg->pp_size_mb = pp_size;
    for (size_t i = 0; i < disks->count; i++) {
        const sim_disk_t *d = &disks->items[i];
        if (strcmp(d->vg, name) != 0)
            continue;
        uint64_t pps = d->size_mb / pp_size;
        vg->total_pps += pps;
        vg->used_pps += (d->used_mb + pp_size - 1) / pp_size;
        vg->largest_pv_pps = pps > vg->largest_pv_pps ? pps : vg->largest_pv_pps;
        vg->active_pvs += strcmp(d->state, "-") != 0;
        //  The VG id embeds the PVID of the disk it was created on.
        if (vg->pvs++ == 0 && strlen(d->pvid) == 16)
            snprintf(vg->vgid, sizeof vg->vgid, "%.8s00004c0000000160%.8s", d->pvid, d->pvid + 8);
        else if (vg->pvs == 1)
            snprintf(vg->vgid, sizeof vg->vgid, "%016" PRIx64 "%016" PRIx64, sim_hash(name),
                     sim_hash(d->name));
    }
    if (vg->used_pps > vg->total_pps)
        vg->used_pps = vg->total_pps;
}

//  One row of the two-column layout: the right column starts at column 45.
static void s_row(const char *left, const char *lvalue, const char *right, const char *rvalue)
{
    printf("%-20s%-25s%-16s%s\n", left, lvalue, right, rvalue);
}

static void s_lsvg_show(const s_vg_t *vg)
{
    bool root = strcmp(vg->name, "rootvg") == 0;
    uint64_t factor = (vg->largest_pv_pps + S_PPS_PER_PV - 1) / S_PPS_PER_PV;
    factor = factor ? factor : 1;
    unsigned descriptors = vg->pvs == 1 ? 2 : vg->pvs == 2 ? 3 : vg->pvs;
    uint64_t pp = vg->pp_size_mb, free_pps = vg->total_pps - vg->used_pps;
    char a[64], b[64];
    s_row("VOLUME GROUP:", vg->name, "VG IDENTIFIER:", vg->vgid);
    snprintf(b, sizeof b, "%" PRIu64 " megabyte(s)", pp);
    s_row("VG STATE:", "active", "PP SIZE:", b);
    snprintf(b, sizeof b, "%" PRIu64 " (%" PRIu64 " megabytes)", vg->total_pps, vg->total_pps * pp);
    s_row("VG PERMISSION:", "read/write", "TOTAL PPs:", b);
    snprintf(b, sizeof b, "%" PRIu64 " (%" PRIu64 " megabytes)", free_pps, free_pps * pp);
    s_row("MAX LVs:", "256", "FREE PPs:", b);
    snprintf(a, sizeof a, "%d", root ? 13 : vg->used_pps ? 2 : 0);
    snprintf(b, sizeof b, "%" PRIu64 " (%" PRIu64 " megabytes)", vg->used_pps, vg->used_pps * pp);
    s_row("LVs:", a, "USED PPs:", b);
    snprintf(a, sizeof a, "%d", root ? 12 : vg->used_pps ? 2 : 0);
    snprintf(b, sizeof b, "%u (Enabled)", descriptors / 2 + 1);
    s_row("OPEN LVs:", a, "QUORUM:", b);
    snprintf(a, sizeof a, "%u", vg->pvs);
    snprintf(b, sizeof b, "%u", descriptors);
    s_row("TOTAL PVs:", a, "VG DESCRIPTORS:", b);
    s_row("STALE PVs:", "0", "STALE PPs:", "0");
    snprintf(a, sizeof a, "%u", vg->active_pvs);
    s_row("ACTIVE PVs:", a, "AUTO ON:", root ? "yes" : "no");
    //  A left-only row keeps its padding: trailing spaces, as on AIX.
    s_row("MAX PPs per VG:", "32512", "", "             ");
    snprintf(a, sizeof a, "%" PRIu64, S_PPS_PER_PV * factor);
    snprintf(b, sizeof b, "%" PRIu64, S_MAX_PVS / factor ? S_MAX_PVS / factor : 1);
    s_row("MAX PPs per PV:", a, "MAX PVs:", b);
    s_row("LTG size (Dynamic):", "512 kilobyte(s)", "AUTO SYNC:", "no");
    s_row("HOT SPARE:", "no", "BB POLICY:", "relocatable ");
    s_row("PV RESTRICTION:", "none", "INFINITE RETRY:", "no");
    s_row("DISK BLOCK SIZE:", "512", "CRITICAL VG:", "no");
    s_row("FS SYNC OPTION:", "no", "CRITICAL PVs:", "no");
    printf("%-20s%s\n", "ENCRYPTION:", "no");
}

//  Distinct VG names in disk order (borrowed from disks); active_only for -o.
static size_t s_vg_names(const sim_disks_t *disks, bool active_only,
                         const char *names[S_VGS_MAX])
{
    size_t count = 0;
    for (size_t i = 0; i < disks->count && count < S_VGS_MAX; i++) {
        const sim_disk_t *d = &disks->items[i];
        if (!sim_disk_in_vg(d) || (active_only && !sim_vg_active(disks, d->vg)))
            continue;
        bool seen = false;
        for (size_t n = 0; n < count && !seen; n++)
            seen = strcmp(names[n], d->vg) == 0;
        if (!seen)
            names[count++] = d->vg;
    }
    return count;
}

static int s_lsvg_one(const s_ctx_t *ctx, const sim_disks_t *disks, const char *name)
{
    const char *names[S_VGS_MAX];
    size_t count = s_vg_names(disks, false, names);
    bool known = false;
    for (size_t i = 0; i < count && !known; i++)
        known = strcmp(names[i], name) == 0;
    if (!known) {
        fprintf(stderr, "0516-306 %s: Unable to find volume group %s in the Device\n"
                        "\tConfiguration Database.\n", ctx->prog, name);
        return 1;
    }
    if (!sim_vg_active(disks, name)) {
        fprintf(stderr, "0516-010 : Volume group must be varied on; use varyonvg command.\n");
        return 1;
    }
    s_vg_t vg;
    s_vg_sum(disks, name, s_pp_size(ctx), &vg);
    s_lsvg_show(&vg);
    return 0;
}

static int s_lsvg(const s_ctx_t *ctx, int argc, char **argv)
{
    bool online = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:o")) != -1) {
        if (opt != 'o')
            return s_bad_flag(ctx, opt, s_lsvg_usage);
        online = true;
    }
    if (online && optind != argc)
        return s_usage(s_lsvg_usage);
    sim_disks_t disks;
    if (s_disks(ctx, &disks) != 0)
        return S_EXIT_STATE;
    int rc = 0;
    if (optind == argc) {
        const char *names[S_VGS_MAX];
        size_t count = s_vg_names(&disks, online, names);
        for (size_t i = 0; i < count; i++)
            printf("%s\n", names[i]);
    }
    for (int i = optind; i < argc; i++)
        if (s_lsvg_one(ctx, &disks, argv[i]) != 0)
            rc = 1;
    sim_disks_free(&disks);
    return rc;
}

//  ---------------------------------------------------------------------------
//  bootlist -m normal -o | bootlist -m normal [-o] DEVICE...

static const char *const s_bootlist_usage
    = "usage: bootlist [ {-m mode} [-r] [-o] [ [-i] | [[-f File] [Device [Attr=Value]...] ...]] ]\n"
      "   mode = normal, service, both, or prevboot\n";

//  New bootlist text for the named disks (one path each), or NULL after a message.
static char *s_bootlist_text(const s_ctx_t *ctx, int count, char **devices)
{
    sim_disks_t disks;
    if (s_disks(ctx, &disks) != 0)
        return NULL;
    size_t cap = (size_t) count * (SIM_NAME_MAX + 32) + 1, len = 0;
    char *text = calloc(1, cap);
    for (int i = 0; text && i < count; i++) {
        const sim_disk_t *d = sim_disks_find(&disks, devices[i]);
        if (!d) {
            fprintf(stderr, "0514-210 bootlist: Device %s is not valid.\n", devices[i]);
            free(text);
            text = NULL;
            break;
        }
        //  Only a disk of a root VG has a boot logical volume.
        bool blv = strstr(d->vg, "rootvg") != NULL;
        len += (size_t) snprintf(text + len, cap - len, "%s%s pathid=0\n", d->name,
                                 blv ? " blv=hd5" : "");
    }
    sim_disks_free(&disks);
    return text;
}

static int s_bootlist(const s_ctx_t *ctx, int argc, char **argv)
{
    const char *mode = NULL;
    bool show = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:m:o")) != -1) {
        if (opt == 'm')
            mode = optarg;
        else if (opt == 'o')
            show = true;
        else
            return s_bad_flag(ctx, opt, s_bootlist_usage);
    }
    if (!mode || strcmp(mode, "normal") != 0 || (!show && optind == argc))
        return s_usage(s_bootlist_usage);
    if (optind < argc) {
        char *text = s_bootlist_text(ctx, argc - optind, argv + optind);
        char err[256];
        int rc = text ? sim_write(ctx->state, SIM_BOOTLIST, text, err, sizeof err) : -1;
        if (text && rc != 0)
            fprintf(stderr, "bootlist: %s\n", err);
        free(text);
        if (rc != 0)
            return 1;
    }
    if (show) {
        char *text = s_file(ctx, SIM_BOOTLIST);
        if (!text)
            return S_EXIT_STATE;
        fputs(text, stdout);
        free(text);
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  lparstat -i

static void s_lparstat_line(const char *label, const char *value)
{
    printf("%-*s: %s\n", S_LPARSTAT_LABEL_WIDTH, label, value);
}

static int s_lparstat(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage
        = "Usage: lparstat [-i | -W | [-c | -d | -h | -H | -m [-pw] | -E [-w]] [interval [count]]]\n";
    bool info = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:i")) != -1) {
        if (opt != 'i')
            return s_bad_flag(ctx, opt, usage);
        info = true;
    }
    if (!info || optind != argc)
        return s_usage(usage);
    char host[SIM_VALUE_MAX], partition[SIM_VALUE_MAX], number[32];
    sim_kvs_t kvs;
    if (s_value(ctx, SIM_HOSTNAME, host, sizeof host) != 0
        || s_value(ctx, SIM_PARTITION, partition, sizeof partition) != 0)
        return S_EXIT_STATE;
    if (sim_kvs_load(ctx->state, SIM_LPARSTAT, &kvs) != 0) {
        fprintf(stderr, "ferry-fakeaix: lparstat: cannot read simulated state %s/%s: %s\n",
                ctx->state, SIM_LPARSTAT, strerror(errno));
        return S_EXIT_STATE;
    }
    long part_no;
    const char *name;
    s_partition_split(partition, &part_no, &name);
    snprintf(number, sizeof number, "%ld", part_no);
    //  Identity lines come from the same files as uname, so they always agree.
    s_lparstat_line("Node Name", host);
    s_lparstat_line("Partition Name", name);
    s_lparstat_line("Partition Number", number);
    for (size_t i = 0; i < kvs.count; i++)
        s_lparstat_line(kvs.items[i].label, kvs.items[i].value);
    sim_kvs_free(&kvs);
    return 0;
}

//  ---------------------------------------------------------------------------
//  lsdev -C [-c adapter|disk]

//  One lsdev row.
typedef struct {
    char name[SIM_NAME_MAX];
    char status[SIM_NAME_MAX];
    char location[SIM_NAME_MAX];  // empty for virtual devices
    char description[SIM_VALUE_MAX];
} s_dev_t;

static size_t s_adapters(char *text, s_dev_t *devs, size_t max)
{
    size_t count = 0;
    char *cursor = text, *line;
    while ((line = sim_next_line(&cursor)) && count < max) {
        char *f[4];
        if (line[0] == '#' || sim_split(line, f, 4) != 4)
            continue;
        s_dev_t *d = &devs[count++];
        snprintf(d->name, sizeof d->name, "%s", f[0]);
        snprintf(d->status, sizeof d->status, "%s", f[1]);
        snprintf(d->location, sizeof d->location, "%s", strcmp(f[2], "-") ? f[2] : "");
        snprintf(d->description, sizeof d->description, "%s", f[3]);
    }
    return count;
}

//  lsdev pads name and status to their widest entries and the location to at
//  least 5 ("02-00"), so virtual devices show a wide gap before the description.
static void s_lsdev_print(const s_dev_t *devs, size_t count)
{
    int name_w = 0, status_w = 0, loc_w = 5;
    for (size_t i = 0; i < count; i++) {
        name_w = (int) strlen(devs[i].name) > name_w ? (int) strlen(devs[i].name) : name_w;
        status_w = (int) strlen(devs[i].status) > status_w ? (int) strlen(devs[i].status) : status_w;
        loc_w = (int) strlen(devs[i].location) > loc_w ? (int) strlen(devs[i].location) : loc_w;
    }
    for (size_t i = 0; i < count; i++)
        printf("%-*s %-*s %-*s %s\n", name_w, devs[i].name, status_w, devs[i].status, loc_w,
               devs[i].location, devs[i].description);
}

static size_t s_disk_devs(const sim_disks_t *disks, s_dev_t *devs, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i < disks->count && count < max; i++) {
        s_dev_t *d = &devs[count++];
        snprintf(d->name, sizeof d->name, "%s", disks->items[i].name);
        snprintf(d->status, sizeof d->status, "Available");
        d->location[0] = '\0';
        snprintf(d->description, sizeof d->description, "Virtual SCSI Disk Drive");
    }
    return count;
}

static int s_lsdev(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage
        = "Usage: lsdev -C [-c Class] [-s Subclass] [-t Type] [-f File] [-F Format | -r ColumnName] [-h] [-H] [-l Name] [-S State] [-x]\n";
    const char *class = NULL;
    bool customized = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:Cc:")) != -1) {
        if (opt == 'C')
            customized = true;
        else if (opt == 'c')
            class = optarg;
        else
            return s_bad_flag(ctx, opt, usage);
    }
    if (!customized || optind != argc)
        return s_usage(usage);
    bool adapters = !class || strcmp(class, "adapter") == 0;
    bool disks = !class || strcmp(class, "disk") == 0;
    s_dev_t devs[S_DEVS_MAX];
    size_t count = 0;
    if (adapters) {
        char *text = s_file(ctx, SIM_ADAPTERS);
        if (!text)
            return S_EXIT_STATE;
        count = s_adapters(text, devs, S_DEVS_MAX);
        free(text);
    }
    if (disks) {
        sim_disks_t list;
        if (s_disks(ctx, &list) != 0)
            return S_EXIT_STATE;
        count += s_disk_devs(&list, devs + count, S_DEVS_MAX - count);
        sim_disks_free(&list);
    }
    s_lsdev_print(devs, count);
    return 0;
}

//  ---------------------------------------------------------------------------
//  lssrc -s SUBSYSTEM

static int s_lssrc(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage
        = "Usage: lssrc [-h host] -a\n"
          "       lssrc [-h host] -g group_name\n"
          "       lssrc [-h host] [-l] -s subsystem_name\n"
          "       lssrc [-h host] [-l] -p subsystem_pid\n";
    const char *subsystem = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+:s:")) != -1) {
        if (opt != 's')
            return s_bad_flag(ctx, opt, usage);
        subsystem = optarg;
    }
    if (!subsystem || optind != argc)
        return s_usage(usage);
    if (strcmp(subsystem, "ctrmc") != 0) {
        fprintf(stderr, "0513-085 The %s Subsystem is not on file.\n", subsystem);
        return 1;
    }
    char status[SIM_VALUE_MAX], pid[32] = "";
    if (s_value(ctx, SIM_RMC, status, sizeof status) != 0)
        return S_EXIT_STATE;
    //  Only a running subsystem has a PID; keep it stable between calls.
    if (strcmp(status, "active") == 0)
        snprintf(pid, sizeof pid, "%" PRIu64, 1000000 + sim_hash(ctx->state) % 9000000);
    printf("%-18s%-17s%-13s%s \n", "Subsystem", "Group", "PID", "Status");
    printf(" %-16s %-16s %-12s %s\n", subsystem, "rsct", pid, status);
    return 0;
}

//  ---------------------------------------------------------------------------
//  lslpp -Lc [FILESET...]

static const char *s_fileset_description(const char *fileset)
{
    static const char *const known[][2] = {
        {"bos.alt_disk_install.rte", "Alternate Disk Installation Runtime"},
        {"bos.alt_disk_install.boot_images", "Alternate Disk Installation Disk Boot Images"},
        {"bos.rte", "Base Operating System Runtime"},
        {"bos.mp64", "Base Operating System 64-bit Multiprocessor Runtime"},
        {"bos.sysmgt.nim.client", "Network Install Manager - Client Tools"},
        {"bos.sysmgt.nim.master", "Network Install Manager - Master Tools"},
        {"rsct.core.rmc", "RSCT Resource Monitoring and Control"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i][0], fileset) == 0)
            return known[i][1];
    return fileset;
}

static void s_lslpp_row(const char *fileset, const char *level, const char *build)
{
    //  The package is the fileset without its last component.
    const char *dot = strrchr(fileset, '.');
    int pkg_len = dot ? (int) (dot - fileset) : (int) strlen(fileset);
    printf("%.*s:%s:%s: : :C: :%s : : : : : : :0:0:/:%s\n", pkg_len, fileset, fileset, level,
           s_fileset_description(fileset), build);
}

//  Fileset lines "name level" of text matching name (all when name is NULL).
static bool s_lslpp_print(char *text, const char *name, const char *build)
{
    bool found = false;
    char *cursor = text, *line;
    while ((line = sim_next_line(&cursor))) {
        char *f[2];
        if (line[0] == '#' || sim_split(line, f, 2) != 2)
            continue;
        if (!name || strcmp(f[0], name) == 0) {
            s_lslpp_row(f[0], f[1], build);
            found = true;
        }
    }
    return found;
}

static int s_lslpp(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage
        = "Usage: lslpp {-d|-f|-h|-i|-l|-L|-p} [-c] [-J] [-q] [-I] [-a] [-O{[r][s][u]}]\n"
          "             [ [FilesetName ...] | [FixID ...] | all ]\n";
    bool list = false, colon = false;
    int opt;
    while ((opt = getopt(argc, argv, "+:Lc")) != -1) {
        if (opt == 'L')
            list = true;
        else if (opt == 'c')
            colon = true;
        else
            return s_bad_flag(ctx, opt, usage);
    }
    if (!list || !colon)
        return s_usage(usage);
    //  Build date (year + week) from the OS level's last field.
    char level[SIM_VALUE_MAX], build[8] = "2045";
    if (sim_read_value(ctx->state, SIM_OSLEVEL, level, sizeof level) == 0 && strlen(level) == 15)
        snprintf(build, sizeof build, "%.4s", level + 11);
    int rc = 0;
    printf("#Package Name:Fileset:Level:State:PTF Id:Fix State:Type:Description:Destination "
           "Dir.:Uninstaller:Message Catalog:Message Set:Message Number:Parent:Automatic:EFIX "
           "Locked:Install Path:Build Date\n");
    for (int i = optind; i < argc || i == optind; i++) {
        char *text = s_file(ctx, SIM_FILESETS);
        if (!text)
            return S_EXIT_STATE;
        const char *name = i < argc ? argv[i] : NULL;
        if (!s_lslpp_print(text, name, build) && name) {
            fprintf(stderr, "lslpp: 0504-132  Fileset %s not installed.\n", name);
            rc = 1;
        }
        free(text);
    }
    return rc;
}

//  ---------------------------------------------------------------------------
//  getconf DISK_SIZE /dev/hdiskN | getconf NAME

static int s_getconf_disk(const s_ctx_t *ctx, const char *device)
{
    sim_disks_t disks;
    if (s_disks(ctx, &disks) != 0)
        return S_EXIT_STATE;
    const char *name = strncmp(device, "/dev/", 5) == 0 ? device + 5 : NULL;
    const sim_disk_t *d = name ? sim_disks_find(&disks, name) : NULL;
    int rc = 0;
    if (d)
        printf("%" PRIu64 "\n", d->size_mb);
    else {
        fprintf(stderr, "getconf: %s: A file or directory in the path name does not exist.\n",
                device);
        rc = 1;
    }
    sim_disks_free(&disks);
    return rc;
}

static int s_getconf(const s_ctx_t *ctx, int argc, char **argv)
{
    static const char *const usage = "Usage: getconf [ -v specification ] system_var\n"
                                     "       getconf [ -v specification ] path_var pathname\n"
                                     "       getconf -a\n";
    int opt;
    while ((opt = getopt(argc, argv, "+:")) != -1)
        return s_bad_flag(ctx, opt, usage);
    int args = argc - optind;
    if (args == 2 && strcmp(argv[optind], "DISK_SIZE") == 0)
        return s_getconf_disk(ctx, argv[optind + 1]);
    if (args == 1 && (strcmp(argv[optind], "KERNEL_BITMODE") == 0
                      || strcmp(argv[optind], "HARDWARE_BITMODE") == 0)) {
        printf("64\n");
        return 0;
    }
    if (args == 1 || args == 2) {
        fprintf(stderr, "getconf: Invalid argument (%s)\n", argv[optind]);
        return 1;
    }
    return s_usage(usage);
}

//  ---------------------------------------------------------------------------
//  Dispatch

static const struct {
    const char *name;
    s_command_fn *fn;
} s_commands[] = {
    {"lsattr", s_lsattr},     {"uname", s_uname},   {"hostname", s_hostname},
    {"oslevel", s_oslevel},   {"lspv", s_lspv},     {"lsvg", s_lsvg},
    {"bootlist", s_bootlist}, {"lparstat", s_lparstat}, {"lsdev", s_lsdev},
    {"lssrc", s_lssrc},       {"lslpp", s_lslpp},   {"getconf", s_getconf},
};

//  Print a file of the fault directory to a stream; true when it existed.
static bool s_fault_print(const char *state, const char *file, FILE *stream)
{
    char *text = sim_read(state, file);
    if (!text)
        return false;
    fputs(text, stream);
    free(text);
    return true;
}

//  Injected behaviour for prog, if any. Returns the exit code, or -1 for none.
static int s_fault(const char *state, const char *prog)
{
    char name[SIM_NAME_MAX + 16], value[32];
    snprintf(name, sizeof name, "fault/%s.sleep", prog);
    if (sim_read_value(state, name, value, sizeof value) == 0) {
        double seconds = strtod(value, NULL);
        struct timespec ts = {(time_t) seconds, (long) ((seconds - (double) (time_t) seconds) * 1e9)};
        nanosleep(&ts, NULL);
    }
    snprintf(name, sizeof name, "fault/%s.out", prog);
    bool out = s_fault_print(state, name, stdout);
    snprintf(name, sizeof name, "fault/%s.err", prog);
    bool err = s_fault_print(state, name, stderr);
    snprintf(name, sizeof name, "fault/%s.exit", prog);
    bool code = sim_read_value(state, name, value, sizeof value) == 0;
    if (!out && !err && !code)
        return -1;
    return code ? atoi(value) : out ? 0 : 1;
}

static int s_dispatch(const char *prog, const char *state, int argc, char **argv)
{
    s_ctx_t ctx = {.prog = prog, .state = state};
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (strcmp(s_commands[i].name, prog) != 0)
            continue;
        int faulted = s_fault(state, prog);
        if (faulted >= 0)
            return faulted;
        opterr = 0;
        optind = 1;
        return s_commands[i].fn(&ctx, argc, argv);
    }
    fprintf(stderr, "ferry-fakeaix: unknown command '%s'\n", prog);
    return S_EXIT_STATE;
}

static int s_self_usage(void)
{
    fprintf(stderr, "usage: ferry-fakeaix --state DIR/state COMMAND [ARGS...]\n"
                    "   or: call it through a symlink named after the command in DIR/bin\n"
                    "commands:");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(stderr, " %s", s_commands[i].name);
    fprintf(stderr, "\n");
    return S_EXIT_STATE;
}

//  A test's agent runs these commands in groups of their own, with a fixed
//  environment: if the agent is killed (or its test aborts) while one sleeps
//  on an injected .sleep fault, nothing else would end it.
static void s_die_with_parent(void)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    //  The parent died before prctl: adopted by init already.
    if (getppid() == 1)
        _exit(S_EXIT_STATE);
#endif
}

static int64_t s_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_wall_ms(void)
{
    return s_ms(CLOCK_REALTIME);
}

//  When this process was created by the agent's spawn (wall clock, to the
//  10 ms of /proc): the exec and the sanitizer runtime's start-up before
//  main are part of the agent's wait. Now when unknown.
static int64_t s_created_ms(void)
{
    int64_t now = s_wall_ms();
#ifdef __linux__
    char text[1024];
    FILE *file = fopen("/proc/self/stat", "r");
    size_t got = file ? fread(text, 1, sizeof text - 1, file) : 0;
    if (file)
        fclose(file);
    text[got] = '\0';
    //  Field 22, start time in clock ticks since boot, after the "(comm)".
    char *close = strrchr(text, ')');
    unsigned long long ticks;
    long hz = sysconf(_SC_CLK_TCK);
    if (close && hz > 0
        && sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d"
                  " %*d %*d %*d %llu", &ticks) == 1) {
        int64_t age = s_ms(CLOCK_BOOTTIME) - (int64_t) (ticks * 1000 / (unsigned long long) hz);
        if (age >= 0)
            return now - age;
    }
#endif
    return now;
}

//  Under the sanitizers, LeakSanitizer's scan at exit costs a call more than
//  the command itself (0.2 s on a loaded 2-core machine), and an agent waits
//  for its identity probe on its loop, a stall that ends up in the outage a
//  test measures. The agent runs commands with a fixed environment, so only
//  this default turns it off; test_fakeaix's ASAN_OPTIONS still override it.
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

//  One line to state/calls.log, in one write (O_APPEND keeps concurrent
//  calls' lines whole). A failure to log is not the command's failure.
static void s_log_call(const char *state, const char *prog, int64_t start, int rc)
{
    char path[S_PATH_MAX], line[SIM_NAME_MAX + 96];
    int n = snprintf(path, sizeof path, "%s/calls.log", state);
    if (n < 0 || (size_t) n >= sizeof path)
        return;
    n = snprintf(line, sizeof line, "%s %" PRId64 " %" PRId64 " %d\n", prog, start, s_wall_ms(),
                 rc);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || n < 0 || (size_t) n >= sizeof line) {
        if (fd >= 0)
            close(fd);
        return;
    }
    ssize_t written = write(fd, line, (size_t) n);
    (void) written;
    close(fd);
}

int main(int argc, char **argv)
{
    s_die_with_parent();
    int64_t start = s_created_ms();
    if (argc < 1)
        return S_EXIT_STATE;
    char self[S_PATH_MAX], dir[S_PATH_MAX], state[S_PATH_MAX], cmd[S_PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(dir, sizeof dir, "%s", argv[0]);
    const char *prog = basename(self);
    int rc;
    if (strcmp(prog, "ferry-fakeaix") == 0) {
        if (argc < 4 || strcmp(argv[1], "--state") != 0)
            return s_self_usage();
        snprintf(cmd, sizeof cmd, "%s", argv[3]);
        snprintf(state, sizeof state, "%s", argv[2]);
        prog = basename(cmd);
        rc = s_dispatch(prog, state, argc - 3, argv + 3);
    } else {
        int n = snprintf(state, sizeof state, "%s/../state", dirname(dir));
        if (n < 0 || (size_t) n >= sizeof state)
            return S_EXIT_STATE;
        rc = s_dispatch(prog, state, argc, argv);
    }
    if (fflush(stdout) != 0)
        rc = S_EXIT_STATE;
    s_log_call(state, prog, start, rc);
    return rc;
}
