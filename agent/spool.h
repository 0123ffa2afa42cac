/*  spool — the agent's at-least-once store of messages not yet acked.

    Every sequenced message is appended here (an encoded Envelope) before it is
    sent, and stays until the collector acks its seq. The index lives in memory;
    the payloads live in one file, DIR/spool.dat, bounded by max_bytes.

    File format (all integers little-endian):
      header (64 bytes): "FERRYSP1", u32 format version (1), u32 header crc32,
                         u64 stream_id, u64 acked_seq, u64 next_seq, 24 bytes zero.
                         The crc covers the 64 bytes with the crc field zeroed.
      record:            u32 magic 0x31525346 ("FSR1"), u32 payload length,
                         u64 seq, u8 class, 3 bytes zero, u32 crc32 of
                         (seq, class, payload), payload.
    A record that fails any check (magic, length bound, crc, seq not increasing)
    and everything after it is a torn or damaged tail: it is cut off with a
    warning, the records before it are kept.

    Policy when full: acked records are compacted away first; then the oldest
    metrics are dropped (and counted); events and other classes are never
    dropped — they may push the file past max_bytes, with a warning. */
#ifndef FERRY_SPOOL_H
#define FERRY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_DEFAULT_MAX_BYTES (16u << 20)

typedef enum {
    SPOOL_CLASS_METRICS = 1,   // may be dropped, oldest first, when the spool is full
    SPOOL_CLASS_EVENT = 2,     // never dropped
    SPOOL_CLASS_OTHER = 3      // facts, job updates: never dropped
} spool_class_t;

typedef struct _spool_t spool_t;

//  Open or create DIR/spool.dat (DIR must exist). Recovers what a previous run
//  left; a damaged tail is cut with a log_warn. A new file gets a random
//  stream_id. Returns NULL with a readable message in err on failure.
spool_t *spool_open(const char *dir, size_t max_bytes, char *err, size_t errlen);

//  Flush, close and free; NULLs *self_p; safe on NULL and twice.
void spool_destroy(spool_t **self_p);

//  Random id of this spool's sequence stream (changes only when the file is new).
uint64_t spool_stream_id(spool_t *self);

//  The seq the next append must use (1 for a new spool).
uint64_t spool_next_seq(spool_t *self);

//  Highest acked seq (0 = none).
uint64_t spool_acked_seq(spool_t *self);

//  Lowest seq still held (unacked, not dropped), or spool_next_seq() when empty.
uint64_t spool_first_seq(spool_t *self);

//  Number of records held (unacked, not dropped).
size_t spool_count(spool_t *self);

//  Current size of the file in bytes.
size_t spool_file_bytes(spool_t *self);

//  Metrics dropped because the spool was full, since open.
uint64_t spool_dropped(spool_t *self);

//  Bytes of damaged tail discarded at open (0 when the file was clean).
size_t spool_discarded_bytes(spool_t *self);

//  Append one encoded Envelope (data borrowed, copied to the file). seq must be
//  spool_next_seq(); next_seq then advances. Events are synced to disk at once;
//  other classes at the next spool_sync(). Returns 0, or -1 with a message in
//  err (I/O error, wrong seq, payload larger than max_bytes).
int spool_append(spool_t *self, uint64_t seq, spool_class_t cls, const uint8_t *data,
                 size_t size, char *err, size_t errlen);

//  Everything <= seq is acked and may be forgotten. Returns 0 / -1 (I/O error).
int spool_ack(spool_t *self, uint64_t seq);

//  Find the first held record with seq >= from_seq. Returns 1 and a malloc'd
//  copy of the payload in *data_p (caller frees), its size and seq; 0 when
//  there is none; -1 on I/O error or a checksum mismatch (record then skipped).
int spool_read(spool_t *self, uint64_t from_seq, uint64_t *seq_p, uint8_t **data_p,
               size_t *size_p);

//  fsync the file if anything was written since the last sync. 0 / -1.
int spool_sync(spool_t *self);

#endif
