/*  aix_parse — pure parsers of AIX command output (run with LANG=C LC_ALL=C):
    text in, struct out, no I/O. One function per command. Every parser reads
    at most len bytes of text (which need not be NUL-terminated and may hold
    any bytes), rejects lines with control or non-ASCII bytes, and on odd
    input leaves the field unset and adds a warning that names the command.
    Quirks handled are listed in ../shared/reference/aix.md.

    Return convention: 0 when the output gave an answer (lines that could not
    be used may still have added warnings), -1 when it gave none (a warning
    was added). Output structs are zeroed by the parser first.
    Ownership: text and warnings are borrowed; output structs are the
    caller's; lists inside them (aix_names_t, aix_lspv_t) own their arrays
    and are released with their *_clear function. */
#ifndef FERRY_AIX_PARSE_H
#define FERRY_AIX_PARSE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AIX_NAME_MAX 32           // device and VG names (NAME_DISK / NAME_VG are at most 31)
#define AIX_VALUE_MAX 64          // short values: system id, model, type, mode, levels
#define AIX_PARTITION_NAME_MAX 48 // LPAR names are at most 47 characters on the HMC
#define AIX_HOST_MAX 254          // RFC 1123 host name, at most 253 characters
#define AIX_PVID_LEN 16           // a PVID is 16 hex digits
#define AIX_LIST_MAX 4096         // entries kept from one command (bounds memory on junk)
#define AIX_WARNING_LEN 192       // one warning message, truncated to fit
#define AIX_WARNINGS_MAX 48       // warnings kept; later ones are only counted

//  Bounded list of warning messages; fixed storage, nothing to free.
typedef struct {
    char items[AIX_WARNINGS_MAX][AIX_WARNING_LEN]; // NUL-terminated messages, in order
    size_t count;                                  // items used
    size_t dropped;                                // warnings that did not fit
} aix_warnings_t;

//  Empty the list.
void aix_warnings_init(aix_warnings_t *w);

