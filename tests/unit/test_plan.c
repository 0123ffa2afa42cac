/*  plan: the documented examples parse; every mistake is reported at once,
    with its path: unknown keys (and the key meant), names, routes, and names
    the HMC's inventory does not know. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "plan.h"

static plan_t *s_parse(const char *text, char *err, size_t errlen)
{
    return plan_parse(text, strlen(text), NULL, err, errlen);
}

//  Fail unless every needle is in err.
static void s_expect_all(const char *err, const char *const needles[])
{
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(err, needles[i]))
            fail_msg("missing '%s' in: %s", needles[i], err);
}

// ------------------------------------------------------------- inventory

//  A fake HMC inventory: which partition is on which system.
typedef struct {
    const char *partition;      // LPAR name
    const char *system;         // where it is now, "" = unknown
} s_lpar_t;

static const s_lpar_t s_lpars[] = {
    {"lpar01", "P8-A"}, {"lpar02", "P8-B"}, {"lpar03", "P8-A"}, {"lpar04", ""},
    {"Web Server", "P8-A"}, {NULL, NULL}};
static const char *const s_systems[] = {"P8-A", "P8-B", "P10-A", "P10-B", "P10-NEW-1",
                                        "P10-NEW-2", NULL};

typedef struct {
    int asked;              // questions asked
    bool asked_invalid;     // about a name failing its pattern
} s_fake_t;

static const char *s_partition_system(void *arg, const char *partition)
{
    s_fake_t *fake = arg;
    fake->asked++;
    fake->asked_invalid |= !name_valid(NAME_PARTITION, partition);
    for (size_t i = 0; s_lpars[i].partition; i++)
        if (strcmp(s_lpars[i].partition, partition) == 0)
            return s_lpars[i].system;
    return NULL;
}

static bool s_system_known(void *arg, const char *system)
{
    s_fake_t *fake = arg;
    fake->asked++;
    fake->asked_invalid |= !name_valid(NAME_SYSTEM, system);
    for (size_t i = 0; s_systems[i]; i++)
        if (strcmp(s_systems[i], system) == 0)
            return true;
    return false;
}

static plan_t *s_parse_inv(const char *text, s_fake_t *fake, char *err, size_t errlen)
{
    plan_inventory_t inv = {s_partition_system, s_system_known, fake};
    return plan_parse(text, strlen(text), &inv, err, errlen);
}

static void test_examples(void **state)
{
    (void) state;
    char err[1024];
    json_error_t error;
    json_t *doc = json_load_file(FERRY_SOURCE_DIR "/packaging/examples/plan-two-hop.json", 0, &error);
    assert_non_null(doc);
    s_fake_t fake = {0};
    plan_inventory_t inv = {s_partition_system, s_system_known, &fake};
    plan_t *plan = plan_from_json(doc, &inv, err, sizeof err);
    json_decref(doc);
    if (!plan)
        fail_msg("%s", err);
    assert_true(fake.asked > 0);
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
    plan_t *again = plan_from_json(norm, NULL, err, sizeof err);
    assert_non_null(again);
    assert_int_equal(again->move_count, 3);
    assert_string_equal(again->moves[1].hops[0], "P10-NEW-1");
    json_decref(norm);
    plan_destroy(&again);
    plan_destroy(&plan);
    assert_null(plan);
    plan_destroy(&plan);

    doc = json_load_file(FERRY_SOURCE_DIR "/packaging/examples/plan-validate-only.json", 0, &error);
    plan = plan_from_json(doc, NULL, err, sizeof err);
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
                           " {\"partition\": \"lpar2\", \"to\": \"P10\", \"via\": [\"P9\", \"P9\"]},"
                           " {\"partition\": \"lpar3\", \"to\": \"P10\", \"dest_msp\": \"$(x)\"},"
                           " {\"partition\": \"lpar2\", \"to\": \"P9\"}]}",
                           err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "name: 'bad name!' is not a valid plan name (letters, digits, single blanks",
                          "hmc: missing", "outage_budget_ms: must be an integer in 0..86400000",
                          "concurrency.per_system: must be an integer in 0..64",
                          "moves[0].partition: 'lpar1;reboot' is not a valid partition name (",
                          "moves[1].via[1]: P9 twice in a row",
                          "moves[2].dest_msp: '$(x)' is not a valid address list (IP addresses"
                          " separated by commas, at most 255 characters)",
                          "moves[3].partition: lpar2 is already moved by moves[1]", NULL});
    assert_null(strstr(err, "more problem"));
}

//  The issue: a misspelt key used to be ignored, and this plan ran a real
//  LPM on the direct route instead of validating the staged one.
static void test_unknown_keys(void **state)
{
    (void) state;
    char err[2048];
    plan_t *plan = s_parse("{\"name\": \"wave1\", \"hmc\": \"hmc1\", \"valdiate_only\": true,"
                           " \"concurrency\": {\"per_sytem\": 2, \"per_hmc\": 4},"
                           " \"moves\": [{\"partition\": \"lpar01\", \"to\": \"P10-B\","
                           "              \"vai\": [\"P10-A\"]},"
                           "            {\"partition\": \"lpar02\", \"to\": \"P10-B\"},"
                           "            {\"partition\": \"lpar03\", \"to\": \"P10-B\","
                           "             \"colour\": \"red\", \"Shared_Proc_Pool\": \"p\"}],"
                           " \"comment\": \"x\", \"bad\\u0001key\": 1}",
                           err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "valdiate_only: unknown key (did you mean \"validate_only\"?)",
                          "concurrency.per_sytem: unknown key (did you mean \"per_system\"?)",
                          "moves[0].vai: unknown key (did you mean \"via\"?)",
                          "moves[2].colour: unknown key (known: partition, to, via, vios_pair,"
                          " source_msp, dest_msp, shared_proc_pool)",
                          "moves[2].Shared_Proc_Pool: unknown key (did you mean"
                          " \"shared_proc_pool\"?)",
                          "comment: unknown key (known: name, hmc, validate_only,"
                          " outage_budget_ms, concurrency, moves)",
                          "bad\\x01key: unknown key", NULL});
    //  Nothing else was wrong: exactly these seven.
    int problems = 1;
    for (const char *c = err; (c = strstr(c, "; ")) != NULL; c += 2)
        problems++;
    assert_int_equal(problems, 7);
    assert_null(strstr(err, "moves[1]"));
}

static void test_plan_name_is_a_label(void **state)
{
    (void) state;
    char err[1024];
    plan_t *plan = s_parse("{\"name\": \"wave 1 p8 (old SAN)\", \"hmc\": \"hmc1\","
                           " \"moves\": [{\"partition\": \"Web Server\", \"to\": \"P10-B\"}]}",
                           err, sizeof err);
    if (!plan)
        fail_msg("%s", err);
    assert_string_equal(plan->name, "wave 1 p8 (old SAN)");
    json_t *norm = plan_to_json(plan);
    plan_destroy(&plan);
    plan = plan_from_json(norm, NULL, err, sizeof err);
    json_decref(norm);
    assert_non_null(plan);
    assert_string_equal(plan->name, "wave 1 p8 (old SAN)");
    plan_destroy(&plan);

    //  Each message names the field, shows the value and says what is allowed.
    plan = s_parse("{\"name\": \"wave 1\\u0001\", \"hmc\": \"hmc 1\","
                   " \"moves\": [{\"partition\": \" lpar\", \"to\": \"P10 B\","
                   "              \"via\": [\"P9 A\", 7], \"shared_proc_pool\": \"pool 1\","
                   "              \"vios_pair\": \"a b\"}]}",
                   err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "name: 'wave 1\\x01' is not a valid plan name (letters, digits, single"
                          " blanks inside",
                          "hmc: 'hmc 1' is not a valid HMC name (letters, digits and _ . -",
                          "moves[0].partition: ' lpar' is not a valid partition name (",
                          "moves[0].to: 'P10 B' is not a valid system name (letters",
                          "moves[0].via[0]: 'P9 A' is not a valid system name (letters",
                          "moves[0].via[1]: must be a string (a system name)",
                          "moves[0].shared_proc_pool: 'pool 1' is not a valid shared processor"
                          " pool name (",
                          "moves[0].vios_pair: 'a b' is not a valid VIOS pair (letters, digits and"
                          " _ . - +, at most 63 characters)",
                          NULL});
    //  A blank at either end or twice in a row, and quotes, are not a label.
    const char *const bad[] = {"\" wave\"", "\"wave \"", "\"wave  1\"", "\"wave '1'\"",
                               "\"w\\\\1\"", "\"\"", "7", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char doc[256];
        snprintf(doc, sizeof doc,
                 "{\"name\": %s, \"hmc\": \"hmc1\", \"moves\": [{\"partition\": \"p\", \"to\": \"T\"}]}",
                 bad[i]);
        assert_null(s_parse(doc, err, sizeof err));
        if (strncmp(err, "name: ", 6) != 0)
            fail_msg("name %s: %s", bad[i], err);
    }
}

static void test_via_is_not_the_target(void **state)
{
    (void) state;
    char err[1024];
    plan_t *plan = s_parse("{\"name\": \"a\", \"hmc\": \"h\", \"moves\": ["
                           " {\"partition\": \"p1\", \"to\": \"T\", \"via\": [\"T\"]},"
                           " {\"partition\": \"p2\", \"to\": \"T\", \"via\": [\"A\", \"T\"]},"
                           " {\"partition\": \"p3\", \"to\": \"T\", \"via\": [\"T\", \"A\"]},"
                           " {\"partition\": \"p4\", \"to\": \"T\", \"via\": [\"A\", \"B\"]}]}",
                           err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "moves[0].via[0]: T is also the target (to): a staging system must be"
                          " another system",
                          "moves[1].via[1]: T is also the target (to)",
                          "moves[2].via[0]: T is also the target (to)", NULL});
    assert_null(strstr(err, "moves[3]"));
    assert_null(strstr(err, "twice"));
}

static void test_inventory(void **state)
{
    (void) state;
    char err[2048];
    const char *doc = "{\"name\": \"w\", \"hmc\": \"hmc1\", \"moves\": ["
                      " {\"partition\": \"lpar99\", \"to\": \"P10-B\"},"
                      " {\"partition\": \"lpar02\", \"to\": \"P10-B\", \"via\": [\"P10-X\"]},"
                      " {\"partition\": \"lpar03\", \"to\": \"P10-B\", \"via\": [\"P8-A\"]},"
                      " {\"partition\": \"lpar01\", \"to\": \"P8-A\"},"
                      " {\"partition\": \"lpar04\", \"to\": \"P10-Y\"},"
                      " {\"partition\": \"Web Server\", \"to\": \"P10-A\"}]}";
    s_fake_t fake = {0};
    plan_t *plan = s_parse_inv(doc, &fake, err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "moves[0].partition: lpar99 is not known to the HMC",
                          "moves[1].via[0]: system P10-X is not known to the HMC",
                          "moves[2].via[0]: P8-A is the system lpar03 is on now",
                          "moves[3].to: lpar01 is already on P8-A",
                          "moves[4].to: system P10-Y is not known to the HMC", NULL});
    assert_null(strstr(err, "moves[5]"));
    assert_null(strstr(err, "moves[0].to"));
    assert_false(fake.asked_invalid);

    //  No inventory: none of these checks.
    plan = s_parse(doc, err, sizeof err);
    if (!plan)
        fail_msg("without an inventory: %s", err);
    assert_int_equal(plan->move_count, 6);
    plan_destroy(&plan);
}

//  Structural and inventory problems in one list, and the inventory is not
//  asked about names that fail their pattern.
static void test_all_problems_together(void **state)
{
    (void) state;
    char err[2048];
    s_fake_t fake = {0};
    plan_t *plan = s_parse_inv("{\"name\": \"wave 1\", \"hmc\": \"hmc1\", \"valdiate_only\": true,"
                               " \"moves\": [{\"partition\": \"lpar99\", \"to\": \"P10-B\","
                               "              \"vai\": [\"P10-A\"]},"
                               "             {\"partition\": \"lp;ar\", \"to\": \"P10 Z\","
                               "              \"via\": [\"P8-A\"]},"
                               "             {\"partition\": \"lpar01\", \"to\": \"P10-B\","
                               "              \"via\": [\"P10-B\"]}]}",
                               &fake, err, sizeof err);
    assert_null(plan);
    s_expect_all(err, (const char *const[]){
                          "valdiate_only: unknown key (did you mean \"validate_only\"?)",
                          "moves[0].vai: unknown key (did you mean \"via\"?)",
                          "moves[0].partition: lpar99 is not known to the HMC",
                          "moves[1].partition: 'lp;ar' is not a valid partition name",
                          "moves[1].to: 'P10 Z' is not a valid system name",
                          "moves[2].via[0]: P10-B is also the target (to)", NULL});
    assert_false(fake.asked_invalid);
    //  The valid staging system of the move with a bad partition is still checked.
    assert_null(strstr(err, "moves[1].via[0]"));
}

static void s_append(char **text, size_t *len, size_t *size, const char *piece)
{
    size_t n = strlen(piece);
    if (*len + n + 1 > *size) {
        *size = (*len + n + 1) * 2;
        *text = realloc(*text, *size);
        assert_non_null(*text);
    }
    memcpy(*text + *len, piece, n + 1);
    *len += n;
}

//  A plan of count moves, each with one unknown key.
static char *s_many_problems(size_t count)
{
    char *text = NULL;
    size_t len = 0, size = 0;
    s_append(&text, &len, &size, "{\"name\": \"big\", \"hmc\": \"h\", \"moves\": [");
    for (size_t i = 0; i < count; i++) {
        char move[128];
        snprintf(move, sizeof move, "%s{\"partition\": \"lpar%zu\", \"to\": \"T\", \"vai\": []}",
                 i ? ", " : "", i);
        s_append(&text, &len, &size, move);
    }
    s_append(&text, &len, &size, "]}");
    return text;
}

//  Every problem before the tail is whole, and shown + N = count.
static void s_check_cut(const char *err, size_t errlen, int count)
{
    assert_true(strlen(err) < errlen);
    const char *tail = strstr(err, "... and ");
    if (!tail)
        fail_msg("no '... and N more problems' in: %s", err);
    int more = 0;
    assert_int_equal(sscanf(tail, "... and %d more problem", &more), 1);
    assert_non_null(strstr(tail, more == 1 ? "more problem" : "more problems"));
    int shown = 0;
    for (const char *c = err; c < tail; shown++) {
        char want[64];
        snprintf(want, sizeof want, "moves[%d].vai: unknown key (did you mean \"via\"?); ", shown);
        if (strncmp(c, want, strlen(want)) != 0)
            fail_msg("problem %d cut or out of order at: %s", shown, c);
        c += strlen(want);
    }
    assert_int_equal(shown + more, count);
}

static void test_long_list_is_cut_whole(void **state)
{
    (void) state;
    char *text = s_many_problems(300);
    char err[PLAN_ERR_MAX];
    assert_null(s_parse(text, err, sizeof err));
    s_check_cut(err, sizeof err, 300);
    //  Most of the buffer is used: the tail takes only its own room.
    assert_true(strlen(err) > sizeof err - 100);
    //  Down to the tail alone ("... and 300 more problems"); below that it
    //  is cut, but never written past the buffer.
    for (size_t size = 26; size < 400; size += 7) {
        char small[400];
        memset(small, 'X', sizeof small);
        assert_null(s_parse(text, small, size));
        s_check_cut(small, size, 300);
        assert_int_equal(small[size], 'X');
    }
    char tiny[12];
    memset(tiny, 'X', sizeof tiny);
    assert_null(s_parse(text, tiny, 10));
    assert_string_equal(tiny, "... and 3");
    assert_int_equal(tiny[10], 'X');
    free(text);

    //  Everything fits: no tail, even when it fills the buffer to the byte.
    text = s_many_problems(2);
    char exact[256];
    assert_null(s_parse(text, exact, sizeof exact));
    size_t full = strlen(exact);
    assert_null(strstr(exact, "more problem"));
    assert_null(s_parse(text, exact, full + 1));
    assert_int_equal(strlen(exact), full);
    assert_null(strstr(exact, "more problem"));
    assert_null(s_parse(text, exact, full));
    s_check_cut(exact, full, 2);
    free(text);
    assert_null(s_parse("[]", NULL, 0));
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
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_plan_name_is_a_label),
        cmocka_unit_test(test_via_is_not_the_target),
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_all_problems_together),
        cmocka_unit_test(test_long_list_is_cut_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
