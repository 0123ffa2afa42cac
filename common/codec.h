/*  codec — Envelope encode/decode with a maximum frame size.
    Every failure has a reason the caller can count and log. */
#ifndef FERRY_CODEC_H
#define FERRY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry.pb-c.h"

#define CODEC_VERSION 1                     // protocol version this build speaks
#define CODEC_DEFAULT_MAX_FRAME (1u << 20)  // 1 MiB

typedef enum {
    CODEC_OK = 0,
    CODEC_ERR_EMPTY,        // zero-length frame
    CODEC_ERR_OVERSIZE,     // frame larger than the configured maximum
    CODEC_ERR_MALFORMED,    // not a decodable Envelope (random bytes, truncated)
    CODEC_ERR_VERSION,      // unknown protocol version
    CODEC_ERR_NO_BODY,      // Envelope without a body
    CODEC_ERR_DIRECTION,    // body not allowed in this direction
    CODEC_ERR_COUNT
} codec_status_t;

typedef enum {
    CODEC_TO_COLLECTOR,     // frames an agent sends
    CODEC_TO_AGENT          // frames a collector sends
} codec_direction_t;

//  Short stable name of a status ("oversize", "malformed", ...), for counters and logs.
const char *codec_status_name(codec_status_t status);

//  True when the body case may travel in the given direction.
bool codec_body_allowed(Ferry__Envelope__BodyCase body, codec_direction_t direction);

//  Name of a body case ("hello", "metrics", ...).
const char *codec_body_name(Ferry__Envelope__BodyCase body);

//  Decode one frame. On CODEC_OK *env_p receives a new Envelope the caller frees
//  with codec_free(). On failure *env_p is NULL.
codec_status_t codec_decode(const uint8_t *data, size_t size, size_t max_frame,
                            codec_direction_t direction, Ferry__Envelope **env_p);

//  Where the length-delimited field number `field` of the top-level message in
//  data (borrowed) lies: *bytes_p points into data. True only when it occurs
//  exactly once (protobuf merges repeated occurrences of a message field, so
//  their bytes alone are not the decoded value) and the message is well formed;
//  *bytes_p and *len_p are left alone otherwise.
//  Lets a decoded frame's body be kept byte for byte instead of re-packed.
bool codec_field_bytes(const uint8_t *data, size_t size, uint32_t field,
                       const uint8_t **bytes_p, size_t *len_p);

//  Memory for decoded Envelopes that is reused instead of freed: a reader that
//  decodes one frame at a time saves a malloc/free per field (a third of
//  the decode time of a metrics frame).
typedef struct _codec_arena_t codec_arena_t;

//  New arena; NULL when out of memory. Free with codec_arena_destroy.
codec_arena_t *codec_arena_new(void);

//  Free the arena and every Envelope in it, and NULL *self_p; safe twice.
void codec_arena_destroy(codec_arena_t **self_p);

//  codec_decode into arena: *env_p lives in the arena (never codec_free it)
//  until the next codec_decode_in with the same arena.
codec_status_t codec_decode_in(codec_arena_t *arena, const uint8_t *data, size_t size,
                               size_t max_frame, codec_direction_t direction,
                               Ferry__Envelope **env_p);

//  The fast path for the bulk of agent traffic, a frame that carries Metrics.
//  When data (borrowed) is exactly such a frame, well formed and of this
//  version (no other top-level field, the body once), returns true with
//  *env_p an Envelope in the arena (as codec_decode_in) whose metrics holds
//  only interval_s, cpu, memory, load and processes, and *body_p/*body_len_p
//  the Metrics body inside data. Disks and interfaces are not decoded: their
//  contents are not checked (the body is stored as received and read back
//  with the full schema). Otherwise returns false and leaves the frame to
//  codec_decode_in, which then gives exactly the answer it always gave, and
//  leaves *body_p and *body_len_p alone.
bool codec_decode_metrics(codec_arena_t *arena, const uint8_t *data, size_t size,
                          size_t max_frame, Ferry__Envelope **env_p, const uint8_t **body_p,
                          size_t *body_len_p);

//  A frame from an agent, decoded as the collector stores it: metrics by
//  codec_decode_metrics, anything else (and metrics it passes on) by
//  codec_decode_in towards the collector. *body_p/*body_len_p: a Metrics
//  body as received when it is one slice of data (kept byte for byte, with
//  fields newer than this build), else NULL/0 (merged copies: re-pack it).
//  *env_p lives in the arena as for codec_decode_in. data borrowed.
codec_status_t codec_decode_agent_frame(codec_arena_t *arena, const uint8_t *data, size_t size,
                                        size_t max_frame, Ferry__Envelope **env_p,
                                        const uint8_t **body_p, size_t *body_len_p);

//  Free the Envelope *env_p (from codec_decode, owned by the caller) and NULL
//  *env_p; safe on NULL, on *env_p NULL, and twice.
void codec_free(Ferry__Envelope **env_p);

//  Encode env (borrowed). Returns a malloc'd buffer the caller frees, its size in
//  *size_p; NULL with errno = EMSGSIZE when the frame would exceed max_frame.
uint8_t *codec_encode(const Ferry__Envelope *env, size_t max_frame, size_t *size_p);

//  Fill the common envelope fields (version, seq, sent_ms now) on a stack envelope.
void codec_envelope_init(Ferry__Envelope *env, uint64_t seq);

#endif
