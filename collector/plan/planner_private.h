/*  planner_private — what the planner's parts share, and nobody else may
    use: the planner itself, its plans, moves and HMCs, and the functions that
    cross its files. planner.c holds the public API, the timers and rounds,
    plan load / resume and the persistence of moves and plans; lpm_move.c the
    LPM move state machine; hmc_dispatch.c the HMC sessions, their queues and
    inventories; move_caps.c the concurrency caps. All of it runs on the
    ingest loop's thread. */
#ifndef FERRY_PLANNER_PRIVATE_H
#define FERRY_PLANNER_PRIVATE_H

#include "planner.h"

#include "hmc_link.h"
#include "hmc_worker.h"
#include "move_caps.h"
#include "plan.h"
#include "store.h"
#include "store_plan.h"
#include "store_writer.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLANNER_MAX_HMCS 64
#define PLANNER_MAX_SESSIONS 16

typedef struct _planner_hmc_state_t planner_hmc_state_t;

//  Which HMC requests go first when the sessions are all busy.
typedef enum {
    PLANNER_PRIO_ENDING,    // polls of moves whose agent reported the end, placement lookups
    PLANNER_PRIO_STEP,      // submissions, polls of validations and recoveries
    PLANNER_PRIO_ROUTINE,   // polls of running Migrate jobs, job deletions
    PLANNER_PRIO_COUNT
} planner_prio_t;

//  What a worker's pipe reader is given: whose replies these are.
typedef struct {
    planner_t *planner;
    planner_hmc_state_t *hmc;
    size_t index;                   // in hmc->workers
} planner_worker_ref_t;

//  One HMC of the configuration: its sessions, its waiting requests, its link
//  state and its latest inventory.
struct _planner_hmc_state_t {
    char name[PLAN_NAME_MAX];
    char url[256];                  // as configured, for ferryctl hmc
    planner_t *planner;             // owner
    hmc_link_t link;                // reachable or not, since when, backoff
    //  One worker (HMC session) per slot. With more than one, worker 0 takes
    //  the inventories and the others the moves' requests: a 1,000-partition
    //  inventory must not hold up the polls of running jobs.
    zactor_t *workers[PLANNER_MAX_SESSIONS];
    size_t worker_count;
    int in_flight[PLANNER_MAX_SESSIONS]; // requests sent to each worker, not yet answered (0 or 1)
    //  Requests wait here, not in the workers' pipes, so that an idle session
    //  takes the next one (no request waits behind a slow one while another
    //  session is free) and what ends a move overtakes what starts one.
    zlistx_t *queue[PLANNER_PRIO_COUNT]; // hmc_request_t *, by planner_prio_t
    planner_worker_ref_t refs[PLANNER_MAX_SESSIONS];
    hmc_system_t *systems;          // latest inventory (owned)
    size_t system_count;
    hmc_partition_t *partitions;
    size_t partition_count;
    zhashx_t *partition_index;      // name -> partition in partitions (borrowed)
    uint64_t inv_sent;              // generation of the latest inventory request sent
    uint64_t inv_gen;               // generation of the inventory held (0: none yet)
    bool inv_busy;                  // an inventory request is in flight
    int64_t inv_at_ms;              // monotonic time it was sent
    int64_t inv_wall_ms;            // wall clock the inventory held arrived, 0 = none
    int64_t inv_retry_mono_ms;      // after a refused inventory, none before this
    int64_t inv_log_mono_ms;        // rate limit of the refused-inventory log line
};

//  A plan held in memory.
typedef struct {
    int64_t id;
    plan_t *plan;                   // the parsed document (owned)
    char state[STORE_PLAN_STATE_SIZE]; // ready, running, paused, aborted, done, failed, done_with_failures
    planner_hmc_state_t *hmc;       // the HMC it names
} planner_plan_t;

//  A move held in memory: its moves row, and what only this process knows.
typedef struct {
    // ------------------------------------------------- persisted (store_move_t)
    int64_t id;
    int position;                   // in the plan's moves
    char state[STORE_MOVE_STATE_SIZE];
    int hop;                        // current hop, from 0
    char job_id[STORE_MOVE_JOB_ID_SIZE];
    char job_op[STORE_MOVE_JOB_OP_SIZE];
    int submissions;                // Migrate jobs submitted for the current hop
    char agent_key[STORE_MOVE_KEY_SIZE];
    char source[STORE_MOVE_SOURCE_SIZE];
    int64_t started_ms, finished_ms;
    int64_t outage_ms;              // largest measured over the hops, -1 = never measured (NULL)
    int64_t window_ms;              // wall clock the current hop's window opened, 0 = none
    char window_boot_id[STORE_MOVE_BOOT_ID_SIZE]; // the agent's boot id then
    json_t *checks;                 // array, one array of checks per hop
    char message[STORE_MOVE_MESSAGE_SIZE];
    // ------------------------------------------------- in memory only
    planner_plan_t *plan;
    const plan_move_t *move;        // in plan->plan->moves
    bool busy;                      // one HMC request in flight for this move
    int64_t job_started_mono;       // for the job time-out
    int64_t verify_deadline;        // monotonic
    uint64_t want_gen;              // an inventory at least this new is needed
    bool resolve;                   // migrating without a job id: ask the HMC
    bool window;                    // a move window is open
    hmc_partition_t part;           // the partition as last fetched alone, for verification
    bool part_fresh;                // part was fetched after the current check began
    bool placed;                    // this hop's HMC check passed: no more fetching
    int64_t next_poll_mono;         // the job is not polled again before this
    int64_t poll_interval_ms;       // grows from a tick to opts.poll_ms while the job runs
    uint64_t ready_gen;             // inventory the readiness rules last passed on, 0 none
    bool ready_limited;             // ... but the system's own LPM limit was reached
    bool hmc_note;                  // message says the HMC is failing (cleared when it answers)
    bool nudged;                    // its agent reported the move's end: stepped next round
} planner_move_t;

