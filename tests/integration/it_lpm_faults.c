/*  Integration: LPM plans under the faults ferry-hmcsim injects. Each fault
    must end its move in the right final state with a message an administrator
    can act on (the HSCL text, "timed out", the failed checks), while the other
    moves of the same plan still finish verified; global faults (expired
    sessions, HTTP 5xx, slow answers) must not leave anything hanging. */
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

#define VALIDATE_HSCL "HSCLA9F1 injected validation failure: the virtual network is not bridged"
#define MIGRATE_HSCL "HSCLA9F2 injected migration failure: the mover service partition stopped"
#define FINAL_MS 120000         // deadline for a whole plan to end

static int s_teardown(void **state)
{
    lpm_teardown(*state);
    return 0;
}

static int64_t s_stat(json_t *stats, const char *partition, const char *key)
{
    json_t *p = lpm_stats_partition(stats, partition);
    assert_non_null(p);
    return json_integer_value(json_object_get(p, key));
}

static const char *s_stat_str(json_t *stats, const char *partition, const char *key)
{
    json_t *p = lpm_stats_partition(stats, partition);
    assert_non_null(p);
    const char *value = json_string_value(json_object_get(p, key));
    return value ? value : "";
}

//  Print each move's state and message (for post-mortems), return verified count.
static int64_t s_summary(lpm_fixture_t *f, int64_t id)
{
    for (int i = 0; i < f->opts.partitions; i++) {
        char name[16], st[32], msg[1024];
        lpm_name(name, sizeof name, i);
        lpm_move_text(f, id, name, "state", st, sizeof st);
        lpm_move_text(f, id, name, "message", msg, sizeof msg);
        fprintf(stderr, "  %s: %s %s\n", name, st, msg);
    }
    return lpm_count_state(f, id, "verified");
}

static void s_expect(lpm_fixture_t *f, int64_t id, const char *partition, const char *state,
                     const char *needle)
{
    char st[32], msg[1024];
    lpm_move_text(f, id, partition, "state", st, sizeof st);
    lpm_move_text(f, id, partition, "message", msg, sizeof msg);
    if (strcmp(st, state) != 0 || (needle && !strstr(msg, needle))) {
        fprintf(stderr, "%s: state %s, message \"%s\"; want %s with \"%s\"\n", partition, st, msg,
                state, needle ? needle : "");
        lpm_show_plan(f, id);
    }
    assert_string_equal(st, state);
    if (needle)
        assert_non_null(strstr(msg, needle));
}

//  (a), (b), (c) in one plan: each partition its own fault, three without.
//  lpar01 direct: validation error; lpar02 via staging: failing Migrate;
//  lpar03 direct: Migrate that never ends (3 s job time-out); lpar04..06: no
//  fault (lpar04 and lpar06 via staging).
static int s_setup_partition_faults(void **state)
{
    lpm_options_t opts = {
        .partitions = 6,
        .collector_extra = "planner\n    job_timeout = 3s\n",
    };
    opts.partition_fault[0] = "        validate_error = \"" VALIDATE_HSCL "\"\n";
    opts.partition_fault[1] = "        migrate_error = \"" MIGRATE_HSCL "\"\n";
    opts.partition_fault[2] = "        hang = true\n";
    *state = lpm_setup(&opts);
    return 0;
}

static void test_partition_faults(void **state)
{
    lpm_fixture_t *f = *state;
    int64_t id = lpm_submit_plan(f, "faults", 2000);
    lpm_start_plan(f, id);
    int64_t final = lpm_wait_final(f, id, FINAL_MS);
    int64_t verified = s_summary(f, id);
    if (final != 6)
        lpm_show_plan(f, id);
    assert_int_equal(final, 6);

    //  (a) validation error: failed with the HSCL text, never migrated.
    s_expect(f, id, "lpar01", "failed", VALIDATE_HSCL);
    s_expect(f, id, "lpar01", "failed", "MigrateValidate");
    //  (b) failing Migrate: failed with the HSCL text after MigrateRecover.
    s_expect(f, id, "lpar02", "failed", MIGRATE_HSCL);
    s_expect(f, id, "lpar02", "failed", "hop 1 to P10-A");
    //  (c) Migrate that never ends: aborted at the job time-out, then recovered.
    s_expect(f, id, "lpar03", "failed", "timed out");
    //  The others are untouched by their neighbours' faults.
    s_expect(f, id, "lpar04", "verified", NULL);
    s_expect(f, id, "lpar05", "verified", NULL);
    s_expect(f, id, "lpar06", "verified", NULL);
    assert_int_equal(verified, 3);

    json_t *stats = lpm_stop_hmcsim_stats(f);
    assert_int_equal(s_stat(stats, "lpar01", "migrate_submissions"), 0);
    assert_true(s_stat(stats, "lpar01", "validate_submissions") >= 1);
    assert_string_equal(s_stat_str(stats, "lpar01", "system"), "P8-OLD");
    assert_int_equal(s_stat(stats, "lpar02", "migrate_submissions"), 1);
    assert_true(s_stat(stats, "lpar02", "recover_submissions") >= 1);
    assert_string_equal(s_stat_str(stats, "lpar02", "system"), "P8-OLD");
    assert_string_equal(s_stat_str(stats, "lpar02", "migration_state"), "Not_Migrating");
    assert_int_equal(s_stat(stats, "lpar03", "migrate_submissions"), 1);
    assert_true(s_stat(stats, "lpar03", "abort_submissions") >= 1);
    assert_true(s_stat(stats, "lpar03", "recover_submissions") >= 1);
    assert_string_equal(s_stat_str(stats, "lpar03", "system"), "P8-OLD");
    assert_string_equal(s_stat_str(stats, "lpar03", "migration_state"), "Not_Migrating");
    for (int i = 3; i < 6; i++) {
        char part[16];
        lpm_name(part, sizeof part, i);
        assert_int_equal(s_stat(stats, part, "migrate_submissions"), i % 2 ? 2 : 1);
        assert_string_equal(s_stat_str(stats, part, "system"), "P10-B");
    }
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    json_decref(stats);
}

