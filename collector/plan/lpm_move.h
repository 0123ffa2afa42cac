/*  lpm_move — the state machine of one LPM move (planner.h lists its states):
    for each hop, the readiness check (waiting while a concurrency cap is
    reached), MigrateValidate, Migrate with the agent's move window open,
    verification (HMC placement, agent serial, boot id, LPM events, outage),
    the resolution of a Migrate left without a job id (restart, lost
    submission), MigrateAbort on time-out and MigrateRecover on failure.
    Every transition is persisted (planner_move_set) before the request it
    leads to is sent (hmc_dispatch). os_move.c, the nimadm state machine,
    will sit beside it. */
#ifndef FERRY_LPM_MOVE_H
#define FERRY_LPM_MOVE_H

#include "planner_private.h"

//  Take m one step further if it can go (at each tick, when a reply or its
//  agent's report calls for it): nothing while an HMC request of it is out
//  or it is final. Updates the message of a move whose HMC is failing; may
//  count a started hop in self->caps. m borrowed.
void lpm_move_step(planner_t *self, planner_move_t *m);

//  The reply to a request of a move (submission, poll, partition lookup):
//  the move it names is no longer busy and goes on from what it says. A
//  move no longer held is ignored. req borrowed.
void lpm_move_on_reply(planner_t *self, hmc_request_t *req);

#endif
