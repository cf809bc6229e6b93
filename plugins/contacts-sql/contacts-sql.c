/*
 * contacts-sql.c - the contacts-sql plugin: contacts from one SELECT on a
 * SQLite file or any ODBC database, service "contact-source" major 1
 * (ucd/contacts.h).
 *
 * The plugin keeps nothing between replications: each replicate() call
 * opens its own connection on the store's worker thread, streams the rows
 * of the query through the field map into the store's sink, and closes
 * it. Everything replicate() reads was fixed in init, so it needs no lock.
 * A failure to connect or an SQL error anywhere (also after some rows)
 * fails the replication, and the store keeps its last good copy; a bad row
 * is only skipped.
 */
#include <string.h>

#include <glib.h>
#include <ucd/contacts.h>
#include <ucd/ucd.h>

#include "contact-link.h"
#include "contact-source-config.h"
#include "csql-map.h"
#include "csql-rows.h"
#include "odbc-util.h"

/* Rows between two progress reports and two cancellation checks. */
#define CSQL_PROGRESS_EVERY 1000
#define CSQL_CANCEL_EVERY   64

typedef struct csql_state {
    ucd_plugin *self;
    const ucd_host *host;
    ucd_contact_source_info info;
    csql_source source;
    char *target;   /* the file's path or the connection string; may hold a secret */
    char *password; /* ODBC */
    char *query;
    csql_map map;
} csql_state;