//  (g) lpar02 (via staging) moves on the HMC but its agent stays stopped
//  after the blackout: verification must fail naming the agent-side checks,
//  and must never pass. lpar01 / lpar03: no fault.
static int s_setup_silent_agent(void **state)
{
    lpm_options_t opts = {
        .partitions = 3,
        .collector_extra = "planner\n    verify_timeout = 5s\n",
    };
    opts.partition_fault[1] = "        agent_stays_stopped = true\n";
    *state = lpm_setup(&opts);
    return 0;
}

static void test_silent_agent(void **state)
{
    lpm_fixture_t *f = *state;
    int64_t id = lpm_submit_plan(f, "silent", 2000);
    lpm_start_plan(f, id);
    int64_t final = lpm_wait_final(f, id, FINAL_MS);
    s_summary(f, id);
    if (final != 3)
        lpm_show_plan(f, id);
    assert_int_equal(final, 3);
    s_expect(f, id, "lpar02", "failed", "hop 1 to P10-A: verification failed");
    s_expect(f, id, "lpar02", "failed", "agent_serial");
    s_expect(f, id, "lpar02", "failed", "lpm_events");
    s_expect(f, id, "lpar01", "verified", NULL);
    s_expect(f, id, "lpar03", "verified", NULL);
    //  Never verified, not even a hop: no second Migrate for it.
    json_t *stats = lpm_stop_hmcsim_stats(f);
    assert_int_equal(s_stat(stats, "lpar02", "migrate_submissions"), 1);
    assert_string_equal(s_stat_str(stats, "lpar02", "system"), "P10-A");
    assert_int_equal(s_stat(stats, "lpar01", "migrate_submissions"), 1);
    assert_int_equal(s_stat(stats, "lpar03", "migrate_submissions"), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    json_decref(stats);
}

//  (h) lpar02's agent is killed before the plan: its facts stay stored, but
//  with no message from it within readiness/agent_stale the move is blocked
//  before any request reaches the HMC, naming when it last reported; the
//  others move, and the plan ends done_with_failures.
#define DEAD_AGENT_STALE_MS 4000     // 4 heartbeats: a live agent on a loaded machine stays within it
static int s_setup_dead_agent(void **state)
{
    lpm_options_t opts = {
        .partitions = 3,
        .collector_extra = "readiness\n    agent_stale = 4s\n",
    };
    *state = lpm_setup(&opts);
    return 0;
}

static void test_dead_agent(void **state)
{
    lpm_fixture_t *f = *state;
    assert_int_not_equal(it_stop(&f->env, f->agents[1], SIGKILL, 10000), -1);
    f->agents[1] = 0;
    //  Wait (deadline, not a sleep) until the collector's own record of the
    //  agent's last message is older than the staleness limit.
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT CAST(strftime('%%s','now') AS INTEGER) * 1000 - last_seen_ms > %d"
             " FROM agents WHERE hostname = 'lpar02'",
             DEAD_AGENT_STALE_MS + 1000);
    assert_int_equal(it_wait_db(&f->env, sql, 1, 30000), 1);

    int64_t id = lpm_submit_plan(f, "dead agent", 2000);
    lpm_start_plan(f, id);
    int64_t final = lpm_wait_final(f, id, FINAL_MS);
    s_summary(f, id);
    if (final != 3)
        lpm_show_plan(f, id);
    assert_int_equal(final, 3);
    s_expect(f, id, "lpar02", "blocked", "lpm.agent_reporting");
    s_expect(f, id, "lpar02", "blocked", "the ferry-agent of lpar02 last reported at");
    s_expect(f, id, "lpar01", "verified", NULL);
    s_expect(f, id, "lpar03", "verified", NULL);
    char sql_state[128];
    snprintf(sql_state, sizeof sql_state,
             "SELECT state = 'done_with_failures' FROM plans WHERE id = %" PRId64, id);
    assert_int_equal(it_wait_db(&f->env, sql_state, 1, 10000), 1);

    json_t *stats = lpm_stop_hmcsim_stats(f);
    assert_int_equal(s_stat(stats, "lpar02", "validate_submissions"), 0);
    assert_int_equal(s_stat(stats, "lpar02", "migrate_submissions"), 0);
    assert_string_equal(s_stat_str(stats, "lpar02", "system"), "P8-OLD");
    assert_int_equal(s_stat(stats, "lpar01", "migrate_submissions"), 1);
    json_decref(stats);
}

