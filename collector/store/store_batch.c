/*  store_batch — ingest's writes, recorded on its thread and committed on
    the writer's (see store_batch.h). */
#include "store_batch.h"

#include "clock.h"
#include "codec.h"
#include "errbuf.h"

#include <stdlib.h>
#include <string.h>

typedef enum { S_OP_HELLO, S_OP_DATA, S_OP_METRICS, S_OP_SEQ, S_OP_SEEN } s_op_kind_t;

//  What store_metrics reads of a decoded Metrics besides its body.
typedef struct {
    uint64_t seq;                   // the message's
    int64_t time_ms;                // its sent_ms
    bool has_cpu, has_memory, has_load;
    Ferry__CpuMetrics cpu;
    Ferry__MemoryMetrics memory;
    Ferry__LoadMetrics load;
} s_figures_t;

typedef struct {
    s_op_kind_t kind;
    int64_t agent_id;               // agents.id
    const uint8_t *frame;           // HELLO, DATA: the frame (borrowed)
    size_t size;                    // its bytes
    char *refused;                  // DATA: why it is set aside (owned), NULL = store it
    bool pending;                   // DATA, METRICS: its seq lies above a gap
    s_figures_t figures;            // METRICS (frame: its body)
    uint64_t stream_id;             // SEQ
    uint64_t acked_seq;             // SEQ
    int64_t last_seen_ms;           // SEEN
    bool has_heartbeat;             // SEEN: heartbeat holds figures
    Ferry__Heartbeat heartbeat;     // SEEN: scalars only
    uint64_t bad_frames;            // SEEN
} s_op_t;

struct _store_batch_t {
    size_t max_frame;               // decode limit
    codec_arena_t *arena;           // decoding on the writer's thread
    s_op_t *ops;                    // in the order recorded
    size_t count, cap;
    bool prune;                     // run retention
    int64_t prune_now_ms;
    int prune_max;
    //  Results of the commit.
    uint64_t stored;
    store_rejection_t *rejected;    // set aside
    size_t rejected_count, rejected_cap;
    int pruned;
};

store_batch_t *store_batch_new(size_t max_frame)
{
    store_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_frame = max_frame;
    self->arena = codec_arena_new();
    if (!self->arena) {
        free(self);
        return NULL;
    }
    self->pruned = STORE_BATCH_PRUNE_NONE;
    return self;
}

void store_batch_clear(store_batch_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->ops[i].refused);
    self->count = 0;
    self->prune = false;
    self->stored = 0;
    self->rejected_count = 0;
    self->pruned = STORE_BATCH_PRUNE_NONE;
}

void store_batch_destroy(store_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_batch_t *self = *self_p;
    store_batch_clear(self);
    codec_arena_destroy(&self->arena);
    free(self->ops);
    free(self->rejected);
    free(self);
    *self_p = NULL;
}

bool store_batch_empty(const store_batch_t *self)
{
    return self->count == 0 && !self->prune;
}

static s_op_t *s_add(store_batch_t *self, s_op_kind_t kind, int64_t agent_id)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        s_op_t *grown = realloc(self->ops, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->ops = grown;
        self->cap = cap;
    }
    s_op_t *op = &self->ops[self->count++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->agent_id = agent_id;
    return op;
}

int store_batch_hello(store_batch_t *self, int64_t agent_id, const uint8_t *frame, size_t size)
{
    s_op_t *op = s_add(self, S_OP_HELLO, agent_id);
    if (!op)
        return -1;
    op->frame = frame;
    op->size = size;
    return 0;
}

int store_batch_data(store_batch_t *self, int64_t agent_id, const uint8_t *frame, size_t size,
                     const char *refused, bool pending)
{
    char *reason = refused ? strdup(refused) : NULL;
    s_op_t *op = refused && !reason ? NULL : s_add(self, S_OP_DATA, agent_id);
    if (!op) {
        free(reason);
        return -1;
    }
    op->frame = frame;
    op->size = size;
    op->refused = reason;
    op->pending = pending;
    return 0;
}

//  A sub-message copied alone: what it points to lives in the caller's arena.
#define S_COPY_ALONE(dst, src) \
    do { \
        (dst) = *(src); \
        (dst).base.n_unknown_fields = 0; \
        (dst).base.unknown_fields = NULL; \
    } while (0)

