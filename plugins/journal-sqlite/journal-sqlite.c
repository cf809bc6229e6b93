/*
 * journal-sqlite.c - the default journal store: finished conversations into a
 * local SQLite file (service "journal" major 1).
 *
 * store() copies the record into a bounded in-memory queue and returns. One
 * writer thread of the plugin's own drains the queue: it opens (or migrates)
 * the file, inserts records with prepared statements into a transaction that
 * it commits when `batch_size` rows are in it or `commit_interval` has passed
 * since it began, whichever comes first, and runs retention in small batches
 * between transactions.
 *
 * Why a thread of its own and not host work items: the writer holds one
 * connection and its prepared statements for its whole life, and its work is
 * strictly sequential (a transaction spans many store() calls). Work items
 * would have to be serialized by hand, would hand the connection between pool
 * threads, and would keep one of the core's few pool threads busy with
 * waiting for the next commit; a journal under load would slow every other
 * plugin's blocking work. A dedicated thread costs one stack.
 *
 * Failures: a write that fails (disk full, the max_size_mb cap, a read-only or
 * vanished file, an unopenable path) rolls back, puts the batch back at the
 * head of the queue, closes the connection and retries with a growing delay
 * (flush() retries at once). The records wait in memory up to `max_pending`;
 * beyond that store() refuses, logging the uuid. On stop, whatever could not be
 * written is saved to a spool file in the module's state directory and read
 * back at the next start, so a reload (e.g. raising max_size_mb) loses nothing.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <ucd/ucd.h>

#include "jsql-db.h"
#include "jrec.h"

#define RETRY_MIN_MS       250   /* first retry after a failed write */
#define RETRY_MAX_MS       10000 /* retries slow down to this */
#define REMINDER_MS        60000 /* while failing, an error line this often */
#define RETENTION_EVERY_MS 600000
#define RETENTION_BATCH    500 /* rows per retention transaction: short, inserts go on */
#define TAKE_CHUNK         512 /* records moved from the queue per lock */
/* number_recent rows that trigger a merge into the number index (jsql-db.c):
 * large enough that a merge's one pass over the index is rare, small enough
 * that a query's scan of number_recent stays around a millisecond. */
#define MERGE_ROWS     200000
#define MERGE_EVERY_MS 600000 /* and when idle, this often */

typedef struct journal {
    ucd_plugin *self;
    const ucd_host *host;
    char *path;
    char *spool_path;
    jsql_options options;
    jrec_privacy privacy;
    int64_t max_pending, commit_interval_ms, batch_size, retention_days;

    GMutex lock; /* guards everything below */
    GCond wake;  /* the writer waits on it for records, flushes, stop */
    GCond idle;  /* flush() waits on it for an empty queue */
    GQueue queue;
    GPtrArray *batch; /* records in the open transaction, in order */
    GThread *writer;
    gboolean running;
    gboolean writer_waiting;
    int flush_waiters;
    gboolean healthy;
    gboolean spool_pending; /* the spool file still holds records not yet committed */
    char *failure;          /* the last write error while unhealthy */
    int64_t failing_since_ms;
    uint64_t stored, failed_writes, rejected;
    char detail[512];

    ucd_counter *stored_counter, *pending_counter, *failed_counter, *rejected_counter;
} journal;

static const ucd_config_key journal_keys[] = {
    {"database", UCD_CONFIG_STRING, 0, NULL,
     "the SQLite file; default STATE_DIR/MODULE_ID/journal.sqlite"},
    {"private_numbers", UCD_CONFIG_STRING, 0, "mask",
     "remote number of a private call: keep, mask (last 4 digits x) or drop"},
    {"max_pending", UCD_CONFIG_INT, 0, "100000",
     "records kept in memory while the database is slow or failing"},
    {"commit_interval", UCD_CONFIG_DURATION, 0, "100ms", "commit at least this often"},
    {"batch_size", UCD_CONFIG_INT, 0, "10000", "commit at the latest after this many records"},
    {"cache_size", UCD_CONFIG_INT, 0, "64", "SQLite page cache of the writer, MiB"},
    {"retention_days", UCD_CONFIG_INT, 0, "0",
     "delete conversations older than this many days; 0 keeps them forever"},
    {"max_size_mb", UCD_CONFIG_INT, 0, "0", "cap on the database file in MiB; 0 = no cap"},
    {NULL, 0, 0, NULL, NULL},
};

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

