/*
 * users-ldap.c - the users-ldap plugin: users and groups from Active
 * Directory or any LDAP server, service "users" major 1 (ucd/users.h).
 *
 * A sync runs on the worker pool: connect (fail-over over `uris`, TLS
 * verified unless configured otherwise), bind as the service account, read
 * users page by page (RFC 2696, so a server's 1,000-entry cap never
 * truncates), then groups (all of them, or those changed since the last
 * sync); nested groups are resolved in memory, once per group (ldap-graph.h).
 * The result is judged on the main loop: a sync that failed, or a full sync
 * that returned far fewer users than the last good set, is NOT applied; the
 * users stay, a warning is logged and a counter grows. A good set replaces the
 * current one, is cached in the state directory (so the next start has its
 * users even when the directory is down) and UCD_EVENT_USER_CHANGED/RESYNCED
 * tells the core to pull again.
 *
 * Threads: sync scheduling, timers and the judging run on the main loop;
 * the LDAP I/O of a sync on a worker; authenticate and set_home_server are
 * blocking calls the core makes from a worker. The current set is swapped
 * under `lock`. Passwords (the service account's and users') are never
 * logged, copied into messages or kept.
 */
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

#include "users-events.h"

#include "ldap-cache.h"
#include "ldap-client.h"
#include "ldap-set.h"

/* How many left-out values of one sync are logged one by one. */
#define UL_REJECT_LOG_LIMIT 20
#define UL_PROGRESS_MS      250
#define UL_FIRST_RETRY_MS   1000

typedef struct ul_state {
    ucd_plugin *self;
    const ucd_host *host;
    const char *module_id;
    ul_server_config server;
    ul_map map;
    char **base_dns;
    char **group_base_dns;
    int scope;
    const char *filter;
    const char *group_filter;
    const char *group_name_attribute;
    const char *group_member_attribute;
    gboolean nested_groups;
    gboolean write_back;
    gboolean write_back_phones;
    gint64 sync_interval_ms;
    gint64 full_interval_ms;
    gint64 retry_max_ms;
    gint64 max_shrink_percent;
    gint64 cache_compact_percent;
    ul_cache *cache;        /* NULL: no state directory */
    guint64 cache_sequence; /* main loop: of the last set sent to the cache */

    GMutex lock; /* guards current */
    ul_set *current;

    /* main loop only */
    gboolean sync_running;
    gboolean stopping;
    gint cancel; /* atomic: a running sync stops at the next page */
    gint64 last_full_us;
    gint64 retry_ms;
    ucd_timer *tick;
    ucd_timer *retry;
    ucd_timer *progress_timer;
    struct ul_job *job; /* the running sync */

    ucd_counter *users_gauge;
    ucd_counter *syncs;
    ucd_counter *rejected_syncs;
    ucd_counter *failed_syncs;
    ucd_counter *rejected_values;
} ul_state;

typedef struct ul_job {
    ul_state *state;
    gboolean full;
    gboolean force; /* UCD_SYNC_FORCE: the shrink rule does not apply */
    ul_set *base;   /* incremental: the set the changes apply to */
    ul_set *result; /* what the sync read; NULL when it failed */
    char *error;
    gboolean unavailable;
    gint read;     /* atomic: entries read so far */
    gint estimate; /* atomic: the server's estimate of the total, 0: unknown */
    gint rejected; /* atomic */
    ucd_sync_progress_cb progress;
    ucd_sync_done_cb done;
    void *done_data;
    /* Where the sync's time went (microseconds), logged at debug level: the
     * reading of docs/PERFORMANCE.md, and of a slow sync at a site. */
    gint64 connect_us, users_us, decode_us, groups_us, members_us, build_us;
} ul_job;

