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

#include "jrec.h"
#include "jstore.h"
#include "sqlite-db.h"

#define RETRY_MIN_MS       250   /* first retry after a failed write */
#define RETRY_MAX_MS       10000 /* retries slow down to this */
#define REMINDER_MS        60000 /* while failing, an error line this often */
#define RETENTION_EVERY_MS 600000
#define RETENTION_BATCH    500 /* rows per retention transaction: short, inserts go on */
#define TAKE_CHUNK         512 /* records moved from the queue per lock */
/* number_recent rows that trigger a merge into the number index (sqlite-db.c):
 * large enough that a merge's one pass over the index is rare, small enough
 * that a query's scan of number_recent stays around a millisecond. */
#define MERGE_ROWS     200000
#define MERGE_EVERY_MS 600000 /* and when idle, this often */
/* Read connections kept for queries (sqlite-db.h's jsql_reader): as many
 * as queries usually run at once (the core's worker pool). */
#define IDLE_READERS 4

typedef struct journal {
    ucd_plugin *self;
    const ucd_host *host;
    jstore store; /* the queue, store(), flush(), the common keys and counters */
    char *path;
    char *spool_path;
    jsql_options options;

    /* Guarded by store.lock. */
    GPtrArray *batch; /* records in the open transaction, in order (in flight) */
    gboolean healthy;
    gboolean spool_pending; /* the spool file still holds records not yet committed */
    char *failure;          /* the last write error while unhealthy */
    int64_t failing_since_ms;

    ucd_counter *failed_counter;
    GAsyncQueue *readers; /* jsql_reader, idle */
} journal;

static const ucd_config_key journal_keys[] = {
    {"database", UCD_CONFIG_STRING, 0, NULL,
     "the SQLite file; default STATE_DIR/MODULE_ID/journal.sqlite"},
    JSTORE_CONFIG_KEYS("10000"),
    {"cache_size", UCD_CONFIG_INT, 0, "64", "SQLite page cache of the writer, MiB"},
    {"max_size_mb", UCD_CONFIG_INT, 0, "0", "cap on the database file in MiB; 0 = no cap"},
    {NULL, 0, 0, NULL, NULL},
};

static uint64_t pending_locked(const journal *j)
{
    return jstore_pending_locked(&j->store);
}

/* ---- health: one loud line per change, a reminder while failing ---- */

static void become_failing_locked(journal *j, const char *why)
{
    j->host->counter_add(j->failed_counter, 1);
    if (j->healthy || j->failure == NULL || strcmp(j->failure, why) != 0) {
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal %s is failing: %s; %" PRIu64
                     " record(s) wait in memory (at most %" PRId64 "), retrying",
                     j->path, why, pending_locked(j), j->store.max_pending);
        if (j->healthy || j->failure == NULL)
            j->failing_since_ms = jstore_now_ms();
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
                     j->path, (jstore_now_ms() - j->failing_since_ms) / 1000, pending_locked(j));
    j->healthy = TRUE;
    g_clear_pointer(&j->failure, g_free);
}

static void remind_locked(journal *j, int64_t *next_reminder)
{
    int64_t now = jstore_now_ms();
    if (j->healthy || now < *next_reminder)
        return;
    if (*next_reminder != 0)
        j->host->log(j->self, UCD_LOG_ERROR,
                     "journal %s still failing (%s): %" PRIu64 " record(s) waiting in memory",
                     j->path, j->failure ? j->failure : "?", pending_locked(j));
    *next_reminder = now + REMINDER_MS;
}

/* ---- the writer thread ---- */

/* Moves up to TAKE_CHUNK queued records into the batch; returns how many. */
static guint take_locked(journal *j)
{
    guint room = (guint)j->store.batch_size - MIN(j->batch->len, (guint)j->store.batch_size);
    return jstore_take_locked(&j->store, j->batch, MIN(room, TAKE_CHUNK));
}

