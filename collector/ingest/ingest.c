/*  ingest — the collector's agent-facing loop.

    One zloop: a reader on the ROUTER drains frames in bursts; what a frame
    asks to be written joins the open batch (store_batch.h), which goes to
    the store writer's thread when it holds batch_max messages or
    batch_wait_ms after its first one; only when the writer says it is
    committed are its Acks sent. One batch is at the writer at a time: the
    next one fills meanwhile, so decoding and committing overlap, and when
    the next is full before the writer is done, reading waits for it (the
    agents' spools hold what does not fit). Heartbeats only touch memory,
    flushed every seen_flush_ms.

    A message the store would refuse (store_check) joins the batch with its
    reason and is set aside in `rejected` instead, as is one the store still
    refuses (store_* returning 1) or a metrics sample refused at commit.
    Either way its seq counts as stored, so it is acked and not sent again,
    and the other messages of the batch, every agent's, go on as if nothing
    happened. Only a failure of the database itself rolls the batch back:
    then neither it nor the batch filling behind it is acked, and the
    sequence state is loaded again from the database. */
#include "ingest.h"

#include "agent_auth.h"

#include "clock.h"
#include "codec.h"
#include "errbuf.h"
#include "keys.h"
#include "log.h"
#include "seqtrack.h"
#include "store_batch.h"

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
#define S_FRAME_BLOCK 1024       // frames per block of a batch (blocks never move)

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
    void *observed;                 // the observer's record of this agent, NULL not asked yet
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
    bool config_pending;            // a move-window Config waits for a routing id
    uint32_t config_fast_ms;        // its fast heartbeat interval; 0 = the window ends
    uint32_t config_for_ms;         // its duration
} peer_t;

//  A peer with something in a batch: what it is acked once that commits.
typedef struct {
    peer_t *peer;
    uint64_t acked;                 // its acked seq when the batch closed
    bool force_ack;                 // ack even if unchanged
} s_batch_peer_t;

//  One batch: the writes (store_batch) and the frames they borrow.
typedef struct {
    store_batch_t *writes;          // what the writer commits
    zmq_msg_t **blocks;             // frames, S_FRAME_BLOCK per block: a frame's bytes
                                    // never move while the batch borrows them
    size_t block_count;             // blocks allocated
    size_t frame_count;             // frames held
    s_batch_peer_t *peers;          // peers with data in it
    size_t peer_count, peer_cap;
    int count;                      // data messages in it
} s_batch_t;