static const ucd_config_key ul_keys[] = {
    {"uris", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL,
     "LDAP servers, tried in order: ldap://HOST[:PORT] or ldaps://HOST[:PORT]"},
    {"starttls", UCD_CONFIG_BOOL, 0, "false", "StartTLS on ldap:// URIs (required when true)"},
    {"tls_verify", UCD_CONFIG_BOOL, 0, "true",
     "verify the server certificate and host name; false is for tests only"},
    /* UCD_KEY_FILE: a missing CA file is reported by --check-config, not at
     * the first sync (ca_dir is a directory, which the flag does not cover). */
    {"ca_file", UCD_CONFIG_STRING, UCD_KEY_FILE, NULL,
     "PEM file of the CA(s) that sign the server certificate"},
    {"ca_dir", UCD_CONFIG_STRING, 0, NULL, "directory of hashed CA certificates"},
    {"bind_dn", UCD_CONFIG_STRING, 0, NULL, "the service account's DN; unset: anonymous"},
    {"bind_password", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "the service account's password"},
    {"timeout", UCD_CONFIG_DURATION, 0, "10s", "network and operation timeout"},
    {"page_size", UCD_CONFIG_INT, 0, "500", "entries per page of a paged search (RFC 2696)"},
    {"base_dn", UCD_CONFIG_LIST, UCD_KEY_REQUIRED, NULL, "where users are searched"},
    {"scope", UCD_CONFIG_STRING, 0, "sub", "search scope below base_dn: base, one or sub"},
    {"filter", UCD_CONFIG_STRING, 0, "(&(objectCategory=person)(objectClass=user))",
     "which entries are users"},
    {"group_base_dn", UCD_CONFIG_LIST, 0, NULL, "where groups are searched; unset: base_dn"},
    {"group_filter", UCD_CONFIG_STRING, 0, "(objectClass=group)",
     "which entries are groups; empty: no groups"},
    {"group_name_attribute", UCD_CONFIG_STRING, 0, "cn", "a group's name"},
    {"group_member_attribute", UCD_CONFIG_STRING, 0, "member",
     "members of a group object, used when attr_member_of is empty"},
    {"nested_groups", UCD_CONFIG_BOOL, 0, "false",
     "users are also in the groups their groups are in, at any depth (from the groups' "
     "memberOf or member lists)"},
    {"attr_id", UCD_CONFIG_STRING, 0, "objectGUID", "stable id: objectGUID or entryUUID"},
    {"attr_login", UCD_CONFIG_STRING, 0, "sAMAccountName", "login: sAMAccountName, uid..."},
    {"attr_display_name", UCD_CONFIG_STRING, 0, "displayName", ""},
    {"attr_given_name", UCD_CONFIG_STRING, 0, "givenName", ""},
    {"attr_surname", UCD_CONFIG_STRING, 0, "sn", ""},
    {"attr_email", UCD_CONFIG_STRING, 0, "mail", ""},
    {"attr_department", UCD_CONFIG_STRING, 0, "department", ""},
    {"attr_title", UCD_CONFIG_STRING, 0, "title", ""},
    {"attr_numbers", UCD_CONFIG_LIST, 0, "telephoneNumber;mobile;ipPhone", "phone numbers"},
    {"attr_member_of", UCD_CONFIG_STRING, 0, "memberOf",
     "groups of a user; empty: from the group objects' members"},
    {"attr_account_control", UCD_CONFIG_STRING, 0, "userAccountControl",
     "bit 2 set: account disabled; empty: none"},
    {"attr_change", UCD_CONFIG_STRING, 0, "uSNChanged",
     "change stamp for incremental syncs: uSNChanged, modifyTimestamp, entryCSN; empty: none"},
    {"home_server_attribute", UCD_CONFIG_STRING, 0, "extensionName",
     "the server a user is active on (\"<16,NAME>\" or NAME); empty: none"},
    /* Kept so that existing configurations still load; see ul_read_map. */
    {"server_name", UCD_CONFIG_STRING, 0, NULL,
     "deprecated and ignored: the core's [core] server_name says which users are here"},
    {"unhomed_users_enabled", UCD_CONFIG_BOOL, 0, "true",
     "users without a home server value are active here"},
    {"write_back", UCD_CONFIG_BOOL, 0, "false", "allow moving users (rewrites the home server)"},
    {"write_back_phones", UCD_CONFIG_BOOL, 0, "false",
     "with write_back: `ucctl users set-numbers` rewrites the first attr_numbers attribute"},
    {"sync_interval", UCD_CONFIG_DURATION, 0, "5m", "incremental sync period"},
    {"full_sync_interval", UCD_CONFIG_DURATION, 0, "1h", "full sync period (sees deletions)"},
    {"retry_max", UCD_CONFIG_DURATION, 0, "5m", "longest wait between retries of a failed sync"},
    {"max_shrink_percent", UCD_CONFIG_INT, 0, "10",
     "a full sync with more than this many percent fewer users is not applied"},
    {"cache_compact_percent", UCD_CONFIG_INT, 0, "10",
     "incremental syncs append their changes to the cache; past this share of the users "
     "changed since the last full write, the cache is written whole again"},
    {"max_value_length", UCD_CONFIG_INT, 0, "1024", "longer attribute values are left out"},
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_service_decl ul_provides[] = {
    UCD_PROVIDE(UCD_USERS_SERVICE, UCD_USERS_MAJOR, UCD_USERS_MINOR, 0),
    {NULL},
};

/* ---- the current set ---------------------------------------------------------- */

static ul_set *ul_current(ul_state *state)
{
    g_mutex_lock(&state->lock);
    ul_set *set = ul_set_ref(state->current);
    g_mutex_unlock(&state->lock);
    return set;
}

static void ul_install(ul_state *state, ul_set *set)
{
    g_mutex_lock(&state->lock);
    ul_set *old = state->current;
    state->current = set;
    g_mutex_unlock(&state->lock);
    ul_set_unref(old);
    state->host->counter_set(state->users_gauge, (int64_t)ul_set_user_count(set));
}

typedef struct ul_cache_job {
    ul_state *state;
    ul_set *set;
    gboolean full;
    guint64 sequence;
} ul_cache_job;

static void ul_cache_work(void *data)
{
    ul_cache_job *job = data;
    ul_state *state = job->state;
    GError *error = NULL;
    guint users = 0;
    gint64 start = g_get_monotonic_time();
    ul_cache_write_kind kind =
        ul_cache_write(state->cache, job->set, job->full, job->sequence, &users, &error);
    if (kind == UL_CACHE_FAILED) {
        ucd_warning(state->host, state->self, "cannot cache the users in %s: %s",
                    ul_cache_path(state->cache), error->message);
        g_error_free(error);
    } else if (kind != UL_CACHE_SKIPPED && state->host->log_enabled(state->self, UCD_LOG_DEBUG)) {
        ucd_debug(state->host, state->self, "cache: %s of %u users written in %.1f ms",
                  kind == UL_CACHE_DELTA ? "delta" : "snapshot", users,
                  (g_get_monotonic_time() - start) / 1e3);
    }
    ul_set_unref(job->set);
    g_free(job);
}

/* Queues the write of `set`, the one just installed: a snapshot after a full
 * sync, a delta after an incremental one (ldap-cache.h). */
static void ul_cache_save(ul_state *state, ul_set *set, gboolean full)
{
    if (state->cache == NULL)
        return;
    ul_cache_job *job = g_new0(ul_cache_job, 1);
    job->state = state;
    job->set = ul_set_ref(set);
    job->full = full;
    job->sequence = ++state->cache_sequence;
    if (state->host->work_submit(state->self, ul_cache_work, NULL, job) != UCD_OK) {
        ul_set_unref(job->set);
        g_free(job);
    }
}

/* ---- a sync, on the worker ------------------------------------------------------ */

static void ul_on_reject(const char *dn, const char *reason, void *data)
{
    ul_job *job = data;
    ul_state *state = job->state;
    int seen = g_atomic_int_add(&job->rejected, 1);
    if (seen < UL_REJECT_LOG_LIMIT)
        ucd_warning(state->host, state->self, "%s: %s", dn, reason);
    else if (seen == UL_REJECT_LOG_LIMIT)
        ucd_warning(state->host, state->self, "more values left out; not logged one by one");
}

static gboolean ul_user_entry(LDAP *ld, LDAPMessage *entry, void *data)
{
    ul_builder_add_user(data, ld, entry);
    return TRUE;
}

/* What a sync's user search needs: where entries go, and whom to tell of
 * pages. */
typedef struct ul_user_read {
    ul_builder *builder;
    ul_job *job;
} ul_user_read;

static gboolean ul_sync_user_entry(LDAP *ld, LDAPMessage *entry, void *data)
{
    ul_user_read *read = data;
    gint64 start = g_get_monotonic_time();
    ul_builder_add_user(read->builder, ld, entry);
    read->job->decode_us += g_get_monotonic_time() - start;
    return TRUE;
}

typedef struct ul_group_read {
    ul_builder *builder;
    ul_state *state;
    const char *member_attribute; /* NULL: not read */
    const char *parent_attribute; /* NULL: not read */
} ul_group_read;

static gboolean ul_group_entry(LDAP *ld, LDAPMessage *entry, void *data)
{
    ul_group_read *read = data;
    ul_builder_add_group(read->builder, ld, entry, read->state->group_name_attribute,
                         read->member_attribute, read->parent_attribute);
    return TRUE;
}

static void ul_on_page(guint64 read, guint64 estimate, void *data)
{
    ul_job *job = ((ul_user_read *)data)->job;
    g_atomic_int_set(&job->read, (gint)MIN(read, (guint64)G_MAXINT));
    g_atomic_int_set(&job->estimate, (gint)MIN(estimate, (guint64)G_MAXINT));
    if (job->state->host->log_enabled(job->state->self, UCD_LOG_DEBUG))
        ucd_debug(job->state->host, job->state->self,
                  "page read: %" G_GUINT64_FORMAT " entries read of ~%" G_GUINT64_FORMAT, read,
                  estimate);
}

/* The filter of this sync: incremental syncs ask for what changed since the
 * highest stamp of the base set (>=: an entry changed in the same second or
 * USN as the last one read is read again, never missed). */
static char *ul_user_filter(ul_job *job)
{
    const char *stamp = job->base != NULL ? ul_set_max_stamp(job->base) : NULL;
    if (job->full || stamp == NULL)
        return g_strdup(job->state->filter);
    char *escaped = ul_ldap_escape_filter_value(stamp);
    char *filter =
        g_strdup_printf("(&%s(%s>=%s))", job->state->filter, job->state->map.change, escaped);
    g_free(escaped);
    return filter;
}

static gboolean ul_read_users(ul_job *job, LDAP *ld, ul_builder *builder)
{
    ul_state *state = job->state;
    char **attrs = ul_map_user_attributes(&state->map);
    char *filter = ul_user_filter(job);
    ul_user_read read = {builder, job};
    gboolean ok = TRUE;
    for (char **base = state->base_dns; ok && *base != NULL; base++)
        ok = ul_ldap_search(ld, &state->server, *base, state->scope, filter, attrs, TRUE,
                            ul_sync_user_entry, ul_on_page, &read, &state->cancel, &job->error);
    g_free(filter);
    g_strfreev(attrs);
    return ok;
}

static gboolean ul_from_members(const ul_state *state)
{
    return state->map.member_of == NULL || *state->map.member_of == '\0';
}

/* Which groups a sync reads: all (full), or those changed since the highest
 * group stamp of the base set (incremental: in AD a new member changes the
 * group's uSNChanged, not the member's). NULL: none to read. */
static char *ul_group_search_filter(ul_job *job)
{
    ul_state *state = job->state;
    if (job->full || job->base == NULL)
        return g_strdup(state->group_filter);
    const char *stamp = ul_set_group_max_stamp(job->base);
    if (stamp == NULL || state->map.change == NULL)
        return NULL; /* no stamps on the groups: their changes wait for a full sync */
    char *escaped = ul_ldap_escape_filter_value(stamp);
    char *filter =
        g_strdup_printf("(&%s(%s>=%s))", state->group_filter, state->map.change, escaped);
    g_free(escaped);
    return filter;
}

static gboolean ul_read_groups(ul_job *job, LDAP *ld, ul_builder *builder)
{
    ul_state *state = job->state;
    if (state->group_filter == NULL || *state->group_filter == '\0')
        return TRUE;
    char *filter = ul_group_search_filter(job);
    if (filter == NULL)
        return TRUE;
    /* Member lists are only read when they are the memberships: with
     * memberOf they would be the largest part of the answer, and unused. The
     * groups' own memberOf is the nesting. */
    gboolean from_members = ul_from_members(state);
    const char *member = from_members ? state->group_member_attribute : NULL;
    const char *parent = !from_members && state->nested_groups ? state->map.member_of : NULL;
    char *attrs[] = {(char *)state->group_name_attribute,
                     "description",
                     (char *)(state->map.change != NULL ? state->map.change : "1.1"),
                     (char *)(member != NULL ? member : "1.1"),
                     (char *)(parent != NULL ? parent : "1.1"),
                     NULL};
    ul_group_read read = {builder, state, member, parent};
    gboolean ok = TRUE;
    for (char **base = state->group_base_dns; ok && *base != NULL; base++)
        ok = ul_ldap_search(ld, &state->server, *base, LDAP_SCOPE_SUBTREE, filter, attrs, TRUE,
                            ul_group_entry, NULL, &read, &state->cancel, &job->error);
    g_free(filter);
    return ok;
}

typedef struct ul_member_read {
    ul_builder *builder;
    const char *group;
} ul_member_read;

static gboolean ul_member_entry(LDAP *ld, LDAPMessage *entry, void *data)
{
    ul_member_read *read = data;
    char *dn = ldap_get_dn(ld, entry);
    if (dn != NULL)
        ul_builder_add_group_member(read->builder, read->group, dn);
    ldap_memfree(dn);
    return TRUE;
}

/* With memberships from memberOf, the members of a changed group are not
 * changed themselves (memberOf is AD's back link): ask who is a direct
 * member of it now, users and, for nesting, groups. One search per changed
 * group and base; the rest of the set is left to ul_builder_merge. */
static gboolean ul_read_changed_members(ul_job *job, LDAP *ld, ul_builder *builder,
                                        GPtrArray *changed)
{
    ul_state *state = job->state;
    char *attrs[] = {"1.1", NULL};
    gboolean ok = TRUE;
    for (guint g = 0; ok && g < changed->len; g++) {
        const char *group = g_ptr_array_index(changed, g);
        ul_builder_add_group_member(builder, group, NULL);
        char *escaped = ul_ldap_escape_filter_value(group);
        char *users = g_strdup_printf("(&%s(%s=%s))", state->filter, state->map.member_of, escaped);
        char *groups =
            g_strdup_printf("(&%s(%s=%s))", state->group_filter, state->map.member_of, escaped);
        ul_member_read read = {builder, group};
        for (char **base = state->base_dns; ok && *base != NULL; base++)
            ok = ul_ldap_search(ld, &state->server, *base, state->scope, users, attrs, TRUE,
                                ul_member_entry, NULL, &read, &state->cancel, &job->error);
        for (char **base = state->group_base_dns; ok && state->nested_groups && *base != NULL;
             base++)
            ok = ul_ldap_search(ld, &state->server, *base, LDAP_SCOPE_SUBTREE, groups, attrs, TRUE,
                                ul_member_entry, NULL, &read, &state->cancel, &job->error);
        g_free(users);
        g_free(groups);
        g_free(escaped);
    }
    return ok;
}

/* Microseconds since `*t`, which becomes now. */
static gint64 ul_lap(gint64 *t)
{
    gint64 now = g_get_monotonic_time();
    gint64 lap = now - *t;
    *t = now;
    return lap;
}

static void ul_sync_work(void *data)
{
    ul_job *job = data;
    ul_state *state = job->state;
    gint64 t = g_get_monotonic_time();
    char *skipped = NULL;
    LDAP *ld = ul_ldap_connect(&state->server, &job->error, &job->unavailable, &skipped);
    job->connect_us = ul_lap(&t);
    if (skipped != NULL) {
        /* Served by a later URI: the failed ones are worth a warning. */
        ucd_warning(state->host, state->self, "failed over: %s", skipped);
        g_free(skipped);
    }
    if (ld == NULL)
        return;
    ul_builder *builder = ul_builder_new(&state->map, ul_on_reject, job);
    gboolean ok = ul_read_users(job, ld, builder);
    job->users_us = ul_lap(&t);
    if (ok)
        ok = ul_read_groups(job, ld, builder);
    job->groups_us = ul_lap(&t);
    if (ok && !job->full && job->base != NULL) {
        /* Groups read again with nothing new (the last stamp is read again:
         * >=) are no change; the members of those that did change are asked
         * for when memberOf holds the memberships. */
        GPtrArray *changed = ul_builder_changed_groups(builder, job->base);
        if (changed->len > 0 && !ul_from_members(state))
            ok = ul_read_changed_members(job, ld, builder, changed);
        g_ptr_array_unref(changed);
    }
    ul_ldap_close(ld);
    job->members_us = ul_lap(&t);
    if (!ok) {
        ul_builder_free(builder);
        return;
    }
    job->result = job->full || job->base == NULL ? ul_builder_finish(builder)
                                                 : ul_builder_merge(builder, job->base);
    job->build_us = ul_lap(&t);
}

/* ---- judging a sync, on the main loop ------------------------------------------- */

static void ul_schedule_retry(ul_state *state);
static gboolean ul_start_sync(ul_state *state, ul_job *job);

/* The safety rule: a full sync may shrink the set by max_shrink_percent at
 * most; more looks like a directory problem (a wrong filter, a replica
 * half-restored), not like people leaving. */
static gboolean ul_shrank_too_much(ul_state *state, guint before, guint after)
{
    if (before == 0 || after >= before)
        return FALSE;
    return (guint64)(before - after) * 100u > (guint64)before * (guint64)state->max_shrink_percent;
}

static void ul_report(ul_job *job, int result, const char *message)
{
    if (job->progress != NULL && result == UCD_OK) {
        guint64 read = (guint64)g_atomic_int_get(&job->read);
        job->progress(read, read, job->done_data);
    }
    if (job->done != NULL)
        job->done(result, message, job->done_data);
}

static void ul_apply(ul_state *state, ul_job *job)
{
    guint before = ul_set_user_count(job->base);
    guint after = ul_set_user_count(job->result);
    gint64 t = g_get_monotonic_time();
    /* An incremental sync that read nothing returns the same set: nothing to
     * announce (the core would read every user again) or to cache. */
    gboolean same = job->result == job->base;
    ul_install(state, ul_set_ref(job->result));
    gint64 install_us = ul_lap(&t);
    if (!same)
        users_publish_resynced(state->host, state->self, state->module_id);
    gint64 publish_us = ul_lap(&t);
    /* After the set is in use and announced: the cache is for the next start,
     * nobody waits for it now. */
    if (!same)
        ul_cache_save(state, job->result, job->full);
    gint64 cache_us = ul_lap(&t);
    if (state->host->log_enabled(state->self, UCD_LOG_DEBUG))
        ucd_debug(state->host, state->self,
                  "sync phases (ms): connect %.1f, users %.1f (decoding %.1f), groups %.1f, "
                  "changed groups' members %.1f, set built %.1f, installed %.1f, published %.1f, "
                  "cache %.1f",
                  job->connect_us / 1e3, job->users_us / 1e3, job->decode_us / 1e3,
                  job->groups_us / 1e3, job->members_us / 1e3, job->build_us / 1e3,
                  install_us / 1e3, publish_us / 1e3, cache_us / 1e3);
    state->host->counter_add(state->syncs, 1);
    state->retry_ms = 0;
    if (job->full)
        state->last_full_us = g_get_monotonic_time();
    char *message = g_strdup_printf("%s sync: %u users (%d more than before), %u groups%s",
                                    job->full ? "full" : "incremental", after,
                                    (int)after - (int)before, ul_set_group_count(job->result),
                                    g_atomic_int_get(&job->rejected) > 0 ? "; see warnings" : "");
    ucd_info(state->host, state->self, "%s", message);
    ul_report(job, UCD_OK, message);
    g_free(message);
}

static void ul_refuse(ul_state *state, ul_job *job, const char *why, int result)
{
    guint kept = ul_set_user_count(job->base);
    char *message = g_strdup_printf("%s sync not applied: %s; keeping the last good %u users",
                                    job->full ? "full" : "incremental", why, kept);
    ucd_warning(state->host, state->self, "%s", message);
    ul_report(job, result, message);
    g_free(message);
}

static void ul_job_free(ul_job *job)
{
    ul_set_unref(job->base);
    ul_set_unref(job->result);
    g_free(job->error);
    g_free(job);
}

static void ul_stop_progress(ul_state *state)
{
    if (state->progress_timer != NULL) {
        state->host->timer_remove(state->self, state->progress_timer);
        state->progress_timer = NULL;
    }
}

static void ul_sync_done(void *data)
{
    ul_job *job = data;
    ul_state *state = job->state;
    ul_stop_progress(state);
    state->job = NULL;
    state->sync_running = FALSE;
    int rejected = g_atomic_int_get(&job->rejected);
    if (rejected > 0)
        state->host->counter_add(state->rejected_values, rejected);

    if (job->result == NULL) {
        state->host->counter_add(state->failed_syncs, 1);
        ul_refuse(state, job, job->error != NULL ? job->error : "failed",
                  job->unavailable ? UCD_E_UNAVAILABLE : UCD_FAIL);
        ul_schedule_retry(state);
    } else if (job->full && ul_shrank_too_much(state, ul_set_user_count(job->base),
                                               ul_set_user_count(job->result))) {
        if (job->force) {
            /* The administrator's word that the users really went. */
            ucd_notice(state->host, state->self,
                       "forced full sync: %u users applied, more than %" G_GINT64_FORMAT
                       "%% fewer than the %u of the last good set",
                       ul_set_user_count(job->result), state->max_shrink_percent,
                       ul_set_user_count(job->base));
            ul_apply(state, job);
        } else {
            char *why = g_strdup_printf(
                "it returned %u users, more than %" G_GINT64_FORMAT
                "%% fewer than the %u of the last good set (if they really went: ucctl users "
                "sync --full --force)",
                ul_set_user_count(job->result), state->max_shrink_percent,
                ul_set_user_count(job->base));
            state->host->counter_add(state->rejected_syncs, 1);
            ul_refuse(state, job, why, UCD_E_INVALID);
            g_free(why);
        }
    } else {
        ul_apply(state, job);
    }
    ul_job_free(job);
}

static void ul_on_progress_tick(void *data)
{
    ul_state *state = data;
    ul_job *job = state->job;
    if (job != NULL && job->progress != NULL)
        job->progress((guint64)g_atomic_int_get(&job->read),
                      (guint64)g_atomic_int_get(&job->estimate), job->done_data);
}

static gboolean ul_start_sync(ul_state *state, ul_job *job)
{
    job->base = ul_current(state);
    if (job->base == NULL || ul_set_max_stamp(job->base) == NULL || state->map.change == NULL)
        job->full = TRUE;
    state->sync_running = TRUE;
    state->job = job;
    if (job->progress != NULL)
        state->progress_timer = state->host->timer_add(
            state->self, UL_PROGRESS_MS, UCD_TIMER_REPEAT, ul_on_progress_tick, state);
    int result = state->host->work_submit(state->self, ul_sync_work, ul_sync_done, job);
    if (result != UCD_OK) {
        ucd_error(state->host, state->self, "cannot schedule a sync: %s", ucd_strerror(result));
        ul_stop_progress(state);
        state->sync_running = FALSE;
        state->job = NULL;
        ul_job_free(job);
        return FALSE;
    }
    return TRUE;
}

static ul_job *ul_job_new(ul_state *state, gboolean full)
{
    ul_job *job = g_new0(ul_job, 1);
    job->state = state;
    job->full = full;
    return job;
}

/* ---- schedule: periodic syncs, retries with backoff ----------------------------- */

static void ul_on_retry(void *data)
{
    ul_state *state = data;
    state->retry = NULL; /* a one-shot timer is gone once it fired */
    if (!state->sync_running)
        ul_start_sync(state, ul_job_new(state, TRUE));
}

static void ul_schedule_retry(ul_state *state)
{
    if (state->stopping || state->retry != NULL)
        return;
    state->retry_ms = state->retry_ms == 0 ? UL_FIRST_RETRY_MS : state->retry_ms * 2;
    if (state->retry_ms > state->retry_max_ms)
        state->retry_ms = state->retry_max_ms;
    ucd_notice(state->host, state->self, "next attempt in %" G_GINT64_FORMAT " ms",
               state->retry_ms);
    state->retry =
        state->host->timer_add(state->self, (uint64_t)state->retry_ms, 0, ul_on_retry, state);
}

static void ul_on_tick(void *data)
{
    ul_state *state = data;
    if (state->sync_running || state->retry != NULL)
        return;
    gint64 since_full_ms = (g_get_monotonic_time() - state->last_full_us) / 1000;
    ul_start_sync(state, ul_job_new(state, since_full_ms >= state->full_interval_ms));
}

/* ---- the users interface ---------------------------------------------------------- */

static int ul_foreach_user(void *impl, ucd_user_cb cb, void *user_data)
{
    ul_set *set = ul_current(impl);
    if (set != NULL)
        ul_set_foreach_user(set, cb, user_data);
    ul_set_unref(set);
    return UCD_OK;
}

static int ul_foreach_group(void *impl, ucd_group_cb cb, void *user_data)
{
    ul_set *set = ul_current(impl);
    if (set != NULL)
        ul_set_foreach_group(set, cb, user_data);
    ul_set_unref(set);
    return UCD_OK;
}

static int ul_sync(void *impl, uint32_t flags, ucd_sync_progress_cb progress, ucd_sync_done_cb done,
                   void *user_data)
{
    ul_state *state = impl;
    if (state->sync_running)
        return UCD_E_BUSY;
    /* UCD_SYNC_FORCE implies a full sync: only a full sync is judged by the
     * shrink rule it lifts. */
    ul_job *job = ul_job_new(state, (flags & (UCD_SYNC_FULL | UCD_SYNC_FORCE)) != 0);
    job->force = (flags & UCD_SYNC_FORCE) != 0;
    job->progress = progress;
    job->done = done;
    job->done_data = user_data;
    return ul_start_sync(state, job) ? UCD_OK : UCD_FAIL;
}

static gboolean ul_collect_dn(LDAP *ld, LDAPMessage *entry, void *data)
{
    char *dn = ldap_get_dn(ld, entry);
    if (dn != NULL)
        g_ptr_array_add(data, g_strdup(dn));
    ldap_memfree(dn);
    return TRUE;
}

static gboolean ul_first_dn(LDAP *ld, LDAPMessage *entry, void *data)
{
    GPtrArray *dns = data;
    ul_collect_dn(ld, entry, dns);
    return dns->len < 2; /* two are enough to know the login is ambiguous */
}

/* The DN of the one user with `login`; UCD_E_NOT_FOUND, UCD_E_DENIED when
 * several match, UCD_E_UNAVAILABLE when the directory cannot be asked. */
static int ul_find_login(ul_state *state, const char *login, char **dn)
{
    char *error = NULL;
    gboolean unavailable = FALSE;
    LDAP *ld = ul_ldap_connect(&state->server, &error, &unavailable, NULL);
    if (ld == NULL) {
        ucd_warning(state->host, state->self, "login check: %s", error);
        g_free(error);
        return unavailable ? UCD_E_UNAVAILABLE : UCD_FAIL;
    }
    /* RFC 4515: a login such as "*)(uid=*" must stay a value. */
    char *escaped = ul_ldap_escape_filter_value(login);
    char *filter = g_strdup_printf("(&%s(%s=%s))", state->filter, state->map.login, escaped);
    char *attrs[] = {"1.1", NULL};
    GPtrArray *dns = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = TRUE;
    for (char **base = state->base_dns; ok && *base != NULL && dns->len < 2; base++)
        ok = ul_ldap_search(ld, &state->server, *base, state->scope, filter, attrs, FALSE,
                            ul_first_dn, NULL, dns, NULL, &error);
    ul_ldap_close(ld);
    int result = UCD_OK;
    if (dns->len == 0 && !ok)
        result = UCD_E_UNAVAILABLE;
    else if (dns->len == 0)
        result = UCD_E_NOT_FOUND;
    else if (dns->len > 1)
        result = UCD_E_DENIED;
    else
        *dn = g_strdup(g_ptr_array_index(dns, 0));
    if (dns->len > 1)
        ucd_warning(state->host, state->self, "login check: several entries match one login");
    g_free(error);
    g_free(filter);
    g_free(escaped);
    g_ptr_array_unref(dns);
    return result;
}

static int ul_authenticate(void *impl, const char *login, const char *password)
{
    ul_state *state = impl;
    if (login == NULL || *login == '\0')
        return UCD_E_NOT_FOUND;
    /* An empty password makes a simple bind "unauthenticated" (RFC 4513
     * 5.1.2), which many servers accept: it proves nothing. */
    if (password == NULL || *password == '\0') {
        ucd_notice(state->host, state->self, "login of %s refused: empty password", login);
        return UCD_E_DENIED;
    }
    char *dn = NULL;
    int result = ul_find_login(state, login, &dn);
    if (result != UCD_OK)
        return result;
    int rc = ul_ldap_check_password(&state->server, dn, password);
    if (rc == LDAP_SUCCESS)
        result = UCD_OK;
    else if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
             rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY)
        result = UCD_E_UNAVAILABLE;
    else
        result = UCD_E_DENIED;
    if (result != UCD_OK)
        ucd_info(state->host, state->self, "login of %s refused: %s", login, ldap_err2string(rc));
    g_free(dn);
    return result;
}

