/*  agent_link — the agent's connection to the collector.

    Delivery is at-least-once: a message is in the spool before it is sent.
    send_next is the next seq to put on the wire; it is rewound to the oldest
    unacked seq after every completed handshake and whenever acks stop
    progressing for ack_timeout_ms (a frame can die in a TCP buffer when the
    collector is killed), so the collector may see a seq twice and drops it. */
#include "agent_link.h"

#include "clock.h"
#include "codec.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

struct _agent_link_t {
    const agent_link_options_t *opts; // borrowed
    zloop_t *loop;                  // borrowed event loop
    zsock_t *dealer;                // socket to the collector
    zactor_t *monitor;              // socket events: handshake done, disconnected
    zmq_pollitem_t pollout;         // writable-wait item, used while the socket is full
    bool waiting_pollout;           // pollout is registered on the loop
    bool connected;                 // handshake completed and not disconnected since
    uint64_t send_next;             // next seq to put on the wire
    int64_t last_progress_ms;       // monotonic time acks last moved (or sending began)
    int64_t auth_warn_ms;           // rate limit of the "rejected our key" warning
    int auth_retry_ms;              // backoff before reconnecting after a refused handshake
    int auth_retry_timer;           // zloop timer id of the pending reconnect, -1 none
    uint8_t *buf;                   // reusable encode buffer
    size_t buf_size;                // bytes allocated in buf
};

static void s_pump(agent_link_t *self);

static uint8_t *s_encode(agent_link_t *self, const Ferry__Envelope *env, size_t *size_p)
{
    size_t size = ferry__envelope__get_packed_size(env);
    if (size > self->opts->max_frame)
        return NULL;
    if (size > self->buf_size) {
        size_t want = size < 4096 ? 4096 : size;
        uint8_t *grown = realloc(self->buf, want);
        if (!grown)
            return NULL;
        self->buf = grown;
        self->buf_size = want;
    }
    *size_p = ferry__envelope__pack(env, self->buf);
    return self->buf;
}

//  Non-blocking send of one frame. 1 sent, 0 socket full / not connected, -1 error.
static int s_send_frame(agent_link_t *self, const uint8_t *data, size_t size)
{
    if (zmq_send(zsock_resolve(self->dealer), data, size, ZMQ_DONTWAIT) >= 0)
        return 1;
    return errno == EAGAIN ? 0 : -1;
}

static int s_on_pollout(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    agent_link_t *self = arg;
    zloop_poller_end(self->loop, &self->pollout);
    self->waiting_pollout = false;
    s_pump(self);
    return 0;
}

static void s_wait_writable(agent_link_t *self)
{
    if (self->waiting_pollout)
        return;
    self->pollout = (zmq_pollitem_t){ .socket = zsock_resolve(self->dealer), .events = ZMQ_POLLOUT };
    zloop_poller(self->loop, &self->pollout, s_on_pollout, self);
    self->waiting_pollout = true;
}

//  Put spooled records on the wire from send_next on, until the socket is full.
static void s_pump(agent_link_t *self)
{
    spool_t *spool = self->opts->spool;
    while (self->connected && self->send_next < spool_next_seq(spool)) {
        uint64_t seq;
        uint8_t *data = NULL;
        size_t size;
        int found = spool_read(spool, self->send_next, &seq, &data, &size);
        if (found == 0)
            break;
        if (found < 0) {
            //  Unreadable record: skip it rather than stall delivery forever.
            log_warn("spool: cannot read seq %" PRIu64 ", skipping it", self->send_next);
            self->send_next++;
            continue;
        }
        int sent = s_send_frame(self, data, size);
        free(data);
        if (sent == 0) {
            s_wait_writable(self);
            return;
        }
        self->send_next = seq + 1;
    }
}

static void s_send_hello(agent_link_t *self)
{
    Ferry__Envelope env;
    Ferry__Hello hello = FERRY__HELLO__INIT;
    codec_envelope_init(&env, 0);
    hello.agent_version = (char *) FERRY_VERSION;
    hello.platform = (char *) self->opts->platform;
    hello.hostname = (char *) self->opts->hostname;
    hello.boot_id = (char *) self->opts->boot_id;
    hello.stream_id = spool_stream_id(self->opts->spool);
    hello.next_seq = spool_next_seq(self->opts->spool);
    env.first_seq = spool_first_seq(self->opts->spool);
    env.body_case = FERRY__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    size_t size;
    uint8_t *data = s_encode(self, &env, &size);
    if (data)
        s_send_frame(self, data, size);
}

//  Start over from the oldest unacked record.
static void s_rewind(agent_link_t *self)
{
    self->send_next = spool_first_seq(self->opts->spool);
    self->last_progress_ms = clock_mono_ms();
}

