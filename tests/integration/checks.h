/*  checks — delivery assertions shared by the integration tests. */
#ifndef FERRY_IT_CHECKS_H
#define FERRY_IT_CHECKS_H

#include "harness.h"

//  Restart agent NAME with a long metrics interval so it only replays its
//  spool and sends one Facts, wait until the collector acked everything it
//  ever produced, stop it, and assert that every seq 1..N is stored exactly
//  once: metrics rows + one facts message per start (starts counts them,
//  including this one). pid is the running agent (0 if not running).
void it_check_delivered(it_env_t *env, const char *name, pid_t pid, int starts);

//  Extra agent config for fast tests: metrics every 10 ms, quick resends.
#define IT_FAST_AGENT                 \
    "    metrics_interval = 10ms\n"   \
    "    heartbeat = 100ms\n"         \
    "    ack_timeout = 1s\n"          \
    "    spool_sync = 50ms\n"

#endif