struct _ingest_t {
    const ingest_options_t *opts;   // borrowed
    store_writer_t *writer;         // borrowed: the database's one writer
    store_client_t *client;         // our requests to it
    s_batch_t batch[2];             // the open one and the one at the writer
    s_batch_t *open;                // filling
    s_batch_t *flying;              // at the writer, NULL when none
    bool open_due;                  // the open batch goes as soon as the flying one is back
    zactor_t *auth;                 // agent_auth actor (ZAP)
    zsock_t *router;                // agent-facing socket
    zloop_t *loop;                  // event loop
    zhashx_t *peers;                // key -> peer_t
    zcert_t *cert;                  // collector certificate
    codec_arena_t *arena;           // memory of the frame being handled
    char endpoint[256];             // resolved bound endpoint, for unbind at stop
    bool batch_failed;              // recording failed (out of memory): drop the open batch
    int batch_timer;                // zloop timer id of the open batch's deadline, -1 none
    bool fatal_error;               // store failed in a way we cannot continue from
    uint64_t received;              // data messages taken into a batch (new seqs)
    uint64_t stored;                // data messages stored
    uint64_t duplicates;            // data messages dropped as duplicates
    uint64_t bad_frames;            // frames dropped as bad
    uint64_t rejected;              // data messages set aside: decoded, but cannot be stored
    int64_t max_length;             // the database's length limit, for store_check
    uint64_t unauthenticated;       // frames without a User-Id (should not happen)
    int64_t pruned_mono_ms;         // when metrics past their retention were last deleted
    ingest_observer_t observer;     // who else reads the frames; callbacks NULL = none
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
    opts->max_frame = CODEC_DEFAULT_MAX_FRAME;
    opts->batch_max = 20000;
    opts->batch_wait_ms = 50;
    opts->seen_flush_ms = 1000;
    opts->bad_log_period_ms = 60000;
    opts->metrics_keep_ms = 0;
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

//  What the writer loads for a peer: its committed sequence state.
typedef struct {
    const char *key;                // borrowed
    store_agent_state_t state;
    uint64_t *pending;              // malloc'd by the store
    size_t count;
} s_track_load_t;

static int s_track_load_fn(store_t *store, void *arg, char *err, size_t errlen)
{
    s_track_load_t *load = arg;
    if (store_agent_ensure(store, load->key, clock_wall_ms(), &load->state) != 0
        || store_pending_load(store, load->state.id, &load->pending, &load->count) != 0) {
        errbuf_set(err, errlen, "%s", store_error(store));
        return -1;
    }
    return 0;
}

//  Load the committed sequence state of a peer into a fresh tracker.
static int s_peer_load_track(ingest_t *self, peer_t *peer)
{
    s_track_load_t load = { .key = peer->key };
    char err[512];
    if (store_client_call(self->client, s_track_load_fn, &load, err, sizeof err) != 0) {
        log_error("store: cannot load agent %s: %s", peer->key, err);
        free(load.pending);
        return -1;
    }
    seqtrack_destroy(&peer->track);
    peer->track = seqtrack_new(load.state.stream_id, load.state.acked_seq, load.pending,
                               load.count);
    free(load.pending);
    peer->agent_id = load.state.id;
    peer->acked_sent = load.state.acked_seq;
    peer->acked_written = load.state.acked_seq;
    peer->stream_written = load.state.stream_id;
    return peer->track ? 0 : -1;
}

static int s_batch_init(s_batch_t *batch, size_t max_frame)
{
    memset(batch, 0, sizeof *batch);
    batch->writes = store_batch_new(max_frame);
    return batch->writes ? 0 : -1;
}

//  Empty the batch for reuse: its frames go, its peers leave it.
static void s_batch_reset(s_batch_t *batch)
{
    for (size_t i = 0; i < batch->frame_count; i++)
        zmq_msg_close(&batch->blocks[i / S_FRAME_BLOCK][i % S_FRAME_BLOCK]);
    batch->frame_count = 0;
    batch->peer_count = 0;
    batch->count = 0;
    if (batch->writes)
        store_batch_clear(batch->writes);
}

static void s_batch_free(s_batch_t *batch)
{
    s_batch_reset(batch);
    for (size_t i = 0; i < batch->block_count; i++)
        free(batch->blocks[i]);
    free(batch->blocks);
    free(batch->peers);
    store_batch_destroy(&batch->writes);
}

//  Keep the frame (moved from payload) for as long as the batch borrows its
//  bytes. The frame held, NULL when out of memory (payload untouched).
static zmq_msg_t *s_batch_keep(s_batch_t *batch, zmq_msg_t *payload)
{
    size_t block = batch->frame_count / S_FRAME_BLOCK;
    if (block == batch->block_count) {
        zmq_msg_t **grown = realloc(batch->blocks, (block + 1) * sizeof *grown);
        if (!grown)
            return NULL;
        batch->blocks = grown;
        grown[block] = malloc(S_FRAME_BLOCK * sizeof(zmq_msg_t));
        if (!grown[block])
            return NULL;
        batch->block_count++;
    }
    zmq_msg_t *frame = &batch->blocks[block][batch->frame_count % S_FRAME_BLOCK];
    zmq_msg_init(frame);
    zmq_msg_move(frame, payload);
    batch->frame_count++;
    return frame;
}

static int s_batch_add_peer(ingest_t *self, peer_t *peer)
{
    s_batch_t *batch = self->open;
    if (peer->in_batch)
        return 0;
    if (batch->peer_count == batch->peer_cap) {
        size_t cap = batch->peer_cap ? batch->peer_cap * 2 : 256;
        s_batch_peer_t *grown = realloc(batch->peers, cap * sizeof *grown);
        if (!grown)
            return -1;
        batch->peers = grown;
        batch->peer_cap = cap;
    }
    batch->peers[batch->peer_count++] = (s_batch_peer_t) { .peer = peer };
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

static void s_send_ack(ingest_t *self, peer_t *peer, uint64_t seq)
{
    Ferry__Envelope env;
    Ferry__Ack ack = FERRY__ACK__INIT;
    codec_envelope_init(&env, 0);
    ack.seq = seq;
    env.body_case = FERRY__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    if (s_send_to(self, peer, &env))
        peer->acked_sent = ack.seq;
}

static void s_rejected(ingest_t *self, peer_t *peer, const store_rejection_t *r);

//  Count and log what the writer set aside (it was counted as stored by
//  sequence tracking when it joined the batch).
static void s_batch_rejections(ingest_t *self, const s_batch_t *batch)
{
    size_t count = 0;
    const store_rejection_t *refused = store_batch_rejections(batch->writes, &count);
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < batch->peer_count; k++) {
            if (batch->peers[k].peer->agent_id != refused[i].agent_id)
                continue;
            s_rejected(self, batch->peers[k].peer, &refused[i]);
            break;
        }
    }
}

