/*  services — what runs around the ingest loop: the agents' move windows
    (fed by ingest's observer), the LPM planner with one worker per
    configured HMC, the command channel the HTTP API writes through, and the
    HTTP API itself. Built from the [hmc], [planner] and [api] sections of
    the collector config (packaging/examples/collector.conf). */
#ifndef FERRY_SERVICES_H
#define FERRY_SERVICES_H

#include <stddef.h>

#include "config.h"
#include "ingest.h"

typedef struct _services_t services_t;

//  Start them on ingest's loop, writing through writer. config borrowed
//  for the call, ingest and writer for the life of the services, db_path
//  (for the API's readers) for the call. NULL with a readable message in
//  err (bad section, unreadable or open password file).
services_t *services_new(config_t *config, ingest_t *ingest, store_writer_t *writer,
                         const char *db_path, char *err, size_t errlen);

//  Stop the API, the command channel, the planner and the move windows
//  (ingest's observer cleared); NULLs *self_p.
void services_destroy(services_t **self_p);

#endif