//  Append a printf-style message (truncated to AIX_WARNING_LEN - 1 bytes).
void aix_warn(aix_warnings_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

//  True when an AIX message code such as "0516-010" occurs in len bytes of
//  text (which may hold NULs). text, code: borrowed.
bool aix_text_has_code(const char *text, size_t len, const char *code);

//  Growable list of short names (devices, VGs), in input order.
typedef struct {
    char (*items)[AIX_NAME_MAX]; // owned array of count names
    size_t count;                // names used
} aix_names_t;

//  Free the array and zero the list.
void aix_names_clear(aix_names_t *list);

//  True when name is in the list (exact match). name: borrowed.
bool aix_names_contains(const aix_names_t *list, const char *name);

//  `lsattr -El sys0 -a systemid` and `uname -u`.
typedef struct {
    char systemid[AIX_VALUE_MAX]; // raw value, e.g. "IBM,0221C48FV"
    char serial[AIX_VALUE_MAX];   // 7-character machine serial, e.g. "21C48FV"; "" when unknown
} aix_systemid_t;

//  `lsattr -El sys0 -a systemid` -> "systemid IBM,0221C48FV Hardware system identifier False".
//  The serial is the value without "IBM," and the two-character prefix (01, 02, 03, ...).
int aix_parse_lsattr_systemid(const char *text, size_t len, aix_systemid_t *out,
                              aix_warnings_t *w);

//  `uname -u` -> "IBM,0221C48FV"; same decoding as the lsattr value.
int aix_parse_uname_u(const char *text, size_t len, aix_systemid_t *out, aix_warnings_t *w);

//  `lsattr -El sys0 -a modelname` -> "modelname IBM,8408-E8E Machine name False".
//  model: caller's buffer of AIX_VALUE_MAX bytes, gets the raw value.
int aix_parse_lsattr_modelname(const char *text, size_t len, char *model, aix_warnings_t *w);

//  `uname -M` -> "IBM,8408-E8E". model: caller's buffer of AIX_VALUE_MAX bytes.
int aix_parse_uname_M(const char *text, size_t len, char *model, aix_warnings_t *w);

//  `uname -f` -> hex id unique to partition + system (changes after LPM).
//  id: caller's buffer of AIX_VALUE_MAX bytes.
int aix_parse_uname_f(const char *text, size_t len, char *id, aix_warnings_t *w);

//  `uname -L`.
typedef struct {
    bool lpar;                           // false for "-1 NULL" (not running in an LPAR)
    bool has_number;                     // number is known
    int number;                          // partition number
    char name[AIX_PARTITION_NAME_MAX];   // partition name, may contain spaces; "" for NULL
} aix_uname_L_t;

//  `uname -L` -> "99 lpar1", "3 Web Server", "-1 NULL" (no LPAR), "1 NULL" (SMP mode).
int aix_parse_uname_L(const char *text, size_t len, aix_uname_L_t *out, aix_warnings_t *w);

//  `hostname` -> one RFC 1123 name. host: caller's buffer of AIX_HOST_MAX bytes.
int aix_parse_hostname(const char *text, size_t len, char *host, aix_warnings_t *w);

//  `oslevel -s`.
typedef struct {
    char level[AIX_VALUE_MAX];   // "7200-05-03-2148"; "" when only a plain level was printed
    char version[8];             // "7.2"
    bool has_tl_sp;              // tl, sp and build are known
    int tl;                      // technology level, 5
    int sp;                      // service pack, 3
    char build[8];               // build year + week, "2148"
} aix_oslevel_t;

//  `oslevel -s` -> "7200-05-03-2148". A plain "7.2.0.0" sets version only and warns.
int aix_parse_oslevel_s(const char *text, size_t len, aix_oslevel_t *out, aix_warnings_t *w);

//  One `lspv` line.
typedef struct {
    char name[AIX_NAME_MAX];      // hdisk0 (valid NAME_DISK)
    char pvid[AIX_PVID_LEN + 1];  // 16 hex digits; "" for "none"
    char vg[AIX_NAME_MAX];        // volume group; "" for "None"/"none"
    bool active;                  // state column says active/concurrent; false when missing
    bool has_size_mb;             // size_mb is known (filled by the caller from getconf)
    uint64_t size_mb;             // disk size in MB
} aix_pv_t;

typedef struct {
    aix_pv_t *items;              // owned array of count disks, in output order
    size_t count;                 // disks used
} aix_lspv_t;

void aix_lspv_clear(aix_lspv_t *lspv);

//  `lspv` -> "hdisk0  00f6db0a6c7aece5  rootvg  active"; a varied-off VG has no state column.
//  Lines that do not parse are skipped with a warning; duplicates too.
int aix_parse_lspv(const char *text, size_t len, aix_lspv_t *out, aix_warnings_t *w);

//  `lsvg` and `lsvg -o` -> one VG name per line. command: borrowed label for warnings.
int aix_parse_lsvg_list(const char *text, size_t len, const char *command, aix_names_t *out,
                        aix_warnings_t *w);

//  `lsvg VG` (e.g. rootvg).
typedef struct {
    bool varied_off;              // the command said 0516-010 (VG must be varied on)
    char name[AIX_NAME_MAX];      // VOLUME GROUP
    char state[AIX_VALUE_MAX];    // VG STATE, e.g. "active"
    bool has_pp_size;             // pp_size_mb is known
    uint64_t pp_size_mb;          // PP SIZE in MB
    bool has_total;               // total_pps/total_mb are known
    uint64_t total_pps, total_mb; // TOTAL PPs: N (M megabytes)
    bool has_free;                // free_pps/free_mb are known
    uint64_t free_pps, free_mb;   // FREE PPs
    bool has_used;                // used_pps/used_mb are known
    uint64_t used_pps, used_mb;   // USED PPs
    bool has_total_pvs;           // total_pvs is known
    uint64_t total_pvs;           // TOTAL PVs
} aix_lsvg_vg_t;

//  `lsvg VG`: two columns of "LABEL: value"; the right column starts where the
//  second label of the first line starts. Short lines and trailing spaces are fine.
//  Text containing 0516-010 (from stdout or stderr) sets varied_off and returns -1.
//  vg: borrowed, the VG asked for (named in warnings).
int aix_parse_lsvg_vg(const char *text, size_t len, const char *vg, aix_lsvg_vg_t *out,
                      aix_warnings_t *w);

//  `bootlist -m normal -o` -> "hdisk1 blv=hd5 pathid=0", one line per path:
//  devices unique, in first-seen order; attr=value tokens are ignored.
int aix_parse_bootlist(const char *text, size_t len, aix_names_t *out, aix_warnings_t *w);

//  `lparstat -i`; "-" (not available) leaves a field unset.
typedef struct {
    char node_name[AIX_HOST_MAX];             // Node Name
    char partition_name[AIX_PARTITION_NAME_MAX]; // Partition Name
    bool has_partition_number;                // partition_number is known
    int64_t partition_number;                 // Partition Number
    char type[AIX_VALUE_MAX];                 // Type: Shared-SMT-4, Dedicated-SMT, ...
    char mode[AIX_VALUE_MAX];                 // Mode: Capped, Uncapped, Donating
    bool has_entitled_capacity;               // entitled_capacity is known
    double entitled_capacity;                 // Entitled Capacity (decimal comma accepted)
    bool has_shared_pool_id;                  // shared_pool_id is known
    int64_t shared_pool_id;                   // Shared Pool ID
    bool has_online_vcpus;                    // online_vcpus is known
    int64_t online_vcpus;                     // Online Virtual CPUs
    bool has_online_memory_mb;                // online_memory_mb is known
    int64_t online_memory_mb;                 // Online Memory, " MB" suffix
    bool has_maximum_memory_mb;               // maximum_memory_mb is known
    int64_t maximum_memory_mb;                // Maximum Memory
    bool has_active_physical_cpus;            // active_physical_cpus is known
    int64_t active_physical_cpus;             // Active Physical CPUs in system
    bool has_physical_cpu_pct;                // physical_cpu_pct is known
    double physical_cpu_pct;                  // Physical CPU Percentage, "%" suffix
    char memory_mode[AIX_VALUE_MAX];          // Memory Mode: Dedicated, Shared, ...
} aix_lparstat_t;

//  `lparstat -i` -> "Label   : value" lines; labels are padded and may hold double spaces.
int aix_parse_lparstat_i(const char *text, size_t len, aix_lparstat_t *out, aix_warnings_t *w);

//  `lsdev -Cc adapter`, Available adapters only (Defined ones have no hardware behind them).
typedef struct {
    aix_names_t physical;         // e.g. fcs0 "... FC Adapter", ent0 at 02-00
    aix_names_t virtual;          // description holds the word "Virtual"
} aix_adapters_t;

void aix_adapters_clear(aix_adapters_t *adapters);

//  `lsdev -Cc adapter` -> "NAME STATE [LOCATION] DESCRIPTION". Virtual when the
//  description has the word "Virtual" (Virtual I/O Ethernet, Virtual Fibre Channel
//  Client, Virtual SCSI Client, LPAR Virtual Serial, Virtual NIC Client, ...).
int aix_parse_lsdev_adapters(const char *text, size_t len, aix_adapters_t *out,
                             aix_warnings_t *w);

//  `lssrc -s SUBSYSTEM` -> header line then " ctrmc  rsct  5636228  active".
//  subsystem: borrowed. status: caller's buffer of AIX_VALUE_MAX bytes.
int aix_parse_lssrc_s(const char *text, size_t len, const char *subsystem, char *status,
                      aix_warnings_t *w);

//  `lslpp -Lc FILESET`.
typedef struct {
    bool not_installed;           // the command said 0504-132 (fileset not installed)
    char level[AIX_VALUE_MAX];    // "7.2.5.0"; "" when unknown
} aix_fileset_t;

//  `lslpp -Lc FILESET` -> colon-separated "package:fileset:level:...". Text
//  holding 0504-132 sets not_installed and returns 0 (a known answer).
int aix_parse_lslpp_lc(const char *text, size_t len, const char *fileset, aix_fileset_t *out,
                       aix_warnings_t *w);

//  `getconf DISK_SIZE /dev/DISK` -> size in MB. disk: borrowed, for warnings.
int aix_parse_disk_size(const char *text, size_t len, const char *disk, uint64_t *size_mb,
                        aix_warnings_t *w);

//  /etc/niminfo.
typedef struct {
    char master[AIX_HOST_MAX];    // NIM_MASTER_HOSTNAME; "" when unknown
    char name[AIX_VALUE_MAX];     // NIM_NAME (this client's NIM object); "" when unknown
} aix_niminfo_t;

//  /etc/niminfo -> "export NIM_MASTER_HOSTNAME=nim1", "NIM_NAME=\"lpar1\"" (export
//  and quotes optional). 0 when at least one of the two was found.
int aix_parse_niminfo(const char *text, size_t len, aix_niminfo_t *out, aix_warnings_t *w);

#endif