static void s_on_batch_done(void *arg, int rc, const char *err);

//  Hand the open batch to the writer, or mark it due when one is there
//  already. Its peers' sequence state goes in with the rows it describes:
//  after a crash it says exactly which seqs are stored (metrics have no
//  unique key). 0 / -1 (the batch was dropped: not acked, sent again).
static int s_batch_close(ingest_t *self)
{
    if (self->batch_timer >= 0) {
        zloop_timer_end(self->loop, self->batch_timer);
        self->batch_timer = -1;
    }
    s_batch_t *batch = self->open;
    if (store_batch_empty(batch->writes) && batch->peer_count == 0)
        return 0;
    if (self->flying) {
        self->open_due = true;
        return 0;
    }
    self->open_due = false;
    for (size_t i = 0; i < batch->peer_count && !self->batch_failed; i++) {
        s_batch_peer_t *entry = &batch->peers[i];
        peer_t *peer = entry->peer;
        uint64_t acked = seqtrack_acked(peer->track), stream = seqtrack_stream(peer->track);
        entry->acked = acked;
        entry->force_ack = peer->force_ack;
        peer->force_ack = false;
        peer->in_batch = false;
        if (acked == peer->acked_written && stream == peer->stream_written)
            continue;
        if (store_batch_seq(batch->writes, peer->agent_id, stream, acked) != 0)
            self->batch_failed = true;
        peer->acked_written = acked;
        peer->stream_written = stream;
    }
    if (self->batch_failed
        || store_client_send(self->client, store_batch_commit, batch->writes, s_on_batch_done,
                             self) != 0) {
        s_on_batch_done(self, -1, "out of memory");
        return -1;
    }
    self->flying = batch;
    self->open = batch == &self->batch[0] ? &self->batch[1] : &self->batch[0];
    return 0;
}

