/*  lpm_fixture — see lpm_fixture.h. */
#include "lpm_fixture.h"

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#define CONF_SIZE 65536

void lpm_write(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

void lpm_name(char *out, size_t size, int i) { snprintf(out, size, "lpar%02d", i + 1); }

//  A simulated partition, the agent config lines that point at it and its
//  hmcsim section appended to text.
static void s_partition(lpm_fixture_t *f, int i, char *conf_lines, size_t size, char *text,
                        size_t *used)
{
    it_env_t *env = &f->env;
    char name[16], dir[320], spool[400], pid[400];
    lpm_name(name, sizeof name, i);
    it_path(env, dir, sizeof dir, name);
    char *create[] = { "ferry-simlpar", "create", dir, "--name", name, "--number", "5", "--serial",
                       "21C48FV", NULL };
    assert_int_equal(it_run(env, "simlpar", 30000, create), 0);
    snprintf(spool, sizeof spool, "%s/%s-spool", env->dir, name);
    snprintf(pid, sizeof pid, "%s/%s.pid", env->dir, name);
    //  No periodic identity probe (lpm-post probes): the agent runs it on its
    //  loop, a stall as long as the command, which a loaded machine makes
    //  longer than the blackout the tests measure.
    int lines = snprintf(conf_lines, size,
             "    platform = aix\n    bin_dir = %s/bin\n    etc_root = %s\n    proc_root = %s/proc\n"
             "    pid_file = %s\n    heartbeat = 1s\n    metrics_interval = 5s\n"
             "    identity_interval = 1h\n",
             dir, dir, dir, pid);
    assert_true(lines > 0 && (size_t) lines < size);
    const char *fault = f->opts.partition_fault[i];
    int n = snprintf(text + *used, CONF_SIZE - *used,
                     "partition\n    name = %s\n    system = P8-OLD\n    simlpar = %s\n"
                     "    agent_spool = %s\n    agent_pid_file = %s\n%s%s",
                     name, dir, spool, pid, fault ? "    fault\n" : "", fault ? fault : "");
    assert_true(n > 0 && (size_t) n < CONF_SIZE - *used);
    *used += (size_t) n;
}

lpm_fixture_t *lpm_setup(const lpm_options_t *opts)
{
    lpm_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->opts = *opts;
    if (!f->opts.partitions)
        f->opts.partitions = 6;
    if (!f->opts.max_active)
        f->opts.max_active = 2;
    if (!f->opts.blackout_ms)
        f->opts.blackout_ms = 300;
    if (!f->opts.job_duration)
        f->opts.job_duration = "1s";
    assert_true(f->opts.partitions > 0 && f->opts.partitions <= LPM_MAX_PARTITIONS);
    it_env_t *env = &f->env;
    it_setup(env);
    char tls[320], conf[320], port_file[320], pw[320];
    char *text = malloc(CONF_SIZE);
    assert_non_null(text);
    it_path(env, tls, sizeof tls, "tls");
    assert_int_equal(mkdir(tls, 0700), 0);
    char *gencert[] = { "ferry-hmcsim", "gencert", tls, NULL };
    assert_int_equal(it_run(env, "gencert", 30000, gencert), 0);
    it_path(env, pw, sizeof pw, "hmc.pw");
    lpm_write(pw, "abc123\n", 0600);
    it_path(env, f->token, sizeof f->token, "api.token");
    lpm_write(f->token, "s3cr3t-token\n", 0600);
    it_path(env, f->stats, sizeof f->stats, "hmcsim-stats.json");
    it_path(env, port_file, sizeof port_file, "hmc.port");
    int max = f->opts.max_active;
    size_t used = (size_t) snprintf(
        text, CONF_SIZE,
        "hmcsim\n    port = 0\n    port_file = %s\n    cert_file = %s/cert.pem\n"
        "    key_file = %s/key.pem\n    user = hscroot\n    password_file = %s\n"
        "    stats_file = %s\n    job_duration = %s\n    blackout = %dms\n"
        "%s%s"
        "system\n    name = P8-OLD\n    serial = 21C48FV\n    max_active_migrations = %d\n"
        "system\n    name = P10-A\n    serial = 78AB12C\n    max_active_migrations = %d\n"
        "system\n    name = P10-B\n    serial = 78CD34E\n    max_active_migrations = %d\n",
        port_file, tls, tls, pw, f->stats, f->opts.job_duration, f->opts.blackout_ms,
        f->opts.hmcsim_fault ? "fault\n" : "", f->opts.hmcsim_fault ? f->opts.hmcsim_fault : "",
        max, max, max);
    char (*agent_conf)[1024] = calloc((size_t) f->opts.partitions, sizeof *agent_conf);
    assert_non_null(agent_conf);
    for (int i = 0; i < f->opts.partitions; i++)
        s_partition(f, i, agent_conf[i], sizeof agent_conf[i], text, &used);
    it_path(env, conf, sizeof conf, "hmcsim.conf");
    lpm_write(conf, text, 0600);
    free(text);
    char *run[] = { "ferry-hmcsim", "-c", conf, NULL };
    f->hmcsim = it_spawn(env, "hmcsim", run);
    assert_true(it_wait_file(port_file, "\n", 30000));
    FILE *file = fopen(port_file, "r");
    assert_non_null(file);
    assert_int_equal(fscanf(file, "%d", &f->hmc_port), 1);
    fclose(file);

    f->api_port = it_free_port();
    snprintf(f->collector_conf, sizeof f->collector_conf,
             "hmc\n    name = hmc1\n    url = https://127.0.0.1:%d\n    user = hscroot\n"
             "    password_file = %s\n    ca_file = %s/cert.pem\n"
             "api\n    port = %d\n    token_file = %s\n%s",
             f->hmc_port, pw, tls, f->api_port, f->token,
             f->opts.collector_extra ? f->opts.collector_extra : "");
    it_start_collector(env, f->collector_conf);
    for (int i = 0; i < f->opts.partitions; i++) {
        char name[16];
        lpm_name(name, sizeof name, i);
        f->agents[i] = it_start_agent(env, name, agent_conf[i]);
    }
    free(agent_conf);
    //  Every agent reports its partition before a plan starts.
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM facts_current", f->opts.partitions,
                                60000 + 2000 * f->opts.partitions),
                     f->opts.partitions);
    return f;
}

