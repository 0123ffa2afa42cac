/*  readiness — the checks a hop must pass before ferry asks the HMC to move
    a partition. Pure: HMC inventory and agent facts in, findings out.

    Each finding has a stable id (for reports and suppression later), a
    severity (a blocker stops that move; a warning is reported and the move
    goes on), a message an administrator can act on, and the evidence seen. */
#ifndef FERRY_READINESS_H
#define FERRY_READINESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmc_xml.h"

#define READINESS_MAX_FINDINGS 24

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

typedef struct {
    const hmc_partition_t *partition; // the partition as the HMC sees it (borrowed)
    const hmc_system_t *source;       // the system it is on now (borrowed, may be NULL)
    const hmc_system_t *target;       // the system of this hop (borrowed, may be NULL: unknown name)
    const char *target_name;          // the hop's target as the plan names it
    const json_t *facts;              // the agent's current facts (borrowed, NULL: no agent)
    const char *agent_serial;         // serial the agent reported last, fresher than facts
                                      // right after a hop (borrowed; NULL/"": use facts)
    int64_t now_ms;                   // wall clock of this evaluation
    int64_t agent_last_seen_ms;       // wall clock of the agent's latest message, 0 = none known
    int64_t agent_stale_ms;           // a message older than this: the agent is not reporting
                                      // (<= 0: readiness_agent_stale_ms(0, 0), 30 s)
} readiness_lpm_input_t;

//  Evaluate every LPM rule for one hop into report (overwritten). Pure: the
//  time comes from in->now_ms (the message names local times, so TZ matters).
void readiness_lpm(const readiness_lpm_input_t *in, readiness_report_t *report);

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
