/*
 * journal-odbc.c - finished conversations into a SQL server through unixODBC
 * (PostgreSQL, MariaDB/MySQL, Microsoft SQL Server), with a durable local
 * spool for when the server cannot take them (service "journal" major 1).
 *
 * store() sanitizes and copies the record into a bounded in-memory queue and
 * returns. One writer thread of the plugin's own (why not the core's work
 * items: see journal-sqlite.c, the same reasons hold) drains it:
 *   - while the database answers and the spool is empty, it inserts a batch
 *     (`batch_size` records, or what arrived within `commit_interval`) with
 *     bound parameters in one transaction;
 *   - when the database is unreachable, slower than `timeout`, or refuses a
 *     batch, the batch goes to the spool (plugins/common/journal/spool.h: appended
 *     and fdatasync'd before it counts as acknowledged), and so does every
 *     later record while the spool is not empty, which keeps the order;
 *   - after reconnecting (backoff from `retry_min` doubling to `retry_max`)
 *     it replays the spool in order, in batches, then writes directly again.
 *     Replay is idempotent: a conversation's uuid is unique in the table.
 *   - a batch refused for its data (SQLSTATE 22/23) is retried row by row;
 *     a row that still fails is logged with its uuid and reason and kept in
 *     the dead-letter spool (STATE_DIR/deadletter): never dropped silently,
 *     never blocking the good rows. Records the sanitizer refuses go there
 *     too.
 * Queries borrow connections from a small pool (`pool_size` includes the
 * writer's own), so they run concurrently with the writer and each other.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "jrec.h"
#include "jstore.h"
#include "odbc-batch.h"
#include "odbc-call.h"
#include "odbc-db.h"
#include "odbc-dialect.h"
#include "odbc-util.h"
#include "spool.h"

#define REMINDER_MS        60000
#define RETENTION_EVERY_MS 600000
#define RETENTION_BATCH    500
#define POOL_WAIT_MS       30000
/* The writer's deadline for a database call is `timeout` plus this: when
 * the server is alive, its own statement or login timeout ends the call
 * first, with a clearer message and no thread left behind. */
#define DEADLINE_GRACE_MS 1000
/* At stop a call gets at most this long from the moment the stop began:
 * abandoning it costs nothing (its records are spooled, or still are), and
 * a service manager kills a stop that takes too long. */
#define STOP_GRACE_MS 2000
/* Abandoned calls (odbc-call.h) of one instance that may wait for a frozen
 * server before the instance stops opening new connections to it: each
 * holds a thread and a socket until the server answers. Per instance: other
 * instances write to other servers. */
#define MAX_STUCK_CALLS 3

typedef struct journal {
    ucd_plugin *self;
    const ucd_host *host;
    jstore store; /* the queue, store(), flush(), the common keys and counters;
                   * store.spooled is the spool's depth */
    jodbc_target target;
    char *connection, *spool_dir, *dead_dir;
    char *target_name; /* the connection string without secrets, for messages */
    const char *password;
    int64_t retry_min_ms, retry_max_ms, spool_warn, pool_size, timeout_ms;
    jodbc_stuck *stuck; /* this instance's abandoned calls */

    /* Guarded by store.lock. */
    gboolean connected, schema_refused;
    jodbc_dialect dialect; /* the connected database's */
    gboolean spool_warned;
    char *failure;       /* why the database is not written to now */
    char *spool_failure; /* why the spool does not take records now */

    /* the query connections */
    GMutex pool_lock;
    GCond pool_cond;
    GQueue pool_idle;
    int pool_open;

    ucd_counter *spooled_counter, *replayed_counter, *failed_counter, *depth_counter, *warn_counter,
        *lost_counter;
} journal;

/* What the writer thread alone touches. */
typedef struct writer {
    journal *j;
    jodbc_db *db;
    spool *spool, *dead;
    int64_t retry_at, retry_delay, next_retention, next_reminder;
    /* Records per transaction (odbc-batch.h): batch_size, halved when a
     * batch fails the same way again (or gets no answer in time again) on a
     * fresh connection, grown back after successes. */
    jodbc_batch_limit limit;
    /* The connection is new and no batch was written over it yet (a batch
     * may take several writes of limit.limit records). */
    gboolean fresh;
    /* Set when a write was abandoned past its deadline: the records given to
     * it are the abandoned call's too, and must not be changed or freed. */
    gboolean lent;
    /* Inside replay_batch: the spool is between a read and its consume, so
     * spool_changed must not read it (that would forget the read). */
    gboolean replaying;
} writer;

static gboolean handle_batch(writer *w, GPtrArray *batch, gboolean to_db);

static const ucd_config_key journal_keys[] = {
    ODBC_UTIL_CONNECTION_KEYS(""),
    {"dialect", UCD_CONFIG_STRING, 0, "auto", "auto, postgresql, mysql or mssql"},
    {"table_prefix", UCD_CONFIG_STRING, 0, "ucd_", "put in front of every table name"},
    JSTORE_CONFIG_KEYS("2000"),
    {"insert_method", UCD_CONFIG_STRING, 0, "auto",
     "auto (unnest on PostgreSQL, else values), values (multi-row VALUES), array "
     "(parameter arrays) or unnest (PostgreSQL: one array per column)"},
    {"rows_per_statement", UCD_CONFIG_INT, 0, "500", "rows per insert statement"},
    {"pool_size", UCD_CONFIG_INT, 0, "3", "connections: the writer's and those of queries"},
    {"timeout", UCD_CONFIG_DURATION, 0, "5s", "login and statement timeout"},
    {"retry_min", UCD_CONFIG_DURATION, 0, "500ms", "first reconnect after this"},
    {"retry_max", UCD_CONFIG_DURATION, 0, "30s", "reconnects slow down to this"},
    {"spool_warn", UCD_CONFIG_INT, 0, "10000", "warn when the spool holds more records"},
    {NULL, 0, 0, NULL, NULL},
};