//  The writer says how the flying batch went (or a batch could not be sent:
//  then it is the open one, flying is NULL).
static void s_on_batch_done(void *arg, int rc, const char *err)
{
    ingest_t *self = arg;
    s_batch_t *batch = self->flying ? self->flying : self->open;
    self->flying = NULL;
    if (rc == 0) {
        self->stored += store_batch_stored(batch->writes);
        s_batch_rejections(self, batch);
        for (size_t i = 0; i < batch->peer_count; i++) {
            s_batch_peer_t *entry = &batch->peers[i];
            if (entry->force_ack || entry->acked != entry->peer->acked_sent)
                s_send_ack(self, entry->peer, entry->acked);
        }
        //  A retention backlog (after a long stop) goes a slice per flush.
        if (store_batch_pruned(batch->writes) == S_PRUNE_CHUNKS)
            self->pruned_mono_ms = 0;
        s_batch_reset(batch);
    }
    else {
        //  Nothing of this batch nor of the one filling behind it is acked:
        //  agents send it again. Reload the committed state so the trackers
        //  match the database.
        log_error("store: batch of %d messages rolled back: %s", batch->count, err);
        s_batch_t *behind = self->open;
        peer_t **reload = NULL;
        size_t count = batch->peer_count + (behind != batch ? behind->peer_count : 0);
        reload = count ? calloc(count, sizeof *reload) : NULL;
        if (count && !reload)
            self->fatal_error = true;
        size_t n = 0;
        for (size_t i = 0; i < batch->peer_count; i++) {
            batch->peers[i].peer->in_batch = false;
            if (reload)
                reload[n++] = batch->peers[i].peer;
        }
        for (size_t i = 0; behind != batch && i < behind->peer_count; i++) {
            behind->peers[i].peer->in_batch = false;
            if (reload)
                reload[n++] = behind->peers[i].peer;
        }
        s_batch_reset(batch);
        s_batch_reset(behind);
        self->open_due = false;
        self->batch_failed = false;
        for (size_t i = 0; i < n; i++) {
            reload[i]->force_ack = false;
            if (s_peer_load_track(self, reload[i]) != 0)
                self->fatal_error = true;
        }
        free(reload);
        return;
    }
    if (self->open_due || self->open->count >= self->opts->batch_max)
        s_batch_close(self);
}

static int s_on_batch_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    ingest_t *self = arg;
    self->batch_timer = -1;     // one-shot: zloop ends it after this call
    s_batch_close(self);
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

//  The observer's record of the peer, asked for once and kept.
static void *s_observed(ingest_t *self, peer_t *peer)
{
    if (!peer->observed && self->observer.agent)
        peer->observed = self->observer.agent(self->observer.arg, peer->key);
    return peer->observed;
}

