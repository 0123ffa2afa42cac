/*  hmc_link — what the collector knows of its connection to one HMC: up,
    unreachable (no HTTP answer: connection refused, TLS, time-out) or logon
    refused, since when, the last success and the last error, and when the
    next request may go.

    Pure bookkeeping: the caller reports each request's outcome and the
    times; nothing is sent or logged from here.

    While the HMC fails, requests back off: one try, then none for 100 ms,
    doubling up to 30 s; any answer from the HMC resets it. Only a change of
    state is reported to the caller (the return of hmc_link_record), so an
    HMC that stays down is logged once, not at every retry. */
#ifndef FERRY_HMC_LINK_H
#define FERRY_HMC_LINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMC_LINK_BACKOFF_MIN_MS 100
#define HMC_LINK_BACKOFF_MAX_MS 30000
#define HMC_LINK_ERROR_SIZE 512

typedef enum {
    HMC_LINK_UNKNOWN,           // nothing tried yet
    HMC_LINK_UP,                // the last request got an answer from the HMC
    HMC_LINK_UNREACHABLE,       // no answer at all: connect, TLS, time-out
    HMC_LINK_REFUSED            // the HMC refuses the logon (credentials, account locked)
} hmc_link_state_t;

//  How one request ended, as far as the connection is concerned.
typedef enum {
    HMC_OUTCOME_ANSWERED,       // the HMC answered (even with an error of its own)
    HMC_OUTCOME_NO_ANSWER,      // no HTTP answer came
    HMC_OUTCOME_LOGON_REFUSED,  // logon refused, or held off after a refusal
    HMC_OUTCOME_LOCAL           // failed before reaching the HMC (bad input, memory): says nothing
} hmc_outcome_t;

typedef struct {
    hmc_link_state_t state;             // current state
    int64_t since_ms;                   // wall clock the state began, 0 = unknown
    int64_t last_ok_ms;                 // wall clock of the latest answer, 0 = none
    int64_t last_error_ms;              // wall clock of the latest failure, 0 = none
    char last_error[HMC_LINK_ERROR_SIZE];   // message of the latest failure
    char cause[HMC_LINK_ERROR_SIZE];    // message of the failure that began this state
    int64_t backoff_ms;                 // wait after the latest failed try, 0 when up
    int64_t next_try_mono_ms;           // while failing: no request before (monotonic)
    uint64_t failures;                  // failed tries since the state began
} hmc_link_t;

//  A link in state UNKNOWN, with no backoff.
void hmc_link_init(hmc_link_t *self);

//  Record how one request ended (error: borrowed, the request's message,
//  may be NULL) at wall / monotonic time now. Returns true when the state
//  changed (the caller logs it then, and only then).
bool hmc_link_record(hmc_link_t *self, hmc_outcome_t outcome, const char *error, int64_t now_wall_ms,
                     int64_t now_mono_ms);

//  True while requests fail (unreachable or refused).
bool hmc_link_failing(const hmc_link_t *self);

//  May a request go now? Always when the link is not failing; while it
//  fails, once the backoff has passed (the caller sends one at a time).
bool hmc_link_may_send(const hmc_link_t *self, int64_t now_mono_ms);

//  "unknown", "up", "unreachable", "refused" (static).
const char *hmc_link_state_name(hmc_link_state_t state);

//  One line for a move's message or a log, e.g. "HMC hmc1 unreachable since
//  10:42:07: cannot connect to https://hmc1:443 ..." (local time). name
//  borrowed; written to out (size bytes).
void hmc_link_describe(const hmc_link_t *self, const char *name, char *out, size_t size);

//  {name, url, state, since_ms, last_ok_ms, last_error_ms, last_error,
//   retry_in_ms} (name, url borrowed). New reference, NULL when out of memory.
json_t *hmc_link_json(const hmc_link_t *self, const char *name, const char *url, int64_t now_mono_ms);

#endif
