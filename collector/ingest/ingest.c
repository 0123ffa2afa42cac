/*  ingest — the collector's agent-facing loop.

    One zloop: a reader on the ROUTER drains frames in bursts; data bodies are
    written inside one open transaction; the transaction is committed when it
    holds batch_max messages or batch_wait_ms after it was opened; only then
    are Acks sent. Heartbeats only touch memory, flushed every seen_flush_ms.

    A message the store would refuse (store_check) never joins the batch: it
    is set aside in `rejected` instead, as is one the store still refuses
    (store_* returning 1) or a metrics sample refused at commit. Either way
    its seq counts as stored, so it is acked and not sent again, and the
    other messages of the batch, every agent's, go on as if nothing happened.
    Only a failure of the database itself rolls the batch back. */
#include "ingest.h"

#include "agent_auth.h"

#include "clock.h"
#include "codec.h"
#include "keys.h"
#include "log.h"
#include "seqtrack.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#define INGEST_KEY_LEN 40        // Z85 of a 32-byte CURVE public key
#define INGEST_RID_MAX 256       // ZeroMQ routing ids are at most 255 bytes
#define INGEST_DRAIN_BURST 2048  // frames read per reader wake-up before yielding to timers
#define S_PRUNE_EVERY_MS 60000   // metrics retention runs at least this often
#define S_PRUNE_CHUNKS 20000     // metrics chunks deleted at most per retention run

typedef struct {
    char key[INGEST_KEY_LEN + 1];   // authenticated CURVE public key (Z85)
    char hostname[64];              // as claimed in Hello, for log lines only
    int64_t agent_id;               // agents.id in the store
    seqtrack_t *track;              // which seqs are stored
    uint8_t rid[INGEST_RID_MAX];    // ROUTER routing id of the latest connection
    size_t rid_len;                 // bytes in rid
    uint64_t acked_sent;            // last seq acked to the agent
    uint64_t acked_written;         // acked seq in the open batch or the database
    uint64_t stream_written;        // stream id written with acked_written
    bool in_batch;                  // listed in the open batch's peers
    bool force_ack;                 // ack even if unchanged (Hello, duplicates)
    bool seen_dirty;                // last_seen changed since the last flush
    int64_t last_seen_ms;           // wall clock of the latest frame
    bool has_heartbeat;             // heartbeat holds a figure
    Ferry__Heartbeat heartbeat;     // latest heartbeat figures (scalars only)
    uint64_t bad_total;             // bad frames from this peer since start
    uint64_t bad_since_log;         // bad frames not yet reported in a log line
    uint64_t bad_by_status[CODEC_ERR_COUNT]; // bad frames by reason
    int64_t bad_last_log_ms;        // rate limit of the bad-frame log line
    uint64_t rejected_total;        // messages set aside (cannot be stored) since start
    uint64_t rejected_since_log;    // set aside and not yet reported in a log line
    int64_t rejected_last_log_ms;   // rate limit of that log line
    ingest_observation_t seen;      // identity and move-window figures
    int64_t last_frame_mono_ms;     // monotonic time of the latest frame, for gaps
    bool config_pending;            // a move-window Config waits for a routing id
    uint32_t config_fast_ms;        // its fast heartbeat interval; 0 = the window ends
    uint32_t config_for_ms;         // its duration
} peer_t;

struct _ingest_t {
    const ingest_options_t *opts;   // borrowed
    store_t *store;                 // the database
    zactor_t *auth;                 // agent_auth actor (ZAP)
    zsock_t *router;                // agent-facing socket
    zloop_t *loop;                  // event loop
    zhashx_t *peers;                // key -> peer_t
    zcert_t *cert;                  // collector certificate
    codec_arena_t *arena;           // memory of the frame being handled
    char endpoint[256];             // resolved bound endpoint, for unbind at stop
    peer_t **batch_peers;           // peers with data in the open batch
    size_t batch_peer_count;        // entries used
    size_t batch_peer_cap;          // entries allocated
    bool batch_open;                // a transaction is open
    bool batch_failed;              // a write failed: roll back instead of commit
    int batch_count;                // messages in the open batch
    int batch_timer;                // zloop timer id of the pending commit, -1 none
    bool fatal_error;               // store failed in a way we cannot continue from
    uint64_t stored;                // data messages stored
    uint64_t duplicates;            // data messages dropped as duplicates
    uint64_t bad_frames;            // frames dropped as bad
    uint64_t rejected;              // data messages set aside: decoded, but cannot be stored
    int64_t max_length;             // the database's length limit, for store_check
    uint64_t unauthenticated;       // frames without a User-Id (should not happen)
    int64_t pruned_mono_ms;         // when metrics past their retention were last deleted
    ingest_window_fn *window_fn;    // told when a move window's agent reports its end
    void *window_arg;
};