int store_batch_metrics(store_batch_t *self, int64_t agent_id, const Ferry__Envelope *env,
                        const uint8_t *body, size_t body_len, bool pending)
{
    const Ferry__Metrics *m = env->metrics;
    if (!m || !body)
        return -1;
    s_op_t *op = s_add(self, S_OP_METRICS, agent_id);
    if (!op)
        return -1;
    op->frame = body;
    op->size = body_len;
    op->pending = pending;
    s_figures_t *f = &op->figures;
    f->seq = env->seq;
    f->time_ms = env->sent_ms;
    if ((f->has_cpu = m->cpu != NULL))
        S_COPY_ALONE(f->cpu, m->cpu);
    if ((f->has_memory = m->memory != NULL))
        S_COPY_ALONE(f->memory, m->memory);
    if ((f->has_load = m->load != NULL))
        S_COPY_ALONE(f->load, m->load);
    return 0;
}

int store_batch_seq(store_batch_t *self, int64_t agent_id, uint64_t stream_id,
                    uint64_t acked_seq)
{
    s_op_t *op = s_add(self, S_OP_SEQ, agent_id);
    if (!op)
        return -1;
    op->stream_id = stream_id;
    op->acked_seq = acked_seq;
    return 0;
}

int store_batch_seen(store_batch_t *self, int64_t agent_id, int64_t last_seen_ms,
                     const Ferry__Heartbeat *hb, uint64_t bad_frames)
{
    s_op_t *op = s_add(self, S_OP_SEEN, agent_id);
    if (!op)
        return -1;
    op->last_seen_ms = last_seen_ms;
    op->bad_frames = bad_frames;
    if (hb) {
        op->has_heartbeat = true;
        op->heartbeat = *hb;
        op->heartbeat.base.unknown_fields = NULL;
        op->heartbeat.base.n_unknown_fields = 0;
    }
    return 0;
}

void store_batch_prune(store_batch_t *self, int64_t now_ms, int max_chunks)
{
    self->prune = true;
    self->prune_now_ms = now_ms;
    self->prune_max = max_chunks;
}

uint64_t store_batch_stored(const store_batch_t *self)
{
    return self->stored;
}

const store_rejection_t *store_batch_rejections(const store_batch_t *self, size_t *count_p)
{
    *count_p = self->rejected_count;
    return self->rejected;
}

int store_batch_pruned(const store_batch_t *self)
{
    return self->pruned;
}

//  ------------------------------------------------------- on the writer

