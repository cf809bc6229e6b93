/*
 * ldap-cache.c - the snapshot and delta files of the users-ldap cache
 * (ldap-cache.h).
 *
 * A delta record on disk: "ULd4", the payload's length (32 bits, little
 * endian), the SHA-256 of the payload, the payload (ul_set_delta). The
 * checksum is what tells a record cut short by a crash, or a tail of
 * garbage, from a whole one: a length alone could point into the garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ldap-cache.h"

#define UL_DELTA_MAGIC  "ULd4"
#define UL_DIGEST_BYTES 32
#define UL_HEADER_BYTES (4 + 4 + UL_DIGEST_BYTES)

struct ul_cache {
    char *path;       /* the snapshot */
    char *delta_path; /* its deltas */
    guint compact_percent;
    GMutex lock;  /* guards what follows, and the files */
    ul_set *disk; /* what the files hold together; NULL: unknown, a snapshot is due */
    guint64 generation;
    guint delta_users; /* users written as deltas since the snapshot */
    guint64 sequence;  /* of the last set written */
};

ul_cache *ul_cache_new(const char *dir, guint compact_percent)
{
    ul_cache *cache = g_new0(ul_cache, 1);
    cache->path = g_build_filename(dir, "users.cache", NULL);
    cache->delta_path = g_build_filename(dir, "users.cache.delta", NULL);
    cache->compact_percent = compact_percent;
    g_mutex_init(&cache->lock);
    return cache;
}

void ul_cache_free(ul_cache *cache)
{
    if (cache == NULL)
        return;
    ul_set_unref(cache->disk);
    g_mutex_clear(&cache->lock);
    g_free(cache->path);
    g_free(cache->delta_path);
    g_free(cache);
}

const char *ul_cache_path(const ul_cache *cache)
{
    return cache->path;
}

static void ul_digest(const guint8 *data, gsize size, guint8 out[UL_DIGEST_BYTES])
{
    GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(checksum, data, (gssize)size);
    gsize length = UL_DIGEST_BYTES;
    g_checksum_get_digest(checksum, out, &length);
    g_checksum_free(checksum);
}

/* Applies the delta records of `bytes` to `set` up to the first one that is
 * not whole; returns the length of the part read, `*users` the users applied. */
static gsize ul_read_deltas(ul_cache *cache, ul_set *set, GBytes *bytes, guint *users,
                            void (*warn)(const char *message, void *data), void *data)
{
    gsize size = 0;
    const guint8 *at = g_bytes_get_data(bytes, &size);
    gsize offset = 0;
    guint stale = 0;
    *users = 0;
    while (offset < size) {
        guint32 length = 0;
        if (size - offset < UL_HEADER_BYTES || memcmp(at + offset, UL_DELTA_MAGIC, 4) != 0)
            break;
        memcpy(&length, at + offset + 4, 4);
        length = GUINT32_FROM_LE(length);
        if (length > size - offset - UL_HEADER_BYTES)
            break;
        guint8 digest[UL_DIGEST_BYTES];
        ul_digest(at + offset + UL_HEADER_BYTES, length, digest);
        if (memcmp(digest, at + offset + 8, UL_DIGEST_BYTES) != 0)
            break;
        GBytes *record = g_bytes_new_from_bytes(bytes, offset + UL_HEADER_BYTES, length);
        GError *error = NULL;
        guint applied = 0;
        gboolean old = FALSE;
        gboolean ok = ul_set_apply_delta(set, record, cache->generation, &applied, &old, &error);
        g_bytes_unref(record);
        if (!ok && !old) {
            char *message = g_strdup_printf("%s: a delta record at byte %zu: %s: it and the rest "
                                            "are ignored",
                                            cache->delta_path, offset, error->message);
            warn(message, data);
            g_free(message);
            g_error_free(error);
            return offset;
        }
        stale += old ? 1 : 0;
        *users += applied;
        offset += UL_HEADER_BYTES + length;
    }
    if (offset < size) {
        char *message = g_strdup_printf(
            "%s: the last %zu bytes are not a whole delta record (cut short by a crash while "
            "written?): ignored; the cache is the snapshot and the deltas before them",
            cache->delta_path, size - offset);
        warn(message, data);
        g_free(message);
    }
    if (stale > 0) {
        char *message = g_strdup_printf("%s: %u delta records of an older snapshot skipped",
                                        cache->delta_path, stale);
        warn(message, data);
        g_free(message);
    }
    return offset;
}