static volatile sig_atomic_t s_reload_requested;

static void s_on_sighup(int sig)
{
    (void) sig;
    s_reload_requested = 1;
}

void ingest_options_defaults(ingest_options_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->bind = "tcp://*:5560";
    opts->cert_path = "/etc/ferry/keys/collector.cert_secret";
    opts->allowed_dir = "/etc/ferry/agents.d";
    opts->database = "/var/lib/ferry/ferry.db";
    opts->max_frame = CODEC_DEFAULT_MAX_FRAME;
    opts->batch_max = 20000;
    opts->batch_wait_ms = 50;
    opts->seen_flush_ms = 1000;
    opts->bad_log_period_ms = 60000;
    opts->store.sync_full = true;
    opts->store.metrics_keep_ms = 0;
}

static void s_peer_free(void **item)
{
    peer_t *peer = *item;
    if (!peer)
        return;
    seqtrack_destroy(&peer->track);
    free(peer);
    *item = NULL;
}

//  Load the committed sequence state of a peer into a fresh tracker.
static int s_peer_load_track(ingest_t *self, peer_t *peer)
{
    store_agent_state_t state;
    if (store_agent_ensure(self->store, peer->key, clock_wall_ms(), &state) != 0)
        return -1;
    uint64_t *pending = NULL;
    size_t count = 0;
    if (store_pending_load(self->store, state.id, &pending, &count) != 0)
        return -1;
    seqtrack_destroy(&peer->track);
    peer->track = seqtrack_new(state.stream_id, state.acked_seq, pending, count);
    free(pending);
    peer->agent_id = state.id;
    peer->acked_sent = state.acked_seq;
    peer->acked_written = state.acked_seq;
    peer->stream_written = state.stream_id;
    return peer->track ? 0 : -1;
}

static int s_batch_begin(ingest_t *self)
{
    if (self->batch_open)
        return 0;
    if (store_begin(self->store) != 0) {
        log_error("store: cannot begin a transaction: %s", store_error(self->store));
        return -1;
    }
    self->batch_open = true;
    self->batch_failed = false;
    self->batch_count = 0;
    return 0;
}

static int s_batch_add_peer(ingest_t *self, peer_t *peer)
{
    if (peer->in_batch)
        return 0;
    if (self->batch_peer_count == self->batch_peer_cap) {
        size_t cap = self->batch_peer_cap ? self->batch_peer_cap * 2 : 256;
        peer_t **grown = realloc(self->batch_peers, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->batch_peers = grown;
        self->batch_peer_cap = cap;
    }
    self->batch_peers[self->batch_peer_count++] = peer;
    peer->in_batch = true;
    return 0;
}

static peer_t *s_peer_get(ingest_t *self, const char *key)
{
    peer_t *peer = zhashx_lookup(self->peers, key);
    if (peer)
        return peer;
    peer = calloc(1, sizeof *peer);
    if (!peer)
        return NULL;
    memcpy(peer->key, key, INGEST_KEY_LEN);
    snprintf(peer->hostname, sizeof peer->hostname, "?");
    if (s_peer_load_track(self, peer) != 0) {
        log_error("store: cannot load agent %s: %s", key, store_error(self->store));
        void *item = peer;
        s_peer_free(&item);
        return NULL;
    }
    zhashx_insert(self->peers, peer->key, peer);
    log_info("agent %s: first frame since start (acked seq %" PRIu64 ")", key,
             seqtrack_acked(peer->track));
    return peer;
}

//  Send a small collector -> agent envelope (Ack, Config) to the peer's
//  latest connection, without blocking. True when it went out.
static bool s_send_to(ingest_t *self, peer_t *peer, const Ferry__Envelope *env)
{
    uint8_t buf[128];
    if (ferry__envelope__get_packed_size(env) > sizeof buf)
        return false;
    size_t size = ferry__envelope__pack(env, buf);
    void *handle = zsock_resolve(self->router);
    if (zmq_send(handle, peer->rid, peer->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(handle, buf, size, ZMQ_DONTWAIT) < 0) {
        log_debug("agent %s: %s not sent: %s", peer->key, codec_body_name(env->body_case),
                  zmq_strerror(errno));
        return false;
    }
    return true;
}

static void s_send_ack(ingest_t *self, peer_t *peer)
{
    Ferry__Envelope env;
    Ferry__Ack ack = FERRY__ACK__INIT;
    codec_envelope_init(&env, 0);
    ack.seq = seqtrack_acked(peer->track);
    env.body_case = FERRY__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    if (s_send_to(self, peer, &env))
        peer->acked_sent = ack.seq;
}

static void s_rejected(ingest_t *self, peer_t *peer, const store_rejection_t *r);

//  Count and log the metrics samples the commit set aside itself (they were
//  counted as stored when they joined the batch).
static void s_commit_rejections(ingest_t *self)
{
    size_t count = 0;
    const store_rejection_t *refused = store_commit_rejections(self->store, &count);
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < self->batch_peer_count; k++) {
            if (self->batch_peers[k]->agent_id != refused[i].agent_id)
                continue;
            s_rejected(self, self->batch_peers[k], &refused[i]);
            self->stored--;
            break;
        }
    }
}

