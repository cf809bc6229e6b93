/*
 * sqlite-db.c - the journal's SQLite file.
 *
 * Key and index design (measured, see README.md and docs/PERFORMANCE.md):
 * what limits a journal that commits every 100 ms is not the row inserts but
 * the index pages each commit rewrites. An index whose keys arrive in random
 * order (a uuid, a phone number) dirties a different leaf page per row, and a
 * commit writes every dirty page to the WAL. So:
 *   - conversation.id is the INTEGER PRIMARY KEY (the rowid): rows append at
 *     the right edge of the table b-tree;
 *   - uniqueness of a conversation is UNIQUE(start_ms, uuid), not UNIQUE(uuid):
 *     a conversation's start time never changes, so a record stored twice
 *     still collides, but the keys arrive nearly in time order and touch only
 *     the last few leaf pages;
 *   - participants are WITHOUT ROWID, keyed by (conversation_id, seq): appended;
 *     the user index is (user_id, start_ms): one hot page per active user;
 *   - outcomes are (outcome, start_ms): six hot pages;
 *   - numbers, the only truly random keys, are one small integer per party
 *     (the last nine digits, shared by a number's raw and E.164 forms) in one
 *     WITHOUT ROWID table, instead of six text indexes; and the 100 ms commits
 *     do not touch that index at all: they append to number_recent (keyed by
 *     conversation id), which jsql_merge_numbers() moves into the index in
 *     key order every so often, one pass over its pages instead of one per
 *     commit. Queries look in both.
 *   - the indexes of journal 1.2's filters are added to older files when
 *     they are opened (added_indexes): lines as (line, start_ms), hot pages
 *     like the user index; and the uuid, the one random key indexed as it
 *     is. That costs a page per commit (a busy writer's commits then carry
 *     one dirty page per new row in it), which the number scheme above
 *     would avoid, but it needs no schema version: a plain index is kept up
 *     by SQLite itself, also by an older ucd writing to the same file.
 */
#include "sqlite-db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "jrec.h"

struct jsql_db {
    sqlite3 *sql;
    sqlite3_stmt *insert_conversation;
    sqlite3_stmt *insert_participant;
    sqlite3_stmt *insert_number;
    sqlite3_stmt *begin, *commit, *rollback;
    int64_t recent_numbers; /* rows in number_recent */
};

static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS conversation("
    " id INTEGER PRIMARY KEY,"
    " uuid TEXT NOT NULL,"
    " driver_instance TEXT,"
    " start_ms INTEGER NOT NULL,"
    " answer_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL,"
    " direction INTEGER NOT NULL,"
    " outcome INTEGER NOT NULL,"
    " flags INTEGER NOT NULL,"
    " source_number TEXT, source_e164 TEXT, source_name TEXT,"
    " requested_number TEXT, requested_e164 TEXT,"
    " destination_number TEXT, destination_e164 TEXT, destination_name TEXT,"
    " transferred_by TEXT, forward_reason TEXT, picked_up_by TEXT,"
    " end_reason TEXT, tags TEXT, memo TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS conversation_start_uuid ON conversation(start_ms, uuid);"
    "CREATE INDEX IF NOT EXISTS conversation_start ON conversation(start_ms);"
    "CREATE INDEX IF NOT EXISTS conversation_outcome ON conversation(outcome, start_ms);"
    "CREATE TABLE IF NOT EXISTS participant("
    " conversation_id INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " role INTEGER NOT NULL,"
    " user_id TEXT, line TEXT,"
    " joined_ms INTEGER NOT NULL, answered_ms INTEGER NOT NULL, left_ms INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL," /* the conversation's: orders the user index by time */
    " PRIMARY KEY(conversation_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS participant_user ON participant(user_id, start_ms)"
    " WHERE user_id IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS conversation_number("
    " number_key INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL,"
    " conversation_id INTEGER NOT NULL,"
    " PRIMARY KEY(number_key, start_ms, conversation_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS number_recent("
    " conversation_id INTEGER NOT NULL,"
    " number_key INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL,"
    " PRIMARY KEY(conversation_id, number_key)) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS conversation_deleted AFTER DELETE ON conversation BEGIN"
    " DELETE FROM number_recent WHERE conversation_id = old.id; END;";

/* Indexes of later queries, created on files of any version 2 when opened;
 * SQLite keeps them whoever writes, so they need no version of their own. */
static const char added_indexes[] =
    "CREATE INDEX IF NOT EXISTS conversation_uuid ON conversation(uuid);"
    "CREATE INDEX IF NOT EXISTS participant_line ON participant(line, start_ms)"
    " WHERE line IS NOT NULL;";

/* The conversation columns in insert and select order (select adds id first). */
#define CONVERSATION_COLUMNS                                                                       \
    "uuid, driver_instance, start_ms, answer_ms, end_ms, direction, outcome, flags,"               \
    " source_number, source_e164, source_name, requested_number, requested_e164,"                  \
    " destination_number, destination_e164, destination_name, transferred_by,"                     \
    " forward_reason, picked_up_by, end_reason, tags, memo"

static char *db_message(sqlite3 *sql, const char *what)
{
    return g_strdup_printf("%s: %s", what, sql ? sqlite3_errmsg(sql) : "out of memory");
}

static void number_key_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t key = jrec_number_key((const char *)sqlite3_value_text(argv[0]));
    if (key < 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, key);
}

/* ---- versions ---- */

static int read_version(sqlite3 *sql, int *version, char **error)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        sql, "SELECT count(*), sum(name = 'schema_version') FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int objects = sqlite3_column_int(st, 0), has_version = sqlite3_column_int(st, 1);
        rc = SQLITE_OK;
        if (objects == 0)
            *version = 0;
        else if (!has_version) {
            *error = g_strdup("not a ucd journal (no schema_version table)");
            rc = SQLITE_NOTADB;
        } else
            *version = -1;
    } else if (rc == SQLITE_DONE)
        rc = SQLITE_CORRUPT;
    if (rc != SQLITE_OK && *error == NULL)
        *error = db_message(sql, "reading the schema");
    sqlite3_finalize(st);
    if (rc != SQLITE_OK || *version == 0)
        return rc;

    rc = sqlite3_prepare_v2(sql, "SELECT max(version) FROM schema_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        *error = db_message(sql, "reading schema_version");
    sqlite3_finalize(st);
    return rc;
}

/* A "file:" URI for `path` that SQLite reads back as exactly that path:
 * every byte but unreserved ones is %-escaped, so '?' and '#' stay part of
 * the name instead of starting the query or the fragment. */
