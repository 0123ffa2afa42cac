/*  hmc_worker — one czmq actor per HMC running blocking hmc_client calls.

    Pipe protocol (private; callers use the functions of hmc_worker.h):
      caller -> worker   [ptr]               a request (a frame of sizeof(void *))
                         "VERBOSE" "0"|"1"
                         "$TERM"
      worker -> caller   [ptr]               the same request, done
                         "$DONE" [ptr]       the worker state, handed back at exit

    The session is created in the caller's thread (so option errors come back
    synchronously) and destroyed there again, after the actor handed it back
    with "$DONE": curl_global_init / cleanup then always run in the thread
    that owns the worker, whatever the libcurl version.

    Requests are read from the pipe into a private queue whenever the worker
    is between two requests, so $TERM is seen behind at most the request in
    flight instead of behind everything the planner queued. */
#include "hmc_worker.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define S_NAME_SIZE 64

typedef struct {
    hmc_session_t *session;         // used by the actor thread only while it runs
    char name[S_NAME_SIZE];         // for log lines
    bool verbose;
    int64_t logon_holdoff_until_ms; // no logon before this (monotonic); 0 = none
    char logon_error[512];          // why the last logon was refused
} s_worker_t;

// ------------------------------------------------------------------ requests

const char *hmc_request_kind_name(hmc_request_kind_t kind)
{
    switch (kind) {
    case HMC_REQ_INVENTORY:      return "INVENTORY";
    case HMC_REQ_GET_PARTITION:  return "GET_PARTITION";
    case HMC_REQ_FIND_PARTITION: return "FIND_PARTITION";
    case HMC_REQ_SUBMIT:         return "SUBMIT";
    case HMC_REQ_POLL:           return "POLL";
    case HMC_REQ_DELETE:         return "DELETE";
    case HMC_REQ_CANCEL:         return "CANCEL";
    }
    return "UNKNOWN";
}

static hmc_request_t *s_request_alloc(hmc_request_kind_t kind, uint64_t id)
{
    hmc_request_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->id = id;
    self->kind = kind;
    self->rc = -1;      // "not processed" until the worker says otherwise
    return self;
}

hmc_request_t *hmc_request_new(hmc_request_kind_t kind, uint64_t id, const char *arg)
{
    char **slot_of_arg = NULL;
    hmc_request_t *self = NULL;
    switch (kind) {
    case HMC_REQ_INVENTORY:
        return s_request_alloc(kind, id);
    case HMC_REQ_GET_PARTITION:
    case HMC_REQ_FIND_PARTITION:
    case HMC_REQ_POLL:
    case HMC_REQ_DELETE:
    case HMC_REQ_CANCEL:
        break;
    case HMC_REQ_SUBMIT:        // needs an op: hmc_request_submit_new()
    default:
        return NULL;
    }
    if (!arg)
        return NULL;
    self = s_request_alloc(kind, id);
    if (!self)
        return NULL;
    slot_of_arg = kind == HMC_REQ_GET_PARTITION ? &self->uuid
                : kind == HMC_REQ_FIND_PARTITION ? &self->name : &self->job;
    *slot_of_arg = strdup(arg);
    if (!*slot_of_arg)
        hmc_request_destroy(&self);
    return self;
}

hmc_request_t *hmc_request_submit_new(uint64_t id, const char *partition_uuid, hmc_job_op_t op,
                                      const hmc_param_t *params, size_t count)
{
    if (!partition_uuid || (count > 0 && !params))
        return NULL;
    hmc_request_t *self = s_request_alloc(HMC_REQ_SUBMIT, id);
    if (!self)
        return NULL;
    self->op = op;
    self->uuid = strdup(partition_uuid);
    if (!self->uuid)
        goto fail;
    if (count > 0) {
        self->params = calloc(count, sizeof *self->params);
        if (!self->params)
            goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        if (!params[i].name || !params[i].value)
            goto fail;
        //  Counted as we go so that destroy frees exactly what was copied.
        self->param_count++;
        self->params[i].name = strdup(params[i].name);
        self->params[i].value = strdup(params[i].value);
        if (!self->params[i].name || !self->params[i].value)
            goto fail;
    }
    return self;
fail:
    hmc_request_destroy(&self);
    return NULL;
}

