/*
 * store-snapshot.c - contacts-store's file, read-only (store-snapshot.h).
 *
 * The read transaction is opened by the first SELECT (BEGIN alone takes no
 * snapshot in SQLite) and held until close, so the fingerprint and the
 * contacts read after it describe the same generations. In WAL mode this
 * never blocks the store's writer; a long read only keeps the WAL from
 * being checkpointed past our snapshot until we are done.
 */
#include "store-snapshot.h"

#include <sqlite3.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 10000
#define MAX_NUMBERS     32 /* the store keeps at most 32 a contact */

struct store_snapshot {
    sqlite3 *db;
    char *path;
};

static char *snap_error(store_snapshot *snap, const char *what)
{
    return g_strdup_printf("%s: %s: %s", snap->path, what, sqlite3_errmsg(snap->db));
}

static gboolean snap_exec(store_snapshot *snap, const char *sql, char **error)
{
    if (sqlite3_exec(snap->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return TRUE;
    *error = snap_error(snap, sql);
    return FALSE;
}

static gboolean check_schema(store_snapshot *snap, char **error)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(snap->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                           &stmt, NULL) != SQLITE_OK) {
        *error = g_strdup_printf("%s: not a contacts-store database (%s)", snap->path,
                                 sqlite3_errmsg(snap->db));
        return FALSE;
    }
    int version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (version == STORE_SNAPSHOT_SCHEMA)
        return TRUE;
    *error = g_strdup_printf("%s: contacts-store schema version %d, this exporter reads version %d",
                             snap->path, version, STORE_SNAPSHOT_SCHEMA);
    return FALSE;
}

store_snapshot *store_snapshot_open(const char *path, gboolean *missing, char **error)
{
    if (missing != NULL)
        *missing = FALSE;
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (missing != NULL)
            *missing = TRUE;
        *error = g_strdup_printf("%s: no such file (contacts-store has not written it yet, or "
                                 "`store` names the wrong file)",
                                 path);
        return NULL;
    }
    store_snapshot *snap = g_new0(store_snapshot, 1);
    snap->path = g_strdup(path);
    if (sqlite3_open_v2(path, &snap->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        *error = snap_error(snap, "open");
        store_snapshot_close(snap);
        return NULL;
    }
    sqlite3_busy_timeout(snap->db, BUSY_TIMEOUT_MS);
    if (!snap_exec(snap, "BEGIN", error) || !check_schema(snap, error)) {
        store_snapshot_close(snap);
        return NULL;
    }
    return snap;
}

void store_snapshot_close(store_snapshot *snap)
{
    if (snap == NULL)
        return;
    if (snap->db != NULL && !sqlite3_get_autocommit(snap->db))
        sqlite3_exec(snap->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(snap->db);
    g_free(snap->path);
    g_free(snap);
}

static gboolean wanted(const char *const *sources, const char *name)
{
    return sources == NULL || g_strv_contains(sources, name);
}

/* Calls `cb(name, generation, first_id, contacts)` for each exported source. */
static gboolean foreach_source(store_snapshot *snap, const char *const *sources,
                               gboolean (*cb)(const char *name, int64_t generation,
                                              int64_t first_id, int64_t contacts, void *data),
                               void *data, char **error)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(snap->db,
                           "SELECT name, generation, first_id, contacts FROM sources ORDER BY name",
                           -1, &stmt, NULL) != SQLITE_OK) {
        *error = snap_error(snap, "reading sources");
        return FALSE;
    }
    int rc;
    gboolean go_on = TRUE;
    while (go_on && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        if (name != NULL && wanted(sources, name))
            go_on = cb(name, sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2),
                       sqlite3_column_int64(stmt, 3), data);
    }
    if (go_on && rc != SQLITE_DONE)
        *error = snap_error(snap, "reading sources");
    sqlite3_finalize(stmt);
    return go_on && rc == SQLITE_DONE;
}

static gboolean add_generation(const char *name, int64_t generation, int64_t first_id,
                               int64_t contacts, void *data)
{
    (void)first_id;
    (void)contacts;
    g_string_append_printf(data, "%s%s=%" G_GINT64_FORMAT, ((GString *)data)->len ? ";" : "", name,
                           generation);
    return TRUE;
}

