/*  fuzz_codec — libFuzzer target for the Envelope codec (common/codec.c).

    Every input is decoded in both directions, with a small maximum frame and
    with the default one. Checks beyond "no crash, no leak":
      - the small maximum only adds CODEC_ERR_OVERSIZE, nothing else changes;
      - a body is accepted in exactly one direction;
      - a frame that decodes encodes again, that encoding decodes in the same
        direction to the same header and body case, and encodes to the same
        bytes (the round trip is stable);
      - decoding into an arena gives the same status and envelope;
      - the metrics body found in the frame by codec_field_bytes lies inside it
        and is the body the decoder produced;
      - the metrics fast path (codec_decode_metrics) takes only frames the
        full decoder takes as Metrics with the same header and figures, its
        body lies inside the frame. It does not check the contents of disks
        and interfaces, so a frame it takes may be malformed for the full
        decoder there, and only there (not another version, not another body). */
#include "codec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SMALL_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_fail(const char *what)
{
    fprintf(stderr, "fuzz_codec: %s\n", what);
    abort();
}

static codec_arena_t *s_arena;

static codec_status_t s_decode(const uint8_t *data, size_t size, size_t max,
                               codec_direction_t dir, Ferry__Envelope **env_p)
{
    codec_status_t status = codec_decode(data, size, max, dir, env_p);
    //  The arena decoder agrees with the malloc one (and leaks nothing).
    if (!s_arena && !(s_arena = codec_arena_new()))
        s_fail("out of memory");
    Ferry__Envelope *in_arena = NULL;
    if (codec_decode_in(s_arena, data, size, max, dir, &in_arena) != status
        || (status == CODEC_OK
            && (in_arena->seq != (*env_p)->seq || in_arena->body_case != (*env_p)->body_case
                || ferry__envelope__get_packed_size(in_arena)
                       != ferry__envelope__get_packed_size(*env_p))))
        s_fail("arena decode differs from malloc decode");
    if ((status == CODEC_OK) != (*env_p != NULL))
        s_fail("envelope returned iff CODEC_OK");
    if (status >= CODEC_ERR_COUNT || strcmp(codec_status_name(status), "unknown") == 0)
        s_fail("status without a name");
    return status;
}

static uint8_t *s_encode(const Ferry__Envelope *env, size_t *size_p)
{
    size_t size = 0;
    uint8_t *buf = codec_encode(env, CODEC_DEFAULT_MAX_FRAME, &size);
    if (!buf)
        s_fail("a decoded envelope does not encode");
    if (size == 0 || size != ferry__envelope__get_packed_size(env))
        s_fail("encoded size differs from the packed size");
    *size_p = size;
    return buf;
}

//  Encode env, decode it again, encode that: same envelope, same bytes.
static void s_round_trip(const Ferry__Envelope *env, codec_direction_t dir)
{
    size_t size1, size2;
    uint8_t *buf1 = s_encode(env, &size1);
    Ferry__Envelope *env2;
    if (s_decode(buf1, size1, CODEC_DEFAULT_MAX_FRAME, dir, &env2) != CODEC_OK)
        s_fail("re-encoded envelope does not decode");
    if (env2->version != env->version || env2->seq != env->seq
        || env2->sent_ms != env->sent_ms || env2->first_seq != env->first_seq
        || env2->body_case != env->body_case)
        s_fail("round trip changed the envelope header");
    uint8_t *buf2 = s_encode(env2, &size2);
    if (size2 != size1 || memcmp(buf1, buf2, size1) != 0)
        s_fail("round trip is not stable");
    free(buf2);
    codec_free(&env2);
    free(buf1);
}

