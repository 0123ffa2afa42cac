/*  store_plan — plans, moves and audit rows (see store_plan.h for the contract).

    Works on the store's connection (store_db): the planner's writes belong
    in the same transactions as everything else the collector thread writes.
    Statements are prepared once and reset + cleared after each use, as in
    store.c; text is bound SQLITE_STATIC because every binding is cleared
    before the call that made it returns. */
#include "store_plan.h"
#include "store_private.h"

#include "errbuf.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Prepared statements, by index into s_sql[].
typedef enum {
    ST_PLAN_INSERT,
    ST_MOVE_INSERT,
    ST_PLAN_RUNNING,
    ST_PLAN_FINAL,
    ST_PLAN_STATE,
    ST_MOVE_SAVE,
    ST_AUDIT,
    ST_RESUME_IDS,
    ST_PLAN_GET,
    ST_MOVES_LOAD,
    ST_PLAN_JSON,
    ST_MOVES_JSON,
    ST_COUNT
} s_stmt_id_t;

//  The plan state statements all take ?1 state, ?2 time, ?3 id, so that one
//  binding serves them; ST_PLAN_STATE leaves ?2 unused.
static const char *const s_sql[ST_COUNT] = {
    [ST_PLAN_INSERT] = "INSERT INTO plans (name, hmc, doc, state, created_ms, message)"
                       " VALUES (?1, ?2, ?3, 'ready', ?4, ?5)",
    [ST_MOVE_INSERT] = "INSERT INTO moves (plan_id, position, partition, route, state, updated_ms)"
                       " VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
    [ST_PLAN_RUNNING] = "UPDATE plans SET state = ?1, started_ms = coalesce(started_ms, ?2)"
                        " WHERE id = ?3",
    [ST_PLAN_FINAL] = "UPDATE plans SET state = ?1, finished_ms = ?2 WHERE id = ?3",
    [ST_PLAN_STATE] = "UPDATE plans SET state = ?1 WHERE id = ?3",
    [ST_MOVE_SAVE] = "UPDATE moves SET state = ?1, hop = ?2, job_id = ?3, job_op = ?4,"
                     " submissions = ?5, agent_key = ?6, source = ?7, started_ms = ?8,"
                     " finished_ms = ?9, outage_ms = ?10, checks = ?11, message = ?12,"
                     " updated_ms = ?13, window_ms = ?14, window_boot_id = ?15 WHERE id = ?16",
    [ST_AUDIT] = "INSERT INTO audit (time_ms, actor, action, target, outcome, detail)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_RESUME_IDS] = "SELECT DISTINCT p.id FROM plans p JOIN moves m ON m.plan_id = p.id"
                      " WHERE p.state IN ('running', 'paused', 'aborted') AND m.state NOT IN"
                      " ('blocked', 'failed', 'verified', 'validated', 'aborted')"
                      " UNION SELECT id FROM plans WHERE state = 'ready'",
    [ST_PLAN_GET] = "SELECT doc, state, hmc FROM plans WHERE id = ?1",
    [ST_MOVES_LOAD] = "SELECT id, position, state, hop, job_id, job_op, submissions, agent_key,"
                      " source, started_ms, finished_ms, outage_ms, checks, message, window_ms,"
                      " window_boot_id FROM moves WHERE plan_id = ?1 ORDER BY position",
    [ST_PLAN_JSON] = "SELECT id, name, hmc, state, created_ms, started_ms, finished_ms, message,"
                     " doc FROM plans WHERE id = ?1",
    [ST_MOVES_JSON] = "SELECT id, position, partition, route, hop, state, job_id, job_op,"
                      " submissions, source, started_ms, finished_ms, outage_ms, checks, message"
                      " FROM moves WHERE plan_id = ?1 ORDER BY position",
};

struct _store_plan_t {
    store_t *store;                 // borrowed: owns the connection
    sqlite3 *db;                    // store_db(store), borrowed
    sqlite3_stmt *stmt[ST_COUNT];   // prepared once, reset after every use
    char error[1024];               // latest failure
};

