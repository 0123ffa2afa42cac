/*  checks — delivery assertions shared by the integration tests. */
#include "checks.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static int64_t s_agent_int(it_env_t *env, const char *key, const char *expr)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM agents WHERE key = '%s'", expr, key);
    return it_db_int(env, sql);
}

void it_check_delivered(it_env_t *env, const char *name, pid_t pid, int starts)
{
    char key[41];
    it_agent_key(env, name, key);
    if (pid > 0) {
        int status = it_stop(env, pid, SIGTERM, 20000);
        assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    pid = it_start_agent(env, name, "    metrics_interval = 1h\n    ack_timeout = 1s\n");
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", env->dir, name);
    //  The agent logs "reporting to ... next seq N" once per start.
    assert_true(it_wait_file_count(log, "reporting to", starts, 30000));
    uint64_t last = it_agent_logged_next_seq(env, name);  // the Facts of this start
    assert_true(last > 0);

    char sql[512];
    snprintf(sql, sizeof sql, "SELECT acked_seq FROM agents WHERE key = '%s'", key);
    int64_t acked = it_wait_db(env, sql, (int64_t) last, 60000);
    assert_int_equal(acked, (int64_t) last);
    int status = it_stop(env, pid, SIGTERM, 20000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    int64_t id = s_agent_int(env, key, "id");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM metric_samples WHERE agent_id = %" PRId64, id);
    int64_t metrics = it_db_int(env, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT seq) FROM metric_samples WHERE agent_id = %" PRId64, id);
    int64_t distinct = it_db_int(env, sql);
    snprintf(sql, sizeof sql,
             "SELECT max(seq) FROM metric_samples WHERE agent_id = %" PRId64, id);
    int64_t max_seq = it_db_int(env, sql);
    int64_t dropped = s_agent_int(env, key, "dropped");
    fprintf(stderr, "%s: last seq %" PRIu64 ", %" PRId64 " metrics rows, %d starts, dropped %" PRId64 "\n",
            name, last, metrics, starts, dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(metrics, distinct);
    assert_true(max_seq < (int64_t) last);
    //  Every seq is either a metrics row or one of the Facts sent at each start.
    assert_int_equal(metrics + starts, (int64_t) last);
}