/* One transaction: inserts records as they arrive until batch_size of them
 * are in it or commit_interval has passed since it began (or a flush or stop
 * wants it now), then commits. Called with the lock held and at least one
 * record queued; returns with the lock held. */
static int write_batch_locked(journal *j, jsql_db *db, char **error)
{
    jstore *s = &j->store;
    int64_t deadline = jstore_now_ms() + s->commit_interval_ms;
    g_mutex_unlock(&s->lock);
    int rc = jsql_begin(db, error);
    g_mutex_lock(&s->lock);
    while (rc == SQLITE_OK) {
        while (s->queue.length == 0 && s->running && s->flush_waiters == 0 &&
               jstore_now_ms() < deadline)
            jstore_wait_locked(s, deadline);
        guint first = j->batch->len;
        guint taken = take_locked(j);
        if (taken == 0)
            break;
        g_mutex_unlock(&s->lock);
        for (guint i = first; i < first + taken && rc == SQLITE_OK; i++)
            rc = jsql_insert(db, &((jrec_record *)g_ptr_array_index(j->batch, i))->rec, error);
        g_mutex_lock(&s->lock);
        if (j->batch->len >= (guint)s->batch_size || jstore_now_ms() >= deadline)
            break;
    }
    g_mutex_unlock(&s->lock);
    if (rc == SQLITE_OK)
        rc = jsql_commit(db, error);
    if (rc != SQLITE_OK)
        jsql_rollback(db);
    g_mutex_lock(&s->lock);
    return rc;
}

/* After a commit: the batch is durable (the durability trail, README.md
 * "Durability", says so record by record). */
static void batch_done_locked(journal *j)
{
    jstore *s = &j->store;
    jstore_log_durable(s, (jrec_record *const *)j->batch->pdata, j->batch->len, "database");
    s->stored += j->batch->len;
    j->host->counter_add(s->stored_counter, (int64_t)j->batch->len);
    jstore_batch_done_locked(s, j->batch, j->batch->len);
    become_healthy_locked(j);
    if (s->queue.length == 0) {
        if (j->spool_pending && g_unlink(j->spool_path) == 0)
            j->host->log(j->self, UCD_LOG_INFO, "spooled records written; removed %s",
                         j->spool_path);
        j->spool_pending = FALSE;
    }
}

/* After a failed transaction: the batch goes back to the head of the queue,
 * in order, and waits for the next attempt. */
static void batch_failed_locked(journal *j, const char *why)
{
    jstore_batch_done_locked(&j->store, j->batch, 0);
    become_failing_locked(j, why);
}

static void expire_old(journal *j, jsql_db *db, int64_t *next_retention)
{
    int64_t days = j->store.retention_days;
    if (days <= 0 || jstore_now_ms() < *next_retention)
        return;
    int deleted = 0;
    char *error = NULL;
    int rc = jsql_expire(db, jstore_now_ms() - days * 86400000, RETENTION_BATCH, &deleted, &error);
    if (rc != SQLITE_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "retention: %s", error);
    else if (deleted > 0)
        j->host->log(j->self, UCD_LOG_DEBUG, "retention: deleted %d conversation(s)", deleted);
    g_free(error);
    /* A full batch means more are due: come back right after the next commit. */
    *next_retention = jstore_now_ms() + (deleted == RETENTION_BATCH ? 0 : RETENTION_EVERY_MS);
}

/* Runs outside the lock. A failed merge loses nothing: the rows stay in
 * number_recent, where queries find them too. */
static void merge_numbers(journal *j, jsql_db *db, int64_t *next_merge)
{
    char *error = NULL;
    if (jsql_merge_numbers(db, &error) != SQLITE_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "number index merge: %s", error);
    g_free(error);
    *next_merge = jstore_now_ms() + MERGE_EVERY_MS;
}