static int s_on_reconnect(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_link_t *self = arg;
    self->auth_retry_timer = -1;
    zsock_disconnect(self->dealer, "%s", self->opts->endpoint);
    zsock_connect(self->dealer, "%s", self->opts->endpoint);
    return 0;
}

//  libzmq does not reconnect after a refused handshake (it counts as a
//  protocol error), yet the administrator may allow our key any minute:
//  reconnect ourselves, backing off from 1 s to 60 s.
static void s_schedule_reconnect(agent_link_t *self)
{
    if (self->auth_retry_timer >= 0)
        return;
    self->auth_retry_ms = self->auth_retry_ms ? self->auth_retry_ms * 2 : 1000;
    if (self->auth_retry_ms > 60000)
        self->auth_retry_ms = 60000;
    self->auth_retry_timer = zloop_timer(self->loop, (size_t) self->auth_retry_ms, 1,
                                         s_on_reconnect, self);
}

static int s_on_monitor(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    agent_link_t *self = arg;
    zmsg_t *msg = zmsg_recv(reader);
    if (!msg)
        return 0;
    char *event = zmsg_popstr(msg);
    char *value = zmsg_popstr(msg);
    char *address = zmsg_popstr(msg);
    if (event && strcmp(event, "HANDSHAKE_SUCCEEDED") == 0) {
        log_info("connected to the collector at %s", address ? address : self->opts->endpoint);
        self->connected = true;
        self->auth_retry_ms = 0;
        s_send_hello(self);
        s_rewind(self);
        s_pump(self);
    }
    else if (event && strcmp(event, "DISCONNECTED") == 0) {
        if (self->connected)
            log_warn("lost the collector at %s; spooling until it is back", self->opts->endpoint);
        self->connected = false;
    }
    else if (event && (strcmp(event, "HANDSHAKE_FAILED_AUTH") == 0
                       || strcmp(event, "HANDSHAKE_FAILED_PROTOCOL") == 0)) {
        if (log_ratelimit(&self->auth_warn_ms, clock_mono_ms(), 60000))
            log_warn("the collector at %s rejected this agent's key: is its public certificate"
                     " in the collector's allowed_agents directory? Retrying with backoff",
                     self->opts->endpoint);
        s_schedule_reconnect(self);
    }
    zstr_free(&event);
    zstr_free(&value);
    zstr_free(&address);
    zmsg_destroy(&msg);
    return 0;
}

static void s_on_ack(agent_link_t *self, uint64_t seq)
{
    spool_t *spool = self->opts->spool;
    if (seq >= spool_next_seq(spool)) {
        //  The collector knows a future we never wrote: a stale database or a
        //  restored spool. Ignore it rather than forget unsent data.
        log_warn("collector acked seq %" PRIu64 " but the next seq is %" PRIu64 "; ignored", seq,
                 spool_next_seq(spool));
        return;
    }
    if (seq > spool_acked_seq(spool)) {
        spool_ack(spool, seq);
        self->last_progress_ms = clock_mono_ms();
    }
    if (self->send_next <= seq)
        self->send_next = seq + 1;
}

static int s_on_dealer(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    agent_link_t *self = arg;
    for (int i = 0; i < 256; i++) {
        zframe_t *frame = zframe_recv_nowait(reader);
        if (!frame)
            break;
        Ferry__Envelope *env = NULL;
        codec_status_t status = codec_decode(zframe_data(frame), zframe_size(frame),
                                             self->opts->max_frame, CODEC_TO_AGENT, &env);
        zframe_destroy(&frame);
        if (status != CODEC_OK) {
            log_warn("dropped a bad frame from the collector: %s", codec_status_name(status));
            continue;
        }
        if (env->body_case == FERRY__ENVELOPE__BODY_ACK)
            s_on_ack(self, env->ack->seq);
        else if (self->opts->handler)
            self->opts->handler(env, self->opts->handler_arg);
        codec_free(&env);
    }
    s_pump(self);
    return 0;
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    agent_link_t *self = arg;
    spool_sync(self->opts->spool);
    if (self->connected && spool_count(self->opts->spool) > 0
        && clock_mono_ms() - self->last_progress_ms > self->opts->ack_timeout_ms) {
        log_debug("no ack progress for %d ms: resending from seq %" PRIu64,
                  self->opts->ack_timeout_ms, spool_first_seq(self->opts->spool));
        s_send_hello(self);
        s_rewind(self);
        s_pump(self);
    }
    return 0;
}

