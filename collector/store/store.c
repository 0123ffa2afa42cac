/*  store — the collector's SQLite database (see store.h for the contract).

    One connection, used by one thread (the store actor). Every statement is
    prepared once at open and reset + cleared after each use. Schema changes
    are forward migrations in s_migrations[], one transaction each, recorded in
    PRAGMA user_version.

    Unsigned 64-bit values (seq, stream_id, counters) are stored as SQLite
    integers by a plain cast to int64 and cast back when read: a stream id with
    the top bit set round-trips exactly, but seqs compare correctly in SQL only
    below 2^63 (they start at 1 and count up, so they always are).

    Known agents are cached (key -> id, stream_id, acked_seq, epoch) so the hot path
    does no SELECT; the cache is dropped whenever a transaction is rolled back,
    because it may then name rows or values that no longer exist. */
#include "store.h"
#include "store_private.h"

#include <czmq.h>
#include <jansson.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errbuf.h"
#include "log.h"
#include "metrics_batch.h"

//  Schema migrations: s_migrations[v] takes the database from version v - 1 to
//  version v. Adding schema version 2 = one new entry here (and bumping
//  STORE_SCHEMA_VERSION, which the assertion below keeps in step).
static const char *const s_migrations[] = {
    NULL, // version 0: empty database
    //  Version 1
    "CREATE TABLE agents ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  hostname TEXT NOT NULL DEFAULT '',"
    "  platform TEXT NOT NULL DEFAULT '',"
    "  agent_version TEXT NOT NULL DEFAULT '',"
    "  boot_id TEXT NOT NULL DEFAULT '',"
    "  stream_id INTEGER NOT NULL DEFAULT 0,"
    "  epoch INTEGER NOT NULL DEFAULT 0,"
    "  acked_seq INTEGER NOT NULL DEFAULT 0,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  last_hello_ms INTEGER,"
    "  heartbeat_interval_ms INTEGER,"
    "  stall_ms INTEGER,"
    "  unacked INTEGER,"
    "  dropped INTEGER,"
    "  bad_frames INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE pending_seq ("
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE facts_current ("
    "  agent_id INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE TABLE facts_history ("
    "  id INTEGER PRIMARY KEY,"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  UNIQUE (agent_id, epoch, seq));"
    "CREATE TABLE metrics ("
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  cpu_user REAL,"
    "  cpu_sys REAL,"
    "  cpu_wait REAL,"
    "  cpu_idle REAL,"
    "  physc REAL,"
    "  mem_free_mb REAL,"
    "  load1 REAL,"
    "  body BLOB NOT NULL,"
    "  PRIMARY KEY (agent_id, epoch, seq));"
    //  Time index for retention; not (agent_id, time_ms): measured, that one
    //  halves insert throughput with 1,000 agents (a per-agent range query
    //  uses the primary key and filters on time_ms instead).
    "CREATE INDEX metrics_time ON metrics(time_ms);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  stored_ms INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  attrs_json TEXT NOT NULL,"
    "  UNIQUE (agent_id, epoch, seq));"
    "CREATE INDEX events_agent_time ON events(agent_id, time_ms);"
    "CREATE INDEX events_stored ON events(stored_ms);"
    "CREATE TABLE job_updates ("
    "  id INTEGER PRIMARY KEY,"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  job_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  phase INTEGER NOT NULL,"
    "  message TEXT NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  UNIQUE (agent_id, epoch, seq));"
    "CREATE INDEX job_updates_job ON job_updates(job_id, id);",
    //  Version 2: LPM plans, their moves (one persisted state machine each)
    //  and the audit log. Written by the planner on the collector thread.
    "CREATE TABLE plans ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  hmc TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"                      /* normalised plan JSON */
    "  state TEXT NOT NULL,"                    /* ready | running | paused | aborted | done */
    "  created_ms INTEGER NOT NULL,"
    "  started_ms INTEGER,"
    "  finished_ms INTEGER,"
    "  message TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE moves ("
    "  id INTEGER PRIMARY KEY,"
    "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"              /* index in the plan's moves */
    "  partition TEXT NOT NULL,"
    "  route TEXT NOT NULL,"                    /* JSON array of target systems, staging first */
    "  hop INTEGER NOT NULL DEFAULT 0,"         /* index of the current hop in route */
    "  state TEXT NOT NULL,"                    /* see collector/plan/planner.h */
    "  job_id TEXT,"                            /* HMC job of the current step */
    "  job_op TEXT,"                            /* MigrateValidate | Migrate | MigrateRecover | MigrateAbort */
    "  submissions INTEGER NOT NULL DEFAULT 0," /* Migrate submissions of the current hop */
    "  agent_key TEXT,"                         /* the partition's agent */
    "  source TEXT,"                            /* system the current hop started from */
    "  started_ms INTEGER,"
    "  finished_ms INTEGER,"
    "  outage_ms INTEGER,"                      /* largest measured outage over the hops */
    "  window_ms INTEGER,"                      /* wall clock the current hop's move window opened */
    "  window_boot_id TEXT,"                    /* the agent's boot id then (no reboot allowed) */
    "  checks TEXT NOT NULL DEFAULT '[]',"      /* JSON: per hop, each check and its result */
    "  message TEXT NOT NULL DEFAULT '',"
    "  updated_ms INTEGER NOT NULL,"
    "  UNIQUE (plan_id, position));"
    "CREATE INDEX moves_state ON moves(state);"
    //  The planner finds a partition's agent by the name in its facts.
    "CREATE INDEX facts_partition ON facts_current(json_extract(json, '$.partition.name'));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"                    /* api token name, ferryctl, planner */
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '');",
    //  Version 3: metrics lose their unique key (see store.h); from now on
    //  acked_seq is written with every batch. Before, it could lag behind the
    //  rows by a second, and the unique key absorbed the re-sent frames: catch
    //  it up to the rows of its stream where no gap is pending (with a gap the
    //  rows above it are in pending_seq and acked_seq cannot pass it).
    "UPDATE agents SET acked_seq = max(acked_seq,"
    "  coalesce((SELECT max(seq) FROM metrics m WHERE m.agent_id = agents.id AND m.epoch = agents.epoch), 0),"
    "  coalesce((SELECT max(seq) FROM events e WHERE e.agent_id = agents.id AND e.epoch = agents.epoch), 0),"
    "  coalesce((SELECT max(seq) FROM facts_history f WHERE f.agent_id = agents.id AND f.epoch = agents.epoch), 0),"
    "  coalesce((SELECT max(seq) FROM job_updates j WHERE j.agent_id = agents.id AND j.epoch = agents.epoch), 0))"
    " WHERE NOT EXISTS (SELECT 1 FROM pending_seq p WHERE p.agent_id = agents.id);"
    "CREATE TABLE metrics_v3 ("
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  cpu_user REAL,"
    "  cpu_sys REAL,"
    "  cpu_wait REAL,"
    "  cpu_idle REAL,"
    "  physc REAL,"
    "  mem_free_mb REAL,"
    "  load1 REAL,"
    "  body BLOB NOT NULL);"
    "INSERT INTO metrics_v3 SELECT agent_id, epoch, seq, time_ms, cpu_user, cpu_sys, cpu_wait,"
    "  cpu_idle, physc, mem_free_mb, load1, body FROM metrics ORDER BY time_ms;"
    "DROP TABLE metrics;"
    "ALTER TABLE metrics_v3 RENAME TO metrics;"
    //  Retention and time-range reads; a per-agent read filters this range
    //  (an (agent_id, time_ms) index halves the insert rate, measured).
    "CREATE INDEX metrics_time ON metrics(time_ms);",
    //  Version 4: metrics are stored in chunks, a row per agent and batch
    //  (see metrics_batch.h): a row per sample was most of the collector's
    //  time at high rates. No foreign key either: the check cost a parent
    //  lookup per row, the store binds the epoch from its agent cache (which
    //  fails for an unknown agent) and agents are never deleted (a deletion
    //  would have to delete their metrics itself). Per-sample rows become
    //  chunks of one (ferry_metrics_chunk, registered by the store).
    "CREATE TABLE metrics_v4 ("
    "  agent_id INTEGER NOT NULL,"
    "  epoch INTEGER NOT NULL,"
    "  samples INTEGER NOT NULL,"
    "  first_time_ms INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  seqs TEXT NOT NULL,"
    "  times TEXT NOT NULL,"
    "  cpu_user REAL,"
    "  cpu_sys REAL,"
    "  cpu_wait REAL,"
    "  cpu_idle REAL,"
    "  physc REAL,"
    "  mem_free_mb REAL,"
    "  load1 REAL,"
    "  chunk BLOB NOT NULL);"
    "INSERT INTO metrics_v4 SELECT agent_id, epoch, 1, time_ms, time_ms, json_array(seq),"
    "  json_array(time_ms), cpu_user, cpu_sys, cpu_wait, cpu_idle, physc, mem_free_mb, load1,"
    "  ferry_metrics_chunk(body) FROM metrics ORDER BY rowid;"
    "DROP TABLE metrics;"
    "ALTER TABLE metrics_v4 RENAME TO metrics;"
    "CREATE INDEX metrics_time ON metrics(time_ms);"
    //  A row per sample for SQL: stored_order follows the order of storage.
    "CREATE VIEW metric_samples AS SELECT m.agent_id, m.epoch, CAST(s.value AS INTEGER) AS seq,"
    "  CAST(json_extract(m.times, '$[' || s.key || ']') AS INTEGER) AS time_ms,"
    "  (m.rowid << 16) + s.key AS stored_order, m.rowid AS chunk_id, s.key AS position"
    "  FROM metrics m, json_each(m.seqs) s;",
    //  Version 5: a message that decodes but cannot be stored is set aside
    //  here, a row each, instead of rolling back every agent's batch with it
    //  (see store.h); the agents row counts them.
    "ALTER TABLE agents ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE rejected ("
    "  id INTEGER PRIMARY KEY,"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  time_ms INTEGER NOT NULL,"               /* sent (the agent's clock) */
    "  rejected_ms INTEGER NOT NULL,"           /* set aside (the collector's clock) */
    "  kind TEXT NOT NULL,"                     /* metrics | facts | event | job_update */
    "  bytes INTEGER NOT NULL,"                 /* size of its body */
    "  reason TEXT NOT NULL);"
    "CREATE INDEX rejected_agent ON rejected(agent_id, id);",
};

