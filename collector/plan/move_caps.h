/*  move_caps — the plans' concurrency caps (DESIGN §5): how many hops are
    active per HMC, per system and per VIOS pair, and whether one more may
    start. Plain bookkeeping on names, nothing of the planner: the caller
    counts the active hops (once per tick, then each hop it starts) and asks
    before a start.

    A hop holds resources on both its source and its target system, so it
    counts on each (once when they are the same); a hop's system load is the
    busier of the two. Systems and pairs are counted per HMC: two HMCs may
    name their systems alike. */
#ifndef FERRY_MOVE_CAPS_H
#define FERRY_MOVE_CAPS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _move_caps_t move_caps_t;

//  One hop as the caps see it; strings borrowed for the call.
typedef struct {
    const char *hmc;            // the HMC of the hop's plan
    const char *source;         // system the partition leaves ("" when unknown)
    const char *target;         // system the hop ends on
    const char *vios_pair;      // mover VIOS pair label; NULL or "" = none
} move_caps_hop_t;

//  A plan's caps; 0 = no cap.
typedef struct {
    int per_hmc;                // active hops on the HMC
    int per_system;             // active hops on any one source or target system
    int per_vios_pair;          // active hops on one VIOS pair
} move_caps_limits_t;

//  The active hops a hop would share resources with.
typedef struct {
    int hmc;                    // on its HMC
    int system;                 // on the busier of its source and target systems
    int vios_pair;              // on its VIOS pair (0 when it names none)
} move_caps_load_t;

//  An empty count. NULL when out of memory.
move_caps_t *move_caps_new(void);

//  Free; NULLs *self_p. Safe on NULL and twice.
void move_caps_destroy(move_caps_t **self_p);

//  Forget every count (before counting the active hops again).
void move_caps_clear(move_caps_t *self);

//  Count hop as active (delta 1) or no longer (delta -1; a count never goes
//  below 0). hop borrowed. 0, or -1 when out of memory (a count is missed).
int move_caps_add(move_caps_t *self, const move_caps_hop_t *hop, int delta);

//  The load hop would share, into *out. hop borrowed.
void move_caps_load(move_caps_t *self, const move_caps_hop_t *hop, move_caps_load_t *out);

//  True when starting hop now would go past a cap of limits (the HMC's
//  first, then the systems', then the VIOS pair's): why says which ("system
//  cap 4 reached"). hop and limits borrowed.
bool move_caps_over(move_caps_t *self, const move_caps_hop_t *hop, const move_caps_limits_t *limits,
                    char *why, size_t size);

#endif
