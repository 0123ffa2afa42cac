/*  aix_dr — LPM phases from SIGRECONFIG + dr_reconfig(). */
#include "aix_dr.h"

#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dr.h>

//  EINTR retries before giving up: a storm of signals must not pin the loop.
#define S_EINTR_RETRIES 100

struct _aix_dr_t {
    struct sigaction previous;    // disposition before ours, restored by destroy
};

//  Set by the handler, cleared by aix_dr_poll. Process-wide, like the handler.
static volatile sig_atomic_t s_signalled;

static void s_on_reconfig(int signo)
{
    (void) signo;
    s_signalled = 1;
}

aix_dr_t *aix_dr_new(void)
{
    aix_dr_t *self = calloc(1, sizeof *self);
    if (!self) {
        log_error("aix dr: out of memory");
        return NULL;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = s_on_reconfig;
    sigemptyset(&action.sa_mask);
    //  Restart the system calls that can be; poll() returns EINTR regardless.
    action.sa_flags = SA_RESTART;
    s_signalled = 0;
    if (sigaction(SIGRECONFIG, &action, &self->previous) != 0) {
        log_error("aix dr: cannot install the SIGRECONFIG handler: %s", strerror(errno));
        free(self);
        return NULL;
    }
    return self;
}

void aix_dr_destroy(aix_dr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aix_dr_t *self = *self_p;
    sigaction(SIGRECONFIG, &self->previous, NULL);
    s_signalled = 0;
    free(self);
    *self_p = NULL;
}

bool aix_dr_pending(const aix_dr_t *self)
{
    (void) self;
    return s_signalled != 0;
}

//  dr_reconfig(flags, info), retried on EINTR. 0 / -1 with errno.
static int s_reconfig(int flags, dr_info_t *info)
{
    for (int attempt = 0; attempt < S_EINTR_RETRIES; attempt++) {
        if (dr_reconfig(flags, info) == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
    errno = EINTR;
    return -1;
}

static aix_dr_phase_t s_phase(const dr_info_t *info)
{
    if (!info->migrate)
        return AIX_DR_NONE;
    if (info->posterror)
        return AIX_DR_POSTERROR;
    if (info->post)
        return AIX_DR_POST;
    if (info->pre)
        return AIX_DR_PRE;
    if (info->check)
        return AIX_DR_CHECK;
    return AIX_DR_NONE;
}

int aix_dr_poll(aix_dr_t *self, aix_dr_phase_t *phase)
{
    (void) self;
    *phase = AIX_DR_NONE;
    if (!s_signalled)
        return 0;
    //  Clear before querying: a signal for the next phase sets it again.
    s_signalled = 0;
    dr_info_t info;
    memset(&info, 0, sizeof info);
    if (s_reconfig(DR_QUERY, &info) != 0) {
        if (errno == ENXIO)
            return 0;
        log_error("aix dr: dr_reconfig(DR_QUERY) failed: %s", strerror(errno));
        return -1;
    }
    *phase = s_phase(&info);
    //  Every event is acknowledged, ours or not: AIX waits for it otherwise.
    if (s_reconfig(DR_RECONFIG_DONE, &info) != 0)
        log_warn("aix dr: dr_reconfig(DR_RECONFIG_DONE) failed: %s", strerror(errno));
    if (*phase != AIX_DR_NONE)
        log_info("aix dr: partition migration phase %s", aix_dr_phase_name(*phase));
    return 0;
}

const char *aix_dr_phase_name(aix_dr_phase_t phase)
{
    switch (phase) {
    case AIX_DR_CHECK: return "check";
    case AIX_DR_PRE: return "pre";
    case AIX_DR_POST: return "post";
    case AIX_DR_POSTERROR: return "posterror";
    default: return NULL;
    }
}
