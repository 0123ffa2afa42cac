/*  log — process-wide logging on top of czmq's zsys log (stderr or syslog).
    Secrets are never passed to these functions. */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stdbool.h>
#include <stdint.h>

//  Set the program name shown in every line, verbosity, and syslog use.
//  ident: borrowed, must stay valid for the life of the process.
void log_init(const char *ident, bool verbose, bool use_syslog);

//  True when debug lines are printed.
bool log_verbose(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

//  Rate limiter: returns true when the caller may log now, i.e. when at least
//  period_ms passed since *last_ms (which it then updates). *last_ms = 0 at start.
bool log_ratelimit(int64_t *last_ms, int64_t now_ms, int64_t period_ms);

#endif
