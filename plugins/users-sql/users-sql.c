/*
 * users-sql.c - the users-sql plugin: users, groups, phone numbers and line
 * assignments from a SQLite file or any ODBC database, service "users"
 * major 1 (ucd/users.h).
 *
 * Every sync runs on the worker pool with a connection of its own and builds
 * a complete new set (sql-set.h) before anything is decided: a full sync reads
 * every table; an incremental one (when change_column or users_changed_query
 * is configured) starts from the current set, reads the users whose stamp is
 * newer than the highest seen, and re-reads the small relation tables. The
 * worker then compares the result with the last good set: a failed sync, or
 * one with far fewer rows of any part (max_shrink_rows and max_shrink_percent,
 * unless forced), is not applied. An
 * applied set is saved to the state directory first, so that a restart while
 * the database is down begins with it, then swapped in on the main loop, and
 * UCD_EVENT_USER_CHANGED/RESYNCED makes the core pull it.
 *
 * Threads: foreach_*, sync and the timers run on the main loop; the current
 * set is swapped under `lock`. authenticate and set_home_server are blocking
 * calls the core makes from a worker; they open their own connection and use
 * only what init fixed.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <ucd/ucd.h>

#include "users-events.h"

#include "odbc-util.h"
#include "pw-hash.h"
#include "sql-db.h"
#include "sql-map.h"
#include "sql-set.h"

/* Problems of one sync written to the log; the rest are only counted. */
#define US_MAX_LOGGED_PROBLEMS 20

typedef struct us_state {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;

    /* Fixed at init. */
    us_db_target target;
    char *connection; /* ODBC connection string; a secret */
    const char *id_prefix;
    us_map map;
    const char *const *number_columns;
    gsize number_column_count;
    gint64 max_length;
    gint64 max_shrink_percent;
    gint64 max_shrink_rows;
    gint64 sync_interval_ms;
    gint64 full_interval_ms;
    gint64 retry_min_ms;
    gint64 retry_max_ms;
    gboolean write_back;
    char *cache_path;

    GMutex lock; /* guards current */
    us_set *current;

    /* Main loop only. */
    gboolean sync_running;
    gboolean started;
    gint64 last_full_us; /* monotonic time of the last applied full sync */
    gint64 retry_ms;     /* the next back-off delay */
    ucd_timer *periodic;
    ucd_timer *retry;

    ucd_counter *users_gauge;
    ucd_counter *syncs;
    ucd_counter *failures;
    ucd_counter *rejected;
    ucd_counter *bad_rows;
    ucd_counter *duplicate_logins;
    ucd_counter *database_up;
} us_state;

/* One sync: what the worker found and what the caller asked to be told. */
typedef struct us_sync_job {
    us_state *state;
    gboolean full;
    gboolean force; /* UCD_SYNC_FORCE: the shrink guard does not apply */
    us_set *base;   /* the last good set when the job started (may be NULL) */
    us_set *result; /* the new set, when it is to be applied */
    gboolean changed;
    guint duplicates; /* users skipped: a lower id has their login */
    int code;         /* UCD_OK, or why the result is not applied */
    char *message;
    GPtrArray *problems;
    ucd_sync_progress_cb progress;
    ucd_sync_done_cb done;
    void *done_data;
} us_sync_job;