//  Forget every result (a request may be sent again).
static void s_request_reset(hmc_request_t *self)
{
    self->rc = -1;
    self->error[0] = '\0';
    self->http_status = 0;
    self->outcome = HMC_OUTCOME_LOCAL;
    self->elapsed_ms = 0;
    free(self->systems);
    self->systems = NULL;
    self->system_count = 0;
    free(self->partitions);
    self->partitions = NULL;
    self->partition_count = 0;
    self->job_id[0] = '\0';
    hmc_job_status_clear(&self->status);
}

void hmc_request_destroy(hmc_request_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hmc_request_t *self = *self_p;
    s_request_reset(self);
    free(self->uuid);
    free(self->name);
    free(self->job);
    for (size_t i = 0; i < self->param_count; i++) {
        free(self->params[i].name);
        free(self->params[i].value);
    }
    free(self->params);
    free(self);
    *self_p = NULL;
}

// ------------------------------------------------------------------ pipe frames

//  The pointer carried by frame, or NULL when it is not a pointer frame.
static void *s_frame_pointer(zframe_t *frame)
{
    void *pointer = NULL;
    if (frame && zframe_size(frame) == sizeof pointer)
        memcpy(&pointer, zframe_data(frame), sizeof pointer);
    return pointer;
}

static bool s_frame_is(zframe_t *frame, const char *text)
{
    return frame && zframe_streq(frame, text);
}

// ------------------------------------------------------------------ worker side

