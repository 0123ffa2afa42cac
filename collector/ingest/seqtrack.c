/*  seqtrack — per-agent sequence bookkeeping. Gaps are rare (a frame lost in a
    TCP buffer when the collector died), so pending seqs live in a small sorted
    array rather than a tree. */
#include "seqtrack.h"

#include <stdlib.h>
#include <string.h>

struct _seqtrack_t {
    uint64_t stream_id;     // agent spool stream this state belongs to
    uint64_t acked;         // every seq <= acked is stored (or dropped by the agent)
    uint64_t *pending;      // stored seqs > acked + 1, ascending
    size_t count;           // entries used in pending
    size_t capacity;        // entries allocated in pending
};

seqtrack_t *seqtrack_new(uint64_t stream_id, uint64_t acked, const uint64_t *pending,
                         size_t pending_count)
{
    seqtrack_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->stream_id = stream_id;
    self->acked = acked;
    for (size_t i = 0; i < pending_count; i++) {
        if (seqtrack_stored(self, pending[i]) < 0) {
            seqtrack_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void seqtrack_destroy(seqtrack_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->pending);
    free(*self_p);
    *self_p = NULL;
}

uint64_t seqtrack_stream(seqtrack_t *self) { return self->stream_id; }
uint64_t seqtrack_acked(seqtrack_t *self) { return self->acked; }
size_t seqtrack_pending_count(seqtrack_t *self) { return self->count; }

//  Index of the first pending entry >= seq.
static size_t s_lower_bound(seqtrack_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->pending[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  Absorb pending entries that became contiguous with acked.
static void s_advance(seqtrack_t *self)
{
    size_t drop = 0;
    while (drop < self->count && self->pending[drop] <= self->acked + 1) {
        if (self->pending[drop] == self->acked + 1)
            self->acked++;
        drop++;
    }
    if (drop) {
        memmove(self->pending, self->pending + drop, (self->count - drop) * sizeof *self->pending);
        self->count -= drop;
    }
}

bool seqtrack_is_new(seqtrack_t *self, uint64_t seq)
{
    if (seq == 0 || seq <= self->acked)
        return false;
    size_t at = s_lower_bound(self, seq);
    return !(at < self->count && self->pending[at] == seq);
}

int seqtrack_stored(seqtrack_t *self, uint64_t seq)
{
    if (seq <= self->acked)
        return false;
    if (seq == self->acked + 1) {
        self->acked = seq;
        s_advance(self);
        return false;
    }
    size_t at = s_lower_bound(self, seq);
    if (at < self->count && self->pending[at] == seq)
        return false;
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16;
        uint64_t *grown = realloc(self->pending, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->pending = grown;
        self->capacity = capacity;
    }
    memmove(self->pending + at + 1, self->pending + at, (self->count - at) * sizeof *self->pending);
    self->pending[at] = seq;
    self->count++;
    return true;
}

bool seqtrack_floor(seqtrack_t *self, uint64_t first_seq)
{
    if (first_seq == 0 || first_seq - 1 <= self->acked)
        return false;
    self->acked = first_seq - 1;
    s_advance(self);
    return true;
}

bool seqtrack_reset(seqtrack_t *self, uint64_t stream_id)
{
    if (stream_id == self->stream_id)
        return false;
    self->stream_id = stream_id;
    self->acked = 0;
    self->count = 0;
    return true;
}