#define S_MIGRATIONS ((int) (sizeof s_migrations / sizeof s_migrations[0]))
_Static_assert(sizeof s_migrations / sizeof s_migrations[0] == STORE_SCHEMA_VERSION + 1,
               "s_migrations needs exactly one entry per schema version");

//  Data rows carry the agent's epoch: it counts the agent's spool streams, so
//  a new spool starting again at seq 1 never collides with an old one. Rare
//  rows read it by a sub-select (a primary-key lookup) so callers need not
//  track it; coalesce keeps an unknown agent id a foreign-key error, which OR
//  IGNORE does not swallow (a NULL epoch would be silently ignored). Metrics,
//  the bulk, bind it from the agent cache (s_epoch).

//  Prepared statements, by index into s_sql[].
typedef enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_AGENT_GET,
    ST_AGENT_ADD,
    ST_AGENT_STREAM,
    ST_AGENT_EPOCH,
    ST_AGENT_HELLO,
    ST_AGENT_SEQ,
    ST_AGENT_SEEN,
    ST_PENDING_ADD,
    ST_PENDING_LOAD,
    ST_PENDING_TRIM,
    ST_PENDING_CLEAR,
    ST_METRICS,
    ST_EVENT,
    ST_FACTS_SAME,
    ST_FACTS_HISTORY,
    ST_FACTS_CURRENT,
    ST_JOB_UPDATE,
    ST_PRUNE,
    ST_AGENT_BY_PARTITION,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_REJECT,
    ST_AGENT_REJECTED,
    ST_COUNT
} s_stmt_id_t;

static const char *const s_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_AGENT_GET] = "SELECT id, stream_id, acked_seq, epoch FROM agents WHERE key = ?1",
    [ST_AGENT_ADD] = "INSERT INTO agents(key, first_seen_ms, last_seen_ms) VALUES(?1, ?2, ?2)",
    [ST_AGENT_STREAM] = "SELECT stream_id FROM agents WHERE id = ?1",
    [ST_AGENT_EPOCH] = "SELECT epoch FROM agents WHERE id = ?1",
    [ST_METRICS] = "INSERT INTO metrics(agent_id, epoch, samples, first_time_ms, time_ms, seqs,"
                   " times, cpu_user, cpu_sys, cpu_wait, cpu_idle, physc, mem_free_mb, load1, chunk)"
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [ST_AGENT_HELLO] = "UPDATE agents SET hostname = ?2, platform = ?3, agent_version = ?4,"
                       " boot_id = ?5, last_hello_ms = ?6, last_seen_ms = max(last_seen_ms, ?6),"
                       " stream_id = ?7,"
                       " epoch = CASE WHEN stream_id = ?7 THEN epoch ELSE epoch + 1 END,"
                       " acked_seq = CASE WHEN stream_id = ?7 THEN acked_seq ELSE 0 END"
                       " WHERE id = ?1",
    [ST_AGENT_SEQ] = "UPDATE agents SET stream_id = ?2, acked_seq = ?3 WHERE id = ?1",
    //  Unbound heartbeat parameters are NULL and keep the stored values.
    [ST_AGENT_SEEN] = "UPDATE agents SET last_seen_ms = ?2,"
                      " heartbeat_interval_ms = coalesce(?3, heartbeat_interval_ms),"
                      " stall_ms = coalesce(?4, stall_ms), unacked = coalesce(?5, unacked),"
                      " dropped = coalesce(?6, dropped), bad_frames = ?7 WHERE id = ?1",
    [ST_PENDING_ADD] = "INSERT OR IGNORE INTO pending_seq(agent_id, seq) VALUES(?1, ?2)",
    [ST_PENDING_LOAD] = "SELECT seq FROM pending_seq WHERE agent_id = ?1 ORDER BY seq",
    [ST_PENDING_TRIM] = "DELETE FROM pending_seq WHERE agent_id = ?1 AND seq <= ?2",
    [ST_PENDING_CLEAR] = "DELETE FROM pending_seq WHERE agent_id = ?1",
    [ST_EVENT] = "INSERT OR IGNORE INTO events(agent_id, epoch, seq, time_ms, stored_ms, kind,"
                 " message, attrs_json) VALUES(?1, coalesce((SELECT epoch FROM agents WHERE id = ?1), 0), ?2, ?3, ?4, ?5, ?6, ?7)",
    //  A row means: the current facts are the same (by digest, or by the whole
    //  document when the agent sent no digest).
    [ST_FACTS_SAME] = "SELECT 1 FROM facts_current WHERE agent_id = ?1 AND digest = ?2"
                      " AND (?2 <> '' OR json = ?3)",
    [ST_FACTS_HISTORY] = "INSERT OR IGNORE INTO facts_history(agent_id, epoch, seq, time_ms, digest,"
                         " json) VALUES(?1, coalesce((SELECT epoch FROM agents WHERE id = ?1), 0), ?2, ?3, ?4, ?5)",
    [ST_FACTS_CURRENT] = "INSERT INTO facts_current(agent_id, epoch, seq, time_ms, digest, json)"
                         " VALUES(?1, coalesce((SELECT epoch FROM agents WHERE id = ?1), 0), ?2, ?3, ?4, ?5) ON CONFLICT(agent_id) DO UPDATE SET"
                         " epoch = excluded.epoch, seq = excluded.seq, time_ms = excluded.time_ms,"
                         " digest = excluded.digest, json = excluded.json",
    [ST_JOB_UPDATE] = "INSERT OR IGNORE INTO job_updates(agent_id, epoch, seq, time_ms, job_id, state,"
                      " phase, message, exit_code) VALUES(?1, coalesce((SELECT epoch FROM agents WHERE id = ?1), 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_PRUNE] = "DELETE FROM metrics WHERE rowid IN"
                 " (SELECT rowid FROM metrics WHERE time_ms < ?1 LIMIT ?2)",
    //  Several agents may claim one name (a clone, a stale row): the one heard
    //  from last is the partition now. Uses the facts_partition index.
    [ST_AGENT_BY_PARTITION] = "SELECT a.key, f.json FROM agents a JOIN facts_current f"
                              " ON f.agent_id = a.id"
                              " WHERE json_extract(f.json, '$.partition.name') = ?1"
                              " ORDER BY a.last_seen_ms DESC LIMIT 1",
    //  Around the statements of one message, so that a refusal takes back
    //  only those (see s_message_end).
    [ST_SAVEPOINT] = "SAVEPOINT ferry_message",
    [ST_RELEASE] = "RELEASE ferry_message",
    [ST_ROLLBACK_TO] = "ROLLBACK TO ferry_message",
    [ST_REJECT] = "INSERT INTO rejected(agent_id, epoch, seq, time_ms, rejected_ms, kind, bytes,"
                  " reason) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_AGENT_REJECTED] = "UPDATE agents SET rejected = rejected + 1 WHERE id = ?1",
};

