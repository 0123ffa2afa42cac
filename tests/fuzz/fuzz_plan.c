/*  fuzz_plan — libFuzzer target for collector/plan/plan.h: plan_parse on any
    text, with and without an inventory, into any size of error buffer.

    Properties: a plan or a message, never both and never neither; the
    message is NUL-terminated inside its buffer, nothing is written past it,
    and a message shorter than the whole list is that list cut after a whole
    problem, ending with "... and N more problems"; a plan accepted with an
    inventory is accepted without one; an accepted plan's normalised form
    parses back to the same normalised form.
    Seeds: tests/fuzz/corpus/plan (the example plans and typos), each after
    the byte that sizes the error buffer. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

//  An inventory derived from the names themselves: every other partition is
//  known and on P8-A, systems starting with X are unknown.
static const char *s_partition_system(void *arg, const char *partition)
{
    (void) arg;
    size_t len = strlen(partition);
    return len % 2 ? NULL : len % 4 ? "P8-A" : "";
}

static bool s_system_known(void *arg, const char *system)
{
    (void) arg;
    return system[0] != 'X';
}

static void s_check_err(const char *err, size_t errlen, const char *guard)
{
    if (errlen && !memchr(err, '\0', errlen))
        abort();
    for (size_t i = errlen; i < errlen + 8; i++)
        if (err[i] != guard[i])
            abort();
}

static bool s_ends_with(const char *text, const char *end)
{
    size_t len = strlen(text), end_len = strlen(end);
    return len >= end_len && strcmp(text + len - end_len, end) == 0;
}

//  A message that differs from the whole list is that list cut after a
//  whole problem, with the count of the rest.
static void s_check_cut(const char *text, size_t len, const plan_inventory_t *inv, const char *err,
                        size_t errlen)
{
    static char whole[1 << 21];
    plan_t *plan = plan_parse(text, len, inv, whole, sizeof whole);
    if (plan)
        abort();
    //  A JSON syntax error is one message, not a list: snprintf cuts it.
    if (errlen < 40 || strcmp(err, whole) == 0 || strncmp(whole, "not valid JSON", 14) == 0)
        return;
    if (!s_ends_with(err, " more problem") && !s_ends_with(err, " more problems"))
        abort();
    const char *tail = strstr(err, "... and ");
    for (const char *next; tail && (next = strstr(tail + 1, "... and ")) != NULL;)
        tail = next;
    if (!tail)
        abort();
    size_t kept = (size_t) (tail - err);
    if (strncmp(err, whole, kept) != 0)
        abort();
    //  Cut after a whole problem: the separator, or nothing kept at all.
    if (kept && (kept < 2 || strncmp(whole + kept - 2, "; ", 2) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    //  The first byte picks the error buffer's size: the cut list gets tried
    //  at every length, 0 included.
    if (size < 1)
        return 0;
    static char err[PLAN_ERR_MAX + 8], guard[PLAN_ERR_MAX + 8];
    size_t errlen = data[0] == 0xff ? PLAN_ERR_MAX : (size_t) data[0] * 4;
    memset(guard, 'G', sizeof guard);
    memcpy(err, guard, sizeof err);
    const char *text = (const char *) data + 1;
    size_t len = size - 1;

    plan_inventory_t inv = {s_partition_system, s_system_known, NULL};
    plan_t *with = plan_parse(text, len, &inv, err, errlen);
    s_check_err(err, errlen, guard);
    if (with && errlen && err[0])
        abort();
    if (!with && errlen > 64 && !err[0])
        abort();
    if (!with)
        s_check_cut(text, len, &inv, err, errlen);

    char plain_err[512];
    plan_t *plain = plan_parse(text, len, NULL, plain_err, sizeof plain_err);
    if (with && !plain)
        abort();
    if (plain) {
        json_t *norm = plan_to_json(plain);
        char *once = json_dumps(norm, JSON_SORT_KEYS | JSON_COMPACT);
        plan_t *again = plan_from_json(norm, NULL, plain_err, sizeof plain_err);
        if (!once || !again)
            abort();
        json_t *norm2 = plan_to_json(again);
        char *twice = json_dumps(norm2, JSON_SORT_KEYS | JSON_COMPACT);
        if (!twice || strcmp(once, twice) != 0)
            abort();
        free(once);
        free(twice);
        json_decref(norm);
        json_decref(norm2);
        plan_destroy(&again);
    }
    plan_destroy(&plain);
    plan_destroy(&with);
    return 0;
}
