/*  seqtrack: duplicates, gaps, the agent's floor and stream resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seqtrack.h"

static void test_in_order(void **state)
{
    (void) state;
    seqtrack_t *track = seqtrack_new(1, 0, NULL, 0);
    assert_false(seqtrack_is_new(track, 0));
    for (uint64_t seq = 1; seq <= 100; seq++) {
        assert_true(seqtrack_is_new(track, seq));
        assert_int_equal(seqtrack_stored(track, seq), 0);
        assert_false(seqtrack_is_new(track, seq));
    }
    assert_int_equal(seqtrack_acked(track), 100);
    assert_int_equal(seqtrack_pending_count(track), 0);
    seqtrack_destroy(&track);
    assert_null(track);
    seqtrack_destroy(&track);
}

static void test_gap_then_fill(void **state)
{
    (void) state;
    seqtrack_t *track = seqtrack_new(1, 10, NULL, 0);
    //  11..15 died in a TCP buffer; 16..20 arrived.
    for (uint64_t seq = 16; seq <= 20; seq++)
        assert_int_equal(seqtrack_stored(track, seq), 1);
    assert_int_equal(seqtrack_acked(track), 10);
    assert_int_equal(seqtrack_pending_count(track), 5);
    assert_false(seqtrack_is_new(track, 18));
    assert_true(seqtrack_is_new(track, 12));
    //  The resend fills the gap; 16..20 are duplicates now.
    for (uint64_t seq = 11; seq <= 15; seq++)
        seqtrack_stored(track, seq);
    assert_int_equal(seqtrack_acked(track), 20);
    assert_int_equal(seqtrack_pending_count(track), 0);
    for (uint64_t seq = 11; seq <= 20; seq++)
        assert_false(seqtrack_is_new(track, seq));
    seqtrack_destroy(&track);
}

static void test_restore_from_store(void **state)
{
    (void) state;
    uint64_t pending[] = { 7, 9, 12 };
    seqtrack_t *track = seqtrack_new(5, 4, pending, 3);
    assert_int_equal(seqtrack_stream(track), 5);
    assert_int_equal(seqtrack_acked(track), 4);
    assert_false(seqtrack_is_new(track, 9));
    seqtrack_stored(track, 5);
    seqtrack_stored(track, 6);
    assert_int_equal(seqtrack_acked(track), 7);
    seqtrack_stored(track, 8);
    assert_int_equal(seqtrack_acked(track), 9);
    assert_int_equal(seqtrack_pending_count(track), 1);
    seqtrack_destroy(&track);
}

static void test_floor(void **state)
{
    (void) state;
    seqtrack_t *track = seqtrack_new(1, 3, NULL, 0);
    seqtrack_stored(track, 9);
    //  The agent dropped 4..7 from a full spool: it says it holds 8 and up.
    assert_true(seqtrack_floor(track, 8));
    assert_int_equal(seqtrack_acked(track), 7);
    seqtrack_stored(track, 8);
    assert_int_equal(seqtrack_acked(track), 9);
    //  A stale (lower) floor from a replayed frame changes nothing.
    assert_false(seqtrack_floor(track, 2));
    assert_false(seqtrack_floor(track, 0));
    assert_int_equal(seqtrack_acked(track), 9);
    seqtrack_destroy(&track);
}

static void test_reset(void **state)
{
    (void) state;
    seqtrack_t *track = seqtrack_new(1, 50, NULL, 0);
    seqtrack_stored(track, 60);
    assert_false(seqtrack_reset(track, 1));
    assert_int_equal(seqtrack_acked(track), 50);
    assert_true(seqtrack_reset(track, 2));
    assert_int_equal(seqtrack_acked(track), 0);
    assert_int_equal(seqtrack_pending_count(track), 0);
    assert_true(seqtrack_is_new(track, 1));
    seqtrack_destroy(&track);
}

static void test_many_gaps(void **state)
{
    (void) state;
    seqtrack_t *track = seqtrack_new(1, 0, NULL, 0);
    //  Even seqs first (out of order, descending), then odd ones.
    for (uint64_t seq = 1000; seq >= 2; seq -= 2)
        assert_int_equal(seqtrack_stored(track, seq), 1);
    assert_int_equal(seqtrack_pending_count(track), 500);
    for (uint64_t seq = 1; seq < 1000; seq += 2)
        seqtrack_stored(track, seq);
    assert_int_equal(seqtrack_acked(track), 1000);
    assert_int_equal(seqtrack_pending_count(track), 0);
    seqtrack_destroy(&track);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_gap_then_fill),
        cmocka_unit_test(test_restore_from_store),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_many_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