/* Reads the entry `dn` again and merges it into the current set (after a
 * write-back), so the change shows before the next sync. */
static void ul_refresh_entry(ul_state *state, LDAP *ld, const char *dn)
{
    ul_set *base = ul_current(state);
    if (base == NULL)
        return;
    ul_job job = {.state = state, .full = FALSE};
    ul_builder *builder = ul_builder_new(&state->map, ul_on_reject, &job);
    char **attrs = ul_map_user_attributes(&state->map);
    char *error = NULL;
    gboolean ok = ul_ldap_search(ld, &state->server, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
                                 FALSE, ul_user_entry, NULL, builder, NULL, &error);
    g_strfreev(attrs);
    g_free(error);
    if (ok && ul_builder_user_count(builder) == 1) {
        ul_install(state, ul_builder_merge(builder, base));
        users_publish_resynced(state->host, state->self, state->module_id);
    } else {
        ul_builder_free(builder);
    }
    ul_set_unref(base);
}

static int ul_write_home(ul_state *state, LDAP *ld, const char *dn, const char *old_value,
                         const char *server)
{
    const char *attribute = state->map.home_server;
    gboolean tagged = g_ascii_strcasecmp(attribute, "extensionName") == 0 ||
                      (old_value != NULL && old_value[0] == '<');
    char *new_value = tagged ? g_strdup_printf("<16,%s>", server) : g_strdup(server);
    char *old_values[] = {(char *)old_value, NULL};
    char *new_values[] = {new_value, NULL};
    /* A tagged attribute (extensionName) holds other values too: replace only
     * ours. A plain one is replaced as a whole. */
    LDAPMod remove = {
        .mod_op = LDAP_MOD_DELETE, .mod_type = (char *)attribute, .mod_values = old_values};
    LDAPMod add = {.mod_op = tagged ? LDAP_MOD_ADD : LDAP_MOD_REPLACE,
                   .mod_type = (char *)attribute,
                   .mod_values = new_values};
    LDAPMod *mods[3] = {NULL, NULL, NULL};
    int n = 0;
    if (tagged && old_value != NULL)
        mods[n++] = &remove;
    mods[n++] = &add;
    int rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
    g_free(new_value);
    return rc;
}

