/*  Integration: the command lines of ferry-agent, ferry-collector and
    ferryctl, their refusals to start on unsafe files or bad configuration,
    and ferryctl against a real collector's API (plans refused with every
    problem listed, values never measured shown as "-"). */
#include "harness.h"

#include "clock.h"

#include <sqlite3.h>

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
    //  A typo is refused, not left at its default.
    assert_int_equal(s_agent_exit(env, "e", "    heartbaet = 1s\n"), 1);
    s_log(env, "e", log, sizeof log);
    assert_true(it_wait_file(log, "agent/heartbaet: unknown key (did you mean \"heartbeat\"?)", 0));
    char conf[320];
    it_path(env, conf, sizeof conf, "typo-collector.conf");
    FILE *file = fopen(conf, "w");
    assert_non_null(file);
    fputs("collector\n    batch_wiat = 10ms\nplaner\n    poll = 1s\n", file);
    fclose(file);
    char *collector[] = { "ferry-collector", "-c", conf, NULL };
    assert_int_equal(it_run(env, "typo-collector", 10000, collector), 1);
    s_log(env, "typo-collector", log, sizeof log);
    assert_true(it_wait_file(log, "collector/batch_wiat: unknown key (did you mean \"batch_wait\"?)", 0));
    assert_true(it_wait_file(log, "planer: unknown section (did you mean \"planner\"?)", 0));
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

// ------------------------------------------------------------------ ferryctl and the API

typedef struct {
    char token[320];            // API token file
    char url[64];               // http://127.0.0.1:PORT
} s_api_t;

static char *s_slurp(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t len = fread(text, 1, (1 << 20) - 1, file);
    text[len] = '\0';
    fclose(file);
    return text;
}

//  Run ferryctl with args; its output (stdout and stderr) in a new string.
static char *s_ferryctl(it_env_t *env, const s_api_t *api, const char *logname, int want_exit,
                        const char *a1, const char *a2, const char *a3)
{
    char *argv[] = { "ferryctl", "--url", (char *) api->url, "--token-file",
                     (char *) api->token, (char *) a1, (char *) a2, (char *) a3, NULL };
    int rc = it_run(env, logname, 30000, argv);
    char log[512];
    s_log(env, logname, log, sizeof log);
    char *out = s_slurp(log);
    if (rc != want_exit)
        fail_msg("ferryctl %s %s: exit %d, want %d: %s", a1, a2, rc, want_exit, out);
    return out;
}

//  A collector with its API on; returns once the API answers.
static void s_start_api(it_env_t *env, s_api_t *api)
{
    it_path(env, api->token, sizeof api->token, "api.token");
    FILE *file = fopen(api->token, "w");
    assert_non_null(file);
    fputs("it-cli-token\n", file);
    fclose(file);
    assert_int_equal(chmod(api->token, 0600), 0);
    int port = it_free_port();
    snprintf(api->url, sizeof api->url, "http://127.0.0.1:%d", port);
    char extra[512];
    snprintf(extra, sizeof extra, "api\n    port = %d\n    token_file = %s\n", port, api->token);
    it_start_collector(env, extra);
    char *argv[] = { "ferryctl", "--url", api->url, "--token-file", api->token, "plan", "list",
                     NULL };
    int64_t deadline = clock_mono_ms() + 30000;
    while (it_run(env, "api-wait", 10000, argv) != 0) {
        if (clock_mono_ms() > deadline)
            fail_msg("the collector's API did not answer at %s", api->url);
        usleep(20000);
    }
}

//  Split line at blanks into at most max words of < 48 bytes; the count.
static int s_words(const char *line, char words[][48], int max)
{
    int n = 0;
    while (n < max) {
        while (*line == ' ')
            line++;
        if (*line == '\0' || *line == '\n')
            break;
        size_t len = strcspn(line, " \n");
        snprintf(words[n++], 48, "%.*s", (int) (len < 47 ? len : 47), line);
        line += len;
    }
    return n;
}

//  The words of the first line of text whose first word is first.
static int s_row(const char *text, const char *first, char words[][48], int max)
{
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int n = s_words(line, words, max);
        if (n > 0 && strcmp(words[0], first) == 0)
            return n;
    }
    fail_msg("no line starting with '%s' in:\n%s", first, text);
    return 0;
}