static uint64_t pending_locked(const journal *j)
{
    return j->queue.length + j->batch->len;
}

/* ---- health: one loud line per change, a reminder while failing ---- */

static void become_failing_locked(journal *j, const char *why)
{
    j->failed_writes++;
    j->host->counter_add(j->failed_counter, 1);
    if (j->healthy || j->failure == NULL || strcmp(j->failure, why) != 0) {
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal %s is failing: %s; %" PRIu64
                     " record(s) wait in memory (at most %" PRId64 "), retrying",
                     j->path, why, pending_locked(j), j->max_pending);
        if (j->healthy || j->failure == NULL)
            j->failing_since_ms = now_ms();
    }
    j->healthy = FALSE;
    g_free(j->failure);
    j->failure = g_strdup(why);
}

static void become_healthy_locked(journal *j)
{
    if (!j->healthy && j->failure != NULL)
        j->host->log(j->self, UCD_LOG_NOTICE,
                     "journal %s writes again after %" PRId64 " s; %" PRIu64
                     " record(s) still waiting",
                     j->path, (now_ms() - j->failing_since_ms) / 1000, pending_locked(j));
    j->healthy = TRUE;
    g_clear_pointer(&j->failure, g_free);
}

static void remind_locked(journal *j, int64_t *next_reminder)
{
    int64_t now = now_ms();
    if (j->healthy || now < *next_reminder)
        return;
    if (*next_reminder != 0)
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal %s still failing (%s): %" PRIu64 " record(s) waiting in memory",
                     j->path, j->failure ? j->failure : "?", pending_locked(j));
    *next_reminder = now + REMINDER_MS;
}

/* ---- the writer thread ---- */

/* Waits on `wake` until `deadline_ms` (wall clock) or a signal. */
static void wait_until_locked(journal *j, int64_t deadline_ms)
{
    int64_t left_ms = deadline_ms - now_ms();
    if (left_ms <= 0)
        return;
    j->writer_waiting = TRUE;
    g_cond_wait_until(&j->wake, &j->lock, g_get_monotonic_time() + left_ms * 1000);
    j->writer_waiting = FALSE;
}

/* Moves up to TAKE_CHUNK queued records into the batch; returns how many. */
static guint take_locked(journal *j)
{
    guint taken = 0;
    while (taken < TAKE_CHUNK && j->batch->len < (guint)j->batch_size && j->queue.length > 0) {
        g_ptr_array_add(j->batch, g_queue_pop_head(&j->queue));
        taken++;
    }
    return taken;
}

/* One transaction: inserts records as they arrive until batch_size of them
 * are in it or commit_interval has passed since it began (or a flush or stop
 * wants it now), then commits. Called with the lock held and at least one
 * record queued; returns with the lock held. */
static int write_batch_locked(journal *j, jsql_db *db, char **error)
{
    int64_t deadline = now_ms() + j->commit_interval_ms;
    g_mutex_unlock(&j->lock);
    int rc = jsql_begin(db, error);
    g_mutex_lock(&j->lock);
    while (rc == SQLITE_OK) {
        while (j->queue.length == 0 && j->running && j->flush_waiters == 0 && now_ms() < deadline)
            wait_until_locked(j, deadline);
        guint first = j->batch->len;
        guint taken = take_locked(j);
        if (taken == 0)
            break;
        g_mutex_unlock(&j->lock);
        for (guint i = first; i < first + taken && rc == SQLITE_OK; i++)
            rc = jsql_insert(db, &((jrec_record *)g_ptr_array_index(j->batch, i))->rec, error);
        g_mutex_lock(&j->lock);
        if (j->batch->len >= (guint)j->batch_size || now_ms() >= deadline)
            break;
    }
    g_mutex_unlock(&j->lock);
    if (rc == SQLITE_OK)
        rc = jsql_commit(db, error);
    if (rc != SQLITE_OK)
        jsql_rollback(db);
    g_mutex_lock(&j->lock);
    return rc;
}