static char *file_uri(const char *path, const char *parameters)
{
    char *absolute = g_canonicalize_filename(path, NULL);
    GString *uri = g_string_new("file://");
    for (const unsigned char *p = (const unsigned char *)absolute; *p != '\0'; p++) {
        if (g_ascii_isalnum(*p) || strchr("/-._~", *p) != NULL)
            g_string_append_c(uri, (char)*p);
        else
            g_string_append_printf(uri, "%%%02X", *p);
    }
    g_string_append_printf(uri, "?%s", parameters);
    g_free(absolute);
    return g_string_free(uri, FALSE);
}

static gboolean side_file_exists(const char *path, const char *suffix)
{
    char *name = g_strconcat(path, suffix, NULL);
    gboolean found = g_file_test(name, G_FILE_TEST_EXISTS);
    g_free(name);
    return found;
}

/* A URI to read a file we must not change, not even by the side files a
 * reader makes: without a `-wal` or a `-journal` the file alone is the whole
 * database, and immutable=1 reads it without creating `-wal` or `-shm` beside
 * it (a plain read-only open of a WAL-mode file creates both). A `-wal` holds
 * content of the file, and a `-journal` may be the rollback journal of a
 * write that never finished (the file then holds half of it, which
 * immutable=1 would read as it is): then the file is read as usual,
 * read-only, and SQLite takes either into account. */
static char *untouched_uri(const char *path)
{
    gboolean plain = !side_file_exists(path, "-wal") && !side_file_exists(path, "-journal");
    return file_uri(path, plain ? "immutable=1" : "mode=ro");
}

/* A pre-WAL file whose writer died mid-transaction has a hot `-journal`; a
 * read-only connection cannot roll it back (SQLITE_READONLY_ROLLBACK), so it
 * is rolled back first, by a read-write open reading the schema: the file is
 * then what its last committed transaction left, as SQLite promises. A
 * journal that is not hot (its writer still holds the file) is left alone. */
static int roll_back_hot_journal(const char *path, char **error)
{
    if (!side_file_exists(path, "-journal"))
        return SQLITE_OK;
    sqlite3 *sql = NULL;
    char *uri = file_uri(path, "mode=rw");
    int rc = sqlite3_open_v2(uri, &sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
    g_free(uri);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(sql, 5000);
        rc = sqlite3_exec(sql, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        *error = g_strdup_printf("%s-journal (a write to %s that never finished) cannot be rolled "
                                 "back: %s",
                                 path, path, sql ? sqlite3_errmsg(sql) : "out of memory");
    sqlite3_close(sql);
    return rc;
}

int jsql_file_version(const char *path, int *version, char **error)
{
    *version = 0;
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return SQLITE_OK;
    int rc = roll_back_hot_journal(path, error);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3 *sql = NULL;
    char *uri = untouched_uri(path);
    rc = sqlite3_open_v2(uri, &sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    g_free(uri);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(sql, 5000);
        rc = read_version(sql, version, error);
    } else
        *error = db_message(sql, "opening");
    sqlite3_close(sql);
    return rc;
}

/* ---- migration ---- */

/* Version 1 had one table, calls(uuid PRIMARY KEY, driver_instance, start_ms,
 * answer_ms, end_ms, direction, outcome, source_number, destination_number,
 * user_id, line): one row per call, one user. Each becomes a conversation with
 * one participant (callee of an inbound call, else caller). */
static const char migrate_v1_sql[] =
    "INSERT INTO conversation(uuid, driver_instance, start_ms, answer_ms, end_ms, direction,"
    " outcome, flags, source_number, destination_number, end_reason)"
    " SELECT uuid, driver_instance, coalesce(start_ms, 0), coalesce(answer_ms, 0),"
    "  coalesce(end_ms, 0), coalesce(direction, 0), coalesce(outcome, 1), 0, source_number,"
    "  destination_number, 'normal'"
    " FROM old.calls ORDER BY start_ms, uuid;"
    "INSERT INTO participant(conversation_id, seq, role, user_id, line, joined_ms, answered_ms,"
    " left_ms, start_ms)"
    " SELECT c.id, 0, CASE WHEN o.direction = 1 THEN 1 ELSE 0 END, o.user_id, o.line,"
    "  c.start_ms, c.answer_ms, c.end_ms, c.start_ms"
    " FROM old.calls o JOIN conversation c ON c.start_ms = coalesce(o.start_ms, 0)"
    "  AND c.uuid = o.uuid"
    " WHERE o.user_id IS NOT NULL OR o.line IS NOT NULL;"
    "INSERT OR IGNORE INTO conversation_number"
    " SELECT k, start_ms, id FROM ("
    "  SELECT jsql_number_key(source_number) AS k, start_ms, id FROM conversation"
    "  UNION ALL SELECT jsql_number_key(destination_number), start_ms, id FROM conversation)"
    " WHERE k IS NOT NULL;";

static void remove_file_set(const char *base)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *name = g_strconcat(base, suffixes[i], NULL);
        g_unlink(name);
        g_free(name);
    }
}

static void remove_side_file(const char *base, const char *suffix)
{
    char *name = g_strconcat(base, suffix, NULL);
    g_unlink(name);
    g_free(name);
}

static int exec(sqlite3 *sql, const char *text, const char *what, char **error)
{
    int rc = sqlite3_exec(sql, text, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        *error = db_message(sql, what);
    return rc;
}

static int attach_old(sqlite3 *sql, const char *uri, char **error)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sql, "ATTACH ?1 AS old", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        *error = db_message(sql, "attaching the old journal");
    sqlite3_finalize(st);
    return rc;
}

