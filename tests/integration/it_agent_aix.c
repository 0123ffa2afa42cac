/*  Integration: the real agent on a simulated AIX partition (fake AIX
    commands over a state directory) reporting to a real collector: facts,
    a move seen through its serial, a reboot seen through its boot id, and a
    stall measured while the agent is stopped. */
#include "harness.h"

#include "clock.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct {
    it_env_t env;           // collector, temp dir
    char lpar[320];         // simulated partition directory
    char extra[2048];       // agent config lines for the aix platform
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    it_setup(&f->env);
    it_path(&f->env, f->lpar, sizeof f->lpar, "lpar1");
    char *argv[] = { "ferry-simlpar", "create", f->lpar, "--name", "Web Server", "--serial",
                     "21C48FV", "--prefix", "02", NULL };
    assert_int_equal(it_run(&f->env, "simlpar", 30000, argv), 0);
    snprintf(f->extra, sizeof f->extra,
             "    platform = aix\n"
             "    bin_dir = %s/bin\n"
             "    etc_root = %s\n"
             "    proc_root = %s/proc\n"
             "    heartbeat = 100ms\n"
             "    metrics_interval = 1s\n"
             "    identity_interval = 1h\n"
             "    facts_interval = 1h\n",
             f->lpar, f->lpar, f->lpar);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    it_teardown(&f->env);
    free(f);
    return 0;
}

static int s_simlpar_set(fixture_t *f, const char *key, const char *value)
{
    char *argv[] = { "ferry-simlpar", "set", f->lpar, (char *) key, (char *) value, NULL };
    return it_run(&f->env, "simlpar", 30000, argv);
}

static int s_notify(fixture_t *f, const char *event)
{
    char conf[512];
    snprintf(conf, sizeof conf, "%s/lpar1.conf", f->env.dir);
    char *argv[] = { "ferry-agent", "notify", (char *) event, "-c", conf, NULL };
    return it_run(&f->env, "notify", 30000, argv);
}