static void s_done(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

//  Record "what: SQLite's message" as the latest error (taken before the
//  statement is reset, which may change it); returns -1.
static int s_fail(store_plan_t *self, sqlite3_stmt *stmt, const char *what)
{
    snprintf(self->error, sizeof self->error, "%s: %s", what, sqlite3_errmsg(self->db));
    if (stmt)
        s_done(stmt);
    return -1;
}

//  Writes join the caller's transaction; outside one a write would commit
//  by itself, ahead of what the caller meant to commit with it.
static int s_require_tx(store_plan_t *self, const char *what)
{
    if (store_tx_open(self->store))
        return 0;
    snprintf(self->error, sizeof self->error, "%s: no transaction", what);
    return -1;
}

//  Run a statement that returns no rows; reset and clear it. 0 / -1.
static int s_run(store_plan_t *self, sqlite3_stmt *stmt, const char *what)
{
    if (sqlite3_step(stmt) != SQLITE_DONE)
        return s_fail(self, stmt, what);
    s_done(stmt);
    return 0;
}

//  Bind text, or NULL when empty (the columns where NULL means "none").
static void s_bind_opt(sqlite3_stmt *stmt, int col, const char *text)
{
    if (text && text[0])
        sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, col);
}

static void s_bind_text(sqlite3_stmt *stmt, int col, const char *text)
{
    sqlite3_bind_text(stmt, col, text ? text : "", -1, SQLITE_STATIC);
}

//  A text column into out (cut to size), "" for NULL.
static void s_col(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    snprintf(out, size, "%s", text ? (const char *) text : "");
}

store_plan_t *store_plan_new(store_t *store, char *err, size_t errlen)
{
    store_plan_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->store = store;
    self->db = store_db(store);
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->stmt[i],
                               NULL)
            != SQLITE_OK) {
            snprintf(err, errlen, "prepare \"%.60s\": %s", s_sql[i], sqlite3_errmsg(self->db));
            store_plan_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void store_plan_destroy(store_plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_plan_t *self = *self_p;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(self->stmt[i]);
    free(self);
    *self_p = NULL;
}

const char *store_plan_error(store_plan_t *self) { return self->error; }

// ------------------------------------------------------------------ writes

int store_plan_insert(store_plan_t *self, const plan_t *plan, const char *message,
                      int64_t now_ms, int64_t *plan_id_p, int64_t *move_ids)
{
    if (s_require_tx(self, "insert plan") != 0)
        return -1;
    json_t *doc = plan_to_json(plan);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        snprintf(self->error, sizeof self->error, "insert plan: out of memory");
        return -1;
    }
    sqlite3_stmt *st = self->stmt[ST_PLAN_INSERT];
    s_bind_text(st, 1, plan->name);
    s_bind_text(st, 2, plan->hmc);
    s_bind_text(st, 3, text);
    sqlite3_bind_int64(st, 4, now_ms);
    s_bind_text(st, 5, message);
    if (sqlite3_step(st) != SQLITE_DONE) {
        //  The name is the one constraint a caller can break: said plainly.
        bool taken = sqlite3_extended_errcode(self->db) == SQLITE_CONSTRAINT_UNIQUE;
        s_fail(self, st, "insert plan");
        free(text);
        if (!taken)
            return -1;
        snprintf(self->error, sizeof self->error, "a plan named %s exists already", plan->name);
        return 1;
    }
    s_done(st);
    free(text);
    int64_t id = sqlite3_last_insert_rowid(self->db);
    st = self->stmt[ST_MOVE_INSERT];
    for (size_t i = 0; i < plan->move_count; i++) {
        json_t *route = json_array();
        for (size_t h = 0; h < plan->moves[i].hop_count; h++)
            json_array_append_new(route, json_string(plan->moves[i].hops[h]));
        char *route_text = json_dumps(route, JSON_COMPACT);
        json_decref(route);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t) i);
        s_bind_text(st, 3, plan->moves[i].partition);
        s_bind_text(st, 4, route_text ? route_text : "[]");
        sqlite3_bind_int64(st, 5, now_ms);
        int rc = s_run(self, st, "insert move");
        free(route_text);
        if (rc != 0)
            return -1;
        if (move_ids)
            move_ids[i] = sqlite3_last_insert_rowid(self->db);
    }
    *plan_id_p = id;
    return 0;
}

int store_plan_set_state(store_plan_t *self, int64_t plan_id, const char *state, int64_t now_ms)
{
    if (s_require_tx(self, "update plan") != 0)
        return -1;
    static const char *const finals[] = {"done", "done_with_failures", "failed", "aborted"};
    s_stmt_id_t which = strcmp(state, "running") == 0 ? ST_PLAN_RUNNING : ST_PLAN_STATE;
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
        if (strcmp(state, finals[i]) == 0)
            which = ST_PLAN_FINAL;
    sqlite3_stmt *st = self->stmt[which];
    s_bind_text(st, 1, state);
    if (which != ST_PLAN_STATE)
        sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, plan_id);
    return s_run(self, st, "update plan");
}

