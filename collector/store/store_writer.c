/*  store_writer — the one SQLite writer thread and its clients.

    Wire: each client is a DEALER connected to the writer's inproc ROUTER; a
    request is one frame holding a pointer to the client's s_request_t (the
    same address space: nothing is copied), the reply is that pointer back.
    The request is the client's until it comes back; the writer only fills
    rc and err. */
#include "store_writer.h"

#include "errbuf.h"
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ERR_SIZE 512

typedef struct {
    store_writer_fn *fn;            // the work
    void *arg;                      // its argument, the client's
    store_done_fn *done;            // NULL: a blocking call waits for it
    void *done_arg;                 // done's argument
    int rc;                         // what fn returned
    char err[S_ERR_SIZE];           // and its reason
} s_request_t;

struct _store_writer_t {
    store_t *store;                 // the write connection, used by the thread only
    zactor_t *actor;                // the thread
    char endpoint[64];              // inproc endpoint of its ROUTER
    int64_t max_length;             // store_max_length, read at open
    atomic_bool bound;              // the thread's ROUTER is bound, set before its signal
};

struct _store_client_t {
    store_writer_t *writer;         // borrowed
    zsock_t *dealer;                // to the writer's ROUTER
    zloop_t *loop;                  // borrowed, may be NULL
    zlistx_t *stash;                // s_request_t * answered while a call waited
    size_t pending;                 // sent, callback not yet called
    int stash_timer;                // zloop timer handing the stash over, -1 none
};

//  ------------------------------------------------------------ the thread

//  Receive one frame of a message, waiting out signals. -1 when the socket failed.
static int s_recv_part(void *handle, zmq_msg_t *msg)
{
    int rc;
    do
        rc = zmq_msg_recv(msg, handle, 0);
    while (rc < 0 && zmq_errno() == EINTR);
    return rc;
}

//  Run one request and send its pointer back. False when the ROUTER failed.
static bool s_serve_one(store_writer_t *self, zsock_t *router)
{
    void *handle = zsock_resolve(router);
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    bool ok = s_recv_part(handle, &rid) >= 0 && zmq_msg_more(&rid)
              && s_recv_part(handle, &body) >= 0;
    if (ok && !zmq_msg_more(&body) && zmq_msg_size(&body) == sizeof(s_request_t *)) {
        s_request_t *req;
        memcpy(&req, zmq_msg_data(&body), sizeof req);
        req->err[0] = '\0';
        req->rc = req->fn(self->store, req->arg, req->err, sizeof req->err);
        if (req->rc != 0 && !req->err[0])
            snprintf(req->err, sizeof req->err, "the store failed without saying why");
        //  Sent with the pointer: the client's request is the client's again.
        zmq_msg_send(&rid, handle, ZMQ_SNDMORE);
        zmq_msg_send(&body, handle, 0);
    }
    else if (ok)
        log_error("store writer: a request of %zu bytes dropped", zmq_msg_size(&body));
    zmq_msg_close(&rid);
    zmq_msg_close(&body);
    return ok;
}

static void s_actor(zsock_t *pipe, void *args)
{
    store_writer_t *self = args;
    zsock_t *router = zsock_new_router(self->endpoint);
    if (!router) {
        log_error("store writer: cannot bind %s", self->endpoint);
        zsock_signal(pipe, 1);
        return;
    }
    zsock_set_rcvhwm(router, 0);
    zsock_set_sndhwm(router, 0);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    //  SIGTERM must not end the writer: the collector's stop commits
    //  through it. Only $TERM (store_writer_destroy) does.
    zpoller_set_nonstop(poller, true);
    atomic_store(&self->bound, true);
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == router) {
            if (!s_serve_one(self, router))
                break;
            continue;
        }
        if (which != pipe) {
            if (zpoller_terminated(poller))
                break;  // the context is gone
            continue;
        }
        char *command = zstr_recv(pipe);
        bool term = !command || streq(command, "$TERM");
        zstr_free(&command);
        if (term)
            break;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
}

store_writer_t *store_writer_new(const char *path, const store_options_t *opts, char *err,
                                 size_t errlen)
{
    static atomic_uint s_count;
    store_writer_t *self = calloc(1, sizeof *self);
    if (!self) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    self->store = store_open(path, opts, err, errlen);
    if (!self->store)
        goto fail;
    self->max_length = store_max_length(self->store);
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://store-writer-%u",
             atomic_fetch_add(&s_count, 1));
    self->actor = zactor_new(s_actor, self);
    //  zactor_new does not return the thread's signal: a writer that could
    //  not bind would take requests and never answer them.
    if (!self->actor || !atomic_load(&self->bound)) {
        errbuf_set(err, errlen, "cannot start the store writer thread");
        goto fail;
    }
    return self;
fail:
    store_writer_destroy(&self);
    return NULL;
}

