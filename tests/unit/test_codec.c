/*  codec: round trips and every decode failure with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static uint8_t *s_metrics_frame(uint32_t version, size_t *size)
{
    Ferry__Envelope env;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__CpuMetrics cpu = FERRY__CPU_METRICS__INIT;
    codec_envelope_init(&env, 42);
    env.version = version;
    env.first_seq = 40;
    cpu.user_pct = 12.5;
    metrics.cpu = &cpu;
    metrics.interval_s = 10;
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &metrics;
    return codec_encode(&env, CODEC_DEFAULT_MAX_FRAME, size);
}

static void test_round_trip(void **state)
{
    (void) state;
    size_t size;
    uint8_t *frame = s_metrics_frame(CODEC_VERSION, &size);
    assert_non_null(frame);
    Ferry__Envelope *env = NULL;
    assert_int_equal(codec_decode(frame, size, CODEC_DEFAULT_MAX_FRAME, CODEC_TO_COLLECTOR, &env),
                     CODEC_OK);
    assert_non_null(env);
    assert_int_equal(env->seq, 42);
    assert_int_equal(env->first_seq, 40);
    assert_true(env->sent_ms > 1600000000000);
    assert_int_equal(env->body_case, FERRY__ENVELOPE__BODY_METRICS);
    assert_true(env->metrics->cpu->user_pct == 12.5);
    codec_free(&env);
    assert_null(env);       // like every destructor: NULLs the pointer, safe twice
    codec_free(&env);
    codec_free(NULL);
    free(frame);
}

static void test_wrong_direction(void **state)
{
    (void) state;
    size_t size;
    uint8_t *frame = s_metrics_frame(CODEC_VERSION, &size);
    Ferry__Envelope *env = NULL;
    //  Metrics never travel collector -> agent.
    assert_int_equal(codec_decode(frame, size, CODEC_DEFAULT_MAX_FRAME, CODEC_TO_AGENT, &env),
                     CODEC_ERR_DIRECTION);
    assert_null(env);
    free(frame);

    Ferry__Envelope ackenv;
    Ferry__Ack ack = FERRY__ACK__INIT;
    codec_envelope_init(&ackenv, 0);
    ack.seq = 7;
    ackenv.body_case = FERRY__ENVELOPE__BODY_ACK;
    ackenv.ack = &ack;
    frame = codec_encode(&ackenv, CODEC_DEFAULT_MAX_FRAME, &size);
    assert_int_equal(codec_decode(frame, size, CODEC_DEFAULT_MAX_FRAME, CODEC_TO_COLLECTOR, &env),
                     CODEC_ERR_DIRECTION);
    assert_int_equal(codec_decode(frame, size, CODEC_DEFAULT_MAX_FRAME, CODEC_TO_AGENT, &env),
                     CODEC_OK);
    assert_int_equal(env->ack->seq, 7);
    codec_free(&env);
    free(frame);
}

static void test_bad_frames(void **state)
{
    (void) state;
    Ferry__Envelope *env = NULL;
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t) (0xff - i * 7);
    assert_int_equal(codec_decode(junk, 0, 1024, CODEC_TO_COLLECTOR, &env), CODEC_ERR_EMPTY);
    assert_int_equal(codec_decode(junk, sizeof junk, 16, CODEC_TO_COLLECTOR, &env),
                     CODEC_ERR_OVERSIZE);
    assert_int_equal(codec_decode(junk, sizeof junk, 1024, CODEC_TO_COLLECTOR, &env),
                     CODEC_ERR_MALFORMED);
    assert_null(env);

    size_t size;
    uint8_t *frame = s_metrics_frame(CODEC_VERSION, &size);
    //  Truncated in the middle of the body.
    assert_int_equal(codec_decode(frame, size - 3, 1024, CODEC_TO_COLLECTOR, &env),
                     CODEC_ERR_MALFORMED);
    free(frame);

    frame = s_metrics_frame(99, &size);
    assert_int_equal(codec_decode(frame, size, 1024, CODEC_TO_COLLECTOR, &env), CODEC_ERR_VERSION);
    free(frame);

    Ferry__Envelope empty;
    codec_envelope_init(&empty, 1);
    frame = codec_encode(&empty, 1024, &size);
    assert_int_equal(codec_decode(frame, size, 1024, CODEC_TO_COLLECTOR, &env), CODEC_ERR_NO_BODY);
    free(frame);
    assert_null(env);
}

static void test_encode_limit(void **state)
{
    (void) state;
    Ferry__Envelope env;
    Ferry__Facts facts = FERRY__FACTS__INIT;
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    codec_envelope_init(&env, 1);
    facts.json = big;
    env.body_case = FERRY__ENVELOPE__BODY_FACTS;
    env.facts = &facts;
    size_t size = 0;
    errno = 0;
    assert_null(codec_encode(&env, 4096, &size));
    assert_int_equal(errno, EMSGSIZE);
    uint8_t *frame = codec_encode(&env, 8192, &size);
    assert_non_null(frame);
    assert_true(size > 5000);
    free(frame);
    free(big);
}

//  The body's bytes found in the frame are exactly the packed body; anything
//  odd (truncated, doubled, a group, absent) gives no bytes, never a read
//  past the end.
static void test_field_bytes(void **state)
{
    (void) state;
    size_t size;
    uint8_t *frame = s_metrics_frame(CODEC_VERSION, &size);
    assert_non_null(frame);
    const uint8_t *body = NULL;
    size_t len = 0;
    assert_true(codec_field_bytes(frame, size, FERRY__ENVELOPE__BODY_METRICS, &body, &len));
    Ferry__Metrics *metrics = ferry__metrics__unpack(NULL, len, body);
    assert_non_null(metrics);
    assert_true(metrics->cpu->user_pct == 12.5);
    assert_true(metrics->interval_s == 10);
    assert_int_equal(ferry__metrics__get_packed_size(metrics), len);
    ferry__metrics__free_unpacked(metrics, NULL);

    assert_false(codec_field_bytes(frame, size, FERRY__ENVELOPE__BODY_FACTS, &body, &len));
    for (size_t cut = 0; cut < size; cut++)
        assert_false(codec_field_bytes(frame, cut, FERRY__ENVELOPE__BODY_METRICS, &body, &len)
                     && body + len > frame + cut);
    assert_false(codec_field_bytes(frame, size - 1, FERRY__ENVELOPE__BODY_METRICS, &body, &len));

    //  The same body twice: protobuf merges the two, so no single slice is it.
    uint8_t twice[512];
    assert_true(2 * size <= sizeof twice);
    memcpy(twice, frame, size);
    memcpy(twice + size, frame, size);
    body = NULL;
    assert_false(codec_field_bytes(twice, 2 * size, FERRY__ENVELOPE__BODY_METRICS, &body, &len));
    assert_null(body);          // untouched: no slice of the frame is the body

    //  A group (wire type 3) and a varint of more than 10 bytes.
    const uint8_t group[] = { 0x0b, 0x0c };
    assert_false(codec_field_bytes(group, sizeof group, 12, &body, &len));
    uint8_t longvar[12];
    memset(longvar, 0x80, sizeof longvar);
    longvar[0] = 0x08;
    assert_false(codec_field_bytes(longvar, sizeof longvar, 12, &body, &len));
    free(frame);
}

//  A full metrics frame: disks, interfaces, load and memory too.
static uint8_t *s_full_metrics_frame(size_t *size)
{
    Ferry__Envelope env;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__CpuMetrics cpu = FERRY__CPU_METRICS__INIT;
    Ferry__MemoryMetrics memory = FERRY__MEMORY_METRICS__INIT;
    Ferry__LoadMetrics load = FERRY__LOAD_METRICS__INIT;
    Ferry__DiskMetrics disk = FERRY__DISK_METRICS__INIT;
    Ferry__NetMetrics net = FERRY__NET_METRICS__INIT;
    Ferry__DiskMetrics *disks[] = { &disk, &disk };
    Ferry__NetMetrics *nets[] = { &net };
    codec_envelope_init(&env, 7);
    env.first_seq = 3;
    env.sent_ms = 1700000000123;
    cpu.user_pct = 12.5;
    cpu.physc = 0.75;
    cpu.has_physc = true;
    memory.real_free_mb = 2048;
    load.avg1 = 1.25;
    disk.name = "hdisk0";
    disk.busy_pct = 40;
    net.name = "en0";
    net.ierrors = 3;
    metrics.cpu = &cpu;
    metrics.memory = &memory;
    metrics.load = &load;
    metrics.n_disks = 2;
    metrics.disks = disks;
    metrics.n_net = 1;
    metrics.net = nets;
    metrics.interval_s = 10;
    metrics.processes = 99;
    env.body_case = FERRY__ENVELOPE__BODY_METRICS;
    env.metrics = &metrics;
    return codec_encode(&env, CODEC_DEFAULT_MAX_FRAME, size);
}

//  The metrics fast path gives what the full decoder gives for the figures
//  it decodes, and the body as received; every other frame goes to the full
//  decoder, whose answer stays the same.
static void test_decode_metrics(void **state)
{
    (void) state;
    codec_arena_t *arena = codec_arena_new();
    assert_non_null(arena);
    size_t size;
    uint8_t *frame = s_full_metrics_frame(&size);
    assert_non_null(frame);
    Ferry__Envelope *env = NULL;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    assert_true(codec_decode_metrics(arena, frame, size, CODEC_DEFAULT_MAX_FRAME, &env, &body,
                                     &body_len));
    assert_int_equal(env->version, CODEC_VERSION);
    assert_int_equal(env->seq, 7);
    assert_int_equal(env->first_seq, 3);
    assert_int_equal(env->sent_ms, 1700000000123);
    assert_int_equal(env->body_case, FERRY__ENVELOPE__BODY_METRICS);
    assert_true(env->metrics->cpu->user_pct == 12.5);
    assert_true(env->metrics->cpu->has_physc && env->metrics->cpu->physc == 0.75);
    assert_true(env->metrics->memory->real_free_mb == 2048);
    assert_true(env->metrics->load->avg1 == 1.25);
    assert_true(env->metrics->interval_s == 10);
    assert_int_equal(env->metrics->processes, 99);
    assert_int_equal(env->metrics->n_disks, 0);    // not decoded
    assert_true(body > frame && body + body_len == frame + size);
    Ferry__Metrics *full = ferry__metrics__unpack(NULL, body_len, body);
    assert_non_null(full);
    assert_int_equal(full->n_disks, 2);
    assert_string_equal(full->net[0]->name, "en0");
    ferry__metrics__free_unpacked(full, NULL);

    //  Not for the fast path: too big, truncated, another version, doubled.
    assert_false(codec_decode_metrics(arena, frame, size, size - 1, &env, &body, &body_len));
    assert_null(env);
    for (size_t cut = 0; cut < size; cut++)
        assert_false(codec_decode_metrics(arena, frame, cut, CODEC_DEFAULT_MAX_FRAME, &env,
                                          &body, &body_len));
    size_t old_size;
    uint8_t *old = s_metrics_frame(CODEC_VERSION + 1, &old_size);
    assert_false(codec_decode_metrics(arena, old, old_size, CODEC_DEFAULT_MAX_FRAME, &env, &body,
                                      &body_len));
    assert_int_equal(codec_decode_in(arena, old, old_size, CODEC_DEFAULT_MAX_FRAME,
                                     CODEC_TO_COLLECTOR, &env), CODEC_ERR_VERSION);
    free(old);
    uint8_t twice[1024];
    assert_true(2 * size <= sizeof twice);
    memcpy(twice, frame, size);
    memcpy(twice + size, frame, size);
    //  Merged by protobuf: the full decoder's Metrics is the body, no slice
    //  of the frame (ingest re-packs it when the fast path left body alone).
    body = NULL;
    assert_false(codec_decode_metrics(arena, twice, 2 * size, CODEC_DEFAULT_MAX_FRAME, &env,
                                      &body, &body_len));
    assert_null(body);

    //  Another body after the metrics wins in protobuf: the full decoder's.
    Ferry__Envelope hb_env;
    Ferry__Heartbeat hb = FERRY__HEARTBEAT__INIT;
    codec_envelope_init(&hb_env, 0);
    hb.interval_ms = 1000;
    hb_env.body_case = FERRY__ENVELOPE__BODY_HEARTBEAT;
    hb_env.heartbeat = &hb;
    size_t hb_size;
    uint8_t *hb_frame = codec_encode(&hb_env, CODEC_DEFAULT_MAX_FRAME, &hb_size);
    assert_non_null(hb_frame);
    uint8_t both[1024];
    memcpy(both, frame, size);
    memcpy(both + size, hb_frame, hb_size);
    assert_false(codec_decode_metrics(arena, both, size + hb_size, CODEC_DEFAULT_MAX_FRAME, &env,
                                      &body, &body_len));
    assert_int_equal(codec_decode_in(arena, both, size + hb_size, CODEC_DEFAULT_MAX_FRAME,
                                     CODEC_TO_COLLECTOR, &env), CODEC_OK);
    assert_int_equal(env->body_case, FERRY__ENVELOPE__BODY_HEARTBEAT);
    assert_false(codec_decode_metrics(arena, hb_frame, hb_size, CODEC_DEFAULT_MAX_FRAME, &env,
                                      &body, &body_len));
    free(hb_frame);

    //  A top-level field this build does not know: the full decoder decides.
    uint8_t newer[1024];
    memcpy(newer, frame, size);
    newer[size] = 0x98;                     // field 99, varint: tag 792 in two bytes
    newer[size + 1] = 0x06;
    newer[size + 2] = 0x01;
    assert_false(codec_decode_metrics(arena, newer, size + 3, CODEC_DEFAULT_MAX_FRAME, &env,
                                      &body, &body_len));
    assert_int_equal(codec_decode_in(arena, newer, size + 3, CODEC_DEFAULT_MAX_FRAME,
                                     CODEC_TO_COLLECTOR, &env), CODEC_OK);
    free(frame);
    codec_arena_destroy(&arena);
}

//  Arena decoding: same result as codec_decode, frames larger than the block
//  spill over and are released at the next decode (LSan checks it), and a
//  bad frame leaves nothing behind.
static void test_arena(void **state)
{
    (void) state;
    codec_arena_t *arena = codec_arena_new();
    assert_non_null(arena);
    size_t size;
    uint8_t *frame = s_metrics_frame(CODEC_VERSION, &size);
    Ferry__Envelope *env = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(codec_decode_in(arena, frame, size, CODEC_DEFAULT_MAX_FRAME,
                                         CODEC_TO_COLLECTOR, &env), CODEC_OK);
        assert_int_equal(env->seq, 42);
        assert_true(env->metrics->cpu->user_pct == 12.5);
    }
    assert_int_equal(codec_decode_in(arena, frame, size, CODEC_DEFAULT_MAX_FRAME,
                                     CODEC_TO_AGENT, &env), CODEC_ERR_DIRECTION);
    assert_null(env);
    free(frame);

    //  3,000 disks: far more than the arena's block.
    enum { DISKS = 3000 };
    Ferry__Envelope big;
    Ferry__Metrics metrics = FERRY__METRICS__INIT;
    Ferry__DiskMetrics *disks = calloc(DISKS, sizeof *disks);
    Ferry__DiskMetrics **ptrs = calloc(DISKS, sizeof *ptrs);
    assert_true(disks && ptrs);
    for (size_t i = 0; i < DISKS; i++) {
        ferry__disk_metrics__init(&disks[i]);
        disks[i].name = "hdisk";
        disks[i].busy_pct = (double) i;
        ptrs[i] = &disks[i];
    }
    metrics.n_disks = DISKS;
    metrics.disks = ptrs;
    codec_envelope_init(&big, 7);
    big.body_case = FERRY__ENVELOPE__BODY_METRICS;
    big.metrics = &metrics;
    frame = codec_encode(&big, CODEC_DEFAULT_MAX_FRAME, &size);
    assert_non_null(frame);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(codec_decode_in(arena, frame, size, CODEC_DEFAULT_MAX_FRAME,
                                         CODEC_TO_COLLECTOR, &env), CODEC_OK);
        assert_int_equal(env->metrics->n_disks, DISKS);
        assert_true(env->metrics->disks[DISKS - 1]->busy_pct == DISKS - 1);
        assert_string_equal(env->metrics->disks[17]->name, "hdisk");
    }
    //  Truncated: malformed, and what the decoder had allocated is released.
    assert_int_equal(codec_decode_in(arena, frame, size / 2, CODEC_DEFAULT_MAX_FRAME,
                                     CODEC_TO_COLLECTOR, &env), CODEC_ERR_MALFORMED);
    free(frame);
    free(ptrs);
    free(disks);
    codec_arena_destroy(&arena);
    assert_null(arena);
    codec_arena_destroy(&arena);
}

static void test_names(void **state)
{
    (void) state;
    assert_string_equal(codec_status_name(CODEC_ERR_OVERSIZE), "oversize");
    assert_string_equal(codec_status_name(CODEC_ERR_COUNT), "unknown");
    assert_string_equal(codec_body_name(FERRY__ENVELOPE__BODY_JOB_UPDATE), "job_update");
    assert_true(codec_body_allowed(FERRY__ENVELOPE__BODY_HELLO, CODEC_TO_COLLECTOR));
    assert_false(codec_body_allowed(FERRY__ENVELOPE__BODY_CONFIG, CODEC_TO_COLLECTOR));
    assert_false(codec_body_allowed(FERRY__ENVELOPE__BODY__NOT_SET, CODEC_TO_AGENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_direction),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_encode_limit),
        cmocka_unit_test(test_field_bytes),
        cmocka_unit_test(test_decode_metrics),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
