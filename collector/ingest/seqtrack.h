/*  seqtrack — per-agent sequence bookkeeping: which seqs are new, which are
    duplicates, and the highest contiguous stored seq (what the Ack carries).

    Pure in-memory logic; the collector persists acked_seq and the pending set
    through the store in the same transaction as the data, and rebuilds a
    tracker from them at start-up. */
#ifndef FERRY_SEQTRACK_H
#define FERRY_SEQTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _seqtrack_t seqtrack_t;

//  New tracker for a stream. pending (borrowed, ascending, may be NULL) are
//  seqs above acked already stored.
seqtrack_t *seqtrack_new(uint64_t stream_id, uint64_t acked, const uint64_t *pending,
                         size_t pending_count);

//  Free and NULL; safe on NULL and twice.
void seqtrack_destroy(seqtrack_t **self_p);

uint64_t seqtrack_stream(seqtrack_t *self);
uint64_t seqtrack_acked(seqtrack_t *self);

//  Seqs above acked that are stored (a gap lies below them).
size_t seqtrack_pending_count(seqtrack_t *self);

//  True when seq has not been stored yet (seq 0 is never new).
bool seqtrack_is_new(seqtrack_t *self, uint64_t seq);

//  Record seq as stored. Returns true when it landed above a gap, i.e. the
//  caller must persist it as pending; false when acked advanced over it.
//  -1 on allocation failure.
int seqtrack_stored(seqtrack_t *self, uint64_t seq);

//  The agent holds nothing below first_seq any more (acked or dropped): treat
//  everything below it as done. Returns true when acked moved.
bool seqtrack_floor(seqtrack_t *self, uint64_t first_seq);

//  Start over for a new stream (new spool on the agent). Returns true when the
//  stream actually changed.
bool seqtrack_reset(seqtrack_t *self, uint64_t stream_id);

#endif
