/*  log — thin layer over czmq's zsys logging so every part of ferry writes
    the same line format (timestamp, level, ident) to stderr or syslog. */
#include "log.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>

static bool s_verbose;

void log_init(const char *ident, bool verbose, bool use_syslog)
{
    s_verbose = verbose;
    zsys_set_logident(ident);
    zsys_set_logstream(stderr);
    zsys_set_logsystem(use_syslog);
}

bool log_verbose(void) { return s_verbose; }

//  zsys_* take a format, so the line is formatted once here and passed as "%s".
#define LOG_FORWARD(fn)                          \
    do {                                         \
        char line_[1024];                        \
        va_list ap_;                             \
        va_start(ap_, fmt);                      \
        vsnprintf(line_, sizeof line_, fmt, ap_); \
        va_end(ap_);                             \
        fn("%s", line_);                         \
    } while (0)

void log_debug(const char *fmt, ...)
{
    if (!s_verbose)
        return;
    LOG_FORWARD(zsys_debug);
}

void log_info(const char *fmt, ...) { LOG_FORWARD(zsys_info); }
void log_warn(const char *fmt, ...) { LOG_FORWARD(zsys_warning); }
void log_error(const char *fmt, ...) { LOG_FORWARD(zsys_error); }

bool log_ratelimit(int64_t *last_ms, int64_t now_ms, int64_t period_ms)
{
    if (*last_ms != 0 && now_ms - *last_ms < period_ms)
        return false;
    *last_ms = now_ms;
    return true;
}
