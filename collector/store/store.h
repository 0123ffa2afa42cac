/*  store — the collector's SQLite database: the only writer.

    WAL mode, versioned schema with forward migrations (PRAGMA user_version),
    prepared statements, writes grouped by the caller into transactions
    (store_begin / store_commit). Agents are identified by their CURVE public
    key (Z85, 40 chars); the store maps keys to small integer ids.

    Tables:
      agents(id, key UNIQUE, hostname, platform, agent_version, boot_id,
             stream_id, epoch, acked_seq, first_seen_ms, last_seen_ms, last_hello_ms,
             heartbeat_interval_ms, stall_ms, unacked, dropped, bad_frames,
             rejected)            rejected: rows of this agent in `rejected` (schema 5)
      pending_seq(agent_id, seq)          stored seqs above acked_seq (gaps)
      facts_current(agent_id PK, seq, time_ms, digest, json)
      facts_history(id, agent_id, seq, time_ms, digest, json)  changes only
      metrics(agent_id, epoch, samples, first_time_ms, time_ms, seqs, times,
              cpu_user, cpu_sys, cpu_wait, cpu_idle, physc, mem_free_mb, load1,
              chunk BLOB)         schema 4: a chunk of one agent's samples of one
                                  transaction (metrics_batch.h); seqs and times
                                  are JSON arrays, the figures the newest sample's,
                                  chunk a packed MetricsChunk of the bodies as received
      metric_samples (view)       a row per sample: agent_id, epoch, seq, time_ms,
                                  stored_order, chunk_id, position
      events(id, agent_id, seq, time_ms, stored_ms, kind, message, attrs_json)
      job_updates(id, agent_id, seq, time_ms, job_id, state, phase, message, exit_code)
      rejected(id, agent_id, epoch, seq, time_ms, rejected_ms, kind, bytes, reason)
                                  schema 5: messages that decode but cannot be
                                  stored, set aside one by one (see below)
    Schema version 2 adds plans, moves and audit (see the migration in
    store.c), written and read by the planner through store_plan.h.

    Every data row carries (agent_id, epoch, seq); epoch counts the agent's
    spool streams (a Hello with a new stream_id starts the next epoch), so a
    reset agent starting again at seq 1 is stored, not taken for duplicates.
    The caller keeps duplicates out: acked_seq and pending_seq, written in the
    same transaction as the rows they describe, say exactly which seqs are
    stored. UNIQUE(agent_id, epoch, seq) on events, facts_history and
    job_updates is a last line behind that; metrics have no unique key (a row
    per sample and that index were most of the collector's time at high
    rates). Metrics retention (store_prune) drops whole chunks, when their
    newest sample is older than the limit.

    One agent cannot stop the others: a message the database would refuse
    (facts whose JSON does not parse, a field over SQLite's length limit) is
    found by store_check before it joins a transaction, and the caller sets it
    aside with store_reject instead. What store_check cannot foresee is caught
    here: facts, events and job updates are written inside a savepoint, and
    a refusal takes back only that message's statements (the call returns 1);
    a metrics chunk refused at commit is split and the sample at fault set
    aside by the store itself (store_commit_rejections). A set-aside message
    counts as stored for sequence tracking: it is acked and not sent again.
    Only the database's own failures (disk full, I/O, lock) still roll back
    the whole transaction. */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry.pb-c.h"

#define STORE_SCHEMA_VERSION 5
#define STORE_REASON_MAX 256        // a rejection's reason, with its NUL
//  Deepest facts JSON taken: SQLite's JSON functions refuse deeper documents
//  (past 2000 levels in SQLite 3.40, past 1000 in later releases).
#define STORE_JSON_DEPTH_MAX 1000

typedef struct _store_t store_t;

typedef struct {
    bool sync_full;          // PRAGMA synchronous=FULL (survive power loss) instead of NORMAL
    int64_t metrics_keep_ms; // metrics retention; 0 = keep forever
} store_options_t;

//  Per-agent sequence state, as last committed.
typedef struct {
    int64_t id;              // agents.id
    uint64_t stream_id;      // spool stream the acked_seq belongs to
    uint64_t acked_seq;      // highest contiguous stored seq
} store_agent_state_t;

//  A message that is not stored but set aside (a row of `rejected`).
typedef struct {
    int64_t agent_id;              // agents.id
    uint64_t seq;                  // the message's seq
    int64_t time_ms;               // when the agent sent it (its clock)
    const char *kind;              // its body kind, static text: metrics, facts, event, job_update
    uint64_t bytes;                // the size of its body
    char reason[STORE_REASON_MAX]; // why it cannot be stored
} store_rejection_t;

//  Open (create when missing) the database at path and migrate it to
//  STORE_SCHEMA_VERSION. opts may be NULL (defaults: sync_full, keep forever).
//  A database newer than this build is refused. NULL + message in err on failure.
store_t *store_open(const char *path, const store_options_t *opts, char *err, size_t errlen);

//  Roll back an open transaction, finalize statements, close; NULLs *self_p.
void store_destroy(store_t **self_p);

//  Schema version of the open database.
int store_schema_version(store_t *self);

//  Last error message (borrowed, valid until the next call).
const char *store_error(store_t *self);

