/*  Integration: an LPM plan end to end through the real binaries — ferry-hmcsim
    (HTTPS HMC), simulated AIX partitions each with a real ferry-agent, the
    collector with its planner and HTTP API, and ferryctl. Half the partitions
    move directly, half through a staging system; every move must be verified
    from inside the partition, concurrency must stay within the limits the
    simulator records, and the measured outage must match the injected
    blackout. */
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
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#define PARTITIONS 6            // per run; half direct, half via staging
#define BLACKOUT_MS 300         // injected by the simulator
#define MAX_ACTIVE 2            // MaximumActiveMigrations of every system

typedef struct {
    it_env_t env;               // collector, temp dir
    int hmc_port;               // the simulator's HTTPS port
    int api_port;               // the collector's HTTP API port
    char token[320];            // API token file
    char stats[320];            // simulator stats file (written at its exit)
    pid_t hmcsim;               // the simulator
    pid_t agents[PARTITIONS];   // one agent per partition
} fixture_t;

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

static void s_name(char *out, size_t size, int i) { snprintf(out, size, "lpar%02d", i + 1); }

//  A simulated partition and the agent config lines that point at it.
static void s_partition(fixture_t *f, int i, char *conf_lines, size_t size, char *hmc_lines,
                        size_t hsize)
{
    it_env_t *env = &f->env;
    char name[16], dir[320], spool[400], pid[400];
    s_name(name, sizeof name, i);
    it_path(env, dir, sizeof dir, name);
    char *create[] = { "ferry-simlpar", "create", dir, "--name", name, "--number", "5", "--serial",
                       "21C48FV", NULL };
    assert_int_equal(it_run(env, "simlpar", 30000, create), 0);
    snprintf(spool, sizeof spool, "%s/%s-spool", env->dir, name);
    snprintf(pid, sizeof pid, "%s/%s.pid", env->dir, name);
    snprintf(conf_lines, size,
             "    platform = aix\n    bin_dir = %s/bin\n    etc_root = %s\n    proc_root = %s/proc\n"
             "    pid_file = %s\n    heartbeat = 1s\n    metrics_interval = 5s\n",
             dir, dir, dir, pid);
    snprintf(hmc_lines, hsize,
             "partition\n    name = %s\n    system = P8-OLD\n    simlpar = %s\n"
             "    agent_spool = %s\n    agent_pid_file = %s\n",
             name, dir, spool, pid);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    it_env_t *env = &f->env;
    it_setup(env);
    char tls[320], conf[320], port_file[320], pw[320], text[16384];
    it_path(env, tls, sizeof tls, "tls");
    assert_int_equal(mkdir(tls, 0700), 0);
    char *gencert[] = { "ferry-hmcsim", "gencert", tls, NULL };
    assert_int_equal(it_run(env, "gencert", 30000, gencert), 0);
    it_path(env, pw, sizeof pw, "hmc.pw");
    s_write(pw, "abc123\n", 0600);
    it_path(env, f->token, sizeof f->token, "api.token");
    s_write(f->token, "s3cr3t-token\n", 0600);
    it_path(env, f->stats, sizeof f->stats, "hmcsim-stats.json");
    it_path(env, port_file, sizeof port_file, "hmc.port");
    int used = snprintf(text, sizeof text,
                        "hmcsim\n    port = 0\n    port_file = %s\n    cert_file = %s/cert.pem\n"
                        "    key_file = %s/key.pem\n    user = hscroot\n    password_file = %s\n"
                        "    stats_file = %s\n    job_duration = 1s\n    blackout = %dms\n"
                        "system\n    name = P8-OLD\n    serial = 21C48FV\n    max_active_migrations = %d\n"
                        "system\n    name = P10-A\n    serial = 78AB12C\n    max_active_migrations = %d\n"
                        "system\n    name = P10-B\n    serial = 78CD34E\n    max_active_migrations = %d\n",
                        port_file, tls, tls, pw, f->stats, BLACKOUT_MS, MAX_ACTIVE, MAX_ACTIVE,
                        MAX_ACTIVE);
    char agent_conf[PARTITIONS][1024];
    for (int i = 0; i < PARTITIONS; i++) {
        s_partition(f, i, agent_conf[i], sizeof agent_conf[i], text + used,
                    sizeof text - (size_t) used);
        used += (int) strlen(text + used);
    }
    it_path(env, conf, sizeof conf, "hmcsim.conf");
    s_write(conf, text, 0600);
    char *run[] = { "ferry-hmcsim", "-c", conf, NULL };
    f->hmcsim = it_spawn(env, "hmcsim", run);
    assert_true(it_wait_file(port_file, "\n", 30000));
    FILE *file = fopen(port_file, "r");
    assert_int_equal(fscanf(file, "%d", &f->hmc_port), 1);
    fclose(file);

    f->api_port = it_free_port();
    char collector_extra[2048];
    snprintf(collector_extra, sizeof collector_extra,
             "hmc\n    name = hmc1\n    url = https://127.0.0.1:%d\n    user = hscroot\n"
             "    password_file = %s\n    ca_file = %s/cert.pem\n"
             "api\n    port = %d\n    token_file = %s\n",
             f->hmc_port, pw, tls, f->api_port, f->token);
    it_start_collector(env, collector_extra);
    for (int i = 0; i < PARTITIONS; i++) {
        char name[16];
        s_name(name, sizeof name, i);
        f->agents[i] = it_start_agent(env, name, agent_conf[i]);
    }
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

static int s_ferryctl(fixture_t *f, const char *log, const char *a1, const char *a2, const char *a3)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->api_port);
    char *argv[] = { "ferryctl", "--url", url, "--token-file", f->token, (char *) a1, (char *) a2,
                     (char *) a3, NULL };
    return it_run(&f->env, log, 60000, argv);
}

