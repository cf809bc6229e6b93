/*
 * store-sources.c - the running contact sources as the store knows them:
 * each one's state, its schedule, and finding a source that started after
 * the store (store.h).
 */
#include <string.h>

#include "store.h"

void store_source_state_free(gpointer p)
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
int store_adopt_source(const ucd_service *service, void *data)
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
        store_adopt_source(&service, st);
        return g_hash_table_lookup(st->sources, name);
    }
    return src;
}
