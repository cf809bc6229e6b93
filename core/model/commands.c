/*
 * commands.c - the model's ucctl commands: users, groups, lines, calls,
 * presence, journal, trace, caps, and the call-control test dialer (dial,
 * answer, hangup, hold, retrieve, transfer, consult-transfer, deflect, pickup,
 * dtmf, forward, dnd).
 *
 * Every command runs on the main loop. Those that must call blocking plugin
 * functions (`journal tail|query`: query(); `users import`: import_users();
 * `users move`: set_home_server()) run that call on the worker pool, owned by
 * the plugin's module, and answer through a deferred reply (control.h), so the
 * main loop never waits for a database or a directory.
 *
 * Call control resolves the line first ("DRIVER/ADDRESS", or a bare address
 * that must name exactly one line), checks the driver's capabilities() so the
 * error names the missing capability, and only then calls the driver.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "calls.h"
#include "legacy-paging.h"
#include "presence.h"
#include "trace.h"
#include "words.h"

#define JOURNAL_MAX_LIMIT 1000

static int reply_fail(ucd_reply *r, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Replies with an error and returns `code`, so handlers can `return reply_fail(...)`. */
static int reply_fail(ucd_reply *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_reply_errorv(r, fmt, ap);
    va_end(ap);
    return code;
}

static const char *str(const char *s)
{
    return s ? s : "";
}

static char *time_text(int64_t ms)
{
    if (!ms)
        return g_strdup("");
    GDateTime *utc = g_date_time_new_from_unix_utc(ms / 1000);
    GDateTime *local = utc ? g_date_time_to_local(utc) : NULL;
    char *s = local ? g_date_time_format(local, "%Y-%m-%d %H:%M:%S") : g_strdup("");
    if (local)
        g_date_time_unref(local);
    if (utc)
        g_date_time_unref(utc);
    return s;
}

static int64_t now_ms(void)
{
    return g_get_real_time() / 1000;
}

/* ---- option parsing ------------------------------------------------------------ */

/* Parses the options of one command with GOption; on success `*args` holds
 * the remaining words (args[0] is the command name). */
static gboolean parse_options(int argc, const char *const *argv, GOptionEntry *entries,
                              char ***args, ucd_reply *r)
{
    GOptionContext *ctx = g_option_context_new(NULL);
    /* The daemon must never print help and exit on a client's --help. */
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_add_main_entries(ctx, entries, NULL);
    *args = g_new0(char *, argc + 1);
    for (int i = 0; i < argc; i++)
        (*args)[i] = g_strdup(argv[i]);
    GError *err = NULL;
    gboolean ok = g_option_context_parse_strv(ctx, args, &err);
    if (!ok) {
        core_reply_error(r, "%s: %s", argv[0], err->message);
        g_error_free(err);
        g_strfreev(*args);
        *args = NULL;
    }
    g_option_context_free(ctx);
    return ok;
}

/* "90s", "30m", "2h", "1d", "500ms" -> milliseconds; -1 when malformed. */
static int64_t parse_duration_ms(const char *s)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    char *end = NULL;
    gint64 n = g_ascii_strtoll(s, &end, 10);
    if (end == s || n < 0)
        return -1;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(end, units[i].unit) == 0)
            return n * units[i].ms;
    return -1;
}

/* ISO 8601 ("2026-03-01T12:00:00", local time unless a zone is given) or a
 * date "2026-03-01" -> UTC ms; -1 when malformed. */
static int64_t parse_time_ms(const char *s)
{
    GTimeZone *tz = g_time_zone_new_local();
    GDateTime *dt = g_date_time_new_from_iso8601(s, tz);
    if (!dt) {
        char *midnight = g_strconcat(s, "T00:00:00", NULL);
        dt = g_date_time_new_from_iso8601(midnight, tz);
        g_free(midnight);
    }
    g_time_zone_unref(tz);
    if (!dt)
        return -1;
    int64_t ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    return ms;
}

/* Either form of --until. */
static int64_t parse_until_ms(const char *s)
{
    int64_t d = parse_duration_ms(s);
    return d >= 0 ? now_ms() + d : parse_time_ms(s);
}

static gboolean parse_uint(const char *s, guint64 max, guint64 *out)
{
    return g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}

/* ---- listings in pages ------------------------------------------------------------ */

/* The GOption entries of a listing's --limit and --after (paging.c). */
#define PAGE_ENTRIES(page)                                                                         \
    {"limit", 0, 0, G_OPTION_ARG_INT, &(page)->limit, "rows per page", "N"},                       \
    {                                                                                              \
        "after", 0, 0, G_OPTION_ARG_STRING, &(page)->after, "the previous page's next", "CURSOR"   \
    }

/* Checks the page asked for; replies why not. */
static gboolean page_ok(const core_page *page, ucd_reply *r)
{
    char *error = NULL;
    if (core_page_check(page, &error))
        return TRUE;
    core_reply_error(r, "%s", error);
    g_free(error);
    return FALSE;
}

/* Replies the cursor of the next page, if any, and frees it. */
static void page_reply_next(ucd_reply *r, char *next)
{
    if (next)
        core_reply_field(r, "next", next);
    g_free(next);
}

/* Parses a listing that takes no other options and words than its page's;
 * replies `usage` when there are others. */
