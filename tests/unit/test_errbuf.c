/*  test_errbuf — the shared error formatter: formats, truncates to the
    buffer, and leaves callers that pass no buffer alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "errbuf.h"

static void test_formats(void **state)
{
    (void) state;
    char err[64] = "old";
    errbuf_set(err, sizeof err, "cannot open %s: %d", "x.db", 5);
    assert_string_equal(err, "cannot open x.db: 5");
}

static void test_truncates(void **state)
{
    (void) state;
    //  Bytes past the buffer must stay untouched; the message ends in a NUL.
    char buf[8];
    memset(buf, '#', sizeof buf);
    errbuf_set(buf, 5, "%s", "abcdefgh");
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], '#');
    errbuf_set(buf, 1, "%s", "abc");
    assert_string_equal(buf, "");
}

static void test_no_buffer(void **state)
{
    (void) state;
    //  Neither may crash nor write: errlen 0 means not even the NUL fits.
    errbuf_set(NULL, 0, "ignored %d", 1);
    errbuf_set(NULL, 64, "ignored %d", 2);
    char one = '#';
    errbuf_set(&one, 0, "ignored %d", 3);
    assert_int_equal(one, '#');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_truncates),
        cmocka_unit_test(test_no_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
