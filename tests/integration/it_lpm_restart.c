/*  Integration: the collector SIGKILLed at several points of a running LPM
    plan and restarted with the same config — right after the plan starts,
    while moves are migrating, while moves are verifying. The plan must go on
    after each restart, every move must end verified, and the simulated HMC
    must have seen exactly one Migrate per hop (no double submission) and no
    Migrate over a system's limit. */
#include "lpm_fixture.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#define PARTITIONS 8            // half direct, half via staging: 12 hops
#define MAX_ACTIVE 2

static int s_setup(void **state)
{
    lpm_options_t opts = { .partitions = PARTITIONS, .max_active = MAX_ACTIVE };
    *state = lpm_setup(&opts);
    return 0;
}

static int s_teardown(void **state)
{
    lpm_teardown(*state);
    return 0;
}

static void s_states(lpm_fixture_t *f, int64_t id, const char *when)
{
    fprintf(stderr, "%s:", when);
    for (int i = 0; i < PARTITIONS; i++) {
        char name[16], st[32];
        lpm_name(name, sizeof name, i);
        lpm_move_text(f, id, name, "state", st, sizeof st);
        fprintf(stderr, " %s=%s", name, st);
    }
    fprintf(stderr, "\n");
}

//  Wait until some move of the plan is in state, then SIGKILL the collector
//  and start it again.
static void s_kill_when(lpm_fixture_t *f, int64_t id, const char *state)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM moves WHERE plan_id = %" PRId64 " AND state = '%s'", id, state);
    int64_t n = it_wait_db(&f->env, sql, 1, 60000);
    if (n < 1)
        s_states(f, id, state);
    assert_true(n >= 1);
    lpm_stop_collector(f, SIGKILL);
    char when[64];
    snprintf(when, sizeof when, "killed while %s", state);
    s_states(f, id, when);
    lpm_restart_collector(f);
}

static void test_restart_mid_plan(void **state)
{
    lpm_fixture_t *f = *state;
    int64_t id = lpm_submit_plan(f, "restart", 2000);
    lpm_start_plan(f, id);
    //  (a) right after the start: nothing has reached the HMC's Migrate yet.
    lpm_stop_collector(f, SIGKILL);
    s_states(f, id, "killed after start");
    assert_int_equal(it_db_int(&f->env, "SELECT count(*) FROM moves WHERE state NOT IN"
                                        " ('pending', 'checking', 'validating')"),
                     0);
    lpm_restart_collector(f);
    //  (b) while moves are migrating, (c) while moves are verifying.
    s_kill_when(f, id, "migrating");
    s_kill_when(f, id, "verifying");

    int64_t final = lpm_wait_final(f, id, 180000);
    int64_t verified = lpm_count_state(f, id, "verified");
    s_states(f, id, "end");
    if (final != PARTITIONS || verified != PARTITIONS)
        lpm_show_plan(f, id);
    assert_int_equal(final, PARTITIONS);
    assert_int_equal(verified, PARTITIONS);
    //  The plan was loaded as running after each restart and finishes.
    assert_int_equal(it_wait_db(&f->env, "SELECT count(*) FROM plans WHERE state = 'done'", 1,
                                10000),
                     1);

    //  Exactly one Migrate per hop, none over a limit.
    json_t *stats = lpm_stop_hmcsim_stats(f);
    int wrong = 0;
    for (int i = 0; i < PARTITIONS; i++) {
        char name[16];
        lpm_name(name, sizeof name, i);
        json_t *p = lpm_stats_partition(stats, name);
        assert_non_null(p);
        json_int_t n = json_integer_value(json_object_get(p, "migrate_submissions"));
        if (n != (i % 2 ? 2 : 1)) {
            fprintf(stderr, "%s: %d Migrate submissions for %d hops\n", name, (int) n,
                    i % 2 ? 2 : 1);
            wrong++;
        }
        assert_string_equal(json_string_value(json_object_get(p, "system")), "P10-B");
    }
    assert_int_equal(wrong, 0);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    json_decref(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_mid_plan, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