static void s_expect_words(const char *text, const char *first, const char *const want[])
{
    char words[16][48];
    int n = s_row(text, first, words, 16);
    int i = 0;
    for (; want[i]; i++)
        if (i >= n || strcmp(words[i], want[i]) != 0)
            fail_msg("'%s' row, word %d: '%s', want '%s':\n%s", first, i, i < n ? words[i] : "",
                     want[i], text);
    if (i != n)
        fail_msg("'%s' row: %d words, want %d:\n%s", first, n, i, text);
}

//  Plans and moves as the planner stores them today: a move blocked before
//  its first hop has started_ms 0, a finished_ms and outage_ms 0; NULL for
//  never measured; a negative outage is not a measurement either.
static void s_insert_plans(it_env_t *env)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 20000);
    char *error = NULL;
    int rc = sqlite3_exec(
        db,
        "INSERT INTO plans (id, name, hmc, doc, state, created_ms, started_ms, finished_ms)"
        " VALUES (1, 'wave 1 p8', 'hmc1', '{}', 'done_with_failures', 1700000000000,"
        "         1700000001000, 1700000400000),"
        "        (2, 'dry run', 'hmc1', '{}', 'failed', 1700000000000, NULL, NULL);"
        "INSERT INTO moves (plan_id, position, partition, route, state, started_ms, finished_ms,"
        " outage_ms, checks, message, updated_ms, submissions) VALUES"
        " (1, 0, 'lpar01', '[\"P10-B\"]', 'verified', 1700000001000, 1700000301000, 812,"
        "  '[[{\"name\": \"outage\", \"ok\": true}]]', '', 1, 1),"
        " (1, 1, 'lpar02', '[\"P10-B\"]', 'blocked', 0, 1700000002000, 0, '[]', 'RMC', 1, 0),"
        " (1, 2, 'lpar03', '[\"P10-B\"]', 'blocked', NULL, NULL, NULL, '[]', 'RMC', 1, 0),"
        " (1, 3, 'lpar04', '[\"P10-A\", \"P10-B\"]', 'failed', 1700000001000, 1700000061000,"
        "  -1, '[]', 'agent', 1, 1),"
        " (2, 0, 'lpar05', '[\"P10-B\"]', 'blocked', 0, 1700000002000, NULL, '[]', 'RMC', 1, 0);",
        NULL, NULL, &error);
    if (rc != SQLITE_OK)
        fail_msg("insert: %s", error ? error : "?");
    sqlite3_close(db);
}

//  What was never measured prints "-", and the summary leaves it out.
static void test_ferryctl_unmeasured(void **state)
{
    it_env_t *env = *state;
    s_api_t api;
    s_start_api(env, &api);
    s_insert_plans(env);

    char *out = s_ferryctl(env, &api, "report-1", 0, "plan", "report", "1");
    assert_non_null(strstr(out, "state done_with_failures"));
    s_expect_words(out, "lpar01", (const char *const[]){"lpar01", "P10-B", "5m", "00s", "812",
                                                        "1/1", "verified", NULL});
    s_expect_words(out, "lpar02", (const char *const[]){"lpar02", "P10-B", "-", "0", "0/0",
                                                        "blocked", NULL});
    s_expect_words(out, "lpar03", (const char *const[]){"lpar03", "P10-B", "-", "-", "0/0",
                                                        "blocked", NULL});
    s_expect_words(out, "lpar04", (const char *const[]){"lpar04", "P10-A", "->", "P10-B", "1m",
                                                        "00s", "-", "0/0", "failed", NULL});
    //  Durations of lpar01 and lpar04 only; outages of lpar01 and lpar02.
    s_expect_words(out, "LPM", (const char *const[]){"LPM", "(paper)", "-", "-", "-", "-", "none",
                                                     "none", "5-10", "min", "5-10", "min", NULL});
    char words[16][48];
    int n = s_row(strstr(out, "LPM (measured)"), "LPM", words, 16);
    const char *const measured[] = {"LPM", "(measured)", "4", "1", "1", "2", "0", "ms", "812",
                                    "ms", "1m", "00s", "5m", "00s"};
    assert_int_equal(n, 14);
    for (int i = 0; i < n; i++)
        if (strcmp(words[i], measured[i]) != 0)
            fail_msg("summary word %d: '%s', want '%s':\n%s", i, words[i], measured[i], out);
    free(out);

    //  Nothing measured at all: the summary says "-".
    out = s_ferryctl(env, &api, "report-2", 0, "plan", "report", "2");
    assert_non_null(strstr(out, "state failed"));
    assert_non_null(strstr(out, "started -  finished -"));
    s_expect_words(out, "lpar05", (const char *const[]){"lpar05", "P10-B", "-", "-", "0/0",
                                                        "blocked", NULL});
    n = s_row(strstr(out, "LPM (measured)"), "LPM", words, 16);
    const char *const none[] = {"LPM", "(measured)", "1", "0", "0", "1", "-", "-", "-", "-"};
    assert_int_equal(n, 10);
    for (int i = 0; i < n; i++)
        if (strcmp(words[i], none[i]) != 0)
            fail_msg("summary word %d: '%s', want '%s':\n%s", i, words[i], none[i], out);
    free(out);

    out = s_ferryctl(env, &api, "show-1", 0, "plan", "show", "1");
    assert_non_null(strstr(out, "plan 1  wave 1 p8  (hmc hmc1)  state done_with_failures"));
    //  POS PARTITION ROUTE HOP STATE SUBMISSIONS OUTAGE MESSAGE
    s_expect_words(out, "1", (const char *const[]){"1", "lpar02", "P10-B", "0", "blocked", "0",
                                                   "0", "RMC", NULL});
    s_expect_words(out, "2", (const char *const[]){"2", "lpar03", "P10-B", "0", "blocked", "0",
                                                   "-", "RMC", NULL});
    s_expect_words(out, "3", (const char *const[]){"3", "lpar04", "P10-A", "->", "P10-B", "0",
                                                   "failed", "1", "-", "agent", NULL});
    free(out);
}