static void update_gauges_locked(journal *j)
{
    jstore_update_pending_locked(&j->store);
    j->host->counter_set(j->depth_counter, (int64_t)j->store.spooled);
}

/* ---- health ---- */

static void set_failure_locked(journal *j, const char *why)
{
    if (j->failure == NULL || strcmp(j->failure, why) != 0)
        j->host->log(j->self, UCD_LOG_ERROR, "database not written to: %s; records go to the spool",
                     why);
    g_free(j->failure);
    j->failure = g_strdup(why);
    j->connected = FALSE;
}

static void set_failure(journal *j, const char *why)
{
    g_mutex_lock(&j->store.lock);
    set_failure_locked(j, why);
    g_mutex_unlock(&j->store.lock);
}

/* Remembers for status() why the spool does not take records (cleared
 * when a batch from memory was settled again: batch_finished). */
static void set_spool_failure(journal *j, const char *why)
{
    g_mutex_lock(&j->store.lock);
    g_free(j->spool_failure);
    j->spool_failure = g_strdup(why);
    g_mutex_unlock(&j->store.lock);
}

/* ---- the spool ---- */

static void spool_log(void *data, int level, const char *message)
{
    journal *j = data;
    j->host->log(j->self, level, "%s", message);
}

static GBytes *serialize(const jrec_record *r)
{
    GVariant *v = g_variant_ref_sink(jrec_to_variant(&r->rec));
    GBytes *bytes = g_variant_get_data_as_bytes(v);
    g_variant_unref(v);
    return bytes;
}

static jrec_record *deserialize(GBytes *bytes)
{
    GVariant *v = g_variant_ref_sink(
        g_variant_new_from_bytes(G_VARIANT_TYPE(JREC_VARIANT_TYPE), bytes, FALSE));
    jrec_record *r = g_variant_is_normal_form(v) ? jrec_from_variant(v) : NULL;
    g_variant_unref(v);
    return r;
}

static int append_records(spool *s, jrec_record *const *records, guint count, char **error)
{
    GBytes **payloads = g_new(GBytes *, count ? count : 1);
    for (guint i = 0; i < count; i++)
        payloads[i] = serialize(records[i]);
    int rc = spool_append(s, payloads, count, error);
    for (guint i = 0; i < count; i++)
        g_bytes_unref(payloads[i]);
    g_free(payloads);
    return rc;
}

/* The start of the first record in the spool, 0 when it is empty. */
static int64_t spool_head_start(spool *s)
{
    GPtrArray *head = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    char *error = NULL;
    int64_t start = 0;
    if (spool_read(s, 1, head, &error) == 1) {
        jrec_record *r = deserialize(head->pdata[0]);
        start = r != NULL ? r->rec.start_ms : 0;
        jrec_free(r);
    }
    g_free(error);
    g_ptr_array_unref(head);
    return start;
}

/* Publishes the spool's depth; warns once per crossing of spool_warn. */
static void spool_changed(writer *w)
{
    journal *j = w->j;
    uint64_t depth = spool_depth(w->spool);
    g_mutex_lock(&j->store.lock);
    if (depth == 0)
        j->store.spooled_oldest_ms = 0;
    else if (!w->replaying && (j->store.spooled == 0 || j->store.spooled_oldest_ms == 0))
        j->store.spooled_oldest_ms = spool_head_start(w->spool);
    j->store.spooled = depth;
    if (depth > (uint64_t)j->spool_warn && !j->spool_warned) {
        j->spool_warned = TRUE;
        j->host->counter_add(j->warn_counter, 1);
        j->host->log(j->self, UCD_LOG_WARNING,
                     "spool holds %" PRIu64 " records, more than spool_warn (%" PRId64
                     "): the database has not taken records for a while",
                     depth, j->spool_warn);
    } else if (depth == 0 && j->spool_warned) {
        j->spool_warned = FALSE;
        j->host->log(j->self, UCD_LOG_NOTICE, "spool drained: every record is in the database");
    }
    update_gauges_locked(j);
    g_mutex_unlock(&j->store.lock);
}

/* Keeps refused records aside, never silently. */
static void dead_letter(writer *w, jrec_record *const *records, guint count, const char *why)
{
    journal *j = w->j;
    char *error = NULL;
    for (guint i = 0; i < count; i++)
        j->host->log(j->self, UCD_LOG_ERROR, "conversation %s refused (%s): kept in %s",
                     records[i]->rec.uuid, why, j->dead_dir);
    if (append_records(w->dead, records, count, &error) != 0) {
        for (guint i = 0; i < count; i++)
            j->host->log(j->self, UCD_LOG_ERROR, "conversation %s LOST: dead-letter spool: %s",
                         records[i]->rec.uuid, error);
        j->host->counter_add(j->lost_counter, count);
    }
    g_free(error);
    j->host->counter_add(j->store.rejected_counter, count);
}

/* Makes `records` durable in the spool. FALSE when even that failed (the
 * disk is full): the caller keeps them in memory. */
static gboolean to_spool(writer *w, jrec_record *const *records, guint count)
{
    journal *j = w->j;
    char *error = NULL;
    if (append_records(w->spool, records, count, &error) != 0) {
        j->host->log(j->self, UCD_LOG_ERROR, "cannot spool %u record(s): %s; they wait in memory",
                     count, error);
        char *why = g_strdup_printf("writing %s: %s", j->spool_dir, error);
        set_spool_failure(j, why);
        g_free(why);
        g_free(error);
        return FALSE;
    }
    jstore_log_durable(&j->store, records, count, "spool");
    j->host->counter_add(j->spooled_counter, count);
    spool_changed(w);
    return TRUE;
}

/* ---- database calls with a deadline ---- */

static jodbc_notify notify_of(journal *j)
{
    return (jodbc_notify){&j->store.lock, &j->store.wake, j->stuck};
}

