/*  errbuf — the one formatter for the "char *err, size_t errlen" convention:
    a function that fails writes a readable message into its caller's buffer.
    (Named errbuf, not error, so that it never shadows glibc's <error.h>.) */
#ifndef FERRY_ERRBUF_H
#define FERRY_ERRBUF_H

#include <stddef.h>

//  Format a printf-style message into err (the caller's buffer of errlen
//  bytes, borrowed), truncated to fit and always NUL-terminated. Does nothing
//  when err is NULL or errlen is 0: callers that do not want the message may
//  pass either.
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
