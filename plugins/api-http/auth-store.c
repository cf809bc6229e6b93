/*
 * auth-store.c - sessions and API keys, in memory and in SQLite
 * (auth-store.h).
 *
 * Memory is the truth while the module runs; the file is its copy for the
 * next start. The main loop changes the tables and appends one write (an SQL
 * statement with its bound values, never text spliced into SQL) to a work
 * queue; the queue's items run one at a time on the worker pool, in order,
 * so the file goes through the same states as memory did. The connection is
 * used by the main loop only while opening, before the queue exists, and
 * afterwards only by the queue's items: never by two threads at once.
 *
 * Three indexes make each request one lookup: sessions by id, by the hash
 * of the access token and by the hash of the refresh token; keys by name and
 * by hash. Every index points at the same record; `sessions` and `keys` own
 * them.
 */
#include "auth-store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#define AUTH_SCHEMA_VERSION 1
/* How stale a record's last_used may be in the file: use is written at most
 * this often, so a busy client does not write on every request. */
#define AUTH_TOUCH_WRITE_MS 60000
#define AUTH_WRITE_PARAMS   10

struct auth_store {
    const ucd_host *host;
    ucd_plugin *self;
    sqlite3 *sql;
    ucd_work_queue *queue;
    GHashTable *sessions;        /* id -> auth_session (owned) */
    GHashTable *session_access;  /* access hash -> auth_session */
    GHashTable *session_refresh; /* refresh hash -> auth_session */
    GHashTable *keys;            /* name -> auth_key (owned) */
    GHashTable *key_hashes;      /* hash -> auth_key */
};

/* One statement and its values, run by a queue item. */
typedef struct auth_write {
    auth_store *store;
    const char *sql; /* a constant of this file */
    int count;
    struct {
        gboolean is_text;
        gint64 number;
        char *text;
    } params[AUTH_WRITE_PARAMS];
} auth_write;

static const char schema[] = "CREATE TABLE IF NOT EXISTS sessions("
                             " id TEXT PRIMARY KEY,"
                             " user_id TEXT NOT NULL,"
                             " access_hash TEXT NOT NULL UNIQUE,"
                             " refresh_hash TEXT NOT NULL UNIQUE,"
                             " created INTEGER NOT NULL,"
                             " access_expires INTEGER NOT NULL,"
                             " refresh_expires INTEGER NOT NULL,"
                             " last_used INTEGER NOT NULL,"
                             " address TEXT,"
                             " user_agent TEXT);"
                             "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);"
                             "CREATE TABLE IF NOT EXISTS api_keys("
                             " name TEXT PRIMARY KEY,"
                             " key_hash TEXT NOT NULL UNIQUE,"
                             " scopes TEXT NOT NULL,"
                             " users TEXT NOT NULL,"
                             " created INTEGER NOT NULL,"
                             " created_by TEXT,"
                             " last_used INTEGER NOT NULL);"
                             "PRAGMA user_version = 1;";

static const char sql_insert_session[] =
    "INSERT OR REPLACE INTO sessions(id, user_id, access_hash, refresh_hash, created,"
    " access_expires, refresh_expires, last_used, address, user_agent)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_rotate_session[] =
    "UPDATE sessions SET access_hash = ?, refresh_hash = ?, access_expires = ?,"
    " refresh_expires = ? WHERE id = ?";
static const char sql_touch_session[] = "UPDATE sessions SET last_used = ? WHERE id = ?";
static const char sql_delete_session[] = "DELETE FROM sessions WHERE id = ?";
static const char sql_purge_sessions[] = "DELETE FROM sessions WHERE refresh_expires < ?";
static const char sql_insert_key[] =
    "INSERT OR REPLACE INTO api_keys(name, key_hash, scopes, users, created, created_by,"
    " last_used) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char sql_touch_key[] = "UPDATE api_keys SET last_used = ? WHERE name = ?";
static const char sql_delete_key[] = "DELETE FROM api_keys WHERE name = ?";