static int ul_set_home_server(void *impl, const char *user_id, const char *server)
{
    ul_state *state = impl;
    if (!state->write_back || state->map.home_server == NULL)
        return UCD_E_UNSUPPORTED;
    if (user_id == NULL || server == NULL || *server == '\0')
        return UCD_E_INVALID; /* `ucctl users move` always names the server */
    ul_set *set = ul_current(state);
    char *dn = g_strdup(ul_set_user_dn(set, user_id));
    char *old_value = g_strdup(ul_set_user_home_value(set, user_id));
    ul_set_unref(set);
    if (dn == NULL) {
        g_free(old_value);
        return UCD_E_NOT_FOUND;
    }
    char *error = NULL;
    gboolean unavailable = FALSE;
    LDAP *ld = ul_ldap_connect(&state->server, &error, &unavailable, NULL);
    int result = unavailable ? UCD_E_UNAVAILABLE : UCD_FAIL;
    if (ld == NULL) {
        ucd_warning(state->host, state->self, "move of %s: %s", user_id, error);
    } else {
        int rc = ul_write_home(state, ld, dn, old_value, server);
        if (rc == LDAP_SUCCESS) {
            ucd_notice(state->host, state->self, "user %s: home server %s written to %s", user_id,
                       server, dn);
            ul_refresh_entry(state, ld, dn);
            result = UCD_OK;
        } else {
            ucd_warning(state->host, state->self, "move of %s: modify %s: %s", user_id, dn,
                        ldap_err2string(rc));
            result = rc == LDAP_INSUFFICIENT_ACCESS ? UCD_E_DENIED : UCD_FAIL;
        }
        ul_ldap_close(ld);
    }
    g_free(error);
    g_free(dn);
    g_free(old_value);
    return result;
}

