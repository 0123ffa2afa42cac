/*  test_store_plan — plans, moves and audit rows through store_plan.h, on a
    temporary database made by store_open, read back through the API, a
    reopened store (as after a collector restart) and a separate sqlite3
    connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "store.h"
#include "store_plan.h"

#define PLAN_DOC                                                                          \
    "{\"name\": \"wave 1\", \"hmc\": \"hmc1\", \"outage_budget_ms\": 2000,"               \
    " \"concurrency\": {\"per_system\": 2},"                                              \
    " \"moves\": [{\"partition\": \"lpar01\", \"to\": \"P10-B\"},"                        \
    "             {\"partition\": \"lpar02\", \"to\": \"P10-B\", \"via\": [\"P10-A\"],"   \
    "              \"vios_pair\": \"vios1a+vios1b\"}]}"

typedef struct {
    char dir[64];         // mkdtemp directory
    char path[96];        // database file inside it
    store_t *store;       // open store, or NULL
    store_plan_t *sp;     // its plan tables, or NULL
} fixture_t;

//  What the moves loader handed over, row by row.
typedef struct {
    store_move_t rows[8];
    size_t count;
} moves_t;

// ------------------------------------------------------------------ helpers

static void s_open(fixture_t *fx)
{
    char err[256] = "";
    fx->store = store_open(fx->path, NULL, err, sizeof err);
    if (!fx->store)
        fail_msg("store_open: %s", err);
    fx->sp = store_plan_new(fx->store, err, sizeof err);
    if (!fx->sp)
        fail_msg("store_plan_new: %s", err);
}

static void s_close(fixture_t *fx)
{
    store_plan_destroy(&fx->sp);
    store_destroy(&fx->store);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_store_plan.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/ferry.db", fx->dir);
    s_open(fx);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    s_close(fx);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%s", fx->path, suffixes[i]);
        unlink(name);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

//  First column of the first row of sql, through a connection of our own:
//  -1 for SQL NULL, -999 for no row.
static int64_t s_query_int(fixture_t *fx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    int64_t value = -999;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

//  First column of the first row as a malloc'd string (NULL for SQL NULL).
static char *s_query_text(fixture_t *fx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    char *value = NULL;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        value = strdup((const char *) sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

static void s_exec(fixture_t *fx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("exec %s: %s", sql, msg);
    sqlite3_close(db);
}

static plan_t *s_plan(const char *doc)
{
    char err[PLAN_ERR_MAX] = "";
    plan_t *plan = plan_parse(doc, strlen(doc), NULL, err, sizeof err);
    if (!plan)
        fail_msg("plan_parse: %s", err);
    return plan;
}

//  Insert PLAN_DOC in a transaction of its own; its id, the moves' in move_ids[2].
static int64_t s_insert(fixture_t *fx, const char *message, int64_t now_ms, int64_t *move_ids)
{
    plan_t *plan = s_plan(PLAN_DOC);
    int64_t id = -1;
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_plan_insert(fx->sp, plan, message, now_ms, &id, move_ids), 0);
    assert_int_equal(store_commit(fx->store), 0);
    plan_destroy(&plan);
    assert_true(id > 0);
    return id;
}

static void s_collect(void *arg, store_move_t *row)
{
    moves_t *moves = arg;
    assert_true(moves->count < sizeof moves->rows / sizeof moves->rows[0]);
    moves->rows[moves->count] = *row;
    row->checks = NULL;                       // taken
    moves->count++;
}

static void s_moves_free(moves_t *moves)
{
    for (size_t i = 0; i < moves->count; i++)
        json_decref(moves->rows[i].checks);
    moves->count = 0;
}

static bool s_contains(const int64_t *ids, size_t count, int64_t id)
{
    for (size_t i = 0; i < count; i++)
        if (ids[i] == id)
            return true;
    return false;
}

// ------------------------------------------------------------------ tests

//  A plan and its moves as inserted, shown as the API shows them.
static void test_insert_json(void **state)
{
    fixture_t *fx = *state;
    int64_t move_ids[2] = {0, 0};
    int64_t id = s_insert(fx, "not checked at submit", 1000, move_ids);
    assert_true(move_ids[0] > 0 && move_ids[1] > move_ids[0]);

    json_t *out = store_plan_json(fx->sp, id);
    assert_non_null(out);
    assert_int_equal(json_integer_value(json_object_get(out, "id")), id);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "wave 1");
    assert_string_equal(json_string_value(json_object_get(out, "hmc")), "hmc1");
    assert_string_equal(json_string_value(json_object_get(out, "state")), "ready");
    assert_int_equal(json_integer_value(json_object_get(out, "created_ms")), 1000);
    assert_int_equal(json_integer_value(json_object_get(out, "started_ms")), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "finished_ms")), 0);
    assert_string_equal(json_string_value(json_object_get(out, "message")), "not checked at submit");
    //  The stored document is the normalised one, byte for byte.
    plan_t *plan = s_plan(PLAN_DOC);
    json_t *expected = plan_to_json(plan);
    assert_true(json_equal(json_object_get(out, "plan"), expected));
    char *want = json_dumps(expected, JSON_COMPACT);
    char *stored = s_query_text(fx, "SELECT doc FROM plans");
    assert_string_equal(stored, want);
    free(stored);
    free(want);
    //  And it parses back to the plan submitted (the planner holds that one
    //  rather than parse the stored text again).
    store_plan_row_t row;
    assert_int_equal(store_plan_get(fx->sp, id, &row), 0);
    json_t *again = plan_to_json(row.plan);
    assert_true(json_equal(again, expected));
    assert_int_equal(row.plan->move_count, plan->move_count);
    for (size_t i = 0; i < plan->move_count; i++)
        assert_memory_equal(&row.plan->moves[i], &plan->moves[i], sizeof plan->moves[i]);
    json_decref(again);
    plan_destroy(&row.plan);
    json_decref(expected);
    plan_destroy(&plan);

    json_t *moves = json_object_get(out, "moves");
    assert_int_equal(json_array_size(moves), 2);
    json_t *m0 = json_array_get(moves, 0), *m1 = json_array_get(moves, 1);
    assert_int_equal(json_integer_value(json_object_get(m0, "id")), move_ids[0]);
    assert_int_equal(json_integer_value(json_object_get(m1, "position")), 1);
    assert_string_equal(json_string_value(json_object_get(m1, "partition")), "lpar02");
    json_t *route = json_object_get(m1, "route");
    assert_int_equal(json_array_size(route), 2);
    assert_string_equal(json_string_value(json_array_get(route, 0)), "P10-A");
    assert_string_equal(json_string_value(json_array_get(route, 1)), "P10-B");
    assert_string_equal(json_string_value(json_object_get(m0, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(m0, "job_id")), "");
    assert_int_equal(json_integer_value(json_object_get(m0, "submissions")), 0);
    assert_true(json_is_null(json_object_get(m0, "outage_ms")));    // never measured
    assert_true(json_is_array(json_object_get(m0, "checks")));
    assert_int_equal(json_array_size(json_object_get(m0, "checks")), 0);
    json_decref(out);

    assert_null(store_plan_json(fx->sp, id + 100));
}

//  A second plan of the same name: 1, nothing written, the transaction goes on.
static void test_name_taken(void **state)
{
    fixture_t *fx = *state;
    int64_t id = s_insert(fx, "", 1000, NULL);
    plan_t *plan = s_plan(PLAN_DOC);
    int64_t other = -1;
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_plan_insert(fx->sp, plan, "", 2000, &other, NULL), 1);
    assert_non_null(strstr(store_plan_error(fx->sp), "a plan named wave 1 exists already"));
    assert_true(store_tx_open(fx->store));
    assert_int_equal(store_plan_audit(fx->sp, 2000, "planner", "submit", "wave 1", "refused", NULL), 0);
    assert_int_equal(store_commit(fx->store), 0);
    plan_destroy(&plan);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM plans"), 1);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM moves"), 2);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM audit"), 1);
    json_t *out = store_plan_json(fx->sp, id);
    assert_int_equal(json_integer_value(json_object_get(out, "created_ms")), 1000);
    json_decref(out);
}

//  Writes join the caller's transaction: without one they are refused.
static void test_no_transaction(void **state)
{
    fixture_t *fx = *state;
    int64_t move_ids[2];
    int64_t id = s_insert(fx, "", 1000, move_ids);
    plan_t *plan = s_plan(PLAN_DOC);
    int64_t other = -1;
    assert_false(store_tx_open(fx->store));
    assert_int_equal(store_plan_insert(fx->sp, plan, "", 1000, &other, NULL), -1);
    assert_non_null(strstr(store_plan_error(fx->sp), "no transaction"));
    assert_int_equal(store_plan_set_state(fx->sp, id, "running", 2000), -1);
    store_move_t row = {.id = move_ids[0], .state = "checking", .outage_ms = -1};
    assert_int_equal(store_plan_move_save(fx->sp, &row, 2000), -1);
    assert_int_equal(store_plan_audit(fx->sp, 2000, "planner", "start", "wave 1", "ok", NULL), -1);
    plan_destroy(&plan);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM audit"), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM moves WHERE state = 'pending'"), 2);
    //  And a rolled-back transaction takes them back.
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_plan_move_save(fx->sp, &row, 2000), 0);
    assert_int_equal(store_rollback(fx->store), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM moves WHERE state = 'pending'"), 2);
}

//  running sets started_ms once; a final state sets finished_ms; others the
//  state alone.
static void test_plan_states(void **state)
{
    fixture_t *fx = *state;
    int64_t id = s_insert(fx, "", 1000, NULL);
    char sql[128];
    const char *steps[][2] = {{"running", "2000"}, {"paused", "3000"}, {"running", "4000"},
                              {"done_with_failures", "5000"}};
    int64_t started[] = {2000, 2000, 2000, 2000}, finished[] = {-1, -1, -1, 5000};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(store_begin(fx->store), 0);
        assert_int_equal(store_plan_set_state(fx->sp, id, steps[i][0], atoll(steps[i][1])), 0);
        assert_int_equal(store_commit(fx->store), 0);
        snprintf(sql, sizeof sql, "SELECT started_ms FROM plans WHERE id = %lld", (long long) id);
        assert_int_equal(s_query_int(fx, sql), started[i]);
        snprintf(sql, sizeof sql, "SELECT finished_ms FROM plans WHERE id = %lld", (long long) id);
        assert_int_equal(s_query_int(fx, sql), finished[i]);
    }
    json_t *out = store_plan_json(fx->sp, id);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "done_with_failures");
    json_decref(out);
}

//  Every column of a move written at a transition, read back after a
//  restart (a new store on the same file), with one outage never measured.
static void test_save_reload(void **state)
{
    fixture_t *fx = *state;
    int64_t move_ids[2];
    int64_t id = s_insert(fx, "", 1000, move_ids);
    json_t *checks = json_pack("[[{s:s, s:b, s:s}]]", "name", "hmc_target", "ok", 1, "detail", "on P10-B");
    store_move_t migrating = {
        .id = move_ids[0], .position = 0, .state = "migrating", .hop = 0, .job_id = "12345",
        .job_op = "Migrate", .submissions = 1, .agent_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        .source = "P8-A", .started_ms = 2000, .finished_ms = 0, .outage_ms = -1, .window_ms = 2100,
        .window_boot_id = "boot-1", .checks = checks, .message = "copying"};
    store_move_t verified = {
        .id = move_ids[1], .position = 1, .state = "verified", .hop = 1, .started_ms = 2000,
        .finished_ms = 9000, .outage_ms = 1234, .checks = NULL, .message = ""};
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_plan_set_state(fx->sp, id, "running", 2000), 0);
    assert_int_equal(store_plan_move_save(fx->sp, &migrating, 3000), 0);
    assert_int_equal(store_plan_move_save(fx->sp, &verified, 9000), 0);
    assert_int_equal(store_commit(fx->store), 0);
    json_decref(checks);
    //  "" is NULL in the columns that take it, and the outage never measured too.
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM moves WHERE id = %lld AND job_id IS NULL"
             " AND agent_key IS NULL AND source IS NULL AND window_boot_id IS NULL",
             (long long) move_ids[1]);
    assert_int_equal(s_query_int(fx, sql), 1);
    snprintf(sql, sizeof sql, "SELECT outage_ms FROM moves WHERE id = %lld", (long long) move_ids[0]);
    assert_int_equal(s_query_int(fx, sql), -1);
    snprintf(sql, sizeof sql, "SELECT updated_ms FROM moves WHERE id = %lld", (long long) move_ids[0]);
    assert_int_equal(s_query_int(fx, sql), 3000);

    //  The collector restarts.
    s_close(fx);
    s_open(fx);
    int64_t *ids = NULL;
    size_t count = 0;
    assert_int_equal(store_plan_resume_ids(fx->sp, &ids, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ids[0], id);
    free(ids);
    store_plan_row_t row;
    assert_int_equal(store_plan_get(fx->sp, id, &row), 0);
    assert_int_equal(row.id, id);
    assert_string_equal(row.state, "running");
    assert_string_equal(row.hmc, "hmc1");
    assert_non_null(row.plan);
    assert_string_equal(row.plan->name, "wave 1");
    assert_int_equal(row.plan->move_count, 2);
    assert_int_equal(row.plan->moves[1].hop_count, 2);
    assert_string_equal(row.plan->moves[1].vios_pair, "vios1a+vios1b");
    assert_int_equal(row.plan->per_system, 2);
    plan_destroy(&row.plan);

    moves_t moves = {.count = 0};
    assert_int_equal(store_plan_moves_load(fx->sp, id, s_collect, &moves), 0);
    assert_int_equal(moves.count, 2);
    const store_move_t *m = &moves.rows[0];
    assert_int_equal(m->id, move_ids[0]);
    assert_int_equal(m->position, 0);
    assert_string_equal(m->state, "migrating");
    assert_string_equal(m->job_id, "12345");
    assert_string_equal(m->job_op, "Migrate");
    assert_int_equal(m->submissions, 1);
    assert_string_equal(m->agent_key, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
    assert_string_equal(m->source, "P8-A");
    assert_int_equal(m->started_ms, 2000);
    assert_int_equal(m->finished_ms, 0);
    assert_int_equal(m->outage_ms, -1);
    assert_int_equal(m->window_ms, 2100);
    assert_string_equal(m->window_boot_id, "boot-1");
    assert_string_equal(m->message, "copying");
    assert_int_equal(json_array_size(m->checks), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_array_get(m->checks, 0), 0),
                                                          "name")), "hmc_target");
    m = &moves.rows[1];
    assert_string_equal(m->state, "verified");
    assert_int_equal(m->hop, 1);
    assert_int_equal(m->outage_ms, 1234);
    assert_int_equal(m->finished_ms, 9000);
    assert_string_equal(m->job_id, "");
    assert_true(json_is_array(m->checks));
    assert_int_equal(json_array_size(m->checks), 0);
    s_moves_free(&moves);

    json_t *out = store_plan_json(fx->sp, id);
    json_t *j0 = json_array_get(json_object_get(out, "moves"), 0);
    json_t *j1 = json_array_get(json_object_get(out, "moves"), 1);
    assert_true(json_is_null(json_object_get(j0, "outage_ms")));
    assert_int_equal(json_integer_value(json_object_get(j1, "outage_ms")), 1234);
    assert_string_equal(json_string_value(json_object_get(j0, "job_op")), "Migrate");
    assert_int_equal(json_integer_value(json_object_get(out, "started_ms")), 2000);
    json_decref(out);
}

//  Which plans are held at start: ready ones, and running, paused or
//  aborted ones with a move not final; not those whose moves all ended.
static void test_resume_ids(void **state)
{
    fixture_t *fx = *state;
    const char *names[] = {"ready", "running", "paused", "aborted", "ended", "aborted ended"};
    const char *plan_states[] = {"ready", "running", "paused", "aborted", "done", "aborted"};
    bool open_moves[] = {true, true, true, true, false, false};
    int64_t ids[6];
    for (size_t i = 0; i < 6; i++) {
        char doc[512];
        snprintf(doc, sizeof doc, "{\"name\": \"%s\", \"hmc\": \"hmc1\", \"moves\":"
                 " [{\"partition\": \"lpar01\", \"to\": \"P10-B\"}]}", names[i]);
        plan_t *plan = s_plan(doc);
        int64_t move_id = 0;
        assert_int_equal(store_begin(fx->store), 0);
        assert_int_equal(store_plan_insert(fx->sp, plan, "", 1000, &ids[i], &move_id), 0);
        assert_int_equal(store_plan_set_state(fx->sp, ids[i], plan_states[i], 2000), 0);
        store_move_t row = {.id = move_id, .state = "checking", .outage_ms = -1};
        if (!open_moves[i])
            snprintf(row.state, sizeof row.state, "verified");
        assert_int_equal(store_plan_move_save(fx->sp, &row, 2000), 0);
        assert_int_equal(store_commit(fx->store), 0);
        plan_destroy(&plan);
    }
    int64_t *got = NULL;
    size_t count = 0;
    assert_int_equal(store_plan_resume_ids(fx->sp, &got, &count), 0);
    assert_int_equal(count, 4);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(s_contains(got, count, ids[i]), open_moves[i]);
    free(got);

    store_plan_row_t row;
    assert_int_equal(store_plan_get(fx->sp, ids[5] + 1, &row), 1);
    assert_null(row.plan);
}

//  A checks text that is not an array reads as []; a document that no
//  longer parses is an error that says why.
static void test_damaged_rows(void **state)
{
    fixture_t *fx = *state;
    int64_t move_ids[2];
    int64_t id = s_insert(fx, "", 1000, move_ids);
    s_exec(fx, "UPDATE moves SET checks = '{not json' WHERE position = 0;"
               " UPDATE moves SET checks = '{\"a\": 1}' WHERE position = 1");
    moves_t moves = {.count = 0};
    assert_int_equal(store_plan_moves_load(fx->sp, id, s_collect, &moves), 0);
    assert_int_equal(moves.count, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(json_is_array(moves.rows[i].checks));
        assert_int_equal(json_array_size(moves.rows[i].checks), 0);
    }
    s_moves_free(&moves);

    s_exec(fx, "UPDATE plans SET doc = '{\"name\": \"wave 1\"}'");
    store_plan_row_t row;
    assert_int_equal(store_plan_get(fx->sp, id, &row), -1);
    assert_null(row.plan);
    assert_non_null(strstr(store_plan_error(fx->sp), "hmc"));
}

//  Audit rows as given; a NULL detail is "".
static void test_audit(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_begin(fx->store), 0);
    assert_int_equal(store_plan_audit(fx->sp, 5000, "planner", "finish", "wave 1", "done", NULL), 0);
    assert_int_equal(store_plan_audit(fx->sp, 6000, "alice", "abort", "wave 2", "aborted",
                                      "by hand"), 0);
    assert_int_equal(store_commit(fx->store), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM audit"), 2);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM audit WHERE time_ms = 5000 AND"
                                     " actor = 'planner' AND action = 'finish' AND target = 'wave 1'"
                                     " AND outcome = 'done' AND detail = ''"), 1);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM audit WHERE actor = 'alice'"
                                     " AND detail = 'by hand'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_json, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_name_taken, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_transaction, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plan_states, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_save_reload, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_resume_ids, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_audit, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
