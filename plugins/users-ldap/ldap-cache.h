/*
 * ldap-cache.h - the state-directory cache of the last good set: a snapshot
 * (users.cache) and an append-only file of deltas (users.cache.delta).
 *
 * A full sync writes a snapshot. An incremental sync appends one delta
 * record of the users and groups it changed, so its write costs in
 * proportion to the changes, not to the set; when the users written as
 * deltas since the snapshot pass a share of the set (`compact_percent`), the
 * next write is a snapshot again. Loading reads the snapshot and applies its
 * deltas in order. A record cut short by a crash (or not matching its
 * checksum) ends the deltas read: it and anything after it are ignored with
 * a warning and cut off the file, so the cache falls back to the last whole
 * record, never to nothing. Records of an older snapshot (a compaction that
 * could not remove the old deltas) are skipped.
 *
 * Writes are serialized by the cache's own lock, and one older than the last
 * written (work items may run out of order) is dropped.
 */
#ifndef USERS_LDAP_CACHE_H
#define USERS_LDAP_CACHE_H

#include <glib.h>

#include "ldap-set.h"

typedef struct ul_cache ul_cache;

/* What a write did, for the debug log and the tests. */
typedef enum ul_cache_write_kind {
    UL_CACHE_SKIPPED,  /* an older set than the one written last */
    UL_CACHE_DELTA,    /* a delta record appended */
    UL_CACHE_SNAPSHOT, /* the whole set written, the deltas removed */
    UL_CACHE_FAILED,   /* nothing written (`*error`); the next write is a snapshot */
} ul_cache_write_kind;

/* A cache in `dir` (users.cache and users.cache.delta); deltas up to
 * `compact_percent` of the set's users between two snapshots. */
ul_cache *ul_cache_new(const char *dir, guint compact_percent);
void ul_cache_free(ul_cache *cache);
const char *ul_cache_path(const ul_cache *cache);

/* Loads the snapshot and its deltas; NULL with `*error` when there is no
 * usable snapshot (G_FILE_ERROR_NOENT: none at all). A torn or unreadable
 * delta is not an error: `warn` is told, the set is the snapshot plus the
 * deltas before it. The set loaded is what the next write compares with. */
ul_set *ul_cache_load(ul_cache *cache, void (*warn)(const char *message, void *data), void *data,
                      GError **error);

/* Writes `set`: a snapshot when `full` (or when no delta can say it), else a
 * delta from the set written last. `sequence` orders the writes (grows with
 * each set installed). Any thread; blocking file I/O. */
ul_cache_write_kind ul_cache_write(ul_cache *cache, ul_set *set, gboolean full, guint64 sequence,
                                   guint *users_written, GError **error);

#endif /* USERS_LDAP_CACHE_H */
