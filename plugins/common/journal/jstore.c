/*
 * jstore.c - the queue, store(), flush() and status() every journal store
 * shares (jstore.h).
 */
#include "jstore.h"

#include <inttypes.h>
#include <string.h>

int64_t jstore_now_ms(void)
{
    return g_get_real_time() / 1000;
}

void jstore_init(jstore *s, ucd_plugin *self, const ucd_host *host, void *owner)
{
    memset(s, 0, sizeof(*s));
    s->self = self;
    s->host = host;
    s->owner = owner;
    g_mutex_init(&s->lock);
    g_cond_init(&s->wake);
    g_cond_init(&s->idle);
    g_queue_init(&s->queue);
}

void jstore_clear(jstore *s)
{
    g_queue_clear_full(&s->queue, (GDestroyNotify)jrec_free);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->wake);
    g_cond_clear(&s->idle);
}

/* ---- configuration and counters ---- */

int jstore_read_int(jstore *s, const char *key, int64_t min, int64_t *value)
{
    if (s->host->config_int(s->self, key, value) != UCD_OK)
        return s->host->config_error(s->self, key, "cannot be read");
    if (*value < min)
        return s->host->config_error(s->self, key, "must be at least %" PRId64, min);
    return UCD_OK;
}

int jstore_read_config(jstore *s)
{
    if (jstore_read_int(s, "max_pending", 1, &s->max_pending) != UCD_OK ||
        jstore_read_int(s, "commit_interval", 1, &s->commit_interval_ms) != UCD_OK ||
        jstore_read_int(s, "batch_size", 1, &s->batch_size) != UCD_OK ||
        jstore_read_int(s, "retention_days", 0, &s->retention_days) != UCD_OK)
        return UCD_FAIL;
    const char *privacy = NULL;
    s->host->config_string(s->self, "private_numbers", &privacy);
    /* An empty value means the default, as for every other string key. */
    int p = jrec_privacy_parse(privacy != NULL && privacy[0] != '\0' ? privacy : NULL);
    if (p < 0)
        return s->host->config_error(s->self, "private_numbers", "must be keep, mask or drop");
    s->privacy = (jrec_privacy)p;
    return UCD_OK;
}

void jstore_counters_new(jstore *s, void *base, const jstore_counter *table, size_t count)
{
    for (size_t i = 0; i < count; i++)
        *(ucd_counter **)(void *)((char *)base + table[i].offset) =
            s->host->counter_new(s->self, table[i].name, table[i].kind, table[i].help);
}

static void make_counters(jstore *s)
{
    const jstore_hooks *h = s->hooks;
    const jstore_counter common[] = {
        {offsetof(jstore, stored_counter), "stored", UCD_COUNTER_MONOTONIC, h->stored_help},
        {offsetof(jstore, pending_counter), "pending", UCD_COUNTER_GAUGE, h->pending_help},
        {offsetof(jstore, rejected_counter), "rejected", UCD_COUNTER_MONOTONIC, h->rejected_help},
    };
    jstore_counters_new(s, s, common, G_N_ELEMENTS(common));
}

/* ---- the queue ---- */

uint64_t jstore_memory_locked(const jstore *s)
{
    return (uint64_t)s->queue.length + s->in_flight;
}

uint64_t jstore_pending_locked(const jstore *s)
{
    return jstore_memory_locked(s) + s->spooled;
}

void jstore_update_pending_locked(jstore *s)
{
    s->host->counter_set(s->pending_counter, (int64_t)jstore_pending_locked(s));
}

void jstore_wait_locked(jstore *s, int64_t deadline_ms)
{
    int64_t left_ms = deadline_ms - jstore_now_ms();
    if (left_ms <= 0)
        return;
    s->writer_waiting = TRUE;
    g_cond_wait_until(&s->wake, &s->lock, g_get_monotonic_time() + left_ms * 1000);
    s->writer_waiting = FALSE;
}

guint jstore_take_locked(jstore *s, GPtrArray *batch, guint max)
{
    guint taken = 0;
    while (taken < max && s->queue.length > 0) {
        jrec_record *record = g_queue_pop_head(&s->queue);
        int64_t start = record->rec.start_ms;
        if (s->in_flight == 0 || start < s->in_flight_oldest)
            s->in_flight_oldest = start;
        g_ptr_array_add(batch, record);
        s->in_flight++;
        taken++;
    }
    return taken;
}