static void test_plan_moves_all_verified(void **state)
{
    fixture_t *f = *state;
    it_env_t *env = &f->env;
    //  Every agent reports its partition before the plan starts.
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM facts_current", PARTITIONS, 60000),
                     PARTITIONS);

    char plan_path[320], plan[8192];
    int used = snprintf(plan, sizeof plan,
                        "{\"name\": \"wave1\", \"hmc\": \"hmc1\", \"outage_budget_ms\": 2000,"
                        " \"concurrency\": {\"per_system\": %d}, \"moves\": [", MAX_ACTIVE);
    for (int i = 0; i < PARTITIONS; i++) {
        char name[16];
        s_name(name, sizeof name, i);
        used += snprintf(plan + used, sizeof plan - (size_t) used,
                         "%s{\"partition\": \"%s\", \"to\": \"P10-B\"%s}", i ? ", " : "", name,
                         i % 2 ? ", \"via\": [\"P10-A\"]" : "");
    }
    snprintf(plan + used, sizeof plan - (size_t) used, "]}");
    it_path(env, plan_path, sizeof plan_path, "plan.json");
    s_write(plan_path, plan, 0644);
    assert_int_equal(s_ferryctl(f, "submit", "plan", "submit", plan_path), 0);
    int64_t id = it_db_int(env, "SELECT id FROM plans WHERE name = 'wave1'");
    assert_true(id > 0);
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    assert_int_equal(s_ferryctl(f, "start", "plan", "start", ids), 0);

    const char *done = "SELECT count(*) FROM moves WHERE state IN ('verified', 'failed', 'blocked',"
                       " 'aborted')";
    assert_int_equal(it_wait_db(env, done, PARTITIONS, 240000), PARTITIONS);
    int64_t verified = it_db_int(env, "SELECT count(*) FROM moves WHERE state = 'verified'");
    if (verified != PARTITIONS) {
        char show[512];
        s_ferryctl(f, "show", "plan", "show", ids);
        snprintf(show, sizeof show, "%s/show.log", env->dir);
        fprintf(stderr, "not all verified; see %s\n", show);
    }
    assert_int_equal(verified, PARTITIONS);
    //  The measured outage is the injected blackout, give or take 100 ms.
    int64_t low = it_db_int(env, "SELECT min(outage_ms) FROM moves");
    int64_t high = it_db_int(env, "SELECT max(outage_ms) FROM moves");
    fprintf(stderr, "outage measured: %" PRId64 "..%" PRId64 " ms for a %d ms blackout\n", low,
            high, BLACKOUT_MS);
    assert_true(low >= BLACKOUT_MS - 100 && high <= BLACKOUT_MS + 100);
    //  Every agent now reports the target system's serial.
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM facts_current WHERE"
                                    " json_extract(json, '$.system.serial') = '78CD34E'"),
                     PARTITIONS);

    assert_int_equal(s_ferryctl(f, "report", "plan", "report", ids), 0);
    char report[512];
    snprintf(report, sizeof report, "%s/report.log", env->dir);
    assert_true(it_wait_file(report, "LPM (measured)", 0));
    assert_true(it_wait_file(report, "P10-A", 0));

    //  What the HMC saw: one Migrate per hop, never above the limit.
    int status = it_stop(env, f->hmcsim, SIGTERM, 30000);
    assert_true(status >= 0);
    json_error_t error;
    json_t *stats = json_load_file(f->stats, 0, &error);
    assert_non_null(stats);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(stats, "partitions"), i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        int index = atoi(name + 4) - 1;
        assert_int_equal(json_integer_value(json_object_get(item, "migrate_submissions")),
                         index % 2 ? 2 : 1);
    }
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
