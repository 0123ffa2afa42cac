/*  test_planner — LPM plans end to end in one process: the real ferry-hmcsim
    (3 systems, max 2 active migrations each), 4 simulated AIX partitions
    (ferry-simlpar) each with a real ferry-agent, and an in-process collector
    (ingest + planner on the same zloop, run in the test thread).

    Case 1: 2 partitions direct to P10-B, 2 through P10-A: all verified, the
    measured outage the blackout hmcsim timed, one Migrate per hop, the
    systems never above their limit (hmcsim's own record, /sim/stats) and
    the starts paced, one per planner tick.
    Case 2: one partition with RMC inactive is blocked with the readiness
    message while the others verify.

    Every wait has a deadline; the loop is driven by a zloop timer. Nothing
    is timed against a fixed window: the outage against the stop hmcsim
    measured, the pacing against the ticks the loop really ran (a loaded
    machine delays and bunches them). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "hmc_xml.h"
#include "ingest.h"
#include "lpm_fixture.h"
#include "move_window.h"
#include "planner.h"
#include "store_read.h"

#include <sqlite3.h>

#define LPARS 4
#define BLACKOUT_MS 300
#define RUN_TIMEOUT_MS 120000
#define PASSWORD "s3cret"
#define SETTLE_MS 3000
#define TICK_MS 50                  // the planner's tick
#define STARTS_PER_S 10             // with TICK_MS: one start per tick
#define SAMPLE_MS 10                // how often the test looks at the moves started

typedef struct {
    it_env_t env;
    char url[64];
    char cert[400];
    char password[400];
    pid_t sim;
    ingest_t *ingest;
    move_window_t *windows;         // fed by ingest, asked by the planner
    store_writer_t *writer;         // the database's writer thread
    planner_t *planner;
    int64_t plan_id;
    int64_t deadline;
    bool done;
    int64_t facts_at;               // when every agent's facts were stored
    const char *plan_text;
    sqlite3 *watch;                 // read-only view of the collector's database
    int started;                    // moves started at the last sample
    int most_started;               // most moves started between two samples
} fixture_t;

static const char *S_SERIALS[] = {"21C48F0", "21C48FA", "21C48FB"};

static void s_write(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int s_read_port(const char *path)
{
    FILE *file = fopen(path, "r");
    int port = 0;
    if (file) {
        if (fscanf(file, "%d", &port) != 1)
            port = 0;
        fclose(file);
    }
    return port;
}

//  hmcsim, simlpars and agents; rmc_inactive: the partition (1-based) whose
//  RMC the HMC reports inactive, 0 = none.
static void s_start_world(fixture_t *f, int rmc_inactive)
{
    it_env_t *env = &f->env;
    char hmcdir[320], conf[400], port_file[400], text[8192];
    it_path(env, hmcdir, sizeof hmcdir, "hmc");
    assert_int_equal(mkdir(hmcdir, 0700), 0);
    char *gen[] = {"ferry-hmcsim", "gencert", hmcdir, NULL};
    assert_int_equal(it_run(env, "gencert", 30000, gen), 0);
    snprintf(f->cert, sizeof f->cert, "%s/cert.pem", hmcdir);
    snprintf(f->password, sizeof f->password, "%s/password", hmcdir);
    s_write(f->password, PASSWORD "\n", 0600);
    snprintf(conf, sizeof conf, "%s/hmcsim.conf", hmcdir);
    snprintf(port_file, sizeof port_file, "%s/port", hmcdir);
    size_t used = (size_t) snprintf(text, sizeof text,
        "hmcsim\n    bind = 127.0.0.1\n    port = 0\n    port_file = %s\n"
        "    cert_file = %s/cert.pem\n    key_file = %s/key.pem\n    user = hscroot\n"
        "    password_file = %s\n    job_duration = 500ms\n    blackout = %dms\n"
        "    validate_duration = 50ms\n    recover_duration = 50ms\n    job_start_delay = 20ms\n"
        "    notify_timeout = 2s\n",
        port_file, hmcdir, hmcdir, f->password, BLACKOUT_MS);
    const char *names[] = {"P8-OLD", "P10-A", "P10-B"};
    for (int i = 0; i < 3; i++)
        used += (size_t) snprintf(text + used, sizeof text - used,
                                  "system\n    name = %s\n    serial = %s\n    prefix = 02\n"
                                  "    max_active_migrations = 2\n", names[i], S_SERIALS[i]);
    for (int i = 1; i <= LPARS; i++) {
        char lpar[320], name[16];
        snprintf(name, sizeof name, "lpar%d", i);
        it_path(env, lpar, sizeof lpar, name);
        char *argv[] = {"ferry-simlpar", "create", lpar, "--name", name, "--serial", "21C48F0",
                        "--prefix", "02", NULL};
        assert_int_equal(it_run(env, "simlpar", 30000, argv), 0);
        used += (size_t) snprintf(text + used, sizeof text - used,
                                  "partition\n    name = %s\n    system = P8-OLD\n"
                                  "    rmc_state = %s\n    simlpar = %s\n"
                                  "    agent_spool = %s/%s-spool\n    agent_pid_file = %s/%s.pid\n",
                                  name, i == rmc_inactive ? "inactive" : "active", lpar, env->dir,
                                  name, env->dir, name);
        //  No periodic identity probe: the agent runs it on its loop, so one
        //  in a move window is a stall of a command's length, which on a
        //  loaded machine outgrows the blackout. lpm-post probes anyway.
        char extra[2048];
        snprintf(extra, sizeof extra,
                 "    platform = aix\n    bin_dir = %s/bin\n    etc_root = %s\n"
                 "    proc_root = %s/proc\n    heartbeat = 100ms\n    metrics_interval = 5s\n"
                 "    identity_interval = 1h\n    facts_interval = 1h\n    pid_file = %s/%s.pid\n",
                 lpar, lpar, lpar, env->dir, name);
        it_start_agent(env, name, extra);
    }
    assert_true(used < sizeof text);
    s_write(conf, text, 0600);
    char *sim[] = {"ferry-hmcsim", "-c", conf, NULL};
    f->sim = it_spawn(env, "hmcsim", sim);
    int64_t deadline = clock_mono_ms() + 15000;
    int port;
    while ((port = s_read_port(port_file)) == 0) {
        assert_true(clock_mono_ms() < deadline);
        usleep(10000);
    }
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:%d", port);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    it_setup(&f->env);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    planner_destroy(&f->planner);
    if (f->ingest)
        ingest_set_observer(f->ingest, NULL);
    move_window_destroy(&f->windows);
    ingest_destroy(&f->ingest);
    store_writer_destroy(&f->writer);
    sqlite3_close(f->watch);
    if (f->sim > 0)
        it_stop(&f->env, f->sim, SIGTERM, 10000);
    it_teardown(&f->env);
    free(f);
    return 0;
}

static int s_send_config(void *arg, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    return ingest_send_config(arg, key, fast_ms, for_ms);
}

static void s_start_collector(fixture_t *f, ingest_options_t *io, char *cert_secret, size_t size)
{
    ingest_options_defaults(io);
    snprintf(cert_secret, size, "%s_secret", f->env.collector_cert);
    io->bind = f->env.endpoint;
    io->cert_path = cert_secret;
    io->allowed_dir = f->env.allowed;
    io->seen_flush_ms = 100;
    char err[512] = "";
    store_options_t so = { .sync_full = false };
    f->writer = store_writer_new(f->env.db, &so, err, sizeof err);
    if (!f->writer)
        fail_msg("store_writer_new: %s", err);
    f->ingest = ingest_new(io, f->writer, err, sizeof err);
    if (!f->ingest)
        fail_msg("ingest_new: %s", err);
    //  Wired as services.c does: the windows fed by ingest, their Configs
    //  sent through it.
    f->windows = move_window_new(s_send_config, f->ingest);
    assert_non_null(f->windows);
    ingest_observer_t observer;
    move_window_observer(f->windows, &observer);
    ingest_set_observer(f->ingest, &observer);
    planner_hmc_t hmc = {.name = "hmc1"};
    hmc.options.url = f->url;
    hmc.options.user = "hscroot";
    hmc.options.password = PASSWORD;
    hmc.options.ca_file = f->cert;
    hmc.options.timeout_ms = 10000;
    planner_options_t po = {.hmcs = &hmc, .hmc_count = 1, .tick_ms = TICK_MS,
                            .window_ms = 60000, .verify_timeout_ms = 10000,
                            .job_timeout_ms = 60000, .inventory_ms = 200,
                            .starts_per_s = STARTS_PER_S};
    f->planner = planner_new(f->ingest, f->windows, f->writer, &po, err, sizeof err);
    if (!f->planner)
        fail_msg("planner_new: %s", err);
}

//  Every move final: done, done_with_failures or failed (checked after).
static bool s_plan_final(json_t *doc)
{
    const char *st = json_string_value(json_object_get(doc, "state"));
    return st && (strcmp(st, "done") == 0 || strcmp(st, "done_with_failures") == 0
                  || strcmp(st, "failed") == 0);
}

//  Drives the test from the loop: submit once every agent has reported its
//  facts, then stop the loop when the plan is done (or at the deadline).
static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fixture_t *f = arg;
    if (clock_mono_ms() > f->deadline)
        return -1;
    if (f->plan_id <= 0) {
        //  Every partition's agent has facts: read as the API reads.
        char why[256];
        store_reader_t *reader = store_reader_open(f->env.db, why, sizeof why);
        json_t *agents = reader ? store_read_agents(reader, why, sizeof why) : NULL;
        store_reader_destroy(&reader);
        int with_facts = 0;
        size_t i;
        json_t *agent;
        json_array_foreach(agents, i, agent)
            with_facts += json_is_string(json_object_get(agent, "partition"));
        json_decref(agents);
        if (with_facts < LPARS)
            return 0;
        //  Let the agents finish their start-up work (every fake AIX command
        //  runs under the sanitizers): a busy agent reports a longer stall.
        if (f->facts_at == 0)
            f->facts_at = clock_mono_ms();
        if (clock_mono_ms() - f->facts_at < SETTLE_MS)
            return 0;
        char err[512] = "";
        int64_t id = planner_submit(f->planner, f->plan_text, err, sizeof err);
        if (id < 0) {
            print_error("planner_submit: %s\n", err);
            return -1;
        }
        if (planner_start(f->planner, id, err, sizeof err) != 0) {
            print_error("planner_start: %s\n", err);
            return -1;
        }
        f->plan_id = id;
        return 0;
    }
    json_t *doc = planner_plan_json(f->planner, f->plan_id);
    bool done = doc && s_plan_final(doc);
    json_decref(doc);
    if (done) {
        f->done = true;
        return -1;
    }
    return 0;
}

//  The pacing as it happened: moves started so far, most of them between two
//  samples. A sample runs on the loop between two of its iterations, every
//  SAMPLE_MS, so between two samples the planner ticked once at most, also
//  when a late loop fires its overdue ticks back to back (each iteration
//  runs every overdue timer once: then this one, five times finer, is
//  overdue too).
static int s_on_sample(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fixture_t *f = arg;
    if (f->plan_id <= 0)
        return 0;
    sqlite3_stmt *stmt = NULL;
    int started = -1;
    if (sqlite3_prepare_v2(f->watch, "SELECT count(*) FROM moves WHERE plan_id = ?"
                           " AND started_ms > 0", -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_bind_int64(stmt, 1, f->plan_id) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
        started = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (started < 0)
        return 0;
    if (started - f->started > f->most_started)
        f->most_started = started - f->started;
    f->started = started;
    return 0;
}

static size_t s_curl_write(char *data, size_t size, size_t n, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0;
    char *grown = realloc(*buf, old + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + old, data, size * n);
    grown[old + size * n] = '\0';
    *buf = grown;
    return size * n;
}

static json_t *s_sim_stats(fixture_t *f)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof url, "%s/sim/stats", f->url);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, f->cert);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_curl_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_cleanup(curl);
    json_t *doc = json_loads(body ? body : "", 0, NULL);
    free(body);
    assert_non_null(doc);
    return doc;
}

static const char *S_PLAN =
    "{\"name\": \"wave1\", \"hmc\": \"hmc1\", \"outage_budget_ms\": 2000,"
    " \"concurrency\": {\"per_system\": 2, \"per_hmc\": 4},"
    " \"moves\": ["
    "  {\"partition\": \"lpar1\", \"to\": \"P10-B\"},"
    "  {\"partition\": \"lpar2\", \"to\": \"P10-B\"},"
    "  {\"partition\": \"lpar3\", \"to\": \"P10-B\", \"via\": [\"P10-A\"]},"
    "  {\"partition\": \"lpar4\", \"to\": \"P10-B\", \"via\": [\"P10-A\"]}]}";

static void s_run(fixture_t *f, int rmc_inactive)
{
    s_start_world(f, rmc_inactive);
    ingest_options_t io;
    char secret[400];
    s_start_collector(f, &io, secret, sizeof secret);
    f->plan_text = S_PLAN;
    f->deadline = clock_mono_ms() + RUN_TIMEOUT_MS;
    assert_int_equal(sqlite3_open_v2(f->env.db, &f->watch, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(f->watch, 1000);
    zloop_t *loop = ingest_loop(f->ingest);
    int timer = zloop_timer(loop, 50, 0, s_on_timer, f);
    int sampler = zloop_timer(loop, SAMPLE_MS, 0, s_on_sample, f);
    assert_true(timer >= 0 && sampler >= 0);
    zloop_start(loop);
    zloop_timer_end(loop, timer);
    zloop_timer_end(loop, sampler);
    json_t *doc = planner_plan_json(f->planner, f->plan_id);
    assert_non_null(doc);
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!f->done)
        fail_msg("plan not done in time:\n%s", text);
    //  One blocked move of four: the plan says it did not all go well.
    const char *plan_state = json_string_value(json_object_get(doc, "state"));
    if (strcmp(plan_state, rmc_inactive ? "done_with_failures" : "done") != 0)
        fail_msg("plan is %s:\n%s", plan_state, text);
    json_t *stats = s_sim_stats(f);
    json_t *moves = json_object_get(doc, "moves");
    assert_int_equal(json_array_size(moves), LPARS);
    for (size_t i = 0; i < LPARS; i++) {
        json_t *m = json_array_get(moves, i);
        const char *state = json_string_value(json_object_get(m, "state"));
        const char *name = json_string_value(json_object_get(m, "partition"));
        const char *msg = json_string_value(json_object_get(m, "message"));
        int hops = (int) json_array_size(json_object_get(m, "route"));
        int expect_submissions = hops;
        if ((int) i + 1 == rmc_inactive) {
            if (strcmp(state, "blocked") != 0 || !strstr(msg, "lpm.rmc_active"))
                fail_msg("%s should be blocked for RMC:\n%s", name, text);
            expect_submissions = 0;
        }
        else {
            if (strcmp(state, "verified") != 0)
                fail_msg("%s is %s:\n%s", name, state, text);
            //  The blackout as hmcsim timed it (longer than BLACKOUT_MS when
            //  the machine is loaded), not the setting.
            int64_t outage = json_integer_value(json_object_get(m, "outage_ms")), low, high;
            char simlpar[320];
            it_path(&f->env, simlpar, sizeof simlpar, name);
            assert_int_equal(lpm_outage_bounds(stats, name, simlpar, &low, &high), 0);
            assert_true(low >= BLACKOUT_MS - 50);
            if (outage < low || outage > high)
                fail_msg("%s outage %lld ms, want %lld..%lld:\n%s", name, (long long) outage,
                         (long long) low, (long long) high, text);
            json_t *checks = json_object_get(m, "checks");
            assert_int_equal(json_array_size(checks), (size_t) hops);
        }
        //  Exactly one Migrate per hop, as hmcsim counted them.
        json_t *parts = json_object_get(stats, "partitions");
        bool found = false;
        for (size_t j = 0; j < json_array_size(parts); j++) {
            json_t *p = json_array_get(parts, j);
            if (strcmp(json_string_value(json_object_get(p, "name")), name) != 0)
                continue;
            found = true;
            assert_int_equal(json_integer_value(json_object_get(p, "migrate_submissions")),
                             expect_submissions);
        }
        assert_true(found);
    }
    //  Paced: 10 starts a second with a 50 ms tick is one start per tick. The
    //  two direct moves are ready in the same tick (2 per system allowed):
    //  unpaced, both would start in it. Timestamps cannot tell (a late loop
    //  runs its overdue ticks in the same millisecond); the samples can.
    fprintf(stderr, "moves started: %d, at most %d between two samples\n", f->started,
            f->most_started);
    assert_int_equal(f->started, rmc_inactive ? LPARS - 1 : LPARS);
    if (f->most_started > 1)
        fail_msg("%d moves started in one planner tick:\n%s", f->most_started, text);
    json_t *systems = json_object_get(stats, "systems");
    assert_int_equal(json_array_size(systems), 3);
    for (size_t j = 0; j < json_array_size(systems); j++)
        assert_true(json_integer_value(json_object_get(json_array_get(systems, j),
                                                       "max_concurrency_seen")) <= 2);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    free(text);
    json_decref(stats);
    json_decref(doc);
}

static void test_plan_two_routes(void **state)
{
    s_run(*state, 0);
}

static void test_plan_rmc_blocked(void **state)
{
    s_run(*state, 4);
}

int main(void)
{
    hmc_xml_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_two_routes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_plan_rmc_blocked, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
