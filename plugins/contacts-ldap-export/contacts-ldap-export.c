/*
 * contacts-ldap-export.c - the contacts-ldap-export plugin: keeps a
 * subtree of a real LDAP server (OpenLDAP, the admin's) in step with
 * contacts-store, so IP phones and mail clients that look numbers up over
 * LDAP find ucd's contacts with the server's own matching rules.
 *
 * Every `sync_every` a work item reads the store's generations from its
 * file (store-snapshot.h); when one moved since the last sync that left
 * nothing to do (or `resync_every` has passed, or an admin asked with
 * `ucctl directory-export sync`), it reads the contacts, builds the wanted
 * entries (export-entry.h) and compares them with the server's
 * (ldap-sync.h). Syncs run on one work queue: never two at once, never on
 * the main loop. A sync that fails or is refused anything is not counted
 * as done, so the next round compares again and finishes the job.
 */
#include <string.h>

#include <glib.h>
#include <ucd/contacts.h>
#include <ucd/numbers.h>
#include <ucd/ucd.h>

#include "export-entry.h"
#include "ldap-client.h"
#include "ldap-sync.h"
#include "store-snapshot.h"

typedef struct exporter {
    ucd_plugin *self;
    const ucd_host *host;
    ul_server_config server;
    char *base;
    char *store_path;
    char **sources; /* NULL: every source */
    int64_t sync_every_ms, resync_every_ms;
    export_numbers numbers;
    ucd_work_queue *queue;
    ucd_timer *timer;
    gint stopping;
    gboolean round_queued; /* a timer's sync is queued or running */
    ucd_counter *failed_counter, *entries_gauge;
    char *command; /* directory-export, or directory-export-INSTANCE */

    /* Work items only (one queue: one at a time). */
    char *converged;         /* the store's generations when a sync last left nothing to do */
    gint64 converged_at;     /* monotonic us */
    char *last_logged_error; /* to log a lasting failure once, not every round */

    /* Main loop only: what `directory-export status` shows. */
    gboolean syncing;
    gint64 syncing_since; /* unix s */
    guint64 syncs, syncs_failed;
    gint64 last_at, last_ok_at; /* unix s; 0: never */
    char *last_result;
    char *generations;
    gint64 entries; /* -1: unknown */
} exporter;

typedef struct sync_job {
    exporter *ex;
    gboolean forced;
    ucd_reply *reply;
    gboolean compared;    /* FALSE: nothing moved, nothing done */
    gboolean empty_store; /* the store holds no copy of an exported source */
    gboolean ok;
    char *error;
    char *generations;
    guint64 duplicates;
    ldap_sync_stats stats;
    double seconds;
} sync_job;

