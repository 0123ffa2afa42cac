/*  test_keys — key generation, file modes, secret/public loading. */
#define _XOPEN_SOURCE 700   // nftw
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"

#define ERRLEN 512

typedef struct {
    char dir[64];       // mkdtemp root
    char keys[128];     // dir/keys, created by keys_generate
    char pub[256];
    char sec[256];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ferry-test-keys-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->keys, sizeof fx->keys, "%s/keys", fx->dir);
    snprintf(fx->pub, sizeof fx->pub, "%s/agent.key", fx->keys);
    snprintf(fx->sec, sizeof fx->sec, "%s/agent.key_secret", fx->keys);
    *state = fx;
    return 0;
}

static int s_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    int rc = nftw(fx->dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return rc;
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void s_generate(fixture_t *fx)
{
    char err[ERRLEN] = "";
    int rc = keys_generate(fx->keys, "agent.key", err, sizeof err);
    if (rc != 0)
        fail_msg("keys_generate: %s", err);
}

static void test_generate_modes(void **state)
{
    fixture_t *fx = *state;
    s_generate(fx);
    assert_int_equal(s_mode(fx->keys), 0700);
    assert_int_equal(s_mode(fx->sec), 0600);
    assert_int_equal(s_mode(fx->pub), 0644);

    char err[ERRLEN] = "";
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), 0);
    assert_int_equal(keys_check_private(fx->keys, err, sizeof err), 0);
    assert_int_equal(keys_check_private(fx->pub, err, sizeof err), -1);
}

static void test_generate_refuses_overwrite(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "";
    s_generate(fx);
    zcert_t *before = keys_load_secret(fx->sec, err, sizeof err);
    assert_non_null(before);

    assert_int_equal(keys_generate(fx->keys, "agent.key", err, sizeof err), -1);
    assert_non_null(strstr(err, "already exists"));

    //  Only the secret half left: still refused, and it is not touched.
    assert_int_equal(unlink(fx->pub), 0);
    assert_int_equal(keys_generate(fx->keys, "agent.key", err, sizeof err), -1);
    assert_non_null(strstr(err, fx->sec));
    zcert_t *after = keys_load_secret(fx->sec, err, sizeof err);
    assert_non_null(after);
    assert_true(zcert_eq(before, after));
    zcert_destroy(&before);
    zcert_destroy(&after);
}

static void test_generate_bad_args(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "";
    assert_int_equal(keys_generate(fx->keys, "../evil", err, sizeof err), -1);
    assert_int_equal(keys_generate(fx->keys, "a/b", err, sizeof err), -1);
    assert_int_equal(keys_generate(fx->keys, "", err, sizeof err), -1);
    assert_int_equal(keys_generate(fx->keys, NULL, err, sizeof err), -1);
    assert_int_equal(keys_generate(NULL, "agent", err, sizeof err), -1);

    //  A file where the directory should be.
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/plain", fx->dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(keys_generate(file, "agent", err, sizeof err), -1);
}

static void test_generate_nested_dir(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "", nested[PATH_MAX];
    snprintf(nested, sizeof nested, "%s/a/b/c", fx->dir);
    assert_int_equal(keys_generate(nested, "collector", err, sizeof err), 0);
    assert_int_equal(s_mode(nested), 0700);
}

static void test_check_private_modes(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "";
    s_generate(fx);

    assert_int_equal(chmod(fx->sec, 0644), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), -1);
    char want[ERRLEN + PATH_MAX];
    snprintf(want, sizeof want, "%s is readable by group/others (mode 0644): chmod 600 it",
             fx->sec);
    assert_string_equal(err, want);

    assert_int_equal(chmod(fx->sec, 0640), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "0640"));

    assert_int_equal(chmod(fx->sec, 0602), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), -1);
    assert_int_equal(chmod(fx->sec, 0601), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), -1);

    assert_int_equal(chmod(fx->sec, 0400), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), 0);
    assert_int_equal(chmod(fx->sec, 0600), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), 0);

    assert_int_equal(chmod(fx->keys, 0750), 0);
    assert_int_equal(keys_check_private(fx->keys, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 700"));
    assert_int_equal(chmod(fx->keys, 0700), 0);

    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing", fx->dir);
    assert_int_equal(keys_check_private(missing, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(keys_check_private("/dev/null", err, sizeof err), -1);
    assert_int_equal(keys_check_private(NULL, err, sizeof err), -1);
}

static void test_check_private_owner(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "";
    s_generate(fx);
    if (geteuid() != 0)
        skip();
    assert_int_equal(chown(fx->sec, 65534, (gid_t) -1), 0);
    assert_int_equal(keys_check_private(fx->sec, err, sizeof err), -1);
    assert_non_null(strstr(err, "owned by uid 65534"));
}

static void test_load_secret(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "";
    s_generate(fx);

    zcert_t *secret = keys_load_secret(fx->sec, err, sizeof err);
    assert_non_null(secret);
    zcert_t *public = keys_load_public(fx->pub, err, sizeof err);
    assert_non_null(public);
    assert_string_equal(zcert_public_txt(secret), zcert_public_txt(public));
    assert_string_not_equal(zcert_secret_txt(secret), "0000000000000000000000000000000000000000");
    assert_string_equal(zcert_secret_txt(public), "0000000000000000000000000000000000000000");
    zcert_destroy(&secret);
    zcert_destroy(&public);

    //  A group-readable secret is refused even though it would load.
    assert_int_equal(chmod(fx->sec, 0640), 0);
    assert_null(keys_load_secret(fx->sec, err, sizeof err));
    assert_non_null(strstr(err, "readable by group/others"));
    assert_int_equal(chmod(fx->sec, 0600), 0);

    //  The public file has no secret key in it.
    assert_int_equal(chmod(fx->pub, 0600), 0);
    assert_null(keys_load_secret(fx->pub, err, sizeof err));
    assert_non_null(strstr(err, "secret-key"));
}

static void s_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_load_bad_files(void **state)
{
    fixture_t *fx = *state;
    char err[ERRLEN] = "", path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bad", fx->dir);

    s_write(path, "not zpl\n  at all\n", 0600);
    assert_null(keys_load_public(path, err, sizeof err));
    assert_null(keys_load_secret(path, err, sizeof err));

    s_write(path, "curve\n    public-key = \"short\"\n", 0600);
    assert_null(keys_load_public(path, err, sizeof err));
    assert_non_null(strstr(err, "public-key"));

    //  A secret that does not belong to the public key.
    zcert_t *a = zcert_new(), *b = zcert_new();
    char text[256];
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             zcert_public_txt(a), zcert_secret_txt(b));
    s_write(path, text, 0600);
    assert_null(keys_load_secret(path, err, sizeof err));
    assert_non_null(strstr(err, "does not match"));
    zcert_destroy(&a);
    zcert_destroy(&b);

    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/missing", fx->dir);
    assert_null(keys_load_public(missing, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
    assert_null(keys_load_secret(missing, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_modes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_generate_refuses_overwrite, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_generate_bad_args, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_generate_nested_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_private_modes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_private_owner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_load_secret, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_load_bad_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