static void test_facts_and_move(void **state)
{
    fixture_t *f = *state;
    it_env_t *env = &f->env;
    it_start_collector(env, "    seen_flush = 50ms\n");
    pid_t agent = it_start_agent(env, "lpar1", f->extra);
    //  Facts as the fake AIX commands describe the partition.
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM facts_current WHERE"
                                     " json_extract(json, '$.system.serial') = '21C48FV'"
                                     " AND json_extract(json, '$.partition.name') = 'Web Server'"
                                     " AND json_extract(json, '$.os.level') = '7200-05-03-2148'"
                                     " AND json_array_length(json, '$.warnings') = 0", 1, 30000), 1);

    //  The HMC moved the partition: the serial changes, the hook says post.
    assert_int_equal(s_simlpar_set(f, "serial", "21C48FW"), 0);
    int64_t before = clock_wall_ms();
    assert_int_equal(s_notify(f, "lpm-post"), 0);
    const char *moved = "SELECT count(*) FROM events WHERE kind = 'serial_changed'"
                        " AND json_extract(attrs_json, '$.old') = '21C48FV'"
                        " AND json_extract(attrs_json, '$.new') = '21C48FW'"
                        " AND json_extract(attrs_json, '$.detected_by') = 'lpm-post'";
    assert_int_equal(it_wait_db(env, moved, 1, 10000), 1);
    int64_t stored = it_db_int(env, "SELECT stored_ms FROM events WHERE kind = 'serial_changed'");
    fprintf(stderr, "serial_changed stored %" PRId64 " ms after the notify started\n",
            stored - before);
    //  The notify drove it (detected_by says so; the periodic identity check
    //  is an hour away): how fast is a figure for the log, not a window a
    //  loaded machine can miss.
    assert_true(stored >= before);
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM events WHERE kind = 'lpm_phase'"
                                    " AND json_extract(attrs_json, '$.phase') = 'post'"), 1);

    //  The drmgr hook form (Linux on Power): no arguments, PHASE in the env.
    char conf[512];
    snprintf(conf, sizeof conf, "%s/lpar1.conf", env->dir);
    setenv("FERRY_AGENT_CONFIG", conf, 1);
    setenv("DRC_TYPE", "pmig", 1);
    setenv("PHASE", "pre", 1);
    char *hook[] = { "ferry-agent", NULL };
    assert_int_equal(it_run(env, "hook", 30000, hook), 0);
    unsetenv("DRC_TYPE");
    unsetenv("PHASE");
    unsetenv("FERRY_AGENT_CONFIG");
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM events WHERE kind = 'lpm_phase'"
                                     " AND json_extract(attrs_json, '$.phase') = 'pre'", 1, 10000), 1);

    //  `ferry-agent facts` prints the same partition.
    char bin[400], etc[400], proc[400];
    snprintf(bin, sizeof bin, "%s/bin", f->lpar);
    snprintf(etc, sizeof etc, "%s", f->lpar);
    snprintf(proc, sizeof proc, "%s/proc", f->lpar);
    char *facts[] = { "ferry-agent", "facts", "--platform", "aix", "--bin-dir", bin, "--etc-root",
                      etc, "--proc-root", proc, NULL };
    assert_int_equal(it_run(env, "facts", 30000, facts), 0);
    char out[512];
    snprintf(out, sizeof out, "%s/facts.log", env->dir);
    assert_true(it_wait_file(out, "\"serial\": \"21C48FW\"", 0));
    assert_true(it_wait_file(out, "\"name\": \"Web Server\"", 0));
    char *bad[] = { "ferry-agent", "facts", "--platform", "hpux", NULL };
    assert_int_equal(it_run(env, "facts-bad", 30000, bad), 2);
    //  The facts follow the move (the full re-read waits 1 to 6 s).
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM facts_current WHERE"
                                     " json_extract(json, '$.system.serial') = '21C48FW'", 1, 20000), 1);

    //  A reboot: new boot id, agent restarted by the boot.
    int status = it_stop(env, agent, SIGTERM, 20000);
    assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(s_simlpar_set(f, "boot_id", "0b5e7a1d-0000-4000-8000-00000000b007"), 0);
    agent = it_start_agent(env, "lpar1", f->extra);
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM events WHERE kind = 'booted' AND"
                                     " json_extract(attrs_json, '$.boot_id') ="
                                     " '0b5e7a1d-0000-4000-8000-00000000b007' AND"
                                     " json_extract(attrs_json, '$.previous_boot_id') <> ''",
                                1, 30000), 1);
    it_stop(env, agent, SIGTERM, 20000);
}

static void test_stall_measured(void **state)
{
    fixture_t *f = *state;
    it_env_t *env = &f->env;
    it_start_collector(env, "    seen_flush = 50ms\n");
    pid_t agent = it_start_agent(env, "lpar1", f->extra);
    assert_true(it_wait_db(env, "SELECT count(*) FROM agents WHERE heartbeat_interval_ms = 100",
                           1, 30000) == 1);
    //  The blackout being measured, not a synchronisation wait.
    kill(agent, SIGSTOP);
    struct timespec blackout = { 0, 300 * 1000000L };
    nanosleep(&blackout, NULL);
    kill(agent, SIGCONT);
    int64_t stall = it_wait_db(env, "SELECT max(stall_ms) FROM agents", 200, 10000);
    fprintf(stderr, "stall reported: %" PRId64 " ms for a 300 ms SIGSTOP\n", stall);
    //  With a 100 ms heartbeat the stall tick runs at the heartbeat's pace:
    //  the stop is known to within one tick (it may begin just before one).
    assert_true(stall >= 200 && stall <= 700);
    char log[512];
    snprintf(log, sizeof log, "%s/lpar1.log", env->dir);
    assert_true(it_wait_file(log, "stall: the agent did not run for", 5000));
    it_stop(env, agent, SIGTERM, 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_facts_and_move, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stall_measured, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
