/*  test_spool — spool: append/read/ack, recovery from crashes and damage,
    the size bound and the drop policy. Every test runs in its own mkdtemp
    directory, removed afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "spool.h"

#define HDR 64u
#define RECHDR 24u

typedef struct {
    char dir[64];      // primary spool directory
    char dir2[64];     // second directory, for crash copies
    char path[128];    // dir/spool.dat
    char path2[128];   // dir2/spool.dat
} fixture_t;

// ---------------------------------------------------------------------------
//  Helpers


static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_spool.XXXXXX");
    strcpy(f->dir2, "/tmp/test_spool.XXXXXX");
    if (!mkdtemp(f->dir) || !mkdtemp(f->dir2)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/spool.dat", f->dir);
    snprintf(f->path2, sizeof f->path2, "%s/spool.dat", f->dir2);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    it_rmtree(f->dir);
    it_rmtree(f->dir2);
    free(f);
    return 0;
}

//  Deterministic payload for a seq: length 40..239, bytes derived from seq.
static size_t s_payload_len(uint64_t seq) { return 40 + (size_t) ((seq * 37) % 200); }

static void s_payload(uint64_t seq, uint8_t *buf, size_t *len_p)
{
    size_t len = s_payload_len(seq);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t) (seq * 131 + i * 7 + (seq >> 8));
    *len_p = len;
}

//  File offset of record seq when records first..seq-1 are laid out from HDR.
static uint64_t s_offset(uint64_t first, uint64_t seq)
{
    uint64_t off = HDR;
    for (uint64_t s = first; s < seq; s++)
        off += RECHDR + s_payload_len(s);
    return off;
}

static spool_t *s_open(const char *dir, size_t max)
{
    char err[256] = "";
    spool_t *sp = spool_open(dir, max, err, sizeof err);
    if (!sp)
        fail_msg("spool_open(%s): %s", dir, err);
    return sp;
}

static void s_append(spool_t *sp, spool_class_t cls)
{
    uint8_t buf[256];
    size_t len;
    char err[256] = "";
    uint64_t seq = spool_next_seq(sp);
    s_payload(seq, buf, &len);
    if (spool_append(sp, seq, cls, buf, len, err, sizeof err) != 0)
        fail_msg("append seq %llu: %s", (unsigned long long) seq, err);
    assert_int_equal(spool_next_seq(sp), seq + 1);
}

//  spool_read(from) must return exactly record seq with its payload.
static void s_expect_read(spool_t *sp, uint64_t from, uint64_t seq)
{
    uint64_t got_seq = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    uint8_t want[256];
    size_t want_len;
    assert_int_equal(spool_read(sp, from, &got_seq, &data, &size), 1);
    assert_non_null(data);
    assert_int_equal(got_seq, seq);
    s_payload(seq, want, &want_len);
    assert_int_equal(size, want_len);
    assert_memory_equal(data, want, want_len);
    free(data);
}

static void s_expect_none(spool_t *sp, uint64_t from)
{
    uint64_t seq = 0;
    uint8_t *data = (uint8_t *) 1;
    size_t size = 0;
    assert_int_equal(spool_read(sp, from, &seq, &data, &size), 0);
    assert_null(data);
}

//  Held records must be exactly seqs first..last, all readable and intact.
static void s_expect_range(spool_t *sp, uint64_t first, uint64_t last)
{
    assert_int_equal(spool_count(sp), last - first + 1);
    assert_int_equal(spool_first_seq(sp), first);
    for (uint64_t s = first; s <= last; s++)
        s_expect_read(sp, s, s);
    s_expect_none(sp, last + 1);
}

static uint64_t s_file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t) st.st_size;
}

static void s_copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void s_flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, (off_t) off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, (off_t) off), 1);
    close(fd);
}

static void s_append_bytes(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t) len);
    close(fd);
}

static void s_put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

//  Encode a well-formed record (valid crc) the way the format says.
static size_t s_encode_record(uint8_t *out, uint64_t seq, uint8_t cls, const uint8_t *data,
                              size_t len)
{
    memset(out, 0, RECHDR);
    s_put_le(out, 0x31525346u, 4);
    s_put_le(out + 4, len, 4);
    s_put_le(out + 8, seq, 8);
    out[16] = cls;
    uint8_t pre[9];
    s_put_le(pre, seq, 8);
    pre[8] = cls;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, pre, 9);
    crc = crc32(crc, data, (uInt) len);
    s_put_le(out + 20, crc, 4);
    memcpy(out + RECHDR, data, len);
    return RECHDR + len;
}

// ---------------------------------------------------------------------------
//  Tests

static void test_new_spool(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_next_seq(sp), 1);
    assert_int_equal(spool_acked_seq(sp), 0);
    assert_int_equal(spool_first_seq(sp), 1);
    assert_int_equal(spool_count(sp), 0);
    assert_int_equal(spool_dropped(sp), 0);
    assert_int_equal(spool_discarded_bytes(sp), 0);
    assert_int_equal(spool_file_bytes(sp), HDR);
    assert_int_equal(s_file_size(f->path), HDR);
    uint64_t id = spool_stream_id(sp);
    assert_true(id != 0);
    s_expect_none(sp, 1);
    spool_destroy(&sp);
    assert_null(sp);
    spool_destroy(&sp);     // safe twice
    spool_destroy(NULL);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_stream_id(sp), id);
    assert_int_equal(spool_next_seq(sp), 1);
    spool_destroy(&sp);

    //  Another new spool gets another id.
    spool_t *sp2 = s_open(f->dir2, SPOOL_DEFAULT_MAX_BYTES);
    assert_true(spool_stream_id(sp2) != id);
    assert_true(spool_stream_id(sp2) != 0);
    spool_destroy(&sp2);
}

static void test_locked_by_another(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    char err[256] = "";
    assert_null(spool_open(f->dir, SPOOL_DEFAULT_MAX_BYTES, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
    spool_destroy(&sp);
    //  Released at destroy.
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    spool_destroy(&sp);
}

static void test_open_errors(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    assert_null(spool_open("/nonexistent/ferry/spool", SPOOL_DEFAULT_MAX_BYTES, err, sizeof err));
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_null(spool_open(f->dir, 100, err, sizeof err));
    assert_true(strlen(err) > 0);
    //  Nothing was created by the refused open.
    struct stat st;
    assert_int_not_equal(stat(f->path, &st), 0);
}

static void test_append_read_ack(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 20; i++)
        s_append(sp, i % 3 == 0 ? SPOOL_CLASS_EVENT : SPOOL_CLASS_METRICS);
    assert_int_equal(spool_next_seq(sp), 21);
    assert_int_equal(spool_file_bytes(sp), s_offset(1, 21));
    assert_int_equal(s_file_size(f->path), s_offset(1, 21));
    s_expect_range(sp, 1, 20);
    s_expect_read(sp, 0, 1);

    assert_int_equal(spool_ack(sp, 7), 0);
    assert_int_equal(spool_acked_seq(sp), 7);
    s_expect_range(sp, 8, 20);
    s_expect_read(sp, 1, 8);     // acked ones are gone: from 1 finds 8

    //  Acks never go backwards.
    assert_int_equal(spool_ack(sp, 3), 0);
    assert_int_equal(spool_acked_seq(sp), 7);
    assert_int_equal(spool_count(sp), 13);

    assert_int_equal(spool_ack(sp, 20), 0);
    assert_int_equal(spool_count(sp), 0);
    s_expect_none(sp, 0);
    assert_int_equal(spool_sync(sp), 0);
    spool_destroy(&sp);
}

static void test_append_refused(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, 64 * 1024);
    uint8_t buf[256] = {1, 2, 3};
    char err[256];

    err[0] = '\0';
    assert_int_equal(spool_append(sp, 2, SPOOL_CLASS_METRICS, buf, 10, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_int_equal(spool_append(sp, 0, SPOOL_CLASS_METRICS, buf, 10, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    s_append(sp, SPOOL_CLASS_METRICS);
    err[0] = '\0';
    assert_int_equal(spool_append(sp, 1, SPOOL_CLASS_METRICS, buf, 10, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(spool_append(sp, 3, SPOOL_CLASS_METRICS, buf, 10, err, sizeof err), -1);

    //  Empty, NULL, bad class, too large.
    assert_int_equal(spool_append(sp, 2, SPOOL_CLASS_METRICS, buf, 0, err, sizeof err), -1);
    assert_int_equal(spool_append(sp, 2, SPOOL_CLASS_METRICS, NULL, 10, err, sizeof err), -1);
    assert_int_equal(spool_append(sp, 2, (spool_class_t) 0, buf, 10, err, sizeof err), -1);
    assert_int_equal(spool_append(sp, 2, (spool_class_t) 4, buf, 10, err, sizeof err), -1);
    uint8_t *big = calloc(1, 70 * 1024);
    assert_non_null(big);
    err[0] = '\0';
    assert_int_equal(
        spool_append(sp, 2, SPOOL_CLASS_EVENT, big, 70 * 1024, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    free(big);
    //  err may be NULL.
    assert_int_equal(spool_append(sp, 9, SPOOL_CLASS_METRICS, buf, 10, NULL, 0), -1);

    assert_int_equal(spool_next_seq(sp), 2);
    assert_int_equal(spool_count(sp), 1);
    assert_int_equal(spool_file_bytes(sp), s_offset(1, 2));
    s_append(sp, SPOOL_CLASS_OTHER);
    s_expect_range(sp, 1, 2);
    spool_destroy(&sp);
}

static void test_first_seq(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_first_seq(sp), 1);
    for (int i = 0; i < 5; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    assert_int_equal(spool_first_seq(sp), 1);
    assert_int_equal(spool_ack(sp, 3), 0);
    assert_int_equal(spool_first_seq(sp), 4);
    assert_int_equal(spool_ack(sp, 5), 0);
    assert_int_equal(spool_first_seq(sp), 6);
    assert_int_equal(spool_first_seq(sp), spool_next_seq(sp));
    //  An ack beyond what was ever appended is clamped, so later appends stay held.
    assert_int_equal(spool_ack(sp, 1000), 0);
    assert_int_equal(spool_acked_seq(sp), 5);
    s_append(sp, SPOOL_CLASS_METRICS);
    assert_int_equal(spool_first_seq(sp), 6);
    assert_int_equal(spool_count(sp), 1);
    s_expect_range(sp, 6, 6);
    spool_destroy(&sp);
}

static void test_reopen_after_destroy(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    uint64_t id = spool_stream_id(sp);
    for (int i = 0; i < 30; i++)
        s_append(sp, i % 4 == 0 ? SPOOL_CLASS_EVENT : SPOOL_CLASS_METRICS);
    assert_int_equal(spool_ack(sp, 12), 0);
    spool_destroy(&sp);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_stream_id(sp), id);
    assert_int_equal(spool_acked_seq(sp), 12);
    assert_int_equal(spool_next_seq(sp), 31);
    assert_int_equal(spool_discarded_bytes(sp), 0);
    s_expect_range(sp, 13, 30);
    s_append(sp, SPOOL_CLASS_METRICS);
    s_expect_range(sp, 13, 31);
    spool_destroy(&sp);
}

static void test_reopen_after_crash(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    uint64_t id = spool_stream_id(sp);
    for (int i = 0; i < 30; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    assert_int_equal(spool_ack(sp, 12), 0);
    //  Crash: the file as it is now, without the lazy header update.
    s_copy_file(f->path, f->path2);

    spool_t *cp = s_open(f->dir2, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_stream_id(cp), id);
    assert_int_equal(spool_next_seq(cp), 31);
    //  The ack was not persisted: acked records come back (re-sent, harmless).
    assert_int_equal(spool_acked_seq(cp), 0);
    s_expect_range(cp, 1, 30);
    spool_destroy(&cp);

    //  After a sync the ack survives a crash too.
    assert_int_equal(spool_sync(sp), 0);
    s_copy_file(f->path, f->path2);
    cp = s_open(f->dir2, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_acked_seq(cp), 12);
    assert_int_equal(spool_next_seq(cp), 31);
    s_expect_range(cp, 13, 30);
    spool_destroy(&cp);
    spool_destroy(&sp);
}

static void test_next_seq_survives_full_ack(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 1000; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    assert_true(spool_file_bytes(sp) > 64 * 1024);
    assert_int_equal(spool_ack(sp, 1000), 0);
    //  Everything acked and plenty of dead bytes: the file is cut to its header.
    assert_int_equal(spool_file_bytes(sp), HDR);
    assert_int_equal(s_file_size(f->path), HDR);
    //  Crash right away: the seqs must not be reused.
    s_copy_file(f->path, f->path2);
    spool_t *cp = s_open(f->dir2, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_next_seq(cp), 1001);
    assert_int_equal(spool_acked_seq(cp), 1000);
    assert_int_equal(spool_count(cp), 0);
    spool_destroy(&cp);
    spool_destroy(&sp);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_next_seq(sp), 1001);
    assert_int_equal(spool_first_seq(sp), 1001);
    spool_destroy(&sp);
}

static void test_ack_compaction(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 1000; i++)
        s_append(sp, i % 7 == 0 ? SPOOL_CLASS_EVENT : SPOOL_CLASS_METRICS);
    size_t before = spool_file_bytes(sp);
    assert_int_equal(before, s_offset(1, 1001));

    //  A small ack does not rewrite the file.
    assert_int_equal(spool_ack(sp, 10), 0);
    assert_int_equal(spool_file_bytes(sp), before);

    assert_int_equal(spool_ack(sp, 990), 0);
    size_t after = spool_file_bytes(sp);
    assert_int_equal(after, s_offset(991, 1001));
    assert_int_equal(s_file_size(f->path), after);
    assert_true(after < before / 10);
    s_expect_range(sp, 991, 1000);
    //  No temporary file left behind.
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    struct stat st;
    assert_int_not_equal(stat(tmp, &st), 0);

    //  The compacted file is what a crash would find.
    s_copy_file(f->path, f->path2);
    spool_t *cp = s_open(f->dir2, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_acked_seq(cp), 990);
    assert_int_equal(spool_next_seq(cp), 1001);
    s_expect_range(cp, 991, 1000);
    spool_destroy(&cp);

    s_append(sp, SPOOL_CLASS_EVENT);
    spool_destroy(&sp);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    s_expect_range(sp, 991, 1001);
    spool_destroy(&sp);
}

//  10 records, the last one torn half-way: the first 9 survive.
static void test_torn_write(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    spool_destroy(&sp);
    uint64_t off10 = s_offset(1, 10);
    uint64_t cut_at = off10 + RECHDR + s_payload_len(10) / 2;
    assert_int_equal(truncate(f->path, (off_t) cut_at), 0);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), cut_at - off10);
    assert_int_equal(spool_file_bytes(sp), off10);
    assert_int_equal(s_file_size(f->path), off10);
    assert_int_equal(spool_next_seq(sp), 10);
    s_expect_range(sp, 1, 9);
    //  The spool carries on normally.
    s_append(sp, SPOOL_CLASS_EVENT);
    spool_destroy(&sp);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), 0);
    s_expect_range(sp, 1, 10);
    spool_destroy(&sp);

    //  Torn inside a record header.
    assert_int_equal(truncate(f->path, (off_t) (off10 + 5)), 0);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), 5);
    s_expect_range(sp, 1, 9);
    spool_destroy(&sp);
}

static void test_corrupt_payload(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_EVENT);
    spool_destroy(&sp);
    uint64_t size = s_file_size(f->path);
    uint64_t off5 = s_offset(1, 5);
    s_flip_byte(f->path, off5 + RECHDR + 3);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), size - off5);
    assert_int_equal(s_file_size(f->path), off5);
    s_expect_range(sp, 1, 4);
    assert_int_equal(spool_next_seq(sp), 5);
    spool_destroy(&sp);
}

static void test_corrupt_record_header(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    spool_destroy(&sp);
    uint64_t off7 = s_offset(1, 7);
    //  A huge length in record 7 must be caught, not followed.
    s_flip_byte(f->path, off7 + 7);
    sp = s_open(f->dir, 64 * 1024);
    assert_true(spool_discarded_bytes(sp) > 0);
    s_expect_range(sp, 1, 6);
    spool_destroy(&sp);
    //  Non-zero padding in record 3.
    s_flip_byte(f->path, s_offset(1, 3) + 18);
    sp = s_open(f->dir, 64 * 1024);
    s_expect_range(sp, 1, 2);
    spool_destroy(&sp);
}

static void test_garbage_tail(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_OTHER);
    spool_destroy(&sp);
    uint64_t size = s_file_size(f->path);
    uint8_t junk[100];
    memset(junk, 0xab, sizeof junk);
    s_append_bytes(f->path, junk, sizeof junk);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), sizeof junk);
    assert_int_equal(s_file_size(f->path), size);
    s_expect_range(sp, 1, 10);
    assert_int_equal(spool_next_seq(sp), 11);
    spool_destroy(&sp);

    //  Zeros (e.g. preallocated blocks after a crash) are garbage too.
    memset(junk, 0, sizeof junk);
    s_append_bytes(f->path, junk, sizeof junk);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), sizeof junk);
    s_expect_range(sp, 1, 10);
    spool_destroy(&sp);
}

//  A well-formed record (good crc) whose seq does not increase ends the file.
static void test_seq_not_increasing(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    spool_destroy(&sp);
    uint64_t size = s_file_size(f->path);

    uint8_t rec[RECHDR + 32];
    uint8_t data[32];
    memset(data, 'x', sizeof data);
    size_t n = s_encode_record(rec, 5, SPOOL_CLASS_METRICS, data, sizeof data);
    s_append_bytes(f->path, rec, n);
    n = s_encode_record(rec, 11, SPOOL_CLASS_METRICS, data, sizeof data);
    s_append_bytes(f->path, rec, n);

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), 2 * n);
    assert_int_equal(s_file_size(f->path), size);
    s_expect_range(sp, 1, 10);
    spool_destroy(&sp);

    //  The same encoder with an increasing seq is accepted: the test encoder
    //  agrees with the format, so the rejection above was for the seq.
    s_append_bytes(f->path, rec, n);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), 0);
    assert_int_equal(spool_count(sp), 11);
    assert_int_equal(spool_next_seq(sp), 12);
    spool_destroy(&sp);
}

static void test_corrupt_header(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    uint64_t id = spool_stream_id(sp);
    for (int i = 0; i < 10; i++)
        s_append(sp, SPOOL_CLASS_EVENT);
    spool_destroy(&sp);
    uint64_t size = s_file_size(f->path);
    s_flip_byte(f->path, 20);     // inside stream_id: the header crc fails

    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_true(spool_stream_id(sp) != id);
    assert_true(spool_stream_id(sp) != 0);
    assert_int_equal(spool_next_seq(sp), 1);
    assert_int_equal(spool_count(sp), 0);
    assert_int_equal(spool_discarded_bytes(sp), size);
    assert_int_equal(s_file_size(f->path), HDR);
    uint64_t id2 = spool_stream_id(sp);
    s_append(sp, SPOOL_CLASS_EVENT);
    spool_destroy(&sp);

    //  The fresh spool is stable.
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_stream_id(sp), id2);
    s_expect_range(sp, 1, 1);
    spool_destroy(&sp);

    //  A file shorter than a header.
    assert_int_equal(truncate(f->path, 30), 0);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), 30);
    assert_int_equal(spool_count(sp), 0);
    assert_true(spool_stream_id(sp) != id2);
    spool_destroy(&sp);

    //  Wrong magic.
    s_flip_byte(f->path, 0);
    sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    assert_int_equal(spool_discarded_bytes(sp), HDR);
    spool_destroy(&sp);
}

//  Damage found at read time: the record is reported and skipped.
static void test_read_damaged(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SPOOL_DEFAULT_MAX_BYTES);
    for (int i = 0; i < 5; i++)
        s_append(sp, SPOOL_CLASS_METRICS);
    s_flip_byte(f->path, s_offset(1, 3) + RECHDR + 1);
    uint64_t seq;
    uint8_t *data = (uint8_t *) 1;
    size_t size;
    assert_int_equal(spool_read(sp, 3, &seq, &data, &size), -1);
    assert_null(data);
    assert_int_equal(spool_count(sp), 4);
    s_expect_read(sp, 3, 4);
    s_expect_read(sp, 1, 1);
    s_expect_read(sp, 2, 2);
    s_expect_read(sp, 5, 5);
    spool_destroy(&sp);
}

#define SMALL (64u * 1024u)

//  Metrics only, never acked: the file stays within the bound, the oldest go.
static void test_bound_metrics(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SMALL);
    const int total = 3000;
    for (int i = 0; i < total; i++) {
        s_append(sp, SPOOL_CLASS_METRICS);
        assert_true(spool_file_bytes(sp) <= SMALL);
        if (i % 97 == 0)
            assert_true(s_file_size(f->path) <= SMALL);
    }
    assert_true(s_file_size(f->path) <= SMALL);
    assert_true(spool_dropped(sp) > 0);
    assert_int_equal(spool_count(sp) + spool_dropped(sp), (size_t) total);
    //  The kept ones are the newest, in order, contiguous up to the last.
    uint64_t first = spool_first_seq(sp);
    assert_int_equal(first, spool_dropped(sp) + 1);
    s_expect_range(sp, first, (uint64_t) total);
    //  Used well: more than half of the bound holds data.
    assert_true(spool_file_bytes(sp) > SMALL / 2);
    spool_destroy(&sp);

    sp = s_open(f->dir, SMALL);
    assert_int_equal(spool_next_seq(sp), (uint64_t) total + 1);
    s_expect_range(sp, first, (uint64_t) total);
    spool_destroy(&sp);
}

//  Events mixed with metrics, the events fit: none lost, bound kept.
static void test_bound_events_kept(void **state)
{
    fixture_t *f = *state;
    spool_t *sp = s_open(f->dir, SMALL);
    const uint64_t total = 3000;
    for (uint64_t s = 1; s <= total; s++) {
        s_append(sp, s % 25 == 0 ? SPOOL_CLASS_EVENT : s % 25 == 1 ? SPOOL_CLASS_OTHER
                                                                  : SPOOL_CLASS_METRICS);
        assert_true(spool_file_bytes(sp) <= SMALL);
    }
    assert_true(s_file_size(f->path) <= SMALL);
    assert_true(spool_dropped(sp) > 0);
    assert_int_equal(spool_count(sp) + spool_dropped(sp), (size_t) total);
    //  Every event and other record is still there; the metrics kept are
    //  the newest ones.
    uint64_t oldest_metric = 0;
    for (uint64_t s = 1; s <= total; s++) {
        uint64_t seq;
        uint8_t *data;
        size_t size;
        int rc = spool_read(sp, s, &seq, &data, &size);
        assert_int_equal(rc, 1);
        free(data);
        if (s % 25 == 0 || s % 25 == 1)
            assert_int_equal(seq, s);
        else if (seq == s && oldest_metric == 0)
            oldest_metric = s;
    }
    assert_true(oldest_metric > 1);
    for (uint64_t s = oldest_metric; s <= total; s++)
        s_expect_read(sp, s, s);
    spool_destroy(&sp);
}

//  Events alone exceed the bound: they are still all kept (the file grows
//  past max_bytes), and new metrics are dropped rather than stored.
static void test_bound_events_exceed(void **state)
{
    fixture_t *f = *state;
    const size_t max = 16 * 1024;
    spool_t *sp = s_open(f->dir, max);
    const uint64_t total = 400;
    for (uint64_t s = 1; s <= total; s++)
        s_append(sp, s % 2 ? SPOOL_CLASS_EVENT : SPOOL_CLASS_METRICS);
    assert_true(spool_file_bytes(sp) > max);
    assert_int_equal(spool_count(sp) + spool_dropped(sp), (size_t) total);
    for (uint64_t s = 1; s <= total; s += 2)
        s_expect_read(sp, s, s);
    //  Once events fill the spool, the metrics appended after are gone.
    uint64_t seq;
    uint8_t *data;
    size_t size;
    assert_int_equal(spool_read(sp, total, &seq, &data, &size), 0);
    //  The seq of a dropped new record is used up, also across a restart:
    //  the caller may have sent it.
    assert_int_equal(spool_next_seq(sp), total + 1);
    assert_int_equal(spool_sync(sp), 0);
    s_copy_file(f->path, f->path2);
    spool_t *cp = s_open(f->dir2, max);
    assert_int_equal(spool_next_seq(cp), total + 1);
    spool_destroy(&cp);
    spool_destroy(&sp);

    sp = s_open(f->dir, max);
    assert_int_equal(spool_next_seq(sp), total + 1);
    for (uint64_t s = 1; s <= total; s += 2)
        s_expect_read(sp, s, s);
    //  Acking the events lets metrics in again, and the bound holds again.
    assert_int_equal(spool_ack(sp, total), 0);
    assert_int_equal(spool_acked_seq(sp), total);
    for (int i = 0; i < 300; i++) {
        s_append(sp, SPOOL_CLASS_METRICS);
        assert_true(spool_file_bytes(sp) <= max);
    }
    s_expect_read(sp, spool_next_seq(sp) - 1, spool_next_seq(sp) - 1);
    spool_destroy(&sp);
}

//  Random damage (flipped bytes, cuts, junk) never crashes the spool, and
//  what it recovers is a readable prefix of what was written.
static void test_random_damage(void **state)
{
    fixture_t *f = *state;
    uint32_t rnd = 12345;
    for (int round = 0; round < 60; round++) {
        it_rmtree(f->dir);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        spool_t *sp = s_open(f->dir, SMALL);
        for (int i = 0; i < 40; i++)
            s_append(sp, i % 3 ? SPOOL_CLASS_METRICS : SPOOL_CLASS_EVENT);
        spool_destroy(&sp);
        uint64_t size = s_file_size(f->path);
        for (int k = 0; k < 1 + round % 4; k++) {
            rnd = rnd * 1103515245u + 12345u;
            uint64_t off = (rnd >> 8) % size;
            if (round % 5 == 4)
                assert_int_equal(truncate(f->path, (off_t) off), 0);
            else
                s_flip_byte(f->path, off);
            size = s_file_size(f->path);
            if (size == 0)
                break;
        }
        sp = s_open(f->dir, SMALL);
        size_t n = spool_count(sp);
        if (n > 0)
            s_expect_range(sp, 1, n);
        assert_int_equal(spool_next_seq(sp) >= n + 1, 1);
        //  And it keeps working.
        s_append(sp, SPOOL_CLASS_EVENT);
        spool_destroy(&sp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_spool, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_append_read_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_append_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_first_seq, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_destroy, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_crash, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_next_seq_survives_full_ack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ack_compaction, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_torn_write, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_payload, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_header, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_tail, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_seq_not_increasing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_header, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_read_damaged, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_metrics, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_events_kept, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bound_events_exceed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_random_damage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_locked_by_another, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
