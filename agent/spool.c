/*  spool — the agent's at-least-once store of messages not yet acked.

    The contract and the on-disk format are in spool.h. Implementation notes:

    - The index of held records {seq, offset, length, class} is a dynamic
      array in seq (= file) order; held records are recs[head..nrecs). Acks
      advance head. Payloads are never cached: spool_read preads them back.
    - Appends are pwrite()s at the tracked end of file. The header (acked_seq,
      next_seq) is rewritten in place lazily: at spool_sync / destroy when
      acked_seq moved or next_seq could not be recovered from the records
      (seqs of new metrics dropped when full), and whenever the file is
      rewritten. After a crash the
      header may lag, so already-acked messages are re-sent: harmless, the
      collector drops duplicates. next_seq is recovered as
      max(header next_seq, last record seq + 1, acked_seq + 1); whenever
      records leave the file (compaction, truncation) the header written with
      them carries the current next_seq, so seqs are never reused.
    - Compaction copies the live records to DIR/spool.dat.tmp, fsyncs it,
      renames it over spool.dat and fsyncs the directory. It runs when the
      acked prefix is at least half the file (and not tiny), and when an
      append would push the file past max_bytes.
    - When an append does not fit: if compacting the acked records alone gives
      max_bytes/8 of room, that is done; otherwise the oldest metrics are
      dropped until the file is down to 7/8 of max_bytes (a low-water mark, so
      a full spool is not rewritten on every append). Events and other
      classes are never dropped: if they alone fill the spool, a new metrics
      record is dropped instead, and a new event/other record is appended past
      the bound with one warning per episode.
    - The record crc32 covers the 8 seq bytes (LE), the class byte, then the
      payload. The 3 padding bytes are not covered, so they must be zero. */
#include "spool.h"

#include "clock.h"
#include "errbuf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

#define SPOOL_FILE "spool.dat"
#define SPOOL_TMP_FILE "spool.dat.tmp"
#define SPOOL_LOCK_FILE "spool.lock"

#define HDR_SIZE 64u                  // file header bytes
#define HDR_MAGIC "FERRYSP1"          // 8 bytes, no terminator on disk
#define HDR_VERSION 1u                // format version in the header
#define HDR_OFF_VERSION 8
#define HDR_OFF_CRC 12
#define HDR_OFF_STREAM 16
#define HDR_OFF_ACKED 24
#define HDR_OFF_NEXT 32

#define REC_SIZE 24u                  // record header bytes before the payload
#define REC_MAGIC 0x31525346u         // "FSR1" little-endian

//  Highest seq: the collector keeps seqs as SQLite (signed 64-bit) integers.
//  Out of reach by counting; a file claiming more is damaged (else next_seq
//  would wrap to 0, the "not sequenced" value).
#define SEQ_MAX ((uint64_t) INT64_MAX)

#define MIN_MAX_BYTES 4096u           // smallest max_bytes accepted
#define IO_CHUNK 65536u               // buffer for scans and copies
#define COMPACT_MIN_BYTES 65536u      // dead bytes worth a compaction (capped at max/4)
#define LOG_PERIOD_MS 60000           // rate limit of repeated warnings

//  One record in the index.
typedef struct {
    uint64_t seq;                     // record seq
    uint64_t off;                     // file offset of the record header
    uint32_t len;                     // payload length
    uint8_t cls;                      // spool_class_t
    uint8_t drop;                     // marked to be dropped by the next compaction
} spool_rec_t;

struct _spool_t {
    char *dir;                        // directory holding the spool, fsynced after renames
    char *path;                       // DIR/spool.dat
    char *tmp_path;                   // DIR/spool.dat.tmp, compaction output
    int fd;                           // open spool file, -1 when none
    int lock_fd;                      // DIR/spool.lock, flock'ed for the spool's lifetime
    size_t max_bytes;                 // bound on the file size
    uint64_t stream_id;               // random id of this seq stream, never 0
    uint64_t acked_seq;               // highest seq acked (0 = none)
    uint64_t next_seq;                // seq the next append must use
    uint64_t hdr_acked_seq;           // acked_seq as last written to the header
    uint64_t hdr_next_seq;            // next_seq as last written to the header
    uint64_t last_file_seq;           // seq of the last record in the file (0 = none)
    spool_rec_t *recs;                // index; held records are recs[head..nrecs)
    size_t head;                      // first held entry of recs
    size_t nrecs;                     // entries used in recs
    size_t cap;                       // entries allocated in recs
    uint64_t file_bytes;              // file size = offset of the next append
    uint64_t live_bytes;              // bytes of held records (headers + payloads)
    uint64_t dropped;                 // metrics dropped because full, since open
    uint64_t discarded;               // damaged bytes cut at open
    bool dirty;                       // written since the last fsync
    bool over_warned;                 // warned about exceeding max_bytes this episode
    int64_t drop_log_ms;              // rate limit of drop warnings
    int64_t ack_log_ms;               // rate limit of bogus-ack warnings
};