void jstore_batch_done_locked(jstore *s, GPtrArray *batch, guint settled)
{
    /* From the end, so that the unsettled records keep their order. */
    for (guint i = batch->len; i > settled; i--)
        g_queue_push_head(&s->queue, g_ptr_array_steal_index(batch, i - 1));
    /* Stolen, not removed: whether or not `batch` frees its elements. */
    while (batch->len > 0)
        jrec_free(g_ptr_array_steal_index_fast(batch, batch->len - 1));
    s->in_flight = 0;
    s->in_flight_oldest = 0;
    jstore_update_pending_locked(s);
    /* Also when records went back: a flush() may time out sooner than it
     * waits for the next attempt, and then says so. */
    g_cond_broadcast(&s->idle);
}

void jstore_log_durable(const jstore *s, jrec_record *const *records, guint count,
                        const char *where)
{
    if (!s->host->log_enabled(s->self, UCD_LOG_DEBUG))
        return;
    for (guint i = 0; i < count; i++)
        s->host->log(s->self, UCD_LOG_DEBUG, "durable %s %s", records[i]->rec.uuid, where);
}

/* ---- the journal interface ---- */

/* FALSE, logged and counted, when max_pending records are in memory. */
static gboolean has_room(jstore *s, const ucd_journal_record *record)
{
    g_mutex_lock(&s->lock);
    uint64_t in_memory = jstore_memory_locked(s);
    g_mutex_unlock(&s->lock);
    if (in_memory < (uint64_t)s->max_pending)
        return TRUE;
    s->host->counter_add(s->rejected_counter, 1);
    s->host->log(s->self, UCD_LOG_ERROR,
                 "journal queue full (%" PRIu64 " records in memory, max_pending): "
                 "conversation %s NOT stored",
                 in_memory, record->uuid ? record->uuid : "(no uuid)");
    return FALSE;
}

/* The record's copy through the sanitizer (jrec.h; "Bad input" in the
 * stores' READMEs), NULL when it has no uuid. What the sanitizer changed is
 * logged; a refused copy is logged with its reason and, unless the store
 * keeps refused records aside, counted and freed: never dropped silently. */
static jrec_record *sanitized_copy(jstore *s, const ucd_journal_record *record)
{
    GString *problems = g_string_new(NULL);
    jrec_record *copy = jrec_copy(record, s->privacy, jstore_now_ms(), problems);
    if (copy != NULL && copy->rejected && s->keep_rejected) {
        s->host->log(s->self, UCD_LOG_WARNING, "conversation %s refused, kept as a dead letter: %s",
                     copy->rec.uuid, problems->str);
    } else if (copy != NULL && copy->rejected) {
        s->host->log(s->self, UCD_LOG_WARNING, "conversation %s NOT stored: %s", copy->rec.uuid,
                     problems->str);
        s->host->counter_add(s->rejected_counter, 1);
        g_clear_pointer(&copy, jrec_free);
    } else if (copy != NULL && problems->len > 0) {
        s->host->log(s->self, UCD_LOG_WARNING, "conversation %s stored sanitized: %s",
                     copy->rec.uuid, problems->str);
    }
    g_string_free(problems, TRUE);
    return copy;
}

int jstore_store(jstore *s, const ucd_journal_record *record)
{
    if (record == NULL)
        return UCD_E_INVALID;
    if (!has_room(s, record))
        return UCD_E_BUSY;
    jrec_record *copy = sanitized_copy(s, record);
    if (copy == NULL)
        return UCD_E_INVALID;
    gboolean rejected = copy->rejected;
    g_mutex_lock(&s->lock);
    g_queue_push_tail(&s->queue, copy);
    /* Here too, not only after a write: while the database cannot even be
     * opened there is no write, and the admin must see the records wait. */
    jstore_update_pending_locked(s);
    if (s->writer_waiting)
        g_cond_signal(&s->wake);
    g_mutex_unlock(&s->lock);
    return rejected ? UCD_E_INVALID : UCD_OK;
}