static gboolean parse_page(int argc, const char *const *argv, core_page *page, const char *usage,
                           ucd_reply *r)
{
    char **args = NULL;
    GOptionEntry entries[] = {
        PAGE_ENTRIES(page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return FALSE;
    gboolean ok = g_strv_length(args) == 1;
    if (!ok)
        core_reply_error(r, "usage: %s", usage);
    g_strfreev(args);
    if (ok && !page_ok(page, r))
        ok = FALSE;
    if (!ok) {
        g_free(page->after);
        page->after = NULL;
    }
    return ok;
}

/* ---- users and groups ------------------------------------------------------------ */

/* Users are listed by login (the id for a user without one); the login is the
 * page cursor. Two users with one login are ordered by id. */
static const char *user_key(const core_user *u)
{
    return u->login && *u->login ? u->login : u->id;
}

static gint by_user_login(gconstpointer a, gconstpointer b)
{
    const core_user *x = *(const core_user *const *)a, *y = *(const core_user *const *)b;
    int c = strcmp(user_key(x), user_key(y));
    return c ? c : strcmp(x->id, y->id);
}

static int user_cmp_cursor(gconstpointer item, const char *cursor)
{
    return strcmp(user_key(item), cursor);
}

static char *user_cursor(gconstpointer item)
{
    return g_strdup(user_key(item));
}

static int collect_user(const core_user *u, void *ud)
{
    g_ptr_array_add(ud, (gpointer)u);
    return 0;
}

static GPtrArray *sorted_users(core_model *m)
{
    GPtrArray *users = g_ptr_array_new();
    core_model_foreach_user(m, collect_user, users);
    g_ptr_array_sort(users, by_user_login);
    return users;
}

static gboolean in_group(const core_user *u, const void *group)
{
    return g_strv_contains((const char *const *)u->groups, (const char *)group);
}

/* A users_page() filter: `m` is the model. */
static gboolean active_here(const core_user *u, const void *m)
{
    return core_model_user_here((core_model *)m, u);
}

/* The users `keep(u, arg)` accepts (every one when it is NULL) in listing
 * order, and which of them `page` shows: users[*start] to users[*end - 1].
 * Replies the next page's cursor. Free the array (not its users). */
static GPtrArray *users_page(core_model *m, const core_page *page,
                             gboolean (*keep)(const core_user *u, const void *arg), const void *arg,
                             guint *start, guint *end, ucd_reply *r)
{
    GPtrArray *users = sorted_users(m);
    if (keep) {
        guint kept = 0;
        for (guint i = 0; i < users->len; i++)
            if (keep(users->pdata[i], arg))
                users->pdata[kept++] = users->pdata[i];
        g_ptr_array_set_size(users, kept);
    }
    char *next;
    core_page_window(users, page, user_cmp_cursor, user_cursor, start, end, &next);
    page_reply_next(r, next);
    return users;
}

static char *line_list(const core_user *u)
{
    GString *s = g_string_new(NULL);
    for (char **l = u->lines; *l; l++)
        g_string_append_printf(s, "%s%s", s->len ? "," : "", *l);
    return g_string_free(s, FALSE);
}

static int users_list(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    char *group = NULL, **args = NULL;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    GOptionEntry entries[] = {
        {"group", 'g', 0, G_OPTION_ARG_STRING, &group, "members of GROUP only", "G"},
        PAGE_ENTRIES(&page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    if (g_strv_length(args) > 1)
        rc = reply_fail(r, UCD_E_INVALID,
                        "usage: users [list] [--group G] [--limit N] [--after LOGIN]");
    else if (!page_ok(&page, r))
        rc = UCD_E_INVALID;
    if (rc != UCD_OK) {
        g_free(group);
        g_free(page.after);
        g_strfreev(args);
        return rc;
    }
    guint start, end;
    GPtrArray *users = users_page(m, &page, group ? in_group : NULL, group, &start, &end, r);
    static const char *const cols[] = {"id",     "login", "name",    "numbers",
                                       "groups", "lines", "enabled", "backend"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const core_user *u = users->pdata[i];
        char *numbers = g_strjoinv(",", u->numbers);
        char *groups = g_strjoinv(",", u->groups);
        char *lines = line_list(u);
        const char *row[] = {u->id,  str(u->login), str(u->display_name),      numbers,
                             groups, lines,         u->enabled ? "yes" : "no", str(u->backend)};
        core_reply_row(r, row);
        g_free(numbers);
        g_free(groups);
        g_free(lines);
    }
    g_ptr_array_free(users, TRUE);
    g_free(group);
    g_free(page.after);
    g_strfreev(args);
    return UCD_OK;
}

static int users_show(core_model *m, const char *who, ucd_reply *r)
{
    const core_user *u = core_model_user(m, who);
    if (!u)
        return reply_fail(r, UCD_E_NOT_FOUND, "unknown user '%s' (see ucctl users)", who);
    static const struct {
        const char *name;
        size_t offset;
    } text_fields[] = {
        {"id", offsetof(core_user, id)},
        {"login", offsetof(core_user, login)},
        {"display_name", offsetof(core_user, display_name)},
        {"given_name", offsetof(core_user, given_name)},
        {"surname", offsetof(core_user, surname)},
        {"email", offsetof(core_user, email)},
        {"department", offsetof(core_user, department)},
        {"title", offsetof(core_user, title)},
        {"home_server", offsetof(core_user, home_server)},
        {"backend", offsetof(core_user, backend)},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(text_fields); i++)
        core_reply_field(r, text_fields[i].name,
                         *(char *const *)((const char *)u + text_fields[i].offset));
    core_reply_field(r, "enabled", u->enabled ? "yes" : "no");
    for (guint i = 0; u->numbers[i]; i++) {
        char *v = u->e164[i] && *u->e164[i] && strcmp(u->e164[i], u->numbers[i])
                      ? g_strdup_printf("%s (%s)", u->numbers[i], u->e164[i])
                      : g_strdup(u->numbers[i]);
        core_reply_field(r, "number", v);
        g_free(v);
    }
    char *groups = g_strjoinv(", ", u->groups);
    core_reply_field(r, "groups", groups);
    g_free(groups);
    for (guint i = 0; i < u->line_ptrs->len; i++) {
        const core_line *line = u->line_ptrs->pdata[i];
        char *v = g_strdup_printf("%s/%s (%s)", line->driver, line->address,
                                  core_line_state_word(line->state));
        core_reply_field(r, "line", v);
        g_free(v);
    }
    core_reply_field(r, "presence", core_presence_word(core_model_presence(m, u->id)));
    return UCD_OK;
}

static gint by_group_id(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const core_group *const *)a)->id, (*(const core_group *const *)b)->id);
}

static GPtrArray *sorted_groups(core_model *m)
{
    GPtrArray *groups = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->groups);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(groups, v);
    g_ptr_array_sort(groups, by_group_id);
    return groups;
}

/* Users import and move write to a backend (a file, a directory): blocking,
 * so they run on the worker pool, owned by the backend's module, and answer
 * through a deferred reply. */
typedef struct {
    char *path;     /* import: the document */
    char *user_id;  /* move: whom ... */
    char *server;   /* ... to where */
    char **numbers; /* set-numbers: the new phone numbers */
    char *provider; /* the backend's module id */
    const ucd_users_v1 *users;
    void *impl;
    ucd_reply *r;
    char message[1024];
    int rc;
} users_job;

static void users_job_free(users_job *job)
{
    g_free(job->path);
    g_free(job->user_id);
    g_free(job->server);
    g_strfreev(job->numbers);
    g_free(job->provider);
    g_free(job);
}

static gboolean has_import(const ucd_users_v1 *users)
{
    return users->struct_size >=
               offsetof(ucd_users_v1, import_users) + sizeof users->import_users &&
           users->import_users != NULL;
}

static int import_into_first(const ucd_service *s, void *ud)
{
    users_job *job = ud;
    if (!has_import(s->iface))
        return 0;
    job->users = s->iface;
    job->impl = s->impl;
    job->provider = g_strdup(s->provider);
    return 1;
}

static void import_work(void *ud)
{
    users_job *job = ud;
    job->rc = job->users->import_users(job->impl, job->path, job->message, sizeof job->message);
}

static void import_done(void *ud)
{
    users_job *job = ud;
    if (job->rc != UCD_OK) {
        reply_fail(job->r, job->rc, "users import into %s: %s", job->provider,
                   job->message[0] ? job->message : ucd_strerror(job->rc));
    } else {
        core_reply_field(job->r, "backend", job->provider);
        core_reply_text(job->r, "%s", job->message[0] ? job->message : "imported");
    }
    core_reply_complete(job->r);
    users_job_free(job);
}

static int users_import(core_model *m, const char *path, ucd_reply *r)
{
    if (!g_path_is_absolute(path))
        return reply_fail(r, UCD_E_INVALID,
                          "users import: '%s' is not an absolute path (ucctl makes it one)", path);
    users_job *job = g_new0(users_job, 1);
    job->path = g_strdup(path);
    job->r = r;
    core_modules_service_foreach(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, import_into_first,
                                 job);
    if (!job->provider) {
        users_job_free(job);
        return reply_fail(r, UCD_E_UNSUPPORTED,
                          "users import: no running users backend can import users");
    }
    core_reply_defer(r);
    core_workers_submit(m->rt->workers, job->provider, import_work, import_done, job);
    return UCD_OK;
}

static void move_work(void *ud)
{
    users_job *job = ud;
    job->rc = job->users->set_home_server(job->impl, job->user_id, job->server);
}

static void move_done(void *ud)
{
    users_job *job = ud;
    if (job->rc == UCD_OK)
        core_reply_text(job->r, "%s now has home server %s (in %s)", job->user_id, job->server,
                        job->provider);
    else if (job->rc == UCD_E_UNSUPPORTED)
        reply_fail(job->r, job->rc,
                   "users move: %s cannot write the home server back (for a directory, enable "
                   "write-back in its module section)",
                   job->provider);
    else
        reply_fail(job->r, job->rc, "users move of %s in %s: %s", job->user_id, job->provider,
                   ucd_strerror(job->rc));
    core_reply_complete(job->r);
    users_job_free(job);
}

/* users move USER --to SERVER: rewrites the user's home server in the backend
 * it came from; the backend's next sync then (de)activates the user. */
