/*  store_plan — the planner's tables (plans, moves, audit; schema version 2,
    see store.c) behind named functions: the planner speaks no SQL.

    One store_plan_t per store_t, on the store's thread. Every statement is
    prepared once, at store_plan_new: the planner saves a move at each of its
    transitions, many per tick with a hundred moves running, and re-preparing
    them was most of the cost of a save. store_plan_destroy finalizes them
    and must come before store_destroy (SQLite does not close a connection
    with statements still open).

    Writes run in the caller's transaction (store_begin / store_commit) and
    are refused (-1) outside one: the planner decides what is committed
    together and when (every transition before the action it leads to).
    Reads need no transaction. Every -1 leaves a readable reason in
    store_plan_error. */
#ifndef FERRY_STORE_PLAN_H
#define FERRY_STORE_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "store.h"

//  Text columns of a moves row, with the NUL; longer stored values are cut.
#define STORE_MOVE_STATE_SIZE 16
#define STORE_MOVE_JOB_ID_SIZE 32       // an HMC job id (hmc_xml.h HMC_JOB_ID_SIZE)
#define STORE_MOVE_JOB_OP_SIZE 24
#define STORE_MOVE_KEY_SIZE 48          // a Z85 CURVE key is 40
#define STORE_MOVE_SOURCE_SIZE 128      // a system name (hmc_xml.h HMC_NAME_SIZE)
#define STORE_MOVE_BOOT_ID_SIZE 128
#define STORE_MOVE_MESSAGE_SIZE 1024
#define STORE_PLAN_STATE_SIZE 24

typedef struct _store_plan_t store_plan_t;

//  A moves row: what is persisted of one move's state machine. The planner
//  writes all of it at each transition (store_plan_move_save). Text "" is
//  stored as NULL in the columns that take NULL (job_id, job_op, agent_key,
//  source, window_boot_id) and NULL reads back as "".
typedef struct {
    int64_t id;                                     // moves.id
    int position;                                   // index in the plan's moves
    char state[STORE_MOVE_STATE_SIZE];              // pending, checking, ... (planner.h)
    int hop;                                        // index of the current hop in the route
    char job_id[STORE_MOVE_JOB_ID_SIZE];            // HMC job of the current step, "" none
    char job_op[STORE_MOVE_JOB_OP_SIZE];            // MigrateValidate, Migrate, ..., "" none
    int submissions;                                // Migrate submissions of the current hop
    char agent_key[STORE_MOVE_KEY_SIZE];            // the partition's agent, "" not known yet
    char source[STORE_MOVE_SOURCE_SIZE];            // system the current hop started from
    int64_t started_ms;                             // wall clock, 0 = not started
    int64_t finished_ms;                            // wall clock, 0 = not final
    int64_t outage_ms;                              // largest measured, -1 = never measured (NULL)
    int64_t window_ms;                              // wall clock the hop's window opened, 0 none
    char window_boot_id[STORE_MOVE_BOOT_ID_SIZE];   // the agent's boot id then, "" none
    json_t *checks;                                 // an array (one array of checks per hop):
                                                    // borrowed by a save, NULL = [];
                                                    // owned by the caller after a load
    char message[STORE_MOVE_MESSAGE_SIZE];          // what an admin reads about the move
} store_move_t;

//  A plans row as the planner loads it.
typedef struct {
    int64_t id;                                     // plans.id
    char state[STORE_PLAN_STATE_SIZE];              // ready, running, paused, aborted, done, ...
    char hmc[PLAN_NAME_MAX];                        // the HMC it names
    plan_t *plan;                                   // the stored document parsed (owned by
                                                    // the caller: plan_destroy)
} store_plan_row_t;

//  Prepare the statements on store's connection. store borrowed: it must
//  outlive the result. NULL with a message in err on failure.
store_plan_t *store_plan_new(store_t *store, char *err, size_t errlen);

//  Finalize the statements, free; NULLs *self_p; safe on NULL. Before store_destroy.
void store_plan_destroy(store_plan_t **self_p);

//  Why the latest call failed (borrowed, valid until the next call).
const char *store_plan_error(store_plan_t *self);

//  Insert plan (borrowed) as state "ready", created now_ms, with message
//  (borrowed, "" none: what submit could not check), its normalised document
//  (plan_to_json, compact) and one "pending" move per plan->moves entry, in
//  order. *plan_id_p gets the plan's id and move_ids (the caller's array of
//  plan->move_count, may be NULL) the moves' ids by position. 0 stored; 1 a
//  plan of that name exists (nothing written; the transaction goes on);
//  -1 the database failed.
int store_plan_insert(store_plan_t *self, const plan_t *plan, const char *message,
                      int64_t now_ms, int64_t *plan_id_p, int64_t *move_ids);

