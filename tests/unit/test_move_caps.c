/*  move_caps: hops counted per HMC, per system (at both ends) and per VIOS
    pair; each cap stops a start at its limit, and only its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "move_caps.h"

static int s_setup(void **state)
{
    *state = move_caps_new();
    return *state ? 0 : -1;
}

static int s_teardown(void **state)
{
    move_caps_t *caps = *state;
    move_caps_destroy(&caps);
    return 0;
}

static move_caps_hop_t s_hop(const char *hmc, const char *source, const char *target, const char *pair)
{
    return (move_caps_hop_t){ .hmc = hmc, .source = source, .target = target, .vios_pair = pair };
}

static void s_add(move_caps_t *caps, move_caps_hop_t hop, int delta)
{
    assert_int_equal(move_caps_add(caps, &hop, delta), 0);
}

static move_caps_load_t s_load(move_caps_t *caps, move_caps_hop_t hop)
{
    move_caps_load_t load = { -1, -1, -1 };
    move_caps_load(caps, &hop, &load);
    return load;
}

//  Over limits? why holds the reason, "" when not.
static bool s_over(move_caps_t *caps, move_caps_hop_t hop, move_caps_limits_t limits, char *why,
                   size_t size)
{
    why[0] = '\0';
    bool over = move_caps_over(caps, &hop, &limits, why, size);
    assert_true(over == (why[0] != '\0'));
    return over;
}

static void test_empty(void **state)
{
    move_caps_t *caps = *state;
    move_caps_load_t load = s_load(caps, s_hop("hmc1", "P8", "P10", "v1"));
    assert_int_equal(load.hmc, 0);
    assert_int_equal(load.system, 0);
    assert_int_equal(load.vios_pair, 0);
    char why[64];
    assert_false(s_over(caps, s_hop("hmc1", "P8", "P10", "v1"),
                        (move_caps_limits_t){ 1, 1, 1 }, why, sizeof why));
}

//  A hop counts on its source and on its target: another hop sharing either
//  end sees it; one sharing neither does not.
static void test_hop_counts_at_source_and_target(void **state)
{
    move_caps_t *caps = *state;
    s_add(caps, s_hop("hmc1", "A", "B", NULL), 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "C", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "C", "A", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "C", "B", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "C", "D", NULL)).system, 0);
    //  The busier end: B has 2 after this, A still 1.
    s_add(caps, s_hop("hmc1", "C", "B", NULL), 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", NULL)).system, 2);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "D", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "D", "C", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", NULL)).hmc, 2);
}

//  A hop within one system counts there once, not twice.
static void test_same_system_counts_once(void **state)
{
    move_caps_t *caps = *state;
    s_add(caps, s_hop("hmc1", "A", "A", NULL), 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "A", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", NULL)).system, 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", NULL)).hmc, 1);
}

static void test_per_system_cap(void **state)
{
    move_caps_t *caps = *state;
    move_caps_limits_t limits = { .per_system = 2 };
    char why[64];
    s_add(caps, s_hop("hmc1", "A", "B", NULL), 1);
    assert_false(s_over(caps, s_hop("hmc1", "A", "C", NULL), limits, why, sizeof why));
    s_add(caps, s_hop("hmc1", "A", "C", NULL), 1);
    //  A holds 2: a hop leaving A or landing on it waits.
    assert_true(s_over(caps, s_hop("hmc1", "A", "D", NULL), limits, why, sizeof why));
    assert_string_equal(why, "system cap 2 reached");
    assert_true(s_over(caps, s_hop("hmc1", "D", "A", NULL), limits, why, sizeof why));
    //  B and C hold 1 each, D none; the HMC's 2 is no cap here.
    assert_false(s_over(caps, s_hop("hmc1", "B", "C", NULL), limits, why, sizeof why));
    assert_false(s_over(caps, s_hop("hmc1", "D", "B", NULL), limits, why, sizeof why));
    //  Systems are counted per HMC.
    assert_false(s_over(caps, s_hop("hmc2", "A", "D", NULL), limits, why, sizeof why));
}

static void test_per_hmc_cap(void **state)
{
    move_caps_t *caps = *state;
    move_caps_limits_t limits = { .per_hmc = 2 };
    char why[64];
    s_add(caps, s_hop("hmc1", "A", "B", NULL), 1);
    assert_false(s_over(caps, s_hop("hmc1", "C", "D", NULL), limits, why, sizeof why));
    s_add(caps, s_hop("hmc1", "C", "D", NULL), 1);
    assert_true(s_over(caps, s_hop("hmc1", "E", "F", NULL), limits, why, sizeof why));
    assert_string_equal(why, "HMC cap 2 reached");
    assert_false(s_over(caps, s_hop("hmc2", "E", "F", NULL), limits, why, sizeof why));
    assert_int_equal(s_load(caps, s_hop("hmc2", "A", "B", NULL)).hmc, 0);
    assert_int_equal(s_load(caps, s_hop("hmc2", "A", "B", NULL)).system, 0);
    //  The HMC's cap is named first when several are reached.
    limits.per_system = 1;
    assert_true(s_over(caps, s_hop("hmc1", "A", "B", NULL), limits, why, sizeof why));
    assert_string_equal(why, "HMC cap 2 reached");
}

static void test_per_vios_pair_cap(void **state)
{
    move_caps_t *caps = *state;
    move_caps_limits_t limits = { .per_vios_pair = 1 };
    char why[64];
    s_add(caps, s_hop("hmc1", "A", "B", "v1a+v1b"), 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "C", "D", "v1a+v1b")).vios_pair, 1);
    assert_true(s_over(caps, s_hop("hmc1", "C", "D", "v1a+v1b"), limits, why, sizeof why));
    assert_string_equal(why, "VIOS pair cap 1 reached");
    assert_false(s_over(caps, s_hop("hmc1", "C", "D", "v2a+v2b"), limits, why, sizeof why));
    assert_false(s_over(caps, s_hop("hmc2", "C", "D", "v1a+v1b"), limits, why, sizeof why));
    //  A hop naming no pair is under no pair's cap.
    assert_false(s_over(caps, s_hop("hmc1", "C", "D", NULL), limits, why, sizeof why));
    assert_false(s_over(caps, s_hop("hmc1", "C", "D", ""), limits, why, sizeof why));
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", "")).vios_pair, 0);
    //  A pair named like a system is still a pair.
    assert_int_equal(s_load(caps, s_hop("hmc1", "v1a+v1b", "E", NULL)).system, 0);
}

static void test_no_cap(void **state)
{
    move_caps_t *caps = *state;
    char why[64];
    for (int i = 0; i < 100; i++)
        s_add(caps, s_hop("hmc1", "A", "B", "v1"), 1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "A", "B", "v1")).system, 100);
    assert_false(s_over(caps, s_hop("hmc1", "A", "B", "v1"), (move_caps_limits_t){ 0, 0, 0 }, why,
                        sizeof why));
}

//  A hop that ends frees its place at both ends, on the HMC and the pair.
static void test_decrement(void **state)
{
    move_caps_t *caps = *state;
    move_caps_limits_t limits = { .per_hmc = 2, .per_system = 1, .per_vios_pair = 1 };
    char why[64];
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), 1);
    s_add(caps, s_hop("hmc1", "C", "D", NULL), 1);
    assert_true(s_over(caps, s_hop("hmc1", "E", "F", NULL), limits, why, sizeof why));
    s_add(caps, s_hop("hmc1", "C", "D", NULL), -1);
    move_caps_load_t load = s_load(caps, s_hop("hmc1", "C", "D", NULL));
    assert_int_equal(load.hmc, 1);
    assert_int_equal(load.system, 0);
    assert_true(s_over(caps, s_hop("hmc1", "A", "E", NULL), limits, why, sizeof why));
    assert_string_equal(why, "system cap 1 reached");
    assert_true(s_over(caps, s_hop("hmc1", "E", "F", "v1"), limits, why, sizeof why));
    assert_string_equal(why, "VIOS pair cap 1 reached");
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), -1);
    load = s_load(caps, s_hop("hmc1", "A", "B", "v1"));
    assert_int_equal(load.hmc, 0);
    assert_int_equal(load.system, 0);
    assert_int_equal(load.vios_pair, 0);
    assert_false(s_over(caps, s_hop("hmc1", "A", "B", "v1"), limits, why, sizeof why));
    //  Never below 0: one more end changes nothing, the next start counts 1.
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), -1);
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), 1);
    load = s_load(caps, s_hop("hmc1", "A", "B", "v1"));
    assert_int_equal(load.hmc, 1);
    assert_int_equal(load.system, 1);
    assert_int_equal(load.vios_pair, 1);
    //  A hop within one system is taken off once.
    s_add(caps, s_hop("hmc1", "G", "G", NULL), 1);
    s_add(caps, s_hop("hmc1", "G", "G", NULL), 1);
    s_add(caps, s_hop("hmc1", "G", "G", NULL), -1);
    assert_int_equal(s_load(caps, s_hop("hmc1", "G", "H", NULL)).system, 1);
}

static void test_clear(void **state)
{
    move_caps_t *caps = *state;
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), 1);
    move_caps_clear(caps);
    move_caps_load_t load = s_load(caps, s_hop("hmc1", "A", "B", "v1"));
    assert_int_equal(load.hmc, 0);
    assert_int_equal(load.system, 0);
    assert_int_equal(load.vios_pair, 0);
}

static void test_destroy_nulls(void **state)
{
    (void) state;
    move_caps_t *caps = move_caps_new();
    assert_non_null(caps);
    s_add(caps, s_hop("hmc1", "A", "B", "v1"), 1);
    move_caps_destroy(&caps);
    assert_null(caps);
    move_caps_destroy(&caps);
    move_caps_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hop_counts_at_source_and_target, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_same_system_counts_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_per_system_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_per_hmc_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_per_vios_pair_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_decrement, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_clear, s_setup, s_teardown),
        cmocka_unit_test(test_destroy_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