static int64_t count_conversations(sqlite3 *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t count = -1;
    if (sqlite3_prepare_v2(sql, "SELECT count(*) FROM conversation", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        count = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return count;
}

/* Writes the migrated journal to `target` in one transaction; schema_version
 * is written last in it, so a target with a version is a complete one. */
static int migrate_into(const char *source, int from, const char *target, int64_t *conversations,
                        char **error)
{
    sqlite3 *sql = NULL;
    int rc = sqlite3_open_v2(target, &sql,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (rc != SQLITE_OK) {
        *error = db_message(sql, "creating the migrated file");
        sqlite3_close(sql);
        return rc;
    }
    sqlite3_create_function(sql, "jsql_number_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            number_key_sql, NULL, NULL);
    /* The old file by a bound, escaped URI: a path with '#' or '?' in it
     * would otherwise be cut there (and a file of the shorter name made). */
    char *uri = untouched_uri(source);
    char *version = sqlite3_mprintf("INSERT INTO schema_version VALUES(%d)", JSQL_SCHEMA_VERSION);
    rc = exec(sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", "setting up", error);
    if (rc == SQLITE_OK)
        rc = attach_old(sql, uri, error);
    if (rc == SQLITE_OK)
        rc = exec(sql, "BEGIN", "beginning", error);
    if (rc == SQLITE_OK)
        rc = exec(sql, schema_v2, "creating the schema", error);
    if (rc == SQLITE_OK && from == 1)
        rc = exec(sql, migrate_v1_sql, "copying version 1 rows", error);
    if (rc == SQLITE_OK)
        rc = exec(sql, version, "writing schema_version", error);
    if (rc == SQLITE_OK)
        rc = exec(sql, "COMMIT", "committing the migration", error);
    if (rc == SQLITE_OK)
        rc = exec(sql, "DETACH old; PRAGMA wal_checkpoint(TRUNCATE)", "finishing", error);
    if (rc == SQLITE_OK)
        *conversations = count_conversations(sql);
    sqlite3_free(version);
    g_free(uri);
    int close_rc = sqlite3_close(sql);
    return rc != SQLITE_OK ? rc : close_rc;
}

static int rename_or_fail(const char *from, const char *to, char **error)
{
    if (g_rename(from, to) == 0)
        return SQLITE_OK;
    *error = g_strdup_printf("renaming %s to %s: %s", from, to, g_strerror(errno));
    return SQLITE_CANTOPEN;
}

/* Migrates PATH (version `from`) into PATH.migrating, then moves the old file
 * aside as PATH.vFROM-backup (with its WAL, whose content belongs to it) and
 * the new file into place. The old file's bytes are never written. A crash
 * before the last rename leaves either the old file alone (the half-written
 * .migrating is discarded next time) or no PATH and a complete .migrating,
 * which the next open moves into place. */
static int migrate(const char *path, int from, char **report, char **error)
{
    char *target = g_strconcat(path, ".migrating", NULL);
    char *backup = g_strdup_printf("%s.v%d-backup", path, from);
    char *old_wal = g_strconcat(path, "-wal", NULL);
    char *backup_wal = g_strconcat(backup, "-wal", NULL);
    int64_t conversations = 0;
    int rc = SQLITE_OK;

    if (g_file_test(backup, G_FILE_TEST_EXISTS)) {
        *error = g_strdup_printf("cannot migrate %s from schema version %d: %s already exists "
                                 "(move it away to let the migration keep a new backup)",
                                 path, from, backup);
        rc = SQLITE_CANTOPEN;
    }
    if (rc == SQLITE_OK) {
        remove_file_set(target);
        rc = migrate_into(path, from, target, &conversations, error);
        if (rc != SQLITE_OK)
            remove_file_set(target);
    }
    if (rc == SQLITE_OK && g_file_test(old_wal, G_FILE_TEST_EXISTS))
        rc = rename_or_fail(old_wal, backup_wal, error);
    if (rc == SQLITE_OK)
        rc = rename_or_fail(path, backup, error);
    if (rc == SQLITE_OK) {
        /* The old file's index of its WAL, if a reader left one: only an
         * index, and not one of the new file. */
        remove_side_file(path, "-shm");
        rc = rename_or_fail(target, path, error);
    }
    if (rc == SQLITE_OK)
        *report = g_strdup_printf("migrated %s from schema version %d to %d (%" PRId64
                                  " conversations); the old file is kept as %s",
                                  path, from, JSQL_SCHEMA_VERSION, conversations, backup);
    g_free(backup_wal);
    g_free(old_wal);
    g_free(backup);
    g_free(target);
    return rc;
}

/* Finishes a migration a crash interrupted after the old file was moved away,
 * and removes the side files of a `.migrating` that is no longer there (an
 * older version's recovery left them). */
static void finish_interrupted_migration(const char *path, char **report)
{
    char *target = g_strconcat(path, ".migrating", NULL);
    int version = 0;
    char *error = NULL;
    if (!g_file_test(path, G_FILE_TEST_EXISTS) && g_file_test(target, G_FILE_TEST_EXISTS) &&
        jsql_file_version(target, &version, &error) == SQLITE_OK &&
        version == JSQL_SCHEMA_VERSION && g_rename(target, path) == 0) {
        char *backup = NULL;
        for (int v = JSQL_SCHEMA_VERSION - 1; v > 0 && backup == NULL; v--) {
            backup = g_strdup_printf("%s.v%d-backup", path, v);
            if (!g_file_test(backup, G_FILE_TEST_EXISTS))
                g_clear_pointer(&backup, g_free);
        }
        *report = g_strdup_printf("finished a migration a crash interrupted: moved %s to %s; "
                                  "the old file is kept as %s",
                                  target, path, backup != NULL ? backup : "(not found)");
        g_free(backup);
    }
    if (!g_file_test(target, G_FILE_TEST_EXISTS)) {
        /* A complete .migrating was checkpointed and closed before it was
         * renamed: its -wal is empty, its -shm only an index. */
        remove_side_file(target, "-wal");
        remove_side_file(target, "-shm");
    }
    g_free(error);
    g_free(target);
}

/* ---- opening ---- */

static int prepare(jsql_db *db, const char *text, sqlite3_stmt **st, char **error)
{
    int rc = sqlite3_prepare_v3(db->sql, text, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        *error = db_message(db->sql, "preparing statements");
    return rc;
}

static int configure(jsql_db *db, const jsql_options *options, int created, char **error)
{
    int64_t cache_kib = options->cache_mb > 0 ? options->cache_mb * 1024 : 2000;
    /* max_page_count counts pages, so the cap follows the file's page size. */
    char *pragmas = g_strdup_printf(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-%" PRId64 ";"
        "PRAGMA temp_store=MEMORY; PRAGMA max_page_count=%" PRId64 ";"
        /* Checkpoint every ~40 MB of WAL instead of 4 MB: the pages every commit
         * rewrites (the right edges of the b-trees) reach the database file
         * once per checkpoint, and each checkpoint costs an fsync. */
        "PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;",
        cache_kib,
        options->max_size_mb > 0 ? options->max_size_mb * 1024 * 1024 / 4096 : (int64_t)0xfffffffe);
    int rc = exec(db->sql, "PRAGMA page_size=4096", "setting the page size", error);
    if (rc == SQLITE_OK)
        rc = exec(db->sql, pragmas, "setting pragmas", error);
    g_free(pragmas);
    if (rc == SQLITE_OK && created) {
        char *text = g_strdup_printf("BEGIN; %s INSERT INTO schema_version VALUES(%d); COMMIT;",
                                     schema_v2, JSQL_SCHEMA_VERSION);
        rc = exec(db->sql, text, "creating the schema", error);
        g_free(text);
        if (rc != SQLITE_OK)
            sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = exec(db->sql, added_indexes, "adding the indexes of uuids and lines", error);
    return rc;
}

static int prepare_all(jsql_db *db, char **error)
{
    int rc = prepare(db,
                     "INSERT OR IGNORE INTO conversation(" CONVERSATION_COLUMNS ") VALUES"
                     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                     " ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
                     &db->insert_conversation, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "INSERT INTO participant VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     &db->insert_participant, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "INSERT OR IGNORE INTO number_recent VALUES (?3, ?1, ?2)",
                     &db->insert_number, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "BEGIN", &db->begin, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "COMMIT", &db->commit, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "ROLLBACK", &db->rollback, error);
    return rc;
}

static int count_recent(jsql_db *db, char **error)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, "SELECT count(*) FROM number_recent", &st, error);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        db->recent_numbers = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

int jsql_open(const char *path, const jsql_options *options, jsql_db **out, char **report,
              char **error)
{
    *out = NULL;
    *report = NULL;
    finish_interrupted_migration(path, report);
    int version = 0;
    int rc = jsql_file_version(path, &version, error);
    if (rc != SQLITE_OK)
        return rc;
    if (version > JSQL_SCHEMA_VERSION) {
        *error = g_strdup_printf("%s has schema version %d, newer than this plugin's %d (written "
                                 "by a newer ucd?): refusing to touch it",
                                 path, version, JSQL_SCHEMA_VERSION);
        return SQLITE_MISMATCH;
    }
    if (version > 0 && version < JSQL_SCHEMA_VERSION) {
        char *migrated = NULL;
        rc = migrate(path, version, &migrated, error);
        if (rc != SQLITE_OK)
            return rc;
        g_free(*report);
        *report = migrated;
    }

    jsql_db *db = g_new0(jsql_db, 1);
    /* NOMUTEX: the connection is used by one thread at a time (the writer). */
    rc = sqlite3_open_v2(path, &db->sql,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        *error = db_message(db->sql, "opening");
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db->sql, 5000);
        rc = configure(db, options, version == 0, error);
    }
    if (rc == SQLITE_OK)
        rc = prepare_all(db, error);
    if (rc == SQLITE_OK)
        rc = count_recent(db, error);
    if (rc != SQLITE_OK) {
        jsql_close(db);
        return rc;
    }
    *out = db;
    return SQLITE_OK;
}

void jsql_close(jsql_db *db)
{
    if (db == NULL)
        return;
    sqlite3_stmt *all[] = {db->insert_conversation,
                           db->insert_participant,
                           db->insert_number,
                           db->begin,
                           db->commit,
                           db->rollback};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(db->sql);
    g_free(db);
}

/* ---- writing ---- */

static int run(jsql_db *db, sqlite3_stmt *st, const char *what, char **error)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return SQLITE_OK;
    *error = db_message(db->sql, what);
    return rc;
}

int jsql_begin(jsql_db *db, char **error)
{
    return run(db, db->begin, "beginning a transaction", error);
}

int jsql_commit(jsql_db *db, char **error)
{
    return run(db, db->commit, "committing", error);
}

void jsql_rollback(jsql_db *db)
{
    if (!sqlite3_get_autocommit(db->sql)) {
        sqlite3_step(db->rollback);
        sqlite3_reset(db->rollback);
    }
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

static void bind_conversation(sqlite3_stmt *st, const ucd_journal_record *r)
{
    const char *texts[] = {r->source_number,
                           r->source_e164,
                           r->source_name,
                           r->requested_number,
                           r->requested_e164,
                           r->destination_number,
                           r->destination_e164,
                           r->destination_name,
                           r->transferred_by,
                           r->forward_reason,
                           r->picked_up_by,
                           r->end_reason,
                           r->tags,
                           r->memo};
    bind_text(st, 1, r->uuid);
    bind_text(st, 2, r->driver_instance);
    sqlite3_bind_int64(st, 3, r->start_ms);
    sqlite3_bind_int64(st, 4, r->answer_ms);
    sqlite3_bind_int64(st, 5, r->end_ms);
    sqlite3_bind_int(st, 6, (int)r->direction);
    sqlite3_bind_int(st, 7, (int)r->outcome);
    sqlite3_bind_int(st, 8, (int)r->flags);
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        bind_text(st, 9 + (int)i, texts[i]);
}

static int insert_participants(jsql_db *db, const ucd_journal_record *r, int64_t id, char **error)
{
    size_t stride = r->participant_size ? r->participant_size : sizeof(ucd_journal_participant);
    sqlite3_stmt *st = db->insert_participant;
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p =
            (const void *)((const char *)r->participants + (size_t)i * stride);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, (int)i);
        sqlite3_bind_int(st, 3, (int)p->role);
        bind_text(st, 4, p->user_id);
        bind_text(st, 5, p->line);
        sqlite3_bind_int64(st, 6, p->joined_ms);
        sqlite3_bind_int64(st, 7, p->answered_ms);
        sqlite3_bind_int64(st, 8, p->left_ms);
        sqlite3_bind_int64(st, 9, r->start_ms);
        int rc = run(db, st, "inserting a participant", error);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* The distinct number keys of a record's six numbers; returns how many. */
static int record_number_keys(const ucd_journal_record *r, int64_t keys[6])
{
    const char *numbers[] = {r->source_number,  r->source_e164,        r->requested_number,
                             r->requested_e164, r->destination_number, r->destination_e164};
    int count = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++) {
        int64_t key = jrec_number_key(numbers[i]);
        int seen = key < 0;
        for (int j = 0; j < count && !seen; j++)
            seen = keys[j] == key;
        if (!seen)
            keys[count++] = key;
    }
    return count;
}

static int insert_numbers(jsql_db *db, const ucd_journal_record *r, int64_t id, char **error)
{
    int64_t keys[6];
    int count = record_number_keys(r, keys);
    for (int i = 0; i < count; i++) {
        sqlite3_bind_int64(db->insert_number, 1, keys[i]);
        sqlite3_bind_int64(db->insert_number, 2, r->start_ms);
        sqlite3_bind_int64(db->insert_number, 3, id);
        int rc = run(db, db->insert_number, "inserting a number", error);
        if (rc != SQLITE_OK)
            return rc;
        db->recent_numbers++;
    }
    return SQLITE_OK;
}

int jsql_insert(jsql_db *db, const ucd_journal_record *record, char **error)
{
    bind_conversation(db->insert_conversation, record);
    int rc = run(db, db->insert_conversation, "inserting a conversation", error);
    if (rc != SQLITE_OK || sqlite3_changes(db->sql) == 0)
        return rc; /* an error, or a record stored before: nothing more to add */
    int64_t id = sqlite3_last_insert_rowid(db->sql);
    rc = insert_participants(db, record, id, error);
    if (rc == SQLITE_OK)
        rc = insert_numbers(db, record, id, error);
    return rc;
}

int64_t jsql_recent_numbers(const jsql_db *db)
{
    return db->recent_numbers;
}

int jsql_merge_numbers(jsql_db *db, char **error)
{
    int rc = exec(db->sql,
                  "BEGIN;"
                  "INSERT OR IGNORE INTO conversation_number"
                  " SELECT number_key, start_ms, conversation_id FROM number_recent"
                  " ORDER BY number_key, start_ms, conversation_id;"
                  "DELETE FROM number_recent;"
                  "COMMIT;",
                  "merging the number index", error);
    if (rc != SQLITE_OK)
        jsql_rollback(db);
    else
        db->recent_numbers = 0;
    return rc;
}

/* ---- retention ---- */

static int expire_one(jsql_db *db, sqlite3_stmt *row, sqlite3_stmt *del_number,
                      sqlite3_stmt *del_rest, char **error)
{
    ucd_journal_record r = {.struct_size = sizeof(r)};
    int64_t id = sqlite3_column_int64(row, 0);
    r.start_ms = sqlite3_column_int64(row, 1);
    const char **numbers[] = {&r.source_number,  &r.source_e164,        &r.requested_number,
                              &r.requested_e164, &r.destination_number, &r.destination_e164};
    for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++)
        *numbers[i] = (const char *)sqlite3_column_text(row, 2 + (int)i);
    int64_t keys[6];
    int count = record_number_keys(&r, keys);
    int rc = SQLITE_OK;
    for (int i = 0; i < count && rc == SQLITE_OK; i++) {
        sqlite3_bind_int64(del_number, 1, keys[i]);
        sqlite3_bind_int64(del_number, 2, r.start_ms);
        sqlite3_bind_int64(del_number, 3, id);
        rc = run(db, del_number, "expiring numbers", error);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(del_rest, 1, id);
        rc = run(db, del_rest, "expiring a conversation", error);
    }
    return rc;
}

int jsql_expire(jsql_db *db, int64_t cutoff_ms, int limit, int *deleted, char **error)
{
    sqlite3_stmt *row = NULL, *del_number = NULL, *del_rest = NULL;
    *deleted = 0;
    int rc = prepare(db,
                     "SELECT id, start_ms, source_number, source_e164, requested_number,"
                     " requested_e164, destination_number, destination_e164 FROM conversation"
                     " WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2",
                     &row, error);
    if (rc == SQLITE_OK)
        rc = prepare(db,
                     "DELETE FROM conversation_number WHERE number_key = ?1 AND start_ms = ?2"
                     " AND conversation_id = ?3",
                     &del_number, error);
    if (rc == SQLITE_OK)
        rc = prepare(db, "DELETE FROM participant WHERE conversation_id = ?1;", &del_rest, error);
    sqlite3_stmt *del_conversation = NULL;
    if (rc == SQLITE_OK)
        rc = prepare(db, "DELETE FROM conversation WHERE id = ?1", &del_conversation, error);
    if (rc == SQLITE_OK)
        rc = jsql_begin(db, error);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(row, 1, cutoff_ms);
        sqlite3_bind_int(row, 2, limit);
        int step;
        while (rc == SQLITE_OK && (step = sqlite3_step(row)) == SQLITE_ROW) {
            rc = expire_one(db, row, del_number, del_rest, error);
            if (rc == SQLITE_OK) {
                sqlite3_bind_int64(del_conversation, 1, sqlite3_column_int64(row, 0));
                rc = run(db, del_conversation, "expiring a conversation", error);
            }
            (*deleted)++;
        }
        if (rc == SQLITE_OK && step != SQLITE_DONE) {
            rc = step;
            *error = db_message(db->sql, "selecting expired conversations");
        }
        sqlite3_reset(row);
        if (rc == SQLITE_OK)
            rc = jsql_commit(db, error);
        if (rc != SQLITE_OK) {
            jsql_rollback(db);
            *deleted = 0;
        }
    }
    sqlite3_finalize(row);
    sqlite3_finalize(del_number);
    sqlite3_finalize(del_rest);
    sqlite3_finalize(del_conversation);
    return rc;
}

/* ---- queries ---- */

enum { COL_ID = 0 };

static void column_record(sqlite3_stmt *st, ucd_journal_record *r)
{
    const char **texts[] = {&r->source_number,
                            &r->source_e164,
                            &r->source_name,
                            &r->requested_number,
                            &r->requested_e164,
                            &r->destination_number,
                            &r->destination_e164,
                            &r->destination_name,
                            &r->transferred_by,
                            &r->forward_reason,
                            &r->picked_up_by,
                            &r->end_reason,
                            &r->tags,
                            &r->memo};
    memset(r, 0, sizeof(*r));
    r->struct_size = sizeof(*r);
    r->uuid = (const char *)sqlite3_column_text(st, 1);
    r->driver_instance = (const char *)sqlite3_column_text(st, 2);
    r->start_ms = sqlite3_column_int64(st, 3);
    r->answer_ms = sqlite3_column_int64(st, 4);
    r->end_ms = sqlite3_column_int64(st, 5);
    r->direction = (uint32_t)sqlite3_column_int(st, 6);
    r->outcome = (uint32_t)sqlite3_column_int(st, 7);
    r->flags = (uint32_t)sqlite3_column_int(st, 8);
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        *texts[i] = (const char *)sqlite3_column_text(st, 9 + (int)i);
    /* The table keeps the words; journal 1.1 readers get the enums too. */
    jrec_codes_from_words(r);
}

typedef struct query_plan {
    GString *sql;
    int64_t cursor_start, cursor_id;
    int64_t number_key;
    int has_cursor;
} query_plan;

static int parse_cursor(const char *text, query_plan *plan)
{
    if (text == NULL || text[0] == '\0')
        return UCD_OK;
    char **parts = g_strsplit(text, ":", 3);
    int ok = g_strv_length(parts) == 2 &&
             g_ascii_string_to_signed(parts[0], 10, INT64_MIN, INT64_MAX,
                                      (gint64 *)&plan->cursor_start, NULL) &&
             g_ascii_string_to_signed(parts[1], 10, 0, INT64_MAX, (gint64 *)&plan->cursor_id, NULL);
    g_strfreev(parts);
    plan->has_cursor = ok;
    return ok ? UCD_OK : UCD_E_INVALID;
}

/* The participant filter's names are numbered parameters (?1001.. users,
 * ?2001.. lines; at most UCD_JOURNAL_MAX_PARTICIPANT_FILTER in all): a
 * thousand names looked up one by one would cost a million comparisons. */
#define USER_PARAMETERS 1001
#define LINE_PARAMETERS (USER_PARAMETERS + UCD_JOURNAL_MAX_PARTICIPANT_FILTER)

static void append_in_list(GString *s, const char *column, uint32_t count, int first, int bounded)
{
    g_string_append_printf(s, "SELECT conversation_id FROM participant WHERE %s IN (", column);
    for (uint32_t i = 0; i < count; i++)
        g_string_append_printf(s, "%s?%u", i ? "," : "", first + i);
    /* The participant's copy of start_ms bounds the index range read. */
    g_string_append(s, ") AND start_ms >= :from");
    if (bounded)
        g_string_append(s, " AND start_ms < :to");
}

/* Each list reads its own index, (user_id, start_ms) or (line, start_ms). */
static void append_participant_filter(GString *s, const ucd_journal_query *q, int bounded)
{
    g_string_append(s, " AND id IN (");
    if (q->participant_user_count)
        append_in_list(s, "user_id", q->participant_user_count, USER_PARAMETERS, bounded);
    if (q->participant_user_count && q->participant_line_count)
        g_string_append(s, " UNION ALL ");
    if (q->participant_line_count)
        append_in_list(s, "line", q->participant_line_count, LINE_PARAMETERS, bounded);
    g_string_append(s, ")");
}

/* Builds the statement; parameters are named so the binding order is free. */
static void build_sql(const ucd_journal_query *q, query_plan *plan)
{
    GString *s = g_string_new("SELECT id, " CONVERSATION_COLUMNS " FROM conversation c WHERE 1");
    if (q->from_ms)
        g_string_append(s, " AND start_ms >= :from");
    /* One upper bound on start_ms, the tighter of --to and the cursor: SQLite
     * bounds its index scan by one of them, and with :to while a cursor is
     * set, every page would walk the index down from :to to the cursor. */
    if (q->to_ms || plan->has_cursor)
        g_string_append(s, " AND start_ms < :to");
    if (q->outcome_mask) {
        g_string_append(s, " AND outcome IN (-1");
        for (int o = 0; o < 32; o++) {
            if (q->outcome_mask & (1u << o))
                g_string_append_printf(s, ",%d", o);
        }
        g_string_append(s, ")");
    }
    if (q->user_id)
        g_string_append(s, " AND id IN (SELECT conversation_id FROM participant"
                           " WHERE user_id = :user)");
    if (q->uuid)
        g_string_append(s, " AND uuid = :uuid");
    if (q->participant_user_count || q->participant_line_count)
        append_participant_filter(s, q, q->to_ms || plan->has_cursor);
    if (q->number) {
        plan->number_key = jrec_number_key(q->number);
        g_string_append(s, " AND id IN (SELECT conversation_id FROM conversation_number"
                           " WHERE number_key = :key UNION ALL SELECT conversation_id"
                           " FROM number_recent WHERE number_key = :key)"
                           " AND :number IN (source_number, source_e164, requested_number,"
                           " requested_e164, destination_number, destination_e164)");
    }
    if (plan->has_cursor)
        g_string_append(s, " AND (start_ms, id) < (:cstart, :cid)");
    g_string_append(s, " ORDER BY start_ms DESC, id DESC LIMIT :limit");
    plan->sql = s;
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, value);
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *value)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_text(st, i, value, -1, SQLITE_STATIC);
}