/* Writes a user's phone numbers to the first attribute of attr_numbers
 * (telephoneNumber by default), replacing its values; the other number
 * attributes (mobile, ipPhone) are left as they are. */
static int ul_set_numbers(void *impl, const char *user_id, const char *const *numbers)
{
    ul_state *state = impl;
    if (!state->write_back || !state->write_back_phones || state->map.numbers == NULL ||
        state->map.numbers[0] == NULL)
        return UCD_E_UNSUPPORTED;
    if (user_id == NULL || numbers == NULL)
        return UCD_E_INVALID;
    ul_set *set = ul_current(state);
    char *dn = g_strdup(set != NULL ? ul_set_user_dn(set, user_id) : NULL);
    ul_set_unref(set);
    if (dn == NULL)
        return UCD_E_NOT_FOUND;
    char *error = NULL;
    gboolean unavailable = FALSE;
    LDAP *ld = ul_ldap_connect(&state->server, &error, &unavailable, NULL);
    int result = unavailable ? UCD_E_UNAVAILABLE : UCD_FAIL;
    if (ld == NULL) {
        ucd_warning(state->host, state->self, "numbers of %s: %s", user_id, error);
    } else {
        /* LDAP_MOD_REPLACE with no values removes the attribute: clearing */
        LDAPMod replace = {.mod_op = LDAP_MOD_REPLACE,
                           .mod_type = state->map.numbers[0],
                           .mod_values = numbers[0] != NULL ? (char **)numbers : NULL};
        LDAPMod *mods[] = {&replace, NULL};
        int rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
        if (rc == LDAP_SUCCESS) {
            ucd_notice(state->host, state->self, "user %s: %u number(s) written to %s of %s",
                       user_id, g_strv_length((char **)numbers), state->map.numbers[0], dn);
            ul_refresh_entry(state, ld, dn);
            result = UCD_OK;
        } else {
            ucd_warning(state->host, state->self, "numbers of %s: modify %s: %s", user_id, dn,
                        ldap_err2string(rc));
            result = rc == LDAP_INSUFFICIENT_ACCESS ? UCD_E_DENIED : UCD_FAIL;
        }
        ul_ldap_close(ld);
    }
    g_free(error);
    g_free(dn);
    return result;
}