//  Commit the open batch (or roll it back after a failed write), then ack.
static int s_batch_commit(ingest_t *self)
{
    if (self->batch_timer >= 0) {
        zloop_timer_end(self->loop, self->batch_timer);
        self->batch_timer = -1;
    }
    if (!self->batch_open)
        return 0;
    //  The sequence state goes in with the rows it describes: after a crash
    //  it says exactly which seqs are stored (metrics have no unique key).
    for (size_t i = 0; i < self->batch_peer_count && !self->batch_failed; i++) {
        peer_t *peer = self->batch_peers[i];
        uint64_t acked = seqtrack_acked(peer->track), stream = seqtrack_stream(peer->track);
        if (acked == peer->acked_written && stream == peer->stream_written)
            continue;
        if (store_agent_seq(self->store, peer->agent_id, stream, acked) != 0)
            self->batch_failed = true;
        peer->acked_written = acked;
        peer->stream_written = stream;
    }
    int rc = 0;
    if (!self->batch_failed && store_commit(self->store) == 0) {
        s_commit_rejections(self);
        for (size_t i = 0; i < self->batch_peer_count; i++) {
            peer_t *peer = self->batch_peers[i];
            if (peer->force_ack || seqtrack_acked(peer->track) != peer->acked_sent)
                s_send_ack(self, peer);
        }
    }
    else {
        //  Nothing of this batch was acked: agents will send it again. Reload the
        //  committed state so the in-memory trackers match the database.
        log_error("store: batch of %d messages rolled back: %s", self->batch_count,
                  store_error(self->store));
        store_rollback(self->store);
        for (size_t i = 0; i < self->batch_peer_count; i++)
            if (s_peer_load_track(self, self->batch_peers[i]) != 0)
                self->fatal_error = true;
        rc = -1;
    }
    for (size_t i = 0; i < self->batch_peer_count; i++) {
        self->batch_peers[i]->in_batch = false;
        self->batch_peers[i]->force_ack = false;
    }
    self->batch_peer_count = 0;
    self->batch_open = false;
    self->batch_count = 0;
    return rc;
}

static int s_on_batch_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ingest_t *self = arg;
    self->batch_timer = -1;     // one-shot: zloop ends it after this call
    s_batch_commit(self);
    return self->fatal_error ? -1 : 0;
}

static void s_bad_frame(ingest_t *self, peer_t *peer, codec_status_t status)
{
    self->bad_frames++;
    peer->bad_total++;
    peer->bad_since_log++;
    peer->bad_by_status[status]++;
    if (!log_ratelimit(&peer->bad_last_log_ms, clock_mono_ms(), self->opts->bad_log_period_ms))
        return;
    log_warn("agent %s (%s): dropped %" PRIu64 " bad frame(s) since the last report, latest: %s;"
             " %" PRIu64 " in total", peer->key, peer->hostname, peer->bad_since_log,
             codec_status_name(status), peer->bad_total);
    peer->bad_since_log = 0;
}

static void s_on_hello(ingest_t *self, peer_t *peer, const Ferry__Hello *hello)
{
    snprintf(peer->hostname, sizeof peer->hostname, "%s", hello->hostname ? hello->hostname : "?");
    peer->seen.heartbeat_ms = 0;         // a restarted agent may run another configuration
    if (hello->boot_id && hello->boot_id[0])
        snprintf(peer->seen.boot_id, sizeof peer->seen.boot_id, "%s", hello->boot_id);
    if (seqtrack_reset(peer->track, hello->stream_id))
        log_info("agent %s (%s): new spool stream %016" PRIx64 ", sequence tracking restarts",
                 peer->key, peer->hostname, hello->stream_id);
    if (store_agent_hello(self->store, peer->agent_id, hello, clock_wall_ms()) != 0)
        self->batch_failed = true;
    peer->force_ack = true;
}

