/*
 * users-file.c - the users-file plugin: users, groups and line assignments
 * from one XML file, service "users" major 1 (ucd/users.h).
 *
 * The file is read on the worker pool, first when the module starts (the
 * daemon is READY before: at 50,000 users the parse takes seconds, and the
 * core pulls the users when UCD_EVENT_USER_CHANGED/RESYNCED says they are
 * in), and again when it changes: an inotify
 * watch on the file's directory (editors replace files by renaming a new one
 * over them, which a watch on the file itself would not follow) arms a short
 * debounce timer, and the re-read runs on the worker pool. A file that does
 * not load is reported line by line and the previous users stay; a good one
 * replaces the set and UCD_EVENT_USER_CHANGED/RESYNCED tells the core to pull
 * again. import_users and set_home_server write the file atomically.
 *
 * `ucctl users-file export` (file-export.c) writes the core's whole directory
 * as such a document.
 *
 * Threads: foreach_*, sync, the watch and the export run on the main loop; import_users
 * and set_home_server are blocking calls the core makes from a worker. The
 * current set is swapped under `lock`; everything that reads or writes the
 * file holds `file_lock`, so an import never interleaves with a reload.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <ucd/ucd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "users-events.h"

#include "file-export.h"
#include "file-set.h"
#include "file-xml.h"
#include "pw-hash.h"

/* Editors write a file in several steps (truncate, write, close; or write a
 * temporary, rename, chmod); one reload after the burst is what we want. */
#define UF_DEBOUNCE_MS 200

typedef struct uf_state {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;
    char *path; /* absolute */
    char *dir;
    char *base;
    int watch_enabled;
    gint64 max_size;
    uf_reader *reader;

    GMutex lock; /* guards current and digest */
    uf_set *current;
    char *digest; /* SHA-256 of the bytes `current` was built from */

    GMutex file_lock; /* held by whatever reads or writes the file */

    /* main loop only */
    int inotify_fd;
    ucd_watch *watch;
    ucd_timer *debounce;
    gboolean reload_running;
    gboolean error_shown; /* set_error holds why the file does not load */
    gboolean reload_again;
    /* A sync asked for while a reload runs: it runs next, since that reload
     * may have read the file before the change the admin wants to see. */
    struct uf_reload_job *queued_sync;

    ucd_counter *users_gauge;
    ucd_counter *reloads;
    ucd_counter *rejected;

    file_export_command *export_command;
} uf_state;

/* One re-read on the worker pool, with what sync() asked to be told. */
typedef struct uf_reload_job {
    uf_state *state;
    GPtrArray *errors;
    gboolean ok;
    gboolean changed;
    ucd_sync_progress_cb progress;
    ucd_sync_done_cb done;
    void *done_data;
} uf_reload_job;

