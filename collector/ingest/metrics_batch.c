/*  metrics_batch — see metrics_batch.h. */
#include "metrics_batch.h"

#include <stdlib.h>
#include <string.h>

#define S_JSON_NUMBER 24            // ",-9223372036854775808" and a spare

typedef struct {
    int64_t agent_id;               // agents.id
    int64_t epoch;                  // the agent's epoch
    uint64_t seq;                   // the agent's sequence number
    int64_t time_ms;                // sample time
    size_t order;                   // arrival order, keeps chunks in it
    double value[METRICS_VALUES];   // SQL figures
    unsigned present;               // bit i: value[i] is set
    size_t body_off;                // packed Metrics at body + body_off
    size_t body_len;                // its length
} s_sample_t;

struct _metrics_batch_t {
    s_sample_t *samples;            // in arrival order, then sorted by the first next()
    size_t count;                   // entries used
    size_t cap;                     // entries allocated
    uint8_t *body;                  // the bodies, back to back
    size_t body_len;                // bytes used
    size_t body_size;               // bytes allocated
    bool sorted;                    // next() has sorted the samples
    size_t cursor;                  // first sample not yet in a chunk
    size_t last;                    // first sample of the chunk next() returned last
    size_t single_end;              // samples before it come out a chunk of one each (split)
    ProtobufCBinaryData *parts;     // a chunk's bodies, for packing (METRICS_CHUNK_MAX)
    uint8_t *packed;                // the packed chunk
    size_t packed_size;             // bytes allocated
    char *seqs_json;                // the chunk's seqs (METRICS_CHUNK_MAX numbers)
    char *times_json;               // the chunk's times
};

metrics_batch_t *metrics_batch_new(void)
{
    metrics_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->parts = calloc(METRICS_CHUNK_MAX, sizeof *self->parts);
    self->seqs_json = malloc(METRICS_CHUNK_MAX * S_JSON_NUMBER + 3);
    self->times_json = malloc(METRICS_CHUNK_MAX * S_JSON_NUMBER + 3);
    if (!self->parts || !self->seqs_json || !self->times_json)
        metrics_batch_destroy(&self);
    return self;
}

void metrics_batch_destroy(metrics_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_batch_t *self = *self_p;
    free(self->samples);
    free(self->body);
    free(self->parts);
    free(self->packed);
    free(self->seqs_json);
    free(self->times_json);
    free(self);
    *self_p = NULL;
}

//  Grow *buf (of *size bytes) to hold need bytes; doubling. 0 / -1.
static int s_reserve(void **buf, size_t *size, size_t need, size_t first)
{
    if (need <= *size)
        return 0;
    size_t want = *size ? *size : first;
    while (want < need) {
        if (want > SIZE_MAX / 2)
            return -1;
        want *= 2;
    }
    void *grown = realloc(*buf, want);
    if (!grown)
        return -1;
    *buf = grown;
    *size = want;
    return 0;
}

static void s_figures(s_sample_t *s, const Ferry__Metrics *metrics)
{
    const Ferry__CpuMetrics *cpu = metrics->cpu;
    if (cpu) {
        s->value[0] = cpu->user_pct;
        s->value[1] = cpu->sys_pct;
        s->value[2] = cpu->wait_pct;
        s->value[3] = cpu->idle_pct;
        s->present |= 0xfu;
        if (cpu->has_physc) {
            s->value[4] = cpu->physc;
            s->present |= 1u << 4;
        }
    }
    if (metrics->memory) {
        s->value[5] = metrics->memory->real_free_mb;
        s->present |= 1u << 5;
    }
    if (metrics->load) {
        s->value[6] = metrics->load->avg1;
        s->present |= 1u << 6;
    }
}

int metrics_batch_add(metrics_batch_t *self, int64_t agent_id, int64_t epoch, uint64_t seq,
                      int64_t time_ms, const Ferry__Metrics *metrics, const uint8_t *body,
                      size_t body_len)
{
    if (self->sorted || !metrics)
        return -1;
    if (!body)
        body_len = ferry__metrics__get_packed_size(metrics);
    if (body_len > METRICS_BODY_MAX)
        return -1;
    if (self->count == self->cap) {
        size_t cap_bytes = self->cap * sizeof *self->samples;
        if (s_reserve((void **) &self->samples, &cap_bytes, cap_bytes + sizeof *self->samples,
                      256 * sizeof *self->samples) != 0)
            return -1;
        self->cap = cap_bytes / sizeof *self->samples;
    }
    //  +1: the buffer exists even when every body is empty (no NULL + 0 later).
    if (s_reserve((void **) &self->body, &self->body_size, self->body_len + body_len + 1, 65536)
        != 0)
        return -1;
    s_sample_t *s = &self->samples[self->count];
    *s = (s_sample_t) { .agent_id = agent_id, .epoch = epoch, .seq = seq, .time_ms = time_ms,
                        .order = self->count, .body_off = self->body_len,
                        .body_len = body_len };
    if (body_len) {
        if (body)
            memcpy(self->body + self->body_len, body, body_len);
        else
            ferry__metrics__pack(metrics, self->body + self->body_len);
    }
    self->body_len += body_len;
    s_figures(s, metrics);
    self->count++;
    return 0;
}