/* The durability trail (README.md, "Durability"): one debug line per record
 * right after it became durable, "durable UUID database|spool". */
static void log_durable(journal *j, jrec_record *const *records, guint count, const char *where)
{
    if (!j->host->log_enabled(j->self, UCD_LOG_DEBUG))
        return;
    for (guint i = 0; i < count; i++)
        j->host->log(j->self, UCD_LOG_DEBUG, "durable %s %s", records[i]->rec.uuid, where);
}

/* After a commit: the batch is durable. */
static void batch_done_locked(journal *j)
{
    log_durable(j, (jrec_record *const *)j->batch->pdata, j->batch->len, "database");
    j->stored += j->batch->len;
    j->host->counter_add(j->stored_counter, (int64_t)j->batch->len);
    g_ptr_array_set_size(j->batch, 0); /* frees the records */
    become_healthy_locked(j);
    if (j->queue.length == 0) {
        if (j->spool_pending && g_unlink(j->spool_path) == 0)
            j->host->log(j->self, UCD_LOG_INFO, "spooled records written; removed %s",
                         j->spool_path);
        j->spool_pending = FALSE;
        g_cond_broadcast(&j->idle);
    }
}

/* After a failed transaction: the batch goes back to the head of the queue,
 * in order, and waits for the next attempt. */
static void batch_failed_locked(journal *j, const char *why)
{
    for (guint i = j->batch->len; i > 0; i--)
        g_queue_push_head(&j->queue, g_ptr_array_steal_index(j->batch, i - 1));
    become_failing_locked(j, why);
}

static void expire_old(journal *j, jsql_db *db, int64_t *next_retention)
{
    if (j->retention_days <= 0 || now_ms() < *next_retention)
        return;
    int deleted = 0;
    char *error = NULL;
    int rc =
        jsql_expire(db, now_ms() - j->retention_days * 86400000, RETENTION_BATCH, &deleted, &error);
    if (rc != SQLITE_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "retention: %s", error);
    else if (deleted > 0)
        j->host->log(j->self, UCD_LOG_DEBUG, "retention: deleted %d conversation(s)", deleted);
    g_free(error);
    /* A full batch means more are due: come back right after the next commit. */
    *next_retention = now_ms() + (deleted == RETENTION_BATCH ? 0 : RETENTION_EVERY_MS);
}

/* Runs outside the lock. A failed merge loses nothing: the rows stay in
 * number_recent, where queries find them too. */
static void merge_numbers(journal *j, jsql_db *db, int64_t *next_merge)
{
    char *error = NULL;
    if (jsql_merge_numbers(db, &error) != SQLITE_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "number index merge: %s", error);
    g_free(error);
    *next_merge = now_ms() + MERGE_EVERY_MS;
}

static jsql_db *open_locked(journal *j, int64_t *retry_delay)
{
    jsql_db *db = NULL;
    char *error = NULL;
    g_mutex_unlock(&j->lock);
    int rc = jsql_open(j->path, &j->options, &db, &error);
    g_mutex_lock(&j->lock);
    if (rc == SQLITE_OK) {
        j->host->log(j->self, UCD_LOG_INFO, "journal %s open (schema version %d)", j->path,
                     JSQL_SCHEMA_VERSION);
        /* Healthy only once a commit succeeds: a full database opens fine. */
        if (pending_locked(j) == 0) {
            become_healthy_locked(j);
            *retry_delay = RETRY_MIN_MS;
        }
    } else {
        become_failing_locked(j, error);
    }
    g_free(error);
    return db;
}