static void bind_query(sqlite3_stmt *st, const ucd_journal_query *q, const query_plan *plan,
                       uint32_t limit)
{
    bind_named_int(st, ":from", q->from_ms);
    int64_t upper = q->to_ms;
    if (plan->has_cursor && plan->cursor_start < INT64_MAX &&
        (upper == 0 || plan->cursor_start + 1 < upper))
        upper = plan->cursor_start + 1;
    bind_named_int(st, ":to", upper);
    bind_named_text(st, ":user", q->user_id);
    bind_named_int(st, ":key", plan->number_key);
    bind_named_text(st, ":number", q->number);
    bind_named_int(st, ":cstart", plan->cursor_start);
    bind_named_int(st, ":cid", plan->cursor_id);
    bind_named_int(st, ":limit", (int64_t)limit + 1); /* one more: is there a next page? */
    bind_named_text(st, ":uuid", q->uuid);
    for (uint32_t i = 0; i < q->participant_user_count; i++)
        sqlite3_bind_text(st, USER_PARAMETERS + (int)i, q->participant_users[i], -1, SQLITE_STATIC);
    for (uint32_t i = 0; i < q->participant_line_count; i++)
        sqlite3_bind_text(st, LINE_PARAMETERS + (int)i, q->participant_lines[i], -1, SQLITE_STATIC);
}

