/*  plan: the documented examples parse; every mistake is reported at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static plan_t *s_parse(const char *text, char *err, size_t errlen)
{
    return plan_parse(text, strlen(text), err, errlen);
}

static void test_examples(void **state)
{
    (void) state;
    char err[1024];
    json_error_t error;
    json_t *doc = json_load_file(FERRY_SOURCE_DIR "/packaging/examples/plan-two-hop.json", 0, &error);
    assert_non_null(doc);
    plan_t *plan = plan_from_json(doc, err, sizeof err);
    json_decref(doc);
    assert_non_null(plan);
    assert_string_equal(plan->name, "wave1-p8-to-p10");
    assert_int_equal(plan->move_count, 3);
    assert_int_equal(plan->per_system, 4);
    assert_int_equal(plan->per_vios_pair, 4);
    assert_int_equal(plan->moves[0].hop_count, 1);
    assert_int_equal(plan->moves[1].hop_count, 2);
    assert_string_equal(plan->moves[1].hops[0], "P10-NEW-1");
    assert_string_equal(plan->moves[1].hops[1], "P10-NEW-2");
    assert_string_equal(plan->moves[1].vios_pair, "vios1a+vios1b");
    assert_string_equal(plan->moves[2].partition, "Web Server");
    //  Round trip through the normalised form.
    json_t *norm = plan_to_json(plan);
    plan_t *again = plan_from_json(norm, err, sizeof err);
    assert_non_null(again);
    assert_int_equal(again->move_count, 3);
    assert_string_equal(again->moves[1].hops[0], "P10-NEW-1");
    json_decref(norm);
    plan_destroy(&again);
    plan_destroy(&plan);
    assert_null(plan);
    plan_destroy(&plan);

    doc = json_load_file(FERRY_SOURCE_DIR "/packaging/examples/plan-validate-only.json", 0, &error);
    plan = plan_from_json(doc, err, sizeof err);
    json_decref(doc);
    assert_non_null(plan);
    assert_true(plan->validate_only);
    assert_int_equal(plan->outage_budget_ms, 2000);
    plan_destroy(&plan);
}

static void test_every_problem_reported(void **state)
{
    (void) state;
    char err[2048];
    plan_t *plan = s_parse("{\"name\": \"bad name!\", \"outage_budget_ms\": -1,"
                           " \"concurrency\": {\"per_system\": 1000},"
                           " \"moves\": [{\"partition\": \"lpar1;reboot\", \"to\": \"P10\"},"
                           " {\"partition\": \"lpar2\", \"to\": \"P10\", \"via\": [\"P10\"]},"
                           " {\"partition\": \"lpar3\", \"to\": \"P10\", \"dest_msp\": \"$(x)\"},"
                           " {\"partition\": \"lpar2\", \"to\": \"P9\"}]}",
                           err, sizeof err);
    assert_null(plan);
    const char *expected[] = { "name: 'bad name!'", "hmc: missing", "outage_budget_ms",
                               "concurrency.per_system", "moves[0].partition",
                               "moves[1].route: P10 twice", "moves[2].dest_msp",
                               "moves[3].partition: lpar2 is already moved by moves[1]" };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr(err, expected[i]))
            fail_msg("missing '%s' in: %s", expected[i], err);
    }
}

static void test_not_json(void **state)
{
    (void) state;
    char err[512];
    assert_null(s_parse("{\"name\": ", err, sizeof err));
    assert_non_null(strstr(err, "not valid JSON"));
    assert_null(s_parse("[]", err, sizeof err));
    assert_non_null(strstr(err, "JSON object"));
    assert_null(s_parse("{\"name\":\"a\",\"hmc\":\"h\",\"moves\":[]}", err, sizeof err));
    assert_non_null(strstr(err, "non-empty"));
    assert_null(s_parse("{\"name\":\"a\",\"name\":\"b\"}", err, sizeof err));
}

static void test_route_limit(void **state)
{
    (void) state;
    char err[512];
    plan_t *plan = s_parse("{\"name\":\"a\",\"hmc\":\"h\",\"moves\":[{\"partition\":\"p\","
                           "\"to\":\"T\",\"via\":[\"A\",\"B\",\"C\",\"D\"]}]}",
                           err, sizeof err);
    assert_null(plan);
    assert_non_null(strstr(err, "at most 3 staging"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_every_problem_reported),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_route_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
