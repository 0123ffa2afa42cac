/*  hmc_dispatch — the planner's side of its HMCs: one worker thread (HMC
    session) per slot, the requests waiting for an idle session in three
    priority queues, the link state with its backoff (hmc_link.h), the
    inventory requests and the latest inventory held. Replies are read from
    the workers' pipes and stashed in planner->replies for the next round;
    what a reply means for a move is lpm_move's business. Runs on the ingest
    loop's thread, like the rest of the planner. */
#ifndef FERRY_HMC_DISPATCH_H
#define FERRY_HMC_DISPATCH_H

#include "planner_private.h"

//  Start config's sessions (workers) and watch their pipes on planner->loop.
//  config borrowed for the call, planner for the life of the result. NULL
//  with a message in err on failure.
planner_hmc_state_t *hmc_dispatch_new(planner_t *planner, const planner_hmc_t *config, char *err,
                                      size_t errlen);

//  Stop the workers (blocks for the request in flight), drop what waits,
//  free; NULLs *h_p. Safe on NULL.
void hmc_dispatch_destroy(planner_hmc_state_t **h_p);

//  The system of that name / UUID in h's latest inventory, NULL when none.
//  Borrowed from h until its next inventory.
const hmc_system_t *hmc_dispatch_system_by_name(const planner_hmc_state_t *h, const char *name);
const hmc_system_t *hmc_dispatch_system_by_uuid(const planner_hmc_state_t *h, const char *uuid);

//  The partition of that name in h's latest inventory, NULL when none.
//  Borrowed from h until its next inventory.
const hmc_partition_t *hmc_dispatch_partition(const planner_hmc_state_t *h, const char *name);

//  Give waiting requests to h's idle workers, by priority; while the HMC
//  fails, one at a time after the backoff.
void hmc_dispatch_run(planner_hmc_state_t *h);

//  Queue *req_p (taken, *req_p NULLed on success) for h at prio; while a
//  round is open it is held back until the round's commit. An inventory goes
//  straight to its own worker. 0 / -1 (*req_p still the caller's).
int hmc_dispatch_send(planner_hmc_state_t *h, hmc_request_t **req_p, planner_prio_t prio);

//  A queued request of move id of that kind goes to the front (its move is
//  ending). Nothing when none waits.
void hmc_dispatch_promote(planner_hmc_state_t *h, uint64_t id, hmc_request_kind_t kind);

//  Send req (taken, may be NULL: then -1) for m (borrowed) at prio; m is busy
//  until its reply. -1 logged: the move's next step tries again.
int hmc_dispatch_move_send(planner_move_t *m, hmc_request_t *req, planner_prio_t prio);

//  Submit job op for m's partition (its current hop's target and the plan's
//  MSP / pool parameters for a validate or migrate). m borrowed. 0 / -1 (the
//  partition is not in the inventory, or nothing was queued).
int hmc_dispatch_submit(planner_move_t *m, hmc_job_op_t op);

//  Delete m's finished job m->job_id on the HMC, at the lowest priority; a
//  failure is ignored. m borrowed.
void hmc_dispatch_delete_job(planner_move_t *m);

//  zlistx destructor of planner->deferred: frees a planner_deferred_t and
//  its request; NULLs *item.
void hmc_dispatch_deferred_free(void **item);

//  True when req (borrowed) failed because the HMC is down (no answer, logon
//  refused) rather than because of the request: logged once per change of
//  link state, not per move.
bool hmc_dispatch_link_failure(const hmc_request_t *req);

//  An inventory reply (req borrowed; its systems and partitions taken on
//  success) becomes its HMC's latest inventory; a refusal delays the next
//  one. A reply nobody waits for any more is dropped.
void hmc_dispatch_on_inventory(planner_t *self, hmc_request_t *req);

//  Whether an inventory of h is wanted now (now: monotonic ms): a move
//  needs one, the HMC was never looked at, or the last one is old; not while
//  one is out, nor while the HMC fails and backs off.
bool hmc_dispatch_inventory_due(planner_t *self, planner_hmc_state_t *h, int64_t now);

//  At each tick: every HMC's held requests are given out, and an inventory
//  is asked of those where one is due.
void hmc_dispatch_tick(planner_t *self, int64_t now);

#endif
