/*  keys — CURVE certificates (czmq zcert) and secret-file mode checks. */
#ifndef FERRY_KEYS_H
#define FERRY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <czmq.h>

//  Create DIR (mode 0700 when new) and write NAME (public, 0644) and
//  NAME_secret (0600) in it. Refuses to overwrite an existing key.
//  Returns 0, or -1 with a readable message in err.
int keys_generate(const char *dir, const char *name, char *err, size_t errlen);

//  Fail (-1, message in err) when path is readable, writable or executable by
//  group or others, or is not a regular file/directory owned by the caller.
int keys_check_private(const char *path, char *err, size_t errlen);

//  Load a secret certificate after checking its mode. Returns a new zcert the
//  caller destroys, or NULL with a message in err.
zcert_t *keys_load_secret(const char *path, char *err, size_t errlen);

//  Load a public certificate. New zcert owned by the caller, or NULL with err.
zcert_t *keys_load_public(const char *path, char *err, size_t errlen);

#endif