/* The earliest start among the spool's first record, the records in flight
 * and the queue's head (the queue is in store order: its head stands in
 * for its oldest); 0 when nothing is pending. */
static int64_t oldest_pending_locked(const jstore *s)
{
    int64_t candidates[] = {
        s->spooled > 0 ? s->spooled_oldest_ms : 0,
        s->in_flight > 0 ? s->in_flight_oldest : 0,
        s->queue.length > 0 ? ((const jrec_record *)s->queue.head->data)->rec.start_ms : 0,
    };
    int64_t oldest = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++)
        if (candidates[i] != 0 && (oldest == 0 || candidates[i] < oldest))
            oldest = candidates[i];
    return oldest;
}

int jstore_status(jstore *s, ucd_journal_status *status)
{
    if (status == NULL || status->struct_size == 0)
        return UCD_E_INVALID;
    ucd_journal_status now = {.struct_size = sizeof(now)};
    g_mutex_lock(&s->lock);
    now.stored = s->stored;
    now.pending = jstore_pending_locked(s);
    now.oldest_pending_ms = oldest_pending_locked(s);
    now.healthy = s->hooks->describe_locked(s->owner, s->detail, sizeof(s->detail));
    now.detail = s->detail;
    g_mutex_unlock(&s->lock);
    /* An older caller's struct is smaller: fill what it has room for. */
    uint32_t size = MIN(status->struct_size, (uint32_t)sizeof(now));
    memcpy(status, &now, size);
    status->struct_size = size;
    return UCD_OK;
}

int jstore_flush(jstore *s, uint32_t timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    g_mutex_lock(&s->lock);
    s->flush_waiters++;
    g_cond_signal(&s->wake);
    while (jstore_memory_locked(s) > 0 && s->writer != NULL &&
           g_cond_wait_until(&s->idle, &s->lock, deadline))
        ;
    s->flush_waiters--;
    int rc = UCD_OK;
    if (jstore_memory_locked(s) > 0)
        rc = s->hooks->flush_timeout_locked ? s->hooks->flush_timeout_locked(s->owner) : UCD_E_BUSY;
    g_mutex_unlock(&s->lock);
    return rc;
}

/* ---- the service ---- */

/* Minor 1: records keep end_cause and forward_reason_code (jrec-words.c). */
const ucd_service_decl jstore_provides[] = {
    UCD_PROVIDE(UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, UCD_JOURNAL_MINOR, 0),
    {NULL},
};

/* The journal interface's functions: `impl` is the jstore. */

static int service_store(void *impl, const ucd_journal_record *record)
{
    return jstore_store(impl, record);
}

static int service_query(void *impl, const ucd_journal_query *query, ucd_journal_record_cb cb,
                         void *user_data, char *next_cursor, size_t next_cursor_size)
{
    jstore *s = impl;
    if (query == NULL || cb == NULL)
        return UCD_E_INVALID;
    return s->hooks->query(s->owner, query, cb, user_data, next_cursor, next_cursor_size);
}

static int service_status(void *impl, ucd_journal_status *status)
{
    return jstore_status(impl, status);
}

static int service_flush(void *impl, uint32_t timeout_ms)
{
    return jstore_flush(impl, timeout_ms);
}

static const ucd_journal_v1 journal_service = {
    .struct_size = sizeof(ucd_journal_v1),
    .store = service_store,
    .query = service_query,
    .status = service_status,
    .flush = service_flush,
};

int jstore_register(jstore *s, const jstore_hooks *hooks)
{
    s->hooks = hooks;
    int rc = s->host->service_register(s->self, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR,
                                       &journal_service, s);
    if (rc == UCD_OK)
        make_counters(s);
    return rc;
}

/* ---- the writer's life ---- */

void jstore_start(jstore *s, const char *name, GThreadFunc writer)
{
    s->running = TRUE;
    s->writer = g_thread_new(name, writer, s->owner);
}

gboolean jstore_stop(jstore *s)
{
    if (s->writer == NULL)
        return FALSE;
    g_mutex_lock(&s->lock);
    s->running = FALSE;
    g_cond_signal(&s->wake);
    g_mutex_unlock(&s->lock);
    g_thread_join(s->writer);
    s->writer = NULL;
    return TRUE;
}