/* A page of results, read completely before the first callback so that the
 * participants of all its conversations come from one scan of the participant
 * table's key range instead of one query per conversation: a month report
 * reads a million conversations, and a statement per conversation cost more
 * than everything else together. Strings are copied into `strings` (SQLite's
 * column buffers do not survive the next step). */
typedef struct page {
    GArray *records;      /* ucd_journal_record */
    GArray *ids;          /* int64_t: each record's conversation id */
    GArray *parts;        /* ucd_journal_participant, grouped by record */
    GArray *first, *used; /* guint per record: its slice of `parts` */
    GStringChunk *strings;
} page;

typedef struct id_slot {
    int64_t id;
    guint index;
} id_slot;

typedef struct owned_part {
    guint index; /* the record it belongs to */
    ucd_journal_participant p;
} owned_part;

static const char *keep(GStringChunk *strings, const unsigned char *text)
{
    return text ? g_string_chunk_insert(strings, (const char *)text) : NULL;
}

static void page_init(page *pg)
{
    pg->records = g_array_new(FALSE, TRUE, sizeof(ucd_journal_record));
    pg->ids = g_array_new(FALSE, TRUE, sizeof(int64_t));
    pg->parts = g_array_new(FALSE, TRUE, sizeof(ucd_journal_participant));
    pg->first = g_array_new(FALSE, TRUE, sizeof(guint));
    pg->used = g_array_new(FALSE, TRUE, sizeof(guint));
    pg->strings = g_string_chunk_new(16384);
}