//  A known agent, cached by key and by id.
typedef struct {
    store_agent_state_t state; // as last written in this process
    int64_t pending_rows;      // its rows in pending_seq, -1 unknown
    int64_t epoch;             // agents.epoch
    char key[];                // Z85 public key
} s_agent_t;

struct _store_t {
    sqlite3 *db;                  // the connection; this store is its only user
    sqlite3_stmt *stmt[ST_COUNT]; // prepared once at open, reset after every use
    store_options_t opts;         // options given at open (or the defaults)
    bool in_tx;                   // between store_begin and store_commit/rollback
    zhashx_t *agents;             // key -> s_agent_t (owned)
    zhashx_t *agents_by_id;       // &state.id -> the same s_agent_t (borrowed)
    zactor_t *checkpointer;       // thread that checkpoints the WAL with its own connection
    metrics_batch_t *metrics;     // samples of the open transaction, written as chunks at commit
    store_rejection_t *refused;   // metrics samples the latest commit set aside
    size_t refused_count;         // entries used
    size_t refused_cap;           // entries allocated
    int failed_code;              // SQLite's (extended) code of the latest failed statement, 0 none
    char error[256];              // last error message
};

// ------------------------------------------------------------------ helpers

static int s_metrics_flush(store_t *self);

//  Forget buffered metrics samples: their transaction is over.
static void s_metrics_discard(store_t *self)
{
    if (self->metrics)
        metrics_batch_clear(self->metrics);
}

//  The transaction may have ended under us: SQLite rolls back by itself on
//  some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, ...).
static void s_check_tx(store_t *self)
{
    if (self->in_tx && sqlite3_get_autocommit(self->db)) {
        self->in_tx = false;
        s_metrics_discard(self);    // buffered rows went with it
        zhashx_purge(self->agents_by_id);
        zhashx_purge(self->agents);
        size_t len = strlen(self->error);
        snprintf(self->error + len, sizeof self->error - len, " (transaction rolled back)");
    }
}

//  Record "what: sqlite message" as the last error; returns -1.
static int s_fail(store_t *self, const char *what)
{
    snprintf(self->error, sizeof self->error, "%s: %s", what, sqlite3_errmsg(self->db));
    self->failed_code = sqlite3_extended_errcode(self->db);
    s_check_tx(self);
    return -1;
}

static int s_failf(store_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_failf(store_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
    self->failed_code = 0;      // not a statement's failure
    return -1;
}

static void s_done(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

//  Run a statement that returns no rows; reset and clear it. 0 / -1.
static int s_run(store_t *self, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        //  The message is taken before the reset.
        snprintf(self->error, sizeof self->error, "%s: %s", what, sqlite3_errmsg(self->db));
        self->failed_code = sqlite3_extended_errcode(self->db);
        s_done(stmt);
        s_check_tx(self);
        return -1;
    }
    s_done(stmt);
    return 0;
}

static int s_require_tx(store_t *self)
{
    if (self->in_tx)
        return 0;
    return s_failf(self, "no transaction");
}

//  Was the latest failure the message's own doing, with the transaction
//  still open? A constraint, a value over the length limit, a type or range
//  the schema does not take, an SQL function refusing its input (malformed
//  JSON in the facts_partition index is SQLITE_ERROR). Not a foreign key: the
//  agent id is the caller's. Disk full, I/O errors, locks and out of memory
//  are the database's, and everyone's batch goes.
static bool s_refused(store_t *self)
{
    int code = self->failed_code;
    if (!self->in_tx || code == SQLITE_CONSTRAINT_FOREIGNKEY)
        return false;
    switch (code & 0xff) {
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return true;
    default:
        return false;
    }
}

//  Before the statements of one message (facts, event, job update).
static int s_message_begin(store_t *self)
{
    return s_run(self, self->stmt[ST_SAVEPOINT], "savepoint");
}

//  After them, rc being what they gave: keep them (0); or take them back and
//  return 1 when the message itself was refused (the error says why), -1
//  when the database failed. A savepoint costs two statement steps, paid
//  only by these rare kinds: metrics have their own way (s_metrics_flush).
static int s_message_end(store_t *self, int rc)
{
    if (rc == 0)
        return s_run(self, self->stmt[ST_RELEASE], "release savepoint");
    if (!self->in_tx)
        return -1;      // SQLite rolled the whole transaction back
    bool refused = s_refused(self);
    char error[sizeof self->error];
    memcpy(error, self->error, sizeof error);
    int code = self->failed_code;
    if (s_run(self, self->stmt[ST_ROLLBACK_TO], "roll back to savepoint") != 0
        || s_run(self, self->stmt[ST_RELEASE], "release savepoint") != 0)
        return -1;
    memcpy(self->error, error, sizeof error);
    self->failed_code = code;
    return refused ? 1 : -1;
}

static const char *s_str(const char *s) { return s ? s : ""; }

static void s_bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
    sqlite3_bind_text(stmt, col, s_str(s), -1, SQLITE_STATIC);
}

static int s_user_version(sqlite3 *db, int *version_p)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *version_p = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 0 : -1;
}