//  Parsed record header.
typedef struct {
    uint32_t magic;                   // REC_MAGIC when valid
    uint32_t len;                     // payload length
    uint64_t seq;                     // record seq
    uint8_t cls;                      // class byte
    bool pad_zero;                    // the 3 padding bytes are zero
    uint32_t crc;                     // stored crc32
} spool_rechdr_t;

//  Buffered sequential reader used by the recovery scan.
typedef struct {
    int fd;                           // file read
    uint8_t *buf;                     // IO_CHUNK bytes
    uint64_t start;                   // file offset of buf[0]
    size_t len;                       // valid bytes in buf
    uint64_t size;                    // file size
} spool_reader_t;

// ---------------------------------------------------------------------------
//  Small helpers

static void s_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static void s_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t s_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static char *s_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

static bool s_class_valid(unsigned cls)
{
    return cls == SPOOL_CLASS_METRICS || cls == SPOOL_CLASS_EVENT || cls == SPOOL_CLASS_OTHER;
}

//  Bytes a record with this payload length takes in the file.
static uint64_t s_rec_bytes(uint32_t len) { return (uint64_t) REC_SIZE + len; }

//  Write all of buf at off. 0, or -1 with errno set.
static int s_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t) off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t) n;
        off += (uint64_t) n;
    }
    return 0;
}

//  Read up to len bytes at off, stopping only at end of file. Returns the
//  count read, or -1 with errno set.
static ssize_t s_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t) (off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t) n;
    }
    return (ssize_t) got;
}

//  fsync the directory so a rename in it is durable. Some systems refuse to
//  fsync a directory: that is logged at debug level only.
static void s_fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd < 0) {
        log_debug("spool: cannot open directory %s to fsync it: %s", dir, strerror(errno));
        return;
    }
    if (fsync(dfd) != 0)
        log_debug("spool: fsync of directory %s: %s", dir, strerror(errno));
    close(dfd);
}

static int s_random_bytes(uint8_t *buf, size_t len)
{
#if defined(__linux__)
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t) n;
    }
    if (got == len)
        return 0;
#endif
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = s_pread_full(fd, buf, len, 0);
    close(fd);
    return n == (ssize_t) len ? 0 : -1;
}

