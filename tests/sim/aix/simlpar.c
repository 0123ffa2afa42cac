/*  ferry-simlpar — create, change and show simulated AIX partitions.

        ferry-simlpar create DIR [options]     a healthy partition (see --help)
        ferry-simlpar set DIR KEY VALUE        change one fact atomically
        ferry-simlpar show DIR [KEY]           print the state (or one value)

    DIR/state holds the facts (format in README.md), DIR/bin the fake AIX
    commands (symlinks to ferry-fakeaix), DIR/etc/niminfo the NIM client file,
    DIR/proc the partition's /proc view (boot id from the state, metrics from the host).
    Verbs are a table: later simulators (reboot, nimadm) add a row and a
    function. Exit 0 on success, 1 with a message on failure, 2 on bad usage. */
#include "simstate.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_EXIT_FAIL 1
#define S_EXIT_USAGE 2
#define S_PATH_MAX 4096
#define S_ERR_MAX 512
#define S_TEXT_MAX 8192               // generated state files are small

//  ---------------------------------------------------------------------------
//  Helpers

static int s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int s_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ferry-simlpar: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return S_EXIT_FAIL;
}

//  Append to a fixed text buffer (generated files are far below S_TEXT_MAX).
static void s_append(char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_append(char *text, const char *fmt, ...)
{
    size_t len = strlen(text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + len, S_TEXT_MAX - len, fmt, ap);
    va_end(ap);
}

static int s_mkdir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    return s_fail("cannot create %s: %s", path, strerror(errno));
}

static int s_join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, S_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= S_PATH_MAX)
        return s_fail("%s/%s: path too long", dir, name);
    return 0;
}

//  ---------------------------------------------------------------------------
//  create

//  Everything `create` can be told.
typedef struct {
    const char *dir;              // partition directory
    const char *serial;           // 7-character machine serial
    const char *prefix;           // two characters between IBM, and the serial
    const char *model;            // machine type-model
    const char *name;             // partition name (may contain spaces)
    long number;                  // partition number
    const char *hostname;         // NULL: derived from the name
    const char *oslevel;          // oslevel -s
    long disks;                   // number of disks
    const char *rootvg_disk;      // disk holding rootvg
    long disk_size_mb;            // size of every disk
    long rootvg_used_mb;          // space used in rootvg
    long boot_paths;              // bootlist lines for the boot disk (MPIO paths)
    bool physical_adapter;        // add a physical Ethernet adapter (blocks LPM)
    const char *entitled;         // entitled capacity as lparstat prints it
    long vcpus;                   // online virtual CPUs
    long memory_mb;               // online memory
    const char *rmc;              // ctrmc status
    const char *nim_master;       // NIM master host name; NULL: no niminfo
    const char *fakeaix;          // path of ferry-fakeaix; NULL: next to this program
} s_create_t;

static void s_create_defaults(s_create_t *o)
{
    *o = (s_create_t) {
        .serial = "21C48FV",
        .prefix = "02",
        .model = "IBM,8408-E8E",
        .number = 1,
        .oslevel = "7200-05-03-2148",
        .disks = 2,
        .rootvg_disk = "hdisk0",
        .disk_size_mb = 34752,
        .rootvg_used_mb = 23936,
        .boot_paths = 1,
        .entitled = "0.50",
        .vcpus = 2,
        .memory_mb = 8192,
        .rmc = "active",
        .nim_master = "nimmaster",
    };
}

static const char *const s_create_help
    = "usage: ferry-simlpar create DIR [options]\n"
      "  --serial S           machine serial (21C48FV)\n"
      "  --prefix NN          systemid prefix, IBM,NN<serial> (02)\n"
      "  --model M            machine type-model (IBM,8408-E8E)\n"
      "  --name NAME          partition name, spaces allowed (lpar<N>)\n"
      "  --number N           partition number (1)\n"
      "  --hostname H         host name (derived from the name)\n"
      "  --oslevel L          oslevel -s (7200-05-03-2148)\n"
      "  --disks N            number of disks (2): rootvg + free ones\n"
      "  --rootvg-disk D      disk holding rootvg (hdisk0)\n"
      "  --disk-size-mb MB    size of each disk (34752)\n"
      "  --rootvg-used-mb MB  space used in rootvg (23936)\n"
      "  --boot-paths N       bootlist lines for the boot disk (1)\n"
      "  --physical-adapter   add a physical Ethernet adapter\n"
      "  --entitled E         entitled capacity (0.50)\n"
      "  --vcpus N            online virtual CPUs (2)\n"
      "  --memory-mb MB       online memory (8192)\n"
      "  --rmc STATE          ctrmc status (active)\n"
      "  --nim-master HOST    NIM master in etc/niminfo (nimmaster)\n"
      "  --no-nim             no etc/niminfo\n"
      "  --fakeaix PATH       ferry-fakeaix binary (next to ferry-simlpar)\n";