static int ul_import_users(void *impl, const char *path, char *message, size_t size)
{
    if (message != NULL && size > 0)
        g_strlcpy(message, "users-ldap is read-only: change users in the directory", size);
    return UCD_E_UNSUPPORTED;
}

static const ucd_users_v1 ul_iface = {
    .struct_size = sizeof(ucd_users_v1),
    .foreach_user = ul_foreach_user,
    .foreach_group = ul_foreach_group,
    .sync = ul_sync,
    .authenticate = ul_authenticate,
    .set_home_server = ul_set_home_server,
    .import_users = ul_import_users,
    .set_numbers = ul_set_numbers,
};

/* ---- configuration ------------------------------------------------------------------ */

static char *ul_config_attr(ul_state *state, const char *key)
{
    const char *value = NULL;
    if (state->host->config_string(state->self, key, &value) != UCD_OK || value == NULL ||
        *value == '\0')
        return NULL;
    return g_strdup(value);
}

static char **ul_config_strv(ul_state *state, const char *key)
{
    const char *const *items = NULL;
    if (state->host->config_list(state->self, key, &items, NULL) != UCD_OK || items == NULL ||
        items[0] == NULL)
        return NULL;
    return g_strdupv((char **)items);
}

static int ul_read_map(ul_state *state)
{
    ul_map *map = &state->map;
    map->id = ul_config_attr(state, "attr_id");
    map->login = ul_config_attr(state, "attr_login");
    if (map->id == NULL || map->login == NULL)
        return state->host->config_error(state->self, map->id == NULL ? "attr_id" : "attr_login",
                                         "must name an attribute");
    map->display_name = ul_config_attr(state, "attr_display_name");
    map->given_name = ul_config_attr(state, "attr_given_name");
    map->surname = ul_config_attr(state, "attr_surname");
    map->email = ul_config_attr(state, "attr_email");
    map->department = ul_config_attr(state, "attr_department");
    map->title = ul_config_attr(state, "attr_title");
    map->numbers = ul_config_strv(state, "attr_numbers");
    map->member_of = ul_config_attr(state, "attr_member_of");
    map->account_control = ul_config_attr(state, "attr_account_control");
    map->change = ul_config_attr(state, "attr_change");
    map->home_server = ul_config_attr(state, "home_server_attribute");
    /* The core decides who is here from home_server and its own [core]
     * server_name (the host offers modules no way to read it, and a second
     * name could only disagree with it). */
    const char *server_name = NULL;
    if (state->host->config_string(state->self, "server_name", &server_name) == UCD_OK &&
        server_name != NULL && *server_name != '\0')
        ucd_warning(state->host, state->self,
                    "server_name = %s is deprecated and ignored: whether a user is here is "
                    "decided by the core from the user's home server and [core] server_name "
                    "(default: the host name); set that instead",
                    server_name);
    int enabled = 1;
    state->host->config_bool(state->self, "unhomed_users_enabled", &enabled);
    map->unhomed_enabled = enabled != 0;
    gint64 length = 1024;
    state->host->config_int(state->self, "max_value_length", &length);
    if (length < 16 || length > 1048576)
        return state->host->config_error(state->self, "max_value_length",
                                         "must be between 16 and 1048576");
    map->max_value_length = (gsize)length;
    return UCD_OK;
}

