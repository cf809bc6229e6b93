/*
 * store.h - the contact store's state, shared by its files: the plugin
 * (contacts-store.c: life cycle; store-query.c: the "contacts" service's
 * lookup and search; store-sources.c: the sources' states), replication
 * (replication.c: a source's copy from replicate() to the swap) and the
 * control commands (directory-commands.c).
 *
 * Threads: `sources` and everything in a source_state belong to the main
 * loop. Replications run on one work queue per source (never two at once for
 * one source) and share the writer connection under `write_lock`; `copies`
 * (the current copy of every source) is changed under `copies_lock` by the
 * replication that swaps, which then publishes a new number index in `cell`
 * (under `index_lock`, one swap at a time).
 * Lookups read only `cell`; searches read `cell` and a reader connection.
 */
#ifndef CONTACTS_STORE_STORE_H
#define CONTACTS_STORE_STORE_H

#include <glib.h>
#include <stdatomic.h>
#include <ucd/contacts.h>
#include <ucd/numbers.h>
#include <ucd/ucd.h>

#include "contact-copy.h"
#include "number-index.h"
#include "store-db.h"

typedef struct store store;

typedef struct source_state {
    store *st;
    char *name; /* module id */
    gboolean running;
    const ucd_contact_source_v1 *iface; /* while running */
    void *impl;
    ucd_contact_source_info info;
    ucd_timer *timer;
    ucd_work_queue *queue;
    gboolean busy;         /* a replication is queued or running */
    int64_t busy_since;    /* unix seconds */
    int64_t attempt_at;    /* last attempt's end; 0: none yet */
    char *attempt_result;  /* "ok", "failed: ...", "refused: ..." */
    uint64_t skipped;      /* by the last attempt */
    uint64_t replications; /* attempts since start */
    /* How far the running replication is, as its source says: written by
     * the worker, read by `directory sources`. */
    atomic_uint_fast64_t progress_done, progress_total;
} source_state;

struct store {
    ucd_plugin *self;
    const ucd_host *host;
    const ucd_numbers_v1 *numbers;
    void *numbers_impl;
    char *path;
    gboolean replicate_at_start;
    atomic_int stopping;

    GMutex write_lock; /* the writer connection */
    store_db *db;
    GAsyncQueue *readers; /* idle store_reader */

    GMutex copies_lock; /* `copies` */
    GMutex index_lock;  /* one swap_and_publish at a time (replication.c) */
    GHashTable *copies; /* source name -> contact_copy *, the current copy */
    index_cell cell;

    GHashTable *sources; /* name -> source_state *; main loop */
    gboolean loaded;
    char *load_error;
    ucd_counter *replications_failed;
    struct store_routes *routes; /* the client API's /contacts (store-routes.c) */
};

/* ---- replication.c ---- */

/* Queues a replication of `src`. `reply`, when not NULL, was deferred and is
 * completed when it ends, with the progress lines when `progress`. Returns
 * UCD_E_BUSY when one is queued or running already. Main loop. */
int store_replicate(source_state *src, ucd_reply *reply, gboolean progress);

/* Reads the copies in the database into memory and publishes their index.
 * Runs on a worker, at start. */
void store_load(store *st);

/* Normalizes `raw` for `context`: E.164 digits, 0 when it has none;
 * `info` may be NULL. Any thread. */
uint64_t store_normalize(store *st, const char *context, const char *raw, ucd_number_info *info,
                         int *rc);

/* ---- store-sources.c ---- */

/* The source called `name`, found among the running contact sources now
 * when it is not known yet; NULL when there is none. Main loop. */
source_state *store_source(store *st, const char *name);

/* A running "contact-source" service becomes a source of the store (a
 * ucd_service_cb for service_foreach; `data` is the store). Main loop. */
int store_adopt_source(const ucd_service *service, void *data);

/* GDestroyNotify of the store's `sources` table. */
void store_source_state_free(gpointer p);

/* ---- store-query.c ---- */

/* The service functions, also for the commands and the routes. */
int store_lookup(void *impl, const char *context, const char *number, const char *const *sources,
                 ucd_contact_hit_cb cb, void *user_data);
int store_search(void *impl, const char *query, const char *const *sources, uint32_t limit,
                 ucd_contact_hit_cb cb, void *user_data);

/* TRUE when `text` (NULL allowed) has something besides spaces: a query
 * worth a search. */
gboolean store_has_word(const char *text);

/* The first `limit` contacts with a name, in name order (ASCII letters
 * folded), of the copies `sources` allows (NULL: all): what a phone's
 * phonebook lists before anyone searches. From memory, any thread; a scan of
 * every contact, so a worker's job for a large directory. */
int store_list(store *st, const char *const *sources, uint32_t limit, ucd_contact_hit_cb cb,
               void *user_data);

/* The current copy of `name` (a reference), or NULL. Any thread. */
contact_copy *store_current_copy(store *st, const char *name);

/* ---- directory-commands.c ---- */

/* Registers `ucctl directory ...`. Init. */
int store_commands_register(store *st);

#endif /* CONTACTS_STORE_STORE_H */
