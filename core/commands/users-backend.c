/*
 * users-backend.c - the `ucctl users` subcommands that reach a users backend
 * (service "users", users.h): sync, sync-status, import, move, set-numbers.
 *
 * import, move and set-numbers call blocking backend functions (a file
 * write, a directory modify): they run on the worker pool, owned by the
 * backend's module (stopping it waits for them), and answer through a
 * deferred reply, so the main loop never waits for a directory. A sync runs
 * in the backend; its progress is kept here for `users sync-status`, which
 * ucctl polls to draw the bar of `users sync --progress`.
 */
#include <string.h>

#include "control.h"
#include "log.h"
#include "model-commands-internal.h"

/* ---- import, move, set-numbers: one backend call on the pool ---------------- */

typedef struct {
    char *path;     /* import: the document */
    char *user_id;  /* move, set-numbers: whom ... */
    char *server;   /* move: ... to where */
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

/* Runs work(job) on the pool, then done(job), which completes the reply. */
static int users_job_submit(core_model_commands *c, users_job *job, ucd_work_fn work,
                            ucd_done_fn done)
{
    core_reply_defer(job->r);
    core_workers_submit(c->workers, job->provider, work, done, job);
    return UCD_OK;
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
        command_fail(job->r, job->rc, "users import into %s: %s", job->provider,
                     job->message[0] ? job->message : ucd_strerror(job->rc));
    } else {
        core_reply_field(job->r, "backend", job->provider);
        core_reply_text(job->r, "%s", job->message[0] ? job->message : "imported");
    }
    core_reply_complete(job->r);
    users_job_free(job);
}

int users_import(core_model_commands *c, const char *path, ucd_reply *r)
{
    if (!g_path_is_absolute(path))
        return command_fail(r, UCD_E_INVALID,
                            "users import: '%s' is not an absolute path (ucctl makes it one)",
                            path);
    users_job *job = g_new0(users_job, 1);
    job->path = g_strdup(path);
    job->r = r;
    core_modules_service_foreach(c->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, import_into_first,
                                 job);
    if (!job->provider) {
        users_job_free(job);
        return command_fail(r, UCD_E_UNSUPPORTED,
                            "users import: no running users backend can import users");
    }
    return users_job_submit(c, job, import_work, import_done);
}

/* The users service `u` came from, if it runs. */
static gboolean user_backend(core_model_commands *c, const dir_user *u, ucd_service *s)
{
    *s = (ucd_service){.struct_size = sizeof *s};
    return u->backend && core_modules_service_get(c->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR,
                                                  u->backend, s) == UCD_OK;
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
        command_fail(job->r, job->rc,
                     "users move: %s cannot write the home server back (for a directory, enable "
                     "write-back in its module section)",
                     job->provider);
    else
        command_fail(job->r, job->rc, "users move of %s in %s: %s", job->user_id, job->provider,
                     ucd_strerror(job->rc));
    core_reply_complete(job->r);
    users_job_free(job);
}

/* users move USER --to SERVER: rewrites the user's home server in the backend
 * it came from; the backend's next sync then (de)activates the user. */