static int s_long_arg(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

//  The numeric option opt with its bounds, or NULL.
static long *s_create_number(s_create_t *o, int opt, long *min, long *max)
{
    *min = 0;
    *max = LONG_MAX / 2;
    switch (opt) {
    case 'n': *min = -1; return &o->number;
    case 'd': *min = 1; *max = 64; return &o->disks;
    case 'S': return &o->disk_size_mb;
    case 'U': return &o->rootvg_used_mb;
    case 'b': *min = 1; *max = 8; return &o->boot_paths;
    case 'v': *min = 1; return &o->vcpus;
    case 'M': *min = 1; return &o->memory_mb;
    default: return NULL;
    }
}

static int s_create_opt(s_create_t *o, int opt, const char *arg)
{
    long min, max, *number = s_create_number(o, opt, &min, &max);
    if (number)
        return s_long_arg(arg, min, max, number);
    switch (opt) {
    case 's': o->serial = arg; return 0;
    case 'p': o->prefix = arg; return 0;
    case 'm': o->model = arg; return 0;
    case 'N': o->name = arg; return 0;
    case 'h': o->hostname = arg; return 0;
    case 'o': o->oslevel = arg; return 0;
    case 'r': o->rootvg_disk = arg; return 0;
    case 'P': o->physical_adapter = true; return 0;
    case 'e': o->entitled = arg; return 0;
    case 'R': o->rmc = arg; return 0;
    case 'i': o->nim_master = arg; return 0;
    case 'x': o->nim_master = NULL; return 0;
    case 'f': o->fakeaix = arg; return 0;
    default: return -1;
    }
}

static int s_create_parse(int argc, char **argv, s_create_t *o)
{
    static const struct option longs[] = {
        {"serial", required_argument, NULL, 's'},     {"prefix", required_argument, NULL, 'p'},
        {"model", required_argument, NULL, 'm'},      {"name", required_argument, NULL, 'N'},
        {"number", required_argument, NULL, 'n'},     {"hostname", required_argument, NULL, 'h'},
        {"oslevel", required_argument, NULL, 'o'},    {"disks", required_argument, NULL, 'd'},
        {"rootvg-disk", required_argument, NULL, 'r'},
        {"disk-size-mb", required_argument, NULL, 'S'},
        {"rootvg-used-mb", required_argument, NULL, 'U'},
        {"boot-paths", required_argument, NULL, 'b'},
        {"physical-adapter", no_argument, NULL, 'P'}, {"entitled", required_argument, NULL, 'e'},
        {"vcpus", required_argument, NULL, 'v'},      {"memory-mb", required_argument, NULL, 'M'},
        {"rmc", required_argument, NULL, 'R'},        {"nim-master", required_argument, NULL, 'i'},
        {"no-nim", no_argument, NULL, 'x'},           {"fakeaix", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0}};
    s_create_defaults(o);
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        if (opt == '?' || opt == ':' || s_create_opt(o, opt, optarg) != 0) {
            fprintf(stderr, "ferry-simlpar create: bad option %s\n%s", argv[optind - 1],
                    s_create_help);
            return -1;
        }
    }
    if (optind != argc - 1) {
        fputs(s_create_help, stderr);
        return -1;
    }
    o->dir = argv[optind];
    //  Checked before anything is created, so a typo leaves no half partition.
    if (!sim_serial_valid(o->serial) || strlen(o->prefix) != 2) {
        fprintf(stderr, "ferry-simlpar create: --serial needs 1-16 letters and digits, "
                        "--prefix 2 characters\n");
        return -1;
    }
    return 0;
}

//  Host name from the partition name: lower case, spaces become dashes.
static void s_default_hostname(const s_create_t *o, const char *name, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < len; p++) {
        unsigned char c = (unsigned char) *p;
        if (isalnum(c) || c == '-' || c == '.')
            buf[n++] = (char) tolower(c);
        else if (c == ' ' && n > 0 && buf[n - 1] != '-')
            buf[n++] = '-';
    }
    buf[n] = '\0';
    if (n == 0)
        snprintf(buf, len, "lpar%ld", o->number);
}

//  PVID: 16 hex digits, the first half shared by the partition's disks as on AIX.
static void s_pvid(const s_create_t *o, long disk, char *buf, size_t len)
{
    //  A key cut short still hashes to a stable value: truncation is harmless.
    char key[SIM_VALUE_MAX * 2];
    if (snprintf(key, sizeof key, "%s/%s/%ld", o->serial, o->name, o->number) < 0)
        key[0] = '\0';
    uint32_t machine = (uint32_t) sim_hash(key) & 0xffffffu;
    if (snprintf(key, sizeof key, "%s/%s/%ld/%ld", o->serial, o->name, o->number, disk) < 0)
        key[0] = '\0';
    snprintf(buf, len, "00%06" PRIx32 "%08" PRIx32, machine, (uint32_t) sim_hash(key));
}

static void s_disks_text(const s_create_t *o, char *text)
{
    for (long i = 0; i < o->disks; i++) {
        char name[SIM_NAME_MAX], pvid[SIM_NAME_MAX];
        snprintf(name, sizeof name, "hdisk%ld", i);
        if (strcmp(name, o->rootvg_disk) == 0) {
            s_pvid(o, i, pvid, sizeof pvid);
            s_append(text, "%s %s rootvg active %ld %ld\n", name, pvid, o->disk_size_mb,
                     o->rootvg_used_mb);
        } else
            s_append(text, "%s none None - %ld 0\n", name, o->disk_size_mb);
    }
}

