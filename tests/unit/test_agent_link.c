/*  test_agent_link — the agent's link to the collector (agent/agent_link.h)
    against a CURVE ROUTER in the test, on loopback TCP: Hello on every
    handshake, sequenced sends through the spool, acks, resend after the ack
    timeout and after a reconnect, heartbeats, and what the collector sends.

    The link's zloop is driven from the test thread: a 5 ms timer ends it as
    soon as the awaited condition holds (or the deadline passed), so every
    wait is a poll with a deadline and nothing depends on the machine's speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "agent_link.h"
#include "clock.h"
#include "codec.h"
#include "spool.h"

#define WAIT_MS 15000        // deadline of every wait; reached only when something is wrong
#define TICK_MS 5            // how often a wait looks at its condition
#define MAX_FRAME 4096       // the link's frame limit in these tests
#define HANDLED_MAX 8

typedef struct _fixture_t fixture_t;
typedef bool(cond_fn)(fixture_t *fx, void *arg);

struct _fixture_t {
    char dir[64];                   // mkdtemp directory: the spool
    char endpoint[64];              // tcp://127.0.0.1:PORT of the ROUTER
    zcert_t *collector;             // the ROUTER's key pair
    zcert_t *agent;                 // the link's key pair
    zsock_t *router;                // the simulated collector
    zframe_t *rid;                  // routing id of the link's connection
    spool_t *spool;
    agent_link_options_t opts;
    zloop_t *loop;
    agent_link_t *link;
    int timer;                      // the waiting timer, -1 none
    cond_fn *cond;                  // what the current wait waits for, NULL = nothing
    void *cond_arg;
    int64_t deadline;               // monotonic end of the current wait
    bool met;
    //  What reached the handler.
    size_t handled;
    Ferry__Envelope__BodyCase handled_case[HANDLED_MAX];
    char handled_text[HANDLED_MAX][64]; // job id / heartbeat_ms as text
};

// ------------------------------------------------------------------ helpers


static void s_handler(const Ferry__Envelope *env, void *arg)
{
    fixture_t *fx = arg;
    if (fx->handled >= HANDLED_MAX)
        return;
    fx->handled_case[fx->handled] = env->body_case;
    char *text = fx->handled_text[fx->handled];
    if (env->body_case == FERRY__ENVELOPE__BODY_JOB_REQUEST)
        snprintf(text, 64, "%s", env->job_request->job_id);
    else if (env->body_case == FERRY__ENVELOPE__BODY_CONFIG)
        snprintf(text, 64, "%u", env->config->heartbeat_ms);
    fx->handled++;
}

//  Bind the ROUTER: on a new port when fx->endpoint is "", else on the same one.
static void s_router_bind(fixture_t *fx)
{
    fx->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(fx->router);
    zcert_apply(fx->collector, fx->router);
    zsock_set_curve_server(fx->router, 1);
    zsock_set_linger(fx->router, 0);
    if (!fx->endpoint[0]) {
        //  "!": a random port of the dynamic range (czmq), so a parallel test
        //  is unlikely to take it while the ROUTER is away in the reconnect test.
        int port = zsock_bind(fx->router, "tcp://127.0.0.1:!");
        assert_true(port > 0);
        snprintf(fx->endpoint, sizeof fx->endpoint, "tcp://127.0.0.1:%d", port);
    }
    else
        assert_true(zsock_bind(fx->router, "%s", fx->endpoint) >= 0);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_agent_link.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->collector = zcert_new();
    fx->agent = zcert_new();
    assert_non_null(fx->collector);
    assert_non_null(fx->agent);
    char err[256] = "";
    fx->spool = spool_open(fx->dir, SPOOL_DEFAULT_MAX_BYTES, err, sizeof err);
    if (!fx->spool)
        fail_msg("spool_open: %s", err);
    s_router_bind(fx);
    fx->opts = (agent_link_options_t){
        .endpoint = fx->endpoint,
        .server_key = zcert_public_txt(fx->collector),
        .cert = fx->agent,
        .spool = fx->spool,
        .max_frame = MAX_FRAME,
        .ack_timeout_ms = 600000,
        .sync_ms = 50,
        .platform = "linux",
        .hostname = "lpar1",
        .boot_id = "boot-1",
        .handler = s_handler,
        .handler_arg = fx,
    };
    fx->timer = -1;
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    agent_link_destroy(&fx->link);
    agent_link_destroy(&fx->link);     // safe twice
    zloop_destroy(&fx->loop);
    zsock_destroy(&fx->router);
    zframe_destroy(&fx->rid);
    spool_destroy(&fx->spool);
    zcert_destroy(&fx->collector);
    zcert_destroy(&fx->agent);
    it_rmtree(fx->dir);
    free(fx);
    return 0;
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    fixture_t *fx = arg;
    if (!fx->cond)
        return 0;
    if (fx->cond(fx, fx->cond_arg)) {
        fx->met = true;
        fx->cond = NULL;
        return -1;
    }
    if (clock_mono_ms() >= fx->deadline) {
        fx->cond = NULL;
        return -1;
    }
    return 0;
}

//  The link on its own loop, with the waiting timer.
static void s_start(fixture_t *fx)
{
    fx->loop = zloop_new();
    assert_non_null(fx->loop);
    char err[256] = "";
    fx->link = agent_link_new(&fx->opts, fx->loop, err, sizeof err);
    if (!fx->link)
        fail_msg("agent_link_new: %s", err);
    fx->timer = zloop_timer(fx->loop, TICK_MS, 0, s_on_tick, fx);
    assert_true(fx->timer >= 0);
}

//  Run the link's loop until cond holds (true) or the deadline (false).
static bool s_wait(fixture_t *fx, cond_fn *cond, void *arg)
{
    fx->cond = cond;
    fx->cond_arg = arg;
    fx->met = false;
    fx->deadline = clock_mono_ms() + WAIT_MS;
    //  zloop_start also returns when a signal interrupts its poll.
    while (fx->cond && zloop_start(fx->loop) == 0)
        ;
    fx->cond = NULL;
    return fx->met;
}

static bool s_router_readable(fixture_t *fx, void *arg)
{
    (void) arg;
    return (zsock_events(fx->router) & ZMQ_POLLIN) != 0;
}

static bool s_connected(fixture_t *fx, void *arg)
{
    (void) arg;
    return agent_link_connected(fx->link);
}

static bool s_disconnected(fixture_t *fx, void *arg)
{
    (void) arg;
    return !agent_link_connected(fx->link);
}

static bool s_acked_is(fixture_t *fx, void *arg)
{
    return agent_link_acked(fx->link) == *(uint64_t *) arg;
}

static bool s_handled_is(fixture_t *fx, void *arg)
{
    return fx->handled >= *(size_t *) arg;
}

//  The next frame the link sent, of the kind expected (caller frees).
static Ferry__Envelope *s_recv(fixture_t *fx, Ferry__Envelope__BodyCase kind)
{
    if (!s_wait(fx, s_router_readable, NULL))
        fail_msg("no %s from the link within %d ms", codec_body_name(kind), WAIT_MS);
    zmsg_t *msg = zmsg_recv(fx->router);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 2);
    zframe_destroy(&fx->rid);
    fx->rid = zmsg_pop(msg);
    zframe_t *frame = zmsg_pop(msg);
    zmsg_destroy(&msg);
    Ferry__Envelope *env = NULL;
    codec_status_t status = codec_decode(zframe_data(frame), zframe_size(frame), MAX_FRAME,
                                         CODEC_TO_COLLECTOR, &env);
    zframe_destroy(&frame);
    if (status != CODEC_OK)
        fail_msg("bad frame from the link: %s", codec_status_name(status));
    if (env->body_case != kind)
        fail_msg("got %s (seq %" PRIu64 "), expected %s", codec_body_name(env->body_case),
                 env->seq, codec_body_name(kind));
    assert_int_equal(env->version, CODEC_VERSION);
    return env;
}

static void s_expect_hello(fixture_t *fx, uint64_t next_seq, uint64_t first_seq)
{
    Ferry__Envelope *env = s_recv(fx, FERRY__ENVELOPE__BODY_HELLO);
    assert_int_equal(env->seq, 0);
    assert_int_equal(env->first_seq, first_seq);
    assert_string_equal(env->hello->platform, "linux");
    assert_string_equal(env->hello->hostname, "lpar1");
    assert_string_equal(env->hello->boot_id, "boot-1");
    assert_string_equal(env->hello->agent_version, FERRY_VERSION);
    assert_int_equal(env->hello->stream_id, spool_stream_id(fx->spool));
    assert_int_equal(env->hello->next_seq, next_seq);
    codec_free(&env);
}

//  The next frame is the event with seq.
static void s_expect_event(fixture_t *fx, uint64_t seq)
{
    Ferry__Envelope *env = s_recv(fx, FERRY__ENVELOPE__BODY_EVENT);
    assert_int_equal(env->seq, seq);
    char kind[32];
    snprintf(kind, sizeof kind, "e%" PRIu64, seq);
    assert_string_equal(env->event->kind, kind);
    codec_free(&env);
}

//  Send an event "eSEQ" through the link; returns its seq.
static uint64_t s_send_event(fixture_t *fx)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Event event = FERRY__EVENT__INIT;
    char kind[32];
    snprintf(kind, sizeof kind, "e%" PRIu64, spool_next_seq(fx->spool));
    event.kind = kind;
    event.message = "test";
    env.body_case = FERRY__ENVELOPE__BODY_EVENT;
    env.event = &event;
    return agent_link_send(fx->link, &env, SPOOL_CLASS_EVENT);
}

//  Send env (borrowed) to the link's connection.
static void s_to_link(fixture_t *fx, const Ferry__Envelope *env)
{
    size_t size = 0;
    uint8_t *data = codec_encode(env, 1u << 20, &size);
    assert_non_null(data);
    assert_non_null(fx->rid);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){ zframe_dup(fx->rid) });
    zmsg_addmem(msg, data, size);
    free(data);
    assert_int_equal(zmsg_send(&msg, fx->router), 0);
}

static void s_ack(fixture_t *fx, uint64_t seq)
{
    Ferry__Envelope env;
    Ferry__Ack ack = FERRY__ACK__INIT;
    codec_envelope_init(&env, 0);
    ack.seq = seq;
    env.body_case = FERRY__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    s_to_link(fx, &env);
}

static void s_wait_acked(fixture_t *fx, uint64_t seq)
{
    if (!s_wait(fx, s_acked_is, &seq))
        fail_msg("acked %" PRIu64 ", expected %" PRIu64, agent_link_acked(fx->link), seq);
}

//  Start and take the first Hello.
static void s_start_connected(fixture_t *fx)
{
    s_start(fx);
    s_expect_hello(fx, spool_next_seq(fx->spool), spool_first_seq(fx->spool));
    assert_true(agent_link_connected(fx->link));
}

// ------------------------------------------------------------------ tests

//  Hello on connect, with what the options and the spool say.
static void test_hello_on_connect(void **state)
{
    fixture_t *fx = *state;
    s_start(fx);
    //  Not connected yet: a heartbeat cannot go out.
    if (!agent_link_connected(fx->link)) {
        Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
        assert_false(agent_link_heartbeat(fx->link, &hb));
    }
    assert_true(s_wait(fx, s_connected, NULL));
    s_expect_hello(fx, 1, 1);
    assert_true(agent_link_connected(fx->link));
    assert_int_equal(agent_link_acked(fx->link), 0);
}

//  Sends are spooled and sent at once with increasing seqs; an Ack
//  advances agent_link_acked and the spool; stale and future acks do not.
static void test_send_and_ack(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    assert_int_equal(s_send_event(fx), 1);
    assert_int_equal(s_send_event(fx), 2);
    assert_int_equal(s_send_event(fx), 3);
    assert_int_equal(spool_count(fx->spool), 3);
    assert_int_equal(spool_next_seq(fx->spool), 4);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        Ferry__Envelope *env = s_recv(fx, FERRY__ENVELOPE__BODY_EVENT);
        assert_int_equal(env->seq, seq);
        assert_int_equal(env->first_seq, 1);
        assert_true(env->sent_ms > 0);
        codec_free(&env);
    }
    s_ack(fx, 2);
    s_wait_acked(fx, 2);
    assert_int_equal(spool_count(fx->spool), 1);
    assert_int_equal(spool_first_seq(fx->spool), 3);
    //  Stale, then one the agent never wrote: both ignored; 3 then counts.
    s_ack(fx, 1);
    s_ack(fx, 100);
    s_ack(fx, 3);
    s_wait_acked(fx, 3);
    assert_int_equal(spool_count(fx->spool), 0);
    assert_int_equal(spool_next_seq(fx->spool), 4);
    //  The next send carries the new floor.
    assert_int_equal(s_send_event(fx), 4);
    Ferry__Envelope *env = s_recv(fx, FERRY__ENVELOPE__BODY_EVENT);
    assert_int_equal(env->seq, 4);
    assert_int_equal(env->first_seq, 4);
    codec_free(&env);
}

//  A message larger than max_frame is refused (seq 0), not spooled.
static void test_send_too_large_refused(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    char *big = malloc(MAX_FRAME + 1);
    assert_non_null(big);
    memset(big, 'x', MAX_FRAME);
    big[MAX_FRAME] = '\0';
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Event event = FERRY__EVENT__INIT;
    event.kind = "big";
    event.message = big;
    env.body_case = FERRY__ENVELOPE__BODY_EVENT;
    env.event = &event;
    assert_int_equal(agent_link_send(fx->link, &env, SPOOL_CLASS_EVENT), 0);
    free(big);
    assert_int_equal(spool_count(fx->spool), 0);
    assert_int_equal(spool_next_seq(fx->spool), 1);
    assert_int_equal(s_send_event(fx), 1);
    s_expect_event(fx, 1);
}

//  No ack within ack_timeout_ms: Hello again, then everything unacked from
//  the oldest on; never earlier than the timeout.
static void test_ack_timeout_resends(void **state)
{
    fixture_t *fx = *state;
    fx->opts.ack_timeout_ms = 300;
    s_start_connected(fx);
    int64_t sent = clock_mono_ms();
    assert_int_equal(s_send_event(fx), 1);
    assert_int_equal(s_send_event(fx), 2);
    s_expect_event(fx, 1);
    s_expect_event(fx, 2);
    s_expect_hello(fx, 3, 1);
    assert_true(clock_mono_ms() - sent >= 300);
    s_expect_event(fx, 1);
    s_expect_event(fx, 2);
    //  Acked: nothing left to resend.
    s_ack(fx, 2);
    s_wait_acked(fx, 2);
    assert_int_equal(spool_count(fx->spool), 0);
}

//  After a reconnect: Hello, then every unacked record from the oldest,
//  including what was spooled while disconnected.
static void test_reconnect_replays_unacked(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_int_equal(s_send_event(fx), seq);
    for (uint64_t seq = 1; seq <= 3; seq++)
        s_expect_event(fx, seq);
    s_ack(fx, 1);
    s_wait_acked(fx, 1);
    //  The collector goes away.
    zsock_destroy(&fx->router);
    zframe_destroy(&fx->rid);
    assert_true(s_wait(fx, s_disconnected, NULL));
    assert_int_equal(s_send_event(fx), 4);
    assert_int_equal(spool_count(fx->spool), 3);
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    assert_false(agent_link_heartbeat(fx->link, &hb));
    //  And comes back on the same endpoint.
    s_router_bind(fx);
    s_expect_hello(fx, 5, 2);
    assert_true(agent_link_connected(fx->link));
    for (uint64_t seq = 2; seq <= 4; seq++)
        s_expect_event(fx, seq);
    s_ack(fx, 4);
    s_wait_acked(fx, 4);
    assert_int_equal(spool_count(fx->spool), 0);
}

//  Heartbeats go out unsequenced with the spool's figures and are never spooled.
static void test_heartbeat_not_spooled(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    assert_int_equal(s_send_event(fx), 1);
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    hb.interval_ms = 5000;
    hb.stall_ms = 42;
    hb.tick = 7;
    assert_true(agent_link_heartbeat(fx->link, &hb));
    assert_int_equal(spool_next_seq(fx->spool), 2);
    assert_int_equal(spool_count(fx->spool), 1);
    s_expect_event(fx, 1);
    Ferry__Envelope *env = s_recv(fx, FERRY__ENVELOPE__BODY_HEARTBEAT);
    assert_int_equal(env->seq, 0);
    assert_int_equal(env->first_seq, 1);
    assert_int_equal(env->heartbeat->interval_ms, 5000);
    assert_int_equal(env->heartbeat->stall_ms, 42);
    assert_int_equal(env->heartbeat->tick, 7);
    assert_int_equal(env->heartbeat->unacked, 1);
    assert_true(env->heartbeat->spool_bytes > 0);
    codec_free(&env);
    //  A heartbeat is not replayed after an ack timeout or reconnect either:
    //  the spool holds only the event.
    uint64_t seq = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(spool_read(fx->spool, 2, &seq, &data, &size), 0);
}

//  Config and JobRequest reach the handler in order; Acks do not.
static void test_config_and_job_reach_handler(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    Ferry__Envelope env;
    Ferry__Config config = FERRY__CONFIG__INIT;
    codec_envelope_init(&env, 0);
    config.heartbeat_ms = 1234;
    env.body_case = FERRY__ENVELOPE__BODY_CONFIG;
    env.config = &config;
    s_to_link(fx, &env);
    s_ack(fx, 0);
    Ferry__JobRequest job = FERRY__JOB_REQUEST__INIT;
    codec_envelope_init(&env, 0);
    job.job_id = "job-1";
    job.kind = "nimadm";
    env.body_case = FERRY__ENVELOPE__BODY_JOB_REQUEST;
    env.job_request = &job;
    s_to_link(fx, &env);
    size_t two = 2;
    assert_true(s_wait(fx, s_handled_is, &two));
    assert_int_equal(fx->handled, 2);
    assert_int_equal(fx->handled_case[0], FERRY__ENVELOPE__BODY_CONFIG);
    assert_string_equal(fx->handled_text[0], "1234");
    assert_int_equal(fx->handled_case[1], FERRY__ENVELOPE__BODY_JOB_REQUEST);
    assert_string_equal(fx->handled_text[1], "job-1");
}

//  What the link cannot take from the collector is dropped, and the link
//  goes on: a frame over max_frame, garbage, an agent -> collector body.
static void test_bad_frames_from_collector_ignored(void **state)
{
    fixture_t *fx = *state;
    s_start_connected(fx);
    char *big = malloc(MAX_FRAME + 1);
    assert_non_null(big);
    memset(big, 'j', MAX_FRAME);
    big[MAX_FRAME] = '\0';
    Ferry__Envelope env;
    Ferry__JobRequest job = FERRY__JOB_REQUEST__INIT;
    codec_envelope_init(&env, 0);
    job.job_id = big;
    job.kind = "nimadm";
    env.body_case = FERRY__ENVELOPE__BODY_JOB_REQUEST;
    env.job_request = &job;
    s_to_link(fx, &env);
    free(big);
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){ zframe_dup(fx->rid) });
    zmsg_addstr(msg, "\x07not a frame");
    assert_int_equal(zmsg_send(&msg, fx->router), 0);
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    codec_envelope_init(&env, 0);
    env.body_case = FERRY__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    s_to_link(fx, &env);
    //  Then a good one: the only one the handler sees.
    Ferry__Config config = FERRY__CONFIG__INIT;
    codec_envelope_init(&env, 0);
    config.heartbeat_ms = 77;
    env.body_case = FERRY__ENVELOPE__BODY_CONFIG;
    env.config = &config;
    s_to_link(fx, &env);
    size_t one = 1;
    assert_true(s_wait(fx, s_handled_is, &one));
    assert_int_equal(fx->handled, 1);
    assert_int_equal(fx->handled_case[0], FERRY__ENVELOPE__BODY_CONFIG);
    assert_string_equal(fx->handled_text[0], "77");
    assert_true(agent_link_connected(fx->link));
}

//  A spool left by a previous run: the Hello says so and the unacked
//  records go out after it; destroy syncs the spool.
static void test_previous_spool_replayed(void **state)
{
    fixture_t *fx = *state;
    char err[256] = "";
    uint8_t frame[64];
    for (uint64_t seq = 1; seq <= 2; seq++) {
        Ferry__Envelope env;
        Ferry__Event event = FERRY__EVENT__INIT;
        char kind[32];
        snprintf(kind, sizeof kind, "e%" PRIu64, seq);
        codec_envelope_init(&env, seq);
        env.first_seq = 1;
        event.kind = kind;
        env.body_case = FERRY__ENVELOPE__BODY_EVENT;
        env.event = &event;
        size_t size = ferry__envelope__pack(&env, frame);
        assert_int_equal(spool_append(fx->spool, seq, SPOOL_CLASS_EVENT, frame, size, err,
                                      sizeof err), 0);
    }
    assert_int_equal(spool_ack(fx->spool, 1), 0);
    s_start(fx);
    assert_int_equal(agent_link_acked(fx->link), 1);
    s_expect_hello(fx, 3, 2);
    s_expect_event(fx, 2);
    assert_int_equal(s_send_event(fx), 3);
    s_expect_event(fx, 3);
    agent_link_destroy(&fx->link);
    spool_destroy(&fx->spool);
    fx->spool = spool_open(fx->dir, SPOOL_DEFAULT_MAX_BYTES, err, sizeof err);
    assert_non_null(fx->spool);
    assert_int_equal(spool_count(fx->spool), 2);
    assert_int_equal(spool_first_seq(fx->spool), 2);
    assert_int_equal(spool_next_seq(fx->spool), 4);
}

static void test_new_refuses_bad_endpoint(void **state)
{
    fixture_t *fx = *state;
    fx->opts.endpoint = "nonsense://x";
    fx->loop = zloop_new();
    char err[256] = "";
    assert_null(agent_link_new(&fx->opts, fx->loop, err, sizeof err));
    assert_non_null(strstr(err, "nonsense://x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_on_connect, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_and_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_too_large_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ack_timeout_resends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_replays_unacked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_not_spooled, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_and_job_reach_handler, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_from_collector_ignored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_previous_spool_replayed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_new_refuses_bad_endpoint, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
