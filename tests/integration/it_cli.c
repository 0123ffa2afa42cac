/*  Integration: the command lines of ferry-agent and ferry-collector, and
    their refusals to start on unsafe files or bad configuration. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static int s_setup(void **state)
{
    it_env_t *env = calloc(1, sizeof *env);
    it_setup(env);
    *state = env;
    return 0;
}

static int s_teardown(void **state)
{
    it_teardown(*state);
    free(*state);
    return 0;
}

static void s_log(it_env_t *env, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.log", env->dir, name);
}

static void test_version_and_usage(void **state)
{
    it_env_t *env = *state;
    char log[512];
    char *agent_version[] = { "ferry-agent", "--version", NULL };
    assert_int_equal(it_run(env, "version", 10000, agent_version), 0);
    char *collector_version[] = { "ferry-collector", "--version", NULL };
    assert_int_equal(it_run(env, "version", 10000, collector_version), 0);
    s_log(env, "version", log, sizeof log);
    assert_true(it_wait_file(log, "ferry-agent " FERRY_VERSION, 0));
    assert_true(it_wait_file(log, "ferry-collector " FERRY_VERSION, 0));
    char *bad[] = { "ferry-agent", "frobnicate", NULL };
    assert_int_equal(it_run(env, "usage", 10000, bad), 2);
    char *bad_collector[] = { "ferry-collector", "--bogus", NULL };
    assert_int_equal(it_run(env, "usage", 10000, bad_collector), 2);
}

static void test_keygen_modes(void **state)
{
    it_env_t *env = *state;
    char keys[320], secret[400], pub[400];
    it_path(env, keys, sizeof keys, "k");
    char *argv[] = { "ferry-agent", "keygen", keys, NULL };
    assert_int_equal(it_run(env, "keygen", 10000, argv), 0);
    snprintf(secret, sizeof secret, "%s/agent.cert_secret", keys);
    snprintf(pub, sizeof pub, "%s/agent.cert", keys);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0044);
    //  Never overwrite an existing key.
    assert_int_equal(it_run(env, "keygen2", 10000, argv), 1);
}

//  Start an agent that must refuse to run; returns its exit code.
static int s_agent_exit(it_env_t *env, const char *name, const char *extra)
{
    pid_t pid = it_start_agent(env, name, extra);
    int status = it_stop(env, pid, 0, 20000);
    assert_true(status >= 0 && WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_agent_refuses_open_spool(void **state)
{
    it_env_t *env = *state;
    char spool[320], log[512];
    it_agent_keygen(env, "a", true);
    it_path(env, spool, sizeof spool, "a-spool");
    assert_int_equal(mkdir(spool, 0755), 0);
    assert_int_equal(chmod(spool, 0755), 0);
    assert_int_equal(s_agent_exit(env, "a", NULL), 1);
    s_log(env, "a", log, sizeof log);
    assert_true(it_wait_file(log, "a-spool", 0));
    assert_true(it_wait_file(log, "group/others", 0));
}

static void test_agent_refuses_open_key(void **state)
{
    it_env_t *env = *state;
    char secret[400], log[512];
    it_agent_keygen(env, "b", true);
    snprintf(secret, sizeof secret, "%s/b-keys/agent.cert_secret", env->dir);
    assert_int_equal(chmod(secret, 0644), 0);
    assert_int_equal(s_agent_exit(env, "b", NULL), 1);
    s_log(env, "b", log, sizeof log);
    assert_true(it_wait_file(log, "agent.cert_secret", 0));
}

static void test_bad_config_values(void **state)
{
    it_env_t *env = *state;
    char log[512];
    assert_int_equal(s_agent_exit(env, "c", "    spool_max = 12Q\n"), 1);
    s_log(env, "c", log, sizeof log);
    assert_true(it_wait_file(log, "spool_max", 0));
    assert_int_equal(s_agent_exit(env, "d", "    heartbeat = -5s\n"), 1);
    s_log(env, "d", log, sizeof log);
    assert_true(it_wait_file(log, "heartbeat", 0));
}

//  ferryctl refuses a token file everyone can read, before any request;
//  a group may share it.
static void test_ferryctl_token_mode(void **state)
{
    it_env_t *env = *state;
    char token[320], log[512];
    it_path(env, token, sizeof token, "api.token");
    FILE *file = fopen(token, "w");
    assert_non_null(file);
    fputs("s3cr3t-token\n", file);
    fclose(file);
    //  Nothing listens there: a refused token never gets that far.
    char *argv[] = { "ferryctl", "--url", "http://127.0.0.1:9", "--token-file", token,
                     "agents", NULL };
    assert_int_equal(chmod(token, 0644), 0);
    assert_int_equal(it_run(env, "ferryctl-open", 10000, argv), 1);
    s_log(env, "ferryctl-open", log, sizeof log);
    assert_true(it_wait_file(log, "readable by others (mode 0644): chmod o-rwx", 0));
    assert_false(it_wait_file(log, "s3cr3t", 0));
    assert_int_equal(chmod(token, 0640), 0);
    assert_int_equal(it_run(env, "ferryctl-group", 10000, argv), 1);
    s_log(env, "ferryctl-group", log, sizeof log);
    assert_false(it_wait_file(log, "by others", 0));
    assert_true(it_wait_file(log, "127.0.0.1:9", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_and_usage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_keygen_modes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_open_spool, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_open_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ferryctl_token_mode, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
