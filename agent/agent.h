/*  agent — the ferry-agent daemon: reads the partition through the platform
    layer, turns changes into events, samples metrics, beats, and sends all of
    it through the collector link (which spools what is not acked yet). */
#ifndef FERRY_AGENT_H
#define FERRY_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "platform.h"

typedef struct {
    const char *collector;        // collector endpoint
    const char *collector_cert;   // collector's public certificate file
    const char *cert;             // the agent certificate, the NAME_secret file (mode 0600)
    const char *spool_dir;        // spool directory (owner-only); also holds state and notify socket
    const char *pid_file;         // written at start when set ("" = none)
    platform_options_t platform;  // where and how the partition is read
    int64_t spool_max;            // spool file bound in bytes
    int64_t heartbeat_ms;         // normal heartbeat interval
    int64_t metrics_ms;           // metrics interval
    int64_t identity_ms;          // light identity (serial) probe interval
    int64_t facts_ms;             // full facts re-read interval (sent when changed)
    int64_t facts_resend_ms;      // facts are sent at least this often even unchanged
    int64_t stall_tick_ms;        // period of the fine timer that measures stalls
    int64_t ack_timeout_ms;       // resend unacked data after this long without acks
    int64_t sync_ms;              // spool fsync period for metrics
    int64_t max_frame;            // largest frame
    bool verbose;                 // debug logging
} agent_options_t;

//  Read the [agent] section of config (borrowed; strings in opts point into
//  it) with the documented defaults. 0, or -1 with "key: problem" in err.
int agent_options_load(config_t *config, agent_options_t *opts, char *err, size_t errlen);

//  Run the daemon until SIGINT/SIGTERM. opts borrowed. Returns the process
//  exit code: 0 after a clean stop, 1 when it could not start.
int agent_run(const agent_options_t *opts);

#endif
