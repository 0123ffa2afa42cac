/*  api — the collector's HTTP API (libmicrohttpd, JSON via jansson), DESIGN §5.

    Every request under /api/v1 needs `Authorization: Bearer TOKEN`, TOKEN
    being the first line of the token file (owner-only, keys_check_private);
    otherwise 401 {"error": "..."}. Loopback only unless allow_remote (TLS
    comes later). Request bodies are limited to 1 MiB (413 above).

    Read endpoints (each request opens its own read-only connection with
    store_reader_open, collector/store/store_read.h, whose named queries give
    these shapes; WAL lets it read while the collector thread writes):
      GET  /api/v1/agents      [{id, key, hostname, platform, agent_version,
                                 boot_id, partition, serial, os_level,
                                 last_seen_ms, acked_seq}]
      GET  /api/v1/plans       [{id, name, hmc, state, created_ms, started_ms,
                                 finished_ms, message, moves: {total, pending,
                                 running, verified, failed, blocked}}]
                               ("running" counts checking, validating,
                                migrating, verifying and recovering moves;
                                aborted and validated are only in total)
      GET  /api/v1/plans/{id}  {id, name, hmc, state, created_ms, started_ms,
                                finished_ms, message, plan (the document),
                                moves: [{id, position, partition, route (array),
                                hop, state, source, submissions, started_ms,
                                finished_ms, outage_ms, checks (JSON), message}]}
                               404 when unknown. Absent times are null.

    Mutating endpoints never write SQLite here: the planner owns the writes on
    the collector thread. They are forwarded as commands (below):
      POST /api/v1/plans               body = a plan document (collector/plan/plan.h);
                                       checked with plan_parse first (400 with
                                       every problem), forwarded normalised.
                                       201 + reply on success.
      GET  /api/v1/hmcs                {ok, hmcs: [{name, url, state, since_ms,
                                       last_ok_ms, last_error_ms, last_error,
                                       retry_in_ms, inventory_ms, systems,
                                       partitions}]} (planner_hmcs_json): the
                                       planner's view, asked on the command channel.
      POST /api/v1/plans/{id}/start    200 + reply
      POST /api/v1/plans/{id}/pause
      POST /api/v1/plans/{id}/abort

    Command protocol (ZeroMQ REQ -> REP, one single-frame JSON text message
    each way). The collector binds a REP socket on opts.command_endpoint
    (default "inproc://ferry-api"; inproc needs the same process, i.e. the
    czmq global context) and answers every request exactly once:
      request:  {"op": "submit", "plan": {plan document}, "actor": "api"}
                {"op": "start" | "pause" | "abort", "id": N, "actor": "api"}
      reply:    {"ok": true, "id": N}                      success
                {"error": "readable message", "status": S}  failure; S is the
                HTTP status to return: 400 (bad request), 404 (no such plan),
                409 (conflict: wrong state, name taken). Missing S = 400.
    The API keeps one REQ socket behind a mutex, created on first use; when
    no reply arrives within command_timeout_ms (504 to the client) or the
    send fails (503), the socket is destroyed and created again for the next
    request, so a lost reply never wedges later ones. */
#ifndef FERRY_API_H
#define FERRY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_DEFAULT_HOST "127.0.0.1"
#define API_DEFAULT_PORT 8080
#define API_DEFAULT_COMMAND_ENDPOINT "inproc://ferry-api"
#define API_MAX_BODY (1024 * 1024)

//  Zero-initialise, then fill; NULL / 0 means the default shown, except port
//  (0 = any free port: callers pass API_DEFAULT_PORT, 8080, from the config).
//  Strings are borrowed for the api_new call only (copied).
typedef struct {
    const char *host;             // numeric address or "localhost"; "127.0.0.1"
    int port;                     // TCP port 0..65535; 0 = any free port (see api_port)
    const char *db_path;          // collector database (required)
    const char *token_file;       // bearer token, first line; owner-only (required)
    const char *command_endpoint; // REP socket of the collector; "inproc://ferry-api"
    int command_timeout_ms;       // wait for a command reply; 10000
    bool allow_remote;            // allow a non-loopback bind address (no TLS yet!)
} api_options_t;

typedef struct _api_t api_t;

//  Read the token, bind and start serving. Returns a new api owned by the
//  caller, or NULL with a readable message in err (token file missing, empty
//  or readable by others; non-loopback address without allow_remote; bind).
api_t *api_new(const api_options_t *opts, char *err, size_t errlen);

//  Stop serving (waits for requests in flight), wipe the token, free; NULLs
//  *self_p. Safe on NULL and twice.
void api_destroy(api_t **self_p);

//  The TCP port actually bound (useful with port 0).
int api_port(const api_t *self);

#endif
