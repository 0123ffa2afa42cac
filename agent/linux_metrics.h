/*  linux_metrics — nmon-style figures from /proc on Linux (Power and other).

    Three layers, so each can be tested on its own:
    - pure parsers: text of one /proc file in, counters out (no I/O, no heap);
    - linux_reading_t: the raw counters of one reading of every file;
    - linux_metrics_t: the sampler. It keeps the files open (pread from 0 is
      how procps re-reads /proc: no open/close per sample), reads into one
      reusable buffer, and turns two readings into a metrics_t of rates.

    Choices that define the figures (see also metrics.h):
    - cpu: user = user+nice; sys = system+irq+softirq; wait = iowait; idle.
      Steal is left out of the total: percentages are of the time the
      partition's virtual processors actually ran, as on AIX where physc
      says how much physical capacity that was.
    - real_free_mb is MemFree (AIX's free frames; nmon's "free"), not
      MemAvailable. paging_* are SwapTotal/SwapFree.
    - pgins/pgouts are /proc/vmstat pgpgin/pgpgout converted from KB to 4 KB
      pages: like AIX's perfstat pgins/pgouts (4 KB pages) they count all
      paging I/O, file pages included. pswpin/pswpout are swap-only (AIX's
      pgspins/pgspouts) and are parsed but not reported.
    - disks: whole disks only (partitions, ram* and loop* skipped by name,
      the kernel's naming rule); dm-* and md* count as disks. busy_pct =
      Δio_ticks / elapsed.
    - net: every interface but lo; errors are those of the interval.
    - processes: the thread count of /proc/loadavg ("running/total").
    - physc = Δpurr / Δtbr when lparcfg has tbr (the same clock as purr,
      exact), else Δpurr / timebase / elapsed with timebase from
      /proc/cpuinfo. entc_pct = physc / entitled × 100. Only with lparcfg. */
#ifndef FERRY_LINUX_METRICS_H
#define FERRY_LINUX_METRICS_H

#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  ---------------------------------------------------------------- parsers
//  Each parser takes NUL-terminated text (borrowed) and fills *out, which
//  it resets first. 0 when the essential fields were found, else -1 with
//  the has_* flags of what is missing left false.

typedef struct {
    bool has_cpu;                 // the aggregate "cpu " line was parsed
    uint64_t user, nice, sys, idle, iowait, irq, softirq, steal; // USER_HZ ticks
    bool has_btime;               // a "btime" line was found
    uint64_t btime;               // boot time, epoch seconds
} linux_stat_t;

//  /proc/stat. 0 when the cpu line was found (btime is optional: the
//  sampler reads only the first line).
int linux_parse_stat(const char *text, linux_stat_t *out);

typedef struct {
    bool has_memory;              // MemTotal and MemFree were found
    uint64_t mem_total_kb, mem_free_kb;
    bool has_available;           // MemAvailable was found (kernels >= 3.14)
    uint64_t mem_available_kb;
    bool has_swap;                // SwapTotal and SwapFree were found
    uint64_t swap_total_kb, swap_free_kb;
} linux_meminfo_t;

//  /proc/meminfo. 0 when MemTotal and MemFree were found.
int linux_parse_meminfo(const char *text, linux_meminfo_t *out);

typedef struct {
    bool has_pgpg;                // pgpgin and pgpgout were found
    uint64_t pgpgin_kb, pgpgout_kb; // KB paged in/out since boot
    bool has_pswp;                // pswpin and pswpout were found
    uint64_t pswpin, pswpout;     // pages swapped in/out since boot
} linux_vmstat_t;

//  /proc/vmstat. 0 when pgpgin and pgpgout were found.
int linux_parse_vmstat(const char *text, linux_vmstat_t *out);

typedef struct {
    bool has_load;                // the whole line was parsed
    double avg1, avg5, avg15;     // load averages
    uint32_t running, threads;    // "running/total" scheduling entities
} linux_loadavg_t;

//  /proc/loadavg ("0.52 0.58 0.59 2/345 12345").
int linux_parse_loadavg(const char *text, linux_loadavg_t *out);

//  /proc/uptime ("350735.47 234388.90"): seconds since boot into *uptime_s.
int linux_parse_uptime(const char *text, double *uptime_s);

typedef struct {
    char name[METRICS_NAME_MAX];  // sda, vda, dm-0, nvme0n1, ...
    uint64_t reads, writes;       // requests completed
    uint64_t sectors_read, sectors_written; // 512-byte sectors
    uint64_t io_ticks_ms;         // ms the device had I/O in flight
} linux_disk_t;

//  Whether a /proc/diskstats device name is a whole disk worth reporting:
//  false for partitions (sda1, vdb2, nvme0n1p1, mmcblk0p1), ram* and loop*.
bool linux_is_whole_disk(const char *name);