static void s_on_hello(ingest_t *self, peer_t *peer, const Ferry__Hello *hello,
                       const zmq_msg_t *frame)
{
    snprintf(peer->hostname, sizeof peer->hostname, "%s", hello->hostname ? hello->hostname : "?");
    if (seqtrack_reset(peer->track, hello->stream_id))
        log_info("agent %s (%s): new spool stream %016" PRIx64 ", sequence tracking restarts",
                 peer->key, peer->hostname, hello->stream_id);
    if (store_batch_hello(self->open->writes, peer->agent_id, zmq_msg_data((zmq_msg_t *) frame),
                          zmq_msg_size((zmq_msg_t *) frame)) != 0)
        self->batch_failed = true;
    peer->force_ack = true;
    void *observed = s_observed(self, peer);
    if (observed && self->observer.hello)
        self->observer.hello(self->observer.arg, observed, hello);
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

//  Every frame is a sign of life (the observer measures the gaps of move
//  windows with it), and the moment a Config that waited can go out.
static void s_observe_frame(ingest_t *self, peer_t *peer)
{
    void *observed = s_observed(self, peer);
    if (observed && self->observer.frame)
        self->observer.frame(self->observer.arg, observed, peer->last_seen_ms, clock_mono_ms());
    if (peer->config_pending && peer->rid_len)
        s_send_config(self, peer);
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

static void s_on_data(ingest_t *self, peer_t *peer, const Ferry__Envelope *env,
                      const uint8_t *body, size_t body_len, const zmq_msg_t *frame)
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
    if (!seqtrack_is_new(peer->track, env->seq)) {
        self->duplicates++;
        peer->force_ack = true;     // the agent evidently missed our ack
    }
    else {
        //  Set aside or stored, the seq is done with: acked, never sent again.
        int above_gap = seqtrack_stored(peer->track, env->seq);
        int rc = -1;
        if (above_gap >= 0 && storable && body && env->body_case == FERRY__ENVELOPE__BODY_METRICS)
            rc = store_batch_metrics(self->open->writes, peer->agent_id, env, body, body_len,
                                     above_gap > 0);
        else if (above_gap >= 0)
            rc = store_batch_data(self->open->writes, peer->agent_id,
                                  zmq_msg_data((zmq_msg_t *) frame),
                                  zmq_msg_size((zmq_msg_t *) frame), storable ? NULL : reason,
                                  above_gap > 0);
        if (rc != 0)
            self->batch_failed = true;
    }
    seqtrack_floor(peer->track, env->first_seq);
    //  What the agent reports is observed stored or not (a duplicate too):
    //  whoever waits on it looks now, not after the commit.
    void *observed = storable ? s_observed(self, peer) : NULL;
    if (observed && self->observer.body)
        self->observer.body(self->observer.arg, observed, env);
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
    codec_status_t status = codec_decode_agent_frame(self->arena, data, size,
                                                     self->opts->max_frame, &env, &body,
                                                     &body_len);
    if (status != CODEC_OK) {
        s_bad_frame(self, peer, status);
        return;
    }
    //  Heartbeats only touch memory. Anything else joins the open batch,
    //  which keeps the frame: the writer decodes it again on its thread.
    const zmq_msg_t *frame = NULL;
    if (env->body_case != FERRY__ENVELOPE__BODY_HEARTBEAT) {
        if (s_batch_add_peer(self, peer) != 0
            || !(frame = s_batch_keep(self->open, payload))) {
            self->batch_failed = true;
            return;
        }
        //  A frame small enough to live inside its zmq_msg_t moved with it.
        if (zmq_msg_data((zmq_msg_t *) frame) != data
            && codec_decode_agent_frame(self->arena, zmq_msg_data((zmq_msg_t *) frame), size,
                                        self->opts->max_frame, &env, &body,
                                        &body_len) != CODEC_OK) {
            self->batch_failed = true;
            return;
        }
        if (self->batch_timer < 0)
            self->batch_timer = zloop_timer(self->loop, (size_t) self->opts->batch_wait_ms, 1,
                                            s_on_batch_timer, self);
    }
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_HELLO:
        s_on_hello(self, peer, env->hello, frame);
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
        void *observed = s_observed(self, peer);
        if (observed && self->observer.heartbeat)
            self->observer.heartbeat(self->observer.arg, observed, env->heartbeat);
        break;
    }
    default:
        s_on_data(self, peer, env, body, body_len, frame);
        self->open->count++;
        self->received++;
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
        if (self->open->count < self->opts->batch_max)
            continue;
        s_batch_close(self);
        //  Full while the writer still has the last one: wait for it rather
        //  than grow without bound (the agents' spools hold the rest).
        while (self->open_due && self->flying && !self->fatal_error)
            if (store_client_wait_one(self->client) != 0)
                self->fatal_error = true;
    }
}

static int s_on_router(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) reader;
    ingest_t *self = arg;
    (void) loop;
    s_drain(self, INGEST_DRAIN_BURST);
    return self->fatal_error ? -1 : 0;
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
    //  Retention: a minute apart, or half the retention when that is shorter;
    //  a backlog (after a long stop) goes a slice per flush, not at once
    //  (s_on_batch_done asks for the next slice).
    int64_t keep = self->opts->metrics_keep_ms, now = clock_mono_ms();
    int64_t every = keep / 2 < S_PRUNE_EVERY_MS ? keep / 2 : S_PRUNE_EVERY_MS;
    if (keep > 0 && now - self->pruned_mono_ms >= every) {
        store_batch_prune(self->open->writes, clock_wall_ms(), S_PRUNE_CHUNKS);
        self->pruned_mono_ms = now;
        any = true;
    }
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers)) {
        if (!peer->seen_dirty)
            continue;
        any = true;
        if (store_batch_seen(self->open->writes, peer->agent_id, peer->last_seen_ms,
                             peer->has_heartbeat ? &peer->heartbeat : NULL, peer->bad_total) != 0)
            self->batch_failed = true;
        peer->seen_dirty = false;
        peer->heartbeat.stall_ms = 0;
    }
    if (any)
        s_batch_close(self);
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

