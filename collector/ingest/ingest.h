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
    never anything it claims in a message. */
#ifndef FERRY_INGEST_H
#define FERRY_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

//  What the collector saw of one agent, and of it during its move window.
typedef struct {
    bool seen;                    // a frame arrived since the collector started
    char serial[32];              // latest machine serial reported (facts, serial_changed)
    char boot_id[128];            // latest boot id reported (Hello, facts)
    int64_t last_frame_ms;        // wall clock of the latest frame, 0 = none
    uint32_t heartbeat_ms;        // the agent's heartbeat interval outside move windows (the
                                  // largest since its Hello), 0 = unknown
    bool window_open;             // a move window is open
    int64_t window_start_ms;      // wall clock when it opened
    char window_boot_id[128];     // boot id when it opened
    int64_t max_gap_ms;           // largest gap between two frames inside the window
    uint32_t max_stall_ms;        // largest stall the agent reported inside the window
    unsigned lpm_phases;          // INGEST_LPM_* bits of the phases reported inside the window
    bool serial_changed;          // a serial_changed event arrived inside the window
    bool resumed;                 // reopened after a collector restart: gaps before it unknown
} ingest_observation_t;

#define INGEST_LPM_CHECK 1u
#define INGEST_LPM_PRE 2u
#define INGEST_LPM_POST 4u
#define INGEST_LPM_POSTERROR 8u

//  Open a move window for the agent with key (borrowed): ask it for heartbeats
//  every fast_ms for for_ms (sent now, or with the agent's next frame when it
//  is not connected), and start the window figures afresh. 0 / -1.
int ingest_window_open(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms);

//  Reopen a window lost with a previous collector process: as
//  ingest_window_open, but keeping the original start, the boot id at that
//  time, and the evidence the database kept (serial, LPM phase bits as in
//  store_window_evidence, which match INGEST_LPM_*). Marks it resumed.
int ingest_window_resume(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms,
                         int64_t start_ms, const char *boot_id, const char *serial,
                         unsigned phases);

//  Stop collecting window figures (they stay readable until the next open)
//  and tell the agent its window is over (now, or with its next frame).
void ingest_window_close(ingest_t *self, const char *key);

//  Called when an agent whose move window is open reports what ends its move:
//  the LPM post or posterror phase, or a serial_changed event. key borrowed
//  for the call. It runs on the loop while the frame is handled, maybe with a
//  batch open: it must not write to the store (the planner notes the move and
//  steps it in its next round rather than at its next tick).
typedef void(ingest_window_fn)(const char *key, void *arg);

//  Set (or with NULL clear) the one window listener.
void ingest_set_window_listener(ingest_t *self, ingest_window_fn *fn, void *arg);

//  Fill out for the agent with key. -1 when the key is unknown to the store.
int ingest_observe(ingest_t *self, const char *key, ingest_observation_t *out);

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