int store_plan_move_save(store_plan_t *self, const store_move_t *row, int64_t now_ms)
{
    if (s_require_tx(self, "update move") != 0)
        return -1;
    char *checks = row->checks ? json_dumps(row->checks, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = self->stmt[ST_MOVE_SAVE];
    s_bind_text(st, 1, row->state);
    sqlite3_bind_int64(st, 2, row->hop);
    s_bind_opt(st, 3, row->job_id);
    s_bind_opt(st, 4, row->job_op);
    sqlite3_bind_int64(st, 5, row->submissions);
    s_bind_opt(st, 6, row->agent_key);
    s_bind_opt(st, 7, row->source);
    sqlite3_bind_int64(st, 8, row->started_ms);
    sqlite3_bind_int64(st, 9, row->finished_ms);
    if (row->outage_ms >= 0)
        sqlite3_bind_int64(st, 10, row->outage_ms);
    else
        sqlite3_bind_null(st, 10);             // never measured: not a zero outage
    s_bind_text(st, 11, checks ? checks : "[]");
    s_bind_text(st, 12, row->message);
    sqlite3_bind_int64(st, 13, now_ms);
    sqlite3_bind_int64(st, 14, row->window_ms);
    s_bind_opt(st, 15, row->window_boot_id);
    sqlite3_bind_int64(st, 16, row->id);
    int rc = s_run(self, st, "update move");
    free(checks);
    return rc;
}

int store_plan_audit(store_plan_t *self, int64_t time_ms, const char *actor, const char *action,
                     const char *target, const char *outcome, const char *detail)
{
    if (s_require_tx(self, "insert audit") != 0)
        return -1;
    sqlite3_stmt *st = self->stmt[ST_AUDIT];
    sqlite3_bind_int64(st, 1, time_ms);
    s_bind_text(st, 2, actor);
    s_bind_text(st, 3, action);
    s_bind_text(st, 4, target);
    s_bind_text(st, 5, outcome);
    s_bind_text(st, 6, detail);
    return s_run(self, st, "insert audit");
}

// ------------------------------------------------------------------ reads

int store_plan_resume_ids(store_plan_t *self, int64_t **ids_p, size_t *count_p)
{
    *ids_p = NULL;
    *count_p = 0;
    sqlite3_stmt *st = self->stmt[ST_RESUME_IDS];
    int64_t *ids = NULL;
    size_t count = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t grown = cap ? cap * 2 : 16;
            int64_t *more = realloc(ids, grown * sizeof *ids);
            if (!more) {
                free(ids);
                s_done(st);
                snprintf(self->error, sizeof self->error, "plans to resume: out of memory");
                return -1;
            }
            ids = more;
            cap = grown;
        }
        ids[count++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE) {
        free(ids);
        return s_fail(self, st, "plans to resume");
    }
    s_done(st);
    *ids_p = ids;
    *count_p = count;
    return 0;
}

int store_plan_get(store_plan_t *self, int64_t plan_id, store_plan_row_t *row)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *st = self->stmt[ST_PLAN_GET];
    sqlite3_bind_int64(st, 1, plan_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        s_done(st);
        snprintf(self->error, sizeof self->error, "no plan %" PRId64, plan_id);
        return 1;
    }
    if (rc != SQLITE_ROW)
        return s_fail(self, st, "load plan");
    row->id = plan_id;
    s_col(st, 1, row->state, sizeof row->state);
    s_col(st, 2, row->hmc, sizeof row->hmc);
    const char *doc = (const char *) sqlite3_column_text(st, 0);
    //  Its problems go straight to error: plan_parse cuts a list after a whole one.
    row->plan = plan_parse(doc ? doc : "", doc ? strlen(doc) : 0, NULL, self->error,
                           sizeof self->error);
    s_done(st);
    return row->plan ? 0 : -1;
}

