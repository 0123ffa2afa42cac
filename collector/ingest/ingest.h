/*  ingest — the collector's agent-facing loop: a CURVE ROUTER whose peers are
    admitted by agent_auth (ferry's own ZAP handler, not czmq's zauth) by
    their public key, against the allowed agent certificates of a directory
    that it keeps in memory (re-read on SIGHUP, or when an unknown key
    arrives and the directory changed); decode and validation of every frame,
    batches handed to the store writer's thread (store_writer.h), acks
    after it committed them.
    A message that decodes but cannot be stored is set aside alone (table
    `rejected`) and acked; the batch goes on without it.

    Identity of a peer = its authenticated CURVE public key (ZAP User-Id),
    never anything it claims in a message.

    What the agents' frames say about them beyond storage (identity, move
    windows: move_window.h) goes to an observer; the Configs of a move window
    come back through ingest_send_config. */
#ifndef FERRY_INGEST_H
#define FERRY_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry.pb-c.h"
#include "store_writer.h"

#include <czmq.h>

typedef struct {
    const char *bind;            // ROUTER endpoint, e.g. tcp://*:5560
    const char *cert_path;       // collector certificate, the NAME_secret file (mode 0600)
    const char *allowed_dir;     // directory of allowed agent public certificates
    size_t max_frame;            // largest accepted frame in bytes
    int batch_max;               // commit after this many stored messages
    int batch_wait_ms;           // or after this long since the first uncommitted one
    int seen_flush_ms;           // period of flushing last-seen/heartbeat figures
    int bad_log_period_ms;       // at most one bad-frame (and one set-aside) log line per peer per period
    int64_t metrics_keep_ms;     // metrics retention run from the seen flush; 0 = keep forever
} ingest_options_t;

typedef struct _ingest_t ingest_t;

//  Fill opts with the documented defaults (strings point at static text).
void ingest_options_defaults(ingest_options_t *opts);

//  Load the certificates, start agent_auth and bind; writes go to writer.
//  opts and writer borrowed for the life of the object (the writer must
//  outlive it). NULL with a message in err on failure.
ingest_t *ingest_new(const ingest_options_t *opts, store_writer_t *writer, char *err,
                     size_t errlen);

//  Run until SIGINT/SIGTERM: then stop reading, commit what was received, ack
//  it, and return 0. -1 on a fatal store error.
int ingest_run(ingest_t *self);

//  Re-read the allowed agent certificates (called on SIGHUP).
void ingest_reload(ingest_t *self);

//  Who else reads the agents' frames (move_window.h): called on ingest's loop
//  while a frame is handled, with the peer's key (its authenticated CURVE
//  public key) and what was decoded, both borrowed for the call. A callback
//  must not write to the store (a batch may be open) nor call back into
//  ingest other than ingest_send_config. Any callback may be NULL.
//  The callbacks get the observer's own record of the agent (what agent
//  returned for its key), not the key: ingest keeps it with the peer, so
//  every frame costs no second lookup by key.
typedef struct {
    //  The observer's record of the agent with key, asked once per agent
    //  (again after ingest_set_observer). NULL (out of memory): the
    //  callbacks are skipped for that frame and it is asked at the next.
    void *(*agent)(void *arg, const char *key);
    //  Every frame of an authenticated peer, bad ones too, before decoding:
    //  wall and monotonic clock when it was read.
    void (*frame)(void *arg, void *agent, int64_t wall_ms, int64_t mono_ms);
    //  A Hello.
    void (*hello)(void *arg, void *agent, const Ferry__Hello *hello);
    //  A Heartbeat (not stored as a message: only its figures are kept).
    void (*heartbeat)(void *arg, void *agent, const Ferry__Heartbeat *heartbeat);
    //  A data message (facts, event, metrics) the store accepts (store_check),
    //  new (once it joined the batch) or a duplicate; what the store would
    //  refuse is not passed on.
    void (*body)(void *arg, void *agent, const Ferry__Envelope *env);
    void *arg;                    // passed to each callback
} ingest_observer_t;

//  Set (observer copied; NULL clears) the one observer. agent must be set
//  when any other callback is; the records of a previous observer are
//  forgotten.
void ingest_set_observer(ingest_t *self, const ingest_observer_t *observer);

//  Send the agent with key (borrowed) a Config asking for heartbeats every
//  fast_ms for for_ms (fast_ms 0: its move window is over): now when it is
//  connected, else with its next frame (only the latest Config waits). 0, or
//  -1 when key is not a CURVE public key or the agent cannot be loaded.
int ingest_send_config(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms);

//  The loop, for modules that add their own readers and timers (borrowed).
zloop_t *ingest_loop(ingest_t *self);

//  Counters, for tests and logs.
//  Data messages read (not bad frames), committed or not yet.
uint64_t ingest_received(ingest_t *self);
//  Data messages the writer committed (set-aside ones not counted).
uint64_t ingest_stored(ingest_t *self);
uint64_t ingest_duplicates(ingest_t *self);
uint64_t ingest_bad_frames(ingest_t *self);
//  Data messages that decoded but cannot be stored, set aside in `rejected`.
uint64_t ingest_rejected(ingest_t *self);

//  Close everything; NULLs *self_p; safe on NULL and twice.
void ingest_destroy(ingest_t **self_p);

#endif
