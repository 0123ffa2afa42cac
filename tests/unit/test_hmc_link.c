/*  hmc_link: states, one report per change, backoff doubling to its cap and
    reset by an answer, the move message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hmc_link.h"

#define WALL 1700000000000LL

static void test_starts_unknown_and_may_send(void **state)
{
    (void) state;
    hmc_link_t link;
    hmc_link_init(&link);
    assert_int_equal(link.state, HMC_LINK_UNKNOWN);
    assert_false(hmc_link_failing(&link));
    assert_true(hmc_link_may_send(&link, 0));
    assert_string_equal(hmc_link_state_name(link.state), "unknown");
}

static void test_change_reported_once(void **state)
{
    (void) state;
    hmc_link_t link;
    hmc_link_init(&link);
    assert_true(hmc_link_record(&link, HMC_OUTCOME_NO_ANSWER, "cannot connect", WALL, 1000));
    for (int i = 0; i < 20; i++)
        assert_false(hmc_link_record(&link, HMC_OUTCOME_NO_ANSWER, "cannot connect again", WALL + i,
                                     1000 + i));
    assert_int_equal(link.state, HMC_LINK_UNREACHABLE);
    assert_int_equal(link.since_ms, WALL);
    assert_int_equal(link.failures, 21);
    //  The cause stays the failure that began the outage; the latest is kept too.
    assert_string_equal(link.cause, "cannot connect");
    assert_string_equal(link.last_error, "cannot connect again");
    assert_true(hmc_link_record(&link, HMC_OUTCOME_ANSWERED, NULL, WALL + 5000, 9000));
    assert_int_equal(link.state, HMC_LINK_UP);
    assert_int_equal(link.last_ok_ms, WALL + 5000);
    assert_false(hmc_link_record(&link, HMC_OUTCOME_ANSWERED, NULL, WALL + 6000, 9100));
    //  A refused logon is its own state.
    assert_true(hmc_link_record(&link, HMC_OUTCOME_LOGON_REFUSED, "HTTP 401", WALL + 7000, 9200));
    assert_int_equal(link.state, HMC_LINK_REFUSED);
    assert_true(hmc_link_failing(&link));
}

static void test_local_failure_says_nothing(void **state)
{
    (void) state;
    hmc_link_t link;
    hmc_link_init(&link);
    assert_false(hmc_link_record(&link, HMC_OUTCOME_LOCAL, "out of memory", WALL, 0));
    assert_int_equal(link.state, HMC_LINK_UNKNOWN);
    assert_int_equal(link.last_error_ms, 0);
}

static void test_backoff_doubles_to_cap_and_resets(void **state)
{
    (void) state;
    hmc_link_t link;
    hmc_link_init(&link);
    int64_t now = 0, expect = HMC_LINK_BACKOFF_MIN_MS;
    int tries = 0;
    while (tries < 40) {
        hmc_link_record(&link, HMC_OUTCOME_NO_ANSWER, "refused", WALL + now, now);
        tries++;
        assert_int_equal(link.backoff_ms, expect);
        assert_false(hmc_link_may_send(&link, now));
        assert_false(hmc_link_may_send(&link, now + link.backoff_ms - 1));
        assert_true(hmc_link_may_send(&link, now + link.backoff_ms));
        now += link.backoff_ms;
        expect = expect * 2 > HMC_LINK_BACKOFF_MAX_MS ? HMC_LINK_BACKOFF_MAX_MS : expect * 2;
    }
    assert_int_equal(link.backoff_ms, HMC_LINK_BACKOFF_MAX_MS);
    //  100 ms doubling: 100, 200, ... 25.6 s, then 30 s: the cap is reached after 10 tries.
    hmc_link_record(&link, HMC_OUTCOME_ANSWERED, NULL, WALL + now, now);
    assert_int_equal(link.backoff_ms, 0);
    assert_true(hmc_link_may_send(&link, now));
    hmc_link_record(&link, HMC_OUTCOME_NO_ANSWER, "refused", WALL + now, now);
    assert_int_equal(link.backoff_ms, HMC_LINK_BACKOFF_MIN_MS);
}

static void test_describe_names_hmc_time_and_cause(void **state)
{
    (void) state;
    hmc_link_t link;
    hmc_link_init(&link);
    char line[700], expect_time[16];
    hmc_link_describe(&link, "hmc1", line, sizeof line);
    assert_string_equal(line, "HMC hmc1 not tried yet");
    hmc_link_record(&link, HMC_OUTCOME_NO_ANSWER, "cannot connect to https://127.0.0.1:9: refused",
                    WALL, 0);
    time_t t = (time_t) (WALL / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(expect_time, sizeof expect_time, "%H:%M:%S", &tm);
    char expect[700];
    snprintf(expect, sizeof expect, "HMC hmc1 unreachable since %s: cannot connect to"
             " https://127.0.0.1:9: refused", expect_time);
    hmc_link_describe(&link, "hmc1", line, sizeof line);
    assert_string_equal(line, expect);
    json_t *doc = hmc_link_json(&link, "hmc1", "https://127.0.0.1:9", 50);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "unreachable");
    assert_int_equal(json_integer_value(json_object_get(doc, "since_ms")), WALL);
    assert_int_equal(json_integer_value(json_object_get(doc, "retry_in_ms")), 50);
    assert_string_equal(json_string_value(json_object_get(doc, "url")), "https://127.0.0.1:9");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_unknown_and_may_send),
        cmocka_unit_test(test_change_reported_once),
        cmocka_unit_test(test_local_failure_says_nothing),
        cmocka_unit_test(test_backoff_doubles_to_cap_and_resets),
        cmocka_unit_test(test_describe_names_hmc_time_and_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
