/*  test_suggest — "did you mean": typos found, other words left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "suggest.h"

static const char *const s_plan_keys[] = {"name", "hmc", "validate_only", "outage_budget_ms",
                                          "concurrency", "moves", NULL};
static const char *const s_move_keys[] = {"partition", "to", "via", "vios_pair", "source_msp",
                                          "dest_msp", "shared_proc_pool", NULL};
static const char *const s_conc_keys[] = {"per_system", "per_hmc", "per_vios_pair", NULL};

static void s_expect(const char *word, const char *const known[], const char *want)
{
    const char *got = suggest_closest(word, known);
    if (want == NULL && got != NULL)
        fail_msg("'%s': suggested '%s', want none", word ? word : "(null)", got);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        fail_msg("'%s': suggested '%s', want '%s'", word ? word : "(null)", got ? got : "(none)",
                 want);
}

static void test_typos(void **state)
{
    (void) state;
    //  A swap of two neighbours is one mistake, not two.
    s_expect("valdiate_only", s_plan_keys, "validate_only");
    s_expect("vai", s_move_keys, "via");
    s_expect("ot", s_move_keys, "to");
    s_expect("per_sytem", s_conc_keys, "per_system");
    s_expect("partiton", s_move_keys, "partition");
    s_expect("move", s_plan_keys, "moves");
    s_expect("outage_budget", s_plan_keys, "outage_budget_ms");
    s_expect("shared_pool", s_move_keys, NULL);
    //  Case slips cost nothing; an exact word is its own closest.
    s_expect("VIA", s_move_keys, "via");
    s_expect("Validate_Only", s_plan_keys, "validate_only");
    s_expect("via", s_move_keys, "via");
}

static void test_not_typos(void **state)
{
    (void) state;
    s_expect("colour", s_move_keys, NULL);
    s_expect("comment", s_plan_keys, NULL);
    s_expect("x", s_move_keys, NULL);
    s_expect("timeout", s_conc_keys, NULL);
    s_expect("", s_move_keys, NULL);
    s_expect(NULL, s_move_keys, NULL);
    s_expect("via", NULL, NULL);
    static const char *const none[] = {NULL};
    s_expect("via", none, NULL);
}

//  The limit is max(1, strlen(word) / 3) edits.
static void test_limit(void **state)
{
    (void) state;
    static const char *const six[] = {"abcdef", NULL};
    s_expect("abcdXY", six, "abcdef");      // 2 of 6
    s_expect("abcXYZ", six, NULL);          // 3 of 6
    s_expect("abcdefgh", six, "abcdef");    // 2 inserted
    s_expect("abcdefghi", six, "abcdef");   // 3 inserted, 9 / 3 = 3
    s_expect("abcdefghij", six, NULL);      // 4 inserted, 10 / 3 = 3
    static const char *const two[] = {"ab", NULL};
    s_expect("ba", two, "ab");              // a swap: 1, where Levenshtein says 2
    s_expect("xy", two, NULL);
    s_expect("a", two, "ab");
}

static void test_closest_and_ties(void **state)
{
    (void) state;
    static const char *const known[] = {"per_hmc", "per_host", "per_system", NULL};
    s_expect("per_hst", known, "per_host");     // 1 from per_host, 2 from per_hmc
    s_expect("per_hmx", known, "per_hmc");
    static const char *const tie[] = {"cat", "bat", NULL};
    s_expect("at", tie, "cat");                 // both 1: the first listed
}

static void test_long_words(void **state)
{
    (void) state;
    char word[SUGGEST_WORD_MAX + 2];
    memset(word, 'a', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    char known_word[SUGGEST_WORD_MAX + 1];
    memset(known_word, 'a', SUGGEST_WORD_MAX);
    known_word[SUGGEST_WORD_MAX] = '\0';
    const char *const known[] = {known_word, NULL};
    s_expect(word, known, NULL);                    // 65 bytes: not compared
    word[SUGGEST_WORD_MAX] = '\0';
    s_expect(word, known, known_word);              // 64: compared
    word[SUGGEST_WORD_MAX - 1] = 'b';
    s_expect(word, known, known_word);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_not_typos),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_closest_and_ties),
        cmocka_unit_test(test_long_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