static const ucd_config_key csql_keys[] = {
    {"backend", UCD_CONFIG_STRING, 0, "sqlite", "sqlite (a database file) or odbc"},
    {"database", UCD_CONFIG_STRING, 0, NULL, "sqlite: path of the database file"},
    ODBC_UTIL_CONNECTION_KEYS("odbc: "),
    {"timeout", UCD_CONFIG_DURATION, 0, "10s", "connect (ODBC) or busy (SQLite) timeout"},
    {"query", UCD_CONFIG_STRING, 0, NULL, "the SELECT that returns one row per contact"},
    {"max_value_length", UCD_CONFIG_INT, 0, "4096",
     "longest value accepted, in bytes; a row with a longer one is skipped"},
    CSQL_MAP_KEYS,
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl csql_provides[] = {
    UCD_PROVIDE(UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR, UCD_CONTACT_SOURCE_MINOR, 0),
    {NULL},
};

/* ---- the service ---------------------------------------------------------------- */

static void csql_info(void *impl, ucd_contact_source_info *out)
{
    csql_state *state = impl;
    contact_source_info_copy(&state->info, out);
}

/* Streams the rows of an open result into the sink. */
static int csql_stream(csql_state *state, csql_rows *rows, csql_bound *bound,
                       const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    uint64_t row = 0;
    for (;;) {
        char *message = NULL;
        int step = csql_rows_next(rows, &message);
        if (step < 0) {
            *error = g_strdup_printf("after %" G_GUINT64_FORMAT " rows: %s", row, message);
            g_free(message);
            return UCD_FAIL;
        }
        if (step == 0)
            break;
        row++;
        if (row % CSQL_CANCEL_EVERY == 0 && sink->cancelled(sink_impl)) {
            *error = g_strdup_printf("cancelled at query row %" G_GUINT64_FORMAT, row);
            return UCD_E_BUSY;
        }
        ucd_contact contact;
        const char *problem = NULL;
        if (csql_bound_read(bound, &contact, &problem) == CSQL_ROW_SKIPPED) {
            char *where = g_strdup_printf("query row %" G_GUINT64_FORMAT, row);
            sink->skipped(sink_impl, where, problem);
            g_free(where);
        } else {
            int result = sink->add(sink_impl, &contact);
            if (result != UCD_OK && result != UCD_E_INVALID) {
                *error = g_strdup_printf("the store refused query row %" G_GUINT64_FORMAT ": %s",
                                         row, ucd_strerror(result));
                return result;
            }
        }
        if (row % CSQL_PROGRESS_EVERY == 0)
            sink->progress(sink_impl, row, 0);
    }
    sink->progress(sink_impl, row, row);
    return UCD_OK;
}

static int csql_replicate(void *impl, const ucd_contact_sink *sink, void *sink_impl, char **error)
{
    csql_state *state = impl;
    char *message = NULL;
    int result = UCD_FAIL;
    csql_bound *bound = NULL;
    csql_rows *rows = csql_rows_open(&state->source, state->query, &message);
    if (rows != NULL)
        bound = csql_map_bind(&state->map, rows, &message);
    if (bound != NULL)
        result = csql_stream(state, rows, bound, sink, sink_impl, &message);
    csql_bound_free(bound);
    csql_rows_close(rows);
    if (result != UCD_OK) {
        /* The store frees it with free(), not g_free(). */
        *error = strdup(message != NULL ? message : "failed");
        g_free(message);
    }
    return result;
}

static const ucd_contact_source_v1 csql_iface = {
    .struct_size = sizeof(ucd_contact_source_v1),
    .info = csql_info,
    .replicate = csql_replicate,
};

/* ---- configuration -------------------------------------------------------------- */

static const char *csql_string(csql_state *state, const char *key)
{
    const char *value = NULL;
    if (state->host->config_string(state->self, key, &value) != UCD_OK)
        return NULL;
    return value != NULL && *value != '\0' ? value : NULL;
}

static int csql_read_target(csql_state *state)
{
    const ucd_host *host = state->host;
    const char *backend = csql_string(state, "backend");
    int64_t timeout_ms = 0;
    host->config_int(state->self, "timeout", &timeout_ms);
    state->source.timeout_s = (int)MAX(1, MIN(timeout_ms / 1000, 3600));
    if (g_strcmp0(backend, "odbc") == 0) {
        const char *bad_key = NULL, *why = NULL;
        state->target =
            odbc_config_target(csql_string(state, "dsn"), csql_string(state, "connection_string"),
                               csql_string(state, "user"), &bad_key, &why);
        if (state->target == NULL)
            return host->config_error(state->self, bad_key, "backend odbc: %s", why);
        state->password = g_strdup(csql_string(state, "password"));
        state->source.backend = CSQL_BACKEND_ODBC;
    } else if (g_strcmp0(backend, "sqlite") == 0) {
        const char *database = csql_string(state, "database");
        if (database == NULL)
            return host->config_error(state->self, "database",
                                      "backend sqlite needs the file's path");
        state->target = g_canonicalize_filename(database, NULL);
        state->source.backend = CSQL_BACKEND_SQLITE;
    } else {
        return host->config_error(state->self, "backend", "must be sqlite or odbc");
    }
    state->source.target = state->target;
    state->source.password = state->password;
    return UCD_OK;
}

/* A key is "explicit" when its value differs from the key table's default:
 * a column the administrator named must then be in the result. */
static const char *csql_default_of(const char *key)
{
    for (const ucd_config_key *k = csql_keys; k->name != NULL; k++)
        if (strcmp(k->name, key) == 0)
            return k->default_value;
    return NULL;
}

static void csql_read_map(csql_state *state)
{
    const ucd_host *host = state->host;
    csql_map *map = &state->map;
    for (int i = 0; i < CSQL_F_TEXT_COUNT; i++) {
        const char *value = csql_string(state, csql_map_text_keys[i]);
        map->text[i] = g_strdup(value);
        map->text_explicit[i] = g_strcmp0(value, csql_default_of(csql_map_text_keys[i])) != 0;
    }
    for (int kind = 0; kind < CSQL_NUMBER_KINDS; kind++) {
        const char *const *items = NULL;
        size_t count = 0;
        host->config_list(state->self, csql_map_number_keys[kind], &items, &count);
        GPtrArray *names = g_ptr_array_new();
        for (size_t i = 0; i < count; i++)
            if (items[i] != NULL && *items[i] != '\0')
                g_ptr_array_add(names, g_strdup(items[i]));
        map->numbers_explicit[kind] =
            !(names->len == 1 &&
              strcmp(names->pdata[0], csql_default_of(csql_map_number_keys[kind])) == 0);
        g_ptr_array_add(names, NULL);
        map->numbers[kind] = (char **)g_ptr_array_free(names, FALSE);
    }
    map->crm_link = g_strdup(csql_string(state, "crm_link"));
}

static int csql_read_config(csql_state *state)
{
    const ucd_host *host = state->host;
    if (contact_source_config_read(state->self, host, &state->info) != UCD_OK)
        return UCD_FAIL;
    int result = csql_read_target(state);
    if (result != UCD_OK)
        return result;
    const char *query = csql_string(state, "query");
    if (query == NULL)
        return host->config_error(state->self, "query",
                                  "needed: the SELECT that returns the contacts");
    state->query = g_strdup(query);
    int64_t max_value = 0;
    host->config_int(state->self, "max_value_length", &max_value);
    if (max_value < 16 || max_value > 1024 * 1024)
        return host->config_error(state->self, "max_value_length", "must be 16..1048576");
    state->source.max_value = (gsize)max_value;
    csql_read_map(state);
    if (state->map.text[CSQL_F_SOURCE_ID] == NULL)
        return host->config_error(state->self, "map_source_id",
                                  "needed: the column that keys a contact");
    if (state->map.crm_link != NULL) {
        const char *why = NULL;
        contact_link *link = contact_link_parse(state->map.crm_link, &why);
        if (link == NULL)
            return host->config_error(state->self, "crm_link", "%s", why);
        contact_link_free(link);
    }
    return UCD_OK;
}

/* ---- life cycle ----------------------------------------------------------------- */

static void csql_state_free(csql_state *state)
{
    if (state->target != NULL)
        memset(state->target, 0, strlen(state->target));
    if (state->password != NULL)
        memset(state->password, 0, strlen(state->password));
    g_free(state->target);
    g_free(state->password);
    g_free(state->query);
    csql_map_clear(&state->map);
    g_free(state);
}

static int csql_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    csql_state *state = g_new0(csql_state, 1);
    state->self = self;
    state->host = host;
    int result = csql_read_config(state);
    if (result == UCD_OK) {
        result = host->service_register(self, UCD_CONTACT_SOURCE_SERVICE, UCD_CONTACT_SOURCE_MAJOR,
                                        &csql_iface, state);
        if (result != UCD_OK)
            host->set_error(self, "cannot register the contact-source service: %s",
                            ucd_strerror(result));
    }
    if (result != UCD_OK) {
        csql_state_free(state);
        return UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

static void csql_fini(void *data)
{
    csql_state_free(data);
}

UCD_PLUGIN_DEFINE(.name = "contacts-sql", .version = "1.0.0", .license = "MIT",
                  .description = "contacts from a SELECT on SQLite or any ODBC database",
                  .provides = csql_provides, .config_keys = csql_keys, .init = csql_init,
                  .fini = csql_fini);