void store_writer_destroy(store_writer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_writer_t *self = *self_p;
    zactor_destroy(&self->actor);
    store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

int64_t store_writer_max_length(store_writer_t *self)
{
    return self->max_length;
}

//  ------------------------------------------------------------ clients

static s_request_t *s_recv(store_client_t *self, bool wait)
{
    s_request_t *req = NULL;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int size;
    //  A signal (SIGHUP, SIGTERM) must not end a wait: the request it waits
    //  for may live on the caller's stack.
    do
        size = zmq_msg_recv(&msg, zsock_resolve(self->dealer), wait ? 0 : ZMQ_DONTWAIT);
    while (size < 0 && wait && zmq_errno() == EINTR);
    if (size == (int) sizeof req)
        memcpy(&req, zmq_msg_data(&msg), sizeof req);
    zmq_msg_close(&msg);
    return req;
}

static void s_finish(store_client_t *self, s_request_t *req)
{
    self->pending--;
    req->done(req->done_arg, req->rc, req->err);
    free(req);
}

//  Hand over what a blocking call kept, oldest first: those came before
//  anything still waiting on the socket.
static void s_flush_stash(store_client_t *self)
{
    s_request_t *req;
    while ((req = zlistx_detach(self->stash, NULL)))
        s_finish(self, req);
}

static int s_on_reply(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    store_client_t *self = arg;
    //  A callback may make a blocking call that keeps replies aside: they
    //  go before anything read after them.
    s_request_t *req;
    do {
        s_flush_stash(self);
        req = s_recv(self, false);
        if (req)
            s_finish(self, req);
    } while (req);
    return 0;
}

static int s_on_stash(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    store_client_t *self = arg;
    self->stash_timer = -1;
    s_flush_stash(self);
    return 0;
}

store_client_t *store_client_new(store_writer_t *writer, zloop_t *loop)
{
    store_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->writer = writer;
    self->loop = loop;
    self->stash_timer = -1;
    self->stash = zlistx_new();
    self->dealer = zsock_new_dealer(writer->endpoint);
    if (!self->stash || !self->dealer)
        goto fail;
    zsock_set_rcvhwm(self->dealer, 0);
    zsock_set_sndhwm(self->dealer, 0);
    if (loop && zloop_reader(loop, self->dealer, s_on_reply, self) != 0)
        goto fail;
    return self;
fail:
    zsock_destroy(&self->dealer);
    zlistx_destroy(&self->stash);
    free(self);
    return NULL;
}

void store_client_destroy(store_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_client_t *self = *self_p;
    store_client_wait(self);
    if (self->loop) {
        if (self->stash_timer >= 0)
            zloop_timer_end(self->loop, self->stash_timer);
        zloop_reader_end(self->loop, self->dealer);
    }
    zsock_destroy(&self->dealer);
    zlistx_destroy(&self->stash);
    free(self);
    *self_p = NULL;
}

static int s_send(store_client_t *self, s_request_t *req)
{
    return zmq_send(zsock_resolve(self->dealer), &req, sizeof req, 0) == (int) sizeof req ? 0 : -1;
}

int store_client_send(store_client_t *self, store_writer_fn *fn, void *arg, store_done_fn *done,
                      void *done_arg)
{
    s_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return -1;
    *req = (s_request_t) { .fn = fn, .arg = arg, .done = done, .done_arg = done_arg };
    if (s_send(self, req) != 0) {
        free(req);
        return -1;
    }
    self->pending++;
    return 0;
}

int store_client_call(store_client_t *self, store_writer_fn *fn, void *arg, char *err,
                      size_t errlen)
{
    s_request_t mine = { .fn = fn, .arg = arg };
    if (s_send(self, &mine) != 0) {
        errbuf_set(err, errlen, "the store writer is gone");
        return -1;
    }
    s_request_t *req;
    while ((req = s_recv(self, true)) != &mine) {
        if (!req) {
            errbuf_set(err, errlen, "the store writer is gone");
            return -1;      // our request may still run: it must not be on our stack then
        }
        zlistx_add_end(self->stash, req);
    }
    if (zlistx_size(self->stash) && self->loop && self->stash_timer < 0)
        self->stash_timer = zloop_timer(self->loop, 1, 1, s_on_stash, self);
    if (mine.rc != 0)
        errbuf_set(err, errlen, "%s", mine.err);
    return mine.rc;
}

int store_client_wait(store_client_t *self)
{
    s_flush_stash(self);
    while (self->pending > 0) {
        s_request_t *req = s_recv(self, true);
        if (!req)
            return -1;
        s_finish(self, req);
    }
    return 0;
}

int store_client_wait_one(store_client_t *self)
{
    s_request_t *req = zlistx_detach(self->stash, NULL);
    if (!req && self->pending > 0 && !(req = s_recv(self, true)))
        return -1;
    if (req)
        s_finish(self, req);
    return 0;
}

size_t store_client_pending(store_client_t *self)
{
    return self->pending;
}