static void s_lparstat_text(const s_create_t *o, char *text)
{
    double entitled = strtod(o->entitled, NULL);
    s_append(text, "Type=Shared-SMT-8\nMode=Uncapped\n");
    //  Two spaces in this label, as some AIX levels print it.
    s_append(text, "Entitled  Capacity=%s\n", o->entitled);
    s_append(text, "Partition Group-ID=%ld\n", 32768 + o->number);
    s_append(text, "Shared Pool ID=0\nOnline Virtual CPUs=%ld\n", o->vcpus);
    s_append(text, "Maximum Virtual CPUs=%ld\nMinimum Virtual CPUs=1\n", o->vcpus * 4);
    s_append(text, "Online Memory=%ld MB\nMaximum Memory=%ld MB\n", o->memory_mb,
             o->memory_mb * 2);
    s_append(text, "Minimum Memory=%ld MB\n", o->memory_mb / 4);
    s_append(text, "Variable Capacity Weight=128\nMinimum Capacity=0.10\n"
                   "Maximum Capacity=4.00\nCapacity Increment=0.01\n"
                   "Maximum Physical CPUs in system=32\nActive Physical CPUs in system=32\n"
                   "Active CPUs in Pool=32\nShared Physical CPUs in system=32\n"
                   "Maximum Capacity of Pool=3200\nEntitled Capacity of Pool=1000\n"
                   "Unallocated Capacity=0.00\n");
    s_append(text, "Physical CPU Percentage=%.2f%%\n",
             o->vcpus > 0 ? entitled / (double) o->vcpus * 100.0 : 0.0);
    s_append(text, "Unallocated Weight=0\nMemory Mode=Dedicated\n"
                   "Total I/O Memory Entitlement=-\nVariable Memory Capacity Weight=-\n"
                   "Memory Pool ID=-\nPhysical Memory in the Pool=-\nHypervisor Page Size=-\n"
                   "Unallocated Variable Memory Capacity Weight=-\n"
                   "Unallocated I/O Memory entitlement=-\nMemory Group ID of LPAR=-\n");
    s_append(text, "Desired Virtual CPUs=%ld\nDesired Memory=%ld MB\n", o->vcpus, o->memory_mb);
    s_append(text, "Desired Variable Capacity Weight=128\nDesired Capacity=%s\n", o->entitled);
    s_append(text, "Target Memory Expansion Factor=-\nTarget Memory Expansion Size=-\n"
                   "Power Saving Mode=Disabled\nSub Processor Mode=-\n");
}

static void s_adapters_text(const s_create_t *o, char *text)
{
    //  Sorted by name, as lsdev lists them.
    s_append(text, "ent0 Available - Virtual I/O Ethernet Adapter (l-lan)\n");
    if (o->physical_adapter)
        s_append(text, "ent1 Available 02-00 4-Port Gigabit Ethernet PCI-Express Adapter "
                       "(e414571614102004)\n");
    s_append(text, "fcs0 Available - Virtual Fibre Channel Client Adapter\n"
                   "fcs1 Available - Virtual Fibre Channel Client Adapter\n"
                   "vsa0 Available - LPAR Virtual Serial Adapter\n"
                   "vscsi0 Available - Virtual SCSI Client Adapter\n");
}

static int s_filesets_text(const s_create_t *o, char *text)
{
    char level[32];
    if (sim_fileset_level(o->oslevel, level, sizeof level) != 0)
        return s_fail("--oslevel %s is not VVRR-TL-SP-BUILD", o->oslevel);
    s_append(text, "bos.rte %s\nbos.mp64 %s\n", level, level);
    s_append(text, "bos.alt_disk_install.rte %s\nbos.alt_disk_install.boot_images %s\n", level,
             level);
    s_append(text, "bos.sysmgt.nim.client %s\nrsct.core.rmc 3.2.6.0\n", level);
    return 0;
}

//  etc/niminfo of a standalone NIM client, as the master writes it.
static void s_niminfo_text(const char *name, const char *master, char *text)
{
    s_append(text, "#------------------ Network Install Manager ---------------\n"
                   "# warning - this file contains NIM configuration information\n"
                   "#       and should only be updated by NIM\n");
    s_append(text, "export NIM_NAME=%s\nexport NIM_HOSTNAME=%s\n", name, name);
    s_append(text, "export NIM_CONFIGURATION=standalone\nexport NIM_MASTER_HOSTNAME=%s\n",
             master);
    s_append(text, "export NIM_MASTER_PORT=1058\nexport NIM_REGISTRATION_PORT=1059\n"
                   "export NIM_SHELL=\"nimsh\"\n"
                   "export NIM_BOS_IMAGE=/SPOT/usr/sys/inst.images/installp/ppc/bos\n"
                   "export NIM_BOS_FORMAT=rte\nexport NIM_MOUNTS=\"\"\n");
}