static void page_free(page *pg)
{
    g_array_free(pg->records, TRUE);
    g_array_free(pg->ids, TRUE);
    g_array_free(pg->parts, TRUE);
    g_array_free(pg->first, TRUE);
    g_array_free(pg->used, TRUE);
    g_string_chunk_free(pg->strings);
}

/* Reads up to `limit` rows into `pg`; `*more` says a further row exists. */
static int read_page(sqlite3_stmt *st, uint32_t limit, page *pg, int *more)
{
    int rc;
    *more = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (pg->records->len == limit) {
            *more = 1;
            return SQLITE_OK;
        }
        ucd_journal_record r;
        column_record(st, &r);
        const char **texts[] = {&r.uuid,
                                &r.driver_instance,
                                &r.source_number,
                                &r.source_e164,
                                &r.source_name,
                                &r.requested_number,
                                &r.requested_e164,
                                &r.destination_number,
                                &r.destination_e164,
                                &r.destination_name,
                                &r.transferred_by,
                                &r.forward_reason,
                                &r.picked_up_by,
                                &r.end_reason,
                                &r.tags,
                                &r.memo};
        for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
            *texts[i] = keep(pg->strings, (const unsigned char *)*texts[i]);
        int64_t id = sqlite3_column_int64(st, COL_ID);
        g_array_append_val(pg->records, r);
        g_array_append_val(pg->ids, id);
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static ucd_journal_participant participant_columns(sqlite3_stmt *st, int first, GStringChunk *s)
{
    ucd_journal_participant p = {
        .struct_size = sizeof(p),
        .role = (uint32_t)sqlite3_column_int(st, first),
        .user_id = keep(s, sqlite3_column_text(st, first + 1)),
        .line = keep(s, sqlite3_column_text(st, first + 2)),
        .joined_ms = sqlite3_column_int64(st, first + 3),
        .answered_ms = sqlite3_column_int64(st, first + 4),
        .left_ms = sqlite3_column_int64(st, first + 5),
    };
    return p;
}

/* A read connection kept between queries: opening one reads the schema and
 * preparing a statement parses it, which cost more than reading a page of
 * 50 conversations. Statements are kept by their text (at most
 * READER_STATEMENTS, then all are dropped: the texts vary only with the
 * filters given). The file is checked by device and inode before each
 * query: a file replaced (a migration, a file deleted and made again)
 * gets a new connection, as a new query always did. */
#define READER_STATEMENTS 32

struct jsql_reader {
    char *path;
    sqlite3 *sql;
    dev_t dev;
    ino_t ino;
    GHashTable *statements; /* text -> sqlite3_stmt */
};

static void finalize_statement(gpointer st)
{
    sqlite3_finalize(st);
}

jsql_reader *jsql_reader_new(const char *path)
{
    jsql_reader *r = g_new0(jsql_reader, 1);
    r->path = g_strdup(path);
    r->statements = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, finalize_statement);
    return r;
}

