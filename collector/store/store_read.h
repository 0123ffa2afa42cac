/*  store_read — the read side of the collector's database: read-only
    connections and named queries, for code off the store's thread (the HTTP
    API). DESIGN §5: the store is the only code that speaks SQL; readers open
    their own connections, which WAL lets read while the store writes.

    A reader is one read-only SQLite connection (SQLITE_OPEN_READONLY, no
    mutex: use it from one thread at a time), with a busy timeout of
    STORE_READ_BUSY_MS so a read waits out a checkpoint instead of failing.
    Opening one is cheap; the API opens one per request.

    The queries return the JSON the API serves (collector/http/api.h has the
    shapes): rows as objects keyed by column name, in the column order shown;
    columns SQL leaves NULL (a time not reached, an outage never measured,
    an agent without facts) are JSON null; columns holding JSON text (route,
    checks, the plan document) are parsed, or given as the text itself when
    they do not parse. */
#ifndef FERRY_STORE_READ_H
#define FERRY_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STORE_READ_BUSY_MS 5000

typedef struct _store_reader_t store_reader_t;

//  Open the database at db_path (borrowed) read-only. It must exist (made by
//  store_open); it is never created or migrated here. Returns a new reader
//  owned by the caller (store_reader_destroy), or NULL with a readable
//  message in err.
store_reader_t *store_reader_open(const char *db_path, char *err, size_t errlen);

//  Close the connection and free; NULLs *self_p. Safe on NULL and twice.
void store_reader_destroy(store_reader_t **self_p);

//  Every agent, by id: [{id, key, hostname, platform, agent_version,
//  boot_id, partition, serial, os_level, last_seen_ms, acked_seq}], the
//  partition, serial and OS level from the agent's current facts (null
//  without facts or when the facts do not say). Returns a new reference
//  owned by the caller, or NULL with a message in err.
json_t *store_read_agents(store_reader_t *self, char *err, size_t errlen);

//  Every plan, by id, with its moves counted by state: [{id, name, hmc,
//  state, created_ms, started_ms, finished_ms, message, moves: {total,
//  pending, running, verified, failed, blocked}}]; "running" counts
//  checking, validating, migrating, verifying and recovering moves. New
//  reference owned by the caller, or NULL with a message in err.
json_t *store_read_plans(store_reader_t *self, char *err, size_t errlen);

//  Plan id with its document and moves: {id, name, hmc, state, created_ms,
//  started_ms, finished_ms, message, plan, moves: [{id, position,
//  partition, route, hop, state, source, submissions, started_ms,
//  finished_ms, outage_ms, checks, message}]}, moves by position. Returns a
//  new reference owned by the caller. NULL otherwise, and *not_found (the
//  caller's flag, always set) says why: true when there is no plan id (err
//  untouched), false when the database failed (message in err).
json_t *store_read_plan(store_reader_t *self, int64_t id, bool *not_found, char *err,
                        size_t errlen);

#endif
