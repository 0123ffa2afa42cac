/*  store_read — read-only connections and the named queries the API serves;
    see store_read.h. The SQL and the row-to-JSON mapping moved here as they
    were in collector/http/api.c, so the JSON is the same byte for byte. */
#include "store_read.h"

#include "errbuf.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _store_reader_t {
    sqlite3 *db;
};

// ------------------------------------------------------------------ life

store_reader_t *store_reader_open(const char *db_path, char *err, size_t errlen)
{
    if (!db_path) {
        errbuf_set(err, errlen, "database: no path");
        return NULL;
    }
    store_reader_t *self = calloc(1, sizeof *self);
    if (!self) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    //  NOMUTEX: a reader belongs to one thread at a time (store_read.h), so
    //  SQLite's per-connection mutex would only cost.
    if (sqlite3_open_v2(db_path, &self->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        errbuf_set(err, errlen, "database %s: %s", db_path,
               self->db ? sqlite3_errmsg(self->db) : "out of memory");
        store_reader_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, STORE_READ_BUSY_MS);
    return self;
}

void store_reader_destroy(store_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_reader_t *self = *self_p;
    sqlite3_close(self->db);
    free(self);
    *self_p = NULL;
}

// ------------------------------------------------------------------ rows

static json_t *s_column(sqlite3_stmt *stmt, int i)
{
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT:
    case SQLITE_BLOB:
        return json_stringn((const char *) sqlite3_column_text(stmt, i),
                            (size_t) sqlite3_column_bytes(stmt, i));
    default:
        return json_null();
    }
}

//  A JSON text column parsed; the text itself when it does not parse, so a
//  damaged row still shows what it holds instead of failing the request.
static json_t *s_json_column(sqlite3_stmt *stmt, int i)
{
    if (sqlite3_column_type(stmt, i) != SQLITE_TEXT)
        return s_column(stmt, i);
    json_t *value = json_loadb((const char *) sqlite3_column_text(stmt, i),
                               (size_t) sqlite3_column_bytes(stmt, i), JSON_DECODE_ANY, NULL);
    return value ? value : s_column(stmt, i);
}

