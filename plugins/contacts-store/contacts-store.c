/*
 * contacts-store.c - the contact directory's store: provides "contacts" 1.0
 * (lookup by number, search) from a local replica of every running
 * "contact-source" (README.md).
 *
 * Life: init opens the database (a path that cannot be written is an error
 * now, not at the first replication) and registers the service and the
 * `directory` command. start loads the copies already in the database on a
 * worker and publishes their index, so caller identification works from the
 * first second even when a source is down; then every running source is
 * replicated (replicate_at_start) and scheduled by its replicate_every.
 * stop tells running replications to give up (the sink's cancelled()) and
 * waits for them: a cancelled one keeps the last good copy.
 *
 * The service's lookup and search are in store-query.c, the sources'
 * states in store-sources.c, replication in replication.c.
 */
#include <inttypes.h>
#include <string.h>

#include "store-routes.h"
#include "store.h"

static const ucd_config_key store_keys[] = {
    {"database", UCD_CONFIG_STRING, 0, NULL, "the SQLite file; default STATE_DIR/contacts.sqlite"},
    {"replicate_at_start", UCD_CONFIG_BOOL, 0, "true",
     "replicate every source when ucd starts (else only on schedule and on demand)"},
    STORE_ROUTES_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_contacts_v1 contacts_iface = {
    .struct_size = sizeof contacts_iface,
    .lookup = store_lookup,
    .search = store_search,
};

/* ---- life cycle ---- */

static void store_free(store *st)
{
    if (st->sources != NULL)
        g_hash_table_unref(st->sources);
    if (st->copies != NULL)
        g_hash_table_unref(st->copies);
    index_cell_clear(&st->cell);
    if (st->readers != NULL) {
        store_reader *r;
        while ((r = g_async_queue_try_pop(st->readers)) != NULL)
            store_reader_close(r);
        g_async_queue_unref(st->readers);
    }
    store_routes_free(st->routes);
    store_db_close(st->db);
    g_mutex_clear(&st->write_lock);
    g_mutex_clear(&st->copies_lock);
    g_mutex_clear(&st->index_lock);
    g_free(st->load_error);
    g_free(st->path);
    g_free(st);
}

static int store_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    store *st = g_new0(store, 1);
    st->self = self;
    st->host = host;
    g_mutex_init(&st->write_lock);
    g_mutex_init(&st->copies_lock);
    g_mutex_init(&st->index_lock);
    index_cell_init(&st->cell);
    st->copies =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)contact_copy_unref);
    st->sources = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, store_source_state_free);
    st->readers = g_async_queue_new();

    ucd_service numbers = {.struct_size = sizeof numbers};
    if (host->service_get(self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &numbers) != UCD_OK) {
        host->set_error(self, "the number service is not running");
        store_free(st);
        return UCD_FAIL;
    }
    st->numbers = numbers.iface;
    st->numbers_impl = numbers.impl;

    const char *database = NULL;
    int at_start = 1;
    host->config_bool(self, "replicate_at_start", &at_start);
    st->replicate_at_start = at_start;
    if (host->config_string(self, "database", &database) == UCD_OK && database != NULL &&
        database[0] != '\0')
        st->path = g_strdup(database);
    else
        st->path = g_build_filename(host->state_dir(self), "contacts.sqlite", NULL);
    char *error = NULL;
    st->db = store_db_open(st->path, &error);
    if (st->db == NULL) {
        host->set_error(self, "%s", error);
        g_free(error);
        store_free(st);
        return UCD_FAIL;
    }
    st->routes = store_routes_new(st);
    if (st->routes == NULL) {
        store_free(st);
        return UCD_FAIL;
    }
    /* No counter of lookups: two shared counters per lookup cost more
     * than the lookup on several cores (docs/PERFORMANCE.md). */
    st->replications_failed =
        host->counter_new(self, "replications_failed", UCD_COUNTER_MONOTONIC,
                          "replications that kept the last good copy (failed or refused)");
    if (host->service_register(self, UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, &contacts_iface,
                               st) != UCD_OK ||
        store_commands_register(st) != UCD_OK) {
        host->set_error(self, "cannot register the contacts service or `directory`");
        store_free(st);
        return UCD_FAIL;
    }
    *state = st;
    return UCD_OK;
}

static void load_work(void *data)
{
    store_load(data);
}

static void load_done(void *data)
{
    store *st = data;
    st->loaded = TRUE;
    if (atomic_load(&st->stopping))
        return;
    st->host->service_foreach(st->self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                              store_adopt_source, st);
    if (g_hash_table_size(st->sources) == 0)
        st->host->log(st->self, UCD_LOG_NOTICE, "no contact source is running");
    if (!st->replicate_at_start)
        return;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, st->sources);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        source_state *src = value;
        if (src->running)
            store_replicate(src, NULL, FALSE);
    }
}

static int store_start(void *state)
{
    store *st = state;
    store_routes_start(st->routes);
    return st->host->work_submit(st->self, load_work, load_done, st);
}

static void store_stop(void *state)
{
    store *st = state;
    store_routes_stop(st->routes);
    atomic_store(&st->stopping, 1);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, st->sources);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        source_state *src = value;
        if (src->timer != NULL)
            st->host->timer_remove(st->self, src->timer);
        src->timer = NULL;
        if (src->queue != NULL)
            st->host->work_queue_free(st->self, src->queue);
        src->queue = NULL;
        src->running = FALSE;
        src->iface = NULL;
    }
}

static void store_fini(void *state)
{
    store_free(state);
}

static const ucd_service_decl store_provides[] = {
    UCD_PROVIDE(UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, UCD_CONTACTS_MINOR,
                UCD_SERVICE_EXCLUSIVE),
    {NULL, 0, 0, 0, 0},
};

/* Used, not required: a store with no source still answers from its last
 * good copies. Using the service also makes the loader start the sources
 * first and stop them after the store. */
static const ucd_service_decl store_uses[] = {
    UCD_NEED(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, 0),
    /* the client API's routes (store-routes.c), when api-http runs, and the
     * caller's groups for the directory profiles */
    UCD_NEED(UCD_HTTP_SERVICE, UCD_HTTP_MAJOR, 0),
    UCD_NEED(UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, 0),
    {NULL, 0, 0, 0, 0},
};

UCD_PLUGIN_DEFINE(.name = "contacts-store", .version = "1.0.0", .license = "MIT",
                  .description = "contact directory: replicas of the contact sources, reverse "
                                 "lookup from memory, full-text search",
                  .provides = store_provides, .uses = store_uses, .config_keys = store_keys,
                  .init = store_init, .start = store_start, .stop = store_stop, .fini = store_fini);