void lpm_teardown(lpm_fixture_t *f)
{
    if (!f)
        return;
    it_teardown(&f->env);
    free(f);
}

int lpm_ferryctl(lpm_fixture_t *f, const char *log, const char *a1, const char *a2, const char *a3)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->api_port);
    char *argv[] = { "ferryctl", "--url", url, "--token-file", f->token, (char *) a1, (char *) a2,
                     (char *) a3, NULL };
    return it_run(&f->env, log, 60000, argv);
}

int64_t lpm_submit_plan(lpm_fixture_t *f, const char *name, int64_t outage_budget_ms)
{
    it_env_t *env = &f->env;
    size_t size = 256 + 80 * (size_t) f->opts.partitions;
    char *plan = malloc(size);
    assert_non_null(plan);
    int used = snprintf(plan, size,
                        "{\"name\": \"%s\", \"hmc\": \"hmc1\", \"outage_budget_ms\": %" PRId64 ","
                        " \"concurrency\": {\"per_system\": %d}, \"moves\": [",
                        name, outage_budget_ms, f->opts.max_active);
    for (int i = 0; i < f->opts.partitions; i++) {
        char part[16];
        lpm_name(part, sizeof part, i);
        used += snprintf(plan + used, size - (size_t) used,
                         "%s{\"partition\": \"%s\", \"to\": \"P10-B\"%s}", i ? ", " : "", part,
                         i % 2 ? ", \"via\": [\"P10-A\"]" : "");
    }
    snprintf(plan + used, size - (size_t) used, "]}");
    char plan_path[320], file[64], sql[256];
    snprintf(file, sizeof file, "plan-%s.json", name);
    it_path(env, plan_path, sizeof plan_path, file);
    lpm_write(plan_path, plan, 0644);
    free(plan);
    assert_int_equal(lpm_ferryctl(f, "submit", "plan", "submit", plan_path), 0);
    snprintf(sql, sizeof sql, "SELECT id FROM plans WHERE name = '%s'", name);
    int64_t id = it_db_int(env, sql);
    assert_true(id > 0);
    return id;
}

void lpm_start_plan(lpm_fixture_t *f, int64_t plan_id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, plan_id);
    assert_int_equal(lpm_ferryctl(f, "start", "plan", "start", ids), 0);
}

void lpm_show_plan(lpm_fixture_t *f, int64_t plan_id)
{
    char ids[32], show[512];
    snprintf(ids, sizeof ids, "%" PRId64, plan_id);
    lpm_ferryctl(f, "show", "plan", "show", ids);
    snprintf(show, sizeof show, "%s/show.log", f->env.dir);
    fprintf(stderr, "plan %" PRId64 ": see %s (FERRY_KEEP_TEST_DIR=1 keeps it)\n", plan_id, show);
}

