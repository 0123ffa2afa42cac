/*  store_batch — one batch of ingest's writes, as the store writer commits
    it in one transaction (store_writer.h).

    Ingest records what a batch holds on its own thread: the frames to store
    (their bytes, borrowed: ingest keeps the frames until the batch is
    done), the Hellos, the sequence state of each agent, the liveness figures
    and a retention run. The writer decodes the frames again on its thread
    (store_batch_commit): decoding is cheap next to SQLite, and it spares
    ingest from keeping every decoded envelope of a batch alive.

    What cannot be stored is set aside, never a reason to fail the batch (as
    store.h says): a frame ingest found the store would refuse (store_check)
    comes with its reason and goes to `rejected`; so does one the database
    refuses at its insert, and a metrics sample refused at commit. Each of
    them is listed in store_batch_rejections for ingest to count and log.
    Only the database's own failures roll the whole batch back. */
#ifndef FERRY_STORE_BATCH_H
#define FERRY_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct _store_batch_t store_batch_t;

//  An empty batch whose frames are decoded with max_frame as the limit.
//  NULL when out of memory.
store_batch_t *store_batch_new(size_t max_frame);

//  Free; NULLs *self_p; safe on NULL and twice.
void store_batch_destroy(store_batch_t **self_p);

//  Empty it for the next batch, keeping its memory.
void store_batch_clear(store_batch_t *self);

//  True when nothing was recorded since the last clear.
bool store_batch_empty(const store_batch_t *self);

//  A Hello frame of agent_id: store_agent_hello. frame borrowed until the
//  batch is cleared. 0 / -1 out of memory.
int store_batch_hello(store_batch_t *self, int64_t agent_id, const uint8_t *frame, size_t size);

//  A data frame of agent_id (metrics, event, facts, job update). refused
//  (borrowed for the call, NULL = store it) is why it is set aside instead;
//  pending: its seq lies above a gap (store_pending_add). frame borrowed
//  until the batch is cleared. 0 / -1 out of memory.
int store_batch_data(store_batch_t *self, int64_t agent_id, const uint8_t *frame, size_t size,
                     const char *refused, bool pending);

//  A metrics message of agent_id as the caller decoded it, to be stored
//  (the bulk of the traffic: the writer does not decode it again). env's
//  seq and sent_ms and the figures store_metrics keeps (cpu, memory, load)
//  are copied; body (borrowed until the batch is cleared, not NULL) is the
//  Metrics body as received. pending as for store_batch_data. 0 / -1.
int store_batch_metrics(store_batch_t *self, int64_t agent_id, const Ferry__Envelope *env,
                        const uint8_t *body, size_t body_len, bool pending);

//  An agent's sequence state, written with the rows it describes. 0 / -1.
int store_batch_seq(store_batch_t *self, int64_t agent_id, uint64_t stream_id,
                    uint64_t acked_seq);

//  Liveness figures of an agent (store_agent_seen). hb borrowed for the
//  call (scalars copied), NULL: keep the stored ones. 0 / -1.
int store_batch_seen(store_batch_t *self, int64_t agent_id, int64_t last_seen_ms,
                     const Ferry__Heartbeat *hb, uint64_t bad_frames);

//  Run metrics retention in this batch (store_prune).
void store_batch_prune(store_batch_t *self, int64_t now_ms, int max_chunks);

//  store_writer_fn for a batch (arg: the store_batch_t): begin, every write
//  in the order recorded, commit; on a failure of the database roll back
//  and return -1 with the reason in err. Runs on the writer's thread.
int store_batch_commit(store_t *store, void *arg, char *err, size_t errlen);

//  After a successful commit: data frames stored (set-aside ones not counted).
uint64_t store_batch_stored(const store_batch_t *self);

//  After a successful commit: the frames set aside, *count_p of them
//  (borrowed, valid until the next clear).
const store_rejection_t *store_batch_rejections(const store_batch_t *self, size_t *count_p);

//  After a successful commit: metrics chunks deleted by the retention run,
//  STORE_BATCH_PRUNE_NONE when the batch ran none.
#define STORE_BATCH_PRUNE_NONE (-1)
int store_batch_pruned(const store_batch_t *self);

#endif