ingest_t *ingest_new(const ingest_options_t *opts, store_writer_t *writer, char *err,
                     size_t errlen)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opts = opts;
    self->writer = writer;
    self->batch_timer = -1;
    self->peers = zhashx_new();
    zhashx_set_destructor(self->peers, s_peer_free);
    self->arena = codec_arena_new();
    self->loop = zloop_new();
    if (!self->arena || !self->loop || s_batch_init(&self->batch[0], opts->max_frame) != 0
        || s_batch_init(&self->batch[1], opts->max_frame) != 0
        || !(self->client = store_client_new(writer, self->loop))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->open = &self->batch[0];
    self->cert = keys_load_secret(opts->cert_path, err, errlen);
    if (!self->cert)
        goto fail;
    self->max_length = store_writer_max_length(writer);
    if (s_start_auth(self, err, errlen) != 0 || s_bind(self, err, errlen) != 0)
        goto fail;
    zloop_reader(self->loop, self->router, s_on_router, self);
    zloop_timer(self->loop, (size_t) opts->seen_flush_ms, 0, s_on_seen_timer, self);

    struct sigaction sa = { .sa_handler = s_on_sighup };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    log_info("listening on %s (CURVE), allowed agents in %s", self->endpoint, opts->allowed_dir);
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
    s_batch_close(self);
    s_on_seen_timer(self->loop, 0, self);
    while (!self->fatal_error && (self->flying || self->open_due))
        if (store_client_wait_one(self->client) != 0)
            self->fatal_error = true;
    zsock_unbind(self->router, "%s", self->endpoint);
    log_info("stopped: %" PRIu64 " messages stored, %" PRIu64 " duplicates dropped, %" PRIu64
             " bad frames dropped, %" PRIu64 " set aside as not storable", self->stored,
             self->duplicates, self->bad_frames, self->rejected);
    return self->fatal_error ? -1 : 0;
}

int ingest_send_config(ingest_t *self, const char *key, uint32_t fast_ms, uint32_t for_ms)
{
    if (!key || strlen(key) != INGEST_KEY_LEN)
        return -1;
    peer_t *peer = s_peer_get(self, key);
    if (!peer)
        return -1;
    peer->config_fast_ms = fast_ms;
    peer->config_for_ms = for_ms;
    peer->config_pending = true;
    if (peer->rid_len)
        s_send_config(self, peer);
    return 0;
}

void ingest_set_observer(ingest_t *self, const ingest_observer_t *observer)
{
    if (observer)
        self->observer = *observer;
    else
        memset(&self->observer, 0, sizeof self->observer);
    for (peer_t *peer = zhashx_first(self->peers); peer; peer = zhashx_next(self->peers))
        peer->observed = NULL;
}

zloop_t *ingest_loop(ingest_t *self) { return self->loop; }

uint64_t ingest_received(ingest_t *self) { return self->received; }
uint64_t ingest_stored(ingest_t *self) { return self->stored; }
uint64_t ingest_duplicates(ingest_t *self) { return self->duplicates; }
uint64_t ingest_bad_frames(ingest_t *self) { return self->bad_frames; }
uint64_t ingest_rejected(ingest_t *self) { return self->rejected; }

void ingest_destroy(ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_t *self = *self_p;
    //  What the writer still has must not outlive the frames it borrows.
    store_client_destroy(&self->client);
    s_batch_free(&self->batch[0]);
    s_batch_free(&self->batch[1]);
    zloop_destroy(&self->loop);
    zsock_destroy(&self->router);
    agent_auth_destroy(&self->auth);
    zhashx_destroy(&self->peers);
    zcert_destroy(&self->cert);
    codec_arena_destroy(&self->arena);
    free(self);
    *self_p = NULL;
}
