/*  Integration: an LPM plan end to end through the real binaries — ferry-hmcsim
    (HTTPS HMC), simulated AIX partitions each with a real ferry-agent, the
    collector with its planner and HTTP API, and ferryctl. Half the partitions
    move directly, half through a staging system; every move must be verified
    from inside the partition, concurrency must stay within the limits the
    simulator records, and the measured outage must match the blackout as
    the simulator timed it (the injected 300 ms, longer on a loaded
    machine). */
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

#define PARTITIONS 24           // per run on 3 systems; half direct, half via staging
#define BLACKOUT_MS 300         // injected by the simulator
#define MAX_ACTIVE 2            // MaximumActiveMigrations of every system

static int s_setup(void **state)
{
    lpm_options_t opts = { .partitions = PARTITIONS, .max_active = MAX_ACTIVE,
                           .blackout_ms = BLACKOUT_MS };
    *state = lpm_setup(&opts);
    return 0;
}

static int s_teardown(void **state)
{
    lpm_teardown(*state);
    return 0;
}

//  Each move's measured outage is its partition's real blackout: the stop
//  the simulator timed (the 300 ms injected, more on a loaded machine),
//  ending when the resumed agent answered (see lpm_outage_bounds).
static void s_check_outages(lpm_fixture_t *f, int64_t id, json_t *stats)
{
    int wrong = 0;
    int64_t least = INT64_MAX, most = 0;
    for (int i = 0; i < PARTITIONS; i++) {
        char name[16], sql[256], simlpar[320];
        lpm_name(name, sizeof name, i);
        it_path(&f->env, simlpar, sizeof simlpar, name);
        snprintf(sql, sizeof sql, "SELECT outage_ms FROM moves WHERE plan_id = %" PRId64
                 " AND partition = '%s'", id, name);
        int64_t outage = it_db_int(&f->env, sql), low, high;
        assert_int_equal(lpm_outage_bounds(stats, name, simlpar, &low, &high), 0);
        assert_true(low >= BLACKOUT_MS - 50);
        least = outage < least ? outage : least;
        most = outage > most ? outage : most;
        bool ok = outage >= low && outage <= high;
        fprintf(stderr, "%s: outage %" PRId64 " ms, want %" PRId64 "..%" PRId64 "%s\n", name,
                outage, low, high, ok ? "" : "  WRONG");
        wrong += !ok;
    }
    fprintf(stderr, "outage measured: %" PRId64 "..%" PRId64 " ms for a %d ms blackout\n", least,
            most, BLACKOUT_MS);
    assert_int_equal(wrong, 0);
}

static void test_plan_moves_all_verified(void **state)
{
    lpm_fixture_t *f = *state;
    it_env_t *env = &f->env;
    int64_t id = lpm_submit_plan(f, "wave1", 2000);
    lpm_start_plan(f, id);

    assert_int_equal(lpm_wait_final(f, id, 360000), PARTITIONS);
    int64_t verified = lpm_count_state(f, id, "verified");
    if (verified != PARTITIONS)
        lpm_show_plan(f, id);
    assert_int_equal(verified, PARTITIONS);
    //  Every agent now reports the target system's serial (its facts may
    //  arrive a moment after the heartbeat the verification used).
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM facts_current WHERE"
                                     " json_extract(json, '$.system.serial') = '78CD34E'",
                                PARTITIONS, 15000),
                     PARTITIONS);
    //  Each verified move closed its window at the agent too: all are back to
    //  their 1 s heartbeat (the window itself would last ten minutes).
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM agents WHERE heartbeat_interval_ms = 1000",
                                PARTITIONS, 15000),
                     PARTITIONS);

    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    assert_int_equal(lpm_ferryctl(f, "report", "plan", "report", ids), 0);
    char report[512];
    snprintf(report, sizeof report, "%s/report.log", env->dir);
    assert_true(it_wait_file(report, "LPM (measured)", 0));
    assert_true(it_wait_file(report, "P10-A", 0));

    //  What the HMC saw: one Migrate per hop, never above the limit.
    json_t *stats = lpm_stop_hmcsim_stats(f);
    s_check_outages(f, id, stats);
    size_t i;
    json_t *item;
    int seen = 0;
    json_array_foreach(json_object_get(stats, "partitions"), i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        int index = atoi(name + 4) - 1;
        assert_int_equal(json_integer_value(json_object_get(item, "migrate_submissions")),
                         index % 2 ? 2 : 1);
        seen++;
    }
    assert_int_equal(seen, PARTITIONS);
    json_array_foreach(json_object_get(stats, "systems"), i, item)
        assert_true(json_integer_value(json_object_get(item, "max_concurrency_seen")) <= MAX_ACTIVE);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    json_decref(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_moves_all_verified, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