//  The longest text or blob the database takes, in bytes (SQLite's length
//  limit), for store_check.
int64_t store_max_length(store_t *self);

//  Would the store refuse the data message env (borrowed)? Pure: 0 when it
//  can be stored; -1 with the reason in reason (the caller's buffer) when
//  it cannot: facts JSON that does not parse (as jansson reads it, like the
//  planner), is not an object or nests deeper than STORE_JSON_DEPTH_MAX; a
//  stored text or body longer than max_length (store_max_length), or a
//  metrics body over METRICS_BODY_MAX. body/body_len as for store_metrics.
//  Messages without a stored body (Hello, Heartbeat) are always 0.
int store_check(const Ferry__Envelope *env, const uint8_t *body, size_t body_len,
                int64_t max_length, char *reason, size_t reason_size);

//  Transactions. Writes outside a transaction are refused (-1). store_commit
//  writes the buffered metrics first; a chunk the database refuses for what
//  it holds does not fail the commit (see store_commit_rejections).
int store_begin(store_t *self);
int store_commit(store_t *self);
int store_rollback(store_t *self);

//  True while a transaction is open on the connection: the ingest batch or a
//  caller's own (store_plan refuses writes outside one).
bool store_tx_open(store_t *self);

//  Look up or create the agent row for key (Z85 public key, borrowed). Fills
//  state; a new agent starts with stream_id 0, acked_seq 0. 0 / -1.
int store_agent_ensure(store_t *self, const char *key, int64_t now_ms, store_agent_state_t *state);

//  Seqs above acked_seq already stored for an agent, ascending, for start-up.
//  *seqs_p is malloc'd (caller frees), *count_p its length. 0 / -1.
int store_pending_load(store_t *self, int64_t agent_id, uint64_t **seqs_p, size_t *count_p);

//  Record a Hello (borrowed): hostname, platform, version, boot id, stream id.
int store_agent_hello(store_t *self, int64_t agent_id, const Ferry__Hello *hello, int64_t now_ms);

//  Set stream_id and acked_seq, and delete pending seqs <= acked_seq (or all of
//  them when the stream changed).
int store_agent_seq(store_t *self, int64_t agent_id, uint64_t stream_id, uint64_t acked_seq);

//  Remember that seq (> acked_seq) is stored while a gap lies below it.
int store_pending_add(store_t *self, int64_t agent_id, uint64_t seq);

//  Liveness, flushed periodically from memory: last seen, heartbeat figures
//  (hb may be NULL: kept as stored) and the bad frames counted since start.
int store_agent_seen(store_t *self, int64_t agent_id, int64_t last_seen_ms,
                     const Ferry__Heartbeat *hb, uint64_t bad_frames);

//  Data rows. time_ms is the agent's send time. Borrowed arguments. Not
//  deduplicated by the store: the caller stores each seq once (see above).
//  body (borrowed, may be NULL) is metrics packed as the agent sent them: kept
//  as they are, with any field newer than this collector; NULL packs metrics.
//  Metrics wait in memory until store_commit writes them as chunks; an
//  unknown agent fails at once (0 / -1). Events, facts and job updates: 0
//  stored; 1 refused by the database for what the message holds, nothing of
//  it written, the transaction goes on and store_error says why (set it aside
//  with store_reject); -1 the database failed (roll back).
int store_metrics(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                  const Ferry__Metrics *metrics, const uint8_t *body, size_t body_len);
int store_event(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                int64_t stored_ms, const Ferry__Event *event);
int store_facts(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                const Ferry__Facts *facts);
int store_job_update(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                     const Ferry__JobUpdate *update);

//  Record r (borrowed) in `rejected` instead of the message, with the
//  agent's current epoch and now_ms, and count it in the agents row. In the
//  caller's transaction, like the rows. 0 / -1.
int store_reject(store_t *self, const store_rejection_t *r, int64_t now_ms);

//  The metrics samples the latest successful store_commit set aside itself
//  (already in `rejected`): a chunk the database refused was split and the
//  samples it still refused alone left out. Borrowed, valid until the next
//  store_begin; *count_p entries.
const store_rejection_t *store_commit_rejections(store_t *self, size_t *count_p);

//  Delete metrics chunks whose newest sample is older than the retention, at
//  most max_chunks of them (a first run after a long stop would otherwise hold
//  the ingest thread for as long as it takes). Returns how many went, -1 on error.
int store_prune(store_t *self, int64_t now_ms, int max_chunks);

//  The CURVE key (Z85, into key: 41 bytes) of the agent whose current facts
//  name the partition (borrowed), and those facts as JSON text (malloc'd,
//  caller frees; NULL when facts_p is NULL). 0 found, 1 none, -1 error.
int store_agent_by_partition(store_t *self, const char *partition, char *key, char **facts_p);

//  What the database holds about an agent's move window after a collector
//  restart lost the in-memory one: the latest serial (facts, then any
//  serial_changed since since_ms), boot id, and the LPM phases reported
//  since since_ms as bits 1 << (check, pre, post, posterror). key borrowed;
//  outputs are the caller's buffers. 0 / -1.
int store_window_evidence(store_t *self, const char *key, int64_t since_ms, char *serial,
                          size_t serial_size, char *boot_id, size_t boot_size, unsigned *phases);

#endif
