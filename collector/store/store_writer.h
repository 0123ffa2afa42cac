/*  store_writer — the collector's one SQLite writer, in its own thread
    (DESIGN §5: the store is the only writer, in its own actor).

    The writer owns the write connection (store_t). Other actors never touch
    it: they hand the writer work as a function to run on its thread with the
    store (store_writer_fn), through a store_client_t of their own, and get
    the result back on their own loop (store_client_send) or wait for it
    (store_client_call). Work runs one request at a time, in the order each
    client sent it; requests of different clients interleave only between
    requests, never inside one, so a request that opens a transaction
    (store_begin) must commit or roll it back before it returns.

    Why a thread: a commit with synchronous = FULL waits for the disk. On the
    ingest thread it stopped the reading of agents' frames for as long; a
    planner transition committed ingest's batch early. Now ingest decodes
    and tracks the next batch while the writer commits the last one, and a
    planner round commits without holding anyone but the planner.

    A client belongs to one thread. Its replies arrive on an inproc socket
    that client_new puts on the loop it is given; a reply that a blocking
    call sees before its own is kept and handed to its callback from that
    loop shortly after, never from inside the blocking call. */
#ifndef FERRY_STORE_WRITER_H
#define FERRY_STORE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "store.h"

typedef struct _store_writer_t store_writer_t;
typedef struct _store_client_t store_client_t;

//  Work for the writer's thread: store is the write connection (borrowed,
//  for the call only); arg as the client gave it. Returns 0 / -1; on -1 it
//  leaves a readable reason in err (errlen bytes, the writer's buffer).
typedef int(store_writer_fn)(store_t *store, void *arg, char *err, size_t errlen);

//  The end of a request sent with store_client_send, called on the client's
//  loop: rc and err (borrowed, "" on success) as the work returned them,
//  arg the done_arg given to store_client_send.
typedef void(store_done_fn)(void *arg, int rc, const char *err);

//  Open (create, migrate) the database at path (borrowed) with opts (may be
//  NULL: store defaults) and start the writer thread with it. NULL with a
//  readable message in err when the database cannot be opened.
store_writer_t *store_writer_new(const char *path, const store_options_t *opts, char *err,
                                 size_t errlen);

//  Run what was sent before, stop the thread, close the database; NULLs
//  *self_p; safe on NULL and twice. Every client must be destroyed before.
void store_writer_destroy(store_writer_t **self_p);

//  The longest text or blob the database takes (store_max_length), read at
//  open: for store_check on another thread.
int64_t store_writer_max_length(store_writer_t *self);

//  A client for the calling thread. loop (borrowed, may be NULL for a client
//  that only blocks in store_client_call) gets a reader for the replies.
//  writer borrowed: it must outlive the client. NULL when out of sockets.
store_client_t *store_client_new(store_writer_t *writer, zloop_t *loop);

//  Wait for the requests still running (their callbacks are called from
//  here), take the reader off the loop, close; NULLs *self_p; safe twice.
void store_client_destroy(store_client_t **self_p);

//  Queue fn(store, arg) on the writer and return at once; done(done_arg,
//  rc, err) is called on the client's loop when it ran. arg is the
//  writer's (do not touch it) until done is called. 0, or -1 when it could
//  not be queued (done not called).
int store_client_send(store_client_t *self, store_writer_fn *fn, void *arg, store_done_fn *done,
                      void *done_arg);

//  Run fn(store, arg) on the writer and wait for it: the return of fn, with
//  its reason in err (the caller's buffer) on -1. Requests sent before by
//  this client run first.
int store_client_call(store_client_t *self, store_writer_fn *fn, void *arg, char *err,
                      size_t errlen);

//  Block until every request this client sent has run and its callback was
//  called (for a clean stop). 0 / -1 when the writer is gone.
int store_client_wait(store_client_t *self);

//  Block until the oldest request still waiting has run and its callback
//  was called; at once when none waits. 0 / -1 when the writer is gone.
int store_client_wait_one(store_client_t *self);

//  Requests sent and not yet answered by their callbacks.
size_t store_client_pending(store_client_t *self);

#endif
