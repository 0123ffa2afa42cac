/*  test_store_read — the read side of the store: a database made and
    written by the real store (agents and facts through its functions; plans
    and moves as raw SQL on store_db(), the way the planner writes them
    today), read back through store_reader_open and the named queries. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "store_private.h"
#include "store_read.h"

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_C "0000000000000000000000000000000000000000"

typedef struct {
    char dir[64];              // mkdtemp directory
    char path[96];             // database file inside it
    store_t *store;            // the writer, open for the whole test
    store_reader_t *reader;    // the reader under test, or NULL
} fixture_t;

// ------------------------------------------------------------------ setup

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_store_read.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/ferry.db", fx->dir);
    char err[256] = "";
    fx->store = store_open(fx->path, NULL, err, sizeof err);
    if (!fx->store)
        fail_msg("store_open: %s", err);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    store_reader_destroy(&fx->reader);
    store_destroy(&fx->store);
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

static store_reader_t *s_reader(fixture_t *fx)
{
    char err[256] = "";
    store_reader_t *reader = store_reader_open(fx->path, err, sizeof err);
    if (!reader)
        fail_msg("store_reader_open: %s", err);
    return reader;
}

//  Run sql on the writer's connection, in a transaction of the store's.
static void s_exec(fixture_t *fx, const char *sql)
{
    assert_int_equal(store_begin(fx->store), 0);
    char *msg = NULL;
    if (sqlite3_exec(store_db(fx->store), sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sql: %s: %s", sql, msg);
    assert_int_equal(store_commit(fx->store), 0);
}

static int64_t s_agent(fixture_t *fx, const char *key, const char *hostname, const char *facts)
{
    store_agent_state_t st;
    assert_int_equal(store_agent_ensure(fx->store, key, 1000, &st), 0);
    if (hostname) {
        Ferry__Hello hello = FERRY__HELLO__INIT;
        hello.hostname = (char *) hostname;
        hello.platform = "aix";
        hello.agent_version = "0.1.0";
        hello.boot_id = "boot-1";
        hello.stream_id = 9;
        assert_int_equal(store_agent_hello(fx->store, st.id, &hello, 2000), 0);
        assert_int_equal(store_agent_seq(fx->store, st.id, 9, 42), 0);
    }
    if (facts) {
        Ferry__Facts f = FERRY__FACTS__INIT;
        f.digest = "d1";
        f.json = (char *) facts;
        assert_int_equal(store_facts(fx->store, st.id, 1, 1500, &f), 0);
    }
    assert_int_equal(store_agent_seen(fx->store, st.id, 1700000000000, NULL, 0), 0);
    return st.id;
}

//  The plans of the tests: wave1 with moves in every kind of state (ids
//  inserted out of position order), wave2 with none and a document that is
//  not JSON (a damaged row is shown as it is, not refused).
static void s_plans(fixture_t *fx)
{
    s_exec(fx,
           "INSERT INTO plans (id, name, hmc, doc, state, created_ms, started_ms, message)"
           " VALUES (3, 'wave1', 'hmc1', '{\"name\": \"wave1\", \"moves\": []}', 'running',"
           " 1000, 2000, 'going');"
           "INSERT INTO plans (id, name, hmc, doc, state, created_ms) VALUES"
           " (5, 'wave2', 'hmc2', 'not json{', 'ready', 4000);"
           "INSERT INTO moves (id, plan_id, position, partition, route, hop, state, source,"
           " started_ms, finished_ms, outage_ms, checks, message, updated_ms, submissions)"
           " VALUES"
           " (10, 3, 1, 'lpar02', '[\"P10-A\", \"P10-B\"]', 1, 'failed', 'P10-A', 2000, 9000,"
           "  1500, '[[{\"name\": \"agent_serial\", \"ok\": false, \"detail\": \"old\"}]]',"
           "  'agent_serial failed', 3000, 2),"
           " (11, 3, 0, 'lpar01', '[\"P10-B\"]', 0, 'verified', 'P9-A', 2000, 7000, 812,"
           "  '[[{\"name\": \"outage\", \"ok\": true, \"detail\": \"\"}]]', '', 3000, 1),"
           " (12, 3, 2, 'lpar03', '[\"P10-B\"]', 0, 'blocked', NULL, NULL, NULL, NULL, '[]',"
           "  'RMC inactive', 3000, 0),"
           " (13, 3, 3, 'lpar04', '[\"P10-B\"]', 0, 'migrating', 'P9-A', 2500, NULL, NULL,"
           "  '[]', '', 3000, 1),"
           " (14, 3, 4, 'lpar05', '[\"P10-B\"]', 0, 'pending', NULL, NULL, NULL, NULL, '[]',"
           "  '', 3000, 0),"
           " (15, 3, 5, 'lpar06', '[\"P10-B\"]', 0, 'recovering', 'P9-A', 2600, NULL, NULL,"
           "  '[]', '', 3000, 1),"
           " (16, 3, 6, 'lpar07', '[\"P10-B\"]', 0, 'aborted', NULL, NULL, 8000, NULL, '[]',"
           "  '', 3000, 0);");
}

//  The object's keys, comma-separated in their order (the API's order).
static void s_keys(const json_t *obj, char *out, size_t size)
{
    out[0] = '\0';
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) obj, key, value) {
        (void) value;
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", len ? "," : "", key);
    }
}

static int64_t s_int(const json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    if (!json_is_integer(value))
        fail_msg("%s is not an integer", key);
    return (int64_t) json_integer_value(value);
}

static const char *s_str(const json_t *obj, const char *key)
{
    json_t *value = json_object_get(obj, key);
    if (!json_is_string(value))
        fail_msg("%s is not a string", key);
    return json_string_value(value);
}

static void s_null(const json_t *obj, const char *key)
{
    if (!json_is_null(json_object_get(obj, key)))
        fail_msg("%s is not null", key);
}

// ------------------------------------------------------------------ tests

static void test_open_missing(void **state)
{
    fixture_t *fx = *state;
    char path[160], err[256] = "";
    snprintf(path, sizeof path, "%s/nothing.db", fx->dir);
    assert_null(store_reader_open(path, err, sizeof err));
    assert_non_null(strstr(err, path));
    struct stat st;
    assert_int_equal(stat(path, &st), -1); // read-only: never created

    fx->reader = s_reader(fx);
    store_reader_destroy(&fx->reader);
    assert_null(fx->reader);
    store_reader_destroy(&fx->reader); // twice: no-op
    store_reader_destroy(NULL);
}

static void test_empty(void **state)
{
    fixture_t *fx = *state;
    fx->reader = s_reader(fx);
    char err[256] = "";
    json_t *agents = store_read_agents(fx->reader, err, sizeof err);
    json_t *plans = store_read_plans(fx->reader, err, sizeof err);
    assert_true(json_is_array(agents) && json_array_size(agents) == 0);
    assert_true(json_is_array(plans) && json_array_size(plans) == 0);
    json_decref(agents);
    json_decref(plans);
}

static void test_agents(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_begin(fx->store), 0);
    int64_t a = s_agent(fx, KEY_A, "host-a",
                        "{\"partition\": {\"name\": \"lpar01\"}, \"system\": {\"serial\":"
                        " \"CACD17\"}, \"os\": {\"level\": \"7300-02-02\"}}");
    int64_t b = s_agent(fx, KEY_B, NULL, NULL);                         // no hello, no facts
    int64_t c = s_agent(fx, KEY_C, "host-c", "{\"os\": {}, \"partition\": {}}"); // facts silent
    assert_int_equal(store_commit(fx->store), 0);

    fx->reader = s_reader(fx);
    char err[256] = "";
    json_t *rows = store_read_agents(fx->reader, err, sizeof err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 3);

    json_t *ra = json_array_get(rows, 0);
    char keys[512];
    s_keys(ra, keys, sizeof keys);
    assert_string_equal(keys, "id,key,hostname,platform,agent_version,boot_id,partition,serial,"
                              "os_level,last_seen_ms,acked_seq");
    assert_int_equal(s_int(ra, "id"), a);
    assert_string_equal(s_str(ra, "key"), KEY_A);
    assert_string_equal(s_str(ra, "hostname"), "host-a");
    assert_string_equal(s_str(ra, "platform"), "aix");
    assert_string_equal(s_str(ra, "agent_version"), "0.1.0");
    assert_string_equal(s_str(ra, "boot_id"), "boot-1");
    assert_string_equal(s_str(ra, "partition"), "lpar01");
    assert_string_equal(s_str(ra, "serial"), "CACD17");
    assert_string_equal(s_str(ra, "os_level"), "7300-02-02");
    assert_int_equal(s_int(ra, "last_seen_ms"), 1700000000000);
    assert_int_equal(s_int(ra, "acked_seq"), 42);

    json_t *rb = json_array_get(rows, 1);
    assert_int_equal(s_int(rb, "id"), b);
    assert_string_equal(s_str(rb, "hostname"), "");
    assert_int_equal(s_int(rb, "acked_seq"), 0);
    s_null(rb, "partition");
    s_null(rb, "serial");
    s_null(rb, "os_level");

    json_t *rc = json_array_get(rows, 2);
    assert_int_equal(s_int(rc, "id"), c);
    s_null(rc, "partition");
    s_null(rc, "serial");
    s_null(rc, "os_level");
    json_decref(rows);
}

static void test_plans(void **state)
{
    fixture_t *fx = *state;
    s_plans(fx);
    fx->reader = s_reader(fx);
    char err[256] = "";
    json_t *rows = store_read_plans(fx->reader, err, sizeof err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 2);

    json_t *p = json_array_get(rows, 0);
    char keys[512];
    s_keys(p, keys, sizeof keys);
    assert_string_equal(keys, "id,name,hmc,state,created_ms,started_ms,finished_ms,message,moves");
    assert_int_equal(s_int(p, "id"), 3);
    assert_string_equal(s_str(p, "name"), "wave1");
    assert_string_equal(s_str(p, "hmc"), "hmc1");
    assert_string_equal(s_str(p, "state"), "running");
    assert_int_equal(s_int(p, "created_ms"), 1000);
    assert_int_equal(s_int(p, "started_ms"), 2000);
    s_null(p, "finished_ms");
    assert_string_equal(s_str(p, "message"), "going");
    json_t *m = json_object_get(p, "moves");
    s_keys(m, keys, sizeof keys);
    assert_string_equal(keys, "total,pending,running,verified,failed,blocked");
    //  Aborted is only in the total; migrating and recovering are running.
    assert_int_equal(s_int(m, "total"), 7);
    assert_int_equal(s_int(m, "pending"), 1);
    assert_int_equal(s_int(m, "running"), 2);
    assert_int_equal(s_int(m, "verified"), 1);
    assert_int_equal(s_int(m, "failed"), 1);
    assert_int_equal(s_int(m, "blocked"), 1);

    //  No moves: zeros, not nulls.
    json_t *q = json_array_get(rows, 1);
    assert_int_equal(s_int(q, "id"), 5);
    s_null(q, "started_ms");
    m = json_object_get(q, "moves");
    assert_int_equal(s_int(m, "total"), 0);
    assert_int_equal(s_int(m, "pending"), 0);
    assert_int_equal(s_int(m, "running"), 0);
    assert_int_equal(s_int(m, "blocked"), 0);
    json_decref(rows);
}

static void test_plan(void **state)
{
    fixture_t *fx = *state;
    s_plans(fx);
    fx->reader = s_reader(fx);
    char err[256] = "";
    bool not_found = true;
    json_t *plan = store_read_plan(fx->reader, 3, &not_found, err, sizeof err);
    assert_non_null(plan);
    assert_false(not_found);
    char keys[512];
    s_keys(plan, keys, sizeof keys);
    assert_string_equal(keys,
                        "id,name,hmc,state,created_ms,started_ms,finished_ms,message,plan,moves");
    assert_int_equal(s_int(plan, "id"), 3);
    s_null(plan, "finished_ms");
    //  The document is parsed, not a string.
    json_t *doc = json_object_get(plan, "plan");
    assert_true(json_is_object(doc));
    assert_string_equal(s_str(doc, "name"), "wave1");

    json_t *moves = json_object_get(plan, "moves");
    assert_int_equal(json_array_size(moves), 7);
    //  By position, whatever the ids.
    for (size_t i = 0; i < json_array_size(moves); i++)
        assert_int_equal(s_int(json_array_get(moves, i), "position"), (int64_t) i);
    json_t *first = json_array_get(moves, 0);
    s_keys(first, keys, sizeof keys);
    assert_string_equal(keys, "id,position,partition,route,hop,state,source,submissions,"
                              "started_ms,finished_ms,outage_ms,checks,message");
    assert_int_equal(s_int(first, "id"), 11);
    assert_string_equal(s_str(first, "partition"), "lpar01");
    assert_int_equal(s_int(first, "outage_ms"), 812);
    assert_string_equal(s_str(first, "source"), "P9-A");

    json_t *second = json_array_get(moves, 1);
    json_t *route = json_object_get(second, "route");
    assert_true(json_is_array(route));
    assert_int_equal(json_array_size(route), 2);
    assert_string_equal(json_string_value(json_array_get(route, 0)), "P10-A");
    assert_int_equal(s_int(second, "hop"), 1);
    assert_int_equal(s_int(second, "submissions"), 2);
    json_t *checks = json_object_get(second, "checks");
    assert_true(json_is_array(checks));
    json_t *check = json_array_get(json_array_get(checks, 0), 0);
    assert_string_equal(s_str(check, "name"), "agent_serial");
    assert_true(json_is_false(json_object_get(check, "ok")));
    assert_string_equal(s_str(second, "message"), "agent_serial failed");

    //  Blocked before it started: no source, no times, outage never measured.
    json_t *blocked = json_array_get(moves, 2);
    assert_string_equal(s_str(blocked, "state"), "blocked");
    s_null(blocked, "source");
    s_null(blocked, "started_ms");
    s_null(blocked, "finished_ms");
    s_null(blocked, "outage_ms");
    assert_true(json_is_array(json_object_get(blocked, "checks")));
    json_decref(plan);

    //  No moves, a document that is not JSON: given as the text.
    plan = store_read_plan(fx->reader, 5, &not_found, err, sizeof err);
    assert_non_null(plan);
    assert_false(not_found);
    assert_string_equal(s_str(plan, "plan"), "not json{");
    assert_true(json_is_array(json_object_get(plan, "moves")));
    assert_int_equal(json_array_size(json_object_get(plan, "moves")), 0);
    json_decref(plan);

    //  Unknown ids: NULL, not_found, err untouched.
    int64_t unknown[] = {99, 0, -3};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        snprintf(err, sizeof err, "untouched");
        not_found = false;
        assert_null(store_read_plan(fx->reader, unknown[i], &not_found, err, sizeof err));
        assert_true(not_found);
        assert_string_equal(err, "untouched");
    }
}

//  WAL: a reader sees what is committed, not the writer's open transaction,
//  and is not blocked by it.
static void test_reads_beside_writer(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(store_begin(fx->store), 0);
    s_agent(fx, KEY_A, "host-a", NULL);
    assert_int_equal(store_commit(fx->store), 0);
    fx->reader = s_reader(fx);

    assert_int_equal(store_begin(fx->store), 0);
    s_agent(fx, KEY_B, "host-b", NULL);
    char err[256] = "";
    json_t *rows = store_read_agents(fx->reader, err, sizeof err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    assert_int_equal(store_commit(fx->store), 0);

    rows = store_read_agents(fx->reader, err, sizeof err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 2);
    json_decref(rows);
}

//  A database without the tables (not made by store_open): a readable error,
//  not a crash, from each query.
static void test_query_errors(void **state)
{
    fixture_t *fx = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/other.db", fx->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE x (a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    char err[256] = "";
    store_reader_t *reader = store_reader_open(path, err, sizeof err);
    assert_non_null(reader);
    assert_null(store_read_agents(reader, err, sizeof err));
    assert_non_null(strstr(err, "no such table"));
    err[0] = '\0';
    assert_null(store_read_plans(reader, err, sizeof err));
    assert_non_null(strstr(err, "no such table"));
    err[0] = '\0';
    bool not_found = true;
    assert_null(store_read_plan(reader, 1, &not_found, err, sizeof err));
    assert_false(not_found);
    assert_non_null(strstr(err, "no such table"));
    store_reader_destroy(&reader);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_missing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plans, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plan, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reads_beside_writer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
