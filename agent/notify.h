/*  notify — the local channel from DR hooks to the running agent.

    `ferry-agent notify lpm-post` (called by the powerpc-utils drmgr hook on
    Linux, or by hand) hands an LPM phase to the running agent over a ZeroMQ
    ipc:// socket that lives in the agent's spool directory: that directory
    is owner-only (the agent refuses to start otherwise) and the socket file
    itself is made 0600, so only the agent's user can notify it. */
#ifndef FERRY_NOTIFY_H
#define FERRY_NOTIFY_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#define NOTIFY_SOCKET_NAME "notify.sock"

typedef enum {
    NOTIFY_NONE = 0,
    NOTIFY_LPM_CHECK,       // lpm-check: the HMC validates a move
    NOTIFY_LPM_PRE,         // lpm-pre: the move is about to start
    NOTIFY_LPM_POST,        // lpm-post: the move finished (Linux: even when it failed)
    NOTIFY_LPM_POSTERROR    // lpm-posterror: the move failed
} notify_event_t;

//  The event named by text ("lpm-post", ...), NOTIFY_NONE when unknown.
notify_event_t notify_parse(const char *text);

//  Phase word for an event ("check", "pre", "post", "posterror").
const char *notify_phase(notify_event_t event);

//  Bind the agent's REP socket in dir (borrowed). New socket owned by the
//  caller, or NULL with a message in err.
zsock_t *notify_bind(const char *dir, char *err, size_t errlen);

//  Read one request from the bound socket, answer it, and return the event
//  (NOTIFY_NONE for an unknown word, which is answered with an error).
notify_event_t notify_serve(zsock_t *sock);

//  Client side: send event to the agent whose spool dir is dir; wait for the
//  answer up to timeout_ms. 0, or -1 with a message in err.
int notify_send(const char *dir, const char *event, int timeout_ms, char *err, size_t errlen);

#endif