static void s_send_config(ingest_t *self, peer_t *peer)
{
    Ferry__Envelope env;
    Ferry__Config config = FERRY__CONFIG__INIT;
    codec_envelope_init(&env, 0);
    config.fast_heartbeat_ms = peer->config_fast_ms;
    config.fast_for_ms = peer->config_for_ms;
    config.end_window = peer->config_fast_ms == 0;
    env.body_case = FERRY__ENVELOPE__BODY_CONFIG;
    env.config = &config;
    if (s_send_to(self, peer, &env))
        peer->config_pending = false;
}

//  Every frame is a sign of life: inside a move window the largest silence
//  between two of them is the outage the partition really had.
static void s_observe_frame(ingest_t *self, peer_t *peer)
{
    int64_t now = clock_mono_ms();
    ingest_observation_t *o = &peer->seen;
    if (o->window_open && peer->last_frame_mono_ms) {
        int64_t gap = now - peer->last_frame_mono_ms;
        if (gap > o->max_gap_ms)
            o->max_gap_ms = gap;
    }
    peer->last_frame_mono_ms = now;
    o->seen = true;
    o->last_frame_ms = peer->last_seen_ms;
    if (peer->config_pending && peer->rid_len)
        s_send_config(self, peer);
}

static const char *s_attr(const Ferry__Event *event, const char *key)
{
    for (size_t i = 0; i < event->n_attrs; i++)
        if (event->attrs[i]->key && strcmp(event->attrs[i]->key, key) == 0)
            return event->attrs[i]->value;
    return NULL;
}

//  Identity and LPM evidence from what the agent reports. True when it ends
//  the agent's move (see ingest_window_fn).
static bool s_observe_body(peer_t *peer, const Ferry__Envelope *env)
{
    ingest_observation_t *o = &peer->seen;
    if (env->body_case == FERRY__ENVELOPE__BODY_FACTS) {
        if (env->facts->serial && env->facts->serial[0])
            snprintf(o->serial, sizeof o->serial, "%s", env->facts->serial);
        if (env->facts->boot_id && env->facts->boot_id[0])
            snprintf(o->boot_id, sizeof o->boot_id, "%s", env->facts->boot_id);
        return false;
    }
    if (env->body_case != FERRY__ENVELOPE__BODY_EVENT || !env->event->kind)
        return false;
    const Ferry__Event *event = env->event;
    if (strcmp(event->kind, "serial_changed") == 0) {
        const char *serial = s_attr(event, "new");
        if (serial)
            snprintf(o->serial, sizeof o->serial, "%s", serial);
        if (o->window_open)
            o->serial_changed = true;
        return o->window_open;
    }
    if (strcmp(event->kind, "lpm_phase") == 0 && o->window_open) {
        const char *phase = s_attr(event, "phase");
        static const struct { const char *name; unsigned bit; } phases[] = {
            { "check", INGEST_LPM_CHECK }, { "pre", INGEST_LPM_PRE },
            { "post", INGEST_LPM_POST }, { "posterror", INGEST_LPM_POSTERROR } };
        unsigned before = o->lpm_phases;
        for (size_t i = 0; phase && i < sizeof phases / sizeof phases[0]; i++)
            if (strcmp(phase, phases[i].name) == 0)
                o->lpm_phases |= phases[i].bit;
        unsigned ending = INGEST_LPM_POST | INGEST_LPM_POSTERROR;
        return (o->lpm_phases & ending) != (before & ending);
    }
    return false;
}

//  body/body_len: a Metrics body as received (kept byte for byte: fields
//  newer than us survive), or NULL to re-pack env->metrics. 0 stored, 1
//  refused by the store (store_error says why), -1 the database failed.
static int s_store_body(ingest_t *self, peer_t *peer, const Ferry__Envelope *env,
                        const uint8_t *body, size_t body_len)
{
    int64_t id = peer->agent_id;
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_METRICS:
        return store_metrics(self->store, id, env->seq, env->sent_ms, env->metrics, body,
                             body_len);
    case FERRY__ENVELOPE__BODY_EVENT:
        return store_event(self->store, id, env->seq, env->sent_ms, clock_wall_ms(), env->event);
    case FERRY__ENVELOPE__BODY_FACTS:
        return store_facts(self->store, id, env->seq, env->sent_ms, env->facts);
    case FERRY__ENVELOPE__BODY_JOB_UPDATE:
        return store_job_update(self->store, id, env->seq, env->sent_ms, env->job_update);
    default:
        return 0;
    }
}

//  Size of the message's body, for the admin reading `rejected`.
static uint64_t s_body_bytes(const Ferry__Envelope *env, const uint8_t *body, size_t body_len)
{
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_METRICS:
        return body ? body_len : ferry__metrics__get_packed_size(env->metrics);
    case FERRY__ENVELOPE__BODY_EVENT:
        return ferry__event__get_packed_size(env->event);
    case FERRY__ENVELOPE__BODY_FACTS:
        return ferry__facts__get_packed_size(env->facts);
    case FERRY__ENVELOPE__BODY_JOB_UPDATE:
        return ferry__job_update__get_packed_size(env->job_update);
    default:
        return 0;
    }
}