//  A global fault section, four partitions (two direct, two via staging).
static int s_setup_global(void **state, const char *fault)
{
    lpm_options_t opts = { .partitions = 4, .hmcsim_fault = fault };
    *state = lpm_setup(&opts);
    return 0;
}

static int s_setup_session(void **state)
{
    return s_setup_global(state, "    session_max_requests = 5\n");
}

static int s_setup_http_errors(void **state)
{
    return s_setup_global(state, "    http_error_count = 3\n    http_error_status = 503\n");
}

static int s_setup_slow(void **state)
{
    return s_setup_global(state, "    delay = 300ms\n");
}

static json_t *s_run_all_verified(lpm_fixture_t *f, const char *name)
{
    int64_t id = lpm_submit_plan(f, name, 2000);
    lpm_start_plan(f, id);
    int64_t final = lpm_wait_final(f, id, FINAL_MS);
    int64_t verified = s_summary(f, id);
    if (final != 4 || verified != 4)
        lpm_show_plan(f, id);
    assert_int_equal(final, 4);
    assert_int_equal(verified, 4);
    json_t *stats = lpm_stop_hmcsim_stats(f);
    for (int i = 0; i < 4; i++) {
        char part[16];
        lpm_name(part, sizeof part, i);
        assert_int_equal(s_stat(stats, part, "migrate_submissions"), i % 2 ? 2 : 1);
    }
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    return stats;
}

//  (d) the session expires every 5 requests: the client logs on again.
static void test_session_expiry(void **state)
{
    json_t *stats = s_run_all_verified(*state, "session");
    fprintf(stderr, "sessions expired %" PRId64 ", logons %" PRId64 "\n",
            (int64_t) json_integer_value(json_object_get(stats, "sessions_expired")),
            (int64_t) json_integer_value(json_object_get(stats, "logons")));
    assert_true(json_integer_value(json_object_get(stats, "sessions_expired")) >= 2);
    assert_true(json_integer_value(json_object_get(stats, "logons")) >= 3);
    json_decref(stats);
}

//  (e) the next 3 requests answer 503.
static void test_http_errors(void **state)
{
    lpm_fixture_t *f = *state;
    int64_t id = lpm_submit_plan(f, "http5xx", 2000);
    lpm_start_plan(f, id);
    int64_t final = lpm_wait_final(f, id, FINAL_MS);
    int64_t verified = s_summary(f, id);
    if (final != 4)
        lpm_show_plan(f, id);
    assert_int_equal(final, 4);
    //  What is not verified failed and says why: the HMC's answer.
    for (int i = 0; i < 4; i++) {
        char part[16], st[32];
        lpm_name(part, sizeof part, i);
        lpm_move_text(f, id, part, "state", st, sizeof st);
        if (strcmp(st, "verified") != 0) {
            s_expect(f, id, part, "failed", "HTTP 503");
            s_expect(f, id, part, "failed", "HSCL3999");
        }
    }
    json_t *stats = lpm_stop_hmcsim_stats(f);
    fprintf(stderr, "verified %" PRId64 " of 4, errors injected %" PRId64 "\n", verified,
            (int64_t) json_integer_value(json_object_get(stats, "errors_injected")));
    assert_int_equal(json_integer_value(json_object_get(stats, "errors_injected")), 3);
    assert_int_equal(json_integer_value(json_object_get(stats, "limit_violations")), 0);
    for (int i = 0; i < 4; i++) {
        char part[16];
        lpm_name(part, sizeof part, i);
        assert_true(s_stat(stats, part, "migrate_submissions") <= (i % 2 ? 2 : 1));
    }
    json_decref(stats);
}

//  (f) every answer 300 ms late.
static void test_slow_answers(void **state)
{
    json_decref(s_run_all_verified(*state, "slow"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partition_faults, s_setup_partition_faults, s_teardown),
        cmocka_unit_test_setup_teardown(test_silent_agent, s_setup_silent_agent, s_teardown),
        cmocka_unit_test_setup_teardown(test_dead_agent, s_setup_dead_agent, s_teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, s_setup_session, s_teardown),
        cmocka_unit_test_setup_teardown(test_http_errors, s_setup_http_errors, s_teardown),
        cmocka_unit_test_setup_teardown(test_slow_answers, s_setup_slow, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