static const ucd_config_key uf_keys[] = {
    {"file", UCD_CONFIG_STRING, UCD_KEY_REQUIRED | UCD_KEY_FILE, NULL,
     "path of the users XML file (schema users.xsd, namespace urn:ucd:users:1)"},
    {"watch", UCD_CONFIG_BOOL, 0, "true", "reload the file when it changes"},
    {"max_size", UCD_CONFIG_INT, 0, "67108864", "largest file accepted, in bytes"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl uf_provides[] = {
    UCD_PROVIDE(UCD_USERS_SERVICE, UCD_USERS_MAJOR, UCD_USERS_MINOR, 0),
    {NULL},
};

/* The export command reads the whole directory (file-export.h); without it
 * the command answers that the core has no directory. */
static const ucd_service_decl uf_uses[] = {
    UCD_NEED(UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, 0),
    {NULL},
};

/* ---- the current set --------------------------------------------------------- */

static uf_set *uf_current(uf_state *state)
{
    g_mutex_lock(&state->lock);
    uf_set *set = state->current != NULL ? uf_set_ref(state->current) : NULL;
    g_mutex_unlock(&state->lock);
    return set;
}

static gboolean uf_digest_is_current(uf_state *state, const char *digest)
{
    g_mutex_lock(&state->lock);
    gboolean same = digest != NULL && state->digest != NULL && strcmp(digest, state->digest) == 0;
    g_mutex_unlock(&state->lock);
    return same;
}

static void uf_install(uf_state *state, uf_set *set, char *digest)
{
    g_mutex_lock(&state->lock);
    uf_set *old = state->current;
    state->current = set;
    g_free(state->digest);
    state->digest = digest;
    g_mutex_unlock(&state->lock);
    uf_set_unref(old);
    if (state->users_gauge != NULL)
        state->host->counter_set(state->users_gauge, (int64_t)uf_set_user_count(set));
}

/* Reads the file and installs its set when it loads and differs from the
 * current one. The caller holds file_lock. FALSE with `errors` filled when the
 * file does not load; the current set then stays. */
static gboolean uf_reload_held(uf_state *state, GPtrArray *errors, gboolean *changed)
{
    char *digest = NULL;
    *changed = FALSE;
    xmlDoc *doc = uf_reader_load(state->reader, state->path, state->max_size, errors, &digest);
    if (doc == NULL) {
        g_free(digest);
        return FALSE;
    }
    if (uf_digest_is_current(state, digest)) {
        xmlFreeDoc(doc);
        g_free(digest);
        return TRUE;
    }
    uf_set *set = uf_set_from_doc(doc, state->path, TRUE, errors);
    xmlFreeDoc(doc);
    if (set == NULL) {
        g_free(digest);
        return FALSE;
    }
    uf_install(state, set, digest);
    *changed = TRUE;
    return TRUE;
}

static void uf_log_rejected(uf_state *state, const char *path, GPtrArray *errors)
{
    uf_set *set = uf_current(state);
    size_t kept = set != NULL ? uf_set_user_count(set) : 0;
    uf_set_unref(set);
    for (guint i = 0; i < errors->len; i++)
        ucd_error(state->host, state->self, "%s", (const char *)g_ptr_array_index(errors, i));
    ucd_warning(state->host, state->self, "%s rejected; keeping the previous %zu users", path,
                kept);
    state->host->counter_add(state->rejected, 1);
}

/* Password hashes can be attacked offline by whoever reads them: a file
 * that holds them should be readable by ucd and its admins only. */
static void uf_warn_if_readable(uf_state *state, const uf_set *set)
{
    GStatBuf st;
    if (uf_set_password_count(set) == 0 || g_stat(state->path, &st) != 0 ||
        (st.st_mode & S_IROTH) == 0)
        return;
    ucd_warning(state->host, state->self,
                "%s holds %zu password hashes and every user of this machine may read it: "
                "chmod o-r %s",
                state->path, uf_set_password_count(set), state->path);
}

static void uf_log_loaded(uf_state *state)
{
    uf_set *set = uf_current(state);
    ucd_info(state->host, state->self, "loaded %zu users and %zu groups from %s",
             uf_set_user_count(set), uf_set_group_count(set), state->path);
    uf_warn_if_readable(state, set);
    uf_set_unref(set);
    state->host->counter_add(state->reloads, 1);
}

/* ---- reloading on the worker pool ------------------------------------------ */

static gboolean uf_request_reload(uf_state *state, uf_reload_job *job);

/* The document of a large file is many times the size of the set built from
 * it, and glibc keeps the freed heap of a thread's arena for reuse: at 50,000
 * users 200 MB of a 337 MB daemon. Give it back once a load is done. */
static void uf_release_freed_heap(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void uf_reload_work(void *data)
{
    uf_reload_job *job = data;
    g_mutex_lock(&job->state->file_lock);
    job->ok = uf_reload_held(job->state, job->errors, &job->changed);
    g_mutex_unlock(&job->state->file_lock);
    uf_release_freed_heap();
}

/* The first error, and how many more there are: the one-line form for sync's
 * done callback and import's message. */
static char *uf_summarize_errors(GPtrArray *errors)
{
    if (errors->len == 0)
        return g_strdup("failed");
    if (errors->len == 1)
        return g_strdup(g_ptr_array_index(errors, 0));
    return g_strdup_printf("%s (and %u more errors)", (const char *)g_ptr_array_index(errors, 0),
                           errors->len - 1);
}

static void uf_report_sync(uf_reload_job *job)
{
    uf_state *state = job->state;
    if (job->done == NULL)
        return;
    if (!job->ok) {
        char *summary = uf_summarize_errors(job->errors);
        job->done(UCD_E_INVALID, summary, job->done_data);
        g_free(summary);
        return;
    }
    uf_set *set = uf_current(state);
    size_t users = uf_set_user_count(set);
    char *message = g_strdup_printf("%s%zu users and %zu groups from %s",
                                    job->changed ? "" : "unchanged: ", users,
                                    uf_set_group_count(set), state->path);
    uf_set_unref(set);
    if (job->progress != NULL)
        job->progress(users, users, job->done_data);
    job->done(UCD_OK, message, job->done_data);
    g_free(message);
}

/* A file that does not load leaves the module running (with the previous
 * users, or none when the first load failed, since the start does not wait
 * for it): the reason goes to `ucctl modules` too, or nobody would see why
 * there are no users, until a load succeeds. Main loop only: the core reads
 * the error there. */
static void uf_show_load_result(uf_state *state, uf_reload_job *job)
{
    if (!job->ok) {
        uf_set *set = uf_current(state);
        size_t kept = set != NULL ? uf_set_user_count(set) : 0;
        uf_set_unref(set);
        char *summary = uf_summarize_errors(job->errors);
        state->host->set_error(state->self, "users file rejected, %zu users kept: %s", kept,
                               summary);
        g_free(summary);
        state->error_shown = TRUE;
    } else if (state->error_shown) {
        state->host->set_error(state->self, "%s", ""); /* the host has no way to clear it */
        state->error_shown = FALSE;
    }
}

static void uf_reload_done(void *data)
{
    uf_reload_job *job = data;
    uf_state *state = job->state;

    if (!job->ok)
        uf_log_rejected(state, state->path, job->errors);
    uf_show_load_result(state, job);
    if (job->changed) {
        uf_log_loaded(state);
        users_publish_resynced(state->host, state->self, state->module_id);
    }
    uf_report_sync(job);
    g_ptr_array_unref(job->errors);
    g_free(job);

    state->reload_running = FALSE;
    if (state->queued_sync != NULL) {
        /* The queued sync re-reads the file, which covers reload_again too. */
        uf_reload_job *next = state->queued_sync;
        ucd_sync_done_cb next_done = next->done;
        void *next_data = next->done_data;
        state->queued_sync = NULL;
        state->reload_again = FALSE;
        if (!uf_request_reload(state, next) && next_done != NULL)
            next_done(UCD_FAIL, "cannot schedule a re-read of the users file", next_data);
    } else if (state->reload_again) {
        state->reload_again = FALSE;
        uf_request_reload(state, NULL);
    }
}

static uf_reload_job *uf_job_new(uf_state *state)
{
    uf_reload_job *job = g_new0(uf_reload_job, 1);
    job->state = state;
    job->errors = g_ptr_array_new_with_free_func(g_free);
    return job;
}

/* Starts a re-read, or remembers to run one more when one is running (a
 * change seen during a reload may not be in what it read). `job` NULL: a
 * re-read nobody waits for. FALSE when it could not be scheduled (`job` is
 * then freed). */
static gboolean uf_request_reload(uf_state *state, uf_reload_job *job)
{
    if (state->reload_running) {
        state->reload_again = TRUE;
        g_assert(job == NULL);
        return TRUE;
    }
    if (job == NULL)
        job = uf_job_new(state);
    state->reload_running = TRUE;
    int result = state->host->work_submit(state->self, uf_reload_work, uf_reload_done, job);
    if (result != UCD_OK) {
        ucd_error(state->host, state->self, "cannot schedule a reload of %s: %s", state->path,
                  ucd_strerror(result));
        state->reload_running = FALSE;
        g_ptr_array_unref(job->errors);
        g_free(job);
        return FALSE;
    }
    return TRUE;
}

/* ---- watching the file ------------------------------------------------------- */

static void uf_on_debounce(void *data)
{
    uf_state *state = data;
    state->debounce = NULL; /* a one-shot timer is gone once it fired */
    uf_request_reload(state, NULL);
}

static void uf_arm_debounce(uf_state *state)
{
    if (state->debounce != NULL)
        state->host->timer_remove(state->self, state->debounce);
    state->debounce = state->host->timer_add(state->self, UF_DEBOUNCE_MS, 0, uf_on_debounce, state);
}

/* Which events concern us: anything naming our file, and an overflowed queue
 * (events were lost, so assume the file changed). */
static gboolean uf_event_matters(uf_state *state, const struct inotify_event *event)
{
    if (event->mask & IN_Q_OVERFLOW)
        return TRUE;
    if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        ucd_warning(state->host, state->self,
                    "directory %s was removed or moved: changes to %s are no longer seen",
                    state->dir, state->base);
        return FALSE;
    }
    return event->len > 0 && strcmp(event->name, state->base) == 0;
}

static void uf_on_inotify(int fd, uint32_t revents, void *data)
{
    uf_state *state = data;
    /* Aligned as inotify(7) asks for the buffer of read(). */
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    gboolean matters = FALSE;

    for (;;) {
        ssize_t got = read(fd, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        for (char *p = buffer; p < buffer + got;) {
            const struct inotify_event *event = (const struct inotify_event *)(void *)p;
            matters |= uf_event_matters(state, event);
            p += sizeof(struct inotify_event) + event->len;
        }
    }
    if (matters)
        uf_arm_debounce(state);
}

static int uf_watch_start(uf_state *state)
{
    state->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (state->inotify_fd < 0) {
        state->host->set_error(state->self, "inotify: %s", g_strerror(errno));
        return UCD_FAIL;
    }
    /* CLOSE_WRITE: written in place; MOVED_TO: replaced by rename; MOVED_FROM
     * and DELETE: gone (the reload then fails and says so). */
    uint32_t mask =
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
    if (inotify_add_watch(state->inotify_fd, state->dir, mask) < 0) {
        state->host->set_error(state->self, "cannot watch %s: %s", state->dir, g_strerror(errno));
        close(state->inotify_fd);
        state->inotify_fd = -1;
        return UCD_FAIL;
    }
    state->watch = state->host->watch_add(state->self, state->inotify_fd, UCD_WATCH_READ,
                                          uf_on_inotify, state);
    return UCD_OK;
}

static void uf_watch_stop(uf_state *state)
{
    if (state->debounce != NULL) {
        state->host->timer_remove(state->self, state->debounce);
        state->debounce = NULL;
    }
    if (state->watch != NULL) {
        state->host->watch_remove(state->self, state->watch);
        state->watch = NULL;
    }
    if (state->inotify_fd >= 0) {
        close(state->inotify_fd);
        state->inotify_fd = -1;
    }
}

/* ---- the users interface ----------------------------------------------------- */

static int uf_foreach_user(void *impl, ucd_user_cb cb, void *user_data)
{
    uf_set *set = uf_current(impl);
    if (set != NULL)
        uf_set_foreach_user(set, cb, user_data);
    uf_set_unref(set);
    return UCD_OK;
}

static int uf_foreach_group(void *impl, ucd_group_cb cb, void *user_data)
{
    uf_set *set = uf_current(impl);
    if (set != NULL)
        uf_set_foreach_group(set, cb, user_data);
    uf_set_unref(set);
    return UCD_OK;
}

static int uf_sync(void *impl, uint32_t flags, ucd_sync_progress_cb progress, ucd_sync_done_cb done,
                   void *user_data)
{
    uf_state *state = impl;
    if (state->queued_sync != NULL)
        return UCD_E_BUSY; /* one is already waiting: it will read the same file */
    uf_reload_job *job = uf_job_new(state);
    job->progress = progress;
    job->done = done;
    job->done_data = user_data;
    if (state->reload_running) {
        state->queued_sync = job;
        return UCD_OK;
    }
    return uf_request_reload(state, job) ? UCD_OK : UCD_FAIL;
}

/* Users with a <password> (a hash, checked at load) can log in; a user
 * without one, or disabled, cannot. Blocking (PBKDF2 on purpose), called
 * by the core from a worker; the set is referenced for the duration. */
static int uf_authenticate(void *impl, const char *login, const char *password)
{
    uf_state *state = impl;
    uf_set *set = uf_current(state);
    if (set == NULL)
        return UCD_E_UNAVAILABLE; /* the first load is not done yet */
    const char *hash = NULL;
    const ucd_user *user = uf_set_find_login(set, login, &hash);
    const char *reason = NULL;
    int result = UCD_E_DENIED;
    if (user == NULL || hash == NULL || !user->enabled) {
        /* As long as a wrong password takes (the result does not matter):
         * the time of the answer must not tell which logins exist. */
        const char *any = uf_set_any_password_hash(set);
        if (any != NULL)
            pw_hash_verify(any, password != NULL ? password : "", &reason);
        result = user == NULL ? UCD_E_NOT_FOUND : UCD_E_DENIED;
    } else {
        pw_hash_result match = pw_hash_verify(hash, password, &reason);
        if (match == PW_HASH_UNUSABLE)
            ucd_error(state->host, state->self, "password of login \"%s\": %s", user->login,
                      reason);
        result = match == PW_HASH_MATCH ? UCD_OK : UCD_E_DENIED;
    }
    uf_set_unref(set);
    return result;
}

/* Writes `doc` over the file, re-reads it and tells the core. The caller
 * holds file_lock. Any thread. */
static int uf_commit(uf_state *state, xmlDoc *doc, char **error)
{
    if (!uf_doc_save_atomic(doc, state->path, error))
        return UCD_FAIL;
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    gboolean changed = FALSE;
    gboolean ok = uf_reload_held(state, errors, &changed);
    if (!ok) {
        /* Validated before saving, so only a concurrent edit gets here. */
        *error = uf_summarize_errors(errors);
        uf_log_rejected(state, state->path, errors);
    } else if (changed) {
        uf_log_loaded(state);
        users_publish_resynced(state->host, state->self, state->module_id);
    }
    g_ptr_array_unref(errors);
    return ok ? UCD_OK : UCD_FAIL;
}

/* Loads this backend's own file for an edit; a file that is broken right now
 * must be fixed by hand first (an edit would otherwise build on it). */
static xmlDoc *uf_load_own(uf_state *state, GPtrArray *errors)
{
    xmlDoc *doc = uf_reader_load(state->reader, state->path, state->max_size, errors, NULL);
    if (doc == NULL)
        return NULL;
    uf_set *set = uf_set_from_doc(doc, state->path, TRUE, errors);
    if (set == NULL) {
        xmlFreeDoc(doc);
        return NULL;
    }
    uf_set_unref(set);
    return doc;
}

/* Validates an edited document as a whole: schema, then the cross checks. */
static gboolean uf_check_edited(uf_state *state, xmlDoc *doc, const char *label, GPtrArray *errors)
{
    if (!uf_reader_validate(state->reader, doc, label, errors))
        return FALSE;
    uf_set *set = uf_set_from_doc(doc, label, TRUE, errors);
    uf_set_unref(set);
    return set != NULL;
}

static int uf_set_home_server_locked(uf_state *state, const char *user_id, const char *server)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *error = NULL;
    int result = UCD_FAIL;
    xmlDoc *doc = uf_load_own(state, errors);
    if (doc == NULL) {
        uf_log_rejected(state, state->path, errors);
    } else if (!uf_doc_set_home_server(doc, user_id, server)) {
        result = UCD_E_NOT_FOUND;
    } else if (!uf_check_edited(state, doc, state->path, errors)) {
        for (guint i = 0; i < errors->len; i++)
            ucd_error(state->host, state->self, "home server of %s: %s", user_id,
                      (const char *)g_ptr_array_index(errors, i));
        result = UCD_E_INVALID;
    } else {
        result = uf_commit(state, doc, &error);
        if (result != UCD_OK)
            ucd_error(state->host, state->self, "home server of %s: %s", user_id, error);
        else
            ucd_notice(state->host, state->self, "user %s: home server %s", user_id,
                       server != NULL && *server != '\0' ? server : "(this server)");
    }
    xmlFreeDoc(doc);
    g_free(error);
    g_ptr_array_unref(errors);
    return result;
}

/* Rewrites the user's <homeServer> in the file (NULL or "": this server). */
static int uf_set_home_server(void *impl, const char *user_id, const char *server)
{
    uf_state *state = impl;
    if (user_id == NULL)
        return UCD_E_INVALID;
    g_mutex_lock(&state->file_lock);
    int result = uf_set_home_server_locked(state, user_id, server);
    g_mutex_unlock(&state->file_lock);
    uf_release_freed_heap();
    return result;
}

static void uf_message(char *message, size_t size, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void uf_message(char *message, size_t size, const char *fmt, ...)
{
    if (message == NULL || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(message, (gulong)size, fmt, ap);
    va_end(ap);
}

/* Reads and checks the document to import on its own: schema, and no id,
 * login or line twice (references may point at groups of our file). */
static xmlDoc *uf_load_import(uf_state *state, const char *path, GPtrArray *errors)
{
    xmlDoc *doc = uf_reader_load(state->reader, path, state->max_size, errors, NULL);
    if (doc == NULL)
        return NULL;
    uf_set *set = uf_set_from_doc(doc, path, FALSE, errors);
    if (set == NULL) {
        xmlFreeDoc(doc);
        return NULL;
    }
    uf_set_unref(set);
    return doc;
}

static int uf_import_locked(uf_state *state, const char *path, char *message, size_t size)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    xmlDoc *incoming = uf_load_import(state, path, errors);
    xmlDoc *target = incoming != NULL ? uf_load_own(state, errors) : NULL;
    char *merged_label = g_strdup_printf("%s merged into %s", path, state->path);
    uf_merge_counts counts = {0};
    char *error = NULL;
    int result = UCD_E_INVALID;

    if (target != NULL) {
        uf_doc_merge(target, incoming, &counts);
        if (uf_check_edited(state, target, merged_label, errors))
            result = uf_commit(state, target, &error);
    }
    if (result == UCD_OK) {
        uf_message(message, size,
                   "users: %u added, %u updated; groups: %u added, %u updated (from %s into %s)",
                   counts.users_added, counts.users_updated, counts.groups_added,
                   counts.groups_updated, path, state->path);
        ucd_notice(state->host, state->self, "import %s: %s", path, message);
    } else {
        char *summary = error != NULL ? g_strdup(error) : uf_summarize_errors(errors);
        uf_message(message, size, "import refused, %s unchanged: %s", state->path, summary);
        for (guint i = 0; i < errors->len; i++)
            ucd_error(state->host, state->self, "import: %s",
                      (const char *)g_ptr_array_index(errors, i));
        g_free(summary);
    }
    xmlFreeDoc(incoming);
    xmlFreeDoc(target);
    g_free(merged_label);
    g_free(error);
    g_ptr_array_unref(errors);
    return result;
}

static int uf_import_users(void *impl, const char *path, char *message, size_t size)
{
    uf_state *state = impl;
    if (path == NULL) {
        uf_message(message, size, "no file to import");
        return UCD_E_INVALID;
    }
    g_mutex_lock(&state->file_lock);
    int result = uf_import_locked(state, path, message, size);
    g_mutex_unlock(&state->file_lock);
    uf_release_freed_heap();
    return result;
}

static const ucd_users_v1 uf_iface = {
    .struct_size = sizeof(ucd_users_v1),
    .foreach_user = uf_foreach_user,
    .foreach_group = uf_foreach_group,
    .sync = uf_sync,
    .authenticate = uf_authenticate,
    .set_home_server = uf_set_home_server,
    .import_users = uf_import_users,
};

/* ---- life cycle ----------------------------------------------------------------- */

static void uf_state_free(uf_state *state)
{
    uf_set_unref(state->current);
    g_free(state->digest);
    uf_reader_free(state->reader);
    file_export_command_free(state->export_command);
    g_mutex_clear(&state->lock);
    g_mutex_clear(&state->file_lock);
    g_free(state->path);
    g_free(state->dir);
    g_free(state->base);
    g_free(state);
}

static int uf_read_config(uf_state *state)
{
    const ucd_host *host = state->host;
    const char *file = NULL;

    if (host->config_string(state->self, "file", &file) != UCD_OK || file == NULL || *file == '\0')
        return host->config_error(state->self, "file", "must name the users XML file");
    if (host->config_bool(state->self, "watch", &state->watch_enabled) != UCD_OK)
        return host->config_error(state->self, "watch", "cannot be read");
    if (host->config_int(state->self, "max_size", &state->max_size) != UCD_OK)
        return host->config_error(state->self, "max_size", "cannot be read");
    /* libxml2 takes the length of a memory buffer as an int. */
    if (state->max_size < 1 || state->max_size > INT_MAX)
        return host->config_error(state->self, "max_size", "must be between 1 and %d bytes",
                                  INT_MAX);
    /* Absolute now, so a later change of directory cannot move the file. */
    state->path = g_canonicalize_filename(file, NULL);
    state->dir = g_path_get_dirname(state->path);
    state->base = g_path_get_basename(state->path);
    return UCD_OK;
}

/* What init can tell without parsing: the file is there, a regular file we
 * may read, within max_size. The core checks the same for UCD_KEY_FILE at
 * check-config, start and reload; this catches it under a core that predates
 * the flag. Parsing is left to the first load on the worker pool. */
static int uf_check_file(uf_state *state)
{
    const ucd_host *host = state->host;
    GStatBuf st;
    if (g_stat(state->path, &st) != 0)
        return host->config_error(state->self, "file", "%s: cannot open: %s", state->path,
                                  g_strerror(errno));
    if (!S_ISREG(st.st_mode))
        return host->config_error(state->self, "file", "%s: not a regular file", state->path);
    if (g_access(state->path, R_OK) != 0)
        return host->config_error(state->self, "file", "%s: cannot open: %s", state->path,
                                  g_strerror(errno));
    if (st.st_size > state->max_size)
        return host->config_error(state->self, "max_size",
                                  "%s is %lld bytes, more than max_size (%" G_GINT64_FORMAT ")",
                                  state->path, (long long)st.st_size, state->max_size);
    return UCD_OK;
}

static void uf_make_counters(uf_state *state)
{
    const ucd_host *host = state->host;
    state->users_gauge =
        host->counter_new(state->self, "users", UCD_COUNTER_GAUGE, "users in the current set");
    state->reloads = host->counter_new(state->self, "loads", UCD_COUNTER_MONOTONIC,
                                       "times a changed file was loaded");
    state->rejected = host->counter_new(state->self, "rejected_loads", UCD_COUNTER_MONOTONIC,
                                        "times a file was rejected and the previous users kept");
}

static int uf_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    uf_state *state = g_new0(uf_state, 1);
    state->self = self;
    state->host = host;
    state->module_id = host->module_id(self);
    state->inotify_fd = -1;
    g_mutex_init(&state->lock);
    g_mutex_init(&state->file_lock);

    int result = uf_read_config(state);
    if (result == UCD_OK)
        result = uf_check_file(state);
    if (result == UCD_OK) {
        char *error = NULL;
        state->reader = uf_reader_new(&error);
        if (state->reader == NULL) {
            host->set_error(self, "%s", error);
            result = UCD_FAIL;
        }
        g_free(error);
    }
    if (result == UCD_OK) {
        uf_make_counters(state);
        result = host->service_register(self, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &uf_iface, state);
        if (result != UCD_OK)
            host->set_error(self, "cannot register the users service: %s", ucd_strerror(result));
    }
    if (result == UCD_OK)
        state->export_command = file_export_command_new(self, host, &result);
    if (result != UCD_OK) {
        uf_state_free(state);
        return result == UCD_DECLINE ? UCD_DECLINE : UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

/* The first load runs on the worker pool like every reload: the start does
 * not wait for it. Until it is done the backend has no users; a file that
 * does not load is reported line by line and counted in rejected_loads, and
 * the next change of the file is read again. */
static int uf_start(void *data)
{
    uf_state *state = data;
    if (state->watch_enabled && uf_watch_start(state) != UCD_OK)
        return UCD_FAIL;
    if (!uf_request_reload(state, NULL)) {
        state->host->set_error(state->self, "cannot schedule the first load of %s", state->path);
        uf_watch_stop(state);
        return UCD_FAIL;
    }
    return UCD_OK;
}

static void uf_stop(void *data)
{
    uf_state *state = data;
    uf_watch_stop(state);
    if (state->queued_sync != NULL) {
        uf_reload_job *job = state->queued_sync;
        state->queued_sync = NULL;
        if (job->done != NULL)
            job->done(UCD_E_UNAVAILABLE, "users-file is stopping", job->done_data);
        g_ptr_array_unref(job->errors);
        g_free(job);
    }
}

static void uf_fini(void *data)
{
    uf_state_free(data);
}

UCD_PLUGIN_DEFINE(.name = "users-file", .version = "1.0.0", .license = "MIT",
                  .description = "users, groups and line assignments from an XML file",
                  .provides = uf_provides, .uses = uf_uses, .config_keys = uf_keys, .init = uf_init,
                  .start = uf_start, .stop = uf_stop, .fini = uf_fini);