//  Change plan_id's state: "running" also sets started_ms to now_ms the
//  first time; the final states (done, done_with_failures, failed, aborted)
//  set finished_ms; others change the state alone. state borrowed. 0 / -1.
int store_plan_set_state(store_plan_t *self, int64_t plan_id, const char *state, int64_t now_ms);

//  Write every column of the move row->id (row borrowed), updated now_ms: a
//  transition or any change of what is persisted. 0 / -1.
int store_plan_move_save(store_plan_t *self, const store_move_t *row, int64_t now_ms);

//  One audit row: who (actor) did action to target, with outcome and detail
//  (NULL = ""). Strings borrowed. 0 / -1.
int store_plan_audit(store_plan_t *self, int64_t time_ms, const char *actor, const char *action,
                     const char *target, const char *outcome, const char *detail);

//  The plans to hold in memory at start (or after a failed commit): running,
//  paused or aborted with a move not final, and the ready ones. *ids_p is
//  malloc'd (caller frees, NULL when none), *count_p its length. 0 / -1.
int store_plan_resume_ids(store_plan_t *self, int64_t **ids_p, size_t *count_p);

//  Plan plan_id into *row (the caller's): state, HMC, and the document
//  parsed again (plan_parse, without inventory). 0 found; 1 no such plan;
//  -1 the database failed or the stored document does not parse (why in
//  store_plan_error).
int store_plan_get(store_plan_t *self, int64_t plan_id, store_plan_row_t *row);

//  What store_plan_moves_load hands each row to: row is the loader's,
//  valid for the call; the callee may take row->checks (setting it NULL),
//  else it is freed after the call. arg as given to the loader.
typedef void(store_plan_move_fn)(void *arg, store_move_t *row);

//  The moves of plan_id by position, one call of fn per row (one row in
//  memory at a time: a plan may have thousands). Each row's checks is an
//  array (a stored text that is not one reads as []). 0 / -1.
int store_plan_moves_load(store_plan_t *self, int64_t plan_id, store_plan_move_fn *fn, void *arg);

//  The plan as the API shows it: {id, name, hmc, state, created_ms,
//  started_ms, finished_ms, message, plan, moves: [{id, position, partition,
//  route, hop, state, job_id, job_op, submissions, source, started_ms,
//  finished_ms, outage_ms (null: never measured), checks, message}]}. New
//  reference; NULL when there is no such plan or the database failed.
json_t *store_plan_json(store_plan_t *self, int64_t plan_id);

//  ------------------------------------------------ writes for the writer
//  The planner runs on its own loop, the store on the writer's thread
//  (store_writer.h): it records a round's writes here, on its thread, and
//  hands them over as one store_writer_fn; the writer commits them in one
//  transaction. Everything recorded is copied: the planner goes on changing
//  its moves while the writer commits.
typedef struct _store_plan_writes_t store_plan_writes_t;

//  Empty writes, committed through sp (borrowed: it must outlive them).
//  NULL when out of memory.
store_plan_writes_t *store_plan_writes_new(store_plan_t *sp);

//  Free; NULLs *self_p; safe on NULL and twice.
void store_plan_writes_destroy(store_plan_writes_t **self_p);

//  Forget what was recorded (after its commit, or to drop it).
void store_plan_writes_clear(store_plan_writes_t *self);

//  True when nothing is recorded.
bool store_plan_writes_empty(const store_plan_writes_t *self);

//  Record a store_plan_move_save of row (copied, checks too). 0 / -1 out of memory.
int store_plan_writes_move(store_plan_writes_t *self, const store_move_t *row, int64_t now_ms);

//  Record a store_plan_set_state. state copied. 0 / -1 out of memory.
int store_plan_writes_plan_state(store_plan_writes_t *self, int64_t plan_id, const char *state,
                                 int64_t now_ms);

//  Record a store_plan_audit. Strings copied (NULL = ""). 0 / -1 out of memory.
int store_plan_writes_audit(store_plan_writes_t *self, int64_t time_ms, const char *actor,
                            const char *action, const char *target, const char *outcome,
                            const char *detail);

//  store_writer_fn (arg: the store_plan_writes_t): begin, every write in
//  the order recorded, commit; on failure roll back, -1 with the reason in
//  err. On the writer's thread; the writes stay recorded (clear them).
int store_plan_writes_commit(store_t *store, void *arg, char *err, size_t errlen);

#endif