//  /proc/diskstats: the whole disks, in file order, into disks[0..cap).
//  Returns how many there are, which may exceed cap (then only cap were
//  stored: grow and parse again). Malformed lines are skipped.
size_t linux_parse_diskstats(const char *text, linux_disk_t *disks, size_t cap);

typedef struct {
    char name[METRICS_NAME_MAX];  // eth0, ens3, ...
    uint64_t rx_bytes, rx_packets, rx_errs;
    uint64_t tx_bytes, tx_packets, tx_errs;
} linux_net_t;

//  /proc/net/dev: every interface but lo; same contract as diskstats.
size_t linux_parse_net_dev(const char *text, linux_net_t *nets, size_t cap);

#define LINUX_LPAR_STR_MAX 256

typedef struct {
    bool has_header;              // first line was "lparcfg VERSION"
    bool has_serial_number;       // serial_number= line present (may be empty: KVM)
    char serial_number[LINUX_LPAR_STR_MAX]; // raw, e.g. IBM,032116A9A
    bool has_system_type;         // system_type= present
    char system_type[LINUX_LPAR_STR_MAX]; // e.g. IBM,8247-22L
    bool has_partition_name;      // partition_name= present and fits
    char partition_name[LINUX_LPAR_STR_MAX]; // may contain spaces
    bool has_partition_id;
    uint64_t partition_id;
    bool has_entitled;            // partition_entitled_capacity= present
    uint64_t entitled_hundredths; // 40 = 0.40 processors
    bool has_pool;
    uint64_t pool;                // shared pool id
    bool has_capped;
    uint64_t capped;              // 1 capped, 0 uncapped
    bool has_shared_mode;
    uint64_t shared_mode;         // shared_processor_mode: 1 shared, 0 dedicated
    bool has_active_procs;
    uint64_t active_procs;        // partition_active_processors (virtual processors)
    bool has_purr;
    uint64_t purr;                // PURR ticks summed over all threads
    bool has_tbr;
    uint64_t tbr;                 // time base register at the same moment
} linux_lparcfg_t;

//  /proc/powerpc/lparcfg: "lparcfg 1.9" then key=value lines; blank lines
//  and values ending in " bytes" are accepted. 0 when at least one known
//  key was found.
int linux_parse_lparcfg(const char *text, linux_lparcfg_t *out);

typedef struct {
    bool has_timebase;            // a "timebase : N" line was found (powerpc)
    uint64_t timebase_hz;         // time base frequency
    uint32_t processors;          // "processor : N" lines (logical CPUs)
} linux_cpuinfo_t;

//  /proc/cpuinfo. 0 when at least one processor line was found.
int linux_parse_cpuinfo(const char *text, linux_cpuinfo_t *out);

//  ---------------------------------------------------------------- readings

typedef struct {
    double time_s;                // CLOCK_MONOTONIC when read (tests may set it)
    uint64_t timebase_hz;         // from cpuinfo at linux_metrics_new, 0 = unknown
    linux_stat_t stat;            // /proc/stat cpu line
    linux_meminfo_t mem;          // /proc/meminfo
    linux_vmstat_t vm;            // /proc/vmstat paging counters
    linux_loadavg_t load;         // /proc/loadavg
    bool has_lparcfg;             // lparcfg was read and parsed
    linux_lparcfg_t lpar;         // valid when has_lparcfg
    bool has_disks;               // diskstats was read
    linux_disk_t *disks;          // owned, disk_count used of disk_cap
    size_t disk_count, disk_cap;
    bool has_nets;                // net/dev was read
    linux_net_t *nets;            // owned, net_count used of net_cap
    size_t net_count, net_cap;
} linux_reading_t;

//  Free the arrays of a reading and zero it.
void linux_reading_clear(linux_reading_t *reading);

//  The sample between two readings (prev may be the same reading, or one
//  with everything unknown: then only instantaneous figures are given).
//  out is cleared first (pass a zeroed struct or a previous sample).
//  0, or -1 on allocation failure (out then cleared).
int linux_metrics_compute(const linux_reading_t *prev, const linux_reading_t *cur,
                          metrics_t *out);

//  ---------------------------------------------------------------- sampler

typedef struct _linux_metrics_t linux_metrics_t;

//  A sampler of the files under proc_root (copied; "/proc" in production).
//  Reads /proc/cpuinfo once for the timebase. NULL on allocation failure;
//  missing files are not an error (their figures stay unknown).
linux_metrics_t *linux_metrics_new(const char *proc_root);
void linux_metrics_destroy(linux_metrics_t **self_p);

//  Take a reading into *reading (its arrays are reused and grown; clear it
//  with linux_reading_clear). 0, or -1 on allocation failure.
int linux_metrics_read(linux_metrics_t *self, linux_reading_t *reading);

//  Read and compute against the previous call's reading. The first call
//  primes: interval_s 0, only memory, load and processes. out as in
//  linux_metrics_compute. 0 / -1 on allocation failure.
int linux_metrics_sample(linux_metrics_t *self, metrics_t *out);

#endif
