/*  commands — the collector-side end of the API's command channel: a REP
    socket on the collector loop that turns {"op": ...} requests from the
    HTTP API (collector/http/api.h documents the protocol) into planner calls, so
    every write happens on the collector thread. */
#ifndef FERRY_COMMANDS_H
#define FERRY_COMMANDS_H

#include <czmq.h>

#include "planner.h"

//  Bind endpoint (borrowed) and serve it on loop (borrowed) for planner
//  (borrowed). The returned socket is owned by the caller (zsock_destroy
//  after zloop_reader_end). NULL with a message in err.
zsock_t *commands_bind(const char *endpoint, zloop_t *loop, planner_t *planner, char *err,
                       size_t errlen);

//  Answer one request (also used by tests without a loop). request: JSON text
//  (borrowed). Returns the reply as a new JSON reference.
json_t *commands_handle(planner_t *planner, const char *request);

#endif