static gpointer writer_main(gpointer data)
{
    journal *j = data;
    jsql_db *db = NULL;
    int64_t retry_at = 0, retry_delay = RETRY_MIN_MS, next_retention = 0, next_reminder = 0;
    int64_t next_merge = now_ms() + MERGE_EVERY_MS;
    g_mutex_lock(&j->lock);
    for (;;) {
        remind_locked(j, &next_reminder);
        if (db == NULL) {
            while (j->running && j->flush_waiters == 0 && now_ms() < retry_at)
                wait_until_locked(j, retry_at);
            gboolean last_try = !j->running;
            db = open_locked(j, &retry_delay);
            if (db == NULL) {
                retry_at = now_ms() + retry_delay;
                retry_delay = MIN(retry_delay * 2, RETRY_MAX_MS);
                if (last_try)
                    break;
                continue;
            }
        }
        if (j->queue.length == 0) {
            if (!j->running)
                break;
            g_mutex_unlock(&j->lock);
            expire_old(j, db, &next_retention);
            if (jsql_recent_numbers(db) > 0 && now_ms() >= next_merge)
                merge_numbers(j, db, &next_merge);
            g_mutex_lock(&j->lock);
            int64_t wake_at = j->retention_days > 0 ? next_retention : now_ms() + REMINDER_MS;
            if (j->queue.length == 0 && j->running)
                wait_until_locked(j, MIN(wake_at, now_ms() + REMINDER_MS));
            continue;
        }
        char *error = NULL;
        int rc = write_batch_locked(j, db, &error);
        j->host->counter_set(j->pending_counter, (int64_t)pending_locked(j));
        if (rc == SQLITE_OK) {
            batch_done_locked(j);
            retry_delay = RETRY_MIN_MS;
            if (jsql_recent_numbers(db) >= MERGE_ROWS) {
                g_mutex_unlock(&j->lock);
                merge_numbers(j, db, &next_merge);
                g_mutex_lock(&j->lock);
            }
        } else {
            gboolean last_try = !j->running;
            batch_failed_locked(j, error);
            g_mutex_unlock(&j->lock);
            jsql_close(db); /* reopened on retry: the file may have changed meanwhile */
            g_mutex_lock(&j->lock);
            db = NULL;
            retry_at = now_ms() + retry_delay;
            retry_delay = MIN(retry_delay * 2, RETRY_MAX_MS);
            if (last_try)
                g_cond_broadcast(&j->idle);
        }
        g_free(error);
        if (!j->running && (db == NULL || j->queue.length == 0))
            break;
    }
    j->host->counter_set(j->pending_counter, (int64_t)pending_locked(j));
    g_cond_broadcast(&j->idle);
    g_mutex_unlock(&j->lock);
    jsql_close(db);
    return NULL;
}

/* ---- the journal interface ---- */

/* The record's copy, cleaned by the sanitizer (jrec.h; "Bad input" in
 * README.md), or NULL when it cannot be stored: refused records are logged
 * with their uuid and reason and counted as rejected, never dropped
 * silently. */
static jrec_record *sanitized_copy(journal *j, const ucd_journal_record *record)
{
    GString *problems = g_string_new(NULL);
    jrec_record *copy = jrec_copy(record, j->privacy, now_ms(), problems);
    if (copy != NULL && copy->rejected) {
        j->host->log(j->self, UCD_LOG_WARNING, "conversation %s NOT stored: %s", copy->rec.uuid,
                     problems->str);
        j->host->counter_add(j->rejected_counter, 1);
        g_mutex_lock(&j->lock);
        j->rejected++;
        g_mutex_unlock(&j->lock);
        g_clear_pointer(&copy, jrec_free);
    } else if (copy != NULL && problems->len > 0) {
        j->host->log(j->self, UCD_LOG_WARNING, "conversation %s stored sanitized: %s",
                     copy->rec.uuid, problems->str);
    }
    g_string_free(problems, TRUE);
    return copy;
}