//  Run sql (id bound to ?1 when it has a parameter) and return its rows as
//  objects keyed by column name, in column order; columns named in json_cols
//  (NULL-terminated, may be NULL) are parsed as JSON. A new array, or NULL
//  with a message on failure.
static json_t *s_query(sqlite3 *db, const char *sql, int64_t id, const char *const json_cols[],
                       char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    json_t *rows = json_array();
    if (!rows || sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_bind_parameter_count(stmt) > 0 && sqlite3_bind_int64(stmt, 1, id) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *row = json_object();
        if (!row || json_array_append_new(rows, row) != 0)
            goto fail;
        for (int i = 0; i < sqlite3_column_count(stmt); i++) {
            const char *name = sqlite3_column_name(stmt, i);
            bool is_json = false;
            for (size_t j = 0; json_cols && json_cols[j]; j++)
                is_json = is_json || strcmp(json_cols[j], name) == 0;
            json_object_set_new(row, name, is_json ? s_json_column(stmt, i) : s_column(stmt, i));
        }
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(stmt);
    return rows;
fail:
    errbuf_set(err, errlen, "database: %s", rows ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_finalize(stmt);
    json_decref(rows);
    return NULL;
}

// ------------------------------------------------------------------ queries

//  A fact from the agent's current facts; facts that are not valid JSON give
//  null rather than failing the whole list (json_extract would raise).
#define S_FACT(path, alias) \
    "CASE WHEN json_valid(f.json) THEN json_extract(f.json, '" path "') END AS " alias

static const char s_sql_agents[] =
    "SELECT a.id AS id, a.key AS key, a.hostname AS hostname, a.platform AS platform,"
    " a.agent_version AS agent_version, a.boot_id AS boot_id, "
    S_FACT("$.partition.name", "partition") ", "
    S_FACT("$.system.serial", "serial") ", "
    S_FACT("$.os.level", "os_level") ","
    " a.last_seen_ms AS last_seen_ms, a.acked_seq AS acked_seq"
    " FROM agents a LEFT JOIN facts_current f ON f.agent_id = a.id ORDER BY a.id";

static const char s_sql_plans[] =
    "SELECT p.id AS id, p.name AS name, p.hmc AS hmc, p.state AS state,"
    " p.created_ms AS created_ms, p.started_ms AS started_ms, p.finished_ms AS finished_ms,"
    " p.message AS message, count(m.id) AS total,"
    " coalesce(sum(m.state = 'pending'), 0) AS pending,"
    " coalesce(sum(m.state IN ('checking', 'validating', 'migrating', 'verifying',"
    "   'recovering')), 0) AS running,"
    " coalesce(sum(m.state = 'verified'), 0) AS verified,"
    " coalesce(sum(m.state = 'failed'), 0) AS failed,"
    " coalesce(sum(m.state = 'blocked'), 0) AS blocked"
    " FROM plans p LEFT JOIN moves m ON m.plan_id = p.id GROUP BY p.id ORDER BY p.id";

static const char s_sql_plan[] =
    "SELECT id, name, hmc, state, created_ms, started_ms, finished_ms, message, doc AS plan"
    " FROM plans WHERE id = ?1";

static const char s_sql_moves[] =
    "SELECT id, position, partition, route, hop, state, source, submissions, started_ms,"
    " finished_ms, outage_ms, checks, message FROM moves WHERE plan_id = ?1 ORDER BY position";

json_t *store_read_agents(store_reader_t *self, char *err, size_t errlen)
{
    if (!self) {
        errbuf_set(err, errlen, "database: no reader");
        return NULL;
    }
    return s_query(self->db, s_sql_agents, 0, NULL, err, errlen);
}

json_t *store_read_plans(store_reader_t *self, char *err, size_t errlen)
{
    //  The counts come back as columns of the plan's row; the API nests them
    //  under "moves", after the plan's own fields.
    static const char *const counts[] = {"total",    "pending", "running",
                                         "verified", "failed",  "blocked"};
    if (!self) {
        errbuf_set(err, errlen, "database: no reader");
        return NULL;
    }
    json_t *rows = s_query(self->db, s_sql_plans, 0, NULL, err, errlen);
    if (!rows)
        return NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *moves = json_object();
        if (!moves || json_object_set_new(row, "moves", moves) != 0) {
            errbuf_set(err, errlen, "out of memory");
            json_decref(rows);
            return NULL;
        }
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
            json_object_set(moves, counts[j], json_object_get(row, counts[j]));
            json_object_del(row, counts[j]);
        }
    }
    return rows;
}

json_t *store_read_plan(store_reader_t *self, int64_t id, bool *not_found, char *err,
                        size_t errlen)
{
    static const char *const plan_json[] = {"plan", NULL};
    static const char *const move_json[] = {"route", "checks", NULL};
    *not_found = false;
    if (!self) {
        errbuf_set(err, errlen, "database: no reader");
        return NULL;
    }
    json_t *plans = s_query(self->db, s_sql_plan, id, plan_json, err, errlen);
    if (!plans)
        return NULL;
    if (json_array_size(plans) == 0) {
        json_decref(plans);
        *not_found = true;
        return NULL;
    }
    json_t *plan = json_incref(json_array_get(plans, 0));
    json_decref(plans);
    //  Plan and moves in two statements without a transaction around them:
    //  as before, a move written between the two shows up; the planner writes
    //  a plan and its moves in one transaction, so none can be half there.
    json_t *moves = s_query(self->db, s_sql_moves, id, move_json, err, errlen);
    if (!moves || json_object_set_new(plan, "moves", moves) != 0) {
        if (moves)
            errbuf_set(err, errlen, "out of memory");
        json_decref(plan);
        return NULL;
    }
    return plan;
}