int store_plan_moves_load(store_plan_t *self, int64_t plan_id, store_plan_move_fn *fn, void *arg)
{
    sqlite3_stmt *st = self->stmt[ST_MOVES_LOAD];
    sqlite3_bind_int64(st, 1, plan_id);
    store_move_t row;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&row, 0, sizeof row);
        row.id = sqlite3_column_int64(st, 0);
        row.position = sqlite3_column_int(st, 1);
        s_col(st, 2, row.state, sizeof row.state);
        row.hop = sqlite3_column_int(st, 3);
        s_col(st, 4, row.job_id, sizeof row.job_id);
        s_col(st, 5, row.job_op, sizeof row.job_op);
        row.submissions = sqlite3_column_int(st, 6);
        s_col(st, 7, row.agent_key, sizeof row.agent_key);
        s_col(st, 8, row.source, sizeof row.source);
        row.started_ms = sqlite3_column_int64(st, 9);
        row.finished_ms = sqlite3_column_int64(st, 10);
        row.outage_ms = sqlite3_column_type(st, 11) == SQLITE_NULL ? -1
                                                                   : sqlite3_column_int64(st, 11);
        const char *checks = (const char *) sqlite3_column_text(st, 12);
        row.checks = json_loads(checks ? checks : "[]", 0, NULL);
        if (!json_is_array(row.checks)) {
            json_decref(row.checks);
            row.checks = json_array();
        }
        s_col(st, 13, row.message, sizeof row.message);
        row.window_ms = sqlite3_column_int64(st, 14);
        s_col(st, 15, row.window_boot_id, sizeof row.window_boot_id);
        fn(arg, &row);
        json_decref(row.checks);
    }
    if (rc != SQLITE_DONE)
        return s_fail(self, st, "load moves");
    s_done(st);
    return 0;
}

json_t *store_plan_json(store_plan_t *self, int64_t plan_id)
{
    sqlite3_stmt *st = self->stmt[ST_PLAN_JSON];
    sqlite3_bind_int64(st, 1, plan_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE) {
            snprintf(self->error, sizeof self->error, "no plan %" PRId64, plan_id);
            s_done(st);
        }
        else
            s_fail(self, st, "plan");
        return NULL;
    }
    json_t *out = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
                            "id", (json_int_t) sqlite3_column_int64(st, 0),
                            "name", (const char *) sqlite3_column_text(st, 1),
                            "hmc", (const char *) sqlite3_column_text(st, 2),
                            "state", (const char *) sqlite3_column_text(st, 3),
                            "created_ms", (json_int_t) sqlite3_column_int64(st, 4),
                            "started_ms", (json_int_t) sqlite3_column_int64(st, 5),
                            "finished_ms", (json_int_t) sqlite3_column_int64(st, 6),
                            "message", (const char *) sqlite3_column_text(st, 7));
    if (out)
        json_object_set_new(out, "plan", json_loads((const char *) sqlite3_column_text(st, 8), 0,
                                                    NULL));
    s_done(st);
    if (!out) {
        snprintf(self->error, sizeof self->error, "plan %" PRId64 ": out of memory", plan_id);
        return NULL;
    }
    json_t *moves = json_array();
    json_object_set_new(out, "moves", moves);
    st = self->stmt[ST_MOVES_JSON];
    sqlite3_bind_int64(st, 1, plan_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char job_id[64], job_op[32], source[STORE_MOVE_SOURCE_SIZE];
        s_col(st, 6, job_id, sizeof job_id);
        s_col(st, 7, job_op, sizeof job_op);
        s_col(st, 9, source, sizeof source);
        json_t *m = json_pack("{s:I, s:I, s:s, s:o?, s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o,"
                              " s:o?, s:s}",
                              "id", (json_int_t) sqlite3_column_int64(st, 0),
                              "position", (json_int_t) sqlite3_column_int64(st, 1),
                              "partition", (const char *) sqlite3_column_text(st, 2),
                              "route", json_loads((const char *) sqlite3_column_text(st, 3), 0, NULL),
                              "hop", (json_int_t) sqlite3_column_int64(st, 4),
                              "state", (const char *) sqlite3_column_text(st, 5),
                              "job_id", job_id, "job_op", job_op,
                              "submissions", (json_int_t) sqlite3_column_int64(st, 8),
                              "source", source,
                              "started_ms", (json_int_t) sqlite3_column_int64(st, 10),
                              "finished_ms", (json_int_t) sqlite3_column_int64(st, 11),
                              "outage_ms", sqlite3_column_type(st, 12) == SQLITE_NULL
                                               ? json_null()
                                               : json_integer(sqlite3_column_int64(st, 12)),
                              "checks", json_loads((const char *) sqlite3_column_text(st, 13), 0, NULL),
                              "message", (const char *) sqlite3_column_text(st, 14));
        if (m)
            json_array_append_new(moves, m);
    }
    s_done(st);
    return out;
}

