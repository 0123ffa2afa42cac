/*  codec — Envelope encode/decode with size, version and direction checks. */
#include "codec.h"

#include "clock.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define S_MAX_FIELD_NUMBER 0x1fffffffu     // protobuf field numbers are 1 .. 2^29-1

static const char *s_status_names[CODEC_ERR_COUNT] = {
    [CODEC_OK] = "ok",
    [CODEC_ERR_EMPTY] = "empty",
    [CODEC_ERR_OVERSIZE] = "oversize",
    [CODEC_ERR_MALFORMED] = "malformed",
    [CODEC_ERR_VERSION] = "version",
    [CODEC_ERR_NO_BODY] = "no_body",
    [CODEC_ERR_DIRECTION] = "direction",
};

const char *codec_status_name(codec_status_t status)
{
    if ((int) status < 0 || status >= CODEC_ERR_COUNT)
        return "unknown";
    return s_status_names[status];
}

const char *codec_body_name(Ferry__Envelope__BodyCase body)
{
    switch (body) {
    case FERRY__ENVELOPE__BODY_HELLO: return "hello";
    case FERRY__ENVELOPE__BODY_FACTS: return "facts";
    case FERRY__ENVELOPE__BODY_METRICS: return "metrics";
    case FERRY__ENVELOPE__BODY_EVENT: return "event";
    case FERRY__ENVELOPE__BODY_HEARTBEAT: return "heartbeat";
    case FERRY__ENVELOPE__BODY_JOB_UPDATE: return "job_update";
    case FERRY__ENVELOPE__BODY_ACK: return "ack";
    case FERRY__ENVELOPE__BODY_JOB_REQUEST: return "job_request";
    case FERRY__ENVELOPE__BODY_CONFIG: return "config";
    default: return "none";
    }
}

bool codec_body_allowed(Ferry__Envelope__BodyCase body, codec_direction_t direction)
{
    switch (body) {
    case FERRY__ENVELOPE__BODY_HELLO:
    case FERRY__ENVELOPE__BODY_FACTS:
    case FERRY__ENVELOPE__BODY_METRICS:
    case FERRY__ENVELOPE__BODY_EVENT:
    case FERRY__ENVELOPE__BODY_HEARTBEAT:
    case FERRY__ENVELOPE__BODY_JOB_UPDATE:
        return direction == CODEC_TO_COLLECTOR;
    case FERRY__ENVELOPE__BODY_ACK:
    case FERRY__ENVELOPE__BODY_JOB_REQUEST:
    case FERRY__ENVELOPE__BODY_CONFIG:
        return direction == CODEC_TO_AGENT;
    default:
        return false;
    }
}

//  protobuf-c keeps fields it does not know as unknown fields, and it keeps
//  some it should refuse: a field number 0 written as a multi-byte varint
//  (0x81 0x00) passes its tag check, which only looks at the first byte. Such
//  a frame re-encodes canonically and then does not decode. True when every
//  unknown field of msg and of its sub-messages has a valid field number.
static bool s_unknown_fields_valid(const ProtobufCMessage *msg)
{
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        uint32_t tag = msg->unknown_fields[i].tag;
        if (tag == 0 || tag > S_MAX_FIELD_NUMBER)
            return false;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *) msg;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (const void *) (base + field->quantifier_offset);
            ProtobufCMessage *const *items =
                *(ProtobufCMessage *const *const *) (const void *) (base + field->offset);
            for (size_t j = 0; j < n; j++)
                if (!s_unknown_fields_valid(items[j]))
                    return false;
            continue;
        }
        //  Members of a oneof share their storage: only the set one is a message.
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            && *(const uint32_t *) (const void *) (base + field->quantifier_offset) != field->id)
            continue;
        const ProtobufCMessage *sub =
            *(const ProtobufCMessage *const *) (const void *) (base + field->offset);
        if (sub && !s_unknown_fields_valid(sub))
            return false;
    }
    return true;
}

// ------------------------------------------------------------------ arena

#define S_ARENA_BLOCK 65536     // a metrics frame needs about 2 KiB; a facts frame more

//  Memory that did not fit the block; freed at the next reset.
typedef struct s_overflow {
    struct s_overflow *next;
    max_align_t data[];
} s_overflow_t;

