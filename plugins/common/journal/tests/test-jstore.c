/*
 * test-jstore.c - the journal stores' shared queue (plugins/common/jstore.h)
 * on the fake host: the common keys, the journal service it registers,
 * store() bounded by max_pending and through the sanitizer, taking and
 * settling batches in order, status() copied by struct_size, flush() with
 * and without a writer, and the durability trail.
 */
#include <stddef.h>
#include <string.h>

#include "fake-host.h"
#include "jstore.h"

#define NOW 1700000000000LL

static const ucd_config_key keys[] = {
    JSTORE_CONFIG_KEYS("123"),
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_plugin_descriptor descriptor = {
    .struct_size = sizeof(ucd_plugin_descriptor),
    .name = "jstore-test",
    .provides = jstore_provides,
    .config_keys = keys,
    .config_key_size = sizeof(ucd_config_key),
};

/* A store on a fresh fake module, configured with `pairs` (key, value, ...,
 * NULL), its service registered. */
typedef struct fixture {
    fake_module *module;
    jstore store;
    int config_rc;
    const ucd_journal_v1 *iface; /* the registered service */
    void *impl;
    int queries;      /* calls of the query hook */
    gboolean settles; /* test_writer commits what it takes */
} fixture;

static gboolean describe_failing(void *owner, char *detail, size_t size)
{
    fixture *f = owner;
    g_snprintf(detail, size, "waiting in memory: %u queued", f->store.queue.length);
    return FALSE;
}

static int query_hook(void *owner, const ucd_journal_query *query, ucd_journal_record_cb cb,
                      void *user_data, char *next_cursor, size_t next_cursor_size)
{
    fixture *f = owner;
    f->queries++;
    return UCD_E_UNAVAILABLE;
}

static int flush_timeout_locked(void *owner)
{
    return UCD_E_UNAVAILABLE;
}

static const jstore_hooks hooks = {
    .describe_locked = describe_failing,
    .query = query_hook,
    .flush_timeout_locked = flush_timeout_locked,
    .stored_help = "stored",
    .pending_help = "pending",
    .rejected_help = "rejected",
};

static fixture *fixture_new(const char *const *pairs)
{
    fixture *f = g_new0(fixture, 1);
    f->module = fake_module_new(&descriptor, "jstore-test");
    if (pairs != NULL)
        fake_module_set_pairs(f->module, pairs);
    jstore_init(&f->store, f->module, &fake_host, f);
    f->config_rc = jstore_read_config(&f->store);
    g_assert_cmpint(jstore_register(&f->store, &hooks), ==, UCD_OK);
    f->iface = fake_module_service(f->module, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &f->impl);
    g_assert_nonnull(f->iface);
    return f;
}

static void fixture_free(fixture *f)
{
    jstore_stop(&f->store);
    jstore_clear(&f->store);
    fake_module_free(f->module);
    g_free(f);
}

static ucd_journal_record record(const char *uuid, int64_t start_ms)
{
    return (ucd_journal_record){.struct_size = sizeof(ucd_journal_record),
                                .uuid = uuid,
                                .start_ms = start_ms,
                                .end_ms = start_ms + 1000,
                                .participant_size = sizeof(ucd_journal_participant)};
}

/* Stores `count` records "r0", "r1"... starting a second apart from
 * `first_start`, each accepted. */
static void store_many(fixture *f, int count, int64_t first_start)
{
    for (int i = 0; i < count; i++) {
        char uuid[16];
        g_snprintf(uuid, sizeof(uuid), "r%d", i);
        ucd_journal_record r = record(uuid, first_start + i * 1000);
        g_assert_cmpint(jstore_store(&f->store, &r), ==, UCD_OK);
    }
}

static const char *queued_uuid(fixture *f, guint n)
{
    return ((jrec_record *)g_queue_peek_nth(&f->store.queue, n))->rec.uuid;
}

static void test_config(void)
{
    fixture *f = fixture_new(NULL);
    g_assert_cmpint(f->config_rc, ==, UCD_OK);
    g_assert_cmpint(f->store.batch_size, ==, 123);
    g_assert_cmpint(f->store.max_pending, ==, 100000);
    g_assert_cmpint(f->store.commit_interval_ms, ==, 100);
    g_assert_cmpint(f->store.retention_days, ==, 0);
    g_assert_cmpint(f->store.privacy, ==, JREC_PRIVATE_MASK);
    fixture_free(f);

    f = fixture_new((const char *const[]){"private_numbers", "drop", "retention_days", "30", NULL});
    g_assert_cmpint(f->config_rc, ==, UCD_OK);
    g_assert_cmpint(f->store.privacy, ==, JREC_PRIVATE_DROP);
    g_assert_cmpint(f->store.retention_days, ==, 30);
    fixture_free(f);

    f = fixture_new((const char *const[]){"private_numbers", "hide", NULL});
    g_assert_cmpint(f->config_rc, !=, UCD_OK);
    g_assert_cmpstr(f->module->config_error_key, ==, "private_numbers");
    fixture_free(f);

    f = fixture_new((const char *const[]){"max_pending", "0", NULL});
    g_assert_cmpint(f->config_rc, !=, UCD_OK);
    g_assert_cmpstr(f->module->config_error_key, ==, "max_pending");
    fixture_free(f);
}

static void test_store_bounded(void)
{
    fixture *f = fixture_new((const char *const[]){"max_pending", "3", NULL});
    store_many(f, 3, NOW - 60000);
    g_assert_cmpint(fake_module_counter(f->module, "pending"), ==, 3);
    ucd_journal_record extra = record("extra", NOW);
    g_assert_cmpint(jstore_store(&f->store, &extra), ==, UCD_E_BUSY);
    g_assert_cmpint(fake_module_counter(f->module, "rejected"), ==, 1);
    g_assert_true(fake_module_log_has(f->module, UCD_LOG_ERROR, "conversation extra NOT stored"));
    g_assert_cmpuint(f->store.queue.length, ==, 3);
    /* Records in flight count against max_pending too. */
    GPtrArray *batch = g_ptr_array_new();
    g_mutex_lock(&f->store.lock);
    jstore_take_locked(&f->store, batch, 2);
    g_mutex_unlock(&f->store.lock);
    g_assert_cmpint(jstore_store(&f->store, &extra), ==, UCD_E_BUSY);
    g_mutex_lock(&f->store.lock);
    jstore_batch_done_locked(&f->store, batch, 2);
    g_mutex_unlock(&f->store.lock);
    g_assert_cmpint(jstore_store(&f->store, &extra), ==, UCD_OK);
    g_assert_cmpint(jstore_store(&f->store, NULL), ==, UCD_E_INVALID);
    g_ptr_array_unref(batch);
    fixture_free(f);
}

static void test_store_sanitizes(void)
{
    fixture *f = fixture_new(NULL);
    ucd_journal_record r = record("ok", NOW - 60000);
    r.end_ms = r.start_ms - 5000; /* cleaned: set to the start */
    g_assert_cmpint(jstore_store(&f->store, &r), ==, UCD_OK);
    g_assert_true(
        fake_module_log_has(f->module, UCD_LOG_WARNING, "conversation ok stored sanitized"));
    g_assert_cmpint(((jrec_record *)g_queue_peek_head(&f->store.queue))->rec.end_ms, ==,
                    r.start_ms);

    ucd_journal_record bad = record("bad\nuuid", NOW - 60000);
    g_assert_cmpint(jstore_store(&f->store, &bad), ==, UCD_E_INVALID);
    g_assert_cmpuint(f->store.queue.length, ==, 1); /* refused and freed */
    g_assert_cmpint(fake_module_counter(f->module, "rejected"), ==, 1);
    g_assert_true(fake_module_log_has(f->module, UCD_LOG_WARNING, "NOT stored"));

    /* A store with dead letters keeps it, flagged, for its writer. */
    f->store.keep_rejected = TRUE;
    g_assert_cmpint(jstore_store(&f->store, &bad), ==, UCD_E_INVALID);
    g_assert_cmpuint(f->store.queue.length, ==, 2);
    g_assert_true(((jrec_record *)g_queue_peek_tail(&f->store.queue))->rejected);
    g_assert_cmpint(fake_module_counter(f->module, "rejected"), ==, 1);
    g_assert_true(fake_module_log_has(f->module, UCD_LOG_WARNING, "kept as a dead letter"));

    ucd_journal_record nameless = record(NULL, NOW);
    g_assert_cmpint(jstore_store(&f->store, &nameless), ==, UCD_E_INVALID);
    fixture_free(f);
}

/* The unsettled part of a batch goes back to the head in order, before
 * what was queued meanwhile. */
static void test_batch_order(void)
{
    fixture *f = fixture_new(NULL);
    store_many(f, 5, NOW - 60000);
    GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)jrec_free);
    g_mutex_lock(&f->store.lock);
    g_assert_cmpuint(jstore_take_locked(&f->store, batch, 3), ==, 3);
    g_assert_cmpuint(f->store.in_flight, ==, 3);
    g_assert_cmpint(f->store.in_flight_oldest, ==, NOW - 60000);
    g_assert_cmpuint(jstore_memory_locked(&f->store), ==, 5);
    g_mutex_unlock(&f->store.lock);
    ucd_journal_record late = record("late", NOW - 1000);
    g_assert_cmpint(jstore_store(&f->store, &late), ==, UCD_OK);

    g_mutex_lock(&f->store.lock);
    jstore_batch_done_locked(&f->store, batch, 1); /* r0 settled, r1 and r2 back */
    g_assert_cmpuint(batch->len, ==, 0);
    g_assert_cmpuint(f->store.in_flight, ==, 0);
    g_mutex_unlock(&f->store.lock);
    const char *expected[] = {"r1", "r2", "r3", "r4", "late"};
    g_assert_cmpuint(f->store.queue.length, ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < G_N_ELEMENTS(expected); i++)
        g_assert_cmpstr(queued_uuid(f, i), ==, expected[i]);
    g_assert_cmpint(fake_module_counter(f->module, "pending"), ==, 5);
    g_ptr_array_unref(batch);
    fixture_free(f);
}