static int journal_store(void *impl, const ucd_journal_record *record)
{
    journal *j = impl;
    if (record == NULL)
        return UCD_E_INVALID;
    g_mutex_lock(&j->lock);
    uint64_t pending = pending_locked(j);
    if (pending >= (uint64_t)j->max_pending) {
        j->rejected++;
        g_mutex_unlock(&j->lock);
        j->host->counter_add(j->rejected_counter, 1);
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal queue full (%" PRIu64 " records waiting, max_pending): conversation "
                     "%s NOT stored",
                     pending, record->uuid ? record->uuid : "(no uuid)");
        return UCD_E_BUSY;
    }
    g_mutex_unlock(&j->lock);

    /* Copy outside the lock: the writer keeps going meanwhile. */
    jrec_record *copy = sanitized_copy(j, record);
    if (copy == NULL)
        return UCD_E_INVALID;
    g_mutex_lock(&j->lock);
    g_queue_push_tail(&j->queue, copy);
    /* Here too, not only after a write: while the database cannot even be
     * opened there is no write, and the admin must see the records wait. */
    j->host->counter_set(j->pending_counter, (int64_t)pending_locked(j));
    if (j->writer_waiting)
        g_cond_signal(&j->wake);
    g_mutex_unlock(&j->lock);
    return UCD_OK;
}

static int journal_query(void *impl, const ucd_journal_query *query, ucd_journal_record_cb cb,
                         void *user_data, char *next_cursor, size_t next_cursor_size)
{
    journal *j = impl;
    if (query == NULL || cb == NULL)
        return UCD_E_INVALID;
    char *error = NULL;
    int rc = jsql_query(j->path, query, cb, user_data, next_cursor, next_cursor_size, &error);
    if (rc != UCD_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "query on %s: %s", j->path, error);
    g_free(error);
    return rc;
}

static int64_t oldest_pending_locked(const journal *j)
{
    int64_t oldest = 0;
    for (guint i = 0; i < j->batch->len; i++) {
        int64_t s = ((jrec_record *)g_ptr_array_index(j->batch, i))->rec.start_ms;
        oldest = oldest == 0 || s < oldest ? s : oldest;
    }
    /* The queue is in store order; its head is a good stand-in for the oldest. */
    if (j->queue.length > 0) {
        int64_t s = ((jrec_record *)j->queue.head->data)->rec.start_ms;
        oldest = oldest == 0 || s < oldest ? s : oldest;
    }
    return oldest;
}

static int journal_status(void *impl, ucd_journal_status *status)
{
    journal *j = impl;
    if (status == NULL || status->struct_size == 0)
        return UCD_E_INVALID;
    ucd_journal_status s = {.struct_size = sizeof(s)};
    g_mutex_lock(&j->lock);
    s.healthy = j->healthy;
    s.stored = j->stored;
    s.pending = pending_locked(j);
    s.oldest_pending_ms = oldest_pending_locked(j);
    if (j->healthy)
        g_snprintf(j->detail, sizeof(j->detail), "writing to %s", j->path);
    else
        g_snprintf(j->detail, sizeof(j->detail), "waiting in memory: %s",
                   j->failure ? j->failure : "database not open yet");
    s.detail = j->detail;
    g_mutex_unlock(&j->lock);
    uint32_t size = status->struct_size < sizeof(s) ? status->struct_size : sizeof(s);
    memcpy(status, &s, size);
    status->struct_size = size;
    return UCD_OK;
}

static int journal_flush(void *impl, uint32_t timeout_ms)
{
    journal *j = impl;
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    g_mutex_lock(&j->lock);
    j->flush_waiters++;
    g_cond_signal(&j->wake); /* also: retry a failing database now */
    while (pending_locked(j) > 0 && j->writer != NULL &&
           g_cond_wait_until(&j->idle, &j->lock, deadline))
        ;
    j->flush_waiters--;
    int rc = pending_locked(j) == 0 ? UCD_OK : j->healthy ? UCD_E_BUSY : UCD_E_UNAVAILABLE;
    g_mutex_unlock(&j->lock);
    return rc;
}

