/*  suggest — "did you mean ...?" by edit distance. */
#include "suggest.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static char s_fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static size_t s_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

//  Optimal string alignment distance of a and b (both at most
//  SUGGEST_WORD_MAX bytes), over three rows: the swap looks two rows back.
static size_t s_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t rows[3][SUGGEST_WORD_MAX + 1];
    size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            bool same = s_fold(a[i - 1]) == s_fold(b[j - 1]);
            size_t best = s_min(s_min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + !same);
            if (i > 1 && j > 1 && s_fold(a[i - 1]) == s_fold(b[j - 2])
                && s_fold(a[i - 2]) == s_fold(b[j - 1]))
                best = s_min(best, before[j - 2] + 1);
            cur[j] = best;
        }
        size_t *spare = before;
        before = prev;
        prev = cur;
        cur = spare;
    }
    return prev[blen];
}

const char *suggest_closest(const char *word, const char *const known[])
{
    if (!word || !known)
        return NULL;
    size_t len = strnlen(word, SUGGEST_WORD_MAX + 1);
    if (len == 0 || len > SUGGEST_WORD_MAX)
        return NULL;
    //  A third of the word may be wrong: "vai" (1 of 3) is a typo of "via",
    //  "colour" (5 of 6 against "to") is another word.
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    size_t best_distance = limit + 1;
    for (size_t k = 0; known[k]; k++) {
        size_t klen = strnlen(known[k], SUGGEST_WORD_MAX + 1);
        if (klen > SUGGEST_WORD_MAX)
            continue;
        //  The distance is at least the difference in length.
        if ((klen > len ? klen - len : len - klen) >= best_distance)
            continue;
        size_t d = s_distance(word, len, known[k], klen);
        if (d < best_distance) {
            best = known[k];
            best_distance = d;
        }
    }
    return best;
}
