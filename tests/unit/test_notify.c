/*  notify: event words, the owner-only socket, a round trip, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify.h"

static char s_dir[64];

//  Serves one notification and reports the event on the pipe.
static void s_server(zsock_t *pipe, void *args)
{
    zsock_t *sock = args;
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(sock, pipe, NULL);
    void *which = zpoller_wait(poller, 10000);
    notify_event_t event = which == sock ? notify_serve(sock) : NOTIFY_NONE;
    zpoller_destroy(&poller);
    zsock_send(pipe, "i", (int) event);
    char *term = zstr_recv(pipe);   // $TERM from zactor_destroy
    zstr_free(&term);
}

static void test_words(void **state)
{
    (void) state;
    assert_int_equal(notify_parse("lpm-check"), NOTIFY_LPM_CHECK);
    assert_int_equal(notify_parse("lpm-pre"), NOTIFY_LPM_PRE);
    assert_int_equal(notify_parse("lpm-post"), NOTIFY_LPM_POST);
    assert_int_equal(notify_parse("lpm-posterror"), NOTIFY_LPM_POSTERROR);
    assert_int_equal(notify_parse("lpm-POST"), NOTIFY_NONE);
    assert_int_equal(notify_parse(""), NOTIFY_NONE);
    assert_int_equal(notify_parse(NULL), NOTIFY_NONE);
    assert_string_equal(notify_phase(NOTIFY_LPM_POSTERROR), "posterror");
}

static void test_round_trip(void **state)
{
    (void) state;
    char err[256];
    zsock_t *sock = notify_bind(s_dir, err, sizeof err);
    assert_non_null(sock);
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", s_dir, NOTIFY_SOCKET_NAME);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    zactor_t *server = zactor_new(s_server, sock);
    assert_int_equal(notify_send(s_dir, "lpm-post", 5000, err, sizeof err), 0);
    int event = -1;
    zsock_recv(server, "i", &event);
    assert_int_equal(event, NOTIFY_LPM_POST);
    zactor_destroy(&server);
    zsock_destroy(&sock);
}

static void test_refusals(void **state)
{
    (void) state;
    char err[256] = "";
    assert_int_equal(notify_send(s_dir, "reboot-now", 1000, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown event"));
    //  No agent: no socket file, a clear message instead of a hang.
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, NOTIFY_SOCKET_NAME);
    unlink(path);
    assert_int_equal(notify_send(s_dir, "lpm-pre", 1000, err, sizeof err), -1);
    assert_non_null(strstr(err, "no running ferry-agent"));
}

int main(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/ferry-notify-XXXXXX");
    if (!mkdtemp(s_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, NOTIFY_SOCKET_NAME);
    unlink(path);
    rmdir(s_dir);
    return rc;
}
