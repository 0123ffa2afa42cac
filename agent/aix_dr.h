/*  aix_dr — Live Partition Mobility phases on AIX, from SIGRECONFIG and
    dr_reconfig() (AIX only; compiled on Linux only in the test target,
    against the shim in tests/shim where SIGRECONFIG is SIGUSR2).

    AIX signals SIGRECONFIG for every dynamic reconfiguration event (CPU,
    memory, entitlement changes, migration) and waits, for each phase, until
    the process acknowledges it or a timeout passes. The signal handler only
    sets a flag (async-signal-safe); the event loop calls aix_dr_poll(), which
    queries the event, acknowledges it and reports migration phases.

    Note for the event loop: a signal interrupts poll(); zmq_poll then fails
    with EINTR and czmq's zloop_start() returns. Restart the loop while the
    agent is not shutting down, then call aix_dr_poll(). */
#ifndef FERRY_AIX_DR_H
#define FERRY_AIX_DR_H

#include <stdbool.h>

typedef enum {
    AIX_DR_NONE = 0,              // nothing pending, or an event that is not a migration
    AIX_DR_CHECK,                 // a move is being validated (we never veto)
    AIX_DR_PRE,                   // the move is about to happen
    AIX_DR_POST,                  // the move completed: re-read identity now
    AIX_DR_POSTERROR,             // the move failed or was cancelled
} aix_dr_phase_t;

typedef struct _aix_dr_t aix_dr_t;

//  Install the SIGRECONFIG handler (one instance per process: the handler
//  and its flag are process-wide). NULL with a logged error when the handler
//  cannot be installed or memory is short.
aix_dr_t *aix_dr_new(void);

//  Restore the previous SIGRECONFIG disposition and free. Accepts NULL.
void aix_dr_destroy(aix_dr_t **self_p);

//  True when SIGRECONFIG arrived since the last aix_dr_poll().
bool aix_dr_pending(const aix_dr_t *self);

//  When a signal arrived: query the pending event (retrying on EINTR),
//  acknowledge it with DR_RECONFIG_DONE, and set *phase to its migration
//  phase (AIX_DR_NONE for no event, ENXIO, or a non-migration event, which
//  is acknowledged all the same). Without a signal it returns at once with
//  AIX_DR_NONE. 0, or -1 with a logged error when the query fails (*phase
//  is then AIX_DR_NONE). A failed acknowledgement is logged; the phase is
//  still reported.
int aix_dr_poll(aix_dr_t *self, aix_dr_phase_t *phase);

//  "check", "pre", "post", "posterror" (the lpm_phase event names), or NULL
//  for AIX_DR_NONE.
const char *aix_dr_phase_name(aix_dr_phase_t phase);

#endif
