/*  test_api — the collector's HTTP API on 127.0.0.1 (any free port) over a
    database made by the real store, with a fake command responder (a zactor
    with a REP socket on a test inproc endpoint); libcurl as the client; and
    the real ferryctl binary against it. Loopback only, no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "command.h"
#include "log.h"
#include "store.h"

#define ENDPOINT "inproc://test-api-cmd"
#define TOKEN "s3cret-token-for-tests"

typedef struct {
    char dir[64];
    char db[128];
    char token[128];
    char url[64];
    api_t *api;
    zactor_t *responder;
} fixture_t;

// ------------------------------------------------------------------ responder

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_last_op[32];
static char s_last_plan[64];
static long long s_last_id;

static void s_responder(zsock_t *pipe, void *args)
{
    (void) args;
    zsock_t *rep = zsock_new_rep("@" ENDPOINT);
    assert_non_null(rep);
    zpoller_t *poller = zpoller_new(pipe, rep, NULL);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which != rep)
            break; // $TERM on the pipe, or interrupted
        char *text = zstr_recv(rep);
        if (!text)
            break;
        json_t *req = json_loads(text, 0, NULL);
        zstr_free(&text);
        const char *op = json_string_value(json_object_get(req, "op"));
        pthread_mutex_lock(&s_lock);
        snprintf(s_last_op, sizeof s_last_op, "%s", op ? op : "");
        snprintf(s_last_plan, sizeof s_last_plan, "%s",
                 json_string_value(json_object_get(json_object_get(req, "plan"), "name"))
                     ? json_string_value(json_object_get(json_object_get(req, "plan"), "name"))
                     : "");
        s_last_id = (long long) json_integer_value(json_object_get(req, "id"));
        pthread_mutex_unlock(&s_lock);
        bool submit = op && strcmp(op, "submit") == 0;
        zstr_send(rep, submit ? "{\"ok\": true, \"id\": 7}"
                              : "{\"error\": \"no such plan\", \"status\": 404}");
        json_decref(req);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&rep);
}

// ------------------------------------------------------------------ setup

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("sql: %s: %s", sql, msg);
}

static void s_write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_api.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db, sizeof fx->db, "%s/ferry.db", fx->dir);
    snprintf(fx->token, sizeof fx->token, "%s/api.token", fx->dir);
    s_write_file(fx->token, TOKEN "\n", 0600);

    char err[512] = "";
    store_t *store = store_open(fx->db, NULL, err, sizeof err);
    if (!store)
        fail_msg("store_open: %s", err);
    store_destroy(&store);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    s_exec(db, "INSERT INTO agents (id, key, hostname, platform, first_seen_ms, last_seen_ms,"
               " acked_seq) VALUES (1, 'KEY1', 'host1', 'aix', 1000, 1700000000000, 42);"
               "INSERT INTO facts_current (agent_id, epoch, seq, time_ms, digest, json) VALUES"
               " (1, 1, 5, 1000, 'd', '{\"partition\": {\"name\": \"lpar01\"},"
               " \"system\": {\"serial\": \"CACD17\"}, \"os\": {\"level\": \"7300-02-02\"}}');"
               "INSERT INTO plans (id, name, hmc, doc, state, created_ms, started_ms) VALUES"
               " (3, 'wave1', 'hmc1', '{\"name\": \"wave1\"}', 'running', 1000, 2000);"
               "INSERT INTO moves (plan_id, position, partition, route, state, started_ms,"
               " finished_ms, outage_ms, checks, message, updated_ms, submissions) VALUES"
               " (3, 0, 'lpar01', '[\"P10-B\"]', 'verified', 2000, 7000, 812,"
               "  '[[{\"name\": \"hmc_target\", \"ok\": true, \"detail\": \"\"},"
               "     {\"name\": \"outage\", \"ok\": true, \"detail\": \"\"}]]', '', 3000, 1),"
               " (3, 1, 'lpar02', '[\"P10-A\", \"P10-B\"]', 'failed', 2000, 9000, 1500,"
               "  '[[{\"name\": \"hmc_target\", \"ok\": true, \"detail\": \"\"}],"
               "    [{\"name\": \"agent_serial\", \"ok\": false, \"detail\": \"old\"}]]',"
               "  'agent_serial failed', 3000, 2),"
               " (3, 2, 'lpar03', '[\"P10-B\"]', 'blocked', NULL, NULL, NULL, '[]',"
               "  'RMC inactive', 3000, 0),"
               " (3, 3, 'lpar04', '[\"P10-B\"]', 'migrating', 2500, NULL, NULL, '[]', '', 3000, 1);");
    sqlite3_close(db);

    fx->responder = zactor_new(s_responder, NULL);
    assert_non_null(fx->responder);

    api_options_t opts = {.host = "127.0.0.1", .port = 0, .db_path = fx->db,
                          .token_file = fx->token, .command_endpoint = ENDPOINT,
                          .command_timeout_ms = 5000};
    fx->api = api_new(&opts, err, sizeof err);
    if (!fx->api)
        fail_msg("api_new: %s", err);
    assert_true(api_port(fx->api) > 0);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d", api_port(fx->api));
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    api_destroy(&fx->api);
    zactor_destroy(&fx->responder);
    char path[160];
    const char *names[] = {"ferry.db", "ferry.db-wal", "ferry.db-shm", "api.token",
                           "plan.json", "group.token"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

// ------------------------------------------------------------------ client

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t s_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_t *buf = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(buf->data, buf->len + n + 1);
    assert_non_null(grown);
    memcpy(grown + buf->len, ptr, n);
    buf->data = grown;
    buf->len += n;
    buf->data[buf->len] = '\0';
    return n;
}

//  HTTP call; returns the status and the parsed body (new reference) in *out.
static long s_http(fixture_t *fx, const char *method, const char *path, const char *token,
                   const char *body, json_t **out)
{
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[256], auth[256];
    snprintf(url, sizeof url, "%s%s", fx->url, path);
    struct curl_slist *headers = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    buf_t buf = {NULL, 0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
    }
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    json_t *doc = buf.data ? json_loads(buf.data, JSON_DECODE_ANY, NULL) : NULL;
    if (!doc)
        fail_msg("%s %s: not JSON: %s", method, path, buf.data ? buf.data : "(empty)");
    free(buf.data);
    *out = doc;
    return status;
}

static const char *s_error_of(const json_t *doc)
{
    const char *msg = json_string_value(json_object_get(doc, "error"));
    return msg ? msg : "";
}

// ------------------------------------------------------------------ tests

static void test_auth(void **state)
{
    fixture_t *fx = *state;
    json_t *doc = NULL;
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans", NULL, NULL, &doc), 401);
    assert_non_null(strstr(s_error_of(doc), "token"));
    json_decref(doc);
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans", "wrong", NULL, &doc), 401);
    json_decref(doc);
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans", TOKEN "x", NULL, &doc), 401);
    json_decref(doc);
    //  A POST without the token is refused before anything is forwarded.
    assert_int_equal(s_http(fx, "POST", "/api/v1/plans/3/start", NULL, "{}", &doc), 401);
    json_decref(doc);
    assert_int_equal(s_http(fx, "GET", "/api/v1/nothing", TOKEN, NULL, &doc), 404);
    json_decref(doc);
}

static void test_agents(void **state)
{
    fixture_t *fx = *state;
    json_t *doc = NULL;
    assert_int_equal(s_http(fx, "GET", "/api/v1/agents", TOKEN, NULL, &doc), 200);
    assert_int_equal(json_array_size(doc), 1);
    json_t *a = json_array_get(doc, 0);
    assert_string_equal(json_string_value(json_object_get(a, "partition")), "lpar01");
    assert_string_equal(json_string_value(json_object_get(a, "serial")), "CACD17");
    assert_string_equal(json_string_value(json_object_get(a, "os_level")), "7300-02-02");
    assert_int_equal(json_integer_value(json_object_get(a, "acked_seq")), 42);
    assert_int_equal(json_integer_value(json_object_get(a, "last_seen_ms")), 1700000000000LL);
    json_decref(doc);
}

static void test_plans(void **state)
{
    fixture_t *fx = *state;
    json_t *doc = NULL;
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans", TOKEN, NULL, &doc), 200);
    assert_int_equal(json_array_size(doc), 1);
    json_t *p = json_array_get(doc, 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "wave1");
    assert_true(json_is_null(json_object_get(p, "finished_ms")));
    json_t *m = json_object_get(p, "moves");
    assert_int_equal(json_integer_value(json_object_get(m, "total")), 4);
    assert_int_equal(json_integer_value(json_object_get(m, "verified")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "blocked")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "running")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "pending")), 0);
    json_decref(doc);

    assert_int_equal(s_http(fx, "GET", "/api/v1/plans/3", TOKEN, NULL, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "running");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "plan"), "name")), "wave1");
    json_t *moves = json_object_get(doc, "moves");
    assert_int_equal(json_array_size(moves), 4);
    json_t *two = json_array_get(moves, 1);
    assert_string_equal(json_string_value(json_object_get(two, "partition")), "lpar02");
    assert_int_equal(json_array_size(json_object_get(two, "route")), 2);
    assert_int_equal(json_array_size(json_object_get(two, "checks")), 2);
    assert_int_equal(json_integer_value(json_object_get(two, "outage_ms")), 1500);
    assert_string_equal(json_string_value(json_object_get(two, "message")), "agent_serial failed");
    json_decref(doc);

    assert_int_equal(s_http(fx, "GET", "/api/v1/plans/99", TOKEN, NULL, &doc), 404);
    assert_non_null(strstr(s_error_of(doc), "99"));
    json_decref(doc);
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans/x1", TOKEN, NULL, &doc), 404);
    json_decref(doc);
    assert_int_equal(s_http(fx, "DELETE", "/api/v1/plans/3", TOKEN, NULL, &doc), 405);
    json_decref(doc);
}

static void test_commands(void **state)
{
    fixture_t *fx = *state;
    json_t *doc = NULL;
    const char *plan = "{\"name\": \"wave2\", \"hmc\": \"hmc1\", \"moves\": ["
                       "{\"partition\": \"lpar01\", \"to\": \"P10-B\", \"via\": [\"P10-A\"]}]}";
    assert_int_equal(s_http(fx, "POST", "/api/v1/plans", TOKEN, plan, &doc), 201);
    assert_true(json_is_true(json_object_get(doc, "ok")));
    assert_int_equal(json_integer_value(json_object_get(doc, "id")), 7);
    json_decref(doc);
    pthread_mutex_lock(&s_lock);
    assert_string_equal(s_last_op, "submit");
    assert_string_equal(s_last_plan, "wave2");
    pthread_mutex_unlock(&s_lock);

    assert_int_equal(s_http(fx, "POST", "/api/v1/plans/12/start", TOKEN, "", &doc), 404);
    assert_string_equal(s_error_of(doc), "no such plan");
    json_decref(doc);
    pthread_mutex_lock(&s_lock);
    assert_string_equal(s_last_op, "start");
    assert_int_equal(s_last_id, 12);
    pthread_mutex_unlock(&s_lock);

    assert_int_equal(s_http(fx, "POST", "/api/v1/plans/12/pause", TOKEN, "", &doc), 404);
    json_decref(doc);
    pthread_mutex_lock(&s_lock);
    assert_string_equal(s_last_op, "pause");
    pthread_mutex_unlock(&s_lock);

    //  An invalid plan is refused here with the parser's message, not forwarded.
    assert_int_equal(s_http(fx, "POST", "/api/v1/plans", TOKEN, "{\"name\": \"bad name\"}", &doc),
                     400);
    assert_true(strlen(s_error_of(doc)) > 0);
    json_decref(doc);
    assert_int_equal(s_http(fx, "POST", "/api/v1/plans", TOKEN, "not json", &doc), 400);
    json_decref(doc);

    //  Over 1 MiB: 413.
    size_t big = API_MAX_BODY + 10;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[big] = '\0';
    assert_int_equal(s_http(fx, "POST", "/api/v1/plans", TOKEN, huge, &doc), 413);
    json_decref(doc);
    free(huge);
}

//  No collector answers: 504 after the timeout, and the next request is not
//  wedged behind the lost reply (the REQ socket is recreated).
static void test_lost_reply(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    api_options_t opts = {.host = "127.0.0.1", .port = 0, .db_path = fx->db,
                          .token_file = fx->token, .command_endpoint = "inproc://test-api-nobody",
                          .command_timeout_ms = 200};
    api_t *api = api_new(&opts, err, sizeof err);
    if (!api)
        fail_msg("api_new: %s", err);
    char saved[64];
    memcpy(saved, fx->url, sizeof saved);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d", api_port(api));
    json_t *doc = NULL;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_http(fx, "POST", "/api/v1/plans/3/abort", TOKEN, "", &doc), 504);
        assert_non_null(strstr(s_error_of(doc), "did not answer"));
        json_decref(doc);
    }
    //  Reads do not depend on the collector.
    assert_int_equal(s_http(fx, "GET", "/api/v1/plans", TOKEN, NULL, &doc), 200);
    json_decref(doc);
    memcpy(fx->url, saved, sizeof saved);
    api_destroy(&api);
    api_destroy(&api);
}

static void test_refusals(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    api_options_t opts = {.host = "192.0.2.1", .port = 0, .db_path = fx->db,
                          .token_file = fx->token, .command_endpoint = ENDPOINT};
    assert_null(api_new(&opts, err, sizeof err));
    assert_non_null(strstr(err, "non-loopback"));

    char group[160];
    snprintf(group, sizeof group, "%s/group.token", fx->dir);
    s_write_file(group, TOKEN "\n", 0640);
    opts.host = "127.0.0.1";
    opts.token_file = group;
    err[0] = '\0';
    assert_null(api_new(&opts, err, sizeof err));
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, TOKEN));

    s_write_file(group, "\n", 0600);
    assert_null(api_new(&opts, err, sizeof err));
    assert_non_null(strstr(err, "empty"));
}

static void s_ferryctl(fixture_t *fx, const char *const args[], int want_exit, char **out)
{
    char *argv[16] = {FERRY_BIN_DIR "/ferryctl", "--url", fx->url, "--token-file", fx->token};
    size_t n = 5;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    command_result_t res;
    char err[256] = "";
    if (command_run(argv, NULL, 20000, 1 << 20, &res, err, sizeof err) != 0)
        fail_msg("ferryctl: %s", err);
    if (res.exit_code != want_exit)
        fail_msg("ferryctl %s %s: exit %d (want %d)\nstdout: %s\nstderr: %s", args[0],
                 args[1] ? args[1] : "", res.exit_code, want_exit, res.out, res.err);
    *out = strdup(want_exit == 0 ? res.out : res.err);
    command_result_free(&res);
}

static void test_ferryctl(void **state)
{
    fixture_t *fx = *state;
    char *out = NULL;
    s_ferryctl(fx, (const char *const[]){"plan", "list", NULL}, 0, &out);
    assert_non_null(strstr(out, "wave1"));
    assert_non_null(strstr(out, "VERIFIED"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"plan", "show", "3", NULL}, 0, &out);
    assert_non_null(strstr(out, "lpar01"));
    assert_non_null(strstr(out, "lpar02"));
    assert_non_null(strstr(out, "P10-A -> P10-B"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"plan", "report", "3", NULL}, 0, &out);
    print_message("%s", out);
    assert_non_null(strstr(out, "lpar01"));
    assert_non_null(strstr(out, "lpar03"));
    assert_non_null(strstr(out, "P10-A -> P10-B"));
    assert_non_null(strstr(out, "2/2"));
    assert_non_null(strstr(out, "1/2"));
    assert_non_null(strstr(out, "LPM (measured)"));
    //  4 moves, 1 verified, 1 failed, 1 blocked; outage p50 812 ms, max 1.5 s.
    const char *row = strstr(out, "LPM (measured)");
    assert_non_null(row);
    int moves = 0, verified = 0, failed = 0, blocked = 0;
    assert_int_equal(sscanf(row, "LPM (measured) %d %d %d %d", &moves, &verified, &failed,
                            &blocked),
                     4);
    assert_int_equal(moves, 4);
    assert_int_equal(verified, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(blocked, 1);
    assert_non_null(strstr(row, "812 ms"));
    assert_non_null(strstr(row, "1.5 s"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"agents", NULL}, 0, &out);
    assert_non_null(strstr(out, "CACD17"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"--json", "plan", "show", "3", NULL}, 0, &out);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_decref(doc);
    free(out);

    s_ferryctl(fx, (const char *const[]){"plan", "show", "99", NULL}, 1, &out);
    assert_non_null(strstr(out, "no plan with id 99"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"plan", "start", "12", NULL}, 1, &out);
    assert_non_null(strstr(out, "no such plan"));
    free(out);

    s_ferryctl(fx, (const char *const[]){"plan", "frobnicate", NULL}, 2, &out);
    free(out);
}

int main(void)
{
    log_init("test_api", false, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plans, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lost_reply, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ferryctl, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