char *store_snapshot_fingerprint(store_snapshot *snap, const char *const *sources, char **error)
{
    GString *out = g_string_new(NULL);
    if (!foreach_source(snap, sources, add_generation, out, error)) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

typedef struct read_run {
    store_snapshot *snap;
    sqlite3_stmt *contacts, *numbers;
    gboolean (*cb)(const snapshot_contact *contact, void *data);
    void *data;
    gboolean stopped; /* by cb */
    char **error;
    GStringChunk *numbers_text; /* the current contact's numbers: the numbers
                                   statement moves on before cb runs */
} read_run;

static const char *text_or_null(sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    return text != NULL && *text != '\0' ? text : NULL;
}

/* One source's copy: its contacts by id range, each with its numbers (both
 * statements walk the range in id order, side by side). */
static gboolean read_source(const char *name, int64_t generation, int64_t first_id,
                            int64_t contacts, void *data)
{
    (void)generation;
    read_run *run = data;
    int64_t last = first_id + contacts - 1;
    sqlite3_reset(run->contacts);
    sqlite3_reset(run->numbers);
    sqlite3_bind_int64(run->contacts, 1, first_id);
    sqlite3_bind_int64(run->contacts, 2, last);
    sqlite3_bind_int64(run->numbers, 1, first_id);
    sqlite3_bind_int64(run->numbers, 2, last);
    snapshot_number numbers[MAX_NUMBERS];
    int rc, nrc = sqlite3_step(run->numbers);
    while ((rc = sqlite3_step(run->contacts)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(run->contacts, 0);
        guint n = 0;
        while (nrc == SQLITE_ROW && sqlite3_column_int64(run->numbers, 0) < id)
            nrc = sqlite3_step(run->numbers); /* a number of no contact: ignored */
        while (nrc == SQLITE_ROW && sqlite3_column_int64(run->numbers, 0) == id) {
            const char *raw = text_or_null(run->numbers, 2);
            const char *e164 = (const char *)sqlite3_column_text(run->numbers, 3);
            if (n < MAX_NUMBERS)
                numbers[n++] = (snapshot_number){
                    .kind = (uint32_t)sqlite3_column_int(run->numbers, 1),
                    .raw = raw != NULL ? g_string_chunk_insert(run->numbers_text, raw) : NULL,
                    .e164 = g_string_chunk_insert(run->numbers_text, e164 != NULL ? e164 : ""),
                };
            nrc = sqlite3_step(run->numbers);
        }
        sqlite3_stmt *c = run->contacts;
        snapshot_contact contact = {
            .source = name,
            .source_id = text_or_null(c, 1),
            .display_name = text_or_null(c, 2),
            .given_name = text_or_null(c, 3),
            .surname = text_or_null(c, 4),
            .company = text_or_null(c, 5),
            .department = text_or_null(c, 6),
            .email = text_or_null(c, 7),
            .address = text_or_null(c, 8),
            .crm_link = text_or_null(c, 9),
            .n_numbers = n,
            .numbers = numbers,
        };
        gboolean go_on = run->cb(&contact, run->data);
        g_string_chunk_clear(run->numbers_text);
        if (!go_on) {
            run->stopped = TRUE;
            return FALSE;
        }
    }
    if (rc != SQLITE_DONE || (nrc != SQLITE_DONE && nrc != SQLITE_ROW)) {
        *run->error = snap_error(run->snap, "reading contacts");
        return FALSE;
    }
    return TRUE;
}

gboolean store_snapshot_foreach(store_snapshot *snap, const char *const *sources,
                                gboolean (*cb)(const snapshot_contact *contact, void *data),
                                void *data, char **error)
{
    read_run run = {.snap = snap, .cb = cb, .data = data, .error = error};
    run.numbers_text = g_string_chunk_new(256);
    if (sqlite3_prepare_v2(snap->db,
                           "SELECT id, source_id, display_name, given_name, surname, company,"
                           " department, email, address, crm_link FROM contacts"
                           " WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
                           -1, &run.contacts, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(snap->db,
                           "SELECT contact, kind, raw, e164 FROM numbers"
                           " WHERE contact BETWEEN ?1 AND ?2 ORDER BY contact, seq",
                           -1, &run.numbers, NULL) != SQLITE_OK) {
        *error = snap_error(snap, "reading contacts");
        sqlite3_finalize(run.contacts);
        g_string_chunk_free(run.numbers_text);
        return FALSE;
    }
    gboolean ok = foreach_source(snap, sources, read_source, &run, error);
    sqlite3_finalize(run.contacts);
    sqlite3_finalize(run.numbers);
    g_string_chunk_free(run.numbers_text);
    return ok;
}