static void s_fail(hmc_request_t *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_fail(hmc_request_t *req, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(req->error, sizeof req->error, fmt, args);
    va_end(args);
    req->rc = -1;
}

//  The session's message and status into req after a failed call.
static void s_fail_session(s_worker_t *self, hmc_request_t *req)
{
    s_fail(req, "%s", hmc_error(self->session));
    req->http_status = hmc_http_status(self->session);
    //  A refused re-logon inside the client (401 on a request, then 401 on
    //  the logon) leaves the session without a token: hold off like ours.
    if (!hmc_logged_on(self->session) && (req->http_status == 401 || req->http_status == 403)) {
        self->logon_holdoff_until_ms = clock_mono_ms() + HMC_WORKER_LOGON_HOLDOFF_MS;
        snprintf(self->logon_error, sizeof self->logon_error, "%s", req->error);
    }
}

//  Log on when the session holds no token, unless a recent logon was refused
//  for its credentials: repeated failed logons lock HMC accounts.
static int s_ensure_logon(s_worker_t *self, hmc_request_t *req)
{
    if (hmc_logged_on(self->session))
        return 0;
    int64_t now = clock_mono_ms();
    if (self->logon_holdoff_until_ms > now) {
        s_fail(req, "%s (no new logon for %" PRId64 " s)", self->logon_error,
               (self->logon_holdoff_until_ms - now + 999) / 1000);
        req->outcome = HMC_OUTCOME_LOGON_REFUSED;
        return -1;
    }
    if (hmc_logon(self->session) != 0) {
        s_fail_session(self, req);
        int status = req->http_status;
        if (status == 401 || status == 403) {
            self->logon_holdoff_until_ms = now + HMC_WORKER_LOGON_HOLDOFF_MS;
            snprintf(self->logon_error, sizeof self->logon_error, "%s", req->error);
            req->outcome = HMC_OUTCOME_LOGON_REFUSED;
        }
        else
            req->outcome = status == 0 ? HMC_OUTCOME_NO_ANSWER : HMC_OUTCOME_ANSWERED;
        return -1;
    }
    self->logon_holdoff_until_ms = 0;
    return 0;
}

//  The required string input of req, or NULL with a message in req.
static const char *s_input(hmc_request_t *req, const char *value, const char *what)
{
    if (!value)
        s_fail(req, "%s request without %s", hmc_request_kind_name(req->kind), what);
    return value;
}

static int s_do_inventory(s_worker_t *self, hmc_request_t *req)
{
    if (hmc_list_systems(self->session, &req->systems, &req->system_count) != 0
        || hmc_list_partitions(self->session, NULL, &req->partitions, &req->partition_count) != 0)
        return -1;
    return 0;
}

static int s_do_partition(s_worker_t *self, hmc_request_t *req)
{
    bool find = req->kind == HMC_REQ_FIND_PARTITION;
    const char *arg = find ? s_input(req, req->name, "a partition name")
                           : s_input(req, req->uuid, "a partition UUID");
    if (!arg)
        return 1;
    req->partitions = calloc(1, sizeof *req->partitions);
    if (!req->partitions) {
        s_fail(req, "out of memory");
        return 1;
    }
    bool found = true;
    int rc = find ? hmc_find_partition(self->session, arg, req->partitions, &found)
                  : hmc_get_partition(self->session, arg, req->partitions);
    if (rc == 0 && found)
        req->partition_count = 1;
    else {
        free(req->partitions);
        req->partitions = NULL;
    }
    return rc;
}

static int s_do_submit(s_worker_t *self, hmc_request_t *req)
{
    if (!s_input(req, req->uuid, "a partition UUID"))
        return 1;
    //  The client takes borrowed pairs: point into ours.
    hmc_param_t *params = NULL;
    if (req->param_count > 0) {
        params = calloc(req->param_count, sizeof *params);
        if (!params) {
            s_fail(req, "out of memory");
            return 1;
        }
    }
    for (size_t i = 0; i < req->param_count; i++)
        params[i] = (hmc_param_t){.name = req->params[i].name, .value = req->params[i].value};
    int rc = hmc_job_submit(self->session, req->uuid, req->op, params, req->param_count,
                            req->job_id, sizeof req->job_id);
    free(params);
    return rc;
}

static int s_do_job(s_worker_t *self, hmc_request_t *req)
{
    const char *job = s_input(req, req->job, "a job id");
    if (!job)
        return 1;
    snprintf(req->job_id, sizeof req->job_id, "%s", job);
    if (req->kind == HMC_REQ_POLL)
        return hmc_job_poll(self->session, job, &req->status);
    if (req->kind == HMC_REQ_DELETE)
        return hmc_job_delete(self->session, job);
    return hmc_job_cancel(self->session, job);
}

//  Run one request: fills its results.
static void s_process(s_worker_t *self, hmc_request_t *req)
{
    s_request_reset(req);
    int64_t start = clock_mono_ms();
    //  Each s_do_* returns 0 done, -1 failed in the session (message there),
    //  1 refused before reaching it (message already in req).
    int rc = 1;
    if (req->kind > HMC_REQ_CANCEL || (int) req->kind < 0)
        s_fail(req, "unknown request kind %d", (int) req->kind);
    else if (s_ensure_logon(self, req) == 0) {
        switch (req->kind) {
        case HMC_REQ_INVENTORY:
            rc = s_do_inventory(self, req);
            break;
        case HMC_REQ_GET_PARTITION:
        case HMC_REQ_FIND_PARTITION:
            rc = s_do_partition(self, req);
            break;
        case HMC_REQ_SUBMIT:
            rc = s_do_submit(self, req);
            break;
        case HMC_REQ_POLL:
        case HMC_REQ_DELETE:
        case HMC_REQ_CANCEL:
            rc = s_do_job(self, req);
            break;
        }
    }
    if (rc == 0) {
        req->rc = 0;
        req->http_status = hmc_http_status(self->session);
        req->outcome = HMC_OUTCOME_ANSWERED;
    }
    else if (rc < 0) {
        //  Half-filled results are dropped: rc -1 means "nothing usable".
        char error[sizeof req->error];
        s_fail_session(self, req);
        memcpy(error, req->error, sizeof error);
        int status = req->http_status;
        bool refused = !hmc_logged_on(self->session) && (status == 401 || status == 403);
        s_request_reset(req);
        memcpy(req->error, error, sizeof error);
        req->http_status = status;
        req->outcome = refused ? HMC_OUTCOME_LOGON_REFUSED
                       : status == 0 ? HMC_OUTCOME_NO_ANSWER : HMC_OUTCOME_ANSWERED;
    }
    req->elapsed_ms = clock_mono_ms() - start;
    void (*say)(const char *, ...) = self->verbose ? log_info : log_debug;
    if (req->rc == 0)
        say("HMC %s: %s #%" PRIu64 " done in %" PRId64 " ms", self->name,
            hmc_request_kind_name(req->kind), req->id, req->elapsed_ms);
    else
        say("HMC %s: %s #%" PRIu64 " failed in %" PRId64 " ms: %s", self->name,
            hmc_request_kind_name(req->kind), req->id, req->elapsed_ms, req->error);
}

//  Read one message from the pipe: a request goes to the queue. Returns
//  false when the worker must stop ($TERM, or the pipe's context is gone).
static bool s_read_pipe(s_worker_t *self, zsock_t *pipe, zlist_t *queue)
{
    zmsg_t *msg = zmsg_recv(pipe);
    if (!msg)
        return zmq_errno() != ETERM;    // EINTR: nothing read, go on
    bool go_on = true;
    zframe_t *first = zmsg_first(msg);
    hmc_request_t *req = zmsg_size(msg) == 1 ? s_frame_pointer(first) : NULL;
    if (s_frame_is(first, "$TERM"))
        go_on = false;
    else if (s_frame_is(first, "VERBOSE"))
        self->verbose = s_frame_is(zmsg_next(msg), "1");
    else if (req) {
        if (zlist_append(queue, req) != 0) {
            //  Cannot queue it: give it back failed rather than lose it.
            s_fail(req, "HMC %s worker: out of memory", self->name);
            zsock_send(pipe, "p", req);
        }
    }
    else
        log_warn("HMC %s worker: unexpected message on its pipe, dropped", self->name);
    zmsg_destroy(&msg);
    return go_on;
}

static void s_actor(zsock_t *pipe, void *args)
{
    s_worker_t *self = args;
    zlist_t *queue = zlist_new();
    //  zactor_new waits for this signal; the start status follows it.
    zsock_signal(pipe, 0);
    zsock_send(pipe, "i", queue ? 0 : -1);
    bool go_on = queue != NULL;
    while (go_on) {
        if (zlist_size(queue) == 0)
            go_on = s_read_pipe(self, pipe, queue);     // idle: wait
        //  Take in everything waiting, so that $TERM is seen now.
        while (go_on && (zsock_events(pipe) & ZMQ_POLLIN))
            go_on = s_read_pipe(self, pipe, queue);
        hmc_request_t *req = go_on ? zlist_pop(queue) : NULL;
        if (req) {
            s_process(self, req);
            zsock_send(pipe, "p", req);
        }
    }
    //  Requests queued behind $TERM are not run; they are ours to free.
    hmc_request_t *req;
    while (queue && (req = zlist_pop(queue)))
        hmc_request_destroy(&req);
    zlist_destroy(&queue);
    if (hmc_logged_on(self->session) && hmc_logoff(self->session) != 0)
        log_warn("HMC %s: logoff: %s", self->name, hmc_error(self->session));
    zsock_send(pipe, "sp", "$DONE", self);
}

// ------------------------------------------------------------------ caller side

static void s_worker_free(s_worker_t **self_p)
{
    if (!*self_p)
        return;
    hmc_session_destroy(&(*self_p)->session);
    free(*self_p);
    *self_p = NULL;
}

zactor_t *hmc_worker_new(const hmc_options_t *opts, const char *name, char *err, size_t errlen)
{
    zactor_t *actor = NULL;
    s_worker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(self->name, sizeof self->name, "%s", name && name[0] ? name : "?");
    self->session = hmc_session_new(opts, err, errlen);
    if (!self->session)
        goto fail;
    actor = zactor_new(s_actor, self);
    int status = -1;
    if (!actor || zsock_recv(actor, "i", &status) != 0 || status != 0) {
        snprintf(err, errlen, "HMC %s: cannot start the worker", self->name);
        goto fail;
    }
    //  The planner sends from its event loop: a full pipe must fail, not block.
    zsock_set_sndtimeo(zactor_sock(actor), 0);
    return actor;
fail:
    if (actor) {
        //  It started and stops at $TERM; it owns no request yet.
        hmc_worker_destroy(&actor);
        return NULL;
    }
    s_worker_free(&self);
    return NULL;
}

//  Free a message coming from the worker. Returns the worker state when it
//  is the "$DONE" message, else NULL (a request is destroyed).
static s_worker_t *s_drop_reply(zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    s_worker_t *done = NULL;
    zframe_t *first = zmsg_first(msg);
    if (s_frame_is(first, "$DONE"))
        done = s_frame_pointer(zmsg_next(msg));
    else if (zmsg_size(msg) == 1) {
        hmc_request_t *req = s_frame_pointer(first);
        hmc_request_destroy(&req);
    }
    zmsg_destroy(msg_p);
    return done;
}

void hmc_worker_destroy(zactor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zactor_t *actor = *self_p;
    s_worker_t *state = NULL;
    bool dead = false;
    //  Replies the caller never took may fill the pipe while the worker
    //  blocks on sending one more: free them while trying to send $TERM.
    zpoller_t *poller = zpoller_new(actor, NULL);
    while (!dead && !state && zstr_send(actor, "$TERM") != 0) {
        if (poller && zpoller_wait(poller, 100) != actor)
            continue;       // without a poller, the blocking receive below waits
        zmsg_t *msg = zmsg_recv(actor);
        if (msg)
            state = s_drop_reply(&msg);
        else
            dead = zmq_errno() == ETERM;
    }
    //  Then every reply up to "$DONE": the worker sends it after logoff.
    while (!dead && !state) {
        zmsg_t *msg = zmsg_recv(actor);
        if (msg)
            state = s_drop_reply(&msg);
        else
            dead = zmq_errno() == ETERM;
    }
    zpoller_destroy(&poller);
    //  The actor's thread ends right after "$DONE": zactor_destroy collects
    //  its last signal (its own $TERM then finds the worker gone or ending).
    zactor_destroy(self_p);
    s_worker_free(&state);
}

int hmc_worker_send(zactor_t *self, hmc_request_t **req_p)
{
    if (!self || !req_p || !*req_p)
        return -1;
    if (zsock_send(self, "p", *req_p) != 0)
        return -1;
    *req_p = NULL;
    return 0;
}

hmc_request_t *hmc_worker_recv(zactor_t *self)
{
    if (!self)
        return NULL;
    zmsg_t *msg = zmsg_recv(self);
    if (!msg)
        return NULL;
    hmc_request_t *req = zmsg_size(msg) == 1 ? s_frame_pointer(zmsg_first(msg)) : NULL;
    if (!req)
        log_warn("HMC worker: unexpected message from the worker, dropped");
    zmsg_destroy(&msg);
    return req;
}

void hmc_worker_set_verbose(zactor_t *self, bool verbose)
{
    if (self)
        zstr_sendx(self, "VERBOSE", verbose ? "1" : "0", NULL);
}