//  Count a message set aside (already in `rejected`) and log it, at most
//  once per peer per bad_log_period_ms, with the count since the last line.
static void s_rejected(ingest_t *self, peer_t *peer, const store_rejection_t *r)
{
    self->rejected++;
    peer->rejected_total++;
    peer->rejected_since_log++;
    if (!log_ratelimit(&peer->rejected_last_log_ms, clock_mono_ms(),
                       self->opts->bad_log_period_ms))
        return;
    log_warn("agent %s (%s): set aside %" PRIu64 " message(s) that cannot be stored since the"
             " last report, latest: seq %" PRIu64 " (%s, %" PRIu64 " bytes): %s; %" PRIu64
             " in total (table rejected)", peer->key, peer->hostname, peer->rejected_since_log,
             r->seq, r->kind, r->bytes, r->reason, peer->rejected_total);
    peer->rejected_since_log = 0;
}

//  Set the message aside instead of storing it. 0 / -1 (the database failed).
static int s_reject(ingest_t *self, peer_t *peer, const Ferry__Envelope *env, const uint8_t *body,
                    size_t body_len, const char *reason)
{
    store_rejection_t r = { .agent_id = peer->agent_id, .seq = env->seq,
                            .time_ms = env->sent_ms, .kind = codec_body_name(env->body_case),
                            .bytes = s_body_bytes(env, body, body_len) };
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    if (store_reject(self->store, &r, clock_wall_ms()) != 0)
        return -1;
    s_rejected(self, peer, &r);
    return 0;
}

//  Store the message, or set it aside when the store refuses it (checked
//  before: refused; else as the store answers). 0 / -1 (the database failed).
static int s_store_or_reject(ingest_t *self, peer_t *peer, const Ferry__Envelope *env,
                             const uint8_t *body, size_t body_len, const char *refused)
{
    if (refused)
        return s_reject(self, peer, env, body, body_len, refused);
    int rc = s_store_body(self, peer, env, body, body_len);
    if (rc == 1)
        return s_reject(self, peer, env, body, body_len, store_error(self->store));
    if (rc == 0)
        self->stored++;
    return rc;
}

static void s_on_data(ingest_t *self, peer_t *peer, const Ferry__Envelope *env,
                      const uint8_t *body, size_t body_len)
{
    if (env->seq == 0) {
        s_bad_frame(self, peer, CODEC_ERR_MALFORMED);
        return;
    }
    //  Checked before it joins the batch: what the store would refuse never
    //  reaches it, and reports nothing about the agent either.
    char reason[STORE_REASON_MAX];
    bool storable = store_check(env, body, body_len, self->max_length, reason,
                                sizeof reason) == 0;
    bool ends_move = storable && s_observe_body(peer, env);
    if (!seqtrack_is_new(peer->track, env->seq)) {
        self->duplicates++;
        peer->force_ack = true;     // the agent evidently missed our ack
    }
    else if (s_store_or_reject(self, peer, env, body, body_len, storable ? NULL : reason) != 0) {
        self->batch_failed = true;
    }
    else {
        //  Set aside or stored, the seq is done with: acked, never sent again.
        int above_gap = seqtrack_stored(peer->track, env->seq);
        if (above_gap < 0
            || (above_gap > 0 && store_pending_add(self->store, peer->agent_id, env->seq) != 0))
            self->batch_failed = true;
    }
    seqtrack_floor(peer->track, env->first_seq);
    //  Evidence is read from memory, stored or not: whoever waits on it
    //  looks now, not at its next tick (a tenth of a second of verify latency).
    if (ends_move && self->window_fn)
        self->window_fn(peer->key, self->window_arg);
}