static int users_move(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    char *to = NULL, **args = NULL;
    GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "the server the user moves to", "SERVER"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    const core_user *u = g_strv_length(args) == 2 ? core_model_user(m, args[1]) : NULL;
    ucd_service s = {.struct_size = sizeof s};
    if (g_strv_length(args) != 2 || !to || !*to)
        rc = reply_fail(r, UCD_E_INVALID, "usage: users move USER --to SERVER");
    else if (!u)
        rc = reply_fail(r, UCD_E_NOT_FOUND, "users move: no user '%s'", args[1]);
    else if (core_modules_service_get(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, u->backend,
                                      &s) != UCD_OK)
        rc = reply_fail(r, UCD_E_UNAVAILABLE, "users move: backend %s of %s is not running",
                        u->backend, u->id);
    else if (!((const ucd_users_v1 *)s.iface)->set_home_server)
        rc = reply_fail(r, UCD_E_UNSUPPORTED, "users move: %s cannot change home servers",
                        u->backend);
    if (rc == UCD_OK) {
        users_job *job = g_new0(users_job, 1);
        job->user_id = g_strdup(u->id);
        job->server = g_strdup(to);
        job->provider = g_strdup(u->backend);
        job->users = s.iface;
        job->impl = s.impl;
        job->r = r;
        core_reply_defer(r);
        core_workers_submit(m->rt->workers, job->provider, move_work, move_done, job);
    }
    g_free(to);
    g_strfreev(args);
    return rc;
}

/* The progress of one backend's sync. The backend's progress and done
 * callbacks hold a reference, so one arriving late (while the model is being
 * freed at shutdown) writes to this record, never to a freed model. */
struct core_sync_state {
    char *provider;
    gboolean running;
    uint64_t done, total;
    int result;
    char *message;
};

static core_sync_state *sync_state_ref(core_sync_state *st)
{
    return g_atomic_rc_box_acquire(st);
}

static void sync_state_clear(gpointer p)
{
    core_sync_state *st = p;
    g_free(st->provider);
    g_free(st->message);
}

void core_sync_state_unref(gpointer state)
{
    g_atomic_rc_box_release_full(state, sync_state_clear);
}

static void sync_progress(uint64_t done, uint64_t total, void *ud)
{
    core_sync_state *st = ud;
    st->done = done;
    st->total = total;
}

static void sync_done(int result, const char *message, void *ud)
{
    core_sync_state *st = ud;
    st->running = FALSE;
    st->result = result;
    g_free(st->message);
    st->message = g_strdup(message);
    if (result == UCD_OK)
        core_log("core", UCD_LOG_INFO, "model: users sync of %s finished%s%s", st->provider,
                 message ? ": " : "", str(message));
    else
        core_log("core", UCD_LOG_WARNING, "model: users sync of %s failed: %s", st->provider,
                 message ? message : ucd_strerror(result));
    core_sync_state_unref(st);
}

typedef struct {
    core_model *m;
    uint32_t flags;
    ucd_reply *r;
} sync_ctx;

static int sync_one(const ucd_service *s, void *ud)
{
    sync_ctx *sc = ud;
    const ucd_users_v1 *users = s->iface;
    int rc = UCD_E_UNSUPPORTED;
    if (users->sync) {
        core_sync_state *st = g_atomic_rc_box_new0(core_sync_state);
        st->provider = g_strdup(s->provider);
        st->running = TRUE;
        g_hash_table_replace(sc->m->syncs, st->provider, st);
        rc = users->sync(s->impl, sc->flags, sync_progress, sync_done, sync_state_ref(st));
        if (rc != UCD_OK) {
            /* done is only called for a sync that started */
            st->running = FALSE;
            st->result = rc;
            core_sync_state_unref(st);
        }
    }
    const char *row[] = {s->provider, rc == UCD_OK ? "started" : ucd_strerror(rc)};
    core_reply_row(sc->r, row);
    return 0;
}