static void reader_close(jsql_reader *r)
{
    g_hash_table_remove_all(r->statements);
    sqlite3_close(r->sql);
    r->sql = NULL;
}

void jsql_reader_free(jsql_reader *r)
{
    if (r == NULL)
        return;
    reader_close(r);
    g_hash_table_unref(r->statements);
    g_free(r->path);
    g_free(r);
}

/* Opens the connection, or keeps it while the path is the file it opened. */
static int reader_open(jsql_reader *r)
{
    GStatBuf now;
    gboolean same = g_stat(r->path, &now) == 0 && now.st_dev == r->dev && now.st_ino == r->ino;
    if (r->sql != NULL && same)
        return SQLITE_OK;
    reader_close(r);
    int rc = sqlite3_open_v2(r->path, &r->sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(r->sql, 5000);
        r->dev = g_stat(r->path, &now) == 0 ? now.st_dev : 0;
        r->ino = r->dev ? now.st_ino : 0;
    }
    return rc;
}

/* The prepared statement of `text`, reset and unbound. */
static int reader_statement(jsql_reader *r, const char *text, sqlite3_stmt **st)
{
    *st = g_hash_table_lookup(r->statements, text);
    if (*st != NULL) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return SQLITE_OK;
    }
    if (g_hash_table_size(r->statements) >= READER_STATEMENTS)
        g_hash_table_remove_all(r->statements);
    int rc = sqlite3_prepare_v3(r->sql, text, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc == SQLITE_OK)
        g_hash_table_insert(r->statements, g_strdup(text), *st);
    return rc;
}

/* One query per conversation: for pages whose ids are far apart (a user's or
 * a number's conversations over years), where a range scan would read mostly
 * other conversations' participants. */
static int load_each(jsql_reader *r, page *pg)
{
    sqlite3_stmt *st = NULL;
    int rc = reader_statement(r,
                              "SELECT role, user_id, line, joined_ms, answered_ms, left_ms"
                              " FROM participant WHERE conversation_id = ?1 ORDER BY seq",
                              &st);
    for (guint i = 0; rc == SQLITE_OK && i < pg->ids->len; i++) {
        guint first = pg->parts->len;
        sqlite3_bind_int64(st, 1, g_array_index(pg->ids, int64_t, i));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            ucd_journal_participant p = participant_columns(st, 0, pg->strings);
            g_array_append_val(pg->parts, p);
        }
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        guint used = pg->parts->len - first;
        g_array_append_val(pg->first, first);
        g_array_append_val(pg->used, used);
    }
    if (st != NULL)
        sqlite3_reset(st);
    return rc;
}

static int by_id(gconstpointer a, gconstpointer b)
{
    int64_t x = ((const id_slot *)a)->id, y = ((const id_slot *)b)->id;
    return x < y ? -1 : x > y;
}

/* Groups participants read in conversation-id order by their record, in
 * page order (a counting sort: each record's participants stay in seq order). */
