/*
 * store-routes.h - the contact directory in the client API: search and
 * reverse lookup under /api/v1/contacts, through api-http's http service
 * (ucd/http.h), each caller seeing only the sources its directory profile
 * allows.
 *
 * Directory profiles (the product ucd replaces calls them so, to avoid
 * "everyone sees everything"): `visible_sources` lists the sources every
 * user sees (unset: all of them), `group_sources` adds sources per group
 * ("sales=contacts-csv:crm,contacts-sql:erp"). Admins and API keys (whose
 * scope contacts:read is the grant) see every source.
 */
#ifndef CONTACTS_STORE_STORE_ROUTES_H
#define CONTACTS_STORE_STORE_ROUTES_H

#include <ucd/ucd.h>

typedef struct store store;
typedef struct store_routes store_routes;

/* The configuration keys of the profiles, for the plugin's key table. */
#define STORE_ROUTES_KEYS                                                                          \
    {"visible_sources", UCD_CONFIG_LIST, 0, NULL,                                                  \
     "contact sources every user may see in the client API; unset: every source"},                 \
    {                                                                                              \
        "group_sources", UCD_CONFIG_LIST, 0, NULL,                                                 \
            "more sources per group: GROUP=SOURCE,SOURCE (a group id as the directory has it)"     \
    }

/* Reads the profile keys (errors name the key and the entry). NULL with
 * the module's error set when they are wrong. Init. */
store_routes *store_routes_new(store *st);

/* Adds the routes when api-http runs (it is only used, not required: no
 * api-http, no routes). Start, main loop. */
void store_routes_start(store_routes *r);

/* Removes them. Stop, main loop. */
void store_routes_stop(store_routes *r);

void store_routes_free(store_routes *r);

/* The sources a user may see: NULL when every source (visible_sources
 * unset and no admin check needed), else a NULL-terminated list to free
 * with g_strfreev (empty: none). `groups` are the user's group ids. For
 * the routes and their test. */
char **store_routes_visible(const store_routes *r, const char *const *groups);

#endif /* CONTACTS_STORE_STORE_ROUTES_H */