ul_set *ul_cache_load(ul_cache *cache, void (*warn)(const char *message, void *data), void *data,
                      GError **error)
{
    char *contents = NULL;
    gsize size = 0;
    if (!g_file_get_contents(cache->path, &contents, &size, error))
        return NULL;
    GBytes *bytes = g_bytes_new_take(contents, size);
    guint64 generation = 0;
    GError *inner = NULL;
    ul_set *set = ul_set_from_snapshot(bytes, &generation, &inner);
    g_bytes_unref(bytes);
    if (set == NULL) {
        g_set_error(error, inner->domain, inner->code, "%s: %s", cache->path, inner->message);
        g_error_free(inner);
        return NULL;
    }
    g_mutex_lock(&cache->lock);
    cache->generation = generation;
    cache->delta_users = 0;
    cache->disk = ul_set_ref(set);
    if (g_file_get_contents(cache->delta_path, &contents, &size, NULL)) {
        bytes = g_bytes_new_take(contents, size);
        gsize good = ul_read_deltas(cache, set, bytes, &cache->delta_users, warn, data);
        g_bytes_unref(bytes);
        /* Later records are appended after the good part, never after the
         * garbage (which would hide them at the next load). */
        if (good < size && truncate(cache->delta_path, (off_t)good) != 0)
            g_clear_pointer(&cache->disk, ul_set_unref); /* a snapshot next */
    }
    g_mutex_unlock(&cache->lock);
    return set;
}

/* Appends one framed record and syncs it to disk. */
static gboolean ul_append(const char *path, GBytes *payload, GError **error)
{
    gsize length = 0;
    const guint8 *data = g_bytes_get_data(payload, &length);
    GByteArray *record = g_byte_array_sized_new((guint)(UL_HEADER_BYTES + length));
    guint32 le = GUINT32_TO_LE((guint32)length);
    guint8 digest[UL_DIGEST_BYTES];
    ul_digest(data, length, digest);
    g_byte_array_append(record, (const guint8 *)UL_DELTA_MAGIC, 4);
    g_byte_array_append(record, (const guint8 *)&le, 4);
    g_byte_array_append(record, digest, UL_DIGEST_BYTES);
    g_byte_array_append(record, data, (guint)length);
    int fd = g_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    gboolean ok = fd >= 0;
    for (gsize done = 0; ok && done < record->len;) {
        ssize_t n = write(fd, record->data + done, record->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += ok ? (gsize)n : 0;
    }
    ok = ok && fdatasync(fd) == 0;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
                    g_strerror(saved));
    g_byte_array_unref(record);
    return ok;
}

ul_cache_write_kind ul_cache_write(ul_cache *cache, ul_set *set, gboolean full, guint64 sequence,
                                   guint *users_written, GError **error)
{
    *users_written = 0;
    g_mutex_lock(&cache->lock);
    if (sequence <= cache->sequence) {
        g_mutex_unlock(&cache->lock);
        return UL_CACHE_SKIPPED;
    }
    ul_cache_write_kind kind = UL_CACHE_FAILED;
    GError *why = NULL;
    guint changed = 0;
    GBytes *delta = !full && cache->disk != NULL
                        ? ul_set_delta(cache->disk, set, cache->generation, &changed)
                        : NULL;
    /* Past the share, loading (and the file) would grow with every sync:
     * one snapshot folds the deltas in. */
    guint64 limit = (guint64)ul_set_user_count(set) * cache->compact_percent;
    if (delta != NULL && (guint64)(cache->delta_users + changed) * 100u <= limit) {
        /* A failed append may leave half a record: the snapshot below makes
         * it one of an older generation. */
        if (ul_append(cache->delta_path, delta, &why)) {
            kind = UL_CACHE_DELTA;
            cache->delta_users += changed;
            *users_written = changed;
        }
    }
    if (delta != NULL)
        g_bytes_unref(delta);
    if (kind == UL_CACHE_FAILED) {
        guint64 generation = ((guint64)g_random_int() << 32) | g_random_int();
        GBytes *snapshot = ul_set_snapshot(set, generation);
        gsize size = 0;
        const char *data = g_bytes_get_data(snapshot, &size);
        g_clear_error(&why);
        if (g_file_set_contents_full(cache->path, data, (gssize)size,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &why)) {
            /* A delta file left behind (unlink failed) holds records of the
             * old generation: skipped at load. */
            g_unlink(cache->delta_path);
            kind = UL_CACHE_SNAPSHOT;
            cache->generation = generation;
            cache->delta_users = 0;
            *users_written = ul_set_user_count(set);
        }
        g_bytes_unref(snapshot);
    }
    if (kind != UL_CACHE_FAILED) {
        ul_set_unref(cache->disk);
        cache->disk = ul_set_ref(set);
        cache->sequence = sequence;
        g_clear_error(&why);
    } else {
        g_clear_pointer(&cache->disk, ul_set_unref); /* unknown: a snapshot next */
        g_propagate_error(error, why);
    }
    g_mutex_unlock(&cache->lock);
    return kind;
}