static const ucd_config_key us_keys[] = {
    {"backend", UCD_CONFIG_STRING, 0, "sqlite", "sqlite (a database file) or odbc"},
    {"database", UCD_CONFIG_STRING, 0, NULL, "sqlite: path of the database file"},
    ODBC_UTIL_CONNECTION_KEYS("odbc: "),
    {"timeout", UCD_CONFIG_DURATION, 0, "10s", "connect (ODBC) or busy (SQLite) timeout"},
    {"id_prefix", UCD_CONFIG_STRING, 0, "sql:", "put in front of user and group ids"},
    {"users_table", UCD_CONFIG_STRING, UCD_KEY_NAME, "users", "table of users"},
    {"user_id_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "id", "stable unique id of a user"},
    {"login_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "login", "login name"},
    {"display_name_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "display_name",
     "display name; empty: none"},
    {"given_name_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "given_name", "given name; empty: none"},
    {"surname_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "surname", "surname; empty: none"},
    {"email_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "email", "e-mail address; empty: none"},
    {"department_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "department", "department; empty: none"},
    {"title_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "title", "job title; empty: none"},
    {"home_server_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "home_server",
     "server the user is active on; empty: none (every user is homed here)"},
    {"enabled_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "enabled",
     "1/0 or true/false; empty: all enabled"},
    {"number_columns", UCD_CONFIG_LIST, UCD_KEY_NAME, "",
     "users-table columns holding phone numbers"},
    {"change_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "",
     "change stamp (a counter or timestamp) for incremental sync; empty: full syncs only"},
    {"password_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "",
     "salted password hash; empty: no logins"},
    {"numbers_table", UCD_CONFIG_STRING, UCD_KEY_NAME, "user_numbers",
     "phone numbers; empty: none"},
    {"numbers_user_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "user_id", "numbers: the user's id"},
    {"numbers_number_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "number", "numbers: the number"},
    {"groups_table", UCD_CONFIG_STRING, UCD_KEY_NAME, "groups", "groups; empty: none"},
    {"group_id_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "id", "groups: id"},
    {"group_name_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "name", "groups: name"},
    {"group_description_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "description",
     "groups: description"},
    {"members_table", UCD_CONFIG_STRING, UCD_KEY_NAME, "group_members",
     "group membership; empty: none"},
    {"members_user_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "user_id", "members: the user's id"},
    {"members_group_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "group_id",
     "members: the group's id"},
    {"lines_table", UCD_CONFIG_STRING, UCD_KEY_NAME, "user_lines", "line assignments; empty: none"},
    {"lines_user_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "user_id", "lines: the user's id"},
    {"lines_address_column", UCD_CONFIG_STRING, UCD_KEY_NAME, "address",
     "lines: DRIVER/ADDRESS or ADDRESS"},
    {"users_query", UCD_CONFIG_STRING, 0, NULL, "explicit users SELECT (see README)"},
    {"users_changed_query", UCD_CONFIG_STRING, 0, NULL,
     "explicit SELECT of changed users, one ? for the last stamp"},
    {"numbers_query", UCD_CONFIG_STRING, 0, NULL, "explicit SELECT user_id, number"},
    {"groups_query", UCD_CONFIG_STRING, 0, NULL, "explicit SELECT id, name, description"},
    {"members_query", UCD_CONFIG_STRING, 0, NULL, "explicit SELECT user_id, group_id"},
    {"lines_query", UCD_CONFIG_STRING, 0, NULL, "explicit SELECT user_id, address"},
    {"password_query", UCD_CONFIG_STRING, 0, NULL,
     "explicit SELECT hash[, enabled] with one ? for the login"},
    {"set_home_server_query", UCD_CONFIG_STRING, 0, NULL,
     "explicit UPDATE with ? for the server, then ? for the user id"},
    {"write_back", UCD_CONFIG_BOOL, 0, "false", "allow set_home_server to update the database"},
    {"sync_interval", UCD_CONFIG_DURATION, 0, "5m", "time between syncs"},
    {"full_sync_interval", UCD_CONFIG_DURATION, 0, "1h",
     "time between full syncs, which detect deleted users"},
    {"retry_min", UCD_CONFIG_DURATION, 0, "1s", "first delay before retrying a failed sync"},
    {"retry_max", UCD_CONFIG_DURATION, 0, "5m", "longest delay between retries"},
    {"max_shrink_percent", UCD_CONFIG_INT, 0, "10",
     "refuse a sync with this many percent fewer users, groups, members, numbers or lines"},
    {"max_shrink_rows", UCD_CONFIG_INT, 0, "10",
     "rows of each part a sync may always lose, whatever max_shrink_percent says"},
    {"max_value_length", UCD_CONFIG_INT, 0, "1024", "longest value accepted, in bytes"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl us_provides[] = {
    UCD_PROVIDE(UCD_USERS_SERVICE, UCD_USERS_MAJOR, UCD_USERS_MINOR, 0),
    {NULL},
};

/* ---- the current set ---------------------------------------------------------- */

static us_set *us_current(us_state *state)
{
    g_mutex_lock(&state->lock);
    us_set *set = state->current != NULL ? us_set_ref(state->current) : NULL;
    g_mutex_unlock(&state->lock);
    return set;
}

static void us_install(us_state *state, us_set *set)
{
    g_mutex_lock(&state->lock);
    us_set *old = state->current;
    state->current = set;
    g_mutex_unlock(&state->lock);
    us_set_unref(old);
    state->host->counter_set(state->users_gauge, (int64_t)us_set_user_count(set));
}

/* ---- reading the database (worker) -------------------------------------------- */

/* Runs `sql` (with an optional bound stamp) and hands each row to `row_fn`. */
typedef void (*us_row_fn)(us_builder *builder, us_stmt *stmt, gsize max_length, void *data);

static us_raw us_col(us_stmt *stmt, int col, gsize max_length)
{
    us_raw raw = {0};
    raw.bytes = us_stmt_column(stmt, col, max_length, &raw.length);
    return raw;
}

static gboolean us_bind_stamp(us_stmt *stmt, const char *stamp, char **error)
{
    gint64 number = 0;
    /* A counter or rowversion binds as an integer, a timestamp as text. */
    if (g_ascii_string_to_signed(stamp, 10, G_MININT64, G_MAXINT64, &number, NULL))
        return us_stmt_bind_int64(stmt, 1, number, error);
    return us_stmt_bind_text(stmt, 1, stamp, error);
}

static gboolean us_read_rows(us_db *db, const char *sql, const char *stamp, int min_columns,
                             us_builder *builder, gsize max_length, us_row_fn row_fn, void *data,
                             char **error)
{
    us_stmt *stmt = us_db_prepare(db, sql, error);
    if (stmt == NULL)
        return FALSE;
    gboolean ok = stamp == NULL || us_bind_stamp(stmt, stamp, error);
    int step = 0;
    while (ok && (step = us_stmt_step(stmt, error)) == 1) {
        if (us_stmt_column_count(stmt) < min_columns) {
            *error = g_strdup_printf("a query returns %d columns, %d expected",
                                     us_stmt_column_count(stmt), min_columns);
            ok = FALSE;
            break;
        }
        row_fn(builder, stmt, max_length, data);
    }
    ok = ok && step == 0;
    us_stmt_free(stmt);
    return ok;
}

static void us_user_row(us_builder *builder, us_stmt *stmt, gsize max_length, void *data)
{
    us_raw row[US_F_COUNT] = {{0}};
    int columns = us_stmt_column_count(stmt);
    for (int i = 0; i < US_F_COUNT && i < columns; i++)
        row[i] = us_col(stmt, i, max_length);
    if (!us_builder_add_user(builder, row))
        return;
    /* Extra columns: phone numbers held in the users table itself. */
    for (int i = US_F_COUNT; i < columns; i++)
        us_builder_add_column_number(builder, row[US_F_ID], us_col(stmt, i, max_length));
}

static void us_number_row(us_builder *builder, us_stmt *stmt, gsize max_length, void *data)
{
    us_builder_add_number(builder, us_col(stmt, 0, max_length), us_col(stmt, 1, max_length));
}

static void us_member_row(us_builder *builder, us_stmt *stmt, gsize max_length, void *data)
{
    us_builder_add_member(builder, us_col(stmt, 0, max_length), us_col(stmt, 1, max_length));
}

static void us_line_row(us_builder *builder, us_stmt *stmt, gsize max_length, void *data)
{
    us_builder_add_line(builder, us_col(stmt, 0, max_length), us_col(stmt, 1, max_length));
}

static void us_group_row(us_builder *builder, us_stmt *stmt, gsize max_length, void *data)
{
    int columns = us_stmt_column_count(stmt);
    us_raw none = {0};
    us_builder_add_group(builder, us_col(stmt, 0, max_length),
                         columns > 1 ? us_col(stmt, 1, max_length) : none,
                         columns > 2 ? us_col(stmt, 2, max_length) : none);
}

/* Groups first, so that memberships may be checked against them later. */
static gboolean us_read_relations(us_state *state, us_db *db, us_builder *builder, char **error)
{
    const us_map *map = &state->map;
    gsize max = (gsize)state->max_length;
    return (map->groups == NULL ||
            us_read_rows(db, map->groups, NULL, 1, builder, max, us_group_row, NULL, error)) &&
           (map->numbers == NULL ||
            us_read_rows(db, map->numbers, NULL, 2, builder, max, us_number_row, NULL, error)) &&
           (map->members == NULL ||
            us_read_rows(db, map->members, NULL, 2, builder, max, us_member_row, NULL, error)) &&
           (map->lines == NULL ||
            us_read_rows(db, map->lines, NULL, 2, builder, max, us_line_row, NULL, error));
}

/* Reads a complete new set into `*out`: full, or incremental from `base`. */
static gboolean us_read_set(us_state *state, us_db *db, gboolean full, us_set *base,
                            us_builder **out, char **error)
{
    gsize max = (gsize)state->max_length;
    const char *stamp = us_set_stamp(base);
    us_builder *builder;
    gboolean ok;
    if (!full) {
        builder = us_builder_new_from(base, state->id_prefix, max);
        ok = us_read_rows(db, state->map.users_changed, stamp, 2, builder, max, us_user_row, NULL,
                          error);
        us_builder_clear_relations(builder);
    } else {
        builder = us_builder_new(state->id_prefix, max);
        ok = us_read_rows(db, state->map.users, NULL, 2, builder, max, us_user_row, NULL, error);
    }
    ok = ok && us_read_relations(state, db, builder, error);
    *out = builder;
    return ok;
}

/* The safety rule, for every part of the set: a sync that lost more than
 * max_shrink_percent of the users, groups, memberships, numbers or lines is a
 * broken replica or a bad query (a table being refilled, a join that lost its
 * rows) far more often than a real mass deletion. A percentage alone refuses
 * every ordinary change of a small part (one of five groups, the only line
 * assignment), and a refused set is refused again by every later sync, so a
 * part may always lose max_shrink_rows rows, as directory syncs count a
 * deletion threshold in objects. Incremental syncs re-read the relation
 * tables whole, so they are checked too: the set is applied whole or not at
 * all. A real mass deletion is applied by `ucctl users sync --full --force`. */
static gboolean us_shrank_too_much(us_state *state, gsize before, gsize after)
{
    if (after >= before)
        return FALSE;
    gsize lost = before - after;
    return lost > (gsize)state->max_shrink_rows &&
           lost * 100 > before * (gsize)state->max_shrink_percent;
}

/* The first part of the set that shrank too much (its name, and the counts
 * before and after), or NULL. */
static const char *us_shrunk_part(us_state *state, const us_set *base, const us_set *set,
                                  gsize *before, gsize *after)
{
    us_set_totals old = us_set_count_all(base), now = us_set_count_all(set);
    const struct {
        const char *name;
        gsize before, after;
    } parts[] = {
        {"users", old.users, now.users},
        {"groups", old.groups, now.groups},
        {"group memberships", old.memberships, now.memberships},
        {"phone numbers", old.numbers, now.numbers},
        {"line assignments", old.lines, now.lines},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        if (us_shrank_too_much(state, parts[i].before, parts[i].after)) {
            *before = parts[i].before;
            *after = parts[i].after;
            return parts[i].name;
        }
    }
    return NULL;
}

static void us_decide(us_sync_job *job, us_builder *builder)
{
    us_state *state = job->state;
    job->duplicates = us_builder_resolve_logins(builder);
    for (guint i = 0; i < us_builder_problems(builder)->len; i++)
        g_ptr_array_add(job->problems, g_strdup(us_builder_problems(builder)->pdata[i]));
    us_set *set = us_builder_finish(builder);
    gsize before = 0, after = 0;
    const char *shrunk = job->force ? NULL : us_shrunk_part(state, job->base, set, &before, &after);
    if (shrunk != NULL) {
        job->code = UCD_E_INVALID;
        job->message = g_strdup_printf(
            "%s sync returned %zu %s, more than %" PRId64 " and more than %" PRId64
            "%% fewer than the %zu of the last good set: not applied, no part of it (if they "
            "really went: ucctl users sync --full --force)",
            job->full ? "full" : "incremental", after, shrunk, state->max_shrink_rows,
            state->max_shrink_percent, before);
        us_set_unref(set);
        return;
    }
    job->changed =
        !us_set_equal(set, job->base) || g_strcmp0(us_set_stamp(set), us_set_stamp(job->base)) != 0;
    GError *error = NULL;
    if (job->changed && state->cache_path != NULL && !us_set_save(set, state->cache_path, &error)) {
        g_ptr_array_add(job->problems,
                        g_strdup_printf("cannot write the cache: %s", error->message));
        g_clear_error(&error);
    }
    job->result = set;
    job->message =
        g_strdup_printf("%s%s sync: %zu users, %zu groups",
                        job->changed ? "" : "unchanged: ", job->full ? "full" : "incremental",
                        us_set_user_count(set), us_set_group_count(set));
}

static void us_sync_work(void *data)
{
    us_sync_job *job = data;
    us_state *state = job->state;
    char *error = NULL;
    us_db *db = us_db_open(&state->target, &error);
    us_builder *builder = NULL;
    if (db != NULL && us_read_set(state, db, job->full, job->base, &builder, &error)) {
        us_decide(job, builder);
    } else {
        job->code = UCD_E_UNAVAILABLE;
        job->message = g_strdup_printf("%s sync failed: %s", job->full ? "full" : "incremental",
                                       error != NULL ? error : "unknown error");
        us_builder_free(builder);
    }
    us_db_close(db);
    g_free(error);
}

/* ---- scheduling (main loop) ------------------------------------------------------ */

static int us_start_sync(us_state *state, uint32_t flags, ucd_sync_progress_cb progress,
                         ucd_sync_done_cb done, void *user_data);

static void us_on_retry(void *data)
{
    us_state *state = data;
    state->retry = NULL; /* a one-shot timer is gone once it fired */
    us_start_sync(state, UCD_SYNC_FULL, NULL, NULL, NULL);
}

/* Backs off: retry_min, twice that, ... up to retry_max. */
static void us_schedule_retry(us_state *state)
{
    if (!state->started || state->retry != NULL)
        return;
    gint64 delay = state->retry_ms > 0 ? state->retry_ms : state->retry_min_ms;
    state->retry = state->host->timer_add(state->self, (uint64_t)delay, 0, us_on_retry, state);
    state->retry_ms = MIN(delay * 2, state->retry_max_ms);
    ucd_info(state->host, state->self, "next attempt in %" PRId64 " ms", delay);
}

static void us_log_problems(us_state *state, GPtrArray *problems)
{
    for (guint i = 0; i < problems->len && i < US_MAX_LOGGED_PROBLEMS; i++)
        ucd_warning(state->host, state->self, "%s", (const char *)problems->pdata[i]);
    if (problems->len > US_MAX_LOGGED_PROBLEMS)
        ucd_warning(state->host, state->self, "... and %u more problems",
                    problems->len - US_MAX_LOGGED_PROBLEMS);
    state->host->counter_set(state->bad_rows, problems->len);
}

static void us_apply(us_sync_job *job)
{
    us_state *state = job->state;
    state->host->counter_set(state->database_up, 1);
    state->retry_ms = 0;
    if (state->retry != NULL) {
        state->host->timer_remove(state->self, state->retry);
        state->retry = NULL;
    }
    if (job->full)
        state->last_full_us = g_get_monotonic_time();
    state->host->counter_add(state->syncs, 1);
    if (!job->changed)
        return;
    us_install(state, us_set_ref(job->result));
    ucd_info(state->host, state->self, "%s", job->message);
    users_publish_resynced(state->host, state->self, state->module_id);
}

static void us_sync_done(void *data)
{
    us_sync_job *job = data;
    us_state *state = job->state;
    state->sync_running = FALSE;
    us_log_problems(state, job->problems);
    if (job->code != UCD_E_UNAVAILABLE)
        state->host->counter_set(state->duplicate_logins, job->duplicates);
    if (job->code == UCD_OK) {
        us_apply(job);
    } else {
        gsize kept = us_set_user_count(job->base);
        ucd_warning(state->host, state->self, "%s; keeping the last good %zu users", job->message,
                    kept);
        if (job->code == UCD_E_INVALID) {
            state->host->counter_add(state->rejected, 1);
        } else {
            state->host->counter_add(state->failures, 1);
            state->host->counter_set(state->database_up, 0);
            us_schedule_retry(state);
        }
    }
    if (job->progress != NULL && job->code == UCD_OK)
        job->progress(us_set_user_count(job->result), us_set_user_count(job->result),
                      job->done_data);
    if (job->done != NULL)
        job->done(job->code, job->message, job->done_data);
    us_set_unref(job->base);
    us_set_unref(job->result);
    g_ptr_array_unref(job->problems);
    g_free(job->message);
    g_free(job);
}

/* `flags` are the users interface's UCD_SYNC_*; UCD_SYNC_FORCE implies full. */
static int us_start_sync(us_state *state, uint32_t flags, ucd_sync_progress_cb progress,
                         ucd_sync_done_cb done, void *user_data)
{
    if (state->sync_running)
        return UCD_E_BUSY;
    us_sync_job *job = g_new0(us_sync_job, 1);
    job->state = state;
    job->base = us_current(state);
    /* Incremental needs a stamp to start from and a query that uses it. */
    job->force = (flags & UCD_SYNC_FORCE) != 0;
    job->full = (flags & (UCD_SYNC_FULL | UCD_SYNC_FORCE)) != 0 ||
                state->map.users_changed == NULL || us_set_stamp(job->base) == NULL;
    job->problems = g_ptr_array_new_with_free_func(g_free);
    job->progress = progress;
    job->done = done;
    job->done_data = user_data;
    state->sync_running = TRUE;
    int result = state->host->work_submit(state->self, us_sync_work, us_sync_done, job);
    if (result != UCD_OK) {
        state->sync_running = FALSE;
        us_set_unref(job->base);
        g_ptr_array_unref(job->problems);
        g_free(job);
    }
    return result;
}

static void us_on_periodic(void *data)
{
    us_state *state = data;
    gint64 since_full_ms = (g_get_monotonic_time() - state->last_full_us) / 1000;
    us_start_sync(state, since_full_ms >= state->full_interval_ms ? UCD_SYNC_FULL : 0, NULL, NULL,
                  NULL);
}

/* ---- the users interface ------------------------------------------------------------- */

static int us_foreach_user(void *impl, ucd_user_cb cb, void *user_data)
{
    us_set *set = us_current(impl);
    if (set != NULL)
        us_set_foreach_user(set, cb, user_data);
    us_set_unref(set);
    return UCD_OK;
}

static int us_foreach_group(void *impl, ucd_group_cb cb, void *user_data)
{
    us_set *set = us_current(impl);
    if (set != NULL)
        us_set_foreach_group(set, cb, user_data);
    us_set_unref(set);
    return UCD_OK;
}

static int us_sync(void *impl, uint32_t flags, ucd_sync_progress_cb progress, ucd_sync_done_cb done,
                   void *user_data)
{
    return us_start_sync(impl, flags, progress, done, user_data);
}

/* A login we would never find: nothing to ask the database. */
static gboolean us_login_plausible(us_state *state, const char *login)
{
    size_t length = login != NULL ? strlen(login) : 0;
    return length > 0 && length <= (size_t)state->max_length &&
           g_utf8_validate(login, (gssize)length, NULL);
}

static int us_check_row(us_state *state, us_stmt *stmt, const char *login, const char *password)
{
    gsize max = (gsize)state->max_length;
    us_raw hash = us_col(stmt, 0, 4096);
    us_raw enabled = us_stmt_column_count(stmt) > 1 ? us_col(stmt, 1, max) : (us_raw){0};
    if (enabled.bytes != NULL) {
        char *text = g_ascii_strdown(enabled.bytes, (gssize)enabled.length);
        gboolean off = strcmp(text, "0") == 0 || strcmp(text, "false") == 0 ||
                       strcmp(text, "f") == 0 || strcmp(text, "no") == 0;
        g_free(text);
        if (off)
            return UCD_E_DENIED;
    }
    const char *reason = NULL;
    char *stored =
        hash.bytes != NULL && hash.length <= 4096 ? g_strndup(hash.bytes, hash.length) : NULL;
    pw_hash_result result = pw_hash_verify(stored, password, &reason);
    g_free(stored);
    if (result == PW_HASH_UNUSABLE) {
        ucd_error(state->host, state->self,
                  "configuration problem: the stored password of login \"%s\" is refused: %s",
                  login, reason);
        return UCD_E_DENIED;
    }
    return result == PW_HASH_MATCH ? UCD_OK : UCD_E_DENIED;
}

static int us_authenticate_with(us_state *state, us_db *db, const char *login, const char *password,
                                char **error)
{
    us_stmt *stmt = us_db_prepare(db, state->map.password, error);
    if (stmt == NULL || !us_stmt_bind_text(stmt, 1, login, error)) {
        us_stmt_free(stmt);
        return UCD_E_UNAVAILABLE;
    }
    int result;
    int step = us_stmt_step(stmt, error);
    if (step < 0) {
        result = UCD_E_UNAVAILABLE;
    } else if (step == 0) {
        result = UCD_E_NOT_FOUND;
    } else {
        result = us_check_row(state, stmt, login, password);
        if (result == UCD_OK && us_stmt_step(stmt, error) != 0) {
            /* Two accounts behind one login: which password is meant is unknowable. */
            ucd_error(state->host, state->self,
                      "configuration problem: login \"%s\" matches several rows", login);
            result = UCD_E_DENIED;
        }
    }
    us_stmt_free(stmt);
    return result;
}

static int us_authenticate(void *impl, const char *login, const char *password)
{
    us_state *state = impl;
    if (state->map.password == NULL)
        return UCD_E_UNSUPPORTED;
    if (!us_login_plausible(state, login))
        return UCD_E_NOT_FOUND;
    char *error = NULL;
    us_db *db = us_db_open(&state->target, &error);
    int result =
        db != NULL ? us_authenticate_with(state, db, login, password, &error) : UCD_E_UNAVAILABLE;
    if (result == UCD_E_UNAVAILABLE)
        ucd_warning(state->host, state->self, "cannot check a login: %s",
                    error != NULL ? error : "unknown error");
    us_db_close(db);
    g_free(error);
    return result;
}

static int us_set_home_server(void *impl, const char *user_id, const char *server)
{
    us_state *state = impl;
    if (state->map.set_home == NULL)
        return UCD_E_UNSUPPORTED;
    if (user_id == NULL || !g_str_has_prefix(user_id, state->id_prefix))
        return UCD_E_NOT_FOUND;
    const char *raw_id = user_id + strlen(state->id_prefix);
    char *error = NULL;
    us_db *db = us_db_open(&state->target, &error);
    us_stmt *stmt = db != NULL ? us_db_prepare(db, state->map.set_home, &error) : NULL;
    int result = UCD_E_UNAVAILABLE;
    if (stmt != NULL &&
        us_stmt_bind_text(stmt, 1, server != NULL && *server ? server : NULL, &error) &&
        us_stmt_bind_text(stmt, 2, raw_id, &error) && us_stmt_step(stmt, &error) == 0)
        result = us_stmt_changes(stmt) > 0 ? UCD_OK : UCD_E_NOT_FOUND;
    if (result == UCD_E_UNAVAILABLE)
        ucd_warning(state->host, state->self, "cannot write the home server of %s: %s", user_id,
                    error != NULL ? error : "unknown error");
    else if (result == UCD_OK)
        ucd_notice(state->host, state->self, "user %s: home server %s (applied at the next sync)",
                   user_id, server != NULL && *server ? server : "(this server)");
    us_stmt_free(stmt);
    us_db_close(db);
    g_free(error);
    return result;
}

static int us_import_users(void *impl, const char *path, char *message, size_t size)
{
    if (message != NULL && size > 0)
        g_strlcpy(message, "users-sql is filled by its database, not by imports", size);
    return UCD_E_UNSUPPORTED;
}

static const ucd_users_v1 us_iface = {
    .struct_size = sizeof(ucd_users_v1),
    .foreach_user = us_foreach_user,
    .foreach_group = us_foreach_group,
    .sync = us_sync,
    .authenticate = us_authenticate,
    .set_home_server = us_set_home_server,
    .import_users = us_import_users,
};

/* ---- configuration ----------------------------------------------------------------- */

static const char *us_lookup(const char *key, void *data)
{
    us_state *state = data;
    const char *value = NULL;
    if (state->host->config_string(state->self, key, &value) != UCD_OK)
        return NULL;
    return value;
}

static const char *us_string(us_state *state, const char *key)
{
    const char *value = us_lookup(key, state);
    return value != NULL && *value != '\0' ? value : NULL;
}

/* The ODBC connection string from dsn or connection_string, plus user. */
static int us_read_odbc_target(us_state *state)
{
    const char *bad_key = NULL, *why = NULL;
    state->connection =
        odbc_config_target(us_string(state, "dsn"), us_string(state, "connection_string"),
                           us_string(state, "user"), &bad_key, &why);
    if (state->connection == NULL)
        return state->host->config_error(state->self, bad_key, "backend odbc: %s", why);
    state->target.backend = US_BACKEND_ODBC;
    state->target.target = state->connection;
    state->target.password = us_string(state, "password");
    return UCD_OK;
}

static int us_read_target(us_state *state)
{
    const ucd_host *host = state->host;
    const char *backend = us_string(state, "backend");
    int64_t timeout_ms = 0;
    host->config_int(state->self, "timeout", &timeout_ms);
    state->target.timeout_s = (int)MAX(1, MIN(timeout_ms / 1000, 3600));
    if (g_strcmp0(backend, "odbc") == 0)
        return us_read_odbc_target(state);
    if (g_strcmp0(backend, "sqlite") != 0)
        return host->config_error(state->self, "backend", "must be sqlite or odbc");
    const char *database = us_string(state, "database");
    if (database == NULL)
        return host->config_error(state->self, "database", "backend sqlite needs the file's path");
    state->connection = g_canonicalize_filename(database, NULL);
    state->target.backend = US_BACKEND_SQLITE;
    state->target.target = state->connection;
    state->target.writable = state->write_back;
    return UCD_OK;
}

static int us_read_durations(us_state *state)
{
    const ucd_host *host = state->host;
    host->config_int(state->self, "sync_interval", &state->sync_interval_ms);
    host->config_int(state->self, "full_sync_interval", &state->full_interval_ms);
    host->config_int(state->self, "retry_min", &state->retry_min_ms);
    host->config_int(state->self, "retry_max", &state->retry_max_ms);
    host->config_int(state->self, "max_shrink_percent", &state->max_shrink_percent);
    host->config_int(state->self, "max_shrink_rows", &state->max_shrink_rows);
    host->config_int(state->self, "max_value_length", &state->max_length);
    if (state->sync_interval_ms < 1000)
        return host->config_error(state->self, "sync_interval", "must be at least 1s");
    if (state->retry_min_ms < 1 || state->retry_max_ms < state->retry_min_ms)
        return host->config_error(state->self, "retry_max", "must be at least retry_min (> 0)");
    if (state->max_shrink_percent < 0 || state->max_shrink_percent > 100)
        return host->config_error(state->self, "max_shrink_percent", "must be 0..100");
    if (state->max_shrink_rows < 0 || state->max_shrink_rows > 1000000000)
        return host->config_error(state->self, "max_shrink_rows", "must be 0..1000000000");
    if (state->max_length < 16 || state->max_length > 65536)
        return host->config_error(state->self, "max_value_length", "must be 16..65536");
    return UCD_OK;
}

static int us_read_config(us_state *state)
{
    const ucd_host *host = state->host;
    host->config_bool(state->self, "write_back", &state->write_back);
    int result = us_read_durations(state);
    if (result == UCD_OK)
        result = us_read_target(state);
    if (result != UCD_OK)
        return result;
    state->id_prefix = us_lookup("id_prefix", state);
    if (state->id_prefix == NULL)
        state->id_prefix = "";
    host->config_list(state->self, "number_columns", &state->number_columns,
                      &state->number_column_count);
    const char *bad_key = NULL;
    char *error = NULL;
    if (!us_map_build(&state->map, us_lookup, state, state->number_columns, state->write_back,
                      &bad_key, &error)) {
        host->config_error(state->self, bad_key, "%s", error);
        g_free(error);
        return UCD_FAIL;
    }
    return UCD_OK;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void us_load_cache(us_state *state)
{
    const char *dir = state->host->state_dir(state->self);
    if (dir == NULL)
        return;
    state->cache_path = g_build_filename(dir, "users-cache.json", NULL);
    if (!g_file_test(state->cache_path, G_FILE_TEST_EXISTS))
        return;
    GError *error = NULL;
    us_set *set = us_set_load(state->cache_path, (gsize)state->max_length, &error);
    if (set == NULL) {
        ucd_warning(state->host, state->self, "ignoring the cache: %s", error->message);
        g_error_free(error);
        return;
    }
    us_install(state, set);
    ucd_info(state->host, state->self, "%zu users and %zu groups from the cache %s",
             us_set_user_count(set), us_set_group_count(set), state->cache_path);
}

static void us_make_counters(us_state *state)
{
    const ucd_host *host = state->host;
    state->users_gauge =
        host->counter_new(state->self, "users", UCD_COUNTER_GAUGE, "users in the current set");
    state->syncs =
        host->counter_new(state->self, "syncs", UCD_COUNTER_MONOTONIC, "syncs that succeeded");
    state->failures = host->counter_new(state->self, "sync_failures", UCD_COUNTER_MONOTONIC,
                                        "syncs that failed (database unreachable, query error)");
    state->rejected =
        host->counter_new(state->self, "rejected_syncs", UCD_COUNTER_MONOTONIC,
                          "syncs not applied: far fewer users, groups, members, numbers or lines");
    state->bad_rows = host->counter_new(state->self, "bad_rows", UCD_COUNTER_GAUGE,
                                        "rows skipped by the last sync (bad values)");
    state->duplicate_logins =
        host->counter_new(state->self, "duplicate_logins", UCD_COUNTER_GAUGE,
                          "users the last sync skipped: a user with a lower id has their login");
    state->database_up = host->counter_new(state->self, "database_up", UCD_COUNTER_GAUGE,
                                           "1 when the last sync reached the database");
}

static void us_state_free(us_state *state)
{
    us_set_unref(state->current);
    us_map_clear(&state->map);
    if (state->connection != NULL)
        memset(state->connection, 0, strlen(state->connection));
    g_free(state->connection);
    g_free(state->cache_path);
    g_mutex_clear(&state->lock);
    g_free(state);
}

static int us_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    us_state *state = g_new0(us_state, 1);
    state->self = self;
    state->host = host;
    state->module_id = host->module_id(self);
    g_mutex_init(&state->lock);
    int result = us_read_config(state);
    if (result == UCD_OK) {
        us_make_counters(state);
        us_load_cache(state);
        result = host->service_register(self, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &us_iface, state);
        if (result != UCD_OK)
            host->set_error(self, "cannot register the users service: %s", ucd_strerror(result));
    }
    if (result != UCD_OK) {
        us_state_free(state);
        return UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

static int us_start(void *data)
{
    us_state *state = data;
    state->started = TRUE;
    state->periodic = state->host->timer_add(state->self, (uint64_t)state->sync_interval_ms,
                                             UCD_TIMER_REPEAT, us_on_periodic, state);
    int result = us_start_sync(state, UCD_SYNC_FULL, NULL, NULL, NULL);
    if (result != UCD_OK)
        ucd_warning(state->host, state->self, "cannot start the first sync: %s",
                    ucd_strerror(result));
    return UCD_OK;
}

static void us_stop(void *data)
{
    us_state *state = data;
    state->started = FALSE;
    if (state->retry != NULL)
        state->host->timer_remove(state->self, state->retry);
    if (state->periodic != NULL)
        state->host->timer_remove(state->self, state->periodic);
    state->retry = NULL;
    state->periodic = NULL;
}

static void us_fini(void *data)
{
    us_state_free(data);
}

UCD_PLUGIN_DEFINE(.name = "users-sql", .version = "1.0.0", .license = "MIT",
                  .description = "users, groups, numbers and lines from SQLite or ODBC",
                  .provides = us_provides, .config_keys = us_keys, .init = us_init,
                  .start = us_start, .stop = us_stop, .fini = us_fini);