static void s_handle(ingest_t *self, zmq_msg_t *rid, zmq_msg_t *payload)
{
    const char *user = zmq_msg_gets(payload, "User-Id");
    if (!user || strlen(user) != INGEST_KEY_LEN) {
        self->unauthenticated++;
        return;
    }
    //  Not acked, so the agent sends it again.
    peer_t *peer = s_peer_get(self, user);
    if (!peer)
        return;
    size_t rid_len = zmq_msg_size(rid);
    if (rid_len <= INGEST_RID_MAX) {
        memcpy(peer->rid, zmq_msg_data(rid), rid_len);
        peer->rid_len = rid_len;
    }
    peer->last_seen_ms = clock_wall_ms();
    peer->seen_dirty = true;
    s_observe_frame(self, peer);

    //  Most frames are metrics: decoded only as far as the store needs.
    Ferry__Envelope *env = NULL;
    const uint8_t *data = zmq_msg_data(payload), *body = NULL;
    size_t size = zmq_msg_size(payload), body_len = 0;
    codec_status_t status = CODEC_OK;
    if (!codec_decode_metrics(self->arena, data, size, self->opts->max_frame, &env, &body,
                              &body_len))
        status = codec_decode_in(self->arena, data, size, self->opts->max_frame,
                                 CODEC_TO_COLLECTOR, &env);
    if (status != CODEC_OK) {
        s_bad_frame(self, peer, status);
        return;
    }
    //  Heartbeats only touch memory: they open no transaction (an open one
    //  makes every planner step commit it first).
    if (env->body_case != FERRY__ENVELOPE__BODY_HEARTBEAT) {
        if (s_batch_begin(self) != 0) {
            self->fatal_error = true;
            return;
        }
        if (s_batch_add_peer(self, peer) != 0) {
            self->batch_failed = true;
            return;
        }
    }
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_HELLO:
        s_on_hello(self, peer, env->hello);
        break;
    case FERRY__ENVELOPE__BODY_HEARTBEAT: {
        //  Keep the largest stall since the last flush: a single stalled beat
        //  between two flushes must not be overwritten by the next quiet one.
        uint32_t stall = peer->has_heartbeat ? peer->heartbeat.stall_ms : 0;
        peer->heartbeat = *env->heartbeat;
        peer->heartbeat.base.unknown_fields = NULL;
        peer->heartbeat.base.n_unknown_fields = 0;
        if (stall > peer->heartbeat.stall_ms)
            peer->heartbeat.stall_ms = stall;
        peer->has_heartbeat = true;
        if (peer->seen.window_open && env->heartbeat->stall_ms > peer->seen.max_stall_ms)
            peer->seen.max_stall_ms = env->heartbeat->stall_ms;
        //  Its usual pace, for "is it still reporting": the slowest it reported
        //  outside windows since its Hello (after a window it keeps the fast
        //  pace until the Config ending it arrives).
        if (!peer->seen.window_open && env->heartbeat->interval_ms > peer->seen.heartbeat_ms)
            peer->seen.heartbeat_ms = env->heartbeat->interval_ms;
        break;
    }
    default:
        //  From the full decoder: the body as received when it is one slice
        //  of the frame, else (merged copies) body stays NULL and is re-packed.
        if (env->body_case == FERRY__ENVELOPE__BODY_METRICS && !body)
            codec_field_bytes(data, size, FERRY__ENVELOPE__BODY_METRICS, &body, &body_len);
        s_on_data(self, peer, env, body, body_len);
        self->batch_count++;
        break;
    }
}

//  Read one whole message (routing id + frames). A message that is not exactly
//  [rid][payload] is a bad frame from that peer.
static int s_read_one(ingest_t *self, void *handle)
{
    zmq_msg_t rid, payload;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return errno == EAGAIN ? 0 : -1;
    }
    zmq_msg_init(&payload);
    int parts = 0;
    bool more = zmq_msg_more(&rid);
    while (more) {
        zmq_msg_close(&payload);
        zmq_msg_init(&payload);
        if (zmq_msg_recv(&payload, handle, 0) < 0)
            break;
        parts++;
        more = zmq_msg_more(&payload);
    }
    if (parts == 1)
        s_handle(self, &rid, &payload);
    else if (parts > 1) {
        //  Multipart from an agent: we only know the last frame's metadata.
        const char *user = zmq_msg_gets(&payload, "User-Id");
        peer_t *peer = user && strlen(user) == INGEST_KEY_LEN ? s_peer_get(self, user) : NULL;
        if (peer)
            s_bad_frame(self, peer, CODEC_ERR_MALFORMED);
    }
    zmq_msg_close(&payload);
    zmq_msg_close(&rid);
    return 1;
}

static void s_drain(ingest_t *self, int limit)
{
    void *handle = zsock_resolve(self->router);
    for (int i = 0; i < limit && !self->fatal_error; i++) {
        if (s_read_one(self, handle) <= 0)
            break;
        if (self->batch_count >= self->opts->batch_max)
            s_batch_commit(self);
    }
}

static int s_on_router(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) reader;
    ingest_t *self = arg;
    s_drain(self, INGEST_DRAIN_BURST);
    if (self->fatal_error)
        return -1;
    if (self->batch_open && self->batch_timer < 0)
        self->batch_timer = zloop_timer(loop, (size_t) self->opts->batch_wait_ms, 1,
                                        s_on_batch_timer, self);
    return 0;
}