static void group_parts(page *pg, GArray *found)
{
    guint n = pg->records->len;
    g_array_set_size(pg->first, n);
    g_array_set_size(pg->used, n);
    memset(pg->used->data, 0, n * sizeof(guint));
    for (guint i = 0; i < found->len; i++)
        g_array_index(pg->used, guint, g_array_index(found, owned_part, i).index)++;
    guint offset = 0;
    for (guint i = 0; i < n; i++) {
        g_array_index(pg->first, guint, i) = offset;
        offset += g_array_index(pg->used, guint, i);
    }
    g_array_set_size(pg->parts, offset);
    guint *fill = g_new0(guint, n);
    for (guint i = 0; i < found->len; i++) {
        const owned_part *o = &g_array_index(found, owned_part, i);
        guint at = g_array_index(pg->first, guint, o->index) + fill[o->index]++;
        g_array_index(pg->parts, ucd_journal_participant, at) = o->p;
    }
    g_free(fill);
}

/* All participants of the page's id range in one scan of the table's primary
 * key, matched to the page's records by a merge over the sorted ids. */
static int load_range(jsql_reader *r, page *pg)
{
    guint n = pg->ids->len;
    id_slot *slots = g_new(id_slot, n);
    for (guint i = 0; i < n; i++)
        slots[i] = (id_slot){g_array_index(pg->ids, int64_t, i), i};
    qsort(slots, n, sizeof(*slots), by_id);
    sqlite3_stmt *st = NULL;
    GArray *found = g_array_new(FALSE, FALSE, sizeof(owned_part));
    int rc = reader_statement(r,
                              "SELECT conversation_id, role, user_id, line, joined_ms,"
                              " answered_ms, left_ms FROM participant"
                              " WHERE conversation_id BETWEEN ?1 AND ?2"
                              " ORDER BY conversation_id, seq",
                              &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, slots[0].id);
        sqlite3_bind_int64(st, 2, slots[n - 1].id);
        guint k = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            while (k < n && slots[k].id < id)
                k++;
            if (k == n)
                break;
            if (slots[k].id != id)
                continue; /* a conversation outside the page */
            owned_part o = {slots[k].index, participant_columns(st, 1, pg->strings)};
            g_array_append_val(found, o);
        }
        rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    if (st != NULL)
        sqlite3_reset(st);
    if (rc == SQLITE_OK)
        group_parts(pg, found);
    g_array_free(found, TRUE);
    g_free(slots);
    return rc;
}

/* A range scan pays for every conversation in the id range, in the page or
 * not; below this density one query per conversation is cheaper. */
#define RANGE_SPREAD 8

static int load_page_participants(jsql_reader *r, page *pg)
{
    guint n = pg->ids->len;
    if (n == 0)
        return SQLITE_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (guint i = 0; i < n; i++) {
        int64_t id = g_array_index(pg->ids, int64_t, i);
        lo = MIN(lo, id);
        hi = MAX(hi, id);
    }
    if ((uint64_t)(hi - lo) <= (uint64_t)n * RANGE_SPREAD + 64)
        return load_range(r, pg);
    return load_each(r, pg);
}

/* Reads a page, then calls back for each of its records. */
static int deliver(jsql_reader *reader, sqlite3_stmt *st, uint32_t limit, ucd_journal_record_cb cb,
                   void *user_data, char *next_cursor, size_t next_cursor_size)
{
    page pg;
    page_init(&pg);
    int more = 0;
    int rc = read_page(st, limit, &pg, &more);
    if (rc == SQLITE_OK)
        rc = load_page_participants(reader, &pg);
    guint delivered = 0;
    for (guint i = 0; rc == SQLITE_OK && i < pg.records->len; i++) {
        ucd_journal_record *r = &g_array_index(pg.records, ucd_journal_record, i);
        guint first = g_array_index(pg.first, guint, i);
        r->participant_count = g_array_index(pg.used, guint, i);
        r->participants =
            r->participant_count ? &g_array_index(pg.parts, ucd_journal_participant, first) : NULL;
        r->participant_size = sizeof(ucd_journal_participant);
        delivered++;
        if (cb(r, user_data) != 0) {
            more = more || i + 1 < pg.records->len;
            break;
        }
    }
    if (next_cursor != NULL && next_cursor_size > 0) {
        if (rc == SQLITE_OK && more && delivered > 0) {
            const ucd_journal_record *last =
                &g_array_index(pg.records, ucd_journal_record, delivered - 1);
            g_snprintf(next_cursor, next_cursor_size, "%" PRId64 ":%" PRId64, last->start_ms,
                       g_array_index(pg.ids, int64_t, delivered - 1));
        } else {
            next_cursor[0] = '\0';
        }
    }
    page_free(&pg);
    return rc;
}

int jsql_reader_query(jsql_reader *r, const ucd_journal_query *query, ucd_journal_record_cb cb,
                      void *user_data, char *next_cursor, size_t next_cursor_size, char **error)
{
    ucd_journal_query q;
    query_plan plan = {0};
    if (jrec_query_read(query, &q) != UCD_OK) {
        *error = g_strdup_printf("a participant filter of more than %d names or with a NULL one",
                                 UCD_JOURNAL_MAX_PARTICIPANT_FILTER);
        return UCD_E_INVALID;
    }
    if (cb == NULL || parse_cursor(q.after, &plan) != UCD_OK) {
        *error = g_strdup("malformed paging cursor");
        return UCD_E_INVALID;
    }
    uint32_t limit = q.limit ? q.limit : 100;

    sqlite3_stmt *st = NULL;
    int rc = reader_open(r);
    build_sql(&q, &plan);
    if (rc == SQLITE_OK)
        rc = reader_statement(r, plan.sql->str, &st);
    if (rc == SQLITE_OK) {
        bind_query(st, &q, &plan, limit);
        rc = deliver(r, st, limit, cb, user_data, next_cursor, next_cursor_size);
    }
    if (st != NULL)
        sqlite3_reset(st); /* ends the read transaction: the writer's checkpoints go on */
    if (rc != SQLITE_OK) {
        *error = db_message(r->sql, "querying the journal");
        reader_close(r); /* a new connection next time */
    }
    g_string_free(plan.sql, TRUE);
    return rc == SQLITE_OK ? UCD_OK : UCD_E_UNAVAILABLE;
}

int jsql_query(const char *path, const ucd_journal_query *query, ucd_journal_record_cb cb,
               void *user_data, char *next_cursor, size_t next_cursor_size, char **error)
{
    jsql_reader *r = jsql_reader_new(path);
    int rc = jsql_reader_query(r, query, cb, user_data, next_cursor, next_cursor_size, error);
    jsql_reader_free(r);
    return rc;
}