//  Run a one-row pragma and return its first column as text in out.
static int s_pragma(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(stmt, 0);
        snprintf(out, outlen, "%s", text ? (const char *) text : "");
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

//  One migration step, in its own transaction: version - 1 -> version.
static int s_migrate_step(sqlite3 *db, int version, char *err, size_t errlen)
{
    char *msg = NULL;
    int current = 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    //  Read again under the write lock: another process may have migrated.
    if (s_user_version(db, &current) != 0)
        goto fail;
    if (current < version) {
        //  Schema 4 rewrites every metrics row: say so before a long start.
        if (current > 0)
            log_info("store: migrating the database from schema %d to %d", current, version);
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version);
        if (sqlite3_exec(db, s_migrations[version], NULL, NULL, &msg) != SQLITE_OK
            || sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK)
            goto fail;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto fail;
    if (current < version)
        log_info("store: database migrated to schema %d", version);
    return 0;

fail:
    errbuf_set(err, errlen, "migrate to schema %d: %s", version, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

//  Bring the schema up to STORE_SCHEMA_VERSION.
static int s_migrate(sqlite3 *db, char *err, size_t errlen)
{
    for (int version = 1; version < S_MIGRATIONS; version++) {
        if (s_migrate_step(db, version, err, errlen) != 0)
            return -1;
    }
    return 0;
}

// ------------------------------------------------------------------ agent cache

static size_t s_id_hash(const void *key)
{
    uint64_t id = (uint64_t) *(const int64_t *) key;
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t) id;
}

static int s_id_compare(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static void s_agent_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void s_cache_add(store_t *self, const char *key, const store_agent_state_t *state,
                        int64_t epoch)
{
    size_t keylen = strlen(key);
    s_agent_t *agent = malloc(sizeof *agent + keylen + 1);
    if (!agent)
        return; // the cache is an optimisation only
    agent->state = *state;
    agent->pending_rows = -1;
    agent->epoch = epoch;
    memcpy(agent->key, key, keylen + 1);
    if (zhashx_insert(self->agents, agent->key, agent) != 0) {
        free(agent);
        return;
    }
    zhashx_update(self->agents_by_id, &agent->state.id, agent);
}

static void s_cache_seq(store_t *self, int64_t agent_id, uint64_t stream_id, uint64_t acked_seq)
{
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    if (agent) {
        agent->state.stream_id = stream_id;
        agent->state.acked_seq = acked_seq;
    }
}

//  The number of an agent's pending_seq rows is now rows (-1: unknown).
static void s_cache_pending_set(store_t *self, int64_t agent_id, int64_t rows)
{
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    if (agent)
        agent->pending_rows = rows;
}

//  delta rows were added to (or, negative, deleted from) an agent's
//  pending_seq; an unknown count stays unknown.
static void s_cache_pending_add(store_t *self, int64_t agent_id, int64_t delta)
{
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    if (agent && agent->pending_rows >= 0)
        agent->pending_rows = agent->pending_rows + delta < 0 ? -1 : agent->pending_rows + delta;
}

//  The one column statement `which` reads for an agent id; -1 with an error
//  when there is no such agent.
static int s_agent_column(store_t *self, s_stmt_id_t which, int64_t agent_id, int64_t *value_p)
{
    sqlite3_stmt *stmt = self->stmt[which];
    sqlite3_bind_int64(stmt, 1, agent_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *value_p = sqlite3_column_int64(stmt, 0);
        s_done(stmt);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        s_done(stmt);
        return s_failf(self, "agent %" PRId64 " not found", agent_id);
    }
    snprintf(self->error, sizeof self->error, "read agent: %s", sqlite3_errmsg(self->db));
    s_done(stmt);
    s_check_tx(self);
    return -1;
}

//  Stored stream id of an agent; -1 with an error when there is no such agent.
static int s_stream_id(store_t *self, int64_t agent_id, uint64_t *stream_id_p)
{
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    if (agent) {
        *stream_id_p = agent->state.stream_id;
        return 0;
    }
    int64_t stream = 0;
    if (s_agent_column(self, ST_AGENT_STREAM, agent_id, &stream) != 0)
        return -1;
    *stream_id_p = (uint64_t) stream;
    return 0;
}

//  Epoch of an agent (cached); -1 with an error when there is no such agent.
static int s_epoch(store_t *self, int64_t agent_id, int64_t *epoch_p)
{
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    if (agent) {
        *epoch_p = agent->epoch;
        return 0;
    }
    return s_agent_column(self, ST_AGENT_EPOCH, agent_id, epoch_p);
}

// ------------------------------------------------------------------ open / close

#define STORE_CHECKPOINT_MS 1000    // how often the WAL is copied back into the database
#define S_WAL_REWIND_BYTES (32 * 1024 * 1024) // the writer checkpoints a larger WAL itself

//  SQL ferry_metrics_chunk(body): a metrics chunk of that one body (the
//  migration of per-sample rows).
static void s_sql_metrics_chunk(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void) argc;
    uint8_t *chunk = NULL;
    size_t len = 0;
    const uint8_t *body = sqlite3_value_blob(argv[0]);
    if (metrics_chunk_of_one(body, (size_t) sqlite3_value_bytes(argv[0]), &chunk, &len) != 0) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_blob64(ctx, chunk, len, free);
}

//  Copies the WAL back into the database every second (PASSIVE: never
//  blocks the writer), so commits on the ingest thread only append to the
//  WAL. A second connection is what WAL mode allows; it writes no rows.
static void s_checkpointer(zsock_t *pipe, void *args)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2((const char *) args, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        log_warn("store: checkpoint thread cannot open the database: the WAL will grow"
                 " until the collector restarts");
        sqlite3_close(db);
        db = NULL;
    }
    else {
        sqlite3_busy_timeout(db, 1000);
        //  A connection learns that the database is in WAL mode when it first
        //  reads it; until then a checkpoint does nothing and says nothing
        //  (the WAL grew without end under steady ingest).
        char mode[32] = "";
        if (s_pragma(db, "PRAGMA journal_mode", mode, sizeof mode) != 0)
            log_warn("store: checkpoint thread: %s", sqlite3_errmsg(db));
    }
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, NULL);
    while (!zpoller_wait(poller, STORE_CHECKPOINT_MS)) {
        if (zpoller_terminated(poller))
            break;
        int rc = db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL)
                    : SQLITE_OK;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: checkpoint: %s", sqlite3_errmsg(db));
    }
    //  The pipe spoke: it can only be $TERM.
    zpoller_destroy(&poller);
    char *command = zstr_recv_nowait(pipe);
    zstr_free(&command);
    sqlite3_close(db);
}

