/*  test_store_writer — the store's writer thread and its clients
    (store_writer.h), and ingest's batches committed through it
    (store_batch.h), on a temporary database read back through a read-only
    sqlite3 connection of the test's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "codec.h"
#include "store.h"
#include "store_batch.h"
#include "store_writer.h"

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define WAIT_MS 10000           // deadline of every wait: a hang fails, it does not block
#define MAX_FRAME (1u << 20)
#define SENT_MS 1000000         // the agent's send time of the batch frames
#define KEEP_MS 60000           // metrics retention of the fixture's writer
#define PEER_COUNT 100          // requests of each client in the two-client test

//  Work for the writer: what it returns, and where it ran.
typedef struct {
    int rc;                     // returned by the work
    const char *reason;         // its err on -1
    pthread_t thread;           // the thread it ran on
    int ran;                    // position among the jobs run (s_ran)
    int schema;                 // store_schema_version seen by the work
} job_t;

//  The callbacks of store_client_send, as they came.
typedef struct {
    int ids[16];                // done_arg's id, in order of the calls
    int rcs[16];
    char errs[16][64];
    pthread_t threads[16];
    size_t count;
    bool in_call;               // the test is inside store_client_call
    bool during_call;           // a callback came while it was
} done_log_t;

//  A done_arg: the log and which request it was.
typedef struct {
    done_log_t *log;
    int id;
} tag_t;

//  The frames a batch borrows, freed at the end of the test.
typedef struct {
    uint8_t *data[16];
    size_t size[16];
    size_t count;
} frames_t;

//  What the tests share with the writer and the callbacks lives here, not on
//  a test's stack: a failed assertion leaves the test while requests may
//  still be out, and teardown's waits hand them over.
typedef struct {
    char dir[64];               // mkdtemp directory
    char path[96];              // database file inside it
    store_writer_t *writer;     // or NULL
    zloop_t *loop;              // the test thread's loop
    store_client_t *client;     // on the loop, or NULL
    store_client_t *other;      // without a loop, or NULL
    done_log_t log;             // callbacks of the sends
    job_t jobs[8];              // the sends' work
    tag_t tags[8];              // their done_args
    store_batch_t *batch;       // or NULL
    frames_t frames;            // the batch's frames
} fixture_t;

static atomic_int s_ran;        // jobs run so far, for their order

// ------------------------------------------------------------------ helpers

static size_t s_keep(frames_t *frames, uint8_t *data, size_t size)
{
    assert_true(frames->count < sizeof frames->data / sizeof frames->data[0]);
    frames->data[frames->count] = data;
    frames->size[frames->count] = size;
    return frames->count++;
}

static void s_frames_free(frames_t *frames)
{
    for (size_t i = 0; i < frames->count; i++)
        free(frames->data[i]);
    frames->count = 0;
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_store_writer.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/ferry.db", fx->dir);
    fx->loop = zloop_new();
    assert_non_null(fx->loop);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    //  A failed assertion may have left the flag set: later tests need it clear.
    zsys_interrupted = 0;
    store_client_destroy(&fx->client);
    store_client_destroy(&fx->other);
    zloop_destroy(&fx->loop);
    store_batch_destroy(&fx->batch);
    s_frames_free(&fx->frames);
    store_writer_destroy(&fx->writer);
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

//  The fixture's writer (no fsync per commit: the two-client test commits a
//  few hundred times) and a client on the test's loop.
static void s_open(fixture_t *fx)
{
    store_options_t opts = { .sync_full = false, .metrics_keep_ms = KEEP_MS };
    char err[256] = "";
    fx->writer = store_writer_new(fx->path, &opts, err, sizeof err);
    if (!fx->writer)
        fail_msg("store_writer_new: %s", err);
    fx->client = store_client_new(fx->writer, fx->loop);
    assert_non_null(fx->client);
}

static sqlite3 *s_db(fixture_t *fx)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    //  The writer may hold the database a moment (a checkpoint): wait, do not fail.
    sqlite3_busy_timeout(db, WAIT_MS);
    return db;
}

//  First column of the first row of sql: -1 for SQL NULL, -999 for no row.
static int64_t s_query_int(fixture_t *fx, const char *sql)
{
    sqlite3 *db = s_db(fx);
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

//  First column of the first row as text into buf ("" for none or NULL).
static const char *s_query_text(fixture_t *fx, const char *sql, char *buf, size_t size)
{
    sqlite3 *db = s_db(fx);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    buf[0] = '\0';
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        snprintf(buf, size, "%s", (const char *) sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return buf;
}

//  store_writer_fn: note where and when it ran, return job->rc.
static int s_job(store_t *store, void *arg, char *err, size_t errlen)
{
    job_t *job = arg;
    job->thread = pthread_self();
    job->ran = atomic_fetch_add(&s_ran, 1);
    job->schema = store_schema_version(store);
    if (job->rc != 0)
        snprintf(err, errlen, "%s", job->reason);
    return job->rc;
}

//  store_done_fn: log the callback (arg a tag_t).
static void s_done(void *arg, int rc, const char *err)
{
    tag_t *tag = arg;
    done_log_t *log = tag->log;
    if (log->in_call)
        log->during_call = true;
    if (log->count < sizeof log->ids / sizeof log->ids[0]) {
        log->ids[log->count] = tag->id;
        log->rcs[log->count] = rc;
        snprintf(log->errs[log->count], sizeof log->errs[0], "%s", err);
        log->threads[log->count] = pthread_self();
    }
    log->count++;
}

//  Wait for a number of callbacks on the loop.
typedef struct {
    done_log_t *log;
    size_t count;
    int64_t deadline;
} until_t;

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    until_t *until = arg;
    //  -1 ends zloop_start: the callbacks came, or the deadline passed.
    return until->log->count >= until->count || zclock_mono() >= until->deadline ? -1 : 0;
}

//  Run the loop until log holds count callbacks or WAIT_MS passed.
static void s_run_until(fixture_t *fx, done_log_t *log, size_t count)
{
    until_t until = { .log = log, .count = count, .deadline = zclock_mono() + WAIT_MS };
    int timer = zloop_timer(fx->loop, 1, 0, s_on_tick, &until);
    assert_true(timer >= 0);
    zloop_start(fx->loop);
    zloop_timer_end(fx->loop, timer);
    if (log->count != count)
        fail_msg("%zu callbacks within %d ms, expected %zu", log->count, WAIT_MS, count);
}

//  store_writer_fn: store_agent_ensure of arg (a agent_key_t).
typedef struct {
    char key[48];
    int64_t id;
} agent_key_t;

static int s_ensure(store_t *store, void *arg, char *err, size_t errlen)
{
    agent_key_t *k = arg;
    store_agent_state_t st;
    if (store_agent_ensure(store, k->key, 5000, &st) != 0) {
        snprintf(err, errlen, "%s", store_error(store));
        return -1;
    }
    k->id = st.id;
    return 0;
}

static int64_t s_agent(fixture_t *fx, const char *key)
{
    agent_key_t k = { .id = 0 };
    snprintf(k.key, sizeof k.key, "%s", key);
    char err[256] = "";
    if (store_client_call(fx->client, s_ensure, &k, err, sizeof err) != 0)
        fail_msg("agent ensure: %s", err);
    assert_true(k.id > 0);
    return k.id;
}

//  env packed as an agent sends it, kept in the fixture: its index there.
static size_t s_pack(fixture_t *fx, Ferry__Envelope *env)
{
    env->sent_ms = SENT_MS;
    size_t size = 0;
    uint8_t *data = codec_encode(env, MAX_FRAME, &size);
    assert_non_null(data);
    return s_keep(&fx->frames, data, size);
}

static size_t s_hello_frame(fixture_t *fx, uint64_t stream_id)
{
    Ferry__Envelope env;
    Ferry__Hello hello = FERRY__HELLO__INIT;
    codec_envelope_init(&env, 0);
    hello.agent_version = (char *) "1.2.3";
    hello.platform = (char *) "aix";
    hello.hostname = (char *) "lpar-w";
    hello.boot_id = (char *) "boot-9";
    hello.stream_id = stream_id;
    hello.next_seq = 1;
    env.first_seq = 1;
    env.body_case = FERRY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return s_pack(fx, &env);
}

static size_t s_event_frame(fixture_t *fx, uint64_t seq, const char *kind)
{
    Ferry__Envelope env;
    Ferry__Event event = FERRY__EVENT__INIT;
    codec_envelope_init(&env, seq);
    event.kind = (char *) kind;
    event.message = (char *) "from the batch";
    env.body_case = FERRY__ENVELOPE__BODY_EVENT;
    env.event = &event;
    return s_pack(fx, &env);
}

static size_t s_facts_frame(fixture_t *fx, uint64_t seq, const char *json)
{
    Ferry__Envelope env;
    Ferry__Facts facts = FERRY__FACTS__INIT;
    codec_envelope_init(&env, seq);
    facts.platform = (char *) "aix";
    facts.hostname = (char *) "lpar-w";
    facts.digest = (char *) "d1";
    facts.json = (char *) json;
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &facts;
    return s_pack(fx, &env);
}

static size_t s_metrics_frame(fixture_t *fx, uint64_t seq)
{
    Ferry__Envelope env;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__CpuMetrics cpu = FERRY__CPU_METRICS__INIT;
    Ferry__MemoryMetrics memory = FERRY__MEMORY_METRICS__INIT;
    Ferry__LoadMetrics load = FERRY__LOAD_METRICS__INIT;
    codec_envelope_init(&env, seq);
    cpu.user_pct = 12.5;
    cpu.idle_pct = 87.5;
    memory.real_total_mb = 16384;
    memory.real_free_mb = 4096;
    load.avg1 = 1.25;
    metrics.interval_s = 10;
    metrics.cpu = &cpu;
    metrics.memory = &memory;
    metrics.load = &load;
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &metrics;
    return s_pack(fx, &env);
}

//  Record kept frame i in the fixture's batch as a Hello of agent.
static void s_add_hello(fixture_t *fx, int64_t agent, size_t i)
{
    assert_int_equal(store_batch_hello(fx->batch, agent, fx->frames.data[i], fx->frames.size[i]),
                     0);
}

//  Record kept frame i in the fixture's batch as data of agent.
static void s_add_data(fixture_t *fx, int64_t agent, size_t i, const char *refused,
                       bool pending)
{
    assert_int_equal(store_batch_data(fx->batch, agent, fx->frames.data[i], fx->frames.size[i],
                                      refused, pending),
                     0);
}

//  Commit the fixture's batch on the writer; the reason when it fails.
static int s_commit(fixture_t *fx, char *err, size_t errlen)
{
    err[0] = '\0';
    return store_client_call(fx->client, store_batch_commit, fx->batch, err, errlen);
}

// ------------------------------------------------------------------ tests

static void test_writer_new(void **state)
{
    fixture_t *fx = *state;
    char err[256] = "";
    store_writer_t *writer = store_writer_new(fx->path, NULL, err, sizeof err);
    if (!writer)
        fail_msg("store_writer_new: %s", err);
    assert_true(store_writer_max_length(writer) > 0);
    //  The database is there, made by the writer, at the current schema.
    assert_int_equal(access(fx->path, F_OK), 0);
    assert_int_equal(s_query_int(fx, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM sqlite_master WHERE name = 'agents'"),
                     1);
    //  And the writer's own connection is on it.
    store_client_t *client = store_client_new(writer, NULL);
    assert_non_null(client);
    job_t job = { .rc = 0 };
    assert_int_equal(store_client_call(client, s_job, &job, err, sizeof err), 0);
    assert_int_equal(job.schema, STORE_SCHEMA_VERSION);
    store_client_destroy(&client);
    assert_null(client);
    store_client_destroy(&client);

    store_writer_destroy(&writer);
    assert_null(writer);
    store_writer_destroy(&writer);      // safe twice
    store_writer_destroy(NULL);
    assert_int_equal(s_query_int(fx, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

    //  A directory that does not exist: no writer, and a reason.
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/ferry.db", fx->dir);
    err[0] = '\0';
    writer = store_writer_new(bad, NULL, err, sizeof err);
    assert_null(writer);
    assert_true(strlen(err) > 0);
    for (const char *p = err; *p; p++)
        assert_true(*p >= ' ' && *p < 0x7f);
    assert_int_equal(access(bad, F_OK), -1);
}

//  The writer's thread cannot bind its endpoint (as when the process is out of
//  ZeroMQ sockets): no writer, rather than one that never answers. White box:
//  the endpoints are taken by their name, inproc://store-writer-<n>.
static void test_writer_bind_fails(void **state)
{
    fixture_t *fx = *state;
    zsock_t *squatter = zsock_new(ZMQ_ROUTER);
    assert_non_null(squatter);
    bool bound[1000];
    int taken = 0;
    for (unsigned n = 0; n < 1000; n++)
        if ((bound[n] = zsock_bind(squatter, "inproc://store-writer-%u", n) == 0))
            taken++;
    assert_true(taken > 900);
    char err[256] = "";
    fx->writer = store_writer_new(fx->path, NULL, err, sizeof err);
    //  Unbound one by one: closing the socket frees its endpoints later, on
    //  ZeroMQ's reaper thread.
    for (unsigned n = 0; n < 1000; n++)
        if (bound[n])
            zsock_unbind(squatter, "inproc://store-writer-%u", n);
    zsock_destroy(&squatter);
    assert_null(fx->writer);
    assert_true(strlen(err) > 0);
    //  With the endpoints free again, a writer starts.
    s_open(fx);
    job_t job = { .rc = 0 };
    assert_int_equal(store_client_call(fx->client, s_job, &job, err, sizeof err), 0);
}

static void test_call(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    char err[128] = "untouched";
    job_t ok = { .rc = 0 };
    assert_int_equal(store_client_call(fx->client, s_job, &ok, err, sizeof err), 0);
    //  Ran on the writer's thread, not ours.
    assert_false(pthread_equal(ok.thread, pthread_self()));
    assert_int_equal(ok.schema, STORE_SCHEMA_VERSION);

    job_t bad = { .rc = -1, .reason = "the disk is on fire" };
    assert_int_equal(store_client_call(fx->client, s_job, &bad, err, sizeof err), -1);
    assert_string_equal(err, "the disk is on fire");
    //  One writer thread for every request.
    assert_true(pthread_equal(bad.thread, ok.thread));

    //  A failure without a reason still gets one.
    job_t mute = { .rc = -1, .reason = "" };
    err[0] = '\0';
    assert_int_equal(store_client_call(fx->client, s_job, &mute, err, sizeof err), -1);
    assert_true(strlen(err) > 0);

    //  The caller's buffer is bounded by errlen.
    char small[8];
    assert_int_equal(store_client_call(fx->client, s_job, &bad, small, sizeof small), -1);
    assert_string_equal(small, "the dis");
}

static void test_send_loop(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    done_log_t *log = &fx->log;
    job_t *jobs = fx->jobs;
    tag_t *tags = fx->tags;
    for (int i = 0; i < 5; i++) {
        jobs[i] = (job_t) { .rc = i == 2 ? -1 : 0, .reason = "job 2 failed" };
        tags[i] = (tag_t) { .log = log, .id = 100 + i };
        assert_int_equal(store_client_send(fx->client, s_job, &jobs[i], s_done, &tags[i]), 0);
    }
    assert_int_equal(store_client_pending(fx->client), 5);
    s_run_until(fx, log, 5);
    assert_int_equal(store_client_pending(fx->client), 0);
    for (int i = 0; i < 5; i++) {
        //  Answered in the order sent, with each its own result ...
        assert_int_equal(log->ids[i], 100 + i);
        assert_int_equal(log->rcs[i], i == 2 ? -1 : 0);
        assert_string_equal(log->errs[i], i == 2 ? "job 2 failed" : "");
        //  ... on the loop's thread, after running in that order on the writer's.
        assert_true(pthread_equal(log->threads[i], pthread_self()));
        assert_false(pthread_equal(jobs[i].thread, pthread_self()));
        if (i > 0)
            assert_true(jobs[i].ran > jobs[i - 1].ran);
    }
}

static void test_call_among_sends(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    done_log_t *log = &fx->log;
    job_t *jobs = fx->jobs;
    tag_t *tags = fx->tags;
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job_t) { .rc = 0 };
        tags[i] = (tag_t) { .log = log, .id = i };
        assert_int_equal(store_client_send(fx->client, s_job, &jobs[i], s_done, &tags[i]), 0);
    }
    //  The call's reply comes after the sends' on the socket: it must keep
    //  theirs aside and return its own.
    job_t mine = { .rc = -1, .reason = "mine" };
    char err[64] = "";
    log->in_call = true;
    int rc = store_client_call(fx->client, s_job, &mine, err, sizeof err);
    log->in_call = false;
    assert_int_equal(rc, -1);
    assert_string_equal(err, "mine");
    assert_int_equal(log->count, 0);
    assert_false(log->during_call);
    assert_int_equal(store_client_pending(fx->client), 3);
    //  The sends ran before the call (the client's order).
    for (int i = 0; i < 3; i++)
        assert_true(jobs[i].ran < mine.ran);

    //  Their callbacks come from the loop, in order.
    s_run_until(fx, log, 3);
    assert_false(log->during_call);
    assert_int_equal(store_client_pending(fx->client), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(log->ids[i], i);
        assert_int_equal(log->rcs[i], 0);
        assert_true(pthread_equal(log->threads[i], pthread_self()));
    }

    //  Kept replies still go before later ones.
    assert_int_equal(store_client_send(fx->client, s_job, &jobs[0], s_done, &tags[0]), 0);
    job_t other = { .rc = 0 };
    assert_int_equal(store_client_call(fx->client, s_job, &other, err, sizeof err), 0);
    assert_int_equal(store_client_send(fx->client, s_job, &jobs[1], s_done, &tags[1]), 0);
    s_run_until(fx, log, 5);
    assert_int_equal(log->ids[3], 0);
    assert_int_equal(log->ids[4], 1);
}

static void test_wait(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    //  A client without a loop: only the waits hand callbacks over.
    fx->other = store_client_new(fx->writer, NULL);
    assert_non_null(fx->other);
    store_client_t *client = fx->other;
    done_log_t *log = &fx->log;
    job_t *jobs = fx->jobs;
    tag_t *tags = fx->tags;
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job_t) { .rc = 0 };
        tags[i] = (tag_t) { .log = log, .id = i };
    }

    //  Nothing pending: at once.
    int64_t start = zclock_mono();
    assert_int_equal(store_client_wait_one(client), 0);
    assert_int_equal(store_client_wait(client), 0);
    assert_true(zclock_mono() - start < WAIT_MS);
    assert_int_equal(log->count, 0);

    for (int i = 0; i < 3; i++)
        assert_int_equal(store_client_send(client, s_job, &jobs[i], s_done, &tags[i]), 0);
    assert_int_equal(store_client_pending(client), 3);
    assert_int_equal(store_client_wait_one(client), 0);
    assert_int_equal(store_client_pending(client), 2);
    assert_int_equal(log->count, 1);
    assert_int_equal(log->ids[0], 0);
    assert_int_equal(store_client_wait(client), 0);
    assert_int_equal(store_client_pending(client), 0);
    assert_int_equal(log->count, 3);
    assert_int_equal(log->ids[1], 1);
    assert_int_equal(log->ids[2], 2);

    //  wait_one takes what a blocking call kept aside first.
    assert_int_equal(store_client_send(client, s_job, &jobs[0], s_done, &tags[0]), 0);
    assert_int_equal(store_client_send(client, s_job, &jobs[1], s_done, &tags[1]), 0);
    char err[64] = "";
    assert_int_equal(store_client_call(client, s_job, &jobs[3], err, sizeof err), 0);
    assert_int_equal(log->count, 3);
    assert_int_equal(store_client_pending(client), 2);
    assert_int_equal(store_client_wait_one(client), 0);
    assert_int_equal(store_client_pending(client), 1);
    assert_int_equal(log->count, 4);
    assert_int_equal(log->ids[3], 0);
    assert_int_equal(store_client_wait(client), 0);
    assert_int_equal(log->count, 5);
    assert_int_equal(log->ids[4], 1);
    assert_int_equal(store_client_wait_one(client), 0);
    assert_int_equal(log->count, 5);

    //  Destroying a client waits for what it sent.
    assert_int_equal(store_client_send(client, s_job, &jobs[2], s_done, &tags[2]), 0);
    store_client_destroy(&fx->other);
    assert_null(fx->other);
    assert_int_equal(log->count, 6);
    assert_int_equal(log->ids[5], 2);
}

//  The second client's thread and what it saw.
typedef struct {
    store_writer_t *writer;
    agent_key_t keys[PEER_COUNT];
    int sent;                   // sends queued
    int done_ok;                // callbacks with rc 0
    int wait_rc;                // store_client_wait
} peer_t;

static void s_peer_done(void *arg, int rc, const char *err)
{
    (void) err;
    peer_t *peer = arg;
    if (rc == 0)
        peer->done_ok++;
}

static void s_peer(zsock_t *pipe, void *args)
{
    peer_t *peer = args;
    zsock_signal(pipe, 0);
    peer->wait_rc = -2;
    store_client_t *client = store_client_new(peer->writer, NULL);
    if (client) {
        for (int i = 0; i < PEER_COUNT; i++)
            if (store_client_send(client, s_ensure, &peer->keys[i], s_peer_done, peer) == 0)
                peer->sent++;
        peer->wait_rc = store_client_wait(client);
        store_client_destroy(&client);
    }
    zstr_send(pipe, "done");
    //  Until zactor_destroy says $TERM.
    char *command;
    while ((command = zstr_recv(pipe))) {
        bool term = streq(command, "$TERM");
        zstr_free(&command);
        if (term)
            break;
    }
}

static void test_two_clients(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    peer_t *peer = calloc(1, sizeof *peer);
    assert_non_null(peer);
    peer->writer = fx->writer;
    for (int i = 0; i < PEER_COUNT; i++)
        snprintf(peer->keys[i].key, sizeof peer->keys[i].key, "B-%04d", i);
    zactor_t *actor = zactor_new(s_peer, peer);
    assert_non_null(actor);

    //  Meanwhile this thread's client, blocking.
    int failed = 0;
    for (int i = 0; i < PEER_COUNT; i++) {
        agent_key_t k = { .id = 0 };
        snprintf(k.key, sizeof k.key, "A-%04d", i);
        char err[128];
        if (store_client_call(fx->client, s_ensure, &k, err, sizeof err) != 0)
            failed++;
    }
    assert_int_equal(failed, 0);

    zpoller_t *poller = zpoller_new(actor, NULL);
    assert_non_null(poller);
    bool done = zpoller_wait(poller, WAIT_MS) == actor;
    zpoller_destroy(&poller);
    char *word = done ? zstr_recv(actor) : NULL;
    bool said_done = word && streq(word, "done");
    zstr_free(&word);
    zactor_destroy(&actor);
    int sent = peer->sent, done_ok = peer->done_ok, wait_rc = peer->wait_rc;
    free(peer);
    if (!said_done)
        fail_msg("the second client did not finish within %d ms", WAIT_MS);
    assert_int_equal(sent, PEER_COUNT);
    assert_int_equal(wait_rc, 0);
    assert_int_equal(done_ok, PEER_COUNT);

    //  Every request of both made its row, each client's in its order.
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM agents WHERE key LIKE 'A-%'"),
                     PEER_COUNT);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM agents WHERE key LIKE 'B-%'"),
                     PEER_COUNT);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM agents x, agents y"
                                     " WHERE substr(x.key, 1, 2) = substr(y.key, 1, 2)"
                                     " AND x.key < y.key AND x.id > y.id"),
                     0);
}

static void test_interrupted(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    //  What czmq's SIGTERM handler does; the writer must go on serving.
    zsys_interrupted = 1;
    char err[64] = "";
    job_t first = { .rc = 0 }, third = { .rc = 0 }, *second = &fx->jobs[0];
    int rc1 = store_client_call(fx->client, s_job, &first, err, sizeof err);
    done_log_t *log = &fx->log;
    fx->tags[0] = (tag_t) { .log = log, .id = 7 };
    int rc2 = store_client_send(fx->client, s_job, second, s_done, &fx->tags[0]);
    int rc3 = store_client_wait(fx->client);
    agent_key_t k = { .key = "after-sigterm" };
    int rc4 = store_client_call(fx->client, s_ensure, &k, err, sizeof err);
    int rc5 = store_client_call(fx->client, s_job, &third, err, sizeof err);
    zsys_interrupted = 0;
    assert_int_equal(rc1, 0);
    assert_int_equal(first.schema, STORE_SCHEMA_VERSION);
    assert_int_equal(rc2, 0);
    assert_int_equal(rc3, 0);
    assert_int_equal(log->count, 1);
    assert_int_equal(log->ids[0], 7);
    assert_int_equal(second->schema, STORE_SCHEMA_VERSION);
    assert_int_equal(rc4, 0);
    assert_int_equal(rc5, 0);
    assert_true(third.ran > second->ran);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM agents WHERE key = 'after-sigterm'"),
                     1);
}

static void test_batch_commit(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    int64_t a = s_agent(fx, KEY_A);
    fx->batch = store_batch_new(MAX_FRAME);
    store_batch_t *batch = fx->batch;
    assert_non_null(batch);
    assert_true(store_batch_empty(batch));

    s_add_hello(fx, a, s_hello_frame(fx, 7));
    s_add_data(fx, a, s_event_frame(fx, 1, "booted"), NULL, false);
    s_add_data(fx, a, s_facts_frame(fx, 2, "{\"partition\": {\"name\": \"lpar-w\"}}"), NULL,
               false);
    s_add_data(fx, a, s_metrics_frame(fx, 3), NULL, false);
    //  Set aside by ingest: the reason is copied, our buffer may go.
    char reason[32] = "over the limit";
    s_add_data(fx, a, s_event_frame(fx, 4, "huge"), reason, false);
    memset(reason, 'x', sizeof reason - 1);
    //  Not foreseen by ingest, refused by the database: set aside too.
    s_add_data(fx, a, s_facts_frame(fx, 5, "{\"partition\": "), NULL, false);
    //  Above a gap (6 is missing).
    s_add_data(fx, a, s_event_frame(fx, 7, "late"), NULL, true);
    assert_int_equal(store_batch_seq(batch, a, 7, 5), 0);
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    hb.interval_ms = 5000;
    hb.stall_ms = 7;
    hb.unacked = 3;
    hb.dropped = 2;
    assert_int_equal(store_batch_seen(batch, a, 123456, &hb, 9), 0);
    assert_false(store_batch_empty(batch));

    char err[256];
    if (s_commit(fx, err, sizeof err) != 0)
        fail_msg("commit: %s", err);
    //  Event 1, facts 2, metrics 3, event 7: not the two set aside.
    assert_int_equal(store_batch_stored(batch), 4);
    size_t count = 99;
    const store_rejection_t *r = store_batch_rejections(batch, &count);
    assert_int_equal(count, 2);
    assert_non_null(r);
    assert_int_equal(r[0].agent_id, a);
    assert_int_equal(r[0].seq, 4);
    assert_int_equal(r[0].time_ms, SENT_MS);
    assert_string_equal(r[0].kind, "event");
    assert_string_equal(r[0].reason, "over the limit");
    assert_true(r[0].bytes > 0);
    assert_int_equal(r[1].agent_id, a);
    assert_int_equal(r[1].seq, 5);
    assert_string_equal(r[1].kind, "facts");
    if (!strstr(r[1].reason, "malformed JSON"))
        fail_msg("the database's reason is \"%s\"", r[1].reason);
    assert_int_equal(store_batch_pruned(batch), STORE_BATCH_PRUNE_NONE);

    //  What the database holds now.
    char text[128];
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM events"), 2);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM events WHERE seq IN (1, 7)"), 2);
    assert_string_equal(s_query_text(fx, "SELECT kind FROM events WHERE seq = 7", text,
                                     sizeof text),
                        "late");
    assert_int_equal(s_query_int(fx, "SELECT seq FROM facts_current"), 2);
    assert_int_equal(s_query_int(fx, "SELECT agent_id FROM facts_current"), a);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM metric_samples"), 1);
    assert_int_equal(s_query_int(fx, "SELECT seq FROM metric_samples"), 3);
    assert_int_equal(s_query_int(fx, "SELECT time_ms FROM metric_samples"), SENT_MS);
    //  Its figures outlived the decoding of the frames after it (one arena).
    assert_int_equal(s_query_int(fx, "SELECT cpu_user * 10 FROM metrics"), 125);
    assert_int_equal(s_query_int(fx, "SELECT mem_free_mb FROM metrics"), 4096);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM rejected"), 2);
    assert_string_equal(s_query_text(fx, "SELECT kind || '/' || reason FROM rejected"
                                         " WHERE seq = 4",
                                     text, sizeof text),
                        "event/over the limit");
    assert_string_equal(s_query_text(fx, "SELECT kind FROM rejected WHERE seq = 5", text,
                                     sizeof text),
                        "facts");
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM pending_seq"), 1);
    assert_int_equal(s_query_int(fx, "SELECT seq FROM pending_seq"), 7);
    assert_string_equal(s_query_text(fx, "SELECT hostname || '/' || platform || '/'"
                                         " || agent_version || '/' || boot_id FROM agents",
                                     text, sizeof text),
                        "lpar-w/aix/1.2.3/boot-9");
    assert_int_equal(s_query_int(fx, "SELECT stream_id FROM agents"), 7);
    assert_int_equal(s_query_int(fx, "SELECT acked_seq FROM agents"), 5);
    assert_int_equal(s_query_int(fx, "SELECT last_seen_ms FROM agents"), 123456);
    assert_int_equal(s_query_int(fx, "SELECT heartbeat_interval_ms FROM agents"), 5000);
    assert_int_equal(s_query_int(fx, "SELECT stall_ms FROM agents"), 7);
    assert_int_equal(s_query_int(fx, "SELECT unacked FROM agents"), 3);
    assert_int_equal(s_query_int(fx, "SELECT dropped FROM agents"), 2);
    assert_int_equal(s_query_int(fx, "SELECT bad_frames FROM agents"), 9);
    assert_int_equal(s_query_int(fx, "SELECT rejected FROM agents"), 2);

    //  Cleared: nothing left, nothing reported.
    store_batch_clear(batch);
    assert_true(store_batch_empty(batch));
    assert_int_equal(store_batch_stored(batch), 0);
    store_batch_rejections(batch, &count);
    assert_int_equal(count, 0);
    assert_int_equal(store_batch_pruned(batch), STORE_BATCH_PRUNE_NONE);

    //  Retention on its own: the sample is exactly KEEP_MS old, kept ...
    store_batch_prune(batch, SENT_MS + KEEP_MS, 100);
    assert_false(store_batch_empty(batch));
    if (s_commit(fx, err, sizeof err) != 0)
        fail_msg("commit prune: %s", err);
    assert_int_equal(store_batch_pruned(batch), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM metric_samples"), 1);
    //  ... a millisecond later, gone.
    store_batch_clear(batch);
    store_batch_prune(batch, SENT_MS + KEEP_MS + 1, 100);
    if (s_commit(fx, err, sizeof err) != 0)
        fail_msg("commit prune: %s", err);
    assert_int_equal(store_batch_pruned(batch), 1);
    assert_int_equal(store_batch_stored(batch), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM metric_samples"), 0);
    //  The rest stays.
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM events"), 2);
    store_batch_clear(batch);
    assert_int_equal(store_batch_pruned(batch), STORE_BATCH_PRUNE_NONE);

    store_batch_destroy(&fx->batch);
    assert_null(fx->batch);
    store_batch_destroy(&fx->batch);
}

static void test_batch_rollback(void **state)
{
    fixture_t *fx = *state;
    s_open(fx);
    int64_t a = s_agent(fx, KEY_A);
    int64_t ghost = a + 1000;           // no such agent: store_metrics fails (-1)
    fx->batch = store_batch_new(MAX_FRAME);
    store_batch_t *batch = fx->batch;
    assert_non_null(batch);

    size_t hello = s_hello_frame(fx, 3), booted = s_event_frame(fx, 1, "booted"),
           huge = s_event_frame(fx, 2, "huge"), late = s_event_frame(fx, 4, "late");
    s_add_hello(fx, a, hello);
    s_add_data(fx, a, booted, NULL, false);
    s_add_data(fx, a, huge, "too big", false);
    s_add_data(fx, a, late, NULL, true);
    assert_int_equal(store_batch_seq(batch, a, 3, 2), 0);
    assert_int_equal(store_batch_seen(batch, a, 99999, NULL, 4), 0);
    s_add_data(fx, ghost, s_metrics_frame(fx, 5), NULL, false);

    char err[256];
    assert_int_equal(s_commit(fx, err, sizeof err), -1);
    if (!strstr(err, "not found"))
        fail_msg("the reason is \"%s\"", err);
    assert_int_equal(store_batch_stored(batch), 0);
    size_t count = 99;
    store_batch_rejections(batch, &count);
    assert_int_equal(count, 0);

    //  Nothing of it is in the database.
    char text[64];
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM events"), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM rejected"), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM pending_seq"), 0);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM metric_samples"), 0);
    assert_int_equal(s_query_int(fx, "SELECT stream_id FROM agents"), 0);
    assert_int_equal(s_query_int(fx, "SELECT acked_seq FROM agents"), 0);
    assert_int_equal(s_query_int(fx, "SELECT last_seen_ms FROM agents"), 5000);
    assert_int_equal(s_query_int(fx, "SELECT bad_frames FROM agents"), 0);
    assert_int_equal(s_query_int(fx, "SELECT rejected FROM agents"), 0);
    assert_string_equal(s_query_text(fx, "SELECT hostname FROM agents", text, sizeof text), "");

    //  The writer goes on: the same batch without the stranger commits.
    store_batch_clear(batch);
    s_add_hello(fx, a, hello);
    s_add_data(fx, a, booted, NULL, false);
    s_add_data(fx, a, huge, "too big", false);
    s_add_data(fx, a, late, NULL, true);
    assert_int_equal(store_batch_seq(batch, a, 3, 2), 0);
    if (s_commit(fx, err, sizeof err) != 0)
        fail_msg("commit after the rollback: %s", err);
    assert_int_equal(store_batch_stored(batch), 2);
    store_batch_rejections(batch, &count);
    assert_int_equal(count, 1);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM events"), 2);
    assert_int_equal(s_query_int(fx, "SELECT count(*) FROM rejected"), 1);
    assert_int_equal(s_query_int(fx, "SELECT seq FROM pending_seq"), 4);
    assert_int_equal(s_query_int(fx, "SELECT acked_seq FROM agents"), 2);
    assert_int_equal(s_query_int(fx, "SELECT stream_id FROM agents"), 3);
    assert_string_equal(s_query_text(fx, "SELECT hostname FROM agents", text, sizeof text),
                        "lpar-w");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_new, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_writer_bind_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_call, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_loop, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_call_among_sends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wait, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_clients, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_interrupted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_rollback, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