static int s_on_seen_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ingest_t *self = arg;
    if (s_reload_requested) {
        s_reload_requested = 0;
        ingest_reload(self);
    }
    bool any = false;
    //  Retention: a minute apart, or half the retention when that is shorter.
    int64_t keep = self->opts->store.metrics_keep_ms, now = clock_mono_ms();
    int64_t every = keep / 2 < S_PRUNE_EVERY_MS ? keep / 2 : S_PRUNE_EVERY_MS;
    if (keep > 0 && now - self->pruned_mono_ms >= every) {
        if (s_batch_begin(self) != 0)
            return -1;
        any = true;
        int pruned = store_prune(self->store, clock_wall_ms(), S_PRUNE_CHUNKS);
        if (pruned < 0)
            self->batch_failed = true;
        //  A backlog (after a long stop) goes a slice per flush, not at once.
        if (pruned < S_PRUNE_CHUNKS)
            self->pruned_mono_ms = now;
    }
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
        if (!peer->seen_dirty)
            continue;
        if (!any && s_batch_begin(self) != 0)
            return -1;
        any = true;
        if (store_agent_seen(self->store, peer->agent_id, peer->last_seen_ms,
                             peer->has_heartbeat ? &peer->heartbeat : NULL, peer->bad_total) != 0)
            self->batch_failed = true;
        peer->seen_dirty = false;
        peer->heartbeat.stall_ms = 0;
    }
    if (any)
        s_batch_commit(self);
    return self->fatal_error ? -1 : 0;
}

void ingest_reload(ingest_t *self)
{
    log_info("reloading allowed agent certificates from %s", self->opts->allowed_dir);
    if (agent_auth_reload(self->auth) < 0)
        log_warn("kept the previous allowed keys: %s is unreadable", self->opts->allowed_dir);
}

static int s_start_auth(ingest_t *self, char *err, size_t errlen)
{
    if (!zsys_file_exists(self->opts->allowed_dir)) {
        snprintf(err, errlen, "allowed agents directory %s does not exist", self->opts->allowed_dir);
        return -1;
    }
    self->auth = agent_auth_new(self->opts->allowed_dir, err, errlen);
    return self->auth ? 0 : -1;
}

static int s_bind(ingest_t *self, char *err, size_t errlen)
{
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router) {
        snprintf(err, errlen, "cannot create the ROUTER socket");
        return -1;
    }
    zcert_apply(self->cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_rcvhwm(self->router, 10000);
    zsock_set_sndhwm(self->router, 10000);
    zsock_set_linger(self->router, 2000);
    //  A fleet reconnects all at once after a collector restart.
    zsock_set_backlog(self->router, 4096);
    zsock_set_heartbeat_ivl(self->router, 10000);
    zsock_set_heartbeat_timeout(self->router, 30000);
    if (zsock_bind(self->router, "%s", self->opts->bind) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", self->opts->bind, zmq_strerror(zmq_errno()));
        return -1;
    }
    char *last = zsock_last_endpoint(self->router);
    snprintf(self->endpoint, sizeof self->endpoint, "%s", last ? last : self->opts->bind);
    zstr_free(&last);
    return 0;
}

ingest_t *ingest_new(const ingest_options_t *opts, char *err, size_t errlen)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = opts;
    self->batch_timer = -1;
    self->peers = zhashx_new();
    zhashx_set_destructor(self->peers, s_peer_free);
    self->arena = codec_arena_new();
    if (!self->arena) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->cert = keys_load_secret(opts->cert_path, err, errlen);
    if (!self->cert)
        goto fail;
    self->store = store_open(opts->database, &opts->store, err, errlen);
    if (!self->store)
        goto fail;
    self->max_length = store_max_length(self->store);
    if (s_start_auth(self, err, errlen) != 0 || s_bind(self, err, errlen) != 0)
        goto fail;
    self->loop = zloop_new();
    zloop_reader(self->loop, self->router, s_on_router, self);
    zloop_timer(self->loop, (size_t) opts->seen_flush_ms, 0, s_on_seen_timer, self);

    struct sigaction sa = { .sa_handler = s_on_sighup };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    log_info("listening on %s (CURVE), database %s, allowed agents in %s", self->endpoint,
             opts->database, opts->allowed_dir);
    return self;
fail:
    ingest_destroy(&self);
    return NULL;
}