static const ucd_config_key export_keys[] = {
    {"uris", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL,
     "LDAP servers, tried in order: ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldapi://"},
    {"starttls", UCD_CONFIG_BOOL, 0, "false", "StartTLS on ldap:// URIs (required when true)"},
    {"tls_verify", UCD_CONFIG_BOOL, 0, "true",
     "verify the server certificate and host name; false is for tests only"},
    {"ca_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM file of the CA(s) that sign the server certificate"},
    {"ca_dir", UCD_CONFIG_STRING, 0, NULL, "directory of hashed CA certificates"},
    {"bind_dn", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "the DN the exporter binds as; it needs write access below base"},
    {"bind_password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "its password"},
    {"password_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "a file holding the password (its first line), instead of bind_password"},
    {"timeout", UCD_CONFIG_DURATION, 0, "30s", "network and operation timeout"},
    {"page_size", UCD_CONFIG_INT, 0, "500", "entries per page when reading base (RFC 2696)"},
    {"base", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "the exporter's subtree (it must exist): ou=contacts,dc=example,dc=com"},
    {"store", UCD_CONFIG_STRING, 0, NULL,
     "contacts-store's database; unset: STATE_DIR/contacts-store/contacts.sqlite"},
    {"sources", UCD_CONFIG_LIST, 0, NULL, "the store's sources to export; unset: all"},
    {"sync_every", UCD_CONFIG_DURATION, 0, "1m",
     "how often the store's generations are checked (a sync follows a change)"},
    {"resync_every", UCD_CONFIG_DURATION, 0, "1h",
     "a full comparison even when the store did not change (repairs edits by hand); 0s: never"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl export_uses[] = {
    UCD_NEED(UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, 0),
    {NULL, 0, 0, 0, 0},
};

/* ---- one sync (work item) -------------------------------------------------------- */

typedef struct build_run {
    sync_job *job;
    GHashTable *wanted;
} build_run;

static gboolean build_entry(const snapshot_contact *contact, void *data)
{
    build_run *run = data;
    if (g_atomic_int_get(&run->job->ex->stopping))
        return FALSE;
    export_entry *entry = export_entry_new(contact, &run->job->ex->numbers);
    if (g_hash_table_contains(run->wanted, entry->uid)) {
        run->job->duplicates++; /* one source id twice in a source: the first wins */
        export_entry_free(entry);
    } else {
        g_hash_table_insert(run->wanted, (gpointer)entry->uid, entry);
    }
    return TRUE;
}

/* The store's contacts as entries; NULL with job->error set. */
static GHashTable *read_wanted(sync_job *job, store_snapshot *snap)
{
    exporter *ex = job->ex;
    build_run run = {job, g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                (GDestroyNotify)export_entry_free)};
    if (!store_snapshot_foreach(snap, (const char *const *)ex->sources, build_entry, &run,
                                &job->error)) {
        if (job->error == NULL)
            job->error = g_strdup("stopped");
        g_hash_table_unref(run.wanted);
        return NULL;
    }
    return run.wanted;
}

static void sync_work(void *data)
{
    sync_job *job = data;
    exporter *ex = job->ex;
    gint64 t0 = g_get_monotonic_time();
    store_snapshot *snap = store_snapshot_open(ex->store_path, NULL, &job->error);
    if (snap == NULL)
        return;
    job->generations =
        store_snapshot_fingerprint(snap, (const char *const *)ex->sources, &job->error);
    if (job->generations == NULL) {
        store_snapshot_close(snap);
        return;
    }
    if (job->generations[0] == '\0') {
        /* A store without any copy (its file new or just recreated) would
         * empty the subtree until the first replication: leave it. */
        store_snapshot_close(snap);
        job->ok = TRUE;
        job->empty_store = TRUE;
        return;
    }
    gboolean stale = ex->resync_every_ms > 0 &&
                     t0 - ex->converged_at >= ex->resync_every_ms * G_TIME_SPAN_MILLISECOND;
    if (!job->forced && !stale && g_strcmp0(ex->converged, job->generations) == 0) {
        store_snapshot_close(snap);
        job->ok = TRUE;
        return;
    }
    job->compared = TRUE;
    GHashTable *wanted = read_wanted(job, snap);
    store_snapshot_close(snap); /* the store's WAL may move on while LDAP works */
    if (wanted == NULL)
        return;
    LDAP *ld = ul_ldap_connect(&ex->server, &job->error, NULL, NULL);
    if (ld != NULL) {
        job->ok = ldap_sync_run(ld, &ex->server, ex->base, wanted, &ex->stopping, &job->stats,
                                &job->error);
        ul_ldap_close(ld);
    }
    g_hash_table_unref(wanted);
    g_free(ex->converged);
    ex->converged = NULL;
    if (job->ok && job->stats.failed == 0) {
        ex->converged = g_strdup(job->generations);
        ex->converged_at = g_get_monotonic_time();
    }
    job->seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
}

/* ---- results (main loop) ---------------------------------------------------------- */

static char *job_summary(const sync_job *job)
{
    const ldap_sync_stats *s = &job->stats;
    GString *out = g_string_new(NULL);
    if (!job->ok)
        g_string_append_printf(out, "failed: %s", job->error != NULL ? job->error : "unknown");
    else if (job->empty_store)
        g_string_append(out, "waiting: the store holds no copy of an exported source yet");
    else if (!job->compared)
        g_string_append(out, "ok: the store did not change");
    else
        g_string_append_printf(out,
                               "ok: %" G_GUINT64_FORMAT " added, %" G_GUINT64_FORMAT
                               " modified, %" G_GUINT64_FORMAT " deleted, %" G_GUINT64_FORMAT
                               " unchanged in %.1f s",
                               s->added, s->modified, s->deleted, s->unchanged, job->seconds);
    if (job->ok && s->failed > 0)
        g_string_append_printf(out, "; %" G_GUINT64_FORMAT " refused, the first: %s", s->failed,
                               s->first_failure);
    if (job->duplicates > 0)
        g_string_append_printf(out, "; %" G_GUINT64_FORMAT " contacts with a source id seen before",
                               job->duplicates);
    return g_string_free(out, FALSE);
}

static char *format_time(gint64 unix_s)
{
    if (unix_s == 0)
        return g_strdup("never");
    GDateTime *t = g_date_time_new_from_unix_local(unix_s);
    char *text = g_date_time_format(t, "%Y-%m-%d %H:%M:%S");
    g_date_time_unref(t);
    return text;
}

static void field_u64(const ucd_host *host, ucd_reply *reply, const char *name, guint64 value)
{
    char text[24];
    g_snprintf(text, sizeof text, "%" G_GUINT64_FORMAT, value);
    host->reply_field(reply, name, text);
}

static void reply_job(exporter *ex, ucd_reply *reply, const sync_job *job, const char *summary)
{
    const ucd_host *host = ex->host;
    host->reply_field(reply, "result", summary);
    host->reply_field(reply, "store", job->generations != NULL ? job->generations : "");
    field_u64(host, reply, "wanted", job->stats.wanted);
    field_u64(host, reply, "added", job->stats.added);
    field_u64(host, reply, "modified", job->stats.modified);
    field_u64(host, reply, "deleted", job->stats.deleted);
    field_u64(host, reply, "unchanged", job->stats.unchanged);
    field_u64(host, reply, "refused", job->stats.failed);
    char seconds[32];
    g_snprintf(seconds, sizeof seconds, "%.3f", job->seconds);
    host->reply_field(reply, "seconds", seconds);
}

static void log_job(exporter *ex, const sync_job *job, const char *summary)
{
    const ucd_host *host = ex->host;
    if (!job->ok) {
        /* a server that stays down: once, not every round */
        if (g_strcmp0(ex->last_logged_error, job->error) != 0)
            ucd_warning(host, ex->self, "export to %s %s; retried every %" G_GINT64_FORMAT " s",
                        ex->base, summary, ex->sync_every_ms / 1000);
        g_free(ex->last_logged_error);
        ex->last_logged_error = g_strdup(job->error);
        return;
    }
    if (ex->last_logged_error != NULL)
        ucd_notice(host, ex->self, "export to %s works again", ex->base);
    g_clear_pointer(&ex->last_logged_error, g_free);
    if (!job->compared)
        return;
    const ldap_sync_stats *s = &job->stats;
    int level = s->failed > 0                             ? UCD_LOG_WARNING
                : s->added + s->modified + s->deleted > 0 ? UCD_LOG_NOTICE
                                                          : UCD_LOG_INFO;
    host->log(ex->self, level, "export to %s (store %s): %s", ex->base, job->generations, summary);
}

static void sync_done(void *data)
{
    sync_job *job = data;
    exporter *ex = job->ex;
    char *summary = job_summary(job);
    log_job(ex, job, summary);
    ex->syncing = FALSE;
    if (!job->forced)
        ex->round_queued = FALSE;
    ex->syncs++;
    ex->last_at = g_get_real_time() / G_USEC_PER_SEC;
    if (job->ok) {
        ex->last_ok_at = ex->last_at;
        if (job->compared) {
            ex->entries = (gint64)(job->stats.unchanged + job->stats.modified + job->stats.added);
            ex->host->counter_set(ex->entries_gauge, ex->entries);
        }
    } else {
        ex->syncs_failed++;
        ex->host->counter_add(ex->failed_counter, 1);
    }
    if (job->compared || job->empty_store || !job->ok) {
        g_free(ex->last_result);
        ex->last_result = g_strdup(summary);
    }
    if (job->generations != NULL) {
        g_free(ex->generations);
        ex->generations = g_strdup(job->generations);
    }
    if (job->reply != NULL) {
        reply_job(ex, job->reply, job, summary);
        ex->host->reply_complete(job->reply);
    }
    g_free(summary);
    g_free(job->error);
    g_free(job->generations);
    ldap_sync_stats_clear(&job->stats);
    g_free(job);
}

/* The work item runs; its start is noted on the main loop by the caller. */
static int queue_sync(exporter *ex, gboolean forced, ucd_reply *reply)
{
    sync_job *job = g_new0(sync_job, 1);
    job->ex = ex;
    job->forced = forced;
    job->reply = reply;
    int rc = ex->host->work_queue_submit(ex->queue, sync_work, sync_done, job);
    if (rc != UCD_OK) {
        g_free(job);
        return rc;
    }
    if (!ex->syncing) {
        ex->syncing = TRUE;
        ex->syncing_since = g_get_real_time() / G_USEC_PER_SEC;
    }
    return UCD_OK;
}

static void on_timer(void *data)
{
    exporter *ex = data;
    if (ex->round_queued || g_atomic_int_get(&ex->stopping))
        return;
    if (queue_sync(ex, FALSE, NULL) == UCD_OK)
        ex->round_queued = TRUE;
}

/* ---- ucctl directory-export ------------------------------------------------------- */

static void reply_status(exporter *ex, ucd_reply *reply)
{
    const ucd_host *host = ex->host;
    char *uris = g_strjoinv(" ", ex->server.uris);
    char *sources = ex->sources != NULL ? g_strjoinv(", ", ex->sources) : g_strdup("all");
    char *since = format_time(ex->syncing_since);
    char *state = ex->syncing ? g_strdup_printf("syncing since %s", since) : g_strdup("idle");
    char *last = format_time(ex->last_at), *last_ok = format_time(ex->last_ok_at);
    char *entries = ex->entries < 0 ? g_strdup("unknown (no sync yet)")
                                    : g_strdup_printf("%" G_GINT64_FORMAT, ex->entries);
    host->reply_field(reply, "ldap", uris);
    host->reply_field(reply, "base", ex->base);
    host->reply_field(reply, "store", ex->store_path);
    host->reply_field(reply, "sources", sources);
    host->reply_field(reply, "state", state);
    host->reply_field(reply, "entries", entries);
    host->reply_field(reply, "store_generations", ex->generations ? ex->generations : "unknown");
    host->reply_field(reply, "last_sync", last);
    host->reply_field(reply, "last_result", ex->last_result ? ex->last_result : "none yet");
    host->reply_field(reply, "last_success", last_ok);
    field_u64(host, reply, "syncs", ex->syncs);
    field_u64(host, reply, "failed_syncs", ex->syncs_failed);
    g_free(uris);
    g_free(sources);
    g_free(since);
    g_free(state);
    g_free(last);
    g_free(last_ok);
    g_free(entries);
}

static int export_command(int argc, const char *const *argv, ucd_reply *reply, void *data)
{
    exporter *ex = data;
    const ucd_host *host = ex->host;
    const char *what = argc > 1 ? argv[1] : "status";
    if (argc <= 2 && strcmp(what, "status") == 0) {
        reply_status(ex, reply);
        return UCD_OK;
    }
    if (argc == 2 && strcmp(what, "sync") == 0) {
        host->reply_defer(reply);
        int rc = queue_sync(ex, TRUE, reply);
        if (rc != UCD_OK) {
            host->reply_error(reply, "cannot queue a sync: %s", ucd_strerror(rc));
            host->reply_complete(reply);
        }
        return UCD_OK;
    }
    host->reply_error(reply, "usage: %s [status|sync]", ex->command);
    return UCD_E_INVALID;
}

/* ---- configuration ---------------------------------------------------------------- */

static char *config_text(exporter *ex, const char *key)
{
    const char *value = NULL;
    if (ex->host->config_string(ex->self, key, &value) != UCD_OK || value == NULL || *value == '\0')
        return NULL;
    return g_strdup(value);
}

static char **config_strv(exporter *ex, const char *key)
{
    const char *const *items = NULL;
    if (ex->host->config_list(ex->self, key, &items, NULL) != UCD_OK || items == NULL ||
        items[0] == NULL)
        return NULL;
    return g_strdupv((char **)items);
}

static int read_password(exporter *ex)
{
    const ucd_host *host = ex->host;
    char *path = config_text(ex, "password_file");
    ex->server.bind_password = config_text(ex, "bind_password");
    if (path == NULL) {
        if (ex->server.bind_password == NULL)
            return host->config_error(ex->self, "bind_password",
                                      "set bind_password or password_file: the exporter writes");
        return UCD_OK;
    }
    int result = UCD_OK;
    char *contents = NULL;
    GError *error = NULL;
    if (ex->server.bind_password != NULL) {
        result = host->config_error(ex->self, "password_file",
                                    "set bind_password or password_file, not both");
    } else if (!g_file_get_contents(path, &contents, NULL, &error)) {
        result = host->config_error(ex->self, "password_file", "%s", error->message);
        g_error_free(error);
    } else {
        contents[strcspn(contents, "\r\n")] = '\0';
        ex->server.bind_password = g_strdup(contents);
        memset(contents, 0, strlen(contents));
    }
    g_free(contents);
    g_free(path);
    return result;
}

static int read_server(exporter *ex)
{
    const ucd_host *host = ex->host;
    ex->server.uris = config_strv(ex, "uris");
    if (ex->server.uris == NULL)
        return host->config_error(ex->self, "uris", "must name at least one LDAP server");
    for (char **uri = ex->server.uris; *uri != NULL; uri++)
        if (!ldap_is_ldap_url(*uri))
            return host->config_error(ex->self, "uris", "\"%s\" is not an LDAP URI", *uri);
    int starttls = 0, verify = 1;
    host->config_bool(ex->self, "starttls", &starttls);
    host->config_bool(ex->self, "tls_verify", &verify);
    ex->server.starttls = starttls != 0;
    ex->server.tls_verify = verify != 0;
    ex->server.ca_file = config_text(ex, "ca_file");
    ex->server.ca_dir = config_text(ex, "ca_dir");
    if (!ex->server.tls_verify)
        ucd_warning(host, ex->self,
                    "tls_verify = false: the server's certificate is NOT checked; anyone on "
                    "the path can read the password. For tests only.");
    ex->server.bind_dn = config_text(ex, "bind_dn");
    int64_t timeout_ms = 0, page = 0;
    host->config_int(ex->self, "timeout", &timeout_ms);
    host->config_int(ex->self, "page_size", &page);
    if (timeout_ms < 1000)
        return host->config_error(ex->self, "timeout", "must be at least 1s");
    if (page < 1 || page > 100000)
        return host->config_error(ex->self, "page_size", "must be between 1 and 100000");
    ex->server.timeout_s = (int)MIN(timeout_ms / 1000, 3600);
    ex->server.page_size = (int)page;
    return read_password(ex);
}

static int read_export(exporter *ex)
{
    const ucd_host *host = ex->host;
    ex->base = config_text(ex, "base");
    LDAPDN parsed = NULL;
    if (ex->base == NULL || ldap_str2dn(ex->base, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        return host->config_error(ex->self, "base", "\"%s\" is not a DN", ex->base ? ex->base : "");
    ldap_dnfree(parsed);
    ex->store_path = config_text(ex, "store");
    if (ex->store_path == NULL) {
        char *state_root = g_path_get_dirname(host->state_dir(ex->self));
        ex->store_path = g_build_filename(state_root, "contacts-store", "contacts.sqlite", NULL);
        g_free(state_root);
    }
    ex->sources = config_strv(ex, "sources");
    host->config_int(ex->self, "sync_every", &ex->sync_every_ms);
    host->config_int(ex->self, "resync_every", &ex->resync_every_ms);
    if (ex->sync_every_ms < 1000)
        return host->config_error(ex->self, "sync_every", "must be at least 1s");
    if (ex->resync_every_ms < 0)
        return host->config_error(ex->self, "resync_every", "must not be negative");
    return UCD_OK;
}

/* ---- life cycle ------------------------------------------------------------------- */

static void exporter_free(exporter *ex)
{
    g_strfreev(ex->server.uris);
    g_free(ex->server.ca_file);
    g_free(ex->server.ca_dir);
    g_free(ex->server.bind_dn);
    if (ex->server.bind_password != NULL)
        memset(ex->server.bind_password, 0, strlen(ex->server.bind_password));
    g_free(ex->server.bind_password);
    g_free(ex->base);
    g_free(ex->store_path);
    g_strfreev(ex->sources);
    g_free(ex->converged);
    g_free(ex->last_logged_error);
    g_free(ex->last_result);
    g_free(ex->generations);
    g_free(ex->command);
    g_free(ex);
}

static int export_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    if (!UCD_HOST_HAS(host, work_queue_free)) {
        host->set_error(self, "needs a core with work queues (host 1.4)");
        return UCD_FAIL;
    }
    exporter *ex = g_new0(exporter, 1);
    ex->self = self;
    ex->host = host;
    ex->entries = -1;
    int result = read_server(ex);
    if (result == UCD_OK)
        result = read_export(ex);
    ucd_service numbers = {.struct_size = sizeof numbers};
    if (result == UCD_OK &&
        host->service_get(self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &numbers) == UCD_OK)
        ex->numbers = (export_numbers){numbers.iface, numbers.impl, host->module_id(self)};
    /* one command per instance: two exports (two servers) may run */
    const char *instance = host->instance(self);
    ex->command = instance != NULL ? g_strdup_printf("directory-export-%s", instance)
                                   : g_strdup("directory-export");
    if (result == UCD_OK &&
        host->command_register(self, ex->command, "[status|sync]",
                               "the contact directory's export to LDAP: status, or sync now",
                               export_command, ex) != UCD_OK) {
        host->set_error(self, "the command %s is taken", ex->command);
        result = UCD_FAIL;
    }
    if (result != UCD_OK) {
        exporter_free(ex);
        return UCD_FAIL;
    }
    ex->failed_counter = host->counter_new(self, "syncs_failed", UCD_COUNTER_MONOTONIC,
                                           "syncs that failed (the next round retries)");
    ex->entries_gauge =
        host->counter_new(self, "entries", UCD_COUNTER_GAUGE, "entries below base after a sync");
    *state_out = ex;
    return UCD_OK;
}

static int export_start(void *state)
{
    exporter *ex = state;
    const ucd_host *host = ex->host;
    g_atomic_int_set(&ex->stopping, 0);
    ex->queue = host->work_queue_new(ex->self, "ldap-export");
    ex->timer =
        host->timer_add(ex->self, (uint64_t)ex->sync_every_ms, UCD_TIMER_REPEAT, on_timer, ex);
    if (ex->queue == NULL || ex->timer == NULL) {
        host->set_error(ex->self, "cannot create the sync's queue or timer");
        return UCD_FAIL;
    }
    on_timer(ex); /* the first round now */
    return UCD_OK;
}

static void export_stop(void *state)
{
    exporter *ex = state;
    g_atomic_int_set(&ex->stopping, 1);
    if (ex->timer != NULL)
        ex->host->timer_remove(ex->self, ex->timer);
    ex->timer = NULL;
    if (ex->queue != NULL)
        ex->host->work_queue_free(ex->self, ex->queue);
    ex->queue = NULL;
}

static void export_fini(void *state)
{
    exporter_free(state);
}

UCD_PLUGIN_DEFINE(.name = "contacts-ldap-export", .version = "1.0.0", .license = "MIT",
                  .description = "keeps an LDAP subtree in step with the contact store, for "
                                 "phones that look numbers up over LDAP",
                  .uses = export_uses, .config_keys = export_keys, .init = export_init,
                  .start = export_start, .stop = export_stop, .fini = export_fini);
