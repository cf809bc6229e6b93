/*
 * store-db.c - the contact store's SQLite file (store-db.h).
 *
 * Ids: a copy's contacts get consecutive ids from max(id) + 1, chosen inside
 * the writing transaction (there is one writer). So a copy is the id range
 * [first_id, first_id + contacts), its old generation is deleted by range,
 * and a search hit's id finds its copy in memory by range too.
 *
 * The full-text table is an external-content FTS5 table over `contacts`:
 * the text is stored once, in contacts, and a contact's numbers are given to
 * the index as one column of terms (contacts.number_terms). A copy's index
 * entries are built in one of two ways, whichever tokenizes fewer rows
 * (write_copy): row by row after deleting the old generation's entries,
 * which FTS5 has to tokenize again to delete; or, when the source's old copy
 * is at least as big as all the other sources together (always with one
 * source), by FTS5's 'rebuild' of the whole index from contacts, which
 * tokenizes every row once and leaves a compact index with no deleted
 * entries in it. The same transaction holds the rows, the index and the
 * swap either way.
 */
#include "store-db.h"

#include <sqlite3.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define BUSY_TIMEOUT_MS 10000
/* The writer's page cache while it writes a copy (store_db_write_copy). */
#define WRITE_CACHE_KIB 65536

struct store_db {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *insert_contact; /* the writes' statements: prepare_writes */
    sqlite3_stmt *insert_number;
    sqlite3_stmt *insert_fts;
    gboolean migrate; /* the search index is of layout 1 (store_db_migrate) */
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
    "  department TEXT, email TEXT, address TEXT, crm_link TEXT, number_terms TEXT);"
    "CREATE TABLE IF NOT EXISTS numbers("
    "  contact INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL, raw TEXT,"
    "  e164 TEXT NOT NULL, display_digits TEXT, switchboard INTEGER NOT NULL,"
    "  PRIMARY KEY(contact, seq)) WITHOUT ROWID;";

/* The full-text index (search index layout 2). A file of layout 1 has a
 * contacts_fts of its own content in its place, so IF NOT EXISTS leaves it
 * for migrate_search_index. */
static const char fts_sql[] =
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5("
    "  display_name, given_name, surname, company, department, email, address, number_terms,"
    "  content = 'contacts', content_rowid = 'id',"
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

static const char *col_text(sqlite3_stmt *stmt, int col)
{
    return (const char *)sqlite3_column_text(stmt, col);
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

/* The whole full-text index anew from contacts. */
static int rebuild_index(store_db *db, char **error)
{
    return exec(db, "INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')", error);
}

/* COMMIT when `rc` is SQLITE_OK, else ROLLBACK (the error is `rc`'s). */
static int end_transaction(store_db *db, int rc, char **error)
{
    if (rc == SQLITE_OK)
        rc = exec(db, "COMMIT", error);
    if (rc != SQLITE_OK) {
        char *ignored = NULL;
        exec(db, "ROLLBACK", &ignored);
        g_free(ignored);
    }
    return rc;
}

/* ---- a contact's number terms ----
 * The number_terms column of the full-text index: each number's E.164
 * digits, its national digits and its raw form's parts, so any of them is
 * found by prefix. A word of digits that is a prefix of another one of the
 * same contact (or the same word again) is left out: every typed prefix of
 * it is a prefix of the longer one too, so the same contacts match, and the
 * index takes far fewer terms ("+49 89 1234567", its fax "-9" and mobile
 * give 16 words and 7 terms: the business number's E.164 and national digits
 * are prefixes of the fax's, "49" and "0171" of E.164 and national forms).
 * A part with anything but ASCII digits is kept as it is. */

typedef struct number_terms {
    GPtrArray *digits; /* words of ASCII digits (g_free) */
    GString *other;    /* the other parts, space-separated */
} number_terms;

static void terms_init(number_terms *t)
{
    t->digits = g_ptr_array_new_with_free_func(g_free);
    t->other = g_string_new(NULL);
}

static void terms_clear(number_terms *t)
{
    g_ptr_array_set_size(t->digits, 0);
    g_string_truncate(t->other, 0);
}

static void terms_free(number_terms *t)
{
    g_ptr_array_unref(t->digits);
    g_string_free(t->other, TRUE);
}

/* Adds `text` cut as the tokenizer cuts it: at every ASCII character that
 * is no letter or digit (bytes of UTF-8 characters stay in a part; the
 * tokenizer may cut them further, which only matters for parts kept as
 * they are). */
static void terms_add_text(number_terms *t, const char *text)
{
    const char *p = text;
    while (*p != '\0') {
        while (*p != '\0' && !g_ascii_isalnum(*p) && (unsigned char)*p < 0x80)
            p++;
        const char *start = p;
        gboolean all_digits = TRUE;
        while (*p != '\0' && (g_ascii_isalnum(*p) || (unsigned char)*p >= 0x80)) {
            all_digits &= g_ascii_isdigit(*p) != 0;
            p++;
        }
        if (p == start)
            continue;
        if (all_digits)
            g_ptr_array_add(t->digits, g_strndup(start, (gsize)(p - start)));
        else
            g_string_append_printf(t->other, "%.*s ", (int)(p - start), start);
    }
}

/* One number: its E.164 digits (0: none), national digits and raw form
 * (each may be NULL). */
static void terms_add_number(number_terms *t, uint64_t e164, const char *display, const char *raw)
{
    if (e164 != 0)
        g_ptr_array_add(t->digits, g_strdup_printf("%" G_GUINT64_FORMAT, e164));
    if (display != NULL)
        terms_add_text(t, display);
    if (raw != NULL)
        terms_add_text(t, raw);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The column's text into `out`: in sorted order a word that the next one
 * starts with is a prefix of it (or equal), and is left out. */
static void terms_text(number_terms *t, GString *out)
{
    g_string_assign(out, t->other->str);
    g_ptr_array_sort(t->digits, compare_strings);
    for (guint i = 0; i < t->digits->len; i++) {
        const char *word = g_ptr_array_index(t->digits, i);
        if (i + 1 < t->digits->len && g_str_has_prefix(g_ptr_array_index(t->digits, i + 1), word))
            continue;
        g_string_append_printf(out, "%s ", word);
    }
    if (out->len > 0)
        g_string_truncate(out, out->len - 1);
}

static int meta_int(store_db *db, const char *key, int *value, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db, "SELECT value FROM meta WHERE key = ?1", &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    *value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return SQLITE_OK;
}

/* Layout 1's contacts and numbers are layout 2's without number_terms; its
 * contacts_fts held its own copy of the text. In one transaction: the
 * column is added and filled from the numbers table as write_rows fills it,
 * the index is made anew over contacts and rebuilt. A crash halfway leaves
 * layout 1 as it was, and the next start migrates again. */
static int migrate_search_index(store_db *db, char **error)
{
    int rc = exec(db, "BEGIN IMMEDIATE", error);
    sqlite3_stmt *has_column = NULL, *numbers = NULL, *update = NULL;
    if (rc == SQLITE_OK)
        rc = prepare(db,
                     "SELECT count(*) FROM pragma_table_info('contacts')"
                     " WHERE name = 'number_terms'",
                     &has_column, error);
    /* The statement ends before the schema changes (a running one locks it). */
    gboolean add_column = rc == SQLITE_OK && sqlite3_step(has_column) == SQLITE_ROW &&
                          sqlite3_column_int(has_column, 0) == 0;
    g_clear_pointer(&has_column, sqlite3_finalize);
    if (add_column)
        rc = exec(db, "ALTER TABLE contacts ADD COLUMN number_terms TEXT", error);
    if (rc == SQLITE_OK)
        rc = exec(db, "DROP TABLE contacts_fts", error);
    if (rc == SQLITE_OK)
        rc = exec(db, fts_sql, error);
    if (rc == SQLITE_OK)
        rc = prepare(db,
                     "SELECT contact, e164, display_digits, raw FROM numbers"
                     " ORDER BY contact, seq",
                     &numbers, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "UPDATE contacts SET number_terms = ?2 WHERE id = ?1", &update, error);
    if (rc == SQLITE_OK) {
        number_terms terms;
        terms_init(&terms);
        GString *text = g_string_new(NULL);
        int64_t contact = -1;
        for (int step = sqlite3_step(numbers); rc == SQLITE_OK; step = sqlite3_step(numbers)) {
            int64_t next = step == SQLITE_ROW ? sqlite3_column_int64(numbers, 0) : -1;
            if (next != contact && contact != -1) {
                terms_text(&terms, text);
                sqlite3_bind_int64(update, 1, contact);
                sqlite3_bind_text(update, 2, text->str, (int)text->len, SQLITE_STATIC);
                rc = step_reset(db, update, "migrate number terms", error);
                terms_clear(&terms);
            }
            if (step != SQLITE_ROW) {
                if (step != SQLITE_DONE && rc == SQLITE_OK) {
                    *error = db_error(db->db, db->path, "migrate: reading numbers");
                    rc = step;
                }
                break;
            }
            contact = next;
            terms_add_number(&terms, contact_e164_digits(col_text(numbers, 1)),
                             col_text(numbers, 2), col_text(numbers, 3));
        }
        g_string_free(text, TRUE);
        terms_free(&terms);
    }
    sqlite3_finalize(numbers);
    sqlite3_finalize(update);
    if (rc == SQLITE_OK)
        rc = rebuild_index(db, error);
    if (rc == SQLITE_OK)
        rc = exec(db,
                  "INSERT OR REPLACE INTO meta(key, value) VALUES ('search_index', "
                  "'" G_STRINGIFY(STORE_DB_SEARCH_INDEX) "')",
                  error);
    return end_transaction(db, rc, error);
}

gboolean store_db_migration_pending(const store_db *db)
{
    return db->migrate;
}

static int migrate_if_pending(store_db *db, char **error)
{
    if (!db->migrate)
        return SQLITE_OK;
    int rc = migrate_search_index(db, error);
    if (rc == SQLITE_OK)
        db->migrate = FALSE;
    return rc;
}

/* The writer's page cache grows for a big write (store_db_write_copy says
 * why) and is given back after it. */
static void write_cache(store_db *db, gboolean big)
{
    char *ignored = NULL;
    exec(db,
         big ? "PRAGMA cache_size = -" G_STRINGIFY(WRITE_CACHE_KIB)
             : "PRAGMA cache_size = -2000; PRAGMA shrink_memory",
         &ignored);
    g_free(ignored);
#ifdef __GLIBC__
    /* The cache's pages went back to malloc; give them to the system, or
     * the process keeps the write's cache for good. */
    if (!big)
        malloc_trim(0);
#endif
}

int store_db_migrate(store_db *db, char **error)
{
    if (!db->migrate)
        return SQLITE_OK;
    write_cache(db, TRUE);
    int rc = migrate_if_pending(db, error);
    write_cache(db, FALSE);
    return rc;
}

/* schema_version is what other readers of the file rely on (contacts,
 * numbers and sources: contacts-ldap-export reads them); search_index is
 * the full-text index's layout, which only this file reads. A new file gets
 * both; a file of search index layout 1 is marked for store_db_migrate
 * (searches work on either layout meanwhile). */
static int check_version(store_db *db, char **error)
{
    int version = 0, search_index = 0;
    int rc = meta_int(db, "schema_version", &version, error);
    if (rc == SQLITE_OK)
        rc = meta_int(db, "search_index", &search_index, error);
    if (rc != SQLITE_OK)
        return rc;
    if (version == 0)
        return exec(db,
                    "INSERT INTO meta(key, value) VALUES ('schema_version', "
                    "'" G_STRINGIFY(
                        STORE_DB_SCHEMA_VERSION) "'), ('search_index', "
                                                 "'" G_STRINGIFY(
                                                     STORE_DB_SEARCH_INDEX) "') ON CONFLICT(key) "
                                                                            "DO NOTHING",
                    error);
    if (version != STORE_DB_SCHEMA_VERSION) {
        *error = g_strdup_printf("%s: schema version %d, this contacts-store reads version %d",
                                 db->path, version, STORE_DB_SCHEMA_VERSION);
        return SQLITE_ERROR;
    }
    if (search_index == STORE_DB_SEARCH_INDEX)
        return SQLITE_OK;
    if (search_index == 0) {
        db->migrate = TRUE;
        return SQLITE_OK;
    }
    *error = g_strdup_printf("%s: search index layout %d, this contacts-store reads layout %d",
                             db->path, search_index, STORE_DB_SEARCH_INDEX);
    return SQLITE_ERROR;
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
        exec(db, schema_sql, error) != SQLITE_OK || exec(db, fts_sql, error) != SQLITE_OK ||
        check_version(db, error) != SQLITE_OK) {
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

static void numbers_text(const contact_copy *copy, const copy_contact *c, number_terms *t,
                         GString *out)
{
    terms_clear(t);
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        const copy_number *n = contact_copy_number(copy, c->first_number + i);
        terms_add_number(t, n->e164, n->display ? contact_copy_text(copy, n->display) : NULL,
                         n->raw ? contact_copy_text(copy, n->raw) : NULL);
    }
    terms_text(t, out);
}

/* Inserts the copy's contacts and numbers, and with `index_rows` each
 * contact's full-text entry too (else the caller rebuilds the index). */
static int write_rows(store_db *db, contact_copy *copy, gboolean index_rows, char **error)
{
    GString *text = g_string_sized_new(128);
    number_terms terms;
    terms_init(&terms);
    int rc = SQLITE_OK;
    char e164[24];
    for (uint32_t k = 0; k < contact_copy_count(copy) && rc == SQLITE_OK; k++) {
        const copy_contact *c = &g_array_index(copy->contacts, copy_contact, k);
        int64_t id = copy->first_id + k;
        numbers_text(copy, c, &terms, text);
        sqlite3_bind_int64(db->insert_contact, 1, id);
        sqlite3_bind_text(db->insert_contact, 2, copy->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(db->insert_contact, 3, copy->generation);
        for (int f = 0; f < CONTACT_FIELDS; f++)
            bind_text_or_null(db->insert_contact, 4 + f, contact_copy_field(copy, k, f));
        bind_text_or_null(db->insert_contact, 4 + CONTACT_FIELDS, text->len ? text->str : NULL);
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
        if (rc != SQLITE_OK || !index_rows)
            continue;
        sqlite3_bind_int64(db->insert_fts, 1, id);
        for (int f = CONTACT_FIELD_DISPLAY_NAME; f <= CONTACT_FIELD_ADDRESS; f++)
            bind_text_or_null(db->insert_fts, 1 + f, contact_copy_field(copy, k, f));
        bind_text_or_null(db->insert_fts, 9, text->len ? text->str : NULL);
        rc = step_reset(db, db->insert_fts, "insert search index", error);
    }
    terms_free(&terms);
    g_string_free(text, TRUE);
    return rc;
}

/* The source's current generation from its sources row: generation, first
 * id and contacts, all 0 when it has none. */
typedef struct current_copy {
    int64_t generation, first, count;
} current_copy;

static int read_current(store_db *db, const char *source, current_copy *cur, char **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = prepare(db, "SELECT generation, first_id, contacts FROM sources WHERE name = ?1",
                     &stmt, error);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
    *cur = (current_copy){0};
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        cur->generation = sqlite3_column_int64(stmt, 0);
        cur->first = sqlite3_column_int64(stmt, 1);
        cur->count = sqlite3_column_int64(stmt, 2);
    }
    sqlite3_finalize(stmt);
    return SQLITE_OK;
}

/* Contacts of every source but `source`. */
static int64_t other_contacts(store_db *db, const char *source)
{
    sqlite3_stmt *stmt = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT coalesce(sum(contacts), 0) FROM sources WHERE name != ?1", -1,
                           &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return n;
}

/* Deletes the rows of `cur`, and with `index_too` their full-text entries
 * first: FTS5 reads a row's text from contacts to delete its entries, so
 * they go before the row does. */
static int delete_current(store_db *db, const current_copy *cur, gboolean index_too, char **error)
{
    if (cur->count == 0)
        return SQLITE_OK;
    static const char *const deletes[] = {
        "DELETE FROM contacts_fts WHERE rowid BETWEEN ?1 AND ?2",
        "DELETE FROM numbers WHERE contact BETWEEN ?1 AND ?2",
        "DELETE FROM contacts WHERE id BETWEEN ?1 AND ?2",
    };
    int rc = SQLITE_OK;
    for (size_t i = index_too ? 0 : 1; i < G_N_ELEMENTS(deletes) && rc == SQLITE_OK; i++) {
        sqlite3_stmt *stmt = NULL;
        rc = prepare(db, deletes[i], &stmt, error);
        if (rc != SQLITE_OK)
            break;
        sqlite3_bind_int64(stmt, 1, cur->first);
        sqlite3_bind_int64(stmt, 2, cur->first + cur->count - 1);
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

/* The writes' statements, prepared at the first write: a file of layout 1
 * has no number_terms until it is migrated. */
static int prepare_writes(store_db *db, char **error)
{
    if (db->insert_fts != NULL)
        return SQLITE_OK;
    int rc =
        prepare(db,
                "INSERT INTO contacts(id, source, generation, source_id, display_name,"
                " given_name, surname, company, department, email, address, crm_link,"
                " number_terms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                &db->insert_contact, error);
    if (rc == SQLITE_OK)
        rc = prepare(db,
                     "INSERT INTO numbers(contact, seq, kind, raw, e164, display_digits,"
                     " switchboard) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     &db->insert_number, error);
    if (rc == SQLITE_OK)
        rc = prepare(db,
                     "INSERT INTO contacts_fts(rowid, display_name, given_name, surname, company,"
                     " department, email, address, number_terms)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     &db->insert_fts, error);
    if (rc != SQLITE_OK) {
        g_clear_pointer(&db->insert_contact, sqlite3_finalize);
        g_clear_pointer(&db->insert_number, sqlite3_finalize);
    }
    return rc;
}

/* The copy's rows and index entries, the old generation's gone, inside the
 * caller's transaction. */
static int write_generation(store_db *db, contact_copy *copy, int64_t good_at, char **error)
{
    /* Before the delete: ids are never reused while the old copy may still
     * be in memory, so an id always names one contact of one copy. */
    copy->first_id = next_id(db);
    copy->good_at = good_at;
    current_copy cur;
    int rc = read_current(db, copy->source, &cur, error);
    if (rc != SQLITE_OK)
        return rc;
    /* Row by row the index tokenizes the old copy (to delete it) and the new
     * one; a rebuild tokenizes the new copy and every other source's. */
    gboolean rebuild = cur.count >= other_contacts(db, copy->source);
    rc = delete_current(db, &cur, !rebuild, error);
    if (rc == SQLITE_OK) {
        copy->generation = cur.generation + 1;
        rc = write_rows(db, copy, !rebuild, error);
    }
    if (rc == SQLITE_OK && rebuild)
        rc = rebuild_index(db, error);
    if (rc == SQLITE_OK)
        rc = save_source_row(db, copy, good_at, error);
    return rc;
}

int store_db_write_copy(store_db *db, contact_copy *copy, int64_t good_at, char **error)
{
    /* A copy is one transaction of a million rows and their index entries:
     * with SQLite's default 2 MiB page cache its dirty pages spill into the
     * WAL and are read back (a CSV helper's perf put most of an 86 s
     * replication in pread and pwrite, when the index was written row by
     * row). Rows written in id order and the index rebuilt in one pass
     * took as long with 64 MiB as with 256 MiB, and the peak RSS is 150 MiB
     * lower (docs/PERFORMANCE.md). The cache grows for the write and is
     * given back after it. */
    write_cache(db, TRUE);
    int rc = migrate_if_pending(db, error);
    if (rc == SQLITE_OK)
        rc = prepare_writes(db, error);
    if (rc == SQLITE_OK)
        rc = exec(db, "BEGIN IMMEDIATE", error);
    if (rc == SQLITE_OK)
        rc = end_transaction(db, write_generation(db, copy, good_at, error), error);
    write_cache(db, FALSE);
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
    int rc = exec(db, "BEGIN IMMEDIATE", error);
    current_copy cur = {0};
    if (rc == SQLITE_OK)
        rc = read_current(db, source, &cur, error);
    /* The only source's entries are the whole index: a rebuild from the
     * contacts left (none) empties it without tokenizing a row. */
    gboolean rebuild = rc == SQLITE_OK && other_contacts(db, source) == 0;
    if (rc == SQLITE_OK)
        rc = delete_current(db, &cur, !rebuild, error);
    if (rc == SQLITE_OK && rebuild && cur.count > 0)
        rc = rebuild_index(db, error);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *stmt = NULL;
        rc = prepare(db, "DELETE FROM sources WHERE name = ?1", &stmt, error);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, source, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            sqlite3_finalize(stmt);
        }
    }
    return end_transaction(db, rc, error);
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