//  ---------------------------------------------------- recorded writes

typedef enum { S_W_MOVE, S_W_PLAN_STATE, S_W_AUDIT } s_write_kind_t;

typedef struct {
    s_write_kind_t kind;
    int64_t now_ms;                 // when it was recorded
    store_move_t row;               // MOVE (checks owned: a deep copy)
    int64_t plan_id;                // PLAN_STATE
    char state[STORE_PLAN_STATE_SIZE]; // PLAN_STATE
    char *text[5];                  // AUDIT: actor, action, target, outcome, detail (owned)
} s_write_t;

struct _store_plan_writes_t {
    store_plan_t *sp;               // borrowed
    s_write_t *items;
    size_t count, cap;
};

store_plan_writes_t *store_plan_writes_new(store_plan_t *sp)
{
    store_plan_writes_t *self = calloc(1, sizeof *self);
    if (self)
        self->sp = sp;
    return self;
}

void store_plan_writes_clear(store_plan_writes_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        json_decref(self->items[i].row.checks);
        for (size_t k = 0; k < 5; k++)
            free(self->items[i].text[k]);
    }
    self->count = 0;
}

void store_plan_writes_destroy(store_plan_writes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_plan_writes_t *self = *self_p;
    store_plan_writes_clear(self);
    free(self->items);
    free(self);
    *self_p = NULL;
}

bool store_plan_writes_empty(const store_plan_writes_t *self)
{
    return self->count == 0;
}

static s_write_t *s_write_add(store_plan_writes_t *self, s_write_kind_t kind, int64_t now_ms)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        s_write_t *grown = realloc(self->items, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->items = grown;
        self->cap = cap;
    }
    s_write_t *w = &self->items[self->count++];
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->now_ms = now_ms;
    return w;
}

int store_plan_writes_move(store_plan_writes_t *self, const store_move_t *row, int64_t now_ms)
{
    json_t *checks = row->checks ? json_deep_copy(row->checks) : NULL;
    if (row->checks && !checks)
        return -1;
    s_write_t *w = s_write_add(self, S_W_MOVE, now_ms);
    if (!w) {
        json_decref(checks);
        return -1;
    }
    w->row = *row;
    w->row.checks = checks;
    return 0;
}

int store_plan_writes_plan_state(store_plan_writes_t *self, int64_t plan_id, const char *state,
                                 int64_t now_ms)
{
    s_write_t *w = s_write_add(self, S_W_PLAN_STATE, now_ms);
    if (!w)
        return -1;
    w->plan_id = plan_id;
    snprintf(w->state, sizeof w->state, "%s", state);
    return 0;
}

int store_plan_writes_audit(store_plan_writes_t *self, int64_t time_ms, const char *actor,
                            const char *action, const char *target, const char *outcome,
                            const char *detail)
{
    s_write_t *w = s_write_add(self, S_W_AUDIT, time_ms);
    if (!w)
        return -1;
    const char *texts[5] = { actor, action, target, outcome, detail };
    for (size_t k = 0; k < 5; k++) {
        w->text[k] = strdup(texts[k] ? texts[k] : "");
        if (!w->text[k]) {
            self->count--;
            for (size_t j = 0; j < k; j++)
                free(w->text[j]);
            return -1;
        }
    }
    return 0;
}

static int s_write_apply(store_plan_t *sp, const s_write_t *w)
{
    switch (w->kind) {
    case S_W_MOVE:
        return store_plan_move_save(sp, &w->row, w->now_ms);
    case S_W_PLAN_STATE:
        return store_plan_set_state(sp, w->plan_id, w->state, w->now_ms);
    case S_W_AUDIT:
        return store_plan_audit(sp, w->now_ms, w->text[0], w->text[1], w->text[2], w->text[3],
                                w->text[4]);
    }
    return -1;
}

int store_plan_writes_commit(store_t *store, void *arg, char *err, size_t errlen)
{
    store_plan_writes_t *self = arg;
    if (store_begin(store) != 0) {
        errbuf_set(err, errlen, "%s", store_error(store));
        return -1;
    }
    for (size_t i = 0; i < self->count; i++) {
        if (s_write_apply(self->sp, &self->items[i]) != 0) {
            errbuf_set(err, errlen, "%s", store_plan_error(self->sp));
            store_rollback(store);
            return -1;
        }
    }
    if (store_commit(store) != 0) {
        errbuf_set(err, errlen, "%s", store_error(store));
        return -1;
    }
    return 0;
}