static int users_sync(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    gboolean full = FALSE, force = FALSE, progress = FALSE;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"full", 0, 0, G_OPTION_ARG_NONE, &full, "re-read everything", NULL},
        {"force", 0, 0, G_OPTION_ARG_NONE, &force,
         "apply even a set the backend's shrink guard refuses (implies --full)", NULL},
        /* ucctl polls `users sync-status` and draws the bar; the daemon needs
         * nothing more for it */
        {"progress", 0, 0, G_OPTION_ARG_NONE, &progress, "show progress (ucctl)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    g_strfreev(args);
    static const char *const cols[] = {"backend", "sync"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    uint32_t flags = full ? UCD_SYNC_FULL : 0;
    if (force)
        flags |= UCD_SYNC_FULL | UCD_SYNC_FORCE;
    sync_ctx sc = {m, flags, r};
    core_modules_service_foreach(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, sync_one, &sc);
    return UCD_OK;
}

static gint by_provider(gconstpointer a, gconstpointer b)
{
    const core_sync_state *x = *(core_sync_state *const *)a, *y = *(core_sync_state *const *)b;
    return strcmp(x->provider, y->provider);
}

/* users sync-status: one row per backend that was asked to sync. */
static int users_sync_status(core_model *m, ucd_reply *r)
{
    static const char *const cols[] = {"backend", "state", "done", "total", "message"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    GPtrArray *all = g_ptr_array_new(); /* GLib 2.74 has no values_as_ptr_array */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, m->syncs);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(all, v);
    g_ptr_array_sort(all, by_provider);
    for (guint i = 0; i < all->len; i++) {
        const core_sync_state *st = all->pdata[i];
        char done[24], total[24];
        g_snprintf(done, sizeof done, "%" G_GUINT64_FORMAT, st->done);
        g_snprintf(total, sizeof total, "%" G_GUINT64_FORMAT, st->total);
        const char *row[] = {st->provider,
                             st->running            ? "running"
                             : st->result == UCD_OK ? "ok"
                                                    : "failed",
                             done, total,
                             st->message       ? st->message
                             : st->result != 0 ? ucd_strerror(st->result)
                                               : ""};
        core_reply_row(r, row);
    }
    g_ptr_array_free(all, TRUE);
    return UCD_OK;
}

static void numbers_work(void *ud)
{
    users_job *job = ud;
    job->rc = job->users->set_numbers(job->impl, job->user_id, (const char *const *)job->numbers);
}

static void numbers_done(void *ud)
{
    users_job *job = ud;
    if (job->rc == UCD_OK)
        core_reply_text(job->r, "%s now has %u number(s) (in %s)", job->user_id,
                        g_strv_length(job->numbers), job->provider);
    else if (job->rc == UCD_E_UNSUPPORTED)
        reply_fail(job->r, job->rc,
                   "users set-numbers: %s does not write phone numbers back (for a directory, "
                   "enable write_back and write_back_phones in its module section)",
                   job->provider);
    else
        reply_fail(job->r, job->rc, "users set-numbers of %s in %s: %s", job->user_id,
                   job->provider, ucd_strerror(job->rc));
    core_reply_complete(job->r);
    users_job_free(job);
}

/* users set-numbers USER [NUMBER...]: replaces the user's phone numbers in
 * the backend the user came from (none: clears them). */
static int users_set_numbers(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    if (argc < 2)
        return reply_fail(r, UCD_E_INVALID, "usage: users set-numbers USER [NUMBER...]");
    const core_user *u = core_model_user(m, argv[1]);
    if (!u)
        return reply_fail(r, UCD_E_NOT_FOUND, "users set-numbers: no user '%s'", argv[1]);
    ucd_service s = {.struct_size = sizeof s};
    if (core_modules_service_get(m->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, u->backend, &s) !=
        UCD_OK)
        return reply_fail(r, UCD_E_UNAVAILABLE, "users set-numbers: backend %s is not running",
                          u->backend);
    const ucd_users_v1 *users = s.iface;
    /* set_numbers exists since ABI 1.2: an older backend's table ends before it */
    if (users->struct_size < offsetof(ucd_users_v1, set_numbers) + sizeof users->set_numbers ||
        !users->set_numbers)
        return reply_fail(r, UCD_E_UNSUPPORTED, "users set-numbers: %s cannot write phone numbers",
                          u->backend);
    users_job *job = g_new0(users_job, 1);
    job->user_id = g_strdup(u->id);
    job->numbers = g_strdupv((char **)(argv + 2));
    job->provider = g_strdup(u->backend);
    job->users = users;
    job->impl = s.impl;
    job->r = r;
    core_reply_defer(r);
    core_workers_submit(m->rt->workers, job->provider, numbers_work, numbers_done, job);
    return UCD_OK;
}

static const char USERS_USAGE[] =
    "users [list] [--group G] [--limit N] [--after LOGIN] | users show ID|LOGIN | "
    "users import FILE | users sync [--full] [--force] [--progress] | users sync-status | "
    "users move USER --to SERVER | users set-numbers USER [NUMBER...]";

static int cmd_users(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    const char *sub = argc > 1 ? argv[1] : "list";
    if (argc == 1 || g_str_has_prefix(sub, "-"))
        return users_list(m, argc, argv, r);
    if (strcmp(sub, "list") == 0)
        return users_list(m, argc - 1, argv + 1, r);
    if (strcmp(sub, "show") == 0 && argc == 3)
        return users_show(m, argv[2], r);
    if (strcmp(sub, "import") == 0 && argc == 3)
        return users_import(m, argv[2], r);
    if (strcmp(sub, "sync") == 0)
        return users_sync(m, argc - 1, argv + 1, r);
    if (strcmp(sub, "move") == 0)
        return users_move(m, argc - 1, argv + 1, r);
    if (strcmp(sub, "set-numbers") == 0)
        return users_set_numbers(m, argc - 1, argv + 1, r);
    if (strcmp(sub, "sync-status") == 0 && argc == 2)
        return users_sync_status(m, r);
    return reply_fail(r, UCD_E_INVALID, "usage: %s", USERS_USAGE);
}

static int group_cmp_cursor(gconstpointer item, const char *cursor)
{
    return strcmp(((const core_group *)item)->id, cursor);
}

static char *group_cursor(gconstpointer item)
{
    return g_strdup(((const core_group *)item)->id);
}

static int cmd_groups(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    if (!parse_page(argc, argv, &page, "groups [--limit N] [--after ID]", r))
        return UCD_E_INVALID;
    GPtrArray *users = sorted_users(m);
    GPtrArray *groups = sorted_groups(m);
    guint start, end;
    char *next;
    core_page_window(groups, &page, group_cmp_cursor, group_cursor, &start, &end, &next);
    page_reply_next(r, next);
    static const char *const cols[] = {"id", "name", "members", "leaders", "description"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const core_group *g = groups->pdata[i];
        guint members = 0;
        for (guint u = 0; u < users->len; u++)
            members +=
                g_strv_contains((const char *const *)((core_user *)users->pdata[u])->groups, g->id);
        char count[16];
        g_snprintf(count, sizeof count, "%u", members);
        char *leaders = g_strjoinv(",", g->leaders);
        const char *row[] = {g->id, str(g->name), count, leaders, str(g->description)};
        core_reply_row(r, row);
        g_free(leaders);
    }
    g_ptr_array_free(groups, TRUE);
    g_ptr_array_free(users, TRUE);
    g_free(page.after);
    return UCD_OK;
}

/* ---- lines and line resolution --------------------------------------------------- */

static gint by_line(gconstpointer a, gconstpointer b)
{
    const core_line *x = *(const core_line *const *)a, *y = *(const core_line *const *)b;
    int c = strcmp(x->driver, y->driver);
    return c ? c : strcmp(x->address, y->address);
}

static GPtrArray *sorted_lines(core_model *m)
{
    GPtrArray *lines = g_ptr_array_new();
    GHashTableIter di, li;
    gpointer d, l;
    g_hash_table_iter_init(&di, m->drivers);
    while (g_hash_table_iter_next(&di, NULL, &d)) {
        g_hash_table_iter_init(&li, ((core_driver *)d)->lines);
        while (g_hash_table_iter_next(&li, NULL, &l))
            g_ptr_array_add(lines, l);
    }
    g_ptr_array_sort(lines, by_line);
    return lines;
}

/* Lines are listed by driver, then address; "DRIVER/ADDRESS" is the page
 * cursor (a driver id has no '/'; an address may). */
static int line_cmp_cursor(gconstpointer item, const char *cursor)
{
    const core_line *l = item;
    const char *slash = strchr(cursor, '/');
    char *driver = g_strndup(cursor, slash ? (gsize)(slash - cursor) : strlen(cursor));
    int c = strcmp(l->driver, driver);
    g_free(driver);
    return c ? c : strcmp(l->address, slash ? slash + 1 : "");
}

static char *line_cursor(gconstpointer item)
{
    const core_line *l = item;
    return g_strconcat(l->driver, "/", l->address, NULL);
}

static int cmd_lines(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    if (!parse_page(argc, argv, &page, "lines [--limit N] [--after DRIVER/ADDRESS]", r))
        return UCD_E_INVALID;
    GPtrArray *lines = sorted_lines(m);
    guint start, end;
    char *next;
    core_page_window(lines, &page, line_cmp_cursor, line_cursor, &start, &end, &next);
    page_reply_next(r, next);
    static const char *const cols[] = {"driver", "line", "number",  "name", "state",
                                       "user",   "dnd",  "forward", "calls"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const core_line *l = lines->pdata[i];
        char calls[16];
        g_snprintf(calls, sizeof calls, "%u", l->offering + l->active);
        const char *row[] = {l->driver,
                             l->address,
                             str(l->number),
                             str(l->name),
                             core_line_state_word(l->state),
                             l->user ? str(l->user->login ? l->user->login : l->user->id) : "",
                             l->dnd ? "on" : "off",
                             str(l->forward_to),
                             calls};
        core_reply_row(r, row);
    }
    g_ptr_array_free(lines, TRUE);
    g_free(page.after);
    return UCD_OK;
}

/* "DRIVER/ADDRESS": some '/' splits a known driver from one of its lines. */
static core_line *line_by_full_name(core_model *m, const char *arg)
{
    for (const char *slash = strchr(arg, '/'); slash; slash = strchr(slash + 1, '/')) {
        char *driver = g_strndup(arg, (gsize)(slash - arg));
        core_driver *d = core_model_driver(m, driver, FALSE);
        g_free(driver);
        core_line *line = d ? g_hash_table_lookup(d->lines, slash + 1) : NULL;
        if (line)
            return line;
    }
    return NULL;
}

/* The line `arg` names, or NULL after replying why not. */
static core_line *resolve_line(core_model *m, const char *arg, ucd_reply *r)
{
    core_line *line = line_by_full_name(m, arg);
    if (line)
        return line;
    GPtrArray *found = g_ptr_array_new();
    GHashTableIter it;
    gpointer d;
    g_hash_table_iter_init(&it, m->drivers);
    while (g_hash_table_iter_next(&it, NULL, &d)) {
        core_line *l = g_hash_table_lookup(((core_driver *)d)->lines, arg);
        if (l)
            g_ptr_array_add(found, l);
    }
    if (found->len == 1) {
        line = found->pdata[0];
    } else if (found->len == 0) {
        core_reply_error(r, "unknown line '%s' (see ucctl lines)", arg);
    } else {
        g_ptr_array_sort(found, by_line);
        GString *names = g_string_new(NULL);
        for (guint i = 0; i < found->len; i++) {
            const core_line *l = found->pdata[i];
            g_string_append_printf(names, "%s%s/%s", i ? ", " : "", l->driver, l->address);
        }
        core_reply_error(r, "line '%s' is on several drivers: %s (name one as DRIVER/ADDRESS)", arg,
                         names->str);
        g_string_free(names, TRUE);
    }
    g_ptr_array_free(found, TRUE);
    return line;
}

/* ---- calls ------------------------------------------------------------------------ */

typedef struct {
    const core_line *line;
    char *call_id, *conversation, *state, *direction, *remote, *since;
} call_row;

static void add_call_row(const core_leg_view *v, void *ud)
{
    call_row row = {
        .line = v->line,
        .call_id = g_strdup(v->call_id),
        .conversation = g_strdup(v->uuid),
        .state = g_strdup(core_call_state_word(v->state)),
        .direction = g_strdup(core_direction_word(v->direction)),
        .remote = v->remote_name && v->remote_number
                      ? g_strdup_printf("%s (%s)", v->remote_number, v->remote_name)
                      : g_strdup(v->remote_number ? v->remote_number : str(v->remote_name)),
        .since = time_text(v->since_ms),
    };
    g_array_append_val(ud, row);
}

static gint by_call_row(gconstpointer a, gconstpointer b)
{
    const call_row *x = a, *y = b;
    int c = by_line(&x->line, &y->line);
    return c ? c : strcmp(x->call_id, y->call_id);
}

static void call_row_clear(gpointer p)
{
    call_row *row = p;
    g_free(row->call_id);
    g_free(row->conversation);
    g_free(row->state);
    g_free(row->direction);
    g_free(row->remote);
    g_free(row->since);
}

static void reply_count(ucd_reply *r, const char *name, uint64_t value)
{
    char buf[32];
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, value);
    core_reply_field(r, name, buf);
}

