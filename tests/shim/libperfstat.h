/*  libperfstat.h (test shim) — the part of AIX's <libperfstat.h> that
    agent/aix_metrics.c uses, so it compiles and is unit-tested on Linux.

    Names, types and function signatures are those of AIX 7.2; only the
    fields ferry reads are declared (the real structures have many more, so
    code must never rely on sizeof or on field order). On AIX the real header
    from bos.perf.libperfstat is used instead of this one. The functions are
    implemented by the test double perfstat_fake.c. */
#ifndef FERRY_SHIM_LIBPERFSTAT_H
#define FERRY_SHIM_LIBPERFSTAT_H

typedef unsigned long long u_longlong_t;

#define IDENTIFIER_LENGTH 64

//  Names of the first component, to start an enumeration.
#define FIRST_DISK ""
#define FIRST_NETINTERFACE ""

//  Load averages in perfstat_cpu_total_t are fixed point with SBITS fraction bits.
#define SBITS 16

//  Which component to start from (name) when enumerating.
typedef struct {
    char name[IDENTIFIER_LENGTH];
} perfstat_id_t;

//  System-wide CPU usage, in clock ticks since boot.
typedef struct {
    u_longlong_t user;                // ticks in user mode
    u_longlong_t sys;                 // ticks in system mode
    u_longlong_t idle;                // ticks idle, no I/O pending
    u_longlong_t wait;                // ticks idle with I/O pending
    u_longlong_t loadavg[3];          // 1, 5, 15 minute load averages, << SBITS
    u_longlong_t lbolt;               // clock ticks since the last boot
} perfstat_cpu_total_t;

//  Partition configuration and physical (PURR-based) processor usage.
typedef struct {
    int entitled_proc_capacity;       // entitlement in 1/100 of a processor
    u_longlong_t puser;               // physical (PURR) ticks in user mode
    u_longlong_t psys;                // physical ticks in system mode
    u_longlong_t pidle;               // physical ticks idle
    u_longlong_t pwait;               // physical ticks waiting for I/O
    u_longlong_t timebase_last;       // timebase counter at the time of the reading
} perfstat_partition_total_t;

//  Memory, in 4 KB pages.
typedef struct {
    u_longlong_t real_total;          // real memory
    u_longlong_t real_free;           // free real memory
    u_longlong_t pgins;               // pages paged in since boot
    u_longlong_t pgouts;              // pages paged out since boot
    u_longlong_t pgsp_total;          // paging space
    u_longlong_t pgsp_free;           // free paging space
} perfstat_memory_total_t;

//  One disk.
typedef struct {
    char name[IDENTIFIER_LENGTH];     // hdisk0
    u_longlong_t bsize;               // bytes per block (rblks, wblks)
    u_longlong_t xfers;               // transfers since boot
    u_longlong_t rblks;               // blocks read
    u_longlong_t wblks;               // blocks written
    u_longlong_t time;                // clock ticks the disk was busy
} perfstat_disk_t;

//  One network interface.
typedef struct {
    char name[IDENTIFIER_LENGTH];     // en0
    u_longlong_t ipackets;            // packets received
    u_longlong_t ibytes;              // bytes received
    u_longlong_t ierrors;             // input errors
    u_longlong_t opackets;            // packets sent
    u_longlong_t obytes;              // bytes sent
    u_longlong_t oerrors;             // output errors
} perfstat_netinterface_t;

//  Each fills up to desired_number structures starting at name (NULL for the
//  *_total functions) and returns how many it filled, or -1 with errno.
//  With name and userbuff NULL and desired_number 0, the enumerating
//  functions return how many components exist.
int perfstat_cpu_total(perfstat_id_t *name, perfstat_cpu_total_t *userbuff, int sizeof_userbuff,
                       int desired_number);
int perfstat_partition_total(perfstat_id_t *name, perfstat_partition_total_t *userbuff,
                             int sizeof_userbuff, int desired_number);
int perfstat_memory_total(perfstat_id_t *name, perfstat_memory_total_t *userbuff,
                          int sizeof_userbuff, int desired_number);
int perfstat_disk(perfstat_id_t *name, perfstat_disk_t *userbuff, int sizeof_userbuff,
                  int desired_number);
int perfstat_netinterface(perfstat_id_t *name, perfstat_netinterface_t *userbuff,
                          int sizeof_userbuff, int desired_number);

#endif
