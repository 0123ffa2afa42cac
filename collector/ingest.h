/*  ingest — the collector's agent-facing loop: a CURVE ROUTER authenticated
    by zauth against a directory of allowed agent certificates, decode and
    validation of every frame, batched writes to the store, acks after commit.

    Identity of a peer = its authenticated CURVE public key (ZAP User-Id),
    never anything it claims in a message. */
#ifndef FERRY_INGEST_H
#define FERRY_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct {
    const char *bind;            // ROUTER endpoint, e.g. tcp://*:5560
    const char *cert_path;       // collector certificate, the NAME_secret file (mode 0600)
    const char *allowed_dir;     // directory of allowed agent public certificates
    const char *database;        // SQLite file
    size_t max_frame;            // largest accepted frame in bytes
    int batch_max;               // commit after this many stored messages
    int batch_wait_ms;           // or after this long since the first uncommitted one
    int seen_flush_ms;           // period of flushing last-seen/heartbeat figures
    int bad_log_period_ms;       // at most one bad-frame log line per peer per period
    store_options_t store;       // database options
} ingest_options_t;

typedef struct _ingest_t ingest_t;

//  Fill opts with the documented defaults (strings point at static text).
void ingest_options_defaults(ingest_options_t *opts);

//  Open the store, load the certificates, start zauth and bind. opts borrowed
//  for the life of the object. NULL with a message in err on failure.
ingest_t *ingest_new(const ingest_options_t *opts, char *err, size_t errlen);

//  Run until SIGINT/SIGTERM: then stop reading, commit what was received, ack
//  it, and return 0. -1 on a fatal store error.
int ingest_run(ingest_t *self);

//  Re-read the allowed agent certificates (called on SIGHUP).
void ingest_reload(ingest_t *self);

//  Counters, for tests and logs.
uint64_t ingest_stored(ingest_t *self);
uint64_t ingest_duplicates(ingest_t *self);
uint64_t ingest_bad_frames(ingest_t *self);

//  Close everything; NULLs *self_p; safe on NULL and twice.
void ingest_destroy(ingest_t **self_p);

#endif