/* Scopes and user ids are kept one a line: neither ever holds a newline. */
#define AUTH_LIST_SEPARATOR "\n"

void auth_session_free(auth_session *session)
{
    if (session == NULL)
        return;
    g_free(session->id);
    g_free(session->user_id);
    g_free(session->access_hash);
    g_free(session->refresh_hash);
    g_free(session->address);
    g_free(session->user_agent);
    g_free(session);
}

void auth_key_free(auth_key *key)
{
    if (key == NULL)
        return;
    g_free(key->name);
    g_free(key->hash);
    g_strfreev(key->scopes);
    g_strfreev(key->users);
    g_free(key->created_by);
    g_free(key);
}

/* ---- writes, on the queue ------------------------------------------------ */

static auth_write *write_new(auth_store *store, const char *sql)
{
    auth_write *w = g_new0(auth_write, 1);
    w->store = store;
    w->sql = sql;
    return w;
}

static void write_text(auth_write *w, const char *text)
{
    g_assert(w->count < AUTH_WRITE_PARAMS);
    w->params[w->count].is_text = TRUE;
    w->params[w->count++].text = g_strdup(text);
}

static void write_number(auth_write *w, gint64 number)
{
    g_assert(w->count < AUTH_WRITE_PARAMS);
    w->params[w->count++].number = number;
}

static void write_run(gpointer data)
{
    auth_write *w = data;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(w->store->sql, w->sql, -1, &stmt, NULL);
    for (int i = 0; rc == SQLITE_OK && i < w->count; i++) {
        if (!w->params[i].is_text)
            rc = sqlite3_bind_int64(stmt, i + 1, w->params[i].number);
        else if (w->params[i].text == NULL)
            rc = sqlite3_bind_null(stmt, i + 1);
        else
            rc = sqlite3_bind_text(stmt, i + 1, w->params[i].text, -1, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    /* The values are hashes, ids and times: the statement's own text and
     * SQLite's message are safe to log, the values are left out anyway. */
    if (rc != SQLITE_DONE)
        ucd_warning(w->store->host, w->store->self,
                    "sessions file: cannot write (%s): %s; memory keeps it until the next start",
                    w->sql, sqlite3_errmsg(w->store->sql));
    sqlite3_finalize(stmt);
}

static void write_free(gpointer data)
{
    auth_write *w = data;
    for (int i = 0; i < w->count; i++)
        g_free(w->params[i].text);
    g_free(w);
}

static void write_submit(auth_write *w)
{
    auth_store *store = w->store;
    if (store->host->work_queue_submit(store->queue, write_run, write_free, w) != UCD_OK) {
        ucd_warning(store->host, store->self, "sessions file: a write was refused (stopping?)");
        write_free(w);
    }
}

/* ---- opening ------------------------------------------------------------- */

static char **split_list(const char *text)
{
    if (text == NULL || *text == '\0')
        return g_new0(char *, 1);
    return g_strsplit(text, AUTH_LIST_SEPARATOR, -1);
}

static char *dup_column(sqlite3_stmt *stmt, int column)
{
    return g_strdup((const char *)sqlite3_column_text(stmt, column));
}

static void index_session(auth_store *store, auth_session *s)
{
    g_hash_table_replace(store->sessions, s->id, s);
    g_hash_table_replace(store->session_access, s->access_hash, s);
    g_hash_table_replace(store->session_refresh, s->refresh_hash, s);
}

static void index_key(auth_store *store, auth_key *k)
{
    g_hash_table_replace(store->keys, k->name, k);
    g_hash_table_replace(store->key_hashes, k->hash, k);
}

static gboolean load(auth_store *store, GError **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(store->sql,
                                "SELECT id, user_id, access_hash, refresh_hash, created,"
                                " access_expires, refresh_expires, last_used, address,"
                                " user_agent FROM sessions",
                                -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auth_session *s = g_new0(auth_session, 1);
        s->id = dup_column(stmt, 0);
        s->user_id = dup_column(stmt, 1);
        s->access_hash = dup_column(stmt, 2);
        s->refresh_hash = dup_column(stmt, 3);
        s->created = sqlite3_column_int64(stmt, 4);
        s->access_expires = sqlite3_column_int64(stmt, 5);
        s->refresh_expires = sqlite3_column_int64(stmt, 6);
        s->last_used = s->last_used_written = sqlite3_column_int64(stmt, 7);
        s->address = dup_column(stmt, 8);
        s->user_agent = dup_column(stmt, 9);
        index_session(store, s);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        goto failed;
    rc = sqlite3_prepare_v2(store->sql,
                            "SELECT name, key_hash, scopes, users, created, created_by,"
                            " last_used FROM api_keys",
                            -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auth_key *k = g_new0(auth_key, 1);
        k->name = dup_column(stmt, 0);
        k->hash = dup_column(stmt, 1);
        k->scopes = split_list((const char *)sqlite3_column_text(stmt, 2));
        k->users = split_list((const char *)sqlite3_column_text(stmt, 3));
        k->created = sqlite3_column_int64(stmt, 4);
        k->created_by = dup_column(stmt, 5);
        k->last_used = k->last_used_written = sqlite3_column_int64(stmt, 6);
        index_key(store, k);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_OK)
        return TRUE;
failed:
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot read %s: %s",
                sqlite3_db_filename(store->sql, "main"), sqlite3_errmsg(store->sql));
    return FALSE;
}

static int schema_version(sqlite3 *sql)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return version;
}

/* The file is made 0600 before SQLite opens it: it holds no secret, but who
 * holds which session from where is nobody else's business. SQLite gives
 * its -wal and -shm files the same mode. */
static gboolean create_private(const char *path, GError **error)
{
    int fd = g_open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || g_chmod(path, 0600) != 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot open %s: %s", path,
                    g_strerror(err));
        if (fd >= 0)
            g_close(fd, NULL);
        return FALSE;
    }
    g_close(fd, NULL);
    return TRUE;
}

