/*  test_agent — the agent daemon (agent/agent.h): agent_options_load (the
    documented defaults, every key, typos and bad values refused with the
    key named), and agent_run for real in linux mode on the power-lpar
    fixture tree, in a thread, against a CURVE ROUTER in the test on
    loopback: Hello, facts, metrics and heartbeats arrive; acks move its
    floor; a Config switches its heartbeat; a JobRequest is refused with a
    JobUpdate; it stops as on SIGTERM (czmq's handler only sets
    zsys_interrupted, which the test sets) and leaves its spool behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "agent.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "keys.h"
#include "spool.h"

#define WAIT_MS 20000           // deadline of every wait; reached only when something is wrong
#define FIXTURE FERRY_SOURCE_DIR "/tests/fixtures/linux/power-lpar"

// ------------------------------------------------------------------ agent_options_load

static config_t *s_parse(const char *text)
{
    char err[256] = "";
    config_t *config = config_parse(text, err, sizeof err);
    if (!config)
        fail_msg("config_parse: %s", err);
    return config;
}

//  The config the latest s_load read: the options' strings point into it.
static config_t *s_config;

//  Load text; 0 or -1 with the message in err.
static int s_load(const char *text, agent_options_t *o, char *err, size_t errlen)
{
    config_destroy(&s_config);
    s_config = s_parse(text);
    memset(o, 0, sizeof *o);
    err[0] = '\0';
    return agent_options_load(s_config, o, err, errlen);
}

static int s_options_teardown(void **state)
{
    (void) state;
    config_destroy(&s_config);
    return 0;
}

static void s_expect_defaults(const agent_options_t *o)
{
    assert_string_equal(o->collector, "tcp://127.0.0.1:5560");
    assert_string_equal(o->collector_cert, "/etc/ferry/keys/collector.cert");
    assert_string_equal(o->cert, "/etc/ferry/keys/agent.cert_secret");
    assert_string_equal(o->spool_dir, "/var/spool/ferry");
    assert_string_equal(o->pid_file, "");
    assert_string_equal(o->platform.platform, "linux");
    assert_null(o->platform.bin_dir);
    assert_string_equal(o->platform.etc_root, "/");
    assert_string_equal(o->platform.proc_root, "/proc");
    assert_string_equal(o->platform.sys_root, "/sys");
    assert_int_equal(o->platform.timeout_ms, 30000);
    assert_int_equal(o->spool_max, 16 << 20);
    assert_int_equal(o->heartbeat_ms, 5000);
    assert_int_equal(o->metrics_ms, 10000);
    assert_int_equal(o->identity_ms, 30000);
    assert_int_equal(o->facts_ms, 60000);
    assert_int_equal(o->facts_resend_ms, 600000);
    assert_int_equal(o->stall_tick_ms, 20);
    assert_int_equal(o->ack_timeout_ms, 10000);
    assert_int_equal(o->sync_ms, 1000);
    assert_int_equal(o->max_frame, 1 << 20);
    assert_false(o->verbose);
}

static void test_options_defaults(void **state)
{
    (void) state;
    agent_options_t o;
    char err[256];
    assert_int_equal(s_load("", &o, err, sizeof err), 0);
    s_expect_defaults(&o);
    assert_int_equal(s_load("agent\n", &o, err, sizeof err), 0);
    s_expect_defaults(&o);
    //  verbose defaults to what the caller set (ferry-agent run -v).
    config_t *config = s_parse("");
    agent_options_t v = { .verbose = true };
    assert_int_equal(agent_options_load(config, &v, err, sizeof err), 0);
    assert_true(v.verbose);
    config_destroy(&config);
}

//  The example config documents every key with its default: loading it
//  gives exactly the defaults.
static void test_options_example_is_defaults(void **state)
{
    (void) state;
    char err[256] = "";
    config_t *config = config_load(FERRY_SOURCE_DIR "/packaging/examples/agent.conf", err,
                                   sizeof err);
    if (!config)
        fail_msg("config_load: %s", err);
    agent_options_t o = { 0 };
    if (agent_options_load(config, &o, err, sizeof err) != 0)
        fail_msg("the example config is refused: %s", err);
    s_expect_defaults(&o);
    config_destroy(&config);
}

static void test_options_every_key(void **state)
{
    (void) state;
    const char *text =
        "agent\n"
        "    collector = tcp://collector.example:6000\n"
        "    collector_cert = /k/c.cert\n"
        "    cert = /k/a.cert_secret\n"
        "    spool_dir = /s\n"
        "    pid_file = /run/ferry-agent.pid\n"
        "    platform = aix\n"
        "    bin_dir = /sim/bin\n"
        "    etc_root = /sim\n"
        "    proc_root = /sim/proc\n"
        "    sys_root = /sim/sys\n"
        "    spool_max = 2M\n"
        "    heartbeat = 2s\n"
        "    metrics_interval = 1m\n"
        "    identity_interval = 5s\n"
        "    facts_interval = 2m\n"
        "    facts_resend = 1h\n"
        "    stall_tick = 50ms\n"
        "    ack_timeout = 3s\n"
        "    spool_sync = 250\n"
        "    command_timeout = 45s\n"
        "    max_frame = 64K\n"
        "    verbose = yes\n";
    agent_options_t o;
    char err[256];
    if (s_load(text, &o, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    assert_string_equal(o.collector, "tcp://collector.example:6000");
    assert_string_equal(o.collector_cert, "/k/c.cert");
    assert_string_equal(o.cert, "/k/a.cert_secret");
    assert_string_equal(o.spool_dir, "/s");
    assert_string_equal(o.pid_file, "/run/ferry-agent.pid");
    assert_string_equal(o.platform.platform, "aix");
    assert_string_equal(o.platform.bin_dir, "/sim/bin");
    assert_string_equal(o.platform.etc_root, "/sim");
    assert_string_equal(o.platform.proc_root, "/sim/proc");
    assert_string_equal(o.platform.sys_root, "/sim/sys");
    assert_int_equal(o.spool_max, 2 << 20);
    assert_int_equal(o.heartbeat_ms, 2000);
    assert_int_equal(o.metrics_ms, 60000);
    assert_int_equal(o.identity_ms, 5000);
    assert_int_equal(o.facts_ms, 120000);
    assert_int_equal(o.facts_resend_ms, 3600000);
    assert_int_equal(o.stall_tick_ms, 50);
    assert_int_equal(o.ack_timeout_ms, 3000);
    assert_int_equal(o.sync_ms, 250);
    assert_int_equal(o.platform.timeout_ms, 45000);
    assert_int_equal(o.max_frame, 64 << 10);
    assert_true(o.verbose);
}

//  A typo is refused, naming the key and the closest known one.
static void test_options_unknown_key(void **state)
{
    (void) state;
    agent_options_t o;
    char err[256];
    assert_int_equal(s_load("agent\n    heartbaet = 5s\n", &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "agent/heartbaet"));
    assert_non_null(strstr(err, "did you mean \"heartbeat\""));
    assert_int_equal(s_load("agent\n    spool_dri = /x\n    colector = tcp://x:1\n", &o, err,
                            sizeof err), -1);
    assert_non_null(strstr(err, "did you mean \"spool_dir\""));
    assert_non_null(strstr(err, "did you mean \"collector\""));
    //  A section the agent does not read.
    assert_int_equal(s_load("agnet\n    heartbeat = 5s\n", &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "agnet"));
    assert_non_null(strstr(err, "did you mean \"agent\""));
}

//  Bad values are refused with the key named first.
static void test_options_bad_values(void **state)
{
    (void) state;
    static const struct {
        const char *key, *value;
    } cases[] = {
        { "heartbeat", "fast" },          // not a duration
        { "heartbeat", "5ms" },           // below 10 ms
        { "heartbeat", "2h" },            // above an hour
        { "metrics_interval", "-1s" },
        { "identity_interval", "50ms" },
        { "facts_interval", "500ms" },
        { "facts_resend", "2d" },
        { "stall_tick", "2s" },           // above 1 s
        { "ack_timeout", "50ms" },
        { "spool_sync", "5m" },
        { "command_timeout", "1h" },
        { "spool_max", "1K" },            // below 64K
        { "spool_max", "5G" },            // above 4G
        { "spool_max", "lots" },
        { "max_frame", "512" },
        { "max_frame", "128M" },
        { "verbose", "maybe" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256], prefix[64], err[256];
        agent_options_t o;
        snprintf(text, sizeof text, "agent\n    %s = %s\n", cases[i].key, cases[i].value);
        snprintf(prefix, sizeof prefix, "agent/%s: ", cases[i].key);
        if (s_load(text, &o, err, sizeof err) != -1)
            fail_msg("%s = %s accepted", cases[i].key, cases[i].value);
        if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, cases[i].value))
            fail_msg("%s = %s: message \"%s\"", cases[i].key, cases[i].value, err);
    }
    char err[256];
    agent_options_t o;
    assert_int_equal(s_load("agent\n    platform = solaris\n", &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "agent/platform"));
    assert_non_null(strstr(err, "solaris"));
    assert_non_null(strstr(err, "aix or linux"));
    //  The bounds themselves are taken.
    assert_int_equal(s_load("agent\n    heartbeat = 10ms\n    stall_tick = 1s\n"
                            "    spool_max = 64K\n    max_frame = 1K\n", &o, err, sizeof err), 0);
    assert_int_equal(o.heartbeat_ms, 10);
    assert_int_equal(o.stall_tick_ms, 1000);
}

// ------------------------------------------------------------------ agent_run

typedef struct {
    char dir[64];                 // mkdtemp directory
    char keys[128];
    char spool[128];              // the agent's spool directory
    char pid_file[128];
    char endpoint[64];
    config_t *config;
    agent_options_t opts;
    zcert_t *collector;
    zsock_t *router;
    zframe_t *rid;                // the agent's routing id
    pthread_t thread;
    bool running;                 // thread started and not joined
    atomic_bool done;             // agent_run returned
    int rc;                       // its return code
} run_fixture_t;


static void *s_agent_thread(void *arg)
{
    run_fixture_t *fx = arg;
    fx->rc = agent_run(&fx->opts);
    atomic_store(&fx->done, true);
    return NULL;
}

//  Interrupt the agent as SIGTERM would and join it within the deadline.
static void s_stop_agent(run_fixture_t *fx)
{
    if (!fx->running)
        return;
    zsys_interrupted = 1;
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!atomic_load(&fx->done) && clock_mono_ms() < deadline)
        zclock_sleep(10);
    if (!atomic_load(&fx->done)) {
        //  Cannot end it cleanly: the process exits with the failure.
        fprintf(stderr, "agent_run did not stop within %d ms\n", WAIT_MS);
        abort();
    }
    pthread_join(fx->thread, NULL);
    fx->running = false;
    zsys_interrupted = 0;
}

static int s_run_setup(void **state)
{
    run_fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_agent.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->keys, sizeof fx->keys, "%s/keys", fx->dir);
    snprintf(fx->spool, sizeof fx->spool, "%s/spool", fx->dir);
    snprintf(fx->pid_file, sizeof fx->pid_file, "%s/agent.pid", fx->dir);
    assert_int_equal(mkdir(fx->spool, 0700), 0);
    char err[256] = "", path[256];
    assert_int_equal(keys_generate(fx->keys, "collector.cert", err, sizeof err), 0);
    assert_int_equal(keys_generate(fx->keys, "agent.cert", err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/collector.cert_secret", fx->keys);
    fx->collector = keys_load_secret(path, err, sizeof err);
    assert_non_null(fx->collector);
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    zcert_apply(fx->collector, fx->router);
    zsock_set_curve_server(fx->router, 1);
    zsock_set_linger(fx->router, 0);
    int port = zsock_bind(fx->router, "tcp://127.0.0.1:!");
    assert_true(port > 0);
    snprintf(fx->endpoint, sizeof fx->endpoint, "tcp://127.0.0.1:%d", port);
    char text[2048];
    snprintf(text, sizeof text,
             "agent\n"
             "    collector = %s\n"
             "    collector_cert = %s/collector.cert\n"
             "    cert = %s/agent.cert_secret\n"
             "    spool_dir = %s\n"
             "    pid_file = %s\n"
             "    platform = linux\n"
             "    etc_root = %s\n"
             "    proc_root = %s/proc\n"
             "    sys_root = %s/sys\n"
             "    heartbeat = 100ms\n"
             "    metrics_interval = 100ms\n"
             "    spool_sync = 50ms\n",
             fx->endpoint, fx->keys, fx->keys, fx->spool, fx->pid_file, FIXTURE, FIXTURE, FIXTURE);
    fx->config = config_parse(text, err, sizeof err);
    if (!fx->config)
        fail_msg("config_parse: %s", err);
    if (agent_options_load(fx->config, &fx->opts, err, sizeof err) != 0)
        fail_msg("agent_options_load: %s", err);
    *state = fx;
    return 0;
}

static int s_run_teardown(void **state)
{
    run_fixture_t *fx = *state;
    s_stop_agent(fx);
    zframe_destroy(&fx->rid);
    zsock_destroy(&fx->router);
    zcert_destroy(&fx->collector);
    config_destroy(&fx->config);
    it_rmtree(fx->dir);
    free(fx);
    return 0;
}

//  The next frame from the agent (caller frees), or NULL at the deadline.
static Ferry__Envelope *s_next(run_fixture_t *fx, int64_t deadline)
{
    zmq_pollitem_t item = { .socket = zsock_resolve(fx->router), .events = ZMQ_POLLIN };
    while (clock_mono_ms() < deadline) {
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv(fx->router);
        assert_non_null(msg);
        assert_int_equal(zmsg_size(msg), 2);
        zframe_destroy(&fx->rid);
        fx->rid = zmsg_pop(msg);
        zframe_t *frame = zmsg_pop(msg);
        zmsg_destroy(&msg);
        Ferry__Envelope *env = NULL;
        codec_status_t status = codec_decode(zframe_data(frame), zframe_size(frame),
                                             CODEC_DEFAULT_MAX_FRAME, CODEC_TO_COLLECTOR, &env);
        zframe_destroy(&frame);
        if (status != CODEC_OK)
            fail_msg("bad frame from the agent: %s", codec_status_name(status));
        return env;
    }
    return NULL;
}

static void s_to_agent(run_fixture_t *fx, Ferry__Envelope *env)
{
    size_t size = 0;
    uint8_t *data = codec_encode(env, CODEC_DEFAULT_MAX_FRAME, &size);
    assert_non_null(data);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){ zframe_dup(fx->rid) });
    zmsg_addmem(msg, data, size);
    free(data);
    assert_int_equal(zmsg_send(&msg, fx->router), 0);
}

static void s_ack(run_fixture_t *fx, uint64_t seq)
{
    Ferry__Envelope env;
    Ferry__Ack ack = FERRY__ACK__INIT;
    codec_envelope_init(&env, 0);
    ack.seq = seq;
    env.body_case = FERRY__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    s_to_agent(fx, &env);
}

//  What the test has seen of the agent so far.
typedef struct {
    bool hello, facts, metrics, heartbeat;
    uint64_t max_seq;             // highest seq received
    uint64_t floor;               // highest first_seq received
    uint32_t heartbeat_ms;        // interval of the latest heartbeat
    char job_state[32];           // state of a JobUpdate for job-7
} seen_t;

//  Receive until done(seen) or the deadline; every frame is recorded.
static bool s_until(run_fixture_t *fx, seen_t *seen, bool (*done)(const seen_t *, uint64_t),
                    uint64_t arg)
{
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!done(seen, arg)) {
        Ferry__Envelope *env = s_next(fx, deadline);
        if (!env)
            return false;
        if (env->seq > seen->max_seq)
            seen->max_seq = env->seq;
        if (env->first_seq > seen->floor)
            seen->floor = env->first_seq;
        switch (env->body_case) {
        case FERRY__ENVELOPE__BODY_HELLO:
            assert_string_equal(env->hello->platform, "linux");
            assert_string_equal(env->hello->hostname, "lpar05");
            assert_string_equal(env->hello->boot_id, "8f2c6b1e-4a7d-4c3e-9b10-2d5e7f8a9c01");
            assert_true(env->hello->stream_id != 0);
            seen->hello = true;
            break;
        case FERRY__ENVELOPE__BODY_FACTS:
            assert_true(env->seq > 0);
            assert_string_equal(env->facts->platform, "linux");
            assert_string_equal(env->facts->hostname, "lpar05");
            assert_non_null(strstr(env->facts->json, "lpar05"));
            assert_true(strlen(env->facts->digest) > 0);
            seen->facts = true;
            break;
        case FERRY__ENVELOPE__BODY_METRICS:
            assert_true(env->seq > 0);
            seen->metrics = true;
            break;
        case FERRY__ENVELOPE__BODY_HEARTBEAT:
            assert_int_equal(env->seq, 0);
            seen->heartbeat = true;
            seen->heartbeat_ms = env->heartbeat->interval_ms;
            break;
        case FERRY__ENVELOPE__BODY_JOB_UPDATE:
            if (strcmp(env->job_update->job_id, "job-7") == 0)
                snprintf(seen->job_state, sizeof seen->job_state, "%s", env->job_update->state);
            break;
        default:
            break;
        }
        codec_free(&env);
    }
    return true;
}

static bool s_all_kinds(const seen_t *s, uint64_t arg)
{
    (void) arg;
    return s->hello && s->facts && s->metrics && s->heartbeat;
}

static bool s_floor_above(const seen_t *s, uint64_t seq)
{
    return s->floor > seq;
}

static bool s_heartbeat_ms_is(const seen_t *s, uint64_t ms)
{
    return s->heartbeat_ms == ms;
}

static bool s_job_answered(const seen_t *s, uint64_t arg)
{
    (void) arg;
    return s->job_state[0] != '\0';
}

static void test_run(void **state)
{
    run_fixture_t *fx = *state;
    assert_int_equal(pthread_create(&fx->thread, NULL, s_agent_thread, fx), 0);
    fx->running = true;
    seen_t seen = { 0 };
    if (!s_until(fx, &seen, s_all_kinds, 0))
        fail_msg("within %d ms: hello %d facts %d metrics %d heartbeat %d", WAIT_MS, seen.hello,
                 seen.facts, seen.metrics, seen.heartbeat);
    //  The pid file holds our pid while it runs.
    FILE *file = fopen(fx->pid_file, "r");
    assert_non_null(file);
    long pid = 0;
    assert_int_equal(fscanf(file, "%ld", &pid), 1);
    fclose(file);
    assert_int_equal(pid, (long) getpid());
    //  An ack moves the floor its frames carry.
    uint64_t acked = seen.max_seq;
    s_ack(fx, acked);
    if (!s_until(fx, &seen, s_floor_above, acked))
        fail_msg("first_seq still %" PRIu64 " after an ack of %" PRIu64, seen.floor, acked);
    //  A move window: fast heartbeats until the collector ends it.
    Ferry__Envelope env;
    Ferry__Config config = FERRY__CONFIG__INIT;
    codec_envelope_init(&env, 0);
    config.fast_heartbeat_ms = 50;
    config.fast_for_ms = 600000;
    env.body_case = FERRY__ENVELOPE__BODY_CONFIG;
    env.config = &config;
    s_to_agent(fx, &env);
    assert_true(s_until(fx, &seen, s_heartbeat_ms_is, 50));
    Ferry__Config end = FERRY__CONFIG__INIT;
    codec_envelope_init(&env, 0);
    end.end_window = true;
    env.body_case = FERRY__ENVELOPE__BODY_CONFIG;
    env.config = &end;
    s_to_agent(fx, &env);
    assert_true(s_until(fx, &seen, s_heartbeat_ms_is, 100));
    //  No job kinds in this build: refused, not left waiting.
    Ferry__JobRequest job = FERRY__JOB_REQUEST__INIT;
    codec_envelope_init(&env, 0);
    job.job_id = "job-7";
    job.kind = "nimadm";
    env.body_case = FERRY__ENVELOPE__BODY_JOB_REQUEST;
    env.job_request = &job;
    s_to_agent(fx, &env);
    assert_true(s_until(fx, &seen, s_job_answered, 0));
    assert_string_equal(seen.job_state, "failed");

    s_stop_agent(fx);
    assert_int_equal(fx->rc, 0);
    assert_int_equal(access(fx->pid_file, F_OK), -1);
    //  What it sent and was not acked stays in the spool; the ack holds.
    char err[256] = "";
    spool_t *spool = spool_open(fx->spool, SPOOL_DEFAULT_MAX_BYTES, err, sizeof err);
    if (!spool)
        fail_msg("spool_open: %s", err);
    assert_true(spool_acked_seq(spool) >= acked);
    assert_true(spool_next_seq(spool) > seen.max_seq);
    spool_destroy(&spool);
}

//  agent_run that cannot start returns 1 (and leaves no pid file).
static void test_run_refuses_bad_start(void **state)
{
    run_fixture_t *fx = *state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such.cert_secret", fx->keys);
    fx->opts.cert = missing;
    assert_int_equal(agent_run(&fx->opts), 1);
    assert_int_equal(access(fx->pid_file, F_OK), -1);
    //  A spool directory others can read is refused too.
    char cert[160];
    snprintf(cert, sizeof cert, "%s/agent.cert_secret", fx->keys);
    fx->opts.cert = cert;
    assert_int_equal(chmod(fx->spool, 0755), 0);
    assert_int_equal(agent_run(&fx->opts), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_options_defaults, s_options_teardown),
        cmocka_unit_test_teardown(test_options_example_is_defaults, s_options_teardown),
        cmocka_unit_test_teardown(test_options_every_key, s_options_teardown),
        cmocka_unit_test_teardown(test_options_unknown_key, s_options_teardown),
        cmocka_unit_test_teardown(test_options_bad_values, s_options_teardown),
        cmocka_unit_test_setup_teardown(test_run, s_run_setup, s_run_teardown),
        cmocka_unit_test_setup_teardown(test_run_refuses_bad_start, s_run_setup, s_run_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
