/*  metrics_batch: samples grouped into chunks by agent and epoch, in arrival
    order, at most METRICS_CHUNK_MAX each, with their seqs, times and the
    newest figures; bodies kept byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_batch.h"

typedef struct {
    Ferry__Metrics metrics;
    Ferry__CpuMetrics cpu;
    Ferry__LoadMetrics load;
} sample_t;

static void s_sample(sample_t *s, double user)
{
    ferry__metrics__init(&s->metrics);
    ferry__cpu_metrics__init(&s->cpu);
    ferry__load_metrics__init(&s->load);
    s->cpu.user_pct = user;
    s->load.avg1 = user / 10;
    s->metrics.cpu = &s->cpu;
    s->metrics.load = &s->load;
    s->metrics.processes = (uint32_t) user;
}

//  The bodies of a chunk, unpacked.
static Ferry__MetricsChunk *s_unpack(const metrics_chunk_t *c)
{
    Ferry__MetricsChunk *chunk = ferry__metrics_chunk__unpack(NULL, c->chunk_len, c->chunk);
    assert_non_null(chunk);
    assert_int_equal(chunk->n_body, c->samples);
    return chunk;
}

static void test_grouping(void **state)
{
    (void) state;
    metrics_batch_t *batch = metrics_batch_new();
    assert_non_null(batch);
    sample_t s;
    //  Agents 2 and 1 interleaved; agent 1 changes epoch half way.
    for (uint64_t seq = 1; seq <= 6; seq++) {
        s_sample(&s, (double) seq);
        assert_int_equal(metrics_batch_add(batch, 2, 0, seq, 100 * (int64_t) seq, &s.metrics,
                                           NULL, 0), 0);
        assert_int_equal(metrics_batch_add(batch, 1, seq <= 3 ? 4 : 5, 10 + seq,
                                           1000 - (int64_t) seq, &s.metrics, NULL, 0), 0);
    }
    assert_int_equal(metrics_batch_count(batch), 12);

    metrics_chunk_t c;
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.agent_id, 1);
    assert_int_equal(c.epoch, 4);
    assert_int_equal(c.samples, 3);
    assert_string_equal(c.seqs_json, "[11,12,13]");
    assert_string_equal(c.times_json, "[999,998,997]");
    assert_int_equal(c.first_time_ms, 997);
    assert_int_equal(c.time_ms, 999);
    //  Adding while reading chunks is refused, and so is a sample without figures.
    assert_int_equal(metrics_batch_add(batch, 1, 4, 99, 1, NULL, NULL, 0), -1);
    assert_int_equal(metrics_batch_add(batch, 1, 4, 99, 1, &s.metrics, NULL, 0), -1);

    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.agent_id, 1);
    assert_int_equal(c.epoch, 5);
    assert_string_equal(c.seqs_json, "[14,15,16]");

    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.agent_id, 2);
    assert_int_equal(c.samples, 6);
    assert_string_equal(c.seqs_json, "[1,2,3,4,5,6]");
    assert_string_equal(c.times_json, "[100,200,300,400,500,600]");
    //  The newest sample's figures; physc and memory absent.
    assert_true(c.value[0] == 6.0);
    assert_true(c.value[6] == 0.6);
    assert_true(c.present == (0xfu | 1u << 6));
    Ferry__MetricsChunk *chunk = s_unpack(&c);
    for (size_t i = 0; i < chunk->n_body; i++) {
        Ferry__Metrics *m = ferry__metrics__unpack(NULL, chunk->body[i].len, chunk->body[i].data);
        assert_non_null(m);
        assert_int_equal(m->processes, i + 1);
        ferry__metrics__free_unpacked(m, NULL);
    }
    ferry__metrics_chunk__free_unpacked(chunk, NULL);
    assert_int_equal(metrics_batch_next(batch, &c), 0);
    assert_int_equal(metrics_batch_next(batch, &c), 0);

    //  Cleared, it takes samples again.
    metrics_batch_clear(batch);
    assert_int_equal(metrics_batch_count(batch), 0);
    assert_int_equal(metrics_batch_next(batch, &c), 0);
    assert_int_equal(metrics_batch_add(batch, 3, 0, 1, 1, &s.metrics, NULL, 0), 0);
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.agent_id, 3);
    metrics_batch_destroy(&batch);
    assert_null(batch);
    metrics_batch_destroy(&batch);
}

//  Bodies given as received are kept byte for byte, even ones this build
//  could not decode; more than METRICS_CHUNK_MAX samples make more chunks.
static void test_bodies_and_limit(void **state)
{
    (void) state;
    metrics_batch_t *batch = metrics_batch_new();
    assert_non_null(batch);
    sample_t s;
    s_sample(&s, 1.0);
    const uint8_t odd[] = { 0xf8, 0x07, 0x01 };     // field 127, varint 1: unknown here
    size_t total = 2 * METRICS_CHUNK_MAX + 5;
    for (size_t i = 0; i < total; i++)
        assert_int_equal(metrics_batch_add(batch, 7, 0, i + 1, (int64_t) i, &s.metrics, odd,
                                           sizeof odd), 0);
    metrics_chunk_t c;
    size_t seen = 0, chunks = 0;
    int more;
    while ((more = metrics_batch_next(batch, &c)) == 1) {
        assert_true(c.samples <= METRICS_CHUNK_MAX);
        Ferry__MetricsChunk *chunk = s_unpack(&c);
        for (size_t i = 0; i < chunk->n_body; i++) {
            assert_int_equal(chunk->body[i].len, sizeof odd);
            assert_memory_equal(chunk->body[i].data, odd, sizeof odd);
        }
        ferry__metrics_chunk__free_unpacked(chunk, NULL);
        char first[32];
        snprintf(first, sizeof first, "[%zu,", seen + 1);
        assert_memory_equal(c.seqs_json, first, strlen(first));
        seen += c.samples;
        chunks++;
    }
    assert_int_equal(more, 0);
    assert_int_equal(seen, total);
    assert_int_equal(chunks, 3);
    metrics_batch_destroy(&batch);
}

//  Whatever an agent claims fits the JSON arrays, as numbers SQLite reads.
static void test_json_extremes(void **state)
{
    (void) state;
    metrics_batch_t *batch = metrics_batch_new();
    assert_non_null(batch);
    sample_t s;
    s_sample(&s, 1.0);
    assert_int_equal(metrics_batch_add(batch, 1, 0, UINT64_MAX, INT64_MIN, &s.metrics, NULL, 0), 0);
    assert_int_equal(metrics_batch_add(batch, 1, 0, 0, -5, &s.metrics, NULL, 0), 0);
    assert_int_equal(metrics_batch_add(batch, 1, 0, 10, INT64_MAX, &s.metrics, NULL, 0), 0);
    metrics_chunk_t c;
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_string_equal(c.seqs_json, "[18446744073709551615,0,10]");
    assert_string_equal(c.times_json, "[-9223372036854775808,-5,9223372036854775807]");
    assert_int_equal(c.first_time_ms, INT64_MIN);
    assert_int_equal(c.time_ms, INT64_MAX);
    metrics_batch_destroy(&batch);
}

static void test_chunk_of_one(void **state)
{
    (void) state;
    sample_t s;
    s_sample(&s, 42.0);
    size_t len = ferry__metrics__get_packed_size(&s.metrics);
    uint8_t body[256];
    assert_true(len <= sizeof body);
    ferry__metrics__pack(&s.metrics, body);
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(metrics_chunk_of_one(body, len, &out, &out_len), 0);
    Ferry__MetricsChunk *chunk = ferry__metrics_chunk__unpack(NULL, out_len, out);
    assert_non_null(chunk);
    assert_int_equal(chunk->n_body, 1);
    assert_int_equal(chunk->body[0].len, len);
    assert_memory_equal(chunk->body[0].data, body, len);
    ferry__metrics_chunk__free_unpacked(chunk, NULL);
    free(out);
    //  A batch of empty bodies (all defaults) gives a chunk of empty bodies.
    metrics_batch_t *batch = metrics_batch_new();
    assert_non_null(batch);
    Ferry__Metrics empty = FERRY__METRICS__INIT;
    assert_int_equal(metrics_batch_add(batch, 1, 0, 1, 1, &empty, NULL, 0), 0);
    assert_int_equal(metrics_batch_add(batch, 1, 0, 2, 2, &empty, body, 0), 0);
    metrics_chunk_t c;
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.samples, 2);
    assert_int_equal(c.present, 0);
    chunk = ferry__metrics_chunk__unpack(NULL, c.chunk_len, c.chunk);
    assert_non_null(chunk);
    assert_int_equal(chunk->n_body, 2);
    assert_int_equal(chunk->body[1].len, 0);
    ferry__metrics_chunk__free_unpacked(chunk, NULL);
    metrics_batch_destroy(&batch);
    //  An empty body (all defaults) is a sample too.
    assert_int_equal(metrics_chunk_of_one(body, 0, &out, &out_len), 0);
    assert_true(out_len > 0);
    free(out);
}

//  A chunk the database refuses is split: its samples come out again one by
//  one (with their own seq and body size), then chunks go on as before.
static void test_split(void **state)
{
    (void) state;
    metrics_batch_t *batch = metrics_batch_new();
    assert_non_null(batch);
    sample_t s;
    s_sample(&s, 1.0);
    size_t len = ferry__metrics__get_packed_size(&s.metrics);
    for (uint64_t seq = 1; seq <= 3; seq++)
        assert_int_equal(metrics_batch_add(batch, 1, 0, seq, (int64_t) seq, &s.metrics, NULL, 0), 0);
    for (uint64_t seq = 1; seq <= 2; seq++)
        assert_int_equal(metrics_batch_add(batch, 2, 0, seq, (int64_t) seq, &s.metrics, NULL, 0), 0);
    metrics_chunk_t c;
    metrics_batch_split(batch); // before the first chunk: nothing to split
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.samples, 3);
    assert_int_equal(c.first_seq, 1);
    assert_int_equal(c.body_bytes, 3 * len);
    metrics_batch_split(batch);
    metrics_batch_split(batch); // twice: the same
    for (uint64_t seq = 1; seq <= 3; seq++) {
        assert_int_equal(metrics_batch_next(batch, &c), 1);
        assert_int_equal(c.agent_id, 1);
        assert_int_equal(c.samples, 1);
        assert_int_equal(c.first_seq, seq);
        assert_int_equal(c.body_bytes, len);
        Ferry__MetricsChunk *chunk = s_unpack(&c);
        ferry__metrics_chunk__free_unpacked(chunk, NULL);
        if (seq == 2)
            metrics_batch_split(batch); // a chunk of one: nothing changes
    }
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.agent_id, 2);
    assert_int_equal(c.samples, 2);
    assert_string_equal(c.seqs_json, "[1,2]");
    assert_int_equal(metrics_batch_next(batch, &c), 0);
    //  A clear forgets the split.
    metrics_batch_clear(batch);
    for (uint64_t seq = 1; seq <= 2; seq++)
        assert_int_equal(metrics_batch_add(batch, 1, 0, seq, (int64_t) seq, &s.metrics, NULL, 0), 0);
    assert_int_equal(metrics_batch_next(batch, &c), 1);
    assert_int_equal(c.samples, 2);
    metrics_batch_destroy(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_bodies_and_limit),
        cmocka_unit_test(test_json_extremes),
        cmocka_unit_test(test_chunk_of_one),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