auth_store *auth_store_open(const ucd_host *host, ucd_plugin *self, const char *path,
                            GError **error)
{
    if (!create_private(path, error))
        return NULL;
    auth_store *store = g_new0(auth_store, 1);
    store->host = host;
    store->self = self;
    store->sessions =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)auth_session_free);
    store->session_access = g_hash_table_new(g_str_hash, g_str_equal);
    store->session_refresh = g_hash_table_new(g_str_hash, g_str_equal);
    store->keys =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)auth_key_free);
    store->key_hashes = g_hash_table_new(g_str_hash, g_str_equal);

    int rc = sqlite3_open_v2(path, &store->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(store->sql, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL",
                          NULL, NULL, NULL);
    int version = rc == SQLITE_OK ? schema_version(store->sql) : -1;
    if (version > AUTH_SCHEMA_VERSION) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s has sessions schema %d, written by a newer api-http (this one knows %d)",
                    path, version, AUTH_SCHEMA_VERSION);
        goto failed;
    }
    if (rc == SQLITE_OK && version >= 0)
        rc = sqlite3_exec(store->sql, schema, NULL, NULL, NULL);
    if (rc != SQLITE_OK || version < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot open %s: %s", path,
                    store->sql ? sqlite3_errmsg(store->sql) : sqlite3_errstr(rc));
        goto failed;
    }
    if (!load(store, error))
        goto failed;
    store->queue = host->work_queue_new(self, "api-http sessions");
    if (store->queue == NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "cannot make a work queue");
        goto failed;
    }
    return store;
failed:
    sqlite3_close(store->sql);
    store->sql = NULL;
    auth_store_close(store);
    return NULL;
}

void auth_store_close(auth_store *store)
{
    if (store == NULL)
        return;
    if (store->queue)
        store->host->work_queue_free(store->self, store->queue);
    sqlite3_close(store->sql);
    g_hash_table_destroy(store->session_access);
    g_hash_table_destroy(store->session_refresh);
    g_hash_table_destroy(store->sessions);
    g_hash_table_destroy(store->key_hashes);
    g_hash_table_destroy(store->keys);
    g_free(store);
}