static jsql_db *open_locked(journal *j, int64_t *retry_delay)
{
    jsql_db *db = NULL;
    char *error = NULL, *report = NULL;
    g_mutex_unlock(&j->store.lock);
    int rc = jsql_open(j->path, &j->options, &db, &report, &error);
    g_mutex_lock(&j->store.lock);
    if (report != NULL)
        j->host->log(j->self, UCD_LOG_NOTICE, "%s", report);
    g_free(report);
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
    jstore *s = &j->store;
    jsql_db *db = NULL;
    int64_t retry_at = 0, retry_delay = RETRY_MIN_MS, next_retention = 0, next_reminder = 0;
    int64_t next_merge = jstore_now_ms() + MERGE_EVERY_MS;
    g_mutex_lock(&s->lock);
    for (;;) {
        remind_locked(j, &next_reminder);
        if (db == NULL) {
            while (s->running && s->flush_waiters == 0 && jstore_now_ms() < retry_at)
                jstore_wait_locked(s, retry_at);
            gboolean last_try = !s->running;
            db = open_locked(j, &retry_delay);
            if (db == NULL) {
                retry_at = jstore_now_ms() + retry_delay;
                retry_delay = MIN(retry_delay * 2, RETRY_MAX_MS);
                if (last_try)
                    break;
                continue;
            }
        }
        if (s->queue.length == 0) {
            if (!s->running)
                break;
            g_mutex_unlock(&s->lock);
            expire_old(j, db, &next_retention);
            if (jsql_recent_numbers(db) > 0 && jstore_now_ms() >= next_merge)
                merge_numbers(j, db, &next_merge);
            g_mutex_lock(&s->lock);
            int64_t wake_at =
                s->retention_days > 0 ? next_retention : jstore_now_ms() + REMINDER_MS;
            if (s->queue.length == 0 && s->running)
                jstore_wait_locked(s, MIN(wake_at, jstore_now_ms() + REMINDER_MS));
            continue;
        }
        char *error = NULL;
        int rc = write_batch_locked(j, db, &error);
        if (rc == SQLITE_OK) {
            batch_done_locked(j);
            retry_delay = RETRY_MIN_MS;
            if (jsql_recent_numbers(db) >= MERGE_ROWS) {
                g_mutex_unlock(&s->lock);
                merge_numbers(j, db, &next_merge);
                g_mutex_lock(&s->lock);
            }
        } else {
            batch_failed_locked(j, error);
            g_mutex_unlock(&s->lock);
            jsql_close(db); /* reopened on retry: the file may have changed meanwhile */
            g_mutex_lock(&s->lock);
            db = NULL;
            retry_at = jstore_now_ms() + retry_delay;
            retry_delay = MIN(retry_delay * 2, RETRY_MAX_MS);
        }
        g_free(error);
        if (!s->running && (db == NULL || s->queue.length == 0))
            break;
    }
    jstore_update_pending_locked(s);
    g_cond_broadcast(&s->idle);
    g_mutex_unlock(&s->lock);
    jsql_close(db);
    return NULL;
}

/* ---- the journal interface ---- */

/* store(), status() and flush() are jstore's (jstore.h): store() copies the
 * record through the sanitizer ("Bad input" in README.md); refused records
 * are logged with their uuid and reason and counted as rejected, never
 * dropped silently. */

static int journal_query(void *owner, const ucd_journal_query *query, ucd_journal_record_cb cb,
                         void *user_data, char *next_cursor, size_t next_cursor_size)
{
    journal *j = owner;
    char *error = NULL;
    jsql_reader *reader = g_async_queue_try_pop(j->readers);
    if (reader == NULL)
        reader = jsql_reader_new(j->path);
    int rc = jsql_reader_query(reader, query, cb, user_data, next_cursor, next_cursor_size, &error);
    if (g_async_queue_length(j->readers) < IDLE_READERS)
        g_async_queue_push(j->readers, reader);
    else
        jsql_reader_free(reader);
    if (rc != UCD_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "query on %s: %s", j->path, error);
    g_free(error);
    return rc;
}

/* status()'s health and detail, with the lock held. The failing detail
 * names the file: "waiting in memory: " (which ucctl and the e2e test
 * expect) and then what went wrong with which database. */
