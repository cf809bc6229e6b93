/*
 * phonebook-routes.h - the contact directory as IP phones fetch it, in the
 * client API (needs http 1.1 for answers that are not JSON):
 *
 *   GET /api/v1/phonebook/yealink[?q=WORDS][&limit=N][&context=DRIVER]
 *   GET /api/v1/phonebook/snom[?q=WORDS][&limit=N][&context=DRIVER]
 *
 * With q, the search of GET /contacts; without, the first contacts in name
 * order. Numbers are written as the PBX `context` dials them (the outside
 * line's prefix added), else in E.164. A phone cannot send a header: the
 * token (an API key with contacts:read, or a user's) comes as ?token=.
 */
#ifndef CONTACTS_STORE_PHONEBOOK_ROUTES_H
#define CONTACTS_STORE_PHONEBOOK_ROUTES_H

#include <ucd/http.h>

#include "store.h"

/* The sources a call's caller may see (g_strfreev; NULL: every source). */
typedef char **(*phonebook_sources_fn)(ucd_http_call *call, void *data);

typedef struct phonebook_routes phonebook_routes;

/* The phonebooks of store `st`; `sources` decides what each caller sees.
 * Free it after the routes are gone and no answer is on a worker (at fini). */
phonebook_routes *phonebook_routes_new(store *st, phonebook_sources_fn sources, void *data);
void phonebook_routes_free(phonebook_routes *pr);

/* Adds the two routes, owned by the store's module, to the http service
 * (removed with the module's other routes). UCD_E_UNSUPPORTED when the
 * service is older than http 1.1. Main loop. */
int phonebook_routes_add(phonebook_routes *pr, const ucd_http_v1 *http, void *http_impl);

#endif /* CONTACTS_STORE_PHONEBOOK_ROUTES_H */