struct _codec_arena_t {
    ProtobufCAllocator allocator;   // what protobuf-c allocates with; data = this arena
    size_t used;                    // bytes of block handed out since the last reset
    s_overflow_t *overflow;         // allocations beyond the block
    max_align_t block[S_ARENA_BLOCK / sizeof(max_align_t)]; // the reused memory
};

static void *s_arena_alloc(void *data, size_t size)
{
    codec_arena_t *self = data;
    size_t aligned = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (aligned >= size && aligned <= sizeof self->block - self->used) {
        void *p = (char *) self->block + self->used;
        self->used += aligned;
        return p;
    }
    if (size > SIZE_MAX - sizeof(s_overflow_t))
        return NULL;
    s_overflow_t *big = malloc(sizeof *big + size);
    if (!big)
        return NULL;
    big->next = self->overflow;
    self->overflow = big;
    return big->data;
}

//  Individual frees do nothing: everything goes at the next reset.
static void s_arena_free(void *data, void *p)
{
    (void) data;
    (void) p;
}

static void s_arena_reset(codec_arena_t *self)
{
    while (self->overflow) {
        s_overflow_t *next = self->overflow->next;
        free(self->overflow);
        self->overflow = next;
    }
    self->used = 0;
}

codec_arena_t *codec_arena_new(void)
{
    codec_arena_t *self = malloc(sizeof *self);
    if (!self)
        return NULL;
    self->allocator = (ProtobufCAllocator) { s_arena_alloc, s_arena_free, self };
    self->used = 0;
    self->overflow = NULL;
    return self;
}

void codec_arena_destroy(codec_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_arena_reset(*self_p);
    free(*self_p);
    *self_p = NULL;
}

// ------------------------------------------------------------------ decode

static codec_status_t s_decode(ProtobufCAllocator *allocator, const uint8_t *data, size_t size,
                               size_t max_frame, codec_direction_t direction,
                               Ferry__Envelope **env_p)
{
    *env_p = NULL;
    if (size == 0)
        return CODEC_ERR_EMPTY;
    if (size > max_frame)
        return CODEC_ERR_OVERSIZE;
    Ferry__Envelope *env = ferry__envelope__unpack(allocator, size, data);
    if (!env)
        return CODEC_ERR_MALFORMED;
    codec_status_t status = CODEC_OK;
    if (!s_unknown_fields_valid(&env->base))
        status = CODEC_ERR_MALFORMED;
    else if (env->version != CODEC_VERSION)
        status = CODEC_ERR_VERSION;
    else if (env->body_case == FERRY__ENVELOPE__BODY__NOT_SET)
        status = CODEC_ERR_NO_BODY;
    else if (!codec_body_allowed(env->body_case, direction))
        status = CODEC_ERR_DIRECTION;
    if (status != CODEC_OK) {
        if (!allocator)
            ferry__envelope__free_unpacked(env, NULL);
        return status;
    }
    *env_p = env;
    return CODEC_OK;
}

codec_status_t codec_decode(const uint8_t *data, size_t size, size_t max_frame,
                            codec_direction_t direction, Ferry__Envelope **env_p)
{
    return s_decode(NULL, data, size, max_frame, direction, env_p);
}

codec_status_t codec_decode_in(codec_arena_t *arena, const uint8_t *data, size_t size,
                               size_t max_frame, codec_direction_t direction,
                               Ferry__Envelope **env_p)
{
    s_arena_reset(arena);
    return s_decode(&arena->allocator, data, size, max_frame, direction, env_p);
}

//  Read a base-128 varint at *pos; false when it runs past end or past 10 bytes.
static bool s_varint(const uint8_t *data, size_t size, size_t *pos, uint64_t *value_p)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 70 && *pos < size; shift += 7) {
        uint8_t byte = data[(*pos)++];
        value |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value_p = value;
            return true;
        }
    }
    return false;
}