//  What the HMC hands out fits what the store keeps of a move.
_Static_assert(STORE_MOVE_JOB_ID_SIZE >= HMC_JOB_ID_SIZE, "an HMC job id fits a moves row");
_Static_assert(STORE_MOVE_SOURCE_SIZE >= HMC_NAME_SIZE, "a system name fits a moves row");

//  An HMC request held back until the transitions leading to it are committed.
typedef struct {
    planner_hmc_state_t *hmc;
    hmc_request_t *req;             // owned
    planner_prio_t prio;
} planner_deferred_t;

struct _planner_t {
    //  Active hops per system, per HMC and per VIOS pair, counted once per
    //  tick (counting them per move and tick was quadratic in the plan's size).
    move_caps_t *caps;              // active hops, for the caps (owned)
    bool caps_counted;              // caps hold this tick's count
    //  One transaction per round of replies and tick: every transition of the
    //  round is committed with one fsync, and the requests they lead to are
    //  sent after that commit (one commit per transition made every reply
    //  wait for a disk flush: with 80 moves running, seconds). The store
    //  writer commits it on its thread; the next round waits for that.
    bool group_open;                // a round is open: writes are recorded in round
    bool round_flying;              // a round's writes are at the store writer
    bool stopping;                  // planner_destroy runs: no new round
    store_plan_writes_t *round;     // the open (or flying) round's writes
    store_plan_writes_t *own;       // a write outside any round, committed at once
    int starts_left;                // hops that may still start in this tick (pacing)
    zlistx_t *deferred;             // planner_deferred_t *: requests of the open round
    move_window_t *windows;         // borrowed: what the agents report, their move windows
    store_client_t *client;         // our requests to the store writer
    store_plan_t *sp;               // plans, moves, audit: used on the writer's thread only
    char db_error[1024];            // why the latest write failed
    zloop_t *loop;
    planner_options_t opts;
    int64_t started_mono_ms;        // when this planner started: agents had not spoken before
    planner_hmc_state_t *hmcs[PLANNER_MAX_HMCS];
    size_t hmc_count;
    zlistx_t *plans;                // planner_plan_t *
    zlistx_t *moves;                // planner_move_t *
    zlistx_t *replies;              // hmc_request_t * waiting for the next round
    int tick_timer;
    int retry_timer;                // one-shot: a round is due (replies came, a move was nudged)
    bool tick_due;
    bool nudged;                    // a move is nudged (move_window_fn)
};

//  ---------------------------------------------------------------- planner.c

//  Whether state is one of list's n states.
bool planner_state_in(const char *state, const char *const *list, size_t n);

//  A move state no step leaves: blocked, failed, verified, validated, aborted.
bool planner_state_final(const char *state);

//  A move state whose hop holds resources (counted by the caps): validating,
//  migrating, verifying, recovering.
bool planner_state_active(const char *state);

//  The system m's current hop goes to (borrowed from m's plan).
const char *planner_move_target(const planner_move_t *m);

//  The move of that id, NULL when none is held. Borrowed.
planner_move_t *planner_move_find(planner_t *self, int64_t id);

//  A round (stashed replies, nudged moves) is run a few ms from now, with
//  whatever else comes meanwhile: one commit for all of it.
void planner_round_soon(planner_t *self);

//  Persist every column of m (borrowed). Must run with no batch open. 0 / -1
//  (logged, kept in self->db_error).
int planner_move_save(planner_t *self, planner_move_t *m);

//  Change m's state (and message when fmt is given), persist and log it. -1
//  leaves m as it was in memory too, so nothing acts on an unrecorded
//  transition. m borrowed.
int planner_move_set(planner_t *self, planner_move_t *m, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

//  Set m's message to text without a change of state (the HMC it waits on is
//  down): persisted when it differs, not logged. hmc_note: the text is about
//  the HMC. m and text borrowed.
void planner_move_note(planner_t *self, planner_move_t *m, const char *text, bool hmc_note);

//  The CURVE key of the agent whose current facts name partition (into key,
//  the caller's buffer of key_size bytes; "" none) and those facts as JSON
//  text (*facts_p malloc'd, caller frees; NULL none), read on the store
//  writer's thread while the planner waits. 0 / -1 the database failed.
int planner_agent_facts(planner_t *self, const char *partition, char *key, size_t key_size,
                        char **facts_p);

#endif