//  A body found in the frame lies inside it and is the decoded body.
static void s_body_bytes(const Ferry__Envelope *env, const uint8_t *data, size_t size)
{
    const uint8_t *body = NULL;
    size_t len = 0;
    if (!codec_field_bytes(data, size, FERRY__ENVELOPE__BODY_METRICS, &body, &len))
        return;
    if (body < data || len > size || body + len > data + size)
        s_fail("body bytes outside the frame");
    if (env->body_case != FERRY__ENVELOPE__BODY_METRICS)
        return;
    Ferry__Metrics *metrics = ferry__metrics__unpack(NULL, len, body);
    if (!metrics)
        s_fail("body bytes of a decoded frame do not decode");
    size_t want = ferry__metrics__get_packed_size(env->metrics);
    size_t got = ferry__metrics__get_packed_size(metrics);
    uint8_t *a = malloc(want + 1), *b = malloc(got + 1);
    if (!a || !b)
        s_fail("out of memory");
    if (ferry__metrics__pack(env->metrics, a) != want || ferry__metrics__pack(metrics, b) != got
        || want != got || memcmp(a, b, want) != 0)
        s_fail("body bytes decode to another body than the frame's");
    free(a);
    free(b);
    ferry__metrics__free_unpacked(metrics, NULL);
}

static bool s_same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void s_fast_path(const uint8_t *data, size_t size)
{
    Ferry__Envelope *fast = NULL, *full = NULL;
    const uint8_t *body = NULL;
    size_t len = 0;
    bool taken = codec_decode_metrics(s_arena, data, size, CODEC_DEFAULT_MAX_FRAME, &fast, &body,
                                      &len);
    codec_status_t status = codec_decode(data, size, CODEC_DEFAULT_MAX_FRAME, CODEC_TO_COLLECTOR,
                                         &full);
    if (!taken) {
        codec_free(&full);
        return;
    }
    if (body < data || body + len > data + size)
        s_fail("fast path: body outside the frame");
    if (status != CODEC_OK) {
        //  Only the undecoded parts may be wrong, and only malformed.
        if (status != CODEC_ERR_MALFORMED)
            s_fail("fast path took a frame the full decoder refuses for another reason");
        return;
    }
    const Ferry__Metrics *a = fast->metrics, *b = full->metrics;
    if (full->body_case != FERRY__ENVELOPE__BODY_METRICS || fast->seq != full->seq
        || fast->first_seq != full->first_seq || fast->sent_ms != full->sent_ms
        || fast->version != full->version || !s_same_double(a->interval_s, b->interval_s)
        || a->processes != b->processes || !a->cpu != !b->cpu || !a->memory != !b->memory
        || !a->load != !b->load
        || (a->cpu && (!s_same_double(a->cpu->user_pct, b->cpu->user_pct)
                       || !s_same_double(a->cpu->physc, b->cpu->physc)
                       || a->cpu->has_physc != b->cpu->has_physc))
        || (a->memory && !s_same_double(a->memory->real_free_mb, b->memory->real_free_mb))
        || (a->load && !s_same_double(a->load->avg1, b->load->avg1)))
        s_fail("fast path and full decoder disagree");
    codec_free(&full);
}

static codec_status_t s_direction(const uint8_t *data, size_t size, codec_direction_t dir)
{
    Ferry__Envelope *env, *small;
    codec_status_t status = s_decode(data, size, CODEC_DEFAULT_MAX_FRAME, dir, &env);
    codec_status_t small_status = s_decode(data, size, S_SMALL_MAX, dir, &small);
    codec_status_t expect = size > S_SMALL_MAX ? CODEC_ERR_OVERSIZE : status;
    if (size == 0)
        expect = CODEC_ERR_EMPTY;
    if (small_status != expect)
        s_fail("small maximum frame changed more than the size check");
    codec_free(&small);
    if (status == CODEC_OK) {
        if (!codec_body_allowed(env->body_case, dir)
            || strcmp(codec_body_name(env->body_case), "none") == 0)
            s_fail("accepted a body not allowed in this direction");
        s_round_trip(env, dir);
        s_body_bytes(env, data, size);
    }
    codec_free(&env);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec_status_t to_collector = s_direction(data, size, CODEC_TO_COLLECTOR);
    codec_status_t to_agent = s_direction(data, size, CODEC_TO_AGENT);
    s_fast_path(data, size);
    if ((to_collector == CODEC_OK && to_agent != CODEC_ERR_DIRECTION)
        || (to_agent == CODEC_OK && to_collector != CODEC_ERR_DIRECTION))
        s_fail("a body is accepted in both directions, or refused for another reason");
    return 0;
}