static int s_fakeaix_path(const s_create_t *o, char *buf)
{
    if (o->fakeaix) {
        snprintf(buf, S_PATH_MAX, "%s", o->fakeaix);
    } else {
        char self[S_PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return s_fail("cannot find my own path; pass --fakeaix PATH");
        self[n] = '\0';
        if (s_join(buf, dirname(self), "ferry-fakeaix") != 0)
            return S_EXIT_FAIL;
    }
    if (buf[0] != '/' || access(buf, X_OK) != 0)
        return s_fail("%s: not an executable absolute path (--fakeaix)", buf);
    return 0;
}

static int s_create_links(const s_create_t *o, const char *bin)
{
    char target[S_PATH_MAX], link[S_PATH_MAX];
    if (s_fakeaix_path(o, target) != 0)
        return S_EXIT_FAIL;
    for (const char *const *cmd = sim_commands; *cmd; cmd++) {
        if (s_join(link, bin, *cmd) != 0)
            return S_EXIT_FAIL;
        unlink(link);
        if (symlink(target, link) != 0)
            return s_fail("cannot link %s: %s", link, strerror(errno));
    }
    return 0;
}

//  One generated file, or a message.
static int s_put(const char *state, const char *name, const char *text)
{
    char err[S_ERR_MAX];
    if (sim_write(state, name, text, err, sizeof err) != 0)
        return s_fail("%s", err);
    return 0;
}

static int s_put_value(const char *state, const char *name, const char *value)
{
    char err[S_ERR_MAX];
    if (sim_write_value(state, name, value, err, sizeof err) != 0)
        return s_fail("%s", err);
    return 0;
}

static int s_create_identity(const s_create_t *o, const char *state)
{
    char value[SIM_VALUE_MAX * 2], err[S_ERR_MAX];
    if (sim_set_systemid(state, o->prefix, o->serial, err, sizeof err) != 0)
        return s_fail("%s", err);
    if (s_put_value(state, SIM_MODEL, o->model))
        return S_EXIT_FAIL;
    snprintf(value, sizeof value, "%ld %s", o->number, o->name);
    char boot_id[40], boot_time[32];
    sim_uuid(boot_id, sizeof boot_id);
    snprintf(boot_time, sizeof boot_time, "%lld", (long long) time(NULL));
    if (s_put_value(state, SIM_PARTITION, value) || s_put_value(state, SIM_HOSTNAME, o->hostname)
        || s_put_value(state, SIM_OSLEVEL, o->oslevel) || s_put_value(state, SIM_RMC, o->rmc)
        || s_put_value(state, SIM_BOOT_ID, boot_id) || s_put_value(state, SIM_BOOT_TIME, boot_time))
        return S_EXIT_FAIL;
    return 0;
}

static int s_create_config(const s_create_t *o, const char *state)
{
    char text[S_TEXT_MAX] = "";
    s_disks_text(o, text);
    if (s_put(state, SIM_DISKS, text))
        return S_EXIT_FAIL;
    text[0] = '\0';
    for (long i = 0; i < o->boot_paths; i++)
        s_append(text, "%s blv=hd5 pathid=%ld\n", o->rootvg_disk, i);
    if (s_put(state, SIM_BOOTLIST, text))
        return S_EXIT_FAIL;
    text[0] = '\0';
    s_lparstat_text(o, text);
    if (s_put(state, SIM_LPARSTAT, text))
        return S_EXIT_FAIL;
    text[0] = '\0';
    s_adapters_text(o, text);
    if (s_put(state, SIM_ADAPTERS, text))
        return S_EXIT_FAIL;
    text[0] = '\0';
    if (s_filesets_text(o, text) || s_put(state, SIM_FILESETS, text))
        return S_EXIT_FAIL;
    return 0;
}

static int s_create_niminfo(const s_create_t *o, const char *etc)
{
    if (!o->nim_master)
        return 0;
    char short_host[SIM_VALUE_MAX], path[S_PATH_MAX], text[S_TEXT_MAX] = "", err[S_ERR_MAX];
    //  NIM names a client by its short host name.
    snprintf(short_host, sizeof short_host, "%s", o->hostname);
    short_host[strcspn(short_host, ".")] = '\0';
    s_niminfo_text(short_host, o->nim_master, text);
    if (s_join(path, etc, "niminfo") != 0)
        return S_EXIT_FAIL;
    if (sim_write_path(path, text, err, sizeof err) != 0)
        return s_fail("%s", err);
    return 0;
}

//  The partition's own /proc view for an agent running the aix platform
//  without libperfstat: its boot id from the state (a fake reboot changes
//  it), the metrics files from the host running the simulation.
static int s_create_proc(const char *dir)
{
    static const char *const host_files[] = { "stat", "meminfo", "vmstat", "diskstats",
                                              "loadavg", "uptime", "cpuinfo", "net", NULL };
    char proc[S_PATH_MAX], path[S_PATH_MAX], target[S_PATH_MAX];
    if (s_join(proc, dir, "proc") || s_mkdir(proc))
        return S_EXIT_FAIL;
    const char *sub[] = { "sys", "sys/kernel", "sys/kernel/random" };
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        if (s_join(path, proc, sub[i]) || s_mkdir(path))
            return S_EXIT_FAIL;
    if (s_join(path, proc, "sys/kernel/random/boot_id") != 0)
        return S_EXIT_FAIL;
    unlink(path);
    if (symlink("../../../../state/" SIM_BOOT_ID, path) != 0)
        return s_fail("cannot link %s: %s", path, strerror(errno));
    for (const char *const *file = host_files; *file; file++) {
        snprintf(target, sizeof target, "/proc/%s", *file);
        if (s_join(path, proc, *file) != 0)
            return S_EXIT_FAIL;
        unlink(path);
        if (symlink(target, path) != 0)
            return s_fail("cannot link %s: %s", path, strerror(errno));
    }
    return 0;
}

static int s_create(int argc, char **argv)
{
    s_create_t o;
    if (s_create_parse(argc, argv, &o) != 0)
        return S_EXIT_USAGE;
    char state[S_PATH_MAX], bin[S_PATH_MAX], etc[S_PATH_MAX];
    char name[SIM_VALUE_MAX], host[SIM_VALUE_MAX];
    if (s_join(state, o.dir, "state") || s_join(bin, o.dir, "bin") || s_join(etc, o.dir, "etc"))
        return S_EXIT_FAIL;
    if (access(state, F_OK) == 0)
        return s_fail("%s already exists: not overwriting a partition", state);
    if (o.name)
        snprintf(name, sizeof name, "%s", o.name);
    else
        snprintf(name, sizeof name, "lpar%ld", o.number);
    o.name = name;
    if (!o.hostname) {
        s_default_hostname(&o, name, host, sizeof host);
        o.hostname = host;
    }
    if (s_mkdir(o.dir) || s_mkdir(state) || s_mkdir(bin) || s_mkdir(etc))
        return S_EXIT_FAIL;
    if (s_create_identity(&o, state) || s_create_config(&o, state)
        || s_create_niminfo(&o, etc) || s_create_links(&o, bin) || s_create_proc(o.dir))
        return S_EXIT_FAIL;
    return 0;
}

//  ---------------------------------------------------------------------------
//  set DIR KEY VALUE

//  What a setter gets; the state lock is held.
typedef struct {
    const char *dir;              // partition directory
    const char *state;            // DIR/state
    const char *key;              // as given (prefix keys keep their suffix after ':')
    const char *arg;              // the part of key after "prefix:", or NULL
    const char *value;
} s_set_t;

typedef int(s_setter_fn)(const s_set_t *set);

static int s_set_file_value(const s_set_t *set, const char *file)
{
    return s_put_value(set->state, file, set->value);
}

//  systemid = IBM, + prefix + serial; replace one of the two parts.
static int s_set_systemid_part(const s_set_t *set, bool serial)
{
    char err[S_ERR_MAX];
    if (sim_set_systemid(set->state, serial ? NULL : set->value, serial ? set->value : NULL, err,
                         sizeof err)
        != 0)
        return s_fail("%s", err);
    return 0;
}

static int s_set_serial(const s_set_t *set) { return s_set_systemid_part(set, true); }
static int s_set_prefix(const s_set_t *set) { return s_set_systemid_part(set, false); }
static int s_set_systemid(const s_set_t *set) { return s_set_file_value(set, SIM_SYSTEMID); }
static int s_set_model(const s_set_t *set) { return s_set_file_value(set, SIM_MODEL); }
static int s_set_partition(const s_set_t *set) { return s_set_file_value(set, SIM_PARTITION); }
static int s_set_hostname(const s_set_t *set) { return s_set_file_value(set, SIM_HOSTNAME); }
static int s_set_oslevel(const s_set_t *set) { return s_set_file_value(set, SIM_OSLEVEL); }
static int s_set_rmc(const s_set_t *set) { return s_set_file_value(set, SIM_RMC); }
static int s_set_boot_id(const s_set_t *set) { return s_set_file_value(set, SIM_BOOT_ID); }
static int s_set_boot_time(const s_set_t *set) { return s_set_file_value(set, SIM_BOOT_TIME); }
static int s_set_pp_size(const s_set_t *set) { return s_set_file_value(set, SIM_PP_SIZE); }

static int s_remove(const char *state, const char *name)
{
    char path[S_PATH_MAX];
    if (s_join(path, state, name) != 0)
        return S_EXIT_FAIL;
    if (unlink(path) != 0 && errno != ENOENT)
        return s_fail("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

//  uname -f override; "auto" returns to the value derived from the system id.
static int s_set_uname_f(const s_set_t *set)
{
    if (strcmp(set->value, "auto") == 0)
        return s_remove(set->state, SIM_UNAME_F);
    return s_set_file_value(set, SIM_UNAME_F);
}

//  Replace the number (number) or the name (!number) of the uname -L line.
static int s_set_partition_part(const s_set_t *set, bool number)
{
    char partition[SIM_VALUE_MAX], value[SIM_VALUE_MAX * 2];
    long no;
    if (sim_read_value(set->state, SIM_PARTITION, partition, sizeof partition) != 0)
        return s_fail("%s/%s: cannot read", set->state, SIM_PARTITION);
    char *end;
    no = strtol(partition, &end, 10);
    while (*end == ' ')
        end++;
    if (number && s_long_arg(set->value, -1, LONG_MAX, &no) != 0)
        return s_fail("number '%s': expected an integer", set->value);
    snprintf(value, sizeof value, "%ld %s", no, number ? end : set->value);
    return s_put_value(set->state, SIM_PARTITION, value);
}

static int s_set_name(const s_set_t *set) { return s_set_partition_part(set, false); }
static int s_set_number(const s_set_t *set) { return s_set_partition_part(set, true); }

//  Whole multi-line files: the value is the new content.
static int s_set_whole(const s_set_t *set, const char *file)
{
    size_t len = strlen(set->value);
    if (len == 0 || set->value[len - 1] == '\n')
        return s_put(set->state, file, set->value);
    return s_put_value(set->state, file, set->value);
}

static int s_set_disks(const s_set_t *set)
{
    char err[S_ERR_MAX];
    sim_disks_t disks;
    if (sim_disks_parse(set->value, &disks, err, sizeof err) != 0)
        return s_fail("%s", err);
    sim_disks_free(&disks);
    return s_set_whole(set, SIM_DISKS);
}

static int s_set_bootlist(const s_set_t *set) { return s_set_whole(set, SIM_BOOTLIST); }
static int s_set_adapters(const s_set_t *set) { return s_set_whole(set, SIM_ADAPTERS); }
static int s_set_filesets(const s_set_t *set) { return s_set_whole(set, SIM_FILESETS); }
static int s_set_lparstat_all(const s_set_t *set) { return s_set_whole(set, SIM_LPARSTAT); }

//  Labels compare with runs of blanks collapsed, so "Entitled Capacity"
//  finds the double-spaced label.
static bool s_label_eq(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a == ' ' && *b == ' ') {
            while (*a == ' ')
                a++;
            while (*b == ' ')
                b++;
            continue;
        }
        if (*a++ != *b++)
            return false;
    }
    return *a == *b;
}

//  Set lparstat lines; labels NULL-terminated, all get the same value.
static int s_lparstat_put(const s_set_t *set, const char *const *labels, const char *value)
{
    sim_kvs_t kvs;
    char err[S_ERR_MAX];
    if (sim_kvs_load(set->state, SIM_LPARSTAT, &kvs) != 0 && errno != ENOENT)
        return s_fail("cannot read %s/%s: %s", set->state, SIM_LPARSTAT, strerror(errno));
    int rc = 0;
    for (const char *const *label = labels; *label && rc == 0; label++) {
        const char *actual = *label;
        for (size_t i = 0; i < kvs.count; i++)
            if (s_label_eq(kvs.items[i].label, *label))
                actual = kvs.items[i].label;
        if (sim_kvs_set(&kvs, actual, value) != 0)
            rc = s_fail("out of memory");
    }
    if (rc == 0 && sim_kvs_save(set->state, SIM_LPARSTAT, &kvs, err, sizeof err) != 0)
        rc = s_fail("%s", err);
    sim_kvs_free(&kvs);
    return rc;
}

static int s_set_lparstat(const s_set_t *set)
{
    const char *labels[] = {set->arg, NULL};
    if (!set->arg || !*set->arg || strchr(set->arg, '=') || strchr(set->arg, '\n'))
        return s_fail("lparstat:LABEL needs a label without '=' or newlines");
    return s_lparstat_put(set, labels, set->value);
}

static int s_set_entitled(const s_set_t *set)
{
    static const char *const labels[] = {"Entitled  Capacity", "Desired Capacity", NULL};
    return s_lparstat_put(set, labels, set->value);
}

static int s_set_vcpus(const s_set_t *set)
{
    static const char *const labels[] = {"Online Virtual CPUs", "Desired Virtual CPUs", NULL};
    return s_lparstat_put(set, labels, set->value);
}

static int s_set_memory(const s_set_t *set)
{
    static const char *const labels[] = {"Online Memory", "Desired Memory", NULL};
    char value[SIM_VALUE_MAX];
    snprintf(value, sizeof value, "%s MB", set->value);
    return s_lparstat_put(set, labels, value);
}

static int s_set_type(const s_set_t *set)
{
    static const char *const labels[] = {"Type", NULL};
    return s_lparstat_put(set, labels, set->value);
}

static int s_set_mode(const s_set_t *set)
{
    static const char *const labels[] = {"Mode", NULL};
    return s_lparstat_put(set, labels, set->value);
}

static int s_set_pool_id(const s_set_t *set)
{
    static const char *const labels[] = {"Shared Pool ID", NULL};
    return s_lparstat_put(set, labels, set->value);
}

//  Rewrite the lines of a "name rest" file: replace or append name's line,
//  or drop it when value is "-".
static int s_set_line(const s_set_t *set, const char *file)
{
    if (!set->arg || !*set->arg || strpbrk(set->arg, " \t\n") || strchr(set->value, '\n'))
        return s_fail("%s: needs NAME:VALUE without blanks in NAME", set->key);
    char *old = sim_read(set->state, file);
    if (!old && errno != ENOENT)
        return s_fail("cannot read %s/%s: %s", set->state, file, strerror(errno));
    size_t cap = (old ? strlen(old) : 0) + strlen(set->arg) + strlen(set->value) + 4;
    char *text = calloc(1, cap);
    char *cursor = old, *line;
    bool replaced = false;
    size_t arg_len = strlen(set->arg), len = 0;
    while (text && (line = sim_next_line(&cursor))) {
        bool match = strncmp(line, set->arg, arg_len) == 0
                     && (line[arg_len] == ' ' || line[arg_len] == '\t');
        if (match && (replaced || strcmp(set->value, "-") == 0))
            continue;
        if (match) {
            len += (size_t) snprintf(text + len, cap - len, "%s %s\n", set->arg, set->value);
            replaced = true;
        } else if (*line)
            len += (size_t) snprintf(text + len, cap - len, "%s\n", line);
    }
    if (text && !replaced && strcmp(set->value, "-") != 0)
        snprintf(text + len, cap - len, "%s %s\n", set->arg, set->value);
    int rc = text ? s_put(set->state, file, text) : s_fail("out of memory");
    free(text);
    free(old);
    return rc;
}

static int s_set_fileset(const s_set_t *set) { return s_set_line(set, SIM_FILESETS); }

static int s_set_disk(const s_set_t *set)
{
    if (strcmp(set->value, "-") != 0) {
        char line[SIM_VALUE_MAX * 2], err[S_ERR_MAX];
        snprintf(line, sizeof line, "%s %s", set->arg ? set->arg : "", set->value);
        sim_disks_t disks;
        if (sim_disks_parse(line, &disks, err, sizeof err) != 0)
            return s_fail("disk:%s: %s", set->arg ? set->arg : "", err);
        sim_disks_free(&disks);
    }
    return s_set_line(set, SIM_DISKS);
}

//  fault:CMD.out|.err|.exit|.sleep VALUE; "-" removes the file.
static int s_set_fault(const s_set_t *set)
{
    char name[S_PATH_MAX], dir[S_PATH_MAX];
    if (!set->arg || !*set->arg || strchr(set->arg, '/') || !strchr(set->arg, '.'))
        return s_fail("fault:CMD.out|.err|.exit|.sleep expected");
    if (s_join(dir, set->state, SIM_FAULT_DIR) || s_mkdir(dir))
        return S_EXIT_FAIL;
    snprintf(name, sizeof name, "%s/%s", SIM_FAULT_DIR, set->arg);
    if (strcmp(set->value, "-") == 0)
        return s_remove(set->state, name);
    return s_put(set->state, name, set->value);
}

//  Rewrite etc/niminfo with one of its two names changed; "-" removes the file.
static int s_set_nim(const s_set_t *set, bool master)
{
    char path[S_PATH_MAX], etc[S_PATH_MAX], err[S_ERR_MAX], text[S_TEXT_MAX] = "";
    char name[SIM_VALUE_MAX] = "", master_host[SIM_VALUE_MAX] = "nimmaster";
    if (s_join(etc, set->dir, "etc") || s_join(path, etc, "niminfo"))
        return S_EXIT_FAIL;
    if (strcmp(set->value, "-") == 0)
        return unlink(path) == 0 || errno == ENOENT ? 0 : s_fail("cannot remove %s", path);
    if (sim_read_value(set->state, SIM_HOSTNAME, name, sizeof name) == 0)
        name[strcspn(name, ".")] = '\0';
    char *old = sim_read(etc, "niminfo");
    char *cursor = old, *line;
    while (old && (line = sim_next_line(&cursor))) {
        if (strncmp(line, "export NIM_NAME=", 16) == 0)
            snprintf(name, sizeof name, "%s", line + 16);
        else if (strncmp(line, "export NIM_MASTER_HOSTNAME=", 27) == 0)
            snprintf(master_host, sizeof master_host, "%s", line + 27);
    }
    free(old);
    snprintf(master ? master_host : name, SIM_VALUE_MAX, "%s", set->value);
    s_niminfo_text(name, master_host, text);
    if (s_mkdir(etc) != 0)
        return S_EXIT_FAIL;
    if (sim_write_path(path, text, err, sizeof err) != 0)
        return s_fail("%s", err);
    return 0;
}

static int s_set_nim_master(const s_set_t *set) { return s_set_nim(set, true); }
static int s_set_nim_name(const s_set_t *set) { return s_set_nim(set, false); }

//  Keys ending in ':' take a suffix: lparstat:LABEL, fileset:NAME, disk:NAME, fault:FILE.
static const struct {
    const char *key;
    s_setter_fn *fn;
} s_setters[] = {
    {"serial", s_set_serial},         {"prefix", s_set_prefix},
    {"systemid", s_set_systemid},     {"model", s_set_model},
    {"partition", s_set_partition},   {"name", s_set_name},
    {"number", s_set_number},         {"hostname", s_set_hostname},
    {"uname_f", s_set_uname_f},       {"oslevel", s_set_oslevel},
    {"rmc", s_set_rmc},               {"boot_id", s_set_boot_id},
    {"boot_time", s_set_boot_time},   {"pp_size_mb", s_set_pp_size},
    {"disks", s_set_disks},           {"bootlist", s_set_bootlist},
    {"adapters", s_set_adapters},     {"filesets", s_set_filesets},
    {"lparstat", s_set_lparstat_all}, {"entitled", s_set_entitled},
    {"vcpus", s_set_vcpus},           {"memory_mb", s_set_memory},
    {"type", s_set_type},             {"mode", s_set_mode},
    {"pool_id", s_set_pool_id},       {"nim_master", s_set_nim_master},
    {"nim_name", s_set_nim_name},     {"lparstat:", s_set_lparstat},
    {"fileset:", s_set_fileset},      {"disk:", s_set_disk},
    {"fault:", s_set_fault},
};

static void s_set_usage(void)
{
    fprintf(stderr, "usage: ferry-simlpar set DIR KEY VALUE\nkeys:");
    for (size_t i = 0; i < sizeof s_setters / sizeof s_setters[0]; i++)
        fprintf(stderr, " %s%s", s_setters[i].key,
                s_setters[i].key[strlen(s_setters[i].key) - 1] == ':' ? "X" : "");
    fprintf(stderr, "\n");
}

static s_setter_fn *s_find_setter(const char *key, const char **arg)
{
    *arg = NULL;
    for (size_t i = 0; i < sizeof s_setters / sizeof s_setters[0]; i++) {
        const char *name = s_setters[i].key;
        size_t len = strlen(name);
        if (name[len - 1] == ':' && strncmp(key, name, len) == 0) {
            *arg = key + len;
            return s_setters[i].fn;
        }
        if (strcmp(key, name) == 0)
            return s_setters[i].fn;
    }
    return NULL;
}

static int s_set(int argc, char **argv)
{
    if (argc != 4) {
        s_set_usage();
        return S_EXIT_USAGE;
    }
    s_set_t set = {.dir = argv[1], .key = argv[2], .value = argv[3]};
    s_setter_fn *fn = s_find_setter(set.key, &set.arg);
    if (!fn) {
        fprintf(stderr, "ferry-simlpar set: unknown key '%s'\n", set.key);
        s_set_usage();
        return S_EXIT_USAGE;
    }
    char state[S_PATH_MAX], err[S_ERR_MAX];
    if (s_join(state, set.dir, "state") != 0)
        return S_EXIT_FAIL;
    if (access(state, F_OK) != 0)
        return s_fail("%s: no simulated partition here (%s)", set.dir, strerror(errno));
    set.state = state;
    int lock = sim_lock(state, err, sizeof err);
    if (lock < 0)
        return s_fail("%s", err);
    int rc = fn(&set);
    sim_unlock(lock);
    return rc;
}

//  ---------------------------------------------------------------------------
//  show DIR [KEY]

static const char *const s_show_files[]
    = {SIM_SYSTEMID, SIM_MODEL,   SIM_PARTITION, SIM_HOSTNAME,  SIM_OSLEVEL,  SIM_RMC,
       SIM_BOOT_ID,  SIM_BOOT_TIME, SIM_PP_SIZE, SIM_DISKS,     SIM_BOOTLIST, SIM_ADAPTERS,
       SIM_FILESETS, SIM_LPARSTAT, NULL};

//  Values computed from the files: serial, prefix, uname_f.
static int s_show_derived(const char *state, const char *key, char *buf, size_t len)
{
    char systemid[SIM_VALUE_MAX], partition[SIM_VALUE_MAX];
    if (sim_read_value(state, SIM_SYSTEMID, systemid, sizeof systemid) != 0)
        return -1;
    if (strcmp(key, "serial") == 0 && strlen(systemid) > 6)
        snprintf(buf, len, "%s", systemid + 6);
    else if (strcmp(key, "prefix") == 0 && strlen(systemid) > 6)
        snprintf(buf, len, "%.2s", systemid + 4);
    else if (strcmp(key, "uname_f") == 0) {
        if (sim_read_value(state, SIM_UNAME_F, buf, len) == 0)
            return 0;
        if (sim_read_value(state, SIM_PARTITION, partition, sizeof partition) != 0)
            return -1;
        sim_uname_f(systemid, partition, buf, len);
    } else
        return -1;
    return 0;
}

static void s_show_file(const char *state, const char *name)
{
    char *text = sim_read(state, name);
    if (!text)
        return;
    char *cursor = text, *line;
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    if (lines <= 1) {
        line = sim_next_line(&cursor);
        printf("%s: %s\n", name, line ? line : "");
    } else {
        printf("%s:\n", name);
        while ((line = sim_next_line(&cursor)))
            printf("    %s\n", line);
    }
    free(text);
}

static int s_show(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ferry-simlpar show DIR [KEY]\n");
        return S_EXIT_USAGE;
    }
    char state[S_PATH_MAX], value[SIM_VALUE_MAX];
    if (s_join(state, argv[1], "state") != 0)
        return S_EXIT_FAIL;
    if (access(state, F_OK) != 0)
        return s_fail("%s: no simulated partition here (%s)", argv[1], strerror(errno));
    if (argc == 3) {
        if (s_show_derived(state, argv[2], value, sizeof value) == 0) {
            printf("%s\n", value);
            return 0;
        }
        char *text = strstr(argv[2], "..") ? NULL : sim_read(state, argv[2]);
        if (!text)
            return s_fail("%s: no such state value", argv[2]);
        fputs(text, stdout);
        free(text);
        return 0;
    }
    for (const char *const *name = s_show_files; *name; name++)
        s_show_file(state, *name);
    if (s_show_derived(state, "uname_f", value, sizeof value) == 0)
        printf("uname_f: %s\n", value);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Dispatch

typedef int(s_verb_fn)(int argc, char **argv);

//  Later simulators add their verbs here (reboot, nimadm).
static const struct {
    const char *name;
    s_verb_fn *fn;
    const char *usage;
} s_verbs[] = {
    {"create", s_create, "create DIR [options]   (create --help for options)"},
    {"set", s_set, "set DIR KEY VALUE"},
    {"show", s_show, "show DIR [KEY]"},
};

static int s_usage(void)
{
    fprintf(stderr, "usage:\n");
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++)
        fprintf(stderr, "  ferry-simlpar %s\n", s_verbs[i].usage);
    return S_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return s_usage();
    if (argc == 3 && strcmp(argv[1], "create") == 0 && strcmp(argv[2], "--help") == 0) {
        fputs(s_create_help, stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++)
        if (strcmp(argv[1], s_verbs[i].name) == 0)
            return s_verbs[i].fn(argc - 1, argv + 1);
    return s_usage();
}