bool codec_field_bytes(const uint8_t *data, size_t size, uint32_t field,
                       const uint8_t **bytes_p, size_t *len_p)
{
    size_t pos = 0, found = 0;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    while (pos < size) {
        uint64_t key, value;
        if (!s_varint(data, size, &pos, &key))
            return false;
        switch (key & 7) {
        case 0: //  varint
            if (!s_varint(data, size, &pos, &value))
                return false;
            break;
        case 1: //  64-bit
            if (size - pos < 8)
                return false;
            pos += 8;
            break;
        case 5: //  32-bit
            if (size - pos < 4)
                return false;
            pos += 4;
            break;
        case 2: //  length-delimited
            if (!s_varint(data, size, &pos, &value) || value > size - pos)
                return false;
            if ((key >> 3) == field) {
                bytes = data + pos;
                len = (size_t) value;
                found++;
            }
            pos += (size_t) value;
            break;
        default: //  groups (deprecated) and invalid wire types
            return false;
        }
    }
    //  Nothing is written unless true: a caller may test its pointer.
    if (found != 1)
        return false;
    *bytes_p = bytes;
    *len_p = len;
    return true;
}

bool codec_decode_metrics(codec_arena_t *arena, const uint8_t *data, size_t size,
                          size_t max_frame, Ferry__Envelope **env_p, const uint8_t **body_p,
                          size_t *body_len_p)
{
    *env_p = NULL;
    if (size == 0 || size > max_frame)
        return false;
    s_arena_reset(arena);
    Ferry__MetricsFrameView *view =
        ferry__metrics_frame_view__unpack(&arena->allocator, size, data);
    //  Anything else at the top level (another body, a newer field) and the
    //  full decoder decides, as before.
    const uint8_t *body = NULL;
    size_t body_len = 0;
    if (!view || !view->metrics || view->base.n_unknown_fields
        || view->version != CODEC_VERSION || !s_unknown_fields_valid(&view->base)
        || !codec_field_bytes(data, size, FERRY__ENVELOPE__BODY_METRICS, &body, &body_len))
        return false;
    Ferry__Envelope *env = s_arena_alloc(arena, sizeof *env);
    Ferry__Metrics *metrics = s_arena_alloc(arena, sizeof *metrics);
    if (!env || !metrics)
        return false;
    ferry__envelope__init(env);
    ferry__metrics__init(metrics);
    env->version = view->version;
    env->seq = view->seq;
    env->sent_ms = view->sent_ms;
    env->first_seq = view->first_seq;
    env->body_case = FERRY__ENVELOPE__BODY_METRICS;
    env->metrics = metrics;
    metrics->interval_s = view->metrics->interval_s;
    metrics->cpu = view->metrics->cpu;
    metrics->memory = view->metrics->memory;
    metrics->load = view->metrics->load;
    metrics->processes = view->metrics->processes;
    *env_p = env;
    *body_p = body;
    *body_len_p = body_len;
    return true;
}

codec_status_t codec_decode_agent_frame(codec_arena_t *arena, const uint8_t *data, size_t size,
                                        size_t max_frame, Ferry__Envelope **env_p,
                                        const uint8_t **body_p, size_t *body_len_p)
{
    *body_p = NULL;
    *body_len_p = 0;
    if (codec_decode_metrics(arena, data, size, max_frame, env_p, body_p, body_len_p))
        return CODEC_OK;
    codec_status_t status = codec_decode_in(arena, data, size, max_frame, CODEC_TO_COLLECTOR,
                                            env_p);
    if (status == CODEC_OK && (*env_p)->body_case == FERRY__ENVELOPE__BODY_METRICS)
        codec_field_bytes(data, size, FERRY__ENVELOPE__BODY_METRICS, body_p, body_len_p);
    return status;
}

void codec_free(Ferry__Envelope **env_p)
{
    if (env_p && *env_p) {
        ferry__envelope__free_unpacked(*env_p, NULL);
        *env_p = NULL;
    }
}

uint8_t *codec_encode(const Ferry__Envelope *env, size_t max_frame, size_t *size_p)
{
    size_t size = ferry__envelope__get_packed_size(env);
    if (size > max_frame) {
        errno = EMSGSIZE;
        return NULL;
    }
    //  An Envelope always has a version, so size > 0; +1 keeps malloc(0) away anyway.
    uint8_t *buf = malloc(size + 1);
    if (!buf)
        return NULL;
    *size_p = ferry__envelope__pack(env, buf);
    return buf;
}

void codec_envelope_init(Ferry__Envelope *env, uint64_t seq)
{
    ferry__envelope__init(env);
    env->version = CODEC_VERSION;
    env->seq = seq;
    env->sent_ms = clock_wall_ms();
}
