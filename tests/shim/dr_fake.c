/*  dr_fake — dr_reconfig() test double. */
#include "dr_fake.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

dr_fake_t dr_fake;

void dr_fake_reset(void)
{
    memset(&dr_fake, 0, sizeof dr_fake);
}

void dr_fake_queue(int err, const dr_info_t *info)
{
    if (dr_fake.answer_count >= DR_FAKE_QUEUE_MAX)
        return;
    dr_fake_answer_t *answer = &dr_fake.answers[dr_fake.answer_count++];
    memset(answer, 0, sizeof *answer);
    answer->err = err;
    if (info)
        answer->info = *info;
}

static int s_query(dr_info_t *info)
{
    dr_fake.queries++;
    if (dr_fake.query_err_always) {
        errno = dr_fake.query_err_always;
        return -1;
    }
    if (dr_fake.answer_next >= dr_fake.answer_count) {
        errno = ENXIO;
        return -1;
    }
    const dr_fake_answer_t *answer = &dr_fake.answers[dr_fake.answer_next++];
    if (answer->err) {
        errno = answer->err;
        return -1;
    }
    *info = answer->info;
    return 0;
}

int dr_reconfig(int flags, dr_info_t *info)
{
    if (!info || (flags != DR_QUERY && flags != DR_RECONFIG_DONE)) {
        dr_fake.bad_calls++;
        errno = EINVAL;
        return -1;
    }
    if (flags == DR_QUERY)
        return s_query(info);
    dr_fake.dones++;
    dr_fake.last_done = *info;
    if (dr_fake.done_err) {
        errno = dr_fake.done_err;
        return -1;
    }
    return 0;
}
