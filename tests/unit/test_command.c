/*  test_command — argv-only process runner: output, exit status, environment,
    timeout, truncation, refusals, no leaked fds or zombies. /bin/sh appears
    here only as a child to produce exit codes and stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"

#define ERRLEN 256
#define MAX_OUT 65536

static int s_run(char *const argv[], char *const env[], int timeout_ms, size_t max,
                 command_result_t *result, char *err)
{
    return command_run(argv, env, timeout_ms, max, result, err, ERRLEN);
}

static void s_run_ok(char *const argv[], int timeout_ms, size_t max, command_result_t *result)
{
    char err[ERRLEN] = "";
    if (s_run(argv, NULL, timeout_ms, max, result, err) != 0)
        fail_msg("command_run %s: %s", argv[0], err);
}

static int s_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    assert_non_null(dir);
    int count = 0;
    while (readdir(dir))
        count++;
    closedir(dir);
    return count;
}

//  A long command spawned from another thread while short ones run here: a
//  short command's output pipe must not leak into the long child (it would
//  then end only at the long one's exit).
static void *s_long_runner(void *arg)
{
    (void) arg;
    char *argv[] = {"/bin/sleep", "3", NULL};
    command_result_t r;
    char err[ERRLEN] = "";
    for (int i = 0; i < 2; i++) {
        if (s_run(argv, NULL, 10000, MAX_OUT, &r, err) == 0)
            command_result_free(&r);
    }
    return NULL;
}

static void test_concurrent_spawns(void **state)
{
    (void) state;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_long_runner, NULL), 0);
    char *argv[] = {"/bin/echo", "short", NULL};
    for (int i = 0; i < 200; i++) {
        command_result_t r;
        int64_t start = clock_mono_ms();
        s_run_ok(argv, 10000, MAX_OUT, &r);
        //  Inherited by a sleep 3, this would take ~3 s.
        assert_true(clock_mono_ms() - start < 2000);
        assert_string_equal(r.out, "short\n");
        command_result_free(&r);
    }
    assert_int_equal(pthread_join(thread, NULL), 0);
}

static void test_echo(void **state)
{
    (void) state;
    char *argv[] = {"/bin/echo", "hello", "a;b $(x)", NULL};
    command_result_t r;
    s_run_ok(argv, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.term_signal, 0);
    assert_false(r.timed_out);
    assert_false(r.truncated);
    //  Arguments reach the child verbatim: no shell expansion.
    assert_string_equal(r.out, "hello a;b $(x)\n");
    assert_int_equal(r.out_len, strlen("hello a;b $(x)\n"));
    assert_non_null(r.err);
    assert_string_equal(r.err, "");
    assert_int_equal(r.err_len, 0);
    command_result_free(&r);
    //  Reset to "not run", like a destructor NULLing its pointer; safe twice and on NULL.
    assert_null(r.out);
    assert_null(r.err);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.err_len, 0);
    assert_int_equal(r.exit_code, -1);
    command_result_free(&r);
    command_result_free(NULL);
}

static void test_exit_codes(void **state)
{
    (void) state;
    command_result_t r;
    char *exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
    s_run_ok(exit3, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.term_signal, 0);
    command_result_free(&r);

    char *no[] = {"/bin/false", NULL};
    s_run_ok(no, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, 1);
    command_result_free(&r);

    char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    s_run_ok(killed, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.term_signal, SIGTERM);
    assert_false(r.timed_out);
    command_result_free(&r);
}

static void test_stderr(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/bin/sh", "-c", "echo out; echo oops >&2; exit 2", NULL};
    s_run_ok(argv, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, 2);
    assert_string_equal(r.out, "out\n");
    assert_string_equal(r.err, "oops\n");
    assert_int_equal(r.err_len, 5);
    command_result_free(&r);
}

static void test_env_fixed(void **state)
{
    (void) state;
    setenv("HOME", "/root", 1);
    setenv("FERRY_LEAK", "1", 1);
    command_result_t r;
    char *argv[] = {"/usr/bin/env", NULL};
    s_run_ok(argv, 5000, MAX_OUT, &r);
    assert_int_equal(r.exit_code, 0);
    assert_string_equal(r.out, "LANG=C\nLC_ALL=C\nPATH=/usr/bin:/bin:/usr/sbin:/sbin\n");
    assert_null(strstr(r.out, "HOME="));
    command_result_free(&r);

    char err[ERRLEN] = "";
    char *extra[] = {"ODMDIR=/etc/objrepos", "EMPTY=", NULL};
    assert_int_equal(s_run(argv, extra, 5000, MAX_OUT, &r, err), 0);
    assert_string_equal(r.out, "LANG=C\nLC_ALL=C\nPATH=/usr/bin:/bin:/usr/sbin:/sbin\n"
                               "ODMDIR=/etc/objrepos\nEMPTY=\n");
    command_result_free(&r);
    unsetenv("FERRY_LEAK");
}

static void test_env_bad_extra(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    command_result_t r;
    char *argv[] = {"/usr/bin/env", NULL};
    char *no_eq[] = {"NOEQUALS", NULL};
    char *path[] = {"PATH=/tmp", NULL};
    char *lang[] = {"OK=1", "LANG=de_DE", NULL};
    char *empty_key[] = {"=x", NULL};
    assert_int_equal(s_run(argv, no_eq, 5000, MAX_OUT, &r, err), -1);
    assert_non_null(strstr(err, "NOEQUALS"));
    assert_int_equal(s_run(argv, path, 5000, MAX_OUT, &r, err), -1);
    assert_int_equal(s_run(argv, lang, 5000, MAX_OUT, &r, err), -1);
    assert_int_equal(s_run(argv, empty_key, 5000, MAX_OUT, &r, err), -1);
    command_result_free(&r);
}

static void test_stdin_is_dev_null(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/bin/cat", NULL};
    int64_t start = clock_mono_ms();
    s_run_ok(argv, 5000, MAX_OUT, &r);
    assert_true(clock_mono_ms() - start < 2000);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 0);
    assert_false(r.timed_out);
    command_result_free(&r);
}

static void test_timeout(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/bin/sleep", "5", NULL};
    int64_t start = clock_mono_ms();
    s_run_ok(argv, 200, MAX_OUT, &r);
    int64_t took = clock_mono_ms() - start;
    assert_true(took >= 190);
    assert_true(took < 1000);
    assert_true(r.timed_out);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.term_signal, SIGKILL);
    command_result_free(&r);
}

//  True once pid is gone or a zombie (the container init may not reap it).
static bool s_dead(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return true;
        char *got = fgets(line, sizeof line, f);
        fclose(f);
        char *paren = got ? strrchr(line, ')') : NULL;
        if (paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'))
            return true;
        usleep(10000);
    }
    return false;
}

static void test_timeout_kills_group(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/bin/sh", "-c", "/bin/sleep 30 & echo $!; wait", NULL};
    int64_t start = clock_mono_ms();
    s_run_ok(argv, 300, MAX_OUT, &r);
    assert_true(clock_mono_ms() - start < 1500);
    assert_true(r.timed_out);
    pid_t grandchild = (pid_t) atoi(r.out);
    assert_true(grandchild > 1);
    assert_true(s_dead(grandchild));
    command_result_free(&r);
}

static void test_grandchild_holds_pipe(void **state)
{
    (void) state;
    command_result_t r;
    //  The shell exits at once but its background child keeps stdout open.
    //  The point is returning at the timeout, not when the grandchild's 30 s
    //  end: 2 s leave a loaded machine time to run the echo, and the bound
    //  stays far below 30 s.
    char *argv[] = {"/bin/sh", "-c", "/bin/sleep 30 & echo $!", NULL};
    int64_t start = clock_mono_ms();
    s_run_ok(argv, 2000, MAX_OUT, &r);
    assert_true(clock_mono_ms() - start < 15000);
    assert_true(r.timed_out);
    assert_int_equal(r.exit_code, 0);
    pid_t grandchild = (pid_t) atoi(r.out);
    assert_true(grandchild > 1);
    assert_true(s_dead(grandchild));
    command_result_free(&r);
}

static void test_truncation(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/usr/bin/seq", "1", "1000000", NULL};
    s_run_ok(argv, 20000, 1000, &r);
    assert_int_equal(r.exit_code, 0);
    assert_false(r.timed_out);
    assert_true(r.truncated);
    assert_int_equal(r.out_len, 1000);
    assert_int_equal(strlen(r.out), 1000);
    assert_memory_equal(r.out, "1\n2\n3\n", 6);
    command_result_free(&r);

    //  Exactly max_output bytes is not truncated.
    char *echo[] = {"/bin/echo", "abcd", NULL};
    s_run_ok(echo, 5000, 5, &r);
    assert_false(r.truncated);
    assert_string_equal(r.out, "abcd\n");
    command_result_free(&r);
    s_run_ok(echo, 5000, 4, &r);
    assert_true(r.truncated);
    assert_string_equal(r.out, "abcd");
    command_result_free(&r);
    s_run_ok(echo, 5000, 0, &r);
    assert_true(r.truncated);
    assert_string_equal(r.out, "");
    command_result_free(&r);
}

static void test_both_streams_large(void **state)
{
    (void) state;
    command_result_t r;
    char *argv[] = {"/bin/sh", "-c",
                    "/usr/bin/seq 1 200000 >&2; /usr/bin/seq 1 200000; exit 4", NULL};
    s_run_ok(argv, 20000, 100, &r);
    assert_int_equal(r.exit_code, 4);
    assert_true(r.truncated);
    assert_int_equal(r.out_len, 100);
    assert_int_equal(r.err_len, 100);
    command_result_free(&r);
}

static void test_refusals(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    command_result_t r;
    char *relative[] = {"bin/echo", "x", NULL};
    assert_int_equal(s_run(relative, NULL, 5000, MAX_OUT, &r, err), -1);
    assert_string_equal(err, "bin/echo: not an absolute path");
    char *bare[] = {"echo", NULL};
    assert_int_equal(s_run(bare, NULL, 5000, MAX_OUT, &r, err), -1);
    assert_non_null(strstr(err, "not an absolute path"));
    char *empty[] = {NULL};
    assert_int_equal(s_run(empty, NULL, 5000, MAX_OUT, &r, err), -1);
    assert_int_equal(s_run(NULL, NULL, 5000, MAX_OUT, &r, err), -1);
    char *echo[] = {"/bin/echo", NULL};
    assert_int_equal(s_run(echo, NULL, 0, MAX_OUT, &r, err), -1);
    assert_int_equal(s_run(echo, NULL, -5, MAX_OUT, &r, err), -1);
    command_result_free(&r);
}

static void test_missing_binary(void **state)
{
    (void) state;
    char err[ERRLEN] = "";
    command_result_t r;
    char *argv[] = {"/x/y", NULL};
    assert_int_equal(s_run(argv, NULL, 5000, MAX_OUT, &r, err), -1);
    assert_string_equal(err, "cannot run /x/y: No such file or directory");
    assert_null(r.out);
    command_result_free(&r);

    char dir[] = "/tmp/ferry-test-command-XXXXXX", path[PATH_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/not-executable", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho hi\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0644), 0);
    char *noexec[] = {path, NULL};
    assert_int_equal(s_run(noexec, NULL, 5000, MAX_OUT, &r, err), -1);
    assert_non_null(strstr(err, "Permission denied"));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_no_leaks(void **state)
{
    (void) state;
    int before = s_count_fds();
    char err[ERRLEN] = "";
    command_result_t r;
    char *ok[] = {"/bin/echo", "x", NULL};
    char *missing[] = {"/x/y", NULL};
    char *slow[] = {"/bin/sleep", "5", NULL};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(s_run(ok, NULL, 5000, MAX_OUT, &r, err), 0);
        command_result_free(&r);
        assert_int_equal(s_run(missing, NULL, 5000, MAX_OUT, &r, err), -1);
        command_result_free(&r);
    }
    assert_int_equal(s_run(slow, NULL, 50, MAX_OUT, &r, err), 0);
    command_result_free(&r);
    assert_int_equal(s_count_fds(), before);
    //  Every child was reaped.
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void test_ignored_sigpipe_not_inherited(void **state)
{
    (void) state;
    //  Daemons ignore SIGPIPE; the child must still get the default action.
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
    command_result_t r;
    char *argv[] = {"/bin/sh", "-c", "/usr/bin/seq 1 1000000 | /usr/bin/head -n 1", NULL};
    s_run_ok(argv, 20000, MAX_OUT, &r);
    assert_string_equal(r.out, "1\n");
    assert_string_equal(r.err, "");
    command_result_free(&r);
    assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_concurrent_spawns),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_stderr),
        cmocka_unit_test(test_env_fixed),
        cmocka_unit_test(test_env_bad_extra),
        cmocka_unit_test(test_stdin_is_dev_null),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_grandchild_holds_pipe),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_both_streams_large),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_missing_binary),
        cmocka_unit_test(test_no_leaks),
        cmocka_unit_test(test_ignored_sigpipe_not_inherited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
