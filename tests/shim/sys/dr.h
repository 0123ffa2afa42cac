/*  sys/dr.h (test shim) — the part of AIX's <sys/dr.h> that agent/aix_dr.c
    uses for dynamic reconfiguration and Live Partition Mobility events, so it
    compiles and is unit-tested on Linux. Names and the dr_reconfig()
    signature are AIX's; only the fields ferry reads are declared. On AIX the
    real header is used. dr_reconfig() is implemented by dr_fake.c. */
#ifndef FERRY_SHIM_SYS_DR_H
#define FERRY_SHIM_SYS_DR_H

#include <signal.h>

//  AIX sends SIGRECONFIG for DR and migration events. Linux has no such
//  signal; the shim maps it to SIGUSR2 so the handler code path is real.
#ifndef SIGRECONFIG
#define SIGRECONFIG SIGUSR2
#endif

//  dr_reconfig() flags.
#define DR_QUERY 1                    // describe the pending event (ENXIO: none)
#define DR_RECONFIG_DONE 4            // the application has handled the event

//  The pending event, as DR_QUERY reports it.
typedef struct dr_info {
    unsigned int add : 1;             // resource being added
    unsigned int rem : 1;             // resource being removed
    unsigned int cpu : 1;             // the resource is a processor
    unsigned int mem : 1;             // the resource is memory
    unsigned int check : 1;           // phase: check (the application may veto)
    unsigned int pre : 1;             // phase: before the operation
    unsigned int post : 1;            // phase: after a successful operation
    unsigned int posterror : 1;       // phase: after a failed operation
    unsigned int force : 1;           // the operation cannot be vetoed
    unsigned int ent_cap : 1;         // entitled capacity change
    unsigned int var_wgt : 1;         // variable weight change
    unsigned int migrate : 1;         // Live Partition Mobility
    unsigned int hibernate : 1;       // partition hibernation (suspend/resume)
} dr_info_t;

//  Query or acknowledge the pending event. 0, or -1 with errno (ENXIO: no
//  event pending; EINTR: interrupted, retry).
int dr_reconfig(int flags, dr_info_t *info);

#endif
