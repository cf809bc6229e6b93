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
 * Lookups answer from the published number index (number-index.h) and the
 * copies in memory, so they never block and never touch the disk; searches
 * ask the full-text index on a reader connection, then take the contact from
 * memory too.
 */
#include <inttypes.h>
#include <string.h>

#include "store-routes.h"
#include "store.h"

#define IDLE_READERS 4

static const ucd_config_key store_keys[] = {
    {"database", UCD_CONFIG_STRING, 0, NULL, "the SQLite file; default STATE_DIR/contacts.sqlite"},
    {"replicate_at_start", UCD_CONFIG_BOOL, 0, "true",
     "replicate every source when ucd starts (else only on schedule and on demand)"},
    STORE_ROUTES_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

/* ---- sources ---- */

static void source_state_free(gpointer p)
{
    source_state *src = p;
    g_free(src->name);
    g_free(src->attempt_result);
    g_free(src);
}

static source_state *source_state_new(store *st, const char *name)
{
    source_state *src = g_new0(source_state, 1);
    src->st = st;
    src->name = g_strdup(name);
    g_hash_table_replace(st->sources, src->name, src);
    return src;
}

static void scheduled(void *data)
{
    source_state *src = data;
    int rc = store_replicate(src, NULL, FALSE);
    if (rc == UCD_E_BUSY)
        src->st->host->log(src->st->self, UCD_LOG_INFO,
                           "source %s: scheduled replication skipped, the last one still runs",
                           src->name);
}

/* Takes a running provider of "contact-source" into the store. */
static int adopt_source(const ucd_service *service, void *data)
{
    store *st = data;
    source_state *src = g_hash_table_lookup(st->sources, service->provider);
    if (src == NULL)
        src = source_state_new(st, service->provider);
    if (src->running)
        return 0;
    src->running = TRUE;
    src->iface = service->iface;
    src->impl = service->impl;
    src->info = (ucd_contact_source_info){
        .struct_size = sizeof src->info, .priority = 100, .replicate_every = 3600, .min_ratio = 50};
    if (src->iface->info != NULL)
        src->iface->info(src->impl, &src->info);
    if (src->info.replicate_every > 0)
        src->timer = st->host->timer_add(st->self, (uint64_t)src->info.replicate_every * 1000,
                                         UCD_TIMER_REPEAT, scheduled, src);
    st->host->log(st->self, UCD_LOG_INFO,
                  "source %s: priority %d, replicated every %u s, min_ratio %u %%, switchboard %s",
                  src->name, src->info.priority, src->info.replicate_every, src->info.min_ratio,
                  src->info.switchboard ? "on" : "off");
    return 0;
}

source_state *store_source(store *st, const char *name)
{
    source_state *src = g_hash_table_lookup(st->sources, name);
    if (src != NULL && src->running)
        return src;
    ucd_service service = {.struct_size = sizeof service};
    if (st->host->service_get(st->self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, name,
                              &service) == UCD_OK) {
        adopt_source(&service, st);
        return g_hash_table_lookup(st->sources, name);
    }
    return src;
}

/* ---- the "contacts" service ---- */

typedef struct hit_ctx {
    ucd_contact_hit_cb cb;
    void *user_data;
} hit_ctx;

static int report(const contact_copy *copy, uint32_t contact, int number, int prefix,
                  ucd_contact_hit_cb cb, void *user_data)
{
    ucd_contact c;
    ucd_contact_number numbers[CONTACT_COPY_MAX_NUMBERS];
    contact_copy_render(copy, contact, &c, numbers);
    ucd_contact_hit hit = {.struct_size = sizeof hit,
                           .priority = copy->priority,
                           .source = copy->source,
                           .contact = &c,
                           .matched_number = number >= 0 ? numbers[number].raw : NULL,
                           .matched_kind = number >= 0 ? numbers[number].kind : 0,
                           .prefix_match = prefix != 0};
    return cb(&hit, user_data);
}

static int on_match(const number_index *index, const index_entry *e, int prefix, void *data)
{
    hit_ctx *ctx = data;
    return report(index->copies[e->copy], e->contact, e->number, prefix, ctx->cb, ctx->user_data);
}

int store_lookup(void *impl, const char *context, const char *number, const char *const *sources,
                 ucd_contact_hit_cb cb, void *user_data)
{
    store *st = impl;
    int rc = UCD_OK;
    if (number == NULL || cb == NULL)
        return UCD_E_INVALID;
    uint64_t digits = store_normalize(st, context, number, NULL, &rc);
    if (rc == UCD_E_INVALID)
        return UCD_E_INVALID;
    if (digits == 0)
        return UCD_E_NOT_FOUND;
    hit_ctx ctx = {cb, user_data};
    unsigned ticket;
    number_index *index = index_cell_enter(&st->cell, &ticket);
    unsigned found = number_index_lookup(index, digits, sources, on_match, &ctx);
    index_cell_leave(&st->cell, ticket);
    return found == 0 ? UCD_E_NOT_FOUND : UCD_OK;
}

typedef struct search_ctx {
    store *st;
    const char *short_words; /* checked here, not by the full-text index */
    const char *const *sources;
    uint32_t limit, reported;
    ucd_contact_hit_cb cb;
    void *user_data;
    int stopped;
} search_ctx;

/* The short words of a query, checked on contact `k`'s searchable fields
 * and numbers as the full-text index would: each word a prefix of a word
 * (case and diacritics folded). */
static gboolean matches_short_words(const contact_copy *copy, uint32_t k, const char *short_words)
{
    GString *text = g_string_sized_new(256);
    for (int f = CONTACT_FIELD_DISPLAY_NAME; f <= CONTACT_FIELD_ADDRESS; f++) {
        const char *v = contact_copy_field(copy, k, f);
        if (v != NULL)
            g_string_append_printf(text, "%s ", v);
    }
    const copy_contact *c = &g_array_index(copy->contacts, copy_contact, k);
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        const copy_number *n = contact_copy_number(copy, c->first_number + i);
        if (n->e164 != 0)
            g_string_append_printf(text, "%" G_GUINT64_FORMAT " ", n->e164);
        if (n->display != 0)
            g_string_append_printf(text, "%s ", contact_copy_text(copy, n->display));
        if (n->raw != 0)
            g_string_append_printf(text, "%s ", contact_copy_text(copy, n->raw));
    }
    gboolean match = g_str_match_string(short_words, text->str, TRUE);
    g_string_free(text, TRUE);
    return match;
}