int users_move(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    char *to = NULL, **args = NULL;
    GOptionEntry entries[] = {
        {"to", 0, 0, G_OPTION_ARG_STRING, &to, "the server the user moves to", "SERVER"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    int rc = UCD_OK;
    dir_user *u = NULL;
    ucd_service s;
    if (g_strv_length(args) != 2 || !to || !*to)
        rc = command_fail(r, UCD_E_INVALID, "usage: users move USER --to SERVER");
    else if (!(u = dir_user_get(c, args[1], NULL)))
        rc = command_fail(r, UCD_E_NOT_FOUND, "users move: no user '%s'", args[1]);
    else if (!user_backend(c, u, &s))
        rc = command_fail(r, UCD_E_UNAVAILABLE, "users move: backend %s of %s is not running",
                          or_empty(u->backend), u->id);
    else if (!((const ucd_users_v1 *)s.iface)->set_home_server)
        rc = command_fail(r, UCD_E_UNSUPPORTED, "users move: %s cannot change home servers",
                          u->backend);
    if (rc == UCD_OK) {
        users_job *job = g_new0(users_job, 1);
        job->user_id = g_strdup(u->id);
        job->server = g_strdup(to);
        job->provider = g_strdup(u->backend);
        job->users = s.iface;
        job->impl = s.impl;
        job->r = r;
        users_job_submit(c, job, move_work, move_done);
    }
    dir_user_free(u);
    g_free(to);
    g_strfreev(args);
    return rc;
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
        command_fail(job->r, job->rc,
                     "users set-numbers: %s does not write phone numbers back (for a directory, "
                     "enable write_back and write_back_phones in its module section)",
                     job->provider);
    else
        command_fail(job->r, job->rc, "users set-numbers of %s in %s: %s", job->user_id,
                     job->provider, ucd_strerror(job->rc));
    core_reply_complete(job->r);
    users_job_free(job);
}

/* users set-numbers USER [NUMBER...]: replaces the user's phone numbers in
 * the backend the user came from (none: clears them). */
int users_set_numbers(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
{
    if (argc < 2)
        return command_fail(r, UCD_E_INVALID, "usage: users set-numbers USER [NUMBER...]");
    dir_user *u = dir_user_get(c, argv[1], NULL);
    ucd_service s;
    int rc = UCD_OK;
    if (!u)
        return command_fail(r, UCD_E_NOT_FOUND, "users set-numbers: no user '%s'", argv[1]);
    if (!user_backend(c, u, &s)) {
        rc = command_fail(r, UCD_E_UNAVAILABLE, "users set-numbers: backend %s is not running",
                          or_empty(u->backend));
    } else {
        const ucd_users_v1 *users = s.iface;
        /* set_numbers exists since users 1.2: an older backend's table ends before it */
        if (users->struct_size < offsetof(ucd_users_v1, set_numbers) + sizeof users->set_numbers ||
            !users->set_numbers) {
            rc = command_fail(r, UCD_E_UNSUPPORTED,
                              "users set-numbers: %s cannot write phone numbers", u->backend);
        } else {
            users_job *job = g_new0(users_job, 1);
            job->user_id = g_strdup(u->id);
            job->numbers = g_strdupv((char **)(argv + 2));
            job->provider = g_strdup(u->backend);
            job->users = users;
            job->impl = s.impl;
            job->r = r;
            users_job_submit(c, job, numbers_work, numbers_done);
        }
    }
    dir_user_free(u);
    return rc;
}

/* ---- sync and its progress ------------------------------------------------------- */

/* The progress of one backend's sync. The backend's progress and done
 * callbacks hold a reference, so one arriving late (while the commands are
 * freed at shutdown) writes to this record, never to freed memory. */
typedef struct {
    char *provider;
    gboolean running;
    uint64_t done, total;
    int result;
    char *message;
} sync_state;

static sync_state *sync_state_ref(sync_state *st)
{
    return g_atomic_rc_box_acquire(st);
}

static void sync_state_clear(gpointer p)
{
    sync_state *st = p;
    g_free(st->provider);
    g_free(st->message);
}

void users_sync_state_unref(gpointer state)
{
    g_atomic_rc_box_release_full(state, sync_state_clear);
}

static void sync_progress(uint64_t done, uint64_t total, void *ud)
{
    sync_state *st = ud;
    st->done = done;
    st->total = total;
}

static void sync_done(int result, const char *message, void *ud)
{
    sync_state *st = ud;
    st->running = FALSE;
    st->result = result;
    g_free(st->message);
    st->message = g_strdup(message);
    if (result == UCD_OK)
        core_log("core", UCD_LOG_INFO, "model: users sync of %s finished%s%s", st->provider,
                 message ? ": " : "", or_empty(message));
    else
        core_log("core", UCD_LOG_WARNING, "model: users sync of %s failed: %s", st->provider,
                 message ? message : ucd_strerror(result));
    users_sync_state_unref(st);
}

typedef struct {
    core_model_commands *c;
    uint32_t flags;
    ucd_reply *r;
} sync_ctx;

static int sync_one(const ucd_service *s, void *ud)
{
    sync_ctx *sc = ud;
    const ucd_users_v1 *users = s->iface;
    int rc = UCD_E_UNSUPPORTED;
    if (users->sync) {
        sync_state *st = g_atomic_rc_box_new0(sync_state);
        st->provider = g_strdup(s->provider);
        st->running = TRUE;
        g_hash_table_replace(sc->c->syncs, st->provider, st);
        rc = users->sync(s->impl, sc->flags, sync_progress, sync_done, sync_state_ref(st));
        if (rc != UCD_OK) {
            /* done is only called for a sync that started */
            st->running = FALSE;
            st->result = rc;
            users_sync_state_unref(st);
        }
    }
    const char *row[] = {s->provider, rc == UCD_OK ? "started" : ucd_strerror(rc)};
    core_reply_row(sc->r, row);
    return 0;
}

int users_sync(core_model_commands *c, int argc, const char *const *argv, ucd_reply *r)
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
    if (!command_parse_options(argc, argv, entries, &args, r))
        return UCD_E_INVALID;
    g_strfreev(args);
    static const char *const cols[] = {"backend", "sync"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    uint32_t flags = full ? UCD_SYNC_FULL : 0;
    if (force)
        flags |= UCD_SYNC_FULL | UCD_SYNC_FORCE;
    sync_ctx sc = {c, flags, r};
    core_modules_service_foreach(c->mods, UCD_USERS_SERVICE, UCD_USERS_MAJOR, sync_one, &sc);
    return UCD_OK;
}

static gint by_provider(gconstpointer a, gconstpointer b)
{
    const sync_state *x = *(sync_state *const *)a, *y = *(sync_state *const *)b;
    return strcmp(x->provider, y->provider);
}

/* users sync-status: one row per backend that was asked to sync. */
int users_sync_status(core_model_commands *c, ucd_reply *r)
{
    static const char *const cols[] = {"backend", "state", "done", "total", "message"};
    core_reply_columns(r, G_N_ELEMENTS(cols), cols);
    GPtrArray *all = g_ptr_array_new(); /* GLib 2.74 has no values_as_ptr_array */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->syncs);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(all, v);
    g_ptr_array_sort(all, by_provider);
    for (guint i = 0; i < all->len; i++) {
        const sync_state *st = all->pdata[i];
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