/* ---- sessions ------------------------------------------------------------ */

void auth_store_add_session(auth_store *store, auth_session *s)
{
    auth_session *old = g_hash_table_lookup(store->sessions, s->id);
    if (old) {
        g_hash_table_remove(store->session_access, old->access_hash);
        g_hash_table_remove(store->session_refresh, old->refresh_hash);
        g_hash_table_remove(store->sessions, old->id);
    }
    s->last_used_written = s->last_used;
    index_session(store, s);
    auth_write *w = write_new(store, sql_insert_session);
    write_text(w, s->id);
    write_text(w, s->user_id);
    write_text(w, s->access_hash);
    write_text(w, s->refresh_hash);
    write_number(w, s->created);
    write_number(w, s->access_expires);
    write_number(w, s->refresh_expires);
    write_number(w, s->last_used);
    write_text(w, s->address);
    write_text(w, s->user_agent);
    write_submit(w);
}

const auth_session *auth_store_session(auth_store *store, const char *id)
{
    return id ? g_hash_table_lookup(store->sessions, id) : NULL;
}

const auth_session *auth_store_session_by_access(auth_store *store, const char *hash)
{
    return hash ? g_hash_table_lookup(store->session_access, hash) : NULL;
}

const auth_session *auth_store_session_by_refresh(auth_store *store, const char *hash)
{
    return hash ? g_hash_table_lookup(store->session_refresh, hash) : NULL;
}

gboolean auth_store_rotate(auth_store *store, const char *id, const char *access_hash,
                           const char *refresh_hash, gint64 access_expires, gint64 refresh_expires)
{
    auth_session *s = id ? g_hash_table_lookup(store->sessions, id) : NULL;
    if (s == NULL)
        return FALSE;
    g_hash_table_remove(store->session_access, s->access_hash);
    g_hash_table_remove(store->session_refresh, s->refresh_hash);
    g_free(s->access_hash);
    g_free(s->refresh_hash);
    s->access_hash = g_strdup(access_hash);
    s->refresh_hash = g_strdup(refresh_hash);
    s->access_expires = access_expires;
    s->refresh_expires = refresh_expires;
    g_hash_table_replace(store->session_access, s->access_hash, s);
    g_hash_table_replace(store->session_refresh, s->refresh_hash, s);
    auth_write *w = write_new(store, sql_rotate_session);
    write_text(w, access_hash);
    write_text(w, refresh_hash);
    write_number(w, access_expires);
    write_number(w, refresh_expires);
    write_text(w, id);
    write_submit(w);
    return TRUE;
}

void auth_store_touch_session(auth_store *store, const char *id, gint64 now)
{
    auth_session *s = id ? g_hash_table_lookup(store->sessions, id) : NULL;
    if (s == NULL || now <= s->last_used)
        return;
    s->last_used = now;
    if (now - s->last_used_written < AUTH_TOUCH_WRITE_MS)
        return;
    s->last_used_written = now;
    auth_write *w = write_new(store, sql_touch_session);
    write_number(w, now);
    write_text(w, id);
    write_submit(w);
}

/* Unlinks `s` from the indexes and frees it, and deletes its row. */
static void remove_session(auth_store *store, auth_session *s)
{
    auth_write *w = write_new(store, sql_delete_session);
    write_text(w, s->id);
    write_submit(w);
    g_hash_table_remove(store->session_access, s->access_hash);
    g_hash_table_remove(store->session_refresh, s->refresh_hash);
    g_hash_table_remove(store->sessions, s->id);
}

gboolean auth_store_remove_session(auth_store *store, const char *id)
{
    auth_session *s = id ? g_hash_table_lookup(store->sessions, id) : NULL;
    if (s == NULL)
        return FALSE;
    remove_session(store, s);
    return TRUE;
}

