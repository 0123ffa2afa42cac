/*  metrics_batch — the metrics samples of one store transaction, grouped
    into chunks for storage.

    The store keeps one metrics row per agent and transaction (a chunk)
    instead of one per sample: at a high rate (a fleet replaying its spools
    after a collector outage) the per-row cost was most of the collector's
    time. Samples are added in arrival order; chunks come out grouped by
    (agent, epoch), each with up to METRICS_CHUNK_MAX samples in arrival
    order. A chunk carries what SQL needs without decoding it: the samples'
    seqs and times as JSON arrays, and the figures of its newest sample.
    A chunk the database refuses can be split (metrics_batch_split): its
    samples come out again one by one, so that only the one at fault is
    left out. */
#ifndef FERRY_METRICS_BATCH_H
#define FERRY_METRICS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry.pb-c.h"

#define METRICS_CHUNK_MAX 256       // samples per chunk (bounds the JSON arrays)
#define METRICS_VALUES 7            // cpu_user, cpu_sys, cpu_wait, cpu_idle, physc, mem_free_mb, load1
#define METRICS_BODY_MAX (1u << 30) // largest sample body taken (no sane sample comes near)

typedef struct _metrics_batch_t metrics_batch_t;

//  One chunk, ready to insert. Every pointer is owned by the batch and valid
//  until the next metrics_batch_next or metrics_batch_clear.
typedef struct {
    int64_t agent_id;               // agents.id
    int64_t epoch;                  // the agent's epoch when its samples came
    size_t samples;                 // samples in the chunk, 1..METRICS_CHUNK_MAX
    uint64_t first_seq;             // seq of the chunk's first sample (of a chunk of one, its own)
    size_t body_bytes;              // the samples' bodies together, in bytes
    int64_t first_time_ms;          // oldest sample time
    int64_t time_ms;                // newest sample time
    const char *seqs_json;          // "[seq,...]" in chunk order
    const char *times_json;         // "[time_ms,...]" in chunk order
    double value[METRICS_VALUES];   // the last sample's figures
    unsigned present;               // bit i: value[i] is set (else NULL)
    const uint8_t *chunk;           // packed MetricsChunk
    size_t chunk_len;               // its length
} metrics_chunk_t;

//  An empty batch; NULL when out of memory.
metrics_batch_t *metrics_batch_new(void);

//  Destroy the batch; *self_p becomes NULL. Safe with NULL or twice.
void metrics_batch_destroy(metrics_batch_t **self_p);

//  Add a sample. body/body_len: its packed Metrics as received (copied);
//  NULL to pack metrics. metrics (borrowed, required) gives the SQL figures.
//  0 / -1 (no metrics, out of memory, a body over METRICS_BODY_MAX, or chunks
//  being read).
int metrics_batch_add(metrics_batch_t *self, int64_t agent_id, int64_t epoch, uint64_t seq,
                      int64_t time_ms, const Ferry__Metrics *metrics, const uint8_t *body,
                      size_t body_len);

//  Samples added since the last clear.
size_t metrics_batch_count(const metrics_batch_t *self);

//  The next chunk of everything added: 1 and *chunk filled, 0 when there is
//  none left, -1 when out of memory. Adding after the first call is not allowed
//  until metrics_batch_clear.
int metrics_batch_next(metrics_batch_t *self, metrics_chunk_t *chunk);

//  The chunk the latest metrics_batch_next returned is taken back: from the
//  next call on, its samples come out again, a chunk of one each. Does
//  nothing before the first chunk, right after a split, or after a chunk of
//  one.
void metrics_batch_split(metrics_batch_t *self);

//  Forget every sample (keeps the memory for the next batch).
void metrics_batch_clear(metrics_batch_t *self);

//  A chunk of the single body (for the migration of per-sample rows): a
//  malloc'd buffer in *out_p, its length in *len_p. 0 / -1.
int metrics_chunk_of_one(const uint8_t *body, size_t body_len, uint8_t **out_p, size_t *len_p);

#endif