static gboolean describe_locked(void *owner, char *detail, size_t size)
{
    journal *j = owner;
    if (j->healthy)
        g_snprintf(detail, size, "writing to %s", j->path);
    else if (j->failure != NULL)
        g_snprintf(detail, size, "waiting in memory: %s: %s", j->path, j->failure);
    else
        g_snprintf(detail, size, "waiting in memory: %s not open yet", j->path);
    return j->healthy;
}

/* A flush() that timed out: UCD_E_UNAVAILABLE tells a failing database
 * from a merely slow one (UCD_E_BUSY). */
static int flush_timeout_locked(void *owner)
{
    journal *j = owner;
    return j->healthy ? UCD_E_BUSY : UCD_E_UNAVAILABLE;
}

static const jstore_hooks journal_hooks = {
    .describe_locked = describe_locked,
    .query = journal_query,
    .flush_timeout_locked = flush_timeout_locked,
    .stored_help = "conversations committed to the database",
    .pending_help = "conversations waiting in memory",
    .rejected_help = "conversations refused: max_pending reached, or bad input",
};

/* ---- configuration and life cycle ---- */

static int read_config(journal *j)
{
    const char *database = NULL;
    int64_t cache = 0, max_size = 0;
    if (jstore_read_config(&j->store) != UCD_OK ||
        jstore_read_int(&j->store, "cache_size", 1, &cache) != UCD_OK ||
        jstore_read_int(&j->store, "max_size_mb", 0, &max_size) != UCD_OK)
        return UCD_FAIL;
    j->options.cache_mb = cache;
    j->options.max_size_mb = max_size;
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
    jsql_reader *reader;
    while ((reader = g_async_queue_try_pop(j->readers)) != NULL)
        jsql_reader_free(reader);
    g_async_queue_unref(j->readers);
    jstore_clear(&j->store);
    g_ptr_array_unref(j->batch);
    g_free(j->failure);
    g_free(j->path);
    g_free(j->spool_path);
    g_free(j);
}

static void make_counters(journal *j)
{
    j->failed_counter = j->host->counter_new(j->self, "failed_writes", UCD_COUNTER_MONOTONIC,
                                             "transactions or opens that failed");
}

static int journal_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    journal *j = g_new0(journal, 1);
    j->self = self;
    j->host = host;
    jstore_init(&j->store, self, host, j);
    j->batch = g_ptr_array_new_with_free_func((GDestroyNotify)jrec_free);
    j->readers = g_async_queue_new();
    if (read_config(j) != UCD_OK || check_existing_file(j) != UCD_OK ||
        jstore_register(&j->store, &journal_hooks) != UCD_OK) {
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
        g_queue_push_tail(&j->store.queue, records[i]);
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
    jstore_start(&j->store, "journal-writer", writer_main);
    return UCD_OK;
}

/* Saves what the writer could not commit, or names every record lost. */
static void spool_leftovers(journal *j)
{
    guint count = j->store.queue.length;
    if (count == 0)
        return;
    jrec_record **records = g_new(jrec_record *, count);
    guint i = 0;
    for (GList *l = j->store.queue.head; l != NULL; l = l->next)
        records[i++] = l->data;
    char *error = NULL;
    if (jrec_file_write(j->spool_path, records, count, &error) == 0) {
        jstore_log_durable(&j->store, records, count, "spool");
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
    if (jstore_stop(&j->store))
        spool_leftovers(j);
}

static void journal_fini(void *state)
{
    journal *j = state;
    journal_stop(j);
    journal_free(j);
}

UCD_PLUGIN_DEFINE(.name = "journal-sqlite", .version = "1.0.0", .license = "MIT",
                  .description = "stores finished conversations in a local SQLite file",
                  .provides = jstore_provides, .config_keys = journal_keys, .init = journal_init,
                  .start = journal_start, .stop = journal_stop, .fini = journal_fini);