/* Moves what waits in memory to the spool (to_db FALSE: never the
 * database). FALSE when the spool did not take it. */
static gboolean spool_queued(writer *w)
{
    jstore *s = &w->j->store;
    GPtrArray *batch = g_ptr_array_new();
    g_mutex_lock(&s->lock);
    jstore_take_locked(s, batch, (guint)s->batch_size);
    g_mutex_unlock(&s->lock);
    return handle_batch(w, batch, FALSE);
}

/* Waits for `call` until it ends or its deadline (timeout + grace) passes.
 * Meanwhile, with `spool_arrivals` (replaying, or connecting: the times when
 * new records belong in the spool), records arriving in memory go to the
 * spool at once rather than waiting for the call, however long it takes.
 * Past the deadline the call is abandoned (odbc-call.h): `*abandoned` is
 * set, the connection it used is the call's, and the result is
 * JODBC_E_CONNECTION with a message saying so. Otherwise the call's result,
 * with `*db` (connect) and `*deleted` (expire) when not NULL. */
static int await_call(writer *w, jodbc_call *call, gboolean spool_arrivals, jodbc_db **db,
                      unsigned *deleted, char **error, gboolean *abandoned)
{
    journal *j = w->j;
    jstore *s = &j->store;
    int64_t deadline = jstore_now_ms() + j->timeout_ms + DEADLINE_GRACE_MS;
    gboolean stop_seen = FALSE;
    *abandoned = FALSE;
    for (;;) {
        g_mutex_lock(&s->lock);
        while (!jodbc_call_done(call) && jstore_now_ms() < deadline &&
               !(spool_arrivals && s->queue.length > 0)) {
            if (!s->running && !stop_seen) {
                stop_seen = TRUE;
                deadline = MIN(deadline, jstore_now_ms() + STOP_GRACE_MS);
                continue;
            }
            jstore_wait_locked(s, deadline);
        }
        gboolean arrivals = spool_arrivals && s->queue.length > 0;
        g_mutex_unlock(&s->lock);
        if (jodbc_call_done(call))
            break;
        if (arrivals) {
            /* The spool refusing them (disk full) leaves them in memory;
             * stop trying for this call rather than spin. */
            spool_arrivals = spool_queued(w);
            continue;
        }
        if (!jodbc_call_abandon(call))
            break; /* it ended just now */
        *abandoned = TRUE;
        if (stop_seen)
            *error = g_strdup_printf("no answer from the database within %d ms of the stop: "
                                     "call abandoned, %d still stuck",
                                     STOP_GRACE_MS, jodbc_stuck_count(j->stuck));
        else
            *error = g_strdup_printf("no answer from the database within %" PRId64
                                     " ms (timeout + %d ms): call abandoned, %d still stuck",
                                     j->timeout_ms + DEADLINE_GRACE_MS, DEADLINE_GRACE_MS,
                                     jodbc_stuck_count(j->stuck));
        return JODBC_E_CONNECTION;
    }
    return jodbc_call_finish(call, db, deleted, error);
}

/* ---- the database ---- */

static void drop_connection(writer *w, const char *why)
{
    journal *j = w->j;
    jodbc_close(w->db);
    w->db = NULL;
    w->retry_at = jstore_now_ms() + w->retry_delay;
    w->retry_delay = MIN(w->retry_delay * 2, j->retry_max_ms);
    j->host->counter_add(j->failed_counter, 1);
    set_failure(j, why);
}

static void try_connect(writer *w)
{
    journal *j = w->j;
    if (jodbc_stuck_count(j->stuck) >= MAX_STUCK_CALLS) {
        /* A frozen server: more connections would only leave more threads
         * waiting for it. Try again when they returned. */
        w->retry_at = jstore_now_ms() + w->retry_delay;
        return;
    }
    char *error = NULL;
    jodbc_db *db = NULL;
    gboolean abandoned = FALSE;
    jodbc_notify notify = notify_of(j);
    /* After a failure records go to the spool meanwhile, as they did before
     * this attempt; at the first connect they wait for it (a healthy start
     * writes them directly). */
    g_mutex_lock(&j->store.lock);
    gboolean after_failure = j->failure != NULL || j->store.spooled > 0;
    g_mutex_unlock(&j->store.lock);
    int rc = await_call(w, jodbc_call_connect(&j->target, &notify), after_failure, &db, NULL,
                        &error, &abandoned);
    if (rc != JODBC_OK) {
        if (abandoned)
            jodbc_batch_limit_connect_unanswered(&w->limit);
        g_mutex_lock(&j->store.lock);
        j->schema_refused = rc == JODBC_E_SCHEMA;
        g_mutex_unlock(&j->store.lock);
        w->db = NULL;
        drop_connection(w, error);
        g_free(error);
        return;
    }
    w->db = db;
    w->fresh = TRUE;
    w->retry_delay = j->retry_min_ms;
    g_mutex_lock(&j->store.lock);
    j->connected = TRUE;
    j->schema_refused = FALSE;
    j->dialect = jodbc_db_dialect(db);
    if (j->failure != NULL)
        j->host->log(j->self, UCD_LOG_NOTICE, "database %s reachable again",
                     jodbc_dialect_name(jodbc_db_dialect(db)));
    else
        j->host->log(j->self, UCD_LOG_INFO, "writing to %s (schema version %d)",
                     jodbc_dialect_name(jodbc_db_dialect(db)), JODBC_SCHEMA_VERSION);
    g_clear_pointer(&j->failure, g_free);
    g_mutex_unlock(&j->store.lock);
}

static void count_stored(writer *w, jrec_record *const *records, guint count, gboolean replayed)
{
    journal *j = w->j;
    if (!replayed)
        jstore_log_durable(&j->store, records, count, "database");
    g_mutex_lock(&j->store.lock);
    j->store.stored += count;
    g_mutex_unlock(&j->store.lock);
    j->host->counter_add(replayed ? j->replayed_counter : j->store.stored_counter, count);
}