static int ul_read_tls(ul_state *state)
{
    const ucd_host *host = state->host;
    int starttls = 0, verify = 1;
    host->config_bool(state->self, "starttls", &starttls);
    host->config_bool(state->self, "tls_verify", &verify);
    state->server.starttls = starttls != 0;
    state->server.tls_verify = verify != 0;
    state->server.ca_file = ul_config_attr(state, "ca_file");
    state->server.ca_dir = ul_config_attr(state, "ca_dir");
    if (!state->server.tls_verify)
        ucd_warning(host, state->self,
                    "tls_verify = false: server certificates are NOT checked; anyone on the "
                    "path can read the service password and every login. For tests only.");
    return UCD_OK;
}

static int ul_read_server(ul_state *state)
{
    const ucd_host *host = state->host;
    state->server.uris = ul_config_strv(state, "uris");
    if (state->server.uris == NULL)
        return host->config_error(state->self, "uris", "must name at least one LDAP server");
    for (char **uri = state->server.uris; *uri != NULL; uri++)
        if (!ldap_is_ldap_url(*uri) && !ldap_is_ldaps_url(*uri))
            return host->config_error(state->self, "uris",
                                      "\"%s\" is not an ldap:// or ldaps:// URI", *uri);
    state->server.bind_dn = ul_config_attr(state, "bind_dn");
    state->server.bind_password = ul_config_attr(state, "bind_password");
    gint64 timeout_ms = 10000, page = 500;
    host->config_int(state->self, "timeout", &timeout_ms);
    host->config_int(state->self, "page_size", &page);
    if (timeout_ms < 1000)
        return host->config_error(state->self, "timeout", "must be at least 1s");
    if (page < 1 || page > 100000)
        return host->config_error(state->self, "page_size", "must be between 1 and 100000");
    state->server.timeout_s = (int)MIN(timeout_ms / 1000, 3600);
    state->server.page_size = (int)page;
    return ul_read_tls(state);
}

static int ul_read_search(ul_state *state)
{
    const ucd_host *host = state->host;
    const char *scope = "sub";
    state->base_dns = ul_config_strv(state, "base_dn");
    if (state->base_dns == NULL)
        return host->config_error(state->self, "base_dn", "must name at least one base DN");
    state->group_base_dns = ul_config_strv(state, "group_base_dn");
    if (state->group_base_dns == NULL)
        state->group_base_dns = g_strdupv(state->base_dns);
    host->config_string(state->self, "scope", &scope);
    if (g_strcmp0(scope, "base") == 0)
        state->scope = LDAP_SCOPE_BASE;
    else if (g_strcmp0(scope, "one") == 0)
        state->scope = LDAP_SCOPE_ONELEVEL;
    else if (g_strcmp0(scope, "sub") == 0)
        state->scope = LDAP_SCOPE_SUBTREE;
    else
        return host->config_error(state->self, "scope", "must be base, one or sub");
    host->config_string(state->self, "filter", &state->filter);
    host->config_string(state->self, "group_filter", &state->group_filter);
    host->config_string(state->self, "group_name_attribute", &state->group_name_attribute);
    host->config_string(state->self, "group_member_attribute", &state->group_member_attribute);
    if (state->filter == NULL || state->filter[0] != '(')
        return host->config_error(state->self, "filter", "must be an LDAP filter in parentheses");
    if (state->group_filter == NULL)
        state->group_filter = "";
    int nested = 0, write_back = 0, write_back_phones = 0;
    host->config_bool(state->self, "nested_groups", &nested);
    host->config_bool(state->self, "write_back", &write_back);
    host->config_bool(state->self, "write_back_phones", &write_back_phones);
    state->nested_groups = nested != 0;
    state->map.nested_groups = state->nested_groups;
    state->write_back = write_back != 0;
    state->write_back_phones = write_back_phones != 0;
    return UCD_OK;
}