store_t *store_open(const char *path, const store_options_t *opts, char *err, size_t errlen)
{
    store_t *self = calloc(1, sizeof *self);
    if (!self) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = opts ? *opts : (store_options_t) {.sync_full = true, .metrics_keep_ms = 0};
    self->agents = zhashx_new();
    self->agents_by_id = zhashx_new();
    if (!self->agents || !self->agents_by_id) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    //  Keys point into the items: not copied, not freed separately.
    zhashx_set_destructor(self->agents, s_agent_free);
    zhashx_set_key_duplicator(self->agents, NULL);
    zhashx_set_key_destructor(self->agents, NULL);
    zhashx_set_key_duplicator(self->agents_by_id, NULL);
    zhashx_set_key_destructor(self->agents_by_id, NULL);
    zhashx_set_key_hasher(self->agents_by_id, s_id_hash);
    zhashx_set_key_comparator(self->agents_by_id, s_id_compare);

    if (sqlite3_open_v2(path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL)
        != SQLITE_OK) {
        errbuf_set(err, errlen, "open %s: %s", path,
               self->db ? sqlite3_errmsg(self->db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(self->db, 1);
    sqlite3_busy_timeout(self->db, 5000);

    //  Refuse a newer database before changing anything in it.
    int version = 0;
    if (s_user_version(self->db, &version) != 0) {
        errbuf_set(err, errlen, "%s: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    if (version > STORE_SCHEMA_VERSION) {
        errbuf_set(err, errlen,
               "database schema %d is newer than this ferry-collector (%d): upgrade ferry",
               version, STORE_SCHEMA_VERSION);
        goto fail;
    }

    //  Before anything is written to a new database: 32 KiB pages instead of
    //  4 make a commit of appended metrics an eighth of the WAL writes
    //  (~20 % less time per stored row, measured). An existing database keeps
    //  the page size it has.
    if (version == 0 && sqlite3_exec(self->db, "PRAGMA page_size = 32768", NULL, NULL, NULL)
                            != SQLITE_OK) {
        errbuf_set(err, errlen, "%s: page size: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    char mode[32] = "";
    if (s_pragma(self->db, "PRAGMA journal_mode = WAL", mode, sizeof mode) != 0) {
        errbuf_set(err, errlen, "%s: WAL mode: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
        errbuf_set(err, errlen, "%s: cannot use WAL mode (journal mode is %s)", path, mode);
        goto fail;
    }
    //  A 32 MiB page cache keeps the index pages of many agents hot.
    const char *sync = self->opts.sync_full ? "PRAGMA synchronous = FULL"
                                            : "PRAGMA synchronous = NORMAL";
    //  Checkpoints run on a thread of their own (s_checkpointer): inside
    //  commits they cost the ingest thread ~11 % of its time. But only a
    //  checkpoint by the writer between two of its transactions can rewind
    //  the WAL while agents keep writing, so past S_WAL_REWIND_BYTES the
    //  commit that sees it checkpoints too: the thread has copied nearly
    //  everything by then.
    char setup[256];
    char page_size[32] = "";
    if (s_pragma(self->db, "PRAGMA page_size", page_size, sizeof page_size) != 0) {
        errbuf_set(err, errlen, "%s: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    long long bytes_per_page = strtoll(page_size, NULL, 10);
    long long pages = S_WAL_REWIND_BYTES / (bytes_per_page > 0 ? bytes_per_page : 4096);
    snprintf(setup, sizeof setup, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;"
             " PRAGMA wal_autocheckpoint = %lld; PRAGMA journal_size_limit = %d;", pages,
             2 * S_WAL_REWIND_BYTES);
    if (sqlite3_exec(self->db, sync, NULL, NULL, NULL) != SQLITE_OK
        || sqlite3_exec(self->db, setup, NULL, NULL, NULL) != SQLITE_OK) {
        errbuf_set(err, errlen, "%s: %s", path, sqlite3_errmsg(self->db));
        goto fail;
    }
    self->metrics = metrics_batch_new();
    if (!self->metrics
        || sqlite3_create_function_v2(self->db, "ferry_metrics_chunk", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                      s_sql_metrics_chunk, NULL, NULL, NULL)
               != SQLITE_OK) {
        errbuf_set(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (s_migrate(self->db, err, errlen) != 0)
        goto fail;
    self->checkpointer = zactor_new(s_checkpointer, (void *) path);

    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &self->stmt[i], NULL)
            != SQLITE_OK) {
            errbuf_set(err, errlen, "prepare \"%.60s\": %s", s_sql[i], sqlite3_errmsg(self->db));
            goto fail;
        }
    }
    return self;

fail:
    store_destroy(&self);
    return NULL;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    if (self->in_tx && self->stmt[ST_ROLLBACK])
        s_run(self, self->stmt[ST_ROLLBACK], "rollback");
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(self->stmt[i]);
    zactor_destroy(&self->checkpointer);
    if (self->db && sqlite3_close(self->db) != SQLITE_OK)
        log_error("store: close: %s", sqlite3_errmsg(self->db));
    zhashx_destroy(&self->agents_by_id);
    zhashx_destroy(&self->agents);
    metrics_batch_destroy(&self->metrics);
    free(self->refused);
    free(self);
    *self_p = NULL;
}

int store_schema_version(store_t *self)
{
    int version = 0;
    if (s_user_version(self->db, &version) != 0)
        return s_fail(self, "schema version");
    return version;
}

const char *store_error(store_t *self) { return self->error; }

int64_t store_max_length(store_t *self) { return sqlite3_limit(self->db, SQLITE_LIMIT_LENGTH, -1); }

// ------------------------------------------------------------------ transactions

int store_begin(store_t *self)
{
    if (self->in_tx)
        return s_failf(self, "begin: transaction already open");
    s_metrics_discard(self);
    self->refused_count = 0;
    if (s_run(self, self->stmt[ST_BEGIN], "begin") != 0)
        return -1;
    self->in_tx = true;
    return 0;
}

int store_commit(store_t *self)
{
    if (s_require_tx(self) != 0)
        return -1;
    if (s_metrics_flush(self) == 0 && s_run(self, self->stmt[ST_COMMIT], "commit") == 0) {
        self->in_tx = false;
        return 0;
    }
    //  Still open after a failed COMMIT (e.g. SQLITE_BUSY): give it up, so the
    //  caller sees the same state whatever the cause.
    if (self->in_tx) {
        sqlite3_step(self->stmt[ST_ROLLBACK]);
        s_done(self->stmt[ST_ROLLBACK]);
        self->in_tx = false;
        zhashx_purge(self->agents_by_id);
        zhashx_purge(self->agents);
    }
    return -1;
}

int store_rollback(store_t *self)
{
    if (!self->in_tx)
        return 0;
    //  Rows created in the transaction are gone: forget what we cached.
    s_metrics_discard(self);
    zhashx_purge(self->agents_by_id);
    zhashx_purge(self->agents);
    int rc = s_run(self, self->stmt[ST_ROLLBACK], "rollback");
    self->in_tx = false;
    return rc;
}

//  Asked of SQLite rather than in_tx: what it says is what a write now
//  would join.
bool store_tx_open(store_t *self) { return sqlite3_get_autocommit(self->db) == 0; }

// ------------------------------------------------------------------ agents

int store_agent_ensure(store_t *self, const char *key, int64_t now_ms, store_agent_state_t *state)
{
    if (!key || !*key)
        return s_failf(self, "agent ensure: empty key");
    s_agent_t *agent = zhashx_lookup(self->agents, key);
    if (agent) {
        *state = agent->state;
        return 0;
    }
    store_agent_state_t found = {0};
    int64_t epoch = 0;          // a new agent's
    sqlite3_stmt *stmt = self->stmt[ST_AGENT_GET];
    s_bind_text(stmt, 1, key);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        found.id = sqlite3_column_int64(stmt, 0);
        found.stream_id = (uint64_t) sqlite3_column_int64(stmt, 1);
        found.acked_seq = (uint64_t) sqlite3_column_int64(stmt, 2);
        epoch = sqlite3_column_int64(stmt, 3);
        s_done(stmt);
    }
    else if (rc == SQLITE_DONE) {
        s_done(stmt);
        //  New agent. Outside a transaction the INSERT commits on its own.
        stmt = self->stmt[ST_AGENT_ADD];
        s_bind_text(stmt, 1, key);
        sqlite3_bind_int64(stmt, 2, now_ms);
        if (s_run(self, stmt, "insert agent") != 0)
            return -1;
        found.id = sqlite3_last_insert_rowid(self->db);
    }
    else {
        snprintf(self->error, sizeof self->error, "read agent: %s", sqlite3_errmsg(self->db));
        s_done(stmt);
        s_check_tx(self);
        return -1;
    }
    s_cache_add(self, key, &found, epoch);
    *state = found;
    return 0;
}

int store_pending_load(store_t *self, int64_t agent_id, uint64_t **seqs_p, size_t *count_p)
{
    *seqs_p = NULL;
    *count_p = 0;
    uint64_t *seqs = NULL;
    size_t count = 0, alloc = 0;
    sqlite3_stmt *stmt = self->stmt[ST_PENDING_LOAD];
    sqlite3_bind_int64(stmt, 1, agent_id);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == alloc) {
            size_t grown = alloc ? alloc * 2 : 64;
            uint64_t *bigger = realloc(seqs, grown * sizeof *seqs);
            if (!bigger) {
                s_failf(self, "load pending seqs: out of memory");
                goto fail;
            }
            seqs = bigger;
            alloc = grown;
        }
        seqs[count++] = (uint64_t) sqlite3_column_int64(stmt, 0);
    }
    if (rc != SQLITE_DONE) {
        snprintf(self->error, sizeof self->error, "load pending seqs: %s",
                 sqlite3_errmsg(self->db));
        goto fail;
    }
    s_done(stmt);
    s_cache_pending_set(self, agent_id, (int64_t) count);
    *seqs_p = seqs;
    *count_p = count;
    return 0;

fail:
    s_done(stmt);
    s_check_tx(self);
    free(seqs);
    return -1;
}

int store_agent_hello(store_t *self, int64_t agent_id, const Ferry__Hello *hello, int64_t now_ms)
{
    if (s_require_tx(self) != 0)
        return -1;
    uint64_t stream_id = 0;
    if (s_stream_id(self, agent_id, &stream_id) != 0)
        return -1;
    //  A new stream restarts sequence tracking: acked_seq goes back to 0 (the
    //  statement does it) and the old stream's pending seqs go.
    if (hello->stream_id != stream_id) {
        sqlite3_stmt *clear = self->stmt[ST_PENDING_CLEAR];
        sqlite3_bind_int64(clear, 1, agent_id);
        if (s_run(self, clear, "clear pending seqs") != 0)
            return -1;
        s_cache_pending_set(self, agent_id, 0);
    }
    sqlite3_stmt *stmt = self->stmt[ST_AGENT_HELLO];
    sqlite3_bind_int64(stmt, 1, agent_id);
    s_bind_text(stmt, 2, hello->hostname);
    s_bind_text(stmt, 3, hello->platform);
    s_bind_text(stmt, 4, hello->agent_version);
    s_bind_text(stmt, 5, hello->boot_id);
    sqlite3_bind_int64(stmt, 6, now_ms);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64) hello->stream_id);
    if (s_run(self, stmt, "update agent hello") != 0)
        return -1;
    if (hello->stream_id != stream_id) {
        s_cache_seq(self, agent_id, hello->stream_id, 0);
        //  The statement started the next epoch.
        s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
        if (agent)
            agent->epoch++;
    }
    return 0;
}

int store_agent_seq(store_t *self, int64_t agent_id, uint64_t stream_id, uint64_t acked_seq)
{
    if (s_require_tx(self) != 0)
        return -1;
    uint64_t stored_stream = 0;
    if (s_stream_id(self, agent_id, &stored_stream) != 0)
        return -1;
    //  Called with every batch: skip the DELETE when no pending row is known.
    s_agent_t *agent = zhashx_lookup(self->agents_by_id, &agent_id);
    sqlite3_stmt *stmt = NULL;
    if (stored_stream != stream_id) {
        stmt = self->stmt[ST_PENDING_CLEAR];
        sqlite3_bind_int64(stmt, 1, agent_id);
    }
    else if (!agent || agent->pending_rows != 0) {
        stmt = self->stmt[ST_PENDING_TRIM];
        sqlite3_bind_int64(stmt, 1, agent_id);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64) acked_seq);
    }
    if (stmt) {
        if (s_run(self, stmt, "trim pending seqs") != 0)
            return -1;
        if (stored_stream != stream_id)
            s_cache_pending_set(self, agent_id, 0);
        else
            s_cache_pending_add(self, agent_id, -(int64_t) sqlite3_changes(self->db));
    }
    stmt = self->stmt[ST_AGENT_SEQ];
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) stream_id);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64) acked_seq);
    if (s_run(self, stmt, "update agent seq") != 0)
        return -1;
    s_cache_seq(self, agent_id, stream_id, acked_seq);
    return 0;
}

