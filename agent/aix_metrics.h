/*  aix_metrics — nmon-style figures from libperfstat (AIX only).

    A reading holds the raw perfstat counters of one moment; a sample is the
    difference between two readings turned into percentages and rates
    (metrics_t). Compiled on AIX against <libperfstat.h>, and on Linux only
    in the test target against the shim in tests/shim.

    - CPU %: deltas of perfstat_cpu_total's user/sys/wait/idle ticks.
    - physc: Δ(puser+psys+pidle+pwait) / Δtimebase_last (PURR ticks at the
      timebase rate); entc_pct = physc / (entitled_proc_capacity / 100) × 100.
    - memory: 4 KB pages to MB; pgins/pgouts per second.
    - disks: rblks/wblks × bsize (512 when unknown) in KB/s, xfers/s, busy %
      from the busy time in clock ticks (100 per second on AIX).
    - net: ibytes/obytes in KB/s, packets/s, errors during the interval.
    - load: perfstat_cpu_total's loadavg (fixed point, SBITS fraction bits).
    A counter that went backwards (reset, or moved by LPM) leaves its figure
    out of that sample instead of inventing one. */
#ifndef FERRY_AIX_METRICS_H
#define FERRY_AIX_METRICS_H

#include <libperfstat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

//  Raw counters of one moment.
typedef struct {
    double time_s;                            // monotonic seconds when it was taken
    bool has_cpu;                             // perfstat_cpu_total succeeded
    perfstat_cpu_total_t cpu;
    bool has_partition;                       // perfstat_partition_total succeeded
    perfstat_partition_total_t partition;
    bool has_memory;                          // perfstat_memory_total succeeded
    perfstat_memory_total_t memory;
    perfstat_disk_t *disks;                   // owned, disk_count used of disk_cap
    size_t disk_count, disk_cap;
    perfstat_netinterface_t *nets;            // owned, net_count used of net_cap
    size_t net_count, net_cap;
} aix_reading_t;

//  Free the arrays of a reading and zero it.
void aix_reading_clear(aix_reading_t *reading);

//  The sample between two readings (prev == cur: only the instantaneous
//  figures, memory and load). out is cleared first (pass a zeroed struct or
//  a previous sample; release it with metrics_clear). 0, or -1 on allocation
//  failure (out then cleared).
int aix_metrics_compute(const aix_reading_t *prev, const aix_reading_t *cur, metrics_t *out);

typedef struct _aix_metrics_t aix_metrics_t;

//  A sampler. NULL on allocation failure. perfstat is not called yet.
aix_metrics_t *aix_metrics_new(void);
void aix_metrics_destroy(aix_metrics_t **self_p);

//  Take a reading into *reading (its arrays are reused and grown). A
//  perfstat call that fails leaves its part unknown (logged, rate-limited).
//  0, or -1 on allocation failure.
int aix_metrics_read(aix_metrics_t *self, aix_reading_t *reading);

//  Read and compute against the previous call's reading. The first call
//  primes: interval_s 0, only memory and load. out as in aix_metrics_compute.
//  0 / -1 on allocation failure.
int aix_metrics_sample(aix_metrics_t *self, metrics_t *out);

//  Boot time in seconds since the epoch, from perfstat's lbolt (ticks since
//  boot). It jitters by a second from call to call: compare with a tolerance.
//  0 / -1 when perfstat fails.
int aix_boot_time(int64_t *boot_s);

#endif