static const ucd_journal_v1 journal_iface = {
    .struct_size = sizeof(ucd_journal_v1),
    .store = journal_store,
    .query = journal_query,
    .status = journal_status,
    .flush = journal_flush,
};

/* ---- configuration and life cycle ---- */

static int read_int(journal *j, const char *key, int64_t min, int64_t *value)
{
    if (j->host->config_int(j->self, key, value) != UCD_OK)
        return j->host->config_error(j->self, key, "cannot be read");
    if (*value < min)
        return j->host->config_error(j->self, key, "must be at least %" PRId64, min);
    return UCD_OK;
}

static int read_config(journal *j)
{
    const char *database = NULL, *privacy = NULL;
    int64_t cache = 0, max_size = 0;
    if (read_int(j, "max_pending", 1, &j->max_pending) != UCD_OK ||
        read_int(j, "commit_interval", 1, &j->commit_interval_ms) != UCD_OK ||
        read_int(j, "batch_size", 1, &j->batch_size) != UCD_OK ||
        read_int(j, "cache_size", 1, &cache) != UCD_OK ||
        read_int(j, "retention_days", 0, &j->retention_days) != UCD_OK ||
        read_int(j, "max_size_mb", 0, &max_size) != UCD_OK)
        return UCD_FAIL;
    j->options.cache_mb = cache;
    j->options.max_size_mb = max_size;
    j->host->config_string(j->self, "private_numbers", &privacy);
    int p = jrec_privacy_parse(privacy);
    if (p < 0)
        return j->host->config_error(j->self, "private_numbers", "must be keep, mask or drop");
    j->privacy = (jrec_privacy)p;
    const char *state_dir = j->host->state_dir(j->self);
    if (j->host->config_string(j->self, "database", &database) == UCD_OK && database != NULL &&
        database[0] != '\0')
        j->path = g_strdup(database);
    else
        j->path = g_build_filename(state_dir, "journal.sqlite", NULL);
    j->spool_path = g_build_filename(state_dir, "journal.spool", NULL);
    return UCD_OK;
}

/* Refuses, before anything runs, a file this plugin must never write to. A
 * file that cannot be opened yet is not refused: the writer retries. */
static int check_existing_file(journal *j)
{
    int version = 0;
    char *error = NULL;
    int rc = jsql_file_version(j->path, &version, &error);
    int result = UCD_OK;
    if (rc == SQLITE_OK && version > JSQL_SCHEMA_VERSION) {
        j->host->set_error(j->self,
                           "%s has schema version %d, but this plugin knows versions up to %d "
                           "(written by a newer ucd?): refusing to touch it; use a newer ucd or "
                           "set 'database' to another file",
                           j->path, version, JSQL_SCHEMA_VERSION);
        result = UCD_FAIL;
    } else if (rc == SQLITE_NOTADB) {
        j->host->set_error(j->self, "%s is not a journal database (%s): refusing to touch it",
                           j->path, error);
        result = UCD_FAIL;
    }
    g_free(error);
    return result;
}

static void journal_free(journal *j)
{
    g_queue_clear_full(&j->queue, (GDestroyNotify)jrec_free);
    g_ptr_array_unref(j->batch);
    g_mutex_clear(&j->lock);
    g_cond_clear(&j->wake);
    g_cond_clear(&j->idle);
    g_free(j->failure);
    g_free(j->path);
    g_free(j->spool_path);
    g_free(j);
}

static void make_counters(journal *j)
{
    j->stored_counter = j->host->counter_new(j->self, "stored", UCD_COUNTER_MONOTONIC,
                                             "conversations committed to the database");
    j->pending_counter = j->host->counter_new(j->self, "pending", UCD_COUNTER_GAUGE,
                                              "conversations waiting in memory");
    j->failed_counter = j->host->counter_new(j->self, "failed_writes", UCD_COUNTER_MONOTONIC,
                                             "transactions or opens that failed");
    j->rejected_counter =
        j->host->counter_new(j->self, "rejected", UCD_COUNTER_MONOTONIC,
                             "conversations refused: max_pending reached, or bad input");
}