static int ul_read_schedule(ul_state *state)
{
    const ucd_host *host = state->host;
    host->config_int(state->self, "sync_interval", &state->sync_interval_ms);
    host->config_int(state->self, "full_sync_interval", &state->full_interval_ms);
    host->config_int(state->self, "retry_max", &state->retry_max_ms);
    host->config_int(state->self, "max_shrink_percent", &state->max_shrink_percent);
    if (state->sync_interval_ms < 1000)
        return host->config_error(state->self, "sync_interval", "must be at least 1s");
    if (state->full_interval_ms < state->sync_interval_ms)
        return host->config_error(state->self, "full_sync_interval",
                                  "must not be shorter than sync_interval");
    if (state->retry_max_ms < UL_FIRST_RETRY_MS)
        return host->config_error(state->self, "retry_max", "must be at least 1s");
    if (state->max_shrink_percent < 0 || state->max_shrink_percent > 100)
        return host->config_error(state->self, "max_shrink_percent", "must be 0 to 100");
    host->config_int(state->self, "cache_compact_percent", &state->cache_compact_percent);
    if (state->cache_compact_percent < 0 || state->cache_compact_percent > 100)
        return host->config_error(state->self, "cache_compact_percent", "must be 0 to 100");
    return UCD_OK;
}

/* ---- life cycle ----------------------------------------------------------------------- */

static void ul_map_clear(ul_map *map)
{
    char **fields[] = {
        &map->id,        &map->login,           &map->display_name, &map->given_name,
        &map->surname,   &map->email,           &map->department,   &map->title,
        &map->member_of, &map->account_control, &map->change,       &map->home_server};
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
        g_free(*fields[i]);
    g_strfreev(map->numbers);
}

static void ul_state_free(ul_state *state)
{
    ul_set_unref(state->current);
    ul_map_clear(&state->map);
    g_strfreev(state->server.uris);
    g_free(state->server.ca_file);
    g_free(state->server.ca_dir);
    g_free(state->server.bind_dn);
    if (state->server.bind_password != NULL) {
        /* Not left in freed memory. */
        memset(state->server.bind_password, 0, strlen(state->server.bind_password));
        g_free(state->server.bind_password);
    }
    g_strfreev(state->base_dns);
    g_strfreev(state->group_base_dns);
    ul_cache_free(state->cache);
    g_mutex_clear(&state->lock);
    g_free(state);
}

static void ul_make_counters(ul_state *state)
{
    const ucd_host *host = state->host;
    state->users_gauge =
        host->counter_new(state->self, "users", UCD_COUNTER_GAUGE, "users in the current set");
    state->syncs = host->counter_new(state->self, "syncs", UCD_COUNTER_MONOTONIC, "syncs applied");
    state->failed_syncs = host->counter_new(state->self, "failed_syncs", UCD_COUNTER_MONOTONIC,
                                            "syncs that failed; the last good set stayed");
    state->rejected_syncs =
        host->counter_new(state->self, "rejected_syncs", UCD_COUNTER_MONOTONIC,
                          "full syncs not applied because they shrank the set too much");
    state->rejected_values =
        host->counter_new(state->self, "rejected_values", UCD_COUNTER_MONOTONIC,
                          "entries or values left out as unusable");
}

/* The last good set of an earlier run, so the users are there before the
 * directory answers, or when it does not. */
static void ul_cache_warn(const char *message, void *data)
{
    ul_state *state = data;
    ucd_warning(state->host, state->self, "cached users: %s", message);
}

static void ul_load_cache(ul_state *state)
{
    const char *dir = state->host->state_dir(state->self);
    if (dir == NULL)
        return;
    state->cache = ul_cache_new(dir, (guint)state->cache_compact_percent);
    GError *error = NULL;
    ul_set *set = ul_cache_load(state->cache, ul_cache_warn, state, &error);
    if (set == NULL) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            ucd_warning(state->host, state->self, "cached users not loaded: %s", error->message);
        g_error_free(error);
        return;
    }
    ucd_info(state->host, state->self, "%u cached users loaded from %s", ul_set_user_count(set),
             ul_cache_path(state->cache));
    ul_install(state, set);
}

static int ul_init(ucd_plugin *self, const ucd_host *host, void **state_out)
{
    *state_out = NULL;
    ul_state *state = g_new0(ul_state, 1);
    state->self = self;
    state->host = host;
    state->module_id = host->module_id(self);
    g_mutex_init(&state->lock);

    int result = ul_read_server(state);
    if (result == UCD_OK)
        result = ul_read_search(state);
    if (result == UCD_OK)
        result = ul_read_map(state);
    if (result == UCD_OK)
        result = ul_read_schedule(state);
    if (result == UCD_OK) {
        ul_make_counters(state);
        ul_load_cache(state);
        result = host->service_register(self, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &ul_iface, state);
        if (result != UCD_OK)
            host->set_error(self, "cannot register the users service: %s", ucd_strerror(result));
    }
    if (result != UCD_OK) {
        ul_state_free(state);
        return UCD_FAIL;
    }
    *state_out = state;
    return UCD_OK;
}

static int ul_start(void *data)
{
    ul_state *state = data;
    state->tick = state->host->timer_add(state->self, (uint64_t)state->sync_interval_ms,
                                         UCD_TIMER_REPEAT, ul_on_tick, state);
    ul_start_sync(state, ul_job_new(state, TRUE));
    return UCD_OK;
}

static void ul_stop(void *data)
{
    ul_state *state = data;
    state->stopping = TRUE;
    g_atomic_int_set(&state->cancel, 1);
    ul_stop_progress(state);
    if (state->tick != NULL)
        state->host->timer_remove(state->self, state->tick);
    if (state->retry != NULL)
        state->host->timer_remove(state->self, state->retry);
    state->tick = NULL;
    state->retry = NULL;
}

static void ul_fini(void *data)
{
    ul_state_free(data);
}

UCD_PLUGIN_DEFINE(.name = "users-ldap", .version = "1.0.0", .license = "MIT",
                  .description = "users and groups from Active Directory or any LDAP directory",
                  .provides = ul_provides, .config_keys = ul_keys, .init = ul_init,
                  .start = ul_start, .stop = ul_stop, .fini = ul_fini);
