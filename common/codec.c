/*  codec — Envelope encode/decode with size, version and direction checks. */
#include "codec.h"

#include "clock.h"

#include <errno.h>
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

codec_status_t codec_decode(const uint8_t *data, size_t size, size_t max_frame,
                            codec_direction_t direction, Ferry__Envelope **env_p)
{
    *env_p = NULL;
    if (size == 0)
        return CODEC_ERR_EMPTY;
    if (size > max_frame)
        return CODEC_ERR_OVERSIZE;
    Ferry__Envelope *env = ferry__envelope__unpack(NULL, size, data);
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
        ferry__envelope__free_unpacked(env, NULL);
        return status;
    }
    *env_p = env;
    return CODEC_OK;
}

void codec_free(Ferry__Envelope *env)
{
    if (env)
        ferry__envelope__free_unpacked(env, NULL);
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