size_t metrics_batch_count(const metrics_batch_t *self) { return self->count; }

void metrics_batch_clear(metrics_batch_t *self)
{
    self->count = 0;
    self->body_len = 0;
    self->sorted = false;
    self->cursor = 0;
    self->last = 0;
    self->single_end = 0;
}

void metrics_batch_split(metrics_batch_t *self)
{
    //  A chunk of one has nothing to split (and would only come back).
    if (self->cursor <= self->last + 1)
        return;
    if (self->cursor > self->single_end)
        self->single_end = self->cursor;
    self->cursor = self->last;
}

//  Append "," (unless first) and the decimal form of v at out; returns the
//  length written (at most S_JSON_NUMBER - 1). snprintf was a tenth of the
//  chunking time.
static size_t s_json_number(char *out, bool first, bool negative, uint64_t v)
{
    char digits[24];
    size_t n = 0, len = 0;
    do {
        digits[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    if (!first)
        out[len++] = ',';
    if (negative)
        out[len++] = '-';
    while (n)
        out[len++] = digits[--n];
    return len;
}

static size_t s_json_int(char *out, bool first, int64_t v)
{
    //  The magnitude of INT64_MIN does not fit an int64_t, it does a uint64_t.
    uint64_t magnitude = v < 0 ? (uint64_t) -(v + 1) + 1 : (uint64_t) v;
    return s_json_number(out, first, v < 0, magnitude);
}

static int s_by_agent(const void *a, const void *b)
{
    const s_sample_t *x = a, *y = b;
    if (x->agent_id != y->agent_id)
        return x->agent_id < y->agent_id ? -1 : 1;
    if (x->epoch != y->epoch)
        return x->epoch < y->epoch ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int metrics_batch_next(metrics_batch_t *self, metrics_chunk_t *chunk)
{
    if (self->count == 0)
        return 0;
    if (!self->sorted) {
        qsort(self->samples, self->count, sizeof *self->samples, s_by_agent);
        self->sorted = true;
    }
    if (self->cursor >= self->count)
        return 0;
    const s_sample_t *first = &self->samples[self->cursor];
    size_t n = 1, limit = self->cursor < self->single_end ? 1 : METRICS_CHUNK_MAX;
    while (n < limit && self->cursor + n < self->count
           && first[n].agent_id == first->agent_id && first[n].epoch == first->epoch)
        n++;

    Ferry__MetricsChunk packed = FERRY__METRICS_CHUNK__INIT;
    char *seqs = self->seqs_json, *times = self->times_json;
    size_t seqs_len = 0, times_len = 0;
    int64_t oldest = first->time_ms, newest = first->time_ms;
    size_t body_bytes = 0;
    seqs[seqs_len++] = '[';
    times[times_len++] = '[';
    for (size_t i = 0; i < n; i++) {
        self->parts[i] = (ProtobufCBinaryData) { .len = first[i].body_len,
                                                 .data = self->body + first[i].body_off };
        seqs_len += s_json_number(seqs + seqs_len, i == 0, false, first[i].seq);
        times_len += s_json_int(times + times_len, i == 0, first[i].time_ms);
        oldest = first[i].time_ms < oldest ? first[i].time_ms : oldest;
        newest = first[i].time_ms > newest ? first[i].time_ms : newest;
        body_bytes += first[i].body_len;
    }
    seqs[seqs_len++] = ']';
    seqs[seqs_len] = '\0';
    times[times_len++] = ']';
    times[times_len] = '\0';
    packed.n_body = n;
    packed.body = self->parts;
    size_t size = ferry__metrics_chunk__get_packed_size(&packed);
    if (s_reserve((void **) &self->packed, &self->packed_size, size + 1, 65536) != 0)
        return -1;

    const s_sample_t *last = &first[n - 1];
    *chunk = (metrics_chunk_t) { .agent_id = first->agent_id, .epoch = first->epoch,
                                 .samples = n, .first_seq = first->seq,
                                 .body_bytes = body_bytes, .first_time_ms = oldest,
                                 .time_ms = newest,
                                 .seqs_json = seqs, .times_json = times,
                                 .present = last->present, .chunk = self->packed,
                                 .chunk_len = ferry__metrics_chunk__pack(&packed, self->packed) };
    memcpy(chunk->value, last->value, sizeof chunk->value);
    self->last = self->cursor;
    self->cursor += n;
    return 1;
}

int metrics_chunk_of_one(const uint8_t *body, size_t body_len, uint8_t **out_p, size_t *len_p)
{
    *out_p = NULL;
    *len_p = 0;
    if (body_len > METRICS_BODY_MAX)
        return -1;
    ProtobufCBinaryData part = { .len = body_len, .data = (uint8_t *) body };
    Ferry__MetricsChunk packed = FERRY__METRICS_CHUNK__INIT;
    packed.n_body = 1;
    packed.body = &part;
    size_t size = ferry__metrics_chunk__get_packed_size(&packed);
    uint8_t *out = malloc(size + 1);
    if (!out)
        return -1;
    *len_p = ferry__metrics_chunk__pack(&packed, out);
    *out_p = out;
    return 0;
}