int store_pending_add(store_t *self, int64_t agent_id, uint64_t seq)
{
    if (s_require_tx(self) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[ST_PENDING_ADD];
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) seq);
    if (s_run(self, stmt, "insert pending seq") != 0)
        return -1;
    s_cache_pending_add(self, agent_id, sqlite3_changes(self->db));
    return 0;
}

int store_agent_seen(store_t *self, int64_t agent_id, int64_t last_seen_ms,
                     const Ferry__Heartbeat *hb, uint64_t bad_frames)
{
    if (s_require_tx(self) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[ST_AGENT_SEEN];
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, last_seen_ms);
    if (hb) {
        sqlite3_bind_int64(stmt, 3, hb->interval_ms);
        sqlite3_bind_int64(stmt, 4, hb->stall_ms);
        sqlite3_bind_int64(stmt, 5, (sqlite3_int64) hb->unacked);
        sqlite3_bind_int64(stmt, 6, (sqlite3_int64) hb->dropped);
    }
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64) bad_frames);
    if (s_run(self, stmt, "update agent seen") != 0)
        return -1;
    if (sqlite3_changes(self->db) == 0)
        return s_failf(self, "update agent seen: agent %" PRId64 " not found", agent_id);
    return 0;
}

// ------------------------------------------------------------------ checks

//  Deepest nesting of arrays and objects in JSON text; brackets inside
//  strings do not count. A scan, so that a deep document is refused before
//  a recursive parser walks it.
static int s_json_depth(const char *text)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = false;
        }
        else if (*p == '"')
            in_string = true;
        else if (*p == '[' || *p == '{')
            deepest = ++depth > deepest ? depth : deepest;
        else if (*p == ']' || *p == '}')
            depth--;
    }
    return deepest;
}

//  -1 with a reason when what is longer than the database takes.
static int s_check_length(const char *what, uint64_t len, int64_t max_length, char *reason,
                          size_t size)
{
    if (max_length >= 0 && len <= (uint64_t) max_length)
        return 0;
    snprintf(reason, size, "%s of %" PRIu64 " bytes: over the database's length limit of %"
             PRId64 " bytes", what, len, max_length);
    return -1;
}

static int s_check_text(const char *what, const char *text, int64_t max_length, char *reason,
                        size_t size)
{
    return s_check_length(what, strlen(s_str(text)), max_length, reason, size);
}

static int s_check_metrics(const Ferry__Metrics *metrics, const uint8_t *body, size_t body_len,
                           int64_t max_length, char *reason, size_t size)
{
    uint64_t len = body ? body_len : (metrics ? ferry__metrics__get_packed_size(metrics) : 0);
    if (len > METRICS_BODY_MAX) {
        snprintf(reason, size, "metrics body of %" PRIu64 " bytes: over the limit of %u bytes",
                 len, METRICS_BODY_MAX);
        return -1;
    }
    //  Stored in a chunk, alone at least: a field tag and a length more.
    if (max_length >= 11 && len <= (uint64_t) max_length - 11)
        return 0;
    snprintf(reason, size, "metrics body of %" PRIu64 " bytes: over the database's length limit"
             " of %" PRId64 " bytes", len, max_length);
    return -1;
}

static int s_check_event(const Ferry__Event *event, int64_t max_length, char *reason, size_t size)
{
    if (s_check_text("event kind", event->kind, max_length, reason, size) != 0
        || s_check_text("event message", event->message, max_length, reason, size) != 0)
        return -1;
    //  attrs_json at its longest: every byte escaped (\u00XX), quotes, ':' and ','.
    uint64_t json = 2;
    for (size_t i = 0; i < event->n_attrs; i++) {
        const Ferry__KeyValue *kv = event->attrs[i];
        if (kv)
            json += 6 * ((uint64_t) strlen(s_str(kv->key)) + strlen(s_str(kv->value))) + 6;
    }
    return s_check_length("event attributes as JSON", json, max_length, reason, size);
}

