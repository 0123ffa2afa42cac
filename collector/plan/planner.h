/*  planner — runs LPM plans: one persisted state machine per move, driven by
    zloop timers on the ingest loop, HMC calls through one hmc_worker per HMC
    (DESIGN §5).

    Move states (moves.state):
      pending     waiting for its plan to run
      checking    readiness of the current hop (waits while a concurrency cap
                  of the plan, or the system's own limit, is reached)
      validating  MigrateValidate job of the current hop
      migrating   Migrate job of the current hop (moves.submissions counts them)
      verifying   HMC, agent and outage checks of the current hop
      recovering  MigrateAbort (job time-out) and / or MigrateRecover running
      blocked     final: a readiness blocker (message says which)
      failed      final: a job failed, timed out, or a check failed (message)
      verified    final: every hop moved and verified
      validated   final (validate_only plans): every hop validated, nothing moved
      aborted     final: the plan was aborted before this move (or its next hop) started

    Plan states (plans.state): ready -> running <-> paused; aborted; and when
    every move is final: done (every move verified / validated or aborted),
    failed (every move blocked or failed), done_with_failures (some).

    HMC connection: each HMC of the configuration is tried at start (an
    inventory) and looked at again every 5 minutes when no plan needs it.
    While it does not answer (hmc_link.h) requests back off from 100 ms to
    30 s, one at a time; the change is logged once, and every move waiting
    on it says "HMC hmc1 unreachable since 10:42:07: ..." in its message.

    Persistence: every transition is committed to SQLite before the action it
    leads to (the Migrate submission counter before the Migrate). The store
    has its own writer thread (store_writer.h): a round of replies and tick
    records its transitions and hands them over in one transaction; the HMC
    requests they lead to are sent when the writer says it is committed, and
    the next round waits for that. Reads (a partition's agent and facts, the
    plans at start) wait for the writer.
    Restart: planner_new() loads plans that are running, paused or aborted with
    moves not final. A job id found in the row is polled again; a Migrate
    without a job id but with submissions > 0 is resolved from a fresh HMC
    inventory (all partitions, GET .../LogicalPartition): still migrating ->
    wait; on the hop's target -> verifying; on the source and Not_Migrating ->
    submitted again. A Migrate is never sent twice for a hop otherwise.

    Pause: no new step starts (no readiness check, no new job); jobs in flight
    are polled to their end and verified. Abort: pending and checking moves end
    aborted; hops already validating / migrating are let finish (a MigrateAbort
    late in the copy does nothing on a real HMC and an aborted copy just wastes
    it), then the move ends verified when that was its last hop, else aborted. */
#ifndef FERRY_PLANNER_H
#define FERRY_PLANNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hmc_client.h"
#include "ingest.h"
#include "move_window.h"
#include "store_writer.h"

typedef struct {
    const char *name;           // [hmc NAME] of the collector config, named by plans
    hmc_options_t options;      // session options (strings borrowed for planner_new only)
    int sessions;               // sessions (one worker thread each): 1 for inventories, the
                                // rest for the moves' requests; 4, at most 16
} planner_hmc_t;

//  Zero-initialise, then fill; 0 means the default shown.
typedef struct {
    const planner_hmc_t *hmcs;  // HMCs (borrowed for planner_new only)
    size_t hmc_count;
    int tick_ms;                // state machine period; 100
    uint32_t fast_heartbeat_ms; // agent heartbeat during a move window; 50
    uint32_t window_ms;         // move window length asked of the agent; 600000
    int64_t verify_timeout_ms;  // wait for the agent-side checks; 30000
    int64_t job_timeout_ms;     // per hop Migrate job; 4 h
    int64_t inventory_ms;       // HMC inventory refresh while moves run; 5000
    int64_t poll_ms;            // longest wait between two polls of a running job; 1000
    int64_t starts_per_s;       // hops started per second at most, over all plans; 20
    int64_t agent_stale_ms;     // an agent silent longer is not reporting (a readiness
                                // blocker); 0 = 3 of its heartbeats, at most 30 s
} planner_options_t;

typedef struct _planner_t planner_t;

//  Start one worker per HMC and the timers on ingest_loop(ingest), load the
//  plans left running; the agents' move windows are opened, read and closed
//  in windows, whose listener the planner is. ingest, windows and writer
//  borrowed for the life of the planner. NULL with a message in err on failure.
planner_t *planner_new(ingest_t *ingest, move_window_t *windows, store_writer_t *writer,
                       const planner_options_t *opts, char *err, size_t errlen);

//  Stop the workers (blocks for the request in flight), free; NULLs *self_p.
void planner_destroy(planner_t **self_p);

//  Parse, check and store a plan (state "ready", moves "pending"). Names are
//  checked against the named HMC's latest inventory (plan_inventory_t); with
//  none yet the plan is stored with a message saying so. The plan id, or -1
//  with every problem in err (parse problems, unknown names, unknown HMC,
//  name taken).
int64_t planner_submit(planner_t *self, const char *json, char *err, size_t errlen);

//  ready | paused -> running. 0 / -1 with a message.
int planner_start(planner_t *self, int64_t plan_id, char *err, size_t errlen);

//  running -> paused. 0 / -1 with a message.
int planner_pause(planner_t *self, int64_t plan_id, char *err, size_t errlen);

//  ready | running | paused -> aborted (see above). 0 / -1 with a message.
int planner_abort(planner_t *self, int64_t plan_id, char *err, size_t errlen);

//  {id, name, hmc, state, created_ms, started_ms, finished_ms, message, plan,
//   moves: [{id, position, partition, route, hop, state, job_id, job_op,
//   submissions, source, started_ms, finished_ms, outage_ms, checks, message}]}
//  New reference, NULL when no such plan.
json_t *planner_plan_json(planner_t *self, int64_t plan_id);

//  The configured HMCs as the planner sees them: [{name, url, state (unknown
//  | up | unreachable | refused), since_ms, last_ok_ms, last_error_ms,
//  last_error, retry_in_ms, inventory_ms, systems, partitions}]. Times are
//  wall clock ms, 0 = never. New reference, NULL when out of memory.
json_t *planner_hmcs_json(planner_t *self);

#endif
