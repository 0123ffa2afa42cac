/*  hmc_worker — one czmq actor per HMC that runs the blocking REST calls of
    hmc_client off the collector's event loop (DESIGN §5).

    The caller (the planner, on the main thread's zloop) builds a request,
    sends it, and gets the same request back, filled in, when the worker's
    pipe becomes readable:

        hmc_request_t *req = hmc_request_new(HMC_REQ_POLL, 42, job_id);
        if (!req || hmc_worker_send(worker, &req) != 0) ... // req still the caller's
        ...
        zloop_reader(loop, zactor_sock(worker), s_on_hmc_reply, self);
        static int s_on_hmc_reply(zloop_t *loop, zsock_t *pipe, void *arg) {
            hmc_request_t *req = hmc_worker_recv(worker);   // does not block here
            ... req->id, req->rc, req->error ...
            hmc_request_destroy(&req);
        }

    Behaviour every caller can rely on:
    - One session per worker. It logs on lazily, at the first request, keeps
      its token, and logs off in hmc_worker_destroy(). When a logon is
      refused with 401/403 (wrong credentials), no other logon is tried for
      HMC_WORKER_LOGON_HOLDOFF_MS: requests in that window fail at once with
      the same message, so a planner polling every few seconds cannot lock
      the HMC account. Transport failures (refused, time-out) do not hold off.
    - Requests are processed one at a time, in the order sent. Between two
      requests the worker reads everything waiting on its pipe, so $TERM is
      seen after at most the request in flight (bounded by the client's
      time-outs, hmc_options_t.timeout_ms per HTTP call).
    - Every request comes back exactly once, except those still queued in
      the worker (or in the pipe) at destroy: hmc_worker_destroy() frees them.
    - The password is copied into the session only (wiped at destroy) and
      never appears in a message or a log line.

    Ownership, in one place:
    - hmc_request_t: the caller's from hmc_request_new*() until a successful
      hmc_worker_send() (which NULLs the caller's pointer); the worker's until
      it comes back from hmc_worker_recv(); the caller's again, to free with
      hmc_request_destroy(). When hmc_worker_send() fails (no worker, pipe
      full), the request stays the caller's. Requests the caller never got
      back are freed by hmc_worker_destroy(), never by anyone else.
    - Strings and arrays inside a request are owned by the request.
    - opts, name: borrowed for hmc_worker_new() only.

    Use hmc_worker_destroy(), never zactor_destroy(), on a worker: the latter
    would drop (leak) replies and queued requests still in the pipe.

    Thread safety: the worker functions are called from one thread (the one
    that created the worker). hmc_xml_init() must have run in the main thread. */
#ifndef FERRY_HMC_WORKER_H
#define FERRY_HMC_WORKER_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmc_client.h"
#include "hmc_link.h"
#include "hmc_xml.h"

//  After a logon refused for its credentials, no new logon before this long.
#define HMC_WORKER_LOGON_HOLDOFF_MS 60000

typedef enum {
    HMC_REQ_INVENTORY,          // all systems + all partitions
    HMC_REQ_GET_PARTITION,      // uuid -> partitions[0]
    HMC_REQ_FIND_PARTITION,     // name -> partitions[0], or partition_count 0 when none
    HMC_REQ_SUBMIT,             // uuid + op + params -> job_id
    HMC_REQ_POLL,               // job -> status
    HMC_REQ_DELETE,             // job (already gone counts as deleted)
    HMC_REQ_CANCEL,             // job
} hmc_request_kind_t;

typedef struct {
    // -------------------------------------------------------------- input
    uint64_t id;                    // the caller's, for correlation; never read by the worker
    hmc_request_kind_t kind;
    char *uuid;                     // GET_PARTITION, SUBMIT: partition UUID (owned)
    char *name;                     // FIND_PARTITION: partition name (owned)
    char *job;                      // POLL, DELETE, CANCEL: job id (owned)
    hmc_job_op_t op;                // SUBMIT
    hmc_kv_t *params;               // SUBMIT: job parameters (owned pairs, owned array)
    size_t param_count;
    // -------------------------------------------------------------- result
    //  Cleared by the worker before it runs the request (a returned
    //  request may be sent again, e.g. to retry).
    int rc;                         // 0 done, -1 failed (error says why); -1 until processed
    char error[512];                // one readable line when rc is -1, else ""
    int http_status;                // of the last HTTP answer, 0 when none arrived
    hmc_outcome_t outcome;          // what it says of the connection (hmc_link_record)
    int64_t elapsed_ms;             // time the worker spent on it
    hmc_system_t *systems;          // INVENTORY (owned; NULL when none)
    size_t system_count;
    hmc_partition_t *partitions;    // INVENTORY; GET/FIND_PARTITION: [0] (owned; NULL when none)
    size_t partition_count;
    char job_id[HMC_JOB_ID_SIZE];   // SUBMIT: the new job's id
    hmc_job_status_t status;        // POLL (owned; cleared by hmc_request_destroy).
                                    // rc 0 means the HMC answered: look at status.state.
} hmc_request_t;

//  "INVENTORY", "GET_PARTITION", ... (static).
const char *hmc_request_kind_name(hmc_request_kind_t kind);

//  A request of any kind but SUBMIT. arg: GET_PARTITION the partition UUID,
//  FIND_PARTITION its name, POLL / DELETE / CANCEL the job id, INVENTORY NULL
//  (copied). Values are checked by the worker (hmc_client), not here. NULL
//  when out of memory, kind is SUBMIT or unknown, or arg is missing.
hmc_request_t *hmc_request_new(hmc_request_kind_t kind, uint64_t id, const char *arg);

//  A SUBMIT of op on the partition with that UUID with params[0..count)
//  (everything copied; the worker checks them with hmc_job_param_check).
//  NULL when out of memory or uuid / a param name / value is NULL.
hmc_request_t *hmc_request_submit_new(uint64_t id, const char *partition_uuid, hmc_job_op_t op,
                                      const hmc_param_t *params, size_t count);

//  Free a request and all it owns, NULL *self_p. NULL-safe.
void hmc_request_destroy(hmc_request_t **self_p);

//  Start the worker of one HMC. The session options are checked and copied
//  (hmc_session_new) before this returns; nothing is sent yet. name (e.g.
//  the HMC's name in the configuration) prefixes its log lines. NULL with a
//  message in err when an option is invalid or the actor cannot start.
zactor_t *hmc_worker_new(const hmc_options_t *opts, const char *name, char *err, size_t errlen);

//  Stop the worker and NULL *self_p: the request in flight is finished, the
//  requests still queued are not run, the session logs off (bounded by the
//  client's time-outs), and every request not yet received by the caller is
//  freed. Blocks for that long. NULL-safe.
void hmc_worker_destroy(zactor_t **self_p);

//  Queue *req_p. 0: the worker owns it and *req_p is NULL. -1: *req_p is
//  untouched and still the caller's (self NULL, *req_p NULL, or the pipe is
//  full: several thousand requests waiting). Never blocks.
int hmc_worker_send(zactor_t *self, hmc_request_t **req_p);

//  The next request done by the worker; the caller owns it. Blocks until one
//  comes: call it when zactor_sock(self) is readable (zloop reader, zpoller).
//  NULL when interrupted or on an unexpected message.
hmc_request_t *hmc_worker_recv(zactor_t *self);

//  Log each request and its outcome at info level (default: debug level).
//  Takes effect after the request in flight.
void hmc_worker_set_verbose(zactor_t *self, bool verbose);

#endif