/* records->pdata[first, first + count) in one transaction, with the
 * deadline; while replaying, arrivals go to the spool meanwhile. An
 * abandoned call takes the connection (w->db becomes NULL) and shares the
 * records (w->lent). */
static int db_write(writer *w, GPtrArray *records, guint first, guint count, gboolean replayed,
                    char **error)
{
    gboolean abandoned = FALSE;
    jodbc_notify notify = notify_of(w->j);
    jodbc_call *call = jodbc_call_write(w->db, records, first, count, &notify);
    int rc = await_call(w, call, replayed, NULL, NULL, error, &abandoned);
    if (abandoned) {
        w->db = NULL;
        w->lent = TRUE;
    }
    return rc;
}

/* A batch the database refused for its data, one row at a time: good rows
 * are stored, bad ones kept aside. Returns how many were settled (stored or
 * dead-lettered) before the connection failed; all on success. */
static guint write_rows(writer *w, GPtrArray *records, guint first, guint count, gboolean replayed)
{
    jrec_record *const *r = (jrec_record *const *)records->pdata;
    for (guint i = first; i < first + count; i++) {
        char *error = NULL;
        int rc = db_write(w, records, i, 1, replayed, &error);
        if (rc == JODBC_OK)
            count_stored(w, &r[i], 1, replayed);
        else if (rc == JODBC_E_DATA)
            dead_letter(w, &r[i], 1, error);
        else
            drop_connection(w, error);
        g_free(error);
        if (w->db == NULL)
            return i - first;
    }
    return count;
}

/* Stores `records` (limit.limit per transaction); returns how many are
 * settled (the rest must go to the spool, or stay there). */
static guint write_batch(writer *w, GPtrArray *records, gboolean replayed)
{
    guint done = 0;
    while (done < records->len && w->db != NULL) {
        guint n = MIN(records->len - done, w->limit.limit);
        char *error = NULL;
        int rc = db_write(w, records, done, n, replayed, &error);
        if (rc == JODBC_OK) {
            count_stored(w, (jrec_record *const *)records->pdata + done, n, replayed);
            if (jodbc_batch_limit_succeeded(&w->limit))
                w->j->host->log(w->j->self, UCD_LOG_NOTICE,
                                "%u writes succeeded: writing up to %u records per transaction "
                                "again",
                                JODBC_BATCH_REGROW_AFTER, w->limit.limit);
            done += n;
        } else if (rc == JODBC_E_DATA) {
            w->j->host->log(w->j->self, UCD_LOG_WARNING,
                            "a batch of %u was refused (%s): retrying row by row", n, error);
            done += write_rows(w, records, done, n, replayed);
        } else {
            gboolean abandoned = w->db == NULL;
            jodbc_batch_verdict v =
                jodbc_batch_limit_failed(&w->limit, n, error, w->fresh, abandoned);
            if (v == JODBC_BATCH_HALVED_SLOW)
                w->j->host->log(w->j->self, UCD_LOG_WARNING,
                                "no answer within %" PRId64 " ms for a batch of %u: writing %u "
                                "per transaction (twice in a row on a fresh connection: the "
                                "server answers, the batch is too slow to write; %s; a lower "
                                "batch_size or rows_per_statement, or a longer timeout, avoids "
                                "the failed attempts)",
                                w->j->timeout_ms + (abandoned ? DEADLINE_GRACE_MS : 0), n,
                                w->limit.limit, error);
            else if (v == JODBC_BATCH_HALVED)
                w->j->host->log(w->j->self, UCD_LOG_WARNING,
                                "a batch of %u records failed the same way again on a fresh "
                                "connection (%s): writing at most %u per transaction for now (a "
                                "lower batch_size or rows_per_statement avoids the failed "
                                "attempts)",
                                n, error, w->limit.limit);
            drop_connection(w, error);
        }
        g_free(error);
    }
    w->fresh = FALSE;
    return done;
}

/* ---- replaying the spool ---- */

static void replay_batch(writer *w)
{
    journal *j = w->j;
    GPtrArray *payloads = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)jrec_free);
    char *error = NULL;
    int n = spool_read(w->spool, (unsigned)j->store.batch_size, payloads, &error);
    for (int i = 0; i < n; i++) {
        jrec_record *r = deserialize(payloads->pdata[i]);
        if (r != NULL)
            g_ptr_array_add(records, r);
        else
            j->host->log(j->self, UCD_LOG_ERROR, "spool: an unreadable record skipped");
    }
    /* An abandoned write keeps its reference to `records`: read only. */
    w->replaying = TRUE;
    guint settled = n > 0 ? write_batch(w, records, TRUE) : 0;
    w->replaying = FALSE;
    if (n < 0)
        j->host->log(j->self, UCD_LOG_ERROR, "reading the spool: %s", error);
    else if (settled == records->len && spool_consume(w->spool, (unsigned)n, &error) != 0)
        j->host->log(j->self, UCD_LOG_ERROR, "spool cursor: %s (records will be replayed again)",
                     error);
    g_free(error);
    spool_changed(w);
    g_ptr_array_unref(records);
    g_ptr_array_unref(payloads);
}

/* ---- taking records from memory ---- */

/* Up to batch_size records; for a direct write, waits up to
 * commit_interval for the batch to fill. */
static GPtrArray *take_batch(writer *w, gboolean direct)
{
    jstore *s = &w->j->store;
    GPtrArray *batch = g_ptr_array_new();
    g_mutex_lock(&s->lock);
    int64_t deadline = jstore_now_ms() + s->commit_interval_ms;
    while (direct && s->running && s->flush_waiters == 0 &&
           s->queue.length < (guint)s->batch_size && jstore_now_ms() < deadline)
        jstore_wait_locked(s, deadline);
    jstore_take_locked(s, batch, (guint)s->batch_size);
    g_mutex_unlock(&s->lock);
    return batch;
}

