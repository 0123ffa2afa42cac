/*  Integration: an HMC that does not answer. The collector tries the HMC of
    its configuration at start, says once that it is unreachable (not at
    every retry), `ferryctl hmc` shows it, a plan's moves say why they wait;
    when the HMC comes up the state turns to up and the moves go on (here
    to "blocked": the partition is not on that HMC). */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clock.h"

typedef struct {
    it_env_t env;
    char tls[320];
    char password[320];
    char token[320];
    char api_url[64];
    int hmc_port;
} fixture_t;

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    it_setup(&f->env);
    it_path(&f->env, f->tls, sizeof f->tls, "tls");
    assert_int_equal(mkdir(f->tls, 0700), 0);
    char *gencert[] = { "ferry-hmcsim", "gencert", f->tls, NULL };
    assert_int_equal(it_run(&f->env, "gencert", 30000, gencert), 0);
    it_path(&f->env, f->password, sizeof f->password, "hmc.pw");
    s_write(f->password, "abc123\n", 0600);
    it_path(&f->env, f->token, sizeof f->token, "api.token");
    s_write(f->token, "s3cr3t-token\n", 0600);
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
    char *argv[] = { "ferryctl", "--url", f->api_url, "--token-file", f->token, (char *) a1,
                     (char *) a2, (char *) a3, NULL };
    return it_run(&f->env, log, 30000, argv);
}

//  `ferryctl --json hmc`, the first HMC's member key (a new reference), or
//  NULL when the call failed.
static json_t *s_hmc_member(fixture_t *f, const char *key)
{
    char log[512];
    it_path(&f->env, log, sizeof log, "hmc-json.log");
    unlink(log);
    if (s_ferryctl(f, "hmc-json", "--json", "hmc", NULL) != 0)
        return NULL;
    json_t *doc = json_load_file(log, 0, NULL);
    json_t *value = json_incref(json_object_get(json_array_get(json_object_get(doc, "hmcs"), 0), key));
    json_decref(doc);
    return value;
}

//  Poll until the HMC's state is want; false at the deadline.
static bool s_wait_state(fixture_t *f, const char *want, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    do {
        json_t *st = s_hmc_member(f, "state");
        bool ok = st && strcmp(json_string_value(st), want) == 0;
        json_decref(st);
        if (ok)
            return true;
        usleep(100000);
    } while (clock_mono_ms() < deadline);
    return false;
}

static int s_count_lines(const char *path, const char *needle)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return 0;
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, file))
        count += strstr(line, needle) != NULL;
    fclose(file);
    return count;
}

static void test_unreachable_hmc_is_seen_once_and_named(void **state)
{
    fixture_t *f = *state;
    it_env_t *env = &f->env;
    f->hmc_port = it_free_port();           // nothing listens there yet
    int api_port = it_free_port();
    snprintf(f->api_url, sizeof f->api_url, "http://127.0.0.1:%d", api_port);
    char extra[2048];
    snprintf(extra, sizeof extra,
             "hmc\n    name = hmc1\n    url = https://127.0.0.1:%d\n    user = hscroot\n"
             "    password_file = %s\n    ca_file = %s/cert.pem\n"
             "api\n    port = %d\n    token_file = %s\n",
             f->hmc_port, f->password, f->tls, api_port, f->token);
    it_start_collector(env, extra);

    //  Tried at start, with no plan asking for it.
    assert_true(s_wait_state(f, "unreachable", 30000));
    json_t *error = s_hmc_member(f, "last_error");
    assert_non_null(error);
    assert_true(strlen(json_string_value(error)) > 0);
    json_decref(error);

    //  A plan submitted now cannot be checked against an inventory: it is
    //  accepted, and the submission says so.
    char plan[320], submit_log[512];
    it_path(env, plan, sizeof plan, "plan.json");
    s_write(plan, "{\"name\": \"wave 1\", \"hmc\": \"hmc1\","
                  " \"moves\": [{\"partition\": \"lpar1\", \"to\": \"P10-B\"}]}\n", 0600);
    assert_int_equal(s_ferryctl(f, "submit", "plan", "submit", plan), 0);
    it_path(env, submit_log, sizeof submit_log, "submit.log");
    assert_true(it_wait_file(submit_log, "not checked", 0));
    assert_int_equal(s_ferryctl(f, "start", "plan", "start", "1"), 0);

    //  The waiting move names the HMC, the time it went away and why.
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM moves WHERE message LIKE"
                                     " 'HMC hmc1 unreachable since %:%:%: %'", 1, 30000), 1);
    //  Retries back off and are not logged: the log says it once however
    //  long it lasts. Watch it over a few seconds of retries.
    int64_t until = clock_mono_ms() + 3000;
    while (clock_mono_ms() < until)
        usleep(100000);
    assert_int_equal(s_count_lines(env->collector_log, "HMC hmc1 unreachable since"), 1);
    json_t *retry = s_hmc_member(f, "retry_in_ms");
    assert_non_null(retry);
    assert_true(json_integer_value(retry) <= 30000);
    json_decref(retry);

    //  The HMC comes up on that port: the next try finds it (backoff at most
    //  30 s), the moves go on and their HMC message goes.
    char conf[320], text[2048];
    it_path(env, conf, sizeof conf, "hmcsim.conf");
    snprintf(text, sizeof text,
             "hmcsim\n    bind = 127.0.0.1\n    port = %d\n    cert_file = %s/cert.pem\n"
             "    key_file = %s/key.pem\n    user = hscroot\n    password_file = %s\n"
             "system\n    name = P10-B\n    serial = 78CD34E\n",
             f->hmc_port, f->tls, f->tls, f->password);
    s_write(conf, text, 0600);
    char *run[] = { "ferry-hmcsim", "-c", conf, NULL };
    it_spawn(env, "hmcsim", run);
    assert_true(s_wait_state(f, "up", 60000));
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM moves WHERE state = 'blocked'"
                                     " AND message LIKE '%not known to HMC hmc1%'", 1, 30000), 1);
    assert_int_equal(s_count_lines(env->collector_log, "HMC hmc1 answers"), 1);
    //  With an inventory, submit checks names against it and lists every miss.
    char bad[320], bad_log[512];
    it_path(env, bad, sizeof bad, "typo.json");
    s_write(bad, "{\"name\": \"wave 2\", \"hmc\": \"hmc1\","
                 " \"moves\": [{\"partition\": \"lpar9\", \"to\": \"P10-X\"}]}\n", 0600);
    assert_int_not_equal(s_ferryctl(f, "typo", "plan", "submit", bad), 0);
    it_path(env, bad_log, sizeof bad_log, "typo.log");
    assert_true(it_wait_file(bad_log, "moves[0].partition: lpar9 is not known to the HMC", 0));
    assert_true(it_wait_file(bad_log, "moves[0].to: system P10-X is not known to the HMC", 0));
    assert_int_equal(it_db_int(env, "SELECT count(*) FROM plans"), 1);
    //  Every move blocked: the plan failed, it is not "done".
    assert_int_equal(it_wait_db(env, "SELECT count(*) FROM plans WHERE state = 'failed'", 1, 30000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unreachable_hmc_is_seen_once_and_named, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