//  A plan refused by the API lists every problem, past the old 1 KiB, with
//  the key meant for a misspelt one; a long list ends with the count of
//  the rest, not cut in the middle of a problem.
static void test_ferryctl_submit_refused(void **state)
{
    it_env_t *env = *state;
    s_api_t api;
    s_start_api(env, &api);
    char path[320];
    it_path(env, path, sizeof path, "typo.json");
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"name\": \"wave 1\", \"hmc\": \"hmc1\", \"valdiate_only\": true, \"moves\": [", file);
    for (int i = 0; i < 60; i++)
        fprintf(file, "%s{\"partition\": \"lpar%02d\", \"to\": \"P10-B\", \"vai\": [\"P10-A\"]}",
                i ? ", " : "", i);
    fputs("]}", file);
    fclose(file);
    char *out = s_ferryctl(env, &api, "submit-typo", 1, "plan", "submit", path);
    assert_non_null(strstr(out, "HTTP 400"));
    assert_non_null(strstr(out, "valdiate_only: unknown key (did you mean \"validate_only\"?)"));
    assert_non_null(strstr(out, "moves[0].vai: unknown key (did you mean \"via\"?)"));
    assert_non_null(strstr(out, "moves[59].vai: unknown key (did you mean \"via\"?)"));
    assert_null(strstr(out, "more problem"));
    assert_true(strlen(out) > 2048);
    free(out);

    file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"name\": \"wave 1\", \"hmc\": \"hmc1\", \"moves\": [", file);
    for (int i = 0; i < 2000; i++)
        fprintf(file, "%s{\"partition\": \"lpar%04d\", \"to\": \"P10-B\", \"vai\": []}",
                i ? ", " : "", i);
    fputs("]}", file);
    fclose(file);
    out = s_ferryctl(env, &api, "submit-many", 1, "plan", "submit", path);
    const char *tail = strstr(out, "; ... and ");
    assert_non_null(tail);
    int more = 0;
    assert_int_equal(sscanf(tail, "; ... and %d more problems", &more), 1);
    //  The problem before the tail is whole.
    char last[64];
    snprintf(last, sizeof last, "moves[%d].vai: unknown key (did you mean \"via\"?); ...",
             2000 - more - 1);
    assert_non_null(strstr(out, last));
    free(out);
    //  Nothing reached the planner.
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM plans"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_version_and_usage, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_keygen_modes, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_open_spool, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_open_key, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_values, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_ferryctl_token_mode, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_ferryctl_unmeasured, it_env_setup, it_env_teardown),
        cmocka_unit_test_setup_teardown(test_ferryctl_submit_refused, it_env_setup, it_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