//  The document as the planner reads it (jansson, an object) and as
//  SQLite's JSON functions take it (the facts_partition index runs them on
//  every write): an empty or truncated document, a bare array or nesting
//  past SQLite's limit failed the whole batch before.
static int s_check_facts(const Ferry__Facts *facts, int64_t max_length, char *reason, size_t size)
{
    if (s_check_text("facts digest", facts->digest, max_length, reason, size) != 0
        || s_check_text("facts JSON", facts->json, max_length, reason, size) != 0)
        return -1;
    const char *text = s_str(facts->json);
    if (s_json_depth(text) > STORE_JSON_DEPTH_MAX) {
        snprintf(reason, size, "facts JSON: nested deeper than %d levels", STORE_JSON_DEPTH_MAX);
        return -1;
    }
    json_error_t error;
    json_t *doc = json_loads(text, 0, &error);
    if (!doc) {
        snprintf(reason, size, "facts JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return -1;
    }
    bool object = json_is_object(doc);
    json_decref(doc);
    if (!object) {
        snprintf(reason, size, "facts JSON: an array, not an object");
        return -1;
    }
    return 0;
}

static int s_check_job_update(const Ferry__JobUpdate *update, int64_t max_length, char *reason,
                              size_t size)
{
    if (s_check_text("job update job_id", update->job_id, max_length, reason, size) != 0
        || s_check_text("job update state", update->state, max_length, reason, size) != 0
        || s_check_text("job update message", update->message, max_length, reason, size) != 0)
        return -1;
    return 0;
}

int store_check(const Ferry__Envelope *env, const uint8_t *body, size_t body_len,
                int64_t max_length, char *reason, size_t reason_size)
{
    if (reason_size)
        reason[0] = '\0';
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_METRICS:
        return s_check_metrics(env->metrics, body, body_len, max_length, reason, reason_size);
    case FERRY__ENVELOPE__BODY_EVENT:
        return s_check_event(env->event, max_length, reason, reason_size);
    case FERRY__ENVELOPE__BODY_FACTS:
        return s_check_facts(env->facts, max_length, reason, reason_size);
    case FERRY__ENVELOPE__BODY_JOB_UPDATE:
        return s_check_job_update(env->job_update, max_length, reason, reason_size);
    default:
        return 0;
    }
}

// ------------------------------------------------------------------ data rows

//  One row of `rejected` (and the agent's count), epoch and clock given.
static int s_reject_row(store_t *self, const store_rejection_t *r, int64_t epoch, int64_t now_ms)
{
    sqlite3_stmt *stmt = self->stmt[ST_REJECT];
    sqlite3_bind_int64(stmt, 1, r->agent_id);
    sqlite3_bind_int64(stmt, 2, epoch);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64) r->seq);
    sqlite3_bind_int64(stmt, 4, r->time_ms);
    sqlite3_bind_int64(stmt, 5, now_ms);
    s_bind_text(stmt, 6, r->kind);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64) r->bytes);
    s_bind_text(stmt, 8, r->reason);
    if (s_run(self, stmt, "insert rejected") != 0)
        return -1;
    stmt = self->stmt[ST_AGENT_REJECTED];
    sqlite3_bind_int64(stmt, 1, r->agent_id);
    return s_run(self, stmt, "count rejected");
}

//  Insert one chunk. 0 / -1 (failed_code says whose fault).
static int s_metrics_insert(store_t *self, const metrics_chunk_t *c)
{
    sqlite3_stmt *stmt = self->stmt[ST_METRICS];
    sqlite3_bind_int64(stmt, 1, c->agent_id);
    sqlite3_bind_int64(stmt, 2, c->epoch);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64) c->samples);
    sqlite3_bind_int64(stmt, 4, c->first_time_ms);
    sqlite3_bind_int64(stmt, 5, c->time_ms);
    sqlite3_bind_text(stmt, 6, c->seqs_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, c->times_json, -1, SQLITE_STATIC);
    for (int v = 0; v < METRICS_VALUES; v++)
        if (c->present & (1u << v))
            sqlite3_bind_double(stmt, 8 + v, c->value[v]);
    //  SQLite refuses a chunk over its own length limit: say so, rather than
    //  step with the chunk unbound (NOT NULL constraint failed).
    int rc = sqlite3_bind_blob64(stmt, 15, c->chunk, c->chunk_len, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        s_done(stmt);
        s_failf(self, "metrics of %zu bytes: over the database's length limit of %d bytes",
                c->body_bytes, sqlite3_limit(self->db, SQLITE_LIMIT_LENGTH, -1));
        self->failed_code = rc;
        return -1;
    }
    return s_run(self, stmt, "insert metrics");
}

//  The single sample in c was refused: set it aside, and list it for the
//  caller (store_commit_rejections).
static int s_metrics_refuse(store_t *self, const metrics_chunk_t *c)
{
    if (self->refused_count == self->refused_cap) {
        size_t cap = self->refused_cap ? self->refused_cap * 2 : 16;
        store_rejection_t *grown = realloc(self->refused, cap * sizeof *grown);
        if (!grown)
            return s_failf(self, "insert metrics: out of memory");
        self->refused = grown;
        self->refused_cap = cap;
    }
    store_rejection_t *r = &self->refused[self->refused_count];
    *r = (store_rejection_t) { .agent_id = c->agent_id, .seq = c->first_seq,
                               .time_ms = c->time_ms, .kind = "metrics",
                               .bytes = c->body_bytes };
    snprintf(r->reason, sizeof r->reason, "%s", self->error);
    if (s_reject_row(self, r, c->epoch, clock_wall_ms()) != 0)
        return -1;
    self->refused_count++;
    return 0;
}

//  Write the open transaction's samples, a row per chunk. A chunk refused for
//  what it holds (over the length limit, say) is split and its samples tried
//  one by one; one still refused alone is set aside. A single statement
//  needs no savepoint: SQLite takes back a failed statement by itself. On
//  failure (-1) the caller rolls the transaction back.
static int s_metrics_flush(store_t *self)
{
    if (metrics_batch_count(self->metrics) == 0)
        return 0;
    metrics_chunk_t c;
    int more = 0, rc = 0;
    while (rc == 0 && (more = metrics_batch_next(self->metrics, &c)) == 1) {
        if (s_metrics_insert(self, &c) == 0)
            continue;
        if (!s_refused(self))
            rc = -1;
        else if (c.samples > 1)
            metrics_batch_split(self->metrics);
        else
            rc = s_metrics_refuse(self, &c);
    }
    metrics_batch_clear(self->metrics);
    if (rc == 0 && more < 0)
        return s_failf(self, "insert metrics: out of memory");
    return rc;
}

int store_metrics(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                  const Ferry__Metrics *metrics, const uint8_t *body, size_t body_len)
{
    if (!self->in_tx)
        return s_failf(self, "no transaction");
    int64_t epoch = 0;
    if (s_epoch(self, agent_id, &epoch) != 0)
        return -1;
    if (body_len > METRICS_BODY_MAX)
        return s_failf(self, "insert metrics: body of %zu bytes", body_len);
    if (metrics_batch_add(self->metrics, agent_id, epoch, seq, time_ms, metrics, body, body_len)
        != 0)
        return s_failf(self, "insert metrics: out of memory");
    return 0;
}

//  A JSON string for s; bytes that are not valid UTF-8 become '?'.
static json_t *s_json_string(const char *s)
{
    s = s_str(s);
    json_t *json = json_string(s);
    if (json)
        return json;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (unsigned char *p = (unsigned char *) copy; *p; p++) {
        if (*p >= 0x80)
            *p = '?';
    }
    json = json_string(copy);
    free(copy);
    return json;
}

int store_event(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                int64_t stored_ms, const Ferry__Event *event)
{
    if (s_require_tx(self) != 0)
        return -1;
    int rc = -1;
    char *attrs = NULL;
    json_t *object = json_object();
    if (!object)
        goto oom;
    for (size_t i = 0; i < event->n_attrs; i++) {
        const Ferry__KeyValue *kv = event->attrs[i];
        if (!kv)
            continue;
        //  Keys must be valid UTF-8 too: sanitise through a JSON string.
        json_t *key = s_json_string(kv->key);
        json_t *value = s_json_string(kv->value);
        int set = key && value ? json_object_set(object, json_string_value(key), value) : -1;
        json_decref(key);
        json_decref(value);
        if (set != 0)
            goto oom;
    }
    attrs = json_dumps(object, JSON_COMPACT);
    if (!attrs)
        goto oom;

    if (s_message_begin(self) != 0)
        goto done;
    sqlite3_stmt *stmt = self->stmt[ST_EVENT];
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) seq);
    //  When it happened, if the agent said so; else when it was sent.
    sqlite3_bind_int64(stmt, 3, event->time_ms != 0 ? event->time_ms : time_ms);
    sqlite3_bind_int64(stmt, 4, stored_ms);
    s_bind_text(stmt, 5, event->kind);
    s_bind_text(stmt, 6, event->message);
    sqlite3_bind_text(stmt, 7, attrs, -1, SQLITE_STATIC);
    rc = s_message_end(self, s_run(self, stmt, "insert event"));
    goto done;