static gint by_created(gconstpointer a, gconstpointer b)
{
    const auth_session *x = *(const auth_session *const *)a;
    const auth_session *y = *(const auth_session *const *)b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

GPtrArray *auth_store_sessions(auth_store *store, const char *user_id)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, store->sessions);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const auth_session *s = value;
        if (user_id == NULL || strcmp(s->user_id, user_id) == 0)
            g_ptr_array_add(out, value);
    }
    g_ptr_array_sort(out, by_created);
    return out;
}

guint auth_store_remove_user_sessions(auth_store *store, const char *user_id)
{
    GPtrArray *list = auth_store_sessions(store, user_id);
    guint count = list->len;
    for (guint i = 0; i < list->len; i++)
        remove_session(store, list->pdata[i]);
    g_ptr_array_free(list, TRUE);
    return count;
}

guint auth_store_purge(auth_store *store, gint64 now)
{
    GPtrArray *expired = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, store->sessions);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((auth_session *)value)->refresh_expires < now)
            g_ptr_array_add(expired, value);
    for (guint i = 0; i < expired->len; i++) {
        auth_session *s = expired->pdata[i];
        g_hash_table_remove(store->session_access, s->access_hash);
        g_hash_table_remove(store->session_refresh, s->refresh_hash);
        g_hash_table_remove(store->sessions, s->id);
    }
    guint count = expired->len;
    g_ptr_array_free(expired, TRUE);
    if (count > 0) {
        auth_write *w = write_new(store, sql_purge_sessions);
        write_number(w, now);
        write_submit(w);
    }
    return count;
}

/* ---- API keys ------------------------------------------------------------ */

gboolean auth_store_add_key(auth_store *store, auth_key *k)
{
    if (g_hash_table_contains(store->keys, k->name) ||
        g_hash_table_contains(store->key_hashes, k->hash)) {
        auth_key_free(k);
        return FALSE;
    }
    k->last_used_written = k->last_used;
    index_key(store, k);
    auth_write *w = write_new(store, sql_insert_key);
    write_text(w, k->name);
    write_text(w, k->hash);
    char *scopes = g_strjoinv(AUTH_LIST_SEPARATOR, k->scopes);
    char *users = g_strjoinv(AUTH_LIST_SEPARATOR, k->users);
    write_text(w, scopes);
    write_text(w, users);
    g_free(scopes);
    g_free(users);
    write_number(w, k->created);
    write_text(w, k->created_by);
    write_number(w, k->last_used);
    write_submit(w);
    return TRUE;
}

const auth_key *auth_store_key(auth_store *store, const char *name)
{
    return name ? g_hash_table_lookup(store->keys, name) : NULL;
}

const auth_key *auth_store_key_by_hash(auth_store *store, const char *hash)
{
    return hash ? g_hash_table_lookup(store->key_hashes, hash) : NULL;
}

void auth_store_touch_key(auth_store *store, const char *name, gint64 now)
{
    auth_key *k = name ? g_hash_table_lookup(store->keys, name) : NULL;
    if (k == NULL || now <= k->last_used)
        return;
    k->last_used = now;
    if (now - k->last_used_written < AUTH_TOUCH_WRITE_MS)
        return;
    k->last_used_written = now;
    auth_write *w = write_new(store, sql_touch_key);
    write_number(w, now);
    write_text(w, name);
    write_submit(w);
}

gboolean auth_store_remove_key(auth_store *store, const char *name)
{
    auth_key *k = name ? g_hash_table_lookup(store->keys, name) : NULL;
    if (k == NULL)
        return FALSE;
    auth_write *w = write_new(store, sql_delete_key);
    write_text(w, k->name);
    write_submit(w);
    g_hash_table_remove(store->key_hashes, k->hash);
    g_hash_table_remove(store->keys, k->name);
    return TRUE;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const auth_key *const *)a)->name, (*(const auth_key *const *)b)->name);
}

GPtrArray *auth_store_keys(auth_store *store)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, store->keys);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(out, value);
    g_ptr_array_sort(out, by_name);
    return out;
}