/* Calls are listed by line, then call id; the line is the page cursor, so a
 * page holds every leg of the lines it shows. */
static int call_cmp_cursor(gconstpointer item, const char *cursor)
{
    return line_cmp_cursor(((const call_row *)item)->line, cursor);
}

static char *call_cursor(gconstpointer item)
{
    return line_cursor(((const call_row *)item)->line);
}

static int cmd_calls(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    if (!parse_page(argc, argv, &page, "calls [--limit N] [--after DRIVER/ADDRESS]", r))
        return UCD_E_INVALID;
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(call_row));
    g_array_set_clear_func(rows, call_row_clear);
    core_calls_foreach_leg(m, add_call_row, rows);
    g_array_sort(rows, by_call_row);
    GPtrArray *sorted = g_ptr_array_sized_new(rows->len);
    for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add(sorted, &g_array_index(rows, call_row, i));
    guint start, end;
    char *next;
    core_page_window(sorted, &page, call_cmp_cursor, call_cursor, &start, &end, &next);
    page_reply_next(r, next);
    core_model_stats st;
    core_model_get_stats(m, &st);
    reply_count(r, "live_legs", st.live_legs);
    reply_count(r, "open_conversations", st.open_conversations);
    reply_count(r, "journaled", st.conversations_stored);
    reply_count(r, "store_errors", st.store_errors);
    static const char *const cols[] = {"driver", "line",      "call",   "conversation",
                                       "state",  "direction", "remote", "since"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (guint i = start; i < end; i++) {
        const call_row *c = sorted->pdata[i];
        const char *row[] = {c->line->driver, c->line->address, c->call_id, c->conversation,
                             c->state,        c->direction,     c->remote,  c->since};
        core_reply_row(r, row);
    }
    g_ptr_array_free(sorted, TRUE);
    g_array_free(rows, TRUE);
    g_free(page.after);
    return UCD_OK;
}

/* ---- presence --------------------------------------------------------------------- */

/* The presence columns; the last two (shown for one user and with --all) say
 * whether the user is active on this server and which home server the
 * backend names. A row is read only as far as its reply's columns go. */
static const char *const presence_cols[] = {"user",     "login", "state", "manual", "line",
                                            "calendar", "note",  "until", "active", "home_server"};
#define PRESENCE_COLS       8
#define PRESENCE_WHERE_COLS 10

static void presence_row(core_model *m, const core_user *u, ucd_reply *r)
{
    core_presence_view v = {0};
    core_presence_view_get(m, u->id, &v);
    char *until = time_text(v.until_ms);
    const char *row[] = {u->id,
                         str(u->login),
                         core_presence_word(v.state),
                         v.manual ? core_presence_word(v.manual) : "",
                         core_presence_word(v.line),
                         v.calendar ? core_presence_word(v.calendar) : "",
                         str(v.note),
                         until,
                         core_model_user_here(m, u) ? "yes" : "no",
                         str(u->home_server)};
    core_reply_row(r, row);
    g_free(until);
}

/* `presence USER`: one user, active here or not, with where the user is. */
static int presence_show(core_model *m, const char *who, ucd_reply *r)
{
    const core_user *u = core_model_user(m, who);
    if (!u)
        return reply_fail(r, UCD_E_NOT_FOUND, "unknown user '%s' (see ucctl users)", who);
    core_reply_columns(r, PRESENCE_WHERE_COLS, presence_cols);
    presence_row(m, u, r);
    return UCD_OK;
}

/* `presence [--all] [--limit N] [--after LOGIN]`: the users active on this
 * server (core_model_user_here). A disabled user, or one homed on another
 * server than [core] server_name, has no presence here: such users are listed
 * only with --all, and then every row says where the user is. */
static int presence_list(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    core_page page = {CORE_PAGE_DEFAULT_LIMIT, NULL};
    gboolean all = FALSE;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"all", 'a', 0, G_OPTION_ARG_NONE, &all, "users not active here too", NULL},
        PAGE_ENTRIES(&page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    if (g_strv_length(args) > 1)
        rc = reply_fail(r, UCD_E_INVALID, "usage: presence [--all] [--limit N] [--after LOGIN]");
    else if (!page_ok(&page, r))
        rc = UCD_E_INVALID;
    g_strfreev(args);
    if (rc != UCD_OK) {
        g_free(page.after);
        return rc;
    }
    guint start, end;
    GPtrArray *users = users_page(m, &page, all ? NULL : active_here, m, &start, &end, r);
    core_reply_columns(r, all ? PRESENCE_WHERE_COLS : PRESENCE_COLS, presence_cols);
    for (guint i = start; i < end; i++)
        presence_row(m, users->pdata[i], r);
    g_ptr_array_free(users, TRUE);
    g_free(page.after);
    return UCD_OK;
}