static int journal_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    journal *j = g_new0(journal, 1);
    j->self = self;
    j->host = host;
    g_mutex_init(&j->lock);
    g_cond_init(&j->wake);
    g_cond_init(&j->idle);
    g_queue_init(&j->queue);
    j->batch = g_ptr_array_new_with_free_func((GDestroyNotify)jrec_free);
    if (read_config(j) != UCD_OK || check_existing_file(j) != UCD_OK ||
        host->service_register(self, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &journal_iface, j) !=
            UCD_OK) {
        journal_free(j);
        return UCD_FAIL;
    }
    make_counters(j);
    *state = j;
    return UCD_OK;
}

/* Takes back the records a previous run could not write. They are kept in the
 * spool file until committed, so a crash meanwhile only means storing them
 * again, which the (start_ms, uuid) key makes harmless. */
static void load_spool(journal *j)
{
    jrec_record **records = NULL;
    char *error = NULL;
    int count = jrec_file_read(j->spool_path, &records, &error);
    if (count < 0) {
        j->host->log(j->self, UCD_LOG_ERROR, "cannot read spooled records from %s: %s",
                     j->spool_path, error);
        g_free(error);
        return;
    }
    for (int i = 0; i < count; i++)
        g_queue_push_tail(&j->queue, records[i]);
    g_free(records);
    if (count > 0) {
        j->spool_pending = TRUE;
        j->host->log(j->self, UCD_LOG_NOTICE,
                     "%d record(s) a previous run could not write were read back from %s", count,
                     j->spool_path);
    }
}

static int journal_start(void *state)
{
    journal *j = state;
    load_spool(j);
    j->running = TRUE;
    j->writer = g_thread_new("journal-writer", writer_main, j);
    return UCD_OK;
}

/* Saves what the writer could not commit, or names every record lost. */
static void spool_leftovers(journal *j)
{
    guint count = j->queue.length;
    if (count == 0)
        return;
    jrec_record **records = g_new(jrec_record *, count);
    guint i = 0;
    for (GList *l = j->queue.head; l != NULL; l = l->next)
        records[i++] = l->data;
    char *error = NULL;
    if (jrec_file_write(j->spool_path, records, count, &error) == 0) {
        log_durable(j, records, count, "spool");
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal %s not writable at stop: %u record(s) saved to %s, written at the "
                     "next start",
                     j->path, count, j->spool_path);
    } else {
        j->host->log(j->self, UCD_LOG_ERROR, "cannot save %u unwritten record(s) to %s: %s", count,
                     j->spool_path, error);
        for (i = 0; i < count; i++)
            j->host->log(j->self, UCD_LOG_ERROR, "conversation %s LOST", records[i]->rec.uuid);
    }
    g_free(error);
    g_free(records);
}

static void journal_stop(void *state)
{
    journal *j = state;
    if (j->writer == NULL)
        return;
    g_mutex_lock(&j->lock);
    j->running = FALSE;
    g_cond_signal(&j->wake);
    g_mutex_unlock(&j->lock);
    g_thread_join(j->writer);
    j->writer = NULL;
    spool_leftovers(j);
}

static void journal_fini(void *state)
{
    journal *j = state;
    journal_stop(j);
    journal_free(j);
}

static const ucd_service_decl journal_provides[] = {
    {UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, 0},
    {NULL, 0, 0},
};

UCD_PLUGIN_DEFINE(.name = "journal-sqlite", .version = "1.0.0", .license = "MIT",
                  .description = "stores finished conversations in a local SQLite file",
                  .provides = journal_provides, .config_keys = journal_keys, .init = journal_init,
                  .start = journal_start, .stop = journal_stop, .fini = journal_fini);
