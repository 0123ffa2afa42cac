/*  suggest — "did you mean ...?" for a word that is not one of a fixed set
    (a configuration or plan key): the closest known word, when the word is
    plausibly a typo of it. */
#ifndef FERRY_SUGGEST_H
#define FERRY_SUGGEST_H

//  Longest word (bytes) compared; a longer one gets no suggestion.
#define SUGGEST_WORD_MAX 64

//  The entry of known (a NULL-terminated list, borrowed) closest to word
//  (borrowed) by optimal string alignment distance: one insertion, deletion,
//  substitution or swap of two neighbours costs 1 ("valdiate" -> "validate"
//  is 1), ASCII letters compared without case. Returns it (borrowed from
//  known) only when the distance is at most max(1, strlen(word) / 3), the
//  first such entry on a tie; else NULL. NULL also for a NULL or empty
//  word, a NULL list, or a word longer than SUGGEST_WORD_MAX.
const char *suggest_closest(const char *word, const char *const known[]);

#endif
