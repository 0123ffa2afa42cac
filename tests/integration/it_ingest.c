/*  Integration: authenticated ingest through the real collector with CURVE —
    many agents stored exactly once, unknown keys refused, bad frames counted
    and dropped while good traffic flows. */
#include "harness.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

//  Run ferry-loadgen MODE; in the background when pid_p is not NULL (returns 0).
static int s_loadgen(it_env_t *env, const char *log, const char *mode, int first, int agents,
                     int messages, pid_t *pid_p)
{
    char keys[320], cert[320], f[16], a[16], m[16];
    it_path(env, keys, sizeof keys, "loadgen-keys");
    snprintf(cert, sizeof cert, "%s", env->collector_cert);
    snprintf(f, sizeof f, "%d", first);
    snprintf(a, sizeof a, "%d", agents);
    snprintf(m, sizeof m, "%d", messages);
    if (strcmp(mode, "garbage") == 0) {
        char *argv[] = { "ferry-loadgen", "garbage", "--endpoint", env->endpoint, "--server-cert",
                         cert, "--keys", keys, "--first", f, NULL };
        return it_run(env, log, 120000, argv);
    }
    char *argv[] = { "ferry-loadgen", "run", "--endpoint", env->endpoint, "--server-cert", cert,
                     "--keys", keys, "--first", f, "--agents", a, "--messages", m,
                     "--wait", "60", NULL };
    if (pid_p) {
        *pid_p = it_spawn(env, log, argv);
        return 0;
    }
    return it_run(env, log, 180000, argv);
}

static void test_twenty_agents_exactly_once(void **state)
{
    it_env_t *env = *state;
    const int agents = 20, messages = 500;
    it_loadgen_keys(env, agents);
    it_start_collector(env, NULL);
    assert_int_equal(s_loadgen(env, "loadgen", "run", 0, agents, messages, NULL), 0);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM agents"), agents);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM metric_samples"), agents * messages);
    //  Each agent: exactly seqs 1..messages.
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM (SELECT agent_id FROM metric_samples"
                                    " GROUP BY agent_id HAVING count(*) = 500"
                                    " AND count(DISTINCT seq) = 500 AND min(seq) = 1"
                                    " AND max(seq) = 500)"), agents);
    //  acked_seq is flushed with last-seen figures (every second).
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM agents WHERE acked_seq = 500", agents,
                                10000), agents);

    //  The same run again is a new stream for every agent: stored again, once.
    int status = it_stop(env, env->collector, SIGTERM, 20000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    it_start_collector(env, NULL);
    assert_int_equal(s_loadgen(env, "loadgen2", "run", 0, agents, 100, NULL), 0);
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM agents WHERE acked_seq = 100", agents,
                                10000), agents);
}

//  metrics_keep: chunks whose newest sample is older go, the agents stay.
static void test_metrics_retention(void **state)
{
    it_env_t *env = *state;
    it_loadgen_keys(env, 2);
    it_start_collector(env, "    metrics_keep = 2s\n    seen_flush = 100ms\n");
    assert_int_equal(s_loadgen(env, "loadgen", "run", 0, 2, 50, NULL), 0);
    assert_true(it_db_int(env, "SELECT count(*) FROM metric_samples") > 0);
    assert_int_equal(it_wait_db(env, "SELECT count(*) = 0 FROM metrics", 1, 20000), 1);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM agents"), 2);
}

static void test_unknown_agent_refused(void **state)
{
    it_env_t *env = *state;
    it_agent_keygen(env, "intruder", false);
    it_agent_keygen(env, "friend", true);
    it_start_collector(env, NULL);
    pid_t intruder = it_start_agent(env, "intruder", "    metrics_interval = 50ms\n");
    pid_t friend = it_start_agent(env, "friend", "    metrics_interval = 50ms\n");
    char key[41], needle[128], log[512];
    it_agent_key(env, "intruder", key);
    snprintf(needle, sizeof needle, "refused CURVE key %s", key);
    assert_true(it_wait_file(env->collector_log, needle, 30000));
    snprintf(log, sizeof log, "%s/intruder.log", env->dir);
    assert_true(it_wait_file(log, "rejected this agent's key", 30000));
    //  The friend's data flows meanwhile; the intruder has no row at all.
    assert_true(it_wait_db(env, "SELECT count(*) FROM metric_samples", 20, 30000) >= 20);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM agents"), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM agents WHERE key = '%s'", key);
    assert_int_equal(it_db_int(env, sql), 0);

    //  Allowing it and sending SIGHUP lets it in without a restart.
    it_agent_keygen(env, "intruder", true);
    kill(env->collector, SIGHUP);
    assert_int_equal(it_wait_db(env, sql, 1, 30000), 1);
    it_stop(env, intruder, SIGTERM, 20000);
    it_stop(env, friend, SIGTERM, 20000);
}

static void test_garbage_counted_and_dropped(void **state)
{
    it_env_t *env = *state;
    it_loadgen_keys(env, 6);
    it_start_collector(env, "    seen_flush = 100ms\n");
    //  Agent 0 sends every kind of bad frame, then valid data on the same
    //  connection; agents 1..5 send good traffic at the same time.
    pid_t good;
    s_loadgen(env, "loadgen", "run", 1, 5, 300, &good);
    assert_int_equal(s_loadgen(env, "garbage", "garbage", 0, 1, 0, NULL), 0);
    int status = it_stop(env, good, 0, 180000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM metric_samples"), 10 + 5 * 300);
    //  Counted per peer and persisted; logged (rate-limited) once.
    assert_true(it_wait_db(env, "SELECT max(bad_frames) FROM agents", 7, 10000) >= 7);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM agents WHERE bad_frames > 0"), 1);
    assert_true(it_wait_file(env->collector_log, "bad frame", 10000));
    status = it_stop(env, env->collector, SIGTERM, 20000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_twenty_agents_exactly_once, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_retention, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_agent_refused, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_counted_and_dropped, it_env_setup, it_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
