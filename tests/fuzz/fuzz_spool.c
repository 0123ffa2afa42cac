/*  fuzz_spool — libFuzzer target for the spool's recovery (agent/spool.c).

    Input: byte 0 holds options, the rest is written as DIR/spool.dat (DIR is
    made once per process with mkdtemp, under /dev/shm when it exists, else
    $TMPDIR or /tmp; the file is rewritten on every run, an empty input
    removes it). Options:
      bit 0     fix the header checksum   } so that the fuzzer gets past
      bit 1     fix each record checksum  } the crc32 checks
      bits 2-3  max_bytes = 4K << n
      bits 4-6  sizes of the payloads appended
      bit 7     end with an ack beyond the last seq (clamped: acks everything)

    The spool is opened (recovery), everything held is read back, a few
    records of each class are appended and some acked, the spool is closed,
    opened again and read again. Checks beyond "no crash, no leak": recovery
    never fails on a regular file, every held record reads back intact and in
    increasing seq order between acked_seq and next_seq, appends that fit
    succeed, and reopening restores the same stream, seqs and records.

    Log lines are muted; set FERRY_FUZZ_VERBOSE=1 to see them. */
#include "spool.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define S_HDR_SIZE 64u
#define S_REC_SIZE 24u
#define S_APPENDS 5

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_dir[256];
static char s_file[300];

static void s_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_spool: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void s_remove_dir(void)
{
    static const char *const names[] = {"spool.dat", "spool.dat.tmp", "spool.lock"};
    char path[300];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", s_dir, names[i]);
        unlink(path);
    }
    rmdir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    struct stat st;
    const char *base = getenv("TMPDIR");
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";      // tmpfs: the spool's fsyncs cost nothing
    snprintf(s_dir, sizeof s_dir, "%s/ferry-fuzz-spool.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(s_dir))
        s_fail("mkdtemp", strerror(errno));
    snprintf(s_file, sizeof s_file, "%s/spool.dat", s_dir);
    atexit(s_remove_dir);
    if (!getenv("FERRY_FUZZ_VERBOSE"))
        zsys_set_logstream(NULL);
    return 0;
}

static void s_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get_u32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

//  Recompute the checksums the options ask for, as spool.h defines them.
static void s_fix_crcs(uint8_t *buf, size_t size, unsigned opts)
{
    if ((opts & 2) && size >= S_HDR_SIZE) {
        size_t off = S_HDR_SIZE;
        while (size - off >= S_REC_SIZE) {
            uint8_t *h = buf + off;
            uint32_t len = s_get_u32(h + 4);
            if (len > size - off - S_REC_SIZE)
                break;
            uLong crc = crc32(crc32(0L, Z_NULL, 0), h + 8, 9);   // seq (LE) and class
            crc = crc32(crc, h + S_REC_SIZE, len);
            s_put_u32(h + 20, (uint32_t) crc);
            off += S_REC_SIZE + len;
        }
    }
    if ((opts & 1) && size >= S_HDR_SIZE) {
        memset(buf + 12, 0, 4);
        s_put_u32(buf + 12, (uint32_t) crc32(crc32(0L, Z_NULL, 0), buf, S_HDR_SIZE));
    }
}

static void s_write_file(const uint8_t *data, size_t size)
{
    int fd = open(s_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        s_fail("cannot create the spool file", strerror(errno));
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0)
            s_fail("cannot write the spool file", strerror(errno));
        data += n;
        size -= (size_t) n;
    }
    close(fd);
}

