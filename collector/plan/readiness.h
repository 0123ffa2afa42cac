/*  readiness — the checks a hop must pass before ferry asks the HMC to move
    a partition. Pure: its own input in, findings out.

    The input is readiness's own, not the HMC's XML types: the caller fills
    it (readiness_input.h from HMC inventory, the planner from the agent), so
    rules over other sources (the OS migration's: disks, oslevel, NIM) come
    as more rule functions and fields, without touching HMC code.

    Each finding has a stable id (for reports and suppression later), a
    severity (a blocker stops that move; a warning is reported and the move
    goes on), a message an administrator can act on, and the evidence seen. */
#ifndef FERRY_READINESS_H
#define FERRY_READINESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READINESS_MAX_FINDINGS 24
#define READINESS_MAX_COMPAT_MODES 24   // processor compatibility modes a system lists

typedef enum {
    READINESS_BLOCKER,      // the move must not start
    READINESS_WARNING       // worth knowing; the move goes on
} readiness_severity_t;

typedef struct {
    const char *id;                   // stable rule id, e.g. "lpm.rmc_active" (static string)
    readiness_severity_t severity;    // blocker or warning
    char message[256];                // what is wrong and what to do
    char evidence[192];               // the values seen, e.g. "ResourceMonitoringControlState=inactive"
} readiness_finding_t;

typedef struct {
    readiness_finding_t items[READINESS_MAX_FINDINGS]; // findings in rule order
    size_t count;                     // entries used
} readiness_report_t;

//  The inputs' strings are borrowed and never NULL ("" when unknown);
//  unknown numbers are -1.

//  A partition as the HMC sees it: what the rules read of it.
typedef struct {
    const char *name;                 // partition name, for messages
    const char *state;                // "running", "not activated", "migrating running", ...
    const char *type;                 // "AIX/Linux", "Virtual IO Server", ...
    const char *rmc_state;            // RMC state: "active", ...
    const char *migration_state;      // "Not_Migrating", ...; "" when the HMC does not say
    const char *proc_compat_mode;     // current processor compatibility mode, "" unknown
    bool is_mgmt_partition;           // the management partition (never moves)
    int64_t memory_mb;                // current memory
    double proc_units;                // current processing units (dedicated: processors)
    int physical_io_slots;            // physical I/O slots assigned
} readiness_partition_t;

//  A managed system (source or target of a hop).
typedef struct {
    const char *uuid;                 // identity: source and target are the same system
    const char *name;                 // system name, for messages
    const char *state;                // "operating", "power off", ...
    const char *serial;               // hardware serial, compared with the agent's
    bool lpm_capable;                 // can receive active partition migrations
    int max_active_migrations;        // concurrent active migrations allowed (0: no LPM)
    int active_migrations_in_progress;// active migrations running now
    int64_t memory_available_mb;      // memory free
    int64_t memory_region_mb;         // memory region size (must match for LPM)
    double proc_units_available;      // processor units free
    size_t compat_mode_count;         // entries used in compat_modes
    const char *compat_modes[READINESS_MAX_COMPAT_MODES]; // supported compatibility modes
} readiness_system_t;

//  Everything one hop's rules read.
typedef struct {
    const readiness_partition_t *partition; // the partition (borrowed)
    const readiness_system_t *source; // the system it is on now (borrowed, may be NULL)
    const readiness_system_t *target; // the hop's system (borrowed, may be NULL: unknown name)
    const char *target_name;          // the hop's target as the plan names it
    const json_t *facts;              // the agent's current facts (borrowed, NULL: no agent)
    const char *agent_serial;         // serial the agent reported last, fresher than facts
                                      // right after a hop (borrowed; NULL/"": use facts)
    int64_t now_ms;                   // wall clock of this evaluation
    int64_t agent_last_seen_ms;       // wall clock of the agent's latest message, 0 = none known
    int64_t agent_stale_ms;           // a message older than this: the agent is not reporting
                                      // (<= 0: readiness_agent_stale_ms(0, 0), 30 s)
} readiness_input_t;

//  Evaluate every LPM rule for one hop into report (overwritten). Pure: the
//  time comes from in->now_ms (the message names local times, so TZ matters).
//  One function per group of rules inside (partition, I/O, target, ...), so
//  more groups, or another entry for another kind of move, read the same input.
void readiness_lpm(const readiness_input_t *in, readiness_report_t *report);

//  The agent_stale_ms for readiness/agent_stale: configured_ms when > 0, else
//  three heartbeats of heartbeat_interval_ms, at least 5 s and at most 30 s
//  (30 s when the interval is unknown, <= 0). Three, so one late or lost
//  heartbeat is not a blocker; at least 5 s, because a fast heartbeat (a
//  move window's 50 ms) also pauses for an LPM blackout or a loaded host, and
//  blocked is final; capped, so a slow heartbeat cannot hide a dead agent
//  for minutes.
int64_t readiness_agent_stale_ms(int64_t heartbeat_interval_ms, int64_t configured_ms);

//  True when the report holds a blocker.
bool readiness_blocked(const readiness_report_t *report);

//  "lpm.rmc_active: RMC is inactive ...; lpm...." — the blockers in one line,
//  for a move's message. Written to out (size bytes).
void readiness_blockers_text(const readiness_report_t *report, char *out, size_t size);

//  Findings as a JSON array of {id, severity, message, evidence}. New reference.
json_t *readiness_to_json(const readiness_report_t *report);

#endif