int ingest_run(ingest_t *self)
{
    //  zloop returns when a signal interrupts its poll; only SIGINT/SIGTERM
    //  (zsys_interrupted) or a failed handler end the run. SIGHUP just sets
    //  its flag and the loop goes on.
    while (zloop_start(self->loop) == 0 && !zsys_interrupted && !self->fatal_error) {
        if (s_reload_requested) {
            s_reload_requested = 0;
            ingest_reload(self);
        }
    }
    if (self->fatal_error) {
        log_error("stopping after a store failure");
        return -1;
    }
    //  Store and ack what already arrived, then stop accepting. Not the other
    //  way round: unbinding also ends the connections accepted through the
    //  endpoint, discarding what they queued and the acks sent after it.
    //  The acks sent before go out within the socket's linger.
    s_drain(self, INT32_MAX);
    s_batch_commit(self);
    s_on_seen_timer(self->loop, 0, self);
    zsock_unbind(self->router, "%s", self->endpoint);
    log_info("stopped: %" PRIu64 " messages stored, %" PRIu64 " duplicates dropped, %" PRIu64
             " bad frames dropped, %" PRIu64 " set aside as not storable", self->stored,
             self->duplicates, self->bad_frames, self->rejected);
    return self->fatal_error ? -1 : 0;
}

int ingest_window_open(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    if (!key || strlen(key) != INGEST_KEY_LEN)
        return -1;
    peer_t *peer = s_peer_get(self, key);
    if (!peer)
        return -1;
    ingest_observation_t *o = &peer->seen;
    o->window_open = true;
    o->window_start_ms = clock_wall_ms();
    snprintf(o->window_boot_id, sizeof o->window_boot_id, "%s", o->boot_id);
    o->max_gap_ms = 0;
    o->max_stall_ms = 0;
    o->lpm_phases = 0;
    o->serial_changed = false;
    o->resumed = false;
    peer->last_frame_mono_ms = 0;
    peer->config_fast_ms = fast_ms;
    peer->config_for_ms = for_ms;
    peer->config_pending = true;
    if (peer->rid_len)
        s_send_config(self, peer);
    return 0;
}

int ingest_window_resume(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms,
                         int64_t start_ms, const char *boot_id, const char *serial,
                         unsigned phases)
{
    if (ingest_window_open(self, key, fast_ms, for_ms) != 0)
        return -1;
    peer_t *peer = zhashx_lookup(self->peers, key);
    ingest_observation_t *o = &peer->seen;
    o->window_start_ms = start_ms;
    o->resumed = true;
    o->lpm_phases = phases;
    if (boot_id && boot_id[0])
        snprintf(o->window_boot_id, sizeof o->window_boot_id, "%s", boot_id);
    //  Until the agent speaks again, what the database knows stands in.
    if (serial && serial[0] && !o->serial[0])
        snprintf(o->serial, sizeof o->serial, "%s", serial);
    return 0;
}

void ingest_window_close(ingest_t *self, const char *key)
{
    peer_t *peer = key ? zhashx_lookup(self->peers, key) : NULL;
    if (!peer)
        return;
    peer->seen.window_open = false;
    //  Tell the agent too: a window left to run out kept every moved
    //  partition on a 50 ms heartbeat for ten minutes (1,000 of them
    //  saturated the collector's host in the benchmark).
    peer->config_fast_ms = 0;
    peer->config_for_ms = 0;
    peer->config_pending = true;
    if (peer->rid_len)
        s_send_config(self, peer);
}

void ingest_set_window_listener(ingest_t *self, ingest_window_fn *fn, void *arg)
{
    self->window_fn = fn;
    self->window_arg = arg;
}

int ingest_observe(ingest_t *self, const char *key, ingest_observation_t *out)
{
    if (!key || strlen(key) != INGEST_KEY_LEN)
        return -1;
    peer_t *peer = s_peer_get(self, key);
    if (!peer)
        return -1;
    *out = peer->seen;
    return 0;
}

int ingest_flush(ingest_t *self)
{
    return s_batch_commit(self);
}

store_t *ingest_store(ingest_t *self) { return self->store; }
zloop_t *ingest_loop(ingest_t *self) { return self->loop; }

uint64_t ingest_stored(ingest_t *self) { return self->stored; }
uint64_t ingest_duplicates(ingest_t *self) { return self->duplicates; }
uint64_t ingest_bad_frames(ingest_t *self) { return self->bad_frames; }
uint64_t ingest_rejected(ingest_t *self) { return self->rejected; }

void ingest_destroy(ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_t *self = *self_p;
    if (self->batch_open)
        store_rollback(self->store);
    zloop_destroy(&self->loop);
    zsock_destroy(&self->router);
    agent_auth_destroy(&self->auth);
    zhashx_destroy(&self->peers);
    zcert_destroy(&self->cert);
    store_destroy(&self->store);
    codec_arena_destroy(&self->arena);
    free(self->batch_peers);
    free(self);
    *self_p = NULL;
}