agent_link_t *agent_link_new(const agent_link_options_t *opts, zloop_t *loop, char *err,
                             size_t errlen)
{
    agent_link_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = opts;
    self->loop = loop;
    self->send_next = spool_first_seq(opts->spool);
    self->auth_retry_timer = -1;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer) {
        snprintf(err, errlen, "cannot create the DEALER socket");
        goto fail;
    }
    zcert_apply(opts->cert, self->dealer);
    zsock_set_curve_serverkey(self->dealer, opts->server_key);
    //  Queue nothing for a peer that is not connected: the spool is the queue.
    zsock_set_immediate(self->dealer, 1);
    zsock_set_linger(self->dealer, 0);
    zsock_set_sndhwm(self->dealer, 1000);
    zsock_set_reconnect_ivl(self->dealer, 100);
    zsock_set_reconnect_ivl_max(self->dealer, 5000);
    //  Detects a dead collector; the agent's own heartbeats say it is alive.
    zsock_set_heartbeat_ivl(self->dealer, 10000);
    zsock_set_heartbeat_timeout(self->dealer, 30000);

    self->monitor = zactor_new(zmonitor, self->dealer);
    zstr_sendx(self->monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", "DISCONNECTED",
               "HANDSHAKE_FAILED_AUTH", "HANDSHAKE_FAILED_PROTOCOL", NULL);
    zstr_sendx(self->monitor, "START", NULL);
    zsock_wait(self->monitor);

    if (zsock_connect(self->dealer, "%s", opts->endpoint) < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", opts->endpoint, zmq_strerror(zmq_errno()));
        goto fail;
    }
    zloop_reader(loop, self->dealer, s_on_dealer, self);
    zloop_reader(loop, zactor_sock(self->monitor), s_on_monitor, self);
    int period = opts->sync_ms < opts->ack_timeout_ms / 4 ? opts->sync_ms : opts->ack_timeout_ms / 4;
    zloop_timer(loop, (size_t) (period > 10 ? period : 10), 0, s_on_timer, self);
    return self;
fail:
    agent_link_destroy(&self);
    return NULL;
}

void agent_link_destroy(agent_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_link_t *self = *self_p;
    if (self->loop && self->dealer) {
        zloop_reader_end(self->loop, self->dealer);
        if (self->waiting_pollout)
            zloop_poller_end(self->loop, &self->pollout);
    }
    if (self->loop && self->monitor)
        zloop_reader_end(self->loop, zactor_sock(self->monitor));
    if (self->loop && self->auth_retry_timer >= 0)
        zloop_timer_end(self->loop, self->auth_retry_timer);
    zactor_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
    if (self->opts->spool)
        spool_sync(self->opts->spool);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

uint64_t agent_link_send(agent_link_t *self, Ferry__Envelope *env, spool_class_t cls)
{
    spool_t *spool = self->opts->spool;
    uint64_t seq = spool_next_seq(spool);
    env->version = CODEC_VERSION;
    env->seq = seq;
    env->first_seq = spool_first_seq(spool);
    if (!env->sent_ms)
        env->sent_ms = clock_wall_ms();
    size_t size;
    uint8_t *data = s_encode(self, env, &size);
    char err[256];
    if (!data) {
        log_error("cannot encode a %s message (larger than max_frame?)", codec_body_name(env->body_case));
        return 0;
    }
    if (spool_append(spool, seq, cls, data, size, err, sizeof err) != 0) {
        log_error("spool: %s", err);
        return 0;
    }
    if (spool_count(spool) == 1)
        self->last_progress_ms = clock_mono_ms();
    if (self->connected && self->send_next == seq && !self->waiting_pollout) {
        int sent = s_send_frame(self, data, size);
        if (sent > 0)
            self->send_next = seq + 1;
        else if (sent == 0)
            s_wait_writable(self);
    }
    else
        s_pump(self);
    return seq;
}

bool agent_link_heartbeat(agent_link_t *self, Ferry__Heartbeat *hb)
{
    if (!self->connected)
        return false;
    spool_t *spool = self->opts->spool;
    Ferry__Envelope env;
    codec_envelope_init(&env, 0);
    env.first_seq = spool_first_seq(spool);
    hb->unacked = spool_count(spool);
    hb->spool_bytes = spool_file_bytes(spool);
    hb->dropped = spool_dropped(spool);
    env.body_case = FERRY__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = hb;
    size_t size;
    uint8_t *data = s_encode(self, &env, &size);
    return data && s_send_frame(self, data, size) > 0;
}

bool agent_link_connected(agent_link_t *self) { return self->connected; }
uint64_t agent_link_acked(agent_link_t *self) { return spool_acked_seq(self->opts->spool); }