int64_t lpm_wait_final(lpm_fixture_t *f, int64_t plan_id, int timeout_ms)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM moves WHERE plan_id = %" PRId64 " AND state IN ('verified',"
             " 'failed', 'blocked', 'aborted', 'validated')",
             plan_id);
    return it_wait_db(&f->env, sql, f->opts.partitions, timeout_ms);
}

int64_t lpm_count_state(lpm_fixture_t *f, int64_t plan_id, const char *state)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM moves WHERE plan_id = %" PRId64 " AND state = '%s'", plan_id,
             state);
    return it_db_int(&f->env, sql);
}

void lpm_move_text(lpm_fixture_t *f, int64_t plan_id, const char *partition, const char *column,
                   char *out, size_t size)
{
    out[0] = '\0';
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(f->env.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 5000);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM moves WHERE plan_id = ? AND partition = ?", column);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, plan_id);
        sqlite3_bind_text(stmt, 2, partition, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
            snprintf(out, size, "%s", (const char *) sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

void lpm_stop_collector(lpm_fixture_t *f, int sig)
{
    assert_true(f->env.collector > 0);
    assert_true(it_stop(&f->env, f->env.collector, sig, 30000) >= 0);
    f->env.collector = 0;
}

void lpm_restart_collector(lpm_fixture_t *f)
{
    it_start_collector(&f->env, f->collector_conf);
}

json_t *lpm_stop_hmcsim_stats(lpm_fixture_t *f)
{
    assert_true(f->hmcsim > 0);
    int status = it_stop(&f->env, f->hmcsim, SIGTERM, 30000);
    assert_true(status >= 0);
    f->hmcsim = 0;
    json_error_t error;
    json_t *stats = json_load_file(f->stats, 0, &error);
    if (!stats)
        fprintf(stderr, "stats %s: %s\n", f->stats, error.text);
    assert_non_null(stats);
    return stats;
}

json_t *lpm_stats_partition(json_t *stats, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(stats, "partitions"), i, item) {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

//  Granularity of the outage measurement below the real stop: the agent's
//  fast heartbeat and stall tick in a move window (50 ms).
#define S_OUTAGE_BELOW_MS 50
//  Commands the agent starts this soon after it answered lpm-post count as
//  started on resuming (its identity probe, right after the answer).
#define S_RESUME_CALLS_MS 1000

//  End of the last fake AIX command of the partition started in [from, to]
//  (calls.log lines "CMD START END EXIT"); 0 when none.
static int64_t s_calls_end(const char *simlpar, int64_t from, int64_t to)
{
    char path[512], line[256], cmd[128];
    snprintf(path, sizeof path, "%s/state/calls.log", simlpar);
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    int64_t last = 0;
    while (fgets(line, sizeof line, file)) {
        long long start, end;
        if (sscanf(line, "%127s %lld %lld", cmd, &start, &end) == 3 && start >= from
            && start <= to && end > last)
            last = end;
    }
    fclose(file);
    return last;
}

int lpm_outage_bounds(json_t *stats, const char *name, const char *simlpar, int64_t *low,
                      int64_t *high)
{
    int64_t stop_max = -1, busy_max = -1;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(stats, "moves"), i, m) {
        const char *part = json_string_value(json_object_get(m, "partition"));
        int64_t start = json_integer_value(json_object_get(m, "blackout_start_ms"));
        int64_t end = json_integer_value(json_object_get(m, "blackout_end_ms"));
        int64_t resumed = json_integer_value(json_object_get(m, "resumed_ms"));
        int64_t completed = json_integer_value(json_object_get(m, "completed_ms"));
        if (!part || strcmp(part, name) != 0 || start <= 0 || end < start)
            continue;
        //  No answer to lpm-post (notify time-out): it ran again by the job's end.
        int64_t back = resumed >= end ? resumed : completed;
        //  From the stop on: a command's creation time is known to a few
        //  10 ms ticks only, and none can start while the agent is stopped.
        int64_t busy = simlpar ? s_calls_end(simlpar, start, back + S_RESUME_CALLS_MS) : 0;
        if (busy < back)
            busy = back;
        if (end - start > stop_max)
            stop_max = end - start;
        if (busy - start > busy_max)
            busy_max = busy - start;
    }
    if (stop_max < 0)
        return -1;
    *low = stop_max - S_OUTAGE_BELOW_MS;
    *high = busy_max + LPM_OUTAGE_SLACK_MS;
    fprintf(stderr, "%s: stopped %" PRId64 " ms, back and idle %" PRId64 " ms after the stop\n",
            name, stop_max, busy_max);
    return 0;
}