//  Size of the message's body, for the admin reading `rejected`.
static uint64_t s_body_bytes(const Ferry__Envelope *env, size_t body_len)
{
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_METRICS:
        return body_len ? body_len : ferry__metrics__get_packed_size(env->metrics);
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

static int s_note_rejection(store_batch_t *self, const store_rejection_t *r)
{
    if (self->rejected_count == self->rejected_cap) {
        size_t cap = self->rejected_cap ? self->rejected_cap * 2 : 16;
        store_rejection_t *grown = realloc(self->rejected, cap * sizeof *grown);
        if (!grown)
            return -1;
        self->rejected = grown;
        self->rejected_cap = cap;
    }
    self->rejected[self->rejected_count++] = *r;
    return 0;
}

//  Set the message aside with reason. 0 / -1 (the database failed).
static int s_reject(store_batch_t *self, store_t *store, const s_op_t *op,
                    const Ferry__Envelope *env, size_t body_len, const char *reason)
{
    store_rejection_t r = { .agent_id = op->agent_id, .seq = env->seq, .time_ms = env->sent_ms,
                            .kind = codec_body_name(env->body_case),
                            .bytes = s_body_bytes(env, body_len) };
    errbuf_set(r.reason, sizeof r.reason, "%s", reason);
    if (store_reject(store, &r, clock_wall_ms()) != 0)
        return -1;
    return s_note_rejection(self, &r);
}

//  body/body_len: a Metrics body as received, or NULL to re-pack it. 0
//  stored, 1 refused by the store (store_error says why), -1 it failed.
static int s_store_body(store_t *store, int64_t id, const Ferry__Envelope *env,
                        const uint8_t *body, size_t body_len)
{
    switch (env->body_case) {
    case FERRY__ENVELOPE__BODY_METRICS:
        return store_metrics(store, id, env->seq, env->sent_ms, env->metrics, body, body_len);
    case FERRY__ENVELOPE__BODY_EVENT:
        return store_event(store, id, env->seq, env->sent_ms, clock_wall_ms(), env->event);
    case FERRY__ENVELOPE__BODY_FACTS:
        return store_facts(store, id, env->seq, env->sent_ms, env->facts);
    case FERRY__ENVELOPE__BODY_JOB_UPDATE:
        return store_job_update(store, id, env->seq, env->sent_ms, env->job_update);
    default:
        return 0;
    }
}

static int s_apply_data(store_batch_t *self, store_t *store, const s_op_t *op)
{
    Ferry__Envelope *env = NULL;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    //  Ingest decoded these very bytes: a failure here is not the agent's.
    if (codec_decode_agent_frame(self->arena, op->frame, op->size, self->max_frame, &env, &body,
                                 &body_len) != CODEC_OK)
        return 0;
    int rc;
    if (op->refused)
        rc = s_reject(self, store, op, env, body_len, op->refused);
    else {
        rc = s_store_body(store, op->agent_id, env, body, body_len);
        if (rc == 1)
            rc = s_reject(self, store, op, env, body_len, store_error(store));
        else if (rc == 0)
            self->stored++;
    }
    if (rc == 0 && op->pending)
        rc = store_pending_add(store, op->agent_id, env->seq);
    return rc;
}

static int s_apply_metrics(store_batch_t *self, store_t *store, const s_op_t *op)
{
    const s_figures_t *f = &op->figures;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__CpuMetrics cpu = f->cpu;
    Ferry__MemoryMetrics memory = f->memory;
    Ferry__LoadMetrics load = f->load;
    metrics.cpu = f->has_cpu ? &cpu : NULL;
    metrics.memory = f->has_memory ? &memory : NULL;
    metrics.load = f->has_load ? &load : NULL;
    int rc = store_metrics(store, op->agent_id, f->seq, f->time_ms, &metrics, op->frame, op->size);
    if (rc == 0)
        self->stored++;
    if (rc == 0 && op->pending)
        rc = store_pending_add(store, op->agent_id, f->seq);
    return rc;
}

static int s_apply_hello(store_batch_t *self, store_t *store, const s_op_t *op)
{
    Ferry__Envelope *env = NULL;
    if (codec_decode_in(self->arena, op->frame, op->size, self->max_frame, CODEC_TO_COLLECTOR,
                        &env) != CODEC_OK || env->body_case != FERRY__ENVELOPE__BODY_HELLO)
        return 0;
    return store_agent_hello(store, op->agent_id, env->hello, clock_wall_ms());
}

static int s_apply(store_batch_t *self, store_t *store, const s_op_t *op)
{
    switch (op->kind) {
    case S_OP_HELLO:
        return s_apply_hello(self, store, op);
    case S_OP_DATA:
        return s_apply_data(self, store, op);
    case S_OP_METRICS:
        return s_apply_metrics(self, store, op);
    case S_OP_SEQ:
        return store_agent_seq(store, op->agent_id, op->stream_id, op->acked_seq);
    case S_OP_SEEN:
        return store_agent_seen(store, op->agent_id, op->last_seen_ms,
                                op->has_heartbeat ? &op->heartbeat : NULL, op->bad_frames);
    }
    return -1;
}

int store_batch_commit(store_t *store, void *arg, char *err, size_t errlen)
{
    store_batch_t *self = arg;
    self->stored = 0;
    self->rejected_count = 0;
    self->pruned = STORE_BATCH_PRUNE_NONE;
    if (store_begin(store) != 0)
        goto fail;
    for (size_t i = 0; i < self->count; i++)
        if (s_apply(self, store, &self->ops[i]) != 0)
            goto fail;
    if (self->prune && (self->pruned = store_prune(store, self->prune_now_ms,
                                                   self->prune_max)) < 0)
        goto fail;
    if (store_commit(store) != 0)
        goto fail;
    //  Samples the commit set aside itself were counted as stored above.
    size_t count = 0;
    const store_rejection_t *refused = store_commit_rejections(store, &count);
    for (size_t i = 0; i < count; i++) {
        s_note_rejection(self, &refused[i]);
        self->stored--;
    }
    return 0;
fail:
    errbuf_set(err, errlen, "%s", store_error(store));
    store_rollback(store);
    self->stored = 0;
    self->rejected_count = 0;
    return -1;
}
