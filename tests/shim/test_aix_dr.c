/*  test_aix_dr — LPM phases from SIGRECONFIG + dr_reconfig(), with the
    dr_reconfig test double and the shim's SIGRECONFIG (SIGUSR2): the handler
    only flags, the poll queries (retrying EINTR), maps the phase and
    acknowledges every event, migration or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "aix_dr.h"
#include "dr_fake.h"

typedef struct {
    aix_dr_t *dr;                 // the instance under test
} fixture_t;

static fixture_t s_fixture;

static int s_setup(void **state)
{
    dr_fake_reset();
    s_fixture.dr = aix_dr_new();
    if (!s_fixture.dr)
        return -1;
    *state = &s_fixture;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    aix_dr_destroy(&fx->dr);
    return 0;
}

//  A migration event in phase: "check", "pre", "post" or "posterror".
static dr_info_t s_migration(const char *phase)
{
    dr_info_t info;
    memset(&info, 0, sizeof info);
    info.migrate = 1;
    info.check = strcmp(phase, "check") == 0;
    info.pre = strcmp(phase, "pre") == 0;
    info.post = strcmp(phase, "post") == 0;
    info.posterror = strcmp(phase, "posterror") == 0;
    return info;
}

//  Deliver SIGRECONFIG (synchronously: raise runs the handler before returning).
static void s_signal(void)
{
    assert_int_equal(raise(SIGRECONFIG), 0);
}

static void test_phases(void **state)
{
    fixture_t *fx = *state;
    static const struct {
        const char *name;
        aix_dr_phase_t phase;
    } cases[] = {{"check", AIX_DR_CHECK},
                 {"pre", AIX_DR_PRE},
                 {"post", AIX_DR_POST},
                 {"posterror", AIX_DR_POSTERROR}};
    for (int i = 0; i < 4; i++) {
        dr_info_t info = s_migration(cases[i].name);
        dr_fake_queue(0, &info);
        assert_false(aix_dr_pending(fx->dr));
        s_signal();
        assert_true(aix_dr_pending(fx->dr));
        aix_dr_phase_t phase = AIX_DR_NONE;
        assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
        assert_int_equal(phase, cases[i].phase);
        assert_string_equal(aix_dr_phase_name(phase), cases[i].name);
        assert_false(aix_dr_pending(fx->dr));
        //  Acknowledged with the event it was told about.
        assert_int_equal(dr_fake.dones, i + 1);
        assert_true(dr_fake.last_done.migrate);
        assert_int_equal(memcmp(&dr_fake.last_done, &info, sizeof info), 0);
    }
    assert_int_equal(dr_fake.queries, 4);
    assert_int_equal(dr_fake.bad_calls, 0);
    assert_null(aix_dr_phase_name(AIX_DR_NONE));
}

//  No signal: no system call at all.
static void test_no_signal(void **state)
{
    fixture_t *fx = *state;
    dr_info_t info = s_migration("post");
    dr_fake_queue(0, &info);
    aix_dr_phase_t phase = AIX_DR_POST;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_int_equal(dr_fake.queries, 0);
    assert_int_equal(dr_fake.dones, 0);
}

//  ENXIO: the signal came but nothing is pending; nothing to acknowledge.
static void test_enxio(void **state)
{
    fixture_t *fx = *state;
    s_signal();
    aix_dr_phase_t phase = AIX_DR_POST;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_int_equal(dr_fake.queries, 1);
    assert_int_equal(dr_fake.dones, 0);
}

static void test_eintr_retry(void **state)
{
    fixture_t *fx = *state;
    dr_info_t info = s_migration("pre");
    dr_fake_queue(EINTR, NULL);
    dr_fake_queue(EINTR, NULL);
    dr_fake_queue(0, &info);
    s_signal();
    aix_dr_phase_t phase = AIX_DR_NONE;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_PRE);
    assert_int_equal(dr_fake.queries, 3);
    assert_int_equal(dr_fake.dones, 1);
}

//  A CPU or memory DLPAR event is acknowledged (AIX waits for it) and ignored.
static void test_non_migration(void **state)
{
    fixture_t *fx = *state;
    dr_info_t info;
    memset(&info, 0, sizeof info);
    info.add = 1;
    info.cpu = 1;
    info.post = 1;
    dr_fake_queue(0, &info);
    s_signal();
    aix_dr_phase_t phase = AIX_DR_POST;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_int_equal(dr_fake.dones, 1);
    assert_true(dr_fake.last_done.cpu);
    assert_false(dr_fake.last_done.migrate);
    //  A migration event without a phase bit is acknowledged and ignored too.
    info = s_migration("none");
    dr_fake_queue(0, &info);
    s_signal();
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_int_equal(dr_fake.dones, 2);
}

static void test_query_error(void **state)
{
    fixture_t *fx = *state;
    dr_fake_queue(EPERM, NULL);
    s_signal();
    aix_dr_phase_t phase = AIX_DR_POST;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), -1);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_int_equal(dr_fake.dones, 0);
    //  The flag was consumed: the next poll does not query again.
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(dr_fake.queries, 1);
}

//  A failed acknowledgement still reports the phase: the move is happening.
static void test_ack_failure(void **state)
{
    fixture_t *fx = *state;
    dr_info_t info = s_migration("post");
    dr_fake_queue(0, &info);
    dr_fake.done_err = EINVAL;
    s_signal();
    aix_dr_phase_t phase = AIX_DR_NONE;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), 0);
    assert_int_equal(phase, AIX_DR_POST);
    assert_int_equal(dr_fake.dones, 1);
}

//  An endless EINTR storm ends in an error instead of spinning forever.
static void test_eintr_storm(void **state)
{
    fixture_t *fx = *state;
    dr_fake.query_err_always = EINTR;
    s_signal();
    aix_dr_phase_t phase = AIX_DR_POST;
    assert_int_equal(aix_dr_poll(fx->dr, &phase), -1);
    assert_int_equal(phase, AIX_DR_NONE);
    assert_true(dr_fake.queries > 1);
    assert_int_equal(dr_fake.dones, 0);
}

//  destroy puts the previous disposition back.
static void test_restore_handler(void **state)
{
    (void) state;
    struct sigaction before, during, after;
    assert_int_equal(sigaction(SIGRECONFIG, NULL, &before), 0);
    aix_dr_t *dr = aix_dr_new();
    assert_non_null(dr);
    assert_int_equal(sigaction(SIGRECONFIG, NULL, &during), 0);
    assert_true(during.sa_handler != before.sa_handler);
    aix_dr_destroy(&dr);
    assert_null(dr);
    assert_int_equal(sigaction(SIGRECONFIG, NULL, &after), 0);
    assert_true(after.sa_handler == before.sa_handler);
    aix_dr_destroy(&dr);
    aix_dr_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phases, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_signal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_enxio, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_eintr_retry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_non_migration, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_query_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ack_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_eintr_storm, s_setup, s_teardown),
        cmocka_unit_test(test_restore_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