static int count_record(const ucd_journal_record *record, void *data)
{
    return 0;
}

/* The service table calls jstore and the hooks. */
static void test_service(void)
{
    fixture *f = fixture_new(NULL);
    g_assert_cmpuint(f->iface->struct_size, ==, sizeof(ucd_journal_v1));
    ucd_journal_record r = record("via-service", NOW - 60000);
    g_assert_cmpint(f->iface->store(f->impl, &r), ==, UCD_OK);
    g_assert_cmpstr(queued_uuid(f, 0), ==, "via-service");
    ucd_journal_query q = {.struct_size = sizeof(q)};
    char cursor[64];
    g_assert_cmpint(f->iface->query(f->impl, &q, NULL, NULL, cursor, sizeof(cursor)), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(f->queries, ==, 0);
    g_assert_cmpint(f->iface->query(f->impl, &q, count_record, NULL, cursor, sizeof(cursor)), ==,
                    UCD_E_UNAVAILABLE);
    g_assert_cmpint(f->queries, ==, 1);
    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(f->iface->status(f->impl, &st), ==, UCD_OK);
    g_assert_cmpstr(st.detail, ==, "waiting in memory: 1 queued");
    /* No writer: the hook's answer at once. */
    g_assert_cmpint(f->iface->flush(f->impl, 60000), ==, UCD_E_UNAVAILABLE);
    fixture_free(f);
}

static void test_status(void)
{
    fixture *f = fixture_new(NULL);
    store_many(f, 2, NOW - 50000);
    f->store.spooled = 7;
    f->store.spooled_oldest_ms = NOW - 90000;
    f->store.stored = 11;
    ucd_journal_status st = {.struct_size = sizeof(st)};
    g_assert_cmpint(jstore_status(&f->store, &st), ==, UCD_OK);
    g_assert_cmpuint(st.struct_size, ==, sizeof(st));
    g_assert_false(st.healthy);
    g_assert_cmpuint(st.stored, ==, 11);
    g_assert_cmpuint(st.pending, ==, 9);
    g_assert_cmpint(st.oldest_pending_ms, ==, NOW - 90000);
    g_assert_cmpstr(st.detail, ==, "waiting in memory: 2 queued");

    /* Without a spool the queue's head is the oldest. */
    f->store.spooled = 0;
    g_assert_cmpint(jstore_status(&f->store, &st), ==, UCD_OK);
    g_assert_cmpint(st.oldest_pending_ms, ==, NOW - 50000);

    /* An older, smaller struct: filled only as far as it reaches. */
    struct {
        ucd_journal_status status;
        uint64_t guard;
    } old = {.guard = 0x5a5a5a5a5a5a5a5aULL};
    uint32_t old_size = offsetof(ucd_journal_status, pending);
    old.status.struct_size = old_size;
    g_assert_cmpint(jstore_status(&f->store, &old.status), ==, UCD_OK);
    g_assert_cmpuint(old.status.struct_size, ==, old_size);
    g_assert_cmpuint(old.status.stored, ==, 11);
    g_assert_cmpuint(old.status.pending, ==, 0);
    g_assert_null(old.status.detail);

    ucd_journal_status empty = {0};
    g_assert_cmpint(jstore_status(&f->store, &empty), ==, UCD_E_INVALID);
    g_assert_cmpint(jstore_status(&f->store, NULL), ==, UCD_E_INVALID);
    fixture_free(f);
}

/* The test's writer: takes what arrives and, when the fixture `settles`,
 * commits it at once with the durability trail; otherwise keeps it in
 * flight until stop, then gives it back. */
static gpointer test_writer(gpointer data)
{
    fixture *f = data;
    jstore *s = &f->store;
    GPtrArray *batch = g_ptr_array_new();
    g_mutex_lock(&s->lock);
    while (s->running) {
        if (jstore_take_locked(s, batch, 2) > 0 && f->settles) {
            jstore_log_durable(s, (jrec_record *const *)batch->pdata, batch->len, "database");
            s->stored += batch->len;
            jstore_batch_done_locked(s, batch, batch->len);
        } else {
            jstore_wait_locked(s, jstore_now_ms() + 1000);
        }
    }
    jstore_batch_done_locked(s, batch, 0);
    g_mutex_unlock(&s->lock);
    g_ptr_array_unref(batch);
    return NULL;
}

static void test_flush(void)
{
    fixture *f = fixture_new(NULL);
    g_assert_cmpint(jstore_flush(&f->store, 0), ==, UCD_OK); /* nothing in memory */
    store_many(f, 1, NOW - 60000);
    /* No writer: nobody will take it; says so without waiting. */
    g_assert_cmpint(jstore_flush(&f->store, 60000), ==, UCD_E_UNAVAILABLE);

    f->settles = TRUE;
    jstore_start(&f->store, "jstore-test", test_writer);
    store_many(f, 5, NOW - 50000);
    g_assert_cmpint(jstore_flush(&f->store, 60000), ==, UCD_OK);
    g_assert_cmpuint(f->store.queue.length, ==, 0);
    g_assert_cmpuint(f->store.stored, ==, 6);
    g_assert_true(fake_module_log_has(f->module, UCD_LOG_DEBUG, "durable r4 database"));
    g_assert_true(jstore_stop(&f->store));
    g_assert_false(jstore_stop(&f->store));
    fixture_free(f);
}

/* A writer that takes records and never settles them: flush() gives up at
 * its timeout. */
static void test_flush_times_out(void)
{
    fixture *f = fixture_new(NULL);
    jstore_start(&f->store, "jstore-test", test_writer);
    store_many(f, 3, NOW - 60000);
    g_assert_cmpint(jstore_flush(&f->store, 50), ==, UCD_E_UNAVAILABLE);
    jstore_stop(&f->store);
    g_assert_cmpuint(f->store.queue.length, ==, 3); /* given back, in order */
    g_assert_cmpstr(queued_uuid(f, 0), ==, "r0");
    fixture_free(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jstore/config", test_config);
    g_test_add_func("/jstore/store-bounded", test_store_bounded);
    g_test_add_func("/jstore/store-sanitizes", test_store_sanitizes);
    g_test_add_func("/jstore/batch-order", test_batch_order);
    g_test_add_func("/jstore/service", test_service);
    g_test_add_func("/jstore/status", test_status);
    g_test_add_func("/jstore/flush", test_flush);
    g_test_add_func("/jstore/flush-times-out", test_flush_times_out);
    return g_test_run();
}
