/*  hmc_link — the collector's view of its connection to one HMC. */
#include "hmc_link.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void hmc_link_init(hmc_link_t *self)
{
    memset(self, 0, sizeof *self);
    self->state = HMC_LINK_UNKNOWN;
}

const char *hmc_link_state_name(hmc_link_state_t state)
{
    switch (state) {
    case HMC_LINK_UNKNOWN:     return "unknown";
    case HMC_LINK_UP:          return "up";
    case HMC_LINK_UNREACHABLE: return "unreachable";
    case HMC_LINK_REFUSED:     return "refused";
    }
    return "unknown";
}

bool hmc_link_failing(const hmc_link_t *self)
{
    return self->state == HMC_LINK_UNREACHABLE || self->state == HMC_LINK_REFUSED;
}

bool hmc_link_may_send(const hmc_link_t *self, int64_t now_mono_ms)
{
    return !hmc_link_failing(self) || now_mono_ms >= self->next_try_mono_ms;
}

static bool s_enter(hmc_link_t *self, hmc_link_state_t state, int64_t now_wall_ms)
{
    if (self->state == state)
        return false;
    self->state = state;
    self->since_ms = now_wall_ms;
    self->failures = 0;
    return true;
}

bool hmc_link_record(hmc_link_t *self, hmc_outcome_t outcome, const char *error, int64_t now_wall_ms,
                     int64_t now_mono_ms)
{
    if (outcome == HMC_OUTCOME_LOCAL)
        return false;
    if (outcome == HMC_OUTCOME_ANSWERED) {
        self->last_ok_ms = now_wall_ms;
        self->backoff_ms = 0;
        self->next_try_mono_ms = 0;
        self->cause[0] = '\0';
        return s_enter(self, HMC_LINK_UP, now_wall_ms);
    }
    hmc_link_state_t state = outcome == HMC_OUTCOME_NO_ANSWER ? HMC_LINK_UNREACHABLE
                                                              : HMC_LINK_REFUSED;
    bool changed = s_enter(self, state, now_wall_ms);
    snprintf(self->last_error, sizeof self->last_error, "%s", error && *error ? error : "no message");
    self->last_error_ms = now_wall_ms;
    if (changed)
        snprintf(self->cause, sizeof self->cause, "%s", self->last_error);
    //  Doubling from the minimum: the first retry is quick (a blip), a
    //  lasting outage costs the HMC one try every 30 s.
    if (changed || self->backoff_ms == 0)
        self->backoff_ms = HMC_LINK_BACKOFF_MIN_MS;
    else if (self->backoff_ms < HMC_LINK_BACKOFF_MAX_MS) {
        self->backoff_ms *= 2;
        if (self->backoff_ms > HMC_LINK_BACKOFF_MAX_MS)
            self->backoff_ms = HMC_LINK_BACKOFF_MAX_MS;
    }
    self->next_try_mono_ms = now_mono_ms + self->backoff_ms;
    self->failures++;
    return changed;
}

//  "HH:MM:SS" local time of a wall clock in ms.
static void s_clock_time(int64_t wall_ms, char *out, size_t size)
{
    time_t t = (time_t) (wall_ms / 1000);
    struct tm tm;
    if (wall_ms <= 0 || !localtime_r(&t, &tm) || strftime(out, size, "%H:%M:%S", &tm) == 0)
        snprintf(out, size, "?");
}

void hmc_link_describe(const hmc_link_t *self, const char *name, char *out, size_t size)
{
    char since[16];
    s_clock_time(self->since_ms, since, sizeof since);
    switch (self->state) {
    case HMC_LINK_UNREACHABLE:
        snprintf(out, size, "HMC %s unreachable since %s: %s", name, since, self->cause);
        break;
    case HMC_LINK_REFUSED:
        snprintf(out, size, "HMC %s refuses the logon since %s: %s", name, since, self->cause);
        break;
    case HMC_LINK_UP:
        snprintf(out, size, "HMC %s up since %s", name, since);
        break;
    default:
        snprintf(out, size, "HMC %s not tried yet", name);
        break;
    }
}

json_t *hmc_link_json(const hmc_link_t *self, const char *name, const char *url, int64_t now_mono_ms)
{
    int64_t retry = hmc_link_failing(self) && self->next_try_mono_ms > now_mono_ms
                        ? self->next_try_mono_ms - now_mono_ms : 0;
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "name", name, "url", url ? url : "",
                     "state", hmc_link_state_name(self->state), "since_ms", (json_int_t) self->since_ms,
                     "last_ok_ms", (json_int_t) self->last_ok_ms, "last_error_ms",
                     (json_int_t) self->last_error_ms, "last_error", self->last_error,
                     "retry_in_ms", (json_int_t) retry);
}