//  64 random bits, never 0. Falls back to a clock/pid mix (with a warning)
//  when the system has no randomness to give.
static uint64_t s_random_id(void)
{
    for (int tries = 0; tries < 8; tries++) {
        uint8_t b[8];
        if (s_random_bytes(b, sizeof b) != 0)
            break;
        uint64_t v = s_get_u64(b);
        if (v != 0)
            return v;
    }
    log_warn("spool: no system randomness, stream id derived from clock and pid");
    uint64_t z = (uint64_t) clock_wall_ms() ^ ((uint64_t) clock_mono_us() << 20)
                 ^ ((uint64_t) getpid() << 40);
    //  splitmix64 finaliser
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

// ---------------------------------------------------------------------------
//  Header and record encoding

static void s_hdr_encode(uint8_t h[HDR_SIZE], uint64_t stream_id, uint64_t acked_seq,
                         uint64_t next_seq)
{
    memset(h, 0, HDR_SIZE);
    memcpy(h, HDR_MAGIC, 8);
    s_put_u32(h + HDR_OFF_VERSION, HDR_VERSION);
    s_put_u64(h + HDR_OFF_STREAM, stream_id);
    s_put_u64(h + HDR_OFF_ACKED, acked_seq);
    s_put_u64(h + HDR_OFF_NEXT, next_seq);
    uint32_t crc = (uint32_t) crc32(crc32(0L, Z_NULL, 0), h, HDR_SIZE);
    s_put_u32(h + HDR_OFF_CRC, crc);
}

//  Check a header; returns NULL when valid (values in *_p), else the reason.
static const char *s_hdr_decode(const uint8_t h[HDR_SIZE], uint64_t *stream_p,
                                uint64_t *acked_p, uint64_t *next_p)
{
    if (memcmp(h, HDR_MAGIC, 8) != 0)
        return "bad header magic";
    if (s_get_u32(h + HDR_OFF_VERSION) != HDR_VERSION)
        return "unknown format version";
    uint8_t copy[HDR_SIZE];
    memcpy(copy, h, HDR_SIZE);
    memset(copy + HDR_OFF_CRC, 0, 4);
    uint32_t crc = (uint32_t) crc32(crc32(0L, Z_NULL, 0), copy, HDR_SIZE);
    if (crc != s_get_u32(h + HDR_OFF_CRC))
        return "header checksum mismatch";
    uint64_t stream = s_get_u64(h + HDR_OFF_STREAM);
    if (stream == 0)
        return "zero stream id";
    uint64_t acked = s_get_u64(h + HDR_OFF_ACKED);
    uint64_t next = s_get_u64(h + HDR_OFF_NEXT);
    if (acked > SEQ_MAX || next > SEQ_MAX + 1)
        return "sequence number out of range";
    *stream_p = stream;
    *acked_p = acked;
    *next_p = next;
    return NULL;
}

static int s_hdr_write(int fd, uint64_t stream_id, uint64_t acked_seq, uint64_t next_seq)
{
    uint8_t h[HDR_SIZE];
    s_hdr_encode(h, stream_id, acked_seq, next_seq);
    return s_pwrite_all(fd, h, sizeof h, 0);
}

//  crc32 state after the (seq, class) prefix; continue it over the payload.
static uint32_t s_rec_crc_start(uint64_t seq, uint8_t cls)
{
    uint8_t b[9];
    s_put_u64(b, seq);
    b[8] = cls;
    return (uint32_t) crc32(crc32(0L, Z_NULL, 0), b, sizeof b);
}

static uint32_t s_crc_update(uint32_t crc, const uint8_t *data, size_t len)
{
    while (len > 0) {
        uInt n = len > IO_CHUNK ? IO_CHUNK : (uInt) len;
        crc = (uint32_t) crc32(crc, data, n);
        data += n;
        len -= n;
    }
    return crc;
}

static void s_rechdr_encode(uint8_t h[REC_SIZE], uint64_t seq, uint8_t cls,
                            const uint8_t *data, uint32_t len)
{
    memset(h, 0, REC_SIZE);
    s_put_u32(h, REC_MAGIC);
    s_put_u32(h + 4, len);
    s_put_u64(h + 8, seq);
    h[16] = cls;
    s_put_u32(h + 20, s_crc_update(s_rec_crc_start(seq, cls), data, len));
}

static void s_rechdr_decode(const uint8_t h[REC_SIZE], spool_rechdr_t *r)
{
    r->magic = s_get_u32(h);
    r->len = s_get_u32(h + 4);
    r->seq = s_get_u64(h + 8);
    r->cls = h[16];
    r->pad_zero = h[17] == 0 && h[18] == 0 && h[19] == 0;
    r->crc = s_get_u32(h + 20);
}

//  Structural checks of a record header (all but the crc and the seq order);
//  room = bytes the file has from the record start. NULL when fine.
static const char *s_rechdr_check(const spool_rechdr_t *r, uint64_t room, size_t max_bytes)
{
    if (r->magic != REC_MAGIC)
        return "bad record magic";
    if (r->len == 0 || r->len > max_bytes)
        return "bad record length";
    if (s_rec_bytes(r->len) > room)
        return "record runs past end of file";
    if (!s_class_valid(r->cls))
        return "bad record class";
    if (!r->pad_zero)
        return "non-zero record padding";
    if (r->seq == 0)
        return "zero record seq";
    if (r->seq > SEQ_MAX)
        return "record seq out of range";
    return NULL;
}

// ---------------------------------------------------------------------------
//  Index

static int s_index_push(spool_t *self, uint64_t seq, uint64_t off, uint32_t len, uint8_t cls)
{
    if (self->nrecs == self->cap && self->head > 0) {
        memmove(self->recs, self->recs + self->head,
                (self->nrecs - self->head) * sizeof *self->recs);
        self->nrecs -= self->head;
        self->head = 0;
    }
    if (self->nrecs == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        spool_rec_t *recs = realloc(self->recs, cap * sizeof *recs);
        if (!recs)
            return -1;
        self->recs = recs;
        self->cap = cap;
    }
    self->recs[self->nrecs++] = (spool_rec_t) {.seq = seq, .off = off, .len = len, .cls = cls};
    self->live_bytes += s_rec_bytes(len);
    return 0;
}

static void s_index_remove(spool_t *self, size_t i)
{
    self->live_bytes -= s_rec_bytes(self->recs[i].len);
    memmove(self->recs + i, self->recs + i + 1, (self->nrecs - i - 1) * sizeof *self->recs);
    self->nrecs--;
    if (self->head == self->nrecs)
        self->head = self->nrecs = 0;
}

static void s_clear_drops(spool_t *self)
{
    for (size_t i = self->head; i < self->nrecs; i++)
        self->recs[i].drop = 0;
}

static void s_log_drops(spool_t *self, uint64_t n)
{
    if (log_ratelimit(&self->drop_log_ms, clock_mono_ms(), LOG_PERIOD_MS))
        log_warn("spool: %s full (max %zu bytes): dropped %" PRIu64
                 " oldest metrics, %" PRIu64 " since open",
                 self->path, self->max_bytes, n, self->dropped);
}

// ---------------------------------------------------------------------------
//  Compaction

//  Copy len bytes from (src, soff) to (dst, doff) through buf (IO_CHUNK).
static int s_copy_range(int src, uint64_t soff, int dst, uint64_t doff, uint64_t len,
                        uint8_t *buf)
{
    while (len > 0) {
        size_t n = len > IO_CHUNK ? IO_CHUNK : (size_t) len;
        ssize_t got = s_pread_full(src, buf, n, soff);
        if (got < 0)
            return -1;
        if ((size_t) got != n) {
            errno = EIO;     // the file is shorter than the index says
            return -1;
        }
        if (s_pwrite_all(dst, buf, n, doff) != 0)
            return -1;
        soff += n;
        doff += n;
        len -= n;
    }
    return 0;
}

//  Rewrite the file with the held records not marked drop, through the tmp
//  file and a rename. Also creates a fresh file (empty index, fd -1). On
//  failure the old file and index stay as they were (drop marks cleared).
static int s_compact(spool_t *self, char *err, size_t errlen)
{
    int tfd = -1;
    uint8_t *buf = NULL;
    spool_rec_t *recs = NULL;
    size_t held = self->nrecs - self->head;
    size_t nrecs = 0;
    uint64_t ndrop = 0;
    uint64_t out = HDR_SIZE;

    if (held > 0) {
        recs = malloc(held * sizeof *recs);
        buf = malloc(IO_CHUNK);
        if (!recs || !buf) {
            errbuf_set(err, errlen, "spool: out of memory compacting %s", self->path);
            goto fail;
        }
    }
    tfd = open(self->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0) {
        errbuf_set(err, errlen, "spool: cannot create %s: %s", self->tmp_path, strerror(errno));
        goto fail;
    }
    if (s_hdr_write(tfd, self->stream_id, self->acked_seq, self->next_seq) != 0) {
        errbuf_set(err, errlen, "spool: cannot write %s: %s", self->tmp_path, strerror(errno));
        goto fail;
    }
    size_t i = self->head;
    while (i < self->nrecs) {
        if (self->recs[i].drop) {
            ndrop++;
            i++;
            continue;
        }
        //  Copy a run of records that are contiguous in the old file at once.
        uint64_t start = self->recs[i].off;
        uint64_t end = start;
        while (i < self->nrecs && !self->recs[i].drop && self->recs[i].off == end) {
            recs[nrecs] = self->recs[i];
            recs[nrecs].off = out + (end - start);
            end += s_rec_bytes(self->recs[i].len);
            nrecs++;
            i++;
        }
        if (s_copy_range(self->fd, start, tfd, out, end - start, buf) != 0) {
            errbuf_set(err, errlen, "spool: cannot copy records from %s to %s: %s", self->path,
                  self->tmp_path, strerror(errno));
            goto fail;
        }
        out += end - start;
    }
    if (fsync(tfd) != 0) {
        errbuf_set(err, errlen, "spool: fsync %s: %s", self->tmp_path, strerror(errno));
        goto fail;
    }
    if (rename(self->tmp_path, self->path) != 0) {
        errbuf_set(err, errlen, "spool: cannot rename %s to %s: %s", self->tmp_path, self->path,
              strerror(errno));
        goto fail;
    }
    s_fsync_dir(self->dir);

    if (self->fd >= 0)
        close(self->fd);
    self->fd = tfd;
    free(self->recs);
    self->recs = recs;
    self->cap = held;
    self->nrecs = nrecs;
    self->head = 0;
    self->file_bytes = out;
    self->live_bytes = out - HDR_SIZE;
    self->hdr_acked_seq = self->acked_seq;
    self->hdr_next_seq = self->next_seq;
    self->last_file_seq = nrecs > 0 ? recs[nrecs - 1].seq : 0;
    self->dirty = false;
    free(buf);
    if (ndrop > 0) {
        self->dropped += ndrop;
        s_log_drops(self, ndrop);
    }
    return 0;

fail:
    if (tfd >= 0) {
        close(tfd);
        unlink(self->tmp_path);
    }
    free(recs);
    free(buf);
    s_clear_drops(self);
    return -1;
}

//  Nothing held: cut the file back to its header, in place. The header goes
//  first (with next_seq), so a crash in between loses nothing.
static int s_truncate_empty(spool_t *self, char *err, size_t errlen)
{
    if (s_hdr_write(self->fd, self->stream_id, self->acked_seq, self->next_seq) != 0
        || fdatasync(self->fd) != 0 || ftruncate(self->fd, (off_t) HDR_SIZE) != 0) {
        errbuf_set(err, errlen, "spool: cannot truncate %s: %s", self->path, strerror(errno));
        return -1;
    }
    self->hdr_acked_seq = self->acked_seq;
    self->hdr_next_seq = self->next_seq;
    self->last_file_seq = 0;
    self->dirty = false;
    self->file_bytes = HDR_SIZE;
    self->live_bytes = 0;
    self->head = self->nrecs = 0;
    return 0;
}

//  Compact when acked (dead) bytes are at least half the file and not tiny.
static int s_maybe_compact(spool_t *self)
{
    uint64_t dead = self->file_bytes - HDR_SIZE - self->live_bytes;
    uint64_t min = COMPACT_MIN_BYTES < self->max_bytes / 4 ? COMPACT_MIN_BYTES
                                                           : self->max_bytes / 4;
    if (dead < min || dead * 2 < self->file_bytes)
        return 0;
    char err[256] = "";
    int rc = self->head == self->nrecs ? s_truncate_empty(self, err, sizeof err)
                                       : s_compact(self, err, sizeof err);
    if (rc != 0)
        log_warn("%s", err);
    return rc;
}

//  An append of need bytes does not fit under max_bytes: make room.
//  Returns 0 to append, 1 when the new (metrics) record is to be dropped
//  instead, -1 on I/O error (message in err).
static int s_make_room(spool_t *self, uint64_t need, unsigned cls, char *err, size_t errlen)
{
    uint64_t max = self->max_bytes;
    uint64_t slack = max / 8;
    uint64_t low = max - slack;
    uint64_t kept = HDR_SIZE + self->live_bytes;

    //  Removing the acked records alone may give enough room; otherwise drop
    //  the oldest metrics down to the low-water mark.
    if (!(kept + need <= max && self->file_bytes - kept >= slack)) {
        for (size_t i = self->head; i < self->nrecs && kept + need > low; i++) {
            if (self->recs[i].cls == SPOOL_CLASS_METRICS) {
                self->recs[i].drop = 1;
                kept -= s_rec_bytes(self->recs[i].len);
            }
        }
    }
    uint64_t freed = self->file_bytes - kept;
    if (freed > 0 && (kept + need <= max || freed >= slack)) {
        if (s_compact(self, err, errlen) != 0)
            return -1;
    }
    else
        s_clear_drops(self);

    if (self->file_bytes + need <= max)
        return 0;
    //  Only events and other records left, and they fill the spool.
    if (cls == SPOOL_CLASS_METRICS) {
        self->dropped++;
        s_log_drops(self, 1);
        return 1;
    }
    if (!self->over_warned) {
        log_warn("spool: %s holds %" PRIu64 " bytes of events and other records that cannot be "
                 "dropped; growing past its bound of %zu bytes",
                 self->path, self->live_bytes, self->max_bytes);
        self->over_warned = true;
    }
    return 0;
}

// ---------------------------------------------------------------------------
//  Open and recovery

//  Start an empty spool with a new stream id (replaces any existing file).
static int s_start_fresh(spool_t *self, char *err, size_t errlen)
{
    self->stream_id = s_random_id();
    self->acked_seq = 0;
    self->next_seq = 1;
    self->head = self->nrecs = 0;
    self->live_bytes = 0;
    return s_compact(self, err, errlen);
}

//  Ensure [off, off + n) of the file is in the reader's buffer (n <= IO_CHUNK
//  and within the file). NULL with errno on I/O error.
static const uint8_t *s_reader_at(spool_reader_t *r, uint64_t off, size_t n)
{
    if (off >= r->start && off + n <= r->start + r->len)
        return r->buf + (off - r->start);
    uint64_t want = r->size - off < IO_CHUNK ? r->size - off : IO_CHUNK;
    ssize_t got = s_pread_full(r->fd, r->buf, (size_t) want, off);
    if (got < 0)
        return NULL;
    r->start = off;
    r->len = (size_t) got;
    if (r->len < n) {
        errno = EIO;     // the file shrank under us
        return NULL;
    }
    return r->buf;
}

//  Scan the records from HDR_SIZE; build the index; cut a damaged tail.
static int s_scan(spool_t *self, uint64_t size, char *err, size_t errlen)
{
    spool_reader_t r = {.fd = self->fd, .size = size};
    uint64_t off = HDR_SIZE;
    uint64_t prev_seq = 0;
    size_t kept = 0;
    const char *bad = NULL;

    r.buf = malloc(IO_CHUNK);
    if (!r.buf) {
        errbuf_set(err, errlen, "spool: out of memory reading %s", self->path);
        goto fail;
    }
    while (off < size) {
        if (size - off < REC_SIZE) {
            bad = "truncated record header";
            break;
        }
        const uint8_t *h = s_reader_at(&r, off, REC_SIZE);
        if (!h)
            goto io_fail;
        spool_rechdr_t rh;
        s_rechdr_decode(h, &rh);
        bad = s_rechdr_check(&rh, size - off, self->max_bytes);
        if (!bad && rh.seq <= prev_seq)
            bad = "record seq not increasing";
        if (bad)
            break;
        uint32_t crc = s_rec_crc_start(rh.seq, rh.cls);
        uint64_t p = off + REC_SIZE;
        uint64_t left = rh.len;
        while (left > 0) {
            size_t n = left > IO_CHUNK ? IO_CHUNK : (size_t) left;
            const uint8_t *d = s_reader_at(&r, p, n);
            if (!d)
                goto io_fail;
            crc = s_crc_update(crc, d, n);
            p += n;
            left -= n;
        }
        if (crc != rh.crc) {
            bad = "record checksum mismatch";
            break;
        }
        if (rh.seq > self->acked_seq
            && s_index_push(self, rh.seq, off, rh.len, rh.cls) != 0) {
            errbuf_set(err, errlen, "spool: out of memory indexing %s", self->path);
            goto fail;
        }
        prev_seq = rh.seq;
        off += s_rec_bytes(rh.len);
        kept++;
    }
    if (off < size) {
        self->discarded = size - off;
        log_warn("spool: %s: damaged tail at offset %" PRIu64 " (%s): cut %" PRIu64
                 " bytes, kept %zu records (%zu unacked)",
                 self->path, off, bad, size - off, kept, self->nrecs - self->head);
        if (ftruncate(self->fd, (off_t) off) != 0 || fdatasync(self->fd) != 0) {
            errbuf_set(err, errlen, "spool: cannot cut the damaged tail of %s: %s", self->path,
                  strerror(errno));
            goto fail;
        }
    }
    self->file_bytes = off;
    self->last_file_seq = prev_seq;
    if (prev_seq >= self->next_seq)
        self->next_seq = prev_seq + 1;
    free(r.buf);
    return 0;

io_fail:
    errbuf_set(err, errlen, "spool: cannot read %s: %s", self->path, strerror(errno));
fail:
    free(r.buf);
    return -1;
}

//  Recover from an existing file (self->fd open on it).
static int s_recover(spool_t *self, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(self->fd, &st) != 0) {
        errbuf_set(err, errlen, "spool: cannot stat %s: %s", self->path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        errbuf_set(err, errlen, "spool: %s is not a regular file", self->path);
        return -1;
    }
    uint64_t size = (uint64_t) st.st_size;
    if (size == 0)
        return s_start_fresh(self, err, errlen);

    uint8_t h[HDR_SIZE];
    const char *bad = NULL;
    uint64_t stream = 0, acked = 0, next = 0;
    if (size < HDR_SIZE)
        bad = "shorter than its header";
    else {
        ssize_t got = s_pread_full(self->fd, h, HDR_SIZE, 0);
        if (got != (ssize_t) HDR_SIZE) {
            errbuf_set(err, errlen, "spool: cannot read %s: %s", self->path,
                  got < 0 ? strerror(errno) : "short read");
            return -1;
        }
        bad = s_hdr_decode(h, &stream, &acked, &next);
    }
    if (bad) {
        log_warn("spool: %s: %s; its %" PRIu64 " bytes are unreadable, starting a fresh "
                 "spool with a new stream id",
                 self->path, bad, size);
        self->discarded = size;
        return s_start_fresh(self, err, errlen);
    }
    self->stream_id = stream;
    self->acked_seq = acked;
    self->hdr_acked_seq = acked;
    self->hdr_next_seq = next;
    self->next_seq = next > acked ? next : acked + 1;
    if (s_scan(self, size, err, errlen) != 0)
        return -1;
    (void) s_maybe_compact(self);
    return 0;
}

//  True when the header must be rewritten: acked_seq moved, or next_seq could
//  not be recovered from the file (seqs used by metrics dropped when full).
static bool s_hdr_stale(spool_t *self)
{
    if (self->hdr_acked_seq != self->acked_seq)
        return true;
    uint64_t recovered = self->hdr_next_seq;
    if (self->last_file_seq + 1 > recovered)
        recovered = self->last_file_seq + 1;
    if (self->acked_seq + 1 > recovered)
        recovered = self->acked_seq + 1;
    return recovered < self->next_seq;
}

static void s_free(spool_t *self)
{
    if (self->fd >= 0)
        close(self->fd);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self->recs);
    free(self->dir);
    free(self->path);
    free(self->tmp_path);
    free(self);
}