static int on_search_row(int64_t id, void *data)
{
    search_ctx *ctx = data;
    unsigned ticket;
    number_index *index = index_cell_enter(&ctx->st->cell, &ticket);
    for (guint c = 0; index != NULL && c < index->n_copies; c++) {
        const contact_copy *copy = index->copies[c];
        if (id < copy->first_id || id >= copy->first_id + contact_copy_count(copy))
            continue;
        uint32_t k = (uint32_t)(id - copy->first_id);
        if (number_index_source_visible(index, c, ctx->sources) &&
            (ctx->short_words == NULL || matches_short_words(copy, k, ctx->short_words))) {
            ctx->reported++;
            ctx->stopped =
                report(copy, (uint32_t)(id - copy->first_id), -1, 0, ctx->cb, ctx->user_data);
        }
        break;
    }
    index_cell_leave(&ctx->st->cell, ticket);
    return ctx->stopped || ctx->reported >= ctx->limit;
}

int store_search(void *impl, const char *query, const char *const *sources, uint32_t limit,
                 ucd_contact_hit_cb cb, void *user_data)
{
    store *st = impl;
    if (cb == NULL)
        return UCD_E_INVALID;
    char *short_words = NULL;
    char *fts = store_fts_query(query, &short_words);
    if (fts == NULL)
        return UCD_E_INVALID;
    char *error = NULL;
    store_reader *reader = g_async_queue_try_pop(st->readers);
    if (reader == NULL)
        reader = store_reader_open(st->path, &error);
    int rc = UCD_FAIL;
    if (reader != NULL) {
        search_ctx ctx = {st, short_words, sources, limit ? limit : 50, 0, cb, user_data, 0};
        rc = store_reader_search(reader, fts, on_search_row, &ctx, &error) == 0 ? UCD_OK : UCD_FAIL;
        if (g_async_queue_length(st->readers) < IDLE_READERS)
            g_async_queue_push(st->readers, reader);
        else
            store_reader_close(reader);
    }
    if (error != NULL)
        st->host->log(st->self, UCD_LOG_WARNING, "%s", error);
    g_free(error);
    g_free(fts);
    g_free(short_words);
    return rc;
}

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
    st->sources = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, source_state_free);
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
                              adopt_source, st);
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
