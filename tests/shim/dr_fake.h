/*  dr_fake — test double behind the sys/dr.h shim. Tests queue the answers
    dr_reconfig(DR_QUERY) gives, in order (ENXIO once the queue is empty),
    and read back what was acknowledged. Single-threaded tests only. */
#ifndef FERRY_DR_FAKE_H
#define FERRY_DR_FAKE_H

#include <sys/dr.h>

#define DR_FAKE_QUEUE_MAX 16

//  One answer to DR_QUERY.
typedef struct {
    int err;                      // 0: return 0 with info; else return -1 with this errno
    dr_info_t info;               // the pending event when err is 0
} dr_fake_answer_t;

typedef struct {
    dr_fake_answer_t answers[DR_FAKE_QUEUE_MAX];  // queued DR_QUERY answers
    int answer_count;             // answers queued
    int answer_next;              // next answer to give
    int query_err_always;         // non-zero: every DR_QUERY fails with this errno
    int done_err;                 // non-zero: DR_RECONFIG_DONE fails with this errno
    int queries;                  // DR_QUERY calls seen
    int dones;                    // DR_RECONFIG_DONE calls seen (failed ones included)
    dr_info_t last_done;          // info passed to the last DR_RECONFIG_DONE
    int bad_calls;                // calls with other flags or a NULL info
} dr_fake_t;

extern dr_fake_t dr_fake;

//  Empty the queue and zero the counters.
void dr_fake_reset(void);

//  Queue an answer: err 0 with info (copied), or a failure with errno err.
void dr_fake_queue(int err, const dr_info_t *info);

#endif