static int presence_set(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    char *note = NULL, *until = NULL, **args = NULL;
    GOptionEntry entries[] = {
        {"note", 'n', 0, G_OPTION_ARG_STRING, &note, "free text", "TEXT"},
        {"until", 'u', 0, G_OPTION_ARG_STRING, &until, "end time or duration", "WHEN"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    int64_t until_ms = 0;
    int state = g_strv_length(args) == 3 ? core_presence_parse(args[2]) : -1;
    if (g_strv_length(args) != 3) {
        rc = reply_fail(r, UCD_E_INVALID,
                        "usage: presence set USER STATE [--note TEXT] [--until ISO8601|DURATION]");
    } else if (state != UCD_PRESENCE_AVAILABLE && state != UCD_PRESENCE_AWAY &&
               state != UCD_PRESENCE_BUSY && state != UCD_PRESENCE_DND &&
               state != UCD_PRESENCE_OUT_OF_OFFICE) {
        rc = reply_fail(r, UCD_E_INVALID,
                        "unknown state '%s': available, away, busy, dnd or out_of_office", args[2]);
    } else if (until && (until_ms = parse_until_ms(until)) < 0) {
        rc = reply_fail(r, UCD_E_INVALID,
                        "--until '%s': give a time (2026-03-01T17:00) or a duration (30m, 2h, 1d)",
                        until);
    } else if (core_model_user(m, args[1]) &&
               !core_model_user_here(m, core_model_user(m, args[1]))) {
        rc = reply_fail(r, UCD_E_INVALID,
                        "user '%s' is not active on this server (disabled, or homed on another "
                        "server): no presence here",
                        args[1]);
    } else {
        rc = core_model_set_manual(m, args[1], state, note, until_ms);
        if (rc == UCD_E_NOT_FOUND)
            core_reply_error(r, "unknown user '%s' (see ucctl users)", args[1]);
        else if (rc != UCD_OK)
            core_reply_error(r, "--until '%s' is not in the future", str(until));
        else
            rc = presence_show(m, args[1], r);
    }
    g_free(note);
    g_free(until);
    g_strfreev(args);
    return rc;
}

static int cmd_presence(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    if (argc == 1 || argv[1][0] == '-')
        return presence_list(m, argc, argv, r);
    if (strcmp(argv[1], "set") == 0)
        return presence_set(m, argc - 1, argv + 1, r);
    if (strcmp(argv[1], "clear") == 0 && argc == 3) {
        int rc = core_model_set_manual(m, argv[2], UCD_PRESENCE_UNKNOWN, NULL, 0);
        if (rc != UCD_OK)
            return reply_fail(r, rc, "unknown user '%s' (see ucctl users)", argv[2]);
        return presence_show(m, argv[2], r);
    }
    if (argc == 2)
        return presence_show(m, argv[1], r);
    return reply_fail(r, UCD_E_INVALID,
                      "usage: presence [--all] [--limit N] [--after LOGIN] | presence USER | "
                      "presence set USER STATE [--note TEXT] [--until ISO8601|DURATION] | "
                      "presence clear USER");
}

/* ---- journal ---------------------------------------------------------------------- */

static const char *const outcome_words[] = {"answered", "no_answer", "busy",
                                            "failed",   "voicemail", "blocked"};

static int parse_outcomes(const char *list, uint32_t *mask)
{
    char **words = g_strsplit(list, ",", -1);
    int bad = 0;
    for (char **w = words; *w && !bad; w++) {
        bad = 1;
        for (size_t i = 0; i < G_N_ELEMENTS(outcome_words); i++)
            if (strcmp(*w, outcome_words[i]) == 0) {
                *mask |= 1u << i;
                bad = 0;
            }
    }
    g_strfreev(words);
    return bad ? -1 : 0;
}

static int journal_row(const ucd_journal_record *rec, void *ud)
{
    ucd_reply *r = ud;
    char *start = time_text(rec->start_ms);
    char duration[32] = "";
    if (rec->end_ms >= rec->start_ms && rec->start_ms)
        g_snprintf(duration, sizeof duration, "%" G_GINT64_FORMAT "s",
                   (rec->end_ms - rec->start_ms) / 1000);
    GString *who = g_string_new(NULL);
    for (uint32_t i = 0; rec->participants && i < rec->participant_count; i++) {
        const ucd_journal_participant *p =
            (const void *)((const char *)rec->participants + (size_t)i * rec->participant_size);
        g_string_append_printf(who, "%s%s", who->len ? "," : "", p->user_id ? p->user_id : p->line);
    }
    const char *row[] = {start,
                         core_direction_word(rec->direction),
                         rec->outcome < G_N_ELEMENTS(outcome_words) ? outcome_words[rec->outcome]
                                                                    : "unknown",
                         str(rec->source_number),
                         str(rec->destination_number),
                         duration,
                         who->str,
                         str(rec->uuid)};
    core_reply_row(r, row);
    g_string_free(who, TRUE);
    g_free(start);
    return 0;
}

/* A journal query runs on the worker pool (query() blocks on the database)
 * and answers through a deferred reply. The work item is owned by the
 * journal's module, so stopping that module waits for the query. The job owns
 * copies of the query's strings: the command's own are gone by then. */
typedef struct {
    ucd_journal_query q;
    char *user_id, *number, *after;
    char *provider; /* the journal's module id: owns the work item */
    const ucd_journal_v1 *journal;
    void *impl;
    ucd_reply *r;
    char cursor[256];
    int rc;
} query_job;

static int query_first(const ucd_service *s, void *ud)
{
    query_job *job = ud;
    const ucd_journal_v1 *journal = s->iface;
    if (!journal->query)
        return 0;
    job->journal = journal;
    job->impl = s->impl;
    job->provider = g_strdup(s->provider);
    core_reply_field(job->r, "journal", s->provider);
    return 1;
}

static void query_work(void *ud)
{
    query_job *job = ud;
    job->rc = job->journal->query(job->impl, &job->q, journal_row, job->r, job->cursor,
                                  sizeof job->cursor);
}

static void query_done(void *ud)
{
    query_job *job = ud;
    if (job->rc != UCD_OK)
        reply_fail(job->r, job->rc, "journal query failed: %s", ucd_strerror(job->rc));
    else
        core_reply_field(job->r, "next", job->cursor);
    core_reply_complete(job->r);
    g_free(job->user_id);
    g_free(job->number);
    g_free(job->after);
    g_free(job->provider);
    g_free(job);
}

static int run_query(core_model *m, const ucd_journal_query *q, ucd_reply *r)
{
    static const char *const cols[] = {"start", "direction", "outcome",      "from",
                                       "to",    "duration",  "participants", "uuid"};
    query_job *job = g_new0(query_job, 1);
    job->r = r;
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_service_foreach(m->mods, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, query_first, job);
    if (!job->journal) {
        g_free(job);
        return reply_fail(r, UCD_E_UNAVAILABLE, "no running journal answers queries");
    }
    job->q = *q;
    job->q.user_id = job->user_id = g_strdup(q->user_id);
    job->q.number = job->number = g_strdup(q->number);
    job->q.after = job->after = g_strdup(q->after);
    core_reply_defer(r);
    core_workers_submit(m->rt->workers, job->provider, query_work, query_done, job);
    return UCD_OK;
}

static int journal_query(core_model *m, int argc, const char *const *argv, ucd_reply *r)
{
    char *user = NULL, *number = NULL, *from = NULL, *to = NULL, *outcome = NULL, *after = NULL,
         **args = NULL;
    int limit = 20;
    GOptionEntry entries[] = {
        {"user", 0, 0, G_OPTION_ARG_STRING, &user, "user id or login", "U"},
        {"number", 0, 0, G_OPTION_ARG_STRING, &number, "number on either side", "N"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "start at or after", "T"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "start before", "T"},
        {"outcome", 0, 0, G_OPTION_ARG_STRING, &outcome, "outcomes, comma-separated", "O"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "page size", "N"},
        {"after", 0, 0, G_OPTION_ARG_STRING, &after, "cursor of the previous page", "CURSOR"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    ucd_journal_query q = {.struct_size = sizeof q, .number = number, .after = after};
    const core_user *u = user ? core_model_user(m, user) : NULL;
    q.user_id = u ? u->id : user;
    int rc = UCD_OK;
    if (g_strv_length(args) != 1)
        rc = reply_fail(r, UCD_E_INVALID, "journal query takes options only");
    else if (limit < 1 || limit > JOURNAL_MAX_LIMIT)
        rc = reply_fail(r, UCD_E_INVALID, "--limit must be 1 to %d", JOURNAL_MAX_LIMIT);
    else if (from && (q.from_ms = parse_time_ms(from)) < 0)
        rc = reply_fail(r, UCD_E_INVALID, "--from '%s' is not a time", from);
    else if (to && (q.to_ms = parse_time_ms(to)) < 0)
        rc = reply_fail(r, UCD_E_INVALID, "--to '%s' is not a time", to);
    else if (outcome && parse_outcomes(outcome, &q.outcome_mask) < 0)
        rc = reply_fail(r, UCD_E_INVALID, "--outcome '%s': use %s", outcome,
                        "answered, no_answer, busy, failed, voicemail, blocked");
    if (rc == UCD_OK) {
        q.limit = (uint32_t)limit;
        rc = run_query(m, &q, r);
    }
    g_free(user);
    g_free(number);
    g_free(from);
    g_free(to);
    g_free(outcome);
    g_free(after);
    g_strfreev(args);
    return rc;
}

/* One row per running journal store: whether records reach durable storage
 * now, how many were stored, how many wait (in memory or a spool) and how old
 * the oldest waiting one is, so an admin sees at once that a database is down
 * and how far behind the journal is. status() must not block (journal.h). */
static int status_row(const ucd_service *s, void *ud)
{
    ucd_reply *r = ud;
    const ucd_journal_v1 *journal = s->iface;
    ucd_journal_status st = {.struct_size = sizeof st};
    char stored[32] = "", pending[32] = "", age[32] = "";
    char *oldest = NULL;
    const char *state = "unknown";
    if (journal->status && journal->status(s->impl, &st) == UCD_OK) {
        state = st.healthy ? "healthy" : "failing";
        g_snprintf(stored, sizeof stored, "%" G_GUINT64_FORMAT, st.stored);
        g_snprintf(pending, sizeof pending, "%" G_GUINT64_FORMAT, st.pending);
        if (st.oldest_pending_ms > 0) {
            int64_t now_ms = g_get_real_time() / 1000;
            g_snprintf(age, sizeof age, "%" G_GINT64_FORMAT "s",
                       MAX(now_ms - st.oldest_pending_ms, 0) / 1000);
            oldest = time_text(st.oldest_pending_ms);
        }
    }
    const char *row[] = {s->provider, state, stored, pending, age, str(oldest), str(st.detail)};
    core_reply_row(r, row);
    g_free(oldest);
    return 0;
}

static int journal_status(core_model *m, ucd_reply *r)
{
    static const char *const cols[] = {"journal",    "state",  "stored", "pending",
                                       "oldest_age", "oldest", "detail"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_service_foreach(m->mods, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, status_row, r);
    return UCD_OK;
}

static int cmd_journal(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    if (argc == 2 && strcmp(argv[1], "status") == 0)
        return journal_status(m, r);
    if (argc >= 2 && strcmp(argv[1], "tail") == 0 && argc <= 3) {
        guint64 n = 20;
        if (argc == 3 && !parse_uint(argv[2], JOURNAL_MAX_LIMIT, &n))
            return reply_fail(r, UCD_E_INVALID, "journal tail N: N is 1 to %d", JOURNAL_MAX_LIMIT);
        ucd_journal_query q = {.struct_size = sizeof q, .limit = n ? (uint32_t)n : 1};
        return run_query(m, &q, r);
    }
    if (argc >= 2 && strcmp(argv[1], "query") == 0)
        return journal_query(m, argc - 1, argv + 1, r);
    return reply_fail(
        r, UCD_E_INVALID,
        "usage: journal tail [N] | journal status | journal query [--user U] "
        "[--number N] [--from T] [--to T] [--outcome O] [--limit N] [--after CURSOR]");
}

/* ---- trace ------------------------------------------------------------------------- */

static void trace_row(uint64_t seq, int64_t time_ms, const char *text, void *ud)
{
    char seq_text[24], when[32];
    g_snprintf(seq_text, sizeof seq_text, "%" G_GUINT64_FORMAT, seq);
    char *t = time_text(time_ms);
    g_snprintf(when, sizeof when, "%s.%03d", t, (int)(time_ms % 1000));
    g_free(t);
    const char *row[] = {seq_text, when, text};
    core_reply_row(ud, row);
}

static int cmd_trace(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    char *after = NULL, **args = NULL;
    int limit = -1;
    GOptionEntry entries[] = {
        {"after", 0, 0, G_OPTION_ARG_STRING, &after, "entries after SEQ only", "SEQ"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "at most N entries", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    guint64 after_seq = 0;
    int rc = UCD_OK;
    core_line *line = NULL;
    if (g_strv_length(args) != 2)
        rc = reply_fail(r, UCD_E_INVALID, "usage: trace LINE [--after SEQ] [--limit N]");
    else if (after && !parse_uint(after, G_MAXUINT64, &after_seq))
        rc = reply_fail(r, UCD_E_INVALID, "--after '%s' is not a sequence number", after);
    else if (!(line = resolve_line(m, args[1], r)))
        rc = UCD_E_NOT_FOUND;
    if (rc == UCD_OK) {
        /* A first look shows the latest few; a poll (--after) everything new. */
        guint n = limit > 0 ? (guint)limit : after ? CORE_TRACE_CAPACITY : 20;
        static const char *const cols[] = {"seq", "time", "event"};
        core_reply_field(r, "line", line->address);
        core_reply_field(r, "driver", line->driver);
        core_reply_columns(r, G_N_ELEMENTS(cols), cols);
        uint64_t last = core_trace_query(m->trace, line, after_seq, n, after == NULL, trace_row, r);
        reply_count(r, "seq", last);
    }
    g_free(after);
    g_strfreev(args);
    return rc;
}

/* ---- capabilities and call control -------------------------------------------------- */

static const char *const cap_words[] = {
    "monitor", "dial",   "answer", "hangup",  "hold", "transfer_blind", "transfer_consult",
    "deflect", "pickup", "dtmf",   "forward", "dnd",  "conference",
};

/* The running pbx service of `line`'s driver, or FALSE after replying why not. */
static gboolean line_driver(core_model *m, const core_line *line, ucd_service *s, ucd_reply *r)
{
    s->struct_size = sizeof *s;
    if (core_modules_service_get(m->mods, UCD_PBX_SERVICE, UCD_PBX_MAJOR, line->driver, s) ==
        UCD_OK)
        return TRUE;
    core_reply_error(r, "line %s: its driver %s is not running", line->address, line->driver);
    return FALSE;
}

static int cmd_caps(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    if (argc != 2)
        return reply_fail(r, UCD_E_INVALID, "usage: caps LINE");
    core_line *line = resolve_line(m, argv[1], r);
    ucd_service s;
    if (!line)
        return UCD_E_NOT_FOUND;
    if (!line_driver(m, line, &s, r))
        return UCD_E_UNAVAILABLE;
    const ucd_pbx_v1 *pbx = s.iface;
    uint64_t caps = pbx->capabilities ? pbx->capabilities(s.impl, line->address) : 0;
    core_reply_field(r, "line", line->address);
    core_reply_field(r, "driver", line->driver);
    static const char *const cols[] = {"capability", "supported"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    for (size_t i = 0; i < G_N_ELEMENTS(cap_words); i++) {
        const char *row[] = {cap_words[i], caps & (UINT64_C(1) << i) ? "yes" : "no"};
        core_reply_row(r, row);
    }
    return UCD_OK;
}

typedef enum {
    OP_DIAL,
    OP_ANSWER,
    OP_HANGUP,
    OP_HOLD,
    OP_RETRIEVE,
    OP_TRANSFER,
    OP_CONSULT_TRANSFER,
    OP_DEFLECT,
    OP_PICKUP,
    OP_DTMF,
    OP_FORWARD,
    OP_DND,
} call_op;

typedef struct {
    const char *name;
    const char *usage;
    const char *help;
    int argc; /* words including the command */
    uint64_t cap;
    size_t slot; /* offset of the function in ucd_pbx_v1 */
} op_desc;

#define SLOT(f) offsetof(ucd_pbx_v1, f)

static const op_desc ops[] = {
    [OP_DIAL] = {"dial", "dial LINE NUMBER", "make a call from LINE", 3, UCD_PBX_CAP_DIAL,
                 SLOT(dial)},
    [OP_ANSWER] = {"answer", "answer LINE CALL", "answer a ringing call", 3, UCD_PBX_CAP_ANSWER,
                   SLOT(answer)},
    [OP_HANGUP] = {"hangup", "hangup LINE CALL", "end a call", 3, UCD_PBX_CAP_HANGUP, SLOT(hangup)},
    [OP_HOLD] = {"hold", "hold LINE CALL", "put a call on hold", 3, UCD_PBX_CAP_HOLD, SLOT(hold)},
    [OP_RETRIEVE] = {"retrieve", "retrieve LINE CALL", "take a call off hold", 3, UCD_PBX_CAP_HOLD,
                     SLOT(retrieve)},
    [OP_TRANSFER] = {"transfer", "transfer LINE CALL NUMBER", "blind transfer", 4,
                     UCD_PBX_CAP_TRANSFER_BLIND, SLOT(transfer_blind)},
    [OP_CONSULT_TRANSFER] = {"consult-transfer", "consult-transfer LINE HELD ACTIVE",
                             "connect the held call with the active one and leave", 4,
                             UCD_PBX_CAP_TRANSFER_CONSULT, SLOT(transfer_consult)},
    [OP_DEFLECT] = {"deflect", "deflect LINE CALL NUMBER", "send a ringing call elsewhere", 4,
                    UCD_PBX_CAP_DEFLECT, SLOT(deflect)},
    [OP_PICKUP] = {"pickup", "pickup LINE TARGET_LINE", "take a call ringing on TARGET_LINE", 3,
                   UCD_PBX_CAP_PICKUP, SLOT(pickup)},
    [OP_DTMF] = {"dtmf", "dtmf LINE CALL DIGITS", "send DTMF digits", 4, UCD_PBX_CAP_DTMF,
                 SLOT(send_dtmf)},
    [OP_FORWARD] = {"forward", "forward LINE unconditional|busy|no_answer NUMBER|off",
                    "set or clear call forwarding", 4, UCD_PBX_CAP_FORWARD, SLOT(set_forward)},
    [OP_DND] = {"dnd", "dnd LINE on|off", "do not disturb", 3, UCD_PBX_CAP_DND, SLOT(set_dnd)},
};

static const char *cap_word(uint64_t cap)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cap_words); i++)
        if (cap == UINT64_C(1) << i)
            return cap_words[i];
    return "unknown";
}

static const char *driver_error_words(int rc)
{
    switch (rc) {
    case UCD_E_NOT_FOUND:
        return "the driver knows no such call or line";
    case UCD_E_UNSUPPORTED:
        return "the line does not support it";
    case UCD_E_INVALID:
        return "the driver refused an argument as invalid";
    case UCD_E_BUSY:
        return "the driver is busy, try again";
    case UCD_E_UNAVAILABLE:
        return "the PBX is unreachable";
    case UCD_E_DENIED:
        return "the PBX refused it";
    default:
        return ucd_strerror(rc);
    }
}

/* A target line for pickup: its address on the same driver. */
static const char *same_driver_address(const core_line *line, const char *target)
{
    size_t n = strlen(line->driver);
    if (strncmp(target, line->driver, n) == 0 && target[n] == '/')
        return target + n + 1;
    return target;
}

/* ucd_forward_type of a word; -1 when unknown. */
static int forward_type(const char *word)
{
    static const char *const types[] = {"unconditional", "busy", "no_answer"};
    for (int t = 0; t < (int)G_N_ELEMENTS(types); t++)
        if (strcmp(word, types[t]) == 0)
            return t;
    return -1;
}

/* Arguments the model can check before bothering the driver. */
static gboolean args_valid(call_op op, const char *const *argv, ucd_reply *r)
{
    if (op == OP_FORWARD && forward_type(argv[2]) < 0) {
        core_reply_error(r, "forward: type '%s' is none of unconditional, busy, no_answer",
                         argv[2]);
        return FALSE;
    }
    if (op == OP_DND && strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0) {
        core_reply_error(r, "dnd: say on or off, not '%s'", argv[2]);
        return FALSE;
    }
    return TRUE;
}

static int call_driver(call_op op, const ucd_pbx_v1 *pbx, void *impl, const core_line *line,
                       const char *const *argv, ucd_reply *r)
{
    const char *a = line->address;
    switch (op) {
    case OP_DIAL: {
        char call_id[128] = "";
        int rc = pbx->dial(impl, a, argv[2], call_id, sizeof call_id);
        if (rc == UCD_OK && call_id[0])
            core_reply_field(r, "call_id", call_id);
        return rc;
    }
    case OP_ANSWER:
        return pbx->answer(impl, a, argv[2]);
    case OP_HANGUP:
        return pbx->hangup(impl, a, argv[2]);
    case OP_HOLD:
        return pbx->hold(impl, a, argv[2]);
    case OP_RETRIEVE:
        return pbx->retrieve(impl, a, argv[2]);
    case OP_TRANSFER:
        return pbx->transfer_blind(impl, a, argv[2], argv[3]);
    case OP_CONSULT_TRANSFER:
        return pbx->transfer_consult(impl, a, argv[2], argv[3]);
    case OP_DEFLECT:
        return pbx->deflect(impl, a, argv[2], argv[3]);
    case OP_PICKUP:
        return pbx->pickup(impl, a, same_driver_address(line, argv[2]));
    case OP_DTMF:
        return pbx->send_dtmf(impl, a, argv[2], argv[3]);
    case OP_FORWARD:
        return pbx->set_forward(impl, a, (uint32_t)forward_type(argv[2]),
                                strcmp(argv[3], "off") == 0 ? NULL : argv[3]);
    case OP_DND:
        return pbx->set_dnd(impl, a, strcmp(argv[2], "on") == 0);
    }
    return UCD_E_INVALID;
}

static int cmd_call_control(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_model *m = ud;
    call_op op = 0;
    while (op < G_N_ELEMENTS(ops) && strcmp(ops[op].name, argv[0]) != 0)
        op++;
    if (op >= G_N_ELEMENTS(ops))
        return reply_fail(r, UCD_E_INVALID, "unknown call-control command '%s'", argv[0]);
    const op_desc *d = &ops[op];
    if (argc != d->argc)
        return reply_fail(r, UCD_E_INVALID, "usage: %s", d->usage);
    if (!args_valid(op, argv, r))
        return UCD_E_INVALID;
    core_line *line = resolve_line(m, argv[1], r);
    ucd_service s;
    if (!line)
        return UCD_E_NOT_FOUND;
    if (!line_driver(m, line, &s, r))
        return UCD_E_UNAVAILABLE;
    const ucd_pbx_v1 *pbx = s.iface;
    void *const *fn = (void *const *)((const char *)pbx + d->slot);
    uint64_t caps = pbx->capabilities ? pbx->capabilities(s.impl, line->address) : 0;
    if (!(caps & d->cap) || pbx->struct_size < d->slot + sizeof(void *) || !*fn)
        return reply_fail(r, UCD_E_UNSUPPORTED,
                          "line %s (%s) does not support %s (capability '%s')", line->address,
                          line->driver, d->name, cap_word(d->cap));
    int rc = call_driver(op, pbx, s.impl, line, argv, r);
    if (rc != UCD_OK) {
        core_reply_error(r, "%s on line %s (%s): %s", d->name, line->address, line->driver,
                         driver_error_words(rc));
        return rc;
    }
    core_reply_text(r, "%s: accepted by %s", d->name, line->driver);
    return UCD_OK;
}

/* ---- registration ------------------------------------------------------------------ */

void core_model_register_commands(core_model *m, core_control *ctl)
{
    static const struct {
        const char *name, *usage, *help;
        ucd_command_fn fn;
    } cmds[] = {
        {"users", USERS_USAGE, "users and their lines, from every users backend", cmd_users},
        {"groups", "groups [--limit N] [--after ID]", "user groups", cmd_groups},
        {"lines", "lines [--limit N] [--after DRIVER/ADDRESS]",
         "lines of every PBX driver, their state and user", cmd_lines},
        {"calls", "calls [--limit N] [--after DRIVER/ADDRESS]", "live call legs", cmd_calls},
        {"presence",
         "presence [--all] [--limit N] [--after LOGIN] | presence USER | presence set USER STATE "
         "[--note TEXT] [--until ISO8601|DURATION] | presence clear USER",
         "presence of the users active here (--all: every user); set or clear a manual state",
         cmd_presence},
        {"journal",
         "journal tail [N] | journal status | journal query [--user U] [--number N] [--from T] "
         "[--to T] [--outcome O] [--limit N] [--after CURSOR]",
         "finished conversations; each journal's state, backlog and spool", cmd_journal},
        {"trace", "trace LINE [--after SEQ] [--limit N]", "recent events of one line", cmd_trace},
        {"caps", "caps LINE", "what a line can do", cmd_caps},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++)
        core_control_register(ctl, "core", cmds[i].name, cmds[i].usage, cmds[i].help, cmds[i].fn,
                              m);
    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++)
        core_control_register(ctl, "core", ops[i].name, ops[i].usage, ops[i].help, cmd_call_control,
                              m);
}