/* The batch is settled (database, spool or dead letters): forget it. */
static void batch_finished(journal *j, GPtrArray *batch, guint keep_from)
{
    g_mutex_lock(&j->store.lock);
    /* All durable: whatever the spool's trouble was, memory is not stuck. */
    if (keep_from == batch->len)
        g_clear_pointer(&j->spool_failure, g_free);
    /* What could not even be spooled goes back to the head, in order. */
    jstore_batch_done_locked(&j->store, batch, keep_from);
    update_gauges_locked(j);
    g_mutex_unlock(&j->store.lock);
    g_ptr_array_unref(batch);
}

/* Copies of records->pdata[first..] (through the spool's format), for
 * records an abandoned call shares: they go back to memory. */
static GPtrArray *copies(journal *j, GPtrArray *records, guint first)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = first; i < records->len; i++) {
        const jrec_record *from = records->pdata[i];
        GBytes *bytes = serialize(from);
        jrec_record *r = deserialize(bytes);
        g_bytes_unref(bytes);
        if (r != NULL) {
            g_ptr_array_add(out, r);
        } else {
            /* Not expected (the spool's own format), but never silent. */
            j->host->log(j->self, UCD_LOG_ERROR,
                         "conversation %s LOST: it could not be copied back to memory",
                         from->rec.uuid);
            j->host->counter_add(j->lost_counter, 1);
        }
    }
    return out;
}

/* Writes (to_db: when connected and the spool is empty) or spools one batch
 * from memory. Returns FALSE when records could not be made durable at all
 * (they wait in memory). */
static gboolean handle_batch(writer *w, GPtrArray *batch, gboolean to_db)
{
    journal *j = w->j;
    /* The good records, owned here: a write call abandoned past its
     * deadline keeps a reference and frees them when it returns. */
    GPtrArray *good = g_ptr_array_new_with_free_func((GDestroyNotify)jrec_free);
    for (guint i = 0; i < batch->len; i++) {
        jrec_record *r = batch->pdata[i];
        if (r->rejected) {
            dead_letter(w, &r, 1, "bad input, see the warning logged when it was stored");
            jrec_free(r);
        } else {
            g_ptr_array_add(good, r);
        }
    }
    g_ptr_array_unref(batch); /* no free function: the records moved */
    jrec_record *const *records = (jrec_record *const *)good->pdata;
    guint settled = 0;
    w->lent = FALSE;
    if (to_db && good->len > 0 && w->db != NULL && spool_depth(w->spool) == 0)
        settled = write_batch(w, good, FALSE);
    gboolean ok = settled == good->len || to_spool(w, records + settled, good->len - settled);
    if (w->lent) {
        /* Leave `good` alone; what was not spooled returns as copies. */
        GPtrArray *back = ok ? g_ptr_array_new() : copies(j, good, settled);
        g_ptr_array_unref(good);
        batch_finished(j, back, ok ? back->len : 0);
        w->lent = FALSE;
    } else {
        batch_finished(j, good, ok ? good->len : settled);
    }
    return ok;
}

/* ---- retention ---- */

static void expire_old(writer *w)
{
    journal *j = w->j;
    int64_t days = j->store.retention_days;
    if (days <= 0 || w->db == NULL || jstore_now_ms() < w->next_retention)
        return;
    unsigned deleted = 0;
    char *error = NULL;
    gboolean abandoned = FALSE;
    jodbc_notify notify = notify_of(j);
    jodbc_call *call =
        jodbc_call_expire(w->db, jstore_now_ms() - days * 86400000, RETENTION_BATCH, &notify);
    /* Arrivals go to the spool meanwhile: a delete against a slow or frozen
     * server must not hold new records in memory until its deadline. */
    int rc = await_call(w, call, TRUE, NULL, &deleted, &error, &abandoned);
    if (abandoned) {
        w->db = NULL;
        drop_connection(w, error);
    } else if (rc != JODBC_OK) {
        j->host->log(j->self, UCD_LOG_WARNING, "retention: %s", error);
    } else if (deleted > 0) {
        j->host->log(j->self, UCD_LOG_DEBUG, "retention: deleted %u conversation(s)", deleted);
    }
    g_free(error);
    w->next_retention = jstore_now_ms() + (deleted == RETENTION_BATCH ? 0 : RETENTION_EVERY_MS);
}

/* ---- the writer thread ---- */

static gboolean has_work_locked(const jstore *s, const writer *w)
{
    if (s->queue.length > 0 || s->flush_waiters > 0 || !s->running)
        return TRUE;
    /* Disconnected: (re)connect when the backoff allows, also with nothing to
     * write, so that status() tells the truth about the database before the
     * first call ends and a spool left by a crash is replayed at once. */
    if (w->db == NULL)
        return jstore_now_ms() >= w->retry_at;
    if (s->spooled > 0)
        return TRUE;
    return s->retention_days > 0 && jstore_now_ms() >= w->next_retention;
}

static void wait_for_work(writer *w)
{
    jstore *s = &w->j->store;
    g_mutex_lock(&s->lock);
    while (!has_work_locked(s, w)) {
        int64_t wake_at = jstore_now_ms() + REMINDER_MS;
        if (w->db == NULL)
            wake_at = MIN(wake_at, w->retry_at);
        if (s->retention_days > 0 && w->db != NULL)
            wake_at = MIN(wake_at, w->next_retention);
        jstore_wait_locked(s, wake_at);
    }
    g_mutex_unlock(&s->lock);
}

