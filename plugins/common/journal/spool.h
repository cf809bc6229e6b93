/*
 * spool.h - an append-only durable queue of byte strings in a directory: what
 * a store keeps while its database cannot take records, so that a record it
 * acknowledged survives a crash, a SIGKILL or a power cut.
 *
 * Layout: DIR/SEQ.seg segment files (16 hex digits, appended to in order, a
 * new one after `segment_bytes`) and DIR/cursor, the read position. A frame
 * is: magic "UcSp", payload length (4 bytes, little endian), CRC-32 of the
 * length bytes and the payload (4 bytes, little endian), the payload.
 *
 * Durability: spool_append() writes a whole batch and fdatasync()s it before
 * it returns success; only then may the caller acknowledge the batch.
 * spool_consume() persists the cursor (temporary file, fdatasync, rename),
 * so that what was replayed is not replayed again after a restart (if it
 * is, because the crash came between the database commit and the cursor,
 * the records' unique keys make that harmless), and removes segments that
 * were read to their end.
 *
 * Damage, as found by spool_open() and the reads:
 *   - a torn tail (a frame cut short or garbled at the very end of the last
 *     segment: the process died mid-write, before the fdatasync, so the
 *     batch was never acknowledged) is cut off and logged: never a reason
 *     not to start;
 *   - a damaged frame followed by valid ones (a bad sector, a stray write)
 *     is skipped: the reader looks for the next position where a whole
 *     frame checks out and logs how many bytes it lost. Why skip and not
 *     stop: the frames after the damage are acknowledged records like any
 *     other; stopping would withhold all of them (forever, if nobody
 *     intervenes) to protect one that is already gone.
 *
 * Not thread-safe: one thread at a time uses a spool.
 */
#ifndef UCD_SPOOL_H
#define UCD_SPOOL_H

#include <stdint.h>

#include <glib.h>

typedef struct spool spool;

/* Receives the spool's notices (damage found, segments removed): `level`
 * is a syslog level (ucd_log_level). */
typedef void (*spool_log_fn)(void *data, int level, const char *message);

typedef struct spool_options {
    uint64_t segment_bytes; /* start a new segment beyond this size; 0 = 16 MiB */
    spool_log_fn log;       /* may be NULL */
    void *log_data;
} spool_options;

/* Opens (creating it, mode 0700) the spool in `dir`: reads the cursor,
 * removes segments before it, checks every frame after it (cutting a torn
 * tail, counting damaged bytes) and counts them. NULL with `*error` set
 * (g_free it) when the directory cannot be made or read. */
spool *spool_open(const char *dir, const spool_options *options, char **error);
void spool_close(spool *s);

/* Appends `count` payloads as frames and makes them durable (fdatasync);
 * all or nothing: on failure the segment is cut back and -1 returned with
 * `*error` set. Returns 0. */
int spool_append(spool *s, GBytes *const *payloads, unsigned count, char **error);

/* Reads up to `max` payloads from the cursor on, without moving it, into
 * `out` (GBytes *, the caller unrefs; give the array a free function).
 * Returns how many, or -1 with `*error` set. */
int spool_read(spool *s, unsigned max, GPtrArray *out, char **error);

/* Moves the cursor past the first `count` payloads of the last spool_read()
 * and makes that durable. Returns 0, or -1 with `*error` set (the cursor
 * then stays where it was on disk). */
int spool_consume(spool *s, unsigned count, char **error);

/* Frames after the cursor. */
uint64_t spool_depth(const spool *s);
/* Bytes lost to damage since spool_open (0 when none). */
uint64_t spool_damaged_bytes(const spool *s);

/* The CRC-32 (IEEE 802.3, reflected, as zlib computes it) of `length`
 * bytes, continuing from `crc` (0 to start). Exposed for tests. */
uint32_t spool_crc32(uint32_t crc, const void *data, size_t length);

#endif /* UCD_SPOOL_H */
