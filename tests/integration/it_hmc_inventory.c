/*  Integration: `ferry-collector hmc-inventory` against ferry-hmcsim over
    TLS — the contract acceptance checks use: JSON shape, tables, and exit 1
    with a clear message on a bad password, a TLS failure or no HMC. */
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

typedef struct {
    it_env_t env;           // temp dir, binaries
    char url[128];          // https://127.0.0.1:PORT
    char cert[400];         // the simulator's certificate (its own CA)
    char password[400];     // hscroot's password file
    char wrong[400];        // a wrong password file
} fixture_t;

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    it_env_t *env = &f->env;
    it_setup(env);
    char tls[320], conf[320], port_file[320], text[2048];
    it_path(env, tls, sizeof tls, "tls");
    assert_int_equal(mkdir(tls, 0700), 0);
    char *gencert[] = { "ferry-hmcsim", "gencert", tls, NULL };
    assert_int_equal(it_run(env, "gencert", 30000, gencert), 0);
    snprintf(f->cert, sizeof f->cert, "%s/cert.pem", tls);
    it_path(env, f->password, sizeof f->password, "hmc.pw");
    it_path(env, f->wrong, sizeof f->wrong, "wrong.pw");
    s_write(f->password, "abc123\n", 0600);
    s_write(f->wrong, "nope\n", 0600);
    it_path(env, port_file, sizeof port_file, "hmc.port");
    it_path(env, conf, sizeof conf, "hmcsim.conf");
    snprintf(text, sizeof text,
             "hmcsim\n"
             "    port = 0\n"
             "    port_file = %s\n"
             "    cert_file = %s\n"
             "    key_file = %s/key.pem\n"
             "    user = hscroot\n"
             "    password_file = %s\n"
             "system\n"
             "    name = P8-OLD\n"
             "    serial = 21C48FV\n"
             "system\n"
             "    name = P10-NEW\n"
             "    serial = 78AB12C\n"
             "    max_active_migrations = 4\n"
             "partition\n"
             "    name = \"Web Server\"\n"
             "    system = P8-OLD\n"
             "partition\n"
             "    name = lpar02\n"
             "    system = P10-NEW\n"
             "    rmc_state = inactive\n",
             port_file, f->cert, tls, f->password);
    s_write(conf, text, 0600);
    char *run[] = { "ferry-hmcsim", "-c", conf, NULL };
    it_spawn(env, "hmcsim", run);
    assert_true(it_wait_file(port_file, "\n", 30000));
    FILE *file = fopen(port_file, "r");
    int port = 0;
    assert_int_equal(fscanf(file, "%d", &port), 1);
    fclose(file);
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:%d", port);
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

static int s_inventory(fixture_t *f, const char *log, const char *password, const char *tls_opt,
                       const char *tls_arg, bool json)
{
    char *argv[12];
    int n = 0;
    argv[n++] = "ferry-collector";
    argv[n++] = "hmc-inventory";
    argv[n++] = "--url";
    argv[n++] = f->url;
    argv[n++] = "--user";
    argv[n++] = "hscroot";
    argv[n++] = "--password-file";
    argv[n++] = (char *) password;
    if (tls_opt)
        argv[n++] = (char *) tls_opt;
    if (tls_arg)
        argv[n++] = (char *) tls_arg;
    if (json)
        argv[n++] = "--json";
    argv[n] = NULL;
    return it_run(&f->env, log, 60000, argv);
}

static json_t *s_load_json(fixture_t *f, const char *log)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.log", f->env.dir, log);
    json_error_t error;
    json_t *doc = json_load_file(path, JSON_DISABLE_EOF_CHECK, &error);
    if (!doc)
        fail_msg("%s: not JSON: %s", path, error.text);
    return doc;
}

static void test_json_contract(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_inventory(f, "inv", f->password, "--ca-file", f->cert, true), 0);
    json_t *doc = s_load_json(f, "inv");
    json_t *systems = json_object_get(doc, "systems");
    json_t *partitions = json_object_get(doc, "partitions");
    assert_int_equal(json_array_size(systems), 2);
    assert_int_equal(json_array_size(partitions), 2);
    const char *system_keys[] = { "uuid", "name", "state", "serial", "machine_type", "model",
                                  "max_active_migrations", "active_migrations_in_progress",
                                  "lpm_capable" };
    for (size_t i = 0; i < sizeof system_keys / sizeof system_keys[0]; i++)
        assert_non_null(json_object_get(json_array_get(systems, 0), system_keys[i]));
    const char *partition_keys[] = { "uuid", "name", "id", "state", "type", "rmc_state",
                                     "migration_state", "system_uuid" };
    for (size_t i = 0; i < sizeof partition_keys / sizeof partition_keys[0]; i++)
        assert_non_null(json_object_get(json_array_get(partitions, 0), partition_keys[i]));
    //  The partition points at its system by uuid.
    size_t i, j;
    json_t *p, *s;
    bool found = false;
    json_array_foreach(partitions, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), "Web Server") != 0)
            continue;
        json_array_foreach(systems, j, s)
            if (json_equal(json_object_get(s, "uuid"), json_object_get(p, "system_uuid")))
                found = strcmp(json_string_value(json_object_get(s, "name")), "P8-OLD") == 0;
    }
    assert_true(found);
    json_decref(doc);

    //  Tables for people.
    assert_int_equal(s_inventory(f, "table", f->password, "--ca-file", f->cert, false), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/table.log", f->env.dir);
    assert_true(it_wait_file(path, "P10-NEW", 0));
    assert_true(it_wait_file(path, "Web Server", 0));
}

static void test_failures_exit_1(void **state)
{
    fixture_t *f = *state;
    char path[512];
    assert_int_equal(s_inventory(f, "badpw", f->wrong, "--ca-file", f->cert, true), 1);
    //  Default verification with no CA that knows the simulator's certificate.
    assert_int_equal(s_inventory(f, "notls", f->password, NULL, NULL, true), 1);
    snprintf(path, sizeof path, "%s/notls.log", f->env.dir);
    assert_true(it_wait_file(path, "certificate", 0));
    //  --insecure works, with a warning.
    assert_int_equal(s_inventory(f, "insecure", f->password, "--insecure", NULL, true), 0);
    snprintf(path, sizeof path, "%s/insecure.log", f->env.dir);
    assert_true(it_wait_file(path, "insecure", 0));
    //  No HMC there.
    snprintf(f->url, sizeof f->url, "https://127.0.0.1:1");
    assert_int_equal(s_inventory(f, "nohmc", f->password, "--ca-file", f->cert, true), 1);
    //  A password file others may read is refused.
    assert_int_equal(chmod(f->password, 0644), 0);
    assert_int_equal(s_inventory(f, "openpw", f->password, "--ca-file", f->cert, true), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_contract, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failures_exit_1, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
