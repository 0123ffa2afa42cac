/*  perfstat_fake — test double behind the libperfstat shim. Tests set the
    values the perfstat_*() functions return by writing perfstat_fake, and
    make a call fail by setting its *_errno. Single-threaded tests only. */
#ifndef FERRY_PERFSTAT_FAKE_H
#define FERRY_PERFSTAT_FAKE_H

#include <libperfstat.h>

#define PERFSTAT_FAKE_MAX 16          // disks / interfaces the fake can hold

typedef struct {
    perfstat_cpu_total_t cpu;                   // returned by perfstat_cpu_total
    perfstat_partition_total_t partition;       // returned by perfstat_partition_total
    perfstat_memory_total_t memory;             // returned by perfstat_memory_total
    perfstat_disk_t disks[PERFSTAT_FAKE_MAX];   // enumerated by perfstat_disk
    int disk_count;
    perfstat_netinterface_t nets[PERFSTAT_FAKE_MAX];  // enumerated by perfstat_netinterface
    int net_count;
    int cpu_errno;                // non-zero: perfstat_cpu_total fails with this errno
    int partition_errno;          // same for perfstat_partition_total
    int memory_errno;             // same for perfstat_memory_total
    int disk_errno;               // same for perfstat_disk (the count and the read)
    int net_errno;                // same for perfstat_netinterface
    int calls;                    // perfstat_*() calls seen
} perfstat_fake_t;

extern perfstat_fake_t perfstat_fake;

//  Zero everything (no disks, no interfaces, no failures).
void perfstat_fake_reset(void);

#endif
