/*  agent_link — the agent's connection to the collector: a CURVE DEALER,
    Hello on every completed handshake, sequenced sends through the spool with
    replay after reconnect or ack timeout, unsequenced heartbeats, and
    dispatch of what the collector sends (Ack handled here; Config and
    JobRequest handed to the caller). */
#ifndef FERRY_AGENT_LINK_H
#define FERRY_AGENT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <czmq.h>

#include "ferry.pb-c.h"
#include "spool.h"

typedef struct _agent_link_t agent_link_t;

//  Called for Config and JobRequest envelopes (borrowed for the call only).
typedef void(agent_link_handler_fn)(const Ferry__Envelope *env, void *arg);

typedef struct {
    const char *endpoint;       // collector endpoint, e.g. tcp://collector:5560
    const char *server_key;     // collector's CURVE public key, Z85
    zcert_t *cert;              // the agent's certificate (borrowed)
    spool_t *spool;             // the agent's spool (borrowed)
    size_t max_frame;           // largest frame we send or accept
    int ack_timeout_ms;         // resend from the oldest unacked after this long without progress
    int sync_ms;                // spool fsync period for non-event records
    const char *platform;       // Hello fields (borrowed)
    const char *hostname;
    const char *boot_id;
    agent_link_handler_fn *handler;  // may be NULL
    void *handler_arg;
} agent_link_options_t;

//  Create the DEALER, connect, and register readers/timers on loop (borrowed).
//  opts and everything it points to are borrowed for the life of the link.
agent_link_t *agent_link_new(const agent_link_options_t *opts, zloop_t *loop, char *err,
                             size_t errlen);

//  Sync the spool, close the socket; NULLs *self_p; safe on NULL and twice.
void agent_link_destroy(agent_link_t **self_p);

//  Send a sequenced message: env (borrowed; body set by the caller) gets the
//  next seq, is written to the spool, and is sent at once when connected.
//  Returns the seq, or 0 with a log line when it could not even be spooled.
uint64_t agent_link_send(agent_link_t *self, Ferry__Envelope *env, spool_class_t cls);

//  Send a heartbeat (unsequenced, never spooled: a stale one is meaningless).
//  The link fills unacked/spool figures. Returns false when it could not go
//  out (disconnected, socket full): the caller keeps its figures for the next.
bool agent_link_heartbeat(agent_link_t *self, Ferry__Heartbeat *hb);

//  True between a completed CURVE handshake and the next disconnect.
bool agent_link_connected(agent_link_t *self);

//  Highest seq the collector acked so far (this run or a previous one).
uint64_t agent_link_acked(agent_link_t *self);

#endif
