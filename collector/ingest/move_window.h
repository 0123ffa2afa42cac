/*  move_window — what the collector saw of each agent, and of it during its
    move window (DESIGN §5: ingest/ holds the move windows, each module one
    job). A window is the time around one LPM hop in which the agent beats
    fast: its largest silence between two frames is the outage the partition
    really had, and the LPM phases and serial change it reports tell the
    planner whether the hop happened.

    Fed by ingest through its observer (ingest_observer_t, see
    move_window_observer), on ingest's loop while a frame is handled; asked
    by the planner on the same loop. Nothing here is locked, stored or sent:
    the Config that asks the agent for fast heartbeats goes out through the
    send-config function given to move_window_new (the collector passes
    ingest_send_config). So the dependency runs one way: move_window knows
    ingest's observer type, ingest knows nothing of move_window.

    Per agent key (its authenticated CURVE public key) for the life of the
    object: the fleet's size, as ingest's own peers. */
#ifndef FERRY_MOVE_WINDOW_H
#define FERRY_MOVE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "ingest.h"

typedef struct _move_window_t move_window_t;

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
    unsigned lpm_phases;          // MOVE_WINDOW_LPM_* bits of the phases reported inside the window
    bool serial_changed;          // a serial_changed event arrived inside the window
    bool resumed;                 // reopened after a collector restart: gaps before it unknown
} move_window_observation_t;

#define MOVE_WINDOW_KEY_SIZE 48   // a CURVE key in Z85 is 40 characters, with room
#define MOVE_WINDOW_LPM_CHECK 1u
#define MOVE_WINDOW_LPM_PRE 2u
#define MOVE_WINDOW_LPM_POST 4u
#define MOVE_WINDOW_LPM_POSTERROR 8u

//  Ask the agent with key (borrowed for the call) for heartbeats every
//  fast_ms for for_ms; fast_ms 0 = its window is over. Sent now or later,
//  it is the sender's business. 0, or -1 when the key is refused.
typedef int(move_window_config_fn)(void *arg, const char *key, uint32_t fast_ms,
                                   uint32_t for_ms);

//  Called when an agent whose move window is open reports what ends its move:
//  the LPM post or posterror phase (each the first time it comes in the
//  window), or a serial_changed event (each). key borrowed for the call. It runs on ingest's loop while the frame
//  is handled, maybe with a batch open: it must not write to the store (the
//  planner notes the move and steps it in its next round rather than at its
//  next tick).
typedef void(move_window_fn)(const char *key, void *arg);

//  No agent seen yet; Configs go through config_fn(config_arg, ...) (NULL:
//  none are sent). config_arg borrowed for the life of the object. NULL when
//  out of memory.
move_window_t *move_window_new(move_window_config_fn *config_fn, void *config_arg);

//  Free; NULLs *self_p. Safe on NULL and twice. Whoever feeds it must have
//  stopped (ingest_set_observer(ingest, NULL)).
void move_window_destroy(move_window_t **self_p);

//  Fill out with the callbacks that feed this object, for
//  ingest_set_observer (arg = self, borrowed by whoever keeps it).
void move_window_observer(move_window_t *self, ingest_observer_t *out);

//  Open a move window for the agent with key (borrowed): ask it for heartbeats
//  every fast_ms for for_ms (through config_fn), and start the window figures
//  afresh. 0, or -1 when key is NULL or config_fn refused it (nothing changed).
int move_window_open(move_window_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms);

//  Reopen a window lost with a previous collector process: as
//  move_window_open, but keeping the original start, the boot id at that
//  time, and the evidence the database kept (serial, LPM phase bits as in
//  store_window_evidence, which match MOVE_WINDOW_LPM_*). Marks it resumed.
//  key, boot_id and serial borrowed (boot_id, serial NULL or "" = unknown).
int move_window_resume(move_window_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms,
                       int64_t start_ms, const char *boot_id, const char *serial,
                       unsigned phases);

//  Stop collecting window figures (they stay readable until the next open)
//  and tell the agent its window is over (config_fn with fast_ms 0). key
//  borrowed; a key never seen nor opened is ignored.
void move_window_close(move_window_t *self, const char *key);

//  Set (or with NULL clear) the one listener for ends of moves; arg
//  borrowed until it is cleared.
void move_window_set_listener(move_window_t *self, move_window_fn *fn, void *arg);

//  Fill out for the agent with key (borrowed). -1 (out zeroed) when the key
//  was never seen nor opened since the collector started.
int move_window_observe(move_window_t *self, const char *key, move_window_observation_t *out);

#endif