static void remind(writer *w)
{
    journal *j = w->j;
    if (w->db != NULL || jstore_now_ms() < w->next_reminder)
        return;
    g_mutex_lock(&j->store.lock);
    if (w->next_reminder != 0 && j->failure != NULL)
        j->host->log(j->self, UCD_LOG_ERROR,
                     "database still not written to (%s): %" PRIu64 " record(s) in the spool",
                     j->failure, j->store.spooled);
    g_mutex_unlock(&j->store.lock);
    w->next_reminder = jstore_now_ms() + REMINDER_MS;
}

static gboolean open_spools(writer *w)
{
    journal *j = w->j;
    spool_options options = {.log = spool_log, .log_data = j};
    char *error = NULL;
    w->spool = spool_open(j->spool_dir, &options, &error);
    if (w->spool != NULL)
        w->dead = spool_open(j->dead_dir, &options, &error);
    if (w->dead == NULL) {
        j->host->log(j->self, UCD_LOG_ERROR, "cannot open the spool: %s", error);
        char *why = g_strdup_printf("opening: %s", error);
        set_spool_failure(j, why);
        g_free(why);
        g_free(error);
        return FALSE;
    }
    if (spool_depth(w->spool) > 0)
        j->host->log(j->self, UCD_LOG_NOTICE, "%" PRIu64 " spooled record(s) to replay",
                     spool_depth(w->spool));
    spool_changed(w);
    return TRUE;
}

static gboolean running(jstore *s)
{
    g_mutex_lock(&s->lock);
    gboolean r = s->running || s->queue.length > 0;
    g_mutex_unlock(&s->lock);
    return r;
}

/* Neither database nor spool took a batch: wait a moment before the next
 * try (FALSE at stop: give up, stop() names what is left). */
static gboolean pause_after_failure(jstore *s, gboolean stopping)
{
    if (stopping)
        return FALSE;
    g_mutex_lock(&s->lock);
    jstore_wait_locked(s, jstore_now_ms() + 1000);
    g_mutex_unlock(&s->lock);
    return TRUE;
}