oom:
    s_failf(self, "insert event: out of memory building attrs_json");
done:
    free(attrs);
    json_decref(object);
    return rc;
}

static void s_bind_facts(sqlite3_stmt *stmt, int64_t agent_id, uint64_t seq, int64_t time_ms,
                         const Ferry__Facts *facts)
{
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) seq);
    sqlite3_bind_int64(stmt, 3, time_ms);
    s_bind_text(stmt, 4, facts->digest);
    s_bind_text(stmt, 5, facts->json);
}

//  The statements of store_facts: 0 / -1.
static int s_facts_write(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                         const Ferry__Facts *facts)
{
    sqlite3_stmt *stmt = self->stmt[ST_FACTS_SAME];
    sqlite3_bind_int64(stmt, 1, agent_id);
    s_bind_text(stmt, 2, facts->digest);
    s_bind_text(stmt, 3, facts->json);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(self->error, sizeof self->error, "read facts: %s", sqlite3_errmsg(self->db));
        self->failed_code = sqlite3_extended_errcode(self->db);
        s_done(stmt);
        s_check_tx(self);
        return -1;
    }
    s_done(stmt);
    bool changed = rc == SQLITE_DONE;

    if (changed) {
        stmt = self->stmt[ST_FACTS_HISTORY];
        s_bind_facts(stmt, agent_id, seq, time_ms, facts);
        if (s_run(self, stmt, "insert facts history") != 0)
            return -1;
        //  (agent, seq) already in the history: a replay of older facts, which
        //  must not replace the current ones.
        if (sqlite3_changes(self->db) == 0)
            return 0;
    }
    stmt = self->stmt[ST_FACTS_CURRENT];
    s_bind_facts(stmt, agent_id, seq, time_ms, facts);
    return s_run(self, stmt, "upsert current facts");
}

int store_facts(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                const Ferry__Facts *facts)
{
    if (s_require_tx(self) != 0 || s_message_begin(self) != 0)
        return -1;
    //  The history row stays only if the current facts take the document too.
    return s_message_end(self, s_facts_write(self, agent_id, seq, time_ms, facts));
}

int store_job_update(store_t *self, int64_t agent_id, uint64_t seq, int64_t time_ms,
                     const Ferry__JobUpdate *update)
{
    if (s_require_tx(self) != 0 || s_message_begin(self) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[ST_JOB_UPDATE];
    sqlite3_bind_int64(stmt, 1, agent_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) seq);
    sqlite3_bind_int64(stmt, 3, time_ms);
    s_bind_text(stmt, 4, update->job_id);
    s_bind_text(stmt, 5, update->state);
    sqlite3_bind_int(stmt, 6, update->phase);
    s_bind_text(stmt, 7, update->message);
    sqlite3_bind_int(stmt, 8, update->exit_code);
    return s_message_end(self, s_run(self, stmt, "insert job update"));
}

int store_reject(store_t *self, const store_rejection_t *r, int64_t now_ms)
{
    if (s_require_tx(self) != 0)
        return -1;
    int64_t epoch = 0;
    if (s_epoch(self, r->agent_id, &epoch) != 0)
        return -1;
    return s_reject_row(self, r, epoch, now_ms);
}

const store_rejection_t *store_commit_rejections(store_t *self, size_t *count_p)
{
    *count_p = self->refused_count;
    return self->refused;
}

int store_prune(store_t *self, int64_t now_ms, int max_chunks)
{
    if (s_require_tx(self) != 0)
        return -1;
    if (self->opts.metrics_keep_ms <= 0 || max_chunks <= 0)
        return 0;
    if (s_metrics_flush(self) != 0)
        return -1;
    sqlite3_stmt *stmt = self->stmt[ST_PRUNE];
    sqlite3_bind_int64(stmt, 1, now_ms - self->opts.metrics_keep_ms);
    sqlite3_bind_int(stmt, 2, max_chunks);
    if (s_run(self, stmt, "prune metrics") != 0)
        return -1;
    return sqlite3_changes(self->db);
}

int store_agent_by_partition(store_t *self, const char *partition, char *key, char **facts_p)
{
    if (facts_p)
        *facts_p = NULL;
    sqlite3_stmt *stmt = self->stmt[ST_AGENT_BY_PARTITION];
    s_bind_text(stmt, 1, partition);
    int rc = sqlite3_step(stmt);
    int result = 1;
    if (rc == SQLITE_ROW) {
        snprintf(key, 41, "%s", (const char *) sqlite3_column_text(stmt, 0));
        if (facts_p && sqlite3_column_text(stmt, 1))
            *facts_p = strdup((const char *) sqlite3_column_text(stmt, 1));
        result = 0;
    }
    else if (rc != SQLITE_DONE) {
        snprintf(self->error, sizeof self->error, "find agent by partition: %s",
                 sqlite3_errmsg(self->db));
        result = -1;
    }
    s_done(stmt);
    return result;
}

sqlite3 *store_db(store_t *self) { return self->db; }

int store_window_evidence(store_t *self, const char *key, int64_t since_ms, char *serial,
                          size_t serial_size, char *boot_id, size_t boot_size, unsigned *phases)
{
    serial[0] = boot_id[0] = '\0';
    *phases = 0;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(self->db,
                                "SELECT json_extract(f.json, '$.system.serial'),"
                                " coalesce(json_extract(f.json, '$.boot_id'), a.boot_id)"
                                " FROM agents a LEFT JOIN facts_current f ON f.agent_id = a.id"
                                " WHERE a.key = ?1", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return s_fail(self, "window evidence");
    s_bind_text(stmt, 1, key);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text(stmt, 0);
        snprintf(serial, serial_size, "%s", text ? text : "");
        text = (const char *) sqlite3_column_text(stmt, 1);
        snprintf(boot_id, boot_size, "%s", text ? text : "");
    }
    sqlite3_finalize(stmt);
    rc = sqlite3_prepare_v2(self->db,
                            "SELECT e.kind, json_extract(e.attrs_json, '$.phase'),"
                            " json_extract(e.attrs_json, '$.new')"
                            " FROM events e JOIN agents a ON a.id = e.agent_id"
                            " WHERE a.key = ?1 AND e.stored_ms >= ?2 AND e.kind IN"
                            " ('lpm_phase', 'serial_changed') ORDER BY e.id", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return s_fail(self, "window evidence");
    s_bind_text(stmt, 1, key);
    sqlite3_bind_int64(stmt, 2, since_ms);
    static const char *const names[] = { "check", "pre", "post", "posterror" };
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *kind = (const char *) sqlite3_column_text(stmt, 0);
        const char *phase = (const char *) sqlite3_column_text(stmt, 1);
        const char *new_serial = (const char *) sqlite3_column_text(stmt, 2);
        if (kind && strcmp(kind, "serial_changed") == 0 && new_serial)
            snprintf(serial, serial_size, "%s", new_serial);
        for (unsigned i = 0; phase && i < 4; i++)
            if (strcmp(phase, names[i]) == 0)
                *phases |= 1u << i;
    }
    sqlite3_finalize(stmt);
    return 0;
}