// ---------------------------------------------------------------------------
//  Public API

static int s_lock(spool_t *self, char *err, size_t errlen)
{
    char *lock_path = s_join(self->dir, SPOOL_LOCK_FILE);
    if (!lock_path) {
        errbuf_set(err, errlen, "spool: out of memory");
        return -1;
    }
    self->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        errbuf_set(err, errlen, "spool: cannot open %s: %s", lock_path, strerror(errno));
        free(lock_path);
        return -1;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        errbuf_set(err, errlen, "spool: %s is in use by another process (another ferry-agent with"
              " the same spool_dir?)", self->dir);
        free(lock_path);
        return -1;
    }
    free(lock_path);
    return 0;
}

spool_t *spool_open(const char *dir, size_t max_bytes, char *err, size_t errlen)
{
    spool_t *self = NULL;
    struct stat st;

    if (!dir || !*dir) {
        errbuf_set(err, errlen, "spool: no directory given");
        return NULL;
    }
    if (max_bytes < MIN_MAX_BYTES) {
        errbuf_set(err, errlen, "spool: max_bytes %zu is too small (minimum %u)", max_bytes,
              MIN_MAX_BYTES);
        return NULL;
    }
    if (stat(dir, &st) != 0) {
        errbuf_set(err, errlen, "spool: directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "spool: %s is not a directory", dir);
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->fd = -1;
    self->lock_fd = -1;
    self->max_bytes = max_bytes;
    self->next_seq = 1;
    self->dir = strdup(dir);
    self->path = s_join(dir, SPOOL_FILE);
    self->tmp_path = s_join(dir, SPOOL_TMP_FILE);
    if (!self->dir || !self->path || !self->tmp_path)
        goto oom;

    //  Two agents on one spool would interleave records. The lock is on a file
    //  of its own because compaction replaces spool.dat by rename.
    if (s_lock(self, err, errlen) != 0)
        goto fail;

    //  Left over by a compaction interrupted by a crash: spool.dat is intact.
    if (unlink(self->tmp_path) != 0 && errno != ENOENT)
        log_warn("spool: cannot remove %s: %s", self->tmp_path, strerror(errno));

    self->fd = open(self->path, O_RDWR | O_CLOEXEC);
    if (self->fd < 0) {
        if (errno != ENOENT) {
            errbuf_set(err, errlen, "spool: cannot open %s: %s", self->path, strerror(errno));
            goto fail;
        }
        if (s_start_fresh(self, err, errlen) != 0)
            goto fail;
        log_info("spool: created %s (stream %016" PRIx64 ")", self->path, self->stream_id);
    }
    else if (s_recover(self, err, errlen) != 0)
        goto fail;
    else if (self->nrecs > self->head)
        log_info("spool: %s holds %zu unacked records (seq %" PRIu64 "..%" PRIu64 ")",
                 self->path, self->nrecs - self->head, self->recs[self->head].seq,
                 self->next_seq - 1);
    return self;

oom:
    errbuf_set(err, errlen, "spool: out of memory");
fail:
    if (self)
        s_free(self);
    return NULL;
}

void spool_destroy(spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    spool_t *self = *self_p;
    *self_p = NULL;
    (void) spool_sync(self);
    s_free(self);
}

uint64_t spool_stream_id(spool_t *self) { return self ? self->stream_id : 0; }

uint64_t spool_next_seq(spool_t *self) { return self ? self->next_seq : 0; }

uint64_t spool_acked_seq(spool_t *self) { return self ? self->acked_seq : 0; }

uint64_t spool_first_seq(spool_t *self)
{
    if (!self)
        return 0;
    return self->head < self->nrecs ? self->recs[self->head].seq : self->next_seq;
}

size_t spool_count(spool_t *self) { return self ? self->nrecs - self->head : 0; }

size_t spool_file_bytes(spool_t *self) { return self ? (size_t) self->file_bytes : 0; }

uint64_t spool_dropped(spool_t *self) { return self ? self->dropped : 0; }

size_t spool_discarded_bytes(spool_t *self) { return self ? (size_t) self->discarded : 0; }

int spool_append(spool_t *self, uint64_t seq, spool_class_t cls, const uint8_t *data,
                 size_t size, char *err, size_t errlen)
{
    if (!self || self->fd < 0) {
        errbuf_set(err, errlen, "spool: not open");
        return -1;
    }
    if (!data || size == 0) {
        errbuf_set(err, errlen, "spool: empty record (seq %" PRIu64 ")", seq);
        return -1;
    }
    if (!s_class_valid((unsigned) cls)) {
        errbuf_set(err, errlen, "spool: invalid record class %d (seq %" PRIu64 ")", (int) cls, seq);
        return -1;
    }
    if (seq != self->next_seq) {
        errbuf_set(err, errlen, "spool: append of seq %" PRIu64 ", expected %" PRIu64, seq,
              self->next_seq);
        return -1;
    }
    if (seq > SEQ_MAX) {
        errbuf_set(err, errlen, "spool: seq %" PRIu64 " is past the last usable seq", seq);
        return -1;
    }
    if (size > UINT32_MAX || HDR_SIZE + s_rec_bytes((uint32_t) size) > self->max_bytes) {
        errbuf_set(err, errlen, "spool: record of %zu bytes (seq %" PRIu64 ") does not fit in a "
              "spool of %zu bytes", size, seq, self->max_bytes);
        return -1;
    }
    uint32_t len = (uint32_t) size;
    uint64_t need = s_rec_bytes(len);

    if (self->file_bytes + need <= self->max_bytes)
        self->over_warned = false;
    else {
        int rc = s_make_room(self, need, (unsigned) cls, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 1) {           // a metrics record dropped for lack of room
            self->next_seq++;
            return 0;
        }
    }

    uint64_t off = self->file_bytes;
    uint8_t h[REC_SIZE];
    s_rechdr_encode(h, seq, (uint8_t) cls, data, len);
    if (s_pwrite_all(self->fd, h, REC_SIZE, off) != 0
        || s_pwrite_all(self->fd, data, len, off + REC_SIZE) != 0) {
        errbuf_set(err, errlen, "spool: cannot write to %s: %s", self->path, strerror(errno));
        goto undo;
    }
    if (cls == SPOOL_CLASS_EVENT && fdatasync(self->fd) != 0) {
        errbuf_set(err, errlen, "spool: fdatasync %s: %s", self->path, strerror(errno));
        goto undo;
    }
    if (s_index_push(self, seq, off, len, (uint8_t) cls) != 0) {
        errbuf_set(err, errlen, "spool: out of memory");
        goto undo;
    }
    self->file_bytes = off + need;
    self->last_file_seq = seq;
    self->next_seq++;
    self->dirty = cls != SPOOL_CLASS_EVENT;     // an event's fdatasync covered all before it
    return 0;

undo:
    //  Leave no partial record behind; if this fails too, the next append
    //  overwrites it anyway and recovery would cut it.
    if (ftruncate(self->fd, (off_t) off) != 0)
        log_warn("spool: cannot cut a failed append from %s: %s", self->path, strerror(errno));
    return -1;
}

int spool_ack(spool_t *self, uint64_t seq)
{
    if (!self || self->fd < 0)
        return -1;
    if (seq <= self->acked_seq)
        return 0;
    if (seq >= self->next_seq) {
        //  An ack of something never sent: trusting it would mark future
        //  messages as delivered.
        if (log_ratelimit(&self->ack_log_ms, clock_mono_ms(), LOG_PERIOD_MS))
            log_warn("spool: ack of seq %" PRIu64 " beyond the last seq %" PRIu64
                     "; clamped", seq, self->next_seq - 1);
        seq = self->next_seq - 1;
        if (seq <= self->acked_seq)
            return 0;
    }
    self->acked_seq = seq;
    while (self->head < self->nrecs && self->recs[self->head].seq <= seq) {
        self->live_bytes -= s_rec_bytes(self->recs[self->head].len);
        self->head++;
    }
    if (self->head == self->nrecs)
        self->head = self->nrecs = 0;
    return s_maybe_compact(self);
}

int spool_read(spool_t *self, uint64_t from_seq, uint64_t *seq_p, uint8_t **data_p,
               size_t *size_p)
{
    if (data_p)
        *data_p = NULL;
    if (!self || self->fd < 0 || !seq_p || !data_p || !size_p)
        return -1;

    //  First held record with seq >= from_seq (binary search).
    size_t lo = self->head, hi = self->nrecs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->recs[mid].seq < from_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == self->nrecs)
        return 0;

    spool_rec_t rec = self->recs[lo];
    uint64_t total = s_rec_bytes(rec.len);
    uint8_t *buf = malloc((size_t) total);
    if (!buf) {
        log_warn("spool: out of memory reading seq %" PRIu64, rec.seq);
        return -1;
    }
    ssize_t got = s_pread_full(self->fd, buf, (size_t) total, rec.off);
    if (got < 0) {
        log_warn("spool: cannot read seq %" PRIu64 " from %s: %s", rec.seq, self->path,
                 strerror(errno));
        free(buf);
        return -1;
    }
    const char *bad = NULL;
    spool_rechdr_t rh;
    if ((uint64_t) got != total)
        bad = "file too short";
    else {
        s_rechdr_decode(buf, &rh);
        bad = s_rechdr_check(&rh, total, self->max_bytes);
        if (!bad && (rh.seq != rec.seq || rh.len != rec.len || rh.cls != rec.cls))
            bad = "record header differs from the index";
        if (!bad
            && s_crc_update(s_rec_crc_start(rh.seq, rh.cls), buf + REC_SIZE, rh.len) != rh.crc)
            bad = "checksum mismatch";
    }
    if (bad) {
        log_warn("spool: %s: record seq %" PRIu64 " at offset %" PRIu64 " is damaged (%s); "
                 "skipped",
                 self->path, rec.seq, rec.off, bad);
        free(buf);
        s_index_remove(self, lo);
        return -1;
    }
    memmove(buf, buf + REC_SIZE, rec.len);
    *seq_p = rec.seq;
    *data_p = buf;
    *size_p = rec.len;
    return 1;
}

int spool_sync(spool_t *self)
{
    if (!self || self->fd < 0)
        return -1;
    if (s_hdr_stale(self)) {
        if (s_hdr_write(self->fd, self->stream_id, self->acked_seq, self->next_seq) != 0) {
            log_warn("spool: cannot write the header of %s: %s", self->path, strerror(errno));
            return -1;
        }
        self->hdr_acked_seq = self->acked_seq;
        self->hdr_next_seq = self->next_seq;
        self->dirty = true;
    }
    if (!self->dirty)
        return 0;
    if (fdatasync(self->fd) != 0) {
        log_warn("spool: fdatasync %s: %s", self->path, strerror(errno));
        return -1;
    }
    self->dirty = false;
    return 0;
}
