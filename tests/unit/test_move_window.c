/*  test_move_window — the agents' identity and move-window figures
    (collector/ingest/move_window.h), fed directly through the observer
    ingest would call, with the times the test chooses: no sockets, no
    store. The Configs it asks for go to a recording hook, the ends of moves
    to a recording listener. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "move_window.h"

#define KEY_A "agent-a"
#define KEY_B "agent-b"

typedef struct {
    move_window_t *windows;
    ingest_observer_t feed;       // its observer, as ingest would call it
    int configs;                  // send-config hook calls
    char config_key[64];          // of the latest one
    uint32_t config_fast_ms, config_for_ms;
    int config_rc;                // what the hook answers
    int ends;                     // listener calls
    char end_key[64];             // of the latest one
} fixture_t;

static int s_config(void *arg, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    fixture_t *fx = arg;
    fx->configs++;
    snprintf(fx->config_key, sizeof fx->config_key, "%s", key);
    fx->config_fast_ms = fast_ms;
    fx->config_for_ms = for_ms;
    return fx->config_rc;
}

static void s_on_end(const char *key, void *arg)
{
    fixture_t *fx = arg;
    fx->ends++;
    snprintf(fx->end_key, sizeof fx->end_key, "%s", key);
}

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->windows = move_window_new(s_config, fx);
    if (!fx->windows)
        return -1;
    move_window_observer(fx->windows, &fx->feed);
    move_window_set_listener(fx->windows, s_on_end, fx);
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    move_window_destroy(&fx->windows);
    move_window_destroy(&fx->windows);     // safe twice
    move_window_destroy(NULL);
    free(fx);
    return 0;
}

// ------------------------------------------------------------------ feeding

//  The record ingest would keep for key (asked once per agent there; here
//  each time, which must give the same record).
static void *s_record(fixture_t *fx, const char *key)
{
    void *record = fx->feed.agent(fx->feed.arg, key);
    assert_non_null(record);
    assert_ptr_equal(record, fx->feed.agent(fx->feed.arg, key));
    return record;
}

static void s_frame(fixture_t *fx, const char *key, int64_t wall_ms, int64_t mono_ms)
{
    fx->feed.frame(fx->feed.arg, s_record(fx, key), wall_ms, mono_ms);
}

static void s_hello(fixture_t *fx, const char *key, const char *boot_id)
{
    Ferry__Hello hello = FERRY__HELLO__INIT;
    hello.boot_id = (char *) boot_id;
    fx->feed.hello(fx->feed.arg, s_record(fx, key), &hello);
}

static void s_heartbeat(fixture_t *fx, const char *key, uint32_t interval_ms, uint32_t stall_ms)
{
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    hb.interval_ms = interval_ms;
    hb.stall_ms = stall_ms;
    fx->feed.heartbeat(fx->feed.arg, s_record(fx, key), &hb);
}

static void s_facts(fixture_t *fx, const char *key, const char *serial, const char *boot_id)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Facts facts = FERRY__FACTS__INIT;
    facts.serial = (char *) serial;
    facts.boot_id = (char *) boot_id;
    env.seq = 1;
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &facts;
    fx->feed.body(fx->feed.arg, s_record(fx, key), &env);
}

//  An event with one attribute (name NULL: none).
static void s_event(fixture_t *fx, const char *key, const char *kind, const char *name,
                    const char *value)
{
    Ferry__Envelope env = FERRY__ENVELOPE__INIT;
    Ferry__Event event = FERRY__EVENT__INIT;
    Ferry__KeyValue kv = FERRY__KEY_VALUE__INIT;
    Ferry__KeyValue *attrs[1] = { &kv };
    event.kind = (char *) kind;
    if (name) {
        kv.key = (char *) name;
        kv.value = (char *) value;
        event.attrs = attrs;
        event.n_attrs = 1;
    }
    env.seq = 1;
    env.body_case = FERRY__ENVELOPE__BODY_EVENT;
    env.event = &event;
    fx->feed.body(fx->feed.arg, s_record(fx, key), &env);
}

static void s_phase(fixture_t *fx, const char *key, const char *phase)
{
    s_event(fx, key, "lpm_phase", "phase", phase);
}

static move_window_observation_t s_observe(fixture_t *fx, const char *key)
{
    move_window_observation_t o;
    assert_int_equal(move_window_observe(fx->windows, key, &o), 0);
    return o;
}

// ------------------------------------------------------------------ tests

//  What the agent says about itself, window or not: seen, the latest
//  frame's wall time, boot id (Hello, facts), serial (facts,
//  serial_changed), its usual heartbeat pace. Keys never heard of are -1.
static void test_identity(void **state)
{
    fixture_t *fx = *state;
    move_window_observation_t o;
    memset(&o, 0x55, sizeof o);
    assert_int_equal(move_window_observe(fx->windows, KEY_A, &o), -1);
    assert_false(o.seen);                      // zeroed
    assert_int_equal(o.last_frame_ms, 0);
    assert_int_equal(move_window_observe(fx->windows, NULL, &o), -1);

    s_frame(fx, KEY_A, 1000, 500);
    s_hello(fx, KEY_A, "boot-1");
    o = s_observe(fx, KEY_A);
    assert_true(o.seen);
    assert_int_equal(o.last_frame_ms, 1000);
    assert_string_equal(o.boot_id, "boot-1");
    assert_string_equal(o.serial, "");
    assert_false(o.window_open);

    s_frame(fx, KEY_A, 2000, 1500);
    s_facts(fx, KEY_A, "21C48FV", "boot-2");
    o = s_observe(fx, KEY_A);
    assert_int_equal(o.last_frame_ms, 2000);
    assert_string_equal(o.serial, "21C48FV");
    assert_string_equal(o.boot_id, "boot-2");
    //  Facts without them keep what was known; so does a Hello without a boot id.
    s_facts(fx, KEY_A, "", NULL);
    s_hello(fx, KEY_A, "");
    o = s_observe(fx, KEY_A);
    assert_string_equal(o.serial, "21C48FV");
    assert_string_equal(o.boot_id, "boot-2");

    //  Outside a window: the serial moves, no window figure, no end of move.
    s_event(fx, KEY_A, "serial_changed", "new", "99XYZ01");
    s_phase(fx, KEY_A, "post");
    s_heartbeat(fx, KEY_A, 1000, 700);
    s_frame(fx, KEY_A, 9000, 8500);
    o = s_observe(fx, KEY_A);
    assert_string_equal(o.serial, "99XYZ01");
    assert_false(o.serial_changed);
    assert_int_equal(o.lpm_phases, 0);
    assert_int_equal(o.max_stall_ms, 0);
    assert_int_equal(o.max_gap_ms, 0);
    assert_int_equal(fx->ends, 0);

    //  The pace outside windows: the largest since the Hello, which resets it.
    s_heartbeat(fx, KEY_A, 5000, 0);
    s_heartbeat(fx, KEY_A, 1000, 0);
    assert_int_equal(s_observe(fx, KEY_A).heartbeat_ms, 5000);
    s_hello(fx, KEY_A, "boot-3");
    assert_int_equal(s_observe(fx, KEY_A).heartbeat_ms, 0);
    s_heartbeat(fx, KEY_A, 2000, 0);
    assert_int_equal(s_observe(fx, KEY_A).heartbeat_ms, 2000);

    //  Other events change nothing; each key is its own.
    s_event(fx, KEY_A, "booted", NULL, NULL);
    s_event(fx, KEY_A, "lpm_phase", NULL, NULL);
    assert_int_equal(move_window_observe(fx->windows, KEY_B, &o), -1);
    s_frame(fx, KEY_B, 3000, 2500);
    o = s_observe(fx, KEY_B);
    assert_true(o.seen);
    assert_string_equal(o.boot_id, "");
    assert_string_equal(s_observe(fx, KEY_A).boot_id, "boot-3");
    assert_int_equal(fx->configs, 0);
}

//  Inside a window: the largest gap between two frames (from the mono times
//  passed, the first frame after the open starting afresh), the largest
//  stall, the LPM phases and serial_changed; the listener hears of each
//  post/posterror the first time and of each serial_changed.
static void test_window_figures(void **state)
{
    fixture_t *fx = *state;
    s_hello(fx, KEY_A, "boot-1");
    s_heartbeat(fx, KEY_A, 5000, 0);
    s_frame(fx, KEY_A, 1000, 100);
    int64_t before = clock_wall_ms();
    assert_int_equal(move_window_open(fx->windows, KEY_A, 50, 60000), 0);
    assert_int_equal(fx->configs, 1);
    assert_string_equal(fx->config_key, KEY_A);
    assert_int_equal(fx->config_fast_ms, 50);
    assert_int_equal(fx->config_for_ms, 60000);
    move_window_observation_t o = s_observe(fx, KEY_A);
    assert_true(o.window_open);
    assert_false(o.resumed);
    assert_true(o.window_start_ms >= before && o.window_start_ms <= clock_wall_ms());
    assert_string_equal(o.window_boot_id, "boot-1");
    assert_int_equal(o.max_gap_ms, 0);
    assert_int_equal(o.lpm_phases, 0);

    //  The silence before the open is not a gap of the window.
    s_frame(fx, KEY_A, 6000, 5000);
    assert_int_equal(s_observe(fx, KEY_A).max_gap_ms, 0);
    s_frame(fx, KEY_A, 6100, 5100);
    s_frame(fx, KEY_A, 6700, 5700);
    s_frame(fx, KEY_A, 6750, 5750);
    o = s_observe(fx, KEY_A);
    assert_int_equal(o.max_gap_ms, 600);
    assert_int_equal(o.last_frame_ms, 6750);

    //  The largest stall is kept; the fast (or any) pace inside the window
    //  is not the usual one.
    s_heartbeat(fx, KEY_A, 50, 300);
    s_heartbeat(fx, KEY_A, 50, 100);
    s_heartbeat(fx, KEY_A, 9000, 0);
    o = s_observe(fx, KEY_A);
    assert_int_equal(o.max_stall_ms, 300);
    assert_int_equal(o.heartbeat_ms, 5000);

    //  Phases: bits; only post and posterror end the move, each once.
    s_phase(fx, KEY_A, "check");
    s_phase(fx, KEY_A, "pre");
    s_phase(fx, KEY_A, "bogus");
    assert_int_equal(s_observe(fx, KEY_A).lpm_phases, MOVE_WINDOW_LPM_CHECK | MOVE_WINDOW_LPM_PRE);
    assert_int_equal(fx->ends, 0);
    s_phase(fx, KEY_A, "post");
    assert_int_equal(fx->ends, 1);
    assert_string_equal(fx->end_key, KEY_A);
    s_phase(fx, KEY_A, "post");
    s_phase(fx, KEY_A, "pre");
    assert_int_equal(fx->ends, 1);
    s_phase(fx, KEY_A, "posterror");
    assert_int_equal(fx->ends, 2);
    s_phase(fx, KEY_A, "posterror");
    assert_int_equal(fx->ends, 2);
    o = s_observe(fx, KEY_A);
    assert_int_equal(o.lpm_phases, MOVE_WINDOW_LPM_CHECK | MOVE_WINDOW_LPM_PRE
                                       | MOVE_WINDOW_LPM_POST | MOVE_WINDOW_LPM_POSTERROR);
    assert_false(o.serial_changed);

    //  A serial change ends the move, each time.
    s_event(fx, KEY_A, "serial_changed", "new", "NEWSER1");
    assert_int_equal(fx->ends, 3);
    s_event(fx, KEY_A, "serial_changed", NULL, NULL);
    assert_int_equal(fx->ends, 4);
    o = s_observe(fx, KEY_A);
    assert_true(o.serial_changed);
    assert_string_equal(o.serial, "NEWSER1");

    //  Another agent's window is its own.
    assert_int_equal(move_window_observe(fx->windows, KEY_B, &o), -1);
    s_frame(fx, KEY_B, 7000, 6000);
    s_phase(fx, KEY_B, "post");
    assert_int_equal(fx->ends, 4);
    assert_false(s_observe(fx, KEY_B).window_open);
}

//  A closed window stops collecting and tells the agent (fast_ms 0); its
//  figures stay readable until the next open, which starts them afresh.
static void test_window_close(void **state)
{
    fixture_t *fx = *state;
    s_hello(fx, KEY_A, "boot-1");
    assert_int_equal(move_window_open(fx->windows, KEY_A, 50, 60000), 0);
    s_frame(fx, KEY_A, 1000, 1000);
    s_frame(fx, KEY_A, 1400, 1400);
    s_heartbeat(fx, KEY_A, 50, 300);
    s_phase(fx, KEY_A, "pre");
    s_event(fx, KEY_A, "serial_changed", "new", "NEWSER1");
    assert_int_equal(fx->ends, 1);

    move_window_close(fx->windows, KEY_A);
    assert_int_equal(fx->configs, 2);
    assert_string_equal(fx->config_key, KEY_A);
    assert_int_equal(fx->config_fast_ms, 0);
    assert_int_equal(fx->config_for_ms, 0);
    //  After it: nothing more collected, no end of move, the usual pace again.
    s_frame(fx, KEY_A, 9000, 9000);
    s_heartbeat(fx, KEY_A, 5000, 900);
    s_phase(fx, KEY_A, "post");
    s_event(fx, KEY_A, "serial_changed", "new", "NEWSER2");
    assert_int_equal(fx->ends, 1);
    move_window_observation_t o = s_observe(fx, KEY_A);
    assert_false(o.window_open);
    assert_int_equal(o.max_gap_ms, 400);
    assert_int_equal(o.max_stall_ms, 300);
    assert_int_equal(o.lpm_phases, MOVE_WINDOW_LPM_PRE);
    assert_true(o.serial_changed);
    assert_string_equal(o.serial, "NEWSER2");
    assert_int_equal(o.heartbeat_ms, 5000);
    assert_string_equal(o.window_boot_id, "boot-1");

    //  Reopened: the figures start afresh.
    s_hello(fx, KEY_A, "boot-2");
    assert_int_equal(move_window_open(fx->windows, KEY_A, 100, 30000), 0);
    assert_int_equal(fx->configs, 3);
    o = s_observe(fx, KEY_A);
    assert_true(o.window_open);
    assert_int_equal(o.max_gap_ms, 0);
    assert_int_equal(o.max_stall_ms, 0);
    assert_int_equal(o.lpm_phases, 0);
    assert_false(o.serial_changed);
    assert_string_equal(o.window_boot_id, "boot-2");

    //  Closing a key never seen sends nothing.
    move_window_close(fx->windows, KEY_B);
    move_window_close(fx->windows, NULL);
    assert_int_equal(fx->configs, 3);
    assert_int_equal(move_window_observe(fx->windows, KEY_B, &o), -1);
}

//  A window reopened after a collector restart keeps the original start,
//  the boot id then and the database's phases; the database's serial only
//  stands in until the agent reports one.
static void test_window_resume(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(move_window_resume(fx->windows, KEY_A, 100, 30000, 12345, "boot-0",
                                        "OLDSER", MOVE_WINDOW_LPM_CHECK), 0);
    assert_int_equal(fx->configs, 1);
    assert_int_equal(fx->config_fast_ms, 100);
    assert_int_equal(fx->config_for_ms, 30000);
    move_window_observation_t o = s_observe(fx, KEY_A);
    assert_false(o.seen);
    assert_true(o.window_open);
    assert_true(o.resumed);
    assert_int_equal(o.window_start_ms, 12345);
    assert_string_equal(o.window_boot_id, "boot-0");
    assert_string_equal(o.serial, "OLDSER");
    assert_int_equal(o.lpm_phases, MOVE_WINDOW_LPM_CHECK);
    //  Collecting goes on from there.
    s_hello(fx, KEY_A, "boot-1");
    s_phase(fx, KEY_A, "post");
    assert_int_equal(fx->ends, 1);
    o = s_observe(fx, KEY_A);
    assert_int_equal(o.lpm_phases, MOVE_WINDOW_LPM_CHECK | MOVE_WINDOW_LPM_POST);
    assert_string_equal(o.window_boot_id, "boot-0");
    assert_string_equal(o.boot_id, "boot-1");

    //  An agent that already reported its serial keeps it; without a boot id
    //  the current one is the window's.
    s_facts(fx, KEY_B, "NOWSER", "boot-7");
    assert_int_equal(move_window_resume(fx->windows, KEY_B, 100, 30000, 777, NULL, "OLDSER", 0), 0);
    o = s_observe(fx, KEY_B);
    assert_true(o.resumed);
    assert_int_equal(o.window_start_ms, 777);
    assert_string_equal(o.serial, "NOWSER");
    assert_string_equal(o.window_boot_id, "boot-7");
    assert_int_equal(o.lpm_phases, 0);
    //  A plain open after it is not resumed.
    assert_int_equal(move_window_open(fx->windows, KEY_B, 100, 30000), 0);
    assert_false(s_observe(fx, KEY_B).resumed);
}

//  A key the sender refuses opens nothing and leaves no trace; without a
//  sender windows still work; a cleared listener hears nothing.
static void test_refused_and_cleared(void **state)
{
    fixture_t *fx = *state;
    move_window_observation_t o;
    fx->config_rc = -1;
    assert_int_equal(move_window_open(fx->windows, "short", 50, 1000), -1);
    assert_int_equal(move_window_resume(fx->windows, "short", 50, 1000, 1, "b", "s", 0), -1);
    assert_int_equal(fx->configs, 2);
    assert_int_equal(move_window_observe(fx->windows, "short", &o), -1);
    assert_int_equal(move_window_open(fx->windows, NULL, 50, 1000), -1);
    assert_int_equal(fx->configs, 2);

    move_window_t *alone = move_window_new(NULL, NULL);
    assert_non_null(alone);
    assert_int_equal(move_window_open(alone, KEY_A, 50, 1000), 0);
    assert_true(move_window_observe(alone, KEY_A, &o) == 0 && o.window_open);
    move_window_close(alone, KEY_A);
    assert_true(move_window_observe(alone, KEY_A, &o) == 0 && !o.window_open);
    move_window_destroy(&alone);
    assert_null(alone);

    fx->config_rc = 0;
    assert_int_equal(move_window_open(fx->windows, KEY_A, 50, 1000), 0);
    move_window_set_listener(fx->windows, NULL, NULL);
    s_phase(fx, KEY_A, "post");
    assert_int_equal(fx->ends, 0);
    assert_int_equal(s_observe(fx, KEY_A).lpm_phases, MOVE_WINDOW_LPM_POST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_window_figures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_window_close, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_window_resume, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_cleared, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
