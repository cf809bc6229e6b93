/*
 * store-db.c - the contact store's SQLite file (store-db.h).
 *
 * Ids: a copy's contacts get consecutive ids from max(id) + 1, chosen inside
 * the writing transaction (there is one writer). So a copy is the id range
 * [first_id, first_id + contacts), its old generation is deleted by range,
 * and a search hit's id finds its copy in memory by range too.
 *
 * The full-text table keeps its own content (SQLite 3.40 has no contentless
 * delete), so deleting an old generation's rows needs nothing but their ids.
 */
#include "store-db.h"

#include <sqlite3.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define BUSY_TIMEOUT_MS 10000
/* The writer's page cache while it writes a copy (store_db_write_copy). */
#define WRITE_CACHE_KIB 262144

struct store_db {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *insert_contact;
    sqlite3_stmt *insert_number;
    sqlite3_stmt *insert_fts;
};

/* A query matching more contacts than this is answered in index order, not
 * by relevance: ranking means scoring every match (a second for the "m" of a
 * million contacts), and a person typing a name wants the next letter's
 * answer now rather than the best of half the directory. */
#define RANK_AT_MOST 2000

struct store_reader {
    sqlite3 *db;
    sqlite3_stmt *count; /* matches, up to RANK_AT_MOST + 1 */
    sqlite3_stmt *ranked;
    sqlite3_stmt *unranked;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS sources("
    "  name TEXT PRIMARY KEY, generation INTEGER NOT NULL, first_id INTEGER NOT NULL,"
    "  contacts INTEGER NOT NULL, numbers INTEGER NOT NULL, priority INTEGER NOT NULL,"
    "  good_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS contacts("
    "  id INTEGER PRIMARY KEY, source TEXT NOT NULL, generation INTEGER NOT NULL,"
    "  source_id TEXT, display_name TEXT, given_name TEXT, surname TEXT, company TEXT,"
    "  department TEXT, email TEXT, address TEXT, crm_link TEXT);"
    "CREATE TABLE IF NOT EXISTS numbers("
    "  contact INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL, raw TEXT,"
    "  e164 TEXT NOT NULL, display_digits TEXT, switchboard INTEGER NOT NULL,"
    "  PRIMARY KEY(contact, seq)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5("
    "  display_name, given_name, surname, company, department, email, address, numbers,"
    "  tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3');";

static char *db_error(sqlite3 *db, const char *path, const char *what)
{
    return g_strdup_printf("%s: %s: %s", path, what, sqlite3_errmsg(db));
}

static int exec(store_db *db, const char *sql, char **error)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        *error = g_strdup_printf("%s: %s", db->path, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc;
}

static int prepare(store_db *db, const char *sql, sqlite3_stmt **stmt, char **error)
{
    int rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
    if (rc != SQLITE_OK)
        *error = db_error(db->db, db->path, "prepare");
    return rc;
}

static int check_version(store_db *db, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'", &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    int version = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (version == 0)
        return exec(db,
                    "INSERT INTO meta(key, value) VALUES ('schema_version', '1')"
                    " ON CONFLICT(key) DO NOTHING",
                    error);
    if (version != STORE_DB_SCHEMA_VERSION) {
        *error = g_strdup_printf("%s: schema version %d, this contacts-store reads version %d",
                                 db->path, version, STORE_DB_SCHEMA_VERSION);
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

store_db *store_db_open(const char *path, char **error)
{
    store_db *db = g_new0(store_db, 1);
    db->path = g_strdup(path);
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        *error = db_error(db->db, path, "open");
        store_db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
    if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", error) != SQLITE_OK ||
        exec(db, schema_sql, error) != SQLITE_OK || check_version(db, error) != SQLITE_OK ||
        prepare(db,
                "INSERT INTO contacts(id, source, generation, source_id, display_name, given_name,"
                " surname, company, department, email, address, crm_link)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                &db->insert_contact, error) != SQLITE_OK ||
        prepare(db,
                "INSERT INTO numbers(contact, seq, kind, raw, e164, display_digits, switchboard)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &db->insert_number, error) != SQLITE_OK ||
        prepare(db,
                "INSERT INTO contacts_fts(rowid, display_name, given_name, surname, company,"
                " department, email, address, numbers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                &db->insert_fts, error) != SQLITE_OK) {
        store_db_close(db);
        return NULL;
    }
    return db;
}

void store_db_close(store_db *db)
{
    if (db == NULL)
        return;
    sqlite3_finalize(db->insert_contact);
    sqlite3_finalize(db->insert_number);
    sqlite3_finalize(db->insert_fts);
    sqlite3_close(db->db);
    g_free(db->path);
    g_free(db);
}

int store_db_foreach_source(store_db *db, void (*cb)(const store_source_row *row, void *data),
                            void *data, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db,
                     "SELECT name, generation, first_id, contacts, numbers, priority, good_at"
                     " FROM sources ORDER BY name",
                     &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_source_row row = {.name = (const char *)sqlite3_column_text(stmt, 0),
                                .generation = sqlite3_column_int64(stmt, 1),
                                .first_id = sqlite3_column_int64(stmt, 2),
                                .contacts = sqlite3_column_int64(stmt, 3),
                                .numbers = sqlite3_column_int64(stmt, 4),
                                .priority = sqlite3_column_int(stmt, 5),
                                .good_at = sqlite3_column_int64(stmt, 6)};
        cb(&row, data);
    }
    if (rc != SQLITE_DONE)
        *error = db_error(db->db, db->path, "reading sources");
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static const char *col_text(sqlite3_stmt *stmt, int col)
{
    return (const char *)sqlite3_column_text(stmt, col);
}

contact_copy *store_db_load_copy(store_db *db, const store_source_row *row, char **error)
{
    sqlite3_stmt *contacts = NULL, *numbers = NULL;
    if (prepare(db,
                "SELECT id, source_id, display_name, given_name, surname, company, department,"
                " email, address, crm_link FROM contacts WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
                &contacts, error) != SQLITE_OK ||
        prepare(db,
                "SELECT contact, kind, raw, e164, display_digits, switchboard FROM numbers"
                " WHERE contact BETWEEN ?1 AND ?2 ORDER BY contact, seq",
                &numbers, error) != SQLITE_OK) {
        sqlite3_finalize(contacts);
        return NULL;
    }
    int64_t last = row->first_id + row->contacts - 1;
    sqlite3_bind_int64(contacts, 1, row->first_id);
    sqlite3_bind_int64(contacts, 2, last);
    sqlite3_bind_int64(numbers, 1, row->first_id);
    sqlite3_bind_int64(numbers, 2, last);
    contact_copy *copy = contact_copy_new(row->name, row->priority);
    copy->generation = row->generation;
    copy->first_id = row->first_id;
    copy->good_at = row->good_at;
    int rc, nrc = sqlite3_step(numbers);
    while ((rc = sqlite3_step(contacts)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(contacts, 0);
        if (id != row->first_id + contact_copy_count(copy)) {
            *error = g_strdup_printf("%s: source %s: contact id %" G_GINT64_FORMAT
                                     " out of sequence (the file was changed by hand?)",
                                     db->path, row->name, id);
            rc = SQLITE_CORRUPT;
            break;
        }
        const char *fields[CONTACT_FIELDS];
        for (int f = 0; f < CONTACT_FIELDS; f++)
            fields[f] = col_text(contacts, 1 + f);
        contact_copy_add(copy, fields);
        while (nrc == SQLITE_ROW && sqlite3_column_int64(numbers, 0) == id) {
            contact_copy_add_number(copy, col_text(numbers, 2),
                                    (uint32_t)sqlite3_column_int(numbers, 1),
                                    contact_e164_digits(col_text(numbers, 3)), col_text(numbers, 4),
                                    sqlite3_column_int(numbers, 5) != 0);
            nrc = sqlite3_step(numbers);
        }
    }
    if (rc == SQLITE_DONE && contact_copy_count(copy) != (uint32_t)row->contacts) {
        *error =
            g_strdup_printf("%s: source %s: %u contacts where %" G_GINT64_FORMAT " were written",
                            db->path, row->name, contact_copy_count(copy), row->contacts);
        rc = SQLITE_CORRUPT;
    } else if (rc != SQLITE_DONE && rc != SQLITE_CORRUPT) {
        *error = db_error(db->db, db->path, "reading contacts");
    }
    sqlite3_finalize(contacts);
    sqlite3_finalize(numbers);
    if (rc != SQLITE_DONE) {
        contact_copy_unref(copy);
        return NULL;
    }
    return copy;
}

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *text)
{
    if (text == NULL)
        sqlite3_bind_null(stmt, col);
    else
        sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
}

static int step_reset(store_db *db, sqlite3_stmt *stmt, const char *what, char **error)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        *error = db_error(db->db, db->path, what);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The numbers column of the full-text index: each number's E.164 digits,
 * its national digits and its raw form, so any of them is found by prefix. */
static void numbers_text(const contact_copy *copy, const copy_contact *c, GString *out)
{
    g_string_truncate(out, 0);
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        const copy_number *n = contact_copy_number(copy, c->first_number + i);
        if (n->e164 != 0)
            g_string_append_printf(out, "%" G_GUINT64_FORMAT " ", n->e164);
        if (n->display != 0)
            g_string_append_printf(out, "%s ", contact_copy_text(copy, n->display));
        /* The raw form's own parts ("1234567" of "+49 89 1234567"); its
         * digits run together are already there as E.164 or national. */
        if (n->raw != 0)
            g_string_append_printf(out, "%s ", contact_copy_text(copy, n->raw));
    }
}

static int write_rows(store_db *db, contact_copy *copy, char **error)
{
    GString *text = g_string_sized_new(128);
    int rc = SQLITE_OK;
    char e164[24];
    for (uint32_t k = 0; k < contact_copy_count(copy) && rc == SQLITE_OK; k++) {
        const copy_contact *c = &g_array_index(copy->contacts, copy_contact, k);
        int64_t id = copy->first_id + k;
        sqlite3_bind_int64(db->insert_contact, 1, id);
        sqlite3_bind_text(db->insert_contact, 2, copy->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(db->insert_contact, 3, copy->generation);
        for (int f = 0; f < CONTACT_FIELDS; f++)
            bind_text_or_null(db->insert_contact, 4 + f, contact_copy_field(copy, k, f));
        rc = step_reset(db, db->insert_contact, "insert contact", error);
        for (uint32_t i = 0; i < c->n_numbers && rc == SQLITE_OK; i++) {
            const copy_number *n = contact_copy_number(copy, c->first_number + i);
            e164[0] = '\0';
            if (n->e164 != 0)
                contact_e164_text(n->e164, e164, sizeof e164);
            sqlite3_bind_int64(db->insert_number, 1, id);
            sqlite3_bind_int(db->insert_number, 2, (int)i);
            sqlite3_bind_int(db->insert_number, 3, n->kind);
            bind_text_or_null(db->insert_number, 4,
                              n->raw ? contact_copy_text(copy, n->raw) : NULL);
            sqlite3_bind_text(db->insert_number, 5, e164, -1, SQLITE_STATIC);
            bind_text_or_null(db->insert_number, 6,
                              n->display ? contact_copy_text(copy, n->display) : NULL);
            sqlite3_bind_int(db->insert_number, 7, n->switchboard);
            rc = step_reset(db, db->insert_number, "insert number", error);
        }
        if (rc != SQLITE_OK)
            break;
        numbers_text(copy, c, text);
        sqlite3_bind_int64(db->insert_fts, 1, id);
        for (int f = CONTACT_FIELD_DISPLAY_NAME; f <= CONTACT_FIELD_ADDRESS; f++)
            bind_text_or_null(db->insert_fts, 1 + f, contact_copy_field(copy, k, f));
        sqlite3_bind_text(db->insert_fts, 9, text->str, (int)text->len, SQLITE_STATIC);
        rc = step_reset(db, db->insert_fts, "insert search index", error);
    }
    g_string_free(text, TRUE);
    return rc;
}

/* Deletes the rows of the source's current generation (the range its
 * sources row names) and returns that generation in `*generation`. */
static int delete_current(store_db *db, const char *source, int64_t *generation, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db, "SELECT generation, first_id, contacts FROM sources WHERE name = ?1",
                     &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
    int64_t first = 0, count = 0;
    *generation = 0;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *generation = sqlite3_column_int64(stmt, 0);
        first = sqlite3_column_int64(stmt, 1);
        count = sqlite3_column_int64(stmt, 2);
    }
    sqlite3_finalize(stmt);
    if (count == 0)
        return SQLITE_OK;
    static const char *const deletes[] = {
        "DELETE FROM contacts_fts WHERE rowid BETWEEN ?1 AND ?2",
        "DELETE FROM numbers WHERE contact BETWEEN ?1 AND ?2",
        "DELETE FROM contacts WHERE id BETWEEN ?1 AND ?2",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(deletes) && rc == SQLITE_OK; i++) {
        stmt = NULL;
        rc = prepare(db, deletes[i], &stmt, error);
        if (rc != SQLITE_OK)
            break;
        sqlite3_bind_int64(stmt, 1, first);
        sqlite3_bind_int64(stmt, 2, first + count - 1);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        if (rc != SQLITE_OK)
            *error = db_error(db->db, db->path, "delete old generation");
        sqlite3_finalize(stmt);
    }
    return rc;
}

static int64_t next_id(store_db *db)
{
    sqlite3_stmt *stmt = NULL;
    int64_t id = 1;
    if (sqlite3_prepare_v2(db->db, "SELECT coalesce(max(id), 0) + 1 FROM contacts", -1, &stmt,
                           NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        id = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return id;
}

static int save_source_row(store_db *db, const contact_copy *copy, int64_t good_at, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db,
                     "INSERT OR REPLACE INTO sources(name, generation, first_id, contacts, numbers,"
                     " priority, good_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, copy->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, copy->generation);
    sqlite3_bind_int64(stmt, 3, copy->first_id);
    sqlite3_bind_int64(stmt, 4, contact_copy_count(copy));
    sqlite3_bind_int64(stmt, 5, copy->numbers->len);
    sqlite3_bind_int(stmt, 6, copy->priority);
    sqlite3_bind_int64(stmt, 7, good_at);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc != SQLITE_OK)
        *error = db_error(db->db, db->path, "save source");
    sqlite3_finalize(stmt);
    return rc;
}

int store_db_write_copy(store_db *db, contact_copy *copy, int64_t good_at, char **error)
{
    int64_t old_generation = 0;
    /* A copy is one transaction of a million rows and their index entries:
     * with SQLite's default 2 MiB page cache its dirty pages spill into the
     * WAL and are read back again and again (a CSV helper's perf put most
     * of an 86 s replication in pread and pwrite). The cache grows for the
     * write and is given back after it. */
    char *ignored = NULL;
    exec(db, "PRAGMA cache_size = -" G_STRINGIFY(WRITE_CACHE_KIB), &ignored);
    g_clear_pointer(&ignored, g_free);
    int rc = exec(db, "BEGIN IMMEDIATE", error);
    if (rc != SQLITE_OK)
        return rc;
    /* Before the delete: ids are never reused while the old copy may still
     * be in memory, so an id always names one contact of one copy. */
    copy->first_id = next_id(db);
    copy->good_at = good_at;
    rc = delete_current(db, copy->source, &old_generation, error);
    if (rc == SQLITE_OK) {
        copy->generation = old_generation + 1;
        rc = write_rows(db, copy, error);
    }
    if (rc == SQLITE_OK)
        rc = save_source_row(db, copy, good_at, error);
    if (rc == SQLITE_OK)
        rc = exec(db, "COMMIT", error);
    if (rc != SQLITE_OK)
        exec(db, "ROLLBACK", &ignored);
    g_clear_pointer(&ignored, g_free);
    exec(db, "PRAGMA cache_size = -2000; PRAGMA shrink_memory", &ignored);
    g_free(ignored);
#ifdef __GLIBC__
    /* The cache's pages went back to malloc; give them to the system, or
     * the process keeps the write's 256 MiB for good. */
    malloc_trim(0);
#endif
    if (rc != SQLITE_OK)
        return rc;
    /* A copy of a million contacts leaves a WAL of its size: fold it back
     * now, while no replication writes, rather than at an arbitrary later
     * commit. Readers that still use the old pages keep them. */
    sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

int store_db_forget_source(store_db *db, const char *source, char **error)
{
    int64_t generation = 0;
    int rc = exec(db, "BEGIN IMMEDIATE", error);
    if (rc == SQLITE_OK)
        rc = delete_current(db, source, &generation, error);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        rc = prepare(db, "DELETE FROM sources WHERE name = ?1", &stmt, error);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            sqlite3_finalize(stmt);
        }
    }
    if (rc == SQLITE_OK)
        rc = exec(db, "COMMIT", error);
    if (rc != SQLITE_OK) {
        char *ignored = NULL;
        exec(db, "ROLLBACK", &ignored);
        g_free(ignored);
    }
    return rc;
}

/* ---- search ---- */

store_reader *store_reader_open(const char *path, char **error)
{
    store_reader *r = g_new0(store_reader, 1);
    char *count_sql = g_strdup_printf("SELECT count(*) FROM (SELECT 1 FROM contacts_fts WHERE "
                                      "contacts_fts MATCH ?1 LIMIT %d)",
                                      RANK_AT_MOST + 1);
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db, count_sql, -1, SQLITE_PREPARE_PERSISTENT, &r->count, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v3(r->db,
                           "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?1"
                           " ORDER BY rank",
                           -1, SQLITE_PREPARE_PERSISTENT, &r->ranked, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db, "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?1", -1,
                           SQLITE_PREPARE_PERSISTENT, &r->unranked, NULL) != SQLITE_OK) {
        *error = db_error(r->db, path, "open for search");
        store_reader_close(r);
        r = NULL;
    } else {
        sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
    }
    g_free(count_sql);
    return r;
}

void store_reader_close(store_reader *reader)
{
    if (reader == NULL)
        return;
    sqlite3_finalize(reader->count);
    sqlite3_finalize(reader->ranked);
    sqlite3_finalize(reader->unranked);
    sqlite3_close(reader->db);
    g_free(reader);
}

static gboolean is_number_word(const char *word)
{
    gboolean digits = FALSE;
    for (const char *p = word; *p; p++) {
        if (g_ascii_isdigit(*p))
            digits = TRUE;
        else if (strchr("+-()/.", *p) == NULL)
            return FALSE;
    }
    return digits;
}

/* The terms of what a person typed: a word of digits and number
 * punctuation is its digits ("089-123" -> "089123"); any other word is cut
 * at ASCII characters that are no letter or digit, as the tokenizer cuts
 * the indexed text ("o'brien" -> "o", "brien"; bytes of UTF-8 letters stay). */
static GPtrArray *query_terms(const char *words)
{
    GPtrArray *terms = g_ptr_array_new_with_free_func(g_free);
    char **parts = g_strsplit_set(words ? words : "", " \t\r\n", -1);
    for (char **w = parts; *w != NULL; w++) {
        GString *term = g_string_new(NULL);
        gboolean number = is_number_word(*w);
        for (const char *p = *w;; p++) {
            gboolean keep =
                *p != '\0' &&
                (number ? g_ascii_isdigit(*p) : g_ascii_isalnum(*p) || (unsigned char)*p >= 0x80);
            if (keep) {
                g_string_append_c(term, *p);
            } else if (term->len > 0 && (!number || *p == '\0')) {
                g_ptr_array_add(terms, g_strdup(term->str));
                g_string_truncate(term, 0);
            }
            if (*p == '\0')
                break;
        }
        g_string_free(term, TRUE);
    }
    g_strfreev(parts);
    return terms;
}

char *store_fts_query(const char *words, char **short_words)
{
    GPtrArray *terms = query_terms(words);
    gboolean has_long = FALSE;
    for (guint i = 0; i < terms->len; i++)
        has_long |= g_utf8_strlen(g_ptr_array_index(terms, i), -1) >= STORE_SHORT_WORD;
    GString *q = g_string_new(NULL), *rest = g_string_new(NULL);
    for (guint i = 0; i < terms->len; i++) {
        const char *term = g_ptr_array_index(terms, i);
        if (has_long && g_utf8_strlen(term, -1) < STORE_SHORT_WORD)
            g_string_append_printf(rest, "%s%s", rest->len ? " " : "", term);
        else
            g_string_append_printf(q, "%s\"%s\"*", q->len ? " " : "", term);
    }
    g_ptr_array_unref(terms);
    if (short_words != NULL)
        *short_words = rest->len ? g_string_free(rest, FALSE) : (g_string_free(rest, TRUE), NULL);
    else
        g_string_free(rest, TRUE);
    return q->len == 0 ? (g_string_free(q, TRUE), NULL) : g_string_free(q, FALSE);
}

int store_reader_search(store_reader *reader, const char *fts_query,
                        int (*cb)(int64_t id, void *data), void *data, char **error)
{
    sqlite3_bind_text(reader->count, 1, fts_query, -1, SQLITE_STATIC);
    int rc = sqlite3_step(reader->count);
    int64_t matches = rc == SQLITE_ROW ? sqlite3_column_int64(reader->count, 0) : 0;
    sqlite3_reset(reader->count);
    sqlite3_stmt *stmt = NULL;
    if (rc == SQLITE_ROW) {
        stmt = matches > RANK_AT_MOST ? reader->unranked : reader->ranked;
        sqlite3_bind_text(stmt, 1, fts_query, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            if (cb(sqlite3_column_int64(stmt, 0), data) != 0) {
                rc = SQLITE_DONE;
                break;
            }
    }
    if (rc != SQLITE_DONE)
        *error = g_strdup_printf("search '%s': %s", fts_query, sqlite3_errmsg(reader->db));
    if (stmt != NULL)
        sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