static gpointer writer_main(gpointer data)
{
    journal *j = data;
    writer w = {.j = j, .retry_delay = j->retry_min_ms};
    jodbc_batch_limit_init(&w.limit, (guint)MIN(j->store.batch_size, G_MAXUINT));
    jstore *s = &w.j->store;
    gboolean spools_ok = open_spools(&w);
    while (spools_ok && running(s)) {
        wait_for_work(&w);
        remind(&w);
        g_mutex_lock(&s->lock);
        gboolean stopping = !s->running;
        g_mutex_unlock(&s->lock);
        /* At stop, no new connection: its login timeout would hold up the stop. */
        if (w.db == NULL && jstore_now_ms() >= w.retry_at && !stopping)
            try_connect(&w);
        if (w.db != NULL && spool_depth(w.spool) > 0 && !stopping) {
            replay_batch(&w);
            if (w.db != NULL)
                continue;
        }
        GPtrArray *batch = take_batch(&w, w.db != NULL && spool_depth(w.spool) == 0);
        if (batch->len == 0)
            g_ptr_array_unref(batch);
        else if (!handle_batch(&w, batch, TRUE) && !pause_after_failure(s, stopping))
            break;
        expire_old(&w);
    }
    jodbc_close(w.db);
    spool_close(w.spool);
    spool_close(w.dead);
    jodbc_batch_limit_clear(&w.limit);
    g_mutex_lock(&s->lock);
    w.j->connected = FALSE;
    g_cond_broadcast(&s->idle);
    g_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the query connections ---- */

/* Runs `call` (a query's connect or fetch) with the writer's deadline
 * (timeout + grace), waiting on `notify`; an abandoned call keeps its
 * connection, so the caller gets JODBC_E_CONNECTION with `*abandoned` set
 * and must forget the connection. Finishes the call otherwise, with the
 * page of a query in `*page`. */
static int query_call(journal *j, jodbc_call *call, jodbc_db **db, jodbc_page **page,
                      gboolean *lost, char **error, gboolean *abandoned)
{
    int64_t deadline = g_get_monotonic_time() + (j->timeout_ms + DEADLINE_GRACE_MS) * 1000;
    *abandoned = !jodbc_call_wait(call, deadline) && jodbc_call_abandon(call);
    if (*abandoned) {
        *error = g_strdup_printf("no answer from the database within %" PRId64
                                 " ms (timeout + %d ms): query abandoned, %d call(s) stuck",
                                 j->timeout_ms + DEADLINE_GRACE_MS, DEADLINE_GRACE_MS,
                                 jodbc_stuck_count(j->stuck));
        return JODBC_E_CONNECTION;
    }
    if (page != NULL)
        return jodbc_call_finish_query(call, db, page, lost, error);
    return jodbc_call_finish(call, db, NULL, error);
}

/* An idle connection of the pool, or a new one while the pool has room;
 * waits for one otherwise. NULL with `*error` set. The connect has the
 * deadline of every database call (query_call). */
static jodbc_db *borrow(journal *j, const jodbc_notify *notify, char **error)
{
    int limit = MAX(1, (int)j->pool_size - 1); /* one is the writer's */
    int64_t deadline = g_get_monotonic_time() + POOL_WAIT_MS * 1000;
    g_mutex_lock(&j->pool_lock);
    while (j->pool_idle.length == 0 && j->pool_open >= limit) {
        if (!g_cond_wait_until(&j->pool_cond, &j->pool_lock, deadline)) {
            g_mutex_unlock(&j->pool_lock);
            *error = g_strdup("every query connection is busy (pool_size)");
            return NULL;
        }
    }
    jodbc_db *db = g_queue_pop_head(&j->pool_idle);
    if (db == NULL)
        j->pool_open++;
    g_mutex_unlock(&j->pool_lock);
    if (db != NULL)
        return db;
    if (jodbc_stuck_count(j->stuck) >= MAX_STUCK_CALLS) {
        *error = g_strdup_printf("%d database calls wait for a server that does not answer",
                                 jodbc_stuck_count(j->stuck));
    } else {
        gboolean abandoned = FALSE;
        query_call(j, jodbc_call_open(&j->target, notify), &db, NULL, NULL, error, &abandoned);
    }
    if (db == NULL) {
        g_mutex_lock(&j->pool_lock);
        j->pool_open--;
        g_cond_signal(&j->pool_cond);
        g_mutex_unlock(&j->pool_lock);
    }
    return db;
}

/* `db` NULL: the connection is gone (an abandoned call has it). */
static void give_back(journal *j, jodbc_db *db, gboolean broken)
{
    g_mutex_lock(&j->pool_lock);
    if (broken || db == NULL) {
        j->pool_open--;
        jodbc_close(db);
    } else {
        g_queue_push_head(&j->pool_idle, db);
    }
    g_cond_signal(&j->pool_cond);
    g_mutex_unlock(&j->pool_lock);
}

/* ---- the journal interface ---- */

/* store(), status() and flush() are jstore's (jstore.h). A record the
 * sanitizer refuses is queued all the same, flagged, for the writer to keep
 * in the dead letters. */

/* The database part runs as a call with the writer's deadline, so that a
 * frozen server answers `ucctl journal query` with an error in bounded time
 * and frees the core's worker; the callback runs here, on the caller's
 * thread, never from an abandoned call. */
static int journal_query(void *owner, const ucd_journal_query *query, ucd_journal_record_cb cb,
                         void *user_data, char *next_cursor, size_t next_cursor_size)
{
    journal *j = owner;
    ucd_journal_query checked;
    if (jrec_query_read(query, &checked) != UCD_OK) {
        if (next_cursor != NULL && next_cursor_size > 0)
            next_cursor[0] = '\0';
        return UCD_E_INVALID; /* before anything copies the filter's names */
    }
    GMutex lock;
    GCond cond;
    g_mutex_init(&lock);
    g_cond_init(&cond);
    jodbc_notify notify = {&lock, &cond, j->stuck};
    char *error = NULL;
    jodbc_db *db = borrow(j, &notify, &error);
    int rc = UCD_E_UNAVAILABLE;
    if (db != NULL) {
        gboolean lost = FALSE, abandoned = FALSE;
        jodbc_page *page = NULL;
        rc = query_call(j, jodbc_call_query(db, query, &notify), &db, &page, &lost, &error,
                        &abandoned);
        if (abandoned) {
            rc = UCD_E_UNAVAILABLE;
            db = NULL;
        }
        if (page != NULL)
            jodbc_page_deliver(page, cb, user_data, next_cursor, next_cursor_size);
        jodbc_page_free(page);
        give_back(j, db, lost);
    }
    /* Only now: `query->after` may be the very buffer (the caller's cursor
     * of the previous page), and the call copied it above. */
    if (rc != UCD_OK && next_cursor != NULL && next_cursor_size > 0)
        next_cursor[0] = '\0';
    if (rc != UCD_OK)
        j->host->log(j->self, UCD_LOG_WARNING, "query: %s", error);
    g_free(error);
    g_mutex_clear(&lock);
    g_cond_clear(&cond);
    return rc;
}

/* status()'s health and detail, with the lock held. While records do not
 * reach the database, the detail says what fails: which database and why,
 * and the spool too when it does not take records either. */
static gboolean describe_locked(void *owner, char *detail, size_t size)
{
    journal *j = owner;
    uint64_t spooled = j->store.spooled;
    if (j->spool_failure != NULL)
        g_snprintf(detail, size, "waiting in memory: spool %s: %s; database %s: %s", j->spool_dir,
                   j->spool_failure, j->target_name,
                   j->connected ? "reachable"
                   : j->failure ? j->failure
                                : "not connected yet");
    else if (j->connected && spooled > 0)
        g_snprintf(detail, size, "replaying spool: %" PRIu64 " left", spooled);
    else if (j->connected)
        g_snprintf(detail, size, "writing to %s", jodbc_dialect_name(j->dialect));
    else
        g_snprintf(detail, size, "spooling: %" PRIu64 " in the spool; database %s: %s", spooled,
                   j->target_name, j->failure ? j->failure : "not connected yet");
    return j->connected && spooled == 0 && j->spool_failure == NULL;
}

/* flush() waits until every accepted record is durable: in the database or
 * the spool; a timeout is UCD_E_BUSY (the default). */
static const jstore_hooks journal_hooks = {
    .describe_locked = describe_locked,
    .query = journal_query,
    .stored_help = "conversations committed to the database directly",
    .pending_help = "conversations not yet in the database (memory and spool)",
    .rejected_help =
        "conversations refused (bad input, the database, max_pending): logged, dead-lettered",
};

/* ---- configuration ---- */

static const char *string_key(journal *j, const char *key)
{
    const char *value = NULL;
    if (j->host->config_string(j->self, key, &value) != UCD_OK || value == NULL || value[0] == '\0')
        return NULL;
    return value;
}

static int read_int(journal *j, const char *key, int64_t min, int64_t *value)
{
    return jstore_read_int(&j->store, key, min, value);
}

/* The connection string from dsn or connection_string, plus user. */
static int read_connection(journal *j)
{
    const char *bad_key = NULL, *why = NULL;
    j->connection = odbc_config_target(string_key(j, "dsn"), string_key(j, "connection_string"),
                                       string_key(j, "user"), &bad_key, &why);
    if (j->connection == NULL)
        return j->host->config_error(j->self, bad_key, "%s", why);
    j->password = string_key(j, "password");
    return UCD_OK;
}

static int read_choices(journal *j)
{
    const char *dialect = string_key(j, "dialect"), *prefix = string_key(j, "table_prefix");
    const char *method = string_key(j, "insert_method");
    int d = jodbc_dialect_parse(dialect);
    if (d < 0)
        return j->host->config_error(j->self, "dialect",
                                     "must be auto, postgresql, mysql or mssql");
    if (!jodbc_prefix_valid(prefix ? prefix : ""))
        return j->host->config_error(j->self, "table_prefix",
                                     "must be at most 32 letters, digits or '_', not starting "
                                     "with a digit");
    static const struct {
        const char *name;
        jodbc_insert_method method;
    } methods[] = {{"auto", JODBC_INSERT_AUTO},
                   {"values", JODBC_INSERT_VALUES},
                   {"array", JODBC_INSERT_ARRAY},
                   {"unnest", JODBC_INSERT_UNNEST}};
    int m = method == NULL || *method == '\0' ? 0 : -1;
    for (size_t i = 0; m < 0 && i < G_N_ELEMENTS(methods); i++)
        if (strcmp(method, methods[i].name) == 0)
            m = (int)i;
    if (m < 0)
        return j->host->config_error(j->self, "insert_method",
                                     "must be auto, values, array or unnest");
    j->target.dialect = (jodbc_dialect)d;
    j->target.prefix = prefix ? prefix : "";
    j->target.insert_method = methods[m].method;
    return UCD_OK;
}

static int read_config(journal *j)
{
    int64_t timeout = 0, rows = 0;
    if (jstore_read_config(&j->store) != UCD_OK ||
        read_int(j, "rows_per_statement", 1, &rows) != UCD_OK ||
        read_int(j, "pool_size", 1, &j->pool_size) != UCD_OK ||
        read_int(j, "timeout", 1000, &timeout) != UCD_OK ||
        read_int(j, "retry_min", 1, &j->retry_min_ms) != UCD_OK ||
        read_int(j, "retry_max", j->retry_min_ms, &j->retry_max_ms) != UCD_OK ||
        read_int(j, "spool_warn", 1, &j->spool_warn) != UCD_OK || read_connection(j) != UCD_OK ||
        read_choices(j) != UCD_OK)
        return UCD_FAIL;
    j->timeout_ms = timeout;
    j->target.timeout_s = (int)MIN(timeout / 1000, 3600);
    j->target.rows_per_statement = (unsigned)MIN(rows, 10000);
    j->target.connection = j->connection;
    j->target.password = j->password;
    j->target_name = odbc_redact(j->connection, j->password);
    const char *state_dir = j->host->state_dir(j->self);
    j->spool_dir = g_build_filename(state_dir, "spool", NULL);
    j->dead_dir = g_build_filename(state_dir, "deadletter", NULL);
    return UCD_OK;
}

/* ---- life cycle ---- */

static void make_counters(journal *j)
{
    static const jstore_counter own[] = {
        {offsetof(journal, spooled_counter), "spooled", UCD_COUNTER_MONOTONIC,
         "conversations written to the spool"},
        {offsetof(journal, replayed_counter), "replayed", UCD_COUNTER_MONOTONIC,
         "conversations committed from the spool"},
        {offsetof(journal, failed_counter), "failed_batches", UCD_COUNTER_MONOTONIC,
         "connects or batches that failed for the database's sake"},
        {offsetof(journal, warn_counter), "spool_warnings", UCD_COUNTER_MONOTONIC,
         "times the spool grew past spool_warn"},
        {offsetof(journal, lost_counter), "lost", UCD_COUNTER_MONOTONIC,
         "conversations neither stored, spooled nor dead-lettered (each logged with LOST)"},
        {offsetof(journal, depth_counter), "spool_depth", UCD_COUNTER_GAUGE,
         "conversations in the spool"},
    };
    jstore_counters_new(&j->store, j, own, G_N_ELEMENTS(own));
}

static void journal_free(journal *j)
{
    jstore_clear(&j->store);
    jodbc_stuck_unref(j->stuck);
    g_queue_clear_full(&j->pool_idle, (GDestroyNotify)jodbc_close);
    g_mutex_clear(&j->pool_lock);
    g_cond_clear(&j->pool_cond);
    g_free(j->failure);
    g_free(j->spool_failure);
    g_free(j->target_name);
    g_free(j->connection);
    g_free(j->spool_dir);
    g_free(j->dead_dir);
    g_free(j);
}

static int journal_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    journal *j = g_new0(journal, 1);
    j->self = self;
    j->host = host;
    jstore_init(&j->store, self, host, j);
    j->store.keep_rejected = TRUE; /* the writer dead-letters them */
    j->stuck = jodbc_stuck_new();
    g_mutex_init(&j->pool_lock);
    g_cond_init(&j->pool_cond);
    g_queue_init(&j->pool_idle);
    if (read_config(j) != UCD_OK || jstore_register(&j->store, &journal_hooks) != UCD_OK) {
        journal_free(j);
        return UCD_FAIL;
    }
    make_counters(j);
    *state = j;
    return UCD_OK;
}

/* The database may be down: the writer connects (and spools meanwhile). */
static int journal_start(void *state)
{
    journal *j = state;
    jstore_start(&j->store, "journal-odbc", writer_main);
    return UCD_OK;
}

static void journal_stop(void *state)
{
    journal *j = state;
    if (!jstore_stop(&j->store))
        return;
    for (GList *l = j->store.queue.head; l != NULL; l = l->next) {
        j->host->log(j->self, UCD_LOG_ERROR,
                     "conversation %s LOST: neither database nor spool took it",
                     ((jrec_record *)l->data)->rec.uuid);
        j->host->counter_add(j->lost_counter, 1);
    }
}

static void journal_fini(void *state)
{
    journal *j = state;
    journal_stop(j);
    journal_free(j);
}

UCD_PLUGIN_DEFINE(.name = "journal-odbc", .version = "1.0.0", .license = "MIT",
                  .description = "stores finished conversations in a SQL server through ODBC, "
                                 "spooling while it is unreachable",
                  .provides = jstore_provides, .config_keys = journal_keys, .init = journal_init,
                  .start = journal_start, .stop = journal_stop, .fini = journal_fini);
