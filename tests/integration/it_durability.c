/*  Integration: nothing acked is lost and nothing is stored twice when the
    collector or an agent dies or goes away (real binaries, CURVE, loopback). */
#include "checks.h"
#include "clock.h"
#include "harness.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define AGENTS 4

static void s_name(char *out, size_t size, int i) { snprintf(out, size, "agent%d", i); }

static int64_t s_metrics(it_env_t *env)
{
    return it_db_int(env, "SELECT count(*) FROM metric_samples");
}

//  Metrics rows stored for agent i (0 before it ever reported).
static int64_t s_agent_metrics(it_env_t *env, int i)
{
    char name[32], key[41], sql[256];
    s_name(name, sizeof name, i);
    it_agent_key(env, name, key);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metric_samples WHERE agent_id ="
             " (SELECT id FROM agents WHERE key = '%s')", key);
    int64_t n = it_db_int(env, sql);
    return n < 0 ? 0 : n;
}

static void s_wait_agent_metrics(it_env_t *env, int i, int64_t want)
{
    int64_t deadline = clock_mono_ms() + 60000;
    while (s_agent_metrics(env, i) < want && clock_mono_ms() < deadline)
        usleep(20000);
    assert_true(s_agent_metrics(env, i) >= want);
}

static void s_start_agents(it_env_t *env, pid_t *pids)
{
    for (int i = 0; i < AGENTS; i++) {
        char name[32];
        s_name(name, sizeof name, i);
        pids[i] = it_start_agent(env, name, IT_FAST_AGENT);
    }
}

static void s_check_all(it_env_t *env, pid_t *pids, int starts)
{
    for (int i = 0; i < AGENTS; i++) {
        char name[32];
        s_name(name, sizeof name, i);
        it_check_delivered(env, name, pids[i], starts);
    }
}

//  Wait until every agent logged needle at least times times.
static void s_wait_agents_log(it_env_t *env, const char *needle, int times)
{
    for (int i = 0; i < AGENTS; i++) {
        char name[32], log[512];
        s_name(name, sizeof name, i);
        snprintf(log, sizeof log, "%s/%s.log", env->dir, name);
        if (!it_wait_file_count(log, needle, times, 60000))
            fail_msg("%s did not log \"%s\" %d times, see %s", name, needle, times, log);
    }
}

//  An agent only notices losing a collector it had connected to: on a
//  loaded machine the others' metrics can reach the count a test waits for
//  before a slow agent's handshake is done.
static void s_wait_agents_connected(it_env_t *env, int times)
{
    s_wait_agents_log(env, "connected to the collector", times);
}

//  Wait until every agent noticed that the collector is gone.
static void s_wait_agents_lost(it_env_t *env, int times)
{
    s_wait_agents_log(env, "lost the collector", times);
}

static void test_collector_sigkill(void **state)
{
    it_env_t *env = *state;
    pid_t pids[AGENTS];
    it_start_collector(env, NULL);
    s_start_agents(env, pids);
    for (int round = 1; round <= 3; round++) {
        int64_t before = s_metrics(env);
        assert_true(it_wait_db(env, "SELECT count(*) FROM metric_samples", before + 100, 60000) >= before + 100);
        s_wait_agents_connected(env, round);
        int status = it_stop(env, env->collector, SIGKILL, 10000);
        assert_true(status >= 0 && WIFSIGNALED(status));
        s_wait_agents_lost(env, round);
        it_start_collector(env, NULL);
    }
    int64_t before = s_metrics(env);
    assert_true(it_wait_db(env, "SELECT count(*) FROM metric_samples", before + 100, 60000) >= before + 100);
    s_check_all(env, pids, 2);
}

static off_t s_spool_size(it_env_t *env, int i)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/agent%d-spool/spool.dat", env->dir, i);
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static void test_collector_away(void **state)
{
    it_env_t *env = *state;
    pid_t pids[AGENTS];
    it_start_collector(env, NULL);
    s_start_agents(env, pids);
    assert_true(it_wait_db(env, "SELECT count(*) FROM metric_samples", 200, 60000) >= 200);
    s_wait_agents_connected(env, 1);
    int status = it_stop(env, env->collector, SIGTERM, 30000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s_wait_agents_lost(env, 1);
    //  Let every agent spool a good amount while the collector is away.
    off_t at_stop[AGENTS];
    for (int i = 0; i < AGENTS; i++)
        at_stop[i] = s_spool_size(env, i);
    int64_t deadline = clock_mono_ms() + 60000;
    for (int i = 0; i < AGENTS; i++) {
        while (s_spool_size(env, i) < at_stop[i] + 20000 && clock_mono_ms() < deadline)
            usleep(10000);
        assert_true(s_spool_size(env, i) >= at_stop[i] + 20000);
    }
    it_start_collector(env, NULL);
    s_check_all(env, pids, 2);
    //  Delivered in order: for each agent, storage order follows seq order.
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM metric_samples a JOIN metric_samples b"
                                    " ON a.agent_id = b.agent_id AND a.stored_order < b.stored_order"
                                    " AND a.seq > b.seq"), 0);
}

static void test_agent_sigkill(void **state)
{
    it_env_t *env = *state;
    pid_t pids[AGENTS];
    it_start_collector(env, NULL);
    s_start_agents(env, pids);
    for (int round = 0; round < 2; round++) {
        int64_t before[AGENTS];
        for (int i = 0; i < AGENTS; i++)
            before[i] = s_agent_metrics(env, i);
        for (int i = 0; i < AGENTS; i++) {
            char name[32];
            s_name(name, sizeof name, i);
            //  This start of it delivered something (not just the others: on
            //  a loaded machine one agent can lag far behind them).
            s_wait_agent_metrics(env, i, before[i] + 10);
            int status = it_stop(env, pids[i], SIGKILL, 10000);
            assert_true(status >= 0 && WIFSIGNALED(status));
            uint64_t before_kill = it_agent_logged_next_seq(env, name);
            pids[i] = it_start_agent(env, name, IT_FAST_AGENT);
            char log[512];
            snprintf(log, sizeof log, "%s/%s.log", env->dir, name);
            assert_true(it_wait_file_count(log, "reporting to", round + 2, 60000));
            //  The restarted agent continues the sequence from its spool.
            assert_true(it_agent_logged_next_seq(env, name) > before_kill);
        }
    }
    s_check_all(env, pids, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collector_sigkill, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_collector_away, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_agent_sigkill, it_env_setup, it_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
