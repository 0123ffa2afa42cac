/*  lpm_fixture — the setup shared by the LPM integration tests: ferry-hmcsim
    with three systems (P8-OLD the source, P10-A the staging system, P10-B the
    target) and N simulated AIX partitions on P8-OLD each with a real
    ferry-agent, the collector with its planner and HTTP API, and ferryctl.
    Partition i is named lparNN (NN = i + 1); plans move the even-indexed ones
    directly to P10-B and the odd-indexed ones via P10-A. */
#ifndef FERRY_LPM_FIXTURE_H
#define FERRY_LPM_FIXTURE_H

#include "harness.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LPM_MAX_PARTITIONS 48

//  Zero-initialise, then fill; 0 / NULL means the default shown.
typedef struct {
    int partitions;                         // N (1..LPM_MAX_PARTITIONS); 6
    int max_active;                         // MaximumActiveMigrations of every system; 2
    int blackout_ms;                        // injected blackout; 300
    const char *job_duration;               // Migrate RUNNING time; "1s"
    const char *hmcsim_fault;               // lines of the global "fault" section (4-space indent)
    const char *partition_fault[LPM_MAX_PARTITIONS];    // lines of partition i's nested "fault"
                                                        // section (8-space indent), may be NULL
    const char *collector_extra;            // extra collector config (e.g. a "planner" section)
} lpm_options_t;

typedef struct {
    it_env_t env;                           // collector, temp dir
    lpm_options_t opts;                     // with defaults filled in
    int hmc_port;                           // the simulator's HTTPS port
    int api_port;                           // the collector's HTTP API port
    char token[320];                        // API token file
    char stats[320];                        // simulator stats file (written at its exit)
    char collector_conf[2048];              // extra collector config, reused on restarts
    pid_t hmcsim;                           // the simulator, 0 once stopped
    pid_t agents[LPM_MAX_PARTITIONS];       // one agent per partition
} lpm_fixture_t;

//  Start everything and wait until every agent has reported its facts.
//  Aborts the test on failure.
lpm_fixture_t *lpm_setup(const lpm_options_t *opts);

//  Stop everything, remove the temp dir, free.
void lpm_teardown(lpm_fixture_t *f);

//  "lparNN" for partition index i.
void lpm_name(char *out, size_t size, int i);

//  Write a file of the test dir with mode.
void lpm_write(const char *path, const char *text, mode_t mode);

//  Run ferryctl --url ... --token-file ... a1 a2 [a3]; output in DIR/LOG.log.
int lpm_ferryctl(lpm_fixture_t *f, const char *log, const char *a1, const char *a2, const char *a3);

//  Submit a plan named name moving every partition to P10-B (odd indexes via
//  P10-A) with per_system concurrency = max_active; returns its id (> 0).
int64_t lpm_submit_plan(lpm_fixture_t *f, const char *name, int64_t outage_budget_ms);

//  ferryctl plan start ID; asserts success.
void lpm_start_plan(lpm_fixture_t *f, int64_t plan_id);

//  ferryctl plan show ID into DIR/show.log and print its path (for diagnostics).
void lpm_show_plan(lpm_fixture_t *f, int64_t plan_id);

//  Wait until every move of the plan is final (verified, failed, blocked,
//  aborted, validated); returns how many are.
int64_t lpm_wait_final(lpm_fixture_t *f, int64_t plan_id, int timeout_ms);

//  Moves of the plan in state.
int64_t lpm_count_state(lpm_fixture_t *f, int64_t plan_id, const char *state);

//  State and message of partition's move in the plan into out ("" if none).
void lpm_move_text(lpm_fixture_t *f, int64_t plan_id, const char *partition, const char *column,
                   char *out, size_t size);

//  Kill the collector with sig (waits for it) / start it again with the same config.
void lpm_stop_collector(lpm_fixture_t *f, int sig);
void lpm_restart_collector(lpm_fixture_t *f);

//  SIGTERM the simulator, load its stats file (new reference; asserts).
json_t *lpm_stop_hmcsim_stats(lpm_fixture_t *f);

//  The stats entry of partition name (borrowed), NULL if absent.
json_t *lpm_stats_partition(json_t *stats, const char *name);

//  What an outage measured for partition name may be, from what the
//  simulators recorded (stats from /sim/stats or the stats file, simlpar the
//  partition's ferry-simlpar dir for the fake AIX commands' calls.log):
//  at least the longest stop (blackout_end - blackout_start of a completed
//  Migrate: longer than the setting on a loaded machine) less the heartbeat
//  and stall tick granularity; at most the longest time from a stop until
//  the agent had answered lpm-post and finished the commands it started on
//  resuming (its identity probe runs on its loop: a stall too), plus
//  LPM_OUTAGE_SLACK_MS for frames on their way. Prints what it found (one
//  line). -1 when the simulator has no completed blackout for it.
#define LPM_OUTAGE_SLACK_MS 300
int lpm_outage_bounds(json_t *stats, const char *name, const char *simlpar, int64_t *low,
                      int64_t *high);

#endif