//  Read every held record: all intact, seqs increasing in (acked, next).
static void s_read_all(spool_t *sp)
{
    uint64_t acked = spool_acked_seq(sp), next = spool_next_seq(sp);
    uint64_t from = 0, prev = 0;
    size_t count = spool_count(sp), n = 0;
    if (count > 0 ? spool_first_seq(sp) <= acked : spool_first_seq(sp) != next)
        s_fail("first_seq out of place", NULL);
    for (size_t i = 0; i <= count; i++) {
        uint64_t seq;
        uint8_t *data;
        size_t size;
        int rc = spool_read(sp, from, &seq, &data, &size);
        if (rc == 0)
            break;
        if (rc != 1)
            s_fail("a record recovered intact does not read back", NULL);
        free(data);
        if (size == 0 || seq < from || seq <= acked || seq >= next || (n > 0 && seq <= prev))
            s_fail("record seq out of order or out of (acked_seq, next_seq)", NULL);
        n++;
        prev = seq;
        from = seq + 1;
    }
    if (n != count)
        s_fail("spool_count differs from the records read", NULL);
}

//  Append a few records of every class; payload sizes from the options.
static void s_append(spool_t *sp, unsigned opts, size_t max)
{
    static const spool_class_t classes[S_APPENDS] = {SPOOL_CLASS_METRICS, SPOOL_CLASS_EVENT,
                                                     SPOOL_CLASS_OTHER, SPOOL_CLASS_METRICS,
                                                     SPOOL_CLASS_METRICS};
    static uint8_t payload[65536];
    char err[256];
    for (size_t i = 0; i < S_APPENDS; i++) {
        size_t len = 1 + (((opts >> 4) & 7) * 1031 * (i + 1)) % (max + max / 4);
        memset(payload, (int) (i + 1), len);
        uint64_t seq = spool_next_seq(sp);
        if (spool_append(sp, seq + 1, classes[i], payload, len, err, sizeof err) == 0)
            s_fail("append of a wrong seq accepted", NULL);
        int rc = spool_append(sp, seq, classes[i], payload, len, err, sizeof err);
        //  Seqs past INT64_MAX are refused (the collector stores them signed).
        bool fits = S_HDR_SIZE + S_REC_SIZE + len <= max && seq <= (uint64_t) INT64_MAX;
        if (fits && rc != 0)
            s_fail("append failed", err);
        if (!fits && rc == 0)
            s_fail("append of a record larger than the spool (or past the last seq) accepted",
                   NULL);
        if (rc == 0 && spool_next_seq(sp) != seq + 1)
            s_fail("next_seq did not advance", NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned opts = size > 0 ? data[0] : 0;
    size_t max = (size_t) 4096 << ((opts >> 2) & 3);
    if (size == 0)
        unlink(s_file);
    else {
        uint8_t *file = malloc(size - 1 + 1);
        if (!file)
            return 0;
        memcpy(file, data + 1, size - 1);
        s_fix_crcs(file, size - 1, opts);
        s_write_file(file, size - 1);
        free(file);
    }

    char err[256] = "";
    spool_t *sp = spool_open(s_dir, max, err, sizeof err);
    if (!sp)
        s_fail("recovery failed", err);
    s_read_all(sp);
    s_append(sp, opts, max);
    s_read_all(sp);
    uint64_t next = spool_next_seq(sp);
    if (next >= 3 && spool_ack(sp, next - 2) != 0)
        s_fail("ack failed", NULL);
    if ((opts & 0x80) && spool_ack(sp, next + 10) != 0)
        s_fail("ack beyond the last seq failed", NULL);
    s_read_all(sp);
    if (spool_sync(sp) != 0)
        s_fail("sync failed", NULL);

    uint64_t stream = spool_stream_id(sp), acked = spool_acked_seq(sp);
    uint64_t first = spool_first_seq(sp);
    next = spool_next_seq(sp);
    size_t count = spool_count(sp);
    spool_destroy(&sp);
    spool_destroy(&sp);         // safe twice

    sp = spool_open(s_dir, max, err, sizeof err);
    if (!sp)
        s_fail("reopen failed", err);
    if (spool_stream_id(sp) != stream || spool_acked_seq(sp) != acked
        || spool_next_seq(sp) != next || spool_count(sp) != count
        || spool_first_seq(sp) != first || spool_discarded_bytes(sp) != 0)
        s_fail("reopen did not restore the spool as it was closed", NULL);
    s_read_all(sp);
    spool_destroy(&sp);
    return 0;
}
